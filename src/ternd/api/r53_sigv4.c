/* AWS Signature Version 4 checked (r53_sigv4.h), after AWS's "Create a canonical request": the
 * path encoded again (Route 53 is not S3), the query's pairs encoded and sorted, the signed headers
 * trimmed, the body's SHA-256. */
#include "ternd/api/r53_sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/base/text.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return TERN_EINVAL;
}

/* Copies the value of "key=" at *p up to ',' (or the end) into out; advances *p past it. */
static bool take(const char **p, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	*p += strspn(*p, " ");
	if (strncmp(*p, key, kl) != 0)
		return false;
	const char *v = *p + kl, *end = strchr(v, ',');
	size_t n = end ? (size_t)(end - v) : strlen(v);
	while (n && v[n - 1] == ' ')
		n--;
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, v, n);
	out[n] = 0;
	*p = end ? end + 1 : v + n + strlen(v + n);
	return true;
}

int r53_sigv4_parse(const char *h, struct r53_sigv4 *out, char *err, size_t errlen)
{
	static const char scheme[] = "AWS4-HMAC-SHA256 ";
	char cred[512];
	memset(out, 0, sizeof(*out));
	if (strncmp(h, scheme, sizeof(scheme) - 1) != 0)
		return fail(err, errlen, "Authorization: expected AWS4-HMAC-SHA256 (Signature Version 4)");
	const char *p = h + sizeof(scheme) - 1;
	if (!take(&p, "Credential=", cred, sizeof(cred)) ||
	    !take(&p, "SignedHeaders=", out->signed_headers, sizeof(out->signed_headers)) ||
	    !take(&p, "Signature=", out->signature, sizeof(out->signature)) || p[strspn(p, " ")])
		return fail(err, errlen, "Authorization: expected Credential=..., SignedHeaders=..., Signature=...");
	/* AKID/DATE/REGION/SERVICE/aws4_request */
	char *part[5], *s = cred;
	for (int i = 0; i < 5; i++) {
		part[i] = s;
		char *slash = strchr(s, '/');
		if ((i < 4) != (slash != NULL))
			return fail(err, errlen,
			            "Authorization: Credential must be KEY/DATE/REGION/SERVICE/aws4_request");
		if (slash) {
			*slash = 0;
			s = slash + 1;
		}
	}
	if (!*part[0] || strlen(part[0]) > R53_AKID_MAX || strlen(part[1]) != 8 || strspn(part[1], "0123456789") != 8 ||
	    !*part[2] || strlen(part[2]) >= sizeof(out->region) || !*part[3] ||
	    strlen(part[3]) >= sizeof(out->service) || strcmp(part[4], "aws4_request") != 0)
		return fail(err, errlen, "Authorization: Credential must be KEY/DATE/REGION/SERVICE/aws4_request");
	strcpy(out->akid, part[0]);
	strcpy(out->date, part[1]);
	strcpy(out->region, part[2]);
	strcpy(out->service, part[3]);
	if (strlen(out->signature) != 64 || strspn(out->signature, "0123456789abcdef") != 64)
		return fail(err, errlen, "Authorization: Signature must be 64 lower-case hex digits");
	if (strspn(out->signed_headers, "abcdefghijklmnopqrstuvwxyz0123456789-_;") != strlen(out->signed_headers))
		return fail(err, errlen, "Authorization: SignedHeaders must be lower-case names joined by ';'");
	return 0;
}

/* ---- the canonical request ---- */

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	       c == '.' || c == '~';
}

static void encode(struct text *t, const char *s, size_t n, bool slash)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (slash && c == '/'))
			text_append(t, (const char *)&c, 1);
		else
			text_printf(t, "%%%02X", c);
	}
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* Percent-decodes s[0..n) into out (n + 1 bytes); the length, or -1 for a bad escape. */
static long decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = 0;
	return (long)o;
}

struct pair {
	char *text; /* "key=value", each part encoded */
	size_t klen;
};

static int pair_cmp(const void *x, const void *y)
{
	const struct pair *a = x, *b = y;
	size_t k = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->text, b->text, k);
	if (c || a->klen != b->klen)
		return c ? c : (a->klen < b->klen ? -1 : 1);
	return strcmp(a->text + a->klen, b->text + b->klen);
}

