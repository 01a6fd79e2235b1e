/*
 * test-cache.c — the record cache: updates collapse between commits, LRU
 * eviction writes through and forwards, the budget is shared by the whole
 * application, range scans merge cache and store, write errors keep entries
 * dirty; and the generic state_cache_* API the window/session stores reuse.
 */
#include "state_int.h"
#include "state_test_util.h"

#define S(x) (x), strlen(x)

typedef struct fx {
  char *tmp;
  brook_state_env_t *env;
  brook_task_dir_t *dir;
  tu_sink_t sink;
  GString *fwd; /* forwarded records "key:old->new" */
} fx_t;

static void forward(void *opaque, const void *key, size_t key_len, const void *nv, size_t nvl, const void *ov,
                    size_t ovl, int64_t ts) {
  GString *log = opaque;
  if (log->len) g_string_append_c(log, ';');
  g_string_append_len(log, key, (gssize)key_len);
  g_string_append_c(log, ':');
  if (ov)
    g_string_append_len(log, ov, (gssize)ovl);
  else
    g_string_append_c(log, '-');
  g_string_append(log, "->");
  if (nv)
    g_string_append_len(log, nv, (gssize)nvl);
  else
    g_string_append_c(log, '-');
}

static void fx_init(fx_t *f, uint64_t cache_bytes) {
  f->tmp = tu_tmpdir();
  f->env = tu_env(f->tmp, "app", cache_bytes, 0);
  f->dir = tu_task_dir(f->env, "0_0");
  tu_sink_init(&f->sink);
  f->fwd = g_string_new("");
}

static void fx_fini(fx_t *f) {
  brook_task_dir_close(f->dir);
  brook_state_env_destroy(f->env);
  tu_sink_clear(&f->sink);
  g_string_free(f->fwd, TRUE);
  tu_rmdir(f->tmp);
}

static brook_kv_store_t *open_store(fx_t *f, const char *name, bool in_memory, tu_sink_t *sink) {
  brook_store_opts_t opts = {
      .name = name, .in_memory = in_memory, .logged = true, .cached = true, .sink = tu_sink(sink)};
  brook_kv_store_t *s = NULL;
  char errstr[256];
  g_assert_cmpint(brook_kv_store_open(f->env, f->dir, &opts, 0, &s, errstr, sizeof errstr), ==, 0);
  brook_cache_flush_listener_t l = {forward, f->fwd};
  brook_kv_store_set_flush_listener(s, &l);
  return s;
}

static char *rec_str(tu_rec_t *r) {
  return g_strdup_printf("%.*s=%.*s", (int)g_bytes_get_size(r->key),
                         (const char *)g_bytes_get_data(r->key, NULL),
                         r->value ? (int)g_bytes_get_size(r->value) : 1,
                         r->value ? (const char *)g_bytes_get_data(r->value, NULL) : "-");
}

static char *sink_str(tu_sink_t *s) {
  GString *g = g_string_new("");
  for (guint i = 0; i < s->recs->len; i++) {
    char *r = rec_str(s->recs->pdata[i]);
    if (g->len) g_string_append_c(g, ',');
    g_string_append(g, r);
    g_free(r);
  }
  return g_string_free(g, FALSE);
}

#define ASSERT_SINK(s, want)         \
  do {                               \
    char *got_ = sink_str(s);        \
    g_assert_cmpstr(got_, ==, want); \
    g_free(got_);                    \
  } while (0)

