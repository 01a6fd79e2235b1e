/*
 * thread.h — a stream thread, as app.c sees it (thread.c implements it).
 * Private to the streams runtime; see the design note at the top of thread.c.
 *
 * Locking: each thread has its own mutex for what other threads read (state,
 * error, commit generations, committed offsets, metrics). The app's lock may be
 * held while calling the getters here (app lock → thread lock); a stream thread
 * never holds its own lock while calling env->notify.
 */
#ifndef BROOK_STREAM_THREAD_H
#define BROOK_STREAM_THREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "brook_state.h"
#include "brook_streams.h"
#include "streams_int.h"
#include "topology_int.h"

typedef struct stream_thread stream_thread_t;

/** A stream thread's own state (Kafka's StreamThread.State, simplified). */
typedef enum thread_state {
  THREAD_CREATED,          /* object exists, OS thread not started */
  THREAD_STARTING,         /* polling, no assignment yet */
  THREAD_REBALANCING,      /* between a revoke and the next assignment */
  THREAD_RUNNING,          /* has its assignment, tasks restored */
  THREAD_PENDING_SHUTDOWN, /* stop requested, committing and closing */
  THREAD_DEAD,             /* loop left, clients closed (failed or not) */
} thread_state_t;

/** What a thread needs from the app. Everything is borrowed (transfer none)
 *  and outlives the thread. */
typedef struct stream_thread_env {
  brook_app_t *app;
  brook_topology_t *topology; /* sealed */
  const streams_conf_t *conf;
  brook_state_env_t *state_env;
  const char *bootstrap_servers;
  /** Subscription: full topic names and "^(regex)$" patterns, NULL-terminated. */
  char **subscription;
  /** Full names of the repartition topics (a set: key = value = name). */
  GHashTable *repartition_topics;
  int64_t repartition_purge_interval_ms;
  /** The wall clock for punctuation (ms). */
  int64_t (*wall_clock)(void *opaque);
  void *wall_clock_opaque;
  /** Called by the thread (no thread lock held) after its state, error,
   *  commit generation or punctuation progress changed. */
  void (*notify)(brook_app_t *app, stream_thread_t *thread);
  /** Optional. Called by the thread (no thread lock held) after a batch of
   *  records moved the processed positions (stream_thread_assignment).
   *  Runs once per poll round while busy: keep it cheap. */
  void (*progress)(brook_app_t *app, stream_thread_t *thread);
} stream_thread_env_t;

/** A thread named "<client.id>-StreamThread-<index>" (index from 1). Creates
 *  nothing yet. (transfer full) @locality app */
stream_thread_t *stream_thread_new(const stream_thread_env_t *env, int index);
/** Creates the consumer and producer, subscribes, starts the OS thread. */
brook_err_t stream_thread_start(stream_thread_t *thread, char *errstr, size_t errstr_size);
/** Asks the thread to stop after its current record (returns at once). */
void stream_thread_request_stop(stream_thread_t *thread);
/** Waits for the OS thread to end (no-op if never started). */
void stream_thread_join(stream_thread_t *thread);
/** Joins if needed and frees. NULL is a no-op. */
void stream_thread_destroy(stream_thread_t *thread);

const char *stream_thread_name(const stream_thread_t *thread);
/** True when called on this stream thread (e.g. from a state listener). */
bool stream_thread_is_current(const stream_thread_t *thread);
thread_state_t stream_thread_state(stream_thread_t *thread);
/** True once the thread failed; *msg (optional) gets a copy of the reason. */
bool stream_thread_failed(stream_thread_t *thread, char **msg);

/** Asks for a commit at the next loop iteration; returns the generation that
 *  stream_thread_commit_gen() reaches once that commit is done. */
uint64_t stream_thread_request_commit(stream_thread_t *thread);
uint64_t stream_thread_commit_gen(stream_thread_t *thread);
/** Number of assignments so far (changes with every rebalance). */
uint64_t stream_thread_assign_epoch(stream_thread_t *thread);
/** The wall-clock reading the thread last ran wall-clock punctuators with. */
int64_t stream_thread_punctuated_through(stream_thread_t *thread);

/** Calls fn (under the thread lock: fn must not call into the thread) for
 *  every assigned input partition that a task reads, with its committed next
 *  offset (-1 when nothing was ever committed) and its processed position: the
 *  next offset to process as published after the last batch, else the
 *  committed offset, else -1 (nothing processed, nothing committed). */
void stream_thread_assignment(stream_thread_t *thread,
                              void (*fn)(const char *topic, int32_t partition, int64_t committed, int64_t position,
                                         void *opaque),
                              void *opaque);

/** Reports the thread's, its tasks' and their stores' metrics. */
void stream_thread_metrics(stream_thread_t *thread, brook_metric_fn fn, void *opaque);

#endif
