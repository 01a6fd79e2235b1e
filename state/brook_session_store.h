/*
 * brook_session_store.h — session stores: (key, session start, session end) →
 * value, kept for a retention period, with merge support for session windows.
 *
 * A session window aggregation keeps one aggregate per (key, session). When a
 * record at time t arrives, every session of its key that ends at or after
 * t - gap and starts at or before t + gap merges with it into one session
 * [min start, max end]; the old sessions are removed and the merged one put.
 * brook_session_store_merge_begin / _commit do exactly that (Kafka Streams'
 * KStreamSessionWindowAggregate does it with findSessions, remove and put,
 * which are here too).
 *
 * Store key and changelog key (Kafka Streams' SessionKeySchema.toBinary):
 *
 *     [key bytes][session end: int64 BE][session start: int64 BE]
 *
 * Data is segmented by session end (segment interval default max(retention /
 * 2, 60 s)); stream time is the largest session end seen; a put whose end is at
 * or below stream time - retention is dropped and counted, and reads never
 * return such sessions; segments that fall out of retention are deleted whole.
 *
 * Order of results: segment by segment (session end buckets ascending), inside
 * a segment by store key bytes — for one key that is by end, then start, as
 * Kafka Streams' RocksDB session store. backward_* reverse it.
 *
 * Variants: RocksDB (one instance per segment under
 * "<task dir>/rocksdb/<name>/<name>.<segment start>") or in memory, same
 * contract. Timestamps must be >= 0 and start <= end.
 *
 * Errors, changelog, record cache, threads, read-only views: as for window
 * stores (brook_window_store.h). A session merge (merge_commit) is one write
 * group for views: they see the sessions before it or the merged session.
 */
#ifndef BROOK_SESSION_STORE_H
#define BROOK_SESSION_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brook_state.h"

typedef struct brook_session_store brook_session_store_t;
typedef struct brook_session_iter brook_session_iter_t;
typedef struct brook_session_merge brook_session_merge_t;
typedef struct brook_session_view brook_session_view_t;

typedef struct brook_session_store_opts {
  brook_store_opts_t store;    /**< name, in_memory, logged, partition, sink, cached (record cache) */
  int64_t retention_ms;        /**< > 0; Kafka Streams: inactivity gap + grace, at least */
  int64_t segment_interval_ms; /**< 0 = max(retention / 2, 60000) */
} brook_session_store_opts_t;

typedef struct brook_session_store_stats {
  int64_t stream_time;         /**< largest session end seen, -1 before any */
  size_t segments;             /**< open segments */
  uint64_t expired_drops;      /**< puts dropped as expired */
  int64_t segment_interval_ms; /**< in force */
} brook_session_store_stats_t;

/** Opens (creating) a session store in task directory `dir` (transfer none; may
 *  be NULL for an in-memory store). (transfer full) @locality stream thread */
brook_err_t brook_session_store_open(brook_state_env_t *env, brook_task_dir_t *dir,
                                     const brook_session_store_opts_t *opts, brook_session_store_t **storep,
                                     char *errstr, size_t errstr_size);
/** Flushes and closes. NULL is a no-op. */
void brook_session_store_close(brook_session_store_t *store);

/** Puts the value of session (key, start, end); value == NULL removes it.
 *  Changelog first (key = store key, timestamp = end). start < 0 or start > end
 *  is BROOK_ERR_INVALID_TIMESTAMP. Expired puts are dropped (BROOK_ERR_NONE). */
brook_err_t brook_session_store_put(brook_session_store_t *store, const void *key, size_t key_len,
                                    int64_t start, int64_t end, const void *value, size_t value_len,
                                    char *errstr, size_t errstr_size);
/** Removes session (key, start, end): put with value NULL. */
brook_err_t brook_session_store_remove(brook_session_store_t *store, const void *key, size_t key_len,
                                       int64_t start, int64_t end, char *errstr, size_t errstr_size);
/** The value of exactly (key, start, end), BROOK_ERR__NOENT if none.
 *  (transfer full: free()) */
brook_err_t brook_session_store_fetch_session(brook_session_store_t *store, const void *key, size_t key_len,
                                              int64_t start, int64_t end, void **valuep, size_t *value_lenp,
                                              char *errstr, size_t errstr_size);

