/* Who gets the answer (UDP): DNS cookies required for large answers (RFC 7873 5.2.3), then response
 * rate limiting (the BIND/Knot model) with its slip; and the per-thread guard both read. The
 * bucket table is rrl.c; the cookie itself is judged in edns.c. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ternd/base/config.h"
#include "ternd/base/stats.h"
#include "ternd/ns/ns.h"
#include "ternd/ns/rrl.h"

struct query_guard *query_guard_new(size_t rrl_entries, unsigned share)
{
	struct query_guard *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	if (rrl_entries) {
		uint64_t seed;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		/* the set a key lands in need not be secret, only not known in advance to a client */
		seed = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)g;
		g->rrl = rrl_table_new(rrl_entries, share, seed);
		if (!g->rrl) {
			free(g);
			return NULL;
		}
	}
	query_guard_tick(g);
	return g;
}

void query_guard_free(struct query_guard *g)
{
	if (!g)
		return;
	rrl_table_free(g->rrl);
	explicit_bzero(g, sizeof(*g)); /* cookie keys */
	free(g);
}

void query_guard_tick(struct query_guard *g)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	g->now = (uint32_t)ts.tv_sec;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	g->now_ms = (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* Kinds of response, each its own bucket (as BIND's RRL): answers per name and type; NXDOMAIN, no
 * data and referrals per zone; errors per client prefix alone. */
enum rrl_kind { RRL_ANSWER = 1, RRL_NXDOMAIN, RRL_NODATA, RRL_REFERRAL, RRL_ERROR };

static enum rrl_kind response_kind(const struct query *q)
{
	if (q->rcode == RCODE_NXDOMAIN)
		return RRL_NXDOMAIN;
	if (q->rcode != RCODE_NOERROR)
		return RRL_ERROR;
	if (q->count[SEC_ANSWER])
		return RRL_ANSWER;
	return q->aa ? RRL_NODATA : RRL_REFERRAL;
}

static inline uint64_t load_be64(const uint8_t *a)
{
	uint64_t v;
	memcpy(&v, a, 8);
	return __builtin_bswap64(v);
}

/* The client's prefix (ipv4-prefix or ipv6-prefix bits; an IPv4-mapped IPv6 address counts as
 * IPv4) in two words, IPv4 and IPv6 apart, and its family (4 or 6). Returns false for another
 * family. */
static bool client_prefix(const struct query *q, uint64_t *hi, uint64_t *lo, unsigned *family)
{
	const struct sockaddr *sa = q->client->addr;
	const struct ns_params *pa = q->params;
	if (sa->sa_family == AF_INET) {
		*hi = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) & pa->rrl_v4_mask;
		*lo = 4;
		*family = 4;
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	uint64_t w0 = load_be64(a), w1 = load_be64(a + 8);
	if (w0 == 0 && w1 >> 32 == 0xffff) { /* ::ffff:a.b.c.d */
		*hi = (w1 & 0xffffffffu) & pa->rrl_v4_mask;
		*lo = 4;
		*family = 4;
		return true;
	}
	*family = 6;
	*hi = w0 & pa->rrl_v6_mask[0];
	*lo = (w1 & pa->rrl_v6_mask[1]) ^ 6; /* apart from every IPv4 prefix */
	return true;
}

/* The hash of the zone answered from, from the question's suffix hashes; 0 when none. */
static uint32_t zone_hash(const struct query *q)
{
	if (!q->zone || !q->qname_len || q->zone->apex_labels > q->qlabels)
		return 0;
	return q->qhashes[q->qlabels - q->zone->apex_labels];
}

/* responses-per-second for this answer: its zone's own (rrl.zones), else the server's. */
static uint32_t response_rate(const struct query *q)
{
	const struct ns_params *pa = q->params;
	if (pa->nrrl_zones && q->zone) {
		for (size_t i = 0; i < pa->nrrl_zones; i++) {
			const uint8_t *apex = pa->rrl_zones[i].apex;
			if (name_len(apex) == q->zone->apex_len && memcmp(apex, q->zone->apex, q->zone->apex_len) == 0)
				return pa->rrl_zones[i].rate;
		}
	}
	return pa->rrl_rate;
}

/* Leaves the header and the question (and our OPT, written after). */
static void strip_answer(struct query *q, size_t question_end)
{
	q->w.pos = question_end;
	q->count[SEC_ANSWER] = q->count[SEC_AUTHORITY] = q->count[SEC_ADDITIONAL] = 0;
	q->aa = false;
}

bool ns_limit(struct query *q, unsigned opcode, size_t question_end)
{
	const struct ns_params *pa = q->params;
	if (q->client->proto != PROTO_UDP)
		return true;
	/* RFC 7873 5.2.3 and 5.4: a large answer needs a valid server cookie; a client that sent a
	 * cookie gets BADCOOKIE with a fresh one to ask again with, one that sent none TC=1 (BIND's
	 * require-server-cookie) */
	if (pa->cookies && pa->cookie_require && !q->cookie_valid && !q->tc && q->w.pos > pa->cookie_require) {
		strip_answer(q, question_end);
		if (q->cookie_back)
			q->rcode = RCODE_BADCOOKIE;
		else
			q->tc = true;
	}
	/* Not limited: a valid server cookie or a verified TSIG (the address is not spoofed), and
	 * other opcodes than QUERY (a primary's NOTIFYs for many zones must not be dropped) */
	struct rrl_table *t = q->client->guard->rrl;
	if (!pa->rrl || !t || q->cookie_valid || opcode != OPCODE_QUERY || q->tsig.state == NS_TSIG_VERIFIED)
		return true;
	uint64_t hi, lo;
	unsigned family;
	if (!q->client->addr || !client_prefix(q, &hi, &lo, &family))
		return true;
	enum rrl_kind kind = response_kind(q);
	uint64_t name = 0;
	if (kind == RRL_ANSWER && q->qname_len)
		name = (uint64_t)q->qhashes[0] << 16 | q->qtype;
	else if (kind != RRL_ERROR)
		name = zone_hash(q);
	/* one 64-bit key of prefix, name and kind, never 0 (kind is not): rrl_take mixes it with the
	 * table's seed to pick a set */
	uint64_t key = (hi * 0xc2b2ae3d27d4eb4full ^ lo ^ name) << 3 | kind;
	uint32_t window = pa->rrl_window;
	if (rrl_take(t, key, q->client->guard->now_ms, response_rate(q), window, pa->rrl_debit))
		return true;
	/* over the limit: unless the network is exempt */
	if (pa->nrrl_whitelist &&
	    config_prefix_match(pa->xfr_allow + pa->nxfr_allow, pa->nrrl_whitelist, q->client->addr))
		return true;
	struct stats_block *st = q->client->stats;
	if (st) {
		stats_bump(&st->rrl_limited);
		/* for /healthz's top limited prefixes: the prefix itself (lo less its family mark) */
		if (family == 4)
			stats_rrl_prefix(st, q->client->guard->now, 4, (unsigned)__builtin_popcount(pa->rrl_v4_mask),
			                 hi, 0);
		else
			stats_rrl_prefix(st, q->client->guard->now, 6,
			                 (unsigned)(__builtin_popcountll(pa->rrl_v6_mask[0]) +
			                            __builtin_popcountll(pa->rrl_v6_mask[1])),
			                 hi, lo ^ 6);
	}
	if (pa->rrl_log_only)
		return true;
	if (rrl_slip(t, pa->rrl_slip)) {
		/* truncated, no records: a real client asks again over TCP */
		strip_answer(q, question_end);
		q->tc = true;
		if (st)
			stats_bump(&st->rrl_slipped);
		return true;
	}
	if (st)
		stats_bump(&st->rrl_dropped);
	return false;
}
