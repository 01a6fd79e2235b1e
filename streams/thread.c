/*
 * thread.c — a stream thread: one consumer in the application's group, one
 * producer, a lazily created restore consumer, and the tasks for the
 * partitions the group gave it.
 *
 * Design note
 *
 * The OS thread is named "brook-st-<index>" (pthread names are cut at 15
 * characters; GLib's would be the client id's first 15) for profilers.
 *
 * Thread states (stream_thread_state; app.c folds them into the app state):
 *
 *   CREATED ──stream_thread_start──▶ STARTING ──assign cb──▶ RUNNING
 *                                                ▲             │ revoke cb
 *                                       assign cb└─REBALANCING◀┘
 *   any ──stop flag seen (loop left)──▶ PENDING_SHUTDOWN ──clients closed──▶ DEAD
 *   a failure (task error, fatal client error, production error with
 *   handler "fail") sets `failed` + `error`, the loop ends, tasks close
 *   unclean, nothing is committed, then DEAD.
 *
 * Loop (thread_main), one iteration per poll:
 *   consume_batch_queue(poll.ms, max.poll.records) → per record: task lookup
 *   by (topic, partition) (a one-entry memo on (consumer topic handle,
 *   partition), reset per batch, before the "topic|p" table: fetched records
 *   come in runs of one partition), task_process, remember next offset; the
 *   stop flag is checked between records → publish the processed positions
 *   (thread lock) and call env.progress (wait_idle waits on it); the
 *   process-latency metric is per batch as Kafka Streams' thread metric (the
 *   batch's time over its records; max of those) → wall-clock
 *   punctuation of every running task
 *   with the app's clock, "punctuated through" published → producer poll →
 *   commit when commit.interval.ms passed (monotonic), a task asked
 *   (brook_ctx_commit), or the app asked (wait_idle: generation counters).
 *
 * Rebalance (eager, in the rebalance callback, which librdkafka runs on this
 * thread from inside consume_batch_queue):
 *   revoke: commit, task_close(clean = the commit went through) every task,
 *           assign(NULL).
 *   assign: group partitions into tasks (sub-topology of the topic × partition
 *           number: the range assignor keeps partition p of co-partitioned
 *           topics on one member), task_new (a directory still locked by
 *           another thread of this process is retried with backoff for a few
 *           seconds), read the committed offsets (for wait_idle), restore
 *           every task's changelogs with the restore consumer (assign at the
 *           checkpoint, read to the high watermark, task_restore per batch),
 *           task_restore_done, then assign(partitions).
 *   Restoration: see restore.c (its design note says why it runs here).
 *   Records fetched before a rebalance may still come out of the batch that
 *   served the rebalance: a record whose partition has no task is dropped, and
 *   once a partition has processed a record, records below its next offset are
 *   dropped (re-fetched duplicates).
 *
 * Producing: every record goes through a topic handle (out_topic_t,
 * rd_kafka_topic_new) created when a task is created for its fixed sink,
 * repartition and changelog topics, on first use for a topic extractor's.
 * librdkafka 2.0.2 looks up the metadata of a topic first produced to by
 * NAME only at its once-a-second topic scan: meanwhile records wait
 * unpartitioned, the queue fills and the thread stalled ~0.9 s at start. A
 * handle asks at once. Records carry their out_topic_t as msg_opaque, so a
 * delivery report updates "highest acknowledged offset" per (topic,
 * partition) in an array, without formatting or hashing a key.
 *
 * Consumer prefetch: librdkafka 2.0.2 stops fetching for about a second once
 * its queue holds queued.min.messages (100,000) or queued.max.messages.kbytes
 * (64 MiB): a thread that processes faster than 100,000 records per second
 * drains the queue, then idles for the rest of that second. Stream threads
 * (group and restore consumers) default to 1,000,000 records / 128 MiB of
 * payload: about one second of input at the rates a thread reaches on small
 * records, so the pause no longer starves it; the price is up to that much
 * prefetched input held per thread while it is behind. consumer.* settings
 * still win.
 *
 * Commit (thread_commit) and the repartition purge: see commit.c.
 *
 * Waking: stop and commit requests yield the consumer queue so that a
 * consume waiting poll.ms returns at once — only while the loop runs, and a
 * late yield is drained before rd_kafka_consumer_close, which serves the same
 * queue and would otherwise give up half-way (_TIMED_OUT) and hang destroy.
 *
 * Limits: the group uses librdkafka's range assignor, so one task's
 * partitions stay on one member only when its topics have equal partition
 * counts (co-partitioned). A sub-topology reading topics of different counts
 * can see partition p of two topics go to two threads; the second task_new
 * then finds the directory locked and the thread fails after the retries.
 *
 * @locality everything static here runs on the stream thread, except the
 * stream_thread_* getters/requests (any thread, under the thread lock) and
 * librdkafka's log callback (librdkafka's threads).
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "thread_int.h"

#define COMMITTED_TIMEOUT_MS 10000
#define LOCKED_RETRY_MS 5000      /* task directory still held by another thread */
#define QUEUED_MIN_MESSAGES "1000000"  /* librdkafka: 100000 */
#define QUEUED_MAX_KBYTES "131072"     /* librdkafka: 65536 */

/* Types and the helpers shared with restore.c and commit.c: thread_int.h. */

/* ------------------------------------------------------------ helpers */

static void part_key(char *buf, size_t size, const char *topic, int32_t partition) {
  g_snprintf(buf, size, "%s|%" PRId32, topic, partition);
}

static void part_state_free(gpointer p) {
  part_state_t *part = p;
  g_free(part->topic);
  g_free(part);
}

static void out_topic_free(gpointer p) {
  out_topic_t *ot = p;
  if (ot->rkt) rd_kafka_topic_destroy(ot->rkt);
  g_free(ot->acked);
  g_free(ot->name);
  g_free(ot);
}

static void rate_add(rate_window_t *w, int64_t now_s, uint64_t n) {
  int i = (int)(now_s % RATE_WINDOW_S);
  if (w->sec[i] != now_s) {
    w->sec[i] = now_s;
    w->count[i] = 0;
  }
  w->count[i] += n;
}

static double rate_get(const rate_window_t *w, int64_t now_s, int64_t start_s) {
  uint64_t sum = 0;
  for (int i = 0; i < RATE_WINDOW_S; i++)
    if (w->sec[i] > now_s - RATE_WINDOW_S && w->sec[i] <= now_s) sum += w->count[i];
  int64_t span = now_s - start_s + 1;
  if (span > RATE_WINDOW_S) span = RATE_WINDOW_S;
  if (span < 1) span = 1;
  return (double)sum / (double)span;
}

