/*
 * pageviews — page views per page, from a stream of JSON view events.
 *
 *   pageviews (key: user id, value: {"user": "user-07", "page": "/pricing"})
 *     → group_by the "page" field (through "pageviews-views-per-page-repartition")
 *     → count into the store "views-per-page"
 *     → to_stream → pageviews-per-page (string page → i64 views)
 *
 * The counts are running totals, not windowed (windowed counts come with
 * window operators in the DSL).
 *
 * Usage:
 *   pageviews                          demo on the embedded broker: feeds 600
 *                                      synthetic views with a known
 *                                      distribution, prints the table, exits
 *   pageviews --run                    runs until Ctrl-C / SIGTERM; feed
 *                                      "pageviews" yourself
 *   pageviews --bootstrap-servers H:P  the same against a real cluster
 *   pageviews --state-dir DIR          keep state there (default: a fresh
 *                                      temporary directory, removed at exit)
 */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brook_client.h"
#include "brook_dsl.h"
#include "brook_streams.h"
#include "example_main.h"

#define INPUT_TOPIC "pageviews"
#define OUTPUT_TOPIC "pageviews-per-page"

/* ---- the topology ---- */

/* group_by: the "page" member of the JSON view. The string belongs to the
 * input record's JSON node, which lives until the record is done: no copy.
 * Views without a page give a null key, which group_by drops. */
static const void *page_of_view(const brook_record_t *rec, void *opaque) {
  (void)opaque;
  JsonNode *view = (JsonNode *)rec->value;
  if (!view || !JSON_NODE_HOLDS_OBJECT(view))
    return NULL;
  return json_object_get_string_member_with_default(json_node_get_object(view), "page", NULL);
}

static brook_topology_t *pageviews_topology(char *errstr, size_t errstr_size) {
  brook_builder_t *builder = brook_builder_new();
  brook_stream_t *views = brook_builder_stream(builder, INPUT_TOPIC, brook_serde_string_new(), brook_serde_json_new());
  /* value serde NULL: the repartition topic carries the views as the source's JSON */
  brook_grouped_t *by_page = brook_stream_group_by(views, page_of_view, NULL, brook_serde_string_new(), NULL);
  brook_table_t *counts = brook_grouped_count(by_page, "views-per-page");
  brook_stream_to(brook_table_to_stream(counts), OUTPUT_TOPIC, brook_serde_string_new(), brook_serde_i64_new());
  brook_topology_t *topology = brook_builder_build(builder, errstr, errstr_size);
  brook_builder_destroy(builder);
  return topology;
}

/* ---- the demo: synthetic views with a known distribution ---- */

typedef struct page {
  const char *path;
  int views; /* how many the demo produces */
  int64_t counted;
} page_t;

static page_t pages[] = {
    {"/home", 180, 0}, {"/products", 150, 0}, {"/pricing", 120, 0},
    {"/blog", 80, 0},  {"/docs", 50, 0},      {"/about", 20, 0},
};
#define NPAGES (sizeof pages / sizeof pages[0])
#define NUSERS 40

static brook_err_t produce_views(const char *bootstrap, int *totalp, char *errstr, size_t errstr_size) {
  /* Every view of every page once, in a shuffled order (fixed seed: the same
   * input each run), each from one of NUSERS users. */
  GArray *order = g_array_new(FALSE, FALSE, sizeof(int));
  for (int p = 0; p < (int)NPAGES; p++)
    for (int i = 0; i < pages[p].views; i++)
      g_array_append_val(order, p);
  GRand *rand = g_rand_new_with_seed(42);
  for (guint i = order->len - 1; i > 0; i--) {
    guint j = (guint)g_rand_int_range(rand, 0, (gint32)i + 1);
    int t = g_array_index(order, int, i);
    g_array_index(order, int, i) = g_array_index(order, int, j);
    g_array_index(order, int, j) = t;
  }

  brook_producer_t *producer = brook_producer_new(bootstrap, errstr, errstr_size);
  brook_serde_t *string = brook_serde_string_new(), *json = brook_serde_json_new();
  brook_err_t err = producer ? BROOK_ERR_NONE : BROOK_ERR__FAIL;
  for (guint i = 0; i < order->len && !err; i++) {
    char user[16], text[128];
    snprintf(user, sizeof user, "user-%02d", g_rand_int_range(rand, 1, NUSERS + 1));
    snprintf(text, sizeof text, "{\"user\":\"%s\",\"page\":\"%s\"}", user, pages[g_array_index(order, int, i)].path);
    JsonNode *view = json_from_string(text, NULL);
    err = brook_producer_send(producer, INPUT_TOPIC, -1, string, user, json, view, -1, errstr, errstr_size);
    json_node_unref(view);
  }
  if (!err)
    err = brook_producer_flush(producer, 30000, errstr, errstr_size);
  if (!err) {
    *totalp = (int)order->len;
    printf("produced %u page views by %d users to \"%s\"\n", order->len, NUSERS, INPUT_TOPIC);
  }
  brook_producer_destroy(producer);
  brook_serde_unref(string);
  brook_serde_unref(json);
  g_rand_free(rand);
  g_array_unref(order);
  return err;
}

