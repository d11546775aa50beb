/* A zone's DNSSEC policy: the defaults, algorithm names, and the check that refuses values that
 * cannot work (naming the field), shared by the API and the configuration file. */
#include "lib/dnssec_policy.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/dnssec.h"
#include "lib/error.h"

#define DAY 86400u

void dnssec_policy_default(struct dnssec_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->algorithm = DNSSEC_ALG_ECDSAP256SHA256;
	p->zsk_lifetime = 30 * DAY;
	p->dnskey_ttl = 3600;
	p->max_zone_ttl = DAY;
	p->propagation_delay = 3600;
	p->rrsig_lifetime = 14 * DAY;
	p->rrsig_refresh = 7 * DAY;
	p->rrsig_jitter = DAY / 2;
	p->rrsig_inception = 3600;
	p->cds = true;
	p->ds_ttl = DAY;
	p->ds_check_interval = 3600;
	p->add_holddown = 30 * DAY;
	p->remove_holddown = 30 * DAY;
}

__attribute__((format(printf, 5, 6))) static int refuse(const char **field, const char *name, char *err, size_t errlen,
                                                        const char *fmt, ...)
{
	*field = name;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return TERN_EINVAL;
}

/* Every algorithm's mnemonic as RFC 8624 and IANA spell them, lower case. */
static const struct {
	const char *name;
	uint8_t alg;
} algs[] = {
    {"rsamd5", 1},    {"dsa", 3},        {"rsasha1", 5},   {"dsa-nsec3-sha1", 6},   {"rsasha1-nsec3-sha1", 7},
    {"rsasha256", 8}, {"rsasha512", 10}, {"ecc-gost", 12}, {"ecdsap256sha256", 13}, {"ecdsap384sha384", 14},
    {"ed25519", 15},  {"ed448", 16},
};

const char *dnssec_policy_alg_text(uint8_t alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return "unknown";
}

int dnssec_policy_alg_parse(const char *text, uint8_t *alg, char *err, size_t errlen)
{
	long v = -1;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcasecmp(text, algs[i].name) == 0)
			v = algs[i].alg;
	if (v < 0) {
		char *end = NULL;
		long n = text[0] >= '0' && text[0] <= '9' ? strtol(text, &end, 10) : -1;
		if (n < 0 || n > 255 || !end || *end) {
			snprintf(err, errlen, "unknown algorithm \"%.40s\": use ecdsap256sha256 (13) or ed25519 (15)",
			         text);
			return TERN_EINVAL;
		}
		v = n;
	}
	if (v == 5 || v == 7) { /* RFC 8624 3.1: MUST NOT sign with, NOT RECOMMENDED, deprecated */
		snprintf(err, errlen,
		         "algorithm %ld (%s) is deprecated (RFC 8624): use 13 (ECDSAP256SHA256) or 15 (ED25519)", v,
		         dnssec_alg_name((uint8_t)v));
		return TERN_EINVAL;
	}
	int rc = dnssec_alg_check((uint8_t)v, true, err, errlen);
	if (rc < 0)
		return rc;
	*alg = (uint8_t)v;
	return 0;
}

int dnssec_policy_parent_check(const char *text, char *err, size_t errlen)
{
	char addr[DNSSEC_POLICY_ADDR_MAX + 1];
	size_t len = strlen(text);
	if (len == 0 || len > DNSSEC_POLICY_ADDR_MAX) {
		snprintf(err, errlen, "must be \"ADDRESS\" or \"ADDRESS@PORT\" of at most %d characters",
		         DNSSEC_POLICY_ADDR_MAX);
		return TERN_EINVAL;
	}
	memcpy(addr, text, len + 1);
	char *at = strchr(addr, '@');
	if (at) {
		*at = 0;
		char *end = NULL;
		long port = at[1] >= '0' && at[1] <= '9' ? strtol(at + 1, &end, 10) : -1;
		if (port < 1 || port > 65535 || !end || *end) {
			snprintf(err, errlen, "\"%s\": the port must be 1 to 65535", text);
			return TERN_EINVAL;
		}
	}
	unsigned char buf[16];
	if (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1) {
		snprintf(err, errlen, "\"%s\" is not an IPv4 or IPv6 address (with an optional @port)", text);
		return TERN_EINVAL;
	}
	return 0;
}

/* A key lifetime: 0 (never rolled) or longer than a rollover takes. */
static int lifetime_check(uint32_t v, const char *name, uint64_t rollover, const char **field, char *err, size_t errlen)
{
	if (v == 0 || v > rollover)
		return 0;
	return refuse(field, name, err, errlen,
	              "%u seconds: must be 0 (never rolled) or longer than a rollover takes (propagation-delay + "
	              "dnskey-ttl + max-zone-ttl = %llu seconds)",
	              v, (unsigned long long)rollover);
}

