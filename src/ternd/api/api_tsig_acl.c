/* The update ACL of a TSIG key made over the API (api_tsig_keys.c): its JSON, a list of rules
 * {zones, names, types, actions}, read into the configuration's update.acl rules (the update module
 * judges both alike). Untrusted input: fuzz_tsig_acl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "ternd/api/api_impl.h"

void api_tsig_acl_free(struct config_update_rule *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].zones);
		free(r[i].names);
		free(r[i].types);
		free(r[i].actions);
	}
	free(r);
}

/* Whether a label of n is "*" (no zone's apex has one). */
static bool has_wildcard(const uint8_t *n)
{
	for (const uint8_t *l = n; *l; l += *l + 1)
		if (*l == 1 && l[1] == '*')
			return true;
	return false;
}

/* A name rule: a wildcard label only first ("*.NAME") or last but the root's ("LABEL.*"), as the
 * configuration's (config_schema_update.c). */
static bool name_rule_ok(const uint8_t *n)
{
	int labels = name_labels(n), i = 0;
	for (const uint8_t *l = n; *l; l += *l + 1, i++)
		if (*l == 1 && l[1] == '*' && i != 0 && !(i == labels - 1 && i == 1))
			return false;
	return true;
}

/* The array acl[i].what, or NULL when absent; false (field and why set) when not an array of at
 * most API_TSIG_ITEMS_MAX strings. */
static bool strings(json_t *rule, const char *what, size_t i, json_t **out, char *field, size_t fcap, char *why,
                    size_t wcap)
{
	json_t *v = json_object_get(rule, what);
	*out = NULL;
	if (!v)
		return true;
	snprintf(field, fcap, "acl[%zu].%s", i, what);
	if (!json_is_array(v) || json_array_size(v) > API_TSIG_ITEMS_MAX) {
		snprintf(why, wcap, "a list of at most %d strings", API_TSIG_ITEMS_MAX);
		return false;
	}
	for (size_t k = 0; k < json_array_size(v); k++)
		if (!json_is_string(json_array_get(v, k))) {
			snprintf(field, fcap, "acl[%zu].%s[%zu]", i, what, k);
			snprintf(why, wcap, "a string");
			return false;
		}
	*out = v;
	return true;
}

int api_tsig_acl_parse(json_t *acl, struct config_update_rule **out, size_t *n, char *field, size_t fcap, char *why,
                       size_t wcap)
{
	*out = NULL;
	*n = 0;
	snprintf(field, fcap, "acl");
	if (!json_is_array(acl) || json_array_size(acl) == 0 || json_array_size(acl) > API_TSIG_RULES_MAX) {
		snprintf(why, wcap, "a list of 1 to %d rules", API_TSIG_RULES_MAX);
		return TERN_EINVAL;
	}
	size_t count = json_array_size(acl);
	struct config_update_rule *r = calloc(count, sizeof(*r));
	if (!r)
		return TERN_ENOMEM;
	for (size_t i = 0; i < count; i++) {
		json_t *rule = json_array_get(acl, i), *zones, *names, *types, *acts;
		snprintf(field, fcap, "acl[%zu]", i);
		const char *key;
		json_t *v;
		bool known = json_is_object(rule);
		if (known) {
			json_object_foreach(rule, key, v)
			{
				known = known && (!strcmp(key, "zones") || !strcmp(key, "names") ||
				                  !strcmp(key, "types") || !strcmp(key, "actions"));
			}
		}
		if (!known) {
			snprintf(why, wcap, "an object of zones, names, types and actions (lists; absent: any)");
			goto bad;
		}
		if (!strings(rule, "zones", i, &zones, field, fcap, why, wcap) ||
		    !strings(rule, "names", i, &names, field, fcap, why, wcap) ||
		    !strings(rule, "types", i, &types, field, fcap, why, wcap) ||
		    !strings(rule, "actions", i, &acts, field, fcap, why, wcap))
			goto bad;
		size_t nz = json_array_size(zones), nn = json_array_size(names), nt = json_array_size(types),
		       na = json_array_size(acts);
		if ((nz && !(r[i].zones = calloc(nz, sizeof(*r[i].zones)))) ||
		    (nn && !(r[i].names = calloc(nn, sizeof(*r[i].names)))) ||
		    (nt && !(r[i].types = calloc(nt, sizeof(*r[i].types)))) ||
		    (na && !(r[i].actions = calloc(na, sizeof(*r[i].actions))))) {
			api_tsig_acl_free(r, count);
			return TERN_ENOMEM;
		}
		for (size_t k = 0; k < nz; k++, r[i].nzones++) {
			const char *t = json_string_value(json_array_get(zones, k));
			if (!api_parse_zone_name(t, r[i].zones[k]) || has_wildcard(r[i].zones[k])) {
				snprintf(field, fcap, "acl[%zu].zones[%zu]", i, k);
				snprintf(why, wcap, "\"%.80s\" is not a zone name", t);
				goto bad;
			}
		}
		for (size_t k = 0; k < nn; k++, r[i].nnames++) {
			const char *t = json_string_value(json_array_get(names, k));
			char abs[NAME_MAXLEN * 4 + 2];
			snprintf(abs, sizeof(abs), "%s%s", t, t[0] && t[strlen(t) - 1] == '.' ? "" : ".");
			if (name_from_text(r[i].names[k], abs, NULL) < 0 || !name_rule_ok(r[i].names[k])) {
				snprintf(field, fcap, "acl[%zu].names[%zu]", i, k);
				snprintf(why, wcap,
				         "\"%.80s\" is not NAME, *.NAME (the names below) or LABEL.* (that first label "
				         "anywhere)",
				         t);
				goto bad;
			}
			name_lower(r[i].names[k]);
		}
		for (size_t k = 0; k < nt; k++, r[i].ntypes++) {
			const char *t = json_string_value(json_array_get(types, k));
			uint16_t type;
			if (rrtext_type_from_text(t, &type) < 0 || rr_type_is_meta(type) || type == RR_DYN) {
				snprintf(field, fcap, "acl[%zu].types[%zu]", i, k);
				snprintf(why, wcap, "\"%.40s\" is not a record type an update may change", t);
				goto bad;
			}
			r[i].types[k].type = type;
		}
		for (size_t k = 0; k < na; k++, r[i].nactions++) {
			const char *t = json_string_value(json_array_get(acts, k));
			if (strcmp(t, "add") != 0 && strcmp(t, "delete") != 0) {
				snprintf(field, fcap, "acl[%zu].actions[%zu]", i, k);
				snprintf(why, wcap, "\"%.40s\" is not add or delete", t);
				goto bad;
			}
			r[i].actions[k].action = strcmp(t, "add") == 0 ? CONFIG_UPDATE_ADD : CONFIG_UPDATE_DELETE;
		}
	}
	*out = r;
	*n = count;
	return 0;
bad:
	api_tsig_acl_free(r, count);
	return TERN_EINVAL;
}
