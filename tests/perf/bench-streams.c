/*
 * bench-streams — the streams runtime against hand-written librdkafka loops
 * doing the same work, on the same broker, in one run.
 *
 * Workloads (input pre-loaded before anything is timed):
 *   stateless         N records of ~100 B over P partitions; map_values
 *                     upper-cases the value, filter drops values starting
 *                     with A, B or C (~11.5 %), the rest go to an output topic.
 *   wordcount         N lines of ~10 words; split, group by word (streams: a
 *                     repartition topic), count (streams: RocksDB store with
 *                     changelog, record cache OFF), one output record per
 *                     update (word → i64 count).
 *   wordcount-cached  the same with the record cache ON (10 MiB): streams
 *                     forwards and logs each changed key once per commit; the
 *                     raw loop does the same (a dirty set flushed per commit).
 *   wordcount-inmem   wordcount with the store in memory (still logged,
 *                     cache off): the runtime's cost without RocksDB's.
 *   wordcount-equal   streams: exactly `wordcount`. raw: a hand-written loop
 *                     doing the same WORK as the topology (raw_equal_*): each
 *                     word produced to a repartition topic keyed by word and
 *                     consumed back, counted in one RocksDB instance per
 *                     repartition partition (the store's RocksDB options,
 *                     WAL off), each new count produced to a changelog topic
 *                     and to the output. The goal compares with the
 *                     plain `wordcount` loop; this row separates the
 *                     runtime's own overhead from the work the topology
 *                     implies.
 *
 * Sides, each in its own child process (this program re-executed with
 * --child) so that its CPU and peak RSS are its own:
 *   raw      one librdkafka consumer (group, manual commit) and one producer
 *            with the runtime's producer settings; consume → transform →
 *            produce; every commit interval: flush the producer, then commit
 *            offsets synchronously (at-least-once, as the runtime). No
 *            repartition topic, no store, no changelog: what a programmer
 *            would write by hand for one process.
 *   streams  the DSL topology on brook_app, num.stream.threads=1, the same
 *            commit.interval.ms (default 30000, Kafka Streams'), the same
 *            consumer settings (consumer_props).
 *
 * Timing, per side: from the first input record it processes (raw: first
 * message polled; streams: first call of the first DSL callback) to the
 * moment every output is acknowledged and offsets are committed (raw: flush +
 * sync commit after the last record; streams: the stream thread's
 * process-total reached every record of every sub-topology, then
 * brook_app_wait_idle's commit returned). Group joins, RocksDB opens and
 * topic creation come before the first record and are not timed. "2nd half
 * records/s" is the rate over the second half of the work only (raw: input
 * records; streams: process-total), without start-up effects. CPU "span" is
 * the child's getrusage(RUSAGE_SELF) over the timed interval, CPU "process"
 * its whole life (wait4); peak RSS is its VmHWM.
 *
 * The broker is brookd as a subprocess (brookd_proc.h): both sides talk to
 * the same broker over loopback as deployed applications would, and the
 * broker's CPU and memory are measured apart from the sides'. An in-process
 * brook_broker would put the broker's work into the measured process.
 *
 * After each child the parent reads the output topic back and checks it
 * (record count; for wordcount the final count of every word).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <glib.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "brook_client.h"
#include "brook_dsl.h"
#include "brook_streams.h"
#include "state_int.h" /* state_env_rocksdb_options: the raw equal-work loop's RocksDB options */
#include <rocksdb/c.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function" /* thread_cpu_s: for other benchmarks */
#include "brookd_proc.h"
#pragma GCC diagnostic pop

extern char **environ;

/* ---- parameters shared by both sides ---- */

typedef struct params {
  const char *bootstrap;
  const char *in_topic;
  const char *out_topic;
  const char *group; /* raw: group.id; streams: application.id */
  const char *state_dir;
  const char *result_path;
  int64_t count;     /* input records */
  int64_t expect_processed; /* streams: records all sub-topologies process (wordcount: lines + words) */
  int64_t commit_ms; /* commit.interval.ms */
  bool cached;       /* wordcount: record cache / dirty-set flushing */
  bool consumer_defaults; /* no consumer_props */
  bool in_memory;         /* streams wordcount: in-memory store */
  bool wait_idle_only;    /* streams: brook_app_wait_idle from the start, no metric polling */
  bool equal_work;        /* raw wordcount: repartition topic, RocksDB, changelog (wordcount-equal) */
  char **streams_conf;    /* streams: extra "name=value" properties (NULL-terminated) */
} params_t;

/* What a child reports (written to result_path). */
typedef struct child_result {
  double t_first, t_end; /* CLOCK_MONOTONIC seconds */
  double t_half;         /* when half of the work was done (streams: of process-total) */
  double cpu_span;       /* process CPU between them */
  int64_t processed;     /* input records */
  int64_t produced;      /* raw: output records acknowledged; streams: -1 */
} child_result_t;

/* The runtime's producer settings (streams/thread.c, create_producer), which
 * the raw loops use as well, so that batching and acknowledgement cost the
 * same on both sides. */
static const char *const producer_props[] = {
    "acks", "all",
    "enable.idempotence", "true",
    "partitioner", "murmur2_random",
    "linger.ms", "100",
    NULL,
};

/* Consumer settings both sides use. librdkafka 2.0.2 postpones the next fetch
 * of a partition by a fixed 1 s once its local queue holds more than
 * queued.min.messages (100000) or queued.max.messages.kbytes (64 MiB) — 2.1
 * made that fetch.queue.backoff.ms — so with the defaults a consumer that
 * processes more slowly than it fetches sits idle for most of each second.
 * The benchmark measures processing, so it raises both thresholds (the input
 * is pre-loaded: each side buffers more of it). --consumer-defaults keeps
 * librdkafka's defaults instead (both sides); --streams-own-prefetch gives
 * the streams side none of these, so that it runs with the runtime's own
 * prefetch defaults (streams/thread.c, 1,000,000 records / 128 MiB). */
static const char *const consumer_props[] = {
    "queued.min.messages", "10000000",
    "queued.max.messages.kbytes", "2097151",
    NULL,
};

static double cpu_self_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench-streams: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

/* Also writes the process's peak RSS (VmHWM): wait4's ru_maxrss is no good
 * here, Linux carries the parent's peak into a child across exec. */
static void write_result(const params_t *prm, const child_result_t *r) {
  FILE *f = fopen(prm->result_path, "w");
  if (!f)
    die("%s: %s", prm->result_path, strerror(errno));
  fprintf(f, "%.6f %.6f %.6f %" PRId64 " %" PRId64 " %.1f %.6f\n", r->t_first, r->t_end, r->cpu_span, r->processed,
          r->produced, proc_hwm_mib(getpid()), r->t_half);
  fclose(f);
}

/* ---- the work itself, shared by both sides ---- */

/* stateless: the upper-cased value is kept when it does not start with A-C. */
static inline bool stateless_keep(const char *upper) {
  return !(upper[0] >= 'A' && upper[0] <= 'C');
}

