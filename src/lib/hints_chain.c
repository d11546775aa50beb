/* tern hints: the chain of trust from the root's anchor down to the parent's DS for a domain (each
 * zone's DNSKEY set under the DS above it, each DS set under its zone's DNSKEY set), and the anchor file. */
#include <errno.h>
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

#define CHAIN_MAXZONES 16
#define CHAIN_SERVERS 4

int hints_anchor_load(const char *path, struct hints_anchor *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return TERN_EIO;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	uint8_t root[NAME_MAXLEN];
	name_from_text(root, ".", NULL);
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		char *semi = strchr(line, ';');
		if (semi)
			*semi = 0;
		char *save = NULL, *tok[4] = {0}, *p = line;
		int n = 0;
		/* owner, then TTL and class in either order (both optional), then the type */
		while (n < 4 && (tok[n] = strtok_r(p, " \t\r\n", &save))) {
			p = NULL;
			n++;
			if (n > 1 && strcasecmp(tok[n - 1], "IN") != 0 &&
			    strspn(tok[n - 1], "0123456789") != strlen(tok[n - 1]))
				break;
		}
		if (n == 0)
			continue;
		const char *type = tok[n - 1];
		char *rdata = save ? save : (char *)"";
		if (strcmp(tok[0], ".") != 0) {
			snprintf(err, errlen, "%s line %d: owner %.60s: a root trust anchor's owner is \".\"", path,
			         lineno, tok[0]);
			rc = TERN_EINVAL;
			break;
		}
		bool ds = strcasecmp(type, "DS") == 0;
		if (n < 2 || (!ds && strcasecmp(type, "DNSKEY") != 0)) {
			snprintf(err, errlen, "%s line %d: type %.20s: expected DS or DNSKEY", path, lineno,
			         n < 2 ? "(none)" : type);
			rc = TERN_EINVAL;
			break;
		}
		uint8_t wire[2048];
		size_t len;
		char why[256];
		rdata[strcspn(rdata, "\r\n")] = 0;
		if (rrtext_rdata_from_text(root, root, ds ? RR_DS : RR_DNSKEY, rdata, wire, sizeof(wire), &len, why,
		                           sizeof(why)) < 0) {
			snprintf(err, errlen, "%s line %d: %s RDATA: %s", path, lineno, type, why);
			rc = TERN_EINVAL;
			break;
		}
		int *count = ds ? &a->nds : &a->ndnskey;
		if (*count == HINTS_ANCHOR_MAX) {
			snprintf(err, errlen, "%s line %d: more than %d %s records", path, lineno, HINTS_ANCHOR_MAX,
			         type);
			rc = TERN_EINVAL;
			break;
		}
		if (ds)
			check_copy(a->ds[(*count)++], sizeof(a->ds[0]), rdata);
		else
			check_copy(a->dnskey[(*count)++], sizeof(a->dnskey[0]), rdata);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = TERN_EIO;
	}
	fclose(f);
	if (rc == 0 && a->nds + a->ndnskey == 0) {
		snprintf(err, errlen, "%s: no DS or DNSKEY record for \".\"", path);
		rc = TERN_EINVAL;
	}
	return rc;
}

/* One zone of the chain: its name and servers. */
struct chain_zone {
	char name[CHECK_NAME_TEXT];
	struct check_addr servers[CHAIN_SERVERS];
	int nservers;
};

/* What the validation carries from one zone to the next: the DS set (text) trusted for it. */
struct chain_state {
	char ds[CHECK_MAXVALUES][CHECK_RDATA_TEXT];
	int nds;
	struct check_answer a; /* scratch for each answer */
	uint8_t buf[65536];
};

/* Asks the zone's servers (DO) for name/type until one answers authoritatively; 0 or TERN_EIO. */
static int ask_zone(struct check_ctx *c, const struct chain_zone *z, const char *name, uint16_t type,
                    struct check_answer *a)
{
	for (int i = 0; i < z->nservers; i++)
		if (check_ask(c, &z->servers[i], name, type, CHECK_DO, a) == 0 && a->aa && a->rcode == 0)
			return 0;
	return TERN_EIO;
}

/* Not verified, not bogus: what the chain needs arrived too long to read (cut). */
static void unverified(struct hints_report *r, const char *zone, const struct check_rr *cut)
{
	char tname[RRTEXT_TYPE_MAXLEN];
	rrtext_type_to_text(cut->type, tname, sizeof(tname));
	snprintf(r->chain_why, sizeof(r->chain_why),
	         "not verified at %.100s: its %s %.100s is too long to read %.40s (Tern reads records of up to %d "
	         "characters: RSA keys up to 4,096 bits)",
	         zone, tname, cut->owner, cut->data, CHECK_RR_TEXT - 1);
	r->chain = HINTS_CHAIN_UNVERIFIED;
}

