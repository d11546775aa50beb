/* tern check's report as an SVG picture (lib/check_svg.h): columns root, TLD (the parent's
 * servers), the zone's authoritative servers, the resolvers; a timeline of expiries below. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check_svg.h"

#define SVG_WIDTH 1100
#define COL_ROOT 20
#define COL_TLD 200
#define COL_AUTH 470
#define COL_RES 790
#define BOX_W 280
#define BOX_H 70
#define BOX_GAP 12
#define TOP 60
#define RED "#c62828"
#define INK "#222"
#define ANSWER_KEY (CHECK_MAXVALUES * CHECK_RDATA_TEXT + 64) /* answer_key()'s buffer */

/* The length of the UTF-8 sequence at p (up to end), 0 when it is not valid UTF-8 (shortest form,
 * no surrogates, at most U+10FFFF). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n = p[0] >= 0xf5 ? 0 : p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (n == 0 || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
		return 0;
	if (n == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
		return 0;
	/* U+FFFE and U+FFFF are not XML characters */
	if (n == 3 && p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
		return 0;
	return n;
}

void check_svg_escape(FILE *out, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	size_t chars = 0;
	while (p < end) {
		if (chars == max) {
			fputs("...", out);
			return;
		}
		chars++;
		unsigned char c = *p;
		if (c < 0x80) {
			switch (c) {
			case '&': fputs("&amp;", out); break;
			case '<': fputs("&lt;", out); break;
			case '>': fputs("&gt;", out); break;
			case '"': fputs("&quot;", out); break;
			case '\'': fputs("&#39;", out); break;
			default: fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
			}
			p++;
			continue;
		}
		size_t n = utf8_len(p, end);
		if (n == 0 || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) { /* not UTF-8, or a C1 control */
			fputc('?', out);
			p++;
			continue;
		}
		fwrite(p, 1, n, out);
		p += n;
	}
}

/* <text> at x, y with the escaped s (at most max characters). */
static void text(FILE *f, int x, int y, const char *cls, const char *color, const char *s, size_t max)
{
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"%s\" fill=\"%s\">", x, y, cls, color);
	check_svg_escape(f, s, max);
	fputs("</text>\n", f);
}

