/* tern ech generate, tern ech show: Encrypted ClientHello configurations made and read on this
 * machine (lib/ech.h), no API involved. generate writes what an ingress needs (the raw X25519
 * private key, the ECHConfig) and what DNS publishes (the ECHConfigList and its HTTPS record). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base64.h"
#include "lib/ech.h"
#include "lib/error.h"
#include "tern/cli.h"

#define LIST_B64_MAX (4 * ((ECH_LIST_MAX + 2) / 3) + 1)

/* Writes len octets to DIR/name (mode), whole: a temporary file renamed over it. */
static int write_file(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		fprintf(stderr, "tern: %s/%s: the path is too long\n", dir, name);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		fprintf(stderr, "tern: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	int rc = left == 0 && fchmod(fd, mode) == 0 && fsync(fd) == 0 ? 0 : -1;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0) {
		fprintf(stderr, "tern: %s: %s\n", path, strerror(errno ? errno : EIO));
		unlink(tmp);
	}
	return rc;
}

/* mkdir -p: dir and the directories above it that are missing (mode 0755). */
static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = path + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -1;
		if (!c)
			return 0;
		*p = c;
	}
}

/* A number 0..255 from an option's text; -1 when it is not one. */
static int parse_u8(const char *text)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 0 || v > 255)
		return -1;
	return (int)v;
}

/* The path of the i-th --keep (from 1). */
static const char *keep_path(const struct cli_args *a, size_t i)
{
	for (int o = 0; o < a->nocc; o++)
		if (strcmp(a->occ[o].opt->name, "keep") == 0 && --i == 0)
			return a->occ[o].vals[0];
	return "?";
}

static int ech_generate(struct cli *cli, const struct cli_args *a)
{
	char **name = cli_opt_last(a, "public-name"), **id = cli_opt_last(a, "config-id"),
	     **max = cli_opt_last(a, "max-name-length"), **out = cli_opt_last(a, "out");
	if (!name || !out)
		return cli_usage_error(cli, "%s is required", name ? "--out" : "--public-name");
	int config_id = id ? parse_u8(id[0]) : 0, max_len = max ? parse_u8(max[0]) : 0;
	if (config_id < 0)
		return cli_usage_error(cli, "--config-id \"%s\" is not a number from 0 to 255", id[0]);
	if (max_len < 0)
		return cli_usage_error(cli, "--max-name-length \"%s\" is not a number from 0 to 255", max[0]);
	char pname[256], err[256];
	if (ech_public_name_check(name[0], pname, sizeof(pname), err, sizeof(err)) < 0)
		return cli_usage_error(cli, "--public-name: %s", err);
	struct stat st;
	if (mkdir_p(out[0]) != 0) {
		fprintf(stderr, "tern: --out %s: %s\n", out[0], strerror(errno));
		return CLI_EUSAGE;
	}
	if (stat(out[0], &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "tern: --out %s: not a directory\n", out[0]);
		return CLI_EUSAGE;
	}
	/* the configs kept beside the new one (a rotation), read whole */
	int nkeep = cli_opt_count(a, "keep");
	struct ech_blob *blobs = calloc((size_t)nkeep + 1, sizeof(*blobs));
	char **kept = calloc((size_t)nkeep + 1, sizeof(*kept));
	uint8_t *list = malloc(ECH_LIST_MAX), config[ECH_CONFIG_MAX];
	char *b64 = malloc(4 * ((ECH_LIST_MAX + 2) / 3) + 2), *text = malloc(4 * ((ECH_LIST_MAX + 2) / 3) + 600);
	bool used[256] = {false};
	int rc = CLI_EUSAGE, k = 0;
	struct ech_key key = {0};
	size_t config_len = 0, list_len = 0;
	if (!blobs || !kept || !list || !b64 || !text) {
		fprintf(stderr, "tern: out of memory\n");
		goto out;
	}
	for (int i = 0; i < a->nocc; i++) {
		if (strcmp(a->occ[i].opt->name, "keep") != 0)
			continue;
		size_t len = 0;
		if (!(kept[k] = cli_read_file(a->occ[i].vals[0], &len)))
			goto out;
		blobs[1 + k] = (struct ech_blob){(const uint8_t *)kept[k], len};
		if (len > 4)
			used[(uint8_t)kept[k][4]] = true; /* its config_id, if it is a config (checked below) */
		k++;
	}
	if (!id)
		while (config_id < 255 && used[config_id])
			config_id++;
	if (ech_key_generate(&key, err, sizeof(err)) < 0 ||
	    ech_config_build(&key, (uint8_t)config_id, pname, (uint8_t)max_len, config, sizeof(config), &config_len,
	                     err, sizeof(err)) < 0) {
		fprintf(stderr, "tern: %s\n", err);
		goto out;
	}
	blobs[0] = (struct ech_blob){config, config_len};
	if (ech_list_build(blobs, (size_t)k + 1, list, ECH_LIST_MAX, &list_len, err, sizeof(err)) < 0) {
		/* "configs[i]: why": configs[0] is the new one, configs[i] the i-th --keep */
		size_t i = 0;
		int at = 0;
		if (sscanf(err, "configs[%zu]: %n", &i, &at) == 1 && at > 0 && i >= 1 && i <= (size_t)k)
			fprintf(stderr, "tern: --keep %s: %s\n", keep_path(a, i), err + at);
		else
			fprintf(stderr, "tern: %s\n", err);
		goto out;
	}
	if (ech_https_text(NULL, list, list_len, text, 4 * ((ECH_LIST_MAX + 2) / 3) + 600, err, sizeof(err)) < 0) {
		fprintf(stderr, "tern: %s\n", err);
		goto out;
	}
	int n = ech_base64(list, list_len, b64, 4 * ((ECH_LIST_MAX + 2) / 3) + 1);
	b64[n] = '\n';
	if (write_file(out[0], "ech.key", key.priv, sizeof(key.priv), 0600) < 0 ||
	    write_file(out[0], "ech.config", config, config_len, 0644) < 0 ||
	    write_file(out[0], "ech.list", list, list_len, 0644) < 0 ||
	    write_file(out[0], "ech.list.b64", b64, (size_t)n + 1, 0644) < 0)
		goto out;
	printf("%s\n", text);
	rc = CLI_OK;
out:
	memset(&key, 0, sizeof(key));
	for (int i = 0; kept && i < k; i++)
		free(kept[i]);
	free(kept);
	free(blobs);
	free(list);
	free(b64);
	free(text);
	return rc;
}

