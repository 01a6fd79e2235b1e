/*
 * session_store.c — session stores on the segmented bytes store (segments.c).
 *
 * Design note
 * -----------
 * Store key = SessionKeySchema.toBinary (apache/kafka, streams/src/main/java/
 * org/apache/kafka/streams/state/internals/SessionKeySchema.java):
 *
 *     [key][end: i64 BE][start: i64 BE]           segment timestamp = end
 *
 * and the changelog key is the same bytes.
 *
 * findSessions(k, earliest_end, latest_start) wants sessions with
 * end >= earliest_end and start <= latest_start. Since segments are by end,
 * every segment from id(earliest_end) on may hold hits (Kafka's
 * SessionKeySchema.segmentsToSearch(from, Long.MAX_VALUE)). Inside a segment:
 *
 *   one key k     scan [k|earliest_end|0, k|INT64_MAX|latest_start]
 *   range kf..kt  scan [kf, max over prefixes p >= kf of kt of
 *                       p|INT64_MAX|latest_start]   (state_seg_range_upper)
 *
 * and a filter decodes each key (all but the last 16 bytes) and checks the key
 * and both time bounds — other keys' entries interleave with variable-length
 * keys exactly as in window stores (see window_store.c).
 *
 * earliest_end is raised to the oldest visible end (stream time - retention +
 * 1), as Kafka's getActualFrom.
 *
 * Merge (session window aggregation), as KStreamSessionWindowAggregate:
 *
 *   merge_begin(k, t, gap):  found = findSessions(k, t - gap, t + gap)
 *                            merged = [min(t, starts), max(t, ends)]
 *   merge_commit(m, agg):    remove every found session whose window is not
 *                            the merged one; put (k, merged) = agg
 *   merge_abort(m):          nothing (late record, or caller changed its mind)
 *
 * Bounds: put/get O(log n); merge O(sessions found) plus one scan.
 *
 * Read-only views (brook_session_store_view): the same queries through
 * state_seg_view_iter_new / state_seg_view_get (segments, not the cache, under
 * the segmented store's read lock; see "Views" in segments.c). merge_commit's
 * removes and put are one write group, so a view sees the sessions before the
 * merge or the merged one, never both or neither.
 *
 * @locality stream thread (the store's owner), except brook_session_view_*:
 * any thread.
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "brook_serde.h"
#include "brook_session_store.h"
#include "segments.h"
#include "state_int.h"

#define SUFFIX 16
#define TS_SIZE 8

struct brook_session_store {
  brook_state_env_t *env;
  state_seg_store_t *ss;
  char *name;
  int64_t interval;
  GByteArray *kbuf;
};

struct brook_session_iter {
  state_seg_iter_t *si;
  const uint8_t *skey;
  size_t sklen;
};

typedef struct found {
  int64_t start, end;
  void *value;
  size_t value_len;
} found_t;

struct brook_session_merge {
  brook_session_store_t *store;
  void *key;
  size_t key_len;
  int64_t start, end;
  GArray *found; /* found_t */
};

/* ---- key layout ---- */

void brook_session_store_key_encode(const void *key, size_t key_len, int64_t start, int64_t end,
                                    uint8_t *out) {
  if (key_len) memcpy(out, key, key_len);
  brook_serde_put_i64(out + key_len, end);
  brook_serde_put_i64(out + key_len + TS_SIZE, start);
}

bool brook_session_store_key_decode(const void *store_key, size_t len, size_t *key_lenp, int64_t *startp,
                                    int64_t *endp) {
  if (len < SUFFIX) return false;
  const uint8_t *p = store_key;
  if (key_lenp) *key_lenp = len - SUFFIX;
  if (endp) *endp = brook_serde_get_i64(p + len - SUFFIX);
  if (startp) *startp = brook_serde_get_i64(p + len - TS_SIZE);
  return true;
}

static const uint8_t *store_key(brook_session_store_t *store, const void *key, size_t key_len, int64_t start,
                                int64_t end) {
  g_byte_array_set_size(store->kbuf, (guint)(key_len + SUFFIX));
  brook_session_store_key_encode(key, key_len, start, end, store->kbuf->data);
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

static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (!__builtin_add_overflow(a, b, &r)) return r;
  return b > 0 ? INT64_MAX : INT64_MIN;
}

/* ---- open / close ---- */

