/* DNSSEC key backups (issue 16): the document POST .../dnssec/backup writes and .../restore reads.
 * Untrusted input when read: no server state is touched here (tests/fuzz/fuzz_backup.c drives it
 * alone). The private keys are sealed with lib/keyseal under the operator's passphrase; every
 * other member of the document, in its canonical form, is the seal's additional data. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/dnssec.h"
#include "lib/dnssec_policy.h"
#include "lib/error.h"
#include "lib/keyseal.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/wire.h"
#include "ternd/api/api_impl.h"

static const char *const use_names[] = {"publish", "sign", "cds", "revoke"}; /* ROLL_USE_* bits */

/* ---- base64, canonical only ---- */

static json_t *b64_json(const uint8_t *in, size_t len)
{
	char *text = malloc(4 * ((len + 2) / 3) + 1);
	if (!text)
		return NULL;
	EVP_EncodeBlock((unsigned char *)text, in, (int)len);
	json_t *s = json_string(text);
	free(text);
	return s;
}

/* Decodes standard padded base64 into a malloc'd *out: only the one text that encodes those octets
 * (no blanks, zero unused bits), so a changed character of the document always changes what it
 * says. *len octets; at most cap. */
static bool b64_take(json_t *v, size_t cap, uint8_t **out, size_t *len)
{
	*out = NULL;
	const char *text = json_string_value(v);
	size_t tlen = text ? json_string_length(v) : 0;
	if (!text || tlen == 0 || tlen % 4 || tlen / 4 * 3 > cap + 2)
		return false;
	uint8_t *buf = malloc(tlen / 4 * 3);
	char *again = buf ? malloc(tlen + 1) : NULL;
	struct b64_error e;
	bool ok = again && b64_decode(text, tlen, B64_PADDED, buf, tlen / 4 * 3, len, &e) == 0 && *len <= cap &&
	          (size_t)EVP_EncodeBlock((unsigned char *)again, buf, (int)*len) == tlen &&
	          memcmp(again, text, tlen) == 0;
	free(again);
	if (!ok) {
		free(buf);
		return false;
	}
	*out = buf;
	return true;
}

/* ---- the additional data ---- */

/* The document without "private-keys" as compact JSON with sorted keys and ASCII escapes: what
 * the seal authenticates. NULL when out of memory. */
static char *header_text(json_t *doc)
{
	json_t *h = json_copy(doc); /* shallow: the members are shared, the object is not */
	if (!h)
		return NULL;
	json_object_del(h, "private-keys");
	char *text = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(h);
	return text;
}

/* ---- writing ---- */

static json_t *key_meta_json(const struct store_key *k)
{
	char dnskey[512];
	if (rrtext_rdata_to_text(RR_DNSKEY, k->dnskey, k->dnskey_len, dnskey, sizeof(dnskey)) < 0)
		return NULL;
	json_t *use = json_array();
	for (unsigned b = 0; use && b < 4; b++)
		if (k->use & (1u << b))
			json_array_append_new(use, json_string(use_names[b]));
	return json_pack("{s:i,s:i,s:s,s:i,s:s,s:s,s:o,s:I,s:b,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "tag", (int)k->tag,
	                 "algorithm", (int)k->algorithm, "role", store_key_role_name(k->role), "flags", (int)k->flags,
	                 "state", store_key_state_name(k->state), "dnskey", dnskey, "use", use, "since",
	                 (json_int_t)k->since, "ds-seen", k->ds_seen, "timestamps", "created", (json_int_t)k->created,
	                 "published", (json_int_t)k->published, "ready", (json_int_t)k->ready, "active",
	                 (json_int_t)k->active, "retired", (json_int_t)k->retired, "removed", (json_int_t)k->removed,
	                 "revoked", (json_int_t)k->revoked);
}

