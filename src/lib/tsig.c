/* TSIG (RFC 8945): key parsing, the digest of a message (alone or chained in a transfer), signing in
 * place and verification with the RFC's order of checks and error answers. */
#include "lib/tsig.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "lib/base64.h"
#include "lib/error.h"
#include "lib/wire.h"

/* ---- algorithms ---- */

struct alg_info {
	enum tsig_alg alg;
	const char *text;
	const uint8_t *wire; /* the literal's closing NUL is the root label */
	const char *digest; /* OpenSSL's digest name */
	size_t mac_len;
};

static const struct alg_info algs[] = {
    {TSIG_HMAC_SHA1, "hmac-sha1", (const uint8_t *)"\011hmac-sha1", "SHA1", 20},
    {TSIG_HMAC_SHA224, "hmac-sha224", (const uint8_t *)"\013hmac-sha224", "SHA224", 28},
    {TSIG_HMAC_SHA256, "hmac-sha256", (const uint8_t *)"\013hmac-sha256", "SHA256", 32},
    {TSIG_HMAC_SHA384, "hmac-sha384", (const uint8_t *)"\013hmac-sha384", "SHA384", 48},
    {TSIG_HMAC_SHA512, "hmac-sha512", (const uint8_t *)"\013hmac-sha512", "SHA512", 64},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

static const struct alg_info *alg_info(enum tsig_alg alg)
{
	for (size_t i = 0; i < NALGS; i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

enum tsig_alg tsig_alg_from_text(const char *text)
{
	size_t n = strlen(text);
	if (n > 0 && text[n - 1] == '.')
		n--;
	for (size_t i = 0; i < NALGS; i++)
		if (strlen(algs[i].text) == n && strncasecmp(algs[i].text, text, n) == 0)
			return algs[i].alg;
	return TSIG_ALG_NONE;
}

const char *tsig_alg_to_text(enum tsig_alg alg)
{
	const struct alg_info *a = alg_info(alg);
	return a ? a->text : NULL;
}

const uint8_t *tsig_alg_wire(enum tsig_alg alg)
{
	const struct alg_info *a = alg_info(alg);
	return a ? a->wire : NULL;
}

enum tsig_alg tsig_alg_from_wire(const uint8_t *name)
{
	for (size_t i = 0; i < NALGS; i++)
		if (name_equal(name, algs[i].wire))
			return algs[i].alg;
	return TSIG_ALG_NONE;
}

size_t tsig_alg_mac_len(enum tsig_alg alg)
{
	const struct alg_info *a = alg_info(alg);
	return a ? a->mac_len : 0;
}

/* RFC 8945 5.2.2.1: the shortest MAC accepted, max(10, half the hash). */
static size_t min_mac_len(const struct alg_info *a)
{
	return a->mac_len / 2 > 10 ? a->mac_len / 2 : 10;
}

/* ---- keys ---- */

/* The secret: strict base64 (RFC 4648, padding required; blanks ignored, as in BIND key files). */
static int secret_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen, char *err, size_t errlen)
{
	struct b64_error e;
	int rc = b64_decode(in, strlen(in), B64_PADDED, out, cap, outlen, &e);
	if (rc == 0)
		return 0;
	if (e.fault == B64_BADCHAR)
		snprintf(err, errlen, "secret is not base64: '%c' at offset %zu", e.c, e.offset);
	else if (e.fault == B64_AFTERPAD)
		snprintf(err, errlen, "secret is not base64: data after '=' padding at offset %zu", e.offset);
	else if (e.fault == B64_TOOLONG)
		snprintf(err, errlen, "secret is longer than %zu octets", cap);
	else if (e.fault == B64_NOMEM)
		snprintf(err, errlen, "out of memory decoding the secret");
	else
		snprintf(err, errlen, "secret is not base64: its length is not a multiple of 4 with '=' padding");
	return rc;
}

int tsig_key_init(struct tsig_key *key, const char *name, const char *alg, const char *secret_b64, char *err,
                  size_t errlen)
{
	memset(key, 0, sizeof(*key));
	if (!name || name_from_text(key->name, name, NULL) < 0) {
		snprintf(err, errlen, "key name '%s' is not a domain name", name ? name : "");
		return TERN_EINVAL;
	}
	name_lower(key->name);
	key->alg = alg ? tsig_alg_from_text(alg) : TSIG_ALG_NONE;
	if (key->alg == TSIG_ALG_NONE) {
		snprintf(err, errlen,
		         "key '%s': unknown TSIG algorithm '%s' (hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224 "
		         "or hmac-sha1)",
		         name, alg ? alg : "");
		return TERN_EINVAL;
	}
	char sub[128];
	if (!secret_b64 ||
	    secret_decode(secret_b64, key->secret, sizeof(key->secret), &key->secret_len, sub, sizeof(sub)) < 0) {
		snprintf(err, errlen, "key '%s': %s", name, secret_b64 ? sub : "no secret");
		goto fail;
	}
	if (key->secret_len == 0) {
		snprintf(err, errlen, "key '%s': secret is empty", name);
		goto fail;
	}
	return 0;
fail:
	OPENSSL_cleanse(key->secret, sizeof(key->secret));
	key->secret_len = 0;
	return TERN_EINVAL;
}

int tsig_key_from_text(struct tsig_key *key, const char *spec, char *err, size_t errlen)
{
	char buf[1100];
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "key '%.40s...' is too long", spec);
		return TERN_EINVAL;
	}
	strcpy(buf, spec);
	char *secret = strrchr(buf, ':');
	if (!secret) {
		snprintf(err, errlen, "key '%s' is not [algorithm:]name:secret", spec);
		return TERN_EINVAL;
	}
	*secret++ = 0;
	char *name = buf, *alg = "hmac-sha256";
	char *colon = strchr(buf, ':');
	if (colon) {
		*colon = 0;
		alg = buf;
		name = colon + 1;
	}
	int r = tsig_key_init(key, name, alg, secret, err, errlen);
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

const struct tsig_key *tsig_keyring_find(const struct tsig_keyring *ring, const uint8_t *name)
{
	for (size_t i = 0; ring && i < ring->count; i++)
		if (name_equal(ring->keys[i].name, name))
			return &ring->keys[i];
	return NULL;
}

size_t tsig_space(const struct tsig_key *key)
{
	const struct alg_info *a = alg_info(key->alg);
	size_t alg_len = a ? name_len(a->wire) : NAME_MAXLEN;
	/* owner, type class ttl rdlength, algorithm, time fudge macsize, mac, id error otherlen, other */
	return name_len(key->name) + 10 + alg_len + 10 + TSIG_MAX_MAC + 6 + 6;
}

/* ---- the TSIG RR of a message ---- */

struct tsig_rr {
	size_t pos; /* where the RR starts */
	uint8_t owner[NAME_MAXLEN];
	uint8_t alg[NAME_MAXLEN];
	uint64_t time;
	uint16_t fudge, mac_len, orig_id, error, other_len;
	const uint8_t *mac, *other;
};

/* Finds the TSIG RR, which must be the last RR of the additional section and the only TSIG there.
 * 0, TERN_ENOTFOUND or TERN_EMALF. */
static int find_tsig(const uint8_t *msg, size_t len, struct tsig_rr *t)
{
	if (len < WIRE_HEADER_LEN)
		return TERN_EMALF;
	uint8_t name[NAME_MAXLEN];
	size_t pos = WIRE_HEADER_LEN;
	unsigned qd = wire_get16(msg + 4), an = wire_get16(msg + 6), ns = wire_get16(msg + 8);
	unsigned ar = wire_get16(msg + 10);
	for (unsigned i = 0; i < qd; i++) {
		if (wire_read_name(msg, len, &pos, name) < 0 || pos + 4 > len)
			return TERN_EMALF;
		pos += 4;
	}
	for (unsigned i = 0; i < an + ns; i++)
		if (wire_skip_rr(msg, len, &pos, NULL, NULL, NULL) < 0)
			return TERN_EMALF;
	size_t start = 0, rdpos = 0;
	uint16_t type = 0, rdlen = 0;
	for (unsigned i = 0; i < ar; i++) {
		start = pos;
		if (wire_skip_rr(msg, len, &pos, &type, &rdpos, &rdlen) < 0)
			return TERN_EMALF;
		if (type == TSIG_TYPE && i + 1 < ar)
			return TERN_EMALF; /* a TSIG that is not last */
	}
	if (ar == 0 || type != TSIG_TYPE)
		return TERN_ENOTFOUND;
	if (pos != len)
		return TERN_EMALF; /* bytes after the TSIG: they would be unsigned */

	t->pos = start;
	size_t p = start;
	if (wire_read_name(msg, len, &p, t->owner) < 0)
		return TERN_EMALF;
	if (wire_get16(msg + p + 2) != TSIG_CLASS_ANY || wire_get32(msg + p + 4) != 0)
		return TERN_EMALF;
	size_t end = rdpos + rdlen;
	p = rdpos;
	if (wire_read_name(msg, end, &p, t->alg) < 0 || p + 10 > end)
		return TERN_EMALF;
	t->time = (uint64_t)wire_get16(msg + p) << 32 | wire_get32(msg + p + 2);
	t->fudge = wire_get16(msg + p + 6);
	t->mac_len = wire_get16(msg + p + 8);
	p += 10;
	if (p + t->mac_len + 6 > end)
		return TERN_EMALF;
	t->mac = msg + p;
	p += t->mac_len;
	t->orig_id = wire_get16(msg + p);
	t->error = wire_get16(msg + p + 2);
	t->other_len = wire_get16(msg + p + 4);
	p += 6;
	if (p + t->other_len != end)
		return TERN_EMALF;
	t->other = msg + p;
	name_lower(t->owner);
	name_lower(t->alg);
	return 0;
}

/* Appends a TSIG RR at msg + *len. */
static int put_tsig(uint8_t *msg, size_t *len, size_t cap, const uint8_t *owner, const uint8_t *alg, uint64_t time,
                    uint16_t fudge, const uint8_t *mac, uint16_t mac_len, uint16_t error, const uint8_t *other,
                    uint16_t other_len)
{
	size_t olen = name_len(owner), alen = name_len(alg);
	size_t rdlen = alen + 10 + mac_len + 6 + other_len;
	if (*len < WIRE_HEADER_LEN || *len + olen + 10 + rdlen > cap)
		return TERN_ESPACE;
	uint16_t ar = wire_get16(msg + 10);
	if (ar == 0xffff)
		return TERN_EINVAL;
	uint8_t *p = msg + *len;
	memcpy(p, owner, olen);
	p += olen;
	wire_put16(p, TSIG_TYPE);
	wire_put16(p + 2, TSIG_CLASS_ANY);
	wire_put32(p + 4, 0);
	wire_put16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, alg, alen);
	p += alen;
	wire_put16(p, (uint16_t)(time >> 32));
	wire_put32(p + 2, (uint32_t)time);
	wire_put16(p + 6, fudge);
	wire_put16(p + 8, mac_len);
	p += 10;
	if (mac_len)
		memcpy(p, mac, mac_len);
	p += mac_len;
	wire_put16(p, wire_get16(msg)); /* original ID: the message's own */
	wire_put16(p + 2, error);
	wire_put16(p + 4, other_len);
	p += 6;
	if (other_len)
		memcpy(p, other, other_len);
	p += other_len;
	*len = (size_t)(p - msg);
	wire_put16(msg + 10, (uint16_t)(ar + 1));
	return 0;
}