static inline void upper_copy(char *dst, const char *src, size_t len) {
  for (size_t i = 0; i < len; i++) {
    char c = src[i];
    dst[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
  }
  dst[len] = '\0';
}

/* wordcount lines are lower-case words separated by single spaces. */
#define WORD_SEP " "

/* ---- streams side ---- */

static _Atomic int64_t streams_processed;
static _Atomic int streams_started;
static double streams_t_first, streams_cpu_first, streams_t_last;
static int64_t streams_expected; /* input records; the callback seeing the last one notes the time */

static inline void streams_count(void) {
  if (atomic_fetch_add_explicit(&streams_processed, 1, memory_order_relaxed) + 1 == streams_expected)
    streams_t_last = now_s();
}

static inline void streams_mark_first(void) {
  int expected = 0;
  if (atomic_load_explicit(&streams_started, memory_order_relaxed) == 0 &&
      atomic_compare_exchange_strong(&streams_started, &expected, 1)) {
    streams_t_first = now_s();
    streams_cpu_first = cpu_self_s();
  }
}

static const void *upper_value(const brook_record_t *rec, void *opaque) {
  (void)opaque;
  streams_mark_first();
  streams_count();
  const char *v = rec->value;
  if (!v)
    return NULL;
  size_t len = strlen(v);
  char *out = brook_scratch_alloc(len + 1);
  upper_copy(out, v, len);
  return out;
}

static bool keep_value(const brook_record_t *rec, void *opaque) {
  (void)opaque;
  return rec->value && stateless_keep(rec->value);
}

static void split_words(const brook_record_t *rec, brook_emitter_t *out, void *opaque) {
  (void)opaque;
  streams_mark_first();
  streams_count();
  if (!rec->value)
    return;
  char *line = brook_scratch_strdup(rec->value);
  char *save = NULL;
  for (char *w = strtok_r(line, WORD_SEP, &save); w; w = strtok_r(NULL, WORD_SEP, &save))
    brook_emit_value(out, w);
}

static const void *word_as_key(const brook_record_t *rec, void *opaque) {
  (void)opaque;
  return rec->value;
}

static brook_topology_t *streams_topology(bool wordcount, const params_t *prm) {
  char errstr[512];
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *in = brook_builder_stream(b, prm->in_topic, brook_serde_string_new(), brook_serde_string_new());
  if (!wordcount) {
    brook_stream_t *kept = brook_stream_filter(brook_stream_map_values(in, upper_value, NULL), keep_value, NULL);
    brook_stream_to(kept, prm->out_topic, brook_serde_string_new(), brook_serde_string_new());
  } else {
    brook_stream_t *words = brook_stream_flat_map_values(in, split_words, NULL);
    brook_grouped_t *grouped =
        brook_stream_group_by(words, word_as_key, NULL, brook_serde_string_new(), brook_serde_string_new());
    brook_materialized_t mat = {.store = "counts", .in_memory = prm->in_memory};
    brook_table_t *counts = brook_grouped_count_with(grouped, &mat);
    brook_stream_to(brook_table_to_stream(counts), prm->out_topic, brook_serde_string_new(), brook_serde_i64_new());
  }
  brook_topology_t *topology = brook_builder_build(b, errstr, sizeof errstr);
  brook_builder_destroy(b);
  if (!topology)
    die("topology: %s", errstr);
  return topology;
}

/* Thread-level metrics of the run, to stderr: where the stream thread's time
 * went (commits vs processing). */
static void print_metric(const char *group, const char *name, const char *tags, double value, void *opaque) {
  (void)opaque;
  if (strcmp(group, "stream-thread-metrics") == 0 &&
      (strcmp(name, "commit-total") == 0 || strcmp(name, "commit-latency-avg") == 0 ||
       strcmp(name, "commit-latency-max") == 0 || strcmp(name, "process-total") == 0 ||
       strcmp(name, "process-latency-avg") == 0 || strcmp(name, "produce-total") == 0))
    fprintf(stderr, "streams: %s %s = %.3f\n", tags, name, value);
}

static void sum_process_total(const char *group, const char *name, const char *tags, double value, void *opaque) {
  (void)tags;
  if (strcmp(group, "stream-thread-metrics") == 0 && strcmp(name, "process-total") == 0)
    *(double *)opaque += value;
}

static int run_streams(bool wordcount, const params_t *prm) {
  char errstr[512], num[32];
  streams_expected = prm->count;
  brook_topology_t *topology = streams_topology(wordcount, prm);
  brook_app_conf_t *conf = brook_app_conf_new();
  snprintf(num, sizeof num, "%" PRId64, prm->commit_ms);
  if (brook_app_conf_set(conf, "application.id", prm->group, errstr, sizeof errstr) ||
      brook_app_conf_set(conf, "bootstrap.servers", prm->bootstrap, errstr, sizeof errstr) ||
      brook_app_conf_set(conf, "state.dir", prm->state_dir, errstr, sizeof errstr) ||
      brook_app_conf_set(conf, "commit.interval.ms", num, errstr, sizeof errstr) ||
      brook_app_conf_set(conf, "statestore.cache.max.bytes", prm->cached ? "10485760" : "0", errstr,
                         sizeof errstr))
    die("conf: %s", errstr);
  for (char **kv = prm->streams_conf; kv && *kv; kv++) {
    char **nv = g_strsplit(*kv, "=", 2);
    if (!nv[0] || !nv[1] || brook_app_conf_set(conf, nv[0], nv[1], errstr, sizeof errstr))
      die("--streams-conf %s: %s", *kv, nv[1] ? errstr : "not name=value");
    g_strfreev(nv);
  }
  for (int i = 0; !prm->consumer_defaults && consumer_props[i]; i += 2) {
    char name[128];
    snprintf(name, sizeof name, "consumer.%s", consumer_props[i]);
    if (brook_app_conf_set(conf, name, consumer_props[i + 1], errstr, sizeof errstr))
      die("conf: %s", errstr);
  }
  brook_app_t *app = brook_app_new(topology, conf, errstr, sizeof errstr);
  brook_app_conf_destroy(conf);
  brook_topology_unref(topology);
  if (!app)
    die("brook_app_new: %s", errstr);
  if (brook_app_start(app, errstr, sizeof errstr))
    die("brook_app_start: %s", errstr);
  /* Wait until every sub-topology has processed everything (process-total
   * of the stream thread: input records, plus repartitioned words for
   * wordcount), then let brook_app_wait_idle do the final commit. (Before
   * the runtime's performance pass wait_idle requested a commit every 10 ms
   * while records were in flight, which perturbed a busy run; it now waits
   * for processing first and commits once per round, but the metric also
   * gives the half-way time.) Polling the metrics every 5 ms for an external
   * condition, with a deadline, costs nothing measurable. */
  double deadline = now_s() + 600, t_half = 0;
  int64_t expect = prm->expect_processed > 0 ? prm->expect_processed : prm->count;
  /* --wait-idle: wait as a test or an application waiting for its results
   * would, with brook_app_wait_idle alone (no half-way time then) */
  for (; !prm->wait_idle_only;) {
    double total = 0;
    brook_app_metrics(app, sum_process_total, &total);
    if (t_half == 0 && (int64_t)total >= expect / 2)
      t_half = now_s();
    if ((int64_t)total >= expect)
      break;
    if (now_s() > deadline)
      die("streams: %.0f of %" PRId64 " records processed after 600 s", total, expect);
    if (brook_app_state(app) == BROOK_APP_ERROR)
      die("streams: app failed: %s", brook_app_error(app) ? brook_app_error(app) : "?");
    sleep_s(0.005);
  }
  if (brook_app_wait_idle(app, 600000, errstr, sizeof errstr))
    die("brook_app_wait_idle: %s", errstr);
  child_result_t r = {.t_first = streams_t_first,
                      .t_half = t_half,
                      .t_end = now_s(),
                      .processed = atomic_load(&streams_processed),
                      .produced = -1};
  r.cpu_span = cpu_self_s() - streams_cpu_first;
  fprintf(stderr, "streams: %.2f s: last input record at %.2f s, idle and committed at %.2f s\n",
          r.t_end - r.t_first, streams_t_last - r.t_first, r.t_end - r.t_first);
  brook_app_metrics(app, print_metric, NULL);
  brook_app_close(app);
  if (brook_app_state(app) == BROOK_APP_ERROR)
    die("streams: app failed: %s", brook_app_error(app) ? brook_app_error(app) : "?");
  brook_app_destroy(app);
  write_result(prm, &r);
  return 0;
}

/* ---- raw side: librdkafka by hand ---- */

typedef struct raw {
  rd_kafka_t *consumer, *producer;
  rd_kafka_topic_t *out;
  int64_t delivered, failed;
  double t_queue_full, t_commit, t_poll; /* where the wall time goes (stderr) */
  int64_t n_queue_full, n_commit, n_empty_polls;
} raw_t;

static void raw_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  raw_t *raw = opaque;
  if (m->err) {
    if (raw->failed++ == 0)
      fprintf(stderr, "raw: delivery failed: %s\n", rd_kafka_err2str(m->err));
  } else {
    raw->delivered++;
  }
}