json_t *api_backup_make(const uint8_t *apex, json_t *policy, const struct store_key *keys, size_t n, const char *pass,
                        size_t passlen, uint8_t log2n, int64_t now, char *err, size_t errlen)
{
	struct keyseal_params kp;
	json_t *doc = NULL, *arr = json_array();
	uint8_t *plain = NULL, *sealed = NULL;
	size_t plen = 0;
	char *aad = NULL;
	if (keyseal_pass_check(pass, passlen, err, errlen) < 0 || keyseal_params_new(&kp, log2n, err, errlen) < 0)
		goto out;
	if (n == 0 || n > API_BACKUP_KEYS_MAX) {
		snprintf(err, errlen, "%zu keys: a backup holds 1 to %d", n, API_BACKUP_KEYS_MAX);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!keys[i].pem || keys[i].pem_len == 0 || keys[i].pem_len > DNSSEC_PEM_MAX) {
			snprintf(err, errlen, "key %u: no private key in the store", keys[i].tag);
			goto out;
		}
		plen += 2 + keys[i].pem_len;
	}
	/* the plaintext: each key's PEM behind its 2-octet length, in the order of "keys" */
	if (!arr || !(plain = malloc(plen)) || !(sealed = malloc(plen + KEYSEAL_TAG_LEN))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *m = key_meta_json(&keys[i]);
		if (!m || json_array_append_new(arr, m) < 0) {
			snprintf(err, errlen, "key %u cannot be written", keys[i].tag);
			goto out;
		}
		wire_put16(plain + at, (uint16_t)keys[i].pem_len);
		memcpy(plain + at + 2, keys[i].pem, keys[i].pem_len);
		at += 2 + keys[i].pem_len;
	}
	doc = json_pack("{s:s,s:i,s:o,s:I,s:O,s:O,s:{s:s,s:i,s:i,s:i,s:o,s:s,s:o}}", "format", API_BACKUP_FORMAT,
	                "version", API_BACKUP_VERSION, "zone", api_name_json(apex), "created", (json_int_t)now,
	                "policy", policy, "keys", arr, "encryption", "kdf", "scrypt", "scrypt-log2-n", (int)kp.log2n,
	                "scrypt-r", KEYSEAL_R, "scrypt-p", KEYSEAL_P, "salt", b64_json(kp.salt, sizeof(kp.salt)),
	                "cipher", "aes-256-gcm", "nonce", b64_json(kp.nonce, sizeof(kp.nonce)));
	if (!doc || !(aad = header_text(doc))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (keyseal_seal(pass, passlen, &kp, (const uint8_t *)aad, strlen(aad), plain, plen, sealed, err, errlen) < 0)
		goto fail;
	json_t *pk = b64_json(sealed, plen + KEYSEAL_TAG_LEN);
	if (!pk || json_object_set_new(doc, "private-keys", pk) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	goto out;
fail:
	json_decref(doc);
	doc = NULL;
out:
	if (plain)
		OPENSSL_cleanse(plain, plen);
	free(plain);
	free(sealed);
	free(aad);
	json_decref(arr);
	return doc;
}

/* ---- reading ---- */

void api_backup_clear(struct api_backup *b)
{
	if (b->plain) {
		OPENSSL_cleanse(b->plain, b->plain_len);
		free(b->plain);
	}
	memset(b, 0, sizeof(*b));
}

static bool only_members(json_t *o, const char *const *names, size_t n, const char *where, struct http_response *res)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		size_t i = 0;
		while (i < n && strcmp(key, names[i]) != 0)
			i++;
		if (i == n) {
			http_error(res, 400, "backup", "%s: unknown member \"%.64s\"", where, key);
			return false;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!json_object_get(o, names[i])) {
			http_error(res, 400, "backup", "%s: \"%s\" is missing", where, names[i]);
			return false;
		}
	}
	return true;
}

