/*
 * bench-produce-consume.c — producer/consumer benchmark of brookd against
 * librdkafka's in-process mock cluster, driven by librdkafka 2.0.2.
 *
 * Design note
 * -----------
 * One invocation runs every workload ("row") against up to two targets and
 * prints a markdown table, one line per (row, target), with the ratio
 * brookd/mock on the brookd line:
 *
 *   brookd  a child process (fork+exec of the real brookd) on 127.0.0.1 port
 *           0 with a fresh temporary log dir; its CPU comes from
 *           /proc/<pid>/stat (utime+stime) and its peak RSS from VmHWM in
 *           /proc/<pid>/status, reset before every row via clear_refs "5".
 *   mock    rd_kafka_mock_cluster_new(): a broker that lives in THIS process
 *           on its own thread ("rdk:mock"). Its CPU is that thread's
 *           /proc/self/task/<tid>/stat; its RSS cannot be separated (n/a).
 *
 * Client CPU is getrusage(RUSAGE_SELF) minus the mock thread's CPU, so for
 * both targets it is what the librdkafka clients cost.
 *
 * Under each brookd produce row a third line, "write(2) floor", is not a
 * broker: the same bytes written with plain write(2) into a new file, i.e.
 * what this machine's page cache allows any file-backed log (row_floor).
 *
 * The mock keeps only the newest ~5 MiB (and 100000 batches) per partition
 * (rdkafka_mock.c, mpart->max_size), so reading back a million messages from
 * it is impossible. Consumption is therefore measured in ROUNDS: produce a
 * round that fits in RETAIN_BUDGET bytes per partition, then read exactly
 * that round back (only the read is timed); both targets run the same
 * rounds. brookd is additionally read straight through from offset 0 over a
 * topic holding the whole workload.
 *
 * Row sequence per target (each row's counts are multiplied by --scale):
 *
 *   for size in {100 B x 1e6, 1 KiB x 2e5}, partitions in {1, 4}:
 *     produce acks=1, produce acks=all        (topic per row, linger.ms=5)
 *     consume rounds                           (its own topic)
 *     consume straight                         (brookd only: acks=1 topic)
 *   latency at --rate msgs/s for --latency-secs, 1 partition, acks=1 / all
 *   multi 1P+1C and 3P+3C on 6 partitions     (producers and consumers
 *                                             concurrently, one client
 *                                             handle per thread)
 *
 * Bounds: every loop runs to a message count AND a deadline (--timeout per
 * row); a row that misses its deadline prints TIMEOUT and the run goes on.
 * All traffic is to 127.0.0.1. The brookd child gets PR_SET_PDEATHSIG so it
 * cannot outlive us; it is stopped by PID (SIGTERM, SIGKILL after 10 s) and
 * reaped; SIGINT/SIGTERM to the benchmark do the same before exiting.
 *
 * Consumers use librdkafka's legacy (simple) consumer API: it needs no
 * group.id and therefore no group coordinator, which brookd does not have
 * yet, and it lets a round stop fetching exactly at its end (consume_stop)
 * so prefetching cannot overlap the next round's produce phase.
 *
 * Messages are keyless; producers pick partitions round robin (message i of
 * a producer goes to its i % nparts-th partition), so every partition's
 * expected count is known and consumers verify offsets are contiguous.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "brookd_proc.h"

/* Bytes per partition a consume round may fill: below the mock's 5 MiB
 * retention with room for batch headers and per-record overhead. */
#define RETAIN_BUDGET (3 * 1024 * 1024)
/* Per-record overhead estimate in a v2 batch for a keyless record of
 * <= 1 KiB (length, attributes, deltas, key/value lengths, header count)
 * plus an amortised share of the 61-byte batch header. */
#define RECORD_OVERHEAD 16
#define MAX_PARTS 64
#define MAX_THREADS 16

/* ------------------------------------------------------------------ */
/* options                                                            */

static struct {
  const char *brookd_path;
  bool no_brookd, no_mock;
  double scale;
  int rate;
  double latency_secs;
  double timeout;
  const char *only; /* comma-separated row-kind filter */
  bool keep;
  int threads; /* producers = consumers in the multi row */
  const char *overrides[32];
  int n_overrides;
  bool no_floor;
} opt = {.scale = 1.0, .rate = 20000, .latency_secs = 5.0, .timeout = 180.0, .threads = 3};

/* ------------------------------------------------------------------ */
/* time, cpu, memory                                                  */

static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ */
/* targets                                                            */

typedef struct target {
  const char *name;
  bool up;
  char bootstrap[128];
  brookd_proc_t bp; /* brookd */
  /* mock */
  rd_kafka_t *mock_rk;
  rd_kafka_mock_cluster_t *mcluster;
  pid_t mock_tid;
  /* mock retains only RETAIN_BUDGET-ish per partition */
  bool bounded_retention;
} target_t;

static target_t t_brookd = {.name = "brookd"};
/* Not a broker: the write(2) reference line under each brookd produce row. */
static target_t t_floor = {.name = "write(2) floor"};
static target_t t_mock = {.name = "mock", .bounded_retention = true};

static void on_signal(int sig) {
  brookd_proc_stop_from_signal(&t_brookd.bp);
  _exit(128 + sig);
}

/* Starts brookd (brookd_proc.h); on success fills t->bootstrap. */
static bool brookd_start(target_t *t, const char *path) {
  if (!brookd_proc_start(&t->bp, path, "brook-bench", opt.overrides, opt.n_overrides)) return false;
  snprintf(t->bootstrap, sizeof(t->bootstrap), "%s", t->bp.bootstrap);
  t->up = true;
  return true;
}

static void brookd_stop(target_t *t) {
  brookd_proc_stop(&t->bp, opt.keep);
  t->up = false;
}

static rd_kafka_t *conf_new_handle(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
  char errstr[512];
  rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (!rk) fprintf(stderr, "rd_kafka_new: %s\n", errstr);
  return rk;
}

