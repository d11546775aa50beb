/* The service-certificate owner's thread: the account key at start, then rounds on an ev_ loop,
 * each taking the services whose certificate or ECH work is due from the store, working on each,
 * and arming the timer at the store's next due time (never sooner than a second: no tight loop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "ternd/acme/acme_client.h"
#include "ternd/base/log.h"
#include "ternd/svc/svc_impl.h"

#define ROUND_MAX 16 /* services worked on per round (the next round follows at once) */
#define RECHECK_MS (3600 * 1000) /* the timer's longest sleep: the wall clock may have moved */

void svc_name_text(const uint8_t *name, char *out, size_t cap)
{
	if (name_to_text(name, out, cap) < 0)
		snprintf(out, cap, "?");
	size_t n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = 0;
}

int64_t svc_backoff(const struct svc *s, int64_t attempts)
{
	int64_t wait = s->retry_min;
	for (int64_t i = 1; i < attempts && wait < s->retry_max; i++)
		wait *= 2;
	return wait < s->retry_max ? wait : s->retry_max;
}

int svc_row_write(struct svc *s, const struct store_cert *c)
{
	struct store_txn *t = NULL;
	char err[256] = "";
	int rc = store_begin(s->store, &t, err, sizeof(err));
	if (rc == 0 && (rc = store_cert_put(t, c, err, sizeof(err))) < 0)
		store_rollback(t);
	else if (rc == 0)
		rc = store_commit(t, err, sizeof(err));
	if (rc == TERN_ENOTFOUND)
		log_info("services: service %s was deleted meanwhile: its certificate goes with it", c->service);
	else if (rc < 0)
		log_error("services: service %s: storing its certificate: %s", c->service, err);
	return rc;
}

/* A service without a row yet: its names (the canonical first; aliases later), pending, due now. */
static void row_new(struct store_cert *c, const char *id, const uint8_t *canonical, int64_t now)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->service, sizeof(c->service), "%s", id);
	svc_name_text(canonical, c->names, sizeof(c->names));
	snprintf(c->state, sizeof(c->state), "pending");
	c->next_at = now;
}

/* One service's due work: the old ECH config's end, a rotation, then issuance or renewal. Returns
 * false when the store could not be read or written (the round backs off). */
static bool work(struct svc *s, const char *id, const uint8_t *canonical)
{
	struct store_cert c;
	char err[256] = "";
	int64_t now = time(NULL);
	int rc = store_cert_get(store_latest(s->store), id, true, &c, err, sizeof(err));
	if (rc == TERN_ENOTFOUND) {
		row_new(&c, id, canonical, now);
	} else if (rc < 0) {
		log_error("services: service %s: reading its certificate: %s", id, err);
		return false;
	}
	bool ok = true, publish = false;
	/* aliases: the pending ones judged, the verified ones again before a renewal; a change of
	 * names (one verified, one lost) issues the certificate again now */
	if (svc_aliases_check(s, &c, canonical, c.chain && c.next_at <= now, now) && c.next_at > now)
		c.next_at = now;
	if (c.chain && c.publish_at > 0 && c.publish_at <= now) {
		c.publish_at = 0; /* a publish that failed, again */
		publish = true;
	}
	if (c.chain && c.ech_drop_at > 0 && c.ech_drop_at <= now) {
		c.ech_old_config_len = 0; /* listed for the record's TTL: clients have the new one */
		c.ech_drop_at = 0;
		publish = true;
	}
	if (c.chain && c.ech_rotate_at > 0 && c.ech_rotate_at <= now) {
		ok = svc_ech_rotate(s, &c, id, now) == 0;
		publish = ok;
	}
	if (ok && c.next_at <= now) {
		if (svc_issue(s, &c, now)) {
			publish = true;
			if (!c.ech_config_len)
				ok = svc_ech_rotate(s, &c, id, now) == 0;
		} else if (!publish) {
			ok = svc_row_write(s, &c) != TERN_EIO;
		}
	}
	if (ok && publish && (ok = svc_publish(s, &c, canonical, now) != TERN_EIO))
		svc_aliases_publish(s, &c, canonical);
	else if (!ok && c.chain && c.next_at > now) /* a certificate issued but not published */
		ok = svc_row_write(s, &c) != TERN_EIO;
	store_cert_clear(&c);
	return ok;
}

struct due {
	char ids[ROUND_MAX][STORE_SERVICE_ID_LEN + 1];
	uint8_t names[ROUND_MAX][NAME_MAXLEN];
	size_t n;
};

static int due_one(const char *service, const uint8_t *canonical, void *arg)
{
	struct due *d = arg;
	if (d->n == ROUND_MAX)
		return 0;
	snprintf(d->ids[d->n], sizeof(d->ids[d->n]), "%s", service);
	memcpy(d->names[d->n], canonical, canonical[0] ? name_len(canonical) : 1);
	d->n++;
	return 0;
}

/* One round: the due services (ROUND_MAX at most), then the timer at the next due time. */
static void round_run(struct svc *s)
{
	struct due *d = calloc(1, sizeof(*d));
	char err[256] = "";
	int64_t now = time(NULL), next = INT64_MAX;
	bool ok = d && store_cert_due(store_latest(s->store), now, ROUND_MAX, due_one, d, err, sizeof(err)) == 0;
	if (!ok)
		log_error("services: listing the certificates due: %s", d ? err : "out of memory");
	for (size_t i = 0; ok && i < d->n && !atomic_load(&s->cancel); i++)
		if (d->names[i][0] && !work(s, d->ids[i], d->names[i]))
			ok = false;
	uint64_t wait_ms = 1000;
	if (!ok) {
		wait_ms = (uint64_t)s->retry_min * 1000; /* the store failed: not again at once */
	} else if (d->n < ROUND_MAX && store_cert_next(store_latest(s->store), &next, err, sizeof(err)) == 0) {
		now = time(NULL);
		wait_ms = next == INT64_MAX ? RECHECK_MS : next <= now ? 1000 : (uint64_t)(next - now) * 1000;
	} else if (d->n < ROUND_MAX) {
		log_error("services: the next certificate due: %s", err);
		wait_ms = (uint64_t)s->retry_min * 1000;
	}
	if (wait_ms > RECHECK_MS)
		wait_ms = RECHECK_MS;
	free(d);
	ev_timer_in(s->loop, &s->timer, wait_ms);
}

