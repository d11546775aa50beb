/* Dynamic updates (RFC 2136): an UPDATE to an API zone, signed with a TSIG key the configuration's
 * update.acl lets change what it asks, is applied through the change module's one write path
 * (journal, NOTIFY, IXFR, re-signing) all or nothing, as one change whose principal is the key. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct server;
struct change;
struct store;
struct update_server;

/* The tenant's rate limit an update counts against (the API's, shared: main wires api_rate_take):
 * take() is true when the tenant may write now, else false with the rate in force and the seconds
 * to wait. Called on the receiving thread, an online RCU reader. */
struct update_limit {
	bool (*take)(void *arg, const char *tenant, unsigned *rate, unsigned *wait);
	void *arg;
};

/* Wires UPDATE into srv (srv->update); limit (copied; NULL or take NULL: no limit) is consulted
 * once an update is allowed, before it is written. update_stop unwires it and waits for the
 * updates under way: call it before the change module, the store and what limit calls close (the
 * transports may still run). */
int update_start(struct server *srv, struct change *change, struct store *store, const struct update_limit *limit,
                 struct update_server **out);
void update_stop(struct server *srv, struct update_server *u);
