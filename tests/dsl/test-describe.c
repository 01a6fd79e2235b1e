/*
 * test-describe.c — the shape of DSL topologies: node names, sub-topologies,
 * repartitioning, stores, and the builder's error messages.
 *
 * The WordCount case is Kafka's own documented Topology.describe() output for
 * its WordCount demo (flatMapValues, groupBy, count(Materialized.as
 * ("counts-store")), toStream, to), compared byte for byte: it pins the
 * naming counter's order (the aggregate takes its number before the
 * repartition nodes) and the describe format. The other cases follow Kafka's
 * naming rules (KStreamImpl, BranchedKStreamImpl, StreamsBuilder.table,
 * KGroupedStreamImpl) worked out by hand.
 */
#include "dsl_test_util.h"

/* ---- callbacks (never run here) ---- */

static bool pred_true(const brook_record_t *rec, void *opaque) { return true; }
static const void *identity_value(const brook_record_t *rec, void *opaque) { return rec->value; }
static const void *value_as_key(const brook_record_t *rec, void *opaque) { return rec->value; }
static void split_words(const brook_record_t *rec, brook_emitter_t *out, void *opaque) {}
static void noop_foreach(const brook_record_t *rec, void *opaque) {}
static const void *sum(const void *agg, const brook_record_t *rec, void *opaque) { return agg; }

static char *build_and_describe(brook_builder_t *b) {
  brook_topology_t *t = build_or_die(b);
  char *d = brook_topology_describe(t);
  char *copy = g_strdup(d);
  brook_free(d);
  brook_topology_unref(t);
  return copy;
}

static void assert_describe(brook_builder_t *b, const char *expected) {
  char *got = build_and_describe(b);
  if (strcmp(got, expected) != 0)
    g_error("describe differs.\n--- expected:\n%s--- got:\n%s---", expected, got);
  g_free(got);
}

/* ---- WordCount: Kafka's documented output ---- */

static void test_wordcount_golden(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *lines =
      brook_builder_stream(b, "streams-plaintext-input", brook_serde_string_new(), brook_serde_string_new());
  brook_stream_t *words = brook_stream_flat_map_values(lines, split_words, NULL);
  brook_grouped_t *grouped = brook_stream_group_by(words, value_as_key, NULL, NULL, NULL);
  brook_table_t *counts = brook_grouped_count(grouped, "counts-store");
  g_assert_cmpstr(brook_table_store_name(counts), ==, "counts-store");
  brook_stream_to(brook_table_to_stream(counts), "streams-wordcount-output", brook_serde_string_new(),
                  brook_serde_i64_new());
  assert_describe(b,
                  "Topologies:\n"
                  "   Sub-topology: 0\n"
                  "    Source: KSTREAM-SOURCE-0000000000 (topics: [streams-plaintext-input])\n"
                  "      --> KSTREAM-FLATMAPVALUES-0000000001\n"
                  "    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])\n"
                  "      --> KSTREAM-KEY-SELECT-0000000002\n"
                  "      <-- KSTREAM-SOURCE-0000000000\n"
                  "    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])\n"
                  "      --> KSTREAM-FILTER-0000000005\n"
                  "      <-- KSTREAM-FLATMAPVALUES-0000000001\n"
                  "    Processor: KSTREAM-FILTER-0000000005 (stores: [])\n"
                  "      --> KSTREAM-SINK-0000000004\n"
                  "      <-- KSTREAM-KEY-SELECT-0000000002\n"
                  "    Sink: KSTREAM-SINK-0000000004 (topic: counts-store-repartition)\n"
                  "      <-- KSTREAM-FILTER-0000000005\n"
                  "\n"
                  "  Sub-topology: 1\n"
                  "    Source: KSTREAM-SOURCE-0000000006 (topics: [counts-store-repartition])\n"
                  "      --> KSTREAM-AGGREGATE-0000000003\n"
                  "    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])\n"
                  "      --> KTABLE-TOSTREAM-0000000007\n"
                  "      <-- KSTREAM-SOURCE-0000000006\n"
                  "    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])\n"
                  "      --> KSTREAM-SINK-0000000008\n"
                  "      <-- KSTREAM-AGGREGATE-0000000003\n"
                  "    Sink: KSTREAM-SINK-0000000008 (topic: streams-wordcount-output)\n"
                  "      <-- KTABLE-TOSTREAM-0000000007\n"
                  "\n");
}

