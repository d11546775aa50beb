/* Domain Connect templates, apply queries, records, signatures and redirects (see dconn.h). */
#include "lib/dconn.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/base64.h"
#include "lib/error.h"
#include "lib/rr.h"

/* ---- templates ---- */

static const char *const top_keys[] = {"providerId",
                                       "providerName",
                                       "serviceId",
                                       "serviceName",
                                       "version",
                                       "logoUrl",
                                       "description",
                                       "variableDescription",
                                       "syncBlock",
                                       "shared",
                                       "sharedProviderName",
                                       "sharedServiceName",
                                       "syncRedirectDomain",
                                       "syncPubKeyDomain",
                                       "multiInstance",
                                       "warnPhishing",
                                       "hostRequired",
                                       "records",
                                       NULL};
static const char *const record_keys[] = {"groupId",
                                          "essential",
                                          "type",
                                          "host",
                                          "pointsTo",
                                          "ttl",
                                          "data",
                                          "txtConflictMatchingMode",
                                          "txtConflictMatchingPrefix",
                                          "priority",
                                          "service",
                                          "protocol",
                                          "port",
                                          "weight",
                                          "target",
                                          "name",
                                          "spfRules",
                                          NULL};

static bool known(const char *const *keys, const char *k)
{
	for (; *keys; keys++)
		if (!strcmp(*keys, k))
			return true;
	return false;
}

static bool var_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* Whether every '%' of s opens a %name% (1 to 64 name characters) that closes. */
static bool vars_well_formed(const char *s)
{
	for (const char *p = strchr(s, '%'); p; p = strchr(p, '%')) {
		const char *e = strchr(p + 1, '%');
		if (!e || e == p + 1 || e - p - 1 > 64)
			return false;
		for (const char *c = p + 1; c < e; c++)
			if (!var_char(*c))
				return false;
		p = e + 1;
	}
	return true;
}

