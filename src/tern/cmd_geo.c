/* tern geo render-knot: a zone's dynamic answers (lib/dyn.h) as Knot DNS 3.2 mod-geoip configuration
 * for Knot PoPs: the zone file with each resource's default answer, one mod-geoip instance per kind
 * and TTL and the knot.conf lines using them. The kinds, in the order the zone's module chain runs
 * them: subnet (subnet entries), country and continent (geodb mode, one key each), default (subnet
 * mode: the answer list for clients the database does not hold), weighted. A mod-geoip instance
 * that finds no view for the client, or a view without the type asked, leaves the query to the
 * next one and finally to the zone's records, which is how dyn_select()'s rule order is kept. */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/zone.h"
#include "lib/zonefile.h"
#include "tern/cli.h"

#define MAX_INSTANCES 80 /* distinct (kind, TTL) pairs in one zone */
#define MAX_LIST 1024 /* pools in one list (dyn.c's MAX_POOLS) */
#define KNOT_WEIGHT_MAX 255u /* Knot reads a view's weight as 8 bits */
#define KNOT_TOTAL_MAX 65535u /* and a name's total as 16 */

/* Instance kinds, in chain order (dyn_select()'s rules: subnet entries, countries, continents,
 * the answer list); weighted resources have no entries, so their place does not matter. */
enum { KIND_SUBNET, KIND_COUNTRY, KIND_CONTINENT, KIND_DEFAULT, KIND_WEIGHTED, KINDS };
static const char *const kind_name[KINDS] = {"subnet", "country", "continent", "default", "weighted"};
static const char *const kind_mode[KINDS] = {"subnet", "geodb", "geodb", "subnet", "weighted"};
static const char *const kind_key[KINDS] = {NULL, "country/iso_code", "continent/code", NULL, NULL};

/* One mod-geoip instance: its file, written as resources come. */
struct instance {
	int kind;
	uint32_t ttl;
	char id[1200], path[PATH_MAX];
	FILE *f;
};

struct render {
	const char *zone, *dir; /* the zone as given; dir made absolute */
	const char *geodb; /* --geodb: the MaxMind DB file Knot reads (NULL: none given) */
	struct instance inst[MAX_INSTANCES];
	int ninst;
	int warnings;
	/* the resource being rendered */
	const struct dyn_resource *r;
	const char *owner;
	FILE *f;
};

static void warn(struct render *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct render *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "tern: warning: %s: ", g->owner ? g->owner : g->zone);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	g->warnings++;
}

/* The instance file for (kind, ttl), opened on first use; NULL (said why) when it cannot be. */
static struct instance *instance(struct render *g, int kind, uint32_t ttl)
{
	for (int i = 0; i < g->ninst; i++)
		if (g->inst[i].kind == kind && g->inst[i].ttl == ttl)
			return &g->inst[i];
	if (g->ninst == MAX_INSTANCES) {
		fprintf(stderr, "tern: more than %d mod-geoip instances (one per kind and TTL)\n", MAX_INSTANCES);
		return NULL;
	}
	struct instance *in = &g->inst[g->ninst];
	*in = (struct instance){.kind = kind, .ttl = ttl};
	snprintf(in->id, sizeof(in->id), "%s-%s-%u", g->zone, kind_name[kind], (unsigned)ttl);
	if (snprintf(in->path, sizeof(in->path), "%s/%s.%s-%u.geoip", g->dir, g->zone, kind_name[kind],
	             (unsigned)ttl) >= (int)sizeof(in->path)) {
		fprintf(stderr, "tern: --dir %s: the path is too long\n", g->dir);
		return NULL;
	}
	in->f = fopen(in->path, "w");
	if (!in->f) {
		fprintf(stderr, "tern: cannot write %s: %s\n", in->path, strerror(errno));
		return NULL;
	}
	fprintf(in->f, "# mod-geoip %s mode%s%s, ttl %u: written by tern geo render-knot %s\n", kind_mode[kind],
	        kind_key[kind] ? ", key " : "", kind_key[kind] ? kind_key[kind] : "", (unsigned)ttl, g->zone);
	g->ninst++;
	return in;
}

