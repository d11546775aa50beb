/* The PostgreSQL store's notifications between processes on one database: every write to a zone's
 * row sends NOTIFY tern_zone (delivered at commit), and store_watch() LISTENs on a connection and a
 * loop thread of its own, handing each other process's zone to the caller. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/base/log.h"
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"
#include "ternd/store/store_pg_payload.h"

#define CHANNEL "tern_zone"
#define RETRY_MS 1000

/* "NODE APEX": the sender's id and the apex, both in hex (store_pg_payload.c). */
int pg_notify_zone(struct pg_txn *t, struct pconn *c, const uint8_t *lapex, char *err, size_t errlen)
{
	char payload[PG_PAYLOAD_MAX];
	pg_payload_write(((struct pg_store *)t->base.store)->node, lapex, payload);
	struct pq q = {0};
	pq_text(&q, 1, payload);
	int rc = pq_run(&q, t, c, "SELECT pg_notify('" CHANNEL "', $1)", err, errlen);
	pq_clear(&q);
	return rc < 0 ? rc : 0;
}

/* A notification's payload: the apex another process changed into apex (1), this process's own
 * or one that does not parse (0). */
static int heard(const struct pg_store *st, const char *payload, uint8_t apex[NAME_MAXLEN])
{
	uint64_t node = 0;
	return pg_payload_read(payload, &node, apex) && node != st->node;
}

static void watch_connect(struct ev_loop *loop, struct ev_timer *tm);

static void watch_lost(struct pg_store *st, const char *why)
{
	log_warning("store: the PostgreSQL connection that hears other ternd's changes: %s; connecting again", why);
	ev_io_stop(st->wloop, &st->wio);
	PQfinish(st->listen);
	st->listen = NULL;
	ev_timer_in(st->wloop, &st->wretry, RETRY_MS);
}

static void watch_read(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct pg_store *st = io->arg;
	(void)loop;
	(void)events;
	if (!PQconsumeInput(st->listen) || PQstatus(st->listen) != CONNECTION_OK) {
		char why[256];
		snprintf(why, sizeof(why), "%s", PQerrorMessage(st->listen));
		why[strcspn(why, "\n")] = 0;
		watch_lost(st, why);
		return;
	}
	PGnotify *n;
	while ((n = PQnotifies(st->listen))) {
		uint8_t apex[NAME_MAXLEN];
		if (heard(st, n->extra, apex))
			st->wfn(apex, st->warg);
		PQfreemem(n);
	}
}

static void watch_connect(struct ev_loop *loop, struct ev_timer *tm)
{
	struct pg_store *st = tm->arg;
	char err[512];
	PGconn *pg = NULL;
	if (pg_connect(st->conninfo, &pg, err, sizeof(err)) < 0 ||
	    pg_exec(pg, "LISTEN " CHANNEL, err, sizeof(err)) < 0 || PQsetnonblocking(pg, 1) < 0 ||
	    ev_io_start(loop, &st->wio, PQsocket(pg), EPOLLIN, watch_read, st) < 0) {
		PQfinish(pg);
		ev_timer_in(loop, &st->wretry, RETRY_MS);
		return;
	}
	st->listen = pg;
	/* whatever changed before LISTEN took hold went unheard: the caller looks at every zone */
	st->wfn(NULL, st->warg);
}

static void watch_stop(struct pg_store *st)
{
	if (!st->wloop)
		return;
	ev_thread_stop(&st->wthread);
	ev_io_stop(st->wloop, &st->wio);
	ev_timer_cancel(st->wloop, &st->wretry);
	ev_free(st->wloop);
	st->wloop = NULL;
	PQfinish(st->listen);
	st->listen = NULL;
	st->wfn = NULL;
}

int pg_watch(struct store *base, store_watch_fn fn, void *arg, char *err, size_t errlen)
{
	struct pg_store *st = (struct pg_store *)base;
	watch_stop(st);
	if (!fn)
		return 0;
	if (!(st->wloop = ev_new(EV_RCU_ONLINE)))
		return pg_err(err, errlen, TERN_ENOMEM, "store: out of memory for the thread hearing other ternd");
	st->wfn = fn;
	st->warg = arg;
	memset(&st->wio, 0, sizeof(st->wio));
	ev_timer_init(&st->wretry, watch_connect, st);
	ev_timer_in(st->wloop, &st->wretry, 0);
	if (ev_thread_start(&st->wthread, st->wloop, "ternd-pg-listen") < 0) {
		ev_free(st->wloop);
		st->wloop = NULL;
		return pg_err(err, errlen, TERN_EIO, "store: cannot start the thread hearing other ternd");
	}
	return 1;
}

/* A random id for this store's notifications. */
uint64_t pg_node_id(void)
{
	uint64_t v = 0;
	while (v == 0 && getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		;
	return v ? v : 1;
}
