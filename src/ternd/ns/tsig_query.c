/* TSIG (RFC 8945) on the answering side: verifying a request, signing its answers and the
 * transfer ACL that may require a key. The HMACs themselves are src/lib/tsig.c's. */
#include "ternd/ns/tsig_query.h"

#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/wire.h"

enum ns_tsig_state ns_tsig_verify(struct ns_tsig *t, const struct ns_params *p, const uint8_t *msg, size_t len)
{
	return ns_tsig_verify_ring(t, &p->keyring, msg, len);
}

enum ns_tsig_state ns_tsig_verify_ring(struct ns_tsig *t, const struct tsig_keyring *ring, const uint8_t *msg,
                                       size_t len)
{
	t->now = (uint64_t)time(NULL);
	int rc = tsig_verify(msg, len, ring, t->now, &t->res);
	switch (rc) {
	case 0: t->state = NS_TSIG_VERIFIED; break;
	case TERN_ENOTFOUND: t->state = NS_TSIG_NONE; break;
	case TERN_EINVAL: t->state = NS_TSIG_REJECTED; break;
	case TERN_EMALF: t->state = NS_TSIG_MALFORMED; break;
	default: t->state = NS_TSIG_FAILED; break;
	}
	return t->state;
}

void ns_tsig_reject(struct ns_tsig *t, uint16_t error)
{
	t->state = NS_TSIG_REJECTED;
	t->res.error = error;
	t->res.rcode = TSIG_RCODE_NOTAUTH;
	t->res.is_signed = false;
}

size_t ns_tsig_reserve(const struct ns_tsig *t)
{
	switch (t->state) {
	case NS_TSIG_VERIFIED: return tsig_space(t->res.key);
	case NS_TSIG_REJECTED:
		/* the request's names, the fixed fields, a MAC (BADTIME, BADTRUNC) and our time */
		return name_len(t->res.key_name) + 10 + name_len(t->res.alg_name) + 16 + TSIG_MAX_MAC + 6;
	default: return 0;
	}
}

void ns_tsig_chain(const struct ns_tsig *t, struct tsig_ctx *ctx)
{
	if (t->state == NS_TSIG_VERIFIED)
		tsig_ctx_init(ctx, t->res.key, t->res.mac, t->res.mac_len);
	else
		tsig_ctx_init(ctx, NULL, NULL, 0);
}

int ns_tsig_sign(const struct ns_tsig *t, struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap)
{
	switch (t->state) {
	case NS_TSIG_VERIFIED: return tsig_sign(msg, len, cap, ctx, t->now);
	case NS_TSIG_REJECTED: return tsig_sign_error(msg, len, cap, &t->res, t->now);
	default: return 0;
	}
}

bool ns_transfer_allowed(const struct ns_params *p, const struct sockaddr *addr, uint8_t tls, const struct ns_tsig *t)
{
	bool allowed = false;
	for (size_t i = 0; i < p->nxfr_allow; i++) {
		const struct config_prefix *e = &p->xfr_allow[i];
		if (!config_prefix_match(e, 1, addr))
			continue;
		if (e->tls > tls)
			return false; /* this address must come over (mutual) TLS */
		if (e->key == 0)
			allowed = true;
		/* the request verified against this very keyring, so its key is one of its entries */
		else if (t->state == NS_TSIG_VERIFIED && e->key <= p->keyring.count &&
		         t->res.key == &p->keyring.keys[e->key - 1])
			allowed = true;
	}
	return allowed;
}