static void raw_init(raw_t *raw, const params_t *prm, const char *also_subscribe) {
  char why[512];
  rd_kafka_conf_t *pc = rd_kafka_conf_new();
  rd_kafka_conf_set(pc, "bootstrap.servers", prm->bootstrap, why, sizeof why);
  for (int i = 0; producer_props[i]; i += 2)
    if (rd_kafka_conf_set(pc, producer_props[i], producer_props[i + 1], why, sizeof why) != RD_KAFKA_CONF_OK)
      die("producer conf: %s", why);
  rd_kafka_conf_set_dr_msg_cb(pc, raw_dr);
  rd_kafka_conf_set_opaque(pc, raw);
  if (!(raw->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, why, sizeof why)))
    die("producer: %s", why);
  raw->out = rd_kafka_topic_new(raw->producer, prm->out_topic, NULL);

  rd_kafka_conf_t *cc = rd_kafka_conf_new();
  const char *cprops[] = {"bootstrap.servers", prm->bootstrap, "group.id", prm->group, "enable.auto.commit",
                          "false", "auto.offset.reset", "earliest", "partition.assignment.strategy", "range",
                          NULL};
  for (int i = 0; cprops[i]; i += 2)
    if (rd_kafka_conf_set(cc, cprops[i], cprops[i + 1], why, sizeof why) != RD_KAFKA_CONF_OK)
      die("consumer conf: %s", why);
  for (int i = 0; !prm->consumer_defaults && consumer_props[i]; i += 2)
    if (rd_kafka_conf_set(cc, consumer_props[i], consumer_props[i + 1], why, sizeof why) != RD_KAFKA_CONF_OK)
      die("consumer conf: %s", why);
  if (!(raw->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, why, sizeof why)))
    die("consumer: %s", why);
  rd_kafka_poll_set_consumer(raw->consumer);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, prm->in_topic, RD_KAFKA_PARTITION_UA);
  if (also_subscribe)
    rd_kafka_topic_partition_list_add(topics, also_subscribe, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(raw->consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err)
    die("subscribe: %s", rd_kafka_err2str(err));
}

/* Queues one output record, serving delivery reports while the queue is full. */
static void raw_produce_to(raw_t *raw, rd_kafka_topic_t *rkt, int32_t partition, const void *key, size_t key_len,
                           const void *value, size_t value_len, int64_t timestamp) {
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        raw->producer, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_END);
    if (!err)
      return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      die("produce: %s", rd_kafka_err2str(err));
    double t0 = now_s();
    rd_kafka_poll(raw->producer, 10);
    raw->t_queue_full += now_s() - t0;
    raw->n_queue_full++;
  }
}

static void raw_produce(raw_t *raw, const void *key, size_t key_len, const void *value, size_t value_len,
                        int64_t timestamp) {
  raw_produce_to(raw, raw->out, RD_KAFKA_PARTITION_UA, key, key_len, value, value_len, timestamp);
}

/* The at-least-once commit: everything produced is acknowledged before the
 * consumed offsets are committed (synchronously). */
static void raw_commit(raw_t *raw) {
  double t0 = now_s();
  raw->n_commit++;
  rd_kafka_resp_err_t err = rd_kafka_flush(raw->producer, 60000);
  if (err)
    die("flush: %s", rd_kafka_err2str(err));
  if (raw->failed)
    die("%" PRId64 " deliveries failed", raw->failed);
  err = rd_kafka_commit(raw->consumer, NULL, 0);
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    die("commit: %s", rd_kafka_err2str(err));
  raw->t_commit += now_s() - t0;
}

/* One consumed record, or NULL (nothing within 100 ms, or a consumer event:
 * logged unless it is a partition EOF). `timed`: account the wait to t_poll. */
static rd_kafka_message_t *raw_poll(raw_t *raw, bool timed) {
  double tp = now_s();
  rd_kafka_message_t *m = rd_kafka_consumer_poll(raw->consumer, 100);
  if (timed) {
    raw->t_poll += now_s() - tp;
    if (!m)
      raw->n_empty_polls++;
  }
  if (m && m->err) {
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
      fprintf(stderr, "raw: consumer: %s\n", rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
    m = NULL;
  }
  return m;
}

typedef struct word_entry {
  int64_t count;
  bool dirty;
} word_entry_t;

typedef struct raw_counts {
  GHashTable *words; /* char * (owned) → word_entry_t * (owned) */
  GPtrArray *dirty;  /* char * (keys of words) changed since the last commit, cached mode */
} raw_counts_t;

static void raw_emit_count(raw_t *raw, const char *word, size_t len, int64_t count, int64_t timestamp) {
  uint8_t value[8];
  brook_serde_put_i64(value, count);
  raw_produce(raw, word, len, value, sizeof value, timestamp);
}

/* Cached mode: one record per word changed since the last commit. */
static void raw_flush_dirty(raw_t *raw, raw_counts_t *rc, int64_t timestamp) {
  for (guint i = 0; i < rc->dirty->len; i++) {
    const char *word = g_ptr_array_index(rc->dirty, i);
    word_entry_t *e = g_hash_table_lookup(rc->words, word);
    raw_emit_count(raw, word, strlen(word), e->count, timestamp);
    e->dirty = false;
  }
  g_ptr_array_set_size(rc->dirty, 0);
}

static int run_raw(bool wordcount, const params_t *prm) {
  raw_t raw = {0};
  raw_init(&raw, prm, NULL);
  raw_counts_t rc = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free), g_ptr_array_new()};
  child_result_t r = {.produced = 0};
  char *buf = NULL;
  size_t buf_cap = 0;
  double last_commit = 0, cpu_first = 0;
  int64_t last_ts = 0;

  while (r.processed < prm->count) {
    rd_kafka_message_t *m = raw_poll(&raw, r.processed > 0);
    if (m) {
      if (r.processed == 0) {
        r.t_first = last_commit = now_s();
        cpu_first = cpu_self_s();
      }
      if (m->len + 1 > buf_cap) {
        buf_cap = (m->len + 1) * 2;
        buf = g_realloc(buf, buf_cap);
      }
      last_ts = rd_kafka_message_timestamp(m, NULL);
      if (!wordcount) {
        upper_copy(buf, m->payload, m->len);
        if (stateless_keep(buf))
          raw_produce(&raw, m->key, m->key_len, buf, m->len, last_ts);
      } else {
        memcpy(buf, m->payload, m->len);
        buf[m->len] = '\0';
        char *save = NULL;
        for (char *w = strtok_r(buf, WORD_SEP, &save); w; w = strtok_r(NULL, WORD_SEP, &save)) {
          char *key;
          word_entry_t *e;
          if (!g_hash_table_lookup_extended(rc.words, w, (gpointer *)&key, (gpointer *)&e)) {
            key = g_strdup(w);
            e = g_new0(word_entry_t, 1);
            g_hash_table_insert(rc.words, key, e);
          }
          e->count++;
          if (!prm->cached) {
            raw_emit_count(&raw, key, strlen(key), e->count, last_ts);
          } else if (!e->dirty) {
            e->dirty = true;
            g_ptr_array_add(rc.dirty, key);
          }
        }
      }
      rd_kafka_message_destroy(m);
      if (++r.processed == prm->count / 2)
        r.t_half = now_s();
      if ((r.processed & 255) == 0)
        rd_kafka_poll(raw.producer, 0); /* delivery reports */
    }
    if (r.processed > 0 && now_s() - last_commit >= (double)prm->commit_ms / 1000.0) {
      if (prm->cached)
        raw_flush_dirty(&raw, &rc, last_ts);
      raw_commit(&raw);
      last_commit = now_s();
    }
  }
  if (prm->cached)
    raw_flush_dirty(&raw, &rc, last_ts);
  raw_commit(&raw);
  r.t_end = now_s();
  r.cpu_span = cpu_self_s() - cpu_first;
  r.produced = raw.delivered;
  fprintf(stderr,
          "raw: %.2f s: %.2f s in %" PRId64 " commits, %.2f s in %" PRId64 " queue-full waits, %.2f s in polls (%" PRId64
          " empty)\n",
          r.t_end - r.t_first, raw.t_commit, raw.n_commit, raw.t_queue_full, raw.n_queue_full, raw.t_poll,
          raw.n_empty_polls);

  rd_kafka_consumer_close(raw.consumer);
  rd_kafka_destroy(raw.consumer);
  rd_kafka_topic_destroy(raw.out);
  rd_kafka_destroy(raw.producer);
  g_hash_table_destroy(rc.words);
  g_ptr_array_unref(rc.dirty);
  g_free(buf);
  write_result(prm, &r);
  return 0;
}

