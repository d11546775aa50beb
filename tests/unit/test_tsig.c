/* Unit tests for lib/tsig: key parsing, and signing and verifying (one message, errors, AXFR chains)
 * checked byte for byte against dnspython's vectors in data/tsig/vectors.txt (gen_vectors.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/tsig.h"
#include "lib/wire.h"

#define VECTORS "data/tsig/vectors.txt"
#define T0 1700000000ULL /* when gen_vectors.py signed its queries */

/* ---- the vectors ---- */

struct vec {
	char label[32];
	uint64_t time;
	uint8_t wire[1024];
	size_t len;
};

static struct tsig_key vkeys[8];
static char vkey_labels[8][32];
static size_t nvkeys;
static struct vec vmsgs[48];
static size_t nvmsgs;

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static struct vec *vec_add(const char *label)
{
	for (size_t i = 0; i < nvmsgs; i++)
		if (strcmp(vmsgs[i].label, label) == 0)
			return &vmsgs[i];
	if (nvmsgs == sizeof(vmsgs) / sizeof(vmsgs[0]))
		return NULL;
	struct vec *v = &vmsgs[nvmsgs++];
	snprintf(v->label, sizeof(v->label), "%s", label);
	return v;
}

static int load_vectors(void **state)
{
	(void)state;
	FILE *f = fopen(VECTORS, "r");
	if (!f) {
		fprintf(stderr, "cannot open %s (run from tests/unit)\n", VECTORS);
		return -1;
	}
	static char line[4096];
	while (fgets(line, sizeof(line), f)) {
		char kind[8], label[32], a[300], b[300], c[300];
		if (line[0] == '#' || sscanf(line, "%7s %31s", kind, label) != 2)
			continue;
		if (strcmp(kind, "key") == 0) {
			char err[256];
			if (sscanf(line, "%*s %*s %299s %299s %299s", a, b, c) != 3 || nvkeys == 8 ||
			    tsig_key_init(&vkeys[nvkeys], a, b, c, err, sizeof(err)) < 0) {
				fprintf(stderr, "bad key line: %s", line);
				fclose(f);
				return -1;
			}
			snprintf(vkey_labels[nvkeys++], sizeof(vkey_labels[0]), "%s", label);
		} else if (strcmp(kind, "time") == 0) {
			struct vec *v = vec_add(label);
			unsigned long long t;
			if (!v || sscanf(line, "%*s %*s %llu", &t) != 1)
				goto bad;
			v->time = t;
		} else if (strcmp(kind, "msg") == 0) {
			struct vec *v = vec_add(label);
			const char *h = strchr(strchr(line, ' ') + 1, ' ') + 1;
			if (!v)
				goto bad;
			v->len = 0;
			while (hexval(h[0]) >= 0 && hexval(h[1]) >= 0 && v->len < sizeof(v->wire)) {
				v->wire[v->len++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
				h += 2;
			}
		}
	}
	fclose(f);
	return nvmsgs > 0 && nvkeys > 0 ? 0 : -1;
bad:
	fprintf(stderr, "bad line: %s", line);
	fclose(f);
	return -1;
}

static const struct vec *vec(const char *label)
{
	for (size_t i = 0; i < nvmsgs; i++)
		if (strcmp(vmsgs[i].label, label) == 0)
			return &vmsgs[i];
	fail_msg("no vector %s", label);
	return NULL;
}

static const struct tsig_key *vkey(const char *label)
{
	for (size_t i = 0; i < nvkeys; i++)
		if (strcmp(vkey_labels[i], label) == 0)
			return &vkeys[i];
	fail_msg("no key %s", label);
	return NULL;
}

static struct tsig_keyring all_keys(void)
{
	return (struct tsig_keyring){vkeys, nvkeys};
}

/* ---- messages, taken apart with lib/wire only ---- */

struct buf {
	uint8_t b[2048];
	size_t len;
};

static void buf_set(struct buf *b, const uint8_t *data, size_t len)
{
	assert_true(len <= sizeof(b->b));
	memcpy(b->b, data, len);
	b->len = len;
}

/* Offset of the last RR of the additional section. */
static size_t last_rr(const uint8_t *m, size_t len)
{
	uint8_t name[NAME_MAXLEN];
	size_t pos = WIRE_HEADER_LEN, start = 0;
	for (unsigned i = 0; i < wire_get16(m + 4); i++) {
		assert_true(wire_read_name(m, len, &pos, name) > 0);
		pos += 4;
	}
	unsigned rrs = wire_get16(m + 6) + wire_get16(m + 8) + wire_get16(m + 10);
	assert_true(rrs > 0);
	for (unsigned i = 0; i < rrs; i++) {
		start = pos;
		assert_int_equal(wire_skip_rr(m, len, &pos, NULL, NULL, NULL), 0);
	}
	assert_int_equal(pos, len);
	return start;
}

/* The message as it was before it was signed: TSIG removed, ARCOUNT decremented. */
static void strip(const struct vec *v, struct buf *out)
{
	size_t pos = last_rr(v->wire, v->len);
	buf_set(out, v->wire, pos);
	wire_put16(out->b + 10, (uint16_t)(wire_get16(out->b + 10) - 1));
}

/* Offset of the MAC Size field of the message's TSIG. */
static size_t mac_size_off(const uint8_t *m, size_t len)
{
	uint8_t name[NAME_MAXLEN];
	size_t p = last_rr(m, len);
	assert_true(wire_read_name(m, len, &p, name) > 0);
	p += 10;
	assert_true(wire_read_name(m, len, &p, name) > 0);
	return p + 8;
}

/* Rewrites the TSIG's MAC to its first n octets (zeros past the old end), fixing RDLENGTH. */
static void set_mac_len(struct buf *b, size_t n)
{
	size_t off = mac_size_off(b->b, b->len);
	size_t old = wire_get16(b->b + off);
	size_t rdlen_off = last_rr(b->b, b->len);
	uint8_t name[NAME_MAXLEN];
	assert_true(wire_read_name(b->b, b->len, &rdlen_off, name) > 0);
	rdlen_off += 8;
	struct buf nb;
	memcpy(nb.b, b->b, off);
	wire_put16(nb.b + off, (uint16_t)n);
	memset(nb.b + off + 2, 0, n);
	memcpy(nb.b + off + 2, b->b + off + 2, n < old ? n : old);
	size_t rest = b->len - (off + 2 + old);
	memcpy(nb.b + off + 2 + n, b->b + off + 2 + old, rest);
	nb.len = off + 2 + n + rest;
	wire_put16(nb.b + rdlen_off, (uint16_t)(wire_get16(nb.b + rdlen_off) + n - old));
	*b = nb;
}

/* The answer dnspython's make_response() starts from: the query with QR set, RD copied. */
static void response_to(const struct vec *query, struct buf *out)
{
	strip(query, out);
	uint16_t flags = wire_get16(out->b + 2);
	wire_put16(out->b + 2, (uint16_t)(WIRE_QR | (flags & WIRE_RD) | (flags & 0x7800)));
}

static void to_name(uint8_t out[NAME_MAXLEN], const char *text)
{
	assert_true(name_from_text(out, text, NULL) > 0);
}

/* ---- keys ---- */

static void test_alg_table(void **state)
{
	(void)state;
	assert_int_equal(tsig_alg_from_text("hmac-sha256"), TSIG_HMAC_SHA256);
	assert_int_equal(tsig_alg_from_text("HMAC-SHA512."), TSIG_HMAC_SHA512);
	assert_int_equal(tsig_alg_from_text("hmac-sha1"), TSIG_HMAC_SHA1);
	assert_int_equal(tsig_alg_from_text("hmac-md5"), TSIG_ALG_NONE);
	assert_int_equal(tsig_alg_from_text("hmac-sha256x"), TSIG_ALG_NONE);
	assert_int_equal(tsig_alg_from_text(""), TSIG_ALG_NONE);
	assert_string_equal(tsig_alg_to_text(TSIG_HMAC_SHA384), "hmac-sha384");
	assert_null(tsig_alg_to_text(TSIG_ALG_NONE));
	assert_int_equal(tsig_alg_mac_len(TSIG_HMAC_SHA1), 20);
	assert_int_equal(tsig_alg_mac_len(TSIG_HMAC_SHA224), 28);
	assert_int_equal(tsig_alg_mac_len(TSIG_HMAC_SHA256), 32);
	assert_int_equal(tsig_alg_mac_len(TSIG_HMAC_SHA512), 64);
	uint8_t n[NAME_MAXLEN];
	to_name(n, "HMAC-SHA256.");
	assert_int_equal(tsig_alg_from_wire(n), TSIG_HMAC_SHA256);
	assert_memory_equal(tsig_alg_wire(TSIG_HMAC_SHA256), "\013hmac-sha256", 13);
	to_name(n, "hmac-md5.sig-alg.reg.int.");
	assert_int_equal(tsig_alg_from_wire(n), TSIG_ALG_NONE);
}

static void test_key_init(void **state)
{
	(void)state;
	struct tsig_key k;
	char err[256];
	assert_int_equal(tsig_key_init(&k, "Xfr-Key.Example.", "hmac-sha512", "AAECAwQ=", err, sizeof(err)), 0);
	uint8_t want[NAME_MAXLEN];
	to_name(want, "xfr-key.example.");
	assert_memory_equal(k.name, want, name_len(want)); /* lower-cased */
	assert_int_equal(k.alg, TSIG_HMAC_SHA512);
	assert_int_equal(k.secret_len, 5);
	assert_memory_equal(k.secret, "\0\1\2\3\4", 5);
	/* padding variants and blanks, as BIND key files split secrets */
	assert_int_equal(tsig_key_init(&k, "k", "hmac-sha256", "AAEC", err, sizeof(err)), 0);
	assert_int_equal(k.secret_len, 3);
	assert_int_equal(tsig_key_init(&k, "k", "hmac-sha256", "AAECAw==", err, sizeof(err)), 0);
	assert_int_equal(k.secret_len, 4);
	assert_int_equal(tsig_key_init(&k, "k", "hmac-sha256", " AAEC\n AwQ= ", err, sizeof(err)), 0);
	assert_int_equal(k.secret_len, 5);
	/* the vector keys decode to what dnspython used: 32 and 64 octets */
	assert_int_equal(vkey("k256")->secret_len, 32);
	assert_int_equal(vkey("k512")->secret_len, 64);
}

/* The call fails and its message contains every one of the words. */
static void check_key_error(const char *name, const char *alg, const char *secret, const char *word1, const char *word2)
{
	struct tsig_key k;
	char err[256] = "";
	assert_int_equal(tsig_key_init(&k, name, alg, secret, err, sizeof(err)), TERN_EINVAL);
	if (!strstr(err, word1) || (word2 && !strstr(err, word2)))
		fail_msg("message '%s' lacks '%s' / '%s'", err, word1, word2 ? word2 : "");
	assert_int_equal(k.secret_len, 0);
}

static void test_key_errors(void **state)
{
	(void)state;
	check_key_error("a..b", "hmac-sha256", "AAAA", "key name", "a..b");
	check_key_error("k1", "hmac-md5", "AAAA", "unknown TSIG algorithm", "hmac-md5");
	check_key_error("k1", "hmac-sha256", "AA*A", "not base64", "'*'");
	check_key_error("k1", "hmac-sha256", "AAA", "not base64", "multiple of 4");
	check_key_error("k1", "hmac-sha256", "AA=A", "not base64", "after '='");
	check_key_error("k1", "hmac-sha256", "A===", "not base64", NULL);
	check_key_error("k1", "hmac-sha256", "", "secret is empty", "k1");
	check_key_error("k1", "hmac-sha256", NULL, "no secret", NULL);
	char big[600];
	memset(big, 'A', 400);
	big[400] = 0; /* 300 octets */
	check_key_error("k1", "hmac-sha256", big, "longer than 256", NULL);
}

static void test_key_from_text(void **state)
{
	(void)state;
	struct tsig_key k;
	char err[256];
	assert_int_equal(tsig_key_from_text(&k, "hmac-sha512:pop1.xfr:AAECAwQ=", err, sizeof(err)), 0);
	assert_int_equal(k.alg, TSIG_HMAC_SHA512);
	uint8_t want[NAME_MAXLEN];
	to_name(want, "pop1.xfr.");
	assert_true(name_equal(k.name, want));
	assert_int_equal(k.secret_len, 5);
	/* kdig's default algorithm */
	assert_int_equal(tsig_key_from_text(&k, "pop1.xfr.:AAECAwQ=", err, sizeof(err)), 0);
	assert_int_equal(k.alg, TSIG_HMAC_SHA256);
	assert_int_equal(tsig_key_from_text(&k, "no-secret", err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "[algorithm:]name:secret"));
	assert_int_equal(tsig_key_from_text(&k, "hmac-sha3:k:AAAA", err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "hmac-sha3"));
}

static void test_keyring_and_space(void **state)
{
	(void)state;
	struct tsig_keyring ring = all_keys();
	uint8_t n[NAME_MAXLEN];
	to_name(n, "KEY.example.com.");
	assert_ptr_equal(tsig_keyring_find(&ring, n), vkey("kcomp"));
	to_name(n, "nokey.");
	assert_null(tsig_keyring_find(&ring, n));
	assert_null(tsig_keyring_find(NULL, n));
	/* xfr-key. (9) + 10 + hmac-sha256. (13) + 10 + MAC (up to 64) + 6 + other (6) */
	assert_int_equal(tsig_space(vkey("k256")), 9 + 10 + 13 + 10 + 64 + 6 + 6);
}

/* ---- one message ---- */

/* A dnspython-signed query verifies, and the same query signed here is the same bytes. */
static void check_query(const char *klabel, const char *qlabel, bool same_bytes)
{
	const struct vec *q = vec(qlabel);
	const struct tsig_key *key = vkey(klabel);
	struct tsig_keyring ring = all_keys();
	struct tsig_result res;
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, q->time, &res), 0);
	assert_ptr_equal(res.key, key);
	assert_int_equal(res.error, TSIG_NOERROR);
	assert_int_equal(res.rcode, 0);
	assert_true(res.is_signed);
	assert_int_equal(res.mac_len, tsig_alg_mac_len(key->alg));
	assert_int_equal(res.time_signed, q->time);
	assert_int_equal(res.fudge, 300);
	assert_int_equal(res.orig_id, wire_get16(q->wire));
	assert_int_equal(res.tsig_pos, last_rr(q->wire, q->len));
	assert_true(name_equal(res.key_name, key->name));
	assert_memory_equal(res.key_name, key->name, name_len(key->name)); /* lower-cased */
	if (!same_bytes)
		return;
	struct buf b;
	strip(q, &b);
	struct tsig_ctx ctx;
	tsig_ctx_init(&ctx, key, NULL, 0);
	assert_int_equal(tsig_sign(b.b, &b.len, sizeof(b.b), &ctx, q->time), 0);
	assert_int_equal(b.len, q->len);
	assert_memory_equal(b.b, q->wire, q->len);
	assert_int_equal(ctx.prior_len, res.mac_len);
	assert_memory_equal(ctx.prior_mac, res.mac, res.mac_len);
	tsig_ctx_clear(&ctx);
}

