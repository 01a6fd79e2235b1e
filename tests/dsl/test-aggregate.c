/*
 * test-aggregate.c — the stateful DSL operators on the real runtime (test
 * driver: embedded broker, RocksDB stores with changelogs, 3 partitions):
 * count / reduce / aggregate per key, with and without a repartition; the
 * table source (tombstones, emit on change); table filter turning rows into
 * deletes; old values going through table map_values; and the record cache:
 * with statestore.cache.max.bytes = 0 every update is forwarded, with the
 * default cache the updates of a key between two commits collapse into one.
 *
 * Outputs are compared per key, in the order read ("k: v@ts v@ts; ..."):
 * one key lives in one partition, so its updates keep their order.
 */
#include "dsl_test_util.h"

/* ---- reading outputs ---- */

typedef struct per_key {
  int vkind;
  GHashTable *keys; /* key -> GString of " v@ts" in read order */
} per_key_t;

static void on_record(const brook_read_record_t *r, void *opaque) {
  per_key_t *p = opaque;
  const char *key = r->rec->key ? r->rec->key : "null";
  GString *s = g_hash_table_lookup(p->keys, key);
  if (!s) {
    s = g_string_new(NULL);
    g_hash_table_insert(p->keys, g_strdup(key), s);
  }
  char *value = value_text(p->vkind, r->rec->value);
  g_string_append_printf(s, " %s@%lld", value, (long long)r->rec->timestamp);
  g_free(value);
}

static void string_free(gpointer p) { g_string_free(p, TRUE); }

/* What is new on `topic`, as "k1: v@ts v@ts; k2: v@ts" (keys sorted). */
static char *read_out(brook_test_driver_t *d, const char *topic, int vkind) {
  per_key_t p = {vkind, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, string_free)};
  read_or_die(d, topic, vkind, on_record, &p);
  GPtrArray *keys = g_ptr_array_new();
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, p.keys);
  while (g_hash_table_iter_next(&it, &k, NULL)) g_ptr_array_add(keys, k);
  g_ptr_array_sort(keys, cmp_str);
  GString *out = g_string_new(NULL);
  for (guint i = 0; i < keys->len; i++) {
    GString *s = g_hash_table_lookup(p.keys, keys->pdata[i]);
    g_string_append_printf(out, "%s%s:%s", i ? "; " : "", (char *)keys->pdata[i], s->str);
  }
  g_ptr_array_unref(keys);
  g_hash_table_destroy(p.keys);
  return g_string_free(out, FALSE);
}

static void sum_process_total(const char *group, const char *name, const char *tags, double value,
                              void *opaque) {
  if (strcmp(group, "stream-thread-metrics") == 0 && strcmp(name, "process-total") == 0)
    *(double *)opaque += value;
}

/* Waits until the stream threads have processed `total` input records.
 * Piping returns once the broker has the record, not once it was processed;
 * the driver's read forces commits, which flush the record caches, so a test
 * of what caching collapses must let processing catch up first. The app
 * offers no event for this: poll its metrics, with a deadline. */
static void wait_processed(brook_test_driver_t *d, double total) {
  gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
  for (;;) {
    double done = 0;
    brook_app_metrics(brook_test_driver_app(d), sum_process_total, &done);
    if (done >= total) return;
    if (g_get_monotonic_time() > deadline) g_error("only %g of %g records processed after 60 s", done, total);
    g_usleep(5000);
  }
}

/* cache_bytes NULL = the default (10 MiB). The commit interval is long for the
 * cached runs so that only the driver's reads (which force commits) flush. */
static brook_test_driver_t *driver_new(brook_builder_t *b, const char *cache_bytes) {
  if (!cache_bytes) return driver_with(b, 3, "commit.interval.ms", "600000", NULL);
  return driver_with(b, 3, "commit.interval.ms", "200", "statestore.cache.max.bytes", cache_bytes, NULL);
}

/* ---- callbacks ---- */

static const void *value_as_key(const brook_record_t *rec, void *opaque) { return rec->value; }