static bool int_in(json_t *v, json_int_t lo, json_int_t hi, json_int_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool key_meta_read(const uint8_t *apex, json_t *o, size_t i, struct store_key *k, struct http_response *res)
{
	static const char *const members[] = {"tag",    "algorithm", "role",  "flags",   "state",
	                                      "dnskey", "use",       "since", "ds-seen", "timestamps"};
	static const char *const times[] = {"created", "published", "ready", "active", "retired", "removed", "revoked"};
	char where[32];
	snprintf(where, sizeof(where), "keys[%zu]", i);
	if (!json_is_object(o)) {
		http_error(res, 400, "backup", "%s: not an object", where);
		return false;
	}
	if (!only_members(o, members, sizeof(members) / sizeof(members[0]), where, res))
		return false;
	json_int_t tag, alg, flags;
	*k = (struct store_key){0};
	if (!int_in(json_object_get(o, "tag"), 0, 65535, &tag) ||
	    !int_in(json_object_get(o, "algorithm"), 0, 255, &alg) ||
	    !int_in(json_object_get(o, "flags"), 0, 65535, &flags)) {
		http_error(res, 400, "backup", "%s: tag, algorithm and flags must be numbers of their range", where);
		return false;
	}
	k->tag = (uint16_t)tag;
	k->algorithm = (uint8_t)alg;
	k->flags = (uint16_t)flags;
	const char *role = json_string_value(json_object_get(o, "role"));
	for (int r = STORE_KEY_KSK; role && r <= STORE_KEY_CSK; r++)
		if (strcmp(role, store_key_role_name((enum store_key_role)r)) == 0)
			k->role = (enum store_key_role)r;
	const char *state = json_string_value(json_object_get(o, "state"));
	for (int s = STORE_KEY_GENERATED; state && s <= STORE_KEY_STATE_LAST; s++)
		if (strcmp(state, store_key_state_name((enum store_key_state)s)) == 0)
			k->state = (enum store_key_state)s;
	if (!k->role || !k->state) {
		http_error(res, 400, "backup", "%s: role must be ksk, zsk or csk and state a key state", where);
		return false;
	}
	uint16_t want = k->role == STORE_KEY_ZSK ? DNSSEC_ZSK : DNSSEC_KSK;
	if ((k->flags & ~DNSSEC_FLAG_REVOKE) != want) {
		http_error(res, 400, "backup", "%s: flags %u are not those of a %s", where, k->flags, role);
		return false;
	}
	const char *dk = json_string_value(json_object_get(o, "dnskey"));
	size_t dklen = 0;
	char why[256];
	if (!dk || rrtext_rdata_from_text(apex, apex, RR_DNSKEY, dk, k->dnskey, sizeof(k->dnskey), &dklen, why,
	                                  sizeof(why)) < 0) {
		http_error(res, 400, "backup", "%s: dnskey is not a DNSKEY's RDATA%s%s", where, dk ? ": " : "",
		           dk ? why : "");
		return false;
	}
	k->dnskey_len = (uint16_t)dklen;
	if (dklen < 4 || wire_get16(k->dnskey) != k->flags || k->dnskey[3] != k->algorithm ||
	    dnssec_keytag(k->dnskey, dklen) != k->tag) {
		http_error(res, 400, "backup", "%s: dnskey does not have the key's flags, algorithm and tag", where);
		return false;
	}
	json_t *use = json_object_get(o, "use"), *u;
	size_t j;
	if (!json_is_array(use)) {
		http_error(res, 400, "backup", "%s: use must be a list", where);
		return false;
	}
	json_array_foreach(use, j, u)
	{
		unsigned b = 0;
		while (b < 4 && !(json_is_string(u) && strcmp(json_string_value(u), use_names[b]) == 0))
			b++;
		if (b == 4 || (k->use & (1u << b))) {
			http_error(res, 400, "backup", "%s: use[%zu] is not publish, sign, cds or revoke, once each",
			           where, j);
			return false;
		}
		k->use |= 1u << b;
	}
	json_int_t v;
	if (!int_in(json_object_get(o, "since"), 0, INT64_MAX, &v) || !json_is_boolean(json_object_get(o, "ds-seen"))) {
		http_error(res, 400, "backup", "%s: since must be a time, ds-seen true or false", where);
		return false;
	}
	k->since = v;
	k->ds_seen = json_is_true(json_object_get(o, "ds-seen"));
	json_t *ts = json_object_get(o, "timestamps");
	int64_t *at[] = {&k->created, &k->published, &k->ready, &k->active, &k->retired, &k->removed, &k->revoked};
	snprintf(where, sizeof(where), "keys[%zu].timestamps", i);
	if (!json_is_object(ts) || !only_members(ts, times, sizeof(times) / sizeof(times[0]), where, res))
		return false;
	for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
		if (!int_in(json_object_get(ts, times[t]), 0, INT64_MAX, &v)) {
			http_error(res, 400, "backup", "%s.%s must be a time (seconds since 1970)", where, times[t]);
			return false;
		}
		*at[t] = v;
	}
	return true;
}

