/* RFC 2136 UPDATE for API zones: the signature and the ACL checked, the prerequisites judged and the
 * updates made whole RRsets (lib/update.c) on the version served, written by change_commit() only if
 * that version is still the one served (else made again), every refusal logged. */
#include "ternd/update/update.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "lib/edns.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/tsig.h"
#include "lib/update.h"
#include "lib/wire.h"
#include "ternd/base/log.h"
#include "ternd/change/change.h"
#include "ternd/store/store.h"
#include "ternd/zones/server.h"

#define TRIES 4 /* a write made again this often when the zone changed under it */
#define LOGS_PER_SECOND 200 /* refusals logged a second, at most (the rest are counted) */

struct update_server {
	struct server_update hook;
	struct server *srv;
	struct change *change;
	struct store *store;
	struct update_limit limit;
	_Atomic int64_t log_second;
	_Atomic unsigned logged, suppressed;
	_Atomic unsigned busy; /* answers running (update_stop waits for them) */
};

/* What the log and the answer say about one request. */
struct call {
	struct update_server *u;
	const struct server_update_request *rq;
	struct server_update_result *rs;
	char zone[NAME_MAXLEN * 4 + 1];
	char key[NAME_MAXLEN * 4 + 1];
	char from[INET6_ADDRSTRLEN + 8];
};

static void from_text(const struct sockaddr *sa, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof(a));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof(a));
	snprintf(buf, cap, "%s", a);
}

/* Logs at most LOGS_PER_SECOND lines a second; the lines held back are counted in the next one. */
__attribute__((format(printf, 2, 3))) static void say(struct update_server *u, const char *fmt, ...)
{
	int64_t now = (int64_t)time(NULL);
	int64_t was = atomic_load(&u->log_second);
	unsigned held = 0;
	if (was != now && atomic_compare_exchange_strong(&u->log_second, &was, now)) {
		atomic_store(&u->logged, 0);
		held = atomic_exchange(&u->suppressed, 0);
	}
	if (atomic_fetch_add(&u->logged, 1) >= LOGS_PER_SECOND) {
		atomic_fetch_add(&u->suppressed, 1);
		return;
	}
	char line[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (held)
		log_info("UPDATE: %u lines not logged in the last second", held);
	log_info("%s", line);
}

/* Answers rcode (and an EDE with text when ede is set), logging why. */
__attribute__((format(printf, 4, 5))) static void refuse(struct call *c, uint16_t rcode, uint16_t ede, const char *fmt,
                                                         ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->rs->text, sizeof(c->rs->text), fmt, ap);
	va_end(ap);
	c->rs->rcode = rcode;
	c->rs->ede = ede;
	if (ede == EDE_NONE)
		c->rs->text[0] = 0;
	char why[sizeof(c->rs->text)];
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	say(c->u, "UPDATE of %s from %s, key %s: refused (rcode %u): %s", c->zone, c->from,
	    c->key[0] ? c->key : "(none)", rcode, why);
}

/* ---- the ACL ---- */

/* Whether owner matches a name rule: NAME exactly, *.NAME below it, LABEL.* a first label LABEL. */
static bool name_matches(const uint8_t *rule, const uint8_t *owner)
{
	if (rule[0] == 1 && rule[1] == '*')
		return name_in(owner, rule + 2) && !name_equal(owner, rule + 2);
	const uint8_t *second = rule + rule[0] + 1;
	if (rule[0] && second[0] == 1 && second[1] == '*' && second[2] == 0) {
		if (owner[0] != rule[0])
			return false;
		for (unsigned i = 1; i <= rule[0]; i++)
			if ((owner[i] | 0x20) != (rule[i] | 0x20) && owner[i] != rule[i])
				return false;
		return true;
	}
	return name_equal(owner, rule);
}

