/* Test driver for dnssec_peer.py: makes keys and signs a whole zone file with lib/dnssec, so real
 * validators (BIND's dnssec-verify, dnspython) can judge the result. Not part of Tern.
 *   dnssec_signzone keygen <alg> <flags> <pem-out>      prints the DNSKEY RDATA as text
 *   dnssec_signzone sign <apex> <zone> <inception> <expiration> <ksk.pem> <zsk.pem>
 *     prints every record of the zone and RRSIGs over every authoritative RRset: the DNSKEY
 *     RRset by the KSK, the rest by the ZSK; at a cut only DS and NSEC, below it nothing.
 *   dnssec_signzone zone <apex> <zone> <now> <nsec|nsec3> <ksk.pem> <zsk.pem>
 *     prints the zone as lib/dnssec_zone signs it: DNSKEY RRset, NSEC or NSEC3 chain, RRSIGs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dnssec.h"
#include "lib/dnssec_zone.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/zone.h"
#include "lib/zonefile.h"

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[DNSSEC_PEM_MAX + 1];
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

static int keygen(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	struct dnssec_key *k;
	char err[256], *pem;
	size_t len;
	if (dnssec_key_generate((uint8_t)atoi(argv[2]), (uint16_t)atoi(argv[3]), &k, err, sizeof(err)) < 0 ||
	    dnssec_key_to_pem(k, &pem, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "keygen: %s\n", err);
		return 1;
	}
	FILE *f = fopen(argv[4], "w");
	if (!f || fwrite(pem, 1, len, f) != len || fclose(f) != 0) {
		perror(argv[4]);
		return 1;
	}
	dnssec_pem_free(pem, len);
	uint8_t rd[DNSSEC_DNSKEY_MAX];
	char text[512];
	int n = dnssec_key_dnskey(k, rd, sizeof(rd));
	if (n < 0 || rrtext_rdata_to_text(RR_DNSKEY, rd, (uint16_t)n, text, sizeof(text)) < 0)
		return 1;
	printf("%s\n", text);
	dnssec_key_free(k);
	return 0;
}

static struct dnssec_key *load_key(const char *path, uint16_t flags)
{
	size_t len;
	char *pem = read_file(path, &len), err[256];
	struct dnssec_key *k = NULL;
	if (!pem || dnssec_key_from_pem(pem, len, flags, &k, err, sizeof(err)) < 0)
		fprintf(stderr, "%s: %s\n", path, pem ? err : "cannot read");
	return k;
}

static void print_rr(const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t len)
{
	static char text[70000];
	char name[1024], tname[RRTEXT_TYPE_MAXLEN];
	name_to_text(owner, name, sizeof(name));
	rrtext_type_to_text(type, tname, sizeof(tname));
	if (rrtext_rdata_to_text(type, rd, len, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "(unprintable)");
	printf("%s\t%u\tIN\t%s\t%s\n", name, ttl, tname, text);
}

static int sign(int argc, char **argv)
{
	if (argc != 8)
		return 2;
	uint8_t apex[NAME_MAXLEN];
	char err[4096];
	struct zone *z;
	if (name_from_text(apex, argv[2], NULL) < 0 || zonefile_load(argv[3], apex, &z, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[3], err);
		return 1;
	}
	uint32_t inc = (uint32_t)strtoul(argv[4], NULL, 10), exp = (uint32_t)strtoul(argv[5], NULL, 10);
	struct dnssec_key *ksk = load_key(argv[6], DNSSEC_KSK), *zsk = load_key(argv[7], DNSSEC_ZSK);
	const struct zone_node **nodes;
	size_t n;
	if (!ksk || !zsk || zone_nodes_sorted(z, &nodes, &n) < 0)
		return 1;
	struct dnssec_scratch s;
	dnssec_scratch_init(&s);
	const uint8_t *cut = NULL;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct zone_node *node = nodes[i];
		if (cut && name_in(node->owner, cut) && !name_equal(node->owner, cut))
			continue; /* below a cut: glue, not signed (and not printed: it is the same as given) */
		cut = (node->flags & NODE_DELEG) ? node->owner : NULL;
		for (uint16_t j = 0; j < node->nrrsets; j++) {
			const struct rrset *rs = &node->rrsets[j];
			const uint8_t *rec = rs->rdata;
			for (uint16_t r = 0; r < rs->count; r++, rec = rdata_next(rec))
				print_rr(node->owner, rs->type, rs->ttl, rdata_bytes(rec), rdata_len(rec));
			if (rs->type == RR_RRSIG || (cut && rs->type != RR_DS && rs->type != RR_NSEC))
				continue;
			struct dnssec_rrset set = {node->owner, rs->type,  rs->ttl,
			                           rs->count,   rs->rdata, rs->rdata_size};
			uint8_t sig[DNSSEC_RRSIG_MAX];
			int len = dnssec_sign(rs->type == RR_DNSKEY ? ksk : zsk, &set, apex, inc, exp, &s, sig,
			                      sizeof(sig), err, sizeof(err));
			if (len < 0) {
				fprintf(stderr, "sign: %s\n", err);
				rc = 1;
				break;
			}
			print_rr(node->owner, RR_RRSIG, rs->ttl, sig, (uint16_t)len);
		}
	}
	/* glue below cuts goes out unsigned */
	cut = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct zone_node *node = nodes[i];
		if (cut && name_in(node->owner, cut) && !name_equal(node->owner, cut)) {
			for (uint16_t j = 0; j < node->nrrsets; j++) {
				const struct rrset *rs = &node->rrsets[j];
				const uint8_t *rec = rs->rdata;
				for (uint16_t r = 0; r < rs->count; r++, rec = rdata_next(rec))
					print_rr(node->owner, rs->type, rs->ttl, rdata_bytes(rec), rdata_len(rec));
			}
			continue;
		}
		cut = (node->flags & NODE_DELEG) ? node->owner : NULL;
	}
	free(nodes);
	dnssec_scratch_free(&s);
	dnssec_key_free(ksk);
	dnssec_key_free(zsk);
	zone_free(z);
	return rc;
}

