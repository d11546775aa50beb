/* tern check: registration data of a domain from WHOIS (port 43, RFC 3912) and RDAP (RFC 9083),
 * each read within a size and a time cap; the parsers of their untrusted answers. */
#pragma once
#include <stddef.h>

#include "lib/check_report.h"
#include "lib/check_walk.h"

/* Fills r->rdap and r->whois for r->target from the servers c names (c->rdap, c->whois; WHOIS
 * follows one "refer:" line, as whois.iana.org gives), and the expiry_soon rule. What fails (a
 * server that never stops sending, HTML instead of JSON, a timeout) goes to r->failures. */
void check_registry_lookup(struct check_ctx *c, struct check_report *r);

/* Reads a WHOIS answer: "Registrar:", "Registrar Name:", "Registry Expiry Date:", "Expiration
 * Date:", "paid-till:", "Name Server:", "nserver:" (keys case-insensitive, the first of each
 * kept). refer (may be NULL) gets a "refer:"/"whois:" server. Returns 1 when anything was found. */
int check_whois_parse(const char *text, size_t len, struct check_registration *out, char *refer, size_t refercap);

/* Reads an RDAP domain object (RFC 9083): the registrar entity's name (vCard fn), the expiration
 * event, the nameservers' ldhName. 0, or TERN_EINVAL with err saying why (not JSON, not a domain
 * object, an error object). */
int check_rdap_parse(const char *body, size_t len, struct check_registration *out, char *err, size_t errlen);

/* The WHOIS exchange: "name\r\n" to server (host[:port], default 43), the answer until the server
 * closes, at most cap octets and timeout_ms. *text (malloc'd, NUL-terminated) holds what arrived;
 * returns 0, or TERN_EIO with err (connect failure, timeout, over cap: *text keeps the part read). */
int check_whois_fetch(const char *server, const char *name, size_t cap, int timeout_ms, char **text, size_t *len,
                      char *err, size_t errlen);
