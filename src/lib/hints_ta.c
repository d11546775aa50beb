/* tern hints watch: RFC 5011's client side for the watch's own trust anchor of a domain (a new KSK
 * trusted after the add hold-down in sets the anchor validates, a revoked one dropped), and its JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"
#include "lib/dnssec.h"
#include "lib/error.h"
#include "lib/hints.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"

/* A key of the answer: its RDATA, its identity (the RDATA with the REVOKE bit cleared), its key. */
struct ta_seen {
	uint8_t wire[DNSSEC_DNSKEY_MAX];
	size_t len;
	uint16_t flags;
	struct dnssec_key *key;
	const char *text;
};

static int key_wire(const char *domain, const char *text, uint8_t *wire, size_t cap, size_t *len)
{
	uint8_t owner[NAME_MAXLEN];
	char err[256];
	if (name_from_text(owner, domain, NULL) < 0 ||
	    rrtext_rdata_from_text(owner, owner, RR_DNSKEY, text, wire, cap, len, err, sizeof(err)) < 0 || *len < 4)
		return TERN_EINVAL;
	return 0;
}

/* Whether two DNSKEY RDATA are the same key, the REVOKE bit aside. */
static bool same_key(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && alen >= 4 && a[0] == b[0] && (a[1] & ~0x80) == (b[1] & ~0x80) &&
	       memcmp(a + 2, b + 2, alen - 2) == 0;
}