/* ---- raw side, equal work: the wordcount topology's work by hand ---- */

/*
 * What a programmer would write by hand to get what the streams topology
 * gives — counts that survive a restart (RocksDB), can be restored elsewhere
 * (changelog) and are partitioned by word so that several processes could
 * share the work (repartition topic) — with the same consumer, producer and
 * commit settings as the other raw loop:
 *   line  (input topic)       → split → per word: produce (word, word) to
 *                               <group>-repartition, partition by key
 *                               (murmur2, as the runtime)
 *   word  (repartition topic) → RocksDB get; count + 1; put (16 bytes:
 *                               timestamp, count, as the timestamped store);
 *                               produce (word, count) to <group>-changelog,
 *                               same partition; produce (word, count) to the
 *                               output
 *   commit                    → RocksDB flush of each instance, producer
 *                               flush, synchronous offset commit
 * One RocksDB instance per repartition partition (the runtime has one store
 * per task), opened before the first record with the options the runtime's
 * stores get (state_env_rocksdb_options, the default 64 MiB budget), writes
 * without WAL as the stores. Not done by hand: the record cache (off on the
 * streams side of this row too), checkpoint files, purging the repartition
 * topic, metrics.
 */
static int run_raw_equal(const params_t *prm) {
  char errstr[512], rep[256], chl[256];
  snprintf(rep, sizeof rep, "%s-repartition", prm->group);
  snprintf(chl, sizeof chl, "%s-changelog", prm->group);
  int32_t nparts = brook_admin_partition_count(prm->bootstrap, prm->in_topic, errstr, sizeof errstr);
  if (nparts < 1)
    die("%s: %s", prm->in_topic, errstr);
  const char *compact[] = {"cleanup.policy", "compact", NULL};
  if (brook_admin_create_topic(prm->bootstrap, rep, nparts, NULL, false, errstr, sizeof errstr) ||
      brook_admin_create_topic(prm->bootstrap, chl, nparts, compact, false, errstr, sizeof errstr))
    die("create internal topics: %s", errstr);

  if (g_mkdir_with_parents(prm->state_dir, 0755) != 0)
    die("mkdir %s: %s", prm->state_dir, strerror(errno));
  brook_state_env_conf_t econf = {.state_dir = prm->state_dir, .application_id = prm->group};
  brook_state_env_t *env = brook_state_env_new(&econf, errstr, sizeof errstr);
  if (!env)
    die("state env: %s", errstr);
  rocksdb_t **dbs = g_new0(rocksdb_t *, nparts);
  for (int32_t p = 0; p < nparts; p++) {
    char *dir = g_strdup_printf("%s/raw-counts-%d", prm->state_dir, p);
    rocksdb_options_t *o = state_env_rocksdb_options(env, "counts");
    char *err = NULL;
    dbs[p] = rocksdb_open(o, dir, &err);
    rocksdb_options_destroy(o);
    if (err)
      die("rocksdb_open %s: %s", dir, err);
    state_env_db_opened(env, dbs[p]);
    g_free(dir);
  }
  rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
  rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
  rocksdb_writeoptions_disable_WAL(wo, 1);
  rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
  rocksdb_flushoptions_set_wait(fo, 1);

  raw_t raw = {0};
  raw_init(&raw, prm, rep);
  rd_kafka_topic_t *rep_rkt = rd_kafka_topic_new(raw.producer, rep, NULL);
  rd_kafka_topic_t *chl_rkt = rd_kafka_topic_new(raw.producer, chl, NULL);
  child_result_t r = {.produced = 0};
  int64_t expect = prm->expect_processed, done = 0; /* lines + words */
  char *buf = NULL;
  size_t buf_cap = 0;
  double last_commit = 0, cpu_first = 0;

  while (done < expect) {
    rd_kafka_message_t *m = raw_poll(&raw, false);
    if (m) {
      if (done == 0) {
        r.t_first = last_commit = now_s();
        cpu_first = cpu_self_s();
      }
      int64_t ts = rd_kafka_message_timestamp(m, NULL);
      if (strcmp(rd_kafka_topic_name(m->rkt), rep) != 0) { /* a line */
        if (m->len + 1 > buf_cap) {
          buf_cap = (m->len + 1) * 2;
          buf = g_realloc(buf, buf_cap);
        }
        memcpy(buf, m->payload, m->len);
        buf[m->len] = '\0';
        char *save = NULL;
        for (char *w = strtok_r(buf, WORD_SEP, &save); w; w = strtok_r(NULL, WORD_SEP, &save))
          raw_produce_to(&raw, rep_rkt, RD_KAFKA_PARTITION_UA, w, strlen(w), w, strlen(w), ts);
        r.processed++;
      } else { /* a word */
        rocksdb_t *db = dbs[m->partition];
        char *err = NULL;
        size_t vlen = 0;
        char *old = rocksdb_get(db, ro, m->key, m->key_len, &vlen, &err);
        if (err)
          die("rocksdb_get: %s", err);
        int64_t count = old && vlen == 16 ? brook_serde_get_i64((const uint8_t *)old + 8) : 0;
        rocksdb_free(old);
        uint8_t value[16];
        brook_serde_put_i64(value, ts);
        brook_serde_put_i64(value + 8, ++count);
        rocksdb_put(db, wo, m->key, m->key_len, (const char *)value, sizeof value, &err);
        if (err)
          die("rocksdb_put: %s", err);
        raw_produce_to(&raw, chl_rkt, m->partition, m->key, m->key_len, value + 8, 8, ts);
        raw_produce(&raw, m->key, m->key_len, value + 8, 8, ts);
      }
      rd_kafka_message_destroy(m);
      if (++done == expect / 2)
        r.t_half = now_s();
      if ((done & 255) == 0)
        rd_kafka_poll(raw.producer, 0); /* delivery reports */
    }
    if (done > 0 && (now_s() - last_commit >= (double)prm->commit_ms / 1000.0 || done == expect)) {
      for (int32_t p = 0; p < nparts; p++) {
        char *err = NULL;
        rocksdb_flush(dbs[p], fo, &err);
        if (err)
          die("rocksdb_flush: %s", err);
      }
      raw_commit(&raw);
      last_commit = now_s();
    }
  }
  r.t_end = now_s();
  r.cpu_span = cpu_self_s() - cpu_first;
  r.produced = raw.delivered;
  fprintf(stderr, "raw (equal work): %.2f s: %.2f s in %" PRId64 " commits, %.2f s in %" PRId64 " queue-full waits\n",
          r.t_end - r.t_first, raw.t_commit, raw.n_commit, raw.t_queue_full, raw.n_queue_full);

  rd_kafka_consumer_close(raw.consumer);
  rd_kafka_destroy(raw.consumer);
  rd_kafka_topic_destroy(raw.out);
  rd_kafka_topic_destroy(rep_rkt);
  rd_kafka_topic_destroy(chl_rkt);
  rd_kafka_destroy(raw.producer);
  for (int32_t p = 0; p < nparts; p++) {
    state_env_db_closed(env, dbs[p]);
    rocksdb_close(dbs[p]);
  }
  g_free(dbs);
  rocksdb_readoptions_destroy(ro);
  rocksdb_writeoptions_destroy(wo);
  rocksdb_flushoptions_destroy(fo);
  brook_state_env_destroy(env);
  g_free(buf);
  write_result(prm, &r);
  return 0;
}

