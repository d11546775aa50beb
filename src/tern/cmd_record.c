/* tern record ...: list a zone's RRsets, and get, set (replace) or delete one RRset, printed as
 * zone-file lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/output.h"

/* Prints the RRsets of an answer: {"rrsets": [...]} or one RRset object. */
static int print_answer(json_t *ans)
{
	struct table *t = table_new(4, NULL, 1u << 1);
	json_t *list = json_object_get(ans, "rrsets"), *rs;
	size_t i;
	int rc = 0;
	if (list) {
		json_array_foreach(list, i, rs)
		{
			rc |= output_rrset_rows(t, rs, NULL);
		}
	} else if (json_object_get(ans, "records"))
		rc = output_rrset_rows(t, ans, NULL);
	if (rc < 0 || !t) {
		fprintf(stderr, "tern: out of memory\n");
		table_free(t);
		return CLI_EAPI;
	}
	table_print(t, stdout);
	table_free(t);
	return CLI_OK;
}

/* One request on path; prints the API's JSON or the RRsets of the answer, then "; serial N"
 * when the answer has one and the request changed something. */
static int rrset_request(struct cli *cli, const char *method, char *path, json_t *body, const char *done)
{
	struct client_response res;
	int rc = cli_call(cli, method, path, body, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		json_t *ans = cli_json(&res);
		rc = ans ? CLI_OK : CLI_EAPI;
		if (ans && done)
			printf("%s", done);
		if (ans)
			rc = print_answer(ans);
		json_t *serial = json_object_get(ans, "serial");
		if (ans && strcmp(method, "GET") != 0 && json_is_integer(serial))
			printf("; serial %" JSON_INTEGER_FORMAT "\n", json_integer_value(serial));
		json_decref(ans);
	}
	client_response_clear(&res);
	return rc;
}

static int record_list(struct cli *cli, const struct cli_args *a)
{
	return rrset_request(cli, "GET", CLIENT_PATH("zones", a->pos[0], "rrsets"), NULL, NULL);
}

static char *rrset_path(const struct cli_args *a)
{
	return CLIENT_PATH("zones", a->pos[0], "rrsets", cli_owner(a->pos[0], a->pos[1]), a->pos[2]);
}

static int record_get(struct cli *cli, const struct cli_args *a)
{
	return rrset_request(cli, "GET", rrset_path(a), NULL, NULL);
}

static int record_set(struct cli *cli, const struct cli_args *a)
{
	char **ttl = cli_opt_last(a, "ttl"), *end;
	if (!ttl)
		return cli_usage_error(cli, "--ttl is required");
	errno = 0;
	long long v = strtoll(ttl[0], &end, 10);
	if (*end || end == ttl[0] || errno)
		return cli_usage_error(cli, "--ttl \"%s\" is not a number of seconds", ttl[0]);
	json_t *records = json_array();
	for (int i = 3; i < a->npos; i++)
		json_array_append_new(records, json_string(a->pos[i]));
	if (json_array_size(records) != (size_t)(a->npos - 3)) {
		json_decref(records);
		return cli_usage_error(cli, "RDATA must be UTF-8 text");
	}
	json_t *body = json_pack("{s:I,s:o}", "ttl", (json_int_t)v, "records", records);
	int rc = rrset_request(cli, "PUT", rrset_path(a), body, NULL);
	json_decref(body);
	return rc;
}

static int record_delete(struct cli *cli, const struct cli_args *a)
{
	char done[1100];
	snprintf(done, sizeof(done), "deleted %.500s %.40s from %.500s\n", a->pos[1], a->pos[2], a->pos[0]);
	return rrset_request(cli, "DELETE", rrset_path(a), NULL, done);
}

static const struct cli_opt set_opts[] = {
    {"ttl", 1, "--ttl N   the RRset's TTL in seconds (required)"},
    {NULL, 0, NULL},
};
static const struct cli_opt no_opts[] = {{NULL, 0, NULL}};

#define NAME_HELP                                                                                                      \
	"NAME is relative to ZONE (\"www\"), absolute (\"www.example.com.\") or \"@\" for the zone's apex.\n"          \
	"TYPE is a mnemonic (A, AAAA, MX, TXT, ...) or TYPEnnn.\n"

const struct cli_cmd cmd_record[] = {
    {"record", "list", "ZONE", "print every RRset of a zone as zone-file lines", NULL, 1, 1, no_opts, record_list},
    {"record", "get", "ZONE NAME TYPE", "print one RRset: NAME TTL TYPE DATA", NAME_HELP, 3, 3, no_opts, record_get},
    {"record", "set", "ZONE NAME TYPE --ttl N RDATA...", "replace one RRset with the records given",
     NAME_HELP "Each RDATA is one record in presentation form, as in a zone file; quote it for the\n"
               "shell when it has spaces:\n"
               "  tern record set example.com www A --ttl 300 192.0.2.1 192.0.2.2\n"
               "  tern record set example.com @ MX --ttl 3600 '10 mail.example.com.'\n"
               "  tern record set example.com txt TXT --ttl 60 '\"v=spf1 -all\"'\n"
               "The change is served over DNS when the command returns.\n",
     4, -1, set_opts, record_set},
    {"record", "delete", "ZONE NAME TYPE", "delete one RRset", NAME_HELP, 3, 3, no_opts, record_delete},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
