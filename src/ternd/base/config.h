/* ternd's configuration: what a file holds once read (YAML, with libyaml, against the table of keys
 * in config_schema.c), and the keys a reload cannot apply. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "lib/name.h"
#include "lib/dnssec_policy.h"
#include "lib/tsig.h"

struct config_listen {
	struct sockaddr_storage addr; /* IPv4 or IPv6 with port */
	socklen_t addrlen;
	char text[80]; /* as written, for logs */
	uint16_t key; /* transfer.notify: 1 + the index in config.keys of the key NOTIFY is signed with; 0 = none */
	bool tls; /* zones[].primary written tls://: SOA queries and transfers over TLS (XoT, RFC 9103) */
};

/* A TSIG key (RFC 8945) of the keys section; referred to by name from transfer and zones. */
struct config_key {
	struct tsig_key key; /* its name is set even when the key was refused */
	unsigned line; /* where it is declared */
};

/* What a zone file was when it was read (stat): device, inode, size, modification and change
 * times. set is false when there is nothing to compare: never read, failed, or too fresh. */
struct config_file_stamp {
	bool set;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

/* A zone file, or a secondary zone (primaries set): then file is where its last good copy is
 * kept, by default <api.data-dir, else the config file's directory>/<zone>.zone. */
struct config_zone {
	uint8_t *apex; /* wire form, lower-cased; malloc'd, as long as the name (not NAME_MAXLEN) */
	char *name; /* as written, e.g. "example.com" */
	char *file; /* path, resolved against the config file's directory */
	struct config_listen *primaries; /* pulled from these, in order; NULL for a zone file */
	size_t nprimaries;
	/* The TSIG key (in config.keys) that signs SOA queries and transfers to the primaries, and must
	 * sign their answers and any NOTIFY for the zone; NULL = none */
	const struct tsig_key *key;
	uint16_t key_ref; /* 1 + its index in config.keys; 0 = none */
	bool catalog; /* a secondary zone that is a catalog (RFC 9432): its members are pulled too */
	/* XoT (RFC 9103): how the tls:// primaries are authenticated (NULL: not set); a catalog's
	 * members take their catalog's */
	char *tls_auth_name; /* the name (or IP address) the certificate must hold */
	char *tls_ca_file; /* the CAs it is checked against (NULL: the system's) */
	char *tls_pin; /* base64 SHA-256 of the server's SubjectPublicKeyInfo */
	unsigned line; /* where the zone is declared */
	/* dnssec-policy as written (a dnssec-policies name, or "default"): the zone file's content is
	 * kept in the store and signed by ternd with policy; NULL: served as the file has it */
	char *dnssec_policy;
	unsigned policy_line; /* where dnssec-policy is written */
	/* resolved when dnssec_policy is set (NULL otherwise): an entry of config.dnssec_policies, or
	 * config.default_policy; a pointer, not a copy, for a zone takes about 900 bytes less */
	const struct dnssec_policy *policy;
	/* signed-downstream: a zone file its secondaries sign (Knot at a PoP with its own keys): ternd
	 * does not, and refuses a file holding DNSSEC records (docs/signed-downstream.md) */
	bool signed_downstream;
	/* in-tree-expires as written (an RFC 3339 date-time; NULL: not marked): the zone file, signed by
	 * ternd with an rfc5011 policy, publishes `_in-tree.<zone> TXT` with in_tree_at (seconds since
	 * the epoch) as a UTC date-time (change_config_intree) */
	char *in_tree_expires;
	long long in_tree_at;
	unsigned in_tree_line; /* where in-tree-expires is written */
	/* Not read from the file: set by ternd (change_config_mark) before the configuration is applied.
	 * The zone is a zone of the store (tenant :config) fed by its file or its transfers: it has a
	 * dnssec-policy, or had one (its signing being turned off, or turned off since). */
	bool stored;
	/* Not read from the file: set by main.c's load_zones. The file as read into the version served,
	 * so that a reload reads again only the zone files that changed. */
	struct config_file_stamp loaded;
};

/* The catalog zone ternd produces (RFC 9432): every zone served from a file or the API is a
 * member; enabled when the file has a "catalog" section. */
struct config_catalog {
	bool enabled;
	uint8_t apex[NAME_MAXLEN]; /* wire form, lower-cased */
	char *state_file; /* its last serial: <api.data-dir, else the config file's directory>/<zone>.serial */
};

/* Usage counting (the usage module): how often the counts go to the store. */
struct config_usage {
	unsigned flush_ms; /* usage.flush-interval */
	unsigned keep_removed_ms; /* usage.keep-removed */
	bool count_queries; /* usage.count-queries */
};

/* dnstap (the dnstap module): where the AUTH_QUERY/AUTH_RESPONSE frames go and what they say.
 * Read at start only (a change needs a restart). */
struct config_dnstap {
	char *socket; /* dnstap.socket: a Frame Streams reader's unix socket (bidirectional) */
	char *file; /* dnstap.file: a Frame Streams file, written from its start */
	char *identity; /* dnstap.identity; NULL: the host name */
	char *version; /* dnstap.version */
	bool log_queries, log_responses; /* dnstap.log-queries, dnstap.log-responses */
	unsigned ring_size; /* dnstap.ring-size: slots per answering thread, a power of two */
	bool enabled; /* socket or file is set */
};

/* The HTTP API (control plane); enabled when the file has an "api" section. */
struct config_api {
	bool enabled;
	struct config_listen listen;
	char *data_dir; /* holds tern.db (SQLite) */
	char *jwks; /* public keys tokens are verified against (a file) */
	char *jwks_url; /* or the identity provider's key set, fetched (https only) */
	char *jwks_ca_file; /* the trust anchor for jwks_url (NULL: the system's) */
	unsigned jwks_max_age_ms; /* a fetched set is fetched again after this, or Cache-Control's max-age */
	unsigned jwks_timeout_ms; /* one fetch of jwks_url, start to end */
	/* data_dir and one of jwks, jwks_url are set for the tenant API, or none: then the API serves
	 * /healthz and /metrics only, which is all a PoP needs to report its health */
	bool legacy_tenant_header;
	unsigned rate, burst; /* per-tenant token bucket: requests a second, bucket size; rate 0 = off */
	bool serial_increment; /* SOA serials +1 instead of YYYYMMDDnn */
	uint8_t (*nameservers)[NAME_MAXLEN]; /* default NS of new zones */
	size_t nnameservers;
	uint8_t hostmaster[NAME_MAXLEN]; /* default SOA RNAME; "hostmaster.<zone>" when not set */
	bool has_hostmaster;
	uint32_t default_ttl, soa_refresh, soa_retry, soa_expire, soa_minimum;
	unsigned journal_keep; /* changes kept per zone for IXFR and history (oldest dropped) */
	unsigned max_clients; /* HTTP connections open at once */
	unsigned max_clients_per_address; /* from one IPv4 address or IPv6 /64 */
	unsigned max_zones_per_tenant; /* API zones one tenant may hold (admins are not held to it) */
	unsigned request_timeout_ms; /* a request's header and body, from its first byte; 408 after */
	unsigned idle_timeout_ms; /* a kept-alive connection between requests */
	/* the store: a PostgreSQL URL or libpq key=value words; NULL: SQLite, data_dir/tern.db */
	char *store;
	bool check_allow_private; /* POST /api/v1/check may ask private and reserved addresses (test mode) */
	char *check_hints; /* root hints of the API's checks (NULL: the IANA root servers) */
	unsigned check_rate; /* checks a minute per tenant */
	unsigned check_max_running; /* checks at once */
	char *pop_key; /* a PoP: the key (in keys) the control node's lookups are signed with */
	char *check_advice_url, *check_advice_model; /* POST /api/v1/check's advice endpoint; NULL: none */
	unsigned check_advice_timeout_ms;
	/* api.console-login: the web console's sign-in at an OpenID Connect provider (enabled: set) */
	struct config_console_login {
		bool enabled;
		char *name; /* the button's "Sign in with NAME" */
		char *issuer; /* the ID token's iss must be this */
		char *authorization_endpoint, *token_endpoint; /* the browser goes to one, fetches the other */
		char *client_id; /* the console's (public) client at the provider */
		char *scope; /* asked for; holds openid */
		bool bearer_access; /* the API gets the access token (true) or the ID token (false) */
		bool allow_http; /* test mode: http:// endpoints */
	} console_login;
};

/* An address prefix (an ACL entry): addr/len. */
struct config_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned len;
	uint16_t key; /* transfer.allow: 1 + the index in config.keys of the key required too; 0 = none */
	uint8_t tls; /* transfer.allow: enum config_tls_need, what the connection must be */
};

