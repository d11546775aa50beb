/* tern tsig-key ...: the tenant's TSIG keys for dynamic updates (RFC 2136) made over the API: create
 * one with its update ACL (from flags: one rule; or a JSON file of rules), list them, delete one.
 * The secret is printed once, at creation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/output.h"

/* The rule --zone/--name/--type/--action make (each repeatable; none of one: any). */
static json_t *flag_rule(const struct cli_args *a)
{
	static const char *const flags[][2] = {
	    {"zone", "zones"}, {"name", "names"}, {"type", "types"}, {"action", "actions"}};
	json_t *rule = json_object();
	for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++)
		for (int i = 0; i < a->nocc; i++) {
			if (strcmp(a->occ[i].opt->name, flags[f][0]) != 0)
				continue;
			json_t *list = json_object_get(rule, flags[f][1]);
			if (!list) {
				list = json_array();
				json_object_set_new(rule, flags[f][1], list);
			}
			json_array_append_new(list, json_string(a->occ[i].vals[0]));
		}
	return rule;
}

static int key_create(struct cli *cli, const struct cli_args *a)
{
	char **file = cli_opt_last(a, "acl-file"), **alg = cli_opt_last(a, "algorithm");
	bool flags = cli_opt_count(a, "zone") + cli_opt_count(a, "name") + cli_opt_count(a, "type") +
	                 cli_opt_count(a, "action") >
	             0;
	if (file && flags)
		return cli_usage_error(cli,
		                       "give the ACL with --acl-file or with --zone/--name/--type/--action, not both");
	json_t *acl;
	if (file) {
		size_t len;
		char *text = cli_read_file(file[0], &len);
		if (!text)
			return CLI_EUSAGE;
		json_error_t je;
		acl = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		free(text);
		if (!json_is_array(acl)) {
			json_decref(acl);
			return cli_usage_error(cli,
			                       "%s: expected a JSON list of rules [{\"zones\", \"names\", \"types\", "
			                       "\"actions\"}, ...]",
			                       file[0]);
		}
	} else {
		acl = json_pack("[o]", flag_rule(a));
	}
	json_t *body = json_pack("{s:s,s:o}", "name", a->pos[0], "acl", acl);
	if (alg)
		json_object_set_new(body, "algorithm", json_string(alg[0]));
	struct client_response res;
	char *path = CLIENT_PATH("tsig-keys");
	int rc = cli_call(cli, "POST", path, body, NULL, 0, &res);
	free(path);
	json_decref(body);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		json_t *ans = cli_json(&res);
		const char *name = json_string_value(json_object_get(ans, "name")),
		           *algorithm = json_string_value(json_object_get(ans, "algorithm")),
		           *secret = json_string_value(json_object_get(ans, "secret"));
		if (name && algorithm && secret)
			printf("made TSIG key %s (%s); its secret, shown this once:\n%s\n"
			       "sign updates with it, e.g.: nsupdate -y %s:%s:%s\n",
			       name, algorithm, secret, algorithm, name, secret);
		rc = name && algorithm && secret ? CLI_OK : CLI_EAPI;
		json_decref(ans);
	}
	client_response_clear(&res);
	return rc;
}

/* "dyn.test. _acme-challenge.* TXT add; ..." for a table cell */
static void rules_text(json_t *acl, char *buf, size_t cap)
{
	static const char *const lists[] = {"zones", "names", "types", "actions"};
	size_t i, used = 0;
	json_t *rule;
	buf[0] = 0;
	json_array_foreach(acl, i, rule)
	{
		for (size_t l = 0; l < 4; l++) {
			json_t *list = json_object_get(rule, lists[l]), *v;
			size_t k;
			if (!json_array_size(list)) {
				used += (size_t)snprintf(buf + used, cap - used, "%s*",
				                         used && buf[used - 1] != ' ' ? " " : "");
			} else {
				json_array_foreach(list, k, v)
				{
					used += (size_t)snprintf(buf + used, cap - used, "%s%s",
					                         k ? "," : (used ? " " : ""),
					                         json_string_value(v) ? json_string_value(v) : "?");
					if (used >= cap)
						break;
				}
			}
			if (used >= cap)
				break;
		}
		if (used < cap && i + 1 < json_array_size(acl))
			used += (size_t)snprintf(buf + used, cap - used, ";");
		if (used >= cap) {
			snprintf(buf + cap - 4, 4, "...");
			return;
		}
	}
}

