/*
 * brook_window_store.h — window stores: (key, window start) → value, kept for a
 * retention period, with old windows dropped cheaply.
 *
 * What a windowed aggregation or a stream-stream join keeps. Data is
 * time-partitioned into segments of `segment_interval_ms` (default
 * max(retention / 2, 60 s), as Kafka Streams); a segment whose windows all fell
 * out of retention is closed and deleted whole. Stream time is the largest
 * window start the store has seen; a put at or below stream time - retention is
 * dropped (counted in expired_drops, logged at debug "Skipping record for
 * expired segment", as Kafka Streams), and reads never return windows at or
 * below it.
 *
 * Store key and changelog key (Kafka Streams' WindowKeySchema store key, so the
 * changelog record alone rebuilds the store):
 *
 *     [key bytes][window start: int64 BE][seqnum: int32 BE]
 *
 * seqnum is 0 unless retain_duplicates is set; then every put gets the next
 * sequence number so equal (key, start) entries coexist (stream-stream joins).
 *
 * Order of results: fetch(key, ...) yields windows by ascending start (then
 * insertion order for duplicates). Range, fetch_all and all iterate segment by
 * segment (ascending time buckets) and, inside a segment, by store key bytes —
 * the same order as Kafka Streams' RocksDB window store. backward_* reverse it.
 * Keys are compared bytewise, shorter prefix first ("a" < "ab" < "b").
 *
 * Variants: RocksDB (one instance per segment under
 * "<task dir>/rocksdb/<name>/<name>.<segment start>") or in memory (same
 * segments, same contract; opts.store.in_memory). Timestamps must be >= 0.
 *
 * Record cache (opts.store.cached, with a non-zero statestore.cache.max.bytes,
 * not with retain_duplicates): puts collapse in the cache per store key and
 * reach the changelog, the store and the flush listener when the cache is
 * flushed (brook_window_store_flush, at commit) or evicts them; reads merge
 * the cache with the store. Stream time, expiry and the results of reads are
 * the same with or without the cache.
 *
 * Errors: brook_err_t + errstr; RocksDB errors map to _CORRUPT, _NOSPC, _LOCKED,
 * _IO; a failing changelog sink fails the put with the sink's error and the
 * store unchanged.
 *
 * Threads: a store and its iterators belong to the stream thread that opened
 * it. Iterators must be destroyed before the store is closed. Writing while an
 * iterator is open is allowed (the iterator may or may not see the write).
 * Read-only views (brook_window_store_view, below) may be used from any thread.
 */
#ifndef BROOK_WINDOW_STORE_H
#define BROOK_WINDOW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brook_state.h"

typedef struct brook_window_store brook_window_store_t;
typedef struct brook_window_iter brook_window_iter_t;
typedef struct brook_window_view brook_window_view_t;

typedef struct brook_window_store_opts {
  brook_store_opts_t store;    /**< name, in_memory, logged, partition, sink, cached (record cache) */
  int64_t retention_ms;        /**< > 0; Kafka Streams: window size + grace, at least */
  int64_t segment_interval_ms; /**< 0 = max(retention / 2, 60000) */
  int64_t window_size_ms;      /**< >= 0; iterators report end = start + size (saturating) */
  bool retain_duplicates;      /**< keep every put of the same (key, start) */
} brook_window_store_opts_t;

/** Counters and state for tests, logs and metrics. */
typedef struct brook_window_store_stats {
  int64_t stream_time;         /**< largest window start seen, -1 before any */
  size_t segments;             /**< open segments */
  uint64_t expired_drops;      /**< Kafka Streams' expired-window-record-drop-total */
  int64_t segment_interval_ms; /**< in force */
} brook_window_store_stats_t;

/** Opens (creating) a window store. `dir` is the task directory (transfer none;
 *  must outlive the store); it may be NULL for an in-memory store. Existing
 *  segments are reopened. (transfer full) @locality stream thread */
brook_err_t brook_window_store_open(brook_state_env_t *env, brook_task_dir_t *dir,
                                    const brook_window_store_opts_t *opts, brook_window_store_t **storep,
                                    char *errstr, size_t errstr_size);
/** Flushes and closes. NULL is a no-op. */
void brook_window_store_close(brook_window_store_t *store);

/** Puts value for (key, window_start); value == NULL deletes (a no-op with
 *  retain_duplicates, as in Kafka Streams). The change goes to the changelog
 *  sink first (key = store key, timestamp = window_start). A put that retention
 *  already expired is dropped and returns BROOK_ERR_NONE (see stats). A
 *  negative window_start is BROOK_ERR_INVALID_TIMESTAMP. Bytes are copied. */
brook_err_t brook_window_store_put(brook_window_store_t *store, const void *key, size_t key_len,
                                   const void *value, size_t value_len, int64_t window_start, char *errstr,
                                   size_t errstr_size);

/** The value of (key, window_start), BROOK_ERR__NOENT if none (with duplicates:
 *  the first one). (transfer full: free()) */
brook_err_t brook_window_store_get(brook_window_store_t *store, const void *key, size_t key_len,
                                   int64_t window_start, void **valuep, size_t *value_lenp, char *errstr,
                                   size_t errstr_size);

