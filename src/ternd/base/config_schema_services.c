/* The configuration's acme section (the stateless http-01 responder) and services section (service
 * domains: the ACME client, ECH keys, aliases; the svc module). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/ech.h"
#include "lib/name.h"
#include "ternd/base/conditions.h"
#include "ternd/base/config_impl.h"

#define R (CFG_RELOAD)

/* acme.responder: a thumbprint or the key to compute it from, not both. */
static bool finish_acme_responder(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { LISTEN, THUMBPRINT, ACCOUNT_KEY };
	(void)where;
	struct config_acme_responder *r = base;
	r->enabled = true;
	if (!f[THUMBPRINT].value == !f[ACCOUNT_KEY].value)
		cfg_perr(p, line, "acme.responder: needs thumbprint or account-key (one of them)");
	return true;
}

static bool check_thumbprint(const char *s, char *why, size_t cap)
{
	size_t n = strlen(s), i = 0;
	for (; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", s[i]))
			break;
	if (n == 43 && i == n)
		return true;
	snprintf(why, cap, "is not an RFC 7638 thumbprint (43 base64url characters)");
	return false;
}

#define ACME_RESPONDER_AT(member) offsetof(struct config_acme_responder, member)
static const struct cfg_item acme_responder_items[] = {
    {.name = "listen",
     .type = CFG_ADDRS,
     .flags = CFG_REQUIRED | CFG_SCALAR_OK,
     .offset = ACME_RESPONDER_AT(listen),
     .count = ACME_RESPONDER_AT(nlisten),
     .min = 1,
     .unit = "address",
     .help = "TCP addresses, \"ADDRESS@PORT\" (the CA asks port 80), answering "
             "GET /.well-known/acme-challenge/TOKEN with TOKEN.THUMBPRINT"},
    {.name = "thumbprint",
     .type = CFG_STRING,
     .offset = ACME_RESPONDER_AT(thumbprint),
     .max = 43,
     .check = check_thumbprint,
     .help = "the ACME account key's RFC 7638 thumbprint (base64url); or account-key"},
    {.name = "account-key",
     .type = CFG_PATH,
     .offset = ACME_RESPONDER_AT(account_key),
     .help = "the ACME account key (PEM, EC P-256) the thumbprint is computed from at start; or thumbprint"},
    {0},
};

const struct cfg_item cfg_acme_items[] = {
    {.name = "responder",
     .type = CFG_SECTION,
     .offset = offsetof(struct config_acme, responder),
     .items = acme_responder_items,
     .finish = finish_acme_responder},
    {0},
};

static const struct cfg_item continent_items[] = {
    {.name = "code",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_region_code, code),
     .check = cfg_check_continent,
     .help = "AF AN AS EU NA OC SA (as the geo database's continent.code)"},
    {0},
};

static const struct cfg_item country_items[] = {
    {.name = "code",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_region_code, code),
     .check = cfg_check_country,
     .help = "ISO 3166-1 alpha-2, upper case (as the geo database's country.iso_code)"},
    {0},
};

/* services.regions[i]: a unique name; no continent or country claimed by an earlier region (a
 * client's region must be one). */
static bool finish_region(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { NAME, CONTINENTS, COUNTRIES };
	struct config_region *r = base;
	struct config_services *sv = &p->c->services;
	char q[QUOTE_BUF];
	r->line = line;
	if (!r->name || !f[NAME].ok)
		return false;
	bool ok = true;
	for (size_t i = 0; i < sv->nregions; i++) {
		const struct config_region *o = &sv->regions[i];
		if (!strcmp(o->name, r->name)) {
			cfg_perr(p, cfg_node_line(f[NAME].value), "%s.name: duplicate region %s (first at line %u)",
			         where, cfg_quote(r->name, q, sizeof(q)), o->line);
			return false;
		}
		for (size_t j = 0; j < r->ncontinents; j++)
			for (size_t k = 0; k < o->ncontinents; k++)
				if (!strcmp(r->continents[j].code, o->continents[k].code)) {
					cfg_perr(p, f[CONTINENTS].line,
					         "%s.continents: %s is region %s's already (line %u)", where,
					         r->continents[j].code, o->name, o->line);
					ok = false;
				}
		for (size_t j = 0; j < r->ncountries; j++)
			for (size_t k = 0; k < o->ncountries; k++)
				if (!strcmp(r->countries[j].code, o->countries[k].code)) {
					cfg_perr(p, f[COUNTRIES].line,
					         "%s.countries: %s is region %s's already (line %u)", where,
					         r->countries[j].code, o->name, o->line);
					ok = false;
				}
	}
	for (size_t j = 0; j < r->ncontinents; j++)
		for (size_t k = 0; k < j; k++)
			if (!strcmp(r->continents[j].code, r->continents[k].code)) {
				cfg_perr(p, f[CONTINENTS].line, "%s.continents: %s is listed twice", where,
				         r->continents[j].code);
				ok = false;
			}
	for (size_t j = 0; j < r->ncountries; j++)
		for (size_t k = 0; k < j; k++)
			if (!strcmp(r->countries[j].code, r->countries[k].code)) {
				cfg_perr(p, f[COUNTRIES].line, "%s.countries: %s is listed twice", where,
				         r->countries[j].code);
				ok = false;
			}
	return ok;
}

