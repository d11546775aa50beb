/* The MQTT channel (signals_impl.h): each change of state published, retained, at QoS 1 on
 * tern/<pop>/<condition>[/<zone>] by one thread of its own that connects, reconnects with backoff,
 * republishes the state table, and leaves the last will tern/<pop>/crashed with the broker. */
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "ternd/base/config.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/base/rcu.h"
#include "ternd/base/text.h"
#include "ternd/signals/signals_impl.h"

#define PENDING_MAX 4096 /* messages waiting for the broker; a newer one of a topic replaces */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define STOP_WAIT_MS 3000 /* on a clean stop, for the broker to take what is left */
#define READY_STEP 256 /* zones a step of the republication of zone-ready walks */
#define INFLIGHT_MAX 64 /* handed to the library, not acknowledged: beyond, messages wait here (bounded) */

struct pending {
	struct pending *next;
	char *topic, *payload;
	bool retain;
};

enum link { LINK_DOWN, LINK_CONNECTING, LINK_UP };

struct signal_mqtt {
	struct signals *signals; /* the state table, republished on each connection */
	char broker[320], host[256]; /* copies: a reload frees the configuration (the broker is not reloaded) */
	unsigned port, keepalive;
	char pop[256];
	char password[512];
	struct mosquitto *m;
	int wake; /* eventfd: something pending, or stop */
	pthread_mutex_t lock; /* pending, dropped, stop */
	struct pending *head, *tail;
	size_t npending;
	uint64_t dropped;
	bool stop;
	/* the thread's own */
	enum link link;
	bool refused, republish;
	bool ready_walk; /* zone-ready of each zone served still to be republished, from ready_cursor */
	size_t ready_cursor;
	int64_t connect_began, next_try; /* ms */
	unsigned backoff_ms;
	unsigned unacked; /* QoS 1 messages the broker has not acknowledged */
	char last_problem[256];
	struct ev_thread thread;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rfc3339(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* tern/<pop>/<condition>[/<zone>]: the zone without its final dot, '/', '+', '#' and '%' written
 * %2F, %2B, %23, %25 (a topic level holds none of them). */
static bool make_topic(const struct signal_mqtt *mq, enum signal_cond c, const char *zone, struct text *t)
{
	text_printf(t, "tern/%s/%s", mq->pop, signal_cond_name(c));
	if (zone) {
		size_t n = strlen(zone);
		if (n > 1 && zone[n - 1] == '.')
			n--;
		text_append(t, "/", 1);
		for (size_t i = 0; i < n; i++) {
			char ch = zone[i];
			if (ch == '/' || ch == '+' || ch == '#' || ch == '%' || (unsigned char)ch < 0x20)
				text_printf(t, "%%%02X", (unsigned char)ch);
			else
				text_append(t, &ch, 1);
		}
	}
	return !t->nomem;
}

/* {"condition", "state", "time", "zone"?, "arguments"}. */
static bool make_payload(const char *cond, const struct signal_note *n, struct text *t)
{
	char when[32];
	rfc3339(n->time, when);
	text_printf(t, "{\"condition\": \"%s\", \"state\": \"%s\", \"time\": \"%s\", ", cond,
	            signal_state_name(n->state), when);
	if (n->zone) {
		text_append(t, "\"zone\": ", 8);
		text_json_string(t, n->zone);
		text_append(t, ", ", 2);
	}
	text_append(t, "\"arguments\": ", 13);
	signals_json_args(t, n->args, n->args_len);
	text_append(t, "}", 1);
	return !t->nomem;
}

static void wake(struct signal_mqtt *mq)
{
	uint64_t one = 1;
	ssize_t r = write(mq->wake, &one, sizeof(one));
	(void)r; /* a full counter wakes it all the same */
}

/* Queues a message, a newer one of the same topic replacing one still waiting. With the lock. */
static void put_locked(struct signal_mqtt *mq, char *topic, char *payload, bool retain)
{
	for (struct pending *p = mq->head; p; p = p->next)
		if (!strcmp(p->topic, topic)) {
			free(p->payload);
			free(topic);
			p->payload = payload;
			p->retain = retain;
			return;
		}
	struct pending *p = NULL;
	if (mq->npending >= PENDING_MAX || !(p = calloc(1, sizeof(*p)))) {
		mq->dropped++;
		free(topic);
		free(payload);
		return;
	}
	*p = (struct pending){.topic = topic, .payload = payload, .retain = retain};
	if (mq->tail)
		mq->tail->next = p;
	else
		mq->head = p;
	mq->tail = p;
	mq->npending++;
}

/* The note as a message. */
static void put_note(struct signal_mqtt *mq, const struct signal_note *n)
{
	struct text topic = {0}, payload = {0};
	bool ok = make_topic(mq, n->cond, n->zone, &topic) && make_payload(signal_cond_name(n->cond), n, &payload);
	pthread_mutex_lock(&mq->lock);
	if (ok)
		put_locked(mq, topic.s, payload.s, n->state != SIGNAL_EVENT);
	else
		mq->dropped++, text_free(&topic), text_free(&payload);
	pthread_mutex_unlock(&mq->lock);
}

void signal_mqtt_note(struct signal_mqtt *mq, const struct signal_note *n)
{
	if (!mq)
		return;
	put_note(mq, n);
	wake(mq);
}

uint64_t signal_mqtt_dropped(struct signal_mqtt *mq)
{
	if (!mq)
		return 0;
	pthread_mutex_lock(&mq->lock);
	uint64_t n = mq->dropped;
	pthread_mutex_unlock(&mq->lock);
	return n;
}

/* ---- the connection (only the thread below touches mq->m) ---- */

/* crashed is not a condition of the table (the process cannot say it crashed): the broker says it,
 * with the will this thread leaves at each connection, and the thread clears it. */
static char *crashed_payload(enum signal_state st)
{
	char empty[1] = "";
	struct signal_note n = {.state = st, .time = (int64_t)time(NULL), .args = empty};
	struct text t = {0};
	if (!make_payload("crashed", &n, &t)) {
		text_free(&t);
		return NULL;
	}
	return t.s;
}

static void put_crashed_clear(struct signal_mqtt *mq)
{
	char topic[320];
	snprintf(topic, sizeof(topic), "tern/%s/crashed", mq->pop);
	char *t = strdup(topic), *payload = crashed_payload(SIGNAL_CLEAR);
	pthread_mutex_lock(&mq->lock);
	if (t && payload)
		put_locked(mq, t, payload, true);
	else
		mq->dropped++, free(t), free(payload);
	pthread_mutex_unlock(&mq->lock);
}

static void on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)m;
	struct signal_mqtt *mq = arg;
	if (rc) {
		log_error("signals: mqtt: %s refused the connection: %s", mq->broker, mosquitto_connack_string(rc));
		mq->refused = true;
		return;
	}
	log_info("signals: mqtt: connected to %s as %s", mq->broker, mq->pop);
	mq->link = LINK_UP;
	mq->republish = true;
	mq->backoff_ms = 0;
	mq->last_problem[0] = 0;
	mq->unacked = 0;
}

