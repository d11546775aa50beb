/* tern hints check: what is read of a domain (its parent's delegation, its servers' NS, DNSKEY and
 * _in-tree TXT), then the rules of the table, each with a name, a status and its reasons. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"
#include "lib/dnssec.h"
#include "lib/error.h"
#include "lib/hints.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"

#define INB_DEPTH 4
#define AGE_UNJUDGED                                                                                                   \
	"the KSK's age (RFC 5011 add hold-down) is not judged: no key journal (--journal) read" /* delegations below   \
	                                                                                           the domain followed \
	                                                                                           for in-bailiwick    \
	                                                                                           servers */

/* What the rules read: the answers of the domain's server, asked with DO. */
struct hints_seen {
	struct check_answer dnskey, soa, ns, txt;
	bool have_dnskey, have_soa, have_ns, have_txt;
	struct check_addr server; /* the domain's server that answered */
	bool reached;
	char why[700]; /* why no server answered */
};

static void say(struct hints_rule *rule, enum hints_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(struct hints_rule *rule, enum hints_status status, const char *fmt, ...)
{
	if (status > rule->status)
		rule->status = status;
	if (rule->nreasons == HINTS_MAXREASONS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rule->reasons[rule->nreasons++], sizeof(rule->reasons[0]), fmt, ap);
	va_end(ap);
}

static void ttl_seen(struct hints_report *r, uint32_t ttl)
{
	if (r->min_ttl == 0 || (ttl > 0 && ttl < r->min_ttl))
		r->min_ttl = ttl;
}

/* The parent's view: the walk for the domain's SOA, then for its DS. */
static int read_parent(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r, struct check_walk *w)
{
	/* a walk that failed at the domain's own servers still saw the delegation */
	if (check_walk(c, o->domain, RR_SOA, 0, w) < 0 && !check_name_eq(w->zone, o->domain))
		return TERN_EIO;
	if (!check_name_eq(w->zone, o->domain)) {
		check_copy(r->parent, sizeof(r->parent), w->zone);
		r->parent_rcode = w->answer.rcode;
		return 0;
	}
	r->delegated = true;
	check_copy(r->parent, sizeof(r->parent), w->parent);
	for (int i = 0; i < w->nns && r->nparent_ns < CHECK_MAXNS; i++)
		check_copy(r->parent_ns[r->nparent_ns++], CHECK_NAME_TEXT, w->ns[i]);
	for (int i = 0; r->check && i < r->check->nhops; i++) /* the referral's NS TTL */
		if (check_name_eq(r->check->hops[i].child, o->domain))
			ttl_seen(r, r->check->hops[i].ttl);
	for (int i = 0; i < w->nglue && r->nglue < CHECK_MAXNS; i++) {
		check_copy(r->glue[r->nglue].name, CHECK_NAME_TEXT, w->glue[i].name);
		check_copy(r->glue[r->nglue++].addr, CHECK_ADDR_TEXT, w->glue[i].addr.text);
	}
	return 0;
}

static void read_ds(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r, struct check_walk *w)
{
	if (check_walk(c, o->domain, RR_DS, 0, w) < 0)
		return;
	if (check_name_eq(w->zone, o->domain)) {
		check_report_fail(r->check, "DS of %s not read: the parent's servers serve the zone too", o->domain);
		return;
	}
	for (int i = 0; i < w->answer.nrr && r->nds < CHECK_MAXVALUES; i++) {
		const struct check_rr *rr = &w->answer.rr[i];
		if (rr->section == CHECK_ANSWER && rr->type == RR_DS && check_name_eq(rr->owner, o->domain)) {
			check_copy_rdata(r->parent_ds[r->nds++], CHECK_RDATA_TEXT, rr->data);
			ttl_seen(r, rr->ttl);
		}
	}
}

/* The domain's own answers from the first of its servers that answers authoritatively: the servers
 * the delegation led to (w), else --server. */
static void read_child(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r,
                       const struct check_walk *w, struct hints_seen *s)
{
	struct check_addr cand[CHECK_MAXADDRS + CHECK_MAXNS];
	int n = 0;
	for (int i = 0; i < o->nservers; i++)
		cand[n++] = o->servers[i];
	if (r->delegated)
		for (int i = 0; i < w->nservers && n < (int)(sizeof(cand) / sizeof(cand[0])); i++)
			cand[n++] = w->servers[i].addr;
	if (n == 0) {
		snprintf(s->why, sizeof(s->why), "%s has no delegation in %s (%s) and no --server was given", o->domain,
		         r->parent, r->parent_rcode == 3 ? "NXDOMAIN" : "no referral");
		return;
	}
	struct {
		uint16_t type;
		struct check_answer *a;
		bool *have;
	} asks[] = {{RR_SOA, &s->soa, &s->have_soa},
	            {RR_NS, &s->ns, &s->have_ns},
	            {RR_DNSKEY, &s->dnskey, &s->have_dnskey},
	            {RR_TXT, &s->txt, &s->have_txt}};
	char txtname[CHECK_NAME_TEXT + 16];
	snprintf(txtname, sizeof(txtname), "_in-tree.%s", o->domain);
	for (int i = 0; i < n && !s->reached; i++) {
		if (check_ask(c, &cand[i], o->domain, RR_SOA, CHECK_DO, &s->soa) < 0) {
			snprintf(s->why, sizeof(s->why), "%s: %s", cand[i].text, s->soa.error);
			continue;
		}
		if (!s->soa.aa || s->soa.rcode != 0 || !check_answer_find(&s->soa, CHECK_ANSWER, o->domain, RR_SOA)) {
			snprintf(s->why, sizeof(s->why), "%s does not answer authoritatively for %s (rcode %d)",
			         cand[i].text, o->domain, s->soa.rcode);
			continue;
		}
		s->reached = true;
		s->server = cand[i];
		check_copy(r->asked, sizeof(r->asked), cand[i].text);
	}
	if (!s->reached)
		return;
	s->have_soa = true;
	for (size_t k = 1; k < sizeof(asks) / sizeof(asks[0]); k++) {
		const char *q = asks[k].type == RR_TXT ? txtname : o->domain;
		if (check_ask(c, &s->server, q, asks[k].type, CHECK_DO, asks[k].a) < 0)
			check_report_fail(r->check, "%s %s not read from %s: %s", q,
			                  asks[k].type == RR_TXT ? "TXT" : "", s->server.text, asks[k].a->error);
		else
			*asks[k].have = asks[k].a->aa;
	}
	for (int i = 0; s->have_ns && i < s->ns.nrr && r->nchild_ns < CHECK_MAXNS; i++)
		if (s->ns.rr[i].section == CHECK_ANSWER && s->ns.rr[i].type == RR_NS &&
		    check_name_eq(s->ns.rr[i].owner, o->domain)) {
			check_copy(r->child_ns[r->nchild_ns++], CHECK_NAME_TEXT, s->ns.rr[i].data);
			ttl_seen(r, s->ns.rr[i].ttl);
		}
	const struct check_rr *k =
	    s->have_dnskey ? check_answer_find(&s->dnskey, CHECK_ANSWER, o->domain, RR_DNSKEY) : NULL;
	if (k)
		ttl_seen(r, k->ttl);
}

/* ---- txt ---- */
static void rule_txt(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r, struct hints_seen *s,
                     struct hints_rule *rule)
{
	(void)c;
	char name[CHECK_NAME_TEXT + 16];
	snprintf(name, sizeof(name), "_in-tree.%s", o->domain);
	if (!s->reached || !s->have_txt) {
		say(rule, HINTS_FAIL, "%s TXT not read: %s", name, s->reached ? "no authoritative answer" : s->why);
		return;
	}
	const struct check_rr *recs[CHECK_MAXRR];
	int n = 0;
	for (int i = 0; i < s->txt.nrr; i++)
		if (s->txt.rr[i].section == CHECK_ANSWER && s->txt.rr[i].type == RR_TXT &&
		    check_name_eq(s->txt.rr[i].owner, name))
			recs[n++] = &s->txt.rr[i];
	if (n == 0) {
		say(rule, HINTS_FAIL,
		    "%s has no TXT record (%s): the domain does not say it keeps the draft's practices", name,
		    s->txt.rcode == 3 ? "NXDOMAIN" : "NODATA");
		return;
	}
	if (n > 1) {
		say(rule, HINTS_FAIL, "%s has %d TXT records; the draft wants exactly one timestamp", name, n);
		return;
	}
	uint8_t owner[NAME_MAXLEN], rdata[4096];
	size_t len;
	char err[256], strs[4][256];
	size_t lens[4];
	if (name_from_text(owner, name, NULL) < 0 ||
	    rrtext_rdata_from_text(owner, owner, RR_TXT, recs[0]->data, rdata, sizeof(rdata), &len, err, sizeof(err)) <
	        0) {
		say(rule, HINTS_FAIL, "%s TXT not readable", name);
		return;
	}
	int ns = hints_txt_strings(rdata, len, strs, lens, 4);
	if (ns != 1) {
		say(rule, HINTS_FAIL, "%s TXT holds %d character-strings (%.120s); the draft wants one timestamp", name,
		    ns, recs[0]->data);
		return;
	}
	check_copy(r->expires, sizeof(r->expires), strs[0]);
	for (char *p = r->expires; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	long long t;
	if (hints_time_parse(strs[0], lens[0], &t, err, sizeof(err)) < 0) {
		say(rule, HINTS_FAIL, "%s TXT \"%s\" is not an RFC 3339 date-time: %s", name, r->expires, err);
		return;
	}
	r->have_expiry = true;
	r->expires_at = t;
	long long left = t - o->now;
	if (left < -HINTS_GRACE)
		say(rule, HINTS_FAIL,
		    "the in-tree promise expired %s, %lld days ago (more than the %lld-day revalidation "
		    "window)",
		    r->expires, -left / 86400, HINTS_GRACE / 86400);
	else if (left < 0)
		say(rule, HINTS_WARN,
		    "the in-tree promise expired %s, %lld h ago (within the %lld-day revalidation "
		    "window)",
		    r->expires, -left / 3600, HINTS_GRACE / 86400);
	else if (left > HINTS_FAR)
		say(rule, HINTS_WARN, "the in-tree promise runs to %s, %lld days ahead: a promise nobody revisits",
		    r->expires, left / 86400);
	else
		say(rule, HINTS_PASS, "%s TXT \"%s\": valid for %lld more day(s)", name, r->expires, left / 86400);
}

/* ---- in-bailiwick ---- */

/* The addresses of ns (inside zone) as server answers them: authoritative A/AAAA (*below empty), or
 * the glue of a referral to a zone below (*below that zone, *next one of its servers: from the
 * referral's glue, else resolved by a walk; next->len 0 when none). */
static int ns_where(struct check_ctx *c, const struct check_addr *server, const char *ns, char *below,
                    struct check_addr *next, struct check_answer *a, char (*addrs)[CHECK_ADDR_TEXT], int max)
{
	int n = 0;
	char refns[4][CHECK_NAME_TEXT], err[160];
	int nref = 0;
	below[0] = 0;
	next->len = 0;
	static const uint16_t types[] = {RR_A, RR_AAAA};
	for (size_t t = 0; t < 2; t++) {
		if (check_ask(c, server, ns, types[t], 0, a) < 0)
			continue;
		for (int i = 0; i < a->nrr; i++) {
			const struct check_rr *rr = &a->rr[i];
			if (!a->aa && rr->section == CHECK_AUTHORITY && rr->type == RR_NS &&
			    check_name_in(ns, rr->owner)) {
				check_copy(below, CHECK_NAME_TEXT, rr->owner);
				if (nref < 4)
					check_copy(refns[nref++], CHECK_NAME_TEXT, rr->data);
			}
		}
		for (int i = 0; i < a->nrr; i++) {
			const struct check_rr *rr = &a->rr[i];
			if (rr->type != types[t] || rr->section == CHECK_AUTHORITY)
				continue;
			if (n < max && check_name_eq(rr->owner, ns) &&
			    ((a->aa && rr->section == CHECK_ANSWER) || (!a->aa && rr->section == CHECK_ADDITIONAL)))
				check_copy(addrs[n++], CHECK_ADDR_TEXT, rr->data);
			for (int k = 0; !a->aa && rr->type == RR_A && k < nref && next->len == 0; k++)
				if (check_name_eq(rr->owner, refns[k]) &&
				    check_addr_parse(rr->data, 53, next, err, sizeof(err)) < 0)
					next->len = 0;
		}
	}
	if (below[0] && next->len == 0 && nref > 0 && check_ns_addrs(c, refns[0], 1, next, 1) < 1)
		next->len = 0;
	return n;
}

/* Whether zone (asked at server) has an in-domain NS that, if it lies in a delegated child, leads to
 * one there too, recursively. why gets the chain that failed. */
static bool inb_zone(struct check_ctx *c, const char *zone, const struct check_addr *server, int depth,
                     struct check_answer *a, char *why, size_t cap)
{
	if (depth > INB_DEPTH) {
		snprintf(why, cap, "delegations nested more than %d deep below the domain", INB_DEPTH);
		return false;
	}
	if (check_ask(c, server, zone, RR_NS, 0, a) < 0 || !a->aa) {
		snprintf(why, cap, "%s gave no authoritative NS set for %.120s", server->text, zone);
		return false;
	}
	char names[CHECK_MAXNS][CHECK_NAME_TEXT];
	int n = 0;
	for (int i = 0; i < a->nrr && n < CHECK_MAXNS; i++)
		if (a->rr[i].section == CHECK_ANSWER && a->rr[i].type == RR_NS && check_name_eq(a->rr[i].owner, zone) &&
		    check_name_in(a->rr[i].data, zone))
			check_copy(names[n++], CHECK_NAME_TEXT, a->rr[i].data);
	if (n == 0) {
		snprintf(why, cap, "%.120s has no NS inside itself", zone);
		return false;
	}
	for (int i = 0; i < n; i++) {
		char below[CHECK_NAME_TEXT], addrs[4][CHECK_ADDR_TEXT];
		struct check_addr next;
		int na = ns_where(c, server, names[i], below, &next, a, addrs, 4);
		if (!below[0] || check_name_eq(below, zone)) {
			if (na > 0)
				return true;
			snprintf(why, cap, "%.120s, a name server of %.120s, has no address", names[i], zone);
			continue;
		}
		if (next.len == 0) {
			snprintf(why, cap, "no server of %.120s (delegated below %.120s) has an address", below, zone);
			continue;
		}
		if (inb_zone(c, below, &next, depth + 1, a, why, cap))
			return true;
	}
	return false;
}

static void rule_in_bailiwick(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r,
                              struct hints_seen *s, struct hints_rule *rule)
{
	if (!s->reached || !s->have_ns || r->nchild_ns == 0) {
		say(rule, HINTS_FAIL, "the NS set of %s not read: %s", o->domain,
		    s->reached ? "no authoritative NS answer" : s->why);
		return;
	}
	struct check_answer *a = malloc(sizeof(*a));
	if (!a) {
		say(rule, HINTS_FAIL, "not checked: out of memory");
		return;
	}
	char outside[512] = "";
	for (int i = 0; i < r->nchild_ns; i++) {
		const char *ns = r->child_ns[i];
		if (!check_name_in(ns, o->domain)) {
			snprintf(outside + strlen(outside), sizeof(outside) - strlen(outside), " %s", ns);
			continue;
		}
		char below[CHECK_NAME_TEXT], addrs[4][CHECK_ADDR_TEXT], why[320] = "";
		struct check_addr next;
		int na = ns_where(c, &s->server, ns, below, &next, a, addrs, 4);
		bool delegated = below[0] && !check_name_eq(below, o->domain);
		if (delegated && (next.len == 0 || !inb_zone(c, below, &next, 1, a, why, sizeof(why)))) {
			say(rule, HINTS_PASS, "%s lies in %s, delegated below %s, which fails the rule: %s", ns, below,
			    o->domain, next.len ? why : "no server of it has an address");
			continue;
		}
		if (na == 0) {
			say(rule, HINTS_PASS, "%s lies inside %s but has no address there", ns, o->domain);
			continue;
		}
		for (int k = 0; k < na && r->ninb < CHECK_MAXNS; k++) {
			check_copy(r->inb[r->ninb].name, CHECK_NAME_TEXT, ns);
			check_copy(r->inb[r->ninb++].addr, CHECK_ADDR_TEXT, addrs[k]);
		}
		say(rule, HINTS_PASS, "%s lies inside %s%s%s (%s)", ns, o->domain, below[0] ? ", in " : "",
		    below[0] ? below : "", addrs[0]);
	}
	free(a);
	if (r->ninb == 0) {
		rule->status = HINTS_FAIL;
		say(rule, HINTS_FAIL,
		    "no usable name server of %s lies inside it (NS outside:%s): the domain depends on "
		    "servers it does not control",
		    o->domain, outside[0] ? outside : " none");
	}
}

/* ---- dnssec ---- */

/* Whether an RRSIG in a over name/type verifies now with one of keys (only pinned ones when
 * pinned_only); why says why not. */
bool hints_set_verifies(const struct check_answer *a, const char *name, uint16_t type, struct dnssec_key **keys,
                        const bool *pinned, int nkeys, bool pinned_only, long long now, uint8_t *buf, size_t cap,
                        char *why, size_t whycap)
{
	uint8_t owner[NAME_MAXLEN];
	struct dnssec_rrset set;
	char tname[16];
	rrtext_type_to_text(type, tname, sizeof(tname));
	if (name_from_text(owner, name, NULL) < 0 || check_answer_set(a, owner, name, type, buf, cap, &set) < 0) {
		snprintf(why, whycap, "%s %s not read", name, tname);
		return false;
	}
	struct dnssec_scratch scratch;
	dnssec_scratch_init(&scratch);
	bool ok = false;
	int sigs = 0;
	snprintf(why, whycap, "%s %s carries no RRSIG%s", name, tname, pinned_only ? " by the pinned key" : "");
	for (int i = 0; i < a->nrr && !ok; i++) {
		const struct check_rr *rr = &a->rr[i];
		uint8_t sig[2048];
		size_t len;
		char err[256];
		struct dnssec_rrsig f;
		if (rr->section != CHECK_ANSWER || rr->type != RR_RRSIG || !check_name_eq(rr->owner, name) ||
		    rrtext_rdata_from_text(owner, owner, RR_RRSIG, rr->data, sig, sizeof(sig), &len, err, sizeof(err)) <
		        0 ||
		    dnssec_rrsig_parse(sig, len, &f) < 0 || f.covered != type)
			continue;
		for (int k = 0; k < nkeys && !ok; k++) {
			if ((pinned_only && !pinned[k]) || dnssec_key_tag(keys[k]) != f.key_tag)
				continue;
			sigs++;
			if (dnssec_verify(keys[k], &set, sig, len, now, &scratch, err, sizeof(err)) == 0)
				ok = true;
			else
				snprintf(why, whycap, "the RRSIG over %s %s by key %u does not verify: %s", name, tname,
				         f.key_tag, err);
		}
	}
	dnssec_scratch_free(&scratch);
	return ok;
}

const struct check_rr *hints_set_cut(const struct check_answer *a, const char *name, uint16_t type)
{
	for (int i = 0; i < a->nrr; i++) {
		const struct check_rr *rr = &a->rr[i];
		if (rr->cut && rr->section == CHECK_ANSWER && (rr->type == type || rr->type == RR_RRSIG) &&
		    check_name_eq(rr->owner, name))
			return rr;
	}
	return NULL;
}

/* True when the DS text names this DNSKEY (tag, algorithm) with its digest. */
bool hints_ds_matches(const uint8_t *owner, const char *ds_text, const uint8_t *key, size_t keylen)
{
	uint8_t ds[128], want[128];
	size_t dslen;
	char err[256];
	if (rrtext_rdata_from_text(owner, owner, RR_DS, ds_text, ds, sizeof(ds), &dslen, err, sizeof(err)) < 0 ||
	    dslen < 4 || (int)(ds[0] << 8 | ds[1]) != dnssec_keytag(key, keylen) || ds[2] != key[3])
		return false;
	int n = dnssec_ds_validate(owner, key, keylen, ds[3], want, sizeof(want), err, sizeof(err));
	return n > 0 && (size_t)n == dslen && memcmp(want, ds, dslen) == 0;
}

static void rule_dnssec(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r, struct hints_seen *s,
                        struct hints_rule *rule)
{
	(void)c;
	struct dnssec_key *keys[CHECK_MAXVALUES];
	bool pinned[CHECK_MAXVALUES];
	int nkeys = 0;
	uint8_t owner[NAME_MAXLEN], *buf = NULL;
	if (!s->reached || !s->have_dnskey) {
		say(rule, HINTS_FAIL, "the DNSKEY set of %s not read: %s", o->domain,
		    s->reached ? "no authoritative answer" : s->why);
		return;
	}
	if (name_from_text(owner, o->domain, NULL) < 0 || !(buf = malloc(65536))) {
		say(rule, HINTS_FAIL, "not checked: out of memory");
		return;
	}
	for (int i = 0; i < s->dnskey.nrr && nkeys < CHECK_MAXVALUES; i++) {
		const struct check_rr *rr = &s->dnskey.rr[i];
		uint8_t key[4096];
		size_t len;
		char err[256];
		if (rr->section != CHECK_ANSWER || rr->type != RR_DNSKEY || !check_name_eq(rr->owner, o->domain))
			continue;
		if (rr->cut) {
			say(rule, HINTS_WARN, "a DNSKEY of %s not verified: too long to read %s", o->domain, rr->data);
			continue;
		}
		if (rrtext_rdata_from_text(owner, owner, RR_DNSKEY, rr->data, key, sizeof(key), &len, err,
		                           sizeof(err)) < 0 ||
		    len < 4 || dnssec_key_from_dnskey(key, len, &keys[nkeys], err, sizeof(err)) < 0) {
			say(rule, HINTS_WARN, "a DNSKEY of %s not usable: %.200s", o->domain, err);
			continue;
		}
		struct hints_key *k = &r->keys[r->nkeys++];
		k->tag = dnssec_keytag(key, len);
		k->flags = (uint16_t)(key[0] << 8 | key[1]);
		k->algorithm = key[3];
		k->ttl = rr->ttl;
		check_copy(k->rdata, sizeof(k->rdata), rr->data);
		for (int d = 0; d < r->nds && !k->ds_match; d++)
			k->ds_match = hints_ds_matches(owner, r->parent_ds[d], key, len);
		bool ksk = (k->flags & 0x0001) && !(k->flags & 0x0080);
		k->pinned =
		    ksk && (o->trust_tag >= 0 ? k->tag == o->trust_tag : k->ds_match && r->chain == HINTS_CHAIN_SECURE);
		pinned[nkeys++] = k->pinned;
	}
	bool any_pinned = false;
	for (int k = 0; k < nkeys; k++)
		any_pinned |= pinned[k];
	char why[320];
	if (r->chain == HINTS_CHAIN_SECURE)
		say(rule, HINTS_PASS, "%s", r->chain_why);
	else if (r->chain != HINTS_CHAIN_NONE && o->trust_tag >= 0)
		say(rule, HINTS_WARN, "%s; the KSK is pinned by --trust instead", r->chain_why);
	else if (r->chain == HINTS_CHAIN_INSECURE)
		say(rule, HINTS_WARN, "%s", r->chain_why);
	else if (r->chain == HINTS_CHAIN_BOGUS || r->chain == HINTS_CHAIN_UNVERIFIED)
		say(rule, HINTS_FAIL, "%s", r->chain_why);
	const struct check_rr *cut_key = hints_set_cut(&s->dnskey, o->domain, RR_DNSKEY);
	if (nkeys == 0 && cut_key && cut_key->type == RR_DNSKEY) {
		say(rule, HINTS_FAIL,
		    "no DNSKEY of %s could be read (too long): it is signed, but not verified, so nothing to pin",
		    o->domain);
	} else if (nkeys == 0) {
		say(rule, HINTS_FAIL, "%s publishes no DNSKEY: it is unsigned, and in-tree hints need a trust anchor",
		    o->domain);
	} else if (!any_pinned) {
		if (o->trust_tag >= 0)
			say(rule, HINTS_FAIL, "no KSK (SEP flag, not revoked) of %s has key tag %d (--trust)",
			    o->domain, o->trust_tag);
		else if (r->nds && r->chain != HINTS_CHAIN_SECURE)
			say(rule, HINTS_FAIL,
			    "%s's DS for %s does not validate from the root trust anchor: nothing to pin without "
			    "--trust KEYTAG",
			    r->parent, o->domain);
		else if (r->nds)
			say(rule, HINTS_FAIL, "no KSK of %s matches the parent's DS: nothing to pin", o->domain);
		else
			say(rule, HINTS_FAIL,
			    "%s: no DS at the parent and no --trust KEYTAG: nothing says which KSK to pin", o->domain);
	} else if (!hints_set_verifies(&s->dnskey, o->domain, RR_DNSKEY, keys, pinned, nkeys, true, o->now, buf, 65536,
	                               why, sizeof(why))) {
		if (cut_key)
			say(rule, HINTS_FAIL,
			    "the DNSKEY set not verified from the pinned key: its %s %s is too long to read",
			    cut_key->type == RR_RRSIG ? "RRSIG" : "DNSKEY", cut_key->data);
		else
			say(rule, HINTS_FAIL, "the DNSKEY set does not validate from the pinned key: %s", why);
	} else {
		for (int k = 0; k < r->nkeys; k++)
			if (r->keys[k].pinned)
				say(rule, HINTS_PASS, "KSK %d (algorithm %u) signs the DNSKEY set; pinned %s",
				    r->keys[k].tag, r->keys[k].algorithm,
				    o->trust_tag >= 0 ? "by --trust" : "as the parent's validated DS names it");
		char txtname[CHECK_NAME_TEXT + 16];
		snprintf(txtname, sizeof(txtname), "_in-tree.%s", o->domain);
		struct {
			const struct check_answer *a;
			const char *name;
			uint16_t type;
			bool have;
		} sets[] = {{&s->soa, o->domain, RR_SOA, s->have_soa},
		            {&s->ns, o->domain, RR_NS, s->have_ns},
		            {&s->txt, txtname, RR_TXT,
		             s->have_txt && check_answer_find(&s->txt, CHECK_ANSWER, txtname, RR_TXT)}};
		for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
			if (sets[i].have && !hints_set_verifies(sets[i].a, sets[i].name, sets[i].type, keys, pinned,
			                                        nkeys, false, o->now, buf, 65536, why, sizeof(why))) {
				const struct check_rr *cut = hints_set_cut(sets[i].a, sets[i].name, sets[i].type);
				char tname[RRTEXT_TYPE_MAXLEN];
				if (cut) {
					rrtext_type_to_text(cut->type, tname, sizeof(tname));
					say(rule, HINTS_FAIL,
					    "%s's set of the type asked not verified: its %s %s is too long to read",
					    sets[i].name, tname, cut->data);
				} else {
					say(rule, HINTS_FAIL, "%s", why);
				}
			}
		say(rule, HINTS_PASS, "%s", AGE_UNJUDGED);
	}
	for (int k = 0; k < nkeys; k++)
		dnssec_key_free(keys[k]);
	free(buf);
}

/* ---- consistency ---- */
static bool listed(const char (*names)[CHECK_NAME_TEXT], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (check_name_eq(names[i], name))
			return true;
	return false;
}

static void rule_consistency(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r,
                             struct hints_seen *s, struct hints_rule *rule)
{
	(void)c;
	if (!r->delegated) {
		say(rule, HINTS_WARN, "%s has no delegation: %s answers %s for it (withdrawn, or never made)",
		    o->domain, r->parent, r->parent_rcode == 3 ? "NXDOMAIN" : "without a referral");
		return;
	}
	if (!s->reached || !s->have_ns) {
		say(rule, HINTS_FAIL, "the child's NS set not read: %s",
		    s->reached ? "no authoritative answer" : s->why);
		return;
	}
	for (int i = 0; i < r->nparent_ns; i++)
		if (!listed(r->child_ns, r->nchild_ns, r->parent_ns[i]))
			say(rule, HINTS_WARN, "parent-only name: %s lists %s for %s; the zone does not", r->parent,
			    r->parent_ns[i], o->domain);
	for (int i = 0; i < r->nchild_ns; i++)
		if (!listed(r->parent_ns, r->nparent_ns, r->child_ns[i]))
			say(rule, HINTS_WARN, "child-only name: %s lists %s; %s does not", o->domain, r->child_ns[i],
			    r->parent);
	uint8_t owner[NAME_MAXLEN];
	bool any = false;
	for (int d = 0; d < r->nds && name_from_text(owner, o->domain, NULL) >= 0; d++) {
		bool m = false;
		for (int k = 0; k < s->dnskey.nrr && !m; k++) {
			const struct check_rr *rr = &s->dnskey.rr[k];
			uint8_t key[4096];
			size_t len;
			char err[256];
			m = rr->section == CHECK_ANSWER && rr->type == RR_DNSKEY &&
			    rrtext_rdata_from_text(owner, owner, RR_DNSKEY, rr->data, key, sizeof(key), &len, err,
			                           sizeof(err)) == 0 &&
			    hints_ds_matches(owner, r->parent_ds[d], key, len);
		}
		any |= m;
		if (!m)
			say(rule, HINTS_WARN, "DS without a matching DNSKEY: %s's DS %.120s", r->parent,
			    r->parent_ds[d]);
	}
	const struct check_rr *cut = s->have_dnskey ? hints_set_cut(&s->dnskey, o->domain, RR_DNSKEY) : NULL;
	if (r->nds && !any && cut && cut->type == RR_DNSKEY) /* the DS may name the key not read */
		say(rule, HINTS_FAIL,
		    "no DS of %s matches a DNSKEY of %s read; one DNSKEY was not verified: too long to read %s",
		    r->parent, o->domain, cut->data);
	else if (r->nds && !any)
		say(rule, HINTS_FAIL, "no DS of %s matches a DNSKEY of %s: validators above it see the zone bogus",
		    r->parent, o->domain);
	if (!r->nds && s->have_dnskey && check_answer_find(&s->dnskey, CHECK_ANSWER, o->domain, RR_DNSKEY))
		say(rule, HINTS_WARN, "%s holds no DS for %s, which is signed: the delegation is insecure", r->parent,
		    o->domain);
	if (rule->nreasons == 0)
		say(rule, HINTS_PASS, "%s's NS and DS agree with %s's NS and DNSKEY", r->parent, o->domain);
}

/* The rules, in the order they are reported. */
static const struct {
	const char *name;
	void (*run)(struct check_ctx *, const struct hints_opts *, struct hints_report *, struct hints_seen *,
	            struct hints_rule *);
} RULES[HINTS_NRULES] = {
    {"txt", rule_txt},
    {"in-bailiwick", rule_in_bailiwick},
    {"dnssec", rule_dnssec},
    {"consistency", rule_consistency},
};

int hints_check(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r)
{
	struct check_report *keep = r->check;
	memset(r, 0, sizeof(*r));
	r->check = keep;
	check_copy(r->domain, sizeof(r->domain), o->domain);
	struct check_walk *w = malloc(sizeof(*w));
	struct hints_seen *s = calloc(1, sizeof(*s));
	if (!w || !s) {
		free(w);
		free(s);
		return TERN_ENOMEM;
	}
	if (read_parent(c, o, r, w) == 0) {
		struct check_walk *dsw = r->delegated ? malloc(sizeof(*dsw)) : NULL;
		if (dsw)
			read_ds(c, o, r, dsw);
		free(dsw);
		hints_chain_validate(c, o, r);
		read_child(c, o, r, w, s);
	} else {
		snprintf(s->why, sizeof(s->why), "the walk from the root to %s failed", o->domain);
		if (o->nservers) {
			w->nservers = 0;
			read_child(c, o, r, w, s);
		}
	}
	for (int i = 0; i < HINTS_NRULES; i++) {
		r->rules[i].name = RULES[i].name;
		RULES[i].run(c, o, r, s, &r->rules[i]);
	}
	free(w);
	free(s);
	return 0;
}

enum hints_status hints_worst(const struct hints_report *r)
{
	enum hints_status worst = HINTS_PASS;
	for (int i = 0; i < HINTS_NRULES; i++)
		if (r->rules[i].status > worst)
			worst = r->rules[i].status;
	return worst;
}

const char *hints_status_name(enum hints_status s)
{
	return s == HINTS_FAIL ? "fail" : s == HINTS_WARN ? "warn" : "pass";
}

void hints_ksk_age(struct hints_report *r, int tag, long long published_at, long long add_holddown, long long now)
{
	struct hints_rule *rule = &r->rules[2];
	for (int i = 0; i < rule->nreasons; i++) {
		if (strcmp(rule->reasons[i], AGE_UNJUDGED) != 0)
			continue;
		long long age = now - published_at;
		bool young = published_at <= 0 || age < add_holddown;
		snprintf(rule->reasons[i], sizeof(rule->reasons[i]),
		         "KSK %d was published %lld s ago (ternd's key journal)%s the RFC 5011 add hold-down of %lld s",
		         tag, published_at > 0 ? age : 0, young ? ", within" : ", beyond", add_holddown);
		if (young && rule->status < HINTS_WARN)
			rule->status = HINTS_WARN;
		return;
	}
}