/* tern explain NAME TYPE --client IP [--ecs PREFIX]: why a client gets the answer it gets, one
 * line per step of the chain the API's GET /api/v1/explain returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/cli.h"
#include "tern/output.h"

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "2026-12-05 17:55:01 UTC" */
static const char *utc_text(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%lld", t);
	return buf;
}

/* "  192.0.2.7  weight 90 (90.0%)  monitor web: down (checked 2026-12-05 17:55:01 UTC: connect
 * refused)  not live" */
static void print_member(json_t *m, bool weighted)
{
	printf("    %s",
	       str(m, json_is_string(json_object_get(m, "target")) ? "target" : "address")); /* a name pool's */
	if (weighted) {
		printf("  weight %lld", num(m, "weight"));
		json_t *share = json_object_get(m, "share");
		if (json_is_number(share))
			printf(" (%.1f%%)", json_number_value(share));
	}
	if (json_is_string(json_object_get(m, "monitor"))) {
		printf("  monitor %s: %s", str(m, "monitor"), str(m, "state"));
		char when[64];
		if (json_is_integer(json_object_get(m, "last_check")))
			printf(" (checked %s: %s)", utc_text(num(m, "last_check"), when, sizeof(when)),
			       str(m, "last_result"));
		else
			printf(" (not checked yet: counts as up)");
	}
	if (!json_is_true(json_object_get(m, "live")))
		printf("  not live");
	printf("\n");
}

/* "geo db:  GeoLite2-Country says 198.51.100.0/24: country BR, continent SA (asked by the selection)" */
static void print_geo(json_t *g)
{
	if (!json_is_object(g))
		return;
	const char *db = str(g, "database");
	if (strcmp(db, "none configured") == 0) {
		printf("geo db:  no database configured\n");
		return;
	}
	if (strcmp(db, "loaded") != 0) {
		printf("geo db:  configured, none loaded: every client counts as not held\n");
		return;
	}
	const char *asked =
	    json_is_true(json_object_get(g, "asked")) ? "asked by the selection" : "not asked by the selection";
	if (!json_is_true(json_object_get(g, "found"))) {
		printf("geo db:  %s says %s: not in the database (%s)\n", str(g, "type"), str(g, "network"), asked);
		return;
	}
	printf("geo db:  %s says %s: country %s, continent %s (%s)\n", str(g, "type"), str(g, "network"),
	       str(g, "country"), str(g, "continent"), asked);
}

/* A signed zone's answers to DO queries: the sets signed ahead they are, with their shares. */
static void print_signed(json_t *ans)
{
	json_t *sg = json_object_get(ans, "signed"), *rs = json_object_get(ans, "rrset"), *a;
	if (!json_is_object(sg))
		return;
	json_t *answers = json_object_get(sg, "answers");
	const char *pick = str(sg, "pick");
	size_t i, k;
	if (strcmp(pick, "all") == 0) {
		json_t *set = json_object_get(json_array_get(answers, 0), "set");
		if (json_is_integer(set))
			printf("dnssec:  signed zone: the rrset is signed set %lld of %lld\n",
			       (long long)json_integer_value(set), num(sg, "sets"));
		else
			printf("dnssec:  signed zone: the rrset is no set signed ahead (answered unsigned)\n");
		return;
	}
	if (strcmp(pick, "one live member") == 0)
		printf("dnssec:  signed zone: a DO query gets one live member, each as likely (%lld set(s) signed "
		       "ahead; queries without DO get the rrset above):\n",
		       num(sg, "sets"));
	else
		printf("dnssec:  signed zone: a DO query gets one record by weight (%lld set(s) signed ahead):\n",
		       num(sg, "sets"));
	json_array_foreach(answers, i, a)
	{
		json_t *r;
		json_array_foreach(json_object_get(a, "records"), k, r)
		{
			printf("    %s %lld %s %s", str(rs, "name"), num(rs, "ttl"), str(rs, "type"),
			       json_string_value(r) ? json_string_value(r) : "-");
		}
		json_t *set = json_object_get(a, "set");
		printf("  ; %.1f%% of DO answers, ", json_number_value(json_object_get(a, "share")));
		if (json_is_integer(set))
			printf("signed set %lld\n", (long long)json_integer_value(set));
		else
			printf("no set signed ahead (unsigned)\n");
	}
}

static void print_dynamic(json_t *ans)
{
	print_geo(json_object_get(ans, "geo"));
	const char *match = str(ans, "match");
	if (strcmp(match, "answer list") == 0)
		printf("match:   no geo entry holds the client: the answer list\n");
	else
		printf("match:   geo %s\n", match);
	json_t *pools = json_object_get(ans, "pools"), *p;
	size_t i, k;
	json_array_foreach(pools, i, p)
	{
		bool weighted = json_is_true(json_object_get(p, "weighted"));
		printf("pool %zu:  %s, %lld of %lld member(s) live%s%s\n", i + 1, str(p, "name"), num(p, "live"),
		       num(p, "members_of_type"), weighted ? ", weighted" : "",
		       json_is_true(json_object_get(p, "answering")) ? "  <- answers" : "");
		json_t *m;
		json_array_foreach(json_object_get(p, "members"), k, m)
		{
			print_member(m, weighted);
		}
	}
	if (json_is_true(json_object_get(ans, "fallback")))
		printf("answer:  no pool has a live member: fallback to every member of %s\n", str(ans, "answered_by"));
	else
		printf("answer:  pool %s\n", str(ans, "answered_by"));
}

