/* Base64 decoding (RFC 4648), strict, in the two forms of base64.h: a check of every character
 * (so a refusal can name the offending one), then OpenSSL's EVP_DecodeBlock. */
#include "lib/base64.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"

static bool alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int refuse(struct b64_error *e, enum b64_fault fault, size_t offset, char c)
{
	e->fault = fault;
	e->offset = offset;
	e->c = c;
	return fault == B64_NOMEM ? TERN_ENOMEM : TERN_EINVAL;
}

int b64_decode(const char *in, size_t len, enum b64_form form, uint8_t *out, size_t cap, size_t *outlen,
               struct b64_error *e)
{
	/* the input in EVP_DecodeBlock's form (standard alphabet, padded, no blanks), then the
	 * octets it decodes to, padding's zeros included */
	char *text = malloc(len + 4);
	uint8_t *bin = malloc(len / 4 * 3 + 3);
	size_t n = 0, data = 0, pad = 0;
	int rc = 0;
	if (!text || !bin) {
		rc = refuse(e, B64_NOMEM, 0, 0);
		goto done;
	}
	if (form == B64_URL && len % 4 == 1) {
		rc = refuse(e, B64_LENGTH, len, 0);
		goto done;
	}
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (form == B64_PADDED && (c == ' ' || c == '\t' || c == '\n' || c == '\r'))
			continue;
		if (form == B64_PADDED && c == '=') {
			pad++;
			text[n++] = c;
			continue;
		}
		bool sign = form == B64_URL ? c == '-' || c == '_' : c == '+' || c == '/';
		if (form == B64_URL && sign)
			c = c == '-' ? '+' : '/';
		if (!alnum(c) && !sign)
			rc = refuse(e, B64_BADCHAR, i, in[i]);
		else if (pad)
			rc = refuse(e, B64_AFTERPAD, i, c);
		else if (++data * 6 / 8 > cap)
			rc = refuse(e, B64_TOOLONG, i, c);
		if (rc < 0)
			goto done;
		text[n++] = c;
	}
	size_t rem = data % 4;
	if (form == B64_PADDED &&
	    (n % 4 != 0 || !((pad == 0 && rem == 0) || (pad == 1 && rem == 3) || (pad == 2 && rem == 2)))) {
		rc = refuse(e, B64_LENGTH, len, 0);
		goto done;
	}
	for (pad = (4 - rem) % 4; form == B64_URL && n % 4; n++)
		text[n] = '=';
	int got = EVP_DecodeBlock(bin, (const unsigned char *)text, (int)n);
	size_t octets = got < 0 ? 0 : (size_t)got - pad;
	if (got < 0 || octets > cap) {
		rc = refuse(e, got < 0 ? B64_LENGTH : B64_TOOLONG, len, 0);
		goto done;
	}
	if (form == B64_URL) { /* canonical: the octets encode back to the very characters */
		text[n] = 0;
		char *again = malloc(n + 1);
		enum b64_fault fault = B64_NOMEM;
		if (again)
			fault = EVP_EncodeBlock((unsigned char *)again, bin, (int)octets) == (int)n &&
			                memcmp(again, text, n) == 0
			            ? B64_OK
			            : B64_BITS;
		free(again);
		if (fault != B64_OK) {
			rc = refuse(e, fault, len, 0);
			goto done;
		}
	}
	memcpy(out, bin, octets);
	*outlen = octets;
done:
	if (text)
		OPENSSL_cleanse(text, len + 4);
	if (bin)
		OPENSSL_cleanse(bin, len / 4 * 3 + 3);
	free(text);
	free(bin);
	return rc;
}