/* The answer to the query: signed here over the request MAC it is dnspython's bytes, and the client
 * side verifies dnspython's answer starting from the MAC of the query it signed. */
static void check_response(const char *klabel, const char *qlabel, const char *rlabel, bool same_bytes)
{
	const struct vec *q = vec(qlabel), *r = vec(rlabel);
	const struct tsig_key *key = vkey(klabel);
	struct tsig_keyring ring = all_keys();
	struct tsig_result req, res;
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, q->time, &req), 0);
	struct tsig_ctx ctx;
	if (same_bytes) {
		struct buf b;
		strip(r, &b);
		tsig_ctx_init(&ctx, req.key, req.mac, req.mac_len);
		assert_int_equal(tsig_sign(b.b, &b.len, sizeof(b.b), &ctx, r->time), 0);
		assert_int_equal(b.len, r->len);
		assert_memory_equal(b.b, r->wire, r->len);
		tsig_ctx_clear(&ctx);
	}
	tsig_ctx_init(&ctx, key, req.mac, req.mac_len);
	assert_int_equal(tsig_verify_next(&ctx, r->wire, r->len, r->time, &res), 0);
	assert_true(res.is_signed);
	assert_false(res.peer_error);
	assert_int_equal(tsig_verify_end(&ctx), 0);
	tsig_ctx_clear(&ctx);
	/* the answer does not verify as a request: its digest covers the request MAC */
	assert_int_equal(tsig_verify(r->wire, r->len, &ring, r->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADSIG);
}

