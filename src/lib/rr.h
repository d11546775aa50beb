/* Resource record types: codes, names, and where names sit inside each type's RDATA. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wire.h"

enum rr_type {
	RR_A = 1,
	RR_NS = 2,
	RR_CNAME = 5,
	RR_SOA = 6,
	RR_PTR = 12,
	RR_HINFO = 13,
	RR_MINFO = 14,
	RR_MX = 15,
	RR_TXT = 16,
	RR_RP = 17,
	RR_AFSDB = 18,
	RR_RT = 21,
	RR_AAAA = 28,
	RR_LOC = 29,
	RR_SRV = 33,
	RR_NAPTR = 35,
	RR_KX = 36,
	RR_DNAME = 39,
	RR_OPT = 41,
	RR_DS = 43,
	RR_SSHFP = 44,
	RR_RRSIG = 46,
	RR_NSEC = 47,
	RR_DNSKEY = 48,
	RR_NSEC3 = 50,
	RR_NSEC3PARAM = 51,
	RR_TLSA = 52,
	RR_SMIMEA = 53,
	RR_CDS = 59,
	RR_CDNSKEY = 60,
	RR_CSYNC = 62,
	RR_ZONEMD = 63,
	RR_SVCB = 64,
	RR_HTTPS = 65,
	RR_SPF = 99,
	RR_EUI48 = 108,
	RR_EUI64 = 109,
	RR_TSIG = 250,
	RR_IXFR = 251,
	RR_AXFR = 252,
	RR_MAILB = 253,
	RR_MAILA = 254,
	RR_ANY = 255,
	RR_URI = 256,
	RR_CAA = 257,
	RR_DYN = 65301, /* private use (RFC 6895 3.1): a dynamic answer's statements, lib/dyn.h */
};

#define RR_CLASS_IN 1
#define RR_CLASS_ANY 255

/* Mnemonic for a type ("A", "SVCB"), or "TYPE<n>" written into buf. */
const char *rr_type_name(uint16_t type, char buf[16]);
/* Meta types and QCLASS-only values that never appear as data (OPT, TSIG, AXFR, ANY...). */
bool rr_type_is_meta(uint16_t type);
/* Checks that RDATA is well formed for its type (names complete, fixed sizes right).
 * Unknown types are opaque and always accepted. Returns 0 or TERN_EMALF. */
int rr_rdata_check(uint16_t type, const uint8_t *rdata, size_t len);
/* Offset of the serial in well-formed SOA RDATA (after MNAME and RNAME); refresh, retry, expire
 * and minimum follow it, 4 octets each. */
size_t rr_soa_serial_offset(const uint8_t *rdata);
/* RFC 1982 serial number arithmetic: whether serial a is newer than b (undefined halfway round
 * counts as not newer). */
static inline bool rr_serial_newer(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}
/* Whether rr_rdata_check() knows the type's whole structure (so a printer may trust its inner
 * lengths); other types are only opaque bytes to it. */
bool rr_rdata_checked(uint16_t type);
/* RFC 4034 6.2 canonical RDATA: copies len octets of well-formed RDATA (rr_rdata_check) to out,
 * lower-casing the names inside it for the types item 3 of that section lists as amended by
 * RFC 6840 5.1 (NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR, MINFO, MX, RP, AFSDB, RT, SIG, PX, NXT,
 * NAPTR, KX, SRV, DNAME, A6, RRSIG; not NSEC). Other types, and the obsolete ones above that
 * rr_rdata_check() holds opaque when their names do not parse, are copied as they are. */
void rr_rdata_canonical(uint16_t type, const uint8_t *rdata, uint16_t len, uint8_t *out);
/* Writes RDATA (without the length) compressing the names that RFC 3597 allows to be compressed
 * (NS, CNAME, SOA, PTR, MX); everything else is copied verbatim. */
int rr_write_rdata(struct wire_writer *w, uint16_t type, const uint8_t *rdata, uint16_t len);
/* The target name that asks for additional-section addresses (NS, MX, SRV, SVCB, HTTPS), or NULL. */
const uint8_t *rr_additional_target(uint16_t type, const uint8_t *rdata, uint16_t len);
/* Whether records of type may have such a target: the types rr_additional_target() reads. */
static inline bool rr_has_additional(uint16_t type)
{
	return type == RR_NS || type == RR_MX || type == RR_SRV || type == RR_SVCB || type == RR_HTTPS;
}
