/* The configuration schema: every key of a configuration file in one table (type, range, default,
 * where it goes in struct config, whether a reload applies it, what it means), and the checks that
 * span several keys. config.c walks it to read a file, print the reference and compare two. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/dnssec.h"
#include "lib/dnssec_policy.h"
#include "lib/ech.h"
#include "lib/name.h"
#include "lib/tls_client.h"
#include "lib/tsig.h"
#include "ternd/base/conditions.h"
#include "ternd/base/config_impl.h"

#define CONFIG_AT(member) offsetof(struct config, member)
#define R (CFG_RELOAD)
#define SECONDS_MAX 2147483647ul

static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const serial_policies[] = {"date", "increment", NULL};
static const char *const denials[] = {"nsec", "nsec3", NULL};
static const char *const key_schemes[] = {"ksk-zsk", "csk", NULL};

static const struct cfg_item server_items[] = {
    {.name = "listen",
     .type = CFG_ADDRS,
     .flags = CFG_REQUIRED,
     .offset = CONFIG_AT(listen),
     .count = CONFIG_AT(nlisten),
     .min = 1,
     .unit = "address",
     .help = "UDP and TCP listen addresses, \"ADDRESS@PORT\" or \"ADDRESS\" (port 53)"},
    {.name = "identity",
     .type = CFG_STRING,
     .flags = R,
     .offset = CONFIG_AT(nsid),
     .max = 255,
     .help = "NSID (RFC 5001) payload; not sent when absent"},
    {.name = "edns-buffer-size",
     .type = CFG_UINT,
     .flags = R,
     .offset = CONFIG_AT(edns_size),
     .size = 2,
     .min = 512,
     .max = 4096,
     .def = "1232",
     .unit = "bytes",
     .help = "UDP payload advertised, and the largest UDP answer sent"},
    {.name = "udp-workers",
     .type = CFG_UINT,
     .offset = CONFIG_AT(udp_workers),
     .size = sizeof(unsigned),
     .min = 0,
     .max = 256,
     .def = "0",
     .help = "threads per listen address, each with its own SO_REUSEPORT socket; 0 = one per CPU"},
    {.name = "tcp-idle-timeout",
     .type = CFG_UINT,
     .flags = R,
     .offset = CONFIG_AT(tcp_idle_timeout_ms),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 3600,
     .scale = 1000,
     .def = "10",
     .unit = "seconds",
     .help = "how long a TCP connection may stay idle (RFC 7766)"},
    {.name = "max-zones",
     .type = CFG_UINT,
     .flags = R,
     .offset = CONFIG_AT(max_zones),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 100000000,
     .def = "2000000",
     .help = "zones this server serves at most: listed, made through the API and catalog members together"},
    {.name = "tcp-max-clients",
     .type = CFG_UINT,
     .offset = CONFIG_AT(tcp_max_clients),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 1000000,
     .def = "1024",
     .help = "TCP connections open at once"},
    {.name = "tcp-max-clients-per-address",
     .type = CFG_UINT,
     .flags = R,
     .offset = CONFIG_AT(tcp_max_clients_per_address),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 1000000,
     .def = "32",
     .help = "of those, from one IPv4 address or one IPv6 /64"},
    {.name = "dnssec-test-timings",
     .type = CFG_BOOL,
     .flags = R,
     .offset = CONFIG_AT(dnssec_test_timings),
     .size = sizeof(bool),
     .def = "false",
     .help = "for tests only: allows RFC 5011 hold-downs below a day and DS checks below a minute"},
    {.name = "user",
     .type = CFG_STRING,
     .offset = CONFIG_AT(user),
     .max = 32,
     .help = "started as root, ternd becomes this user (keeping only the right to bind ports below 1024) "
             "before it opens a zone, the store or a socket; root keeps root, which ternd refuses without it "
             "(or TERND_ALLOW_ROOT=1)"},
    {.name = "group",
     .type = CFG_STRING,
     .offset = CONFIG_AT(group),
     .max = 32,
     .help = "the group it becomes with server.user (default: that user's own group)"},
    {0},
};

static const struct cfg_item log_items[] = {
    {.name = "level",
     .type = CFG_ENUM,
     .flags = R,
     .offset = CONFIG_AT(log_level),
     .size = sizeof(int),
     .names = log_levels,
     .def = "info",
     .help = "the least severe message logged"},
    {.name = "format",
     .type = CFG_ENUM,
     .flags = R,
     .offset = CONFIG_AT(log_format),
     .size = sizeof(int),
     .names = log_formats,
     .def = "text",
     .help = "text: \"TIME LEVEL: message\" lines; json: one object a line (time, level, message) for log "
             "pipelines; under journald each line starts with its syslog priority (<3> for errors)"},
    {0},
};

/* keys[i]: the name not used by another key. A key refused for its algorithm or secret still goes
 * in by name with TSIG_ALG_NONE, so references to it are not reported as unknown too (the
 * configuration is refused anyway). */
static bool finish_key(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { NAME, ALG, SECRET };
	struct config_key *k = base;
	char field[64], q[QUOTE_BUF], msg[160];
	k->line = line;
	if (!f[NAME].value || !f[NAME].ok)
		return false;
	const char *name = cfg_scalar_text(f[NAME].value);
	for (size_t i = 0; i < p->c->nkeys; i++) {
		if (name_equal(p->c->keys[i].key.name, k->key.name)) {
			cfg_perr(p, cfg_node_line(f[NAME].value), "%s.name: duplicate key %s (first at line %u)", where,
			         cfg_quote(name, q, sizeof(q)), p->c->keys[i].line);
			return false;
		}
	}
	uint8_t wire[NAME_MAXLEN];
	memcpy(wire, k->key.name, name_len(k->key.name));
	/* name and algorithm are known good: what tsig_key_init can still find wrong is the secret */
	if (f[ALG].ok && f[SECRET].ok && f[ALG].value && f[SECRET].value) {
		if (tsig_key_init(&k->key, name, cfg_scalar_text(f[ALG].value), cfg_scalar_text(f[SECRET].value), msg,
		                  sizeof(msg)) == 0)
			return true;
		snprintf(field, sizeof(field), "%s.secret", where);
		cfg_perr(p, cfg_node_line(f[SECRET].value), "%s: %s", field, msg);
	}
	memset(&k->key, 0, sizeof(k->key));
	memcpy(k->key.name, wire, name_len(wire));
	return true;
}

static const struct cfg_item key_items[] = {
    {.name = "name",
     .type = CFG_NAME,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_key, key.name),
     .help = "the key's name, a domain name"},
    {.name = "algorithm",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED | R,
     .offset = CFG_NONE,
     .check = cfg_check_tsig_alg,
     .help = "hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512"},
    {.name = "secret",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED | R,
     .offset = CFG_NONE,
     .help = "base64, as `tsig-keygen` or `keymgr -t` print it"},
    {0},
};

/* zones[i]'s XoT settings (RFC 9103 section 9.3, strict TLS): the tls-* keys only with a tls://
 * primary, and every tls:// primary authenticated by tls-auth-name (against tls-ca-file, or the
 * system's CAs) or tls-pin; the CA file read now, so --check names it. Lines 0: key absent. */
static bool finish_zone_tls(struct parse *p, const struct config_zone *z, unsigned name_line, unsigned ca_line,
                            unsigned pin_line, unsigned line, const char *where)
{
	bool tls = false;
	char why[256];
	for (size_t i = 0; i < z->nprimaries; i++)
		tls |= z->primaries[i].tls;
	unsigned first = name_line ? name_line : ca_line ? ca_line : pin_line;
	if (!tls && first) {
		cfg_perr(p, first, "%s.%s: only a zone with a tls:// primary takes TLS settings", where,
		         name_line ? "tls-auth-name"
		         : ca_line ? "tls-ca-file"
		                   : "tls-pin");
		return false;
	}
	if (!tls)
		return true;
	if (!z->tls_auth_name && !z->tls_pin) {
		cfg_perr(p, line,
		         "%s.tls-auth-name: required with a tls:// primary unless tls-pin is set (RFC 9103 strict "
		         "TLS: the primary is authenticated by its name or its key)",
		         where);
		return false;
	}
	if (z->tls_ca_file && !z->tls_auth_name) {
		cfg_perr(p, ca_line, "%s.tls-ca-file: needs tls-auth-name, the name the certificate is checked for",
		         where);
		return false;
	}
	if (z->tls_ca_file && tls_ca_file_check(z->tls_ca_file, why, sizeof(why)) < 0) {
		cfg_perr(p, ca_line, "%s.tls-ca-file: %s", where, why);
		return false;
	}
	return true;
}

static bool check_tls_pin(const char *s, char *why, size_t cap)
{
	uint8_t pin[TLS_PIN_LEN];
	return tls_pin_parse(s, pin, why, cap) == 0;
}

static bool check_tls_auth_name(const char *s, char *why, size_t cap)
{
	return tls_auth_name_check(s, why, cap) == 0;
}

