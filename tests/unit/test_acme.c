/* Unit tests for the ACME module (src/ternd/acme): base64url, the JWK thumbprint (RFC 7638's vector
 * and a P-256 key whose thumbprint python3-cryptography computed), key authorizations, ES256
 * signatures, the CSR, the responder's table of good and bad requests, the readers of CA JSON,
 * the client's refusals before any request and its polling schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/acme/acme_client.h"
#include "ternd/acme/acme_key.h"
#include "ternd/acme/acme_parse.h"
#include "ternd/acme/acme_responder.h"

/* A P-256 key and its JWK and thumbprint, both computed by python3-cryptography (not by this code). */
static const char vec_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDT18blSe39qGZ+pV\n"
                              "fUJr1PJjR/49ccg9FsVreqxbocKhRANCAARneBFPtXhC9pBv+NdTg6FZDVA1L7fh\n"
                              "m/gECwdcnqA/i8O1Zh29tJW8kS9w0Wctvs3xEsX5Lj7/iEu4MtO1F7ws\n"
                              "-----END PRIVATE KEY-----\n";
static const char vec_jwk[] = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"Z3gRT7V4QvaQb_jXU4OhWQ1QNS-34Zv4BAsHXJ6gP4s\","
                              "\"y\":\"w7VmHb20lbyRL3DRZy2-zfESxfkuPv-IS7gy07UXvCw\"}";
static const char vec_thumb[] = "ET8BG5wpIIzycvBJaiMwIcrZZYw-KoVQqH60m-s44CA";

static void test_b64url(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} v[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
	         {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
	char out[32];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = acme_b64url((const uint8_t *)v[i].in, strlen(v[i].in), out);
		assert_string_equal(out, v[i].out);
		assert_int_equal(n, strlen(v[i].out));
	}
	assert_true(acme_b64url_alphabet("AZaz09-_", 8));
	assert_false(acme_b64url_alphabet("ab=", 3));
	assert_false(acme_b64url_alphabet("a+b", 3));
	assert_false(acme_b64url_alphabet("a/b", 3));
	assert_false(acme_b64url_alphabet("a.b", 3));
}

/* RFC 7638 section 3.1: the RSA key of RFC 7517 appendix A.1. */
static void test_thumbprint_rfc7638(void **state)
{
	(void)state;
	const char *jwk = "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":"
	                  "\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFF"
	                  "xuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
	                  "65YGjQR0_FDW2Qvzq"
	                  "Y368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
	                  "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksI"
	                  "NHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\"}";
	char t[ACME_THUMBPRINT_LEN + 1];
	acme_thumbprint_of_jwk(jwk, strlen(jwk), t);
	assert_string_equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

static void test_p256_jwk_and_thumbprint(void **state)
{
	(void)state;
	char err[256], jwk[200], t[ACME_THUMBPRINT_LEN + 1];
	EVP_PKEY *k = acme_key_from_pem(vec_pem, strlen(vec_pem), err, sizeof(err));
	assert_non_null(k);
	assert_int_equal(acme_jwk(k, jwk, sizeof(jwk), err, sizeof(err)), 0);
	assert_string_equal(jwk, vec_jwk);
	assert_int_equal(acme_thumbprint(k, t, err, sizeof(err)), 0);
	assert_string_equal(t, vec_thumb);
	assert_true(acme_thumbprint_ok(t));
	/* PEM written and read back is the same key */
	char *pem = acme_key_pem(k, err, sizeof(err));
	assert_non_null(pem);
	EVP_PKEY *k2 = acme_key_from_pem(pem, strlen(pem), err, sizeof(err));
	assert_non_null(k2);
	assert_int_equal(acme_thumbprint(k2, t, err, sizeof(err)), 0);
	assert_string_equal(t, vec_thumb);
	free(pem);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k);
}

