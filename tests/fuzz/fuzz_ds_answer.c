/* libFuzzer harness for lib/ds_answer: ds_answer_parse() on a parent's answer to the DS query of
 * "corp.lab." (the input is the whole message; its own ID is taken as the query's, so the checks
 * past the ID are reached), then ds_answer_has() for a fixed DNSKEY. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ds_answer.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/wire.h"

static uint8_t zone[NAME_MAXLEN];
static uint8_t dnskey[DNSSEC_DNSKEY_MAX];
static int dnskey_len;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_ds_answer: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[256];
	struct dnssec_key *k = NULL;
	if (name_from_text(zone, "corp.lab.", NULL) < 0 ||
	    dnssec_key_generate(DNSSEC_ALG_ECDSAP256SHA256, DNSSEC_KSK, &k, err, sizeof(err)) < 0)
		abort();
	dnskey_len = dnssec_key_dnskey(k, dnskey, sizeof(dnskey));
	dnssec_key_free(k);
	if (dnskey_len < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size octets, so reading past it is caught */
	uint8_t *msg = malloc(size ? size : 1);
	if (!msg)
		return 0;
	memcpy(msg, data, size);
	uint16_t id = size >= 2 ? wire_get16(msg) : 0;
	struct ds_answer a;
	char err[256] = "";
	int rc = ds_answer_parse(msg, size, zone, id, &a, err, sizeof(err));
	if (rc == 0) {
		if (a.n > DS_ANSWER_MAX || a.total < a.n)
			fail("more DS kept than fit, or than counted");
		if (a.truncated && a.n)
			fail("a truncated answer with records");
		for (size_t i = 0; i < a.n; i++)
			if (a.len[i] < 5 || a.len[i] > DNSSEC_DS_MAX)
				fail("a DS of impossible length");
		(void)ds_answer_has(&a, zone, dnskey, (size_t)dnskey_len);
	} else if ((rc != TERN_EINVAL && rc != TERN_EMALF) || !err[0]) {
		fail("a refusal that is not TERN_EINVAL/TERN_EMALF with a message");
	}
	free(msg);
	return 0;
}
