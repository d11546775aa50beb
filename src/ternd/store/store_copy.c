/* tern store copy: a whole store into an empty one, SQLite or PostgreSQL either way, table by table
 * through the backends' row calls (store.h, "A whole store's rows"), in one snapshot of the source
 * and one transaction on the destination. */
#include "ternd/store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"

/* Every table holding state, parents before children (foreign keys), with the columns both
 * schemas have (store_sqlite_schema.c, store_pg_schema.c). tenant_zones is left out: triggers on
 * zones make it. schema_version is the destination's own (checked equal). */
static const struct store_table tables[] = {
    {"zones",
     "id, apex, sort_key, tenant, serial, serial_policy, locked, lock_reason, created_at, updated_at, journal_seq,"
     " signed_downstream",
     "ixxtitbtiiib", "id", true},
    {"rrsets", "zone_id, sort_key, type, owner, ttl, count, rdata, ttls", "ixixiixx", "zone_id, sort_key, type", false},
    {"journal", "zone_id, id, serial_from, serial_to, changed_at, principal, removed, added", "iiiiitxx", "zone_id, id",
     false},
    {"past_serials", "apex, serial, deleted_at", "xii", "apex", false},
    {"proposals", "id, zone_id, author, body, status, reviewer, applier, created_at, reviewed_at, applied_at",
     "iitttttiii", "id", true},
    {"dnssec_zones",
     "zone_id, policy_name, algorithm, denial, nsec3_opt_out, csk, ksk_lifetime, zsk_lifetime, csk_lifetime,"
     " dnskey_ttl, max_zone_ttl, propagation_delay, rrsig_lifetime, rrsig_refresh, rrsig_jitter, rrsig_inception,"
     " cds, parents, state, updated_at, ds_ttl, ds_check_interval, rfc5011, add_holddown, remove_holddown,"
     " unsigning_at, ds_gone_at",
     "ititbbiiiiiiiiiibttiiibiiii", "zone_id", false},
    {"dnssec_keys",
     "id, zone_id, key_tag, algorithm, flags, role, public_key, private_key, state, created_at, publish_at, ready_at,"
     " active_at, retire_at, remove_at, revoke_at, use_bits, since, ds_seen",
     "iiiiitxxtiiiiiiiiib", "id", true},
    {"dnssec_key_journal", "id, zone_id, changed_at, key_tag, from_state, to_state, reason", "iiiittt", "id", true},
    {"services", "id, tenant, canonical, deployment, created_at, updated_at", "ttxtii", "id", false},
    {"service_certs",
     "service_id, names, state, chain, private_key, not_before, not_after, issued_at, order_url, attempts, fail_step,"
     " fail_status, fail_message, fail_problem, fail_at, next_at, ech_key, ech_config, ech_old_key, ech_old_config,"
     " ech_rotate_at, ech_drop_at, publish_at, updated_at",
     "tttttiiititittiixxxxiiii", "service_id", false},
    {"service_aliases", "name, service_id, state, reason, created_at, checked_at", "xtttii", "name", false},
    {"acme_account", "id, key_pem, created_at", "iti", "id", false},
    {"tsig_keys", "name, tenant, algorithm, secret, acl, created_at", "xttxti", "name", false},
    {"settings", "name, value, updated_at", "txi", "name", false},
    {"usage_days", "tenant, day, apex, queries", "tixi", "tenant, day, apex", false},
    {"ownership", "tenant, name, token, state, method, evidence, created_at, checked_at, verified_at", "txttttiii",
     "tenant, name", false},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* The location as it may be shown: a URL's password masked, or libpq's password= word's. */
static const char *shown(const char *location, char *buf, size_t cap)
{
	const char *pw = strstr(location, "password=");
	if (pw) {
		const char *end = strchr(pw, ' ');
		snprintf(buf, cap, "%.*spassword=***%s", (int)(pw - location), location, end ? end : "");
		return buf;
	}
	const char *scheme = strstr(location, "://");
	const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
	const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
	if (!colon)
		return location;
	snprintf(buf, cap, "%.*s:***%s", (int)(colon - location), location, at);
	return buf;
}

/* The location's schema version, checked to be this program's (have 0 allowed when empty_ok). */
static int check_schema(const char *what, const char *location, bool empty_ok, char *err, size_t errlen)
{
	char show[1024], why[512] = "";
	int have = 0, want = 0;
	int rc = store_schema(location, &have, &want, why, sizeof(why));
	const char *sh = shown(location, show, sizeof(show));
	if (rc < 0 && !store_location_is_postgres(location)) { /* SQLite's message names the file */
		snprintf(err, errlen, "%s %s", what, why);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s %s: %s", what, sh, why);
		return rc;
	}
	if (have == 0 && empty_ok)
		return 0;
	if (have == 0) {
		snprintf(err, errlen, "%s %s is not a Tern store (it has no schema)", what, sh);
		return TERN_EINVAL;
	}
	if (have != want) {
		snprintf(err, errlen,
		         "%s %s has schema version %d, this program %d: both stores must be of this version (start "
		         "the ternd of this version on an older one first; an older program cannot copy a newer one)",
		         what, sh, have, want);
		return TERN_ECONFIG;
	}
	return 0;
}

static int stop_at_first(const struct store_cell *row, void *arg)
{
	(void)row;
	(void)arg;
	return 1;
}

struct copying {
	struct store_txn *to;
	const struct store_table *tab;
	uint64_t rows;
	char *err;
	size_t errlen;
};

static int insert_row(const struct store_cell *row, void *arg)
{
	struct copying *c = arg;
	int rc = c->to->store->ops->table_insert(c->to, c->tab, row, c->err, c->errlen);
	if (rc < 0)
		return rc;
	c->rows++;
	return 0;
}

int store_copy(const char *src, const char *dst, char *report, size_t reportlen, char *err, size_t errlen)
{
	char why[1024] = "", show[1024];
	struct store *from = NULL, *to = NULL;
	struct store_txn *rt = NULL, *wt = NULL;
	bool made = false;
	size_t used = 0;
	int rc;
	if (report && reportlen)
		report[0] = 0;
	if (strcmp(src, dst) == 0) {
		snprintf(err, errlen, "SRC and DST are the same store");
		return TERN_EINVAL;
	}
	if ((rc = check_schema("SRC", src, false, err, errlen)) < 0)
		return rc;
	/* an SQLite destination that does not exist yet is made (and removed again if the copy fails) */
	made = !store_location_is_postgres(dst) && access(dst, F_OK) != 0;
	if (!made && (rc = check_schema("DST", dst, true, err, errlen)) < 0)
		return rc;
	if ((rc = store_open(src, &from, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "SRC %s: %s", shown(src, show, sizeof(show)), why);
		goto fail;
	}
	if ((rc = store_open(dst, &to, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "DST %s: %s", shown(dst, show, sizeof(show)), why);
		goto fail;
	}
	if ((rc = store_begin_read(from, &rt, why, sizeof(why))) < 0 ||
	    (rc = store_begin(to, &wt, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "%s: %s", rt ? "DST" : "SRC", why);
		goto fail;
	}
	/* the destination empty, every table, inside the transaction that writes it */
	for (size_t i = 0; i < NTABLES; i++) {
		rc = to->ops->table_rows(wt, &tables[i], stop_at_first, NULL, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "DST %s: %s", shown(dst, show, sizeof(show)), why);
			goto fail;
		}
		if (rc > 0) {
			rc = TERN_EEXIST;
			snprintf(err, errlen,
			         "DST %s is not empty (table %s holds rows): a copy goes only into an empty store",
			         shown(dst, show, sizeof(show)), tables[i].name);
			goto fail;
		}
	}
	for (size_t i = 0; i < NTABLES; i++) {
		struct copying c = {.to = wt, .tab = &tables[i], .err = why, .errlen = sizeof(why)};
		int64_t last = 0;
		rc = from->ops->table_rows(rt, &tables[i], insert_row, &c, why, sizeof(why));
		if (rc == 0 && tables[i].counter &&
		    (rc = from->ops->table_counter(rt, &tables[i], false, &last, why, sizeof(why))) == 0)
			rc = to->ops->table_counter(wt, &tables[i], true, &last, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "copying table %s (row %" PRIu64 "): %s", tables[i].name, c.rows + 1,
			         why);
			goto fail;
		}
		if (report && used < reportlen) {
			int n = snprintf(report + used, reportlen - used, "%s %" PRIu64 "\n", tables[i].name, c.rows);
			used += n > 0 ? (size_t)n : 0;
		}
	}
	if ((rc = store_commit(wt, why, sizeof(why))) < 0) {
		wt = NULL;
		snprintf(err, errlen, "DST %s: commit: %s", shown(dst, show, sizeof(show)), why);
		goto fail;
	}
	wt = NULL;
	store_rollback(rt);
	store_close(to);
	store_close(from);
	return 0;
fail:
	if (wt)
		store_rollback(wt);
	if (rt)
		store_rollback(rt);
	if (to)
		store_close(to);
	if (from)
		store_close(from);
	if (made) {
		char path[4096];
		unlink(dst);
		snprintf(path, sizeof(path), "%s-wal", dst);
		unlink(path);
		snprintf(path, sizeof(path), "%s-shm", dst);
		unlink(path);
	}
	return rc;
}
