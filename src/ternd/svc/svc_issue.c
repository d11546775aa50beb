/* One issuance of a service's certificate through acme_issue(): its names (the canonical first),
 * and the row updated with the certificate and its renewal time, or with the failure (the step,
 * the CA's status and problem document) and the next attempt after the backoff. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/acme/acme_client.h"
#include "ternd/base/log.h"
#include "ternd/svc/svc_impl.h"

/* The row's names (one space between) as a list; returns how many (at most cap). */
static size_t split_names(char *names, const char **list, size_t cap)
{
	size_t n = 0;
	char *save = NULL;
	for (char *p = strtok_r(names, " ", &save); p && n < cap; p = strtok_r(NULL, " ", &save))
		list[n++] = p;
	return n;
}

/* The CA's problem document as the API shows it (JSON text, malloc'd), or NULL. */
static char *problem_json(const struct acme_error *e)
{
	if (!e->has_problem)
		return NULL;
	json_t *o = json_pack("{s:s,s:s}", "type", e->problem.type, "detail", e->problem.detail);
	if (o && e->problem.status)
		json_object_set_new(o, "status", json_integer(e->problem.status));
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

static void failed(struct svc *s, struct store_cert *c, const struct acme_error *e, int64_t now)
{
	c->attempts++;
	snprintf(c->fail_step, sizeof(c->fail_step), "%s", acme_step_name(e->step));
	c->fail_status = e->http_status;
	snprintf(c->fail_message, sizeof(c->fail_message), "%s", e->message[0] ? e->message : tern_strerror(e->code));
	free(c->fail_problem);
	c->fail_problem = problem_json(e);
	c->fail_at = now;
	c->next_at = now + svc_backoff(s, c->attempts);
	if (!c->chain)
		snprintf(c->state, sizeof(c->state), "failed");
	else if (c->not_after <= now)
		snprintf(c->state, sizeof(c->state), "expired");
	log_warning("services: service %s: certificate for %s not issued (attempt %lld, step %s): %s%s%s; next "
	            "attempt in %lld s",
	            c->service, c->names, (long long)c->attempts, c->fail_step, c->fail_message,
	            e->has_problem ? "; the CA says: " : "", e->has_problem ? e->problem.detail : "",
	            (long long)(c->next_at - now));
}

bool svc_issue(struct svc *s, struct store_cert *c, int64_t now)
{
	char names[STORE_CERT_TEXT_MAX + 1];
	const char *list[ACME_MAX_NAMES];
	snprintf(names, sizeof(names), "%s", c->names);
	size_t n = split_names(names, list, ACME_MAX_NAMES);
	struct acme_options o = {.directory = s->directory,
	                         .ca_file = s->ca_file,
	                         .account_key = s->account,
	                         .contact = s->contact,
	                         .deadline_s = s->deadline,
	                         .cancel = &s->cancel};
	struct acme_result r;
	struct acme_error e;
	memset(&r, 0, sizeof(r));
	memset(&e, 0, sizeof(e));
	int rc = acme_issue(&o, list, n, &r, &e);
	if (rc < 0) {
		failed(s, c, &e, now);
		return false;
	}
	free(c->chain);
	free(c->key);
	c->chain = r.chain;
	c->key = r.key;
	r.chain = r.key = NULL;
	c->not_before = r.not_before;
	c->not_after = r.not_after;
	c->issued_at = now;
	snprintf(c->order_url, sizeof(c->order_url), "%s", r.order_url);
	snprintf(c->state, sizeof(c->state), "valid");
	c->attempts = 0;
	/* renewal at two thirds of the lifetime; a certificate already past it is renewed after the
	 * backoff's first wait, not at once */
	int64_t renew = r.not_before + (r.not_after - r.not_before) * 2 / 3;
	c->next_at = renew > now ? renew : now + s->retry_min;
	log_info("services: service %s: certificate for %s issued (order %s), valid until %lld, renewal at %lld",
	         c->service, c->names, c->order_url, (long long)c->not_after, (long long)c->next_at);
	acme_result_free(&r);
	return true;
}
