/*
 * test-driver.c — the test driver (streams/test_driver.c) running a
 * hand-built topology on the real runtime: source "input" → processor
 * "upper" (forwards the value upper-cased; a wall-clock punctuator forwards a
 * tick per task) → sink "output", 3 partitions. Pipe and read without
 * sleeping, records staying on their key's partition, reads that return only
 * what is new, punctuation exactly when the driver moves its clock, and the
 * driver's rules (application.id default, bootstrap.servers refused, temporary
 * state.dir removed).
 */
#include <ftw.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "brook_test_driver.h"
#include "streams_int.h"

#define TICK_MS 1000

/* ---- the topology ---- */

static void tick(brook_processor_context_t *ctx, void *state, int64_t timestamp) {
  (void)state;
  brook_record_t rec = {
      .key = brook_scratch_printf("tick-%s", brook_ctx_task_id(ctx)),
      .value = brook_scratch_printf("TICK@%" G_GINT64_FORMAT, brook_ctx_wall_clock(ctx)),
      .timestamp = timestamp,
  };
  brook_ctx_forward(ctx, &rec);
}

static brook_err_t upper_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                              size_t errstr_size) {
  (void)opaque, (void)statep, (void)errstr, (void)errstr_size;
  g_assert_cmpint(brook_ctx_schedule(ctx, TICK_MS, BROOK_PUNCTUATE_WALL_CLOCK, tick, NULL), >, 0);
  return BROOK_ERR_NONE;
}

static void upper_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  (void)state;
  brook_record_t out = *rec;
  if (rec->value) {
    char *v = brook_scratch_strdup(rec->value);
    for (char *p = v; *p; p++) *p = g_ascii_toupper(*p);
    out.value = v;
  }
  brook_ctx_forward(ctx, &out);
}

static brook_topology_t *build_topology(void) {
  char errstr[512];
  brook_serde_t *s = brook_serde_string_new();
  brook_topology_t *topology = brook_topology_new();
  const char *const topics[] = {"input", NULL};
  brook_source_opts_t src = {.topics = topics, .key_serde = s, .value_serde = s};
  g_assert_cmpint(brook_topology_add_source(topology, "src", &src, errstr, sizeof errstr), ==, 0);
  brook_processor_def_t def = {.init = upper_init, .process = upper_process};
  g_assert_cmpint(brook_topology_add_processor(topology, "upper", &def, (const char *const[]){"src", NULL},
                                               errstr, sizeof errstr),
                  ==, 0);
  brook_sink_opts_t sink = {.topic = "output", .key_serde = s, .value_serde = s};
  g_assert_cmpint(brook_topology_add_sink(topology, "out", &sink, (const char *const[]){"upper", NULL},
                                          errstr, sizeof errstr),
                  ==, 0);
  brook_serde_unref(s);
  return topology;
}

/* ---- reading ---- */

typedef struct out_rec {
  char *key, *value;
  int32_t partition;
  int64_t offset, timestamp;
} out_rec_t;

static void out_rec_free(gpointer p) {
  out_rec_t *o = p;
  g_free(o->key);
  g_free(o->value);
  g_free(o);
}

static void collect(const brook_read_record_t *r, void *opaque) {
  GPtrArray *out = opaque;
  out_rec_t *o = g_new0(out_rec_t, 1);
  o->key = g_strdup(r->rec->key);
  o->value = g_strdup(r->rec->value);
  o->partition = r->partition;
  o->offset = r->offset;
  o->timestamp = r->rec->timestamp;
  g_ptr_array_add(out, o);
}