static void notify(stream_thread_t *thread) {
  if (thread->env.notify) thread->env.notify(thread->env.app, thread);
}

static const char *state_name(thread_state_t state) {
  static const char *const names[] = {"CREATED", "STARTING", "REBALANCING", "RUNNING", "PENDING_SHUTDOWN", "DEAD"};
  return (unsigned)state < G_N_ELEMENTS(names) ? names[state] : "?";
}

static void set_state(stream_thread_t *thread, thread_state_t state) {
  g_mutex_lock(&thread->lock);
  thread_state_t old = thread->state;
  bool ok = old != state && old != THREAD_DEAD &&
            (old != THREAD_PENDING_SHUTDOWN || state == THREAD_DEAD);
  if (ok) thread->state = state;
  g_mutex_unlock(&thread->lock);
  if (ok) {
    streams_log(tlog(thread), BROOK_LOG_INFO, thread->name, "state %s -> %s", state_name(old), state_name(state));
    notify(thread);
  }
}

void thread_fail(stream_thread_t *thread, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  streams_log(tlog(thread), BROOK_LOG_ERR, thread->name, "%s", msg);
  g_mutex_lock(&thread->lock);
  bool first = !thread->failed;
  if (first) {
    thread->failed = true;
    thread->error = g_strdup_printf("stream thread %s: %s", thread->name, msg);
    g_atomic_int_set(&thread->failed_flag, 1);
  }
  g_mutex_unlock(&thread->lock);
  g_free(msg);
  if (first) notify(thread);
}

/* ------------------------------------------------------------ librdkafka callbacks */

static void rk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  stream_thread_t *thread = rd_kafka_opaque(rk);
  if (!thread) return;
  streams_log(tlog(thread), level < BROOK_LOG_ERR ? BROOK_LOG_ERR : level, "rdkafka", "%s: %s: %s", rd_kafka_name(rk),
              fac, buf);
}

static void rk_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  stream_thread_t *thread = opaque;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
    streams_log(tlog(thread), BROOK_LOG_ERR, thread->name, "%s: fatal error: %s: %s", rd_kafka_name(rk),
                rd_kafka_err2name(orig), buf);
    g_atomic_int_set(&thread->fatal, 1);
    return;
  }
  int level = err == RD_KAFKA_RESP_ERR__TRANSPORT ? BROOK_LOG_INFO : BROOK_LOG_WARNING;
  streams_log(tlog(thread), level, thread->name, "%s: %s: %s", rd_kafka_name(rk),
              rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* The producer's handle for `topic`, created on first use: rd_kafka_topic_new
 * asks for the topic's metadata at once, where a record produced by topic
 * name would wait for librdkafka's once-a-second topic scan (2.0.2) with the
 * producer queue filling up meanwhile. NULL (rd_kafka_last_error) if it
 * cannot be created. */
static out_topic_t *out_topic_lookup(stream_thread_t *thread, const char *topic) {
  out_topic_t *ot = g_hash_table_lookup(thread->out_topics, topic);
  if (ot) return ot;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(thread->producer, topic, NULL);
  if (!rkt) return NULL;
  ot = g_new0(out_topic_t, 1);
  ot->name = g_strdup(topic);
  ot->rkt = rkt;
  g_hash_table_insert(thread->out_topics, ot->name, ot);
  return ot;
}

/* out_topic_lookup through the pointer memo (the per-record path). */
static out_topic_t *out_topic_get(stream_thread_t *thread, const char *topic) {
  uintptr_t h = (uintptr_t)topic;
  out_memo_t *slot = &thread->out_memo[(h >> 3 ^ h >> 9) % OUT_MEMO_SLOTS];
  if (slot->ptr == topic && strcmp(slot->ot->name, topic) == 0) return slot->ot;
  out_topic_t *ot = out_topic_lookup(thread, topic);
  if (ot) *slot = (out_memo_t){topic, ot};
  return ot;
}

static void out_topic_ack(out_topic_t *ot, int32_t partition, int64_t offset) {
  if (partition < 0) return;
  if (partition >= ot->acked_len) {
    int32_t len = MAX(partition + 1, ot->acked_len * 2);
    ot->acked = g_renew(int64_t, ot->acked, len);
    for (int32_t i = ot->acked_len; i < len; i++) ot->acked[i] = -1;
    ot->acked_len = len;
  }
  if (offset > ot->acked[partition]) ot->acked[partition] = offset;
}

/* Delivery reports run on this thread (rd_kafka_poll / rd_kafka_flush). */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
  (void)rk;
  stream_thread_t *thread = opaque;
  if (msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
    if (thread->purging || stopping(thread) || has_failed(thread)) {
      thread->purged++; /* reported once by the stop path */
      return;
    }
  }
  if (msg->err) {
    const char *topic = rd_kafka_topic_name(msg->rkt);
    thread->dr_err_count++;
    bool cont = thread->env.conf->production_handler == STREAMS_PRODUCTION_CONTINUE;
    if (!thread->dr_err) {
      thread->dr_err = msg->err;
      g_free(thread->dr_err_msg);
      thread->dr_err_msg =
          g_strdup_printf("producing to %s [%" PRId32 "] failed: %s", topic, msg->partition, rd_kafka_err2str(msg->err));
    }
    streams_log(tlog(thread), cont ? BROOK_LOG_WARNING : BROOK_LOG_ERR, thread->name,
                "producing to %s [%" PRId32 "] failed: %s%s", topic, msg->partition, rd_kafka_err2str(msg->err),
                cont ? " (record skipped: default.production.exception.handler=continue)" : "");
    return;
  }
  out_topic_t *ot = msg->_private; /* thread_produce's RD_KAFKA_VTYPE_OPAQUE */
  if (!ot) ot = g_hash_table_lookup(thread->out_topics, rd_kafka_topic_name(msg->rkt));
  if (ot) out_topic_ack(ot, msg->partition, msg->offset);
}

int64_t thread_acked_next_offset(void *opaque, const char *topic, int32_t partition) {
  stream_thread_t *thread = opaque;
  out_topic_t *ot = g_hash_table_lookup(thread->out_topics, topic);
  if (!ot || partition < 0 || partition >= ot->acked_len || ot->acked[partition] < 0) return -1;
  return ot->acked[partition] + 1;
}

