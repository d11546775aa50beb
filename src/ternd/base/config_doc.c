/* The configuration's YAML as a compact tree (config_impl.h, struct cfg_doc), built from libyaml's
 * events rather than its document API: libyaml's documents hold a node of about 100 bytes, a tag
 * string and a value string per scalar, each its own allocation, which for a configuration
 * listing 100,000 zones was most of the start-up's page faults. Here nodes sit in one array,
 * children in another and scalar text in one buffer. An alias stands for its anchored node, which
 * must be complete when the alias comes (an alias inside its own anchored collection is refused,
 * so the tree never loops). */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/error.h"
#include "ternd/base/config_impl.h"

#define ANCHOR_MAX 4096 /* anchors one configuration may define */

struct anchor {
	char *name;
	size_t node;
};

struct builder {
	struct cfg_doc *d;
	size_t *pending; /* the children of the open collections, innermost last */
	size_t npending, cappending;
	struct {
		size_t node, from; /* the collection, where its children start in pending */
		char *anchor; /* registered when it ends */
	} * open;
	size_t nopen, capopen;
	size_t *text_off; /* per node: where its scalar text starts in d->text (SIZE_MAX: none) */
	struct anchor *anchors;
	size_t nanchors;
	size_t root;
	bool have_root;
};

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *nv = realloc(*v, ncap * size);
	if (!nv)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

/* A new node of kind at line; its index, or SIZE_MAX out of memory. */
static size_t new_node(struct builder *b, enum cfg_kind kind, unsigned line)
{
	struct cfg_doc *d = b->d;
	size_t cap = d->capnodes;
	if (!grow((void **)&d->nodes, &d->capnodes, d->nnodes + 1, sizeof(*d->nodes)))
		return SIZE_MAX;
	if (d->capnodes != cap) {
		size_t *no = realloc(b->text_off, d->capnodes * sizeof(*no));
		if (!no)
			return SIZE_MAX;
		b->text_off = no;
	}
	size_t i = d->nnodes++;
	d->nodes[i] = (struct cfg_node){.kind = kind, .line = line};
	b->text_off[i] = SIZE_MAX;
	return i;
}

static bool add_child(struct builder *b, size_t node)
{
	if (b->nopen == 0) {
		b->root = node;
		b->have_root = true;
		return true;
	}
	if (!grow((void **)&b->pending, &b->cappending, b->npending + 1, sizeof(*b->pending)))
		return false;
	b->pending[b->npending++] = node;
	return true;
}

/* Registers an anchor; a message in why when it cannot be. */
static int add_anchor(struct builder *b, char *name, size_t node, const char **why)
{
	for (size_t i = 0; i < b->nanchors; i++) {
		if (!strcmp(b->anchors[i].name, name)) { /* YAML lets a later anchor replace it */
			free(b->anchors[i].name);
			b->anchors[i].name = name;
			b->anchors[i].node = node;
			return 0;
		}
	}
	if (b->nanchors == ANCHOR_MAX) {
		*why = "more than 4096 anchors";
		free(name);
		return TERN_ECONFIG;
	}
	void *na = realloc(b->anchors, (b->nanchors + 1) * sizeof(*b->anchors));
	if (!na) {
		free(name);
		return TERN_ENOMEM;
	}
	b->anchors = na;
	b->anchors[b->nanchors++] = (struct anchor){name, node};
	return 0;
}

static char *take(yaml_char_t **s)
{
	char *t = (char *)*s;
	*s = NULL;
	return t;
}

