/* tern hints check|unbound: in-tree hints (draft-kolkman-dns-in-tree-hints) for a domain, from a walk
 * that uses no cache; the engine is libtern's (lib/hints.h), this file reads options and prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/check_input.h"
#include "lib/hints.h"
#include "tern/cli.h"
#include "tern/output.h"

#define WATCH_MAXDOMAINS_CLI 16 /* cmd_hints_watch.c's WATCH_MAXDOMAINS */
int hints_watch_cmd(struct cli *cli, const struct cli_args *a);

static const struct cli_opt hints_opts[] = {
    {"hints", 1, "--hints FILE           root hints (named.root format) instead of the IANA root servers"},
    {"server", 1, "--server ADDR[:PORT]   a server of the domain to ask when it has no delegation (repeatable)"},
    {"trust", 1, "--trust KEYTAG         the KSK to pin when the parent has no DS for it that validates"},
    {"root-anchor", 1,
     "--root-anchor FILE     the root's trust anchor (DS or DNSKEY lines; default " HINTS_ROOT_ANCHOR ")"},
    {"query-timeout", 1, "--query-timeout MS     per query and server (default 2000)"},
    {"deadline", 1, "--deadline MS           all DNS queries end by then (default 60000)"},
    {"anchor-file", 1, "--anchor-file PATH     (unbound) where to write the auto-trust-anchor-file seed"},
    {"out", 1, "--out FILE             (unbound) the configuration into FILE instead of standard output"},
    {"force", 0, "--force                (unbound) write even when check fails, saying what is broken"},
    {"journal", 0, "--journal              Tern serves the zone: judge the KSK's age from its key journal (API)"},
    {NULL, 0, NULL},
};

/* The options into c and o (o->anchor read into *anchor); 0 or CLI_EUSAGE. */
static int setup(struct cli *cli, const struct cli_args *a, struct check_ctx *c, struct hints_opts *o,
                 struct hints_anchor *anchor)
{
	char err[300];
	const char *apath = cli_opt_last(a, "root-anchor") ? cli_opt_last(a, "root-anchor")[0] : HINTS_ROOT_ANCHOR;
	if (hints_anchor_load(apath, anchor, err, sizeof(err)) < 0)
		return cli_usage_error(cli, "--root-anchor: %s", err);
	o->anchor = anchor;
	if (check_input_name(a->pos[0], o->domain, NULL, 0, err, sizeof(err)) < 0)
		return cli_usage_error(cli, "%s", err);
	if (strcmp(o->domain, ".") == 0)
		return cli_usage_error(cli, "the root has its own hints: name a domain below it");
	if (cli_opt_last(a, "hints") && check_ctx_load_hints(c, cli_opt_last(a, "hints")[0], err, sizeof(err)) < 0)
		return cli_usage_error(cli, "--hints: %s", err);
	for (int i = 0; i < a->nocc; i++) {
		if (strcmp(a->occ[i].opt->name, "server") != 0)
			continue;
		if (o->nservers == CHECK_MAXNS)
			return cli_usage_error(cli, "--server: at most %d servers", CHECK_MAXNS);
		if (check_addr_parse(a->occ[i].vals[0], 53, &o->servers[o->nservers++], err, sizeof(err)) < 0)
			return cli_usage_error(cli, "--server: %s", err);
	}
	long v = -1, t = c->timeout_ms, d = c->deadline_ms;
	if (cli_opt_number(cli, a, "trust", 0, 65535, &v) || cli_opt_number(cli, a, "query-timeout", 10, 60000, &t) ||
	    cli_opt_number(cli, a, "deadline", 10, 3600000, &d))
		return CLI_EUSAGE;
	o->trust_tag = (int)v;
	c->timeout_ms = (int)t;
	c->deadline_ms = (int)d;
	c->whois[0] = 0;
	c->rdap[0] = 0;
	o->now = (long long)time(NULL);
	return 0;
}

/* --journal: the pinned KSK's publication time and the policy's add hold-down from the API
 * (GET /api/v1/zones/D/dnssec), judged by hints_ksk_age(). */
