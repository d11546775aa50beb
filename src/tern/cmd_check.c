/* tern check domain|fqdn|cache|service: diagnostics of a domain or a name from a walk that uses no cache; the
 * engine is libtern's (lib/check.h), this file only reads the options and prints the report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/check.h"
#include "lib/check_advice.h"
#include "lib/check_input.h"
#include "lib/rrtext.h"
#include "tern/cli.h"
#include "tern/client.h"
#include "tern/output.h"

static const struct cli_opt check_opts[] = {
    {"resolver", 1, "--resolver ADDR[:PORT]  a vantage resolver to compare (repeatable; fqdn, cache)"},
    {"hints", 1, "--hints FILE           root hints (named.root format) instead of the IANA root servers"},
    {"query-timeout", 1, "--query-timeout MS     per query and server (default 2000)"},
    {"slow", 1, "--slow MS              a name server slower than this is reported (default 500)"},
    {"whois", 1, "--whois HOST[:PORT]    the WHOIS server (default whois.iana.org, its referral followed)"},
    {"rdap", 1, "--rdap URL             the RDAP base URL of the registry (default: RDAP not asked)"},
    {"deadline", 1, "--deadline MS           all DNS queries of the check end by then (default 60000)"},
    {"registry-timeout", 1, "--registry-timeout MS  for each WHOIS and RDAP exchange (default 10000)"},
    {"no-whois", 0, "--no-whois             do not ask WHOIS"},
    {"type", 1, "--type TYPE            the type to resolve (fqdn; default A)"},
    {"advice", 1, "--advice URL           an OpenAI-compatible endpoint adding prose (default $TERN_ADVICE_URL)"},
    {"advice-model", 1, "--advice-model MODEL   the endpoint's model (default $TERN_ADVICE_MODEL)"},
    {"advice-timeout", 1, "--advice-timeout MS    for the advice exchange (default 20000)"},
    {"ca", 1, "--ca DOMAIN            the certificate authority's CAA issuer name (service; e.g. letsencrypt.org)"},
    {NULL, 0, NULL},
};

static int number(struct cli *cli, const struct cli_args *a, const char *opt, int lo, int hi, int *out)
{
	long n = *out;
	int rc = cli_opt_number(cli, a, opt, lo, hi, &n);
	*out = (int)n;
	return rc;
}

static int setup(struct cli *cli, const struct cli_args *a, struct check_ctx *c, uint16_t *qtype)
{
	char err[300];
	if (cli_opt_last(a, "hints") && check_ctx_load_hints(c, cli_opt_last(a, "hints")[0], err, sizeof(err)) < 0)
		return cli_usage_error(cli, "--hints: %s", err);
	for (int i = 0; i < a->nocc; i++) {
		if (strcmp(a->occ[i].opt->name, "resolver") != 0)
			continue;
		if (c->nresolvers == CHECK_MAXNS)
			return cli_usage_error(cli, "--resolver: at most %d resolvers", CHECK_MAXNS);
		if (check_addr_parse(a->occ[i].vals[0], 53, &c->resolvers[c->nresolvers++], err, sizeof(err)) < 0)
			return cli_usage_error(cli, "--resolver: %s", err);
	}
	if (number(cli, a, "query-timeout", 10, 60000, &c->timeout_ms) ||
	    number(cli, a, "slow", 1, 60000, &c->slow_ms) ||
	    number(cli, a, "registry-timeout", 10, 120000, &c->whois_timeout_ms) ||
	    number(cli, a, "deadline", 10, 3600000, &c->deadline_ms))
		return CLI_EUSAGE;
	if (cli_opt_last(a, "whois"))
		check_copy(c->whois, sizeof(c->whois), cli_opt_last(a, "whois")[0]);
	if (cli_opt_count(a, "no-whois"))
		c->whois[0] = 0;
	if (cli_opt_last(a, "rdap")) {
		const char *url = cli_opt_last(a, "rdap")[0];
		if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
			return cli_usage_error(cli, "--rdap %s: expected an http:// or https:// URL", url);
		check_copy(c->rdap, sizeof(c->rdap), url);
	}
	if (qtype && cli_opt_last(a, "type") && rrtext_type_from_text(cli_opt_last(a, "type")[0], qtype) < 0)
		return cli_usage_error(cli, "--type %s: not a record type", cli_opt_last(a, "type")[0]);
	return 0;
}

/* The advice endpoint from --advice/--advice-model or the environment, the key from TERN_ADVICE_KEY
 * only (a command line is visible to every user of the machine). */
