/* tern store backup: a consistent copy of a ternd's store, taken while ternd serves and takes
 * writes, with SQLite's online backup API (the store is SQLite in WAL mode: the copy is one read
 * transaction, and writers go on meanwhile). Read on the machine that holds the store, not
 * through the API; `ternd --restore FILE` puts a copy back. tern store copy: a whole store into an
 * empty one, SQLite or PostgreSQL either way (store_copy(), the store module). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tern/cli.h"
#include "ternd/store/store.h"

#define DATA_DIR_DEFAULT "/var/lib/tern"
#define BUSY_WAIT_MS 30000 /* a writer's transaction in the way: retried this long */

/* fsync of path (a file, or a directory). */
static int sync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* The schema version and zone count of a Tern store open at db; -1 (said why) when it is none. */
static int tern_store_facts(sqlite3 *db, const char *what, int *version, long long *zones)
{
	sqlite3_stmt *s = NULL;
	int ok = sqlite3_prepare_v2(db, "SELECT (SELECT version FROM schema_version), (SELECT count(*) FROM zones)", -1,
	                            &s, NULL) == SQLITE_OK &&
	         sqlite3_step(s) == SQLITE_ROW;
	if (ok) {
		*version = sqlite3_column_int(s, 0);
		*zones = sqlite3_column_int64(s, 1);
	} else {
		fprintf(stderr, "tern: %s is not a Tern store: %s\n", what, sqlite3_errmsg(db));
	}
	sqlite3_finalize(s);
	return ok ? 0 : -1;
}

