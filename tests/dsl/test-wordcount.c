/*
 * test-wordcount.c — the word count of a generated corpus, run for real: the
 * embedded broker, a repartition topic between the two sub-topologies,
 * RocksDB stores with changelogs, one or two stream threads. The result must
 * equal the reference counts computed while generating the corpus.
 */
#include "wordcount_util.h"

typedef struct thread_totals {
  GHashTable *by_thread; /* tags -> process-total */
} thread_totals_t;

static void on_metric(const char *group, const char *name, const char *tags, double value, void *opaque) {
  thread_totals_t *t = opaque;
  if (strcmp(group, "stream-thread-metrics") == 0 && strcmp(name, "process-total") == 0) {
    double *v = g_new(double, 1);
    *v = value;
    g_hash_table_insert(t->by_thread, g_strdup(tags), v);
  }
}

/* Waiting for RUNNING through the state listener. */
typedef struct state_wait {
  GMutex lock;
  GCond cond;
  brook_app_state_t state;
} state_wait_t;

static void on_state(brook_app_state_t new_state, brook_app_state_t old_state, void *opaque) {
  state_wait_t *w = opaque;
  g_mutex_lock(&w->lock);
  w->state = new_state;
  g_cond_broadcast(&w->cond);
  g_mutex_unlock(&w->lock);
}

static void wait_running(state_wait_t *w) {
  gint64 deadline = g_get_monotonic_time() + 60 * G_TIME_SPAN_SECOND;
  g_mutex_lock(&w->lock);
  while (w->state != BROOK_APP_RUNNING)
    if (!g_cond_wait_until(&w->cond, &w->lock, deadline))
      g_error("the app did not reach RUNNING in 60 s");
  g_mutex_unlock(&w->lock);
}

static void run_wordcount(int threads) {
  char errstr[512];
  GHashTable *reference = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *lines = corpus_make(42, 3000, 400, reference);
  char *state_dir = g_dir_make_tmp("brook-wc-XXXXXX", NULL);
  const char *app_id = threads == 1 ? "wc-one" : "wc-two";

  brook_topology_t *topology = wordcount_topology("text-lines", "counts", "word-counts");
  brook_app_conf_t *conf = brook_app_conf_new();
  conf_set_or_die(conf, "application.id", app_id);
  conf_set_or_die(conf, "state.dir", state_dir);
  conf_set_or_die(conf, "commit.interval.ms", "100");
  char nthreads[8];
  g_snprintf(nthreads, sizeof nthreads, "%d", threads);
  conf_set_or_die(conf, "num.stream.threads", nthreads);
  brook_app_t *app = brook_app_new(topology, conf, errstr, sizeof errstr);
  if (!app)
    g_error("brook_app_new: %s", errstr);
  brook_app_conf_destroy(conf);
  brook_topology_unref(topology); /* the app holds its own reference */
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_CREATED);

  /* no bootstrap.servers: the embedded broker is up already */
  const char *bootstrap = brook_app_bootstrap_servers(app);
  g_assert_nonnull(bootstrap);
  g_assert_true(g_str_has_prefix(bootstrap, "127.0.0.1:"));
  if (brook_admin_create_topic(bootstrap, "text-lines", 4, NULL, false, errstr, sizeof errstr))
    g_error("create: %s", errstr);
  produce_lines(bootstrap, "text-lines", lines, 0, lines->len / 2);

  state_wait_t sw = {.state = BROOK_APP_CREATED};
  g_mutex_init(&sw.lock);
  g_cond_init(&sw.cond);
  brook_app_set_state_listener(app, on_state, &sw);
  if (brook_app_start(app, errstr, sizeof errstr))
    g_error("start: %s", errstr);
  /* half the input before start, half once every thread has its tasks (so
   * that with two threads both get records to process) */
  wait_running(&sw);
  produce_lines(bootstrap, "text-lines", lines, lines->len / 2, lines->len);
  if (brook_app_wait_idle(app, 120000, errstr, sizeof errstr))
    g_error("wait_idle: %s", errstr);
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_RUNNING);

  /* internal topics: named after application.id and the store, as many
   * partitions as the input */
  char *repartition = g_strdup_printf("%s-counts-repartition", app_id);
  char *changelog = g_strdup_printf("%s-counts-changelog", app_id);
  g_assert_cmpint(brook_admin_partition_count(bootstrap, repartition, errstr, sizeof errstr), ==, 4);
  g_assert_cmpint(brook_admin_partition_count(bootstrap, changelog, errstr, sizeof errstr), ==, 4);

  latest_t out;
  latest_init(&out);
  read_counts(bootstrap, "word-counts", &out);
  assert_counts_equal(reference, &out);
  latest_clear(&out);

  /* the changelog holds the same final state */
  latest_t cl;
  latest_init(&cl);
  read_counts(bootstrap, changelog, &cl);
  assert_counts_equal(reference, &cl);
  latest_clear(&cl);

  thread_totals_t totals = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free)};
  brook_app_metrics(app, on_metric, &totals);
  g_assert_cmpuint(g_hash_table_size(totals.by_thread), ==, (guint)threads);
  GHashTableIter it;
  gpointer k, v;
  double sum = 0;
  g_hash_table_iter_init(&it, totals.by_thread);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    /* with two threads, both got tasks and did work */
    if (*(double *)v <= 0)
      g_error("thread %s processed nothing", (char *)k);
    sum += *(double *)v;
  }
  /* every line once through sub-topology 0, every word once through sub-topology 1 */
  guint words = 0;
  g_hash_table_iter_init(&it, reference);
  while (g_hash_table_iter_next(&it, &k, &v))
    words += (guint)GPOINTER_TO_INT(v);
  g_assert_cmpfloat(sum, ==, (double)(lines->len + words));
  g_hash_table_destroy(totals.by_thread);

  brook_app_close(app);
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_NOT_RUNNING);
  brook_app_destroy(app);
  g_mutex_clear(&sw.lock);
  g_cond_clear(&sw.cond);

  g_free(repartition);
  g_free(changelog);
  rm_rf(state_dir);
  g_free(state_dir);
  g_ptr_array_unref(lines);
  g_hash_table_destroy(reference);
}

static void test_one_thread(void) {
  run_wordcount(1);
}

static void test_two_threads(void) {
  run_wordcount(2);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dsl/wordcount/one-thread", test_one_thread);
  g_test_add_func("/dsl/wordcount/two-threads", test_two_threads);
  return g_test_run();
}
