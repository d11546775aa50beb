/* libFuzzer harness for Domain Connect templates (lib/dconn.c): the input is a template file.
 * dconn_template_parse() must accept only ids of 1 to 64 characters, 1 to 64 records of the nine
 * types (A, AAAA, CNAME, MX, NS, TXT, SRV, CAA, SPFM: SRV with all its fields); a refusal has a
 * printable "FIELD: why" message and leaves nothing. An accepted template is then made for domain
 * example.com, host www, with variables a=1, ip=192.0.2.1, t=x.y: every record made has its owner
 * at or below www.example.com, TXT data in well-formed strings, an SPFM record "v=spf1 ... ~all"
 * without a quote, an SRV owner _service._protocol under it, and a refusal names a field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dconn.h"
#include "lib/rr.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_dconn_template: invariant violated: %s\n", what);
	abort();
}

static void printable(const char *s, const char *what)
{
	if (!*s)
		fail(what);
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fail(what);
}

static void check_made(const struct dconn_rr *rr, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char text[NAME_MAXLEN * 4 + 1];
		if (name_to_text(rr[i].owner, text, sizeof(text)) < 0)
			fail("an owner that does not print");
		size_t l = strlen(text);
		const char *base = "www.example.com.";
		if (!(l == strlen(base) && !strcmp(text, base)) &&
		    !(l > strlen(base) && !strcmp(text + l - strlen(base) - 1, ".www.example.com.")))
			fail("an owner outside host.domain");
		if (rr[i].type == RR_TXT) {
			size_t at = 0;
			while (at < rr[i].rdlen)
				at += 1u + rr[i].rdata[at];
			if (at != rr[i].rdlen)
				fail("TXT strings do not add up");
		}
		if (rr_rdata_check(rr[i].type, rr[i].rdata, rr[i].rdlen) < 0)
			fail("RDATA not of its type");
		if (rr[i].spfm) {
			char spf[DCONN_TXT_MAX + 1];
			size_t w = 0;
			for (size_t at = 0; at < rr[i].rdlen;) {
				size_t sl = rr[i].rdata[at++];
				memcpy(spf + w, rr[i].rdata + at, sl);
				w += sl;
				at += sl;
			}
			spf[w] = 0;
			if (rr[i].type != RR_TXT || strncmp(spf, "v=spf1 ", 7) || w < 12 ||
			    strcmp(spf + w - 5, " ~all") || strchr(spf, '"') || strchr(spf, '\\'))
				fail("an SPFM record that is not v=spf1 RULES ~all");
		}
		if (rr[i].type == RR_SRV && (text[0] != '_' || !strstr(text, "._")))
			fail("an SRV owner without its _service._protocol");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dconn_template t;
	char err[512] = "";
	if (dconn_template_parse((const char *)data, size, &t, err, sizeof(err)) < 0) {
		printable(err, "a refusal without a printable message");
		if (!strchr(err, ':'))
			fail("a refusal that names no field");
		return 0;
	}
	if (!t.provider_id || !t.service_id || strlen(t.provider_id) > 64 || t.nrecords < 1 ||
	    t.nrecords > DCONN_MAX_RECORDS)
		fail("accepted ids or records out of bounds");
	for (size_t i = 0; i < t.nrecords; i++) {
		const struct dconn_record *r = &t.records[i];
		if (r->type != RR_A && r->type != RR_AAAA && r->type != RR_CNAME && r->type != RR_MX &&
		    r->type != RR_NS && r->type != RR_TXT && r->type != RR_SRV && r->type != RR_CAA)
			fail("accepted another type");
		if (!r->value || !r->ttl || (r->type == RR_MX) != (r->priority != NULL && r->type == RR_MX))
			fail("accepted a record without its fields");
		if (r->type == RR_SRV && (!r->priority || !r->weight || !r->port || !r->service || !r->protocol))
			fail("accepted an SRV record without its fields");
		if (r->spfm && r->type != RR_TXT)
			fail("an SPFM record that is not TXT");
	}
	static const char raw[] = "domain=example.com&host=www&a=1&ip=192.0.2.1&t=x.y";
	struct dconn_query q;
	char field[80], why[768];
	if (dconn_query_parse(raw, sizeof(raw) - 1, &q, field, sizeof(field), why, sizeof(why)) < 0)
		fail("the harness's own query refused");
	struct dconn_rr *rr = NULL;
	size_t n = 0;
	if (dconn_expand(&t, &q, &rr, &n, field, sizeof(field), why, sizeof(why)) == 0) {
		if (n == 0 || n > t.nrecords)
			fail("made a count of records out of bounds");
		check_made(rr, n);
	} else {
		printable(field, "a refusal without a field");
		printable(why, "a refusal without a message");
		if (rr || n)
			fail("a refusal left records");
	}
	free(rr);
	dconn_query_clear(&q);
	dconn_template_clear(&t);
	return 0;
}