/* The last update read for a page is its count (one page = one partition,
 * read in offset order). */
static void on_count(const brook_read_record_t *r, void *opaque) {
  (void)opaque;
  for (size_t p = 0; p < NPAGES; p++)
    if (r->rec->key && r->rec->value && strcmp(r->rec->key, pages[p].path) == 0)
      pages[p].counted = *(const int64_t *)r->rec->value;
}

static brook_err_t print_table(const char *bootstrap, int produced, char *errstr, size_t errstr_size) {
  brook_serde_t *string = brook_serde_string_new(), *i64 = brook_serde_i64_new();
  brook_reader_t *reader = brook_reader_new(bootstrap, OUTPUT_TOPIC, string, i64, errstr, errstr_size);
  brook_serde_unref(string);
  brook_serde_unref(i64);
  if (!reader)
    return BROOK_ERR__FAIL;
  int64_t updates = brook_reader_read(reader, on_count, NULL, 30000, errstr, errstr_size);
  brook_reader_destroy(reader);
  if (updates < 0)
    return BROOK_ERR__FAIL;

  int64_t total = 0, max = 1;
  for (size_t p = 0; p < NPAGES; p++) {
    total += pages[p].counted;
    max = MAX(max, pages[p].counted);
  }
  printf("\n  %-10s %6s %7s\n", "page", "views", "share");
  printf("  %-10s %6s %7s\n", "----------", "------", "-------");
  for (size_t p = 0; p < NPAGES; p++) {
    printf("  %-10s %6" G_GINT64_FORMAT " %6.1f%%  ", pages[p].path, pages[p].counted,
           total ? 100.0 * (double)pages[p].counted / (double)total : 0.0);
    for (int64_t i = 0; i < (pages[p].counted * 40 + max / 2) / max; i++)
      fputs("█", stdout);
    putchar('\n');
  }
  printf("  %-10s %6s %7s\n", "----------", "------", "-------");
  printf("  %-10s %6" G_GINT64_FORMAT "\n\n", "total", total);
  printf("(%" G_GINT64_FORMAT " count updates read from \"%s\")\n", updates, OUTPUT_TOPIC);

  /* The demo checks itself: every view produced must have been counted. */
  for (size_t p = 0; p < NPAGES; p++) {
    if (pages[p].counted < pages[p].views) {
      snprintf(errstr, errstr_size, "%s: counted %" G_GINT64_FORMAT " views, produced %d", pages[p].path,
               pages[p].counted, pages[p].views);
      return BROOK_ERR__FAIL;
    }
  }
  if (total > produced)
    printf("(the counts include views from earlier runs against this cluster)\n");
  return BROOK_ERR_NONE;
}

/* ---- main: the shared command line (example_main.h) ---- */

static brook_err_t feed(const char *servers, void *opaque, char *errstr, size_t errstr_size) {
  return produce_views(servers, opaque, errstr, errstr_size);
}

static brook_err_t show(const char *servers, void *opaque, char *errstr, size_t errstr_size) {
  return print_table(servers, *(int *)opaque, errstr, errstr_size);
}

int main(int argc, char **argv) {
  int produced = 0;
  const example_t ex = {
      .name = "pageviews",
      .summary = "- count views per page of \"" INPUT_TOPIC "\"",
      .run_hint = "running; produce views to \"" INPUT_TOPIC "\" at %s",
      .topology = pageviews_topology,
      .topics = {{INPUT_TOPIC, 4}, {OUTPUT_TOPIC, 4}},
      .feed = feed,
      .show = show,
      .opaque = &produced,
  };
  return example_main(&ex, argc, argv);
}