/* ---- the digest ---- */

/* The TSIG variables of RFC 8945 4.3.3 (all of them for a chain's first message, only the timers
 * for the next ones). */
struct tsig_vars {
	const uint8_t *owner, *alg; /* lower case */
	uint64_t time;
	uint16_t fudge, error, other_len;
	const uint8_t *other;
};

static void put48(uint8_t *p, uint64_t v)
{
	wire_put16(p, (uint16_t)(v >> 32));
	wire_put32(p + 2, (uint32_t)v);
}

static EVP_MAC_CTX *hmac_new(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return NULL;
	EVP_MAC_CTX *h = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context keeps its own reference */
	return h;
}

static int hmac_update(EVP_MAC_CTX *h, const void *data, size_t len)
{
	return len == 0 || EVP_MAC_update(h, data, len) == 1 ? 0 : TERN_EINVAL;
}

/* Starts the digest of the chain's next message: the key, then the prior MAC (size and octets),
 * which for the first message is the request's MAC, if any. */
static int chain_start(struct tsig_ctx *ctx, EVP_MAC_CTX *h)
{
	const struct alg_info *a = alg_info(ctx->key->alg);
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)a->digest, 0),
	                       OSSL_PARAM_construct_end()};
	if (EVP_MAC_init(h, ctx->key->secret, ctx->key->secret_len, params) != 1)
		return TERN_EINVAL;
	if (ctx->messages == 0 && ctx->prior_len == 0)
		return 0;
	uint8_t size[2];
	wire_put16(size, ctx->prior_len);
	if (hmac_update(h, size, 2) < 0 || hmac_update(h, ctx->prior_mac, ctx->prior_len) < 0)
		return TERN_EINVAL;
	return 0;
}

