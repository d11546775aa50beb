/* tern zone ...: create, list (following pagination), show, delete, export, import, lock,
 * unlock, history, and DNSSEC signing (sign, dnssec, key-journal). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/output.h"

#define PAGE_MAX 1000 /* the API's largest page */

static int zone_create(struct cli *cli, const struct cli_args *a)
{
	const char *name = a->pos[0];
	char **file = cli_opt_last(a, "file"), **policy = cli_opt_last(a, "serial-policy");
	if (file && cli_opt_count(a, "ns"))
		return cli_usage_error(cli, "--ns and --file do not go together (the zone file has the NS records)");
	if (policy && file)
		return cli_usage_error(cli, "--serial-policy and --file do not go together");
	json_t *body = json_pack("{s:s}", "name", name), *ns = json_array();
	int rc = CLI_OK;
	for (int i = 0; i < a->nocc; i++)
		if (strcmp(a->occ[i].opt->name, "ns") == 0)
			json_array_append_new(ns, json_string(a->occ[i].vals[0]));
	if (json_array_size(ns))
		json_object_set(body, "nameservers", ns);
	if (policy)
		json_object_set_new(body, "serial_policy", json_string(policy[0]));
	if (file) {
		size_t len;
		char *text = cli_read_file(file[0], &len);
		if (!text) {
			rc = CLI_EUSAGE;
			goto out;
		}
		json_object_set_new(body, "zonefile", json_stringn(text, len));
		free(text);
		if (!json_object_get(body, "zonefile")) {
			fprintf(stderr, "tern: %s is not UTF-8 text\n", file[0]);
			rc = CLI_EUSAGE;
			goto out;
		}
	}
	struct client_response res;
	char *path = CLIENT_PATH("zones");
	rc = cli_call(cli, "POST", path, body, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		goto out;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		json_t *z = cli_json(&res);
		if (z)
			printf("created zone %s (serial %" JSON_INTEGER_FORMAT ")\n",
			       json_string_value(json_object_get(z, "name")),
			       json_integer_value(json_object_get(z, "serial")));
		rc = z ? CLI_OK : CLI_EAPI;
		json_decref(z);
	}
	client_response_clear(&res);
out:
	json_decref(ns);
	json_decref(body);
	return rc;
}

static int zone_list(struct cli *cli, const struct cli_args *a)
{
	char **ls = cli_opt_last(a, "limit"), **ps = cli_opt_last(a, "page-size"), *end;
	long limit = -1, page_size = PAGE_MAX;
	if (ls) {
		limit = strtol(ls[0], &end, 10);
		if (*end || end == ls[0] || limit < 1)
			return cli_usage_error(cli, "--limit must be a positive number, not \"%s\"", ls[0]);
	}
	if (ps) {
		page_size = strtol(ps[0], &end, 10);
		if (*end || end == ps[0] || page_size < 1 || page_size > PAGE_MAX)
			return cli_usage_error(cli, "--page-size must be a number from 1 to %d, not \"%s\"", PAGE_MAX,
			                       ps[0]);
	}
	json_t *all = json_array(), *next = json_null();
	char cursor[1024] = "", query[1200];
	int rc = CLI_OK;
	/* page after page until the API says there is no next one, or the limit is reached */
	for (;;) {
		long want = limit < 0 ? page_size : limit - (long)json_array_size(all);
		if (want <= 0)
			break;
		snprintf(query, sizeof(query), "/zones?limit=%ld%s%s", want > page_size ? page_size : want,
		         cursor[0] ? "&cursor=" : "", cursor);
		struct client_response res;
		rc = cli_call(cli, "GET", query, NULL, NULL, 0, &res);
		if (rc != CLI_OK)
			goto out;
		json_t *page = cli_json(&res);
		client_response_clear(&res);
		json_t *zones = json_object_get(page, "zones");
		if (!json_is_array(zones)) {
			if (page)
				fprintf(stderr, "tern: the API's zone list has no \"zones\" array\n");
			json_decref(page);
			rc = CLI_EAPI;
			goto out;
		}
		json_array_extend(all, zones);
		bool empty = json_array_size(zones) == 0;
		json_decref(next);
		next = json_incref(json_object_get(page, "next"));
		json_decref(page);
		if (!json_is_string(next) || empty)
			break;
		if (!client_escape(json_string_value(next), cursor, sizeof(cursor))) {
			fprintf(stderr, "tern: the API's cursor is too long\n");
			rc = CLI_EAPI;
			goto out;
		}
	}
	while (limit >= 0 && json_array_size(all) > (size_t)limit) /* only with an API that gives more than asked */
		json_array_remove(all, (size_t)limit);
	if (cli->json) {
		json_t *o = json_pack("{s:O,s:O}", "zones", all, "next", next ? next : json_null());
		output_json(o);
		json_decref(o);
		goto out;
	}
	static const char *const head[] = {"NAME", "SERIAL", "LOCKED", "TENANT"};
	struct table *t = table_new(4, head, 1u << 1);
	size_t i;
	json_t *z;
	json_array_foreach(all, i, z)
	{
		char serial[24];
		snprintf(serial, sizeof(serial), "%" JSON_INTEGER_FORMAT,
		         json_integer_value(json_object_get(z, "serial")));
		const char *row[] = {json_string_value(json_object_get(z, "name")), serial,
		                     json_is_true(json_object_get(z, "locked")) ? "yes" : "no",
		                     json_string_value(json_object_get(z, "tenant"))};
		table_add(t, row);
	}
	table_print(t, stdout);
	table_free(t);
out:
	json_decref(next);
	json_decref(all);
	return rc;
}

