/* What a PoP's /healthz says, as the control node reads it: served and pulled zones with their
 * serials, and the PoP's own monitor states. Untrusted input: every field checked and bounded. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"
#include "ternd/usage/usage.h"

#define POPS_MAX_MEMBERS 65536 /* monitored members one PoP may report */
#define POPS_MAX_SPEC 4096 /* octets of one monitor's spec text */
#define POPS_RESULT_MAX 128 /* a member's last result, with its NUL (longer ones are cut) */

/* One zone as a PoP's /healthz reports it. */
struct pops_zone {
	uint8_t apex[NAME_MAXLEN]; /* lower-cased */
	uint32_t serial;
	bool serving;
	char state[16]; /* the PoP's word: ok, retrying, loading, expired; primary for zones it does not pull */
	int64_t last_transfer; /* Unix seconds; 0 = not reported */
};

enum pops_monitor_state { POPS_MON_UNKNOWN, POPS_MON_UP, POPS_MON_DOWN };

/* One monitored member as the PoP checks it. */
struct pops_member {
	const char *monitor; /* the monitor's spec text (into the report's specs) */
	char address[INET6_ADDRSTRLEN]; /* as inet_ntop() writes it */
	enum pops_monitor_state state;
	int64_t last_check; /* Unix seconds; 0 = none yet */
	char last_result[POPS_RESULT_MAX]; /* printable ASCII; "" = none */
};

struct pops_report {
	struct pops_zone *zones;
	size_t nzones;
	bool monitors; /* the PoP reports monitors (a PoP older than monitors does not) */
	uint64_t counts[3]; /* enum pops_monitor_state: the PoP's counts */
	bool members_listed; /* it lists its members (a PoP older than this list gives counts only) */
	struct pops_member *members;
	size_t nmembers;
	char **specs; /* each monitor's spec text once */
	size_t nspecs;
};

/* Reads a Tern /healthz body: {"status": "ok", "serials": {zone: serial}, "secondaries": {zone:
 * {state, serial, last_transfer, ...}}, "monitors": {"up", "down", "unknown", "list": [{"monitor":
 * spec, "members": [{address, state, last_check, last_result}]}]}}. Zones served are in serials;
 * secondaries adds the state of pulled zones, including those not served (loading, expired).
 * "monitors" and its "list" may be absent (older PoPs). 0, or TERN_EINVAL / TERN_ENOMEM with the
 * field at fault in err; *out is then empty. */
int pops_parse_healthz(const char *body, size_t len, struct pops_report *out, char *err, size_t errlen);
void pops_report_free(struct pops_report *r);
const char *pops_monitor_state_name(enum pops_monitor_state s);

/* ---- a PoP's query counters (GET /pop/v1/usage) ---- */

#define POPS_USAGE_PAGE 1000 /* zones one page holds at most (the control node asks for this many) */
#define POPS_USAGE_MAX_COUNT (1ull << 53) /* a counter, at most (a million a second for 285 years) */

/* One page of a PoP's counters: zones in name_cmp() order, each after the one asked after. */
struct pops_usage_page {
	char epoch[USAGE_EPOCH_LEN + 1];
	struct usage_pop_count *zones;
	size_t nzones;
	bool more; /* another page follows: ask after the last zone of this one */
};

/* Reads {"epoch": 32 lower-case hex digits, "zones": [{"zone": name, "queries": n}], "more": bool}:
 * at most POPS_USAGE_PAGE zones, counters up to POPS_USAGE_MAX_COUNT, lower-cased, strictly in name_cmp() order and
 * after `after` (NULL: the first page), so a round of pages names each zone once and always moves on; more only with
 * zones. 0, or TERN_EINVAL / TERN_ENOMEM with the field at fault in err; *out is then empty. */
int pops_parse_usage(const char *body, size_t len, const uint8_t *after, struct pops_usage_page *out, char *err,
                     size_t errlen);
void pops_usage_page_free(struct pops_usage_page *pg);
