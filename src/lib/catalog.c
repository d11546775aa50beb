/* Catalog zones (RFC 9432 version 2) as data: a member's id, the producer's next serial, building
 * a catalog from its members and reading the members out of one. No threads, no server. */
#include "lib/catalog.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/wire.h"

#define SOA_REFRESH 300 /* consumers hear of changes by NOTIFY; this is only the fallback */
#define SOA_RETRY 60
#define SOA_EXPIRE 1209600
#define NAME_TEXT (NAME_MAXLEN * 4 + 2)
#define INVALID ((const uint8_t *)"\007invalid") /* RFC 9432 4.1: the apex NS points nowhere */
#define ZONES_LABEL ((const uint8_t *)"\005zones")
#define VERSION_LABEL ((const uint8_t *)"\007version")

/* ---- the catalog's content ---- */

void catalog_member_id(const uint8_t *member, char out[CATALOG_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t lname[NAME_MAXLEN], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t len = name_len(member);
	name_lower_copy(lname, member, len);
	if (EVP_Digest(lname, len, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen * 2 < CATALOG_ID_LEN)
		memset(md, 0, sizeof(md)); /* OpenSSL without SHA-1: cannot happen with Debian's */
	for (size_t i = 0; i < CATALOG_ID_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[CATALOG_ID_LEN] = 0;
}

uint32_t catalog_next_serial(uint32_t prev, uint32_t now)
{
	return rr_serial_newer(now, prev) ? now : prev + 1;
}

/* label.<rest> into out; false when it would be longer than a name may be. */
static bool prepend(uint8_t out[NAME_MAXLEN], const uint8_t *label, const uint8_t *rest)
{
	size_t ll = (size_t)label[0] + 1, rl = name_len(rest);
	if (ll + rl > NAME_MAXLEN)
		return false;
	memmove(out + ll, rest, rl);
	memcpy(out, label, ll);
	return true;
}

bool catalog_entry_owner(const uint8_t *apex, const uint8_t *member, uint8_t out[NAME_MAXLEN])
{
	uint8_t label[2 + CATALOG_ID_LEN]; /* length, id, and the NUL catalog_member_id() ends it with */
	label[0] = CATALOG_ID_LEN;
	catalog_member_id(member, (char *)label + 1);
	return prepend(out, ZONES_LABEL, apex) && prepend(out, label, out);
}

/* SOA RDATA (invalid. invalid. serial and fixed timers), length first as in an RRset. */
static size_t soa_rdata(uint32_t serial, uint8_t *out)
{
	size_t n = 2, il = name_len(INVALID);
	memcpy(out + n, INVALID, il);
	n += il;
	memcpy(out + n, INVALID, il);
	n += il;
	const uint32_t v[5] = {serial, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, 0};
	for (int i = 0; i < 5; i++, n += 4)
		wire_put32(out + n, v[i]);
	wire_put16(out, (uint16_t)(n - 2));
	return n;
}

int catalog_build(const uint8_t *apex, uint32_t serial, const uint8_t *const *members, size_t n, struct zone **out,
                  char *err, size_t errlen)
{
	uint8_t owner[NAME_MAXLEN], soa[2 + 2 * 9 + 20];
	char text[NAME_TEXT];
	static const uint8_t version[] = {1, '2'};
	struct zone_builder *b = zone_builder_new(apex);
	int rc = TERN_ENOMEM;
	if (!b)
		goto fail;
	size_t soalen = soa_rdata(serial, soa);
	if ((rc = zone_builder_add(b, apex, RR_SOA, 0, soa + 2, (uint16_t)(soalen - 2), 0)) < 0 ||
	    (rc = zone_builder_add(b, apex, RR_NS, 0, INVALID, (uint16_t)name_len(INVALID), 0)) < 0)
		goto fail;
	rc = TERN_ENAME;
	if (!prepend(owner, VERSION_LABEL, apex))
		goto fail;
	if ((rc = zone_builder_add(b, owner, RR_TXT, 0, version, sizeof(version), 0)) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		rc = TERN_ENAME;
		if (!catalog_entry_owner(apex, members[i], owner))
			goto fail;
		if ((rc = zone_builder_add(b, owner, RR_PTR, 0, members[i], (uint16_t)name_len(members[i]), 0)) < 0)
			goto fail;
	}
	name_to_text(apex, text, sizeof(text));
	return zone_build(b, text, out, err, errlen); /* consumes b */
fail:
	zone_builder_free(b);
	name_to_text(apex, text, sizeof(text));
	snprintf(err, errlen, "catalog %s: %s", text,
	         rc == TERN_ENAME ? "a member entry would be longer than 255 octets" : tern_strerror(rc));
	return rc;
}

/* The owner and RDATA of one PTR entry (or of the SOA) while a version is derived. */
struct entry {
	uint8_t owner[NAME_MAXLEN];
	uint8_t rdata[2 + NAME_MAXLEN];
};

int catalog_derive(const struct zone *prev, const uint8_t *const *added, size_t nadd, const uint8_t *const *removed,
                   size_t nrem, uint32_t serial, struct zone **out, char *err, size_t errlen)
{
	size_t n = nadd + nrem + 1;
	struct entry *e = malloc(n * sizeof(*e));
	struct zone_change *ch = calloc(n, sizeof(*ch));
	int rc = TERN_ENOMEM;
	if (!e || !ch)
		goto fail;
	rc = TERN_ENAME;
	for (size_t i = 0; i < nadd + nrem; i++) {
		const uint8_t *m = i < nadd ? added[i] : removed[i - nadd];
		if (!catalog_entry_owner(prev->apex, m, e[i].owner))
			goto fail;
		ch[i].owner = e[i].owner;
		ch[i].type = RR_PTR;
		if (i < nadd) {
			size_t ml = name_len(m);
			wire_put16(e[i].rdata, (uint16_t)ml);
			memcpy(e[i].rdata + 2, m, ml);
			ch[i].count = 1;
			ch[i].rdata = e[i].rdata;
			ch[i].rdata_size = (uint32_t)(2 + ml);
		}
	}
	ch[n - 1] = (struct zone_change){.owner = prev->apex, .type = RR_SOA, .count = 1, .rdata = e[n - 1].rdata};
	ch[n - 1].rdata_size = (uint32_t)soa_rdata(serial, e[n - 1].rdata);
	struct zone_apply_error ae;
	rc = zone_apply(prev, ch, n, out, &ae);
	if (rc < 0)
		snprintf(err, errlen, "%s", ae.msg);
fail:
	if (rc == TERN_ENOMEM || rc == TERN_ENAME)
		snprintf(err, errlen, "%s", rc == TERN_ENOMEM ? "out of memory" : "a member entry is too long");
	free(e);
	free(ch);
	return rc;
}

/* ---- reading a catalog ---- */

/* Appends one line to msg, silently cut when full. */
__attribute__((format(printf, 3, 4))) static void msg_add(char *msg, size_t msglen, const char *fmt, ...)
{
	size_t used = strnlen(msg, msglen);
	if (used + 2 >= msglen)
		return;
	if (used)
		msg[used++] = '\n';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + used, msglen - used, fmt, ap);
	va_end(ap);
}

int catalog_member_cmp(const void *a, const void *b)
{
	return name_cmp(((const struct catalog_member *)a)->apex, ((const struct catalog_member *)b)->apex);
}

/* Whether the TXT RRset is exactly one record holding the one string "2". */
static bool version_2(const struct rrset *rs)
{
	const uint8_t *rec = rs->rdata;
	return rs->count == 1 && rdata_len(rec) == 2 && rdata_bytes(rec)[0] == 1 && rdata_bytes(rec)[1] == '2';
}

int catalog_members(const struct zone *cat, struct catalog_member **out, size_t *n, char *msg, size_t msglen)
{
	const struct zone_node **nodes = NULL;
	struct catalog_member *m = NULL;
	size_t nnodes = 0, count = 0;
	uint8_t version[NAME_MAXLEN], zones[NAME_MAXLEN];
	char owner[NAME_TEXT], target[NAME_TEXT];
	bool have_version = false;
	int rc = TERN_ENOMEM;
	*out = NULL;
	*n = 0;
	if (msglen)
		msg[0] = 0;
	if (name_from_text(version, "version", cat->apex) < 0 || name_from_text(zones, "zones", cat->apex) < 0) {
		msg_add(msg, msglen, "the catalog's name is too long for its own properties");
		return TERN_EZONE;
	}
	if (zone_nodes_sorted(cat, &nodes, &nnodes) < 0 || !(m = calloc(nnodes + 1, sizeof(*m))))
		goto fail;
	for (size_t i = 0; i < nnodes; i++) {
		const struct zone_node *node = nodes[i];
		if (name_equal(node->owner, version)) {
			const struct rrset *txt = zone_node_rrset(node, RR_TXT);
			have_version = txt && version_2(txt);
			continue;
		}
		const uint8_t *parent = name_parent(node->owner);
		if (!parent || !name_equal(parent, zones))
			continue; /* the apex, properties (coo, group, ext) and anything else: not entries */
		const struct rrset *ptr = zone_node_rrset(node, RR_PTR);
		if (!ptr)
			continue;
		name_to_text(node->owner, owner, sizeof(owner));
		if (ptr->count != 1) {
			msg_add(msg, msglen, "%s: %u PTR records where one is allowed: entry skipped", owner,
			        ptr->count);
			continue;
		}
		const uint8_t *rec = ptr->rdata;
		if (name_check(rdata_bytes(rec), rdata_len(rec)) != (int)rdata_len(rec))
			continue; /* the zone model checked it: cannot happen */
		struct catalog_member *mb = &m[count];
		name_lower_copy(mb->apex, rdata_bytes(rec), rdata_len(rec));
		name_to_text(mb->apex, target, sizeof(target));
		if (name_in(mb->apex, cat->apex)) {
			msg_add(msg, msglen, "%s: member %s is the catalog or inside it: entry skipped", owner, target);
			continue;
		}
		count++;
	}
	if (!have_version) {
		rc = TERN_EZONE;
		if (msglen) /* the version alone is reported */
			msg[0] = 0;
		name_to_text(version, owner, sizeof(owner));
		msg_add(msg, msglen, "%s is not one TXT \"2\": not a version 2 catalog (RFC 9432 4.2.1), not processed",
		        owner);
		goto fail;
	}
	/* a zone listed twice keeps its first entry in canonical order; the others are skipped */
	qsort(m, count, sizeof(*m), catalog_member_cmp);
	size_t kept = 0;
	for (size_t i = 0; i < count; i++) {
		if (kept && name_equal(m[kept - 1].apex, m[i].apex)) {
			name_to_text(m[i].apex, target, sizeof(target));
			msg_add(msg, msglen, "member %s is listed more than once: one entry kept", target);
			continue;
		}
		m[kept++] = m[i];
	}
	free(nodes);
	*out = m;
	*n = kept;
	return 0;
fail:
	if (rc == TERN_ENOMEM)
		msg_add(msg, msglen, "out of memory reading the catalog");
	free(nodes);
	free(m);
	return rc;
}