/* GET on a zone's URL (+ suffix segment); *out is the parsed answer. */
static int zone_get(struct cli *cli, const char *zone, const char *suffix, json_t **out)
{
	struct client_response res;
	char *path = CLIENT_PATH("zones", zone, suffix);
	int rc = cli_call(cli, "GET", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	*out = cli_json(&res);
	client_response_clear(&res);
	return *out ? CLI_OK : CLI_EAPI;
}

static void print_zone(json_t *z)
{
	char created[32], updated[32];
	json_t *reason = json_object_get(z, "lock_reason");
	printf("zone:           %s\n", json_string_value(json_object_get(z, "name")));
	printf("tenant:         %s\n", json_string_value(json_object_get(z, "tenant")));
	printf("serial:         %" JSON_INTEGER_FORMAT " (%s)\n", json_integer_value(json_object_get(z, "serial")),
	       json_string_value(json_object_get(z, "serial_policy")));
	if (json_is_true(json_object_get(z, "locked")))
		printf("locked:         yes: %s\n", json_is_string(reason) ? json_string_value(reason) : "");
	else
		printf("locked:         no\n");
	printf("created:        %s\n", output_time(json_object_get(z, "created"), created, sizeof(created)));
	printf("updated:        %s\n", output_time(json_object_get(z, "updated"), updated, sizeof(updated)));
	json_t *own = json_object_get(z, "ownership");
	if (json_is_true(json_object_get(own, "flagged")))
		printf("ownership:      FLAGGED: %s\n", json_string_value(json_object_get(own, "reason")));
}

static int print_rrsets(json_t *list)
{
	struct table *t = table_new(4, NULL, 1u << 1);
	size_t i;
	json_t *rs;
	json_array_foreach(json_object_get(list, "rrsets"), i, rs)
	{
		if (output_rrset_rows(t, rs, NULL) < 0) {
			table_free(t);
			fprintf(stderr, "tern: out of memory\n");
			return CLI_EAPI;
		}
	}
	table_print(t, stdout);
	table_free(t);
	return CLI_OK;
}

static int zone_show(struct cli *cli, const struct cli_args *a)
{
	json_t *z = NULL, *rrsets = NULL;
	int rc = zone_get(cli, a->pos[0], NULL, &z);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		output_json(z);
	} else if ((rc = zone_get(cli, a->pos[0], "rrsets", &rrsets)) == CLI_OK) {
		print_zone(z);
		printf("\n");
		rc = print_rrsets(rrsets);
	}
	json_decref(rrsets);
	json_decref(z);
	return rc;
}

/* A request on a zone's URL whose answer is printed as JSON, or as the line fmt says (with the
 * zone's name for the %s). */
