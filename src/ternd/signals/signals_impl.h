/* Private to the signals module: a signal on its way to the channels, and the exec hooks. */
#pragma once
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ternd/signals/signals.h"

struct config;
struct config_signals;

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
struct signal_rates;
/* Once a second, from the rate sampler's thread: signatures-expiring judged against the time. */
void signals_tick(struct signals *s);
/* The query-rate sampler (rates.c), its thresholds from conf (again at each reload). */
int signal_rates_start(struct signals *s, const struct stats *stats, const struct config *conf,
                       struct signal_rates **out);
void signal_rates_reload(struct signal_rates *r, const struct config *conf);
void signal_rates_stop(struct signal_rates *r);

/* The hooks of conf (copied). 0 or TERN_ENOMEM. */
int signal_hooks_make(const struct config_signals *conf, struct signal_hooks *out);
void signal_hooks_hold(struct signal_hooks *h);
void signal_hooks_release(struct signal_hooks *h);
/* Runs each hook of note's condition in order, each within its timeout; failures are logged. */
void signal_hooks_run(const struct signal_hooks *h, const struct signal_note *note);
