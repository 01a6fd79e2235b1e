/*
 * test-task-dir.c — task directories: layout, the lock (within a process and
 * across processes, including a holder killed with SIGKILL), the checkpoint
 * file (format, atomic write, reading back, corrupt files), and environment
 * configuration errors.
 */
#include <signal.h>
#include <sys/wait.h>

#include "state_test_util.h"

static void t_layout(void) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "my-app", 0, 0);
  brook_task_dir_t *dir = tu_task_dir(env, "1_2");
  char *want = g_build_filename(tmp, "my-app", "1_2", NULL);
  g_assert_cmpstr(brook_task_dir_path(dir), ==, want);
  char *lock = g_build_filename(want, ".lock", NULL);
  g_assert_true(g_file_test(lock, G_FILE_TEST_IS_REGULAR));
  /* a RocksDB store lands in rocksdb/<name>/ */
  brook_store_opts_t opts = {.name = "agg", .logged = false};
  brook_kv_store_t *s = NULL;
  char errstr[256];
  g_assert_cmpint(brook_kv_store_open(env, dir, &opts, 0, &s, errstr, sizeof errstr), ==, 0);
  char *cur = g_build_filename(want, "rocksdb", "agg", "CURRENT", NULL);
  g_assert_true(g_file_test(cur, G_FILE_TEST_IS_REGULAR));
  brook_kv_store_close(s);
  brook_task_dir_close(dir);
  brook_state_env_destroy(env);
  g_free(cur);
  g_free(lock);
  g_free(want);
  tu_rmdir(tmp);
}

static void t_lock_same_process(void) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *a = tu_task_dir(env, "0_0"), *b = NULL;
  char errstr[512];
  g_assert_cmpint(brook_task_dir_open(env, "0_0", &b, errstr, sizeof errstr), ==, BROOK_ERR__LOCKED);
  g_assert_null(b);
  g_assert_nonnull(strstr(errstr, "locked"));
  /* another task is independent */
  brook_task_dir_t *c = tu_task_dir(env, "0_1");
  brook_task_dir_close(a);
  g_assert_cmpint(brook_task_dir_open(env, "0_0", &b, errstr, sizeof errstr), ==, 0);
  brook_task_dir_close(b);
  brook_task_dir_close(c);
  brook_state_env_destroy(env);
  tu_rmdir(tmp);
}

/* Children are fresh processes: this binary re-executed with
 * BROOK_STATE_CHILD=<mode>:<state dir> (fork without exec would inherit
 * RocksDB's background threads from earlier tests).
 *   try:  open task 0_0; exit 0 (opened), 1 (locked), 2 (other error)
 *   hold: open task 0_0, write "y" to stdout, wait to be killed */
static int child_main(const char *spec) {
  const char *tmp = strchr(spec, ':') + 1;
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *d = NULL;
  char errstr[256];
  brook_err_t err = brook_task_dir_open(env, "0_0", &d, errstr, sizeof errstr);
  if (g_str_has_prefix(spec, "hold:")) {
    char ok = err ? 'n' : 'y';
    if (write(1, &ok, 1) != 1) return 3;
    for (;;) pause();
  }
  brook_task_dir_close(d);
  brook_state_env_destroy(env);
  return err == BROOK_ERR_NONE ? 0 : err == BROOK_ERR__LOCKED ? 1 : 2;
}

static GPid spawn_child(const char *mode, const char *tmp, int *stdout_fd) {
  char *self = g_file_read_link("/proc/self/exe", NULL);
  char *spec = g_strdup_printf("%s:%s", mode, tmp);
  char **envp = g_environ_setenv(g_get_environ(), "BROOK_STATE_CHILD", spec, TRUE);
  char *argv[] = {self, NULL};
  GPid pid = 0;
  GError *gerr = NULL;
  g_assert_true(g_spawn_async_with_pipes(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL,
                                         stdout_fd, NULL, &gerr));
  g_assert_no_error(gerr);
  g_strfreev(envp);
  g_free(spec);
  g_free(self);
  return pid;
}

