/* A secondary zone's last good copy on disk: a master file written atomically after each
 * transfer, read back at start so the zone is served before the first refresh. The file's
 * modification time is when a primary last confirmed the copy current (as BIND does), so the
 * SOA expire timer survives restarts. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/zone.h"

/* The copy of z as text (*text malloc'd, *len bytes): a header comment naming the primary and
 * the transfer time (Unix seconds), then the zone file. Returns 0 or a negative TERN_E* with err. */
int diskcopy_render(const struct zone *z, const char *primary, int64_t transferred, char **text, size_t *len, char *err,
                    size_t errlen);
/* An atomic replace of path is: text written to a new temporary file beside it (this; *tmp gets
 * its malloc'd name), the file synced (fsync or syncfs: the caller's), rename(tmp, path), then
 * diskcopy_sync_dir(path); a crash leaves the old copy or the new one, never a mix. */
int diskcopy_write_tmp(const char *path, const char *text, size_t len, char **tmp, char *err, size_t errlen);
/* fsync of the directory holding path. */
int diskcopy_sync_dir(const char *path);
/* Loads the copy at path. *transferred gets the time in its header (0 when absent), *confirmed
 * its modification time. Returns TERN_ENOTFOUND when there is no copy, other errors with err. */
int diskcopy_load(const char *path, const uint8_t *apex, struct zone **out, int64_t *transferred, int64_t *confirmed,
                  char *err, size_t errlen);
/* Records that a primary confirmed the copy current now (sets its modification time). */
int diskcopy_touch(const char *path);