/* librdkafka log: print a bounded number of lines so a misbehaving broker
 * cannot flood the output. */
static atomic_int log_lines;
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  if (level > 4) return; /* notices (e.g. the mock host's "no bootstrap.servers") are noise */
  int n = atomic_fetch_add(&log_lines, 1);
  if (n < 30)
    fprintf(stderr, "  [rdkafka %s %d %s] %s\n", rd_kafka_name(rk), level, fac, buf);
  else if (n == 30)
    fprintf(stderr, "  [rdkafka] further log lines suppressed\n");
}

static rd_kafka_conf_t *base_conf(const target_t *t, const char *client_id) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char errstr[256];
#define SET(k, v)                                                                    \
  do {                                                                               \
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) { \
      fprintf(stderr, "conf %s=%s: %s\n", k, v, errstr);                             \
      abort();                                                                       \
    }                                                                                \
  } while (0)
  if (t) SET("bootstrap.servers", t->bootstrap);
  SET("client.id", client_id);
  SET("log.connection.close", "false");
  rd_kafka_conf_set_log_cb(conf, log_cb);
  return conf;
}

/* The mock cluster thread names itself "rdk:mock" (rdkafka_mock.c). */
static pid_t scan_mock_tid(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return 0;
  struct dirent *de;
  pid_t tid = 0;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char path[300], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (fgets(comm, sizeof(comm), f) && strncmp(comm, "rdk:mock", 8) == 0) tid = (pid_t)atoi(de->d_name);
    fclose(f);
  }
  closedir(d);
  return tid;
}

static bool mock_start(target_t *t) {
  rd_kafka_conf_t *conf = base_conf(NULL, "bench-mock-host");
  t->mock_rk = conf_new_handle(RD_KAFKA_PRODUCER, conf);
  if (!t->mock_rk) return false;
  t->mcluster = rd_kafka_mock_cluster_new(t->mock_rk, 1);
  if (!t->mcluster) return false;
  snprintf(t->bootstrap, sizeof(t->bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(t->mcluster));
  /* The thread may need a moment to set its name. */
  for (int i = 0; i < 100 && !t->mock_tid; i++) {
    t->mock_tid = scan_mock_tid();
    if (!t->mock_tid) sleep_s(0.01);
  }
  if (!t->mock_tid) fprintf(stderr, "warning: mock thread not found; mock broker CPU will read 0\n");
  else fprintf(stderr, "mock cluster thread: tid %d\n", (int)t->mock_tid);
  t->up = true;
  return true;
}

static void mock_stop(target_t *t) {
  if (t->mcluster) rd_kafka_mock_cluster_destroy(t->mcluster);
  if (t->mock_rk) rd_kafka_destroy(t->mock_rk);
  t->mcluster = NULL;
  t->mock_rk = NULL;
  t->up = false;
}

/* ------------------------------------------------------------------ */
/* results and metering                                               */

typedef struct result {
  bool ok, skipped;
  char err[200];
  long msgs;
  double secs;
  double msgs_s, mb_s;
  double p50_ms, p99_ms;
  double broker_cpu, client_cpu, broker_rss;
  /* ratio column picks msgs_s, or p99 for latency rows */
  bool latency;
} result_t;

typedef struct meter {
  double broker_cpu0, self_cpu0, mock_cpu0;
} meter_t;

static double broker_cpu_now(const target_t *t) {
  if (t->bp.pid > 0) return proc_cpu_s(t->bp.pid);
  return thread_cpu_s(t->mock_tid);
}

static void meter_begin(const target_t *t, meter_t *m) {
  if (t->bp.pid > 0) proc_reset_hwm(t->bp.pid);
  m->broker_cpu0 = broker_cpu_now(t);
  m->self_cpu0 = self_cpu_s();
  m->mock_cpu0 = thread_cpu_s(t_mock.mock_tid);
}

static void meter_end(const target_t *t, const meter_t *m, result_t *r) {
  r->broker_cpu = broker_cpu_now(t) - m->broker_cpu0;
  double mock_d = thread_cpu_s(t_mock.mock_tid) - m->mock_cpu0;
  r->client_cpu = self_cpu_s() - m->self_cpu0 - mock_d;
  if (r->client_cpu < 0) r->client_cpu = 0; /* tick rounding of the two readings */
  r->broker_rss = t->bp.pid > 0 ? proc_hwm_mib(t->bp.pid) : -1;
}

static void fail(result_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(result_t *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (r->ok || !r->err[0]) vsnprintf(r->err, sizeof(r->err), fmt, ap);
  va_end(ap);
  r->ok = false;
}

/* ------------------------------------------------------------------ */
/* topics                                                             */

static bool wait_topic_ready(rd_kafka_t *rk, const char *topic, int parts, double deadline, int *got) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  bool ready = false;
  *got = -1;
  while (!ready && now_s() < deadline) {
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == 0) {
        *got = md->topics[0].partition_cnt;
        int led = 0;
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
          if (md->topics[0].partitions[i].leader >= 0 && md->topics[0].partitions[i].err == 0) led++;
        ready = led == parts && md->topics[0].partition_cnt == parts;
      }
      rd_kafka_metadata_destroy(md);
    }
    if (!ready) sleep_s(0.1);
  }
  rd_kafka_topic_destroy(rkt);
  return ready;
}

/* Creates topic with parts partitions. brookd: Admin CreateTopics (what a
 * user would do); mock: rd_kafka_mock_topic_create. */