static void on_publish(struct mosquitto *m, void *arg, int mid)
{
	(void)m, (void)mid;
	struct signal_mqtt *mq = arg;
	if (mq->unacked)
		mq->unacked--;
}

/* Logs a problem once until it changes or a connection succeeds. */
static void problem(struct signal_mqtt *mq, const char *what)
{
	if (strcmp(mq->last_problem, what)) {
		log_warning("signals: mqtt: %s: %s (signals wait, newest per topic)", mq->broker, what);
		snprintf(mq->last_problem, sizeof(mq->last_problem), "%s", what);
	}
}

/* The connection is gone (or never came): the next attempt after a doubling backoff. */
static void link_lost(struct signal_mqtt *mq, const char *why)
{
	if (why)
		problem(mq, why);
	if (mq->link != LINK_DOWN)
		mosquitto_disconnect(mq->m);
	mq->link = LINK_DOWN;
	mq->refused = false;
	mq->backoff_ms = mq->backoff_ms ? mq->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (mq->backoff_ms > BACKOFF_MAX_MS)
		mq->backoff_ms = BACKOFF_MAX_MS;
	mq->next_try = now_ms() + mq->backoff_ms;
}

static void try_connect(struct signal_mqtt *mq)
{
	char topic[320];
	snprintf(topic, sizeof(topic), "tern/%s/crashed", mq->pop);
	char *will = crashed_payload(SIGNAL_SET);
	if (!will || mosquitto_will_set(mq->m, topic, (int)strlen(will), will, 1, true)) {
		free(will);
		link_lost(mq, "out of memory");
		return;
	}
	free(will);
	int rc = mosquitto_connect_async(mq->m, mq->host, (int)mq->port, (int)mq->keepalive);
	if (rc) {
		char why[256];
		snprintf(why, sizeof(why), "cannot connect: %s",
		         rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		mq->link = LINK_CONNECTING; /* so link_lost closes what was opened */
		link_lost(mq, why);
		return;
	}
	mq->link = LINK_CONNECTING;
	mq->connect_began = now_ms();
}

static void republish_one(void *arg, const struct signal_note *n)
{
	put_note(arg, n);
}

/* On a new connection: shutting-down, all-zones-ready and running cleared, then the state of every
 * condition in the table, then crashed cleared. The broker may keep retained what an earlier
 * process set (a killed one's all-zones-ready and running, a stopped one's shutting-down), which a
 * new one's table does not have; the clears go first, so the table's set (or the dispatcher's,
 * raised meanwhile) replaces them in the list rather than the other way round, and crashed is
 * cleared last, so a subscriber never sees a dead process's all-zones-ready without its crashed. */
static void republish(struct signal_mqtt *mq)
{
	static const enum signal_cond server_wide[] = {SIGNAL_SHUTTING_DOWN, SIGNAL_ALL_ZONES_READY, SIGNAL_RUNNING};
	char empty[1] = "";
	for (size_t i = 0; i < sizeof(server_wide) / sizeof(server_wide[0]); i++)
		put_note(
		    mq, &(struct signal_note){
		            .cond = server_wide[i], .state = SIGNAL_CLEAR, .time = (int64_t)time(NULL), .args = empty});
	signals_each(mq->signals, republish_one, mq);
	put_crashed_clear(mq);
	mq->ready_walk = true; /* then zone-ready of each zone, in steps (republish_ready) */
	mq->ready_cursor = 0;
}

/* A step of the walk of the zones for their zone-ready, as long as the list has room: a million
 * zones go out as the broker takes them, never more than READY_STEP at once in the list. */
static bool republish_ready(struct signal_mqtt *mq)
{
	if (!mq->ready_walk)
		return false;
	pthread_mutex_lock(&mq->lock);
	bool room = mq->npending + READY_STEP <= PENDING_MAX / 2;
	pthread_mutex_unlock(&mq->lock);
	if (room)
		mq->ready_walk = signals_each_ready(mq->signals, &mq->ready_cursor, READY_STEP, republish_one, mq);
	return room;
}

/* Hands what is pending to the library (which sends it as the socket takes it), as long as the
 * broker keeps up: the library's own queue has no bound, ours has one. */
static void publish_pending(struct signal_mqtt *mq)
{
	while (mq->unacked < INFLIGHT_MAX) {
		pthread_mutex_lock(&mq->lock);
		struct pending *p = mq->head;
		if (p) {
			mq->head = p->next;
			if (!mq->head)
				mq->tail = NULL;
			mq->npending--;
		}
		pthread_mutex_unlock(&mq->lock);
		if (!p)
			return;
		int rc = mosquitto_publish(mq->m, NULL, p->topic, (int)strlen(p->payload), p->payload, 1, p->retain);
		if (rc == MOSQ_ERR_SUCCESS) {
			mq->unacked++;
		} else if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_NOMEM) {
			pthread_mutex_lock(&mq->lock); /* back in front: sent after the reconnection */
			p->next = mq->head;
			mq->head = p;
			if (!mq->tail)
				mq->tail = p;
			mq->npending++;
			pthread_mutex_unlock(&mq->lock);
			return;
		} else {
			log_error("signals: mqtt: %s not published: %s", p->topic, mosquitto_strerror(rc));
			pthread_mutex_lock(&mq->lock);
			mq->dropped++;
			pthread_mutex_unlock(&mq->lock);
		}
		free(p->topic);
		free(p->payload);
		free(p);
	}
}

