/* Encrypted ClientHello configurations: X25519 keys through OpenSSL, ECHConfig and ECHConfigList
 * written and read octet by octet (every length checked against what is left), and the HTTPS
 * record (RFC 9460) that carries a list in its ech SvcParam. */
#include "lib/ech.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"

#define SVC_KEY_ALPN 1
#define SVC_KEY_ECH 5

/* Writes a message into err and returns code; OpenSSL's error queue is emptied so its errors do
 * not leak into a later check on this thread. */
__attribute__((format(printf, 4, 5))) static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
	ERR_clear_error();
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- keys ---- */

static int key_from_pkey(struct ech_key *key, EVP_PKEY *pk, char *err, size_t errlen)
{
	size_t plen = ECH_KEY_LEN, qlen = ECH_KEY_LEN;
	if (EVP_PKEY_get_raw_private_key(pk, key->priv, &plen) != 1 ||
	    EVP_PKEY_get_raw_public_key(pk, key->pub, &qlen) != 1 || plen != ECH_KEY_LEN || qlen != ECH_KEY_LEN) {
		memset(key, 0, sizeof(*key));
		return fail(TERN_EINVAL, err, errlen, "X25519 key: OpenSSL gave no raw key of %d octets", ECH_KEY_LEN);
	}
	return 0;
}

int ech_key_generate(struct ech_key *key, char *err, size_t errlen)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	if (!pk)
		return fail(TERN_ENOMEM, err, errlen, "X25519 key generation failed");
	int rc = key_from_pkey(key, pk, err, errlen);
	EVP_PKEY_free(pk);
	return rc;
}

int ech_key_from_private(struct ech_key *key, const uint8_t priv[ECH_KEY_LEN], char *err, size_t errlen)
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, ECH_KEY_LEN);
	if (!pk)
		return fail(TERN_EINVAL, err, errlen, "X25519 private key: OpenSSL refused the %d octets", ECH_KEY_LEN);
	int rc = key_from_pkey(key, pk, err, errlen);
	EVP_PKEY_free(pk);
	return rc;
}

/* ---- public_name ---- */

static bool ldh(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static bool hexdigit(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Why the n octets at s are no public_name a client accepts (draft-ietf-tls-esni section 4:
 * dot-separated LDH labels, no dot at either end; an IPv4 address is ignored too), or NULL. The
 * reason returned is a constant; why (cap octets) gets it with the position. */
static const char *name_fault(const uint8_t *s, size_t n, char *why, size_t cap)
{
	const char *fault = NULL;
	size_t at = 0;
	if (n == 0)
		fault = "public_name is empty";
	else if (n > 255)
		fault = "public_name is longer than 255 octets";
	else if (s[0] == '.' || s[n - 1] == '.')
		fault = "public_name starts or ends with a dot";
	for (size_t i = 0, start = 0; !fault && i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!ldh(s[i])) {
				fault = "public_name has a character other than a letter, digit, '-' or '.'";
				at = i;
			}
			continue;
		}
		size_t l = i - start;
		at = start;
		if (l == 0)
			fault = "public_name has an empty label";
		else if (l > 63)
			fault = "public_name has a label longer than 63 octets";
		else if (s[start] == '-' || s[i - 1] == '-')
			fault = "public_name has a label starting or ending with '-'";
		if (!fault && i == n) {
			/* the last label all digits, or 0x and hex digits: an IPv4 address */
			bool digits = true,
			     hex = l >= 2 && s[start] == '0' && (s[start + 1] == 'x' || s[start + 1] == 'X');
			for (size_t k = start; k < i; k++) {
				digits = digits && s[k] >= '0' && s[k] <= '9';
				hex = hex && (k < start + 2 || hexdigit(s[k]));
			}
			if (digits || hex)
				fault = "public_name is an IPv4 address (its last label is numeric)";
		}
		start = i + 1;
	}
	if (fault && cap)
		snprintf(why, cap, "%s (at offset %zu)", fault, at);
	return fault;
}

int ech_public_name_check(const char *name, char *out, size_t cap, char *err, size_t errlen)
{
	if (!name)
		return fail(TERN_ENAME, err, errlen, "public_name is missing");
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		n--;
	char why[160];
	if (name_fault((const uint8_t *)name, n, why, sizeof(why)))
		return fail(TERN_ENAME, err, errlen, "%s: \"%s\"", why, name);
	if (cap <= n)
		return fail(TERN_ESPACE, err, errlen, "public_name: no room for %zu octets", n);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	out[n] = 0;
	return (int)n;
}

