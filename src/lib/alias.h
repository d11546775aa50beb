/* Whether a user's name points at a service's canonical domain (issue 20's aliases), judged from a
 * recursive resolver's response: a CNAME chain or an AliasMode HTTPS/SVCB record (RFC 9460). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALIAS_STEPS_MAX 16 /* CNAME and alias steps followed from the name, at most */

enum alias_via {
	ALIAS_VIA_NONE = 0,
	ALIAS_VIA_CNAME, /* the last step to the canonical domain was a CNAME */
	ALIAS_VIA_ALIAS, /* an AliasMode (priority 0) HTTPS or SVCB record */
};

struct alias_verdict {
	bool points; /* the name reaches the canonical domain */
	enum alias_via via;
	unsigned steps; /* steps followed from the name */
	/* what was found, in words: each step ("www.example.test. CNAME x.example.net."), then why
	 * it does or does not point here; never bytes of the message beyond names and numbers */
	char found[768];
};

/* Judges msg, a resolver's response to the question (name, qtype), qtype HTTPS, SVCB or CNAME.
 * From name it follows the answer section's CNAMEs and AliasMode records of qtype; the name points
 * when a step's target is canonical. A ServiceMode record, a CNAME or alias elsewhere, no data,
 * NXDOMAIN or a failure rcode: points is false and found says what was there. Returns 0 with *v
 * filled, or TERN_EMALF when msg is not a response to that question (v->found says why). */
int alias_judge(const uint8_t *msg, size_t len, const uint8_t *name, uint16_t qtype, const uint8_t *canonical,
                struct alias_verdict *v);
