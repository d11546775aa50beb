/* Unit tests for ternd's configuration loader (src/ternd/base/config.c): valid files, defaults and
 * every error message, which must name file:line, the field and the bad value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/tls_client.h"
#include "ternd/base/config.h"
#include "ternd/base/config_impl.h"
#include "ternd/base/log.h"

/* A stand-in that load() must leave alone when loading fails. */
static struct config untouched;

struct result {
	int rc;
	struct config *c;
	char err[4096];
};

static void load_base(struct result *r, const char *yaml, const char *basedir)
{
	r->c = &untouched;
	r->rc = config_load_string(yaml, strlen(yaml), "ternd.yaml", basedir, &r->c, r->err, sizeof(r->err));
}

static void load(struct result *r, const char *yaml)
{
	load_base(r, yaml, "/etc/tern");
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static size_t count_lines(const char *s)
{
	size_t n = *s ? 1 : 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Loads yaml, expects failure with TERN_ECONFIG, *out untouched, and the message among errors. */
static void expect_error(const char *yaml, const char *message)
{
	struct result r;
	load(&r, yaml);
	if (r.rc == 0) {
		config_free(r.c);
		fail_msg("expected an error containing \"%s\"", message);
	}
	assert_int_equal(r.rc, TERN_ECONFIG);
	assert_ptr_equal(r.c, &untouched);
	assert_contains(r.err, message);
}

static void expect_ok(struct result *r, const char *yaml)
{
	load(r, yaml);
	if (r->rc != 0)
		fail_msg("unexpected error %d:\n%s", r->rc, r->err);
	assert_non_null(r->c);
	assert_ptr_not_equal(r->c, &untouched);
}

static uint16_t port_of(const struct config_listen *l)
{
	if (l->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
}

static const char *addr_of(const struct config_listen *l, char *buf, size_t cap)
{
	if (l->addr.ss_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)&l->addr)->sin_addr, buf, (socklen_t)cap);
	return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&l->addr)->sin6_addr, buf, (socklen_t)cap);
}

static void test_full(void **state)
{
	(void)state;
	struct result r;
	char buf[INET6_ADDRSTRLEN];
	uint8_t apex[NAME_MAXLEN];
	expect_ok(&r, "# a complete configuration\n"
	              "server:\n"
	              "  listen:\n"
	              "    - 127.0.0.1@5300\n"
	              "    - \"::1@5300\"\n"
	              "    - 192.0.2.1\n"
	              "  identity: ns1.example\n"
	              "  edns-buffer-size: 1400\n"
	              "  udp-workers: 4\n"
	              "  tcp-idle-timeout: 30\n"
	              "  tcp-max-clients: 500\n"
	              "  tcp-max-clients-per-address: 8\n"
	              "log:\n"
	              "  level: debug\n"
	              "zones:\n"
	              "  - name: Example.COM\n"
	              "    file: example.com.zone\n"
	              "  - name: example.org.\n"
	              "    file: /var/lib/tern/example.org.zone\n");
	struct config *c = r.c;
	assert_string_equal(c->path, "ternd.yaml");
	assert_int_equal(c->nlisten, 3);
	assert_int_equal(c->listen[0].addr.ss_family, AF_INET);
	assert_int_equal(c->listen[0].addrlen, sizeof(struct sockaddr_in));
	assert_string_equal(addr_of(&c->listen[0], buf, sizeof(buf)), "127.0.0.1");
	assert_int_equal(port_of(&c->listen[0]), 5300);
	assert_string_equal(c->listen[0].text, "127.0.0.1@5300");
	assert_int_equal(c->listen[1].addr.ss_family, AF_INET6);
	assert_int_equal(c->listen[1].addrlen, sizeof(struct sockaddr_in6));
	assert_string_equal(addr_of(&c->listen[1], buf, sizeof(buf)), "::1");
	assert_int_equal(port_of(&c->listen[1]), 5300);
	assert_string_equal(c->listen[1].text, "::1@5300");
	assert_string_equal(addr_of(&c->listen[2], buf, sizeof(buf)), "192.0.2.1");
	assert_int_equal(port_of(&c->listen[2]), 53);
	assert_string_equal(c->listen[2].text, "192.0.2.1");
	assert_string_equal(c->nsid, "ns1.example");
	assert_int_equal(c->edns_size, 1400);
	assert_int_equal(c->udp_workers, 4);
	assert_int_equal(c->tcp_idle_timeout_ms, 30000);
	assert_int_equal(c->tcp_max_clients, 500);
	assert_int_equal(c->tcp_max_clients_per_address, 8);
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_int_equal(c->nzones, 2);
	assert_string_equal(c->zones[0].name, "Example.COM");
	assert_true(name_from_text(apex, "example.com.", NULL) > 0);
	assert_memory_equal(c->zones[0].apex, apex, name_len(apex));
	assert_string_equal(c->zones[0].file, "/etc/tern/example.com.zone");
	assert_int_equal(c->zones[0].line, 16);
	assert_string_equal(c->zones[1].name, "example.org.");
	assert_true(name_from_text(apex, "example.org.", NULL) > 0);
	assert_memory_equal(c->zones[1].apex, apex, name_len(apex));
	assert_string_equal(c->zones[1].file, "/var/lib/tern/example.org.zone");
	assert_int_equal(c->zones[1].line, 18);
	assert_string_equal(r.err, "");
	config_free(c);
}

