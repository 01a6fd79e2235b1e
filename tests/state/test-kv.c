/*
 * test-kv.c — the key-value store contract. Every test body runs against each
 * variant: RocksDB and in-memory, each plain, with a record cache in front, and
 * timestamped. Plus RocksDB-only error tests (lock held, corruption) and views
 * read from another thread while the owner writes batches.
 */
#include <pthread.h>
#include <stdatomic.h>

#include <rocksdb/c.h>

#include "state_test_util.h"

typedef struct variant {
  const char *name;
  bool in_memory;
  bool cached;
  bool timestamped;
} variant_t;

static const variant_t variants[] = {
    {"rocksdb", false, false, false},         {"memory", true, false, false},
    {"rocksdb-cached", false, true, false},   {"memory-cached", true, true, false},
    {"rocksdb-ts", false, false, true},       {"memory-ts", true, false, true},
    {"rocksdb-ts-cached", false, true, true},
};

typedef struct fx {
  const variant_t *v;
  char *tmp;
  brook_state_env_t *env;
  brook_task_dir_t *dir;
  tu_sink_t sink;
  brook_kv_store_t *store;
} fx_t;

static brook_kv_store_t *fx_open(fx_t *f, const char *name) {
  brook_store_opts_t opts = {.name = name,
                             .in_memory = f->v->in_memory,
                             .logged = true,
                             .cached = f->v->cached,
                             .partition = 3,
                             .sink = tu_sink(&f->sink)};
  char errstr[256];
  brook_kv_store_t *store = NULL;
  brook_err_t err = brook_kv_store_open(f->env, f->dir, &opts, f->v->timestamped ? BROOK_KV_TIMESTAMPED : 0,
                                        &store, errstr, sizeof errstr);
  if (err) g_error("open %s: %s", name, errstr);
  return store;
}

static void fx_setup(fx_t *f, gconstpointer data) {
  f->v = data;
  f->tmp = tu_tmpdir();
  f->env = tu_env(f->tmp, "app", 1 << 20, 0);
  f->dir = tu_task_dir(f->env, "0_3");
  tu_sink_init(&f->sink);
  f->store = fx_open(f, "counts");
}

static void fx_teardown(fx_t *f, gconstpointer data) {
  brook_kv_store_close(f->store);
  brook_task_dir_close(f->dir);
  brook_state_env_destroy(f->env);
  tu_sink_clear(&f->sink);
  tu_rmdir(f->tmp);
}

/* Cached variants hand records to the changelog at flush time. */
static void fx_sync(fx_t *f) { g_assert_cmpint(brook_kv_store_flush(f->store), ==, BROOK_ERR_NONE); }

#define S(x) (x), strlen(x)

static void assert_get(brook_kv_store_t *store, const char *key, const char *want) {
  const void *v = NULL;
  size_t vl = 0;
  brook_err_t err = brook_kv_store_get(store, key, strlen(key), &v, &vl, NULL);
  if (!want) {
    g_assert_cmpint(err, ==, BROOK_ERR__NOENT);
    return;
  }
  g_assert_cmpint(err, ==, BROOK_ERR_NONE);
  g_assert_cmpmem(v, vl, want, strlen(want));
}

/* Collects an iterator into "k=v,k=v" (keys/values printable in these tests). */
static char *scan(brook_kv_iter_t *it) {
  GString *s = g_string_new("");
  const void *k, *v;
  size_t kl, vl;
  while (brook_kv_iter_next(it, &k, &kl, &v, &vl, NULL)) {
    if (s->len) g_string_append_c(s, ',');
    g_string_append_len(s, k, (gssize)kl);
    g_string_append_c(s, '=');
    g_string_append_len(s, v, (gssize)vl);
  }
  g_assert_cmpint(brook_kv_iter_err(it, NULL, 0), ==, BROOK_ERR_NONE);
  brook_kv_iter_destroy(it);
  return g_string_free(s, FALSE);
}

#define ASSERT_SCAN(it, want)        \
  do {                               \
    char *got_ = scan(it);           \
    g_assert_cmpstr(got_, ==, want); \
    g_free(got_);                    \
  } while (0)

