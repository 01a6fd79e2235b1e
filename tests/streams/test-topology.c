/*
 * test-topology.c — building topologies by hand: sub-topologies, describe()
 * in Kafka's format, and the errors that name the offending node.
 */
#include <glib.h>
#include <string.h>

#include "brook_topology.h"
#include "topology_int.h"

static void nop_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  brook_ctx_forward(ctx, rec);
}

static const brook_processor_def_t nop_def = {.process = nop_process};

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

static void ok(brook_err_t err, const char *errstr) {
  if (err)
    g_error("unexpected error: %s", errstr);
}

/* Two sources joined through a shared store form one sub-topology; a sink to
 * an internal topic and the source reading it are different ones. Parts are
 * numbered by their smallest source name ("src-a" < "sub-source"). */
static void test_subtopologies(void) {
  char errstr[256];
  brook_topology_t *t = brook_topology_new();
  ok(brook_topology_add_source(t, "src-a", &(brook_source_opts_t){.topics = LIST("a")}, errstr, sizeof errstr),
     errstr);
  ok(brook_topology_add_source(t, "src-b", &(brook_source_opts_t){.topics = LIST("b", "c")}, errstr,
                               sizeof errstr),
     errstr);
  ok(brook_topology_add_processor(t, "proc-a", &nop_def, LIST("src-a"), errstr, sizeof errstr), errstr);
  ok(brook_topology_add_processor(t, "proc-b", &nop_def, LIST("src-b"), errstr, sizeof errstr), errstr);
  ok(brook_topology_add_store(t, &(brook_store_def_t){.name = "shared", .kind = BROOK_STORE_KV},
                              LIST("proc-a", "proc-b"), errstr, sizeof errstr),
     errstr);
  ok(brook_topology_add_sink(t, "to-rep", &(brook_sink_opts_t){.topic = "rep-repartition", .internal = true},
                             LIST("proc-a"), errstr, sizeof errstr),
     errstr);
  ok(brook_topology_add_source(t, "sub-source",
                               &(brook_source_opts_t){.topics = LIST("rep-repartition"), .internal = true},
                               errstr, sizeof errstr),
     errstr);
  ok(brook_topology_add_processor(t, "last", &nop_def, LIST("sub-source"), errstr, sizeof errstr), errstr);
  ok(brook_topology_add_sink(t, "out", &(brook_sink_opts_t){.topic = "output"}, LIST("last", "sub-source"), errstr,
                             sizeof errstr),
     errstr);

  char *d = brook_topology_describe(t);
  /* Kafka's order: larger sub-tree first (size = 1 + children's sizes), then name */
  const char *want = "Topologies:\n"
                     "   Sub-topology: 0\n"
                     "    Source: src-a (topics: [a])\n"
                     "      --> proc-a\n"
                     "    Processor: proc-a (stores: [shared])\n"
                     "      --> to-rep\n"
                     "      <-- src-a\n"
                     "    Source: src-b (topics: [b, c])\n"
                     "      --> proc-b\n"
                     "    Processor: proc-b (stores: [shared])\n"
                     "      --> none\n"
                     "      <-- src-b\n"
                     "    Sink: to-rep (topic: rep-repartition)\n"
                     "      <-- proc-a\n"
                     "\n"
                     "  Sub-topology: 1\n"
                     "    Source: sub-source (topics: [rep-repartition])\n"
                     "      --> last, out\n"
                     "    Processor: last (stores: [])\n"
                     "      --> out\n"
                     "      <-- sub-source\n"
                     "    Sink: out (topic: output)\n"
                     "      <-- sub-source, last\n"
                     "\n";
  g_assert_cmpstr(d, ==, want);
  brook_free(d);
  /* describe left the topology open for more building */
  ok(brook_topology_add_processor(t, "late", &nop_def, LIST("last"), errstr, sizeof errstr), errstr);

  ok(topology_seal(t, errstr, sizeof errstr), errstr);
  g_assert_cmpuint(t->subtopologies->len, ==, 2);
  g_assert_cmpint(topology_subtopology_of_topic(t, "app", "a"), ==, 0);
  g_assert_cmpint(topology_subtopology_of_topic(t, "app", "c"), ==, 0);
  g_assert_cmpint(topology_subtopology_of_topic(t, "app", "app-rep-repartition"), ==, 1);
  /* internal topics only match with the application.id prefix */
  g_assert_cmpint(topology_subtopology_of_topic(t, "app", "rep-repartition"), ==, -1);
  g_assert_cmpint(topology_subtopology_of_topic(t, "other", "app-rep-repartition"), ==, -1);
  g_assert_cmpint(topology_store(t, "shared")->subtopology, ==, 0);
  g_assert_cmpint(topology_node(t, "late")->subtopology, ==, 1);
  g_assert_cmpint(topology_node(t, "late")->depth, ==, 2);
  /* sealed: no more changes */
  g_assert_cmpint(brook_topology_add_processor(t, "later", &nop_def, LIST("last"), errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(errstr, "later"));
  brook_topology_unref(t);
}

static void test_pattern(void) {
  char errstr[256];
  brook_topology_t *t = brook_topology_new();
  ok(brook_topology_add_source(t, "by-pattern", &(brook_source_opts_t){.pattern = "events-[0-9]+"}, errstr,
                               sizeof errstr),
     errstr);
  ok(brook_topology_add_source(t, "exact", &(brook_source_opts_t){.topics = LIST("events-7")}, errstr,
                               sizeof errstr),
     errstr);
  ok(brook_topology_add_sink(t, "s1", &(brook_sink_opts_t){.topic = "o"}, LIST("by-pattern"), errstr,
                             sizeof errstr),
     errstr);
  ok(brook_topology_add_sink(t, "s2", &(brook_sink_opts_t){.topic = "o"}, LIST("exact"), errstr, sizeof errstr),
     errstr);
  ok(topology_seal(t, errstr, sizeof errstr), errstr);
  g_assert_cmpstr(topology_source_of_topic(t, -1, "app", "events-12")->name, ==, "by-pattern");
  /* a whole-name match only, and explicit topics before patterns */
  g_assert_null(topology_source_of_topic(t, -1, "app", "events-12x"));
  g_assert_cmpstr(topology_source_of_topic(t, -1, "app", "events-7")->name, ==, "exact");
  char *d = brook_topology_describe(t);
  g_assert_nonnull(strstr(d, "Source: by-pattern (topic pattern: events-[0-9]+)\n"));
  brook_free(d);
  brook_topology_unref(t);
}

static void expect_error(brook_err_t err, const char *errstr, const char *needle) {
  g_assert_cmpint(err, ==, BROOK_ERR__BAD_CONFIG);
  if (!strstr(errstr, needle))
    g_error("error \"%s\" does not mention \"%s\"", errstr, needle);
}

static void test_errors(void) {
  char errstr[256];
  brook_topology_t *t = brook_topology_new();
  ok(brook_topology_add_source(t, "src", &(brook_source_opts_t){.topics = LIST("in")}, errstr, sizeof errstr),
     errstr);
  expect_error(brook_topology_add_source(t, "src", &(brook_source_opts_t){.topics = LIST("x")}, errstr,
                                         sizeof errstr),
               errstr, "\"src\": a node with this name exists");
  expect_error(brook_topology_add_source(t, "src2", &(brook_source_opts_t){.topics = LIST("in")}, errstr,
                                         sizeof errstr),
               errstr, "topic \"in\" is already read by source \"src\"");
  expect_error(brook_topology_add_source(t, "bad", &(brook_source_opts_t){.topics = LIST("a b")}, errstr,
                                         sizeof errstr),
               errstr, "\"a b\" is not a valid topic name");
  expect_error(brook_topology_add_source(t, "re", &(brook_source_opts_t){.pattern = "(unclosed"}, errstr,
                                         sizeof errstr),
               errstr, "source \"re\": bad pattern");
  expect_error(brook_topology_add_processor(t, "p", &nop_def, LIST("nowhere"), errstr, sizeof errstr), errstr,
               "processor \"p\": parent \"nowhere\" is not in the topology");
  expect_error(brook_topology_add_processor(t, "p", &(brook_processor_def_t){0}, LIST("src"), errstr,
                                            sizeof errstr),
               errstr, "processor \"p\": needs a process function");
  ok(brook_topology_add_sink(t, "sink", &(brook_sink_opts_t){.topic = "out"}, LIST("src"), errstr, sizeof errstr),
     errstr);
  expect_error(brook_topology_add_processor(t, "after-sink", &nop_def, LIST("sink"), errstr, sizeof errstr), errstr,
               "parent \"sink\" is a sink");
  expect_error(brook_topology_add_sink(t, "s2", &(brook_sink_opts_t){0}, LIST("src"), errstr, sizeof errstr),
               errstr, "sink \"s2\": give either a topic or a topic extractor");
  expect_error(brook_topology_connect_store(t, "ghost", "sink", errstr, sizeof errstr), errstr,
               "unknown store \"ghost\"");
  ok(brook_topology_add_processor(t, "p", &nop_def, LIST("src"), errstr, sizeof errstr), errstr);
  expect_error(brook_topology_add_store(t, &(brook_store_def_t){.name = "bad name"}, NULL, errstr, sizeof errstr),
               errstr, "store \"bad name\"");
  ok(brook_topology_add_store(t, &(brook_store_def_t){.name = "st"}, LIST("p"), errstr, sizeof errstr), errstr);
  expect_error(brook_topology_add_store(t, &(brook_store_def_t){.name = "st"}, NULL, errstr, sizeof errstr),
               errstr, "store \"st\": a store with this name exists already");
  /* the first error is kept and reported again when the topology is used */
  g_assert_nonnull(strstr(brook_topology_error(t), "\"src\": a node with this name exists"));
  expect_error(topology_seal(t, errstr, sizeof errstr), errstr, "\"src\": a node with this name exists");
  brook_topology_unref(t);

  /* no source; a store no processor uses */
  t = brook_topology_new();
  expect_error(topology_seal(t, errstr, sizeof errstr), errstr, "no source");
  brook_topology_unref(t);
  t = brook_topology_new();
  ok(brook_topology_add_source(t, "src", &(brook_source_opts_t){.topics = LIST("in")}, errstr, sizeof errstr),
     errstr);
  ok(brook_topology_add_store(t, &(brook_store_def_t){.name = "lonely"}, NULL, errstr, sizeof errstr), errstr);
  expect_error(topology_seal(t, errstr, sizeof errstr), errstr, "store \"lonely\" is connected to no processor");
  brook_topology_unref(t);
}

static int freed;
static void count_free(void *p) {
  freed++;
  g_free(p);
}

/* The topology owns processor opaques and frees them once, even when adding fails. */
static void test_opaque_ownership(void) {
  char errstr[256];
  brook_topology_t *t = brook_topology_new();
  ok(brook_topology_add_source(t, "src", &(brook_source_opts_t){.topics = LIST("in")}, errstr, sizeof errstr),
     errstr);
  brook_processor_def_t def = {.process = nop_process, .opaque_free = count_free};
  def.opaque = g_malloc(8);
  ok(brook_topology_add_processor(t, "p", &def, LIST("src"), errstr, sizeof errstr), errstr);
  def.opaque = g_malloc(8);
  expect_error(brook_topology_add_processor(t, "p", &def, LIST("src"), errstr, sizeof errstr), errstr, "exists");
  g_assert_cmpint(freed, ==, 1);
  brook_topology_ref(t);
  brook_topology_unref(t);
  g_assert_cmpint(freed, ==, 1);
  brook_topology_unref(t);
  g_assert_cmpint(freed, ==, 2);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/streams/topology/subtopologies", test_subtopologies);
  g_test_add_func("/streams/topology/pattern", test_pattern);
  g_test_add_func("/streams/topology/errors", test_errors);
  g_test_add_func("/streams/topology/opaque-ownership", test_opaque_ownership);
  return g_test_run();
}