/* zones[i]: a valid name not listed before; key and catalog for secondary zones only; a file, or
 * a name that makes one (set by finish_root). */
static bool finish_zone(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { NAME, FILE_, PRIMARY, KEY, CATALOG, POLICY, DOWNSTREAM, TLS_NAME, TLS_CA, TLS_PIN };
	struct config_zone *z = base;
	char q[QUOTE_BUF], t[NAME_MAXLEN * 4 + 8];
	uint8_t apex[NAME_MAXLEN];
	bool ok = true;
	z->line = line;
	z->policy_line = f[POLICY].line;
	for (size_t i = 0; i <= TLS_PIN; i++)
		ok = ok && (!f[i].value || f[i].ok);
	if (z->name && name_from_text(apex, z->name, NULL) < 0) {
		cfg_perr(p, cfg_node_line(f[NAME].value), "%s.name: %s is not a valid domain name", where,
		         cfg_quote(z->name, q, sizeof(q)));
		return false;
	}
	if (!z->name)
		return false;
	name_lower(apex);
	const struct config_zone *first = config_zone_find(p->c, apex);
	if (first) {
		cfg_apex_text(apex, t, sizeof(t));
		cfg_perr(p, line, "%s: duplicate zone %s (first at line %u)", where, t, first->line);
		return false;
	}
	if (f[KEY].value && !f[PRIMARY].value) {
		cfg_perr(p, f[KEY].line,
		         "%s.key: only a secondary zone (one with a primary) takes a key; transfer.allow "
		         "and transfer.notify say which keys transfers out and NOTIFY use",
		         where);
		ok = false;
	} else if (z->key_ref) {
		z->key = &p->c->keys[z->key_ref - 1].key; /* keys never move: read whole before zones */
	}
	if (f[POLICY].value && z->catalog) {
		cfg_perr(p, f[POLICY].line,
		         "%s.dnssec-policy: a catalog consumed is read, not served to resolvers: it is not signed",
		         where);
		ok = false;
	}
	if (z->signed_downstream && f[POLICY].value) {
		cfg_perr(p, f[DOWNSTREAM].line,
		         "%s.signed-downstream: a zone signed downstream is signed by its secondaries, not by ternd: "
		         "it takes no dnssec-policy",
		         where);
		ok = false;
	} else if (z->signed_downstream && f[PRIMARY].value) {
		cfg_perr(p, f[DOWNSTREAM].line,
		         "%s.signed-downstream: only a zone file (one ternd is the primary of) is signed downstream",
		         where);
		ok = false;
	}
	if (z->catalog && !f[PRIMARY].value) {
		cfg_perr(p, f[CATALOG].line,
		         "%s.catalog: only a secondary zone (one with a primary) can be a catalog to consume", where);
		ok = false;
	}
	if (ok && !finish_zone_tls(p, z, f[TLS_NAME].value ? f[TLS_NAME].line : 0, f[TLS_CA].value ? f[TLS_CA].line : 0,
	                           f[TLS_PIN].value ? f[TLS_PIN].line : 0, line, where))
		ok = false;
	if (!f[FILE_].value && !f[PRIMARY].value) {
		cfg_perr(p, line, "%s.file: missing required key", where);
		ok = false;
	} else if (!f[FILE_].value && ok && !cfg_copy_file_name(apex, t, sizeof(t))) {
		cfg_perr(p, line, "%s.file: required: the zone name cannot make a file name", where);
		ok = false;
	}
	if (!ok)
		return false;
	/* kept: zones[nzones] is this element (read_list counts it next); its apex as long as the name */
	if ((z->apex = malloc(name_len(apex))) != NULL)
		memcpy(z->apex, apex, name_len(apex));
	if (!z->apex || !cfg_zone_index_add(p->c, p->c->nzones)) {
		free(z->apex); /* dropped with the element (read_list) */
		z->apex = NULL;
		p->nomem = true;
	}
	return true;
}

static const struct cfg_item zone_items[] = {
    {.name = "name",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_zone, name),
     .help = "the zone's name"},
    {.name = "file",
     .type = CFG_PATH,
     .flags = R,
     .offset = offsetof(struct config_zone, file),
     .help = "RFC 1035 master file; for a secondary zone its last good copy (default <data dir>/<zone>.zone)"},
    {.name = "primary",
     .type = CFG_ADDRS,
     .flags = CFG_SCALAR_OK | CFG_TLS_OK | R,
     .offset = offsetof(struct config_zone, primaries),
     .count = offsetof(struct config_zone, nprimaries),
     .min = 1,
     .unit = "address",
     .help = "makes it a secondary zone, pulled by IXFR/AXFR from these, in order; tls://ADDRESS[:PORT] "
             "(port 853): over TLS (XoT, RFC 9103)"},
    {.name = "key",
     .type = CFG_KEYREF,
     .flags = R,
     .offset = offsetof(struct config_zone, key_ref),
     .help = "secondary zone: TSIG key signing SOA queries, transfers and NOTIFY with the primaries"},
    {.name = "catalog",
     .type = CFG_BOOL,
     .flags = R,
     .offset = offsetof(struct config_zone, catalog),
     .def = "false",
     .help = "secondary zone: a catalog (RFC 9432) whose members are pulled too"},
    {.name = "dnssec-policy",
     .type = CFG_STRING,
     .flags = R,
     .offset = offsetof(struct config_zone, dnssec_policy),
     .max = DNSSEC_POLICY_NAME_MAX,
     .help = "signed by ternd (zone file, or secondary: what the primary sends) with this "
             "dnssec-policies entry, or default (needs api.data-dir)"},
    {.name = "signed-downstream",
     .type = CFG_BOOL,
     .flags = R,
     .offset = offsetof(struct config_zone, signed_downstream),
     .def = "false",
     .help = "zone file: its secondaries sign it (Knot at a PoP); a file holding DNSSEC records is refused"},
    {.name = "tls-auth-name",
     .type = CFG_STRING,
     .flags = R,
     .offset = offsetof(struct config_zone, tls_auth_name),
     .check = check_tls_auth_name,
     .help = "secondary zone with a tls:// primary: the name (or IP address) its certificate must hold"},
    {.name = "tls-ca-file",
     .type = CFG_PATH,
     .flags = R,
     .offset = offsetof(struct config_zone, tls_ca_file),
     .help = "secondary zone with a tls:// primary: PEM CA certificates tls-auth-name is checked against "
             "(default: the system's)"},
    {.name = "tls-pin",
     .type = CFG_STRING,
     .flags = R,
     .offset = offsetof(struct config_zone, tls_pin),
     .check = check_tls_pin,
     .help = "secondary zone with a tls:// primary: base64 SHA-256 of its certificate's SubjectPublicKeyInfo "
             "(RFC 7858 SPKI pin)"},
    {0},
};

/* api: data-dir and jwks make the tenant API; with neither, the API serves /healthz and /metrics
 * only, so a PoP reports its health without a key set or a store. */
static bool finish_api(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { LISTEN, DATA, JWKS, LEGACY, RATE, BURST, SERIAL, NS, HOSTMASTER };
	enum { MAXCLIENTS = 15, PERADDR = 16 };
	(void)where;
	struct config_api *a = base;
	a->enabled = true;
	enum { JWKS_URL = 20, JWKS_CA = 21 };
	bool tenants = f[DATA].value || f[JWKS].value || f[JWKS_URL].value;
	if (!f[DATA].value && tenants)
		cfg_perr(p, line, "api.data-dir: missing required key (the tenant API needs data-dir and jwks)");
	if (!f[JWKS].value && !f[JWKS_URL].value && tenants)
		cfg_perr(p, line,
		         "api.jwks: missing required key (the tenant API needs data-dir and jwks or jwks-url)");
	if (f[JWKS].value && f[JWKS_URL].value)
		cfg_perr(p, cfg_node_line(f[JWKS_URL].value),
		         "api.jwks-url: api.jwks is set too: the keys come from a file or from a URL, not both");
	if (f[JWKS_CA].value && !f[JWKS_URL].value)
		cfg_perr(p, cfg_node_line(f[JWKS_CA].value), "api.jwks-ca-file: needs api.jwks-url");
	a->has_hostmaster = f[HOSTMASTER].value && f[HOSTMASTER].ok;
	if (a->max_clients_per_address > a->max_clients && f[PERADDR].value)
		cfg_perr(p, cfg_node_line(f[PERADDR].value),
		         "api.max-clients-per-address: %u is more than api.max-clients (%u)",
		         a->max_clients_per_address, a->max_clients);
	else if (a->max_clients_per_address > a->max_clients)
		a->max_clients_per_address = a->max_clients; /* the default, under a small max-clients */
	return true;
}

