/*
 * test-runtime.c — the streams runtime end to end (app.c, thread.c): real
 * embedded broker (the app starts it: no bootstrap.servers), real RocksDB
 * stores, real librdkafka clients, hand-built topologies (processor API).
 * Synchronisation is brook_app_wait_idle / app_wait_running /
 * app_wait_wall_clock, never sleeps.
 *
 * BROOK_TEST_LOG=7 prints the library's log lines up to that level.
 */
#include <ctype.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "brook_client.h"
#include "brook_kv_store.h"
#include "brook_streams.h"
#include "streams_int.h"

#define IDLE_MS 30000

/* ------------------------------------------------------------ helpers */

static void rm_rf(const char *path) {
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

static void test_log(int level, const char *ctx, const char *msg, void *opaque) {
  (void)opaque;
  const char *env = g_getenv("BROOK_TEST_LOG");
  if (env && level <= atoi(env)) g_printerr("[%d] %s: %s\n", level, ctx, msg);
}

static void conf_set(brook_app_conf_t *conf, const char *name, const char *value) {
  char errstr[512];
  if (brook_app_conf_set(conf, name, value, errstr, sizeof errstr)) g_error("conf %s=%s: %s", name, value, errstr);
}

static brook_app_conf_t *mkconf(const char *app_id, const char *state_dir, int threads) {
  brook_app_conf_t *conf = brook_app_conf_new();
  char n[16];
  g_snprintf(n, sizeof n, "%d", threads);
  conf_set(conf, "application.id", app_id);
  conf_set(conf, "state.dir", state_dir);
  conf_set(conf, "num.stream.threads", n);
  conf_set(conf, "commit.interval.ms", "100");
  conf_set(conf, "consumer.session.timeout.ms", "6000");
  conf_set(conf, "consumer.heartbeat.interval.ms", "500");
  conf_set(conf, "consumer.fetch.wait.max.ms", "50");
  brook_app_conf_set_log_cb(conf, test_log, NULL);
  return conf;
}

static brook_app_t *mkapp(brook_topology_t *topo, const char *app_id, const char *state_dir, int threads) {
  char errstr[512];
  brook_app_conf_t *conf = mkconf(app_id, state_dir, threads);
  brook_app_t *app = brook_app_new(topo, conf, errstr, sizeof errstr);
  brook_app_conf_destroy(conf);
  if (!app) g_error("brook_app_new: %s", errstr);
  return app;
}

static void create_topic(brook_app_t *app, const char *topic, int32_t partitions) {
  char errstr[512];
  brook_err_t err = brook_admin_create_topic(brook_app_bootstrap_servers(app), topic, partitions, NULL, true, errstr,
                                             sizeof errstr);
  if (err) g_error("create %s: %s", topic, errstr);
}

static void start_and_wait_idle(brook_app_t *app) {
  char errstr[512];
  brook_err_t err = brook_app_start(app, errstr, sizeof errstr);
  if (err) g_error("start: %s", errstr);
  err = brook_app_wait_idle(app, IDLE_MS, errstr, sizeof errstr);
  if (err) g_error("wait_idle: %s", errstr);
}

static void wait_idle(brook_app_t *app) {
  char errstr[512];
  brook_err_t err = brook_app_wait_idle(app, IDLE_MS, errstr, sizeof errstr);
  if (err) g_error("wait_idle: %s", errstr);
}

/* Produces string key/value records. */
static void produce_strings(brook_app_t *app, const char *topic, const char *const *kv, size_t n) {
  char errstr[512];
  brook_serde_t *s = brook_serde_string_new();
  brook_producer_t *p = brook_producer_new(brook_app_bootstrap_servers(app), errstr, sizeof errstr);
  g_assert_nonnull(p);
  for (size_t i = 0; i < n; i++)
    g_assert_cmpint(brook_producer_send(p, topic, -1, s, kv[2 * i], s, kv[2 * i + 1], -1, errstr,
                                        sizeof errstr), ==, 0);
  if (brook_producer_flush(p, 10000, errstr, sizeof errstr)) g_error("flush: %s", errstr);
  brook_producer_destroy(p);
  brook_serde_unref(s);
}

typedef struct read_rec {
  char *key;
  char *value; /* strings, or an i64 printed */
  int32_t partition;
} read_rec_t;

typedef struct read_ctx {
  GArray *recs;
  bool i64;
} read_ctx_t;

static void on_read(const brook_read_record_t *r, void *opaque) {
  read_ctx_t *rc = opaque;
  read_rec_t rec = {g_strdup(r->rec->key), NULL, r->partition};
  if (rc->i64) rec.value = r->rec->value ? g_strdup_printf("%" G_GINT64_FORMAT, *(const int64_t *)r->rec->value) : NULL;
  else rec.value = g_strdup(r->rec->value);
  g_array_append_val(rc->recs, rec);
}

static void read_recs_free(GArray *recs) {
  for (guint i = 0; i < recs->len; i++) {
    g_free(g_array_index(recs, read_rec_t, i).key);
    g_free(g_array_index(recs, read_rec_t, i).value);
  }
  g_array_free(recs, TRUE);
}

/* Every record of `topic` from the beginning. (transfer full: read_recs_free) */
static GArray *read_all(brook_app_t *app, const char *topic, bool i64_values) {
  char errstr[512];
  brook_serde_t *s = brook_serde_string_new();
  brook_serde_t *v = i64_values ? brook_serde_i64_new() : brook_serde_string_new();
  brook_reader_t *r = brook_reader_new(brook_app_bootstrap_servers(app), topic, s, v, errstr, sizeof errstr);
  if (!r) g_error("reader %s: %s", topic, errstr);
  read_ctx_t rc = {g_array_new(FALSE, FALSE, sizeof(read_rec_t)), i64_values};
  if (brook_reader_read(r, on_read, &rc, 10000, errstr, sizeof errstr) < 0) g_error("read %s: %s", topic, errstr);
  brook_reader_destroy(r);
  brook_serde_unref(s);
  brook_serde_unref(v);
  return rc.recs;
}

/* The last value per key. (transfer full) */
static GHashTable *last_values(GArray *recs) {
  GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < recs->len; i++) {
    read_rec_t *r = &g_array_index(recs, read_rec_t, i);
    g_hash_table_replace(h, g_strdup(r->key), g_strdup(r->value));
  }
  return h;
}

