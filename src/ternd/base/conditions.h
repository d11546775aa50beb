/* The names of the conditions ternd signals about itself (signals/signals.h), shared with the
 * configuration, which names them in signals.hooks. Stable: channels and scripts key on them. */
#pragma once

enum signal_cond {
	SIGNAL_RUNNING, /* sockets bound and answering; cleared on stop */
	SIGNAL_SHUTTING_DOWN, /* on SIGTERM, before the sockets close (then the drain delay) */
	SIGNAL_ZONE_READY, /* zone, serial: served; cleared when it no longer is */
	SIGNAL_ALL_ZONES_READY, /* every configured zone served */
	SIGNAL_ZONE_UPDATED, /* zone, serial: a new version served (an event: no clear) */
	SIGNAL_REFRESH_FAILED, /* zone, primary, error, attempts; cleared by the next success */
	SIGNAL_ZONE_EXPIRING, /* zone, expires, lead: within signals.zone-expiring-lead of its expiry
	                       * (at it when 0); cleared by a successful refresh */
	SIGNAL_QUERY_RATE_HIGH, /* rate, threshold: queries a second over signals.query-rate-window at or
	                         * above signals.query-rate-high; cleared below 80% of it */
	SIGNAL_QUERY_RATE_RISING, /* increase, threshold: the rate grew by signals.query-rate-rising a
	                           * second or more from one window to the next; cleared below half */
	SIGNAL_SIGNATURES_EXPIRING, /* zone, owner, type, expires: the zone's earliest RRSIG expires within
	                             * signals.signatures-expiring-lead; cleared when re-signed */
	SIGNAL_EDE, /* code, count, interval (codes when several): a zone's answers carried one of
	             * signals.ede.codes, threshold or more in an interval (at most one set an interval);
	             * no zone: those of no zone of ours and of zones beyond max-zones; cleared after
	             * signals.ede.quiet without one */
	SIGNAL_KSK_SUBMISSION, /* zone, keytag: a KSK (or CSK) is ready and waits for its DS at the parent
	                        * (submit it); cleared when the DS is seen or its submission confirmed */
	SIGNAL_IN_TREE_EXPIRING, /* zone, expires, days-left (or error): the zone's in-tree promise (its
	                          * _in-tree TXT) expires within 60 days, or has; cleared when renewed or
	                          * removed */
	SIGNAL_NCOND,
};

/* "running", "all-zones-ready", ... */
const char *signal_cond_name(enum signal_cond c);
/* The condition named, or -1. */
int signal_cond_find(const char *name);
