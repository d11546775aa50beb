/* Unit tests for lib/ech: the RFC 7748 X25519 vector, an ECHConfig's octets against a vector
 * written out by hand from the draft's structures, list building (rotation, duplicate ids), list
 * parsing of hostile input (empty, cut short, overlong, unknown versions, bad fields), public_name
 * rules, and the HTTPS record: its text through rrtext (libzscanner) gives our wire octets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/ech.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"

/* RFC 7748 section 6.1: Alice's private key and the public key it gives. */
static const uint8_t alice_priv[32] = {0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1,
                                       0x72, 0x51, 0xb2, 0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0,
                                       0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a};
#define ALICE_PUB                                                                                                      \
	0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a, 0x0d, 0xbf,    \
	    0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a

/* ECHConfig for Alice's key, config_id 0x2a, maximum_name_length 64, public_name
 * "public.example", written field by field from draft-ietf-tls-esni section 4. */
static const uint8_t alice_config[] = {
    0xfe, 0x0d, /* version */
    0x00, 0x41, /* length: 65 octets of contents follow */
    0x2a, /* config_id */
    0x00, 0x20, /* kem_id: DHKEM(X25519, HKDF-SHA256) */
    0x00, 0x20, ALICE_PUB, /* public_key<1..2^16-1> */
    0x00, 0x08, 0x00,      0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x03, /* cipher_suites: HKDF-SHA256 + AES-128-GCM, +
                                                                        ChaCha20 */
    0x40, /* maximum_name_length */
    0x0e, 'p',  'u',       'b',  'l',  'i',  'c',  '.',  'e',  'x',  'a', 'm', 'p', 'l', 'e', /* public_name<1..255> */
    0x00, 0x00, /* extensions<0..2^16-1> */
};

static char err[512];

static void alice(struct ech_key *k)
{
	assert_int_equal(ech_key_from_private(k, alice_priv, err, sizeof(err)), 0);
}

static size_t build(const struct ech_key *k, uint8_t id, const char *name, uint8_t *out, size_t cap)
{
	size_t len = 0;
	int rc = ech_config_build(k, id, name, 0, out, cap, &len, err, sizeof(err));
	if (rc != 0)
		fail_msg("ech_config_build %s: %d %s", name, rc, err);
	return len;
}

static void x25519_vector(void **state)
{
	(void)state;
	static const uint8_t pub[32] = {ALICE_PUB};
	struct ech_key k;
	alice(&k);
	assert_memory_equal(k.priv, alice_priv, 32);
	assert_memory_equal(k.pub, pub, 32);
	/* a fresh key's public half is the one its private half gives */
	struct ech_key g, again;
	assert_int_equal(ech_key_generate(&g, err, sizeof(err)), 0);
	assert_int_equal(ech_key_from_private(&again, g.priv, err, sizeof(err)), 0);
	assert_memory_equal(again.pub, g.pub, 32);
	assert_memory_not_equal(g.pub, pub, 32);
}

static void config_layout(void **state)
{
	(void)state;
	struct ech_key k;
	alice(&k);
	uint8_t out[ECH_CONFIG_MAX];
	size_t len = 0;
	assert_int_equal(ech_config_build(&k, 0x2a, "Public.Example.", 64, out, sizeof(out), &len, err, sizeof(err)),
	                 0);
	assert_int_equal(len, sizeof(alice_config));
	assert_memory_equal(out, alice_config, sizeof(alice_config));
	/* one octet short of room: refused, said so */
	assert_int_equal(ech_config_build(&k, 0x2a, "public.example", 64, out, len - 1, &len, err, sizeof(err)),
	                 TERN_ESPACE);
	/* the longest name fits ECH_CONFIG_MAX */
	char longest[256];
	memset(longest, 'a', 255);
	for (int i = 63; i < 255; i += 64)
		longest[i] = '.';
	longest[255] = 0;
	assert_int_equal(ech_config_build(&k, 1, longest, 0, out, sizeof(out), &len, err, sizeof(err)), 0);
	assert_int_equal(len, ECH_CONFIG_MAX);
}

