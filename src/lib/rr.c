/* Resource record types: codes, names, and where names sit inside each type's RDATA. */
#include "lib/rr.h"

#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"

static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
    {RR_A, "A"},         {RR_NS, "NS"},       {RR_CNAME, "CNAME"},   {RR_SOA, "SOA"},     {RR_PTR, "PTR"},
    {RR_HINFO, "HINFO"}, {RR_MX, "MX"},       {RR_TXT, "TXT"},       {RR_AAAA, "AAAA"},   {RR_SRV, "SRV"},
    {RR_NAPTR, "NAPTR"}, {RR_DNAME, "DNAME"}, {RR_OPT, "OPT"},       {RR_DS, "DS"},       {RR_SSHFP, "SSHFP"},
    {RR_RRSIG, "RRSIG"}, {RR_NSEC, "NSEC"},   {RR_DNSKEY, "DNSKEY"}, {RR_NSEC3, "NSEC3"}, {RR_NSEC3PARAM, "NSEC3PARAM"},
    {RR_TLSA, "TLSA"},   {RR_SVCB, "SVCB"},   {RR_HTTPS, "HTTPS"},   {RR_TSIG, "TSIG"},   {RR_IXFR, "IXFR"},
    {RR_AXFR, "AXFR"},   {RR_MAILB, "MAILB"}, {RR_MAILA, "MAILA"},   {RR_ANY, "ANY"},     {RR_CAA, "CAA"},
    {RR_DYN, "DYN"},
};

const char *rr_type_name(uint16_t type, char buf[16])
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	snprintf(buf, 16, "TYPE%u", type);
	return buf;
}

bool rr_type_is_meta(uint16_t type)
{
	return type == RR_OPT || (type >= 128 && type <= 255) || type == 0;
}

/* One name at *pos inside RDATA: must be complete and uncompressed. */
static int check_name(const uint8_t *rd, size_t len, size_t *pos)
{
	if (*pos > len)
		return TERN_EMALF;
	int n = name_check(rd + *pos, len - *pos);
	if (n < 0)
		return TERN_EMALF;
	*pos += (size_t)n;
	return 0;
}

/* One <character-string> (length octet, then the octets). */
static int check_string(const uint8_t *rd, size_t len, size_t *pos)
{
	if (*pos >= len || *pos + 1 + rd[*pos] > len)
		return TERN_EMALF;
	*pos += 1u + rd[*pos];
	return 0;
}

/* A type bitmap (RFC 4034 4.1.2): windows in increasing order, 1..32 octets each. */
static int check_bitmap(const uint8_t *rd, size_t len, size_t pos)
{
	int last = -1;
	while (pos < len) {
		if (pos + 2 > len || rd[pos] <= last || rd[pos + 1] == 0 || rd[pos + 1] > 32 ||
		    pos + 2 + rd[pos + 1] > len)
			return TERN_EMALF;
		last = rd[pos];
		pos += 2u + rd[pos + 1];
	}
	return 0;
}

/* SvcParams (RFC 9460 2.2): keys strictly increasing, and the values of the keys that have an
 * inner structure well formed. */
static int check_svc_params(const uint8_t *rd, size_t len, size_t pos)
{
	for (int last = -1; pos < len;) {
		if (pos + 4 > len)
			return TERN_EMALF;
		int key = wire_get16(rd + pos);
		size_t vlen = wire_get16(rd + pos + 2), v = pos + 4;
		if (key <= last || v + vlen > len)
			return TERN_EMALF;
		last = key;
		switch (key) {
		case 0: /* mandatory: keys */
			if (vlen == 0 || vlen % 2)
				return TERN_EMALF;
			break;
		case 1: /* alpn: strings */
			for (size_t p = v; p < v + vlen;)
				if (rd[p] == 0 || check_string(rd, v + vlen, &p) < 0)
					return TERN_EMALF;
			if (vlen == 0)
				return TERN_EMALF;
			break;
		case 2: /* no-default-alpn */
			if (vlen != 0)
				return TERN_EMALF;
			break;
		case 3: /* port */
			if (vlen != 2)
				return TERN_EMALF;
			break;
		case 4: /* ipv4hint */
			if (vlen == 0 || vlen % 4)
				return TERN_EMALF;
			break;
		case 6: /* ipv6hint */
			if (vlen == 0 || vlen % 16)
				return TERN_EMALF;
			break;
		}
		pos = v + vlen;
	}
	return 0;
}

