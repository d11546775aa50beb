/* The geo database: the MaxMind DB file (geo.database) that dynamic answers' `geo country` and
 * `geo continent` entries ask, read with libmaxminddb, replaced whole when the file changes.
 *
 * A thread of its own checks the file every geo.check-interval and at once on a reload. A new
 * version is copied into memory (a sealed-off memfd, so a later write to the file in place cannot
 * pull pages from under a lookup), opened and checked (metadata, every search tree node, sample
 * lookups decoded); one that fails is refused with a log line naming the file and the reason, and
 * the database in force stays. A good one is published with one pointer swap (liburcu QSBR); the
 * old one is closed after a grace period. With no database (none configured, or none good yet)
 * every client counts as not held: the answer list. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dyn.h"
#include "ternd/base/config.h"

struct geo;

/* Starts the checker and loads conf's database now (a failure is logged, not fatal: the checker
 * tries again when the file changes). 0, or a negative TERN_E* with err set (no thread, no memory). */
int geo_start(const struct config *conf, struct geo **out, char *err, size_t errlen);
/* A new configuration: the file named there (maybe another, maybe none) is checked at once. */
void geo_reload(struct geo *g, const struct config *conf);
/* Stops the checker and closes the database (no reader may be left). NULL is a no-op. */
void geo_stop(struct geo *g);

/* Checks the file now, from the calling thread (the checker's work, for tests and start-up):
 * 1 = a new version is in force, 0 = nothing changed, negative = refused (logged). */
int geo_check(struct geo *g);

/* `ternd --check`: opens and checks the database file at path as a new version would be (no
 * thread, nothing published). 0, or a negative TERN_E* with the reason in err. */
int geo_check_file(const char *path, char *err, size_t errlen);

/* The dyn_geo_fn of dyn_select_geo(): ctx is the struct geo. The calling thread must be an online
 * RCU reader (ternd/base/rcu.h), as the query threads are. No malloc, no lock, no syscall. */
void geo_lookup(void *ctx, uint8_t family, const uint8_t *addr, struct dyn_geo *out);

/* The database in force, for explanations (ctx as geo_lookup's): whether a file is configured and
 * which version answers. The caller is an online RCU reader; not for the query path (a lock). */
struct geo_version {
	bool configured; /* geo.database names a file */
	bool loaded; /* a version is in force (none: every client counts as not held) */
	char type[64]; /* its metadata's database_type ("" when it has none) */
	unsigned ip_version; /* 4 or 6 */
	uint64_t build_epoch; /* its metadata's build time, Unix seconds */
};
void geo_version(void *ctx, struct geo_version *out);
