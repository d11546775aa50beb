/* The operator's monitors.allow on API writes: a DYN member bound to a monitor at an address the
 * policy does not allow (loopback, RFC 1918, link-local, cloud metadata ...) is refused whole, so
 * no tenant can make ternd probe the network it runs in. Zone files and transfers are not
 * refused (their data is the operator's or the primary's): the checker never probes such a
 * member and counts it down (dyn/monitor.c). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/api/api_impl.h"
#include "ternd/dyn/monitor.h"

/* The first monitored member of r whose address conf does not allow, described into msg;
 * false when there is none. */
static bool first_refused(const struct config_monitors *conf, const uint8_t *owner, const struct dyn_resource *r,
                          char *msg, size_t len)
{
	static const uint16_t types[2] = {RR_A, RR_AAAA};
	struct dyn_member_view m[DYN_MAX_MEMBERS];
	char why[128], addr[INET6_ADDRSTRLEN], name[NAME_MAXLEN * 4 + 1];
	for (int p = 0; p < dyn_pool_count(r); p++) {
		for (int t = 0; t < 2; t++) {
			int n = dyn_pool_members(r, p, types[t], m, DYN_MAX_MEMBERS);
			for (int i = 0; i < n; i++) {
				if (!m[i].monitor || monitor_address_allowed(conf->allow, conf->nallow, m[i].family,
				                                             m[i].addr, why, sizeof(why)))
					continue;
				inet_ntop(m[i].family == 1 ? AF_INET : AF_INET6, m[i].addr, addr, sizeof(addr));
				name_to_text(owner, name, sizeof(name));
				snprintf(
				    msg, len,
				    "DYN at %.300s: pool \"%.63s\" member %s (monitor \"%.63s\"): %.100s may not be "
				    "probed: the "
				    "server's monitors policy allows public unicast addresses and monitors.allow (%zu "
				    "network(s)) only",
				    name, dyn_pool_name(r, p), addr, m[i].monitor_name ? m[i].monitor_name : "?", why,
				    conf->nallow);
				return true;
			}
		}
	}
	return false;
}

bool api_monitors_allowed(struct api *a, const struct change_rrset *ch, size_t n, bool batch, struct http_response *res)
{
	const struct config_monitors *conf = &api_config(a)->monitors;
	char msg[1024], err[256], field[48];
	for (size_t i = 0; i < n; i++) {
		struct dyn_resource *r = NULL;
		size_t size;
		if (ch[i].type != RR_DYN || !ch[i].count)
			continue;
		if (dyn_compile(ch[i].rdata, ch[i].rdata_size, ch[i].count, &r, &size, err, sizeof(err)) < 0)
			continue; /* the write path refuses it, saying why */
		bool refused = first_refused(conf, ch[i].owner, r, msg, sizeof(msg));
		free(r);
		if (refused) {
			if (batch)
				snprintf(field, sizeof(field), "rrsets[%zu]", i);
			else
				snprintf(field, sizeof(field), "records");
			http_error(res, 400, field, "%s", msg);
			return false;
		}
	}
	return true;
}

struct zone_check {
	const struct config_monitors *conf;
	char msg[1024];
};

static int node_refused(void *arg, const struct zone_node *node)
{
	struct zone_check *c = arg;
	for (uint16_t k = 0; k < node->nrrsets; k++) {
		const struct dyn_resource *r =
		    node->rrsets[k].type == RR_DYN ? dyn_rrset_resource(&node->rrsets[k]) : NULL;
		if (r && first_refused(c->conf, node->owner, r, c->msg, sizeof(c->msg)))
			return 1;
	}
	return 0;
}

bool api_zone_monitors_allowed(struct api *a, const struct zone *z, const char *field, struct http_response *res)
{
	struct zone_check c = {&api_config(a)->monitors, ""};
	if (zone_foreach(z, node_refused, &c) == 0)
		return true;
	http_error(res, 400, field, "%s", c.msg);
	return false;
}