/* A printable string of at most DCONN_FIELD_MAX octets (UTF-8 beyond ASCII let through). */
static bool text_ok(const char *s)
{
	size_t n = strlen(s);
	if (n > DCONN_FIELD_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* obj[key] as a malloc'd string into *out: required or not, strings only, or a number when
 * number_ok (written in decimal). false with err. */
static bool get_string(json_t *obj, const char *key, bool required, bool number_ok, char **out, const char *where,
                       char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v) {
		if (required)
			snprintf(err, errlen, "%s%s: missing", where, key);
		return !required;
	}
	char num[32];
	const char *s;
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (strlen(s) != json_string_length(v) || !text_ok(s)) {
			snprintf(err, errlen, "%s%s: control characters, a NUL or over %d octets", where, key,
			         DCONN_FIELD_MAX);
			return false;
		}
	} else if (number_ok && json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		s = num;
	} else {
		snprintf(err, errlen, "%s%s: must be a string%s", where, key, number_ok ? " or a number" : "");
		return false;
	}
	if (*where && !vars_well_formed(s)) { /* a record's field (a logo URL may hold %20) */
		snprintf(err, errlen, "%s%s: a %% that does not open a %%variable%% (letters, digits, - _ .)", where,
		         key);
		return false;
	}
	*out = strdup(s);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

static bool get_bool(json_t *obj, const char *key, bool *out, const char *where, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	*out = false;
	if (v && !json_is_boolean(v)) {
		snprintf(err, errlen, "%s%s: must be true or false", where, key);
		return false;
	}
	*out = v && json_is_true(v);
	return true;
}

/* A number (or a number as text, or one %variable%) within lo..hi. */
static bool number_field_ok(const char *s, unsigned long hi)
{
	size_t n = strlen(s);
	if (n > 2 && s[0] == '%')
		return strchr(s + 1, '%') == s + n - 1;
	if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
		return false;
	return strtoul(s, NULL, 10) <= hi;
}

void dconn_template_clear(struct dconn_template *t)
{
	free(t->provider_id);
	free(t->provider_name);
	free(t->service_id);
	free(t->service_name);
	free(t->description);
	free(t->pubkey_domain);
	free(t->redirect_domains);
	for (size_t i = 0; i < t->nrecords; i++) {
		struct dconn_record *r = &t->records[i];
		free(r->group);
		free(r->host);
		free(r->value);
		free(r->ttl);
		free(r->priority);
		free(r->service);
		free(r->protocol);
		free(r->weight);
		free(r->port);
		free(r->txt_prefix);
	}
	free(t->records);
	memset(t, 0, sizeof(*t));
}

/* An id (providerId, serviceId): 1 to 64 letters, digits, '.', '-', '_'. */
static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static int parse_record(json_t *o, size_t i, struct dconn_record *r, char *err, size_t errlen)
{
	char where[40];
	snprintf(where, sizeof(where), "records[%zu].", i);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "records[%zu]: must be an object", i);
		return TERN_EINVAL;
	}
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		if (!known(record_keys, k)) {
			snprintf(err, errlen, "%s%.64s: not a field of a template record", where, k);
			return TERN_EINVAL;
		}
	}
	char *type = NULL;
	if (!get_string(o, "type", true, false, &type, where, err, errlen))
		return TERN_EINVAL;
	static const struct {
		const char *name;
		uint16_t type;
	} types[] = {{"A", RR_A},     {"AAAA", RR_AAAA}, {"CNAME", RR_CNAME}, {"MX", RR_MX},   {"NS", RR_NS},
	             {"TXT", RR_TXT}, {"SRV", RR_SRV},   {"CAA", RR_CAA},     {"SPFM", RR_TXT}};
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		if (!strcasecmp(type, types[t].name))
			r->type = types[t].type;
	r->spfm = !strcasecmp(type, "SPFM");
	if (!r->type) {
		const char *reason = !strcasecmp(type, "REDIR301") || !strcasecmp(type, "REDIR302")
		                         ? "needs a web redirect service, which this provider does not run"
		                     : !strcasecmp(type, "APEXCNAME")
		                         ? "needs a CNAME at the zone's apex answered flattened (an ALIAS), which this "
		                           "provider does not "
		                           "serve"
		                         : "is not supported here (A, AAAA, CNAME, MX, NS, TXT, SRV, CAA, SPFM)";
		snprintf(err, errlen, "%stype: %.32s %s", where, type, reason);
		free(type);
		return TERN_EINVAL;
	}
	free(type);
	bool txt = r->type == RR_TXT && !r->spfm, srv = r->type == RR_SRV;
	const char *value_key = r->spfm                      ? "spfRules"
	                        : srv                        ? "target"
	                        : (txt || r->type == RR_CAA) ? "data"
	                                                     : "pointsTo";
	/* SRV names its owner "name" (the published examples); "host" is taken as well */
	const char *host_key = srv && !json_object_get(o, "host") ? "name" : "host";
	if (!get_string(o, "groupId", false, false, &r->group, where, err, errlen) ||
	    !get_string(o, host_key, true, false, &r->host, where, err, errlen) ||
	    !get_string(o, value_key, true, false, &r->value, where, err, errlen) ||
	    !get_string(o, "ttl", !r->spfm, true, &r->ttl, where, err, errlen) ||
	    !get_string(o, "priority", r->type == RR_MX || srv, true, &r->priority, where, err, errlen) ||
	    !get_string(o, "service", srv, false, &r->service, where, err, errlen) ||
	    !get_string(o, "protocol", srv, false, &r->protocol, where, err, errlen) ||
	    !get_string(o, "weight", srv, true, &r->weight, where, err, errlen) ||
	    !get_string(o, "port", srv, true, &r->port, where, err, errlen) ||
	    !get_string(o, "txtConflictMatchingPrefix", false, false, &r->txt_prefix, where, err, errlen))
		return TERN_EINVAL;
	if (!r->ttl && !(r->ttl = strdup(""))) { /* SPFM without one: the SPF record's, else 3600 */
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	if (*r->ttl && !number_field_ok(r->ttl, 2147483647)) {
		snprintf(err, errlen, "%sttl: %.64s is not a number of seconds or a %%variable%%", where, r->ttl);
		return TERN_EINVAL;
	}
	const struct {
		const char *key, *value;
	} u16[] = {{"priority", r->priority}, {"weight", r->weight}, {"port", r->port}};
	for (size_t k = 0; k < 3; k++)
		if (u16[k].value && !number_field_ok(u16[k].value, 65535)) {
			snprintf(err, errlen, "%s%s: %.64s is not a number 0 to 65535 or a %%variable%%", where,
			         u16[k].key, u16[k].value);
			return TERN_EINVAL;
		}
	const struct {
		const char *key, *value;
	} labels[] = {{"service", r->service}, {"protocol", r->protocol}};
	for (size_t k = 0; k < 2; k++)
		if (labels[k].value &&
		    (!*labels[k].value || strchr(labels[k].value, '.') || strlen(labels[k].value) > 62)) {
			snprintf(err, errlen, "%s%s: %.64s is not one label (\"_sip\", \"_tcp\", or a %%variable%%)",
			         where, labels[k].key, labels[k].value);
			return TERN_EINVAL;
		}
	char *mode = NULL;
	if (!get_string(o, "txtConflictMatchingMode", false, false, &mode, where, err, errlen))
		return TERN_EINVAL;
	if (mode && !txt) {
		snprintf(err, errlen, "%stxtConflictMatchingMode: only for a TXT record", where);
		free(mode);
		return TERN_EINVAL;
	}
	if (!mode || !strcmp(mode, "None"))
		r->txt_mode = DCONN_TXT_NONE;
	else if (!strcmp(mode, "All"))
		r->txt_mode = DCONN_TXT_ALL;
	else if (!strcmp(mode, "Prefix"))
		r->txt_mode = DCONN_TXT_PREFIX;
	else {
		snprintf(err, errlen, "%stxtConflictMatchingMode: %.32s is not None, All or Prefix", where, mode);
		free(mode);
		return TERN_EINVAL;
	}
	free(mode);
	if (r->txt_mode == DCONN_TXT_PREFIX && (!r->txt_prefix || !*r->txt_prefix)) {
		snprintf(err, errlen, "%stxtConflictMatchingPrefix: missing (txtConflictMatchingMode is Prefix)",
		         where);
		return TERN_EINVAL;
	}
	return 0;
}

