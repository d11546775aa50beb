/* tern service ...: create, list, show, deploy, delete (services: canonical names whose A and AAAA
 * answers a deployment makes); add-domain, remove-domain (a service's aliases). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tern/cli.h"
#include "tern/output.h"

/* {"deployment": <the file's JSON>}; NULL after a message (exit CLI_EUSAGE). */
static json_t *deployment_body(const char *file)
{
	size_t len;
	char *text = cli_read_file(file, &len);
	if (!text)
		return NULL;
	json_error_t je;
	json_t *d = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!d) {
		fprintf(stderr, "tern: %s is not JSON: %s (line %d)\n", strcmp(file, "-") ? file : "standard input",
		        je.text, je.line);
		return NULL;
	}
	return json_pack("{s:o}", "deployment", d);
}

/* One region's addresses as "eu: 192.0.2.1 192.0.2.2*3" (weights after '*'). */
static void print_deployment(json_t *d)
{
	const char *region;
	json_t *r;
	json_object_foreach(json_object_get(d, "regions"), region, r)
	{
		printf("  %s:", region);
		const char *fam[] = {"ipv4", "ipv6"};
		for (int f = 0; f < 2; f++) {
			size_t i;
			json_t *m;
			json_array_foreach(json_object_get(r, fam[f]), i, m)
			{
				if (json_is_string(m))
					printf(" %s", json_string_value(m));
				else
					printf(" %s*%" JSON_INTEGER_FORMAT,
					       json_string_value(json_object_get(m, "address")),
					       json_integer_value(json_object_get(m, "weight")));
			}
		}
		printf("\n");
	}
	if (json_object_get(d, "ttl"))
		printf("  ttl: %" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(d, "ttl")));
}

static int show_answer(struct cli *cli, struct client_response *res, const char *verb)
{
	if (cli->json)
		return cli_print_json(res);
	json_t *s = cli_json(res);
	if (!s)
		return CLI_EAPI;
	if (verb)
		printf("%s service %s\n", verb, json_string_value(json_object_get(s, "id")));
	else
		printf("service %s\n", json_string_value(json_object_get(s, "id")));
	printf("canonical %s\n", json_string_value(json_object_get(s, "canonical")));
	if (json_object_get(s, "serial"))
		printf("serial %" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(s, "serial")));
	printf("deployment:\n");
	print_deployment(json_object_get(s, "deployment"));
	json_decref(s);
	return CLI_OK;
}

/* A request with the body of --deployment FILE (or none), its answer shown. */
static int send(struct cli *cli, const char *method, const char *path, const char *file, const char *verb)
{
	json_t *body = NULL;
	if (file && !(body = deployment_body(file)))
		return CLI_EUSAGE;
	struct client_response res;
	int rc = cli_call(cli, method, path, body, NULL, 0, &res);
	if (rc == CLI_OK) {
		rc = show_answer(cli, &res, verb);
		client_response_clear(&res);
	}
	json_decref(body);
	return rc;
}

static int service_create(struct cli *cli, const struct cli_args *a)
{
	char **file = cli_opt_last(a, "deployment");
	if (!file)
		return cli_usage_error(cli, "--deployment FILE is required (\"-\" reads standard input)");
	char *path = CLIENT_PATH("services");
	int rc = send(cli, "POST", path, file[0], "created");
	free(path);
	return rc;
}

static int service_deploy(struct cli *cli, const struct cli_args *a)
{
	char **file = cli_opt_last(a, "deployment");
	if (!file)
		return cli_usage_error(cli, "--deployment FILE is required (\"-\" reads standard input)");
	char *path = CLIENT_PATH("services", a->pos[0], "deployment");
	int rc = send(cli, "PUT", path, file[0], "deployed");
	free(path);
	return rc;
}

/* Seconds since the epoch as UTC text. */
static const char *utc(json_t *v, char *buf, size_t cap)
{
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;
	if (!json_is_integer(v) || !gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "?");
	return buf;
}

/* The certificate's state (GET .../certificate) under the service, or why there is none. */
static void print_certificate(struct cli *cli, const char *id)
{
	char *path = CLIENT_PATH("services", id, "certificate"), err[256] = "", t1[32], t2[32];
	struct client_response res = {0};
	int rc = path ? client_request(cli->http, "GET", path, NULL, NULL, 0, &res, err, sizeof(err)) : -1;
	free(path);
	json_t *c = rc == 0 ? json_loadb(res.body ? res.body : "", res.len, 0, NULL) : NULL;
	if (rc == 0 && res.status != 200) {
		json_t *e = json_object_get(c, "error");
		printf("certificate: none (%s)\n", json_string_value(json_object_get(e, "message"))
		                                       ? json_string_value(json_object_get(e, "message"))
		                                       : "no answer");
	} else if (c && json_is_string(json_object_get(c, "state")) &&
	           strcmp(json_string_value(json_object_get(c, "state")), "off") == 0) {
		printf("certificate: off (services.acme.directory is not configured)\n");
	} else if (c) {
		printf("certificate: %s", json_string_value(json_object_get(c, "state")));
		if (json_object_get(c, "not_after"))
			printf(", valid %s to %s", utc(json_object_get(c, "not_before"), t1, sizeof(t1)),
			       utc(json_object_get(c, "not_after"), t2, sizeof(t2)));
		printf(", next attempt %s\n", utc(json_object_get(c, "next_attempt"), t1, sizeof(t1)));
		json_t *f = json_object_get(c, "last_failure");
		if (json_is_object(f))
			printf("  last failure %s at step %s: %s\n", utc(json_object_get(f, "at"), t1, sizeof(t1)),
			       json_string_value(json_object_get(f, "step")),
			       json_string_value(json_object_get(f, "message")));
		json_t *ech = json_object_get(json_object_get(c, "ech"), "configs");
		if (json_integer_value(ech))
			printf("  ECH configs published: %" JSON_INTEGER_FORMAT "\n", json_integer_value(ech));
	} else {
		printf("certificate: unknown (%s)\n", err[0] ? err : "the answer is not JSON");
	}
	json_decref(c);
	client_response_clear(&res);
}

