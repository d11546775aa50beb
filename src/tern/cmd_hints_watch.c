/* tern hints watch: polls each domain's delegation and zone (lib/hints.h) as often as their TTLs let
 * a change show, and signals the draft's inconsistencies as conditions set and cleared: on standard
 * output, and on MQTT (retained, QoS 1, as ternd's signals); a new NS set that validates from the
 * anchor rewrites the Unbound configuration (--apply reloads Unbound). */
#include <errno.h>
#include <mosquitto.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/check_input.h"
#include "lib/error.h"
#include "lib/hints.h"
#include "lib/rr.h"
#include "tern/cli.h"

extern char **environ;

#define WATCH_MAXDOMAINS 16
#define WATCH_EXPIRY_LEAD (60LL * 86400)

enum { C_DELEGATION, C_DS, C_NS, C_EXPIRY, C_ANCHOR, C_DNSSEC, C_N };
static const char *const CONDITIONS[C_N] = {"delegation-removed", "ds-changed",     "ns-changed",
                                            "in-tree-expiring",   "anchor-changed", "dnssec-failed"};

struct watched {
	char domain[CHECK_NAME_TEXT];
	bool have_base;
	char ds[2048], ns[2048]; /* the baseline: the parent's DS set and the zone's NS set, sorted, joined */
	int trust_tag; /* the baseline's pinned KSK (or --trust) */
	struct check_addr servers[CHECK_MAXNS]; /* the baseline's in-bailiwick servers */
	int nservers;
	bool set[C_N];
	double due; /* monotonic seconds of the next poll */
	bool have_ta; /* ta holds the watch's own anchor (seeded at the baseline, or from --state) */
	struct hints_ta ta; /* kept by RFC 5011 (hints_ta_update) */
};

struct watch {
	struct mosquitto *mqtt;
	char prefix[128];
	const char *conf, *anchor, *control_conf;
	bool apply;
	long max_interval;
	struct check_addr hints[CHECK_MAXNS];
	int nhints;
	struct check_addr servers[CHECK_MAXNS];
	int nservers, trust;
	struct hints_anchor *root; /* --root-anchor (on the heap: its DNSKEYs are CHECK_RR_TEXT each) */
	const char *state; /* --state FILE: the anchors, kept across runs */
	long add_holddown; /* --add-holddown S */
	struct watched *ds; /* the domains (for the state file) */
	int nd;
};

static int cmp_str(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* The n strings (stride bytes apart) sorted and joined by spaces into out. */
static void joined(const char *base, size_t stride, int n, char *out, size_t cap)
{
	const char *v[CHECK_MAXNS] = {0};
	int k = 0;
	for (int i = 0; i < n && k < CHECK_MAXNS; i++)
		v[k++] = base + (size_t)i * stride;
	qsort(v, (size_t)k, sizeof(v[0]), cmp_str);
	out[0] = 0;
	for (int i = 0; i < k; i++)
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? " " : "", v[i]);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A change of a condition: a line on standard output and, with --mqtt, a retained message on
 * PREFIX/CONDITION/DOMAIN (without its final dot). */
static void signal_change(struct watch *w, struct watched *d, int cond, bool set, const char *detail)
{
	if (d->set[cond] == set)
		return;
	d->set[cond] = set;
	char when[32], dom[CHECK_NAME_TEXT];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	check_copy(dom, sizeof(dom), d->domain);
	size_t n = strlen(dom);
	if (n > 1 && dom[n - 1] == '.')
		dom[n - 1] = 0;
	printf("%s %s %s %s %s\n", when, d->domain, CONDITIONS[cond], set ? "set" : "clear", detail);
	fflush(stdout);
	if (!w->mqtt)
		return;
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "condition", CONDITIONS[cond], "state", set ? "set" : "clear",
	                      "domain", d->domain, "time", when, "detail", detail);
	char *payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
	char topic[512];
	snprintf(topic, sizeof(topic), "%s/%s/%s", w->prefix, CONDITIONS[cond], dom);
	int rc =
	    payload ? mosquitto_publish(w->mqtt, NULL, topic, (int)strlen(payload), payload, 1, true) : MOSQ_ERR_NOMEM;
	if (rc != MOSQ_ERR_SUCCESS)
		fprintf(stderr, "tern: MQTT publish of %s: %s\n", topic, mosquitto_strerror(rc));
	free(payload);
	json_decref(j);
}

