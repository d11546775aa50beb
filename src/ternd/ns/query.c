/* Answering one DNS message: header and question checks, EDNS, dispatch by opcode and class,
 * and the final header and OPT record. */
#include "ternd/ns/query.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/ns/ns.h"
#include "ternd/ns/update_forward.h"
#include "ternd/base/stats.h"
#include "ternd/dnstap/dnstap.h"
#include "ternd/xfrin/xfrin.h"

static int parse_records(struct query *q, const uint8_t *msg, size_t len, size_t pos);

/* Parses the question and the additional section (for OPT, and whether a TSIG ends it). Returns an
 * rcode. A message without a question is still read for its OPT (Knot and NSD answer it with
 * theirs); more than one question is not read at all. An OPT that is not well-formed, or a second
 * one, leaves the answer without EDNS (Knot and NSD: RFC 6891 6.1.1 and 7 say FORMERR, not what
 * it carries); a malformed Client Subnet in a well-formed OPT is FORMERR with our OPT (edns.c). */
static int parse_request(struct query *q, const uint8_t *msg, size_t len, size_t *question_end)
{
	unsigned qdcount = wire_get16(msg + 4);
	if (qdcount > 1)
		return RCODE_FORMERR;
	size_t pos = WIRE_HEADER_LEN;
	if (qdcount == 1) {
		/* one pass for the usual uncompressed name; a pointer (into the header: it must point
		 * backwards) or a malformed name is left to the general reader */
		int n = name_scan(msg + pos, len - pos, q->lname, q->qhashes, &q->qlabels);
		if (n > 0) {
			q->qname = msg + pos;
			pos += (size_t)n;
		} else {
			n = wire_read_name(msg, len, &pos, q->qbuf);
			if (n < 0)
				return RCODE_FORMERR;
			q->qname = q->qbuf;
			name_lower_copy(q->lname, q->qname, (size_t)n);
			q->qlabels = name_suffix_hashes(q->lname, q->qhashes);
		}
		if (pos + 4 > len)
			return RCODE_FORMERR;
		q->qname_len = (size_t)n;
		q->qtype = wire_get16(msg + pos);
		q->qclass = wire_get16(msg + pos + 2);
		pos += 4;
	}
	*question_end = pos;
	int rc = parse_records(q, msg, len, pos);
	if (rc != RCODE_NOERROR)
		return rc;
	return qdcount == 1 ? RCODE_NOERROR : RCODE_FORMERR;
}

/* The answer, authority and additional sections of a request from pos: skipped, but for the OPT
 * record and whether a TSIG is there. */
static int parse_records(struct query *q, const uint8_t *msg, size_t len, size_t pos)
{
	unsigned skip = (unsigned)wire_get16(msg + 6) + wire_get16(msg + 8);
	for (unsigned i = 0; i < skip; i++)
		if (wire_skip_rr(msg, len, &pos, NULL, NULL, NULL) < 0)
			return RCODE_FORMERR;
	unsigned arcount = wire_get16(msg + 10);
	/* the usual additional section: the root's OPT record alone, read in place (the loop below
	 * reads it the same way) */
	if (arcount == 1 && len - pos >= EDNS_FIXED && msg[pos] == 0 && wire_get16(msg + pos + 1) == RR_OPT) {
		uint16_t rdlen = wire_get16(msg + pos + 9);
		if (len - pos - EDNS_FIXED < rdlen)
			return RCODE_FORMERR;
		return ns_edns_parse(q, wire_get16(msg + pos + 3), wire_get32(msg + pos + 5), msg + pos + EDNS_FIXED,
		                     rdlen);
	}
	for (unsigned i = 0; i < arcount; i++) {
		size_t start = pos, rdpos;
		uint16_t type, rdlen;
		if (wire_skip_rr(msg, len, &pos, &type, &rdpos, &rdlen) < 0)
			return RCODE_FORMERR;
		if (type != RR_OPT) {
			q->tsig_seen |= type == RR_TSIG; /* tsig_verify() checks it is the last record */
			continue;
		}
		if (q->edns || msg[start] != 0) { /* one OPT, owned by the root (RFC 6891 6.1.1) */
			q->edns = false;
			return RCODE_FORMERR;
		}
		/* FORMERR: a malformed OPT (answered without EDNS), or a malformed Client Subnet in a
		 * well-formed one (answered with our OPT, RFC 7871 7.2.1) */
		int rc = ns_edns_parse(q, wire_get16(msg + rdpos - 8), wire_get32(msg + rdpos - 6), msg + rdpos, rdlen);
		if (rc != RCODE_NOERROR)
			return rc;
	}
	return RCODE_NOERROR;
}