typedef struct metric_sum {
  const char *group;
  const char *name;
  const char *tag_has; /* NULL or a substring the tags must contain */
  double sum;
  int count;
} metric_sum_t;

static void on_metric(const char *group, const char *name, const char *tags, double value, void *opaque) {
  metric_sum_t *m = opaque;
  if (strcmp(group, m->group) == 0 && strcmp(name, m->name) == 0 && (!m->tag_has || strstr(tags, m->tag_has))) {
    m->sum += value;
    m->count++;
  }
}

static double metric(brook_app_t *app, const char *group, const char *name, const char *tag_has) {
  metric_sum_t m = {group, name, tag_has, 0, 0};
  brook_app_metrics(app, on_metric, &m);
  return m.sum;
}

/* A bare librdkafka handle for watermark queries. (transfer full) */
static rd_kafka_t *watermark_client(brook_app_t *app) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  g_assert_cmpint(rd_kafka_conf_set(conf, "bootstrap.servers", brook_app_bootstrap_servers(app), errstr, sizeof errstr),
                  ==, RD_KAFKA_CONF_OK);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  g_assert_nonnull(rk);
  return rk;
}

static char *tmpdir(void) {
  char *d = g_dir_make_tmp("brook-runtime-XXXXXX", NULL);
  g_assert_nonnull(d);
  return d;
}

/* ------------------------------------------------------------ processors */

static void upper_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  (void)state;
  brook_record_t out = *rec;
  if (rec->value) {
    char *v = brook_scratch_strdup(rec->value);
    for (char *p = v; *p; p++) *p = (char)toupper((unsigned char)*p);
    out.value = v;
  }
  brook_ctx_forward(ctx, &out);
}

static brook_err_t count_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                              size_t errstr_size) {
  (void)opaque;
  *statep = brook_ctx_kv_store(ctx, "counts");
  if (!*statep) {
    g_snprintf(errstr, errstr_size, "no store");
    return BROOK_ERR__FAIL;
  }
  return BROOK_ERR_NONE;
}

static void count_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  brook_kv_store_t *store = state;
  const char *key = rec->key;
  const void *val;
  size_t len;
  int64_t count = 0;
  if (brook_kv_store_get(store, key, strlen(key), &val, &len, NULL) == BROOK_ERR_NONE) {
    g_assert_cmpuint(len, ==, 8);
    int64_t be;
    memcpy(&be, val, sizeof be); /* store values are bytes: no alignment */
    count = (int64_t)GINT64_FROM_BE(be);
  }
  count++;
  int64_t be = GINT64_TO_BE(count);
  brook_err_t err = brook_kv_store_put(store, key, strlen(key), &be, sizeof be, rec->timestamp);
  if (err) {
    brook_ctx_fail(ctx, err, "put: %s", brook_kv_store_errstr(store));
    return;
  }
  brook_record_t out = *rec;
  out.value = brook_scratch_i64(count);
  brook_ctx_forward(ctx, &out);
}

/* new key = the value's first character, value kept */
static void rekey_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  (void)state;
  brook_record_t out = *rec;
  out.key = brook_scratch_strndup(rec->value, 1);
  brook_ctx_forward(ctx, &out);
}

static void poison_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  (void)state;
  if (rec->value && strcmp(rec->value, "poison") == 0) {
    brook_ctx_fail(ctx, BROOK_ERR__FAIL, "poisoned record with key %s", (const char *)rec->key);
    return;
  }
  brook_ctx_forward(ctx, rec);
}

static void tick_punctuate(brook_processor_context_t *ctx, void *state, int64_t timestamp) {
  (void)state;
  brook_record_t out = {0};
  out.key = "tick";
  out.value = brook_scratch_printf("%" G_GINT64_FORMAT, timestamp);
  out.timestamp = timestamp;
  brook_ctx_forward(ctx, &out);
}

static brook_err_t tick_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                             size_t errstr_size) {
  (void)opaque, (void)statep, (void)errstr, (void)errstr_size;
  brook_ctx_schedule(ctx, 1000, BROOK_PUNCTUATE_WALL_CLOCK, tick_punctuate, NULL);
  return BROOK_ERR_NONE;
}

static void forward_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  (void)state;
  brook_ctx_forward(ctx, rec);
}

/* ------------------------------------------------------------ topologies */