static void collapse(bool in_memory) {
  fx_t f;
  fx_init(&f, 1 << 20);
  brook_kv_store_t *s = open_store(&f, "counts", in_memory, &f.sink);
  g_assert_true(brook_kv_store_is_cached(s));
  char v[16];
  for (int i = 0; i < 1000; i++) {
    g_snprintf(v, sizeof v, "%d", i);
    g_assert_cmpint(brook_kv_store_put(s, S("k"), S(v), i), ==, 0);
  }
  g_assert_cmpuint(f.sink.recs->len, ==, 0); /* nothing leaves before the commit */
  g_assert_cmpstr(f.fwd->str, ==, "");
  const void *got;
  size_t gl;
  g_assert_cmpint(brook_kv_store_get(s, S("k"), &got, &gl, NULL), ==, 0);
  g_assert_cmpmem(got, gl, "999", 3);
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  ASSERT_SINK(&f.sink, "k=999"); /* N updates → 1 changelog record */
  g_assert_cmpint(((tu_rec_t *)f.sink.recs->pdata[0])->ts, ==, 999);
  g_assert_cmpstr(f.fwd->str, ==, "k:-->999");
  /* second commit: old value is what the first one wrote */
  for (int i = 1000; i < 1010; i++) {
    g_snprintf(v, sizeof v, "%d", i);
    g_assert_cmpint(brook_kv_store_put(s, S("k"), S(v), i), ==, 0);
  }
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  ASSERT_SINK(&f.sink, "k=999,k=1009");
  g_assert_cmpstr(f.fwd->str, ==, "k:-->999;k:999->1009");
  /* put then delete inside one commit: a single tombstone */
  g_assert_cmpint(brook_kv_store_put(s, S("k"), S("x"), 1), ==, 0);
  g_assert_cmpint(brook_kv_store_delete(s, S("k"), 2, NULL, NULL), ==, 0);
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  ASSERT_SINK(&f.sink, "k=999,k=1009,k=-");
  /* an empty flush writes nothing */
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  g_assert_cmpuint(f.sink.recs->len, ==, 3);
  brook_kv_store_close(s);
  fx_fini(&f);
}

static void t_collapse_rocksdb(void) { collapse(false); }
static void t_collapse_memory(void) { collapse(true); }

/* Entry cost in the cache: key + value + 112 bytes overhead (cache.c). Keys
 * "kNN" and values "vNN" cost 118 bytes; a budget of 10 x 118 holds ten. */
#define COST 118

static void t_evict_lru(void) {
  fx_t f;
  fx_init(&f, 10 * COST);
  brook_kv_store_t *s = open_store(&f, "lru", false, &f.sink);
  char k[8], v[8];
  for (int i = 0; i < 10; i++) {
    g_snprintf(k, sizeof k, "k%02d", i);
    g_snprintf(v, sizeof v, "v%02d", i);
    g_assert_cmpint(brook_kv_store_put(s, S(k), S(v), i), ==, 0);
  }
  g_assert_cmpuint(f.sink.recs->len, ==, 0); /* ten fit */
  const void *got;
  size_t gl;
  g_assert_cmpint(brook_kv_store_get(s, S("k00"), &got, &gl, NULL), ==, 0); /* k00 now most recently used */
  g_assert_cmpint(brook_kv_store_put(s, S("k10"), S("v10"), 10), ==, 0);
  ASSERT_SINK(&f.sink, "k01=v01"); /* the least recently used, written through */
  g_assert_cmpstr(f.fwd->str, ==, "k01:-->v01");
  g_assert_cmpint(brook_kv_store_put(s, S("k11"), S("v11"), 11), ==, 0);
  ASSERT_SINK(&f.sink, "k01=v01,k02=v02");
  g_assert_cmpstr(f.fwd->str, ==, "k01:-->v01;k02:-->v02");
  /* evicted entries are in the store: reads still see them */
  g_assert_cmpint(brook_kv_store_get(s, S("k01"), &got, &gl, NULL), ==, 0);
  g_assert_cmpmem(got, gl, "v01", 3);
  /* the commit writes the rest, in the order they became dirty */
  g_string_truncate(f.fwd, 0);
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  g_assert_cmpuint(f.sink.recs->len, ==, 12);
  char *all = sink_str(&f.sink);
  g_assert_nonnull(strstr(all, "k00=v00"));
  g_assert_nonnull(strstr(all, "k11=v11"));
  g_free(all);
  brook_kv_store_close(s);
  fx_fini(&f);
}

/* One budget for the application: a second store writing into a full budget
 * evicts its own entries (as Kafka's ThreadCache), never another store's. */