static int advice_setup(struct cli *cli, const struct cli_args *a, struct check_advice_cfg *cfg)
{
	const char *url = cli_opt_last(a, "advice") ? cli_opt_last(a, "advice")[0] : getenv("TERN_ADVICE_URL");
	const char *model =
	    cli_opt_last(a, "advice-model") ? cli_opt_last(a, "advice-model")[0] : getenv("TERN_ADVICE_MODEL");
	const char *key = getenv(CHECK_ADVICE_KEY_ENV);
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ms = 20000;
	if (number(cli, a, "advice-timeout", 10, 600000, &cfg->timeout_ms))
		return CLI_EUSAGE;
	if (!url || !*url) {
		if (cli_opt_count(a, "advice-model") + cli_opt_count(a, "advice-timeout"))
			return cli_usage_error(cli, "--advice-model and --advice-timeout need --advice URL");
		return 0;
	}
	if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) || strlen(url) >= sizeof(cfg->url))
		return cli_usage_error(cli,
		                       "--advice %s: expected an http:// or https:// URL of at most %zu characters",
		                       url, sizeof(cfg->url) - 1);
	if (!model || !*model || strlen(model) >= sizeof(cfg->model))
		return cli_usage_error(cli, "--advice-model: expected the endpoint's model name (1 to %zu characters)",
		                       sizeof(cfg->model) - 1);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return cli_usage_error(cli, "--advice %s: a URL holds no spaces or control characters", url);
	for (const char *p = model; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return cli_usage_error(cli, "--advice-model: printable ASCII only");
	if (key && (strlen(key) >= sizeof(cfg->key) || strpbrk(key, "\r\n")))
		return cli_usage_error(cli, "%s: expected one line of at most %zu characters", CHECK_ADVICE_KEY_ENV,
		                       sizeof(cfg->key) - 1);
	check_copy(cfg->url, sizeof(cfg->url), url);
	check_copy(cfg->model, sizeof(cfg->model), model);
	if (key)
		check_copy(cfg->key, sizeof(cfg->key), key);
	return 0;
}

enum check_kind { KIND_DOMAIN, KIND_FQDN, KIND_CACHE };

