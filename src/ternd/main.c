/* ternd: command line, start-up, zone (re)loading on SIGHUP, clean stop on SIGTERM/SIGINT; the
 * composition root, the one place that wires the modules together. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rrtext.h"
#include "lib/zonefile.h"
#include "ternd/acme/acme_responder.h"
#include "ternd/api/api.h"
#include "ternd/base/config.h"
#include "ternd/base/event.h"
#include "ternd/base/filewatch.h"
#include "ternd/base/log.h"
#include "ternd/base/privdrop.h"
#include "ternd/base/sdnotify.h"
#include "ternd/catalog/catalog.h"
#include "ternd/change/change.h"
#include "ternd/dyn/answer.h"
#include "ternd/dyn/monitor.h"
#include "ternd/dyn/geo.h"
#include "ternd/http/http.h"
#include "ternd/net/socket.h"
#include "ternd/net/tcp.h"
#include "ternd/net/tls.h"
#include "ternd/signals/signals.h"
#include "ternd/update/update.h"
#include "ternd/usage/usage.h"
#include "ternd/dnstap/dnstap.h"
#include "ternd/net/udp.h"
#include "ternd/ns/notify.h"
#include "ternd/ns/xfr_history.h"
#include "ternd/store/store.h"
#include "ternd/svc/svc.h"
#include "ternd/zones/server.h"
#include "ternd/xfrin/catalog_in.h"
#include "ternd/xfrin/xfrin.h"

#define ERRBUF 16384

static void usage(FILE *f)
{
	fprintf(f, "usage: ternd -c FILE [--check]\n"
	           "       ternd -c FILE --restore BACKUP\n"
	           "       ternd --keys\n"
	           "  -c, --config FILE  configuration file (YAML)\n"
	           "      --check        validate the configuration and every zone, then exit\n"
	           "      --restore BACKUP  put a store backup (tern store backup) in place of api.data-dir's\n"
	           "                     store, on a stopped ternd, then exit\n"
	           "      --keys         print the reference of every configuration key (as README.md has it)\n"
	           "  -h, --help         this text\n");
}

static int print_reference(void)
{
	char *text = config_reference();
	if (!text) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

/* Zone files are read on up to one thread per CPU (at most ZONE_THREADS), each thread taking the
 * next zone not yet taken: 100,000 small zones are mostly system calls and parsing, which spread
 * over the CPUs. At least ZONES_PER_THREAD zones a thread, so a few zones stay on one. */
#define ZONE_THREADS 8
#define ZONES_PER_THREAD 64

struct zone_jobs {
	size_t n;
	_Atomic size_t next;
	bool rcu; /* the helper threads register as (offline) RCU threads: fn reads served zones */
	void (*fn)(void *arg, size_t i, struct zonefile_reader *r, char *err);
	void *arg;
};

static void zone_jobs_run(struct zone_jobs *j)
{
	struct zonefile_reader *r = zonefile_reader_new(); /* NULL: a scanner per file */
	char *err = malloc(ERRBUF);
	for (size_t i; err && (i = atomic_fetch_add(&j->next, 1)) < j->n;)
		j->fn(j->arg, i, r, err);
	free(err);
	zonefile_reader_free(r);
}

static void zone_jobs_thread(void *arg)
{
	struct zone_jobs *j = arg;
	if (j->rcu) {
		rcu_register_thread();
		rcu_thread_offline();
	}
	zone_jobs_run(j);
	if (j->rcu) {
		rcu_thread_online();
		rcu_unregister_thread();
	}
}

/* fn(arg, i, reader, err) for every i < n, on the calling thread and up to ZONE_THREADS - 1 more;
 * returns when all are done. With rcu, the caller is a registered RCU thread (offline). A zone
 * fn cannot run (no memory for its message buffer) is skipped: only out of memory. */
static void each_zone(size_t n, bool rcu, void (*fn)(void *arg, size_t i, struct zonefile_reader *r, char *err),
                      void *arg)
{
	struct zone_jobs j = {.n = n, .rcu = rcu, .fn = fn, .arg = arg};
	struct ev_thread t[ZONE_THREADS] = {0};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus < 1 ? 1 : cpus > ZONE_THREADS ? ZONE_THREADS : (size_t)cpus, started = 0;
	if (want > n / ZONES_PER_THREAD + 1)
		want = n / ZONES_PER_THREAD + 1;
	atomic_init(&j.next, 0);
	while (started + 1 < want && ev_thread_start_fn(&t[started], zone_jobs_thread, &j, "ternd-load") == 0)
		started++;
	zone_jobs_run(&j);
	for (size_t k = 0; k < started; k++)
		ev_thread_stop(&t[k]);
}

/* --check of one zone: its line of output, kept until every zone is checked, then printed in order. */
struct checked {
	const struct config *conf;
	char **line; /* per zone: what to print, malloc'd ("" when nothing) */
	bool *bad; /* per zone: to stderr, and counted as a failure */
};

static void check_zone(void *arg, size_t i, struct zonefile_reader *r, char *err)
{
	struct checked *c = arg;
	const struct config_zone *cz = &c->conf->zones[i];
	struct zone *z = NULL;
	char *line = NULL;
	if (cz->nprimaries && access(cz->file, F_OK) != 0) {
		if (asprintf(&line, "%s: secondary, no copy yet (pulled from %s)", cz->name, cz->primaries[0].text) < 0)
			line = NULL;
	} else {
		int rc = zonefile_read(r, cz->file, cz->apex, &z, NULL, err, ERRBUF);
		if (rc == 0 && (rc = change_config_intree(cz, &z, err, ERRBUF)) < 0) { /* in-tree-expires */
			char *why = strdup(err);
			if (why)
				snprintf(err, ERRBUF, "%s:%u: zones[%zu]: %s: %s", c->conf->path, cz->in_tree_line, i,
				         cz->name, why);
			free(why);
		}
		c->bad[i] = rc < 0;
		if (rc < 0) {
			zone_free(z); /* read, but its in-tree mark refused (NULL when the read failed) */
			line = strdup(err[0] ? err : tern_strerror(rc));
		} else {
			if (asprintf(&line, "%s: ok, serial %u, %zu records", cz->name, z->serial, z->nrecords) < 0)
				line = NULL;
			zone_free(z);
		}
	}
	c->line[i] = line;
}

/* Checks every zone of conf; prints each problem as file:line: message. Returns the failures. */
static int check_zones(const struct config *conf)
{
	int failed = 0;
	char *err = malloc(ERRBUF);
	struct checked c = {conf, calloc(conf->nzones + 1, sizeof(char *)), calloc(conf->nzones + 1, sizeof(bool))};
	if (!err || !c.line || !c.bad) {
		fprintf(stderr, "out of memory\n");
		free(err);
		free(c.line);
		free(c.bad);
		return 1;
	}
	each_zone(conf->nzones, false, check_zone, &c);
	for (size_t i = 0; i < conf->nzones; i++) {
		if (!c.line[i]) {
			fprintf(stderr, "%s: out of memory\n", conf->zones[i].name);
			failed++;
		} else if (c.bad[i]) {
			fprintf(stderr, "%s\n", c.line[i]);
			failed++;
		} else {
			printf("%s\n", c.line[i]);
		}
		free(c.line[i]);
	}
	free(c.line);
	free(c.bad);
	if (conf->geo.database) {
		if (geo_check_file(conf->geo.database, err, ERRBUF) < 0) {
			fprintf(stderr, "geo database %s: %s\n", conf->geo.database, err);
			failed++;
		} else {
			printf("geo database %s: ok, %s\n", conf->geo.database, err);
		}
	}
	free(err);
	return failed;
}