static bool topic_create(target_t *t, const char *topic, int parts, result_t *r) {
  if (t->mcluster) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(t->mcluster, topic, parts, 1);
    if (err) {
      fail(r, "mock_topic_create: %s", rd_kafka_err2str(err));
      return false;
    }
    return true;
  }
  rd_kafka_t *rk = conf_new_handle(RD_KAFKA_PRODUCER, base_conf(t, "bench-admin"));
  if (!rk) return false;
  char errstr[256];
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, parts, 1, errstr, sizeof(errstr));
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(ao, 10000, errstr, sizeof(errstr));
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
  bool ok = false;
  if (!ev) {
    fail(r, "CreateTopics: no result in 15 s");
  } else if (rd_kafka_event_error(ev)) {
    fail(r, "CreateTopics: %s", rd_kafka_event_error_string(ev));
  } else {
    size_t n;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    if (n != 1)
      fail(r, "CreateTopics: %zu results", n);
    else if (rd_kafka_topic_result_error(tr[0]) && rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      fail(r, "CreateTopics %s: %s", topic, rd_kafka_err2str(rd_kafka_topic_result_error(tr[0])));
    else
      ok = true;
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  if (ok) {
    int got;
    if (!wait_topic_ready(rk, topic, parts, now_s() + 15, &got)) {
      fail(r, "topic %s not ready with %d led partitions in 15 s (metadata shows %d)", topic, parts, got);
      ok = false;
    }
  }
  rd_kafka_destroy(rk);
  return ok;
}

/* ------------------------------------------------------------------ */
/* producing                                                          */

typedef struct prod {
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  atomic_long delivered, failed;
  atomic_int first_err;
  /* latency mode */
  double *sent_at;
  double *lat;
  long nlat;
} prod_t;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  prod_t *p = opaque;
  if (m->err) {
    int zero = 0;
    atomic_compare_exchange_strong(&p->first_err, &zero, (int)m->err);
    atomic_fetch_add(&p->failed, 1);
    return;
  }
  atomic_fetch_add(&p->delivered, 1);
  if (p->sent_at) {
    long i = (long)(intptr_t)m->_private;
    p->lat[p->nlat++] = now_s() - p->sent_at[i];
  }
}

static bool prod_init(prod_t *p, const target_t *t, const char *topic, const char *acks, const char *cid) {
  memset(p, 0, sizeof(*p));
  rd_kafka_conf_t *conf = base_conf(t, cid);
  char errstr[256], tmo[32];
  snprintf(tmo, sizeof(tmo), "%d", (int)(opt.timeout * 1000));
  SET("acks", acks);
  SET("linger.ms", "5");
  SET("message.timeout.ms", tmo);
  SET("enable.idempotence", "false");
  SET("compression.codec", "none");
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_conf_set_opaque(conf, p);
  p->rk = conf_new_handle(RD_KAFKA_PRODUCER, conf);
  if (!p->rk) return false;
  p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
  return true;
}

static void prod_destroy(prod_t *p) {
  if (!p->rk) return;
  /* Anything still queued after our deadline is dropped, so destroy cannot
   * wait on an unresponsive broker. */
  rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(p->rk, 0);
  rd_kafka_topic_destroy(p->rkt);
  rd_kafka_destroy(p->rk);
  p->rk = NULL;
}

/* Produces count messages of size bytes, message i to parts[i % nparts]; at
 * most rate msgs/s if rate > 0. Returns when all are acknowledged or at
 * deadline. The payload starts with the message index so a reader could
 * check order. */
static bool prod_run(prod_t *p, const int *parts, int nparts, long count, int size, int rate, double deadline,
                     result_t *r) {
  char *buf = calloc(1, (size_t)size < 8 ? 8 : (size_t)size);
  memset(buf, 'x', (size_t)size);
  double t0 = now_s();
  for (long i = 0; i < count; i++) {
    if (rate > 0) {
      double due = t0 + (double)i / rate;
      while (now_s() < due) {
        rd_kafka_poll(p->rk, 0);
        sleep_s(50e-6);
      }
    }
    if (size >= 8) memcpy(buf, &i, 8);
    for (;;) {
      if (p->sent_at) p->sent_at[i] = now_s();
      if (rd_kafka_produce(p->rkt, parts[i % nparts], RD_KAFKA_MSG_F_COPY, buf, (size_t)size, NULL, 0,
                           (void *)(intptr_t)i) == 0)
        break;
      rd_kafka_resp_err_t err = rd_kafka_last_error();
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        fail(r, "produce: %s", rd_kafka_err2str(err));
        free(buf);
        return false;
      }
      if (now_s() > deadline) {
        fail(r, "TIMEOUT producing (%ld of %ld queued)", i, count);
        free(buf);
        return false;
      }
      rd_kafka_poll(p->rk, 1);
    }
    if ((i & 1023) == 0) rd_kafka_poll(p->rk, 0);
  }
  free(buf);
  while (atomic_load(&p->delivered) + atomic_load(&p->failed) < count && now_s() < deadline)
    rd_kafka_poll(p->rk, 50);
  long d = atomic_load(&p->delivered), f = atomic_load(&p->failed);
  if (f > 0) {
    fail(r, "%ld delivery errors (first: %s)", f, rd_kafka_err2str((rd_kafka_resp_err_t)atomic_load(&p->first_err)));
    return false;
  }
  if (d < count) {
    fail(r, "TIMEOUT: %ld of %ld delivered", d, count);
    return false;
  }
  return true;
}

/* ------------------------------------------------------------------ */
/* consuming                                                          */

typedef struct cons {
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  rd_kafka_queue_t *q;
} cons_t;

static bool cons_init(cons_t *c, const target_t *t, const char *topic, const char *cid) {
  memset(c, 0, sizeof(*c));
  rd_kafka_conf_t *conf = base_conf(t, cid);
  char errstr[256];
  SET("enable.partition.eof", "false");
  SET("enable.auto.commit", "false");
  c->rk = conf_new_handle(RD_KAFKA_CONSUMER, conf);
  if (!c->rk) return false;
  rd_kafka_topic_conf_t *tc = rd_kafka_topic_conf_new();
  /* legacy consumer: never store or commit offsets anywhere */
  rd_kafka_topic_conf_set(tc, "auto.commit.enable", "false", errstr, sizeof(errstr));
  c->rkt = rd_kafka_topic_new(c->rk, topic, tc);
  c->q = rd_kafka_queue_new(c->rk);
  return true;
}