/* Forgets the acknowledged offsets (the tasks owning those changelogs closed). */
static void forget_acked(stream_thread_t *thread) {
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, thread->out_topics);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    out_topic_t *ot = v;
    for (int32_t i = 0; i < ot->acked_len; i++) ot->acked[i] = -1;
  }
}

/* task_env.produce */
static brook_err_t thread_produce(void *opaque, const char *topic, int32_t partition, const void *key, size_t key_len,
                                  const void *value, size_t value_len, int64_t timestamp, const task_header_t *headers,
                                  size_t header_count, char *errstr, size_t errstr_size) {
  stream_thread_t *thread = opaque;
  out_topic_t *ot = out_topic_get(thread, topic);
  if (!ot) {
    g_snprintf(errstr, errstr_size, "producing to %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
    return BROOK_ERR__FAIL;
  }
  rd_kafka_vu_t vu[8];
  size_t n = 0;
  vu[n].vtype = RD_KAFKA_VTYPE_RKT;
  vu[n++].u.rkt = ot->rkt;
  vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
  vu[n++].u.i32 = partition < 0 ? RD_KAFKA_PARTITION_UA : partition;
  vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
  vu[n].vtype = RD_KAFKA_VTYPE_KEY;
  vu[n].u.mem.ptr = (void *)key;
  vu[n++].u.mem.size = key ? key_len : 0;
  vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
  vu[n].u.mem.ptr = (void *)value;
  vu[n++].u.mem.size = value ? value_len : 0;
  vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
  vu[n++].u.i64 = timestamp > 0 ? timestamp : 0;
  vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vu[n++].u.ptr = ot;
  rd_kafka_headers_t *hdrs = NULL;
  if (header_count > 0) {
    hdrs = rd_kafka_headers_new(header_count);
    for (size_t i = 0; i < header_count; i++)
      rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value,
                          headers[i].value ? (ssize_t)headers[i].value_len : 0);
    vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[n++].u.headers = hdrs;
  }
  rd_kafka_error_t *error;
  bool warned = false;
  /* A full queue drains as the broker acknowledges: serve delivery reports
   * and retry (bounded by message.timeout.ms: queued messages time out). */
  while ((error = rd_kafka_produceva(thread->producer, vu, n)) &&
         rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    rd_kafka_error_destroy(error);
    if (!warned)
      streams_log(tlog(thread), BROOK_LOG_INFO, thread->name, "producer queue full; waiting for acknowledgements");
    warned = true;
    rd_kafka_poll(thread->producer, 100);
  }
  if (error) {
    g_snprintf(errstr, errstr_size, "producing to %s: %s", topic, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    return BROOK_ERR__FAIL;
  }
  thread->produced_pending++;
  return BROOK_ERR_NONE;
}

static int64_t thread_wall_clock(void *opaque) {
  stream_thread_t *thread = opaque;
  return thread->env.wall_clock(thread->env.wall_clock_opaque);
}

/* ------------------------------------------------------------ clients */

bool thread_conf_set(rd_kafka_conf_t *conf, const char *client, const char *name, const char *value, char *errstr,
                     size_t errstr_size) {
  char err[256];
  if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
    g_snprintf(errstr, errstr_size, "%s property %s=%s: %s", client, name, value, err);
    return false;
  }
  return true;
}

bool thread_conf_set_all(rd_kafka_conf_t *conf, const char *client, const char *prefix, GHashTable *props,
                         char *errstr, size_t errstr_size) {
  if (!props) return true;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, props);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
      g_snprintf(errstr, errstr_size, "%s%s=%s (%s): %s", prefix, (const char *)k, (const char *)v, client, err);
      return false;
    }
  }
  return true;
}

rd_kafka_conf_t *thread_base_conf(stream_thread_t *thread, const char *client_id, char *errstr, size_t errstr_size) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (!thread_conf_set(conf, client_id, "bootstrap.servers", thread->env.bootstrap_servers, errstr, errstr_size) ||
      !thread_conf_set(conf, client_id, "client.id", client_id, errstr, errstr_size)) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  rd_kafka_conf_set_opaque(conf, thread);
  rd_kafka_conf_set_log_cb(conf, rk_log_cb);
  rd_kafka_conf_set_error_cb(conf, rk_error_cb);
  return conf;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque);

/* Prefetch thresholds of the stream threads' consumers (group and restore),
 * set before the user's consumer.* settings, which win. See the design note
 * ("Consumer prefetch"). */
static const char *const consumer_prefetch_defaults[][2] = {
    {"queued.min.messages", QUEUED_MIN_MESSAGES},
    {"queued.max.messages.kbytes", QUEUED_MAX_KBYTES},
};

bool thread_conf_set_prefetch(rd_kafka_conf_t *conf, const char *client, char *errstr, size_t errstr_size) {
  for (size_t i = 0; i < G_N_ELEMENTS(consumer_prefetch_defaults); i++)
    if (!thread_conf_set(conf, client, consumer_prefetch_defaults[i][0], consumer_prefetch_defaults[i][1], errstr,
                  errstr_size))
      return false;
  return true;
}

static brook_err_t create_consumer(stream_thread_t *thread, char *errstr, size_t errstr_size) {
  const streams_conf_t *sc = thread->env.conf;
  char *cid = g_strdup_printf("%s-consumer", thread->client_id);
  rd_kafka_conf_t *conf = thread_base_conf(thread, cid, errstr, errstr_size);
  char session[32];
  g_snprintf(session, sizeof session, "%" PRId64, sc->session_timeout_ms);
  bool ok = conf && thread_conf_set(conf, "consumer", "group.id", sc->application_id, errstr, errstr_size) &&
            thread_conf_set(conf, "consumer", "enable.auto.commit", "false", errstr, errstr_size) &&
            thread_conf_set(conf, "consumer", "enable.auto.offset.store", "false", errstr, errstr_size) &&
            thread_conf_set(conf, "consumer", "auto.offset.reset", "earliest", errstr, errstr_size) &&
            thread_conf_set(conf, "consumer", "partition.assignment.strategy", "range", errstr, errstr_size) &&
            thread_conf_set(conf, "consumer", "isolation.level", "read_uncommitted", errstr, errstr_size) &&
            thread_conf_set(conf, "consumer", "session.timeout.ms", session, errstr, errstr_size) &&
            thread_conf_set_prefetch(conf, "consumer", errstr, errstr_size) &&
            thread_conf_set_all(conf, "consumer", "consumer.", sc->consumer_props, errstr, errstr_size);
  g_free(cid);
  if (!ok) {
    if (conf) rd_kafka_conf_destroy(conf);
    return BROOK_ERR__BAD_CONFIG;
  }
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  char err[512];
  thread->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!thread->consumer) {
    rd_kafka_conf_destroy(conf);
    g_snprintf(errstr, errstr_size, "creating the consumer of %s: %s", thread->name, err);
    return BROOK_ERR__BAD_CONFIG;
  }
  rd_kafka_poll_set_consumer(thread->consumer);
  thread->consumer_q = rd_kafka_queue_get_consumer(thread->consumer);
  return BROOK_ERR_NONE;
}

