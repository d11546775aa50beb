/* The PostgreSQL store's database format: the tables, built and upgraded by numbered migrations
 * (schema_version holds the version reached, the same numbers as the SQLite store's), run at open
 * in one transaction under an advisory lock so two ternd starting together do not both migrate. */
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"

/* A migration brings the schema to version `to`. PostgreSQL came at SQLite's version 13, so its
 * first migration makes version 13's tables at once (docs/store.md, "PostgreSQL mapping"); each
 * later version is one more entry here and one in store_sqlite_schema.c. One that has shipped is
 * never edited. */
static const struct {
	int to;
	const char *sql;
} migrations[] = {
    {13, "CREATE TABLE zones ("
         " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
         " apex BYTEA NOT NULL UNIQUE,"
         " sort_key BYTEA NOT NULL UNIQUE,"
         " tenant TEXT COLLATE \"C\" NOT NULL CHECK (octet_length(tenant) BETWEEN 1 AND 128),"
         " serial BIGINT NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),"
         " serial_policy TEXT NOT NULL CHECK (serial_policy IN ('date', 'increment')),"
         " locked BOOLEAN NOT NULL DEFAULT false,"
         " lock_reason TEXT NOT NULL DEFAULT '',"
         " created_at BIGINT NOT NULL,"
         " updated_at BIGINT NOT NULL,"
         " journal_seq BIGINT NOT NULL DEFAULT 0,"
         " signed_downstream BOOLEAN NOT NULL DEFAULT false);"
         "CREATE INDEX zones_by_tenant ON zones (tenant, sort_key);"
         "CREATE TABLE rrsets ("
         " zone_id BIGINT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
         " sort_key BYTEA NOT NULL,"
         " type INTEGER NOT NULL CHECK (type BETWEEN 0 AND 65535),"
         " owner BYTEA NOT NULL,"
         " ttl BIGINT NOT NULL CHECK (ttl BETWEEN 0 AND 4294967295),"
         " count INTEGER NOT NULL CHECK (count BETWEEN 1 AND 65535),"
         " rdata BYTEA NOT NULL,"
         " ttls BYTEA,"
         " PRIMARY KEY (zone_id, sort_key, type));"
         "CREATE TABLE journal ("
         " zone_id BIGINT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
         " id BIGINT NOT NULL,"
         " serial_from BIGINT NOT NULL CHECK (serial_from BETWEEN 0 AND 4294967295),"
         " serial_to BIGINT NOT NULL CHECK (serial_to BETWEEN 0 AND 4294967295),"
         " changed_at BIGINT NOT NULL,"
         " principal TEXT NOT NULL,"
         " removed BYTEA NOT NULL,"
         " added BYTEA NOT NULL,"
         " PRIMARY KEY (zone_id, id));"
         "CREATE INDEX journal_by_serial ON journal (zone_id, serial_from);"
         "CREATE TABLE past_serials ("
         " apex BYTEA PRIMARY KEY,"
         " serial BIGINT NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),"
         " deleted_at BIGINT NOT NULL);"
         /* the body as the author gave it (TEXT, not jsonb, which would reorder and respace it) */
         "CREATE TABLE proposals ("
         " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
         " zone_id BIGINT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
         " author TEXT NOT NULL,"
         " body TEXT NOT NULL,"
         " status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'applied')),"
         " reviewer TEXT NOT NULL DEFAULT '',"
         " applier TEXT NOT NULL DEFAULT '',"
         " created_at BIGINT NOT NULL,"
         " reviewed_at BIGINT NOT NULL DEFAULT 0,"
         " applied_at BIGINT NOT NULL DEFAULT 0);"
         "CREATE INDEX proposals_by_zone ON proposals (zone_id, status, id);"
         "CREATE TABLE dnssec_zones ("
         " zone_id BIGINT PRIMARY KEY REFERENCES zones (id) ON DELETE CASCADE,"
         " policy_name TEXT NOT NULL DEFAULT '',"
         " algorithm INTEGER NOT NULL CHECK (algorithm BETWEEN 0 AND 255),"
         " denial TEXT NOT NULL CHECK (denial IN ('nsec', 'nsec3')),"
         " nsec3_opt_out BOOLEAN NOT NULL,"
         " csk BOOLEAN NOT NULL,"
         " ksk_lifetime BIGINT NOT NULL, zsk_lifetime BIGINT NOT NULL, csk_lifetime BIGINT NOT NULL,"
         " dnskey_ttl BIGINT NOT NULL, max_zone_ttl BIGINT NOT NULL, propagation_delay BIGINT NOT NULL,"
         " rrsig_lifetime BIGINT NOT NULL, rrsig_refresh BIGINT NOT NULL, rrsig_jitter BIGINT NOT NULL,"
         " rrsig_inception BIGINT NOT NULL,"
         " cds BOOLEAN NOT NULL,"
         " parents TEXT NOT NULL DEFAULT '',"
         " state TEXT NOT NULL CHECK (state IN ('signing', 'signed')),"
         " updated_at BIGINT NOT NULL,"
         " ds_ttl BIGINT NOT NULL DEFAULT 86400,"
         " ds_check_interval BIGINT NOT NULL DEFAULT 3600,"
         " rfc5011 BOOLEAN NOT NULL DEFAULT false,"
         " add_holddown BIGINT NOT NULL DEFAULT 2592000,"
         " remove_holddown BIGINT NOT NULL DEFAULT 2592000,"
         " unsigning_at BIGINT NOT NULL DEFAULT 0,"
         " ds_gone_at BIGINT NOT NULL DEFAULT 0);"
         "CREATE TABLE dnssec_keys ("
         " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
         " zone_id BIGINT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
         " key_tag INTEGER NOT NULL CHECK (key_tag BETWEEN 0 AND 65535),"
         " algorithm INTEGER NOT NULL CHECK (algorithm BETWEEN 0 AND 255),"
         " flags INTEGER NOT NULL CHECK (flags BETWEEN 0 AND 65535),"
         " role TEXT NOT NULL CHECK (role IN ('ksk', 'zsk', 'csk')),"
         " public_key BYTEA NOT NULL,"
         " private_key BYTEA NOT NULL,"
         " state TEXT NOT NULL CHECK (state IN ('generated', 'published', 'ready', 'active', 'retired', 'revoked',"
         " 'removed')),"
         " created_at BIGINT NOT NULL, publish_at BIGINT NOT NULL, ready_at BIGINT NOT NULL,"
         " active_at BIGINT NOT NULL, retire_at BIGINT NOT NULL, remove_at BIGINT NOT NULL,"
         " revoke_at BIGINT NOT NULL DEFAULT 0,"
         " use_bits INTEGER NOT NULL DEFAULT 0 CHECK (use_bits BETWEEN 0 AND 15),"
         " since BIGINT NOT NULL DEFAULT 0,"
         " ds_seen BOOLEAN NOT NULL DEFAULT false);"
         "CREATE INDEX dnssec_keys_by_zone ON dnssec_keys (zone_id, id);"
         "CREATE TABLE dnssec_key_journal ("
         " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
         " zone_id BIGINT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
         " changed_at BIGINT NOT NULL,"
         " key_tag INTEGER NOT NULL,"
         " from_state TEXT NOT NULL,"
         " to_state TEXT NOT NULL,"
         " reason TEXT NOT NULL);"
         "CREATE INDEX dnssec_key_journal_by_zone ON dnssec_key_journal (zone_id, id);"
         /* each tenant's zone count, kept by a trigger in the zone row's transaction */
         "CREATE TABLE tenant_zones ("
         " tenant TEXT COLLATE \"C\" PRIMARY KEY,"
         " zones BIGINT NOT NULL CHECK (zones >= 0));"
         "CREATE FUNCTION tenant_zones_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
         " IF TG_OP IN ('DELETE', 'UPDATE') THEN"
         "  UPDATE tenant_zones SET zones = zones - 1 WHERE tenant = OLD.tenant; END IF;"
         " IF TG_OP IN ('INSERT', 'UPDATE') THEN"
         "  INSERT INTO tenant_zones (tenant, zones) VALUES (NEW.tenant, 1)"
         "  ON CONFLICT (tenant) DO UPDATE SET zones = tenant_zones.zones + 1; END IF;"
         " RETURN NULL; END $$;"
         "CREATE TRIGGER tenant_zones_insert AFTER INSERT OR DELETE ON zones"
         " FOR EACH ROW EXECUTE FUNCTION tenant_zones_keep();"
         "CREATE TRIGGER tenant_zones_move AFTER UPDATE OF tenant ON zones"
         " FOR EACH ROW WHEN (NEW.tenant IS DISTINCT FROM OLD.tenant) EXECUTE FUNCTION tenant_zones_keep();"
         "CREATE TABLE services ("
         " id TEXT PRIMARY KEY CHECK (length(id) = 36),"
         " tenant TEXT COLLATE \"C\" NOT NULL CHECK (octet_length(tenant) BETWEEN 1 AND 128),"
         " canonical BYTEA NOT NULL UNIQUE,"
         " deployment TEXT NOT NULL,"
         " created_at BIGINT NOT NULL,"
         " updated_at BIGINT NOT NULL);"
         "CREATE INDEX services_by_tenant ON services (tenant, created_at, id);"
         "CREATE TABLE settings ("
         " name TEXT PRIMARY KEY CHECK (octet_length(name) BETWEEN 1 AND 256),"
         " value BYTEA NOT NULL,"
         " updated_at BIGINT NOT NULL);"
         "CREATE TABLE acme_account ("
         " id INTEGER PRIMARY KEY CHECK (id = 1),"
         " key_pem TEXT NOT NULL,"
         " created_at BIGINT NOT NULL);"
         "CREATE TABLE service_certs ("
         " service_id TEXT PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,"
         " names TEXT NOT NULL,"
         " state TEXT NOT NULL,"
         " chain TEXT,"
         " private_key TEXT,"
         " not_before BIGINT NOT NULL,"
         " not_after BIGINT NOT NULL,"
         " issued_at BIGINT NOT NULL,"
         " order_url TEXT,"
         " attempts BIGINT NOT NULL,"
         " fail_step TEXT,"
         " fail_status BIGINT NOT NULL,"
         " fail_message TEXT,"
         " fail_problem TEXT,"
         " fail_at BIGINT NOT NULL,"
         " next_at BIGINT NOT NULL,"
         " ech_key BYTEA,"
         " ech_config BYTEA,"
         " ech_old_key BYTEA,"
         " ech_old_config BYTEA,"
         " ech_rotate_at BIGINT NOT NULL,"
         " ech_drop_at BIGINT NOT NULL,"
         " publish_at BIGINT NOT NULL,"
         " updated_at BIGINT NOT NULL);"
         "CREATE TABLE service_aliases ("
         " name BYTEA PRIMARY KEY,"
         " service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,"
         " state TEXT NOT NULL CHECK (state IN ('pending', 'verified', 'refused', 'lost')),"
         " reason TEXT NOT NULL,"
         " created_at BIGINT NOT NULL,"
         " checked_at BIGINT NOT NULL);"
         "CREATE INDEX service_aliases_by_service ON service_aliases (service_id, created_at);"},
    /* 14: TSIG keys made over the API (store_sqlite_schema.c's 14) */
    {14, "CREATE TABLE tsig_keys ("
         " name BYTEA PRIMARY KEY,"
         " tenant TEXT COLLATE \"C\" NOT NULL,"
         " algorithm TEXT NOT NULL CHECK (algorithm IN ('hmac-sha256', 'hmac-sha512')),"
         " secret BYTEA NOT NULL,"
         " acl TEXT NOT NULL,"
         " created_at BIGINT NOT NULL);"
         "CREATE INDEX tsig_keys_by_tenant ON tsig_keys (tenant, name);"},
    /* 15: usage: queries per tenant, UTC day and zone (store_sqlite_schema.c's 15) */
    {15, "CREATE TABLE usage_days ("
         " tenant TEXT COLLATE \"C\" NOT NULL CHECK (octet_length(tenant) <= 128),"
         " day BIGINT NOT NULL,"
         " apex BYTEA NOT NULL,"
         " queries BIGINT NOT NULL CHECK (queries >= 0),"
         " PRIMARY KEY (tenant, day, apex));"
         "CREATE INDEX usage_days_by_day ON usage_days (day);"},
    /* 16: ownership claims (store_sqlite_schema.c's 16) */
    {16, "CREATE TABLE ownership ("
         " tenant TEXT COLLATE \"C\" NOT NULL CHECK (octet_length(tenant) BETWEEN 1 AND 128),"
         " name BYTEA NOT NULL,"
         " token TEXT NOT NULL,"
         " state TEXT NOT NULL CHECK (state IN ('pending', 'verified', 'failed', 'lost')),"
         " method TEXT NOT NULL CHECK (method IN ('', 'txt', 'delegation')),"
         " evidence TEXT NOT NULL,"
         " created_at BIGINT NOT NULL,"
         " checked_at BIGINT NOT NULL,"
         " verified_at BIGINT NOT NULL,"
         " PRIMARY KEY (tenant, name));"
         "CREATE INDEX ownership_by_name ON ownership (name, created_at);"},
};
#define PG_SCHEMA_VERSION (migrations[sizeof(migrations) / sizeof(migrations[0]) - 1].to)

