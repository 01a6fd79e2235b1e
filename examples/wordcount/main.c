/*
 * wordcount — the classic stream-processing example, with the DSL.
 *
 *   text-lines (string lines)
 *     → flat_map_values: split into lower-case words
 *     → group_by the word (through the repartition topic "wordcount-counts-repartition")
 *     → count into the store "counts" (RocksDB, changelog "wordcount-counts-changelog")
 *     → to_stream → word-counts (string word → i64 count)
 *
 * Usage:
 *   wordcount                          demo on the embedded broker: feeds a few
 *                                      lines, waits until they are counted,
 *                                      prints "word count" lines, exits
 *   wordcount --run                    runs until Ctrl-C / SIGTERM; feed
 *                                      "text-lines" yourself (e.g. with kcat)
 *   wordcount --bootstrap-servers H:P  the same against a real cluster
 *   wordcount --state-dir DIR          keep state there (default: a fresh
 *                                      temporary directory, removed at exit)
 *
 * Everything below the topology is plumbing: the clients of brook_client.h
 * feed the input and read the output, so the program never touches librdkafka.
 */
#include <ctype.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brook_client.h"
#include "brook_dsl.h"
#include "brook_streams.h"
#include "example_main.h"

#define INPUT_TOPIC "text-lines"
#define OUTPUT_TOPIC "word-counts"
#define WORD_SEPARATORS " \t\r\n.,;:!?\"'()[]{}-"

/* ---- the topology ---- */

/* flat_map_values: one record per word. The lower-cased copy lives in scratch
 * memory, which the runtime frees when the line has gone through. */
static void split_words(const brook_record_t *rec, brook_emitter_t *out, void *opaque) {
  (void)opaque;
  if (!rec->value)
    return;
  char *line = brook_scratch_strdup(rec->value);
  for (char *p = line; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  char *save = NULL;
  for (char *word = strtok_r(line, WORD_SEPARATORS, &save); word; word = strtok_r(NULL, WORD_SEPARATORS, &save))
    brook_emit_value(out, word);
}

/* group_by: the word becomes the key. */
static const void *word_as_key(const brook_record_t *rec, void *opaque) {
  (void)opaque;
  return rec->value;
}

static brook_topology_t *wordcount_topology(char *errstr, size_t errstr_size) {
  brook_builder_t *builder = brook_builder_new();
  brook_stream_t *lines =
      brook_builder_stream(builder, INPUT_TOPIC, brook_serde_string_new(), brook_serde_string_new());
  brook_stream_t *words = brook_stream_flat_map_values(lines, split_words, NULL);
  brook_grouped_t *by_word =
      brook_stream_group_by(words, word_as_key, NULL, brook_serde_string_new(), brook_serde_string_new());
  brook_table_t *counts = brook_grouped_count(by_word, "counts");
  brook_stream_to(brook_table_to_stream(counts), OUTPUT_TOPIC, brook_serde_string_new(), brook_serde_i64_new());
  brook_topology_t *topology = brook_builder_build(builder, errstr, errstr_size);
  brook_builder_destroy(builder);
  return topology;
}

/* ---- the demo: sample input, reading the result ---- */

static const char *const sample_lines[] = {
    "All streams flow into the sea, yet the sea is not full.",
    "A brook is a small stream; a stream is a small river.",
    "The river flows, the brook babbles, the sea waits.",
    "Streams of records flow from topics into topologies and back into topics.",
    "Count the words, then count them again: the counts are kept in a store.",
    "The store is a RocksDB database, and its changelog is a Kafka topic.",
    NULL,
};

static brook_err_t produce_sample(const char *bootstrap, char *errstr, size_t errstr_size) {
  brook_producer_t *producer = brook_producer_new(bootstrap, errstr, errstr_size);
  if (!producer)
    return BROOK_ERR__FAIL;
  brook_serde_t *string = brook_serde_string_new();
  brook_err_t err = BROOK_ERR_NONE;
  int n = 0;
  for (; sample_lines[n] && !err; n++) /* null keys: spread over the partitions */
    err = brook_producer_send(producer, INPUT_TOPIC, -1, NULL, NULL, string, sample_lines[n], -1, errstr,
                              errstr_size);
  if (!err)
    err = brook_producer_flush(producer, 30000, errstr, errstr_size);
  brook_producer_destroy(producer);
  brook_serde_unref(string);
  if (!err)
    printf("produced %d lines to \"%s\"\n", n, INPUT_TOPIC);
  return err;
}

/* Each update of a word's count is one record; the last one read is the final
 * count (a word lives in one partition, read in offset order). */
static void on_count(const brook_read_record_t *r, void *opaque) {
  GHashTable *counts = opaque;
  if (r->rec->key && r->rec->value)
    g_hash_table_insert(counts, g_strdup(r->rec->key), g_memdup2(r->rec->value, sizeof(int64_t)));
}

typedef struct word_count {
  const char *word;
  int64_t count;
} word_count_t;

static int by_count_desc(const void *a, const void *b) {
  const word_count_t *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp(x->word, y->word);
}

static brook_err_t print_counts(const char *bootstrap, char *errstr, size_t errstr_size) {
  brook_serde_t *string = brook_serde_string_new(), *i64 = brook_serde_i64_new();
  brook_reader_t *reader = brook_reader_new(bootstrap, OUTPUT_TOPIC, string, i64, errstr, errstr_size);
  brook_serde_unref(string);
  brook_serde_unref(i64);
  if (!reader)
    return BROOK_ERR__FAIL;
  GHashTable *counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  int64_t n = brook_reader_read(reader, on_count, counts, 30000, errstr, errstr_size);
  brook_reader_destroy(reader);
  if (n < 0) {
    g_hash_table_destroy(counts);
    return BROOK_ERR__FAIL;
  }
  guint nwords = g_hash_table_size(counts);
  word_count_t *rows = g_new(word_count_t, nwords ? nwords : 1);
  GHashTableIter it;
  gpointer k, v;
  guint i = 0;
  g_hash_table_iter_init(&it, counts);
  while (g_hash_table_iter_next(&it, &k, &v))
    rows[i++] = (word_count_t){k, *(const int64_t *)v};
  qsort(rows, nwords, sizeof *rows, by_count_desc);
  printf("read %" G_GINT64_FORMAT " count updates from \"%s\": %u distinct words\n\n", n, OUTPUT_TOPIC, nwords);
  printf("%-14s %5s\n", "word", "count");
  for (i = 0; i < nwords; i++)
    printf("%-14s %5" G_GINT64_FORMAT "\n", rows[i].word, rows[i].count);
  g_free(rows);
  g_hash_table_destroy(counts);
  return BROOK_ERR_NONE;
}

/* ---- main: the shared command line (example_main.h) ---- */

static brook_err_t feed(const char *servers, void *opaque, char *errstr, size_t errstr_size) {
  return produce_sample(servers, errstr, errstr_size);
}

static brook_err_t show(const char *servers, void *opaque, char *errstr, size_t errstr_size) {
  return print_counts(servers, errstr, errstr_size);
}

int main(int argc, char **argv) {
  const example_t ex = {
      .name = "wordcount",
      .summary = "- count words of \"" INPUT_TOPIC "\" into \"" OUTPUT_TOPIC "\"",
      .run_hint = "running; produce lines to \"" INPUT_TOPIC "\" at %s",
      .topology = wordcount_topology,
      .topics = {{INPUT_TOPIC, 3}, {OUTPUT_TOPIC, 3}},
      .feed = feed,
      .show = show,
  };
  return example_main(&ex, argc, argv);
}