static void test_sha256(void **state)
{
	(void)state;
	check_query("k256", "q256", true);
	check_response("k256", "q256", "r256", true);
}

static void test_sha512(void **state)
{
	(void)state;
	check_query("k512", "q512", true);
	check_response("k512", "q512", "r512", true);
}

static void test_sha1(void **state)
{
	(void)state;
	check_query("k1", "q1", true);
	check_response("k1", "q1", "r1", true);
}

/* dnspython compresses the key name against the question and keeps its case: we verify that. */
static void test_compressed_mixed_case_owner(void **state)
{
	(void)state;
	const struct vec *q = vec("qcomp");
	/* owner \003Key + pointer (6), type..rdlength (10), hmac-sha256. (13), time fudge (8) */
	assert_int_equal(q->wire[mac_size_off(q->wire, q->len) - 8 - 13 - 10 - 2] & 0xc0, 0xc0);
	check_query("kcomp", "qcomp", false);
	check_response("kcomp", "qcomp", "rcomp", false);
	uint8_t want[NAME_MAXLEN];
	to_name(want, "key.example.com.");
	struct tsig_keyring ring = all_keys();
	struct tsig_result res;
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, q->time, &res), 0);
	assert_memory_equal(res.key_name, want, name_len(want));
}

static void test_time_window(void **state)
{
	(void)state;
	const struct vec *q = vec("q256");
	struct tsig_keyring ring = all_keys();
	struct tsig_result res;
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, T0 + 300, &res), 0);
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, T0 - 300, &res), 0);
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, T0 + 301, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADTIME);
	assert_int_equal(res.rcode, TSIG_RCODE_NOTAUTH);
	assert_ptr_equal(res.key, vkey("k256")); /* the MAC was good: the answer is signed */
	assert_true(res.is_signed);
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, T0 - 301, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADTIME);
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, 0, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADTIME);
}

