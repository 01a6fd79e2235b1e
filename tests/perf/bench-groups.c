/*
 * bench-groups.c — consumer-group benchmark of brookd against librdkafka's
 * in-process mock cluster, driven by librdkafka 2.0.2 consumers: how long a
 * group takes to recover from a member's death, and how long a rebalance of
 * 10 members takes, printed next to the timeouts that bound them.
 *
 * Design note
 * -----------
 * One invocation runs two parts against up to two targets and prints one
 * markdown table of timings (min / median / max over the runs) and one of
 * resources:
 *
 *   brookd  a child process (fork+exec of the real brookd) on 127.0.0.1 port
 *           0, fresh temporary log dir, started with explicit
 *           --override group.initial.rebalance.delay.ms=0 and
 *           --override group.min.session.timeout.ms=min(6000, S). CPU from
 *           /proc/<pid>/stat, peak RSS from VmHWM (reset per part with
 *           clear_refs 5), and its whole-run rusage from wait4() at the end.
 *   mock    rd_kafka_mock_cluster_new() in THIS process. Its group
 *           coordinator (rdkafka_mock_cgrp.c, 2.0.x) differs from Kafka's:
 *           it checks sessions once a second; a rebalance of a group that
 *           was up always waits session.timeout.ms - 1000 ms for members to
 *           rejoin (there is no "all members rejoined" shortcut and the
 *           rebalance timeout is ignored); an empty group's first rebalance
 *           waits a fixed 3000 ms; a follower whose SyncGroup arrives after
 *           the leader's is answered REBALANCE_IN_PROGRESS and rejoins,
 *           which costs another full round. Its figures therefore show the
 *           mock's timers, not a speed; they are printed for the side-by-side.
 *
 * Part (a), failover. N members (default 3) on a P-partition topic
 * (default 6) with session.timeout.ms = S and heartbeat.interval.ms ~ S/10
 * (rounded down to a multiple of 500 ms, at least 500: librdkafka 2.0.2
 * heartbeats on a 500 ms grid, so 600 would really mean 1000);
 * a producer thread writes to every partition at a low rate. Member 0 runs
 * in a separate process (this binary re-executed with --child-member, so it
 * shares nothing with our librdkafka threads) and reports its assignment and
 * its first message per partition over a pipe. Once the group is stable
 * (live members hold an exact cover of the partitions, each has read from
 * every partition it holds, no rebalance for STEADY_HOLD_S, longer than the
 * auto-commit interval so the victim has committed) and a phase offset
 * (event_phase), the child is SIGKILLed by PID: no LeaveGroup, its sockets
 * just close. Timed from the kill:
 *   detect    the first survivor's revoke callback (the coordinator has
 *             expired the dead member and the survivor heard it);
 *   takeover  the last of the dead member's partitions to have been assigned
 *             to a survivor AND read from by it (a message consumed).
 * Each run uses a new group id; the survivors leave with
 * rd_kafka_consumer_close() between runs.
 *
 * Part (b), rebalance with 10 members. 10 consumers (threads here, one
 * rd_kafka_t each) on a 30-partition topic, no data. Once stable:
 *   join      an 11th consumer, already connected, calls subscribe(): timed
 *             from that call to every one of the 11 having received its new
 *             assignment (its ASSIGN rebalance callback after the call) with
 *             the 11 assignments covering the topic exactly once;
 *   leave     the oldest member calls rd_kafka_consumer_close(): timed from
 *             that call to each of the remaining 10 having received its new
 *             assignment, covering the topic.
 * The runs chain on one group (10 -> 11 -> 10 -> 11 ...), waiting for quiet
 * and a phase offset (event_phase) before each event. brookd's group.initial.rebalance.delay.ms is 0 (it only
 * delays the first rebalance of an empty group, so it does not enter these figures, but it shortens setup);
 * the rebalance timeout members send is max.poll.interval.ms.
 *
 * All consumers: partition.assignment.strategy=range (eager), auto commit
 * every AUTO_COMMIT_MS, auto.offset.reset=latest, fetch.wait.max.ms=100 (the
 * mock answers an empty fetch only after the full wait even if data arrives
 * meanwhile; 100 ms bounds that artefact, brookd wakes parked fetches).
 *
 * Bounds: every wait has a deadline derived from S (formation 60 s + 4 S,
 * failover and rebalance 30 s + 4 S); a miss marks the row TIMEOUT, dumps the
 * members' state (and brookd's log tail) to stderr, and the run goes on.
 * Only 127.0.0.1 is contacted. brookd and the child member get
 * PR_SET_PDEATHSIG and are stopped by PID; the child also exits by itself
 * after CHILD_MAX_S. SIGINT/SIGTERM stop both before exiting.
 *
 * Threads: the main thread drives everything and owns the targets; each
 * in-process member has a poll thread that serves its callbacks; all
 * observed events go through grun_t under its mutex, stamped with
 * CLOCK_MONOTONIC where they happen (the child's events are stamped when
 * their line is read, which is only used to decide stability).
 *
 * The /proc, brookd start/stop and topic helpers repeat
 * bench-produce-consume.c's on purpose: each benchmark is one file.
 */
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
#include <dirent.h>
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

#define MAX_SLOTS 48 /* members one part may create over all its runs */
#define MAX_PARTS 64 /* assignments are kept as 64-bit masks */
#define MAX_REPS 32
#define AUTO_COMMIT_MS 500
#define STEADY_HOLD_S 1.0 /* > AUTO_COMMIT_MS: the victim has committed */
#define CHILD_MAX_S 600.0
#define MOCK_INITIAL_DELAY_MS 3000 /* hard-coded in rdkafka_mock_cgrp.c (2.0.x) */

/* ------------------------------------------------------------------ */
/* options                                                            */

static struct {
  const char *brookd_path;
  bool no_brookd, no_mock, smoke, keep;
  int session_ms, heartbeat_ms, max_poll_ms; /* -1: default for the mode */
  int members, parts, reps;                  /* part (a) */
  int rb_members, rb_parts, rb_reps;         /* part (b) */
  int rate;                                  /* msgs/s per partition in part (a) */
  const char *only;
  const char *overrides[32];
  int n_overrides;
} opt = {.session_ms = -1,
         .heartbeat_ms = -1,
         .max_poll_ms = -1,
         .members = 3,
         .parts = 6,
         .reps = -1,
         .rb_members = 10,
         .rb_parts = 30,
         .rb_reps = -1,
         .rate = 50};

static char self_exe[PATH_MAX];

/* ------------------------------------------------------------------ */
/* time, cpu, memory                                                  */

static double rusage_s(int who) {
  struct rusage ru;
  getrusage(who, &ru);
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
} target_t;

static target_t t_brookd = {.name = "brookd"};
static target_t t_mock = {.name = "mock"};

/* For the signal handler: the member process to kill if we are interrupted. */
static volatile sig_atomic_t member_pid_sig;

static void on_signal(int sig) {
  if (member_pid_sig > 0) kill((pid_t)member_pid_sig, SIGKILL);
  brookd_proc_stop_from_signal(&t_brookd.bp);
  _exit(128 + sig);
}

static int effective_min_session_ms(void) { return opt.session_ms < 6000 ? opt.session_ms : 6000; }

