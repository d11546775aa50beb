/* The geo database: a MaxMind DB file copied into memory, checked, published by one RCU pointer
 * swap, and asked on the query path without a lock or an allocation (geo.h). */
#include "ternd/dyn/geo.h"

#include <errno.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/base/rcu.h"

#define GEO_FILE_MAX ((off_t)1 << 31) /* libmaxminddb's offsets are 32-bit */
#define CODE_SLOTS 16384 /* data records' codes kept decoded (a Country database has ~250) */
#define SLOT_EMPTY UINT64_MAX

/* Decoding a record's two codes (two MMDB_aget_value map walks) costs about three times the tree
 * walk, so the codes of each record are kept by its data offset: one 64-bit slot, offset in the
 * high half, country and continent octets in the low half, read and written with relaxed atomics
 * (a slot is whole or another record's; a miss decodes and stores, no lock). The tree walk of the
 * check fills them; a City database's records that do not fit are decoded when asked. */
struct geo_db {
	MMDB_s mmdb;
	bool v4_in_v6; /* an IPv6 tree: IPv4 netmasks count from its ::/96 */
	_Atomic uint64_t slots[CODE_SLOTS];
};

struct geo {
	struct geo_db *db; /* RCU-published; NULL = none */
	pthread_mutex_t lock; /* path and interval: written by reloads, read by the checker */
	char *path;
	unsigned interval_ms;
	/* the checker's own (its thread, or the caller of geo_start before it runs) */
	char *seen_path; /* the file version last tried, good or not */
	struct stat seen;
	bool seen_valid;
	int seen_errno; /* the last error opening it, so one is logged once */
	struct ev_loop *loop;
	struct ev_thread thread;
	struct ev_timer timer;
	struct ev_async wake;
};

static const char *const path_country[] = {"country", "iso_code", NULL};
static const char *const path_continent[] = {"continent", "code", NULL};

/* A two-letter code at path of entry: 1 = there (copied into out), 0 = absent, -1 = not a
 * two-letter string or the data does not decode. */
static int entry_code(MMDB_entry_s *entry, const char *const *path, char out[3])
{
	MMDB_entry_data_s d;
	int rc = MMDB_aget_value(entry, &d, path);
	if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
		return 0;
	if (rc != MMDB_SUCCESS)
		return -1;
	if (!d.has_data)
		return 0;
	if (d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size != 2)
		return -1;
	for (int i = 0; i < 2; i++) {
		char ch = d.utf8_string[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
			return -1;
		out[i] = (char)(ch >= 'a' ? ch - 32 : ch);
	}
	out[2] = 0;
	return 1;
}

static _Atomic uint64_t *slot_of(struct geo_db *db, uint32_t offset)
{
	return &db->slots[(offset * 2654435761u) >> 18]; /* Fibonacci hashing into 2^14 slots */
}

static uint64_t slot_pack(uint32_t offset, const char country[3], const char continent[3])
{
	return (uint64_t)offset << 32 | (uint64_t)(uint8_t)country[0] << 24 | (uint64_t)(uint8_t)country[1] << 16 |
	       (uint64_t)(uint8_t)continent[0] << 8 | (uint64_t)(uint8_t)continent[1];
}

/* The codes of the record at entry: from its slot, else decoded (and kept). -1 when the record
 * does not decode or holds a code that is not two letters (then nothing is kept). */
static int record_codes(struct geo_db *db, MMDB_entry_s *entry, char country[3], char continent[3])
{
	_Atomic uint64_t *slot = slot_of(db, entry->offset);
	uint64_t v = atomic_load_explicit(slot, memory_order_relaxed);
	if (v != SLOT_EMPTY && (uint32_t)(v >> 32) == entry->offset) {
		country[0] = (char)(v >> 24), country[1] = (char)(v >> 16), country[2] = 0;
		continent[0] = (char)(v >> 8), continent[1] = (char)v, continent[2] = 0;
		return 0;
	}
	memset(country, 0, 3);
	memset(continent, 0, 3);
	if (entry_code(entry, path_country, country) < 0 || entry_code(entry, path_continent, continent) < 0)
		return -1;
	atomic_store_explicit(slot, slot_pack(entry->offset, country, continent), memory_order_relaxed);
	return 0;
}

void geo_lookup(void *ctx, uint8_t family, const uint8_t *addr, struct dyn_geo *out)
{
	struct geo *g = ctx;
	struct geo_db *db = rcu_dereference(g->db);
	if (!db)
		return;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	const struct sockaddr *sa;
	if (family == 1) {
		memcpy(&sin.sin_addr, addr, 4);
		sa = (const struct sockaddr *)&sin;
	} else {
		memcpy(&sin6.sin6_addr, addr, 16);
		sa = (const struct sockaddr *)&sin6;
	}
	int err = MMDB_SUCCESS;
	MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&db->mmdb, sa, &err);
	if (err != MMDB_SUCCESS)
		return; /* e.g. an IPv6 client and an IPv4 database: not held */
	unsigned prefix = res.netmask;
	if (family == 1 && db->v4_in_v6)
		prefix = prefix >= 96 ? prefix - 96 : 0;
	out->prefix = (uint8_t)(prefix <= 128 ? prefix : 128);
	if (!res.found_entry)
		return;
	out->found = true;
	if (record_codes(db, &res.entry, out->country, out->continent) < 0)
		out->country[0] = out->continent[0] = 0; /* the check decoded it: a read error cannot be */
}