static int run_child(const char *tmp) {
  GPid pid = spawn_child("try", tmp, NULL);
  int status = 0;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

static void t_lock_other_process(void) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *d = tu_task_dir(env, "0_0");
  g_assert_cmpint(run_child(tmp), ==, 1); /* held by us: the child is refused */
  brook_task_dir_close(d);
  g_assert_cmpint(run_child(tmp), ==, 0); /* released: the child gets it */

  /* a holder killed with SIGKILL releases the lock (the kernel drops it) */
  int out = -1;
  GPid pid = spawn_child("hold", tmp, &out);
  char ok = 0;
  g_assert_cmpint(read(out, &ok, 1), ==, 1); /* blocks until the child holds the lock */
  close(out);
  g_assert_cmpint(ok, ==, 'y');
  brook_task_dir_t *d2 = NULL;
  char errstr[256];
  g_assert_cmpint(brook_task_dir_open(env, "0_0", &d2, errstr, sizeof errstr), ==, BROOK_ERR__LOCKED);
  kill(pid, SIGKILL);
  int status = 0;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_assert_true(WIFSIGNALED(status));
  g_assert_cmpint(brook_task_dir_open(env, "0_0", &d2, errstr, sizeof errstr), ==, 0);
  brook_task_dir_close(d2);
  brook_state_env_destroy(env);
  tu_rmdir(tmp);
}

static void t_checkpoint_roundtrip(void) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *d = tu_task_dir(env, "0_0");
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "app-a-changelog", 0), ==, -1);
  brook_task_dir_checkpoint_set(d, "app-a-changelog", 0, 1042);
  brook_task_dir_checkpoint_set(d, "app-b-changelog", 0, 7);
  brook_task_dir_checkpoint_set(d, "app-a-changelog", 0, 1043); /* update in place */
  brook_task_dir_checkpoint_set(d, "app-a-changelog", 1, 0);
  char errstr[256];
  g_assert_cmpint(brook_task_dir_checkpoint_write(d, errstr, sizeof errstr), ==, 0);
  char *file = g_build_filename(brook_task_dir_path(d), ".checkpoint", NULL);
  char *tmpf = g_build_filename(brook_task_dir_path(d), ".checkpoint.tmp", NULL);
  char *text = NULL;
  g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
  /* Kafka Streams' OffsetCheckpoint: version, count, "topic partition offset" */
  g_assert_cmpstr(text, ==, "0\n3\napp-a-changelog 0 1043\napp-b-changelog 0 7\napp-a-changelog 1 0\n");
  g_free(text);
  g_assert_false(g_file_test(tmpf, G_FILE_TEST_EXISTS));
  brook_task_dir_close(d);

  d = tu_task_dir(env, "0_0");
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "app-a-changelog", 0), ==, 1043);
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "app-b-changelog", 0), ==, 7);
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "app-a-changelog", 1), ==, 0);
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "app-b-changelog", 1), ==, -1);
  /* forgetting an entry (offset -1) */
  brook_task_dir_checkpoint_set(d, "app-b-changelog", 0, -1);
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "app-b-changelog", 0), ==, -1);
  g_assert_cmpint(brook_task_dir_checkpoint_clear(d), ==, 0);
  g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "app-a-changelog", 0), ==, -1);
  brook_task_dir_close(d);

  /* a file written by Kafka Streams, with a negative (unknown) offset to skip */
  g_assert_true(g_file_set_contents(file, "0\n2\nt 0 5\nt 1 -2\n", -1, NULL));
  d = tu_task_dir(env, "0_0");
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "t", 0), ==, 5);
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "t", 1), ==, -1);
  brook_task_dir_close(d);

  brook_state_env_destroy(env);
  g_free(file);
  g_free(tmpf);
  tu_rmdir(tmp);
}