static void note(char *log, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *log, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(log);
	if (n + 3 >= cap)
		return;
	if (n)
		n += (size_t)snprintf(log + n, cap - n, "; ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(log + n, cap - n, fmt, ap);
	va_end(ap);
}

int hints_ta_seed(struct hints_ta *t, const char *domain, const char *dnskey, long long now)
{
	uint8_t wire[DNSSEC_DNSKEY_MAX];
	size_t len;
	if (key_wire(domain, dnskey, wire, sizeof(wire), &len) < 0 || (wire[1] & 0x80))
		return TERN_EINVAL;
	for (int i = 0; i < t->nkeys; i++) {
		uint8_t have[DNSSEC_DNSKEY_MAX];
		size_t hlen;
		if (key_wire(domain, t->keys[i].dnskey, have, sizeof(have), &hlen) == 0 &&
		    same_key(have, hlen, wire, len)) {
			t->keys[i].valid = true;
			return 0;
		}
	}
	if (t->nkeys == HINTS_TA_MAX)
		return TERN_ESPACE;
	struct hints_ta_key *k = &t->keys[t->nkeys++];
	memset(k, 0, sizeof(*k));
	k->tag = dnssec_keytag(wire, len);
	check_copy(k->dnskey, sizeof(k->dnskey), dnskey);
	k->first_seen = now;
	k->valid = true;
	return 0;
}

int hints_ta_update(struct hints_ta *t, const char *domain, const struct check_answer *a, long long now,
                    long long add_holddown, char *log, size_t logcap)
{
	struct ta_seen *seen = calloc(CHECK_MAXVALUES, sizeof(*seen));
	struct dnssec_key *keys[CHECK_MAXVALUES];
	bool use[CHECK_MAXVALUES];
	uint8_t *buf = malloc(65536);
	int n = 0, flags = 0;
	log[0] = 0;
	t->signer = -1;
	if (!seen || !buf) {
		note(log, logcap, "out of memory");
		goto done;
	}
	for (int i = 0; i < a->nrr && n < CHECK_MAXVALUES; i++) {
		const struct check_rr *rr = &a->rr[i];
		char err[256];
		struct ta_seen *s = &seen[n];
		if (rr->section != CHECK_ANSWER || rr->type != RR_DNSKEY || !check_name_eq(rr->owner, domain) ||
		    key_wire(domain, rr->data, s->wire, sizeof(s->wire), &s->len) < 0 ||
		    dnssec_key_from_dnskey(s->wire, s->len, &s->key, err, sizeof(err)) < 0)
			continue;
		s->flags = (uint16_t)(s->wire[0] << 8 | s->wire[1]);
		s->text = rr->data;
		keys[n++] = s->key;
	}
	/* which trusted key each seen one is (-1: none) */
	int which[CHECK_MAXVALUES];
	for (int i = 0; i < n; i++) {
		which[i] = -1;
		for (int k = 0; k < t->nkeys && which[i] < 0; k++) {
			uint8_t have[DNSSEC_DNSKEY_MAX];
			size_t hlen;
			if (key_wire(domain, t->keys[k].dnskey, have, sizeof(have), &hlen) == 0 &&
			    same_key(have, hlen, seen[i].wire, seen[i].len))
				which[i] = k;
		}
	}
	/* the set must verify under a trusted key as published (not revoked) */
	char why[320] = "no trusted key is in the DNSKEY set";
	for (int i = 0; i < n && t->signer < 0; i++) {
		if (which[i] < 0 || !t->keys[which[i]].valid || (seen[i].flags & DNSSEC_FLAG_REVOKE))
			continue;
		memset(use, 0, sizeof(use));
		use[i] = true;
		if (hints_set_verifies(a, domain, RR_DNSKEY, keys, use, n, true, now, buf, 65536, why, sizeof(why)))
			t->signer = dnssec_keytag(seen[i].wire, seen[i].len);
	}
	/* a trusted or pending key published revoked, with its own RRSIG over the set: dropped */
	bool drop[HINTS_TA_MAX] = {0};
	for (int i = 0; i < n; i++) {
		if (which[i] < 0 || !(seen[i].flags & DNSSEC_FLAG_REVOKE))
			continue;
		char rwhy[320];
		memset(use, 0, sizeof(use));
		use[i] = true;
		if (!hints_set_verifies(a, domain, RR_DNSKEY, keys, use, n, true, now, buf, 65536, rwhy, sizeof(rwhy)))
			continue;
		drop[which[i]] = true;
		flags |= t->keys[which[i]].valid ? HINTS_TA_TRUST_CHANGED : HINTS_TA_PENDING_CHANGED;
		note(log, logcap, "KSK %d revoked (its self-signature verifies): %s", t->keys[which[i]].tag,
		     t->keys[which[i]].valid ? "no longer trusted" : "no longer pending");
	}
	if (t->signer < 0) {
		note(log, logcap, "the DNSKEY set of %s does not validate from the trusted keys: %s", domain, why);
	} else {
		flags |= HINTS_TA_VALIDATED;
		/* new SEP keys: pending from now */
		for (int i = 0; i < n; i++) {
			bool sep = (seen[i].flags & DNSSEC_FLAG_SEP) && !(seen[i].flags & DNSSEC_FLAG_REVOKE);
			if (!sep || which[i] >= 0)
				continue;
			if (t->nkeys == HINTS_TA_MAX) {
				note(log, logcap, "more than %d keys to track: KSK %d ignored", HINTS_TA_MAX,
				     dnssec_keytag(seen[i].wire, seen[i].len));
				continue;
			}
			struct hints_ta_key *k = &t->keys[t->nkeys];
			memset(k, 0, sizeof(*k));
			k->tag = dnssec_keytag(seen[i].wire, seen[i].len);
			check_copy(k->dnskey, sizeof(k->dnskey), seen[i].text);
			k->first_seen = now;
			which[i] = t->nkeys++;
			flags |= HINTS_TA_PENDING_CHANGED;
			note(log, logcap, "KSK %d published: pending for the add hold-down (%lld s)", k->tag,
			     add_holddown);
		}
		/* pending keys: trusted after the hold-down while present, forgotten when gone */
		for (int k = 0; k < t->nkeys; k++) {
			if (t->keys[k].valid || drop[k])
				continue;
			bool present = false;
			for (int i = 0; i < n && !present; i++)
				present = which[i] == k && !(seen[i].flags & DNSSEC_FLAG_REVOKE);
			if (!present) {
				drop[k] = true;
				flags |= HINTS_TA_PENDING_CHANGED;
				note(log, logcap, "pending KSK %d left the DNSKEY set before its hold-down: forgotten",
				     t->keys[k].tag);
			} else if (now - t->keys[k].first_seen >= add_holddown) {
				t->keys[k].valid = true;
				flags |= HINTS_TA_TRUST_CHANGED;
				note(log, logcap, "KSK %d trusted: published %lld s, past the add hold-down (%lld s)",
				     t->keys[k].tag, now - t->keys[k].first_seen, add_holddown);
			}
		}
	}
	int m = 0;
	for (int k = 0; k < t->nkeys; k++)
		if (!drop[k])
			t->keys[m++] = t->keys[k];
	t->nkeys = m;
done:
	for (int i = 0; seen && i < n; i++)
		dnssec_key_free(seen[i].key);
	free(seen);
	free(buf);
	return flags;
}

json_t *hints_ta_json(const struct hints_ta *t)
{
	json_t *keys = json_array();
	for (int i = 0; keys && i < t->nkeys; i++)
		json_array_append_new(keys,
		                      json_pack("{s:i,s:s,s:I,s:s}", "tag", t->keys[i].tag, "dnskey", t->keys[i].dnskey,
		                                "first_seen", (json_int_t)t->keys[i].first_seen, "state",
		                                t->keys[i].valid ? "valid" : "pending"));
	return json_pack("{s:o*}", "keys", keys);
}

int hints_ta_from_json(const json_t *j, const char *domain, struct hints_ta *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->signer = -1;
	const json_t *keys = json_is_object(j) ? json_object_get(j, "keys") : NULL;
	if (!json_is_array(keys)) {
		snprintf(err, errlen, "keys: expected an array");
		return TERN_EINVAL;
	}
	if (json_array_size(keys) > HINTS_TA_MAX) {
		snprintf(err, errlen, "keys: more than %d", HINTS_TA_MAX);
		return TERN_EINVAL;
	}
	size_t i;
	const json_t *k;
	json_array_foreach(keys, i, k)
	{
		const json_t *dnskey = json_object_get(k, "dnskey"), *first = json_object_get(k, "first_seen"),
		             *state = json_object_get(k, "state");
		uint8_t wire[DNSSEC_DNSKEY_MAX];
		size_t len;
		if (!json_is_string(dnskey) || strlen(json_string_value(dnskey)) >= CHECK_RR_TEXT ||
		    key_wire(domain, json_string_value(dnskey), wire, sizeof(wire), &len) < 0 || (wire[1] & 0x80)) {
			snprintf(err, errlen, "keys[%zu].dnskey: not DNSKEY RDATA of an unrevoked key", i);
			return TERN_EINVAL;
		}
		if (!json_is_integer(first) || json_integer_value(first) < 0) {
			snprintf(err, errlen, "keys[%zu].first_seen: expected seconds since the epoch", i);
			return TERN_EINVAL;
		}
		const char *st = json_is_string(state) ? json_string_value(state) : "";
		if (strcmp(st, "valid") != 0 && strcmp(st, "pending") != 0) {
			snprintf(err, errlen, "keys[%zu].state: expected \"valid\" or \"pending\"", i);
			return TERN_EINVAL;
		}
		struct hints_ta_key *key = &t->keys[t->nkeys++];
		key->tag = dnssec_keytag(wire, len);
		check_copy(key->dnskey, sizeof(key->dnskey), json_string_value(dnskey));
		key->first_seen = (long long)json_integer_value(first);
		key->valid = strcmp(st, "valid") == 0;
	}
	return 0;
}