static int journal_age(struct cli *cli, struct hints_report *r, long long now)
{
	if (!cli->api || !*cli->api || !cli->token || !*cli->token)
		return cli_usage_error(cli, "--journal reads the zone's keys from the API: set --api and --token");
	struct client_response res;
	char *path = CLIENT_PATH("zones", r->domain, "dnssec");
	int rc = path ? cli_call(cli, "GET", path, NULL, NULL, 0, &res) : CLI_EUSAGE;
	free(path);
	if (rc != CLI_OK)
		return rc;
	json_t *doc = cli_json(&res);
	client_response_clear(&res);
	if (!doc)
		return CLI_EAPI;
	json_t *hold = json_object_get(json_object_get(doc, "policy"), "add-holddown");
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(doc, "keys"), i, k)
	{
		json_t *tag = json_object_get(k, "tag"),
		       *pub = json_object_get(json_object_get(k, "timestamps"), "published");
		for (int p = 0; json_is_integer(tag) && json_is_integer(pub) && p < r->nkeys; p++)
			if (r->keys[p].pinned && r->keys[p].tag == json_integer_value(tag))
				hints_ksk_age(r, r->keys[p].tag, json_integer_value(pub),
				              json_is_integer(hold) ? json_integer_value(hold) : 0, now);
	}
	json_decref(doc);
	return CLI_OK;
}

/* Runs the check; NULL after printing why (rc set). */
static struct hints_report *run(struct cli *cli, const struct cli_args *a, int *rc)
{
	struct check_ctx *c = malloc(sizeof(*c));
	struct hints_opts *o = calloc(1, sizeof(*o));
	struct hints_report *r = calloc(1, sizeof(*r));
	struct hints_anchor *anchor = malloc(sizeof(*anchor));
	*rc = CLI_EUSAGE;
	if (!c || !o || !r || !anchor || !(r->check = check_report_new("hints", "."))) {
		fprintf(stderr, "tern: out of memory\n");
		goto fail;
	}
	check_ctx_init(c, r->check);
	if ((*rc = setup(cli, a, c, o, anchor)) != 0)
		goto fail;
	if (hints_check(c, o, r) < 0) {
		fprintf(stderr, "tern: out of memory\n");
		*rc = CLI_EUSAGE;
		goto fail;
	}
	if (cli_opt_count(a, "journal") && (*rc = journal_age(cli, r, o->now)) != CLI_OK)
		goto fail;
	free(c);
	free(o);
	free(anchor);
	return r;
fail:
	free(c);
	free(o);
	free(anchor);
	if (r)
		check_report_free(r->check);
	free(r);
	return NULL;
}

static void report_free(struct hints_report *r)
{
	check_report_free(r->check);
	free(r);
}

static int hints_check_cmd(struct cli *cli, const struct cli_args *a)
{
	if (cli_opt_count(a, "anchor-file") + cli_opt_count(a, "out") + cli_opt_count(a, "force"))
		return cli_usage_error(cli, "--anchor-file, --out and --force are for hints unbound");
	int rc;
	struct hints_report *r = run(cli, a, &rc);
	if (!r)
		return rc;
	if (cli->json) {
		json_t *j = hints_report_json(r);
		output_json(j);
		json_decref(j);
	} else {
		hints_report_text(r, stdout);
	}
	rc = (int)hints_worst(r);
	report_free(r);
	return rc;
}

