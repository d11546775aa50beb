/* Service certificates (issue 20): the owner of each service's certificate, ECH keys and HTTPS
 * record. One thread on an ev_ loop issues through acme_issue() when a service is made (and at
 * start for services without a valid certificate), renews at two thirds of the lifetime, retries
 * failures with backoff, rotates ECH keys and publishes `<canonical> HTTPS 1 . alpn=h2,h3 ech=...`
 * through the one write path. The store is its memory: every decision is read back from it. */
#pragma once
#include <stddef.h>

#include "ternd/base/config.h"
#include "ternd/change/change.h"
#include "ternd/store/store.h"

struct svc;

/* Starts the owner when services.acme.directory is configured: the account key read from the store
 * (made and stored the first time), the thread started and a first round due at once. *out stays
 * NULL (and 0 is returned) when issuance is off. TERN_E* with err on failure. change and store
 * are main's and outlive svc_stop(). */
int svc_start(const struct config *conf, struct store *store, struct change *change, struct svc **out, char *err,
              size_t errlen);
/* From any thread (svc may be NULL): look at the store again now (a service was made). */
void svc_kick(struct svc *svc);
/* The account key's RFC 7638 thumbprint (what every ingress's responder answers with). */
const char *svc_thumbprint(const struct svc *svc);
/* Cancels an issuance under way (at its next wait), stops and joins the thread, frees. */
void svc_stop(struct svc *svc);