#define API_AT(member) offsetof(struct config_api, member)
static const struct cfg_item api_items[] = {
    {.name = "listen",
     .type = CFG_ADDR,
     .flags = CFG_REQUIRED,
     .offset = API_AT(listen),
     .help = "the HTTP API's address, \"ADDRESS@PORT\""},
    {.name = "data-dir",
     .type = CFG_PATH,
     .offset = API_AT(data_dir),
     .help = "holds tern.db (SQLite); with jwks, makes the tenant API"},
    {.name = "jwks",
     .type = CFG_PATH,
     .flags = R,
     .offset = API_AT(jwks),
     .help = "public keys (RS256/ES256) bearer tokens are verified against; read again on SIGHUP"},
    {.name = "legacy-tenant-header",
     .type = CFG_BOOL,
     .flags = R,
     .offset = API_AT(legacy_tenant_header),
     .def = "false",
     .help = "accept X-Tenant-ID without a token (migration only)"},
    {.name = "rate-limit",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(rate),
     .size = sizeof(unsigned),
     .min = 0,
     .max = 1000000,
     .def = "50",
     .help = "requests a second per tenant (token bucket); 0 = off"},
    {.name = "rate-burst",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(burst),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 1000000,
     .def = "100",
     .help = "the token bucket's size"},
    {.name = "serial-policy",
     .type = CFG_ENUM,
     .flags = R,
     .offset = API_AT(serial_increment),
     .size = sizeof(bool),
     .names = serial_policies,
     .def = "date",
     .help = "SOA serials of API zones: YYYYMMDDnn, or +1 per change"},
    {.name = "nameservers",
     .type = CFG_NAMES,
     .flags = R,
     .offset = API_AT(nameservers),
     .count = API_AT(nnameservers),
     .help = "NS records of new zones"},
    {.name = "hostmaster",
     .type = CFG_NAME,
     .flags = R,
     .offset = API_AT(hostmaster),
     .help = "SOA RNAME of new zones (default hostmaster.<zone>)"},
    {.name = "default-ttl",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(default_ttl),
     .size = 4,
     .min = 0,
     .max = SECONDS_MAX,
     .def = "3600",
     .unit = "seconds",
     .help = "TTL of records of new zones"},
    {.name = "soa-refresh",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(soa_refresh),
     .size = 4,
     .min = 1,
     .max = SECONDS_MAX,
     .def = "7200",
     .unit = "seconds",
     .help = "SOA refresh of new zones"},
    {.name = "soa-retry",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(soa_retry),
     .size = 4,
     .min = 1,
     .max = SECONDS_MAX,
     .def = "900",
     .unit = "seconds",
     .help = "SOA retry of new zones"},
    {.name = "soa-expire",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(soa_expire),
     .size = 4,
     .min = 1,
     .max = SECONDS_MAX,
     .def = "1209600",
     .unit = "seconds",
     .help = "SOA expire of new zones"},
    {.name = "soa-minimum",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(soa_minimum),
     .size = 4,
     .min = 0,
     .max = SECONDS_MAX,
     .def = "300",
     .unit = "seconds",
     .help = "SOA minimum (negative TTL) of new zones"},
    {.name = "journal-keep",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(journal_keep),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 1000000,
     .def = "1000",
     .help = "changes kept per zone at least (IXFR, history)"},
    {.name = "max-clients",
     .type = CFG_UINT,
     .offset = API_AT(max_clients),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 65536,
     .def = "1024",
     .help = "HTTP connections open at once"},
    {.name = "max-clients-per-address",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(max_clients_per_address),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 65536,
     .def = "32",
     .help = "of those, from one IPv4 address or IPv6 /64 (at most max-clients)"},
    {.name = "request-timeout",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(request_timeout_ms),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 3600,
     .scale = 1000,
     .def = "10",
     .unit = "seconds",
     .help = "for a whole request, header and body, from its first byte (408 after)"},
    {.name = "idle-timeout",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(idle_timeout_ms),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 3600,
     .scale = 1000,
     .def = "30",
     .unit = "seconds",
     .help = "how long a kept-alive connection may wait for its next request"},
    {.name = "max-zones-per-tenant",
     .type = CFG_UINT,
     .flags = R,
     .offset = API_AT(max_zones_per_tenant),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 100000000,
     .def = "100000",
     .help = "API zones one tenant may hold (admin tokens are not held to it)"},
    {.name = "jwks-url",
     .type = CFG_STRING,
     .offset = API_AT(jwks_url),
     .max = 2000,
     .check = cfg_check_https_url,
     .help = "instead of jwks: the identity provider's key set, fetched at start and kept in the store (a "
             "restart with the provider down verifies tokens); a token with an unknown kid fetches it again "
             "(at most once a minute)"},
    {.name = "jwks-ca-file",
     .type = CFG_PATH,
     .offset = API_AT(jwks_ca_file),
     .help = "PEM certificates that authenticate jwks-url's server (default: the system's)"},
    {.name = "jwks-max-age",
     .type = CFG_SECONDS,
     .offset = API_AT(jwks_max_age_ms),
     .min = 1000,
     .max = 604800000,
     .def = "86400",
     .unit = "seconds",
     .help = "a fetched key set is fetched again after this, or sooner when its Cache-Control max-age says so"},
    {.name = "jwks-timeout",
     .type = CFG_SECONDS,
     .offset = API_AT(jwks_timeout_ms),
     .min = 100,
     .max = 120000,
     .def = "10",
     .unit = "seconds",
     .help = "one fetch of jwks-url, connection to last byte; the set in use stays when it runs out"},
    {0},
};

static const struct cfg_item allow_items[] = {
    {.name = "address",
     .type = CFG_PREFIX,
     .flags = CFG_REQUIRED | R,
     .offset = 0,
     .help = "who may transfer: \"PREFIX\" or an address"},
    {.name = "key",
     .type = CFG_KEYREF,
     .flags = R,
     .offset = offsetof(struct config_prefix, key),
     .help = "the TSIG key the request must be signed with too"},
    {0},
};

static const struct cfg_item notify_items[] = {
    {.name = "address",
     .type = CFG_ADDR,
     .flags = CFG_REQUIRED | R,
     .offset = 0,
     .help = "a secondary sent NOTIFY on every change, \"ADDRESS@PORT\""},
    {.name = "key",
     .type = CFG_KEYREF,
     .flags = R,
     .offset = offsetof(struct config_listen, key),
     .help = "the TSIG key NOTIFY is signed with (only a verified answer acknowledges it)"},
    {0},
};

#define TRANSFER_AT(member) offsetof(struct config_transfer, member)
static const struct cfg_item transfer_items[] = {
    {.name = "allow",
     .type = CFG_LIST,
     .flags = CFG_SHORTHAND | R,
     .offset = TRANSFER_AT(allow),
     .size = sizeof(struct config_prefix),
     .count = TRANSFER_AT(nallow),
     .items = allow_items,
     .help = "who may AXFR/IXFR besides the notify targets: \"PREFIX\" or {address, key}"},
    {.name = "notify",
     .type = CFG_LIST,
     .flags = CFG_SHORTHAND | R,
     .offset = TRANSFER_AT(notify),
     .size = sizeof(struct config_listen),
     .count = TRANSFER_AT(nnotify),
     .items = notify_items,
     .help = "secondaries sent NOTIFY (RFC 1996): \"ADDRESS@PORT\" or {address, key}"},
    {.name = "refresh-workers",
     .type = CFG_UINT,
     .offset = TRANSFER_AT(refresh_workers),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 64,
     .def = "4",
     .help = "secondary zones refreshed at once (threads asking the primaries, each keeping a TCP "
             "connection per primary)"},
    {0},
};

static const struct cfg_item monitor_allow_items[] = {
    {.name = "address",
     .type = CFG_PREFIX,
     .flags = CFG_REQUIRED | R,
     .offset = 0,
     .help = "a network the monitors may probe besides public unicast addresses: \"PREFIX\" or an address"},
    {0},
};

static const struct cfg_item monitors_items[] = {
    {.name = "allow",
     .type = CFG_LIST,
     .flags = CFG_SHORTHAND | R,
     .offset = offsetof(struct config_monitors, allow),
     .size = sizeof(struct config_prefix),
     .count = offsetof(struct config_monitors, nallow),
     .items = monitor_allow_items,
     .unit = "prefix",
     .help = "networks beyond public unicast that DYN members' monitors may connect to (loopback, RFC 1918, "
             "link-local, documentation ...: none by default); a member outside is never probed and counts "
             "as down, and an API write adding one is refused"},
    {0},
};

/* signals.hooks[].condition: a condition's name or "*". */
static bool check_condition(const char *s, char *why, size_t cap)
{
	if (!strcmp(s, "*") || signal_cond_find(s) >= 0)
		return true;
	char list[256] = "";
	size_t used = 0;
	for (int i = 0; i < SIGNAL_NCOND && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
		                         signal_cond_name((enum signal_cond)i));
	char q[QUOTE_BUF];
	snprintf(why, cap, "%s is not a condition (%s, or * for every one)", cfg_quote(s, q, sizeof(q)), list);
	return false;
}