#define REGION_AT(member) offsetof(struct config_region, member)
static const struct cfg_item region_items[] = {
    {.name = "name",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED | R,
     .offset = REGION_AT(name),
     .check = cfg_check_region_name,
     .help = "the region's name, as deployments name it (1 to 63 lower-case letters, digits, '-', '_')"},
    {.name = "continents",
     .type = CFG_LIST,
     .flags = CFG_SHORTHAND | R,
     .offset = REGION_AT(continents),
     .size = sizeof(struct config_region_code),
     .count = REGION_AT(ncontinents),
     .items = continent_items,
     .unit = "continent",
     .help = "clients the geo database places in these continents get this region first"},
    {.name = "countries",
     .type = CFG_LIST,
     .flags = CFG_SHORTHAND | R,
     .offset = REGION_AT(countries),
     .size = sizeof(struct config_region_code),
     .count = REGION_AT(ncountries),
     .items = country_items,
     .unit = "country",
     .help = "clients the geo database places in these countries get this region first (before continents)"},
    {0},
};

/* services.acme.directory: an https URL (the client follows nothing else). */
static bool check_acme_directory(const char *s, char *why, size_t cap)
{
	if (!cfg_check_url(s, why, cap))
		return false;
	if (strncmp(s, "https://", 8) == 0)
		return true;
	char q[QUOTE_BUF];
	snprintf(why, cap, "%s is not an https:// URL (the ACME client speaks https only)", cfg_quote(s, q, sizeof(q)));
	return false;
}

/* services.acme.contact: "mailto:" an address, printable ASCII. */
static bool check_acme_contact(const char *s, char *why, size_t cap)
{
	const char *at = strchr(s, '@');
	bool printable = true;
	for (const char *c = s; *c; c++)
		printable = printable && (unsigned char)*c > 0x20 && (unsigned char)*c < 0x7f;
	if (strncmp(s, "mailto:", 7) == 0 && printable && at && at > s + 7 && at[1])
		return true;
	char q[QUOTE_BUF];
	snprintf(why, cap, "%s is not \"mailto:ADDRESS\" (printable ASCII, no space)", cfg_quote(s, q, sizeof(q)));
	return false;
}

/* services.ech.public-name: as clients check it (lib/ech.c). */
static bool check_ech_public_name(const char *s, char *why, size_t cap)
{
	char out[256];
	return ech_public_name_check(s, out, sizeof(out), why, cap) >= 0;
}

#define SV_ACME_AT(member) offsetof(struct config_services_acme, member)
static const struct cfg_item services_acme_items[] = {
    {.name = "directory",
     .type = CFG_STRING,
     .offset = SV_ACME_AT(directory),
     .max = 1024,
     .check = check_acme_directory,
     .help = "the ACME CA's directory URL (https): each service's certificate is issued by it (none: no "
             "certificates)"},
    {.name = "ca-file",
     .type = CFG_PATH,
     .offset = SV_ACME_AT(ca_file),
     .help = "the CA's trust anchor (PEM) for its https URLs (none: the system's)"},
    {.name = "contact",
     .type = CFG_STRING,
     .offset = SV_ACME_AT(contact),
     .max = 256,
     .check = check_acme_contact,
     .help = "\"mailto:ADDRESS\" given to the CA when the account is made"},
    {.name = "deadline",
     .type = CFG_UINT,
     .offset = SV_ACME_AT(deadline),
     .size = 4,
     .min = 10,
     .max = 3600,
     .def = "300",
     .unit = "seconds",
     .help = "one issuance at most (then it fails at the step it reached, and is retried)"},
    {.name = "retry-min",
     .type = CFG_UINT,
     .offset = SV_ACME_AT(retry_min),
     .size = 4,
     .min = 1,
     .max = 86400,
     .def = "60",
     .unit = "seconds",
     .help = "the wait after a failed issuance; it doubles with each failure up to retry-max"},
    {.name = "retry-max",
     .type = CFG_UINT,
     .offset = SV_ACME_AT(retry_max),
     .size = 4,
     .min = 1,
     .max = 604800,
     .def = "21600",
     .unit = "seconds",
     .help = "the longest wait between attempts of a failing issuance"},
    {0},
};