/* --check of server.tls: the certificate and key load, match and are valid now; the client CAs
 * load. Returns the number of problems (0 or 1). */
static int check_tls(const struct config *conf, char *err)
{
	if (!conf->tls.certificate)
		return 0;
	SSL_CTX *ctx = NULL;
	if (tls_server_ctx(&conf->tls, &ctx, err, ERRBUF) < 0) {
		fprintf(stderr, "%s: %s\n", conf->path, err);
		return 1;
	}
	SSL_CTX_free(ctx);
	printf("server.tls: ok, certificate %s\n", conf->tls.certificate);
	return 0;
}

/* server.user (privdrop.h): who ternd is to run as, becoming that user when apply says so, and
 * whether that user can make the files ternd writes (the store, the secondary zones' copies).
 * Each problem goes to stderr, or the log when apply (a start); returns how many there were. */
static int run_as(const struct config *conf, bool apply, char *err)
{
	struct privdrop pd;
	if (privdrop_plan(conf->user, conf->group, geteuid(), &pd, err, ERRBUF) < 0 ||
	    (apply && privdrop_apply(&pd, err, ERRBUF) < 0)) {
		fprintf(stderr, "%s: %s\n", conf->path, err);
		return 1;
	}
	if (apply && pd.drop)
		log_info("running as user %s (uid %u), group %s (gid %u), keeping only CAP_NET_BIND_SERVICE", pd.user,
		         (unsigned)pd.uid, pd.group, (unsigned)pd.gid);
	int problems = 0;
	const struct config_listen *low = NULL; /* a port below 1024 to bind, when ternd may not */
	for (size_t i = 0; i < conf->nlisten && !low; i++)
		if (config_listen_port(&conf->listen[i]) < 1024)
			low = &conf->listen[i];
	for (size_t i = 0; i < conf->tls.nlisten && !low; i++)
		if (config_listen_port(&conf->tls.listen[i]) < 1024)
			low = &conf->tls.listen[i];
	if (!low && conf->api.enabled && config_listen_port(&conf->api.listen) < 1024)
		low = &conf->api.listen;
	if (low && !privdrop_binds_low_ports(&pd)) {
		fprintf(
		    stderr,
		    "%s: %s: ports below 1024 need root or CAP_NET_BIND_SERVICE, which ternd (uid %u) does not have "
		    "(under systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE, as dist/ternd.service.in has it)\n",
		    conf->path, low->text, (unsigned)geteuid());
		problems++;
	}
	/* server.tls's files are read as that user, at start and on each SIGHUP */
	const char *tls_files[][2] = {{"server.tls.certificate", conf->tls.certificate},
	                              {"server.tls.key", conf->tls.key},
	                              {"server.tls.client-ca-file", conf->tls.client_ca_file}};
	for (size_t i = 0; i < 3 && !apply; i++)
		if (tls_files[i][1] && access(tls_files[i][1], F_OK) == 0 && /* else check_tls says so */
		    privdrop_readable(&pd, tls_files[i][1], err, ERRBUF) < 0) {
			fprintf(stderr, "%s: %s %s\n", conf->path, tls_files[i][0], err);
			problems++;
		}
	if (conf->api.data_dir && privdrop_writable(&pd, conf->api.data_dir, err, ERRBUF) < 0) {
		fprintf(stderr, "%s: api.data-dir %s\n", conf->path, err);
		problems++;
	}
	char dir[4096], last[4096] = "";
	for (size_t i = 0; i < conf->nzones; i++) { /* secondary zones: their copies' directories, each once */
		const struct config_zone *cz = &conf->zones[i];
		if (!cz->nprimaries || !cz->file)
			continue;
		snprintf(dir, sizeof(dir), "%s", cz->file);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		if (!slash || strcmp(dir, last) == 0)
			continue;
		memcpy(last, dir, sizeof(last));
		if (privdrop_writable(&pd, dir, err, ERRBUF) < 0) {
			fprintf(stderr, "%s: zone %s: its copy's directory %s\n", conf->path, cz->name, err);
			problems++;
		}
	}
	if (conf->dnstap.file) { /* written by the dnstap thread, as that user */
		snprintf(dir, sizeof(dir), "%s", conf->dnstap.file);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = 0;
		if (slash && privdrop_writable(&pd, dir, err, ERRBUF) < 0) {
			fprintf(stderr, "%s: dnstap.file's directory %s\n", conf->path, err);
			problems++;
		}
	}
	return problems;
}

/* --check with a store: what the configuration does to the zones the store holds for it (notes
 * on stdout), and whether it agrees with the store (problems on stderr). Returns the failures. */
