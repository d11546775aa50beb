/* The DNSSEC records of an answer from a signed zone: which queries get them (RFC 4035 3.1: a DO
 * query, a signed zone), the RRSIGs written beside each RRset (3.1.1), and the proofs stage that
 * runs once the answer section is complete: the DS of a secure referral (3.1.4) and the NSEC
 * records that prove each outcome of the chain (3.1.3). They attach here and in the writer,
 * never in the lookup (docs/architecture.md, "The answer path"). */
#include <string.h>

#include "lib/rr.h"
#include "ternd/ns/ns.h"

bool ns_dnssec_wanted(const struct query *q, const struct zone *z)
{
	return q->opt.dnssec_ok && zone_signed(z);
}

bool ns_put_signed(struct query *q, enum ns_section sec, const uint8_t *owner, const struct rrset *rs,
                   const struct zone *z, const struct zone_node *node)
{
	if (!zone_signed(z))
		return ns_put_rrset(q, sec, owner, rs);
	struct wire_mark mark = wire_mark(&q->w);
	uint16_t count = q->count[sec];
	int nextra = q->nextra;
	if (!ns_put_rrset(q, sec, owner, rs))
		return false;
	const struct rrset *sigs = zone_node_rrsig(node, rs->type);
	if (!sigs)
		return true;
	/* RFC 4034 3: an RRSIG's TTL is its RRset's, which the caller may have lowered (the SOA of a
	 * negative answer, RFC 2308 3) */
	struct rrset capped = *sigs;
	if (capped.ttl > rs->ttl)
		capped.ttl = rs->ttl;
	if (ns_put_rrset(q, sec, owner, &capped) || sec == SEC_ADDITIONAL)
		return true; /* additional signatures may be dropped (RFC 4035 3.1.1) */
	/* an RRset without the signatures a validator needs is not written either: TC is set */
	wire_rollback(&q->w, mark);
	q->count[sec] = count;
	q->nextra = nextra;
	return false;
}

/* The denial records of one answer, each written once with its RRSIGs (one NSEC may prove two
 * things, in one step or in two steps of a chain). A record that does not fit makes the answer
 * TC, as any RRset of the authority section does (ns_put_rrset). */
#define PROOF_MAX (4 * NS_MAX_CHAIN)
struct proof {
	struct query *q;
	const struct zone *z; /* the zone of the step being proved */
	const struct zone_node *done[PROOF_MAX];
	int ndone;
};

static void put_denial(struct proof *p, const struct zone_node *n, uint16_t type)
{
	if (!n)
		return;
	for (int i = 0; i < p->ndone; i++)
		if (p->done[i] == n)
			return;
	const struct rrset *rs = zone_node_rrset(n, type);
	if (!rs)
		return;
	if (p->ndone < PROOF_MAX)
		p->done[p->ndone++] = n;
	ns_put_signed(p->q, SEC_AUTHORITY, n->owner, rs, p->z, n);
}

/* "*.<name>" into out; false when it would pass 255 octets. */
static bool wildcard_name(const struct zone_node *n, uint8_t out[NAME_MAXLEN])
{
	if ((size_t)n->owner_len + 2 > NAME_MAXLEN)
		return false;
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, n->owner, n->owner_len);
	return true;
}

/* ---- NSEC (RFC 4035 3.1.3) ---- */

/* The NSEC that covers (or matches) a name: the one with the greatest owner at or before it. */
static void nsec_cover(struct proof *p, const uint8_t *lname)
{
	struct zone_order_pos pos;
	put_denial(p, zone_nsec_cover(p->z, lname, &pos), RR_NSEC);
}

/* The NSEC of a name that exists: its own, whose bitmap lists its types; for an empty
 * non-terminal, which has none, the NSEC covering it (its next name is below it). */
static void nsec_match(struct proof *p, const struct zone_node *n)
{
	if (n->flags & NODE_NSEC)
		put_denial(p, n, RR_NSEC);
	else
		nsec_cover(p, n->owner);
}

static void prove_nsec(struct proof *p, const struct ns_lookup *lk)
{
	uint8_t wild[NAME_MAXLEN];
	switch (lk->outcome) {
	case NS_NXDOMAIN: /* 3.1.3.2: no such name, and no wildcard at the closest encloser */
		nsec_cover(p, lk->name);
		if (wildcard_name(lk->encloser, wild))
			nsec_cover(p, wild);
		break;
	case NS_NODATA: /* 3.1.3.1, and 3.1.3.4 for a wildcard: its NSEC and the name's absence */
		nsec_match(p, lk->node);
		if (lk->wildcard)
			nsec_cover(p, lk->name);
		break;
	case NS_HIT:
	case NS_CNAME: /* 3.1.3.3: a wildcard answered, so the name itself does not exist */
		if (lk->wildcard)
			nsec_cover(p, lk->name);
		break;
	case NS_DELEGATION: /* 3.1.4.1: an unsigned child, the cut's NSEC shows NS without DS */
		nsec_match(p, lk->node);
		break;
	case NS_DNAME: break; /* the DNAME is signed; its CNAME is synthesized (RFC 6672 5.3) */
	}
}

/* Whether a step needs a proof at all: a plain answer (no wildcard) and a DNAME need none. */
static bool needs_proof(const struct ns_lookup *lk)
{
	switch (lk->outcome) {
	case NS_HIT:
	case NS_CNAME: return lk->wildcard;
	case NS_DNAME: return false;
	default: return true;
	}
}

void ns_put_proofs(struct query *q, const struct ns_lookup *steps, int n)
{
	struct proof p = {.q = q, .ndone = 0};
	for (int i = 0; i < n && !q->full; i++) {
		const struct ns_lookup *lk = &steps[i];
		if (!needs_proof(lk) || !ns_dnssec_wanted(q, lk->zone))
			continue;
		/* RFC 4035 3.1.4: the DS of a cut and its RRSIGs come along with the referral (an
		 * unsigned zone's DS proves nothing and costs room); the NS of the cut is not signed
		 * by the parent */
		const struct rrset *ds = lk->outcome == NS_DELEGATION ? zone_node_rrset(lk->node, RR_DS) : NULL;
		if (ds) {
			ns_put_signed(q, SEC_AUTHORITY, lk->node->owner, ds, lk->zone, lk->node);
			continue;
		}
		p.z = lk->zone;
		prove_nsec(&p, lk);
	}
}