static void public_names(void **state)
{
	(void)state;
	static const char *good[] = {"example.com", "a",         "xn--bcher-kva.example", "a-b.c-d.e", "EXAMPLE.COM.",
	                             "1.example",   "host.123a", "0xg.example.0xg"};
	static const char *bad[] = {"",
	                            ".",
	                            "example..com",
	                            ".example",
	                            "example.com..",
	                            "-a.com",
	                            "a-.com",
	                            "ex_ample.com",
	                            "a b.com",
	                            "192.0.2.1",
	                            "1.2.3",
	                            "0x7f",
	                            "host.0xABCDEF0",
	                            "host.0x",
	                            "ex\\.ample.com",
	                            "\xc3\xa9.com"};
	char out[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (ech_public_name_check(good[i], out, sizeof(out), err, sizeof(err)) < 0)
			fail_msg("\"%s\" refused: %s", good[i], err);
	assert_int_equal(ech_public_name_check("EXAMPLE.COM.", out, sizeof(out), err, sizeof(err)), 11);
	assert_string_equal(out, "example.com");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (ech_public_name_check(bad[i], out, sizeof(out), err, sizeof(err)) != TERN_ENAME)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(strstr(err, "public_name"));
	}
	/* labels of 63 pass, of 64 do not; 255 octets pass, 256 do not */
	char name[300];
	memset(name, 'a', 64);
	name[64] = 0;
	assert_int_equal(ech_public_name_check(name, out, sizeof(out), err, sizeof(err)), TERN_ENAME);
	assert_non_null(strstr(err, "longer than 63"));
	name[63] = 0;
	assert_int_equal(ech_public_name_check(name, out, sizeof(out), err, sizeof(err)), 63);
	memset(name, 'a', 256);
	for (int i = 30; i < 256; i += 32)
		name[i] = '.';
	name[256] = 0;
	assert_int_equal(ech_public_name_check(name, out, sizeof(out), err, sizeof(err)), TERN_ENAME);
	assert_non_null(strstr(err, "longer than 255"));
	name[255] = 0;
	name[254] = 'b';
	assert_int_equal(ech_public_name_check(name, out, sizeof(out), err, sizeof(err)), 255);
	/* the builder takes the same rules */
	struct ech_key k;
	alice(&k);
	uint8_t cfg[ECH_CONFIG_MAX];
	size_t len;
	assert_int_equal(ech_config_build(&k, 0, "192.0.2.1", 0, cfg, sizeof(cfg), &len, err, sizeof(err)), TERN_ENAME);
	assert_non_null(strstr(err, "IPv4"));
}

/* A list of n configs given whole (with the list's u16 length in front). */
static size_t list_of(uint8_t *out, const uint8_t *body, size_t len)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memcpy(out + 2, body, len);
	return len + 2;
}

static int parse(const uint8_t *l, size_t len, struct ech_list *out)
{
	err[0] = 0;
	return ech_list_parse(l, len, out, err, sizeof(err));
}

