/* A secondary zone's last good copy on disk: a master file written atomically after each
 * transfer, read back at start so the zone is served before the first refresh. The file's
 * modification time is when a primary last confirmed the copy current (as BIND does), so the
 * SOA expire timer survives restarts. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/zone.h"

/* Writes z to path: a temporary file in the same directory, fsync, rename over path, fsync of the
 * directory; a crash leaves the old copy or the new one, never a mix. The header comment names
 * the primary and the transfer time (Unix seconds). Returns 0 or a negative TERN_E* with err. */
int diskcopy_save(const struct zone *z, const char *path, const char *primary, int64_t transferred, char *err,
                  size_t errlen);
/* Loads the copy at path. *transferred gets the time in its header (0 when absent), *confirmed
 * its modification time. Returns TERN_ENOTFOUND when there is no copy, other errors with err. */
int diskcopy_load(const char *path, const uint8_t *apex, struct zone **out, int64_t *transferred, int64_t *confirmed,
                  char *err, size_t errlen);
/* Records that a primary confirmed the copy current now (sets its modification time). */
int diskcopy_touch(const char *path);