/* text (len octets) into path through path.tmp and a rename; 0 or -1 (said on standard error). */
static int replace_file(const char *opt, const char *path, const char *text, size_t len)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "tern: %s %s: %s\n", opt, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The new Unbound configuration for d, and --apply. The anchor file is Unbound's (RFC 5011 keeps it):
 * written only when seed, when the watch's own anchor changed (its trusted keys, pinned in r). */
static void rewrite(struct watch *w, const struct hints_report *r, bool seed)
{
	char *text = NULL, *atext = NULL, err[300];
	size_t len = 0, alen = 0;
	FILE *out = open_memstream(&text, &len), *as = open_memstream(&atext, &alen);
	int made =
	    out && as ? hints_unbound(r, w->anchor, (long long)time(NULL), out, as, err, sizeof(err)) : TERN_ENOMEM;
	if (out)
		fclose(out);
	if (as)
		fclose(as);
	if (made < 0)
		fprintf(stderr, "tern: %s: configuration not rewritten: %s\n", r->domain,
		        made == TERN_ENOMEM ? "out of memory" : err);
	else if ((seed && replace_file("--anchor-file", w->anchor, atext, alen) < 0) ||
	         replace_file("--conf", w->conf, text, len) < 0)
		;
	else if (w->apply) {
		char *argv[] = {"unbound-control", "-c", (char *)w->control_conf, "reload", NULL};
		char *argv_nc[] = {"unbound-control", "reload", NULL};
		pid_t pid;
		int st = 0;
		if (posix_spawnp(&pid, "unbound-control", NULL, NULL, w->control_conf ? argv : argv_nc, environ) != 0 ||
		    waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr, "tern: unbound-control reload failed\n");
	}
	free(text);
	free(atext);
}

/* --state: every domain's anchor, written through a temporary file and a rename. */
static void save_state(struct watch *w)
{
	if (!w->state)
		return;
	json_t *doms = json_object();
	for (int i = 0; doms && i < w->nd; i++)
		if (w->ds[i].have_ta)
			json_object_set_new(doms, w->ds[i].domain, hints_ta_json(&w->ds[i].ta));
	json_t *j = json_pack("{s:i,s:o*}", "version", 1, "domains", doms);
	char *text = j ? json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	if (!text)
		fprintf(stderr, "tern: --state %s: out of memory\n", w->state);
	else
		replace_file("--state", w->state, text, strlen(text));
	free(text);
	json_decref(j);
}