static void on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	round_run(t->arg);
}

static void on_kick(struct ev_loop *loop, struct ev_async *a)
{
	(void)loop;
	round_run(a->arg);
}

/* The account key from the store, made and stored the first time. */
static int account_load(struct svc *s, char *err, size_t errlen)
{
	char *pem = NULL, serr[256] = "";
	int rc = store_acme_account_get(store_latest(s->store), &pem, serr, sizeof(serr));
	if (rc == TERN_ENOTFOUND) {
		if (!(s->account = acme_key_new(err, errlen)) || !(pem = acme_key_pem(s->account, err, errlen)))
			return TERN_ENOMEM;
		struct store_txn *t = NULL;
		if ((rc = store_begin(s->store, &t, serr, sizeof(serr))) == 0 &&
		    (rc = store_acme_account_put(t, pem, serr, sizeof(serr))) < 0)
			store_rollback(t);
		else if (rc == 0)
			rc = store_commit(t, serr, sizeof(serr));
		if (rc == 0)
			log_info("services: a new ACME account key is stored");
	} else if (rc == 0 && !(s->account = acme_key_from_pem(pem, strlen(pem), err, errlen))) {
		rc = TERN_EINVAL;
	}
	free(pem);
	if (rc < 0 && serr[0])
		snprintf(err, errlen, "services: the ACME account key: %s", serr);
	if (rc == 0 && (rc = acme_thumbprint(s->account, s->thumbprint, err, errlen)) == 0)
		log_info("services: ACME account key thumbprint %s", s->thumbprint);
	return rc;
}

static char *dup_or_null(const char *v, bool *ok)
{
	char *d = v ? strdup(v) : NULL;
	*ok = *ok && (!v || d);
	return d;
}

int svc_start(const struct config *conf, struct store *store, struct change *change, struct svc **out, char *err,
              size_t errlen)
{
	const struct config_services *sv = &conf->services;
	*out = NULL;
	if (!sv->enabled || !sv->acme.directory || !store || !change)
		return 0;
	struct svc *s = calloc(1, sizeof(*s));
	if (!s)
		return TERN_ENOMEM;
	s->store = store;
	s->change = change;
	bool ok = true;
	char zone[NAME_MAXLEN * 4 + 1];
	svc_name_text(sv->zone, zone, sizeof(zone));
	s->directory = dup_or_null(sv->acme.directory, &ok);
	s->ca_file = dup_or_null(sv->acme.ca_file, &ok);
	s->contact = dup_or_null(sv->acme.contact, &ok);
	s->public_name = dup_or_null(sv->ech.public_name ? sv->ech.public_name : zone, &ok);
	s->deadline = sv->acme.deadline;
	s->retry_min = sv->acme.retry_min;
	s->retry_max = sv->acme.retry_max;
	s->https_ttl = sv->https_ttl;
	s->rotate = sv->ech.rotate;
	s->max_name_length = sv->ech.max_name_length;
	s->resolver = sv->resolver;
	s->resolver_timeout = sv->resolver_timeout;
	int rc = ok ? 0 : TERN_ENOMEM;
	if (rc == 0 && (rc = acme_global_init()) < 0)
		snprintf(err, errlen, "services: libcurl cannot start");
	if (rc == 0)
		rc = account_load(s, err, errlen);
	if (rc == 0 && !(s->loop = ev_new(EV_RCU_OFFLINE)))
		rc = TERN_ENOMEM;
	if (rc < 0)
		goto fail;
	ev_timer_init(&s->timer, on_timer, s);
	ev_async_start(s->loop, &s->kick, on_kick, s);
	ev_timer_in(s->loop, &s->timer, 0);
	if ((rc = ev_thread_start(&s->thread, s->loop, "ternd-svc")) < 0) {
		snprintf(err, errlen, "services: cannot start the certificate thread");
		goto fail;
	}
	log_info("services: certificates from %s (ECH keys rotated every %u s, HTTPS TTL %u s)", s->directory,
	         s->rotate, s->https_ttl);
	*out = s;
	return 0;
fail:
	if (rc == TERN_ENOMEM && err[0] == 0)
		snprintf(err, errlen, "services: out of memory");
	svc_stop(s);
	return rc;
}

void svc_kick(struct svc *svc)
{
	if (svc)
		ev_async_send(&svc->kick);
}

const char *svc_thumbprint(const struct svc *svc)
{
	return svc->thumbprint;
}

void svc_stop(struct svc *s)
{
	if (!s)
		return;
	atomic_store(&s->cancel, true);
	ev_thread_stop(&s->thread);
	if (s->loop) {
		ev_timer_cancel(s->loop, &s->timer);
		ev_async_stop(s->loop, &s->kick);
		ev_free(s->loop);
	}
	EVP_PKEY_free(s->account);
	free(s->directory);
	free(s->ca_file);
	free(s->contact);
	free(s->public_name);
	free(s);
}