/* The explicit settings brookd gets before the user's --override ones. */
static void brookd_settings(char bufs[2][96]) {
  snprintf(bufs[0], 96, "group.initial.rebalance.delay.ms=0");
  snprintf(bufs[1], 96, "group.min.session.timeout.ms=%d", effective_min_session_ms());
}

static bool brookd_start(target_t *t, const char *path) {
  static char settings[2][96];
  brookd_settings(settings);
  const char *ov[2 + 32];
  int n = 0;
  for (int i = 0; i < 2; i++) ov[n++] = settings[i];
  for (int i = 0; i < opt.n_overrides; i++) ov[n++] = opt.overrides[i]; /* later ones win */
  if (!brookd_proc_start(&t->bp, path, "brook-bench-groups", ov, n)) return false;
  snprintf(t->bootstrap, sizeof(t->bootstrap), "%s", t->bp.bootstrap);
  t->up = true;
  return true;
}

/* Reaped with wait4() so the whole run's rusage of brookd is known (t->bp.final_ru). */
static void brookd_stop(target_t *t) {
  brookd_proc_stop(&t->bp, opt.keep);
  t->up = false;
}

/* librdkafka log: a bounded number of lines so a misbehaving broker cannot
 * flood the output. */
static atomic_int log_lines;
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  if (level > 4) return;
  int n = atomic_fetch_add(&log_lines, 1);
  if (n < 40)
    fprintf(stderr, "  [rdkafka %s %d %s] %s\n", rd_kafka_name(rk), level, fac, buf);
  else if (n == 40)
    fprintf(stderr, "  [rdkafka] further log lines suppressed\n");
}

#define SET(k, v)                                                                    \
  do {                                                                               \
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) { \
      fprintf(stderr, "conf %s=%s: %s\n", k, v, errstr);                             \
      abort();                                                                       \
    }                                                                                \
  } while (0)

static rd_kafka_conf_t *base_conf(const char *bootstrap, const char *client_id) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char errstr[256];
  if (bootstrap) SET("bootstrap.servers", bootstrap);
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
  char errstr[256];
  t->mock_rk =
      rd_kafka_new(RD_KAFKA_PRODUCER, base_conf(NULL, "bench-groups-mock-host"), errstr, sizeof(errstr));
  if (!t->mock_rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return false;
  }
  t->mcluster = rd_kafka_mock_cluster_new(t->mock_rk, 1);
  if (!t->mcluster) return false;
  snprintf(t->bootstrap, sizeof(t->bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(t->mcluster));
  for (int i = 0; i < 100 && !t->mock_tid; i++) {
    t->mock_tid = scan_mock_tid();
    if (!t->mock_tid) sleep_s(0.01);
  }
  if (!t->mock_tid) fprintf(stderr, "warning: mock thread not found; mock broker CPU will read 0\n");
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
/* metering (per part)                                                */

typedef struct usage {
  bool ran;
  double wall, broker_cpu, broker_rss, client_cpu;
  double t0, broker_cpu0, self_cpu0, children_cpu0, mock_cpu0;
} usage_t;

static double broker_cpu_now(const target_t *t) {
  if (t->bp.pid > 0) return proc_cpu_s(t->bp.pid);
  return thread_cpu_s(t->mock_tid);
}

static void meter_begin(const target_t *t, usage_t *u) {
  if (t->bp.pid > 0) proc_reset_hwm(t->bp.pid);
  u->ran = true;
  u->t0 = now_s();
  u->broker_cpu0 = broker_cpu_now(t);
  u->self_cpu0 = rusage_s(RUSAGE_SELF);
  u->children_cpu0 = rusage_s(RUSAGE_CHILDREN); /* reaped child members; brookd is reaped only at the end */
  u->mock_cpu0 = thread_cpu_s(t_mock.mock_tid);
}

static void meter_end(const target_t *t, usage_t *u) {
  u->wall = now_s() - u->t0;
  u->broker_cpu = broker_cpu_now(t) - u->broker_cpu0;
  double mock_d = thread_cpu_s(t_mock.mock_tid) - u->mock_cpu0;
  u->client_cpu =
      rusage_s(RUSAGE_SELF) - u->self_cpu0 - mock_d + rusage_s(RUSAGE_CHILDREN) - u->children_cpu0;
  if (u->client_cpu < 0) u->client_cpu = 0;
  u->broker_rss = t->bp.pid > 0 ? proc_hwm_mib(t->bp.pid) : -1;
}

/* ------------------------------------------------------------------ */
/* results                                                            */

typedef struct series {
  double v[MAX_REPS];
  int n;
  bool failed;
  char err[240];
} series_t;

static void series_fail(series_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void series_fail(series_t *s, const char *fmt, ...) {
  if (s->failed) return; /* keep the first reason */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, sizeof(s->err), fmt, ap);
  va_end(ap);
  s->failed = true;
}

static void series_add(series_t *s, double v) {
  if (s->n < MAX_REPS) s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double series_median(const series_t *s) {
  if (s->n == 0) return -1;
  double v[MAX_REPS];
  memcpy(v, s->v, sizeof(double) * (size_t)s->n);
  qsort(v, (size_t)s->n, sizeof(double), cmp_double);
  return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

static double series_min(const series_t *s) {
  double m = s->v[0];
  for (int i = 1; i < s->n; i++)
    if (s->v[i] < m) m = s->v[i];
  return m;
}

static double series_max(const series_t *s) {
  double m = s->v[0];
  for (int i = 1; i < s->n; i++)
    if (s->v[i] > m) m = s->v[i];
  return m;
}

/* ------------------------------------------------------------------ */
/* topics                                                             */

static bool wait_topic_ready(rd_kafka_t *rk, const char *topic, int parts, double deadline) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  bool ready = false;
  while (!ready && now_s() < deadline) {
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt == parts) {
        int led = 0;
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
          if (md->topics[0].partitions[i].leader >= 0 && md->topics[0].partitions[i].err == 0) led++;
        ready = led == parts;
      }
      rd_kafka_metadata_destroy(md);
    }
    if (!ready) sleep_s(0.1);
  }
  rd_kafka_topic_destroy(rkt);
  return ready;
}

/* brookd: Admin CreateTopics (what a user would do); mock:
 * rd_kafka_mock_topic_create. */
static bool topic_create(target_t *t, const char *topic, int parts, char *err, size_t errsz) {
  if (t->mcluster) {
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(t->mcluster, topic, parts, 1);
    if (e) snprintf(err, errsz, "mock_topic_create: %s", rd_kafka_err2str(e));
    return !e;
  }
  char errstr[256];
  rd_kafka_t *rk =
      rd_kafka_new(RD_KAFKA_PRODUCER, base_conf(t->bootstrap, "bench-groups-admin"), errstr, sizeof(errstr));
  if (!rk) {
    snprintf(err, errsz, "rd_kafka_new: %s", errstr);
    return false;
  }
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, parts, 1, errstr, sizeof(errstr));
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(ao, 10000, errstr, sizeof(errstr));
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
  bool ok = false;
  if (!ev) {
    snprintf(err, errsz, "CreateTopics: no result in 15 s");
  } else if (rd_kafka_event_error(ev)) {
    snprintf(err, errsz, "CreateTopics: %s", rd_kafka_event_error_string(ev));
  } else {
    size_t n;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rd_kafka_resp_err_t e = n == 1 ? rd_kafka_topic_result_error(tr[0]) : RD_KAFKA_RESP_ERR__FAIL;
    if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      snprintf(err, errsz, "CreateTopics %s: %s", topic, rd_kafka_err2str(e));
    else
      ok = true;
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  if (ok && !wait_topic_ready(rk, topic, parts, now_s() + 15)) {
    snprintf(err, errsz, "topic %s not ready with %d led partitions in 15 s", topic, parts);
    ok = false;
  }
  rd_kafka_destroy(rk);
  return ok;
}

