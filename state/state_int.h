/*
 * state_int.h — what the store implementations share inside state/ (not
 * public). The environment owns the shared RocksDB block cache and the memory
 * budget; every RocksDB-backed store gets its options from it and registers
 * while open so the budget can be re-divided.
 */
#ifndef BROOK_STATE_INT_H
#define BROOK_STATE_INT_H

#include <glib.h>
#include <rocksdb/c.h>
#include <stdatomic.h>

#include "brook_state.h"

/** RocksDB options for a new store named `store_name` under `env`: shared block
 *  cache, a write-buffer size within the budget, create_if_missing, the user's
 *  config setter applied last. (transfer full: rocksdb_options_destroy) */
rocksdb_options_t *state_env_rocksdb_options(brook_state_env_t *env, const char *store_name);

/** Registers an open RocksDB instance with the budget (so memtable sizes can be
 *  re-divided as stores open and close); unregister before rocksdb_close. */
void state_env_db_opened(brook_state_env_t *env, rocksdb_t *db);
void state_env_db_closed(brook_state_env_t *env, rocksdb_t *db);

/** The application id and the changelog topic name for a store,
 *  "<application.id>-<store>-changelog". (transfer full: g_free) */
const char *state_env_application_id(const brook_state_env_t *env);
char *state_changelog_topic(const brook_state_env_t *env, const char *store_name);

/** Maps a RocksDB error string to a brook_err_t (corruption → _CORRUPT,
 *  no space → _NOSPC, lock → _LOCKED, else _IO), copies it into errstr prefixed
 *  with `what`, and frees `rerr`. */
brook_err_t state_rocksdb_err(char *rerr, const char *what, char *errstr, size_t errstr_size);

/* ---- additions (core stores): environment internals ---- */

/** "<state.dir>" and the cache budget. (transfer none, valid while env lives) */
const char *state_env_state_dir(const brook_state_env_t *env);
uint64_t state_env_cache_max_bytes(const brook_state_env_t *env);

/** Adds `delta` (negative to release) to the bytes held by all record caches of
 *  the application and returns the new total. @locality any (atomic) */
uint64_t state_env_cache_charge(brook_state_env_t *env, int64_t delta);

/** Memory budget figures, for tests and logs: the per-store memtable size now in
 *  force, the number of open RocksDB instances, the block cache capacity and its
 *  current usage. @locality any */
typedef struct state_env_mem {
  size_t write_buffer_size;
  int max_write_buffer_number;
  size_t open_dbs;
  size_t block_cache_capacity;
  size_t block_cache_usage;
  uint64_t memtable_budget;
  /** the bound the environment promises for RocksDB memory (block cache +
   *  memtables), see env.c's design note. */
  uint64_t rocksdb_bound;
} state_env_mem_t;
void state_env_mem_get(brook_state_env_t *env, state_env_mem_t *mem);

/* ---- task directories ---- */

/** "<task dir>/rocksdb/<store name>" (transfer full: g_free). */
char *state_task_dir_store_path(const brook_task_dir_t *dir, const char *store_name);

/* ---- reference-counted byte blobs (cache entries, in-memory store) ---- */

/** An immutable byte string with an atomic reference count, so a snapshot taken
 *  by an iterator or a view on another thread can outlive a later overwrite. */
typedef struct state_blob {
  atomic_int ref;
  size_t len;
  unsigned char data[];
} state_blob_t;

/** New blob holding a copy of data[0..len) (data may be NULL when len is 0). (transfer full) */
state_blob_t *state_blob_new(const void *data, size_t len);
/** New blob: 8-byte big-endian `ts` followed by data[0..len) (Kafka Streams'
 *  ValueAndTimestamp layout). (transfer full) */
state_blob_t *state_blob_new_ts(int64_t ts, const void *data, size_t len);
state_blob_t *state_blob_ref(state_blob_t *blob);
void state_blob_unref(state_blob_t *blob);
/** Bytewise comparison, shorter prefix first (RocksDB's BytewiseComparator). */
int state_bytes_cmp(const void *a, size_t alen, const void *b, size_t blen);

