/*
 * test-task.c — tasks without a broker: hand-built topologies run by
 * streams/task.c over a real state environment (RocksDB in a temporary state
 * directory). The task's produce callback records what it would send (topic,
 * partition, key/value bytes, timestamp, headers) so the tests can check the
 * bytes that would reach Kafka, changelog records included.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brook_kv_store.h"
#include "brook_serde.h"
#include "brook_session_store.h"
#include "brook_state.h"
#include "brook_window_store.h"
#include "brook_topology.h"
#include "streams_int.h"
#include "task.h"
#include "topology_int.h"


#define APP "app"
#define CHANGELOG "app-counts-changelog"

/* ---- fixture ---- */

typedef struct hdr {
  char *name;
  GBytes *value; /* NULL = null */
} hdr_t;

typedef struct produced {
  char *topic;
  int32_t partition;
  GBytes *key; /* NULL = null */
  GBytes *value;
  int64_t timestamp;
  GPtrArray *headers; /* hdr_t * */
} produced_t;

typedef struct fx {
  char *dir;
  brook_state_env_t *senv;
  streams_conf_t conf;
  task_env_t env;
  brook_topology_t *topology;
  GPtrArray *produced; /* produced_t * */
  GPtrArray *logs;     /* char * "LEVEL msg" */
  int64_t now;         /* the fake wall clock */
  brook_err_t produce_err;
} fx_t;

static void hdr_free(hdr_t *h) {
  g_free(h->name);
  if (h->value) g_bytes_unref(h->value);
  g_free(h);
}

static void produced_free(produced_t *p) {
  g_free(p->topic);
  if (p->key) g_bytes_unref(p->key);
  if (p->value) g_bytes_unref(p->value);
  g_ptr_array_unref(p->headers);
  g_free(p);
}

static brook_err_t fx_produce(void *opaque, const char *topic, int32_t partition, const void *key,
                              size_t key_len, const void *value, size_t value_len, int64_t timestamp,
                              const task_header_t *headers, size_t header_count, char *errstr,
                              size_t errstr_size) {
  fx_t *fx = opaque;
  if (fx->produce_err) {
    g_snprintf(errstr, errstr_size, "queue full (test)");
    return fx->produce_err;
  }
  produced_t *p = g_new0(produced_t, 1);
  p->topic = g_strdup(topic);
  p->partition = partition;
  p->key = key ? g_bytes_new(key, key_len) : NULL;
  p->value = value ? g_bytes_new(value, value_len) : NULL;
  p->timestamp = timestamp;
  p->headers = g_ptr_array_new_with_free_func((GDestroyNotify)hdr_free);
  for (size_t i = 0; i < header_count; i++) {
    hdr_t *h = g_new0(hdr_t, 1);
    h->name = g_strdup(headers[i].name);
    h->value = headers[i].value ? g_bytes_new(headers[i].value, headers[i].value_len) : NULL;
    g_ptr_array_add(p->headers, h);
  }
  g_ptr_array_add(fx->produced, p);
  return BROOK_ERR_NONE;
}

static int64_t fx_clock(void *opaque) { return ((fx_t *)opaque)->now; }

static void fx_log(int level, const char *ctx, const char *msg, void *opaque) {
  fx_t *fx = opaque;
  g_ptr_array_add(fx->logs, g_strdup_printf("%d [%s] %s", level, ctx, msg));
}

static void rm_rf(const char *path) {
  if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
    GDir *d = g_dir_open(path, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
      char *child = g_build_filename(path, name, NULL);
      rm_rf(child);
      g_free(child);
    }
    if (d) g_dir_close(d);
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

static void fx_init(fx_t *fx, uint64_t cache_max_bytes) {
  memset(fx, 0, sizeof *fx);
  fx->dir = g_dir_make_tmp("brook-test-task-XXXXXX", NULL);
  g_assert_nonnull(fx->dir);
  char e[512];
  brook_state_env_conf_t sc = {
      .state_dir = fx->dir, .application_id = APP, .cache_max_bytes = cache_max_bytes};
  fx->senv = brook_state_env_new(&sc, e, sizeof e);
  g_assert_nonnull(fx->senv);
  fx->conf.application_id = g_strdup(APP);
  fx->conf.state_dir = g_strdup(fx->dir);
  fx->conf.default_key_serde = brook_serde_string_new();
  fx->conf.default_value_serde = brook_serde_string_new();
  fx->conf.deserialization_handler = STREAMS_DESER_LOG_AND_FAIL;
  fx->conf.log.cb = fx_log;
  fx->conf.log.opaque = fx;
  fx->produced = g_ptr_array_new_with_free_func((GDestroyNotify)produced_free);
  fx->logs = g_ptr_array_new_with_free_func(g_free);
  fx->topology = brook_topology_new();
  fx->now = 1000;
  fx->env = (task_env_t){
      .topology = fx->topology,
      .conf = &fx->conf,
      .state_env = fx->senv,
      .thread_name = "test-thread",
      .produce = fx_produce,
      .produce_opaque = fx,
      .wall_clock = fx_clock,
      .wall_clock_opaque = fx,
  };
}

static void fx_seal(fx_t *fx) {
  char e[512];
  brook_err_t err = topology_seal(fx->topology, e, sizeof e);
  if (err) g_error("seal: %s", e);
}

static void fx_clear(fx_t *fx) {
  brook_topology_unref(fx->topology);
  brook_state_env_destroy(fx->senv);
  brook_serde_unref(fx->conf.default_key_serde);
  brook_serde_unref(fx->conf.default_value_serde);
  g_free(fx->conf.application_id);
  g_free(fx->conf.state_dir);
  g_ptr_array_unref(fx->produced);
  g_ptr_array_unref(fx->logs);
  rm_rf(fx->dir);
  g_free(fx->dir);
}

/* A running task (restore done, nothing to restore). */
static stream_task_t *fx_task(fx_t *fx, int sub, int32_t partition) {
  char e[512];
  stream_task_t *task = NULL;
  brook_err_t err = task_new(&fx->env, sub, partition, &task, e, sizeof e);
  if (err) g_error("task_new: %s", e);
  if ((err = task_restore_done(task, e, sizeof e))) g_error("task_restore_done: %s", e);
  return task;
}

static brook_err_t fx_process_h(stream_task_t *task, const char *topic, int64_t offset, int64_t ts,
                                const char *key, const char *value, const task_header_t *headers, size_t n,
                                char *e, size_t esz) {
  return task_process(task, topic, task_partition(task), offset, ts, key, key ? strlen(key) : 0, value,
                      value ? strlen(value) : 0, headers, n, e, esz);
}

static void fx_process_ok(stream_task_t *task, const char *topic, int64_t offset, int64_t ts, const char *key,
                          const char *value) {
  char e[512];
  brook_err_t err = fx_process_h(task, topic, offset, ts, key, value, NULL, 0, e, sizeof e);
  if (err) g_error("task_process: %s", e);
}

static int64_t fx_next_offset(void *opaque, const char *topic, int32_t partition) {
  fx_t *fx = opaque;
  int64_t n = 0;
  for (guint i = 0; i < fx->produced->len; i++) {
    produced_t *p = fx->produced->pdata[i];
    if (strcmp(p->topic, topic) == 0 && p->partition == partition) n++;
  }
  return n ? n : -1;
}

static void fx_commit(fx_t *fx, stream_task_t *task) {
  char e[512];
  if (task_flush(task, e, sizeof e)) g_error("task_flush: %s", e);
  if (task_commit_done(task, fx_next_offset, fx, e, sizeof e)) g_error("task_commit_done: %s", e);
}

static guint fx_count_topic(fx_t *fx, const char *topic) {
  guint n = 0;
  for (guint i = 0; i < fx->produced->len; i++)
    n += strcmp(((produced_t *)fx->produced->pdata[i])->topic, topic) == 0;
  return n;
}

static produced_t *fx_nth_topic(fx_t *fx, const char *topic, guint nth) {
  for (guint i = 0; i < fx->produced->len; i++) {
    produced_t *p = fx->produced->pdata[i];
    if (strcmp(p->topic, topic) == 0 && nth-- == 0) return p;
  }
  g_error("no record %u on %s", nth, topic);
  return NULL;
}

static void assert_bytes_str(GBytes *b, const char *s) {
  if (!s) {
    g_assert_null(b);
    return;
  }
  g_assert_nonnull(b);
  gsize n;
  const char *d = g_bytes_get_data(b, &n);
  g_assert_cmpmem(d, n, s, strlen(s));
}

static int64_t bytes_i64(GBytes *b) {
  gsize n;
  const uint8_t *d = g_bytes_get_data(b, &n);
  g_assert_cmpuint(n, ==, 8);
  return brook_serde_get_i64(d);
}

static bool fx_logged(fx_t *fx, const char *needle) {
  for (guint i = 0; i < fx->logs->len; i++)
    if (strstr(fx->logs->pdata[i], needle)) return true;
  return false;
}

/* ---- topology helpers ---- */

static void add_source(fx_t *fx, const char *name, const char *topic, brook_serde_t *ks, brook_serde_t *vs) {
  const char *topics[] = {topic, NULL};
  brook_source_opts_t o = {.topics = topics, .key_serde = ks, .value_serde = vs};
  char e[512];
  if (brook_topology_add_source(fx->topology, name, &o, e, sizeof e)) g_error("%s", e);
}

static void add_processor(fx_t *fx, const char *name, const brook_processor_def_t *def, const char *parent) {
  const char *parents[] = {parent, NULL};
  char e[512];
  if (brook_topology_add_processor(fx->topology, name, def, parents, e, sizeof e)) g_error("%s", e);
}

static void add_sink(fx_t *fx, const char *name, const char *topic, brook_serde_t *ks, brook_serde_t *vs,
                     const char *parent) {
  const char *parents[] = {parent, NULL};
  brook_sink_opts_t o = {.topic = topic, .key_serde = ks, .value_serde = vs};
  char e[512];
  if (brook_topology_add_sink(fx->topology, name, &o, parents, e, sizeof e)) g_error("%s", e);
}

/* ---- processors used by the tests ---- */

typedef struct seen {
  char *topic;
  int32_t partition;
  int64_t offset;
  int64_t timestamp;
  int64_t stream_time;
} seen_t;

static GArray *g_seen; /* seen_t of the last test's "upper" processor */

/* Upper-cases the value (a new string in scratch memory) and forwards. */
static void upper_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  seen_t s = {g_strdup(brook_ctx_topic(ctx)), brook_ctx_partition(ctx), brook_ctx_offset(ctx),
              brook_ctx_timestamp(ctx), brook_ctx_stream_time(ctx)};
  if (g_seen)
    g_array_append_val(g_seen, s);
  else
    g_free(s.topic);
  char *v = brook_scratch_strdup(rec->value);
  for (char *p = v; p && *p; p++) *p = g_ascii_toupper(*p);
  brook_record_t out = *rec;
  out.value = v;
  brook_ctx_forward(ctx, &out);
}