static void t_put_get(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  assert_get(s, "a", NULL);
  g_assert_cmpint(brook_kv_store_put(s, S("a"), S("1"), 100), ==, 0);
  assert_get(s, "a", "1");
  g_assert_cmpint(brook_kv_store_put(s, S("a"), S("22"), 101), ==, 0);
  assert_get(s, "a", "22");
  /* empty value is a value, not a delete */
  g_assert_cmpint(brook_kv_store_put(s, S("e"), "", 0, 102), ==, 0);
  const void *v = NULL;
  size_t vl = 99;
  int64_t ts = 0;
  g_assert_cmpint(brook_kv_store_get(s, S("e"), &v, &vl, &ts), ==, 0);
  g_assert_cmpuint(vl, ==, 0);
  g_assert_cmpint(ts, ==, f->v->timestamped ? 102 : -1);
  /* binary keys with NUL bytes */
  g_assert_cmpint(brook_kv_store_put(s, "x\0y", 3, S("bin"), 103), ==, 0);
  g_assert_cmpint(brook_kv_store_get(s, "x\0y", 3, &v, &vl, NULL), ==, 0);
  g_assert_cmpmem(v, vl, "bin", 3);
  g_assert_cmpint(brook_kv_store_get(s, "x", 1, &v, &vl, NULL), ==, BROOK_ERR__NOENT);
  /* value NULL deletes */
  g_assert_cmpint(brook_kv_store_put(s, S("a"), NULL, 0, 104), ==, 0);
  assert_get(s, "a", NULL);
  g_assert_cmpstr(brook_kv_store_name(s), ==, "counts");
  g_assert_cmpstr(brook_kv_store_changelog_topic(s), ==, "app-counts-changelog");
}

static void t_put_if_absent(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  const void *ex = (void *)1;
  size_t exl = 9;
  g_assert_cmpint(brook_kv_store_put_if_absent(s, S("k"), S("first"), 1, &ex, &exl), ==, 0);
  g_assert_null(ex);
  g_assert_cmpint(brook_kv_store_put_if_absent(s, S("k"), S("second"), 2, &ex, &exl), ==, 0);
  g_assert_cmpmem(ex, exl, "first", 5);
  assert_get(s, "k", "first");
  fx_sync(f);
  g_assert_cmpuint(f->sink.recs->len, ==, 1); /* the refused put wrote nothing */
}

static void t_delete(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  g_assert_cmpint(brook_kv_store_put(s, S("k"), S("v1"), 5), ==, 0);
  fx_sync(f);
  const void *old = NULL;
  size_t oldl = 0;
  g_assert_cmpint(brook_kv_store_delete(s, S("k"), 6, &old, &oldl), ==, 0);
  g_assert_cmpmem(old, oldl, "v1", 2);
  assert_get(s, "k", NULL);
  g_assert_cmpint(brook_kv_store_delete(s, S("k"), 7, &old, &oldl), ==, 0);
  g_assert_null(old);
  fx_sync(f);
  /* changelog: the put, then tombstone(s): one per delete uncached, collapsed cached */
  g_assert_cmpuint(f->sink.recs->len, ==, f->v->cached ? 2 : 3);
  tu_rec_t *last = f->sink.recs->pdata[f->sink.recs->len - 1];
  g_assert_null(last->value);
  g_assert_cmpmem(g_bytes_get_data(last->key, NULL), g_bytes_get_size(last->key), "k", 1);
  g_assert_cmpint(last->ts, ==, 7);
}

static void t_put_all(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  g_assert_cmpint(brook_kv_store_put(s, S("gone"), S("x"), 1), ==, 0);
  brook_kv_entry_t e[] = {
      {S("b"), S("2"), 10}, {S("a"), S("1"), 11},  {S("gone"), NULL, 0, 12},
      {S("c"), S("3"), 13}, {S("a"), S("1b"), 14},
  };
  g_assert_cmpint(brook_kv_store_put_all(s, e, G_N_ELEMENTS(e)), ==, 0);
  ASSERT_SCAN(brook_kv_store_all(s, false), "a=1b,b=2,c=3");
  fx_sync(f);
  /* uncached: every entry logged; cached: collapsed per key (gone put+delete = 1 tombstone) */
  g_assert_cmpuint(f->sink.recs->len, ==, f->v->cached ? 4 : 6);
}

static void fill_abc(brook_kv_store_t *s) {
  const char *keys[] = {"a", "b", "ba", "bb", "b\xff", "c", "d"};
  for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
    g_assert_cmpint(brook_kv_store_put(s, S(keys[i]), S(keys[i]), 1), ==, 0);
}