/* ------------------------------------------------------------------ */
/* group observation                                                  */

/* One member as seen from outside: its current assignment (eager protocol:
 * an ASSIGN callback replaces it, a REVOKE clears it), which of those
 * partitions it has read from since, and when. */
typedef struct slot {
  bool used, live; /* live: counted as a member of the group */
  bool assigned;
  uint64_t mask, consumed;
  double assigned_at, revoked_at, close_at;
  double first_consume_at[MAX_PARTS];
  int nassign, nrevoke;
} slot_t;

typedef struct grun {
  pthread_mutex_t lock;
  int nparts;
  slot_t s[MAX_SLOTS];
  double last_change_at; /* last assign or revoke of any live slot */
} grun_t;

static void grun_init(grun_t *g, int nparts) {
  memset(g, 0, sizeof(*g));
  pthread_mutex_init(&g->lock, NULL);
  g->nparts = nparts;
  g->last_change_at = now_s();
}

static void grun_assign(grun_t *g, int i, uint64_t mask, double ts) {
  pthread_mutex_lock(&g->lock);
  slot_t *s = &g->s[i];
  s->assigned = true;
  s->mask = mask;
  s->consumed = 0;
  s->assigned_at = ts;
  memset(s->first_consume_at, 0, sizeof(s->first_consume_at));
  s->nassign++;
  if (s->live) g->last_change_at = ts;
  pthread_mutex_unlock(&g->lock);
}

static void grun_revoke(grun_t *g, int i, double ts) {
  pthread_mutex_lock(&g->lock);
  slot_t *s = &g->s[i];
  s->assigned = false;
  s->mask = s->consumed = 0;
  s->revoked_at = ts;
  s->nrevoke++;
  if (s->live) g->last_change_at = ts;
  pthread_mutex_unlock(&g->lock);
}

static void grun_consumed(grun_t *g, int i, int part, double ts) {
  if (part < 0 || part >= MAX_PARTS) return;
  uint64_t bit = (uint64_t)1 << part;
  pthread_mutex_lock(&g->lock);
  slot_t *s = &g->s[i];
  if (s->assigned && (s->mask & bit) && !(s->consumed & bit)) {
    s->consumed |= bit;
    s->first_consume_at[part] = ts;
  }
  pthread_mutex_unlock(&g->lock);
}

static void grun_set_live(grun_t *g, int i, bool live) {
  pthread_mutex_lock(&g->lock);
  g->s[i].used = true;
  g->s[i].live = live;
  g->last_change_at = now_s();
  pthread_mutex_unlock(&g->lock);
}

static uint64_t full_mask(int nparts) { return nparts >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << nparts) - 1); }

/* Lock held: live slots hold every partition exactly once. */
static bool exact_cover(const grun_t *g) {
  uint64_t all = 0;
  for (int i = 0; i < MAX_SLOTS; i++) {
    const slot_t *s = &g->s[i];
    if (!s->live) continue;
    if (!s->assigned || (all & s->mask)) return false;
    all |= s->mask;
  }
  return all == full_mask(g->nparts);
}

/* Lock held: every live slot has read from every partition it holds. */
static bool all_consuming(const grun_t *g) {
  for (int i = 0; i < MAX_SLOTS; i++)
    if (g->s[i].live && (g->s[i].consumed & g->s[i].mask) != g->s[i].mask) return false;
  return true;
}

static void mask_str(uint64_t mask, char *buf, size_t sz) {
  size_t o = 0;
  buf[0] = '\0';
  for (int p = 0; p < 64 && o + 4 < sz; p++)
    if (mask & ((uint64_t)1 << p)) o += (size_t)snprintf(buf + o, sz - o, "%s%d", o ? "," : "", p);
  if (!o) snprintf(buf, sz, "-");
}

static void grun_dump(grun_t *g, const char *why) {
  pthread_mutex_lock(&g->lock);
  double now = now_s();
  fprintf(stderr, "  group state at %s:\n", why);
  for (int i = 0; i < MAX_SLOTS; i++) {
    slot_t *s = &g->s[i];
    if (!s->used) continue;
    char m[256], c[256];
    mask_str(s->mask, m, sizeof(m));
    mask_str(s->consumed, c, sizeof(c));
    fprintf(stderr,
            "    member %d %s: %s partitions [%s] read from [%s]; %d assigns, %d revokes; "
            "last assign %.2f s ago, last revoke %.2f s ago\n",
            i, s->live ? "live" : "gone", s->assigned ? "holds" : "holds nothing,", m, c, s->nassign,
            s->nrevoke, s->nassign ? now - s->assigned_at : -1, s->nrevoke ? now - s->revoked_at : -1);
  }
  pthread_mutex_unlock(&g->lock);
}

static uint64_t parts_mask(const rd_kafka_topic_partition_list_t *parts) {
  uint64_t m = 0;
  for (int i = 0; parts && i < parts->cnt; i++)
    if (parts->elems[i].partition >= 0 && parts->elems[i].partition < MAX_PARTS)
      m |= (uint64_t)1 << parts->elems[i].partition;
  return m;
}

/* ------------------------------------------------------------------ */
/* consumers                                                          */

static rd_kafka_conf_t *consumer_conf(const char *bootstrap, const char *group, const char *cid) {
  rd_kafka_conf_t *conf = base_conf(bootstrap, cid);
  char errstr[256], v[32];
  SET("group.id", group);
  snprintf(v, sizeof(v), "%d", opt.session_ms);
  SET("session.timeout.ms", v);
  snprintf(v, sizeof(v), "%d", opt.heartbeat_ms);
  SET("heartbeat.interval.ms", v);
  snprintf(v, sizeof(v), "%d", opt.max_poll_ms);
  SET("max.poll.interval.ms", v);
  SET("partition.assignment.strategy", "range");
  SET("enable.auto.commit", "true");
  snprintf(v, sizeof(v), "%d", AUTO_COMMIT_MS);
  SET("auto.commit.interval.ms", v);
  SET("auto.offset.reset", "latest");
  SET("enable.partition.eof", "false");
  SET("fetch.wait.max.ms", "100");
  return conf;
}

/* An in-process member: its own rd_kafka_t and a poll thread. */
typedef struct member {
  grun_t *run;
  int slot;
  rd_kafka_t *rk;
  pthread_t th;
  bool thread_started;
  atomic_bool stop;
} member_t;

