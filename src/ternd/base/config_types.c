/* The configuration's value types: numbers, seconds, yes/no, words, domain names, addresses,
 * prefixes, key names and URLs, each read from a scalar's text with a message naming the problem. */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dyn.h"
#include "lib/name.h"
#include "lib/tsig.h"
#include "ternd/base/config_impl.h"

/* Decimal digits only (no sign, no space, no base prefix), fully consumed, within min..max. */
bool cfg_read_uint(struct parse *p, const char *s, unsigned line, const char *where, unsigned long min,
                   unsigned long max, unsigned long *out)
{
	char q[QUOTE_BUF];
	if (!isdigit((unsigned char)s[0])) {
		cfg_perr(p, line, "%s: %s is not a number", where, cfg_quote(s, q, sizeof(q)));
		return false;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end) {
		cfg_perr(p, line, "%s: %s is not a number", where, cfg_quote(s, q, sizeof(q)));
		return false;
	}
	if (errno == ERANGE || v < min || v > max) {
		cfg_perr(p, line, "%s: %s is out of range %lu..%lu", where, strlen(s) > QUOTE_MAX ? "value" : s, min,
		         max);
		return false;
	}
	*out = v;
	return true;
}

/* Seconds with up to three decimals ("60", "0.2") as milliseconds within min_ms..max_ms. */
bool cfg_read_seconds(struct parse *p, const char *s, unsigned line, const char *where, unsigned min_ms,
                      unsigned max_ms, unsigned *out)
{
	char q[QUOTE_BUF];
	cfg_quote(s, q, sizeof(q));
	size_t whole = strspn(s, "0123456789");
	const char *frac = s[whole] == '.' ? s + whole + 1 : NULL;
	size_t decimals = frac ? strspn(frac, "0123456789") : 0;
	if (!whole || (frac ? !decimals || frac[decimals] : s[whole] != 0)) {
		cfg_perr(p, line, "%s: %s is not a number of seconds", where, q);
		return false;
	}
	if (decimals > 3) {
		cfg_perr(p, line, "%s: %s has more than three decimals (a millisecond is the finest step)", where, q);
		return false;
	}
	unsigned long long ms = 0;
	for (size_t i = 0; i < whole && ms <= max_ms; i++)
		ms = ms * 10 + (unsigned)(s[i] - '0');
	ms *= 1000;
	for (size_t i = 0, scale = 100; i < decimals; i++, scale /= 10)
		ms += (unsigned)(frac[i] - '0') * scale;
	if (ms < min_ms || ms > max_ms) {
		cfg_perr(p, line, "%s: %s is out of range %g..%g seconds", where, q, min_ms / 1000.0, max_ms / 1000.0);
		return false;
	}
	*out = (unsigned)ms;
	return true;
}

bool cfg_read_bool(struct parse *p, const char *s, unsigned line, const char *where, bool *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
		*out = false;
		return true;
	}
	char q[QUOTE_BUF];
	cfg_perr(p, line, "%s: %s is not true or false", where, cfg_quote(s, q, sizeof(q)));
	return false;
}

/* One of names: "is not A or B", or "is not one of A, B, C". */
bool cfg_read_enum(struct parse *p, const char *s, unsigned line, const char *where, const char *const *names,
                   unsigned *out)
{
	size_t n = 0;
	for (; names[n]; n++) {
		if (!strcmp(s, names[n])) {
			*out = (unsigned)n;
			return true;
		}
	}
	char q[QUOTE_BUF], list[256];
	size_t used = 0;
	for (size_t i = 0; i < n && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
		                         i == 0   ? ""
		                         : n == 2 ? " or "
		                                  : ", ",
		                         names[i]);
	cfg_perr(p, line, "%s: %s is not %s%s", where, cfg_quote(s, q, sizeof(q)), n == 2 ? "" : "one of ", list);
	return false;
}

/* A domain name: absolute, or relative to the root. */
bool cfg_read_name(struct parse *p, const char *s, unsigned line, const char *where, uint8_t out[NAME_MAXLEN])
{
	if (name_from_text(out, s, (const uint8_t *)"") < 0) {
		char q[QUOTE_BUF];
		cfg_perr(p, line, "%s: %s is not a valid domain name", where, cfg_quote(s, q, sizeof(q)));
		return false;
	}
	name_lower(out);
	return true;
}

/* host (an IPv4 or IPv6 address in inet_pton's forms) and port text ps (NULL: port) into out; q is
 * the whole value quoted, for messages. */
