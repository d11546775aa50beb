/* Exec hooks (signals_impl.h): a program per change of state, run without a shell through
 * posix_spawn, its argv and environment made from the signal, waited for within its timeout, then
 * killed. Only the dispatcher thread runs them, one at a time, so they come in the order raised. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "lib/error.h"
#include "ternd/base/config.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/signals/signals_impl.h"

#define HOOK_ARGS_MAX 16 /* arguments of a signal passed on */
#define HOOK_ENV_MAX 32 /* signals.hooks[].env entries (the configuration's bound) */

int signal_hooks_make(const struct config_signals *conf, struct signal_hooks *out)
{
	*out = (struct signal_hooks){0};
	if (!conf->nhooks)
		return 0;
	struct signal_hook_set *set = calloc(1, sizeof(*set) + conf->nhooks * sizeof(set->hooks[0]));
	if (!set)
		return TERN_ENOMEM;
	atomic_init(&set->refs, 1);
	for (size_t i = 0; i < conf->nhooks; i++) {
		set->hooks[i].cond = conf->hooks[i].cond;
		set->hooks[i].timeout_ms = conf->hooks[i].timeout_ms;
		set->n = i + 1;
		bool ok = (set->hooks[i].exec = strdup(conf->hooks[i].exec)) != NULL;
		if (ok && conf->hooks[i].nenv) {
			ok = (set->hooks[i].env = calloc(conf->hooks[i].nenv, sizeof(char *))) != NULL;
			for (size_t k = 0; ok && k < conf->hooks[i].nenv; k++) {
				ok = (set->hooks[i].env[k] = strdup(conf->hooks[i].env[k].value)) != NULL;
				set->hooks[i].nenv += ok;
			}
		}
		if (!ok) {
			out->set = set;
			signal_hooks_release(out);
			return TERN_ENOMEM;
		}
	}
	out->set = set;
	out->n = set->n;
	return 0;
}

void signal_hooks_hold(struct signal_hooks *h)
{
	if (h->set)
		atomic_fetch_add(&h->set->refs, 1);
}

void signal_hooks_release(struct signal_hooks *h)
{
	if (h->set && atomic_fetch_sub(&h->set->refs, 1) == 1) {
		for (size_t i = 0; i < h->set->n; i++) {
			free(h->set->hooks[i].exec);
			for (size_t k = 0; k < h->set->hooks[i].nenv; k++)
				free(h->set->hooks[i].env[k]);
			free(h->set->hooks[i].env);
		}
		free(h->set);
	}
	*h = (struct signal_hooks){0};
}

/* TERN_SERIAL from "serial": upper-cased, '-' as '_'. */
static void env_name(const char *arg, size_t len, char *out, size_t cap)
{
	size_t n = snprintf(out, cap, "TERN_");
	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		char c = arg[i];
		out[n++] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
	}
	out[n] = 0;
}

static void run_one(const struct signal_hook *hook, const struct signal_note *note)
{
	char when[32], zone_env[1100], cond_env[64], state_env[32], time_env[48];
	char *argv[4 + HOOK_ARGS_MAX + 1], *envp[6 + HOOK_ARGS_MAX + HOOK_ENV_MAX + 1];
	char envbuf[HOOK_ARGS_MAX][1100];
	size_t na = 0, ne = 0;
	struct tm tm;
	time_t t = (time_t)note->time;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	argv[na++] = hook->exec;
	argv[na++] = (char *)signal_cond_name(note->cond);
	argv[na++] = (char *)signal_state_name(note->state);
	snprintf(cond_env, sizeof(cond_env), "TERN_CONDITION=%s", signal_cond_name(note->cond));
	snprintf(state_env, sizeof(state_env), "TERN_STATE=%s", signal_state_name(note->state));
	snprintf(time_env, sizeof(time_env), "TERN_TIME=%s", when);
	envp[ne++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	envp[ne++] = cond_env;
	envp[ne++] = state_env;
	envp[ne++] = time_env;
	if (note->zone) {
		snprintf(zone_env, sizeof(zone_env), "TERN_ZONE=%s", note->zone);
		envp[ne++] = zone_env;
	}
	size_t k = 0;
	for (size_t at = 0; at < note->args_len && k < HOOK_ARGS_MAX; k++) {
		char *pair = note->args + at;
		size_t plen = strlen(pair);
		const char *eq = strchr(pair, '=');
		argv[na++] = pair;
		char name[64];
		env_name(pair, eq ? (size_t)(eq - pair) : plen, name, sizeof(name));
		snprintf(envbuf[k], sizeof(envbuf[k]), "%s=%s", name, eq ? eq + 1 : "");
		envp[ne++] = envbuf[k];
		at += plen + 1;
	}
	for (size_t i = 0; i < hook->nenv && i < HOOK_ENV_MAX; i++)
		envp[ne++] = hook->env[i];
	argv[na] = NULL;
	envp[ne] = NULL;
	pid_t pid;
	/* the program starts with no signal blocked and every handler at its default (ternd's threads
	 * block SIGTERM, SIGHUP and SIGINT for sigwait: a hook must not inherit that) */
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	int e = posix_spawnattr_init(&attr);
	if (!e)
		e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!e)
		e = posix_spawnattr_setsigmask(&attr, &none);
	if (!e)
		e = posix_spawnattr_setsigdefault(&attr, &all);
	if (!e)
		e = posix_spawn(&pid, hook->exec, NULL, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	if (e) {
		log_warning("signals: hook %s (%s %s): cannot run: %s", hook->exec, argv[1], argv[2], strerror(e));
		return;
	}
	uint64_t deadline = ev_clock_ms() + hook->timeout_ms;
	int status = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			log_warning("signals: hook %s: waitpid: %s", hook->exec, strerror(errno));
			return;
		}
		if (ev_clock_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			log_warning("signals: hook %s (%s %s) killed after %u ms", hook->exec, argv[1], argv[2],
			            hook->timeout_ms);
			return;
		}
		struct timespec ts = {0, 2 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warning("signals: hook %s (%s %s) exited with %d", hook->exec, argv[1], argv[2],
		            WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warning("signals: hook %s (%s %s) ended by signal %d", hook->exec, argv[1], argv[2],
		            WTERMSIG(status));
}

void signal_hooks_run(const struct signal_hooks *h, const struct signal_note *note)
{
	if (!h->set)
		return;
	for (size_t i = 0; i < h->set->n; i++)
		if (h->set->hooks[i].cond < 0 || h->set->hooks[i].cond == (int)note->cond)
			run_one(&h->set->hooks[i], note);
}
