/* RFC 2136 dynamic updates as data: an UPDATE message read into its zone, prerequisites and updates
 * (update_parse), the prerequisites judged against a version of the zone (update_check), and the
 * updates turned into whole RRsets to store (update_changes) by RFC 2136 3.4.2's rules. No I/O,
 * no keys: TSIG, access and the write are the server's. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"
#include "lib/zone.h"

/* RCODEs of RFC 1035 and RFC 2136 2.2 */
enum {
	UPDATE_NOERROR = 0,
	UPDATE_FORMERR = 1,
	UPDATE_SERVFAIL = 2,
	UPDATE_NXDOMAIN = 3,
	UPDATE_NOTIMP = 4,
	UPDATE_REFUSED = 5,
	UPDATE_YXDOMAIN = 6,
	UPDATE_YXRRSET = 7,
	UPDATE_NXRRSET = 8,
	UPDATE_NOTAUTH = 9,
	UPDATE_NOTZONE = 10,
};

#define UPDATE_OPCODE 5

/* One record of the prerequisite or update section: owner lower-cased, RDATA with its names
 * expanded (pointing into the update's buffer). */
struct update_rr {
	uint8_t owner[NAME_MAXLEN];
	uint16_t type, cls;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlen;
};

struct update {
	uint16_t id;
	uint8_t zone[NAME_MAXLEN]; /* lower-cased */
	uint16_t zclass;
	struct update_rr *prereq, *upd;
	size_t nprereq, nupd;
	size_t tsig_at; /* offset of the TSIG record (the last of the additional section), 0: none */
	uint8_t *buf; /* the expanded RDATA */
};

/* Reads msg (an UPDATE request) into *u. max_rrs bounds prerequisites and updates together.
 * Returns 0, or the RCODE to answer with the reason in err: FORMERR (the zone section is not one
 * SOA question of class IN, a prerequisite or update of a class, TTL, type or RDATA the RFC does
 * not allow, a message cut short), NOTZONE (a record outside the zone), REFUSED (more than
 * max_rrs records, or an update of a type Tern keeps out of dynamic updates: DYN). *u needs
 * update_free() after a 0 only; err may be NULL. */
int update_parse(const uint8_t *msg, size_t len, size_t max_rrs, struct update *u, char *err, size_t errlen);
void update_free(struct update *u);

/* Whether an update adds or removes a type the signer keeps (RRSIG, NSEC, NSEC3, NSEC3PARAM,
 * DNSKEY, CDS, CDNSKEY): refused for a signed zone. */
bool update_touches_dnssec(const struct update *u);

/* RFC 2136 3.2, in the order of the section: 0 when every prerequisite holds in z, else the first
 * failure's RCODE (NXDOMAIN, YXDOMAIN, NXRRSET, YXRRSET) with what failed in err. */
int update_check(const struct zone *z, const struct update *u, char *err, size_t errlen);

/* RFC 2136 3.4.2 applied in order to z: each RRset the updates change, whole as it ends (count 0:
 * deleted), ttl its records' one TTL, in *out (malloc'd, with its RDATA: update_changes_free). An
 * add with RDATA already in the RRset replaces it (its TTL too); the RRset takes the TTL of the
 * last record added. Ignored as the RFC says: an SOA whose serial is not greater, or not at the
 * apex; a CNAME at a name with other data, other data at a CNAME (the signer's types aside);
 * deleting the apex SOA or NS RRset, the SOA record, or the apex's last NS record. *n may be 0.
 * Returns 0, TERN_ESPACE (an RRset of more than 65535 records) or TERN_ENOMEM. Owners point
 * into u, which must outlive *out. */
int update_changes(const struct zone *z, const struct update *u, struct zone_change **out, size_t *n);
void update_changes_free(struct zone_change *ch, size_t n);