static void seen_clear(void *p) { g_free(((seen_t *)p)->topic); }

/* ---- tests ---- */

static void test_source_processor_sink(void) {
  fx_t fx;
  fx_init(&fx, 0);
  brook_serde_t *str = brook_serde_string_new();
  add_source(&fx, "src", "in", str, str);
  brook_processor_def_t upper = {.process = upper_process};
  add_processor(&fx, "upper", &upper, "src");
  add_sink(&fx, "out", "out", str, str, "upper");
  brook_serde_unref(str);
  fx_seal(&fx);
  g_seen = g_array_new(FALSE, FALSE, sizeof(seen_t));
  g_array_set_clear_func(g_seen, seen_clear);

  stream_task_t *task = fx_task(&fx, 0, 2);
  g_assert_cmpstr(task_id(task), ==, "0_2");
  g_assert_cmpint(task_stream_time(task), ==, -1);
  fx_process_ok(task, "in", 7, 100, "k1", "hello");
  fx_process_ok(task, "in", 8, 90, NULL, "World");
  fx_process_ok(task, "in", 9, 120, "k3", NULL);

  g_assert_cmpuint(fx.produced->len, ==, 3);
  produced_t *p = fx.produced->pdata[0];
  g_assert_cmpstr(p->topic, ==, "out");
  g_assert_cmpint(p->partition, ==, -1);
  assert_bytes_str(p->key, "k1");
  assert_bytes_str(p->value, "HELLO");
  g_assert_cmpint(p->timestamp, ==, 100);
  p = fx.produced->pdata[1];
  assert_bytes_str(p->key, NULL);
  assert_bytes_str(p->value, "WORLD");
  g_assert_cmpint(p->timestamp, ==, 90);
  p = fx.produced->pdata[2];
  assert_bytes_str(p->key, "k3");
  assert_bytes_str(p->value, NULL);

  /* the record context and stream time seen by the processor */
  g_assert_cmpuint(g_seen->len, ==, 3);
  seen_t *s = &g_array_index(g_seen, seen_t, 0);
  g_assert_cmpstr(s->topic, ==, "in");
  g_assert_cmpint(s->partition, ==, 2);
  g_assert_cmpint(s->offset, ==, 7);
  g_assert_cmpint(s->timestamp, ==, 100);
  g_assert_cmpint(s->stream_time, ==, 100);
  s = &g_array_index(g_seen, seen_t, 1);
  g_assert_cmpint(s->offset, ==, 8);
  g_assert_cmpint(s->timestamp, ==, 90);
  g_assert_cmpint(s->stream_time, ==, 100); /* out of order: stream time stays */
  g_assert_cmpint(task_stream_time(task), ==, 120);
  g_assert_cmpuint(task_processed(task), ==, 3);

  /* an unknown topic is a failure, not a crash */
  char e[512];
  g_assert_cmpint(fx_process_h(task, "other", 0, 1, "k", "v", NULL, 0, e, sizeof e), !=, 0);
  g_assert_nonnull(strstr(e, "other"));
  g_assert_true(task_failed(task));

  task_close(task, false);
  g_array_unref(g_seen);
  g_seen = NULL;
  fx_clear(&fx);
}

/* Defaults: source and sink without serdes use default.key/value.serde;
 * a sink with no serde at all fails naming the sink. */
static void test_default_serdes(void) {
  fx_t fx;
  fx_init(&fx, 0);
  add_source(&fx, "src", "in", NULL, NULL);
  brook_processor_def_t upper = {.process = upper_process};
  add_processor(&fx, "upper", &upper, "src");
  add_sink(&fx, "out", "out", NULL, NULL, "upper");
  fx_seal(&fx);
  stream_task_t *task = fx_task(&fx, 0, 0);
  fx_process_ok(task, "in", 0, 5, "k", "v");
  g_assert_cmpuint(fx.produced->len, ==, 1);
  assert_bytes_str(((produced_t *)fx.produced->pdata[0])->value, "V");
  task_close(task, true);

  /* no default value serde: a null value still passes, a real one fails */
  brook_serde_unref(fx.conf.default_value_serde);
  fx.conf.default_value_serde = NULL;
  brook_serde_t *str = brook_serde_string_new();
  brook_topology_t *t2 = brook_topology_new();
  brook_topology_t *saved = fx.topology;
  fx.topology = fx.env.topology = t2;
  add_source(&fx, "src", "in", str, str);
  add_sink(&fx, "out", "out", NULL, NULL, "src");
  fx_seal(&fx);
  task = fx_task(&fx, 0, 0);
  fx_process_ok(task, "in", 1, 6, "k", NULL);
  g_assert_cmpuint(fx.produced->len, ==, 2);
  char e[512];
  g_assert_cmpint(fx_process_h(task, "in", 2, 7, "k", "v", NULL, 0, e, sizeof e), ==, BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(e, "sink out"));
  g_assert_nonnull(strstr(e, "value serde"));
  g_assert_cmpuint(fx.produced->len, ==, 2);
  task_close(task, false);
  brook_serde_unref(str);
  brook_topology_unref(saved);
  fx_clear(&fx);
}

/* Routes by value length: even -> "evens", odd -> "odds"; "?" -> an unknown child. */
static void router_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  const char *v = rec->value;
  if (strcmp(v, "?") == 0)
    brook_ctx_forward_to(ctx, "nowhere", rec);
  else
    brook_ctx_forward_to(ctx, strlen(v) % 2 == 0 ? "evens" : "odds", rec);
}

static void test_forward_to(void) {
  fx_t fx;
  fx_init(&fx, 0);
  add_source(&fx, "src", "in", NULL, NULL);
  brook_processor_def_t router = {.process = router_process};
  add_processor(&fx, "router", &router, "src");
  add_sink(&fx, "evens", "even", NULL, NULL, "router");
  add_sink(&fx, "odds", "odd", NULL, NULL, "router");
  fx_seal(&fx);
  stream_task_t *task = fx_task(&fx, 0, 0);
  fx_process_ok(task, "in", 0, 1, "a", "xx");
  fx_process_ok(task, "in", 1, 2, "b", "xxx");
  fx_process_ok(task, "in", 2, 3, "c", "xxxx");
  g_assert_cmpuint(fx.produced->len, ==, 3);
  g_assert_cmpstr(((produced_t *)fx.produced->pdata[0])->topic, ==, "even");
  g_assert_cmpstr(((produced_t *)fx.produced->pdata[1])->topic, ==, "odd");
  g_assert_cmpstr(((produced_t *)fx.produced->pdata[2])->topic, ==, "even");
  assert_bytes_str(((produced_t *)fx.produced->pdata[2])->key, "c");

  char e[512];
  brook_err_t err = fx_process_h(task, "in", 3, 4, "d", "?", NULL, 0, e, sizeof e);
  g_assert_cmpint(err, !=, 0);
  g_assert_nonnull(strstr(e, "router"));
  g_assert_nonnull(strstr(e, "nowhere"));
  g_assert_true(task_failed(task));
  task_close(task, false);
  fx_clear(&fx);
}

/* Adds a header, removes "drop", and checks brook_headers_last. */
static void headers_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  const void *v;
  size_t n;
  if (brook_headers_count(rec->headers) > 0) {
    g_assert_true(brook_headers_last(rec->headers, "h1", &v, &n));
    g_assert_cmpmem(v, n, "second", 6); /* the last of two */
    const char *name;
    g_assert_true(brook_headers_get(rec->headers, 3, &name, &v, &n));
    g_assert_cmpstr(name, ==, "empty");
    g_assert_nonnull(v);
    g_assert_cmpuint(n, ==, 0);
    g_assert_false(brook_headers_get(rec->headers, 4, &name, &v, &n));
  }
  g_assert_false(brook_headers_last(rec->headers, "absent", &v, &n));
  char *added = brook_scratch_printf("from-%s", brook_ctx_node_name(ctx));
  brook_headers_add(rec->headers, "added", added, strlen(added));
  brook_headers_add(rec->headers, "nullh", NULL, 0);
  brook_headers_remove(rec->headers, "drop");
  brook_ctx_forward(ctx, rec);
}