static brook_err_t create_producer(stream_thread_t *thread, char *errstr, size_t errstr_size) {
  const streams_conf_t *sc = thread->env.conf;
  char *cid = g_strdup_printf("%s-producer", thread->client_id);
  rd_kafka_conf_t *conf = thread_base_conf(thread, cid, errstr, errstr_size);
  bool ok = conf && thread_conf_set(conf, "producer", "acks", "all", errstr, errstr_size) &&
            thread_conf_set(conf, "producer", "linger.ms", "100", errstr, errstr_size) &&
            thread_conf_set(conf, "producer", "partitioner", "murmur2_random", errstr, errstr_size) &&
            thread_conf_set(conf, "producer", "enable.idempotence", "true", errstr, errstr_size) &&
            thread_conf_set_all(conf, "producer", "producer.", sc->producer_props, errstr, errstr_size);
  g_free(cid);
  if (!ok) {
    if (conf) rd_kafka_conf_destroy(conf);
    return BROOK_ERR__BAD_CONFIG;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
  char err[512];
  thread->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!thread->producer) {
    rd_kafka_conf_destroy(conf);
    g_snprintf(errstr, errstr_size, "creating the producer of %s: %s", thread->name, err);
    return BROOK_ERR__BAD_CONFIG;
  }
  thread->purge_q = rd_kafka_queue_new(thread->producer);
  return BROOK_ERR_NONE;
}

/* ------------------------------------------------------------ tasks */

static void ttask_free(thread_task_t *ttask) {
  if (ttask->parts) g_ptr_array_free(ttask->parts, TRUE);
  if (ttask->stores) {
    for (guint i = 0; i < ttask->stores->len; i++) g_free(g_array_index(ttask->stores, store_snap_t, i).store);
    g_array_free(ttask->stores, TRUE);
  }
  g_free(ttask->id);
  g_free(ttask);
}

/* Closes every task (clean: checkpoints written) and forgets the assignment. */
static void close_all_tasks(stream_thread_t *thread, bool clean) {
  g_mutex_lock(&thread->lock);
  GPtrArray *tasks = thread->tasks;
  thread->tasks = g_ptr_array_new();
  g_hash_table_remove_all(thread->parts);
  g_mutex_unlock(&thread->lock);
  for (guint i = 0; i < tasks->len; i++) {
    thread_task_t *ttask = tasks->pdata[i];
    streams_log(tlog(thread), BROOK_LOG_INFO, thread->name, "closing task %s (%s)", ttask->id,
                clean && ttask->running ? "clean" : "unclean");
    task_close(ttask->task, clean && ttask->running);
    ttask_free(ttask);
  }
  g_ptr_array_free(tasks, TRUE);
  g_hash_table_remove_all(thread->tasks_by_key);
  thread->memo_part = NULL; /* freed with thread->parts */
  thread->memo_rkt = NULL;
  /* acknowledged offsets belong to the closed tasks' changelogs; whoever owns
   * them next starts from its own restored position */
  forget_acked(thread);
}

/* Topic handles for everything the task writes to under a fixed name (sinks,
 * repartition topics, changelogs), so that their metadata is on its way
 * before the first record (see out_topic_lookup). A failure here is not
 * fatal: thread_produce reports it with the record. */
static void open_out_topics(stream_thread_t *thread, stream_task_t *task) {
  size_t n = 0;
  const task_changelog_t *cls = task_changelogs(task, &n);
  for (size_t i = 0; i < n; i++) out_topic_lookup(thread, cls[i].topic);
  topo_subtopology_t *sub = thread->env.topology->subtopologies->pdata[task_subtopology(task)];
  for (guint i = 0; i < sub->sinks->len; i++) {
    topo_node_t *node = sub->sinks->pdata[i];
    if (!node->topic) continue; /* topic extractor: on first use */
    char *name = node->internal ? app_internal_topic(thread->env.conf->application_id, node->topic)
                                : g_strdup(node->topic);
    out_topic_lookup(thread, name);
    g_free(name);
  }
}

static thread_task_t *task_open(stream_thread_t *thread, int sub, int32_t partition) {
  char errstr[512];
  stream_task_t *task = NULL;
  int64_t deadline = g_get_monotonic_time() + (int64_t)LOCKED_RETRY_MS * 1000;
  int64_t backoff_us = 20000;
  brook_err_t err;
  /* A directory still locked is normally another thread of this process that
   * has not closed the task yet (eager rebalance: it revokes while we are
   * assigned); there is no event to wait on across threads' flocks, so back off. */
  while ((err = task_new(&thread->task_env, sub, partition, &task, errstr, sizeof errstr)) == BROOK_ERR__LOCKED &&
         g_get_monotonic_time() < deadline && !stopping(thread)) {
    g_usleep((gulong)backoff_us);
    if (backoff_us < 500000) backoff_us *= 2;
  }
  if (err) {
    thread_fail(thread, "creating task %d_%" PRId32 ": %s", sub, partition, errstr);
    return NULL;
  }
  thread_task_t *ttask = g_new0(thread_task_t, 1);
  ttask->task = task;
  ttask->parts = g_ptr_array_new();
  ttask->id = g_strdup(task_id(task));
  ttask->stores = g_array_new(FALSE, FALSE, sizeof(store_snap_t));
  g_mutex_lock(&thread->lock);
  g_ptr_array_add(thread->tasks, ttask);
  g_mutex_unlock(&thread->lock);
  g_hash_table_insert(thread->tasks_by_key, ttask->id, ttask);
  open_out_topics(thread, task);
  return ttask;
}

/* ------------------------------------------------------------ rebalance */

static void on_revoke(stream_thread_t *thread) {
  set_state(thread, THREAD_REBALANCING);
  if (thread->tasks->len == 0 && g_hash_table_size(thread->parts) == 0) return;
  bool clean = false;
  if (!has_failed(thread)) thread_commit(thread, &clean);
  close_all_tasks(thread, clean);
}