static int run(struct cli *cli, const struct cli_args *a, enum check_kind kind)
{
	static const char *kinds[] = {"domain", "fqdn", "cache"};
	bool fqdn = kind != KIND_DOMAIN; /* a name resolved, not a domain's delegation */
	char name[CHECK_NAME_TEXT], unicode[1024], err[300];
	if (check_input_name(a->pos[0], name, unicode, sizeof(unicode), err, sizeof(err)) < 0)
		return cli_usage_error(cli, "%s", err);
	struct check_report *r = check_report_new(kinds[kind], name);
	struct check_ctx *c = malloc(sizeof(*c));
	int rc = CLI_EUSAGE;
	uint16_t qtype = 1;
	struct check_advice_cfg acfg = {0};
	struct check_advice adv = {0};
	bool idn = false; /* shown in both forms */
	for (const unsigned char *p = (const unsigned char *)unicode; *p; p++)
		idn |= *p >= 0x80;
	if (!r || !c) {
		fprintf(stderr, "tern: out of memory\n");
		goto done;
	}
	check_ctx_init(c, r);
	if (fqdn && cli_opt_count(a, "whois") + cli_opt_count(a, "rdap") + cli_opt_count(a, "no-whois") +
	                cli_opt_count(a, "registry-timeout")) {
		rc = cli_usage_error(cli, "--whois, --rdap, --no-whois and --registry-timeout are for check domain");
		goto done;
	}
	if (kind == KIND_CACHE && cli_opt_count(a, "resolver") == 0) {
		rc = cli_usage_error(cli, "check cache: name at least one --resolver whose cache to read");
		goto done;
	}
	if (!fqdn && cli_opt_count(a, "type") + cli_opt_count(a, "resolver")) {
		rc = cli_usage_error(cli, "--type and --resolver are for check fqdn and check cache");
		goto done;
	}
	if (fqdn)
		c->whois[0] = 0;
	if ((rc = setup(cli, a, c, fqdn ? &qtype : NULL)) != 0 || (rc = advice_setup(cli, a, &acfg)) != 0)
		goto done;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ran = kind == KIND_CACHE ? check_cache(c, r, qtype) : fqdn ? check_fqdn(c, r, qtype) : check_domain(c, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	check_advice_ask(&acfg, r, &adv); /* the report is complete: the advice only reads it */
	if (cli->json) {
		json_t *j = check_report_json(r);
		if (j && idn)
			json_object_set_new(j, "unicode", json_string(unicode));
		check_advice_json(&adv, j);
		output_json(j);
		json_decref(j);
	} else {
		if (idn)
			printf("(%s is %s)\n", unicode, name);
		check_report_text(r, stdout);
		check_advice_text(&adv, stdout);
	}
	rc = ran < 0 ? CLI_ECONNECT : check_report_worst(r) == CHECK_ERROR ? CLI_EAPI : CLI_OK;
done:
	memset(acfg.key, 0, sizeof(acfg.key));
	free(c);
	check_report_free(r);
	return rc;
}

/* A JSON name ("app.example" or "app.example.") into an absolute name; false when it is not one. */
static bool intent_name(json_t *v, char out[CHECK_NAME_TEXT])
{
	char err[300];
	return json_is_string(v) && check_input_name(json_string_value(v), out, NULL, 0, err, sizeof(err)) == 0;
}

/* GET path of the API as JSON (NULL: the error is printed, *rc set). */
static json_t *api_get(struct cli *cli, char *path, int *rc)
{
	struct client_response res;
	*rc = path ? cli_call(cli, "GET", path, NULL, NULL, 0, &res) : CLI_EAPI;
	free(path);
	if (*rc != CLI_OK)
		return NULL;
	json_t *doc = cli_json(&res);
	client_response_clear(&res);
	if (!doc)
		*rc = CLI_EAPI;
	return doc;
}

/* What Tern intends for service id, from the API: the service (canonical name, the deployment's
 * addresses), its aliases, its certificate. */
static int service_intent(struct cli *cli, const char *id, struct check_intent *in)
{
	int rc;
	json_t *svc = api_get(cli, CLIENT_PATH("services", id), &rc);
	if (!svc)
		return rc;
	if (!intent_name(json_object_get(svc, "canonical"), in->canonical)) {
		fprintf(stderr, "tern: the API's service %s has no canonical name\n", id);
		json_decref(svc);
		return CLI_EAPI;
	}
	const char *region;
	json_t *dep, *regions = json_object_get(json_object_get(svc, "deployment"), "regions");
	json_object_foreach(regions, region, dep)
	{
		static const char *const families[] = {"ipv4", "ipv6"};
		for (int f = 0; f < 2; f++) {
			size_t i;
			json_t *v;
			json_array_foreach(json_object_get(dep, families[f]), i, v)
			{
				if (json_is_string(v) && in->naddrs < CHECK_MAXINTENT)
					check_copy(in->addrs[in->naddrs++], CHECK_RDATA_TEXT, json_string_value(v));
			}
		}
	}
	json_decref(svc);
	json_t *doms = api_get(cli, CLIENT_PATH("services", id, "domains"), &rc);
	if (!doms)
		return rc;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(doms, "domains"), i, v)
	{
		if (in->naliases < CHECK_MAXNS && intent_name(json_object_get(v, "name"), in->aliases[in->naliases]))
			in->naliases++;
	}
	json_decref(doms);
	json_t *cert = api_get(cli, CLIENT_PATH("services", id, "certificate"), &rc);
	if (!cert)
		return rc;
	in->have_cert = json_is_integer(json_object_get(cert, "not_after"));
	json_array_foreach(json_object_get(cert, "names"), i, v)
	{
		if (in->ncert < CHECK_MAXINTENT && intent_name(v, in->cert_names[in->ncert]))
			in->ncert++;
	}
	json_decref(cert);
	return CLI_OK;
}