static const void *concat(const void *agg, const brook_record_t *rec, void *opaque) {
  return brook_scratch_printf("%s,%s", (const char *)agg, (const char *)rec->value);
}

static const void *zero(void *opaque) {
  static const int64_t z = 0;
  return &z;
}

static const void *add_length(const void *agg, const brook_record_t *rec, void *opaque) {
  return brook_scratch_i64(*(const int64_t *)agg + (int64_t)strlen(rec->value));
}

static bool is_long(const brook_record_t *rec, void *opaque) {
  return strlen(rec->value) >= (size_t)GPOINTER_TO_INT(opaque);
}

static const void *doubled(const brook_record_t *rec, void *opaque) {
  return brook_scratch_printf("%s%s", (const char *)rec->value, (const char *)rec->value);
}

/* ---- count / reduce / aggregate, every update forwarded ---- */

static void test_uncached(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *words =
      brook_builder_stream(b, "words", brook_serde_string_new(), brook_serde_string_new());
  /* group_by: through "<app>-counts-repartition"; the key serde is the default */
  brook_table_t *counts =
      brook_grouped_count(brook_stream_group_by(words, value_as_key, NULL, NULL, NULL), "counts");
  brook_stream_to(brook_table_to_stream(counts), "out-count", NULL, NULL);
  /* group_by_key: no repartition */
  brook_grouped_t *by_key = brook_stream_group_by_key(words, NULL, NULL);
  brook_stream_to(brook_table_to_stream(brook_grouped_reduce(by_key, concat, NULL, "concat")), "out-reduce",
                  NULL, NULL);
  brook_stream_to(brook_table_to_stream(
                      brook_grouped_aggregate(by_key, zero, add_length, NULL, brook_serde_i64_new(), "lens")),
                  "out-agg", NULL, NULL);
  brook_test_driver_t *d = driver_new(b, "0");

  pipe_str(d, "words", "k1", "x", 1000);
  pipe_str(d, "words", "k2", "y", 2000);
  pipe_str(d, "words", "k1", "x", 3000);
  pipe_str(d, "words", "k1", "zz", 1500); /* out of order: the aggregate keeps the larger time */
  pipe_str(d, "words", "k2", NULL, 4000); /* null value: skipped (count: null new key, dropped) */
  pipe_str(d, "words", NULL, "w", 4500);  /* null key: skipped by group_by_key, counted by group_by */

  assert_out(d, "out-count", V_I64, "w: 1@4500; x: 1@1000 2@3000; y: 1@2000; zz: 1@1500");
  assert_out(d, "out-reduce", V_STRING, "k1: x@1000 x,x@3000 x,x,zz@3000; k2: y@2000");
  assert_out(d, "out-agg", V_I64, "k1: 1@1000 2@3000 4@3000; k2: 1@2000");

  /* the state carries on */
  pipe_str(d, "words", "k2", "y", 5000);
  assert_out(d, "out-count", V_I64, "y: 2@5000");
  assert_out(d, "out-reduce", V_STRING, "k2: y,y@5000");
  assert_out(d, "out-agg", V_I64, "k2: 2@5000");
  brook_test_driver_destroy(d);
}

/* ---- the record cache collapses updates between commits ---- */