/* The digest of the chain's next message: the one running over unsigned messages since the last
 * signed one, or a new one. */
static EVP_MAC_CTX *chain_digest(struct tsig_ctx *ctx)
{
	if (ctx->unsigned_run > 0)
		return ctx->hmac;
	EVP_MAC_CTX *h = hmac_new();
	if (h && chain_start(ctx, h) < 0) {
		EVP_MAC_CTX_free(h);
		return NULL;
	}
	return h;
}

static int digest_vars(EVP_MAC_CTX *h, const uint8_t *msg, size_t len, uint16_t id, uint16_t arcount, bool full,
                       const struct tsig_vars *v)
{
	uint8_t hdr[WIRE_HEADER_LEN];
	memcpy(hdr, msg, WIRE_HEADER_LEN);
	wire_put16(hdr, id);
	wire_put16(hdr + 10, arcount);
	if (hmac_update(h, hdr, WIRE_HEADER_LEN) < 0 ||
	    hmac_update(h, msg + WIRE_HEADER_LEN, len - WIRE_HEADER_LEN) < 0)
		return TERN_EINVAL;
	uint8_t buf[16];
	if (full) {
		wire_put16(buf, TSIG_CLASS_ANY);
		wire_put32(buf + 2, 0); /* TTL */
		if (hmac_update(h, v->owner, name_len(v->owner)) < 0 || hmac_update(h, buf, 6) < 0 ||
		    hmac_update(h, v->alg, name_len(v->alg)) < 0)
			return TERN_EINVAL;
		put48(buf, v->time);
		wire_put16(buf + 6, v->fudge);
		wire_put16(buf + 8, v->error);
		wire_put16(buf + 10, v->other_len);
		if (hmac_update(h, buf, 12) < 0 || hmac_update(h, v->other, v->other_len) < 0)
			return TERN_EINVAL;
		return 0;
	}
	put48(buf, v->time);
	wire_put16(buf + 6, v->fudge);
	return hmac_update(h, buf, 8);
}

