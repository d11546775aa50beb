/* The configuration schema: every key of a configuration file in one table (type, range, default,
 * where it goes in struct config, whether a reload applies it, what it means), and the checks that
 * span several keys. config.c walks it to read a file, print the reference and compare two. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/dnssec.h"
#include "lib/dnssec_policy.h"
#include "lib/ech.h"
#include "lib/hints.h"
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
static const char *const denials[] = {"nsec", "nsec3", NULL};
static const char *const key_schemes[] = {"ksk-zsk", "csk", NULL};

static const char *const tls_needs[] = {"optional", "required", "client-certificate", NULL};

/* server.tls: listen addresses written without a port get 853 (RFC 7858); listening needs a
 * certificate and its key, each of which needs the other; no address is server.listen's too. */
static bool finish_tls(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { LISTEN, CERT, KEY, CLIENT_CA };
	struct config_tls *t = base;
	bool ok = true;
	for (size_t i = 0; i < t->nlisten; i++) {
		struct config_listen *l = &t->listen[i];
		if (!strchr(l->text, '@')) {
			if (l->addr.ss_family == AF_INET)
				((struct sockaddr_in *)&l->addr)->sin_port = htons(853);
			else
				((struct sockaddr_in6 *)&l->addr)->sin6_port = htons(853);
		}
		for (size_t j = 0; j < p->c->nlisten; j++)
			if (p->c->listen[j].addrlen == l->addrlen &&
			    !memcmp(&p->c->listen[j].addr, &l->addr, l->addrlen)) {
				cfg_perr(p, cfg_node_line(f[LISTEN].value),
				         "%s.listen: %s is server.listen's address too (DNS over TLS needs a port of "
				         "its own)",
				         where, l->text);
				ok = false;
			}
	}
	if (f[LISTEN].value && !f[CERT].value) {
		cfg_perr(p, line, "%s.certificate: missing required key (server.tls.listen needs a certificate)",
		         where);
		ok = false;
	}
	if (f[CERT].value && !f[KEY].value) {
		cfg_perr(p, cfg_node_line(f[CERT].value),
		         "%s.key: missing required key (the certificate's private key)", where);
		ok = false;
	}
	if (f[KEY].value && !f[CERT].value) {
		cfg_perr(p, cfg_node_line(f[KEY].value), "%s.certificate: missing required key (%s.key is set)", where,
		         where);
		ok = false;
	}
	if (f[CLIENT_CA].value && !f[LISTEN].value) {
		cfg_perr(p, cfg_node_line(f[CLIENT_CA].value), "%s.client-ca-file: needs %s.listen", where, where);
		ok = false;
	}
	return ok;
}

#define TLS_AT(member) offsetof(struct config_tls, member)
static const struct cfg_item tls_items[] = {
    {.name = "listen",
     .type = CFG_ADDRS,
     .flags = CFG_SCALAR_OK,
     .offset = TLS_AT(listen),
     .count = TLS_AT(nlisten),
     .min = 1,
     .unit = "address",
     .help = "DNS over TLS (RFC 7858) and XoT (RFC 9103) listen addresses, \"ADDRESS@PORT\" or \"ADDRESS\" "
             "(port 853); TCP's limits and idle timeout apply"},
    {.name = "certificate",
     .type = CFG_PATH,
     .flags = R,
     .offset = TLS_AT(certificate),
     .help = "PEM file: the server's certificate, then its chain; read again on SIGHUP (new handshakes use it)"},
    {.name = "key",
     .type = CFG_PATH,
     .flags = R,
     .offset = TLS_AT(key),
     .help = "PEM file: the certificate's private key; read again on SIGHUP"},
    {.name = "client-ca-file",
     .type = CFG_PATH,
     .flags = R,
     .offset = TLS_AT(client_ca_file),
     .help = "PEM file: CAs that client certificates are verified against (mutual TLS for transfer.allow "
             "entries with tls: client-certificate); when set, clients are asked for a certificate"},
    {.name = "handshake-timeout",
     .type = CFG_SECONDS,
     .flags = R,
     .offset = TLS_AT(handshake_timeout_ms),
     .min = 100,
     .max = 60000,
     .def = "5",
     .unit = "seconds",
     .help = "a TLS handshake not done by then is dropped (a client stalling it holds nothing longer)"},
    {0},
};

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
    {.name = "tls",
     .type = CFG_SECTION,
     .offset = CONFIG_AT(tls),
     .items = tls_items,
     .finish = finish_tls,
     .help = "DNS over TLS and zone transfers over TLS"},
    {.name = "in-tree-check-interval",
     .type = CFG_UINT,
     .flags = R,
     .offset = CONFIG_AT(in_tree_check_interval),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 86400,
     .def = "86400",
     .help = "seconds between checks of each signed zone's in-tree promise (in-tree-expiring 60 days before "
             "its expiry; below 3600 only with dnssec-test-timings)"},
    {0},
};