static void cons_destroy(cons_t *c) {
  if (!c->rk) return;
  rd_kafka_queue_destroy(c->q);
  rd_kafka_topic_destroy(c->rkt);
  rd_kafka_destroy(c->rk);
  c->rk = NULL;
}

/* Reads counts[j] messages from parts[j] starting at offsets[j]; checks that
 * offsets arrive contiguously. Returns when all are read or at deadline.
 * *bytes_out gets the value bytes read. */
static bool cons_run(cons_t *c, const int *parts, int nparts, const int64_t *offsets, const long *counts, double deadline,
                     long *bytes_out, result_t *r) {
  int64_t next[MAX_PARTS];
  long left = 0, got[MAX_PARTS] = {0}, bytes = 0;
  for (int j = 0; j < nparts; j++) {
    next[j] = offsets[j];
    left += counts[j];
    if (rd_kafka_consume_start_queue(c->rkt, parts[j], offsets[j], c->q) == -1) {
      fail(r, "consume_start p%d: %s", parts[j], rd_kafka_err2str(rd_kafka_last_error()));
      return false;
    }
  }
  rd_kafka_message_t *msgs[1000];
  bool ok = true;
  while (left > 0) {
    if (now_s() > deadline) {
      fail(r, "TIMEOUT consuming: %ld messages missing", left);
      ok = false;
      break;
    }
    /* A blocking consume_batch waits for a FULL batch or its timeout, which
     * would add the timeout to every round's tail: take what is there
     * without waiting, and block (bounded) only for a single message. */
    ssize_t n = rd_kafka_consume_batch_queue(c->q, 0, msgs, 1000);
    if (n == 0) {
      rd_kafka_message_t *one = rd_kafka_consume_queue(c->q, 100);
      if (one) msgs[n++] = one;
    }
    for (ssize_t k = 0; k < n; k++) {
      rd_kafka_message_t *m = msgs[k];
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          fail(r, "consume p%d: %s", (int)m->partition, rd_kafka_message_errstr(m));
          ok = false;
        }
      } else {
        int j = 0;
        while (j < nparts && parts[j] != m->partition) j++;
        if (j < nparts && got[j] < counts[j]) {
          if (m->offset != next[j] && ok) {
            fail(r, "p%d: offset %" PRId64 " where %" PRId64 " was expected", (int)m->partition, m->offset, next[j]);
            ok = false;
          }
          next[j] = m->offset + 1;
          got[j]++;
          left--;
          bytes += (long)m->len;
        }
      }
      rd_kafka_message_destroy(m);
    }
    if (!ok) break;
  }
  for (int j = 0; j < nparts; j++) rd_kafka_consume_stop(c->rkt, parts[j]);
  *bytes_out = bytes;
  return ok;
}

/* ------------------------------------------------------------------ */
/* rows                                                               */

static long scaled(long n) {
  long v = (long)llround((double)n * opt.scale);
  return v < 1000 ? 1000 : v;
}

static void parts_seq(int *parts, int n, int base) {
  for (int i = 0; i < n; i++) parts[i] = base + i;
}

static void per_part_counts(long total, int nparts, long *counts) {
  for (int j = 0; j < nparts; j++) counts[j] = total / nparts + (j < total % nparts ? 1 : 0);
}

static void finish_rate(result_t *r, long msgs, long bytes, double secs) {
  r->msgs = msgs;
  r->secs = secs;
  r->msgs_s = secs > 0 ? (double)msgs / secs : 0;
  r->mb_s = secs > 0 ? (double)bytes / secs / 1e6 : 0;
}

static void row_produce(target_t *t, const char *topic, long count, int size, int nparts, const char *acks,
                        result_t *r) {
  r->ok = true;
  if (!topic_create(t, topic, nparts, r)) return;
  prod_t p;
  if (!prod_init(&p, t, topic, acks, "bench-producer")) {
    fail(r, "producer init");
    return;
  }
  int parts[MAX_PARTS];
  parts_seq(parts, nparts, 0);
  /* Connect and learn the leader before the clock starts. */
  int got;
  wait_topic_ready(p.rk, topic, nparts, now_s() + 10, &got);
  meter_t m;
  meter_begin(t, &m);
  double t0 = now_s();
  prod_run(&p, parts, nparts, count, size, 0, t0 + opt.timeout, r);
  double secs = now_s() - t0;
  meter_end(t, &m, r);
  finish_rate(r, count, count * (long)size, secs);
  prod_destroy(&p);
}

static void row_consume_rounds(target_t *t, const char *topic, long count, int size, int nparts, result_t *r) {
  r->ok = true;
  if (!topic_create(t, topic, nparts, r)) return;
  long round = (long)nparts * (RETAIN_BUDGET / (size + RECORD_OVERHEAD));
  prod_t p;
  if (!prod_init(&p, t, topic, "1", "bench-round-producer")) {
    fail(r, "producer init");
    return;
  }
  int parts[MAX_PARTS];
  parts_seq(parts, nparts, 0);
  int64_t offs[MAX_PARTS] = {0};
  double consume_secs = 0, deadline = now_s() + opt.timeout;
  double cpu_b = 0, cpu_c = 0, rss = -1;
  long done = 0, bytes_total = 0;
  while (done < count && r->ok) {
    long n = count - done < round ? count - done : round;
    long counts[MAX_PARTS];
    /* Message i of a round goes to parts[i % nparts]; rounds start at i = 0. */
    per_part_counts(n, nparts, counts);
    /* A fresh, already connected consumer per round: a consumer reused
     * across rounds would carry an empty fetch left pending at the end of
     * the previous round, and the mock answers an empty fetch only after
     * the full fetch.wait.max.ms (500 ms) even if data arrives meanwhile
     * (rdkafka_mock_handlers.c), which would dominate the mock's figure.
     * The metadata request connects it before the clock starts. */
    cons_t c;
    if (!cons_init(&c, t, topic, "bench-round-consumer")) {
      fail(r, "consumer init");
      break;
    }
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(c.rk, 0, c.rkt, &md, 5000) == 0) rd_kafka_metadata_destroy(md);
    atomic_store(&p.delivered, 0);
    atomic_store(&p.failed, 0);
    if (!prod_run(&p, parts, nparts, n, size, 0, deadline, r)) {
      cons_destroy(&c);
      break;
    }
    meter_t m;
    meter_begin(t, &m);
    double t0 = now_s();
    long bytes = 0;
    cons_run(&c, parts, nparts, offs, counts, deadline, &bytes, r);
    consume_secs += now_s() - t0;
    result_t tmp = {0};
    meter_end(t, &m, &tmp);
    cons_destroy(&c);
    cpu_b += tmp.broker_cpu;
    cpu_c += tmp.client_cpu;
    if (tmp.broker_rss > rss) rss = tmp.broker_rss;
    for (int j = 0; j < nparts; j++) offs[j] += counts[j];
    done += n;
    bytes_total += bytes;
  }
  finish_rate(r, done, bytes_total, consume_secs);
  r->broker_cpu = cpu_b;
  r->client_cpu = cpu_c;
  r->broker_rss = rss;
  prod_destroy(&p);
}

