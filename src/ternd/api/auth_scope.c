/* The scope claim (deSEC-style: read_only and lists of zones, names and types): read from a
 * verified token into the principal, copied and freed with it, and the decision auth_allows(). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "ternd/api/auth.h"
#include "ternd/api/auth_impl.h"

/* Why text is not a name a scope may hold, or NULL when it is one: the rules of name_from_text()
 * (escapes \X and \DDD, labels of 1 to 63 octets, at most 255 octets in all, trailing dot
 * optional), named for the token's 401, and what a scope refuses besides: the root, characters
 * that presentation form writes escaped (space, controls, non-ASCII) and '*' other than as a
 * leading wildcard label. text follows the "*." when wild; zone tells a zone from a name. */
static const char *scope_name_problem(const char *text, bool zone, bool wild)
{
	size_t octets = 1, label = 0; /* wire octets so far (the root's included), octets of this label */
	if (!*text)
		return wild ? "a wildcard needs a suffix (*.example.com)" : "empty";
	if (strcmp(text, ".") == 0)
		return wild ? "a wildcard over every name is not a scope" : "the root is not a scope";
	if (strcmp(text, "@") == 0)
		return "\"@\" has no origin in a scope";
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.') {
			if (label == 0)
				return "empty label";
			octets += label + 1;
			label = 0;
			continue;
		}
		if (c >= 0x80)
			return "non-ASCII character (write an IDN as its A-label, xn--...)";
		if (c <= 0x20 || c == 0x7f)
			return "space or control character (write it escaped, \\DDD)";
		if (c == '*')
			return zone ? "'*' in a zone name (a literal asterisk is written \\*)"
			            : "'*' is a wildcard only as the whole first label (a literal asterisk is written "
			              "\\*)";
		if (c == '\\') {
			if (p[1] >= '0' && p[1] <= '9') {
				if (!(p[2] >= '0' && p[2] <= '9' && p[3] >= '0' && p[3] <= '9') ||
				    (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0') > 255)
					return "bad escape (\\DDD takes three digits, at most 255)";
				p += 3;
			} else if (p[1]) {
				p++;
			} else {
				return "bad escape (a backslash ends the name)";
			}
		}
		if (++label > NAME_MAXLABEL)
			return "label longer than 63 octets";
	}
	if (label)
		octets += label + 1;
	if (octets > NAME_MAXLEN)
		return "longer than 255 octets in wire form";
	return NULL;
}

/* One name of the scope (a zone when zone is true) in lower-case wire form, parsed by the library's
 * name parser; "*.suffix" makes a wild entry for the names list. On TERN_EINVAL *why says why. */
static int scope_name(const char *s, bool zone, struct auth_scope_name *out, const char **why)
{
	uint8_t wire[NAME_MAXLEN];
	bool wild = !zone && s[0] == '*' && (s[1] == '.' || !s[1]);
	const char *text = wild ? s + (s[1] ? 2 : 1) : s;
	if ((*why = scope_name_problem(text, zone, wild)) != NULL)
		return TERN_EINVAL;
	int len = name_from_text(wire, text, NULL); /* no origin: relative text is taken as absolute */
	if (len <= 1) {
		*why = "not a domain name";
		return TERN_EINVAL;
	}
	name_lower(wire);
	if (!(out->name = malloc((size_t)len)))
		return TERN_ENOMEM;
	memcpy(out->name, wire, (size_t)len);
	out->wild = wild;
	return 0;
}

/* A type of the scope: a mnemonic ("TXT") or TYPEn (RFC 3597). */
static int scope_type(const char *s, struct auth_scope_type *t)
{
	size_t len = strlen(s);
	if (len == 0 || len >= sizeof(t->name))
		return TERN_EINVAL;
	if (len > 4 && strncasecmp(s, "TYPE", 4) == 0 && strspn(s + 4, "0123456789") == len - 4) {
		unsigned long v = len - 4 <= 5 ? strtoul(s + 4, NULL, 10) : 0;
		if (v == 0 || v > 65535)
			return TERN_EINVAL;
		t->code = (uint16_t)v;
		return 0;
	}
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return TERN_EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return TERN_EINVAL;
		t->name[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
	}
	t->name[len] = 0;
	return 0;
}

