/* TSIG with the primaries (RFC 8945): pull.h's sign/verify/end hooks over one tsig_ctx per
 * exchange, with messages that name the primary and the key. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "ternd/xfrin/xfrin_impl.h"

static const char *tsig_error_name(uint16_t error, char buf[16])
{
	switch (error) {
	case TSIG_BADSIG: return "BADSIG";
	case TSIG_BADKEY: return "BADKEY";
	case TSIG_BADTIME: return "BADTIME";
	case TSIG_BADTRUNC: return "BADTRUNC";
	}
	snprintf(buf, 16, "error %u", error);
	return buf;
}

static int sig_sign(void *arg, uint8_t *msg, size_t *len, size_t cap, char *err, size_t errlen)
{
	struct xfrin_sig *s = arg;
	struct tsig_ctx query;
	tsig_ctx_clear(&s->ctx); /* a previous exchange with this primary ends here */
	tsig_ctx_init(&query, s->key, NULL, 0);
	int rc = tsig_sign(msg, len, cap, &query, (uint64_t)time(NULL));
	tsig_ctx_clear(&query);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot sign the query with TSIG: %s", s->peer, tern_strerror(rc));
		return rc;
	}
	tsig_ctx_init(&s->ctx, s->key, query.prior_mac, query.prior_len);
	return 0;
}

static int sig_verify(void *arg, const uint8_t *msg, size_t len, char *err, size_t errlen)
{
	struct xfrin_sig *s = arg;
	struct tsig_result res;
	char name[XFRIN_NAME_TEXT], e[16];
	int rc = tsig_verify_next(&s->ctx, msg, len, (uint64_t)time(NULL), &res);
	if (rc == 0)
		return 0;
	name_to_text(s->key->name, name, sizeof(name));
	if (rc == TERN_ENOTFOUND)
		snprintf(err, errlen, "%s: TSIG: the answer is not signed (key %s)", s->peer, name);
	else if (rc == TERN_EMALF)
		snprintf(err, errlen, "%s: TSIG: malformed TSIG record in the answer (key %s)", s->peer, name);
	else if (rc == TERN_EINVAL && res.peer_error)
		snprintf(err, errlen, "%s: TSIG: the primary rejected our signature with %s (key %s)", s->peer,
		         tsig_error_name(res.error, e), name);
	else if (rc == TERN_EINVAL && res.error)
		snprintf(err, errlen, "%s: TSIG: the answer does not verify: %s (key %s)", s->peer,
		         tsig_error_name(res.error, e), name);
	else
		snprintf(err, errlen, "%s: TSIG: cannot verify the answer: %s", s->peer, tern_strerror(rc));
	return rc == TERN_EMALF ? TERN_EMALF : TERN_EIO;
}

static int sig_end(void *arg, char *err, size_t errlen)
{
	struct xfrin_sig *s = arg;
	if (tsig_verify_end(&s->ctx) == 0)
		return 0;
	snprintf(err, errlen, "%s: TSIG: the answer does not end with a signed message", s->peer);
	return TERN_EIO;
}

const struct pull_tsig *xfrin_sig_init(struct xfrin_sig *s, const struct primaries *p, const char *peer)
{
	memset(s, 0, sizeof(*s));
	if (!p->has_key)
		return NULL;
	s->key = &p->key;
	s->peer = peer;
	s->hooks = (struct pull_tsig){sig_sign, sig_verify, sig_end, s};
	return &s->hooks;
}

void xfrin_sig_clear(struct xfrin_sig *s)
{
	tsig_ctx_clear(&s->ctx);
}