/* ---- ECHConfig ---- */

int ech_config_build(const struct ech_key *key, uint8_t config_id, const char *public_name, uint8_t max_name_length,
                     uint8_t *out, size_t cap, size_t *len, char *err, size_t errlen)
{
	char name[256];
	int n = ech_public_name_check(public_name, name, sizeof(name), err, errlen);
	if (n < 0)
		return n;
	static const uint8_t suites[] = {0, ECH_KDF_HKDF_SHA256, 0, ECH_AEAD_AES_128_GCM,
	                                 0, ECH_KDF_HKDF_SHA256, 0, ECH_AEAD_CHACHA20_POLY1305};
	size_t contents = 1 + 2 + 2 + ECH_KEY_LEN + 2 + sizeof(suites) + 1 + 1 + (size_t)n + 2;
	if (cap < 4 + contents)
		return fail(TERN_ESPACE, err, errlen, "ECHConfig: %zu octets do not fit in %zu", 4 + contents, cap);
	uint8_t *p = out;
	put16(p, ECH_VERSION);
	put16(p + 2, contents);
	p += 4;
	*p++ = config_id;
	put16(p, ECH_KEM_X25519);
	put16(p + 2, ECH_KEY_LEN);
	memcpy(p + 4, key->pub, ECH_KEY_LEN);
	p += 4 + ECH_KEY_LEN;
	put16(p, sizeof(suites));
	memcpy(p + 2, suites, sizeof(suites));
	p += 2 + sizeof(suites);
	*p++ = max_name_length;
	*p++ = (uint8_t)n;
	memcpy(p, name, (size_t)n);
	p += n;
	put16(p, 0); /* no extensions */
	p += 2;
	*len = (size_t)(p - out);
	return 0;
}

/* ---- parsing ---- */

/* The public key length a KEM (RFC 9180 section 7.1) has, 0 for a KEM we do not know. */
static size_t kem_key_len(uint16_t kem)
{
	switch (kem) {
	case 0x0010: return 65; /* P-256 */
	case 0x0011: return 97; /* P-384 */
	case 0x0012: return 133; /* P-521 */
	case 0x0020: return 32; /* X25519 */
	case 0x0021: return 56; /* X448 */
	default: return 0;
	}
}

static bool suite_known(struct ech_suite s)
{
	return s.kdf >= 1 && s.kdf <= 3 && s.aead >= 1 && s.aead <= 3;
}

/* A cursor over n octets, moved only by the reads below. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static bool take(struct rd *r, size_t n, const uint8_t **at)
{
	if (r->left < n)
		return false;
	*at = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static bool take16(struct rd *r, uint16_t *v)
{
	const uint8_t *at;
	if (!take(r, 2, &at))
		return false;
	*v = get16(at);
	return true;
}

/* The contents of one known config (clen octets at r) into ci; 0, or TERN_EMALF naming the field
 * (what: "config 2 (offset 57)"). */
