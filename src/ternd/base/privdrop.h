/* Who ternd runs as. Started as root, ternd becomes server.user (in server.group, else that
 * user's own group) right after it has read its configuration, before it opens a zone file, the
 * store or a socket: setgroups, setgid and setuid, each checked, keeping CAP_NET_BIND_SERVICE
 * alone so that it can still bind port 53, with no way back (setuid(0) is tried and must fail)
 * and no_new_privs set; once its listening sockets are bound that last capability goes too
 * (privdrop_shed), before ternd reads any network input or starts a thread. Root is refused unless asked for:
 * server.user: root, or TERND_ALLOW_ROOT=1 in the environment (test suites and containers that run all as root). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct privdrop {
	bool drop; /* become uid/gid; false: stay who we are */
	uid_t uid;
	gid_t gid;
	char user[33], group[33]; /* their names, for messages */
};

/* What server.user and server.group (either NULL) ask of a process running as euid: 0 with *out,
 * or TERN_EINVAL with err naming the key and the problem (no such user or group, root refused, a
 * user that a process not running as root cannot become). */
int privdrop_plan(const char *user, const char *group, uid_t euid, struct privdrop *out, char *err, size_t errlen);
/* Becomes the user and group of p (nothing when !p->drop) and checks it: 0, or TERN_EIO with err. */
int privdrop_apply(const struct privdrop *p, char *err, size_t errlen);
/* Once every socket is bound (listen addresses are restart keys, never bound again): a process
 * not running as root gives up every capability left (CAP_NET_BIND_SERVICE, kept by the drop or
 * given by systemd), ambient ones too, and checks that none is left. Capabilities are per thread,
 * so this refuses when a capability is held and another thread already runs (it would keep it).
 * Root stays root (asked for). 0, or TERN_EIO with err. */
int privdrop_shed(char *err, size_t errlen);
/* Whether ternd, once p is applied, may bind ports below 1024: root, a drop (which keeps the
 * capability), or CAP_NET_BIND_SERVICE in this process's effective set (systemd's
 * AmbientCapabilities). */
bool privdrop_binds_low_ports(const struct privdrop *p);
/* Whether the user p runs as (after privdrop_apply, or about to) may make files in dir, or in the
 * nearest directory above it that exists when dir does not yet: 0, or TERN_EIO with err saying
 * why not (owner and mode). */
int privdrop_writable(const struct privdrop *p, const char *dir, char *err, size_t errlen);
/* Whether the user p runs as (after privdrop_apply, or about to) may read the file path (by its
 * owner, group and mode when not that user yet): 0, or TERN_EIO with err saying why not. */
int privdrop_readable(const struct privdrop *p, const char *path, char *err, size_t errlen);
