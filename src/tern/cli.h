/* The tern command line: one invocation's settings, parsed arguments, the command table's entry
 * and the commands each cmd_*.c file provides. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "tern/client.h"

/* Exit codes: the contract scripts rely on. */
enum {
	CLI_OK = 0,
	CLI_EAPI = 1, /* the API answered with an error (4xx/5xx) or with something unreadable */
	CLI_EUSAGE = 2, /* bad command line, missing setting, unreadable local file */
	CLI_ECONNECT = 3, /* the API could not be reached (refused, timed out, name not found) */
};

/* An option a command accepts: --name followed by nargs values (0 for a flag). */
struct cli_opt {
	const char *name;
	int nargs;
	const char *help; /* "--set NAME TYPE TTL RDATA  one record to set" */
};

/* One occurrence of an option on the command line, in order. */
struct cli_occ {
	const struct cli_opt *opt;
	char **vals; /* opt->nargs values, pointing into argv */
};

struct cli_args {
	char **pos; /* positional arguments, in order */
	int npos;
	struct cli_occ *occ; /* options, in order */
	int nocc;
};

struct cli;
typedef int (*cli_run_fn)(struct cli *cli, const struct cli_args *a);

struct cli_cmd {
	const char *group; /* "zone", "record", "change" */
	const char *name; /* "create" */
	const char *args; /* "NAME [--ns NS]... [--file ZONEFILE]" */
	const char *summary;
	const char *help; /* longer text for `tern GROUP NAME --help`, may be NULL */
	int min_pos, max_pos; /* max_pos -1: any number */
	const struct cli_opt *opts; /* ends with {NULL} */
	cli_run_fn run;
};

/* One invocation: the settings and the open HTTP client. */
struct cli {
	const char *api, *token;
	bool json;
	long timeout_ms;
	const struct cli_cmd *cmd;
	struct client *http; /* opened on first use */
};

/* Options of a parsed command: the last values of NAME, or NULL; how many times it was given. */
char **cli_opt_last(const struct cli_args *a, const char *name);
int cli_opt_count(const struct cli_args *a, const char *name);
/* The last value of --opt as a whole number from lo to hi into *out (untouched when the option is
 * absent): 0, or CLI_EUSAGE with "--opt VALUE: expected a number from lo to hi". */
int cli_opt_number(const struct cli *cli, const struct cli_args *a, const char *opt, long lo, long hi, long *out);

/* Prints "tern: <message>" and the command's usage to stderr; returns CLI_EUSAGE. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A request to the API at path (made with client_path); body is sent as JSON when not NULL, raw
 * text when text is not NULL. On a 2xx answer returns CLI_OK and fills *res (the caller clears it);
 * otherwise prints the error as `tern: <message> (field <f>, HTTP <status>)` and returns
 * CLI_EAPI or CLI_ECONNECT. */
int cli_call(struct cli *cli, const char *method, const char *path, json_t *body, const char *text, size_t textlen,
             struct client_response *res);

/* The JSON of a 2xx answer; when it is not JSON prints so and returns NULL (exit CLI_EAPI). */
json_t *cli_json(const struct client_response *res);

/* Prints the API's JSON answer for --json and returns CLI_OK (CLI_EAPI if it is not JSON). */
int cli_print_json(const struct client_response *res);
/* A GET of path (taken: freed; NULL, out of memory: CLI_EAPI) for a listing command: with --json the answer printed as
 * it is and *doc NULL, else its JSON in *doc (NULL when it is not JSON: said). CLI_OK or the call's exit. */
int cli_get(struct cli *cli, char *path, json_t **doc);
/* method (DELETE, POST) on path (freed here) with body (NULL: none; the caller's); prints the
 * answer's JSON with --json, else done (a line). CLI_OK or the call's error. */
int cli_send(struct cli *cli, const char *method, char *path, json_t *body, const char *done);

/* Reads a whole file ("-" for standard input) into a NUL-terminated buffer; on failure prints
 * why and returns NULL. */
char *cli_read_file(const char *path, size_t *len);

/* The owner name as the API wants it: "@" stands for the zone. */
const char *cli_owner(const char *zone, const char *name);

/* Command tables of each group, ending with {NULL}. */
extern const struct cli_cmd cmd_zone[];
extern const struct cli_cmd cmd_record[];
extern const struct cli_cmd cmd_change[];
extern const struct cli_cmd cmd_dnssec[];
extern const struct cli_cmd cmd_geo[];
extern const struct cli_cmd cmd_service[];
extern const struct cli_cmd cmd_store[];
extern const struct cli_cmd cmd_ech[];
extern const struct cli_cmd cmd_check[];
extern const struct cli_cmd cmd_usage[];
extern const struct cli_cmd cmd_hints[];
extern const struct cli_cmd cmd_tsig[];
extern const struct cli_cmd cmd_ownership[];
/* tern zone bootstrap (cmd_ownership.c) */
int cli_zone_bootstrap(struct cli *cli, const struct cli_args *a);
extern const struct cli_cmd cmd_r53[];
extern const struct cli_cmd cmd_explain[]; /* one command, no subcommand word: its name is "" */