brook_err_t brook_session_store_open(brook_state_env_t *env, brook_task_dir_t *dir,
                                     const brook_session_store_opts_t *opts, brook_session_store_t **storep,
                                     char *errstr, size_t errstr_size) {
  *storep = NULL;
  const char *name = opts->store.name;
  if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    set_err(errstr, errstr_size, "session store: invalid store name \"%s\"", name ? name : "(null)");
    return BROOK_ERR__BAD_CONFIG;
  }
  if (opts->retention_ms <= 0 || opts->segment_interval_ms < 0) {
    set_err(errstr, errstr_size, "session store %s: retention_ms must be > 0 and segment_interval_ms >= 0",
            name);
    return BROOK_ERR__BAD_CONFIG;
  }
  if (!opts->store.in_memory && !dir) {
    set_err(errstr, errstr_size, "session store %s: a persistent store needs a task directory", name);
    return BROOK_ERR__BAD_CONFIG;
  }
  int64_t interval = opts->segment_interval_ms;
  if (interval == 0) interval = MAX(opts->retention_ms / 2, 60000); /* RocksDbSessionBytesStoreSupplier */

  char *path = opts->store.in_memory ? NULL : state_task_dir_store_path(dir, name);
  state_seg_conf_t conf = {
      .name = name,
      .path = path,
      .in_memory = opts->store.in_memory,
      .retention_ms = opts->retention_ms,
      .interval_ms = interval,
      .suffix_len = SUFFIX,
      .kind = "session",
      .store = &opts->store,
      .dir = opts->store.in_memory ? NULL : dir,
      .cached = opts->store.cached,
  };
  state_seg_store_t *ss = NULL;
  brook_err_t err = state_seg_store_open(env, &conf, &ss, errstr, errstr_size);
  g_free(path);
  if (err) return err;

  brook_session_store_t *store = g_new0(brook_session_store_t, 1);
  store->env = env;
  store->ss = ss;
  store->name = g_strdup(name);
  store->interval = interval;
  store->kbuf = g_byte_array_new();
  *storep = store;
  return BROOK_ERR_NONE;
}

void brook_session_store_close(brook_session_store_t *store) {
  if (!store) return;
  state_seg_store_close(store->ss);
  g_byte_array_unref(store->kbuf);
  g_free(store->name);
  g_free(store);
}

/* ---- writes and point reads ---- */

static brook_err_t check_window(const brook_session_store_t *store, int64_t start, int64_t end, char *errstr,
                                size_t errstr_size) {
  if (start < 0 || start > end) {
    set_err(errstr, errstr_size, "session store %s: invalid session [%" PRId64 ", %" PRId64 "]", store->name,
            start, end);
    return BROOK_ERR_INVALID_TIMESTAMP;
  }
  return BROOK_ERR_NONE;
}

brook_err_t brook_session_store_put(brook_session_store_t *store, const void *key, size_t key_len,
                                    int64_t start, int64_t end, const void *value, size_t value_len,
                                    char *errstr, size_t errstr_size) {
  brook_err_t err = check_window(store, start, end, errstr, errstr_size);
  if (err) return err;
  const uint8_t *skey = store_key(store, key, key_len, start, end);
  return state_seg_store_put(store->ss, skey, key_len + SUFFIX, value, value_len, end, NULL, errstr,
                             errstr_size);
}

brook_err_t brook_session_store_remove(brook_session_store_t *store, const void *key, size_t key_len,
                                       int64_t start, int64_t end, char *errstr, size_t errstr_size) {
  return brook_session_store_put(store, key, key_len, start, end, NULL, 0, errstr, errstr_size);
}

brook_err_t brook_session_store_fetch_session(brook_session_store_t *store, const void *key, size_t key_len,
                                              int64_t start, int64_t end, void **valuep, size_t *value_lenp,
                                              char *errstr, size_t errstr_size) {
  *valuep = NULL;
  *value_lenp = 0;
  if (start < 0 || start > end) return BROOK_ERR__NOENT;
  return state_seg_store_get(store->ss, store_key(store, key, key_len, start, end), key_len + SUFFIX, valuep,
                             value_lenp, errstr, errstr_size);
}

/* ---- queries ---- */

/* Filter context: one allocation, the bound keys follow the struct. */
typedef struct sfilter {
  const uint8_t *from, *to; /* NULL = unbounded */
  size_t from_len, to_len;
  int64_t earliest_end, latest_start;
  bool exact; /* from == to: one key */
} sfilter_t;