/* ---- what the resource answers when every member is up ---- */

/* The types a resource answers, by slot: A and AAAA, or for a CNAME resource CNAME and none (0,
 * which no resource serves: its views are left out). */
static uint16_t type_of(const struct dyn_resource *r, int f)
{
	if (dyn_serves(r, RR_CNAME))
		return f ? 0 : RR_CNAME;
	return f ? RR_AAAA : RR_A;
}

/* The target a view of a name pool holds: a mod-geoip view holds one CNAME (Knot refuses a second
 * record beside it), so the heaviest name, the first of equals (as the plain export writes it). */
static int heaviest(const struct dyn_member_view *v, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		best = v[i].weight > v[best].weight ? i : best;
	return best;
}

/* Members of pool for type that answer when all are up (weight 0 drains a weighted member). */
static int pool_answering(const struct dyn_resource *r, int pool, uint16_t type, struct dyn_member_view *v)
{
	struct dyn_member_view all[DYN_MAX_MEMBERS];
	int n = dyn_pool_members(r, pool, type, all, DYN_MAX_MEMBERS), k = 0;
	for (int i = 0; i < n; i++)
		if (all[i].weight > 0)
			v[k++] = all[i];
	return k;
}

/* The pool of list answering type when every member is up (dyn_select's failover and fallback
 * with all members live); -1 when no pool of the list has a member of the type. */
static int list_answer(const struct dyn_resource *r, const int *list, int n, uint16_t type)
{
	struct dyn_member_view v[DYN_MAX_MEMBERS];
	for (int i = 0; i < n; i++)
		if (pool_answering(r, list[i], type, v) > 0)
			return list[i];
	for (int i = 0; i < n; i++)
		if (dyn_pool_members(r, list[i], type, v, DYN_MAX_MEMBERS) > 0)
			return list[i];
	return -1;
}

/* Which list a view renders: the answer list, subnet entry i or country/continent entry i. */
enum { LIST_ANSWER, LIST_SUBNET, LIST_CODE };

static int list_of(const struct dyn_resource *r, int which, int i, int *list)
{
	int n = which == LIST_SUBNET ? dyn_entry_list(r, i, list, MAX_LIST)
	        : which == LIST_CODE ? dyn_code_list(r, i, list, MAX_LIST)
	                             : dyn_answer_list(r, list, MAX_LIST);
	return n < MAX_LIST ? n : MAX_LIST;
}

/* The pool a client given list (which, i) gets for type, -1 for NODATA: the list's, unless it has no
 * member of the type, then (own false) the answer list's, dyn.h step 1; with own true, -1 then
 * (the view leaves the type to the next instance of the chain). */
static int view_answer(const struct dyn_resource *r, int which, int i, uint16_t type, bool own)
{
	if (!dyn_serves(r, type))
		return -1;
	int list[MAX_LIST], n = list_of(r, which, i, list);
	int p = list_answer(r, list, n, type);
	if (p >= 0 || own || which == LIST_ANSWER)
		return p;
	n = list_of(r, LIST_ANSWER, 0, list);
	return list_answer(r, list, n, type);
}

/* The pool a client matched by subnet entry (-1: none) gets for type (the answer list's when the
 * entry has no member of the type). */
static int entry_answer(const struct dyn_resource *r, int entry, uint16_t type)
{
	return entry >= 0 ? view_answer(r, LIST_SUBNET, entry, type, false)
	                  : view_answer(r, LIST_ANSWER, 0, type, false);
}

static void addr_text(uint8_t family, const uint8_t *addr, char *out, size_t cap)
{
	inet_ntop(family == 1 ? AF_INET : AF_INET6, addr, out, (socklen_t)cap);
}