static void test_headers(void) {
  fx_t fx;
  fx_init(&fx, 0);
  add_source(&fx, "src", "in", NULL, NULL);
  add_sink(&fx, "raw", "raw", NULL, NULL, "src"); /* first child: sees the input headers */
  brook_processor_def_t hp = {.process = headers_process};
  add_processor(&fx, "hp", &hp, "src");
  add_sink(&fx, "out", "out", NULL, NULL, "hp");
  fx_seal(&fx);
  stream_task_t *task = fx_task(&fx, 0, 0);
  task_header_t in[] = {
      {"h1", "first", 5},
      {"drop", "x", 1},
      {"h1", "second", 6},
      {"empty", "", 0},
  };
  char e[512];
  g_assert_cmpint(fx_process_h(task, "in", 0, 1, "k", "v", in, G_N_ELEMENTS(in), e, sizeof e), ==, 0);
  g_assert_cmpuint(fx.produced->len, ==, 2);
  produced_t *raw = fx.produced->pdata[0];
  g_assert_cmpstr(raw->topic, ==, "raw");
  g_assert_cmpuint(raw->headers->len, ==, 4);
  hdr_t *h = raw->headers->pdata[1];
  g_assert_cmpstr(h->name, ==, "drop");
  assert_bytes_str(h->value, "x");
  h = raw->headers->pdata[3];
  assert_bytes_str(h->value, ""); /* empty, not null */

  produced_t *out = fx.produced->pdata[1];
  g_assert_cmpstr(out->topic, ==, "out");
  const char *want[] = {"h1", "h1", "empty", "added", "nullh"};
  g_assert_cmpuint(out->headers->len, ==, G_N_ELEMENTS(want));
  for (guint i = 0; i < G_N_ELEMENTS(want); i++)
    g_assert_cmpstr(((hdr_t *)out->headers->pdata[i])->name, ==, want[i]);
  assert_bytes_str(((hdr_t *)out->headers->pdata[0])->value, "first");
  assert_bytes_str(((hdr_t *)out->headers->pdata[3])->value, "from-hp");
  assert_bytes_str(((hdr_t *)out->headers->pdata[4])->value, NULL);

  /* no headers in: an empty (non-NULL) set, and the sink produces none */
  fx_process_ok(task, "in", 1, 2, "k", "v");
  out = fx.produced->pdata[3];
  g_assert_cmpuint(out->headers->len, ==, 2); /* added + nullh */
  task_close(task, true);
  fx_clear(&fx);
}

/* ---- a counting processor over a KV store ---- */

typedef struct counter {
  brook_kv_store_t *store;
} counter_t;

static brook_err_t counter_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                                size_t errstr_size) {
  counter_t *c = g_new0(counter_t, 1);
  c->store = brook_ctx_kv_store(ctx, "counts");
  if (!c->store) {
    g_free(c);
    g_snprintf(errstr, errstr_size, "no store");
    return BROOK_ERR__FAIL;
  }
  *statep = c;
  return BROOK_ERR_NONE;
}

static void counter_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  counter_t *c = state;
  const char *k = rec->key;
  const void *v;
  size_t vl;
  int64_t n = 0;
  if (brook_kv_store_get(c->store, k, strlen(k), &v, &vl, NULL) == BROOK_ERR_NONE) n = brook_serde_get_i64(v);
  n++;
  uint8_t b[8];
  brook_serde_put_i64(b, n);
  if (brook_kv_store_put(c->store, k, strlen(k), b, 8, rec->timestamp)) {
    brook_ctx_fail(ctx, BROOK_ERR__IO, "put: %s", brook_kv_store_errstr(c->store));
    return;
  }
  brook_record_t out = *rec;
  out.value = brook_scratch_i64(n);
  brook_ctx_forward(ctx, &out);
}

static void counter_close(brook_processor_context_t *ctx, void *state) { g_free(state); }

static int g_counter_closed;
static void counter_close_count(brook_processor_context_t *ctx, void *state) {
  g_counter_closed++;
  g_free(state);
}

static void build_counter(fx_t *fx, bool caching) {
  add_source(fx, "src", "words", NULL, NULL);
  brook_processor_def_t def = {
      .init = counter_init, .process = counter_process, .close = counter_close_count};
  add_processor(fx, "counter", &def, "src");
  brook_serde_t *i64 = brook_serde_i64_new();
  add_sink(fx, "out", "counts-out", NULL, i64, "counter");
  brook_serde_unref(i64);
  brook_store_def_t sd = {.name = "counts", .kind = BROOK_STORE_KV, .caching_disabled = !caching};
  const char *procs[] = {"counter", NULL};
  char e[512];
  if (brook_topology_add_store(fx->topology, &sd, procs, e, sizeof e)) g_error("%s", e);
  fx_seal(fx);
}

static void assert_changelog(fx_t *fx, guint nth, const char *key, int64_t count, int32_t partition) {
  produced_t *p = fx_nth_topic(fx, CHANGELOG, nth);
  g_assert_cmpint(p->partition, ==, partition);
  assert_bytes_str(p->key, key);
  g_assert_cmpint(bytes_i64(p->value), ==, count);
  g_assert_cmpuint(p->headers->len, ==, 0);
}

static void assert_out_count(fx_t *fx, guint nth, const char *key, int64_t count) {
  produced_t *p = fx_nth_topic(fx, "counts-out", nth);
  assert_bytes_str(p->key, key);
  g_assert_cmpint(bytes_i64(p->value), ==, count);
}

static void test_kv_store_count(void) {
  fx_t fx;
  fx_init(&fx, 0);
  build_counter(&fx, false);
  char e[512];
  stream_task_t *task = NULL;
  g_assert_cmpint(task_new(&fx.env, 0, 3, &task, e, sizeof e), ==, 0);
  size_t n;
  const task_changelog_t *cl = task_changelogs(task, &n);
  g_assert_cmpuint(n, ==, 1);
  g_assert_cmpstr(cl[0].topic, ==, CHANGELOG);
  g_assert_cmpint(cl[0].partition, ==, 3);
  g_assert_cmpint(cl[0].start_offset, ==, 0);
  g_assert_cmpint(cl[0].store_index, ==, 0);
  g_assert_cmpint(task_restore_done(task, e, sizeof e), ==, 0);

  fx_process_ok(task, "words", 0, 10, "a", "x");
  fx_process_ok(task, "words", 1, 11, "b", "x");
  fx_process_ok(task, "words", 2, 12, "a", "x");
  g_assert_cmpuint(fx_count_topic(&fx, CHANGELOG), ==, 3);
  assert_changelog(&fx, 0, "a", 1, 3);
  assert_changelog(&fx, 1, "b", 1, 3);
  assert_changelog(&fx, 2, "a", 2, 3);
  g_assert_cmpint(fx_nth_topic(&fx, CHANGELOG, 2)->timestamp, ==, 12);
  assert_out_count(&fx, 2, "a", 2);
  g_assert_cmpint(fx_nth_topic(&fx, "counts-out", 2)->partition, ==, -1);
  fx_commit(&fx, task);
  task_close(task, true);

  /* the store's contents, read back directly from the task directory */
  brook_task_dir_t *dir = NULL;
  g_assert_cmpint(brook_task_dir_open(fx.senv, "0_3", &dir, e, sizeof e), ==, 0);
  g_assert_cmpint(brook_task_dir_checkpoint_get(dir, CHANGELOG, 3), ==, 3);
  brook_store_opts_t so = {.name = "counts"};
  brook_kv_store_t *store = NULL;
  g_assert_cmpint(brook_kv_store_open(fx.senv, dir, &so, 0, &store, e, sizeof e), ==, 0);
  const void *v;
  size_t vl;
  g_assert_cmpint(brook_kv_store_get(store, "a", 1, &v, &vl, NULL), ==, 0);
  g_assert_cmpint(brook_serde_get_i64(v), ==, 2);
  g_assert_cmpint(brook_kv_store_get(store, "b", 1, &v, &vl, NULL), ==, 0);
  g_assert_cmpint(brook_serde_get_i64(v), ==, 1);
  brook_kv_store_close(store);
  brook_task_dir_close(dir);
  fx_clear(&fx);
}

/* With a record cache, changelog and downstream records wait for task_flush
 * and are collapsed per key. */
typedef struct fwd_state {
  brook_processor_context_t *ctx;
  brook_kv_store_t *store;
} fwd_state_t;

static void fwd_apply(void *opaque, const void *key, size_t key_len, const void *new_value,
                      size_t new_value_len, const void *old_value, size_t old_value_len, int64_t timestamp) {
  fwd_state_t *s = opaque;
  brook_record_t rec = {
      .key = brook_scratch_strndup(key, key_len),
      .value = new_value ? brook_scratch_i64(brook_serde_get_i64(new_value)) : NULL,
      .timestamp = timestamp,
  };
  brook_ctx_forward(s->ctx, &rec);
}

