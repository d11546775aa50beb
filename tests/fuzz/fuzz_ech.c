/* libFuzzer harness for lib/ech: ech_list_parse() on the input as an ECHConfigList, with the
 * list rebuilt by ech_list_build() and published through ech_https_text()/ech_https_rdata() (read
 * back by libzscanner and ech_https_find()); ech_https_find() on the input as HTTPS RDATA; and
 * ech_public_name_check() on the input as a name, the name put in a config and parsed back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ech.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"

static uint8_t origin[NAME_MAXLEN];
static struct ech_list parsed, again;
static struct ech_key key;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_ech: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const uint8_t priv[ECH_KEY_LEN] = {1, 2, 3};
	if (name_from_text(origin, "example.", NULL) < 0 || ech_key_from_private(&key, priv, NULL, 0) < 0)
		abort();
	return 0;
}

static void check_message(const char *err, size_t cap)
{
	if (!memchr(err, 0, cap) || !err[0])
		fail("a refusal without a NUL-terminated message");
}

/* The list published: text and RDATA agree through libzscanner, and the list comes back out. */
static void publish(const uint8_t *list, size_t len)
{
	static char text[4 * ((ECH_LIST_MAX + 2) / 3) + 600];
	static uint8_t rd[65535], zrd[65535];
	char err[512];
	size_t rdlen = 0, zlen = 0;
	static const char *targets[] = {NULL, "svc.app.example."};
	for (size_t t = 0; t < 2; t++) {
		int n = ech_https_text(targets[t], list, len, text, sizeof(text), err, sizeof(err));
		int r = ech_https_rdata(targets[t], list, len, rd, sizeof(rd), &rdlen, err, sizeof(err));
		if ((n < 0) != (r < 0))
			fail("ech_https_text and ech_https_rdata disagree on a list");
		if (n < 0) {
			if (len + 40 <= 65535)
				fail("a usable list of fitting size refused for the HTTPS record");
			continue;
		}
		if (rrtext_rdata_from_text(origin, NULL, RR_HTTPS, text, zrd, sizeof(zrd), &zlen, err, sizeof(err)) !=
		        0 ||
		    zlen != rdlen || memcmp(zrd, rd, rdlen) != 0)
			fail("libzscanner reads the HTTPS text to other octets than ech_https_rdata");
		const uint8_t *found;
		size_t flen;
		if (ech_https_find(rd, rdlen, &found, &flen, err, sizeof(err)) != 0 || flen != len ||
		    memcmp(found, list, len) != 0)
			fail("ech_https_find does not give the list back");
	}
}

static size_t u16(const uint8_t *p)
{
	return (size_t)(p[0] << 8 | p[1]);
}

/* The known config c, walked here again field by field (a second reading of the draft's
 * structures): each length inside the config, the fields what the parser said, the extensions
 * ending exactly at the config's end. */
static void recheck(const uint8_t *data, const struct ech_config_info *c)
{
	const uint8_t *p = data + c->offset + 4, *end = p + c->length;
	if (end - p < 5 || p[0] != c->config_id || u16(p + 1) != c->kem)
		fail("config_id or kem differs from the octets");
	size_t klen = u16(p + 3);
	p += 5;
	if ((size_t)(end - p) < klen + 2 || p != c->public_key || klen != c->public_key_len)
		fail("public_key differs from the octets");
	p += klen;
	size_t slen = u16(p);
	p += 2;
	if ((size_t)(end - p) < slen + 2 || slen / 4 != c->nsuites || slen % 4)
		fail("cipher_suites differ from the octets");
	for (size_t i = 0; i < c->nsuites && i < ECH_SUITES_MAX; i++)
		if (u16(p + 4 * i) != c->suites[i].kdf || u16(p + 4 * i + 2) != c->suites[i].aead)
			fail("a suite differs from the octets");
	p += slen;
	size_t nlen = p[1];
	if (p[0] != c->max_name_length || nlen == 0 || nlen != strlen(c->public_name) ||
	    (size_t)(end - p) < 2 + nlen + 2)
		fail("maximum_name_length or public_name differs from the octets");
	p += 2 + nlen;
	size_t elen = u16(p), n = 0;
	p += 2;
	if ((size_t)(end - p) != elen)
		fail("the extensions do not end where the config does");
	for (const uint8_t *e = p; e < end; n++) {
		if (end - e < 4 || (size_t)(end - e - 4) < u16(e + 2))
			fail("an extension runs past the config");
		e += 4 + u16(e + 2);
	}
	if (n != c->nextensions)
		fail("extension count");
}