/* services: the regions in the order written with their codes; each refusal names the key. */
static void test_services(void **state)
{
	(void)state;
#define API "api:\n  listen: 127.0.0.1@8053\n  data-dir: /var/lib/tern\n  jwks: /etc/tern/jwks.json\n"
#define SERVER "server:\n  listen: [127.0.0.1]\n"
	struct result r;
	expect_ok(&r, SERVER API "services:\n  zone: App.Example.NET\n  regions:\n"
	                         "    - {name: eu, continents: [EU, AF], countries: [TR]}\n    - name: na\n");
	const struct config_services *sv = &r.c->services;
	assert_true(sv->enabled);
	assert_memory_equal(sv->zone, "\3app\7example\3net", 17);
	assert_int_equal(sv->ttl, 300);
	assert_int_equal(sv->max_per_tenant, 1000);
	assert_int_equal(sv->nregions, 2);
	assert_string_equal(sv->regions[0].name, "eu");
	assert_int_equal(sv->regions[0].ncontinents, 2);
	assert_string_equal(sv->regions[0].continents[1].code, "AF");
	assert_string_equal(sv->regions[0].countries[0].code, "TR");
	assert_int_equal(sv->regions[1].ncontinents + sv->regions[1].ncountries, 0);
	assert_ptr_equal(config_region_find(sv, "na"), &sv->regions[1]);
	assert_null(config_region_find(sv, "ap"));
	config_free(r.c);
	expect_ok(&r, SERVER);
	assert_false(r.c->services.enabled);
	config_free(r.c);
	expect_error(SERVER "services:\n  zone: app.test\n  regions: [{name: eu}]\n", "services: needs the tenant API");
	expect_error(SERVER API "services:\n  regions: [{name: eu}]\n", "services.zone: missing required key");
	expect_error(SERVER API "services:\n  zone: app.test\n", "services.regions: missing required key");
	expect_error(SERVER API "services:\n  zone: app.test\n  regions: [{name: EU}]\n",
	             "\"EU\" is not a region name");
	expect_error(SERVER API "services:\n  zone: app.test\n  regions: [{name: eu}, {name: eu}]\n",
	             "services.regions[1].name: duplicate region \"eu\"");
	expect_error(SERVER API "services:\n  zone: app.test\n  regions: [{name: eu, continents: [EUR]}]\n",
	             "\"EUR\" is not a continent code");
	expect_error(SERVER API "services:\n  zone: app.test\n  regions: [{name: eu, countries: [de]}]\n",
	             "\"de\" is not an ISO 3166-1 alpha-2 country code");
	expect_error(SERVER API "services:\n  zone: app.test\n  regions: [{name: eu, countries: [QQ]}]\n",
	             "\"QQ\" is not an ISO 3166-1 alpha-2 country code");
	expect_error(SERVER API "services:\n  zone: app.test\n  regions: [{name: a, continents: [EU]}, "
	                        "{name: b, continents: [NA, EU]}]\n",
	             "services.regions[1].continents: EU is region a's already");
	expect_error(SERVER API "services:\n  zone: app.test\n  regions: [{name: a, countries: [DE, DE]}]\n",
	             "services.regions[0].countries: DE is listed twice");
	expect_error(SERVER API "services:\n  zone: app.test\n  ttl: 0\n  regions: [{name: a}]\n", "services.ttl");
	/* 3 labels of 63 and one of 30: 224 octets, no room for a 36-character label */
	expect_error(SERVER API "services:\n  zone: "
	                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	                        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	                        "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
	                        "dddddddddddddddddddddddddddddd\n  regions: [{name: a}]\n",
	             "services.zone: too long");
#undef API
#undef SERVER
}

static void test_defaults(void **state)
{
	(void)state;
	struct result r;
	expect_ok(&r, "server:\n  listen: [127.0.0.1]\n");
	struct config *c = r.c;
	assert_int_equal(c->nlisten, 1);
	assert_int_equal(port_of(&c->listen[0]), 53);
	assert_null(c->nsid);
	assert_int_equal(c->edns_size, 1232);
	assert_int_equal(c->udp_workers, 0);
	assert_int_equal(c->tcp_idle_timeout_ms, 10000);
	assert_int_equal(c->tcp_max_clients, 1024);
	assert_int_equal(c->tcp_max_clients_per_address, 32);
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->nzones, 0);
	assert_null(c->zones);
	config_free(c);

	/* empty sections and an empty zone list are fine */
	expect_ok(&r, "server:\n  listen: [127.0.0.1]\nlog:\nzones: []\n");
	assert_int_equal(r.c->nzones, 0);
	assert_int_equal(r.c->log_level, LOG_INFO);
	config_free(r.c);
}

static void test_log_levels(void **state)
{
	(void)state;
	static const char *names[] = {"error", "warning", "info", "debug"};
	for (int i = 0; i < 4; i++) {
		char yaml[128];
		struct result r;
		snprintf(yaml, sizeof(yaml), "server:\n  listen: [127.0.0.1]\nlog:\n  level: %s\n", names[i]);
		expect_ok(&r, yaml);
		assert_int_equal(r.c->log_level, i);
		config_free(r.c);
	}
	expect_error("server:\n  listen: [127.0.0.1]\nlog:\n  level: verbose\n",
	             "ternd.yaml:4: log.level: \"verbose\" is not one of error, warning, info, debug");
	expect_error("server:\n  listen: [127.0.0.1]\nlog:\n  level:\n", "ternd.yaml:4: log.level: empty value");
	expect_error("server:\n  listen: [127.0.0.1]\nlog:\n  lvl: info\n", "ternd.yaml:4: unknown key \"lvl\" in log");
}

static void test_ranges(void **state)
{
	(void)state;
	expect_error("server:\n  listen: [127.0.0.1]\n  edns-buffer-size: 99999\n",
	             "ternd.yaml:3: server.edns-buffer-size: 99999 is out of range 512..4096");
	expect_error("server:\n  listen: [127.0.0.1]\n  edns-buffer-size: 511\n",
	             "ternd.yaml:3: server.edns-buffer-size: 511 is out of range 512..4096");
	expect_error("server:\n  listen: [127.0.0.1]\n  udp-workers: 257\n",
	             "ternd.yaml:3: server.udp-workers: 257 is out of range 0..256");
	expect_error("server:\n  listen: [127.0.0.1]\n  tcp-idle-timeout: 0\n",
	             "ternd.yaml:3: server.tcp-idle-timeout: 0 is out of range 1..3600");
	expect_error("server:\n  listen: [127.0.0.1]\n  tcp-idle-timeout: 3601\n",
	             "ternd.yaml:3: server.tcp-idle-timeout: 3601 is out of range 1..3600");
	expect_error("server:\n  listen: [127.0.0.1]\n  tcp-max-clients: 1000001\n",
	             "ternd.yaml:3: server.tcp-max-clients: 1000001 is out of range 1..1000000");
	expect_error("server:\n  listen: [127.0.0.1]\n  tcp-max-clients: 0\n",
	             "ternd.yaml:3: server.tcp-max-clients: 0 is out of range 1..1000000");
	expect_error("server:\n  listen: [127.0.0.1]\n  tcp-max-clients-per-address: 0\n",
	             "ternd.yaml:3: server.tcp-max-clients-per-address: 0 is out of range 1..1000000");
	expect_error("server:\n  listen: [127.0.0.1]\n  tcp-max-clients-per-address: -1\n",
	             "ternd.yaml:3: server.tcp-max-clients-per-address: \"-1\" is not a number");
	expect_error("server:\n  listen: [127.0.0.1]\n  tcp-max-clients: "
	             "99999999999999999999999999\n",
	             "ternd.yaml:3: server.tcp-max-clients: 99999999999999999999999999 is out of "
	             "range 1..1000000");

	/* the limits themselves are accepted */
	struct result r;
	expect_ok(&r, "server:\n  listen: [127.0.0.1]\n  edns-buffer-size: 4096\n"
	              "  udp-workers: 256\n  tcp-idle-timeout: 3600\n  tcp-max-clients: 1000000\n");
	assert_int_equal(r.c->edns_size, 4096);
	assert_int_equal(r.c->udp_workers, 256);
	assert_int_equal(r.c->tcp_idle_timeout_ms, 3600000);
	assert_int_equal(r.c->tcp_max_clients, 1000000);
	config_free(r.c);
	expect_ok(&r, "server:\n  listen: [127.0.0.1]\n  edns-buffer-size: 512\n"
	              "  tcp-idle-timeout: 1\n  tcp-max-clients: 1\n");
	assert_int_equal(r.c->edns_size, 512);
	assert_int_equal(r.c->tcp_idle_timeout_ms, 1000);
	assert_int_equal(r.c->tcp_max_clients, 1);
	config_free(r.c);
}