static int check_store(struct config *conf, char *err)
{
	char path[4096];
	if (!conf->api.enabled || !conf->api.data_dir)
		return 0;
	if (conf->api.store)
		snprintf(path, sizeof(path), "%s", conf->api.store);
	else
		snprintf(path, sizeof(path), "%s/tern.db", conf->api.data_dir);
	if (!conf->api.store && access(path, F_OK) != 0)
		return 0; /* no store yet: every zone with a dnssec-policy is new */
	struct store *st = NULL;
	struct change c;
	int have, want;
	if (store_schema(path, &have, &want, err, ERRBUF) < 0) {
		fprintf(stderr, "%s: api.store: %s\n", conf->path, err);
		return 1;
	}
	if (conf->api.store) /* the location holds a password, perhaps: never echoed */
		snprintf(path, sizeof(path), "api.store (PostgreSQL)");
	if (have > want) {
		fprintf(stderr, "%s: the store's schema is version %d, newer than this ternd's (%d)\n", path, have,
		        want);
		return 1;
	}
	if (have < want) { /* opening it would migrate it under the running ternd: not for a check */
		printf("%s: the store's schema is version %d, this ternd's %d: ternd upgrades it when it starts; the "
		       "zones it holds are not checked against the configuration\n",
		       path, have, want);
		return 0;
	}
	if (store_open(conf->api.store ? conf->api.store : path, &st, err, ERRBUF) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	change_init(&c, NULL, st, 0);
	int failed = 0;
	if (change_config_mark(&c, conf, err, ERRBUF) == 0 && err[0])
		printf("%s\n", err);
	if (change_config_check(&c, conf, err, ERRBUF) < 0) {
		fprintf(stderr, "%s\n", err);
		failed = 1;
	}
	change_destroy(&c);
	store_close(st);
	return failed;
}

/* Zone listener: the log line every published version gets. */
/* Zones loaded before ternd is ready: the first STARTUP_ZONE_LINES are logged one a line at info,
 * the rest at debug (a million lines of start-up log are seconds of CPU and no help to read); the
 * ready line counts them all. */
#define STARTUP_ZONE_LINES 100
static _Atomic bool started;
static _Atomic size_t startup_lines;

/* A tenant's dynamic update takes from its API rate-limit bucket (update/update.h). */
static bool update_rate_take(void *arg, const char *tenant, unsigned *rate, unsigned *wait)
{
	return !arg || api_rate_take(arg, tenant, rate, wait);
}

static void log_zone_event(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	(void)arg;
	char name[1024];
	if (ev == ZONES_PUBLISHED) {
		size_t k = !old && !atomic_load(&started) ? atomic_fetch_add(&startup_lines, 1) : 0;
		if (k >= STARTUP_ZONE_LINES) {
			if (k == STARTUP_ZONE_LINES)
				log_info("more zones loaded: logged at debug level until ternd is ready");
			if (log_enabled(LOG_DEBUG)) {
				name_to_text(next->apex, name, sizeof(name));
				log_debug("zone %s: serial %u loaded, %zu records", name, next->serial, next->nrecords);
			}
			return;
		}
		name_to_text(next->apex, name, sizeof(name));
		if (old)
			log_info("zone %s: serial %u -> %u, %zu records", name, old->serial, next->serial,
			         next->nrecords);
		else
			log_info("zone %s: serial %u loaded, %zu records", name, next->serial, next->nrecords);
	} else {
		name_to_text(old->apex, name, sizeof(name));
		log_info("zone %s: removed", name);
	}
}

/* zone_foreach(): 1 at the first DNSSEC RRset of a zone signed downstream, named in arg (ERRBUF). */
static int dnssec_record(void *arg, const struct zone_node *n)
{
	for (uint16_t k = 0; k < n->nrrsets; k++) {
		if (!change_dnssec_type(n->rrsets[k].type))
			continue;
		char owner[NAME_MAXLEN * 4 + 1], type[16];
		name_to_text(n->owner, owner, sizeof(owner));
		if (rrtext_type_to_text(n->rrsets[k].type, type, sizeof(type)) < 0)
			snprintf(type, sizeof(type), "TYPE%u", n->rrsets[k].type);
		snprintf(arg, ERRBUF, "%s %s: a zone signed downstream holds no %s records (its secondaries sign it)",
		         owner, type, type);
		return 1;
	}
	return 0;
}

/* A file changed within this many seconds of being read is read again at the next reload even if
 * its stamp is unchanged: a second write in the same clock tick as the first may leave size and
 * times as they were (file systems keep times to a tick, some to 1 or 2 s). */
#define STAMP_SETTLE_S 2

/* The stamp of a file whose status is sb; not set when the file changed less than STAMP_SETTLE_S
 * ago, or sb is empty (zonefile_read() could not open it). */
static void stamp_of(const struct stat *sb, struct config_file_stamp *st)
{
	struct timespec now;
	memset(st, 0, sizeof(*st));
	if (sb->st_mode == 0 || clock_gettime(CLOCK_REALTIME, &now) < 0)
		return;
	st->dev = sb->st_dev;
	st->ino = sb->st_ino;
	st->size = sb->st_size;
	st->mtime = sb->st_mtim;
	st->ctime = sb->st_ctim;
	st->set =
	    now.tv_sec - sb->st_mtim.tv_sec >= STAMP_SETTLE_S && now.tv_sec - sb->st_ctim.tv_sec >= STAMP_SETTLE_S;
}

/* The stamp of the file at path now (stat through r's directory: no open, no read); not set when
 * stat fails. */
static void file_stamp(struct zonefile_reader *r, const char *path, struct config_file_stamp *st)
{
	struct stat sb;
	if (zonefile_stat(r, path, &sb) < 0)
		memset(st, 0, sizeof(*st));
	else
		stamp_of(&sb, st);
}

static bool same_stamp(const struct config_file_stamp *a, const struct config_file_stamp *b)
{
	return a->set && b->set && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Whether the version served of cz is still what previous read from the same file, which has not
 * changed since (same device, inode, size, modification and change times): then it is not read
 * again. Recognising a file by its stamp rather than a hash of its content costs one stat, with
 * no read; a rewrite keeping all five is what STAMP_SETTLE_S leaves out. */
static bool zone_file_unchanged(struct server *srv, const struct config_zone *cz, const struct config *previous,
                                bool same_config, const struct config_file_stamp *now)
{
	/* the configuration in force handed again (its file unchanged): the zone is its own previous */
	const struct config_zone *was = same_config ? cz : previous ? config_zone_find(previous, cz->apex) : NULL;
	if (!was || was->nprimaries || was->stored || was->signed_downstream != cz->signed_downstream ||
	    !same_stamp(&was->loaded, now) || strcmp(was->file, cz->file) != 0)
		return false;
	rcu_thread_online();
	bool served = zones_get(srv->zones, cz->apex) != NULL;
	rcu_thread_offline();
	return served;
}

/* One zone of load_zones, on any of each_zone's threads. */
struct loading {
	struct server *srv;
	struct config *conf;
	const struct config *previous;
	const size_t *first; /* zones read before the rest are looked at (the files inotify named) */
	bool *done; /* per zone: read in the first round, not looked at again */
	_Atomic size_t read, unchanged;
};

static void load_zone(void *arg, size_t i, struct zonefile_reader *r, char *err)
{
	struct loading *l = arg;
	struct config_zone *cz = &l->conf->zones[i];
	struct config_file_stamp stamp;
	struct stat sb;
	struct zone *z = NULL;
	if (cz->nprimaries || cz->stored ||
	    (l->done && l->done[i])) /* secondaries are xfrin's, signed ones the store's */
		return;
	/* at start-up nothing is served to compare with: the file is only read */
	if (l->previous)
		file_stamp(r, cz->file, &stamp);
	if (l->previous && zone_file_unchanged(l->srv, cz, l->previous, l->previous == l->conf, &stamp)) {
		if (l->previous != l->conf)
			cz->loaded = config_zone_find(l->previous, cz->apex)->loaded;
		atomic_fetch_add(&l->unchanged, 1);
		return;
	}
	atomic_fetch_add(&l->read, 1);
	/* the stamp of the file as opened, before its first byte is read: a change during the read
	 * is seen next time */
	int rc = zonefile_read(r, cz->file, cz->apex, &z, &sb, err, ERRBUF);
	if (rc < 0) {
		rcu_thread_online();
		bool served = zones_get(l->srv->zones, cz->apex) != NULL;
		rcu_thread_offline();
		log_error("zone %s not loaded%s:\n%s", cz->name, served ? " (previous version still served)" : "",
		          err[0] ? err : tern_strerror(rc));
		return;
	}
	if (cz->signed_downstream && zone_foreach(z, dnssec_record, err) == 1) {
		rcu_thread_online();
		bool served = zones_get(l->srv->zones, cz->apex) != NULL;
		rcu_thread_offline();
		log_error("zone %s not loaded%s: %s", cz->name, served ? " (previous version still served)" : "", err);
		zone_free(z);
		return;
	}
	if (zones_publish(l->srv->zones, z) < 0) {
		log_error("zone %s: cannot publish: out of memory", cz->name);
		zone_free(z);
		return;
	}
	stamp_of(&sb, &cz->loaded);
}

/* The files inotify named since the last reload (filewatch_drain()). */
struct changed_files {
	char **v;
	size_t n, cap;
	bool incomplete; /* out of memory: some are missing (the full round finds them) */
};

static void note_changed(void *arg, const char *path)
{
	struct changed_files *c = arg;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		char **v = realloc(c->v, cap * sizeof(*v));
		if (!v) {
			c->incomplete = true;
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	if ((c->v[c->n] = strdup(path)) != NULL)
		c->n++;
	else
		c->incomplete = true;
}

static void changed_files_free(struct changed_files *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
}

/* The directories of conf's zone files watched (those load_zones reads: not secondaries, not
 * signed), *watch made at the first such file: a server without zone files takes no inotify
 * instance (a user has 128). */
static void watch_zone_files(struct filewatch **watch, const struct config *conf)
{
	size_t missed = 0;
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct config_zone *cz = &conf->zones[i];
		if (cz->nprimaries || cz->stored || !cz->file)
			continue;
		if (!*watch && !(*watch = filewatch_new())) {
			log_warning("inotify unavailable (%s): a reload finds changed zone files by stat alone",
			            strerror(errno));
			return;
		}
		if (!filewatch_add(*watch, cz->file))
			missed++;
	}
	if (missed)
		log_warning("inotify: the directories of %zu zone file(s) cannot be watched: a reload finds their "
		            "changes by stat alone",
		            missed);
}

static void load_first_zone(void *arg, size_t k, struct zonefile_reader *r, char *err)
{
	struct loading *l = arg;
	load_zone(l, l->first[k], r, err);
	l->done[l->first[k]] = true;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The zones of conf whose file is one of the paths (sorted here), at most n; NULL when none. */
static size_t *zones_of_files(const struct config *conf, char **paths, size_t npaths, size_t *n)
{
	*n = 0;
	if (!npaths)
		return NULL;
	qsort(paths, npaths, sizeof(*paths), path_cmp);
	size_t *out = NULL, cap = 0;
	for (size_t i = 0; i < conf->nzones; i++) {
		const char *file = conf->zones[i].file;
		if (!file || !bsearch(&file, paths, npaths, sizeof(*paths), path_cmp))
			continue;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			size_t *no = realloc(out, ncap * sizeof(*no));
			if (!no)
				break; /* the rest are found by the full round */
			out = no;
			cap = ncap;
		}
		out[(*n)++] = i;
	}
	return out;
}

/* Loads the zone files of conf (each_zone: on one thread per CPU) and publishes the ones that load;
 * a zone that fails keeps its previous version (if any) serving. On a reload (previous set) a file
 * whose stamp is unchanged is not read again, and the files inotify named (changed, npaths of
 * them; NULL when it cannot tell) are looked at first, so that a changed zone is served without
 * waiting for every other file's stat. Zones no longer configured are removed. Secondary zones
 * are xfrin's. Each zone read gets its stamp in conf (config_zone.loaded). */
static void load_zones(struct server *srv, struct config *conf, const struct config *previous, char **changed,
                       size_t nchanged)
{
	char *err = malloc(ERRBUF);
	struct loading l = {.srv = srv, .conf = conf, .previous = previous};
	if (!err) {
		log_error("out of memory loading zones");
		return;
	}
	atomic_init(&l.read, 0);
	atomic_init(&l.unchanged, 0);
	size_t nfirst = 0;
	size_t *first = previous ? zones_of_files(conf, changed, nchanged, &nfirst) : NULL;
	if (first && (l.done = calloc(conf->nzones, sizeof(*l.done))) != NULL) {
		l.first = first;
		each_zone(nfirst, true, load_first_zone, &l);
	}
	size_t early = atomic_load(&l.read);
	each_zone(conf->nzones, true, load_zone, &l);
	log_info("zone files: %zu read, %zu unchanged (%zu named by inotify, read first)", atomic_load(&l.read),
	         atomic_load(&l.unchanged), early);
	free(l.done);
	free(first);
	for (size_t i = 0; previous && i < previous->nzones; i++) {
		/* the store's (change_config_retire()), or still configured */
		bool kept = previous->zones[i].stored || config_zone_find(conf, previous->zones[i].apex);
		if (kept)
			continue;
		/* not found: it failed to load, so was never served */
		int rc = zones_remove(srv->zones, previous->zones[i].apex);
		if (rc < 0 && rc != TERN_ENOTFOUND)
			log_error("zone %s: no longer configured, but still served until restart: %s",
			          previous->zones[i].name, tern_strerror(rc));
	}
	free(err);
}

/* Zone files with a dnssec-policy: each file imported into its zone of the store (created the
 * first time; only the differences written, re-signed; nothing when it is unchanged) and signed
 * there; a file that fails to load leaves the zone as served. Secondary zones with one get their
 * content from xfrin (secondary_update), here only a changed policy. Zones of the store's
 * configuration tenant no longer listed stop being served. */
static void load_signed_zones(struct change *change, const struct config *conf)
{
	char *err = malloc(ERRBUF);
	if (!err) {
		log_error("out of memory loading zones");
		return;
	}
	enum store_serial_policy sp = conf->api.serial_increment ? STORE_SERIAL_INCREMENT : STORE_SERIAL_DATE;
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct config_zone *cz = &conf->zones[i];
		struct zone *z = NULL;
		struct change_result r;
		if (!cz->stored) /* signed, or being (or once) signed */
			continue;
		if (cz->nprimaries) {
			rcu_thread_online();
			if (change_config_policy(change, cz, &r) < 0)
				log_error("zone %s (%s:%u): policy not applied: %s", cz->name, conf->path, cz->line,
				          r.msg);
			rcu_thread_offline();
			continue;
		}
		int rc = zonefile_load(cz->file, cz->apex, &z, err, ERRBUF);
		if (rc < 0) {
			log_error("zone %s not loaded (the version in the store is served, if any):\n%s", cz->name,
			          err[0] ? err : tern_strerror(rc));
			continue;
		}
		rcu_thread_online(); /* the change module reads the served version */
		rc = change_config_zone(change, cz, sp, z, &r);
		rcu_thread_offline();
		if (rc < 0)
			log_error("zone %s (%s:%u): not applied: %s", cz->name, conf->path, cz->line, r.msg);
		else if (r.changes)
			log_info("zone %s: %zu RRset change(s) from %s, serial %u", cz->name, r.changes, cz->file,
			         r.serial);
	}
	change_config_retire(change, conf);
	free(err);
}

/* Secondary zones with a dnssec-policy: xfrin hands each version it transfers (and the disk copy
 * at start) to the change module, which imports it into the zone's store zone, re-signed. */
struct signed_secondaries {
	struct server *srv;
	struct change *change;
};

/* xfrin's signer update. Called with xfrin's lock held, so a reload, which waits for that lock in
 * xfrin_reload() before it frees the previous configuration, leaves the entry read here alone. */
static int secondary_update(void *arg, const uint8_t *apex, const struct zone *zn, const struct zone *base,
                            const char *source, char *err, size_t errlen)
{
	struct signed_secondaries *ss = arg;
	struct change_result r;
	int rc = TERN_ENOTFOUND;
	snprintf(err, errlen, "no longer configured with a dnssec-policy");
	rcu_thread_online(); /* the configuration in force; the change module reads the zone served */
	const struct config *conf = server_config(ss->srv);
	enum store_serial_policy sp = conf->api.serial_increment ? STORE_SERIAL_INCREMENT : STORE_SERIAL_DATE;
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct config_zone *cz = &conf->zones[i];
		if (cz->nprimaries && cz->stored && name_equal(cz->apex, apex)) {
			rc = change_config_transfer(ss->change, cz, sp, zn, base, source, &r);
			if (rc < 0)
				snprintf(err, errlen, "%s", r.msg);
			else if (r.changes)
				log_info("zone %s: %zu RRset change(s) from %s (serial %u), signed serial %u", cz->name,
				         r.changes, source, zn->serial, r.serial);
			break;
		}
	}
	rcu_thread_offline();
	return rc;
}

