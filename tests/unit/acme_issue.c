/* acme_issue: drives the ACME client (src/ternd/acme/acme_client.h) for tests/system/test_acme.py
 * until the service module does: one issuance, its result or its error printed on one line.
 *
 *   acme_issue --account-key FILE --thumbprint        (makes the key when FILE is missing)
 *   acme_issue --directory URL --ca FILE --account-key FILE --chain OUT --key OUT [--deadline S] NAME...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "ternd/acme/acme_client.h"
#include "ternd/acme/acme_key.h"

static EVP_PKEY *account_key(const char *path)
{
	char buf[16385], err[256];
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		EVP_PKEY *k = acme_key_from_pem(buf, n, err, sizeof(err));
		if (!k)
			fprintf(stderr, "acme_issue: %s: %s\n", path, err);
		return k;
	}
	EVP_PKEY *k = acme_key_new(err, sizeof(err));
	char *pem = k ? acme_key_pem(k, err, sizeof(err)) : NULL;
	int fd = pem ? open(path, O_WRONLY | O_CREAT | O_EXCL, 0600) : -1;
	if (fd < 0 || write(fd, pem, strlen(pem)) != (ssize_t)strlen(pem)) {
		fprintf(stderr, "acme_issue: %s: %s\n", path, pem ? strerror(errno) : err);
		EVP_PKEY_free(k);
		k = NULL;
	}
	if (fd >= 0)
		close(fd);
	free(pem);
	return k;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "acme_issue: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct acme_options o = {0};
	const char *key_path = NULL, *chain_path = NULL, *cert_key_path = NULL;
	bool thumb = false;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(a, "--thumbprint")) {
			thumb = true;
			continue;
		}
		i++;
		if (!strcmp(a, "--directory"))
			o.directory = v;
		else if (!strcmp(a, "--ca"))
			o.ca_file = v;
		else if (!strcmp(a, "--account-key"))
			key_path = v;
		else if (!strcmp(a, "--chain"))
			chain_path = v;
		else if (!strcmp(a, "--key"))
			cert_key_path = v;
		else if (!strcmp(a, "--deadline"))
			o.deadline_s = (unsigned)atoi(v);
		else {
			fprintf(stderr, "acme_issue: unknown option %s\n", a);
			return 2;
		}
	}
	if (!key_path || (!thumb && (!o.directory || !chain_path || !cert_key_path || i == argc))) {
		fprintf(stderr, "usage: see tests/unit/acme_issue.c\n");
		return 2;
	}
	if (acme_global_init() < 0)
		return 1;
	o.account_key = account_key(key_path);
	if (!o.account_key)
		return 1;
	int status = 1;
	if (thumb) {
		char t[ACME_THUMBPRINT_LEN + 1], err[256];
		if (acme_thumbprint(o.account_key, t, err, sizeof(err)) == 0) {
			printf("%s\n", t);
			status = 0;
		}
		EVP_PKEY_free(o.account_key);
		return status;
	}
	struct acme_result res;
	struct acme_error e;
	if (acme_issue(&o, (const char *const *)argv + i, (size_t)(argc - i), &res, &e) < 0) {
		printf("error step=%s code=%d http=%d problem=%d type=%s status=%d detail=%s message=%s\n",
		       acme_step_name(e.step), e.code, e.http_status, e.has_problem, e.problem.type, e.problem.status,
		       e.problem.detail, e.message);
	} else {
		if (write_file(chain_path, res.chain) == 0 && write_file(cert_key_path, res.key) == 0)
			status = 0;
		printf("ok account=%s order=%s bad_nonces=%u polls=%u not_before=%lld not_after=%lld\n",
		       res.account_url, res.order_url, res.bad_nonces, res.polls, (long long)res.not_before,
		       (long long)res.not_after);
		acme_result_free(&res);
	}
	EVP_PKEY_free(o.account_key);
	curl_global_cleanup();
	return status;
}