static void test_key_refusals(void **state)
{
	(void)state;
	char err[256];
	assert_null(acme_key_from_pem("hello", 5, err, sizeof(err)));
	assert_non_null(strstr(err, "account key"));
	EVP_PKEY *rsa = EVP_RSA_gen(1024);
	assert_non_null(rsa);
	char *pem = acme_key_pem(rsa, err, sizeof(err));
	assert_non_null(pem);
	assert_null(acme_key_from_pem(pem, strlen(pem), err, sizeof(err)));
	assert_non_null(strstr(err, "P-256"));
	free(pem);
	EVP_PKEY_free(rsa);
	EVP_PKEY *p384 = EVP_EC_gen("P-384");
	pem = acme_key_pem(p384, err, sizeof(err));
	assert_null(acme_key_from_pem(pem, strlen(pem), err, sizeof(err)));
	free(pem);
	EVP_PKEY_free(p384);
}

static void test_key_authorization(void **state)
{
	(void)state;
	char out[ACME_KEYAUTH_MAX + 1];
	const char *tok = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"; /* RFC 8555 section 8.3 */
	assert_int_equal(acme_key_authorization(tok, vec_thumb, out, sizeof(out)), 0);
	assert_string_equal(out,
	                    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.ET8BG5wpIIzycvBJaiMwIcrZZYw-KoVQqH60m-s44CA");
	assert_int_equal(acme_key_authorization("short", vec_thumb, out, sizeof(out)), TERN_EINVAL);
	assert_int_equal(
	    acme_key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ+PCt92wr/oA", vec_thumb, out, sizeof(out)),
	    TERN_EINVAL);
	assert_int_equal(acme_key_authorization(tok, "not-a-thumbprint", out, sizeof(out)), TERN_EINVAL);
}

/* The signature's r || s, turned back into DER, verifies with the public key. */
static void test_es256(void **state)
{
	(void)state;
	char err[256], sig[100];
	uint8_t raw[64];
	EVP_PKEY *k = acme_key_from_pem(vec_pem, strlen(vec_pem), err, sizeof(err));
	const char *data = "eyJhbGciOiJFUzI1NiJ9.e30";
	assert_int_equal(acme_sign_es256(k, data, strlen(data), sig, sizeof(sig), err, sizeof(err)), 0);
	assert_int_equal(strlen(sig), 86);
	assert_true(acme_b64url_alphabet(sig, 86));
	/* decode base64url by hand through the standard alphabet */
	char std[96];
	size_t n = strlen(sig);
	for (size_t i = 0; i < n; i++)
		std[i] = sig[i] == '-' ? '+' : sig[i] == '_' ? '/' : sig[i];
	std[n] = std[n + 1] = '=';
	std[n + 2] = '\0';
	uint8_t dec[72];
	int dn = EVP_DecodeBlock(dec, (const unsigned char *)std, (int)n + 2);
	assert_true(dn >= 64);
	memcpy(raw, dec, 64);
	ECDSA_SIG *es = ECDSA_SIG_new();
	ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
	unsigned char *der = NULL;
	int dlen = i2d_ECDSA_SIG(es, &der);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestVerify(md, der, (size_t)dlen, (const unsigned char *)data, strlen(data)), 1);
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_PKEY_free(k);
}

static void test_csr(void **state)
{
	(void)state;
	char err[256];
	const char *names[] = {"a.example", "b.example"};
	EVP_PKEY *k = acme_key_new(err, sizeof(err));
	char *csr = acme_csr(k, names, 2, err, sizeof(err));
	assert_non_null(csr);
	size_t n = strlen(csr);
	char *std = malloc(n + 4);
	for (size_t i = 0; i < n; i++)
		std[i] = csr[i] == '-' ? '+' : csr[i] == '_' ? '/' : csr[i];
	size_t pad = (4 - n % 4) % 4;
	memset(std + n, '=', pad);
	std[n + pad] = '\0';
	unsigned char *der = malloc(n);
	int dlen = EVP_DecodeBlock(der, (unsigned char *)std, (int)(n + pad));
	assert_true(dlen > 0);
	dlen -= (int)pad;
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, dlen);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, k), 1);
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *sans = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_non_null(sans);
	assert_int_equal(sk_GENERAL_NAME_num(sans), 2);
	for (int i = 0; i < 2; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		assert_int_equal(g->type, GEN_DNS);
		assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.dNSName), names[i]);
	}
	GENERAL_NAMES_free(sans);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(der);
	free(std);
	free(csr);
	assert_null(acme_csr(k, names, 0, err, sizeof(err)));
	EVP_PKEY_free(k);
}

