/* Private to the signals module: a signal on its way to the channels, and the exec hooks. */
#pragma once
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ternd/signals/signals.h"

struct config;
struct config_signals;
struct config_signals_mqtt;
struct text;

/* A change of state as the channels get it (a copy: the table may change meanwhile). */
struct signal_note {
	struct signal_note *next;
	enum signal_cond cond;
	enum signal_state state;
	int64_t time; /* Unix seconds */
	char *zone; /* NULL for a server-wide condition */
	char *args; /* "name=value\0" pairs */
	size_t args_len;
};

struct signal_hook {
	int cond; /* -1: every condition */
	char *exec;
	unsigned timeout_ms;
	char **env; /* NAME=VALUE, nenv of them */
	size_t nenv;
};

/* The hooks of one configuration, shared by the dispatcher while it runs them and the reload
 * that replaces them: freed with their last holder. */
struct signal_hook_set {
	atomic_uint refs;
	size_t n;
	struct signal_hook hooks[];
};

struct signal_hooks {
	struct signal_hook_set *set; /* NULL: none */
	size_t n;
};

struct stats;
struct signal_tick;
/* Once a second, from the tick's thread: signatures-expiring judged against the time. */
void signals_tick(struct signals *s);
/* The signals' clock (tick.c): a thread that once a second samples the workers' counters for
 * query-rate-high, query-rate-rising and ede, and calls signals_tick; its parameters from conf
 * (again at each reload). */
int signal_tick_start(struct signals *s, const struct stats *stats, const struct config *conf,
                      struct signal_tick **out);
void signal_tick_reload(struct signal_tick *r, const struct config *conf);
void signal_tick_stop(struct signal_tick *r);

/* The ede condition (ede.c): its parameters, copied by the tick at each reload. */
struct signal_ede_conf {
	uint64_t codes; /* bit c: code c signalled */
	unsigned interval, threshold, quiet, max_zones;
};
struct signal_ede;
int signal_ede_new(struct signals *s, struct signal_ede **out);
void signal_ede_free(struct signal_ede *e);
void signal_ede_conf(struct signal_ede_conf *out, const struct config *conf);
/* Once a second, on the tick's thread: the workers' EDE hits of the last second read, each
 * (zone, code) counted, ede set, set again or cleared as the interval and quiet say. */
void signal_ede_sample(struct signal_ede *e, const struct stats *stats, const struct signal_ede_conf *conf);

/* The hooks of conf (copied). 0 or TERN_ENOMEM. */
int signal_hooks_make(const struct config_signals *conf, struct signal_hooks *out);
void signal_hooks_hold(struct signal_hooks *h);
void signal_hooks_release(struct signal_hooks *h);
/* Runs each hook of note's condition in order, each within its timeout; failures are logged. */
void signal_hooks_run(const struct signal_hooks *h, const struct signal_note *note);

/* A signal's arguments ("name=value\0" pairs) as a JSON object into out. */
void signals_json_args(struct text *out, const char *args, size_t len);
/* Calls fn, with the table's lock held, for each (condition, zone) the table keeps (zone-ready is
 * not kept), as a note (its time: since when). fn must not call back into s. */
void signals_each(struct signals *s, void (*fn)(void *arg, const struct signal_note *n), void *arg);

/* zone-ready of the zones served (not kept in the table: there may be a million), as set notes,
 * from the zone at *cursor (0: the first), at most max of them; *cursor is left where the next
 * step begins. Returns false when the walk is done. The caller is a registered RCU thread, offline
 * (it is brought online for the step). */
bool signals_each_ready(struct signals *s, size_t *cursor, size_t max,
                        void (*fn)(void *arg, const struct signal_note *n), void *arg);

/* The MQTT channel (mqtt.c): a thread of its own connects to conf's broker (and reconnects, with
 * backoff, republishing signals_each and clearing crashed); notes wait for it, bounded, the newest
 * per topic. 0, or a negative TERN_E* with err. */
struct signal_mqtt;
int signal_mqtt_start(const struct config_signals_mqtt *conf, struct signals *s, struct signal_mqtt **out, char *err,
                      size_t errlen);
/* Queues note's message for the broker; never blocks on it. mq may be NULL. */
void signal_mqtt_note(struct signal_mqtt *mq, const struct signal_note *n);
/* Messages dropped because too many waited. */
uint64_t signal_mqtt_dropped(struct signal_mqtt *mq);
/* Sends what waits and crashed cleared (within 3 s), disconnects cleanly, frees mq. */
void signal_mqtt_stop(struct signal_mqtt *mq);