/* "    A: [ 192.0.2.1, 192.0.2.2 ]" for the pool's members of type (all of them: Knot has no health). */
static void write_rrs(FILE *f, const struct dyn_resource *r, int pool, uint16_t type, int only)
{
	struct dyn_member_view v[DYN_MAX_MEMBERS];
	int n = pool_answering(r, pool, type, v);
	if (n == 0)
		n = dyn_pool_members(r, pool, type, v, DYN_MAX_MEMBERS);
	if (type == RR_CNAME) { /* Knot follows a view's CNAME in the zone (KNOTD_IN_STATE_FOLLOW) */
		char t[1100];
		if (n > 0 && name_to_text(v[only >= 0 && only < n ? only : heaviest(v, n)].name, t, sizeof(t)) > 0)
			fprintf(f, "    CNAME: %s\n", t);
		return;
	}
	fprintf(f, "    %s: [", type == RR_A ? "A" : "AAAA");
	for (int i = 0, k = 0; i < n; i++) {
		if (only >= 0 && i != only)
			continue;
		char a[INET6_ADDRSTRLEN];
		addr_text(v[i].family, v[i].addr, a, sizeof(a));
		fprintf(f, "%s %s", k++ ? "," : "", a);
	}
	fprintf(f, " ]\n");
}

/* ---- subnet mode: the address space as disjoint blocks ----
 * Each client gets the block holding it, and Knot gives the block's prefix as the ECS scope. The
 * blocks are the entries minus the entries inside them, and the space outside every entry, split
 * into the largest aligned blocks that hold no entry: exactly the prefix dyn_select() gives as
 * scope for a client there (dyn.h), where one catch-all view would give scope 0. */

static bool prefix_has(const uint8_t *net, int len, const uint8_t *addr)
{
	for (int b = 0; b < len; b++)
		if ((net[b / 8] ^ addr[b / 8]) & (0x80 >> (b % 8)))
			return false;
	return true;
}

/* Writes the blocks under addr/len (owner: the entry holding it, -1 none). entries_only: only the
 * blocks an entry holds, each with the types the entry's own list has members of (what the entry
 * leaves goes on down the chain); otherwise every block, as dyn_select() answers it. */
static int cover(struct render *g, uint8_t family, uint8_t *addr, int len, int owner, bool entries_only)
{
	const struct dyn_resource *r = g->r;
	bool inside = false;
	for (int i = 0; i < dyn_entry_count(r); i++) {
		struct dyn_entry_view e;
		dyn_entry(r, i, &e);
		if (e.family != family || !prefix_has(addr, len, e.addr) || e.prefix < len)
			continue;
		if (e.prefix == len)
			owner = i;
		else
			inside = true;
	}
	if (inside) {
		int rc = cover(g, family, addr, len + 1, owner, entries_only);
		addr[len / 8] |= (uint8_t)(0x80 >> (len % 8));
		if (rc == 0)
			rc = cover(g, family, addr, len + 1, owner, entries_only);
		addr[len / 8] &= (uint8_t) ~(0x80 >> (len % 8));
		return rc;
	}
	if (entries_only && owner < 0)
		return 0;
	int pools[2];
	for (int f = 0; f < 2; f++)
		pools[f] = entries_only ? view_answer(r, LIST_SUBNET, owner, type_of(r, f), true)
		                        : entry_answer(r, owner, type_of(r, f));
	if (pools[0] < 0 && pools[1] < 0)
		return 0; /* nothing of its own: the next instance answers */
	char a[INET6_ADDRSTRLEN];
	addr_text(family, addr, a, sizeof(a));
	fprintf(g->f, "  - net: %s/%d\n", a, len);
	for (int f = 0; f < 2; f++)
		if (pools[f] >= 0)
			write_rrs(g->f, r, pools[f], type_of(r, f), -1);
	return 0;
}

/* Warnings for what a rendering leaves out of one list: the pools after those answering when
 * every member is up, which ternd fails over to when monitors take the answering pool's members
 * down (Knot has no health), and weights in a view of a mode without them (mode: "subnet",
 * "geodb"; NULL for weighted mode). */
