/* tern check: the DNSSEC delegation: the parent's DS records against the zone's DNSKEYs (key tag,
 * algorithm and digest recomputed with lib/dnssec.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/check.h"
#include "lib/check_find.h"
#include "lib/dnssec.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"

/* Every DNSKEY and RRSIG lib/dnssec.c verifies fits a record's text whole (check_query.h's sums):
 * a DNSKEY of the longest key field, an RRSIG with the longest signer's name and signature. */
_Static_assert(CHECK_RR_TEXT >= 14 + (DNSSEC_PUBKEY_MAX + 2) / 3 * 4 + 1, "a DNSKEY's text fits a check_rr");
_Static_assert(CHECK_RR_TEXT >= 59 + 8 + (CHECK_NAME_TEXT - 1) + (DNSSEC_SIG_MAX + 2) / 3 * 4 + 1,
               "an RRSIG's text fits a check_rr");

/* The parent's DS RRset for the zone (a walk for DS ends at the parent's servers). */
static int parent_ds(struct check_ctx *c, struct check_report *r, struct check_walk *w)
{
	if (check_walk(c, r->zone, RR_DS, 0, w) < 0)
		return TERN_EIO;
	if (check_name_eq(w->zone, r->zone)) { /* the zone's own servers answered: no parent view */
		check_report_fail(r, "DS of %s not read: the parent's servers serve the zone too", r->zone);
		return TERN_EIO;
	}
	for (int i = 0; i < w->answer.nrr && r->dnssec.nds < CHECK_MAXVALUES; i++) {
		const struct check_rr *rr = &w->answer.rr[i];
		if (rr->section == CHECK_ANSWER && rr->type == RR_DS && check_name_eq(rr->owner, r->zone))
			check_copy_rdata(r->dnssec.ds[r->dnssec.nds++], CHECK_RDATA_TEXT, rr->data);
	}
	return 0;
}

/* True when the DS text names this DNSKEY (tag, algorithm) and carries its digest. */
static bool ds_matches(struct check_report *r, const uint8_t *owner, const char *ds_text, const uint8_t *key,
                       size_t keylen)
{
	uint8_t ds[128], want[128];
	size_t dslen;
	char err[256];
	if (rrtext_rdata_from_text(owner, owner, RR_DS, ds_text, ds, sizeof(ds), &dslen, err, sizeof(err)) < 0 ||
	    dslen < 4)
		return false;
	if ((int)(ds[0] << 8 | ds[1]) != dnssec_keytag(key, keylen) || ds[2] != key[3])
		return false;
	int n = dnssec_ds_validate(owner, key, keylen, ds[3], want, sizeof(want), err, sizeof(err));
	if (n < 0) {
		check_report_fail(r, "DS \"%.60s\" not compared: %s", ds_text, err);
		return false;
	}
	return (size_t)n == dslen && memcmp(want, ds, dslen) == 0;
}

