/*
 * test-restart.c — stop and restart a word count: its state comes back and
 * the counts continue. The broker runs in-process on its own directory, so the
 * application's state directory can be kept (restart from the checkpoint: no
 * restore needed) or wiped (the store is rebuilt from its changelog).
 */
#include "brook_broker.h"
#include "wordcount_util.h"

typedef struct restore_totals {
  double restored;
} restore_totals_t;

static void on_metric(const char *group, const char *name, const char *tags, double value, void *opaque) {
  restore_totals_t *t = opaque;
  if (strcmp(name, "restore-total") == 0)
    t->restored += value;
}

/* One run of the app over lines [from, to): start, feed, wait, check the
 * output against `reference`, close. Returns the records restored. */
static double run_once(const char *bootstrap, const char *state_dir, GPtrArray *lines, guint from, guint to,
                       GHashTable *reference) {
  char errstr[512];
  brook_topology_t *topology = wordcount_topology("lines", "word-store", "counts-out");
  brook_app_conf_t *conf = brook_app_conf_new();
  conf_set_or_die(conf, "application.id", "restart-test");
  conf_set_or_die(conf, "bootstrap.servers", bootstrap);
  conf_set_or_die(conf, "state.dir", state_dir);
  conf_set_or_die(conf, "commit.interval.ms", "100");
  conf_set_or_die(conf, "consumer.session.timeout.ms", "6000");
  brook_app_t *app = brook_app_new(topology, conf, errstr, sizeof errstr);
  if (!app)
    g_error("brook_app_new: %s", errstr);
  brook_app_conf_destroy(conf);
  brook_topology_unref(topology);
  g_assert_cmpstr(brook_app_bootstrap_servers(app), ==, bootstrap);
  if (brook_app_start(app, errstr, sizeof errstr))
    g_error("start: %s", errstr);
  produce_lines(bootstrap, "lines", lines, from, to);
  if (brook_app_wait_idle(app, 120000, errstr, sizeof errstr))
    g_error("wait_idle: %s", errstr);

  latest_t out;
  latest_init(&out);
  read_counts(bootstrap, "counts-out", &out);
  assert_counts_equal(reference, &out);
  latest_clear(&out);

  restore_totals_t totals = {0};
  brook_app_metrics(app, on_metric, &totals);
  brook_app_close(app);
  brook_app_destroy(app);
  return totals.restored;
}

static void test_restart(void) {
  char errstr[512];
  char *broker_dir = g_dir_make_tmp("brook-restart-broker-XXXXXX", NULL);
  char *state_dir = g_dir_make_tmp("brook-restart-state-XXXXXX", NULL);
  brook_broker_conf_t *bconf = brook_broker_conf_new();
  g_assert_cmpint(brook_broker_conf_set(bconf, "listeners", "PLAINTEXT://127.0.0.1:0", errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(brook_broker_conf_set(bconf, "log.dirs", broker_dir, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(brook_broker_conf_set(bconf, "group.initial.rebalance.delay.ms", "0", errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(brook_broker_conf_set(bconf, "offsets.topic.num.partitions", "1", errstr, sizeof errstr), ==, 0);
  brook_broker_t *broker = brook_broker_start(bconf, errstr, sizeof errstr);
  if (!broker)
    g_error("broker: %s", errstr);
  brook_broker_conf_destroy(bconf);
  char *bootstrap = g_strdup(brook_broker_bootstrap(broker));
  if (brook_admin_create_topic(bootstrap, "lines", 3, NULL, false, errstr, sizeof errstr))
    g_error("create: %s", errstr);

  /* one corpus, fed in three parts; the reference grows with each part */
  GHashTable *all = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *lines = corpus_make(7, 1500, 150, all);
  GHashTable *reference = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  guint part = lines->len / 3;
  for (guint i = 0; i < 3 * part; i++) {
    /* count this part's words into the running reference */
    char **words = g_strsplit(lines->pdata[i], " ", -1);
    for (char **w = words; *w; w++) {
      if (!**w)
        continue;
      char *lower = g_ascii_strdown(*w, -1);
      gpointer old = g_hash_table_lookup(reference, lower);
      g_hash_table_insert(reference, lower, GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
    }
    g_strfreev(words);
    if (i + 1 == part) {
      /* first run: empty state */
      g_assert_cmpfloat(run_once(bootstrap, state_dir, lines, 0, part, reference), ==, 0);
    } else if (i + 1 == 2 * part) {
      /* clean restart on the same state directory: the checkpoint says the
       * stores are current, nothing is read back from the changelog */
      g_assert_cmpfloat(run_once(bootstrap, state_dir, lines, part, 2 * part, reference), ==, 0);
    } else if (i + 1 == 3 * part) {
      /* the state directory is lost: the store is rebuilt from its changelog,
       * and the counts continue from where they were */
      rm_rf(state_dir);
      g_assert_cmpint(g_mkdir_with_parents(state_dir, 0700), ==, 0);
      double restored = run_once(bootstrap, state_dir, lines, 2 * part, 3 * part, reference);
      g_assert_cmpfloat(restored, >, 0);
    }
  }

  brook_broker_stop(broker);
  g_free(bootstrap);
  rm_rf(state_dir);
  rm_rf(broker_dir);
  g_free(state_dir);
  g_free(broker_dir);
  g_ptr_array_unref(lines);
  g_hash_table_destroy(reference);
  g_hash_table_destroy(all);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dsl/restart/checkpoint-and-changelog", test_restart);
  return g_test_run();
}