/** Windows of `key` with start in [time_from, time_to], by ascending start.
 *  (transfer full: brook_window_iter_destroy) */
brook_err_t brook_window_store_fetch(brook_window_store_t *store, const void *key, size_t key_len,
                                     int64_t time_from, int64_t time_to, brook_window_iter_t **iterp,
                                     char *errstr, size_t errstr_size);
/** Windows of keys in [key_from, key_to] (inclusive, bytewise; NULL = unbounded
 *  on that side) with start in [time_from, time_to]. key_from > key_to gives an
 *  empty iterator (Kafka Streams logs a warning and does the same). */
brook_err_t brook_window_store_fetch_range(brook_window_store_t *store, const void *key_from, size_t from_len,
                                           const void *key_to, size_t to_len, int64_t time_from,
                                           int64_t time_to, brook_window_iter_t **iterp, char *errstr,
                                           size_t errstr_size);
/** Every window with start in [time_from, time_to]. */
brook_err_t brook_window_store_fetch_all(brook_window_store_t *store, int64_t time_from, int64_t time_to,
                                         brook_window_iter_t **iterp, char *errstr, size_t errstr_size);
/** Every window still retained. */
brook_err_t brook_window_store_all(brook_window_store_t *store, brook_window_iter_t **iterp, char *errstr,
                                   size_t errstr_size);

/** The same four in reverse order. */
brook_err_t brook_window_store_backward_fetch(brook_window_store_t *store, const void *key, size_t key_len,
                                              int64_t time_from, int64_t time_to, brook_window_iter_t **iterp,
                                              char *errstr, size_t errstr_size);
brook_err_t brook_window_store_backward_fetch_range(brook_window_store_t *store, const void *key_from,
                                                    size_t from_len, const void *key_to, size_t to_len,
                                                    int64_t time_from, int64_t time_to,
                                                    brook_window_iter_t **iterp, char *errstr,
                                                    size_t errstr_size);
brook_err_t brook_window_store_backward_fetch_all(brook_window_store_t *store, int64_t time_from,
                                                  int64_t time_to, brook_window_iter_t **iterp, char *errstr,
                                                  size_t errstr_size);
brook_err_t brook_window_store_backward_all(brook_window_store_t *store, brook_window_iter_t **iterp,
                                            char *errstr, size_t errstr_size);

/* ---- changelog position and restore (the key-value stores' lifecycle) ----
 *
 *   open ─▶ restore_start() = X ─▶ restore(batch)… ─▶ flush + checkpoint ─▶
 *   put/fetch… ─▶ flush (commit) ─▶ set_offset(next offset) ─▶
 *   brook_task_dir_checkpoint_write() ─▶ … ─▶ close
 *
 * A logged RocksDB store whose changelog partition has no entry in the task
 * checkpoint (unclean shutdown: writes skip the WAL) is wiped at open and
 * X = 0; with an entry, X = the checkpointed offset. A logged in-memory store
 * has X = 0; an unlogged store X = -1. */

/** Where restoration starts (see above). */
int64_t brook_window_store_restore_start(const brook_window_store_t *store);
/** True when open wiped local data that had no checkpoint. */
bool brook_window_store_was_wiped(const brook_window_store_t *store);
/** Records that the store reflects the changelog up to next_offset
 *  (exclusive), once the producer acked the last flush's records; sets the
 *  task dir's checkpoint entry (not the file). */
void brook_window_store_set_offset(brook_window_store_t *store, int64_t next_offset);

/** Applies a batch of changelog records (in offset order; key = store key,
 *  value NULL = tombstone) with RocksDB write batches, WAL off, one batch per
 *  segment. Records that the stream time after the batch expires are skipped and
 *  expired segments dropped. Records are not sent to the sink. A record whose
 *  key is shorter than the 12-byte suffix is BROOK_ERR__MALFORMED and nothing
 *  of the batch is applied. Advances the offset to the last record's + 1.
 *  `end_offset` is the changelog's end offset (for `remaining`), -1 if unknown;
 *  `progress` (may be NULL) gets the totals. With retain_duplicates the
 *  sequence counter continues above the largest one restored. @locality stream thread */
brook_err_t brook_window_store_restore(brook_window_store_t *store, const brook_changelog_record_t *records,
                                       size_t n, int64_t end_offset, brook_restore_progress_t *progress,
                                       char *errstr, size_t errstr_size);
/** Progress so far (all zero before the first batch). */
void brook_window_store_restore_progress(const brook_window_store_t *store,
                                         brook_restore_progress_t *progress);

/** Writes the record cache through (changelog, store, listener), then persists
 *  every segment's memtables and the stream time (call before writing a
 *  checkpoint). */
brook_err_t brook_window_store_flush(brook_window_store_t *store, char *errstr, size_t errstr_size);

/** Installs the forwarding hook (brook_cache_flush_listener_t in brook_state.h;
 *  NULL removes it): called for every write that reaches the store — with the
 *  cache, once per store key per flush or eviction — with the store key (key +
 *  start + seqnum: decode it with brook_window_store_key_decode), the new value
 *  (NULL: delete) and the value it replaced (NULL: none). With a listener each
 *  write-through reads the old value first. */
