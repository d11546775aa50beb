/* tern geo render-knot: a zone's dynamic answers (lib/dyn.h) as Knot DNS 3.2 mod-geoip configuration
 * for Knot PoPs: the zone file with each resource's default answer, one mod-geoip instance per mode
 * and TTL (subnet for geo resources, weighted for weighted ones) and the knot.conf lines using them. */
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

#define MAX_INSTANCES 32 /* distinct (mode, TTL) pairs in one zone */
#define MAX_LIST 1024 /* pools in one list (dyn.c's MAX_POOLS) */
#define KNOT_WEIGHT_MAX 255u /* Knot reads a view's weight as 8 bits */
#define KNOT_TOTAL_MAX 65535u /* and a name's total as 16 */

enum { MODE_SUBNET, MODE_WEIGHTED };
static const char *const mode_name[] = {"subnet", "weighted"};

/* One mod-geoip instance: its file, written as resources come. */
struct instance {
	int mode;
	uint32_t ttl;
	char id[1200], path[PATH_MAX];
	FILE *f;
};

struct render {
	const char *zone, *dir; /* the zone as given; dir made absolute */
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

/* The instance file for (mode, ttl), opened on first use; NULL (said why) when it cannot be. */
static struct instance *instance(struct render *g, int mode, uint32_t ttl)
{
	for (int i = 0; i < g->ninst; i++)
		if (g->inst[i].mode == mode && g->inst[i].ttl == ttl)
			return &g->inst[i];
	if (g->ninst == MAX_INSTANCES) {
		fprintf(stderr, "tern: more than %d distinct TTLs of dynamic resources in one mode\n",
		        MAX_INSTANCES / 2);
		return NULL;
	}
	struct instance *in = &g->inst[g->ninst];
	*in = (struct instance){.mode = mode, .ttl = ttl};
	snprintf(in->id, sizeof(in->id), "%s-%s-%u", g->zone, mode_name[mode], (unsigned)ttl);
	if (snprintf(in->path, sizeof(in->path), "%s/%s.%s-%u.geoip", g->dir, g->zone, mode_name[mode],
	             (unsigned)ttl) >= (int)sizeof(in->path)) {
		fprintf(stderr, "tern: --dir %s: the path is too long\n", g->dir);
		return NULL;
	}
	in->f = fopen(in->path, "w");
	if (!in->f) {
		fprintf(stderr, "tern: cannot write %s: %s\n", in->path, strerror(errno));
		return NULL;
	}
	fprintf(in->f, "# mod-geoip %s mode, ttl %u: written by tern geo render-knot %s\n", mode_name[mode],
	        (unsigned)ttl, g->zone);
	g->ninst++;
	return in;
}

/* ---- what the resource answers when every member is up ---- */

static uint16_t type_of(int f)
{
	return f ? RR_AAAA : RR_A;
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

/* The pool a client matched by entry (-1: none) gets for type: the entry's list unless it has no
 * member of the type (then the answer list, dyn.h step 1). */
static int entry_answer(const struct dyn_resource *r, int entry, uint16_t type)
{
	int list[MAX_LIST], n = 0;
	if (entry >= 0) {
		n = dyn_entry_list(r, entry, list, MAX_LIST);
		int p = list_answer(r, list, n < MAX_LIST ? n : MAX_LIST, type);
		if (p >= 0)
			return p;
	}
	n = dyn_answer_list(r, list, MAX_LIST);
	return dyn_serves(r, type) ? list_answer(r, list, n < MAX_LIST ? n : MAX_LIST, type) : -1;
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

static int cover(struct render *g, uint8_t family, uint8_t *addr, int len, int owner)
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
		int rc = cover(g, family, addr, len + 1, owner);
		addr[len / 8] |= (uint8_t)(0x80 >> (len % 8));
		if (rc == 0)
			rc = cover(g, family, addr, len + 1, owner);
		addr[len / 8] &= (uint8_t) ~(0x80 >> (len % 8));
		return rc;
	}
	char a[INET6_ADDRSTRLEN];
	addr_text(family, addr, a, sizeof(a));
	fprintf(g->f, "  - net: %s/%d\n", a, len);
	for (int f = 0; f < 2; f++) {
		int pool = entry_answer(r, owner, type_of(f));
		if (pool >= 0)
			write_rrs(g->f, r, pool, type_of(f), -1);
	}
	return 0;
}

/* Warnings for what a rendering leaves out of one list: the pools after those answering when
 * every member is up, which ternd fails over to when monitors take the answering pool's members
 * down (Knot has no health), and weights in a subnet mode view. */
static void check_list(struct render *g, const char *what, const int *list, int n, bool subnet)
{
	const struct dyn_resource *r = g->r;
	int used[2] = {list_answer(r, list, n, RR_A), list_answer(r, list, n, RR_AAAA)};
	bool monitored =
	    (used[0] >= 0 && dyn_pool_monitored(r, used[0])) || (used[1] >= 0 && dyn_pool_monitored(r, used[1]));
	for (int i = 0; i < n; i++) {
		if (list[i] != used[0] && list[i] != used[1]) {
			if (monitored)
				warn(g,
				     "%s: pool \"%s\" is not rendered (Knot has no failover: only the first pool "
				     "answering each type is)",
				     what, dyn_pool_name(r, list[i]));
		} else if (subnet && dyn_pool_weighted(r, list[i])) {
			warn(g,
			     "%s: weighted pool \"%s\" is rendered with all its members (Knot's subnet mode has no "
			     "weights)",
			     what, dyn_pool_name(r, list[i]));
		}
	}
}

static int render_subnet(struct render *g)
{
	const struct dyn_resource *r = g->r;
	int list[MAX_LIST], n = dyn_answer_list(r, list, MAX_LIST);
	check_list(g, "answer", list, n < MAX_LIST ? n : MAX_LIST, true);
	for (int i = 0; i < dyn_entry_count(r); i++) {
		struct dyn_entry_view e;
		char what[80], a[INET6_ADDRSTRLEN];
		dyn_entry(r, i, &e);
		addr_text(e.family, e.addr, a, sizeof(a));
		snprintf(what, sizeof(what), "geo %s/%u", a, e.prefix);
		n = dyn_entry_list(r, i, list, MAX_LIST);
		check_list(g, what, list, n < MAX_LIST ? n : MAX_LIST, true);
		if (e.prefix > (e.family == 1 ? DYN_ECS_V4_MAX : DYN_ECS_V6_MAX))
			warn(g,
			     "%s: longer than /%d: ternd matches a Client Subnet by its first %d bits at most, Knot by "
			     "the whole address the resolver sent",
			     what, e.family == 1 ? DYN_ECS_V4_MAX : DYN_ECS_V6_MAX,
			     e.family == 1 ? DYN_ECS_V4_MAX : DYN_ECS_V6_MAX);
	}
	fprintf(g->f, "%s:\n", g->owner);
	for (uint8_t family = 1; family <= 2; family++) {
		uint8_t addr[16] = {0};
		int rc = cover(g, family, addr, 0, -1);
		if (rc < 0)
			return rc;
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
	family_choices(r, RR_A, &c[0]);
	family_choices(r, RR_AAAA, &c[1]);
	int list[MAX_LIST], n = dyn_answer_list(r, list, MAX_LIST);
	check_list(g, "answer", list, n < MAX_LIST ? n : MAX_LIST, false);
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
			write_rrs(g->f, r, c[f].pool, type_of(f), dyn_pool_weighted(r, c[f].pool) ? pick : -1);
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
	int mode = -1;
	if (dyn_entry_count(r) > 0)
		mode = MODE_SUBNET;
	for (int f = 0; f < 2 && mode < 0; f++) {
		int pool = entry_answer(r, -1, type_of(f));
		if (pool >= 0 && dyn_pool_weighted(r, pool))
			mode = MODE_WEIGHTED;
	}
	if (mode < 0) { /* the same answer for every client: the zone file's records are it */
		int list[MAX_LIST], n = dyn_answer_list(r, list, MAX_LIST);
		check_list(g, "answer", list, n < MAX_LIST ? n : MAX_LIST, false);
		goto out;
	}
	struct instance *in = instance(g, mode, rs->ttl);
	if (!in) {
		rc = TERN_EIO;
		goto out;
	}
	g->f = in->f;
	rc = mode == MODE_SUBNET ? render_subnet(g) : render_weighted(g);
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
		for (int i = 0; i < g->ninst; i++)
			fprintf(f, "  - id: %s\n    config-file: \"%s\"\n    mode: %s\n    ttl: %u\n", g->inst[i].id,
			        g->inst[i].path, mode_name[g->inst[i].mode], (unsigned)g->inst[i].ttl);
	}
	fprintf(f, "zone:\n  - domain: %s.\n    file: \"%s\"\n", g->zone, zonefile);
	if (g->ninst) {
		fprintf(f, "    module: [");
		for (int i = 0; i < g->ninst; i++)
			fprintf(f, "%s mod-geoip/%s", i ? "," : "", g->inst[i].id);
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
	struct render g = {.zone = zname, .dir = absdir};
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
    {"dir", 1, "--dir DIR   where the files go (default: the current directory)"},
    {NULL, 0, NULL},
};

const struct cli_cmd cmd_geo[] = {
    {"geo", "render-knot", "ZONE [--dir DIR]", "write the zone's dynamic answers as Knot mod-geoip configuration",
     "Writes into DIR: ZONE.zone (each dynamic resource as its default answer), one mod-geoip file per mode\n"
     "and TTL (subnet: geo resources, weighted: weighted ones) and ZONE.knot.conf (edns-client-subnet: on,\n"
     "the mod-geoip instances, the zone using them). What Knot cannot do (monitors, failover to later pools,\n"
     "weights inside geo lists, signed zones) is said on stderr; docs/dynamic-answers.md lists it.",
     1, 1, render_opts, geo_render_knot},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
