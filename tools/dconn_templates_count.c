/* Loads every *.json of a folder (a checkout of github.com/Domain-Connect/Templates) with
 * dconn_template_parse() and prints how many load and why the rest do not, grouped by reason
 * (the "records[N]." and the value quoted in it left out). Not a test: it reads a local folder.
 * Build: cc -Isrc tools/dconn_templates_count.c build/libtern_lib.a -ljansson -lcrypto -o /tmp/dcc */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dconn.h"

struct reason {
	char text[200];
	int n;
	char example[256];
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s TEMPLATES-FOLDER\n", argv[0]);
		return 2;
	}
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 1;
	}
	static struct reason rs[512];
	size_t nr = 0;
	int total = 0, ok = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".json"))
			continue;
		char path[4096], err[512];
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		static char text[DCONN_FILE_MAX + 1];
		size_t n = fread(text, 1, DCONN_FILE_MAX, f);
		fclose(f);
		total++;
		struct dconn_template t;
		if (dconn_template_parse(text, n, &t, err, sizeof(err)) == 0) {
			ok++;
			dconn_template_clear(&t);
			continue;
		}
		/* the reason without its record index and the value in it */
		char key[200];
		const char *s = strncmp(err, "records[", 8) ? err : strchr(err, '.') ? strchr(err, '.') + 1 : err;
		snprintf(key, sizeof(key), "%s", s);
		char *colon = strchr(key, ':');
		if (colon && strncmp(key, "type", 4) && strncmp(key, "line ", 5))
			colon[1] = 0; /* the field only: its value differs per file */
		else if (!strncmp(key, "line ", 5) && colon)
			snprintf(key, sizeof(key), "not JSON");
		size_t i = 0;
		while (i < nr && strcmp(rs[i].text, key))
			i++;
		if (i == nr && nr < 512) {
			snprintf(rs[nr].text, sizeof(rs[nr].text), "%s", key);
			snprintf(rs[nr].example, sizeof(rs[nr].example), "%s: %s", e->d_name, err);
			nr++;
		}
		if (i < nr)
			rs[i].n++;
	}
	closedir(d);
	printf("%d of %d templates load\n", ok, total);
	for (size_t i = 0; i < nr; i++)
		printf("%4d  %s\n      e.g. %s\n", rs[i].n, rs[i].text, rs[i].example);
	return 0;
}