static void test_not_numbers(void **state)
{
	(void)state;
	expect_error("server:\n  listen: [127.0.0.1]\n  edns-buffer-size: abc\n",
	             "ternd.yaml:3: server.edns-buffer-size: \"abc\" is not a number");
	expect_error("server:\n  listen: [127.0.0.1]\n  udp-workers: -1\n",
	             "ternd.yaml:3: server.udp-workers: \"-1\" is not a number");
	expect_error("server:\n  listen: [127.0.0.1]\n  udp-workers: +4\n",
	             "ternd.yaml:3: server.udp-workers: \"+4\" is not a number");
	expect_error("server:\n  listen: [127.0.0.1]\n  udp-workers: \" 4\"\n",
	             "ternd.yaml:3: server.udp-workers: \" 4\" is not a number");
	expect_error("server:\n  listen: [127.0.0.1]\n  tcp-max-clients: 0x10\n",
	             "ternd.yaml:3: server.tcp-max-clients: \"0x10\" is not a number");
	expect_error("server:\n  listen: [127.0.0.1]\n  tcp-idle-timeout: 10s\n",
	             "ternd.yaml:3: server.tcp-idle-timeout: \"10s\" is not a number");
	expect_error("server:\n  listen: [127.0.0.1]\n  tcp-idle-timeout: 1.5\n",
	             "ternd.yaml:3: server.tcp-idle-timeout: \"1.5\" is not a number");
	expect_error("server:\n  listen: [127.0.0.1]\n  edns-buffer-size: [1232]\n",
	             "ternd.yaml:3: server.edns-buffer-size: expected a scalar, got a list");
}

static void test_listen_errors(void **state)
{
	(void)state;
	expect_error("server:\n  listen:\n    - 1.2.3.999@53\n",
	             "ternd.yaml:3: server.listen: \"1.2.3.999@53\" is not an IP address");
	expect_error("server:\n  listen:\n    - 127.0.0.1@5300\n    - \"::1::2@53\"\n",
	             "ternd.yaml:4: server.listen: \"::1::2@53\" is not an IP address");
	expect_error("server:\n  listen:\n    - localhost\n",
	             "ternd.yaml:3: server.listen: \"localhost\" is not an IP address");
	expect_error("server:\n  listen:\n    - \"@53\"\n",
	             "ternd.yaml:3: server.listen: \"@53\" is not an IP address");
	expect_error("server:\n  listen:\n    - 127.0.0.1:53\n",
	             "ternd.yaml:3: server.listen: \"127.0.0.1:53\" is not an IP address");
	expect_error("server:\n  listen:\n    - 127.0.0.1@0\n",
	             "ternd.yaml:3: server.listen: port in \"127.0.0.1@0\" is out of range 1..65535");
	expect_error("server:\n  listen:\n    - 127.0.0.1@65536\n",
	             "ternd.yaml:3: server.listen: port in \"127.0.0.1@65536\" is out of range "
	             "1..65535");
	expect_error("server:\n  listen:\n    - 127.0.0.1@99999999999999999999999\n",
	             "ternd.yaml:3: server.listen: port in \"127.0.0.1@99999999999999999999999\" "
	             "is out of range 1..65535");
	expect_error("server:\n  listen:\n    - 127.0.0.1@dns\n",
	             "ternd.yaml:3: server.listen: port in \"127.0.0.1@dns\" is not a number");
	expect_error("server:\n  listen:\n    - 127.0.0.1@\n",
	             "ternd.yaml:3: server.listen: port in \"127.0.0.1@\" is not a number");
	expect_error("server:\n  listen:\n    - 127.0.0.1@-53\n",
	             "ternd.yaml:3: server.listen: port in \"127.0.0.1@-53\" is not a number");
	expect_error("server:\n  listen:\n    - 127.0.0.1@53\n    - 127.0.0.1\n",
	             "ternd.yaml:4: server.listen: \"127.0.0.1\" is listed twice");
	expect_error("server:\n  listen:\n    - \"\"\n", "ternd.yaml:3: server.listen: empty value");
	expect_error("server:\n  listen: []\n", "ternd.yaml:2: server.listen: at least one address is required");
	expect_error("server:\n  listen:\n", "ternd.yaml:2: server.listen: at least one address is required");
	expect_error("server:\n  listen: 127.0.0.1@53\n", "ternd.yaml:2: server.listen: expected a list, got a scalar");
	expect_error("server:\n  listen:\n    - {addr: 127.0.0.1}\n",
	             "ternd.yaml:3: server.listen: expected a scalar, got a mapping");
	/* longer than config_listen.text can hold */
	expect_error("server:\n  listen:\n    - \"0000:0000:0000:0000:0000:0000:0000:0001:"
	             "0000:0000:0000:0000:0000:0000:0000:0001@53\"\n",
	             "ternd.yaml:3: server.listen: \"0000:0000:0000:0000:0000:0000:0000:0001:0000:"
	             "0000:0000:0000:0000...\" is not an IP address");
}

static void test_ipv6_listen(void **state)
{
	(void)state;
	struct result r;
	char buf[INET6_ADDRSTRLEN];
	expect_ok(&r, "server:\n  listen:\n    - ::1@5300\n    - \"::\"\n"
	              "    - 2001:db8::53@853\n    - ::ffff:192.0.2.1@54\n");
	struct config *c = r.c;
	assert_int_equal(c->nlisten, 4);
	for (size_t i = 0; i < c->nlisten; i++) {
		assert_int_equal(c->listen[i].addr.ss_family, AF_INET6);
		assert_int_equal(c->listen[i].addrlen, sizeof(struct sockaddr_in6));
	}
	assert_string_equal(addr_of(&c->listen[0], buf, sizeof(buf)), "::1");
	assert_int_equal(port_of(&c->listen[0]), 5300);
	assert_string_equal(c->listen[0].text, "::1@5300");
	assert_string_equal(addr_of(&c->listen[1], buf, sizeof(buf)), "::");
	assert_int_equal(port_of(&c->listen[1]), 53);
	assert_string_equal(addr_of(&c->listen[2], buf, sizeof(buf)), "2001:db8::53");
	assert_int_equal(port_of(&c->listen[2]), 853);
	assert_int_equal(port_of(&c->listen[3]), 54);
	config_free(c);
}