/* ---- the record cache (cache.c): generic over byte keys ---- */

/** A write-back cache in front of one store, keyed by the store's byte key.
 *  Owned by the store's thread. Its bytes count against the environment's
 *  "statestore.cache.max.bytes", shared by every cache of the application. */
typedef struct state_cache state_cache_t;

/** One dirty entry handed to the store when the cache flushes or evicts it.
 *  value == NULL is a delete. Pointers are valid for the call only. */
typedef struct state_cache_dirty {
  const void *key;
  size_t key_len;
  const void *value;
  size_t value_len;
  int64_t timestamp;
} state_cache_dirty_t;

/** Writes dirty entries through to the store (and its changelog). Called with
 *  the entries in the order they first became dirty, once per flush or per
 *  eviction round. A non-zero return keeps the entries dirty (flush fails). */
typedef brook_err_t (*state_cache_write_fn)(void *opaque, const state_cache_dirty_t *entries, size_t n,
                                            char *errstr, size_t errstr_size);

/** (transfer full) @locality store thread */
state_cache_t *state_cache_new(brook_state_env_t *env, const char *name, state_cache_write_fn write, void *opaque);
/** Frees the cache, dropping (not writing) dirty entries: flush first. NULL ok. */
void state_cache_destroy(state_cache_t *cache);

/** Looks `key` up. Returns false on a miss. On a hit *valuep is NULL for a cached
 *  delete, else points into the cache: (transfer none) valid until the next
 *  put/flush/evict on this cache. Marks the entry most recently used. */
bool state_cache_get(state_cache_t *cache, const void *key, size_t key_len, const void **valuep, size_t *value_lenp,
                     int64_t *timestampp);
/** Puts a dirty entry (value NULL = delete), then evicts least-recently-used
 *  entries while the application's caches exceed their budget; dirty evicted
 *  entries are written through with `write` first. An error from `write` is
 *  returned (the entries stay cached and dirty). */
brook_err_t state_cache_put(state_cache_t *cache, const void *key, size_t key_len, const void *value,
                            size_t value_len, int64_t timestamp, char *errstr, size_t errstr_size);
/** Caches a clean entry (a value read from the store; value NULL = known absent). */
void state_cache_put_clean(state_cache_t *cache, const void *key, size_t key_len, const void *value,
                           size_t value_len, int64_t timestamp);
/** Writes every dirty entry through (one `write` call) and marks them clean. */
brook_err_t state_cache_flush(state_cache_t *cache, char *errstr, size_t errstr_size);
/** Drops every entry (dirty ones are lost): used when the store is wiped. */
void state_cache_clear(state_cache_t *cache);
size_t state_cache_entries(const state_cache_t *cache);
size_t state_cache_dirty_count(const state_cache_t *cache);
uint64_t state_cache_bytes(const state_cache_t *cache);

/** A snapshot of the cached entries with key in [from, to) (NULL = unbounded),
 *  in key order, taken at the call: later writes do not show. Deletes appear
 *  with value NULL so a merging iterator can hide the store's entry. */
typedef struct state_cache_snap_entry {
  state_blob_t *key;
  state_blob_t *value; /* NULL = delete */
  int64_t timestamp;
} state_cache_snap_entry_t;
typedef struct state_cache_snap {
  state_cache_snap_entry_t *entries;
  size_t n;
} state_cache_snap_t;
/** Fills snap (transfer full: state_cache_snap_clear). */
void state_cache_snapshot(state_cache_t *cache, const void *from, size_t from_len, const void *to, size_t to_len,
                          state_cache_snap_t *snap);
void state_cache_snap_clear(state_cache_snap_t *snap);

/* ---- key-value backends (kv_rocksdb.c, kv_memory.c) behind kv_store.c ---- */

/** One write of an atomic batch; value == NULL deletes. */
typedef struct state_kv_op {
  const void *key;
  size_t key_len;
  const void *value;
  size_t value_len;
} state_kv_op_t;