/* The canonical query of the query string q (after '?', may be empty). */
static int canonical_query(struct text *t, const char *q, char *err, size_t errlen)
{
	size_t n = 0;
	for (const char *p = q; *p; p++)
		n += *p == '&';
	struct pair *pairs = calloc(n + 1, sizeof(*pairs));
	char *buf = malloc(strlen(q) + 1);
	size_t np = 0;
	int rc = 0;
	if (!pairs || !buf) {
		rc = TERN_ENOMEM;
		goto out;
	}
	for (const char *a = q; *a;) {
		size_t len = strcspn(a, "&");
		if (len) {
			const char *eq = memchr(a, '=', len);
			size_t kn = eq ? (size_t)(eq - a) : len;
			struct text one = {0};
			long d = decode(a, kn, buf);
			if (d < 0) {
				rc = fail(err, errlen, "bad percent-encoding in the query");
				goto out;
			}
			encode(&one, buf, (size_t)d, false);
			size_t klen = one.len;
			text_append(&one, "=", 1);
			d = eq ? decode(eq + 1, len - kn - 1, buf) : 0;
			if (d < 0) {
				text_free(&one);
				rc = fail(err, errlen, "bad percent-encoding in the query");
				goto out;
			}
			encode(&one, buf, (size_t)d, false);
			if (one.nomem || !one.s) {
				text_free(&one);
				rc = TERN_ENOMEM;
				goto out;
			}
			pairs[np].text = one.s;
			pairs[np].klen = klen;
			np++;
		}
		a += len;
		if (*a == '&')
			a++;
	}
	qsort(pairs, np, sizeof(*pairs), pair_cmp);
	for (size_t i = 0; i < np; i++) {
		if (i)
			text_append(t, "&", 1);
		text_append(t, pairs[i].text, strlen(pairs[i].text));
	}
out:
	for (size_t i = 0; i < np; i++)
		free(pairs[i].text);
	free(pairs);
	free(buf);
	return rc;
}

/* A header's value trimmed, runs of spaces made one (outside quotes too, as AWS does). */
static void header_value(struct text *t, const char *v)
{
	v += strspn(v, " \t");
	size_t n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	bool space = false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == ' ' || v[i] == '\t') {
			space = true;
			continue;
		}
		if (space)
			text_append(t, " ", 1);
		space = false;
		text_append(t, &v[i], 1);
	}
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static bool hmac(const void *key, size_t klen, const void *data, size_t dlen, uint8_t out[32])
{
	unsigned int len = 32;
	return HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &len) != NULL && len == 32;
}

/* YYYYMMDDTHHMMSSZ as seconds since the epoch (UTC), or -1. */
static long long amz_time(const char *s)
{
	int y, mo, d, h, mi, se;
	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z' || strspn(s, "0123456789") != 8 ||
	    strspn(s + 9, "0123456789") != 6 || sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &h, &mi, &se) != 6)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	/* days from civil (H. Hinnant) */
	long long yy = y - (mo <= 2);
	long long era = (yy >= 0 ? yy : yy - 399) / 400;
	long long yoe = yy - era * 400;
	long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	long long days = era * 146097 + doe - 719468;
	return days * 86400 + h * 3600 + mi * 60 + se;
}