/* Response size for this client: RFC 1035 512 without EDNS, else the smaller of the client's
 * and our EDNS sizes (never below 512); TCP takes the whole buffer. */
static size_t response_limit(const struct query *q, size_t cap)
{
	size_t limit = cap;
	if (q->client->proto == PROTO_UDP) {
		size_t udp = 512;
		if (q->edns) {
			udp = q->opt.udp_size < q->params->edns_size ? q->opt.udp_size : q->params->edns_size;
			if (udp < 512)
				udp = 512;
		}
		if (udp < limit)
			limit = udp;
	}
	return limit;
}

/* NOTIFY (RFC 1996 3.7-3.11): a primary of a secondary zone says it changed. Acknowledged with
 * the question echoed and AA; the refresh itself happens on the refresh thread. A zone with a key
 * takes only a NOTIFY signed with it: another key is BADKEY (RFC 8945 5.2.1), none NOTAUTH. */
static void answer_notify(struct query *q)
{
	if (q->qclass != RR_CLASS_IN || q->qtype != RR_SOA) {
		q->rcode = RCODE_FORMERR;
		return;
	}
	const struct tsig_key *key = q->tsig.state == NS_TSIG_VERIFIED ? q->tsig.res.key : NULL;
	enum xfrin_notify_result r = xfrin_notify(q->srv->xfrin, q->lname, q->client->addr, key);
	if (r == XFRIN_NOTIFY_ACCEPTED) {
		q->aa = true;
	} else if (r == XFRIN_NOTIFY_BADKEY) {
		q->rcode = RCODE_NOTAUTH;
		if (key)
			ns_tsig_reject(&q->tsig, TSIG_BADKEY);
		else
			q->ede = EDE_PROHIBITED;
		q->ede_zone = q->lname, q->ede_zone_len = q->qname_len;
	} else if (r == XFRIN_NOTIFY_NOT_PRIMARY || zones_get(q->srv->zones, q->lname)) {
		q->rcode = RCODE_REFUSED; /* not from a primary, or a zone of ours not pulled from anyone */
		q->ede = EDE_PROHIBITED;
		q->ede_zone = q->lname, q->ede_zone_len = q->qname_len;
	} else {
		q->rcode = RCODE_NOTAUTH;
		q->ede = EDE_NOT_AUTHORITATIVE;
	}
}

/* UPDATE (RFC 2136): judged and written by the update module; the answer is the header and the
 * zone section (as the question), signed as the request was. */
static void answer_update(struct query *q, const struct server_update *up)
{
	const struct tsig_key *key = NULL;
	if (q->tsig.state == NS_TSIG_VERIFIED && q->tsig.res.key) {
		q->update_key = *q->tsig.res.key;
		key = q->tsig.res.key = &q->update_key;
	}
	struct server_update_request rq = {q->msg, q->len, key, q->client->addr, q->client->proto == PROTO_TCP,
	                                   0,      NULL};
	struct server_update_result rs = {.rcode = RCODE_SERVFAIL, .ede = EDE_NONE};
	up->answer(up->arg, &rq, &rs);
	/* the update went offline while it waited for the write: what it read before may be gone */
	q->params = rcu_dereference(q->srv->params);
	q->rcode = rs.rcode;
	q->ede = rs.ede;
	if (rs.text[0]) {
		memcpy(q->ede_text_buf, rs.text, sizeof(q->ede_text_buf));
		q->ede_text_buf[sizeof(q->ede_text_buf) - 1] = 0;
		q->ede_text = q->ede_text_buf;
	}
}

