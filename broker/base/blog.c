/* blog.c — see blog.h. State is a few atomics/strings set before use. */
#include "blog.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static brook_log_handler_t *log_handler;
static void *log_opaque;
static int log_level = BROOK_LOG_INFO;
static char debug_ctx[256];
static bool debug_all;

void brook_log_set_handler(brook_log_handler_t *handler, void *opaque) {
  log_handler = handler;
  log_opaque = opaque;
}

void brook_log_set_level(int level) { log_level = level; }

void brook_log_set_debug(const char *contexts) {
  g_strlcpy(debug_ctx, contexts ? contexts : "", sizeof debug_ctx);
  debug_all = strstr(debug_ctx, "all") != NULL;
  if (debug_ctx[0]) log_level = BROOK_LOG_DEBUG;
}

bool brook_log_debug_enabled(const char *fac) {
  if (!debug_ctx[0] || !log_handler) return false;
  if (debug_all) return true;
  size_t n = strlen(fac);
  for (const char *p = debug_ctx; (p = strstr(p, fac)); p += n)
    if ((p == debug_ctx || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return true;
  return false;
}

void brook_logv(int level, const char *fac, const char *fmt, va_list ap) {
  if (!log_handler || level > log_level) return;
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  log_handler(level, fac, msg, log_opaque);
}

void brook_log(int level, const char *fac, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  brook_logv(level, fac, fmt, ap);
  va_end(ap);
}

void brook_log_stderr_handler(int level, const char *fac, const char *msg, void *opaque) {
  static const char *names[] = {"EMERG", "ALERT", "CRIT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};
  (void)opaque;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[32];
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  fprintf(stderr, "[%s,%03ld] %s %s: %s\n", when, ts.tv_nsec / 1000000, names[level & 7], fac, msg);
}
