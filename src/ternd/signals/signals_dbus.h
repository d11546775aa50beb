/* Private to the signals module: the D-Bus channel (dbus.c), owned and called by the dispatcher
 * thread only; its counters are read by any thread. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ternd/signals/signals_impl.h"

#define SIGNAL_DBUS_NAME "org.tern.ternd"
#define SIGNAL_DBUS_PATH "/org/tern/ternd"
#define SIGNAL_DBUS_CONDITIONS "org.tern.ternd.conditions" /* member condition, for every condition */
#define SIGNAL_DBUS_EVENTS "org.tern.ternd.events" /* Knot's members (started, stopped, zone_updated) */

struct signal_dbus;

/* A channel not yet connected (it connects on its first signal). A connection made after signals
 * went unsent first calls catch_up (which sends, through signal_dbus_send, the state the bus
 * missed; now is the signal about to be sent). NULL when out of memory. */
struct signal_dbus *signal_dbus_new(void (*catch_up)(void *arg, const struct signal_note *now), void *arg);
/* Closes the connection (the name is released with it). */
void signal_dbus_free(struct signal_dbus *d);
/* Emits note on bus ("system", "session" or an address; NULL: the channel is off and closes),
 * connecting first when it is not (at most once per backoff, 1 s doubling to 60 s). Every call
 * to the bus has a deadline (SIGNAL_DBUS_TIMEOUT_MS); a signal that cannot be sent is counted,
 * and the first failure after a success is logged. note NULL: only the bus changes (a reload). */
void signal_dbus_send(struct signal_dbus *d, const char *bus, const struct signal_note *note);
/* Whether connected (owning the name), and the signals not sent. */
bool signal_dbus_connected(const struct signal_dbus *d);
uint64_t signal_dbus_unsent(const struct signal_dbus *d);