static void t_shared_budget(void) {
  fx_t f;
  fx_init(&f, 10 * COST);
  tu_sink_t sink_b;
  tu_sink_init(&sink_b);
  brook_kv_store_t *a = open_store(&f, "a", false, &f.sink);
  brook_kv_store_t *b = open_store(&f, "b", true, &sink_b);
  char k[8], v[8];
  for (int i = 0; i < 10; i++) {
    g_snprintf(k, sizeof k, "k%02d", i);
    g_snprintf(v, sizeof v, "v%02d", i);
    g_assert_cmpint(brook_kv_store_put(a, S(k), S(v), i), ==, 0);
  }
  g_assert_cmpint(brook_kv_store_put(b, S("b00"), S("x00"), 0), ==, 0);
  g_assert_cmpuint(f.sink.recs->len, ==, 0);
  ASSERT_SINK(&sink_b, "b00=x00");
  /* closing a releases its share: b caches again */
  brook_kv_store_close(a);
  g_assert_cmpuint(f.sink.recs->len, ==, 10); /* close flushed a's cache */
  g_assert_cmpint(brook_kv_store_put(b, S("b01"), S("x01"), 0), ==, 0);
  g_assert_cmpuint(sink_b.recs->len, ==, 1);
  brook_kv_store_close(b);
  tu_sink_clear(&sink_b);
  fx_fini(&f);
}

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
  brook_kv_iter_destroy(it);
  return g_string_free(s, FALSE);
}

#define ASSERT_SCAN(it, want)        \
  do {                               \
    char *got_ = scan(it);           \
    g_assert_cmpstr(got_, ==, want); \
    g_free(got_);                    \
  } while (0)

static void t_merge_range(void) {
  fx_t f;
  fx_init(&f, 1 << 20);
  brook_kv_store_t *s = open_store(&f, "m", false, &f.sink);
  const char *keys[] = {"a", "b", "c", "d"};
  for (int i = 0; i < 4; i++) g_assert_cmpint(brook_kv_store_put(s, S(keys[i]), S(keys[i]), 0), ==, 0);
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  /* now only in the cache: an update, a delete, new keys at both ends and between */
  g_assert_cmpint(brook_kv_store_put(s, S("b"), S("B2"), 1), ==, 0);
  g_assert_cmpint(brook_kv_store_delete(s, S("c"), 1, NULL, NULL), ==, 0);
  g_assert_cmpint(brook_kv_store_put(s, S("0"), S("zero"), 1), ==, 0);
  g_assert_cmpint(brook_kv_store_put(s, S("bb"), S("BB"), 1), ==, 0);
  g_assert_cmpint(brook_kv_store_put(s, S("e"), S("E"), 1), ==, 0);
  /* a clean cached read must not change what scans return */
  const void *got;
  size_t gl;
  g_assert_cmpint(brook_kv_store_get(s, S("d"), &got, &gl, NULL), ==, 0);
  g_assert_cmpint(brook_kv_store_get(s, S("zz"), &got, &gl, NULL), ==, BROOK_ERR__NOENT);
  ASSERT_SCAN(brook_kv_store_all(s, false), "0=zero,a=a,b=B2,bb=BB,d=d,e=E");
  ASSERT_SCAN(brook_kv_store_all(s, true), "e=E,d=d,bb=BB,b=B2,a=a,0=zero");
  ASSERT_SCAN(brook_kv_store_range(s, S("b"), S("d"), false), "b=B2,bb=BB");
  ASSERT_SCAN(brook_kv_store_range(s, S("b"), S("d"), true), "bb=BB,b=B2");
  ASSERT_SCAN(brook_kv_store_prefix(s, S("b")), "b=B2,bb=BB");
  /* views read the store, not the cache, until the commit */
  brook_kv_view_t *view = brook_kv_store_view(s);
  ASSERT_SCAN(brook_kv_view_all(view, false), "a=a,b=b,c=c,d=d");
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  ASSERT_SCAN(brook_kv_view_all(view, false), "0=zero,a=a,b=B2,bb=BB,d=d,e=E");
  ASSERT_SCAN(brook_kv_store_all(s, false), "0=zero,a=a,b=B2,bb=BB,d=d,e=E");
  brook_kv_view_destroy(view);
  brook_kv_store_close(s);
  fx_fini(&f);
}

