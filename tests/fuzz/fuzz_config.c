/* libFuzzer harness for the configuration reader: config_load_string() on arbitrary YAML, then
 * the promises of a loaded configuration (validated fields) or of a rejection (a message). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/base/config.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_config: invariant violated: %s\n", what);
	abort();
}

static void check_config(const struct config *c)
{
	if (!c)
		fail("success without a configuration");
	if (c->nlisten == 0 || !c->listen)
		fail("no listen address");
	for (size_t i = 0; i < c->nlisten; i++) {
		const struct config_listen *l = &c->listen[i];
		if (l->addrlen == 0 || l->addrlen > sizeof(l->addr) || !memchr(l->text, 0, sizeof(l->text)))
			fail("bad listen entry");
		if (l->addr.ss_family != AF_INET && l->addr.ss_family != AF_INET6)
			fail("listen family neither IPv4 nor IPv6");
	}
	if (c->edns_size < 512 || c->edns_size > 4096)
		fail("edns_size out of range");
	if (c->nsid && strlen(c->nsid) > 255)
		fail("identity over 255 bytes");
	if (c->log_level < 0 || c->log_level > 3)
		fail("log level out of range");
	for (size_t i = 0; i < c->nzones; i++) {
		const struct config_zone *z = &c->zones[i];
		int n = name_check(z->apex, NAME_MAXLEN);
		if (n < 0 || !z->name || !z->file || !*z->file)
			fail("bad zone entry");
		for (size_t k = 0; k < i; k++)
			if (name_equal(c->zones[k].apex, z->apex))
				fail("duplicate zone accepted");
	}
	/* the HTTP server's limits: in range, and a per-address limit never above the total */
	const struct config_api *a = &c->api;
	if (a->max_clients < 1 || a->max_clients > 65536 || a->max_clients_per_address < 1 ||
	    a->max_clients_per_address > a->max_clients)
		fail("api client limits out of range");
	if (a->request_timeout_ms < 1000 || a->request_timeout_ms > 3600000 || a->idle_timeout_ms < 1000 ||
	    a->idle_timeout_ms > 3600000)
		fail("api timeouts out of range");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	char err[2048];
	memset(err, 0x5a, sizeof(err));
	int rc = config_load_string((const char *)data, size, "fuzz.yaml", "/fuzz-base", &c, err, sizeof(err));
	if (memchr(err, 0, sizeof(err)) == NULL)
		fail("error buffer not NUL-terminated");
	if (rc == 0) {
		check_config(c);
		config_free(c);
		return 0;
	}
	if (c != NULL)
		fail("failure touched *out");
	if (rc == TERN_ECONFIG && err[0] == 0)
		fail("TERN_ECONFIG without a message");
	return 0;
}
