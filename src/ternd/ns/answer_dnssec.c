/* The DNSSEC records of an answer from a signed zone: which queries get them (RFC 4035 3.1: a DO
 * query, a signed zone), the RRSIGs written beside each RRset (3.1.1), and the proofs stage that
 * runs once the answer section is complete: the DS of a secure referral (3.1.4) and the NSEC
 * (3.1.3) or NSEC3 (RFC 5155 7.2) records that prove each outcome of the chain. They attach here
 * and in the writer,
 * never in the lookup (docs/architecture.md, "The answer path"). */
#include <string.h>

#include "lib/nsec.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "ternd/dyn/answer.h"
#include "ternd/ns/ns.h"

bool ns_dnssec_wanted(const struct query *q, const struct zone *z)
{
	return q->opt.dnssec_ok && zone_signed(z);
}

/* A DYN resource's answer in a signed zone: one of the RRsets signed ahead for this client, and
 * the signatures of that set (its index is each one's inception modulo the number of sets,
 * lib/dyn.h): a pass over the name's signatures of the type, no crypto, nothing allocated. */
static bool put_signed_dyn(struct query *q, enum ns_section sec, const uint8_t *owner, const struct rrset *rs,
                           const struct zone_node *node)
{
	struct answer_rrs sel;
	int64_t set = -1;
	const struct answer_client client = {q->client->addr, q->client->addrlen, q->ecs.family ? &q->ecs : NULL};
	if (answer_resolve_signed(&client, rs, &sel, &set) < 0) {
		q->rcode = RCODE_SERVFAIL;
		return false;
	}
	struct wire_mark mark = wire_mark(&q->w);
	uint16_t count = q->count[sec];
	int nextra = q->nextra;
	if (!ns_put_selected(q, sec, owner, rs, &sel))
		return false;
	const struct rrset *sigs = zone_node_rrsig(node, rs->type);
	uint32_t nsets = dyn_signed_count(dyn_rrset_resource(rs), rs->type);
	const uint8_t *rec = sigs ? sigs->rdata : NULL;
	for (uint16_t i = 0; set >= 0 && sigs && i < sigs->count; i++, rec = rdata_next(rec)) {
		if (!dyn_signed_covers(rdata_bytes(rec), rdata_len(rec), (uint32_t)set, nsets))
			continue;
		struct rrset one = {.type = RR_RRSIG,
		                    .count = 1,
		                    .ttl = sigs->ttl < sel.ttl ? sigs->ttl : sel.ttl,
		                    .rdata = rec,
		                    .rdata_size = 2u + rdata_len(rec),
		                    .covered = rs->type};
		if (ns_put_rrset(q, sec, owner, &one) || sec == SEC_ADDITIONAL)
			continue;
		wire_rollback(&q->w, mark);
		q->count[sec] = count;
		q->nextra = nextra;
		return false;
	}
	return true;
}