static void must(brook_err_t err, const char *errstr) {
  if (err) g_error("topology: %s", errstr);
}

/* source(in) -> processor(fn, with store "counts" when counting) -> sink(out) */
static brook_topology_t *simple_topology(const char *in, const char *out,
                                         void (*fn)(brook_processor_context_t *, void *, const brook_record_t *),
                                         bool counting) {
  char errstr[512];
  brook_serde_t *s = brook_serde_string_new();
  brook_serde_t *l = brook_serde_i64_new();
  brook_topology_t *t = brook_topology_new();
  char **topics = g_strsplit(in, ",", -1); /* one topic, or several */
  brook_source_opts_t so = {.topics = (const char *const *)topics, .key_serde = s, .value_serde = s};
  must(brook_topology_add_source(t, "src", &so, errstr, sizeof errstr), errstr);
  g_strfreev(topics);
  brook_processor_def_t def = {.init = counting ? count_init : NULL, .process = fn};
  must(brook_topology_add_processor(t, "proc", &def, (const char *const[]){"src", NULL}, errstr, sizeof errstr),
       errstr);
  if (counting) {
    brook_store_def_t sd = {.name = "counts", .kind = BROOK_STORE_KV};
    must(brook_topology_add_store(t, &sd, (const char *const[]){"proc", NULL}, errstr, sizeof errstr), errstr);
  }
  brook_sink_opts_t sk = {.topic = out, .key_serde = s, .value_serde = counting ? l : s};
  must(brook_topology_add_sink(t, "sink", &sk, (const char *const[]){"proc", NULL}, errstr, sizeof errstr), errstr);
  brook_serde_unref(s);
  brook_serde_unref(l);
  return t;
}

/* ------------------------------------------------------------ state listener */

typedef struct transitions {
  GMutex lock;
  GArray *states; /* brook_app_state_t new states */
} transitions_t;

static void on_state(brook_app_state_t new_state, brook_app_state_t old_state, void *opaque) {
  transitions_t *tr = opaque;
  g_mutex_lock(&tr->lock);
  if (tr->states->len == 0) {
    brook_app_state_t o = old_state;
    g_array_append_val(tr->states, o);
  }
  g_array_append_val(tr->states, new_state);
  g_mutex_unlock(&tr->lock);
}

/* ------------------------------------------------------------ tests */

/* source -> upper-case -> sink over 3 partitions: every record comes out
 * upper-cased in the partition of its key; the listener sees the whole
 * lifecycle; process-total counts every record. */
static void test_passthrough(void) {
  char *dir = tmpdir();
  brook_topology_t *topo = simple_topology("upper-in", "upper-out", upper_process, false);
  brook_app_t *app = mkapp(topo, "rt-upper", dir, 1);
  transitions_t tr;
  g_mutex_init(&tr.lock);
  tr.states = g_array_new(FALSE, FALSE, sizeof(brook_app_state_t));
  brook_app_set_state_listener(app, on_state, &tr);
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_CREATED);
  create_topic(app, "upper-in", 3);
  create_topic(app, "upper-out", 3);
  enum { N = 30 };
  const char *kv[2 * N];
  char *own[2 * N];
  for (int i = 0; i < N; i++) {
    kv[2 * i] = own[2 * i] = g_strdup_printf("key-%d", i);
    kv[2 * i + 1] = own[2 * i + 1] = g_strdup_printf("value %d", i);
  }
  produce_strings(app, "upper-in", kv, N);
  start_and_wait_idle(app);
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_RUNNING);

  GArray *in = read_all(app, "upper-in", false);
  GArray *out = read_all(app, "upper-out", false);
  g_assert_cmpuint(out->len, ==, N);
  g_assert_cmpuint(in->len, ==, N);
  GHashTable *in_part = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < in->len; i++) {
    read_rec_t *r = &g_array_index(in, read_rec_t, i);
    g_hash_table_insert(in_part, r->key, GINT_TO_POINTER(r->partition + 1));
  }
  for (guint i = 0; i < out->len; i++) {
    read_rec_t *r = &g_array_index(out, read_rec_t, i);
    int idx = atoi(r->key + 4);
    char *want = g_strdup_printf("VALUE %d", idx);
    g_assert_cmpstr(r->value, ==, want);
    g_free(want);
    /* same key, same partition count: murmur2 puts it where the input was */
    g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(in_part, r->key)), ==, r->partition + 1);
  }
  g_hash_table_destroy(in_part);
  read_recs_free(in);
  read_recs_free(out);

  g_assert_cmpfloat(metric(app, "stream-thread-metrics", "process-total", NULL), ==, N);
  g_assert_cmpfloat(metric(app, "stream-task-metrics", "process-total", NULL), ==, N);
  g_assert_cmpfloat(metric(app, "stream-thread-metrics", "produce-total", NULL), ==, N);
  g_assert_cmpfloat(metric(app, "stream-thread-metrics", "commit-total", NULL), >=, 1);
  g_assert_cmpfloat(metric(app, "stream-task-metrics", "records-lag", NULL), ==, 0);

  brook_app_close(app);
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_NOT_RUNNING);
  brook_app_close(app); /* idempotent */
  brook_app_destroy(app);

  brook_app_state_t want[] = {BROOK_APP_CREATED, BROOK_APP_REBALANCING, BROOK_APP_RUNNING, BROOK_APP_PENDING_SHUTDOWN,
                              BROOK_APP_NOT_RUNNING};
  g_assert_cmpuint(tr.states->len, ==, G_N_ELEMENTS(want));
  for (guint i = 0; i < G_N_ELEMENTS(want); i++)
    g_assert_cmpstr(brook_app_state_name(g_array_index(tr.states, brook_app_state_t, i)), ==,
                    brook_app_state_name(want[i]));
  g_array_free(tr.states, TRUE);
  g_mutex_clear(&tr.lock);
  for (int i = 0; i < 2 * N; i++) g_free(own[i]);
  brook_topology_unref(topo);
  rm_rf(dir);
  g_free(dir);
}