void brook_window_store_set_flush_listener(brook_window_store_t *store,
                                           const brook_cache_flush_listener_t *listener);
/** True when a record cache sits in front (opts.store.cached, a non-zero
 *  statestore.cache.max.bytes, and no retain_duplicates). */
bool brook_window_store_is_cached(const brook_window_store_t *store);

void brook_window_store_stats(const brook_window_store_t *store, brook_window_store_stats_t *stats);
/** The store's name and changelog topic. (transfer none, valid until close) */
const char *brook_window_store_name(const brook_window_store_t *store);
const char *brook_window_store_changelog_topic(const brook_window_store_t *store);

/* ---- read-only views (interactive queries) ----
 *
 * A view reads the segments themselves, not the record cache: writes still in
 * a cache show after the next flush or eviction. Consistency: the owner's
 * writes reach views in groups — one put (with the segment drops it causes),
 * one restore batch, one cache flush or eviction, one session merge — and a
 * view never sees part of a group, across segments too: a view get runs
 * between two groups, and a view iterator reads a point-in-time image taken
 * when it is created (RocksDB: a snapshot of every segment it will visit; in
 * memory: a copy of the entries in range), so later writes, new segments and
 * segments the owner drops (they stay open until the iterator lets go) do not
 * change what it returns. Expiry is as of creation. After the store closes,
 * view calls return BROOK_ERR__STATE and open view iterators end with it
 * (brook_window_iter_error). The owner thread must not use a view of its own
 * store inside its flush listener (the writer holds the views' lock then).
 *
 * Iterators from views are ordinary brook_window_iter_t (forward order, as
 * fetch/fetch_range/fetch_all), used and destroyed on the thread that made
 * them; their key/value pointers are the iterator's own copies, valid until
 * the next brook_window_iter_next or destroy, even if the store closes. */

/** A view for other threads. (transfer full: brook_window_view_destroy)
 *  @locality created on the owner thread (while the store is open); used and
 *  destroyed on any thread (one thread at a time per view). It may outlive
 *  the store. */
brook_window_view_t *brook_window_store_view(brook_window_store_t *store);
/** NULL is a no-op. Open iterators from the view stay usable. */
void brook_window_view_destroy(brook_window_view_t *view);
/** As brook_window_store_get: BROOK_ERR__NOENT if none, _STATE once closed.
 *  (transfer full: free()) */
brook_err_t brook_window_view_get(brook_window_view_t *view, const void *key, size_t key_len,
                                  int64_t window_start, void **valuep, size_t *value_lenp, char *errstr,
                                  size_t errstr_size);
/** As the store's fetch / fetch_range / fetch_all; _STATE (and *iterp NULL)
 *  once closed. (transfer full: brook_window_iter_destroy) */
brook_err_t brook_window_view_fetch(brook_window_view_t *view, const void *key, size_t key_len,
                                    int64_t time_from, int64_t time_to, brook_window_iter_t **iterp,
                                    char *errstr, size_t errstr_size);
brook_err_t brook_window_view_fetch_range(brook_window_view_t *view, const void *key_from, size_t from_len,
                                          const void *key_to, size_t to_len, int64_t time_from,
                                          int64_t time_to, brook_window_iter_t **iterp, char *errstr,
                                          size_t errstr_size);
brook_err_t brook_window_view_fetch_all(brook_window_view_t *view, int64_t time_from, int64_t time_to,
                                        brook_window_iter_t **iterp, char *errstr, size_t errstr_size);

/* ---- iterators ---- */

/** Advances to the next window; false at the end or on an error (then
 *  brook_window_iter_error says which). Call it before reading the first. */
bool brook_window_iter_next(brook_window_iter_t *iter);
/** The current window's key and value. (transfer none, valid until the next
 *  brook_window_iter_next or destroy) */
const void *brook_window_iter_key(const brook_window_iter_t *iter, size_t *key_lenp);
const void *brook_window_iter_value(const brook_window_iter_t *iter, size_t *value_lenp);
int64_t brook_window_iter_start(const brook_window_iter_t *iter);
/** start + window_size_ms, INT64_MAX on overflow. */
int64_t brook_window_iter_end(const brook_window_iter_t *iter);
/** The store key of the current entry (key + start + seqnum). (transfer none) */
const void *brook_window_iter_store_key(const brook_window_iter_t *iter, size_t *lenp);
brook_err_t brook_window_iter_error(const brook_window_iter_t *iter, char *errstr, size_t errstr_size);
/** NULL is a no-op. */
void brook_window_iter_destroy(brook_window_iter_t *iter);

/* ---- store key layout (WindowKeySchema) ---- */

/** Writes key + start + seqnum to out (room for key_len + 12 bytes). */
void brook_window_store_key_encode(const void *key, size_t key_len, int64_t window_start, int32_t seqnum,
                                   uint8_t *out);
/** Splits a store key; false if it is shorter than 12 bytes. */
bool brook_window_store_key_decode(const void *store_key, size_t len, size_t *key_lenp,
                                   int64_t *window_startp, int32_t *seqnump);

#endif
