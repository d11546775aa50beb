/* Unit tests for the DNSSEC key backup document (src/ternd/api/api_backup.c): made and read back
 * (keys, PEMs, policy), then refused without a change for every octet of the document changed, every cut, a wrong
 * passphrase, another zone, an unknown version or member, and no key material in any error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dnssec.h"
#include "lib/error.h"
#include "lib/keyseal.h"
#include "lib/name.h"
#include "ternd/api/api_impl.h"

#define PASS "correct horse battery staple"

struct fixture {
	uint8_t apex[NAME_MAXLEN];
	struct store_key keys[2];
	char *pems[2];
	json_t *doc;
	char *text; /* doc, compact */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	assert_true(name_from_text(f->apex, "example.com.", NULL) > 0);
	static const enum store_key_role roles[2] = {STORE_KEY_KSK, STORE_KEY_ZSK};
	for (int i = 0; i < 2; i++) {
		struct dnssec_key *k = NULL;
		uint16_t flags = roles[i] == STORE_KEY_KSK ? DNSSEC_KSK : DNSSEC_ZSK;
		assert_int_equal(dnssec_key_generate(DNSSEC_ALG_ECDSAP256SHA256, flags, &k, err, sizeof(err)), 0);
		struct store_key *sk = &f->keys[i];
		*sk = (struct store_key){.tag = dnssec_key_tag(k),
		                         .algorithm = 13,
		                         .flags = flags,
		                         .role = roles[i],
		                         .state = STORE_KEY_ACTIVE,
		                         .created = 1700000000,
		                         .published = 1700000001,
		                         .ready = 1700007200,
		                         .active = 1700000001,
		                         .use = 3u | (i == 0 ? 4u : 0u),
		                         .since = 1700000001,
		                         .ds_seen = i == 0};
		int len = dnssec_key_dnskey(k, sk->dnskey, sizeof(sk->dnskey));
		assert_true(len > 0);
		sk->dnskey_len = (uint16_t)len;
		size_t plen;
		assert_int_equal(dnssec_key_to_pem(k, &f->pems[i], &plen, err, sizeof(err)), 0);
		sk->pem = f->pems[i];
		sk->pem_len = plen;
		dnssec_key_free(k);
	}
	json_t *policy = json_pack("{s:s,s:i}", "algorithm", "ecdsap256sha256", "rrsig-jitter", 3600);
	f->doc = api_backup_make(f->apex, policy, f->keys, 2, PASS, strlen(PASS), KEYSEAL_LOG2N_MIN, 1700000002, err,
	                         sizeof(err));
	json_decref(policy);
	assert_non_null(f->doc);
	f->text = json_dumps(f->doc, JSON_COMPACT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 2; i++)
		dnssec_pem_free(f->pems[i], f->keys[i].pem_len);
	json_decref(f->doc);
	free(f->text);
	free(f);
	return 0;
}

/* Reads text as a restore would: json (NULL when it is not JSON) and api_backup_read(). */
static bool read_text(struct fixture *f, const char *text, size_t len, const char *pass, struct api_backup *b,
                      struct http_response *res)
{
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!doc)
		return false;
	bool ok = api_backup_read(doc, f->apex, pass, strlen(pass), NULL, b, res);
	json_decref(doc);
	return ok;
}

/* A refusal: status, field, and no key material in the answer. */
static void assert_refused(struct http_response *res, int status, const char *field, const char *contains)
{
	assert_int_equal(res->status, status);
	assert_non_null(res->body);
	assert_null(strstr(res->body, "PRIVATE"));
	json_t *body = json_loads(res->body, 0, NULL), *e = json_object_get(body, "error");
	assert_string_equal(json_string_value(json_object_get(e, "field")), field);
	if (contains && !strstr(json_string_value(json_object_get(e, "message")), contains))
		fail_msg("\"%s\" not in %s", contains, res->body);
	json_decref(body);
	free(res->body);
	memset(res, 0, sizeof(*res));
}

