/* ternd's log (log.h): each line made whole in a buffer and written with one call, so lines of
 * different threads never mix. */
#include "ternd/base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ternd/base/text.h"

#define LINE_MAX_BYTES 2048 /* a message longer than this is cut */

static _Atomic int max_level = LOG_INFO; /* set at start-up and by a reload (log.level) */
static _Atomic int format = LOG_TEXT; /* log.format */
static bool journal; /* stderr is journald's stream: priorities, no times (journald keeps those) */

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&max_level, (int)level, memory_order_relaxed);
}

void log_set_format(enum log_format f)
{
	atomic_store_explicit(&format, (int)f, memory_order_relaxed);
}

void log_detect_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	          (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool log_enabled(enum log_level level)
{
	return (int)level <= atomic_load_explicit(&max_level, memory_order_relaxed);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	static const int priority[] = {3, 4, 6, 7}; /* syslog's LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
	if ((int)level > atomic_load_explicit(&max_level, memory_order_relaxed))
		return;
	char msg[LINE_MAX_BYTES], ts[40], prio[8] = "";
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (journal)
		snprintf(prio, sizeof(prio), "<%d>", priority[level]);
	/* the whole output in one buffer: one write per message keeps threads' lines apart */
	char out[LINE_MAX_BYTES * 6 + 256];
	size_t len = 0;
	if (atomic_load_explicit(&format, memory_order_relaxed) == LOG_JSON) {
		char esc[LINE_MAX_BYTES * 6 + 3];
		text_json_escape(msg, esc, sizeof(esc));
		len = (size_t)snprintf(out, sizeof(out), "%s{\"time\":\"%s\",\"level\":\"%s\",\"message\":%s}\n", prio,
		                       ts, names[level], esc);
	} else if (journal) {
		/* journald takes every line as an entry of its own: each carries the priority */
		for (const char *line = msg; line && len < sizeof(out);) {
			const char *nl = strchr(line, '\n');
			int w = (int)(nl ? (size_t)(nl - line) : strlen(line));
			int k = snprintf(out + len, sizeof(out) - len, "%s%s: %.*s\n", prio, names[level], w, line);
			len += k > 0 ? (size_t)k : 0;
			line = nl && nl[1] ? nl + 1 : NULL;
		}
	} else {
		len = (size_t)snprintf(out, sizeof(out), "%s %s: %s\n", ts, names[level], msg);
	}
	if (len > sizeof(out) - 1)
		len = sizeof(out) - 1;
	fwrite(out, 1, len, stderr); /* unbuffered: one write */
}