/* A server's answer as one line: its values joined, or its rcode or error. */
static void answer_line(const struct check_server *s, char *out, size_t cap)
{
	if (!s->ok && s->error[0]) {
		snprintf(out, cap, "no answer: %s", s->error);
		return;
	}
	if (s->nanswer == 0) {
		if (s->rcode == 0 || s->rcode == 3)
			snprintf(out, cap, "%s", s->rcode == 3 ? "NXDOMAIN" : "NODATA");
		else
			snprintf(out, cap, "rcode %d", s->rcode);
		return;
	}
	size_t used = 0;
	out[0] = 0;
	for (int i = 0; i < s->nanswer && used < cap; i++) {
		int n = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", s->answer[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (s->more && used < cap)
		snprintf(out + used, cap - used, " (+%d)", s->more);
}

/* A server's answer for comparing: its values sorted, or its rcode; "" when it gave none. */
static void answer_key(const struct check_server *s, char *out, size_t cap)
{
	out[0] = 0;
	if (!s->ok)
		return;
	const char *v[CHECK_MAXVALUES];
	int n = s->nanswer;
	for (int i = 0; i < n; i++)
		v[i] = s->answer[i];
	for (int i = 1; i < n; i++) /* insertion sort: at most 8 */
		for (int j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			const char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	size_t used = (size_t)snprintf(out, cap, "%d/%d", s->rcode, s->more);
	for (int i = 0; i < n && used < cap; i++) {
		int k = snprintf(out + used, cap - used, "|%s", v[i]);
		if (k < 0)
			break;
		used += (size_t)k;
	}
}

enum column { C_TLD, C_AUTH, C_RES };

static enum column column_of(const struct check_server *s)
{
	if (strcmp(s->role, "resolver") == 0)
		return C_RES;
	return strcmp(s->role, "parent") == 0 ? C_TLD : C_AUTH;
}

/* The answer most authoritative servers of the name gave (ties: the first seen) into key. */
static void majority(const struct check_report *r, char *key, size_t cap)
{
	const size_t K = ANSWER_KEY;
	int best = 0;
	key[0] = 0;
	char *a = malloc(K), *b = malloc(K);
	if (!a || !b)
		goto done;
	for (int i = 0; i < r->nservers; i++) {
		if (column_of(&r->servers[i]) != C_AUTH || !r->servers[i].ok)
			continue;
		answer_key(&r->servers[i], a, K);
		int n = 0;
		for (int j = 0; j < r->nservers; j++) {
			if (column_of(&r->servers[j]) != C_AUTH || !r->servers[j].ok)
				continue;
			answer_key(&r->servers[j], b, K);
			n += strcmp(a, b) == 0;
		}
		if (n > best) {
			best = n;
			snprintf(key, cap, "%s", a);
		}
	}
done:
	free(a);
	free(b);
}

struct box {
	int x, y;
};

/* One server's box: name, address, answer with TTL; red (class "disagree") when it gave no answer
 * or one other than the authoritative servers' usual one. */
static struct box server_box(FILE *f, const struct check_server *s, int x, int y, bool red)
{
	char line[CHECK_MAXVALUES * CHECK_RDATA_TEXT + 64];
	const char *color = red ? RED : INK;
	fprintf(f, "<g class=\"server%s\" data-role=\"", red ? " disagree" : "");
	check_svg_escape(f, s->role, 16);
	fputs("\" data-addr=\"", f);
	check_svg_escape(f, s->addr, 64);
	fputs("\" data-ns=\"", f);
	check_svg_escape(f, s->ns, 256);
	fputs("\">\n", f);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\" fill=\"%s\" stroke=\"%s\"/>\n", x, y,
	        BOX_W, BOX_H, red ? "#fdecea" : "#f5f7fa", red ? RED : "#90a4ae");
	text(f, x + 8, y + 16, "ns", color,
	     s->ns[0]                           ? s->ns
	     : strcmp(s->role, "resolver") == 0 ? "resolver"
	                                        : s->addr,
	     40);
	snprintf(line, sizeof(line), "%s (%s)%s %.1f ms", s->addr, s->zone[0] ? s->zone : "resolver",
	         s->tcp ? " TCP" : "", s->ms);
	text(f, x + 8, y + 31, "addr", color, line, 44);
	answer_line(s, line, sizeof(line));
	text(f, x + 8, y + 46, "answer", color, line, 44);
	if (s->ok) {
		snprintf(line, sizeof(line), "TTL %u s", s->ttl);
		if (s->have_serial)
			snprintf(line, sizeof(line), "TTL %u s, serial %u", s->ttl, s->serial);
		text(f, x + 8, y + 61, "ttl", color, line, 44);
	}
	fputs("</g>\n", f);
	return (struct box){x, y};
}

static void edge(FILE *f, struct box from, struct box to, bool dashed, int from_w)
{
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#90a4ae\"%s/>\n", from.x + from_w,
	        from.y + BOX_H / 2, to.x, to.y + BOX_H / 2, dashed ? " stroke-dasharray=\"4 3\"" : "");
}

static void duration(uint32_t s, char *out, size_t cap)
{
	if (s >= 86400 && s % 3600 == 0)
		snprintf(out, cap, "%u s (%.1f d)", s, s / 86400.0);
	else if (s >= 3600)
		snprintf(out, cap, "%u s (%.1f h)", s, s / 3600.0);
	else if (s >= 60)
		snprintf(out, cap, "%u s (%.1f min)", s, s / 60.0);
	else
		snprintf(out, cap, "%u s", s);
}

struct expiry {
	char label[CHECK_RDATA_TEXT + CHECK_NAME_TEXT + 64];
	uint32_t seconds;
	bool negative, red;
};