/* Words for the counting test: round r sends `n` records spread over keys. */
static void send_words(brook_app_t *app, GHashTable *ref, int round, int n) {
  const char **kv = g_new(const char *, 2 * n);
  char **own = g_new(char *, n);
  for (int i = 0; i < n; i++) {
    own[i] = g_strdup_printf("w%d", (i * 7 + round) % 11);
    kv[2 * i] = own[i];
    kv[2 * i + 1] = "x";
    g_hash_table_replace(ref, g_strdup(own[i]),
                         GINT_TO_POINTER(GPOINTER_TO_INT(g_hash_table_lookup(ref, own[i])) + 1));
  }
  produce_strings(app, "words", kv, (size_t)n);
  for (int i = 0; i < n; i++) g_free(own[i]);
  g_free(own);
  g_free(kv);
}

static void check_counts(brook_app_t *app, GHashTable *ref) {
  GArray *out = read_all(app, "word-counts", true);
  GHashTable *last = last_values(out);
  g_assert_cmpuint(g_hash_table_size(last), ==, g_hash_table_size(ref));
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, ref);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    char *want = g_strdup_printf("%d", GPOINTER_TO_INT(v));
    g_assert_cmpstr(g_hash_table_lookup(last, k), ==, want);
    g_free(want);
  }
  /* every count forwarded once: the output has one record per input */
  int total = 0;
  g_hash_table_iter_init(&it, ref);
  while (g_hash_table_iter_next(&it, &k, &v)) total += GPOINTER_TO_INT(v);
  g_assert_cmpuint(out->len, ==, (guint)total);
  g_hash_table_destroy(last);
  read_recs_free(out);
}

/* Removes the task directories ("<sub>_<partition>") of app_id, keeping the
 * embedded broker's log. */
static int wipe_task_dirs(const char *state_dir, const char *app_id) {
  char *base = g_build_filename(state_dir, app_id, NULL);
  GDir *d = g_dir_open(base, 0, NULL);
  g_assert_nonnull(d);
  const char *n;
  int wiped = 0;
  while ((n = g_dir_read_name(d))) {
    if (!g_regex_match_simple("^[0-9]+_[0-9]+$", n, 0, 0)) continue;
    char *p = g_build_filename(base, n, NULL);
    rm_rf(p);
    g_free(p);
    wiped++;
  }
  g_dir_close(d);
  g_free(base);
  return wiped;
}

/* A counting processor with a KV store over 2 partitions and 2 threads gives
 * the reference counts; a restart with the same state dir continues them; a
 * restart without task directories restores the store from the changelog. */
static void test_counts_restart_restore(void) {
  char *dir = tmpdir();
  const char *app_id = "rt-count";
  brook_topology_t *topo = simple_topology("words", "word-counts", count_process, true);
  GHashTable *ref = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

  /* run 1 */
  brook_app_t *app = mkapp(topo, app_id, dir, 2);
  create_topic(app, "words", 2);
  create_topic(app, "word-counts", 2);
  send_words(app, ref, 1, 40);
  start_and_wait_idle(app);
  char errstr[512];
  g_assert_cmpint(brook_admin_partition_count(brook_app_bootstrap_servers(app), "rt-count-counts-changelog", errstr,
                                              sizeof errstr), ==, 2);
  check_counts(app, ref);
  g_assert_cmpfloat(metric(app, "stream-thread-metrics", "process-total", NULL), ==, 40);
  brook_app_destroy(app);

  /* run 2: same state directory, checkpoints in place */
  app = mkapp(topo, app_id, dir, 2);
  send_words(app, ref, 2, 25);
  start_and_wait_idle(app);
  check_counts(app, ref);
  g_assert_cmpfloat(metric(app, "stream-thread-metrics", "process-total", NULL), ==, 25);
  brook_app_destroy(app);

  /* run 3: task directories gone: restore from the changelog */
  g_assert_cmpint(wipe_task_dirs(dir, app_id), ==, 2);
  app = mkapp(topo, app_id, dir, 1);
  send_words(app, ref, 3, 17);
  start_and_wait_idle(app);
  check_counts(app, ref);
  g_assert_cmpfloat(metric(app, "stream-thread-metrics", "process-total", NULL), ==, 17);
  /* both tasks restored (11 distinct keys were in the changelog) */
  g_assert_cmpfloat(metric(app, "stream-state-metrics", "restore-total", "store=counts"), >=, 11);
  g_assert_cmpfloat(metric(app, "stream-state-metrics", "restore-remaining", "store=counts"), ==, 0);
  brook_app_destroy(app);

  g_hash_table_destroy(ref);
  brook_topology_unref(topo);
  rm_rf(dir);
  g_free(dir);
}