/* One turn: waits for the socket (or a wake-up) up to timeout_ms, then reads, writes, pings. */
static void turn(struct signal_mqtt *mq, int timeout_ms)
{
	struct pollfd fds[2] = {{.fd = mq->wake, .events = POLLIN}, {.fd = -1}};
	int sock = mq->link != LINK_DOWN ? mosquitto_socket(mq->m) : -1;
	if (sock >= 0)
		fds[1] = (struct pollfd){.fd = sock, .events = POLLIN | (mosquitto_want_write(mq->m) ? POLLOUT : 0)};
	if (poll(fds, 2, timeout_ms) > 0 && (fds[0].revents & POLLIN)) {
		uint64_t v;
		ssize_t r = read(mq->wake, &v, sizeof(v));
		(void)r;
	}
	if (sock < 0)
		return;
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	if (fds[1].revents & POLLERR)
		getsockopt(sock, SOL_SOCKET, SO_ERROR, &soerr, &len);
	int rc = MOSQ_ERR_SUCCESS;
	if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
		rc = mosquitto_loop_read(mq->m, 16);
	int err = errno;
	if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(mq->m))
		rc = mosquitto_loop_write(mq->m, 16), err = errno;
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_loop_misc(mq->m), err = errno;
	char why[300];
	const char *reason = soerr                      ? strerror(soerr)
	                     : rc == MOSQ_ERR_ERRNO     ? strerror(err)
	                     : rc == MOSQ_ERR_KEEPALIVE ? "no answer within the keepalive"
	                     : rc == MOSQ_ERR_CONN_LOST ? "the connection closed"
	                     : rc != MOSQ_ERR_SUCCESS   ? mosquitto_strerror(rc)
	                                                : "the connection closed";
	if (mq->refused) {
		link_lost(mq, NULL); /* logged by on_connect; the loop said nothing (it returns 0) */
	} else if (mq->link == LINK_CONNECTING && (rc != MOSQ_ERR_SUCCESS || (fds[1].revents & (POLLHUP | POLLERR)))) {
		snprintf(why, sizeof(why), "cannot connect: %s", reason); /* refused, closed in the TLS handshake ... */
		link_lost(mq, why);
	} else if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(why, sizeof(why), "connection lost: %s", reason);
		link_lost(mq, why);
	} else if (mq->link == LINK_CONNECTING &&
	           now_ms() - mq->connect_began > 1000 * (int64_t)(mq->keepalive > 5 ? mq->keepalive : 5)) {
		link_lost(mq, "cannot connect: no answer to CONNECT");
	}
}