#define OPAQUE 1 /* a type whose structure check_shape() does not know */

/* 0 or TERN_EMALF for the types whose structure is known, OPAQUE for the rest. */
static int check_shape(uint16_t type, const uint8_t *rd, size_t len)
{
	size_t pos = 0;
	switch (type) {
	case RR_A: return len == 4 ? 0 : TERN_EMALF;
	case RR_AAAA: return len == 16 ? 0 : TERN_EMALF;
	case RR_NS:
	case RR_CNAME:
	case RR_PTR:
	case RR_DNAME:
		if (check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		break;
	case RR_SOA:
		if (check_name(rd, len, &pos) < 0 || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		pos += 20;
		break;
	case RR_MINFO:
	case RR_RP:
		if (check_name(rd, len, &pos) < 0 || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		break;
	case RR_MX:
	case RR_AFSDB:
	case RR_RT:
	case RR_KX:
		pos = 2;
		if (len < pos || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		break;
	case RR_SRV:
		pos = 6;
		if (len < pos || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		break;
	case RR_SVCB:
	case RR_HTTPS:
		pos = 2;
		if (len < pos || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		return check_svc_params(rd, len, pos);
	case RR_TXT:
	case RR_SPF:
	case RR_DYN:
		if (len == 0)
			return TERN_EMALF;
		while (pos < len)
			if (check_string(rd, len, &pos) < 0)
				return TERN_EMALF;
		break;
	case RR_HINFO:
		if (check_string(rd, len, &pos) < 0 || check_string(rd, len, &pos) < 0)
			return TERN_EMALF;
		break;
	case RR_NAPTR:
		pos = 4;
		if (len < pos || check_string(rd, len, &pos) < 0 || check_string(rd, len, &pos) < 0 ||
		    check_string(rd, len, &pos) < 0 || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		break;
	case RR_DS:
	case RR_CDS:
	case RR_DNSKEY:
	case RR_CDNSKEY:
	case RR_URI: return len >= 4 ? 0 : TERN_EMALF;
	case RR_SSHFP: return len >= 2 ? 0 : TERN_EMALF;
	case RR_TLSA:
	case RR_SMIMEA: return len >= 3 ? 0 : TERN_EMALF;
	case RR_ZONEMD: return len >= 6 ? 0 : TERN_EMALF;
	case RR_LOC: return len == 16 && rd[0] == 0 ? 0 : TERN_EMALF;
	case RR_EUI48: return len == 6 ? 0 : TERN_EMALF;
	case RR_EUI64: return len == 8 ? 0 : TERN_EMALF;
	case RR_RRSIG:
		pos = 18;
		if (len < pos || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		return 0; /* the signature: any length */
	case RR_NSEC:
		if (check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		return check_bitmap(rd, len, pos);
	case RR_NSEC3:
		pos = 4; /* algorithm, flags, iterations; then salt, hash, bitmap */
		if (len < pos || check_string(rd, len, &pos) < 0 || pos >= len || rd[pos] == 0 ||
		    check_string(rd, len, &pos) < 0) /* salt, then a hash of one octet or more */
			return TERN_EMALF;
		return check_bitmap(rd, len, pos);
	case RR_NSEC3PARAM:
		pos = 4;
		if (len < pos || check_string(rd, len, &pos) < 0)
			return TERN_EMALF;
		break;
	case RR_CSYNC:
		pos = 6;
		if (len < pos)
			return TERN_EMALF;
		return check_bitmap(rd, len, pos);
	case RR_CAA:
		if (len < 2 || rd[1] == 0 || (size_t)rd[1] + 2 > len)
			return TERN_EMALF;
		return 0;
	default: return OPAQUE;
	}
	return pos == len ? 0 : TERN_EMALF;
}

int rr_rdata_check(uint16_t type, const uint8_t *rd, size_t len)
{
	int rc = check_shape(type, rd, len);
	return rc == OPAQUE ? 0 : rc;
}

size_t rr_soa_serial_offset(const uint8_t *rd)
{
	size_t off = name_len(rd);
	return off + name_len(rd + off);
}

bool rr_rdata_checked(uint16_t type)
{
	static const uint8_t nothing[1]; /* every known type answers for empty RDATA */
	return check_shape(type, nothing, 0) != OPAQUE;
}

int rr_write_rdata(struct wire_writer *w, uint16_t type, const uint8_t *rd, uint16_t len)
{
	size_t n;
	switch (type) {
	case RR_NS:
	case RR_CNAME:
	case RR_PTR: return wire_write_name(w, rd, true);
	case RR_MX:
		if (wire_write(w, rd, 2) < 0)
			return TERN_ESPACE;
		return wire_write_name(w, rd + 2, true);
	case RR_SOA:
		n = name_len(rd);
		if (wire_write_name(w, rd, true) < 0 || wire_write_name(w, rd + n, true) < 0)
			return TERN_ESPACE;
		n += name_len(rd + n);
		return wire_write(w, rd + n, 20);
	default: return wire_write(w, rd, len);
	}
}

const uint8_t *rr_additional_target(uint16_t type, const uint8_t *rd, uint16_t len)
{
	switch (type) {
	case RR_NS: return rd;
	case RR_MX: /* "." is a null MX (RFC 7505) or a refused SRV service: nothing to look up */
		return len > 2 && rd[2] != 0 ? rd + 2 : NULL;
	case RR_SRV: return len > 6 && rd[6] != 0 ? rd + 6 : NULL;
	case RR_SVCB:
	case RR_HTTPS: return (len > 2 && rd[2] != 0) ? rd + 2 : NULL; /* "." means the owner itself */
	default: return NULL;
	}
}

/* Lower-cases the name at *pos of RDATA (len octets) and moves past it; false when no complete
 * name is there (a type rr_rdata_check() holds opaque), which ends canonicalisation. */
static bool lower_name_at(uint8_t *rd, size_t len, size_t *pos)
{
	if (*pos >= len)
		return false;
	int n = name_check(rd + *pos, len - *pos);
	if (n < 0)
		return false;
	name_lower(rd + *pos);
	*pos += (size_t)n;
	return true;
}

/* Moves past a <character-string>; false when it does not fit. */
static bool skip_string(const uint8_t *rd, size_t len, size_t *pos)
{
	return check_string(rd, len, pos) == 0;
}

/* The obsolete types RFC 4034 6.2 still lists; rr_rdata_check() holds them opaque. */
enum { RR_MD = 3, RR_MF = 4, RR_MB = 7, RR_MG = 8, RR_MR = 9, RR_SIG = 24, RR_PX = 26, RR_NXT = 30, RR_A6 = 38 };

void rr_rdata_canonical(uint16_t type, const uint8_t *rdata, uint16_t len, uint8_t *out)
{
	memcpy(out, rdata, len);
	size_t pos = 0;
	switch (type) {
	case RR_NS:
	case RR_MD:
	case RR_MF:
	case RR_CNAME:
	case RR_MB:
	case RR_MG:
	case RR_MR:
	case RR_PTR:
	case RR_DNAME:
	case RR_NXT: /* the next name, then a bitmap */ lower_name_at(out, len, &pos); break;
	case RR_SOA:
	case RR_MINFO:
	case RR_RP:
		if (lower_name_at(out, len, &pos))
			lower_name_at(out, len, &pos);
		break;
	case RR_MX:
	case RR_AFSDB:
	case RR_RT:
	case RR_KX:
		pos = 2;
		lower_name_at(out, len, &pos);
		break;
	case RR_PX:
		pos = 2;
		if (lower_name_at(out, len, &pos))
			lower_name_at(out, len, &pos);
		break;
	case RR_SRV:
		pos = 6;
		lower_name_at(out, len, &pos);
		break;
	case RR_NAPTR:
		pos = 4;
		if (skip_string(out, len, &pos) && skip_string(out, len, &pos) && skip_string(out, len, &pos))
			lower_name_at(out, len, &pos);
		break;
	case RR_SIG:
	case RR_RRSIG:
		pos = 18;
		lower_name_at(out, len, &pos);
		break;
	case RR_A6: /* prefix length, the address suffix, then the prefix name when the length is not 0 */
		if (len >= 1 && out[0] > 0 && out[0] <= 128) {
			pos = 1 + (size_t)(128 - out[0] + 7) / 8;
			lower_name_at(out, len, &pos);
		}
		break;
	default: break;
	}
}
