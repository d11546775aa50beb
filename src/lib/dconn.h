/* Domain Connect (draft-ietf-dconn-domainconnect), the DNS provider's side as data: service
 * templates in the published JSON format read strictly, the synchronous flow's apply query read,
 * a template's records made for one domain and host, the service provider's public key read from
 * its TXT records (p=,a=,t=,d=) and the request's RSA-SHA256 signature checked, the redirect
 * judged. No I/O but dconn_templates_load()'s reading of a folder. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"

#define DCONN_MAX_RECORDS 64 /* records in one template */
#define DCONN_MAX_VARS 32 /* variables in one apply query */
#define DCONN_MAX_TEMPLATES 4096 /* templates in the folder */
#define DCONN_FIELD_MAX 4096 /* octets of one string of a template or one query value */
#define DCONN_TXT_MAX 2048 /* octets of a TXT record's data once expanded */
#define DCONN_FILE_MAX (1024 * 1024) /* a template file */

enum dconn_txt_mode { DCONN_TXT_NONE, DCONN_TXT_ALL, DCONN_TXT_PREFIX };

/* One record of a template, as written (variables not yet replaced). */
struct dconn_record {
	uint16_t type; /* RR_A, RR_AAAA, RR_CNAME, RR_MX, RR_NS, RR_TXT, RR_SRV or RR_CAA (SPFM: RR_TXT, spfm) */
	bool spfm; /* SPFM: value's rules merged into the host's SPF record (v=spf1 ... ~all) */
	char *group; /* groupId, or NULL */
	char *host; /* relative to the domain and host of the request; "@" or "" for that name (SRV: name) */
	char *value; /* pointsTo (A, AAAA, CNAME, MX, NS), data (TXT, CAA), target (SRV), spfRules (SPFM) */
	char *ttl; /* digits or one %variable%; "" when an SPFM record gives none */
	char *priority; /* MX, SRV: digits or one %variable% */
	char *service, *protocol; /* SRV: one label each ("_sip", "_tcp"; the '_' added when missing) */
	char *weight, *port; /* SRV: digits or one %variable% */
	enum dconn_txt_mode txt_mode; /* TXT: which TXT records at the host it replaces */
	char *txt_prefix; /* with DCONN_TXT_PREFIX */
};

struct dconn_template {
	char *provider_id, *provider_name, *service_id, *service_name, *description;
	long version;
	char *pubkey_domain; /* syncPubKeyDomain: requests must be signed with a key published under it; NULL: not */
	char *redirect_domains; /* syncRedirectDomain: comma-separated; NULL: no redirect allowed */
	bool sync_block; /* the synchronous flow is not offered */
	bool host_required;
	bool warn_phishing;
	struct dconn_record *records;
	size_t nrecords;
	char file[256]; /* the file's name (without its folder) */
};

struct dconn_templates {
	struct dconn_template *v;
	size_t n;
};

/* Parses one template (untrusted JSON text of len octets) into *t: every field the public
 * repository's schema names is known, any other is refused; records of types A, AAAA, CNAME,
 * MX, NS, TXT, SRV, CAA and SPFM (APEXCNAME, REDIR301, REDIR302 and others refused by name, with
 * the reason); every %variable% well formed. 0, or TERN_EINVAL with
 * err "FIELD: why" (e.g. "records[2].pointsTo: missing"), or TERN_ENOMEM; *t holds nothing to
 * free on failure. */
int dconn_template_parse(const char *text, size_t len, struct dconn_template *t, char *err, size_t errlen);
void dconn_template_clear(struct dconn_template *t);

/* Every *.json file of dir, each parsed: 0, or TERN_ECONFIG with err "FILE: FIELD: why" for the
 * first that does not parse (or a pair of files for the same provider and service), TERN_EIO when
 * the folder cannot be read, TERN_ENOMEM. */
