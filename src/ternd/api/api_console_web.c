/* The web console (GET /console/, its script /console/app.js and style /console/style.css), embedded
 * from src/ternd/api/web/console.* by tools/embed.py and served as the check page is: the same
 * strict Content-Security-Policy and headers (api_check_page_headers). The API is its only backend;
 * with api.console-login the script also signs in at an OpenID Connect provider (the code flow with
 * PKCE, in the browser: GET /console/config.json says where), and the CSP's connect-src names that
 * provider's token endpoint, nothing else of it. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/api/api_impl.h"

extern const char api_console_html[];
extern const char api_console_js[];
extern const char api_console_css[];

/* api_check_page_headers with connect-src's extra source in the middle (config_schema_console.c
 * keeps ; , ' " out of it, and its length under what the header buffer holds). */
#define CONSOLE_HEADERS                                                                                                \
	"Content-Security-Policy: default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; "     \
	"form-action 'self'; connect-src 'self'%s%.*s; base-uri 'none'; frame-ancestors "                              \
	"'none'\r\n" API_PAGE_HEADERS_REST

int api_console_setup(struct api *a, const struct config *conf)
{
	const struct config_console_login *cl = &conf->api.console_login;
	/* a CSP source is scheme://host[:port][/path]: the token endpoint without its query */
	const char *te = cl->enabled ? cl->token_endpoint : "";
	int n = snprintf(a->console_headers, sizeof(a->console_headers), CONSOLE_HEADERS, *te ? " " : "",
	                 (int)strcspn(te, "?"), te);
	if (n < 0 || (size_t)n >= sizeof(a->console_headers))
		return TERN_EINVAL; /* the schema bounds token-endpoint so that it fits */
	json_t *login = json_null();
	if (cl->enabled)
		login = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", cl->name, "issuer", cl->issuer,
		                  "authorization_endpoint", cl->authorization_endpoint, "token_endpoint",
		                  cl->token_endpoint, "client_id", cl->client_id, "scope", cl->scope, "bearer",
		                  cl->bearer_access ? "access_token" : "id_token");
	json_t *doc = login ? json_pack("{s:o}", "login", login) : NULL;
	a->console_config = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return a->console_config ? 0 : TERN_ENOMEM;
}

static void page(struct api *a, struct http_response *res, const char *type, const char *body)
{
	http_text(res, 200, type, body, strlen(body));
	res->headers = a->console_headers;
}

void api_console_page(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)req;
	page(ctx, res, "text/html; charset=utf-8", api_console_html);
}

void api_console_script(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)req;
	page(ctx, res, "text/javascript; charset=utf-8", api_console_js);
}

void api_console_style(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)req;
	page(ctx, res, "text/css; charset=utf-8", api_console_css);
}

void api_console_config(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)req;
	struct api *a = ctx;
	page(a, res, "application/json", a->console_config);
}
