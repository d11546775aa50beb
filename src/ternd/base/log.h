/* ternd's log: leveled lines on stderr, as text ("TIME LEVEL: message") or JSON (one object a
 * line: time, level, message). When journald reads stderr ($JOURNAL_STREAM names it) each line
 * starts with its syslog priority instead of the time ("<3>error: ..."), so `journalctl -p err`
 * finds the errors; a message of several lines is one JSON object, or lines that each carry it. */
#pragma once
#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_TEXT, LOG_JSON };

void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
/* Looks whether stderr is journald's stream ($JOURNAL_STREAM is "DEVICE:INODE" of it): once at
 * start, before the first line. */
void log_detect_journal(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether a line at level would be written (to skip the work of making one that would not). */
bool log_enabled(enum log_level level);
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