bool ns_put_signed(struct query *q, enum ns_section sec, const uint8_t *owner, const struct rrset *rs,
                   const struct zone *z, const struct zone_node *node)
{
	if (!zone_signed(z))
		return ns_put_rrset(q, sec, owner, rs);
	if (rs->dyn)
		return put_signed_dyn(q, sec, owner, rs, node);
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
	struct nsec_params np; /* its NSEC3PARAM's, when it uses NSEC3 */
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
static bool wildcard_name(const uint8_t *name, uint8_t out[NAME_MAXLEN])
{
	size_t len = name_len(name);
	if (len + 2 > NAME_MAXLEN)
		return false;
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, name, len);
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
		if (wildcard_name(lk->encloser->owner, wild))
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

/* ---- NSEC3 (RFC 5155 7.2) ---- */

/* Whether z proves with NSEC3: its apex holds an NSEC3PARAM (flags 0, SHA-1: RFC 5155 4.1.2 says
 * to ignore others) and it holds NSEC3 records. np gets the first such NSEC3PARAM's parameters. */
static bool zone_nsec3(const struct zone *z, struct nsec_params *np)
{
	const struct rrset *param = z->nsec3_order ? zone_node_rrset(z->apex_node, RR_NSEC3PARAM) : NULL;
	const uint8_t *rec = param ? param->rdata : NULL;
	for (uint16_t i = 0; param && i < param->count; i++, rec = rdata_next(rec))
		if (rdata_len(rec) >= 2 && rdata_bytes(rec)[1] == 0 &&
		    nsec3param_parse(rdata_bytes(rec), rdata_len(rec), np) == 0)
			return true;
	return false;
}

/* Whether the NSEC3 RRset at n has a record of the chain np names (hash, iterations, salt): a zone
 * changing its salt holds two chains side by side. */
static bool nsec3_of_chain(const struct zone_node *n, const struct nsec_params *np)
{
	const struct rrset *rs = zone_node_rrset(n, RR_NSEC3);
	const uint8_t *rec = rs ? rs->rdata : NULL;
	for (uint16_t i = 0; rs && i < rs->count; i++, rec = rdata_next(rec)) {
		const uint8_t *rd = rdata_bytes(rec);
		uint16_t len = rdata_len(rec);
		if (len >= 5 && rd[0] == NSEC3_HASH_SHA1 && wire_get16(rd + 2) == np->iterations &&
		    rd[4] == np->salt_len && len >= 5u + np->salt_len && memcmp(rd + 5, np->salt, np->salt_len) == 0)
			return true;
	}
	return false;
}

/* The NSEC3 owner a name hashes to (one SHA-1 per iteration plus one); its length, or a negative
 * error when the apex is too long for NSEC3 owners. */
static int nsec3_hashed(const struct proof *p, const uint8_t *lname, uint8_t owner[NAME_MAXLEN])
{
	uint8_t hash[NSEC3_HASH_LEN];
	nsec3_hash(lname, p->np.salt, p->np.salt_len, p->np.iterations, hash);
	return nsec3_owner(hash, p->z->apex, owner);
}

/* The NSEC3 matching a name: the one at its hash, or NULL. */
static const struct zone_node *nsec3_match(const struct proof *p, const uint8_t *lname)
{
	uint8_t owner[NAME_MAXLEN];
	int len = nsec3_hashed(p, lname, owner);
	const struct zone_node *n = len > 0 ? zone_find(p->z, owner, (size_t)len) : NULL;
	return n && (n->flags & NODE_NSEC3) && nsec3_of_chain(n, &p->np) ? n : NULL;
}

/* The NSEC3 covering a name: the one of the chain with the greatest hash at or before the name's
 * (the last when the name's hash precedes them all). Members of another chain (a salt rollover)
 * are stepped over, a few at most; a zone of nothing else gets no record. */
static const struct zone_node *nsec3_cover(const struct proof *p, const uint8_t *lname)
{
	uint8_t owner[NAME_MAXLEN];
	struct zone_order_pos pos;
	if (nsec3_hashed(p, lname, owner) < 0)
		return NULL;
	const struct zone_node *n = zone_nsec3_cover(p->z, owner, &pos);
	for (int i = 0; n && i < 16; i++, n = zone_order_prev(&pos))
		if (nsec3_of_chain(n, &p->np))
			return n;
	return NULL;
}

/* The next closer name (RFC 5155 1.3): lname cut to one label below an encloser of enc_labels. */
static const uint8_t *next_closer(const uint8_t *lname, int enc_labels)
{
	for (int k = name_labels(lname) - enc_labels - 1; k > 0; k--)
		lname += lname[0] + 1;
	return lname;
}

/* 7.2.1 and 7.2.4: the closest provable encloser of lname, looked for from the name from (lname
 * or an ancestor) up: the nearest with an NSEC3 of the chain -- from itself when every name has
 * one; higher when from is an empty non-terminal or an unsigned delegation left out under
 * Opt-Out, whose covering NSEC3 then says so with its flag. Writes its NSEC3 and, below it, the one
 * covering the next closer name. Returns the encloser (NULL when not even the apex has an NSEC3).
 * One hash a name tried, one for the next closer. */
static const uint8_t *nsec3_encloser_proof(struct proof *p, const uint8_t *lname, const uint8_t *from)
{
	int labels = name_labels(lname);
	for (const uint8_t *up = from; up && name_labels(up) >= p->z->apex_labels; up = name_parent(up)) {
		const struct zone_node *m = nsec3_match(p, up);
		if (!m)
			continue;
		put_denial(p, m, RR_NSEC3);
		if (name_labels(up) < labels)
			put_denial(p, nsec3_cover(p, next_closer(lname, name_labels(up))), RR_NSEC3);
		return up;
	}
	return NULL;
}

static void prove_nsec3(struct proof *p, const struct ns_lookup *lk)
{
	uint8_t wild[NAME_MAXLEN];
	const uint8_t *ce;
	switch (lk->outcome) {
	case NS_NXDOMAIN: /* 7.2.2: closest encloser proof, and no wildcard at the closest encloser */
		ce = nsec3_encloser_proof(p, lk->name, lk->encloser->owner);
		if (ce && wildcard_name(ce, wild))
			put_denial(p, nsec3_cover(p, wild), RR_NSEC3);
		break;
	case NS_NODATA:
		if (!lk->wildcard) { /* 7.2.3: the name's NSEC3; 7.2.4: DS at an Opt-Out cut without one */
			nsec3_encloser_proof(p, lk->node->owner, lk->node->owner);
			break;
		}
		/* 7.2.5: closest encloser proof and the wildcard's NSEC3 */
		nsec3_encloser_proof(p, lk->name, lk->encloser->owner);
		put_denial(p, nsec3_match(p, lk->node->owner), RR_NSEC3);
		break;
	case NS_HIT:
	case NS_CNAME: /* 7.2.6: the next closer name does not exist (the RRSIG's labels give the encloser) */
		if (lk->wildcard)
			put_denial(p, nsec3_cover(p, next_closer(lk->name, lk->encloser->labels)), RR_NSEC3);
		break;
	case NS_DELEGATION: /* 7.2.7: the cut's NSEC3 (NS without DS), or under Opt-Out the closest
	                     * provable encloser proof */
		nsec3_encloser_proof(p, lk->node->owner, lk->node->owner);
		break;
	case NS_DNAME: break;
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
	struct proof p; /* not zeroed: an answer without proofs (most) pays nothing for its size */
	p.q = q;
	p.ndone = 0;
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
		if (zone_nsec3(lk->zone, &p.np))
			prove_nsec3(&p, lk);
		else
			prove_nsec(&p, lk);
	}
}