static void print_rrset(json_t *ans)
{
	json_t *rs = json_object_get(ans, "rrset"), *r;
	size_t i;
	if (!json_is_object(rs)) {
		printf("rrset:   none (%s)\n", str(ans, "outcome"));
		return;
	}
	json_t *shares = json_object_get(rs, "shares");
	if (json_is_array(shares))
		printf("rrset:   one record by weight:\n");
	json_array_foreach(json_object_get(rs, "records"), i, r)
	{
		printf("%s%s %lld %s %s", json_is_array(shares) ? "    " : "rrset:   ", str(rs, "name"), num(rs, "ttl"),
		       str(rs, "type"), json_string_value(r) ? json_string_value(r) : "-");
		json_t *sh = json_array_get(shares, i);
		if (sh)
			printf("  ; %.1f%% of answers", json_number_value(json_object_get(sh, "share")));
		printf("\n");
	}
}

static void print_explanation(json_t *ans)
{
	json_t *cl = json_object_get(ans, "client");
	printf("query:   %s %s in zone %s\n", str(ans, "name"), str(ans, "type"), str(ans, "zone"));
	printf("client:  %s/%lld (%s%s)\n", str(cl, "address"), num(cl, "prefix"),
	       strcmp(str(cl, "from"), "ecs") == 0 ? "Client Subnet" : "source address",
	       json_is_true(json_object_get(cl, "capped")) ? ", source prefix capped" : "");
	const char *outcome = str(ans, "outcome");
	json_t *wild = json_object_get(ans, "wildcard");
	if (json_is_string(wild))
		printf("name:    matched by the wildcard %s\n", json_string_value(wild));
	if (strcmp(outcome, "cname") == 0 || strcmp(outcome, "dname") == 0)
		printf("name:    %s to %s (not followed: explain that name)\n",
		       strcmp(outcome, "cname") == 0 ? "CNAME" : "DNAME", str(ans, "target"));
	else if (strcmp(outcome, "referral") == 0)
		printf("name:    below the zone cut %s: a referral\n", str(ans, "cut"));
	else if (strcmp(outcome, "nxdomain") == 0)
		printf("name:    does not exist (NXDOMAIN)\n");
	else if (strcmp(outcome, "nodata") == 0)
		printf("name:    exists without %s records (NODATA)\n", str(ans, "type"));
	if (json_is_true(json_object_get(ans, "dynamic")))
		print_dynamic(ans);
	else if (strcmp(outcome, "answer") == 0)
		printf("static:  the same records for every client\n");
	print_rrset(ans);
	print_signed(ans);
	if (json_is_null(json_object_get(cl, "ecs_source")))
		printf("scope:   /%lld (sent only to a query with Client Subnet)\n", num(ans, "scope"));
	else
		printf("scope:   /%lld%s\n", num(ans, "scope"),
		       num(ans, "scope") ? "" : " (the answer does not depend on the client's address)");
}

static int explain(struct cli *cli, const struct cli_args *a)
{
	char **client = cli_opt_last(a, "client"), **ecs = cli_opt_last(a, "ecs");
	if (!client)
		return cli_usage_error(cli, "--client IP is required");
	char name[1024], type[64], cl[256], pre[64];
	if (!client_escape(a->pos[0], name, sizeof(name)) || !client_escape(a->pos[1], type, sizeof(type)) ||
	    !client_escape(client[0], cl, sizeof(cl)) || (ecs && !client_escape(ecs[0], pre, sizeof(pre))))
		return cli_usage_error(cli, "argument too long");
	size_t cap = strlen(name) + strlen(type) + strlen(cl) + (ecs ? strlen(pre) : 0) + 64;
	char *path = malloc(cap);
	if (path)
		snprintf(path, cap, "/explain?name=%s&type=%s&client=%s%s%s", name, type, cl, ecs ? "&ecs=" : "",
		         ecs ? pre : "");
	struct client_response res;
	int rc = cli_call(cli, "GET", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		json_t *ans = cli_json(&res);
		rc = ans ? CLI_OK : CLI_EAPI;
		if (ans)
			print_explanation(ans);
		json_decref(ans);
	}
	client_response_clear(&res);
	return rc;
}

static const struct cli_opt explain_opts[] = {
    {"client", 1, "--client IP   the address the query comes from (required)"},
    {"ecs", 1, "--ecs PREFIX  the query carries EDNS Client Subnet: IP cut to PREFIX bits"},
    {NULL, 0, NULL},
};

const struct cli_cmd cmd_explain[] = {
    {"explain", "", "NAME TYPE --client IP [--ecs PREFIX]",
     "why a client gets the answer it gets: zone, geo database, geo entry, pools, members, RRset, ECS scope",
     "TYPE is A or AAAA. The server looks NAME up as a query would and, for a dynamic resource, runs\n"
     "its own selection for the client: what the geo database says of it (network, country,\n"
     "continent), the geo entry matched, the pools in order with each member's weight, share,\n"
     "monitor state and last check, the pool answering (or the fallback), the RRset and the ECS\n"
     "scope. A weighted pool shows every candidate with its share, not one random pick. In a signed\n"
     "zone it also shows the sets signed ahead a DO query gets: a pool with only some members live\n"
     "answers one of them, each as likely.\n"
     "  tern explain geo.example.com A --client 198.51.100.7\n"
     "  tern explain geo.example.com A --client 192.0.2.53 --ecs 0   # ECS without an address\n",
     2, 2, explain_opts, explain},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