/* transfer.allow[].tls: how a transfer must reach us. An entry demanding more than a connection
 * has refuses that connection, whatever the other entries say (ns_transfer_allowed). */
enum config_tls_need {
	CONFIG_TLS_ANY, /* "optional": TCP or TLS */
	CONFIG_TLS_REQUIRED, /* "required": over server.tls.listen (XoT, RFC 9103) */
	CONFIG_TLS_CLIENT_CERT, /* "client-certificate": TLS with a certificate server.tls.client-ca-file verified */
};

/* DNS over TLS (RFC 7858) and zone transfers over TLS (RFC 9103): the server.tls section. */
struct config_tls {
	struct config_listen *listen; /* TLS listen addresses ("ADDRESS" alone: port 853) */
	size_t nlisten;
	char *certificate; /* PEM: the server's certificate, then its chain */
	char *key; /* PEM: its private key */
	char *client_ca_file; /* PEM: CAs client certificates are verified against; NULL: none asked */
	unsigned handshake_timeout_ms; /* a TLS handshake not done by then is dropped */
};

/* One PoP the control node polls (pops.list; read by src/ternd/api/pops.c). */
struct config_pop {
	char *name; /* letters, digits, '.', '_', '-': a Prometheus label value as it stands */
	char *healthz; /* http:// or https:// URL of the PoP's /healthz */
	unsigned line; /* where the PoP is declared */
};