static void row_consume_straight(target_t *t, const char *topic, long count, int nparts, result_t *r) {
  r->ok = true;
  cons_t c;
  if (!cons_init(&c, t, topic, "bench-straight-consumer")) {
    fail(r, "consumer init");
    return;
  }
  int parts[MAX_PARTS];
  long counts[MAX_PARTS];
  int64_t offs[MAX_PARTS] = {0};
  parts_seq(parts, nparts, 0);
  per_part_counts(count, nparts, counts);
  meter_t m;
  meter_begin(t, &m);
  double t0 = now_s();
  long bytes = 0;
  cons_run(&c, parts, nparts, offs, counts, t0 + opt.timeout, &bytes, r);
  double secs = now_s() - t0;
  meter_end(t, &m, r);
  finish_rate(r, count, bytes, secs);
  cons_destroy(&c);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void row_latency(target_t *t, const char *topic, int size, const char *acks, result_t *r) {
  r->ok = true;
  r->latency = true;
  if (!topic_create(t, topic, 1, r)) return;
  long count = (long)(opt.rate * opt.latency_secs);
  prod_t p;
  if (!prod_init(&p, t, topic, acks, "bench-latency-producer")) {
    fail(r, "producer init");
    return;
  }
  p.sent_at = calloc((size_t)count, sizeof(double));
  p.lat = calloc((size_t)count, sizeof(double));
  int parts[1] = {0}, got;
  wait_topic_ready(p.rk, topic, 1, now_s() + 10, &got);
  meter_t m;
  meter_begin(t, &m);
  double t0 = now_s();
  prod_run(&p, parts, 1, count, size, opt.rate, t0 + opt.latency_secs + opt.timeout, r);
  double secs = now_s() - t0;
  meter_end(t, &m, r);
  finish_rate(r, count, count * (long)size, secs);
  if (p.nlat > 0) {
    qsort(p.lat, (size_t)p.nlat, sizeof(double), cmp_double);
    r->p50_ms = p.lat[(long)(0.50 * (double)(p.nlat - 1))] * 1e3;
    r->p99_ms = p.lat[(long)(0.99 * (double)(p.nlat - 1))] * 1e3;
  }
  prod_destroy(&p);
  free(p.sent_at);
  free(p.lat);
}

/* multi-client: nthreads producers and nthreads consumers at once on
 * MULTI_PARTS partitions split evenly among them (producer i and consumer i
 * share the same partitions). */
#define MULTI_PARTS 6

typedef struct mthread {
  target_t *t;
  const char *topic;
  int parts[MAX_PARTS], nparts;
  long counts[MAX_PARTS];
  long count;
  int size;
  double deadline, done_at;
  long bytes;
  result_t r;
  pthread_barrier_t *barrier;
  bool producer;
  int idx;
} mthread_t;

static void *mthread_main(void *arg) {
  mthread_t *mt = arg;
  char cid[64];
  mt->r.ok = true;
  snprintf(cid, sizeof(cid), "bench-multi-%s-%d", mt->producer ? "p" : "c", mt->idx);
  if (mt->producer) {
    prod_t p;
    bool ok = prod_init(&p, mt->t, mt->topic, "1", cid);
    pthread_barrier_wait(mt->barrier);
    if (ok) prod_run(&p, mt->parts, mt->nparts, mt->count, mt->size, 0, mt->deadline, &mt->r);
    else fail(&mt->r, "producer init");
    mt->done_at = now_s();
    mt->bytes = mt->count * (long)mt->size;
    if (ok) prod_destroy(&p);
  } else {
    cons_t c;
    bool ok = cons_init(&c, mt->t, mt->topic, cid);
    int64_t offs[MAX_PARTS] = {0};
    pthread_barrier_wait(mt->barrier);
    if (ok) cons_run(&c, mt->parts, mt->nparts, offs, mt->counts, mt->deadline, &mt->bytes, &mt->r);
    else fail(&mt->r, "consumer init");
    mt->done_at = now_s();
    if (ok) cons_destroy(&c);
  }
  return NULL;
}

/* Two results: rp (aggregate produce rate), rc (aggregate consume rate,
 * measured from the common start to the last consumer's finish). */
static void row_multi(target_t *t, const char *topic, long count, int size, int nthreads, result_t *rp, result_t *rc) {
  rp->ok = rc->ok = true;
  if (!topic_create(t, topic, MULTI_PARTS, rp)) {
    *rc = *rp;
    return;
  }
  if (t->bounded_retention) {
    /* Must fit entirely: consumers may lag behind producers. */
    long cap = (long)MULTI_PARTS * (RETAIN_BUDGET / (size + RECORD_OVERHEAD));
    if (count > cap) count = cap;
  }
  count -= count % (nthreads * MULTI_PARTS);
  mthread_t mt[2 * MAX_THREADS];
  pthread_t th[2 * MAX_THREADS];
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)(2 * nthreads + 1));
  int per = MULTI_PARTS / nthreads;
  meter_t m;
  double deadline = now_s() + opt.timeout;
  for (int i = 0; i < 2 * nthreads; i++) {
    mthread_t *x = &mt[i];
    memset(x, 0, sizeof(*x));
    x->t = t;
    x->topic = topic;
    x->producer = i < nthreads;
    x->idx = i % nthreads;
    x->nparts = per;
    parts_seq(x->parts, per, x->idx * per);
    x->count = count / nthreads;
    per_part_counts(x->count, per, x->counts);
    x->size = size;
    x->deadline = deadline;
    x->barrier = &barrier;
    pthread_create(&th[i], NULL, mthread_main, x);
  }
  pthread_barrier_wait(&barrier);
  meter_begin(t, &m);
  double t0 = now_s();
  for (int i = 0; i < 2 * nthreads; i++) pthread_join(th[i], NULL);
  meter_end(t, &m, rp);
  pthread_barrier_destroy(&barrier);
  double pend = t0, cend = t0;
  long pbytes = 0, cbytes = 0;
  for (int i = 0; i < 2 * nthreads; i++) {
    result_t *dst = mt[i].producer ? rp : rc;
    if (!mt[i].r.ok) fail(dst, "%s", mt[i].r.err);
    if (mt[i].producer) {
      if (mt[i].done_at > pend) pend = mt[i].done_at;
      pbytes += mt[i].bytes;
    } else {
      if (mt[i].done_at > cend) cend = mt[i].done_at;
      cbytes += mt[i].bytes;
    }
  }
  finish_rate(rp, count, pbytes, pend - t0);
  finish_rate(rc, count, cbytes, cend - t0);
  rc->broker_cpu = rp->broker_cpu;
  rc->client_cpu = rp->client_cpu;
  rc->broker_rss = rp->broker_rss;
}

