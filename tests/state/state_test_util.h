/*
 * state_test_util.h — helpers shared by the state store tests (header-only:
 * every test is one executable): temporary state directories, a changelog
 * sink that records what it is handed (optionally mirroring each record to a
 * file, for the crash tests), and a model map to compare stores against.
 */
#ifndef STATE_TEST_UTIL_H
#define STATE_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brook_kv_store.h"
#include "brook_state.h"

/* ---- temporary directories ---- */

static int tu_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static inline char *tu_tmpdir(void) {
  GError *err = NULL;
  char *d = g_dir_make_tmp("brook-state-XXXXXX", &err);
  g_assert_no_error(err);
  return d;
}

static inline void tu_rmdir(char *dir) {
  if (!dir) return;
  nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
  g_free(dir);
}

static inline brook_state_env_t *tu_env(const char *state_dir, const char *app, uint64_t cache_bytes,
                                        uint64_t total_memory) {
  char errstr[256];
  brook_state_env_conf_t conf = {.state_dir = state_dir,
                                 .application_id = app,
                                 .rocksdb_total_memory_bytes = total_memory,
                                 .cache_max_bytes = cache_bytes};
  brook_state_env_t *env = brook_state_env_new(&conf, errstr, sizeof errstr);
  if (!env) g_error("env: %s", errstr);
  return env;
}

static inline brook_task_dir_t *tu_task_dir(brook_state_env_t *env, const char *task) {
  char errstr[256];
  brook_task_dir_t *dir = NULL;
  brook_err_t err = brook_task_dir_open(env, task, &dir, errstr, sizeof errstr);
  if (err) g_error("task dir %s: %s", task, errstr);
  return dir;
}

/* ---- the recording sink ---- */

typedef struct tu_rec {
  GBytes *key;
  GBytes *value; /* NULL = tombstone */
  int64_t ts;
  int64_t offset;
} tu_rec_t;

typedef struct tu_sink {
  GPtrArray *recs; /* tu_rec_t */
  char *topic;     /* the last topic seen */
  int32_t partition;
  int64_t next_offset;
  int fail_after; /* refuse records once this many were taken (-1: never) */
  int mirror_fd;  /* >= 0: append every record to this file (write(2), no buffering) */
} tu_sink_t;

static inline void tu_rec_free(gpointer p) {
  tu_rec_t *r = p;
  g_bytes_unref(r->key);
  if (r->value) g_bytes_unref(r->value);
  g_free(r);
}

static inline void tu_sink_init(tu_sink_t *s) {
  memset(s, 0, sizeof *s);
  s->recs = g_ptr_array_new_with_free_func(tu_rec_free);
  s->fail_after = -1;
  s->mirror_fd = -1;
}

static inline void tu_sink_clear(tu_sink_t *s) {
  g_ptr_array_free(s->recs, TRUE);
  g_free(s->topic);
}

static inline void tu_write_all(int fd, const void *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    g_assert_cmpint(w, >, 0);
    p = (const char *)p + w;
    n -= (size_t)w;
  }
}

/* Record file format: u32 key_len, key, i32 value_len (-1 tombstone), value,
 * i64 ts, i64 offset (host order: written and read on one machine). */
static inline void tu_rec_write(int fd, const tu_rec_t *r) {
  GByteArray *b = g_byte_array_new();
  gsize kl = 0, vl = 0;
  const void *k = g_bytes_get_data(r->key, &kl);
  const void *v = r->value ? g_bytes_get_data(r->value, &vl) : NULL;
  uint32_t klen = (uint32_t)kl;
  int32_t vlen = r->value ? (int32_t)vl : -1;
  g_byte_array_append(b, (void *)&klen, 4);
  g_byte_array_append(b, k, (guint)kl);
  g_byte_array_append(b, (void *)&vlen, 4);
  if (v) g_byte_array_append(b, v, (guint)vl);
  g_byte_array_append(b, (void *)&r->ts, 8);
  g_byte_array_append(b, (void *)&r->offset, 8);
  tu_write_all(fd, b->data, b->len); /* one write per record */
  g_byte_array_free(b, TRUE);
}

static inline GPtrArray *tu_recs_read(const char *path) {
  GPtrArray *a = g_ptr_array_new_with_free_func(tu_rec_free);
  gchar *data = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(path, &data, &len, NULL));
  const unsigned char *p = (const unsigned char *)data, *end = p + len;
  while (p + 4 <= end) {
    uint32_t klen;
    memcpy(&klen, p, 4);
    if (p + 4 + klen + 4 > end) break; /* torn last record: cannot happen with one write per record */
    tu_rec_t *r = g_new0(tu_rec_t, 1);
    r->key = g_bytes_new(p + 4, klen);
    p += 4 + klen;
    int32_t vlen;
    memcpy(&vlen, p, 4);
    p += 4;
    if (vlen >= 0) {
      r->value = g_bytes_new(p, (gsize)vlen);
      p += vlen;
    }
    memcpy(&r->ts, p, 8);
    memcpy(&r->offset, p + 8, 8);
    p += 16;
    g_ptr_array_add(a, r);
  }
  g_free(data);
  return a;
}

static inline brook_err_t tu_sink_send(void *opaque, const char *topic, int32_t partition, const void *key,
                                       size_t key_len, const void *value, size_t value_len,
                                       int64_t timestamp) {
  tu_sink_t *s = opaque;
  if (s->fail_after >= 0 && (int)s->recs->len >= s->fail_after) return BROOK_ERR_NOT_ENOUGH_REPLICAS;
  if (!s->topic || strcmp(s->topic, topic) != 0) {
    g_free(s->topic);
    s->topic = g_strdup(topic);
  }
  s->partition = partition;
  tu_rec_t *r = g_new0(tu_rec_t, 1);
  r->key = g_bytes_new(key, key_len);
  r->value = value ? g_bytes_new(value, value_len) : NULL;
  r->ts = timestamp;
  r->offset = s->next_offset++;
  if (s->mirror_fd >= 0) tu_rec_write(s->mirror_fd, r);
  g_ptr_array_add(s->recs, r);
  return BROOK_ERR_NONE;
}