/* ---- a stateless chain ---- */

static void test_stateless_chain(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  s = brook_stream_filter(s, pred_true, NULL);
  s = brook_stream_map_values(s, identity_value, NULL);
  s = brook_stream_filter_not(s, pred_true, NULL);
  s = brook_stream_peek(s, noop_foreach, NULL);
  brook_stream_to(s, "out", NULL, NULL);
  assert_describe(b,
                  "Topologies:\n"
                  "   Sub-topology: 0\n"
                  "    Source: KSTREAM-SOURCE-0000000000 (topics: [in])\n"
                  "      --> KSTREAM-FILTER-0000000001\n"
                  "    Processor: KSTREAM-FILTER-0000000001 (stores: [])\n"
                  "      --> KSTREAM-MAPVALUES-0000000002\n"
                  "      <-- KSTREAM-SOURCE-0000000000\n"
                  "    Processor: KSTREAM-MAPVALUES-0000000002 (stores: [])\n"
                  "      --> KSTREAM-FILTER-0000000003\n"
                  "      <-- KSTREAM-FILTER-0000000001\n"
                  "    Processor: KSTREAM-FILTER-0000000003 (stores: [])\n"
                  "      --> KSTREAM-PEEK-0000000004\n"
                  "      <-- KSTREAM-MAPVALUES-0000000002\n"
                  "    Processor: KSTREAM-PEEK-0000000004 (stores: [])\n"
                  "      --> KSTREAM-SINK-0000000005\n"
                  "      <-- KSTREAM-FILTER-0000000003\n"
                  "    Sink: KSTREAM-SINK-0000000005 (topic: out)\n"
                  "      <-- KSTREAM-PEEK-0000000004\n"
                  "\n");
}

/* ---- split: BranchedKStreamImpl naming ---- */

static void test_split_named_branches(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  /* generated split name (1); each branch burns a number (2, 3, 4) */
  brook_branches_t *br = brook_stream_split(s, NULL);
  brook_stream_t *a = brook_branches_branch(br, pred_true, NULL, "-a");
  brook_stream_t *second = brook_branches_branch(br, pred_true, NULL, NULL);
  brook_stream_t *other = brook_branches_default(br, NULL);
  brook_stream_to(a, "out-a", NULL, NULL);           /* 5 */
  brook_stream_to(second, "out-2", NULL, NULL);      /* 6 */
  brook_stream_to(other, "out-default", NULL, NULL); /* 7 */
  assert_describe(
      b,
      "Topologies:\n"
      "   Sub-topology: 0\n"
      "    Source: KSTREAM-SOURCE-0000000000 (topics: [in])\n"
      "      --> KSTREAM-BRANCH-0000000001\n"
      "    Processor: KSTREAM-BRANCH-0000000001 (stores: [])\n"
      "      --> KSTREAM-BRANCH-0000000001-a, KSTREAM-BRANCH-00000000010, KSTREAM-BRANCH-00000000012\n"
      "      <-- KSTREAM-SOURCE-0000000000\n"
      "    Processor: KSTREAM-BRANCH-0000000001-a (stores: [])\n"
      "      --> KSTREAM-SINK-0000000005\n"
      "      <-- KSTREAM-BRANCH-0000000001\n"
      "    Processor: KSTREAM-BRANCH-00000000010 (stores: [])\n"
      "      --> KSTREAM-SINK-0000000007\n"
      "      <-- KSTREAM-BRANCH-0000000001\n"
      "    Processor: KSTREAM-BRANCH-00000000012 (stores: [])\n"
      "      --> KSTREAM-SINK-0000000006\n"
      "      <-- KSTREAM-BRANCH-0000000001\n"
      "    Sink: KSTREAM-SINK-0000000005 (topic: out-a)\n"
      "      <-- KSTREAM-BRANCH-0000000001-a\n"
      "    Sink: KSTREAM-SINK-0000000006 (topic: out-2)\n"
      "      <-- KSTREAM-BRANCH-00000000012\n"
      "    Sink: KSTREAM-SINK-0000000007 (topic: out-default)\n"
      "      <-- KSTREAM-BRANCH-00000000010\n"
      "\n");

  /* a named split: branches are "<split name><branch name>" and no number is
   * taken for the splitter */
  b = brook_builder_new();
  s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  br = brook_stream_split(s, "route-");
  brook_stream_to(brook_branches_branch(br, pred_true, NULL, "hot"), "hot", NULL, NULL);
  brook_stream_to(brook_branches_default(br, "cold"), "cold", NULL, NULL);
  char *d = build_and_describe(b);
  g_assert_nonnull(strstr(d, "    Processor: route- (stores: [])\n      --> route-cold, route-hot\n"));
  /* source 0, branch "hot" burns 1, its sink 2, default burns 3, its sink 4 */
  g_assert_nonnull(strstr(d, "    Sink: KSTREAM-SINK-0000000002 (topic: hot)\n      <-- route-hot\n"));
  g_assert_nonnull(strstr(d, "    Sink: KSTREAM-SINK-0000000004 (topic: cold)\n      <-- route-cold\n"));
  g_free(d);
}