/* Returns true when the tasks are ready and the partitions may be assigned. */
static bool on_assign(stream_thread_t *thread, rd_kafka_topic_partition_list_t *parts) {
  const char *app_id = thread->env.conf->application_id;
  if (thread->tasks->len > 0) on_revoke(thread); /* defensive: eager revokes first */
  if (has_failed(thread) || stopping(thread)) return false;
  streams_log(tlog(thread), BROOK_LOG_INFO, thread->name, "assigned %d partition(s)", parts->cnt);
  for (int i = 0; i < parts->cnt; i++) {
    const rd_kafka_topic_partition_t *tp = &parts->elems[i];
    part_state_t *part = g_new0(part_state_t, 1);
    part->topic = g_strdup(tp->topic);
    part->partition = tp->partition;
    part->committed = -1;
    part->position = -1;
    part->purged = -1;
    char key[300];
    part_key(key, sizeof key, tp->topic, tp->partition);
    g_mutex_lock(&thread->lock);
    g_hash_table_insert(thread->parts, g_strdup(key), part);
    g_mutex_unlock(&thread->lock);
    int sub = topology_subtopology_of_topic(thread->env.topology, app_id, tp->topic);
    if (sub < 0) {
      streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name, "assigned %s [%" PRId32 "], which no source reads",
                  tp->topic, tp->partition);
      continue;
    }
    char id[64];
    g_snprintf(id, sizeof id, "%d_%" PRId32, sub, tp->partition);
    thread_task_t *ttask = g_hash_table_lookup(thread->tasks_by_key, id);
    if (!ttask && !(ttask = task_open(thread, sub, tp->partition))) return false;
    g_ptr_array_add(ttask->parts, part);
    g_mutex_lock(&thread->lock); /* stream_thread_assignment reads it */
    part->ttask = ttask;
    g_mutex_unlock(&thread->lock);
  }
  /* committed offsets, for wait_idle's "processed to the end" */
  if (parts->cnt > 0) {
    rd_kafka_topic_partition_list_t *copy = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_resp_err_t err = rd_kafka_committed(thread->consumer, copy, COMMITTED_TIMEOUT_MS);
    if (err)
      streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name, "reading committed offsets: %s",
                  rd_kafka_err2str(err));
    g_mutex_lock(&thread->lock);
    for (int i = 0; !err && i < copy->cnt; i++) {
      char key[300];
      part_key(key, sizeof key, copy->elems[i].topic, copy->elems[i].partition);
      part_state_t *part = g_hash_table_lookup(thread->parts, key);
      if (part && !copy->elems[i].err && copy->elems[i].offset >= 0) part->committed = copy->elems[i].offset;
    }
    g_mutex_unlock(&thread->lock);
    rd_kafka_topic_partition_list_destroy(copy);
  }
  for (guint i = 0; i < thread->tasks->len; i++)
    if (!thread_restore_task(thread, thread->tasks->pdata[i])) return false;
  return true;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
  stream_thread_t *thread = opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (!on_assign(thread, parts)) {
      /* failed or stopping: take nothing; the loop ends and closes
       * (restored tasks that processed nothing close clean) */
      close_all_tasks(thread, !has_failed(thread));
      rd_kafka_assign(rk, NULL);
      return;
    }
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
    if (aerr) {
      thread_fail(thread, "assigning partitions: %s", rd_kafka_err2str(aerr));
      close_all_tasks(thread, false);
      return;
    }
    g_mutex_lock(&thread->lock);
    thread->assign_epoch++;
    g_mutex_unlock(&thread->lock);
    set_state(thread, THREAD_RUNNING);
    return;
  }
  if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
    streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name, "rebalance error: %s", rd_kafka_err2str(err));
  on_revoke(thread);
  rd_kafka_assign(rk, NULL);
}

/* ------------------------------------------------------------ processing */

static void consumer_error(stream_thread_t *thread, const rd_kafka_message_t *m) {
  switch (m->err) {
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
      return;
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
      thread_fail(thread, "consumer: %s", rd_kafka_message_errstr(m));
      return;
    default:
      streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name, "consumer: %s%s%s", rd_kafka_message_errstr(m),
                  m->rkt ? " on " : "", m->rkt ? rd_kafka_topic_name(m->rkt) : "");
  }
}

/* The state of the partition a message came from: the per-batch memo first
 * (fetched messages come in runs of one partition), then by name. */
static part_state_t *part_of(stream_thread_t *thread, const rd_kafka_message_t *m) {
  if (m->rkt == thread->memo_rkt && m->partition == thread->memo_partition) return thread->memo_part;
  char key[300];
  part_key(key, sizeof key, rd_kafka_topic_name(m->rkt), m->partition);
  part_state_t *part = g_hash_table_lookup(thread->parts, key);
  thread->memo_rkt = m->rkt;
  thread->memo_partition = m->partition;
  thread->memo_part = part;
  return part;
}