/** Sessions of `key` with end >= earliest_end and start <= latest_start, i.e.
 *  overlapping [earliest_end, latest_start] (Kafka's findSessions).
 *  (transfer full: brook_session_iter_destroy) */
brook_err_t brook_session_store_find_sessions(brook_session_store_t *store, const void *key, size_t key_len,
                                              int64_t earliest_end, int64_t latest_start,
                                              brook_session_iter_t **iterp, char *errstr, size_t errstr_size);
/** The same for keys in [key_from, key_to] (inclusive, bytewise; NULL =
 *  unbounded on that side; from > to gives nothing). */
brook_err_t brook_session_store_find_sessions_range(brook_session_store_t *store, const void *key_from,
                                                    size_t from_len, const void *key_to, size_t to_len,
                                                    int64_t earliest_end, int64_t latest_start,
                                                    brook_session_iter_t **iterp, char *errstr,
                                                    size_t errstr_size);
/** Every retained session of `key` / of keys in [key_from, key_to]. */
brook_err_t brook_session_store_fetch(brook_session_store_t *store, const void *key, size_t key_len,
                                      brook_session_iter_t **iterp, char *errstr, size_t errstr_size);
brook_err_t brook_session_store_fetch_range(brook_session_store_t *store, const void *key_from,
                                            size_t from_len, const void *key_to, size_t to_len,
                                            brook_session_iter_t **iterp, char *errstr, size_t errstr_size);

/** Reverse-order variants. */
brook_err_t brook_session_store_backward_find_sessions(brook_session_store_t *store, const void *key,
                                                       size_t key_len, int64_t earliest_end,
                                                       int64_t latest_start, brook_session_iter_t **iterp,
                                                       char *errstr, size_t errstr_size);
brook_err_t brook_session_store_backward_find_sessions_range(brook_session_store_t *store,
                                                             const void *key_from, size_t from_len,
                                                             const void *key_to, size_t to_len,
                                                             int64_t earliest_end, int64_t latest_start,
                                                             brook_session_iter_t **iterp, char *errstr,
                                                             size_t errstr_size);
brook_err_t brook_session_store_backward_fetch(brook_session_store_t *store, const void *key, size_t key_len,
                                               brook_session_iter_t **iterp, char *errstr,
                                               size_t errstr_size);

/* ---- merging (session window aggregation) ---- */

/** Collects the sessions of `key` a record at `timestamp` merges with: those
 *  overlapping [timestamp - gap, timestamp + gap]. The merged window is
 *  [min(timestamp, their starts), max(timestamp, their ends)]. Nothing changes
 *  until brook_session_merge_commit. The store must not be written between
 *  begin and commit. (transfer full: commit or abort) */
brook_err_t brook_session_store_merge_begin(brook_session_store_t *store, const void *key, size_t key_len,
                                            int64_t timestamp, int64_t inactivity_gap_ms,
                                            brook_session_merge_t **mergep, char *errstr, size_t errstr_size);
/** The sessions found, in store order. (transfer none, valid until commit/abort) */
size_t brook_session_merge_count(const brook_session_merge_t *merge);
void brook_session_merge_session(const brook_session_merge_t *merge, size_t i, int64_t *startp, int64_t *endp,
                                 const void **valuep, size_t *value_lenp);
int64_t brook_session_merge_start(const brook_session_merge_t *merge);
int64_t brook_session_merge_end(const brook_session_merge_t *merge);
/** Removes the sessions found (except one that already has the merged window:
 *  it is overwritten) and puts the merged session with `value`. Frees `merge`
 *  whatever the result. */
brook_err_t brook_session_merge_commit(brook_session_merge_t *merge, const void *value, size_t value_len,
                                       char *errstr, size_t errstr_size);
/** Frees `merge` without changing the store (e.g. the merged session is
 *  already closed: a late record). NULL is a no-op. */
void brook_session_merge_abort(brook_session_merge_t *merge);

/* ---- restore, flush, stats ---- */

/** Changelog position and restore: as the window store's (brook_window_store.h):
 *  wiped at open without a checkpoint entry, restore_start, set_offset. */
int64_t brook_session_store_restore_start(const brook_session_store_t *store);
bool brook_session_store_was_wiped(const brook_session_store_t *store);
void brook_session_store_set_offset(brook_session_store_t *store, int64_t next_offset);
/** As brook_window_store_restore; keys shorter than the 16-byte suffix are
 *  BROOK_ERR__MALFORMED (nothing applied). */
