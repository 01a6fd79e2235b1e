/*
 * window_store.c — window stores on the segmented bytes store (segments.c).
 *
 * Design note
 * -----------
 * Store key = WindowKeySchema.toStoreKeyBinary (apache/kafka, streams/src/main/
 * java/org/apache/kafka/streams/state/internals/WindowKeySchema.java):
 *
 *     [key][start: i64 BE][seqnum: i32 BE]       segment timestamp = start
 *
 * The same bytes are the changelog key, so restore needs nothing else.
 *
 * Range scans and variable-length keys. Inside a segment keys sort bytewise,
 * so the entries of key "a" (61 | ts | seq) interleave with those of "a\0..."
 * and, for large timestamps, of "ab" (61 62 ...): a timestamp's first byte can
 * be any value up to 0x7f. No byte range contains exactly one key's windows, so
 * every scan is a superset range plus a filter that decodes each store key
 * (key = all but the last 12 bytes) and checks key and time bounds, as Kafka
 * Streams' WindowKeySchema.hasNextCondition does:
 *
 *   fetch(k, [tf, tt])          scan [k|tf|0, k|tt|0x7fffffff]  (exact bounds
 *                               for k; other keys inside are filtered out)
 *   fetch_range([kf, kt], ...)  scan [kf, max over prefixes p >= kf of kt of
 *                               p|tt|0x7fffffff] (state_seg_range_upper): a key
 *                               that is a proper prefix of kt, with a large
 *                               timestamp, sorts after kt itself.
 *   fetch_all / all             every key of the segments in [tf, tt].
 *
 * Segments searched: ids id(tf)..id(tt), with tf raised to the oldest visible
 * timestamp (stream time - retention + 1) like Kafka's getActualFrom.
 *
 * Duplicates (retain_duplicates): seqnum = (seqnum + 1) & 0x7fffffff before
 * every put, so each put is a distinct store key (RocksDBWindowStore.
 * maybeUpdateSeqnumForDups); deletes are no-ops. After a restore the counter
 * continues above the largest seqnum restored, so new duplicates of restored
 * windows do not overwrite them (Kafka Streams restarts at 0).
 *
 * Bounds: put/get O(log n); iterators O(entries scanned) with at most one
 * segment cursor open.
 *
 * Read-only views (brook_window_store_view): the same queries through
 * state_seg_view_iter_new / state_seg_view_get, which read the segments (not
 * the record cache) under the segmented store's read lock, on RocksDB
 * snapshots or copies (see "Views" in segments.c). The view keeps its own copy
 * of what a query needs (name, window size, duplicates) since it outlives the
 * store.
 *
 * @locality stream thread (the store's owner), except brook_window_view_*:
 * any thread.
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "brook_serde.h"
#include "brook_window_store.h"
#include "segments.h"
#include "state_int.h"

#define SUFFIX 12
#define TS_SIZE 8
#define SEQ_MAX INT32_MAX

struct brook_window_store {
  brook_state_env_t *env;
  state_seg_store_t *ss;
  char *name;
  int64_t interval;
  int64_t window_size;
  bool retain_dups;
  int32_t seqnum;
  GByteArray *kbuf; /* scratch store key */
};

struct brook_window_iter {
  state_seg_iter_t *si;
  int64_t window_size;
  const uint8_t *skey;
  size_t sklen;
};

/* ---- key layout ---- */

void brook_window_store_key_encode(const void *key, size_t key_len, int64_t window_start, int32_t seqnum,
                                   uint8_t *out) {
  if (key_len) memcpy(out, key, key_len);
  brook_serde_put_i64(out + key_len, window_start);
  brook_serde_put_i32(out + key_len + TS_SIZE, seqnum);
}

bool brook_window_store_key_decode(const void *store_key, size_t len, size_t *key_lenp,
                                   int64_t *window_startp, int32_t *seqnump) {
  if (len < SUFFIX) return false;
  const uint8_t *p = store_key;
  if (key_lenp) *key_lenp = len - SUFFIX;
  if (window_startp) *window_startp = brook_serde_get_i64(p + len - SUFFIX);
  if (seqnump) *seqnump = brook_serde_get_i32(p + len - 4);
  return true;
}

