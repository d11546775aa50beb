/* libFuzzer harness for tern check's answer decoder: check_answer_parse() on an arbitrary message,
 * asked for the question the message itself carries (so the records behind it are reached); a DNSKEY
 * answer then goes through tern hints watch's RFC 5011 step (hints_ta_update()), its first key trusted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check_query.h"
#include "lib/hints.h"
#include "lib/rr.h"
#include "lib/name.h"
#include "lib/wire.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_check_answer: invariant violated: %s\n", what);
	abort();
}

static struct check_answer answer;
static struct hints_ta ta;

/* The RFC 5011 step over a DNSKEY answer: the watch's anchor stays in bounds whatever the keys and
 * signatures say, and only a key it trusts can be the signer. */
static void ta_step(const char *qname)
{
	memset(&ta, 0, sizeof(ta));
	for (int i = 0; i < answer.nrr && ta.nkeys == 0; i++)
		if (answer.rr[i].type == RR_DNSKEY && answer.rr[i].section == CHECK_ANSWER)
			hints_ta_seed(&ta, qname, answer.rr[i].data, 1000);
	char log[600];
	int f = hints_ta_update(&ta, qname, &answer, 2000000000LL, 10, log, sizeof(log));
	if (!memchr(log, 0, sizeof(log)))
		fail("log not NUL-terminated");
	if (ta.nkeys < 0 || ta.nkeys > HINTS_TA_MAX)
		fail("anchor keys out of range");
	bool signer_trusted = ta.signer < 0;
	for (int k = 0; k < ta.nkeys; k++)
		signer_trusted |= ta.keys[k].valid && ta.keys[k].tag == ta.signer;
	if ((f & HINTS_TA_VALIDATED) ? !signer_trusted || ta.signer < 0 : ta.signer >= 0)
		fail("a signer that is not a trusted key");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char qname[CHECK_NAME_TEXT] = "example.com.";
	uint16_t qtype = 1, id = size >= 2 ? wire_get16(data) : 0;
	size_t pos = WIRE_HEADER_LEN;
	uint8_t name[NAME_MAXLEN];
	if (size > WIRE_HEADER_LEN && wire_read_name(data, size, &pos, name) > 0 && pos + 2 <= size) {
		if (name_to_text(name, qname, sizeof(qname)) < 0)
			return 0; /* escapes make it longer than a check prints: such answers are refused */
		qtype = wire_get16(data + pos);
	}
	memset(&answer, 0xa5, sizeof(answer));
	int rc = check_answer_parse(data, size, id, qname, qtype, &answer);
	if (rc < 0) {
		if (!memchr(answer.error, 0, sizeof(answer.error)) || !answer.error[0])
			fail("a refusal without a NUL-terminated message");
		return 0;
	}
	if (!answer.ok || answer.nrr < 0 || answer.nrr > CHECK_MAXRR || answer.dropped < 0)
		fail("counts out of range");
	if (answer.rcode != WIRE_RCODE(wire_get16(data + 2)))
		fail("rcode not the header's");
	for (int i = 0; i < answer.nrr; i++) {
		const struct check_rr *rr = &answer.rr[i];
		if (rr->section < CHECK_ANSWER || rr->section > CHECK_ADDITIONAL)
			fail("section out of range");
		if (!memchr(rr->owner, 0, sizeof(rr->owner)) || !memchr(rr->data, 0, sizeof(rr->data)))
			fail("text not NUL-terminated");
		if (rr->cut && !strstr(rr->data, "too long to show"))
			fail("a record cut without its note (its text would be taken for RDATA)");
		if (i && rr->section < answer.rr[i - 1].section)
			fail("sections out of order");
		uint8_t back[NAME_MAXLEN];
		if (name_from_text(back, rr->owner, NULL) < 0)
			fail("an owner printed that does not read back");
	}
	if (qtype == RR_DNSKEY)
		ta_step(qname);
	return 0;
}