static bool read_host_port(struct parse *p, const char *q, const char *host, const char *ps, unsigned long port,
                           unsigned line, const char *where, struct config_listen *out)
{
	if (ps) {
		char *end = (char *)ps;
		errno = 0;
		if (isdigit((unsigned char)ps[0]))
			port = strtoul(ps, &end, 10);
		if (end == ps || *end) {
			cfg_perr(p, line, "%s: port in %s is not a number", where, q);
			return false;
		}
		if (errno == ERANGE || port < 1 || port > 65535) {
			cfg_perr(p, line, "%s: port in %s is out of range 1..65535", where, q);
			return false;
		}
	}
	struct config_listen l;
	memset(&l, 0, sizeof(l));
	struct sockaddr_in *sin = (struct sockaddr_in *)&l.addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l.addr;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		l.addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		l.addrlen = sizeof(*sin6);
	} else {
		cfg_perr(p, line, "%s: %s is not an IP address", where, q);
		return false;
	}
	*out = l;
	return true;
}

/* "ADDR@PORT" or "ADDR" (port 53), ADDR being IPv4 or IPv6 in inet_pton's forms. */
bool cfg_read_addr(struct parse *p, const char *s, unsigned line, const char *where, struct config_listen *out)
{
	char q[QUOTE_BUF], host[sizeof(out->text)];
	cfg_quote(s, q, sizeof(q));
	size_t len = strlen(s);
	if (len >= sizeof(host)) {
		cfg_perr(p, line, "%s: %s is not an IP address", where, q);
		return false;
	}
	memcpy(host, s, len + 1);
	char *at = strrchr(host, '@');
	if (at)
		*at = 0;
	if (!read_host_port(p, q, host, at ? at + 1 : NULL, 53, line, where, out))
		return false;
	memcpy(out->text, s, len + 1);
	return true;
}

/* A primary: cfg_read_addr's forms, or "tls://ADDR" (port 853), "tls://ADDR@PORT",
 * "tls://IPV4:PORT" or "tls://[IPV6]:PORT" for XoT (RFC 9103). */
bool cfg_read_primary(struct parse *p, const char *s, unsigned line, const char *where, struct config_listen *out)
{
	static const char scheme[] = "tls://";
	if (strncmp(s, scheme, sizeof(scheme) - 1) != 0)
		return cfg_read_addr(p, s, line, where, out);
	char q[QUOTE_BUF], host[sizeof(out->text)];
	cfg_quote(s, q, sizeof(q));
	size_t len = strlen(s);
	if (len >= sizeof(host)) {
		cfg_perr(p, line, "%s: %s is not an IP address", where, q);
		return false;
	}
	memcpy(host, s + sizeof(scheme) - 1, len - (sizeof(scheme) - 1) + 1);
	char *h = host, *ps = NULL;
	char *at = strrchr(host, '@'), *colon = strrchr(host, ':');
	if (host[0] == '[') { /* [IPV6] or [IPV6]:PORT */
		char *close = strchr(host, ']');
		if (!close || (close[1] && close[1] != ':')) {
			cfg_perr(p, line, "%s: %s: an IPv6 address in brackets is followed by nothing or :PORT", where,
			         q);
			return false;
		}
		*close = 0;
		h = host + 1;
		ps = close[1] ? close + 2 : NULL;
	} else if (at) {
		*at = 0;
		ps = at + 1;
	} else if (colon && strchr(host, ':') == colon) { /* IPV4:PORT (an IPv6 address has several) */
		*colon = 0;
		ps = colon + 1;
	}
	if (!read_host_port(p, q, h, ps, 853, line, where, out))
		return false;
	memcpy(out->text, s, len + 1);
	out->tls = true;
	return true;
}

unsigned config_listen_port(const struct config_listen *l)
{
	const struct sockaddr *sa = (const struct sockaddr *)&l->addr;
	return ntohs(sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
	                                       : ((const struct sockaddr_in *)sa)->sin_port);
}