static const uint8_t *store_key(brook_window_store_t *store, const void *key, size_t key_len, int64_t ts,
                                int32_t seq) {
  g_byte_array_set_size(store->kbuf, (guint)(key_len + SUFFIX));
  brook_window_store_key_encode(key, key_len, ts, seq, store->kbuf->data);
  return store->kbuf->data;
}

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...) {
  if (!errstr || !errstr_size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errstr, errstr_size, fmt, ap);
  va_end(ap);
}

/* ---- open / close ---- */

brook_err_t brook_window_store_open(brook_state_env_t *env, brook_task_dir_t *dir,
                                    const brook_window_store_opts_t *opts, brook_window_store_t **storep,
                                    char *errstr, size_t errstr_size) {
  *storep = NULL;
  const char *name = opts->store.name;
  if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    set_err(errstr, errstr_size, "window store: invalid store name \"%s\"", name ? name : "(null)");
    return BROOK_ERR__BAD_CONFIG;
  }
  if (opts->retention_ms <= 0 || opts->segment_interval_ms < 0 || opts->window_size_ms < 0) {
    set_err(errstr, errstr_size,
            "window store %s: retention_ms must be > 0, segment_interval_ms and window_size_ms >= 0", name);
    return BROOK_ERR__BAD_CONFIG;
  }
  if (!opts->store.in_memory && !dir) {
    set_err(errstr, errstr_size, "window store %s: a persistent store needs a task directory", name);
    return BROOK_ERR__BAD_CONFIG;
  }
  int64_t interval = opts->segment_interval_ms;
  if (interval == 0) interval = MAX(opts->retention_ms / 2, 60000); /* Stores.persistentWindowStore */

  char *path = opts->store.in_memory ? NULL : state_task_dir_store_path(dir, name);
  state_seg_conf_t conf = {
      .name = name,
      .path = path,
      .in_memory = opts->store.in_memory,
      .retention_ms = opts->retention_ms,
      .interval_ms = interval,
      .suffix_len = SUFFIX,
      .kind = "window",
      .store = &opts->store,
      .dir = opts->store.in_memory ? NULL : dir,
      .cached = opts->store.cached && !opts->retain_duplicates,
  };
  state_seg_store_t *ss = NULL;
  brook_err_t err = state_seg_store_open(env, &conf, &ss, errstr, errstr_size);
  g_free(path);
  if (err) return err;
  if (opts->store.cached && opts->retain_duplicates)
    brook_log(BROOK_LOG_NOTICE, "state",
              "window store %s: no record cache with retain_duplicates (every put is "
              "kept, there is nothing to collapse)",
              name);

  brook_window_store_t *store = g_new0(brook_window_store_t, 1);
  store->env = env;
  store->ss = ss;
  store->name = g_strdup(name);
  store->interval = interval;
  store->window_size = opts->window_size_ms;
  store->retain_dups = opts->retain_duplicates;
  store->kbuf = g_byte_array_new();
  *storep = store;
  return BROOK_ERR_NONE;
}

void brook_window_store_close(brook_window_store_t *store) {
  if (!store) return;
  state_seg_store_close(store->ss);
  g_byte_array_unref(store->kbuf);
  g_free(store->name);
  g_free(store);
}

/* ---- writes ---- */

brook_err_t brook_window_store_put(brook_window_store_t *store, const void *key, size_t key_len,
                                   const void *value, size_t value_len, int64_t window_start, char *errstr,
                                   size_t errstr_size) {
  if (window_start < 0) {
    set_err(errstr, errstr_size, "window store %s: negative window start %" PRId64, store->name,
            window_start);
    return BROOK_ERR_INVALID_TIMESTAMP;
  }
  int32_t seq = 0;
  if (store->retain_dups) {
    if (!value) return BROOK_ERR_NONE; /* deleting one of several duplicates is meaningless */
    seq = (store->seqnum + 1) & SEQ_MAX;
  }
  const uint8_t *skey = store_key(store, key, key_len, window_start, seq);
  brook_err_t err = state_seg_store_put(store->ss, skey, key_len + SUFFIX, value, value_len, window_start,
                                        NULL, errstr, errstr_size);
  if (!err && store->retain_dups) store->seqnum = seq;
  return err;
}