static void list_build_and_parse(void **state)
{
	(void)state;
	static struct ech_list pl;
	struct ech_key k1, k2;
	alice(&k1);
	assert_int_equal(ech_key_generate(&k2, err, sizeof(err)), 0);
	uint8_t c1[ECH_CONFIG_MAX], c2[ECH_CONFIG_MAX], c3[ECH_CONFIG_MAX], list[1024];
	size_t l1 = build(&k1, 1, "old.example", c1, sizeof(c1)), l2 = build(&k2, 2, "new.example", c2, sizeof(c2)),
	       l3 = build(&k2, 1, "clash.example", c3, sizeof(c3)), len = 0;
	/* rotation: new beside old, in the order given */
	struct ech_blob both[] = {{c2, l2}, {c1, l1}};
	assert_int_equal(ech_list_build(both, 2, list, sizeof(list), &len, err, sizeof(err)), 0);
	assert_int_equal(len, 2 + l1 + l2);
	assert_int_equal(list[0] << 8 | list[1], l1 + l2);
	assert_memory_equal(list + 2, c2, l2);
	assert_memory_equal(list + 2 + l2, c1, l1);
	assert_int_equal(parse(list, len, &pl), 0);
	assert_int_equal(pl.nconfigs, 2);
	assert_int_equal(pl.usable, 2);
	assert_int_equal(pl.duplicates, 0);
	const struct ech_config_info *a = &pl.configs[0], *b = &pl.configs[1];
	assert_true(a->known && b->known);
	assert_int_equal(a->offset, 2);
	assert_int_equal(b->offset, 2 + l2);
	assert_int_equal(a->version, ECH_VERSION);
	assert_int_equal(a->config_id, 2);
	assert_int_equal(b->config_id, 1);
	assert_int_equal(b->kem, ECH_KEM_X25519);
	assert_int_equal(b->public_key_len, 32);
	assert_memory_equal(b->public_key, k1.pub, 32);
	assert_int_equal(b->nsuites, 2);
	assert_int_equal(b->suites[0].kdf, ECH_KDF_HKDF_SHA256);
	assert_int_equal(b->suites[0].aead, ECH_AEAD_AES_128_GCM);
	assert_int_equal(b->suites[1].aead, ECH_AEAD_CHACHA20_POLY1305);
	assert_string_equal(a->public_name, "new.example");
	assert_string_equal(b->public_name, "old.example");
	assert_null(a->ignored);
	/* the same config_id twice: the builder refuses, naming the config */
	struct ech_blob clash[] = {{c1, l1}, {c3, l3}};
	assert_int_equal(ech_list_build(clash, 2, list, sizeof(list), &len, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "configs[1]: config_id 1 is in the list already");
	/* the parser reports it */
	uint8_t body[1024];
	memcpy(body, c1, l1);
	memcpy(body + l1, c3, l3);
	len = list_of(list, body, l1 + l3);
	assert_int_equal(parse(list, len, &pl), 0);
	assert_int_equal(pl.duplicates, 1);
	assert_false(pl.configs[0].duplicate_id);
	assert_true(pl.configs[1].duplicate_id);
	/* no configs, a config with trailing octets, a list as a config, no room */
	assert_int_equal(ech_list_build(both, 0, list, sizeof(list), &len, err, sizeof(err)), TERN_EINVAL);
	memcpy(body, c1, l1);
	body[l1] = 0;
	struct ech_blob trailing = {body, l1 + 1};
	assert_int_equal(ech_list_build(&trailing, 1, list, sizeof(list), &len, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "configs[0]: 1 octets after the ECHConfig");
	struct ech_blob cut = {c1, l1 - 1};
	assert_int_equal(ech_list_build(&cut, 1, list, sizeof(list), &len, err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(ech_list_build(both, 2, list, l1 + l2 + 1, &len, err, sizeof(err)), TERN_ESPACE);
}

/* A known config's contents from the fields (public key, suites, name, extensions as given). */
static size_t contents(uint8_t *p, uint16_t version, uint16_t kem, size_t pklen, const uint8_t *suites, size_t slen,
                       const char *name, const uint8_t *ext, size_t elen)
{
	size_t n = strlen(name), c = 1 + 2 + 2 + pklen + 2 + slen + 1 + 1 + n + 2 + elen;
	uint8_t *q = p;
	*q++ = (uint8_t)(version >> 8);
	*q++ = (uint8_t)version;
	*q++ = (uint8_t)(c >> 8);
	*q++ = (uint8_t)c;
	*q++ = 9;
	*q++ = (uint8_t)(kem >> 8);
	*q++ = (uint8_t)kem;
	*q++ = (uint8_t)(pklen >> 8);
	*q++ = (uint8_t)pklen;
	memset(q, 0x55, pklen);
	q += pklen;
	*q++ = (uint8_t)(slen >> 8);
	*q++ = (uint8_t)slen;
	if (slen)
		memcpy(q, suites, slen);
	q += slen;
	*q++ = 0;
	*q++ = (uint8_t)n;
	memcpy(q, name, n);
	q += n;
	*q++ = (uint8_t)(elen >> 8);
	*q++ = (uint8_t)elen;
	if (elen)
		memcpy(q, ext, elen);
	q += elen;
	return (size_t)(q - p);
}

static const uint8_t good_suites[] = {0, 1, 0, 1};

/* One config in a list: parsed, with its ignored reason (NULL: usable). */
static void one(uint16_t kem, size_t pklen, const uint8_t *suites, size_t slen, const char *name, const uint8_t *ext,
                size_t elen, const char *ignored)
{
	static struct ech_list pl;
	uint8_t body[1024], list[1100];
	size_t n = contents(body, ECH_VERSION, kem, pklen, suites, slen, name, ext, elen);
	size_t len = list_of(list, body, n);
	if (parse(list, len, &pl) != 0)
		fail_msg("%s: %s", name, err);
	assert_int_equal(pl.nconfigs, 1);
	if (!ignored) {
		assert_null(pl.configs[0].ignored);
		assert_int_equal(pl.usable, 1);
	} else {
		assert_non_null(pl.configs[0].ignored);
		assert_string_equal(pl.configs[0].ignored, ignored);
		assert_int_equal(pl.usable, 0);
	}
}

static void list_parse_edges(void **state)
{
	(void)state;
	static struct ech_list pl;
	uint8_t body[2048], list[2100];
	size_t n, len;
	/* empty, too short for the length, lengths that disagree */
	assert_int_equal(parse((const uint8_t *)"\0\0", 2, &pl), TERN_EMALF);
	assert_string_equal(err, "ECHConfigList is empty");
	assert_int_equal(parse((const uint8_t *)"\0", 1, &pl), TERN_EMALF);
	assert_int_equal(parse(NULL, 0, &pl), TERN_EMALF);
	n = contents(body, ECH_VERSION, 0x20, 32, good_suites, 4, "a.example", NULL, 0);
	len = list_of(list, body, n);
	assert_int_equal(parse(list, len, &pl), 0);
	assert_int_equal(parse(list, len - 1, &pl), TERN_EMALF); /* truncated */
	assert_non_null(strstr(err, "its length says"));
	list[len] = 0;
	assert_int_equal(parse(list, len + 1, &pl), TERN_EMALF); /* overlong */
	assert_int_equal(pl.nconfigs, 0);
	/* a config whose length runs past the list; one whose contents are longer than the fields */
	body[3]++;
	len = list_of(list, body, n);
	assert_int_equal(parse(list, len, &pl), TERN_EMALF);
	assert_string_equal(err, "ECHConfig 0 (offset 2): length 57 runs past the list (56 octets left)");
	body[n] = 0;
	len = list_of(list, body, n + 1);
	assert_int_equal(parse(list, len, &pl), TERN_EMALF);
	assert_string_equal(err, "ECHConfig 0 (offset 2): 1 octets after the extensions, inside the config's length");
	/* every cut of the config's length short of its contents is refused, saying where */
	static const char *where[56] = {
	    [0] = "cut short at config_id",
	    [3] = "cut short at the public_key length",
	    [5] = "public_key length 32 runs past the config",
	    [37] = "cut short at the cipher_suites length",
	    [39] = "cipher_suites length 4 runs past the config",
	    [43] = "cut short at maximum_name_length",
	    [44] = "cut short at the public_name length",
	    [45] = "public_name length 9 runs past the config",
	    [54] = "cut short at the extensions length",
	};
	body[3]--;
	assert_int_equal(n - 4, 56);
	for (size_t cut = 0; cut < n - 4; cut++) {
		body[2] = (uint8_t)(cut >> 8);
		body[3] = (uint8_t)cut;
		len = list_of(list, body, cut + 4);
		if (parse(list, len, &pl) != TERN_EMALF)
			fail_msg("contents cut to %zu accepted", cut);
		assert_non_null(strstr(err, "ECHConfig 0 (offset 2): "));
		if (where[cut])
			assert_string_equal(err + strlen("ECHConfig 0 (offset 2): "), where[cut]);
	}
	body[2] = 0;
	body[3] = 56;
	/* an unknown version is skipped, by its length, whatever it holds */
	static const uint8_t odd[] = {0xfe, 0x0a, 0x00, 0x03, 0xff, 0xff, 0xff};
	memcpy(body, odd, sizeof(odd));
	n = sizeof(odd) + contents(body + sizeof(odd), ECH_VERSION, 0x20, 32, good_suites, 4, "b.example", NULL, 0);
	len = list_of(list, body, n);
	assert_int_equal(parse(list, len, &pl), 0);
	assert_int_equal(pl.nconfigs, 2);
	assert_false(pl.configs[0].known);
	assert_int_equal(pl.configs[0].version, 0xfe0a);
	assert_int_equal(pl.configs[0].length, 3);
	assert_true(pl.configs[1].known);
	assert_int_equal(pl.configs[1].offset, 2 + sizeof(odd));
	assert_int_equal(pl.usable, 1);
	/* only unknown versions: parsed, nothing usable */
	len = list_of(list, odd, sizeof(odd));
	assert_int_equal(parse(list, len, &pl), 0);
	assert_int_equal(pl.usable, 0);
	/* malformed fields of a known version */
	static const uint8_t three[] = {0, 1, 0};
	n = contents(body, ECH_VERSION, 0x20, 0, good_suites, 4, "c.example", NULL, 0);
	assert_int_equal(parse(list, list_of(list, body, n), &pl), TERN_EMALF);
	assert_non_null(strstr(err, "public_key length 0 is zero"));
	n = contents(body, ECH_VERSION, 0x20, 32, three, 3, "c.example", NULL, 0);
	assert_int_equal(parse(list, list_of(list, body, n), &pl), TERN_EMALF);
	assert_non_null(strstr(err, "cipher_suites length 3"));
	n = contents(body, ECH_VERSION, 0x20, 32, good_suites, 0, "c.example", NULL, 0);
	assert_int_equal(parse(list, list_of(list, body, n), &pl), TERN_EMALF);
	n = contents(body, ECH_VERSION, 0x20, 32, good_suites, 4, "", NULL, 0);
	assert_int_equal(parse(list, list_of(list, body, n), &pl), TERN_EMALF);
	assert_non_null(strstr(err, "public_name length is zero"));
	static const uint8_t ext_cut[] = {0x00, 0x01, 0x00, 0x05, 0x00};
	n = contents(body, ECH_VERSION, 0x20, 32, good_suites, 4, "c.example", ext_cut, sizeof(ext_cut));
	assert_int_equal(parse(list, list_of(list, body, n), &pl), TERN_EMALF);
	assert_non_null(strstr(err, "extension 0 cut short"));
	/* well formed but ignored by clients, each for its reason */
	static const uint8_t opt_ext[] = {0x00, 0x01, 0x00, 0x01, 0x00};
	static const uint8_t mand_ext[] = {0x00, 0x01, 0x00, 0x00, 0xfa, 0x00, 0x00, 0x00};
	static const uint8_t odd_suites[] = {0, 9, 0, 1, 0, 1, 0, 0xff};
	one(0x20, 32, good_suites, 4, "d.example", NULL, 0, NULL);
	one(0x20, 32, good_suites, 4, "d.example", opt_ext, sizeof(opt_ext), NULL);
	one(0x10, 65, good_suites, 4, "d.example", NULL, 0, NULL);
	one(0x20, 32, good_suites, 4, "d.example", mand_ext, sizeof(mand_ext), "a mandatory extension");
	one(0x99, 32, good_suites, 4, "d.example", NULL, 0, "unknown KEM");
	one(0x20, 31, good_suites, 4, "d.example", NULL, 0, "public_key length does not match the KEM");
	one(0x20, 32, odd_suites, 8, "d.example", NULL, 0, "no cipher suite with a known KDF and AEAD");
	one(0x20, 32, good_suites, 4, "10.0.0.1", NULL, 0,
	    "public_name is an IPv4 address (its last label is numeric)");
	one(0x20, 32, good_suites, 4, "d.example.", NULL, 0, "public_name starts or ends with a dot");
	one(0x20, 32, good_suites, 4, "d\x01.example", NULL, 0,
	    "public_name has a character other than a letter, digit, '-' or '.'");
	/* the public_name as sent, non-printable octets shown as '?' */
	n = contents(body, ECH_VERSION, 0x20, 32, good_suites, 4, "d\x01.example", NULL, 0);
	assert_int_equal(parse(list, list_of(list, body, n), &pl), 0);
	assert_string_equal(pl.configs[0].public_name, "d?.example");
	/* 64 configs are described, a 65th is refused */
	n = 0;
	for (int i = 0; i < ECH_LIST_CONFIGS_MAX; i++, n += 4)
		memcpy(body + n, "\xfe\x0a\0\0", 4); /* unknown version, no contents */
	len = list_of(list, body, n);
	assert_int_equal(parse(list, len, &pl), 0);
	assert_int_equal(pl.nconfigs, ECH_LIST_CONFIGS_MAX);
	memcpy(body + n, odd, sizeof(odd));
	len = list_of(list, body, n + sizeof(odd));
	assert_int_equal(parse(list, len, &pl), TERN_EMALF);
	assert_string_equal(err, "ECHConfigList: more than 64 configs");
}

static void https_record(void **state)
{
	(void)state;
	struct ech_key k;
	alice(&k);
	uint8_t cfg[ECH_CONFIG_MAX], list[ECH_CONFIG_MAX + 2], rd[1024], zrd[1024];
	size_t clen = build(&k, 0x2a, "public.example", cfg, sizeof(cfg)), len = 0, rdlen = 0, zlen = 0;
	assert_int_equal(ech_list_build(&(struct ech_blob){cfg, clen}, 1, list, sizeof(list), &len, err, sizeof(err)),
	                 0);
	char text[1024], b64[256], back[1024];
	assert_int_equal(ech_base64(list, len, b64, sizeof(b64)), 96);
	assert_int_equal(ech_base64(list, len, b64, 96), TERN_ESPACE);
	uint8_t origin[NAME_MAXLEN], owner[NAME_MAXLEN];
	assert_true(name_from_text(origin, "example.", NULL) > 0);
	assert_true(name_from_text(owner, "svc.example.", NULL) > 0);
	static const char *targets[] = {NULL, ".", "svc.app.example."};
	for (size_t t = 0; t < 3; t++) {
		int n = ech_https_text(targets[t], list, len, text, sizeof(text), err, sizeof(err));
		assert_true(n > 0);
		char want[1024];
		snprintf(want, sizeof(want), "1 %s alpn=h2,h3 ech=%s", t < 2 ? "." : "svc.app.example.", b64);
		assert_string_equal(text, want);
		assert_int_equal(ech_https_rdata(targets[t], list, len, rd, sizeof(rd), &rdlen, err, sizeof(err)), 0);
		/* libzscanner reads our text to our octets */
		assert_int_equal(
		    rrtext_rdata_from_text(origin, owner, RR_HTTPS, text, zrd, sizeof(zrd), &zlen, err, sizeof(err)),
		    0);
		assert_int_equal(zlen, rdlen);
		assert_memory_equal(zrd, rd, rdlen);
		/* libknot prints them as text that reads back to the same octets */
		assert_true(rrtext_rdata_to_text(RR_HTTPS, rd, (uint16_t)rdlen, back, sizeof(back)) > 0);
		assert_int_equal(
		    rrtext_rdata_from_text(origin, owner, RR_HTTPS, back, zrd, sizeof(zrd), &zlen, err, sizeof(err)),
		    0);
		assert_int_equal(zlen, rdlen);
		assert_memory_equal(zrd, rd, rdlen);
		/* the list comes back out of the RDATA */
		const uint8_t *found;
		size_t flen;
		assert_int_equal(ech_https_find(rd, rdlen, &found, &flen, err, sizeof(err)), 0);
		assert_int_equal(flen, len);
		assert_memory_equal(found, list, len);
	}
	/* the wire layout itself: priority 1, root, alpn h2 h3, ech */
	assert_int_equal(ech_https_rdata(NULL, list, len, rd, sizeof(rd), &rdlen, err, sizeof(err)), 0);
	static const uint8_t head[] = {0, 1, 0, 0, 1, 0, 6, 2, 'h', '2', 2, 'h', '3', 0, 5};
	assert_memory_equal(rd, head, sizeof(head));
	assert_int_equal(rd[15] << 8 | rd[16], len);
	assert_int_equal(rdlen, sizeof(head) + 2 + len);
	/* refusals: relative or bad target, a list no client can use, no room */
	assert_int_equal(ech_https_text("svc.example", list, len, text, sizeof(text), err, sizeof(err)), TERN_ENAME);
	assert_non_null(strstr(err, "target \"svc.example\""));
	assert_int_equal(ech_https_text("a..b.", list, len, text, sizeof(text), err, sizeof(err)), TERN_ENAME);
	assert_int_equal(ech_https_text(NULL, list, len - 1, text, sizeof(text), err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "ech: ECHConfigList"));
	assert_int_equal(ech_https_text(NULL, list, len, text, 110, err, sizeof(err)), TERN_ESPACE);
	assert_int_equal(ech_https_rdata(NULL, list, len, rd, rdlen - 1, &rdlen, err, sizeof(err)), TERN_ESPACE);
	uint8_t ign[ECH_CONFIG_MAX + 2];
	memcpy(ign, list, len);
	ign[8] = 0x99; /* KEM 0x0099 */
	assert_int_equal(ech_https_text(NULL, ign, len, text, sizeof(text), err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "ech: the list has no config a client can use");
	/* ech_https_find on hostile RDATA */
	const uint8_t *found;
	size_t flen;
	static const uint8_t alias[] = {0, 0, 3, 's', 'v', 'c', 0};
	assert_int_equal(ech_https_find(alias, sizeof(alias), &found, &flen, err, sizeof(err)), TERN_ENOTFOUND);
	static const uint8_t no_ech[] = {0, 1, 0, 0, 1, 0, 3, 2, 'h', '2'};
	assert_int_equal(ech_https_find(no_ech, sizeof(no_ech), &found, &flen, err, sizeof(err)), TERN_ENOTFOUND);
	static const uint8_t order[] = {0, 1, 0, 0, 5, 0, 0, 0, 1, 0, 0};
	assert_int_equal(ech_https_find(order, sizeof(order), &found, &flen, err, sizeof(err)), TERN_EMALF);
	assert_non_null(strstr(err, "keys increase"));
	static const uint8_t cut[] = {0, 1, 0, 0, 5, 0, 9, 1};
	assert_int_equal(ech_https_find(cut, sizeof(cut), &found, &flen, err, sizeof(err)), TERN_EMALF);
	static const uint8_t badname[] = {0, 1, 5, 'a'};
	assert_int_equal(ech_https_find(badname, sizeof(badname), &found, &flen, err, sizeof(err)), TERN_EMALF);
	assert_null(found);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(x25519_vector),        cmocka_unit_test(config_layout),    cmocka_unit_test(public_names),
	    cmocka_unit_test(list_build_and_parse), cmocka_unit_test(list_parse_edges), cmocka_unit_test(https_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