static void member_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t *parts, void *opaque) {
  member_t *mb = opaque;
  double ts = now_s();
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, parts);
    grun_assign(mb->run, mb->slot, parts_mask(parts), ts);
  } else {
    rd_kafka_assign(rk, NULL);
    grun_revoke(mb->run, mb->slot, ts);
  }
}

static void *member_main(void *arg) {
  member_t *mb = arg;
  static atomic_int errs;
  while (!atomic_load(&mb->stop)) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(mb->rk, 20);
    if (!m) continue;
    if (!m->err)
      grun_consumed(mb->run, mb->slot, (int)m->partition, now_s());
    else if (atomic_fetch_add(&errs, 1) < 20)
      fprintf(stderr, "  member %d: %s\n", mb->slot, rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
  }
  pthread_mutex_lock(&mb->run->lock);
  mb->run->s[mb->slot].close_at = now_s();
  pthread_mutex_unlock(&mb->run->lock);
  rd_kafka_consumer_close(mb->rk); /* revoke, LeaveGroup, final commit */
  rd_kafka_destroy(mb->rk);
  mb->rk = NULL;
  return NULL;
}

/* Creates the consumer (not yet subscribed). */
static bool member_create(member_t *mb, grun_t *run, int slot, const char *bootstrap, const char *group) {
  memset(mb, 0, sizeof(*mb));
  mb->run = run;
  mb->slot = slot;
  char cid[64], errstr[256];
  snprintf(cid, sizeof(cid), "bench-groups-m%d", slot);
  rd_kafka_conf_t *conf = consumer_conf(bootstrap, group, cid);
  rd_kafka_conf_set_rebalance_cb(conf, member_rebalance_cb);
  rd_kafka_conf_set_opaque(conf, mb);
  mb->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (!mb->rk) {
    fprintf(stderr, "rd_kafka_new (consumer): %s\n", errstr);
    return false;
  }
  rd_kafka_poll_set_consumer(mb->rk);
  return true;
}

static bool member_subscribe_and_run(member_t *mb, const char *topic) {
  rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tl, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(mb->rk, tl);
  rd_kafka_topic_partition_list_destroy(tl);
  if (err) {
    fprintf(stderr, "subscribe: %s\n", rd_kafka_err2str(err));
    return false;
  }
  if (pthread_create(&mb->th, NULL, member_main, mb) != 0) return false;
  mb->thread_started = true;
  return true;
}

/* Tells the member to close (LeaveGroup) and waits for its thread. */
static void member_stop(member_t *mb) {
  atomic_store(&mb->stop, true);
  if (mb->thread_started) pthread_join(mb->th, NULL);
  mb->thread_started = false;
  if (mb->rk) { /* never started */
    rd_kafka_destroy(mb->rk);
    mb->rk = NULL;
  }
}

/* Stops several members at once (their LeaveGroups overlap). */
static void members_stop(member_t *mbs, int n) {
  for (int i = 0; i < n; i++) atomic_store(&mbs[i].stop, true);
  for (int i = 0; i < n; i++) member_stop(&mbs[i]);
}

/* ------------------------------------------------------------------ */
/* the child member (part a's victim)                                 */

/* Lines on fd 3: "A <hex mask>" after an assign, "R" after a revoke,
 * "C <partition>" for the first message of a partition since the assign. */
static int child_fd = 3;
static uint64_t child_mask, child_consumed;

static void child_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void child_say(const char *fmt, ...) {
  char line[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (write(child_fd, line, (size_t)n) != n) _exit(0); /* parent gone */
}

static void child_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t *parts, void *opaque) {
  (void)opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, parts);
    child_mask = parts_mask(parts);
    child_consumed = 0;
    child_say("A %" PRIx64 "\n", child_mask);
  } else {
    rd_kafka_assign(rk, NULL);
    child_mask = child_consumed = 0;
    child_say("R\n");
  }
}

/* argv: --child-member BOOTSTRAP TOPIC GROUP SESSION_MS HEARTBEAT_MS MAX_POLL_MS */
static int child_member_main(int argc, char **argv) {
  if (argc != 8) return 2;
  signal(SIGPIPE, SIG_IGN);
  opt.session_ms = atoi(argv[5]);
  opt.heartbeat_ms = atoi(argv[6]);
  opt.max_poll_ms = atoi(argv[7]);
  char errstr[256];
  rd_kafka_conf_t *conf = consumer_conf(argv[2], argv[4], "bench-groups-m0-child");
  rd_kafka_conf_set_rebalance_cb(conf, child_rebalance_cb);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "child: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tl, argv[3], RD_KAFKA_PARTITION_UA);
  if (rd_kafka_subscribe(rk, tl)) return 1;
  rd_kafka_topic_partition_list_destroy(tl);
  double end = now_s() + CHILD_MAX_S; /* bounded even if nobody kills us */
  while (now_s() < end && getppid() != 1) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 20);
    if (!m) continue;
    if (!m->err && m->partition >= 0 && m->partition < MAX_PARTS) {
      uint64_t bit = (uint64_t)1 << m->partition;
      if ((child_mask & bit) && !(child_consumed & bit)) {
        child_consumed |= bit;
        child_say("C %d\n", (int)m->partition);
      }
    }
    rd_kafka_message_destroy(m);
  }
  _exit(0); /* no LeaveGroup: only reached when abandoned */
}

typedef struct child {
  pid_t pid;
  int fd; /* read end, non-blocking */
  int slot;
  char buf[4096];
  size_t len;
} child_t;

static bool child_spawn(child_t *c, const char *bootstrap, const char *topic, const char *group, int slot) {
  memset(c, 0, sizeof(*c));
  c->fd = -1;
  c->slot = slot;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  char s[3][16];
  snprintf(s[0], sizeof(s[0]), "%d", opt.session_ms);
  snprintf(s[1], sizeof(s[1]), "%d", opt.heartbeat_ms);
  snprintf(s[2], sizeof(s[2]), "%d", opt.max_poll_ms);
  const char *argv[] = {self_exe, "--child-member", bootstrap, topic, group, s[0], s[1], s[2], NULL};
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fds[1], 3); /* the copy is not close-on-exec */
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
      dup2(nul, 0);
      dup2(nul, 1);
    }
    execv(self_exe, (char *const *)argv);
    _exit(127);
  }
  close(fds[1]);
  c->pid = pid;
  member_pid_sig = pid;
  c->fd = fds[0];
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  return true;
}

/* Applies whatever the child has reported so far. */
static void child_pump(child_t *c, grun_t *g) {
  if (c->fd < 0) return;
  for (;;) {
    ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
    if (n <= 0) break;
    c->len += (size_t)n;
    char *start = c->buf, *nl;
    while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
      *nl = '\0';
      double ts = now_s();
      uint64_t mask;
      int part;
      if (sscanf(start, "A %" SCNx64, &mask) == 1)
        grun_assign(g, c->slot, mask, ts);
      else if (start[0] == 'R')
        grun_revoke(g, c->slot, ts);
      else if (sscanf(start, "C %d", &part) == 1)
        grun_consumed(g, c->slot, part, ts);
      start = nl + 1;
    }
    c->len -= (size_t)(start - c->buf);
    memmove(c->buf, start, c->len);
    if (c->len == sizeof(c->buf) - 1) c->len = 0; /* garbage: drop */
  }
}

