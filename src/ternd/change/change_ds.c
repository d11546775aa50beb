/* The DS check of a KSK rollover (Knot's ksk-submission): each parent server of a zone whose new
 * KSK (CSK) waits for its DS is asked for the zone's DS RRset (UDP, TCP when truncated; no
 * recursion; an authoritative answer), and the key's DS counts as seen once every parent has it.
 * The asking blocks the signer thread for at most a timeout per parent, without c->lock. */
#include "ternd/change/change_ds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "lib/ds_answer.h"
#include "lib/error.h"
#include "lib/exchange.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "ternd/base/log.h"
#include "ternd/change/change_roll.h"

static int waiting_row(const struct store_key *k, void *arg)
{
	struct change_ds_check *chk = arg;
	if (k->role == STORE_KEY_ZSK || k->state != STORE_KEY_READY || k->ds_seen || chk->nkeys == CHANGE_DS_KEYS_MAX)
		return 0;
	memcpy(chk->dnskey[chk->nkeys], k->dnskey, k->dnskey_len);
	chk->dnskey_len[chk->nkeys] = k->dnskey_len;
	chk->tag[chk->nkeys++] = k->tag;
	return 0;
}

/* Whether apex is marked in-tree: an _in-tree TXT at its apex (api/api_intree.c writes it). */
static bool change_ds_intree(struct change *c, const uint8_t *apex)
{
	static const uint8_t label[] = {8, '_', 'i', 'n', '-', 't', 'r', 'e', 'e'};
	uint8_t owner[NAME_MAXLEN];
	size_t n = name_len(apex);
	struct store_rrset rs;
	char err[256];
	if (n + sizeof(label) > NAME_MAXLEN)
		return false;
	memcpy(owner, label, sizeof(label));
	memcpy(owner + sizeof(label), apex, n);
	if (store_rrset_get(store_latest(c->store), apex, owner, RR_TXT, &rs, err, sizeof(err)) < 0)
		return false;
	store_rrset_clear(&rs);
	return true;
}

bool change_ds_wanted(struct change *c, const uint8_t *apex, const struct dnssec_policy *p, struct change_ds_check *chk)
{
	memset(chk, 0, sizeof(*chk));
	if (p->nparents == 0)
		return false;
	char err[256];
	if (store_key_foreach(store_latest(c->store), apex, false, waiting_row, chk, err, sizeof(err)) < 0)
		return false;
	name_lower_copy(chk->apex, apex, name_len(apex));
	chk->nparents = p->nparents < DNSSEC_POLICY_PARENTS_MAX ? p->nparents : DNSSEC_POLICY_PARENTS_MAX;
	memcpy(chk->parents, p->parents, sizeof(chk->parents));
	if (chk->nkeys > 0)
		chk->intree = change_ds_intree(c, apex);
	return chk->nkeys > 0;
}

bool change_ds_gone_wanted(struct change *c, const uint8_t *apex, const struct dnssec_policy *p,
                           struct change_ds_check *chk)
{
	(void)c;
	memset(chk, 0, sizeof(*chk));
	if (p->nparents == 0)
		return false;
	name_lower_copy(chk->apex, apex, name_len(apex));
	chk->nparents = p->nparents < DNSSEC_POLICY_PARENTS_MAX ? p->nparents : DNSSEC_POLICY_PARENTS_MAX;
	memcpy(chk->parents, p->parents, sizeof(chk->parents));
	chk->gone = true;
	return true;
}

/* "ADDRESS[@PORT]" (checked by dnssec_policy_parent_check) as a socket address. */
static int parent_addr(const char *text, struct sockaddr_storage *ss, socklen_t *sl)
{
	char addr[DNSSEC_POLICY_ADDR_MAX + 1];
	snprintf(addr, sizeof(addr), "%s", text);
	unsigned port = 53;
	char *at = strrchr(addr, '@');
	if (at) {
		*at = 0;
		port = (unsigned)atoi(at + 1);
	}
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*v6);
		return 0;
	}
	return TERN_EINVAL;
}

