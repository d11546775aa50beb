/* The configuration's api.console-login section: the web console's sign-in at an OpenID Connect
 * provider (authorization code flow with PKCE, done by the console's script, api/web/console.js).
 * Only public settings: the console is a public client, so there is no client secret to keep. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ternd/base/config_impl.h"

#define CL_AT(member) offsetof(struct config_console_login, member)

static const char *const bearers[] = {"id-token", "access-token", NULL};

/* An endpoint or the issuer: an http(s) URL (https is required in cfg_finish_console_login unless
 * allow-http) with no fragment and nothing that would end a Content-Security-Policy source (the
 * token endpoint is one: connect-src) or a JSON string. */
static bool check_endpoint(const char *s, char *why, size_t cap)
{
	if (!cfg_check_url(s, why, cap))
		return false;
	if (strpbrk(s, "#;,'\"\\")) {
		char q[QUOTE_BUF];
		snprintf(why, cap, "%s holds one of # ; , ' \" \\ (percent-encode it)", cfg_quote(s, q, sizeof(q)));
		return false;
	}
	return true;
}

/* client-id and name: printable ASCII, no quote or backslash (they go into JSON and a URL query,
 * encoded there; this keeps messages and the configuration's echo plain). */
static bool check_text(const char *s, char *why, size_t cap)
{
	size_t n = strlen(s);
	bool ok = n > 0;
	for (const char *c = s; *c && ok; c++)
		ok = (unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f && *c != '"' && *c != '\\';
	if (!ok) {
		char q[QUOTE_BUF];
		snprintf(why, cap, "%s is not printable ASCII without \" or \\", cfg_quote(s, q, sizeof(q)));
	}
	return ok;
}

/* scope: space-separated scope tokens (RFC 6749 3.3), openid among them (the ID token's nonce is
 * what ties the answer to the tab that asked). */
static bool check_scope(const char *s, char *why, size_t cap)
{
	char q[QUOTE_BUF];
	bool openid = false;
	for (const char *w = s; *w;) {
		size_t n = strcspn(w, " ");
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)w[i] < 0x21 || (unsigned char)w[i] > 0x7e || w[i] == '"' || w[i] == '\\') {
				snprintf(why, cap, "%s holds a character a scope may not (RFC 6749 3.3)",
				         cfg_quote(s, q, sizeof(q)));
				return false;
			}
		if (n == 6 && !strncmp(w, "openid", 6))
			openid = true;
		w += n;
		w += strspn(w, " ");
	}
	if (!openid) {
		snprintf(why, cap, "%s does not hold openid (the ID token is needed)", cfg_quote(s, q, sizeof(q)));
		return false;
	}
	return true;
}

bool cfg_finish_console_login(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { NAME, ISSUER, AUTHZ, TOKEN };
	(void)line;
	struct config_console_login *cl = base;
	cl->enabled = true;
	const int urls[] = {ISSUER, AUTHZ, TOKEN};
	const char *values[] = {cl->issuer, cl->authorization_endpoint, cl->token_endpoint};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		const char *v = values[i];
		if (!v || !f[urls[i]].ok || !strncasecmp(v, "https://", 8) || cl->allow_http)
			continue;
		char q[QUOTE_BUF];
		cfg_perr(p, cfg_node_line(f[urls[i]].value),
		         "%s.%s: %s is not an https:// URL (http:// only with %s.allow-http, a test mode)", where,
		         f[urls[i]].key, cfg_quote(v, q, sizeof(q)), where);
	}
	return true;
}

const struct cfg_item cfg_console_login_items[] = {
    {.name = "name",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = CL_AT(name),
     .max = 64,
     .check = check_text,
     .help = "the identity provider as the console's button names it (Sign in with NAME)"},
    {.name = "issuer",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = CL_AT(issuer),
     .max = 1000,
     .check = check_endpoint,
     .help = "the provider's issuer identifier: the ID token's iss must equal it"},
    {.name = "authorization-endpoint",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = CL_AT(authorization_endpoint),
     .max = 1000,
     .check = check_endpoint,
     .help = "where the browser is sent to sign in (the code flow with PKCE S256; the redirect URI is the "
             "console's /console/callback as the browser sees it)"},
    {.name = "token-endpoint",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = CL_AT(token_endpoint),
     .max = 500, /* in the CSP header line (api_console_web.c) */
     .check = check_endpoint,
     .help = "where the console's script trades the code for tokens (it must answer the console's origin with "
             "CORS); the only address outside ternd the console's Content-Security-Policy lets it reach"},
    {.name = "client-id",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED,
     .offset = CL_AT(client_id),
     .max = 255,
     .check = check_text,
     .help = "the console's client at the provider: a public client (no secret), PKCE required"},
    {.name = "scope",
     .type = CFG_STRING,
     .offset = CL_AT(scope),
     .max = 1000,
     .check = check_scope,
     .def = "openid",
     .help = "the scopes asked for, openid among them"},
    {.name = "bearer",
     .type = CFG_ENUM,
     .offset = CL_AT(bearer_access),
     .size = sizeof(bool),
     .names = bearers,
     .def = "id-token",
     .help = "the token the console then sends the API (verified with api.jwks or jwks-url; its sub is the "
             "tenant); an access token must be a JWT, and one with OAuth's scope string is refused (ternd's "
             "scope claim is an object)"},
    {.name = "allow-http",
     .type = CFG_BOOL,
     .offset = CL_AT(allow_http),
     .def = "false",
     .help = "test mode: http:// issuer and endpoints (off: --check and a start refuse them)"},
    {0},
};
