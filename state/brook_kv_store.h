/*
 * brook_kv_store.h — key-value stores (plain and timestamped), persistent in
 * RocksDB or in memory, with a changelog, restore, a record cache and
 * read-only views for interactive queries.
 *
 * Keys and values are byte strings; keys are ordered bytewise (memcmp, shorter
 * prefix first), as RocksDB's default comparator. A timestamped store keeps each
 * value with the timestamp of the record it came from, stored as Kafka Streams'
 * ValueAndTimestamp (8-byte big-endian timestamp, then the value); its changelog
 * carries the plain value with the timestamp as the record timestamp.
 *
 * Lifecycle, by the owner (the stream thread running the task):
 *
 *   brook_kv_store_open ─▶ restore_start() = X ─▶ brook_kv_store_restore(batch)…
 *     ─▶ flush + checkpoint ─▶ get/put/delete/range… ─▶ flush (commit):
 *        brook_kv_store_flush(), brook_kv_store_set_offset(next changelog offset),
 *        brook_task_dir_checkpoint_write() ─▶ … ─▶ brook_kv_store_close
 *
 * Restore point X: a logged RocksDB store whose changelog partition has no entry
 * in the task checkpoint (unclean shutdown, or never checkpointed) is WIPED at
 * open and X = 0; with an entry, X = the checkpointed offset (the store holds
 * everything before it). A logged in-memory store always has X = 0. An unlogged
 * store has nothing to restore: X = -1.
 *
 * Borrowed pointers: a value returned by a store function (get, put_if_absent,
 * delete) is (transfer none) and valid until the next call on the same store.
 * Iterator keys/values are valid until the next brook_kv_iter_next() or
 * brook_kv_iter_destroy(). An iterator reads a snapshot taken when it is
 * created: later writes do not show in it, and writing while iterating is safe.
 *
 * Errors: BROOK_ERR__NOENT is "no such key" (not a failure). Other failures come
 * with a message from brook_kv_store_errstr(). A changelog sink that fails makes
 * the write fail without applying it to the store.
 *
 * Threads: a store and its iterators belong to the owner thread. Views
 * (brook_kv_store_view) may be used from any thread.
 */
#ifndef BROOK_KV_STORE_H
#define BROOK_KV_STORE_H

#include "brook_state.h"

typedef struct brook_kv_store brook_kv_store_t;
typedef struct brook_kv_iter brook_kv_iter_t;
typedef struct brook_kv_view brook_kv_view_t;

/** brook_kv_store_open flags. */
enum {
  BROOK_KV_TIMESTAMPED = 1 << 0, /**< values carry their record timestamp */
};

/** One write of brook_kv_store_put_all. value == NULL deletes. */
typedef struct brook_kv_entry {
  const void *key;
  size_t key_len;
  const void *value;
  size_t value_len;
  int64_t timestamp;
} brook_kv_entry_t;

/** Opens (creating) store opts->name. RocksDB stores live in `dir`
 *  ("<task dir>/rocksdb/<name>/"); in-memory stores may pass dir == NULL.
 *  opts is copied; opts->sink is required when opts->logged. With opts->cached
 *  and a non-zero statestore.cache.max.bytes, a record cache sits in front.
 *  Errors: _BAD_CONFIG, _LOCKED (another instance has the store open),
 *  _CORRUPT, _NOSPC, _IO, with errstr. (transfer full) @locality owner */
brook_err_t brook_kv_store_open(brook_state_env_t *env, brook_task_dir_t *dir, const brook_store_opts_t *opts,
                                unsigned flags, brook_kv_store_t **storep, char *errstr, size_t errstr_size);

/** Flushes the cache (errors are logged: call brook_kv_store_flush first to see
 *  them), ends open iterators and views, closes. NULL is a no-op. @locality owner */
void brook_kv_store_close(brook_kv_store_t *store);

/** Store name and changelog topic "<application.id>-<name>-changelog".
 *  (transfer none, valid until close) */
