/* A service's aliases judged on the svc thread: NAME looked up through services.resolver (HTTPS,
 * then SVCB; UDP, TCP when truncated, each under services.resolver-timeout), the response judged
 * by alias_judge(), the verdict stored; and the ServiceMode HTTPS record published at an alias
 * whose zone Tern serves for the same tenant (replacing a CNAME there). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "lib/alias.h"
#include "lib/error.h"
#include "lib/exchange.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "ternd/acme/acme_client.h"
#include "ternd/base/log.h"
#include "ternd/base/rcu.h"
#include "ternd/svc/svc_impl.h"

#define ALIASES_MAX 99 /* services.max-aliases' maximum */
#define MSG_MAX 65535

/* A recursive query (RD, EDNS with a 1232-octet buffer) for (name, qtype) into q; its length. */
static size_t query_build(const uint8_t *name, uint16_t qtype, uint16_t id, uint8_t *q)
{
	size_t nl = name_len(name), n = 12;
	memset(q, 0, 12);
	wire_put16(q, id);
	wire_put16(q + 2, 0x0100); /* RD */
	wire_put16(q + 4, 1);
	wire_put16(q + 10, 1);
	memcpy(q + n, name, nl);
	n += nl;
	wire_put16(q + n, qtype);
	wire_put16(q + n + 2, 1); /* IN */
	n += 4;
	q[n++] = 0; /* OPT: the root, type 41, class = buffer size, TTL 0, no options */
	wire_put16(q + n, RR_OPT);
	wire_put16(q + n + 2, 1232);
	memset(q + n + 4, 0, 6);
	return n + 10;
}

/* One exchange with the resolver: the response into a (*len). 0, or TERN_EIO with why. */
static int exchange(const struct svc *s, const uint8_t *q, size_t qlen, bool tcp, uint8_t *a, size_t *len, char *why,
                    size_t cap)
{
	char err[160];
	int64_t deadline = exchange_now_ms() + (int64_t)s->resolver_timeout * 1000;
	int rc = dns_exchange((const struct sockaddr *)&s->resolver.addr, s->resolver.addrlen, q, qlen, tcp, deadline,
	                      a, MSG_MAX, len, err, sizeof(err));
	if (rc == 0 && *len < 12) {
		snprintf(err, sizeof(err), "%s: an answer of %zu octets", tcp ? "TCP" : "UDP", *len);
		rc = TERN_EIO;
	}
	if (rc < 0 && strstr(err, "(timeout)"))
		snprintf(why, cap, "the resolver %s%s gave no answer within %u s", s->resolver.text,
		         tcp ? " (TCP)" : "", s->resolver_timeout);
	else if (rc < 0)
		snprintf(why, cap, "the resolver %s: %s", s->resolver.text, err);
	return rc < 0 ? TERN_EIO : 0;
}

/* NAME's (qtype) response judged: 0 with v, or TERN_EIO (no answer: why). */
static int look(const struct svc *s, const uint8_t *name, uint16_t qtype, const uint8_t *canonical, uint8_t *a,
                struct alias_verdict *v, char *why, size_t cap)
{
	uint8_t q[12 + NAME_MAXLEN + 4 + 11];
	uint16_t id = 0;
	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		id = (uint16_t)exchange_now_ms();
	size_t qlen = query_build(name, qtype, id, q), len = 0;
	int rc = exchange(s, q, qlen, false, a, &len, why, cap);
	if (rc == 0 && (a[2] & 0x02)) /* TC: again over TCP */
		rc = exchange(s, q, qlen, true, a, &len, why, cap);
	if (rc < 0)
		return rc;
	if (alias_judge(a, len, name, qtype, canonical, v) < 0) {
		snprintf(why, cap, "the resolver's response is not one to the question: %s", v->found);
		return TERN_EIO;
	}
	unsigned rcode = a[3] & 0x0f;
	if (rcode == 2 || rcode == 5) { /* SERVFAIL, REFUSED: the resolver could not tell */
		snprintf(why, cap, "%s", v->found);
		return TERN_EIO;
	}
	return 0;
}

