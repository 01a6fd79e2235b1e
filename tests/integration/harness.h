/*
 * harness.h — starting the real broker for tests: in-process on a free
 * loopback port with a temporary log directory, or brookd as a subprocess
 * (for kill -9). Every process started is stopped by its PID.
 */
#ifndef BROOK_TEST_HARNESS_H
#define BROOK_TEST_HARNESS_H

#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blog.h"
#include "brook_broker.h"

typedef struct harness {
  char *dir;             /* temporary log.dirs */
  brook_broker_t *broker;
  GPid pid;              /* brookd subprocess, 0 if none */
  char bootstrap[64];
} harness_t;

static inline void harness_quiet_logs(void) {
  if (g_getenv("BROOK_TEST_LOG")) brook_log_set_handler(brook_log_stderr_handler, NULL);
}

/* extra: NULL-terminated name, value, name, value... */
static inline void harness_start(harness_t *h, const char *const *extra) {
  char errstr[512];
  if (!h->dir) h->dir = g_dir_make_tmp("brook-test-XXXXXX", NULL);
  brook_broker_conf_t *conf = brook_broker_conf_new();
  char *logs = g_build_filename(h->dir, "logs", NULL);
  g_assert_cmpint(brook_broker_conf_set(conf, "listeners", "PLAINTEXT://127.0.0.1:0", errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(brook_broker_conf_set(conf, "log.dirs", logs, errstr, sizeof errstr), ==, 0);
  for (int i = 0; extra && extra[i]; i += 2)
    g_assert_cmpint(brook_broker_conf_set(conf, extra[i], extra[i + 1], errstr, sizeof errstr), ==, 0);
  h->broker = brook_broker_start(conf, errstr, sizeof errstr);
  if (!h->broker) g_error("broker start failed: %s", errstr);
  g_strlcpy(h->bootstrap, brook_broker_bootstrap(h->broker), sizeof h->bootstrap);
  brook_broker_conf_destroy(conf);
  g_free(logs);
}

static inline void harness_stop(harness_t *h) {
  brook_broker_stop(h->broker);
  h->broker = NULL;
}

static inline void rm_rf(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  if (d) {
    const char *n;
    while ((n = g_dir_read_name(d))) {
      char *p = g_build_filename(path, n, NULL);
      if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK)) rm_rf(p);
      else g_unlink(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  g_rmdir(path);
}

static inline void harness_cleanup(harness_t *h) {
  if (h->broker) harness_stop(h);
  if (h->dir) rm_rf(h->dir);
  g_free(h->dir);
  h->dir = NULL;
}

static inline gpointer drain_stderr(gpointer arg) {
  char buf[4096];
  while (fgets(buf, sizeof buf, arg))
    if (g_getenv("BROOK_TEST_LOG")) fputs(buf, stderr);
  fclose(arg);
  return NULL;
}

/* brookd as a subprocess (path from $BROOKD) with extra settings (NULL or
 * NULL-terminated name, value, ...). Waits for its listening line. */
static inline void harness_spawn_with(harness_t *h, const char *const *extra) {
  const char *brookd = g_getenv("BROOKD");
  g_assert_nonnull(brookd);
  if (!h->dir) h->dir = g_dir_make_tmp("brook-test-XXXXXX", NULL);
  char *logs = g_strdup_printf("log.dirs=%s/logs", h->dir);
  GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(args, g_strdup(brookd));
  g_ptr_array_add(args, g_strdup("--override"));
  g_ptr_array_add(args, g_strdup("listeners=PLAINTEXT://127.0.0.1:0"));
  g_ptr_array_add(args, g_strdup("--override"));
  g_ptr_array_add(args, g_strdup(logs));
  for (int i = 0; extra && extra[i]; i += 2) {
    g_ptr_array_add(args, g_strdup("--override"));
    g_ptr_array_add(args, g_strdup_printf("%s=%s", extra[i], extra[i + 1]));
  }
  g_ptr_array_add(args, NULL);
  char **argv = (char **)args->pdata;
  int err_fd;
  GError *gerr = NULL;
  if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &h->pid, NULL, NULL,
                                &err_fd, &gerr))
    g_error("spawn brookd: %s", gerr->message);
  /* read stderr until the listening line (bounded: 20 s) */
  FILE *f = fdopen(err_fd, "r");
  char line[1024];
  h->bootstrap[0] = 0;
  gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  while (!h->bootstrap[0] && g_get_monotonic_time() < until && fgets(line, sizeof line, f)) {
    const char *p = strstr(line, "listening on PLAINTEXT://");
    if (p) {
      g_strlcpy(h->bootstrap, p + strlen("listening on PLAINTEXT://"), sizeof h->bootstrap);
      h->bootstrap[strcspn(h->bootstrap, "\r\n")] = 0;
    }
  }
  g_assert_true(h->bootstrap[0]);
  /* keep draining stderr so brookd never blocks on a full pipe */
  g_thread_unref(g_thread_new("drain", drain_stderr, f));
  g_free(logs);
  g_ptr_array_free(args, TRUE);
}

static inline void harness_spawn(harness_t *h) { harness_spawn_with(h, NULL); }

/* Sends sig to the subprocess and waits for it to exit (the test's meson
 * timeout bounds a broker that would not). Returns the wait status. */
static inline int harness_kill(harness_t *h, int sig) {
  int status = 0;
  kill(h->pid, sig);
  waitpid(h->pid, &status, 0);
  h->pid = 0;
  return status;
}

#endif
