/* libcurl's multi socket interface driven by an ev_ loop (event.h): the sockets libcurl asks to
 * watch become ev_io watchers and its timeout an ev_timer, each calling curl_multi_socket_action()
 * and then the owner's collect(arg) to read what finished (curl_multi_info_read). One loop thread
 * does it all; the owner adds and removes its easy handles on that thread (or before it starts). */
#pragma once
#include <curl/curl.h>
#include <stdbool.h>

#include "ternd/base/event.h"

struct ev_curl_sock;

struct ev_curl {
	CURLM *multi;
	struct ev_loop *loop;
	struct ev_timer timeout;
	struct ev_curl_sock *socks; /* the sockets libcurl asked to watch */
	void (*collect)(void *arg);
	void *arg;
	bool global; /* curl_global_init() done: undone by ev_curl_cleanup */
};

/* libcurl's global state and a multi handle on loop; collect(arg) after each of its actions.
 * 0, or TERN_EIO (libcurl could not start) or TERN_ENOMEM; ev_curl_cleanup either way. */
int ev_curl_init(struct ev_curl *c, struct ev_loop *loop, void (*collect)(void *arg), void *arg);
/* The multi handle and the watchers libcurl did not say were gone; after the loop's thread
 * stopped and the owner removed its easy handles. c zeroed: a second call does nothing. */
void ev_curl_cleanup(struct ev_curl *c);