/* Kafka's Utils.murmur2 (see test-client.c for its test vectors). */
static int32_t java_partition(const char *key, int32_t partitions) {
  const uint8_t *data = (const uint8_t *)key;
  size_t length = strlen(key);
  const uint32_t m = 0x5bd1e995;
  uint32_t h = 0x9747b28c ^ (uint32_t)length;
  for (size_t i = 0; i < length / 4; i++) {
    uint32_t k = (uint32_t)data[4 * i] | (uint32_t)data[4 * i + 1] << 8 | (uint32_t)data[4 * i + 2] << 16 |
                 (uint32_t)data[4 * i + 3] << 24;
    k *= m;
    k ^= k >> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  size_t tail = length & ~(size_t)3;
  switch (length % 4) {
    case 3:
      h ^= (uint32_t)data[tail + 2] << 16; /* fall through */
    case 2:
      h ^= (uint32_t)data[tail + 1] << 8; /* fall through */
    case 1:
      h ^= data[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return (int32_t)((h & 0x7fffffff) % (uint32_t)partitions);
}

static int64_t read_all(brook_test_driver_t *driver, const char *topic, GPtrArray *out) {
  char errstr[1024] = "";
  brook_serde_t *s = brook_serde_string_new();
  g_ptr_array_set_size(out, 0);
  int64_t n = brook_test_driver_read(driver, topic, s, s, collect, out, errstr, sizeof errstr);
  if (n < 0) g_error("read %s: %s", topic, errstr);
  brook_serde_unref(s);
  return n;
}

static void pipe_range(brook_test_driver_t *driver, int from, int to) {
  char errstr[1024] = "";
  brook_serde_t *s = brook_serde_string_new();
  for (int i = from; i < to; i++) {
    char key[16], value[32];
    snprintf(key, sizeof key, "k%d", i % 10);
    snprintf(value, sizeof value, "hello %d", i);
    if (brook_test_driver_pipe(driver, "input", s, key, s, value, 1000 + i, errstr, sizeof errstr))
      g_error("pipe: %s", errstr);
  }
  brook_serde_unref(s);
}

/* Checks the upper-cased records of inputs [from, to). */
static void check_upper(GPtrArray *got, int from, int to) {
  g_assert_cmpuint(got->len, ==, (guint)(to - from));
  int last_i[10];
  for (int k = 0; k < 10; k++) last_i[k] = -1;
  for (guint j = 0; j < got->len; j++) {
    out_rec_t *o = got->pdata[j];
    int i;
    g_assert_cmpint(sscanf(o->value, "HELLO %d", &i), ==, 1);
    g_assert_cmpint(i, >=, from);
    g_assert_cmpint(i, <, to);
    char key[16];
    snprintf(key, sizeof key, "k%d", i % 10);
    g_assert_cmpstr(o->key, ==, key);
    g_assert_cmpint(o->timestamp, ==, 1000 + i);
    /* The sink partitions by key as Java does: the key's own partition. */
    g_assert_cmpint(o->partition, ==, java_partition(key, 3));
    /* Per key, order is kept. */
    g_assert_cmpint(last_i[i % 10], <, i);
    last_i[i % 10] = i;
  }
}

/* ---- tests ---- */

static void test_pipe_read_punctuate(void) {
  char errstr[1024] = "";
  brook_topology_t *topology = build_topology();
  brook_test_driver_t *driver = brook_test_driver_new(topology, NULL, 3, errstr, sizeof errstr);
  if (!driver) g_error("driver: %s", errstr);
  brook_topology_unref(topology); /* the app holds its own reference */
  brook_app_t *app = brook_test_driver_app(driver);
  g_assert_cmpint(brook_app_state(app), ==, BROOK_APP_RUNNING);
  const streams_conf_t *conf = app_conf(app);
  g_assert_cmpstr(conf->application_id, ==, "brook-test-driver");
  char *state_dir = g_strdup(conf->state_dir);
  g_assert_true(g_file_test(state_dir, G_FILE_TEST_IS_DIR));
  g_assert_cmpstr(state_dir, !=, "/tmp/kafka-streams");
  /* The source topic exists with the partitions asked for, and so does the sink's. */
  g_assert_cmpint(
      brook_admin_partition_count(brook_app_bootstrap_servers(app), "input", errstr, sizeof errstr), ==, 3);
  g_assert_cmpint(
      brook_admin_partition_count(brook_app_bootstrap_servers(app), "output", errstr, sizeof errstr), ==, 3);

  GPtrArray *got = g_ptr_array_new_with_free_func(out_rec_free);
  pipe_range(driver, 0, 30);
  g_assert_cmpint(read_all(driver, "output", got), ==, 30);
  check_upper(got, 0, 30);
  /* Nothing new: nothing read. */
  g_assert_cmpint(read_all(driver, "output", got), ==, 0);

  /* The wall clock moves only when the test says. Not yet due: no tick. */
  g_assert_cmpint(brook_test_driver_advance_wall_clock(driver, TICK_MS - 1, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(read_all(driver, "output", got), ==, 0);
  /* Due: one tick per task (3 partitions -> tasks 0_0, 0_1, 0_2). */
  g_assert_cmpint(brook_test_driver_advance_wall_clock(driver, 1, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(read_all(driver, "output", got), ==, 3);
  GHashTable *ticks = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint j = 0; j < got->len; j++) {
    out_rec_t *o = got->pdata[j];
    g_assert_cmpstr(o->value, ==, "TICK@1000");
    g_assert_cmpint(o->timestamp, ==, TICK_MS);
    g_hash_table_add(ticks, o->key);
  }
  g_assert_true(g_hash_table_contains(ticks, "tick-0_0"));
  g_assert_true(g_hash_table_contains(ticks, "tick-0_1"));
  g_assert_true(g_hash_table_contains(ticks, "tick-0_2"));
  g_hash_table_destroy(ticks);

  /* More input after punctuation: only the new records come back. */
  pipe_range(driver, 30, 45);
  g_assert_cmpint(read_all(driver, "output", got), ==, 15);
  check_upper(got, 30, 45);
  /* Two intervals at once: every task fires, seeing the clock's new time. */
  g_assert_cmpint(brook_test_driver_advance_wall_clock(driver, 2 * TICK_MS, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(read_all(driver, "output", got), >=, 3);
  for (guint j = 0; j < got->len; j++) g_assert_cmpstr(((out_rec_t *)got->pdata[j])->value, ==, "TICK@3000");

  /* A topic nobody wrote is created on first read and reads empty. */
  g_assert_cmpint(read_all(driver, "elsewhere", got), ==, 0);
  g_assert_cmpint(
      brook_admin_partition_count(brook_app_bootstrap_servers(app), "elsewhere", errstr, sizeof errstr), ==,
      3);

  g_ptr_array_free(got, TRUE);
  brook_test_driver_destroy(driver);
  g_assert_false(g_file_test(state_dir, G_FILE_TEST_EXISTS));
  g_free(state_dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void test_driver_rules(void) {
  char errstr[1024] = "";
  brook_topology_t *topology = build_topology();
  brook_app_conf_t *conf = brook_app_conf_new();
  g_assert_cmpint(brook_app_conf_set(conf, "bootstrap.servers", "127.0.0.1:9", errstr, sizeof errstr), ==, 0);
  g_assert_null(brook_test_driver_new(topology, conf, 3, errstr, sizeof errstr));
  g_assert_nonnull(strstr(errstr, "bootstrap.servers"));
  g_assert_null(brook_test_driver_new(topology, NULL, 0, errstr, sizeof errstr));
  g_assert_nonnull(strstr(errstr, "partitions"));
  brook_app_conf_destroy(conf);

  /* A conf of the user's: its application.id and state.dir are kept, and the
   * user's state.dir is not removed. */
  char *dir = g_dir_make_tmp("brook-test-driver-user-XXXXXX", NULL);
  conf = brook_app_conf_new();
  g_assert_cmpint(brook_app_conf_set(conf, "application.id", "mine", errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(brook_app_conf_set(conf, "state.dir", dir, errstr, sizeof errstr), ==, 0);
  brook_test_driver_t *driver = brook_test_driver_new(topology, conf, 1, errstr, sizeof errstr);
  if (!driver) g_error("driver: %s", errstr);
  brook_app_conf_destroy(conf);
  const streams_conf_t *sc = app_conf(brook_test_driver_app(driver));
  g_assert_cmpstr(sc->application_id, ==, "mine");
  g_assert_cmpstr(sc->state_dir, ==, dir);
  GPtrArray *got = g_ptr_array_new_with_free_func(out_rec_free);
  pipe_range(driver, 0, 5);
  g_assert_cmpint(read_all(driver, "output", got), ==, 5);
  g_ptr_array_free(got, TRUE);
  brook_test_driver_destroy(driver);
  g_assert_true(g_file_test(dir, G_FILE_TEST_IS_DIR));
  nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
  g_free(dir);
  brook_topology_unref(topology);
  brook_test_driver_destroy(NULL);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/streams/driver/pipe-read-punctuate", test_pipe_read_punctuate);
  g_test_add_func("/streams/driver/rules", test_driver_rules);
  return g_test_run();
}
