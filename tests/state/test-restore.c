/*
 * test-restore.c — changelog, restore and checkpoints: a store rebuilt from its
 * changelog equals the original; progress reports; a clean close with a
 * checkpoint resumes from it; an unclean one (no checkpoint) wipes and restores
 * from 0; and the crash tests: a child process writes, checkpoints, writes more
 * and SIGKILLs itself, the parent restores from the checkpoint with the
 * changelog records the child left in a file and gets exactly the expected map.
 */
#include <signal.h>
#include <sys/wait.h>

#include "state_test_util.h"

#define S(x) (x), strlen(x)

static brook_kv_store_t *open_kv(brook_state_env_t *env, brook_task_dir_t *dir, const char *name,
                                 bool in_memory, bool cached, unsigned flags, tu_sink_t *sink) {
  brook_store_opts_t opts = {.name = name,
                             .in_memory = in_memory,
                             .logged = true,
                             .cached = cached,
                             .partition = 0,
                             .sink = tu_sink(sink)};
  brook_kv_store_t *s = NULL;
  char errstr[512];
  brook_err_t err = brook_kv_store_open(env, dir, &opts, flags, &s, errstr, sizeof errstr);
  if (err) g_error("open %s: %s", name, errstr);
  return s;
}

/* n random puts/deletes over a small key space, deterministic for a seed. */
static void random_writes(brook_kv_store_t *s, guint32 seed, int n) {
  GRand *rng = g_rand_new_with_seed(seed);
  for (int i = 0; i < n; i++) {
    char k[16], v[64];
    g_snprintf(k, sizeof k, "key-%04d", g_rand_int_range(rng, 0, 500));
    if (g_rand_int_range(rng, 0, 5) == 0) {
      g_assert_cmpint(brook_kv_store_delete(s, S(k), i, NULL, NULL), ==, 0);
    } else {
      g_snprintf(v, sizeof v, "value-%u-%d", seed, i);
      g_assert_cmpint(brook_kv_store_put(s, S(k), S(v), 1000 + i), ==, 0);
    }
  }
  g_rand_free(rng);
}

static void reproduces(bool src_memory, bool dst_memory, unsigned flags, bool cached) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 1 << 20, 0);
  brook_task_dir_t *d1 = tu_task_dir(env, "0_0"), *d2 = tu_task_dir(env, "0_1");
  tu_sink_t sink, sink2;
  tu_sink_init(&sink);
  tu_sink_init(&sink2);
  brook_kv_store_t *a = open_kv(env, d1, "agg", src_memory, cached, flags, &sink);
  for (int round = 0; round < 5; round++) {
    random_writes(a, (guint32)round, 2000);
    g_assert_cmpint(brook_kv_store_flush(a), ==, 0);
  }
  brook_kv_store_t *b = open_kv(env, d2, "agg", dst_memory, cached, flags, &sink2);
  g_assert_cmpint(brook_kv_store_restore_start(b), ==, 0);
  tu_restore(b, sink.recs, 0, 97);
  g_assert_cmpint(brook_kv_store_offset(b), ==, (int64_t)sink.recs->len);
  g_assert_cmpuint(sink2.recs->len, ==, 0); /* restore never writes the changelog */
  /* compare a and b entry by entry, timestamps included */
  brook_kv_iter_t *ia = brook_kv_store_all(a, false), *ib = brook_kv_store_all(b, false);
  const void *ka, *va, *kb, *vb;
  size_t kal, val, kbl, vbl;
  int64_t ta, tb;
  guint n = 0;
  while (brook_kv_iter_next(ia, &ka, &kal, &va, &val, &ta)) {
    g_assert_true(brook_kv_iter_next(ib, &kb, &kbl, &vb, &vbl, &tb));
    g_assert_cmpmem(ka, kal, kb, kbl);
    g_assert_cmpmem(va, val, vb, vbl);
    g_assert_cmpint(ta, ==, tb);
    n++;
  }
  g_assert_false(brook_kv_iter_next(ib, &kb, &kbl, &vb, &vbl, &tb));
  brook_kv_iter_destroy(ia);
  brook_kv_iter_destroy(ib);
  g_assert_cmpuint(n, >, 300);
  GTree *m = tu_model_from(sink.recs);
  g_assert_cmpuint(n, ==, (guint)g_tree_nnodes(m));
  g_tree_destroy(m);
  brook_kv_store_close(a);
  brook_kv_store_close(b);
  brook_task_dir_close(d1);
  brook_task_dir_close(d2);
  brook_state_env_destroy(env);
  tu_sink_clear(&sink);
  tu_sink_clear(&sink2);
  tu_rmdir(tmp);
}