static void process_batch(stream_thread_t *thread, rd_kafka_message_t **msgs, ssize_t n) {
  char errstr[512];
  uint64_t done = 0;
  /* a handle from an earlier batch may have been freed and its address reused */
  thread->memo_rkt = NULL;
  thread->memo_part = NULL;
  int64_t t0 = n > 0 ? g_get_monotonic_time() : 0;
  for (ssize_t i = 0; i < n; i++) {
    rd_kafka_message_t *m = msgs[i];
    if (stopping(thread) || has_failed(thread)) break;
    if (m->err) {
      consumer_error(thread, m);
      continue;
    }
    part_state_t *part = part_of(thread, m);
    if (!part || !part->ttask || !part->ttask->running) continue; /* fetched before a rebalance */
    if (part->processed && m->offset < part->next_offset) continue; /* duplicate after reassignment */
    size_t nh = 0;
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
      nh = rd_kafka_header_cnt(hdrs);
      if (nh > thread->hdrs_cap) {
        thread->hdrs_cap = nh;
        thread->hdrs = g_renew(task_header_t, thread->hdrs, nh);
      }
      for (size_t h = 0; h < nh; h++) {
        const char *name;
        const void *val;
        size_t size;
        rd_kafka_header_get_all(hdrs, h, &name, &val, &size);
        thread->hdrs[h] = (task_header_t){name, val, val ? size : 0};
      }
    }
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    /* part->topic: the name rd_kafka_topic_name(m->rkt) would give */
    brook_err_t err = task_process(part->ttask->task, part->topic, m->partition, m->offset, ts, m->key, m->key_len,
                                   m->payload, m->len, thread->hdrs, nh, errstr, sizeof errstr);
    if (err || task_failed(part->ttask->task)) {
      thread_fail(thread, "task %s failed processing %s [%" PRId32 "] offset %" PRId64 ": %s", part->ttask->id,
                  part->topic, m->partition, m->offset, err ? errstr : "(no message)");
      break;
    }
    part->next_offset = m->offset + 1;
    part->processed = true;
    part->dirty = true;
    if (!part->touched) {
      part->touched = true;
      g_ptr_array_add(thread->touched, part);
    }
    if (task_commit_requested(part->ttask->task)) thread->commit_needed = true;
    done++;
  }
  /* process latency as Kafka Streams' thread metric: the batch's processing
   * time over its records (max: of those per-batch averages), which spares
   * two clock readings per record */
  double batch_ms = n > 0 ? (double)(g_get_monotonic_time() - t0) / 1000.0 : 0;
  double lat_avg = done ? batch_ms / (double)done : 0;
  for (ssize_t i = 0; i < n; i++) rd_kafka_message_destroy(msgs[i]);
  int64_t now_s = g_get_real_time() / G_USEC_PER_SEC;
  g_mutex_lock(&thread->lock);
  /* publish the positions (wait_idle waits for them to reach the ends) */
  for (guint i = 0; i < thread->touched->len; i++) {
    part_state_t *part = thread->touched->pdata[i];
    part->position = part->next_offset;
    part->touched = false;
  }
  bool progressed = thread->touched->len > 0;
  g_ptr_array_set_size(thread->touched, 0);
  thread->process_total += done;
  if (done) thread->process_latency_sum_ms += batch_ms;
  if (lat_avg > thread->process_latency_max_ms) thread->process_latency_max_ms = lat_avg;
  if (done) rate_add(&thread->process_rate, now_s, done);
  if (thread->produced_pending) {
    thread->produce_total += thread->produced_pending;
    rate_add(&thread->produce_rate, now_s, thread->produced_pending);
    thread->produced_pending = 0;
  }
  g_mutex_unlock(&thread->lock);
  if (progressed && thread->env.progress) thread->env.progress(thread->env.app, thread);
}

static bool punctuate(stream_thread_t *thread) {
  char errstr[512] = "";
  int64_t now = thread->env.wall_clock(thread->env.wall_clock_opaque);
  for (guint i = 0; i < thread->tasks->len; i++) {
    thread_task_t *ttask = thread->tasks->pdata[i];
    if (!ttask->running) continue;
    if (task_punctuate_wall_clock(ttask->task, now, errstr, sizeof errstr) || task_failed(ttask->task)) {
      thread_fail(thread, "task %s: wall-clock punctuation: %s", ttask->id, errstr);
      return false;
    }
    if (task_commit_requested(ttask->task)) thread->commit_needed = true;
  }
  g_mutex_lock(&thread->lock);
  bool changed = thread->punctuated_through != now;
  thread->punctuated_through = now;
  g_mutex_unlock(&thread->lock);
  if (changed) notify(thread);
  return true;
}

static void update_task_metrics(stream_thread_t *thread) {
  g_mutex_lock(&thread->lock);
  for (guint i = 0; i < thread->tasks->len; i++) {
    thread_task_t *ttask = thread->tasks->pdata[i];
    if (!ttask->running) continue;
    ttask->processed = task_processed(ttask->task);
    int64_t lag = 0;
    for (guint j = 0; j < ttask->parts->len; j++) {
      part_state_t *part = ttask->parts->pdata[j];
      int64_t lo = -1, hi = -1;
      if (rd_kafka_get_watermark_offsets(thread->consumer, part->topic, part->partition, &lo, &hi) || hi < 0)
        continue;
      int64_t pos = part->processed ? part->next_offset : part->committed >= 0 ? part->committed : lo;
      if (pos >= 0 && hi > pos) lag += hi - pos;
    }
    ttask->lag = lag;
  }
  g_mutex_unlock(&thread->lock);
}

/* Frees the clients; request_stop/request_commit see NULL queues after this. */
static void destroy_clients(stream_thread_t *thread) {
  g_mutex_lock(&thread->lock);
  rd_kafka_queue_t *cq = thread->consumer_q, *rq = thread->restore_q, *pq = thread->purge_q;
  thread->consumer_q = thread->restore_q = thread->purge_q = NULL;
  g_mutex_unlock(&thread->lock);
  if (cq) rd_kafka_queue_destroy(cq);
  if (rq) rd_kafka_queue_destroy(rq);
  if (pq) rd_kafka_queue_destroy(pq);
  /* topic handles go before their producer; the structs after it (records
   * still in the producer carry pointers to them) */
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, thread->out_topics);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    out_topic_t *ot = v;
    if (ot->rkt) rd_kafka_topic_destroy(ot->rkt);
    ot->rkt = NULL;
  }
  memset(thread->out_memo, 0, sizeof thread->out_memo);
  if (thread->consumer) rd_kafka_destroy(thread->consumer);
  if (thread->producer) rd_kafka_destroy(thread->producer);
  g_hash_table_remove_all(thread->out_topics);
  if (thread->restore) rd_kafka_destroy(thread->restore);
  thread->consumer = thread->producer = thread->restore = NULL;
}