static void test_badkey(void **state)
{
	(void)state;
	const struct vec *q = vec("q256");
	struct tsig_result res;
	/* a keyring without the key */
	struct tsig_keyring ring = {vkey("k512"), 1};
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, q->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADKEY);
	assert_int_equal(res.rcode, TSIG_RCODE_NOTAUTH);
	assert_null(res.key);
	assert_true(name_equal(res.key_name, vkey("k256")->name));
	assert_int_equal(tsig_alg_from_wire(res.alg_name), TSIG_HMAC_SHA256);
	/* the key's name with another algorithm */
	struct tsig_key other = *vkey("k256");
	other.alg = TSIG_HMAC_SHA512;
	ring = (struct tsig_keyring){&other, 1};
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, q->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADKEY);
	/* no keys at all; the key is checked before the time */
	assert_int_equal(tsig_verify(q->wire, q->len, NULL, q->time + 5000, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADKEY);
}

static void test_badsig(void **state)
{
	(void)state;
	const struct vec *q = vec("q256");
	struct tsig_keyring ring = all_keys();
	struct tsig_result res;
	struct buf b;
	/* another secret under the same name */
	struct tsig_key other = *vkey("k256");
	other.secret[0] ^= 1;
	struct tsig_keyring ring1 = {&other, 1};
	assert_int_equal(tsig_verify(q->wire, q->len, &ring1, q->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADSIG);
	assert_int_equal(res.rcode, TSIG_RCODE_NOTAUTH);
	assert_false(res.is_signed);
	/* a flipped bit anywhere in the signed part: header, question, MAC, TSIG fields */
	size_t mac = mac_size_off(q->wire, q->len) + 2;
	size_t spots[] = {2, 3, 13, 14, 22, mac - 4, mac - 3, mac, mac + 31, q->len - 6, q->len - 4};
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		buf_set(&b, q->wire, q->len);
		b.b[spots[i]] ^= 0x01;
		int r = tsig_verify(b.b, b.len, &ring, q->time, &res);
		if (r != TERN_EINVAL || res.error != TSIG_BADSIG)
			fail_msg("flipped byte %zu: %d / %u", spots[i], r, res.error);
	}
	/* the MAC is checked before the time */
	buf_set(&b, q->wire, q->len);
	b.b[22] ^= 1; /* a letter of "com" */
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time + 5000, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADSIG);
}

/* A forwarder may change the ID: the digest covers the original ID from the TSIG. */
static void test_original_id(void **state)
{
	(void)state;
	const struct vec *q = vec("q256");
	struct tsig_keyring ring = all_keys();
	struct tsig_result res;
	struct buf b;
	buf_set(&b, q->wire, q->len);
	wire_put16(b.b, 0xbeef);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), 0);
	assert_int_equal(res.orig_id, 0x1234);
	/* the original ID field itself is signed */
	buf_set(&b, q->wire, q->len);
	wire_put16(b.b + q->len - 6, 0xbeef);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADSIG);
}

/* RFC 8945 5.2.2.1: a request's MAC is not in its own digest, so its first octets are a valid
 * truncated MAC. */
static void check_truncation(const char *qlabel, size_t shortest, size_t full)
{
	const struct vec *q = vec(qlabel);
	struct tsig_keyring ring = all_keys();
	struct tsig_result res;
	struct buf b;
	buf_set(&b, q->wire, q->len);
	set_mac_len(&b, shortest);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), 0);
	assert_int_equal(res.mac_len, shortest);
	buf_set(&b, q->wire, q->len);
	set_mac_len(&b, shortest - 1);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
	assert_int_equal(res.rcode, 1); /* FORMERR */
	buf_set(&b, q->wire, q->len);
	set_mac_len(&b, full + 1);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
	buf_set(&b, q->wire, q->len);
	set_mac_len(&b, 0);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
}

static void test_truncation(void **state)
{
	(void)state;
	check_truncation("q256", 16, 32); /* half of 32 */
	check_truncation("q512", 32, 64); /* half of 64 */
	check_truncation("q1", 10, 20); /* max(10, 20 / 2) */
	/* truncated and wrong: BADSIG */
	const struct vec *q = vec("q256");
	struct tsig_keyring ring = all_keys();
	struct tsig_result res;
	struct buf b;
	buf_set(&b, q->wire, q->len);
	set_mac_len(&b, 20);
	b.b[mac_size_off(b.b, b.len) + 2 + 19] ^= 1;
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADSIG);
	/* a local policy above the RFC minimum: BADTRUNC, after the MAC and time checks */
	struct tsig_key strict = *vkey("k256");
	strict.min_mac_len = 32;
	struct tsig_keyring ring1 = {&strict, 1};
	buf_set(&b, q->wire, q->len);
	set_mac_len(&b, 16);
	assert_int_equal(tsig_verify(b.b, b.len, &ring1, q->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADTRUNC);
	assert_int_equal(res.rcode, TSIG_RCODE_NOTAUTH);
	assert_int_equal(tsig_verify(b.b, b.len, &ring1, q->time + 1000, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADTIME);
	assert_int_equal(tsig_verify(q->wire, q->len, &ring1, q->time, &res), 0);
	/* an answer to a truncated request covers the truncated MAC as received */
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), 0);
	assert_int_equal(res.mac_len, 16);
	struct buf r;
	response_to(q, &r);
	struct tsig_ctx tx, rx;
	tsig_ctx_init(&tx, res.key, res.mac, res.mac_len);
	assert_int_equal(tsig_sign(r.b, &r.len, sizeof(r.b), &tx, q->time + 1), 0);
	tsig_ctx_init(&rx, vkey("k256"), b.b + mac_size_off(b.b, b.len) + 2, 16);
	assert_int_equal(tsig_verify_next(&rx, r.b, r.len, q->time + 1, &res), 0);
	tsig_ctx_init(&rx, vkey("k256"), q->wire + mac_size_off(q->wire, q->len) + 2, 32);
	assert_int_equal(tsig_verify_next(&rx, r.b, r.len, q->time + 1, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADSIG);
	tsig_ctx_clear(&tx);
	tsig_ctx_clear(&rx);
}