static void check_list(struct render *g, const char *what, const int *list, int n, const char *mode)
{
	const struct dyn_resource *r = g->r;
	int used[2] = {list_answer(r, list, n, type_of(r, 0)), list_answer(r, list, n, type_of(r, 1))};
	bool monitored =
	    (used[0] >= 0 && dyn_pool_monitored(r, used[0])) || (used[1] >= 0 && dyn_pool_monitored(r, used[1]));
	for (int i = 0; i < n; i++) {
		if (list[i] != used[0] && list[i] != used[1]) {
			if (monitored)
				warn(g,
				     "%s: pool \"%s\" is not rendered (Knot has no failover: only the first pool "
				     "answering each type is)",
				     what, dyn_pool_name(r, list[i]));
		} else if (mode && type_of(r, 0) == RR_CNAME) {
			struct dyn_member_view v[DYN_MAX_MEMBERS];
			if (pool_answering(r, list[i], RR_CNAME, v) > 1)
				warn(g,
				     "%s: name pool \"%s\" is rendered as its heaviest target (Knot's %s mode has no "
				     "weights, and a view holds one CNAME)",
				     what, dyn_pool_name(r, list[i]), mode);
		} else if (mode && dyn_pool_weighted(r, list[i])) {
			warn(
			    g,
			    "%s: weighted pool \"%s\" is rendered with all its members (Knot's %s mode has no weights)",
			    what, dyn_pool_name(r, list[i]), mode);
		}
	}
}

/* The warnings for the subnet entries' lists, and for the answer list (rendered in mode). */
static void check_subnet_lists(struct render *g, const char *answer_mode)
{
	const struct dyn_resource *r = g->r;
	int list[MAX_LIST], n = dyn_answer_list(r, list, MAX_LIST);
	check_list(g, "answer", list, n < MAX_LIST ? n : MAX_LIST, answer_mode);
	for (int i = 0; i < dyn_entry_count(r); i++) {
		struct dyn_entry_view e;
		char what[80], a[INET6_ADDRSTRLEN];
		dyn_entry(r, i, &e);
		addr_text(e.family, e.addr, a, sizeof(a));
		snprintf(what, sizeof(what), "geo %s/%u", a, e.prefix);
		n = dyn_entry_list(r, i, list, MAX_LIST);
		check_list(g, what, list, n < MAX_LIST ? n : MAX_LIST, "subnet");
		if (e.prefix > (e.family == 1 ? DYN_ECS_V4_MAX : DYN_ECS_V6_MAX))
			warn(g,
			     "%s: longer than /%d: ternd matches a Client Subnet by its first %d bits at most, Knot by "
			     "the whole address the resolver sent",
			     what, e.family == 1 ? DYN_ECS_V4_MAX : DYN_ECS_V6_MAX,
			     e.family == 1 ? DYN_ECS_V4_MAX : DYN_ECS_V6_MAX);
	}
}