brook_err_t brook_window_store_get(brook_window_store_t *store, const void *key, size_t key_len,
                                   int64_t window_start, void **valuep, size_t *value_lenp, char *errstr,
                                   size_t errstr_size) {
  *valuep = NULL;
  *value_lenp = 0;
  if (window_start < 0) return BROOK_ERR__NOENT;
  if (!store->retain_dups)
    return state_seg_store_get(store->ss, store_key(store, key, key_len, window_start, 0), key_len + SUFFIX,
                               valuep, value_lenp, errstr, errstr_size);
  brook_window_iter_t *it = NULL;
  brook_err_t err =
      brook_window_store_fetch(store, key, key_len, window_start, window_start, &it, errstr, errstr_size);
  if (err) return err;
  if (brook_window_iter_next(it)) {
    size_t vlen;
    const void *v = brook_window_iter_value(it, &vlen);
    void *copy = malloc(vlen ? vlen : 1);
    if (copy) {
      memcpy(copy, v, vlen);
      *valuep = copy;
      *value_lenp = vlen;
    } else {
      err = BROOK_ERR__NOMEM;
    }
  } else {
    err = brook_window_iter_error(it, errstr, errstr_size);
    if (!err) err = BROOK_ERR__NOENT;
  }
  brook_window_iter_destroy(it);
  return err;
}

/* ---- queries ---- */

/* Filter context: one allocation, the bound keys follow the struct. */
typedef struct wfilter {
  const uint8_t *from, *to; /* NULL = unbounded */
  size_t from_len, to_len;
  int64_t tf, tt;
  bool exact; /* from == to: one key */
} wfilter_t;

static bool wfilter_accept(void *ctx, const uint8_t *skey, size_t sklen) {
  const wfilter_t *f = ctx;
  if (sklen < SUFFIX) return false; /* not ours; cannot happen with our own writes */
  size_t klen = sklen - SUFFIX;
  int64_t ts = brook_serde_get_i64(skey + klen);
  if (ts < f->tf || ts > f->tt) return false;
  if (f->exact) return klen == f->from_len && (klen == 0 || memcmp(skey, f->from, klen) == 0);
  if (f->from && state_bytes_cmp(skey, klen, f->from, f->from_len) < 0) return false;
  if (f->to && state_bytes_cmp(skey, klen, f->to, f->to_len) > 0) return false;
  return true;
}

static wfilter_t *wfilter_new(const void *from, size_t from_len, const void *to, size_t to_len, int64_t tf,
                              int64_t tt) {
  wfilter_t *f = g_malloc(sizeof(*f) + (from ? from_len : 0) + (to ? to_len : 0));
  uint8_t *p = (uint8_t *)(f + 1);
  *f = (wfilter_t){NULL, NULL, from_len, to_len, tf, tt, false};
  if (from) {
    if (from_len) memcpy(p, from, from_len);
    f->from = p;
    p += from_len;
  }
  if (to) {
    if (to_len) memcpy(p, to, to_len);
    f->to = p;
  }
  return f;
}

static uint8_t *dup_or_empty(const void *p, size_t n) { return g_memdup2(n ? p : "", n ? n : 1); }

/* The one query behind every fetch variant. from/to NULL = unbounded key side;
 * exact = single-key fetch (from == to). */
/* Where a query reads: the store (owner thread) or a view (any thread; the
 * view clamps tf to the oldest visible timestamp itself, under its lock). */
typedef struct source {
  state_seg_store_t *ss;
  state_seg_view_t *view;
  const char *name;
  int64_t window_size;
} source_t;

static state_seg_iter_t *source_iter(const source_t *src, int64_t tf, int64_t tt, uint8_t *lower,
                                     size_t lower_len, uint8_t *upper, size_t upper_len, bool backward,
                                     wfilter_t *f) {
  if (src->view)
    return state_seg_view_iter_new(src->view, tf, tt, lower, lower_len, upper, upper_len, backward,
                                   wfilter_accept, f, g_free);
  return state_seg_iter_new(src->ss, tf, tt, lower, lower_len, upper, upper_len, backward, wfilter_accept, f,
                            g_free);
}