/* source(3) -> rekey -> internal sink "rekeyed" -> internal source -> sink:
 * the repartition topic is created with the upstream's 3 partitions and
 * carries every record to the partition of its new key. */
static void test_repartition(void) {
  char errstr[512];
  char *dir = tmpdir();
  brook_serde_t *s = brook_serde_string_new();
  brook_topology_t *t = brook_topology_new();
  brook_source_opts_t so = {.topics = (const char *const[]){"rp-in", NULL}, .key_serde = s, .value_serde = s};
  must(brook_topology_add_source(t, "src", &so, errstr, sizeof errstr), errstr);
  brook_processor_def_t rekey = {.process = rekey_process};
  must(brook_topology_add_processor(t, "rekey", &rekey, (const char *const[]){"src", NULL}, errstr, sizeof errstr),
       errstr);
  brook_sink_opts_t rs = {.topic = "rekeyed", .key_serde = s, .value_serde = s, .internal = true};
  must(brook_topology_add_sink(t, "rp-sink", &rs, (const char *const[]){"rekey", NULL}, errstr, sizeof errstr),
       errstr);
  brook_source_opts_t ro = {
      .topics = (const char *const[]){"rekeyed", NULL}, .key_serde = s, .value_serde = s, .internal = true};
  must(brook_topology_add_source(t, "rp-src", &ro, errstr, sizeof errstr), errstr);
  brook_processor_def_t fwd = {.process = forward_process};
  must(brook_topology_add_processor(t, "fwd", &fwd, (const char *const[]){"rp-src", NULL}, errstr, sizeof errstr),
       errstr);
  brook_sink_opts_t out = {.topic = "rp-out", .key_serde = s, .value_serde = s};
  must(brook_topology_add_sink(t, "out", &out, (const char *const[]){"fwd", NULL}, errstr, sizeof errstr), errstr);

  brook_app_conf_t *conf = mkconf("rt-rp", dir, 2);
  conf_set(conf, "repartition.purge.interval.ms", "0");
  brook_app_t *app = brook_app_new(t, conf, errstr, sizeof errstr);
  g_assert_nonnull(app);
  brook_app_conf_destroy(conf);
  create_topic(app, "rp-in", 3);
  create_topic(app, "rp-out", 3);
  const char *kv[] = {"1", "apple", "2", "avocado", "3", "banana", "4", "blueberry", "5", "cherry",
                      "6", "apricot", "7", "beet",    "8", "carrot", "9", "date",      "10", "dill"};
  produce_strings(app, "rp-in", kv, 10);
  start_and_wait_idle(app);
  g_assert_cmpint(brook_admin_partition_count(brook_app_bootstrap_servers(app), "rt-rp-rekeyed", errstr,
                                              sizeof errstr), ==, 3);
  /* every record went through the repartition topic, and with
   * repartition.purge.interval.ms=0 each commit purges what it committed
   * (DeleteRecords is asynchronous: poll the broker with a deadline) */
  rd_kafka_t *rk = watermark_client(app);
  int64_t total = 0;
  for (int32_t p = 0; p < 3; p++) {
    int64_t lo, hi;
    g_assert_cmpint(rd_kafka_query_watermark_offsets(rk, "rt-rp-rekeyed", p, &lo, &hi, 10000), ==, 0);
    total += hi;
    gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (lo < hi && g_get_monotonic_time() < until) {
      g_usleep(20000);
      g_assert_cmpint(rd_kafka_query_watermark_offsets(rk, "rt-rp-rekeyed", p, &lo, &hi, 10000), ==, 0);
    }
    g_assert_cmpint(lo, ==, hi);
  }
  g_assert_cmpint(total, ==, 10);
  rd_kafka_destroy(rk);
  GArray *res = read_all(app, "rp-out", false);
  g_assert_cmpuint(res->len, ==, 10);
  int per_key[256] = {0};
  GHashTable *part_of = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < res->len; i++) {
    read_rec_t *r = &g_array_index(res, read_rec_t, i);
    g_assert_cmpuint(strlen(r->key), ==, 1);
    g_assert_cmpint(r->key[0], ==, r->value[0]);
    per_key[(unsigned char)r->key[0]]++;
    /* one key, one partition */
    gpointer p = g_hash_table_lookup(part_of, r->key);
    if (p) g_assert_cmpint(GPOINTER_TO_INT(p), ==, r->partition + 1);
    else g_hash_table_insert(part_of, r->key, GINT_TO_POINTER(r->partition + 1));
  }
  g_assert_cmpint(per_key['a'], ==, 3);
  g_assert_cmpint(per_key['b'], ==, 3);
  g_assert_cmpint(per_key['c'], ==, 2);
  g_assert_cmpint(per_key['d'], ==, 2);
  g_hash_table_destroy(part_of);
  read_recs_free(res);
  /* two sub-topologies, 3 partitions each: 6 tasks over 2 threads; every
   * record processed twice (once per sub-topology). Task metrics restart
   * with a task that moved in a rebalance; thread totals do not. */
  metric_sum_t m = {"stream-task-metrics", "process-total", NULL, 0, 0};
  brook_app_metrics(app, on_metric, &m);
  g_assert_cmpint(m.count, ==, 6);
  g_assert_cmpfloat(metric(app, "stream-thread-metrics", "process-total", NULL), ==, 20);
  brook_app_destroy(app);
  brook_topology_unref(t);
  brook_serde_unref(s);
  rm_rf(dir);
  g_free(dir);
}

