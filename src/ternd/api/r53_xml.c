/* The Route 53 API's XML: expat into a bounded tree, the request documents read from it, and text
 * escaped for answers (r53_xml.h). */
#include "ternd/api/r53_xml.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"

/* ---- the tree ---- */

struct build {
	XML_Parser p;
	struct r53_node *root;
	struct r53_node *stack[R53_XML_MAX_DEPTH];
	struct r53_node *last[R53_XML_MAX_DEPTH]; /* each open element's last child */
	int depth;
	size_t nodes;
	int rc;
	bool stopped; /* the message is written */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static void stop(struct build *b, int rc, const char *fmt, ...)
{
	if (b->rc == 0) {
		b->rc = rc;
	}
	if (b->rc == rc && b->err && b->errlen && !b->stopped) {
		b->stopped = true;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(b->err, b->errlen, fmt, ap);
		va_end(ap);
	}
	XML_StopParser(b->p, XML_FALSE);
}

void r53_xml_free(struct r53_node *n)
{
	while (n) {
		struct r53_node *next = n->next;
		r53_xml_free(n->child);
		free(n->name);
		free(n->text);
		free(n);
		n = next;
	}
}

static void XMLCALL on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	(void)attrs;
	struct build *b = arg;
	if (b->rc)
		return;
	if (b->depth == R53_XML_MAX_DEPTH) {
		stop(b, TERN_EINVAL, "elements nested deeper than %d", R53_XML_MAX_DEPTH);
		return;
	}
	if (++b->nodes > R53_XML_MAX_NODES) {
		stop(b, TERN_EINVAL, "more than %d elements", R53_XML_MAX_NODES);
		return;
	}
	struct r53_node *n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name)) || !(n->text = calloc(1, 1))) {
		if (n)
			free(n->name);
		free(n);
		stop(b, TERN_ENOMEM, "out of memory");
		return;
	}
	if (b->depth == 0) {
		b->root = n;
	} else {
		struct r53_node *parent = b->stack[b->depth - 1];
		if (b->last[b->depth - 1])
			b->last[b->depth - 1]->next = n;
		else
			parent->child = n;
		b->last[b->depth - 1] = n;
	}
	b->stack[b->depth] = n;
	b->last[b->depth] = NULL;
	b->depth++;
}

static void XMLCALL on_end(void *arg, const XML_Char *name)
{
	(void)name;
	struct build *b = arg;
	if (b->rc == 0 && b->depth > 0)
		b->depth--;
}

static void XMLCALL on_text(void *arg, const XML_Char *s, int len)
{
	struct build *b = arg;
	if (b->rc || b->depth == 0 || len <= 0)
		return;
	struct r53_node *n = b->stack[b->depth - 1];
	if (n->text_len + (size_t)len > R53_XML_MAX_TEXT) {
		stop(b, TERN_EINVAL, "element %.64s: text longer than %d characters", n->name, R53_XML_MAX_TEXT);
		return;
	}
	char *t = realloc(n->text, n->text_len + (size_t)len + 1);
	if (!t) {
		stop(b, TERN_ENOMEM, "out of memory");
		return;
	}
	memcpy(t + n->text_len, s, (size_t)len);
	n->text_len += (size_t)len;
	t[n->text_len] = 0;
	n->text = t;
}

/* No DOCTYPE: no entities of the sender's, no external anything. */
static void XMLCALL on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int internal)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)internal;
	stop(arg, TERN_EINVAL, "a DOCTYPE is not accepted");
}

static void XMLCALL on_entity(void *arg, const XML_Char *name, int param, const XML_Char *value, int vlen,
                              const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
                              const XML_Char *notation)
{
	(void)name;
	(void)param;
	(void)value;
	(void)vlen;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	stop(arg, TERN_EINVAL, "entity declarations are not accepted");
}