/* ---- table + filter + to_stream ---- */

static void test_table_filter_to_stream(void) {
  brook_builder_t *b = brook_builder_new();
  /* StreamsBuilder.table: the store name is generated first */
  brook_table_t *t =
      brook_builder_table(b, "users", brook_serde_string_new(), brook_serde_string_new(), NULL);
  g_assert_cmpstr(brook_table_store_name(t), ==, "users-STATE-STORE-0000000000");
  brook_table_t *f = brook_table_filter(t, pred_true, NULL);
  g_assert_null(brook_table_store_name(f));
  brook_stream_to(brook_table_to_stream(f), "active-users", NULL, NULL);
  assert_describe(b,
                  "Topologies:\n"
                  "   Sub-topology: 0\n"
                  "    Source: KSTREAM-SOURCE-0000000001 (topics: [users])\n"
                  "      --> KTABLE-SOURCE-0000000002\n"
                  "    Processor: KTABLE-SOURCE-0000000002 (stores: [users-STATE-STORE-0000000000])\n"
                  "      --> KTABLE-FILTER-0000000003\n"
                  "      <-- KSTREAM-SOURCE-0000000001\n"
                  "    Processor: KTABLE-FILTER-0000000003 (stores: [])\n"
                  "      --> KTABLE-TOSTREAM-0000000004\n"
                  "      <-- KTABLE-SOURCE-0000000002\n"
                  "    Processor: KTABLE-TOSTREAM-0000000004 (stores: [])\n"
                  "      --> KSTREAM-SINK-0000000005\n"
                  "      <-- KTABLE-FILTER-0000000003\n"
                  "    Sink: KSTREAM-SINK-0000000005 (topic: active-users)\n"
                  "      <-- KTABLE-TOSTREAM-0000000004\n"
                  "\n");
}

/* ---- group_by_key: no repartition unless the key changed ---- */

