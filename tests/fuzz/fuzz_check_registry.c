/* libFuzzer harness for tern check's registry readers: the input as a WHOIS answer
 * (check_whois_parse()) and as an RDAP body (check_rdap_parse()); and as a name a user typed
 * (check_input_name()); and as tern hints' _in-tree TXT value: its RDATA's character-strings
 * (hints_txt_strings()) and the RFC 3339 date-time they hold (hints_time_parse()); and as the RRset
 * ternd checks every write of `_in-tree` TXT against (change_intree_value(), the first octet the
 * record count). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/check_input.h"
#include "lib/check_registry.h"
#include "lib/hints.h"
#include "lib/name.h"
#include "ternd/change/change.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_check_registry: invariant violated: %s\n", what);
	abort();
}

static void printable(const char *s, size_t cap, const char *what)
{
	const char *end = memchr(s, 0, cap);
	if (!end)
		fail(what);
	for (; s < end; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			fail(what);
}

static void check_reg(const struct check_registration *g)
{
	printable(g->registrar, sizeof(g->registrar), "registrar not printable or not terminated");
	printable(g->expires, sizeof(g->expires), "expiry not printable or not terminated");
	if (g->nns < 0 || g->nns > CHECK_MAXNS)
		fail("name server count out of range");
	for (int i = 0; i < g->nns; i++) {
		printable(g->ns[i], sizeof(g->ns[i]), "name server not printable");
		size_t n = strlen(g->ns[i]);
		if (n == 0 || g->ns[i][n - 1] != '.')
			fail("name server not absolute");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct check_registration g;
	char refer[256], err[256];
	memset(&g, 0, sizeof(g));
	check_whois_parse((const char *)data, size, &g, refer, sizeof(refer));
	check_reg(&g);
	printable(refer, sizeof(refer), "referral not printable");

	memset(&g, 0, sizeof(g));
	err[0] = 0;
	if (check_rdap_parse((const char *)data, size, &g, err, sizeof(err)) == 0) {
		if (!g.have)
			fail("accepted without data");
		check_reg(&g);
	} else if (!err[0] || !memchr(err, 0, sizeof(err)) || g.have) {
		fail("an RDAP refusal without a message, or with data");
	}

	char text[2048], name[CHECK_NAME_TEXT], unicode[1024];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = 0;
	if (check_input_name(text, name, unicode, sizeof(unicode), err, sizeof(err)) == 0) {
		uint8_t wire[NAME_MAXLEN];
		size_t l = strlen(name);
		if (l < 2 || name[l - 1] != '.' || name_from_text(wire, name, NULL) < 0)
			fail("an accepted name that is not an absolute domain name");
		for (const char *p = name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				fail("an accepted name not lower-cased");
	} else if (!err[0]) {
		fail("a refused name without a message");
	}

	/* the _in-tree TXT value: accepted, it prints back (UTC, Z) to text that parses to the same time */
	long long at, again;
	err[0] = 0;
	if (hints_time_parse((const char *)data, size, &at, err, sizeof(err)) == 0) {
		if (size < 20 || memchr(data, 0, size))
			fail("an accepted date-time shorter than YYYY-MM-DDTHH:MM:SSZ, or with a NUL");
		time_t t = (time_t)at;
		struct tm tm;
		char back[64];
		if (gmtime_r(&t, &tm) && tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999) {
			snprintf(back, sizeof(back), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
			if (hints_time_parse(back, strlen(back), &again, err, sizeof(err)) < 0 || again != at)
				fail("an accepted date-time does not read back from its UTC form");
		}
	} else if (!err[0] || !memchr(err, 0, sizeof(err))) {
		fail("a refused date-time without a message");
	}
	char strs[4][256];
	size_t lens[4];
	int ns = hints_txt_strings(data, size, strs, lens, 4);
	if (ns > 4)
		fail("more character-strings kept than asked");
	for (int i = 0; i < ns; i++)
		if (lens[i] > 255 || strs[i][lens[i]] != 0)
			fail("a character-string over 255 octets or not terminated");

	/* ternd's check of an _in-tree TXT write: accepted only as one record of one string that
	 * hints_time_parse() takes; refused with a printable message */
	if (size >= 1) {
		char why[300] = "";
		int rc = change_intree_value(data + 1, size - 1, data[0] % 4, &at, why, sizeof(why));
		if (rc == 0 && (data[0] % 4 != 1 || size < 3 + 20))
			fail("an _in-tree value accepted that is not one record of one date-time");
		if (rc < 0)
			printable(why, sizeof(why), "an _in-tree refusal not printable or empty");
		if (rc < 0 && !why[0])
			fail("an _in-tree refusal without a message");
	}
	return 0;
}