/* The rows of the timeline: each step of the chain (fqdn), each resolver's cached answer (cache),
 * the zone's negative-cache TTL. */
static int expiries(const struct check_report *r, const char *key, struct expiry *e, int cap)
{
	int n = 0;
	for (int i = 0; i < r->nsteps && n < cap; i++) {
		const struct check_step *s = &r->steps[i];
		struct expiry *x = &e[n++];
		x->seconds = s->ttl;
		x->negative = !s->target[0] && s->nvalues == 0;
		x->red = false;
		snprintf(x->label, sizeof(x->label), "%s %s %s", s->name, s->target[0] ? "CNAME" : "->",
		         s->target[0]    ? s->target
		         : s->nvalues    ? s->values[0]
		         : s->rcode == 3 ? "NXDOMAIN"
		                         : "NODATA");
	}
	for (int i = 0; i < r->ncaches && n < cap; i++) {
		const struct check_cached *c = &r->caches[i];
		if (!c->ok)
			continue;
		struct expiry *x = &e[n++];
		x->seconds = c->left;
		x->negative = c->negative;
		x->red = !c->agrees;
		snprintf(x->label, sizeof(x->label), "resolver %s (%s): %s", c->addr, c->how,
		         c->nvalues      ? c->values[0]
		         : c->rcode == 3 ? "NXDOMAIN"
		                         : "NODATA");
	}
	/* check fqdn: how long each vantage resolver keeps the answer it gave */
	char *mine = r->ncaches == 0 ? malloc(ANSWER_KEY) : NULL;
	for (int i = 0; mine && i < r->nservers && n < cap; i++) {
		const struct check_server *s = &r->servers[i];
		if (column_of(s) != C_RES || !s->ok)
			continue;
		answer_key(s, mine, ANSWER_KEY);
		struct expiry *x = &e[n++];
		x->seconds = s->ttl;
		x->negative = s->nanswer == 0;
		x->red = key[0] && strcmp(mine, key) != 0;
		snprintf(x->label, sizeof(x->label), "resolver %s: %s", s->addr,
		         s->nanswer      ? s->answer[0]
		         : s->rcode == 3 ? "NXDOMAIN"
		                         : "NODATA");
	}
	free(mine);
	for (int i = 0; i < r->nhops && n < cap; i++) { /* each delegation once, as its parent gave it */
		const struct check_hop *h = &r->hops[i];
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen = seen || strcmp(r->hops[j].child, h->child) == 0;
		if (seen)
			continue;
		struct expiry *x = &e[n++];
		x->seconds = h->ttl;
		x->negative = false;
		x->red = false;
		snprintf(x->label, sizeof(x->label), "delegation of %s (NS, from %s)", h->child, h->zone);
	}
	uint32_t neg = r->have_negative_ttl ? r->negative_ttl : r->soa.have ? r->soa.negative_ttl : 0;
	if ((r->have_negative_ttl || r->soa.have) && n < cap) {
		struct expiry *x = &e[n++];
		x->seconds = neg;
		x->negative = true;
		x->red = false;
		snprintf(x->label, sizeof(x->label), "negative answers of %s (NXDOMAIN, NODATA)",
		         r->zone[0] ? r->zone : r->target);
	}
	return n;
}