/* One request line through the responder: its status and (for 200) body. */
static void answer(const char *line, int status, bool head)
{
	struct acme_reply r;
	acme_responder_answer(vec_thumb, line, strlen(line), &r);
	if (r.status != status || r.head != (head && status != 405 && status != 400 && status != 414)) {
		print_error("\"%.80s\": status %d (head %d), expected %d\n", line, r.status, r.head, status);
		fail();
	}
	/* nothing of the request in the reply, but the token inside a key authorization */
	if (status != 200) {
		assert_null(strstr(r.body, "acme-challenge"));
		assert_null(strchr(r.body, '<'));
		assert_true(r.body_len < 40);
	}
	char out[600];
	size_t n = acme_reply_format(&r, out, sizeof(out));
	assert_true(n > 0 && n < sizeof(out));
	if (status == 405)
		assert_non_null(strstr(out, "\r\nAllow: GET, HEAD\r\n"));
	assert_non_null(strstr(out, "Content-Type: text/plain\r\n"));
	if (head)
		assert_true(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0); /* no body */
}

static void test_responder_table(void **state)
{
	(void)state;
	char line[2048], want[256];
	const char *tok22 = "AAAAAAAAAAAAAAAAAAAAAA", *tok43 = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
	struct acme_reply r;

	/* good tokens: 22, 43 and 128 characters, GET and HEAD, HTTP/1.0 and 1.1, absolute form */
	snprintf(line, sizeof(line), "GET /.well-known/acme-challenge/%s HTTP/1.1", tok43);
	acme_responder_answer(vec_thumb, line, strlen(line), &r);
	snprintf(want, sizeof(want), "%s.%s", tok43, vec_thumb);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, want);
	assert_int_equal(r.body_len, strlen(want));
	answer(line, 200, false);
	snprintf(line, sizeof(line), "GET /.well-known/acme-challenge/%s HTTP/1.0", tok22);
	answer(line, 200, false);
	snprintf(line, sizeof(line), "HEAD /.well-known/acme-challenge/%s HTTP/1.1", tok22);
	answer(line, 200, true);
	snprintf(line, sizeof(line), "GET http://a.example/.well-known/acme-challenge/%s HTTP/1.1", tok22);
	answer(line, 200, false);
	char t128[129], t129[130], t21[22];
	memset(t128, 'x', 128);
	t128[128] = '\0';
	memset(t129, '_', 129);
	t129[129] = '\0';
	memset(t21, '-', 21);
	t21[21] = '\0';
	snprintf(line, sizeof(line), "GET /.well-known/acme-challenge/%s HTTP/1.1", t128);
	answer(line, 200, false);

	/* bad tokens: 404 */
	static const char *const bad[] = {
	    "<script>alert(1)</script>AAAAAAAAAAAA",
	    "..",
	    "../../../../etc/passwd/AAAAAAAAAAAAAAAAA",
	    "AAAAAAAAAAA/AAAAAAAAAAAAA",
	    "AAAAAAAAAAAAAAAAAAAAAA/",
	    "%2e%2e%2fAAAAAAAAAAAAAAAAAAAAA",
	    "AAAAAAAAAAAAAAAAAAAAAA%2e",
	    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA=",
	    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-o==",
	    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ+PCt92wr/oA",
	    "AAAAAAAAAAAAAAAAAAAAAA?x=1",
	    "AAAAAAAAAAAAAAAAAAAAAA#x",
	    "AAAAAAAAAAA.AAAAAAAAAAA",
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "GET /.well-known/acme-challenge/%s HTTP/1.1", bad[i]);
		answer(line, 404, false);
	}
	snprintf(line, sizeof(line), "GET /.well-known/acme-challenge/%s HTTP/1.1", t21);
	answer(line, 404, false);
	snprintf(line, sizeof(line), "GET /.well-known/acme-challenge/%s HTTP/1.1", t129);
	answer(line, 404, false);
	answer("GET / HTTP/1.1", 404, false);
	answer("GET /.well-known/acme-challenge HTTP/1.1", 404, false);
	answer("GET /.well-known/acme-challenge/ HTTP/1.1", 404, false);
	answer("GET /.well-known/ACME-challenge/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1", 404, false);
	answer("GET //.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1", 404, false);
	answer("GET /x/../.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1", 404, false);
	answer("GET /%2ewell-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1", 404, false);
	answer("GET http://a.example HTTP/1.1", 404, false);
	answer("HEAD /favicon.ico HTTP/1.1", 404, true);

	/* other methods: 405 */
	snprintf(line, sizeof(line), "POST /.well-known/acme-challenge/%s HTTP/1.1", tok22);
	answer(line, 405, false);
	answer("PUT / HTTP/1.1", 405, false);
	answer("DELETE /.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1", 405, false);
	answer("get /.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1", 405, false);
	answer("OPTIONS * HTTP/1.1", 405, false);

	/* malformed: 400; too long: 414 */
	answer("GET /.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAA", 400, false);
	answer("GET /.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAA HTTP/2.0", 400, false);
	answer("GET  /.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1", 400, false);
	answer("GET /a b HTTP/1.1", 400, false);
	answer("<script> / HTTP/1.1", 400, false);
	answer("", 400, false);
	memset(line, 'A', sizeof(line));
	memcpy(line, "GET /.well-known/acme-challenge/", 32);
	memcpy(line + ACME_RESPONDER_LINE_MAX - 9, " HTTP/1.1", 10);
	assert_int_equal(strlen(line), ACME_RESPONDER_LINE_MAX);
	answer(line, 404, false); /* exactly the limit: read, and a token far too long */
	memcpy(line + ACME_RESPONDER_LINE_MAX - 9, "A HTTP/1.1", 11);
	assert_int_equal(strlen(line), ACME_RESPONDER_LINE_MAX + 1);
	answer(line, 414, false);
	/* a target with a control character (a NUL, a tab) is malformed */
	char nul[] = "GET /.well-known/acme-challenge/AAAAAAAAAAA\0AAAAAAAAAA HTTP/1.1";
	acme_responder_answer(vec_thumb, nul, sizeof(nul) - 1, &r);
	assert_int_equal(r.status, 400);
	answer("GET http://a\tb/.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1", 400, false);
}