void geo_version(void *ctx, struct geo_version *out)
{
	struct geo *g = ctx;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&g->lock);
	out->configured = g->path != NULL;
	pthread_mutex_unlock(&g->lock);
	const struct geo_db *db = rcu_dereference(g->db);
	if (!db)
		return;
	out->loaded = true;
	const char *type = db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "";
	for (size_t i = 0; type[i] && i + 1 < sizeof(out->type); i++) /* the file's text: ASCII shown */
		out->type[i] = type[i] >= 0x20 && type[i] < 0x7f ? type[i] : '?';
	out->ip_version = db->mmdb.metadata.ip_version;
	out->build_epoch = db->mmdb.metadata.build_epoch;
}

/* Every search tree node in range, every data record the tree points to decodes, and its
 * country and continent codes are two-letter strings when present. */
static int db_verify(struct geo_db *db, char *err, size_t errlen)
{
	MMDB_s *m = &db->mmdb;
	for (size_t i = 0; i < CODE_SLOTS; i++)
		atomic_init(&db->slots[i], SLOT_EMPTY);
	if (m->metadata.ip_version != 4 && m->metadata.ip_version != 6) {
		snprintf(err, errlen, "ip_version %u (expected 4 or 6)", m->metadata.ip_version);
		return TERN_EINVAL;
	}
	for (uint32_t i = 0; i < m->metadata.node_count; i++) {
		MMDB_search_node_s n;
		int rc = MMDB_read_node(m, i, &n);
		if (rc != MMDB_SUCCESS) {
			snprintf(err, errlen, "search tree node %u: %s", i, MMDB_strerror(rc));
			return TERN_EINVAL;
		}
		for (int side = 0; side < 2; side++) {
			uint8_t type = side ? n.right_record_type : n.left_record_type;
			uint64_t rec = side ? n.right_record : n.left_record;
			MMDB_entry_s entry = side ? n.right_record_entry : n.left_record_entry;
			if (type == MMDB_RECORD_TYPE_INVALID ||
			    (type == MMDB_RECORD_TYPE_SEARCH_NODE && rec >= m->metadata.node_count)) {
				snprintf(err, errlen, "search tree node %u: a record points outside the file", i);
				return TERN_EINVAL;
			}
			if (type != MMDB_RECORD_TYPE_DATA)
				continue;
			char country[3], continent[3];
			if (entry.offset >= m->data_section_size || record_codes(db, &entry, country, continent) < 0) {
				snprintf(
				    err, errlen,
				    "data record at offset %u: does not decode, or country.iso_code / continent.code "
				    "is not a two-letter string",
				    entry.offset);
				return TERN_EINVAL;
			}
		}
	}
	return 0;
}