/* Reads one list of the scope (zones, names or types) into its array. */
static int scope_list(json_t *scope, const char *field, struct auth_scope *sc, char *err, size_t errlen)
{
	char q[AUTH_QUOTE_MAX + 4];
	json_t *list = json_object_get(scope, field);
	if (!list)
		return 0;
	if (!json_is_array(list)) {
		auth_seterr(err, errlen, "scope.%s is not an array", field);
		return TERN_EINVAL;
	}
	size_t n = json_array_size(list);
	bool types = field[0] == 't', names = field[0] == 'n';
	void *items = calloc(n ? n : 1, types ? sizeof(struct auth_scope_type) : sizeof(struct auth_scope_name));
	if (!items) {
		auth_seterr(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	if (types) {
		sc->has_types = true;
		sc->types = items;
	} else if (names) {
		sc->has_names = true;
		sc->names = items;
	} else {
		sc->has_zones = true;
		sc->zones = items;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(list, i);
		if (!json_is_string(v)) {
			auth_seterr(err, errlen, "scope.%s[%zu] is not a string", field, i);
			return TERN_EINVAL;
		}
		const char *s = json_string_value(v), *why = NULL;
		int rc = types ? scope_type(s, &sc->types[i])
		               : scope_name(s, !names, names ? &sc->names[i] : &sc->zones[i], &why);
		if (rc == TERN_ENOMEM) {
			auth_seterr(err, errlen, "out of memory");
			return rc;
		}
		if (rc < 0) {
			auth_seterr(err, errlen, "scope.%s[%zu]: \"%s\" is not %s%s%s", field, i, auth_quote(s, q),
			            types   ? "an RR type"
			            : names ? "a domain name or *.suffix"
			                    : "a domain name",
			            why ? ": " : "", why ? why : "");
			return TERN_EINVAL;
		}
		if (types)
			sc->ntypes++;
		else if (names)
			sc->nnames++;
		else
			sc->nzones++;
	}
	return 0;
}

/* scope.ingress: service ids (UUIDs in lower-case text), alone (no zones, names or types). */
static int scope_ingress(json_t *scope, struct auth_scope *sc, char *err, size_t errlen)
{
	char q[AUTH_QUOTE_MAX + 4];
	json_t *list = json_object_get(scope, "ingress");
	if (!list)
		return 0;
	if (!json_is_array(list)) {
		auth_seterr(err, errlen, "scope.ingress is not an array");
		return TERN_EINVAL;
	}
	if (sc->has_zones || sc->has_names || sc->has_types) {
		auth_seterr(err, errlen, "scope.ingress cannot be combined with zones, names or types");
		return TERN_EINVAL;
	}
	size_t n = json_array_size(list);
	if (n > AUTH_INGRESS_MAX) {
		auth_seterr(err, errlen, "scope.ingress lists %zu services, at most %d", n, AUTH_INGRESS_MAX);
		return TERN_EINVAL;
	}
	if (!(sc->ingress = calloc(n ? n : 1, sizeof(*sc->ingress)))) {
		auth_seterr(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	sc->has_ingress = true;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(list, i);
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		if (!s || strlen(s) != AUTH_SERVICE_ID_LEN || strspn(s, "0123456789abcdef-") != AUTH_SERVICE_ID_LEN) {
			auth_seterr(err, errlen,
			            "scope.ingress[%zu]: %s%s%s is not a service id (a UUID in lower case)", i,
			            s ? "\"" : "", s ? auth_quote(s, q) : "not a string", s ? "\"" : "");
			return TERN_EINVAL;
		}
		memcpy(sc->ingress[i], s, AUTH_SERVICE_ID_LEN + 1);
		sc->ningress++;
	}
	return 0;
}

bool auth_ingress_allows(const struct auth_principal *p, const char *service)
{
	for (size_t i = 0; p->scope.has_ingress && i < p->scope.ningress; i++)
		if (strcmp(p->scope.ingress[i], service) == 0)
			return true;
	return false;
}

int auth_scope_read(json_t *payload, struct auth_principal *out, char *err, size_t errlen)
{
	char q[AUTH_QUOTE_MAX + 4];
	json_t *scope = json_object_get(payload, "scope");
	if (!scope)
		return 0;
	if (!json_is_object(scope)) {
		auth_seterr(err, errlen, "scope claim is not an object");
		return TERN_EINVAL;
	}
	const char *key;
	json_t *v;
	/* An ignored restriction would widen the token: refuse what is not understood. */
	json_object_foreach(scope, key, v)
	{
		if (strcmp(key, "read_only") && strcmp(key, "zones") && strcmp(key, "names") && strcmp(key, "types") &&
		    strcmp(key, "ingress")) {
			auth_seterr(err, errlen, "scope has unknown field \"%s\"", auth_quote(key, q));
			return TERN_EINVAL;
		}
	}
	json_t *ro = json_object_get(scope, "read_only");
	if (ro && !json_is_boolean(ro)) {
		auth_seterr(err, errlen, "scope.read_only is not a boolean");
		return TERN_EINVAL;
	}
	out->scope.read_only = json_is_true(ro);
	int rc;
	if ((rc = scope_list(scope, "zones", &out->scope, err, errlen)) < 0 ||
	    (rc = scope_list(scope, "names", &out->scope, err, errlen)) < 0 ||
	    (rc = scope_list(scope, "types", &out->scope, err, errlen)) < 0 ||
	    (rc = scope_ingress(scope, &out->scope, err, errlen)) < 0)
		return rc;
	return 0;
}
static void scope_names_free(struct auth_scope_name *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i].name);
	free(list);
}

void auth_principal_free(struct auth_principal *p)
{
	if (!p)
		return;
	scope_names_free(p->scope.zones, p->scope.nzones);
	scope_names_free(p->scope.names, p->scope.nnames);
	free(p->scope.types);
	free(p->scope.ingress);
	memset(p, 0, sizeof(*p));
}

/* A deep copy of a names list; on failure *ok is false and the entries not copied are NULL. */
static struct auth_scope_name *copy_names(const struct auth_scope_name *src, size_t n, bool *ok)
{
	if (!src)
		return NULL;
	struct auth_scope_name *dst = calloc(n ? n : 1, sizeof(*dst));
	if (!dst) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = name_len(src[i].name);
		dst[i].wild = src[i].wild;
		if ((dst[i].name = malloc(len)) != NULL)
			memcpy(dst[i].name, src[i].name, len);
		else
			*ok = false;
	}
	return dst;
}

