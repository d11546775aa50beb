/* PoP health on the control node: one thread polls every PoP's /healthz each interval and keeps
 * each PoP's state and served serials for /api/v1/pops, /metrics and /healthz. */
#pragma once
#include <jansson.h>
#include <stddef.h>

#include "ternd/api/prom.h"
#include "ternd/base/config.h"
#include "ternd/zones/zones.h"

struct pops;

struct tsig_key;
struct usage;

/* Starts polling the PoPs of conf (copied: a reload does not change them): every PoP at once each
 * interval, each poll bounded by the timeout, the first round at once. With key (pops.key's, copied)
 * and usage, each good poll is followed by a round of the PoP's query counters, signed with the key
 * and handed to usage (usage_pop_counts). */
int pops_start(const struct config_pops *conf, const struct tsig_key *key, struct usage *usage, struct pops **out,
               char *err, size_t errlen);
/* Stops and joins the thread and frees everything. p may be NULL. */
void pops_stop(struct pops *p);

/* Every PoP as [{name, healthz, state, misses, last_ok, last_poll, last_error, zones_behind, usage (with
 * its counters taken: {queries, last_round, error}),
 * zones: [{zone, serial, state, serving, last_transfer, control_serial, behind}], monitors: {up,
 * down, unknown, members: [{monitor, address, state, last_check, last_result}]} or null}]. A zone is
 * behind when zs serves it at a newer serial than the PoP (RFC 1982 order) or the PoP does not
 * serve it. The caller is an RCU reader (zs is read). */
json_t *pops_json(struct pops *p, const struct zones *zs);
/* {"up": n, "down": n, "unknown": n} for the control node's /healthz. */
json_t *pops_summary(struct pops *p);
/* Appends to out the families tern_pop_up, tern_pop_misses and tern_pop_zones_behind, one sample
 * per PoP, tern_pop_monitors{pop, state}: the counts each PoP reports, and tern_pop_queries_total
 * when the PoPs' counters are taken. The caller is an RCU reader. */
void pops_metrics(struct pops *p, const struct zones *zs, struct text *out);
/* Whether every PoP's last report has the zone apex served at serial or a later one (RFC 1982):
 * the Route 53 API's INSYNC. A PoP down, or not yet polled, has not. Any thread. */
bool pops_serving(struct pops *p, const uint8_t *apex, uint32_t serial);
