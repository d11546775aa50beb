/* The configuration's signals section (the signals module: conditions told to hooks, D-Bus and
 * MQTT, and the ede condition's counting). */
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
             "signatures-expiring, ede, ksk-submission, in-tree-expiring), or * for every one"},
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

const struct cfg_item cfg_signals_items[] = {
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