/* A source topic that does not exist: start fails naming it, nothing runs. */
static void test_missing_source(void) {
  char errstr[512];
  char *dir = tmpdir();
  brook_topology_t *topo = simple_topology("no-such-topic", "whatever-out", upper_process, false);
  brook_app_t *app = mkapp(topo, "rt-missing", dir, 1);
  brook_err_t err = brook_app_start(app, errstr, sizeof errstr);
  g_assert_cmpint(err, !=, 0);
  g_assert_nonnull(strstr(errstr, "no-such-topic"));
  g_assert_nonnull(strstr(errstr, "not found"));
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_CREATED);
  brook_app_destroy(app);
  brook_topology_unref(topo);
  rm_rf(dir);
  g_free(dir);
}

/* An existing changelog with another partition count than the topology
 * needs: start fails naming the topic and both counts. */
static void test_internal_topic_mismatch(void) {
  char errstr[512];
  char *dir = tmpdir();
  brook_topology_t *topo = simple_topology("words", "word-counts", count_process, true);
  brook_app_t *app = mkapp(topo, "rt-mismatch", dir, 1);
  create_topic(app, "words", 2);
  create_topic(app, "rt-mismatch-counts-changelog", 5);
  brook_err_t err = brook_app_start(app, errstr, sizeof errstr);
  g_assert_cmpint(err, !=, 0);
  g_assert_nonnull(strstr(errstr, "rt-mismatch-counts-changelog"));
  g_assert_nonnull(strstr(errstr, "5"));
  g_assert_nonnull(strstr(errstr, "2"));
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_CREATED);
  brook_app_destroy(app);
  brook_topology_unref(topo);
  rm_rf(dir);
  g_free(dir);
}

/* Topics of different partition counts read by one sub-topology: start fails
 * naming both counts when the sub-topology has a store (1 thread), and when a
 * stateless one would run on 2 threads; nothing is created or run. (A
 * stateless one on 1 thread may mix counts: test_pattern.) */
static void copartition_case(bool counting, int threads, const char *app_id, const char *expect) {
  char errstr[512];
  char *dir = tmpdir();
  brook_topology_t *topo =
      simple_topology("cp-a,cp-b", "cp-out", counting ? count_process : upper_process, counting);
  brook_app_t *app = mkapp(topo, app_id, dir, threads);
  create_topic(app, "cp-a", 2);
  create_topic(app, "cp-b", 1);
  brook_err_t err = brook_app_start(app, errstr, sizeof errstr);
  g_assert_cmpint(err, ==, BROOK_ERR_INVALID_PARTITIONS);
  g_assert_nonnull(strstr(errstr, "cp-a (2)"));
  g_assert_nonnull(strstr(errstr, "cp-b (1)"));
  g_assert_nonnull(strstr(errstr, "co-partitioned"));
  g_assert_nonnull(strstr(errstr, expect));
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_CREATED);
  g_assert_cmpint(brook_admin_partition_count(brook_app_bootstrap_servers(app), "rt-cp-counts-changelog", errstr,
                                              sizeof errstr),
                  ==, -1);
  brook_app_destroy(app);
  brook_topology_unref(topo);
  rm_rf(dir);
  g_free(dir);
}

static void test_copartition_stateful(void) { copartition_case(true, 1, "rt-cp", "state stores"); }
static void test_copartition_threads(void) { copartition_case(false, 2, "rt-cp2", "several stream threads"); }

/* A processor failing the task: ERROR with its message; wait_idle says _STATE;
 * close keeps ERROR. */
static void test_processor_fail(void) {
  char errstr[512];
  char *dir = tmpdir();
  brook_topology_t *topo = simple_topology("fail-in", "fail-out", poison_process, false);
  brook_app_t *app = mkapp(topo, "rt-fail", dir, 2);
  create_topic(app, "fail-in", 2);
  create_topic(app, "fail-out", 2);
  const char *kv[] = {"a", "ok", "b", "ok", "c", "poison", "d", "ok"};
  produce_strings(app, "fail-in", kv, 4);
  g_assert_cmpint(brook_app_start(app, errstr, sizeof errstr), ==, 0);
  brook_err_t err = brook_app_wait_idle(app, IDLE_MS, errstr, sizeof errstr);
  g_assert_cmpint(err, ==, BROOK_ERR__STATE);
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_ERROR);
  const char *why = brook_app_error(app);
  g_assert_nonnull(why);
  g_assert_nonnull(strstr(why, "poisoned record with key c"));
  g_assert_nonnull(strstr(errstr, "poisoned record with key c"));
  brook_app_close(app);
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_ERROR);
  brook_app_destroy(app);
  brook_topology_unref(topo);
  rm_rf(dir);
  g_free(dir);
}

