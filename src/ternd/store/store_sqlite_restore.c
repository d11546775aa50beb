/* The data directory's lock, and putting a backup back (store.h): check the file whole before
 * touching anything, then one rename over the store, the old one kept beside it. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

int store_dir_lock(const char *dir, int *fd, char *err, size_t errlen)
{
	char path[4096];
	*fd = -1;
	snprintf(path, sizeof(path), "%s/ternd.lock", dir);
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (f < 0)
		return set_err(err, errlen, TERN_EIO, "%s: %s", path, strerror(errno));
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		char pid[32] = "";
		ssize_t n = pread(f, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		close(f);
		return set_err(err, errlen, TERN_EBUSY, "%s is in use by a running ternd (pid %s): stop it first", dir,
		               pid[0] ? pid : "unknown");
	}
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(f, 0) < 0 || pwrite(f, pid, (size_t)len, 0) != len) {
		int e = errno;
		close(f);
		return set_err(err, errlen, TERN_EIO, "%s: %s", path, strerror(e));
	}
	*fd = f;
	return 0;
}

/* The file's facts, or why it is refused: integrity, schema, zones. */
static int check_backup(const char *file, int *version, long long *zones, char *err, size_t errlen)
{
	struct stat st;
	if (stat(file, &st) != 0)
		return set_err(err, errlen, TERN_EIO, "%s: %s", file, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return set_err(err, errlen, TERN_EINVAL, "%s is not a file", file);
	int have, want;
	char why[512];
	if (store_sqlite_schema(file, &have, &want, why, sizeof(why)) < 0)
		return set_err(err, errlen, TERN_EINVAL, "%s is not a Tern store: %s", file, why);
	if (have == 0)
		return set_err(err, errlen, TERN_EINVAL,
		               "%s is not a Tern store (an SQLite database without its schema)", file);
	if (have > want)
		return set_err(err, errlen, TERN_ECONFIG,
		               "%s is a store of a newer ternd (schema version %d; this one knows up to %d): refused",
		               file, have, want);
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = TERN_EINVAL;
	char problem[512] = "";
	if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(problem, sizeof(problem), "%s", db ? sqlite3_errmsg(db) : "out of memory");
	} else if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &s, NULL) != SQLITE_OK ||
	           sqlite3_step(s) != SQLITE_ROW) {
		snprintf(problem, sizeof(problem), "%s", sqlite3_errmsg(db));
	} else if (strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
		snprintf(problem, sizeof(problem), "integrity_check: %.400s", (const char *)sqlite3_column_text(s, 0));
	} else {
		sqlite3_finalize(s);
		s = NULL;
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM zones", -1, &s, NULL) == SQLITE_OK &&
		    sqlite3_step(s) == SQLITE_ROW) {
			*zones = sqlite3_column_int64(s, 0);
			*version = have;
			rc = 0;
		} else {
			snprintf(problem, sizeof(problem), "%s", sqlite3_errmsg(db));
		}
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc < 0 ? set_err(err, errlen, rc, "%s is not a sound Tern store: %s", file, problem) : 0;
}

/* file copied to tmp, synced. */
static int copy_file(const char *file, const char *tmp, char *err, size_t errlen)
{
	int in = open(file, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	if (in < 0)
		return set_err(err, errlen, TERN_EIO, "%s: %s", file, strerror(errno));
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
		rc = set_err(err, errlen, TERN_EIO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	char buf[65536];
	for (ssize_t n; (n = read(in, buf, sizeof(buf))) != 0;) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = set_err(err, errlen, TERN_EIO, "%s: %s", file, strerror(errno));
			goto out;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = set_err(err, errlen, TERN_EIO, "%s: %s", tmp, strerror(errno));
				goto out;
			}
			done += w;
		}
	}
	if (fsync(out) < 0)
		rc = set_err(err, errlen, TERN_EIO, "%s: %s", tmp, strerror(errno));
out:
	close(in);
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = set_err(err, errlen, TERN_EIO, "%s: %s", tmp, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* The store at path with its write-ahead log moved into it (so that its file alone is the store). */
static int checkpoint(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	int out = rc == SQLITE_OK ? 0
	                          : set_err(err, errlen, TERN_EIO, "%s: its log cannot be checkpointed: %s", path,
	                                    db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_close(db);
	return out;
}

int store_sqlite_restore(const char *file, const char *dir, char *info, size_t infolen, char *err, size_t errlen)
{
	char db[4096], tmp[4120], before[4120], wal[4120], shm[4120];
	int version = 0;
	long long zones = 0;
	snprintf(db, sizeof(db), "%s/tern.db", dir);
	snprintf(tmp, sizeof(tmp), "%s/tern.db.restore.tmp", dir);
	snprintf(before, sizeof(before), "%s/tern.db.before-restore", dir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	snprintf(shm, sizeof(shm), "%s-shm", db);
	int rc = check_backup(file, &version, &zones, err, errlen);
	if (rc < 0 || (rc = copy_file(file, tmp, err, errlen)) < 0)
		return rc;
	bool had = access(db, F_OK) == 0;
	if (had && ((rc = checkpoint(db, err, errlen)) < 0 || (unlink(before) < 0 && errno != ENOENT) ||
	            link(db, before) < 0)) {
		if (rc == 0)
			rc = set_err(err, errlen, TERN_EIO, "%s: keeping the store being replaced: %s", before,
			             strerror(errno));
		unlink(tmp);
		return rc;
	}
	if (rename(tmp, db) < 0) {
		rc = set_err(err, errlen, TERN_EIO, "%s: %s", db, strerror(errno));
		unlink(tmp);
		return rc;
	}
	unlink(wal); /* empty after the checkpoint; never to be read against the new file */
	unlink(shm);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	snprintf(info, infolen, "restored %s (schema version %d, %lld zones) into %s%s%s", file, version, zones, db,
	         had ? "; the store it replaced is " : "", had ? before : "");
	return 0;
}
