/* tern check: the table of rules' findings, with the severity and the fix each one advises. */
#include "lib/check_find.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *code;
	enum check_severity severity;
	const char *fix;
} rules[] = {
    {"not_delegated", CHECK_ERROR,
     "Add an NS record set for the domain in its parent zone (at the registrar): without a delegation the "
     "domain's own servers are never asked."},
    {"lame_ns", CHECK_ERROR,
     "Make this server answer authoritatively for the zone, or remove it from the NS set at the registrar and "
     "in the zone: resolvers that pick it wait, retry, and may fail."},
    {"slow_ns", CHECK_WARNING,
     "Move the zone to faster or closer (anycast) servers: a resolution is as slow as the slowest server a "
     "resolver happens to pick."},
    {"ns_mismatch", CHECK_ERROR,
     "Make the NS set at the registrar (the parent's delegation) equal the zone's own NS record set."},
    {"glue_mismatch", CHECK_ERROR,
     "Update the glue (the host's address at the registrar) to the address the zone gives the name server."},
    {"serial_lag", CHECK_WARNING,
     "This server serves an older version of the zone: check that the primary sends NOTIFY to it, allows it "
     "to transfer the zone, and that the transfer succeeds."},
    {"cname_at_apex", CHECK_ERROR,
     "Replace the CNAME at the zone's apex with A/AAAA records (or the provider's ALIAS/flattening): a CNAME "
     "cannot sit beside the SOA and NS records every zone has (RFC 1034 section 3.6.2)."},
    {"cname_beside_data", CHECK_ERROR,
     "Keep either the CNAME or the other records at this name, not both (RFC 1034 section 3.6.2): resolvers "
     "answer one or the other at random."},
    {"ttl_high", CHECK_WARNING,
     "Before changing this record, lower its TTL (to 300 s), wait one old TTL, make the change, check it, "
     "then raise the TTL again: until then resolvers keep the old answer up to the old TTL."},
    {"cname_loop", CHECK_ERROR, "Break the loop: a CNAME chain must end at a name with data."},
    {"chain_too_long", CHECK_WARNING,
     "Shorten the CNAME chain: each step costs a lookup, and resolvers give up after a few (8 to 16)."},
    {"name_missing", CHECK_ERROR,
     "Add the record: the name has no data of this type. Resolvers that asked will keep the negative answer "
     "for up to the zone's negative-cache TTL."},
    {"resolver_disagrees", CHECK_WARNING,
     "This resolver still holds another answer (a cached or negatively cached one): it changes when that "
     "entry expires, at most its TTL (or the negative-cache TTL) from when it was cached."},
    {"resolver_failed", CHECK_WARNING,
     "This resolver could not resolve the name: check that every authoritative server answers over UDP and "
     "TCP and that the delegation is right."},
    {"ds_mismatch", CHECK_ERROR,
     "Publish at the registrar the DS of the zone's current key-signing key (or remove the DS to go unsigned): "
     "validating resolvers answer SERVFAIL for every name of the zone until a DS matches a DNSKEY."},
    {"ds_missing", CHECK_WARNING,
     "The zone is signed but its parent holds no DS: validators treat it as unsigned. Publish the DS of its "
     "key-signing key at the registrar (its CDS record, when it publishes one, says which)."},
    {"rrsig_invalid", CHECK_ERROR,
     "Re-sign the zone now (and check the signer's clock): outside its validity period a signature fails "
     "validation, and validating resolvers answer SERVFAIL."},
    {"rrsig_expiring", CHECK_WARNING,
     "Check the signer: signatures are normally renewed days before they expire; if nothing re-signs the zone "
     "it fails validation when they do."},
    {"expiry_soon", CHECK_ERROR, "Renew the domain at the registrar before it expires."},
    {"too_few_ns", CHECK_WARNING,
     "Add a second name server on another address (better: another network): with one, a single failure takes "
     "the zone off the Internet (RFC 1034 section 4.1 asks for two). List it at the registrar and in the zone."},
    {"ns_shared_addr", CHECK_WARNING,
     "Give each name server its own address: names sharing one are one server, and add no redundancy."},
    {"cache_stale", CHECK_WARNING,
     "Wait the time it has left (it then asks the authoritative servers again), or flush the name from this "
     "resolver if you run it (unbound-control flush NAME, rndc flushname NAME, kresd: cache.clear('NAME')). "
     "Next time add records before anyone looks them up, or lower the TTL (and, for new names, the SOA "
     "MINIMUM) ahead of a change."},
    {"resolver_cap", CHECK_INFO,
     "Nothing to fix in the zone: this resolver applies its own limit to how long it keeps answers "
     "(Unbound cache-max-negative-ttl / cache-max-ttl, BIND max-ncache-ttl / max-cache-ttl), so it sees changes "
     "sooner or later than the zone's TTLs say."},
    {"pop_disagrees", CHECK_WARNING,
     "This PoP sees another answer than the authoritative servers give here: check the name servers it reaches "
     "(anycast instances, a stale secondary, a split view) and that every one serves the current zone."},
    {"record_differs", CHECK_ERROR,
     "The service's canonical name answers addresses its deployment does not hold: check that nothing else "
     "publishes records at that name, and that the name servers asked serve the current zone."},
    {"alias_elsewhere", CHECK_ERROR,
     "Point the alias at the service: a CNAME to its canonical name (below the zone's apex), or at the apex an "
     "HTTPS record in AliasMode (0 canonical-name.) or the provider's ALIAS/flattening to it."},
    {"caa_forbids", CHECK_ERROR,
     "Add a CAA record allowing the service's certificate authority (0 issue \"ca.example\") beside the "
     "existing ones, at the name or the ancestor whose CAA set applies: until then the CA must refuse to issue."},
    {"cert_missing_name", CHECK_WARNING,
     "The certificate does not cover this name yet: it is added at the next issuance once the alias is verified "
     "(check the alias points at the service); until then HTTPS clients get a name mismatch."},
    {"unknown_rule", CHECK_ERROR, "(a rule without an entry in check_find.c: report this as a bug)"},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

void check_find(struct check_report *r, const char *code, const char *fmt, ...)
{
	size_t i = 0;
	while (i < NRULES - 1 && strcmp(rules[i].code, code) != 0)
		i++;
	if (r->nfindings == CHECK_MAXFINDINGS) {
		check_report_fail(r, "more than %d findings: the rest are left out", CHECK_MAXFINDINGS);
		return;
	}
	struct check_finding *f = &r->findings[r->nfindings++];
	f->code = rules[i].code;
	f->severity = rules[i].severity;
	f->fix = rules[i].fix;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
}

int check_find_count(const struct check_report *r, const char *code)
{
	int n = 0;
	for (int i = 0; i < r->nfindings; i++)
		n += strcmp(r->findings[i].code, code) == 0;
	return n;
}