int dconn_template_parse(const char *text, size_t len, struct dconn_template *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "line %d: not JSON: %s", je.line, je.text);
		for (char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		return TERN_EINVAL;
	}
	int rc = TERN_EINVAL;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "(top): must be an object");
		goto fail;
	}
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v)
	{
		if (!known(top_keys, k)) {
			snprintf(err, errlen, "%.64s: not a field of a template", k);
			goto fail;
		}
	}
	char *ignored = NULL;
	if (!get_string(root, "providerId", true, false, &t->provider_id, "", err, errlen) ||
	    !get_string(root, "providerName", true, false, &t->provider_name, "", err, errlen) ||
	    !get_string(root, "serviceId", true, false, &t->service_id, "", err, errlen) ||
	    !get_string(root, "serviceName", true, false, &t->service_name, "", err, errlen) ||
	    !get_string(root, "description", false, false, &t->description, "", err, errlen) ||
	    !get_string(root, "syncPubKeyDomain", false, false, &t->pubkey_domain, "", err, errlen) ||
	    !get_string(root, "syncRedirectDomain", false, false, &t->redirect_domains, "", err, errlen) ||
	    !get_bool(root, "syncBlock", &t->sync_block, "", err, errlen) ||
	    !get_bool(root, "hostRequired", &t->host_required, "", err, errlen) ||
	    !get_bool(root, "warnPhishing", &t->warn_phishing, "", err, errlen))
		goto fail;
	static const char *const strings[] = {"logoUrl", "variableDescription"};
	static const char *const bools[] = {"shared", "sharedProviderName", "sharedServiceName", "multiInstance"};
	for (size_t i = 0; i < 2; i++) {
		if (!get_string(root, strings[i], false, false, &ignored, "", err, errlen))
			goto fail;
		free(ignored);
	}
	for (size_t i = 0; i < 4; i++) {
		bool b;
		if (!get_bool(root, bools[i], &b, "", err, errlen))
			goto fail;
	}
	if (!id_ok(t->provider_id) || !id_ok(t->service_id)) {
		snprintf(err, errlen, "%s: must be 1 to 64 letters, digits, '.', '-' or '_'",
		         id_ok(t->provider_id) ? "serviceId" : "providerId");
		goto fail;
	}
	json_t *ver = json_object_get(root, "version");
	if (ver && (!json_is_integer(ver) || json_integer_value(ver) < 0)) {
		snprintf(err, errlen, "version: must be a whole number");
		goto fail;
	}
	t->version = ver ? (long)json_integer_value(ver) : 0;
	if (t->pubkey_domain) {
		uint8_t wire[NAME_MAXLEN];
		if (!*t->pubkey_domain || strchr(t->pubkey_domain, '%') ||
		    name_from_text(wire, t->pubkey_domain, (const uint8_t *)"") < 0) {
			snprintf(err, errlen, "syncPubKeyDomain: %.64s is not a domain name", t->pubkey_domain);
			goto fail;
		}
	}
	json_t *recs = json_object_get(root, "records");
	if (!json_is_array(recs) || json_array_size(recs) == 0 || json_array_size(recs) > DCONN_MAX_RECORDS) {
		snprintf(err, errlen, "records: %s", recs ? "must be a list of 1 to 64 records" : "missing");
		goto fail;
	}
	t->records = calloc(json_array_size(recs), sizeof(*t->records));
	if (!t->records) {
		rc = TERN_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < json_array_size(recs); i++) {
		t->nrecords = i + 1;
		if ((rc = parse_record(json_array_get(recs, i), i, &t->records[i], err, errlen)) < 0)
			goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	dconn_template_clear(t);
	for (char *c = err; *c; c++) /* the input's own bytes (a key, jansson's excerpt) made printable */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return rc == 0 ? TERN_EINVAL : rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void dconn_templates_free(struct dconn_templates *ts)
{
	if (!ts)
		return;
	for (size_t i = 0; i < ts->n; i++)
		dconn_template_clear(&ts->v[i]);
	free(ts->v);
	free(ts);
}

const struct dconn_template *dconn_templates_find(const struct dconn_templates *ts, const char *provider,
                                                  const char *service)
{
	for (size_t i = 0; ts && i < ts->n; i++)
		if (!strcasecmp(ts->v[i].provider_id, provider) && !strcasecmp(ts->v[i].service_id, service))
			return &ts->v[i];
	return NULL;
}

/* The file's text (at most DCONN_FILE_MAX octets), malloc'd. */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s", strerror(errno));
		return TERN_EIO;
	}
	char *buf = malloc(DCONN_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, DCONN_FILE_MAX + 1, f) : 0;
	bool bad = ferror(f);
	fclose(f);
	if (!buf || bad || n > DCONN_FILE_MAX) {
		snprintf(err, errlen, "%s", !buf ? "out of memory" : bad ? "cannot be read" : "larger than 1 MiB");
		free(buf);
		return !buf ? TERN_ENOMEM : TERN_EIO;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

int dconn_templates_load(const char *dir, struct dconn_templates **out, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return TERN_EIO;
	}
	char **names = NULL;
	size_t nnames = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || e->d_name[0] == '.' || strcmp(e->d_name + l - 5, ".json"))
			continue;
		if (nnames == DCONN_MAX_TEMPLATES) {
			snprintf(err, errlen, "%s: more than %d templates", dir, DCONN_MAX_TEMPLATES);
			rc = TERN_ECONFIG;
			break;
		}
		char **grown = realloc(names, (nnames + 1) * sizeof(*names));
		if (!grown || !(grown[nnames] = strdup(e->d_name))) {
			names = grown ? grown : names;
			rc = TERN_ENOMEM;
			snprintf(err, errlen, "out of memory");
			break;
		}
		names = grown;
		nnames++;
	}
	closedir(d);
	struct dconn_templates *ts = rc == 0 ? calloc(1, sizeof(*ts)) : NULL;
	if (rc == 0 && (!ts || !(ts->v = calloc(nnames ? nnames : 1, sizeof(*ts->v))))) {
		rc = TERN_ENOMEM;
		snprintf(err, errlen, "out of memory");
	}
	if (rc == 0 && nnames)
		qsort(names, nnames, sizeof(*names), by_name);
	for (size_t i = 0; rc == 0 && i < nnames; i++) {
		char path[4096], why[512];
		char *text = NULL;
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((rc = read_file(path, &text, &len, why, sizeof(why))) < 0) {
			snprintf(err, errlen, "%s: %s", path, why);
			break;
		}
		rc = dconn_template_parse(text, len, &ts->v[ts->n], why, sizeof(why));
		free(text);
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", path, why);
			rc = rc == TERN_ENOMEM ? rc : TERN_ECONFIG;
			break;
		}
		struct dconn_template *t = &ts->v[ts->n];
		snprintf(t->file, sizeof(t->file), "%s", names[i]);
		const struct dconn_template *twin = dconn_templates_find(ts, t->provider_id, t->service_id);
		ts->n++;
		if (twin && twin != t) {
			snprintf(err, errlen, "%s: providerId %s serviceId %s: also in %s", path, t->provider_id,
			         t->service_id, twin->file);
			rc = TERN_ECONFIG;
		}
	}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (rc < 0) {
		dconn_templates_free(ts);
		return rc;
	}
	*out = ts;
	return 0;
}

/* ---- the apply query ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) ('+' is a space) into a malloc'd string: NULL for a bad escape, a
 * control character or a NUL (*bad set), or out of memory (*bad clear). */
static char *decode(const char *s, size_t n, bool *bad)
{
	*bad = false;
	char *o = malloc(n + 1), *w = o;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int a = i + 1 < n ? hexval(s[i + 1]) : -1, b = i + 2 < n ? hexval(s[i + 2]) : -1;
			if (a < 0 || b < 0) {
				*bad = true;
				free(o);
				return NULL;
			}
			c = a * 16 + b;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f) {
			*bad = true;
			free(o);
			return NULL;
		}
		*w++ = (char)c;
	}
	*w = 0;
	return o;
}