static bool rule_allows(const struct config_update_rule *r, const uint8_t *apex, const struct update_rr *rr, bool add)
{
	bool ok = r->nzones == 0;
	for (size_t i = 0; i < r->nzones && !ok; i++)
		ok = name_equal(r->zones[i], apex);
	if (!ok)
		return false;
	ok = r->nnames == 0;
	for (size_t i = 0; i < r->nnames && !ok; i++)
		ok = name_matches(r->names[i], rr->owner);
	if (!ok)
		return false;
	ok = r->ntypes == 0; /* deleting every type at a name (ANY) needs a rule for any type */
	for (size_t i = 0; i < r->ntypes && !ok; i++)
		ok = r->types[i].type == rr->type;
	if (!ok)
		return false;
	ok = r->nactions == 0;
	for (size_t i = 0; i < r->nactions && !ok; i++)
		ok = r->actions[i].action == (add ? CONFIG_UPDATE_ADD : CONFIG_UPDATE_DELETE);
	return ok;
}

/* Whether rule is one of the key named key_name (wire, lower case). The rule's key is found by name
 * in the configuration the rule belongs to: the request's key comes from the answering parameters
 * the query path read, which a reload may have replaced since, so no index or pointer of theirs
 * is compared with this configuration's. */
static bool rule_of_key(const struct config *conf, const struct config_update_rule *r, const uint8_t *key_name)
{
	return r->key_ref >= 1 && r->key_ref <= conf->nkeys &&
	       name_equal(conf->keys[r->key_ref - 1].key.name, key_name);
}

/* Whether the configuration has a key named key_name (its rules are then update.acl's). */
static bool config_has_key(const struct config *conf, const uint8_t *key_name)
{
	for (size_t i = 0; i < conf->nkeys; i++)
		if (name_equal(conf->keys[i].key.name, key_name))
			return true;
	return false;
}

/* The first update record the key's rules do not allow, or NULL: the rules of update.acl whose key
 * is key_name when conf is given, else every rule (a key made over the API has its own). */
static const struct update_rr *denied(const struct config *conf, const struct config_update_rule *rules, size_t n,
                                      const uint8_t *key_name, const struct update *up)
{
	for (size_t i = 0; i < up->nupd; i++) {
		const struct update_rr *rr = &up->upd[i];
		bool add = rr->cls == up->zclass, ok = false;
		for (size_t k = 0; k < n && !ok; k++)
			ok = (!conf || rule_of_key(conf, &rules[k], key_name)) &&
			     rule_allows(&rules[k], up->zone, rr, add);
		if (!ok)
			return rr;
	}
	return NULL;
}

/* ---- the write ---- */

/* The judged changes as the change module takes them (owners copied, RDATA pointing into ch). */
static struct change_rrset *as_rrsets(const struct zone_change *ch, size_t n)
{
	struct change_rrset *rs = calloc(n ? n : 1, sizeof(*rs));
	for (size_t i = 0; rs && i < n; i++) {
		memcpy(rs[i].owner, ch[i].owner, name_len(ch[i].owner));
		name_lower(rs[i].owner);
		rs[i].type = ch[i].type;
		rs[i].count = ch[i].count;
		rs[i].ttl = ch[i].ttl;
		rs[i].rdata = ch[i].rdata;
		rs[i].rdata_size = ch[i].rdata_size;
	}
	return rs;
}

/* One try on the version served now: 1 to try again (the zone changed before the write), else 0
 * with the answer set. The caller is an online RCU reader. */