static void test_malformed(void **state)
{
	(void)state;
	const struct vec *q = vec("q256");
	struct tsig_keyring ring = all_keys();
	struct tsig_result res;
	struct buf b;
	/* unsigned */
	strip(q, &b);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_ENOTFOUND);
	assert_int_equal(res.rcode, 0);
	/* too short for a header */
	assert_int_equal(tsig_verify(q->wire, 11, &ring, q->time, &res), TERN_EMALF);
	assert_int_equal(res.rcode, 1);
	/* cut anywhere inside the TSIG */
	for (size_t cut = last_rr(q->wire, q->len) + 1; cut < q->len; cut++)
		assert_int_equal(tsig_verify(q->wire, cut, &ring, q->time, &res), TERN_EMALF);
	/* a byte after it */
	buf_set(&b, q->wire, q->len);
	b.b[b.len++] = 0;
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
	/* not last in the additional section */
	static const uint8_t a_rr[] = {0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
	buf_set(&b, q->wire, q->len);
	memcpy(b.b + b.len, a_rr, sizeof(a_rr));
	b.len += sizeof(a_rr);
	wire_put16(b.b + 10, 2);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
	/* two of them */
	size_t start = last_rr(q->wire, q->len);
	buf_set(&b, q->wire, q->len);
	memcpy(b.b + b.len, q->wire + start, q->len - start);
	b.len += q->len - start;
	wire_put16(b.b + 10, 2);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
	/* class IN, TTL 1 */
	size_t cls = start + name_len(q->wire + start) + 2;
	buf_set(&b, q->wire, q->len);
	wire_put16(b.b + cls, 1);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
	buf_set(&b, q->wire, q->len);
	b.b[cls + 5] = 1;
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
	/* other len pointing past RDATA, and short of it */
	buf_set(&b, q->wire, q->len);
	wire_put16(b.b + b.len - 2, 1);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
	buf_set(&b, q->wire, q->len);
	b.b[b.len++] = 0; /* one more RDATA octet than the fields take */
	wire_put16(b.b + cls + 6, (uint16_t)(wire_get16(b.b + cls + 6) + 1));
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
	/* MAC size past RDATA */
	buf_set(&b, q->wire, q->len);
	wire_put16(b.b + mac_size_off(q->wire, q->len), 200);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &res), TERN_EMALF);
}

/* ---- error answers (RFC 8945 5.3.2) ---- */

/* The client's view of an error answer: its TSIG names the peer's error. */
static void client_sees(const struct buf *r, const struct vec *q, uint64_t now, uint16_t error, bool is_signed,
                        const uint8_t *request_mac, size_t request_mac_len, struct tsig_result *res)
{
	assert_int_equal(WIRE_RCODE(wire_get16(r->b + 2)), TSIG_RCODE_NOTAUTH);
	assert_int_equal(wire_get16(r->b + 10), 1);
	assert_int_equal(wire_get16(r->b), wire_get16(q->wire));
	struct tsig_ctx rx;
	tsig_ctx_init(&rx, vkey("k256"), request_mac, request_mac_len);
	assert_int_equal(tsig_verify_next(&rx, r->b, r->len, now, res), TERN_EINVAL);
	assert_true(res->peer_error);
	assert_int_equal(res->error, error);
	assert_int_equal(res->is_signed, is_signed);
	assert_int_equal(tsig_verify_end(&rx), TERN_ENOTFOUND);
	tsig_ctx_clear(&rx);
}

static void test_error_unsigned(void **state)
{
	(void)state;
	const struct vec *q = vec("q256");
	const uint8_t *qmac = q->wire + mac_size_off(q->wire, q->len) + 2;
	struct tsig_result req, res;
	struct buf r;
	/* BADKEY: the key's and algorithm's names echoed, MAC size 0, our time */
	struct tsig_keyring ring = {vkey("k512"), 1};
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, q->time, &req), TERN_EINVAL);
	response_to(q, &r);
	size_t before = r.len;
	assert_int_equal(tsig_sign_error(r.b, &r.len, sizeof(r.b), &req, T0 + 7), 0);
	client_sees(&r, q, T0 + 7, TSIG_BADKEY, false, qmac, 32, &res);
	assert_int_equal(res.mac_len, 0);
	assert_int_equal(res.time_signed, T0 + 7);
	assert_int_equal(wire_get16(r.b + mac_size_off(r.b, r.len)), 0);
	assert_int_equal(r.len, before + 9 + 10 + 13 + 10 + 6);
	/* BADSIG likewise */
	struct buf b;
	buf_set(&b, q->wire, q->len);
	b.b[22] ^= 1; /* a letter of "com" */
	ring = all_keys();
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &req), TERN_EINVAL);
	assert_int_equal(req.error, TSIG_BADSIG);
	response_to(q, &r);
	assert_int_equal(tsig_sign_error(r.b, &r.len, sizeof(r.b), &req, T0), 0);
	client_sees(&r, q, T0, TSIG_BADSIG, false, qmac, 32, &res);
	/* no error to answer: nothing written */
	req.error = TSIG_NOERROR;
	response_to(q, &r);
	struct buf keep = r;
	assert_int_equal(tsig_sign_error(r.b, &r.len, sizeof(r.b), &req, T0), TERN_EINVAL);
	assert_int_equal(r.len, keep.len);
	assert_memory_equal(r.b, keep.b, r.len);
}