static gpointer thread_main(gpointer data) {
  stream_thread_t *thread = data;
  g_atomic_pointer_set(&thread->self, g_thread_self());
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  /* a name a profiler can tell apart (GLib's is the client id cut to 15) */
  char tname[16];
  g_snprintf(tname, sizeof tname, "brook-st-%d", thread->index);
  pthread_setname_np(pthread_self(), tname);

  set_state(thread, THREAD_STARTING);
  int max = (int)(thread->env.conf->max_poll_records > 0 ? thread->env.conf->max_poll_records : 1000);
  int poll_ms = (int)(thread->env.conf->poll_ms >= 0 ? thread->env.conf->poll_ms : 100);
  int64_t interval_us = thread->env.conf->commit_interval_ms * 1000;
  rd_kafka_message_t **msgs = g_new(rd_kafka_message_t *, max);
  thread->last_commit_us = thread->last_purge_us = g_get_monotonic_time();
  g_mutex_lock(&thread->lock);
  thread->in_loop = true;
  g_mutex_unlock(&thread->lock);

  while (!stopping(thread) && !has_failed(thread)) {
    ssize_t n = rd_kafka_consume_batch_queue(thread->consumer_q, poll_ms, msgs, (size_t)max);
    if (n < 0) {
      streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name, "consume: %s",
                  rd_kafka_err2str(rd_kafka_last_error()));
      n = 0;
    }
    process_batch(thread, msgs, n);
    if (g_atomic_int_get(&thread->fatal)) {
      char buf[512];
      rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(thread->consumer, buf, sizeof buf);
      if (!ferr) ferr = rd_kafka_fatal_error(thread->producer, buf, sizeof buf);
      thread_fail(thread, "fatal client error: %s: %s", rd_kafka_err2name(ferr), buf);
    }
    if (has_failed(thread)) break;
    if (!punctuate(thread)) break;
    rd_kafka_poll(thread->producer, 0);
    thread_poll_purge_results(thread);
    g_mutex_lock(&thread->lock);
    uint64_t req = thread->commit_req_gen;
    bool asked = req > thread->commit_done_gen;
    g_mutex_unlock(&thread->lock);
    bool due = interval_us >= 0 && g_get_monotonic_time() - thread->last_commit_us >= interval_us;
    if (asked || due || thread->commit_needed) {
      if (!thread_commit(thread, NULL)) break;
      if (asked) {
        g_mutex_lock(&thread->lock);
        if (req > thread->commit_done_gen) thread->commit_done_gen = req;
        g_mutex_unlock(&thread->lock);
        notify(thread);
      }
    }
    update_task_metrics(thread);
  }
  g_mutex_lock(&thread->lock);
  thread->in_loop = false;
  g_mutex_unlock(&thread->lock);
  /* Clear a yield that came in after the last consume (see wake): a
   * zero-timeout consume on an empty queue consumes the flag. What it
   * returns is dropped: we are stopping. */
  for (ssize_t n; (n = rd_kafka_consume_batch_queue(thread->consumer_q, 0, msgs, (size_t)max)) > 0;)
    for (ssize_t i = 0; i < n; i++) rd_kafka_message_destroy(msgs[i]);
  g_free(msgs);

  /* shutdown */
  set_state(thread, THREAD_PENDING_SHUTDOWN);
  bool clean = false;
  if (!has_failed(thread)) {
    thread_commit(thread, &clean);
    if (has_failed(thread)) clean = false;
  }
  close_all_tasks(thread, clean);
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(thread->consumer);
  if (err)
    streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name, "closing the consumer: %s", rd_kafka_err2str(err));
  if (!clean) {
    thread->purging = true;
    rd_kafka_purge(thread->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  }
  rd_kafka_flush(thread->producer, clean ? 30000 : 1000);
  thread_poll_purge_results(thread);
  if (thread->restore) rd_kafka_consumer_close(thread->restore);
  destroy_clients(thread); /* records waiting for metadata are purged here */
  if (thread->purged)
    streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name,
                "dropped %" PRIu64 " record(s) not yet sent (uncommitted output of the failed or unclean stop)",
                thread->purged);
  set_state(thread, THREAD_DEAD);
  streams_log(tlog(thread), BROOK_LOG_INFO, thread->name, "stopped%s", has_failed(thread) ? " (failed)" : "");
  return NULL;
}

/* ------------------------------------------------------------ public (thread.h) */

stream_thread_t *stream_thread_new(const stream_thread_env_t *env, int index) {
  stream_thread_t *thread = g_new0(stream_thread_t, 1);
  thread->env = *env;
  thread->index = index;
  const char *cid = env->conf->client_id ? env->conf->client_id : env->conf->application_id;
  thread->name = g_strdup_printf("%s-StreamThread-%d", cid, index);
  thread->client_id = g_strdup(thread->name);
  g_mutex_init(&thread->lock);
  thread->state = THREAD_CREATED;
  thread->tasks = g_ptr_array_new();
  thread->parts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, part_state_free);
  thread->tasks_by_key = g_hash_table_new(g_str_hash, g_str_equal);
  thread->out_topics = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, out_topic_free);
  thread->touched = g_ptr_array_new();
  thread->punctuated_through = INT64_MIN;
  thread->start_us = g_get_real_time();
  thread->task_env = (task_env_t){
      .topology = env->topology,
      .conf = env->conf,
      .state_env = env->state_env,
      .thread_name = thread->name,
      .produce = thread_produce,
      .produce_opaque = thread,
      .wall_clock = thread_wall_clock,
      .wall_clock_opaque = thread,
  };
  return thread;
}