static int parse_contents(struct rd r, struct ech_config_info *ci, const char *what, char *err, size_t errlen)
{
	const uint8_t *at;
	uint16_t n;
	if (!take(&r, 1, &at))
		return fail(TERN_EMALF, err, errlen, "%s: cut short at config_id", what);
	ci->config_id = *at;
	if (!take16(&r, &ci->kem))
		return fail(TERN_EMALF, err, errlen, "%s: cut short at kem_id", what);
	if (!take16(&r, &n))
		return fail(TERN_EMALF, err, errlen, "%s: cut short at the public_key length", what);
	if (n == 0 || !take(&r, n, &at))
		return fail(TERN_EMALF, err, errlen, "%s: public_key length %u %s", what, n,
		            n == 0 ? "is zero" : "runs past the config");
	ci->public_key = at;
	ci->public_key_len = n;
	if (!take16(&r, &n))
		return fail(TERN_EMALF, err, errlen, "%s: cut short at the cipher_suites length", what);
	if (n < 4 || n % 4 != 0 || !take(&r, n, &at))
		return fail(TERN_EMALF, err, errlen, "%s: cipher_suites length %u %s", what, n,
		            n < 4 || n % 4 ? "is not a positive multiple of 4" : "runs past the config");
	ci->nsuites = n / 4;
	for (size_t i = 0; i < ci->nsuites && i < ECH_SUITES_MAX; i++)
		ci->suites[i] = (struct ech_suite){get16(at + 4 * i), get16(at + 4 * i + 2)};
	if (!take(&r, 1, &at))
		return fail(TERN_EMALF, err, errlen, "%s: cut short at maximum_name_length", what);
	ci->max_name_length = *at;
	if (!take(&r, 1, &at))
		return fail(TERN_EMALF, err, errlen, "%s: cut short at the public_name length", what);
	if (*at == 0)
		return fail(TERN_EMALF, err, errlen, "%s: public_name length is zero", what);
	const uint8_t *name;
	size_t name_len = *at;
	if (!take(&r, name_len, &name))
		return fail(TERN_EMALF, err, errlen, "%s: public_name length %zu runs past the config", what, name_len);
	for (size_t i = 0; i < name_len; i++)
		ci->public_name[i] = name[i] >= 0x21 && name[i] < 0x7f ? (char)name[i] : '?';
	ci->public_name[name_len] = 0;
	if (!take16(&r, &n))
		return fail(TERN_EMALF, err, errlen, "%s: cut short at the extensions length", what);
	if (!take(&r, n, &at))
		return fail(TERN_EMALF, err, errlen, "%s: extensions length %u runs past the config", what, n);
	if (r.left)
		return fail(TERN_EMALF, err, errlen, "%s: %zu octets after the extensions, inside the config's length",
		            what, r.left);
	struct rd ext = {at, n};
	uint16_t mandatory = 0;
	while (ext.left) {
		uint16_t type, elen;
		if (!take16(&ext, &type) || !take16(&ext, &elen) || !take(&ext, elen, &at))
			return fail(TERN_EMALF, err, errlen, "%s: extension %zu cut short", what, ci->nextensions);
		ci->nextensions++;
		if ((type & 0x8000) && !mandatory)
			mandatory = type;
	}

	/* well formed: now whether a client would use it */
	size_t want = kem_key_len(ci->kem);
	bool suite = false;
	for (size_t i = 0; i < ci->nsuites && i < ECH_SUITES_MAX; i++)
		suite = suite || suite_known(ci->suites[i]);
	if (!want)
		ci->ignored = "unknown KEM";
	else if (ci->public_key_len != want)
		ci->ignored = "public_key length does not match the KEM";
	else if (!suite)
		ci->ignored = "no cipher suite with a known KDF and AEAD";
	else if (mandatory)
		ci->ignored = "a mandatory extension";
	else
		ci->ignored = name_fault(name, name_len, NULL, 0);
	return 0;
}

/* One ECHConfig at r (offset: where in the list it starts): header, then the contents of a known
 * version; *r moves past it. 0 or TERN_EMALF. */
static int parse_config(struct rd *r, size_t index, size_t offset, struct ech_config_info *ci, char *err, size_t errlen)
{
	char what[64];
	snprintf(what, sizeof(what), "ECHConfig %zu (offset %zu)", index, offset);
	memset(ci, 0, sizeof(*ci));
	ci->offset = offset;
	const uint8_t *contents;
	if (!take16(r, &ci->version) || !take16(r, &ci->length))
		return fail(TERN_EMALF, err, errlen, "%s: cut short in its version and length", what);
	if (!take(r, ci->length, &contents))
		return fail(TERN_EMALF, err, errlen, "%s: length %u runs past the list (%zu octets left)", what,
		            ci->length, r->left);
	if (ci->version != ECH_VERSION)
		return 0; /* skipped, as clients skip it */
	ci->known = true;
	return parse_contents((struct rd){contents, ci->length}, ci, what, err, errlen);
}