static inline brook_changelog_sink_t tu_sink(tu_sink_t *s) {
  brook_changelog_sink_t k = {tu_sink_send, s};
  return k;
}

/* Feeds records [from index, end) with offset >= min_offset to restore, in
 * batches of `batch`. */
static inline void tu_restore(brook_kv_store_t *store, GPtrArray *recs, int64_t min_offset, size_t batch) {
  GArray *b = g_array_new(FALSE, FALSE, sizeof(brook_changelog_record_t));
  int64_t end = recs->len ? ((tu_rec_t *)recs->pdata[recs->len - 1])->offset + 1 : 0;
  for (guint i = 0; i < recs->len; i++) {
    tu_rec_t *r = recs->pdata[i];
    if (r->offset < min_offset) continue;
    gsize kl = 0, vl = 0;
    brook_changelog_record_t c = {g_bytes_get_data(r->key, &kl),
                                  0,
                                  r->value ? g_bytes_get_data(r->value, &vl) : NULL,
                                  0,
                                  r->ts,
                                  r->offset};
    c.key_len = kl;
    c.value_len = vl;
    g_array_append_val(b, c);
    if (b->len == batch || i + 1 == recs->len) {
      g_assert_cmpint(brook_kv_store_restore(store, (void *)b->data, b->len, end, NULL), ==, BROOK_ERR_NONE);
      g_array_set_size(b, 0);
    }
  }
  if (b->len) g_assert_cmpint(brook_kv_store_restore(store, (void *)b->data, b->len, end, NULL), ==, 0);
  g_array_free(b, TRUE);
}

/* ---- model: a sorted map of GBytes → GBytes ---- */

static inline int tu_bytes_cmp(gconstpointer a, gconstpointer b, gpointer unused) {
  (void)unused;
  gsize al, bl;
  const void *ap = g_bytes_get_data((GBytes *)a, &al), *bp = g_bytes_get_data((GBytes *)b, &bl);
  size_t n = al < bl ? al : bl;
  int c = n ? memcmp(ap, bp, n) : 0;
  if (c) return c;
  return al < bl ? -1 : al > bl;
}

static inline GTree *tu_model_new(void) {
  return g_tree_new_full(tu_bytes_cmp, NULL, (GDestroyNotify)g_bytes_unref, (GDestroyNotify)g_bytes_unref);
}

static inline void tu_model_apply(GTree *m, GBytes *key, GBytes *value) {
  if (value)
    g_tree_insert(m, g_bytes_ref(key), g_bytes_ref(value));
  else
    g_tree_remove(m, key);
}

/* The model built by replaying recs. */
static inline GTree *tu_model_from(GPtrArray *recs) {
  GTree *m = tu_model_new();
  for (guint i = 0; i < recs->len; i++) {
    tu_rec_t *r = recs->pdata[i];
    tu_model_apply(m, r->key, r->value);
  }
  return m;
}

typedef struct tu_cmp_ctx {
  brook_kv_iter_t *it;
  guint n;
} tu_cmp_ctx_t;

static inline gboolean tu_cmp_one(gpointer k, gpointer v, gpointer data) {
  tu_cmp_ctx_t *c = data;
  const void *key, *val;
  size_t kl, vl;
  g_assert_true(brook_kv_iter_next(c->it, &key, &kl, &val, &vl, NULL));
  gsize mkl, mvl;
  const void *mk = g_bytes_get_data(k, &mkl), *mv = g_bytes_get_data(v, &mvl);
  g_assert_cmpmem(key, kl, mk, mkl);
  g_assert_cmpmem(val, vl, mv, mvl);
  c->n++;
  return FALSE;
}

/* Asserts the store's full forward scan equals the model, and every model key
 * reads back with get. */
static inline void tu_assert_store_equals(brook_kv_store_t *store, GTree *m) {
  tu_cmp_ctx_t c = {brook_kv_store_all(store, false), 0};
  g_tree_foreach(m, tu_cmp_one, &c);
  const void *k, *v;
  size_t kl, vl;
  g_assert_false(brook_kv_iter_next(c.it, &k, &kl, &v, &vl, NULL));
  g_assert_cmpint(brook_kv_iter_err(c.it, NULL, 0), ==, BROOK_ERR_NONE);
  brook_kv_iter_destroy(c.it);
  g_assert_cmpuint(c.n, ==, (guint)g_tree_nnodes(m));
}

static inline void tu_rng_bytes(GRand *rng, unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)g_rand_int_range(rng, 0, 256);
}

/* Peak resident set size so far, from /proc/self/status VmHWM (bytes). */
static inline uint64_t tu_peak_rss(void) {
  char *s = NULL;
  uint64_t kb = 0;
  if (g_file_get_contents("/proc/self/status", &s, NULL, NULL)) {
    const char *p = strstr(s, "VmHWM:");
    if (p) kb = g_ascii_strtoull(p + 6, NULL, 10);
    g_free(s);
  }
  return kb * 1024;
}

static inline uint64_t tu_rss(void) {
  char *s = NULL;
  uint64_t kb = 0;
  if (g_file_get_contents("/proc/self/status", &s, NULL, NULL)) {
    const char *p = strstr(s, "VmRSS:");
    if (p) kb = g_ascii_strtoull(p + 6, NULL, 10);
    g_free(s);
  }
  return kb * 1024;
}

#endif