int auth_principal_copy(struct auth_principal *dst, const struct auth_principal *src)
{
	bool ok = true;
	*dst = *src;
	dst->scope.zones = copy_names(src->scope.zones, src->scope.nzones, &ok);
	dst->scope.names = copy_names(src->scope.names, src->scope.nnames, &ok);
	dst->scope.types = NULL;
	if (src->scope.types) {
		size_t size = (src->scope.ntypes ? src->scope.ntypes : 1) * sizeof(*src->scope.types);
		if ((dst->scope.types = malloc(size)) != NULL)
			memcpy(dst->scope.types, src->scope.types, size);
		else
			ok = false;
	}
	dst->scope.ingress = NULL;
	if (src->scope.ingress) {
		size_t size = (src->scope.ningress ? src->scope.ningress : 1) * sizeof(*src->scope.ingress);
		if ((dst->scope.ingress = malloc(size)) != NULL)
			memcpy(dst->scope.ingress, src->scope.ingress, size);
		else
			ok = false;
	}
	if (!ok) {
		auth_principal_free(dst);
		return TERN_ENOMEM;
	}
	return 0;
}

/* ---- scope decisions ---- */

/* Whether an entry of the scope covers a wire-form name: the same labels (ASCII case ignored), or
 * for a wild entry one or more labels more in front of them. */
static bool name_matches(const struct auth_scope_name *e, const uint8_t *name)
{
	if (e->wild)
		return name_labels(name) > name_labels(e->name) && name_in(name, e->name);
	return name_equal(name, e->name);
}

static bool listed(const struct auth_scope_name *list, size_t n, const uint8_t *name)
{
	for (size_t i = 0; i < n; i++)
		if (name_matches(&list[i], name))
			return true;
	return false;
}

static bool type_listed(const struct auth_scope *s, uint16_t type)
{
	char buf[16];
	const char *mnemonic = rr_type_name(type, buf);
	for (size_t i = 0; i < s->ntypes; i++)
		if (s->types[i].code ? s->types[i].code == type : strcasecmp(s->types[i].name, mnemonic) == 0)
			return true;
	return false;
}

bool auth_allows(const struct auth_principal *p, const uint8_t *zone, const uint8_t *name, uint16_t type, bool write)
{
	const struct auth_scope *s = &p->scope;
	/* Wider than one zone, one name or one type: allowed to read only where the scope does not
	 * bound that dimension; the caller filters item by item. */
	bool partial = false;
	if (s->has_ingress || (write && s->read_only))
		return false;
	if (zone) {
		if (s->has_zones && !listed(s->zones, s->nzones, zone))
			return false;
	} else {
		partial |= s->has_zones;
		if (name && s->has_zones)
			return false;
	}
	if (name) {
		if (s->has_names && !listed(s->names, s->nnames, name))
			return false;
	} else {
		partial |= s->has_names;
	}
	if (name && type) {
		if (s->has_types && !type_listed(s, type))
			return false;
	} else {
		partial |= s->has_types;
	}
	return !(write && partial);
}