static void t_range(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  fill_abc(s);
  ASSERT_SCAN(brook_kv_store_range(s, S("b"), S("c"), false), "b=b,ba=ba,bb=bb,b\xff=b\xff");
  ASSERT_SCAN(brook_kv_store_range(s, S("b"), S("c"), true), "b\xff=b\xff,bb=bb,ba=ba,b=b");
  /* half-open: to excluded, from included, even when absent */
  ASSERT_SCAN(brook_kv_store_range(s, S("aa"), S("bb"), false), "b=b,ba=ba");
  ASSERT_SCAN(brook_kv_store_range(s, S("aa"), S("bb"), true), "ba=ba,b=b");
  ASSERT_SCAN(brook_kv_store_range(s, NULL, 0, S("b"), false), "a=a");
  ASSERT_SCAN(brook_kv_store_range(s, S("c"), NULL, 0, false), "c=c,d=d");
  ASSERT_SCAN(brook_kv_store_range(s, S("c"), NULL, 0, true), "d=d,c=c");
  ASSERT_SCAN(brook_kv_store_range(s, NULL, 0, S("b"), true), "a=a");
  ASSERT_SCAN(brook_kv_store_range(s, S("x"), S("y"), false), "");
  ASSERT_SCAN(brook_kv_store_range(s, S("b"), S("b"), false), "");
  ASSERT_SCAN(brook_kv_store_all(s, false), "a=a,b=b,ba=ba,bb=bb,b\xff=b\xff,c=c,d=d");
  ASSERT_SCAN(brook_kv_store_all(s, true), "d=d,c=c,b\xff=b\xff,bb=bb,ba=ba,b=b,a=a");
}

static void t_prefix(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  fill_abc(s);
  g_assert_cmpint(brook_kv_store_put(s, "\xff\xff", 2, S("top"), 1), ==, 0);
  g_assert_cmpint(brook_kv_store_put(s, "\xff\xff\x01", 3, S("top2"), 1), ==, 0);
  ASSERT_SCAN(brook_kv_store_prefix(s, S("b")), "b=b,ba=ba,bb=bb,b\xff=b\xff");
  ASSERT_SCAN(brook_kv_store_prefix(s, S("ba")), "ba=ba");
  ASSERT_SCAN(brook_kv_store_prefix(s, S("z")), "");
  ASSERT_SCAN(brook_kv_store_prefix(s, "\xff", 1), "\xff\xff=top,\xff\xff\x01=top2");
  ASSERT_SCAN(brook_kv_store_prefix(s, "\xff\xff", 2), "\xff\xff=top,\xff\xff\x01=top2");
}

static void t_iter_snapshot(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  fill_abc(s);
  brook_kv_iter_t *it = brook_kv_store_all(s, false);
  const void *k, *v;
  size_t kl, vl;
  g_assert_true(brook_kv_iter_next(it, &k, &kl, &v, &vl, NULL));
  g_assert_cmpmem(k, kl, "a", 1);
  /* writes while iterating: safe, and not seen by the open iterator */
  g_assert_cmpint(brook_kv_store_put(s, S("b"), S("NEW"), 2), ==, 0);
  g_assert_cmpint(brook_kv_store_put(s, S("bz"), S("bz"), 2), ==, 0);
  g_assert_cmpint(brook_kv_store_delete(s, S("c"), 2, NULL, NULL), ==, 0);
  fx_sync(f);
  ASSERT_SCAN(it, "b=b,ba=ba,bb=bb,b\xff=b\xff,c=c,d=d");
  ASSERT_SCAN(brook_kv_store_all(s, false), "a=a,b=NEW,ba=ba,bb=bb,bz=bz,b\xff=b\xff,d=d");
}

static void t_timestamps(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  g_assert_cmpint(brook_kv_store_put(s, S("k"), S("val"), 1234567890123), ==, 0);
  const void *v;
  size_t vl;
  int64_t ts = 0;
  g_assert_cmpint(brook_kv_store_get(s, S("k"), &v, &vl, &ts), ==, 0);
  g_assert_cmpmem(v, vl, "val", 3);
  g_assert_cmpint(ts, ==, f->v->timestamped ? 1234567890123 : -1);
  brook_kv_iter_t *it = brook_kv_store_all(s, false);
  const void *k;
  size_t kl;
  g_assert_true(brook_kv_iter_next(it, &k, &kl, &v, &vl, &ts));
  g_assert_cmpmem(v, vl, "val", 3);
  g_assert_cmpint(ts, ==, f->v->timestamped ? 1234567890123 : -1);
  brook_kv_iter_destroy(it);
  fx_sync(f);
  /* the changelog carries the plain value and the record timestamp */
  g_assert_cmpuint(f->sink.recs->len, ==, 1);
  tu_rec_t *r = f->sink.recs->pdata[0];
  g_assert_cmpmem(g_bytes_get_data(r->value, NULL), g_bytes_get_size(r->value), "val", 3);
  g_assert_cmpint(r->ts, ==, 1234567890123);
  g_assert_cmpstr(f->sink.topic, ==, "app-counts-changelog");
  g_assert_cmpint(f->sink.partition, ==, 3);
}