static void made_and_read_back(void **state)
{
	struct fixture *f = *state;
	assert_null(strstr(f->text, "PRIVATE"));
	assert_null(strstr(f->text, "BEGIN"));
	struct api_backup b;
	struct http_response res = {0};
	assert_true(read_text(f, f->text, strlen(f->text), PASS, &b, &res));
	assert_null(res.body);
	assert_int_equal(b.nkeys, 2);
	assert_int_equal(b.policy.algorithm, 13);
	assert_int_equal(b.policy.rrsig_jitter, 3600);
	for (int i = 0; i < 2; i++) {
		const struct store_key *x = &f->keys[i], *y = &b.keys[i];
		assert_true(x->tag == y->tag && x->flags == y->flags && x->role == y->role && x->state == y->state);
		assert_true(x->created == y->created && x->published == y->published && x->ready == y->ready &&
		            x->active == y->active && x->use == y->use && x->since == y->since &&
		            x->ds_seen == y->ds_seen);
		assert_int_equal(x->dnskey_len, y->dnskey_len);
		assert_memory_equal(x->dnskey, y->dnskey, x->dnskey_len);
		assert_int_equal(x->pem_len, y->pem_len);
		assert_memory_equal(x->pem, y->pem, x->pem_len);
	}
	api_backup_clear(&b);
	assert_null(b.plain);
	/* a second backup of the same keys is sealed anew */
	char err[256];
	json_t *policy = json_object();
	json_t *again = api_backup_make(f->apex, policy, f->keys, 2, PASS, strlen(PASS), KEYSEAL_LOG2N_MIN, 1700000002,
	                                err, sizeof(err));
	assert_string_not_equal(json_string_value(json_object_get(again, "private-keys")),
	                        json_string_value(json_object_get(f->doc, "private-keys")));
	json_decref(again);
	/* a passphrase too short, or no private key, makes nothing */
	assert_null(api_backup_make(f->apex, policy, f->keys, 2, "short", 5, KEYSEAL_LOG2N_MIN, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "at least 12"));
	struct store_key nopem = f->keys[0];
	nopem.pem = NULL;
	assert_null(
	    api_backup_make(f->apex, policy, &nopem, 1, PASS, strlen(PASS), KEYSEAL_LOG2N_MIN, 1, err, sizeof(err)));
	json_decref(policy);
}

static void every_octet_changed_is_refused(void **state)
{
	struct fixture *f = *state;
	size_t len = strlen(f->text);
	char *t = malloc(len + 1);
	memcpy(t, f->text, len + 1);
	size_t parsed = 0;
	for (size_t i = 0; i < len; i++) {
		/* the lowest bit (every octet becomes another), and the highest (past ASCII) */
		for (unsigned bit = 0; bit < 8; bit += 7) {
			t[i] = (char)(t[i] ^ (1u << bit));
			json_t *doc = json_loadb(t, len, JSON_REJECT_DUPLICATES, NULL);
			if (doc) {
				struct api_backup b;
				struct http_response res = {0};
				parsed++;
				if (api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res))
					fail_msg("octet %zu bit %u changed (%c) was accepted", i, bit, t[i]);
				assert_true(res.status == 400 || res.status == 409);
				assert_null(b.plain);
				assert_null(strstr(res.body, "PRIVATE"));
				free(res.body);
				json_decref(doc);
			}
			t[i] = f->text[i];
		}
	}
	assert_true(parsed > len / 2); /* most low-bit changes still parse: the seal and the reader refused them */
	free(t);
}

static void every_cut_is_refused(void **state)
{
	struct fixture *f = *state;
	size_t len = strlen(f->text);
	for (size_t n = 0; n < len; n++) {
		struct api_backup b;
		struct http_response res = {0};
		assert_false(read_text(f, f->text, n, PASS, &b, &res));
		free(res.body);
	}
	/* the sealed keys cut short (still base64) */
	json_t *doc = json_deep_copy(f->doc);
	const char *pk = json_string_value(json_object_get(doc, "private-keys"));
	json_object_set_new(doc, "private-keys", json_stringn(pk, strlen(pk) - 8));
	struct api_backup b;
	struct http_response res = {0};
	assert_false(api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 400, "passphrase", "changed");
	json_decref(doc);
}