static brook_err_t cached_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                               size_t errstr_size) {
  fwd_state_t *s = g_new0(fwd_state_t, 1);
  s->ctx = ctx;
  s->store = brook_ctx_kv_store(ctx, "counts");
  brook_cache_flush_listener_t l = {fwd_apply, s};
  brook_kv_store_set_flush_listener(s->store, &l);
  *statep = s;
  return BROOK_ERR_NONE;
}

static void cached_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  fwd_state_t *s = state;
  const char *k = rec->key;
  const void *v;
  size_t vl;
  int64_t n = 0;
  if (brook_kv_store_get(s->store, k, strlen(k), &v, &vl, NULL) == BROOK_ERR_NONE) n = brook_serde_get_i64(v);
  uint8_t b[8];
  brook_serde_put_i64(b, n + 1);
  brook_kv_store_put(s->store, k, strlen(k), b, 8, rec->timestamp);
}

static void test_cached_store_flush(void) {
  fx_t fx;
  fx_init(&fx, 1 << 20);
  add_source(&fx, "src", "words", NULL, NULL);
  brook_processor_def_t def = {.init = cached_init, .process = cached_process, .close = counter_close};
  add_processor(&fx, "counter", &def, "src");
  brook_serde_t *i64 = brook_serde_i64_new();
  add_sink(&fx, "out", "counts-out", NULL, i64, "counter");
  brook_serde_unref(i64);
  brook_store_def_t sd = {.name = "counts", .kind = BROOK_STORE_KV};
  const char *procs[] = {"counter", NULL};
  char e[512];
  g_assert_cmpint(brook_topology_add_store(fx.topology, &sd, procs, e, sizeof e), ==, 0);
  fx_seal(&fx);

  stream_task_t *task = fx_task(&fx, 0, 1);
  for (int i = 0; i < 5; i++) fx_process_ok(task, "words", i, 100 + i, i % 2 ? "b" : "a", "x");
  g_assert_cmpuint(fx.produced->len, ==, 0); /* all in the cache */
  g_assert_cmpint(task_flush(task, e, sizeof e), ==, 0);
  g_assert_cmpuint(fx_count_topic(&fx, CHANGELOG), ==, 2);
  g_assert_cmpuint(fx_count_topic(&fx, "counts-out"), ==, 2);
  int64_t a = -1, b = -1;
  for (guint i = 0; i < 2; i++) {
    produced_t *p = fx_nth_topic(&fx, "counts-out", i);
    gsize kl;
    const char *k = g_bytes_get_data(p->key, &kl);
    if (kl == 1 && k[0] == 'a') a = bytes_i64(p->value);
    if (kl == 1 && k[0] == 'b') b = bytes_i64(p->value);
  }
  g_assert_cmpint(a, ==, 3);
  g_assert_cmpint(b, ==, 2);
  g_assert_cmpint(task_commit_done(task, fx_next_offset, &fx, e, sizeof e), ==, 0);
  task_close(task, true);
  fx_clear(&fx);
}

static void remove_checkpoint(fx_t *fx, const char *task) {
  char *path = g_build_filename(fx->dir, APP, task, ".checkpoint", NULL);
  g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
  g_assert_cmpint(g_unlink(path), ==, 0);
  g_free(path);
}

static void restore_metrics_cb(const char *store, uint64_t restored, int64_t remaining, void *opaque) {
  g_assert_cmpstr(store, ==, "counts");
  *(uint64_t *)opaque = restored;
}

static void test_restore(void) {
  fx_t fx;
  fx_init(&fx, 0);
  build_counter(&fx, false);
  char e[512];

  /* first life */
  stream_task_t *task = fx_task(&fx, 0, 3);
  fx_process_ok(task, "words", 0, 10, "a", "x");
  fx_process_ok(task, "words", 1, 11, "b", "x");
  fx_process_ok(task, "words", 2, 12, "a", "x");
  fx_commit(&fx, task);
  g_counter_closed = 0;
  task_close(task, true);
  g_assert_cmpint(g_counter_closed, ==, 1);

  /* second life after a clean close: nothing to read from the changelog */
  g_assert_cmpint(task_new(&fx.env, 0, 3, &task, e, sizeof e), ==, 0);
  size_t n;
  const task_changelog_t *cl = task_changelogs(task, &n);
  g_assert_cmpuint(n, ==, 1);
  g_assert_cmpint(cl[0].start_offset, ==, 3);
  g_assert_cmpint(task_restore_done(task, e, sizeof e), ==, 0);
  fx_process_ok(task, "words", 3, 13, "a", "x");
  assert_out_count(&fx, 3, "a", 3);
  fx_commit(&fx, task);
  task_close(task, true);
  g_assert_cmpuint(fx_count_topic(&fx, CHANGELOG), ==, 4);

  /* third life without a checkpoint: the store is wiped, restored from the changelog */
  remove_checkpoint(&fx, "0_3");
  g_assert_cmpint(task_new(&fx.env, 0, 3, &task, e, sizeof e), ==, 0);
  cl = task_changelogs(task, &n);
  g_assert_cmpint(cl[0].start_offset, ==, 0);
  GArray *recs = g_array_new(FALSE, TRUE, sizeof(brook_changelog_record_t));
  for (guint i = 0; i < fx_count_topic(&fx, CHANGELOG); i++) {
    produced_t *p = fx_nth_topic(&fx, CHANGELOG, i);
    brook_changelog_record_t r = {0};
    gsize kl, vl;
    r.key = g_bytes_get_data(p->key, &kl);
    r.key_len = kl;
    r.value = g_bytes_get_data(p->value, &vl);
    r.value_len = vl;
    r.timestamp = p->timestamp;
    r.offset = i;
    g_array_append_val(recs, r);
  }
  /* two batches */
  g_assert_cmpint(
      task_restore(task, cl[0].store_index, (brook_changelog_record_t *)recs->data, 2, 4, e, sizeof e), ==,
      0);
  g_assert_cmpint(
      task_restore(task, cl[0].store_index, (brook_changelog_record_t *)recs->data + 2, 2, 4, e, sizeof e),
      ==, 0);
  uint64_t restored = 0;
  task_restore_metrics(task, restore_metrics_cb, &restored);
  g_assert_cmpuint(restored, ==, 4);
  g_array_unref(recs);
  g_assert_cmpint(task_restore_done(task, e, sizeof e), ==, 0);
  fx_process_ok(task, "words", 4, 14, "a", "x");
  fx_process_ok(task, "words", 5, 15, "b", "x");
  assert_out_count(&fx, 4, "a", 4);
  assert_out_count(&fx, 5, "b", 2);
  fx_commit(&fx, task);
  task_close(task, true);

  /* a dirty close leaves no checkpoint: the next owner restores everything */
  task = fx_task(&fx, 0, 3);
  fx_process_ok(task, "words", 6, 16, "c", "x");
  task_close(task, false);
  g_assert_cmpint(task_new(&fx.env, 0, 3, &task, e, sizeof e), ==, 0);
  cl = task_changelogs(task, &n);
  g_assert_cmpint(cl[0].start_offset, ==, 0);
  task_close(task, false);
  fx_clear(&fx);
}

/* Two tasks on the same directory: the second is refused. */
static void test_task_dir_locked(void) {
  fx_t fx;
  fx_init(&fx, 0);
  build_counter(&fx, false);
  stream_task_t *task = fx_task(&fx, 0, 0);
  stream_task_t *t2 = NULL;
  char e[512];
  brook_err_t err = task_new(&fx.env, 0, 0, &t2, e, sizeof e);
  g_assert_cmpint(err, ==, BROOK_ERR__LOCKED);
  g_assert_null(t2);
  g_assert_nonnull(strstr(e, "0_0"));
  task_close(task, true);
  fx_clear(&fx);
}

/* Window and session stores: fetched through the context, logged to their
 * changelogs with the task's partition and restored through task_restore. */
typedef struct ws_state {
  brook_window_store_t *win;
  brook_session_store_t *ses;
} ws_state_t;

static brook_err_t ws_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                           size_t errstr_size) {
  ws_state_t *s = g_new0(ws_state_t, 1);
  s->win = brook_ctx_window_store(ctx, "wins");
  s->ses = brook_ctx_session_store(ctx, "sessions");
  g_assert_nonnull(s->win);
  g_assert_nonnull(s->ses);
  g_assert_null(brook_ctx_session_store(ctx, "wins")); /* wrong kind: fails the task */
  *statep = s;
  return BROOK_ERR_NONE;
}

static brook_err_t ws_init_ok(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                              size_t errstr_size) {
  ws_state_t *s = g_new0(ws_state_t, 1);
  s->win = brook_ctx_window_store(ctx, "wins");
  s->ses = brook_ctx_session_store(ctx, "sessions");
  *statep = s;
  return BROOK_ERR_NONE;
}

static void ws_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  ws_state_t *s = state;
  const char *k = rec->key, *v = rec->value;
  int64_t start = rec->timestamp / 1000 * 1000;
  char e[256];
  if (brook_window_store_put(s->win, k, strlen(k), v, strlen(v), start, e, sizeof e) ||
      brook_session_store_put(s->ses, k, strlen(k), rec->timestamp, rec->timestamp + 10, v, strlen(v), e,
                              sizeof e))
    brook_ctx_fail(ctx, BROOK_ERR__IO, "%s", e);
}

