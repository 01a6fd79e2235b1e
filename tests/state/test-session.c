/*
 * test-session.c — the session store contract, run against the RocksDB and
 * the in-memory variant (/state/session/rocksdb/... and /state/session/memory/...):
 * put/fetch/remove, findSessions overlap semantics and bounds, order, keys that
 * are prefixes of each other (brute-force model), retention by session end,
 * merge cases and a whole session-window count, the changelog records, restore
 * reproducing the store exactly, sink failures, reopen.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <string.h>

#include "blog.h"
#include "brook_serde.h"
#include "brook_session_store.h"

/* ---- changelog sink ---- */

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
  brook_err_t fail;
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
  bool cached;
  char *root;
  brook_state_env_t *env;
  brook_task_dir_t *dir;
  sink_t sink;
  brook_session_store_opts_t opts;
  brook_session_store_t *store;
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
      brook_session_store_open(fx->env, fx->dir, &fx->opts, &fx->store, fx->errstr, sizeof fx->errstr), ==,
      BROOK_ERR_NONE);
  g_assert_true(brook_session_store_is_cached(fx->store) == fx->cached);
}

static void settle(fixture_t *fx) {
  g_assert_cmpint(brook_session_store_flush(fx->store, fx->errstr, sizeof fx->errstr), ==, BROOK_ERR_NONE);
}