#define SV_ECH_AT(member) offsetof(struct config_services_ech, member)
static const struct cfg_item services_ech_items[] = {
    {.name = "rotate",
     .type = CFG_UINT,
     .offset = SV_ECH_AT(rotate),
     .size = 4,
     .min = 2,
     .max = 31536000,
     .def = "2592000",
     .unit = "seconds",
     .help = "a service's ECH key pair is replaced this often (the old config stays listed for services.https-ttl)"},
    {.name = "public-name",
     .type = CFG_STRING,
     .offset = SV_ECH_AT(public_name),
     .max = 255,
     .check = check_ech_public_name,
     .help = "the ECH configs' public_name, the outer SNI (none: services.zone)"},
    {.name = "max-name-length",
     .type = CFG_UINT,
     .offset = SV_ECH_AT(max_name_length),
     .size = 4,
     .min = 0,
     .max = 255,
     .def = "0",
     .help = "the ECH configs' maximum_name_length (0: unknown, clients pad as they see fit)"},
    {0},
};

/* services: needs the tenant API (read before it); the zone leaves room for a UUID label. */
bool cfg_finish_services(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { ZONE };
	(void)where;
	struct config_services *sv = base;
	sv->enabled = true;
	if (sv->ech.rotate <= sv->https_ttl)
		cfg_perr(p, line,
		         "services.ech.rotate: %u s is not longer than services.https-ttl (%u s): each new ECH config "
		         "must be listed alone for a while",
		         sv->ech.rotate, sv->https_ttl);
	if (sv->acme.retry_max < sv->acme.retry_min)
		cfg_perr(p, line, "services.acme.retry-max: %u s is below retry-min (%u s)", sv->acme.retry_max,
		         sv->acme.retry_min);
	if (!p->c->api.enabled || !p->c->api.data_dir)
		cfg_perr(p, line,
		         "services: needs the tenant API (an api section with data-dir and jwks): services are "
		         "made through it");
	if (f[ZONE].value && f[ZONE].ok && name_len(sv->zone) + 37 > NAME_MAXLEN)
		cfg_perr(p, cfg_node_line(f[ZONE].value),
		         "services.zone: too long: canonical names <36-character UUID>.<zone> would pass 255 octets");
	return true;
}

#define SERVICES_AT(member) offsetof(struct config_services, member)
const struct cfg_item cfg_services_items[] = {
    {.name = "zone",
     .type = CFG_NAME,
     .flags = CFG_REQUIRED | R,
     .offset = SERVICES_AT(zone),
     .help = "an API zone (made through the API first) under which each service's canonical name "
             "<uuid>.<zone> is made; existing services keep theirs when it changes"},
    {.name = "ttl",
     .type = CFG_UINT,
     .flags = R,
     .offset = SERVICES_AT(ttl),
     .size = 4,
     .min = 1,
     .max = 86400,
     .def = "300",
     .unit = "seconds",
     .help = "TTL of a service's A and AAAA answers unless its deployment gives one"},
    {.name = "max-per-tenant",
     .type = CFG_UINT,
     .flags = R,
     .offset = SERVICES_AT(max_per_tenant),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 10000000,
     .def = "1000",
     .help = "services one tenant may hold (a creation past it is refused, 403)"},
    {.name = "https-ttl",
     .type = CFG_UINT,
     .offset = SERVICES_AT(https_ttl),
     .size = 4,
     .min = 1,
     .max = 86400,
     .def = "3600",
     .unit = "seconds",
     .help = "TTL of a service's HTTPS record; a rotated ECH config stays listed this long"},
    {.name = "acme",
     .type = CFG_SECTION,
     .offset = SERVICES_AT(acme),
     .items = services_acme_items,
     .help = "certificates for each service's names (ACME http-01)"},
    {.name = "ech",
     .type = CFG_SECTION,
     .offset = SERVICES_AT(ech),
     .items = services_ech_items,
     .help = "each service's Encrypted ClientHello key pair"},
    {.name = "regions",
     .type = CFG_LIST,
     .flags = CFG_REQUIRED | R,
     .offset = SERVICES_AT(regions),
     .size = sizeof(struct config_region),
     .count = SERVICES_AT(nregions),
     .min = 1,
     .max = CONFIG_REGIONS_MAX,
     .items = region_items,
     .finish = finish_region,
     .unit = "region",
     .help = "the platform's ingress regions {name, continents, countries}, in the order answers fall back "
             "through; a change applies to deployments made after it"},
    {.name = "resolver",
     .type = CFG_ADDR,
     .offset = SERVICES_AT(resolver),
     .help = "the recursive resolver, \"ADDRESS@PORT\", a service's aliases are looked up through (HTTPS, then "
             "SVCB; none: an alias is refused, saying so)"},
    {.name = "resolver-timeout",
     .type = CFG_UINT,
     .offset = SERVICES_AT(resolver_timeout),
     .size = 4,
     .min = 1,
     .max = 60,
     .def = "5",
     .unit = "seconds",
     .help = "one query to services.resolver at most (an alias with no answer is refused, with that reason)"},
    {.name = "max-aliases",
     .type = CFG_UINT,
     .flags = R,
     .offset = SERVICES_AT(max_aliases),
     .size = sizeof(unsigned),
     .min = 0,
     .max = 99,
     .def = "20",
     .help = "aliases one service may hold (an addition past it is refused, 409)"},
    {0},
};