/* BADTIME is signed, with the client's time and fudge and ours in other data: dnspython's bytes. */
static void test_error_badtime(void **state)
{
	(void)state;
	const struct vec *q = vec("q256"), *want = vec("badtime256");
	struct tsig_keyring ring = all_keys();
	struct tsig_result req, res;
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, want->time, &req), TERN_EINVAL);
	assert_int_equal(req.error, TSIG_BADTIME);
	struct buf r;
	response_to(q, &r);
	assert_int_equal(tsig_sign_error(r.b, &r.len, sizeof(r.b), &req, want->time), 0);
	assert_int_equal(r.len, want->len);
	assert_memory_equal(r.b, want->wire, want->len);
	assert_true(r.len - last_rr(r.b, r.len) <= tsig_space(vkey("k256")));
	/* the client checks it whatever its clock, and reads the server's */
	client_sees(&r, q, T0, TSIG_BADTIME, true, req.mac, req.mac_len, &res);
	assert_int_equal(res.other_time, T0 + 1000);
	assert_int_equal(res.time_signed, T0);
	/* tampered: still the peer's error, but not authenticated and no clock */
	r.b[14] ^= 1;
	client_sees(&r, q, T0, TSIG_BADTIME, false, req.mac, req.mac_len, &res);
	assert_int_equal(res.other_time, 0);
}

static void test_error_badtrunc(void **state)
{
	(void)state;
	const struct vec *q = vec("q256");
	struct tsig_key strict = *vkey("k256");
	strict.min_mac_len = 32;
	struct tsig_keyring ring = {&strict, 1};
	struct tsig_result req, res;
	struct buf b, r;
	buf_set(&b, q->wire, q->len);
	set_mac_len(&b, 16);
	assert_int_equal(tsig_verify(b.b, b.len, &ring, q->time, &req), TERN_EINVAL);
	assert_int_equal(req.error, TSIG_BADTRUNC);
	response_to(q, &r);
	assert_int_equal(tsig_sign_error(r.b, &r.len, sizeof(r.b), &req, q->time + 2), 0);
	client_sees(&r, q, q->time + 2, TSIG_BADTRUNC, true, b.b + mac_size_off(b.b, b.len) + 2, 16, &res);
	assert_int_equal(res.mac_len, 32); /* answered in full */
	assert_int_equal(res.time_signed, q->time + 2);
}

static void test_sign_space(void **state)
{
	(void)state;
	const struct vec *q = vec("q512");
	const struct tsig_key *key = vkey("k512");
	struct buf b, keep;
	strip(q, &b);
	keep = b;
	struct tsig_ctx ctx;
	tsig_ctx_init(&ctx, key, NULL, 0);
	size_t need = q->len - b.len;
	assert_true(need <= tsig_space(key));
	assert_int_equal(tsig_sign(b.b, &b.len, b.len + need - 1, &ctx, q->time), TERN_ESPACE);
	assert_int_equal(b.len, keep.len);
	assert_memory_equal(b.b, keep.b, keep.len);
	assert_int_equal(ctx.messages, 0);
	assert_int_equal(tsig_sign(b.b, &b.len, b.len + need, &ctx, q->time), 0);
	assert_memory_equal(b.b, q->wire, q->len);
	/* a full ARCOUNT cannot take the TSIG */
	strip(q, &b);
	wire_put16(b.b + 10, 0xffff);
	assert_int_equal(tsig_sign(b.b, &b.len, sizeof(b.b), &ctx, q->time), TERN_EINVAL);
	/* no key */
	struct tsig_ctx none;
	tsig_ctx_init(&none, NULL, NULL, 0);
	assert_int_equal(tsig_sign(b.b, &b.len, sizeof(b.b), &none, q->time), TERN_EINVAL);
	tsig_ctx_clear(&ctx);
}

/* ---- transfers: chained MACs (RFC 8945 5.3.1) ---- */