/* A head as it arrives: nothing decided until its empty line, its line's end past the limit, or
 * the head's bound. */
static void test_responder_request(void **state)
{
	(void)state;
	struct acme_reply r;
	const char *req = "GET /.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t n = strlen(req);
	for (size_t i = 0; i < n; i++)
		assert_false(acme_responder_request(vec_thumb, req, i, &r));
	assert_true(acme_responder_request(vec_thumb, req, n, &r));
	assert_int_equal(r.status, 200);
	assert_true(acme_responder_request(vec_thumb, "GET / HTTP/1.0\n\n", 16, &r));
	assert_int_equal(r.status, 404);
	char *big = malloc(ACME_RESPONDER_HEAD_MAX);
	memset(big, 'A', ACME_RESPONDER_HEAD_MAX);
	memcpy(big, "GET /", 5);
	assert_false(acme_responder_request(vec_thumb, big, ACME_RESPONDER_LINE_MAX + 1, &r));
	assert_true(acme_responder_request(vec_thumb, big, ACME_RESPONDER_LINE_MAX + 2, &r));
	assert_int_equal(r.status, 414);
	memcpy(big, "GET / HTTP/1.1\r\n", 16);
	assert_false(acme_responder_request(vec_thumb, big, ACME_RESPONDER_HEAD_MAX - 1, &r));
	assert_true(acme_responder_request(vec_thumb, big, ACME_RESPONDER_HEAD_MAX, &r));
	assert_int_equal(r.status, 431);
	assert_null(strchr(r.body, 'A'));
	free(big);
}