/* ------------------------------------------------------------------ */
/* output                                                             */

static void print_header(void) {
  printf("| workload | target | msgs | msgs/s | MB/s | p50 ms | p99 ms | broker CPU s | broker peak RSS MiB | "
         "client CPU s | brookd/mock |\n");
  printf("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  fflush(stdout);
}

static void fmt_num(char *buf, size_t sz, double v, const char *fmt) {
  if (v < 0)
    snprintf(buf, sz, "n/a");
  else
    snprintf(buf, sz, fmt, v);
}

static void print_line(const char *workload, const target_t *t, const result_t *r, const result_t *other) {
  char ratio[48] = "";
  if (t == &t_floor && other && other->ok && r->ok && !other->skipped && other->msgs_s > 0)
    snprintf(ratio, sizeof(ratio), "%.2fx (ceiling)", r->msgs_s / other->msgs_s);
  if (t == &t_brookd && other && other->ok && r->ok && !other->skipped) {
    if (r->latency && other->p99_ms > 0)
      snprintf(ratio, sizeof(ratio), "%.2fx (p99)", r->p99_ms / other->p99_ms);
    else if (!r->latency && other->msgs_s > 0)
      snprintf(ratio, sizeof(ratio), "%.2fx", r->msgs_s / other->msgs_s);
  }
  if (r->skipped) {
    printf("| %s | %s | | %s | | | | | | | |\n", workload, t->name, r->err);
  } else if (!r->ok) {
    printf("| %s | %s | %ld | FAIL: %s | | | | | | | |\n", workload, t->name, r->msgs, r->err);
  } else {
    char p50[32] = "", p99[32] = "", rss[32];
    if (r->latency) {
      snprintf(p50, sizeof(p50), "%.2f", r->p50_ms);
      snprintf(p99, sizeof(p99), "%.2f", r->p99_ms);
    }
    fmt_num(rss, sizeof(rss), r->broker_rss, "%.1f");
    printf("| %s | %s | %ld | %.0f | %.1f | %s | %s | %.2f | %s | %.2f | %s |\n", workload, t->name, r->msgs,
           r->msgs_s, r->mb_s, p50, p99, r->broker_cpu, rss, r->client_cpu, ratio);
  }
  fflush(stdout);
}

static bool want(const char *kind) {
  if (!opt.only) return true;
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", opt.only);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
    if (strcmp(tok, kind) == 0) return true;
  return false;
}

typedef struct rowarg {
  char topic[96];
  long count;
  int size, nparts, nthreads;
  const char *acks;
} rowarg_t;

/*
 * The write(2) floor of a produce row: what this machine needs to take the
 * bytes brookd just appended for the row's topic into the page cache, with
 * nothing else — no network, no parsing, no CRC, no index. It writes the
 * same number of bytes (the topic's .log files after the row) in 1 MiB
 * write(2) calls from one warm buffer into a new file beside brookd's data,
 * like the log does, and times that. Any broker that keeps its log in files
 * through the page cache, Kafka included, is bounded by it, so floor/mock is
 * the best brookd/mock ratio this machine allows for the row. The file is
 * kept until brookd's temp dir goes at the end of the run: deleting it
 * would hand its pages to the next row's brookd warm (see PERFORMANCE.md on
 * this VM's page allocation), which would favour brookd.
 */
static long long topic_log_bytes(const char *datadir, const char *topic) {
  long long total = 0;
  DIR *d = opendir(datadir);
  if (!d) return -1;
  size_t tl = strlen(topic);
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *dash = strrchr(de->d_name, '-');
    if (!dash || (size_t)(dash - de->d_name) != tl || strncmp(de->d_name, topic, tl) != 0) continue;
    char sub[2 * PATH_MAX];
    snprintf(sub, sizeof(sub), "%s/%s", datadir, de->d_name);
    DIR *pd = opendir(sub);
    if (!pd) continue;
    struct dirent *fe;
    while ((fe = readdir(pd))) {
      size_t n = strlen(fe->d_name);
      if (n < 4 || strcmp(fe->d_name + n - 4, ".log") != 0) continue;
      char f[3 * PATH_MAX];
      struct stat st;
      snprintf(f, sizeof(f), "%s/%s", sub, fe->d_name);
      if (stat(f, &st) == 0) total += st.st_size;
    }
    closedir(pd);
  }
  closedir(d);
  return total;
}