int dnssec_policy_check(const struct dnssec_policy *p, const char **field, char *err, size_t errlen)
{
	const uint32_t max = DNSSEC_POLICY_SECONDS_MAX;
	char why[200];
	if (dnssec_alg_check(p->algorithm, true, why, sizeof(why)) < 0)
		return refuse(field, "algorithm", err, errlen, "%s", why);
	if (!p->nsec.nsec3) {
		if (p->nsec.optout)
			return refuse(field, "nsec3-opt-out", err, errlen, "opt-out needs NSEC3 (denial \"nsec3\")");
		if (p->nsec.iterations || p->nsec.salt_len)
			return refuse(field, p->nsec.iterations ? "nsec3-iterations" : "nsec3-salt", err, errlen,
			              "NSEC3 parameters need denial \"nsec3\"");
	}
	if (p->nsec.iterations)
		return refuse(field, "nsec3-iterations", err, errlen,
		              "%u: must be 0 (RFC 9276 3.1: extra iterations cost validators and protect nothing)",
		              p->nsec.iterations);
	if (p->nsec.salt_len)
		return refuse(field, "nsec3-salt", err, errlen,
		              "must be empty (RFC 9276 3.1: a salt protects nothing)");
	struct {
		const char *name;
		uint32_t v;
	} ttls[] = {
	    {"dnskey-ttl", p->dnskey_ttl},
	    {"max-zone-ttl", p->max_zone_ttl},
	    {"propagation-delay", p->propagation_delay},
	    {"rrsig-lifetime", p->rrsig_lifetime},
	    {"rrsig-refresh", p->rrsig_refresh},
	    {"rrsig-jitter", p->rrsig_jitter},
	    {"rrsig-inception-offset", p->rrsig_inception},
	    {"ksk-lifetime", p->ksk_lifetime},
	    {"zsk-lifetime", p->zsk_lifetime},
	    {"csk-lifetime", p->csk_lifetime},
	    {"ds-ttl", p->ds_ttl},
	    {"ds-check-interval", p->ds_check_interval},
	    {"add-holddown", p->add_holddown},
	    {"remove-holddown", p->remove_holddown},
	};
	for (size_t i = 0; i < sizeof(ttls) / sizeof(ttls[0]); i++)
		if (ttls[i].v > max)
			return refuse(field, ttls[i].name, err, errlen, "%u: at most %u seconds", ttls[i].v, max);
	if (p->dnskey_ttl == 0)
		return refuse(field, "dnskey-ttl", err, errlen, "must be at least 1 second");
	if (p->ds_check_interval == 0)
		return refuse(field, "ds-check-interval", err, errlen, "must be at least 1 second");
	if (p->rrsig_refresh == 0)
		return refuse(field, "rrsig-refresh", err, errlen, "must be at least 1 second");
	if ((uint64_t)p->rrsig_lifetime <= (uint64_t)p->rrsig_refresh + p->rrsig_jitter)
		return refuse(field, "rrsig-lifetime", err, errlen,
		              "%u seconds: must be above rrsig-refresh + rrsig-jitter (%llu seconds), or signatures "
		              "would be due for refresh as they are made",
		              p->rrsig_lifetime, (unsigned long long)p->rrsig_refresh + p->rrsig_jitter);
	uint64_t rollover = (uint64_t)p->propagation_delay + p->dnskey_ttl + p->max_zone_ttl;
	int rc;
	if (p->csk) {
		if (p->ksk_lifetime || p->zsk_lifetime)
			return refuse(field, p->ksk_lifetime ? "ksk-lifetime" : "zsk-lifetime", err, errlen,
			              "a policy with one CSK (keys \"csk\") has no KSK or ZSK: use csk-lifetime");
		if ((rc = lifetime_check(p->csk_lifetime, "csk-lifetime", rollover, field, err, errlen)) < 0)
			return rc;
	} else {
		if (p->csk_lifetime)
			return refuse(field, "csk-lifetime", err, errlen,
			              "a policy with a KSK and a ZSK (keys \"ksk-zsk\") has no CSK");
		if ((rc = lifetime_check(p->ksk_lifetime, "ksk-lifetime", rollover, field, err, errlen)) < 0 ||
		    (rc = lifetime_check(p->zsk_lifetime, "zsk-lifetime", rollover, field, err, errlen)) < 0)
			return rc;
	}
	if (p->nparents > DNSSEC_POLICY_PARENTS_MAX)
		return refuse(field, "parents", err, errlen, "at most %d parent servers", DNSSEC_POLICY_PARENTS_MAX);
	static const char *const pnames[DNSSEC_POLICY_PARENTS_MAX] = {
	    "parents[0]", "parents[1]", "parents[2]", "parents[3]",
	    "parents[4]", "parents[5]", "parents[6]", "parents[7]",
	};
	for (unsigned i = 0; i < p->nparents; i++)
		if (dnssec_policy_parent_check(p->parents[i], why, sizeof(why)) < 0)
			return refuse(field, pnames[i], err, errlen, "%s", why);
	return 0;
}

int dnssec_policy_check_timings(const struct dnssec_policy *p, bool test_timings, const char **field, char *err,
                                size_t errlen)
{
	if (test_timings)
		return 0;
	if (p->add_holddown < DAY)
		return refuse(field, "add-holddown", err, errlen,
		              "%u seconds: at least one day (RFC 5011 asks for 30 days); shorter only with "
		              "server.dnssec-test-timings",
		              p->add_holddown);
	if (p->remove_holddown < DAY)
		return refuse(field, "remove-holddown", err, errlen,
		              "%u seconds: at least one day (RFC 5011 asks for 30 days); shorter only with "
		              "server.dnssec-test-timings",
		              p->remove_holddown);
	if (p->ds_check_interval < 60)
		return refuse(field, "ds-check-interval", err, errlen,
		              "%u seconds: at least 60; shorter only with server.dnssec-test-timings",
		              p->ds_check_interval);
	return 0;
}