/* The MAC of the chain's next message msg[0, len) (the TSIG left out), with id and arcount as its
 * header should read before the TSIG went in. Ends any unsigned run: the chain's state is then
 * only the prior MAC, which the caller updates when the message is accepted. */
static int chain_mac(struct tsig_ctx *ctx, const uint8_t *msg, size_t len, uint16_t id, uint16_t arcount,
                     const struct tsig_vars *v, uint8_t out[TSIG_MAX_MAC])
{
	EVP_MAC_CTX *h = chain_digest(ctx);
	if (!h) {
		tsig_ctx_clear(ctx);
		return TERN_ENOMEM;
	}
	int r = digest_vars(h, msg, len, id, arcount, ctx->messages == 0, v);
	size_t outl = 0;
	if (r == 0 && (EVP_MAC_final(h, out, &outl, TSIG_MAX_MAC) != 1 || outl != tsig_alg_mac_len(ctx->key->alg)))
		r = TERN_EINVAL;
	if (h != ctx->hmac)
		EVP_MAC_CTX_free(h);
	tsig_ctx_clear(ctx);
	return r;
}

/* Feeds an unsigned message of a chain into the running digest. */
static int chain_skip(struct tsig_ctx *ctx, const uint8_t *msg, size_t len)
{
	if (ctx->unsigned_run == 0) {
		ctx->hmac = chain_digest(ctx);
		if (!ctx->hmac)
			return TERN_ENOMEM;
	}
	if (hmac_update(ctx->hmac, msg, len) < 0) {
		tsig_ctx_clear(ctx);
		return TERN_EINVAL;
	}
	ctx->unsigned_run++;
	return 0;
}