/* A relative name's text: labels of letters, digits, '-', '_' (and '*' when star), none empty,
 * at most 253 octets. */
static bool labels_ok(const char *s, bool star)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.' &&
		    !(star && s[i] == '*'))
			return false;
	return true;
}

void dconn_query_clear(struct dconn_query *q)
{
	free(q->domain);
	free(q->host);
	free(q->sig);
	free(q->key);
	free(q->redirect_uri);
	free(q->state);
	free(q->group_ids);
	for (size_t i = 0; i < q->nvars; i++) {
		free(q->vars[i].name);
		free(q->vars[i].value);
	}
	free(q->signed_text);
	memset(q, 0, sizeof(*q));
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int dconn_query_parse(const char *raw, size_t len, struct dconn_query *q, char *field, size_t fcap, char *why,
                      size_t wcap)
{
	memset(q, 0, sizeof(*q));
	int rc = TERN_EINVAL;
	snprintf(field, fcap, "query");
	q->signed_text = malloc(len + 1);
	if (!q->signed_text) {
		snprintf(why, wcap, "out of memory");
		return TERN_ENOMEM;
	}
	size_t signed_len = 0;
	for (size_t at = 0; at < len;) {
		size_t end = at;
		while (end < len && raw[end] != '&')
			end++;
		size_t eq = at;
		while (eq < end && raw[eq] != '=')
			eq++;
		snprintf(field, fcap, "query");
		if (eq == at) {
			snprintf(why, wcap, "an empty parameter or one without a name at offset %zu", at);
			goto fail;
		}
		bool bad;
		char *name = decode(raw + at, eq - at, &bad);
		if (name) /* a bad value is its parameter's */
			snprintf(field, fcap, "%.64s", name);
		char *value = name ? decode(raw + eq + (eq < end), end - eq - (eq < end), &bad) : NULL;
		if (!name || !value) {
			free(name);
			rc = bad ? TERN_EINVAL : TERN_ENOMEM;
			snprintf(why, wcap, "%s", bad ? "a bad %-escape or a control character" : "out of memory");
			goto fail;
		}
		size_t nl = strlen(name);
		bool name_ok = nl > 0 && nl <= 64;
		for (size_t i = 0; name_ok && i < nl; i++)
			name_ok = var_char(name[i]);
		char **slot = NULL;
		if (!strcmp(name, "domain"))
			slot = &q->domain;
		else if (!strcmp(name, "host"))
			slot = &q->host;
		else if (!strcmp(name, "sig"))
			slot = &q->sig;
		else if (!strcmp(name, "key"))
			slot = &q->key;
		else if (!strcmp(name, "redirect_uri"))
			slot = &q->redirect_uri;
		else if (!strcmp(name, "state"))
			slot = &q->state;
		else if (!strcmp(name, "groupId"))
			slot = &q->group_ids;
		bool twice = slot && *slot;
		for (size_t i = 0; !slot && i < q->nvars; i++)
			twice |= !strcasecmp(q->vars[i].name, name);
		const char *problem = !name_ok ? "is not a parameter name (letters, digits, - _ .)"
		                      : twice  ? "is given twice"
		                      : strlen(value) > DCONN_FIELD_MAX     ? "is longer than 4096 octets"
		                      : !slot && q->nvars == DCONN_MAX_VARS ? "is one variable too many (at most 32)"
		                                                            : NULL;
		if (problem) {
			snprintf(why, wcap, "%s", problem);
			free(name);
			free(value);
			goto fail;
		}
		if (slot) {
			*slot = value;
			free(name);
		} else {
			q->vars[q->nvars].name = name;
			q->vars[q->nvars++].value = value;
		}
		if (slot != &q->sig && slot != &q->key) {
			if (signed_len)
				q->signed_text[signed_len++] = '&';
			memcpy(q->signed_text + signed_len, raw + at, end - at);
			signed_len += end - at;
		}
		at = end + 1;
		if (end + 1 == len) {
			snprintf(field, fcap, "query");
			snprintf(why, wcap, "ends in '&'");
			goto fail;
		}
	}
	q->signed_text[signed_len] = 0;
	if (!q->domain) {
		snprintf(field, fcap, "domain");
		snprintf(why, wcap, "missing");
		goto fail;
	}
	lower(q->domain);
	size_t dl = strlen(q->domain);
	if (dl && q->domain[dl - 1] == '.')
		q->domain[--dl] = 0;
	if (!labels_ok(q->domain, false)) {
		snprintf(field, fcap, "domain");
		snprintf(why, wcap, "\"%.64s\" is not a domain name", q->domain);
		goto fail;
	}
	if (!q->host && !(q->host = strdup(""))) {
		rc = TERN_ENOMEM;
		snprintf(why, wcap, "out of memory");
		goto fail;
	}
	lower(q->host);
	if (*q->host && (!labels_ok(q->host, false) || strlen(q->host) + 1 + dl > 253)) {
		snprintf(field, fcap, "host");
		snprintf(why, wcap, "\"%.64s\" is not a name relative to the domain", q->host);
		goto fail;
	}
	if ((q->sig && !*q->sig) || (q->key && !labels_ok(q->key, false))) {
		snprintf(field, fcap, q->key && !labels_ok(q->key, false) ? "key" : "sig");
		snprintf(why, wcap, "%s",
		         q->key && !labels_ok(q->key, false) ? "is not a name (the key's host)" : "empty");
		goto fail;
	}
	field[0] = 0;
	return 0;
fail:
	dconn_query_clear(q);
	return rc;
}

/* ---- records ---- */

static const char *var_value(const struct dconn_query *q, const char *fqdn, const char *name, size_t n)
{
	if (n == 6 && !strncasecmp(name, "domain", 6))
		return q->domain;
	if (n == 4 && !strncasecmp(name, "host", 4))
		return q->host;
	if (n == 4 && !strncasecmp(name, "fqdn", 4))
		return fqdn;
	for (size_t i = 0; i < q->nvars; i++)
		if (strlen(q->vars[i].name) == n && !strncasecmp(q->vars[i].name, name, n))
			return q->vars[i].value;
	return NULL;
}

/* s with its variables replaced into out (cap octets). 0; TERN_ENOTFOUND with *first the variable
 * missing; TERN_ESPACE. *used gets the first variable's name (for the caller's message). */
static int substitute(const char *s, const struct dconn_query *q, const char *fqdn, char *out, size_t cap, char *var,
                      size_t vcap)
{
	size_t w = 0;
	var[0] = 0;
	for (const char *p = s; *p;) {
		if (*p != '%') {
			if (w + 1 >= cap)
				return TERN_ESPACE;
			out[w++] = *p++;
			continue;
		}
		const char *e = strchr(p + 1, '%'); /* well formed: checked at load */
		if (!e)
			return TERN_EINVAL;
		if (!var[0])
			snprintf(var, vcap, "%.*s", (int)(e - p - 1), p + 1);
		const char *v = var_value(q, fqdn, p + 1, (size_t)(e - p - 1));
		if (!v) {
			snprintf(var, vcap, "%.*s", (int)(e - p - 1), p + 1);
			return TERN_ENOTFOUND;
		}
		size_t vl = strlen(v);
		if (w + vl >= cap)
			return TERN_ESPACE;
		memcpy(out + w, v, vl);
		w += vl;
		p = e + 1;
	}
	out[w] = 0;
	return 0;
}

static bool in_groups(const char *groups, const char *g)
{
	if (!groups)
		return true;
	if (!g)
		return false;
	size_t gl = strlen(g);
	for (const char *p = groups; *p;) {
		size_t l = strcspn(p, ",");
		if (l == gl && !strncasecmp(p, g, l))
			return true;
		p += l + (p[l] == ',');
	}
	return false;
}

/* A target name (CNAME, NS, MX): "@" the request's name, else an absolute name. */
static bool target_name(const char *v, const char *fqdn, uint8_t *out, uint16_t *len)
{
	const char *t = strcmp(v, "@") ? v : fqdn;
	size_t n = strlen(t);
	if (n == 0 || n > 254 || strchr(t, '\\') || strchr(t, ' '))
		return false;
	int l = name_from_text(out, t, (const uint8_t *)"");
	if (l <= 1)
		return false;
	name_lower(out);
	*len = (uint16_t)l;
	return true;
}

static bool number(const char *s, unsigned long hi, unsigned long *v)
{
	size_t n = strlen(s);
	if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
		return false;
	*v = strtoul(s, NULL, 10);
	return *v <= hi;
}

/* One label of an SRV owner (service, protocol) as substituted: letters, digits, '-', '_', 1 to 63
 * octets with the '_' it is given when it lacks one; into *out as a wire label. */
static bool srv_label(const char *s, uint8_t *out)
{
	size_t n = strlen(s), under = s[0] != '_';
	if (n == 0 || n + under > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	out[0] = (uint8_t)(n + under);
	out[1] = '_';
	memcpy(out + 1 + under, s, n);
	for (size_t i = 1; i <= n + under; i++)
		out[i] = (uint8_t)tolower(out[i]);
	return true;
}

/* Which variable of s makes a value that check refuses: the first whose value, made "a", gives
 * a value check takes (into var); false when none alone does. */
static bool culprit(const char *s, const struct dconn_query *q, const char *fqdn,
                    bool (*check)(const char *, uint8_t *, uint16_t *), char *var, size_t vcap)
{
	for (const char *p = strchr(s, '%'); p; p = strchr(p, '%')) {
		const char *e = strchr(p + 1, '%');
		if (!e)
			return false;
		char out[DCONN_TXT_MAX + 1];
		size_t w = 0;
		bool fits = true;
		for (const char *c = s; *c && fits;) {
			const char *ce = *c == '%' ? strchr(c + 1, '%') : NULL;
			if (!ce) {
				fits = w + 1 < sizeof(out);
				out[w++] = *c++;
				continue;
			}
			const char *v = c == p ? "a" : var_value(q, fqdn, c + 1, (size_t)(ce - c - 1));
			size_t vl = v ? strlen(v) : 0;
			fits = v && w + vl < sizeof(out);
			if (fits)
				memcpy(out + w, v, vl);
			w += vl;
			c = ce + 1;
		}
		if (fits) {
			out[w] = 0;
			uint8_t rd[DCONN_TXT_MAX + 16];
			uint16_t len;
			if (check(out, rd, &len)) {
				snprintf(var, vcap, "%.*s", (int)(e - p - 1), p + 1);
				return true;
			}
		}
		p = e + 1;
	}
	return false;
}

/* CAA's data as substituted: FLAGS TAG VALUE, FLAGS 0 to 255, TAG 1 to 15 letters and digits,
 * VALUE one "quoted" string without a quote or backslash inside, or one word without either:
 * the RDATA into rd (*len). Never zone text: nothing is unescaped. */
static bool caa_rdata(const char *s, uint8_t *rd, uint16_t *len)
{
	size_t fl = strspn(s, "0123456789");
	if (fl == 0 || fl > 3 || s[fl] != ' ' || strtoul(s, NULL, 10) > 255)
		return false;
	const char *tag = s + fl + 1;
	size_t tl = 0;
	while (isalnum((unsigned char)tag[tl]))
		tl++;
	if (tl == 0 || tl > 15 || tag[tl] != ' ')
		return false;
	const char *v = tag + tl + 1;
	size_t vl = strlen(v);
	if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
		v++, vl -= 2;
	if (vl > DCONN_TXT_MAX - 20 || memchr(v, '"', vl) || memchr(v, '\\', vl) ||
	    (v == tag + tl + 1 && memchr(v, ' ', vl)))
		return false;
	rd[0] = (uint8_t)strtoul(s, NULL, 10);
	rd[1] = (uint8_t)tl;
	for (size_t i = 0; i < tl; i++)
		rd[2 + i] = (uint8_t)tolower((unsigned char)tag[i]);
	memcpy(rd + 2 + tl, v, vl);
	*len = (uint16_t)(2 + tl + vl);
	return true;
}

/* SPF terms of an SPFM record: printable, no quote or backslash, none of them the version or an
 * "all" (the record's own policy stays the record's). NULL, or why not. */
static const char *spf_rules_problem(const char *s)
{
	if (!*s || strspn(s, " ") == strlen(s))
		return "empty";
	for (const char *c = s; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c > 0x7e)
			return "a quote, a backslash or a character beyond ASCII";
	for (const char *t = s; *t;) {
		t += strspn(t, " ");
		size_t l = strcspn(t, " ");
		const char *m = l && strchr("+-~?", *t) ? t + 1 : t;
		size_t ml = l - (size_t)(m - t);
		if ((l == 6 && !strncasecmp(t, "v=spf1", 6)) || (ml == 3 && !strncasecmp(m, "all", 3)))
			return "a version or an \"all\" term (the record keeps its own)";
		t += l;
	}
	return NULL;
}

/* spf_rules_problem() as culprit() asks it. */
static bool spf_rules_ok(const char *s, uint8_t *rd, uint16_t *len)
{
	(void)rd;
	*len = 0;
	return !spf_rules_problem(s);
}

/* Whether the term t (l octets) is one of the record's terms. */
static bool spf_has(const char *rec, size_t len, const char *t, size_t l)
{
	for (size_t at = 0; at < len;) {
		while (at < len && rec[at] == ' ')
			at++;
		size_t e = at;
		while (e < len && rec[e] != ' ')
			e++;
		if (e - at == l && !strncasecmp(rec + at, t, l))
			return true;
		at = e;
	}
	return false;
}

int dconn_spf_merge(const char *spf, size_t len, const char *rules, char *out, size_t cap)
{
	if (len < 6 || strncasecmp(spf, "v=spf1", 6) || (len > 6 && spf[6] != ' '))
		return -1;
	/* where the "all" term starts (the new terms go before it), else the end */
	size_t all = len;
	for (size_t at = 6; at < len;) {
		while (at < len && spf[at] == ' ')
			at++;
		size_t e = at;
		while (e < len && spf[e] != ' ')
			e++;
		const char *m = e > at && strchr("+-~?", spf[at]) ? spf + at + 1 : spf + at;
		if (spf + e - m == 3 && !strncasecmp(m, "all", 3)) {
			all = at;
			break;
		}
		at = e;
	}
	size_t w = 0, head = all;
	while (head > 6 && spf[head - 1] == ' ')
		head--;
	if (head + 1 > cap)
		return -1;
	memcpy(out, spf, head);
	w = head;
	for (const char *t = rules; *t;) {
		t += strspn(t, " ");
		size_t l = strcspn(t, " ");
		if (l && !spf_has(spf, len, t, l) && !spf_has(out, w, t, l)) {
			if (w + 1 + l + 1 > cap)
				return -1;
			out[w++] = ' ';
			memcpy(out + w, t, l);
			w += l;
		}
		t += l;
	}
	if (all < len) {
		size_t tl = len - all;
		if (w + 1 + tl + 1 > cap)
			return -1;
		out[w++] = ' ';
		memcpy(out + w, spf + all, tl);
		w += tl;
	}
	out[w] = 0;
	return (int)w;
}

/* s as TXT strings of at most 255 octets into rd (*len). */
static void txt_rdata(const char *s, uint8_t *rd, uint16_t *len)
{
	size_t dl = strlen(s), w = 0, at = 0;
	do {
		size_t piece = dl > 255 ? 255 : dl;
		rd[w++] = (uint8_t)piece;
		memcpy(rd + w, s + at, piece);
		w += piece;
		at += piece;
		dl -= piece;
	} while (dl);
	*len = (uint16_t)w;
}

int dconn_expand(const struct dconn_template *t, const struct dconn_query *q, struct dconn_rr **out, size_t *n,
                 char *field, size_t fcap, char *why, size_t wcap)
{
	char fqdn[512], buf[DCONN_TXT_MAX + 1] = "", var[80];
	snprintf(fqdn, sizeof(fqdn), "%s%s%s", q->host, *q->host ? "." : "", q->domain);
	*out = NULL;
	*n = 0;
	if (t->host_required && !*q->host) {
		snprintf(field, fcap, "host");
		snprintf(why, wcap, "required by this template");
		return TERN_EINVAL;
	}
	uint8_t base[NAME_MAXLEN];
	if (name_from_text(base, fqdn, (const uint8_t *)"") < 0) {
		snprintf(field, fcap, "host");
		snprintf(why, wcap, "%.300s is not a domain name", fqdn);
		return TERN_EINVAL;
	}
	name_lower(base);
	struct dconn_rr *v = calloc(t->nrecords ? t->nrecords : 1, sizeof(*v));
	if (!v) {
		snprintf(why, wcap, "out of memory");
		return TERN_ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < t->nrecords; i++) {
		const struct dconn_record *r = &t->records[i];
		if (!in_groups(q->group_ids, r->group))
			continue;
		struct dconn_rr *rr = &v[k];
		rr->type = r->type;
		rr->txt_mode = r->txt_mode;
		rr->txt_prefix = r->txt_prefix;
		const char *what = "host";
		int rc = substitute(r->host, q, fqdn, buf, sizeof(buf), var, sizeof(var));
		if (rc == 0) {
			/* the owner: host.domain itself, or labels under it; a variable may not make it another name */
			/* written absolute ("%sub%.%domain%." as some templates do): it must name host.domain or
			 * a name under it all the same */
			size_t bl = strlen(buf), fl = strlen(fqdn);
			bool absolute = bl > 1 && buf[bl - 1] == '.';
			if (absolute)
				buf[--bl] = 0;
			lower(buf);
			if (!*buf || !strcmp(buf, "@") || (absolute && !strcmp(buf, fqdn))) {
				memcpy(rr->owner, base, name_len(base));
			} else {
				char full[sizeof(buf) + sizeof(fqdn) + 2];
				if (absolute)
					snprintf(full, sizeof(full), "%s", buf);
				else
					snprintf(full, sizeof(full), "%s.%s", buf, fqdn);
				bool under =
				    !absolute || (bl > fl && buf[bl - fl - 1] == '.' && !strcmp(buf + bl - fl, fqdn));
				if (!under || !labels_ok(buf, true) || strlen(full) > 253 ||
				    name_from_text(rr->owner, full, (const uint8_t *)"") < 0) {
					snprintf(field, fcap, "%s", var[0] ? var : "host");
					snprintf(why, wcap, "records[%zu].host \"%.100s\" would write outside %s", i,
					         buf, fqdn);
					goto fail;
				}
				name_lower(rr->owner);
			}
		}
		if (rc == 0 && r->type == RR_SRV) { /* _service._protocol before the owner, one label each */
			uint8_t labels[2][64], owner[NAME_MAXLEN];
			const char *src[2] = {r->service, r->protocol};
			size_t w = 0;
			for (int l = 0; rc == 0 && l < 2; l++) {
				what = l ? "protocol" : "service";
				rc = substitute(src[l], q, fqdn, buf, sizeof(buf), var, sizeof(var));
				if (rc == 0 && !srv_label(buf, labels[l])) {
					snprintf(field, fcap, "%s", var[0] ? var : what);
					snprintf(why, wcap,
					         "records[%zu].%s: \"%.64s\" is not one label (letters, digits, - _)",
					         i, what, buf);
					goto fail;
				}
				if (rc == 0) {
					memcpy(owner + w, labels[l], labels[l][0] + 1u);
					w += labels[l][0] + 1u;
				}
			}
			if (rc == 0 && w + name_len(rr->owner) > 255) {
				snprintf(field, fcap, "%s", var[0] ? var : "service");
				snprintf(why, wcap, "records[%zu]: the SRV owner is longer than 255 octets", i);
				goto fail;
			}
			if (rc == 0) {
				memcpy(owner + w, rr->owner, name_len(rr->owner));
				memcpy(rr->owner, owner, w + name_len(rr->owner));
			}
		}
		if (rc == 0) {
			what = "ttl";
			rc = substitute(r->ttl, q, fqdn, buf, sizeof(buf), var, sizeof(var));
		}
		unsigned long num = 3600;
		rr->ttl_default = !*r->ttl;
		if (rc == 0 && *r->ttl && !number(buf, 2147483647, &num)) {
			snprintf(field, fcap, "%s", var[0] ? var : "ttl");
			snprintf(why, wcap, "records[%zu].ttl: \"%.40s\" is not a number of seconds", i, buf);
			goto fail;
		}
		rr->ttl = (uint32_t)num;
		size_t off = 0;
		/* MX: priority; SRV: priority, weight, port (another type's priority is not its data) */
		const char *const u16_names[3] = {"priority", "weight", "port"};
		const char *const u16_src[3] = {r->priority, r->weight, r->port};
		size_t nu16 = r->type == RR_MX ? 1 : r->type == RR_SRV ? 3 : 0;
		for (size_t f = 0; rc == 0 && f < nu16; f++) {
			what = u16_names[f];
			rc = substitute(u16_src[f], q, fqdn, buf, sizeof(buf), var, sizeof(var));
			if (rc == 0 && !number(buf, 65535, &num)) {
				snprintf(field, fcap, "%s", var[0] ? var : what);
				snprintf(why, wcap, "records[%zu].%s: \"%.40s\" is not a number 0 to 65535", i, what,
				         buf);
				goto fail;
			}
			rr->rdata[off] = (uint8_t)(num >> 8);
			rr->rdata[off + 1] = (uint8_t)num;
			off += 2;
		}
		if (rc == 0) {
			what = r->spfm                                  ? "spfRules"
			       : r->type == RR_SRV                      ? "target"
			       : r->type == RR_TXT || r->type == RR_CAA ? "data"
			                                                : "pointsTo";
			rc = substitute(r->value, q, fqdn, buf, sizeof(buf), var, sizeof(var));
		}
		if (rc == TERN_ENOTFOUND) {
			snprintf(field, fcap, "%s", var);
			snprintf(why, wcap, "missing: records[%zu].%s uses %%%s%%", i, what, var);
			goto fail;
		}
		if (rc < 0) {
			snprintf(field, fcap, "%s", var[0] ? var : what);
			snprintf(why, wcap, "records[%zu].%s is longer than %d octets with the variables", i, what,
			         DCONN_TXT_MAX);
			goto fail;
		}
		bool ok = true;
		uint16_t nl = 0;
		switch (r->type) {
		case RR_A:
			ok = inet_pton(AF_INET, buf, rr->rdata) == 1;
			rr->rdlen = 4;
			break;
		case RR_AAAA:
			ok = inet_pton(AF_INET6, buf, rr->rdata) == 1;
			rr->rdlen = 16;
			break;
		case RR_CNAME:
		case RR_NS:
		case RR_MX:
		case RR_SRV:
			ok = target_name(buf, fqdn, rr->rdata + off, &nl);
			rr->rdlen = (uint16_t)(off + nl);
			break;
		case RR_CAA:
			ok = caa_rdata(buf, rr->rdata, &rr->rdlen);
			if (!ok) /* the variable to blame: not always the first of the field */
				culprit(r->value, q, fqdn, caa_rdata, var, sizeof(var));
			break;
		default: /* TXT: the data as strings of at most 255 octets */
			if (r->spfm) { /* the record made when the host has no SPF record yet */
				const char *problem = spf_rules_problem(buf);
				char spf[DCONN_TXT_MAX + 16];
				if (problem || strlen(buf) + 12 > DCONN_TXT_MAX) {
					if (problem) /* the variable to blame: not always the first of the field */
						culprit(r->value, q, fqdn, spf_rules_ok, var, sizeof(var));
					snprintf(field, fcap, "%s", var[0] ? var : what);
					snprintf(why, wcap, "records[%zu].spfRules: \"%.100s\": %s", i, buf,
					         problem ? problem : "too long");
					goto fail;
				}
				snprintf(spf, sizeof(spf), "v=spf1 %s ~all", buf);
				txt_rdata(spf, rr->rdata, &rr->rdlen);
				rr->spfm = true;
			} else {
				txt_rdata(buf, rr->rdata, &rr->rdlen);
			}
		}
		if (!ok) {
			snprintf(field, fcap, "%s", var[0] ? var : what);
			snprintf(why, wcap, "records[%zu].%s: \"%.100s\" is not %s", i, what, buf,
			         r->type == RR_A      ? "an IPv4 address"
			         : r->type == RR_AAAA ? "an IPv6 address"
			         : r->type == RR_CAA
			             ? "CAA's FLAGS TAG \"VALUE\" (flags 0 to 255, a tag of letters and digits)"
			             : "a domain name");
			goto fail;
		}
		if ((r->type == RR_CNAME || r->type == RR_NS) && name_equal(rr->owner, base) && !*q->host) {
			snprintf(field, fcap, "host");
			snprintf(why, wcap, "records[%zu]: a %s at the domain %s itself", i,
			         r->type == RR_CNAME ? "CNAME" : "NS", q->domain);
			goto fail;
		}
		k++;
	}
	if (k == 0) {
		snprintf(field, fcap, "groupId");
		snprintf(why, wcap, "names no group of the template");
		free(v);
		return TERN_EINVAL;
	}
	*out = v;
	*n = k;
	return 0;
fail:
	free(v);
	return TERN_EINVAL;
}

/* ---- signatures ---- */

struct key_part {
	long index;
	const char *data;
	size_t len;
};

static int by_index(const void *a, const void *b)
{
	const struct key_part *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

int dconn_verify(const char *const *txt, size_t n, const char *text, size_t tlen, const char *sig, char *why,
                 size_t wcap)
{
	struct key_part parts[16];
	size_t np = 0, total = 0;
	for (size_t i = 0; i < n && i < 16; i++) {
		struct key_part p = {-1, NULL, 0};
		bool rs256 = true;
		for (const char *s = txt[i]; *s;) {
			size_t l = strcspn(s, ",");
			if (l > 2 && !strncmp(s, "p=", 2))
				p.index = strtol(s + 2, NULL, 10);
			else if (l > 2 && !strncmp(s, "a=", 2))
				rs256 = l == 7 && !strncmp(s + 2, "RS256", 5);
			else if (l > 2 && !strncmp(s, "d=", 2))
				p.data = s + 2, p.len = l - 2;
			s += l + (s[l] == ',');
		}
		if (!rs256) {
			snprintf(why, wcap, "the key's record %zu is not for a=RS256", i);
			return TERN_EINVAL;
		}
		if (p.index < 0 || !p.data)
			continue; /* another TXT record at the name */
		for (size_t j = 0; j < np; j++)
			if (parts[j].index == p.index) {
				snprintf(why, wcap, "the key has two parts p=%ld", p.index);
				return TERN_EINVAL;
			}
		parts[np++] = p;
		total += p.len;
	}
	if (np == 0) {
		snprintf(why, wcap, "no TXT record of the form p=N,a=RS256,d=KEY");
		return TERN_EINVAL;
	}
	qsort(parts, np, sizeof(parts[0]), by_index);
	char *b64 = malloc(total + 1);
	uint8_t *der = malloc(total + 1), *sigbin = malloc(strlen(sig) + 1);
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	int rc = TERN_ENOMEM;
	if (!b64 || !der || !sigbin) {
		snprintf(why, wcap, "out of memory");
		goto done;
	}
	size_t w = 0;
	for (size_t j = 0; j < np; j++) {
		memcpy(b64 + w, parts[j].data, parts[j].len);
		w += parts[j].len;
	}
	size_t dlen = 0, slen = 0;
	struct b64_error e;
	rc = TERN_EINVAL;
	if (b64_decode(b64, w, B64_PADDED, der, total + 1, &dlen, &e) < 0) {
		snprintf(why, wcap, "the key's d= parts are not base64");
		goto done;
	}
	const uint8_t *p = der;
	key = d2i_PUBKEY(NULL, &p, (long)dlen);
	if (!key || p != der + dlen || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		snprintf(why, wcap, "the key is not an RSA public key (DER SubjectPublicKeyInfo)");
		goto done;
	}
	if (b64_decode(sig, strlen(sig), B64_PADDED, sigbin, strlen(sig) + 1, &slen, &e) < 0 || slen == 0) {
		snprintf(why, wcap, "sig is not base64");
		goto done;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1) {
		rc = TERN_ENOMEM;
		snprintf(why, wcap, "out of memory");
		goto done;
	}
	if (EVP_DigestVerify(md, sigbin, slen, (const uint8_t *)text, tlen) != 1) {
		rc = TERN_EBOGUS;
		snprintf(why, wcap, "the signature does not verify with the key published");
		goto done;
	}
	rc = 0;
done:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	free(b64);
	free(der);
	free(sigbin);
	return rc;
}

/* ---- redirects ---- */

bool dconn_redirect_allowed(const char *domains, const char *uri, char *why, size_t wcap)
{
	const char *h = !strncasecmp(uri, "https://", 8) ? uri + 8 : !strncasecmp(uri, "http://", 7) ? uri + 7 : NULL;
	if (!h) {
		snprintf(why, wcap, "redirect_uri is not an http or https URL");
		return false;
	}
	size_t hl = strcspn(h, ":/?#");
	if (hl == 0 || hl > 253 || memchr(h, '@', strcspn(h, "/?#")) || memchr(h, '\\', strcspn(h, "?#"))) {
		snprintf(why, wcap, "redirect_uri has no plain host");
		return false;
	}
	for (const char *d = domains ? domains : ""; *d;) {
		while (*d == ' ')
			d++;
		size_t dl = strcspn(d, ", ");
		if (dl && dl <= hl && !strncasecmp(h + hl - dl, d, dl) && (dl == hl || h[hl - dl - 1] == '.'))
			return true;
		d += dl;
		while (*d == ' ' || *d == ',')
			d++;
	}
	snprintf(why, wcap, "redirect_uri's host %.*s is not within the template's syncRedirectDomain (%.200s)",
	         (int)hl, h, domains ? domains : "none");
	return false;
}
