/* The D-Bus channel (signals_dbus.h): ternd owns org.tern.ternd on the bus configured and emits a
 * signal per change, on /org/tern/ternd: condition (s, s, s, a{ss}, x) for every condition, and
 * Knot's members with Knot's arguments where the meaning is the same. Only the dispatcher thread
 * talks to the bus, and never longer than a deadline per call: a bus that is down costs a backoff. */
#include "ternd/signals/signals_dbus.h"

#include <dbus/dbus.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"

#define SIGNAL_DBUS_TIMEOUT_MS 1000 /* per call to the bus (Hello, RequestName) and per flush */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define TEXT_MAX 1100 /* a zone's name or an argument as text */
#define SYSTEM_BUS_DEFAULT "unix:path=/run/dbus/system_bus_socket"

struct signal_dbus {
	DBusConnection *conn; /* NULL: not connected */
	char *bus; /* what conn is (or is to be) opened for */
	uint64_t retry_at; /* ev_clock_ms: no attempt to connect before */
	unsigned backoff_ms;
	bool failing; /* the failure is logged; the next is only counted, until a success */
	uint64_t unsent_seen; /* unsent when last connected: more now, and a connection catches up */
	void (*catch_up)(void *arg, const struct signal_note *now);
	void *catch_up_arg;
	atomic_bool connected;
	atomic_uint_fast64_t unsent;
};

struct signal_dbus *signal_dbus_new(void (*catch_up)(void *arg, const struct signal_note *now), void *arg)
{
	struct signal_dbus *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->catch_up = catch_up;
	d->catch_up_arg = arg;
	atomic_init(&d->connected, false);
	atomic_init(&d->unsent, 0);
	return d;
}

static void close_bus(struct signal_dbus *d)
{
	if (d->conn) {
		dbus_connection_close(d->conn);
		dbus_connection_unref(d->conn);
		d->conn = NULL;
	}
	atomic_store(&d->connected, false);
}

void signal_dbus_free(struct signal_dbus *d)
{
	if (!d)
		return;
	close_bus(d);
	free(d->bus);
	free(d);
}

bool signal_dbus_connected(const struct signal_dbus *d)
{
	return d && atomic_load(&d->connected);
}

uint64_t signal_dbus_unsent(const struct signal_dbus *d)
{
	return d ? atomic_load(&d->unsent) : 0;
}

/* The address of bus; NULL for a session bus that is not there. The environment is read here,
 * in the dispatcher, and nothing in ternd changes it. */
static const char *bus_address(const char *bus)
{
	const char *a;
	if (!strcmp(bus, "system"))
		return (a = getenv("DBUS_SYSTEM_BUS_ADDRESS")) && *a
		           ? a
		           : SYSTEM_BUS_DEFAULT; // NOLINT(concurrency-mt-unsafe)
	if (!strcmp(bus, "session"))
		return (a = getenv("DBUS_SESSION_BUS_ADDRESS")) && *a ? a : NULL; // NOLINT(concurrency-mt-unsafe)
	return bus;
}

/* A method of the bus itself, its reply waited for within the deadline. */
static DBusMessage *call_bus(DBusConnection *c, DBusError *e, const char *method, int first_type, ...)
{
	DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, method);
	if (!m)
		return NULL;
	va_list ap;
	va_start(ap, first_type);
	dbus_bool_t ok = dbus_message_append_args_valist(m, first_type, ap);
	va_end(ap);
	DBusMessage *r = ok ? dbus_connection_send_with_reply_and_block(c, m, SIGNAL_DBUS_TIMEOUT_MS, e) : NULL;
	dbus_message_unref(m);
	return r;
}

