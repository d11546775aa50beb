/* The PostgreSQL store's NOTIFY payload (store_pg_payload.h): no libpq, so the fuzzer takes it alone. */
#include "ternd/store/store_pg_payload.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void pg_payload_write(uint64_t node, const uint8_t *lapex, char out[PG_PAYLOAD_MAX])
{
	size_t n = name_len(lapex);
	int at = snprintf(out, PG_PAYLOAD_MAX, "%016" PRIx64 " ", node);
	for (size_t i = 0; i < n && at + 2 < PG_PAYLOAD_MAX; i++)
		at += snprintf(out + at, PG_PAYLOAD_MAX - (size_t)at, "%02x", lapex[i]);
}

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int pg_payload_read(const char *payload, uint64_t *node, uint8_t apex[NAME_MAXLEN])
{
	uint64_t v = 0;
	size_t i = 0;
	for (; i < 16; i++) {
		int h = hexval(payload[i]);
		if (h < 0)
			return 0;
		v = v << 4 | (uint64_t)h;
	}
	if (payload[i] != ' ')
		return 0;
	const char *hex = payload + i + 1;
	size_t len = strnlen(hex, 2 * NAME_MAXLEN + 1);
	if (len == 0 || len % 2 || len / 2 > NAME_MAXLEN)
		return 0;
	for (size_t k = 0; k < len / 2; k++) {
		int hi = hexval(hex[2 * k]), lo = hexval(hex[2 * k + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		apex[k] = (uint8_t)(hi << 4 | lo);
	}
	if (name_check(apex, len / 2) != (int)(len / 2))
		return 0;
	*node = v;
	return 1;
}