/* An UPDATE whose TSIG failed: answered NOTAUTH with the TSIG error here, logged by the update
 * module (every refusal of an update is). */
static void update_rejected(struct query *q)
{
	struct server_update *up = rcu_dereference(((struct server *)q->srv)->update);
	if (!up)
		return;
	struct server_update_request rq = {q->msg,
	                                   q->len,
	                                   NULL,
	                                   q->client->addr,
	                                   q->client->proto == PROTO_TCP,
	                                   q->tsig.res.error,
	                                   q->tsig.res.key_name};
	struct server_update_result rs;
	up->answer(up->arg, &rq, &rs);
}

/* A secondary zone configured but not served (never loaded, or expired) answers SERVFAIL with an
 * Extended DNS Error -- unless a zone served at or below its apex holds the name (a deeper zone,
 * or a version published before the zone became a secondary), or the question is the DS of its
 * apex and the parent is served (RFC 4035 3.1.4.1). */
static bool zone_unavailable(struct query *q)
{
	size_t apex_len;
	uint16_t ede;
	if (!xfrin_unavailable(q->srv->xfrin, q->lname, &apex_len, &ede))
		return false;
	const struct zone *z = zones_find(q->srv->zones, q->lname, 0);
	if (z && (z->apex_len >= apex_len || (q->qtype == RR_DS && apex_len == q->qname_len)))
		return false;
	q->rcode = RCODE_SERVFAIL;
	q->ede = ede;
	q->ede_zone = q->lname + (q->qname_len - apex_len);
	q->ede_zone_len = apex_len;
	return true;
}

/* An UPDATE of a secondary zone (RFC 2136 6), before its TSIG is looked at (the primary knows the
 * key, this server need not): forwarded as received to the zone's primaries, the answer relayed
 * unchanged into out. FORWARD_NONE: not a secondary zone; FORWARD_RELAYED: *rlen octets in out;
 * FORWARD_FAILED: q answers SERVFAIL with an Extended DNS Error saying why. The receiving thread
 * waits for the primary offline (q->params is read again after), at most NS_FORWARD_MAX at once. */
enum forward { FORWARD_NONE, FORWARD_RELAYED, FORWARD_FAILED };
static enum forward forward_update(struct query *q, uint8_t *out, size_t cap, size_t *rlen)
{
	struct sockaddr_storage primaries[NS_FORWARD_PRIMARIES];
	socklen_t lens[NS_FORWARD_PRIMARIES];
	size_t n = xfrin_primaries_of(q->srv->xfrin, q->lname, primaries, lens, NS_FORWARD_PRIMARIES);
	if (!n)
		return FORWARD_NONE;
	struct server *srv = (struct server *)q->srv;
	q->rcode = RCODE_SERVFAIL;
	q->ede = EDE_NO_REACHABLE_AUTHORITY;
	q->ede_text = q->ede_text_buf;
	if (atomic_fetch_add(&srv->update_forwards, 1) >= NS_FORWARD_MAX) {
		atomic_fetch_sub(&srv->update_forwards, 1);
		snprintf(q->ede_text_buf, sizeof(q->ede_text_buf), "%d updates are being forwarded already: try again",
		         NS_FORWARD_MAX);
		return FORWARD_FAILED;
	}
	rcu_thread_offline();
	*rlen = ns_update_forward(q->msg, q->len, q->client->proto == PROTO_TCP, primaries, lens, n, out, cap,
	                          q->ede_text_buf, sizeof(q->ede_text_buf));
	rcu_thread_online();
	atomic_fetch_sub(&srv->update_forwards, 1);
	q->params = rcu_dereference(srv->params);
	if (!*rlen)
		return FORWARD_FAILED;
	q->rcode = wire_get16(out + 2) & 0xf;
	return FORWARD_RELAYED;
}