/* NAME judged: 1 points here, 0 does not (reason says what was found), TERN_EIO no answer. */
static int judge(const struct svc *s, const uint8_t *name, const uint8_t *canonical, char *reason, size_t cap)
{
	uint8_t *a = malloc(MSG_MAX);
	struct alias_verdict v1, v2;
	char why[256] = "";
	int rc = a ? look(s, name, RR_HTTPS, canonical, a, &v1, why, sizeof(why)) : TERN_ENOMEM;
	if (rc == 0 && v1.points) {
		snprintf(reason, cap, "%s: %s", v1.via == ALIAS_VIA_CNAME ? "CNAME" : "HTTPS", v1.found);
		rc = 1;
	} else if (rc == 0 && (rc = look(s, name, RR_SVCB, canonical, a, &v2, why, sizeof(why))) == 0) {
		snprintf(reason, cap, "HTTPS: %.480s; SVCB: %.480s", v1.found, v2.found);
		if (v2.points)
			snprintf(reason, cap, "%s: %s", v2.via == ALIAS_VIA_CNAME ? "CNAME" : "SVCB", v2.found);
		rc = v2.points ? 1 : 0;
	}
	if (rc < 0)
		snprintf(reason, cap, "%s", rc == TERN_ENOMEM ? "out of memory" : why);
	free(a);
	return rc;
}

struct alias_list {
	struct store_alias *v;
	size_t n;
};

static int list_one(const struct store_alias *al, void *arg)
{
	struct alias_list *l = arg;
	if (l->n < ALIASES_MAX)
		l->v[l->n++] = *al;
	return 0;
}

/* The service's aliases (malloc'd list): false when the store could not be read. */
static bool aliases_read(struct svc *s, const char *id, struct alias_list *l)
{
	char err[256] = "";
	l->n = 0;
	l->v = calloc(ALIASES_MAX, sizeof(*l->v));
	int rc = l->v ? store_alias_list(store_latest(s->store), id, list_one, l, err, sizeof(err)) : TERN_ENOMEM;
	if (rc < 0)
		log_error("services: service %s: reading its aliases: %s", id, l->v ? err : "out of memory");
	return rc == 0;
}

static void alias_write(struct svc *s, const struct store_alias *al)
{
	struct store_txn *t = NULL;
	char err[256] = "";
	int rc = store_begin(s->store, &t, err, sizeof(err));
	if (rc == 0 && (rc = store_alias_set(t, al, err, sizeof(err))) < 0)
		store_rollback(t);
	else if (rc == 0)
		rc = store_commit(t, err, sizeof(err));
	if (rc < 0 && rc != TERN_ENOTFOUND) /* not found: removed meanwhile */
		log_error("services: service %s: storing an alias's verdict: %s", al->service, err);
}

/* The store zone of tenant NAME lies in (its closest enclosing apex), into apex: false when none. */
static bool alias_zone(struct svc *s, const uint8_t *name, const char *tenant, uint8_t apex[NAME_MAXLEN])
{
	char err[256];
	for (const uint8_t *p = name; p[0]; p += 1 + p[0]) {
		struct store_zone z;
		if (store_zone_get(store_latest(s->store), p, &z, err, sizeof(err)) == 0) {
			if (strcmp(z.tenant, tenant) != 0)
				return false;
			memcpy(apex, p, name_len(p));
			return true;
		}
	}
	return false;
}