/* zones[].primary: tls://ADDR (port 853), tls://ADDR@PORT, tls://IPV4:PORT, tls://[IPV6]:PORT next
 * to plain addresses; each tls:// one flagged; a bad port or form named; tls:// nowhere else. */
static void test_tls_primaries(void **state)
{
	(void)state;
	struct result r;
	char buf[INET6_ADDRSTRLEN];
	const char *pin = "\"qPdweS7FpHgpHDQry+k1JqrHydSvkcW8hL9uk7KKMAw=\"";
	char yaml[1024];
	snprintf(yaml, sizeof(yaml),
	         "server:\n  listen: [127.0.0.1]\nzones:\n  - name: x.example\n    primary: [\"tls://192.0.2.1\", "
	         "\"tls://192.0.2.2@8853\", "
	         "\"tls://192.0.2.3:854\", \"tls://[2001:db8::1]:855\", \"tls://[2001:db8::2]\", "
	         "\"tls://2001:db8::3\", \"192.0.2.9\"]\n    tls-pin: %s\n",
	         pin);
	expect_ok(&r, yaml);
	const struct config_zone *z = &r.c->zones[0];
	assert_int_equal(z->nprimaries, 7);
	static const unsigned ports[] = {853, 8853, 854, 855, 853, 853, 53};
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(port_of(&z->primaries[i]), ports[i]);
		assert_int_equal(z->primaries[i].tls, i < 6);
	}
	assert_string_equal(addr_of(&z->primaries[3], buf, sizeof(buf)), "2001:db8::1");
	assert_string_equal(addr_of(&z->primaries[5], buf, sizeof(buf)), "2001:db8::3");
	assert_string_equal(z->primaries[2].text, "tls://192.0.2.3:854");
	assert_string_equal(z->tls_pin, "qPdweS7FpHgpHDQry+k1JqrHydSvkcW8hL9uk7KKMAw=");
	config_free(r.c);

	expect_error("zones:\n  - {name: x.example, primary: \"tls://192.0.2.1:0\", tls-auth-name: a.example}\n",
	             "zones[0].primary: port in \"tls://192.0.2.1:0\" is out of range 1..65535");
	expect_error("zones:\n  - {name: x.example, primary: \"tls://[2001:db8::1]x\", tls-auth-name: a.example}\n",
	             "zones[0].primary: \"tls://[2001:db8::1]x\": an IPv6 address in brackets");
	expect_error("zones:\n  - {name: x.example, primary: \"tls://ns.example\", tls-auth-name: a.example}\n",
	             "zones[0].primary: \"tls://ns.example\" is not an IP address");
	expect_error("zones:\n  - {name: x.example, primary: \"tls://192.0.2.1\", tls-pin: \"AAAA\"}\n",
	             "zones[0].tls-pin: decodes to 3 octets, not the 32 of a SHA-256 digest");
	expect_error("zones:\n  - {name: x.example, primary: \"tls://192.0.2.1\", tls-ca-file: /dev/null, "
	             "tls-pin: "
	             "\"qPdweS7FpHgpHDQry+k1JqrHydSvkcW8hL9uk7KKMAw=\"}\n",
	             "zones[0].tls-ca-file: needs tls-auth-name");
	expect_error("server:\n  listen: [\"tls://127.0.0.1\"]\n",
	             "server.listen: \"tls://127.0.0.1\" is not an IP address");
}