/* Draws the timeline from y down; returns the y below it. */
static int timeline(FILE *f, const struct check_report *r, const char *key, time_t now, int y)
{
	struct expiry *e = calloc(CHECK_MAXSTEPS + CHECK_MAXNS + CHECK_MAXSERVERS + CHECK_MAXHOPS + 1, sizeof(*e));
	if (!e)
		return y;
	int n = expiries(r, key, e, CHECK_MAXSTEPS + CHECK_MAXNS + CHECK_MAXSERVERS + CHECK_MAXHOPS + 1);
	uint32_t longest = 1;
	for (int i = 0; i < n; i++)
		if (e[i].seconds > longest)
			longest = e[i].seconds;
	char when[64], d[96];
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(f, "<g class=\"timeline\" data-now=\"%lld\">\n", (long long)now);
	char head[160];
	snprintf(head, sizeof(head), "When each answer expires from caches (from %s)", when);
	text(f, COL_ROOT, y, "heading", INK, head, 120);
	const int x0 = 560, w = SVG_WIDTH - x0 - 30;
	for (int i = 0; i < n; i++) {
		int ry = y + 12 + i * 24;
		int bw = (int)((double)w * e[i].seconds / longest);
		const char *color = e[i].red ? RED : e[i].negative ? "#8e24aa" : "#1e88e5";
		time_t at = now + (time_t)e[i].seconds;
		gmtime_r(&at, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		duration(e[i].seconds, d, sizeof(d));
		fprintf(f, "<g class=\"expiry%s%s\" data-seconds=\"%u\" data-expires=\"%lld\">\n",
		        e[i].negative ? " negative" : "", e[i].red ? " disagree" : "", e[i].seconds, (long long)at);
		text(f, COL_ROOT, ry + 14, "label", e[i].red ? RED : INK, e[i].label, 80);
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"%s\"/>\n", x0, ry + 2,
		        bw > 1 ? bw : 1, color);
		char right[192];
		snprintf(right, sizeof(right), "%s, until %s", d, when);
		text(f, bw > 200 ? x0 + 4 : x0 + (bw > 1 ? bw : 1) + 4, ry + 14, "until", bw > 200 ? "#fff" : INK,
		     right, 60);
		fputs("</g>\n", f);
	}
	fputs("</g>\n", f);
	free(e);
	return y + 12 + n * 24;
}

/* One referral's box: the server asked (a root hint, or a server of a TLD or zone above) and the
 * zone it handed the walk to, with the delegation's NS names and TTL. */
