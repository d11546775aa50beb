/* libFuzzer harness for zone bootstrap's reading of a previous provider's answers
 * (src/lib/bootstrap.c): an AXFR answer stream for example.com. read by boot_axfr_feed() and its
 * records judged by boot_take(), or one answer message decoded by check_answer_parse() and its
 * answer records judged as the queries path does.
 *
 * Input: byte 0 bit 0 = one answer message (else an AXFR stream); AXFR: repeated [2-byte
 * big-endian length][message] (a length running past the end takes what is left), query ID
 * 0x1234; one answer: the rest is the message, asked for the question it carries, the zone being
 * that question's name. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bootstrap.h"
#include "lib/check_query.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"

#define QUERY_ID 0x1234

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_bootstrap: invariant violated: %s\n", what);
	abort();
}

static struct check_answer answer;

/* What boot_take() kept must be what it promises. */
static void check_kept(const struct boot_result *b)
{
	if (b->nrr < 0 || b->nrr > BOOT_MAXRR || b->nrr > b->caprr)
		fail("record count out of range");
	for (int i = 0; i < b->nrr; i++) {
		const struct boot_rr *r = &b->rr[i];
		if (!memchr(r->owner, 0, sizeof(r->owner)) || !memchr(r->data, 0, sizeof(r->data)))
			fail("text not NUL-terminated");
		if (!check_name_in(r->owner, b->zone))
			fail("a record outside the zone kept");
		if (boot_dnssec_type(r->type) || r->type == RR_SOA)
			fail("a DNSSEC record or the SOA kept");
		if (r->type == RR_NS && check_name_eq(r->owner, b->zone))
			fail("the apex NS kept");
		if (strpbrk(r->data, "\r\n"))
			fail("a line break in a record kept");
		for (const char *p = r->owner; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				fail("an owner not lower-cased");
	}
	if (b->dropped_dnssec < 0 || b->dropped_outside < 0 || b->dropped_size < 0 || b->dropped_limit < 0)
		fail("a negative count");
}

static void one_answer(const uint8_t *data, size_t size)
{
	char qname[CHECK_NAME_TEXT] = "example.com.";
	uint16_t qtype = 1, id = size >= 2 ? wire_get16(data) : 0;
	size_t pos = WIRE_HEADER_LEN;
	uint8_t name[NAME_MAXLEN];
	if (size > WIRE_HEADER_LEN && wire_read_name(data, size, &pos, name) > 0 && pos + 2 <= size) {
		if (name_to_text(name, qname, sizeof(qname)) < 0)
			return;
		qtype = wire_get16(data + pos);
	}
	if (check_answer_parse(data, size, id, qname, qtype, &answer) < 0)
		return;
	struct boot_result b = {.dedupe = true};
	check_copy(b.zone, sizeof(b.zone), qname);
	for (int i = 0; i < answer.nrr; i++) {
		const struct check_rr *rr = &answer.rr[i];
		if (rr->section != CHECK_ANSWER || rr->cut)
			continue;
		if (boot_take(&b, rr->owner, rr->type, rr->ttl, rr->data) < 0)
			fail("out of memory");
	}
	check_kept(&b);
	boot_result_free(&b);
}

static void axfr_stream(const uint8_t *data, size_t size)
{
	struct boot_axfr *x = NULL;
	char err[512] = "";
	if (boot_axfr_new("example.com.", QUERY_ID, "fuzz", &x) < 0)
		fail("boot_axfr_new failed");
	int rc = 0;
	size_t pos = 0;
	while (rc == 0 && pos + 2 <= size) {
		size_t len = wire_get16(data + pos);
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		rc = boot_axfr_feed(x, data + pos, len, err, sizeof(err));
		pos += len;
	}
	if (rc < 0 && (!memchr(err, 0, sizeof(err)) || !err[0]))
		fail("a refused transfer without a message");
	if (rc == 1) {
		struct boot_result b = {0};
		check_copy(b.zone, sizeof(b.zone), "example.com.");
		err[0] = 0;
		rc = boot_axfr_take(x, &b, err, sizeof(err));
		if (rc < 0 && !err[0])
			fail("a transfer refused at the end without a message");
		if (rc == 0)
			check_kept(&b);
		boot_result_free(&b);
	}
	boot_axfr_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		one_answer(data + 1, size - 1);
	else
		axfr_stream(data + 1, size - 1);
	return 0;
}
