/* Zone files of the configuration signed by ternd (zones[i].dnssec-policy): each is a zone of the
 * store owned by STORE_TENANT_CONFIG, its file imported through the one write path (only the
 * differences, re-signed) and signed by the signer like any store zone. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/wire.h"
#include "ternd/base/log.h"
#include "ternd/change/change.h"
#include "ternd/change/change_impl.h"

/* Appends "file:line: message" and a newline to err (cut when full). */
__attribute__((format(printf, 3, 4))) static void problem(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used = strnlen(err, errlen);
	if (used + 1 >= errlen)
		return;
	if (used)
		err[used++] = '\n';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

int change_config_mark(struct change *c, struct config *conf, char *notes, size_t noteslen)
{
	notes[0] = 0;
	int rc = 0;
	for (size_t i = 0; i < conf->nzones; i++) {
		struct config_zone *cz = &conf->zones[i];
		struct store_zone sz;
		struct store_dnssec d;
		char err[256] = "";
		cz->stored = cz->dnssec_policy != NULL;
		int grc = store_zone_get(store_latest(c->store), cz->apex, &sz, err, sizeof(err));
		if (grc < 0 && grc != TERN_ENOTFOUND)
			rc = TERN_EIO; /* change_config_check() says so */
		if (grc < 0 || strcmp(sz.tenant, STORE_TENANT_CONFIG) != 0 || cz->dnssec_policy)
			continue;
		cz->stored = true;
		grc = store_dnssec_get(store_latest(c->store), cz->apex, &d, err, sizeof(err));
		if (grc == 0 && !d.unsigning)
			problem(
			    notes, noteslen,
			    "zone %s: dnssec-policy removed: signing is turned off once the DS is gone at the parents "
			    "(RFC 8078): the delete CDS and CDNSKEY are published and the zone stays signed until then "
			    "(%s, or tern dnssec ds-removed %s); it is then served unsigned from the store, its serial "
			    "going on",
			    cz->name, d.policy.nparents ? "the parents are asked" : "no parents in its policy",
			    cz->name);
		else if (grc == 0)
			problem(notes, noteslen,
			        "zone %s: without dnssec-policy: its signing is being turned off (the DS gone at the "
			        "parents: %s)",
			        cz->name, d.ds_gone ? "yes" : "not yet");
		else if (grc == TERN_ENOTFOUND)
			problem(notes, noteslen,
			        "zone %s: without dnssec-policy: served unsigned from the store (a :config zone), its "
			        "serial "
			        "going on",
			        cz->name);
	}
	return rc;
}

int change_config_check(struct change *c, const struct config *conf, char *err, size_t errlen)
{
	err[0] = 0;
	int rc = 0;
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct config_zone *cz = &conf->zones[i];
		struct store_zone sz;
		struct store_dnssec d;
		char serr[256] = "";
		int grc = store_zone_get(store_latest(c->store), cz->apex, &sz, serr, sizeof(serr));
		if (grc == TERN_ENOTFOUND)
			continue;
		if (grc == 0 && cz->dnssec_policy && strcmp(sz.tenant, STORE_TENANT_CONFIG) == 0)
			grc = store_dnssec_get(store_latest(c->store), cz->apex, &d, serr, sizeof(serr));
		else
			d.unsigning = 0;
		if (grc < 0 && grc != TERN_ENOTFOUND) {
			problem(err, errlen, "%s:%u: zones[%zu]: %s: the store failed: %s", conf->path, cz->line, i,
			        cz->name, serr);
			rc = TERN_EIO;
		} else if (cz->dnssec_policy && strcmp(sz.tenant, STORE_TENANT_CONFIG) != 0) {
			problem(
			    err, errlen,
			    "%s:%u: zones[%zu]: %s has a dnssec-policy, but the store holds an API zone of that name "
			    "(tenant %s): delete the API zone or rename one of them",
			    conf->path, cz->line, i, cz->name, sz.tenant);
			rc = TERN_ECONFIG;
		} else if (grc == 0 && cz->dnssec_policy && d.unsigning) {
			/* as PUT .../dnssec: the delete CDS may have made a parent drop the DS already, and the
			 * keys' plan stopped; signing starts again, with new keys, once the zone is unsigned */
			problem(
			    err, errlen,
			    "%s:%u: zones[%zu]: %s: its signing is being turned off (dnssec-policy was removed; the "
			    "delete CDS is published, the DS %s): dnssec-policy can be given again once the zone "
			    "is served unsigned (GET /api/v1/zones/%s/dnssec shows when): remove it again for now",
			    conf->path, cz->policy_line, i, cz->name,
			    d.ds_gone ? "gone at the parents" : "maybe being removed at the parents", cz->name);
			rc = TERN_ECONFIG;
		}
	}
	return rc;
}