int ech_list_parse(const uint8_t *list, size_t len, struct ech_list *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len < 2)
		return fail(TERN_EMALF, err, errlen, "ECHConfigList: %zu octets, not even its length", len);
	size_t total = get16(list);
	if (total == 0)
		return fail(TERN_EMALF, err, errlen, "ECHConfigList is empty");
	if (total != len - 2)
		return fail(TERN_EMALF, err, errlen, "ECHConfigList: its length says %zu octets, %zu follow", total,
		            len - 2);
	struct rd r = {list + 2, total};
	int rc = 0;
	while (r.left) {
		if (out->nconfigs == ECH_LIST_CONFIGS_MAX) {
			rc = fail(TERN_EMALF, err, errlen, "ECHConfigList: more than %d configs", ECH_LIST_CONFIGS_MAX);
			break;
		}
		struct ech_config_info *ci = &out->configs[out->nconfigs];
		rc = parse_config(&r, out->nconfigs, (size_t)(r.p - list), ci, err, errlen);
		if (rc < 0)
			break;
		out->nconfigs++;
		if (!ci->known)
			continue;
		for (size_t i = 0; i + 1 < out->nconfigs && !ci->duplicate_id; i++)
			ci->duplicate_id = out->configs[i].known && out->configs[i].config_id == ci->config_id;
		out->duplicates += ci->duplicate_id;
		out->usable += !ci->ignored;
	}
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- ECHConfigList ---- */

int ech_list_build(const struct ech_blob *configs, size_t n, uint8_t *out, size_t cap, size_t *len, char *err,
                   size_t errlen)
{
	if (n == 0)
		return fail(TERN_EINVAL, err, errlen, "ECHConfigList: no config given");
	uint8_t ids[256] = {0};
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		struct ech_config_info ci;
		char why[256];
		struct rd r = {configs[i].data, configs[i].len};
		if (parse_config(&r, i, 0, &ci, why, sizeof(why)) < 0)
			return fail(TERN_EINVAL, err, errlen, "configs[%zu]: %s", i, why);
		if (r.left)
			return fail(TERN_EINVAL, err, errlen, "configs[%zu]: %zu octets after the ECHConfig", i,
			            r.left);
		if (!ci.known)
			return fail(TERN_EINVAL, err, errlen, "configs[%zu]: version 0x%04x is not 0x%04x", i,
			            ci.version, ECH_VERSION);
		if (ci.ignored)
			return fail(TERN_EINVAL, err, errlen, "configs[%zu]: clients would ignore it: %s", i,
			            ci.ignored);
		if (ids[ci.config_id]++)
			return fail(TERN_EINVAL, err, errlen, "configs[%zu]: config_id %u is in the list already", i,
			            ci.config_id);
		total += configs[i].len;
	}
	if (total > 65535)
		return fail(TERN_EINVAL, err, errlen, "ECHConfigList: %zu octets of configs, at most 65535", total);
	if (cap < 2 + total)
		return fail(TERN_ESPACE, err, errlen, "ECHConfigList: %zu octets do not fit in %zu", 2 + total, cap);
	put16(out, total);
	size_t at = 2;
	for (size_t i = 0; i < n; i++) {
		memcpy(out + at, configs[i].data, configs[i].len);
		at += configs[i].len;
	}
	*len = at;
	return 0;
}

