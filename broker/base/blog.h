/*
 * blog.h — brook's logging. The library never prints by itself: an
 * application installs a handler (brookd installs one that writes to stderr).
 * Levels are syslog's. Debug contexts ("protocol,log,group", "all") switch on
 * LOG_DEBUG detail per facility; brook_log_debug_enabled() is cheap so hot
 * paths can test it before formatting.
 */
#ifndef BROOK_BLOG_H
#define BROOK_BLOG_H

#include <stdarg.h>
#include <stdbool.h>

enum {
  BROOK_LOG_EMERG = 0,
  BROOK_LOG_ALERT = 1,
  BROOK_LOG_CRIT = 2,
  BROOK_LOG_ERR = 3,
  BROOK_LOG_WARNING = 4,
  BROOK_LOG_NOTICE = 5,
  BROOK_LOG_INFO = 6,
  BROOK_LOG_DEBUG = 7,
};

/** Handler: level, facility ("broker", "log", "protocol", ...), message.
 *  Called from whichever thread logs; must be thread-safe. */
typedef void(brook_log_handler_t)(int level, const char *fac, const char *msg, void *opaque);

/** Installs the process-wide handler (NULL: drop everything). @locality any,
 *  before starting components. */
void brook_log_set_handler(brook_log_handler_t *handler, void *opaque);
/** Comma-separated debug contexts, "all" or "" (none). @locality any */
void brook_log_set_debug(const char *contexts);
/** Messages above this level are dropped (default BROOK_LOG_INFO). */
void brook_log_set_level(int level);
bool brook_log_debug_enabled(const char *fac);

void brook_log(int level, const char *fac, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void brook_logv(int level, const char *fac, const char *fmt, va_list ap);

/** The stderr handler brookd and the examples use: "[time] LEVEL fac: msg". */
void brook_log_stderr_handler(int level, const char *fac, const char *msg, void *opaque);

#define brook_dbg(fac, ...)                                                            \
  do {                                                                                 \
    if (brook_log_debug_enabled(fac)) brook_log(BROOK_LOG_DEBUG, fac, __VA_ARGS__);    \
  } while (0)

#endif
