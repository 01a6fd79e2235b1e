/*
 * test-window.c — the window store contract, run against the RocksDB and the
 * in-memory variant (every test is registered twice: /state/window/rocksdb/...
 * and /state/window/memory/...): point get/put/delete, fetch bounds and order,
 * keys that are prefixes of each other (checked against a brute-force model
 * for every key range), retention dropping whole segments, expired puts,
 * duplicates, the changelog records, restore reproducing the store exactly,
 * sink failures, writes and segment drops under an open iterator, reopen,
 * read-only views on another thread (never a torn restore batch, across
 * segments; _STATE after close).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <string.h>

#include "blog.h"
#include "brook_serde.h"
#include "brook_window_store.h"

/* ---- log capture ---- */

static GPtrArray *logged;

static void capture(int level, const char *fac, const char *msg, void *opaque) {
  g_ptr_array_add(logged, g_strdup_printf("%d %s: %s", level, fac, msg));
  if (g_test_verbose()) g_printerr("    [%s] %s\n", fac, msg);
}

static bool logged_contains(const char *needle) {
  for (guint i = 0; i < logged->len; i++)
    if (strstr(logged->pdata[i], needle)) return true;
  return false;
}

/* ---- a changelog sink that keeps copies ---- */

typedef struct rec {
  char *topic;
  int32_t partition;
  GBytes *key;
  GBytes *value; /* NULL = tombstone */
  int64_t ts;
} rec_t;

static void rec_free(gpointer p) {
  rec_t *r = p;
  g_free(r->topic);
  g_bytes_unref(r->key);
  if (r->value) g_bytes_unref(r->value);
  g_free(r);
}

typedef struct sink {
  GPtrArray *recs;
  brook_err_t fail; /* returned instead of recording when non-zero */
} sink_t;

static brook_err_t sink_send(void *opaque, const char *topic, int32_t partition, const void *key,
                             size_t key_len, const void *value, size_t value_len, int64_t timestamp) {
  sink_t *s = opaque;
  if (s->fail) return s->fail;
  rec_t *r = g_new0(rec_t, 1);
  r->topic = g_strdup(topic);
  r->partition = partition;
  r->key = g_bytes_new(key, key_len);
  r->value = value ? g_bytes_new(value, value_len) : NULL;
  r->ts = timestamp;
  g_ptr_array_add(s->recs, r);
  return BROOK_ERR_NONE;
}

/* ---- fixture ---- */

typedef struct fixture {
  bool in_memory;
  bool cached; /* a record cache in front */
  char *root;
  brook_state_env_t *env;
  brook_task_dir_t *dir;
  sink_t sink;
  brook_window_store_opts_t opts;
  brook_window_store_t *store;
  char errstr[512];
} fixture_t;

