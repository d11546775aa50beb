/* Turning DNSSEC signing off (RFC 8078 4): the delete CDS and CDNSKEY published, then, once the DS
 * is gone from the parents (asked by change_ds.c, or said by an operator) and out of caches, the
 * zone published without a DNSSEC record, its policy row gone and its keys removed; or at once
 * when forced and no DS was ever seen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/base/log.h"
#include "ternd/change/change_ds.h"
#include "ternd/change/change_signer.h"

/* The DNSSEC records of a node as deletions (every RRSIG of a name is one change). */
struct unsign_scan {
	struct nsec_changes *out;
	int rc;
};

static int node_unsign(void *arg, const struct zone_node *n)
{
	struct unsign_scan *u = arg;
	bool rrsig = false;
	for (uint16_t k = 0; k < n->nrrsets; k++) {
		uint16_t type = n->rrsets[k].type;
		if (!change_dnssec_type(type) || (type == RR_RRSIG && rrsig))
			continue;
		rrsig |= type == RR_RRSIG;
		struct zone_change d = {.owner = n->owner, .type = type};
		if ((u->rc = change_changes_append(u->out, &d, 1)) < 0)
			return 1;
	}
	return 0;
}

struct key_list {
	struct store_key *v;
	size_t n, cap;
	bool oom;
};

static int key_listed(const struct store_key *k, void *arg)
{
	struct key_list *l = arg;
	if (k->state == STORE_KEY_REMOVED)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct store_key *grown = realloc(l->v, cap * sizeof(*grown));
		if (!grown) {
			l->oom = true;
			return 0;
		}
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n] = *k;
	l->v[l->n].pem = NULL;
	l->v[l->n].pem_len = 0;
	l->n++;
	return 0;
}

struct unsigned_rows {
	const uint8_t *apex;
	const char *reason;
};

/* The rows the unsigned version is stored with: no policy row, every key removed (journaled). */
static int unsigned_rows(struct store_txn *t, void *arg, char *err, size_t errlen)
{
	struct unsigned_rows *ur = arg;
	struct key_list kl = {0};
	int rc = store_dnssec_delete(t, ur->apex, err, errlen);
	if (rc == 0)
		rc = store_key_foreach(t, ur->apex, false, key_listed, &kl, err, errlen);
	if (rc == 0 && kl.oom) {
		snprintf(err, errlen, "out of memory");
		rc = TERN_ENOMEM;
	}
	int64_t now = time(NULL);
	for (size_t i = 0; rc == 0 && i < kl.n; i++) {
		struct store_key *k = &kl.v[i];
		enum store_key_state from = k->state;
		k->state = STORE_KEY_REMOVED;
		k->use = 0;
		k->removed = now;
		k->since = now;
		rc = store_key_update(t, ur->apex, k, from, ur->reason, err, errlen);
	}
	free(kl.v);
	return rc;
}

/* Publishes apex without a DNSSEC record (the next serial), its policy row gone and its keys
 * removed, and forgets its signing state. c->lock held. */
static int unsign(struct change *c, const uint8_t *apex, const char *principal, const char *reason, char *err,
                  size_t errlen)
{
	const struct zone *cur = zones_get(c->zones, apex);
	struct store_zone row;
	if (!cur) {
		snprintf(err, errlen, "the zone is not served");
		return TERN_ENOTFOUND;
	}
	int rc = store_zone_get(store_latest(c->store), apex, &row, err, errlen);
	if (rc < 0)
		return rc;
	uint32_t serial = change_next_serial(cur->serial, row.serial_policy, time(NULL));
	struct change_set set = {0};
	struct nsec_changes list = {0};
	struct zone *next = NULL;
	struct unsign_scan u = {&list, 0};
	rc = change_set_make(cur, NULL, 0, serial, &set);
	if (rc == 0)
		rc = change_changes_append(&list, set.all, set.n);
	if (rc == 0 && zone_foreach(cur, node_unsign, &u) != 0)
		rc = u.rc < 0 ? u.rc : TERN_ENOMEM;
	if (rc == TERN_ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc == 0)
		rc = zone_apply_text(cur, list.v, list.n, &next, err, errlen);
	if (rc == 0) {
		struct unsigned_rows ur = {apex, reason};
		struct change_result r = {.index = CHANGE_NO_INDEX};
		rc =
		    change_write_version(c, apex, cur, next, list.v, list.n, serial, principal, unsigned_rows, &ur, &r);
		next = NULL;
		if (rc < 0)
			snprintf(err, errlen, "%s", r.msg);
	}
	zone_discard(next);
	nsec_changes_free(&list);
	change_set_free(&set);
	if (rc == 0) {
		change_dnssec_forget(c, apex);
		char name[NAME_MAXLEN * 4 + 1];
		name_to_text(apex, name, sizeof(name));
		log_info("zone %s: DNSSEC signing turned off: served unsigned from serial %u (%s)", name, serial,
		         reason);
	}
	return rc;
}