/* PoP health polling: every PoP's /healthz each interval; down after down_after misses in a row.
 * Needs the tenant API (api with data-dir and jwks), where /api/v1/pops reports it. */
struct config_pops {
	struct config_pop *list;
	size_t n;
	unsigned interval_ms; /* default 60000 */
	unsigned timeout_ms; /* per poll; default 2000, never more than interval_ms */
	unsigned down_after; /* default 3 */
	char *key; /* the key (in keys) lookups at the PoPs are signed with; NULL: PoPs not asked */
};

/* The geo database dynamic answers' country and continent entries ask (dyn/geo.h). */
struct config_geo {
	char *database; /* a MaxMind DB file (GeoLite2/GeoIP2 Country or City layout); NULL: none */
	unsigned check_interval_ms; /* how often the file is checked for a new version; default 60000 */
};

/* Health checks of dynamic answers' members (dyn/monitor.h): the addresses the checker may
 * connect to. Public unicast addresses always; allow adds networks beyond them (loopback, RFC 1918,
 * link-local ...: none by default), so no tenant's DYN record makes ternd probe its own network. */
struct config_monitors {
	struct config_prefix *allow;
	size_t nallow;
};

/* Out-of-protocol signalling (signals/signals.h): a hook is a program run for each change of a
 * condition's state, in order, with a timeout. */
struct config_hook_env {
	char *value; /* NAME=VALUE */
};

struct config_signal_hook {
	char *condition; /* a condition's name, or "*" for every one */
	struct config_hook_env *env; /* added to its environment */
	size_t nenv;
	int cond; /* its index (enum signal_cond), -1 for "*" */
	char *exec; /* an executable file, run without a shell */
	unsigned timeout_ms;
	unsigned line;
};

/* The D-Bus channel (signals/dbus.c): a signal per change on the bus named. */
struct config_signals_dbus {
	bool enabled;
	char *bus; /* "system", "session" or a D-Bus address ("unix:path=...") */
};

/* The MQTT channel (signals/mqtt.c): retained topics tern/<pop>/<condition>[/<zone>] on one broker,
 * authenticated (a username and password, or a TLS client certificate; never anonymous). */
struct config_signals_mqtt {
	bool enabled; /* the section is there */
	char *broker; /* the URL as written: mqtt://HOST[:PORT] or mqtts://HOST[:PORT] */
	char host[256]; /* from broker (an IPv6 address without its brackets) */
	unsigned port;
	bool tls; /* mqtts */
	char *pop; /* NULL: the host name */
	char *username;
	char *password_file; /* holds the password (its first line) */
	char *ca_file, *cert_file, *key_file;
	unsigned keepalive; /* seconds */
	bool insecure; /* mqtt:// to a broker not on loopback */
};

