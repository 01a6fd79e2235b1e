/*
 * thread_int.h — the stream thread's private structures and the helpers that
 * thread.c shares with restore.c and commit.c. Private to the streams runtime:
 * only thread.c, restore.c and commit.c include it; app.c uses thread.h.
 *
 * The files split the stream thread by responsibility: thread.c (clients,
 * rebalance, the processing loop, public getters), restore.c (state-store
 * restoration), commit.c (commit and repartition purge). See the design note
 * at the top of thread.c; it owns the invariants all three rely on.
 *
 * @locality everything declared here runs on the stream thread, except where a
 * comment says otherwise (fields marked "thread lock" are shared).
 */
#ifndef BROOK_STREAM_THREAD_INT_H
#define BROOK_STREAM_THREAD_INT_H

#include <librdkafka/rdkafka.h>

#include "task.h"
#include "thread.h"

#define RATE_WINDOW_S 30

typedef struct thread_task thread_task_t;

/** An assigned input partition. */
typedef struct part_state {
  char *topic; /* full name (owned) */
  int32_t partition;
  thread_task_t *ttask;   /* NULL: no sub-topology reads the topic */
  int64_t next_offset;    /* next record to process (valid once `processed`) */
  bool processed;         /* a record was processed since the assignment */
  bool dirty;             /* processed since the last commit */
  int64_t committed;      /* committed next offset, -1 = none (thread lock) */
  int64_t position;       /* next_offset as published after a batch, -1 = none (thread lock) */
  bool touched;           /* processed in the current batch (see publish_positions) */
  int64_t purged;         /* DeleteRecords sent up to here */
} part_state_t;

/* A topic this thread produces to: the producer's handle and what the broker
 * acknowledged per partition. Created on first use (sink, repartition and
 * changelog topics already when a task is created), kept until the clients
 * are destroyed. Records carry it as their msg_opaque, so a delivery report
 * finds it without a lookup. */
typedef struct out_topic {
  char *name;            /* owned */
  rd_kafka_topic_t *rkt; /* producer handle (NULL once the clients are gone) */
  int64_t *acked;        /* highest acknowledged offset per partition, -1 = none */
  int32_t acked_len;
} out_topic_t;

/* Direct-mapped memo of topic-name pointers to out_topic_t, so that the
 * per-record produce costs a pointer compare and a strcmp instead of a
 * string hash. A slot is checked by content (the pointer may be memory reused
 * for another name) and overwritten on a miss: bounded, never stale. */
#define OUT_MEMO_SLOTS 64
typedef struct out_memo {
  const char *ptr; /* the caller's pointer (compared, never dereferenced) */
  out_topic_t *ot;
} out_memo_t;

typedef struct store_snap {
  char *store;
  uint64_t restored;
  int64_t remaining;
} store_snap_t;

struct thread_task {
  stream_task_t *task;
  bool running;    /* restored and initialised */
  GPtrArray *parts; /* part_state_t * (not owned) */
  /* metrics snapshot (thread lock) */
  char *id;
  uint64_t processed;
  int64_t lag;
  GArray *stores; /* store_snap_t */
  double restore_secs;
};

typedef struct rate_window {
  int64_t sec[RATE_WINDOW_S];
  uint64_t count[RATE_WINDOW_S];
} rate_window_t;

struct stream_thread {
  stream_thread_env_t env;
  int index;
  char *name;
  char *client_id; /* "<client.id>-StreamThread-<n>" prefix for clients */
  GThread *gthread;
  GThread *self; /* set by the thread itself (gthread may not be assigned yet) */
  rd_kafka_t *consumer;
  rd_kafka_t *producer;
  rd_kafka_t *restore;
  rd_kafka_queue_t *consumer_q;
  rd_kafka_queue_t *restore_q;
  rd_kafka_queue_t *purge_q;
  task_env_t task_env;