/* The service's aliases (GET .../domains): the array, or NULL after a message. */
static json_t *aliases_get(struct cli *cli, const char *id, bool quiet)
{
	char *path = CLIENT_PATH("services", id, "domains"), err[256] = "";
	struct client_response res = {0};
	int rc = path ? client_request(cli->http, "GET", path, NULL, NULL, 0, &res, err, sizeof(err)) : -1;
	free(path);
	json_t *doc = rc == 0 && res.status == 200 ? json_loadb(res.body ? res.body : "", res.len, 0, NULL) : NULL;
	json_t *list = json_incref(json_object_get(doc, "domains"));
	if (!json_is_array(list) && !quiet)
		fprintf(stderr, "tern: the service's domains: %s\n", err[0] ? err : "no readable answer");
	json_decref(doc);
	client_response_clear(&res);
	return list;
}

/* One alias as "name  state  (reason)". */
static void print_alias(json_t *al)
{
	const char *reason = json_string_value(json_object_get(al, "reason"));
	printf("  %s  %s%s%s%s\n", json_string_value(json_object_get(al, "name")),
	       json_string_value(json_object_get(al, "state")), reason ? " (" : "", reason ? reason : "",
	       reason ? ")" : "");
}

static int service_show(struct cli *cli, const struct cli_args *a)
{
	char *path = CLIENT_PATH("services", a->pos[0]);
	int rc = send(cli, "GET", path, NULL, NULL);
	free(path);
	if (rc == CLI_OK && !cli->json) {
		print_certificate(cli, a->pos[0]);
		json_t *list = aliases_get(cli, a->pos[0], true), *al;
		size_t i;
		printf("domains: %zu\n", json_array_size(list));
		json_array_foreach(list, i, al)
		{
			print_alias(al);
		}
		json_decref(list);
	}
	return rc;
}

/* The alias named in list, or NULL. */
static json_t *alias_find(json_t *list, const char *name)
{
	size_t i, n = strlen(name);
	json_t *al;
	if (n && name[n - 1] == '.')
		n--;
	json_array_foreach(list, i, al)
	{
		const char *have = json_string_value(json_object_get(al, "name"));
		if (have && strlen(have) == n && strncasecmp(have, name, n) == 0)
			return al;
	}
	return NULL;
}

static int service_add_domain(struct cli *cli, const struct cli_args *a)
{
	char **wait = cli_opt_last(a, "wait");
	long seconds = wait ? strtol(wait[0], NULL, 10) : 120;
	if (seconds < 0 || seconds > 3600)
		return cli_usage_error(cli, "--wait SECONDS: 0 to 3600");
	char *path = CLIENT_PATH("services", a->pos[0], "domains");
	json_t *body = json_pack("{s:s}", "name", a->pos[1]);
	struct client_response res;
	int rc = cli_call(cli, "POST", path, body, NULL, 0, &res);
	free(path);
	json_decref(body);
	if (rc != CLI_OK)
		return rc;
	client_response_clear(&res);
	/* the verdict: the svc thread looks the name up and writes its state */
	struct timespec start, now, tick = {0, 200 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &start);
	const char *state = "pending";
	json_t *list = NULL, *al = NULL;
	for (;;) {
		json_decref(list);
		list = aliases_get(cli, a->pos[0], false);
		al = alias_find(list, a->pos[1]);
		state = al ? json_string_value(json_object_get(al, "state")) : NULL;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!state || strcmp(state, "pending") != 0 || now.tv_sec - start.tv_sec >= seconds)
			break;
		nanosleep(&tick, NULL);
	}
	if (cli->json && al) {
		char *text = json_dumps(al, JSON_COMPACT);
		printf("%s\n", text ? text : "{}");
		free(text);
	}
	const char *reason = json_string_value(json_object_get(al, "reason"));
	if (!state) {
		fprintf(stderr, "tern: %s is no longer an alias of service %s\n", a->pos[1], a->pos[0]);
		rc = CLI_EAPI;
	} else if (strcmp(state, "verified") == 0) {
		if (!cli->json)
			printf("verified %s: %s\n", a->pos[1], reason ? reason : "points at the service");
	} else if (strcmp(state, "pending") == 0) {
		fprintf(stderr, "tern: %s is still pending after %ld s (is services.resolver set?)\n", a->pos[1],
		        seconds);
		rc = CLI_EAPI;
	} else {
		fprintf(stderr, "tern: %s %s: %s\n", a->pos[1], state, reason ? reason : "no reason given");
		rc = CLI_EAPI;
	}
	json_decref(list);
	return rc;
}