/* A message of the chain verified or signed: its MAC is the next one's prior. */
static void chain_advance(struct tsig_ctx *ctx, const uint8_t *mac, uint16_t mac_len)
{
	memcpy(ctx->prior_mac, mac, mac_len);
	ctx->prior_len = mac_len;
	ctx->messages++;
	ctx->unsigned_run = 0;
}

/* ---- contexts and signing ---- */

void tsig_ctx_init(struct tsig_ctx *ctx, const struct tsig_key *key, const uint8_t *prior_mac, size_t prior_len)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->key = key;
	if (prior_mac && prior_len <= TSIG_MAX_MAC) {
		memcpy(ctx->prior_mac, prior_mac, prior_len);
		ctx->prior_len = (uint16_t)prior_len;
	}
}

void tsig_ctx_clear(struct tsig_ctx *ctx)
{
	EVP_MAC_CTX_free(ctx->hmac);
	ctx->hmac = NULL;
	ctx->unsigned_run = 0;
}

static bool key_usable(const struct tsig_key *key)
{
	return key && alg_info(key->alg) && key->secret_len > 0;
}

int tsig_sign(uint8_t *msg, size_t *len, size_t cap, struct tsig_ctx *ctx, uint64_t now)
{
	if (ctx->failed || !key_usable(ctx->key) || *len < WIRE_HEADER_LEN || wire_get16(msg + 10) == 0xffff)
		return TERN_EINVAL;
	const struct tsig_key *key = ctx->key;
	const uint8_t *alg = tsig_alg_wire(key->alg);
	uint16_t mac_len = (uint16_t)tsig_alg_mac_len(key->alg);
	if (*len + name_len(key->name) + 10 + name_len(alg) + 16 + mac_len > cap)
		return TERN_ESPACE; /* before the digest, which would consume a running chain */
	now &= 0xffffffffffffULL;
	struct tsig_vars v = {key->name, alg, now, TSIG_FUDGE, TSIG_NOERROR, 0, NULL};
	uint8_t mac[TSIG_MAX_MAC];
	int r = chain_mac(ctx, msg, *len, wire_get16(msg), wire_get16(msg + 10), &v, mac);
	if (r == 0)
		r = put_tsig(msg, len, cap, key->name, alg, now, TSIG_FUDGE, mac, mac_len, TSIG_NOERROR, NULL, 0);
	if (r < 0) {
		ctx->failed = true;
		return r;
	}
	chain_advance(ctx, mac, mac_len);
	return 0;
}

int tsig_sign_skip(struct tsig_ctx *ctx, const uint8_t *msg, size_t len)
{
	if (ctx->failed || !key_usable(ctx->key) || ctx->messages == 0 || ctx->unsigned_run >= TSIG_MAX_UNSIGNED)
		return TERN_EINVAL;
	int r = chain_skip(ctx, msg, len);
	if (r < 0)
		ctx->failed = true;
	return r;
}