static int zone_action(struct cli *cli, const char *method, const char *zone, const char *suffix, json_t *body,
                       const char *text, size_t textlen, const char *fmt, json_t **answer)
{
	struct client_response res;
	char *path = CLIENT_PATH("zones", zone, suffix);
	int rc = cli_call(cli, method, path, body, text, textlen, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else if (answer) {
		*answer = res.len ? cli_json(&res) : NULL;
		rc = *answer || !res.len ? CLI_OK : CLI_EAPI;
	} else {
		printf(fmt, zone);
	}
	client_response_clear(&res);
	return rc;
}

static int zone_delete(struct cli *cli, const struct cli_args *a)
{
	return zone_action(cli, "DELETE", a->pos[0], NULL, NULL, NULL, 0, "deleted zone %s\n", NULL);
}

/* path (malloc'd, taken over) with "?query" appended when query is not NULL; NULL (said on stderr)
 * when out of memory. */
static char *with_query(char *path, const char *query)
{
	char *out = path && query ? malloc(strlen(path) + strlen(query) + 2) : path;
	if (out && out != path) {
		sprintf(out, "%s?%s", path, query);
		free(path);
	} else if (!out) {
		free(path);
		fprintf(stderr, "tern: out of memory\n");
	}
	return out;
}

static int zone_export(struct cli *cli, const struct cli_args *a)
{
	struct client_response res;
	char *path =
	    with_query(CLIENT_PATH("zones", a->pos[0], "export"), cli_opt_count(a, "plain") ? "plain=true" : NULL);
	if (!path)
		return CLI_EAPI;
	int rc = cli_call(cli, "GET", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	fwrite(res.body, 1, res.len, stdout); /* a zone file either way: --json has nothing to add */
	client_response_clear(&res);
	return CLI_OK;
}

static int zone_import(struct cli *cli, const struct cli_args *a)
{
	size_t len;
	char *text = cli_read_file(a->pos[1], &len);
	if (!text)
		return CLI_EUSAGE;
	json_t *ans = NULL;
	int rc = zone_action(cli, "POST", a->pos[0], "import", NULL, text, len, NULL, &ans);
	if (rc == CLI_OK && ans)
		printf("imported %s into %s: %" JSON_INTEGER_FORMAT " RRset change(s), serial %" JSON_INTEGER_FORMAT
		       "\n",
		       a->pos[1], a->pos[0], json_integer_value(json_object_get(ans, "rrsets")),
		       json_integer_value(json_object_get(ans, "serial")));
	json_decref(ans);
	free(text);
	return rc;
}

static int zone_lock(struct cli *cli, const struct cli_args *a)
{
	char **reason = cli_opt_last(a, "reason");
	if (!reason)
		return cli_usage_error(cli, "--reason is required (it is shown to whoever is refused a change)");
	if (!reason[0][0])
		return cli_usage_error(cli, "--reason must not be empty");
	json_t *body = json_pack("{s:s}", "reason", reason[0]), *ans = NULL;
	int rc = zone_action(cli, "PUT", a->pos[0], "lock", body, NULL, 0, NULL, &ans);
	if (rc == CLI_OK && ans)
		printf("locked zone %s: %s\n", json_string_value(json_object_get(ans, "name")),
		       json_string_value(json_object_get(ans, "lock_reason")));
	json_decref(ans);
	json_decref(body);
	return rc;
}

static int zone_unlock(struct cli *cli, const struct cli_args *a)
{
	json_t *ans = NULL;
	int rc = zone_action(cli, "DELETE", a->pos[0], "lock", NULL, NULL, 0, NULL, &ans);
	if (rc == CLI_OK && ans)
		printf("unlocked zone %s\n", json_string_value(json_object_get(ans, "name")));
	json_decref(ans);
	return rc;
}

static int zone_history(struct cli *cli, const struct cli_args *a)
{
	json_t *h = NULL;
	int rc = zone_get(cli, a->pos[0], "changes", &h);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		output_json(h);
		json_decref(h);
		return CLI_OK;
	}
	size_t i, k;
	json_t *ch, *rs;
	json_array_foreach(json_object_get(h, "changes"), i, ch)
	{
		char when[32];
		const char *by = json_string_value(json_object_get(ch, "by"));
		printf("%sserial %" JSON_INTEGER_FORMAT " -> %" JSON_INTEGER_FORMAT "  %s  by %s\n", i ? "\n" : "",
		       json_integer_value(json_object_get(ch, "serial_from")),
		       json_integer_value(json_object_get(ch, "serial_to")),
		       output_time(json_object_get(ch, "time"), when, sizeof(when)), by && *by ? by : "-");
		struct table *t = table_new(5, NULL, 1u << 2);
		json_array_foreach(json_object_get(ch, "removed"), k, rs)
		{
			output_rrset_rows(t, rs, "  -");
		}
		json_array_foreach(json_object_get(ch, "added"), k, rs)
		{
			output_rrset_rows(t, rs, "  +");
		}
		table_print(t, stdout);
		table_free(t);
	}
	json_decref(h);
	return CLI_OK;
}

/* ---- DNSSEC ---- */

/* --set KEY=VALUE as a policy field: true/false, a whole number, "parents" as a comma-separated
 * list, anything else a string (the API judges the values). */
static int policy_field(struct cli *cli, json_t *body, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return cli_usage_error(cli, "--set wants KEY=VALUE (e.g. --set denial=nsec3)");
	char key[64];
	size_t klen = (size_t)(eq - kv);
	if (klen >= sizeof(key))
		return cli_usage_error(cli, "--set: the key is too long");
	memcpy(key, kv, klen);
	key[klen] = 0;
	const char *v = eq + 1;
	json_t *val;
	char *end = NULL;
	long long n = strtoll(v, &end, 10);
	if (strcmp(key, "parents") == 0) {
		val = json_array();
		for (const char *p = v; *p;) {
			size_t len = strcspn(p, ",");
			if (len)
				json_array_append_new(val, json_stringn(p, len));
			p += len + (p[len] == ',');
		}
	} else if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		val = json_boolean(strcmp(v, "true") == 0);
	} else if (*v && end && !*end) {
		val = json_integer(n);
	} else {
		val = json_string(v);
	}
	json_object_set_new(body, key, val);
	return CLI_OK;
}