static int try_once(struct call *c, const struct update *up, const char *principal)
{
	struct update_server *u = c->u;
	char err[256] = "";
	const struct zone *z = zones_get(u->srv->zones, up->zone);
	if (!z) {
		refuse(c, RCODE_NOTAUTH, EDE_NOT_AUTHORITATIVE, "zone %s is not served here", c->zone);
		return 0;
	}
	int rc = update_check(z, up, err, sizeof(err));
	if (rc != 0) {
		refuse(c, (uint16_t)rc, EDE_NONE, "%s", err);
		return 0;
	}
	struct zone_change *ch = NULL;
	size_t n = 0;
	if ((rc = update_changes(z, up, &ch, &n)) < 0) {
		refuse(c, rc == TERN_ESPACE ? RCODE_REFUSED : RCODE_SERVFAIL, EDE_OTHER, "%s",
		       rc == TERN_ESPACE ? "an RRset would hold more than 65535 records" : "out of memory");
		return 0;
	}
	uint32_t serial = z->serial;
	if (n == 0) { /* every update ignored (RFC 2136 3.4.2) or already so: nothing to write */
		c->rs->rcode = RCODE_NOERROR;
		say(u, "UPDATE of %s from %s, key %s: nothing to change (serial %u)", c->zone, c->from, c->key, serial);
		update_changes_free(ch, n);
		return 0;
	}
	struct change_rrset *rs = as_rrsets(ch, n);
	if (!rs) {
		update_changes_free(ch, n);
		refuse(c, RCODE_SERVFAIL, EDE_OTHER, "out of memory");
		return 0;
	}
	struct change_request req = {
	    .apex = up->zone, .rrsets = rs, .n = n, .principal = principal, .if_serial = true, .serial = serial};
	struct change_result r;
	rc = change_commit(u->change, &req, &r); /* as the API's writes: called as an online reader */
	free(rs);
	update_changes_free(ch, n);
	if (rc == 0) {
		c->rs->rcode = RCODE_NOERROR;
		say(u, "UPDATE of %s from %s, key %s: %zu RRset(s) changed, serial %u", c->zone, c->from, c->key, n,
		    r.serial);
		return 0;
	}
	switch (r.step) {
	case CHANGE_STALE: return 1;
	case CHANGE_REFUSED: refuse(c, RCODE_REFUSED, EDE_OTHER, "%s", r.msg); break;
	case CHANGE_ZONE:
		refuse(c, r.code == TERN_EBUSY ? RCODE_REFUSED : RCODE_NOTAUTH,
		       r.code == TERN_EBUSY ? EDE_PROHIBITED : EDE_NOT_AUTHORITATIVE, "%s", r.msg);
		break;
	default: refuse(c, RCODE_SERVFAIL, EDE_OTHER, "the change was not written: %s", r.msg); break;
	}
	return 0;
}

