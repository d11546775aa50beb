/* systemd's service notification protocol (sd_notify(3)), written by hand: one datagram of
 * newline-separated KEY=VALUE lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
 * abstract name written with a leading '@'). Nothing happens when the variable is not set, as
 * outside systemd. ternd sends READY=1 once every zone it should serve is served, RELOADING=1
 * and READY=1 around a reload, STOPPING=1 on SIGTERM, and STATUS= lines saying what it waits for. */
#pragma once
#include <stdarg.h>

/* Sends the formatted message; 0 when sent or when there is no $NOTIFY_SOCKET, -1 (errno set)
 * when the socket is named but the message could not go (logged by the caller, not fatal). */
__attribute__((format(printf, 1, 2))) int sdnotify(const char *fmt, ...);
__attribute__((format(printf, 1, 0))) int sdnotify_v(const char *fmt, va_list ap);
