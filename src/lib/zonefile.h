/* Zone files (RFC 1035 master format) read with Debian's libzscanner into a zone snapshot. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "lib/zone.h"

/* Loads and validates the zone at apex from path. On failure returns a negative TERN_E* and
 * writes every problem, one per line, as "path:line: message" into err; nothing is built. */
int zonefile_load(const char *path, const uint8_t *apex, struct zone **out, char *err, size_t errlen);
/* A reader for many zone files in a row: it keeps libzscanner's state (about 200 KB) from one file
 * to the next instead of allocating it per file, which for many small zones was a fresh mapping,
 * and page faults, each time; and the directory of the last absolute path it opened, so that the
 * next file there is opened (and stat'ed) by its last component alone, without walking the whole
 * path again. One thread at a time. */
struct zonefile_reader;
struct zonefile_reader *zonefile_reader_new(void);
void zonefile_reader_free(struct zonefile_reader *r);
/* zonefile_load() with r's scanner; r NULL: zonefile_load() itself. st (unless NULL) gets the
 * file's status as opened, before anything of it is read (st_nlink 0: it could not be opened). */
int zonefile_read(struct zonefile_reader *r, const char *path, const uint8_t *apex, struct zone **out, struct stat *st,
                  char *err, size_t errlen);
/* stat(2) of path through r's directory (r NULL: stat itself); 0 or -1 with errno. */
int zonefile_stat(struct zonefile_reader *r, const char *path, struct stat *st);
/* The same for zone text held in memory; source names it in messages. */
int zonefile_load_string(const char *text, size_t len, const char *source, const uint8_t *apex, struct zone **out,
                         char *err, size_t errlen);