static void answer_one(struct update_server *u, const struct server_update_request *rq, struct server_update_result *rs)
{
	struct call c = {.u = u, .rq = rq, .rs = rs};
	struct update up;
	char err[256] = "";
	rs->rcode = RCODE_SERVFAIL;
	rs->ede = EDE_NONE;
	rs->text[0] = 0;
	from_text(rq->from, c.from, sizeof(c.from));
	snprintf(c.zone, sizeof(c.zone), "?");
	if (rq->key)
		name_to_text(rq->key->name, c.key, sizeof(c.key));
	if (rq->tsig_error) {
		static const char *const names[] = {
		    [16] = "BADSIG", [17] = "BADKEY", [18] = "BADTIME", [22] = "BADTRUNC"};
		const char *e = rq->tsig_error < sizeof(names) / sizeof(names[0]) && names[rq->tsig_error]
		                    ? names[rq->tsig_error]
		                    : "an error";
		if (rq->key_name)
			name_to_text(rq->key_name, c.key, sizeof(c.key));
		struct update up0;
		if (update_parse(rq->msg, rq->len, UINT16_MAX, &up0, NULL, 0) == 0) {
			name_to_text(up0.zone, c.zone, sizeof(c.zone));
			update_free(&up0);
		}
		refuse(&c, RCODE_NOTAUTH, EDE_NONE, "TSIG %s (%u)", e, rq->tsig_error);
		return;
	}
	const struct config *conf = server_config(u->srv);
	int rc = update_parse(rq->msg, rq->len, conf->update.max_records, &up, err, sizeof(err));
	if (rc != 0) {
		refuse(&c, (uint16_t)rc, rc == UPDATE_FORMERR ? EDE_NONE : EDE_PROHIBITED, "%s", err);
		return;
	}
	name_to_text(up.zone, c.zone, sizeof(c.zone));
	if (!rq->key) {
		refuse(&c, RCODE_REFUSED, EDE_PROHIBITED, "an UPDATE must be signed with a TSIG key");
		goto out;
	}
	if (!zones_get(u->srv->zones, up.zone)) {
		refuse(&c, RCODE_NOTAUTH, EDE_NOT_AUTHORITATIVE, "zone %s is not served here", c.zone);
		goto out;
	}
	struct store_zone sz;
	if (!u->store || store_zone_get(store_latest(u->store), up.zone, &sz, err, sizeof(err)) < 0) {
		refuse(&c, RCODE_REFUSED, EDE_PROHIBITED,
		       "zone %s is not an API zone (a zone file or a secondary zone takes no updates)", c.zone);
		goto out;
	}
	if (!strcmp(sz.tenant, STORE_TENANT_CONFIG)) {
		refuse(&c, RCODE_REFUSED, EDE_PROHIBITED, "zone %s is a zone file of the configuration", c.zone);
		goto out;
	}
	if (sz.locked) {
		refuse(&c, RCODE_REFUSED, EDE_PROHIBITED, "zone %s is locked: %s", c.zone, sz.lock_reason);
		goto out;
	}
	const struct update_rr *no = NULL;
	if (config_has_key(conf, rq->key->name)) {
		no = denied(conf, conf->update.acl, conf->update.nacl, rq->key->name, &up);
	} else { /* a key made over the API: its tenant's zones only, by its own rules */
		const struct server_api_keys *ak = rcu_dereference(u->srv->api_keys);
		const struct server_api_key *k = NULL;
		for (size_t i = 0; ak && i < ak->ring.count && !k; i++)
			if (name_equal(ak->ring.keys[i].name, rq->key->name))
				k = &ak->keys[i];
		if (!k) {
			refuse(&c, RCODE_REFUSED, EDE_PROHIBITED, "key %s is no longer known", c.key);
			goto out;
		}
		if (strcmp(k->tenant, sz.tenant) != 0) {
			refuse(&c, RCODE_REFUSED, EDE_PROHIBITED, "key %s may not update zone %s (not its tenant's)",
			       c.key, c.zone);
			goto out;
		}
		no = denied(NULL, k->acl, k->nacl, rq->key->name, &up);
	}
	if (no) {
		char owner[NAME_MAXLEN * 4 + 1], type[16];
		name_to_text(no->owner, owner, sizeof(owner));
		refuse(&c, RCODE_REFUSED, EDE_PROHIBITED, "key %s may not %s %s at %s", c.key,
		       no->cls == up.zclass ? "add" : "delete",
		       no->type == RR_ANY ? "every type" : rr_type_name(no->type, type), owner);
		goto out;
	}
	if (sz.dnssec && update_touches_dnssec(&up)) {
		refuse(&c, RCODE_REFUSED, EDE_PROHIBITED,
		       "zone %s is signed by Tern: its signer keeps the DNSSEC records", c.zone);
		goto out;
	}
	unsigned rate = 0, wait = 0;
	if (u->limit.take && !u->limit.take(u->limit.arg, sz.tenant, &rate, &wait)) {
		refuse(&c, RCODE_REFUSED, EDE_OTHER,
		       "rate limit of %u requests a second for tenant %s exceeded (API and updates): retry in %u s",
		       rate, sz.tenant, wait);
		goto out;
	}
	char principal[NAME_MAXLEN * 4 + 16];
	snprintf(principal, sizeof(principal), "update key %s", c.key);
	int tries = 0;
	while (try_once(&c, &up, principal) == 1)
		if (++tries == TRIES) {
			refuse(&c, RCODE_SERVFAIL, EDE_OTHER, "zone %s kept changing under the update (%d tries)",
			       c.zone, TRIES);
			break;
		}
out:
	update_free(&up);
}

/* Counted while it runs: entered online, before any write goes offline, so update_stop's grace
 * period sees the count of every answer that found the hook. */
static void answer(void *arg, const struct server_update_request *rq, struct server_update_result *rs)
{
	struct update_server *u = arg;
	atomic_fetch_add(&u->busy, 1);
	answer_one(u, rq, rs);
	atomic_fetch_sub(&u->busy, 1);
}

int update_start(struct server *srv, struct change *change, struct store *store, const struct update_limit *limit,
                 struct update_server **out)
{
	struct update_server *u = calloc(1, sizeof(*u));
	if (!u)
		return TERN_ENOMEM;
	u->srv = srv;
	u->change = change;
	u->store = store;
	if (limit)
		u->limit = *limit;
	u->hook = (struct server_update){answer, u};
	rcu_assign_pointer(srv->update, &u->hook);
	*out = u;
	return 0;
}

void update_stop(struct server *srv, struct update_server *u)
{
	if (!u)
		return;
	rcu_assign_pointer(srv->update, NULL);
	synchronize_rcu(); /* every thread that found the hook has counted itself in busy */
	while (atomic_load(&u->busy))
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	free(u);
}