/** A backend iterator over [from, to). next() returns entries in order; the
 *  pointers are valid until the next call to next() or destroy(). */
typedef struct state_kv_iter state_kv_iter_t;
typedef struct state_kv_iter_ops {
  bool (*next)(state_kv_iter_t *it, const void **key, size_t *key_len, const void **value, size_t *value_len);
  /** BROOK_ERR_NONE, or why next() stopped early (_STATE: store closed). */
  brook_err_t (*status)(state_kv_iter_t *it, char *errstr, size_t errstr_size);
  void (*destroy)(state_kv_iter_t *it);
} state_kv_iter_ops_t;
struct state_kv_iter {
  const state_kv_iter_ops_t *ops;
};

typedef struct state_kv_backend state_kv_backend_t;
typedef struct state_kv_backend_ops {
  /** Owner thread: *valuep borrowed until the next call on the backend. */
  brook_err_t (*get)(state_kv_backend_t *b, const void *key, size_t key_len, const void **valuep,
                     size_t *value_lenp, char *errstr, size_t errstr_size);
  /** Any thread (the caller holds b->lock for reading): a malloc'd copy, (transfer full: free). */
  brook_err_t (*get_copy)(state_kv_backend_t *b, const void *key, size_t key_len, void **valuep,
                          size_t *value_lenp, char *errstr, size_t errstr_size);
  /** Owner thread: applies ops atomically (one RocksDB WriteBatch). `restore`
   *  writes without the WAL. */
  brook_err_t (*write)(state_kv_backend_t *b, const state_kv_op_t *ops, size_t n, bool restore, char *errstr,
                       size_t errstr_size);
  /** Single put/delete, same as write() with n == 1, without batch overhead. */
  brook_err_t (*put)(state_kv_backend_t *b, const void *key, size_t key_len, const void *value, size_t value_len,
                     char *errstr, size_t errstr_size);
  /** Iterator over [from, to) (NULL = unbounded), forward or reverse, reading a
   *  consistent snapshot taken now. `shared`: created for a view (another
   *  thread; the caller holds b->lock for reading around every call). */
  state_kv_iter_t *(*range)(state_kv_backend_t *b, const void *from, size_t from_len, const void *to,
                            size_t to_len, bool reverse, bool shared);
  uint64_t (*approximate_count)(state_kv_backend_t *b);
  /** Makes everything written so far durable (rocksdb_flush; no-op in memory). */
  brook_err_t (*flush)(state_kv_backend_t *b, char *errstr, size_t errstr_size);
  /** Owner thread, with b->lock held for writing: releases the storage; open
   *  iterators are ended (their next() returns false, status _STATE). */
  void (*close)(state_kv_backend_t *b);
  /** Frees the struct once the last reference is gone. */
  void (*free)(state_kv_backend_t *b);
} state_kv_backend_ops_t;

/** Common head of every backend. `lock` orders views (readers) against close
 *  and, for the in-memory backend, against writes. `ref` counts the store and
 *  its views. */
struct state_kv_backend {
  const state_kv_backend_ops_t *ops;
  atomic_int ref;
  GRWLock lock;
  bool closed;
};

/** Opens (creating) a RocksDB store at `path`. `wal`: write the WAL for normal
 *  writes (unlogged stores); logged stores rely on changelog + flush. */
brook_err_t state_kv_rocksdb_open(brook_state_env_t *env, const char *path, const char *store_name, bool wal,
                                  state_kv_backend_t **bp, char *errstr, size_t errstr_size);
/** Removes a RocksDB store's files (the store must be closed). */
brook_err_t state_kv_rocksdb_wipe(brook_state_env_t *env, const char *path, const char *store_name, char *errstr,
                                  size_t errstr_size);
/** True when `path` holds a RocksDB store (a CURRENT file). */
bool state_kv_rocksdb_exists(const char *path);
state_kv_backend_t *state_kv_memory_new(void);

void state_kv_backend_unref(state_kv_backend_t *b);

#endif