static void t_sink_failure(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  g_assert_cmpint(brook_kv_store_put(s, S("ok"), S("1"), 1), ==, 0);
  fx_sync(f);
  f->sink.fail_after = 1;
  g_assert_cmpint(brook_kv_store_put(s, S("bad"), S("2"), 2), ==,
                  f->v->cached ? 0 : BROOK_ERR_NOT_ENOUGH_REPLICAS);
  if (f->v->cached) {
    /* the failure surfaces at flush; the entry stays dirty and readable */
    g_assert_cmpint(brook_kv_store_flush(s), ==, BROOK_ERR_NOT_ENOUGH_REPLICAS);
    assert_get(s, "bad", "2");
    g_assert_nonnull(strstr(brook_kv_store_errstr(s), "app-counts-changelog"));
    f->sink.fail_after = -1;
    fx_sync(f);
    assert_get(s, "bad", "2");
  } else {
    assert_get(s, "bad", NULL); /* not applied */
    g_assert_nonnull(strstr(brook_kv_store_errstr(s), "app-counts-changelog"));
  }
  f->sink.fail_after = -1;
}

typedef struct lrec {
  GString *log;
} lrec_t;

static void listener_apply(void *opaque, const void *key, size_t key_len, const void *nv, size_t nvl,
                           const void *ov, size_t ovl, int64_t ts) {
  GString *log = opaque;
  if (log->len) g_string_append_c(log, ';');
  g_string_append_len(log, key, (gssize)key_len);
  g_string_append_c(log, ':');
  if (ov)
    g_string_append_len(log, ov, (gssize)ovl);
  else
    g_string_append(log, "-");
  g_string_append(log, "->");
  if (nv)
    g_string_append_len(log, nv, (gssize)nvl);
  else
    g_string_append(log, "-");
  g_string_append_printf(log, "@%" G_GINT64_FORMAT, ts);
}

static void t_listener(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  GString *log = g_string_new("");
  brook_cache_flush_listener_t l = {listener_apply, log};
  brook_kv_store_set_flush_listener(s, &l);
  g_assert_cmpint(brook_kv_store_put(s, S("k"), S("1"), 10), ==, 0);
  g_assert_cmpint(brook_kv_store_put(s, S("k"), S("2"), 11), ==, 0);
  fx_sync(f);
  g_assert_cmpint(brook_kv_store_delete(s, S("k"), 12, NULL, NULL), ==, 0);
  fx_sync(f);
  if (f->v->cached)
    g_assert_cmpstr(log->str, ==, "k:-->2@11;k:2->-@12");
  else
    g_assert_cmpstr(log->str, ==, "k:-->1@10;k:1->2@11;k:2->-@12");
  brook_kv_store_set_flush_listener(s, NULL);
  g_string_free(log, TRUE);
}

/* Random operations against a model; full comparison at the end, and range
 * scans on random bounds checked against the model along the way. */