/* The file at fd, copied into a memfd and opened from there (sealed: nothing can change it). */
static int db_open(int fd, const struct stat *st, struct geo_db **out, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode) || st->st_size <= 0 || st->st_size >= GEO_FILE_MAX) {
		snprintf(err, errlen, "not a regular file of 1 octet to 2 GiB");
		return TERN_EINVAL;
	}
	int mfd = memfd_create("ternd-geo", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return TERN_EIO;
	}
	int rc = TERN_EIO;
	struct geo_db *db = NULL;
	char buf[65536];
	off_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(mfd, buf + o, (size_t)(n - o));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				snprintf(err, errlen, "copying into memory: %s", strerror(errno));
				goto done;
			}
			o += w;
		}
		total += n;
		if (total >= GEO_FILE_MAX)
			break;
	}
	if (total != st->st_size) {
		snprintf(err, errlen, "the file changed while it was read (%lld octets, then %lld)",
		         (long long)st->st_size, (long long)total);
		rc = TERN_EINVAL;
		goto done;
	}
	(void)fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	db = calloc(1, sizeof(*db));
	if (!db) {
		snprintf(err, errlen, "out of memory");
		rc = TERN_ENOMEM;
		goto done;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
	int st_rc = MMDB_open(proc, MMDB_MODE_MMAP, &db->mmdb);
	if (st_rc != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s", st_rc == MMDB_IO_ERROR ? strerror(errno) : MMDB_strerror(st_rc));
		free(db);
		db = NULL;
		rc = TERN_EINVAL;
		goto done;
	}
	if ((rc = db_verify(db, err, errlen)) < 0) {
		MMDB_close(&db->mmdb);
		free(db);
		db = NULL;
		goto done;
	}
	db->v4_in_v6 = db->mmdb.metadata.ip_version == 6;
	*out = db;
	rc = 0;
done:
	close(mfd); /* the mapping keeps the memory */
	return rc;
}

static void db_close(struct geo_db *db)
{
	if (db) {
		MMDB_close(&db->mmdb);
		free(db);
	}
}

/* Publishes next (NULL: none) and closes the one it replaces once no reader can hold it. */
static void publish(struct geo *g, struct geo_db *next)
{
	struct geo_db *old = rcu_xchg_pointer(&g->db, next);
	if (old) {
		synchronize_rcu();
		db_close(old);
	}
}