static void build_ws(fx_t *fx,
                     brook_err_t (*init)(brook_processor_context_t *, void *, void **, char *, size_t)) {
  add_source(fx, "src", "in", NULL, NULL);
  brook_processor_def_t def = {.init = init, .process = ws_process, .close = counter_close};
  add_processor(fx, "ws", &def, "src");
  const char *procs[] = {"ws", NULL};
  char e[512];
  brook_store_def_t wd = {.name = "wins",
                          .kind = BROOK_STORE_WINDOW,
                          .retention_ms = 3600000,
                          .window_size_ms = 1000,
                          .caching_disabled = true};
  g_assert_cmpint(brook_topology_add_store(fx->topology, &wd, procs, e, sizeof e), ==, 0);
  brook_store_def_t sd = {
      .name = "sessions", .kind = BROOK_STORE_SESSION, .retention_ms = 3600000, .caching_disabled = true};
  g_assert_cmpint(brook_topology_add_store(fx->topology, &sd, procs, e, sizeof e), ==, 0);
  fx_seal(fx);
}

static void test_window_session_stores(void) {
  fx_t fx;
  fx_init(&fx, 0);
  build_ws(&fx, ws_init);
  stream_task_t *task = NULL;
  char e[512];
  g_assert_cmpint(task_new(&fx.env, 0, 2, &task, e, sizeof e), ==, 0);
  g_assert_cmpint(task_restore_done(task, e, sizeof e), !=, 0);
  g_assert_nonnull(strstr(e, "session store"));
  task_close(task, false);
  fx_clear(&fx);

  fx_init(&fx, 0);
  build_ws(&fx, ws_init_ok);
  g_assert_cmpint(task_new(&fx.env, 0, 2, &task, e, sizeof e), ==, 0);
  size_t n;
  const task_changelog_t *cl = task_changelogs(task, &n);
  g_assert_cmpuint(n, ==, 2);
  for (size_t i = 0; i < n; i++) {
    g_assert_cmpint(cl[i].partition, ==, 2);
    g_assert_cmpint(cl[i].start_offset, ==, 0);
  }
  g_assert_cmpint(task_restore_done(task, e, sizeof e), ==, 0);
  fx_process_ok(task, "in", 0, 1500, "k", "v1");
  fx_process_ok(task, "in", 1, 2500, "k", "v2");
  g_assert_cmpuint(fx_count_topic(&fx, "app-wins-changelog"), ==, 2);
  g_assert_cmpuint(fx_count_topic(&fx, "app-sessions-changelog"), ==, 2);
  produced_t *p = fx_nth_topic(&fx, "app-wins-changelog", 1);
  g_assert_cmpint(p->partition, ==, 2);
  gsize kl;
  const uint8_t *k = g_bytes_get_data(p->key, &kl);
  size_t key_len;
  int64_t start;
  int32_t seq;
  g_assert_true(brook_window_store_key_decode(k, kl, &key_len, &start, &seq));
  g_assert_cmpmem(k, key_len, "k", 1);
  g_assert_cmpint(start, ==, 2000);
  assert_bytes_str(p->value, "v2");
  fx_commit(&fx, task);
  task_close(task, true);

  /* wipe and restore both from what was logged */
  remove_checkpoint(&fx, "0_2");
  g_assert_cmpint(task_new(&fx.env, 0, 2, &task, e, sizeof e), ==, 0);
  cl = task_changelogs(task, &n);
  for (size_t i = 0; i < n; i++) {
    g_assert_cmpint(cl[i].start_offset, ==, 0);
    brook_changelog_record_t recs[2];
    for (guint j = 0; j < 2; j++) {
      produced_t *q = fx_nth_topic(&fx, cl[i].topic, j);
      gsize l1, l2;
      recs[j] = (brook_changelog_record_t){.key = g_bytes_get_data(q->key, &l1),
                                           .value = g_bytes_get_data(q->value, &l2),
                                           .timestamp = q->timestamp,
                                           .offset = j};
      recs[j].key_len = l1;
      recs[j].value_len = l2;
    }
    g_assert_cmpint(task_restore(task, cl[i].store_index, recs, 2, 2, e, sizeof e), ==, 0);
  }
  g_assert_cmpint(task_restore_done(task, e, sizeof e), ==, 0);
  task_close(task, true);

  /* the restored contents, read directly */
  brook_task_dir_t *dir = NULL;
  g_assert_cmpint(brook_task_dir_open(fx.senv, "0_2", &dir, e, sizeof e), ==, 0);
  brook_window_store_opts_t wo = {.store = {.name = "wins"}, .retention_ms = 3600000, .window_size_ms = 1000};
  brook_window_store_t *win = NULL;
  g_assert_cmpint(brook_window_store_open(fx.senv, dir, &wo, &win, e, sizeof e), ==, 0);
  void *v = NULL;
  size_t vl = 0;
  g_assert_cmpint(brook_window_store_get(win, "k", 1, 1000, &v, &vl, e, sizeof e), ==, 0);
  g_assert_cmpmem(v, vl, "v1", 2);
  free(v);
  brook_window_store_close(win);
  brook_session_store_opts_t so = {.store = {.name = "sessions"}, .retention_ms = 3600000};
  brook_session_store_t *ses = NULL;
  g_assert_cmpint(brook_session_store_open(fx.senv, dir, &so, &ses, e, sizeof e), ==, 0);
  g_assert_cmpint(brook_session_store_fetch_session(ses, "k", 1, 2500, 2510, &v, &vl, e, sizeof e), ==, 0);
  g_assert_cmpmem(v, vl, "v2", 2);
  free(v);
  brook_session_store_close(ses);
  brook_task_dir_close(dir);
  fx_clear(&fx);
}

/* ---- punctuation ---- */

typedef struct punct_state {
  brook_processor_context_t *ctx;
  GArray *fired; /* int64_t */
  int64_t id;
  brook_punctuation_type_t type;
  int64_t interval;
  bool ctx_ok;
  int64_t cancel_after; /* cancel itself after this many firings (0: never) */
} punct_state_t;

static punct_state_t g_punct;

static void punct_fn(brook_processor_context_t *ctx, void *state, int64_t timestamp) {
  punct_state_t *s = state;
  g_array_append_val(s->fired, timestamp);
  s->ctx_ok &= brook_ctx_topic(ctx) == NULL && brook_ctx_partition(ctx) == -1 &&
               brook_ctx_offset(ctx) == -1 && brook_ctx_timestamp(ctx) == timestamp;
  brook_record_t rec = {
      .key = "tick", .value = brook_scratch_printf("%" G_GINT64_FORMAT, timestamp), .timestamp = timestamp};
  brook_ctx_forward(ctx, &rec);
  if (s->cancel_after && (int64_t)s->fired->len >= s->cancel_after) brook_ctx_cancel(ctx, s->id);
}

static brook_err_t punct_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                              size_t errstr_size) {
  g_punct.ctx = ctx;
  g_punct.id = brook_ctx_schedule(ctx, g_punct.interval, g_punct.type, punct_fn, &g_punct);
  g_assert_cmpint(g_punct.id, >, 0);
  *statep = &g_punct;
  return BROOK_ERR_NONE;
}

static void pass_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {}

static void build_punct(fx_t *fx, brook_punctuation_type_t type, int64_t interval) {
  memset(&g_punct, 0, sizeof g_punct);
  g_punct.fired = g_array_new(FALSE, FALSE, sizeof(int64_t));
  g_punct.type = type;
  g_punct.interval = interval;
  g_punct.ctx_ok = true;
  add_source(fx, "src", "in", NULL, NULL);
  brook_processor_def_t def = {.init = punct_init, .process = pass_process};
  add_processor(fx, "p", &def, "src");
  add_sink(fx, "out", "ticks", NULL, NULL, "p");
  fx_seal(fx);
}

static void assert_fired(const int64_t *want, size_t n) {
  g_assert_cmpuint(g_punct.fired->len, ==, n);
  for (size_t i = 0; i < n; i++) g_assert_cmpint(g_array_index(g_punct.fired, int64_t, i), ==, want[i]);
}

static void test_punctuate_stream_time(void) {
  fx_t fx;
  fx_init(&fx, 0);
  build_punct(&fx, BROOK_PUNCTUATE_STREAM_TIME, 10);
  stream_task_t *task = fx_task(&fx, 0, 0);
  char e[512];
  /* wall-clock passes do not fire stream-time punctuators */
  g_assert_cmpint(task_punctuate_wall_clock(task, 1 << 30, e, sizeof e), ==, 0);
  g_assert_cmpuint(g_punct.fired->len, ==, 0);

  fx_process_ok(task, "in", 0, 3, "k", "v"); /* first record: fires at 3 */
  fx_process_ok(task, "in", 1, 7, "k", "v");
  fx_process_ok(task, "in", 2, 10, "k", "v"); /* reaches 10 */
  fx_process_ok(task, "in", 3, 15, "k", "v");
  fx_process_ok(task, "in", 4, 5, "k", "v");  /* out of order: stream time stays 15 */
  fx_process_ok(task, "in", 5, 45, "k", "v"); /* 20, 30, 40 missed: fires once at 45 */
  fx_process_ok(task, "in", 6, 49, "k", "v");
  fx_process_ok(task, "in", 7, 50, "k", "v");
  int64_t want[] = {3, 10, 45, 50};
  assert_fired(want, G_N_ELEMENTS(want));
  g_assert_true(g_punct.ctx_ok);
  /* what the punctuator forwarded went out with the punctuation time */
  g_assert_cmpuint(fx_count_topic(&fx, "ticks"), ==, 4);
  produced_t *p = fx_nth_topic(&fx, "ticks", 2);
  assert_bytes_str(p->value, "45");
  g_assert_cmpint(p->timestamp, ==, 45);

  /* cancel: no more firings */
  brook_ctx_cancel(g_punct.ctx, g_punct.id);
  fx_process_ok(task, "in", 8, 100, "k", "v");
  g_assert_cmpuint(g_punct.fired->len, ==, 4);

  task_close(task, true);
  g_array_unref(g_punct.fired);
  fx_clear(&fx);
}

