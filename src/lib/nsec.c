/* Authenticated denial as zone data: type bitmaps, NSEC3 hashes and owners, and the NSEC/NSEC3
 * chain of a zone built whole or kept up to date as zone changes (no signing: lib/dnssec.c). */
#include "lib/nsec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/dyn.h"
#include "lib/rr.h"
#include "lib/wire.h"

/* ---- type bitmaps ---- */

static int u16_cmp(const void *pa, const void *pb)
{
	uint16_t a = *(const uint16_t *)pa, b = *(const uint16_t *)pb;
	return (a > b) - (a < b);
}

int nsec_bitmap_write(const uint16_t *types, size_t n, uint8_t *out, size_t cap)
{
	uint16_t small[64], *t = n <= 64 ? small : malloc(n * sizeof(*t));
	if (!t)
		return TERN_ENOMEM;
	memcpy(t, types, n * sizeof(*t));
	qsort(t, n, sizeof(*t), u16_cmp);
	size_t pos = 0;
	int rc = 0;
	for (size_t i = 0; i < n;) {
		unsigned window = t[i] >> 8;
		size_t j = i;
		while (j < n && (unsigned)(t[j] >> 8) == window)
			j++;
		unsigned len = ((t[j - 1] & 0xff) >> 3) + 1u; /* the last octet holding a bit */
		if (cap - pos < 2u + len) {
			rc = TERN_ESPACE;
			break;
		}
		out[pos] = (uint8_t)window;
		out[pos + 1] = (uint8_t)len;
		memset(out + pos + 2, 0, len);
		for (size_t k = i; k < j; k++)
			out[pos + 2 + ((t[k] & 0xff) >> 3)] |= (uint8_t)(0x80u >> (t[k] & 7));
		pos += 2u + len;
		i = j;
	}
	if (t != small)
		free(t);
	return rc < 0 ? rc : (int)pos;
}

int nsec_bitmap_read(const uint8_t *bm, size_t len, uint16_t *types, size_t cap, size_t *n)
{
	size_t pos = 0, k = 0;
	int last = -1;
	while (pos < len) {
		if (len - pos < 2)
			return TERN_EMALF;
		unsigned window = bm[pos], wlen = bm[pos + 1];
		if ((int)window <= last || wlen < 1 || wlen > 32 || len - pos - 2 < wlen || bm[pos + 1 + wlen] == 0)
			return TERN_EMALF;
		for (unsigned o = 0; o < wlen; o++)
			for (unsigned b = 0; b < 8; b++) {
				if (!(bm[pos + 2 + o] & (0x80u >> b)))
					continue;
				if (k == cap)
					return TERN_ESPACE;
				types[k++] = (uint16_t)(window << 8 | o << 3 | b);
			}
		last = (int)window;
		pos += 2u + wlen;
	}
	*n = k;
	return 0;
}

bool nsec_bitmap_has(const uint8_t *bm, size_t len, uint16_t type)
{
	size_t pos = 0;
	int last = -1;
	bool has = false;
	while (pos < len) { /* the whole bitmap is checked: a malformed one holds nothing */
		if (len - pos < 2)
			return false;
		unsigned window = bm[pos], wlen = bm[pos + 1];
		if ((int)window <= last || wlen < 1 || wlen > 32 || len - pos - 2 < wlen || bm[pos + 1 + wlen] == 0)
			return false;
		unsigned o = (type & 0xff) >> 3;
		if (window == (unsigned)(type >> 8) && o < wlen && (bm[pos + 2 + o] & (0x80u >> (type & 7))))
			has = true;
		last = (int)window;
		pos += 2u + wlen;
	}
	return has;
}

/* ---- NSEC3 ---- */

/* SHA-1 (FIPS 180-4 6.1) of one message. Our own because answers hash names on the query path
 * (a proof costs one to three hashes), where OpenSSL 3's SHA1() fetches the algorithm and
 * allocates a context (three mallocs a call); this one allocates nothing and takes no lock. */
static uint32_t rol32(uint32_t x, int n)
{
	return x << n | x >> (32 - n);
}