bool svc_aliases_check(struct svc *s, struct store_cert *c, const uint8_t *canonical, bool renewing, int64_t now)
{
	struct alias_list l;
	char names[STORE_CERT_TEXT_MAX + 1], text[NAME_MAXLEN * 4 + 1];
	svc_name_text(canonical, names, sizeof(names));
	if (!aliases_read(s, c->service, &l)) {
		free(l.v);
		return false;
	}
	size_t count = 1;
	struct store_service sv = {0};
	char err[256] = "";
	bool tenant = store_service_get(store_latest(s->store), c->service, &sv, err, sizeof(err)) == 0;
	for (size_t i = 0; i < l.n; i++) {
		struct store_alias *al = &l.v[i];
		uint8_t apex[NAME_MAXLEN];
		bool pending = strcmp(al->state, "pending") == 0, verified = strcmp(al->state, "verified") == 0;
		svc_name_text(al->name, text, sizeof(text));
		if (!s->resolver.addrlen && pending) {
			/* nothing to look it up with: refused, not looked at again every round */
			snprintf(al->state, sizeof(al->state), "refused");
			snprintf(al->reason, sizeof(al->reason),
			         "services.resolver is not configured: aliases cannot be looked up");
			al->checked = now;
			alias_write(s, al);
		} else if (renewing && verified && tenant && alias_zone(s, al->name, sv.tenant, apex)) {
			/* its zone is served here, with the HTTPS record published for it: what the
			 * resolver shows is that record (ServiceMode), not the user's alias */
			al->checked = now;
			alias_write(s, al);
		} else if (s->resolver.addrlen && (pending || (renewing && verified))) {
			char reason[sizeof(al->reason)];
			int64_t t0 = exchange_now_ms();
			int rc = judge(s, al->name, canonical, reason, sizeof(reason));
			if (rc < 0 && verified) {
				/* no answer is no proof it moved: it stays verified */
				log_warning("services: service %s: alias %s not checked again: %s", c->service, text,
				            reason);
			} else {
				snprintf(al->state, sizeof(al->state), "%s",
				         rc == 1    ? "verified"
				         : verified ? "lost"
				                    : "refused");
				snprintf(al->reason, sizeof(al->reason), "%s", reason);
				al->checked = now;
				alias_write(s, al);
				log_info("services: service %s: alias %s %s in %lld ms: %s", c->service, text,
				         al->state, (long long)(exchange_now_ms() - t0), reason);
			}
		}
		if (strcmp(al->state, "verified") == 0 && strlen(names) + strlen(text) + 2 < sizeof(names) &&
		    count < ACME_MAX_NAMES) {
			count++;
			strcat(names, " ");
			strcat(names, text);
		}
	}
	store_service_clear(&sv);
	free(l.v);
	bool changed = strcmp(names, c->names) != 0;
	if (changed)
		snprintf(c->names, sizeof(c->names), "%s", names);
	return changed;
}

void svc_aliases_publish(struct svc *s, const struct store_cert *c, const uint8_t *canonical)
{
	struct alias_list l;
	struct store_service sv;
	char err[256] = "", target[NAME_MAXLEN * 4 + 1], text[NAME_MAXLEN * 4 + 1], who[STORE_PRINCIPAL_MAX + 1];
	if (!c->ech_config_len || !aliases_read(s, c->service, &l)) {
		return;
	}
	if (store_service_get(store_latest(s->store), c->service, &sv, err, sizeof(err)) < 0) {
		free(l.v);
		return;
	}
	name_to_text(canonical, target, sizeof(target));
	snprintf(who, sizeof(who), "services (service %s)", c->service);
	for (size_t i = 0; i < l.n; i++) {
		uint8_t apex[NAME_MAXLEN];
		if (strcmp(l.v[i].state, "verified") != 0 || !alias_zone(s, l.v[i].name, sv.tenant, apex))
			continue;
		struct change_rrset ch[2];
		memset(ch, 0, sizeof(ch));
		svc_name_text(l.v[i].name, text, sizeof(text));
		if (svc_https_rrset(s, c, l.v[i].name, target, &ch[0], err, sizeof(err)) < 0) {
			log_error("services: service %s: the HTTPS record of alias %s: %s", c->service, text, err);
			continue;
		}
		memcpy(ch[1].owner, l.v[i].name, name_len(l.v[i].name));
		ch[1].type = RR_CNAME; /* count 0: deleted (CNAME and HTTPS cannot share an owner) */
		struct change_request rq = {.apex = apex, .rrsets = ch, .n = 2, .principal = who};
		struct change_result r;
		rcu_thread_online();
		int rc = change_commit(s->change, &rq, &r);
		rcu_thread_offline();
		free((void *)ch[0].rdata);
		if (rc == 0)
			log_info("services: service %s: alias %s: HTTPS record published in its zone, serial %u",
			         c->service, text, r.serial);
		else
			log_warning("services: service %s: alias %s: the HTTPS record in its zone: %s", c->service,
			            text, r.msg);
	}
	store_service_clear(&sv);
	free(l.v);
}