static void secondary_unserve(void *arg, const uint8_t *apex)
{
	struct signed_secondaries *ss = arg;
	change_config_unserve(ss->change, apex, "expired");
}

/* At start: zones signed by ternd for the first time are signed in the background; ternd reports
 * ready once they are (at most SIGN_WAIT_MS), so the first answers already carry signatures. A zone
 * without signing state (enabling failed) or whose signing job failed is not waited for. */
#define SIGN_WAIT_MS 30000
static void wait_signed(struct server *srv, struct change *change, const struct config *conf)
{
	for (size_t i = 0; i < conf->nzones; i++) {
		if (!conf->zones[i].dnssec_policy)
			continue;
		for (unsigned ms = 0;; ms += 10) {
			struct change_dnssec_status st;
			rcu_thread_online();
			const struct zone *z = zones_get(srv->zones, conf->zones[i].apex);
			bool done = !z || zone_signed(z) ||
			            change_dnssec_status(change, conf->zones[i].apex, &st) < 0 || st.error[0] ||
			            st.keys_unloadable;
			rcu_thread_offline();
			if (done)
				break;
			if (ms >= SIGN_WAIT_MS) {
				log_warning("zone %s: not signed yet after %u s: served unsigned until it is",
				            conf->zones[i].name, SIGN_WAIT_MS / 1000);
				break;
			}
			nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
		}
	}
}