/* The message schedule word of round t, kept in a ring of 16. */
static inline uint32_t sha1_w(uint32_t *w, int t)
{
	if (t < 16)
		return w[t];
	w[t & 15] = rol32(w[(t + 13) & 15] ^ w[(t + 8) & 15] ^ w[(t + 2) & 15] ^ w[t & 15], 1);
	return w[t & 15];
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[16];
	for (int t = 0; t < 16; t++)
		w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 |
		       p[4 * t + 3];
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], next;
	/* the four kinds of rounds, twenty each, in their own loops (no test of t per round) */
	for (int t = 0; t < 20; t++) {
		next = rol32(a, 5) + ((b & c) | (~b & d)) + e + 0x5a827999u + sha1_w(w, t);
		e = d, d = c, c = rol32(b, 30), b = a, a = next;
	}
	for (int t = 20; t < 40; t++) {
		next = rol32(a, 5) + (b ^ c ^ d) + e + 0x6ed9eba1u + sha1_w(w, t);
		e = d, d = c, c = rol32(b, 30), b = a, a = next;
	}
	for (int t = 40; t < 60; t++) {
		next = rol32(a, 5) + ((b & c) | (b & d) | (c & d)) + e + 0x8f1bbcdcu + sha1_w(w, t);
		e = d, d = c, c = rol32(b, 30), b = a, a = next;
	}
	for (int t = 60; t < 80; t++) {
		next = rol32(a, 5) + (b ^ c ^ d) + e + 0xca62c1d6u + sha1_w(w, t);
		e = d, d = c, c = rol32(b, 30), b = a, a = next;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

static void sha1(const uint8_t *msg, size_t len, uint8_t out[NSEC3_HASH_LEN])
{
	uint32_t h[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};
	size_t full = len / 64 * 64, rest = len - full;
	for (size_t i = 0; i < full; i += 64)
		sha1_block(h, msg + i);
	/* the padding: 0x80, zeros, the length in bits as 64 bits big-endian, to a whole block */
	uint8_t tail[128] = {0};
	memcpy(tail, msg + full, rest);
	tail[rest] = 0x80;
	size_t tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - (size_t)i] = (uint8_t)(bits >> (8 * i));
	sha1_block(h, tail);
	if (tlen == 128)
		sha1_block(h, tail + 64);
	for (int i = 0; i < 5; i++)
		wire_put32(out + 4 * i, h[i]);
}

int nsec3_hash(const uint8_t *name, const uint8_t *salt, uint8_t salt_len, uint16_t iterations,
               uint8_t out[NSEC3_HASH_LEN])
{
	uint8_t buf[NAME_MAXLEN + 255];
	size_t len = name_len(name);
	name_lower_copy(buf, name, len);
	if (salt_len)
		memcpy(buf + len, salt, salt_len);
	sha1(buf, len + salt_len, out);
	for (unsigned i = 0; i < iterations; i++) {
		memcpy(buf, out, NSEC3_HASH_LEN);
		if (salt_len)
			memcpy(buf + NSEC3_HASH_LEN, salt, salt_len);
		sha1(buf, NSEC3_HASH_LEN + (size_t)salt_len, out);
	}
	return 0;
}

static const char B32HEX[] = "0123456789abcdefghijklmnopqrstuv";

size_t nsec3_base32hex(const uint8_t *in, size_t len, char *out)
{
	size_t k = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[k++] = B32HEX[(acc >> bits) & 31];
		}
	}
	if (bits)
		out[k++] = B32HEX[(acc << (5 - bits)) & 31];
	out[k] = 0;
	return k;
}

int nsec3_base32hex_decode(const char *text, size_t len, uint8_t *out, size_t cap)
{
	size_t k = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		unsigned v;
		if (ch >= '0' && ch <= '9')
			v = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'v')
			v = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'V')
			v = (unsigned)(ch - 'A' + 10);
		else
			return TERN_EMALF;
		acc = (acc << 5 | v) & 0xffff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (k == cap)
				return TERN_ESPACE;
			out[k++] = (uint8_t)(acc >> bits);
		}
	}
	/* what is left must be fewer than 5 bits, all zero (RFC 4648 3.5: canonical encoding) */
	if (bits >= 5 || (acc & ((1u << bits) - 1)))
		return TERN_EMALF;
	return (int)k;
}

int nsec3_owner(const uint8_t hash[NSEC3_HASH_LEN], const uint8_t *apex, uint8_t out[NAME_MAXLEN])
{
	size_t alen = name_len(apex);
	if (1 + NSEC3_B32_LEN + alen > NAME_MAXLEN)
		return TERN_ENAME;
	char text[NSEC3_B32_LEN + 1];
	nsec3_base32hex(hash, NSEC3_HASH_LEN, text);
	out[0] = NSEC3_B32_LEN;
	memcpy(out + 1, text, NSEC3_B32_LEN);
	name_lower_copy(out + 1 + NSEC3_B32_LEN, apex, alen);
	return (int)(1 + NSEC3_B32_LEN + alen);
}

int nsec3_owner_hash(const uint8_t *owner, const uint8_t *apex, uint8_t out[NSEC3_HASH_LEN])
{
	if (owner[0] != NSEC3_B32_LEN || !name_equal(owner + 1 + NSEC3_B32_LEN, apex))
		return TERN_ENOTFOUND;
	int n = nsec3_base32hex_decode((const char *)owner + 1, NSEC3_B32_LEN, out, NSEC3_HASH_LEN);
	return n == NSEC3_HASH_LEN ? 0 : TERN_ENOTFOUND;
}

int nsec3param_rdata(const struct nsec_params *p, uint8_t *out, size_t cap)
{
	size_t len = 5u + p->salt_len;
	if (cap < len)
		return TERN_ESPACE;
	out[0] = NSEC3_HASH_SHA1;
	out[1] = 0;
	wire_put16(out + 2, p->iterations);
	out[4] = p->salt_len;
	memcpy(out + 5, p->salt, p->salt_len);
	return (int)len;
}