/* Connects, says Hello and takes the name (not queued behind another owner). */
static int open_bus(struct signal_dbus *d, char *err, size_t errlen)
{
	const char *addr = bus_address(d->bus);
	if (!addr) {
		snprintf(err, errlen, "DBUS_SESSION_BUS_ADDRESS is not set");
		return TERN_EINVAL;
	}
	const char *via = strcmp(addr, d->bus) ? addr : "", *sep = *via ? ": " : ""; /* system: its address */
	DBusError e;
	dbus_error_init(&e);
	DBusMessage *r = NULL;
	const char *unique = NULL, *name = SIGNAL_DBUS_NAME;
	dbus_uint32_t flags = DBUS_NAME_FLAG_DO_NOT_QUEUE, got = 0;
	DBusConnection *c = dbus_connection_open_private(addr, &e);
	if (!c)
		goto fail;
	dbus_connection_set_exit_on_disconnect(c, FALSE);
	/* authenticated first, within the deadline: a blocking call waits for that without one */
	for (uint64_t deadline = ev_clock_ms() + SIGNAL_DBUS_TIMEOUT_MS, now; !dbus_connection_get_is_authenticated(c);
	     dbus_connection_read_write(c, (int)(deadline - now))) {
		if (!dbus_connection_get_is_connected(c) || (now = ev_clock_ms()) >= deadline) {
			snprintf(err, errlen, "%s%s%s", via, sep,
			         dbus_connection_get_is_connected(c) ? "no authentication within the deadline"
			                                             : "the bus closed the connection");
			goto fail_set;
		}
	}
	if (!(r = call_bus(c, &e, "Hello", DBUS_TYPE_INVALID)) ||
	    !dbus_message_get_args(r, &e, DBUS_TYPE_STRING, &unique, DBUS_TYPE_INVALID) ||
	    !dbus_bus_set_unique_name(c, unique))
		goto fail;
	dbus_message_unref(r);
	if (!(r = call_bus(c, &e, "RequestName", DBUS_TYPE_STRING, &name, DBUS_TYPE_UINT32, &flags,
	                   DBUS_TYPE_INVALID)) ||
	    !dbus_message_get_args(r, &e, DBUS_TYPE_UINT32, &got, DBUS_TYPE_INVALID))
		goto fail;
	dbus_message_unref(r);
	r = NULL;
	if (got != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER && got != DBUS_REQUEST_NAME_REPLY_ALREADY_OWNER) {
		snprintf(err, errlen, "%s%sthe name is owned by another connection", via, sep);
		goto fail_set;
	}
	d->conn = c;
	atomic_store(&d->connected, true);
	return 0;
fail:
	snprintf(err, errlen, "%s%s%s", via, sep, dbus_error_is_set(&e) ? e.message : "out of memory");
fail_set:
	dbus_error_free(&e);
	if (r)
		dbus_message_unref(r);
	if (c) {
		dbus_connection_close(c);
		dbus_connection_unref(c);
	}
	return TERN_EIO;
}

/* s[0..n) into out as valid UTF-8 (a D-Bus string must be: libdbus aborts otherwise): bytes
 * beyond ASCII become '?' when the whole is not valid. */
static const char *utf8(const char *s, size_t n, char *out, size_t cap)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(out, s, n);
	out[n] = 0;
	if (!dbus_validate_utf8(out, NULL))
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)out[i] >= 0x80)
				out[i] = '?';
	return out;
}

static bool append_str(DBusMessageIter *it, const char *s, size_t n)
{
	char buf[TEXT_MAX];
	const char *v = utf8(s, n, buf, sizeof(buf));
	return dbus_message_iter_append_basic(it, DBUS_TYPE_STRING, &v);
}