static void t_checkpoint_corrupt(void) {
  static const struct {
    const char *text;
    const char *why;
  } bad[] = {
      {"", "truncated"},
      {"0\n", "truncated"},
      {"1\n0\n", "version"},
      {"0\nx\n", "count"},
      {"0\n2\nt 0 5\n", "entries"},
      {"0\n1\nt 0\n", "malformed"},
      {"0\n1\nt zero 5\n", "malformed"},
      {"0\n1\nt 0 5 9\n", "malformed"},
      {"0\n1\nt 0 99999999999999999999\n", "malformed"},
      {"0\n1\nt 0 5\nextra 0 1\n", "entries"},
      {"0\n1\nt 0 5\0\n", "NUL"},
  };
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *d = tu_task_dir(env, "0_0");
  char *file = g_build_filename(brook_task_dir_path(d), ".checkpoint", NULL);
  brook_task_dir_close(d);
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    size_t len = strlen(bad[i].text);
    if (strcmp(bad[i].why, "NUL") == 0) len = 11;
    g_assert_true(g_file_set_contents(file, bad[i].text, (gssize)len, NULL));
    char errstr[512] = "";
    brook_task_dir_t *dd = (void *)1;
    brook_err_t err = brook_task_dir_open(env, "0_0", &dd, errstr, sizeof errstr);
    g_test_message("%s", errstr);
    g_assert_cmpint(err, ==, BROOK_ERR__CORRUPT);
    g_assert_null(dd);
    g_assert_nonnull(strstr(errstr, ".checkpoint"));
    g_assert_nonnull(strstr(errstr, bad[i].why));
  }
  /* removing the bad file is the way out: the next open works (and the lock was released) */
  g_unlink(file);
  d = tu_task_dir(env, "0_0");
  brook_task_dir_close(d);
  brook_state_env_destroy(env);
  g_free(file);
  tu_rmdir(tmp);
}

static void t_checkpoint_unwritable(void) {
  if (geteuid() == 0) {
    g_test_skip("root ignores directory permissions");
    return;
  }
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *d = tu_task_dir(env, "0_0");
  brook_task_dir_checkpoint_set(d, "t", 0, 1);
  g_assert_cmpint(chmod(brook_task_dir_path(d), 0555), ==, 0);
  char errstr[512] = "";
  g_assert_cmpint(brook_task_dir_checkpoint_write(d, errstr, sizeof errstr), ==, BROOK_ERR__IO);
  g_assert_nonnull(strstr(errstr, "checkpoint"));
  g_assert_cmpint(chmod(brook_task_dir_path(d), 0755), ==, 0);
  brook_task_dir_close(d);
  brook_state_env_destroy(env);
  tu_rmdir(tmp);
}

static void t_env_config(void) {
  char errstr[256];
  brook_state_env_conf_t conf = {.state_dir = "/tmp/x"};
  g_assert_null(brook_state_env_new(&conf, errstr, sizeof errstr));
  g_assert_nonnull(strstr(errstr, "application.id"));
  conf.application_id = "bad/app";
  g_assert_null(brook_state_env_new(&conf, errstr, sizeof errstr));
  conf.application_id = "..";
  g_assert_null(brook_state_env_new(&conf, errstr, sizeof errstr));
  conf.application_id = "ok-app_1.x";
  conf.rocksdb_total_memory_bytes = 1000;
  g_assert_null(brook_state_env_new(&conf, errstr, sizeof errstr));
  g_assert_nonnull(strstr(errstr, "rocksdb.total.memory.bytes"));
  conf.rocksdb_total_memory_bytes = 0;
  brook_state_env_t *env = brook_state_env_new(&conf, errstr, sizeof errstr);
  g_assert_nonnull(env);
  brook_state_env_destroy(env);
  brook_state_env_destroy(NULL);
  /* bad task ids */
  char *tmp = tu_tmpdir();
  env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *d = NULL;
  g_assert_cmpint(brook_task_dir_open(env, "../x", &d, errstr, sizeof errstr), ==, BROOK_ERR__BAD_CONFIG);
  g_assert_cmpint(brook_task_dir_open(env, "", &d, errstr, sizeof errstr), ==, BROOK_ERR__BAD_CONFIG);
  brook_task_dir_close(NULL);
  brook_state_env_destroy(env);
  tu_rmdir(tmp);
}

int main(int argc, char **argv) {
  const char *child = g_getenv("BROOK_STATE_CHILD");
  if (child) return child_main(child);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/state/task-dir/layout", t_layout);
  g_test_add_func("/state/task-dir/lock/same-process", t_lock_same_process);
  g_test_add_func("/state/task-dir/lock/other-process", t_lock_other_process);
  g_test_add_func("/state/task-dir/checkpoint/roundtrip", t_checkpoint_roundtrip);
  g_test_add_func("/state/task-dir/checkpoint/corrupt", t_checkpoint_corrupt);
  g_test_add_func("/state/task-dir/checkpoint/unwritable", t_checkpoint_unwritable);
  g_test_add_func("/state/task-dir/env-config", t_env_config);
  return g_test_run();
}
