/* UDP transport: worker threads, each with its own SO_REUSEPORT socket per listen address,
 * batched receive and send (recvmmsg/sendmmsg), answers written straight into send buffers.
 * No allocation, lock or extra syscall per query. */
#include "ternd/net/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/dnstap/dnstap.h"
#include "ternd/net/socket.h"
#include "ternd/ns/query.h"

#define UDP_BATCH 32
#define UDP_IN_MAX 4096 /* larger datagrams are not DNS queries we answer */
#define UDP_OUT_MAX 4096 /* the largest EDNS size we allow in the configuration */

/* Room for one IPv4 or IPv6 packet-info control message. */
#define UDP_CTL_SIZE CMSG_SPACE(sizeof(struct in6_pktinfo))

struct udp_worker {
	struct udp *u;
	int fd;
	struct ev_thread thread; /* runs worker_run: a blocking recvmmsg loop, not an ev_ loop */
	bool pktinfo; /* wildcard socket: reply from the address each query was sent to */
	struct stats_block *stats;
	struct query_guard *guard; /* its clock (read once a batch), RRL table and cookie keys */
	struct dnstap_ring *dnstap; /* NULL: dnstap off */
	struct sockaddr_storage local; /* the socket's address (dnstap's response address) */
	struct sockaddr_storage asked; /* a wildcard socket's: the address a query was sent to */
	_Alignas(struct cmsghdr) uint8_t ctl_in[UDP_BATCH][UDP_CTL_SIZE];
	_Alignas(struct cmsghdr) uint8_t ctl_out[UDP_BATCH][UDP_CTL_SIZE];
	uint8_t in[UDP_BATCH][UDP_IN_MAX];
	uint8_t out[UDP_BATCH][UDP_OUT_MAX];
	struct sockaddr_storage peers[UDP_BATCH];
	struct iovec iov_in[UDP_BATCH], iov_out[UDP_BATCH];
	struct mmsghdr msg_in[UDP_BATCH], msg_out[UDP_BATCH];
};

struct udp {
	struct server *srv;
	atomic_bool stop;
	size_t nworkers;
	struct udp_worker *workers[];
};

/* The kernel's calls themselves: glibc's recvmmsg and sendmmsg also turn thread cancellation on
 * and off around each call, which these threads never use (udp_stop wakes them with shutdown()). */
static int sys_recvmmsg(int fd, struct mmsghdr *msgs, unsigned n, int flags)
{
	return (int)syscall(SYS_recvmmsg, fd, msgs, n, flags, NULL);
}

static int sys_sendmmsg(int fd, struct mmsghdr *msgs, unsigned n, int flags)
{
	return (int)syscall(SYS_sendmmsg, fd, msgs, n, flags);
}

static void worker_prepare(struct udp_worker *w)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		w->iov_in[i] = (struct iovec){w->in[i], UDP_IN_MAX};
		w->msg_in[i].msg_hdr = (struct msghdr){.msg_name = &w->peers[i],
		                                       .msg_namelen = sizeof(w->peers[i]),
		                                       .msg_iov = &w->iov_in[i],
		                                       .msg_iovlen = 1};
		if (w->pktinfo) {
			w->msg_in[i].msg_hdr.msg_control = w->ctl_in[i];
			w->msg_in[i].msg_hdr.msg_controllen = UDP_CTL_SIZE;
		}
		/* reply i: its peer and buffer are fixed, its lengths and control set per answer */
		w->iov_out[i] = (struct iovec){w->out[i], 0};
		w->msg_out[i].msg_hdr =
		    (struct msghdr){.msg_name = &w->peers[i], .msg_iov = &w->iov_out[i], .msg_iovlen = 1};
	}
}

/* Turns the destination of received message i into the source of reply m. Returns the control
 * length to send, 0 when the kernel gave no packet info. */
static size_t reply_source(struct udp_worker *w, int i, int m)
{
	struct msghdr *h = &w->msg_in[i].msg_hdr;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		struct cmsghdr *o = (struct cmsghdr *)w->ctl_out[m];
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr; /* source = the address asked */
			pi.ipi_ifindex = 0; /* let routing pick the interface */
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi; /* the same address and interface (link-local needs it) */
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

/* For dnstap on a wildcard socket: the address received message i was sent to (its packet info),
 * with the socket's port; the socket's own address when the kernel gave none. */
static const struct sockaddr *query_local(struct udp_worker *w, int i)
{
	struct msghdr *h = &w->msg_in[i].msg_hdr;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && w->local.ss_family == AF_INET) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			struct sockaddr_in *a = (struct sockaddr_in *)&w->asked;
			*a = *(struct sockaddr_in *)&w->local;
			a->sin_addr = pi.ipi_addr;
			return (struct sockaddr *)a;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && w->local.ss_family == AF_INET6) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&w->asked;
			*a = *(struct sockaddr_in6 *)&w->local;
			a->sin6_addr = pi.ipi6_addr;
			return (struct sockaddr *)a;
		}
	}
	return (struct sockaddr *)&w->local;
}