int nsec3param_parse(const uint8_t *rdata, size_t len, struct nsec_params *p)
{
	if (len < 5 || rdata[0] != NSEC3_HASH_SHA1 || len != 5u + rdata[4])
		return TERN_EMALF;
	memset(p, 0, sizeof(*p));
	p->nsec3 = true;
	p->iterations = wire_get16(rdata + 2);
	p->salt_len = rdata[4];
	memcpy(p->salt, rdata + 5, p->salt_len);
	return 0;
}

/* ---- changes ---- */

void nsec_changes_free(struct nsec_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free((void *)c->v[i].owner);
	free(c->v);
	*c = (struct nsec_changes){0};
}

/* Drops the changes appended after the first keep (a failed call leaves out as it found it). */
static void changes_truncate(struct nsec_changes *c, size_t keep)
{
	for (size_t i = keep; i < c->n; i++)
		free((void *)c->v[i].owner);
	c->n = keep;
}

/* Appends a change setting (owner, type) to the one record rd (len octets), or deleting it when
 * rd is NULL. */
static int emit(struct nsec_changes *c, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
                uint16_t len)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct zone_change *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return TERN_ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	size_t olen = name_len(owner);
	uint8_t *block = malloc(olen + 2u + (rd ? len : 0u));
	if (!block)
		return TERN_ENOMEM;
	memcpy(block, owner, olen);
	struct zone_change ch = {.owner = block, .type = type, .ttl = ttl};
	if (rd) {
		wire_put16(block + olen, len);
		memcpy(block + olen + 2, rd, len);
		ch.count = 1;
		ch.rdata = block + olen;
		ch.rdata_size = 2u + len;
	}
	c->v[c->n++] = ch;
	return 0;
}

/* Whether z holds exactly the one record rd (len octets, TTL ttl) as its (owner, type) RRset. */
static bool holds(const struct zone *z, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
                  uint16_t len)
{
	const struct zone_node *n = zone_find(z, owner, name_len(owner));
	const struct rrset *rs = n ? zone_node_rrset(n, type) : NULL;
	return rs && rs->count == 1 && rs->ttl == ttl && rdata_len(rs->rdata) == len &&
	       memcmp(rdata_bytes(rs->rdata), rd, len) == 0;
}

static bool has_type(const struct zone_node *n, uint16_t type)
{
	return n && zone_node_rrset(n, type) != NULL;
}

/* ---- the chain ---- */

/* A name holding data (any type but the chain's own), and whether it is a zone cut. */
struct dname {
	uint8_t *name;
	bool cut;
};

/* A member of the chain: its name and (NSEC3) the hash of it. */
struct link {
	uint8_t *name;
	uint8_t hash[NSEC3_HASH_LEN];
};

struct nsec_chain {
	struct nsec_params p;
	uint8_t apex[NAME_MAXLEN];
	int apex_labels;
	uint32_t ttl; /* of the records the index describes */
	struct dname *data; /* canonical order */
	size_t ndata;
	struct link *links; /* chain order: canonical (NSEC) or by hash (NSEC3) */
	size_t nlinks;
	uint16_t *types; /* scratch: a name's types */
};

static bool chain_type(const struct rrset *rs, bool apex)
{
	return rs->type == RR_RRSIG || rs->type == RR_NSEC || rs->type == RR_NSEC3 ||
	       (apex && rs->type == RR_NSEC3PARAM);
}

/* Whether a node holds data: an RRset that is not the chain's own nor signatures. */
static bool node_has_data(const struct zone_node *n, bool apex)
{
	if (!n)
		return false;
	for (uint16_t i = 0; i < n->nrrsets; i++)
		if (!chain_type(&n->rrsets[i], apex))
			return true;
	return false;
}

static int dname_cmp(const void *pa, const void *pb)
{
	return name_cmp(((const struct dname *)pa)->name, ((const struct dname *)pb)->name);
}
static int link_name_cmp(const void *pa, const void *pb)
{
	return name_cmp(((const struct link *)pa)->name, ((const struct link *)pb)->name);
}
static int link_hash_cmp(const void *pa, const void *pb)
{
	return memcmp(((const struct link *)pa)->hash, ((const struct link *)pb)->hash, NSEC3_HASH_LEN);
}
static int (*link_cmp(const struct nsec_chain *c))(const void *, const void *)
{
	return c->p.nsec3 ? link_hash_cmp : link_name_cmp;
}