/* YYYYMMDDHHmmSS (RRSIG times in presentation form) as seconds since the epoch; -1 when not. */
static long long rrsig_time(const char *t)
{
	struct tm tm = {0};
	if (strlen(t) != 14 || sscanf(t, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	                              &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

/* The keys of the zone's DNSKEY RRset in an answer, for verifying; returns how many (at most max).
 * *cut: a DNSKEY of the set arrived too long to read (so a signature naming no key read is not
 * judged). */
static int answer_keys(const struct check_answer *a, const uint8_t *owner, const char *zone, struct dnssec_key **keys,
                       int max, bool *cut)
{
	int n = 0;
	*cut = false;
	for (int i = 0; i < a->nrr && n < max; i++) {
		const struct check_rr *rr = &a->rr[i];
		if (rr->section == CHECK_ANSWER && rr->type == RR_DNSKEY && rr->cut && check_name_eq(rr->owner, zone))
			*cut = true;
		uint8_t key[4096];
		size_t len;
		char err[256];
		if (rr->section == CHECK_ANSWER && rr->type == RR_DNSKEY && check_name_eq(rr->owner, zone) &&
		    rrtext_rdata_from_text(owner, owner, RR_DNSKEY, rr->data, key, sizeof(key), &len, err,
		                           sizeof(err)) == 0 &&
		    dnssec_key_from_dnskey(key, len, &keys[n], err, sizeof(err)) == 0)
			n++;
	}
	return n;
}

int check_answer_set(const struct check_answer *a, const uint8_t *owner, const char *zone, uint16_t type, uint8_t *buf,
                     size_t cap, struct dnssec_rrset *set)
{
	*set = (struct dnssec_rrset){.owner = owner, .type = type, .rdata = buf};
	for (int i = 0; i < a->nrr; i++) {
		const struct check_rr *rr = &a->rr[i];
		size_t len;
		char err[256];
		if (rr->section != CHECK_ANSWER || rr->type != type || !check_name_eq(rr->owner, zone))
			continue;
		if (set->rdata_size + 2 > cap ||
		    rrtext_rdata_from_text(owner, owner, type, rr->data, buf + set->rdata_size + 2,
		                           cap - set->rdata_size - 2, &len, err, sizeof(err)) < 0)
			return TERN_EMALF;
		buf[set->rdata_size] = (uint8_t)(len >> 8);
		buf[set->rdata_size + 1] = (uint8_t)len;
		set->rdata_size += 2 + len;
		set->count++;
	}
	return set->count ? 0 : TERN_ENOTFOUND;
}

/* Verifies one RRSIG (text) over set with the key of its tag; "" when it verifies, else why not
 * (*no_key: it names a key not among keys). */
static void verify_one(const char *sig_text, const uint8_t *owner, const struct dnssec_rrset *set,
                       struct dnssec_key **keys, int nkeys, struct dnssec_scratch *scratch, char *why, size_t cap,
                       bool *no_key)
{
	*no_key = false;
	uint8_t sig[2048];
	size_t len;
	struct dnssec_rrsig fields;
	char err[256];
	why[0] = 0;
	if (rrtext_rdata_from_text(owner, owner, RR_RRSIG, sig_text, sig, sizeof(sig), &len, err, sizeof(err)) < 0 ||
	    dnssec_rrsig_parse(sig, len, &fields) < 0) {
		snprintf(why, cap, "unreadable RRSIG");
		return;
	}
	for (int k = 0; k < nkeys; k++) {
		uint8_t dnskey[4096];
		int dl = dnssec_key_dnskey(keys[k], dnskey, sizeof(dnskey));
		if (dl < 0 || dnssec_keytag(dnskey, (size_t)dl) != fields.key_tag)
			continue;
		/* the time window is judged apart (rrsig_invalid, rrsig_expiring): -1 skips it here */
		if (dnssec_verify(keys[k], set, sig, len, -1, scratch, err, sizeof(err)) == 0)
			return;
		snprintf(why, cap, "does not verify with key %u: %s", fields.key_tag, err);
		return;
	}
	snprintf(why, cap, "names key %u, which the zone does not publish", fields.key_tag);
	*no_key = true;
}

/* The RRSIGs over the zone's DNSKEY and SOA RRsets (asked with DO): each verified with the zone's
 * keys, and their validity windows: expired or not yet valid, or expiring within
 * CHECK_RRSIG_WARN (the signer has stopped re-signing). */
static void rrsig_rules(struct check_ctx *c, struct check_report *r, const struct check_addr *good,
                        struct check_answer *a, const uint8_t *owner)
{
	static const uint16_t types[] = {RR_DNSKEY, RR_SOA};
	long long now = (long long)time(NULL), soonest = -1;
	char soonest_type[16] = "", bad[CHECK_RDATA_TEXT] = "", bogus[CHECK_RDATA_TEXT] = "";
	struct dnssec_key *keys[CHECK_MAXVALUES];
	int nkeys = 0;
	bool keys_cut = false, noted_cut = false;
	struct dnssec_scratch scratch;
	dnssec_scratch_init(&scratch);
	uint8_t *setbuf = malloc(65536);
	if (!setbuf) {
		check_report_fail(r, "signatures of %s not checked: out of memory", r->zone);
		goto done;
	}
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		if (check_ask(c, good, r->zone, types[t], CHECK_DO, a) < 0) {
			check_report_fail(r, "signatures of %s not read: %s", r->zone, a->error);
			goto done;
		}
		if (types[t] == RR_DNSKEY)
			nkeys = answer_keys(a, owner, r->zone, keys, CHECK_MAXVALUES, &keys_cut);
		struct dnssec_rrset set;
		bool have_set = check_answer_set(a, owner, r->zone, types[t], setbuf, 65536, &set) == 0;
		for (int i = 0; i < a->nrr; i++) {
			const struct check_rr *rr = &a->rr[i];
			char covered[16], exp[32], inc[32], why[300];
			if (rr->section != CHECK_ANSWER || !check_name_eq(rr->owner, r->zone))
				continue;
			/* a record too long to read: neither secure nor bogus (said once) */
			if (rr->cut && (rr->type == RR_RRSIG || rr->type == types[t]) && !noted_cut) {
				char tname[RRTEXT_TYPE_MAXLEN];
				rrtext_type_to_text(rr->type, tname, sizeof(tname));
				check_report_fail(
				    r,
				    "signatures of %s not verified: a %s of it is too long to read %s (Tern "
				    "reads records of up to %d characters: RSA keys up to 4,096 bits)",
				    r->zone, tname, rr->data, CHECK_RR_TEXT - 1);
				noted_cut = true;
			}
			if (rr->type != RR_RRSIG ||
			    sscanf(rr->data, "%15s %*s %*s %*s %31s %31s", covered, exp, inc) != 3)
				continue;
			long long e = rrsig_time(exp), b = rrsig_time(inc);
			if (e < 0 || b < 0)
				continue;
			r->dnssec.nsigs++;
			if ((now < b || now > e) && !bad[0])
				snprintf(bad, sizeof(bad), "the RRSIG over %s %s is valid from %s to %s", r->zone,
				         covered, inc, exp);
			if (soonest < 0 || e < soonest) {
				soonest = e;
				check_copy(soonest_type, sizeof(soonest_type), covered);
			}
			bool no_key;
			if (have_set && !bogus[0]) {
				verify_one(rr->data, owner, &set, keys, nkeys, &scratch, why, sizeof(why), &no_key);
				if (why[0] && no_key && keys_cut) /* its key may be the one too long to read */
					check_report_fail(
					    r,
					    "the RRSIG over %.200s %s not verified: it %.200s, and a DNSKEY of "
					    "the zone is too long to read",
					    r->zone, covered, why);
				else if (why[0])
					snprintf(bogus, sizeof(bogus), "the RRSIG over %.200s %s %.200s", r->zone,
					         covered, why);
			}
		}
	}
	if (soonest >= 0) {
		time_t st = (time_t)soonest;
		struct tm tm;
		gmtime_r(&st, &tm);
		strftime(r->dnssec.sig_expires, sizeof(r->dnssec.sig_expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (bad[0] || bogus[0])
		check_find(r, "rrsig_invalid", "%s", bad[0] ? bad : bogus);
	else if (soonest >= 0 && soonest - now < CHECK_RRSIG_WARN)
		check_find(r, "rrsig_expiring", "the RRSIG over %s %s expires %s, in %lld h", r->zone, soonest_type,
		           r->dnssec.sig_expires, (soonest - now) / 3600);
done:
	for (int k = 0; k < nkeys; k++)
		dnssec_key_free(keys[k]);
	dnssec_scratch_free(&scratch);
	free(setbuf);
}

void check_dnssec_delegation(struct check_ctx *c, struct check_report *r, const struct check_addr *good,
                             struct check_answer *a)
{
	uint8_t owner[NAME_MAXLEN];
	struct check_walk *w = malloc(sizeof(*w));
	if (!w || name_from_text(owner, r->zone, NULL) < 0) {
		check_report_fail(r, "DNSSEC not checked: out of memory");
		free(w);
		return;
	}
	if (parent_ds(c, r, w) < 0)
		goto done;
	if (check_ask(c, good, r->zone, RR_DNSKEY, false, a) < 0) {
		check_report_fail(r, "DNSKEY of %s not read: %s", r->zone, a->error);
		goto done;
	}
	r->dnssec.have = true;
	int ncut = 0; /* DNSKEYs too long to read: not judged, so no verdict that needs them */
	for (int i = 0; i < a->nrr && r->dnssec.nkeys < CHECK_MAXVALUES; i++) {
		const struct check_rr *rr = &a->rr[i];
		uint8_t key[4096];
		size_t keylen;
		char err[256];
		if (rr->section != CHECK_ANSWER || rr->type != RR_DNSKEY || !check_name_eq(rr->owner, r->zone))
			continue;
		if (rr->cut) {
			check_report_fail(
			    r,
			    "a DNSKEY of %s not verified: too long to read %s (Tern reads records of up to %d "
			    "characters: RSA keys up to 4,096 bits)",
			    r->zone, rr->data, CHECK_RR_TEXT - 1);
			ncut++;
			continue;
		}
		if (rrtext_rdata_from_text(owner, owner, RR_DNSKEY, rr->data, key, sizeof(key), &keylen, err,
		                           sizeof(err)) < 0 ||
		    keylen < 4) {
			check_report_fail(r, "a DNSKEY of %s not read: %s", r->zone, err);
			continue;
		}
		int k = r->dnssec.nkeys++;
		r->dnssec.keys[k].tag = dnssec_keytag(key, keylen);
		r->dnssec.keys[k].flags = (uint16_t)(key[0] << 8 | key[1]);
		r->dnssec.keys[k].algorithm = key[3];
		for (int d = 0; d < r->dnssec.nds && !r->dnssec.keys[k].matched; d++)
			r->dnssec.keys[k].matched = ds_matches(r, owner, r->dnssec.ds[d], key, keylen);
	}
	if (r->dnssec.nkeys)
		rrsig_rules(c, r, good, a, owner);
	bool matched = false;
	for (int k = 0; k < r->dnssec.nkeys; k++)
		matched |= r->dnssec.keys[k].matched;
	if (r->dnssec.nds == 0) {
		r->dnssec.status =
		    r->dnssec.nkeys + ncut ? "signed without DS (validators see it unsigned)" : "unsigned";
		if (r->dnssec.nkeys + ncut)
			check_find(r, "ds_missing", "%s publishes %d DNSKEY record(s) but %s holds no DS for it",
			           r->zone, r->dnssec.nkeys + ncut, r->parent);
	} else if (!matched && ncut) {
		r->dnssec.status = "not verified (a DNSKEY too long to read)";
	} else if (!matched) {
		r->dnssec.status = "DS matches no key (validation fails)";
		check_find(r, "ds_mismatch",
		           "%s's DS for %s (%d record(s)) names none of the zone's %d DNSKEY record(s)", r->parent,
		           r->zone, r->dnssec.nds, r->dnssec.nkeys);
	} else {
		r->dnssec.status = "secure (a DS matches a DNSKEY)";
	}
done:
	free(w);
}