static void test_group_by_key_no_repartition(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_i64_new());
  s = brook_stream_map_values(s, identity_value, NULL); /* a value change keeps the partitioning */
  brook_table_t *t =
      brook_grouped_reduce(brook_stream_group_by_key(s, NULL, brook_serde_i64_new()), sum, NULL, NULL);
  /* KGroupedStreamImpl.reduce: store name (2), then the processor (3) */
  g_assert_cmpstr(brook_table_store_name(t), ==, "KSTREAM-REDUCE-STATE-STORE-0000000002");
  brook_stream_to(brook_table_to_stream(t), "out", NULL, NULL);
  assert_describe(
      b,
      "Topologies:\n"
      "   Sub-topology: 0\n"
      "    Source: KSTREAM-SOURCE-0000000000 (topics: [in])\n"
      "      --> KSTREAM-MAPVALUES-0000000001\n"
      "    Processor: KSTREAM-MAPVALUES-0000000001 (stores: [])\n"
      "      --> KSTREAM-REDUCE-0000000003\n"
      "      <-- KSTREAM-SOURCE-0000000000\n"
      "    Processor: KSTREAM-REDUCE-0000000003 (stores: [KSTREAM-REDUCE-STATE-STORE-0000000002])\n"
      "      --> KTABLE-TOSTREAM-0000000004\n"
      "      <-- KSTREAM-MAPVALUES-0000000001\n"
      "    Processor: KTABLE-TOSTREAM-0000000004 (stores: [])\n"
      "      --> KSTREAM-SINK-0000000005\n"
      "      <-- KSTREAM-REDUCE-0000000003\n"
      "    Sink: KSTREAM-SINK-0000000005 (topic: out)\n"
      "      <-- KTABLE-TOSTREAM-0000000004\n"
      "\n");
}

static void test_group_by_key_after_select_key(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  s = brook_stream_select_key(s, value_as_key, NULL);                                     /* 1 */
  brook_table_t *t = brook_grouped_count(brook_stream_group_by_key(s, NULL, NULL), NULL); /* store 2, agg 3 */
  g_assert_cmpstr(brook_table_store_name(t), ==, "KSTREAM-AGGREGATE-STATE-STORE-0000000002");
  assert_describe(
      b,
      "Topologies:\n"
      "   Sub-topology: 0\n"
      "    Source: KSTREAM-SOURCE-0000000000 (topics: [in])\n"
      "      --> KSTREAM-KEY-SELECT-0000000001\n"
      "    Processor: KSTREAM-KEY-SELECT-0000000001 (stores: [])\n"
      "      --> KSTREAM-FILTER-0000000005\n"
      "      <-- KSTREAM-SOURCE-0000000000\n"
      "    Processor: KSTREAM-FILTER-0000000005 (stores: [])\n"
      "      --> KSTREAM-SINK-0000000004\n"
      "      <-- KSTREAM-KEY-SELECT-0000000001\n"
      "    Sink: KSTREAM-SINK-0000000004 (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition)\n"
      "      <-- KSTREAM-FILTER-0000000005\n"
      "\n"
      "  Sub-topology: 1\n"
      "    Source: KSTREAM-SOURCE-0000000006 (topics: "
      "[KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition])\n"
      "      --> KSTREAM-AGGREGATE-0000000003\n"
      "    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000002])\n"
      "      --> none\n"
      "      <-- KSTREAM-SOURCE-0000000006\n"
      "\n");
}

/* count(Materialized) without a store name burns one number (Kafka keeps
 * doing so for topology compatibility); count() does not. */
static void test_count_with_burns_a_name(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  brook_materialized_t mat = {.in_memory = true};
  brook_table_t *t = brook_grouped_count_with(brook_stream_group_by_key(s, NULL, NULL), &mat);
  g_assert_cmpstr(brook_table_store_name(t), ==, "KSTREAM-AGGREGATE-STATE-STORE-0000000002");
  char *d = build_and_describe(b);
  g_assert_nonnull(strstr(
      d, "Processor: KSTREAM-AGGREGATE-0000000003 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000002])"));
  g_free(d);
}