static int service_remove_domain(struct cli *cli, const struct cli_args *a)
{
	char done[512];
	snprintf(done, sizeof(done), "removed %s from service %s", a->pos[1], a->pos[0]);
	return cli_send(cli, "DELETE", CLIENT_PATH("services", a->pos[0], "domains", a->pos[1]), NULL, done);
}

static int service_delete(struct cli *cli, const struct cli_args *a)
{
	char *path = CLIENT_PATH("services", a->pos[0]);
	struct client_response res;
	int rc = cli_call(cli, "DELETE", path, NULL, NULL, 0, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&res);
	} else {
		json_t *o = cli_json(&res);
		if (o)
			printf("deleted service %s (serial %" JSON_INTEGER_FORMAT ")\n", a->pos[0],
			       json_integer_value(json_object_get(o, "serial")));
		rc = o ? CLI_OK : CLI_EAPI;
		json_decref(o);
	}
	client_response_clear(&res);
	return rc;
}

static int service_list(struct cli *cli, const struct cli_args *a)
{
	(void)a;
	json_t *doc;
	int rc = cli_get(cli, CLIENT_PATH("services"), &doc);
	if (rc != CLI_OK || cli->json)
		return rc;
	json_t *list = json_object_get(doc, "services");
	if (!json_is_array(list)) {
		if (doc)
			fprintf(stderr, "tern: the API's service list has no \"services\" array\n");
		json_decref(doc);
		return CLI_EAPI;
	}
	static const char *const head[] = {"ID", "CANONICAL", "REGIONS", "UPDATED"};
	struct table *t = table_new(4, head, 0);
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s)
	{
		char regions[512] = "", when[32];
		const char *name;
		json_t *r;
		json_object_foreach(json_object_get(json_object_get(s, "deployment"), "regions"), name, r)
		{
			(void)r;
			if (strlen(regions) + strlen(name) + 2 < sizeof(regions))
				snprintf(regions + strlen(regions), sizeof(regions) - strlen(regions), "%s%s",
				         regions[0] ? "," : "", name);
		}
		const char *cells[] = {json_string_value(json_object_get(s, "id")),
		                       json_string_value(json_object_get(s, "canonical")), regions,
		                       output_time(json_object_get(s, "updated"), when, sizeof(when))};
		if (t)
			table_add(t, cells);
	}
	if (t)
		table_print(t, stdout);
	table_free(t);
	json_decref(doc);
	return t ? CLI_OK : CLI_EAPI;
}

static const struct cli_opt deploy_opts[] = {
    {"deployment", 1, "--deployment FILE   the deployment, JSON ({\"regions\": {...}, \"ttl\": N}); \"-\" reads stdin"},
    {NULL, 0, NULL},
};
static const struct cli_opt no_opts[] = {{NULL, 0, NULL}};
static const struct cli_opt wait_opts[] = {
    {"wait", 1, "--wait SECONDS      how long to wait for the verdict (default 120)"},
    {NULL, 0, NULL},
};

const struct cli_cmd cmd_service[] = {
    {"service", "create", "--deployment FILE", "create a service: a random UUID and its canonical name",
     "The deployment: {\"regions\": {\"eu\": {\"ipv4\": [\"192.0.2.1\", {\"address\": \"192.0.2.2\", \"weight\": 3}],\n"
     "\"ipv6\": [...]}}, \"ttl\": 300}; each region one of the server's services.regions.\n",
     0, 0, deploy_opts, service_create},
    {"service", "list", "", "list your services: ID CANONICAL REGIONS UPDATED", NULL, 0, 0, no_opts, service_list},
    {"service", "show", "ID", "show a service, its deployment and its certificate's state", NULL, 1, 1, no_opts,
     service_show},
    {"service", "deploy", "ID --deployment FILE", "replace a service's deployment (served when this returns)", NULL, 1,
     1, deploy_opts, service_deploy},
    {"service", "delete", "ID", "delete a service (its names stop being served)", NULL, 1, 1, no_opts, service_delete},
    {"service", "add-domain", "ID NAME [--wait SECONDS]",
     "add an alias: NAME must point at the canonical domain (CNAME, or HTTPS/SVCB AliasMode)",
     "ternd looks NAME up through its resolver; verified, the certificate is issued again with NAME.\n"
     "Waits for the verdict: exits 1 with the reason when NAME is refused.\n",
     2, 2, wait_opts, service_add_domain},
    {"service", "remove-domain", "ID NAME", "remove an alias of a service", NULL, 2, 2, no_opts, service_remove_domain},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