int tsig_sign_error(uint8_t *msg, size_t *len, size_t cap, const struct tsig_result *req, uint64_t now)
{
	if (*len < WIRE_HEADER_LEN)
		return TERN_EINVAL;
	now &= 0xffffffffffffULL;
	uint16_t flags = wire_get16(msg + 2);
	uint16_t old_flags = flags;
	wire_put16(msg + 2, (uint16_t)((flags & ~0xfu) | TSIG_RCODE_NOTAUTH));
	int r = TERN_EINVAL;
	switch (req->error) {
	case TSIG_BADKEY:
	case TSIG_BADSIG: /* unsigned: the client could not check a MAC from a key it does not share */
		r = put_tsig(msg, len, cap, req->key_name, req->alg_name, now, TSIG_FUDGE, NULL, 0, req->error, NULL,
		             0);
		break;
	case TSIG_BADTIME:
	case TSIG_BADTRUNC: {
		if (!key_usable(req->key))
			break;
		struct tsig_ctx ctx;
		tsig_ctx_init(&ctx, req->key, req->mac, req->mac_len);
		const uint8_t *alg = tsig_alg_wire(req->key->alg);
		uint16_t mac_len = (uint16_t)tsig_alg_mac_len(req->key->alg);
		uint8_t other[6];
		put48(other, now);
		/* BADTIME (RFC 8945 5.2.3): the client's time and fudge, ours in other data, so the client
		 * can check the answer whatever its clock says. */
		bool badtime = req->error == TSIG_BADTIME;
		struct tsig_vars v = {req->key->name,
		                      alg,
		                      badtime ? req->time_signed : now,
		                      badtime ? req->fudge : (uint16_t)TSIG_FUDGE,
		                      req->error,
		                      badtime ? 6 : 0,
		                      other};
		uint8_t mac[TSIG_MAX_MAC];
		r = chain_mac(&ctx, msg, *len, wire_get16(msg), wire_get16(msg + 10), &v, mac);
		tsig_ctx_clear(&ctx);
		if (r == 0)
			r = put_tsig(msg, len, cap, v.owner, alg, v.time, v.fudge, mac, mac_len, v.error, other,
			             v.other_len);
		break;
	}
	}
	if (r < 0)
		wire_put16(msg + 2, old_flags);
	return r;
}

/* ---- verification ---- */

static void result_fill(struct tsig_result *res, const struct tsig_rr *t)
{
	memcpy(res->key_name, t->owner, name_len(t->owner));
	memcpy(res->alg_name, t->alg, name_len(t->alg));
	res->time_signed = t->time;
	res->fudge = t->fudge;
	res->orig_id = t->orig_id;
	res->tsig_pos = t->pos;
	if (t->mac_len <= TSIG_MAX_MAC) {
		memcpy(res->mac, t->mac, t->mac_len);
		res->mac_len = t->mac_len;
	}
}

static int fail(struct tsig_result *res, uint16_t error)
{
	res->error = error;
	res->rcode = TSIG_RCODE_NOTAUTH;
	return TERN_EINVAL;
}

/* Checks the MAC of a message whose key is known (RFC 8945 5.2.2 to 5.2.4). */
static int check_mac(struct tsig_ctx *ctx, const uint8_t *msg, const struct tsig_rr *t, struct tsig_result *res)
{
	const struct alg_info *a = alg_info(ctx->key->alg);
	if (t->mac_len > a->mac_len || t->mac_len < min_mac_len(a)) {
		res->rcode = RCODE_FORMERR;
		return TERN_EMALF;
	}
	struct tsig_vars v = {t->owner, t->alg, t->time, t->fudge, t->error, t->other_len, t->other};
	uint8_t mac[TSIG_MAX_MAC];
	uint16_t ar = wire_get16(msg + 10);
	int r = chain_mac(ctx, msg, t->pos, t->orig_id, (uint16_t)(ar - 1), &v, mac);
	if (r < 0)
		return r;
	if (CRYPTO_memcmp(mac, t->mac, t->mac_len) != 0)
		return fail(res, TSIG_BADSIG);
	res->is_signed = true;
	return 0;
}