static void test_parse_directory(void **state)
{
	(void)state;
	struct acme_directory d;
	char err[256];
	const char *good = "{\"newNonce\":\"https://ca/nonce\",\"newAccount\":\"https://ca/acct\",\"newOrder\":"
	                   "\"https://ca/order\",\"meta\":{\"termsOfService\":\"x\"}}";
	assert_int_equal(acme_parse_directory(good, strlen(good), &d, err, sizeof(err)), 0);
	assert_string_equal(d.new_order, "https://ca/order");
	const char *nohttps =
	    "{\"newNonce\":\"http://ca/nonce\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}";
	assert_int_equal(acme_parse_directory(nohttps, strlen(nohttps), &d, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "directory.newNonce: not an https URL of printable characters up to 1024 long");
	const char *missing = "{\"newNonce\":\"https://ca/nonce\",\"newOrder\":\"https://ca/o\"}";
	assert_int_equal(acme_parse_directory(missing, strlen(missing), &d, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "directory.newAccount: missing");
	const char *notstr = "{\"newNonce\":1,\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}";
	assert_int_equal(acme_parse_directory(notstr, strlen(notstr), &d, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "directory.newNonce: not a string");
	const char *blank =
	    "{\"newNonce\":\"https://ca/ x\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}";
	assert_int_equal(acme_parse_directory(blank, strlen(blank), &d, err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(acme_parse_directory("[]", 2, &d, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "directory: not a JSON object");
	assert_int_equal(acme_parse_directory("{", 1, &d, err, sizeof(err)), TERN_EINVAL);
	char *big = malloc(ACME_BODY_MAX + 2);
	memset(big, ' ', ACME_BODY_MAX + 1);
	big[0] = '{';
	big[ACME_BODY_MAX] = '}';
	assert_int_equal(acme_parse_directory(big, ACME_BODY_MAX + 1, &d, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "more than"));
	free(big);
}

static void test_parse_problem_and_order(void **state)
{
	(void)state;
	struct acme_problem p;
	struct acme_order o;
	char err[256];
	const char *prob = "{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"detail\":\"JWS has\\nan invalid "
	                   "nonce\",\"status\":400}";
	assert_int_equal(acme_parse_problem(prob, strlen(prob), &p, err, sizeof(err)), 0);
	assert_string_equal(p.type, "urn:ietf:params:acme:error:badNonce");
	assert_string_equal(p.detail, "JWS has?an invalid nonce");
	assert_int_equal(p.status, 400);
	const char *badst = "{\"type\":\"x\",\"status\":\"400\"}";
	assert_int_equal(acme_parse_problem(badst, strlen(badst), &p, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "problem.status: not an HTTP status");

	const char *order =
	    "{\"status\":\"pending\",\"authorizations\":[\"https://ca/authz/1\",\"https://ca/authz/2\"],"
	    "\"finalize\":\"https://ca/finalize/1\"}";
	assert_int_equal(acme_parse_order(order, strlen(order), &o, err, sizeof(err)), 0);
	assert_int_equal(o.status, ACME_ST_PENDING);
	assert_int_equal(o.nauthz, 2);
	assert_string_equal(o.authorizations[1], "https://ca/authz/2");
	acme_order_free(&o);
	const char *valid_nocert =
	    "{\"status\":\"valid\",\"authorizations\":[\"https://ca/a\"],\"finalize\":\"https://ca/f\"}";
	assert_int_equal(acme_parse_order(valid_nocert, strlen(valid_nocert), &o, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "order.certificate: missing");
	const char *invalid =
	    "{\"status\":\"invalid\",\"authorizations\":[\"https://ca/a\"],\"finalize\":\"https://ca/f\","
	    "\"error\":{\"type\":\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"no\",\"status\":403}}";
	assert_int_equal(acme_parse_order(invalid, strlen(invalid), &o, err, sizeof(err)), 0);
	assert_true(o.has_error);
	assert_int_equal(o.error.status, 403);
	acme_order_free(&o);
	const char *noauthz = "{\"status\":\"pending\",\"authorizations\":[],\"finalize\":\"https://ca/f\"}";
	assert_int_equal(acme_parse_order(noauthz, strlen(noauthz), &o, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "order.authorizations: not 1 to 100 URLs");
	const char *badauthz =
	    "{\"status\":\"pending\",\"authorizations\":[\"https://ca/a\",\"javascript:x\"],\"finalize\":"
	    "\"https://ca/f\"}";
	assert_int_equal(acme_parse_order(badauthz, strlen(badauthz), &o, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "order.authorizations[1]: not an https URL of printable characters up to 1024 long");
	assert_null(o.authorizations);
	const char *badstatus =
	    "{\"status\":\"done\",\"authorizations\":[\"https://ca/a\"],\"finalize\":\"https://ca/f\"}";
	assert_int_equal(acme_parse_order(badstatus, strlen(badstatus), &o, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "order.status: not a status RFC 8555 knows");
	const char *dup = "{\"status\":\"pending\",\"status\":\"valid\"}";
	assert_int_equal(acme_parse_order(dup, strlen(dup), &o, err, sizeof(err)), TERN_EINVAL);
}

static void test_parse_authz(void **state)
{
	(void)state;
	struct acme_authz a;
	char err[256];
	const char *good =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},\"challenges\":["
	    "{\"type\":\"dns-01\",\"url\":\"https://ca/c/0\",\"token\":\"x\",\"status\":\"pending\"},"
	    "{\"type\":\"http-01\",\"url\":\"https://ca/c/"
	    "1\",\"token\":\"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA\","
	    "\"status\":\"pending\"}]}";
	assert_int_equal(acme_parse_authz(good, strlen(good), &a, err, sizeof(err)), 0);
	assert_true(a.found);
	assert_string_equal(a.identifier, "a.example");
	assert_string_equal(a.challenge_url, "https://ca/c/1");
	assert_string_equal(a.token, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA");
	const char *none =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},\"challenges\":[]}";
	assert_int_equal(acme_parse_authz(none, strlen(none), &a, err, sizeof(err)), 0);
	assert_false(a.found);
	const char *badtoken =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},\"challenges\":["
	    "{\"type\":\"http-01\",\"url\":\"https://ca/c/1\",\"token\":\"<script>alert(1)</script>xxxxx\","
	    "\"status\":\"pending\"}]}";
	assert_int_equal(acme_parse_authz(badtoken, strlen(badtoken), &a, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "authorization.challenges[0].token: not 22 to 128 base64url characters");
	const char *ip =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"ip\",\"value\":\"192.0.2.1\"},\"challenges\":[]}";
	assert_int_equal(acme_parse_authz(ip, strlen(ip), &a, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "authorization.identifier.type: not \"dns\"");
	const char *name =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a b\"},\"challenges\":[]}";
	assert_int_equal(acme_parse_authz(name, strlen(name), &a, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(err, "authorization.identifier.value: not a host name");
	const char *invalid =
	    "{\"status\":\"invalid\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},\"challenges\":["
	    "{\"type\":\"http-01\",\"url\":\"https://ca/c/1\",\"token\":\"AAAAAAAAAAAAAAAAAAAAAA\","
	    "\"status\":\"invalid\",\"error\":{\"type\":\"urn:ietf:params:acme:error:connection\","
	    "\"detail\":\"refused\",\"status\":400}}]}";
	assert_int_equal(acme_parse_authz(invalid, strlen(invalid), &a, err, sizeof(err)), 0);
	assert_true(a.has_error);
	assert_string_equal(a.error.type, "urn:ietf:params:acme:error:connection");
}

/* The client refuses bad input before it sends anything (no CA is listening). */
/* The polling schedule: 125, 250, 500 ms, then the 1 s doubling to the cap (60 s by default). */
static void test_poll_schedule(void **state)
{
	(void)state;
	const unsigned want[] = {125, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
	unsigned d = ACME_POLL_FIRST_MS, total = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(d, want[i]);
		if (i < 3)
			total += d;
		d = acme_poll_next_ms(d, 0);
	}
	assert_true(total < 1000); /* the short waits end within the first second */
	/* a lower cap stops the doubling there, also inside the first second's waits */
	assert_int_equal(acme_poll_next_ms(2000, 3), 3000);
	assert_int_equal(acme_poll_next_ms(3000, 3), 3000);
	assert_int_equal(acme_poll_next_ms(500, 1), 1000);
	/* a wait below the first (0) starts the schedule, one past the cap stays at the cap */
	assert_int_equal(acme_poll_next_ms(0, 0), ACME_POLL_FIRST_MS);
	assert_int_equal(acme_poll_next_ms(4000000000u, 60), 60000);
}

static void test_issue_refusals(void **state)
{
	(void)state;
	char err[256];
	EVP_PKEY *k = acme_key_from_pem(vec_pem, strlen(vec_pem), err, sizeof(err));
	struct acme_options o = {.directory = "https://127.0.0.1:1/dir", .account_key = k, .deadline_s = 5};
	struct acme_result res;
	struct acme_error e;
	const char *bad[] = {"A.example"};
	assert_int_equal(acme_issue(&o, bad, 1, &res, &e), TERN_EINVAL);
	assert_int_equal(e.step, ACME_STEP_SETUP);
	assert_string_equal(e.message, "names[0]: not a lower-case host name");
	const char *bad2[] = {"a.example", "a..example"};
	assert_int_equal(acme_issue(&o, bad2, 2, &res, &e), TERN_EINVAL);
	assert_string_equal(e.message, "names[1]: not a lower-case host name");
	const char *good[] = {"a.example"};
	assert_int_equal(acme_issue(&o, good, 0, &res, &e), TERN_EINVAL);
	o.directory = "http://127.0.0.1:1/dir";
	assert_int_equal(acme_issue(&o, good, 1, &res, &e), TERN_EINVAL);
	assert_string_equal(e.message, "directory: not an https URL");
	/* nothing listens: a transport error at the directory, at once */
	o.directory = "https://127.0.0.1:1/dir";
	assert_int_equal(acme_issue(&o, good, 1, &res, &e), TERN_EIO);
	assert_int_equal(e.step, ACME_STEP_DIRECTORY);
	assert_false(e.has_problem);
	assert_null(res.chain);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64url),
	    cmocka_unit_test(test_thumbprint_rfc7638),
	    cmocka_unit_test(test_p256_jwk_and_thumbprint),
	    cmocka_unit_test(test_key_refusals),
	    cmocka_unit_test(test_key_authorization),
	    cmocka_unit_test(test_es256),
	    cmocka_unit_test(test_csr),
	    cmocka_unit_test(test_responder_table),
	    cmocka_unit_test(test_responder_request),
	    cmocka_unit_test(test_parse_directory),
	    cmocka_unit_test(test_parse_problem_and_order),
	    cmocka_unit_test(test_parse_authz),
	    cmocka_unit_test(test_issue_refusals),
	    cmocka_unit_test(test_poll_schedule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