/* A missing default serde is reported by brook_app_new naming the node. */
static void test_missing_serde(void) {
  char errstr[512];
  char *dir = tmpdir();
  brook_topology_t *t = brook_topology_new();
  brook_source_opts_t so = {.topics = (const char *const[]){"in", NULL}}; /* no serdes */
  must(brook_topology_add_source(t, "the-source", &so, errstr, sizeof errstr), errstr);
  brook_processor_def_t fwd = {.process = forward_process};
  must(brook_topology_add_processor(t, "fwd", &fwd, (const char *const[]){"the-source", NULL}, errstr, sizeof errstr),
       errstr);
  brook_app_conf_t *conf = mkconf("rt-serde", dir, 1);
  brook_app_t *app = brook_app_new(t, conf, errstr, sizeof errstr);
  g_assert_null(app);
  g_assert_nonnull(strstr(errstr, "the-source"));
  g_assert_nonnull(strstr(errstr, "default.key.serde"));
  brook_app_conf_destroy(conf);
  brook_topology_unref(t);
  rm_rf(dir);
  g_free(dir);
}

/* Wall-clock punctuation runs on the app's clock; app_wait_wall_clock waits
 * for it. */
static _Atomic int64_t fake_now;
static int64_t fake_clock(void *opaque) {
  (void)opaque;
  return atomic_load(&fake_now);
}

static void test_wall_clock(void) {
  char errstr[512];
  char *dir = tmpdir();
  brook_serde_t *s = brook_serde_string_new();
  brook_topology_t *t = brook_topology_new();
  brook_source_opts_t so = {.topics = (const char *const[]){"tick-in", NULL}, .key_serde = s, .value_serde = s};
  must(brook_topology_add_source(t, "src", &so, errstr, sizeof errstr), errstr);
  brook_processor_def_t def = {.init = tick_init, .process = forward_process};
  must(brook_topology_add_processor(t, "ticker", &def, (const char *const[]){"src", NULL}, errstr, sizeof errstr),
       errstr);
  brook_sink_opts_t out = {.topic = "ticks", .key_serde = s, .value_serde = s};
  must(brook_topology_add_sink(t, "out", &out, (const char *const[]){"ticker", NULL}, errstr, sizeof errstr), errstr);
  brook_app_t *app = mkapp(t, "rt-tick", dir, 1);
  atomic_store(&fake_now, 0);
  app_set_wall_clock(app, fake_clock, NULL);
  create_topic(app, "tick-in", 1);
  create_topic(app, "ticks", 1);
  start_and_wait_idle(app);
  g_assert_cmpint(app_wait_running(app, IDLE_MS, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(app_wait_wall_clock(app, 0, IDLE_MS, errstr, sizeof errstr), ==, 0);
  wait_idle(app);
  GArray *ticks = read_all(app, "ticks", false);
  g_assert_cmpuint(ticks->len, ==, 0); /* the clock has not moved */
  read_recs_free(ticks);

  atomic_store(&fake_now, 1500);
  g_assert_cmpint(app_wait_wall_clock(app, 1500, IDLE_MS, errstr, sizeof errstr), ==, 0);
  wait_idle(app);
  ticks = read_all(app, "ticks", false);
  g_assert_cmpuint(ticks->len, >=, 1);
  g_assert_cmpstr(g_array_index(ticks, read_rec_t, 0).key, ==, "tick");
  read_recs_free(ticks);
  /* a time no thread reaches: times out */
  g_assert_cmpint(app_wait_wall_clock(app, 99999, 200, errstr, sizeof errstr), ==, BROOK_ERR__TIMED_OUT);
  brook_app_destroy(app);
  brook_topology_unref(t);
  brook_serde_unref(s);
  rm_rf(dir);
  g_free(dir);
}

/* brook_app_run: SIGTERM to the running thread shuts down cleanly (0); a
 * failing thread makes it return 1. */
typedef struct run_ctx {
  brook_app_t *app;
  pthread_t main;
  bool signal;
} run_ctx_t;

static gpointer signaller(gpointer data) {
  run_ctx_t *rc = data;
  char errstr[512];
  if (app_wait_running(rc->app, IDLE_MS, errstr, sizeof errstr) == 0 && rc->signal)
    pthread_kill(rc->main, SIGTERM);
  return NULL;
}

static void test_run(void) {
  char *dir = tmpdir();
  brook_topology_t *topo = simple_topology("run-in", "run-out", poison_process, false);

  brook_app_t *app = mkapp(topo, "rt-run", dir, 1);
  create_topic(app, "run-in", 1);
  create_topic(app, "run-out", 1);
  run_ctx_t rc = {app, pthread_self(), true};
  GThread *th = g_thread_new("signaller", signaller, &rc);
  g_assert_cmpint(brook_app_run(app), ==, 0);
  g_thread_join(th);
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_NOT_RUNNING);
  brook_app_destroy(app);

  app = mkapp(topo, "rt-run", dir, 1);
  const char *kv[] = {"k", "poison"};
  produce_strings(app, "run-in", kv, 1);
  g_assert_cmpint(brook_app_run(app), ==, 1);
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_ERROR);
  g_assert_nonnull(strstr(brook_app_error(app), "poisoned record"));
  brook_app_destroy(app);

  brook_topology_unref(topo);
  rm_rf(dir);
  g_free(dir);
}

/* A pattern source reads every matching topic (and only those), with
 * partition counts that differ between them. */