static void as_list(const uint8_t *data, size_t size)
{
	char err[512];
	memset(err, 0x7f, sizeof(err));
	int rc = ech_list_parse(data, size, &parsed, err, sizeof(err));
	if (rc < 0) {
		if (rc != TERN_EMALF || parsed.nconfigs != 0)
			fail("a refused list: not TERN_EMALF, or configs left");
		check_message(err, sizeof(err));
		return;
	}
	if (size < 3 || (size_t)(data[0] << 8 | data[1]) != size - 2)
		fail("a list accepted with a length that is not its own");
	if (parsed.nconfigs == 0 || parsed.nconfigs > ECH_LIST_CONFIGS_MAX)
		fail("config count out of range");
	size_t at = 2, usable = 0, dups = 0, known = 0;
	struct ech_blob blobs[ECH_LIST_CONFIGS_MAX];
	for (size_t i = 0; i < parsed.nconfigs; i++) {
		const struct ech_config_info *c = &parsed.configs[i];
		if (c->offset != at || at + 4 + c->length > size || (data[at] << 8 | data[at + 1]) != c->version ||
		    (data[at + 2] << 8 | data[at + 3]) != c->length)
			fail("configs do not follow one another exactly");
		blobs[i] = (struct ech_blob){data + at, 4 + (size_t)c->length};
		at += 4 + (size_t)c->length;
		if (c->known != (c->version == ECH_VERSION))
			fail("known is not version 0xfe0d");
		if (!c->known)
			continue;
		known++;
		recheck(data, c);
		if (c->public_key < data + c->offset || c->public_key + c->public_key_len > data + at ||
		    c->public_key_len == 0)
			fail("public_key outside its config");
		if (c->nsuites == 0 || !memchr(c->public_name, 0, sizeof(c->public_name)) || !c->public_name[0])
			fail("no suites, or public_name not a NUL-terminated text");
		for (const char *p = c->public_name; *p; p++)
			if (*p < 0x21 || *p > 0x7e)
				fail("public_name not printable");
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup = dup || (parsed.configs[j].known && parsed.configs[j].config_id == c->config_id);
		if (dup != c->duplicate_id)
			fail("duplicate_id wrong");
		dups += dup;
		usable += !c->ignored;
	}
	if (at != size || usable != parsed.usable || dups != parsed.duplicates)
		fail("configs do not fill the list, or counts wrong");
	/* rebuilt from its configs: the same octets, when every config is one the builder takes */
	static uint8_t out[ECH_LIST_MAX];
	size_t len = 0;
	rc = ech_list_build(blobs, parsed.nconfigs, out, sizeof(out), &len, err, sizeof(err));
	bool buildable = known == parsed.nconfigs && usable == known && dups == 0;
	if ((rc == 0) != buildable)
		fail("ech_list_build takes a list it should not, or refuses one it should take");
	if (rc == 0 && (len != size || memcmp(out, data, size) != 0))
		fail("ech_list_build does not give the list back");
	if (rc < 0)
		check_message(err, sizeof(err));
	if (usable)
		publish(data, size);
}

static void as_rdata(const uint8_t *data, size_t size)
{
	const uint8_t *list = (const uint8_t *)"";
	size_t len = 7;
	char err[256];
	int rc = ech_https_find(data, size, &list, &len, err, sizeof(err));
	if (rc == 0 && (list < data || list + len > data + size || (data[0] == 0 && data[1] == 0)))
		fail("ech_https_find: the list outside the RDATA, or found in AliasMode");
	if (rc < 0 && (list || len))
		fail("ech_https_find: a refusal left a list");
	if (rc < 0 && rc != TERN_ENOTFOUND && rc != TERN_EMALF)
		fail("ech_https_find: an unexpected code");
}

static void as_name(const uint8_t *data, size_t size)
{
	char text[300], out[256], err[256];
	if (size >= sizeof(text))
		return;
	memcpy(text, data, size);
	text[size] = 0;
	int n = ech_public_name_check(text, out, sizeof(out), err, sizeof(err));
	if (n < 0) {
		if (n != TERN_ENAME)
			fail("a public_name refused with another code");
		check_message(err, sizeof(err));
		return;
	}
	if (n < 1 || n > 255 || strlen(out) != (size_t)n)
		fail("public_name length");
	uint8_t cfg[ECH_CONFIG_MAX], list[ECH_CONFIG_MAX + 2];
	size_t clen = 0, llen = 0;
	if (ech_config_build(&key, 9, text, 7, cfg, sizeof(cfg), &clen, err, sizeof(err)) != 0 ||
	    ech_list_build(&(struct ech_blob){cfg, clen}, 1, list, sizeof(list), &llen, err, sizeof(err)) != 0 ||
	    ech_list_parse(list, llen, &again, err, sizeof(err)) != 0)
		fail("a config with an accepted public_name is not built or not parsed");
	if (again.usable != 1 || strcmp(again.configs[0].public_name, out) != 0 || again.configs[0].config_id != 9 ||
	    again.configs[0].max_name_length != 7 || again.configs[0].kem != ECH_KEM_X25519 ||
	    memcmp(again.configs[0].public_key, key.pub, ECH_KEY_LEN) != 0)
		fail("a built config parses back to other fields");
	for (const char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			fail("public_name not lower-cased");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_list(data, size);
	as_rdata(data, size);
	as_name(data, size);
	return 0;
}