/* signals.ede (signals/ede.c): which Extended DNS Error codes are signalled and how they are
 * aggregated. */
struct config_ede_code {
	unsigned code; /* 0..63 */
};
struct config_signals_ede {
	struct config_ede_code *codes; /* none: ede never set */
	size_t ncodes;
	unsigned interval; /* seconds the answers are counted over; at most one set per zone in each */
	unsigned threshold; /* answers of a code in an interval that set ede */
	unsigned quiet; /* seconds without one that clear it */
	unsigned max_zones; /* zones tracked at once; the rest share the entry without a zone */
};

struct config_signals {
	unsigned drain_ms; /* between shutting-down and closing the sockets */
	unsigned expiring_lead_ms; /* zone-expiring this long before a secondary zone expires */
	unsigned sig_lead_ms; /* signatures-expiring this long before a zone's earliest RRSIG expires; 0: off */
	unsigned rate_high; /* query-rate-high at this many queries a second (0: never) */
	unsigned rate_rising; /* query-rate-rising at this increase a second (0: never) */
	unsigned rate_window; /* seconds the rates are measured over */
	struct config_signals_mqtt mqtt;
	struct config_signal_hook *hooks;
	size_t nhooks;
	struct config_signals_dbus dbus;
	struct config_signals_ede ede;
};

/* The stateless ACME http-01 responder (acme/acme_responder.h) ternd runs beside DNS on an ingress
 * node: enabled when the file has acme.responder. It knows the account's thumbprint, given or
 * computed at start from the account key's file; exactly one of the two is set. */
struct config_acme_responder {
	bool enabled;
	struct config_listen *listen; /* TCP addresses answering GET /.well-known/acme-challenge/<token> */
	size_t nlisten;
	char *thumbprint; /* 43 base64url characters */
	char *account_key; /* PEM file of the ACME account's EC P-256 key */
};

struct config_acme {
	struct config_acme_responder responder;
};

/* Service domains (api_services.c): the platform's ingress regions, and the API zone under which
 * each service's canonical name <uuid>.<zone> is made (a DYN resource: docs/architecture.md, "Services"). Enabled
 * when the file has a "services" section; needs the tenant API. */
struct config_region_code {
	char *code; /* two upper-case letters: a continent (AF AN AS EU NA OC SA) or ISO 3166-1 country */
};
struct config_region {
	char *name; /* 1 to 63 lower-case letters, digits, '-', '_': the DYN pool's name */
	struct config_region_code *continents;
	size_t ncontinents;
	struct config_region_code *countries;
	size_t ncountries;
	unsigned line;
};
#define CONFIG_REGIONS_MAX 64
/* services.acme: the CA each service's certificate comes from (the svc module); off without a
 * directory. */
struct config_services_acme {
	char *directory; /* the CA's directory URL (https), or NULL: no issuance */
	char *ca_file; /* the CA's trust anchor (PEM), or NULL: the system's */
	char *contact; /* "mailto:..." for the account, or NULL */
	uint32_t deadline; /* seconds one issuance may take */
	uint32_t retry_min, retry_max; /* seconds: the first wait after a failure, doubling to the last */
};
/* services.ech: each service's ECH key pair and its rotation. */
struct config_services_ech {
	uint32_t rotate; /* seconds between rotations */
	char *public_name; /* the configs' public_name, or NULL: services.zone */
	uint32_t max_name_length;
};
struct config_services {
	bool enabled;
	uint8_t zone[NAME_MAXLEN]; /* wire form, lower-cased */
	uint32_t ttl; /* of the A and AAAA answers (the DYN RRset's TTL) unless a deployment gives one */
	unsigned max_per_tenant; /* services one tenant may hold */
	struct config_region *regions; /* in the order written: the answer list's order */
	size_t nregions;
	uint32_t https_ttl; /* of a service's HTTPS record; the old ECH config stays listed this long */
	struct config_services_acme acme;
	struct config_services_ech ech;
	struct config_listen resolver; /* the recursive resolver aliases are looked up through (addrlen 0: none) */
	uint32_t resolver_timeout; /* seconds for one query (UDP, then TCP on TC) */
	unsigned max_aliases; /* aliases one service may hold */
};

