/* tern dnssec ...: what an operator tells the server about the parent's DS (ksk-submitted: a new
 * KSK's DS is at the parent; ds-removed: the DS of a zone being unsigned is gone). */
#include <stdio.h>
#include <stdlib.h>

#include "tern/cli.h"

static int dnssec_ksk_submitted(struct cli *cli, const struct cli_args *a)
{
	struct client_response res;
	char *path = CLIENT_PATH("zones", a->pos[0], "dnssec", "ksk-submitted");
	int rc = cli_call(cli, "POST", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		printf("zone %s: the DS of the KSK waiting for it is taken as at the parent; the rollover goes on "
		       "(tern zone key-journal %s shows it)\n",
		       a->pos[0], a->pos[0]);
	}
	client_response_clear(&res);
	return rc;
}

static int dnssec_ds_removed(struct cli *cli, const struct cli_args *a)
{
	struct client_response res;
	char *path = CLIENT_PATH("zones", a->pos[0], "dnssec", "ds-removed");
	int rc = cli_call(cli, "POST", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		printf(
		    "zone %s: the DS is taken as gone from the parent; the zone is served unsigned once it is out of "
		    "caches (tern zone dnssec %s shows when)\n",
		    a->pos[0], a->pos[0]);
	}
	client_response_clear(&res);
	return rc;
}

static const struct cli_opt no_opts[] = {{NULL, 0, NULL}};

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
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