static int store_backup(struct cli *cli, const struct cli_args *a)
{
	(void)cli;
	char **dd = cli_opt_last(a, "data-dir");
	const char *dir = dd ? dd[0] : DATA_DIR_DEFAULT, *out = a->pos[0];
	char src[PATH_MAX], tmp[PATH_MAX], outdir[PATH_MAX];
	if (snprintf(src, sizeof(src), "%s/tern.db", dir) >= (int)sizeof(src) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", out, (long)getpid()) >= (int)sizeof(tmp)) {
		fprintf(stderr, "tern: the path is too long\n");
		return CLI_EUSAGE;
	}
	if (access(src, R_OK) != 0) {
		fprintf(stderr, "tern: %s: %s (--data-dir names ternd's api.data-dir)\n", src, strerror(errno));
		return CLI_EUSAGE;
	}
	sqlite3 *from = NULL, *to = NULL;
	sqlite3_backup *b = NULL;
	int rc = CLI_EUSAGE, version = 0;
	long long zones = 0;
	if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "tern: %s: %s\n", src, from ? sqlite3_errmsg(from) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(from, BUSY_WAIT_MS);
	if (tern_store_facts(from, src, &version, &zones) < 0)
		goto out;
	if (sqlite3_open_v2(tmp, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		fprintf(stderr, "tern: %s: %s\n", tmp, to ? sqlite3_errmsg(to) : "out of memory");
		goto out;
	}
	if (!(b = sqlite3_backup_init(to, "main", from, "main"))) {
		fprintf(stderr, "tern: backup of %s: %s\n", src, sqlite3_errmsg(to));
		goto out;
	}
	/* every page in one step: one read transaction, so the copy is one moment of the store */
	int src_rc;
	for (int waited = 0; (src_rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || src_rc == SQLITE_LOCKED;
	     waited += 10) {
		if (waited >= BUSY_WAIT_MS)
			break;
		sqlite3_sleep(10);
	}
	src_rc = src_rc == SQLITE_DONE ? sqlite3_backup_finish(b) : (sqlite3_backup_finish(b), src_rc);
	b = NULL;
	if (src_rc != SQLITE_OK) {
		fprintf(stderr, "tern: backup of %s: %s\n", src, sqlite3_errstr(src_rc));
		goto out;
	}
	if (tern_store_facts(to, tmp, &version, &zones) < 0)
		goto out;
	if (sqlite3_close(to) != SQLITE_OK) {
		fprintf(stderr, "tern: %s: %s\n", tmp, sqlite3_errmsg(to));
		goto out;
	}
	to = NULL;
	snprintf(outdir, sizeof(outdir), "%s", out); /* the directory holding FILE, synced after the rename */
	char *slash = strrchr(outdir, '/');
	if (!slash)
		snprintf(outdir, sizeof(outdir), ".");
	else if (slash == outdir)
		outdir[1] = 0;
	else
		*slash = 0;
	if (sync_path(tmp) < 0 || rename(tmp, out) < 0 || sync_path(outdir) < 0) {
		fprintf(stderr, "tern: %s: %s\n", out, strerror(errno));
		goto out;
	}
	printf("backup of %s (schema version %d, %lld zones) written to %s\n", src, version, zones, out);
	rc = CLI_OK;
out:
	if (b)
		sqlite3_backup_finish(b);
	sqlite3_close(to);
	sqlite3_close(from);
	if (rc != CLI_OK)
		unlink(tmp);
	return rc;
}

static const struct cli_opt backup_opts[] = {
    {"data-dir", 1, "--data-dir DIR   ternd's api.data-dir, which holds tern.db (default " DATA_DIR_DEFAULT ")"},
    {NULL, 0, NULL},
};

static int store_copy_run(struct cli *cli, const struct cli_args *a)
{
	char report[4096], err[2048], text[4096] = "";
	const char *src = a->pos[0], *dst = a->pos[1];
	if (store_copy(src, dst, report, sizeof(report), err, sizeof(err)) < 0) {
		fprintf(stderr, "tern: store copy: %s\n", err);
		return CLI_EUSAGE;
	}
	/* the report's lines: "TABLE ROWS" */
	json_t *tables = json_object();
	unsigned long long total = 0;
	size_t used = 0;
	for (char *line = strtok(report, "\n"); line; line = strtok(NULL, "\n")) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = 0;
		unsigned long long n = strtoull(sp + 1, NULL, 10);
		total += n;
		json_object_set_new(tables, line, json_integer((json_int_t)n));
		int w = snprintf(text + used, sizeof(text) - used, " %s %llu", line, n);
		if (w > 0 && (size_t)w < sizeof(text) - used)
			used += (size_t)w;
	}
	if (cli->json) {
		json_t *out = json_pack("{s:o, s:I}", "tables", tables, "rows", (json_int_t)total);
		char *dump = out ? json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
		if (dump)
			printf("%s\n", dump);
		free(dump);
		json_decref(out);
		return CLI_OK;
	}
	json_decref(tables);
	printf("copied %llu rows:%s\n", total, text);
	return CLI_OK;
}

static const struct cli_opt copy_opts[] = {
    {NULL, 0, NULL},
};

const struct cli_cmd cmd_store[] = {
    {"store", "backup", "FILE [--data-dir DIR]", "a consistent copy of ternd's store, taken while it runs",
     "Reads the store on this machine (not through the API), with SQLite's online backup API: the copy\n"
     "is the store at one moment, while ternd goes on serving and taking writes. FILE is written whole\n"
     "or not at all. Put it back with `ternd -c CONFIG --restore FILE` on a stopped ternd.",
     1, 1, backup_opts, store_backup},
    {"store", "copy", "SRC DST", "a whole store into an empty one, SQLite or PostgreSQL either way",
     "SRC and DST are each an SQLite file (api.data-dir's tern.db) or a PostgreSQL location (a\n"
     "postgresql:// URL or libpq key=value words, as api.store takes). Everything the store holds is\n"
     "copied as it is: tenants' zones with their RRsets and serials, the journal and past serials\n"
     "(history, IXFR), proposals, DNSSEC policies, keys and key journals, services with their\n"
     "certificates and aliases, the ACME account, TSIG keys, settings and usage; ternd started on DST\n"
     "serves and answers as on SRC. SRC is read in one snapshot (ternd may run on it); DST is written\n"
     "in one transaction and must be empty (a new SQLite file, or a database with no Tern rows): a\n"
     "store holding anything is refused and left as it was, as is one whose schema version differs\n"
     "from this program's. Start ternd on DST only after the copy.",
     2, 2, copy_opts, store_copy_run},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