/* Sets z's times of turning off (under status_lock, c->lock held). */
void change_set_unsigning(struct change *c, struct signed_zone *z, const struct dnssec_policy *p, int64_t unsigning,
                          int64_t ds_gone)
{
	pthread_mutex_lock(&c->signer->status_lock);
	z->unsigning = unsigning;
	z->ds_gone = ds_gone;
	z->unsign_at = ds_gone ? ds_gone + (int64_t)p->ds_ttl + p->propagation_delay : 0;
	/* a zone whose keys did not load is not asked about (its DS check needs them): ds-removed is */
	z->ds_check_at = unsigning && !ds_gone && p->nparents && !z->broken ? time(NULL) : 0;
	pthread_mutex_unlock(&c->signer->status_lock);
}

struct ds_scan {
	bool secure;
	uint16_t tag;
};

static int key_secure(const struct store_key *k, void *arg)
{
	struct ds_scan *s = arg;
	if (k->state != STORE_KEY_REMOVED && k->role != STORE_KEY_ZSK && k->ds_seen) {
		s->secure = true;
		s->tag = k->tag;
	}
	return 0;
}

int change_dnssec_disable(struct change *c, const uint8_t *apex, const char *principal, bool force, bool *unsigned_now,
                          struct change_result *r)
{
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	*unsigned_now = false;
	char name[NAME_MAXLEN * 4 + 1], err[512] = "", reason[STORE_REASON_MAX + 1];
	name_to_text(apex, name, sizeof(name));
	if (!c->signer)
		return change_fail(r, CHANGE_APPLY, TERN_ENOMEM, "DNSSEC signing is unavailable: out of memory");
	struct store_txn *t = NULL;
	struct signing *s = NULL;
	struct store_zone row = {0};
	struct store_dnssec d = {0};
	struct ds_scan ds = {0};
	/* forced: the parents the policy names are asked first (without the lock: seconds each) */
	if (force && store_begin_read(c->store, &t, err, sizeof(err)) == 0) {
		struct change_ds_check chk;
		int got = store_dnssec_get(t, apex, &d, err, sizeof(err));
		store_commit(t, NULL, 0);
		t = NULL;
		if (got == 0 && !d.ds_gone && change_ds_gone_wanted(c, apex, &d.policy, &chk)) {
			int asked = change_ds_ask(&chk, CHANGE_DS_TIMEOUT_MS, err, sizeof(err));
			if (asked <= 0)
				return change_fail(
				    r, CHANGE_REFUSED, TERN_EEXIST,
				    "%s%s%s: turned off at once, zone %s could be bogus to validators; turn "
				    "signing off without force: the delete CDS is published and the zone stays "
				    "signed until the DS is gone",
				    asked < 0 ? "a parent could not be asked whether it has a DS of the zone (" : "",
				    err, asked < 0 ? ")" : "", name);
		}
	}
	change_lock(c);
	int rc = change_begin_zone(c, apex, name, &t, &row, r, err, sizeof(err));
	if (rc > 0)
		goto out;
	if (rc < 0)
		goto store_fail;
	rc = store_dnssec_get(t, apex, &d, err, sizeof(err));
	if (rc == TERN_ENOTFOUND) {
		change_fail(r, CHANGE_REFUSED, TERN_ENOTFOUND,
		            "zone %s is not signed: there is no DNSSEC signing to turn off", name);
		goto out;
	}
	if (rc < 0 || (rc = store_key_foreach(t, apex, false, key_secure, &ds, err, sizeof(err))) < 0)
		goto store_fail;
	if (force) {
		if (ds.secure && !d.ds_gone) {
			change_fail(
			    r, CHANGE_REFUSED, TERN_EEXIST,
			    "the DS of key %u was seen at the parent (or confirmed by an operator): turned off at "
			    "once, "
			    "zone %s would be bogus to validators while that DS is at the parent or in caches; turn "
			    "signing off without force: the delete CDS is published and the zone stays signed until "
			    "the DS is gone",
			    ds.tag, name);
			goto out;
		}
		store_rollback(t);
		t = NULL;
		snprintf(reason, sizeof(reason), "signing turned off at once by %s (forced; %s)", principal,
		         d.ds_gone ? "the DS was gone from the parent" : "no DS of the zone was ever seen");
		if ((rc = unsign(c, apex, principal, reason, err, sizeof(err))) < 0)
			goto store_fail;
		*unsigned_now = true;
		goto out;
	}
	if (d.unsigning) /* asked before: nothing changes */
		goto out;
	struct signed_zone *z = change_dnssec_find(c, apex);
	if (!z) {
		change_fail(r, CHANGE_APPLY, TERN_EINVAL, "the zone's DNSSEC state is not loaded (see the log)");
		goto out;
	}
	/* keys that did not load at start sign nothing: no delete CDS, the DS is removed by hand */
	if (!z->broken && (rc = change_signing_load(t, apex, &d.policy, &s, err, sizeof(err))) < 0)
		goto store_fail;
	if (s)
		s->delete_cds = true;
	d.unsigning = time(NULL);
	d.ds_gone = 0;
	if ((rc = store_dnssec_put(t, apex, &d, err, sizeof(err))) < 0)
		goto store_fail;
	rc = store_commit(t, err, sizeof(err));
	t = NULL;
	if (rc < 0)
		goto store_fail;
	change_set_unsigning(c, z, &d.policy, d.unsigning, 0);
	if (!s) {
		log_warning("zone %s: turning DNSSEC signing off (asked by %s): its keys could not be loaded, so no "
		            "delete CDS is published: remove the DS at the parent, then POST .../dnssec/ds-removed; "
		            "the zone is served as stored until then",
		            name, principal);
		goto out;
	}
	change_want_signing(z, s);
	s = NULL;
	log_info("zone %s: turning DNSSEC signing off (asked by %s): the delete CDS and CDNSKEY are published; the "
	         "zone stays signed until the DS is gone from %s",
	         name, principal, d.policy.nparents ? "every parent" : "the parent (POST .../dnssec/ds-removed)");
	change_signer_wake(c);
	goto out;
store_fail:
	change_dnssec_failed(r, rc, name, "turning DNSSEC off", err);
out:
	return change_dnssec_end(c, t, s, r);
}