/* The first index in a sorted array whose element is not below key. */
static size_t lower_bound(const void *base, size_t n, size_t size, const void *key,
                          int (*cmp)(const void *, const void *))
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp((const char *)base + mid * size, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The index of key in a sorted array, or SIZE_MAX. */
static size_t find(const void *base, size_t n, size_t size, const void *key, int (*cmp)(const void *, const void *))
{
	size_t i = lower_bound(base, n, size, key, cmp);
	return i < n && cmp((const char *)base + i * size, key) == 0 ? i : SIZE_MAX;
}

/* Whether some name below name holds data: its descendants follow it in canonical order. */
static bool data_below(const struct dname *data, size_t n, const uint8_t *name)
{
	struct dname key = {(uint8_t *)name, false};
	size_t i = lower_bound(data, n, sizeof(*data), &key, dname_cmp);
	if (i < n && name_equal(data[i].name, name))
		i++;
	return i < n && name_in(data[i].name, name);
}

/* Whether a zone cut (NS below the apex) sits above name. */
static bool occluded(const struct nsec_chain *c, const struct zone *z, const uint8_t *name)
{
	for (const uint8_t *p = name_parent(name); p && name_labels(p) > c->apex_labels; p = name_parent(p))
		if (has_type(zone_find(z, p, name_len(p)), RR_NS))
			return true;
	return false;
}

/* Whether name (lower-cased, in the zone) belongs in the chain of z, given the zone's data names. */
static bool is_member(const struct nsec_chain *c, const struct zone *z, const uint8_t *name, const struct dname *data,
                      size_t ndata)
{
	const struct zone_node *n = zone_find(z, name, name_len(name));
	bool apex = name_labels(name) == c->apex_labels;
	if (apex)
		return true;
	if (occluded(c, z, name))
		return false;
	bool hasdata = node_has_data(n, false);
	if (!c->p.nsec3)
		return hasdata;
	if (!hasdata) /* an empty non-terminal (or nothing at all) */
		return data_below(data, ndata, name);
	return !(c->p.optout && has_type(n, RR_NS) && !has_type(n, RR_DS));
}

/* The types a member's bitmap lists (into c->types); returns their number. */
static size_t member_types(struct nsec_chain *c, const struct zone_node *n, bool apex)
{
	size_t k = 0;
	uint16_t *t = c->types;
	bool nsec3 = c->p.nsec3;
	if (!node_has_data(n, apex))
		return 0; /* an NSEC3 empty non-terminal */
	if (!apex && has_type(n, RR_NS)) { /* a cut: the parent's side only (RFC 4035 2.3) */
		bool ds = has_type(n, RR_DS);
		t[k++] = RR_NS;
		if (ds)
			t[k++] = RR_DS;
		if (!nsec3 || ds)
			t[k++] = RR_RRSIG;
		if (!nsec3)
			t[k++] = RR_NSEC;
		return k;
	}
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i];
		if (rs->type == RR_DYN) { /* the types it answers, for every client; never itself (lib/dyn.h) */
			const struct dyn_resource *r = dyn_rrset_resource(rs);
			if (r && dyn_serves(r, RR_A))
				t[k++] = RR_A;
			if (r && dyn_serves(r, RR_AAAA))
				t[k++] = RR_AAAA;
			if (r && dyn_serves(r, RR_CNAME)) /* a CNAME resource */
				t[k++] = RR_CNAME;
		} else if (!chain_type(rs, apex) && (i == 0 || rs->type != n->rrsets[i - 1].type)) {
			t[k++] = rs->type;
		}
	}
	t[k++] = RR_RRSIG;
	if (!nsec3)
		t[k++] = RR_NSEC;
	else if (apex)
		t[k++] = RR_NSEC3PARAM;
	return k;
}

/* The owner of a link's record. */
static int link_owner(const struct nsec_chain *c, const struct link *l, uint8_t out[NAME_MAXLEN])
{
	if (!c->p.nsec3) {
		size_t len = name_len(l->name);
		memcpy(out, l->name, len);
		return (int)len;
	}
	return nsec3_owner(l->hash, c->apex, out);
}

#define RDATA_MAX (6 + 255 + 1 + NSEC3_HASH_LEN + NAME_MAXLEN + NSEC_BITMAP_MAX)

/* Emits the record of links[i] (next: the link after it, cyclic) unless z already holds it. */
static int emit_link(struct nsec_chain *c, const struct zone *z, const struct link *links, size_t nlinks, size_t i,
                     uint32_t ttl, struct nsec_changes *out)
{
	uint8_t rd[RDATA_MAX], owner[NAME_MAXLEN];
	const struct link *l = &links[i], *next = &links[(i + 1) % nlinks];
	const struct zone_node *n = zone_find(z, l->name, name_len(l->name));
	size_t nt = member_types(c, n, name_labels(l->name) == c->apex_labels), pos;
	uint16_t type;
	if (!c->p.nsec3) {
		type = RR_NSEC;
		pos = name_len(next->name);
		memcpy(rd, next->name, pos);
	} else {
		type = RR_NSEC3;
		rd[0] = NSEC3_HASH_SHA1;
		rd[1] = c->p.optout ? NSEC3_FLAG_OPTOUT : 0;
		wire_put16(rd + 2, c->p.iterations);
		rd[4] = c->p.salt_len;
		memcpy(rd + 5, c->p.salt, c->p.salt_len);
		pos = 5u + c->p.salt_len;
		rd[pos++] = NSEC3_HASH_LEN;
		memcpy(rd + pos, next->hash, NSEC3_HASH_LEN);
		pos += NSEC3_HASH_LEN;
	}
	int bm = nsec_bitmap_write(c->types, nt, rd + pos, sizeof(rd) - pos);
	if (bm < 0)
		return bm;
	pos += (size_t)bm;
	if (link_owner(c, l, owner) < 0)
		return TERN_ENAME;
	if (holds(z, owner, type, ttl, rd, (uint16_t)pos))
		return 0;
	return emit(out, owner, type, ttl, rd, (uint16_t)pos);
}