/* The tenants' store and the one writer of its zones: opened before the API and the transports
 * (which read the zones it serves and the journal it keeps), closed after them. */
struct stored {
	int lock; /* store_dir_lock()'s on data-dir while open; -1 none */
	struct store *store; /* NULL: no tenant API (the api section has no data-dir) */
	struct change change; /* set up while store is open */
};

/* Opens data-dir's store and sets the change module over it (nothing served yet). */
static int stored_open(struct stored *s, struct server *srv, const struct config *conf, char *err, size_t errlen)
{
	char path[4096];
	if (mkdir(conf->api.data_dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "api.data-dir %s: %s", conf->api.data_dir, strerror(errno));
		return TERN_EIO;
	}
	snprintf(path, sizeof(path), "%s/tern.db", conf->api.data_dir);
	int rc = store_dir_lock(conf->api.data_dir, &s->lock, err, errlen); /* one ternd per store */
	if (rc < 0 || (rc = store_open(conf->api.store ? conf->api.store : path, &s->store, err, errlen)) < 0)
		return rc;
	change_init(&s->change, srv->zones, s->store, conf->api.journal_keep);
	s->change.signals = srv->signals; /* ksk-submission (change_dnssec.c) */
	atomic_store(&s->change.intree_interval, conf->in_tree_check_interval); /* in-tree-expiring */
	return 0;
}

/* After a restore: both stores loaded (the restored one, and the one it replaced when there was
 * one), and change_restore_follow() between them. */
static int restore_follow(const char *dir, unsigned journal_keep, size_t *rolled, char *err)
{
	char path[4096], before[4096];
	snprintf(path, sizeof(path), "%s/tern.db", dir);
	snprintf(before, sizeof(before), "%s/tern.db.before-restore", dir);
	if (access(before, F_OK) != 0)
		return 0;
	struct store *st = NULL, *old = NULL;
	struct zones *zs = zones_new(), *zold = zones_new();
	struct change c, co;
	size_t loaded, failed;
	bool inited = false;
	rcu_register_thread();
	rcu_thread_offline();
	int rc = zs && zold ? 0 : TERN_ENOMEM;
	if (rc < 0)
		snprintf(err, ERRBUF, "out of memory");
	if (rc == 0 && (rc = store_open_sqlite(path, &st, err, ERRBUF)) == 0 &&
	    (rc = store_open_sqlite(before, &old, err, ERRBUF)) == 0) {
		change_init(&c, zs, st, journal_keep); /* 0 would trim the journal: the configuration's */
		change_init(&co, zold, old, journal_keep);
		inited = true;
		if ((rc = change_load_all(&c, &loaded, &failed, err, ERRBUF)) == 0 &&
		    (rc = change_load_all(&co, &loaded, &failed, err, ERRBUF)) == 0) {
			rcu_thread_online(); /* a writer, as the API's thread is */
			rc = change_restore_follow(&c, &co, rolled, err, ERRBUF);
			rcu_thread_offline();
		}
	}
	if (inited) {
		change_destroy(&c);
		change_destroy(&co);
	}
	store_close(st);
	store_close(old);
	rcu_barrier(); /* the versions the writes replaced, freed before the sets */
	zones_free(zs);
	zones_free(zold);
	rcu_unregister_thread();
	return rc;
}

/* ternd --restore: as the user ternd runs as, under the data directory's lock (not while a ternd
 * runs on it), the backup checked and put in place of the store. */
static int restore(const struct config *conf, const char *file, char *err)
{
	char info[8192];
	int lock = -1;
	if (!conf->api.data_dir) {
		fprintf(stderr, "%s: --restore: the configuration has no api.data-dir (no store to restore)\n",
		        conf->path);
		return 1;
	}
	if (conf->api.store) {
		fprintf(stderr,
		        "%s: --restore: the store is in PostgreSQL (api.store): restore it with pg_restore or "
		        "pg_basebackup; --restore takes SQLite backups\n",
		        conf->path);
		return 1;
	}
	if (run_as(conf, true, err) > 0)
		return 1;
	if (mkdir(conf->api.data_dir, 0750) < 0 && errno != EEXIST) {
		fprintf(stderr, "api.data-dir %s: %s\n", conf->api.data_dir, strerror(errno));
		return 1;
	}
	int rc = store_dir_lock(conf->api.data_dir, &lock, err, ERRBUF);
	if (rc == 0)
		rc = store_sqlite_restore(file, conf->api.data_dir, info, sizeof(info), err, ERRBUF);
	if (rc < 0) {
		if (lock >= 0)
			close(lock);
		fprintf(stderr, "--restore: %s (nothing was changed)\n", err);
		return 1;
	}
	printf("%s\n", info);
	size_t rolled = 0;
	rc = restore_follow(conf->api.data_dir, conf->api.journal_keep, &rolled, err);
	close(lock);
	if (rc < 0) {
		fprintf(stderr,
		        "--restore: the backup is in place, but the zones the replaced store held at later "
		        "serials were not rolled forward for their secondaries: %s\n",
		        err);
		return 1;
	}
	if (rolled)
		printf(
		    "%zu zone(s) the replaced store held at later serials: written again at the next serial with the "
		    "backup's content (secondaries holding the later versions roll back by IXFR)\n",
		    rolled);
	return 0;
}

/* Serves every zone the store holds and starts its signer. */
static int stored_serve(struct stored *s, const struct config *conf, char *err, size_t errlen)
{
	char path[4096];
	if (conf->api.store) /* a password may be in the location: not logged */
		snprintf(path, sizeof(path), "the PostgreSQL store (api.store)");
	else
		snprintf(path, sizeof(path), "%s/tern.db", conf->api.data_dir);
	int rc;
	size_t loaded = 0, failed = 0;
	if ((rc = change_load_all(&s->change, &loaded, &failed, err, errlen)) < 0)
		return rc;
	log_info("API: %zu zone(s) rebuilt from %s%s", loaded, path, failed ? " (some failed: see above)" : "");
	/* other ternd on the same store (PostgreSQL): their writes served here too */
	if ((rc = change_watch(&s->change, err, errlen)) < 0)
		return rc;
	return change_signer_start(&s->change, err, errlen);
}

/* After every reader and writer of the store has stopped (TCP transfers, the API). */
static void stored_close(struct stored *s)
{
	if (!s->store)
		return;
	change_destroy(&s->change);
	store_close(s->store);
	s->store = NULL;
	if (s->lock >= 0)
		close(s->lock);
	s->lock = -1;
}

/* Many TCP clients need many descriptors: take everything the hard limit allows. */
static void raise_fd_limit(const struct config *conf)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	rlim_t need =
	    (rlim_t)conf->tcp_max_clients + 64 + 4 * conf->nlisten * (conf->udp_workers ? conf->udp_workers : 4);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need)
		log_warning("file descriptor limit %llu is below the %llu that tcp-max-clients %u needs",
		            (unsigned long long)rl.rlim_cur, (unsigned long long)need, conf->tcp_max_clients);
}