/* server: the in-tree check below an hour is for tests (dnssec-test-timings) only. */
static bool finish_server(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	(void)line;
	const struct config *c = base;
	size_t at = 0;
	while (server_items[at].name && strcmp(server_items[at].name, "in-tree-check-interval") != 0)
		at++;
	if (f[at].value && c->in_tree_check_interval < 3600 && !c->dnssec_test_timings) {
		cfg_perr(p, f[at].line,
		         "%s.in-tree-check-interval: %u s: below 3600 only with server.dnssec-test-timings (for tests)",
		         where ? where : "server", c->in_tree_check_interval);
		return false;
	}
	return true;
}

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

/* zones[i].in-tree-expires: an RFC 3339 date-time (lib/hints_time.c, as `tern hints` reads it). */
static bool check_in_tree(const char *s, char *why, size_t cap)
{
	long long at;
	char err[200];
	if (hints_time_parse(s, strlen(s), &at, err, sizeof(err)) == 0)
		return true;
	snprintf(why, cap, "not an RFC 3339 date-time (such as \"2027-06-01T00:00:00Z\"): %s", err);
	return false;
}

/* zones[i]: a valid name not listed before; key and catalog for secondary zones only; a file, or
 * a name that makes one (set by finish_root). */
static bool finish_zone(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { NAME, FILE_, PRIMARY, KEY, CATALOG, POLICY, DOWNSTREAM, TLS_NAME, TLS_CA, TLS_PIN, IN_TREE };
	struct config_zone *z = base;
	char q[QUOTE_BUF], t[NAME_MAXLEN * 4 + 8];
	uint8_t apex[NAME_MAXLEN];
	bool ok = true;
	z->line = line;
	z->policy_line = f[POLICY].line;
	for (size_t i = 0; i <= IN_TREE; i++)
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
	if (z->in_tree_expires && f[PRIMARY].value) {
		cfg_perr(p, f[IN_TREE].line,
		         "%s.in-tree-expires: only a zone file ternd signs is marked in-tree from the configuration "
		         "(a secondary zone's content is its primary's)",
		         where);
		ok = false;
	} else if (z->in_tree_expires && !f[POLICY].value) {
		cfg_perr(p, f[IN_TREE].line,
		         "%s.in-tree-expires: the zone is not signed: in-tree hints need DNSSEC (a dnssec-policy with "
		         "rfc5011 on)",
		         where);
		ok = false;
	} else if (z->in_tree_expires) {
		char err[200];
		(void)hints_time_parse(z->in_tree_expires, strlen(z->in_tree_expires), &z->in_tree_at, err,
		                       sizeof(err)); /* check_in_tree took it */
		z->in_tree_line = f[IN_TREE].line;
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
    {.name = "in-tree-expires",
     .type = CFG_STRING,
     .flags = R,
     .offset = offsetof(struct config_zone, in_tree_expires),
     .max = 64,
     .check = check_in_tree,
     .help = "zone file signed with an rfc5011 policy and an NS inside it: marked for in-tree hints until "
             "this RFC 3339 date-time (publishes _in-tree.<zone> TXT, signed; in-tree-expiring 60 days ahead)"},
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
    {.name = "tls",
     .type = CFG_ENUM,
     .flags = R,
     .offset = offsetof(struct config_prefix, tls),
     .size = 1,
     .names = tls_needs,
     .def = "optional",
     .help = "required: only over server.tls.listen (XoT); client-certificate: TLS with a client certificate "
             "server.tls.client-ca-file verifies; an entry covering an address refuses it a weaker transport"},
    {0},
};

/* transfer.allow[i]: tls required needs a TLS listener, a client certificate needs its CA. */
static bool finish_allow(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { TLS = 2 };
	(void)line;
	const struct config_prefix *e = base;
	if (e->tls >= CONFIG_TLS_REQUIRED && !p->c->tls.nlisten) {
		cfg_perr(p, cfg_node_line(f[TLS].value), "%s.tls: %s needs server.tls.listen", where,
		         tls_needs[e->tls]);
		return false;
	}
	if (e->tls == CONFIG_TLS_CLIENT_CERT && !p->c->tls.client_ca_file) {
		cfg_perr(p, cfg_node_line(f[TLS].value),
		         "%s.tls: client-certificate needs server.tls.client-ca-file (the CAs client certificates are "
		         "verified against)",
		         where);
		return false;
	}
	return true;
}

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
     .finish = finish_allow,
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
    {.name = "key",
     .type = CFG_STRING,
     .offset = POPS_AT(key),
     .max = 255,
     .help = "the name of the key (in keys) the PoPs' lookups are signed with: check fqdn through the API asks "
             "each PoP (its /pop/v1/lookup beside /healthz) for the name as it sees it; and the reads of "
             "each PoP's query counters after each good poll (/pop/v1/usage), stored as usage"},
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

static const struct cfg_item usage_items[] = {
    {.name = "flush-interval",
     .type = CFG_SECONDS,
     .offset = offsetof(struct config_usage, flush_ms),
     .min = 1000,
     .max = 3600000,
     .def = "60",
     .unit = "seconds",
     .help = "how often the queries counted per zone and day go to the store (api.data-dir): a kill -9 "
             "loses at most this much of them; the usage API and a stop flush at once"},
    {.name = "count-queries",
     .type = CFG_BOOL,
     .flags = R,
     .offset = offsetof(struct config_usage, count_queries),
     .def = "true",
     .help = "count each query by zone, tenant, type, rcode and transport (tern_queries_total, the usage "
             "API); off: those stay at zero (make bench-usage measures what counting costs)"},
    {.name = "keep-removed",
     .type = CFG_SECONDS,
     .offset = offsetof(struct config_usage, keep_removed_ms),
     .min = 1000,
     .max = 2592000000u,
     .def = "86400",
     .unit = "seconds",
     .help = "how long a removed zone's counters stay (tern_queries_total, what a PoP reports to the "
             "control node) once its queries are stored; then they are forgotten, so that zones made and "
             "removed do not grow memory for ever (a control node that polls less often than this loses "
             "what a PoP counted for a zone removed meanwhile)"},
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
	for (size_t i = 0; i < p->c->nzones; i++) {
		const struct config_zone *z = &p->c->zones[i];
		if (z->in_tree_expires && z->policy && !z->policy->rfc5011) {
			cfg_perr(p, z->in_tree_line,
			         "zones[%zu].in-tree-expires: %s rolls its KSK without RFC 5011 (dnssec-policy %s has "
			         "rfc5011 off): hinted resolvers keep their anchor by RFC 5011 only",
			         i, z->name, z->policy->name);
			ok = false;
		}
	}
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
    {.name = "debit-window",
     .type = CFG_UINT,
     .flags = R,
     .offset = RRL_AT(debit_window),
     .size = sizeof(unsigned),
     .min = 0,
     .max = 3600,
     .def = "15",
     .unit = "seconds",
     .help = "limited responses are owed too, down to this many seconds of the rate (BIND's account and "
             "window): a client that keeps sending over the rate, such as a spoofed flood, stays limited "
             "instead of being answered at the rate, and is answered again this long after it slows "
             "down; 0 = only responses sent are counted (Knot's bucket)"},
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
    {.name = "server",
     .type = CFG_SECTION,
     .flags = CFG_REQUIRED,
     .offset = 0,
     .items = server_items,
     .finish = finish_server},
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
    {.name = "api", .type = CFG_SECTION, .offset = CONFIG_AT(api), .items = cfg_api_items, .finish = cfg_finish_api},
    {.name = "transfer", .type = CFG_SECTION, .offset = CONFIG_AT(transfer), .items = transfer_items},
    {.name = "pops", .type = CFG_SECTION, .offset = CONFIG_AT(pops), .items = pops_items, .finish = finish_pops},
    {.name = "geo", .type = CFG_SECTION, .offset = CONFIG_AT(geo), .items = geo_items},
    {.name = "monitors", .type = CFG_SECTION, .offset = CONFIG_AT(monitors), .items = monitors_items},
    {.name = "signals", .type = CFG_SECTION, .offset = CONFIG_AT(signals), .items = cfg_signals_items},
    {.name = "update", .type = CFG_SECTION, .offset = CONFIG_AT(update), .items = cfg_update_items},
    {.name = "acme", .type = CFG_SECTION, .offset = CONFIG_AT(acme), .items = cfg_acme_items},
    {.name = "services",
     .type = CFG_SECTION,
     .offset = CONFIG_AT(services),
     .items = cfg_services_items,
     .finish = cfg_finish_services},
    {.name = "catalog",
     .type = CFG_SECTION,
     .offset = CONFIG_AT(catalog),
     .items = catalog_items,
     .finish = finish_catalog},
    {.name = "rrl", .type = CFG_SECTION, .offset = CONFIG_AT(rrl), .items = rrl_items},
    {.name = "usage", .type = CFG_SECTION, .offset = CONFIG_AT(usage), .items = usage_items},
    {.name = "dnstap",
     .type = CFG_SECTION,
     .offset = CONFIG_AT(dnstap),
     .items = cfg_dnstap_items,
     .finish = cfg_finish_dnstap},
    {.name = "cookies",
     .type = CFG_SECTION,
     .offset = CONFIG_AT(cookies),
     .items = cookies_items,
     .finish = finish_cookies},
    {.name = "domainconnect",
     .type = CFG_SECTION,
     .offset = CONFIG_AT(domainconnect),
     .items = cfg_domainconnect_items,
     .finish = cfg_finish_domainconnect},
    {0},
};

const struct cfg_item cfg_schema[] = {
    {.name = "", .type = CFG_SECTION, .offset = 0, .items = root_items, .finish = finish_root},
    {0},
};