static brook_err_t query_src(const source_t *src, const void *from, size_t from_len, const void *to,
                             size_t to_len, bool exact, int64_t tf, int64_t tt, bool backward,
                             brook_window_iter_t **iterp, char *errstr, size_t errstr_size) {
  if (!src->view) {
    int64_t min_visible = state_seg_store_min_visible(src->ss);
    if (tf < min_visible) tf = min_visible;
  } else if (tf < 0) {
    tf = 0;
  }
  brook_window_iter_t *it = g_new0(brook_window_iter_t, 1);
  it->window_size = src->window_size;
  *iterp = it;

  bool empty = tt < tf;
  if (!exact && from && to && state_bytes_cmp(from, from_len, to, to_len) > 0) {
    brook_log(BROOK_LOG_WARNING, "state",
              "window store %s: key range with from > to returns no records (check the serde's ordering)",
              src->name);
    empty = true;
  }
  wfilter_t *f =
      exact ? wfilter_new(from, from_len, NULL, 0, tf, tt) : wfilter_new(from, from_len, to, to_len, tf, tt);
  f->exact = exact;
  if (empty) { /* an iterator over no segments */
    it->si = source_iter(src, 1, 0, NULL, 0, NULL, 0, backward, f);
    goto out;
  }

  uint8_t max_suffix[SUFFIX];
  brook_serde_put_i64(max_suffix, tt);
  brook_serde_put_i32(max_suffix + TS_SIZE, SEQ_MAX);
  uint8_t *lower = NULL, *upper = NULL;
  size_t lower_len = 0, upper_len = 0;
  if (exact) {
    lower_len = upper_len = from_len + SUFFIX;
    lower = g_malloc(lower_len);
    upper = g_malloc(upper_len + 1);
    brook_window_store_key_encode(from, from_len, tf, 0, lower);
    brook_window_store_key_encode(from, from_len, tt, SEQ_MAX, upper);
  } else {
    if (from) {
      lower = dup_or_empty(from, from_len);
      lower_len = from_len;
    }
    if (to) upper = state_seg_range_upper(from, from_len, to, to_len, max_suffix, SUFFIX, &upper_len);
  }
  it->si = source_iter(src, tf, tt, lower, lower_len, upper, upper_len, backward, f);
out:;
  brook_err_t err = state_seg_iter_error(it->si, errstr, errstr_size); /* a view of a closed store */
  if (err) {
    brook_window_iter_destroy(it);
    *iterp = NULL;
  }
  return err;
}

static brook_err_t query(brook_window_store_t *store, const void *from, size_t from_len, const void *to,
                         size_t to_len, bool exact, int64_t tf, int64_t tt, bool backward,
                         brook_window_iter_t **iterp) {
  source_t src = {store->ss, NULL, store->name, store->window_size};
  return query_src(&src, from, from_len, to, to_len, exact, tf, tt, backward, iterp, NULL, 0);
}

brook_err_t brook_window_store_fetch(brook_window_store_t *store, const void *key, size_t key_len,
                                     int64_t time_from, int64_t time_to, brook_window_iter_t **iterp,
                                     char *errstr, size_t errstr_size) {
  return query(store, key, key_len, key, key_len, true, time_from, time_to, false, iterp);
}

brook_err_t brook_window_store_fetch_range(brook_window_store_t *store, const void *key_from, size_t from_len,
                                           const void *key_to, size_t to_len, int64_t time_from,
                                           int64_t time_to, brook_window_iter_t **iterp, char *errstr,
                                           size_t errstr_size) {
  return query(store, key_from, from_len, key_to, to_len, false, time_from, time_to, false, iterp);
}

brook_err_t brook_window_store_fetch_all(brook_window_store_t *store, int64_t time_from, int64_t time_to,
                                         brook_window_iter_t **iterp, char *errstr, size_t errstr_size) {
  return query(store, NULL, 0, NULL, 0, false, time_from, time_to, false, iterp);
}

brook_err_t brook_window_store_all(brook_window_store_t *store, brook_window_iter_t **iterp, char *errstr,
                                   size_t errstr_size) {
  return query(store, NULL, 0, NULL, 0, false, 0, INT64_MAX, false, iterp);
}

brook_err_t brook_window_store_backward_fetch(brook_window_store_t *store, const void *key, size_t key_len,
                                              int64_t time_from, int64_t time_to, brook_window_iter_t **iterp,
                                              char *errstr, size_t errstr_size) {
  return query(store, key, key_len, key, key_len, true, time_from, time_to, true, iterp);
}

