/* The configuration's dnstap section (the dnstap module: where the AUTH_QUERY and AUTH_RESPONSE
 * messages go, what they say, how much each answering thread holds for them). */
#include <stddef.h>

#include "ternd/base/config_impl.h"

/* dnstap: one output, something to log, and a ring of a power of two slots. */
bool cfg_finish_dnstap(struct parse *p, void *base, const struct field *f, unsigned line, const char *where)
{
	enum { SOCKET, FILE_, IDENTITY, VERSION, LOG_QUERIES, LOG_RESPONSES, RING_SIZE };
	(void)line;
	struct config_dnstap *d = base;
	bool ok = true;
	if (f[SOCKET].value && f[FILE_].value) {
		cfg_perr(p, cfg_node_line(f[FILE_].value), "%s.file: %s.socket is set too (dnstap has one output)",
		         where, where);
		ok = false;
	}
	if (d->ring_size & (d->ring_size - 1)) {
		cfg_perr(p, cfg_node_line(f[RING_SIZE].value), "%s.ring-size: %u is not a power of two", where,
		         d->ring_size);
		ok = false;
	}
	d->enabled = d->socket || d->file;
	if (d->enabled && !d->log_queries && !d->log_responses) {
		cfg_perr(p, cfg_node_line(f[d->socket ? SOCKET : FILE_].value),
		         "%s: log-queries and log-responses are both off: nothing to log", where);
		ok = false;
	}
	return ok;
}

#define DNSTAP_AT(member) offsetof(struct config_dnstap, member)
const struct cfg_item cfg_dnstap_items[] = {
    {.name = "socket",
     .type = CFG_PATH,
     .offset = DNSTAP_AT(socket),
     .help = "a Frame Streams reader's unix socket (fstrm_capture -u) the AUTH_QUERY and AUTH_RESPONSE "
             "messages go to; absent or stalled, answers go on and the messages are dropped and counted"},
    {.name = "file",
     .type = CFG_PATH,
     .offset = DNSTAP_AT(file),
     .help = "or a Frame Streams file they are written to (truncated at start)"},
    {.name = "identity",
     .type = CFG_STRING,
     .offset = DNSTAP_AT(identity),
     .max = 255,
     .help = "the identity field of each message; absent: the host name"},
    {.name = "version",
     .type = CFG_STRING,
     .offset = DNSTAP_AT(version),
     .max = 255,
     .def = "ternd",
     .help = "the version field of each message"},
    {.name = "log-queries",
     .type = CFG_BOOL,
     .offset = DNSTAP_AT(log_queries),
     .def = "true",
     .help = "send an AUTH_QUERY message for each query answered"},
    {.name = "log-responses",
     .type = CFG_BOOL,
     .offset = DNSTAP_AT(log_responses),
     .def = "true",
     .help = "send an AUTH_RESPONSE message for each answer sent"},
    {.name = "ring-size",
     .type = CFG_UINT,
     .offset = DNSTAP_AT(ring_size),
     .size = sizeof(unsigned),
     .min = 16,
     .max = 65536,
     .def = "1024",
     .unit = "slots",
     .help = "messages each answering thread holds for the dnstap writer (a power of two, 4 KiB each); "
             "a query finding its ring full is not logged (tern_dnstap_dropped_total)"},
    {0},
};