/* One event into the tree. 0, TERN_ENOMEM, or TERN_ECONFIG with *why and *why_line set. */
static int on_event(struct builder *b, yaml_event_t *e, const char **why, unsigned *why_line)
{
	struct cfg_doc *d = b->d;
	unsigned line = (unsigned)e->start_mark.line + 1;
	size_t node;
	switch (e->type) {
	case YAML_SCALAR_EVENT: {
		size_t len = e->data.scalar.length;
		node = new_node(b, CFG_KIND_SCALAR, line);
		if (node == SIZE_MAX || !grow((void **)&d->text, &d->captext, d->ntext + len + 1, 1))
			return TERN_ENOMEM;
		memcpy(d->text + d->ntext, e->data.scalar.value, len);
		d->text[d->ntext + len] = 0;
		b->text_off[node] = d->ntext;
		d->ntext += len + 1;
		d->nodes[node].plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (e->data.scalar.anchor) {
			int rc = add_anchor(b, take(&e->data.scalar.anchor), node, why);
			if (rc < 0) {
				*why_line = line;
				return rc;
			}
		}
		return add_child(b, node) ? 0 : TERN_ENOMEM;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool seq = e->type == YAML_SEQUENCE_START_EVENT;
		node = new_node(b, seq ? CFG_KIND_LIST : CFG_KIND_MAP, line);
		if (node == SIZE_MAX || !grow((void **)&b->open, &b->capopen, b->nopen + 1, sizeof(*b->open)))
			return TERN_ENOMEM;
		b->open[b->nopen].node = node;
		b->open[b->nopen].from = b->npending;
		b->open[b->nopen].anchor = take(seq ? &e->data.sequence_start.anchor : &e->data.mapping_start.anchor);
		b->nopen++;
		return 0;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: {
		if (b->nopen == 0)
			return 0;
		b->nopen--;
		node = b->open[b->nopen].node;
		size_t from = b->open[b->nopen].from, count = b->npending - from;
		char *anchor = b->open[b->nopen].anchor;
		if (!grow((void **)&d->kids, &d->capkids, d->nkids + count, sizeof(*d->kids))) {
			free(anchor);
			return TERN_ENOMEM;
		}
		if (count)
			memcpy(d->kids + d->nkids, b->pending + from, count * sizeof(*d->kids));
		d->nodes[node].first = d->nkids;
		d->nodes[node].n = d->nodes[node].kind == CFG_KIND_MAP ? count / 2 : count;
		d->nkids += count;
		b->npending = from;
		if (anchor) {
			int rc = add_anchor(b, anchor, node, why);
			if (rc < 0) {
				*why_line = d->nodes[node].line;
				return rc;
			}
		}
		return add_child(b, node) ? 0 : TERN_ENOMEM;
	}
	case YAML_ALIAS_EVENT:
		for (size_t i = 0; i < b->nanchors; i++)
			if (!strcmp(b->anchors[i].name, (const char *)e->data.alias.anchor))
				return add_child(b, b->anchors[i].node) ? 0 : TERN_ENOMEM;
		*why = "found undefined alias";
		*why_line = line;
		return TERN_ECONFIG;
	default: return 0;
	}
}

static void builder_free(struct builder *b)
{
	for (size_t i = 0; i < b->nopen; i++)
		free(b->open[i].anchor);
	for (size_t i = 0; i < b->nanchors; i++)
		free(b->anchors[i].name);
	free(b->anchors);
	free(b->open);
	free(b->pending);
	free(b->text_off);
}

int cfg_doc_load(struct cfg_doc *d, yaml_parser_t *parser, bool *yaml_error, const char **why, unsigned *why_line)
{
	struct builder b = {.d = d};
	int rc = 0;
	bool done = false, in_doc = false;
	memset(d, 0, sizeof(*d));
	*yaml_error = false;
	while (!done && rc == 0) {
		yaml_event_t e;
		if (!yaml_parser_parse(parser, &e)) {
			*yaml_error = true;
			rc = parser->error == YAML_MEMORY_ERROR ? TERN_ENOMEM : TERN_ECONFIG;
			break;
		}
		if (e.type == YAML_DOCUMENT_START_EVENT && (in_doc || b.have_root)) {
			/* a second document would be silently ignored; say so instead, at its content */
			yaml_event_t next;
			yaml_event_delete(&e);
			if (!yaml_parser_parse(parser, &next)) {
				*yaml_error = true;
				rc = parser->error == YAML_MEMORY_ERROR ? TERN_ENOMEM : TERN_ECONFIG;
				break;
			}
			d->second_line = (unsigned)next.start_mark.line + 1;
			yaml_event_delete(&next);
			break;
		}
		if (e.type == YAML_DOCUMENT_START_EVENT) {
			in_doc = true;
		} else if (e.type == YAML_STREAM_END_EVENT) {
			done = true;
		} else {
			rc = on_event(&b, &e, why, why_line);
		}
		yaml_event_delete(&e);
	}
	if (rc == 0) {
		for (size_t i = 0; i < d->nnodes; i++)
			d->nodes[i].text = b.text_off[i] != SIZE_MAX ? d->text + b.text_off[i] : "";
		d->root = b.have_root ? &d->nodes[b.root] : NULL;
	}
	builder_free(&b);
	if (rc < 0)
		cfg_doc_free(d);
	return rc;
}

void cfg_doc_free(struct cfg_doc *d)
{
	free(d->nodes);
	free(d->kids);
	free(d->text);
	memset(d, 0, sizeof(*d));
}