static void child_kill(child_t *c) {
  if (c->pid > 0) {
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    c->pid = 0;
    member_pid_sig = 0;
  }
}

static void child_close(child_t *c) {
  child_kill(c);
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

/* ------------------------------------------------------------------ */
/* the feeder: a producer writing to every partition at a low rate    */

typedef struct feeder {
  const char *bootstrap, *topic;
  int nparts, rate; /* per partition */
  atomic_bool stop;
  pthread_t th;
  atomic_long delivered, failed;
} feeder_t;

static void feeder_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  feeder_t *f = opaque;
  atomic_fetch_add(m->err ? &f->failed : &f->delivered, 1);
}

static void *feeder_main(void *arg) {
  feeder_t *f = arg;
  rd_kafka_conf_t *conf = base_conf(f->bootstrap, "bench-groups-feeder");
  char errstr[256];
  SET("linger.ms", "5");
  SET("message.timeout.ms", "30000");
  SET("enable.idempotence", "false");
  rd_kafka_conf_set_dr_msg_cb(conf, feeder_dr_cb);
  rd_kafka_conf_set_opaque(conf, f);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "feeder: %s\n", errstr);
    return NULL;
  }
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, f->topic, NULL);
  double t0 = now_s(), interval = 1.0 / ((double)f->rate * f->nparts);
  char payload[16] = "bench-groups";
  for (long i = 0; !atomic_load(&f->stop); i++) {
    double due = t0 + (double)i * interval;
    while (!atomic_load(&f->stop) && now_s() < due) {
      rd_kafka_poll(rk, 0);
      double left = due - now_s();
      sleep_s(left > 0.005 ? 0.005 : (left > 0 ? left : 0));
    }
    memcpy(payload, &i, sizeof(i));
    if (rd_kafka_produce(rkt, (int32_t)(i % f->nparts), RD_KAFKA_MSG_F_COPY, payload, sizeof(payload), NULL,
                         0, NULL) != 0)
      rd_kafka_poll(rk, 10); /* queue full: let it drain */
  }
  rd_kafka_flush(rk, 2000);
  rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk, 0);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* waiting                                                            */

/* Polls cond (lock held) every 10 ms until it is true or the deadline
 * passes, pumping the child's reports in between. */
typedef bool(cond_fn_t)(grun_t *g, void *arg);

static bool wait_until(grun_t *g, child_t *c, cond_fn_t *cond, void *arg, double deadline) {
  for (;;) {
    if (c) child_pump(c, g);
    pthread_mutex_lock(&g->lock);
    bool ok = cond(g, arg);
    pthread_mutex_unlock(&g->lock);
    if (ok) return true;
    if (now_s() > deadline) return false;
    sleep_s(0.01);
  }
}

typedef struct stable_arg {
  double hold;
  bool consuming;
} stable_arg_t;

static bool cond_stable(grun_t *g, void *arg) {
  stable_arg_t *a = arg;
  return exact_cover(g) && (!a->consuming || all_consuming(g)) && now_s() - g->last_change_at >= a->hold;
}

/* failover: every partition the victim held has been assigned to a survivor
 * after the kill and read from by it; *out = the last such first read. */
typedef struct takeover_arg {
  double t_kill;
  uint64_t dead_mask;
  double done_at, detect_at;
} takeover_arg_t;

static bool cond_takeover(grun_t *g, void *arg) {
  takeover_arg_t *a = arg;
  double last = 0;
  a->detect_at = 0;
  for (int i = 0; i < MAX_SLOTS; i++) {
    slot_t *s = &g->s[i];
    if (s->live && s->nrevoke && s->revoked_at > a->t_kill && (!a->detect_at || s->revoked_at < a->detect_at))
      a->detect_at = s->revoked_at;
  }
  for (int p = 0; p < g->nparts; p++) {
    uint64_t bit = (uint64_t)1 << p;
    if (!(a->dead_mask & bit)) continue;
    bool got = false;
    for (int i = 0; i < MAX_SLOTS && !got; i++) {
      slot_t *s = &g->s[i];
      if (s->live && s->assigned && s->assigned_at > a->t_kill && (s->consumed & bit)) {
        got = true;
        if (s->first_consume_at[p] > last) last = s->first_consume_at[p];
      }
    }
    if (!got) return false;
  }
  a->done_at = last;
  return true;
}

/* rebalance: every live member has an assignment received after t0 and the
 * assignments cover the topic exactly. */
typedef struct reassigned_arg {
  double t0, done_at;
} reassigned_arg_t;

static bool cond_reassigned(grun_t *g, void *arg) {
  reassigned_arg_t *a = arg;
  double last = 0;
  for (int i = 0; i < MAX_SLOTS; i++) {
    slot_t *s = &g->s[i];
    if (!s->live) continue;
    if (!s->assigned || s->assigned_at <= a->t0) return false;
    if (s->assigned_at > last) last = s->assigned_at;
  }
  if (!exact_cover(g)) return false;
  a->done_at = last;
  return true;
}

static void on_timeout(grun_t *g, const target_t *t, const char *what) {
  fprintf(stderr, "  TIMEOUT (%s) on %s\n", what, t->name);
  grun_dump(g, what);
  if (t->bp.pid > 0) print_log_tail(t->bp.logpath);
}

/* ------------------------------------------------------------------ */
/* part (a): failover                                                 */

typedef struct failover_res {
  series_t detect, takeover;
  usage_t usage;
} failover_res_t;

/* Offset in [0, 1 s) added before the n-th timed event: waits for
 * stability end a fixed time after the last assignment, and members
 * heartbeat in step from that instant, so without it every event would land
 * at the same heartbeat phase. 1 s covers the client's heartbeat period;
 * the golden-ratio sequence spreads the phases evenly and reproducibly. */
static double event_phase(int n) { return fmod(0.5 + n * 0.6180339887, 1.0); }

static double formation_deadline(void) { return now_s() + 60.0 + 4.0 * opt.session_ms / 1000.0; }
static double event_deadline(void) { return now_s() + 30.0 + 4.0 * opt.session_ms / 1000.0; }

