/* tern ownership claim|verify|show: a tenant's claims on domain names and their proof (a token in
 * _tern-challenge.<name> TXT, or the delegation to the operator's nameservers); and tern zone
 * bootstrap: a zone read from its current servers, shown, and created with --yes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/output.h"

static void print_claim(json_t *c)
{
	json_t *txt = json_object_get(c, "txt");
	printf("name:     %s\n", json_string_value(json_object_get(c, "name")));
	printf("state:    %s\n", json_string_value(json_object_get(c, "state")));
	const char *method = json_string_value(json_object_get(c, "method"));
	if (method && *method)
		printf("method:   %s\n", method);
	printf("token:    %s\n", json_string_value(json_object_get(c, "token")));
	printf("publish:  %s TXT \"%s\"\n", json_string_value(json_object_get(txt, "name")),
	       json_string_value(json_object_get(txt, "value")));
	const char *result = json_string_value(json_object_get(c, "result"));
	json_t *ev = json_object_get(c, "evidence");
	if (!result)
		result = json_string_value(json_object_get(ev, "result"));
	if (result)
		printf("result:   %s\n", result);
	json_t *t = json_object_get(ev, "txt"), *d = json_object_get(ev, "delegation");
	if (t && json_object_get(t, "server")) {
		printf("evidence: %s answered %s for %s TXT:", json_string_value(json_object_get(t, "server")),
		       json_string_value(json_object_get(t, "rcode")),
		       json_string_value(json_object_get(json_object_get(t, "query"), "name")));
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(t, "answer"), i, v)
		{
			printf(" %s", json_string_value(v));
		}
		printf("\n");
	}
	if (d) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(d, "referrals"), i, v)
		{
			printf("evidence: %s (%s) of %s delegates it to",
			       json_string_value(json_object_get(v, "server")),
			       json_string_value(json_object_get(v, "address")),
			       json_string_value(json_object_get(v, "parent")));
			size_t k;
			json_t *ns;
			json_array_foreach(json_object_get(v, "ns"), k, ns)
			{
				printf(" %s", json_string_value(ns));
			}
			printf("\n");
		}
	}
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(ev, "failures"), i, f)
	{
		printf("failure:  %s\n", json_string_value(f));
	}
}

/* One request whose answer is a claim: printed, and exit 1 (CLI_EAPI) when asked to be verified
 * and it is not. */
static int claim_call(struct cli *cli, const char *method, char *path, json_t *body, bool want_verified)
{
	struct client_response res;
	int rc = cli_call(cli, method, path, body, NULL, 0, &res);
	free(path);
	json_decref(body);
	if (rc != CLI_OK)
		return rc;
	json_t *c = cli_json(&res);
	if (!c) {
		client_response_clear(&res);
		return CLI_EAPI;
	}
	if (cli->json)
		output_json(c);
	else
		print_claim(c);
	const char *state = json_string_value(json_object_get(c, "state"));
	rc = want_verified && (!state || strcmp(state, "verified") != 0) ? CLI_EAPI : CLI_OK;
	json_decref(c);
	client_response_clear(&res);
	return rc;
}

static int own_claim(struct cli *cli, const struct cli_args *a)
{
	return claim_call(cli, "POST", CLIENT_PATH("ownership"), json_pack("{s:s}", "name", a->pos[0]), false);
}

static int own_verify(struct cli *cli, const struct cli_args *a)
{
	return claim_call(cli, "POST", CLIENT_PATH("ownership", a->pos[0], "verify"), NULL, true);
}

static int own_show(struct cli *cli, const struct cli_args *a)
{
	if (a->npos == 1)
		return claim_call(cli, "GET", CLIENT_PATH("ownership", a->pos[0]), NULL, false);
	struct client_response res;
	char *path = CLIENT_PATH("ownership");
	int rc = cli_call(cli, "GET", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	json_t *all = cli_json(&res);
	client_response_clear(&res);
	if (!all)
		return CLI_EAPI;
	if (cli->json) {
		output_json(all);
	} else {
		static const char *const head[] = {"NAME", "STATE", "METHOD", "TOKEN"};
		struct table *t = table_new(4, head, 0);
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(all, "claims"), i, c)
		{
			const char *cells[] = {json_string_value(json_object_get(c, "name")),
			                       json_string_value(json_object_get(c, "state")),
			                       json_string_value(json_object_get(c, "method")),
			                       json_string_value(json_object_get(c, "token"))};
			table_add(t, cells);
		}
		table_print(t, stdout);
		table_free(t);
	}
	json_decref(all);
	return CLI_OK;
}

static const struct cli_opt no_opts[] = {{NULL, 0, NULL}};