static void test_punctuate_wall_clock(void) {
  fx_t fx;
  fx_init(&fx, 0);
  fx.now = 1000;
  build_punct(&fx, BROOK_PUNCTUATE_WALL_CLOCK, 100);
  stream_task_t *task = fx_task(&fx, 0, 0); /* scheduled at 1000: first at 1100 */
  g_assert_cmpint(brook_ctx_wall_clock(g_punct.ctx), ==, 1000);
  char e[512];
  g_assert_cmpint(task_punctuate_wall_clock(task, 1050, e, sizeof e), ==, 0);
  g_assert_cmpuint(g_punct.fired->len, ==, 0);
  /* records do not fire wall-clock punctuators */
  fx_process_ok(task, "in", 0, 5000, "k", "v");
  g_assert_cmpuint(g_punct.fired->len, ==, 0);
  g_assert_cmpint(task_punctuate_wall_clock(task, 1100, e, sizeof e), ==, 0);
  g_assert_cmpint(task_punctuate_wall_clock(task, 1150, e, sizeof e), ==, 0);
  g_assert_cmpint(task_punctuate_wall_clock(task, 1420, e, sizeof e), ==, 0); /* 1200..1400 missed: once */
  g_assert_cmpint(task_punctuate_wall_clock(task, 1499, e, sizeof e), ==, 0);
  g_assert_cmpint(task_punctuate_wall_clock(task, 1500, e, sizeof e), ==, 0);
  int64_t want[] = {1100, 1420, 1500};
  assert_fired(want, G_N_ELEMENTS(want));
  g_assert_true(g_punct.ctx_ok);
  produced_t *p = fx_nth_topic(&fx, "ticks", 1);
  g_assert_cmpint(p->timestamp, ==, 1420);

  /* a punctuator cancelling itself from inside */
  g_punct.cancel_after = 4;
  g_assert_cmpint(task_punctuate_wall_clock(task, 1600, e, sizeof e), ==, 0);
  g_assert_cmpint(task_punctuate_wall_clock(task, 1700, e, sizeof e), ==, 0);
  g_assert_cmpuint(g_punct.fired->len, ==, 4);
  task_close(task, true);
  g_array_unref(g_punct.fired);
  fx_clear(&fx);
}

/* ---- errors ---- */

static void build_i32_source(fx_t *fx) {
  brook_serde_t *i32 = brook_serde_i32_new();
  add_source(fx, "src", "nums", NULL, i32);
  add_sink(fx, "out", "nums-out", NULL, i32, "src");
  brook_serde_unref(i32);
  fx_seal(fx);
}

static void test_deserialization_continue(void) {
  fx_t fx;
  fx_init(&fx, 0);
  fx.conf.deserialization_handler = STREAMS_DESER_LOG_AND_CONTINUE;
  build_i32_source(&fx);
  stream_task_t *task = fx_task(&fx, 0, 4);
  char e[512];
  g_assert_cmpint(task_process(task, "nums", 4, 17, 1, "k", 1, "abc", 3, NULL, 0, e, sizeof e), ==, 0);
  g_assert_cmpuint(fx.produced->len, ==, 0);
  g_assert_cmpuint(task_dropped(task), ==, 1);
  g_assert_cmpuint(task_processed(task), ==, 0);
  g_assert_true(fx_logged(&fx, "nums"));
  g_assert_true(fx_logged(&fx, "partition 4"));
  g_assert_true(fx_logged(&fx, "offset 17"));
  uint8_t good[4];
  brook_serde_put_i32(good, 42);
  g_assert_cmpint(task_process(task, "nums", 4, 18, 2, "k", 1, good, 4, NULL, 0, e, sizeof e), ==, 0);
  g_assert_cmpuint(fx.produced->len, ==, 1);
  g_assert_cmpmem(g_bytes_get_data(((produced_t *)fx.produced->pdata[0])->value, NULL), 4, good, 4);
  g_assert_false(task_failed(task));
  task_close(task, true);
  fx_clear(&fx);
}

static void test_deserialization_fail(void) {
  fx_t fx;
  fx_init(&fx, 0);
  build_i32_source(&fx);
  stream_task_t *task = fx_task(&fx, 0, 4);
  char e[512];
  brook_err_t err = task_process(task, "nums", 4, 17, 1, "k", 1, "abc", 3, NULL, 0, e, sizeof e);
  g_assert_cmpint(err, ==, BROOK_ERR__MALFORMED);
  g_assert_nonnull(strstr(e, "nums"));
  g_assert_nonnull(strstr(e, "partition 4"));
  g_assert_nonnull(strstr(e, "offset 17"));
  g_assert_nonnull(strstr(e, "i32")); /* the serde's message */
  g_assert_true(task_failed(task));
  /* nothing runs afterwards */
  uint8_t good[4];
  brook_serde_put_i32(good, 42);
  char e2[512];
  g_assert_cmpint(task_process(task, "nums", 4, 18, 2, "k", 1, good, 4, NULL, 0, e2, sizeof e2), ==, err);
  g_assert_cmpstr(e2, ==, e);
  g_assert_cmpint(task_flush(task, e2, sizeof e2), ==, err);
  g_assert_cmpuint(fx.produced->len, ==, 0);
  task_close(task, false);
  fx_clear(&fx);
}

static int64_t neg_extractor(const brook_record_t *rec, int64_t partition_time, void *opaque) {
  GArray *pts = opaque;
  g_array_append_val(pts, partition_time);
  const char *v = rec->value;
  return strcmp(v, "neg") == 0 ? -1 : (int64_t)g_ascii_strtoll(v, NULL, 10);
}

static void test_timestamp_extractor(void) {
  fx_t fx;
  fx_init(&fx, 0);
  GArray *pts = g_array_new(FALSE, FALSE, sizeof(int64_t));
  const char *topics[] = {"in", NULL};
  brook_source_opts_t o = {
      .topics = topics, .timestamp_extractor = neg_extractor, .timestamp_extractor_opaque = pts};
  char e[512];
  g_assert_cmpint(brook_topology_add_source(fx.topology, "src", &o, e, sizeof e), ==, 0);
  add_sink(&fx, "out", "out", NULL, NULL, "src");
  fx_seal(&fx);
  stream_task_t *task = fx_task(&fx, 0, 0);
  fx_process_ok(task, "in", 0, 999, "k", "50");
  fx_process_ok(task, "in", 1, 999, "k", "neg");
  fx_process_ok(task, "in", 2, 999, "k", "30");
  fx_process_ok(task, "in", 3, 999, "k", "70");
  g_assert_cmpuint(pts->len, ==, 4);
  g_assert_cmpint(g_array_index(pts, int64_t, 0), ==, -1);
  g_assert_cmpint(g_array_index(pts, int64_t, 1), ==, 50);
  g_assert_cmpint(g_array_index(pts, int64_t, 2), ==, 50);
  g_assert_cmpint(g_array_index(pts, int64_t, 3), ==, 50);
  g_assert_cmpuint(fx.produced->len, ==, 3);
  g_assert_cmpint(((produced_t *)fx.produced->pdata[0])->timestamp, ==, 50);
  g_assert_cmpint(((produced_t *)fx.produced->pdata[1])->timestamp, ==, 30);
  g_assert_cmpint(task_stream_time(task), ==, 70);
  g_assert_cmpuint(task_dropped(task), ==, 1);
  g_assert_true(fx_logged(&fx, "invalid timestamp -1"));
  task_close(task, true);

  /* no extractor: a negative record timestamp is dropped too */
  g_ptr_array_set_size(fx.logs, 0);
  brook_topology_t *t2 = brook_topology_new();
  brook_topology_unref(fx.topology);
  fx.topology = fx.env.topology = t2;
  add_source(&fx, "src", "in", NULL, NULL);
  add_sink(&fx, "out", "out", NULL, NULL, "src");
  fx_seal(&fx);
  task = fx_task(&fx, 0, 0);
  fx_process_ok(task, "in", 5, -5, "k", "v");
  g_assert_cmpuint(fx.produced->len, ==, 3);
  g_assert_true(fx_logged(&fx, "offset 5"));
  task_close(task, true);
  g_array_unref(pts);
  fx_clear(&fx);
}

static void failing_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  if (strcmp(rec->value, "bad") == 0) {
    brook_ctx_fail(ctx, BROOK_ERR__CORRUPT, "cannot handle %s at offset %" G_GINT64_FORMAT,
                   (const char *)rec->value, brook_ctx_offset(ctx));
    brook_ctx_fail(ctx, BROOK_ERR__IO, "second failure"); /* the first one wins */
  }
  brook_ctx_forward(ctx, rec); /* after a failure: goes nowhere */
}

