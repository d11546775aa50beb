/* In-tree hints in the write path (draft-kolkman-dns-in-tree-hints): the `_in-tree.<apex> TXT` a
 * zone's owner publishes, its value checked on every write of it, and a zone file of the
 * configuration marked with zones[i].in-tree-expires given the record before it is imported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/hints.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "ternd/base/config.h"
#include "ternd/change/change.h"
#include "ternd/change/change_impl.h"

bool change_intree_owner(const uint8_t *apex, uint8_t owner[NAME_MAXLEN])
{
	static const uint8_t label[] = {8, '_', 'i', 'n', '-', 't', 'r', 'e', 'e'};
	size_t n = name_len(apex);
	if (n + sizeof(label) > NAME_MAXLEN)
		return false;
	memcpy(owner, label, sizeof(label));
	memcpy(owner + sizeof(label), apex, n);
	return true;
}

int change_intree_value(const uint8_t *rdata, size_t size, unsigned count, long long *at, char *err, size_t errlen)
{
	char strs[2][256];
	size_t lens[2];
	if (count != 1) {
		snprintf(err, errlen, "%u records: the in-tree promise is one TXT record", count);
		return TERN_EINVAL;
	}
	size_t len = size >= 2 ? (size_t)(rdata[0] << 8 | rdata[1]) : 0;
	if (size < 2 || len + 2 != size) {
		snprintf(err, errlen, "a malformed TXT record");
		return TERN_EINVAL;
	}
	int k = hints_txt_strings(rdata + 2, len, strs, lens, 2);
	if (k == 2) { /* capped at 2: how many there are (the strings split exactly) */
		k = 0;
		for (size_t at = 0; at < len; at += 1 + (size_t)rdata[2 + at])
			k++;
	}
	if (k != 1) {
		snprintf(err, errlen,
		         k < 0 ? "a malformed TXT record"
		               : "%d character-strings: the in-tree promise is one (an RFC 3339 date-time)",
		         k);
		return TERN_EINVAL;
	}
	char why[200];
	if (hints_time_parse(strs[0], lens[0], at, why, sizeof(why)) < 0) {
		char shown[64] = "";
		size_t j = 0;
		for (size_t i = 0; i < lens[0] && j + 5 < sizeof(shown); i++) /* the value, control octets escaped */
			j += (size_t)snprintf(shown + j, sizeof(shown) - j,
			                      (unsigned char)strs[0][i] < 0x20 || (unsigned char)strs[0][i] >= 0x7f ||
			                              strs[0][i] == '"' || strs[0][i] == '\\'
			                          ? "\\%03u"
			                          : "%c",
			                      (unsigned char)strs[0][i]);
		snprintf(err, errlen, "\"%s\": %s", shown, why);
		return TERN_EINVAL;
	}
	return 0;
}

int change_intree_check(const uint8_t *apex, const struct change_rrset *ch, size_t n, struct change_result *r)
{
	uint8_t owner[NAME_MAXLEN];
	if (!change_intree_owner(apex, owner))
		return 0;
	for (size_t i = 0; i < n; i++) {
		long long at;
		char err[300], name[NAME_MAXLEN * 4 + 1];
		if (ch[i].type != RR_TXT || ch[i].count == 0 || !name_equal(ch[i].owner, owner))
			continue;
		if (change_intree_value(ch[i].rdata, ch[i].rdata_size, ch[i].count, &at, err, sizeof(err)) == 0)
			continue;
		name_to_text(owner, name, sizeof(name));
		r->step = CHANGE_REFUSED;
		r->code = TERN_EZONE;
		r->index = i;
		snprintf(r->msg, sizeof(r->msg),
		         "%s TXT: %s (the in-tree promise of draft-kolkman-dns-in-tree-hints: one record, one "
		         "character-string, an RFC 3339 date-time such as \"2027-06-01T00:00:00Z\")",
		         name, err);
		return r->code;
	}
	return 0;
}

uint32_t change_intree_ttl(const struct dnssec_policy *p)
{
	return p && p->max_zone_ttl && p->max_zone_ttl < CHANGE_INTREE_TTL ? p->max_zone_ttl : CHANGE_INTREE_TTL;
}