/* repartition(): its generated name, then sink, filter, source */
static void test_repartition(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  s = brook_stream_repartition(s, NULL, NULL, NULL, 0); /* name 1, sink 2, filter 3, source 4 */
  brook_stream_to(s, "out", NULL, NULL);                /* 5 */
  assert_describe(
      b,
      "Topologies:\n"
      "   Sub-topology: 0\n"
      "    Source: KSTREAM-SOURCE-0000000000 (topics: [in])\n"
      "      --> KSTREAM-FILTER-0000000003\n"
      "    Processor: KSTREAM-FILTER-0000000003 (stores: [])\n"
      "      --> KSTREAM-SINK-0000000002\n"
      "      <-- KSTREAM-SOURCE-0000000000\n"
      "    Sink: KSTREAM-SINK-0000000002 (topic: KSTREAM-REPARTITION-0000000001-repartition)\n"
      "      <-- KSTREAM-FILTER-0000000003\n"
      "\n"
      "  Sub-topology: 1\n"
      "    Source: KSTREAM-SOURCE-0000000004 (topics: [KSTREAM-REPARTITION-0000000001-repartition])\n"
      "      --> KSTREAM-SINK-0000000005\n"
      "    Sink: KSTREAM-SINK-0000000005 (topic: out)\n"
      "      <-- KSTREAM-SOURCE-0000000004\n"
      "\n");
}

/* merge, print, foreach, process with a store. Kafka lists successors and
 * nodes of equal depth bigger sub-tree first, then by name. */
static void noop_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {}

static void test_merge_print_process(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *x =
      brook_builder_stream(b, "x", brook_serde_string_new(), brook_serde_string_new()); /* 0 */
  brook_stream_t *y =
      brook_builder_stream(b, "y", brook_serde_string_new(), brook_serde_string_new()); /* 1 */
  brook_stream_t *m = brook_stream_merge(x, y);                                         /* 2 */
  brook_stream_print(m, NULL, NULL, NULL);                                              /* 3 */
  brook_store_def_t store = {.name = "my-store", .kind = BROOK_STORE_KV};
  brook_builder_add_store(b, &store);
  brook_processor_def_t def = {.process = noop_process};
  const char *stores[] = {"my-store", NULL};
  brook_stream_t *p = brook_stream_process(m, &def, stores); /* 4 */
  brook_stream_foreach(p, noop_foreach, NULL);               /* 5 */
  assert_describe(b,
                  "Topologies:\n"
                  "   Sub-topology: 0\n"
                  "    Source: KSTREAM-SOURCE-0000000000 (topics: [x])\n"
                  "      --> KSTREAM-MERGE-0000000002\n"
                  "    Source: KSTREAM-SOURCE-0000000001 (topics: [y])\n"
                  "      --> KSTREAM-MERGE-0000000002\n"
                  "    Processor: KSTREAM-MERGE-0000000002 (stores: [])\n"
                  "      --> KSTREAM-PROCESSOR-0000000004, KSTREAM-PRINTER-0000000003\n"
                  "      <-- KSTREAM-SOURCE-0000000000, KSTREAM-SOURCE-0000000001\n"
                  "    Processor: KSTREAM-PROCESSOR-0000000004 (stores: [my-store])\n"
                  "      --> KSTREAM-FOREACH-0000000005\n"
                  "      <-- KSTREAM-MERGE-0000000002\n"
                  "    Processor: KSTREAM-FOREACH-0000000005 (stores: [])\n"
                  "      --> none\n"
                  "      <-- KSTREAM-PROCESSOR-0000000004\n"
                  "    Processor: KSTREAM-PRINTER-0000000003 (stores: [])\n"
                  "      --> none\n"
                  "      <-- KSTREAM-MERGE-0000000002\n"
                  "\n");
}

/* ---- errors ---- */

static char *build_error(brook_builder_t *b) {
  char errstr[512] = "";
  brook_topology_t *t = brook_builder_build(b, errstr, sizeof errstr);
  g_assert_null(t);
  brook_builder_destroy(b);
  return g_strdup(errstr);
}

