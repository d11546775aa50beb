/* A secondary zone's copy on disk: its text, the steps of an atomic replace (temporary file; the
 * caller syncs; rename; fsync of the directory), loading through zonefile_load(), and the
 * modification time as "last confirmed". */
#include "ternd/xfrin/diskcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/rrtext.h"
#include "lib/zonefile.h"

#define HEADER_TRANSFERRED "; transferred "

/* The directory holding path (malloc'd). */
static char *dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return NULL;
	char *dir = strdup(dirname(copy));
	free(copy);
	return dir;
}

int diskcopy_sync_dir(const char *path)
{
	char *dir = dir_of(path);
	if (!dir)
		return TERN_ENOMEM;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return TERN_EIO;
	int rc = fsync(fd) == 0 ? 0 : TERN_EIO;
	close(fd);
	return rc;
}

int diskcopy_render(const struct zone *z, const char *primary, int64_t transferred, char **text, size_t *len, char *err,
                    size_t errlen)
{
	*text = NULL;
	*len = 0;
	FILE *f = open_memstream(text, len);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	char apex[NAME_MAXLEN * 4 + 2];
	name_to_text(z->apex, apex, sizeof(apex));
	fprintf(f,
	        "; secondary copy of %s serial %" PRIu32 " from %s, written by ternd\n" HEADER_TRANSFERRED "%" PRId64
	        "\n",
	        apex, z->serial, primary, transferred);
	int rc = rrtext_export_zone_file(z, f, err, errlen);
	if (fclose(f) != 0 && rc == 0) {
		snprintf(err, errlen, "out of memory");
		rc = TERN_ENOMEM;
	}
	if (rc < 0) {
		free(*text);
		*text = NULL;
		*len = 0;
	}
	return rc;
}

int diskcopy_write_tmp(const char *path, const char *text, size_t len, char **tmp_out, char *err, size_t errlen)
{
	*tmp_out = NULL;
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (!tmp) {
		snprintf(err, errlen, "%s: out of memory", path);
		return TERN_ENOMEM;
	}
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0 && errno == ENOENT) { /* a data directory not made yet: make its last level */
		char *dir = dir_of(path);
		if (dir && mkdir(dir, 0755) == 0) {
			snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
			fd = mkstemp(tmp);
		}
		int saved = errno;
		free(dir);
		errno = saved;
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
		free(tmp);
		return TERN_EIO;
	}
	size_t done = 0;
	int rc = fchmod(fd, 0644) == 0 ? 0 : TERN_EIO; /* zone data is public: readable like a zone file */
	while (rc == 0 && done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = TERN_EIO;
		else
			done += (size_t)n;
	}
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	if (close(fd) != 0 && rc == 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = TERN_EIO;
	}
	if (rc < 0) {
		unlink(tmp);
		free(tmp);
		return rc;
	}
	*tmp_out = tmp;
	return 0;
}

/* The transfer time from the header's first lines, 0 when absent. */
static int64_t read_transferred(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int64_t t = 0;
	for (int i = 0; f && i < 3 && fgets(line, sizeof(line), f); i++) {
		if (!strncmp(line, HEADER_TRANSFERRED, strlen(HEADER_TRANSFERRED))) {
			t = strtoll(line + strlen(HEADER_TRANSFERRED), NULL, 10);
			break;
		}
	}
	if (f)
		fclose(f);
	return t;
}

int diskcopy_load(const char *path, const uint8_t *apex, struct zone **out, int64_t *transferred, int64_t *confirmed,
                  char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? TERN_ENOTFOUND : TERN_EIO;
	}
	int rc = zonefile_load(path, apex, out, err, errlen);
	if (rc < 0)
		return rc;
	*confirmed = (int64_t)st.st_mtim.tv_sec;
	*transferred = read_transferred(path);
	return 0;
}

int diskcopy_touch(const char *path)
{
	return utimensat(AT_FDCWD, path, NULL, 0) == 0 ? 0 : TERN_EIO;
}