static void part_failover(target_t *t, failover_res_t *r) {
  char topic[64], err[512];
  snprintf(topic, sizeof(topic), "bench-groups-failover");
  if (!topic_create(t, topic, opt.parts, err, sizeof(err))) {
    series_fail(&r->detect, "%s", err);
    series_fail(&r->takeover, "%s", err);
    return;
  }
  feeder_t feeder = {.bootstrap = t->bootstrap, .topic = topic, .nparts = opt.parts, .rate = opt.rate};
  pthread_create(&feeder.th, NULL, feeder_main, &feeder);
  meter_begin(t, &r->usage);

  for (int rep = 0; rep < opt.reps; rep++) {
    static grun_t run;
    grun_init(&run, opt.parts);
    char group[96];
    snprintf(group, sizeof(group), "bench-failover-%s-%d-%d", t->name, (int)getpid(), rep);
    member_t mbs[MAX_SLOTS];
    int nmb = 0;
    child_t child;
    bool ok = true;

    /* slot 0: the victim, in its own process; slots 1..N-1: survivors */
    grun_set_live(&run, 0, true);
    if (!child_spawn(&child, t->bootstrap, topic, group, 0)) {
      series_fail(&r->takeover, "fork/exec of the child member failed");
      ok = false;
    }
    for (int i = 1; ok && i < opt.members; i++) {
      grun_set_live(&run, i, true);
      if (!member_create(&mbs[nmb], &run, i, t->bootstrap, group) ||
          !member_subscribe_and_run(&mbs[nmb], topic)) {
        series_fail(&r->takeover, "consumer setup failed");
        ok = false;
      }
      nmb++;
    }
    stable_arg_t sa = {.hold = STEADY_HOLD_S, .consuming = true};
    if (ok && !wait_until(&run, &child, cond_stable, &sa, formation_deadline())) {
      on_timeout(&run, t, "failover: group formation");
      series_fail(&r->takeover, "TIMEOUT: %d members never stable and consuming", opt.members);
      ok = false;
    }
    if (ok) {
      /* de-phase the kill from the members' heartbeats */
      for (double until = now_s() + event_phase(rep); now_s() < until;) {
        child_pump(&child, &run);
        sleep_s(0.005);
      }
      takeover_arg_t ta = {0};
      pthread_mutex_lock(&run.lock);
      ta.dead_mask = run.s[0].mask;
      pthread_mutex_unlock(&run.lock);
      ta.t_kill = now_s();
      child_kill(&child); /* SIGKILL by PID: no LeaveGroup */
      grun_set_live(&run, 0, false);
      if (!wait_until(&run, NULL, cond_takeover, &ta, event_deadline())) {
        on_timeout(&run, t, "failover: takeover");
        series_fail(&r->takeover, "TIMEOUT: dead member's partitions not taken over");
        series_fail(&r->detect, "TIMEOUT");
      } else {
        double d = ta.detect_at ? ta.detect_at - ta.t_kill : -1;
        double to = ta.done_at - ta.t_kill;
        if (d >= 0) series_add(&r->detect, d);
        series_add(&r->takeover, to);
        char m[128];
        mask_str(ta.dead_mask, m, sizeof(m));
        fprintf(stderr, "  %s failover %d/%d: victim held [%s]; detect %.3f s, takeover %.3f s\n", t->name,
                rep + 1, opt.reps, m, d, to);
      }
    }
    child_close(&child);
    members_stop(mbs, nmb);
    pthread_mutex_destroy(&run.lock);
  }

  atomic_store(&feeder.stop, true);
  pthread_join(feeder.th, NULL);
  meter_end(t, &r->usage);
  if (atomic_load(&feeder.failed))
    fprintf(stderr, "  note: %ld feeder messages failed on %s\n", atomic_load(&feeder.failed), t->name);
}

/* ------------------------------------------------------------------ */
/* part (b): rebalance with 10 members                                */

typedef struct rebalance_res {
  series_t join, leave;
  usage_t usage;
} rebalance_res_t;

static void part_rebalance(target_t *t, rebalance_res_t *r) {
  char topic[64], group[96], err[512];
  snprintf(topic, sizeof(topic), "bench-groups-rebalance");
  snprintf(group, sizeof(group), "bench-rebalance-%s-%d", t->name, (int)getpid());
  if (!topic_create(t, topic, opt.rb_parts, err, sizeof(err))) {
    series_fail(&r->join, "%s", err);
    series_fail(&r->leave, "%s", err);
    return;
  }
  meter_begin(t, &r->usage);
  static grun_t run;
  grun_init(&run, opt.rb_parts);
  static member_t mbs[MAX_SLOTS];
  int nmb = 0, oldest = 0;
  bool ok = true;
  double quiet = 2.0 * opt.heartbeat_ms / 1000.0; /* a pending rebalance shows within one heartbeat */
  if (quiet < 1.0) quiet = 1.0;
  stable_arg_t sa = {.hold = quiet, .consuming = false};

  for (int i = 0; ok && i < opt.rb_members; i++) {
    grun_set_live(&run, i, true);
    if (!member_create(&mbs[i], &run, i, t->bootstrap, group) || !member_subscribe_and_run(&mbs[i], topic)) {
      series_fail(&r->join, "consumer setup failed");
      ok = false;
    }
    nmb++;
  }
  if (ok && !wait_until(&run, NULL, cond_stable, &sa, formation_deadline())) {
    on_timeout(&run, t, "rebalance: formation of the first members");
    series_fail(&r->join, "TIMEOUT: %d members never stable", opt.rb_members);
    series_fail(&r->leave, "not run");
    ok = false;
  }
  for (int rep = 0; ok && rep < opt.rb_reps; rep++) {
    /* join: a new, already connected member subscribes */
    int k = nmb;
    if (!member_create(&mbs[k], &run, k, t->bootstrap, group)) {
      series_fail(&r->join, "consumer setup failed");
      break;
    }
    nmb++;
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(mbs[k].rk, 0, NULL, &md, 5000) == 0) rd_kafka_metadata_destroy(md);
    sleep_s(0.3 + event_phase(2 * rep)); /* it finds the coordinator; de-phase from the heartbeats */
    grun_set_live(&run, k, true);
    reassigned_arg_t ra = {.t0 = now_s()};
    if (!member_subscribe_and_run(&mbs[k], topic)) {
      series_fail(&r->join, "subscribe failed");
      break;
    }
    if (!wait_until(&run, NULL, cond_reassigned, &ra, event_deadline())) {
      on_timeout(&run, t, "rebalance: join");
      series_fail(&r->join, "TIMEOUT: not every member reassigned after a join");
      break;
    }
    series_add(&r->join, ra.done_at - ra.t0);
    fprintf(stderr, "  %s rebalance %d/%d: join of member %d -> %d members reassigned in %.3f s\n", t->name,
            rep + 1, opt.rb_reps, k, opt.rb_members + 1, ra.done_at - ra.t0);
    if (!wait_until(&run, NULL, cond_stable, &sa, event_deadline())) {
      on_timeout(&run, t, "rebalance: quiet after join");
      series_fail(&r->leave, "TIMEOUT: no quiet after the join");
      break;
    }

    /* leave: the oldest member closes */
    sleep_s(event_phase(2 * rep + 1));
    int v = oldest++;
    grun_set_live(&run, v, false);
    atomic_store(&mbs[v].stop, true);
    double close_at = 0, give_up = now_s() + 5;
    while (!close_at && now_s() < give_up) {
      pthread_mutex_lock(&run.lock);
      close_at = run.s[v].close_at;
      pthread_mutex_unlock(&run.lock);
      if (!close_at) sleep_s(0.001);
    }
    ra = (reassigned_arg_t){.t0 = close_at};
    if (!close_at || !wait_until(&run, NULL, cond_reassigned, &ra, event_deadline())) {
      on_timeout(&run, t, "rebalance: leave");
      series_fail(&r->leave, "TIMEOUT: not every member reassigned after a leave");
      break;
    }
    series_add(&r->leave, ra.done_at - ra.t0);
    fprintf(stderr, "  %s rebalance %d/%d: member %d left -> %d members reassigned in %.3f s\n", t->name,
            rep + 1, opt.rb_reps, v, opt.rb_members, ra.done_at - ra.t0);
    member_stop(&mbs[v]);
    if (rep + 1 < opt.rb_reps && !wait_until(&run, NULL, cond_stable, &sa, event_deadline())) {
      on_timeout(&run, t, "rebalance: quiet after leave");
      series_fail(&r->join, "TIMEOUT: no quiet after a leave");
      break;
    }
  }
  members_stop(mbs, nmb);
  meter_end(t, &r->usage);
}