static void t_model(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  GRand *rng = g_rand_new_with_seed(42);
  GTree *m = tu_model_new();
  for (int i = 0; i < 3000; i++) {
    unsigned char kb[3], vb[8];
    size_t kl = (size_t)g_rand_int_range(rng, 1, 3);
    tu_rng_bytes(rng, kb, kl);
    kb[0] &= 0x0f; /* few distinct keys: overwrites and deletes hit */
    GBytes *key = g_bytes_new(kb, kl);
    int op = g_rand_int_range(rng, 0, 10);
    if (op < 6) {
      size_t vl = (size_t)g_rand_int_range(rng, 0, 8);
      tu_rng_bytes(rng, vb, vl);
      GBytes *val = g_bytes_new(vb, vl);
      g_assert_cmpint(brook_kv_store_put(s, kb, kl, vb, vl, i), ==, 0);
      tu_model_apply(m, key, val);
      g_bytes_unref(val);
    } else if (op < 8) {
      g_assert_cmpint(brook_kv_store_delete(s, kb, kl, i, NULL, NULL), ==, 0);
      tu_model_apply(m, key, NULL);
    } else if (op < 9) {
      fx_sync(f);
    } else {
      /* range [key, key+0x10) against the model */
      unsigned char to[1] = {(unsigned char)(kb[0] + 0x10)};
      brook_kv_iter_t *it = brook_kv_store_range(s, kb, kl, to, 1, (i & 1) != 0);
      GPtrArray *want = g_ptr_array_new();
      GTreeNode *n = g_tree_lower_bound(m, key);
      GBytes *tob = g_bytes_new(to, 1);
      for (; n && tu_bytes_cmp(g_tree_node_key(n), tob, NULL) < 0; n = g_tree_node_next(n))
        g_ptr_array_add(want, n);
      g_bytes_unref(tob);
      for (guint j = 0; j < want->len; j++) {
        GTreeNode *wn = want->pdata[(i & 1) ? want->len - 1 - j : j];
        const void *k, *v;
        size_t kkl, vl;
        g_assert_true(brook_kv_iter_next(it, &k, &kkl, &v, &vl, NULL));
        g_assert_cmpmem(k, kkl, g_bytes_get_data(g_tree_node_key(wn), NULL),
                        g_bytes_get_size(g_tree_node_key(wn)));
        g_assert_cmpmem(v, vl, g_bytes_get_data(g_tree_node_value(wn), NULL),
                        g_bytes_get_size(g_tree_node_value(wn)));
      }
      const void *k, *v;
      size_t kkl, vl;
      g_assert_false(brook_kv_iter_next(it, &k, &kkl, &v, &vl, NULL));
      brook_kv_iter_destroy(it);
      g_ptr_array_free(want, TRUE);
    }
    g_bytes_unref(key);
  }
  tu_assert_store_equals(s, m);
  fx_sync(f);
  tu_assert_store_equals(s, m);
  uint64_t n = brook_kv_store_approximate_count(s);
  if (f->v->in_memory)
    g_assert_cmpuint(n, ==, (guint)g_tree_nnodes(m));
  else
    g_assert_cmpuint(n, >, 0);
  /* the changelog replayed gives the same map */
  GTree *replayed = tu_model_from(f->sink.recs);
  tu_assert_store_equals(s, replayed);
  g_tree_destroy(replayed);
  g_tree_destroy(m);
  g_rand_free(rng);
}

static void t_view_basic(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  fill_abc(s);
  fx_sync(f);
  brook_kv_view_t *view = brook_kv_store_view(s);
  void *v = NULL;
  size_t vl = 0;
  int64_t ts = 0;
  g_assert_cmpint(brook_kv_view_get(view, S("ba"), &v, &vl, &ts), ==, 0);
  g_assert_cmpmem(v, vl, "ba", 2);
  g_assert_cmpint(ts, ==, f->v->timestamped ? 1 : -1);
  brook_kv_free(v);
  g_assert_cmpint(brook_kv_view_get(view, S("zz"), &v, &vl, NULL), ==, BROOK_ERR__NOENT);
  ASSERT_SCAN(brook_kv_view_range(view, S("b"), S("c"), true), "b\xff=b\xff,bb=bb,ba=ba,b=b");
  ASSERT_SCAN(brook_kv_view_prefix(view, S("b")), "b=b,ba=ba,bb=bb,b\xff=b\xff");
  g_assert_cmpuint(brook_kv_view_approximate_count(view), >, 0);
  brook_kv_iter_t *open_it = brook_kv_view_all(view, false);
  const void *k, *vv;
  size_t kl, vvl;
  g_assert_true(brook_kv_iter_next(open_it, &k, &kl, &vv, &vvl, NULL));
  /* the store closes under the view and its open iterator */
  brook_kv_store_close(s);
  f->store = NULL;
  g_assert_false(brook_kv_iter_next(open_it, &k, &kl, &vv, &vvl, NULL));
  g_assert_cmpint(brook_kv_iter_err(open_it, NULL, 0), ==, BROOK_ERR__STATE);
  brook_kv_iter_destroy(open_it);
  g_assert_cmpint(brook_kv_view_get(view, S("ba"), &v, &vl, NULL), ==, BROOK_ERR__STATE);
  brook_kv_iter_t *it = brook_kv_view_all(view, false);
  g_assert_false(brook_kv_iter_next(it, &k, &kl, &vv, &vvl, NULL));
  g_assert_cmpint(brook_kv_iter_err(it, NULL, 0), ==, BROOK_ERR__STATE);
  brook_kv_iter_destroy(it);
  g_assert_cmpuint(brook_kv_view_approximate_count(view), ==, 0);
  brook_kv_view_destroy(view);
}

/* A reader thread scans through a view while the owner rewrites all keys in
 * atomic batches (put_all, or cache flushes for cached variants): every scan
 * sees one generation only. */