static double thread_self_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void row_floor(const char *topic, long count, result_t *r) {
  static int seq;
  r->ok = true;
  char datadir[PATH_MAX + 8], path[PATH_MAX + 32];
  snprintf(datadir, sizeof(datadir), "%s/data", t_brookd.bp.tmpdir);
  long long bytes = topic_log_bytes(datadir, topic);
  if (bytes <= 0) {
    fail(r, "no log files for %s", topic);
    return;
  }
  snprintf(path, sizeof(path), "%s/floor-%d.bin", t_brookd.bp.tmpdir, seq++);
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    fail(r, "open %s: %s", path, strerror(errno));
    return;
  }
  enum { CHUNK = 1 << 20 };
  static char *buf;
  if (!buf) {
    buf = malloc(CHUNK);
    memset(buf, 'x', CHUNK);
  }
  double cpu0 = thread_self_cpu_s(), t0 = now_s();
  for (long long done = 0; done < bytes && r->ok;) {
    size_t n = bytes - done < CHUNK ? (size_t)(bytes - done) : CHUNK;
    ssize_t w = write(fd, buf, n);
    if (w <= 0) fail(r, "write: %s", strerror(errno));
    else done += w;
  }
  double secs = now_s() - t0;
  r->broker_cpu = thread_self_cpu_s() - cpu0;
  r->broker_rss = -1;
  close(fd);
  finish_rate(r, count, bytes, secs);
  r->mb_s = (double)bytes / secs / 1e6; /* log bytes, headers included */
}

/* Runs fn for brookd then mock and prints both lines. */
typedef void(row_fn_t)(target_t *t, void *arg, result_t *r);

static row_fn_t fn_produce;

static void run_row(const char *workload, row_fn_t *fn, void *arg, bool mock_na, const char *na_reason) {
  result_t rb = {0}, rm = {0}, rf = {.skipped = true};
  target_t *ts[2] = {&t_brookd, &t_mock};
  result_t *rs[2] = {&rb, &rm};
  for (int i = 0; i < 2; i++) {
    if (!ts[i]->up) {
      rs[i]->skipped = true;
      continue;
    }
    if (i == 1 && mock_na) {
      rs[i]->skipped = true;
      snprintf(rs[i]->err, sizeof(rs[i]->err), "n/a: %s", na_reason);
      continue;
    }
    fprintf(stderr, "# %s: %s ...\n", ts[i]->name, workload);
    fn(ts[i], arg, rs[i]);
    if (i == 0 && fn == fn_produce && rb.ok && !opt.no_floor) {
      const rowarg_t *a = arg;
      rf.skipped = false;
      row_floor(a->topic, a->count, &rf);
    }
  }
  if (t_brookd.up) print_line(workload, &t_brookd, &rb, &rm);
  if (!rf.skipped) print_line(workload, &t_floor, &rf, &rm);
  if (t_mock.up) print_line(workload, &t_mock, &rm, &rb);
}

static void fn_produce(target_t *t, void *arg, result_t *r) {
  rowarg_t *a = arg;
  row_produce(t, a->topic, a->count, a->size, a->nparts, a->acks, r);
}
static void fn_rounds(target_t *t, void *arg, result_t *r) {
  rowarg_t *a = arg;
  row_consume_rounds(t, a->topic, a->count, a->size, a->nparts, r);
}
static void fn_straight(target_t *t, void *arg, result_t *r) {
  rowarg_t *a = arg;
  row_consume_straight(t, a->topic, a->count, a->nparts, r);
}
static void fn_latency(target_t *t, void *arg, result_t *r) {
  rowarg_t *a = arg;
  row_latency(t, a->topic, a->size, a->acks, r);
}

static void run_multi(const char *label, rowarg_t *a) {
  result_t rb[2] = {{0}}, rm[2] = {{0}};
  char wp[200], wc[200];
  snprintf(wp, sizeof(wp), "%s produce", label);
  snprintf(wc, sizeof(wc), "%s consume", label);
  if (t_brookd.up) {
    fprintf(stderr, "# brookd: %s ...\n", label);
    row_multi(&t_brookd, a->topic, a->count, a->size, a->nthreads, &rb[0], &rb[1]);
  }
  if (t_mock.up) {
    fprintf(stderr, "# mock: %s ...\n", label);
    row_multi(&t_mock, a->topic, a->count, a->size, a->nthreads, &rm[0], &rm[1]);
  }
  if (t_brookd.up) print_line(wp, &t_brookd, &rb[0], &rm[0]);
  if (t_mock.up) print_line(wp, &t_mock, &rm[0], &rb[0]);
  if (t_brookd.up) print_line(wc, &t_brookd, &rb[1], &rm[1]);
  if (t_mock.up) print_line(wc, &t_mock, &rm[1], &rb[1]);
}

/* ------------------------------------------------------------------ */

static void usage(const char *prog) {
  fprintf(stderr,
          "usage: %s [options] [BROOKD]\n"
          "  --brookd PATH       brookd executable (default: argument, then env BROOKD)\n"
          "  --no-brookd         only the mock cluster\n"
          "  --no-mock           only brookd\n"
          "  --scale F           multiply message counts by F (e.g. 0.1 for a smoke run)\n"
          "  --rate N            latency rows: msgs/s (default 20000)\n"
          "  --latency-secs S    latency rows: duration (default 5)\n"
          "  --timeout S         per-row deadline (default 180)\n"
          "  --only KINDS        comma list of produce,rounds,straight,latency,multi\n"
          "  --threads N         producers = consumers in the multi row (default 3; divides 6)\n"
          "  --override K=V      passed to brookd as --override K=V (repeatable)\n"
          "  --keep              keep brookd's temp dir and log\n"
          "  --no-floor          no write(2) floor line under brookd's produce rows\n",
          prog);
}

