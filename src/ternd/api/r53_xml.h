/* The Route 53 API's XML (REST/XML, 2013-04-01): request bodies read with expat into a small
 * tree under hard limits, the three request documents read from it (CreateHostedZone,
 * ChangeResourceRecordSets, ChangeTagsForResource), and text escaped for the answers. No server
 * state: fuzz_r53_xml drives it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ternd/base/text.h"

#define R53_XML_MAX_BODY (1024 * 1024) /* bytes of a request body */
#define R53_XML_MAX_DEPTH 12 /* elements within elements (a change batch needs 7) */
#define R53_XML_MAX_NODES 20000 /* elements in one document */
#define R53_XML_MAX_TEXT 32768 /* characters of one element's text (Route 53: 32,000 a batch) */
#define R53_MAX_CHANGES 1000 /* changes in one batch (Route 53's limit) */
#define R53_MAX_VALUES 1000 /* records in one RRset */
#define R53_MAX_TAGS 50 /* tags of one zone (Route 53's limit) */
#define R53_TAG_KEY_MAX 128
#define R53_TAG_VALUE_MAX 256
#define R53_NAME_MAX 1024 /* a domain name's text as sent (escapes included) */
#define R53_REF_MAX 128 /* CallerReference */
#define R53_COMMENT_MAX 256

struct r53_node {
	char *name; /* the element's name as written (no namespace processing) */
	char *text; /* its character data, NUL-terminated ("" when none) */
	size_t text_len;
	struct r53_node *child, *next;
};

/* Parses len bytes of XML: 0 with *out (r53_xml_free), or TERN_EINVAL with a message (malformed
 * XML, a DOCTYPE, more than the limits allow), TERN_ENOMEM. */
int r53_xml_parse(const char *body, size_t len, struct r53_node **out, char *err, size_t errlen);
void r53_xml_free(struct r53_node *n);
/* The first child of n named name, or NULL. */
const struct r53_node *r53_xml_child(const struct r53_node *n, const char *name);

/* CreateHostedZoneRequest. */
struct r53_create {
	char name[R53_NAME_MAX + 1];
	char caller_ref[R53_REF_MAX + 1];
	char comment[R53_COMMENT_MAX + 1];
	bool has_comment;
};

enum r53_action { R53_CREATE, R53_DELETE, R53_UPSERT };

struct r53_change {
	enum r53_action action;
	char name[R53_NAME_MAX + 1];
	char type[16];
	int64_t ttl; /* -1 when absent */
	size_t nvalues;
	const char **values; /* each points into the document (keep it while the batch is used) */
};

struct r53_batch {
	size_t n;
	struct r53_change *changes;
};

struct r53_tag {
	char key[R53_TAG_KEY_MAX + 1];
	char value[R53_TAG_VALUE_MAX + 1];
};

struct r53_tag_change {
	size_t nadd, nremove;
	struct r53_tag add[R53_MAX_TAGS];
	char remove[R53_MAX_TAGS][R53_TAG_KEY_MAX + 1];
};

/* Each reads the document root doc into *out: 0, or TERN_EINVAL with a message naming the element
 * (an unknown or missing one, a value too long or out of range), TERN_ENOMEM. */
int r53_read_create(const struct r53_node *doc, struct r53_create *out, char *err, size_t errlen);
/* Values point into doc; r53_batch_free() frees the lists (on failure nothing is left). */
int r53_read_batch(const struct r53_node *doc, struct r53_batch *out, char *err, size_t errlen);
void r53_batch_free(struct r53_batch *b);
int r53_read_tags(const struct r53_node *doc, struct r53_tag_change *out, char *err, size_t errlen);

/* Appends s escaped for XML text or an attribute (& < > " '); bytes that are not well-formed UTF-8
 * or are control characters (but tab and newline) become U+FFFD. */
void r53_xml_escape(struct text *t, const char *s);