/* The resource's subnet views into the instance file f (see cover()). */
static int render_subnet(struct render *g, FILE *f, bool entries_only)
{
	g->f = f;
	fprintf(g->f, "%s:\n", g->owner);
	for (uint8_t family = 1; family <= 2; family++) {
		uint8_t addr[16] = {0};
		int rc = cover(g, family, addr, 0, -1, entries_only);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- geodb mode: a country instance, then a continent instance ----
 * Knot's geodb views match a key's value exactly or, written "*", any record the database holds;
 * a view of several keys with "*" before a value is never found by its lookup, so countries and
 * continents get an instance each, one key each, in dyn_select()'s order. A country view without
 * the type asked leaves the query to the next instance, as a list without members of the type
 * stands aside in ternd. The continent instance ends with "*": the answer list for every client
 * the database holds, with the database network's prefix as scope as ternd gives it. */

/* own: a type the list has no member of is left out (the next instance answers it); otherwise the
 * answer list's. */
static void write_code_view(FILE *f, const struct dyn_resource *r, const char *value, int which, int i, bool own)
{
	int pools[2];
	for (int t = 0; t < 2; t++)
		pools[t] = view_answer(r, which, i, type_of(r, t), own);
	if (pools[0] < 0 && pools[1] < 0)
		return;
	fprintf(f, "  - geo: \"%s\"\n", value);
	for (int t = 0; t < 2; t++)
		if (pools[t] >= 0)
			write_rrs(f, r, pools[t], type_of(r, t), -1);
}

static int render_geodb(struct render *g, uint32_t ttl)
{
	const struct dyn_resource *r = g->r;
	for (int kind = KIND_COUNTRY; kind <= KIND_CONTINENT; kind++) {
		bool any = kind == KIND_CONTINENT; /* the continent instance holds the "*" view */
		for (int i = 0; i < dyn_code_count(r) && !any; i++) {
			struct dyn_code_view v;
			dyn_code(r, i, &v);
			any = v.continent == (kind == KIND_CONTINENT);
		}
		if (!any)
			continue;
		struct instance *in = instance(g, kind, ttl);
		if (!in)
			return TERN_EIO;
		fprintf(in->f, "%s:\n", g->owner);
		for (int i = 0; i < dyn_code_count(r); i++) {
			struct dyn_code_view v;
			dyn_code(r, i, &v);
			if (v.continent != (kind == KIND_CONTINENT))
				continue;
			char what[32];
			int list[MAX_LIST], n = list_of(r, LIST_CODE, i, list);
			snprintf(what, sizeof(what), "geo %s %s", v.continent ? "continent" : "country", v.code);
			check_list(g, what, list, n, "geodb");
			/* a continent's list without the type: the answer list's, the next rule (with
			 * the scope of the database network, where the zone's records have none) */
			write_code_view(in->f, r, v.code, LIST_CODE, i, kind == KIND_COUNTRY);
		}
		if (kind == KIND_CONTINENT)
			write_code_view(in->f, r, "*", LIST_ANSWER, 0, true);
	}
	return 0;
}

/* ---- weighted mode: one view per combination of an IPv4 and an IPv6 pick ---- */

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* A family's choices: each live member by weight when its pool is weighted, else all members
 * together (weight 1); none = no records of the type (one empty choice). */
struct choices {
	int pool, n;
	uint64_t w[DYN_MAX_MEMBERS];
};

static void family_choices(const struct dyn_resource *r, uint16_t type, struct choices *c)
{
	c->pool = entry_answer(r, -1, type);
	c->n = 1;
	c->w[0] = 1;
	if (c->pool < 0 || !dyn_pool_weighted(r, c->pool))
		return;
	struct dyn_member_view v[DYN_MAX_MEMBERS];
	c->n = pool_answering(r, c->pool, type, v);
	for (int i = 0; i < c->n; i++)
		c->w[i] = v[i].weight;
	if (c->n == 0) { /* every weight 0: dyn_select answers the first member */
		c->n = 1;
		c->w[0] = 1;
	}
}

static int render_weighted(struct render *g)
{
	const struct dyn_resource *r = g->r;
	struct choices c[2];
	family_choices(r, type_of(r, 0), &c[0]);
	family_choices(r, type_of(r, 1), &c[1]);
	int list[MAX_LIST], n = dyn_answer_list(r, list, MAX_LIST);
	check_list(g, "answer", list, n < MAX_LIST ? n : MAX_LIST, NULL);
	/* the views' weights: products, reduced, then scaled into Knot's 8-bit view and 16-bit total */
	uint64_t w[DYN_MAX_MEMBERS * DYN_MAX_MEMBERS], g_all = 0, max = 0, sum = 0;
	int nv = c[0].n * c[1].n;
	for (int i = 0; i < nv; i++) {
		w[i] = c[0].w[i / c[1].n] * c[1].w[i % c[1].n];
		g_all = gcd(g_all, w[i]);
	}
	if (g_all == 0) /* cannot be: every choice weighs at least 1 */
		g_all = 1;
	for (int i = 0; i < nv; i++) {
		w[i] /= g_all;
		max = w[i] > max ? w[i] : max;
		sum += w[i];
	}
	if (max > KNOT_WEIGHT_MAX || sum > KNOT_TOTAL_MAX) {
		double k = (double)KNOT_WEIGHT_MAX / (double)max,
		       kt = (double)(KNOT_TOTAL_MAX - (uint64_t)nv) / (double)sum;
		k = kt < k ? kt : k;
		for (int i = 0; i < nv; i++) {
			uint64_t s = (uint64_t)((double)w[i] * k + 0.5);
			w[i] = s ? s : 1;
		}
		warn(g, "weights scaled into Knot's 1 to %u per view (at most %u in all): shares are approximate",
		     KNOT_WEIGHT_MAX, KNOT_TOTAL_MAX);
	}
	fprintf(g->f, "%s:\n", g->owner);
	for (int i = 0; i < nv; i++) {
		fprintf(g->f, "  - weight: %llu\n", (unsigned long long)w[i]);
		for (int f = 0; f < 2; f++) {
			if (c[f].pool < 0)
				continue;
			int pick = f ? i % c[1].n : i / c[1].n;
			write_rrs(g->f, r, c[f].pool, type_of(r, f), dyn_pool_weighted(r, c[f].pool) ? pick : -1);
		}
	}
	return 0;
}

/* ---- the zone ---- */

/* Owner names as Knot's configuration parser takes them as keys. */
static bool owner_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.' || *s == '*'))
			return false;
	return true;
}

static int render_node(struct render *g, const struct zone_node *node)
{
	const struct rrset *rs = zone_node_rrset(node, RR_DYN);
	const struct dyn_resource *r = rs ? dyn_rrset_resource(rs) : NULL;
	if (!r)
		return 0;
	char owner[1100];
	if (name_to_text(node->owner, owner, sizeof(owner)) < 0)
		return TERN_ENAME;
	g->r = r;
	g->owner = owner;
	int rc = 0;
	if (!owner_ok(owner)) {
		warn(g, "a name Knot's module configuration cannot hold: not rendered (Knot answers the default)");
		goto out;
	}
	for (int p = 0; p < dyn_pool_count(r); p++)
		if (dyn_pool_monitored(r, p)) {
			warn(g,
			     "pool \"%s\": monitors are not rendered (Knot answers every member whatever its health)",
			     dyn_pool_name(r, p));
		}
	bool subnets = dyn_entry_count(r) > 0, codes = dyn_code_count(r) > 0;
	if (codes) {
		/* subnet entries (only the blocks they answer), countries, continents and "*", then for
		 * clients the database does not hold the answer list by subnet block */
		check_subnet_lists(g, subnets ? "subnet" : "geodb");
		if (subnets)
			warn(g,
			     "subnet and country/continent entries: for a client no subnet entry answers, Knot's ECS "
			     "scope is the database network's prefix alone, ternd's also covers the subnet entries "
			     "(longer when one lies inside that network)");
		warn(g,
		     "clients the database does not hold: Knot's ECS scope is %s, ternd's covers the database's "
		     "empty block around the client (render-knot does not read the database)",
		     subnets ? "the subnet block's around the client" : "0 (the zone's records)");
		struct instance *in = NULL;
		if (subnets && !(in = instance(g, KIND_SUBNET, rs->ttl)))
			rc = TERN_EIO;
		if (rc == 0 && in)
			rc = render_subnet(g, in->f, true);
		if (rc == 0)
			rc = render_geodb(g, rs->ttl);
		if (rc == 0 && subnets && !(in = instance(g, KIND_DEFAULT, rs->ttl)))
			rc = TERN_EIO;
		if (rc == 0 && subnets)
			rc = render_subnet(g, in->f, false);
		goto out;
	}
	if (subnets) {
		check_subnet_lists(g, "subnet");
		struct instance *in = instance(g, KIND_SUBNET, rs->ttl);
		rc = in ? render_subnet(g, in->f, false) : TERN_EIO;
		goto out;
	}
	bool weighted = false;
	for (int f = 0; f < 2; f++) {
		int pool = entry_answer(r, -1, type_of(r, f));
		weighted |= pool >= 0 && dyn_pool_weighted(r, pool);
	}
	if (!weighted) { /* the same answer for every client: the zone file's records are it */
		int list[MAX_LIST], n = dyn_answer_list(r, list, MAX_LIST);
		check_list(g, "answer", list, n < MAX_LIST ? n : MAX_LIST, NULL);
		goto out;
	}
	struct instance *in = instance(g, KIND_WEIGHTED, rs->ttl);
	if (!in) {
		rc = TERN_EIO;
		goto out;
	}
	g->f = in->f;
	rc = render_weighted(g);
out:
	g->owner = NULL;
	return rc;
}

static int write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	bool written = f && fwrite(text, 1, len, f) == len;
	if (f && fclose(f) != 0)
		written = false;
	if (!written) {
		fprintf(stderr, "tern: cannot write %s: %s\n", path, strerror(errno));
		return CLI_EUSAGE;
	}
	printf("wrote %s\n", path);
	return CLI_OK;
}

