/* The configuration's domainconnect section (Domain Connect's synchronous flow on the API port,
 * api/api_dconn.c): its templates are loaded here too, so ternd --check and a start refuse a
 * template that does not parse, naming the file and the field. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dconn.h"
#include "ternd/base/config_impl.h"

#define DC_AT(member) offsetof(struct config_domainconnect, member)

/* domainconnect.url: http(s)://HOST[:PORT][/PATH], no query, fragment or final '/'. */
static bool check_url(const char *s, char *why, size_t cap)
{
	const char *h = !strncmp(s, "https://", 8) ? s + 8 : !strncmp(s, "http://", 7) ? s + 7 : NULL;
	size_t n = strlen(s);
	bool ok = h && *h && *h != '/' && *h != ':' && !strpbrk(s, "?#@ \"\\") && s[n - 1] != '/';
	if (!ok) {
		char q[QUOTE_BUF];
		snprintf(why, cap, "%s is not https://HOST[:PORT][/PATH] (no query, no final /)",
		         cfg_quote(s, q, sizeof(q)));
	}
	return ok;
}

/* providerId: what the settings answer names this provider by. */
static bool check_id(const char *s, char *why, size_t cap)
{
	size_t n = strlen(s);
	bool ok =
	    n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
	if (!ok) {
		char q[QUOTE_BUF];
		snprintf(why, cap, "%s is not 1 to 64 letters, digits, '.', '-' or '_'", cfg_quote(s, q, sizeof(q)));
	}
	return ok;
}

bool cfg_finish_domainconnect(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	(void)f;
	(void)where;
	struct config_domainconnect *dc = base;
	dc->enabled = true;
	if (!p->c->api.enabled || !p->c->api.data_dir)
		cfg_perr(p, line,
		         "domainconnect: needs the tenant API (an api section with data-dir and jwks): "
		         "templates are applied to its zones");
	if (!dc->templates)
		return true;
	struct dconn_templates *ts = NULL;
	char err[768];
	if (dconn_templates_load(dc->templates, &ts, err, sizeof(err)) < 0) {
		cfg_perr(p, line, "domainconnect.templates: %s", err);
		return true;
	}
	for (size_t i = 0; i < ts->n; i++)
		if (ts->v[i].pubkey_domain && !dc->resolver.addrlen)
			cfg_perr(
			    p, line,
			    "domainconnect.resolver: needed: template %s (%s/%s) asks for signed requests, whose keys "
			    "are looked up through it",
			    ts->v[i].file, ts->v[i].provider_id, ts->v[i].service_id);
	dconn_templates_free(ts);
	return true;
}

const struct cfg_item cfg_domainconnect_items[] = {
    {.name = "provider-id",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = DC_AT(provider_id),
     .max = 64,
     .check = check_id,
     .help = "this DNS provider's id in GET /v2/{domain}/settings (providerId)"},
    {.name = "provider-name",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = DC_AT(provider_name),
     .max = 255,
     .help = "its name there and on the consent page (providerName)"},
    {.name = "url",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = DC_AT(url),
     .max = 240,
     .check = check_url,
     .help = "the API port's base URL as service providers reach it (urlSyncUX, urlAPI); without its scheme, "
             "the _domainconnect TXT of each zone made"},
    {.name = "templates",
     .type = CFG_PATH,
     .flags = CFG_REQUIRED,
     .offset = DC_AT(templates),
     .help = "the folder of service templates (*.json, the public repository's format), read at start; one "
             "that does not parse stops ternd and ternd --check, naming file and field"},
    {.name = "resolver",
     .type = CFG_ADDR,
     .offset = DC_AT(resolver),
     .help = "the recursive resolver, \"ADDRESS@PORT\", a service provider's signing key "
             "(<key>.<syncPubKeyDomain> TXT) is looked up through; needed when a template asks for signatures"},
    {.name = "resolver-timeout",
     .type = CFG_UINT,
     .offset = DC_AT(resolver_timeout),
     .size = 4,
     .min = 1,
     .max = 60,
     .def = "5",
     .unit = "seconds",
     .help = "one query to domainconnect.resolver at most (no answer: the request is refused, saying so)"},
    {.name = "lookups-per-second",
     .type = CFG_UINT,
     .offset = DC_AT(lookups_per_second),
     .size = 4,
     .min = 1,
     .max = 100000,
     .def = "20",
     .unit = "per second",
     .help = "signing-key lookups through domainconnect.resolver (a key cached for its TTL costs none) and "
             "settings reads, all clients together; over it: 429 with Retry-After, nothing applied"},
    {0},
};