int r53_xml_parse(const char *body, size_t len, struct r53_node **out, char *err, size_t errlen)
{
	*out = NULL;
	if (len > R53_XML_MAX_BODY) {
		snprintf(err, errlen, "the body is larger than %d bytes", R53_XML_MAX_BODY);
		return TERN_EINVAL;
	}
	struct build b = {.err = err, .errlen = errlen};
	b.p = XML_ParserCreate("UTF-8");
	if (!b.p) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	XML_SetUserData(b.p, &b);
	XML_SetElementHandler(b.p, on_start, on_end);
	XML_SetCharacterDataHandler(b.p, on_text);
	XML_SetStartDoctypeDeclHandler(b.p, on_doctype);
	XML_SetEntityDeclHandler(b.p, on_entity);
	XML_SetParamEntityParsing(b.p, XML_PARAM_ENTITY_PARSING_NEVER);
	enum XML_Status st = XML_Parse(b.p, body, (int)len, XML_TRUE);
	if (st != XML_STATUS_OK && b.rc == 0) {
		b.rc = TERN_EINVAL;
		snprintf(err, errlen, "malformed XML at line %lu, column %lu: %s",
		         (unsigned long)XML_GetCurrentLineNumber(b.p), (unsigned long)XML_GetCurrentColumnNumber(b.p),
		         XML_ErrorString(XML_GetErrorCode(b.p)));
	}
	XML_ParserFree(b.p);
	if (b.rc == 0 && !b.root) {
		b.rc = TERN_EINVAL;
		snprintf(err, errlen, "no root element");
	}
	if (b.rc < 0) {
		r53_xml_free(b.root);
		return b.rc;
	}
	*out = b.root;
	return 0;
}