brook_err_t brook_session_store_restore(brook_session_store_t *store, const brook_changelog_record_t *records,
                                        size_t n, int64_t end_offset, brook_restore_progress_t *progress,
                                        char *errstr, size_t errstr_size);
void brook_session_store_restore_progress(const brook_session_store_t *store,
                                          brook_restore_progress_t *progress);
brook_err_t brook_session_store_flush(brook_session_store_t *store, char *errstr, size_t errstr_size);
/** Forwarding hook and cache, as the window store's; the listener gets the
 *  store key (key + end + start: brook_session_store_key_decode). */
void brook_session_store_set_flush_listener(brook_session_store_t *store,
                                            const brook_cache_flush_listener_t *listener);
bool brook_session_store_is_cached(const brook_session_store_t *store);
void brook_session_store_stats(const brook_session_store_t *store, brook_session_store_stats_t *stats);
const char *brook_session_store_name(const brook_session_store_t *store);
const char *brook_session_store_changelog_topic(const brook_session_store_t *store);

/* ---- read-only views (interactive queries) ----
 *
 * Same contract as window store views (brook_window_store.h): segments not
 * the cache, never part of a write group, iterators on a point-in-time image
 * taken at creation, BROOK_ERR__STATE after close. */

/** (transfer full: brook_session_view_destroy) @locality created on the
 *  owner thread; used and destroyed on any thread (one at a time per view) */
brook_session_view_t *brook_session_store_view(brook_session_store_t *store);
/** NULL is a no-op. */
void brook_session_view_destroy(brook_session_view_t *view);
/** As the store's find_sessions / find_sessions_range / fetch; _STATE (and
 *  *iterp NULL) once closed. (transfer full: brook_session_iter_destroy) */
brook_err_t brook_session_view_find_sessions(brook_session_view_t *view, const void *key, size_t key_len,
                                             int64_t earliest_end, int64_t latest_start,
                                             brook_session_iter_t **iterp, char *errstr, size_t errstr_size);
brook_err_t brook_session_view_find_sessions_range(brook_session_view_t *view, const void *key_from,
                                                   size_t from_len, const void *key_to, size_t to_len,
                                                   int64_t earliest_end, int64_t latest_start,
                                                   brook_session_iter_t **iterp, char *errstr,
                                                   size_t errstr_size);
brook_err_t brook_session_view_fetch(brook_session_view_t *view, const void *key, size_t key_len,
                                     brook_session_iter_t **iterp, char *errstr, size_t errstr_size);
/** As brook_session_store_fetch_session: _NOENT if none, _STATE once closed.
 *  (transfer full: free()) */
brook_err_t brook_session_view_fetch_session(brook_session_view_t *view, const void *key, size_t key_len,
                                             int64_t start, int64_t end, void **valuep, size_t *value_lenp,
                                             char *errstr, size_t errstr_size);

/* ---- iterators ---- */

/** Advances; false at the end or on error (brook_session_iter_error). */
bool brook_session_iter_next(brook_session_iter_t *iter);
/** (transfer none, valid until the next brook_session_iter_next or destroy) */
const void *brook_session_iter_key(const brook_session_iter_t *iter, size_t *key_lenp);
const void *brook_session_iter_value(const brook_session_iter_t *iter, size_t *value_lenp);
int64_t brook_session_iter_start(const brook_session_iter_t *iter);
int64_t brook_session_iter_end(const brook_session_iter_t *iter);
const void *brook_session_iter_store_key(const brook_session_iter_t *iter, size_t *lenp);
brook_err_t brook_session_iter_error(const brook_session_iter_t *iter, char *errstr, size_t errstr_size);
/** NULL is a no-op. */
void brook_session_iter_destroy(brook_session_iter_t *iter);

/* ---- store key layout (SessionKeySchema) ---- */

/** Writes key + end + start to out (room for key_len + 16 bytes). */
void brook_session_store_key_encode(const void *key, size_t key_len, int64_t start, int64_t end,
                                    uint8_t *out);
/** Splits a store key; false if it is shorter than 16 bytes. */
bool brook_session_store_key_decode(const void *store_key, size_t len, size_t *key_lenp, int64_t *startp,
                                    int64_t *endp);

#endif
