/* The svc module's shared state (svc.c: the thread and its rounds; svc_issue.c: one issuance;
 * svc_publish.c: ECH keys and the HTTPS record). Private to src/ternd/svc. */
#pragma once
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/name.h"
#include "ternd/acme/acme_key.h"
#include "ternd/base/event.h"
#include "ternd/svc/svc.h"

struct svc {
	struct store *store;
	struct change *change;
	/* the configuration's values, copied at start (restart keys) */
	char *directory, *ca_file, *contact, *public_name;
	uint32_t deadline, retry_min, retry_max, https_ttl, rotate, max_name_length;
	struct config_listen resolver; /* services.resolver (addrlen 0: aliases are not looked up) */
	uint32_t resolver_timeout; /* seconds */
	EVP_PKEY *account; /* the ES256 account key */
	char thumbprint[ACME_THUMBPRINT_LEN + 1];
	struct ev_loop *loop;
	struct ev_thread thread;
	struct ev_timer timer; /* the next round: the store's earliest due time */
	struct ev_async kick; /* a service was made */
	atomic_bool cancel; /* svc_stop(): an issuance under way ends at its next wait */
};

/* The canonical name as text without the final dot (the ACME identifier). */
void svc_name_text(const uint8_t *name, char *out, size_t cap);
/* The wait after the attempts-th failure in a row: retry_min doubling, at most retry_max. */
int64_t svc_backoff(const struct svc *s, int64_t attempts);
/* Writes the row alone (no zone change) in a transaction of its own. 0 or TERN_E* (logged). */
int svc_row_write(struct svc *s, const struct store_cert *c);

/* svc_issue.c: one issuance of c's names; c updated (certificate, or the failure and the next
 * attempt). Returns true when a certificate was issued. */
bool svc_issue(struct svc *s, struct store_cert *c, int64_t now);

/* svc_alias.c: the service's aliases looked up and judged: the pending ones (and, when renewing,
 * the verified ones again: one no longer pointing here is lost), each verdict stored; c->names set
 * to the canonical name and every verified alias. Returns true when c->names changed. */
bool svc_aliases_check(struct svc *s, struct store_cert *c, const uint8_t *canonical, bool renewing, int64_t now);
/* Publishes `NAME HTTPS 1 <canonical> alpn=h2,h3 ech=...` for each verified alias whose zone is a
 * store zone of the service's tenant, deleting a CNAME there. Logged; never fails the caller. */
void svc_aliases_publish(struct svc *s, const struct store_cert *c, const uint8_t *canonical);

/* svc_publish.c */
/* The HTTPS RRset `1 <target> alpn=h2,h3 ech=<c's configs>` at owner (target NULL: "."). */
int svc_https_rrset(const struct svc *s, const struct store_cert *c, const uint8_t *owner, const char *target,
                    struct change_rrset *ch, char *err, size_t errlen);
/* A new current ECH key pair and config for c (the old kept beside it when c had one, until
 * now + https_ttl); the next rotation at now + rotate. 0 or TERN_E* (logged). */
int svc_ech_rotate(struct svc *s, struct store_cert *c, const char *id, int64_t now);
/* Publishes c's HTTPS record (the current config first, the old one after it while kept) at the
 * canonical name, with c's row in the same transaction (change_request.also). On a failure of the
 * zone change, the row alone is written with the failure (step "publish") and publish_at set
 * after the backoff. 0 or TERN_E*. */
int svc_publish(struct svc *s, struct store_cert *c, const uint8_t *canonical, int64_t now);