static void fx_setup(fixture_t *fx, gconstpointer data) {
  fx->in_memory = GPOINTER_TO_INT(data) & 1;
  fx->cached = (GPOINTER_TO_INT(data) & 4) != 0;
  GError *gerr = NULL;
  fx->root = g_dir_make_tmp("brook-session-XXXXXX", &gerr);
  g_assert_no_error(gerr);
  brook_state_env_conf_t conf = {
      .state_dir = fx->root, .application_id = "app", .cache_max_bytes = 10u << 20};
  fx->env = brook_state_env_new(&conf, fx->errstr, sizeof fx->errstr);
  g_assert_nonnull(fx->env);
  g_assert_cmpint(brook_task_dir_open(fx->env, "1_2", &fx->dir, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR_NONE);
  fx->sink.recs = g_ptr_array_new_with_free_func(rec_free);
  fx->opts = (brook_session_store_opts_t){
      .store = {.name = "sess",
                .in_memory = fx->in_memory,
                .logged = true,
                .cached = fx->cached,
                .partition = 2,
                .sink = {sink_send, &fx->sink}},
      .retention_ms = 1000000,
  };
}

static void fx_teardown(fixture_t *fx, gconstpointer data) {
  brook_session_store_close(fx->store);
  brook_task_dir_close(fx->dir);
  brook_state_env_destroy(fx->env);
  g_ptr_array_unref(fx->sink.recs);
  rm_rf(fx->root);
  g_assert_false(g_file_test(fx->root, G_FILE_TEST_EXISTS));
  g_free(fx->root);
}

static char *seg_path(fixture_t *fx, int64_t start) {
  char *base = g_strdup_printf("sess.%" PRId64, start);
  char *p = g_build_filename(brook_task_dir_path(fx->dir), "rocksdb", "sess", base, NULL);
  g_free(base);
  return p;
}

/* ---- helpers ---- */

static void put(fixture_t *fx, const char *key, int64_t start, int64_t end, const char *value) {
  g_assert_cmpint(brook_session_store_put(fx->store, key, strlen(key), start, end, value,
                                          value ? strlen(value) : 0, fx->errstr, sizeof fx->errstr),
                  ==, BROOK_ERR_NONE);
}

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

/* "key[start,end]=value ..." */
static char *drain(brook_session_iter_t *it) {
  GString *out = g_string_new(NULL);
  while (brook_session_iter_next(it)) {
    size_t klen, vlen;
    const void *k = brook_session_iter_key(it, &klen);
    const void *v = brook_session_iter_value(it, &vlen);
    char *ek = esc(k, klen), *ev = esc(v, vlen);
    g_string_append_printf(out, "%s%s[%" PRId64 ",%" PRId64 "]=%s", out->len ? " " : "", ek,
                           brook_session_iter_start(it), brook_session_iter_end(it), ev);
    g_free(ek);
    g_free(ev);
  }
  char errstr[256];
  g_assert_cmpint(brook_session_iter_error(it, errstr, sizeof errstr), ==, BROOK_ERR_NONE);
  brook_session_iter_destroy(it);
  return g_string_free(out, FALSE);
}

static char *find(fixture_t *fx, const char *key, int64_t earliest_end, int64_t latest_start, bool backward) {
  brook_session_iter_t *it = NULL;
  brook_err_t err =
      backward ? brook_session_store_backward_find_sessions(fx->store, key, strlen(key), earliest_end,
                                                            latest_start, &it, fx->errstr, sizeof fx->errstr)
               : brook_session_store_find_sessions(fx->store, key, strlen(key), earliest_end, latest_start,
                                                   &it, fx->errstr, sizeof fx->errstr);
  g_assert_cmpint(err, ==, BROOK_ERR_NONE);
  return drain(it);
}

static char *all(brook_session_store_t *store) {
  brook_session_iter_t *it = NULL;
  char errstr[256];
  g_assert_cmpint(brook_session_store_fetch_range(store, NULL, 0, NULL, 0, &it, errstr, sizeof errstr), ==,
                  0);
  return drain(it);
}

static char *fetch_session(fixture_t *fx, const char *key, int64_t start, int64_t end) {
  void *v = NULL;
  size_t vlen = 0;
  brook_err_t err = brook_session_store_fetch_session(fx->store, key, strlen(key), start, end, &v, &vlen,
                                                      fx->errstr, sizeof fx->errstr);
  if (err == BROOK_ERR__NOENT) return NULL;
  g_assert_cmpint(err, ==, BROOK_ERR_NONE);
  char *s = g_strndup(v, vlen);
  free(v);
  return s;
}

#define assert_str_free(expr, expected) \
  do {                                  \
    char *s_ = (expr);                  \
    g_assert_cmpstr(s_, ==, expected);  \
    g_free(s_);                         \
  } while (0)

/* ---- tests ---- */

static void test_put_fetch_remove(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  put(fx, "k", 0, 10, "a");
  put(fx, "k", 20, 30, "b");
  put(fx, "j", 0, 10, "c");
  assert_str_free(fetch_session(fx, "k", 0, 10), "a");
  assert_str_free(fetch_session(fx, "k", 20, 30), "b");
  g_assert_null(fetch_session(fx, "k", 0, 11));
  g_assert_null(fetch_session(fx, "k", 1, 10));
  put(fx, "k", 0, 10, "a2");
  assert_str_free(fetch_session(fx, "k", 0, 10), "a2");
  g_assert_cmpint(brook_session_store_remove(fx->store, "k", 1, 0, 10, fx->errstr, sizeof fx->errstr), ==, 0);
  g_assert_null(fetch_session(fx, "k", 0, 10));
  assert_str_free(all(fx->store), "j[0,10]=c k[20,30]=b");
  g_assert_cmpint(brook_session_store_put(fx->store, "k", 1, 5, 4, "x", 1, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR_INVALID_TIMESTAMP);
  g_assert_cmpint(brook_session_store_put(fx->store, "k", 1, -1, 4, "x", 1, fx->errstr, sizeof fx->errstr),
                  ==, BROOK_ERR_INVALID_TIMESTAMP);
  g_assert_nonnull(strstr(fx->errstr, "invalid session"));
  brook_session_store_stats_t st;
  brook_session_store_stats(fx->store, &st);
  g_assert_cmpint(st.stream_time, ==, 30);
  g_assert_cmpint(st.segment_interval_ms, ==, 500000);
}

static void test_find_sessions(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  put(fx, "k", 0, 10, "s1");
  put(fx, "k", 20, 30, "s2");
  put(fx, "k", 40, 50, "s3");
  put(fx, "k", 5, 50, "s4"); /* same end as s3, earlier start */
  put(fx, "k", 100, 100, "s5");
  put(fx, "l", 20, 30, "other");
  /* overlap with [15, 45]: end >= 15 and start <= 45 */
  assert_str_free(find(fx, "k", 15, 45, false), "k[20,30]=s2 k[5,50]=s4 k[40,50]=s3");
  /* bounds are inclusive */
  assert_str_free(find(fx, "k", 10, 20, false), "k[0,10]=s1 k[20,30]=s2 k[5,50]=s4");
  assert_str_free(find(fx, "k", 51, 99, false), "");
  assert_str_free(find(fx, "k", 51, 100, false), "k[100,100]=s5");
  assert_str_free(find(fx, "k", 0, INT64_MAX, true),
                  "k[100,100]=s5 k[40,50]=s3 k[5,50]=s4 k[20,30]=s2 k[0,10]=s1");
  assert_str_free(find(fx, "k", 0, -1, false), "");
  assert_str_free(find(fx, "m", 0, INT64_MAX, false), "");
  brook_session_iter_t *it = NULL;
  g_assert_cmpint(brook_session_store_fetch(fx->store, "k", 1, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(drain(it), "k[0,10]=s1 k[20,30]=s2 k[5,50]=s4 k[40,50]=s3 k[100,100]=s5");
  g_assert_cmpint(brook_session_store_backward_fetch(fx->store, "l", 1, &it, fx->errstr, sizeof fx->errstr),
                  ==, 0);
  assert_str_free(drain(it), "l[20,30]=other");
  g_assert_cmpint(brook_session_store_find_sessions_range(fx->store, "k", 1, "l", 1, 25, 30, &it, fx->errstr,
                                                          sizeof fx->errstr),
                  ==, 0);
  assert_str_free(drain(it), "k[20,30]=s2 k[5,50]=s4 l[20,30]=other");
  g_assert_cmpint(brook_session_store_backward_find_sessions_range(fx->store, "k", 1, "l", 1, 25, 30, &it,
                                                                   fx->errstr, sizeof fx->errstr),
                  ==, 0);
  assert_str_free(drain(it), "l[20,30]=other k[5,50]=s4 k[20,30]=s2");
  g_assert_cmpint(brook_session_store_find_sessions_range(fx->store, "l", 1, "k", 1, 0, INT64_MAX, &it,
                                                          fx->errstr, sizeof fx->errstr),
                  ==, 0);
  assert_str_free(drain(it), "");
  /* store key and accessors */
  g_assert_cmpint(
      brook_session_store_find_sessions(fx->store, "l", 1, 0, INT64_MAX, &it, fx->errstr, sizeof fx->errstr),
      ==, 0);
  g_assert_true(brook_session_iter_next(it));
  size_t sklen;
  const void *sk = brook_session_iter_store_key(it, &sklen);
  g_assert_cmpmem(sk, sklen,
                  "l"
                  "\0\0\0\0\0\0\0\x1e"
                  "\0\0\0\0\0\0\0\x14",
                  17);
  brook_session_iter_destroy(it);
}

typedef struct mses {
  const char *key;
  size_t klen;
  int64_t start, end;
  char value[16];
} mses_t;

static int bcmp_keys(const void *a, size_t al, const void *b, size_t bl) {
  int c = memcmp(a, b, MIN(al, bl));
  return c ? c : (al < bl ? -1 : al > bl);
}

static gint model_cmp(gconstpointer a, gconstpointer b, gpointer interval_p) {
  const mses_t *x = a, *y = b;
  int64_t interval = *(int64_t *)interval_p;
  int64_t sx = x->end / interval, sy = y->end / interval;
  if (sx != sy) return sx < sy ? -1 : 1;
  uint8_t kx[64], ky[64];
  brook_session_store_key_encode(x->key, x->klen, x->start, x->end, kx);
  brook_session_store_key_encode(y->key, y->klen, y->start, y->end, ky);
  return bcmp_keys(kx, x->klen + 16, ky, y->klen + 16);
}

static void test_prefix_keys(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = INT64_MAX;
  fx_open(fx);
  brook_session_store_stats_t st;
  brook_session_store_stats(fx->store, &st);
  int64_t interval = st.segment_interval_ms;
  static const struct {
    const char *k;
    size_t n;
  } keys[] = {{"", 0}, {"a", 1}, {"a\0", 2}, {"ab", 2}, {"b", 1}, {"\x7f", 1}};
  static const int64_t ends[] = {5, INT64_C(0x6200000000000000), INT64_C(0x7f00000000000000), INT64_MAX};
  GArray *model = g_array_new(FALSE, FALSE, sizeof(mses_t));
  for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
    for (size_t j = 0; j < G_N_ELEMENTS(ends); j++)
      for (int s = 0; s < 2; s++) {
        mses_t e = {keys[i].k, keys[i].n, s ? ends[j] - 3 : 0, ends[j], ""};
        g_snprintf(e.value, sizeof e.value, "v%zu.%zu.%d", i, j, s);
        g_assert_cmpint(brook_session_store_put(fx->store, e.key, e.klen, e.start, e.end, e.value,
                                                strlen(e.value), fx->errstr, sizeof fx->errstr),
                        ==, 0);
        g_array_append_val(model, e);
        if (i == 2 && j == 1 && s == 0) settle(fx); /* with a cache: part stored, part cached */
      }
  g_array_sort_with_data(model, model_cmp, &interval);
  static const int64_t ranges[][2] = {{0, INT64_MAX}, {6, INT64_C(0x6200000000000000)}, {0, 4}};
  for (size_t r = 0; r < G_N_ELEMENTS(ranges); r++) {
    int64_t ee = ranges[r][0], ls = ranges[r][1];
    for (size_t a = 0; a <= G_N_ELEMENTS(keys); a++)
      for (size_t b = 0; b <= G_N_ELEMENTS(keys); b++) {
        /* a or b == n: unbounded side */
        bool has_a = a < G_N_ELEMENTS(keys), has_b = b < G_N_ELEMENTS(keys);
        GString *want = g_string_new(NULL);
        for (guint m = 0; m < model->len; m++) {
          mses_t *e = &g_array_index(model, mses_t, m);
          if ((!has_a || bcmp_keys(e->key, e->klen, keys[a].k, keys[a].n) >= 0) &&
              (!has_b || bcmp_keys(e->key, e->klen, keys[b].k, keys[b].n) <= 0) && e->end >= ee &&
              e->start <= ls) {
            char *ek = esc(e->key, e->klen);
            g_string_append_printf(want, "%s%s[%" PRId64 ",%" PRId64 "]=%s", want->len ? " " : "", ek,
                                   e->start, e->end, e->value);
            g_free(ek);
          }
        }
        brook_session_iter_t *it = NULL;
        if (has_a && has_b && a == b)
          g_assert_cmpint(brook_session_store_find_sessions(fx->store, keys[a].k, keys[a].n, ee, ls, &it,
                                                            fx->errstr, sizeof fx->errstr),
                          ==, 0);
        else
          g_assert_cmpint(
              brook_session_store_find_sessions_range(
                  fx->store, has_a ? keys[a].k : NULL, has_a ? keys[a].n : 0, has_b ? keys[b].k : NULL,
                  has_b ? keys[b].n : 0, ee, ls, &it, fx->errstr, sizeof fx->errstr),
              ==, 0);
        assert_str_free(drain(it), want->str);
        g_string_free(want, TRUE);
      }
  }
  g_array_free(model, TRUE);
}

static void test_retention(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 100;
  fx->opts.segment_interval_ms = 50;
  fx_open(fx);
  put(fx, "k", 0, 10, "a");   /* segment 0 */
  put(fx, "k", 40, 60, "b");  /* segment 50: by END */
  put(fx, "k", 60, 120, "c"); /* segment 100 */
  settle(fx);
  brook_session_store_stats_t st;
  brook_session_store_stats(fx->store, &st);
  /* with a cache, [0,10] had already expired (stream time 120) when the cache
   * wrote it through: dropped then, its segment never created */
  g_assert_cmpuint(st.segments, ==, fx->cached ? 2 : 3);
  if (!fx->in_memory)
    for (int64_t s = fx->cached ? 50 : 0; s <= 100; s += 50) {
      char *p = seg_path(fx, s);
      g_assert_true(g_file_test(p, G_FILE_TEST_IS_DIR));
      g_free(p);
    }
  /* stream time 120: ends <= 20 are gone from reads */
  assert_str_free(find(fx, "k", 0, INT64_MAX, false), "k[40,60]=b k[60,120]=c");
  g_assert_null(fetch_session(fx, "k", 0, 10));
  put(fx, "k", 200, 210, "d"); /* stream 210: min live segment id(110) = 2 */
  settle(fx);
  brook_session_store_stats(fx->store, &st);
  g_assert_cmpuint(st.segments, ==, 2);
  if (!fx->in_memory)
    for (int64_t s = 0; s <= 50; s += 50) {
      char *p = seg_path(fx, s);
      g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
      g_free(p);
    }
  assert_str_free(all(fx->store), "k[60,120]=c k[200,210]=d");
  /* expired by end: dropped, not logged */
  guint sent = fx->sink.recs->len;
  put(fx, "j", 0, 110, "late");
  settle(fx);
  g_assert_cmpuint(fx->sink.recs->len, ==, sent);
  brook_session_store_stats(fx->store, &st);
  g_assert_cmpuint(st.expired_drops, ==, 1);
  put(fx, "j", 0, 111, "ok"); /* a long session that started long ago is fine */
  assert_str_free(all(fx->store), "j[0,111]=ok k[60,120]=c k[200,210]=d");
}

/* One session-window aggregation step: count records per session with the
 * merge API, as a DSL aggregate would. */
static void count_record(fixture_t *fx, const char *key, int64_t ts, int64_t gap) {
  brook_session_merge_t *m = NULL;
  g_assert_cmpint(brook_session_store_merge_begin(fx->store, key, strlen(key), ts, gap, &m, fx->errstr,
                                                  sizeof fx->errstr),
                  ==, 0);
  int64_t count = 1;
  for (size_t i = 0; i < brook_session_merge_count(m); i++) {
    const void *v;
    size_t vlen;
    brook_session_merge_session(m, i, NULL, NULL, &v, &vlen);
    g_assert_cmpuint(vlen, ==, 8);
    count += brook_serde_get_i64(v);
  }
  uint8_t buf[8];
  brook_serde_put_i64(buf, count);
  g_assert_cmpint(brook_session_merge_commit(m, buf, 8, fx->errstr, sizeof fx->errstr), ==, 0);
}

static char *counts(brook_session_store_t *store) {
  brook_session_iter_t *it = NULL;
  char errstr[256];
  g_assert_cmpint(brook_session_store_fetch_range(store, NULL, 0, NULL, 0, &it, errstr, sizeof errstr), ==,
                  0);
  GString *out = g_string_new(NULL);
  while (brook_session_iter_next(it)) {
    size_t klen, vlen;
    const char *k = brook_session_iter_key(it, &klen);
    const void *v = brook_session_iter_value(it, &vlen);
    g_string_append_printf(out, "%s%.*s[%" PRId64 ",%" PRId64 "]=%" PRId64, out->len ? " " : "", (int)klen, k,
                           brook_session_iter_start(it), brook_session_iter_end(it), brook_serde_get_i64(v));
  }
  brook_session_iter_destroy(it);
  return g_string_free(out, FALSE);
}

static void test_merge(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  /* a first record: nothing to merge, session [t, t] */
  brook_session_merge_t *m = NULL;
  g_assert_cmpint(
      brook_session_store_merge_begin(fx->store, "k", 1, 100, 10, &m, fx->errstr, sizeof fx->errstr), ==, 0);
  g_assert_cmpuint(brook_session_merge_count(m), ==, 0);
  g_assert_cmpint(brook_session_merge_start(m), ==, 100);
  g_assert_cmpint(brook_session_merge_end(m), ==, 100);
  g_assert_cmpint(brook_session_merge_commit(m, "1", 1, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(all(fx->store), "k[100,100]=1");

  /* within the gap after it: extends to [100, 108]; the old session goes */
  guint before = fx->sink.recs->len;
  g_assert_cmpint(
      brook_session_store_merge_begin(fx->store, "k", 1, 108, 10, &m, fx->errstr, sizeof fx->errstr), ==, 0);
  g_assert_cmpuint(brook_session_merge_count(m), ==, 1);
  int64_t s, e;
  const void *v;
  size_t vlen;
  brook_session_merge_session(m, 0, &s, &e, &v, &vlen);
  g_assert_cmpint(s, ==, 100);
  g_assert_cmpint(e, ==, 100);
  g_assert_cmpmem(v, vlen, "1", 1);
  g_assert_cmpint(brook_session_merge_start(m), ==, 100);
  g_assert_cmpint(brook_session_merge_end(m), ==, 108);
  g_assert_cmpint(brook_session_merge_commit(m, "2", 1, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(all(fx->store), "k[100,108]=2");
  g_assert_cmpuint(fx->sink.recs->len, ==, before + 2); /* tombstone for [100,100], then [100,108] */
  g_assert_null(((rec_t *)fx->sink.recs->pdata[before])->value);

  /* inside the session: the merged window is the session itself, overwritten,
   * no tombstone */
  before = fx->sink.recs->len;
  g_assert_cmpint(
      brook_session_store_merge_begin(fx->store, "k", 1, 104, 10, &m, fx->errstr, sizeof fx->errstr), ==, 0);
  g_assert_cmpuint(brook_session_merge_count(m), ==, 1);
  g_assert_cmpint(brook_session_merge_commit(m, "3", 1, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(all(fx->store), "k[100,108]=3");
  g_assert_cmpuint(fx->sink.recs->len, ==, before + 1);

  /* a record bridging two sessions merges both */
  put(fx, "k", 125, 130, "x");
  put(fx, "j", 115, 115, "other key");
  g_assert_cmpint(
      brook_session_store_merge_begin(fx->store, "k", 1, 117, 10, &m, fx->errstr, sizeof fx->errstr), ==, 0);
  g_assert_cmpuint(brook_session_merge_count(m), ==, 2);
  g_assert_cmpint(brook_session_merge_start(m), ==, 100);
  g_assert_cmpint(brook_session_merge_end(m), ==, 130);
  g_assert_cmpint(brook_session_merge_commit(m, "4", 1, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(all(fx->store), "j[115,115]=other key k[100,130]=4");

  /* abort changes nothing */
  g_assert_cmpint(
      brook_session_store_merge_begin(fx->store, "k", 1, 135, 10, &m, fx->errstr, sizeof fx->errstr), ==, 0);
  g_assert_cmpuint(brook_session_merge_count(m), ==, 1);
  brook_session_merge_abort(m);
  brook_session_merge_abort(NULL);
  assert_str_free(all(fx->store), "j[115,115]=other key k[100,130]=4");
}

static void test_session_count(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  /* gap 5: 0,2,4 → [0,4]; 20 → [20,20]; 12 → [12,12] (7..17 touches neither);
   * 16 → overlaps [12,12] and [20,20] → [12,20]; "b" is separate. */
  static const int64_t ts[] = {0, 2, 4, 20, 12, 16};
  for (size_t i = 0; i < G_N_ELEMENTS(ts); i++) count_record(fx, "a", ts[i], 5);
  count_record(fx, "b", 3, 5);
  assert_str_free(counts(fx->store), "a[0,4]=3 a[12,20]=3 b[3,3]=1");
}

static void test_changelog(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  g_assert_cmpstr(brook_session_store_changelog_topic(fx->store), ==, "app-sess-changelog");
  put(fx, "k", 5, 10, "v");
  g_assert_cmpint(brook_session_store_remove(fx->store, "k", 1, 5, 10, fx->errstr, sizeof fx->errstr), ==, 0);
  g_assert_cmpuint(fx->sink.recs->len, ==, 2);
  rec_t *r = fx->sink.recs->pdata[0];
  g_assert_cmpstr(r->topic, ==, "app-sess-changelog");
  g_assert_cmpint(r->partition, ==, 2);
  /* SessionKeySchema.toBinary("k", start 5, end 10): key | end | start */
  g_assert_cmpmem(g_bytes_get_data(r->key, NULL), g_bytes_get_size(r->key),
                  "k"
                  "\0\0\0\0\0\0\0\x0a"
                  "\0\0\0\0\0\0\0\x05",
                  17);
  g_assert_cmpint(r->ts, ==, 10);
  size_t klen;
  int64_t start, end;
  g_assert_true(brook_session_store_key_decode(g_bytes_get_data(r->key, NULL), 17, &klen, &start, &end));
  g_assert_cmpuint(klen, ==, 1);
  g_assert_cmpint(start, ==, 5);
  g_assert_cmpint(end, ==, 10);
  g_assert_false(brook_session_store_key_decode("short", 5, NULL, NULL, NULL));
  g_assert_null(((rec_t *)fx->sink.recs->pdata[1])->value);
}

static void test_sink_failure(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  count_record(fx, "k", 10, 5);
  fx->sink.fail = BROOK_ERR__NOSPC;
  brook_session_merge_t *m = NULL;
  g_assert_cmpint(
      brook_session_store_merge_begin(fx->store, "k", 1, 12, 5, &m, fx->errstr, sizeof fx->errstr), ==, 0);
  g_assert_cmpint(brook_session_merge_commit(m, "x", 1, fx->errstr, sizeof fx->errstr), ==, BROOK_ERR__NOSPC);
  fx->sink.fail = 0;
  assert_str_free(counts(fx->store), "k[10,10]=1");
}

static void test_restore(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 300;
  fx->opts.segment_interval_ms = 100;
  fx_open(fx);
  GRand *rnd = g_rand_new_with_seed(7);
  for (int i = 0; i < 500; i++) {
    char key[8];
    g_snprintf(key, sizeof key, "k%d", g_rand_int_range(rnd, 0, 6));
    int64_t ts = i * 2 - g_rand_int_range(rnd, 0, 30);
    if (ts < 0) ts = 0;
    if (g_rand_int_range(rnd, 0, 8) == 0) {
      put(fx, key, ts, ts + g_rand_int_range(rnd, 0, 20), NULL);
    } else {
      brook_session_merge_t *m = NULL;
      g_assert_cmpint(brook_session_store_merge_begin(fx->store, key, strlen(key), ts, 6, &m, fx->errstr,
                                                      sizeof fx->errstr),
                      ==, 0);
      char val[16];
      g_snprintf(val, sizeof val, "v%d", i);
      g_assert_cmpint(brook_session_merge_commit(m, val, strlen(val), fx->errstr, sizeof fx->errstr), ==, 0);
    }
  }
  g_rand_free(rnd);
  settle(fx);
  char *want = all(fx->store);
  g_assert_cmpstr(want, !=, "");
  brook_session_store_stats_t st_a, st_b;
  brook_session_store_stats(fx->store, &st_a);

  brook_session_store_opts_t o2 = fx->opts;
  o2.store.name = "sess2";
  o2.store.logged = false;
  brook_session_store_t *b = NULL;
  g_assert_cmpint(brook_session_store_open(fx->env, fx->dir, &o2, &b, fx->errstr, sizeof fx->errstr), ==, 0);
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
  for (guint i = 0; i < recs->len; i += 11)
    g_assert_cmpint(
        brook_session_store_restore(b, &g_array_index(recs, brook_changelog_record_t, i),
                                    MIN(11, recs->len - i), recs->len, &prog, fx->errstr, sizeof fx->errstr),
        ==, 0);
  g_assert_cmpuint(prog.records_restored, ==, recs->len);
  assert_str_free(all(b), want);
  brook_session_store_stats(b, &st_b);
  g_assert_cmpint(st_b.stream_time, ==, st_a.stream_time);
  g_assert_cmpuint(st_b.segments, ==, st_a.segments);
  brook_changelog_record_t bad = {
      .key = "0123456789abcde", .key_len = 15, .value = "x", .value_len = 1, .offset = 9};
  g_assert_cmpint(brook_session_store_restore(b, &bad, 1, -1, NULL, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__MALFORMED);
  g_assert_nonnull(strstr(fx->errstr, "16-byte"));
  brook_session_store_close(b);
  g_array_free(recs, TRUE);

  /* RocksDB: a reopened store has the same sessions, once committed. */
  if (!fx->in_memory) {
    g_assert_cmpint(brook_session_store_flush(fx->store, fx->errstr, sizeof fx->errstr), ==, 0);
    brook_session_store_set_offset(fx->store, fx->sink.recs->len);
    brook_session_store_close(fx->store);
    fx->store = NULL;
    fx_open(fx);
    g_assert_false(brook_session_store_was_wiped(fx->store));
    g_assert_cmpint(brook_session_store_restore_start(fx->store), ==, fx->sink.recs->len);
    assert_str_free(all(fx->store), want);
    /* without the checkpoint entry the next open wipes */
    brook_task_dir_checkpoint_set(fx->dir, "app-sess-changelog", 2, -1);
    brook_session_store_close(fx->store);
    fx->store = NULL;
    fx_open(fx);
    g_assert_true(brook_session_store_was_wiped(fx->store));
    assert_str_free(all(fx->store), "");
  }
  g_free(want);
}

/* With a cache: merges see cached sessions, the changelog gets only what
 * survives to the flush (a tombstone only for sessions the store had). */
static void test_cache_merge(fixture_t *fx, gconstpointer data) {
  fx_open(fx);
  count_record(fx, "k", 10, 5); /* [10,10] */
  settle(fx);
  guint before = fx->sink.recs->len;
  count_record(fx, "k", 12, 5); /* [10,12]: removes the stored [10,10] */
  count_record(fx, "k", 14, 5); /* [10,14]: removes the cached [10,12] */
  count_record(fx, "k", 16, 5); /* [10,16] */
  g_assert_cmpuint(fx->sink.recs->len, ==, before);
  assert_str_free(counts(fx->store), "k[10,16]=4");
  char *fs = fetch_session(fx, "k", 10, 10);
  g_assert_null(fs); /* the cached delete hides the stored session */
  settle(fx);
  /* [10,10] tombstone, [10,12] and [10,14] collapsed into nothing but tombstones
   * of never-stored keys, [10,16] the value */
  guint tombstones = 0, values = 0;
  for (guint i = before; i < fx->sink.recs->len; i++)
    if (((rec_t *)fx->sink.recs->pdata[i])->value)
      values++;
    else
      tombstones++;
  g_assert_cmpuint(values, ==, 1);
  g_assert_cmpuint(tombstones, ==, 3);
  assert_str_free(counts(fx->store), "k[10,16]=4");
}

/* ---- read-only views ---- */

/* The owner counts records of key "s" every 50 ms with gap 100, so the one
 * session keeps growing: each merge removes it (old end, often an older
 * segment) and puts the merged one (new end). Retention is short, so segments
 * roll and drop. A view must always see exactly one session of "s" once the
 * first exists, with a count that never goes down. */
#define VIEW_STEPS 600

typedef struct view_reader {
  brook_session_view_t *view;
  volatile gint stop;
  gint scans, torn, errors;
  gint64 last_count;
} view_reader_t;

static gpointer view_reader_main(gpointer p) {
  view_reader_t *r = p;
  char errstr[256];
  for (int n = 0; !g_atomic_int_get(&r->stop); n++) {
    brook_session_iter_t *it = NULL;
    brook_err_t err =
        n % 2 ? brook_session_view_find_sessions(r->view, "s", 1, 0, INT64_MAX, &it, errstr, sizeof errstr)
              : brook_session_view_fetch(r->view, "s", 1, &it, errstr, sizeof errstr);
    if (err) {
      g_atomic_int_inc(&r->errors);
      continue;
    }
    int found = 0;
    int64_t start = -1, end = -1, count = 0;
    while (brook_session_iter_next(it)) {
      if (found == 0 && n % 8 == 0) g_usleep(300); /* let the owner merge and drop under us */
      size_t vlen;
      const void *v = brook_session_iter_value(it, &vlen);
      g_assert_cmpuint(vlen, ==, 8);
      count = brook_serde_get_i64(v);
      start = brook_session_iter_start(it);
      end = brook_session_iter_end(it);
      found++;
    }
    if (brook_session_iter_error(it, NULL, 0)) g_atomic_int_inc(&r->errors);
    brook_session_iter_destroy(it);
    if (found == 0 && r->last_count > 0) g_atomic_int_inc(&r->torn); /* removed, merged one not there */
    if (found > 1) g_atomic_int_inc(&r->torn);                       /* merged one and an old one */
    if (found == 1) {
      /* count records at 0, 50, ..., end: start 0, and the count matches the end */
      if (start != 0 || count != end / 50 + 1 || count < r->last_count) g_atomic_int_inc(&r->torn);
      r->last_count = count;
      void *v = NULL;
      size_t vlen = 0;
      err = brook_session_view_fetch_session(r->view, "s", 1, start, end, &v, &vlen, errstr, sizeof errstr);
      /* a later merge may have replaced it: then absent, never something else */
      if (err == BROOK_ERR_NONE) {
        if (vlen != 8 || brook_serde_get_i64(v) != count) g_atomic_int_inc(&r->torn);
        free(v);
      } else if (err != BROOK_ERR__NOENT) {
        g_atomic_int_inc(&r->errors);
      }
    }
    g_atomic_int_inc(&r->scans);
  }
  return NULL;
}

static void test_view_concurrent(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 1000;
  fx->opts.segment_interval_ms = 250;
  fx_open(fx);
  view_reader_t r = {.view = brook_session_store_view(fx->store)};
  GThread *th = g_thread_new("view-reader", view_reader_main, &r);
  for (int i = 0; i < VIEW_STEPS; i++) {
    count_record(fx, "s", (int64_t)i * 50, 100);
    if (i % 100 == 0) g_usleep(1000);
  }
  gint scans = g_atomic_int_get(&r.scans);
  while (g_atomic_int_get(&r.scans) < scans + 3) g_usleep(100);
  g_atomic_int_set(&r.stop, 1);
  g_thread_join(th);
  brook_session_store_stats_t st;
  brook_session_store_stats(fx->store, &st);
  g_assert_cmpuint(st.segments, <=, 1000 / 250 + 2); /* old segments were dropped */
  g_assert_cmpint(r.torn, ==, 0);
  g_assert_cmpint(r.errors, ==, 0);
  g_assert_cmpint(r.last_count, ==, VIEW_STEPS);
  brook_session_view_destroy(r.view);
}

/* Iterators keep their image; the cache is not seen; after close: _STATE. */
static void test_view_snapshot_and_close(fixture_t *fx, gconstpointer data) {
  fx->opts.retention_ms = 100;
  fx->opts.segment_interval_ms = 50;
  fx_open(fx);
  put(fx, "a", 0, 10, "1");
  put(fx, "b", 5, 60, "2");
  settle(fx);
  brook_session_view_t *view = brook_session_store_view(fx->store);
  brook_session_iter_t *it = NULL;
  g_assert_cmpint(brook_session_view_find_sessions_range(view, NULL, 0, NULL, 0, 0, INT64_MAX, &it,
                                                         fx->errstr, sizeof fx->errstr),
                  ==, 0);
  put(fx, "a", 0, 20, "3");
  put(fx, "z", 300, 300, "late"); /* drops the old segments */
  char *p0 = seg_path(fx, 0);
  if (!fx->in_memory) g_assert_true(g_file_test(p0, G_FILE_TEST_IS_DIR));
  assert_str_free(drain(it), "a[0,10]=1 b[5,60]=2");
  g_assert_false(g_file_test(p0, G_FILE_TEST_EXISTS));
  g_free(p0);
  void *v = NULL;
  size_t vlen = 0;
  g_assert_cmpint(
      brook_session_view_fetch_session(view, "z", 1, 300, 300, &v, &vlen, fx->errstr, sizeof fx->errstr), ==,
      fx->cached ? BROOK_ERR__NOENT : BROOK_ERR_NONE); /* cached: not flushed yet */
  free(v);
  v = NULL;
  settle(fx);
  g_assert_cmpint(brook_session_view_fetch(view, "z", 1, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(drain(it), "z[300,300]=late");
  g_assert_cmpint(brook_session_view_fetch(view, "a", 1, &it, fx->errstr, sizeof fx->errstr), ==, 0);
  assert_str_free(drain(it), ""); /* expired */

  g_assert_cmpint(
      brook_session_view_find_sessions(view, "z", 1, 0, INT64_MAX, &it, fx->errstr, sizeof fx->errstr), ==,
      0);
  g_assert_true(brook_session_iter_next(it));
  brook_session_store_close(fx->store);
  fx->store = NULL;
  g_assert_cmpint(brook_session_iter_end(it), ==, 300); /* its copy stays valid */
  g_assert_false(brook_session_iter_next(it));
  g_assert_cmpint(brook_session_iter_error(it, NULL, 0), ==, BROOK_ERR__STATE);
  brook_session_iter_destroy(it);
  g_assert_cmpint(
      brook_session_view_fetch_session(view, "z", 1, 300, 300, &v, &vlen, fx->errstr, sizeof fx->errstr), ==,
      BROOK_ERR__STATE);
  it = (brook_session_iter_t *)1;
  g_assert_cmpint(brook_session_view_fetch(view, "z", 1, &it, fx->errstr, sizeof fx->errstr), ==,
                  BROOK_ERR__STATE);
  g_assert_null(it);
  g_assert_cmpint(brook_session_view_find_sessions(view, "z", 1, 0, 10, &it, fx->errstr, sizeof fx->errstr),
                  ==, BROOK_ERR__STATE);
  g_assert_cmpint(
      brook_session_view_find_sessions_range(view, "a", 1, "b", 1, 0, 10, &it, fx->errstr, sizeof fx->errstr),
      ==, BROOK_ERR__STATE);
  brook_session_view_destroy(view);
  brook_session_view_destroy(NULL);
}

static void add(const char *name, void (*fn)(fixture_t *, gconstpointer)) {
  for (int mem = 0; mem < 2; mem++) {
    char *path = g_strdup_printf("/state/session/%s/%s", mem ? "memory" : "rocksdb", name);
    g_test_add(path, fixture_t, GINT_TO_POINTER(mem), fx_setup, fn, fx_teardown);
    g_free(path);
  }
}

static void add_cached(const char *name, void (*fn)(fixture_t *, gconstpointer)) {
  for (int mem = 0; mem < 2; mem++) {
    char *path = g_strdup_printf("/state/session/%s-cached/%s", mem ? "memory" : "rocksdb", name);
    g_test_add(path, fixture_t, GINT_TO_POINTER(mem | 4), fx_setup, fn, fx_teardown);
    g_free(path);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  add("put-fetch-remove", test_put_fetch_remove);
  add("find-sessions", test_find_sessions);
  add("prefix-keys", test_prefix_keys);
  add("retention", test_retention);
  add("merge", test_merge);
  add("session-count", test_session_count);
  add("changelog", test_changelog);
  add("sink-failure", test_sink_failure);
  add("restore", test_restore);
  add("view-concurrent", test_view_concurrent);
  add("view-snapshot-close", test_view_snapshot_and_close);
  add_cached("view-snapshot-close", test_view_snapshot_and_close);
  add_cached("put-fetch-remove", test_put_fetch_remove);
  add_cached("find-sessions", test_find_sessions);
  add_cached("prefix-keys", test_prefix_keys);
  add_cached("retention", test_retention);
  add_cached("session-count", test_session_count);
  add_cached("restore", test_restore);
  add_cached("merge", test_cache_merge);
  return g_test_run();
}
