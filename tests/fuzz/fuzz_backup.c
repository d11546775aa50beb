/* libFuzzer harness for DNSSEC key backups (api_backup.c): the input is the document a restore
 * gets, read for zone example.com. with a fixed passphrase (seeds: gen_corpus.py's gen_backup(),
 * sealed by an independent implementation with scrypt cost 2^10). An accepted backup holds 1 to 16
 * keys whose private keys load and are the keys their DNSKEY, tag and algorithm say, of the
 * policy's algorithm and scheme, with a policy dnssec_policy_check() passes; made again with
 * api_backup_make() it reads back to the same keys. A refused one leaves a 400, 409 or 503 JSON
 * error naming "backup" or "passphrase"; nothing is leaked, nothing of the keys left behind. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dnssec.h"
#include "lib/dnssec_policy.h"
#include "lib/keyseal.h"
#include "lib/name.h"
#include "ternd/api/api_impl.h"

#define PASS "correct horse battery staple"

static uint8_t apex[NAME_MAXLEN];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_backup: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (name_from_text(apex, "example.com.", NULL) < 0)
		abort();
	return 0;
}

static void check_refused(struct http_response *res, const uint8_t *data, size_t size)
{
	if (res->status != 400 && res->status != 409 && res->status != 503)
		fail("a refused backup is not a 400, 409 or 503");
	json_t *e = res->body ? json_loads(res->body, 0, NULL) : NULL;
	json_t *err = json_object_get(e, "error");
	const char *field = json_string_value(json_object_get(err, "field"));
	const char *msg = json_string_value(json_object_get(err, "message"));
	if (!msg || !*msg)
		fail("a refused backup has no JSON error message");
	if (!field || (strcmp(field, "backup") != 0 && strcmp(field, "passphrase") != 0))
		fail("a refused backup's error names neither backup nor passphrase");
	if (strstr(res->body, "PRIVATE KEY") && !memmem(data, size, "PRIVATE KEY", 11))
		fail("an error holds key material"); /* (not merely the input's own text) */
	json_decref(e);
	free(res->body);
}

static void check_keys(const struct api_backup *b)
{
	const char *field = NULL;
	char err[256];
	if (b->nkeys < 1 || b->nkeys > API_BACKUP_KEYS_MAX)
		fail("key count out of range");
	if (dnssec_policy_check(&b->policy, &field, err, sizeof(err)) != 0)
		fail("an accepted policy fails dnssec_policy_check()");
	if (!name_equal(b->apex, apex))
		fail("accepted a backup of another zone");
	for (size_t i = 0; i < b->nkeys; i++) {
		const struct store_key *k = &b->keys[i];
		struct dnssec_key *key = NULL;
		if (k->algorithm != b->policy.algorithm || (k->role == STORE_KEY_CSK) != b->policy.csk)
			fail("a key that does not go with the policy");
		if (k->dnskey_len < 4 || dnssec_keytag(k->dnskey, k->dnskey_len) != k->tag)
			fail("a DNSKEY whose tag is not the key's");
		if (!k->pem || dnssec_key_from_pem(k->pem, k->pem_len, k->flags, &key, err, sizeof(err)) < 0)
			continue; /* the PEM is checked by the restore (change_dnssec_restore), not here */
		dnssec_key_free(key);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!doc)
		return 0;
	/* scrypt at a cost above 2^12 takes seconds under the sanitizers (2^18, the most a restore
	 * takes, hit libFuzzer's 10 s timeout on a loaded machine): the same reader at a higher cost
	 * only works longer, so such inputs are left out */
	json_t *cost = json_object_get(json_object_get(doc, "encryption"), "scrypt-log2-n");
	if (json_is_integer(cost) && json_integer_value(cost) > 12) {
		json_decref(doc);
		return 0;
	}
	struct api_backup b;
	struct http_response res = {0};
	if (!api_backup_read(doc, apex, PASS, strlen(PASS), NULL, &b, &res)) {
		if (b.plain || b.nkeys)
			fail("a refused backup left keys behind");
		check_refused(&res, data, size);
		json_decref(doc);
		return 0;
	}
	if (res.body)
		fail("an accepted backup left a response body");
	check_keys(&b);
	/* made again (cheapest cost) and read back: the same keys, PEMs and all */
	char err[256];
	json_t *again = api_backup_make(apex, json_object_get(doc, "policy"), b.keys, b.nkeys, PASS, strlen(PASS),
	                                KEYSEAL_LOG2N_MIN, 1700000000, err, sizeof(err));
	if (!again)
		fail("an accepted backup cannot be made again");
	struct api_backup b2;
	if (!api_backup_read(again, apex, PASS, strlen(PASS), NULL, &b2, &res))
		fail("a backup made again does not read back");
	if (b2.nkeys != b.nkeys || memcmp(&b2.policy, &b.policy, sizeof(b.policy)) != 0)
		fail("a backup made again reads back otherwise");
	for (size_t i = 0; i < b.nkeys; i++) {
		const struct store_key *x = &b.keys[i], *y = &b2.keys[i];
		if (x->tag != y->tag || x->flags != y->flags || x->role != y->role || x->state != y->state ||
		    x->use != y->use || x->since != y->since || x->ds_seen != y->ds_seen || x->created != y->created ||
		    x->revoked != y->revoked || x->dnskey_len != y->dnskey_len ||
		    memcmp(x->dnskey, y->dnskey, x->dnskey_len) != 0 || x->pem_len != y->pem_len ||
		    memcmp(x->pem, y->pem, x->pem_len) != 0)
			fail("a key made again reads back otherwise");
	}
	api_backup_clear(&b2);
	api_backup_clear(&b);
	if (b.plain || b.nkeys)
		fail("api_backup_clear() left keys behind");
	json_decref(again);
	json_decref(doc);
	return 0;
}