static void rm_rf(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name(d))) {
      char *p = g_build_filename(path, name, NULL);
      if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
        rm_rf(p);
      else
        g_unlink(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  g_rmdir(path);
}

static void fx_open(fixture_t *fx) {
  g_assert_cmpint(
      brook_window_store_open(fx->env, fx->dir, &fx->opts, &fx->store, fx->errstr, sizeof fx->errstr), ==,
      BROOK_ERR_NONE);
  g_assert_true(brook_window_store_is_cached(fx->store) == (fx->cached && !fx->opts.retain_duplicates));
}

/* Writes the cache through (a no-op for the cache without one) so the sink and
 * the segments show every write. */
static void settle(fixture_t *fx) {
  g_assert_cmpint(brook_window_store_flush(fx->store, fx->errstr, sizeof fx->errstr), ==, BROOK_ERR_NONE);
}

static void fx_setup(fixture_t *fx, gconstpointer data) {
  fx->in_memory = GPOINTER_TO_INT(data) & 1;
  fx->cached = (GPOINTER_TO_INT(data) & 4) != 0;
  GError *gerr = NULL;
  fx->root = g_dir_make_tmp("brook-window-XXXXXX", &gerr);
  g_assert_no_error(gerr);
  brook_state_env_conf_t conf = {
      .state_dir = fx->root, .application_id = "app", .cache_max_bytes = 10u << 20};
  fx->env = brook_state_env_new(&conf, fx->errstr, sizeof fx->errstr);
  g_assert_nonnull(fx->env);
  g_assert_cmpint(brook_task_dir_open(fx->env, "0_0", &fx->dir, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR_NONE);
  fx->sink.recs = g_ptr_array_new_with_free_func(rec_free);
  fx->opts = (brook_window_store_opts_t){
      .store = {.name = "win",
                .in_memory = fx->in_memory,
                .logged = true,
                .cached = fx->cached,
                .partition = 3,
                .sink = {sink_send, &fx->sink}},
      .retention_ms = 1000000,
      .segment_interval_ms = 0,
      .window_size_ms = 10,
  };
  g_ptr_array_set_size(logged, 0);
}

static void fx_teardown(fixture_t *fx, gconstpointer data) {
  brook_window_store_close(fx->store);
  brook_task_dir_close(fx->dir);
  brook_state_env_destroy(fx->env);
  g_ptr_array_unref(fx->sink.recs);
  rm_rf(fx->root);
  g_assert_false(g_file_test(fx->root, G_FILE_TEST_EXISTS));
  g_free(fx->root);
}

static char *seg_path(fixture_t *fx, const char *store, int64_t start) {
  char *base = g_strdup_printf("%s.%" PRId64, store, start);
  char *p = g_build_filename(brook_task_dir_path(fx->dir), "rocksdb", store, base, NULL);
  g_free(base);
  return p;
}

/* ---- helpers ---- */

static void put(fixture_t *fx, const char *key, int64_t ts, const char *value) {
  g_assert_cmpint(brook_window_store_put(fx->store, key, strlen(key), value, value ? strlen(value) : 0, ts,
                                         fx->errstr, sizeof fx->errstr),
                  ==, BROOK_ERR_NONE);
}

static void putb(fixture_t *fx, const void *key, size_t klen, int64_t ts, const char *value) {
  g_assert_cmpint(
      brook_window_store_put(fx->store, key, klen, value, strlen(value), ts, fx->errstr, sizeof fx->errstr),
      ==, BROOK_ERR_NONE);
}

/* Reads an iterator into "key@start=value" strings (non-printable bytes as \xNN),
 * then destroys it. */
static char *esc(const void *p, size_t n) {
  GString *s = g_string_new(NULL);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = ((const unsigned char *)p)[i];
    if (c >= 0x20 && c < 0x7f && c != '\\')
      g_string_append_c(s, (char)c);
    else
      g_string_append_printf(s, "\\x%02x", c);
  }
  return g_string_free(s, FALSE);
}

static char *drain(brook_window_iter_t *it) {
  GString *out = g_string_new(NULL);
  while (brook_window_iter_next(it)) {
    size_t klen, vlen;
    const void *k = brook_window_iter_key(it, &klen);
    const void *v = brook_window_iter_value(it, &vlen);
    char *ek = esc(k, klen), *ev = esc(v, vlen);
    g_string_append_printf(out, "%s%s@%" PRId64 "=%s", out->len ? " " : "", ek, brook_window_iter_start(it),
                           ev);
    g_free(ek);
    g_free(ev);
  }
  char errstr[256];
  g_assert_cmpint(brook_window_iter_error(it, errstr, sizeof errstr), ==, BROOK_ERR_NONE);
  brook_window_iter_destroy(it);
  return g_string_free(out, FALSE);
}

static char *fetch(fixture_t *fx, const char *key, int64_t from, int64_t to, bool backward) {
  brook_window_iter_t *it = NULL;
  brook_err_t err = backward ? brook_window_store_backward_fetch(fx->store, key, strlen(key), from, to, &it,
                                                                 fx->errstr, sizeof fx->errstr)
                             : brook_window_store_fetch(fx->store, key, strlen(key), from, to, &it,
                                                        fx->errstr, sizeof fx->errstr);
  g_assert_cmpint(err, ==, BROOK_ERR_NONE);
  return drain(it);
}

static char *all(brook_window_store_t *store) {
  brook_window_iter_t *it = NULL;
  char errstr[256];
  g_assert_cmpint(brook_window_store_all(store, &it, errstr, sizeof errstr), ==, BROOK_ERR_NONE);
  return drain(it);
}

#define assert_str_free(expr, expected) \
  do {                                  \
    char *s_ = (expr);                  \
    g_assert_cmpstr(s_, ==, expected);  \
    g_free(s_);                         \
  } while (0)

static char *get(fixture_t *fx, const char *key, int64_t ts) {
  void *v = NULL;
  size_t vlen = 0;
  brook_err_t err =
      brook_window_store_get(fx->store, key, strlen(key), ts, &v, &vlen, fx->errstr, sizeof fx->errstr);
  if (err == BROOK_ERR__NOENT) {
    g_assert_null(v);
    return NULL;
  }
  g_assert_cmpint(err, ==, BROOK_ERR_NONE);
  char *s = g_strndup(v, vlen);
  free(v);
  return s;
}

/* ---- tests ---- */

static void test_put_get(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  put(fx, "k", 100, "a");
  put(fx, "k", 200, "b");
  put(fx, "j", 100, "c");
  assert_str_free(get(fx, "k", 100), "a");
  assert_str_free(get(fx, "k", 200), "b");
  assert_str_free(get(fx, "j", 100), "c");
  g_assert_null(get(fx, "k", 150));
  g_assert_null(get(fx, "x", 100));
  put(fx, "k", 100, "a2"); /* overwrite */
  assert_str_free(get(fx, "k", 100), "a2");
  put(fx, "k", 100, NULL); /* delete */
  g_assert_null(get(fx, "k", 100));
  put(fx, "zz", 5000, NULL); /* delete of nothing, in a segment that does not exist */
  /* empty keys and values are fine */
  putb(fx, "", 0, 300, "");
  assert_str_free(get(fx, "", 300), "");
  /* the empty key's store key starts with the timestamp bytes: it sorts first */
  assert_str_free(all(fx->store), "@300= j@100=c k@200=b");
  g_assert_cmpint(brook_window_store_put(fx->store, "k", 1, "v", 1, -1, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR_INVALID_TIMESTAMP);
  g_assert_nonnull(strstr(fx->errstr, "negative window start"));
  brook_window_store_stats_t st;
  brook_window_store_stats(fx->store, &st);
  g_assert_cmpint(st.stream_time, ==, 5000);
  g_assert_cmpint(st.segment_interval_ms, ==, 500000); /* max(retention / 2, 60 s) */
}

static void test_fetch_bounds(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  for (int64_t ts = 0; ts <= 40; ts += 10) {
    char v[8];
    g_snprintf(v, sizeof v, "v%" PRId64, ts);
    put(fx, "k", ts, v);
    put(fx, "l", ts, v);
  }
  assert_str_free(fetch(fx, "k", 10, 30, false), "k@10=v10 k@20=v20 k@30=v30"); /* both bounds inclusive */
  assert_str_free(fetch(fx, "k", 11, 29, false), "k@20=v20");
  assert_str_free(fetch(fx, "k", 11, 19, false), "");
  assert_str_free(fetch(fx, "k", 30, 10, false), ""); /* from > to */
  assert_str_free(fetch(fx, "k", 0, INT64_MAX, true), "k@40=v40 k@30=v30 k@20=v20 k@10=v10 k@0=v0");
  assert_str_free(fetch(fx, "k", -100, 0, false), "k@0=v0");
  assert_str_free(fetch(fx, "m", 0, 40, false), "");
  /* end = start + window size */
  brook_window_iter_t *it = NULL;
  g_assert_cmpint(brook_window_store_fetch(fx->store, "k", 1, 20, 20, &it, fx->errstr, sizeof fx->errstr), ==,
                  0);
  g_assert_true(brook_window_iter_next(it));
  g_assert_cmpint(brook_window_iter_start(it), ==, 20);
  g_assert_cmpint(brook_window_iter_end(it), ==, 30);
  size_t sklen;
  const uint8_t *sk = brook_window_iter_store_key(it, &sklen);
  g_assert_cmpmem(sk, sklen, "k\0\0\0\0\0\0\0\x14\0\0\0\0", 13);
  g_assert_false(brook_window_iter_next(it));
  g_assert_false(brook_window_iter_next(it)); /* stays at the end */
  brook_window_iter_destroy(it);
  /* fetch_all over a time range, and its reverse */
  it = NULL;
  g_assert_cmpint(brook_window_store_fetch_all(fx->store, 20, 30, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(drain(it), "k@20=v20 k@30=v30 l@20=v20 l@30=v30");
  g_assert_cmpint(
      brook_window_store_backward_fetch_all(fx->store, 20, 30, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(drain(it), "l@30=v30 l@20=v20 k@30=v30 k@20=v20");
  g_assert_cmpint(
      brook_window_store_fetch_range(fx->store, "l", 1, "z", 1, 35, 100, &it, fx->errstr, sizeof fx->errstr),
      ==, 0);
  assert_str_free(drain(it), "l@40=v40");
  g_assert_cmpint(brook_window_store_backward_all(fx->store, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(drain(it),
                  "l@40=v40 l@30=v30 l@20=v20 l@10=v10 l@0=v0 k@40=v40 k@30=v30 k@20=v20 k@10=v10 k@0=v0");
  /* key_from > key_to: empty, with a warning */
  g_assert_cmpint(
      brook_window_store_fetch_range(fx->store, "l", 1, "k", 1, 0, 100, &it, fx->errstr, sizeof fx->errstr),
      ==, 0);
  assert_str_free(drain(it), "");
  g_assert_true(logged_contains("from > to"));
}

/* Keys that are prefixes of each other, with timestamps whose first byte
 * collides with the longer keys' next byte, against a brute-force model. */
typedef struct mentry {
  const char *key;
  size_t klen;
  int64_t ts;
  char value[24];
} mentry_t;

static int64_t model_seg(int64_t ts, int64_t interval) { return ts / interval; }

static gint model_cmp(gconstpointer a, gconstpointer b, gpointer interval_p) {
  const mentry_t *x = a, *y = b;
  int64_t interval = *(int64_t *)interval_p;
  int64_t sx = model_seg(x->ts, interval), sy = model_seg(y->ts, interval);
  if (sx != sy) return sx < sy ? -1 : 1;
  uint8_t kx[64], ky[64];
  brook_window_store_key_encode(x->key, x->klen, x->ts, 0, kx);
  brook_window_store_key_encode(y->key, y->klen, y->ts, 0, ky);
  size_t lx = x->klen + 12, ly = y->klen + 12;
  int c = memcmp(kx, ky, MIN(lx, ly));
  return c ? c : (lx < ly ? -1 : lx > ly);
}

static int bcmp_keys(const char *a, size_t al, const char *b, size_t bl) {
  int c = memcmp(a, b, MIN(al, bl));
  return c ? c : (al < bl ? -1 : al > bl);
}

static void test_prefix_keys(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = INT64_MAX; /* nothing expires: timestamps up to 0x7f.. */
  fx_open(fx);
  brook_window_store_stats_t st;
  brook_window_store_stats(fx->store, &st);
  int64_t interval = st.segment_interval_ms;
  static const struct {
    const char *k;
    size_t n;
  } keys[] = {{"", 0}, {"a", 1}, {"a\0", 2}, {"ab", 2}, {"abc", 3}, {"b", 1}, {"\x7f", 1}, {"\xff", 1}};
  static const int64_t stamps[] = {0,
                                   5,
                                   INT64_C(0x6200000000000000),
                                   INT64_C(0x6162000000000000),
                                   INT64_C(0x0062000000000000),
                                   INT64_C(0x7f00000000000000)};
  GArray *model = g_array_new(FALSE, FALSE, sizeof(mentry_t));
  for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
    for (size_t j = 0; j < G_N_ELEMENTS(stamps); j++) {
      mentry_t e = {keys[i].k, keys[i].n, stamps[j], ""};
      g_snprintf(e.value, sizeof e.value, "v%zu.%zu", i, j);
      putb(fx, e.key, e.klen, e.ts, e.value);
      g_array_append_val(model, e);
      if (i == 3 && j == 2) settle(fx); /* with a cache: half in the store, half cached */
    }
  g_array_sort_with_data(model, model_cmp, &interval);

  /* Every single-key fetch and every key range, over a few time ranges. */
  static const int64_t ranges[][2] = {{0, INT64_MAX}, {5, INT64_C(0x6200000000000000)}, {1, 4}};
  for (size_t r = 0; r < G_N_ELEMENTS(ranges); r++) {
    int64_t tf = ranges[r][0], tt = ranges[r][1];
    for (size_t a = 0; a < G_N_ELEMENTS(keys); a++) {
      /* single key */
      GString *want = g_string_new(NULL);
      for (guint m = 0; m < model->len; m++) {
        mentry_t *e = &g_array_index(model, mentry_t, m);
        if (bcmp_keys(e->key, e->klen, keys[a].k, keys[a].n) == 0 && e->ts >= tf && e->ts <= tt) {
          char *ek = esc(e->key, e->klen);
          g_string_append_printf(want, "%s%s@%" PRId64 "=%s", want->len ? " " : "", ek, e->ts, e->value);
          g_free(ek);
        }
      }
      brook_window_iter_t *it = NULL;
      g_assert_cmpint(brook_window_store_fetch(fx->store, keys[a].k, keys[a].n, tf, tt, &it, fx->errstr,
                                               sizeof fx->errstr),
                      ==, 0);
      assert_str_free(drain(it), want->str);
      g_string_free(want, TRUE);
      for (size_t b = 0; b < G_N_ELEMENTS(keys); b++) {
        /* key range [a, b]; a > b is empty */
        want = g_string_new(NULL);
        for (guint m = 0; m < model->len; m++) {
          mentry_t *e = &g_array_index(model, mentry_t, m);
          if (bcmp_keys(e->key, e->klen, keys[a].k, keys[a].n) >= 0 &&
              bcmp_keys(e->key, e->klen, keys[b].k, keys[b].n) <= 0 && e->ts >= tf && e->ts <= tt) {
            char *ek = esc(e->key, e->klen);
            g_string_append_printf(want, "%s%s@%" PRId64 "=%s", want->len ? " " : "", ek, e->ts, e->value);
            g_free(ek);
          }
        }
        g_assert_cmpint(brook_window_store_fetch_range(fx->store, keys[a].k, keys[a].n, keys[b].k, keys[b].n,
                                                       tf, tt, &it, fx->errstr, sizeof fx->errstr),
                        ==, 0);
        char *got = drain(it);
        if (g_strcmp0(got, want->str) != 0)
          g_printerr("range [%s, %s] time [%" PRId64 ", %" PRId64 "]\n", esc(keys[a].k, keys[a].n),
                     esc(keys[b].k, keys[b].n), tf, tt);
        g_assert_cmpstr(got, ==, want->str);
        g_free(got);
        g_string_free(want, TRUE);
      }
    }
    /* open-ended ranges: (-inf, b] and [a, +inf) */
    for (size_t a = 0; a < G_N_ELEMENTS(keys); a++) {
      for (int side = 0; side < 2; side++) {
        GString *want = g_string_new(NULL);
        for (guint m = 0; m < model->len; m++) {
          mentry_t *e = &g_array_index(model, mentry_t, m);
          int c = bcmp_keys(e->key, e->klen, keys[a].k, keys[a].n);
          if ((side == 0 ? c <= 0 : c >= 0) && e->ts >= tf && e->ts <= tt) {
            char *ek = esc(e->key, e->klen);
            g_string_append_printf(want, "%s%s@%" PRId64 "=%s", want->len ? " " : "", ek, e->ts, e->value);
            g_free(ek);
          }
        }
        brook_window_iter_t *it = NULL;
        g_assert_cmpint(brook_window_store_fetch_range(fx->store, side ? keys[a].k : NULL, keys[a].n,
                                                       side ? NULL : keys[a].k, keys[a].n, tf, tt, &it,
                                                       fx->errstr, sizeof fx->errstr),
                        ==, 0);
        assert_str_free(drain(it), want->str);
        g_string_free(want, TRUE);
      }
    }
  }
  /* Spot checks that say what the model means. */
  assert_str_free(fetch(fx, "a", 0, 10, false), "a@0=v1.0 a@5=v1.1");
  assert_str_free(fetch(fx, "ab", 0, 10, false), "ab@0=v3.0 ab@5=v3.1");
  g_array_free(model, TRUE);
}

static void test_retention(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 100;
  fx->opts.segment_interval_ms = 50;
  fx_open(fx);
  for (int64_t ts = 0; ts <= 120; ts += 10) {
    char v[8];
    g_snprintf(v, sizeof v, "v%" PRId64, ts);
    put(fx, "k", ts, v);
  }
  settle(fx);
  brook_window_store_stats_t st;
  brook_window_store_stats(fx->store, &st);
  g_assert_cmpuint(st.segments, ==, 3); /* 0, 50, 100 */
  if (!fx->in_memory)
    for (int64_t s = 0; s <= 100; s += 50) {
      char *p = seg_path(fx, "win", s);
      g_assert_true(g_file_test(p, G_FILE_TEST_IS_DIR));
      g_free(p);
    }
  /* stream time 120: ts <= 20 is no longer visible, segment 0 still lives */
  assert_str_free(fetch(fx, "k", 0, 50, false), "k@30=v30 k@40=v40 k@50=v50");
  g_assert_null(get(fx, "k", 20));
  assert_str_free(get(fx, "k", 30), "v30");

  /* Stream time 250: min live segment = id(150) = 3, so 0, 50, 100 go whole. */
  put(fx, "k", 250, "v250");
  settle(fx);
  brook_window_store_stats(fx->store, &st);
  g_assert_cmpint(st.stream_time, ==, 250);
  g_assert_cmpuint(st.segments, ==, 1);
  if (!fx->in_memory) {
    for (int64_t s = 0; s <= 100; s += 50) {
      char *p = seg_path(fx, "win", s);
      g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
      g_free(p);
    }
    char *p = seg_path(fx, "win", 250);
    g_assert_true(g_file_test(p, G_FILE_TEST_IS_DIR));
    g_free(p);
  }
  assert_str_free(all(fx->store), "k@250=v250");
  assert_str_free(fetch(fx, "k", 0, INT64_MAX, false), "k@250=v250");
  g_assert_null(get(fx, "k", 120));
  /* a put in a live segment but at/below stream time - retention is dropped */
  put(fx, "k", 150, "late");
  g_assert_null(get(fx, "k", 150));
  put(fx, "k", 151, "ok");
  assert_str_free(get(fx, "k", 151), "ok");
  settle(fx);
  brook_window_store_stats(fx->store, &st);
  g_assert_cmpuint(st.expired_drops, ==, 1);
  g_assert_cmpuint(st.segments, ==, 2); /* 150, 250 */
}

static void test_expired_put(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 100;
  fx->opts.segment_interval_ms = 50;
  fx_open(fx);
  brook_log_set_debug("state");
  put(fx, "k", 1000, "now");
  settle(fx);
  guint sent = fx->sink.recs->len;
  put(fx, "k", 900, "old");  /* exactly stream time - retention: expired */
  put(fx, "k", 10, "older"); /* segment long gone */
  put(fx, "k", 900, NULL);   /* deletes are dropped too */
  brook_log_set_debug("");
  settle(fx);
  g_assert_cmpuint(fx->sink.recs->len, ==, sent); /* nothing of it reached the changelog */
  brook_window_store_stats_t st;
  brook_window_store_stats(fx->store, &st);
  g_assert_cmpuint(st.expired_drops, ==, 3);
  g_assert_cmpint(st.stream_time, ==, 1000);
  g_assert_true(logged_contains("Skipping record for expired segment"));
  assert_str_free(all(fx->store), "k@1000=now");
  put(fx, "k", 901, "in");
  assert_str_free(all(fx->store), "k@901=in k@1000=now");
}

static void test_duplicates(fixture_t *fx, gconstpointer data) {
  fx->opts.retain_duplicates = true;
  fx_open(fx);
  put(fx, "k", 10, "x1");
  put(fx, "k", 10, "x2");
  put(fx, "j", 10, "y");
  put(fx, "k", 10, "x3");
  put(fx, "k", 10, NULL); /* no-op with duplicates */
  put(fx, "k", 20, "z");
  assert_str_free(fetch(fx, "k", 0, 100, false), "k@10=x1 k@10=x2 k@10=x3 k@20=z");
  assert_str_free(fetch(fx, "k", 0, 100, true), "k@20=z k@10=x3 k@10=x2 k@10=x1");
  assert_str_free(get(fx, "k", 10), "x1");
  g_assert_null(get(fx, "k", 11));
  /* seqnums 1..5 in put order, in the changelog keys too */
  g_assert_cmpuint(fx->sink.recs->len, ==, 5);
  for (guint i = 0; i < 5; i++) {
    rec_t *r = fx->sink.recs->pdata[i];
    size_t klen;
    int64_t ts;
    int32_t seq;
    g_assert_true(brook_window_store_key_decode(g_bytes_get_data(r->key, NULL), g_bytes_get_size(r->key),
                                                &klen, &ts, &seq));
    g_assert_cmpint(seq, ==, (int32_t)i + 1);
  }
}

static void test_changelog(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  g_assert_cmpstr(brook_window_store_changelog_topic(fx->store), ==, "app-win-changelog");
  put(fx, "k", 1, "v");
  settle(fx);
  put(fx, "k", 1, NULL);
  settle(fx);
  g_assert_cmpuint(fx->sink.recs->len, ==, 2);
  rec_t *r = fx->sink.recs->pdata[0];
  g_assert_cmpstr(r->topic, ==, "app-win-changelog");
  g_assert_cmpint(r->partition, ==, 3);
  /* WindowKeySchema.toStoreKeyBinary("k", 1, 0) */
  g_assert_cmpmem(g_bytes_get_data(r->key, NULL), g_bytes_get_size(r->key),
                  "k"
                  "\0\0\0\0\0\0\0\x01"
                  "\0\0\0\0",
                  13);
  g_assert_cmpmem(g_bytes_get_data(r->value, NULL), g_bytes_get_size(r->value), "v", 1);
  g_assert_cmpint(r->ts, ==, 1);
  r = fx->sink.recs->pdata[1];
  g_assert_null(r->value); /* tombstone */
  /* not logged: the sink is not called */
  brook_window_store_close(fx->store);
  fx->store = NULL;
  fx->opts.store.logged = false;
  fx_open(fx);
  put(fx, "k", 2, "v");
  settle(fx);
  g_assert_cmpuint(fx->sink.recs->len, ==, 2);
}

static void test_sink_failure(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  put(fx, "k", 10, "v");
  if (fx->cached) { /* the put is cached; the failure shows at flush and loses nothing */
    settle(fx);
    fx->sink.fail = BROOK_ERR__IO;
    put(fx, "k", 10, "w");
    g_assert_cmpint(brook_window_store_flush(fx->store, fx->errstr, sizeof fx->errstr), ==, BROOK_ERR__IO);
    g_assert_nonnull(strstr(fx->errstr, "changelog sink"));
    assert_str_free(all(fx->store), "k@10=w");
    fx->sink.fail = 0;
    settle(fx);
    assert_str_free(all(fx->store), "k@10=w");
    rec_t *r = fx->sink.recs->pdata[fx->sink.recs->len - 1];
    g_assert_cmpmem(g_bytes_get_data(r->value, NULL), g_bytes_get_size(r->value), "w", 1);
    return;
  }
  fx->sink.fail = BROOK_ERR__IO;
  g_assert_cmpint(brook_window_store_put(fx->store, "k", 1, "w", 1, 10, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__IO);
  g_assert_nonnull(strstr(fx->errstr, "changelog sink"));
  g_assert_cmpint(brook_window_store_put(fx->store, "k", 1, "w", 1, 5000, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__IO);
  fx->sink.fail = 0;
  assert_str_free(all(fx->store), "k@10=v"); /* unchanged */
  brook_window_store_stats_t st;
  brook_window_store_stats(fx->store, &st);
  g_assert_cmpint(st.stream_time, ==, 10); /* a failed put does not move stream time */
}

/* Drives a store through puts, overwrites, deletes and expiry, then rebuilds a
 * second store from the records the sink collected (in batches of 7) and
 * compares everything. */
static void test_restore(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 300;
  fx->opts.segment_interval_ms = 100;
  fx->opts.retain_duplicates = GPOINTER_TO_INT(data) >> 1;
  fx_open(fx);
  GRand *rnd = g_rand_new_with_seed(42);
  for (int i = 0; i < 400; i++) {
    char key[8], val[16];
    g_snprintf(key, sizeof key, "k%d", g_rand_int_range(rnd, 0, 12));
    g_snprintf(val, sizeof val, "v%d", i);
    int64_t ts = i * 2 - g_rand_int_range(rnd, 0, 40); /* out of order, some expired */
    if (ts < 0) ts = 0;
    put(fx, key, ts, g_rand_int_range(rnd, 0, 5) == 0 ? NULL : val);
  }
  g_rand_free(rnd);
  settle(fx);
  char *want = all(fx->store);
  g_assert_cmpstr(want, !=, "");
  brook_window_store_stats_t st_a;
  brook_window_store_stats(fx->store, &st_a);

  brook_window_store_opts_t o2 = fx->opts;
  o2.store.name = "win2"; /* its own directory in the same task dir */
  o2.store.logged = false;
  brook_window_store_t *b = NULL;
  g_assert_cmpint(brook_window_store_open(fx->env, fx->dir, &o2, &b, fx->errstr, sizeof fx->errstr), ==, 0);
  GArray *recs = g_array_new(FALSE, TRUE, sizeof(brook_changelog_record_t));
  for (guint i = 0; i < fx->sink.recs->len; i++) {
    rec_t *r = fx->sink.recs->pdata[i];
    brook_changelog_record_t cr = {
        .key = g_bytes_get_data(r->key, NULL),
        .key_len = g_bytes_get_size(r->key),
        .value = r->value ? g_bytes_get_data(r->value, NULL) : NULL,
        .value_len = r->value ? g_bytes_get_size(r->value) : 0,
        .timestamp = r->ts,
        .offset = i,
    };
    g_array_append_val(recs, cr);
  }
  brook_restore_progress_t prog = {0};
  for (guint i = 0; i < recs->len; i += 7)
    g_assert_cmpint(
        brook_window_store_restore(b, &g_array_index(recs, brook_changelog_record_t, i),
                                   MIN(7, recs->len - i), recs->len, &prog, fx->errstr, sizeof fx->errstr),
        ==, BROOK_ERR_NONE);
  g_assert_cmpuint(prog.records_restored, ==, recs->len);
  assert_str_free(all(b), want);
  brook_window_store_stats_t st_b;
  brook_window_store_stats(b, &st_b);
  g_assert_cmpint(st_b.stream_time, ==, st_a.stream_time);
  g_assert_cmpuint(st_b.segments, ==, st_a.segments);

  /* The restored store keeps working like the original one. */
  g_assert_cmpint(
      brook_window_store_put(b, "k1", 2, "new", 3, st_a.stream_time, fx->errstr, sizeof fx->errstr), ==, 0);
  put(fx, "k1", st_a.stream_time, "new");
  settle(fx);
  char *after = all(fx->store);
  assert_str_free(all(b), after);
  g_free(after);

  /* A malformed record fails the whole batch, nothing applied. */
  brook_changelog_record_t bad[2] = {
      {.key = "bad-k\0\0\0\0\0\0\x03\x20\0\0\0\0",
       .key_len = 17,
       .value = "x",
       .value_len = 1,
       .offset = 100},
      {.key = "short", .key_len = 5, .value = "x", .value_len = 1, .offset = 101},
  };
  g_assert_cmpint(brook_window_store_restore(b, bad, 2, -1, NULL, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__MALFORMED);
  g_assert_nonnull(strstr(fx->errstr, "offset 101"));
  char *b_now = all(b);
  g_assert_null(strstr(b_now, "bad-k"));
  g_free(b_now);
  brook_window_store_close(b);
  g_array_free(recs, TRUE);
  g_free(want);
}

/* Writes and segment drops while an iterator is open. */
static void test_iter_while_writing(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 100;
  fx->opts.segment_interval_ms = 50;
  fx_open(fx);
  put(fx, "a", 10, "1");
  put(fx, "b", 10, "2");
  put(fx, "c", 10, "3");
  put(fx, "a", 60, "4");
  settle(fx);
  brook_window_iter_t *it = NULL;
  g_assert_cmpint(brook_window_store_all(fx->store, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  g_assert_true(brook_window_iter_next(it));
  size_t klen;
  g_assert_cmpmem(brook_window_iter_key(it, &klen), klen, "a", 1);
  put(fx, "b", 10, NULL); /* delete the next one */
  put(fx, "bb", 10, "5"); /* insert after the current one */
  GString *seen = g_string_new(NULL);
  while (brook_window_iter_next(it)) {
    const char *k = brook_window_iter_key(it, &klen);
    g_string_append_len(seen, k, (gssize)klen);
    g_string_append_c(seen, ' ');
  }
  brook_window_iter_destroy(it);
  /* RocksDB iterators read a snapshot; in-memory ones re-seek and see writes;
   * with a cache the writes stay in the cache, whose snapshot was taken when
   * the iterator was created. */
  g_assert_cmpstr(seen->str, ==, fx->in_memory && !fx->cached ? "bb c a " : "b c a ");
  g_string_free(seen, TRUE);

  /* A segment dropped under an open iterator stays readable until the
   * iterator is destroyed; then its directory goes. */
  g_assert_cmpint(brook_window_store_fetch_all(fx->store, 0, 100, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  put(fx, "z", 300, "late"); /* drops segments 0 and 50 */
  brook_window_store_stats_t st;
  brook_window_store_stats(fx->store, &st);
  g_assert_cmpuint(st.segments, ==, fx->cached ? 0 : 1); /* cached: "z" is not in the store yet */
  char *p0 = seg_path(fx, "win", 0);
  if (!fx->in_memory) g_assert_true(g_file_test(p0, G_FILE_TEST_IS_DIR));
  assert_str_free(drain(it), "a@10=1 bb@10=5 c@10=3 a@60=4");
  g_assert_false(g_file_test(p0, G_FILE_TEST_EXISTS));
  g_free(p0);
}

static void test_reopen(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 1000;
  fx->opts.segment_interval_ms = 100;
  fx_open(fx);
  put(fx, "k", 50, "a");
  put(fx, "k", 150, "b");
  put(fx, "j", 250, "c");
  char *want = all(fx->store);
  /* commit: flush, record the acked changelog offset, write the checkpoint */
  g_assert_cmpint(brook_window_store_flush(fx->store, fx->errstr, sizeof fx->errstr), ==, 0);
  brook_window_store_set_offset(fx->store, fx->sink.recs->len);
  g_assert_cmpint(brook_task_dir_checkpoint_write(fx->dir, fx->errstr, sizeof fx->errstr), ==, 0);
  brook_window_store_close(fx->store);
  fx->store = NULL;
  fx_open(fx);
  if (fx->in_memory) {
    assert_str_free(all(fx->store), ""); /* in memory: gone with the store */
    g_assert_cmpint(brook_window_store_restore_start(fx->store), ==, 0);
  } else {
    g_assert_false(brook_window_store_was_wiped(fx->store));
    g_assert_cmpint(brook_window_store_restore_start(fx->store), ==, 3);
    g_assert_cmpint(brook_task_dir_checkpoint_get(fx->dir, "app-win-changelog", 3), ==, 3);
    assert_str_free(all(fx->store), want);
    brook_window_store_stats_t st;
    brook_window_store_stats(fx->store, &st);
    g_assert_cmpuint(st.segments, ==, 3);
    g_assert_cmpint(st.stream_time, ==, 250); /* saved by flush, read at open */
    /* a different segment interval does not fit the directories on disk */
    brook_window_store_close(fx->store);
    fx->store = NULL;
    fx->opts.segment_interval_ms = 40;
    g_assert_cmpint(
        brook_window_store_open(fx->env, fx->dir, &fx->opts, &fx->store, fx->errstr, sizeof fx->errstr), ==,
        BROOK_ERR__BAD_CONFIG);
    g_assert_null(fx->store);
    g_assert_nonnull(strstr(fx->errstr, "segment interval"));
  }
  g_free(want);
}

/* No checkpoint entry for the changelog partition (a crash before the
 * checkpoint): the local segments may be behind or torn, so open wipes them
 * and restoration starts at 0; an unlogged store is never wiped. */
static void test_wipe_without_checkpoint(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  put(fx, "k", 10, "v");
  g_assert_cmpint(brook_window_store_flush(fx->store, fx->errstr, sizeof fx->errstr), ==, 0);
  brook_window_store_close(fx->store);
  fx->store = NULL;
  fx_open(fx);
  g_assert_cmpint(brook_window_store_restore_start(fx->store), ==, 0);
  assert_str_free(all(fx->store), "");
  if (!fx->in_memory) {
    g_assert_true(brook_window_store_was_wiped(fx->store));
    char *p = seg_path(fx, "win", 0);
    g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
    g_free(p);
  }
  /* restore from the changelog, commit, and the next open keeps the data */
  rec_t *r = fx->sink.recs->pdata[0];
  brook_changelog_record_t cr = {g_bytes_get_data(r->key, NULL),
                                 g_bytes_get_size(r->key),
                                 g_bytes_get_data(r->value, NULL),
                                 g_bytes_get_size(r->value),
                                 r->ts,
                                 0};
  brook_restore_progress_t prog;
  g_assert_cmpint(brook_window_store_restore(fx->store, &cr, 1, 1, &prog, fx->errstr, sizeof fx->errstr), ==,
                  0);
  g_assert_cmpuint(prog.records_restored, ==, 1);
  g_assert_cmpint(prog.remaining, ==, 0);
  brook_window_store_restore_progress(fx->store, &prog);
  g_assert_cmpuint(prog.records_restored, ==, 1);
  assert_str_free(all(fx->store), "k@10=v");
  g_assert_cmpint(brook_window_store_flush(fx->store, fx->errstr, sizeof fx->errstr), ==, 0);
  brook_window_store_set_offset(fx->store, 1);
  brook_window_store_close(fx->store);
  fx->store = NULL;
  fx_open(fx);
  g_assert_false(brook_window_store_was_wiped(fx->store));
  assert_str_free(all(fx->store), fx->in_memory ? "" : "k@10=v");
  /* unlogged: nothing to restore from, never wiped */
  brook_window_store_close(fx->store);
  fx->store = NULL;
  fx->opts.store.logged = false;
  fx->opts.store.name = "plain";
  fx_open(fx);
  put(fx, "k", 10, "v");
  brook_window_store_close(fx->store);
  fx->store = NULL;
  fx_open(fx);
  g_assert_cmpint(brook_window_store_restore_start(fx->store), ==, -1);
  assert_str_free(all(fx->store), fx->in_memory ? "" : "k@10=v");
}

/* ---- record cache (cached variants only) ---- */

typedef struct fwd {
  GString *log;
} fwd_t;

static void fwd_apply(void *opaque, const void *key, size_t key_len, const void *new_value, size_t new_len,
                      const void *old_value, size_t old_len, int64_t timestamp) {
  fwd_t *f = opaque;
  size_t klen;
  int64_t start;
  g_assert_true(brook_window_store_key_decode(key, key_len, &klen, &start, NULL));
  g_string_append_printf(f->log, "%s%.*s@%" PRId64 ":%.*s->%.*s", f->log->len ? " " : "", (int)klen,
                         (const char *)key, start, old_value ? (int)old_len : 1,
                         old_value ? (const char *)old_value : "-", new_value ? (int)new_len : 1,
                         new_value ? (const char *)new_value : "-");
  g_assert_cmpint(timestamp, ==, start);
}

static void test_cache_collapse(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  fwd_t f = {g_string_new(NULL)};
  brook_cache_flush_listener_t l = {fwd_apply, &f};
  brook_window_store_set_flush_listener(fx->store, &l);
  put(fx, "k", 10, "1");
  put(fx, "k", 10, "2");
  put(fx, "k", 10, "3");
  put(fx, "j", 20, "x");
  g_assert_cmpuint(fx->sink.recs->len, ==, 0); /* nothing written through yet */
  assert_str_free(get(fx, "k", 10), "3");
  assert_str_free(fetch(fx, "k", 0, 100, false), "k@10=3");
  settle(fx);
  g_assert_cmpuint(fx->sink.recs->len, ==, 2); /* one record per key: the latest value */
  g_assert_cmpstr(f.log->str, ==, "k@10:-->3 j@20:-->x");
  /* store and cache merged: k@30 stored, k@20 cached, k@10 overwritten in the
   * cache, j@20 deleted in the cache */
  put(fx, "k", 30, "s30");
  settle(fx);
  g_string_truncate(f.log, 0);
  put(fx, "k", 20, "c20");
  put(fx, "k", 10, "c10");
  put(fx, "j", 20, NULL);
  g_assert_null(get(fx, "j", 20)); /* a cached delete hides the stored value */
  assert_str_free(fetch(fx, "k", 0, 100, false), "k@10=c10 k@20=c20 k@30=s30");
  assert_str_free(fetch(fx, "k", 0, 100, true), "k@30=s30 k@20=c20 k@10=c10");
  assert_str_free(all(fx->store), "k@10=c10 k@20=c20 k@30=s30");
  brook_window_iter_t *it = NULL;
  g_assert_cmpint(brook_window_store_backward_all(fx->store, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(drain(it), "k@30=s30 k@20=c20 k@10=c10");
  settle(fx);
  g_assert_cmpstr(f.log->str, ==, "k@20:-->c20 k@10:3->c10 j@20:x->-");
  rec_t *r = fx->sink.recs->pdata[fx->sink.recs->len - 1];
  g_assert_null(r->value); /* the delete reached the changelog as a tombstone */
  assert_str_free(all(fx->store), "k@10=c10 k@20=c20 k@30=s30");
  brook_window_store_set_flush_listener(fx->store, NULL);
  g_string_free(f.log, TRUE);
}

/* The listener sees every write that reaches the store: each put without a
 * cache, the collapsed one with it; never a dropped (expired) put. */
static void test_listener(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 100;
  fx->opts.segment_interval_ms = 50;
  fx_open(fx);
  fwd_t f = {g_string_new(NULL)};
  brook_cache_flush_listener_t l = {fwd_apply, &f};
  brook_window_store_set_flush_listener(fx->store, &l);
  put(fx, "k", 500, "a");
  put(fx, "k", 500, "b");
  put(fx, "k", 400, "late"); /* expired */
  settle(fx);
  g_assert_cmpstr(f.log->str, ==, fx->cached ? "k@500:-->b" : "k@500:-->a k@500:a->b");
  g_string_free(f.log, TRUE);
}

/* A small budget: puts evict least-recently-used entries, writing the dirty
 * ones through before any flush; nothing is lost. */
static void test_cache_eviction(fixture_t *fx, gconstpointer data) {
  char errstr[256];
  brook_state_env_conf_t conf = {.state_dir = fx->root, .application_id = "small", .cache_max_bytes = 4096};
  brook_state_env_t *env = brook_state_env_new(&conf, errstr, sizeof errstr);
  g_assert_nonnull(env);
  brook_task_dir_t *dir = NULL;
  g_assert_cmpint(brook_task_dir_open(env, "0_0", &dir, errstr, sizeof errstr), ==, 0);
  brook_window_store_t *s = NULL;
  g_assert_cmpint(brook_window_store_open(env, dir, &fx->opts, &s, errstr, sizeof errstr), ==, 0);
  g_assert_true(brook_window_store_is_cached(s));
  for (int i = 0; i < 500; i++) {
    char k[16], v[64];
    g_snprintf(k, sizeof k, "key-%03d", i);
    memset(v, 'a' + i % 26, sizeof v);
    g_assert_cmpint(brook_window_store_put(s, k, strlen(k), v, sizeof v, i, errstr, sizeof errstr), ==, 0);
  }
  g_assert_cmpuint(fx->sink.recs->len, >, 400); /* most were evicted and written through */
  g_assert_cmpuint(fx->sink.recs->len, <=, 500);
  brook_window_iter_t *it = NULL;
  g_assert_cmpint(brook_window_store_all(s, &it, errstr, sizeof errstr), ==, 0);
  int n = 0;
  while (brook_window_iter_next(it)) n++;
  brook_window_iter_destroy(it);
  g_assert_cmpint(n, ==, 500);
  g_assert_cmpint(brook_window_store_flush(s, errstr, sizeof errstr), ==, 0);
  g_assert_cmpuint(fx->sink.recs->len, ==, 500);
  brook_window_store_close(s);
  brook_task_dir_close(dir);
  brook_state_env_destroy(env);
}

static void test_bad_config(fixture_t *fx, gconstpointer data) {
  brook_window_store_opts_t o = fx->opts;
  brook_window_store_t *s = NULL;
  o.retention_ms = 0;
  g_assert_cmpint(brook_window_store_open(fx->env, fx->dir, &o, &s, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  o = fx->opts;
  o.store.name = "../x";
  g_assert_cmpint(brook_window_store_open(fx->env, fx->dir, &o, &s, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  o = fx->opts;
  if (!fx->in_memory) {
    g_assert_cmpint(brook_window_store_open(fx->env, NULL, &o, &s, fx->errstr, sizeof fx->errstr), ==,
                    BROOK_ERR__BAD_CONFIG);
  } else {
    g_assert_cmpint(brook_window_store_open(fx->env, NULL, &o, &s, fx->errstr, sizeof fx->errstr), ==, 0);
    brook_window_store_close(s);
  }
  g_assert_cmpstr(brook_err_name(BROOK_ERR__BAD_CONFIG), ==, "_BAD_CONFIG");
}

/* ---- read-only views ---- */

/* Every restore batch r writes keys k0..k7 with value "r": even keys at window
 * start r*100, odd keys at r*100 + 550, so most batches span two segments
 * (interval 500). A view must see each half of a batch whole or not at all,
 * and the newer half whenever it sees the older one (expiry takes the older
 * half first). Retention is short, so segments roll and drop all the time. */
#define VIEW_BATCHES 400
#define VIEW_KEYS 8

typedef struct view_reader {
  brook_window_view_t *view;
  volatile gint stop;
  gint scans, gets, torn, errors, max_seen;
} view_reader_t;

/* `half`: entries of one batch half the scan covers (4 for every key, 1 for
 * one odd key: then the even half must be empty). */
static void check_scan(view_reader_t *r, brook_window_iter_t *it, bool pause, int half) {
  int counts[VIEW_BATCHES][2];
  memset(counts, 0, sizeof counts);
  bool first = true;
  while (brook_window_iter_next(it)) {
    if (first && pause) g_usleep(500); /* let the owner write, roll and drop under us */
    first = false;
    size_t klen, vlen;
    const char *k = brook_window_iter_key(it, &klen);
    const char *v = brook_window_iter_value(it, &vlen);
    char vb[16];
    g_assert_cmpuint(vlen, <, sizeof vb);
    memcpy(vb, v, vlen);
    vb[vlen] = 0;
    int b = atoi(vb);
    g_assert_cmpint(b, >=, 0);
    g_assert_cmpint(b, <, VIEW_BATCHES);
    g_assert_cmpuint(klen, ==, 2);
    int j = k[1] - '0';
    int64_t start = brook_window_iter_start(it);
    if (start != (int64_t)b * 100 + (j % 2) * 550) g_atomic_int_inc(&r->torn);
    counts[b][j % 2]++;
    if (b > g_atomic_int_get(&r->max_seen)) g_atomic_int_set(&r->max_seen, b);
  }
  if (brook_window_iter_error(it, NULL, 0)) g_atomic_int_inc(&r->errors);
  for (int b = 0; b < VIEW_BATCHES; b++) {
    int even = counts[b][0], odd = counts[b][1];
    bool odd_only = half == 1;
    if ((even != 0 && (odd_only || even != half)) || (odd != 0 && odd != half) || (even && !odd))
      g_atomic_int_inc(&r->torn);
  }
}

static gpointer view_reader_main(gpointer p) {
  view_reader_t *r = p;
  char errstr[256];
  for (int n = 0; !g_atomic_int_get(&r->stop); n++) {
    brook_window_iter_t *it = NULL;
    brook_err_t err = brook_window_view_fetch_all(r->view, 0, INT64_MAX, &it, errstr, sizeof errstr);
    if (err) {
      g_atomic_int_inc(&r->errors);
      continue;
    }
    check_scan(r, it, n % 4 == 0, VIEW_KEYS / 2);
    brook_window_iter_destroy(it);
    /* one key across both halves' segments; a range over two keys */
    g_assert_cmpint(brook_window_view_fetch(r->view, "k1", 2, 0, INT64_MAX, &it, errstr, sizeof errstr), ==,
                    0);
    check_scan(r, it, false, 1);
    brook_window_iter_destroy(it);
    /* a point lookup of the newest batch seen so far: present or expired, never torn */
    int b = g_atomic_int_get(&r->max_seen);
    void *v = NULL;
    size_t vlen = 0;
    err = brook_window_view_get(r->view, "k3", 2, (int64_t)b * 100 + 550, &v, &vlen, errstr, sizeof errstr);
    if (err == BROOK_ERR_NONE) {
      char want[16];
      g_snprintf(want, sizeof want, "%d", b);
      if (vlen != strlen(want) || memcmp(v, want, vlen) != 0) g_atomic_int_inc(&r->torn);
      free(v);
    } else if (err != BROOK_ERR__NOENT) {
      g_atomic_int_inc(&r->errors);
    }
    g_atomic_int_inc(&r->scans);
    g_atomic_int_inc(&r->gets);
  }
  return NULL;
}

static void test_view_concurrent(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 2000;
  fx->opts.segment_interval_ms = 500;
  fx_open(fx);
  view_reader_t r = {.view = brook_window_store_view(fx->store)};
  GThread *th = g_thread_new("view-reader", view_reader_main, &r);
  int64_t offset = 0;
  for (int b = 0; b < VIEW_BATCHES; b++) {
    brook_changelog_record_t recs[VIEW_KEYS];
    uint8_t keys[VIEW_KEYS][2 + 12];
    char val[16];
    int vlen = g_snprintf(val, sizeof val, "%d", b);
    for (int j = 0; j < VIEW_KEYS; j++) {
      char k[2] = {'k', (char)('0' + j)};
      int64_t start = (int64_t)b * 100 + (j % 2) * 550;
      brook_window_store_key_encode(k, 2, start, 0, keys[j]);
      recs[j] = (brook_changelog_record_t){keys[j], sizeof keys[j], val, (size_t)vlen, start, offset++};
    }
    g_assert_cmpint(
        brook_window_store_restore(fx->store, recs, VIEW_KEYS, -1, NULL, fx->errstr, sizeof fx->errstr), ==,
        0);
    if (b % 50 == 0) g_usleep(1000); /* give the reader a chance on a loaded machine */
  }
  /* wait until the reader has run a few scans against the final state too */
  gint scans = g_atomic_int_get(&r.scans);
  while (g_atomic_int_get(&r.scans) < scans + 3) g_usleep(100);
  g_atomic_int_set(&r.stop, 1);
  g_thread_join(th);
  brook_window_store_stats_t st;
  brook_window_store_stats(fx->store, &st);
  g_assert_cmpuint(st.segments, <=, 2000 / 500 + 2); /* old segments were dropped */
  g_assert_cmpint(r.torn, ==, 0);
  g_assert_cmpint(r.errors, ==, 0);
  g_assert_cmpint(r.scans, >, 0);
  g_assert_cmpint(r.max_seen, ==, VIEW_BATCHES - 1);
  brook_window_view_destroy(r.view);
}

/* A view iterator holds a point-in-time image: later writes and segment drops
 * do not change it, the dropped segment goes when the iterator does; after
 * close every view call is _STATE. */
static void test_view_snapshot_and_close(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 100;
  fx->opts.segment_interval_ms = 50;
  fx_open(fx);
  put(fx, "a", 10, "1");
  put(fx, "b", 60, "2");
  settle(fx); /* views read the store, not the cache */
  brook_window_view_t *view = brook_window_store_view(fx->store);
  brook_window_iter_t *it = NULL;
  g_assert_cmpint(brook_window_view_fetch_all(view, 0, INT64_MAX, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  put(fx, "a", 20, "3");     /* after the image: not seen */
  put(fx, "z", 300, "late"); /* drops segments 0 and 50 */
  brook_window_store_stats_t st;
  brook_window_store_stats(fx->store, &st);
  g_assert_cmpuint(st.segments, ==, fx->cached ? 0 : 1); /* cached: "z" is not in the store yet */
  char *p0 = seg_path(fx, "win", 0);
  if (!fx->in_memory) g_assert_true(g_file_test(p0, G_FILE_TEST_IS_DIR));
  assert_str_free(drain(it), "a@10=1 b@60=2");
  settle(fx);
  g_assert_false(g_file_test(p0, G_FILE_TEST_EXISTS));
  g_free(p0);
  /* expiry as of now: the old windows are gone for new queries */
  g_assert_cmpint(brook_window_view_fetch_all(view, 0, INT64_MAX, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(drain(it), "z@300=late");
  void *v = NULL;
  size_t vlen = 0;
  g_assert_cmpint(brook_window_view_get(view, "a", 1, 10, &v, &vlen, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__NOENT);
  g_assert_cmpint(brook_window_view_get(view, "z", 1, 300, &v, &vlen, fx->errstr, sizeof fx->errstr), ==, 0);
  g_assert_cmpmem(v, vlen, "late", 4);
  free(v);
  v = NULL;
  g_assert_cmpint(
      brook_window_view_fetch_range(view, "a", 1, "y", 1, 0, INT64_MAX, &it, fx->errstr, sizeof fx->errstr),
      ==, 0);
  assert_str_free(drain(it), "");

  /* an iterator open across close, then close */
  put(fx, "z", 310, "x");
  g_assert_cmpint(brook_window_view_get(view, "z", 1, 310, &v, &vlen, fx->errstr, sizeof fx->errstr), ==,
                  fx->cached ? BROOK_ERR__NOENT : BROOK_ERR_NONE); /* still in the cache */
  free(v);
  v = NULL;
  settle(fx);
  g_assert_cmpint(brook_window_view_fetch(view, "z", 1, 0, INT64_MAX, &it, fx->errstr, sizeof fx->errstr), ==,
                  0);
  g_assert_true(brook_window_iter_next(it));
  brook_window_store_close(fx->store);
  fx->store = NULL;
  size_t klen;
  g_assert_cmpmem(brook_window_iter_key(it, &klen), klen, "z", 1); /* the copy stays valid */
  g_assert_false(brook_window_iter_next(it));
  g_assert_cmpint(brook_window_iter_error(it, NULL, 0), ==, BROOK_ERR__STATE);
  brook_window_iter_destroy(it);
  g_assert_cmpint(brook_window_view_get(view, "z", 1, 300, &v, &vlen, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__STATE);
  g_assert_null(v);
  it = (brook_window_iter_t *)1;
  g_assert_cmpint(brook_window_view_fetch(view, "z", 1, 0, 10, &it, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__STATE);
  g_assert_null(it);
  g_assert_cmpint(brook_window_view_fetch_all(view, 0, 10, &it, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__STATE);
  g_assert_cmpint(
      brook_window_view_fetch_range(view, "a", 1, "b", 1, 0, 10, &it, fx->errstr, sizeof fx->errstr), ==,
      BROOK_ERR__STATE);
  brook_window_view_destroy(view);
  brook_window_view_destroy(NULL);
}

static void add(const char *name, void (*fn)(fixture_t *, gconstpointer)) {
  for (int mem = 0; mem < 2; mem++) {
    char *path = g_strdup_printf("/state/window/%s/%s", mem ? "memory" : "rocksdb", name);
    g_test_add(path, fixture_t, GINT_TO_POINTER(mem), fx_setup, fn, fx_teardown);
    g_free(path);
  }
}

static void add_dup(const char *name, void (*fn)(fixture_t *, gconstpointer)) {
  for (int mem = 0; mem < 2; mem++) {
    char *path = g_strdup_printf("/state/window/%s/%s", mem ? "memory" : "rocksdb", name);
    g_test_add(path, fixture_t, GINT_TO_POINTER(mem | 2), fx_setup, fn, fx_teardown);
    g_free(path);
  }
}

static void add_cached(const char *name, void (*fn)(fixture_t *, gconstpointer)) {
  for (int mem = 0; mem < 2; mem++) {
    char *path = g_strdup_printf("/state/window/%s-cached/%s", mem ? "memory" : "rocksdb", name);
    g_test_add(path, fixture_t, GINT_TO_POINTER(mem | 4), fx_setup, fn, fx_teardown);
    g_free(path);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  logged = g_ptr_array_new_with_free_func(g_free);
  brook_log_set_handler(capture, NULL);
  add("put-get", test_put_get);
  add("fetch-bounds", test_fetch_bounds);
  add("prefix-keys", test_prefix_keys);
  add("retention", test_retention);
  add("expired-put", test_expired_put);
  add("duplicates", test_duplicates);
  add("changelog", test_changelog);
  add("sink-failure", test_sink_failure);
  add("restore", test_restore);
  add_dup("restore-duplicates", test_restore);
  add("iter-while-writing", test_iter_while_writing);
  add("reopen", test_reopen);
  add("wipe-without-checkpoint", test_wipe_without_checkpoint);
  add("bad-config", test_bad_config);
  add("listener", test_listener);
  add("view-concurrent", test_view_concurrent);
  add("view-snapshot-close", test_view_snapshot_and_close);
  /* the same contract with a record cache in front */
  add_cached("put-get", test_put_get);
  add_cached("fetch-bounds", test_fetch_bounds);
  add_cached("prefix-keys", test_prefix_keys);
  add_cached("retention", test_retention);
  add_cached("expired-put", test_expired_put);
  add_cached("changelog", test_changelog);
  add_cached("sink-failure", test_sink_failure);
  add_cached("restore", test_restore);
  add_cached("iter-while-writing", test_iter_while_writing);
  add_cached("reopen", test_reopen);
  add_cached("wipe-without-checkpoint", test_wipe_without_checkpoint);
  add_cached("collapse-merge-listener", test_cache_collapse);
  add_cached("eviction", test_cache_eviction);
  add_cached("listener", test_listener);
  add_cached("view-snapshot-close", test_view_snapshot_and_close);
  int rc = g_test_run();
  brook_log_set_handler(NULL, NULL);
  g_ptr_array_unref(logged);
  return rc;
}