static const char *suite_name(uint16_t kdf, uint16_t aead, char *buf, size_t cap)
{
	const char *k = kdf == 1 ? "HKDF-SHA256" : kdf == 2 ? "HKDF-SHA384" : kdf == 3 ? "HKDF-SHA512" : NULL;
	const char *e = aead == 1 ? "AES-128-GCM" : aead == 2 ? "AES-256-GCM" : aead == 3 ? "ChaCha20-Poly1305" : NULL;
	char kb[16], eb[16];
	if (!k)
		snprintf(kb, sizeof(kb), "KDF 0x%04x", kdf);
	if (!e)
		snprintf(eb, sizeof(eb), "AEAD 0x%04x", aead);
	snprintf(buf, cap, "%s/%s", k ? k : kb, e ? e : eb);
	return buf;
}

static int ech_show(struct cli *cli, const struct cli_args *a)
{
	(void)cli;
	const char *arg = a->pos[0];
	uint8_t *list = malloc(ECH_LIST_MAX);
	struct ech_list *l = malloc(sizeof(*l));
	char *file = NULL, err[256];
	int rc = CLI_EUSAGE;
	size_t len = 0, flen = 0;
	struct b64_error be;
	if (!list || !l) {
		fprintf(stderr, "tern: out of memory\n");
		goto out;
	}
	/* base64 text as given, else a file: base64 text or the binary list */
	if (b64_decode(arg, strlen(arg), B64_PADDED, list, ECH_LIST_MAX, &len, &be) < 0 || len < 2) {
		if (!(file = cli_read_file(arg, &flen)))
			goto out;
		if (b64_decode(file, flen, B64_PADDED, list, ECH_LIST_MAX, &len, &be) < 0 || len < 2) {
			if (flen > ECH_LIST_MAX) {
				fprintf(stderr, "tern: %s: %zu octets, longer than any ECHConfigList\n", arg, flen);
				goto out;
			}
			memcpy(list, file, flen);
			len = flen;
		}
	}
	if (ech_list_parse(list, len, l, err, sizeof(err)) < 0) {
		fprintf(stderr, "tern: %s\n", err);
		rc = CLI_EAPI;
		goto out;
	}
	printf("ECHConfigList: %zu octets, %zu config%s, %zu usable\n", len, l->nconfigs, l->nconfigs == 1 ? "" : "s",
	       l->usable);
	for (size_t i = 0; i < l->nconfigs; i++) {
		const struct ech_config_info *c = &l->configs[i];
		printf("config %zu: version 0x%04x, %u octets", i, c->version, c->length);
		if (!c->known) {
			printf(" (unknown version: skipped)\n");
			continue;
		}
		printf("\n  config_id %u%s\n  kem 0x%04x%s, public key %u octets\n", c->config_id,
		       c->duplicate_id ? " (duplicate)" : "", c->kem, c->kem == ECH_KEM_X25519 ? " (X25519)" : "",
		       c->public_key_len);
		for (size_t s = 0; s < c->nsuites && s < ECH_SUITES_MAX; s++) {
			char buf[64];
			printf("  suite %s\n", suite_name(c->suites[s].kdf, c->suites[s].aead, buf, sizeof(buf)));
		}
		if (c->nsuites > ECH_SUITES_MAX)
			printf("  ... %zu suites in all\n", c->nsuites);
		printf("  maximum_name_length %u\n  public_name %s\n  extensions %zu\n", c->max_name_length,
		       c->public_name, c->nextensions);
		if (c->ignored)
			printf("  ignored by clients: %s\n", c->ignored);
	}
	rc = CLI_OK;
out:
	free(file);
	free(list);
	free(l);
	return rc;
}