/* The knot.conf lines: server-wide ECS, the instances, the zone using them. */
static int write_conf(struct render *g, const char *zonefile)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s.knot.conf", g->dir, g->zone) >= (int)sizeof(path)) {
		fprintf(stderr, "tern: --dir %s: the path is too long\n", g->dir);
		return CLI_EUSAGE;
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "tern: cannot write %s: %s\n", path, strerror(errno));
		return CLI_EUSAGE;
	}
	fprintf(f, "# Knot DNS 3.2 with knot-module-geoip: the dynamic answers of %s (tern geo render-knot)\n",
	        g->zone);
	fprintf(f, "server:\n    edns-client-subnet: on # without it Knot ignores the Client Subnet\n");
	if (g->ninst) {
		fprintf(f, "mod-geoip:\n");
		for (int i = 0; i < g->ninst; i++) {
			const struct instance *in = &g->inst[i];
			fprintf(f, "  - id: %s\n    config-file: \"%s\"\n    mode: %s\n    ttl: %u\n", in->id, in->path,
			        kind_mode[in->kind], (unsigned)in->ttl);
			if (kind_key[in->kind])
				fprintf(f, "    geodb-file: \"%s\"\n    geodb-key: %s\n", g->geodb, kind_key[in->kind]);
		}
	}
	fprintf(f, "zone:\n  - domain: %s.\n    file: \"%s\"\n", g->zone, zonefile);
	if (g->ninst) { /* the chain: kinds in order (a resource's instances share its TTL) */
		fprintf(f, "    module: [");
		for (int kind = 0, k = 0; kind < KINDS; kind++)
			for (int i = 0; i < g->ninst; i++)
				if (g->inst[i].kind == kind)
					fprintf(f, "%s mod-geoip/%s", k++ ? "," : "", g->inst[i].id);
		fprintf(f, " ]\n");
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "tern: cannot write %s: %s\n", path, strerror(errno));
		return CLI_EUSAGE;
	}
	printf("wrote %s\n", path);
	return CLI_OK;
}