/* Zone transfers out (RFC 5936, 1995) and NOTIFY (RFC 1996) for every zone served. */
struct config_transfer {
	struct config_prefix *allow; /* who may transfer; nobody when empty */
	size_t nallow;
	struct config_listen *notify; /* secondaries told of every new version at once */
	size_t nnotify;
	unsigned refresh_workers; /* secondary zones refreshed at once (xfrin's transfer threads) */
};

/* A named DNSSEC policy of the dnssec-policies section, which API zones refer to by name. */
struct config_dnssec_policy {
	struct dnssec_policy policy; /* its name and values, checked (dnssec_policy_check) */
	int denial, keys; /* read as enums, folded into policy */
	struct config_listen *parents; /* read as addresses, copied into policy as text */
	size_t nparents;
	unsigned line;
};

/* Dynamic updates (RFC 2136, update/): what a TSIG key may change. An update record is allowed
 * when a rule of its key lists its zone, its name and its type (an empty list: any) and the
 * action (add: a record of the zone's class; delete: class ANY or NONE). */
struct config_update_type {
	char *name; /* a mnemonic or TYPEn */
	uint16_t type;
};
struct config_update_action {
	unsigned action; /* CONFIG_UPDATE_ADD or CONFIG_UPDATE_DELETE */
};
enum { CONFIG_UPDATE_ADD, CONFIG_UPDATE_DELETE };
struct config_update_rule {
	uint16_t key_ref; /* 1 + the index of its key in keys */
	uint8_t (*zones)[NAME_MAXLEN]; /* apexes, wire form */
	size_t nzones;
	/* a name exactly; "*.NAME" the names below NAME; "LABEL.*" a first label LABEL anywhere
	 * (_acme-challenge.*), as wire names whose wildcard label says which */
	uint8_t (*names)[NAME_MAXLEN];
	size_t nnames;
	struct config_update_type *types;
	size_t ntypes;
	struct config_update_action *actions; /* none: add and delete */
	size_t nactions;
	unsigned line;
};
struct config_update {
	unsigned max_records; /* prerequisites and updates in one message */
	struct config_update_rule *acl;
	size_t nacl;
};

/* Response rate limiting (ns/rrl.h): UDP responses per second per client prefix and kind. */
struct config_rrl_zone {
	uint8_t apex[NAME_MAXLEN]; /* wire form, lower-cased */
	unsigned rate; /* responses per second for answers from this zone */
};
struct config_rrl {
	bool enabled; /* default false */
	bool log_only; /* count what would be limited, limit nothing */
	unsigned rate; /* responses per second per prefix and kind; default 20 */
	unsigned window; /* seconds of responses a bucket may save up (its burst); default 4 */
	unsigned slip; /* every slip-th limited response goes truncated (TC=1); 0 = none; default 2 */
	unsigned debit_window; /* seconds of rate a limited client may owe (BIND's window); 0 = none; 15 */
	unsigned ipv4_prefix, ipv6_prefix; /* default 24, 56 */
	unsigned table_size; /* entries per UDP worker; default 65536 */
	struct config_prefix *whitelist;
	size_t nwhitelist;
	struct config_rrl_zone *zones;
	size_t nzones;
};

/* DNS cookies (RFC 7873, RFC 9018 server cookies). */
struct config_cookies {
	bool enabled; /* default true */
	bool secret_set; /* secret was given: the SipHash key itself; else ternd makes one at start */
	char *secret_text; /* 32 hex digits as written; NULL: a random one */
	uint8_t secret[16];
	bool previous_set; /* previous-secret was given: its cookies are still accepted */
	char *previous_text;
	uint8_t previous[16];
	unsigned rotation_ms; /* without a secret: each period's key, derived from the random one; default a day */
	unsigned require_size; /* UDP answers above this need a valid server cookie; 0 = never */
};

/* The domainconnect section (Domain Connect, DNS provider side; api/api_dconn.c): who this
 * provider is, where its synchronous flow is served, the service templates' folder and the resolver
 * service providers' signing keys are looked up through. */
struct config_domainconnect {
	bool enabled; /* the section is there */
	char *provider_id; /* this DNS provider's id in the settings answer */
	char *provider_name;
	char *url; /* the API's base URL as service providers reach it: https://HOST[:PORT][/PATH] */
	char *templates; /* the folder of *.json templates */
	struct config_listen resolver; /* addrlen 0: none (a template asking for signatures is refused) */
	uint32_t resolver_timeout; /* seconds for one query */
	uint32_t lookups_per_second; /* signing-key lookups (and settings reads) a second, all clients together */
};