static void t_reproduces_rocksdb(void) { reproduces(false, false, 0, false); }
static void t_reproduces_memory(void) { reproduces(true, true, 0, false); }
static void t_reproduces_cross(void) { reproduces(true, false, 0, false); }
static void t_reproduces_ts(void) { reproduces(false, false, BROOK_KV_TIMESTAMPED, false); }
static void t_reproduces_cached(void) { reproduces(false, true, BROOK_KV_TIMESTAMPED, true); }

static void t_progress(void) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *d = tu_task_dir(env, "0_0");
  tu_sink_t sink;
  tu_sink_init(&sink);
  brook_kv_store_t *s = open_kv(env, d, "p", false, false, 0, &sink);
  brook_restore_progress_t p;
  brook_kv_store_restore_progress(s, &p);
  g_assert_cmpuint(p.records_restored, ==, 0);
  brook_changelog_record_t recs[100];
  char keys[100][8];
  for (int i = 0; i < 100; i++) {
    g_snprintf(keys[i], sizeof keys[i], "k%03d", i);
    recs[i] = (brook_changelog_record_t){keys[i], 4, "v", 1, 0, 1000 + i}; /* the changelog starts at 1000 */
  }
  g_assert_cmpint(brook_kv_store_restore(s, recs, 60, 1100, &p), ==, 0);
  g_assert_cmpuint(p.records_restored, ==, 60);
  g_assert_cmpint(p.remaining, ==, 40);
  g_assert_cmpint(brook_kv_store_offset(s), ==, 1060);
  g_assert_cmpint(brook_kv_store_restore(s, recs + 60, 40, 1100, &p), ==, 0);
  g_assert_cmpuint(p.records_restored, ==, 100);
  g_assert_cmpint(p.remaining, ==, 0);
  g_assert_cmpfloat(p.records_per_sec, >, 0);
  g_assert_cmpint(brook_kv_store_restore(s, NULL, 0, -1, &p), ==, 0); /* unknown end */
  g_assert_cmpint(p.remaining, ==, -1);
  g_assert_cmpint(brook_kv_store_offset(s), ==, 1100);
  /* flush after restore puts the offset into the checkpoint */
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "app-p-changelog", 0), ==, 1100);
  brook_kv_store_close(s);
  brook_task_dir_close(d);
  brook_state_env_destroy(env);
  tu_sink_clear(&sink);
  tu_rmdir(tmp);
}

/* Clean run: flush, offset, checkpoint; reopen resumes from the checkpoint. */
static void t_checkpoint_resume(void) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *d = tu_task_dir(env, "0_0");
  tu_sink_t sink;
  tu_sink_init(&sink);
  brook_kv_store_t *s = open_kv(env, d, "c", false, false, 0, &sink);
  g_assert_cmpint(brook_kv_store_restore_start(s), ==, 0);
  random_writes(s, 7, 1000);
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  brook_kv_store_set_offset(s, sink.next_offset); /* the producer acked everything */
  char errstr[256];
  g_assert_cmpint(brook_task_dir_checkpoint_write(d, errstr, sizeof errstr), ==, 0);
  brook_kv_store_close(s);
  brook_task_dir_close(d);

  d = tu_task_dir(env, "0_0");
  s = open_kv(env, d, "c", false, false, 0, &sink);
  g_assert_false(brook_kv_store_was_wiped(s));
  g_assert_cmpint(brook_kv_store_restore_start(s), ==, 1000);
  g_assert_cmpint(brook_kv_store_offset(s), ==, 1000);
  GTree *m = tu_model_from(sink.recs);
  tu_assert_store_equals(s, m);
  g_tree_destroy(m);
  brook_kv_store_close(s);
  brook_task_dir_close(d);
  brook_state_env_destroy(env);
  tu_sink_clear(&sink);
  tu_rmdir(tmp);
}

/* No checkpoint entry: the local store cannot be trusted; it is wiped. And a
 * checkpoint entry whose store files are gone restores from 0 too. */
