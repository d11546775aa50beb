/* tern usage report: a tenant's queries and zone-days per zone for a UTC calendar month (GET
 * /api/v1/tenants/{t}/usage?granularity=month), as a table, CSV or the API's JSON. The tenant is
 * --tenant, else the token's own (its "sub" claim, read, not verified: the API verifies it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/civil.h"
#include "tern/cli.h"

/* The sub claim of a JWT, into out; false when the token is no JWT or has none. */
static bool token_tenant(const char *token, char *out, size_t cap)
{
	const char *dot1 = token ? strchr(token, '.') : NULL, *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot2 || (size_t)(dot2 - dot1 - 1) > 8192)
		return false;
	uint8_t payload[6144];
	size_t n = 0;
	struct b64_error e;
	if (b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), B64_URL, payload, sizeof(payload), &n, &e) < 0)
		return false;
	json_t *claims = json_loadb((const char *)payload, n, 0, NULL);
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	bool ok = sub && strlen(sub) < cap;
	if (ok)
		snprintf(out, cap, "%s", sub);
	json_decref(claims);
	return ok;
}

/* "YYYY-MM" into its first and last day ("YYYY-MM-DD"). */
static bool month_days(const char *month, char *first, char *last)
{
	int y, m;
	char tail;
	if (strlen(month) != 7 || sscanf(month, "%4d-%2d%c", &y, &m, &tail) != 2 || month[4] != '-' || y < 2000 ||
	    y > 2999 || m < 1 || m > 12)
		return false;
	sprintf(first, "%04d-%02d-01", y, m);
	sprintf(last, "%04d-%02d-%02u", y, m, civil_month_days(y, (unsigned)m));
	return true;
}

static int usage_report(struct cli *cli, const struct cli_args *a)
{
	char **month = cli_opt_last(a, "month"), **tenant_opt = cli_opt_last(a, "tenant");
	char first[16], last[16], tenant[256];
	if (!month || !month_days(month[0], first, last))
		return cli_usage_error(cli, "--month YYYY-MM is required (a calendar month, UTC)");
	if (tenant_opt)
		snprintf(tenant, sizeof(tenant), "%s", tenant_opt[0]);
	else if (!token_tenant(cli->token, tenant, sizeof(tenant)))
		return cli_usage_error(cli, "--tenant is required: the token names no tenant");
	bool csv = cli_opt_count(a, "csv") > 0;
	char *base = CLIENT_PATH("tenants", tenant, "usage");
	if (!base)
		return CLI_EUSAGE;
	char path[1024];
	snprintf(path, sizeof(path), "%s?from=%s&to=%s&granularity=month%s", base, first, last,
	         csv ? "&format=csv" : "");
	free(base);
	struct client_response res;
	int rc = cli_call(cli, "GET", path, NULL, NULL, 0, &res);
	if (rc != CLI_OK)
		return rc;
	if (csv) {
		fwrite(res.body, 1, res.len, stdout);
	} else if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		json_t *doc = cli_json(&res);
		if (!doc) {
			client_response_clear(&res);
			return CLI_EAPI;
		}
		printf("usage of %s, %s (UTC)\n", tenant, month[0]);
		printf("%-40s %15s %10s\n", "ZONE", "QUERIES", "ZONE-DAYS");
		json_t *p = json_array_get(json_object_get(doc, "periods"), 0), *z;
		size_t i;
		json_array_foreach(json_object_get(p, "zones"), i, z)
		{
			printf("%-40s %15" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT "\n",
			       json_string_value(json_object_get(z, "zone")),
			       json_integer_value(json_object_get(z, "queries")),
			       json_integer_value(json_object_get(z, "zone_days")));
		}
		printf("%-40s %15" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT "\n", "total",
		       json_integer_value(json_object_get(p, "queries")),
		       json_integer_value(json_object_get(p, "zone_days")));
		json_decref(doc);
	}
	client_response_clear(&res);
	return rc;
}

static const struct cli_opt report_opts[] = {
    {"month", 1, "--month YYYY-MM   the calendar month (UTC)"},
    {"tenant", 1, "--tenant TENANT   whose usage (an admin token may name any; default: the token's)"},
    {"csv", 0, "--csv             period,zone,queries,zone_days as CSV"},
    {NULL, 0, NULL},
};

const struct cli_cmd cmd_usage[] = {
    {"usage", "report", "--month YYYY-MM [--tenant TENANT] [--csv]",
     "queries and zone-days per zone for a month: ZONE QUERIES ZONE-DAYS",
     "A billable query is one answered over UDP or TCP for a name in a served zone, whatever its rcode.\n", 0, 0,
     report_opts, usage_report},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