static void t_write_error_keeps_dirty(void) {
  fx_t f;
  fx_init(&f, 3 * COST);
  brook_kv_store_t *s = open_store(&f, "err", false, &f.sink);
  f.sink.fail_after = 0; /* the changelog is down */
  g_assert_cmpint(brook_kv_store_put(s, S("k00"), S("v00"), 0), ==, 0);
  g_assert_cmpint(brook_kv_store_put(s, S("k01"), S("v01"), 0), ==, 0);
  g_assert_cmpint(brook_kv_store_put(s, S("k02"), S("v02"), 0), ==, 0);
  /* the fourth needs an eviction, whose write-through fails: reported, nothing lost */
  g_assert_cmpint(brook_kv_store_put(s, S("k03"), S("v03"), 0), ==, BROOK_ERR_NOT_ENOUGH_REPLICAS);
  g_assert_cmpint(brook_kv_store_flush(s), ==, BROOK_ERR_NOT_ENOUGH_REPLICAS);
  g_assert_cmpstr(f.fwd->str, ==, "");
  f.sink.fail_after = -1;
  g_assert_cmpint(brook_kv_store_flush(s), ==, 0);
  ASSERT_SINK(&f.sink, "k00=v00,k01=v01,k02=v02,k03=v03");
  brook_kv_store_close(s);
  fx_fini(&f);
}

static void t_disabled(void) {
  fx_t f;
  fx_init(&f, 0); /* statestore.cache.max.bytes = 0 */
  brook_kv_store_t *s = open_store(&f, "nocache", false, &f.sink);
  g_assert_false(brook_kv_store_is_cached(s));
  g_assert_cmpint(brook_kv_store_put(s, S("k"), S("1"), 0), ==, 0);
  g_assert_cmpint(brook_kv_store_put(s, S("k"), S("2"), 0), ==, 0);
  ASSERT_SINK(&f.sink, "k=1,k=2");
  g_assert_cmpstr(f.fwd->str, ==, "k:-->1;k:1->2");
  brook_kv_store_close(s);
  fx_fini(&f);
}

/* ---- the generic cache API ---- */

typedef struct gen {
  GString *log;
  int fail;
} gen_t;

static brook_err_t gen_write(void *opaque, const state_cache_dirty_t *e, size_t n, char *errstr,
                             size_t errstr_size) {
  gen_t *g = opaque;
  if (g->fail) {
    g_snprintf(errstr, errstr_size, "refused");
    return BROOK_ERR__IO;
  }
  g_string_append_c(g->log, '[');
  for (size_t i = 0; i < n; i++) {
    if (i) g_string_append_c(g->log, ',');
    g_string_append_len(g->log, e[i].key, (gssize)e[i].key_len);
    g_string_append_c(g->log, '=');
    if (e[i].value)
      g_string_append_len(g->log, e[i].value, (gssize)e[i].value_len);
    else
      g_string_append_c(g->log, '-');
    g_string_append_printf(g->log, "@%" G_GINT64_FORMAT, e[i].timestamp);
  }
  g_string_append_c(g->log, ']');
  return BROOK_ERR_NONE;
}

