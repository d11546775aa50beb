/* The DNSSEC records of an answer from a signed zone: which queries get them (RFC 4035 3.1: a DO
 * query, a signed zone), and the proofs stage that runs once the answer section is complete --
 * today the DS of a secure referral (RFC 4035 3.1.4). Signatures and denial proofs attach here
 * and in the writer, never in the lookup (docs/architecture.md, "The answer path"). */
#include "lib/rr.h"
#include "ternd/ns/ns.h"

bool ns_dnssec_wanted(const struct query *q, const struct zone *z)
{
	return q->opt.dnssec_ok && zone_signed(z);
}

/* RFC 4035 3.1.4: the DS of a cut comes along with the referral for a DO query to a signed zone
 * (an unsigned zone's DS proves nothing and costs room). */
static void prove_delegation(struct query *q, const struct ns_lookup *lk)
{
	const struct rrset *ds = zone_node_rrset(lk->node, RR_DS);
	if (ds && ns_dnssec_wanted(q, lk->zone))
		ns_put_rrset(q, SEC_AUTHORITY, lk->node->owner, ds);
}

void ns_put_proofs(struct query *q, const struct ns_lookup *steps, int n)
{
	/* Only the last lookup of a chain can end in a referral or a negative answer; the earlier
	 * ones are CNAME and DNAME steps, whose proofs (a wildcard's, RFC 4035 3.1.3.3) are not
	 * written yet, as no signatures are. */
	const struct ns_lookup *last = &steps[n - 1];
	if (last->outcome == NS_DELEGATION)
		prove_delegation(q, last);
}
