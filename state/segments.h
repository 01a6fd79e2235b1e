/*
 * segments.h — the segmented bytes store under the window and session stores
 * (internal to state/). See segments.c for the design note.
 *
 * A store key ends in a fixed-size suffix whose first 8 bytes are the
 * big-endian timestamp that picks the segment (window start for window stores,
 * session end for session stores):
 *
 *     window:  [key][start: i64 BE][seqnum: i32 BE]      suffix 12
 *     session: [key][end: i64 BE][start: i64 BE]          suffix 16
 *
 * Keys are ordered bytewise inside a segment; segments are ordered by id.
 */
#ifndef BROOK_STATE_SEGMENTS_H
#define BROOK_STATE_SEGMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brook_state.h"

typedef struct state_seg_store state_seg_store_t;
typedef struct state_seg_iter state_seg_iter_t;

typedef struct state_seg_conf {
  const char *name; /* store name (directory, segment names, messages) */
  const char *path; /* "<task dir>/rocksdb/<name>"; NULL when in memory */
  bool in_memory;
  int64_t retention_ms;            /* > 0 */
  int64_t interval_ms;             /* > 0 */
  size_t suffix_len;               /* 12 (window) or 16 (session) */
  const char *kind;                /* "window" / "session", for messages */
  const brook_store_opts_t *store; /* logged, partition, sink */
  brook_task_dir_t *dir;           /* checkpoint entries; NULL when in memory */
  bool cached;                     /* a record cache in front (if the env has a budget) */
} state_seg_conf_t;

/** Opens the store, opening every existing segment directory under conf->path.
 *  A logged RocksDB store without a checkpoint entry for its changelog
 *  partition is wiped first (restore point 0), as key-value stores are.
 *  (transfer full) @locality stream thread */
brook_err_t state_seg_store_open(brook_state_env_t *env, const state_seg_conf_t *conf,
                                 state_seg_store_t **ssp, char *errstr, size_t errstr_size);
/** Flushes and closes (segments still referenced by iterators close when those
 *  are destroyed). NULL is a no-op. */
void state_seg_store_close(state_seg_store_t *ss);

/** Writes store key `skey` (value NULL: delete). Advances stream time to the
 *  key's segment timestamp; a record at or below stream time - retention is
 *  dropped (*droppedp = true, counted, logged at debug as Kafka Streams does).
 *  Uncached, the change goes to the changelog sink first (if logged; its error
 *  fails the write and nothing changes) with `timestamp`, then to the segment,
 *  then to the listener. Cached, it goes into the cache and reaches sink, store
 *  and listener when flushed or evicted (an error then is from evicted
 *  entries; this write stays cached). Segments that fell out of retention are
 *  then dropped whole. */
brook_err_t state_seg_store_put(state_seg_store_t *ss, const void *skey, size_t sklen, const void *value,
                                size_t vlen, int64_t timestamp, bool *droppedp, char *errstr,
                                size_t errstr_size);

/** Point lookup (cache first). Returns BROOK_ERR__NOENT when absent or
 *  expired; on success *valuep is malloc'd (transfer full: free()). */
brook_err_t state_seg_store_get(state_seg_store_t *ss, const void *skey, size_t sklen, void **valuep,
                                size_t *vlenp, char *errstr, size_t errstr_size);

/** Applies a batch of changelog records (WAL off, one write batch per segment),
 *  dropping those expired by the stream time after the batch; advances the
 *  offset to the last record's + 1 and the progress totals (remaining from
 *  end_offset, -1 if unknown). `progress` (may be NULL) gets the totals. */
brook_err_t state_seg_store_restore(state_seg_store_t *ss, const brook_changelog_record_t *records, size_t n,
                                    int64_t end_offset, brook_restore_progress_t *progress, char *errstr,
                                    size_t errstr_size);
void state_seg_store_restore_progress(const state_seg_store_t *ss, brook_restore_progress_t *progress);
/** Where restoration starts: 0 after a wipe or for a logged in-memory store,
 *  the checkpointed offset otherwise, -1 when unlogged. */
int64_t state_seg_store_restore_start(const state_seg_store_t *ss);
bool state_seg_store_was_wiped(const state_seg_store_t *ss);
/** The changelog offset the store reflects after the last flush was acked;
 *  also sets the task dir's checkpoint entry (not the file). */
void state_seg_store_set_offset(state_seg_store_t *ss, int64_t next_offset);

/** Writes the cache through, then persists memtables and stream time. */
brook_err_t state_seg_store_flush(state_seg_store_t *ss, char *errstr, size_t errstr_size);
/** The forwarding hook (NULL removes it); called with the store key for every
 *  write that reaches the store, with the value it replaced. */
void state_seg_store_set_listener(state_seg_store_t *ss, const brook_cache_flush_listener_t *listener);
bool state_seg_store_is_cached(const state_seg_store_t *ss);

/** Observed stream time (-1 before any record), the smallest segment timestamp
 *  still visible (stream time - retention + 1, at least 0), open segments,
 *  expired-record drops. */