/* *z again with its SOA serial set to serial (the old one freed); 0 or TERN_ENOMEM (*z kept). */
static int with_serial(struct zone **z, uint32_t serial)
{
	char err[256];
	struct zone *out = NULL;
	if (zone_with_serial(*z, serial, &out, err, sizeof(err)) < 0 || !out)
		return TERN_ENOMEM; /* the file built once: only memory can fail */
	zone_free(*z);
	*z = out;
	return 0;
}

/* Whether two policies are the same values (so a reload with an unchanged policy signs nothing). */
static bool policy_same(const struct dnssec_policy *a, const struct dnssec_policy *b)
{
	if (strcmp(a->name, b->name) || a->algorithm != b->algorithm || a->nsec.nsec3 != b->nsec.nsec3 ||
	    a->nsec.optout != b->nsec.optout || a->nsec.iterations != b->nsec.iterations ||
	    a->nsec.salt_len != b->nsec.salt_len || memcmp(a->nsec.salt, b->nsec.salt, a->nsec.salt_len) ||
	    a->csk != b->csk || a->ksk_lifetime != b->ksk_lifetime || a->zsk_lifetime != b->zsk_lifetime ||
	    a->csk_lifetime != b->csk_lifetime || a->dnskey_ttl != b->dnskey_ttl ||
	    a->max_zone_ttl != b->max_zone_ttl || a->propagation_delay != b->propagation_delay ||
	    a->rrsig_lifetime != b->rrsig_lifetime || a->rrsig_refresh != b->rrsig_refresh ||
	    a->rrsig_jitter != b->rrsig_jitter || a->rrsig_inception != b->rrsig_inception || a->cds != b->cds ||
	    a->nparents != b->nparents)
		return false;
	for (unsigned i = 0; i < a->nparents && i < DNSSEC_POLICY_PARENTS_MAX; i++)
		if (strcmp(a->parents[i], b->parents[i]))
			return false;
	return true;
}

struct ttl_limit {
	uint32_t max;
	char *msg;
	size_t msglen;
};

/* The file's first data RRset above the policy's max-zone-ttl (1), which enabling would refuse:
 * checked before the zone is stored, so no zone is left stored but unsigned. */
static int ttl_over(void *arg, const struct zone_node *n)
{
	struct ttl_limit *l = arg;
	for (uint16_t k = 0; k < n->nrrsets; k++) {
		const struct rrset *rs = &n->rrsets[k];
		if (change_dnssec_type(rs->type) || rs->ttl <= l->max)
			continue;
		char owner[NAME_MAXLEN * 4 + 1], type[32];
		name_to_text(n->owner, owner, sizeof(owner));
		rrtext_type_to_text(rs->type, type, sizeof(type));
		snprintf(l->msg, l->msglen, "%s %s has TTL %u, above the dnssec-policy's max-zone-ttl %u", owner, type,
		         rs->ttl, l->max);
		return 1;
	}
	return 0;
}

/* A new zone of the store for the file: its serial above the one a deleted zone of that name had
 * (secondaries may still hold that one). */
static int create(struct change *c, const struct config_zone *cz, enum store_serial_policy sp, struct zone **z,
                  struct change_result *r)
{
	char err[256] = "";
	uint32_t past;
	struct store_zone row = {.serial_policy = sp};
	memcpy(row.apex, cz->apex, name_len(cz->apex));
	snprintf(row.tenant, sizeof(row.tenant), "%s", STORE_TENANT_CONFIG);
	int rc = store_zone_past_serial(store_latest(c->store), cz->apex, &past, err, sizeof(err));
	if (rc < 0 && rc != TERN_ENOTFOUND) {
		*r = (struct change_result){.step = CHANGE_STORE, .code = TERN_EIO, .index = CHANGE_NO_INDEX};
		snprintf(r->msg, sizeof(r->msg), "%s", err);
		return r->code;
	}
	if (rc == 0 && !rr_serial_newer((*z)->serial, past) &&
	    with_serial(z, change_next_serial(past, sp, time(NULL))) < 0) {
		*r = (struct change_result){.step = CHANGE_APPLY, .code = TERN_ENOMEM, .index = CHANGE_NO_INDEX};
		snprintf(r->msg, sizeof(r->msg), "out of memory");
		return r->code;
	}
	row.serial = (*z)->serial;
	rc = change_create(c, &row, *z, r);
	*z = NULL; /* taken over */
	return rc;
}