/* ---- parent: data, children, checks, table ---- */

typedef enum workload {
  W_STATELESS,
  W_WORDCOUNT,
  W_WORDCOUNT_CACHED,
  W_WORDCOUNT_INMEM,
  W_WORDCOUNT_EQUAL,
  W_COUNT
} workload_t;
static const char *const workload_names[W_COUNT] = {"stateless", "wordcount", "wordcount-cached", "wordcount-inmem",
                                                    "wordcount-equal"};

typedef struct dataset {
  char topic[64];
  int64_t count;        /* input records */
  int64_t words;        /* wordcount: total words */
  int64_t expected_out; /* stateless: records kept */
  GHashTable *counts;   /* wordcount: word (in vocab) → int64_t * final count */
  char **vocab;         /* wordcount: NULL-terminated (g_strfreev) */
} dataset_t;

typedef struct side_run {
  bool ok;
  child_result_t r;
  double cpu_total; /* wait4 */
  double rss_mib;   /* ru_maxrss */
  double broker_cpu;
  double broker_rss; /* brookd's peak RSS during this side's run */
  int64_t outputs;   /* read back */
} side_run_t;

static struct {
  const char *brookd_path;
  const char *bootstrap; /* external broker instead of brookd */
  const char *self;
  double scale;
  int rounds;
  int partitions;
  int64_t commit_ms;
  bool only[W_COUNT];
  const char *perf_dir;
  bool keep;
  bool consumer_defaults;
  bool streams_own_prefetch; /* streams side: the runtime's consumer defaults, not consumer_props */
  bool wait_idle_only;       /* streams side: brook_app_wait_idle only */
  GPtrArray *streams_conf; /* "name=value" for the streams children */
} opt = {.scale = 1.0, .rounds = 1, .partitions = 4, .commit_ms = 30000}; /* Kafka Streams' default */

static brookd_proc_t broker;

static void on_signal(int sig) {
  (void)sig;
  brookd_proc_stop_from_signal(&broker);
  _exit(130);
}

/* Random lower-case letters and spaces (the first is a letter). */
static void random_text(GRand *rand, char *out, size_t len) {
  for (size_t i = 0; i < len; i++)
    out[i] = (i > 0 && g_rand_int_range(rand, 0, 6) == 0) ? ' ' : (char)('a' + g_rand_int_range(rand, 0, 26));
  out[len] = '\0';
}

static void create_topic(const char *bootstrap, const char *topic, int32_t partitions) {
  char errstr[512];
  if (brook_admin_create_topic(bootstrap, topic, partitions, NULL, false, errstr, sizeof errstr))
    die("create %s: %s", topic, errstr);
}

static void load_stateless(const char *bootstrap, dataset_t *ds, int64_t n) {
  char errstr[512];
  snprintf(ds->topic, sizeof ds->topic, "in-stateless");
  create_topic(bootstrap, ds->topic, opt.partitions);
  brook_producer_t *p = brook_producer_new(bootstrap, errstr, sizeof errstr);
  if (!p)
    die("producer: %s", errstr);
  GRand *rand = g_rand_new_with_seed(1);
  char key[32], value[128];
  for (int64_t i = 0; i < n; i++) {
    int klen = snprintf(key, sizeof key, "user-%06" PRId64, i % 100000);
    random_text(rand, value, 100);
    if (value[0] > 'c')
      ds->expected_out++;
    if (brook_producer_send_bytes(p, ds->topic, (int32_t)(i % opt.partitions), key, (size_t)klen, value, 100, -1,
                                  errstr, sizeof errstr))
      die("load: %s", errstr);
  }
  if (brook_producer_flush(p, 120000, errstr, sizeof errstr))
    die("load: %s", errstr);
  brook_producer_destroy(p);
  g_rand_free(rand);
  ds->count = n;
}

static void load_lines(const char *bootstrap, dataset_t *ds, int64_t n) {
  char errstr[512];
  snprintf(ds->topic, sizeof ds->topic, "in-lines");
  create_topic(bootstrap, ds->topic, opt.partitions);
  brook_producer_t *p = brook_producer_new(bootstrap, errstr, sizeof errstr);
  if (!p)
    die("producer: %s", errstr);
  GRand *rand = g_rand_new_with_seed(2);
  /* A vocabulary of 10,000 words of 3-9 letters; word i drawn with
   * probability ~ 1/i (log-uniform index), roughly as words in text. */
  enum { VOCAB = 10000 };
  char **vocab = g_new0(char *, VOCAB);
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  for (int i = 0; i < VOCAB; i++) {
    char w[16];
    do
      random_text(rand, w, (size_t)g_rand_int_range(rand, 3, 10));
    while (strchr(w, ' ') || g_hash_table_contains(seen, w));
    vocab[i] = g_strdup(w);
    g_hash_table_add(seen, vocab[i]);
  }
  g_hash_table_destroy(seen);
  ds->counts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
  GString *line = g_string_new(NULL);
  for (int64_t i = 0; i < n; i++) {
    g_string_truncate(line, 0);
    int nwords = g_rand_int_range(rand, 6, 15);
    for (int k = 0; k < nwords; k++) {
      int idx = (int)floor(exp(g_rand_double(rand) * log((double)VOCAB))) - 1;
      idx = CLAMP(idx, 0, VOCAB - 1);
      if (k)
        g_string_append_c(line, ' ');
      g_string_append(line, vocab[idx]);
      int64_t *c = g_hash_table_lookup(ds->counts, vocab[idx]);
      if (!c) {
        c = g_new0(int64_t, 1);
        g_hash_table_insert(ds->counts, vocab[idx], c);
      }
      (*c)++;
      ds->words++;
    }
    if (brook_producer_send_bytes(p, ds->topic, (int32_t)(i % opt.partitions), NULL, 0, line->str, line->len, -1,
                                  errstr, sizeof errstr))
      die("load: %s", errstr);
  }
  if (brook_producer_flush(p, 120000, errstr, sizeof errstr))
    die("load: %s", errstr);
  brook_producer_destroy(p);
  g_string_free(line, TRUE);
  g_rand_free(rand);
  ds->vocab = g_renew(char *, vocab, VOCAB + 1); /* the counts table's keys: freed after it */
  ds->vocab[VOCAB] = NULL;
  ds->count = n;
}

