/* The configuration's update section (RFC 2136 dynamic updates, the update module): the size of a
 * message and, per TSIG key, the zones, names, types and actions it may change. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "ternd/base/config.h"
#include "ternd/base/config_impl.h"

/* update.acl[].types[]: a type a zone may hold (not OPT, TSIG, ANY..., nor DYN: dynamic answers are
 * written through the API). */
static bool check_type(const char *s, char *why, size_t cap)
{
	uint16_t type;
	char q[QUOTE_BUF];
	if (rrtext_type_from_text(s, &type) < 0 || rr_type_is_meta(type) || type == RR_DYN) {
		snprintf(why, cap, "%s is not a record type an update may change", cfg_quote(s, q, sizeof(q)));
		return false;
	}
	return true;
}

static bool finish_type(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	(void)p;
	(void)f;
	(void)line;
	(void)where;
	struct config_update_type *t = base;
	return t->name && rrtext_type_from_text(t->name, &t->type) == 0;
}

static const struct cfg_item type_items[] = {
    {.name = "type",
     .type = CFG_STRING,
     .flags = CFG_REQUIRED | CFG_RELOAD,
     .offset = offsetof(struct config_update_type, name),
     .max = 16,
     .check = check_type,
     .help = "a record type (TXT, A, TYPE65)"},
    {0},
};

static const char *const actions[] = {"add", "delete", NULL};

static const struct cfg_item action_items[] = {
    {.name = "action",
     .type = CFG_ENUM,
     .flags = CFG_REQUIRED | CFG_RELOAD,
     .offset = offsetof(struct config_update_action, action),
     .size = sizeof(unsigned),
     .names = actions,
     .help = "add (records of the zone's class) or delete (class ANY or NONE)"},
    {0},
};

/* A name rule: a wildcard label only first ("*.NAME": below NAME) or last but the root's
 * ("LABEL.*": a first label LABEL anywhere). */
static bool name_rule_ok(const uint8_t *n)
{
	int labels = name_labels(n), i = 0;
	for (const uint8_t *l = n; *l; l += *l + 1, i++)
		if (*l == 1 && l[1] == '*' && i != 0 && !(i == labels - 1 && i == 1))
			return false;
	return true;
}

static bool finish_rule(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { KEY, ZONES, NAMES };
	struct config_update_rule *r = base;
	r->line = line;
	if (!r->key_ref)
		return false;
	for (size_t i = 0; i < r->nnames; i++)
		if (!name_rule_ok(r->names[i])) {
			char t[NAME_MAXLEN * 4 + 1];
			name_to_text(r->names[i], t, sizeof(t));
			cfg_perr(
			    p, f[NAMES].value ? cfg_node_line(f[NAMES].value) : line,
			    "%s.names: %s: a * is the first label (the names below) or the last (LABEL.*: that first "
			    "label anywhere)",
			    where, t);
			return false;
		}
	return true;
}

static const struct cfg_item rule_items[] = {
    {.name = "key",
     .type = CFG_KEYREF,
     .flags = CFG_REQUIRED | CFG_RELOAD,
     .offset = offsetof(struct config_update_rule, key_ref),
     .help = "the TSIG key (of keys) the update is signed with"},
    {.name = "zones",
     .type = CFG_NAMES,
     .flags = CFG_RELOAD,
     .offset = offsetof(struct config_update_rule, zones),
     .count = offsetof(struct config_update_rule, nzones),
     .help = "the zones it may change (absent: every API zone)"},
    {.name = "names",
     .type = CFG_NAMES,
     .flags = CFG_RELOAD,
     .offset = offsetof(struct config_update_rule, names),
     .count = offsetof(struct config_update_rule, nnames),
     .help = "the names it may change: NAME, *.NAME (the names below), LABEL.* (that first label anywhere, "
             "_acme-challenge.*); absent: any"},
    {.name = "types",
     .type = CFG_LIST,
     .flags = CFG_SHORTHAND | CFG_RELOAD,
     .offset = offsetof(struct config_update_rule, types),
     .size = sizeof(struct config_update_type),
     .count = offsetof(struct config_update_rule, ntypes),
     .max = 64,
     .items = type_items,
     .finish = finish_type,
     .unit = "type",
     .help = "the record types it may change (absent: any but DYN)"},
    {.name = "actions",
     .type = CFG_LIST,
     .flags = CFG_SHORTHAND | CFG_RELOAD,
     .offset = offsetof(struct config_update_rule, actions),
     .size = sizeof(struct config_update_action),
     .count = offsetof(struct config_update_rule, nactions),
     .max = 2,
     .items = action_items,
     .unit = "action",
     .help = "add, delete (absent: both)"},
    {0},
};

const struct cfg_item cfg_update_items[] = {
    {.name = "max-records",
     .type = CFG_UINT,
     .flags = CFG_RELOAD,
     .offset = offsetof(struct config_update, max_records),
     .size = sizeof(unsigned),
     .min = 1,
     .max = 65535,
     .def = "1000",
     .help = "prerequisites and updates in one UPDATE message; more: REFUSED"},
    {.name = "acl",
     .type = CFG_LIST,
     .flags = CFG_RELOAD,
     .offset = offsetof(struct config_update, acl),
     .size = sizeof(struct config_update_rule),
     .count = offsetof(struct config_update, nacl),
     .items = rule_items,
     .finish = finish_rule,
     .unit = "rule",
     .help = "what each TSIG key may change in API zones by RFC 2136 UPDATE; a key without a rule may "
             "change nothing"},
    {0},
};
