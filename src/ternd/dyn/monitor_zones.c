/* The monitored pairs follow the served zones: each published version's changed names are
 * visited, their DYN resources' (monitor, address) pairs wanted and those of the names' previous
 * versions unwanted, in one batch. */
#include "lib/dyn.h"
#include "ternd/base/log.h"
#include "ternd/dyn/monitor.h"

struct visit {
	struct monitors *ms;
	bool want;
};

static int on_pair(void *arg, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr)
{
	const struct visit *v = arg;
	if (!v->want)
		monitor_unwant(v->ms, m, family, addr);
	else if (monitor_want(v->ms, m, family, addr) < 0)
		log_warning("monitors: a monitored address is not checked (out of memory, or a monitor that "
		            "cannot run): it answers as up");
	return 0;
}

static void node_pairs(struct monitors *ms, const struct zone_node *n, bool want)
{
	struct visit v = {ms, want};
	for (uint16_t k = 0; k < n->nrrsets; k++) {
		const struct rrset *rs = &n->rrsets[k];
		const struct dyn_resource *r = rs->type == RR_DYN ? dyn_rrset_resource(rs) : NULL;
		if (r)
			dyn_foreach_monitored(r, on_pair, &v);
	}
}

/* Wants before unwanting, so a pair a name keeps never loses its last user. */
static int on_changed_node(void *arg, const struct zone_node *old, const struct zone_node *now)
{
	if (now)
		node_pairs(arg, now, true);
	if (old)
		node_pairs(arg, old, false);
	return 0;
}

static int on_new_node(void *arg, const struct zone_node *n)
{
	node_pairs(arg, n, true);
	return 0;
}

static int on_gone_node(void *arg, const struct zone_node *n)
{
	node_pairs(arg, n, false);
	return 0;
}

static void on_zone(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	(void)ev;
	struct monitors *ms = arg;
	monitor_batch_begin(ms);
	if (old && next)
		zone_changed_nodes(old, next, on_changed_node, ms);
	else if (next)
		zone_foreach(next, on_new_node, ms);
	else if (old)
		zone_foreach(old, on_gone_node, ms);
	monitor_batch_end(ms);
}

int monitor_follow(struct monitors *ms, struct zones *zs)
{
	return zones_subscribe(zs, on_zone, ms);
}

void monitor_unfollow(struct monitors *ms, struct zones *zs)
{
	if (ms)
		zones_unsubscribe(zs, on_zone, ms);
}