int64_t state_seg_store_stream_time(const state_seg_store_t *ss);
int64_t state_seg_store_min_visible(const state_seg_store_t *ss);
size_t state_seg_store_segments(const state_seg_store_t *ss);
uint64_t state_seg_store_expired_drops(const state_seg_store_t *ss);
const char *state_seg_store_topic(const state_seg_store_t *ss);

/** Accepts or skips a store key found in the scan range. */
typedef bool (*state_seg_filter_fn)(void *ctx, const uint8_t *skey, size_t sklen);

/** Iterates store keys in [lower, upper] (bytewise, both inclusive; NULL =
 *  unbounded) of the segments whose timestamps may lie in [ts_from, ts_to],
 *  segment by segment (ascending ids, ascending keys; both reversed when
 *  backward), yielding those `filter` accepts. The iterator takes `lower` and
 *  `upper` (transfer full, g_malloc'd; `upper` must have room for upper_len + 1
 *  bytes), and `filter_ctx`, freed with `ctx_free` (may be NULL).
 *  (transfer full) */
state_seg_iter_t *state_seg_iter_new(state_seg_store_t *ss, int64_t ts_from, int64_t ts_to, uint8_t *lower,
                                     size_t lower_len, uint8_t *upper, size_t upper_len, bool backward,
                                     state_seg_filter_fn filter, void *filter_ctx, void (*ctx_free)(void *));
/** Advances to the next accepted entry; false at the end or on error (see
 *  state_seg_iter_error). */
bool state_seg_iter_next(state_seg_iter_t *it);
/** The current entry. (transfer none, valid until the next state_seg_iter_next) */
const uint8_t *state_seg_iter_key(const state_seg_iter_t *it, size_t *lenp);
const uint8_t *state_seg_iter_value(const state_seg_iter_t *it, size_t *lenp);
/** The error that ended iteration (0 if it simply ended); errstr filled. */
brook_err_t state_seg_iter_error(const state_seg_iter_t *it, char *errstr, size_t errstr_size);
void state_seg_iter_destroy(state_seg_iter_t *it);

/* ---- read-only views (interactive queries; see segments.c "Views") ---- */

typedef struct state_seg_view state_seg_view_t;

/** A view of the store for other threads: it reads the segments themselves,
 *  not the record cache. (transfer full: state_seg_view_destroy)
 *  @locality created on the owner thread; used and destroyed on any thread */
state_seg_view_t *state_seg_store_view(state_seg_store_t *ss);
/** NULL is a no-op. @locality any */
void state_seg_view_destroy(state_seg_view_t *view);
/** Point lookup of a store key: BROOK_ERR__NOENT when absent or expired,
 *  BROOK_ERR__STATE once the store is closed. *valuep is malloc'd (transfer
 *  full: free()). @locality any */
brook_err_t state_seg_view_get(state_seg_view_t *view, const void *skey, size_t sklen, void **valuep,
                               size_t *vlenp, char *errstr, size_t errstr_size);
/** As state_seg_iter_new, on a point-in-time image of the store taken now:
 *  every segment in range, each at the state it had when the iterator was
 *  created (RocksDB: a snapshot per segment, taken under the store's lock; in
 *  memory: a copy of the entries in range). Segment timestamps below the oldest
 *  visible one at creation are skipped. If the store is closed (now or later)
 *  the iterator ends with BROOK_ERR__STATE. The iterator's key and value are
 *  its own copies. (transfer full) @locality any (one thread at a time) */
state_seg_iter_t *state_seg_view_iter_new(state_seg_view_t *view, int64_t ts_from, int64_t ts_to,
                                          uint8_t *lower, size_t lower_len, uint8_t *upper, size_t upper_len,
                                          bool backward, state_seg_filter_fn filter, void *filter_ctx,
                                          void (*ctx_free)(void *));
/** Makes the owner's next writes one atomic group for views (recursive; pair
 *  with state_seg_store_unlock_writes): a view sees all of them or none. Must
 *  not be held while the owner thread itself calls a view of this store.
 *  @locality stream thread */
void state_seg_store_lock_writes(state_seg_store_t *ss);
void state_seg_store_unlock_writes(state_seg_store_t *ss);

/* ---- key schema helpers shared by both stores ---- */

/** Upper scan bound for keys in [key_from, key_to] (key_from NULL = unbounded)
 *  whose suffix is at most max_suffix (suffix_len bytes): the greatest of
 *  p + max_suffix over the prefixes p of key_to that are >= key_from. A store key
 *  whose key part is a proper prefix of key_to can sort after key_to itself
 *  ("a"+ts > "ab" when ts's first byte > 'b'), which is why the prefixes count.
 *  The result has one spare byte at the end for state_seg_iter_new. NULL when no
 *  prefix qualifies (key_from > key_to). (transfer full: g_free) */
uint8_t *state_seg_range_upper(const void *key_from, size_t from_len, const void *key_to, size_t to_len,
                               const uint8_t *max_suffix, size_t suffix_len, size_t *lenp);

/** Segment id of a timestamp: floor(ts / interval). */
int64_t state_seg_id_of(int64_t ts, int64_t interval);

#endif
