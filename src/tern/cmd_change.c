/* tern change ...: propose a batch of RRset changes for review (from --set/--delete or a JSON
 * file), list a zone's proposals, approve one (it is applied at once) or reject one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tern/cli.h"
#include "tern/output.h"

/* The change of rrsets for name and type, or NULL. */
static json_t *find_change(json_t *rrsets, const char *name, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(rrsets, i, c)
	{
		const char *n = json_string_value(json_object_get(c, "name"));
		const char *t = json_string_value(json_object_get(c, "type"));
		if (n && t && strcasecmp(n, name) == 0 && strcasecmp(t, type) == 0)
			return c;
	}
	return NULL;
}

/* The changes a JSON file holds: {"rrsets": [...]} or the list alone. */
static int load_file(struct cli *cli, const char *path, json_t *rrsets)
{
	size_t len;
	char *text = cli_read_file(path, &len);
	if (!text)
		return CLI_EUSAGE;
	json_error_t je;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *list = json_is_array(v) ? v : NULL;
	free(text);
	if (!v) {
		json_decref(v);
		return cli_usage_error(cli, "%s: not JSON: %s (line %d)", path, je.text, je.line);
	}
	if (!list && json_is_object(v))
		list = json_object_get(v, "rrsets");
	if (!json_is_array(list)) {
		json_decref(v);
		return cli_usage_error(cli, "%s: expected {\"rrsets\": [changes]} or a list of changes", path);
	}
	json_array_extend(rrsets, list);
	json_decref(v);
	return CLI_OK;
}

/* Adds --set and --delete, in command-line order; several --set of one name and type make one
 * RRset of several records. */
static int add_flags(struct cli *cli, const struct cli_args *a, const char *zone, json_t *rrsets)
{
	for (int i = 0; i < a->nocc; i++) {
		const struct cli_occ *o = &a->occ[i];
		bool set = strcmp(o->opt->name, "set") == 0;
		if (!set && strcmp(o->opt->name, "delete") != 0)
			continue;
		const char *name = cli_owner(zone, o->vals[0]), *type = o->vals[1];
		if (!*name || !*type)
			return cli_usage_error(cli, "--%s: empty name or type", o->opt->name);
		json_t *c = find_change(rrsets, name, type);
		if (!set) {
			if (c)
				return cli_usage_error(cli, "%s %s is changed twice", name, type);
			json_array_append_new(rrsets,
			                      json_pack("{s:s,s:s,s:b}", "name", name, "type", type, "delete", 1));
			continue;
		}
		char *end;
		errno = 0;
		long long ttl = strtoll(o->vals[2], &end, 10);
		if (*end || end == o->vals[2] || errno)
			return cli_usage_error(cli, "--set %s %s: TTL \"%s\" is not a number of seconds", name, type,
			                       o->vals[2]);
		if (c && json_object_get(c, "delete"))
			return cli_usage_error(cli, "%s %s is both set and deleted", name, type);
		if (c && json_integer_value(json_object_get(c, "ttl")) != ttl)
			return cli_usage_error(cli, "%s %s is set with two TTLs (an RRset has one)", name, type);
		if (!c) {
			c = json_pack("{s:s,s:s,s:I,s:[]}", "name", name, "type", type, "ttl", (json_int_t)ttl,
			              "records");
			json_array_append_new(rrsets, c);
		}
		if (json_array_append_new(json_object_get(c, "records"), json_string(o->vals[3])) < 0)
			return cli_usage_error(cli, "--set %s %s: RDATA must be UTF-8 text", name, type);
	}
	return CLI_OK;
}

static int change_propose(struct cli *cli, const struct cli_args *a)
{
	const char *zone = a->pos[0];
	json_t *rrsets = json_array(), *body = NULL;
	char **file = cli_opt_last(a, "file");
	int rc = file ? load_file(cli, file[0], rrsets) : CLI_OK;
	if (rc == CLI_OK)
		rc = add_flags(cli, a, zone, rrsets);
	if (rc == CLI_OK && json_array_size(rrsets) == 0)
		rc = cli_usage_error(cli, "nothing to propose: give --set, --delete or --file");
	if (rc != CLI_OK)
		goto out;
	body = json_pack("{s:O}", "rrsets", rrsets);
	struct client_response res;
	char *path = CLIENT_PATH("zones", zone, "proposals");
	rc = cli_call(cli, "POST", path, body, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		goto out;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		json_t *ans = cli_json(&res);
		json_int_t id = json_integer_value(json_object_get(ans, "id"));
		if (ans)
			printf("proposed change %" JSON_INTEGER_FORMAT " for %s (%s, %zu RRset change(s))\n"
			       "another principal approves it with: tern change approve %s %" JSON_INTEGER_FORMAT "\n",
			       id, zone, json_string_value(json_object_get(ans, "status")), json_array_size(rrsets),
			       zone, id);
		rc = ans ? CLI_OK : CLI_EAPI;
		json_decref(ans);
	}
	client_response_clear(&res);
out:
	json_decref(body);
	json_decref(rrsets);
	return rc;
}