const struct cli_cmd cmd_ownership[] = {
    {"ownership", "claim", "NAME", "claim a domain name: the token to publish in _tern-challenge.NAME TXT",
     "Claiming again gives the same token. A claim that is not verified blocks no other tenant.\n", 1, 1, no_opts,
     own_claim},
    {"ownership", "verify", "NAME", "prove a claim: the TXT token, or the parent delegating NAME to the operator",
     "Walks from the root for _tern-challenge.NAME TXT and for the parent's NS set of NAME. The delegation\n"
     "to the server's api.nameservers proves NAME for the tenant whose zone NAME is served here. Exits 1\n"
     "unless the claim is verified; the evidence (which server answered what) is printed and stored.\n",
     1, 1, no_opts, own_verify},
    {"ownership", "show", "[NAME]", "a claim with its evidence, or every claim of yours", NULL, 0, 1, no_opts,
     own_show},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};

/* ---- tern zone bootstrap ---- */

static void print_bootstrap(json_t *b)
{
	printf("zone %s read by %s from %s\n", json_string_value(json_object_get(b, "zone")),
	       json_string_value(json_object_get(b, "method")), json_string_value(json_object_get(b, "source")));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(b, "axfr_refused"), i, v)
	{
		printf("AXFR not given: %s\n", json_string_value(v));
	}
	printf("\n%s\n", json_string_value(json_object_get(b, "notice")));
	if (json_array_size(json_object_get(b, "asked"))) {
		printf("asked:");
		json_array_foreach(json_object_get(b, "asked"), i, v)
		{
			printf("%s %s", i ? "," : "", json_string_value(v));
		}
		printf("\n");
	}
	json_t *d = json_object_get(b, "dropped");
	printf("not copied: %lld DNSSEC records, %lld apex NS, %lld SOA, %lld outside the zone, %lld too long, %lld "
	       "over the limit\n\n",
	       (long long)json_integer_value(json_object_get(d, "dnssec")),
	       (long long)json_integer_value(json_object_get(d, "apex_ns")),
	       (long long)json_integer_value(json_object_get(d, "soa")),
	       (long long)json_integer_value(json_object_get(d, "outside_zone")),
	       (long long)json_integer_value(json_object_get(d, "too_long")),
	       (long long)json_integer_value(json_object_get(d, "over_limit")));
	json_t *rs;
	json_array_foreach(json_object_get(b, "rrsets"), i, rs)
	{
		size_t k;
		json_t *r;
		json_array_foreach(json_object_get(rs, "records"), k, r)
		{
			printf("%s\t%lld\tIN\t%s\t%s\n", json_string_value(json_object_get(rs, "name")),
			       (long long)json_integer_value(json_object_get(rs, "ttl")),
			       json_string_value(json_object_get(rs, "type")), json_string_value(r));
		}
	}
	json_t *check = json_object_get(b, "check");
	if (check) {
		printf("\ncheck: %lld of %lld RRsets served by Tern's nameservers as copied\n",
		       (long long)json_integer_value(json_object_get(check, "matching")),
		       (long long)json_integer_value(json_object_get(check, "rrsets_checked")));
		json_array_foreach(json_object_get(check, "differences"), i, v)
		{
			printf("  differs: %s %s %s at %s\n", json_string_value(json_object_get(v, "name")),
			       json_string_value(json_object_get(v, "type")),
			       json_string_value(json_object_get(v, "error")),
			       json_string_value(json_object_get(v, "ns")));
		}
	}
	printf("\n%s\n", json_string_value(json_object_get(json_object_get(b, "switch"), "text")));
}

int cli_zone_bootstrap(struct cli *cli, const struct cli_args *a)
{
	json_t *sel = json_array();
	bool yes = cli_opt_count(a, "yes") > 0;
	for (int i = 0; i < a->nocc; i++)
		if (strcmp(a->occ[i].opt->name, "dkim-selector") == 0)
			json_array_append_new(sel, json_string(a->occ[i].vals[0]));
	json_t *body = json_pack("{s:o, s:b}", "dkim_selectors", sel, "create", yes);
	struct client_response res;
	char *path = CLIENT_PATH("zones", a->pos[0], "bootstrap");
	int rc = cli_call(cli, "POST", path, body, NULL, 0, &res);
	free(path);
	json_decref(body);
	if (rc != CLI_OK)
		return rc;
	json_t *b = cli_json(&res);
	client_response_clear(&res);
	if (!b)
		return CLI_EAPI;
	if (cli->json)
		output_json(b);
	else
		print_bootstrap(b);
	if (!yes && !cli->json)
		printf("\nNothing was created: run again with --yes to create this zone.\n");
	json_t *check = json_object_get(b, "check");
	rc = yes && !json_is_true(json_object_get(check, "ok")) ? CLI_EAPI : CLI_OK;
	json_decref(b);
	return rc;
}
