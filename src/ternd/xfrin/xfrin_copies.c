/* Disk copies written off the refresh thread: the refresh loop renders a zone's copy to text and
 * queues it here; the copy thread writes what is queued as one batch (temporary files, one syncfs
 * of their file system, renames, an fsync of each directory), so a refresh never waits on the disk
 * and a thousand copies due together cost one sync instead of two fsyncs each. Batches are at
 * least COPIES_GATHER_MS apart: copies due at different moments (a burst of changes to different
 * zones) still share one sync, instead of a sync of the whole file system per change, which the
 * disk of a busy machine (the primary's journal, the other servers on it) pays for. The thread runs
 * at the lowest priority (nice COPIES_NICE): on a busy machine answering queries and pulling changes
 * come first, and the copies, which only matter after a restart, follow. A zone removed
 * cancels its copies still queued or being written and deletes its file under the same lock as
 * the renames, so a copy queued before the removal never comes back. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/xfrin/diskcopy.h"
#include "ternd/xfrin/xfrin_impl.h"

#define COPIES_GATHER_MS 500 /* between the starts of two batches, at least */
#define COPIES_NICE 19 /* the copy thread's: the least CPU share, never none (SCHED_IDLE could starve) */

struct copy_job {
	struct copy_job *next;
	char *path, *text, *tmp;
	size_t len;
	uint32_t serial;
	bool cancelled; /* under c->lock */
	char zone[XFRIN_NAME_TEXT];
};

struct xfrin_copies {
	pthread_mutex_t lock; /* the queue, the batch's cancelled flags, renames and removals */
	pthread_cond_t more;
	struct copy_job *head, **tail; /* queued */
	struct copy_job *batch; /* being written */
	bool stop; /* write what is queued, then end */
	uint64_t last_batch; /* CLOCK_MONOTONIC ms when the last batch began */
	struct ev_thread thread;
};

static void job_free(struct copy_job *j)
{
	free(j->path);
	free(j->text);
	free(j->tmp);
	free(j);
}

/* Writes one batch: temporary files, one sync, renames (not of a cancelled copy), directories. */
static void write_batch(struct xfrin_copies *c, struct copy_job *batch)
{
	char err[512];
	int synced_fd = -1;
	for (struct copy_job *j = batch; j; j = j->next) {
		if (diskcopy_write_tmp(j->path, j->text, j->len, &j->tmp, err, sizeof(err)) < 0)
			log_error("zone %s: disk copy not written (still served from memory): %s", j->zone, err);
		free(j->text);
		j->text = NULL;
		if (j->tmp && synced_fd < 0)
			synced_fd = open(j->tmp, O_RDONLY | O_CLOEXEC);
	}
	bool synced = synced_fd >= 0 && syncfs(synced_fd) == 0;
	int sync_errno = errno;
	if (synced_fd >= 0)
		close(synced_fd);
	const char *last_dir_synced = NULL;
	size_t written = 0;
	for (struct copy_job *j = batch; j; j = j->next) {
		if (!j->tmp)
			continue;
		pthread_mutex_lock(&c->lock);
		bool renamed = false;
		if (!j->cancelled && !synced)
			log_error("zone %s: disk copy not written (still served from memory): %s: cannot sync: %s",
			          j->zone, j->tmp, strerror(sync_errno));
		else if (!j->cancelled && rename(j->tmp, j->path) != 0)
			log_error("zone %s: disk copy not written (still served from memory): %s: %s", j->zone, j->path,
			          strerror(errno));
		else
			renamed = !j->cancelled;
		if (!renamed)
			unlink(j->tmp);
		pthread_mutex_unlock(&c->lock);
		if (!renamed)
			continue;
		/* copies of one batch mostly share a directory: synced once */
		size_t dl = strrchr(j->path, '/') ? (size_t)(strrchr(j->path, '/') - j->path) : 0;
		if (!last_dir_synced || strncmp(last_dir_synced, j->path, dl) != 0 || last_dir_synced[dl] != '/') {
			if (diskcopy_sync_dir(j->path) < 0)
				log_error("zone %s: %s: cannot sync its directory: %s", j->zone, j->path,
				          strerror(errno));
			last_dir_synced = j->path;
		}
		log_debug("zone %s: disk copy of serial %u written to %s", j->zone, j->serial, j->path);
		written++;
	}
	if (written)
		log_info("disk copies: %zu written with one sync", written);
}

