/* Resource record types: codes, names, and where names sit inside each type's RDATA. */
#include "lib/rr.h"

#include <stdio.h>

#include "lib/error.h"
#include "lib/name.h"

static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
	{RR_A, "A"}, {RR_NS, "NS"}, {RR_CNAME, "CNAME"}, {RR_SOA, "SOA"}, {RR_PTR, "PTR"},
	{RR_HINFO, "HINFO"}, {RR_MX, "MX"}, {RR_TXT, "TXT"}, {RR_AAAA, "AAAA"}, {RR_SRV, "SRV"},
	{RR_NAPTR, "NAPTR"}, {RR_DNAME, "DNAME"}, {RR_OPT, "OPT"}, {RR_DS, "DS"}, {RR_SSHFP, "SSHFP"},
	{RR_RRSIG, "RRSIG"}, {RR_NSEC, "NSEC"}, {RR_DNSKEY, "DNSKEY"}, {RR_NSEC3, "NSEC3"},
	{RR_NSEC3PARAM, "NSEC3PARAM"}, {RR_TLSA, "TLSA"}, {RR_SVCB, "SVCB"}, {RR_HTTPS, "HTTPS"},
	{RR_TSIG, "TSIG"}, {RR_IXFR, "IXFR"}, {RR_AXFR, "AXFR"}, {RR_MAILB, "MAILB"},
	{RR_MAILA, "MAILA"}, {RR_ANY, "ANY"}, {RR_CAA, "CAA"},
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
	int n = name_check(rd + *pos, len - *pos);
	if (n < 0)
		return TERN_EMALF;
	*pos += (size_t)n;
	return 0;
}

int rr_rdata_check(uint16_t type, const uint8_t *rd, size_t len)
{
	size_t pos = 0;
	switch (type) {
	case RR_A:
		return len == 4 ? 0 : TERN_EMALF;
	case RR_AAAA:
		return len == 16 ? 0 : TERN_EMALF;
	case RR_NS: case RR_CNAME: case RR_PTR: case RR_DNAME:
		if (check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		break;
	case RR_SOA:
		if (check_name(rd, len, &pos) < 0 || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		pos += 20;
		break;
	case RR_MX:
		pos = 2;
		if (len < pos || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		break;
	case RR_SRV:
		pos = 6;
		if (len < pos || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		break;
	case RR_SVCB: case RR_HTTPS:
		pos = 2;
		if (len < pos || check_name(rd, len, &pos) < 0)
			return TERN_EMALF;
		/* SvcParams: key(2) len(2) value, keys strictly increasing (RFC 9460 2.2) */
		for (int last = -1; pos < len;) {
			if (pos + 4 > len)
				return TERN_EMALF;
			int key = wire_get16(rd + pos);
			size_t vlen = wire_get16(rd + pos + 2);
			if (key <= last)
				return TERN_EMALF;
			last = key;
			pos += 4 + vlen;
			if (pos > len)
				return TERN_EMALF;
		}
		return 0;
	case RR_TXT:
		if (len == 0)
			return TERN_EMALF;
		while (pos < len)
			pos += (size_t)rd[pos] + 1;
		break;
	case RR_DS:
		return len >= 4 ? 0 : TERN_EMALF;
	case RR_DNSKEY:
		return len >= 4 ? 0 : TERN_EMALF;
	case RR_CAA:
		if (len < 2 || rd[1] == 0 || (size_t)rd[1] + 2 > len)
			return TERN_EMALF;
		return 0;
	default:
		return 0;
	}
	return pos == len ? 0 : TERN_EMALF;
}

int rr_write_rdata(struct wire_writer *w, uint16_t type, const uint8_t *rd, uint16_t len)
{
	size_t n;
	switch (type) {
	case RR_NS: case RR_CNAME: case RR_PTR:
		return wire_write_name(w, rd, true);
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
	default:
		return wire_write(w, rd, len);
	}
}

const uint8_t *rr_additional_target(uint16_t type, const uint8_t *rd, uint16_t len)
{
	switch (type) {
	case RR_NS:
		return rd;
	case RR_MX: /* "." is a null MX (RFC 7505) or a refused SRV service: nothing to look up */
		return len > 2 && rd[2] != 0 ? rd + 2 : NULL;
	case RR_SRV:
		return len > 6 && rd[6] != 0 ? rd + 6 : NULL;
	case RR_SVCB: case RR_HTTPS:
		return (len > 2 && rd[2] != 0) ? rd + 2 : NULL; /* "." means the owner itself */
	default:
		return NULL;
	}
}