int r53_sigv4_check(const struct r53_sigv4 *a, const char *method, const char *target, r53_header_fn header,
                    const void *ctx, const char *body, size_t body_len, const char *secret, time_t now, char *err,
                    size_t errlen)
{
	if (strcmp(a->service, "route53") != 0)
		return fail(err, errlen, "Credential: the service is %s, not route53", a->service);
	const char *date = header(ctx, "X-Amz-Date");
	long long when = date ? amz_time(date) : -1;
	if (when < 0)
		return fail(err, errlen, "X-Amz-Date: required, as YYYYMMDDTHHMMSSZ");
	if (strncmp(date, a->date, 8) != 0)
		return fail(err, errlen, "Credential: its date %s is not X-Amz-Date's %.8s", a->date, date);
	if (when > (long long)now + R53_SIGV4_SKEW || when < (long long)now - R53_SIGV4_SKEW)
		return fail(err, errlen,
		            "Signature expired: X-Amz-Date %s is more than 15 minutes from the server's time", date);
	/* the signed headers: sorted, distinct, host and x-amz-date among them */
	char names[sizeof(a->signed_headers)];
	snprintf(names, sizeof(names), "%s", a->signed_headers);
	bool host = false, xdate = false;
	struct text canon = {0}, headers = {0};
	const char *prev = NULL;
	int rc = 0;
	for (char *save = NULL, *n = strtok_r(names, ";", &save); n; n = strtok_r(NULL, ";", &save)) {
		if (prev && strcmp(prev, n) >= 0) {
			rc = fail(err, errlen, "SignedHeaders: not sorted, or a name twice (%s)", n);
			goto out;
		}
		prev = n;
		host |= strcmp(n, "host") == 0;
		xdate |= strcmp(n, "x-amz-date") == 0;
		const char *v = header(ctx, n);
		if (!v) {
			rc = fail(err, errlen, "SignedHeaders: %s is signed but not in the request", n);
			goto out;
		}
		text_printf(&headers, "%s:", n);
		header_value(&headers, v);
		text_append(&headers, "\n", 1);
	}
	if (!host || !xdate) {
		rc = fail(err, errlen, "SignedHeaders: host and x-amz-date must be signed");
		goto out;
	}
	uint8_t digest[32];
	char payload[65], sts_hash[65];
	if (EVP_Digest(body ? body : "", body_len, digest, NULL, EVP_sha256(), NULL) != 1) {
		rc = TERN_ENOMEM;
		goto out;
	}
	hex(digest, 32, payload);
	const char *claimed = header(ctx, "X-Amz-Content-Sha256");
	if (claimed && strcmp(claimed, payload) != 0) {
		rc = fail(err, errlen, "X-Amz-Content-Sha256 is not the SHA-256 of the body");
		goto out;
	}
	const char *q = strchr(target, '?');
	size_t plen = q ? (size_t)(q - target) : strlen(target);
	text_printf(&canon, "%s\n", method);
	encode(&canon, target, plen, true);
	text_append(&canon, "\n", 1);
	if ((rc = canonical_query(&canon, q ? q + 1 : "", err, errlen)) < 0)
		goto out;
	text_printf(&canon, "\n%s\n%s\n%s", headers.s ? headers.s : "", a->signed_headers, payload);
	if (canon.nomem || headers.nomem) {
		rc = TERN_ENOMEM;
		goto out;
	}
	if (EVP_Digest(canon.s, canon.len, digest, NULL, EVP_sha256(), NULL) != 1) {
		rc = TERN_ENOMEM;
		goto out;
	}
	hex(digest, 32, sts_hash);
	char sts[512], kinit[R53_SECRET_MAX + 8];
	int stsl = snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", date, a->date,
	                    a->region, a->service, sts_hash);
	int kl = snprintf(kinit, sizeof(kinit), "AWS4%s", secret);
	uint8_t k[32], sig[32];
	char sighex[65];
	bool ok = stsl > 0 && (size_t)stsl < sizeof(sts) && kl > 0 && (size_t)kl < sizeof(kinit) &&
	          hmac(kinit, (size_t)kl, a->date, strlen(a->date), k) &&
	          hmac(k, 32, a->region, strlen(a->region), k) && hmac(k, 32, a->service, strlen(a->service), k) &&
	          hmac(k, 32, "aws4_request", 12, k) && hmac(k, 32, sts, (size_t)stsl, sig);
	OPENSSL_cleanse(kinit, sizeof(kinit));
	OPENSSL_cleanse(k, sizeof(k));
	if (!ok) {
		rc = TERN_ENOMEM;
		goto out;
	}
	hex(sig, 32, sighex);
	if (CRYPTO_memcmp(sighex, a->signature, 64) != 0)
		rc = fail(err, errlen,
		          "The request signature we calculated does not match the signature you provided. Check your "
		          "AWS Secret Access Key and signing method.");
out:
	text_free(&canon);
	text_free(&headers);
	return rc;
}