/* On a clean stop: what is pending and crashed cleared, acknowledged (within STOP_WAIT_MS), then
 * DISCONNECT written before the socket closes (else the broker publishes the will). */
static void finish(struct signal_mqtt *mq)
{
	int64_t until = now_ms() + STOP_WAIT_MS;
	while (mq->link == LINK_CONNECTING && now_ms() < until)
		turn(mq, 50);
	if (mq->link != LINK_UP)
		return;
	put_crashed_clear(mq);
	for (;;) {
		publish_pending(mq);
		pthread_mutex_lock(&mq->lock);
		bool empty = !mq->head;
		pthread_mutex_unlock(&mq->lock);
		if ((empty && !mq->unacked) || mq->link != LINK_UP || now_ms() >= until)
			break;
		turn(mq, 50);
	}
	if (mq->link != LINK_UP)
		return;
	mosquitto_disconnect(mq->m);
	while (mosquitto_socket(mq->m) >= 0 && mosquitto_want_write(mq->m) && now_ms() < until)
		if (mosquitto_loop_write(mq->m, 16) != MOSQ_ERR_SUCCESS)
			break;
	mq->link = LINK_DOWN;
}

static void run(void *arg)
{
	struct signal_mqtt *mq = arg;
	rcu_register_thread(); /* for the walks of the zones (signals_each_ready), offline between */
	rcu_thread_offline();
	mq->next_try = now_ms();
	for (;;) {
		pthread_mutex_lock(&mq->lock);
		bool stop = mq->stop;
		pthread_mutex_unlock(&mq->lock);
		if (stop)
			break;
		if (mq->link == LINK_DOWN && now_ms() >= mq->next_try)
			try_connect(mq);
		bool stepped = false;
		if (mq->link == LINK_UP) {
			if (mq->republish) {
				mq->republish = false;
				republish(mq);
			}
			stepped = republish_ready(mq);
			publish_pending(mq);
		}
		/* a step taken: the next at once; the list full: when the broker has acknowledged some */
		int64_t wait = mq->link == LINK_DOWN ? mq->next_try - now_ms() : stepped && mq->ready_walk ? 0 : 1000;
		turn(mq, wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait);
	}
	finish(mq);
	rcu_unregister_thread();
}