static void print_dnssec(json_t *d)
{
	json_t *p = json_object_get(d, "policy");
	printf("zone:           %s\n", json_string_value(json_object_get(d, "zone")));
	printf("state:          %s\n", json_string_value(json_object_get(d, "state")));
	if (json_is_object(p)) {
		const char *key;
		json_t *v;
		json_object_foreach(p, key, v)
		{
			char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			printf("%-16s%s\n", key, json_is_string(v) ? json_string_value(v) : text ? text : "");
			free(text);
		}
	}
	static const char *const head[] = {"TAG", "ROLE", "ALGORITHM", "STATE", "ACTIVE"};
	struct table *t = table_new(5, head, 1u << 0);
	size_t i, k;
	json_t *key, *ds;
	json_array_foreach(json_object_get(d, "keys"), i, key)
	{
		char tag[16], when[32];
		snprintf(tag, sizeof(tag), "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(key, "tag")));
		const char *cells[] = {
		    tag, json_string_value(json_object_get(key, "role")),
		    json_string_value(json_object_get(key, "algorithm")),
		    json_string_value(json_object_get(key, "state")),
		    output_time(json_object_get(json_object_get(key, "timestamps"), "active"), when, sizeof(when))};
		table_add(t, cells);
	}
	printf("\n");
	table_print(t, stdout);
	table_free(t);
	json_array_foreach(json_object_get(d, "keys"), i, key)
	{
		printf("%s%s 3600 IN DNSKEY %s\n", i ? "" : "\n", json_string_value(json_object_get(d, "zone")),
		       json_string_value(json_object_get(key, "dnskey")));
		json_array_foreach(json_object_get(key, "ds"), k, ds)
		{
			printf("%s IN DS %s\n", json_string_value(json_object_get(d, "zone")), json_string_value(ds));
		}
	}
}

static int zone_sign(struct cli *cli, const struct cli_args *a)
{
	json_t *body = json_object(), *ans = NULL;
	int rc = CLI_OK;
	char **named = cli_opt_last(a, "policy");
	if (named)
		json_object_set_new(body, "policy", json_string(named[0]));
	for (int i = 0; i < a->nocc && rc == CLI_OK; i++)
		if (strcmp(a->occ[i].opt->name, "set") == 0)
			rc = policy_field(cli, body, a->occ[i].vals[0]);
	if (rc == CLI_OK)
		rc = zone_action(cli, "PUT", a->pos[0], "dnssec", body, NULL, 0, NULL, &ans);
	if (rc == CLI_OK && ans) {
		printf("signing zone %s in the background (tern zone dnssec %s shows when it is signed)\n\n", a->pos[0],
		       a->pos[0]);
		print_dnssec(ans);
	}
	json_decref(ans);
	json_decref(body);
	return rc;
}

static int zone_dnssec(struct cli *cli, const struct cli_args *a)
{
	json_t *d = NULL;
	int rc = zone_get(cli, a->pos[0], "dnssec", &d);
	if (rc != CLI_OK)
		return rc;
	if (cli->json)
		output_json(d);
	else
		print_dnssec(d);
	json_decref(d);
	return CLI_OK;
}

static int zone_unsign(struct cli *cli, const struct cli_args *a)
{
	char *path =
	    with_query(CLIENT_PATH("zones", a->pos[0], "dnssec"), cli_opt_count(a, "force") ? "force=true" : NULL);
	if (!path)
		return CLI_EAPI;
	struct client_response res;
	int rc = cli_call(cli, "DELETE", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	json_t *d = cli_json(&res);
	client_response_clear(&res);
	if (!d)
		return CLI_EAPI;
	const char *state = json_string_value(json_object_get(d, "state"));
	if (cli->json) {
		output_json(d);
	} else if (state && strcmp(state, "unsigned") == 0) {
		printf("zone %s is served unsigned now\n", a->pos[0]);
	} else {
		const char *waiting = json_string_value(json_object_get(json_object_get(d, "unsigning"), "waiting"));
		printf("zone %s: turning DNSSEC off: %s\n(tern zone dnssec %s shows where it stands; tern dnssec "
		       "ds-removed "
		       "%s once the registrar removed the DS)\n",
		       a->pos[0], waiting ? waiting : "", a->pos[0], a->pos[0]);
	}
	json_decref(d);
	return CLI_OK;
}

static int zone_key_journal(struct cli *cli, const struct cli_args *a)
{
	struct client_response res;
	char *path = CLIENT_PATH("zones", a->pos[0], "dnssec", "journal");
	int rc = cli_call(cli, "GET", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	json_t *j = cli_json(&res);
	client_response_clear(&res);
	if (!j)
		return CLI_EAPI;
	if (cli->json) {
		output_json(j);
	} else {
		static const char *const head[] = {"TIME", "TAG", "FROM", "TO", "REASON"};
		struct table *t = table_new(5, head, 1u << 1);
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(j, "events"), i, e)
		{
			char when[32], tag[16];
			const char *from = json_string_value(json_object_get(e, "from"));
			snprintf(tag, sizeof(tag), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(json_object_get(e, "tag")));
			const char *cells[] = {output_time(json_object_get(e, "time"), when, sizeof(when)), tag,
			                       from && *from ? from : "-", json_string_value(json_object_get(e, "to")),
			                       json_string_value(json_object_get(e, "reason"))};
			table_add(t, cells);
		}
		table_print(t, stdout);
		table_free(t);
	}
	json_decref(j);
	return CLI_OK;
}

static const struct cli_opt sign_opts[] = {
    {"policy", 1, "--policy NAME     start from the server configuration's named policy"},
    {"set", 1, "--set KEY=VALUE   one policy field (algorithm, denial, keys, rrsig-lifetime, parents=A,B...)"},
    {NULL, 0, NULL},
};

static const struct cli_opt create_opts[] = {
    {"ns", 1,
     "--ns NS              a name server for the zone's NS RRset (repeat for more;\n"
     "                       default: the server's api.nameservers)"},
    {"file", 1, "--file ZONEFILE      create the zone from a zone file (\"-\" reads standard input)"},
    {"serial-policy", 1, "--serial-policy P    \"date\" (YYYYMMDDnn) or \"increment\""},
    {NULL, 0, NULL},
};
static const struct cli_opt list_opts[] = {
    {"limit", 1, "--limit N       list at most N zones (default: all of them, page after page)"},
    {"page-size", 1, "--page-size N   zones asked for per request (1 to 1000, default 1000)"},
    {NULL, 0, NULL},
};
static const struct cli_opt lock_opts[] = {
    {"reason", 1, "--reason TEXT   why the zone is locked (required)"},
    {NULL, 0, NULL},
};
static const struct cli_opt unsign_opts[] = {
    {"force", 0, "--force   at once, without the delete CDS (only when no DS of the zone was ever seen)"},
    {NULL, 0, NULL},
};
static const struct cli_opt export_opts[] = {
    {"plain", 0, "--plain   dynamic answers (DYN) as their default answer, for servers that do not read DYN"},
    {NULL, 0, NULL},
};
static const struct cli_opt bootstrap_opts[] = {
    {"dkim-selector", 1, "--dkim-selector S   also read S._domainkey TXT (repeat for more)"},
    {"yes", 0, "--yes               create the zone shown (without it nothing is created)"},
    {NULL, 0, NULL},
};
static const struct cli_opt no_opts[] = {{NULL, 0, NULL}};

const struct cli_cmd cmd_zone[] = {
    {"zone", "create", "NAME [--ns NS]... [--file ZONEFILE]", "create a zone",
     "Without --file the zone gets an SOA and NS RRset from --ns or the server's defaults.\n", 1, 1, create_opts,
     zone_create},
    {"zone", "list", "[--limit N] [--page-size N]", "list your zones: NAME SERIAL LOCKED TENANT", NULL, 0, 0, list_opts,
     zone_list},
    {"zone", "show", "NAME", "show a zone and its records", NULL, 1, 1, no_opts, zone_show},
    {"zone", "delete", "NAME", "delete a zone (it stops being served)", NULL, 1, 1, no_opts, zone_delete},
    {"zone", "export", "NAME [--plain]", "print the zone as a BIND zone file", NULL, 1, 1, export_opts, zone_export},
    {"zone", "import", "NAME FILE", "replace the zone's records with those of a zone file",
     "RRsets missing from FILE are deleted; the SOA serial moves on from the current one.\n"
     "FILE \"-\" reads standard input.\n",
     2, 2, no_opts, zone_import},
    {"zone", "lock", "NAME --reason TEXT", "lock a zone: changes are refused until it is unlocked", NULL, 1, 1,
     lock_opts, zone_lock},
    {"zone", "unlock", "NAME", "unlock a zone", NULL, 1, 1, no_opts, zone_unlock},
    {"zone", "history", "NAME", "the zone's changes, newest first (records removed -, added +)", NULL, 1, 1, no_opts,
     zone_history},
    {"zone", "sign", "NAME [--policy NAME] [--set KEY=VALUE]...", "sign a zone with DNSSEC (or change its policy)",
     "The zone is signed in the background; every later change is re-signed. Fields not set take the\n"
     "defaults (or the named policy's values): algorithm ecdsap256sha256, denial nsec, keys ksk-zsk...\n",
     1, 1, sign_opts, zone_sign},
    {"zone", "dnssec", "NAME", "the zone's DNSSEC state, policy, keys and their DNSKEY and DS records", NULL, 1, 1,
     no_opts, zone_dnssec},
    {"zone", "unsign", "NAME [--force]", "turn DNSSEC signing of a zone off",
     "RFC 8078: the delete CDS and CDNSKEY are published and the zone stays signed until the DS is gone\n"
     "from the parent (seen at the policy's parents, or said by tern dnssec ds-removed) and out of caches\n"
     "(DS TTL + propagation delay); then every DNSSEC record goes. --force unsigns at once, refused once a\n"
     "DS of the zone was seen or confirmed (the zone would turn bogus).\n",
     1, 1, unsign_opts, zone_unsign},
    {"zone", "key-journal", "NAME", "the zone's key state changes, newest first", NULL, 1, 1, no_opts,
     zone_key_journal},
    {"zone", "bootstrap", "NAME [--dkim-selector S]... [--yes]",
     "read a zone from the servers that serve it now, show it, create it with --yes",
     "AXFR from each current server first; when all refuse, only a fixed list of names and types is\n"
     "read (the apex's SOA NS MX TXT CAA A AAAA HTTPS; www, mail, _dmarc, autodiscover, the DKIM\n"
     "selectors given, common SRV names): names not on it are not in the zone. DNSSEC records, the SOA\n"
     "and the apex NS are never copied. With --yes the zone is created, Tern's nameservers are asked\n"
     "for every RRset copied (exit 1 when one differs), and the delegation switch is explained.\n",
     1, 1, bootstrap_opts, cli_zone_bootstrap},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