static const struct cli_opt generate_opts[] = {
    {"public-name", 1, "--public-name NAME    the name in the outer ClientHello (DNS name; required)"},
    {"config-id", 1, "--config-id N         the config's id, 0 to 255 (default 0; a rotation takes a new one)"},
    {"max-name-length", 1, "--max-name-length N   the longest name behind it, 0 to 255 (default 0: unknown)"},
    {"out", 1, "--out DIR             the directory for the files (made if missing; required)"},
    {"keep", 1, "--keep CONFIG         an ECHConfig file listed after the new one (a rotation; repeatable)"},
    {NULL, 0, NULL},
};

static const struct cli_opt no_opts[] = {
    {NULL, 0, NULL},
};

const struct cli_cmd cmd_ech[] = {
    {"ech", "generate", "--public-name NAME [--config-id N] [--max-name-length N] [--keep CONFIG]... --out DIR",
     "a new Encrypted ClientHello key and configuration",
     "Makes an X25519 key pair and an ECHConfig (version 0xfe0d, KEM X25519, HKDF-SHA256 with\n"
     "AES-128-GCM and ChaCha20-Poly1305) and writes into DIR: ech.key (the raw 32-octet private key,\n"
     "mode 0600, as `bssl server -ech-key` reads it), ech.config (the ECHConfig, for `-ech-config`),\n"
     "ech.list (the ECHConfigList of that one config) and ech.list.b64 (its base64). Prints the\n"
     "HTTPS record's RDATA that publishes it: 1 . alpn=h2,h3 ech=...\n"
     "A rotation: --keep the previous ech.config; the list is the new config, then the kept ones\n"
     "(clients take the first), and --config-id defaults to the lowest id none of them has. Publish\n"
     "it while the ingress holds both keys, for at least the old record's TTL, then drop the old.\n"
     "Runs on this machine; no API.\n",
     0, 0, generate_opts, ech_generate},
    {"ech", "show", "LIST", "decodes an ECHConfigList",
     "LIST is the list's base64, or a file holding it in base64 or binary (\"-\": standard input).\n"
     "Prints each config: version, config_id, KEM, suites, maximum_name_length, public_name, and why\n"
     "a client would skip it. Exit 1 when the list is malformed. Runs on this machine; no API.\n",
     1, 1, no_opts, ech_show},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
