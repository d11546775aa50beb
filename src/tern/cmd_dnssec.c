/* tern dnssec ...: what an operator does for a signed zone: tells the server about the parent's DS
 * (ksk-submitted: a new KSK's DS is at the parent; ds-removed: the DS of a zone being unsigned is
 * gone), and backs up or restores its keys (sealed under a passphrase, api_backup.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"

/* POSTs body (may be NULL; wiped and freed by the caller) to the zone's dnssec/<action> and says
 * what happens next: done, a sentence with two %s for the zone's name. */
static int dnssec_post(struct cli *cli, const struct cli_args *a, const char *action, json_t *body, const char *done)
{
	char said[2 * 1024 + 256]; /* twice a name the API took (at most 1,004 characters) and the sentence */
	snprintf(said, sizeof(said), done, a->pos[0], a->pos[0]);
	return cli_send(cli, "POST", CLIENT_PATH("zones", a->pos[0], "dnssec", action), body, said);
}

static int dnssec_ksk_submitted(struct cli *cli, const struct cli_args *a)
{
	return dnssec_post(cli, a, "ksk-submitted", NULL,
	                   "zone %s: the DS of the KSK waiting for it is taken as at the parent; the rollover goes on "
	                   "(tern zone key-journal %s shows it)");
}

static int dnssec_ds_removed(struct cli *cli, const struct cli_args *a)
{
	return dnssec_post(cli, a, "ds-removed", NULL,
	                   "zone %s: the DS is taken as gone from the parent; the zone is served unsigned once it is "
	                   "out of caches (tern zone dnssec %s shows when)");
}

/* The passphrase: the first line of --passphrase-file (its newline dropped), as a JSON string. The
 * file's text is wiped once copied; NULL (usage error printed) when it cannot be read. */
static json_t *passphrase(struct cli *cli, const struct cli_args *a, int *rc)
{
	char **file = cli_opt_last(a, "passphrase-file");
	*rc = CLI_EUSAGE;
	if (!file) {
		cli_usage_error(cli, "--passphrase-file is required (the keys are sealed with its first line)");
		return NULL;
	}
	size_t len = 0;
	char *text = cli_read_file(file[0], &len);
	if (!text)
		return NULL;
	size_t n = strcspn(text, "\r\n");
	json_t *s = n ? json_stringn(text, n) : NULL;
	explicit_bzero(text, len);
	free(text);
	if (!s)
		cli_usage_error(cli, "%s: the first line must hold the passphrase (UTF-8)", file[0]);
	return s;
}

/* Wipes the passphrase in body before it is freed. */
static void body_free(json_t *body)
{
	json_t *p = json_object_get(body, "passphrase");
	if (json_is_string(p))
		explicit_bzero((char *)json_string_value(p), json_string_length(p));
	json_decref(body);
}

static int dnssec_backup(struct cli *cli, const struct cli_args *a)
{
	int rc;
	json_t *pass = passphrase(cli, a, &rc);
	if (!pass)
		return rc;
	json_t *body = json_pack("{s:o}", "passphrase", pass);
	struct client_response res;
	char *path = CLIENT_PATH("zones", a->pos[0], "dnssec", "backup");
	rc = cli_call(cli, "POST", path, body, NULL, 0, &res);
	free(path);
	body_free(body);
	if (rc != CLI_OK)
		return rc;
	/* the document as the server wrote it (the seal covers its content, not its layout) */
	json_t *doc = cli_json(&res);
	client_response_clear(&res);
	if (!doc)
		return CLI_EAPI;
	if (json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_ENSURE_ASCII) < 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0) {
		json_decref(doc);
		fprintf(stderr, "tern: the backup could not be written to standard output\n");
		return CLI_EUSAGE;
	}
	size_t n = json_array_size(json_object_get(doc, "keys"));
	json_decref(doc);
	fprintf(stderr, "zone %s: %zu DNSSEC key%s backed up, sealed with the passphrase\n", a->pos[0], n,
	        n == 1 ? "" : "s");
	return CLI_OK;
}

static int dnssec_restore(struct cli *cli, const struct cli_args *a)
{
	char **file = cli_opt_last(a, "file");
	size_t len = 0;
	int rc;
	json_t *pass = passphrase(cli, a, &rc);
	if (!pass)
		return rc;
	char *text = cli_read_file(file ? file[0] : "-", &len);
	if (!text) {
		json_decref(pass);
		return CLI_EUSAGE;
	}
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!doc) {
		json_decref(pass);
		fprintf(stderr, "tern: %s: not a backup (JSON: %s, line %d)\n", file ? file[0] : "standard input",
		        je.text, je.line);
		return CLI_EUSAGE;
	}
	json_t *body =
	    json_pack("{s:o,s:o,s:b}", "passphrase", pass, "backup", doc, "replace", cli_opt_count(a, "replace") > 0);
	rc = dnssec_post(cli, a, "restore", body,
	                 "zone %s: DNSSEC keys and policy restored; the zone is being signed with them "
	                 "(tern zone dnssec %s shows it)");
	body_free(body);
	return rc;
}

static const struct cli_opt no_opts[] = {{NULL, 0, NULL}};
static const struct cli_opt backup_opts[] = {
    {"passphrase-file", 1, "--passphrase-file F  the passphrase: F's first line (at least 12 characters)"},
    {NULL, 0, NULL},
};
static const struct cli_opt restore_opts[] = {
    {"passphrase-file", 1, "--passphrase-file F  the passphrase the backup was made with: F's first line"},
    {"file", 1, "--file BACKUP        the backup (default: standard input)"},
    {"replace", 0, "--replace            replace the keys the zone has (its DS must then be the backup's)"},
    {NULL, 0, NULL},
};

const struct cli_cmd cmd_dnssec[] = {
    {"dnssec", "ksk-submitted", "ZONE", "confirm that the DS of the zone's new KSK is at the parent",
     "For a KSK (CSK) that is ready and waits for its DS (its CDS is published): the operator put the\n"
     "DS into the parent zone. The old KSK is retired once this is said (or once the parents' DS is\n"
     "seen by the server's own check). Refused (409) when no KSK waits.\n",
     1, 1, no_opts, dnssec_ksk_submitted},
    {"dnssec", "ds-removed", "ZONE", "confirm that the DS of a zone being unsigned is gone from the parent",
     "For a zone whose signing is being turned off (tern zone unsign): the registrar removed the DS\n"
     "(after the delete CDS, or by hand). The zone is served unsigned after the DS TTL and propagation\n"
     "delay. Refused (409) when signing is not being turned off.\n",
     1, 1, no_opts, dnssec_ds_removed},
    {"dnssec", "backup", "ZONE --passphrase-file F", "print a backup of the zone's DNSSEC keys and policy",
     "The document (JSON, on standard output) holds the policy, every key's metadata and DNSKEY, and\n"
     "the private keys sealed with the passphrase (scrypt, AES-256-GCM). Keep the passphrase apart\n"
     "from the file. Needs a token that may write the whole zone.\n",
     1, 1, backup_opts, dnssec_backup},
    {"dnssec", "restore", "ZONE --passphrase-file F [--file BACKUP] [--replace]",
     "restore a zone's DNSSEC keys and policy from a backup",
     "The zone (made first, e.g. with tern zone import) is signed again with the backup's keys, so its\n"
     "DNSKEY RRset and the DS at the parent stay what they were. A wrong passphrase, a changed\n"
     "document or another zone's backup change nothing. A zone that has keys keeps them unless\n"
     "--replace is given.\n",
     1, 1, restore_opts, dnssec_restore},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
