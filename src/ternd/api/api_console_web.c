/* The web console (GET /console/, its script /console/app.js and style /console/style.css), embedded
 * from src/ternd/api/web/console.* by tools/embed.py and served as the check page is: the same
 * strict Content-Security-Policy and headers (api_check_page_headers). The API is its only backend. */
#include <string.h>

#include "ternd/api/api_impl.h"

extern const char api_console_html[];
extern const char api_console_js[];
extern const char api_console_css[];

static void page(struct http_response *res, const char *type, const char *body)
{
	http_text(res, 200, type, body, strlen(body));
	res->headers = api_check_page_headers;
}

void api_console_page(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	(void)req;
	page(res, "text/html; charset=utf-8", api_console_html);
}

void api_console_script(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	(void)req;
	page(res, "text/javascript; charset=utf-8", api_console_js);
}

void api_console_style(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	(void)req;
	page(res, "text/css; charset=utf-8", api_console_css);
}