/* --state read back (a missing file is a first run); 0 or -1 with err naming the field. */
static int load_state(struct watch *w, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_load_file(w->state, 0, &je);
	if (!j) {
		if (access(w->state, F_OK) != 0)
			return 0;
		snprintf(err, errlen, "%s: line %d: %s", w->state, je.line, je.text);
		return -1;
	}
	int rc = 0;
	json_t *doms = json_object_get(j, "domains");
	if (!json_is_object(j) || !json_is_integer(json_object_get(j, "version")) ||
	    json_integer_value(json_object_get(j, "version")) != 1 || !json_is_object(doms)) {
		snprintf(err, errlen, "%s: expected {\"version\": 1, \"domains\": {...}}", w->state);
		rc = -1;
	}
	for (int i = 0; rc == 0 && i < w->nd; i++) {
		const json_t *d = json_object_get(doms, w->ds[i].domain);
		char why[200];
		if (!d)
			continue;
		if (hints_ta_from_json(d, w->ds[i].domain, &w->ds[i].ta, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: domains.%s.%s", w->state, w->ds[i].domain, why);
			rc = -1;
		} else {
			w->ds[i].have_ta = w->ds[i].ta.nkeys > 0;
		}
	}
	json_decref(j);
	return rc;
}

/* The domain's DNSKEY set (DO) from its servers (--server, then the in-bailiwick ones), one RFC 5011 step of d's
 * anchor; the trusted key that signs the set, or -1. *changed: the trusted keys changed. */
static int anchor_step(struct watch *w, struct watched *d, struct check_ctx *c, const struct check_addr *servers,
                       int nservers, bool *changed)
{
	*changed = false;
	struct check_answer *a = malloc(sizeof(*a));
	int got = -1;
	for (int i = 0; a && i < nservers && got < 0; i++)
		if (check_ask(c, &servers[i], d->domain, RR_DNSKEY, CHECK_DO, a) == 0 && a->aa && a->rcode == 0)
			got = i;
	if (got < 0) {
		fprintf(stderr, "tern: %s: DNSKEY set not read from its servers: the anchor not updated\n", d->domain);
		free(a);
		return -1;
	}
	char log[1200];
	int f = hints_ta_update(&d->ta, d->domain, a, (long long)time(NULL), w->add_holddown, log, sizeof(log));
	free(a);
	if (log[0]) {
		printf("%s anchor: %s\n", d->domain, log);
		fflush(stdout);
	}
	*changed = (f & HINTS_TA_TRUST_CHANGED) != 0;
	if (f & (HINTS_TA_TRUST_CHANGED | HINTS_TA_PENDING_CHANGED))
		save_state(w);
	return d->ta.signer;
}

/* One poll of d; returns the seconds until the next one. */
static long poll_one(struct watch *w, struct watched *d)
{
	struct check_ctx *c = malloc(sizeof(*c));
	struct hints_opts *o = calloc(1, sizeof(*o));
	struct hints_report *r = calloc(1, sizeof(*r));
	long next = 10;
	if (!c || !o || !r || !(r->check = check_report_new("hints", "."))) {
		fprintf(stderr, "tern: out of memory\n");
		goto done;
	}
	check_ctx_init(c, r->check);
	c->whois[0] = c->rdap[0] = 0;
	if (w->nhints) {
		memcpy(c->hints, w->hints, sizeof(c->hints));
		c->nhints = w->nhints;
	}
	check_copy(o->domain, sizeof(o->domain), d->domain);
	o->now = (long long)time(NULL);
	o->anchor = w->root;
	o->trust_tag = w->trust >= 0 ? w->trust : d->have_base ? d->trust_tag : -1;
	for (int i = 0; i < w->nservers; i++)
		o->servers[o->nservers++] = w->servers[i];
	for (int i = 0; i < d->nservers && o->nservers < CHECK_MAXNS; i++)
		o->servers[o->nservers++] = d->servers[i];
	bool anchor_changed = false, rewritten = false;
	if (d->have_ta) {
		int signer = anchor_step(w, d, c, o->servers, o->nservers, &anchor_changed);
		if (signer >= 0)
			o->trust_tag = d->trust_tag = signer;
	}
	if (hints_check(c, o, r) < 0)
		goto done;
	char ds[2048], ns[2048], detail[2600];
	joined(r->parent_ds[0], sizeof(r->parent_ds[0]), r->nds, ds, sizeof(ds));
	joined(r->child_ns[0], sizeof(r->child_ns[0]), r->nchild_ns, ns, sizeof(ns));
	bool reached = r->asked[0] != 0;
	if (!d->have_base) {
		if (!(r->delegated || d->have_ta) || !reached || r->nchild_ns == 0) {
			fprintf(stderr, "tern: %s: no baseline yet (%s); asked again\n", d->domain,
			        !r->delegated ? "no delegation" : "no server of it answered");
			goto done;
		}
		d->have_base = true;
		check_copy(d->ds, sizeof(d->ds), ds);
		check_copy(d->ns, sizeof(d->ns), ns);
		d->trust_tag = -1;
		for (int i = 0; i < r->nkeys; i++)
			if (r->keys[i].pinned)
				d->trust_tag = r->keys[i].tag;
		for (int i = 0; i < r->ninb && d->nservers < CHECK_MAXNS; i++)
			if (check_addr_parse(r->inb[i].addr, 53, &d->servers[d->nservers], detail, sizeof(detail)) == 0)
				d->nservers++;
		bool seeded = false;
		for (int i = 0; !d->have_ta && i < r->nkeys; i++)
			if (r->keys[i].pinned && hints_ta_seed(&d->ta, d->domain, r->keys[i].rdata, o->now) == 0)
				seeded = true;
		d->have_ta |= seeded;
		if (seeded)
			save_state(w);
		printf("%s baseline: NS %s; DS %s; pinned KSK %d\n", d->domain, ns, ds[0] ? ds : "(none)",
		       d->trust_tag);
		fflush(stdout);
	}
	/* the watch's own anchor: pinned in the report as trusted, so a rewrite seeds Unbound with it */
	for (int i = 0; d->have_ta && i < r->nkeys; i++) {
		r->keys[i].pinned = false;
		for (int k = 0; k < d->ta.nkeys && !r->keys[i].pinned; k++)
			r->keys[i].pinned = d->ta.keys[k].valid && d->ta.keys[k].tag == r->keys[i].tag;
	}
	if (r->parent[0]) {
		snprintf(detail, sizeof(detail), "%s answers %s", r->parent,
		         r->delegated           ? "with a delegation"
		         : r->parent_rcode == 3 ? "NXDOMAIN"
		                                : "without a referral");
		signal_change(w, d, C_DELEGATION, !r->delegated, detail);
	}
	if (r->delegated) {
		snprintf(detail, sizeof(detail), "DS now: %.1200s; was: %.1200s", ds[0] ? ds : "(none)",
		         d->ds[0] ? d->ds : "(none)");
		signal_change(w, d, C_DS, strcmp(ds, d->ds) != 0, detail);
	}
	if (reached && r->nchild_ns) {
		bool changed = strcasecmp(ns, d->ns) != 0;
		snprintf(detail, sizeof(detail), "NS now: %.1200s; was: %.1200s", ns, d->ns);
		signal_change(w, d, C_NS, changed, detail);
		/* the draft's SHOULD: follow a new NS set once it validates with the anchor */
		if (changed && r->rules[2].status == HINTS_PASS && r->rules[1].status == HINTS_PASS) {
			if (w->conf)
				rewrite(w, r, anchor_changed);
			check_copy(d->ns, sizeof(d->ns), ns);
			rewritten = true;
		}
	}
	/* a new trusted key (or one revoked): the seed and the configuration follow, Unbound reloads */
	if (anchor_changed && !rewritten && w->conf && r->rules[2].status != HINTS_FAIL)
		rewrite(w, r, true);
	char tags[200] = "";
	for (int k = 0; k < d->ta.nkeys; k++)
		snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags), " %d(%s)", d->ta.keys[k].tag,
		         d->ta.keys[k].valid ? "valid" : "pending");
	snprintf(detail, sizeof(detail), "trusted KSKs:%s", tags[0] ? tags : " none");
	signal_change(w, d, C_ANCHOR, anchor_changed, detail);
	detail[0] = 0;
	for (int i = 0; i < r->rules[2].nreasons; i++)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "%s%s", i ? " | " : "",
		         r->rules[2].reasons[i]);
	signal_change(w, d, C_DNSSEC, r->rules[2].status == HINTS_FAIL, detail);
	if (r->have_expiry) {
		snprintf(detail, sizeof(detail), "_in-tree expires %s", r->expires);
		signal_change(w, d, C_EXPIRY, r->expires_at - o->now < WATCH_EXPIRY_LEAD, detail);
	}
	next = r->min_ttl ? (long)r->min_ttl : 60;