/* ------------------------------------------------------------------ */
/* output                                                             */

static void print_series(const char *what, const target_t *t, const series_t *s, const series_t *other,
                         const char *initial_delay) {
  char vals[MAX_REPS * 10] = "", ratio[32] = "";
  size_t o = 0;
  for (int i = 0; i < s->n && o + 12 < sizeof(vals); i++)
    o += (size_t)snprintf(vals + o, sizeof(vals) - o, "%s%.2f", i ? " " : "", s->v[i]);
  if (t == &t_brookd && other && !other->failed && other->n && !s->failed && s->n)
    snprintf(ratio, sizeof(ratio), "%.2fx", series_median(s) / series_median(other));
  printf("| %s | %s | ", what, t->name);
  if (s->failed)
    printf("%d | FAIL: %s | | | %s |", s->n, s->err, vals);
  else if (!s->n)
    printf("0 | n/a | | | |");
  else
    printf("%d | %.2f | %.2f | %.2f | %s |", s->n, series_min(s), series_median(s), series_max(s), vals);
  printf(" %d | %d | %d | %s | %s |\n", opt.session_ms, opt.heartbeat_ms, opt.max_poll_ms, initial_delay,
         ratio);
  fflush(stdout);
}

static void print_usage_row(const char *part, const target_t *t, const usage_t *u) {
  if (!u->ran) return;
  char rss[32] = "n/a";
  if (u->broker_rss >= 0) snprintf(rss, sizeof(rss), "%.1f", u->broker_rss);
  printf("| %s | %s | %.1f | %.2f | %s | %.2f |\n", part, t->name, u->wall, u->broker_cpu, rss,
         u->client_cpu);
}

static bool want(const char *kind) {
  if (!opt.only) return true;
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", opt.only);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
    if (strcmp(tok, kind) == 0) return true;
  return false;
}