static void test_ctx_fail(void) {
  fx_t fx;
  fx_init(&fx, 0);
  add_source(&fx, "src", "in", NULL, NULL);
  brook_processor_def_t def = {.process = failing_process};
  add_processor(&fx, "checker", &def, "src");
  add_sink(&fx, "out", "out", NULL, NULL, "checker");
  fx_seal(&fx);
  stream_task_t *task = fx_task(&fx, 0, 0);
  fx_process_ok(task, "in", 0, 1, "k", "good");
  char e[512];
  brook_err_t err = fx_process_h(task, "in", 1, 2, "k", "bad", NULL, 0, e, sizeof e);
  g_assert_cmpint(err, ==, BROOK_ERR__CORRUPT);
  g_assert_nonnull(strstr(e, "cannot handle bad at offset 1"));
  g_assert_nonnull(strstr(e, "checker"));
  g_assert_null(strstr(e, "second"));
  g_assert_true(task_failed(task));
  g_assert_cmpuint(fx.produced->len, ==, 1);
  g_assert_cmpint(fx_process_h(task, "in", 2, 3, "k", "good", NULL, 0, e, sizeof e), ==, BROOK_ERR__CORRUPT);
  g_assert_cmpint(task_punctuate_wall_clock(task, 1 << 30, e, sizeof e), ==, BROOK_ERR__CORRUPT);
  g_assert_cmpuint(fx.produced->len, ==, 1);
  task_close(task, true); /* treated as dirty: a failed task never checkpoints */
  char *ck = g_build_filename(fx.dir, APP, "0_0", ".checkpoint", NULL);
  g_assert_false(g_file_test(ck, G_FILE_TEST_EXISTS));
  g_free(ck);
  fx_clear(&fx);
}

/* A processor asking for a store it is not connected to: NULL, and the task
 * fails naming the processor and the store. */
static brook_err_t wrong_store_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                                    size_t errstr_size) {
  g_assert_null(brook_ctx_kv_store(ctx, (const char *)opaque));
  return BROOK_ERR_NONE;
}

static void test_store_not_connected(void) {
  const char *cases[][2] = {{"counts", "is not connected"}, {"wins", "window store"}};
  for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
    fx_t fx;
    fx_init(&fx, 0);
    add_source(&fx, "src", "in", NULL, NULL);
    brook_processor_def_t owner = {.process = pass_process};
    add_processor(&fx, "owner", &owner, "src");
    brook_processor_def_t def = {
        .init = wrong_store_init, .process = pass_process, .opaque = (void *)cases[c][0]};
    add_processor(&fx, "intruder", &def, "src");
    brook_store_def_t sd = {.name = "counts", .kind = BROOK_STORE_KV};
    const char *procs[] = {"owner", NULL};
    char e[512];
    g_assert_cmpint(brook_topology_add_store(fx.topology, &sd, procs, e, sizeof e), ==, 0);
    brook_store_def_t wd = {
        .name = "wins", .kind = BROOK_STORE_WINDOW, .retention_ms = 60000, .window_size_ms = 1000};
    const char *wprocs[] = {"intruder", NULL};
    g_assert_cmpint(brook_topology_add_store(fx.topology, &wd, wprocs, e, sizeof e), ==, 0);
    fx_seal(&fx);
    stream_task_t *task = NULL;
    g_assert_cmpint(task_new(&fx.env, 0, 0, &task, e, sizeof e), ==, 0);
    size_t n;
    task_changelogs(task, &n);
    g_assert_cmpuint(n, ==, 2); /* the window store is opened and logged too */
    g_assert_cmpint(task_restore_done(task, e, sizeof e), !=, 0);
    g_assert_true(task_failed(task));
    g_assert_nonnull(strstr(e, "intruder"));
    g_assert_nonnull(strstr(e, cases[c][0]));
    g_assert_nonnull(strstr(e, cases[c][1]));
    task_close(task, false);
    fx_clear(&fx);
  }
}

/* Sinks: a topic extractor (internal sinks get the application prefix), a
 * serializer error, a produce error. */
static const char *value_topic(const brook_record_t *rec, void *opaque) { return rec->value; }

static brook_err_t failing_serialize(void *opaque, const char *topic, const void *value,
                                     brook_serde_buf_t *out, char *errstr, size_t errstr_size) {
  g_snprintf(errstr, errstr_size, "refusing %s", (const char *)value);
  return BROOK_ERR__MALFORMED;
}

static brook_err_t never_deserialize(void *opaque, const char *topic, const void *data, size_t len,
                                     void **valuep, char *errstr, size_t errstr_size) {
  return BROOK_ERR__MALFORMED;
}

static void test_sinks(void) {
  fx_t fx;
  fx_init(&fx, 0);
  add_source(&fx, "src", "in", NULL, NULL);
  const char *parents[] = {"src", NULL};
  brook_sink_opts_t dyn = {.topic_extractor = value_topic, .internal = true};
  char e[512];
  g_assert_cmpint(brook_topology_add_sink(fx.topology, "dyn", &dyn, parents, e, sizeof e), ==, 0);
  brook_sink_opts_t fixed = {.topic = "rep", .internal = true};
  g_assert_cmpint(brook_topology_add_sink(fx.topology, "fixed", &fixed, parents, e, sizeof e), ==, 0);
  fx_seal(&fx);
  stream_task_t *task = fx_task(&fx, 0, 0);
  fx_process_ok(task, "in", 0, 1, "k", "t1");
  g_assert_cmpuint(fx.produced->len, ==, 2);
  g_assert_cmpstr(((produced_t *)fx.produced->pdata[0])->topic, ==, "app-t1");
  g_assert_cmpstr(((produced_t *)fx.produced->pdata[1])->topic, ==, "app-rep");
  fx.produce_err = BROOK_ERR__NOSPC;
  g_assert_cmpint(fx_process_h(task, "in", 1, 2, "k", "t2", NULL, 0, e, sizeof e), ==, BROOK_ERR__NOSPC);
  g_assert_nonnull(strstr(e, "sink dyn"));
  g_assert_nonnull(strstr(e, "queue full (test)"));
  task_close(task, false);
  fx.produce_err = 0;

  brook_topology_unref(fx.topology);
  fx.topology = fx.env.topology = brook_topology_new();
  brook_serde_funcs_t funcs = {.serialize = failing_serialize, .deserialize = never_deserialize};
  brook_serde_t *bad = brook_serde_new("picky", &funcs, NULL);
  add_source(&fx, "src", "in", NULL, NULL);
  add_sink(&fx, "picky-sink", "out", NULL, bad, "src");
  brook_serde_unref(bad);
  fx_seal(&fx);
  task = fx_task(&fx, 0, 0);
  g_assert_cmpint(fx_process_h(task, "in", 0, 1, "k", "v", NULL, 0, e, sizeof e), ==, BROOK_ERR__MALFORMED);
  g_assert_nonnull(strstr(e, "picky-sink"));
  g_assert_nonnull(strstr(e, "refusing v"));
  task_close(task, false);
  fx_clear(&fx);
}

/* init failing: the task fails with init's message; close() is not called
 * for that processor but is for those initialised before it. */
static int g_closed_a;
static brook_err_t ok_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                           size_t errstr_size) {
  return BROOK_ERR_NONE;
}
static void a_close(brook_processor_context_t *ctx, void *state) { g_closed_a++; }
static brook_err_t bad_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                            size_t errstr_size) {
  g_snprintf(errstr, errstr_size, "missing config x");
  return BROOK_ERR__BAD_CONFIG;
}
static void bad_close(brook_processor_context_t *ctx, void *state) { g_assert_not_reached(); }

static void test_init_failure(void) {
  fx_t fx;
  fx_init(&fx, 0);
  add_source(&fx, "src", "in", NULL, NULL);
  brook_processor_def_t a = {.init = ok_init, .process = pass_process, .close = a_close};
  add_processor(&fx, "a", &a, "src");
  brook_processor_def_t b = {.init = bad_init, .process = pass_process, .close = bad_close};
  add_processor(&fx, "b", &b, "a");
  fx_seal(&fx);
  stream_task_t *task = NULL;
  char e[512];
  g_assert_cmpint(task_new(&fx.env, 0, 0, &task, e, sizeof e), ==, 0);
  g_assert_cmpint(task_restore_done(task, e, sizeof e), ==, BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(e, "missing config x"));
  g_assert_nonnull(strstr(e, "processor b"));
  g_closed_a = 0;
  task_close(task, false);
  g_assert_cmpint(g_closed_a, ==, 1);
  fx_clear(&fx);
}

/* commit requests */
static void commit_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  brook_ctx_commit(ctx);
  g_assert_cmpstr(brook_ctx_task_id(ctx), ==, "0_5");
  g_assert_cmpstr(brook_ctx_application_id(ctx), ==, APP);
  g_assert_nonnull(brook_ctx_default_key_serde(ctx));
  g_assert_nonnull(brook_ctx_default_value_serde(ctx));
  g_assert_cmpstr(brook_ctx_node_name(ctx), ==, "c");
}