const char *brook_kv_store_name(const brook_kv_store_t *store);
const char *brook_kv_store_changelog_topic(const brook_kv_store_t *store);
/** The message of the last failure on this store. (transfer none, valid until
 *  the next call on the store) */
const char *brook_kv_store_errstr(const brook_kv_store_t *store);

/* ---- reads and writes ---- */

/** Looks key up. Returns BROOK_ERR_NONE with *valuep (transfer none, valid until
 *  the next call on the store), BROOK_ERR__NOENT when absent, or an error.
 *  timestampp (may be NULL) gets the record timestamp of a timestamped store,
 *  -1 otherwise. Reads see writes still in the cache. */
brook_err_t brook_kv_store_get(brook_kv_store_t *store, const void *key, size_t key_len, const void **valuep,
                               size_t *value_lenp, int64_t *timestampp);

/** Puts key → value (value == NULL deletes, writing a tombstone). `timestamp`
 *  is the record timestamp: the changelog record's, and the stored one of a
 *  timestamped store. */
brook_err_t brook_kv_store_put(brook_kv_store_t *store, const void *key, size_t key_len, const void *value,
                               size_t value_len, int64_t timestamp);

/** Puts only if key is absent. *existingp (may be NULL) is NULL when the put
 *  happened, else the value already there (transfer none, valid until the next
 *  call on the store); nothing is written then. */
brook_err_t brook_kv_store_put_if_absent(brook_kv_store_t *store, const void *key, size_t key_len,
                                         const void *value, size_t value_len, int64_t timestamp,
                                         const void **existingp, size_t *existing_lenp);

/** Deletes key (a tombstone goes to the changelog whether or not it existed).
 *  *oldp (may be NULL) gets the previous value or NULL (transfer none, valid until
 *  the next call on the store). */
brook_err_t brook_kv_store_delete(brook_kv_store_t *store, const void *key, size_t key_len, int64_t timestamp,
                                  const void **oldp, size_t *old_lenp);

/** Applies entries atomically: one RocksDB WriteBatch (cached stores put each
 *  entry into the cache; they reach the store together at the next flush). */
brook_err_t brook_kv_store_put_all(brook_kv_store_t *store, const brook_kv_entry_t *entries, size_t n);

/** Entries with from <= key < to (NULL = unbounded on that side), in key order,
 *  or in reverse key order. (transfer full) */
brook_kv_iter_t *brook_kv_store_range(brook_kv_store_t *store, const void *from, size_t from_len,
                                      const void *to, size_t to_len, bool reverse);
/** Entries whose key starts with prefix, in key order. (transfer full) */
brook_kv_iter_t *brook_kv_store_prefix(brook_kv_store_t *store, const void *prefix, size_t prefix_len);
/** Every entry. (transfer full) */
brook_kv_iter_t *brook_kv_store_all(brook_kv_store_t *store, bool reverse);

/** Next entry: true with the pointers set (transfer none, valid until the next
 *  call on this iterator), false at the end or on an error (see iter_err).
 *  value_len/timestampp may be NULL. */
bool brook_kv_iter_next(brook_kv_iter_t *iter, const void **key, size_t *key_len, const void **value,
                        size_t *value_len, int64_t *timestampp);
/** Why next() returned false: BROOK_ERR_NONE at the end of the range, _STATE if
 *  the store was closed under the iterator, _CORRUPT/_IO from RocksDB. */
brook_err_t brook_kv_iter_err(brook_kv_iter_t *iter, char *errstr, size_t errstr_size);
/** NULL is a no-op. @locality the thread that created it */
void brook_kv_iter_destroy(brook_kv_iter_t *iter);

/** Estimated number of keys (RocksDB's estimate; exact in memory; the cache's
 *  unflushed entries are not counted). */
uint64_t brook_kv_store_approximate_count(brook_kv_store_t *store);

/* ---- forwarding ---- */

/** Installs the forwarding hook (see brook_cache_flush_listener_t in
 *  brook_state.h); NULL removes it. With a listener the store reads the old
 *  value before each write through. */