/* The whole zone signed by dnssec_zone_sign(), printed in canonical order. */
static int sign_zone(int argc, char **argv)
{
	if (argc != 8)
		return 2;
	uint8_t apex[NAME_MAXLEN];
	char err[4096];
	struct zone *z;
	if (name_from_text(apex, argv[2], NULL) < 0 || zonefile_load(argv[3], apex, &z, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[3], err);
		return 1;
	}
	struct dnssec_key *ksk = load_key(argv[6], DNSSEC_KSK), *zsk = load_key(argv[7], DNSSEC_ZSK);
	if (!ksk || !zsk)
		return 1;
	struct dnssec_zone_key keys[2] = {{ksk, DNSSEC_ZONE_PUBLISH | DNSSEC_ZONE_SIGN},
	                                  {zsk, DNSSEC_ZONE_PUBLISH | DNSSEC_ZONE_SIGN}};
	struct dnssec_zone_policy p = {.dnskey_ttl = 3600, .validity = 30 * 86400, .inception = 3600};
	p.nsec.nsec3 = strcmp(argv[5], "nsec3") == 0;
	struct nsec_changes ch = {0};
	struct zone *next = NULL;
	struct zone_apply_error e;
	if (dnssec_zone_sign(z, keys, 2, &p, strtoll(argv[4], NULL, 10), NULL, &ch, err, sizeof(err)) < 0) {
		fprintf(stderr, "dnssec_zone_sign: %s\n", err);
		return 1;
	}
	if (zone_apply(z, ch.v, ch.n, &next, &e) < 0) {
		fprintf(stderr, "zone_apply: %s\n", e.msg);
		return 1;
	}
	const struct zone_node **nodes;
	size_t n;
	if (zone_nodes_sorted(next, &nodes, &n) < 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		for (uint16_t j = 0; j < nodes[i]->nrrsets; j++) {
			const struct rrset *rs = &nodes[i]->rrsets[j];
			const uint8_t *rec = rs->rdata;
			for (uint16_t r = 0; r < rs->count; r++, rec = rdata_next(rec))
				print_rr(nodes[i]->owner, rs->type, rs->ttl, rdata_bytes(rec), rdata_len(rec));
		}
	free(nodes);
	nsec_changes_free(&ch);
	zone_discard(next);
	zone_free(z);
	dnssec_key_free(ksk);
	dnssec_key_free(zsk);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return keygen(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "sign") == 0)
		return sign(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "zone") == 0)
		return sign_zone(argc, argv);
	fprintf(stderr, "usage: dnssec_signzone keygen <alg> <flags> <pem> | sign <apex> <zone> <inception> "
	                "<expiration> <ksk.pem> <zsk.pem> | zone <apex> <zone> <now> <nsec|nsec3> <ksk.pem> "
	                "<zsk.pem>\n");
	return 2;
}