/* condition (s condition, s state, s zone or "", a{ss} arguments, x Unix time). */
static DBusMessage *condition_message(const struct signal_note *n)
{
	DBusMessage *m = dbus_message_new_signal(SIGNAL_DBUS_PATH, SIGNAL_DBUS_CONDITIONS, "condition");
	if (!m)
		return NULL;
	DBusMessageIter it, arr, ent;
	const char *cond = signal_cond_name(n->cond), *state = signal_state_name(n->state);
	const char *zone = n->zone ? n->zone : "";
	dbus_int64_t when = n->time;
	dbus_message_iter_init_append(m, &it);
	if (!append_str(&it, cond, strlen(cond)) || !append_str(&it, state, strlen(state)) ||
	    !append_str(&it, zone, strlen(zone)) ||
	    !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{ss}", &arr))
		goto fail;
	for (size_t at = 0; at < n->args_len;) {
		const char *pair = n->args + at;
		size_t plen = strlen(pair);
		const char *eq = memchr(pair, '=', plen);
		size_t nlen = eq ? (size_t)(eq - pair) : plen;
		at += plen + 1;
		if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &ent))
			goto fail_arr;
		if (!append_str(&ent, pair, nlen) || !append_str(&ent, eq ? eq + 1 : "", eq ? plen - nlen - 1 : 0)) {
			dbus_message_iter_abandon_container(&arr, &ent);
			goto fail_arr;
		}
		if (!dbus_message_iter_close_container(&arr, &ent))
			goto fail_arr;
	}
	if (!dbus_message_iter_close_container(&it, &arr) ||
	    !dbus_message_iter_append_basic(&it, DBUS_TYPE_INT64, &when))
		goto fail;
	return m;
fail_arr:
	dbus_message_iter_abandon_container(&it, &arr);
fail:
	dbus_message_unref(m);
	return NULL;
}

static const char *arg_value(const struct signal_note *n, const char *name)
{
	size_t len = strlen(name);
	for (size_t at = 0; at < n->args_len;) {
		const char *pair = n->args + at;
		if (!strncmp(pair, name, len) && pair[len] == '=')
			return pair + len + 1;
		at += strlen(pair) + 1;
	}
	return NULL;
}

/* Knot's member for the same meaning (cz.nic.knotd.events): started () when running is set,
 * stopped () when it is cleared, zone_updated (s zone, u serial) for zone-updated,
 * zone_ksk_submission (s zone, u keytag, s keyid) when ksk-submission is set (Knot's KASP key id
 * is ternd's key tag in decimal). NULL when the condition has none (or out of memory: *oom). */
static DBusMessage *knot_message(const struct signal_note *n, bool *oom)
{
	const char *member = n->cond == SIGNAL_RUNNING && n->state == SIGNAL_SET     ? "started"
	                     : n->cond == SIGNAL_RUNNING && n->state == SIGNAL_CLEAR ? "stopped"
	                     : n->cond == SIGNAL_ZONE_UPDATED && n->zone             ? "zone_updated"
	                     : n->cond == SIGNAL_KSK_SUBMISSION && n->zone && n->state == SIGNAL_SET
	                         ? "zone_ksk_submission"
	                         : NULL;
	*oom = false;
	if (!member)
		return NULL;
	DBusMessage *m = dbus_message_new_signal(SIGNAL_DBUS_PATH, SIGNAL_DBUS_EVENTS, member);
	if (!m) {
		*oom = true;
		return NULL;
	}
	if (n->cond == SIGNAL_KSK_SUBMISSION) {
		const char *s = arg_value(n, "keytag");
		dbus_uint32_t tag = s ? (dbus_uint32_t)strtoul(s, NULL, 10) : 0;
		DBusMessageIter it;
		dbus_message_iter_init_append(m, &it);
		if (!append_str(&it, n->zone, strlen(n->zone)) ||
		    !dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &tag) ||
		    !append_str(&it, s ? s : "", s ? strlen(s) : 0)) {
			dbus_message_unref(m);
			*oom = true;
			return NULL;
		}
	}
	if (n->cond == SIGNAL_ZONE_UPDATED) {
		const char *s = arg_value(n, "serial");
		dbus_uint32_t serial = s ? (dbus_uint32_t)strtoul(s, NULL, 10) : 0;
		DBusMessageIter it;
		dbus_message_iter_init_append(m, &it);
		if (!append_str(&it, n->zone, strlen(n->zone)) ||
		    !dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &serial)) {
			dbus_message_unref(m);
			*oom = true;
			return NULL;
		}
	}
	return m;
}

/* Writes what is queued within the deadline, then reads what came: a method call to ternd is
 * answered UnknownMethod (it offers none); NameLost or a closed connection fails. */