static void run(void *arg)
{
	struct xfrin_copies *c = arg;
	/* this thread only: on Linux a thread's nice value is its own (setpriority on its TID) */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), COPIES_NICE) < 0)
		log_debug("secondary zones: the disk copy thread keeps its priority: %s", strerror(errno));
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->head && !c->stop)
			pthread_cond_wait(&c->more, &c->lock);
		if (!c->head)
			break; /* stopped, and nothing is left to write */
		/* gather what else comes until COPIES_GATHER_MS after the last batch began */
		for (uint64_t now; !c->stop && (now = ev_clock_ms()) < c->last_batch + COPIES_GATHER_MS;) {
			uint64_t until = c->last_batch + COPIES_GATHER_MS;
			struct timespec ts = {.tv_sec = (time_t)(until / 1000),
			                      .tv_nsec = (long)(until % 1000) * 1000000};
			pthread_cond_timedwait(&c->more, &c->lock, &ts);
		}
		c->last_batch = ev_clock_ms();
		struct copy_job *batch = c->head;
		c->head = NULL;
		c->tail = &c->head;
		c->batch = batch;
		pthread_mutex_unlock(&c->lock);
		write_batch(c, batch);
		pthread_mutex_lock(&c->lock);
		c->batch = NULL;
		pthread_mutex_unlock(&c->lock);
		while (batch) {
			struct copy_job *next = batch->next;
			job_free(batch);
			batch = next;
		}
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
}

int xfrin_copies_start(struct xfrin_copies **out, char *err, size_t errlen)
{
	struct xfrin_copies *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c) {
		snprintf(err, errlen, "secondary zones: out of memory");
		return TERN_ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the timed wait above is on ev_clock_ms()'s clock */
	pthread_cond_init(&c->more, &ca);
	pthread_condattr_destroy(&ca);
	c->tail = &c->head;
	if (ev_thread_start_fn(&c->thread, run, c, "ternd-copies") < 0) {
		snprintf(err, errlen, "secondary zones: cannot start the disk copy thread");
		pthread_cond_destroy(&c->more);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return TERN_EIO;
	}
	*out = c;
	return 0;
}

int xfrin_copies_queue(struct xfrin_copies *c, const struct zone *zn, const char *zone, const char *path,
                       const char *primary, int64_t transferred, char *err, size_t errlen)
{
	struct copy_job *j = calloc(1, sizeof(*j));
	if (!j || !(j->path = strdup(path))) {
		free(j);
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	int rc = diskcopy_render(zn, primary, transferred, &j->text, &j->len, err, errlen);
	if (rc < 0) {
		job_free(j);
		return rc;
	}
	j->serial = zn->serial;
	xfrin_set_text(j->zone, sizeof(j->zone), zone);
	pthread_mutex_lock(&c->lock);
	/* only the first job wakes the thread: it gathers the rest until the batch's time without a
	 * wake-up per copy (a burst of changes would be a context switch each) */
	bool first = !c->head;
	*c->tail = j;
	c->tail = &j->next;
	if (first)
		pthread_cond_signal(&c->more);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void cancel(struct copy_job *list, const char *path)
{
	for (struct copy_job *j = list; j; j = j->next)
		if (strcmp(j->path, path) == 0)
			j->cancelled = true;
}

int xfrin_copies_remove(struct xfrin_copies *c, const char *path)
{
	pthread_mutex_lock(&c->lock);
	cancel(c->head, path);
	cancel(c->batch, path);
	int rc = unlink(path) < 0 && errno != ENOENT ? TERN_EIO : 0;
	int saved = errno;
	pthread_mutex_unlock(&c->lock);
	errno = saved;
	return rc;
}

void xfrin_copies_stop(struct xfrin_copies *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->more);
	pthread_mutex_unlock(&c->lock);
	ev_thread_stop(&c->thread); /* after it wrote what was queued */
	pthread_cond_destroy(&c->more);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