/* signals.hooks[i]: the condition's index; the program a regular file ternd may execute. */
static bool finish_hook(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	struct config_signal_hook *h = base;
	h->line = line;
	if (!h->condition || !h->exec)
		return false;
	h->cond = signal_cond_find(h->condition);
	struct stat st;
	char q[QUOTE_BUF];
	unsigned at = f[1].value ? cfg_node_line(f[1].value) : line;
	if (stat(h->exec, &st) < 0 || !S_ISREG(st.st_mode) || access(h->exec, X_OK) < 0) {
		cfg_perr(p, at, "%s.exec: %s is not an executable file", where, cfg_quote(h->exec, q, sizeof(q)));
		return false;
	}
	return true;
}

/* signals.hooks[].env[]: NAME=VALUE, NAME of letters, digits and '_', not starting with a digit. */
static bool check_env(const char *s, char *why, size_t cap)
{
	const char *eq = strchr(s, '=');
	bool ok = eq && eq > s && !(s[0] >= '0' && s[0] <= '9');
	for (const char *p = s; ok && p < eq; p++)
		ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
	if (!ok) {
		char q[QUOTE_BUF];
		snprintf(why, cap, "%s is not NAME=VALUE (NAME: letters, digits and _)", cfg_quote(s, q, sizeof(q)));
	}
	return ok;
}

static const struct cfg_item hook_env_items[] = {
    {.name = "value",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_hook_env, value),
     .max = 4096,
     .check = check_env,
     .help = "NAME=VALUE"},
    {0},
};

static const struct cfg_item hook_items[] = {
    {.name = "condition",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_signal_hook, condition),
     .check = check_condition,
     .help = "the condition whose changes run it (running, shutting-down, zone-ready, all-zones-ready, "
             "zone-updated, refresh-failed, zone-expiring, query-rate-high, query-rate-rising, "
             "signatures-expiring, ede, ksk-submission), or * for every one"},
    {.name = "exec",
     .type = CFG_PATH,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_signal_hook, exec),
     .help = "the program run (no shell): argv CONDITION STATE [NAME=VALUE...], environment TERN_CONDITION, "
             "TERN_STATE, TERN_TIME, TERN_ZONE and TERN_<ARGUMENT>"},
    {.name = "timeout",
     .type = CFG_SECONDS,
     .flags = R,
     .offset = offsetof(struct config_signal_hook, timeout_ms),
     .min = 1,
     .max = 3600000,
     .def = "10",
     .help = "killed (SIGKILL) when it runs longer; the next hook runs then"},
    {.name = "env",
     .type = CFG_LIST,
     .flags = CFG_SHORTHAND | R,
     .offset = offsetof(struct config_signal_hook, env),
     .size = sizeof(struct config_hook_env),
     .count = offsetof(struct config_signal_hook, nenv),
     .max = 32,
     .items = hook_env_items,
     .unit = "NAME=VALUE",
     .help = "added to the program's environment (e.g. the BIRD protocol tern-anycast-hook switches)"},
    {0},
};

/* signals.dbus.bus: system, session, or an address "transport:key=value,..." (';' between
 * alternatives), as libdbus takes it; whether the bus is there is seen at run time. */
static bool check_dbus_bus(const char *s, char *why, size_t cap)
{
	if (!strcmp(s, "system") || !strcmp(s, "session"))
		return true;
	const char *p = s;
	do {
		size_t t = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
		if (!t || p[t] != ':')
			break;
		p += t + 1;
		while (*p && *p != ';') { /* key=value pairs */
			size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
			size_t v = k && p[k] == '=' ? strcspn(p + k + 1, ",;") : 0;
			if (!k || p[k] != '=' || !v)
				goto bad;
			p += k + 1 + v;
			if (*p == ',' && (!p[1] || p[1] == ';' || p[1] == ','))
				goto bad; /* a pair must follow */
			if (*p == ',')
				p++;
		}
		if (!*p)
			return true;
	} while (*p++ == ';' && *p);
bad:;
	char q[QUOTE_BUF];
	snprintf(why, cap, "%s is not system, session or a D-Bus address (unix:path=/run/dbus/system_bus_socket)",
	         cfg_quote(s, q, sizeof(q)));
	return false;
}

static const struct cfg_item signals_dbus_items[] = {
    {.name = "enabled",
     .type = CFG_BOOL,
     .flags = R,
     .offset = offsetof(struct config_signals_dbus, enabled),
     .size = sizeof(bool),
     .def = "false",
     .help = "emits a D-Bus signal per change of a condition, as org.tern.ternd (the name the policy file "
             "dist/org.tern.ternd.conf lets user tern own)"},
    {.name = "bus",
     .type = CFG_STRING,
     .flags = R,
     .offset = offsetof(struct config_signals_dbus, bus),
     .max = 1024,
     .def = "system",
     .check = check_dbus_bus,
     .help = "system (DBUS_SYSTEM_BUS_ADDRESS when set, else unix:path=/run/dbus/system_bus_socket), session "
             "(DBUS_SESSION_BUS_ADDRESS) or a D-Bus address"},
    {0},
};

/* signals.mqtt.broker: mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (1883, 8883 by default), HOST a name
 * or an address ([...] for IPv6), nothing after. What is wrong, or NULL with host, port and tls. */
static const char *mqtt_url_problem(const char *s, char *host, size_t cap, unsigned *port, bool *tls)
{
	const char *at;
	if (!strncmp(s, "mqtt://", 7))
		*tls = false, at = s + 7;
	else if (!strncmp(s, "mqtts://", 8))
		*tls = true, at = s + 8;
	else
		return "is not an MQTT URL (mqtt://HOST[:PORT] or mqtts://HOST[:PORT])";
	*port = *tls ? 8883 : 1883;
	const char *end;
	if (*at == '[') {
		end = strchr(at, ']');
		if (!end || end == at + 1 || strspn(at + 1, "0123456789abcdefABCDEF:.") != (size_t)(end - at - 1))
			return "has a bad IPv6 address (mqtt://[ADDRESS]:PORT)";
		at++;
	} else {
		end = at + strspn(at, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
		if (end == at)
			return "has no host";
	}
	if ((size_t)(end - at) >= cap)
		return "has a host name that is too long";
	memcpy(host, at, (size_t)(end - at));
	host[end - at] = 0;
	const char *rest = *end == ']' ? end + 1 : end;
	if (*rest == ':') {
		char *stop;
		unsigned long v = rest[1] >= '0' && rest[1] <= '9' ? strtoul(rest + 1, &stop, 10) : 0;
		if (!v || v > 65535 || *stop)
			return "has a bad port (1 to 65535)";
		*port = (unsigned)v;
		rest = stop;
	}
	if (*rest == '/' && !rest[1])
		rest++;
	if (*rest)
		return "has something after HOST:PORT (no path, user or query)";
	return NULL;
}

static bool mqtt_loopback(const char *host)
{
	return !strcmp(host, "localhost") || !strcmp(host, "::1") ||
	       (!strncmp(host, "127.", 4) && strspn(host, "0123456789.") == strlen(host));
}

/* A file ternd must read: what is wrong with it, or NULL. */
static const char *unreadable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return "does not exist";
	if (!S_ISREG(st.st_mode))
		return "is not a regular file";
	if (access(path, R_OK) < 0)
		return "cannot be read";
	return NULL;
}

/* signals.mqtt: the broker's URL parsed; never anonymous (a username and its password file, or a
 * TLS client certificate and its key); plain MQTT only on loopback unless insecure; each file
 * readable. Each problem names its key. */
static bool finish_mqtt(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { BROKER, POP, USER, PASSWORD, CA, CERT, KEY, KEEPALIVE, INSECURE };
	struct config_signals_mqtt *m = base;
	(void)where;
	char q[QUOTE_BUF];
	unsigned before = p->nerr;
	m->enabled = true;
	if (m->broker && f[BROKER].ok) {
		const char *why = mqtt_url_problem(m->broker, m->host, sizeof(m->host), &m->port, &m->tls);
		if (why)
			cfg_perr(p, f[BROKER].line, "signals.mqtt.broker: %s %s", cfg_quote(m->broker, q, sizeof(q)),
			         why);
		else if (!m->tls && !m->insecure && !mqtt_loopback(m->host))
			cfg_perr(
			    p, f[BROKER].line,
			    "signals.mqtt.broker: %s is MQTT without TLS to a broker not on loopback (mqtts://, or "
			    "signals.mqtt.insecure: true)",
			    cfg_quote(m->broker, q, sizeof(q)));
		else if (!m->tls && (m->ca_file || m->cert_file))
			cfg_perr(p, f[CA].value ? f[CA].line : f[CERT].line,
			         "signals.mqtt.%s: a TLS file for a broker without TLS (mqtts://)",
			         f[CA].value ? "ca-file" : "cert-file");
	}
	if (!m->username && !m->cert_file)
		cfg_perr(
		    p, line,
		    "signals.mqtt.username: missing (an anonymous broker is refused: username and password-file, or "
		    "cert-file and key-file)");
	if (m->username && !m->password_file)
		cfg_perr(p, f[USER].line, "signals.mqtt.password-file: missing (the username's password)");
	if (m->password_file && !m->username)
		cfg_perr(p, f[PASSWORD].line, "signals.mqtt.username: missing (whose password is password-file)");
	if (m->cert_file && !m->key_file)
		cfg_perr(p, f[CERT].line, "signals.mqtt.key-file: missing (the key of cert-file)");
	if (m->key_file && !m->cert_file)
		cfg_perr(p, f[KEY].line, "signals.mqtt.cert-file: missing (the certificate of key-file)");
	static const char *const names[] = {"password-file", "ca-file", "cert-file", "key-file"};
	const char *files[] = {m->password_file, m->ca_file, m->cert_file, m->key_file};
	const int at[] = {PASSWORD, CA, CERT, KEY};
	for (int i = 0; i < 4; i++) {
		const char *why = files[i] ? unreadable(files[i]) : NULL;
		if (why)
			cfg_perr(p, f[at[i]].line, "signals.mqtt.%s: %s %s", names[i],
			         cfg_quote(files[i], q, sizeof(q)), why);
	}
	return p->nerr == before;
}