static bool flush(struct signal_dbus *d, char *err, size_t errlen)
{
	DBusConnection *c = d->conn;
	uint64_t deadline = ev_clock_ms() + SIGNAL_DBUS_TIMEOUT_MS;
	bool lost = false;
	while (dbus_connection_get_is_connected(c) && dbus_connection_has_messages_to_send(c)) {
		uint64_t now = ev_clock_ms();
		if (now >= deadline) {
			snprintf(err, errlen, "the bus took nothing for %d ms", SIGNAL_DBUS_TIMEOUT_MS);
			return false;
		}
		dbus_connection_read_write(c, (int)(deadline - now));
	}
	dbus_connection_read_write(c, 0);
	for (DBusMessage *m; (m = dbus_connection_pop_message(c)) != NULL; dbus_message_unref(m)) {
		if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameLost"))
			lost = true;
		else if (dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_METHOD_CALL && !dbus_message_get_no_reply(m)) {
			DBusMessage *r =
			    dbus_message_new_error(m, DBUS_ERROR_UNKNOWN_METHOD, "ternd only emits signals");
			if (r) {
				dbus_connection_send(c, r, NULL);
				dbus_message_unref(r);
			}
		}
	}
	if (!dbus_connection_get_is_connected(c)) {
		snprintf(err, errlen, "the bus closed the connection");
		return false;
	}
	if (lost) {
		snprintf(err, errlen, "the name %s was taken away", SIGNAL_DBUS_NAME);
		return false;
	}
	return true;
}

static void failed(struct signal_dbus *d, const char *why)
{
	if (!d->failing)
		log_warning("signals: D-Bus (%s): %s; signals not sent are counted, the next one connects again "
		            "(after at least %u s)",
		            d->bus, why, (d->backoff_ms ? d->backoff_ms * 2 : BACKOFF_MIN_MS) / 1000);
	d->failing = true;
	d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (d->backoff_ms > BACKOFF_MAX_MS)
		d->backoff_ms = BACKOFF_MAX_MS;
	d->retry_at = ev_clock_ms() + d->backoff_ms;
}

void signal_dbus_send(struct signal_dbus *d, const char *bus, const struct signal_note *note)
{
	if (!d)
		return;
	if (!bus || (d->bus && strcmp(d->bus, bus))) { /* off, or another bus: start afresh */
		close_bus(d);
		free(d->bus);
		d->bus = NULL;
		d->failing = false;
		d->backoff_ms = 0;
		d->retry_at = 0;
	}
	if (!bus || !note)
		return;
	char err[512];
	if (!d->bus && !(d->bus = strdup(bus))) {
		atomic_fetch_add(&d->unsent, 1);
		return;
	}
	if (!d->conn) {
		if (ev_clock_ms() < d->retry_at) {
			atomic_fetch_add(&d->unsent, 1);
			return;
		}
		if (open_bus(d, err, sizeof(err)) < 0) {
			failed(d, err);
			atomic_fetch_add(&d->unsent, 1);
			return;
		}
		log_info("signals: D-Bus (%s): %s emits on %s", d->bus, SIGNAL_DBUS_NAME, SIGNAL_DBUS_PATH);
		d->failing = false;
		d->backoff_ms = 0;
		if (atomic_load(&d->unsent) != d->unsent_seen && d->catch_up) {
			d->catch_up(d->catch_up_arg, note); /* through this function: connected now */
			if (!d->conn) { /* it failed (and said so) */
				atomic_fetch_add(&d->unsent, 1);
				return;
			}
		}
		d->unsent_seen = atomic_load(&d->unsent);
	}
	bool oom;
	DBusMessage *m = condition_message(note), *k = knot_message(note, &oom);
	bool queued =
	    m && !oom && dbus_connection_send(d->conn, m, NULL) && (!k || dbus_connection_send(d->conn, k, NULL));
	if (m)
		dbus_message_unref(m);
	if (k)
		dbus_message_unref(k);
	if (!queued) {
		snprintf(err, sizeof(err), "out of memory");
		failed(d, err);
		atomic_fetch_add(&d->unsent, 1);
		return;
	}
	if (!flush(d, err, sizeof(err))) {
		close_bus(d);
		failed(d, err);
		atomic_fetch_add(&d->unsent, 1);
	}
}