const struct r53_node *r53_xml_child(const struct r53_node *n, const char *name)
{
	for (const struct r53_node *c = n ? n->child : NULL; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* ---- reading the request documents ---- */

__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return TERN_EINVAL;
}

static int nomem(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return TERN_ENOMEM;
}

/* err made "where: err"; returns rc. */
static int prefixed(char *err, size_t errlen, const char *where, int rc)
{
	char was[512];
	snprintf(was, sizeof(was), "%s", err);
	snprintf(err, errlen, "%s: %s", where, was);
	return rc;
}

/* Every child of n is one of names (NULL-terminated) and none of them twice unless repeat. */
static int children_known(const struct r53_node *n, const char *const *names, bool repeat, char *err, size_t errlen)
{
	for (const struct r53_node *c = n->child; c; c = c->next) {
		bool known = false;
		for (size_t i = 0; names[i] && !known; i++)
			known = strcmp(c->name, names[i]) == 0;
		if (!known)
			return bad(err, errlen, "%.64s: unknown or unsupported element %.64s", n->name, c->name);
		if (!repeat)
			for (const struct r53_node *d = c->next; d; d = d->next)
				if (strcmp(c->name, d->name) == 0)
					return bad(err, errlen, "%.64s: element %.64s given twice", n->name, c->name);
	}
	return 0;
}

/* Copies the text of n's child name (required or not) into out (cap bytes): 1 when copied, 0 when
 * absent and optional; TERN_EINVAL when required and absent, empty while required, or too long. */
static int text_of(const struct r53_node *n, const char *name, bool required, char *out, size_t cap, char *err,
                   size_t errlen)
{
	const struct r53_node *c = r53_xml_child(n, name);
	out[0] = 0;
	if (!c)
		return required ? bad(err, errlen, "%.64s: %s is required", n->name, name) : 0;
	if (c->child)
		return bad(err, errlen, "%s: must be text, not elements", name);
	if (c->text_len >= cap)
		return bad(err, errlen, "%s: longer than %zu characters", name, cap - 1);
	if (required && c->text_len == 0)
		return bad(err, errlen, "%s: must not be empty", name);
	if (strlen(c->text) != c->text_len)
		return bad(err, errlen, "%s: holds a NUL character", name);
	memcpy(out, c->text, c->text_len + 1);
	return 1;
}

static int root_is(const struct r53_node *doc, const char *name, char *err, size_t errlen)
{
	if (strcmp(doc->name, name) != 0)
		return bad(err, errlen, "the root element is %.64s, expected %s", doc->name, name);
	if (doc->text_len && strspn(doc->text, " \t\r\n") != doc->text_len)
		return bad(err, errlen, "%s: text outside its elements", name);
	return 0;
}

int r53_read_create(const struct r53_node *doc, struct r53_create *out, char *err, size_t errlen)
{
	static const char *const top[] = {"Name", "CallerReference", "HostedZoneConfig", "DelegationSetId", "VPC",
	                                  NULL};
	static const char *const conf[] = {"Comment", "PrivateZone", NULL};
	memset(out, 0, sizeof(*out));
	int rc;
	if ((rc = root_is(doc, "CreateHostedZoneRequest", err, errlen)) < 0 ||
	    (rc = children_known(doc, top, false, err, errlen)) < 0)
		return rc;
	if (r53_xml_child(doc, "VPC"))
		return bad(err, errlen, "VPC: private hosted zones are not supported");
	if (r53_xml_child(doc, "DelegationSetId"))
		return bad(err, errlen, "DelegationSetId: reusable delegation sets are not supported");
	if ((rc = text_of(doc, "Name", true, out->name, sizeof(out->name), err, errlen)) < 0 ||
	    (rc = text_of(doc, "CallerReference", true, out->caller_ref, sizeof(out->caller_ref), err, errlen)) < 0)
		return rc;
	const struct r53_node *hc = r53_xml_child(doc, "HostedZoneConfig");
	if (hc) {
		char priv[8];
		if ((rc = children_known(hc, conf, false, err, errlen)) < 0 ||
		    (rc = text_of(hc, "Comment", false, out->comment, sizeof(out->comment), err, errlen)) < 0)
			return rc;
		out->has_comment = rc == 1;
		if ((rc = text_of(hc, "PrivateZone", false, priv, sizeof(priv), err, errlen)) < 0)
			return rc;
		if (rc == 1 && strcmp(priv, "false") != 0)
			return bad(err, errlen, "PrivateZone: private hosted zones are not supported (only false)");
	}
	return 0;
}

void r53_batch_free(struct r53_batch *b)
{
	for (size_t i = 0; b->changes && i < b->n; i++)
		free(b->changes[i].values);
	free(b->changes);
	b->changes = NULL;
	b->n = 0;
}

static int read_change(const struct r53_node *c, size_t i, struct r53_change *out, char *err, size_t errlen)
{
	static const char *const fields[] = {"Action", "ResourceRecordSet", NULL};
	static const char *const rrset[] = {"Name",
	                                    "Type",
	                                    "TTL",
	                                    "ResourceRecords",
	                                    "SetIdentifier",
	                                    "Weight",
	                                    "Region",
	                                    "GeoLocation",
	                                    "Failover",
	                                    "MultiValueAnswer",
	                                    "HealthCheckId",
	                                    "TrafficPolicyInstanceId",
	                                    "AliasTarget",
	                                    "CidrRoutingConfig",
	                                    "GeoProximityLocation",
	                                    NULL};
	char action[16], ttl[16];
	char where[64];
	snprintf(where, sizeof(where), "Changes[%zu]", i);
	int rc;
	if (strcmp(c->name, "Change") != 0)
		return bad(err, errlen, "Changes: unknown element %.64s", c->name);
	if ((rc = children_known(c, fields, false, err, errlen)) < 0 ||
	    (rc = text_of(c, "Action", true, action, sizeof(action), err, errlen)) < 0)
		return prefixed(err, errlen, where, rc);
	if (strcmp(action, "CREATE") == 0)
		out->action = R53_CREATE;
	else if (strcmp(action, "DELETE") == 0)
		out->action = R53_DELETE;
	else if (strcmp(action, "UPSERT") == 0)
		out->action = R53_UPSERT;
	else
		return bad(err, errlen, "%s: Action %s is not CREATE, DELETE or UPSERT", where, action);
	const struct r53_node *rs = r53_xml_child(c, "ResourceRecordSet");
	if (!rs)
		return bad(err, errlen, "%s: ResourceRecordSet is required", where);
	if ((rc = children_known(rs, rrset, false, err, errlen)) < 0)
		return prefixed(err, errlen, where, rc);
	for (size_t k = 4; rrset[k]; k++)
		if (r53_xml_child(rs, rrset[k]))
			return bad(err, errlen,
			           "%s: %s is not supported (routing policies, health checks and alias records)", where,
			           rrset[k]);
	if ((rc = text_of(rs, "Name", true, out->name, sizeof(out->name), err, errlen)) < 0 ||
	    (rc = text_of(rs, "Type", true, out->type, sizeof(out->type), err, errlen)) < 0 ||
	    (rc = text_of(rs, "TTL", false, ttl, sizeof(ttl), err, errlen)) < 0)
		return prefixed(err, errlen, where, rc);
	out->ttl = -1;
	if (rc == 1) {
		char *end = NULL;
		long long v = ttl[0] >= '0' && ttl[0] <= '9' ? strtoll(ttl, &end, 10) : -1;
		if (!end || *end || v < 0 || v > 2147483647)
			return bad(err, errlen, "%s: TTL %s is not an integer from 0 to 2147483647", where, ttl);
		out->ttl = v;
	}
	const struct r53_node *rr = r53_xml_child(rs, "ResourceRecords");
	if (!rr)
		return 0;
	size_t n = 0;
	for (const struct r53_node *r = rr->child; r; r = r->next)
		n++;
	if (n == 0 || n > R53_MAX_VALUES)
		return bad(err, errlen, "%s: ResourceRecords must hold 1 to %d ResourceRecord", where, R53_MAX_VALUES);
	out->values = calloc(n, sizeof(*out->values));
	if (!out->values)
		return nomem(err, errlen);
	for (const struct r53_node *r = rr->child; r; r = r->next) {
		static const char *const value[] = {"Value", NULL};
		const struct r53_node *v = r53_xml_child(r, "Value");
		if (strcmp(r->name, "ResourceRecord") != 0)
			return bad(err, errlen, "%s: ResourceRecords: unknown element %.64s", where, r->name);
		if ((rc = children_known(r, value, false, err, errlen)) < 0)
			return prefixed(err, errlen, where, rc);
		if (!v || v->child || v->text_len == 0 || strlen(v->text) != v->text_len)
			return bad(err, errlen, "%s: ResourceRecords[%zu]: Value must be non-empty text", where,
			           out->nvalues);
		out->values[out->nvalues++] = v->text;
	}
	return 0;
}

int r53_read_batch(const struct r53_node *doc, struct r53_batch *out, char *err, size_t errlen)
{
	static const char *const top[] = {"ChangeBatch", NULL};
	static const char *const batch[] = {"Comment", "Changes", NULL};
	memset(out, 0, sizeof(*out));
	int rc;
	if ((rc = root_is(doc, "ChangeResourceRecordSetsRequest", err, errlen)) < 0 ||
	    (rc = children_known(doc, top, false, err, errlen)) < 0)
		return rc;
	const struct r53_node *cb = r53_xml_child(doc, "ChangeBatch");
	if (!cb)
		return bad(err, errlen, "ChangeBatch is required");
	if ((rc = children_known(cb, batch, false, err, errlen)) < 0)
		return rc;
	const struct r53_node *ch = r53_xml_child(cb, "Changes");
	if (!ch)
		return bad(err, errlen, "ChangeBatch: Changes is required");
	size_t n = 0;
	for (const struct r53_node *c = ch->child; c; c = c->next)
		n++;
	if (n == 0 || n > R53_MAX_CHANGES)
		return bad(err, errlen, "Changes must hold 1 to %d Change", R53_MAX_CHANGES);
	out->changes = calloc(n, sizeof(*out->changes));
	if (!out->changes)
		return nomem(err, errlen);
	for (const struct r53_node *c = ch->child; c; c = c->next) {
		rc = read_change(c, out->n, &out->changes[out->n], err, errlen);
		out->n++; /* its values list is freed with the others */
		if (rc < 0) {
			r53_batch_free(out);
			return rc;
		}
	}
	return 0;
}

static int read_key(const struct r53_node *n, const char *where, char *out, char *err, size_t errlen)
{
	if (n->child || n->text_len == 0 || n->text_len > R53_TAG_KEY_MAX || strlen(n->text) != n->text_len)
		return bad(err, errlen, "%s: Key must be 1 to %d characters", where, R53_TAG_KEY_MAX);
	memcpy(out, n->text, n->text_len + 1);
	return 0;
}

int r53_read_tags(const struct r53_node *doc, struct r53_tag_change *out, char *err, size_t errlen)
{
	static const char *const top[] = {"AddTags", "RemoveTagKeys", NULL};
	static const char *const tag[] = {"Key", "Value", NULL};
	memset(out, 0, sizeof(*out));
	int rc;
	if ((rc = root_is(doc, "ChangeTagsForResourceRequest", err, errlen)) < 0 ||
	    (rc = children_known(doc, top, false, err, errlen)) < 0)
		return rc;
	const struct r53_node *add = r53_xml_child(doc, "AddTags"), *rm = r53_xml_child(doc, "RemoveTagKeys");
	for (const struct r53_node *t = add ? add->child : NULL; t; t = t->next) {
		char where[32];
		snprintf(where, sizeof(where), "AddTags[%zu]", out->nadd);
		if (strcmp(t->name, "Tag") != 0)
			return bad(err, errlen, "AddTags: unknown element %.64s", t->name);
		if (out->nadd == R53_MAX_TAGS)
			return bad(err, errlen, "AddTags: more than %d tags", R53_MAX_TAGS);
		if ((rc = children_known(t, tag, false, err, errlen)) < 0)
			return rc;
		const struct r53_node *k = r53_xml_child(t, "Key");
		if (!k)
			return bad(err, errlen, "%s: Key is required", where);
		if ((rc = read_key(k, where, out->add[out->nadd].key, err, errlen)) < 0)
			return rc;
		rc = text_of(t, "Value", false, out->add[out->nadd].value, sizeof(out->add[0].value), err, errlen);
		if (rc < 0)
			return prefixed(err, errlen, where, rc);
		out->nadd++;
	}
	for (const struct r53_node *k = rm ? rm->child : NULL; k; k = k->next) {
		char where[32];
		snprintf(where, sizeof(where), "RemoveTagKeys[%zu]", out->nremove);
		if (strcmp(k->name, "Key") != 0)
			return bad(err, errlen, "RemoveTagKeys: unknown element %.64s", k->name);
		if (out->nremove == R53_MAX_TAGS)
			return bad(err, errlen, "RemoveTagKeys: more than %d keys", R53_MAX_TAGS);
		if ((rc = read_key(k, where, out->remove[out->nremove], err, errlen)) < 0)
			return rc;
		out->nremove++;
	}
	return 0;
}

/* ---- answers ---- */

/* The length of the well-formed UTF-8 sequence at s (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	if (n == 0 || s[0] >= 0xf5)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	uint32_t cp = n == 2   ? (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f)
	              : n == 3 ? (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f)
	                       : (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
	                             (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void r53_xml_escape(struct text *t, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0 || (*p < 0x20 && *p != '\t' && *p != '\n')) {
			text_append(t, "\xef\xbf\xbd", 3);
			p++;
			continue;
		}
		switch (*p) {
		case '&': text_append(t, "&amp;", 5); break;
		case '<': text_append(t, "&lt;", 4); break;
		case '>': text_append(t, "&gt;", 4); break;
		case '"': text_append(t, "&quot;", 6); break;
		case '\'': text_append(t, "&apos;", 6); break;
		default: text_append(t, (const char *)p, n); break;
		}
		p += n;
	}
}