static void test_error_null_callback(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  s = brook_stream_filter(s, NULL, NULL);
  /* the chain goes on harmlessly after the error */
  s = brook_stream_map_values(s, NULL, NULL);
  brook_stream_to(s, "out", NULL, NULL);
  char *err = build_error(b);
  g_assert_cmpstr(err, ==, "filter (KSTREAM-FILTER-0000000001): the callback is NULL");
  g_free(err);

  b = brook_builder_new();
  s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  brook_grouped_reduce(brook_stream_group_by_key(s, NULL, NULL), NULL, NULL, "r");
  err = build_error(b);
  g_assert_cmpstr(err, ==, "reduce (KSTREAM-REDUCE-0000000001): the callback is NULL");
  g_free(err);
}

static void test_error_duplicate_store(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  brook_grouped_t *g = brook_stream_group_by_key(s, NULL, NULL);
  brook_grouped_count(g, "counts");
  brook_grouped_count(g, "counts");
  char *err = build_error(b);
  g_assert_cmpstr(err, ==, "count (KSTREAM-AGGREGATE-0000000002): store \"counts\" is already used");
  g_free(err);

  b = brook_builder_new();
  brook_builder_table(b, "t", brook_serde_string_new(), brook_serde_string_new(), "shared");
  brook_store_def_t def = {.name = "shared", .kind = BROOK_STORE_KV};
  brook_builder_add_store(b, &def);
  err = build_error(b);
  g_assert_cmpstr(err, ==, "add_store: store \"shared\" is already used");
  g_free(err);
}

static void test_error_empty_topic(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  brook_stream_to(s, "", NULL, NULL);
  char *err = build_error(b);
  g_assert_cmpstr(err, ==, "to (KSTREAM-SINK-0000000001): empty topic name");
  g_free(err);

  b = brook_builder_new();
  brook_builder_stream(b, "", brook_serde_string_new(), brook_serde_string_new());
  err = build_error(b);
  g_assert_cmpstr(err, ==, "stream (KSTREAM-SOURCE-0000000000): empty topic name");
  g_free(err);

  b = brook_builder_new();
  brook_builder_table(b, NULL, brook_serde_string_new(), brook_serde_string_new(), "x");
  err = build_error(b);
  g_assert_cmpstr(err, ==, "table (KSTREAM-SOURCE-0000000000): empty topic name");
  g_free(err);
}

static void test_error_topology_and_no_source(void) {
  /* an error of the topology API comes back naming the operator */
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *s = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  const char *stores[] = {"missing", NULL};
  brook_processor_def_t def = {.process = noop_process};
  brook_stream_process(s, &def, stores);
  char *err = build_error(b);
  g_assert_true(g_str_has_prefix(err, "process (KSTREAM-PROCESSOR-0000000001): "));
  g_assert_nonnull(strstr(err, "missing"));
  g_free(err);

  b = brook_builder_new();
  err = build_error(b);
  g_assert_nonnull(strstr(err, "no source"));
  g_free(err);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dsl/describe/wordcount-golden", test_wordcount_golden);
  g_test_add_func("/dsl/describe/stateless-chain", test_stateless_chain);
  g_test_add_func("/dsl/describe/split-named-branches", test_split_named_branches);
  g_test_add_func("/dsl/describe/table-filter-to-stream", test_table_filter_to_stream);
  g_test_add_func("/dsl/describe/group-by-key-no-repartition", test_group_by_key_no_repartition);
  g_test_add_func("/dsl/describe/group-by-key-after-select-key", test_group_by_key_after_select_key);
  g_test_add_func("/dsl/describe/count-with-burns-a-name", test_count_with_burns_a_name);
  g_test_add_func("/dsl/describe/repartition", test_repartition);
  g_test_add_func("/dsl/describe/merge-print-process", test_merge_print_process);
  g_test_add_func("/dsl/describe/error-null-callback", test_error_null_callback);
  g_test_add_func("/dsl/describe/error-duplicate-store", test_error_duplicate_store);
  g_test_add_func("/dsl/describe/error-empty-topic", test_error_empty_topic);
  g_test_add_func("/dsl/describe/error-topology-and-no-source", test_error_topology_and_no_source);
  return g_test_run();
}