/* The password: the first line of password-file. */
static int read_password(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "signals.mqtt.password-file: %s: %s", path, strerror(errno));
		return TERN_EIO;
	}
	if (!fgets(out, (int)cap, f))
		out[0] = 0;
	fclose(f);
	out[strcspn(out, "\r\n")] = 0;
	return 0;
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void)
{
	mosquitto_lib_init();
}

static void free_pending(struct signal_mqtt *mq)
{
	for (struct pending *p = mq->head, *next; p; p = next) {
		next = p->next;
		free(p->topic);
		free(p->payload);
		free(p);
	}
	mq->head = mq->tail = NULL;
	mq->npending = 0;
}

static void destroy(struct signal_mqtt *mq)
{
	if (mq->m)
		mosquitto_destroy(mq->m);
	if (mq->wake >= 0)
		close(mq->wake);
	free_pending(mq);
	explicit_bzero(mq->password, sizeof(mq->password));
	pthread_mutex_destroy(&mq->lock);
	free(mq);
}

int signal_mqtt_start(const struct config_signals_mqtt *conf, struct signals *s, struct signal_mqtt **out, char *err,
                      size_t errlen)
{
	*out = NULL;
	struct signal_mqtt *mq = calloc(1, sizeof(*mq));
	if (!mq) {
		snprintf(err, errlen, "signals: mqtt: out of memory");
		return TERN_ENOMEM;
	}
	pthread_mutex_init(&mq->lock, NULL);
	mq->wake = -1;
	mq->signals = s;
	snprintf(mq->broker, sizeof(mq->broker), "%s", conf->broker);
	snprintf(mq->host, sizeof(mq->host), "%s", conf->host);
	mq->port = conf->port;
	mq->keepalive = conf->keepalive;
	if (conf->pop)
		snprintf(mq->pop, sizeof(mq->pop), "%s", conf->pop);
	else if (gethostname(mq->pop, sizeof(mq->pop) - 1) < 0 || !mq->pop[0])
		snprintf(mq->pop, sizeof(mq->pop), "ternd");
	mq->pop[strcspn(mq->pop, "/+#")] = 0; /* a host name is one topic level */
	char id[300];
	snprintf(id, sizeof(id), "ternd-%s", mq->pop);
	int rc = 0;
	pthread_once(&lib_once, lib_init);
	if (conf->password_file &&
	    (rc = read_password(conf->password_file, mq->password, sizeof(mq->password), err, errlen)) < 0)
		goto fail;
	rc = TERN_EIO;
	if ((mq->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 || !(mq->m = mosquitto_new(id, true, mq))) {
		snprintf(err, errlen, "signals: mqtt: %s", strerror(errno));
		goto fail;
	}
	mosquitto_connect_callback_set(mq->m, on_connect);
	mosquitto_publish_callback_set(mq->m, on_publish);
	int mrc = conf->username ? mosquitto_username_pw_set(mq->m, conf->username, mq->password) : 0;
	if (!mrc && conf->tls)
		mrc = mosquitto_tls_set(mq->m, conf->ca_file, conf->ca_file ? NULL : "/etc/ssl/certs", conf->cert_file,
		                        conf->key_file, NULL);
	if (mrc) {
		snprintf(err, errlen, "signals.mqtt: %s", mosquitto_strerror(mrc));
		goto fail;
	}
	if (ev_thread_start_fn(&mq->thread, run, mq, "ternd-mqtt") < 0) {
		snprintf(err, errlen, "signals: mqtt: cannot start its thread");
		goto fail;
	}
	*out = mq;
	return 0;
fail:
	destroy(mq);
	return rc;
}

void signal_mqtt_stop(struct signal_mqtt *mq)
{
	if (!mq)
		return;
	pthread_mutex_lock(&mq->lock);
	mq->stop = true;
	pthread_mutex_unlock(&mq->lock);
	wake(mq);
	ev_thread_stop(&mq->thread);
	destroy(mq);
}