static void bogus(struct hints_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bogus(struct hints_report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->chain_why, sizeof(r->chain_why), fmt, ap);
	va_end(ap);
	r->chain = HINTS_CHAIN_BOGUS;
}

/* Verifies z's DNSKEY set under a key the trusted DS set (or, at the root, the anchor's DNSKEYs)
 * names; on success keys[] holds the set's keys (*nkeys). false with r->chain_why set otherwise. */
static bool zone_keys(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r,
                      const struct chain_zone *z, const char *above, struct chain_state *st, struct dnssec_key **keys,
                      int *nkeys)
{
	uint8_t owner[NAME_MAXLEN];
	bool use[CHECK_MAXVALUES] = {0}, any = false;
	bool root = strcmp(z->name, ".") == 0;
	*nkeys = 0;
	if (name_from_text(owner, z->name, NULL) < 0 || ask_zone(c, z, z->name, RR_DNSKEY, &st->a) < 0) {
		bogus(r, "DNSKEY set of %s not read from its servers with DO", z->name);
		return false;
	}
	char tags[160] = "";
	for (int i = 0; i < st->a.nrr && *nkeys < CHECK_MAXVALUES; i++) {
		const struct check_rr *rr = &st->a.rr[i];
		uint8_t key[4096];
		size_t len;
		char err[256];
		if (rr->section != CHECK_ANSWER || rr->type != RR_DNSKEY || !check_name_eq(rr->owner, z->name) ||
		    rrtext_rdata_from_text(owner, owner, RR_DNSKEY, rr->data, key, sizeof(key), &len, err,
		                           sizeof(err)) < 0 ||
		    len < 4 || dnssec_key_from_dnskey(key, len, &keys[*nkeys], err, sizeof(err)) < 0)
			continue;
		bool named = false;
		for (int d = 0; d < st->nds && !named; d++)
			named = hints_ds_matches(owner, st->ds[d], key, len);
		for (int d = 0; root && o->anchor && d < o->anchor->ndnskey && !named; d++) {
			uint8_t want[4096];
			size_t wlen;
			named = rrtext_rdata_from_text(owner, owner, RR_DNSKEY, o->anchor->dnskey[d], want,
			                               sizeof(want), &wlen, err, sizeof(err)) == 0 &&
			        wlen == len && memcmp(want, key, len) == 0;
		}
		snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags), " %d", dnssec_keytag(key, len));
		use[*nkeys] = named;
		any |= named;
		(*nkeys)++;
	}
	const struct check_rr *cut = hints_set_cut(&st->a, z->name, RR_DNSKEY);
	if ((*nkeys == 0 || !any) && cut) {
		unverified(r, z->name, cut);
		return false;
	}
	if (*nkeys == 0) {
		bogus(r, "%s publishes no usable DNSKEY (answer from its servers with DO)", z->name);
		return false;
	}
	if (!any) {
		bogus(r, "DNSKEY set of %s (tags%s) has no key that %s names: the chain of trust breaks at %s", z->name,
		      tags, root ? "the root trust anchor" : above, z->name);
		return false;
	}
	char why[320];
	if (!hints_set_verifies(&st->a, z->name, RR_DNSKEY, keys, use, *nkeys, true, o->now, st->buf, sizeof(st->buf),
	                        why, sizeof(why))) {
		if (cut) {
			unverified(r, z->name, cut);
			return false;
		}
		bogus(r, "DNSKEY set of %s does not verify under the key %s names: %s", z->name,
		      root ? "the root trust anchor" : above, why);
		return false;
	}
	return true;
}

/* The DS set for child read from z (DO) and verified under z's keys into st->ds; false with
 * r->chain set (bogus, or insecure when z holds no DS for child). */