static struct box hop_box(FILE *f, const struct check_hop *h, int x, int y)
{
	char line[4 * CHECK_NAME_TEXT + 64];
	bool root = strcmp(h->zone, ".") == 0;
	fputs("<g class=\"hop\" data-zone=\"", f);
	check_svg_escape(f, h->zone, 256);
	fputs("\" data-addr=\"", f);
	check_svg_escape(f, h->addr, 64);
	fputs("\" data-child=\"", f);
	check_svg_escape(f, h->child, 256);
	fprintf(f, "\" data-ttl=\"%u\">\n", h->ttl);
	fprintf(f,
	        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\" fill=\"#eef3f8\" stroke=\"#90a4ae\"/>\n",
	        x, y, root ? COL_TLD - COL_ROOT - 20 : COL_AUTH - COL_TLD - 20, BOX_H);
	snprintf(line, sizeof(line), "%s %s", root ? "root" : h->zone, strcmp(h->ns, "(hint)") == 0 ? "(hint)" : h->ns);
	text(f, x + 6, y + 16, "ns", INK, line, root ? 26 : 40);
	snprintf(line, sizeof(line), "%s, %.1f ms", h->addr, h->ms);
	text(f, x + 6, y + 31, "addr", INK, line, root ? 26 : 40);
	snprintf(line, sizeof(line), "-> %s", h->child);
	text(f, x + 6, y + 46, "answer", INK, line, root ? 26 : 40);
	size_t used = (size_t)snprintf(line, sizeof(line), "NS TTL %u s", h->ttl);
	for (int i = 0; i < h->nchild_ns && used < sizeof(line); i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s", i ? " " : ": ", h->child_ns[i]);
	text(f, x + 6, y + 61, "ttl", INK, line, root ? 26 : 40);
	fputs("</g>\n", f);
	return (struct box){x, y};
}

enum { K_ROOT, K_TLD, K_AUTH, K_RES, K_COLUMNS };

char *check_report_svg(const struct check_report *r, time_t now, size_t *len)
{
	char *buf = NULL, *key = NULL, *mine = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	const size_t K = ANSWER_KEY;
	enum { MAXBOXES = CHECK_MAXHOPS + CHECK_MAXSERVERS + CHECK_MAXNS + 1 };
	key = malloc(K);
	mine = malloc(K);
	struct box *boxes = calloc(MAXBOXES, sizeof(*boxes));
	int *col = calloc(MAXBOXES, sizeof(*col));
	if (!key || !mine || !boxes || !col)
		goto fail;
	majority(r, key, K);
	bool draw_caches = true;
	for (int i = 0; i < r->nservers; i++)
		if (column_of(&r->servers[i]) == C_RES)
			draw_caches = false;
	int rows[K_COLUMNS] = {0, 0, 0, 0};
	for (int i = 0; i < r->nhops; i++)
		rows[strcmp(r->hops[i].zone, ".") == 0 ? K_ROOT : K_TLD]++;
	if (rows[K_ROOT] == 0)
		rows[K_ROOT] = 1; /* the root drawn alone */
	for (int i = 0; i < r->nservers; i++)
		rows[column_of(&r->servers[i]) + 1]++;
	if (draw_caches)
		rows[K_RES] += r->ncaches;
	int most = 1;
	for (int i = 0; i < K_COLUMNS; i++)
		most = rows[i] > most ? rows[i] : most;
	int paths_h = most * (BOX_H + BOX_GAP);
	int nexp = r->nsteps + r->ncaches + r->nservers + r->nhops + 1;
	int height = TOP + paths_h + 60 + nexp * 24 + 30 + (r->nfindings + r->nfailures) * 16 + 20;
	fprintf(f,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "font-family=\"sans-serif\" font-size=\"11\" class=\"tern-check\" data-kind=\"",
	        SVG_WIDTH, height, SVG_WIDTH, height);
	check_svg_escape(f, r->kind, 8);
	fputs("\">\n<title>", f);
	check_svg_escape(f, "tern check ", 16);
	check_svg_escape(f, r->kind, 8);
	fputc(' ', f);
	check_svg_escape(f, r->target, 256);
	fputs("</title>\n", f);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", SVG_WIDTH, height);
	char line[600];
	snprintf(line, sizeof(line), "tern check %s %s: %d queries, %.0f ms%s", r->kind, r->target, r->queries, r->ms,
	         r->nfailures ? " (partial)" : "");
	text(f, COL_ROOT, 20, "title", INK, line, 160);
	static const char *const heads[] = {"root", "TLD and zones above", "authoritative servers", "resolvers"};
	static const int xs[] = {COL_ROOT, COL_TLD, COL_AUTH, COL_RES};
	for (int i = 0; i < K_COLUMNS; i++) {
		char h[CHECK_NAME_TEXT + 64];
		snprintf(h, sizeof(h), "%s%s%s", heads[i], i == K_AUTH && r->zone[0] ? ": " : "",
		         i == K_AUTH ? r->zone : "");
		text(f, xs[i], 44, "column", INK, h, 48);
	}
	int next[K_COLUMNS] = {TOP, TOP, TOP, TOP}, total = 0;
	/* the referrals: root hints, then the servers of the zones above */
	for (int i = 0; i < r->nhops; i++) {
		int c = strcmp(r->hops[i].zone, ".") == 0 ? K_ROOT : K_TLD;
		boxes[total] = hop_box(f, &r->hops[i], xs[c], next[c]);
		col[total++] = c;
		next[c] += BOX_H + BOX_GAP;
	}
	if (next[K_ROOT] == TOP) { /* no referral noted: the root, where every walk starts */
		fprintf(
		    f,
		    "<g class=\"root\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\" fill=\"#eef3f8\" "
		    "stroke=\"#90a4ae\"/>\n",
		    COL_ROOT, TOP, COL_TLD - COL_ROOT - 20, BOX_H);
		text(f, COL_ROOT + 6, TOP + 20, "ns", INK, ". (root servers)", 40);
		fputs("</g>\n", f);
		boxes[total] = (struct box){COL_ROOT, TOP};
		col[total++] = K_ROOT;
		next[K_ROOT] += BOX_H + BOX_GAP;
	}
	for (int i = 0; i < r->nservers; i++) {
		const struct check_server *s = &r->servers[i];
		int c = (int)column_of(s) + 1;
		bool red = !s->ok;
		if (s->ok && c != K_TLD && key[0]) {
			answer_key(s, mine, K);
			red = strcmp(mine, key) != 0;
		}
		boxes[total] = server_box(f, s, xs[c], next[c], red);
		col[total++] = c;
		next[c] += BOX_H + BOX_GAP;
	}
	/* tern check cache: each resolver's cached answer, when the resolvers are not servers above */
	if (draw_caches) {
		for (int i = 0; i < r->ncaches; i++) {
			const struct check_cached *k = &r->caches[i];
			struct check_server s;
			memset(&s, 0, sizeof(s));
			snprintf(s.role, sizeof(s.role), "resolver");
			snprintf(s.addr, sizeof(s.addr), "%s", k->addr);
			snprintf(s.zone, sizeof(s.zone), "%s", k->how);
			s.ok = k->ok;
			snprintf(s.error, sizeof(s.error), "%s", k->error);
			s.rcode = k->rcode;
			s.nanswer = k->nvalues;
			for (int j = 0; j < k->nvalues; j++)
				snprintf(s.answer[j], sizeof(s.answer[j]), "%s", k->values[j]);
			s.more = k->more;
			s.ttl = k->left;
			boxes[total] = server_box(f, &s, COL_RES, next[K_RES], !k->ok || !k->agrees);
			col[total++] = K_RES;
			next[K_RES] += BOX_H + BOX_GAP;
		}
	}
	/* the path: each column's boxes to the next column's (the root to the zone's servers when no
	 * zone lies between), the zone's servers to the resolvers dashed (they ask them) */
	fputs("<g class=\"path\">\n", f);
	for (int to = K_TLD; to < K_COLUMNS; to++) {
		int from = to - 1;
		while (from > K_ROOT && rows[from] == 0)
			from--;
		for (int i = 0; i < total; i++)
			if (col[i] == to)
				for (int j = 0; j < total; j++)
					if (col[j] == from)
						edge(f, boxes[j], boxes[i], to == K_RES,
						     from == K_ROOT  ? COL_TLD - COL_ROOT - 20
						     : from == K_TLD ? COL_AUTH - COL_TLD - 20
						                     : BOX_W);
	}
	fputs("</g>\n", f);
	int y = timeline(f, r, key, now, TOP + paths_h + 40);
	static const char *const sev[] = {"info", "warning", "error"};
	fputs("<g class=\"findings\">\n", f);
	for (int i = 0; i < r->nfindings; i++) {
		const struct check_finding *k = &r->findings[i];
		int s = k->severity >= CHECK_INFO && k->severity <= CHECK_ERROR ? (int)k->severity : 0;
		snprintf(line, sizeof(line), "%s %s: %s", sev[s], k->code ? k->code : "", k->what);
		fprintf(f, "<g class=\"finding %s\">", sev[s]);
		text(f, COL_ROOT, y + 20 + i * 16, "what", s == CHECK_ERROR ? RED : INK, line, 180);
		fputs("</g>\n", f);
	}
	for (int i = 0; i < r->nfailures; i++) {
		snprintf(line, sizeof(line), "not checked: %s", r->failures[i]);
		fputs("<g class=\"failure\">", f);
		text(f, COL_ROOT, y + 20 + (r->nfindings + i) * 16, "what", RED, line, 180);
		fputs("</g>\n", f);
	}
	fputs("</g>\n</svg>\n", f);
	if (fclose(f) != 0)
		goto fail_closed;
	f = NULL;
	free(key);
	free(mine);
	free(boxes);
	free(col);
	*len = size;
	return buf;
fail:
	fclose(f);
fail_closed:
	free(buf);
	free(key);
	free(mine);
	free(boxes);
	free(col);
	return NULL;
}
