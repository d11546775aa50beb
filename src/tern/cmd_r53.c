/* tern r53-key ...: access keys of the Route 53-compatible API (ternd's /2013-04-01/, signed with
 * AWS Signature V4): create one for your tenant (the secret printed once, with the settings that
 * point Terraform's AWS provider at ternd), delete one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/output.h"

static int key_create(struct cli *cli, const struct cli_args *a)
{
	(void)a;
	struct client_response res;
	char *path = CLIENT_PATH("r53-keys");
	int rc = cli_call(cli, "POST", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		json_t *ans = cli_json(&res);
		const char *id = json_string_value(json_object_get(ans, "access_key_id")),
		           *secret = json_string_value(json_object_get(ans, "secret_access_key"));
		if (id && secret)
			printf("made Route 53 access key %s; its secret, shown this once:\n%s\n"
			       "for Terraform's AWS provider: access_key = \"%s\", secret_key = \"%s\",\n"
			       "endpoints { route53 = \"<the API's URL>\" }, skip_credentials_validation = true,\n"
			       "skip_requesting_account_id = true, skip_metadata_api_check = true\n",
			       id, secret, id, secret);
		rc = id && secret ? CLI_OK : CLI_EAPI;
		json_decref(ans);
	}
	client_response_clear(&res);
	return rc;
}

static int key_delete(struct cli *cli, const struct cli_args *a)
{
	char done[512];
	snprintf(done, sizeof(done), "deleted Route 53 access key %s: requests signed with it are refused from now on",
	         a->pos[0]);
	return cli_send(cli, "DELETE", CLIENT_PATH("r53-keys", a->pos[0]), NULL, done);
}

static const struct cli_opt no_opts[] = {{NULL, 0, NULL}};

const struct cli_cmd cmd_r53[] = {
    {"r53-key", "create", "", "make an access key for the Route 53-compatible API; prints its secret once",
     "Requests signed with it (AWS Signature V4, service route53, any region) act for your tenant:\n"
     "point Terraform's AWS provider (endpoints { route53 = ... }) or any Route 53 client at the API.\n",
     0, 0, no_opts, key_create},
    {"r53-key", "delete", "ACCESS-KEY-ID", "delete a Route 53 access key: requests signed with it are refused at once",
     NULL, 1, 1, no_opts, key_delete},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