/* A link for name (copied); the hash computed for NSEC3. */
static int link_make(const struct nsec_chain *c, const uint8_t *name, struct link *l)
{
	size_t len = name_len(name);
	l->name = malloc(len);
	if (!l->name)
		return TERN_ENOMEM;
	memcpy(l->name, name, len);
	if (c->p.nsec3)
		nsec3_hash(name, c->p.salt, c->p.salt_len, c->p.iterations, l->hash);
	else
		memset(l->hash, 0, sizeof(l->hash));
	return 0;
}

static void chain_free_arrays(struct dname *data, size_t ndata, struct link *links, size_t nlinks)
{
	for (size_t i = 0; i < ndata; i++)
		free(data[i].name);
	for (size_t i = 0; i < nlinks; i++)
		free(links[i].name);
	free(data);
	free(links);
}

void nsec_chain_free(struct nsec_chain *c)
{
	if (!c)
		return;
	chain_free_arrays(c->data, c->ndata, c->links, c->nlinks);
	free(c->types);
	free(c);
}

/* Two names with one NSEC3 hash (a SHA-1 collision, or hostile salt games): refused. */
static int collision(const struct link *a, const struct link *b, char *err, size_t errlen)
{
	char ta[1024], tb[1024];
	name_to_text(a->name, ta, sizeof(ta));
	name_to_text(b->name, tb, sizeof(tb));
	snprintf(err, errlen, "names %s and %s have the same NSEC3 hash", ta, tb);
	return TERN_EZONE;
}

static int check_apex(const struct zone *z, const struct nsec_params *p, char *err, size_t errlen)
{
	if (p->nsec3 && 1u + NSEC3_B32_LEN + z->apex_len > NAME_MAXLEN) {
		char text[1024];
		name_to_text(z->apex, text, sizeof(text));
		snprintf(err, errlen,
		         "zone %s cannot use NSEC3: its NSEC3 owners (a %d-character label and the apex) would be %u "
		         "octets, "
		         "more than the %d a name holds",
		         text, NSEC3_B32_LEN, 1u + NSEC3_B32_LEN + z->apex_len, NAME_MAXLEN);
		return TERN_EZONE;
	}
	return 0;
}

/* The NSEC3PARAM the apex should hold, or its deletion. */
static int emit_param(const struct nsec_chain *c, const struct zone *z, struct nsec_changes *out)
{
	uint8_t rd[5 + 255];
	if (!c->p.nsec3)
		return has_type(z->apex_node, RR_NSEC3PARAM) ? emit(out, z->apex, RR_NSEC3PARAM, 0, NULL, 0) : 0;
	int len = nsec3param_rdata(&c->p, rd, sizeof(rd));
	if (holds(z, z->apex, RR_NSEC3PARAM, z->negative_ttl, rd, (uint16_t)len))
		return 0;
	return emit(out, z->apex, RR_NSEC3PARAM, z->negative_ttl, rd, (uint16_t)len);
}