/* Answers a received batch and sends the answers in as few calls as the kernel allows. */
static void worker_answer(struct udp_worker *w, int n)
{
	int m = 0;
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &w->msg_in[i].msg_hdr;
		if (h->msg_flags & MSG_TRUNC)
			continue;
		struct query_client client = {
		    (struct sockaddr *)&w->peers[i], h->msg_namelen, PROTO_UDP, w->stats, w->guard, 0, w->dnstap, NULL};
		if (w->dnstap)
			client.local = w->pktinfo ? query_local(w, i) : (const struct sockaddr *)&w->local;
		size_t len = query_process(w->u->srv, w->in[i], w->msg_in[i].msg_len, w->out[m], UDP_OUT_MAX, &client);
		if (len == 0)
			continue;
		if (m != i)
			memcpy(&w->peers[m], &w->peers[i], h->msg_namelen);
		w->iov_out[m].iov_len = len;
		w->msg_out[m].msg_hdr.msg_namelen = h->msg_namelen;
		if (w->pktinfo) {
			size_t ctl = reply_source(w, i, m);
			w->msg_out[m].msg_hdr.msg_control = ctl ? w->ctl_out[m] : NULL;
			w->msg_out[m].msg_hdr.msg_controllen = ctl;
		}
		m++;
	}
	for (int sent = 0; sent < m;) {
		int r = sys_sendmmsg(w->fd, w->msg_out + sent, (unsigned)(m - sent), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			sent++; /* skip the datagram the kernel refused (e.g. unreachable peer) */
			continue;
		}
		sent += r;
	}
}

static void worker_run(void *arg)
{
	struct udp_worker *w = arg;
	rcu_register_thread();
	worker_prepare(w);
	while (!atomic_load_explicit(&w->u->stop, memory_order_relaxed)) {
		rcu_thread_offline(); /* blocked in the kernel: publishers need not wait for us */
		int n = sys_recvmmsg(w->fd, w->msg_in, UDP_BATCH, MSG_WAITFORONE);
		rcu_thread_online();
		if (atomic_load(&w->u->stop))
			break;
		if (n <= 0)
			continue;
		query_guard_tick(w->guard); /* the batch's clock: vDSO, no system call */
		worker_answer(w, n); /* going offline again marks the quiescent state */
		for (int i = 0; i < n; i++) { /* the kernel shortened the lengths it filled */
			w->msg_in[i].msg_hdr.msg_namelen = sizeof(w->peers[i]);
			w->msg_in[i].msg_hdr.msg_controllen = w->pktinfo ? UDP_CTL_SIZE : 0;
		}
	}
	rcu_unregister_thread();
}

int udp_start(struct server *srv, struct dns_sockets *socks, struct udp **out, char *err, size_t errlen)
{
	unsigned workers = socks->udp_workers;
	size_t total = workers * socks->naddr;
	struct udp *u = calloc(1, sizeof(*u) + total * sizeof(u->workers[0]));
	if (!u)
		return TERN_ENOMEM;
	u->srv = srv;
	atomic_init(&u->stop, false);
	/* rrl.table-size buckets per worker; a client's traffic spreads over the workers of an address
	 * (SO_REUSEPORT hashes its ports), so each takes 1/workers of the rate (docs/architecture.md) */
	size_t rrl_entries = server_config(srv)->rrl.table_size;
	for (size_t i = 0; i < total; i++) {
		struct udp_worker *w = calloc(1, sizeof(*w));
		if (!w)
			goto nomem;
		w->u = u;
		w->stats = stats_block_new(&srv->stats);
		w->guard = query_guard_new(rrl_entries, workers);
		if (!w->guard) {
			free(w);
			goto nomem;
		}
		u->workers[u->nworkers++] = w;
		w->fd = socks->udp[i]; /* taken over */
		socks->udp[i] = -1;
		socklen_t sl = sizeof(w->local);
		w->pktinfo = getsockname(w->fd, (struct sockaddr *)&w->local, &sl) == 0 &&
		             socket_is_wildcard((const struct sockaddr *)&w->local);
		w->dnstap = dnstap_ring_take(srv->dnstap);
	}
	for (size_t i = 0; i < u->nworkers; i++) {
		if (ev_thread_start_fn(&u->workers[i]->thread, worker_run, u->workers[i], "ternd-udp") < 0) {
			snprintf(err, errlen, "cannot start a UDP worker thread");
			goto fail;
		}
	}
	log_info("UDP: %zu listener(s), %u worker(s) each", socks->naddr, workers);
	*out = u;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory for UDP workers");
fail:
	udp_stop(u);
	return TERN_EIO;
}

void udp_stop(struct udp *u)
{
	if (!u)
		return;
	atomic_store(&u->stop, true);
	for (size_t i = 0; i < u->nworkers; i++)
		if (u->workers[i]->fd >= 0)
			shutdown(u->workers[i]->fd, SHUT_RDWR); /* wakes recvmmsg */
	for (size_t i = 0; i < u->nworkers; i++) {
		struct udp_worker *w = u->workers[i];
		ev_thread_stop(&w->thread); /* joins: recvmmsg returned, the flag is seen */
		if (w->fd >= 0)
			close(w->fd);
		query_guard_free(w->guard);
		dnstap_ring_give(w->dnstap);
		free(w);
	}
	free(u);
}