#define VIEW_KEYS 64
#define VIEW_ROUNDS 300

typedef struct view_ctx {
  brook_kv_view_t *view;
  atomic_int done;
  int scans;
  int torn;
  int short_scans;
} view_ctx_t;

static void *view_reader(void *arg) {
  view_ctx_t *c = arg;
  while (!atomic_load(&c->done) || c->scans < 5) {
    brook_kv_iter_t *it = brook_kv_view_all(c->view, false);
    const void *k, *v;
    size_t kl, vl;
    int n = 0;
    char first[16] = "";
    while (brook_kv_iter_next(it, &k, &kl, &v, &vl, NULL)) {
      char cur[16];
      g_snprintf(cur, sizeof cur, "%.*s", (int)vl, (const char *)v);
      if (n == 0)
        g_strlcpy(first, cur, sizeof first);
      else if (strcmp(first, cur) != 0)
        c->torn++;
      n++;
    }
    if (n != 0 && n != VIEW_KEYS) c->short_scans++;
    brook_kv_iter_destroy(it);
    /* point reads of one key are atomic trivially; check they never fail */
    void *pv = NULL;
    size_t pvl;
    brook_err_t err = brook_kv_view_get(c->view, "key-07", 6, &pv, &pvl, NULL);
    g_assert_true(err == BROOK_ERR_NONE || err == BROOK_ERR__NOENT);
    brook_kv_free(pv);
    c->scans++;
  }
  return NULL;
}

static void t_view_atomic(fx_t *f, gconstpointer data) {
  brook_kv_store_t *s = f->store;
  view_ctx_t c = {.view = brook_kv_store_view(s)};
  atomic_init(&c.done, 0);
  pthread_t th;
  g_assert_cmpint(pthread_create(&th, NULL, view_reader, &c), ==, 0);
  char keys[VIEW_KEYS][16], val[16];
  brook_kv_entry_t e[VIEW_KEYS];
  for (int round = 0; round < VIEW_ROUNDS; round++) {
    g_snprintf(val, sizeof val, "gen-%d", round);
    for (int i = 0; i < VIEW_KEYS; i++) {
      g_snprintf(keys[i], sizeof keys[i], "key-%02d", i);
      e[i] = (brook_kv_entry_t){keys[i], strlen(keys[i]), val, strlen(val), round};
    }
    g_assert_cmpint(brook_kv_store_put_all(s, e, VIEW_KEYS), ==, 0);
    if (f->v->cached) fx_sync(f); /* the flush is the atomic write a view can see */
  }
  atomic_store(&c.done, 1);
  pthread_join(th, NULL);
  g_test_message("%d view scans during %d batches", c.scans, VIEW_ROUNDS);
  g_assert_cmpint(c.torn, ==, 0);
  g_assert_cmpint(c.short_scans, ==, 0);
  brook_kv_view_destroy(c.view);
}

/* ---- RocksDB-only: errors ---- */

static void t_lock_held(void) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *dir = tu_task_dir(env, "1_0");
  brook_store_opts_t opts = {.name = "s", .logged = false};
  char errstr[512];
  brook_kv_store_t *a = NULL, *b = NULL;
  g_assert_cmpint(brook_kv_store_open(env, dir, &opts, 0, &a, errstr, sizeof errstr), ==, 0);
  /* the same store opened twice (same task dir handle): RocksDB's LOCK refuses */
  brook_err_t err = brook_kv_store_open(env, dir, &opts, 0, &b, errstr, sizeof errstr);
  g_assert_cmpint(err, ==, BROOK_ERR__LOCKED);
  g_assert_null(b);
  g_test_message("second open: %s", errstr);
  g_assert_nonnull(strstr(errstr, "opening store s"));
  brook_kv_store_close(a);
  /* and the task directory lock, one level up */
  brook_task_dir_t *dir2 = NULL;
  g_assert_cmpint(brook_task_dir_open(env, "1_0", &dir2, errstr, sizeof errstr), ==, BROOK_ERR__LOCKED);
  brook_task_dir_close(dir);
  brook_state_env_destroy(env);
  tu_rmdir(tmp);
}