static void test_commit_request(void) {
  fx_t fx;
  fx_init(&fx, 0);
  add_source(&fx, "src", "in", NULL, NULL);
  brook_processor_def_t def = {.process = commit_process};
  add_processor(&fx, "c", &def, "src");
  fx_seal(&fx);
  stream_task_t *task = fx_task(&fx, 0, 5);
  g_assert_false(task_commit_requested(task));
  fx_process_ok(task, "in", 0, 1, "k", "v");
  g_assert_true(task_commit_requested(task));
  fx_commit(&fx, task);
  g_assert_false(task_commit_requested(task));
  task_close(task, true);
  fx_clear(&fx);
}

/* ---- scratch memory ---- */

static int g_owned_freed;
static void owned_free(void *p) {
  g_owned_freed++;
  g_free(p);
}

static void test_scratch_arena(void) {
  scratch_t *s = scratch_new();
  g_assert_null(scratch_enter(s));
  size_t blocks, bytes;
  scratch_debug_stats(s, &blocks, &bytes);
  g_assert_cmpuint(blocks, ==, 1);
  size_t first = bytes;

  /* alignment, zeroing, copies */
  char *c = brook_scratch_alloc(3);
  int64_t *i = brook_scratch_i64(-7);
  g_assert_cmpuint((uintptr_t)i % 8, ==, 0);
  g_assert_cmpint(*i, ==, -7);
  g_assert_cmpint(c[0] | c[1] | c[2], ==, 0);
  g_assert_cmpstr(brook_scratch_strndup("abcdef", 3), ==, "abc");
  g_assert_cmpstr(brook_scratch_printf("%d-%s", 5, "x"), ==, "5-x");
  g_assert_cmpint(*brook_scratch_i32(9), ==, 9);
  g_assert_cmpfloat(*brook_scratch_double(1.5), ==, 1.5);
  g_assert_null(brook_scratch_strdup(NULL));

  /* growth past the first block, a big allocation, owned values */
  g_owned_freed = 0;
  for (int k = 0; k < 1000; k++) brook_scratch_alloc(100);
  void *big = brook_scratch_alloc(1 << 20);
  memset(big, 1, 1 << 20);
  brook_scratch_own_full(g_strdup("x"), owned_free);
  brook_serde_t *str = brook_serde_string_new();
  void *v = NULL;
  char e[128];
  g_assert_cmpint(brook_serde_deserialize(str, NULL, "abc", 3, &v, e, sizeof e), ==, 0);
  brook_scratch_own(str, v);
  brook_serde_unref(str); /* the arena keeps its own reference */
  scratch_debug_stats(s, &blocks, &bytes);
  g_assert_cmpuint(blocks, >, 2);
  g_assert_cmpuint(bytes, >, 1 << 20);

  /* nesting: the inner scope sees its own arena, the outer comes back */
  scratch_t *inner = scratch_new();
  g_assert_true(scratch_enter(inner) == s);
  brook_scratch_own_full(g_strdup("y"), owned_free);
  scratch_reset(inner);
  g_assert_cmpint(g_owned_freed, ==, 1);
  g_assert_true(scratch_enter(s) == inner);
  scratch_destroy(inner);

  scratch_reset(s);
  g_assert_cmpint(g_owned_freed, ==, 2);
  scratch_debug_stats(s, &blocks, &bytes);
  g_assert_cmpuint(blocks, ==, 1);
  g_assert_cmpuint(bytes, ==, first); /* a record of > 256 KiB is not worth keeping */

  /* a record needing ~100 KB: the first block grows to fit it (bounded), so
   * the next such record allocates no block */
  for (int k = 0; k < 1000; k++) brook_scratch_alloc(100);
  scratch_debug_stats(s, &blocks, &bytes);
  g_assert_cmpuint(blocks, >, 1);
  scratch_reset(s);
  scratch_debug_stats(s, &blocks, &bytes);
  g_assert_cmpuint(blocks, ==, 1);
  g_assert_cmpuint(bytes, >=, 100 * 1000);
  g_assert_cmpuint(bytes, <=, 256 * 1024);
  for (int k = 0; k < 1000; k++) brook_scratch_alloc(100);
  scratch_debug_stats(s, &blocks, &bytes);
  g_assert_cmpuint(blocks, ==, 1);
  scratch_reset(s);
  g_assert_true(scratch_enter(NULL) == s);
  scratch_destroy(s);
}

static void test_scratch_outside_scope(void) {
  if (g_test_subprocess()) {
    brook_scratch_alloc(8);
    return;
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed();
  g_test_trap_assert_stderr("*outside process()*");
}

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan a scratch pointer kept past the reset is reported. */
static void test_scratch_use_after_reset(void) {
  if (g_test_subprocess()) {
    scratch_t *s = scratch_new();
    scratch_enter(s);
    char *kept = brook_scratch_strdup("record value");
    scratch_reset(s);
    volatile char c = kept[0];
    (void)c;
    return;
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed();
  g_test_trap_assert_stderr("*use-after-poison*");
}
#endif

/* A processor that makes garbage on every record: copies, printf, headers,
 * owned allocations, and now and then a big value. */
static void garbage_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  uint64_t *count = state;
  (*count)++;
  char *v = brook_scratch_printf("%s-%" G_GUINT64_FORMAT, (const char *)rec->value, *count);
  for (int i = 0; i < 8; i++) brook_headers_add(rec->headers, "h", v, strlen(v));
  static const char blob[2000];
  brook_scratch_memdup(blob, sizeof blob);
  brook_scratch_own_full(g_malloc(64), g_free);
  if (*count % 1000 == 0) brook_scratch_alloc(100000);
  brook_record_t out = *rec;
  out.value = brook_scratch_strdup(v);
  brook_ctx_forward(ctx, &out);
}

static brook_err_t garbage_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                                size_t errstr_size) {
  *statep = g_new0(uint64_t, 1);
  return BROOK_ERR_NONE;
}

static brook_err_t discard_produce(void *opaque, const char *topic, int32_t partition, const void *key,
                                   size_t key_len, const void *value, size_t value_len, int64_t timestamp,
                                   const task_header_t *headers, size_t header_count, char *errstr,
                                   size_t errstr_size) {
  uint64_t *n = opaque;
  (*n)++;
  g_assert_cmpuint(header_count, ==, 8);
  return BROOK_ERR_NONE;
}

static void test_scratch_bounded(void) {
  fx_t fx;
  fx_init(&fx, 0);
  uint64_t produced = 0;
  fx.env.produce = discard_produce;
  fx.env.produce_opaque = &produced;
  add_source(&fx, "src", "in", NULL, NULL);
  brook_processor_def_t def = {.init = garbage_init, .process = garbage_process, .close = counter_close};
  add_processor(&fx, "g", &def, "src");
  add_sink(&fx, "out", "out", NULL, NULL, "g");
  fx_seal(&fx);
  stream_task_t *task = fx_task(&fx, 0, 0);
  size_t max_blocks = 0, max_bytes = 0, blocks, bytes;
  for (int i = 0; i < 100000; i++) {
    fx_process_ok(task, "in", i, i, "key", "value");
    task_debug_scratch_stats(task, &blocks, &bytes);
    if (blocks > max_blocks) max_blocks = blocks;
    if (bytes > max_bytes) max_bytes = bytes;
  }
  g_assert_cmpuint(produced, ==, 100000);
  /* between records: one block, never above the bound */
  g_assert_cmpuint(max_blocks, ==, 1);
  g_assert_cmpuint(max_bytes, <=, 256 * 1024);
  task_close(task, true);
  fx_clear(&fx);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/streams/task/source-processor-sink", test_source_processor_sink);
  g_test_add_func("/streams/task/default-serdes", test_default_serdes);
  g_test_add_func("/streams/task/forward-to", test_forward_to);
  g_test_add_func("/streams/task/headers", test_headers);
  g_test_add_func("/streams/task/kv-store-count", test_kv_store_count);
  g_test_add_func("/streams/task/cached-store-flush", test_cached_store_flush);
  g_test_add_func("/streams/task/restore", test_restore);
  g_test_add_func("/streams/task/dir-locked", test_task_dir_locked);
  g_test_add_func("/streams/task/window-session-stores", test_window_session_stores);
  g_test_add_func("/streams/task/punctuate-stream-time", test_punctuate_stream_time);
  g_test_add_func("/streams/task/punctuate-wall-clock", test_punctuate_wall_clock);
  g_test_add_func("/streams/task/deserialization-continue", test_deserialization_continue);
  g_test_add_func("/streams/task/deserialization-fail", test_deserialization_fail);
  g_test_add_func("/streams/task/timestamp-extractor", test_timestamp_extractor);
  g_test_add_func("/streams/task/ctx-fail", test_ctx_fail);
  g_test_add_func("/streams/task/store-not-connected", test_store_not_connected);
  g_test_add_func("/streams/task/sinks", test_sinks);
  g_test_add_func("/streams/task/init-failure", test_init_failure);
  g_test_add_func("/streams/task/commit-request", test_commit_request);
  g_test_add_func("/streams/task/scratch-arena", test_scratch_arena);
  g_test_add_func("/streams/task/scratch-outside-scope", test_scratch_outside_scope);
  g_test_add_func("/streams/task/scratch-bounded", test_scratch_bounded);
#if defined(__SANITIZE_ADDRESS__)
  g_test_add_func("/streams/task/scratch-use-after-reset", test_scratch_use_after_reset);
#endif
  return g_test_run();
}