static int check_service_cmd(struct cli *cli, const struct cli_args *a)
{
	struct check_intent *in = calloc(1, sizeof(*in));
	struct check_ctx *c = malloc(sizeof(*c));
	struct check_report *r = NULL;
	int rc = CLI_EUSAGE;
	if (!in || !c) {
		fprintf(stderr, "tern: out of memory\n");
		goto done;
	}
	if (cli_opt_count(a, "whois") + cli_opt_count(a, "rdap") + cli_opt_count(a, "registry-timeout") +
	    cli_opt_count(a, "type") + cli_opt_count(a, "resolver")) {
		rc = cli_usage_error(cli, "check service takes --ca, --hints, --query-timeout, --slow and --deadline");
		goto done;
	}
	const char *ca = cli_opt_last(a, "ca") ? cli_opt_last(a, "ca")[0] : "";
	char caname[CHECK_NAME_TEXT], err[300];
	if (ca[0] && check_input_name(ca, caname, NULL, 0, err, sizeof(err)) < 0) {
		rc = cli_usage_error(cli, "--ca: %s", err);
		goto done;
	}
	if ((rc = service_intent(cli, a->pos[0], in)) != CLI_OK)
		goto done;
	if (ca[0]) { /* as CAA writes it: without the final dot */
		caname[strlen(caname) - 1] = 0;
		check_copy(in->ca, sizeof(in->ca), caname);
	}
	if (!(r = check_report_new("service", in->canonical))) {
		fprintf(stderr, "tern: out of memory\n");
		rc = CLI_EUSAGE;
		goto done;
	}
	check_ctx_init(c, r);
	c->whois[0] = 0;
	if ((rc = setup(cli, a, c, NULL)) != 0)
		goto done;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check_service(c, r, in);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (cli->json) {
		json_t *j = check_report_json(r);
		if (j)
			json_object_set_new(j, "service", json_string(a->pos[0]));
		output_json(j);
		json_decref(j);
	} else {
		printf("(service %s)\n", a->pos[0]);
		check_report_text(r, stdout);
	}
	rc = r->nnamed == 0 ? CLI_ECONNECT : check_report_worst(r) == CHECK_ERROR ? CLI_EAPI : CLI_OK;
done:
	check_report_free(r);
	free(c);
	free(in);
	return rc;
}

static int check_domain_cmd(struct cli *cli, const struct cli_args *a)
{
	return run(cli, a, KIND_DOMAIN);
}

static int check_fqdn_cmd(struct cli *cli, const struct cli_args *a)
{
	return run(cli, a, KIND_FQDN);
}

static int check_cache_cmd(struct cli *cli, const struct cli_args *a)
{
	return run(cli, a, KIND_CACHE);
}

#define CHECK_EXIT                                                                                                     \
	"Runs on this machine (no API): a walk from the root hints that uses no cache, as dig +trace.\n"               \
	"Exit status here: 0 no error findings, 1 error findings, 2 usage error, 3 nothing could be asked.\n"          \
	"A server that fails makes the report partial (its \"failures\"), not the command.\n"                          \
	"--advice URL (with --advice-model; the key from $TERN_ADVICE_KEY) asks an OpenAI-compatible endpoint\n"       \
	"(POST URL/chat/completions) for prose about the findings, sending them and the public DNS data\n"             \
	"only; it is printed last, labelled, and never changes the findings or the exit status. When the\n"            \
	"endpoint fails, is slow or answers garbage, one line says why and the rest is the same.\n"