int nsec_chain_build(const struct zone *z, const struct nsec_params *p, struct nsec_chain **out,
                     struct nsec_changes *changes, char *err, size_t errlen)
{
	int rc = check_apex(z, p, err, errlen);
	if (rc < 0)
		return rc;
	const struct zone_node **nodes = NULL;
	size_t nn = 0, keep = changes->n;
	struct nsec_chain *c = calloc(1, sizeof(*c));
	if (!c || zone_nodes_sorted(z, &nodes, &nn) < 0) {
		free(c);
		return TERN_ENOMEM;
	}
	c->p = *p;
	memcpy(c->apex, z->apex, z->apex_len);
	c->apex_labels = z->apex_labels;
	c->ttl = z->negative_ttl;
	c->types = malloc((UINT16_MAX + 4) * sizeof(*c->types));
	c->data = malloc((nn ? nn : 1) * sizeof(*c->data));
	c->links = malloc((nn ? nn : 1) * sizeof(*c->links));
	rc = TERN_ENOMEM;
	if (!c->types || !c->data || !c->links)
		goto fail;
	for (size_t i = 0; i < nn; i++) {
		const struct zone_node *n = nodes[i];
		bool apex = n == z->apex_node;
		if (!node_has_data(n, apex))
			continue;
		struct dname *d = &c->data[c->ndata];
		if (!(d->name = malloc(n->owner_len)))
			goto fail;
		memcpy(d->name, n->owner, n->owner_len);
		d->cut = !apex && has_type(n, RR_NS);
		c->ndata++;
	}
	for (size_t i = 0; i < nn; i++) {
		if (!is_member(c, z, nodes[i]->owner, c->data, c->ndata))
			continue;
		if (link_make(c, nodes[i]->owner, &c->links[c->nlinks]) < 0)
			goto fail;
		c->nlinks++;
	}
	if (c->p.nsec3) {
		qsort(c->links, c->nlinks, sizeof(*c->links), link_hash_cmp);
		for (size_t i = 1; i < c->nlinks; i++)
			if (link_hash_cmp(&c->links[i - 1], &c->links[i]) == 0) {
				rc = collision(&c->links[i - 1], &c->links[i], err, errlen);
				goto fail;
			}
	}
	for (size_t i = 0; i < c->nlinks; i++)
		if ((rc = emit_link(c, z, c->links, c->nlinks, i, c->ttl, changes)) < 0)
			goto fail;
	/* records of the other chain, or of names no longer in this one */
	for (size_t i = 0; i < nn; i++) {
		const struct zone_node *n = nodes[i];
		struct link key = {(uint8_t *)n->owner, {0}};
		bool member = !c->p.nsec3 && find(c->links, c->nlinks, sizeof(key), &key, link_name_cmp) != SIZE_MAX;
		if (has_type(n, RR_NSEC) && !member && (rc = emit(changes, n->owner, RR_NSEC, 0, NULL, 0)) < 0)
			goto fail;
		if (!has_type(n, RR_NSEC3))
			continue;
		bool ours = c->p.nsec3 && nsec3_owner_hash(n->owner, z->apex, key.hash) == 0 &&
		            find(c->links, c->nlinks, sizeof(key), &key, link_hash_cmp) != SIZE_MAX;
		if (!ours && (rc = emit(changes, n->owner, RR_NSEC3, 0, NULL, 0)) < 0)
			goto fail;
	}
	if ((rc = emit_param(c, z, changes)) < 0)
		goto fail;
	free(nodes);
	if (out)
		*out = c;
	else
		nsec_chain_free(c);
	return 0;
fail:
	if (rc == TERN_ENOMEM)
		snprintf(err, errlen, "out of memory building the NSEC chain");
	changes_truncate(changes, keep);
	free(nodes);
	nsec_chain_free(c);
	return rc;
}

/* ---- keeping the chain up to date ---- */

/* old without rem (a sorted subset of it) with add merged in, into out; every array sorted by
 * cmp. Returns the count, or SIZE_MAX when an element of add equals one kept from old. */
static size_t merge(const void *old, size_t n, const void *add, size_t na, const void *rem, size_t nr, size_t size,
                    int (*cmp)(const void *, const void *), void *out)
{
	const char *o = old, *a = add, *r = rem;
	char *w = out;
	size_t i = 0, j = 0, k = 0, m = 0;
	while (i < n || j < na) {
		if (i < n && k < nr && cmp(o + i * size, r + k * size) == 0) {
			i++, k++;
			continue;
		}
		int d = i == n ? 1 : j == na ? -1 : cmp(o + i * size, a + j * size);
		if (d == 0)
			return SIZE_MAX;
		memcpy(w + m++ * size, d < 0 ? o + i++ * size : a + j++ * size, size);
	}
	return m;
}

static int name_ptr_cmp(const void *pa, const void *pb)
{
	return name_cmp(*(const uint8_t *const *)pa, *(const uint8_t *const *)pb);
}
static int size_cmp(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	return (a > b) - (a < b);
}

/* A growing array of name pointers. */
struct names {
	const uint8_t **v;
	size_t n, cap;
};

static int names_push(struct names *s, const uint8_t *name)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		const uint8_t **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return TERN_ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = name;
	return 0;
}

/* name and its ancestors down to (not including) stop labels. */
static int names_push_up(struct names *s, const uint8_t *name, int stop)
{
	for (const uint8_t *p = name; p && name_labels(p) > stop; p = name_parent(p))
		if (names_push(s, p) < 0)
			return TERN_ENOMEM;
	return 0;
}

static void names_unique(struct names *s)
{
	qsort(s->v, s->n, sizeof(*s->v), name_ptr_cmp);
	size_t m = 0;
	for (size_t i = 0; i < s->n; i++)
		if (m == 0 || !name_equal(s->v[m - 1], s->v[i]))
			s->v[m++] = s->v[i];
	s->n = m;
}

/* What one update works with; freed together. */
struct update {
	uint8_t **owned; /* lower-cased copies of the owners */
	size_t nowned;
	struct names touched, cand;
	struct dname *ins, *del, *data; /* data names gained, lost, and the new array */
	size_t nins, ndel, ndata;
	struct link *add, *rem, *links; /* members gained, lost, and the new array */
	size_t nadd, nrem, nlinks;
	size_t *dirty;
	size_t ndirty;
};