int ech_base64(const uint8_t *data, size_t len, char *out, size_t cap)
{
	if (len > (size_t)INT32_MAX / 2 || cap < 4 * ((len + 2) / 3) + 1)
		return TERN_ESPACE;
	return EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

/* ---- the HTTPS record ---- */

/* The target as a wire name: the root for NULL or "."; else an absolute name. */
static int https_target(const char *target, uint8_t name[NAME_MAXLEN], char *err, size_t errlen)
{
	if (!target || strcmp(target, ".") == 0) {
		name[0] = 0;
		return 1;
	}
	size_t n = strlen(target);
	if (n == 0 || target[n - 1] != '.')
		return fail(TERN_ENAME, err, errlen, "target \"%s\" is not an absolute name (a trailing dot)", target);
	int rc = name_from_text(name, target, NULL);
	if (rc < 0)
		return fail(TERN_ENAME, err, errlen, "target \"%s\" is not a domain name", target);
	return rc;
}

static int https_list_check(const uint8_t *list, size_t len, char *err, size_t errlen)
{
	char why[256];
	struct ech_list *pl = malloc(sizeof(*pl)); /* some 25 KB: not on the stack */
	if (!pl)
		return fail(TERN_ENOMEM, err, errlen, "out of memory");
	int rc = ech_list_parse(list, len, pl, why, sizeof(why));
	if (rc < 0)
		rc = fail(TERN_EINVAL, err, errlen, "ech: %s", why);
	else if (pl->usable == 0)
		rc = fail(TERN_EINVAL, err, errlen, "ech: the list has no config a client can use");
	free(pl);
	return rc;
}

int ech_https_text(const char *target, const uint8_t *list, size_t len, char *out, size_t cap, char *err, size_t errlen)
{
	uint8_t name[NAME_MAXLEN];
	char tname[NAME_MAXLEN * 4 + 2];
	int rc = https_target(target, name, err, errlen);
	if (rc < 0 || (rc = https_list_check(list, len, err, errlen)) < 0)
		return rc;
	if (name_to_text(name, tname, sizeof(tname)) < 0)
		return fail(TERN_ENAME, err, errlen, "target \"%s\" cannot be written", target);
	int head = snprintf(out, cap, "1 %s alpn=h2,h3 ech=", tname);
	if (head < 0 || (size_t)head >= cap)
		return fail(TERN_ESPACE, err, errlen, "HTTPS record text: no room");
	int b = ech_base64(list, len, out + head, cap - (size_t)head);
	if (b < 0)
		return fail(TERN_ESPACE, err, errlen, "HTTPS record text: no room for the list's base64");
	return head + b;
}

int ech_https_rdata(const char *target, const uint8_t *list, size_t len, uint8_t *rdata, size_t cap, size_t *rdlen,
                    char *err, size_t errlen)
{
	static const uint8_t alpn[] = {2, 'h', '2', 2, 'h', '3'};
	uint8_t name[NAME_MAXLEN];
	int n = https_target(target, name, err, errlen);
	int rc = n < 0 ? n : https_list_check(list, len, err, errlen);
	if (rc < 0)
		return rc;
	size_t total = 2 + (size_t)n + 4 + sizeof(alpn) + 4 + len;
	if (total > 65535)
		return fail(TERN_EINVAL, err, errlen, "HTTPS record: %zu octets of RDATA, at most 65535", total);
	if (cap < total)
		return fail(TERN_ESPACE, err, errlen, "HTTPS record: %zu octets do not fit in %zu", total, cap);
	uint8_t *p = rdata;
	put16(p, 1); /* SvcPriority: ServiceMode */
	memcpy(p + 2, name, (size_t)n);
	p += 2 + n;
	put16(p, SVC_KEY_ALPN);
	put16(p + 2, sizeof(alpn));
	memcpy(p + 4, alpn, sizeof(alpn));
	p += 4 + sizeof(alpn);
	put16(p, SVC_KEY_ECH);
	put16(p + 2, len);
	memcpy(p + 4, list, len);
	p += 4 + len;
	*rdlen = (size_t)(p - rdata);
	return 0;
}

int ech_https_find(const uint8_t *rdata, size_t len, const uint8_t **list, size_t *list_len, char *err, size_t errlen)
{
	*list = NULL;
	*list_len = 0;
	if (len < 3)
		return fail(TERN_EMALF, err, errlen, "HTTPS RDATA: %zu octets, too short", len);
	uint16_t priority = get16(rdata);
	int n = name_check(rdata + 2, len - 2);
	if (n < 0)
		return fail(TERN_EMALF, err, errlen, "HTTPS RDATA: TargetName malformed");
	struct rd r = {rdata + 2 + n, len - 2 - (size_t)n};
	const uint8_t *found = NULL;
	size_t found_len = 0;
	int last = -1;
	while (r.left) {
		uint16_t key, vlen;
		const uint8_t *value;
		if (!take16(&r, &key) || !take16(&r, &vlen) || !take(&r, vlen, &value))
			return fail(TERN_EMALF, err, errlen, "HTTPS RDATA: SvcParam after key %d cut short", last);
		if ((int)key <= last)
			return fail(TERN_EMALF, err, errlen,
			            "HTTPS RDATA: SvcParam key %u after key %d (keys increase)", key, last);
		last = key;
		if (key == SVC_KEY_ECH) {
			found = value;
			found_len = vlen;
		}
	}
	if (priority == 0 || !found)
		return fail(TERN_ENOTFOUND, err, errlen, "HTTPS RDATA: %s", priority == 0 ? "AliasMode" : "no ech");
	*list = found;
	*list_len = found_len;
	return 0;
}