int geo_check_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return TERN_EIO;
	}
	struct geo_db *db = NULL;
	int rc = db_open(fd, &st, &db, err, errlen);
	close(fd);
	if (rc == 0)
		snprintf(err, errlen, "%s, IPv%u tree of %u nodes",
		         db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "(no type)",
		         db->mmdb.metadata.ip_version, db->mmdb.metadata.node_count);
	db_close(db);
	return rc;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int geo_check(struct geo *g)
{
	pthread_mutex_lock(&g->lock);
	char *path = g->path ? strdup(g->path) : NULL;
	bool had_path = g->path != NULL;
	pthread_mutex_unlock(&g->lock);
	if (had_path && !path)
		return TERN_ENOMEM;
	bool same_path = path && g->seen_path && strcmp(path, g->seen_path) == 0;
	if (!same_path) {
		free(g->seen_path);
		g->seen_path = path;
		g->seen_valid = false;
		g->seen_errno = 0;
		path = NULL;
		if (!g->seen_path) {
			if (rcu_dereference(g->db))
				log_info("geo database: none configured, `geo country` and `geo continent` answer "
				         "nobody");
			publish(g, NULL);
			return 0;
		}
	}
	free(path);
	path = g->seen_path;
	bool in_force = rcu_dereference(g->db) != NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (e != g->seen_errno)
			log_error("geo database %s: %s (%s)", path, strerror(e),
			          in_force ? "the version in force is kept" : "none in force: answer lists for all");
		g->seen_errno = e;
		return TERN_EIO;
	}
	g->seen_errno = 0;
	if (g->seen_valid && same_file(&st, &g->seen)) {
		close(fd);
		return 0;
	}
	g->seen = st; /* tried once per version: a refused file is not re-read until it changes */
	g->seen_valid = true;
	char err[256];
	struct geo_db *db = NULL;
	uint64_t t0 = ev_clock_ms();
	int rc = db_open(fd, &st, &db, err, sizeof(err));
	close(fd);
	if (rc < 0) {
		log_error("geo database %s refused: %s (%s)", path, err,
		          in_force ? "the version in force is kept" : "none in force: answer lists for all");
		return rc;
	}
	log_info("geo database %s: %s, IPv%u tree of %u nodes, built %llu (epoch), checked in %llu ms", path,
	         db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "(no type)",
	         db->mmdb.metadata.ip_version, db->mmdb.metadata.node_count,
	         (unsigned long long)db->mmdb.metadata.build_epoch, (unsigned long long)(ev_clock_ms() - t0));
	publish(g, db);
	return 1;
}

static unsigned interval_of(struct geo *g)
{
	pthread_mutex_lock(&g->lock);
	unsigned ms = g->interval_ms ? g->interval_ms : 60000;
	pthread_mutex_unlock(&g->lock);
	return ms;
}

static void on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct geo *g = t->arg;
	geo_check(g);
	ev_timer_in(loop, t, interval_of(g));
}

static void on_wake(struct ev_loop *loop, struct ev_async *a)
{
	struct geo *g = a->arg;
	geo_check(g);
	ev_timer_in(loop, &g->timer, interval_of(g));
}

static void set_config(struct geo *g, const struct config *conf)
{
	char *path = conf->geo.database ? strdup(conf->geo.database) : NULL;
	pthread_mutex_lock(&g->lock);
	free(g->path);
	g->path = path;
	g->interval_ms = conf->geo.check_interval_ms;
	pthread_mutex_unlock(&g->lock);
	if (conf->geo.database && !path)
		log_error("geo database %s: out of memory (the version in force is kept)", conf->geo.database);
}

int geo_start(const struct config *conf, struct geo **out, char *err, size_t errlen)
{
	struct geo *g = calloc(1, sizeof(*g));
	if (!g || !(g->loop = ev_new(EV_RCU_OFFLINE))) {
		free(g);
		snprintf(err, errlen, "geo database: out of memory");
		return TERN_ENOMEM;
	}
	pthread_mutex_init(&g->lock, NULL);
	set_config(g, conf);
	geo_check(g);
	ev_timer_init(&g->timer, on_timer, g);
	ev_async_start(g->loop, &g->wake, on_wake, g);
	ev_timer_in(g->loop, &g->timer, interval_of(g));
	if (ev_thread_start(&g->thread, g->loop, "ternd-geo") < 0) {
		snprintf(err, errlen, "geo database: cannot start its thread");
		geo_stop(g);
		return TERN_EIO;
	}
	*out = g;
	return 0;
}

void geo_reload(struct geo *g, const struct config *conf)
{
	if (!g)
		return;
	set_config(g, conf);
	ev_async_send(&g->wake);
}

void geo_stop(struct geo *g)
{
	if (!g)
		return;
	ev_thread_stop(&g->thread);
	ev_timer_cancel(g->loop, &g->timer);
	ev_async_stop(g->loop, &g->wake);
	ev_free(g->loop);
	db_close(g->db); /* no reader is left (the query threads stopped first) */
	free(g->path);
	free(g->seen_path);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