int dconn_templates_load(const char *dir, struct dconn_templates **out, char *err, size_t errlen);
void dconn_templates_free(struct dconn_templates *ts);
/* The template of provider and service (compared without regard to case), or NULL. */
const struct dconn_template *dconn_templates_find(const struct dconn_templates *ts, const char *provider,
                                                  const char *service);

struct dconn_var {
	char *name, *value;
};
/* An apply request's query. */
struct dconn_query {
	char *domain; /* lower-cased, without a final dot */
	char *host; /* lower-cased, "" when absent */
	char *sig, *key, *redirect_uri, *state, *group_ids; /* NULL when absent */
	struct dconn_var vars[DCONN_MAX_VARS]; /* the other parameters, in order */
	size_t nvars;
	char *signed_text; /* the query as sent without its sig and key parameters: what sig signs */
};
/* Reads the raw query (after '?', percent-encoded, len octets; untrusted): each parameter once,
 * names of letters, digits, '-', '_' and '.', values percent-decoded without control characters,
 * domain a name of 1 to 253 octets, host a relative name. 0, or TERN_EINVAL with field (the
 * parameter, or "query") and why, or TERN_ENOMEM; nothing to free on failure. */
int dconn_query_parse(const char *raw, size_t len, struct dconn_query *q, char *field, size_t fcap, char *why,
                      size_t wcap);
void dconn_query_clear(struct dconn_query *q);

/* One record of a template made for a request. */
struct dconn_rr {
	uint8_t owner[NAME_MAXLEN]; /* lower-cased, at or below host.domain */
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[DCONN_TXT_MAX + DCONN_TXT_MAX / 255 + 1];
	enum dconn_txt_mode txt_mode;
	const char *txt_prefix; /* the template's (borrowed), variables not replaced */
	bool spfm; /* TXT "v=spf1 RULES ~all" of an SPFM record: RULES merged into the SPF record there */
	bool ttl_default; /* SPFM without a ttl: 3600, or the SPF record's when merged */
};

/* The SPF record text (its strings joined, len octets) with rules (terms separated by spaces)
 * merged in: terms already there kept once, the new ones before the record's "all" term (or at
 * its end), into out (cap octets). The length, or -1 when it does not fit or spf is not
 * "v=spf1 ..." (case-insensitive). */
int dconn_spf_merge(const char *spf, size_t len, const char *rules, char *out, size_t cap);
/* The template's records (those of the groups q->group_ids names, when it names some) for
 * q->domain and q->host, variables replaced: *out (malloc'd, *n of them). Refused (TERN_EINVAL,
 * field and why): a host the template requires but the query lacks, a variable missing (field:
 * its name), a value that is not one of its type (field "records[i].FIELD", or the variable that
 * made it: a port over 65535, a CAA tag with a space, SPF rules with a quote or an "all"), a
 * record whose owner a variable would put outside host.domain (field: the variable; SRV's service
 * and protocol one label each), a CNAME or NS at the domain itself. TERN_ENOMEM. */
int dconn_expand(const struct dconn_template *t, const struct dconn_query *q, struct dconn_rr **out, size_t *n,
                 char *field, size_t fcap, char *why, size_t wcap);

/* The public key of the TXT strings txt[0..n) (each one record's strings joined):
 * "p=INDEX,a=RS256[,t=x509],d=BASE64" parts in any order, joined by index, a DER
 * SubjectPublicKeyInfo of an RSA key. Then the signature sig (base64) of text checked with it
 * (RSA PKCS#1 v1.5, SHA-256). 0, or TERN_EINVAL (why: the key, or "the signature does not
 * verify"), TERN_EBOGUS (a bad signature), TERN_ENOMEM. */
int dconn_verify(const char *const *txt, size_t n, const char *text, size_t tlen, const char *sig, char *why,
                 size_t wcap);

/* Whether uri (http or https) names a host equal to, or under, one of domains (comma-separated,
 * NULL: none): true, or false with why. */
bool dconn_redirect_allowed(const char *domains, const char *uri, char *why, size_t wcap);