static int hints_unbound_cmd(struct cli *cli, const struct cli_args *a)
{
	char **anchor = cli_opt_last(a, "anchor-file");
	if (!anchor)
		return cli_usage_error(cli,
		                       "hints unbound needs --anchor-file PATH (the file Unbound keeps by RFC 5011)");
	if (!anchor[0][0] || strpbrk(anchor[0], "\"\n\r"))
		return cli_usage_error(cli, "--anchor-file %s: a path without quotes or line breaks", anchor[0]);
	int rc;
	struct hints_report *r = run(cli, a, &rc);
	if (!r)
		return rc;
	FILE *out = NULL, *af = NULL;
	char *abuf = NULL, *obuf = NULL, err[300];
	size_t alen = 0, olen = 0;
	if (hints_worst(r) == HINTS_FAIL) {
		bool force = cli_opt_count(a, "force") > 0;
		fprintf(stderr, "tern: %s fails the in-tree hints check%s:\n", r->domain,
		        force ? "; --force: writing all the same" : "; nothing written (--force writes all the same)");
		for (int i = 0; i < HINTS_NRULES; i++)
			for (int k = 0; r->rules[i].status == HINTS_FAIL && k < r->rules[i].nreasons; k++)
				fprintf(stderr, "  %s: %s\n", r->rules[i].name, r->rules[i].reasons[k]);
		if (!force) {
			rc = CLI_EUSAGE;
			goto done;
		}
	}
	/* both texts made in memory first: nothing is written unless both can be */
	FILE *as = open_memstream(&abuf, &alen), *os = open_memstream(&obuf, &olen);
	if (!as || !os) {
		if (as)
			fclose(as);
		if (os)
			fclose(os);
		fprintf(stderr, "tern: out of memory\n");
		rc = CLI_EUSAGE;
		goto done;
	}
	int made = hints_unbound(r, anchor[0], (long long)time(NULL), os, as, err, sizeof(err));
	fclose(as);
	fclose(os);
	if (made < 0) {
		fprintf(stderr, "tern: no configuration for %s: %s\n", r->domain, err);
		rc = CLI_EUSAGE;
		goto done;
	}
	char **outp = cli_opt_last(a, "out");
	if (!(af = fopen(anchor[0], "w")) || fwrite(abuf, 1, alen, af) != alen || fclose(af) != 0) {
		af = NULL;
		fprintf(stderr, "tern: --anchor-file %s: %s\n", anchor[0], strerror(errno));
		rc = CLI_EUSAGE;
		goto done;
	}
	af = NULL;
	out = outp ? fopen(outp[0], "w") : stdout;
	if (!out || fwrite(obuf, 1, olen, out) != olen || (outp && fclose(out) != 0)) {
		fprintf(stderr, "tern: --out %s: %s\n", outp ? outp[0] : "(stdout)", strerror(errno));
		rc = CLI_EUSAGE;
		goto done;
	}
	rc = CLI_OK;
done:
	free(abuf);
	free(obuf);
	report_free(r);
	return rc;
}

static const struct cli_opt watch_opts[] = {
    {"hints", 1, "--hints FILE           root hints (named.root format) instead of the IANA root servers"},
    {"server", 1, "--server ADDR[:PORT]   a server of the domains to ask when a delegation is gone (repeatable)"},
    {"trust", 1, "--trust KEYTAG         the KSK to validate with (default: the one pinned at the first poll)"},
    {"root-anchor", 1,
     "--root-anchor FILE     the root's trust anchor (DS or DNSKEY lines; default " HINTS_ROOT_ANCHOR ")"},
    {"mqtt", 1, "--mqtt HOST[:PORT]     publish each condition set and cleared (retained, QoS 1)"},
    {"topic", 1, "--topic PREFIX         MQTT topic prefix (default tern/hints): PREFIX/CONDITION/DOMAIN"},
    {"conf", 1, "--conf FILE            the Unbound configuration to rewrite when the NS set changes"},
    {"anchor-file", 1, "--anchor-file PATH     the auto-trust-anchor-file that configuration names"},
    {"apply", 0, "--apply                run unbound-control reload after rewriting --conf"},
    {"control-config", 1, "--control-config FILE  unbound-control -c FILE (with --apply)"},
    {"max-interval", 1, "--max-interval S       poll at least this often (default 3600; else the smallest TTL)"},
    {"polls", 1, "--polls N              stop after N polls (default: never)"},
    {"state", 1, "--state FILE           keep each domain's anchor (RFC 5011) in FILE (JSON) across runs"},
    {"add-holddown", 1, "--add-holddown S       RFC 5011 add hold-down before a new KSK is trusted (default 2592000)"},
    {NULL, 0, NULL},
};

