/* The DNSSEC records of an answer from a signed zone: which queries get them (RFC 4035 3.1: a DO
 * query, a signed zone), the RRSIGs written beside each RRset (3.1.1), and the proofs stage that
 * runs once the answer section is complete -- today the DS of a secure referral (3.1.4). They
 * attach here and in the writer, never in the lookup (docs/architecture.md, "The answer path"). */
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

/* RFC 4035 3.1.4: the DS of a cut and its RRSIGs come along with the referral for a DO query to
 * a signed zone (an unsigned zone's DS proves nothing and costs room); the NS of the cut is not
 * signed by the parent. */
static void prove_delegation(struct query *q, const struct ns_lookup *lk)
{
	const struct rrset *ds = zone_node_rrset(lk->node, RR_DS);
	if (ds && ns_dnssec_wanted(q, lk->zone))
		ns_put_signed(q, SEC_AUTHORITY, lk->node->owner, ds, lk->zone, lk->node);
}

void ns_put_proofs(struct query *q, const struct ns_lookup *steps, int n)
{
	/* Only the last lookup of a chain can end in a referral or a negative answer; the earlier
	 * ones are CNAME and DNAME steps, whose proofs (a wildcard's, RFC 4035 3.1.3.3) are not
	 * written yet. */
	const struct ns_lookup *last = &steps[n - 1];
	if (last->outcome == NS_DELEGATION)
		prove_delegation(q, last);
}