/* Whether a name of the NS RRset at the apex lies inside the zone (not the apex itself). */
static bool ns_inside(const struct zone *z, char *names, size_t cap)
{
	const struct rrset *ns = z->apex_node ? zone_node_rrset(z->apex_node, RR_NS) : NULL;
	bool inside = false;
	names[0] = 0;
	const uint8_t *rec = ns ? ns->rdata : NULL;
	for (uint16_t k = 0; ns && k < ns->count; k++, rec = rdata_next(rec)) {
		const uint8_t *rd = rdata_bytes(rec);
		char t[NAME_MAXLEN * 4 + 1];
		if (name_check(rd, rdata_len(rec)) < 0)
			continue;
		inside |= name_in(rd, z->apex) && !name_equal(rd, z->apex);
		if (name_to_text(rd, t, sizeof(t)) >= 0 && strlen(names) + strlen(t) + 2 < cap)
			snprintf(names + strlen(names), cap - strlen(names), " %s", t);
	}
	return inside;
}

struct intree_copy {
	struct zone_builder *b;
	const uint8_t *owner;
};

/* Every record of n into the builder, but an _in-tree TXT (the configuration's replaces it). */
static int copy_node(void *arg, const struct zone_node *n)
{
	struct intree_copy *cp = arg;
	bool at_owner = name_equal(n->owner, cp->owner);
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i];
		if (at_owner && rs->type == RR_TXT)
			continue;
		const uint8_t *rec = rs->rdata;
		for (uint16_t k = 0; k < rs->count; k++, rec = rdata_next(rec))
			if (zone_builder_add(cp->b, n->owner, rs->type, rs->ttl, rdata_bytes(rec), rdata_len(rec), 0) <
			    0)
				return TERN_ENOMEM;
	}
	return 0;
}

int change_config_intree(const struct config_zone *cz, struct zone **z, char *err, size_t errlen)
{
	char names[512];
	if (!cz->in_tree_expires)
		return 0;
	if (!ns_inside(*z, names, sizeof(names))) {
		snprintf(err, errlen,
		         "in-tree-expires: no name server of %s lies inside it (NS:%s): in-tree hints need an "
		         "in-bailiwick server",
		         cz->name, names[0] ? names : " none");
		return TERN_ECONFIG;
	}
	uint8_t owner[NAME_MAXLEN], rd[64];
	if (!change_intree_owner(cz->apex, owner)) {
		snprintf(err, errlen, "in-tree-expires: _in-tree.%s is too long a name", cz->name);
		return TERN_ECONFIG;
	}
	time_t t = (time_t)cz->in_tree_at;
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t len = strftime((char *)rd + 1, sizeof(rd) - 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
	rd[0] = (uint8_t)len;
	struct intree_copy cp = {zone_builder_new((*z)->apex), owner};
	int rc = cp.b ? zone_foreach(*z, copy_node, &cp) : TERN_ENOMEM;
	if (rc == 0)
		rc = zone_builder_add(cp.b, owner, RR_TXT, change_intree_ttl(cz->policy), rd, (uint16_t)(len + 1), 0);
	if (rc < 0) {
		zone_builder_free(cp.b);
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	struct zone *out = NULL;
	rc = zone_build(cp.b, cz->file ? cz->file : cz->name, &out, err, errlen);
	if (rc < 0)
		return rc;
	zone_free(*z);
	*z = out;
	return 0;
}

int change_intree_served(const struct zone *z, long long *at, char *err, size_t errlen)
{
	uint8_t owner[NAME_MAXLEN];
	if (!change_intree_owner(z->apex, owner))
		return TERN_ENOTFOUND;
	const struct zone_node *n = zone_find(z, owner, name_len(owner));
	const struct rrset *rs = n ? zone_node_rrset(n, RR_TXT) : NULL;
	if (!rs)
		return TERN_ENOTFOUND;
	return change_intree_value(rs->rdata, rs->rdata_size, rs->count, at, err, errlen);
}