static bool child_ds(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r,
                     const struct chain_zone *z, const char *child, struct chain_state *st, struct dnssec_key **keys,
                     int nkeys)
{
	st->nds = 0;
	if (ask_zone(c, z, child, RR_DS, &st->a) < 0) {
		bogus(r, "DS for %s not read from %s's servers with DO", child, z->name);
		return false;
	}
	for (int i = 0; i < st->a.nrr && st->nds < CHECK_MAXVALUES; i++) {
		const struct check_rr *rr = &st->a.rr[i];
		if (rr->section == CHECK_ANSWER && rr->type == RR_DS && check_name_eq(rr->owner, child))
			check_copy_rdata(st->ds[st->nds++], CHECK_RDATA_TEXT, rr->data);
	}
	if (st->nds == 0) {
		snprintf(r->chain_why, sizeof(r->chain_why),
		         "%s holds no DS for %s: the delegation is insecure, so nothing below it is validated", z->name,
		         child);
		r->chain = HINTS_CHAIN_INSECURE;
		return false;
	}
	char why[320];
	if (!hints_set_verifies(&st->a, child, RR_DS, keys, NULL, nkeys, false, o->now, st->buf, sizeof(st->buf), why,
	                        sizeof(why))) {
		const struct check_rr *cut = hints_set_cut(&st->a, child, RR_DS);
		if (cut) {
			unverified(r, z->name, cut);
			return false;
		}
		bogus(r, "DS for %s from %s: %s (%s's DNSKEY set)", child, z->name, why, z->name);
		return false;
	}
	return true;
}

void hints_chain_validate(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r)
{
	r->chain = HINTS_CHAIN_NONE;
	r->chain_why[0] = 0;
	if (!r->delegated || !r->parent[0])
		return;
	if (!o->anchor) {
		bogus(r, "no root trust anchor: the DS of %s cannot be validated", o->domain);
		return;
	}
	struct chain_zone *zones = calloc(CHAIN_MAXZONES, sizeof(*zones));
	struct check_walk *w = malloc(sizeof(*w));
	struct chain_state *st = calloc(1, sizeof(*st));
	struct dnssec_key *keys[CHECK_MAXVALUES];
	int nz = 0, nkeys = 0;
	if (!zones || !w || !st) {
		bogus(r, "not validated: out of memory");
		goto done;
	}
	/* the zones from the parent up to the root, each found by a walk to its apex */
	check_copy(zones[nz].name, CHECK_NAME_TEXT, r->parent);
	for (;;) {
		struct chain_zone *z = &zones[nz];
		if (check_walk(c, z->name, RR_DNSKEY, 0, w) < 0 || !check_name_eq(w->zone, z->name)) {
			bogus(r, "the servers of %s not found by a walk from the root", z->name);
			goto done;
		}
		for (int i = 0; i < w->nservers && z->nservers < CHAIN_SERVERS; i++)
			z->servers[z->nservers++] = w->servers[i].addr;
		if (z->nservers == 0) {
			bogus(r, "no server of %s has an address", z->name);
			goto done;
		}
		nz++;
		if (strcmp(z->name, ".") == 0)
			break;
		if (nz == CHAIN_MAXZONES) {
			bogus(r, "more than %d zones between the root and %s", CHAIN_MAXZONES, r->parent);
			goto done;
		}
		check_copy(zones[nz].name, CHECK_NAME_TEXT, w->parent[0] ? w->parent : ".");
	}
	/* down from the anchor */
	for (int d = 0; d < o->anchor->nds; d++)
		check_copy(st->ds[st->nds++], CHECK_RDATA_TEXT, o->anchor->ds[d]);
	char passed[300] = "";
	for (int i = nz - 1; i >= 0; i--) {
		const char *above = i == nz - 1 ? "." : zones[i + 1].name;
		char what[CHECK_NAME_TEXT + 16];
		snprintf(what, sizeof(what), "the DS %s holds", above);
		if (!zone_keys(c, o, r, &zones[i], what, st, keys, &nkeys))
			goto done;
		const char *child = i == 0 ? o->domain : zones[i - 1].name;
		bool ok = child_ds(c, o, r, &zones[i], child, st, keys, nkeys);
		for (int k = 0; k < nkeys; k++)
			dnssec_key_free(keys[k]);
		nkeys = 0;
		if (!ok)
			goto done;
		snprintf(passed + strlen(passed), sizeof(passed) - strlen(passed), "%s%s", passed[0] ? " -> " : "",
		         zones[i].name);
	}
	/* secure: the validated DS set is the one the rules use */
	r->chain = HINTS_CHAIN_SECURE;
	snprintf(r->chain_why, sizeof(r->chain_why),
	         "the DS set of %.120s validates from the root trust anchor (%.200s)", o->domain, passed);
	r->nds = 0;
	for (int d = 0; d < st->nds; d++)
		check_copy(r->parent_ds[r->nds++], CHECK_RDATA_TEXT, st->ds[d]);
done:
	for (int k = 0; k < nkeys; k++)
		dnssec_key_free(keys[k]);
	free(zones);
	free(w);
	free(st);
}
