/* Base64 decoding (RFC 4648) in the two strict forms Tern reads, over OpenSSL's EVP_DecodeBlock:
 * the standard alphabet with '=' padding (TSIG secrets) and base64url without padding (JOSE). */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum b64_form {
	B64_PADDED, /* RFC 4648 section 4: '+' '/', '=' padding required; blanks (as in BIND key files) skipped */
	B64_URL, /* RFC 7515 section 2: '-' '_', no padding, no blanks, unused trailing bits zero */
};

/* Why an input was refused. */
enum b64_fault {
	B64_OK,
	B64_BADCHAR, /* offset, c: a character outside the alphabet */
	B64_AFTERPAD, /* offset: data after '=' padding */
	B64_LENGTH, /* not a whole number of groups (with their padding) */
	B64_TOOLONG, /* more than cap octets */
	B64_BITS, /* unused trailing bits set (B64_URL) */
	B64_NOMEM,
};

struct b64_error {
	enum b64_fault fault;
	size_t offset; /* into the input */
	char c;
};

/* Decodes the len characters at in, in the given form, into out (at most cap octets) and sets
 * *outlen. Returns 0, TERN_EINVAL (e says why) or TERN_ENOMEM. Nothing past *outlen is written. */
int b64_decode(const char *in, size_t len, enum b64_form form, uint8_t *out, size_t cap, size_t *outlen,
               struct b64_error *e);