static int geo_render_knot(struct cli *cli, const struct cli_args *a)
{
	char **dir = cli_opt_last(a, "dir"), absdir[PATH_MAX], zname[1100], zonefile[PATH_MAX];
	uint8_t apex[NAME_MAXLEN];
	static char err[8192];
	if (name_from_text(apex, a->pos[0], NULL) < 0)
		return cli_usage_error(cli, "\"%s\" is not a zone name", a->pos[0]);
	name_lower(apex);
	name_to_text(apex, zname, sizeof(zname));
	if (strlen(zname) > 1)
		zname[strlen(zname) - 1] = 0; /* files and ids without the root's dot */
	char **geodb = cli_opt_last(a, "geodb");
	if (geodb) { /* written into knot.conf as a quoted string: Knot wants a full path */
		bool plain = geodb[0][0] == '/';
		for (const char *c = geodb[0]; *c && plain; c++)
			plain = *c != '"' && *c != '\\' && (unsigned char)*c >= 0x20 && *c != 0x7f;
		if (!plain)
			return cli_usage_error(
			    cli,
			    "--geodb %s: expected a full path without quotes, backslashes or control "
			    "characters",
			    geodb[0]);
	}
	if (!realpath(dir ? dir[0] : ".", absdir)) {
		fprintf(stderr, "tern: --dir %s: %s\n", dir ? dir[0] : ".", strerror(errno));
		return CLI_EUSAGE;
	}
	struct client_response res;
	char *path = CLIENT_PATH("zones", a->pos[0], "export");
	int rc = cli_call(cli, "GET", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	struct zone *z = NULL;
	char *plain = NULL;
	size_t plain_len = 0;
	if (zonefile_load_string(res.body, res.len, "the API's export", apex, &z, err, sizeof(err)) < 0) {
		fprintf(stderr, "tern: the export of %s does not load: %s\n", a->pos[0], err);
		rc = CLI_EAPI;
		goto out;
	}
	struct render g = {.zone = zname, .dir = absdir, .geodb = geodb ? geodb[0] : NULL};
	if (zone_signed(z))
		warn(&g, "the zone is DNSSEC-signed: Knot signs module answers only with keys it holds (the module's "
		         "`dnssec` and `policy`) and advises manual ZSK rollover with mod-geoip; ternd's automatic "
		         "rollovers do not reach them");
	const struct zone_node **nodes = NULL;
	size_t nn = 0;
	if (zone_nodes_sorted(z, &nodes, &nn) < 0) {
		fprintf(stderr, "tern: out of memory\n");
		rc = CLI_EAPI;
		goto out;
	}
	for (size_t i = 0; i < nn && rc == CLI_OK && !g.geodb; i++) {
		const struct rrset *rs = zone_node_rrset(nodes[i], RR_DYN);
		const struct dyn_resource *r = rs ? dyn_rrset_resource(rs) : NULL;
		char owner[1100];
		if (r && dyn_code_count(r) > 0 && name_to_text(nodes[i]->owner, owner, sizeof(owner)) >= 0) {
			fprintf(stderr,
			        "tern: %s: country and continent entries need --geodb PATH (the MaxMind DB file Knot's "
			        "mod-geoip reads)\n",
			        owner);
			rc = CLI_EUSAGE;
		}
	}
	for (size_t i = 0; i < nn && rc == CLI_OK; i++)
		if (render_node(&g, nodes[i]) < 0)
			rc = CLI_EUSAGE;
	free(nodes);
	for (int i = 0; i < g.ninst; i++) {
		if (fclose(g.inst[i].f) != 0 && rc == CLI_OK) {
			fprintf(stderr, "tern: cannot write %s: %s\n", g.inst[i].path, strerror(errno));
			rc = CLI_EUSAGE;
		}
		if (rc == CLI_OK)
			printf("wrote %s\n", g.inst[i].path);
	}
	if (rc != CLI_OK)
		goto out;
	if (rrtext_export_zone_text_as(z, RRTEXT_EXPORT_PLAIN, &plain, &plain_len, err, sizeof(err)) < 0) {
		fprintf(stderr, "tern: cannot write %s as a plain zone file: %s\n", a->pos[0], err);
		rc = CLI_EUSAGE;
		goto out;
	}
	if (snprintf(zonefile, sizeof(zonefile), "%s/%s.zone", absdir, zname) >= (int)sizeof(zonefile)) {
		fprintf(stderr, "tern: --dir %s: the path is too long\n", absdir);
		rc = CLI_EUSAGE;
		goto out;
	}
	rc = write_file(zonefile, plain, plain_len);
	if (rc == CLI_OK)
		rc = write_conf(&g, zonefile);
	if (rc == CLI_OK && g.warnings)
		fprintf(stderr, "tern: %d warning(s): what Knot answers differently is listed above\n", g.warnings);
out:
	free(plain);
	zone_free(z);
	client_response_clear(&res);
	return rc;
}

static const struct cli_opt render_opts[] = {
    {"dir", 1, "--dir DIR      where the files go (default: the current directory)"},
    {"geodb", 1, "--geodb PATH   the MaxMind DB file Knot reads (full path) for country and continent entries"},
    {NULL, 0, NULL},
};

const struct cli_cmd cmd_geo[] = {
    {"geo", "render-knot", "ZONE [--dir DIR] [--geodb PATH]",
     "write the zone's dynamic answers as Knot mod-geoip configuration",
     "Writes into DIR: ZONE.zone (each dynamic resource as its default answer), one mod-geoip file per kind\n"
     "and TTL (subnet: subnet entries; country and continent: geodb mode on the --geodb file, needed when\n"
     "a resource has country or continent entries; default: for resources with both kinds of entries, the\n"
     "subnet blocks for clients the database does not hold; weighted: weighted resources) and\n"
     "ZONE.knot.conf (edns-client-subnet: on, the mod-geoip instances, the zone using them in that\n"
     "order). What Knot cannot do (monitors, failover to later pools, weights inside geo lists, some ECS\n"
     "scopes, signed zones) is said on stderr; docs/dynamic-answers.md lists it.",
     1, 1, render_opts, geo_render_knot},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