static int key_list(struct cli *cli, const struct cli_args *a)
{
	(void)a;
	json_t *doc;
	int rc = cli_get(cli, CLIENT_PATH("tsig-keys"), &doc);
	if (rc != CLI_OK || cli->json)
		return rc;
	json_t *list = json_object_get(doc, "keys"), *k;
	if (!json_is_array(list)) {
		if (doc)
			fprintf(stderr, "tern: the API's key list has no \"keys\" array\n");
		json_decref(doc);
		return CLI_EAPI;
	}
	static const char *const head[] = {"NAME", "ALGORITHM", "CREATED", "ACL (ZONES NAMES TYPES ACTIONS; ...)"};
	struct table *t = table_new(4, head, 0);
	size_t i;
	json_array_foreach(list, i, k)
	{
		char when[32], acl[512];
		rules_text(json_object_get(k, "acl"), acl, sizeof(acl));
		const char *row[] = {json_string_value(json_object_get(k, "name")),
		                     json_string_value(json_object_get(k, "algorithm")),
		                     output_time(json_object_get(k, "created"), when, sizeof(when)), acl};
		table_add(t, row);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(doc);
	return CLI_OK;
}

static int key_delete(struct cli *cli, const struct cli_args *a)
{
	char done[512];
	snprintf(done, sizeof(done), "deleted TSIG key %s: updates signed with it are refused from now on", a->pos[0]);
	return cli_send(cli, "DELETE", CLIENT_PATH("tsig-keys", a->pos[0]), NULL, done);
}

static const struct cli_opt create_opts[] = {
    {"algorithm", 1, "--algorithm ALG     hmac-sha256 (the default) or hmac-sha512"},
    {"zone", 1, "--zone ZONE         a zone of yours it may change (repeat; none: all of yours)"},
    {"name", 1,
     "--name NAME         a name it may change: NAME, *.NAME (below NAME) or LABEL.*\n"
     "                    (that first label anywhere, as _acme-challenge.*) (repeat; none: any)"},
    {"type", 1, "--type TYPE         a record type it may change (repeat; none: any)"},
    {"action", 1, "--action ACTION     add or delete (repeat; none: both)"},
    {"acl-file", 1,
     "--acl-file FILE     the ACL as JSON, several rules: [{\"zones\", \"names\", \"types\",\n"
     "                    \"actions\"}, ...] (\"-\" reads standard input)"},
    {NULL, 0, NULL},
};
static const struct cli_opt no_opts[] = {{NULL, 0, NULL}};

const struct cli_cmd cmd_tsig[] = {
    {"tsig-key", "create",
     "NAME [--algorithm ALG] [--zone ZONE]... [--name NAME]... [--type TYPE]... "
     "[--action ACTION]... [--acl-file FILE]",
     "make a TSIG key for dynamic updates (RFC 2136) of your zones; prints its secret once",
     "The flags make one rule of the key's update ACL; --acl-file gives several. Example:\n"
     "  tern tsig-key create acme.example --zone example.com --name '_acme-challenge.*' --type TXT\n",
     1, 1, create_opts, key_create},
    {"tsig-key", "list", "", "list your TSIG keys: NAME ALGORITHM CREATED ACL (never the secrets)", NULL, 0, 0, no_opts,
     key_list},
    {"tsig-key", "delete", "NAME", "delete a TSIG key: updates signed with it are refused at once", NULL, 1, 1, no_opts,
     key_delete},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
