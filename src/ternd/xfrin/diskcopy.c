/* A secondary zone's copy on disk: atomic replace (temporary file, fsync, rename, fsync of the
 * directory), loading through zonefile_load(), and the modification time as "last confirmed". */
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

static int sync_dir(const char *path)
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

int diskcopy_save(const struct zone *z, const char *path, const char *primary, int64_t transferred, char *err,
                  size_t errlen)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	FILE *f = NULL;
	int fd = -1, rc = TERN_EIO;
	if (!tmp) {
		snprintf(err, errlen, "%s: out of memory", path);
		return TERN_ENOMEM;
	}
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
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
	if (fchmod(fd, 0644) != 0 || !(f = fdopen(fd, "w"))) { /* zone data is public: readable like a zone file */
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		goto fail;
	}
	char apex[NAME_MAXLEN * 4 + 2];
	name_to_text(z->apex, apex, sizeof(apex));
	fprintf(f,
	        "; secondary copy of %s serial %" PRIu32 " from %s, written by ternd\n" HEADER_TRANSFERRED "%" PRId64
	        "\n",
	        apex, z->serial, primary, transferred);
	if ((rc = rrtext_export_zone_file(z, f, err, errlen)) < 0)
		goto fail;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = TERN_EIO;
		goto fail;
	}
	int closed = fclose(f);
	f = NULL;
	if (closed != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = TERN_EIO;
		goto fail;
	}
	free(tmp);
	if (sync_dir(path) < 0) {
		snprintf(err, errlen, "%s: cannot sync its directory: %s", path, strerror(errno));
		return TERN_EIO;
	}
	return 0;
fail:
	if (f)
		fclose(f);
	unlink(tmp);
	free(tmp);
	return rc;
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