/* Writes a store with several SST files, closes it, and returns its path. */
static char *make_store(const char *tmp) {
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *dir = tu_task_dir(env, "2_0");
  brook_store_opts_t opts = {.name = "s", .logged = false};
  char errstr[512];
  brook_kv_store_t *s = NULL;
  g_assert_cmpint(brook_kv_store_open(env, dir, &opts, 0, &s, errstr, sizeof errstr), ==, 0);
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 2000; i++) {
      char k[32], v[64];
      g_snprintf(k, sizeof k, "key-%06d", i);
      g_snprintf(v, sizeof v, "value-%d-%06d-padding-padding-padding", round, i);
      g_assert_cmpint(brook_kv_store_put(s, S(k), S(v), 0), ==, 0);
    }
    g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  }
  brook_kv_store_close(s);
  char *path = g_build_filename(brook_task_dir_path(dir), "rocksdb", "s", NULL);
  brook_task_dir_close(dir);
  brook_state_env_destroy(env);
  return path;
}

static brook_err_t reopen_and_scan(const char *tmp, char *errstr, size_t errstr_size) {
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *dir = tu_task_dir(env, "2_0");
  brook_store_opts_t opts = {.name = "s", .logged = false};
  brook_kv_store_t *s = NULL;
  brook_err_t err = brook_kv_store_open(env, dir, &opts, 0, &s, errstr, errstr_size);
  if (!err) {
    brook_kv_iter_t *it = brook_kv_store_all(s, false);
    const void *k, *v;
    size_t kl, vl;
    while (brook_kv_iter_next(it, &k, &kl, &v, &vl, NULL)) {
    }
    err = brook_kv_iter_err(it, errstr, errstr_size);
    brook_kv_iter_destroy(it);
    brook_kv_store_close(s);
  }
  brook_task_dir_close(dir);
  brook_state_env_destroy(env);
  return err;
}

static void scribble(const char *file, off_t at, size_t n) {
  int fd = open(file, O_WRONLY);
  g_assert_cmpint(fd, >=, 0);
  char junk[4096];
  memset(junk, 0x5a, sizeof junk);
  g_assert_cmpint(pwrite(fd, junk, MIN(n, sizeof junk), at), ==, (ssize_t)MIN(n, sizeof junk));
  close(fd);
}

static char *find_file(const char *dir, const char *prefix, const char *suffix) {
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  char *found = NULL;
  while (!found && (name = g_dir_read_name(d)))
    if (g_str_has_prefix(name, prefix) && g_str_has_suffix(name, suffix))
      found = g_build_filename(dir, name, NULL);
  g_dir_close(d);
  g_assert_nonnull(found);
  return found;
}

static void t_corrupt_current(void) {
  char *tmp = tu_tmpdir();
  char *path = make_store(tmp);
  char *current = g_build_filename(path, "CURRENT", NULL);
  g_assert_true(g_file_set_contents(current, "garbage", -1, NULL)); /* no newline, no such manifest */
  char errstr[512] = "";
  brook_err_t err = reopen_and_scan(tmp, errstr, sizeof errstr);
  g_test_message("CURRENT scribbled: %s: %s", brook_err_name(err), errstr);
  g_assert_cmpint(err, ==, BROOK_ERR__CORRUPT);
  g_assert_nonnull(strstr(errstr, "CURRENT"));
  g_free(current);
  g_free(path);
  tu_rmdir(tmp);
}

static void t_corrupt_manifest(void) {
  char *tmp = tu_tmpdir();
  char *path = make_store(tmp);
  char *manifest = find_file(path, "MANIFEST-", "");
  scribble(manifest, 0, 64);
  char errstr[512] = "";
  brook_err_t err = reopen_and_scan(tmp, errstr, sizeof errstr);
  g_test_message("MANIFEST scribbled: %s: %s", brook_err_name(err), errstr);
  g_assert_cmpint(err, ==, BROOK_ERR__CORRUPT);
  g_free(manifest);
  g_free(path);
  tu_rmdir(tmp);
}

static void t_corrupt_sst(void) {
  char *tmp = tu_tmpdir();
  char *path = make_store(tmp);
  char *sst = find_file(path, "", ".sst");
  scribble(sst, 0, 4096); /* the first data block */
  char errstr[512] = "";
  brook_err_t err = reopen_and_scan(tmp, errstr, sizeof errstr);
  g_test_message("SST scribbled: %s: %s", brook_err_name(err), errstr);
  g_assert_cmpint(err, ==, BROOK_ERR__CORRUPT);
  g_free(sst);
  g_free(path);
  tu_rmdir(tmp);
}

typedef struct setter_log {
  GString *names;
  bool strict;
} setter_log_t;

static void config_setter(const char *store_name, void *rocksdb_options, void *opaque) {
  setter_log_t *l = opaque;
  g_string_append_printf(l->names, "%s;", store_name);
  /* applied last: overrides brook's create_if_missing = 1 */
  if (l->strict) rocksdb_options_set_create_if_missing(rocksdb_options, 0);
}