int pg_schema_want(void)
{
	return PG_SCHEMA_VERSION;
}

/* One integer the query returns in text (row 0, column 0): 1 read, 0 no row, or an error. */
static int query_int(PGconn *pg, const char *sql, int *v, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	int rc;
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		char text[512];
		snprintf(text, sizeof(text), "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
		text[strcspn(text, "\n")] = 0;
		rc = pg_err(err, errlen, TERN_EIO, "store: %s", text);
	} else if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
		rc = 0;
	} else {
		*v = atoi(PQgetvalue(res, 0, 0));
		rc = 1;
	}
	PQclear(res);
	return rc;
}

int pg_schema_version(PGconn *pg, int *have, char *err, size_t errlen)
{
	int exists = 0;
	*have = 0;
	int rc = query_int(pg, "SELECT 1 WHERE to_regclass('schema_version') IS NOT NULL", &exists, err, errlen);
	if (rc == 1)
		rc = query_int(pg, "SELECT max(version) FROM schema_version", have, err, errlen);
	return rc < 0 ? rc : 0;
}

int pg_migrate(PGconn *pg, char *err, size_t errlen)
{
	int version = 0;
	int rc = pg_exec(pg,
	                 "BEGIN; SELECT pg_advisory_xact_lock(" PG_LOCK_MIGRATE ");"
	                 " CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
	                 err, errlen);
	if (rc < 0)
		goto fail;
	if ((rc = query_int(pg, "SELECT version FROM schema_version", &version, err, errlen)) < 0)
		goto fail;
	if (rc == 0 && (rc = pg_exec(pg, "INSERT INTO schema_version VALUES (0)", err, errlen)) < 0)
		goto fail;
	if (version > PG_SCHEMA_VERSION || version < 0) {
		rc = pg_err(err, errlen, TERN_ECONFIG,
		            "store: the PostgreSQL database's schema version %d is newer than this program's (%d)",
		            version, PG_SCHEMA_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		char sql[64];
		if (migrations[i].to <= version)
			continue;
		if ((rc = pg_exec(pg, migrations[i].sql, err, errlen)) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", migrations[i].to);
		if ((rc = pg_exec(pg, sql, err, errlen)) < 0)
			goto fail;
	}
	if ((rc = pg_exec(pg, "COMMIT", err, errlen)) < 0)
		goto fail;
	return 0;
fail:
	if (PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) != PQTRANS_IDLE)
		pg_exec(pg, "ROLLBACK", NULL, 0);
	return rc;
}