static void t_generic(void) {
  char *tmp = tu_tmpdir();
  brook_state_env_t *env = tu_env(tmp, "app", 4 * (112 + 4), 0); /* four 2+2-byte entries */
  gen_t g = {g_string_new(""), 0};
  state_cache_t *c = state_cache_new(env, "gen", gen_write, &g);
  char errstr[128];
  const void *v;
  size_t vl;
  int64_t ts;
  g_assert_false(state_cache_get(c, "k1", 2, &v, &vl, &ts));
  g_assert_cmpint(state_cache_put(c, "k1", 2, "v1", 2, 10, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(state_cache_put(c, "k2", 2, "v2", 2, 11, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(state_cache_put(c, "k1", 2, "w1", 2, 12, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(state_cache_put(c, "k3", 2, NULL, 0, 13, errstr, sizeof errstr), ==, 0);
  g_assert_true(state_cache_get(c, "k1", 2, &v, &vl, &ts));
  g_assert_cmpmem(v, vl, "w1", 2);
  g_assert_cmpint(ts, ==, 12);
  g_assert_true(state_cache_get(c, "k3", 2, &v, &vl, &ts));
  g_assert_null(v); /* a cached delete */
  g_assert_cmpuint(state_cache_entries(c), ==, 3);
  g_assert_cmpuint(state_cache_dirty_count(c), ==, 3);
  g_assert_cmpuint(state_cache_bytes(c), ==, 3 * 112 + 2 * 4 + 2);
  g_assert_cmpuint(state_env_cache_charge(env, 0), ==, state_cache_bytes(c));
  /* snapshot [k1, k3): k1, k2 */
  state_cache_snap_t snap;
  state_cache_snapshot(c, "k1", 2, "k3", 2, &snap);
  g_assert_cmpuint(snap.n, ==, 2);
  g_assert_cmpmem(snap.entries[1].key->data, snap.entries[1].key->len, "k2", 2);
  /* snapshots survive overwrites */
  g_assert_cmpint(state_cache_put(c, "k2", 2, "x2", 2, 14, errstr, sizeof errstr), ==, 0);
  g_assert_cmpmem(snap.entries[1].value->data, snap.entries[1].value->len, "v2", 2);
  state_cache_snap_clear(&snap);
  /* flush: one batch in first-dirtied order; deletes dropped afterwards */
  g_assert_cmpint(state_cache_flush(c, errstr, sizeof errstr), ==, 0);
  g_assert_cmpstr(g.log->str, ==, "[k1=w1@12,k2=x2@14,k3=-@13]");
  g_assert_cmpuint(state_cache_dirty_count(c), ==, 0);
  g_assert_cmpuint(state_cache_entries(c), ==, 2);
  /* clean entries are evicted silently; put_clean never writes */
  state_cache_put_clean(c, "c1", 2, "cc", 2, 0);
  state_cache_put_clean(c, "c2", 2, "cc", 2, 0);
  state_cache_put_clean(c, "c3", 2, "cc", 2, 0); /* over budget: the LRU clean one (k1) goes */
  g_assert_false(state_cache_get(c, "k1", 2, &v, &vl, &ts));
  g_assert_cmpstr(g.log->str, ==, "[k1=w1@12,k2=x2@14,k3=-@13]");
  /* a failing write keeps everything */
  g.fail = 1;
  for (int i = 0; i < 4; i++) {
    char k[3] = {'d', (char)('0' + i), 0};
    brook_err_t err = state_cache_put(c, k, 2, "dd", 2, i, errstr, sizeof errstr);
    g_assert_true(err == BROOK_ERR_NONE || err == BROOK_ERR__IO);
  }
  g_assert_cmpuint(state_cache_dirty_count(c), ==, 4);
  g.fail = 0;
  g_assert_cmpint(state_cache_flush(c, errstr, sizeof errstr), ==, 0);
  g_assert_cmpuint(state_cache_dirty_count(c), ==, 0);
  state_cache_clear(c);
  g_assert_cmpuint(state_cache_entries(c), ==, 0);
  g_assert_cmpuint(state_env_cache_charge(env, 0), ==, 0);
  state_cache_destroy(c);
  state_cache_destroy(NULL);
  g_string_free(g.log, TRUE);
  brook_state_env_destroy(env);
  tu_rmdir(tmp);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/state/cache/collapse/rocksdb", t_collapse_rocksdb);
  g_test_add_func("/state/cache/collapse/memory", t_collapse_memory);
  g_test_add_func("/state/cache/evict-lru", t_evict_lru);
  g_test_add_func("/state/cache/shared-budget", t_shared_budget);
  g_test_add_func("/state/cache/merge-range", t_merge_range);
  g_test_add_func("/state/cache/write-error-keeps-dirty", t_write_error_keeps_dirty);
  g_test_add_func("/state/cache/disabled", t_disabled);
  g_test_add_func("/state/cache/generic", t_generic);
  return g_test_run();
}