struct config {
	char *path;
	struct config_listen *listen;
	size_t nlisten;
	struct config_zone *zones;
	size_t nzones;
	/* zones by apex: open addressing on name_hash(), each entry 1 + an index into zones (0 = empty)
	 * and the apex's hash, compared before the names are; mask + 1 entries, at most half used.
	 * Made as the file is read; config_zone_find() reads it. */
	struct config_zone_slot {
		uint32_t index, hash;
	} * zone_index;
	size_t zone_index_mask;
	struct config_catalog catalog; /* the catalog zone produced */
	struct config_usage usage;
	struct config_dnstap dnstap;
	char *nsid; /* server identity for NSID (RFC 5001); NULL = not sent */
	char *user, *group; /* server.user, server.group: who ternd becomes when started as root (privdrop.h) */
	uint16_t edns_size; /* advertised and maximum UDP payload; default 1232 */
	unsigned udp_workers; /* 0 = one per online CPU */
	unsigned tcp_idle_timeout_ms; /* default 10000 */
	unsigned tcp_max_clients; /* default 1024 */
	unsigned tcp_max_clients_per_address; /* per IPv4 address or IPv6 /64; default 32 */
	unsigned max_zones; /* zones this server may serve: configured, API and catalog members together */
	int log_level; /* enum log_level; default LOG_INFO */
	int log_format; /* enum log_format; default LOG_TEXT */
	struct config_api api;
	struct config_transfer transfer;
	struct config_pops pops; /* PoPs polled (control node); n = 0 when none */
	struct config_geo geo; /* the geo database, when configured */
	struct config_monitors monitors; /* what the monitors may probe */
	struct config_signals signals; /* out-of-protocol signalling */
	struct config_update update; /* dynamic updates (RFC 2136) */
	struct config_acme acme; /* the ACME http-01 responder, when configured */
	struct config_services services; /* service domains (regions, zone), when configured */
	struct config_key *keys; /* TSIG keys, in the order written */
	size_t nkeys;
	bool dnssec_test_timings; /* server.dnssec-test-timings: RFC 5011 hold-downs below a day (tests) */
	unsigned in_tree_check_interval; /* server.in-tree-check-interval: seconds (the in-tree promise) */
	struct config_dnssec_policy *dnssec_policies; /* named DNSSEC policies for API zones */
	size_t ndnssec_policies;
	struct dnssec_policy default_policy; /* the built-in "default", which zones may point to */
	struct config_rrl rrl; /* response rate limiting */
	struct config_cookies cookies; /* DNS cookies */
	struct config_tls tls; /* server.tls: DNS over TLS and XoT */
	struct config_domainconnect domainconnect; /* Domain Connect, when configured */
};

/* The region of c's services named name, or NULL. */
const struct config_region *config_region_find(const struct config_services *s, const char *name);

/* The port of a listen address (IPv4 or IPv6), in host order. */
unsigned config_listen_port(const struct config_listen *l);
/* Whether addr falls in one of the prefixes. */
bool config_prefix_match(const struct config_prefix *list, size_t n, const struct sockaddr *addr);

/* Reads and validates a configuration file. On error returns a negative TERN_E* and writes
 * "file:line: message" (one per line for each problem) into err; *out is untouched. */
int config_load(const char *path, struct config **out, char *err, size_t errlen);
/* The same for YAML text in memory; source names it in messages and relative zone file paths
 * resolve against basedir. */
int config_load_string(const char *text, size_t len, const char *source, const char *basedir, struct config **out,
                       char *err, size_t errlen);
void config_free(struct config *c);
/* The zone of c with this (lower-cased) apex, or NULL: one hash lookup. */
const struct config_zone *config_zone_find(const struct config *c, const uint8_t *apex);

/* Calls changed(key, arg) with the name of each key ("server.listen") that differs between old
 * and next but that a reload cannot apply: those need a restart. */
void config_restart_keys(const struct config *old, const struct config *next,
                         void (*changed)(const char *key, void *arg), void *arg);
/* The reference of every key (a Markdown table: key, type, range, default, reload, meaning), as
 * README.md holds it; malloc'd, NULL when out of memory. */
char *config_reference(void);