/* Chooses what to do with a well-formed query. */
static void dispatch(struct query *q, uint16_t opcode)
{
	if (q->edns && q->opt.version > 0) {
		q->rcode = RCODE_BADVERS;
		return;
	}
	if (opcode == OPCODE_NOTIFY) {
		answer_notify(q);
		return;
	}
	if (opcode == OPCODE_UPDATE) {
		struct server_update *up = rcu_dereference(((struct server *)q->srv)->update);
		if (up) {
			answer_update(q, up);
			return;
		}
	}
	if (opcode != OPCODE_QUERY) {
		q->rcode = RCODE_NOTIMP;
		q->ede = EDE_NOT_SUPPORTED;
		return;
	}
	if (q->qclass != RR_CLASS_IN && q->qclass != RR_CLASS_ANY) {
		q->rcode = RCODE_REFUSED;
		q->ede = EDE_NOT_AUTHORITATIVE;
		return;
	}
	/* Transfers over TCP are taken by xfr.c before they get here. AXFR over UDP is not defined
	 * (RFC 5936 4.2): NOTIMP, as Knot and NSD answer. Meta-types (OPT, TSIG, TKEY) and MAILA/MAILB
	 * are looked up like any other type: no zone holds them, so they get NODATA or NXDOMAIN, as
	 * from Knot and NSD. */
	if (q->qtype == RR_AXFR && q->client->proto == PROTO_UDP) {
		q->rcode = RCODE_NOTIMP;
		q->ede = EDE_NOT_SUPPORTED;
		return;
	}
	if (q->qtype == RR_AXFR || q->qtype == RR_IXFR) {
		q->rcode = RCODE_REFUSED; /* not from an address allowed to transfer */
		q->ede = EDE_PROHIBITED;
		return;
	}
	if (zone_unavailable(q))
		return;
	ns_answer_internet(q);
}

/* Verifies the request's TSIG; returns the rcode that decides the answer when it is not NOERROR. */
static int check_tsig(struct query *q, const uint8_t *msg, size_t len)
{
	enum ns_tsig_state st = ns_tsig_verify(&q->tsig, q->params, msg, len);
	if (st == NS_TSIG_REJECTED && !q->tsig.res.key) { /* not a key of the configuration: the API's? */
		const struct server_api_keys *ak = rcu_dereference(((struct server *)q->srv)->api_keys);
		if (ak && tsig_keyring_find(&ak->ring, q->tsig.res.key_name))
			st = ns_tsig_verify_ring(&q->tsig, &ak->ring, msg, len);
	}
	switch (st) {
	case NS_TSIG_NONE:
	case NS_TSIG_VERIFIED: return RCODE_NOERROR;
	case NS_TSIG_REJECTED: return RCODE_NOTAUTH; /* and no answer data (RFC 8945 5.2) */
	case NS_TSIG_MALFORMED: return RCODE_FORMERR;
	default: return RCODE_SERVFAIL;
	}
}

/* Signs the answer to a signed request (the TSIG goes last, after our OPT). An answer that cannot
 * be signed becomes an unsigned SERVFAIL with the question only: the client must not take it for
 * a verified one. A TSIG error answer that cannot be signed goes as the NOTAUTH it is. */
static size_t sign_answer(struct query *q, uint8_t *out, size_t len, size_t limit, size_t question_end)
{
	struct tsig_ctx ctx;
	ns_tsig_chain(&q->tsig, &ctx);
	int rc = ns_tsig_sign(&q->tsig, &ctx, out, &len, limit);
	tsig_ctx_clear(&ctx);
	if (rc == 0 || q->tsig.state != NS_TSIG_VERIFIED)
		return len;
	q->rcode = RCODE_SERVFAIL;
	wire_put16(out + 2, (uint16_t)((wire_get16(out + 2) & ~(0xfu | WIRE_AA | WIRE_TC)) | RCODE_SERVFAIL));
	memset(out + 6, 0, 6);
	return question_end;
}