static void dataset_clear(dataset_t *ds) {
  if (ds->counts)
    g_hash_table_destroy(ds->counts);
  g_strfreev(ds->vocab);
  memset(ds, 0, sizeof *ds);
}

/* ---- checking an output topic ---- */

typedef struct check {
  bool wordcount;
  int64_t records;
  int64_t bad; /* stateless: a value not upper-case or one that should have been dropped */
  GHashTable *last; /* wordcount: word → int64_t * last count read */
} check_t;

static void on_output(const brook_read_record_t *r, void *opaque) {
  check_t *c = opaque;
  c->records++;
  if (!c->wordcount) {
    const char *v = r->rec->value;
    if (!v || !stateless_keep(v) || (v[0] >= 'a' && v[0] <= 'z'))
      c->bad++;
    return;
  }
  if (!r->rec->key || !r->rec->value) {
    c->bad++;
    return;
  }
  int64_t *slot = g_hash_table_lookup(c->last, r->rec->key);
  if (!slot) {
    slot = g_new(int64_t, 1);
    g_hash_table_insert(c->last, g_strdup(r->rec->key), slot);
  }
  *slot = *(const int64_t *)r->rec->value;
}

/* Reads `topic` back; false (with a message) when it is not what the
 * workload must produce. */
static bool check_output(const char *bootstrap, workload_t w, const dataset_t *ds, const char *topic,
                         int64_t *outputsp) {
  char errstr[512];
  check_t c = {.wordcount = w != W_STATELESS};
  if (c.wordcount)
    c.last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  brook_serde_t *key = brook_serde_string_new();
  brook_serde_t *value = c.wordcount ? brook_serde_i64_new() : brook_serde_string_new();
  brook_reader_t *reader = brook_reader_new(bootstrap, topic, key, value, errstr, sizeof errstr);
  brook_serde_unref(key);
  brook_serde_unref(value);
  if (!reader)
    die("reader: %s", errstr);
  int64_t n = brook_reader_read(reader, on_output, &c, 300000, errstr, sizeof errstr);
  brook_reader_destroy(reader);
  bool ok = true;
  if (n < 0) {
    fprintf(stderr, "check %s: %s\n", topic, errstr);
    ok = false;
  } else if (c.bad) {
    fprintf(stderr, "check %s: %" PRId64 " wrong records\n", topic, c.bad);
    ok = false;
  } else if (w == W_STATELESS && c.records != ds->expected_out) {
    fprintf(stderr, "check %s: %" PRId64 " records, expected %" PRId64 "\n", topic, c.records, ds->expected_out);
    ok = false;
  } else if ((w == W_WORDCOUNT || w == W_WORDCOUNT_INMEM || w == W_WORDCOUNT_EQUAL) && c.records != ds->words) {
    fprintf(stderr, "check %s: %" PRId64 " updates, expected one per word: %" PRId64 "\n", topic, c.records,
            ds->words);
    ok = false;
  }
  if (ok && c.wordcount) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, ds->counts);
    int64_t wrong = 0;
    while (g_hash_table_iter_next(&it, &k, &v)) {
      int64_t *got = g_hash_table_lookup(c.last, k);
      if (!got || *got != *(int64_t *)v) {
        if (wrong++ < 3)
          fprintf(stderr, "check %s: \"%s\" counted %" PRId64 ", expected %" PRId64 "\n", topic, (char *)k,
                  got ? *got : 0, *(int64_t *)v);
      }
    }
    if (wrong || g_hash_table_size(c.last) != g_hash_table_size(ds->counts)) {
      fprintf(stderr, "check %s: %" PRId64 " of %u words wrong, %u words read\n", topic, wrong,
              g_hash_table_size(ds->counts), g_hash_table_size(c.last));
      ok = false;
    }
  }
  if (c.last)
    g_hash_table_destroy(c.last);
  *outputsp = c.records;
  return ok;
}

/* ---- running one side ---- */

static bool run_side(const char *bootstrap, workload_t w, bool streams, int round, const dataset_t *ds,
                     side_run_t *out) {
  char mode[32], out_topic[64], group[64], count[32], commit[32], expect[32], perf_out[512];
  char *tmp = g_dir_make_tmp("bench-streams-XXXXXX", NULL);
  if (!tmp)
    die("g_dir_make_tmp failed");
  char *result = g_build_filename(tmp, "result", NULL);
  char *state = g_build_filename(tmp, "state", NULL);
  snprintf(mode, sizeof mode, "%s-%s", streams ? "streams" : "raw", w == W_STATELESS ? "stateless" : "wordcount");
  snprintf(out_topic, sizeof out_topic, "out-%s-%s-r%d", workload_names[w], streams ? "streams" : "raw", round);
  snprintf(group, sizeof group, "bench-%s-%s-r%d", workload_names[w], streams ? "streams" : "raw", round);
  snprintf(count, sizeof count, "%" PRId64, ds->count);
  snprintf(commit, sizeof commit, "%" PRId64, opt.commit_ms);
  snprintf(expect, sizeof expect, "%" PRId64, ds->count + ds->words); /* words: 0 for stateless */
  create_topic(bootstrap, out_topic, opt.partitions);

  const char *argv[48 + 2 * 16];
  if (opt.streams_conf->len > 16)
    die("at most 16 --streams-conf");
  int ac = 0;
  if (opt.perf_dir) {
    snprintf(perf_out, sizeof perf_out, "%s/perf-%s-%s.data", opt.perf_dir, workload_names[w],
             streams ? "streams" : "raw");
    argv[ac++] = "perf";
    argv[ac++] = "record";
    argv[ac++] = "--call-graph=dwarf";
    argv[ac++] = "-q";
    argv[ac++] = "-o";
    argv[ac++] = perf_out;
    argv[ac++] = "--";
  }
  argv[ac++] = opt.self;
  argv[ac++] = "--child";
  argv[ac++] = mode;
  argv[ac++] = "--bootstrap";
  argv[ac++] = bootstrap;
  argv[ac++] = "--in";
  argv[ac++] = ds->topic;
  argv[ac++] = "--out";
  argv[ac++] = out_topic;
  argv[ac++] = "--group";
  argv[ac++] = group;
  argv[ac++] = "--count";
  argv[ac++] = count;
  argv[ac++] = "--commit-ms";
  argv[ac++] = commit;
  argv[ac++] = "--expect-processed";
  argv[ac++] = expect;
  argv[ac++] = "--state-dir";
  argv[ac++] = state;
  argv[ac++] = "--result";
  argv[ac++] = result;
  if (w == W_WORDCOUNT_CACHED)
    argv[ac++] = "--cached";
  if (w == W_WORDCOUNT_INMEM)
    argv[ac++] = "--in-memory";
  if (w == W_WORDCOUNT_EQUAL && !streams)
    argv[ac++] = "--equal-work";
  for (guint i = 0; streams && i < opt.streams_conf->len; i++) {
    argv[ac++] = "--streams-conf";
    argv[ac++] = g_ptr_array_index(opt.streams_conf, i);
  }
  if (opt.consumer_defaults || (streams && opt.streams_own_prefetch))
    argv[ac++] = "--consumer-defaults";
  if (streams && opt.wait_idle_only)
    argv[ac++] = "--wait-idle";
  argv[ac] = NULL;

  fprintf(stderr, "round %d: %s %s ...\n", round, workload_names[w], streams ? "streams" : "raw");
  double broker_cpu0 = broker.pid > 0 ? proc_cpu_s(broker.pid) : 0;
  if (broker.pid > 0)
    proc_reset_hwm(broker.pid);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, environ);
  if (rc)
    die("spawn %s: %s", argv[0], strerror(rc));
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) != pid)
    die("wait4: %s", strerror(errno));
  out->broker_cpu = broker.pid > 0 ? proc_cpu_s(broker.pid) - broker_cpu0 : -1;
  out->broker_rss = broker.pid > 0 ? proc_hwm_mib(broker.pid) : -1;
  out->cpu_total = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                   (double)ru.ru_stime.tv_usec / 1e6;
  out->ok = false;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "%s %s: child failed (status 0x%x)\n", workload_names[w], streams ? "streams" : "raw", status);
  } else {
    FILE *f = fopen(result, "r");
    if (!f || fscanf(f, "%lf %lf %lf %" SCNd64 " %" SCNd64 " %lf %lf", &out->r.t_first, &out->r.t_end,
                     &out->r.cpu_span, &out->r.processed, &out->r.produced, &out->rss_mib, &out->r.t_half) != 7)
      fprintf(stderr, "%s: no result\n", result);
    else
      out->ok = check_output(bootstrap, w, ds, out_topic, &out->outputs);
    if (f)
      fclose(f);
  }
  if (!opt.keep)
    nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  else
    fprintf(stderr, "kept %s\n", tmp);
  g_free(result);
  g_free(state);
  g_free(tmp);
  return out->ok;
}