const struct cli_cmd cmd_check[] = {
    {"check", "domain", "DOMAIN [--hints FILE] [--whois HOST[:PORT] | --no-whois] [--rdap URL]",
     "a domain's registration, delegation (parent NS and glue vs the zone's NS), SOA, negative-cache TTL, servers",
     "Asks RDAP (--rdap) and WHOIS for the registrar, expiry and name servers; the parent's servers for\n"
     "the delegation; every name server (parent's and zone's) for the SOA, with its response time;\n"
     "the parent's DS against the zone's DNSKEYs, and the validity of the apex's signatures.\n"
     "Findings (each with its fix): not_delegated, lame_ns, slow_ns, ns_mismatch, glue_mismatch,\n"
     "serial_lag, cname_at_apex, ttl_high, ds_mismatch, ds_missing, rrsig_invalid, rrsig_expiring,\n"
     "expiry_soon, too_few_ns, ns_shared_addr.\n" CHECK_EXIT "  tern check domain example.com\n"
     "  tern check domain corp.lab --hints lab.hints --whois 198.18.10.5 --rdap http://198.18.10.5:8080/rdap\n",
     1, 1, check_opts, check_domain_cmd},
    {"check", "fqdn", "NAME [--type TYPE] [--resolver ADDR[:PORT]]... [--hints FILE]",
     "a name's CNAME chain step by step, every authoritative server's answer and serial, each resolver's answer",
     "Follows the CNAME chain from NAME, each step from the root; asks every server of each zone for\n"
     "the step and for its SOA serial; asks each --resolver (recursion on) and compares.\n"
     "Findings: lame_ns, slow_ns, serial_lag, cname_at_apex, cname_beside_data, ttl_high, cname_loop,\n"
     "chain_too_long, name_missing, resolver_disagrees, resolver_failed.\n" CHECK_EXIT
     "  tern check fqdn www.example.com --resolver 192.0.2.53\n",
     1, 1, check_opts, check_fqdn_cmd},
    {"check", "cache", "NAME --resolver ADDR[:PORT]... [--type TYPE] [--hints FILE]",
     "each resolver's cached answer for a name against the authoritative one, with the time it has left",
     "Follows the CNAME chain from NAME from the root (as check fqdn) and reads the zone's negative-cache\n"
     "TTL; then asks each --resolver without recursion (its cache is read, not changed) and, when it\n"
     "refuses that or holds nothing, with recursion. Says how long each keeps what it holds, e.g.\n"
     "\"resolver X will keep NXDOMAIN for at most N s more\", and when a resolver's own cap (Unbound's\n"
     "cache-max-negative-ttl, BIND's max-ncache-ttl) differs from the zone's TTLs.\n"
     "Findings: those of check fqdn, and cache_stale, resolver_cap, resolver_failed.\n" CHECK_EXIT
     "  tern check cache new.example.com --resolver 192.0.2.53 --resolver 192.0.2.54\n",
     1, 1, check_opts, check_cache_cmd},
    {"check", "service", "ID [--ca DOMAIN] [--hints FILE]",
     "what Tern intends for a service (its records, aliases, certificate) against a walk from the root",
     "Reads the service from the API (GET /api/v1/services/ID, its domains and its certificate), then\n"
     "walks from the root hints: the canonical name must answer the deployment's addresses only; each\n"
     "alias must reach the canonical name (CNAME chain, or HTTPS AliasMode at an apex), its zone is\n"
     "checked as check domain does; the CAA set that applies to each name must allow --ca; the\n"
     "certificate must cover every name. Needs the API (--api, --token); the DNS queries go from here.\n"
     "Findings: record_differs, alias_elsewhere, caa_forbids, cert_missing_name, and those of check fqdn\n"
     "and check domain for the aliases (cname_at_apex, cname_beside_data, ttl_high, lame_ns,\n"
     "ds_mismatch, rrsig_expiring, ...).\n"
     "Exit status here: 0 no error findings, 1 error findings or an API error, 2 usage error, 3 nothing\n"
     "could be asked. A server that fails makes the report partial (its \"failures\"), not the command.\n"
     "  tern check service 3f2c...-... --ca letsencrypt.org\n",
     1, 1, check_opts, check_service_cmd},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