brook_err_t brook_window_store_backward_fetch_range(brook_window_store_t *store, const void *key_from,
                                                    size_t from_len, const void *key_to, size_t to_len,
                                                    int64_t time_from, int64_t time_to,
                                                    brook_window_iter_t **iterp, char *errstr,
                                                    size_t errstr_size) {
  return query(store, key_from, from_len, key_to, to_len, false, time_from, time_to, true, iterp);
}

brook_err_t brook_window_store_backward_fetch_all(brook_window_store_t *store, int64_t time_from,
                                                  int64_t time_to, brook_window_iter_t **iterp, char *errstr,
                                                  size_t errstr_size) {
  return query(store, NULL, 0, NULL, 0, false, time_from, time_to, true, iterp);
}

brook_err_t brook_window_store_backward_all(brook_window_store_t *store, brook_window_iter_t **iterp,
                                            char *errstr, size_t errstr_size) {
  return query(store, NULL, 0, NULL, 0, false, 0, INT64_MAX, true, iterp);
}

/* ---- restore, flush, stats ---- */

brook_err_t brook_window_store_restore(brook_window_store_t *store, const brook_changelog_record_t *records,
                                       size_t n, int64_t end_offset, brook_restore_progress_t *progress,
                                       char *errstr, size_t errstr_size) {
  brook_err_t err = state_seg_store_restore(store->ss, records, n, end_offset, progress, errstr, errstr_size);
  if (err) return err;
  if (store->retain_dups) {
    for (size_t i = 0; i < n; i++) {
      int32_t seq = brook_serde_get_i32((const uint8_t *)records[i].key + records[i].key_len - 4);
      if (seq > store->seqnum) store->seqnum = seq;
    }
  }
  return BROOK_ERR_NONE;
}

void brook_window_store_restore_progress(const brook_window_store_t *store,
                                         brook_restore_progress_t *progress) {
  state_seg_store_restore_progress(store->ss, progress);
}

int64_t brook_window_store_restore_start(const brook_window_store_t *store) {
  return state_seg_store_restore_start(store->ss);
}

bool brook_window_store_was_wiped(const brook_window_store_t *store) {
  return state_seg_store_was_wiped(store->ss);
}

void brook_window_store_set_offset(brook_window_store_t *store, int64_t next_offset) {
  state_seg_store_set_offset(store->ss, next_offset);
}

void brook_window_store_set_flush_listener(brook_window_store_t *store,
                                           const brook_cache_flush_listener_t *listener) {
  state_seg_store_set_listener(store->ss, listener);
}

bool brook_window_store_is_cached(const brook_window_store_t *store) {
  return state_seg_store_is_cached(store->ss);
}

brook_err_t brook_window_store_flush(brook_window_store_t *store, char *errstr, size_t errstr_size) {
  return state_seg_store_flush(store->ss, errstr, errstr_size);
}

void brook_window_store_stats(const brook_window_store_t *store, brook_window_store_stats_t *stats) {
  stats->stream_time = state_seg_store_stream_time(store->ss);
  stats->segments = state_seg_store_segments(store->ss);
  stats->expired_drops = state_seg_store_expired_drops(store->ss);
  stats->segment_interval_ms = store->interval;
}

const char *brook_window_store_name(const brook_window_store_t *store) { return store->name; }
const char *brook_window_store_changelog_topic(const brook_window_store_t *store) {
  return state_seg_store_topic(store->ss);
}

/* ---- iterators ---- */

bool brook_window_iter_next(brook_window_iter_t *iter) {
  if (!state_seg_iter_next(iter->si)) {
    iter->skey = NULL;
    iter->sklen = 0;
    return false;
  }
  iter->skey = state_seg_iter_key(iter->si, &iter->sklen);
  return true;
}

const void *brook_window_iter_key(const brook_window_iter_t *iter, size_t *key_lenp) {
  *key_lenp = iter->sklen - SUFFIX;
  return iter->skey;
}

const void *brook_window_iter_value(const brook_window_iter_t *iter, size_t *value_lenp) {
  return state_seg_iter_value(iter->si, value_lenp);
}

int64_t brook_window_iter_start(const brook_window_iter_t *iter) {
  return brook_serde_get_i64(iter->skey + iter->sklen - SUFFIX);
}