#define MQTT_AT(member) offsetof(struct config_signals_mqtt, member)
static const struct cfg_item mqtt_items[] = {
    {.name = "broker",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = MQTT_AT(broker),
     .max = 300,
     .help = "the MQTT broker signals are published to, mqtt://HOST[:PORT] (loopback only, unless insecure) or "
             "mqtts://HOST[:PORT]; retained topics tern/POP/CONDITION[/ZONE], QoS 1, last will tern/POP/crashed"},
    {.name = "pop",
     .type = CFG_STRING,
     .offset = MQTT_AT(pop),
     .check = cfg_check_pop_name,
     .help = "this server's name in the topics (default: the host name)"},
    {.name = "username",
     .type = CFG_STRING,
     .offset = MQTT_AT(username),
     .max = 256,
     .help = "the broker's user, with password-file (or a client certificate: one of them is required)"},
    {.name = "password-file",
     .type = CFG_PATH,
     .offset = MQTT_AT(password_file),
     .help = "a file whose first line is username's password (read at the start, as server.user)"},
    {.name = "ca-file",
     .type = CFG_PATH,
     .offset = MQTT_AT(ca_file),
     .help = "the CA certificates (PEM) an mqtts:// broker is verified with (default: the system's)"},
    {.name = "cert-file",
     .type = CFG_PATH,
     .offset = MQTT_AT(cert_file),
     .help = "a TLS client certificate (PEM) ternd authenticates with, with key-file"},
    {.name = "key-file",
     .type = CFG_PATH,
     .offset = MQTT_AT(key_file),
     .help = "the private key (PEM, not encrypted) of cert-file; TLS files are read at each connection, as "
             "server.user"},
    {.name = "keepalive",
     .type = CFG_UINT,
     .offset = MQTT_AT(keepalive),
     .size = sizeof(unsigned),
     .min = 5,
     .max = 65535,
     .def = "10",
     .help = "seconds between pings (libmosquitto takes 5 or more); the broker publishes the last will "
             "after 1.5 times this without news from a lost host (at once when ternd's connection closes)"},
    {.name = "insecure",
     .type = CFG_BOOL,
     .offset = MQTT_AT(insecure),
     .def = "false",
     .help = "allows mqtt:// (no TLS) to a broker not on loopback"},
    {0},
};

static const struct cfg_item ede_code_items[] = {
    {.name = "code",
     .type = CFG_UINT,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_ede_code, code),
     .size = sizeof(unsigned),
     .min = 0,
     .max = 63,
     .help = "an Extended DNS Error info code (RFC 8914 4; ternd answers 14, 18, 20, 21 and 24)"},
    {0},
};

#define EDE_AT(member) offsetof(struct config_signals_ede, member)
static const struct cfg_item signals_ede_items[] = {
    {.name = "codes",
     .type = CFG_LIST,
     .flags = CFG_SHORTHAND | R,
     .offset = EDE_AT(codes),
     .size = sizeof(struct config_ede_code),
     .count = EDE_AT(ncodes),
     .max = 64,
     .items = ede_code_items,
     .unit = "code",
     .help = "the Extended DNS Error codes (0 to 63) whose answers set ede (none: never set), e.g. [14, 24]"},
    {.name = "interval",
     .type = CFG_UINT,
     .flags = R,
     .offset = EDE_AT(interval),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 3600,
     .def = "10",
     .unit = "seconds",
     .help = "answers are counted over this; ede of a zone is set (again, with the new count) at most once "
             "an interval"},
    {.name = "threshold",
     .type = CFG_UINT,
     .flags = R,
     .offset = EDE_AT(threshold),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 1000000000,
     .def = "1",
     .unit = "answers",
     .help = "answers with one code in an interval that set ede of their zone"},
    {.name = "quiet",
     .type = CFG_UINT,
     .flags = R,
     .offset = EDE_AT(quiet),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 86400,
     .def = "60",
     .unit = "seconds",
     .help = "ede of a zone is cleared after this long without such an answer"},
    {.name = "max-zones",
     .type = CFG_UINT,
     .flags = R,
     .offset = EDE_AT(max_zones),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 10000,
     .def = "100",
     .unit = "zones",
     .help = "zones whose ede is tracked at once; the answers of any other zone (and those of no zone of "
             "ours) count in the one ede without a zone"},
    {0},
};

static const struct cfg_item signals_items[] = {
    {.name = "drain-delay",
     .type = CFG_SECONDS,
     .flags = R,
     .offset = offsetof(struct config_signals, drain_ms),
     .min = 0,
     .max = 3600000,
     .def = "0",
     .help = "on SIGTERM, how long ternd keeps answering after it signals shutting-down (so routes are "
             "withdrawn before the sockets close)"},
    {.name = "zone-expiring-lead",
     .type = CFG_SECONDS,
     .flags = R,
     .offset = offsetof(struct config_signals, expiring_lead_ms),
     .min = 0,
     .max = 2147483000,
     .def = "0",
     .help = "zone-expiring is set this long before a secondary zone's copy expires (0: when it expires), "
             "and cleared by the next successful refresh"},
    {.name = "signatures-expiring-lead",
     .type = CFG_SECONDS,
     .flags = R,
     .offset = offsetof(struct config_signals, sig_lead_ms),
     .min = 0,
     .max = 2147483000,
     .def = "0",
     .help = "signatures-expiring is set this long before a zone's earliest RRSIG expires, cleared when it "
             "is re-signed (0: signatures not watched; each version of a signed zone is walked once)"},
    {.name = "query-rate-high",
     .type = CFG_UINT,
     .flags = R,
     .offset = offsetof(struct config_signals, rate_high),
     .size = sizeof(unsigned),
     .min = 0,
     .max = 1000000000,
     .def = "0",
     .unit = "queries/s",
     .help = "query-rate-high is set when the queries a second over query-rate-window reach this, cleared "
             "below 80% of it (0: never)"},
    {.name = "query-rate-rising",
     .type = CFG_UINT,
     .flags = R,
     .offset = offsetof(struct config_signals, rate_rising),
     .size = sizeof(unsigned),
     .min = 0,
     .max = 1000000000,
     .def = "0",
     .unit = "queries/s per s",
     .help = "query-rate-rising is set when the rate grows this much a second from one window to the "
             "next, cleared below half of it (0: never)"},
    {.name = "query-rate-window",
     .type = CFG_UINT,
     .flags = R,
     .offset = offsetof(struct config_signals, rate_window),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 3600,
     .def = "10",
     .unit = "seconds",
     .help = "the sliding window the query rates are measured over (sampled every second)"},
    {.name = "hooks",
     .type = CFG_LIST,
     .flags = R,
     .offset = offsetof(struct config_signals, hooks),
     .size = sizeof(struct config_signal_hook),
     .count = offsetof(struct config_signals, nhooks),
     .items = hook_items,
     .finish = finish_hook,
     .unit = "hook",
     .help = "programs run, in this order, for each change of a condition's state"},
    {.name = "dbus", .type = CFG_SECTION, .offset = offsetof(struct config_signals, dbus), .items = signals_dbus_items},
    {.name = "mqtt",
     .type = CFG_SECTION,
     .offset = offsetof(struct config_signals, mqtt),
     .items = mqtt_items,
     .finish = finish_mqtt,
     .help = "publishes every condition to an MQTT broker (signals/mqtt.c)"},
    {.name = "ede",
     .type = CFG_SECTION,
     .offset = offsetof(struct config_signals, ede),
     .items = signals_ede_items,
     .help = "the ede condition: answers with an Extended DNS Error, counted per zone (signals/ede.c)"},
    {0},
};

/* pops.list[i]: names unique. */
static bool finish_pop(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	struct config_pop *pop = base;
	char q[QUOTE_BUF];
	pop->line = line;
	for (size_t i = 0; pop->name && i < p->c->pops.n; i++) {
		if (!strcmp(p->c->pops.list[i].name, pop->name)) {
			cfg_perr(p, cfg_node_line(f[0].value), "%s.name: duplicate PoP %s (first at line %u)", where,
			         cfg_quote(pop->name, q, sizeof(q)), p->c->pops.list[i].line);
			return false;
		}
	}
	return pop->name && pop->healthz;
}