static void usage(const char *prog) {
  fprintf(stderr,
          "usage: %s [options] [BROOKD]\n"
          "  --brookd PATH        brookd executable (default: argument, then env BROOKD)\n"
          "  --no-brookd          only the mock cluster\n"
          "  --no-mock            only brookd\n"
          "  --smoke              short run: session 3500 ms, 1 failover, 1 join+leave\n"
          "  --session-ms S       session.timeout.ms (default 6000; smoke 3500; the mock needs > 3000)\n"
          "  --heartbeat-ms H     heartbeat.interval.ms (default S/10 rounded down to a multiple of 500, min "
          "500)\n"
          "  --max-poll-ms M      max.poll.interval.ms = rebalance timeout (default 30000; smoke 10000)\n"
          "  --members N          failover group size, one of them dies (default 3)\n"
          "  --partitions P       failover topic partitions (default 6, at most 64)\n"
          "  --reps R             failover runs (default 5; smoke 2)\n"
          "  --rb-members N       rebalance group size (default 10)\n"
          "  --rb-partitions P    rebalance topic partitions (default 30, at most 64)\n"
          "  --rb-reps R          join+leave pairs (default 3; smoke 1)\n"
          "  --rate N             failover feeder msgs/s per partition (default 50)\n"
          "  --only KINDS         comma list of failover,rebalance\n"
          "  --override K=V       passed to brookd after the benchmark's own (repeatable)\n"
          "  --keep               keep brookd's temp dir and log\n",
          prog);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--child-member") == 0) return child_member_main(argc, argv);

  static const struct option lo[] = {{"brookd", required_argument, 0, 'b'},
                                     {"no-brookd", no_argument, 0, 'B'},
                                     {"no-mock", no_argument, 0, 'M'},
                                     {"smoke", no_argument, 0, 'S'},
                                     {"session-ms", required_argument, 0, 's'},
                                     {"heartbeat-ms", required_argument, 0, 'H'},
                                     {"max-poll-ms", required_argument, 0, 'P'},
                                     {"members", required_argument, 0, 'n'},
                                     {"partitions", required_argument, 0, 'p'},
                                     {"reps", required_argument, 0, 'r'},
                                     {"rb-members", required_argument, 0, 'N'},
                                     {"rb-partitions", required_argument, 0, 'Q'},
                                     {"rb-reps", required_argument, 0, 'R'},
                                     {"rate", required_argument, 0, 'x'},
                                     {"only", required_argument, 0, 'o'},
                                     {"override", required_argument, 0, 'O'},
                                     {"keep", no_argument, 0, 'k'},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
      case 'b':
        opt.brookd_path = optarg;
        break;
      case 'B':
        opt.no_brookd = true;
        break;
      case 'M':
        opt.no_mock = true;
        break;
      case 'S':
        opt.smoke = true;
        break;
      case 's':
        opt.session_ms = atoi(optarg);
        break;
      case 'H':
        opt.heartbeat_ms = atoi(optarg);
        break;
      case 'P':
        opt.max_poll_ms = atoi(optarg);
        break;
      case 'n':
        opt.members = atoi(optarg);
        break;
      case 'p':
        opt.parts = atoi(optarg);
        break;
      case 'r':
        opt.reps = atoi(optarg);
        break;
      case 'N':
        opt.rb_members = atoi(optarg);
        break;
      case 'Q':
        opt.rb_parts = atoi(optarg);
        break;
      case 'R':
        opt.rb_reps = atoi(optarg);
        break;
      case 'x':
        opt.rate = atoi(optarg);
        break;
      case 'o':
        opt.only = optarg;
        break;
      case 'O':
        if (opt.n_overrides < 32) opt.overrides[opt.n_overrides++] = optarg;
        break;
      case 'k':
        opt.keep = true;
        break;
      default:
        usage(argv[0]);
        return c == 'h' ? 0 : 2;
    }
  }
  if (optind < argc) opt.brookd_path = argv[optind];
  if (!opt.brookd_path) opt.brookd_path = getenv("BROOKD");
  if (opt.session_ms < 0) opt.session_ms = opt.smoke ? 3500 : 6000;
  /* librdkafka 2.0.2 sends heartbeats on a 500 ms grid (measured in
   * brookd's protocol debug log: 350 -> every 500 ms, 600 -> every 1000 ms),
   * so ~S/10 is rounded down to a multiple of 500 that it honours. */
  if (opt.heartbeat_ms < 0)
    opt.heartbeat_ms = opt.session_ms / 10 / 500 * 500 > 500 ? opt.session_ms / 10 / 500 * 500 : 500;
  if (opt.max_poll_ms < 0) opt.max_poll_ms = opt.smoke ? 10000 : 30000;
  if (opt.max_poll_ms < opt.session_ms) opt.max_poll_ms = opt.session_ms; /* librdkafka requires >= */
  if (opt.reps < 0) opt.reps = opt.smoke ? 1 : 5;
  if (opt.rb_reps < 0) opt.rb_reps = opt.smoke ? 1 : 3;
  if (opt.session_ms < 1 || opt.heartbeat_ms < 1 || opt.heartbeat_ms >= opt.session_ms || opt.members < 2 ||
      opt.members >= MAX_SLOTS || opt.parts < 1 || opt.parts > MAX_PARTS || opt.reps < 1 ||
      opt.reps > MAX_REPS || opt.rb_members < 1 || opt.rb_parts < 1 || opt.rb_parts > MAX_PARTS ||
      opt.rb_reps < 1 || opt.rb_reps > MAX_REPS || opt.rb_members + opt.rb_reps > MAX_SLOTS || opt.rate < 1) {
    usage(argv[0]);
    return 2;
  }
  if (!opt.no_brookd && (!opt.brookd_path || !*opt.brookd_path)) {
    fprintf(stderr, "no brookd: pass --brookd PATH, set BROOKD, or use --no-brookd\n");
    return 2;
  }
  ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
  if (n <= 0) {
    fprintf(stderr, "readlink /proc/self/exe: %s\n", strerror(errno));
    return 1;
  }
  self_exe[n] = '\0';

  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (!opt.no_brookd && !brookd_start(&t_brookd, opt.brookd_path)) {
    brookd_stop(&t_brookd);
    fprintf(stderr, "brookd did not start; continuing with the mock only\n");
  }
  if (!opt.no_mock && opt.session_ms <= MOCK_INITIAL_DELAY_MS + 250) {
    /* The mock refreshes a member's session only when it joins, and holds the
     * first JoinGroups for its fixed initial delay: shorter sessions expire
     * members while they wait (rdkafka_mock_cgrp.c). */
    fprintf(stderr, "mock skipped: it needs session.timeout.ms > %d (its fixed first-join wait + margin)\n",
            MOCK_INITIAL_DELAY_MS + 250);
    opt.no_mock = true;
  }
  if (!opt.no_mock && !mock_start(&t_mock)) {
    fprintf(stderr, "mock cluster did not start\n");
    mock_stop(&t_mock);
  }
  if (!t_brookd.up && !t_mock.up) return 1;

  char settings[2][96];
  brookd_settings(settings);
  printf(
      "bench-groups: librdkafka %s, %ld CPUs%s; session.timeout.ms=%d heartbeat.interval.ms=%d "
      "max.poll.interval.ms=%d, assignor range, auto commit every %d ms\n",
      rd_kafka_version_str(), sysconf(_SC_NPROCESSORS_ONLN), opt.smoke ? ", smoke" : "", opt.session_ms,
      opt.heartbeat_ms, opt.max_poll_ms, AUTO_COMMIT_MS);
  if (t_brookd.up) {
    printf("brookd %s --override %s --override %s", t_brookd.bootstrap, settings[0], settings[1]);
    for (int i = 0; i < opt.n_overrides; i++) printf(" --override %s", opt.overrides[i]);
    printf("\n");
  }
  if (t_mock.up)
    printf(
        "mock %s (librdkafka's; initial rebalance delay fixed at %d ms, rejoin wait session.timeout.ms - "
        "1000)\n",
        t_mock.bootstrap, MOCK_INITIAL_DELAY_MS);
  printf(
      "failover: %d members, %d partitions, feeder %d msgs/s per partition, %d runs; rebalance: %d members, "
      "%d "
      "partitions, %d join+leave pairs\n\n",
      opt.members, opt.parts, opt.rate, opt.reps, opt.rb_members, opt.rb_parts, opt.rb_reps);
  fflush(stdout);

  target_t *ts[2] = {&t_brookd, &t_mock};
  static failover_res_t fo[2];
  static rebalance_res_t rb[2];
  for (int i = 0; i < 2; i++) {
    if (!ts[i]->up) continue;
    if (want("failover")) {
      fprintf(stderr, "# %s: failover x%d ...\n", ts[i]->name, opt.reps);
      part_failover(ts[i], &fo[i]);
    }
    if (want("rebalance")) {
      fprintf(stderr, "# %s: rebalance with %d members x%d ...\n", ts[i]->name, opt.rb_members, opt.rb_reps);
      part_rebalance(ts[i], &rb[i]);
    }
  }

  printf(
      "| measurement | target | runs | min s | median s | max s | each run s | session.timeout.ms | "
      "heartbeat.interval.ms | max.poll.interval.ms | initial rebalance delay ms | brookd/mock (median) |\n");
  printf("|---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|\n");
  char w[4][160];
  snprintf(w[0], sizeof(w[0]), "failover %d members: kill -9 → first survivor revoked", opt.members);
  snprintf(w[1], sizeof(w[1]),
           "failover %d members: kill -9 → dead member's partitions consumed by survivors", opt.members);
  snprintf(w[2], sizeof(w[2]), "rebalance %d → %d (join): subscribe → all reassigned", opt.rb_members,
           opt.rb_members + 1);
  snprintf(w[3], sizeof(w[3]), "rebalance %d → %d (leave): consumer_close → all reassigned",
           opt.rb_members + 1, opt.rb_members);
  char delay_mock[32];
  snprintf(delay_mock, sizeof(delay_mock), "%d (fixed)", MOCK_INITIAL_DELAY_MS);
  const char *delays[2] = {"0", delay_mock};
  static const char delay_key[] = "group.initial.rebalance.delay.ms=";
  for (int i = 0; i < opt.n_overrides; i++) /* the user's override wins */
    if (!strncmp(opt.overrides[i], delay_key, sizeof(delay_key) - 1))
      delays[0] = opt.overrides[i] + sizeof(delay_key) - 1;
  for (int row = 0; row < 4; row++) {
    bool fo_row = row < 2;
    if (fo_row ? !want("failover") : !want("rebalance")) continue;
    for (int i = 0; i < 2; i++) {
      if (!ts[i]->up) continue;
      const series_t *s =
          fo_row ? (row == 0 ? &fo[i].detect : &fo[i].takeover) : (row == 2 ? &rb[i].join : &rb[i].leave);
      const series_t *o =
          fo_row ? (row == 0 ? &fo[1].detect : &fo[1].takeover) : (row == 2 ? &rb[1].join : &rb[1].leave);
      print_series(w[row], ts[i], s, t_mock.up ? o : NULL, delays[i]);
    }
  }
  printf("\n| part | target | wall s | broker CPU s | broker peak RSS MiB | client CPU s |\n");
  printf("|---|---|--:|--:|--:|--:|\n");
  for (int i = 0; i < 2; i++) {
    print_usage_row("failover (all runs)", ts[i], &fo[i].usage);
    print_usage_row("rebalance (all runs)", ts[i], &rb[i].usage);
  }
  fflush(stdout);

  mock_stop(&t_mock);
  if (t_brookd.bp.pid > 0) {
    brookd_stop(&t_brookd);
    const struct rusage *ru = &t_brookd.bp.final_ru;
    printf(
        "\nbrookd whole run (wait4 rusage): CPU %.2f s (user %.2f, system %.2f), max RSS %.1f MiB, exit "
        "status "
        "0x%x\n",
        (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
            (double)ru->ru_stime.tv_usec / 1e6,
        (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6,
        (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6, (double)ru->ru_maxrss / 1024.0,
        t_brookd.bp.final_status);
  }
  return 0;
}
