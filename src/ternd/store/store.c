/* The store's backend dispatch: a location names PostgreSQL (a URL or libpq key=value words) or
 * an SQLite file, and opens with that backend. */
#include "ternd/store/store.h"

#include <string.h>

bool store_location_is_postgres(const char *location)
{
	/* libpq's own URI prefixes; key=value words always hold an '=', which no store path here does
	 * (api.data-dir/tern.db) */
	return strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0 ||
	       strchr(location, '=') != NULL;
}

int store_open(const char *location, struct store **out, char *err, size_t errlen)
{
	return store_location_is_postgres(location) ? store_open_postgres(location, out, err, errlen)
	                                            : store_open_sqlite(location, out, err, errlen);
}

int store_schema(const char *location, int *have, int *want, char *err, size_t errlen)
{
	return store_location_is_postgres(location) ? store_pg_schema(location, have, want, err, errlen)
	                                            : store_sqlite_schema(location, have, want, err, errlen);
}
