/* libFuzzer harness for lib/alias: alias_judge() on the input as a resolver's response, asked
 * about the response's own question (so the walk through the answer section is reached) and about
 * a fixed name; the verdict's text is always terminated and within its buffer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alias.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"

static uint8_t fixed[NAME_MAXLEN], canonical[NAME_MAXLEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (name_from_text(fixed, "www.example.test.", NULL) < 0 ||
	    name_from_text(canonical, "0b6f0a52-6e0c-4a55-9d3e-1b2c3d4e5f60.app.tern.test.", NULL) < 0)
		abort();
	return 0;
}

static void judge(const uint8_t *data, size_t size, const uint8_t *name, uint16_t qtype)
{
	struct alias_verdict v;
	int rc = alias_judge(data, size, name, qtype, canonical, &v);
	if (!memchr(v.found, 0, sizeof(v.found)))
		abort();
	if (rc != 0 && rc != TERN_EMALF)
		abort();
	if (rc != 0 && (v.points || !v.found[0]))
		abort(); /* a refusal says why and never points */
	if (v.points && (v.steps == 0 || v.steps > ALIAS_STEPS_MAX || v.via == ALIAS_VIA_NONE))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	judge(data, size, fixed, RR_HTTPS);
	uint8_t q[NAME_MAXLEN];
	size_t pos = 12;
	if (size > 12 && wire_read_name(data, size, &pos, q) > 0 && pos + 2 <= size)
		judge(data, size, q, wire_get16(data + pos));
	return 0;
}