static void test_pattern(void) {
  char errstr[512];
  char *dir = tmpdir();
  brook_serde_t *s = brook_serde_string_new();
  brook_topology_t *t = brook_topology_new();
  brook_source_opts_t so = {.pattern = "pat-[ab]", .key_serde = s, .value_serde = s};
  must(brook_topology_add_source(t, "src", &so, errstr, sizeof errstr), errstr);
  brook_processor_def_t def = {.process = upper_process};
  must(brook_topology_add_processor(t, "proc", &def, (const char *const[]){"src", NULL}, errstr, sizeof errstr),
       errstr);
  brook_sink_opts_t out = {.topic = "pat-out", .key_serde = s, .value_serde = s};
  must(brook_topology_add_sink(t, "out", &out, (const char *const[]){"proc", NULL}, errstr, sizeof errstr), errstr);
  brook_app_t *app = mkapp(t, "rt-pat", dir, 1);
  create_topic(app, "pat-a", 2);
  create_topic(app, "pat-b", 1);
  create_topic(app, "pat-c", 3);
  create_topic(app, "pat-out", 2);
  const char *a[] = {"1", "from a", "2", "from a", "3", "from a"};
  const char *b[] = {"4", "from b"};
  const char *c[] = {"5", "from c"};
  produce_strings(app, "pat-a", a, 3);
  produce_strings(app, "pat-b", b, 1);
  produce_strings(app, "pat-c", c, 1);
  start_and_wait_idle(app);
  GArray *res = read_all(app, "pat-out", false);
  g_assert_cmpuint(res->len, ==, 4);
  int from_a = 0, from_b = 0;
  for (guint i = 0; i < res->len; i++) {
    const char *v = g_array_index(res, read_rec_t, i).value;
    from_a += strcmp(v, "FROM A") == 0;
    from_b += strcmp(v, "FROM B") == 0;
  }
  g_assert_cmpint(from_a, ==, 3);
  g_assert_cmpint(from_b, ==, 1);
  read_recs_free(res);
  brook_app_destroy(app);
  brook_topology_unref(t);
  brook_serde_unref(s);
  rm_rf(dir);
  g_free(dir);
}

/* A record the broker refuses (larger than the topic's max.message.bytes):
 * the default production handler fails the app naming the topic; the
 * log-and-continue handler drops it and goes on. */
static void run_production_error(bool cont) {
  char errstr[512];
  char *dir = tmpdir();
  brook_topology_t *topo = simple_topology("big-in", "big-out", forward_process, false);
  brook_app_conf_t *conf = mkconf("rt-big", dir, 1);
  conf_set(conf, "producer.batch.num.messages", "1"); /* one record per batch: only the big one is refused */
  if (cont) conf_set(conf, "default.production.exception.handler", "LogAndContinueProductionExceptionHandler");
  brook_app_t *app = brook_app_new(topo, conf, errstr, sizeof errstr);
  g_assert_nonnull(app);
  brook_app_conf_destroy(conf);
  create_topic(app, "big-in", 1);
  const char *const cfg[] = {"max.message.bytes", "300", NULL};
  g_assert_cmpint(brook_admin_create_topic(brook_app_bootstrap_servers(app), "big-out", 1, cfg, false, errstr,
                                           sizeof errstr), ==, 0);
  char *big = g_strnfill(2000, 'x');
  const char *kv[] = {"small-1", "s", "big", big, "small-2", "s"};
  produce_strings(app, "big-in", kv, 3);
  g_assert_cmpint(brook_app_start(app, errstr, sizeof errstr), ==, 0);
  brook_err_t err = brook_app_wait_idle(app, IDLE_MS, errstr, sizeof errstr);
  if (cont) {
    g_assert_cmpint(err, ==, 0);
    g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_RUNNING);
    GArray *res = read_all(app, "big-out", false);
    g_assert_cmpuint(res->len, ==, 2);
    g_assert_cmpstr(g_array_index(res, read_rec_t, 0).key, ==, "small-1");
    g_assert_cmpstr(g_array_index(res, read_rec_t, 1).key, ==, "small-2");
    read_recs_free(res);
  } else {
    g_assert_cmpint(err, ==, BROOK_ERR__STATE);
    g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_ERROR);
    g_assert_nonnull(strstr(brook_app_error(app), "big-out"));
  }
  brook_app_destroy(app);
  g_free(big);
  brook_topology_unref(topo);
  rm_rf(dir);
  g_free(dir);
}

static void test_production_error_fail(void) { run_production_error(false); }
static void test_production_error_continue(void) { run_production_error(true); }

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/streams/runtime/passthrough", test_passthrough);
  g_test_add_func("/streams/runtime/counts-restart-restore", test_counts_restart_restore);
  g_test_add_func("/streams/runtime/repartition", test_repartition);
  g_test_add_func("/streams/runtime/pattern", test_pattern);
  g_test_add_func("/streams/runtime/production-error-fail", test_production_error_fail);
  g_test_add_func("/streams/runtime/production-error-continue", test_production_error_continue);
  g_test_add_func("/streams/runtime/missing-source", test_missing_source);
  g_test_add_func("/streams/runtime/internal-topic-mismatch", test_internal_topic_mismatch);
  g_test_add_func("/streams/runtime/copartition-stateful", test_copartition_stateful);
  g_test_add_func("/streams/runtime/copartition-threads", test_copartition_threads);
  g_test_add_func("/streams/runtime/missing-serde", test_missing_serde);
  g_test_add_func("/streams/runtime/processor-fail", test_processor_fail);
  g_test_add_func("/streams/runtime/wall-clock", test_wall_clock);
  g_test_add_func("/streams/runtime/run", test_run);
  return g_test_run();
}