static void update_free(struct update *u, bool committed)
{
	for (size_t i = 0; i < u->nowned; i++)
		free(u->owned[i]);
	free(u->owned);
	free(u->touched.v);
	free(u->cand.v);
	if (!committed) { /* new names of a failed update; a committed one now owns them */
		for (size_t i = 0; i < u->nins; i++)
			free(u->ins[i].name);
		for (size_t i = 0; i < u->nadd; i++)
			free(u->add[i].name);
	}
	free(u->ins);
	free(u->del);
	free(u->data);
	free(u->add);
	free(u->rem);
	free(u->links);
	free(u->dirty);
}

/* The data names gained and lost at the touched owners, the new data array, and the candidates
 * whose membership may change: the owners, their ancestors, and (where a cut came or went) every
 * name below it. */
static int update_data(struct nsec_chain *c, const struct zone *z, struct update *u)
{
	size_t nt = u->touched.n;
	bool *cutflip = calloc(nt ? nt : 1, sizeof(*cutflip));
	u->ins = malloc((nt ? nt : 1) * sizeof(*u->ins));
	u->del = malloc((nt ? nt : 1) * sizeof(*u->del));
	u->data = malloc((c->ndata + nt + 1) * sizeof(*u->data));
	int rc = TERN_ENOMEM;
	if (!cutflip || !u->ins || !u->del || !u->data)
		goto out;
	for (size_t i = 0; i < nt; i++) {
		const uint8_t *t = u->touched.v[i];
		const struct zone_node *n = zone_find(z, t, name_len(t));
		bool apex = name_labels(t) == c->apex_labels, now = node_has_data(n, apex);
		bool cut = now && !apex && has_type(n, RR_NS);
		struct dname key = {(uint8_t *)t, false};
		size_t at = find(c->data, c->ndata, sizeof(key), &key, dname_cmp);
		bool was = at != SIZE_MAX, wascut = was && c->data[at].cut;
		if (was && !now)
			u->del[u->ndel++] = c->data[at];
		if (!was && now) {
			size_t len = name_len(t);
			struct dname d = {malloc(len), cut};
			if (!d.name)
				goto out;
			memcpy(d.name, t, len);
			u->ins[u->nins++] = d;
		}
		cutflip[i] = wascut != cut;
	}
	u->ndata = merge(c->data, c->ndata, u->ins, u->nins, u->del, u->ndel, sizeof(*u->data), dname_cmp, u->data);
	for (size_t i = 0; i < nt; i++) { /* names kept whose cut flag moved */
		struct dname key = {(uint8_t *)u->touched.v[i], false};
		size_t at = find(u->data, u->ndata, sizeof(key), &key, dname_cmp);
		if (at != SIZE_MAX && cutflip[i])
			u->data[at].cut = !u->data[at].cut;
	}
	for (size_t i = 0; i < nt; i++) {
		const uint8_t *t = u->touched.v[i];
		if (names_push_up(&u->cand, t, c->apex_labels - 1) < 0)
			goto out;
		if (!cutflip[i])
			continue;
		struct dname key = {(uint8_t *)t, false};
		int tl = name_labels(t);
		for (size_t k = lower_bound(u->data, u->ndata, sizeof(key), &key, dname_cmp);
		     k < u->ndata && name_in(u->data[k].name, t); k++)
			if (names_push_up(&u->cand, u->data[k].name, tl) < 0)
				goto out;
	}
	names_unique(&u->cand);
	rc = 0;
out:
	free(cutflip);
	return rc;
}

/* The members gained and lost among the candidates, the new links array, and the links whose
 * records must be written again. */
