/* Dynamic updates (RFC 2136): an UPDATE to an API zone, signed with a TSIG key the configuration's
 * update.acl lets change what it asks, is applied through the change module's one write path
 * (journal, NOTIFY, IXFR, re-signing) all or nothing, as one change whose principal is the key. */
#pragma once
#include <stddef.h>

struct server;
struct change;
struct store;
struct update_server;

/* Wires UPDATE into srv (srv->update). update_stop unwires it and waits for the updates under way:
 * call it before the change module and the store close (the transports may still run). */
int update_start(struct server *srv, struct change *change, struct store *store, struct update_server **out);
void update_stop(struct server *srv, struct update_server *u);
