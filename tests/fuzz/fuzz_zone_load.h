/* Zone text in memory as the fuzzers load it (fuzz_zonefile, fuzz_api_import): it must never reach
 * into the file system ($INCLUDE is refused for text in memory). libzscanner opens files with
 * open(), which this header defines, interposed, while fuzz_zone_load() runs: a bypass of the
 * refusal aborts here instead of reading the host's files. Include it in one file of a harness. */
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/zone.h"
#include "lib/zonefile.h"

static bool fuzz_loading;

int open(const char *path, int flags, ...)
{
	if (fuzz_loading) {
		fprintf(stderr, "%s: zone text made the loader open \"%s\"\n", program_invocation_short_name, path);
		abort();
	}
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

/* zonefile_load_string() with the file system out of reach. */
static inline int fuzz_zone_load(const char *text, size_t len, const char *source, const uint8_t *apex, struct zone **z,
                                 char *err, size_t errlen)
{
	fuzz_loading = true;
	int rc = zonefile_load_string(text, len, source, apex, z, err, errlen);
	fuzz_loading = false;
	return rc;
}