static void check_axfr(const char *klabel, const char *tag)
{
	char l[32];
	snprintf(l, sizeof(l), "x%sq", tag);
	const struct vec *q = vec(l), *m[3];
	for (int i = 0; i < 3; i++) {
		snprintf(l, sizeof(l), "x%sr%d", tag, i + 1);
		m[i] = vec(l);
	}
	struct tsig_keyring ring = all_keys();
	struct tsig_result req, res;
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, q->time, &req), 0);
	assert_ptr_equal(req.key, vkey(klabel));
	/* the server signs every message: dnspython's bytes */
	struct tsig_ctx tx;
	tsig_ctx_init(&tx, req.key, req.mac, req.mac_len);
	for (int i = 0; i < 3; i++) {
		struct buf b;
		strip(m[i], &b);
		assert_int_equal(tsig_sign(b.b, &b.len, sizeof(b.b), &tx, m[i]->time), 0);
		assert_int_equal(b.len, m[i]->len);
		assert_memory_equal(b.b, m[i]->wire, m[i]->len);
	}
	assert_int_equal(tx.messages, 3);
	tsig_ctx_clear(&tx);
	/* the client verifies dnspython's */
	struct tsig_ctx rx;
	tsig_ctx_init(&rx, vkey(klabel), req.mac, req.mac_len);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tsig_verify_next(&rx, m[i]->wire, m[i]->len, m[i]->time, &res), 0);
		assert_true(res.is_signed);
	}
	assert_int_equal(tsig_verify_end(&rx), 0);
	tsig_ctx_clear(&rx);
	/* out of order, replayed, altered, or late: refused */
	const struct vec *orders[][2] = {{m[0], m[2]}, {m[0], m[0]}, {m[1], m[2]}};
	for (size_t o = 0; o < 3; o++) {
		tsig_ctx_init(&rx, vkey(klabel), req.mac, req.mac_len);
		const struct vec *a = orders[o][0], *b = orders[o][1];
		int r = tsig_verify_next(&rx, a->wire, a->len, a->time, &res);
		if (r == 0)
			r = tsig_verify_next(&rx, b->wire, b->len, b->time, &res);
		assert_int_equal(r, TERN_EINVAL);
		assert_int_equal(res.error, TSIG_BADSIG);
		assert_true(rx.failed);
		assert_int_equal(tsig_verify_end(&rx), TERN_ENOTFOUND);
		tsig_ctx_clear(&rx);
	}
	tsig_ctx_init(&rx, vkey(klabel), req.mac, req.mac_len);
	struct buf b;
	buf_set(&b, m[1]->wire, m[1]->len);
	b.b[30] ^= 1;
	assert_int_equal(tsig_verify_next(&rx, m[0]->wire, m[0]->len, m[0]->time, &res), 0);
	assert_int_equal(tsig_verify_next(&rx, b.b, b.len, m[1]->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADSIG);
	tsig_ctx_clear(&rx);
	tsig_ctx_init(&rx, vkey(klabel), req.mac, req.mac_len);
	assert_int_equal(tsig_verify_next(&rx, m[0]->wire, m[0]->len, m[0]->time, &res), 0);
	assert_int_equal(tsig_verify_next(&rx, m[1]->wire, m[1]->len, m[1]->time + 301, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADTIME);
	tsig_ctx_clear(&rx);
	/* the first answer without the request MAC, or with another key: refused */
	tsig_ctx_init(&rx, vkey(klabel), NULL, 0);
	assert_int_equal(tsig_verify_next(&rx, m[0]->wire, m[0]->len, m[0]->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADSIG);
	tsig_ctx_init(&rx, vkey("k1"), req.mac, req.mac_len);
	assert_int_equal(tsig_verify_next(&rx, m[0]->wire, m[0]->len, m[0]->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADKEY);
	assert_false(res.peer_error);
	tsig_ctx_clear(&rx);
}

static void test_axfr_sha256(void **state)
{
	(void)state;
	check_axfr("k256", "256");
}

static void test_axfr_sha512(void **state)
{
	(void)state;
	check_axfr("k512", "512");
}

/* Up to 99 messages may go unsigned between two signed ones; the next MAC covers them whole. */
static void test_axfr_unsigned_between(void **state)
{
	(void)state;
	const struct vec *q = vec("x256q"), *m1 = vec("x256r1"), *m2 = vec("x256r2"), *m3 = vec("x256r3"),
	                 *m3u = vec("x256r3u");
	struct tsig_keyring ring = all_keys();
	struct tsig_result req, res;
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, q->time, &req), 0);
	struct buf b1, b2, b3;
	strip(m1, &b1);
	strip(m2, &b2);
	strip(m3, &b3);
	/* server: sign, skip, sign gives dnspython's third message */
	struct tsig_ctx tx;
	tsig_ctx_init(&tx, req.key, req.mac, req.mac_len);
	assert_int_equal(tsig_sign_skip(&tx, b2.b, b2.len), TERN_EINVAL); /* the first must be signed */
	assert_int_equal(tsig_sign(b1.b, &b1.len, sizeof(b1.b), &tx, m1->time), 0);
	assert_int_equal(tsig_sign_skip(&tx, b2.b, b2.len), 0);
	assert_int_equal(tsig_sign(b3.b, &b3.len, sizeof(b3.b), &tx, m3u->time), 0);
	assert_int_equal(b3.len, m3u->len);
	assert_memory_equal(b3.b, m3u->wire, m3u->len);
	tsig_ctx_clear(&tx);
	/* client */
	struct tsig_ctx rx;
	tsig_ctx_init(&rx, vkey("k256"), req.mac, req.mac_len);
	assert_int_equal(tsig_verify_next(&rx, m1->wire, m1->len, m1->time, &res), 0);
	assert_int_equal(tsig_verify_next(&rx, b2.b, b2.len, m2->time, &res), 0);
	assert_false(res.is_signed);
	assert_int_equal(tsig_verify_end(&rx), TERN_ENOTFOUND); /* it cannot end unsigned */
	assert_int_equal(tsig_verify_next(&rx, m3u->wire, m3u->len, m3u->time, &res), 0);
	assert_true(res.is_signed);
	assert_int_equal(tsig_verify_end(&rx), 0);
	tsig_ctx_clear(&rx);
	/* the third message signed as if the second had been signed does not verify after it unsigned */
	tsig_ctx_init(&rx, vkey("k256"), req.mac, req.mac_len);
	assert_int_equal(tsig_verify_next(&rx, m1->wire, m1->len, m1->time, &res), 0);
	assert_int_equal(tsig_verify_next(&rx, b2.b, b2.len, m2->time, &res), 0);
	assert_int_equal(tsig_verify_next(&rx, m3->wire, m3->len, m3->time, &res), TERN_EINVAL);
	assert_int_equal(res.error, TSIG_BADSIG);
	tsig_ctx_clear(&rx);
	/* strict mode: every message signed */
	tsig_ctx_init(&rx, vkey("k256"), req.mac, req.mac_len);
	rx.strict = true;
	assert_int_equal(tsig_verify_next(&rx, m1->wire, m1->len, m1->time, &res), 0);
	assert_int_equal(tsig_verify_next(&rx, b2.b, b2.len, m2->time, &res), TERN_ENOTFOUND);
	tsig_ctx_clear(&rx);
	/* the first answer unsigned */
	tsig_ctx_init(&rx, vkey("k256"), req.mac, req.mac_len);
	assert_int_equal(tsig_verify_next(&rx, b2.b, b2.len, m2->time, &res), TERN_ENOTFOUND);
	tsig_ctx_clear(&rx);
}

/* 99 unsigned messages in a row are fine, the 100th is not; a signed one resets the count. */
static void test_axfr_unsigned_limit(void **state)
{
	(void)state;
	const struct vec *q = vec("x512q");
	struct tsig_keyring ring = all_keys();
	struct tsig_result req, res;
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, q->time, &req), 0);
	struct tsig_ctx tx, rx;
	tsig_ctx_init(&tx, req.key, req.mac, req.mac_len);
	tsig_ctx_init(&rx, req.key, req.mac, req.mac_len);
	struct buf s, u;
	strip(vec("x512r2"), &u);
	for (int round = 1; round <= 3; round++) {
		strip(vec(round == 3 ? "x512r3" : "x512r1"), &s);
		assert_int_equal(tsig_sign(s.b, &s.len, sizeof(s.b), &tx, T0), 0);
		assert_int_equal(tsig_verify_next(&rx, s.b, s.len, T0, &res), 0);
		assert_int_equal(rx.messages, round);
		if (round == 3)
			break;
		for (int i = 0; i < TSIG_MAX_UNSIGNED; i++) {
			assert_int_equal(tsig_sign_skip(&tx, u.b, u.len), 0);
			assert_int_equal(tsig_verify_next(&rx, u.b, u.len, T0, &res), 0);
		}
		assert_int_equal(tsig_sign_skip(&tx, u.b, u.len), TERN_EINVAL); /* sign it instead */
	}
	assert_int_equal(tsig_verify_end(&rx), 0);
	/* the 100th unsigned message breaks the chain for good */
	for (int i = 0; i < TSIG_MAX_UNSIGNED; i++)
		assert_int_equal(tsig_verify_next(&rx, u.b, u.len, T0, &res), 0);
	assert_int_equal(tsig_verify_next(&rx, u.b, u.len, T0, &res), TERN_ENOTFOUND);
	assert_true(rx.failed);
	assert_null(rx.hmac);
	assert_int_equal(tsig_verify_end(&rx), TERN_ENOTFOUND);
	strip(vec("x512r3"), &s);
	assert_int_equal(tsig_sign(s.b, &s.len, sizeof(s.b), &tx, T0), 0);
	assert_int_equal(tsig_verify_next(&rx, s.b, s.len, T0, &res), TERN_EINVAL);
	tsig_ctx_clear(&tx);
	tsig_ctx_clear(&rx);
	tsig_ctx_clear(&rx); /* idempotent */
}

