/*
 * brook_state.h — brook's local state stores: the parts every store shares.
 *
 * A stream application keeps its state in stores. Each store lives in one
 * task's directory, is persisted in RocksDB (or kept in memory), and hands every
 * change to a changelog sink so the runtime can write it to the compacted topic
 * "<application.id>-<store>-changelog". A store lost with its machine is rebuilt
 * by feeding the changelog back through the store's restore function.
 *
 * This header holds the shared pieces: the per-application environment (state
 * directory, one RocksDB block cache and write-buffer budget for all stores),
 * task directories (lock + checkpoint file), the changelog sink and restore
 * record types, and store options. The store kinds have their own headers:
 * brook_kv_store.h, brook_window_store.h, brook_session_store.h; serdes are in
 * brook_serde.h.
 *
 * state/ never links librdkafka: the runtime provides the sink and feeds restore
 * batches. No RocksDB or GLib type appears in these public headers.
 *
 * Errors: brook_err_t (broker/base/brook_err.h). Local conditions used here:
 * BROOK_ERR__LOCKED (task directory locked by another process),
 * BROOK_ERR__CORRUPT (RocksDB corruption, bad checkpoint), BROOK_ERR__NOSPC,
 * BROOK_ERR__IO, BROOK_ERR__BAD_CONFIG, BROOK_ERR__NOENT. Functions that fail for
 * a reason a user must read also fill errstr.
 *
 * Threads: a store is owned by one thread (the stream thread running its task);
 * only read-only views (see the store headers) may be used from other threads.
 */
#ifndef BROOK_STATE_H
#define BROOK_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brook_err.h"

/** Per-application environment: state directory, application id, the shared
 *  RocksDB block cache and memory budget, the record-cache byte budget. */
typedef struct brook_state_env brook_state_env_t;

/** One task's directory "<state.dir>/<application.id>/<task id>/": locked while
 *  open; holds the checkpoint file and rocksdb/<store name>/ directories. */
typedef struct brook_task_dir brook_task_dir_t;

/** Environment settings. Names follow Kafka Streams where it has one. */
typedef struct brook_state_env_conf {
  const char *state_dir;      /**< "state.dir"; default "/tmp/kafka-streams" as Kafka Streams */
  const char *application_id; /**< "application.id"; required */
  /** "rocksdb.total.memory.bytes": block cache + memtables of every RocksDB
   *  store of this application together stay within this (0 = default 64 MiB). */
  uint64_t rocksdb_total_memory_bytes;
  /** "statestore.cache.max.bytes": the record caches of all stores together
   *  (0 = no caching; Kafka Streams' default is 10 MiB). */
  uint64_t cache_max_bytes;
  /** Optional hook to tune RocksDB options per store: called with the store
   *  name and an opaque rocksdb_options_t * (cast it; see rocksdb/c.h) before
   *  the store opens. (transfer none) */
  void (*rocksdb_config_setter)(const char *store_name, void *rocksdb_options, void *opaque);
  void *rocksdb_config_setter_opaque;
} brook_state_env_conf_t;

/** Creates the environment. Returns NULL and fills errstr on a bad config.
 *  (transfer full) @locality any */
brook_state_env_t *brook_state_env_new(const brook_state_env_conf_t *conf, char *errstr, size_t errstr_size);
/** Destroys it; every store and task dir must be closed first. NULL is a no-op. */
void brook_state_env_destroy(brook_state_env_t *env);

/** Where a changelog record goes: the runtime produces it to `topic` /
 *  `partition`. value == NULL is a tombstone. Called by the store's owning thread
 *  for every write that reaches the store (after the cache collapsed updates).
 *  Pointers are valid for the duration of the call only. A non-zero return
 *  fails the write (the store does not apply it). */
typedef struct brook_changelog_sink {
  brook_err_t (*send)(void *opaque, const char *topic, int32_t partition, const void *key, size_t key_len,
                      const void *value, size_t value_len, int64_t timestamp);
  void *opaque;
} brook_changelog_sink_t;