brook_err_t stream_thread_start(stream_thread_t *thread, char *errstr, size_t errstr_size) {
  brook_err_t err = create_consumer(thread, errstr, errstr_size);
  if (!err) err = create_producer(thread, errstr, errstr_size);
  if (err) return err;
  size_t n = thread->env.subscription ? g_strv_length(thread->env.subscription) : 0;
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)(n ? n : 1));
  for (size_t i = 0; i < n; i++)
    rd_kafka_topic_partition_list_add(list, thread->env.subscription[i], RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t rerr = rd_kafka_subscribe(thread->consumer, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (rerr) {
    g_snprintf(errstr, errstr_size, "%s: subscribing: %s", thread->name, rd_kafka_err2str(rerr));
    return BROOK_ERR__FAIL;
  }
  GError *gerr = NULL;
  thread->gthread = g_thread_try_new(thread->name, thread_main, thread, &gerr);
  if (!thread->gthread) {
    g_snprintf(errstr, errstr_size, "starting %s: %s", thread->name, gerr->message);
    g_error_free(gerr);
    return BROOK_ERR__FAIL;
  }
  return BROOK_ERR_NONE;
}

/* Wakes a consume_batch_queue waiting on the consumer queue. Only while the
 * loop runs: librdkafka's consumer_close serves the same (forwarded) queue
 * and gives up with _TIMED_OUT on a yield, leaving the consumer half closed.
 * The loop drains a late yield before closing. Call with the lock held. */
static void wake(stream_thread_t *thread) {
  if (thread->in_loop && thread->consumer_q) rd_kafka_queue_yield(thread->consumer_q);
}

void stream_thread_request_stop(stream_thread_t *thread) {
  g_atomic_int_set(&thread->stop, 1);
  g_mutex_lock(&thread->lock);
  wake(thread);
  g_mutex_unlock(&thread->lock);
}

void stream_thread_join(stream_thread_t *thread) {
  if (thread->gthread) {
    g_thread_join(thread->gthread);
    thread->gthread = NULL;
  }
}

void stream_thread_destroy(stream_thread_t *thread) {
  if (!thread) return;
  stream_thread_request_stop(thread);
  stream_thread_join(thread);
  if (thread->tasks->len) close_all_tasks(thread, false); /* never started: none */
  destroy_clients(thread); /* never started, or start failed half-way */
  g_ptr_array_free(thread->tasks, TRUE);
  g_hash_table_destroy(thread->parts);
  g_hash_table_destroy(thread->tasks_by_key);
  g_hash_table_destroy(thread->out_topics);
  g_ptr_array_free(thread->touched, TRUE);
  g_mutex_clear(&thread->lock);
  g_free(thread->hdrs);
  g_free(thread->dr_err_msg);
  g_free(thread->error);
  g_free(thread->name);
  g_free(thread->client_id);
  g_free(thread);
}

const char *stream_thread_name(const stream_thread_t *thread) { return thread->name; }

bool stream_thread_is_current(const stream_thread_t *thread) {
  return g_atomic_pointer_get(&((stream_thread_t *)thread)->self) == g_thread_self();
}

thread_state_t stream_thread_state(stream_thread_t *thread) {
  g_mutex_lock(&thread->lock);
  thread_state_t s = thread->state;
  g_mutex_unlock(&thread->lock);
  return s;
}

bool stream_thread_failed(stream_thread_t *thread, char **msg) {
  g_mutex_lock(&thread->lock);
  bool f = thread->failed;
  if (msg) *msg = f ? g_strdup(thread->error) : NULL;
  g_mutex_unlock(&thread->lock);
  return f;
}

uint64_t stream_thread_request_commit(stream_thread_t *thread) {
  g_mutex_lock(&thread->lock);
  uint64_t gen = ++thread->commit_req_gen;
  wake(thread);
  g_mutex_unlock(&thread->lock);
  return gen;
}

uint64_t stream_thread_commit_gen(stream_thread_t *thread) {
  g_mutex_lock(&thread->lock);
  uint64_t gen = thread->commit_done_gen;
  g_mutex_unlock(&thread->lock);
  return gen;
}

uint64_t stream_thread_assign_epoch(stream_thread_t *thread) {
  g_mutex_lock(&thread->lock);
  uint64_t e = thread->assign_epoch;
  g_mutex_unlock(&thread->lock);
  return e;
}

int64_t stream_thread_punctuated_through(stream_thread_t *thread) {
  g_mutex_lock(&thread->lock);
  int64_t t = thread->punctuated_through;
  g_mutex_unlock(&thread->lock);
  return t;
}

void stream_thread_assignment(stream_thread_t *thread,
                              void (*fn)(const char *topic, int32_t partition, int64_t committed, int64_t position,
                                         void *opaque),
                              void *opaque) {
  g_mutex_lock(&thread->lock);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, thread->parts);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    part_state_t *part = v;
    if (!part->ttask) continue; /* no source reads it: nothing will ever process or commit it */
    fn(part->topic, part->partition, part->committed, part->position >= 0 ? part->position : part->committed,
       opaque);
  }
  g_mutex_unlock(&thread->lock);
}

typedef struct metric {
  const char *group;
  const char *name;
  char *tags;
  double value;
} metric_t;

static void add_metric(GArray *out, const char *group, const char *name, const char *tags, double value) {
  metric_t m = {group, name, g_strdup(tags), value};
  g_array_append_val(out, m);
}

/* Collected under the lock, reported after it (fn may call back into the app). */
void stream_thread_metrics(stream_thread_t *thread, brook_metric_fn fn, void *opaque) {
  GArray *out = g_array_new(FALSE, FALSE, sizeof(metric_t));
  g_mutex_lock(&thread->lock);
  int64_t now_s = g_get_real_time() / G_USEC_PER_SEC;
  int64_t start_s = thread->start_us / G_USEC_PER_SEC;
  char *tags = g_strdup_printf("thread-id=%s", thread->name);
  const char *g = "stream-thread-metrics";
  add_metric(out, g, "process-total", tags, (double)thread->process_total);
  add_metric(out, g, "process-rate", tags, rate_get(&thread->process_rate, now_s, start_s));
  add_metric(out, g, "process-latency-avg", tags,
             thread->process_total ? thread->process_latency_sum_ms / (double)thread->process_total : 0);
  add_metric(out, g, "process-latency-max", tags, thread->process_latency_max_ms);
  add_metric(out, g, "produce-total", tags, (double)thread->produce_total);
  add_metric(out, g, "produce-rate", tags, rate_get(&thread->produce_rate, now_s, start_s));
  add_metric(out, g, "commit-total", tags, (double)thread->commit_total);
  add_metric(out, g, "commit-latency-avg", tags,
             thread->commit_total ? thread->commit_latency_sum_ms / (double)thread->commit_total : 0);
  add_metric(out, g, "commit-latency-max", tags, thread->commit_latency_max_ms);
  for (guint i = 0; i < thread->tasks->len; i++) {
    thread_task_t *ttask = thread->tasks->pdata[i];
    char *ttags = g_strdup_printf("thread-id=%s,task-id=%s", thread->name, ttask->id);
    add_metric(out, "stream-task-metrics", "process-total", ttags, (double)ttask->processed);
    add_metric(out, "stream-task-metrics", "records-lag", ttags, (double)ttask->lag);
    for (guint j = 0; j < ttask->stores->len; j++) {
      store_snap_t *s = &g_array_index(ttask->stores, store_snap_t, j);
      char *stags = g_strdup_printf("%s,store=%s", ttags, s->store);
      add_metric(out, "stream-state-metrics", "restore-total", stags, (double)s->restored);
      add_metric(out, "stream-state-metrics", "restore-remaining", stags,
                 (double)(s->remaining > 0 ? s->remaining : 0));
      add_metric(out, "stream-state-metrics", "restore-rate", stags,
                 ttask->restore_secs > 0 ? (double)s->restored / ttask->restore_secs : 0);
      g_free(stags);
    }
    g_free(ttags);
  }
  g_free(tags);
  g_mutex_unlock(&thread->lock);
  for (guint i = 0; i < out->len; i++) {
    metric_t *m = &g_array_index(out, metric_t, i);
    fn(m->group, m->name, m->tags, m->value, opaque);
    g_free(m->tags);
  }
  g_array_free(out, TRUE);
}
