/*
 * wordcount_util.h — shared by the DSL end-to-end tests: a deterministic
 * corpus with its reference counts, the word-count topology, and reading the
 * latest count per word from an output topic.
 */
#ifndef BROOK_TEST_WORDCOUNT_UTIL_H
#define BROOK_TEST_WORDCOUNT_UTIL_H

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "brook_client.h"
#include "brook_dsl.h"
#include "brook_streams.h"

/* `lines` lines of 1–12 words from a vocabulary of `vocab` words, skewed so
 * that some words are frequent; seeded, so every run is the same. Adds each
 * word to `reference` (word -> count as GINT_TO_POINTER). (transfer full) */
static inline GPtrArray *corpus_make(guint32 seed, int lines, int vocab, GHashTable *reference) {
  GRand *rand = g_rand_new_with_seed(seed);
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  for (int i = 0; i < lines; i++) {
    GString *line = g_string_new(NULL);
    int words = g_rand_int_range(rand, 1, 13);
    for (int w = 0; w < words; w++) {
      /* skew: the square of a uniform variable favours small ids */
      double u = g_rand_double(rand);
      int id = (int)(u * u * vocab);
      char *word = g_strdup_printf("%sword%d", id % 3 == 0 ? "Big" : "", id);
      g_string_append_printf(line, "%s%s", w ? (w % 4 == 0 ? "  " : " ") : "", word);
      char *lower = g_ascii_strdown(word, -1);
      gpointer old = g_hash_table_lookup(reference, lower);
      g_hash_table_insert(reference, lower, GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
      g_free(word);
    }
    g_ptr_array_add(out, g_string_free(line, FALSE));
  }
  g_rand_free(rand);
  return out;
}

static void wc_split(const brook_record_t *rec, brook_emitter_t *out, void *opaque) {
  const char *line = rec->value;
  if (!line)
    return;
  const char *p = line;
  while (*p) {
    while (*p == ' ')
      p++;
    const char *start = p;
    while (*p && *p != ' ')
      p++;
    if (p > start) {
      char *word = brook_scratch_strndup(start, (size_t)(p - start));
      for (char *c = word; *c; c++)
        *c = g_ascii_tolower(*c);
      brook_emit_value(out, word);
    }
  }
}

static const void *wc_word_as_key(const brook_record_t *rec, void *opaque) {
  return rec->value;
}

/* text-lines -> words -> group by word -> count(store) -> to_stream -> output */
static inline brook_topology_t *wordcount_topology(const char *input, const char *store, const char *output) {
  char errstr[256];
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *lines = brook_builder_stream(b, input, brook_serde_string_new(), brook_serde_string_new());
  brook_stream_t *words = brook_stream_flat_map_values(lines, wc_split, NULL);
  brook_grouped_t *grouped = brook_stream_group_by(words, wc_word_as_key, NULL, brook_serde_string_new(), brook_serde_string_new());
  brook_table_t *counts = brook_grouped_count(grouped, store);
  brook_stream_to(brook_table_to_stream(counts), output, brook_serde_string_new(), brook_serde_i64_new());
  brook_topology_t *topology = brook_builder_build(b, errstr, sizeof errstr);
  if (!topology)
    g_error("wordcount topology: %s", errstr);
  brook_builder_destroy(b);
  return topology;
}

/* Latest count per word read from an output topic, checking on the way that a
 * word's counts only grow (offset order within its partition). */
typedef struct latest {
  GHashTable *counts; /* word -> gint64 * */
  int64_t records;
  int64_t decreases;
} latest_t;

static void latest_add(const brook_read_record_t *r, void *opaque) {
  latest_t *l = opaque;
  l->records++;
  const char *word = r->rec->key;
  const int64_t *count = r->rec->value;
  g_assert_nonnull(word);
  g_assert_nonnull(count);
  gint64 *cur = g_hash_table_lookup(l->counts, word);
  if (!cur) {
    cur = g_new0(gint64, 1);
    g_hash_table_insert(l->counts, g_strdup(word), cur);
  } else if (*count < *cur) {
    l->decreases++;
  }
  *cur = *count;
}

static inline void latest_init(latest_t *l) {
  memset(l, 0, sizeof *l);
  l->counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

static inline void latest_clear(latest_t *l) {
  g_hash_table_destroy(l->counts);
}

/* Every reference word has exactly its reference count, and nothing else is there. */
static inline void assert_counts_equal(GHashTable *reference, latest_t *l) {
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, reference);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    gint64 *got = g_hash_table_lookup(l->counts, k);
    if (!got)
      g_error("word \"%s\": no count in the output (expected %d)", (char *)k, GPOINTER_TO_INT(v));
    if (*got != GPOINTER_TO_INT(v))
      g_error("word \"%s\": count %" G_GINT64_FORMAT ", expected %d", (char *)k, *got, GPOINTER_TO_INT(v));
  }
  g_assert_cmpuint(g_hash_table_size(l->counts), ==, g_hash_table_size(reference));
  g_assert_cmpint(l->decreases, ==, 0);
}

static inline void rm_rf(const char *path) {
  GDir *dir = g_dir_open(path, 0, NULL);
  if (dir) {
    const char *name;
    while ((name = g_dir_read_name(dir))) {
      char *child = g_build_filename(path, name, NULL);
      if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
        rm_rf(child);
      else
        g_unlink(child);
      g_free(child);
    }
    g_dir_close(dir);
  }
  g_rmdir(path);
}

static inline void conf_set_or_die(brook_app_conf_t *conf, const char *name, const char *value) {
  char errstr[256];
  if (brook_app_conf_set(conf, name, value, errstr, sizeof errstr))
    g_error("%s=%s: %s", name, value, errstr);
}

/* Produces each line of `lines` (null key) to `topic`, then flushes. */
static inline void produce_lines(const char *bootstrap, const char *topic, GPtrArray *lines, guint from,
                                 guint to) {
  char errstr[256];
  brook_producer_t *p = brook_producer_new(bootstrap, errstr, sizeof errstr);
  g_assert_nonnull(p);
  brook_serde_t *s = brook_serde_string_new();
  for (guint i = from; i < to; i++)
    if (brook_producer_send(p, topic, -1, s, NULL, s, lines->pdata[i], -1 /* now: old timestamps fall to retention.ms */, errstr, sizeof errstr))
      g_error("send: %s", errstr);
  if (brook_producer_flush(p, 30000, errstr, sizeof errstr))
    g_error("flush: %s", errstr);
  brook_serde_unref(s);
  brook_producer_destroy(p);
}

/* Reads the whole of `topic` into `l`. */
static inline void read_counts(const char *bootstrap, const char *topic, latest_t *l) {
  char errstr[256];
  brook_serde_t *s = brook_serde_string_new(), *i64 = brook_serde_i64_new();
  brook_reader_t *r = brook_reader_new(bootstrap, topic, s, i64, errstr, sizeof errstr);
  g_assert_nonnull(r);
  if (brook_reader_read(r, latest_add, l, 30000, errstr, sizeof errstr) < 0)
    g_error("read %s: %s", topic, errstr);
  brook_reader_destroy(r);
  brook_serde_unref(s);
  brook_serde_unref(i64);
}

#endif