static int check_time_trunc(const struct tsig_key *key, const struct tsig_rr *t, uint64_t now, struct tsig_result *res)
{
	now &= 0xffffffffffffULL;
	uint64_t skew = now > t->time ? now - t->time : t->time - now;
	if (skew > t->fudge)
		return fail(res, TSIG_BADTIME);
	if (t->mac_len < key->min_mac_len && t->mac_len < tsig_alg_mac_len(key->alg))
		return fail(res, TSIG_BADTRUNC);
	return 0;
}

int tsig_verify(const uint8_t *msg, size_t len, const struct tsig_keyring *ring, uint64_t now, struct tsig_result *res)
{
	memset(res, 0, sizeof(*res));
	struct tsig_rr t;
	int r = find_tsig(msg, len, &t);
	if (r == TERN_EMALF)
		res->rcode = RCODE_FORMERR;
	if (r < 0)
		return r;
	result_fill(res, &t);
	const struct tsig_key *key = tsig_keyring_find(ring, t.owner);
	if (!key_usable(key) || tsig_alg_from_wire(t.alg) != key->alg)
		return fail(res, TSIG_BADKEY);
	res->key = key;
	struct tsig_ctx ctx;
	tsig_ctx_init(&ctx, key, NULL, 0);
	r = check_mac(&ctx, msg, &t, res);
	tsig_ctx_clear(&ctx);
	if (r < 0)
		return r;
	return check_time_trunc(key, &t, now, res);
}

/* One message of a chain; tsig_verify_next() marks the chain broken when this fails. */
static int verify_next(struct tsig_ctx *ctx, const uint8_t *msg, size_t len, uint64_t now, struct tsig_result *res)
{
	struct tsig_rr t;
	int r = find_tsig(msg, len, &t);
	if (r == TERN_ENOTFOUND) {
		if (ctx->messages == 0 || ctx->strict || ctx->unsigned_run >= TSIG_MAX_UNSIGNED)
			return TERN_ENOTFOUND;
		res->key = ctx->key;
		return chain_skip(ctx, msg, len);
	}
	if (r < 0) {
		res->rcode = RCODE_FORMERR;
		return r;
	}
	result_fill(res, &t);
	if (!name_equal(t.owner, ctx->key->name) || tsig_alg_from_wire(t.alg) != ctx->key->alg)
		return fail(res, TSIG_BADKEY);
	res->key = ctx->key;
	if (t.error != TSIG_NOERROR) {
		/* The peer refused ours. BADKEY and BADSIG come unsigned; BADTIME and BADTRUNC signed,
		 * and only a verified BADTIME's clock is worth reading. */
		if (t.mac_len > 0 && check_mac(ctx, msg, &t, res) == 0 && t.error == TSIG_BADTIME && t.other_len == 6)
			res->other_time = (uint64_t)wire_get16(t.other) << 32 | wire_get32(t.other + 2);
		res->peer_error = true;
		return fail(res, t.error);
	}
	r = check_mac(ctx, msg, &t, res);
	if (r == 0)
		r = check_time_trunc(ctx->key, &t, now, res);
	if (r == 0)
		chain_advance(ctx, t.mac, t.mac_len);
	return r;
}

int tsig_verify_next(struct tsig_ctx *ctx, const uint8_t *msg, size_t len, uint64_t now, struct tsig_result *res)
{
	memset(res, 0, sizeof(*res));
	if (ctx->failed || !key_usable(ctx->key))
		return TERN_EINVAL;
	int r = verify_next(ctx, msg, len, now, res);
	if (r < 0) {
		ctx->failed = true;
		tsig_ctx_clear(ctx);
	}
	return r;
}

int tsig_verify_end(const struct tsig_ctx *ctx)
{
	return !ctx->failed && ctx->messages > 0 && ctx->unsigned_run == 0 ? 0 : TERN_ENOTFOUND;
}