/* A key a reload cannot apply: say so, by name. */
static void warn_restart(const char *key, void *arg)
{
	(void)arg;
	log_warning("%s changed: restart ternd to apply it", key);
}

/* Readiness (systemd's READY=1, sdnotify.h): every zone ternd should serve is served. Zone files
 * and the store's zones are before "ready" is logged; secondary zones, and the members of consumed
 * catalogs, when their first transfer (or a disk copy) is in. main looks as each new zone is
 * published (READY_WAKE: the publisher wakes it, one wake-up pending at most), and besides every
 * READY_POLL_MS or twenty times as long as the last look took (it walks every secondary zone). */
#define READY_POLL_MS 100
#define READY_WAKE SIGUSR2
/* After a woken look that still finds the zone unserved: the publisher marks a secondary zone
 * served (xfrin's status) just after publishing it, so the look the wake-up brings may come first;
 * the next one comes this soon (or twenty times as long as the last look took), then twice as long
 * each time up to READY_POLL_MS. */
#define READY_SETTLE_MS 2

struct ready_wake {
	pthread_t main;
	_Atomic bool armed; /* main waits for zones: the next new zone sends READY_WAKE (and disarms) */
};

static void ready_on_zone(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	(void)next;
	struct ready_wake *w = arg;
	if (ev == ZONES_PUBLISHED && !old && atomic_exchange(&w->armed, false))
		pthread_kill(w->main, READY_WAKE);
}

struct readiness {
	bool ready; /* READY=1 sent (or all served, outside systemd) */
	struct signals *signals; /* all-zones-ready set when ready */
	size_t cursor; /* where the next scan of the secondary zones begins */
	size_t waiting; /* 1 + the index of the zone STATUS= named as waited for, or 0 */
	uint64_t poll_ms; /* until the next look */
	uint64_t settle_ms; /* until the next look after a woken one (READY_SETTLE_MS) */
	bool warned; /* a failed notification was logged */
};

__attribute__((format(printf, 2, 3))) static void notify_systemd(struct readiness *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = sdnotify_v(fmt, ap);
	va_end(ap);
	if (rc < 0 && !r->warned) {
		r->warned = true;
		log_warning("systemd notification to %s failed: %s", getenv("NOTIFY_SOCKET"), strerror(errno));
	}
}

/* Looks once; true (READY=1 sent) when every zone is served. The secondary zones are scanned on
 * from where the last look stopped (each served zone passed once, not at every look: at a million
 * zones a full walk under the status lock every look would contend with the refresh thread); at
 * the end the catalogs are asked, and once they are settled (their members added) a last scan from
 * the start confirms that every zone is served (one served before may have expired since). */