#define HINTS_HELP                                                                                                     \
	"Runs on this machine (no API): a walk from the root hints that uses no cache, as dig +trace.\n"               \
	"Rules: txt (_in-tree.D TXT holds one RFC 3339 timestamp, not expired; expired under 30 days:\n"               \
	"warning), in-bailiwick (an NS inside D, recursively through delegations below it), dnssec (signed;\n"         \
	"the DNSKEY set validates from the KSK to pin: the parent's DS names it, that DS validated from\n"             \
	"the root's trust anchor down (--root-anchor FILE, default " HINTS_ROOT_ANCHOR "), or --trust KEYTAG),\n"      \
	"consistency (the parent's NS and DS against the zone's NS and DNSKEY; no delegation is a warning).\n"         \
	"--server ADDR asks the domain's own servers when its parent has no delegation for it.\n"

const struct cli_cmd cmd_hints[] = {
    {"hints", "check", "DOMAIN [--hints FILE] [--server ADDR[:PORT]]... [--trust KEYTAG]",
     "whether a domain can be pinned as in-tree hints: rules txt, in-bailiwick, dnssec, consistency",
     HINTS_HELP "Exit status: 0 every rule passes, 1 warnings, 2 failures (or a usage error).\n"
                "  tern hints check corp.example\n"
                "  tern hints check corp.lab --hints lab.hints --server 198.18.10.3 --trust 4711 --json\n",
     1, 1, hints_opts, hints_check_cmd},
    {"hints", "unbound", "DOMAIN --anchor-file PATH [--out FILE] [--force] [--trust KEYTAG] [--server ADDR]...",
     "Unbound configuration for in-tree hints: a stub-zone and an RFC 5011 auto-trust-anchor-file seed",
     HINTS_HELP "Writes the seed (the pinned KSK's DNSKEY, validated against the parent's DS, or --trust) to\n"
                "--anchor-file, and prints a server: clause naming it (auto-trust-anchor-file: never a static\n"
                "anchor) and a stub-zone with the in-bailiwick servers' addresses and stub-prime: yes.\n"
                "Refuses (exit 2, nothing written) when check fails, unless --force, which lists what fails.\n"
                "Exit status: 0 written, 2 refused or a usage error.\n"
                "  tern hints unbound corp.example --anchor-file /var/lib/unbound/corp.example.key\n",
     1, 1, hints_opts, hints_unbound_cmd},
    {"hints", "watch",
     "DOMAIN... [--mqtt HOST[:PORT]] [--conf FILE --anchor-file PATH [--apply]] [--state FILE] [--polls N]",
     "watch domains for the draft's inconsistencies, polling as their TTLs allow; signal each set and clear",
     "Polls the parent's NS and DS and the zone's NS and DNSKEY (and _in-tree TXT) of each DOMAIN again\n"
     "after the smallest of their TTLs (at most --max-interval). The first poll is the baseline (its\n"
     "pinned KSK, its in-bailiwick servers, asked when the delegation is gone). Conditions, each set\n"
     "and cleared: delegation-removed, ds-changed (the parent's DS set is not the baseline's),\n"
     "ns-changed (the zone's NS set is not; once the new set passes in-bailiwick and validates from\n"
     "the anchor, --conf is rewritten, --apply reloads Unbound, and the set becomes the baseline),\n"
     "in-tree-expiring (within 60 days of the _in-tree expiry), dnssec-failed (the DNSKEY set does not\n"
     "validate from the watch's anchor), anchor-changed (set for one poll: the anchor followed an RFC 5011\n"
     "roll: a new KSK published under the trusted one for --add-holddown is trusted, a revoked one\n"
     "dropped; --conf and the --anchor-file seed are rewritten; --state keeps it across runs).\n"
     "Each change is a line on standard\n"
     "output and, with --mqtt, a retained message on PREFIX/CONDITION/DOMAIN (JSON: condition, state,\n"
     "domain, time, detail).\n"
     "  tern hints watch corp.example --mqtt broker.example:1883\n",
     1, WATCH_MAXDOMAINS_CLI, watch_opts, hints_watch_cmd},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
