/* Encrypted ClientHello configurations (draft-ietf-tls-esni, version 0xfe0d): X25519 key pairs,
 * ECHConfig and ECHConfigList built and parsed, and the HTTPS record that publishes a list. Tern
 * generates and publishes; the ingress (BoringSSL, NSS, ...) terminates ECH with the raw key. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ECH_VERSION 0xfe0d
#define ECH_KEM_X25519 0x0020 /* DHKEM(X25519, HKDF-SHA256) */
#define ECH_KDF_HKDF_SHA256 0x0001
#define ECH_AEAD_AES_128_GCM 0x0001
#define ECH_AEAD_CHACHA20_POLY1305 0x0003
#define ECH_KEY_LEN 32 /* X25519 private and public keys, raw */
/* The ECHConfig ech_config_build() makes: version, length, config_id, kem, the public key with
 * its length, two suites with their length, maximum_name_length, public_name with its length,
 * no extensions. */
#define ECH_CONFIG_MAX (2 + 2 + 1 + 2 + 2 + ECH_KEY_LEN + 2 + 8 + 1 + 1 + 255 + 2)
#define ECH_LIST_MAX 65537 /* u16 length and up to 65,535 octets of configs */
#define ECH_LIST_CONFIGS_MAX 64 /* configs ech_list_parse() describes; a list with more is refused */
#define ECH_SUITES_MAX 16 /* suites kept per config (all are counted) */

/* An X25519 key pair, raw: priv as `bssl server -ech-key` reads it, pub as the ECHConfig has it. */
struct ech_key {
	uint8_t priv[ECH_KEY_LEN];
	uint8_t pub[ECH_KEY_LEN];
};

/* A new key pair from OpenSSL's random generator. Returns 0 or TERN_ENOMEM/TERN_EINVAL (err). */
int ech_key_generate(struct ech_key *key, char *err, size_t errlen);
/* The key pair of a stored raw private key (its public half derived). Returns 0 or TERN_EINVAL. */
int ech_key_from_private(struct ech_key *key, const uint8_t priv[ECH_KEY_LEN], char *err, size_t errlen);

/* Checks a public_name (RFC 5890 LDH labels of 1 to 63 characters, no hyphen at either end of a
 * label, 1 to 255 characters, not an IPv4 address: the last label neither all digits nor "0x"
 * hex) and writes it lower-cased to out (cap >= 256); one trailing dot is dropped. Returns its
 * length, TERN_ENAME with err naming the fault and the name, or TERN_ESPACE (cap too small). */
int ech_public_name_check(const char *name, char *out, size_t cap, char *err, size_t errlen);

/* One ECHConfig (version 0xfe0d; KEM X25519; suites HKDF-SHA256 with AES-128-GCM, then with
 * ChaCha20-Poly1305; no extensions) for key's public half into out (ECH_CONFIG_MAX is enough).
 * Returns 0 with *len set, TERN_ENAME (public_name), TERN_ESPACE (cap), with err set. */
int ech_config_build(const struct ech_key *key, uint8_t config_id, const char *public_name, uint8_t max_name_length,
                     uint8_t *out, size_t cap, size_t *len, char *err, size_t errlen);

/* An ECHConfig, whole (version and length included), as handed to ech_list_build(). */
struct ech_blob {
	const uint8_t *data;
	size_t len;
};

/* The ECHConfigList of n configs in that order (a rotation lists the new beside the old): each
 * must be one well-formed ECHConfig our parser accepts as usable, no two with the same
 * config_id. Returns 0 with *len set, or TERN_EINVAL (naming configs[i] and why) / TERN_ESPACE. */
int ech_list_build(const struct ech_blob *configs, size_t n, uint8_t *out, size_t cap, size_t *len, char *err,
                   size_t errlen);

struct ech_suite {
	uint16_t kdf, aead;
};

/* One ECHConfig of a parsed list. For an unknown version only version, length and offset are
 * set (clients skip it, and so does ech_list_parse()). */
struct ech_config_info {
	size_t offset; /* of its version field in the list given (the list's u16 length included) */
	uint16_t version, length; /* length: of the contents */
	bool known; /* version 0xfe0d: the fields below are set */
	uint8_t config_id;
	uint16_t kem;
	const uint8_t *public_key; /* points into the list given */
	uint16_t public_key_len;
	size_t nsuites; /* all the suites listed; the first ECH_SUITES_MAX in suites */
	struct ech_suite suites[ECH_SUITES_MAX];
	uint8_t max_name_length;
	char public_name[256]; /* as sent, NUL-terminated; non-printable octets as '?' */
	size_t nextensions;
	bool duplicate_id; /* an earlier known config has the same config_id */
	/* NULL when a client could use it; else why a client ignores it ("unsupported KEM 0x0010",
	 * "public_name is an IPv4 address", "mandatory extension 0xfa00", ...) */
	const char *ignored;
};

struct ech_list {
	size_t nconfigs;
	struct ech_config_info configs[ECH_LIST_CONFIGS_MAX];
	size_t usable; /* configs known, supported and not ignored */
	size_t duplicates; /* configs with duplicate_id */
};

/* Parses an ECHConfigList (untrusted): a u16 length that covers the rest exactly, then configs,
 * each version, u16 length, contents; an unknown version is skipped by its length; a known one
 * must fill its length exactly with well-formed fields. A list that is empty, cut short, longer
 * than its length, or has more than ECH_LIST_CONFIGS_MAX configs is refused whole: TERN_EMALF
 * with err naming the config (by index and offset) and field. Otherwise 0 and out filled. */
int ech_list_parse(const uint8_t *list, size_t len, struct ech_list *out, char *err, size_t errlen);

/* The standard base64 (padded) of len octets into out (cap >= 4 * ((len + 2) / 3) + 1),
 * NUL-terminated. Returns the text length or TERN_ESPACE. */
int ech_base64(const uint8_t *data, size_t len, char *out, size_t cap);

/* The HTTPS record's RDATA text for list: "1 . alpn=h2,h3 ech=<base64>" when target is NULL or
 * ".", else "1 <target> alpn=h2,h3 ech=<base64>" (target an absolute name, checked). The list is
 * parsed first: it must hold a usable config. Returns the text length, or TERN_EINVAL/TERN_ENAME
 * (err set) or TERN_ESPACE. */
int ech_https_text(const char *target, const uint8_t *list, size_t len, char *out, size_t cap, char *err,
                   size_t errlen);
/* The same record's RDATA in wire form, written field by field (SvcPriority 1, the target name,
 * alpn (key 1) "h2" "h3", ech (key 5) the list): rrtext_rdata_from_text() of ech_https_text()'s
 * text gives the same octets. Returns 0 with *rdlen set, or TERN_EINVAL/TERN_ENAME/TERN_ESPACE. */
int ech_https_rdata(const char *target, const uint8_t *list, size_t len, uint8_t *rdata, size_t cap, size_t *rdlen,
                    char *err, size_t errlen);
/* Finds the ech SvcParam (key 5) in an HTTPS or SVCB RDATA (untrusted): priority, target name,
 * then params with strictly increasing keys filling the RDATA exactly. Sets *list and *list_len to
 * its value inside rdata and returns 0; TERN_ENOTFOUND when well-formed without ech (or in
 * AliasMode), TERN_EMALF with err naming the fault. */
int ech_https_find(const uint8_t *rdata, size_t len, const uint8_t **list, size_t *list_len, char *err, size_t errlen);