/* Signing enabled, or its policy changed, when the store's policy for cz's zone is not cz's; without
 * dnssec-policy, turned off (RFC 8078 delete CDS, as DELETE .../dnssec) when it is still on. */
static int config_policy(struct change *c, const struct config_zone *cz, const char *principal, struct change_result *r)
{
	char err[256] = "";
	struct store_dnssec d;
	int rc = store_dnssec_get(store_latest(c->store), cz->apex, &d, err, sizeof(err));
	if (rc < 0 && rc != TERN_ENOTFOUND) {
		*r = (struct change_result){.step = CHANGE_STORE, .code = TERN_EIO, .index = CHANGE_NO_INDEX};
		snprintf(r->msg, sizeof(r->msg), "%s", err);
		return r->code;
	}
	if (!cz->dnssec_policy) {
		bool now = false;
		if (rc == TERN_ENOTFOUND || d.unsigning) /* unsigned, or being turned off already */
			return 0;
		return change_dnssec_disable(c, cz->apex, principal, false, &now, r);
	}
	if (rc == 0 && policy_same(&d.policy, cz->policy))
		return 0;
	const char *field = NULL;
	rc = change_dnssec_enable(c, cz->apex, cz->policy, principal, &field, r);
	if (rc < 0 && field) { /* name the key the operator wrote */
		char msg[CHANGE_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", r->msg);
		snprintf(r->msg, sizeof(r->msg), "dnssec-policy %.63s: %s: %.3900s", cz->dnssec_policy, field, msg);
	}
	return rc;
}

struct each_now {
	int (*fn)(void *arg, const struct zone_node *n);
	void *arg;
};

static int each_now(void *arg, const struct zone_node *old, const struct zone_node *now)
{
	(void)old;
	struct each_now *e = arg;
	return now ? e->fn(e->arg, now) : 0;
}

/* fn for every node of zn, or with base (zn derived from it) for every node that differs. */
static int each_node(const struct zone *base, const struct zone *zn, int (*fn)(void *arg, const struct zone_node *n),
                     void *arg)
{
	struct each_now e = {fn, arg};
	return base ? zone_changed_nodes(base, zn, each_now, &e) : zone_foreach(zn, fn, arg);
}

/* The content of cz's zone becomes zn's: a new zone of the store the first time (owned, taken
 * over, or else a copy of zn), after that an import of the RRsets zn changes (with own_serial: the
 * zone's serial policy goes on whatever zn's serial is; with base, the version zn was derived
 * from and the zone holds, only the names that differ); then its policy. owned is freed. */
static int config_apply(struct change *c, const struct config_zone *cz, enum store_serial_policy sp, struct zone *owned,
                        const struct zone *zn, const struct zone *base, const char *principal, bool own_serial,
                        struct change_result *r)
{
	char err[256] = "";
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	struct store_zone row;
	struct ttl_limit lim = {cz->policy ? cz->policy->max_zone_ttl : 0, r->msg, sizeof(r->msg)};
	if (lim.max && each_node(base, zn, ttl_over, &lim) == 1) {
		zone_free(owned);
		r->step = CHANGE_REFUSED;
		r->code = TERN_EINVAL;
		return r->code;
	}
	int rc = store_zone_get(store_latest(c->store), cz->apex, &row, err, sizeof(err));
	if (rc == TERN_ENOTFOUND && !cz->dnssec_policy) { /* deleted since the configuration was marked */
		*r = (struct change_result){.step = CHANGE_ZONE, .code = TERN_ENOTFOUND, .index = CHANGE_NO_INDEX};
		snprintf(r->msg, sizeof(r->msg), "no longer in the store: reload ternd to serve it from its file");
		rc = r->code;
	} else if (rc == TERN_ENOTFOUND) {
		if (zn != owned && (zone_with_serial(zn, zn->serial, &owned, err, sizeof(err)) < 0 || !owned)) {
			*r =
			    (struct change_result){.step = CHANGE_APPLY, .code = TERN_ENOMEM, .index = CHANGE_NO_INDEX};
			snprintf(r->msg, sizeof(r->msg), "out of memory");
			return r->code;
		}
		rc = create(c, cz, sp, &owned, r);
	} else if (rc < 0) {
		*r = (struct change_result){.step = CHANGE_STORE, .code = TERN_EIO, .index = CHANGE_NO_INDEX};
		snprintf(r->msg, sizeof(r->msg), "%s", err);
	} else if (strcmp(row.tenant, STORE_TENANT_CONFIG) != 0) {
		*r = (struct change_result){.step = CHANGE_ZONE, .code = TERN_EEXIST, .index = CHANGE_NO_INDEX};
		snprintf(r->msg, sizeof(r->msg), "the store holds an API zone of that name (tenant %s)", row.tenant);
		rc = r->code;
	} else {
		/* listed again after it was retired (or expired): served from the store first, then zn on top */
		bool served = zones_get(c->zones, cz->apex) != NULL;
		rc = served ? 0 : change_load_zone(c, &row);
		if (rc == 1) {
			*r = (struct change_result){
			    .step = CHANGE_UNSERVED, .code = TERN_ENOTFOUND, .index = CHANGE_NO_INDEX};
			snprintf(r->msg, sizeof(r->msg), "its stored version cannot be built (see the log)");
			rc = r->code;
		} else if (rc < 0) {
			*r = (struct change_result){.step = CHANGE_APPLY, .code = rc, .index = CHANGE_NO_INDEX};
			snprintf(r->msg, sizeof(r->msg), "%s", tern_strerror(rc));
		} else {
			struct change_request rq = {.apex = cz->apex,
			                            .import = zn,
			                            .zone_file = true,
			                            .own_serial = own_serial,
			                            .import_base = served ? base : NULL,
			                            .principal = principal};
			rc = change_commit(c, &rq, r);
		}
	}
	zone_free(owned);
	if (rc < 0)
		return rc;
	uint32_t serial = r->serial;
	size_t changes = r->changes;
	rc = config_policy(c, cz, principal, r);
	if (rc < 0 && own_serial) {
		/* a transfer's version is stored and served: the caller must take it as the zone's (its
		 * next IXFR is applied on top), so only the policy failed; tried again with the next one */
		log_error("zone %s: stored from %s, but its dnssec-policy is not applied: %s", cz->name, principal,
		          r->msg);
		rc = 0;
	}
	if (rc == 0)
		*r = (struct change_result){.index = CHANGE_NO_INDEX, .serial = serial, .changes = changes};
	return rc;
}

int change_config_zone(struct change *c, const struct config_zone *cz, enum store_serial_policy sp, struct zone *z,
                       struct change_result *r)
{
	char principal[STORE_PRINCIPAL_MAX + 1];
	snprintf(principal, sizeof(principal), "zone file %s", cz->file);
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	int rc = change_config_intree(cz, &z, r->msg, sizeof(r->msg)); /* in-tree-expires: its _in-tree TXT */
	if (rc < 0) {
		zone_free(z);
		r->step = rc == TERN_ENOMEM ? CHANGE_APPLY : CHANGE_REFUSED;
		r->code = rc;
		return rc;
	}
	return config_apply(c, cz, sp, z, z, NULL, principal, false, r);
}

/* The first record of a signer's type in a transferred version (1), which ternd makes itself. */
static int signer_record(void *arg, const struct zone_node *n)
{
	struct change_result *r = arg;
	for (uint16_t k = 0; k < n->nrrsets; k++) {
		uint16_t type = n->rrsets[k].type;
		if (!change_dnssec_type(type))
			continue;
		char owner[NAME_MAXLEN * 4 + 1], tn[32];
		name_to_text(n->owner, owner, sizeof(owner));
		if (rrtext_type_to_text(type, tn, sizeof(tn)) < 0)
			snprintf(tn, sizeof(tn), "TYPE%u", type);
		snprintf(r->msg, sizeof(r->msg),
		         "%s %s: the primary's zone holds DNSSEC records, and ternd signs this zone itself (its %s "
		         "records are the signer's): send it unsigned",
		         owner, tn, tn);
		return 1;
	}
	return 0;
}

int change_config_transfer(struct change *c, const struct config_zone *cz, enum store_serial_policy sp,
                           const struct zone *zn, const struct zone *base, const char *primary, struct change_result *r)
{
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	if (each_node(base, zn, signer_record, r) == 1) {
		r->step = CHANGE_REFUSED;
		r->code = TERN_EZONE;
		return r->code;
	}
	char principal[STORE_PRINCIPAL_MAX + 1];
	snprintf(principal, sizeof(principal), "transfer from %s", primary);
	return config_apply(c, cz, sp, NULL, zn, base, principal, true, r);
}

int change_config_policy(struct change *c, const struct config_zone *cz, struct change_result *r)
{
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	char err[256] = "";
	struct store_zone row;
	int rc = store_zone_get(store_latest(c->store), cz->apex, &row, err, sizeof(err));
	if (rc == TERN_ENOTFOUND)
		return 0; /* not transferred yet: its first version is signed with cz's policy */
	if (rc < 0) {
		*r = (struct change_result){.step = CHANGE_STORE, .code = TERN_EIO, .index = CHANGE_NO_INDEX};
		snprintf(r->msg, sizeof(r->msg), "%s", err);
		return r->code;
	}
	return config_policy(c, cz, "configuration", r);
}

void change_config_unserve(struct change *c, const uint8_t *apex, const char *why)
{
	char name[NAME_MAXLEN * 4 + 1];
	name_to_text(apex, name, sizeof(name));
	change_lock(c);
	change_dnssec_forget(c, apex);
	int rc = zones_remove(c->zones, apex);
	change_unlock(c);
	if (rc == 0)
		log_info("zone %s: %s: not served (its keys and versions stay in the store, and serve again with it)",
		         name, why);
	else if (rc != TERN_ENOTFOUND)
		log_error("zone %s: %s, but still served until restart: %s", name, why, tern_strerror(rc));
}

struct retire {
	struct change *c;
	const struct config *conf;
	uint8_t (*gone)[NAME_MAXLEN]; /* to delete from the store */
	size_t n, cap;
};

static int retire_zone(const struct store_zone *sz, void *arg)
{
	struct retire *rt = arg;
	const struct config_zone *cz = config_zone_find(rt->conf, sz->apex);
	if (cz && cz->stored)
		return 0;
	char err[256] = "", name[NAME_MAXLEN * 4 + 1];
	struct store_dnssec d;
	int rc = store_dnssec_get(store_latest(rt->c->store), sz->apex, &d, err, sizeof(err));
	if (rc != TERN_ENOTFOUND) {
		change_config_unserve(rt->c, sz->apex, "no longer in the configuration");
		return 0;
	}
	/* no signing state (enabling failed, or turned off): no keys to keep, so the zone goes from the
	 * store too, after the listing (its serial kept as a deleted zone's: a zone of that name starts
	 * above it) */
	if (rt->n == rt->cap) {
		size_t ncap = rt->cap ? rt->cap * 2 : 8;
		uint8_t(*grown)[NAME_MAXLEN] = realloc(rt->gone, ncap * sizeof(*grown));
		if (!grown) {
			name_to_text(sz->apex, name, sizeof(name));
			log_error("zone %s: no longer in the configuration, but still stored: out of memory", name);
			return 0;
		}
		rt->gone = grown;
		rt->cap = ncap;
	}
	memcpy(rt->gone[rt->n++], sz->apex, name_len(sz->apex));
	return 0;
}

void change_config_retire(struct change *c, const struct config *conf)
{
	struct retire rt = {c, conf, NULL, 0, 0};
	struct store_page page = {0};
	char err[256] = "";
	int rc;
	do {
		rc = store_zone_list(store_latest(c->store), STORE_TENANT_CONFIG, page.more ? page.next_apex : NULL,
		                     1000, retire_zone, &rt, &page, err, sizeof(err));
	} while (rc == 0 && page.more);
	if (rc < 0)
		log_error("zones of the configuration no longer listed: the store failed: %s", err);
	for (size_t i = 0; i < rt.n; i++) {
		char name[NAME_MAXLEN * 4 + 1];
		struct change_result r;
		name_to_text(rt.gone[i], name, sizeof(name));
		if (change_delete(c, rt.gone[i], &r) < 0)
			log_error("zone %s: no longer in the configuration, but not deleted from the store: %s", name,
			          r.msg);
		else
			log_info("zone %s: no longer in the configuration and not signed: deleted from the store",
			         name);
	}
	free(rt.gone);
}