/* ---- the table ---- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The median run (by records/s) of `runs[0..n)`. */
static const side_run_t *median_run(const side_run_t *runs, int n) {
  double rates[16];
  int m = 0;
  for (int i = 0; i < n; i++)
    if (runs[i].ok)
      rates[m++] = (double)runs[i].r.processed / (runs[i].r.t_end - runs[i].r.t_first);
  if (m == 0)
    return NULL;
  qsort(rates, (size_t)m, sizeof rates[0], cmp_double);
  double med = rates[(m - 1) / 2];
  for (int i = 0; i < n; i++)
    if (runs[i].ok && (double)runs[i].r.processed / (runs[i].r.t_end - runs[i].r.t_first) == med)
      return &runs[i];
  return NULL;
}

/* Records/s over the second half of the work: without start-up effects
 * (first fetches, metadata of new topics, store opening). */
static double second_half_rate(const side_run_t *s) {
  return s->r.t_half > 0 && s->r.t_end > s->r.t_half ? (double)(s->r.processed - s->r.processed / 2) /
                                                          (s->r.t_end - s->r.t_half)
                                                    : 0;
}

static void print_row(workload_t w, const char *side, const side_run_t *s) {
  double secs = s->r.t_end - s->r.t_first;
  printf("| %s | %s | %" PRId64 " | %" PRId64 " | %.2f | %.0f | %.0f | %.2f | %.2f | %.2f | %.1f | %.2f | %.1f |\n",
         workload_names[w], side, s->r.processed, s->outputs, secs, (double)s->r.processed / secs,
         second_half_rate(s), s->r.cpu_span,
         s->r.cpu_span * 1e6 / (double)s->r.processed, s->cpu_total, s->rss_mib, s->broker_cpu, s->broker_rss);
}

/* ---- main ---- */

static int child_main(int argc, char **argv) {
  params_t prm = {.commit_ms = 1000};
  const char *mode = NULL;
  static const struct option longopts[] = {
      {"child", required_argument, NULL, 'C'},   {"bootstrap", required_argument, NULL, 'b'},
      {"in", required_argument, NULL, 'i'},      {"out", required_argument, NULL, 'o'},
      {"group", required_argument, NULL, 'g'},   {"count", required_argument, NULL, 'n'},
      {"commit-ms", required_argument, NULL, 'c'}, {"state-dir", required_argument, NULL, 's'},
      {"result", required_argument, NULL, 'r'},  {"cached", no_argument, NULL, 'k'},
      {"consumer-defaults", no_argument, NULL, 'D'}, {"expect-processed", required_argument, NULL, 'e'},
      {"in-memory", no_argument, NULL, 'm'},          {"streams-conf", required_argument, NULL, 'S'},
      {"wait-idle", no_argument, NULL, 'W'},      {"equal-work", no_argument, NULL, 'E'},
      {NULL, 0, NULL, 0},
  };
  GPtrArray *sconf = g_ptr_array_new();
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'C': mode = optarg; break;
    case 'e': prm.expect_processed = strtoll(optarg, NULL, 10); break;
    case 'm': prm.in_memory = true; break;
    case 'W': prm.wait_idle_only = true; break;
    case 'E': prm.equal_work = true; break;
    case 'S': g_ptr_array_add(sconf, optarg); break;
    case 'b': prm.bootstrap = optarg; break;
    case 'i': prm.in_topic = optarg; break;
    case 'o': prm.out_topic = optarg; break;
    case 'g': prm.group = optarg; break;
    case 'n': prm.count = strtoll(optarg, NULL, 10); break;
    case 'c': prm.commit_ms = strtoll(optarg, NULL, 10); break;
    case 's': prm.state_dir = optarg; break;
    case 'r': prm.result_path = optarg; break;
    case 'k': prm.cached = true; break;
    case 'D': prm.consumer_defaults = true; break;
    default: return 2;
    }
  }
  if (!mode || !prm.bootstrap || !prm.in_topic || !prm.out_topic || !prm.group || prm.count <= 0 ||
      !prm.state_dir || !prm.result_path)
    die("--child needs --bootstrap --in --out --group --count --state-dir --result");
  g_ptr_array_add(sconf, NULL);
  prm.streams_conf = (char **)sconf->pdata;
  int rc;
  if (strcmp(mode, "raw-stateless") == 0)
    rc = run_raw(false, &prm);
  else if (strcmp(mode, "raw-wordcount") == 0)
    rc = prm.equal_work ? run_raw_equal(&prm) : run_raw(true, &prm);
  else if (strcmp(mode, "streams-stateless") == 0)
    rc = run_streams(false, &prm);
  else if (strcmp(mode, "streams-wordcount") == 0)
    rc = run_streams(true, &prm);
  else
    die("unknown --child mode %s", mode);
  g_ptr_array_unref(sconf);
  return rc;
}