static void t_unclean_wipes(void) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *d = tu_task_dir(env, "0_0");
  tu_sink_t sink;
  tu_sink_init(&sink);
  brook_kv_store_t *s = open_kv(env, d, "w", false, false, 0, &sink);
  random_writes(s, 9, 500);
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  brook_kv_store_close(s);
  brook_task_dir_close(d); /* no checkpoint file written: as after a crash */
  d = tu_task_dir(env, "0_0");
  s = open_kv(env, d, "w", false, false, 0, &sink);
  g_assert_true(brook_kv_store_was_wiped(s));
  g_assert_cmpint(brook_kv_store_restore_start(s), ==, 0);
  g_assert_cmpuint(brook_kv_store_approximate_count(s), ==, 0);
  const void *k, *v;
  size_t kl, vl;
  brook_kv_iter_t *it = brook_kv_store_all(s, false);
  g_assert_false(brook_kv_iter_next(it, &k, &kl, &v, &vl, NULL));
  brook_kv_iter_destroy(it);
  tu_restore(s, sink.recs, 0, 1000);
  GTree *m = tu_model_from(sink.recs);
  tu_assert_store_equals(s, m);
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  char errstr[256];
  g_assert_cmpint(brook_task_dir_checkpoint_write(d, errstr, sizeof errstr), ==, 0);
  brook_kv_store_close(s);
  /* checkpoint present but the store's files deleted */
  char *path = g_build_filename(brook_task_dir_path(d), "rocksdb", "w", NULL);
  tu_rmdir(path);
  s = open_kv(env, d, "w", false, false, 0, &sink);
  g_assert_cmpint(brook_kv_store_restore_start(s), ==, 0);
  g_assert_cmpint(brook_task_dir_checkpoint_get(d, "app-w-changelog", 0), ==, -1); /* stale entry dropped */
  brook_kv_store_close(s);
  /* in-memory stores always start from 0; unlogged ones never restore */
  s = open_kv(env, d, "mem", true, false, 0, &sink);
  g_assert_cmpint(brook_kv_store_restore_start(s), ==, 0);
  brook_kv_store_close(s);
  brook_store_opts_t unlogged = {.name = "local"};
  g_assert_cmpint(brook_kv_store_open(env, d, &unlogged, 0, &s, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(brook_kv_store_restore_start(s), ==, -1);
  g_assert_cmpint(brook_kv_store_offset(s), ==, -1);
  brook_kv_store_close(s);
  g_tree_destroy(m);
  brook_task_dir_close(d);
  brook_state_env_destroy(env);
  tu_sink_clear(&sink);
  tu_rmdir(tmp);
}

/* ---- crash tests ---- */

#define N_BEFORE 6000
#define N_AFTER 4000

/* Child process (this binary re-executed with BROOK_STATE_CHILD=<mode>:<dir>):
 * opens the store, mirrors every changelog record to <dir>/changelog.bin as it
 * is handed to the sink, writes N_BEFORE records, flushes, and in mode "ckpt"
 * checkpoints; then writes N_AFTER more and SIGKILLs itself: no close, no
 * flush, no destructor runs. */
static int child_main(const char *spec) {
  bool ckpt = g_str_has_prefix(spec, "ckpt:");
  const char *tmp = strchr(spec, ':') + 1;
  brook_state_env_t *env = tu_env(tmp, "app", 16 << 10, 0);
  brook_task_dir_t *d = tu_task_dir(env, "0_0");
  tu_sink_t sink;
  tu_sink_init(&sink);
  char *file = g_build_filename(tmp, "changelog.bin", NULL);
  sink.mirror_fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (sink.mirror_fd < 0) return 2;
  brook_kv_store_t *s = open_kv(env, d, "crash", false, true, 0, &sink);
  random_writes(s, 1, N_BEFORE);
  if (brook_kv_store_flush(s)) return 3;
  if (ckpt) {
    brook_kv_store_set_offset(s, sink.next_offset);
    char errstr[256];
    if (brook_task_dir_checkpoint_write(d, errstr, sizeof errstr)) return 4;
  }
  /* more processing: cache evictions hand records to the changelog and write
   * them to the WAL-less memtable; the last ones stay in the cache */
  random_writes(s, 2, N_AFTER);
  kill(getpid(), SIGKILL);
  return 5;
}

static void crash(const char *mode) {
  char *tmp = tu_tmpdir();
  char *self = g_file_read_link("/proc/self/exe", NULL);
  char *spec = g_strdup_printf("%s:%s", mode, tmp);
  char **envp = g_environ_setenv(g_get_environ(), "BROOK_STATE_CHILD", spec, TRUE);
  char *argv[] = {self, NULL};
  GPid pid = 0;
  GError *gerr = NULL;
  g_assert_true(g_spawn_async(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &gerr));
  g_assert_no_error(gerr);
  int status = 0;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  if (WIFEXITED(status)) g_error("child exited with %d instead of dying", WEXITSTATUS(status));
  g_assert_true(WIFSIGNALED(status));
  g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);

  char *file = g_build_filename(tmp, "changelog.bin", NULL);
  GPtrArray *recs = tu_recs_read(file);
  g_test_message("child left %u changelog records", recs->len);
  g_assert_cmpuint(recs->len, >, 1000);
  GTree *want = tu_model_from(recs);

  brook_state_env_t *env = tu_env(tmp, "app", 16 << 10, 0);
  brook_task_dir_t *d = tu_task_dir(env, "0_0"); /* the dead child's lock is gone */
  tu_sink_t sink;
  tu_sink_init(&sink);
  brook_kv_store_t *s = open_kv(env, d, "crash", false, true, 0, &sink);
  int64_t start = brook_kv_store_restore_start(s);
  if (strcmp(mode, "ckpt") == 0) {
    /* the checkpoint covers exactly what was handed to the sink before it */
    g_assert_false(brook_kv_store_was_wiped(s));
    g_assert_cmpint(start, >, 0);
    g_assert_cmpint(start, <, (int64_t)recs->len);
    /* the checkpointed part is on disk: the store equals the records before it */
    GPtrArray *before = g_ptr_array_new();
    for (guint i = 0; i < recs->len && ((tu_rec_t *)recs->pdata[i])->offset < start; i++)
      g_ptr_array_add(before, recs->pdata[i]);
    GTree *m0 = tu_model_from(before);
    tu_assert_store_equals(s, m0);
    g_tree_destroy(m0);
    g_ptr_array_free(before, TRUE);
  } else {
    g_assert_true(brook_kv_store_was_wiped(s));
    g_assert_cmpint(start, ==, 0);
  }
  tu_restore(s, recs, start, 500);
  tu_assert_store_equals(s, want);
  /* and it survives a clean close/reopen after a checkpoint */
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  char errstr[256];
  g_assert_cmpint(brook_task_dir_checkpoint_write(d, errstr, sizeof errstr), ==, 0);
  brook_kv_store_close(s);
  s = open_kv(env, d, "crash", false, true, 0, &sink);
  g_assert_cmpint(brook_kv_store_restore_start(s), ==, (int64_t)recs->len);
  tu_assert_store_equals(s, want);
  brook_kv_store_close(s);

  g_tree_destroy(want);
  g_ptr_array_free(recs, TRUE);
  brook_task_dir_close(d);
  brook_state_env_destroy(env);
  tu_sink_clear(&sink);
  g_free(file);
  g_strfreev(envp);
  g_free(spec);
  g_free(self);
  tu_rmdir(tmp);
}

static void t_crash_after_checkpoint(void) { crash("ckpt"); }
static void t_crash_without_checkpoint(void) { crash("nockpt"); }

int main(int argc, char **argv) {
  const char *child = g_getenv("BROOK_STATE_CHILD");
  if (child) return child_main(child);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/state/restore/reproduces/rocksdb", t_reproduces_rocksdb);
  g_test_add_func("/state/restore/reproduces/memory", t_reproduces_memory);
  g_test_add_func("/state/restore/reproduces/memory-to-rocksdb", t_reproduces_cross);
  g_test_add_func("/state/restore/reproduces/timestamped", t_reproduces_ts);
  g_test_add_func("/state/restore/reproduces/cached-ts-to-memory", t_reproduces_cached);
  g_test_add_func("/state/restore/progress", t_progress);
  g_test_add_func("/state/restore/checkpoint-resume", t_checkpoint_resume);
  g_test_add_func("/state/restore/unclean-wipes", t_unclean_wipes);
  g_test_add_func("/state/restore/crash/after-checkpoint", t_crash_after_checkpoint);
  g_test_add_func("/state/restore/crash/without-checkpoint", t_crash_without_checkpoint);
  return g_test_run();
}