/* "encryption": scrypt and AES-256-GCM with their parameters. */
static bool encryption_read(json_t *e, struct keyseal_params *kp, struct http_response *res)
{
	static const char *const members[] = {"kdf",  "scrypt-log2-n", "scrypt-r", "scrypt-p",
	                                      "salt", "cipher",        "nonce"};
	if (!json_is_object(e)) {
		http_error(res, 400, "backup", "encryption: not an object");
		return false;
	}
	if (!only_members(e, members, sizeof(members) / sizeof(members[0]), "encryption", res))
		return false;
	const char *kdf = json_string_value(json_object_get(e, "kdf"));
	const char *cipher = json_string_value(json_object_get(e, "cipher"));
	json_int_t n, r, p;
	if (!kdf || strcmp(kdf, "scrypt") != 0 || !cipher || strcmp(cipher, "aes-256-gcm") != 0) {
		http_error(res, 400, "backup", "encryption: this Tern reads kdf \"scrypt\" and cipher \"aes-256-gcm\"");
		return false;
	}
	if (!int_in(json_object_get(e, "scrypt-log2-n"), KEYSEAL_LOG2N_MIN, KEYSEAL_LOG2N_MAX, &n) ||
	    !int_in(json_object_get(e, "scrypt-r"), KEYSEAL_R, KEYSEAL_R, &r) ||
	    !int_in(json_object_get(e, "scrypt-p"), KEYSEAL_P, KEYSEAL_P, &p)) {
		http_error(res, 400, "backup",
		           "encryption: scrypt-log2-n must be %d to %d, scrypt-r %d and scrypt-p %d", KEYSEAL_LOG2N_MIN,
		           KEYSEAL_LOG2N_MAX, KEYSEAL_R, KEYSEAL_P);
		return false;
	}
	kp->log2n = (uint8_t)n;
	uint8_t *salt = NULL, *nonce = NULL;
	size_t sl = 0, nl = 0;
	bool ok = b64_take(json_object_get(e, "salt"), sizeof(kp->salt), &salt, &sl) && sl == sizeof(kp->salt) &&
	          b64_take(json_object_get(e, "nonce"), sizeof(kp->nonce), &nonce, &nl) && nl == sizeof(kp->nonce);
	if (ok) {
		memcpy(kp->salt, salt, sizeof(kp->salt));
		memcpy(kp->nonce, nonce, sizeof(kp->nonce));
	} else {
		http_error(res, 400, "backup", "encryption: salt must be %d and nonce %d octets in base64",
		           KEYSEAL_SALT_LEN, KEYSEAL_NONCE_LEN);
	}
	free(salt);
	free(nonce);
	return ok;
}

/* The private keys opened: each key's PEM behind its length, exactly one per key. */
static bool plain_read(struct api_backup *b, struct http_response *res)
{
	size_t at = 0;
	for (size_t i = 0; i < b->nkeys; i++) {
		size_t len = b->plain_len - at >= 2 ? wire_get16(b->plain + at) : 0;
		if (b->plain_len - at < 2 || len == 0 || len > DNSSEC_PEM_MAX || b->plain_len - at - 2 < len) {
			http_error(res, 400, "backup", "private-keys: key %zu of %zu is cut short", i + 1, b->nkeys);
			return false;
		}
		b->keys[i].pem = (const char *)b->plain + at + 2;
		b->keys[i].pem_len = len;
		at += 2 + len;
	}
	if (at != b->plain_len) {
		http_error(res, 400, "backup", "private-keys: %zu octets after the last key", b->plain_len - at);
		return false;
	}
	return true;
}