int64_t brook_window_iter_end(const brook_window_iter_t *iter) {
  int64_t end;
  return __builtin_add_overflow(brook_window_iter_start(iter), iter->window_size, &end) ? INT64_MAX : end;
}

const void *brook_window_iter_store_key(const brook_window_iter_t *iter, size_t *lenp) {
  *lenp = iter->sklen;
  return iter->skey;
}

brook_err_t brook_window_iter_error(const brook_window_iter_t *iter, char *errstr, size_t errstr_size) {
  return state_seg_iter_error(iter->si, errstr, errstr_size);
}

void brook_window_iter_destroy(brook_window_iter_t *iter) {
  if (!iter) return;
  state_seg_iter_destroy(iter->si);
  g_free(iter);
}

/* ---- read-only views ---- */

struct brook_window_view {
  state_seg_view_t *sv;
  char *name;
  int64_t window_size;
  bool retain_dups;
};

brook_window_view_t *brook_window_store_view(brook_window_store_t *store) {
  brook_window_view_t *view = g_new0(brook_window_view_t, 1);
  view->sv = state_seg_store_view(store->ss);
  view->name = g_strdup(store->name);
  view->window_size = store->window_size;
  view->retain_dups = store->retain_dups;
  return view;
}

void brook_window_view_destroy(brook_window_view_t *view) {
  if (!view) return;
  state_seg_view_destroy(view->sv);
  g_free(view->name);
  g_free(view);
}

static source_t view_source(brook_window_view_t *view) {
  return (source_t){NULL, view->sv, view->name, view->window_size};
}

brook_err_t brook_window_view_fetch(brook_window_view_t *view, const void *key, size_t key_len,
                                    int64_t time_from, int64_t time_to, brook_window_iter_t **iterp,
                                    char *errstr, size_t errstr_size) {
  source_t src = view_source(view);
  return query_src(&src, key, key_len, key, key_len, true, time_from, time_to, false, iterp, errstr,
                   errstr_size);
}

brook_err_t brook_window_view_fetch_range(brook_window_view_t *view, const void *key_from, size_t from_len,
                                          const void *key_to, size_t to_len, int64_t time_from,
                                          int64_t time_to, brook_window_iter_t **iterp, char *errstr,
                                          size_t errstr_size) {
  source_t src = view_source(view);
  return query_src(&src, key_from, from_len, key_to, to_len, false, time_from, time_to, false, iterp, errstr,
                   errstr_size);
}

brook_err_t brook_window_view_fetch_all(brook_window_view_t *view, int64_t time_from, int64_t time_to,
                                        brook_window_iter_t **iterp, char *errstr, size_t errstr_size) {
  source_t src = view_source(view);
  return query_src(&src, NULL, 0, NULL, 0, false, time_from, time_to, false, iterp, errstr, errstr_size);
}

brook_err_t brook_window_view_get(brook_window_view_t *view, const void *key, size_t key_len,
                                  int64_t window_start, void **valuep, size_t *value_lenp, char *errstr,
                                  size_t errstr_size) {
  *valuep = NULL;
  *value_lenp = 0;
  if (!view->retain_dups) {
    if (window_start < 0) window_start = -1; /* no such window; still report a closed store */
    uint8_t *skey = g_malloc(key_len + SUFFIX);
    brook_window_store_key_encode(key, key_len, window_start, 0, skey);
    brook_err_t err =
        state_seg_view_get(view->sv, skey, key_len + SUFFIX, valuep, value_lenp, errstr, errstr_size);
    g_free(skey);
    return err;
  }
  brook_window_iter_t *it = NULL;
  brook_err_t err =
      brook_window_view_fetch(view, key, key_len, window_start, window_start, &it, errstr, errstr_size);
  if (err) return err;
  if (brook_window_iter_next(it)) {
    size_t vlen;
    const void *v = brook_window_iter_value(it, &vlen);
    void *copy = malloc(vlen ? vlen : 1);
    if (copy) {
      memcpy(copy, v, vlen);
      *valuep = copy;
      *value_lenp = vlen;
    } else {
      err = BROOK_ERR__NOMEM;
    }
  } else {
    err = brook_window_iter_error(it, errstr, errstr_size);
    if (!err) err = BROOK_ERR__NOENT;
  }
  brook_window_iter_destroy(it);
  return err;
}