/* One exchange with a parent: the answer into ans. */
static int ask(const struct change_ds_check *chk, const char *parent, bool tcp, unsigned timeout_ms,
               struct ds_answer *ans, char *msg, size_t msglen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (parent_addr(parent, &ss, &sl) < 0) {
		snprintf(msg, msglen, "%s: not an address", parent);
		return TERN_EINVAL;
	}
	uint16_t id = 0;
	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		id = (uint16_t)exchange_now_ms();
	uint8_t q[DS_QUERY_MAX], *a = NULL;
	static const size_t cap = WIRE_MAX_MSG;
	int qlen = ds_query(chk->apex, id, q, DS_QUERY_MAX);
	if (qlen < 0) {
		snprintf(msg, msglen, "the DS query does not fit");
		return qlen;
	}
	if (!(a = malloc(cap))) {
		snprintf(msg, msglen, "out of memory");
		return TERN_ENOMEM;
	}
	size_t n = 0;
	char err[160];
	int rc = dns_exchange((const struct sockaddr *)&ss, sl, q, (size_t)qlen, tcp, exchange_now_ms() + timeout_ms, a,
	                      cap, &n, err, sizeof(err));
	if (rc < 0) {
		if (strstr(err, "(timeout)"))
			snprintf(msg, msglen, "%s%s: no answer within %u ms", parent, tcp ? " (TCP)" : "", timeout_ms);
		else
			snprintf(msg, msglen, "%s: %s", parent, err);
		goto out;
	}
	char why[256];
	rc = ds_answer_parse(a, (size_t)n, chk->apex, id, ans, why, sizeof(why));
	if (rc < 0)
		snprintf(msg, msglen, "%s%s: %s", parent, tcp ? " (TCP)" : "", why);
out:
	free(a);
	return rc;
}

int change_ds_ask(struct change_ds_check *chk, unsigned timeout_ms, char *msg, size_t msglen)
{
	msg[0] = 0;
	chk->nxdomain = 0;
	for (unsigned i = 0; i < chk->nparents; i++) {
		struct ds_answer ans;
		int rc = ask(chk, chk->parents[i], false, timeout_ms, &ans, msg, msglen);
		if (rc == 0 && ans.truncated)
			rc = ask(chk, chk->parents[i], true, timeout_ms, &ans, msg, msglen);
		if (rc == 0 && ans.truncated) {
			snprintf(msg, msglen, "%s: truncated over TCP", chk->parents[i]);
			rc = TERN_EINVAL;
		}
		if (rc < 0)
			return rc;
		if (chk->gone && ans.total) {
			snprintf(msg, msglen, "%s still has %zu DS record%s of the zone", chk->parents[i], ans.total,
			         ans.total == 1 ? "" : "s");
			return 0;
		}
		if (!chk->gone && chk->intree && ans.rcode == 3) { /* no delegation: the hold-downs suffice */
			chk->nxdomain++;
			continue;
		}
		for (size_t k = 0; k < chk->nkeys; k++) {
			if (!ds_answer_has(&ans, chk->apex, chk->dnskey[k], chk->dnskey_len[k])) {
				snprintf(msg, msglen, "%s has no DS for key %u yet (%zu DS record%s)", chk->parents[i],
				         chk->tag[k], ans.total, ans.total == 1 ? "" : "s");
				return 0;
			}
		}
	}
	return 1;
}

void change_ds_checks_run(struct change *c, struct change_ds_check *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char name[NAME_MAXLEN * 4 + 1], msg[512], err[512];
		name_to_text(v[i].apex, name, sizeof(name));
		int rc = change_ds_ask(&v[i], CHANGE_DS_TIMEOUT_MS, msg, sizeof(msg));
		if (rc < 0) {
			log_warning("zone %s: DS check: %s (asked again later)", name, msg);
			continue;
		}
		if (rc == 0) {
			log_info("zone %s: DS check: %s", name, msg);
			continue;
		}
		if (v[i].gone) {
			rc = change_dnssec_ds_removed(c, v[i].apex, "seen gone at every parent", err, sizeof(err));
			if (rc < 0 && rc != TERN_ENOTFOUND)
				log_error("zone %s: DS check: %s", name, err);
			continue;
		}
		change_lock(c);
		rc = change_roll_ds_seen(c, v[i].apex, "seen at every parent", err, sizeof(err));
		if (rc == 0)
			change_dnssec_roll_soon(c, v[i].apex);
		change_unlock(c);
		if (rc == 0 && v[i].nxdomain)
			log_info("zone %s: DS check: in-tree, %u parent(s) without a delegation (NXDOMAIN): the KSK "
			         "roll proceeds on the RFC 5011 hold-downs alone",
			         name, v[i].nxdomain);
		else if (rc == 0)
			log_info("zone %s: DS check: the new KSK's DS is at every parent", name);
		else if (rc != TERN_ENOTFOUND)
			log_error("zone %s: DS check: %s", name, err);
	}
}