static int update_links(struct nsec_chain *c, const struct zone *z, struct update *u, bool all, char *err,
                        size_t errlen)
{
	size_t nc = u->cand.n;
	int (*cmp)(const void *, const void *) = link_cmp(c);
	u->add = malloc((nc ? nc : 1) * sizeof(*u->add));
	u->rem = malloc((nc ? nc : 1) * sizeof(*u->rem));
	u->links = malloc((c->nlinks + nc + 1) * sizeof(*u->links));
	if (!u->add || !u->rem || !u->links)
		return TERN_ENOMEM;
	for (size_t i = 0; i < nc; i++) {
		const uint8_t *name = u->cand.v[i];
		struct link key = {(uint8_t *)name, {0}};
		if (c->p.nsec3)
			nsec3_hash(name, c->p.salt, c->p.salt_len, c->p.iterations, key.hash);
		size_t at = find(c->links, c->nlinks, sizeof(key), &key, cmp);
		if (at != SIZE_MAX && !name_equal(c->links[at].name, name))
			return collision(&c->links[at], &key, err, errlen);
		bool was = at != SIZE_MAX, now = is_member(c, z, name, u->data, u->ndata);
		if (was && !now)
			u->rem[u->nrem++] = c->links[at];
		if (!was && now) {
			if (link_make(c, name, &u->add[u->nadd]) < 0)
				return TERN_ENOMEM;
			u->nadd++;
		}
	}
	qsort(u->add, u->nadd, sizeof(*u->add), cmp);
	qsort(u->rem, u->nrem, sizeof(*u->rem), cmp);
	for (size_t i = 1; i < u->nadd; i++)
		if (cmp(&u->add[i - 1], &u->add[i]) == 0)
			return collision(&u->add[i - 1], &u->add[i], err, errlen);
	u->nlinks = merge(c->links, c->nlinks, u->add, u->nadd, u->rem, u->nrem, sizeof(*u->links), cmp, u->links);
	if (u->nlinks == SIZE_MAX)
		return collision(&u->add[0], &u->add[0], err, errlen); /* checked above: cannot happen */
	/* dirty: every candidate still a member, and the predecessor of every link gained or lost */
	size_t cap = all ? u->nlinks : nc + u->nadd + u->nrem;
	u->dirty = malloc((cap ? cap : 1) * sizeof(*u->dirty));
	if (!u->dirty)
		return TERN_ENOMEM;
	if (all) {
		for (size_t i = 0; i < u->nlinks; i++)
			u->dirty[u->ndirty++] = i;
		return 0;
	}
	for (size_t i = 0; i < nc; i++) {
		struct link key = {(uint8_t *)u->cand.v[i], {0}};
		if (c->p.nsec3)
			nsec3_hash(key.name, c->p.salt, c->p.salt_len, c->p.iterations, key.hash);
		size_t at = find(u->links, u->nlinks, sizeof(key), &key, cmp);
		if (at != SIZE_MAX)
			u->dirty[u->ndirty++] = at;
	}
	for (size_t i = 0; i < u->nadd + u->nrem; i++) {
		const struct link *l = i < u->nadd ? &u->add[i] : &u->rem[i - u->nadd];
		size_t at = lower_bound(u->links, u->nlinks, sizeof(*l), l, cmp);
		u->dirty[u->ndirty++] = (at + u->nlinks - 1) % u->nlinks;
	}
	qsort(u->dirty, u->ndirty, sizeof(*u->dirty), size_cmp);
	return 0;
}

int nsec_chain_update(struct nsec_chain *c, const struct zone *z, const uint8_t *const *owners, size_t n,
                      struct nsec_changes *out, char *err, size_t errlen)
{
	if (!name_equal(z->apex, c->apex)) {
		snprintf(err, errlen, "the NSEC chain index is of another zone");
		return TERN_EINVAL;
	}
	struct update u = {0};
	size_t keep = out->n;
	int rc = TERN_ENOMEM;
	u.owned = malloc((n ? n : 1) * sizeof(*u.owned));
	if (!u.owned)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		size_t len = name_len(owners[i]);
		if (!name_in(owners[i], c->apex))
			continue; /* zone_apply() refuses such changes: nothing of this zone moved */
		if (!(u.owned[u.nowned] = malloc(len)))
			goto fail;
		name_lower_copy(u.owned[u.nowned], owners[i], len);
		if (names_push(&u.touched, u.owned[u.nowned++]) < 0)
			goto fail;
	}
	names_unique(&u.touched);
	bool all = z->negative_ttl != c->ttl; /* the SOA's TTL or MINIMUM moved: every record's TTL */
	if ((rc = update_data(c, z, &u)) < 0 || (rc = update_links(c, z, &u, all, err, errlen)) < 0)
		goto fail;
	for (size_t i = 0; i < u.ndirty; i++) {
		if (i > 0 && u.dirty[i] == u.dirty[i - 1])
			continue;
		if ((rc = emit_link(c, z, u.links, u.nlinks, u.dirty[i], z->negative_ttl, out)) < 0)
			goto fail;
	}
	for (size_t i = 0; i < u.nrem; i++) {
		uint8_t owner[NAME_MAXLEN];
		uint16_t type = c->p.nsec3 ? RR_NSEC3 : RR_NSEC;
		if (link_owner(c, &u.rem[i], owner) < 0)
			continue;
		if (has_type(zone_find(z, owner, name_len(owner)), type) &&
		    (rc = emit(out, owner, type, 0, NULL, 0)) < 0)
			goto fail;
	}
	if (all && (rc = emit_param(c, z, out)) < 0)
		goto fail;
	/* commit: the names lost go, the new arrays replace the old */
	for (size_t i = 0; i < u.ndel; i++)
		free(u.del[i].name);
	for (size_t i = 0; i < u.nrem; i++)
		free(u.rem[i].name);
	free(c->data);
	free(c->links);
	c->data = u.data;
	c->ndata = u.ndata;
	c->links = u.links;
	c->nlinks = u.nlinks;
	c->ttl = z->negative_ttl;
	u.data = NULL;
	u.links = NULL;
	update_free(&u, true);
	return 0;
fail:
	if (rc == TERN_ENOMEM)
		snprintf(err, errlen, "out of memory updating the NSEC chain");
	changes_truncate(out, keep);
	update_free(&u, false);
	return rc;
}
