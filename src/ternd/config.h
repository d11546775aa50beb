/* ternd's configuration file (YAML, read with libyaml): listeners, zones, identity, EDNS. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/name.h"

struct config_listen {
	struct sockaddr_storage addr; /* IPv4 or IPv6 with port */
	socklen_t addrlen;
	char text[80]; /* as written, for logs */
};

struct config_zone {
	uint8_t apex[NAME_MAXLEN]; /* wire form, lower-cased */
	char *name;                /* as written, e.g. "example.com" */
	char *file;                /* path, resolved against the config file's directory */
	unsigned line;             /* where the zone is declared */
};

struct config {
	char *path;
	struct config_listen *listen;
	size_t nlisten;
	struct config_zone *zones;
	size_t nzones;
	char *nsid;                   /* server identity for NSID (RFC 5001); NULL = not sent */
	uint16_t edns_size;           /* advertised and maximum UDP payload; default 1232 */
	unsigned udp_workers;         /* 0 = one per online CPU */
	unsigned tcp_idle_timeout_ms; /* default 10000 */
	unsigned tcp_max_clients;     /* default 1024 */
	int log_level;                /* enum log_level; default LOG_INFO */
};

/* Reads and validates a configuration file. On error returns a negative TERN_E* and writes
 * "file:line: message" (one per line for each problem) into err; *out is untouched. */
int config_load(const char *path, struct config **out, char *err, size_t errlen);
/* The same for YAML text in memory; source names it in messages and relative zone file paths
 * resolve against basedir. */
int config_load_string(const char *text, size_t len, const char *source, const char *basedir,
                       struct config **out, char *err, size_t errlen);
void config_free(struct config *c);
