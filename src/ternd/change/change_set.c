/* The pieces of a write: the next serial, RRset changes as zone_apply() input with the server's
 * SOA, and the changes that turn a zone into an imported zone file. No server state is touched
 * here (tests/fuzz/fuzz_api_import.c drives it alone). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "ternd/change/change.h"

uint32_t change_next_serial(uint32_t cur, enum store_serial_policy policy, time_t now)
{
	if (policy == STORE_SERIAL_INCREMENT)
		return cur + 1 ? cur + 1 : 1;
	struct tm tm;
	gmtime_r(&now, &tm);
	uint32_t base =
	    (uint32_t)(tm.tm_year + 1900) * 1000000u + (uint32_t)(tm.tm_mon + 1) * 10000u + (uint32_t)tm.tm_mday * 100u;
	return cur < base ? base : cur + 1; /* past nn = 99 the serial runs ahead of the date */
}

void change_rrsets_free(struct change_rrset *ch, size_t n)
{
	for (size_t i = 0; ch && i < n; i++) {
		free((void *)ch[i].rdata);
		free((void *)ch[i].ttls);
	}
	free(ch);
}

int change_set_make(const struct zone *cur, const struct change_rrset *ch, size_t n, uint32_t serial,
                    struct change_set *out)
{
	memset(out, 0, sizeof(*out));
	struct zone_change *all = calloc(n + 1, sizeof(*all));
	size_t *from = calloc(n + 1, sizeof(*from));
	if (!all || !from) {
		free(all);
		free(from);
		return TERN_ENOMEM;
	}
	const uint8_t *base = cur->soa->rdata;
	uint32_t soa_ttl = cur->soa->ttl;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (ch[i].type == RR_SOA && ch[i].count == 1) {
			base = ch[i].rdata;
			soa_ttl = ch[i].ttl;
			continue;
		}
		/* the owner is taken from ch[i] here, where ch stays put until the set is freed */
		from[m] = i;
		all[m++] = (struct zone_change){.owner = ch[i].owner,
		                                .type = ch[i].type,
		                                .ttl = ch[i].ttl,
		                                .count = ch[i].count,
		                                .rdata = ch[i].rdata,
		                                .rdata_size = ch[i].rdata_size,
		                                .ttls = ch[i].ttls};
	}
	size_t soalen = rdata_len(base);
	memcpy(out->soa, base, 2 + soalen);
	wire_put32(out->soa + 2 + rr_soa_serial_offset(out->soa + 2), serial);
	from[m] = CHANGE_NO_INDEX;
	all[m++] = (struct zone_change){.owner = cur->apex,
	                                .type = RR_SOA,
	                                .ttl = soa_ttl,
	                                .count = 1,
	                                .rdata = out->soa,
	                                .rdata_size = (uint32_t)(2 + soalen)};
	out->all = all;
	out->from = from;
	out->n = m;
	return 0;
}

void change_set_free(struct change_set *s)
{
	free(s->all);
	free(s->from);
	s->all = NULL;
	s->from = NULL;
	s->n = 0;
}

/* Appends one change: grows the array (nothing points into it); a put copies the RRset of type at
 * node (for RRSIG every signature at the name, each with its TTL: zone_node_change()). */
static int push(struct change_rrset **ch, size_t *n, size_t *cap, const struct zone_node *node, uint16_t type, bool put)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct change_rrset *grown = realloc(*ch, ncap * sizeof(*grown));
		if (!grown)
			return TERN_ENOMEM;
		*ch = grown;
		*cap = ncap;
	}
	struct change_rrset *x = &(*ch)[*n];
	*x = (struct change_rrset){.type = type};
	memcpy(x->owner, node->owner, node->owner_len);
	if (put) {
		struct zone_change c;
		int rc = zone_node_change(node, type, &c);
		if (rc < 0)
			return rc;
		x->ttl = c.ttl;
		x->count = c.count;
		x->rdata = c.rdata;
		x->rdata_size = c.rdata_size;
		x->ttls = c.ttls;
	}
	(*n)++;
	return 0;
}

int change_import(const struct zone *cur, const struct zone *imp, struct change_rrset **out, size_t *nout)
{
	const struct zone_node **old = NULL, **nodes = NULL;
	size_t no = 0, nn = 0, n = 0, cap = 0;
	struct change_rrset *ch = NULL;
	*out = NULL;
	*nout = 0;
	int rc = zone_nodes_sorted(cur, &old, &no);
	if (rc == 0)
		rc = zone_nodes_sorted(imp, &nodes, &nn);
	/* deletions for RRsets that disappear, then every RRset of the file (SOA excepted: the
	 * server keeps its own, with the next serial) */
	for (size_t i = 0; rc == 0 && i < no; i++) {
		const struct zone_node *in = zone_find(imp, old[i]->owner, old[i]->owner_len);
		for (uint16_t k = 0; rc == 0 && k < old[i]->nrrsets; k++) {
			const struct rrset *rs = &old[i]->rrsets[k];
			if (k > 0 && rs[-1].type == rs->type)
				continue; /* RRSIG: every group at the name is one change */
			if (rs->type != RR_SOA && !(in && zone_node_rrset(in, rs->type)))
				rc = push(&ch, &n, &cap, old[i], rs->type, false);
		}
	}
	for (size_t i = 0; rc == 0 && i < nn; i++) {
		for (uint16_t k = 0; rc == 0 && k < nodes[i]->nrrsets; k++) {
			const struct rrset *rs = &nodes[i]->rrsets[k];
			if (k > 0 && rs[-1].type == rs->type)
				continue; /* RRSIG: every group at the name is one change */
			if (rs->type != RR_SOA)
				rc = push(&ch, &n, &cap, nodes[i], rs->type, true);
		}
	}
	free(old);
	free(nodes);
	if (rc < 0) {
		change_rrsets_free(ch, n);
		return rc;
	}
	*out = ch;
	*nout = n;
	return 0;
}

struct delta {
	struct change_rrset *ch;
	size_t n, cap;
};

/* One name that differs: deletions for the RRsets it lost, then every RRset it holds (those put
 * back as they were are the caller's to drop); SOA left out, as in change_import(). */
static int delta_name(void *arg, const struct zone_node *old, const struct zone_node *now)
{
	struct delta *d = arg;
	int rc = 0;
	for (uint16_t k = 0; old && rc == 0 && k < old->nrrsets; k++) {
		const struct rrset *rs = &old->rrsets[k];
		if (k > 0 && rs[-1].type == rs->type)
			continue; /* RRSIG: every group at the name is one change */
		if (rs->type != RR_SOA && !(now && zone_node_rrset(now, rs->type)))
			rc = push(&d->ch, &d->n, &d->cap, old, rs->type, false);
	}
	for (uint16_t k = 0; now && rc == 0 && k < now->nrrsets; k++) {
		const struct rrset *rs = &now->rrsets[k];
		if (k > 0 && rs[-1].type == rs->type)
			continue;
		if (rs->type != RR_SOA)
			rc = push(&d->ch, &d->n, &d->cap, now, rs->type, true);
	}
	return rc;
}

int change_import_delta(const struct zone *base, const struct zone *imp, struct change_rrset **out, size_t *nout)
{
	struct delta d = {0};
	*out = NULL;
	*nout = 0;
	int rc = zone_changed_nodes(base, imp, delta_name, &d);
	if (rc < 0) {
		change_rrsets_free(d.ch, d.n);
		return rc;
	}
	*out = d.ch;
	*nout = d.n;
	return 0;
}
