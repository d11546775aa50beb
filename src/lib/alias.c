/* Whether a user's name points at a service's canonical domain, judged from one resolver response:
 * the answer section's CNAME chain and AliasMode HTTPS/SVCB records, followed from the name. */
#include "lib/alias.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/xfr_parse.h"

#define HDR 12
#define TEXT_MAX 1024 /* a name as text, escapes included */

static void say(struct alias_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct alias_verdict *v, const char *fmt, ...)
{
	size_t used = strlen(v->found);
	if (used + 1 >= sizeof(v->found))
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(v->found + used, sizeof(v->found) - used, fmt, ap);
	va_end(ap);
	if (n < 0)
		v->found[used] = '\0';
}

static const char *text(const uint8_t *name, char buf[TEXT_MAX])
{
	if (name_to_text(name, buf, TEXT_MAX) < 0)
		snprintf(buf, TEXT_MAX, "(a name that cannot be shown)");
	return buf;
}

/* One answer record: its owner, type and RDATA bounds. */
struct arr {
	uint8_t owner[NAME_MAXLEN];
	uint16_t type;
	size_t rdpos;
	uint16_t rdlen;
};

/* The record of the answer section owned by cur with type CNAME or qtype, if any (the first). */
static int find_step(const uint8_t *msg, size_t len, unsigned ancount, const uint8_t *cur, uint16_t qtype,
                     struct arr *out)
{
	size_t pos = HDR;
	uint8_t skip[NAME_MAXLEN];
	if (wire_read_name(msg, len, &pos, skip) < 0 || pos + 4 > len)
		return TERN_EMALF;
	pos += 4;
	for (unsigned i = 0; i < ancount; i++) {
		struct arr r;
		if (wire_read_name(msg, len, &pos, r.owner) < 0)
			return TERN_EMALF;
		if (pos + 10 > len)
			return TERN_EMALF;
		r.type = wire_get16(msg + pos);
		r.rdlen = wire_get16(msg + pos + 8);
		r.rdpos = pos + 10;
		if (r.rdpos + r.rdlen > len)
			return TERN_EMALF;
		pos = r.rdpos + r.rdlen;
		if ((r.type == RR_CNAME || r.type == qtype) && name_equal(r.owner, cur)) {
			*out = r;
			return 1;
		}
	}
	return 0;
}

int alias_judge(const uint8_t *msg, size_t len, const uint8_t *name, uint16_t qtype, const uint8_t *canonical,
                struct alias_verdict *v)
{
	memset(v, 0, sizeof(*v));
	char a[TEXT_MAX], b[TEXT_MAX], tb[16];
	if (len < HDR || !(msg[2] & 0x80) || wire_get16(msg + 4) != 1) {
		say(v, "not a response to one question");
		return TERN_EMALF;
	}
	size_t pos = HDR;
	uint8_t qname[NAME_MAXLEN];
	if (wire_read_name(msg, len, &pos, qname) < 0 || pos + 4 > len) {
		say(v, "a malformed question");
		return TERN_EMALF;
	}
	if (!name_equal(qname, name) || wire_get16(msg + pos) != qtype) {
		say(v, "the response is to another question (%s %s)", text(qname, a),
		    rr_type_name(wire_get16(msg + pos), tb));
		return TERN_EMALF;
	}
	unsigned rcode = msg[3] & 0x0f, ancount = wire_get16(msg + 6);
	if (name_equal(name, canonical)) {
		say(v, "%s is the canonical domain itself", text(name, a));
		return 0;
	}

	uint8_t cur[NAME_MAXLEN];
	memcpy(cur, name, name_len(name));
	for (;;) {
		struct arr r;
		int rc = find_step(msg, len, ancount, cur, qtype, &r);
		if (rc < 0) {
			v->found[0] = '\0';
			say(v, "a malformed answer section");
			return TERN_EMALF;
		}
		if (rc == 0)
			break;
		if (v->steps == ALIAS_STEPS_MAX) {
			say(v, "; more than %d steps: not followed further", ALIAS_STEPS_MAX);
			return 0;
		}
		uint8_t target[NAME_MAXLEN];
		size_t tp = r.rdpos;
		uint16_t prio = 0;
		if (r.type != RR_CNAME) {
			if (r.rdlen < 3) {
				v->found[0] = '\0';
				say(v, "a malformed %s record", rr_type_name(r.type, tb));
				return TERN_EMALF;
			}
			prio = wire_get16(msg + tp);
			tp += 2;
		}
		/* the target must lie inside the RDATA (a compressed CNAME may point before it) */
		if (wire_read_name(msg, len, &tp, target) < 0 || tp > r.rdpos + r.rdlen) {
			v->found[0] = '\0';
			say(v, "a malformed %s record", rr_type_name(r.type, tb));
			return TERN_EMALF;
		}
		v->steps++;
		say(v, "%s%s %s", v->steps > 1 ? "; " : "", text(r.owner, a), rr_type_name(r.type, tb));
		if (r.type == RR_CNAME)
			say(v, " %s", text(target, b));
		else
			say(v, " %u %s", prio, text(target, b));
		if (r.type != RR_CNAME && prio != 0) {
			say(v, ": ServiceMode (priority %u), not an alias to %s", prio, text(canonical, b));
			return 0;
		}
		if (name_equal(target, canonical)) {
			v->points = true;
			v->via = r.type == RR_CNAME ? ALIAS_VIA_CNAME : ALIAS_VIA_ALIAS;
			return 0;
		}
		if (r.type != RR_CNAME) {
			/* resolvers do not chase AliasMode targets: this one names another domain */
			say(v, ": an alias to %s, not to %s", text(target, a), text(canonical, b));
			return 0;
		}
		memcpy(cur, target, name_len(target));
	}

	if (v->steps > 0)
		say(v, ": ends at %s, not at %s", text(cur, a), text(canonical, b));
	else if (rcode == 3)
		say(v, "%s does not exist (NXDOMAIN)", text(name, a));
	else if (rcode != 0)
		say(v, "the resolver answered %s for %s", xfrp_rcode_name(rcode, tb), text(name, a));
	else
		say(v, "%s has no CNAME and no %s record", text(name, a), rr_type_name(qtype, tb));
	return 0;
}
