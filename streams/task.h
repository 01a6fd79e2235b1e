/*
 * task.h — one task: a sub-topology instantiated for one input partition
 * (task.c), and the per-record scratch arena and headers (scratch.c).
 *
 * A task owns its processor instances, its stores (in its task directory
 * "<state.dir>/<application.id>/<sub>_<partition>/") and its stream time. It
 * never touches librdkafka: the stream thread (thread.c) hands it deserialized
 * nothing — raw bytes — and gives it two callbacks to write records out (sink
 * records and changelog records both become producer sends on the thread).
 *
 * Lifecycle, driven by the owning stream thread:
 *
 *   task_new ──▶ RESTORING: task_changelogs() lists what to read;
 *                task_restore() per batch ──▶ task_restore_done()
 *            ──▶ RUNNING: processors initialised;
 *                task_process() per record (stream-time punctuation after it),
 *                task_punctuate_wall_clock() between polls,
 *                task_flush() ─(thread flushes producer)─▶ task_commit_done()
 *            ──▶ task_close(clean)
 *
 * A processor calling brook_ctx_fail() makes task_process / task_punctuate /
 * task_flush return that error (task_failed() true); the thread then stops.
 * @locality everything here: the owning stream thread.
 */
#ifndef BROOK_TASK_H
#define BROOK_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "brook_kv_store.h"
#include "brook_state.h"
#include "streams_int.h"
#include "topology_int.h"

typedef struct stream_task stream_task_t;

/** A header as raw bytes (for task_process and produce). */
typedef struct task_header {
  const char *name;
  const void *value; /* NULL = null */
  size_t value_len;
} task_header_t;

/** What a task needs from its thread. */
typedef struct task_env {
  brook_topology_t *topology; /* sealed */
  const streams_conf_t *conf;
  brook_state_env_t *state_env;
  const char *thread_name; /* for log contexts */
  /** Writes a record to a full topic name. partition -1 = the producer's
   *  partitioner (murmur2 of the key, as Java). NULL key/value = null.
   *  Non-zero = could not even queue it (the task fails with errstr). */
  brook_err_t (*produce)(void *opaque, const char *topic, int32_t partition, const void *key, size_t key_len,
                         const void *value, size_t value_len, int64_t timestamp, const task_header_t *headers,
                         size_t header_count, char *errstr, size_t errstr_size);
  void *produce_opaque;
  /** Wall clock for punctuation and brook_ctx_wall_clock (ms). */
  int64_t (*wall_clock)(void *opaque);
  void *wall_clock_opaque;
} task_env_t;

/** One changelog partition a task restores: from `start_offset` to the end. */
typedef struct task_changelog {
  const char *topic; /* full "<application.id>-<store>-changelog" (transfer none) */
  int32_t partition;
  int64_t start_offset; /* restore from here; -1 = nothing to restore (unlogged) */
  int store_index;      /* for task_restore */
} task_changelog_t;

/** Opens the task directory (BROOK_ERR__LOCKED if another process has it) and
 *  the sub-topology's stores. Processors are not initialised yet. (transfer full) */
brook_err_t task_new(const task_env_t *env, int subtopology, int32_t partition, stream_task_t **taskp,
                     char *errstr, size_t errstr_size);

/** "<sub>_<partition>". (transfer none) */
const char *task_id(const stream_task_t *task);
int task_subtopology(const stream_task_t *task);
int32_t task_partition(const stream_task_t *task);

/** The changelog partitions to restore (array valid until task_close). */
const task_changelog_t *task_changelogs(stream_task_t *task, size_t *countp);
/** Applies a batch of one changelog (store_index from task_changelogs). */
brook_err_t task_restore(stream_task_t *task, int store_index, const brook_changelog_record_t *records, size_t n,
                         int64_t end_offset, char *errstr, size_t errstr_size);
/** Restoration done: flushes and checkpoints the stores, initialises the
 *  processors (init callbacks). */
brook_err_t task_restore_done(stream_task_t *task, char *errstr, size_t errstr_size);
/** Restore progress per store, for metrics: name, records restored, remaining. */
void task_restore_metrics(stream_task_t *task,
                          void (*fn)(const char *store, uint64_t restored, int64_t remaining, void *opaque),
                          void *opaque);

/** Processes one input record of `topic` (full name) / partition: deserialize
 *  with the source's serdes (handling errors per
 *  default.deserialization.exception.handler), extract the timestamp, run it
 *  depth-first through the sub-topology, free the scratch arena, then run
 *  stream-time punctuators that are due. */
brook_err_t task_process(stream_task_t *task, const char *topic, int32_t partition, int64_t offset,
                         int64_t timestamp, const void *key, size_t key_len, const void *value, size_t value_len,
                         const task_header_t *headers, size_t header_count, char *errstr, size_t errstr_size);

/** Runs wall-clock punctuators due at `now`. */
brook_err_t task_punctuate_wall_clock(stream_task_t *task, int64_t now, char *errstr, size_t errstr_size);

/** Commit, first half: flushes every store (record caches forward downstream,
 *  so sinks may produce now). The thread then flushes its producer. */
brook_err_t task_flush(stream_task_t *task, char *errstr, size_t errstr_size);

/** Commit, second half, once the producer acknowledged everything:
 *  next_offset(topic, partition) says the changelog's next offset as the
 *  producer saw it (-1 = nothing produced to it); the task records it in its
 *  stores and writes the checkpoint file. */
brook_err_t task_commit_done(stream_task_t *task, int64_t (*next_offset)(void *opaque, const char *topic,
                                                                         int32_t partition),
                             void *opaque, char *errstr, size_t errstr_size);

/** True after brook_ctx_commit() since the last task_commit_done. */
bool task_commit_requested(const stream_task_t *task);
/** True after a processor failed the task. */
bool task_failed(const stream_task_t *task);

/** Records dropped (deserialization errors under LogAndContinue, invalid timestamps). */
uint64_t task_dropped(const stream_task_t *task);
/** Debug (tests): the task's scratch arena, blocks and bytes held. */
void task_debug_scratch_stats(const stream_task_t *task, size_t *blocksp, size_t *bytesp);

/** Stream time (-1 before the first record) and records processed. */
int64_t task_stream_time(const stream_task_t *task);
uint64_t task_processed(const stream_task_t *task);

/** clean: close processors, flush and checkpoint the stores (the thread has
 *  committed). !clean (failure, lost partitions in error): close processors
 *  and stores without a checkpoint. Frees. NULL is a no-op. */
void task_close(stream_task_t *task, bool clean);

/* ---- scratch arena (scratch.c) ---- */

typedef struct scratch scratch_t;

scratch_t *scratch_new(void);
void scratch_destroy(scratch_t *scratch);
/** Makes `scratch` the calling thread's current arena (NULL: none) and returns
 *  the previous one (nesting). */
scratch_t *scratch_enter(scratch_t *scratch);
/** Frees everything allocated since the last reset (runs brook_scratch_own
 *  frees), keeping one block for reuse so steady state does not allocate. */
void scratch_reset(scratch_t *scratch);

/** Debug (tests): blocks and bytes the arena holds. */
void scratch_debug_stats(const scratch_t *scratch, size_t *blocksp, size_t *bytesp);

/** Headers in scratch memory built from raw ones (copies nothing: the raw
 *  pointers must outlive the record). */
brook_headers_t *scratch_headers_new(const task_header_t *headers, size_t count);
/** The headers as a raw array (scratch memory) for produce. */
const task_header_t *scratch_headers_raw(const brook_headers_t *headers, size_t *countp);

#endif
