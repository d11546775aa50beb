/* NOTIFY out (RFC 1996): every new version of every zone is announced at once to the configured
 * secondaries, retried until each acknowledges. A zones listener feeds a thread of its own. */
#pragma once
#include <stddef.h>

#include "ternd/base/config.h"
#include "ternd/zones/server.h"

struct notify;

/* Subscribes to srv's zones and starts the sending thread; nothing happens without targets. */
int notify_start(struct server *srv, const struct config *conf, struct notify **out, char *err, size_t errlen);
/* SIGHUP: the targets and keys of conf from now on (queued NOTIFYs to kept targets stay queued);
 * starts or stops the sender when targets appear or go. On error the old targets stay. */
int notify_reload(struct notify **np, struct server *srv, const struct config *conf, char *err, size_t errlen);
void notify_stop(struct notify *n);
