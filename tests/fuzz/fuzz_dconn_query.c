/* libFuzzer harness for Domain Connect's apply query (lib/dconn.c): the input is the raw query
 * string. dconn_query_parse() must accept only a lower-cased domain of plain labels, a relative
 * host, each parameter once, values without control characters, and a signed text that is the
 * query's own parameters in order without sig and key; a refusal names a field. An accepted query
 * is then made into a fixed template's records (owners at or below host.domain), its redirect_uri
 * judged against exampleservice.test (an accepted one names a host under it), and its sig checked
 * against a key that is not a key (always refused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/dconn.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_dconn_query: invariant violated: %s\n", what);
	abort();
}

static const char TEMPLATE[] =
    "{\"providerId\":\"p.test\",\"providerName\":\"P\",\"serviceId\":\"s\",\"serviceName\":\"S\","
    "\"syncRedirectDomain\":\"exampleservice.test\",\"records\":["
    "{\"type\":\"A\",\"host\":\"%sub%\",\"pointsTo\":\"%ip%\",\"ttl\":300},"
    "{\"type\":\"TXT\",\"host\":\"@\",\"data\":\"v=%v%\",\"ttl\":\"%ttl%\"},"
    "{\"type\":\"CNAME\",\"host\":\"w.%sub%\",\"pointsTo\":\"%target%\",\"ttl\":300},"
    "{\"type\":\"MX\",\"host\":\"@\",\"pointsTo\":\"@\",\"priority\":\"%prio%\",\"ttl\":300}]}";

/* Whether the parameters of signed appear in raw in order, none named sig or key. */
static void check_signed(const char *raw, size_t len, const char *signed_text)
{
	const char *at = raw, *end = raw + len;
	for (const char *p = signed_text; *p;) {
		size_t l = strcspn(p, "&");
		if ((l >= 4 && !strncmp(p, "sig=", 4)) || (l >= 4 && !strncmp(p, "key=", 4)))
			fail("the signed text holds sig or key");
		const char *found = NULL;
		for (const char *s = at; s + l <= end && !found; s++)
			if ((s == raw || s[-1] == '&') && !strncmp(s, p, l) && (s + l == end || s[l] == '&'))
				found = s;
		if (!found)
			fail("the signed text holds what the query does not, or out of order");
		at = found + l;
		p += l + (p[l] == '&');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dconn_query q;
	char field[80] = "", why[768] = "";
	if (dconn_query_parse((const char *)data, size, &q, field, sizeof(field), why, sizeof(why)) < 0) {
		if (!field[0] || !why[0])
			fail("a refusal without a field or a message");
		return 0;
	}
	for (const char *c = q.domain; *c; c++)
		if ((*c >= 'A' && *c <= 'Z') || *c == '\\' || *c == ' ')
			fail("accepted a domain not lower-cased or not plain");
	for (size_t i = 0; i < q.nvars; i++)
		for (const char *c = q.vars[i].value; *c; c++)
			if ((unsigned char)*c < 0x20)
				fail("accepted a control character");
	check_signed((const char *)data, size, q.signed_text);
	struct dconn_template t;
	char err[512];
	if (dconn_template_parse(TEMPLATE, sizeof(TEMPLATE) - 1, &t, err, sizeof(err)) < 0)
		fail("the harness's own template refused");
	struct dconn_rr *rr = NULL;
	size_t n = 0;
	if (dconn_expand(&t, &q, &rr, &n, field, sizeof(field), why, sizeof(why)) == 0) {
		char fqdn[520], text[NAME_MAXLEN * 4 + 1];
		snprintf(fqdn, sizeof(fqdn), "%s%s%s.", q.host, *q.host ? "." : "", q.domain);
		size_t fl = strlen(fqdn);
		for (size_t i = 0; i < n; i++) {
			if (name_to_text(rr[i].owner, text, sizeof(text)) < 0)
				fail("an owner that does not print");
			size_t l = strlen(text);
			if (strcasecmp(text, fqdn) &&
			    !(l > fl && text[l - fl - 1] == '.' && !strcasecmp(text + l - fl, fqdn)))
				fail("an owner outside host.domain");
		}
	}
	free(rr);
	if (q.redirect_uri && dconn_redirect_allowed(t.redirect_domains, q.redirect_uri, why, sizeof(why))) {
		const char *h = strstr(q.redirect_uri, "://") + 3;
		size_t hl = strcspn(h, ":/?#");
		if (hl < 19 || strncasecmp(h + hl - 19, "exampleservice.test", 19) || (hl > 19 && h[hl - 20] != '.') ||
		    memchr(h, '@', strcspn(h, "/?#")))
			fail("a redirect allowed outside exampleservice.test");
	}
	if (q.sig) {
		const char *txt[1] = {"p=1,a=RS256,d=bm90IGEga2V5"};
		if (dconn_verify(txt, 1, q.signed_text, strlen(q.signed_text), q.sig, why, sizeof(why)) == 0)
			fail("a signature verified with no key");
	}
	dconn_template_clear(&t);
	dconn_query_clear(&q);
	return 0;
}