/* "10.0.0.0/8", "::1/128" or an address alone (a host). */
bool cfg_read_prefix(struct parse *p, const char *s, unsigned line, const char *where, struct config_prefix *out)
{
	char q[QUOTE_BUF], host[64];
	cfg_quote(s, q, sizeof(q));
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	if (hl >= sizeof(host)) {
		cfg_perr(p, line, "%s: %s is not an address prefix", where, q);
		return false;
	}
	memcpy(host, s, hl);
	host[hl] = 0;
	struct config_prefix v;
	memset(&v, 0, sizeof(v));
	unsigned max;
	if (inet_pton(AF_INET, host, v.addr) == 1) {
		v.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, v.addr) == 1) {
		v.family = AF_INET6;
		max = 128;
	} else {
		cfg_perr(p, line, "%s: %s is not an address prefix", where, q);
		return false;
	}
	v.len = max;
	if (slash) {
		unsigned long l = max + 1; /* not a length */
		if (isdigit((unsigned char)slash[1])) {
			char *end;
			errno = 0;
			l = strtoul(slash + 1, &end, 10);
			if (*end || errno)
				l = max + 1;
		}
		if (l > max) {
			cfg_perr(p, line, "%s: prefix length in %s is not 0..%u", where, q, max);
			return false;
		}
		v.len = (unsigned)l;
	}
	v.key = out->key;
	*out = v;
	return true;
}

/* A reference to a key of the keys section (read before whatever refers to it): 1 + its index,
 * or 0 after reporting the name unknown. */
uint16_t cfg_read_keyref(struct parse *p, const char *s, unsigned line, const char *where)
{
	uint8_t name[NAME_MAXLEN];
	if (!cfg_read_name(p, s, line, where, name))
		return 0;
	for (size_t i = 0; i < p->c->nkeys; i++) {
		if (!name_equal(p->c->keys[i].key.name, name))
			continue;
		if (p->c->keys[i].key.alg != TSIG_ALG_NONE)
			return (uint16_t)(i + 1);
		p->nerr++; /* a key whose declaration was rejected: said once, there */
		return 0;
	}
	char q[QUOTE_BUF];
	cfg_perr(p, line, "%s: unknown key %s (not declared in keys)", where, cfg_quote(s, q, sizeof(q)));
	return 0;
}

bool cfg_check_pop_name(const char *s, char *why, size_t cap)
{
	size_t n = strlen(s);
	if (n && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n)
		return true;
	char q[QUOTE_BUF];
	snprintf(why, cap, "%s is not a PoP name (1 to 63 letters, digits, '.', '_', '-')", cfg_quote(s, q, sizeof(q)));
	return false;
}

bool cfg_check_region_name(const char *s, char *why, size_t cap)
{
	size_t n = strlen(s);
	if (n && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n)
		return true;
	char q[QUOTE_BUF];
	snprintf(why, cap, "%s is not a region name (1 to 63 lower-case letters, digits, '-', '_')",
	         cfg_quote(s, q, sizeof(q)));
	return false;
}

bool cfg_check_continent(const char *s, char *why, size_t cap)
{
	if (dyn_code_known(true, s))
		return true;
	char q[QUOTE_BUF];
	snprintf(why, cap, "%s is not a continent code (AF AN AS EU NA OC SA)", cfg_quote(s, q, sizeof(q)));
	return false;
}

bool cfg_check_country(const char *s, char *why, size_t cap)
{
	if (dyn_code_known(false, s))
		return true;
	char q[QUOTE_BUF];
	snprintf(why, cap, "%s is not an ISO 3166-1 alpha-2 country code in upper case (e.g. DE, US)",
	         cfg_quote(s, q, sizeof(q)));
	return false;
}

bool cfg_check_tsig_alg(const char *s, char *why, size_t cap)
{
	if (tsig_alg_from_text(s) != TSIG_ALG_NONE)
		return true;
	char q[QUOTE_BUF];
	snprintf(why, cap,
	         "unknown TSIG algorithm %s (hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1)",
	         cfg_quote(s, q, sizeof(q)));
	return false;
}

/* What is wrong with a PoP's /healthz URL by libcurl's URL parser (the one that fetches it), or
 * NULL: http:// or https://, a host, an optional port; printable ASCII only, no credentials. */