static bool backup_read(json_t *doc, const uint8_t *apex, const char *pass, size_t passlen, const struct config *conf,
                        struct api_backup *out, struct http_response *res)
{
	static const char *const members[] = {"format", "version", "zone",       "created",
	                                      "policy", "keys",    "encryption", "private-keys"};
	memset(out, 0, sizeof(*out));
	char err[256];
	if (keyseal_pass_check(pass, passlen, err, sizeof(err)) < 0) {
		http_error(res, 400, "passphrase", "%s", err);
		return false;
	}
	if (!json_is_object(doc)) {
		http_error(res, 400, "backup", "must be the JSON object POST .../dnssec/backup wrote");
		return false;
	}
	const char *format = json_string_value(json_object_get(doc, "format"));
	if (!format || strcmp(format, API_BACKUP_FORMAT) != 0) {
		http_error(res, 400, "backup", "format must be \"%s\"", API_BACKUP_FORMAT);
		return false;
	}
	json_t *version = json_object_get(doc, "version");
	if (!json_is_integer(version) || json_integer_value(version) != API_BACKUP_VERSION) {
		http_error(res, 400, "backup", "unknown version %s%lld: this Tern reads version %d",
		           json_is_integer(version) ? "" : "(not a number) ",
		           json_is_integer(version) ? (long long)json_integer_value(version) : 0LL, API_BACKUP_VERSION);
		return false;
	}
	if (!only_members(doc, members, sizeof(members) / sizeof(members[0]), "backup", res))
		return false;
	const char *zone = json_string_value(json_object_get(doc, "zone"));
	if (!zone || !api_parse_zone_name(zone, out->apex)) {
		http_error(res, 400, "backup", "zone is not a domain name");
		return false;
	}
	if (!name_equal(out->apex, apex)) {
		char want[NAME_MAXLEN * 4 + 1];
		name_to_text(apex, want, sizeof(want));
		http_error(res, 409, "backup",
		           "the backup is of zone %.300s, not %s: a zone's keys go back to that zone", zone, want);
		return false;
	}
	json_int_t created;
	if (!int_in(json_object_get(doc, "created"), 0, INT64_MAX, &created)) {
		http_error(res, 400, "backup", "created must be a time (seconds since 1970)");
		return false;
	}
	/* the policy by its values: the named policy it came from may not exist here */
	json_t *policy = json_object_get(doc, "policy");
	json_t *values = json_is_object(policy) ? json_copy(policy) : NULL;
	if (!values) {
		http_error(res, 400, "backup", "policy must be an object");
		return false;
	}
	json_object_del(values, "policy");
	bool ok = api_parse_dnssec_policy(values, conf, &out->policy, res);
	json_decref(values);
	if (!ok) {
		/* name the policy's field within the backup */
		json_t *e = res->body ? json_loads(res->body, 0, NULL) : NULL;
		json_t *eo = json_object_get(e, "error");
		const char *f = json_string_value(json_object_get(eo, "field"));
		const char *m = json_string_value(json_object_get(eo, "message"));
		http_error(res, 400, "backup", "policy.%.64s: %.400s", f ? f : "", m ? m : "invalid");
		json_decref(e);
		return false;
	}
	json_t *keys = json_object_get(doc, "keys"), *k;
	size_t i;
	if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > API_BACKUP_KEYS_MAX) {
		http_error(res, 400, "backup", "keys must be a list of 1 to %d keys", API_BACKUP_KEYS_MAX);
		return false;
	}
	json_array_foreach(keys, i, k)
	{
		struct store_key *sk = &out->keys[i];
		if (!key_meta_read(apex, k, i, sk, res))
			return false;
		if (sk->algorithm != out->policy.algorithm || (sk->role == STORE_KEY_CSK) != out->policy.csk) {
			http_error(res, 400, "backup",
			           "keys[%zu]: a %s of algorithm %u does not go with the policy (%s, %s)", i,
			           store_key_role_name(sk->role), sk->algorithm,
			           dnssec_policy_alg_text(out->policy.algorithm), out->policy.csk ? "csk" : "ksk-zsk");
			return false;
		}
		out->nkeys++;
	}
	struct keyseal_params kp;
	if (!encryption_read(json_object_get(doc, "encryption"), &kp, res))
		return false;
	uint8_t *sealed = NULL;
	size_t slen = 0;
	if (!b64_take(json_object_get(doc, "private-keys"),
	              API_BACKUP_KEYS_MAX * (2 + DNSSEC_PEM_MAX) + KEYSEAL_TAG_LEN, &sealed, &slen) ||
	    slen <= KEYSEAL_TAG_LEN) {
		free(sealed);
		http_error(res, 400, "backup", "private-keys must be the sealed keys in base64");
		return false;
	}
	char *aad = header_text(doc);
	out->plain_len = slen - KEYSEAL_TAG_LEN;
	out->plain = aad ? malloc(out->plain_len) : NULL;
	int rc = out->plain ? keyseal_open(pass, passlen, &kp, (const uint8_t *)aad, strlen(aad), sealed, slen,
	                                   out->plain, err, sizeof(err))
	                    : TERN_ENOMEM;
	free(aad);
	free(sealed);
	if (rc == TERN_EBOGUS) {
		http_error(res, 400, "passphrase", "%s", err);
	} else if (rc < 0) {
		http_error(res, rc == TERN_ENOMEM ? 503 : 400, "backup", "%s",
		           rc == TERN_ENOMEM ? "out of memory" : err);
	} else if (plain_read(out, res)) {
		return true;
	}
	return false;
}

bool api_backup_read(json_t *doc, const uint8_t *apex, const char *pass, size_t passlen, const struct config *conf,
                     struct api_backup *out, struct http_response *res)
{
	if (backup_read(doc, apex, pass, passlen, conf, out, res))
		return true;
	api_backup_clear(out); /* nothing of a refused backup is left, its keys wiped */
	return false;
}