static void usage(void) {
  fprintf(stderr,
          "usage: bench-streams --brookd PATH | --bootstrap HOST:PORT\n"
          "       [--scale S] [--rounds R]\n"
          "       [--only stateless,wordcount,wordcount-cached,wordcount-inmem,wordcount-equal]\n"
          "       [--partitions P] [--commit-ms MS] [--consumer-defaults | --streams-own-prefetch]\n"
          "       [--streams-conf NAME=VALUE]... [--wait-idle]\n"
          "       [--perf DIR] [--keep]\n");
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--child") == 0)
      return child_main(argc, argv);

  static const struct option longopts[] = {
      {"brookd", required_argument, NULL, 'B'},   {"bootstrap", required_argument, NULL, 'b'},
      {"scale", required_argument, NULL, 's'},    {"rounds", required_argument, NULL, 'r'},
      {"only", required_argument, NULL, 'o'},     {"partitions", required_argument, NULL, 'p'},
      {"commit-ms", required_argument, NULL, 'c'}, {"perf", required_argument, NULL, 'P'},
      {"keep", no_argument, NULL, 'k'},           {"help", no_argument, NULL, 'h'},
      {"consumer-defaults", no_argument, NULL, 'D'}, {"streams-conf", required_argument, NULL, 'S'},
      {"streams-own-prefetch", no_argument, NULL, 'O'}, {"wait-idle", no_argument, NULL, 'W'},
      {NULL, 0, NULL, 0},
  };
  bool any_only = false;
  opt.streams_conf = g_ptr_array_new();
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'B': opt.brookd_path = optarg; break;
    case 'b': opt.bootstrap = optarg; break;
    case 's': opt.scale = strtod(optarg, NULL); break;
    case 'r': opt.rounds = atoi(optarg); break;
    case 'p': opt.partitions = atoi(optarg); break;
    case 'c': opt.commit_ms = strtoll(optarg, NULL, 10); break;
    case 'P': opt.perf_dir = optarg; break;
    case 'k': opt.keep = true; break;
    case 'D': opt.consumer_defaults = true; break;
    case 'O': opt.streams_own_prefetch = true; break;
    case 'W': opt.wait_idle_only = true; break;
    case 'S': g_ptr_array_add(opt.streams_conf, optarg); break;
    case 'o': {
      any_only = true;
      char **names = g_strsplit(optarg, ",", -1);
      for (char **n = names; *n; n++) {
        int w = 0;
        while (w < W_COUNT && strcmp(*n, workload_names[w]) != 0)
          w++;
        if (w == W_COUNT)
          die("--only: unknown workload %s", *n);
        opt.only[w] = true;
      }
      g_strfreev(names);
      break;
    }
    default: usage(); return 2;
    }
  }
  if (!opt.brookd_path && !opt.bootstrap)
    opt.brookd_path = getenv("BROOKD");
  if ((!opt.brookd_path && !opt.bootstrap) || opt.scale <= 0 || opt.rounds < 1 || opt.rounds > 16 ||
      opt.partitions < 1) {
    usage();
    return 2;
  }
  if (!any_only)
    for (int w = 0; w < W_COUNT; w++)
      opt.only[w] = true;
  static char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0)
    die("readlink /proc/self/exe: %s", strerror(errno));
  self[len] = '\0';
  opt.self = self;

  const char *bootstrap = opt.bootstrap;
  if (!bootstrap) {
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* No 3 s wait before the first rebalance of each new group (neither side's
     * timed span includes joins, but the run is shorter). */
    const char *overrides[] = {"group.initial.rebalance.delay.ms=0"};
    if (!brookd_proc_start(&broker, opt.brookd_path, "bench-streams", overrides, 1)) {
      brookd_proc_stop(&broker, opt.keep);
      die("brookd did not start");
    }
    bootstrap = broker.bootstrap;
    fprintf(stderr, "brookd pid %d at %s\n", (int)broker.pid, bootstrap);
  }

  int64_t n_stateless = (int64_t)(1000000 * opt.scale), n_lines = (int64_t)(100000 * opt.scale);
  side_run_t runs[W_COUNT][2][16];
  memset(runs, 0, sizeof runs);
  bool all_ok = true;
  dataset_t ds_stateless = {0}, ds_lines = {0};
  if (opt.only[W_STATELESS]) {
    fprintf(stderr, "loading %" PRId64 " records of 100 B ...\n", n_stateless);
    load_stateless(bootstrap, &ds_stateless, n_stateless);
  }
  if (opt.only[W_WORDCOUNT] || opt.only[W_WORDCOUNT_CACHED] || opt.only[W_WORDCOUNT_INMEM] ||
      opt.only[W_WORDCOUNT_EQUAL]) {
    fprintf(stderr, "loading %" PRId64 " lines ...\n", n_lines);
    load_lines(bootstrap, &ds_lines, n_lines);
  }

  /* Each round runs both sides of each workload, alternating which goes first
   * (raw first in odd rounds), so drift in the machine's load falls on both. */
  for (int round = 1; round <= opt.rounds; round++) {
    for (int w = 0; w < W_COUNT; w++) {
      if (!opt.only[w])
        continue;
      const dataset_t *ds = w == W_STATELESS ? &ds_stateless : &ds_lines;
      for (int k = 0; k < 2; k++) {
        bool streams = (k == 0) != (round % 2 == 1);
        all_ok &= run_side(bootstrap, (workload_t)w, streams, round, ds, &runs[w][streams][round - 1]);
      }
    }
  }

  printf("\n%d round(s), scale %g, %d partitions, commit.interval.ms %" PRId64 ", median run per side%s%s\n\n",
         opt.rounds, opt.scale, opt.partitions, opt.commit_ms,
         opt.consumer_defaults      ? "; librdkafka's consumer defaults on both sides"
         : opt.streams_own_prefetch ? "; streams: the runtime's own consumer prefetch defaults"
                                    : "",
         opt.wait_idle_only ? "; streams: timed with brook_app_wait_idle alone (no 2nd-half rate)" : "");
  printf("| workload | side | input records | output records | s | records/s | 2nd half records/s | CPU s (span) "
         "| CPU us/record | CPU s (process) | peak RSS MiB | broker CPU s | broker peak RSS MiB |\n");
  printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int w = 0; w < W_COUNT; w++) {
    if (!opt.only[w])
      continue;
    const side_run_t *raw = median_run(runs[w][0], opt.rounds), *st = median_run(runs[w][1], opt.rounds);
    if (raw)
      print_row((workload_t)w, w == W_WORDCOUNT_EQUAL ? "raw librdkafka, equal work" : "raw librdkafka", raw);
    if (st)
      print_row((workload_t)w, "brook streams", st);
  }
  printf("\n| workload | streams/raw records/s | streams/raw 2nd half | raw/streams CPU per record | goal "
         "| per round (records/s ratio) |\n");
  printf("|---|---:|---:|---:|---:|---|\n");
  for (int w = 0; w < W_COUNT; w++) {
    if (!opt.only[w])
      continue;
    const side_run_t *raw = median_run(runs[w][0], opt.rounds), *st = median_run(runs[w][1], opt.rounds);
    if (!raw || !st)
      continue;
    double rr = (double)raw->r.processed / (raw->r.t_end - raw->r.t_first);
    double rs = (double)st->r.processed / (st->r.t_end - st->r.t_first);
    double cpu = (raw->r.cpu_span / (double)raw->r.processed) / (st->r.cpu_span / (double)st->r.processed);
    double goal = w == W_STATELESS ? 0.9 : 0.7;
    double half = second_half_rate(raw) > 0 ? second_half_rate(st) / second_half_rate(raw) : 0;
    if (w == W_WORDCOUNT_INMEM || w == W_WORDCOUNT_EQUAL) /* reference points, not goals of the issue */
      printf("| %s | %.2f | %.2f | %.2f | (reference) |", workload_names[w], rs / rr, half, cpu);
    else
      printf("| %s | %.2f | %.2f | %.2f | %s %.1f |", workload_names[w], rs / rr, half, cpu,
             rs / rr >= goal ? "met, >=" : "NOT met, >=", goal);
    for (int r = 0; r < opt.rounds; r++) {
      const side_run_t *a = &runs[w][0][r], *b = &runs[w][1][r];
      if (a->ok && b->ok)
        printf(" %.2f", ((double)b->r.processed / (b->r.t_end - b->r.t_first)) /
                            ((double)a->r.processed / (a->r.t_end - a->r.t_first)));
    }
    printf(" |\n");
  }
  if (ds_lines.count)
    printf("\nwordcount input: %" PRId64 " lines, %" PRId64 " words, %u distinct\n", ds_lines.count, ds_lines.words,
           g_hash_table_size(ds_lines.counts));

  dataset_clear(&ds_stateless);
  dataset_clear(&ds_lines);
  g_ptr_array_unref(opt.streams_conf);
  if (broker.pid > 0)
    brookd_proc_stop(&broker, opt.keep);
  if (!all_ok)
    fprintf(stderr, "bench-streams: some runs failed or produced wrong output (see above)\n");
  return all_ok ? 0 : 1;
}
