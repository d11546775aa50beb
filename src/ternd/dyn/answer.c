/* Answer selection: dynamic RRsets resolved by lib/dyn.c for the client (static RRsets pass
 * through answer_select() in answer.h). */
#include "ternd/dyn/answer.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/error.h"

static _Atomic(dyn_health_fn) health_fn;
static void *_Atomic health_ctx;
static _Atomic(dyn_geo_fn) geo_fn;
static void *_Atomic geo_ctx;

void answer_set_geo(dyn_geo_fn fn, void *ctx)
{
	atomic_store(&geo_ctx, ctx);
	atomic_store(&geo_fn, fn);
}

void answer_set_health(dyn_health_fn fn, void *ctx)
{
	atomic_store(&health_ctx, ctx);
	atomic_store(&health_fn, fn);
}

/* xorshift64*: weighted picks need fair, not secret, numbers; one seed per thread. */
static uint32_t next_random(void)
{
	static _Thread_local uint64_t s;
	if (s == 0) {
		if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s) || s == 0)
			s = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&s ^ 0x9e3779b97f4a7c15ull;
	}
	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return (uint32_t)((s * 0x2545f4914f6cdd1dull) >> 32);
}

static inline __attribute__((always_inline)) void client_of(const struct sockaddr *addr, socklen_t addrlen,
                                                            const struct edns_ecs *ecs, struct dyn_client *out)
{
	if (ecs && ecs->source > 0 && (ecs->family == 1 || ecs->family == 2)) {
		/* the option's address has its bits past SOURCE zero (edns_ecs_parse); the caps are
		 * whole octets */
		uint8_t cap = ecs->family == 1 ? DYN_ECS_V4_MAX : DYN_ECS_V6_MAX;
		out->family = (uint8_t)ecs->family;
		memcpy(out->addr, ecs->addr, sizeof(out->addr));
		if (ecs->source > cap)
			memset(out->addr + cap / 8, 0, sizeof(out->addr) - cap / 8);
		out->prefix = ecs->source < cap ? ecs->source : cap;
		return;
	}
	memset(out, 0, sizeof(*out));
	if (addr && addr->sa_family == AF_INET && addrlen >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)addr;
		out->family = 1;
		out->prefix = 32;
		memcpy(out->addr, &in->sin_addr, 4);
	} else if (addr && addr->sa_family == AF_INET6 && addrlen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)addr;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			out->family = 1;
			out->prefix = 32;
			memcpy(out->addr, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			out->family = 2;
			out->prefix = 128;
			memcpy(out->addr, &in6->sin6_addr, 16);
		}
	}
}

void answer_client_of(const struct sockaddr *addr, socklen_t addrlen, const struct edns_ecs *ecs,
                      struct dyn_client *out)
{
	client_of(addr, addrlen, ecs, out);
}

/* The selection for a client: with its explanation when trace is not NULL, and the number of the
 * set signed ahead it answers (dyn.h, "Signed zones") when set is not NULL. Inlined into each
 * caller, so answer_resolve() (every dynamic answer) folds away the tests of trace and set. */
static inline __attribute__((always_inline)) int resolve(const struct answer_client *client, const struct rrset *rs,
                                                         struct answer_rrs *out, struct dyn_trace *trace, int64_t *set)
{
	const struct dyn_resource *r = dyn_rrset_resource(rs);
	if (!r)
		return TERN_ENOTFOUND;
	struct dyn_client cl;
	client_of(client->addr, client->addrlen, client->ecs, &cl);
	/* only a weighted pick, or a signed zone's one live member of a pool, draws */
	uint32_t rnd = set || dyn_weighted(r) ? next_random() : 0;
	/* the registered functions, for a resource that may ask them */
	static const struct dyn_env none;
	struct dyn_env env;
	const struct dyn_env *e = &none;
	if (trace || dyn_external(r)) {
		env = (struct dyn_env){atomic_load(&health_fn), atomic_load(&health_ctx), atomic_load(&geo_fn),
		                       atomic_load(&geo_ctx)};
		e = &env;
	}
	int rc = trace ? dyn_select_geo(r, rs->type, rs->ttl, &cl, e->health, e->health_ctx, e->geo, e->geo_ctx, rnd,
	                                out->dyn.scratch, &out->dyn.rrset, &out->dyn.scope, trace)
	               : dyn_choose(rs, &cl, e, rnd, &out->dyn);
	if (rc < 0)
		return rc;
	if (set)
		*set = dyn_signed_choose(r, &out->dyn.rrset, rnd);
	out->ecs_scope = out->dyn.scope;
	if (client->ecs && client->ecs->source == 0)
		out->ecs_scope = 0; /* RFC 7871 7.1.2: no address given, none depended on */
	out->rrset = &out->dyn.rrset;
	out->ttl = rs->ttl;
	return 0;
}

int answer_resolve_signed(const struct answer_client *client, const struct rrset *rs, struct answer_rrs *out,
                          int64_t *set)
{
	return resolve(client, rs, out, NULL, set);
}

int answer_resolve(const struct answer_client *client, const struct rrset *rs, struct answer_rrs *out)
{
	return resolve(client, rs, out, NULL, NULL);
}

int answer_explain(const struct answer_client *client, const struct rrset *rs, struct answer_rrs *out,
                   struct dyn_trace *trace)
{
	return resolve(client, rs, out, trace, NULL);
}

dyn_health_fn answer_health(void **ctx)
{
	dyn_health_fn fn = atomic_load(&health_fn); /* first: answer_set_health() stores the context before it */
	*ctx = atomic_load(&health_ctx);
	return fn;
}

dyn_geo_fn answer_geo(void **ctx)
{
	dyn_geo_fn fn = atomic_load(&geo_fn); /* first: answer_set_geo() stores the context before it */
	*ctx = atomic_load(&geo_ctx);
	return *ctx ? fn : NULL;
}