static void test_cached(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *words =
      brook_builder_stream(b, "words", brook_serde_string_new(), brook_serde_string_new());
  brook_grouped_t *by_key = brook_stream_group_by_key(words, NULL, NULL);
  brook_stream_to(brook_table_to_stream(brook_grouped_count(by_key, "counts")), "out-count", NULL, NULL);
  brook_stream_to(brook_table_to_stream(brook_grouped_reduce(by_key, concat, NULL, "concat")), "out-reduce",
                  NULL, NULL);
  brook_table_t *t = brook_builder_table(b, "tin", brook_serde_string_new(), brook_serde_string_new(), NULL);
  brook_stream_to(brook_table_to_stream(t), "out-table", NULL, NULL);
  brook_test_driver_t *d = driver_new(b, NULL);

  for (int i = 1; i <= 5; i++) pipe_str(d, "words", "k1", "a", i * 1000);
  pipe_str(d, "words", "k2", "b", 1000);
  pipe_str(d, "words", "k2", "c", 7000);
  pipe_str(d, "tin", "t1", "1", 1000);
  pipe_str(d, "tin", "t1", "2", 2000);
  pipe_str(d, "tin", "t1", "3", 3000);
  pipe_str(d, "tin", "t2", "x", 3000);
  pipe_str(d, "tin", "t2", NULL, 4000); /* added and deleted between commits */
  wait_processed(d, 12);

  assert_out(d, "out-count", V_I64, "k1: 5@5000; k2: 2@7000");
  assert_out(d, "out-reduce", V_STRING, "k1: a,a,a,a,a@5000; k2: b,c@7000");
  /* t2's insert and delete collapse into a delete of a key the store never
   * had: nothing to say */
  assert_out(d, "out-table", V_STRING, "t1: 3@3000");

  pipe_str(d, "words", "k1", "a", 6000);
  pipe_str(d, "words", "k1", "a", 6500);
  wait_processed(d, 14);
  assert_out(d, "out-count", V_I64, "k1: 7@6500");
  brook_test_driver_destroy(d);
}

/* ---- tables: source semantics, filter deletes, old values through map_values ---- */

static void test_tables(void) {
  brook_builder_t *b = brook_builder_new();
  brook_table_t *t =
      brook_builder_table(b, "tin", brook_serde_string_new(), brook_serde_string_new(), "rows");
  g_assert_cmpstr(brook_table_store_name(t), ==, "rows");
  brook_stream_to(brook_table_to_stream(t), "out-table", NULL, NULL);
  brook_stream_to(brook_table_to_stream(brook_table_filter(t, is_long, GINT_TO_POINTER(2))), "out-filter",
                  NULL, NULL);
  brook_stream_to(brook_table_to_stream(brook_table_filter_not(t, is_long, GINT_TO_POINTER(2))),
                  "out-filter-not", NULL, NULL);
  brook_table_t *mapped = brook_table_map_values(t, doubled, NULL, brook_serde_string_new());
  brook_stream_to(brook_table_to_stream(brook_table_filter(mapped, is_long, GINT_TO_POINTER(4))),
                  "out-mapped", NULL, NULL);
  brook_test_driver_t *d = driver_new(b, "0");

  pipe_str(d, "tin", "a", "1", 1000);
  pipe_str(d, "tin", "b", "22", 2000);
  pipe_str(d, "tin", "a", "333", 3000);
  pipe_str(d, "tin", "a", "4", 4000);
  pipe_str(d, "tin", "a", NULL, 5000); /* tombstone */
  pipe_str(d, "tin", "c", NULL, 6000); /* delete of an absent key: nothing */
  pipe_str(d, "tin", "b", "22", 7000); /* same value, later: no change (emit on change) */
  pipe_str(d, "tin", "b", "55", 8000);
  pipe_str(d, "tin", NULL, "zz", 9000); /* null key: not a row */

  assert_out(d, "out-table", V_STRING, "a: 1@1000 333@3000 4@4000 null@5000; b: 22@2000 55@8000");
  /* "4" no longer passes: the row is deleted downstream; the tombstone after
   * it says nothing new (neither side passes) */
  assert_out(d, "out-filter", V_STRING, "a: 333@3000 null@4000; b: 22@2000 55@8000");
  assert_out(d, "out-filter-not", V_STRING, "a: 1@1000 null@3000 4@4000 null@5000");
  /* the old value "333" went through map_values ("333333") and the filter, so
   * the update to "4" ("44") deletes the row */
  assert_out(d, "out-mapped", V_STRING, "a: 333333@3000 null@4000; b: 2222@2000 5555@8000");
  brook_test_driver_destroy(d);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dsl/aggregate/uncached", test_uncached);
  g_test_add_func("/dsl/aggregate/cached", test_cached);
  g_test_add_func("/dsl/aggregate/tables", test_tables);
  return g_test_run();
}