static const char *url_problem(const char *s)
{
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return "holds a space, a control or a non-ASCII character (percent-encode it)";
	const char *slashes = strstr(s, "://");
	if (slashes && (slashes[3] == '/' || slashes[3] == 0))
		return "has no host"; /* libcurl takes "http:///x" as host x */
	CURLU *u = curl_url();
	if (!u)
		return "cannot be checked (out of memory)";
	const char *why = NULL;
	char *part = NULL;
	CURLUcode rc = curl_url_set(u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME);
	switch (rc) {
	case CURLUE_OK: break;
	case CURLUE_BAD_SCHEME:
	case CURLUE_NO_SCHEME:
	case CURLUE_UNSUPPORTED_SCHEME:
	case CURLUE_BAD_SLASHES: why = "is not an http:// or https:// URL"; goto done;
	case CURLUE_NO_HOST: why = "has no host"; goto done;
	case CURLUE_BAD_IPV6: why = "has a bad [IPv6] host"; goto done;
	case CURLUE_BAD_HOSTNAME: why = "has a host that is not a name or an IP address"; goto done;
	case CURLUE_BAD_PORT_NUMBER: {
		/* a number that is too large, or not a number at all */
		const char *host = strstr(s, "://");
		const char *end = host ? host + 3 + strcspn(host + 3, "/?#") : s;
		const char *colon = end;
		while (colon > s && colon[-1] != ':' && colon[-1] != ']')
			colon--;
		bool digits = colon > s && colon < end && strspn(colon, "0123456789") >= (size_t)(end - colon);
		why = digits ? "has a port out of range 1..65535" : "has a port that is not a number";
		goto done;
	}
	case CURLUE_OUT_OF_MEMORY: why = "cannot be checked (out of memory)"; goto done;
	default: why = "is not a URL"; goto done;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) != CURLUE_OK ||
	    (strcmp(part, "http") != 0 && strcmp(part, "https") != 0)) {
		why = "is not an http:// or https:// URL";
		goto done;
	}
	curl_free(part);
	part = NULL;
	if (curl_url_get(u, CURLUPART_USER, &part, 0) != CURLUE_NO_USER) {
		why = "holds user credentials, which are not supported";
		goto done;
	}
done:
	curl_free(part);
	curl_url_cleanup(u);
	return why;
}

bool cfg_check_url(const char *s, char *why, size_t cap)
{
	const char *problem = url_problem(s);
	if (!problem)
		return true;
	char q[QUOTE_BUF];
	snprintf(why, cap, "%s %s", cfg_quote(s, q, sizeof(q)), problem);
	return false;
}

/* An https:// URL only (the JWKS: keys that verify tokens never travel in clear). */
bool cfg_check_https_url(const char *s, char *why, size_t cap)
{
	const char *problem = url_problem(s);
	char q[QUOTE_BUF];
	if (!problem && strncasecmp(s, "https://", 8) != 0)
		problem = "is not an https:// URL";
	if (!problem)
		return true;
	snprintf(why, cap, "%s %s", cfg_quote(s, q, sizeof(q)), problem);
	return false;
}

bool cfg_check_store_location(const char *s, char *why, size_t cap)
{
	if (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0 || strchr(s, '='))
		return true;
	snprintf(why, cap, "is neither a postgresql:// URL nor libpq key=value words (host=... dbname=...)");
	return false;
}

/* A zone's apex for messages: lower case, escaped, without the final dot (the root stays "."). */
void cfg_apex_text(const uint8_t *apex, char *buf, size_t cap)
{
	int n = name_to_text(apex, buf, cap);
	if (n < 0)
		snprintf(buf, cap, "?");
	else if (n > 1 && buf[n - 1] == '.')
		buf[n - 1] = 0;
}

/* The file name a secondary zone's copy gets by default: "<zone>.zone" ("root.zone" for the root);
 * false when the name holds characters a file name should not. */
bool cfg_copy_file_name(const uint8_t *apex, char *text, size_t cap)
{
	char name[NAME_MAXLEN * 4 + 2];
	cfg_apex_text(apex, name, sizeof(name));
	const char *base = strcmp(name, ".") ? name : "root";
	if (strspn(base, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != strlen(base) || base[0] == '.')
		return false;
	int n = snprintf(text, cap, "%s.zone", base);
	return n > 0 && (size_t)n < cap;
}

bool config_prefix_match(const struct config_prefix *list, size_t n, const struct sockaddr *addr)
{
	const uint8_t *a;
	int family = addr->sa_family;
	uint8_t mapped[4];
	if (family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
		a = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) { /* ::ffff:a.b.c.d matches IPv4 prefixes */
			memcpy(mapped, a + 12, 4);
			a = mapped;
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (list[i].family != family)
			continue;
		unsigned bits = list[i].len, full = bits / 8, rest = bits % 8;
		if (memcmp(list[i].addr, a, full) != 0)
			continue;
		if (rest && ((list[i].addr[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest))))
			continue;
		return true;
	}
	return false;
}
