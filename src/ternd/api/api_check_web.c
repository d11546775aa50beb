/* The check page (GET /check) and its script and style (GET /check/app.js, /check/style.css),
 * embedded in the binary from src/ternd/api/web/ by tools/embed.py. Each is served with a strict
 * Content-Security-Policy (only this origin's script, style and images, data: images for the SVG
 * the script shows, requests only to this origin, no framing), nosniff and no caching. The page
 * holds no secret: the token is typed into it and sent by its script as a bearer header. */
#include <string.h>

#include "ternd/api/api_impl.h"

extern const char api_check_page_html[];
extern const char api_check_page_js[];
extern const char api_check_page_css[];

#define CHECK_PAGE_HEADERS                                                                                             \
	"Content-Security-Policy: default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; "     \
	"form-action 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'\r\n" API_PAGE_HEADERS_REST

const char api_check_page_headers[] = CHECK_PAGE_HEADERS;

static void page(struct http_response *res, const char *type, const char *body)
{
	http_text(res, 200, type, body, strlen(body));
	res->headers = api_check_page_headers;
}

void api_check_page(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	(void)req;
	page(res, "text/html; charset=utf-8", api_check_page_html);
}

void api_check_page_script(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	(void)req;
	page(res, "text/javascript; charset=utf-8", api_check_page_js);
}

void api_check_page_style(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	(void)req;
	page(res, "text/css; charset=utf-8", api_check_page_css);
}