int change_dnssec_ds_removed(struct change *c, const uint8_t *apex, const char *who, char *msg, size_t msglen)
{
	char name[NAME_MAXLEN * 4 + 1];
	name_to_text(apex, name, sizeof(name));
	struct store_txn *t = NULL;
	struct store_dnssec d = {0};
	change_lock(c);
	int rc = store_begin(c->store, &t, msg, msglen);
	if (rc == 0)
		rc = store_dnssec_get(t, apex, &d, msg, msglen);
	if ((rc == 0 && !d.unsigning) || rc == TERN_ENOTFOUND) {
		snprintf(msg, msglen,
		         "DNSSEC signing of zone %s is not being turned off (DELETE .../dnssec first): there is no DS "
		         "removal to wait for",
		         name);
		rc = TERN_ENOTFOUND;
	}
	if (rc == 0 && !d.ds_gone) {
		d.ds_gone = time(NULL);
		if ((rc = store_dnssec_put(t, apex, &d, msg, msglen)) == 0) {
			rc = store_commit(t, msg, msglen);
			t = NULL;
		}
		struct signed_zone *z = rc == 0 ? change_dnssec_find(c, apex) : NULL;
		if (z) {
			change_set_unsigning(c, z, &d.policy, d.unsigning, d.ds_gone);
			log_info("zone %s: the DS is gone from the parent (%s): unsigned after the DS TTL %u s and "
			         "propagation delay %u s",
			         name, who, d.policy.ds_ttl, d.policy.propagation_delay);
			change_signer_wake(c);
		}
	}
	if (t)
		store_rollback(t);
	change_unlock(c);
	return rc;
}

/* z's DS is gone long enough: its DNSSEC records go. c->lock held; z is gone after a success. */
void change_unsign_job(struct change *c, struct signed_zone *z)
{
	char name[NAME_MAXLEN * 4 + 1], err[CHANGE_MSG_MAX] = "", reason[STORE_REASON_MAX + 1];
	name_to_text(z->apex, name, sizeof(name));
	uint8_t apex[NAME_MAXLEN];
	memcpy(apex, z->apex, name_len(z->apex));
	snprintf(reason, sizeof(reason),
	         "signing turned off: the DS was gone from the parent at %lld, and out of every cache since %lld",
	         (long long)z->ds_gone, (long long)z->unsign_at);
	if (unsign(c, apex, CHANGE_SIGNER_PRINCIPAL, reason, err, sizeof(err)) < 0) {
		log_error("zone %s: turning DNSSEC off failed: %s", name, err);
		change_job_failed(c, z, err);
	}
}

/* Whether the stored version of a zone being turned off carries the delete CDS. */
bool change_has_delete_cds(const struct zone *z)
{
	const struct zone_node *apex = zone_find(z, z->apex, name_len(z->apex));
	const struct rrset *cds = apex ? zone_node_rrset(apex, RR_CDS) : NULL;
	return cds && cds->count == 1 && rdata_len(cds->rdata) == 5 && rdata_bytes(cds->rdata)[2] == 0;
}