/** One changelog record handed to a store's restore function. value == NULL is a
 *  tombstone. `offset` is the record's changelog offset (the store's checkpoint
 *  advances to offset + 1 once the batch is applied). */
typedef struct brook_changelog_record {
  const void *key;
  size_t key_len;
  const void *value;
  size_t value_len;
  int64_t timestamp;
  int64_t offset;
} brook_changelog_record_t;

/** Restore progress, reported after each applied batch. */
typedef struct brook_restore_progress {
  uint64_t records_restored; /**< total so far for this store */
  int64_t remaining;         /**< end offset minus next offset, -1 if unknown */
  double records_per_sec;
} brook_restore_progress_t;

/** Options common to every store kind. */
typedef struct brook_store_opts {
  const char *name;     /**< store name; the changelog topic is "<application.id>-<name>-changelog" */
  bool in_memory;       /**< in-memory variant instead of RocksDB */
  bool logged;          /**< hand writes to the changelog sink (default true in the runtime) */
  bool cached;          /**< put a record cache in front (uses env's cache_max_bytes) */
  int32_t partition;    /**< changelog partition = the task's input partition */
  brook_changelog_sink_t sink;
} brook_store_opts_t;

/** Forwarding hook of a store: called for every record the store writes
 *  through to its underlying storage, i.e. with caching on, once per key per
 *  flush or eviction (the collapsed update), with caching off, once per write.
 *  The runtime sends (key, new value) downstream, and the old value too for
 *  tables that forward old and new. new_value == NULL is a delete; old_value
 *  == NULL means the key was absent. For timestamped stores the values are the
 *  plain values (no timestamp prefix) and `timestamp` is the record timestamp.
 *  Pointers are valid for the duration of the call only. Called on the store's
 *  thread, after the write reached the store and its changelog sink. */
typedef struct brook_cache_flush_listener {
  void (*apply)(void *opaque, const void *key, size_t key_len, const void *new_value, size_t new_value_len,
                const void *old_value, size_t old_value_len, int64_t timestamp);
  void *opaque;
} brook_cache_flush_listener_t;

/* ---- task directories and checkpoints ---- */

/** Opens (creating) and locks "<state.dir>/<application.id>/<task_id>/". A
 *  directory locked by another process gives BROOK_ERR__LOCKED. Reads the task's
 *  checkpoint file ".checkpoint" if there is one. (transfer full) @locality stream thread */
brook_err_t brook_task_dir_open(brook_state_env_t *env, const char *task_id, brook_task_dir_t **dirp, char *errstr,
                                size_t errstr_size);
/** Unlocks and frees. NULL is a no-op. */
void brook_task_dir_close(brook_task_dir_t *dir);
/** The checkpointed offset of changelog `topic`/`partition`, or -1 if none. */
int64_t brook_task_dir_checkpoint_get(const brook_task_dir_t *dir, const char *topic, int32_t partition);
/** Sets the offset for the next brook_task_dir_checkpoint_write. */
void brook_task_dir_checkpoint_set(brook_task_dir_t *dir, const char *topic, int32_t partition, int64_t offset);
/** Writes the checkpoint file atomically (temp file, fsync, rename). */
brook_err_t brook_task_dir_checkpoint_write(brook_task_dir_t *dir, char *errstr, size_t errstr_size);
/** Removes the checkpoint file (done while a task processes under exactly-once,
 *  as Kafka Streams does, so that a crash forces a restore unless a new
 *  checkpoint proves consistency; under at-least-once the runtime keeps the
 *  checkpoint and clears it only when a task closes uncleanly). */
brook_err_t brook_task_dir_checkpoint_clear(brook_task_dir_t *dir);
/** The directory path. (transfer none, valid until close) */
const char *brook_task_dir_path(const brook_task_dir_t *dir);

#endif