static const struct cfg_item pop_items[] = {
    {.name = "name",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = offsetof(struct config_pop, name),
     .check = cfg_check_pop_name,
     .help = "letters, digits, '.', '_', '-' (the `pop` label in /metrics)"},
    {.name = "healthz",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = offsetof(struct config_pop, healthz),
     .check = cfg_check_url,
     .help = "the PoP's /healthz, an http:// or https:// URL"},
    {0},
};

/* pops: needs the tenant API (read before it); the timeout within the interval. */
static bool finish_pops(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { INTERVAL, DOWN, TIMEOUT };
	(void)where;
	struct config_pops *c = base;
	if (!p->c->api.enabled || (!p->c->api.jwks && !p->c->api.data_dir))
		cfg_perr(p, line,
		         "pops: needs the tenant API (an api section with data-dir and jwks): "
		         "/api/v1/pops and /metrics report the PoPs there");
	if (!f[TIMEOUT].value)
		c->timeout_ms = c->timeout_ms < c->interval_ms ? c->timeout_ms : c->interval_ms;
	else if (f[TIMEOUT].ok && f[INTERVAL].ok && c->timeout_ms > c->interval_ms)
		cfg_perr(p, cfg_node_line(f[TIMEOUT].value), "pops.timeout: %g seconds is more than pops.interval (%g)",
		         c->timeout_ms / 1000.0, c->interval_ms / 1000.0);
	return true;
}

#define POPS_AT(member) offsetof(struct config_pops, member)
static const struct cfg_item pops_items[] = {
    {.name = "interval",
     .type = CFG_SECONDS,
     .offset = POPS_AT(interval_ms),
     .min = 10,
     .max = 86400000,
     .def = "60",
     .help = "seconds between polls of each PoP (fractions allowed, e.g. 0.2)"},
    {.name = "down-after",
     .type = CFG_UINT,
     .offset = POPS_AT(down_after),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 1000,
     .def = "3",
     .help = "missed polls in a row before a PoP is down (up on the next good one)"},
    {.name = "timeout",
     .type = CFG_SECONDS,
     .offset = POPS_AT(timeout_ms),
     .min = 10,
     .max = 3600000,
     .def = "2",
     .help = "seconds per poll, never more than interval (the default is cut to it)"},
    {.name = "list",
     .type = CFG_LIST,
     .flags = CFG_REQUIRED,
     .offset = POPS_AT(list),
     .size = sizeof(struct config_pop),
     .count = POPS_AT(n),
     .min = 1,
     .items = pop_items,
     .finish = finish_pop,
     .unit = "PoP",
     .help = "the PoPs polled: {name, healthz}"},
    {0},
};

/* catalog: the catalog zone produced (RFC 9432). Its name is a zone of its own and short enough
 * for member entries <40-digit id>.zones.<name>; its serial is kept in the API's data directory
 * (read before it), else beside the configuration file. */
static bool finish_catalog(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	(void)line;
	(void)where;
	struct config_catalog *c = base;
	char t[NAME_MAXLEN * 4 + 2], file[NAME_MAXLEN * 4 + 16];
	if (!f[0].value || !f[0].ok)
		return true;
	cfg_apex_text(c->apex, t, sizeof(t));
	if (name_len(c->apex) + 2 + 40 + 6 > NAME_MAXLEN) {
		cfg_perr(p, cfg_node_line(f[0].value),
		         "catalog.zone: %s is too long: member entries <40-digit id>.zones.%s would pass 255 octets", t,
		         t);
		return true;
	}
	const struct config_zone *also = config_zone_find(p->c, c->apex);
	if (also) {
		cfg_perr(p, cfg_node_line(f[0].value),
		         "catalog.zone: %s is also zones[%zu] (line %u): the catalog must be a zone of its own", t,
		         (size_t)(also - p->c->zones), also->line);
		return true;
	}
	if (cfg_copy_file_name(c->apex, file, sizeof(file) - 8)) /* "<zone>.zone" -> "<zone>.serial" */
		strcpy(file + strlen(file) - 4, "serial");
	else
		strcpy(file, "catalog.serial");
	c->state_file = cfg_path_join(p, p->c->api.data_dir ? p->c->api.data_dir : p->basedir, file);
	c->enabled = c->state_file != NULL;
	return true;
}

static const struct cfg_item catalog_items[] = {
    {.name = "zone",
     .type = CFG_NAME,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_catalog, apex),
     .help = "the catalog zone (RFC 9432 version 2) listing every zone served from a file or the API"},
    {0},
};

#define GEO_AT(member) offsetof(struct config_geo, member)
static const struct cfg_item geo_items[] = {
    {.name = "database",
     .type = CFG_PATH,
     .flags = CFG_REQUIRED | R,
     .offset = GEO_AT(database),
     .help = "MaxMind DB file (country.iso_code, continent.code) for `geo country` and `geo continent`; "
             "replaced when it changes, a file that does not check is refused and the old one kept"},
    {.name = "check-interval",
     .type = CFG_SECONDS,
     .flags = R,
     .offset = GEO_AT(check_interval_ms),
     .min = 100,
     .max = 86400000,
     .def = "60",
     .help = "seconds between checks of the database file for a new version (a reload checks at once)"},
    {0},
};

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

