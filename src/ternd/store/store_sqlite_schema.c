/* The SQLite store's database format: WAL journal mode, and the tables built and upgraded by
 * numbered migrations (schema_version holds how many have run). */
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "lib/error.h"

/* Schema migrations in order; schema_version holds how many have run. One that has shipped is
 * never edited: the next change is a new entry. docs/store.md has the PostgreSQL equivalent. */
static const char *const migrations[] = {
    /* 1: zones, RRsets, journal, proposals */
    "CREATE TABLE zones ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " apex BLOB NOT NULL UNIQUE,"
    " sort_key BLOB NOT NULL UNIQUE,"
    " tenant TEXT NOT NULL CHECK (length(tenant) BETWEEN 1 AND 128),"
    " serial INTEGER NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),"
    " serial_policy TEXT NOT NULL CHECK (serial_policy IN ('date', 'increment')),"
    " locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),"
    " lock_reason TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX zones_by_tenant ON zones (tenant, sort_key);"
    "CREATE TABLE rrsets ("
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " sort_key BLOB NOT NULL,"
    " type INTEGER NOT NULL CHECK (type BETWEEN 0 AND 65535),"
    " owner BLOB NOT NULL,"
    " ttl INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 4294967295),"
    " count INTEGER NOT NULL CHECK (count BETWEEN 1 AND 65535),"
    " rdata BLOB NOT NULL,"
    " PRIMARY KEY (zone_id, sort_key, type)) WITHOUT ROWID;"
    "CREATE TABLE journal ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " serial_from INTEGER NOT NULL CHECK (serial_from BETWEEN 0 AND 4294967295),"
    " serial_to INTEGER NOT NULL CHECK (serial_to BETWEEN 0 AND 4294967295),"
    " changed_at INTEGER NOT NULL,"
    " principal TEXT NOT NULL,"
    " removed BLOB NOT NULL,"
    " added BLOB NOT NULL);"
    "CREATE INDEX journal_by_zone ON journal (zone_id, id);"
    "CREATE INDEX journal_by_serial ON journal (zone_id, serial_from);"
    "CREATE TABLE proposals ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " author TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'applied')),"
    " reviewer TEXT NOT NULL DEFAULT '',"
    " applier TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " reviewed_at INTEGER NOT NULL DEFAULT 0,"
    " applied_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX proposals_by_zone ON proposals (zone_id, status, id);",
    /* 2: the journal keyed by (zone, id) with ids from a per-zone counter in the zone's row. An
     * append then writes four pages (zone row, RRsets, journal, serial index) instead of six: no
     * separate (zone, id) index and no sqlite_sequence row, and the zone row is written anyway. Ids
     * stay increasing per zone, and are never reused, even when a zone's journal is emptied. */
    "ALTER TABLE zones ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0;"
    "UPDATE zones SET journal_seq = coalesce((SELECT max(j.id) FROM journal j WHERE j.zone_id = zones.id), 0);"
    "CREATE TABLE journal_v2 ("
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " id INTEGER NOT NULL,"
    " serial_from INTEGER NOT NULL CHECK (serial_from BETWEEN 0 AND 4294967295),"
    " serial_to INTEGER NOT NULL CHECK (serial_to BETWEEN 0 AND 4294967295),"
    " changed_at INTEGER NOT NULL,"
    " principal TEXT NOT NULL,"
    " removed BLOB NOT NULL,"
    " added BLOB NOT NULL,"
    " PRIMARY KEY (zone_id, id)) WITHOUT ROWID;"
    "INSERT INTO journal_v2 SELECT zone_id, id, serial_from, serial_to, changed_at, principal, removed, added"
    " FROM journal;"
    "DROP TABLE journal;"
    "ALTER TABLE journal_v2 RENAME TO journal;"
    "CREATE INDEX journal_by_serial ON journal (zone_id, serial_from);",
    /* 3: the serial each deleted zone name last had, so the zone created again under that name
     * starts above it (RFC 1982) and secondaries holding the old version refresh. One row per
     * name, replaced at each deletion; a zone's serials only move forward, so the last is the
     * newest it had. */
    "CREATE TABLE past_serials ("
    " apex BLOB PRIMARY KEY,"
    " serial INTEGER NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),"
    " deleted_at INTEGER NOT NULL) WITHOUT ROWID;",
    /* 4: a TTL per record where they differ (the RRSIGs of a name, each at the TTL of the RRset
     * it covers): count big-endian 32-bit TTLs; NULL when every record has the row's ttl. */
    "ALTER TABLE rrsets ADD COLUMN ttls BLOB;",
    /* 5: DNSSEC: a zone's signing policy and state, its keys (private key PEM, the RFC 7583 state
     * and times) and the journal of its keys' state changes */
    "CREATE TABLE dnssec_zones ("
    " zone_id INTEGER PRIMARY KEY REFERENCES zones (id) ON DELETE CASCADE,"
    " policy_name TEXT NOT NULL DEFAULT '',"
    " algorithm INTEGER NOT NULL CHECK (algorithm BETWEEN 0 AND 255),"
    " denial TEXT NOT NULL CHECK (denial IN ('nsec', 'nsec3')),"
    " nsec3_opt_out INTEGER NOT NULL CHECK (nsec3_opt_out IN (0, 1)),"
    " csk INTEGER NOT NULL CHECK (csk IN (0, 1)),"
    " ksk_lifetime INTEGER NOT NULL, zsk_lifetime INTEGER NOT NULL, csk_lifetime INTEGER NOT NULL,"
    " dnskey_ttl INTEGER NOT NULL, max_zone_ttl INTEGER NOT NULL, propagation_delay INTEGER NOT NULL,"
    " rrsig_lifetime INTEGER NOT NULL, rrsig_refresh INTEGER NOT NULL, rrsig_jitter INTEGER NOT NULL,"
    " rrsig_inception INTEGER NOT NULL,"
    " cds INTEGER NOT NULL CHECK (cds IN (0, 1)),"
    " parents TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL CHECK (state IN ('signing', 'signed')),"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE dnssec_keys ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " key_tag INTEGER NOT NULL CHECK (key_tag BETWEEN 0 AND 65535),"
    " algorithm INTEGER NOT NULL CHECK (algorithm BETWEEN 0 AND 255),"
    " flags INTEGER NOT NULL CHECK (flags BETWEEN 0 AND 65535),"
    " role TEXT NOT NULL CHECK (role IN ('ksk', 'zsk', 'csk')),"
    " public_key BLOB NOT NULL,"
    " private_key BLOB NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('generated', 'published', 'ready', 'active', 'retired', 'removed')),"
    " created_at INTEGER NOT NULL, publish_at INTEGER NOT NULL, ready_at INTEGER NOT NULL,"
    " active_at INTEGER NOT NULL, retire_at INTEGER NOT NULL, remove_at INTEGER NOT NULL);"
    "CREATE INDEX dnssec_keys_by_zone ON dnssec_keys (zone_id, id);"
    "CREATE TABLE dnssec_key_journal ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " changed_at INTEGER NOT NULL,"
    " key_tag INTEGER NOT NULL,"
    " from_state TEXT NOT NULL,"
    " to_state TEXT NOT NULL,"
    " reason TEXT NOT NULL);"
    "CREATE INDEX dnssec_key_journal_by_zone ON dnssec_key_journal (zone_id, id);",
    /* 6: key rollovers (lib/dnssec_roll.h): the policy's DS TTL, DS check interval and RFC 5011
     * hold-downs; per key its use bits (1 publish, 2 sign, 4 CDS, 8 revoke), when its state or use
     * last changed, whether its DS was seen at the parents, and the revoked state with its time.
     * The state's CHECK changes, so dnssec_keys is made anew; keys signed before are published and
     * signing, an active KSK's DS taken as seen. */
    "ALTER TABLE dnssec_zones ADD COLUMN ds_ttl INTEGER NOT NULL DEFAULT 86400;"
    "ALTER TABLE dnssec_zones ADD COLUMN ds_check_interval INTEGER NOT NULL DEFAULT 3600;"
    "ALTER TABLE dnssec_zones ADD COLUMN rfc5011 INTEGER NOT NULL DEFAULT 0 CHECK (rfc5011 IN (0, 1));"
    "ALTER TABLE dnssec_zones ADD COLUMN add_holddown INTEGER NOT NULL DEFAULT 2592000;"
    "ALTER TABLE dnssec_zones ADD COLUMN remove_holddown INTEGER NOT NULL DEFAULT 2592000;"
    "CREATE TABLE dnssec_keys_new ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " key_tag INTEGER NOT NULL CHECK (key_tag BETWEEN 0 AND 65535),"
    " algorithm INTEGER NOT NULL CHECK (algorithm BETWEEN 0 AND 255),"
    " flags INTEGER NOT NULL CHECK (flags BETWEEN 0 AND 65535),"
    " role TEXT NOT NULL CHECK (role IN ('ksk', 'zsk', 'csk')),"
    " public_key BLOB NOT NULL,"
    " private_key BLOB NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('generated', 'published', 'ready', 'active', 'retired', 'revoked',"
    " 'removed')),"
    " created_at INTEGER NOT NULL, publish_at INTEGER NOT NULL, ready_at INTEGER NOT NULL,"
    " active_at INTEGER NOT NULL, retire_at INTEGER NOT NULL, remove_at INTEGER NOT NULL,"
    " revoke_at INTEGER NOT NULL DEFAULT 0,"
    " use_bits INTEGER NOT NULL DEFAULT 0 CHECK (use_bits BETWEEN 0 AND 15),"
    " since INTEGER NOT NULL DEFAULT 0,"
    " ds_seen INTEGER NOT NULL DEFAULT 0 CHECK (ds_seen IN (0, 1)));"
    "INSERT INTO dnssec_keys_new (id, zone_id, key_tag, algorithm, flags, role, public_key, private_key, state,"
    " created_at, publish_at, ready_at, active_at, retire_at, remove_at, use_bits, since, ds_seen)"
    " SELECT id, zone_id, key_tag, algorithm, flags, role, public_key, private_key, state, created_at,"
    " publish_at, ready_at, active_at, retire_at, remove_at,"
    " CASE WHEN state IN ('retired', 'removed') THEN 0 ELSE 3 END,"
    " MAX(created_at, publish_at, active_at, retire_at, remove_at),"
    " role != 'zsk' AND state = 'active' FROM dnssec_keys;"
    "DROP TABLE dnssec_keys;"
    "ALTER TABLE dnssec_keys_new RENAME TO dnssec_keys;"
    "CREATE INDEX dnssec_keys_by_zone ON dnssec_keys (zone_id, id);",
    /* 7: turning signing off (RFC 8078): when it was asked, when the DS was gone from the parents */
    "ALTER TABLE dnssec_zones ADD COLUMN unsigning_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE dnssec_zones ADD COLUMN ds_gone_at INTEGER NOT NULL DEFAULT 0;",
    /* 8: signed downstream: the zone's secondaries sign it (Knot at a PoP with its own keys); Tern
     * does not, and holds no DNSSEC records for it */
    "ALTER TABLE zones ADD COLUMN signed_downstream INTEGER NOT NULL DEFAULT 0"
    " CHECK (signed_downstream IN (0, 1));",
    /* 9: how many zones each tenant holds, kept by triggers on zones: the limit check of every
     * creation (api.max-zones-per-tenant) reads one row instead of counting up to 100,000 index
     * entries. A tenant's row stays (at 0) when its last zone goes. */
    "CREATE TABLE tenant_zones ("
    " tenant TEXT PRIMARY KEY,"
    " zones INTEGER NOT NULL CHECK (zones >= 0)) WITHOUT ROWID;"
    "INSERT INTO tenant_zones SELECT tenant, count(*) FROM zones GROUP BY tenant;"
    "CREATE TRIGGER tenant_zones_insert AFTER INSERT ON zones BEGIN"
    " INSERT INTO tenant_zones (tenant, zones) VALUES (new.tenant, 1)"
    " ON CONFLICT (tenant) DO UPDATE SET zones = zones + 1; END;"
    "CREATE TRIGGER tenant_zones_delete AFTER DELETE ON zones BEGIN"
    " UPDATE tenant_zones SET zones = zones - 1 WHERE tenant = old.tenant; END;"
    "CREATE TRIGGER tenant_zones_move AFTER UPDATE OF tenant ON zones WHEN new.tenant != old.tenant BEGIN"
    " UPDATE tenant_zones SET zones = zones - 1 WHERE tenant = old.tenant;"
    " INSERT INTO tenant_zones (tenant, zones) VALUES (new.tenant, 1)"
    " ON CONFLICT (tenant) DO UPDATE SET zones = zones + 1; END;",
    /* 10: services (api_services.c): a tenant's canonical name and the deployment its answers are
     * made from; written in the transaction of the zone change that serves them */
    "CREATE TABLE services ("
    " id TEXT PRIMARY KEY CHECK (length(id) = 36),"
    " tenant TEXT NOT NULL CHECK (length(tenant) BETWEEN 1 AND 128),"
    " canonical BLOB NOT NULL UNIQUE,"
    " deployment TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX services_by_tenant ON services (tenant, created_at, id);",
    /* 11: settings: small values ternd keeps for itself, by name (the JWKS fetched from api.jwks-url,
     * so a restart with the provider down still verifies tokens) */
    "CREATE TABLE settings ("
    " name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 256),"
    " value BLOB NOT NULL,"
    " updated_at INTEGER NOT NULL) WITHOUT ROWID;",
    /* 12: the ACME account key (one) and each service's certificate and ECH keys (the svc
     * module); a service's row goes with it */
    "CREATE TABLE acme_account ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " key_pem TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE service_certs ("
    " service_id TEXT PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,"
    " names TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " chain TEXT,"
    " private_key TEXT,"
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " issued_at INTEGER NOT NULL,"
    " order_url TEXT,"
    " attempts INTEGER NOT NULL,"
    " fail_step TEXT,"
    " fail_status INTEGER NOT NULL,"
    " fail_message TEXT,"
    " fail_problem TEXT,"
    " fail_at INTEGER NOT NULL,"
    " next_at INTEGER NOT NULL,"
    " ech_key BLOB,"
    " ech_config BLOB,"
    " ech_old_key BLOB,"
    " ech_old_config BLOB,"
    " ech_rotate_at INTEGER NOT NULL,"
    " ech_drop_at INTEGER NOT NULL,"
    " publish_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL) WITHOUT ROWID;",
    /* 13: services' aliases (a user's name pointing at the canonical domain), one service's at
     * most, judged by the svc thread; gone with the service */
    "CREATE TABLE service_aliases ("
    " name BLOB PRIMARY KEY,"
    " service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'verified', 'refused', 'lost')),"
    " reason TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " checked_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX service_aliases_by_service ON service_aliases (service_id, created_at);",
    /* 14: TSIG keys made over the API (issue 24), each its tenant's, with the update ACL (JSON)
     * an UPDATE signed with it is judged by; names unique across tenants */
    "CREATE TABLE tsig_keys ("
    " name BLOB PRIMARY KEY,"
    " tenant TEXT NOT NULL,"
    " algorithm TEXT NOT NULL CHECK (algorithm IN ('hmac-sha256', 'hmac-sha512')),"
    " secret BLOB NOT NULL,"
    " acl TEXT NOT NULL,"
    " created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX tsig_keys_by_tenant ON tsig_keys (tenant, name);",
    /* 15: usage: queries per zone, tenant and UTC day (a row is also the zone's zone-day) */
    "CREATE TABLE usage_days ("
    " tenant TEXT NOT NULL CHECK (length(tenant) <= 128),"
    " day INTEGER NOT NULL,"
    " apex BLOB NOT NULL,"
    " queries INTEGER NOT NULL CHECK (queries >= 0),"
    " PRIMARY KEY (tenant, day, apex)) WITHOUT ROWID;"
    "CREATE INDEX usage_days_by_day ON usage_days (day);",
    /* 16: ownership claims: a tenant's token for a name and what its last verification found */
    "CREATE TABLE ownership ("
    " tenant TEXT NOT NULL CHECK (length(tenant) BETWEEN 1 AND 128),"
    " name BLOB NOT NULL,"
    " token TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'verified', 'failed', 'lost')),"
    " method TEXT NOT NULL CHECK (method IN ('', 'txt', 'delegation')),"
    " evidence TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " checked_at INTEGER NOT NULL,"
    " verified_at INTEGER NOT NULL,"
    " PRIMARY KEY (tenant, name)) WITHOUT ROWID;"
    "CREATE INDEX ownership_by_name ON ownership (name, created_at);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

int store_sqlite_schema(const char *path, int *have, int *want, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	*have = 0;
	*want = SCHEMA_VERSION;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		sqlite3_busy_timeout(db, 5000);
	/* no schema_version table: nothing migrated yet (version 0) */
	if (rc == SQLITE_OK && sqlite3_prepare_v2(db,
	                                          "SELECT version FROM schema_version WHERE EXISTS (SELECT 1 FROM "
	                                          "sqlite_master WHERE name = 'schema_version')",
	                                          -1, &s, NULL) == SQLITE_OK) {
		int src = sqlite3_step(s);
		if (src == SQLITE_ROW)
			*have = sqlite3_column_int(s, 0);
		rc = src == SQLITE_ROW || src == SQLITE_DONE ? SQLITE_OK : src;
	} else if (rc == SQLITE_OK) {
		rc = sqlite3_errcode(db);
	}
	int out = rc == SQLITE_OK
	              ? 0
	              : set_err(err, errlen, TERN_EIO, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out;
}

int sq_migrate(struct conn *c, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int version = 0;
	int rc = sq_exec_sql(
	    c, "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", err, errlen);
	if (rc < 0)
		goto fail;
	if (sqlite3_prepare_v2(c->db, "SELECT version FROM schema_version", -1, &s, NULL) != SQLITE_OK) {
		rc = set_err(err, errlen, TERN_EIO, "%s: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	int src = sqlite3_step(s);
	if (src == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = set_err(err, errlen, TERN_EIO, "%s: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	if (src == SQLITE_DONE && (rc = sq_exec_sql(c, "INSERT INTO schema_version VALUES (0)", err, errlen)) < 0)
		goto fail;
	if (version > SCHEMA_VERSION || version < 0) {
		rc = set_err(err, errlen, TERN_ECONFIG, "%s: schema version %d is newer than this program's (%d)", path,
		             version, SCHEMA_VERSION);
		goto fail;
	}
	for (int v = version; v < SCHEMA_VERSION; v++) {
		char sql[64];
		if ((rc = sq_exec_sql(c, migrations[v], err, errlen)) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", v + 1);
		if ((rc = sq_exec_sql(c, sql, err, errlen)) < 0)
			goto fail;
	}
	if ((rc = sq_exec_sql(c, "COMMIT", err, errlen)) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_finalize(s);
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int sq_set_wal(struct conn *c, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = set_err(err, errlen, TERN_EIO, "%s: cannot switch to WAL: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	const unsigned char *mode = sqlite3_column_text(s, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0)
		rc = set_err(err, errlen, TERN_EIO, "%s: cannot switch to WAL (journal mode stays %s)", path,
		             mode ? (const char *)mode : "unknown");
fail:
	sqlite3_finalize(s);
	return rc;
}
