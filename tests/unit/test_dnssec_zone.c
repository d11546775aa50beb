/* lib/dnssec_zone.c: a zone with a delegation, glue, a wildcard and empty non-terminals signed
 * whole (every RRSIG verified, the chain checked, nothing at glue, only DS/NSEC at cuts), and
 * re-signed batch by batch under random changes to equal a signing from scratch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/dnssec.h"
#include "lib/dnssec_zone.h"
#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/nsec.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "lib/zonefile.h"

#define NOW 1764000000

static const char *ZONE = "$ORIGIN example.\n$TTL 3600\n"
                          "@ 600 SOA ns1 hostmaster 1 7200 900 1209600 3600\n"
                          "@ NS ns1\n@ MX 10 mail\n"
                          "ns1 A 192.0.2.1\nmail A 192.0.2.2\nmail 300 AAAA 2001:db8::2\n"
                          "sub NS ns.sub\nsub A 192.0.2.99\nns.sub A 192.0.2.53\nx.y.sub TXT \"occluded\"\n"
                          "sec NS ns1\nsec DS 1 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
                          "*.wild TXT \"w\"\n"
                          "a.b.c.ent AAAA 2001:db8::1\n";

static struct zone *load(const char *text)
{
	uint8_t apex[NAME_MAXLEN];
	struct zone *z = NULL;
	char err[2048];
	assert_true(name_from_text(apex, "example.", NULL) > 0);
	if (zonefile_load_string(text, strlen(text), "t", apex, &z, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return z;
}

static struct zone *advance(struct zone *z, const struct zone_change *v, size_t n)
{
	struct zone *next = NULL;
	struct zone_apply_error e;
	if (zone_apply(z, v, n, &next, &e) < 0)
		fail_msg("zone_apply: %s", e.msg);
	zone_supersede(z, next);
	zone_free(z);
	return next;
}

struct keyset {
	struct dnssec_zone_key k[3];
	struct dnssec_key *own[3];
	size_t n;
};

static void keys_make(struct keyset *ks, uint8_t alg, bool csk)
{
	char err[256];
	memset(ks, 0, sizeof(*ks));
	ks->n = csk ? 1 : 2;
	for (size_t i = 0; i < ks->n; i++) {
		assert_int_equal(
		    dnssec_key_generate(alg, i == 0 ? DNSSEC_KSK : DNSSEC_ZSK, &ks->own[i], err, sizeof(err)), 0);
		ks->k[i] = (struct dnssec_zone_key){ks->own[i], DNSSEC_ZONE_PUBLISH | DNSSEC_ZONE_SIGN};
	}
}

static void keys_free(struct keyset *ks)
{
	for (size_t i = 0; i < 3; i++)
		dnssec_key_free(ks->own[i]);
}

static const struct dnssec_key *key_by_tag(const struct keyset *ks, uint16_t tag)
{
	for (size_t i = 0; i < ks->n; i++)
		if (dnssec_key_tag(ks->k[i].key) == tag)
			return ks->k[i].key;
	return NULL;
}

/* z signed from scratch (index kept in *idx when idx is not NULL). */
static struct zone *signed_zone(struct zone *z, const struct keyset *ks, const struct dnssec_zone_policy *p,
                                struct nsec_chain **idx)
{
	struct nsec_changes ch = {0};
	char err[1024];
	if (dnssec_zone_sign(z, ks->k, ks->n, p, NOW, idx, &ch, err, sizeof(err)) < 0)
		fail_msg("dnssec_zone_sign: %s", err);
	z = advance(z, ch.v, ch.n);
	nsec_changes_free(&ch);
	return z;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks every signature of z: each RRSIG verifies its RRset with the key of its tag, each
 * authoritative RRset is signed by exactly the keys that should sign it, nothing else is signed.
 * Writes one sorted line per RRSIG (all but the signature bytes) into *out (malloc'd). */
static void check_signed(const struct zone *z, const struct keyset *ks, const struct dnssec_zone_policy *p, char **out)
{
	const struct zone_node **nodes;
	size_t nn;
	assert_int_equal(zone_nodes_sorted(z, &nodes, &nn), 0);
	struct dnssec_scratch s;
	dnssec_scratch_init(&s);
	size_t cap = 1024, nl = 0, total = 1;
	char **lines = malloc(cap * sizeof(*lines));
	bool ksk = false, zsk = false;
	for (size_t i = 0; i < ks->n; i++)
		(dnssec_key_flags(ks->k[i].key) & DNSSEC_FLAG_SEP) ? (ksk = true) : (zsk = true);
	for (size_t i = 0; i < nn; i++) {
		const struct zone_node *n = nodes[i];
		char owner[1024], tb[16], err[256];
		name_to_text(n->owner, owner, sizeof(owner));
		bool below = false;
		for (const uint8_t *a = name_parent(n->owner); a && name_labels(a) > z->apex_labels;
		     a = name_parent(a)) {
			const struct zone_node *an = zone_find(z, a, name_len(a));
			below |= an && (an->flags & NODE_DELEG);
		}
		bool cut = n->flags & NODE_DELEG;
		for (uint16_t j = 0; j < n->nrrsets; j++) {
			const struct rrset *rs = &n->rrsets[j];
			if (rs->type == RR_RRSIG)
				continue;
			const struct rrset *g = zone_node_rrsig(n, rs->type);
			bool want =
			    !below && (!cut || rs->type == RR_DS || rs->type == RR_NSEC || rs->type == RR_NSEC3);
			if (!want) {
				if (g)
					fail_msg("%s %s: signed but should not be", owner, rr_type_name(rs->type, tb));
				continue;
			}
			if (!g)
				fail_msg("%s %s: not signed", owner, rr_type_name(rs->type, tb));
			assert_int_equal(g->ttl, rs->ttl);
			bool kt = rs->type == RR_DNSKEY;
			size_t expect = 0;
			for (size_t k = 0; k < ks->n; k++) {
				bool sep = dnssec_key_flags(ks->k[k].key) & DNSSEC_FLAG_SEP;
				expect += kt ? (sep || !ksk) : (!sep || !zsk);
			}
			if (g->count != expect)
				fail_msg("%s %s: %u signatures, want %zu", owner, rr_type_name(rs->type, tb), g->count,
				         expect);
			struct dnssec_rrset set = {n->owner, rs->type, rs->ttl, rs->count, rs->rdata, rs->rdata_size};
			const uint8_t *rec = g->rdata;
			for (uint16_t r = 0; r < g->count; r++, rec = rdata_next(rec)) {
				struct dnssec_rrsig sig;
				assert_int_equal(dnssec_rrsig_parse(rdata_bytes(rec), rdata_len(rec), &sig), 0);
				const struct dnssec_key *k = key_by_tag(ks, sig.key_tag);
				assert_non_null(k);
				if (dnssec_verify(k, &set, rdata_bytes(rec), rdata_len(rec), NOW, &s, err,
				                  sizeof(err)) < 0)
					fail_msg("%s %s: %s", owner, rr_type_name(rs->type, tb), err);
				assert_true(name_equal(sig.signer, z->apex));
				assert_int_equal(sig.expiration, (uint32_t)(NOW + p->validity));
				assert_int_equal(sig.inception, (uint32_t)(NOW - p->inception));
				if (nl == cap)
					lines = realloc(lines, (cap *= 2) * sizeof(*lines));
				char line[1200];
				snprintf(line, sizeof(line), "%s %u RRSIG %s %u %u %u %u %u %u\n", owner, g->ttl,
				         rr_type_name(sig.covered, tb), sig.alg, sig.labels, sig.original_ttl,
				         sig.expiration, sig.inception, sig.key_tag);
				lines[nl++] = strdup(line);
				total += strlen(line);
			}
		}
		/* no signatures of RRsets that are not there */
		uint16_t groups;
		const struct rrset *gs = zone_node_rrsets(n, RR_RRSIG, &groups);
		for (uint16_t k = 0; k < groups; k++)
			if (!zone_node_rrset(n, gs[k].covered))
				fail_msg("%s: RRSIG over %s, which is not there", owner,
				         rr_type_name(gs[k].covered, tb));
	}
	qsort(lines, nl, sizeof(*lines), line_cmp);
	*out = malloc(total);
	(*out)[0] = 0;
	for (size_t i = 0, pos = 0; i < nl; i++) {
		size_t len = strlen(lines[i]);
		memcpy(*out + pos, lines[i], len + 1);
		pos += len;
		free(lines[i]);
	}
	free(lines);
	free(nodes);
	dnssec_scratch_free(&s);
	/* the chain is exactly the one a build gives */
	struct nsec_changes ch = {0};
	char err[256];
	assert_int_equal(nsec_chain_build(z, &p->nsec, NULL, &ch, err, sizeof(err)), 0);
	assert_int_equal(ch.n, 0);
	/* and the DNSKEY RRset holds the keys */
	const struct rrset *dk = zone_node_rrset(z->apex_node, RR_DNSKEY);
	assert_non_null(dk);
	assert_int_equal(dk->count, ks->n);
	assert_int_equal(dk->ttl, p->dnskey_ttl);
}

static struct dnssec_zone_policy policy(bool nsec3)
{
	struct dnssec_zone_policy p = {.dnskey_ttl = 7200, .validity = 14 * 86400, .inception = 3600};
	p.nsec.nsec3 = nsec3;
	return p;
}

static const struct rrset *at(const struct zone *z, const char *name, uint16_t type)
{
	uint8_t o[NAME_MAXLEN];
	assert_true(name_from_text(o, name, NULL) > 0);
	const struct zone_node *n = zone_find(z, o, name_len(o));
	return n ? (type == RR_RRSIG ? zone_node_rrset(n, RR_RRSIG) : zone_node_rrset(n, type)) : NULL;
}

static void sign_whole(uint8_t alg, bool nsec3, bool csk)
{
	struct keyset ks;
	keys_make(&ks, alg, csk);
	struct dnssec_zone_policy p = policy(nsec3);
	struct zone *z = signed_zone(load(ZONE), &ks, &p, NULL);
	char *sum;
	check_signed(z, &ks, &p, &sum);
	assert_true(zone_signed(z));
	/* glue and occluded names carry nothing; the insecure cut only its NSEC (NSEC) or nothing */
	assert_null(at(z, "ns.sub.example.", RR_RRSIG));
	assert_null(at(z, "x.y.sub.example.", RR_RRSIG));
	assert_null(at(z, "sub.example.", RR_NSEC3));
	assert_non_null(strstr(sum, "sec.example. 3600 RRSIG DS"));
	assert_null(strstr(sum, "sec.example. 3600 RRSIG NS"));
	assert_non_null(strstr(sum, "*.wild.example. 3600 RRSIG TXT 13") ||
	                strstr(sum, "*.wild.example. 3600 RRSIG TXT 15"));
	assert_non_null(strstr(sum, "mail.example. 300 RRSIG AAAA"));
	if (nsec3)
		assert_non_null(strstr(sum, "example. 600 RRSIG NSEC3PARAM"));
	else
		assert_non_null(strstr(sum, "sub.example. 600 RRSIG NSEC"));
	/* signing the signed zone again: the same structure (the signatures are new) */
	struct zone *again = signed_zone(z, &ks, &p, NULL);
	char *sum2;
	check_signed(again, &ks, &p, &sum2);
	assert_string_equal(sum, sum2);
	free(sum);
	free(sum2);
	zone_free(again);
	keys_free(&ks);
}

static void test_sign_nsec_ecdsa(void **state)
{
	(void)state;
	sign_whole(DNSSEC_ALG_ECDSAP256SHA256, false, false);
}

static void test_sign_nsec3_ed25519(void **state)
{
	(void)state;
	sign_whole(DNSSEC_ALG_ED25519, true, false);
}

static void test_sign_csk(void **state)
{
	(void)state;
	sign_whole(DNSSEC_ALG_ECDSAP256SHA256, true, true);
	sign_whole(DNSSEC_ALG_ED25519, false, true);
}

/* Switching NSEC -> NSEC3: the old chain and its signatures go. */
static void test_sign_switch_chain(void **state)
{
	(void)state;
	struct keyset ks;
	keys_make(&ks, DNSSEC_ALG_ECDSAP256SHA256, false);
	struct dnssec_zone_policy p = policy(false);
	struct zone *z = signed_zone(load(ZONE), &ks, &p, NULL);
	p = policy(true);
	z = signed_zone(z, &ks, &p, NULL);
	char *sum;
	check_signed(z, &ks, &p, &sum);
	assert_null(strstr(sum, "RRSIG NSEC "));
	assert_null(at(z, "mail.example.", RR_NSEC));
	free(sum);
	zone_free(z);
	keys_free(&ks);
}

static void test_sign_refused(void **state)
{
	(void)state;
	struct keyset ks;
	keys_make(&ks, DNSSEC_ALG_ECDSAP256SHA256, false);
	struct dnssec_zone_policy p = policy(false);
	struct zone *z = load(ZONE);
	struct nsec_changes ch = {0};
	char err[256];
	/* a public-only key cannot sign */
	uint8_t rd[DNSSEC_DNSKEY_MAX];
	int len = dnssec_key_dnskey(ks.own[1], rd, sizeof(rd));
	struct dnssec_key *pub;
	assert_int_equal(dnssec_key_from_dnskey(rd, (size_t)len, &pub, err, sizeof(err)), 0);
	struct dnssec_zone_key bad[2] = {ks.k[0], {pub, DNSSEC_ZONE_PUBLISH | DNSSEC_ZONE_SIGN}};
	assert_int_equal(dnssec_zone_sign(z, bad, 2, &p, NOW, NULL, &ch, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "private key"));
	/* but may be published */
	bad[1].use = DNSSEC_ZONE_PUBLISH;
	assert_int_equal(dnssec_zone_sign(z, bad, 2, &p, NOW, NULL, &ch, err, sizeof(err)), 0);
	nsec_changes_free(&ch);
	/* nothing published, no use, validity 0 */
	struct dnssec_zone_key only_sign[1] = {{ks.own[0], DNSSEC_ZONE_SIGN}};
	assert_int_equal(dnssec_zone_sign(z, only_sign, 1, &p, NOW, NULL, &ch, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "published"));
	struct dnssec_zone_key none[1] = {{ks.own[0], 0}};
	assert_int_equal(dnssec_zone_sign(z, none, 1, &p, NOW, NULL, &ch, err, sizeof(err)), TERN_EINVAL);
	p.validity = 0;
	assert_int_equal(dnssec_zone_sign(z, ks.k, 2, &p, NOW, NULL, &ch, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "validity"));
	assert_int_equal(ch.n, 0);
	/* resign: the signer's own types are refused with owner and type */
	p = policy(false);
	struct nsec_chain *idx = NULL;
	z = signed_zone(z, &ks, &p, &idx);
	struct zone_change c = {.owner = z->apex, .type = RR_NSEC, .count = 0};
	assert_int_equal(dnssec_zone_resign(z, &idx, &c, 1, ks.k, 2, &p, NOW, &ch, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "example. NSEC"));
	c.type = RR_DNSKEY;
	assert_int_equal(dnssec_zone_resign(z, &idx, &c, 1, ks.k, 2, &p, NOW, &ch, err, sizeof(err)), TERN_EINVAL);
	/* a batch the zone refuses: its message, the index kept */
	c.type = RR_SOA;
	assert_int_equal(dnssec_zone_resign(z, &idx, &c, 1, ks.k, 2, &p, NOW, &ch, err, sizeof(err)), TERN_EZONE);
	assert_non_null(idx);
	assert_int_equal(ch.n, 0);
	nsec_chain_free(idx);
	dnssec_key_free(pub);
	zone_free(z);
	keys_free(&ks);
}

/* One change: only the touched names' signatures are new; the others are kept byte for byte. */
static void test_resign_keeps_others(void **state)
{
	(void)state;
	struct keyset ks;
	keys_make(&ks, DNSSEC_ALG_ECDSAP256SHA256, false);
	struct dnssec_zone_policy p = policy(false);
	struct nsec_chain *idx = NULL;
	struct zone *z = signed_zone(load(ZONE), &ks, &p, &idx);
	const struct rrset *before = at(z, "ns1.example.", RR_RRSIG);
	uint8_t keep[512];
	assert_true(before->rdata_size < sizeof(keep));
	memcpy(keep, before->rdata, before->rdata_size);
	uint8_t owner[NAME_MAXLEN], rd[6] = {0, 4, 192, 0, 2, 7};
	name_from_text(owner, "mail.example.", NULL);
	struct zone_change c = {.owner = owner, .type = RR_A, .ttl = 300, .count = 1, .rdata = rd, .rdata_size = 6};
	struct nsec_changes ch = {0};
	char err[256];
	assert_int_equal(dnssec_zone_resign(z, &idx, &c, 1, ks.k, 2, &p, NOW + 10, &ch, err, sizeof(err)), 0);
	/* the A, mail's RRSIGs, the apex RRSIGs (SOA) */
	assert_int_equal(ch.n, 3);
	z = advance(z, ch.v, ch.n);
	nsec_changes_free(&ch);
	const struct rrset *after = at(z, "ns1.example.", RR_RRSIG);
	assert_int_equal(after->rdata_size, before->rdata_size);
	assert_memory_equal(after->rdata, keep, after->rdata_size);
	/* mail's A is signed anew (inception moved), its AAAA kept */
	struct dnssec_rrsig sa, saaaa;
	const struct rrset *ga = at(z, "mail.example.", RR_RRSIG);
	uint8_t m[NAME_MAXLEN];
	name_from_text(m, "mail.example.", NULL);
	const struct zone_node *mn = zone_find(z, m, name_len(m));
	ga = zone_node_rrsig(mn, RR_A);
	assert_int_equal(dnssec_rrsig_parse(rdata_bytes(ga->rdata), rdata_len(ga->rdata), &sa), 0);
	const struct rrset *g6 = zone_node_rrsig(mn, RR_AAAA);
	assert_int_equal(dnssec_rrsig_parse(rdata_bytes(g6->rdata), rdata_len(g6->rdata), &saaaa), 0);
	assert_int_equal(sa.inception, NOW + 10 - 3600);
	assert_int_equal(saaaa.inception, NOW - 3600);
	assert_int_equal(ga->ttl, 300);
	nsec_chain_free(idx);
	zone_free(z);
	keys_free(&ks);
}

/* A CSK marked DNSSEC_ZONE_ALL signs the data beside a ZSK (a rollover between the schemes); without
 * the mark a SEP key beside a signing ZSK signs only the DNSKEY RRset. */
static void test_csk_beside_zsk(void **state)
{
	(void)state;
	char err[256];
	for (int all = 0; all <= 1; all++) {
		struct keyset ks;
		keys_make(&ks, DNSSEC_ALG_ECDSAP256SHA256, false);
		assert_int_equal(
		    dnssec_key_generate(DNSSEC_ALG_ECDSAP256SHA256, DNSSEC_KSK, &ks.own[2], err, sizeof(err)), 0);
		ks.k[2] = (struct dnssec_zone_key){ks.own[2], DNSSEC_ZONE_SIGN | (all ? DNSSEC_ZONE_ALL : 0u)};
		ks.n = 3;
		struct dnssec_zone_policy p = policy(false);
		struct zone *z = signed_zone(load(ZONE), &ks, &p, NULL);
		uint8_t m[NAME_MAXLEN];
		name_from_text(m, "mail.example.", NULL);
		const struct rrset *sigs = zone_node_rrsig(zone_find(z, m, name_len(m)), RR_A);
		assert_int_equal(sigs->count, all ? 2 : 1);
		const struct zone_node *apex = zone_find(z, z->apex, name_len(z->apex));
		assert_int_equal(zone_node_rrsig(apex, RR_DNSKEY)->count, 2);
		assert_int_equal(zone_node_rrset(apex, RR_DNSKEY)->count, 2); /* the CSK is not published */
		zone_free(z);
		keys_free(&ks);
	}
}

/* Every RRSIG expiration of z (seconds after NOW, RFC 1982), into v (cap), their number. */
static size_t expirations(const struct zone *z, int64_t *v, size_t cap)
{
	const struct zone_node **nodes;
	size_t nn, n = 0;
	assert_int_equal(zone_nodes_sorted(z, &nodes, &nn), 0);
	for (size_t i = 0; i < nn; i++) {
		for (uint16_t k = 0; k < nodes[i]->nrrsets; k++) {
			const struct rrset *rs = &nodes[i]->rrsets[k];
			const uint8_t *rec = rs->rdata;
			for (uint16_t r = 0; rs->type == RR_RRSIG && r < rs->count; r++, rec = rdata_next(rec)) {
				struct dnssec_rrsig sig;
				assert_int_equal(dnssec_rrsig_parse(rdata_bytes(rec), rdata_len(rec), &sig), 0);
				assert_true(n < cap);
				v[n++] = (int32_t)(sig.expiration - (uint32_t)NOW);
			}
		}
	}
	free(nodes);
	return n;
}

/* Every RRSIG of z verifies at now with the key of its tag. */
static void verify_all(const struct zone *z, const struct keyset *ks, int64_t now)
{
	const struct zone_node **nodes;
	size_t nn, checked = 0;
	char err[256];
	struct dnssec_scratch s;
	dnssec_scratch_init(&s);
	assert_int_equal(zone_nodes_sorted(z, &nodes, &nn), 0);
	for (size_t i = 0; i < nn; i++) {
		const struct zone_node *n = nodes[i];
		for (uint16_t k = 0; k < n->nrrsets; k++) {
			const struct rrset *rs = &n->rrsets[k], *g = NULL;
			if (rs->type == RR_RRSIG || !(g = zone_node_rrsig(n, rs->type)))
				continue;
			struct dnssec_rrset set = {n->owner, rs->type, rs->ttl, rs->count, rs->rdata, rs->rdata_size};
			const uint8_t *rec = g->rdata;
			for (uint16_t r = 0; r < g->count; r++, rec = rdata_next(rec), checked++) {
				struct dnssec_rrsig sig;
				assert_int_equal(dnssec_rrsig_parse(rdata_bytes(rec), rdata_len(rec), &sig), 0);
				const struct dnssec_key *key = key_by_tag(ks, sig.key_tag);
				assert_non_null(key);
				if (dnssec_verify(key, &set, rdata_bytes(rec), rdata_len(rec), now, &s, err,
				                  sizeof(err)) < 0)
					fail_msg("%s", err);
			}
		}
	}
	assert_true(checked > 10);
	free(nodes);
	dnssec_scratch_free(&s);
}

/* Jitter spreads expirations within [validity - jitter, validity]; a refresh re-signs exactly what
 * expires within refresh (the rest byte for byte), reports the next expiration, and leaves a zone
 * every signature of which still verifies and has more than refresh left. */
static void test_refresh_and_jitter(void **state)
{
	(void)state;
	struct keyset ks;
	keys_make(&ks, DNSSEC_ALG_ED25519, false);
	struct dnssec_zone_policy p = policy(true);
	p.validity = 1000;
	p.jitter = 400;
	struct zone *z = signed_zone(load(ZONE), &ks, &p, NULL);
	int64_t exp[256], lo = INT64_MAX, hi = 0;
	size_t n = expirations(z, exp, 256);
	size_t distinct = 0;
	for (size_t i = 0; i < n; i++) {
		lo = exp[i] < lo ? exp[i] : lo;
		hi = exp[i] > hi ? exp[i] : hi;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = exp[j] == exp[i];
		distinct += !seen;
	}
	assert_true(lo >= 600 && hi <= 1000);
	assert_true(distinct > 3); /* spread, not all at one moment */
	assert_int_equal(dnssec_zone_next_expiry(z, NOW), NOW + lo);

	/* at NOW + 300 with refresh 500: due are those expiring by NOW + 800 */
	int64_t at = NOW + 300, next = 0;
	size_t due = 0;
	for (size_t i = 0; i < n; i++)
		due += exp[i] <= 800;
	struct nsec_changes ch = {0};
	char err[256];
	p.jitter = 0; /* the new ones expire at at + 1000 exactly */
	assert_int_equal(dnssec_zone_refresh(z, ks.k, ks.n, &p, at, 500, &ch, &next, err, sizeof(err)), 0);
	assert_true(due > 0 && due < n);
	assert_true(ch.n > 0);
	for (size_t i = 0; i < ch.n; i++)
		assert_int_equal(ch.v[i].type, RR_RRSIG);
	z = advance(z, ch.v, ch.n);
	nsec_changes_free(&ch);
	int64_t after[256];
	assert_int_equal(expirations(z, after, 256), n);
	int64_t least = INT64_MAX;
	size_t renewed = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(after[i] > 800); /* nothing left that expires within refresh */
		renewed += after[i] == 1300;
		least = after[i] < least ? after[i] : least;
	}
	assert_int_equal(renewed, due);
	assert_int_equal(next, NOW + least);
	verify_all(z, &ks, at);
	/* nothing due: no change, the same next */
	int64_t again = 0;
	assert_int_equal(dnssec_zone_refresh(z, ks.k, ks.n, &p, at, 500, &ch, &again, err, sizeof(err)), 0);
	assert_int_equal(ch.n, 0);
	assert_int_equal(again, next);
	/* a key that no longer signs: everything it made is due, whatever its expiration */
	struct keyset other;
	keys_make(&other, DNSSEC_ALG_ED25519, false);
	assert_int_equal(dnssec_zone_refresh(z, other.k, other.n, &p, at, 500, &ch, &again, err, sizeof(err)), 0);
	assert_true(ch.n > 0);
	nsec_changes_free(&ch);
	keys_free(&other);
	/* jitter at or above validity is refused */
	p.jitter = p.validity;
	assert_int_equal(dnssec_zone_refresh(z, ks.k, ks.n, &p, at, 500, &ch, &again, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "jitter"));
	zone_free(z);
	keys_free(&ks);
}

/* A runner that calls the parts last to first on this thread: the result may not depend on it. */
static unsigned parts_run;
static void run_backwards(void *ctx, unsigned parts, void (*work)(void *arg, unsigned i), void *arg)
{
	(void)ctx;
	for (unsigned i = parts; i-- > 0;) {
		work(arg, i);
		parts_run++;
	}
}

/* A zone of 7,000 names with delegations (and names below them) across the slices, one cut with
 * 2,000 names below it, signed in 4 parts: the same signatures as in one part (all but the
 * signature bytes), so nothing below a cut is signed whichever slice it starts. */
static void test_sign_in_parts(void **state)
{
	(void)state;
	size_t cap = 400000, len = 0;
	char *text = malloc(cap);
	len += (size_t)snprintf(text + len, cap - len, "%s", ZONE);
	/* 2,000 names below one cut: some slice starts among them (cut_above) */
	len += (size_t)snprintf(text + len, cap - len, "m NS ns.m\nns.m A 192.0.2.2\n");
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(text + len, cap - len, "o%04d.m A 192.0.2.3\n", i);
	for (int i = 0; i < 5000; i++) {
		if (i % 97 == 0)
			len += (size_t)snprintf(text + len, cap - len,
			                        "d%04d NS ns.d%04d\nns.d%04d A 192.0.2.1\n"
			                        "x.y.d%04d TXT \"occluded\"\n",
			                        i, i, i, i);
		else
			len += (size_t)snprintf(text + len, cap - len, "n%04d A 192.0.2.%d\n", i, i % 250 + 1);
	}
	struct keyset ks;
	keys_make(&ks, DNSSEC_ALG_ED25519, false);
	struct dnssec_zone_policy p = policy(false);
	char *one, *four, err[256];
	struct zone *z = signed_zone(load(text), &ks, &p, NULL);
	check_signed(z, &ks, &p, &one);
	zone_free(z);
	struct dnssec_zone_runner runner = {4, run_backwards, NULL};
	struct nsec_changes ch = {0};
	z = load(text);
	parts_run = 0;
	assert_int_equal(dnssec_zone_sign_parts(z, ks.k, ks.n, &p, NOW, &runner, NULL, &ch, err, sizeof(err)), 0);
	assert_int_equal(parts_run, 4);
	z = advance(z, ch.v, ch.n);
	nsec_changes_free(&ch);
	check_signed(z, &ks, &p, &four);
	assert_string_equal(one, four);
	zone_free(z);
	/* a small zone stays one part, on the caller's thread */
	z = load(ZONE);
	parts_run = 0;
	assert_int_equal(dnssec_zone_sign_parts(z, ks.k, ks.n, &p, NOW, &runner, NULL, &ch, err, sizeof(err)), 0);
	assert_int_equal(parts_run, 0);
	nsec_changes_free(&ch);
	zone_free(z);
	free(one);
	free(four);
	free(text);
	keys_free(&ks);
}

/* ---- random batches: re-signing equals signing from scratch ---- */

static const char *POOL[] = {"www",   "a.b.c", "b.c",    "c",         "x.a.b.c", "sub", "ns.sub", "deep.ns.sub",
                             "y.sub", "*.w",   "w",      "q.w",       "x.y.w",   "y.w", "z",      "m.z",
                             "n.m.z", "ins",   "ns.ins", "e.d.c.b.a", "mail",    "sec"};

static void random_resign(uint8_t alg, const struct nsec_params *np, bool csk, unsigned seed, int rounds)
{
	struct keyset ks;
	keys_make(&ks, alg, csk);
	struct dnssec_zone_policy p = policy(false);
	p.nsec = *np;
	struct nsec_chain *idx = NULL;
	struct zone *z = signed_zone(load(ZONE), &ks, &p, &idx);
	srand(seed);
	uint8_t apex[NAME_MAXLEN];
	name_from_text(apex, "example.", NULL);
	int applied = 0;
	for (int round = 0; round < rounds; round++) {
		struct zone_change v[6];
		uint8_t owners[6][NAME_MAXLEN], rd[6][64];
		size_t n = 1 + (size_t)(rand() % 5);
		for (size_t i = 0; i < n; i++) {
			const char *name = POOL[rand() % (int)(sizeof(POOL) / sizeof(POOL[0]))];
			assert_true(name_from_text(owners[i], name, apex) > 0);
			int kind = rand() % 10;
			bool del = rand() % 3 == 0;
			struct zone_change ch = {.owner = owners[i], .ttl = (uint32_t)(300 + rand() % 2 * 300)};
			if (kind < 4) {
				ch.type = RR_A;
				wire_put16(rd[i], 4);
				memcpy(rd[i] + 2, "\xc0\x00\x02\x01", 4);
				rd[i][5] = (uint8_t)rand();
				ch.rdata_size = 6;
			} else if (kind < 6) {
				ch.type = RR_TXT;
				wire_put16(rd[i], 2);
				memcpy(rd[i] + 2, "\x01t", 2);
				ch.rdata_size = 4;
			} else if (kind < 8) {
				ch.type = RR_NS;
				wire_put16(rd[i], 13);
				memcpy(rd[i] + 2, "\3ns1\7example", 13);
				rd[i][15] = 0;
				ch.rdata_size = 15;
			} else if (kind < 9) {
				ch.type = RR_DS;
				wire_put16(rd[i], 8);
				memcpy(rd[i] + 2, "\x00\x01\x0d\x02\xaa\xbb\xcc\xdd", 8);
				ch.rdata_size = 10;
			} else {
				assert_true(name_from_text(owners[i], "@", apex) > 0);
				uint8_t soa[64];
				memcpy(soa, "\3ns1\7example\0\2hm\7example\0", 26);
				size_t len = 26;
				wire_put32(soa + len, (uint32_t)round + 2), len += 4;
				for (int k = 0; k < 3; k++)
					wire_put32(soa + len, 3600), len += 4;
				wire_put32(soa + len, (uint32_t)(100 + rand() % 3 * 100)), len += 4;
				wire_put16(rd[i], (uint16_t)len);
				memcpy(rd[i] + 2, soa, len);
				ch.type = RR_SOA;
				ch.ttl = (uint32_t)(100 + rand() % 3 * 100);
				ch.rdata_size = (uint32_t)len + 2;
				del = false;
			}
			ch.count = del ? 0 : 1;
			ch.rdata = del ? NULL : rd[i];
			if (del)
				ch.rdata_size = 0;
			v[i] = ch;
		}
		struct nsec_changes out = {0};
		char err[1024];
		int rc = dnssec_zone_resign(z, &idx, v, n, ks.k, ks.n, &p, NOW, &out, err, sizeof(err));
		if (rc == TERN_EZONE) {
			assert_non_null(idx); /* refused by the zone's rules: nothing changed */
			assert_int_equal(out.n, 0);
			continue;
		}
		if (rc < 0)
			fail_msg("round %d: dnssec_zone_resign: %s", round, err);
		applied++;
		z = advance(z, out.v, out.n);
		nsec_changes_free(&out);
		char *kept, *fresh;
		check_signed(z, &ks, &p, &kept);
		/* signing from scratch changes no data, no chain record, and gives the same signatures */
		struct nsec_changes full = {0};
		assert_int_equal(dnssec_zone_sign(z, ks.k, ks.n, &p, NOW, NULL, &full, err, sizeof(err)), 0);
		for (size_t i = 0; i < full.n; i++)
			assert_true(full.v[i].type == RR_RRSIG || full.v[i].type == RR_DNSKEY);
		struct zone *from_scratch = NULL;
		struct zone_apply_error e;
		assert_int_equal(zone_apply(z, full.v, full.n, &from_scratch, &e), 0);
		nsec_changes_free(&full);
		check_signed(from_scratch, &ks, &p, &fresh);
		if (strcmp(kept, fresh) != 0)
			fail_msg("round %d (seed %u): re-signed zone differs from a new signing:\n%s\n----\n%s", round,
			         seed, kept, fresh);
		free(kept);
		free(fresh);
		zone_discard(from_scratch);
	}
	assert_true(applied > rounds / 2);
	nsec_chain_free(idx);
	zone_free(z);
	keys_free(&ks);
}

static void test_resign_random_nsec(void **state)
{
	(void)state;
	struct nsec_params np = {0};
	random_resign(DNSSEC_ALG_ECDSAP256SHA256, &np, false, 1, 120);
	random_resign(DNSSEC_ALG_ED25519, &np, true, 2, 80);
}

static void test_resign_random_nsec3(void **state)
{
	(void)state;
	struct nsec_params np = {.nsec3 = true};
	random_resign(DNSSEC_ALG_ED25519, &np, false, 3, 120);
	struct nsec_params oo = {.nsec3 = true, .optout = true};
	random_resign(DNSSEC_ALG_ECDSAP256SHA256, &oo, false, 4, 80);
}

/* ---- DYN resources (lib/dyn.h, "Signed zones") ---- */

static const char *DYN_ZONE = "www 60 IN DYN monitor m tcp 80\n"
                              "www 60 IN DYN pool a 192.0.2.1 monitor m 192.0.2.2 monitor m 192.0.2.5 2001:db8::1\n"
                              "www 60 IN DYN pool b 192.0.2.3 weight 3 192.0.2.4 weight 1\n"
                              "www 60 IN DYN pool unused 192.0.2.77 192.0.2.78\n"
                              "www 60 IN DYN answer a b\n"
                              "www 60 IN DYN geo 198.51.100.0/24 b\n"
                              "v4 60 IN DYN pool x 192.0.2.9 192.0.2.10\n"
                              "v4 60 IN DYN answer x\n";

static const struct zone_node *node_at(const struct zone *z, const char *name)
{
	uint8_t o[NAME_MAXLEN];
	assert_true(name_from_text(o, name, NULL) > 0);
	const struct zone_node *n = zone_find(z, o, name_len(o));
	assert_non_null(n);
	return n;
}

/* Each set of type the DYN resource at name answers has exactly one signature per signing key
 * (ZSK), found by its index, and it verifies; no signature covers DYN. Returns the sets. */
static uint32_t check_dyn_sigs(const struct zone *z, const struct keyset *ks, const char *name, uint16_t type,
                               int64_t now)
{
	const struct zone_node *n = node_at(z, name);
	const struct rrset *dyn = zone_node_rrset(n, RR_DYN);
	assert_non_null(dyn);
	assert_null(zone_node_rrsig(n, RR_DYN));
	const struct dyn_resource *r = dyn_rrset_resource(dyn);
	uint32_t nsets = dyn_signed_count(r, type);
	const struct rrset *g = zone_node_rrsig(n, type);
	if (nsets == 0) {
		assert_null(g);
		return 0;
	}
	assert_non_null(g);
	assert_int_equal(g->count, nsets * (ks->n - 1));
	assert_int_equal(g->ttl, dyn->ttl);
	struct dnssec_scratch s;
	dnssec_scratch_init(&s);
	for (uint32_t i = 0; i < nsets; i++) {
		struct rrset set;
		assert_int_equal(dyn_signed_rrset(r, type, i, dyn->ttl, &set), 0);
		struct dnssec_rrset ds = {n->owner, type, dyn->ttl, set.count, set.rdata, set.rdata_size};
		const uint8_t *rec = g->rdata;
		int found = 0;
		for (uint16_t k = 0; k < g->count; k++, rec = rdata_next(rec)) {
			if (!dyn_signed_covers(rdata_bytes(rec), rdata_len(rec), i, nsets))
				continue;
			struct dnssec_rrsig sig;
			char err[256];
			assert_int_equal(dnssec_rrsig_parse(rdata_bytes(rec), rdata_len(rec), &sig), 0);
			if (dnssec_verify(key_by_tag(ks, sig.key_tag), &ds, rdata_bytes(rec), rdata_len(rec), now, &s,
			                  err, sizeof(err)) < 0)
				fail_msg("%s set %u of %u: %s", name, i, nsets, err);
			assert_true(sig.inception <= (uint32_t)(now - 3600) &&
			            sig.inception > (uint32_t)(now - 3600) - nsets);
			found++;
		}
		assert_int_equal(found, ks->n - 1);
	}
	assert_int_equal(dyn_signed_rrset(r, type, nsets, dyn->ttl, &(struct rrset){0}), TERN_ENOTFOUND);
	dnssec_scratch_free(&s);
	return nsets;
}

static bool down_2(void *ctx, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr)
{
	(void)ctx, (void)m;
	return !(family == 1 && addr[3] == 2);
}

/* The bitmap of the NSEC at name holds type. */
static bool nsec_lists(const struct zone *z, const char *name, uint16_t type)
{
	const struct rrset *nsec = zone_node_rrset(node_at(z, name), RR_NSEC);
	assert_non_null(nsec);
	const uint8_t *rd = rdata_bytes(nsec->rdata);
	size_t nl = name_len(rd);
	return nsec_bitmap_has(rd + nl, rdata_len(nsec->rdata) - nl, type);
}

/* A zone with DYN resources signed whole: every RRset they can answer signed ahead (an unweighted
 * pool whole and, as one member is monitored, each member; a weighted pool each member; an
 * unreachable pool nothing), the DYN RRset itself not, the bitmaps listing A/AAAA as served; the
 * answer path's choice names a set whose signatures verify; a subset of live members becomes one
 * of them, picked by the random number; re-signing a changed resource signs it anew and keeps
 * the others; a refresh with nothing due changes nothing, with other keys re-signs them. */
static void test_sign_dyn(void **state)
{
	(void)state;
	struct keyset ks;
	keys_make(&ks, DNSSEC_ALG_ECDSAP256SHA256, false);
	struct dnssec_zone_policy p = policy(false);
	size_t zl = strlen(ZONE) + strlen(DYN_ZONE) + 1;
	char *text = malloc(zl);
	snprintf(text, zl, "%s%s", ZONE, DYN_ZONE);
	struct nsec_chain *idx = NULL;
	struct zone *z = signed_zone(load(text), &ks, &p, &idx);
	free(text);
	/* A: {1,2,5}, {1}, {2}, {5} of a; {3}, {4} of b; AAAA: {2001:db8::1} */
	assert_int_equal(check_dyn_sigs(z, &ks, "www.example.", RR_A, NOW), 6);
	assert_int_equal(check_dyn_sigs(z, &ks, "www.example.", RR_AAAA, NOW), 1);
	assert_int_equal(check_dyn_sigs(z, &ks, "v4.example.", RR_A, NOW), 1);
	assert_int_equal(check_dyn_sigs(z, &ks, "v4.example.", RR_AAAA, NOW), 0);
	assert_true(nsec_lists(z, "www.example.", RR_A) && nsec_lists(z, "www.example.", RR_AAAA));
	assert_true(nsec_lists(z, "v4.example.", RR_A) && !nsec_lists(z, "v4.example.", RR_AAAA));
	assert_false(nsec_lists(z, "www.example.", RR_DYN) || nsec_lists(z, "v4.example.", RR_DYN));

	/* the answer path's choices: the whole pool; one live member when some are down */
	const struct rrset *dyn = zone_node_rrset(node_at(z, "www.example."), RR_DYN);
	const struct dyn_resource *r = dyn_rrset_resource(dyn);
	struct dyn_client cl = {.family = 1, .prefix = 32, .addr = {192, 0, 2, 200}};
	uint8_t scratch[DYN_SCRATCH], scope;
	struct rrset out, set;
	assert_int_equal(dyn_select(r, RR_A, 60, &cl, NULL, NULL, 7, scratch, &out, &scope, NULL), 0);
	assert_int_equal(out.count, 3);
	assert_false(dyn_signed_subset(r, &out)); /* the whole pool is a set signed ahead */
	int64_t id = dyn_signed_choose(r, &out, 7);
	assert_true(id >= 0);
	dyn_signed_rrset(r, RR_A, (uint32_t)id, 60, &set);
	assert_int_equal(set.count, 3);
	bool picked[2] = {false, false};
	for (uint32_t rnd = 0; rnd < 64; rnd++) {
		uint32_t rn = rnd * 0x9e3779b9u;
		assert_int_equal(dyn_select(r, RR_A, 60, &cl, down_2, NULL, rn, scratch, &out, &scope, NULL), 0);
		assert_int_equal(out.count, 2); /* what an unsigned zone answers */
		assert_true(dyn_signed_subset(r, &out)); /* explain lists each record alone */
		id = dyn_signed_choose(r, &out, rn);
		assert_true(id >= 0);
		assert_int_equal(out.count, 1);
		const uint8_t *a = rdata_bytes(out.rdata);
		assert_true(a[3] == 1 || a[3] == 5);
		picked[a[3] == 5] = true;
		dyn_signed_rrset(r, RR_A, (uint32_t)id, 60, &set);
		assert_int_equal(set.count, 1);
		assert_memory_equal(rdata_bytes(set.rdata), a, 4);
	}
	assert_true(picked[0] && picked[1]); /* the load spreads over the live ones */
	/* a weighted pick (client in 198.51.100.0/24) is a set of one */
	struct dyn_client br = {.family = 1, .prefix = 24, .addr = {198, 51, 100, 0}};
	assert_int_equal(dyn_select(r, RR_A, 60, &br, NULL, NULL, 3, scratch, &out, &scope, NULL), 0);
	assert_false(dyn_signed_subset(r, &out));
	id = dyn_signed_choose(r, &out, 3);
	assert_true(id >= 0);
	dyn_signed_rrset(r, RR_A, (uint32_t)id, 60, &set);
	assert_int_equal(set.count, 1);
	assert_ptr_equal(set.rdata, out.rdata);

	/* a changed resource is signed anew; the other keeps its signatures byte for byte */
	const struct rrset *kept = zone_node_rrsig(node_at(z, "www.example."), RR_A);
	uint8_t *keep = malloc(kept->rdata_size);
	uint32_t keep_size = kept->rdata_size;
	memcpy(keep, kept->rdata, keep_size);
	uint8_t owner[NAME_MAXLEN], rd[64];
	name_from_text(owner, "v4.example.", NULL);
	const char *stmts[] = {"pool", "x", "192.0.2.9", "192.0.2.10", "192.0.2.11"};
	size_t pos = 2, start = 0;
	for (size_t i = 0; i < 5; i++) {
		rd[pos++] = (uint8_t)strlen(stmts[i]);
		memcpy(rd + pos, stmts[i], strlen(stmts[i]));
		pos += strlen(stmts[i]);
	}
	wire_put16(rd + start, (uint16_t)(pos - 2));
	size_t second = pos;
	const char *ans[] = {"answer", "x"};
	pos += 2;
	for (size_t i = 0; i < 2; i++) {
		rd[pos++] = (uint8_t)strlen(ans[i]);
		memcpy(rd + pos, ans[i], strlen(ans[i]));
		pos += strlen(ans[i]);
	}
	wire_put16(rd + second, (uint16_t)(pos - second - 2));
	struct zone_change c = {
	    .owner = owner, .type = RR_DYN, .ttl = 60, .count = 2, .rdata = rd, .rdata_size = (uint32_t)pos};
	struct nsec_changes ch = {0};
	char err[256];
	assert_int_equal(dnssec_zone_resign(z, &idx, &c, 1, ks.k, ks.n, &p, NOW + 10, &ch, err, sizeof(err)), 0);
	z = advance(z, ch.v, ch.n);
	nsec_changes_free(&ch);
	assert_int_equal(check_dyn_sigs(z, &ks, "v4.example.", RR_A, NOW + 10), 1);
	kept = zone_node_rrsig(node_at(z, "www.example."), RR_A);
	assert_int_equal(kept->rdata_size, keep_size);
	assert_memory_equal(kept->rdata, keep, keep_size);
	free(keep);

	/* refresh: nothing due, nothing changes; other keys re-sign every set */
	int64_t next = 0;
	assert_int_equal(dnssec_zone_refresh(z, ks.k, ks.n, &p, NOW + 20, 3600, &ch, &next, err, sizeof(err)), 0);
	assert_int_equal(ch.n, 0);
	struct keyset other;
	keys_make(&other, DNSSEC_ALG_ECDSAP256SHA256, false);
	assert_int_equal(dnssec_zone_refresh(z, other.k, other.n, &p, NOW + 20, 3600, &ch, &next, err, sizeof(err)), 0);
	z = advance(z, ch.v, ch.n);
	nsec_changes_free(&ch);
	assert_int_equal(check_dyn_sigs(z, &other, "www.example.", RR_A, NOW + 20), 6);
	assert_int_equal(check_dyn_sigs(z, &other, "www.example.", RR_AAAA, NOW + 20), 1);
	assert_int_equal(check_dyn_sigs(z, &other, "v4.example.", RR_A, NOW + 20), 1);
	keys_free(&other);
	nsec_chain_free(idx);
	zone_free(z);
	keys_free(&ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csk_beside_zsk),      cmocka_unit_test(test_sign_nsec_ecdsa),
	    cmocka_unit_test(test_sign_nsec3_ed25519),  cmocka_unit_test(test_sign_csk),
	    cmocka_unit_test(test_sign_switch_chain),   cmocka_unit_test(test_sign_refused),
	    cmocka_unit_test(test_resign_keeps_others), cmocka_unit_test(test_refresh_and_jitter),
	    cmocka_unit_test(test_sign_in_parts),       cmocka_unit_test(test_resign_random_nsec),
	    cmocka_unit_test(test_resign_random_nsec3), cmocka_unit_test(test_sign_dyn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