static bool sfilter_accept(void *ctx, const uint8_t *skey, size_t sklen) {
  const sfilter_t *f = ctx;
  if (sklen < SUFFIX) return false;
  size_t klen = sklen - SUFFIX;
  int64_t end = brook_serde_get_i64(skey + klen);
  int64_t start = brook_serde_get_i64(skey + klen + TS_SIZE);
  if (end < f->earliest_end || start > f->latest_start) return false;
  if (f->exact) return klen == f->from_len && (klen == 0 || memcmp(skey, f->from, klen) == 0);
  if (f->from && state_bytes_cmp(skey, klen, f->from, f->from_len) < 0) return false;
  if (f->to && state_bytes_cmp(skey, klen, f->to, f->to_len) > 0) return false;
  return true;
}

static sfilter_t *sfilter_new(const void *from, size_t from_len, const void *to, size_t to_len,
                              int64_t earliest_end, int64_t latest_start) {
  sfilter_t *f = g_malloc(sizeof(*f) + (from ? from_len : 0) + (to ? to_len : 0));
  uint8_t *p = (uint8_t *)(f + 1);
  *f = (sfilter_t){NULL, NULL, from_len, to_len, earliest_end, latest_start, false};
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

/* Where a query reads: the store (owner thread) or a view (any thread; the
 * view raises earliest_end to the oldest visible end itself, under its lock). */
static state_seg_iter_t *source_iter(state_seg_store_t *ss, state_seg_view_t *view, int64_t ts_from,
                                     int64_t ts_to, uint8_t *lower, size_t lower_len, uint8_t *upper,
                                     size_t upper_len, bool backward, sfilter_t *f) {
  if (view)
    return state_seg_view_iter_new(view, ts_from, ts_to, lower, lower_len, upper, upper_len, backward,
                                   sfilter_accept, f, g_free);
  return state_seg_iter_new(ss, ts_from, ts_to, lower, lower_len, upper, upper_len, backward, sfilter_accept,
                            f, g_free);
}

static brook_session_iter_t *query_src(state_seg_store_t *ss, state_seg_view_t *view, const char *name,
                                       const void *from, size_t from_len, const void *to, size_t to_len,
                                       bool exact, int64_t earliest_end, int64_t latest_start,
                                       bool backward) {
  if (!view) {
    int64_t min_visible = state_seg_store_min_visible(ss);
    if (earliest_end < min_visible) earliest_end = min_visible;
  } else if (earliest_end < 0) {
    earliest_end = 0;
  }
  brook_session_iter_t *it = g_new0(brook_session_iter_t, 1);
  bool empty = latest_start < 0;
  if (!exact && from && to && state_bytes_cmp(from, from_len, to, to_len) > 0) {
    brook_log(BROOK_LOG_WARNING, "state",
              "session store %s: key range with from > to returns no records (check the serde's ordering)",
              name);
    empty = true;
  }
  sfilter_t *f = exact ? sfilter_new(from, from_len, NULL, 0, earliest_end, latest_start)
                       : sfilter_new(from, from_len, to, to_len, earliest_end, latest_start);
  f->exact = exact;
  if (empty) {
    it->si = source_iter(ss, view, 1, 0, NULL, 0, NULL, 0, backward, f);
    return it;
  }
  uint8_t max_suffix[SUFFIX];
  brook_serde_put_i64(max_suffix, INT64_MAX);
  brook_serde_put_i64(max_suffix + TS_SIZE, latest_start);
  uint8_t *lower = NULL, *upper = NULL;
  size_t lower_len = 0, upper_len = 0;
  if (exact) {
    lower_len = upper_len = from_len + SUFFIX;
    lower = g_malloc(lower_len);
    upper = g_malloc(upper_len + 1);
    brook_session_store_key_encode(from, from_len, 0, earliest_end, lower);
    memcpy(upper, lower, from_len);
    memcpy(upper + from_len, max_suffix, SUFFIX);
  } else {
    if (from) {
      lower = dup_or_empty(from, from_len);
      lower_len = from_len;
    }
    if (to) upper = state_seg_range_upper(from, from_len, to, to_len, max_suffix, SUFFIX, &upper_len);
  }
  it->si = source_iter(ss, view, earliest_end, INT64_MAX, lower, lower_len, upper, upper_len, backward, f);
  return it;
}

static brook_session_iter_t *query(brook_session_store_t *store, const void *from, size_t from_len,
                                   const void *to, size_t to_len, bool exact, int64_t earliest_end,
                                   int64_t latest_start, bool backward) {
  return query_src(store->ss, NULL, store->name, from, from_len, to, to_len, exact, earliest_end,
                   latest_start, backward);
}

brook_err_t brook_session_store_find_sessions(brook_session_store_t *store, const void *key, size_t key_len,
                                              int64_t earliest_end, int64_t latest_start,
                                              brook_session_iter_t **iterp, char *errstr,
                                              size_t errstr_size) {
  *iterp = query(store, key, key_len, key, key_len, true, earliest_end, latest_start, false);
  return BROOK_ERR_NONE;
}

brook_err_t brook_session_store_find_sessions_range(brook_session_store_t *store, const void *key_from,
                                                    size_t from_len, const void *key_to, size_t to_len,
                                                    int64_t earliest_end, int64_t latest_start,
                                                    brook_session_iter_t **iterp, char *errstr,
                                                    size_t errstr_size) {
  *iterp = query(store, key_from, from_len, key_to, to_len, false, earliest_end, latest_start, false);
  return BROOK_ERR_NONE;
}

brook_err_t brook_session_store_fetch(brook_session_store_t *store, const void *key, size_t key_len,
                                      brook_session_iter_t **iterp, char *errstr, size_t errstr_size) {
  *iterp = query(store, key, key_len, key, key_len, true, 0, INT64_MAX, false);
  return BROOK_ERR_NONE;
}

brook_err_t brook_session_store_fetch_range(brook_session_store_t *store, const void *key_from,
                                            size_t from_len, const void *key_to, size_t to_len,
                                            brook_session_iter_t **iterp, char *errstr, size_t errstr_size) {
  *iterp = query(store, key_from, from_len, key_to, to_len, false, 0, INT64_MAX, false);
  return BROOK_ERR_NONE;
}

brook_err_t brook_session_store_backward_find_sessions(brook_session_store_t *store, const void *key,
                                                       size_t key_len, int64_t earliest_end,
                                                       int64_t latest_start, brook_session_iter_t **iterp,
                                                       char *errstr, size_t errstr_size) {
  *iterp = query(store, key, key_len, key, key_len, true, earliest_end, latest_start, true);
  return BROOK_ERR_NONE;
}

brook_err_t brook_session_store_backward_find_sessions_range(brook_session_store_t *store,
                                                             const void *key_from, size_t from_len,
                                                             const void *key_to, size_t to_len,
                                                             int64_t earliest_end, int64_t latest_start,
                                                             brook_session_iter_t **iterp, char *errstr,
                                                             size_t errstr_size) {
  *iterp = query(store, key_from, from_len, key_to, to_len, false, earliest_end, latest_start, true);
  return BROOK_ERR_NONE;
}

brook_err_t brook_session_store_backward_fetch(brook_session_store_t *store, const void *key, size_t key_len,
                                               brook_session_iter_t **iterp, char *errstr,
                                               size_t errstr_size) {
  *iterp = query(store, key, key_len, key, key_len, true, 0, INT64_MAX, true);
  return BROOK_ERR_NONE;
}

/* ---- merging ---- */

brook_err_t brook_session_store_merge_begin(brook_session_store_t *store, const void *key, size_t key_len,
                                            int64_t timestamp, int64_t inactivity_gap_ms,
                                            brook_session_merge_t **mergep, char *errstr,
                                            size_t errstr_size) {
  *mergep = NULL;
  if (timestamp < 0 || inactivity_gap_ms < 0) {
    set_err(errstr, errstr_size, "session store %s: merge needs timestamp >= 0 and gap >= 0", store->name);
    return BROOK_ERR_INVALID_TIMESTAMP;
  }
  brook_session_merge_t *m = g_new0(brook_session_merge_t, 1);
  m->store = store;
  m->key = g_memdup2(key_len ? key : "", key_len ? key_len : 1);
  m->key_len = key_len;
  m->start = m->end = timestamp;
  m->found = g_array_new(FALSE, FALSE, sizeof(found_t));
  brook_session_iter_t *it =
      query(store, key, key_len, key, key_len, true, sat_add(timestamp, -inactivity_gap_ms),
            sat_add(timestamp, inactivity_gap_ms), false);
  while (brook_session_iter_next(it)) {
    found_t f = {brook_session_iter_start(it), brook_session_iter_end(it), NULL, 0};
    const void *v = brook_session_iter_value(it, &f.value_len);
    f.value = g_memdup2(f.value_len ? v : "", f.value_len ? f.value_len : 1);
    g_array_append_val(m->found, f);
    if (f.start < m->start) m->start = f.start;
    if (f.end > m->end) m->end = f.end;
  }
  brook_err_t err = brook_session_iter_error(it, errstr, errstr_size);
  brook_session_iter_destroy(it);
  if (err) {
    brook_session_merge_abort(m);
    return err;
  }
  *mergep = m;
  return BROOK_ERR_NONE;
}

size_t brook_session_merge_count(const brook_session_merge_t *merge) { return merge->found->len; }

void brook_session_merge_session(const brook_session_merge_t *merge, size_t i, int64_t *startp, int64_t *endp,
                                 const void **valuep, size_t *value_lenp) {
  g_assert(i < merge->found->len);
  const found_t *f = &g_array_index(merge->found, found_t, i);
  if (startp) *startp = f->start;
  if (endp) *endp = f->end;
  if (valuep) *valuep = f->value;
  if (value_lenp) *value_lenp = f->value_len;
}

int64_t brook_session_merge_start(const brook_session_merge_t *merge) { return merge->start; }
int64_t brook_session_merge_end(const brook_session_merge_t *merge) { return merge->end; }

brook_err_t brook_session_merge_commit(brook_session_merge_t *merge, const void *value, size_t value_len,
                                       char *errstr, size_t errstr_size) {
  brook_session_store_t *store = merge->store;
  brook_err_t err = BROOK_ERR_NONE;
  state_seg_store_lock_writes(store->ss); /* one group for views */
  for (guint i = 0; i < merge->found->len && !err; i++) {
    const found_t *f = &g_array_index(merge->found, found_t, i);
    if (f->start == merge->start && f->end == merge->end) continue; /* overwritten below */
    err =
        brook_session_store_remove(store, merge->key, merge->key_len, f->start, f->end, errstr, errstr_size);
  }
  if (!err)
    err = brook_session_store_put(store, merge->key, merge->key_len, merge->start, merge->end,
                                  value ? value : "", value_len, errstr, errstr_size);
  state_seg_store_unlock_writes(store->ss);
  brook_session_merge_abort(merge);
  return err;
}

void brook_session_merge_abort(brook_session_merge_t *merge) {
  if (!merge) return;
  for (guint i = 0; i < merge->found->len; i++) g_free(g_array_index(merge->found, found_t, i).value);
  g_array_free(merge->found, TRUE);
  g_free(merge->key);
  g_free(merge);
}

/* ---- restore, flush, stats ---- */

brook_err_t brook_session_store_restore(brook_session_store_t *store, const brook_changelog_record_t *records,
                                        size_t n, int64_t end_offset, brook_restore_progress_t *progress,
                                        char *errstr, size_t errstr_size) {
  return state_seg_store_restore(store->ss, records, n, end_offset, progress, errstr, errstr_size);
}

void brook_session_store_restore_progress(const brook_session_store_t *store,
                                          brook_restore_progress_t *progress) {
  state_seg_store_restore_progress(store->ss, progress);
}

int64_t brook_session_store_restore_start(const brook_session_store_t *store) {
  return state_seg_store_restore_start(store->ss);
}

bool brook_session_store_was_wiped(const brook_session_store_t *store) {
  return state_seg_store_was_wiped(store->ss);
}

void brook_session_store_set_offset(brook_session_store_t *store, int64_t next_offset) {
  state_seg_store_set_offset(store->ss, next_offset);
}

void brook_session_store_set_flush_listener(brook_session_store_t *store,
                                            const brook_cache_flush_listener_t *listener) {
  state_seg_store_set_listener(store->ss, listener);
}

bool brook_session_store_is_cached(const brook_session_store_t *store) {
  return state_seg_store_is_cached(store->ss);
}

brook_err_t brook_session_store_flush(brook_session_store_t *store, char *errstr, size_t errstr_size) {
  return state_seg_store_flush(store->ss, errstr, errstr_size);
}

void brook_session_store_stats(const brook_session_store_t *store, brook_session_store_stats_t *stats) {
  stats->stream_time = state_seg_store_stream_time(store->ss);
  stats->segments = state_seg_store_segments(store->ss);
  stats->expired_drops = state_seg_store_expired_drops(store->ss);
  stats->segment_interval_ms = store->interval;
}

const char *brook_session_store_name(const brook_session_store_t *store) { return store->name; }
const char *brook_session_store_changelog_topic(const brook_session_store_t *store) {
  return state_seg_store_topic(store->ss);
}

/* ---- iterators ---- */

bool brook_session_iter_next(brook_session_iter_t *iter) {
  if (!state_seg_iter_next(iter->si)) {
    iter->skey = NULL;
    iter->sklen = 0;
    return false;
  }
  iter->skey = state_seg_iter_key(iter->si, &iter->sklen);
  return true;
}

const void *brook_session_iter_key(const brook_session_iter_t *iter, size_t *key_lenp) {
  *key_lenp = iter->sklen - SUFFIX;
  return iter->skey;
}

const void *brook_session_iter_value(const brook_session_iter_t *iter, size_t *value_lenp) {
  return state_seg_iter_value(iter->si, value_lenp);
}

int64_t brook_session_iter_start(const brook_session_iter_t *iter) {
  return brook_serde_get_i64(iter->skey + iter->sklen - TS_SIZE);
}

int64_t brook_session_iter_end(const brook_session_iter_t *iter) {
  return brook_serde_get_i64(iter->skey + iter->sklen - SUFFIX);
}

const void *brook_session_iter_store_key(const brook_session_iter_t *iter, size_t *lenp) {
  *lenp = iter->sklen;
  return iter->skey;
}

brook_err_t brook_session_iter_error(const brook_session_iter_t *iter, char *errstr, size_t errstr_size) {
  return state_seg_iter_error(iter->si, errstr, errstr_size);
}

void brook_session_iter_destroy(brook_session_iter_t *iter) {
  if (!iter) return;
  state_seg_iter_destroy(iter->si);
  g_free(iter);
}

/* ---- read-only views ---- */

struct brook_session_view {
  state_seg_view_t *sv;
  char *name;
};

brook_session_view_t *brook_session_store_view(brook_session_store_t *store) {
  brook_session_view_t *view = g_new0(brook_session_view_t, 1);
  view->sv = state_seg_store_view(store->ss);
  view->name = g_strdup(store->name);
  return view;
}

void brook_session_view_destroy(brook_session_view_t *view) {
  if (!view) return;
  state_seg_view_destroy(view->sv);
  g_free(view->name);
  g_free(view);
}

/* The view's iterator, or _STATE (and NULL) when the store is closed. */
static brook_err_t view_result(brook_session_iter_t *it, brook_session_iter_t **iterp, char *errstr,
                               size_t errstr_size) {
  brook_err_t err = state_seg_iter_error(it->si, errstr, errstr_size);
  if (err) {
    brook_session_iter_destroy(it);
    it = NULL;
  }
  *iterp = it;
  return err;
}

brook_err_t brook_session_view_find_sessions(brook_session_view_t *view, const void *key, size_t key_len,
                                             int64_t earliest_end, int64_t latest_start,
                                             brook_session_iter_t **iterp, char *errstr, size_t errstr_size) {
  return view_result(query_src(NULL, view->sv, view->name, key, key_len, key, key_len, true, earliest_end,
                               latest_start, false),
                     iterp, errstr, errstr_size);
}

brook_err_t brook_session_view_find_sessions_range(brook_session_view_t *view, const void *key_from,
                                                   size_t from_len, const void *key_to, size_t to_len,
                                                   int64_t earliest_end, int64_t latest_start,
                                                   brook_session_iter_t **iterp, char *errstr,
                                                   size_t errstr_size) {
  return view_result(query_src(NULL, view->sv, view->name, key_from, from_len, key_to, to_len, false,
                               earliest_end, latest_start, false),
                     iterp, errstr, errstr_size);
}

brook_err_t brook_session_view_fetch(brook_session_view_t *view, const void *key, size_t key_len,
                                     brook_session_iter_t **iterp, char *errstr, size_t errstr_size) {
  return view_result(
      query_src(NULL, view->sv, view->name, key, key_len, key, key_len, true, 0, INT64_MAX, false), iterp,
      errstr, errstr_size);
}

brook_err_t brook_session_view_fetch_session(brook_session_view_t *view, const void *key, size_t key_len,
                                             int64_t start, int64_t end, void **valuep, size_t *value_lenp,
                                             char *errstr, size_t errstr_size) {
  *valuep = NULL;
  *value_lenp = 0;
  if (start < 0 || start > end) start = end = -1; /* no such session; still report a closed store */
  uint8_t *skey = g_malloc(key_len + SUFFIX);
  brook_session_store_key_encode(key, key_len, start, end, skey);
  brook_err_t err =
      state_seg_view_get(view->sv, skey, key_len + SUFFIX, valuep, value_lenp, errstr, errstr_size);
  g_free(skey);
  return err;
}