static void t_config_setter(void) {
  char *tmp = tu_tmpdir();
  setter_log_t log = {g_string_new(""), false};
  brook_state_env_conf_t conf = {.state_dir = tmp,
                                 .application_id = "app",
                                 .rocksdb_config_setter = config_setter,
                                 .rocksdb_config_setter_opaque = &log};
  char errstr[512];
  brook_state_env_t *env = brook_state_env_new(&conf, errstr, sizeof errstr);
  brook_task_dir_t *dir = tu_task_dir(env, "4_0");
  brook_store_opts_t opts = {.name = "tuned"};
  brook_kv_store_t *s = NULL;
  g_assert_cmpint(brook_kv_store_open(env, dir, &opts, 0, &s, errstr, sizeof errstr), ==, 0);
  brook_kv_store_close(s);
  g_assert_cmpstr(log.names->str, ==, "tuned;");
  /* the hook's setting wins: a store that does not exist is not created */
  log.strict = true;
  opts.name = "absent";
  g_assert_cmpint(brook_kv_store_open(env, dir, &opts, 0, &s, errstr, sizeof errstr), !=, 0);
  g_test_message("%s", errstr);
  g_assert_nonnull(strstr(errstr, "does not exist"));
  opts.name = "tuned"; /* but an existing one opens */
  g_assert_cmpint(brook_kv_store_open(env, dir, &opts, 0, &s, errstr, sizeof errstr), ==, 0);
  brook_kv_store_close(s);
  g_assert_cmpstr(log.names->str, ==, "tuned;absent;tuned;");
  brook_task_dir_close(dir);
  brook_state_env_destroy(env);
  g_string_free(log.names, TRUE);
  tu_rmdir(tmp);
}

static void t_bad_opts(void) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 0, 0);
  brook_task_dir_t *dir = tu_task_dir(env, "3_0");
  char errstr[256];
  brook_kv_store_t *s = NULL;
  brook_store_opts_t bad_name = {.name = "a/b"};
  g_assert_cmpint(brook_kv_store_open(env, dir, &bad_name, 0, &s, errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  brook_store_opts_t no_sink = {.name = "x", .logged = true};
  g_assert_cmpint(brook_kv_store_open(env, dir, &no_sink, 0, &s, errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  brook_store_opts_t no_dir = {.name = "x"};
  g_assert_cmpint(brook_kv_store_open(env, NULL, &no_dir, 0, &s, errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  no_dir.in_memory = true; /* in memory needs no directory */
  g_assert_cmpint(brook_kv_store_open(env, NULL, &no_dir, 0, &s, errstr, sizeof errstr), ==, 0);
  brook_kv_store_close(s);
  brook_task_dir_close(dir);
  brook_state_env_destroy(env);
  tu_rmdir(tmp);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  struct {
    const char *name;
    void (*fn)(fx_t *, gconstpointer);
  } tests[] = {
      {"put-get", t_put_get},
      {"put-if-absent", t_put_if_absent},
      {"delete", t_delete},
      {"put-all", t_put_all},
      {"range", t_range},
      {"prefix", t_prefix},
      {"iter-snapshot", t_iter_snapshot},
      {"timestamps", t_timestamps},
      {"sink-failure", t_sink_failure},
      {"listener", t_listener},
      {"model", t_model},
      {"view", t_view_basic},
      {"view-atomic", t_view_atomic},
  };
  for (size_t v = 0; v < G_N_ELEMENTS(variants); v++)
    for (size_t t = 0; t < G_N_ELEMENTS(tests); t++) {
      char *path = g_strdup_printf("/state/kv/%s/%s", variants[v].name, tests[t].name);
      g_test_add(path, fx_t, &variants[v], fx_setup, tests[t].fn, fx_teardown);
      g_free(path);
    }
  g_test_add_func("/state/kv/rocksdb/error/lock-held", t_lock_held);
  g_test_add_func("/state/kv/rocksdb/error/corrupt-current", t_corrupt_current);
  g_test_add_func("/state/kv/rocksdb/error/corrupt-manifest", t_corrupt_manifest);
  g_test_add_func("/state/kv/rocksdb/error/corrupt-sst", t_corrupt_sst);
  g_test_add_func("/state/kv/bad-options", t_bad_opts);
  g_test_add_func("/state/kv/rocksdb/config-setter", t_config_setter);
  return g_test_run();
}