void brook_kv_store_set_flush_listener(brook_kv_store_t *store, const brook_cache_flush_listener_t *listener);
/** True when a record cache sits in front of the store. */
bool brook_kv_store_is_cached(const brook_kv_store_t *store);

/* ---- commit: flush and checkpoint ---- */

/** Writes the cache's dirty entries through (store + changelog + listener) and
 *  makes the store durable (rocksdb_flush). For a RocksDB store in a task dir,
 *  also sets the dir's checkpoint entry for this changelog partition to
 *  brook_kv_store_offset() when that is known; the owner then writes the file
 *  with brook_task_dir_checkpoint_write. */
brook_err_t brook_kv_store_flush(brook_kv_store_t *store);

/** Next changelog offset the store reflects: restored through, or as last set;
 *  -1 when unknown or unlogged. */
int64_t brook_kv_store_offset(const brook_kv_store_t *store);
/** Tells the store that the changelog holds everything written so far up to
 *  next_offset (exclusive): the runtime calls this when the producer has acked
 *  the records from the last flush. Also updates the task dir's checkpoint
 *  entry (not the file). */
void brook_kv_store_set_offset(brook_kv_store_t *store, int64_t next_offset);

/* ---- restore ---- */

/** The changelog offset restoration must start from: 0 after a wipe or for an
 *  in-memory store, the checkpointed offset otherwise, -1 for unlogged stores. */
int64_t brook_kv_store_restore_start(const brook_kv_store_t *store);
/** True when open wiped local data that had no checkpoint (unclean shutdown). */
bool brook_kv_store_was_wiped(const brook_kv_store_t *store);

/** Applies a batch of changelog records (in offset order) as one WriteBatch
 *  without the WAL: no cache, no sink, no listener. Advances the store's offset
 *  to the last record's offset + 1. `end_offset` is the changelog's end offset
 *  (for `remaining`), -1 if unknown. progress (may be NULL) gets the totals.
 *  When restoration is complete, flush and checkpoint before processing. */
brook_err_t brook_kv_store_restore(brook_kv_store_t *store, const brook_changelog_record_t *records, size_t n,
                                   int64_t end_offset, brook_restore_progress_t *progress);
/** Progress so far (all zero before the first batch). */
void brook_kv_store_restore_progress(const brook_kv_store_t *store, brook_restore_progress_t *progress);

/* ---- read-only views (interactive queries) ---- */

/** A read-only view of the store for other threads. It reads the store itself,
 *  not the cache: writes still in a record cache show after the next flush or
 *  eviction. A view never sees half of an atomic write (put_all, cache flush,
 *  restore batch). After the store closes, view calls return BROOK_ERR__STATE.
 *  (transfer full) @locality created on the owner thread, used and destroyed
 *  on any thread (one thread at a time per view) */
brook_kv_view_t *brook_kv_store_view(brook_kv_store_t *store);
void brook_kv_view_destroy(brook_kv_view_t *view);

/** Point lookup. *valuep is (transfer full): release it with brook_kv_free().
 *  BROOK_ERR__NOENT when absent, _STATE when the store is closed. */
brook_err_t brook_kv_view_get(brook_kv_view_t *view, const void *key, size_t key_len, void **valuep,
                              size_t *value_lenp, int64_t *timestampp);
/** Range/prefix/all scans on a consistent snapshot, as the store's; the
 *  iterator may be used on the calling thread only and ends (err _STATE) if the
 *  store closes. (transfer full) */
brook_kv_iter_t *brook_kv_view_range(brook_kv_view_t *view, const void *from, size_t from_len, const void *to,
                                     size_t to_len, bool reverse);
brook_kv_iter_t *brook_kv_view_prefix(brook_kv_view_t *view, const void *prefix, size_t prefix_len);
brook_kv_iter_t *brook_kv_view_all(brook_kv_view_t *view, bool reverse);
/** 0 after the store closed. */
uint64_t brook_kv_view_approximate_count(brook_kv_view_t *view);

/** Frees a value returned (transfer full) by a view. NULL is a no-op. */
void brook_kv_free(void *value);

#endif
