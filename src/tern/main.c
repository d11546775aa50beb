/* tern: the command line for the Tern API. Settings, argument parsing against the command
 * tables of cmd_*.c, help, and the request helper every command goes through. */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tern/cli.h"
#include "tern/output.h"

#define DEFAULT_TIMEOUT_S 30

static const struct {
	const char *name;
	const struct cli_cmd *cmds;
	const char *summary;
} groups[] = {
    {"zone", cmd_zone, "zones: create, list, show, delete, export, import, lock, history"},
    {"record", cmd_record, "RRsets of a zone: list, get, set, delete"},
    {"change", cmd_change, "changes under review: propose, list, approve, reject"},
    {"dnssec", cmd_dnssec, "signed zones: ksk-submitted, ds-removed, backup, restore"},
    {"geo", cmd_geo, "dynamic answers for other servers: render-knot"},
    {"service", cmd_service,
     "services (canonical names answered by deployment): create, list, show, deploy, delete, add-domain, "
     "remove-domain"},
    {"explain", cmd_explain, "why a client gets the answer it gets"},
    {"store", cmd_store, "the store on this machine: backup, copy"},
    {"ech", cmd_ech, "Encrypted ClientHello keys and configurations, on this machine: generate, show"},
    {"check", cmd_check, "diagnostics from a walk that uses no cache: domain, fqdn, cache, service"},
    {"usage", cmd_usage, "queries and zone-days per zone, for billing: report"},
    {"tsig-key", cmd_tsig, "TSIG keys for dynamic updates (RFC 2136) of your zones: create, list, delete"},
    {"ownership", cmd_ownership, "proof that a domain name is yours (TXT token or delegation): claim, verify, show"},
    {"r53-key", cmd_r53, "access keys of the Route 53-compatible API (Terraform's AWS provider): create, delete"},
    {"hints", cmd_hints, "in-tree hints (draft-kolkman-dns-in-tree-hints) for a domain: check, unbound"},
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

/* A group of one command without a subcommand word (`tern explain ...`): its name is "". */
static bool single(const struct cli_cmd *cmds)
{
	return cmds[0].name && !cmds[0].name[0];
}

/* "zone create", or "explain" for a command without a subcommand word. */
static const char *cmd_words(const struct cli_cmd *c, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s", c->group, c->name[0] ? " " : "", c->name);
	return buf;
}

static const char settings_help[] =
    "Settings (before or after the command):\n"
    "  --api URL          the API's address, e.g. http://127.0.0.1:8053 (default: $TERN_API)\n"
    "  --token TOKEN      the bearer token (JWT) to send (default: $TERN_TOKEN)\n"
    "  --json             print the API's JSON instead of tables, for scripts\n"
    "  --timeout SECONDS  give up on a request after this long (default: $TERN_TIMEOUT or 30)\n"
    "  -h, --help         help; `tern COMMAND SUBCOMMAND --help` for one command\n"
    "  --                 what follows is not an option (RDATA starting with '-')\n";

static const char exit_help[] = "Exit status: 0 done, 1 the API refused or failed (4xx/5xx), 2 usage error,\n"
                                "3 the API cannot be reached.\n";

/* ---- help ---- */

static void help_all(FILE *f)
{
	fprintf(f, "usage: tern [--api URL] [--token TOKEN] [--json] COMMAND SUBCOMMAND [ARGS]\n\n"
	           "Manages zones and records of a Tern server through its HTTP API.\n\nCommands:\n");
	size_t w = 0;
	for (size_t g = 0; g < NGROUPS; g++)
		for (const struct cli_cmd *c = groups[g].cmds; c->name; c++) {
			size_t n = strlen(c->group) + strlen(c->name) + strlen(c->args) + 1 + (c->name[0] != 0);
			w = n > w ? n : w;
		}
	for (size_t g = 0; g < NGROUPS; g++)
		for (const struct cli_cmd *c = groups[g].cmds; c->name; c++) {
			char line[256], words[64];
			snprintf(line, sizeof(line), "%s %s", cmd_words(c, words, sizeof(words)), c->args);
			if (w > 46)
				fprintf(f, "  %s\n      %s\n", line, c->summary);
			else
				fprintf(f, "  %-*s  %s\n", (int)w, line, c->summary);
		}
	fprintf(f, "\n%s\n%s", settings_help, exit_help);
}

static void help_group(FILE *f, size_t g)
{
	fprintf(f, "usage: tern %s SUBCOMMAND [ARGS]\n\n%s\n\n", groups[g].name, groups[g].summary);
	for (const struct cli_cmd *c = groups[g].cmds; c->name; c++)
		fprintf(f, "  tern %s %s %s\n      %s\n", c->group, c->name, c->args, c->summary);
	fprintf(f, "\n`tern %s SUBCOMMAND --help` tells more.\n", groups[g].name);
}

static void help_cmd(FILE *f, const struct cli_cmd *c)
{
	char words[64];
	fprintf(f, "usage: tern %s %s\n\n%s\n", cmd_words(c, words, sizeof(words)), c->args, c->summary);
	if (c->help)
		fprintf(f, "\n%s", c->help);
	if (c->opts[0].name) {
		fprintf(f, "\nOptions:\n");
		for (const struct cli_opt *o = c->opts; o->name; o++)
			fprintf(f, "  %s\n", o->help);
	}
	fprintf(f, "\n%s\n%s", settings_help, exit_help);
}

/* ---- helpers for the commands ---- */

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	fputs("tern: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	char words[64];
	if (cli && cli->cmd)
		fprintf(stderr, "usage: tern %s %s\n(`tern %s --help` for more)\n",
		        cmd_words(cli->cmd, words, sizeof(words)), cli->cmd->args, words);
	else
		fprintf(stderr, "(`tern --help` lists the commands)\n");
	return CLI_EUSAGE;
}

char **cli_opt_last(const struct cli_args *a, const char *name)
{
	char **v = NULL;
	for (int i = 0; i < a->nocc; i++)
		if (strcmp(a->occ[i].opt->name, name) == 0)
			v = a->occ[i].vals;
	return v;
}

int cli_opt_number(const struct cli *cli, const struct cli_args *a, const char *opt, long lo, long hi, long *out)
{
	char **v = cli_opt_last(a, opt);
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(v[0], &end, 10);
	if (!*v[0] || *end || errno || n < lo || n > hi)
		return cli_usage_error(cli, "--%s %s: expected a number from %ld to %ld", opt, v[0], lo, hi);
	*out = n;
	return 0;
}

/* method on path (taken: freed; NULL, out of memory: CLI_EAPI) with body; with --json the answer
 * is printed here and cleared. CLI_OK with res to read (the caller clears it) unless cli->json, else
 * the exit code. The common part of cli_send and cli_get. */
static int call_answered(struct cli *cli, const char *method, char *path, json_t *body, struct client_response *res)
{
	if (!path)
		return CLI_EAPI;
	int rc = cli_call(cli, method, path, body, NULL, 0, res);
	free(path);
	if (rc != CLI_OK || !cli->json)
		return rc;
	rc = cli_print_json(res);
	client_response_clear(res);
	return rc;
}

int cli_send(struct cli *cli, const char *method, char *path, json_t *body, const char *done)
{
	struct client_response res;
	int rc = call_answered(cli, method, path, body, &res);
	if (rc != CLI_OK || cli->json)
		return rc;
	printf("%s\n", done);
	client_response_clear(&res);
	return CLI_OK;
}

int cli_opt_count(const struct cli_args *a, const char *name)
{
	int n = 0;
	for (int i = 0; i < a->nocc; i++)
		n += strcmp(a->occ[i].opt->name, name) == 0;
	return n;
}

const char *cli_owner(const char *zone, const char *name)
{
	return strcmp(name, "@") == 0 ? zone : name;
}

char *cli_read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	if (!f) {
		fprintf(stderr, "tern: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n + 65536 + 1 > cap) {
			cap = (n + 65536 + 1) * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				fprintf(stderr, "tern: %s: out of memory\n", path);
				goto fail;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "tern: cannot read %s: %s\n", path, strerror(errno));
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

json_t *cli_json(const struct client_response *res)
{
	json_error_t je;
	json_t *v = json_loadb(res->body, res->len, 0, &je);
	if (!v)
		fprintf(stderr, "tern: the API's answer is not JSON: %s (HTTP %ld)\n", je.text, res->status);
	return v;
}

int cli_print_json(const struct client_response *res)
{
	if (res->len == 0)
		return CLI_OK; /* 204: nothing to print */
	json_t *v = cli_json(res);
	if (!v)
		return CLI_EAPI;
	output_json(v);
	json_decref(v);
	return CLI_OK;
}

int cli_call(struct cli *cli, const char *method, const char *path, json_t *body, const char *text, size_t textlen,
             struct client_response *res)
{
	char err[CURL_ERROR_SIZE + 64];
	if (!path) {
		fprintf(stderr, "tern: out of memory\n");
		return CLI_EAPI;
	}
	if (!cli->http && client_open(cli->api, cli->token, cli->timeout_ms, &cli->http) < 0) {
		fprintf(stderr, "tern: cannot start the HTTP client (out of memory)\n");
		return CLI_EAPI;
	}
	char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (body && !json) {
		fprintf(stderr, "tern: out of memory\n");
		return CLI_EAPI;
	}
	const char *data = json ? json : text;
	size_t len = json ? strlen(json) : textlen;
	int rc = client_request(cli->http, method, path, json || !text ? "application/json" : "text/dns", data, len,
	                        res, err, sizeof(err));
	free(json);
	switch (rc) {
	case CLIENT_OK: break;
	case CLIENT_ECONNECT:
		fprintf(stderr, "tern: cannot connect to the API at %s: %s\n", client_base(cli->http), err);
		return CLI_ECONNECT;
	case CLIENT_ETIMEOUT:
		fprintf(stderr, "tern: no answer from the API at %s: %s\n", client_base(cli->http), err);
		return CLI_ECONNECT;
	case CLIENT_EURL:
		fprintf(stderr, "tern: %s is not a usable API address: %s\n", cli->api, err);
		return CLI_EUSAGE;
	default: fprintf(stderr, "tern: %s\n", err); return CLI_EAPI;
	}
	if (res->status >= 200 && res->status < 300)
		return CLI_OK;
	output_api_error(res, body);
	client_response_clear(res);
	return CLI_EAPI;
}

int cli_get(struct cli *cli, char *path, json_t **doc)
{
	struct client_response res;
	*doc = NULL;
	int rc = call_answered(cli, "GET", path, NULL, &res);
	if (rc != CLI_OK || cli->json)
		return rc;
	*doc = cli_json(&res);
	client_response_clear(&res);
	return CLI_OK;
}

/* ---- parsing ---- */

static const struct cli_cmd *find_cmd(const struct cli_cmd *cmds, const char *name)
{
	for (const struct cli_cmd *c = cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static long find_group(const char *name)
{
	for (size_t g = 0; g < NGROUPS; g++)
		if (strcmp(groups[g].name, name) == 0)
			return (long)g;
	return -1;
}

/* Splits "--name=value" into the option's name (into buf) and its value. */
static const char *opt_split(const char *arg, char *buf, size_t cap, const char **value)
{
	const char *eq = strchr(arg, '=');
	*value = NULL;
	if (!eq)
		return arg + 2;
	snprintf(buf, cap, "%.*s", (int)(eq - arg - 2), arg + 2);
	*value = eq + 1;
	return buf;
}

/* Parses a command's arguments (after its two words) into a. */
static int parse_cmd_args(struct cli *cli, int argc, char **argv, struct cli_args *a, bool *help)
{
	bool dashdash = false;
	a->pos = calloc((size_t)argc + 1, sizeof(*a->pos));
	a->occ = calloc((size_t)argc + 1, sizeof(*a->occ));
	if (!a->pos || !a->occ) {
		fprintf(stderr, "tern: out of memory\n");
		return CLI_EAPI;
	}
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (dashdash || arg[0] != '-' || strcmp(arg, "-") == 0) {
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			*help = true;
			continue;
		}
		char buf[64];
		const char *value, *name = arg[1] == '-' ? opt_split(arg, buf, sizeof(buf), &value) : NULL;
		const struct cli_opt *o = NULL;
		for (const struct cli_opt *p = cli->cmd->opts; name && p->name; p++)
			if (strcmp(p->name, name) == 0)
				o = p;
		if (!o)
			return cli_usage_error(cli, "unknown option %s", arg);
		struct cli_occ *occ = &a->occ[a->nocc++];
		occ->opt = o;
		if (value) {
			if (o->nargs != 1)
				return cli_usage_error(cli, "--%s does not take \"=value\"", o->name);
			argv[i] = (char *)value;
			occ->vals = &argv[i];
			continue;
		}
		if (i + o->nargs >= argc)
			return cli_usage_error(cli, "--%s needs %d value%s", o->name, o->nargs,
			                       o->nargs == 1 ? "" : "s");
		occ->vals = &argv[i + 1];
		i += o->nargs;
	}
	return CLI_OK;
}

/* Takes the settings out of argv wherever they are (up to "--"); the rest stays in order. */
static int parse_settings(struct cli *cli, int *argc, char **argv, bool *help)
{
	int out = 0;
	bool dashdash = false;
	const char *timeout = getenv("TERN_TIMEOUT");
	for (int i = 0; i < *argc; i++) {
		char buf[64];
		const char *value = NULL, *name;
		if (dashdash || strncmp(argv[i], "--", 2) != 0 || argv[i][2] == 0) {
			dashdash = dashdash || strcmp(argv[i], "--") == 0;
			argv[out++] = argv[i];
			continue;
		}
		name = opt_split(argv[i], buf, sizeof(buf), &value);
		const char **slot = strcmp(name, "api") == 0       ? &cli->api
		                    : strcmp(name, "token") == 0   ? &cli->token
		                    : strcmp(name, "timeout") == 0 ? &timeout
		                                                   : NULL;
		if (strcmp(name, "json") == 0 && !value) {
			cli->json = true;
		} else if (strcmp(name, "help") == 0 && !value && out == 0) {
			*help = true; /* `tern --help`; after a command word the command's parser sees it */
		} else if (slot) {
			if (!value && i + 1 >= *argc)
				return cli_usage_error(NULL, "--%s needs a value", name);
			*slot = value ? value : argv[++i];
		} else {
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	if (timeout) {
		char *end;
		double s = strtod(timeout, &end);
		if (*end || end == timeout || !(s > 0 && s <= 86400))
			return cli_usage_error(NULL, "timeout \"%s\" is not a number of seconds from 0 to 86400",
			                       timeout);
		cli->timeout_ms = (long)(s * 1000) > 0 ? (long)(s * 1000) : 1;
	}
	return CLI_OK;
}

static int run(int argc, char **argv)
{
	struct cli cli = {.timeout_ms = DEFAULT_TIMEOUT_S * 1000};
	struct cli_args a = {0};
	bool help = false;
	int rc = parse_settings(&cli, &argc, argv, &help);
	if (rc != CLI_OK)
		return rc;
	/* `tern help [GROUP [SUBCOMMAND]]` is `tern [GROUP [SUBCOMMAND]] --help` */
	if (argc > 0 && strcmp(argv[0], "help") == 0) {
		help = true;
		argv++;
		argc--;
	}
	if (argc == 0 || (argv[0][0] == '-' && strcmp(argv[0], "-h") == 0)) {
		if (help || argc > 0) {
			help_all(stdout);
			return CLI_OK;
		}
		help_all(stderr);
		return CLI_EUSAGE;
	}
	long g = find_group(argv[0]);
	if (g < 0)
		return cli_usage_error(NULL, "unknown command \"%s\"", argv[0]);
	int skip = 2; /* the words naming the command */
	if (single(groups[g].cmds)) {
		cli.cmd = &groups[g].cmds[0];
		skip = 1;
	} else {
		bool group_help =
		    (argc == 1 && help) || (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0));
		if (argc == 1 || group_help) {
			help_group(group_help ? stdout : stderr, (size_t)g);
			if (group_help)
				return CLI_OK;
			fprintf(stderr, "\ntern: %s needs a subcommand\n", argv[0]);
			return CLI_EUSAGE;
		}
		cli.cmd = find_cmd(groups[g].cmds, argv[1]);
		if (!cli.cmd) {
			fprintf(stderr, "tern: unknown command \"%s %s\"\n(`tern %s --help` lists its subcommands)\n",
			        argv[0], argv[1], argv[0]);
			return CLI_EUSAGE;
		}
	}
	rc = parse_cmd_args(&cli, argc - skip, argv + skip, &a, &help);
	if (rc != CLI_OK)
		goto out;
	if (help) {
		help_cmd(stdout, cli.cmd);
		goto out;
	}
	if (a.npos < cli.cmd->min_pos) {
		rc = cli_usage_error(&cli, "missing argument%s", cli.cmd->min_pos - a.npos > 1 ? "s" : "");
		goto out;
	}
	for (int i = 0; i < a.npos; i++)
		if (!a.pos[i][0]) {
			rc = cli_usage_error(&cli, "argument %d is empty", i + 1);
			goto out;
		}
	if (cli.cmd->max_pos >= 0 && a.npos > cli.cmd->max_pos) {
		rc = cli_usage_error(&cli, "unexpected argument \"%s\"", a.pos[cli.cmd->max_pos]);
		goto out;
	}
	if (!cli.api)
		cli.api = getenv("TERN_API");
	if (!cli.token)
		cli.token = getenv("TERN_TOKEN");
	/* the store commands read the store on this machine, the ech ones make and read ECH
	 * configurations here, the check ones ask DNS servers from here: no API to reach */
	bool local = strcmp(cli.cmd->group, "store") == 0 || strcmp(cli.cmd->group, "ech") == 0 ||
	             (strcmp(cli.cmd->group, "check") == 0 && strcmp(cli.cmd->name, "service") != 0) ||
	             strcmp(cli.cmd->group, "hints") == 0;
	if (!local && (!cli.api || !*cli.api)) {
		rc = cli_usage_error(NULL,
		                     "no API address: set TERN_API or pass --api URL (e.g. http://127.0.0.1:8053)");
		goto out;
	}
	if (!local && (!cli.token || !*cli.token)) {
		rc = cli_usage_error(NULL, "no token: set TERN_TOKEN or pass --token TOKEN");
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "tern: cannot initialise libcurl\n");
		rc = CLI_EAPI;
		goto out;
	}
	rc = cli.cmd->run(&cli, &a);
	client_close(cli.http);
	curl_global_cleanup();
out:
	free(a.pos);
	free(a.occ);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = run(argc - 1, argv + 1);
	if (fflush(stdout) != 0 && rc == CLI_OK) {
		fprintf(stderr, "tern: cannot write the output: %s\n", strerror(errno));
		rc = CLI_EAPI;
	}
	return rc;
}