static const struct cfg_item acme_items[] = {
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
static bool finish_services(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
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
static const struct cfg_item services_items[] = {
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

/* zones[i].dnssec-policy: a dnssec-policies entry by name, or "default" (the built-in defaults,
 * unless an entry is named so); the zone's keys and signed versions live in the store, so the
 * api section needs a data-dir. Policies are read after zones, so this is the whole file's check. */
static bool resolve_zone_policy(struct parse *p, struct config_zone *z, size_t i)
{
	char q[QUOTE_BUF];
	if (!z->dnssec_policy)
		return true;
	if (!p->c->api.data_dir) {
		cfg_perr(p, z->policy_line,
		         "zones[%zu].dnssec-policy: a zone signed by ternd keeps its keys and signed versions in the "
		         "store: the api section needs a data-dir",
		         i);
		return false;
	}
	for (size_t j = 0; j < p->c->ndnssec_policies; j++) {
		if (strcmp(p->c->dnssec_policies[j].policy.name, z->dnssec_policy) == 0) {
			z->policy = &p->c->dnssec_policies[j].policy;
			return true;
		}
	}
	if (strcmp(z->dnssec_policy, "default") == 0) {
		dnssec_policy_default(&p->c->default_policy);
		z->policy = &p->c->default_policy;
		return true;
	}
	cfg_perr(p, z->policy_line, "zones[%zu].dnssec-policy: no policy %s in dnssec-policies (nor \"default\")", i,
	         cfg_quote(z->dnssec_policy, q, sizeof(q)));
	return false;
}

/* The whole file: secondary zones without a file keep their copy in <data dir>/<zone>.zone, the
 * data dir being the API's when there is one, else the configuration file's directory. */
static bool finish_root(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	(void)base;
	(void)f;
	(void)line;
	(void)where;
	const char *dir = p->c->api.data_dir ? p->c->api.data_dir : p->basedir;
	char text[NAME_MAXLEN * 4 + 8];
	for (size_t i = 0; i < p->c->nzones; i++)
		if (!p->c->zones[i].file && cfg_copy_file_name(p->c->zones[i].apex, text, sizeof(text)))
			p->c->zones[i].file = cfg_path_join(p, dir, text);
	bool ok = true;
	for (size_t i = 0; i < p->c->nzones; i++)
		ok = resolve_zone_policy(p, &p->c->zones[i], i) && ok;
	if (p->c->nzones > p->c->max_zones) {
		cfg_perr(p, p->c->zones[p->c->max_zones].line,
		         "zones: %zu zones listed, more than server.max-zones (%u): this one is the first over it",
		         p->c->nzones, p->c->max_zones);
		ok = false;
	}
	return ok;
}

/* dnssec-policies[i]: a unique name, an algorithm Tern signs with, and values that can work
 * together (dnssec_policy_check names the key at fault). */
static bool finish_dnssec_policy(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { NAME = 0, ALG = 1, SALT = 4, ZSK = 8 };
	struct config_dnssec_policy *dp = base;
	struct dnssec_policy *pol = &dp->policy;
	char why[256], q[QUOTE_BUF];
	dp->line = line;
	if (!f[NAME].value || !f[NAME].ok)
		return false;
	const char *name = cfg_scalar_text(f[NAME].value);
	if (!name[0] || strlen(name) > DNSSEC_POLICY_NAME_MAX) {
		cfg_perr(p, cfg_node_line(f[NAME].value), "%s.name: 1 to %d characters", where, DNSSEC_POLICY_NAME_MAX);
		return false;
	}
	for (size_t i = 0; i < p->c->ndnssec_policies; i++) {
		if (strcmp(p->c->dnssec_policies[i].policy.name, name) == 0) {
			cfg_perr(p, cfg_node_line(f[NAME].value), "%s.name: duplicate policy %s (first at line %u)",
			         where, cfg_quote(name, q, sizeof(q)), p->c->dnssec_policies[i].line);
			return false;
		}
	}
	snprintf(pol->name, sizeof(pol->name), "%s", name);
	pol->algorithm = DNSSEC_ALG_ECDSAP256SHA256;
	if (f[ALG].value &&
	    dnssec_policy_alg_parse(cfg_scalar_text(f[ALG].value), &pol->algorithm, why, sizeof(why)) < 0) {
		cfg_perr(p, cfg_node_line(f[ALG].value), "%s.algorithm: %s", where, why);
		return false;
	}
	const char *salt = f[SALT].value ? cfg_scalar_text(f[SALT].value) : "";
	pol->nsec.salt_len = salt[0] && strcmp(salt, "-") != 0 ? 1 : 0;
	pol->nsec.nsec3 = dp->denial == 1;
	pol->csk = dp->keys == 1;
	if (pol->csk && !f[ZSK].value) /* zsk-lifetime's default has no ZSK to apply to */
		pol->zsk_lifetime = 0;
	pol->nparents = 0;
	for (size_t i = 0; i < dp->nparents && i < DNSSEC_POLICY_PARENTS_MAX; i++)
		snprintf(pol->parents[pol->nparents++], sizeof(pol->parents[0]), "%.63s", dp->parents[i].text);
	if (dp->nparents > DNSSEC_POLICY_PARENTS_MAX)
		pol->nparents = DNSSEC_POLICY_PARENTS_MAX + 1;
	const char *field = NULL;
	if (dnssec_policy_check(pol, &field, why, sizeof(why)) < 0 ||
	    dnssec_policy_check_timings(pol, p->c->dnssec_test_timings, &field, why, sizeof(why)) < 0) {
		cfg_perr(p, line, "%s.%s: %s", where, field, why);
		return false;
	}
	return true;
}

#define DP_AT(member) offsetof(struct config_dnssec_policy, member)
#define DP_SECONDS(key, member, default, text)                                                                         \
	{                                                                                                              \
		.name = key, .type = CFG_UINT, .flags = R, .offset = DP_AT(policy.member), .size = 4, .min = 0,        \
		.max = SECONDS_MAX, .def = default, .unit = "seconds", .help = text                                    \
	}

/* finish_dnssec_policy reads name, algorithm, nsec3-salt and zsk-lifetime by their place here. */
static const struct cfg_item dnssec_policy_items[] = {
    {.name = "name",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED | R,
     .offset = CFG_NONE,
     .max = DNSSEC_POLICY_NAME_MAX,
     .help = "the policy's name, which an API zone's PUT .../dnssec {\"policy\": NAME} refers to"},
    {.name = "algorithm",
     .type = CFG_STRING,
     .flags = R,
     .offset = CFG_NONE,
     .def = "ecdsap256sha256",
     .help = "ecdsap256sha256 (13) or ed25519 (15); RFC 8624's deprecated ones are refused"},
    {.name = "denial",
     .type = CFG_ENUM,
     .flags = R,
     .offset = DP_AT(denial),
     .size = sizeof(int),
     .names = denials,
     .def = "nsec",
     .help = "the denial chain: nsec or nsec3"},
    {.name = "nsec3-iterations",
     .type = CFG_UINT,
     .flags = R,
     .offset = DP_AT(policy.nsec.iterations),
     .size = 2,
     .min = 0,
     .max = 65535,
     .def = "0",
     .help = "must be 0 (RFC 9276)"},
    {.name = "nsec3-salt",
     .type = CFG_STRING,
     .flags = R,
     .offset = CFG_NONE,
     .def = "-",
     .help = "must be \"-\" (none, RFC 9276)"},
    {.name = "nsec3-opt-out",
     .type = CFG_BOOL,
     .flags = R,
     .offset = DP_AT(policy.nsec.optout),
     .def = "false",
     .help = "NSEC3 opt-out (RFC 5155 6): unsigned delegations get no NSEC3"},
    {.name = "keys",
     .type = CFG_ENUM,
     .flags = R,
     .offset = DP_AT(keys),
     .size = sizeof(int),
     .names = key_schemes,
     .def = "ksk-zsk",
     .help = "a KSK and a ZSK, or one CSK"},
    DP_SECONDS("ksk-lifetime", ksk_lifetime, "0", "KSK lifetime; 0 = never rolled"),
    DP_SECONDS("zsk-lifetime", zsk_lifetime, "2592000", "ZSK lifetime; 0 = never rolled"),
    DP_SECONDS("csk-lifetime", csk_lifetime, "0", "CSK lifetime (keys: csk); 0 = never rolled"),
    DP_SECONDS("dnskey-ttl", dnskey_ttl, "3600", "TTL of the DNSKEY, CDS and CDNSKEY RRsets"),
    DP_SECONDS("max-zone-ttl", max_zone_ttl, "86400",
               "the largest TTL a signed zone's records may have (larger ones are refused); 0 = any"),
    DP_SECONDS("propagation-delay", propagation_delay, "3600", "from the primary to every secondary"),
    DP_SECONDS("rrsig-lifetime", rrsig_lifetime, "1209600", "validity of a signature; above refresh + jitter"),
    DP_SECONDS("rrsig-refresh", rrsig_refresh, "604800", "signatures expiring within this are made anew"),
    DP_SECONDS("rrsig-jitter", rrsig_jitter, "43200", "each signature expires up to this much earlier, at random"),
    DP_SECONDS("rrsig-inception-offset", rrsig_inception, "3600", "inception this long before signing"),
    {.name = "cds",
     .type = CFG_BOOL,
     .flags = R,
     .offset = DP_AT(policy.cds),
     .def = "true",
     .help = "publish CDS and CDNSKEY (RFC 7344) for the KSK or CSK"},
    {.name = "parents",
     .type = CFG_ADDRS,
     .flags = R | CFG_SCALAR_OK,
     .offset = DP_AT(parents),
     .count = DP_AT(nparents),
     .unit = "address",
     .help = "the parent zone's servers, asked for a new KSK's DS every ds-check-interval"},
    DP_SECONDS("ds-ttl", ds_ttl, "86400", "the TTL of the parent's DS RRset: an old KSK stays this long"),
    DP_SECONDS("ds-check-interval", ds_check_interval, "3600",
               "how often the parents are asked for a new KSK's DS (below 60 only with dnssec-test-timings)"),
    {.name = "rfc5011",
     .type = CFG_BOOL,
     .flags = R,
     .offset = DP_AT(policy.rfc5011),
     .def = "false",
     .help = "RFC 5011 rollovers: a new KSK waits add-holddown, the old one is published revoked"},
    DP_SECONDS("add-holddown", add_holddown, "2592000", "RFC 5011 add hold-down (below a day: tests only)"),
    DP_SECONDS("remove-holddown", remove_holddown, "2592000", "RFC 5011 remove hold-down (below a day: tests only)"),
    {0},
};

/* cookies.secret: 16 octets as 32 hex digits (RFC 9018 4.4: a SipHash-2-4 key). */
static bool check_cookie_secret(const char *s, char *why, size_t cap)
{
	size_t n = strlen(s), i = 0;
	while (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
		i++;
	if (n == 32 && i == n)
		return true;
	char q[QUOTE_BUF];
	if (i < n)
		snprintf(why, cap, "%s is not hexadecimal (32 hex digits: a 16-octet SipHash key)",
		         cfg_quote(s, q, sizeof(q)));
	else
		snprintf(why, cap, "%s has %zu hex digits, not 32 (a 16-octet SipHash key)", cfg_quote(s, q, sizeof(q)),
		         n);
	return false;
}

static unsigned hex_value(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/* 32 hex digits (check_cookie_secret judged them) into 16 octets; false when text is not that. */
static bool cookie_secret(const char *text, uint8_t out[16])
{
	if (!text || strlen(text) != 32)
		return false;
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)(hex_value(text[2 * i]) << 4 | hex_value(text[2 * i + 1]));
	return true;
}

/* cookies: the secrets decoded; a previous secret needs a secret. */
static bool finish_cookies(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	(void)where;
	(void)line;
	struct config_cookies *c = base;
	c->secret_set = cookie_secret(c->secret_text, c->secret);
	c->previous_set = cookie_secret(c->previous_text, c->previous);
	if (f[2].value && f[2].ok && !f[1].value)
		cfg_perr(p, f[2].line, "cookies.previous-secret: needs cookies.secret (the one that replaced it)");
	return true;
}

#define COOKIES_AT(member) offsetof(struct config_cookies, member)
static const struct cfg_item cookies_items[] = {
    {.name = "enabled",
     .type = CFG_BOOL,
     .flags = R,
     .offset = COOKIES_AT(enabled),
     .size = sizeof(bool),
     .def = "true",
     .help = "DNS cookies (RFC 7873): a client's cookie gets a server cookie (RFC 9018) back; a valid one "
             "exempts it from rrl"},
    {.name = "secret",
     .type = CFG_STRING,
     .flags = R,
     .offset = COOKIES_AT(secret_text),
     .max = 64,
     .check = check_cookie_secret,
     .help = "32 hex digits: the SipHash-2-4 key of server cookies (RFC 9018: the same on every server of "
             "an anycast address, Knot's and BIND's too); absent: a random one, rotated every rotation"},
    {.name = "previous-secret",
     .type = CFG_STRING,
     .flags = R,
     .offset = COOKIES_AT(previous_text),
     .max = 64,
     .check = check_cookie_secret,
     .help = "the secret before cookies.secret: cookies it made are still accepted (a rotation by hand)"},
    {.name = "rotation",
     .type = CFG_SECONDS,
     .flags = R,
     .offset = COOKIES_AT(rotation_ms),
     .min = 1000,
     .max = 604800000,
     .def = "86400",
     .help = "without cookies.secret: seconds each period's key (derived from the random secret) makes new "
             "server cookies; those of the period before are still accepted"},
    {.name = "require-size",
     .type = CFG_UINT,
     .flags = R,
     .offset = COOKIES_AT(require_size),
     .size = sizeof(unsigned),
     .min = 0,
     .max = 65535,
     .def = "0",
     .unit = "bytes",
     .help = "UDP answers longer than this go only to a valid server cookie: BADCOOKIE to a client that sent "
             "a cookie, TC=1 to one that sent none (RFC 7873 5.2.3); 0 = never"},
    {0},
};

static const struct cfg_item rrl_whitelist_items[] = {
    {.name = "address",
     .type = CFG_PREFIX,
     .flags = CFG_REQUIRED | R,
     .offset = 0,
     .help = "a network never rate-limited: \"PREFIX\" or an address"},
    {0},
};

static const struct cfg_item rrl_zone_items[] = {
    {.name = "zone",
     .type = CFG_NAME,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_rrl_zone, apex),
     .help = "a zone with its own limit"},
    {.name = "responses-per-second",
     .type = CFG_UINT,
     .flags = CFG_REQUIRED | R,
     .offset = offsetof(struct config_rrl_zone, rate),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 1000000,
     .help = "its responses per second per client prefix and kind"},
    {0},
};

#define RRL_AT(member) offsetof(struct config_rrl, member)
static const struct cfg_item rrl_items[] = {
    {.name = "enabled",
     .type = CFG_BOOL,
     .flags = R,
     .offset = RRL_AT(enabled),
     .size = sizeof(bool),
     .def = "false",
     .help = "response rate limiting of UDP answers (the BIND/Knot model) per client prefix and kind"},
    {.name = "responses-per-second",
     .type = CFG_UINT,
     .flags = R,
     .offset = RRL_AT(rate),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 1000000,
     .def = "20",
     .help = "responses per second to one client prefix of one kind (answers by name and type; NXDOMAIN, "
             "no data and referrals by zone; errors)"},
    {.name = "window",
     .type = CFG_UINT,
     .flags = R,
     .offset = RRL_AT(window),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 60,
     .def = "4",
     .unit = "seconds",
     .help = "seconds of responses a quiet prefix may save up and send at once (Knot's is 4)"},
    {.name = "slip",
     .type = CFG_UINT,
     .flags = R,
     .offset = RRL_AT(slip),
     .size = sizeof(unsigned),
     .min = 0,
     .max = 10,
     .def = "2",
     .help = "every slip-th limited response is sent truncated (TC=1, no records) so a real client asks "
             "over TCP, the others are dropped; 0 = drop all, 1 = truncate all"},
    {.name = "ipv4-prefix",
     .type = CFG_UINT,
     .flags = R,
     .offset = RRL_AT(ipv4_prefix),
     .size = sizeof(unsigned),
     .min = 8,
     .max = 32,
     .def = "24",
     .help = "IPv4 clients are counted per prefix of this length"},
    {.name = "ipv6-prefix",
     .type = CFG_UINT,
     .flags = R,
     .offset = RRL_AT(ipv6_prefix),
     .size = sizeof(unsigned),
     .min = 16,
     .max = 128,
     .def = "56",
     .help = "IPv6 clients are counted per prefix of this length"},
    {.name = "table-size",
     .type = CFG_UINT,
     .offset = RRL_AT(table_size),
     .size = sizeof(unsigned),
     .min = 64,
     .max = 16777216,
     .def = "65536",
     .help = "buckets per UDP worker (16 bytes each; when full the least recently used of 4 is reused)"},
    {.name = "log-only",
     .type = CFG_BOOL,
     .flags = R,
     .offset = RRL_AT(log_only),
     .size = sizeof(bool),
     .def = "false",
     .help = "count what would be limited (tern_dns_rrl_limited_total) and answer everything"},
    {.name = "whitelist",
     .type = CFG_LIST,
     .flags = CFG_SHORTHAND | R,
     .offset = RRL_AT(whitelist),
     .size = sizeof(struct config_prefix),
     .count = RRL_AT(nwhitelist),
     .items = rrl_whitelist_items,
     .unit = "prefix",
     .help = "networks never limited"},
    {.name = "zones",
     .type = CFG_LIST,
     .flags = R,
     .offset = RRL_AT(zones),
     .size = sizeof(struct config_rrl_zone),
     .count = RRL_AT(nzones),
     .max = 64,
     .items = rrl_zone_items,
     .unit = "zone",
     .help = "zones with their own responses-per-second, {zone, responses-per-second} (at most 64)"},
    {0},
};

/* The top level, in the order sections are read: keys before zones and transfer (which name
 * keys), api before pops and catalog (which need it), zones before catalog. */
static const struct cfg_item root_items[] = {
    {.name = "server", .type = CFG_SECTION, .flags = CFG_REQUIRED, .offset = 0, .items = server_items},
    {.name = "log", .type = CFG_SECTION, .offset = 0, .items = log_items},
    {.name = "keys",
     .type = CFG_LIST,
     .flags = CFG_SECRET | R,
     .offset = CONFIG_AT(keys),
     .size = sizeof(struct config_key),
     .count = CONFIG_AT(nkeys),
     .max = UINT16_MAX - 1,
     .items = key_items,
     .finish = finish_key,
     .unit = "key",
     .help = "TSIG keys (RFC 8945), referred to by name"},
    {.name = "zones",
     .type = CFG_LIST,
     .flags = R,
     .offset = CONFIG_AT(zones),
     .size = sizeof(struct config_zone),
     .count = CONFIG_AT(nzones),
     .items = zone_items,
     .finish = finish_zone,
     .unit = "zone",
     .help = "the zones served from files, and the secondary zones"},
    {.name = "dnssec-policies",
     .type = CFG_LIST,
     .flags = R,
     .offset = CONFIG_AT(dnssec_policies),
     .size = sizeof(struct config_dnssec_policy),
     .count = CONFIG_AT(ndnssec_policies),
     .items = dnssec_policy_items,
     .finish = finish_dnssec_policy,
     .unit = "policy",
     .help = "named DNSSEC signing policies that API zones refer to"},
    {.name = "api", .type = CFG_SECTION, .offset = CONFIG_AT(api), .items = api_items, .finish = finish_api},
    {.name = "transfer", .type = CFG_SECTION, .offset = CONFIG_AT(transfer), .items = transfer_items},
    {.name = "pops", .type = CFG_SECTION, .offset = CONFIG_AT(pops), .items = pops_items, .finish = finish_pops},
    {.name = "geo", .type = CFG_SECTION, .offset = CONFIG_AT(geo), .items = geo_items},
    {.name = "monitors", .type = CFG_SECTION, .offset = CONFIG_AT(monitors), .items = monitors_items},
    {.name = "signals", .type = CFG_SECTION, .offset = CONFIG_AT(signals), .items = signals_items},
    {.name = "update", .type = CFG_SECTION, .offset = CONFIG_AT(update), .items = cfg_update_items},
    {.name = "acme", .type = CFG_SECTION, .offset = CONFIG_AT(acme), .items = acme_items},
    {.name = "services",
     .type = CFG_SECTION,
     .offset = CONFIG_AT(services),
     .items = services_items,
     .finish = finish_services},
    {.name = "catalog",
     .type = CFG_SECTION,
     .offset = CONFIG_AT(catalog),
     .items = catalog_items,
     .finish = finish_catalog},
    {.name = "rrl", .type = CFG_SECTION, .offset = CONFIG_AT(rrl), .items = rrl_items},
    {.name = "cookies",
     .type = CFG_SECTION,
     .offset = CONFIG_AT(cookies),
     .items = cookies_items,
     .finish = finish_cookies},
    {0},
};

const struct cfg_item cfg_schema[] = {
    {.name = "", .type = CFG_SECTION, .offset = 0, .items = root_items, .finish = finish_root},
    {0},
};