int main(int argc, char **argv) {
  static const struct option lo[] = {
      {"brookd", required_argument, 0, 'b'},       {"no-brookd", no_argument, 0, 'B'},
      {"no-mock", no_argument, 0, 'M'},            {"scale", required_argument, 0, 's'},
      {"rate", required_argument, 0, 'r'},         {"latency-secs", required_argument, 0, 'l'},
      {"timeout", required_argument, 0, 't'},      {"only", required_argument, 0, 'o'},
      {"threads", required_argument, 0, 'n'},      {"override", required_argument, 0, 'O'},
      {"keep", no_argument, 0, 'k'},               {"help", no_argument, 0, 'h'},
      {"no-floor", no_argument, 0, 'F'},
      {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
    case 'b': opt.brookd_path = optarg; break;
    case 'B': opt.no_brookd = true; break;
    case 'M': opt.no_mock = true; break;
    case 's': opt.scale = atof(optarg); break;
    case 'r': opt.rate = atoi(optarg); break;
    case 'l': opt.latency_secs = atof(optarg); break;
    case 't': opt.timeout = atof(optarg); break;
    case 'o': opt.only = optarg; break;
    case 'n': opt.threads = atoi(optarg); break;
    case 'O':
      if (opt.n_overrides < 32) opt.overrides[opt.n_overrides++] = optarg;
      break;
    case 'k': opt.keep = true; break;
    case 'F': opt.no_floor = true; break;
    default: usage(argv[0]); return c == 'h' ? 0 : 2;
    }
  }
  if (optind < argc) opt.brookd_path = argv[optind];
  if (!opt.brookd_path) opt.brookd_path = getenv("BROOKD");
  if (opt.scale <= 0 || opt.rate <= 0 || opt.latency_secs <= 0 || opt.timeout <= 0 || opt.threads < 1 ||
      opt.threads > MAX_THREADS || MULTI_PARTS % opt.threads != 0) {
    usage(argv[0]);
    return 2;
  }
  if (!opt.no_brookd && (!opt.brookd_path || !*opt.brookd_path)) {
    fprintf(stderr, "no brookd: pass --brookd PATH, set BROOKD, or use --no-brookd\n");
    return 2;
  }

  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (!opt.no_brookd && !brookd_start(&t_brookd, opt.brookd_path)) {
    brookd_stop(&t_brookd);
    fprintf(stderr, "brookd did not start; continuing with the mock only\n");
  }
  if (!opt.no_mock && !mock_start(&t_mock)) {
    fprintf(stderr, "mock cluster did not start\n");
    mock_stop(&t_mock);
  }
  if (!t_brookd.up && !t_mock.up) return 1;

  char ver[64];
  snprintf(ver, sizeof(ver), "%s", rd_kafka_version_str());
  printf("bench-produce-consume: librdkafka %s, scale %g, linger.ms=5, %ld CPUs; brookd %s%s%s\n\n", ver, opt.scale,
         sysconf(_SC_NPROCESSORS_ONLN), t_brookd.up ? t_brookd.bootstrap : "not run", t_mock.up ? "; mock " : "",
         t_mock.up ? t_mock.bootstrap : "");
  print_header();

  static const struct {
    int size;
    long count;
  } sizes[] = {{100, 1000000}, {1024, 200000}};
  static const int partss[] = {1, 4};
  for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
    for (size_t pi = 0; pi < sizeof(partss) / sizeof(partss[0]); pi++) {
      int size = sizes[si].size, np = partss[pi];
      long count = scaled(sizes[si].count);
      char w[160];
      rowarg_t a = {.count = count, .size = size, .nparts = np};
      const char *acks[2] = {"1", "all"};
      for (int ai = 0; ai < 2; ai++) {
        if (!want("produce")) continue;
        a.acks = acks[ai];
        snprintf(a.topic, sizeof(a.topic), "bench-p-%d-%dp-acks%s", size, np, acks[ai]);
        snprintf(w, sizeof(w), "produce %dB x%d p acks=%s", size, np, acks[ai]);
        run_row(w, fn_produce, &a, false, NULL);
      }
      if (want("rounds")) {
        snprintf(a.topic, sizeof(a.topic), "bench-r-%d-%dp", size, np);
        snprintf(w, sizeof(w), "consume rounds %dB x%d p", size, np);
        run_row(w, fn_rounds, &a, false, NULL);
      }
      if (want("straight") && want("produce")) {
        /* the acks=1 produce topic holds exactly count messages */
        snprintf(a.topic, sizeof(a.topic), "bench-p-%d-%dp-acks1", size, np);
        snprintf(w, sizeof(w), "consume straight %dB x%d p", size, np);
        run_row(w, fn_straight, &a, true, "keeps only ~5 MiB/partition");
      }
    }
  }
  if (want("latency")) {
    const char *acks[2] = {"1", "all"};
    for (int ai = 0; ai < 2; ai++) {
      rowarg_t a = {.size = 100, .nparts = 1, .acks = acks[ai]};
      char w[160];
      snprintf(a.topic, sizeof(a.topic), "bench-lat-acks%s", acks[ai]);
      snprintf(w, sizeof(w), "latency 100B @%d/s x1 p acks=%s", opt.rate, acks[ai]);
      run_row(w, fn_latency, &a, false, NULL);
    }
  }
  if (want("multi")) {
    int ns[2] = {1, opt.threads};
    for (int i = 0; i < (opt.threads == 1 ? 1 : 2); i++) {
      rowarg_t a = {.size = 100, .count = scaled(1000000), .nthreads = ns[i]};
      char w[160];
      snprintf(a.topic, sizeof(a.topic), "bench-multi-%d", ns[i]);
      snprintf(w, sizeof(w), "multi %dP+%dC 100B x%d p", ns[i], ns[i], MULTI_PARTS);
      run_multi(w, &a);
    }
  }

  mock_stop(&t_mock);
  brookd_stop(&t_brookd);
  return 0;
}