/* "set www.example.com. A (2), delete old TXT" */
static void summary(json_t *change, char *buf, size_t cap)
{
	size_t i, used = 0;
	json_t *c;
	buf[0] = 0;
	json_array_foreach(json_object_get(change, "rrsets"), i, c)
	{
		const char *n = json_string_value(json_object_get(c, "name")),
		           *t = json_string_value(json_object_get(c, "type"));
		size_t nrec = json_array_size(json_object_get(c, "records"));
		char count[24] = "";
		if (nrec > 1)
			snprintf(count, sizeof(count), " (%zu)", nrec);
		int w = snprintf(buf + used, cap - used, "%s%s %s %s%s", i ? ", " : "",
		                 json_object_get(c, "delete") ? "delete" : "set", n ? n : "?", t ? t : "?", count);
		if (w < 0 || (size_t)w >= cap - used) {
			snprintf(buf + (cap > 4 ? cap - 4 : 0), cap > 4 ? 4 : cap, "...");
			return;
		}
		used += (size_t)w;
	}
}

static int change_list(struct cli *cli, const struct cli_args *a)
{
	json_t *ans, *p;
	int rc = cli_get(cli, CLIENT_PATH("zones", a->pos[0], "proposals"), &ans);
	if (rc != CLI_OK || cli->json)
		return rc;
	if (!ans)
		return CLI_EAPI;
	static const char *const head[] = {"ID", "STATUS", "AUTHOR", "REVIEWER", "CREATED", "CHANGES"};
	struct table *t = table_new(6, head, 1u << 0);
	size_t i;
	json_array_foreach(json_object_get(ans, "proposals"), i, p)
	{
		char id[24], when[32], what[512];
		const char *reviewer = json_string_value(json_object_get(p, "reviewer"));
		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(p, "id")));
		summary(json_object_get(p, "change"), what, sizeof(what));
		const char *row[] = {id,
		                     json_string_value(json_object_get(p, "status")),
		                     json_string_value(json_object_get(p, "author")),
		                     reviewer && *reviewer ? reviewer : "-",
		                     output_time(json_object_get(p, "created"), when, sizeof(when)),
		                     what};
		table_add(t, row);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(ans);
	return CLI_OK;
}

/* POST .../proposals/ID/verb: "approve" (applied at once) or "reject". */
static int change_review(struct cli *cli, const struct cli_args *a, const char *verb)
{
	const char *id = a->pos[1];
	if (strspn(id, "0123456789") != strlen(id))
		return cli_usage_error(cli, "ID \"%s\" is not a number (see `tern change list %s`)", id, a->pos[0]);
	struct client_response res;
	char *path = CLIENT_PATH("zones", a->pos[0], "proposals", id, verb);
	int rc = cli_call(cli, "POST", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		json_t *ans = cli_json(&res);
		if (ans && strcmp(verb, "approve") == 0)
			printf("approved change %s: %s to %s (serial %" JSON_INTEGER_FORMAT ")\n", id,
			       json_string_value(json_object_get(ans, "status")), a->pos[0],
			       json_integer_value(json_object_get(ans, "serial")));
		else if (ans)
			printf("rejected change %s of %s: nothing applied\n", id, a->pos[0]);
		rc = ans ? CLI_OK : CLI_EAPI;
		json_decref(ans);
	}
	client_response_clear(&res);
	return rc;
}

static int change_approve(struct cli *cli, const struct cli_args *a)
{
	return change_review(cli, a, "approve");
}

static int change_reject(struct cli *cli, const struct cli_args *a)
{
	return change_review(cli, a, "reject");
}

static const struct cli_opt propose_opts[] = {
    {"set", 4,
     "--set NAME TYPE TTL RDATA   one record of an RRset to set (repeat with the same\n"
     "                             NAME and TYPE for an RRset of several records)"},
    {"delete", 2, "--delete NAME TYPE          an RRset to delete"},
    {"file", 1,
     "--file FILE                 changes as JSON: {\"rrsets\": [{\"name\", \"type\", \"ttl\",\n"
     "                             \"records\"} | {\"name\", \"type\", \"delete\": true}, ...]}\n"
     "                             (\"-\" reads standard input)"},
    {NULL, 0, NULL},
};
static const struct cli_opt no_opts[] = {{NULL, 0, NULL}};

const struct cli_cmd cmd_change[] = {
    {"change", "propose", "ZONE [--set NAME TYPE TTL RDATA]... [--delete NAME TYPE]... [--file FILE]",
     "propose changes for review; they apply when another principal approves them",
     "NAME is relative to ZONE, absolute, or \"@\" for the apex. Example:\n"
     "  tern change propose example.com --set www A 300 192.0.2.1 --set www A 300 192.0.2.2 \\\n"
     "      --delete old TXT\n",
     1, 1, propose_opts, change_propose},
    {"change", "list", "ZONE", "list a zone's proposals: ID STATUS AUTHOR REVIEWER CREATED CHANGES", NULL, 1, 1,
     no_opts, change_list},
    {"change", "approve", "ZONE ID", "approve a proposal and apply it (its author cannot)", NULL, 2, 2, no_opts,
     change_approve},
    {"change", "reject", "ZONE ID", "reject a proposal: nothing is applied (its author cannot)", NULL, 2, 2, no_opts,
     change_reject},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