static void refusals_name_the_problem(void **state)
{
	struct fixture *f = *state;
	struct api_backup b;
	struct http_response res = {0};
	assert_false(api_backup_read(f->doc, f->apex, "correct horse battery stapler", 29, NULL, &b, &res));
	assert_refused(&res, 400, "passphrase", "passphrase is wrong");
	assert_false(api_backup_read(f->doc, f->apex, "too short", 9, NULL, &b, &res));
	assert_refused(&res, 400, "passphrase", "at least 12");
	uint8_t other[NAME_MAXLEN];
	assert_true(name_from_text(other, "example.org.", NULL) > 0);
	assert_false(api_backup_read(f->doc, other, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 409, "backup", "zone example.com.");

	json_t *doc = json_deep_copy(f->doc);
	json_object_set_new(doc, "version", json_integer(2));
	assert_false(api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 400, "backup", "unknown version 2");
	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "comment", json_string("x"));
	assert_false(api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 400, "backup", "unknown member \"comment\"");
	json_object_del(doc, "comment");
	json_object_del(doc, "encryption");
	assert_false(api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 400, "backup", "\"encryption\" is missing");
	json_decref(doc);

	doc = json_deep_copy(f->doc);
	json_object_set_new(json_object_get(doc, "policy"), "rrsig-lifetime", json_integer(1));
	assert_false(api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 400, "backup", "policy.rrsig-lifetime");
	json_decref(doc);

	doc = json_deep_copy(f->doc);
	json_t *k0 = json_array_get(json_object_get(doc, "keys"), 0);
	json_object_set_new(k0, "tag", json_integer((json_int_t)((f->keys[0].tag + 1) & 0xffff)));
	assert_false(api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 400, "backup", "keys[0]: dnskey does not have the key's flags, algorithm and tag");
	json_decref(doc);

	/* base64 only in its one form: the same octets with other unused bits, or a blank, are refused
	 * (private-keys is outside the additional data: only this keeps its text fixed) */
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	doc = json_deep_copy(f->doc);
	char *pk = strdup(json_string_value(json_object_get(doc, "private-keys")));
	size_t pl = strlen(pk);
	assert_true(pl > 4 && pk[pl - 1] == '='); /* two P-256 PEMs and the tag: 502 octets, padded */
	char *last = pk + pl - (pk[pl - 2] == '=' ? 3 : 2);
	*last = alphabet[(strchr(alphabet, *last) - alphabet) ^ 1]; /* an unused bit */
	json_object_set_new(doc, "private-keys", json_string(pk));
	assert_false(api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 400, "backup", "private-keys");
	free(pk);
	pk = strdup(json_string_value(json_object_get(f->doc, "private-keys")));
	char *spaced = malloc(pl + 2);
	memcpy(spaced, pk, 8);
	spaced[8] = ' ';
	memcpy(spaced + 9, pk + 8, pl - 8 + 1);
	json_object_set_new(doc, "private-keys", json_string(spaced));
	assert_false(api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 400, "backup", "private-keys");
	free(spaced);
	free(pk);
	json_decref(doc);

	doc = json_deep_copy(f->doc);
	json_object_set_new(json_object_get(doc, "encryption"), "scrypt-log2-n", json_integer(24));
	assert_false(api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 400, "backup", "scrypt-log2-n must be 10 to 18");
	json_decref(doc);

	doc = json_deep_copy(f->doc);
	json_t *keys = json_object_get(doc, "keys");
	while (json_array_size(keys) <= API_BACKUP_KEYS_MAX)
		json_array_append(keys, json_array_get(keys, 0));
	assert_false(api_backup_read(doc, f->apex, PASS, strlen(PASS), NULL, &b, &res));
	assert_refused(&res, 400, "backup", "1 to 16 keys");
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(made_and_read_back),
	    cmocka_unit_test(every_octet_changed_is_refused),
	    cmocka_unit_test(every_cut_is_refused),
	    cmocka_unit_test(refusals_name_the_problem),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