static bool ready_look(struct readiness *r, struct server *srv, struct xfrin *x, struct catalog_in *ci)
{
	uint8_t first[NAME_MAXLEN] = {0};
	char text[NAME_MAXLEN * 4 + 2] = "";
	uint64_t t0 = ev_clock_ms();
	size_t total = 0;
	bool waiting = xfrin_unserved_next(x, &r->cursor, first, &total), settled = false;
	if (!waiting && (settled = catalog_in_settled(ci))) {
		r->cursor = 0;
		waiting = xfrin_unserved_next(x, &r->cursor, first, &total);
	}
	uint64_t took = ev_clock_ms() - t0;
	r->poll_ms = took * 20 > READY_POLL_MS ? took * 20 : READY_POLL_MS;
	r->settle_ms = took * 20 > READY_SETTLE_MS ? took * 20 : READY_SETTLE_MS;
	if (settled && !waiting) {
		r->ready = true;
		char count[24];
		snprintf(count, sizeof(count), "%zu", zones_count(srv->zones));
		struct signal_arg args[] = {{"zones", count}};
		signals_raise(r->signals, SIGNAL_ALL_ZONES_READY, SIGNAL_SET, NULL, args, 1);
		notify_systemd(r, "READY=1\nSTATUS=%zu zone(s) served", zones_count(srv->zones));
		log_info("all zones served: %zu zone(s)%s", zones_count(srv->zones),
		         getenv("NOTIFY_SOCKET") ? "; READY=1 sent to systemd" : "");
		return true;
	}
	size_t at = waiting ? r->cursor + 1 : 0; /* what STATUS= said last: the zone waited for, or 0 */
	if (at != r->waiting || !waiting) {
		r->waiting = at;
		if (waiting) {
			name_to_text(first, text, sizeof(text));
			notify_systemd(r, "STATUS=waiting for %s to be served (secondary zone %zu of %zu)", text, at,
			               total);
		} else {
			notify_systemd(r, "STATUS=waiting for the members of consumed catalogs");
		}
	}
	return false;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'k'},
	    {"keys", no_argument, NULL, 'K'},         {"restore", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *path = NULL, *restore_from = NULL;
	bool check = false;
	for (int c; (c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1;) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'k': check = true; break;
		case 'K': return print_reference();
		case 'R': restore_from = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}
	char *err = malloc(ERRBUF);
	struct config *conf = NULL;
	struct config_file_stamp conf_stamp; /* the configuration file as read */
	if (!err)
		return 1;
	file_stamp(NULL, path, &conf_stamp); /* before the read, as for zone files */
	if (config_load(path, &conf, err, ERRBUF) < 0) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 1;
	}
	if (restore_from) {
		int failed = check ? 1 : restore(conf, restore_from, err);
		if (check)
			fprintf(stderr, "--check and --restore: one at a time\n");
		config_free(conf);
		free(err);
		return failed;
	}
	if (check) {
		int failed =
		    run_as(conf, false, err) + check_tls(conf, err) + check_zones(conf) + check_store(conf, err);
		config_free(conf);
		free(err);
		return failed ? 1 : 0;
	}
	log_detect_journal();
	log_set_level((enum log_level)conf->log_level);
	log_set_format((enum log_format)conf->log_format);
	raise_fd_limit(conf);
	/* server.user: no zone, store or socket is opened before this */
	if (run_as(conf, true, err) > 0) {
		config_free(conf);
		free(err);
		return 1;
	}
	struct dns_sockets socks = {0};
	int api_fd = -1;
	struct acme_listener *acme = NULL; /* acme.responder: bound here, started with the DNS workers */
	/* Every listening socket is bound before anything reads the network (monitors, transfers,
	 * NOTIFY) or starts a thread (capabilities are per thread): with server.user the capability
	 * kept to bind a low port goes right after. What arrives meanwhile waits in the sockets' queues
	 * until the workers start. */
	if (dns_sockets_bind(conf, &socks, err, ERRBUF) < 0 ||
	    (conf->api.enabled && (api_fd = http_listen((const struct sockaddr *)&conf->api.listen.addr,
	                                                conf->api.listen.addrlen, err, ERRBUF)) < 0) ||
	    acme_listen_open_config(&conf->acme.responder, &acme, err, ERRBUF) < 0 || privdrop_shed(err, ERRBUF) < 0) {
		log_error("%s", err);
		dns_sockets_close(&socks);
		if (api_fd >= 0)
			close(api_fd);
		acme_listen_stop(acme);
		config_free(conf);
		free(err);
		return 1;
	}
	log_info("sockets bound: %zu DNS address(es)%s%s", conf->nlisten, api_fd >= 0 ? ", the API's" : "",
	         acme ? ", the ACME responder's" : "");

	/* Signals go to this thread only, through sigwait; workers inherit the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, READY_WAKE);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* main follows published pointers now and then (an RCU reader only around those reads), and
	 * spends its life blocked in sigwait, offline */
	rcu_register_thread();
	rcu_thread_offline();

	struct server srv;
	struct ready_wake wake = {.main = pthread_self()};
	struct stored stored = {.lock = -1};
	struct udp *udp = NULL;
	struct update_server *update = NULL;
	struct tcp *tcp = NULL;
	struct api *api = NULL;
	struct svc *svc = NULL; /* service certificates (services.acme) */
	struct notify *notify = NULL;
	struct xfrin *xfrin = NULL;
	struct catalog *catalog = NULL;
	struct xfr_history *history = NULL;
	struct catalog_in *catalog_in = NULL;
	struct monitors *monitors = NULL;
	struct geo *geo = NULL;
	struct signals *signals = NULL;
	struct usage *usage = NULL;
	struct dnstap *dnstap = NULL;
	struct filewatch *watch = NULL;
	struct signed_secondaries ss = {&srv, &stored.change};
	struct xfrin_signer signer = {secondary_update, secondary_unserve, &ss};
	int status = 1;
	if (server_init(&srv, conf) < 0) {
		log_error("out of memory");
		goto out;
	}
	zones_subscribe(srv.zones, log_zone_event, NULL);
	zones_subscribe(srv.zones, ready_on_zone, &wake);
	/* the conditions signalled (zone-ready from the first zone on) and their hooks */
	if (signals_start(conf, &signals, err, ERRBUF) < 0 || signals_follow(signals, srv.zones) < 0) {
		log_error("%s", err[0] ? err : "signals: out of memory");
		goto out;
	}
	srv.signals = signals;
	if (signals_watch_stats(signals, &srv.stats, conf) < 0) {
		log_error("signals: cannot start the signals' tick (query rates, ede, signatures)");
		goto out;
	}
	/* health checks of dynamic answers' members: following the zones before the first one comes */
	if (monitor_start(&monitors, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	if (monitor_set_policy(monitors, &conf->monitors) < 0 || monitor_follow(monitors, srv.zones) < 0) {
		log_error("monitors: out of memory");
		goto out;
	}
	srv.monitors = monitors; /* what the API shows */
	answer_set_health(monitor_up, monitors); /* what dyn_select() asks */
	/* the store first: which zones of the configuration are its (change_config_mark) */
	if (conf->api.enabled && conf->api.data_dir && stored_open(&stored, &srv, conf, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	if (stored.store && change_config_mark(&stored.change, conf, err, ERRBUF) == 0 && err[0])
		log_info("%s", err);
	/* queries by zone and tenant (usage/usage.h): following the zones before the first one comes */
	if (usage_start(&usage, &srv.stats, srv.zones, stored.store, conf->usage.flush_ms,
	                conf->usage.keep_removed_ms) < 0) {
		log_error("usage: cannot start its thread");
		goto out;
	}
	srv.usage = usage; /* what /metrics shows */
	/* dnstap: its writer thread, before the answering threads that take its rings */
	if (conf->dnstap.enabled && dnstap_start(&dnstap, &conf->dnstap, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	srv.dnstap = dnstap;
	/* zone files' directories watched before the files are read: a change from now on is named at
	 * the next reload */
	watch_zone_files(&watch, conf);
	load_zones(&srv, conf, NULL, NULL, 0);
	if (notify_start(&srv, conf, &notify, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	/* API zones are rebuilt from the store and served before ternd reports ready */
	if (stored.store && stored_serve(&stored, conf, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	/* zone files signed by ternd: checked against the store, then imported into it and signed */
	if (stored.store && change_config_check(&stored.change, conf, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	if (stored.store)
		load_signed_zones(&stored.change, conf);
	/* secondary zones: disk copies served now (those with a dnssec-policy through the store, signed),
	 * refreshed from their primaries at once */
	if (xfrin_start(&srv, conf, stored.store ? &signer : NULL, &xfrin, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	srv.xfrin = xfrin; /* NOTIFY in and the SERVFAIL of zones not served, on the query path */
	if (stored.store)
		wait_signed(&srv, &stored.change, conf);
	if (conf->api.enabled) {
		int rc = api_start(&srv, conf, stored.store, stored.store ? &stored.change : NULL, api_fd, &api, err,
		                   ERRBUF);
		api_fd = -1; /* taken over (closed on failure) */
		if (rc < 0) {
			log_error("%s", err);
			goto out;
		}
	}
	/* service certificates: after the API (whose creations kick it), on their own thread */
	if (stored.store && svc_start(conf, stored.store, &stored.change, &svc, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	api_set_svc(api, svc);
	/* dynamic updates (RFC 2136) of the API's zones, through the change module */
	struct update_limit update_limit = {update_rate_take, api};
	if (stored.store && update_start(&srv, &stored.change, stored.store, &update_limit, &update) < 0) {
		log_error("out of memory");
		goto out;
	}
	/* IXFR out reads the catalog's history, then the store's journal: set before the TCP workers
	 * start */
	if (!(history = xfr_history_new(api_journal(api)))) {
		log_error("out of memory");
		goto out;
	}
	srv.journal = xfr_history_journal(history);
	/* members of consumed catalogs, after the API's zones so a member cannot hide one */
	if (catalog_in_start(&srv, conf, xfrin, &catalog_in, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	/* the catalog lists every zone loaded above, and follows them from here on */
	if (catalog_start(&srv, conf, xfrin, history, &catalog, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	/* the geo database, loaded before the first answer that could ask it */
	if (geo_start(conf, &geo, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	answer_set_geo(geo_lookup, geo);
	/* TCP accepts before UDP answers, so whoever sees a UDP answer can connect over TCP */
	if (tcp_start(&srv, conf, &socks, &tcp, err, ERRBUF) < 0 || udp_start(&srv, &socks, &udp, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	for (size_t i = 0; i < conf->nlisten; i++)
		log_info("listening on %s (UDP, TCP)", conf->listen[i].text);
	for (size_t i = 0; i < conf->tls.nlisten; i++)
		log_info("listening on %s (DNS over TLS and XoT, port %u)", conf->tls.listen[i].text,
		         config_listen_port(&conf->tls.listen[i]));
	/* the ACME http-01 responder (acme.responder), bound with the other sockets: on its own thread */
	if (acme_listen_run(acme, err, ERRBUF) < 0) {
		log_error("%s", err);
		goto out;
	}
	for (size_t i = 0; acme && i < conf->acme.responder.nlisten; i++)
		log_info("ACME http-01 responder on %s (TCP)", conf->acme.responder.listen[i].text);
	atomic_store(&started, true);
	log_info("ready: %zu zone(s) served", zones_count(srv.zones));
	signals_raise(signals, SIGNAL_RUNNING, SIGNAL_SET, NULL, NULL, 0);
	struct readiness ready = {.signals = signals};
	atomic_store(&wake.armed, true);
	if (ready_look(&ready, &srv, xfrin, catalog_in))
		atomic_store(&wake.armed, false);

	/* A reload reads the file, warns of each key it cannot apply, hands the new configuration to
	 * each module (each copies what it keeps, or reads the one in force), publishes it whole, then
	 * frees the previous one: by then no module and no reader holds it. */
	for (;;) {
		int sig = 0;
		if (!ready.ready) { /* not every zone served yet: look again after a while */
			struct timespec wait = {(time_t)(ready.poll_ms / 1000),
			                        (long)(ready.poll_ms % 1000) * 1000000L};
			if ((sig = sigtimedwait(&sigs, NULL, &wait)) < 0 || sig == READY_WAKE) {
				/* armed before the look: a zone published during it wakes main again */
				uint64_t waited = ready.poll_ms;
				atomic_store(&wake.armed, true);
				if (ready_look(&ready, &srv, xfrin, catalog_in))
					atomic_store(&wake.armed, false);
				else if (sig == READY_WAKE && ready.settle_ms < ready.poll_ms)
					ready.poll_ms = ready.settle_ms;
				else if (sig != READY_WAKE && waited * 2 < ready.poll_ms) /* settling: 2, 4, 8 ms ... */
					ready.poll_ms = waited * 2 > ready.settle_ms ? waited * 2 : ready.settle_ms;
				continue;
			}
		} else {
			/* every zone served: a second's wait, then whether that still holds (an expired
			 * zone clears all-zones-ready, and the looks begin again) */
			struct timespec wait = {1, 0};
			if ((sig = sigtimedwait(&sigs, NULL, &wait)) < 0 || sig == READY_WAKE) {
				if (!signals_is_set(signals, SIGNAL_ALL_ZONES_READY, NULL)) {
					ready.ready = false;
					ready.cursor = 0;
				}
				continue;
			}
		}
		if (sig != SIGHUP) {
			log_info("signal %d: stopping", sig);
			notify_systemd(&ready, "STOPPING=1\nSTATUS=stopping on signal %d", sig);
			signals_raise(signals, SIGNAL_SHUTTING_DOWN, SIGNAL_SET, NULL, NULL, 0);
			if (conf->signals.drain_ms) { /* still answering: routes go first */
				log_info("answering for %u ms more (signals.drain-delay)", conf->signals.drain_ms);
				struct timespec drain = {(time_t)(conf->signals.drain_ms / 1000),
				                         (long)(conf->signals.drain_ms % 1000) * 1000000L};
				while (nanosleep(&drain, &drain) < 0 && errno == EINTR)
					;
			}
			signals_raise(signals, SIGNAL_ALL_ZONES_READY, SIGNAL_CLEAR, NULL, NULL, 0);
			signals_raise(signals, SIGNAL_RUNNING, SIGNAL_CLEAR, NULL, NULL, 0);
			break;
		}
		log_info("SIGHUP: reloading %s", path);
		struct timespec mono;
		clock_gettime(CLOCK_MONOTONIC, &mono);
		/* MONOTONIC_USEC: what systemd 253 and later want with RELOADING=1 (Type=notify-reload) */
		notify_systemd(&ready, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		               (uint64_t)mono.tv_sec * 1000000u + (uint64_t)mono.tv_nsec / 1000u);
		/* A configuration file whose stamp is unchanged is not read again (100,000 zones are
		 * seconds of YAML): the one in force is handed to every module again, so zone files,
		 * JWKS and the rest are looked at as on any reload. */
		struct config_file_stamp stamp;
		file_stamp(NULL, path, &stamp);
		struct config *next = conf, *previous = conf;
		if (same_stamp(&conf_stamp, &stamp)) {
			log_info("configuration file unchanged: the configuration in force is kept");
		} else if (config_load(path, &next, err, ERRBUF) < 0) {
			log_error("configuration not reloaded, previous one kept:\n%s", err);
			continue;
		} else {
			if (stored.store && change_config_mark(&stored.change, next, err, ERRBUF) == 0 && err[0])
				log_info("%s", err);
			if (stored.store && change_config_check(&stored.change, next, err, ERRBUF) < 0) {
				log_error("configuration not reloaded, previous one kept:\n%s", err);
				config_free(next);
				continue;
			}
			config_restart_keys(conf, next, warn_restart, NULL);
			/* published first: the answering parameters (keys, ACLs, NSID, EDNS), what requests read */
			previous = server_set_config(&srv, next);
			if (!previous) {
				log_error("configuration not reloaded (out of memory), previous one kept");
				config_free(next);
				continue;
			}
			conf_stamp = stamp;
		}
		log_set_level((enum log_level)next->log_level);
		log_set_format((enum log_format)next->log_format);
		tcp_reload(tcp, next);
		if (signals_reload(signals, next) < 0)
			log_error("signals: out of memory applying the new hooks");
		/* NOTIFY targets before the zones, so this reload's new versions go to the new targets */
		if (notify_reload(&notify, &srv, next, err, ERRBUF) < 0)
			log_error("%s", err);
		if (xfrin_reload(xfrin, next) < 0)
			log_error("secondary zones: out of memory applying the new configuration");
		if (next != previous)
			watch_zone_files(&watch, next);
		struct changed_files changed = {0};
		bool told = filewatch_drain(watch, note_changed, &changed);
		load_zones(&srv, next, previous, told ? changed.v : NULL, told ? changed.n : 0);
		changed_files_free(&changed);
		if (stored.store)
			load_signed_zones(&stored.change, next);
		catalog_in_reload(catalog_in, next);
		geo_reload(geo, next);
		if (monitor_set_policy(monitors, &next->monitors) < 0)
			log_error("monitors: out of memory applying monitors.allow; the previous one stays");
		if (stored.store) {
			change_set_journal_keep(&stored.change, next->api.journal_keep);
			atomic_store(&stored.change.intree_interval, next->in_tree_check_interval);
		}
		api_reload(api, next);
		if (catalog_reload(&catalog, &srv, next, xfrin, history, err, ERRBUF) < 0)
			log_error("%s", err);
		if (previous != next)
			config_free(previous);
		conf = next;
		log_info("reload done: %zu zone(s) served", zones_count(srv.zones));
		if (ready.ready) /* the reload is done; before the first READY=1, that comes when all are served */
			notify_systemd(&ready, "READY=1\nSTATUS=%zu zone(s) served", zones_count(srv.zones));
	}
	status = 0;
out:
	dns_sockets_close(&socks); /* those not taken over */
	if (api_fd >= 0)
		close(api_fd);
	tcp_stop(tcp); /* first: a transfer may be reading the store's journal */
	srv.journal = NULL;
	catalog_stop(catalog);
	xfr_history_free(history);
	catalog_in_stop(catalog_in);
	update_stop(&srv, update); /* the updates under way end before the writer and the API's rate limit */
	api_stop(api); /* then the store's readers and writers, then the store */
	srv.usage = NULL;
	usage_stop(usage); /* it reads tenants from the store */
	svc_stop(svc); /* an issuance under way is cancelled at its next wait */
	xfrin_signer_detach(xfrin); /* the signed secondaries' writer */
	stored_close(&stored);
	notify_stop(notify);
	udp_stop(udp);
	srv.dnstap = NULL; /* every answering thread gave its ring back */
	dnstap_stop(dnstap); /* after writing what the rings hold (a second at most) */
	acme_listen_stop(acme);
	answer_set_geo(NULL, NULL); /* no query thread is left to ask it */
	geo_stop(geo);
	srv.xfrin = NULL; /* no query thread is left */
	srv.monitors = NULL;
	answer_set_health(NULL, NULL);
	monitor_unfollow(monitors, srv.zones);
	monitor_stop(monitors);
	srv.signals = NULL; /* every thread that raised one has stopped */
	signals_unfollow(signals, srv.zones);
	signals_stop(signals); /* the hooks still queued run first */
	xfrin_stop(xfrin);
	server_destroy(&srv);
	filewatch_free(watch);
	config_free(conf);
	free(err);
	rcu_thread_online();
	rcu_unregister_thread();
	log_info("stopped");
	return status;
}