/* lib/tls_client.c's checks of its settings. */
static void test_tls_settings(void **state)
{
	(void)state;
	uint8_t pin[TLS_PIN_LEN];
	char err[256];
	assert_int_equal(tls_pin_parse("qPdweS7FpHgpHDQry+k1JqrHydSvkcW8hL9uk7KKMAw=", pin, err, sizeof(err)), 0);
	assert_int_equal(pin[0], 0xa8);
	assert_int_equal(tls_pin_parse("qPdweS7FpHgpHDQry+k1JqrHydSvkcW8hL9uk7KKMAw", pin, err, sizeof(err)),
	                 TERN_EINVAL); /* no padding */
	assert_int_equal(tls_pin_parse("qPdweS7FpHgpHDQry-k1JqrHydSvkcW8hL9uk7KKMAw=", pin, err, sizeof(err)),
	                 TERN_EINVAL);
	assert_contains(err, "not base64");
	assert_int_equal(tls_pin_parse("", pin, err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(tls_auth_name_check("ns1.example.net", err, sizeof(err)), 0);
	assert_int_equal(tls_auth_name_check("ns1.example.net.", err, sizeof(err)), 0);
	assert_int_equal(tls_auth_name_check("192.0.2.1", err, sizeof(err)), 0);
	assert_int_equal(tls_auth_name_check("2001:db8::1", err, sizeof(err)), 0);
	assert_int_equal(tls_auth_name_check("a..example", err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(tls_auth_name_check("a b", err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(tls_auth_name_check(".", err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(tls_ca_file_check("/nonexistent/ca.pem", err, sizeof(err)), TERN_EIO);
	assert_contains(err, "cannot read /nonexistent/ca.pem");
	assert_int_equal(tls_ca_file_check("/dev/null", err, sizeof(err)), TERN_EIO);
	assert_contains(err, "holds no PEM certificate");
	struct tls_client *a, *b, *c;
	assert_int_equal(tls_client_new(NULL, NULL, NULL, &a, err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(
	    tls_client_new(NULL, NULL, "qPdweS7FpHgpHDQry+k1JqrHydSvkcW8hL9uk7KKMAw=", &a, err, sizeof(err)), 0);
	assert_int_equal(
	    tls_client_new(NULL, NULL, "qPdweS7FpHgpHDQry+k1JqrHydSvkcW8hL9uk7KKMAw=", &b, err, sizeof(err)), 0);
	assert_int_equal(tls_client_new(NULL, "ns1.example.net", NULL, &c, err, sizeof(err)), 0);
	assert_true(tls_client_is(c, NULL, "ns1.example.net.", NULL)); /* the root's dot is not the name's */
	assert_false(tls_client_is(c, NULL, "ns1.example.ne", NULL));
	assert_int_equal(tls_auth_name_check("*.example.net", err, sizeof(err)), TERN_EINVAL);
	assert_true(tls_client_same(a, b));
	assert_false(tls_client_same(a, c));
	assert_false(tls_client_same(a, NULL));
	assert_true(tls_client_is(a, NULL, NULL, "qPdweS7FpHgpHDQry+k1JqrHydSvkcW8hL9uk7KKMAw="));
	assert_false(tls_client_is(a, NULL, "ns1.example.net", "qPdweS7FpHgpHDQry+k1JqrHydSvkcW8hL9uk7KKMAw="));
	tls_client_ref(a);
	assert_int_equal(tls_client_refs(a), 2);
	tls_client_unref(a);
	tls_client_unref(a);
	tls_client_unref(b);
	tls_client_unref(c);
}

static void test_identity(void **state)
{
	(void)state;
	char yaml[600], id[257];
	memset(id, 'a', 256);
	id[256] = 0;
	snprintf(yaml, sizeof(yaml), "server:\n  listen: [127.0.0.1]\n  identity: %s\n", id);
	expect_error(yaml, "ternd.yaml:3: server.identity: 256 bytes is longer than the limit of 255");
	id[255] = 0;
	snprintf(yaml, sizeof(yaml), "server:\n  listen: [127.0.0.1]\n  identity: %s\n", id);
	struct result r;
	expect_ok(&r, yaml);
	assert_string_equal(r.c->nsid, id);
	config_free(r.c);
	expect_error("server:\n  listen: [127.0.0.1]\n  identity:\n", "ternd.yaml:3: server.identity: empty value");
	expect_error("server:\n  listen: [127.0.0.1]\n  identity: \"\"\n",
	             "ternd.yaml:3: server.identity: empty value");
	expect_error("server:\n  listen: [127.0.0.1]\n  identity: {a: b}\n",
	             "ternd.yaml:3: server.identity: expected a scalar, got a mapping");
}

static void test_missing_keys(void **state)
{
	(void)state;
	expect_error("", "ternd.yaml:1: server: missing required key");
	expect_error("# nothing but a comment\n", "ternd.yaml:1: server: missing required key");
	expect_error("log:\n  level: info\n", "ternd.yaml:1: server: missing required key");
	expect_error("server:\n  identity: ns1\n", "ternd.yaml:1: server.listen: missing required key");
	expect_error("server:\n", "ternd.yaml:1: server.listen: missing required key");
	expect_error("server:\n  listen: [127.0.0.1]\nzones:\n  - file: x.zone\n",
	             "ternd.yaml:4: zones[0].name: missing required key");
	expect_error("server:\n  listen: [127.0.0.1]\nzones:\n  - name: example.com\n",
	             "ternd.yaml:4: zones[0].file: missing required key");
	expect_error("server:\n  listen: [127.0.0.1]\nzones:\n  - name: example.com\n    file:\n",
	             "ternd.yaml:5: zones[0].file: empty value");
	expect_error("server:\n  listen: [127.0.0.1]\nzones:\n  - name: \"\"\n    file: x\n",
	             "ternd.yaml:4: zones[0].name: empty value");
}

static void test_wrong_kinds(void **state)
{
	(void)state;
	expect_error("- a\n- b\n", "ternd.yaml:1: top level: expected a mapping, got a list");
	expect_error("just text\n", "ternd.yaml:1: top level: expected a mapping, got a scalar");
	expect_error("server: [127.0.0.1]\n", "ternd.yaml:1: server: expected a mapping, got a list");
	expect_error("server: yes\n", "ternd.yaml:1: server: expected a mapping, got a scalar");
	expect_error("server:\n  listen: [127.0.0.1]\nlog: debug\n",
	             "ternd.yaml:3: log: expected a mapping, got a scalar");
	expect_error("server:\n  listen: [127.0.0.1]\nzones: example.com\n",
	             "ternd.yaml:3: zones: expected a list, got a scalar");
	expect_error("server:\n  listen: [127.0.0.1]\nzones:\n  name: example.com\n",
	             "ternd.yaml:4: zones: expected a list, got a mapping");
	expect_error("server:\n  listen: [127.0.0.1]\nzones:\n  - example.com\n",
	             "ternd.yaml:4: zones[0]: expected a mapping, got a scalar");
	expect_error("server:\n  listen: [127.0.0.1]\n? [a, b]\n: c\n",
	             "ternd.yaml:3: keys must be scalars, got a list");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	expect_error("server:\n  listen: [127.0.0.1]\n  lisen: [127.0.0.2]\n",
	             "ternd.yaml:3: unknown key \"lisen\" in server");
	expect_error("server:\n  listen: [127.0.0.1]\nzone:\n  - name: x\n",
	             "ternd.yaml:3: unknown key \"zone\" at top level");
	expect_error("server:\n  listen: [127.0.0.1]\nzones:\n  - name: x\n    file: y\n    "
	             "type: primary\n",
	             "ternd.yaml:6: unknown key \"type\" in zones[0]");
	expect_error("server:\n  listen: [127.0.0.1]\n  listen: [127.0.0.2]\n",
	             "ternd.yaml:3: server.listen: duplicate key (first at line 2)");
	expect_error("server:\n  listen: [127.0.0.1]\nserver:\n  listen: [127.0.0.2]\n",
	             "ternd.yaml:3: server: duplicate key (first at line 1)");
	/* odd bytes in a key are escaped, so a message stays on one line */
	expect_error("server:\n  listen: [127.0.0.1]\n  \"a\\nb\": 1\n",
	             "ternd.yaml:3: unknown key \"a\\x0ab\" in server");
}

static void test_yaml_syntax(void **state)
{
	(void)state;
	struct result r;
	load(&r, "server:\n  listen: [127.0.0.1\n  identity: x\n");
	assert_int_equal(r.rc, TERN_ECONFIG);
	assert_ptr_equal(r.c, &untouched);
	assert_contains(r.err, "ternd.yaml:");
	assert_contains(r.err, "YAML syntax error: ");
	expect_error("server:\n  listen: [127.0.0.1]\n bad: indentation\n", "ternd.yaml:3: YAML syntax error: ");
	expect_error("server:\n\tlisten: [127.0.0.1]\n",
	             "ternd.yaml:2: YAML syntax error: found character that cannot start any token");
	expect_error("server:\n  listen: [127.0.0.1]\nlog: *nope\n",
	             "ternd.yaml:3: YAML syntax error: found undefined alias");
	expect_error("server:\n  listen: [127.0.0.1]\n  identity: \"\xff\xfe\"\n",
	             "ternd.yaml:3: YAML syntax error: invalid ");
	expect_error("server:\n  listen: [127.0.0.1]\n---\nserver:\n  listen: [127.0.0.2]\n",
	             "ternd.yaml:4: only one YAML document is allowed");
	/* an alias inside the collection it names would make the tree a loop: refused */
	expect_error("server:\n  listen: &l [127.0.0.1, *l]\n",
	             "ternd.yaml:2: YAML syntax error: found undefined alias");
	expect_error("server: &s\n  listen: [127.0.0.1]\n  x: *s\n",
	             "ternd.yaml:3: YAML syntax error: found undefined alias");
}

/* Anchors and aliases stand for the anchored value, scalars and collections alike. */
static void test_yaml_aliases(void **state)
{
	(void)state;
	struct result r;
	load(&r, "server:\n  listen: &addrs [127.0.0.1@5300, \"::1@5300\"]\nzones:\n  - name: a.example\n"
	         "    file: &f one.zone\n  - {name: b.example, file: *f, primary: *addrs}\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.c->nzones, 2);
	assert_string_equal(r.c->zones[0].file, "/etc/tern/one.zone");
	assert_string_equal(r.c->zones[1].file, "/etc/tern/one.zone");
	assert_int_equal(r.c->zones[1].nprimaries, 2);
	assert_int_equal(r.c->nlisten, 2);
	config_free(r.c);
}

static void test_zone_names(void **state)
{
	(void)state;
	expect_error("server:\n  listen: [127.0.0.1]\nzones:\n  - name: a..b\n    file: x\n",
	             "ternd.yaml:4: zones[0].name: \"a..b\" is not a valid domain name");
	expect_error("server:\n  listen: [127.0.0.1]\nzones:\n  - name: .example\n    file: x\n",
	             "ternd.yaml:4: zones[0].name: \".example\" is not a valid domain name");
	char yaml[256], label[65];
	memset(label, 'a', 64);
	label[64] = 0;
	snprintf(yaml, sizeof(yaml), "server:\n  listen: [127.0.0.1]\nzones:\n  - name: %s.com\n    file: x\n", label);
	expect_error(yaml, "ternd.yaml:4: zones[0].name: \"aaaa");
	expect_error(yaml, "is not a valid domain name");

	/* the root zone is a zone like any other */
	struct result r;
	expect_ok(&r, "server:\n  listen: [127.0.0.1]\nzones:\n  - name: .\n    file: root.zone\n");
	assert_int_equal(r.c->nzones, 1);
	assert_int_equal(r.c->zones[0].apex[0], 0);
	config_free(r.c);
}

static void test_duplicate_zone(void **state)
{
	(void)state;
	expect_error("server:\n"
	             "  listen: [127.0.0.1]\n"
	             "zones:\n"
	             "  - name: example.com\n"
	             "    file: a.zone\n"
	             "  - name: example.net\n"
	             "    file: b.zone\n"
	             "  - name: EXAMPLE.com.\n"
	             "    file: c.zone\n",
	             "ternd.yaml:8: zones[2]: duplicate zone example.com (first at line 4)");
}

static void test_many_errors(void **state)
{
	(void)state;
	struct result r;
	load(&r, "server:\n"
	         "  listen:\n"
	         "    - 1.2.3.999@53\n"
	         "    - 127.0.0.1@0\n"
	         "  edns-buffer-size: 99999\n"
	         "  lisen: x\n"
	         "log:\n"
	         "  level: loud\n"
	         "zones:\n"
	         "  - name: a..b\n"
	         "    file: x\n");
	assert_int_equal(r.rc, TERN_ECONFIG);
	assert_ptr_equal(r.c, &untouched);
	assert_int_equal(count_lines(r.err), 6);
	assert_contains(r.err, "ternd.yaml:3: server.listen: \"1.2.3.999@53\" is not an IP address\n");
	assert_contains(r.err, "ternd.yaml:4: server.listen: port in \"127.0.0.1@0\"");
	assert_contains(r.err, "ternd.yaml:5: server.edns-buffer-size: 99999 is out of range");
	assert_contains(r.err, "ternd.yaml:6: unknown key \"lisen\" in server");
	assert_contains(r.err, "ternd.yaml:8: log.level: \"loud\"");
	assert_contains(r.err, "ternd.yaml:10: zones[0].name: \"a..b\"");
	assert_int_not_equal(r.err[strlen(r.err) - 1], '\n');
}

static void test_small_error_buffer(void **state)
{
	(void)state;
	const char *yaml = "server:\n  listen: [1.2.3.999]\n  udp-workers: x\n";
	char err[16];
	memset(err, 'Z', sizeof(err));
	struct config *c = &untouched;
	int rc = config_load_string(yaml, strlen(yaml), "ternd.yaml", NULL, &c, err, 12);
	assert_int_equal(rc, TERN_ECONFIG);
	assert_ptr_equal(c, &untouched);
	assert_string_equal(err, "ternd.yaml:");
	assert_int_equal(err[12], 'Z');
	/* no buffer at all is allowed too */
	rc = config_load_string(yaml, strlen(yaml), "ternd.yaml", NULL, &c, NULL, 0);
	assert_int_equal(rc, TERN_ECONFIG);
}

static void test_relative_paths(void **state)
{
	(void)state;
	const char *yaml = "server:\n  listen: [127.0.0.1]\nzones:\n"
	                   "  - {name: a.example, file: a.zone}\n"
	                   "  - {name: b.example, file: sub/b.zone}\n"
	                   "  - {name: c.example, file: /abs/c.zone}\n"
	                   "  - {name: d.example, file: ../d.zone}\n";
	struct result r;
	load_base(&r, yaml, "/etc/tern");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.c->zones[0].file, "/etc/tern/a.zone");
	assert_string_equal(r.c->zones[1].file, "/etc/tern/sub/b.zone");
	assert_string_equal(r.c->zones[2].file, "/abs/c.zone");
	assert_string_equal(r.c->zones[3].file, "/etc/tern/../d.zone");
	config_free(r.c);
	load_base(&r, yaml, "/etc/tern/");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.c->zones[0].file, "/etc/tern/a.zone");
	config_free(r.c);
	load_base(&r, yaml, "conf");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.c->zones[1].file, "conf/sub/b.zone");
	config_free(r.c);
	load_base(&r, yaml, NULL);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.c->zones[0].file, "a.zone");
	assert_string_equal(r.c->zones[2].file, "/abs/c.zone");
	config_free(r.c);
}

static void test_load_file(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	char dir[512], path[600], err[1024];
	snprintf(dir, sizeof(dir), "%s/tern-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ternd.yaml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("server:\n  listen: [\"::1@5300\"]\nzones:\n"
	      "  - name: example.com\n    file: example.com.zone\n",
	      f);
	assert_int_equal(fclose(f), 0);

	struct config *c = NULL;
	int rc = config_load(path, &c, err, sizeof(err));
	if (rc)
		fail_msg("config_load: %s", err);
	char want[700];
	assert_string_equal(c->path, path);
	snprintf(want, sizeof(want), "%s/example.com.zone", dir);
	assert_string_equal(c->zones[0].file, want);
	config_free(c);

	/* errors from a file name the file */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("server:\n  listen: [127.0.0.1]\n  edns-buffer-size: 99999\n", f);
	assert_int_equal(fclose(f), 0);
	c = &untouched;
	rc = config_load(path, &c, err, sizeof(err));
	assert_int_equal(rc, TERN_ECONFIG);
	assert_ptr_equal(c, &untouched);
	snprintf(want, sizeof(want), "%s:3: server.edns-buffer-size: 99999", path);
	assert_contains(err, want);

	/* a file over the limit (1 GiB; sparse here) is refused before it is read, saying so */
	assert_int_equal(truncate(path, ((off_t)1 << 30) + 1), 0);
	rc = config_load(path, &c, err, sizeof(err));
	assert_int_equal(rc, TERN_EIO);
	assert_ptr_equal(c, &untouched);
	snprintf(want, sizeof(want), "%s: cannot read: larger than 1024 MiB, the limit of a configuration file", path);
	assert_string_equal(err, want);

	assert_int_equal(unlink(path), 0);
	rc = config_load(path, &c, err, sizeof(err));
	assert_true(rc < 0);
	assert_ptr_equal(c, &untouched);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);

	/* a directory opens but cannot be read */
	rc = config_load(dir, &c, err, sizeof(err));
	assert_true(rc < 0);
	assert_ptr_equal(c, &untouched);
	assert_contains(err, dir);
	assert_contains(err, ": cannot ");
	assert_int_equal(rmdir(dir), 0);
}

/* The keys a reload cannot apply are named; the reloadable ones are not. */
struct changed {
	char names[8][64];
	size_t n;
};

static void note_changed(const char *key, void *arg)
{
	struct changed *c = arg;
	if (c->n < 8)
		snprintf(c->names[c->n++], sizeof(c->names[0]), "%s", key);
}

static void test_restart_keys(void **state)
{
	(void)state;
	struct result a, b;
	expect_ok(&a, "server:\n  listen: [127.0.0.1]\n  udp-workers: 2\n  tcp-idle-timeout: 5\n"
	              "api:\n  listen: 127.0.0.1@8053\n  rate-limit: 5\n");
	expect_ok(&b, "server:\n  listen: [127.0.0.1, 127.0.0.2]\n  udp-workers: 3\n  tcp-idle-timeout: 6\n"
	              "log:\n  level: debug\napi:\n  listen: 127.0.0.1@8053\n  rate-limit: 7\n  max-clients: 9\n");
	struct changed c = {0};
	config_restart_keys(a.c, b.c, note_changed, &c);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.names[0], "server.listen");
	assert_string_equal(c.names[1], "server.udp-workers");
	assert_string_equal(c.names[2], "api.max-clients");
	c.n = 0;
	config_restart_keys(a.c, a.c, note_changed, &c);
	assert_int_equal(c.n, 0);
	config_free(a.c);
	config_free(b.c);
}

/* PoP URLs go through libcurl's URL parser; the messages name the part that is wrong. */
static void test_pop_urls(void **state)
{
	(void)state;
	static const struct {
		const char *url, *message; /* NULL: accepted */
	} cases[] = {
	    {"http://192.0.2.1:8053/healthz", NULL},
	    {"https://pop.example/healthz?x=1", NULL},
	    {"http://[2001:db8::1]:8053/healthz", NULL},
	    {"HTTP://pop.example/", NULL},
	    {"ftp://pop.example/", "is not an http:// or https:// URL"},
	    {"pop.example/healthz", "is not an http:// or https:// URL"},
	    {"http://user:pw@pop.example/", "holds user credentials"},
	    {"http://[2001:db8::zz]/", "has a bad [IPv6] host"},
	    {"http://pop.example:99999/", "has a port out of range 1..65535"},
	    {"http://pop.example:http/", "has a port that is not a number"},
	    {"http:///healthz", "has no host"},
	    {"http://pop example/", "holds a space"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[512];
		snprintf(yaml, sizeof(yaml),
		         "server:\n  listen: [127.0.0.1]\napi:\n  listen: 127.0.0.1@8053\n  data-dir: d\n  jwks: j\n"
		         "pops:\n  list:\n    - {name: a, healthz: \"%s\"}\n",
		         cases[i].url);
		if (!cases[i].message) {
			struct result r;
			expect_ok(&r, yaml);
			assert_string_equal(r.c->pops.list[0].healthz, cases[i].url);
			config_free(r.c);
		} else {
			expect_error(yaml, cases[i].message);
		}
	}
}

/* The reference has one row per key, with its default and range, from the same table the parser
 * reads; README.md holds it (tests/system/test_config_reload.py). */
static void test_reference(void **state)
{
	(void)state;
	char *ref = config_reference();
	assert_non_null(ref);
	assert_contains(ref, "| `server.edns-buffer-size` | bytes | 512..4096 | 1232 | yes |");
	assert_contains(ref, "| `server.listen` | addresses | at least 1 | required | restart |");
	assert_contains(ref, "| `log.level` | word | error, warning, info, debug | info | yes |");
	assert_contains(ref, "| `zones[].primary` |");
	assert_contains(ref, "| `pops.interval` | seconds | 0.01..86400 | 60 | restart |");
	free(ref);
}

static void test_free_null(void **state)
{
	(void)state;
	config_free(NULL);
}

/* acme.responder: listen addresses and exactly one of thumbprint and account-key. */
static void test_acme_responder(void **state)
{
	(void)state;
	struct result r;
	expect_ok(&r, "server: {listen: [\"127.0.0.1@53\"]}\n"
	              "acme: {responder: {listen: [\"127.0.0.1@80\", \"::1@80\"], "
	              "thumbprint: ET8BG5wpIIzycvBJaiMwIcrZZYw-KoVQqH60m-s44CA}}\n");
	assert_true(r.c->acme.responder.enabled);
	assert_int_equal(r.c->acme.responder.nlisten, 2);
	assert_string_equal(r.c->acme.responder.thumbprint, "ET8BG5wpIIzycvBJaiMwIcrZZYw-KoVQqH60m-s44CA");
	assert_null(r.c->acme.responder.account_key);
	config_free(r.c);
	expect_ok(&r, "server: {listen: [\"127.0.0.1@53\"]}\nacme: {responder: {listen: \"127.0.0.1@80\", "
	              "account-key: acme.key}}\n");
	assert_string_equal(r.c->acme.responder.account_key, "/etc/tern/acme.key");
	config_free(r.c);
	expect_ok(&r, "server: {listen: [\"127.0.0.1@53\"]}\n");
	assert_false(r.c->acme.responder.enabled);
	config_free(r.c);
	expect_error("server: {listen: [\"127.0.0.1@53\"]}\nacme: {responder: {listen: \"127.0.0.1@80\"}}\n",
	             "acme.responder: needs thumbprint or account-key (one of them)");
	expect_error("server: {listen: [\"127.0.0.1@53\"]}\nacme: {responder: {listen: \"127.0.0.1@80\", "
	             "account-key: k, thumbprint: ET8BG5wpIIzycvBJaiMwIcrZZYw-KoVQqH60m-s44CA}}\n",
	             "acme.responder: needs thumbprint or account-key (one of them)");
	expect_error("server: {listen: [\"127.0.0.1@53\"]}\nacme: {responder: {listen: \"127.0.0.1@80\", "
	             "thumbprint: ET8BG5wpIIzycvBJaiMwIcrZZYw+KoVQqH60m/s44CA}}\n",
	             "is not an RFC 7638 thumbprint (43 base64url characters)");
	expect_error("server: {listen: [\"127.0.0.1@53\"]}\nacme: {responder: {thumbprint: "
	             "ET8BG5wpIIzycvBJaiMwIcrZZYw-KoVQqH60m-s44CA}}\n",
	             "acme.responder.listen: missing required key");
	expect_error("server: {listen: [\"127.0.0.1@53\"]}\nacme: {responder: {listen: \"127.0.0.1@80\", "
	             "thumbprint: abc}}\n",
	             "thumbprint");
}

/* server.tls: port 853 by default, certificate and key together, not server.listen's address;
 * transfer.allow[].tls read, and only with what it needs. */
static void test_tls(void **state)
{
	(void)state;
	struct result r;
	expect_ok(&r, "server:\n  listen: [\"127.0.0.1@53\"]\n  tls:\n    listen: [\"127.0.0.1\", \"::1@8530\"]\n"
	              "    certificate: c.pem\n    key: k.pem\n    client-ca-file: ca.pem\n    handshake-timeout: 2.5\n"
	              "transfer:\n  allow:\n    - 192.0.2.0/24\n    - {address: 198.51.100.0/24, tls: required}\n"
	              "    - {address: 203.0.113.7, tls: client-certificate}\n");
	struct config *c = r.c;
	assert_int_equal(c->tls.nlisten, 2);
	assert_int_equal(port_of(&c->tls.listen[0]), 853);
	assert_int_equal(port_of(&c->tls.listen[1]), 8530);
	assert_string_equal(c->tls.certificate, "/etc/tern/c.pem");
	assert_string_equal(c->tls.key, "/etc/tern/k.pem");
	assert_string_equal(c->tls.client_ca_file, "/etc/tern/ca.pem");
	assert_int_equal(c->tls.handshake_timeout_ms, 2500);
	assert_int_equal(c->transfer.nallow, 3);
	assert_int_equal(c->transfer.allow[0].tls, CONFIG_TLS_ANY);
	assert_int_equal(c->transfer.allow[1].tls, CONFIG_TLS_REQUIRED);
	assert_int_equal(c->transfer.allow[2].tls, CONFIG_TLS_CLIENT_CERT);
	config_free(c);
	expect_ok(&r, "server:\n  listen: [\"127.0.0.1@53\"]\n");
	assert_int_equal(r.c->tls.nlisten, 0);
	assert_int_equal(r.c->tls.handshake_timeout_ms, 5000);
	assert_null(r.c->tls.certificate);
	config_free(r.c);
	expect_error("server:\n  listen: [\"127.0.0.1@53\"]\n  tls:\n    listen: 127.0.0.1@53\n    certificate: c\n"
	             "    key: k\n",
	             "server.tls.listen: 127.0.0.1@53 is server.listen's address too");
	expect_error("server:\n  listen: [\"127.0.0.1@53\"]\n  tls:\n    listen: 127.0.0.1@853\n",
	             "server.tls.certificate: missing required key");
	expect_error("server:\n  listen: [\"127.0.0.1@53\"]\n  tls:\n    listen: 127.0.0.1@853\n    key: k\n",
	             "server.tls.certificate: missing required key");
	expect_error("server:\n  listen: [\"127.0.0.1@53\"]\n  tls:\n    listen: 127.0.0.1@853\n    certificate: c\n",
	             "server.tls.key: missing required key");
	expect_error("server:\n  listen: [\"127.0.0.1@53\"]\n  tls:\n    certificate: c\n    key: k\n"
	             "    client-ca-file: ca\n",
	             "server.tls.client-ca-file: needs server.tls.listen");
	expect_error(
	    "server:\n  listen: [\"127.0.0.1@53\"]\ntransfer:\n  allow:\n    - {address: 10.0.0.0/8, tls: required}\n",
	    "transfer.allow[0].tls: required needs server.tls.listen");
	expect_error("server:\n  listen: [\"127.0.0.1@53\"]\n  tls: {listen: 127.0.0.1@853, certificate: c, key: k}\n"
	             "transfer:\n  allow:\n    - {address: 10.0.0.0/8, tls: client-certificate}\n",
	             "transfer.allow[0].tls: client-certificate needs server.tls.client-ca-file");
	expect_error("server:\n  listen: [\"127.0.0.1@53\"]\n  tls: {listen: 127.0.0.1@853, certificate: c, key: k}\n"
	             "transfer:\n  allow:\n    - {address: 10.0.0.0/8, tls: yes}\n",
	             "transfer.allow[0].tls");
	expect_error("server:\n  listen: [\"127.0.0.1@53\"]\n  tls: {listen: 127.0.0.1@853, certificate: c, key: k, "
	             "handshake-timeout: 0.01}\n",
	             "server.tls.handshake-timeout");
}

/* Every mapping of the schema (sections, list elements) holds fewer keys than the parser's field
 * table (CFG_MAX_ITEMS): api outgrew 32 once, and the parser wrote past its stack array. */
static size_t widest(const struct cfg_item *items, const char **name)
{
	size_t n = 0, most = 0;
	for (; items[n].name; n++) {
		if (items[n].items) {
			const char *sub = items[n].name;
			size_t w = widest(items[n].items, &sub);
			if (w > most) {
				most = w;
				*name = sub;
			}
		}
	}
	if (n > most) {
		most = n;
		*name = items == cfg_schema ? "(top)" : *name;
	}
	return most;
}

static void test_schema_fits_the_parser(void **state)
{
	(void)state;
	const char *name = "";
	size_t most = widest(cfg_schema[0].items, &name);
	print_message("the widest mapping holds %zu keys (%s); the parser takes %d\n", most, name, CFG_MAX_ITEMS);
	assert_true(most < CFG_MAX_ITEMS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),           cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_services),       cmocka_unit_test(test_log_levels),
	    cmocka_unit_test(test_ranges),         cmocka_unit_test(test_not_numbers),
	    cmocka_unit_test(test_listen_errors),  cmocka_unit_test(test_ipv6_listen),
	    cmocka_unit_test(test_identity),       cmocka_unit_test(test_missing_keys),
	    cmocka_unit_test(test_wrong_kinds),    cmocka_unit_test(test_unknown_keys),
	    cmocka_unit_test(test_yaml_syntax),    cmocka_unit_test(test_yaml_aliases),
	    cmocka_unit_test(test_zone_names),     cmocka_unit_test(test_duplicate_zone),
	    cmocka_unit_test(test_many_errors),    cmocka_unit_test(test_small_error_buffer),
	    cmocka_unit_test(test_relative_paths), cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_free_null),      cmocka_unit_test(test_restart_keys),
	    cmocka_unit_test(test_pop_urls),       cmocka_unit_test(test_reference),
	    cmocka_unit_test(test_acme_responder), cmocka_unit_test(test_tls),
	    cmocka_unit_test(test_acme_responder), cmocka_unit_test(test_tls_primaries),
	    cmocka_unit_test(test_tls_settings),   cmocka_unit_test(test_schema_fits_the_parser),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
