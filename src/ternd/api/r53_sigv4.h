/* AWS Signature Version 4 as the Route 53 API checks it: the Authorization header read, the
 * canonical request made again from what arrived, and the signature compared (HMAC-SHA256, OpenSSL).
 * No server state: the caller looks the access key up. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define R53_SIGV4_SKEW 900 /* seconds X-Amz-Date may be off from now (15 minutes, as AWS) */
#define R53_AKID_MAX 128
#define R53_SECRET_MAX 128

struct r53_sigv4 {
	char akid[R53_AKID_MAX + 1];
	char date[9]; /* YYYYMMDD of the credential scope */
	char region[64];
	char service[32];
	char signed_headers[1024]; /* as given: lower-case names joined by ';', sorted */
	char signature[65]; /* 64 lower-case hex digits */
};

/* A request's header by name (case-insensitive), or NULL. */
typedef const char *(*r53_header_fn)(const void *ctx, const char *name);

/* Reads "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=...,
 * Signature=...": 0, or TERN_EINVAL with a message. */
int r53_sigv4_parse(const char *authorization, struct r53_sigv4 *out, char *err, size_t errlen);

/* Checks a (parsed from the request's Authorization) against the request: method, target as sent
 * (path and query, still percent-encoded), its headers (host and x-amz-date must be signed;
 * X-Amz-Date within R53_SIGV4_SKEW of now and of the credential's date; service "route53"), its
 * body, signed with secret. 0, or TERN_EINVAL with a message (the signature does not match, the
 * date is off), TERN_ENOMEM. */
int r53_sigv4_check(const struct r53_sigv4 *a, const char *method, const char *target, r53_header_fn header,
                    const void *ctx, const char *body, size_t body_len, const char *secret, time_t now, char *err,
                    size_t errlen);