done:
	if (next > w->max_interval)
		next = w->max_interval;
	if (next < 1)
		next = 1;
	if (r)
		check_report_free(r->check);
	free(r);
	free(o);
	free(c);
	return next;
}

int hints_watch_cmd(struct cli *cli, const struct cli_args *a)
{
	struct watched *ds = calloc(WATCH_MAXDOMAINS, sizeof(*ds));
	struct hints_anchor *root = malloc(sizeof(*root));
	int nd = 0, rc = CLI_EUSAGE;
	long polls = 0;
	char err[300];
	if (!ds || !root) {
		fprintf(stderr, "tern: out of memory\n");
		free(ds);
		free(root);
		return CLI_EUSAGE;
	}
	struct watch w = {.max_interval = 3600, .trust = -1, .add_holddown = 30L * 86400, .root = root};
	const char *apath = cli_opt_last(a, "root-anchor") ? cli_opt_last(a, "root-anchor")[0] : HINTS_ROOT_ANCHOR;
	if (hints_anchor_load(apath, w.root, err, sizeof(err)) < 0) {
		rc = cli_usage_error(cli, "--root-anchor: %s", err);
		goto done;
	}
	snprintf(w.prefix, sizeof(w.prefix), "tern/hints");
	for (int i = 0; i < a->npos; i++) {
		if (nd == WATCH_MAXDOMAINS) {
			rc = cli_usage_error(cli, "at most %d domains", WATCH_MAXDOMAINS);
			goto done;
		}
		if (check_input_name(a->pos[i], ds[nd].domain, NULL, 0, err, sizeof(err)) < 0) {
			rc = cli_usage_error(cli, "%s", err);
			goto done;
		}
		nd++;
	}
	struct check_ctx *tmp = malloc(sizeof(*tmp));
	if (!tmp)
		goto done;
	check_ctx_init(tmp, NULL);
	if (cli_opt_last(a, "hints") && check_ctx_load_hints(tmp, cli_opt_last(a, "hints")[0], err, sizeof(err)) < 0) {
		free(tmp);
		rc = cli_usage_error(cli, "--hints: %s", err);
		goto done;
	}
	memcpy(w.hints, tmp->hints, sizeof(w.hints));
	w.nhints = tmp->nhints;
	free(tmp);
	for (int i = 0; i < a->nocc; i++) {
		if (strcmp(a->occ[i].opt->name, "server") != 0)
			continue;
		if (w.nservers == CHECK_MAXNS ||
		    check_addr_parse(a->occ[i].vals[0], 53, &w.servers[w.nservers++], err, sizeof(err)) < 0) {
			rc = cli_usage_error(cli, "--server: %s", w.nservers == CHECK_MAXNS ? "too many" : err);
			goto done;
		}
	}
	struct {
		const char *opt;
		long lo, hi, *out;
	} nums[] = {{"trust", 0, 65535, NULL},
	            {"max-interval", 1, 86400, &w.max_interval},
	            {"polls", 1, 1000000, &polls},
	            {"add-holddown", 1, 366L * 86400, &w.add_holddown}};
	long trust = -1;
	nums[0].out = &trust;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if ((rc = cli_opt_number(cli, a, nums[i].opt, nums[i].lo, nums[i].hi, nums[i].out)) != 0)
			goto done;
	}
	w.trust = (int)trust;
	w.conf = cli_opt_last(a, "conf") ? cli_opt_last(a, "conf")[0] : NULL;
	w.anchor = cli_opt_last(a, "anchor-file") ? cli_opt_last(a, "anchor-file")[0] : NULL;
	w.control_conf = cli_opt_last(a, "control-config") ? cli_opt_last(a, "control-config")[0] : NULL;
	w.apply = cli_opt_count(a, "apply") > 0;
	if ((w.conf != NULL) != (w.anchor != NULL) || (w.apply && !w.conf) || (w.conf && nd != 1)) {
		rc = cli_usage_error(cli, "--conf and --anchor-file go together, for one domain; --apply needs them");
		goto done;
	}
	if (w.anchor && strpbrk(w.anchor, "\"\n\r")) {
		rc = cli_usage_error(cli, "--anchor-file %s: a path without quotes or line breaks", w.anchor);
		goto done;
	}
	w.ds = ds;
	w.nd = nd;
	w.state = cli_opt_last(a, "state") ? cli_opt_last(a, "state")[0] : NULL;
	if (w.state && load_state(&w, err, sizeof(err)) < 0) {
		rc = cli_usage_error(cli, "--state %s", err);
		goto done;
	}
	if (cli_opt_last(a, "topic"))
		snprintf(w.prefix, sizeof(w.prefix), "%s", cli_opt_last(a, "topic")[0]);
	char **mq = cli_opt_last(a, "mqtt");
	if (mq) {
		char host[256];
		int port = 1883;
		snprintf(host, sizeof(host), "%s", mq[0]);
		char *colon = strrchr(host, ':');
		if (colon && !strchr(colon, ']')) {
			*colon = 0;
			port = atoi(colon + 1);
		}
		mosquitto_lib_init();
		char id[64];
		snprintf(id, sizeof(id), "tern-hints-watch-%ld", (long)getpid());
		if (port < 1 || port > 65535 || !(w.mqtt = mosquitto_new(id, true, NULL))) {
			rc = cli_usage_error(cli, "--mqtt %s: expected HOST[:PORT]", mq[0]);
			goto done;
		}
		int m = mosquitto_connect(w.mqtt, host, port, 30);
		if (m == MOSQ_ERR_SUCCESS)
			m = mosquitto_loop_start(w.mqtt);
		if (m != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "tern: --mqtt %s: %s\n", mq[0], mosquitto_strerror(m));
			rc = CLI_ECONNECT;
			goto done;
		}
	}
	double now = mono();
	for (int i = 0; i < nd; i++)
		ds[i].due = now;
	for (long round = 0; polls == 0 || round < polls; round++) {
		int next = 0;
		for (int i = 1; i < nd; i++)
			if (ds[i].due < ds[next].due)
				next = i;
		double wait = ds[next].due - mono();
		if (wait > 0)
			usleep((useconds_t)(wait * 1e6));
		ds[next].due = mono() + (double)poll_one(&w, &ds[next]);
	}
	rc = CLI_OK;
done:
	if (w.mqtt) {
		usleep(500000); /* QoS 1 messages of the last poll on their way */
		mosquitto_disconnect(w.mqtt);
		mosquitto_loop_stop(w.mqtt, false);
		mosquitto_destroy(w.mqtt);
		mosquitto_lib_cleanup();
	}
	free(ds);
	free(root);
	return rc;
}