/* Hands the exchange to the thread's dnstap ring, with the zone the answer came from. */
static void log_dnstap(const struct query *q, const struct query_client *client, struct timespec qtime,
                       const uint8_t *out, size_t rlen)
{
	const struct zone *z = q->asked ? q->asked : q->zone;
	struct dnstap_exchange x = {
	    .proto = client->proto == PROTO_UDP      ? DNSTAP_UDP
	             : client->tls != CONFIG_TLS_ANY ? DNSTAP_DOT
	                                             : DNSTAP_TCP,
	    .client = client->addr,
	    .local = client->local,
	    .query = q->msg,
	    .qlen = q->len,
	    .response = out,
	    .rlen = rlen,
	    .qtime = qtime,
	    .zone = z ? z->apex : NULL,
	};
	dnstap_log(client->dnstap, &x);
}

size_t query_process(const struct server *srv, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                     const struct query_client *client)
{
	if (len < WIRE_HEADER_LEN || cap < 512 || (wire_get16(msg + 2) & WIRE_QR)) {
		if (client->stats) /* too short to answer, or a response: never answered */
			stats_bump(&client->stats->dropped);
		return 0;
	}
	uint16_t flags = wire_get16(msg + 2);
	struct timespec qtime = {0, 0};
	if (client->dnstap && dnstap_ring_wants(client->dnstap))
		clock_gettime(CLOCK_REALTIME, &qtime); /* vDSO: no system call */
	struct query q;
	q.srv = srv;
	q.params = rcu_dereference(srv->params);
	q.client = client;
	q.edns = false;
	q.opt.dnssec_ok = false; /* the rest of opt is read only with edns */
	q.ecs.family = 0;
	q.ecs_scope = 0;
	q.cookie.client = NULL;
	q.cookie_valid = q.cookie_back = false;
	q.rcode = RCODE_NOERROR;
	q.aa = q.tc = q.full = false;
	q.count[0] = q.count[1] = q.count[2] = 0;
	q.ede = EDE_NONE;
	q.ede_text = NULL;
	q.ede_zone = NULL;
	q.msg = msg;
	q.len = len;
	q.nextra = 0;
	q.ndnames = 0;
	q.zone = q.asked = NULL;
	q.qname_len = 0;
	q.qname = q.qbuf;
	q.tsig_seen = false;
	q.tsig.state = NS_TSIG_NONE;
	wire_writer_init(&q.w, out, cap);
	uint16_t opcode = WIRE_OPCODE(flags);

	size_t question_end = 0;
	int rc = parse_request(&q, msg, len, &question_end);
	enum forward fw = FORWARD_NONE;
	if (rc == RCODE_NOERROR && opcode == OPCODE_UPDATE && q.qname_len) {
		size_t rlen = 0;
		if ((fw = forward_update(&q, out, cap, &rlen)) == FORWARD_RELAYED) {
			if (client->stats)
				stats_bump(&client->stats->rcode[q.rcode]);
			return rlen;
		}
	}
	if (rc == RCODE_NOERROR && q.tsig_seen && fw == FORWARD_NONE)
		rc = check_tsig(&q, msg, len);
	memcpy(out, msg, 2);
	q.w.pos = WIRE_HEADER_LEN;
	if (q.qname_len) { /* echo the question as received */
		wire_write(&q.w, q.qname, q.qname_len);
		wire_write16(&q.w, q.qtype);
		wire_write16(&q.w, q.qclass);
		wire_remember_plain(&q.w, WIRE_HEADER_LEN, q.qname_len, q.qlabels);
	}
	size_t limit = response_limit(&q, cap);
	q.opt_reserve = q.edns ? ns_edns_reserve(&q) : 0;
	/* room for a TSIG (only a request with one gets one) */
	size_t keep = q.opt_reserve + (q.tsig.state != NS_TSIG_NONE ? ns_tsig_reserve(&q.tsig) : 0);
	q.w.cap = limit >= q.w.pos + keep ? limit - keep : q.w.pos; /* long key names: nothing else fits */
	if (rc != RCODE_NOERROR && opcode != OPCODE_QUERY && opcode != OPCODE_NOTIFY &&
	    !(opcode == OPCODE_UPDATE && rcu_dereference(((struct server *)srv)->update)))
		rc = RCODE_NOTIMP; /* the opcode decides before the question does (Knot and NSD) */
	if (rc != RCODE_NOERROR)
		q.rcode = (uint16_t)rc;
	else if (fw == FORWARD_NONE)
		dispatch(&q, opcode);
	if (rc == RCODE_NOTAUTH && opcode == OPCODE_UPDATE && q.tsig.state == NS_TSIG_REJECTED)
		update_rejected(&q);
	if (client->guard && !ns_limit(&q, opcode, WIRE_HEADER_LEN + (q.qname_len ? q.qname_len + 4 : 0)))
		return 0; /* dropped by rate limiting (counted there) */

	uint16_t rflags = (uint16_t)(WIRE_QR | (flags & (0x7800 | WIRE_RD | WIRE_CD)) | (q.rcode & 0xf));
	if (q.aa)
		rflags |= WIRE_AA;
	if (q.tc)
		rflags |= WIRE_TC;
	wire_put16(out + 2, rflags);
	wire_put16(out + 4, q.qname_len ? 1 : 0);
	wire_put16(out + 6, q.count[SEC_ANSWER]);
	wire_put16(out + 8, q.count[SEC_AUTHORITY]);
	/* the TSIG goes after the OPT, whose NSID is optional (a NOTIFY may have rejected it by now) */
	size_t tsig_room = q.tsig.state != NS_TSIG_NONE ? ns_tsig_reserve(&q.tsig) : 0;
	q.w.cap = limit >= q.w.pos + tsig_room ? limit - tsig_room : limit;
	if (q.edns && ns_edns_write(&q) == 0)
		q.count[SEC_ADDITIONAL]++;
	wire_put16(out + 10, q.count[SEC_ADDITIONAL]);
	size_t rlen = q.w.pos;
	if (q.tsig.state == NS_TSIG_VERIFIED || q.tsig.state == NS_TSIG_REJECTED)
		rlen = sign_answer(&q, out, rlen, limit, WIRE_HEADER_LEN + (q.qname_len ? q.qname_len + 4 : 0));
	if (opcode == OPCODE_UPDATE && q.tsig_seen)
		explicit_bzero(&q.update_key, sizeof(q.update_key)); /* the secret's copy */
	if (client->stats) {
		stats_bump(&client->stats->rcode[q.rcode < STATS_RCODES ? q.rcode : STATS_RCODES - 1]);
		int ti = q.qname_len ? stats_type_index(q.qtype) : 0;
		if (q.qname_len)
			stats_bump(&client->stats->qtype[ti]);
		if (q.ede != EDE_NONE) /* the ede condition (signals/ede.c), whether the client reads EDE or not */
			stats_ede(client->stats, q.ede, q.ede_zone, q.ede_zone_len);
		/* usage: by the zone asked; an SOA query signed with a key (a secondary's refresh: a PoP
		 * or another secondary with its primary's key) goes with the transfers, unbilled */
		if (opcode == OPCODE_QUERY && q.qname_len && q.params->count_usage &&
		    !(q.qtype == RR_SOA && q.tsig.state == NS_TSIG_VERIFIED))
			stats_usage(client->stats, stats_usage_key(q.asked ? q.asked->uid : 0, ti, q.rcode,
			                                           client->proto == PROTO_UDP      ? STATS_UDP
			                                           : client->tls != CONFIG_TLS_ANY ? STATS_TLS
			                                                                           : STATS_TCP));
	}
	if (qtime.tv_sec)
		log_dnstap(&q, client, qtime, out, rlen);
	return rlen;
}