  /* stream thread only */
  GHashTable *parts;  /* "topic|p" -> part_state_t (owned); changed under lock */
  GHashTable *tasks_by_key; /* task id -> thread_task_t (not owned; see tasks) */
  GHashTable *out_topics; /* name -> out_topic_t (owned) */
  out_memo_t out_memo[OUT_MEMO_SLOTS];
  /* process_batch: the last (consumer topic handle, partition) looked up and
   * its state; reset per batch (the handle is alive while its messages are) */
  const rd_kafka_topic_t *memo_rkt;
  int32_t memo_partition;
  part_state_t *memo_part;
  GPtrArray *touched; /* part_state_t * processed in this batch (not owned) */
  rd_kafka_resp_err_t dr_err;
  char *dr_err_msg;
  uint64_t dr_err_count;
  bool commit_needed;
  int64_t last_commit_us;
  int64_t last_purge_us;
  task_header_t *hdrs;
  size_t hdrs_cap;
  uint64_t produced_pending; /* produce-total not yet published */
  int fatal;           /* atomic: a client reported a fatal error */
  bool purging;        /* dropping unsent records on an unclean stop */
  uint64_t purged;     /* records dropped that way */
  int stop;            /* atomic */
  int failed_flag;     /* atomic copy of `failed` for the per-record check */

  /* shared (lock) */
  GMutex lock;
  thread_state_t state;
  bool failed;
  char *error;
  uint64_t commit_req_gen;
  uint64_t commit_done_gen;
  uint64_t assign_epoch;
  int64_t punctuated_through;
  bool in_loop; /* consume loop running: queue yields allowed (see wake) */
  GPtrArray *tasks; /* thread_task_t * (owned) */
  int64_t start_us;
  uint64_t process_total;
  double process_latency_sum_ms;
  double process_latency_max_ms;
  uint64_t produce_total;
  uint64_t commit_total;
  double commit_latency_sum_ms;
  double commit_latency_max_ms;
  rate_window_t process_rate;
  rate_window_t produce_rate;
};

static inline bool stopping(stream_thread_t *thread) { return g_atomic_int_get(&thread->stop) != 0; }

static inline const streams_log_t *tlog(stream_thread_t *thread) { return &thread->env.conf->log; }

static inline bool has_failed(stream_thread_t *thread) { return g_atomic_int_get(&thread->failed_flag) != 0; }

/* ------------------------------------------------------------ thread.c */

/** Records the first failure; the loop ends at its next check. */
void thread_fail(stream_thread_t *thread, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** rd_kafka_conf_set, reporting "<client> property name=value: why". */
bool thread_conf_set(rd_kafka_conf_t *conf, const char *client, const char *name, const char *value, char *errstr,
                     size_t errstr_size);
/** Applies every "<prefix>name" = value of props (borrowed; NULL: none). */
bool thread_conf_set_all(rd_kafka_conf_t *conf, const char *client, const char *prefix, GHashTable *props,
                         char *errstr, size_t errstr_size);
/** A client configuration with bootstrap servers, client id, the thread as
 *  opaque and its log/error callbacks. (transfer full) NULL on error. */
rd_kafka_conf_t *thread_base_conf(stream_thread_t *thread, const char *client_id, char *errstr, size_t errstr_size);
/** The stream threads' consumer prefetch defaults (design note, "Consumer
 *  prefetch"); set them before the user's consumer.* settings. */
bool thread_conf_set_prefetch(rd_kafka_conf_t *conf, const char *client, char *errstr, size_t errstr_size);
/** task_commit_done's acked_next_offset callback: highest acknowledged offset
 *  + 1 of a changelog partition from the delivery reports, -1 = none.
 *  opaque is the thread. */
int64_t thread_acked_next_offset(void *opaque, const char *topic, int32_t partition);

/* ------------------------------------------------------------ restore.c */

/** Restores the task's stores from their changelogs, then initialises it.
 *  Returns false on failure (thread failed) or when stopping. */
bool thread_restore_task(stream_thread_t *thread, thread_task_t *ttask);

/* ------------------------------------------------------------ commit.c */

/** Returns false when the thread failed. *clean (optional): offsets were
 *  committed (or there was nothing to commit) and the checkpoints advanced. */
bool thread_commit(stream_thread_t *thread, bool *clean);
/** Logs the results of earlier repartition purges (non-blocking). */
void thread_poll_purge_results(stream_thread_t *thread);

#endif