/* A chain abandoned during an unsigned run holds a digest until tsig_ctx_clear() (ASan checks). */
static void test_abandoned_chain(void **state)
{
	(void)state;
	const struct vec *q = vec("x256q");
	struct tsig_keyring ring = all_keys();
	struct tsig_result req, res;
	assert_int_equal(tsig_verify(q->wire, q->len, &ring, q->time, &req), 0);
	struct tsig_ctx rx;
	tsig_ctx_init(&rx, req.key, req.mac, req.mac_len);
	struct buf u;
	strip(vec("x256r2"), &u);
	assert_int_equal(tsig_verify_next(&rx, vec("x256r1")->wire, vec("x256r1")->len, T0 + 1, &res), 0);
	assert_null(rx.hmac); /* nothing held between signed messages */
	assert_int_equal(tsig_verify_next(&rx, u.b, u.len, T0 + 2, &res), 0);
	assert_non_null(rx.hmac);
	tsig_ctx_clear(&rx);
	assert_null(rx.hmac);
}

/* A client's whole exchange, all in C: sign the query, verify the answers from its MAC. */
static void test_client_round_trip(void **state)
{
	(void)state;
	const struct tsig_key *key = vkey("k512");
	struct tsig_keyring ring = all_keys();
	struct buf q, r;
	strip(vec("x512q"), &q);
	struct tsig_ctx tx, rx, sx;
	tsig_ctx_init(&tx, key, NULL, 0);
	assert_int_equal(tsig_sign(q.b, &q.len, sizeof(q.b), &tx, 1234567890123ULL), 0);
	struct tsig_result req, res;
	assert_int_equal(tsig_verify(q.b, q.len, &ring, 1234567890000ULL, &req), 0);
	assert_int_equal(req.time_signed, 1234567890123ULL);
	tsig_ctx_init(&sx, req.key, req.mac, req.mac_len);
	tsig_ctx_init(&rx, key, tx.prior_mac, tx.prior_len);
	for (int i = 1; i <= 3; i++) {
		char l[32];
		snprintf(l, sizeof(l), "x512r%d", i);
		strip(vec(l), &r);
		assert_int_equal(tsig_sign(r.b, &r.len, sizeof(r.b), &sx, 1234567890124ULL), 0);
		assert_int_equal(tsig_verify_next(&rx, r.b, r.len, 1234567890125ULL, &res), 0);
	}
	assert_int_equal(tsig_verify_end(&rx), 0);
	tsig_ctx_clear(&tx);
	tsig_ctx_clear(&sx);
	tsig_ctx_clear(&rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alg_table),
	    cmocka_unit_test(test_key_init),
	    cmocka_unit_test(test_key_errors),
	    cmocka_unit_test(test_key_from_text),
	    cmocka_unit_test(test_keyring_and_space),
	    cmocka_unit_test(test_sha256),
	    cmocka_unit_test(test_sha512),
	    cmocka_unit_test(test_sha1),
	    cmocka_unit_test(test_compressed_mixed_case_owner),
	    cmocka_unit_test(test_time_window),
	    cmocka_unit_test(test_badkey),
	    cmocka_unit_test(test_badsig),
	    cmocka_unit_test(test_original_id),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_error_unsigned),
	    cmocka_unit_test(test_error_badtime),
	    cmocka_unit_test(test_error_badtrunc),
	    cmocka_unit_test(test_sign_space),
	    cmocka_unit_test(test_axfr_sha256),
	    cmocka_unit_test(test_axfr_sha512),
	    cmocka_unit_test(test_axfr_unsigned_between),
	    cmocka_unit_test(test_axfr_unsigned_limit),
	    cmocka_unit_test(test_abandoned_chain),
	    cmocka_unit_test(test_client_round_trip),
	};
	return cmocka_run_group_tests(tests, load_vectors, NULL);
}
