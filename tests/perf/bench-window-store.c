/*
 * bench-window-store.c — brook's window store vs the raw RocksDB C API doing
 * the same work, side by side in one run.
 *
 * Workload (a 1-minute tumbling-window aggregation's store traffic):
 *   put     N puts (default 1,000,000) of 16-byte keys / 100-byte values, in
 *           time order, record i at t = i * 3 ms, window start = t - t % 60 s,
 *           keys drawn from K (default 10,000) with a fixed seed. Retention
 *           1 h, segment interval 30 min (Kafka Streams' default for that
 *           retention), so the run spans 2 segments.
 *   fetch   F fetches (default 100,000): fetch(key, T - 10 min, T) for random
 *           keys and T, each reading the windows found (~8 on average).
 *   get     G point lookups (default 200,000) of (key, window start).
 *   restore the N put records replayed as changelog records in batches of
 *           1,000 (brook: brook_window_store_restore; raw: one WriteBatch per
 *           segment per batch).
 *
 * The raw side does what the store does underneath, with nothing else: store
 * key = key | start (i64 BE) | seqnum 0 (i32 BE), one RocksDB instance per
 * 30-minute segment, options from the same environment
 * (state_env_rocksdb_options), WAL off, a seek + bounded scan per fetch with the
 * same key filter. brook's store runs with logging off (no changelog sink), so
 * the ratio is the cost of the store API itself.
 *
 * Both sides are open at once, each in its own directories, and every phase
 * alternates between them in chunks (see the driver); the median over rounds
 * is reported, as wall-clock ops/s and as the calling thread's CPU per op.
 * Peak RSS is the process's VmHWM, reset before each phase
 * (/proc/self/clear_refs 5); --sequential runs one side after the other per
 * phase (alternating which goes first by round) and reports the peak during
 * each side's run — still the whole process, both sides' data included.
 *
 * Usage: bench-window-store [--scale F] [--rounds R] [--sequential]
 *                           [--only put,fetch,get,restore] [--dir PATH] [--keep]
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brook_serde.h"
#include "brook_state.h"
#include "brook_window_store.h"
#include "state_int.h"

#define KEY_LEN 16
#define VALUE_LEN 100
#define WINDOW_MS 60000
#define STEP_MS 3
#define RETENTION_MS (3600 * 1000)
#define INTERVAL_MS (RETENTION_MS / 2)
#define FETCH_SPAN_MS (10 * 60000)
#define RESTORE_BATCH 1000
#define MAX_SEGS 64

typedef struct params {
  size_t puts, fetches, gets, keys;
  int rounds;
  const char *dir;
  bool keep;
  bool sequential;
  bool only[4]; /* phases to run (fetch and get need put) */
} params_t;

enum { OP_PUT, OP_FETCH, OP_GET, OP_RESTORE, N_OPS };
static const char *op_names[N_OPS] = {"put", "fetch", "get", "restore"};

/* ---- helpers ---- */

static double now(void) { return (double)g_get_monotonic_time() / 1e6; }

/* CPU time of the calling thread: the work done by the API calls themselves,
 * without RocksDB's background threads or time spent stalled/descheduled. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void reset_peak_rss(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    fputs("5", f);
    fclose(f);
  }
}

static long peak_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &v) == 1) break;
  if (f) fclose(f);
  return v;
}

static void rm_rf(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name(d))) {
      char *p = g_build_filename(path, name, NULL);
      if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
        rm_rf(p);
      else
        g_unlink(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  g_rmdir(path);
}

static void make_key(char *out, uint32_t k) {
  char tmp[KEY_LEN + 1];
  snprintf(tmp, sizeof tmp, "key-%012" PRIu32, k);
  memcpy(out, tmp, KEY_LEN);
}

/* The workload, generated once so both sides see the same bytes. */
typedef struct workload {
  uint32_t *put_keys;
  int64_t *put_ts; /* window starts */
  uint32_t *fetch_keys;
  int64_t *fetch_to;
  uint32_t *get_keys;
  int64_t *get_ts;
  char value[VALUE_LEN];
} workload_t;

static void workload_init(workload_t *w, const params_t *p) {
  GRand *rnd = g_rand_new_with_seed(1234);
  w->put_keys = g_new(uint32_t, p->puts);
  w->put_ts = g_new(int64_t, p->puts);
  for (size_t i = 0; i < p->puts; i++) {
    w->put_keys[i] = (uint32_t)g_rand_int_range(rnd, 0, (gint32)p->keys);
    int64_t t = (int64_t)i * STEP_MS;
    w->put_ts[i] = t - t % WINDOW_MS;
  }
  int64_t t_max = (int64_t)p->puts * STEP_MS;
  w->fetch_keys = g_new(uint32_t, p->fetches);
  w->fetch_to = g_new(int64_t, p->fetches);
  for (size_t i = 0; i < p->fetches; i++) {
    w->fetch_keys[i] = (uint32_t)g_rand_int_range(rnd, 0, (gint32)p->keys);
    w->fetch_to[i] = (int64_t)g_rand_double_range(rnd, 0, (double)t_max);
  }
  w->get_keys = g_new(uint32_t, p->gets);
  w->get_ts = g_new(int64_t, p->gets);
  for (size_t i = 0; i < p->gets; i++) {
    size_t j = (size_t)g_rand_int_range(rnd, 0, (gint32)p->puts);
    w->get_keys[i] = w->put_keys[j];
    w->get_ts[i] = w->put_ts[j];
  }
  for (int i = 0; i < VALUE_LEN; i++) w->value[i] = (char)('a' + i % 26);
  g_rand_free(rnd);
}

static void workload_free(workload_t *w) {
  g_free(w->put_keys);
  g_free(w->put_ts);
  g_free(w->fetch_keys);
  g_free(w->fetch_to);
  g_free(w->get_keys);
  g_free(w->get_ts);
}

static void die(const char *what, const char *msg) {
  fprintf(stderr, "bench-window-store: %s: %s\n", what, msg);
  exit(1);
}

/* ---- raw RocksDB side ---- */

typedef struct raw {
  brook_state_env_t *env;
  char *dir;
  rocksdb_writeoptions_t *wopts;
  rocksdb_readoptions_t *ropts;
  rocksdb_t *segs[MAX_SEGS];
} raw_t;

static rocksdb_t *raw_seg(raw_t *r, int64_t ts, bool create) {
  int64_t id = ts / INTERVAL_MS;
  if (id >= MAX_SEGS) die("raw", "too many segments");
  if (!r->segs[id] && create) {
    char *base = g_strdup_printf("raw.%" PRId64, id * INTERVAL_MS);
    char *path = g_build_filename(r->dir, base, NULL);
    g_mkdir_with_parents(r->dir, 0755);
    char *err = NULL;
    rocksdb_options_t *opts =
        state_env_rocksdb_options(r->env, "raw"); /* fresh: sized for the stores open now */
    r->segs[id] = rocksdb_open(opts, path, &err);
    rocksdb_options_destroy(opts);
    if (err) die("rocksdb_open", err);
    state_env_db_opened(r->env, r->segs[id]);
    g_free(base);
    g_free(path);
  }
  return r->segs[id];
}

static void raw_open(raw_t *r, brook_state_env_t *env, const char *dir) {
  memset(r, 0, sizeof *r);
  r->env = env;
  r->dir = g_strdup(dir);
  r->wopts = rocksdb_writeoptions_create();
  rocksdb_writeoptions_disable_WAL(r->wopts, 1);
  r->ropts = rocksdb_readoptions_create();
}

static void raw_close(raw_t *r) {
  rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
  rocksdb_flushoptions_set_wait(fo, 1);
  for (int i = 0; i < MAX_SEGS; i++)
    if (r->segs[i]) {
      char *err = NULL;
      rocksdb_flush(r->segs[i], fo, &err);
      if (err) die("rocksdb_flush", err);
      state_env_db_closed(r->env, r->segs[i]);
      rocksdb_close(r->segs[i]);
    }
  rocksdb_flushoptions_destroy(fo);
  rocksdb_writeoptions_destroy(r->wopts);
  rocksdb_readoptions_destroy(r->ropts);
  g_free(r->dir);
}

static void raw_puts(raw_t *r, const workload_t *w, size_t b, size_t e) {
  uint8_t skey[KEY_LEN + 12];
  char key[KEY_LEN];
  for (size_t i = b; i < e; i++) {
    make_key(key, w->put_keys[i]);
    brook_window_store_key_encode(key, KEY_LEN, w->put_ts[i], 0, skey);
    char *err = NULL;
    rocksdb_put(raw_seg(r, w->put_ts[i], true), r->wopts, (const char *)skey, sizeof skey, w->value,
                VALUE_LEN, &err);
    if (err) die("rocksdb_put", err);
  }
}

static uint64_t raw_fetches(raw_t *r, const workload_t *w, size_t b, size_t e) {
  uint64_t found = 0;
  char key[KEY_LEN];
  uint8_t lower[KEY_LEN + 12], upper[KEY_LEN + 12];
  for (size_t i = b; i < e; i++) {
    make_key(key, w->fetch_keys[i]);
    int64_t tt = w->fetch_to[i], tf = MAX(0, tt - FETCH_SPAN_MS);
    brook_window_store_key_encode(key, KEY_LEN, tf, 0, lower);
    brook_window_store_key_encode(key, KEY_LEN, tt, INT32_MAX, upper);
    for (int64_t id = tf / INTERVAL_MS; id <= tt / INTERVAL_MS; id++) {
      rocksdb_t *db = id < MAX_SEGS ? r->segs[id] : NULL;
      if (!db) continue;
      rocksdb_iterator_t *it = rocksdb_create_iterator(db, r->ropts);
      for (rocksdb_iter_seek(it, (const char *)lower, sizeof lower); rocksdb_iter_valid(it);
           rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        size_t n = klen < sizeof upper ? klen : sizeof upper;
        int c = memcmp(k, upper, n);
        if (c > 0 || (c == 0 && klen > sizeof upper)) break;
        /* the same filter the store applies: exact key, time in range */
        if (klen != sizeof upper || memcmp(k, key, KEY_LEN) != 0) continue;
        int64_t ts = brook_serde_get_i64((const uint8_t *)k + KEY_LEN);
        if (ts < tf || ts > tt) continue;
        (void)rocksdb_iter_value(it, &vlen);
        found++;
      }
      rocksdb_iter_destroy(it);
    }
  }
  return found;
}

static uint64_t raw_gets(raw_t *r, const workload_t *w, size_t b, size_t e) {
  uint64_t hits = 0;
  char key[KEY_LEN];
  uint8_t skey[KEY_LEN + 12];
  for (size_t i = b; i < e; i++) {
    make_key(key, w->get_keys[i]);
    brook_window_store_key_encode(key, KEY_LEN, w->get_ts[i], 0, skey);
    rocksdb_t *db = raw_seg(r, w->get_ts[i], false);
    if (!db) continue;
    char *err = NULL;
    size_t vlen;
    char *v = rocksdb_get(db, r->ropts, (const char *)skey, sizeof skey, &vlen, &err);
    if (err) die("rocksdb_get", err);
    if (v) hits++;
    free(v);
  }
  return hits;
}

/* changelog records of the put phase, shared by both restore runs */
typedef struct changelog {
  uint8_t *keys; /* puts x (KEY_LEN + 12) */
  brook_changelog_record_t *recs;
} changelog_t;

static void changelog_init(changelog_t *c, const workload_t *w, const params_t *p) {
  c->keys = g_malloc(p->puts * (KEY_LEN + 12));
  c->recs = g_new0(brook_changelog_record_t, p->puts);
  char key[KEY_LEN];
  for (size_t i = 0; i < p->puts; i++) {
    uint8_t *sk = c->keys + i * (KEY_LEN + 12);
    make_key(key, w->put_keys[i]);
    brook_window_store_key_encode(key, KEY_LEN, w->put_ts[i], 0, sk);
    c->recs[i] = (brook_changelog_record_t){sk, KEY_LEN + 12, w->value, VALUE_LEN, w->put_ts[i], (int64_t)i};
  }
}

static void raw_restore(raw_t *r, const changelog_t *c, size_t b, size_t e) {
  rocksdb_writebatch_t *batches[MAX_SEGS] = {0};
  for (size_t i = b; i < e; i += RESTORE_BATCH) {
    size_t n = MIN(RESTORE_BATCH, e - i);
    for (size_t j = i; j < i + n; j++) {
      int64_t id = c->recs[j].timestamp / INTERVAL_MS;
      raw_seg(r, c->recs[j].timestamp, true);
      if (!batches[id]) batches[id] = rocksdb_writebatch_create();
      rocksdb_writebatch_put(batches[id], c->recs[j].key, c->recs[j].key_len, c->recs[j].value,
                             c->recs[j].value_len);
    }
    for (int id = 0; id < MAX_SEGS; id++)
      if (batches[id]) {
        char *err = NULL;
        rocksdb_write(r->segs[id], r->wopts, batches[id], &err);
        if (err) die("rocksdb_write", err);
        rocksdb_writebatch_destroy(batches[id]);
        batches[id] = NULL;
      }
  }
}

/* ---- brook side ---- */

static brook_window_store_t *brook_open(brook_state_env_t *env, brook_task_dir_t *dir, const char *name) {
  brook_window_store_opts_t o = {
      .store = {.name = name, .logged = false},
      .retention_ms = RETENTION_MS,
      .window_size_ms = WINDOW_MS,
  };
  brook_window_store_t *s = NULL;
  char errstr[512];
  if (brook_window_store_open(env, dir, &o, &s, errstr, sizeof errstr))
    die("brook_window_store_open", errstr);
  return s;
}

static void brook_puts(brook_window_store_t *s, const workload_t *w, size_t b, size_t e) {
  char key[KEY_LEN], errstr[512];
  for (size_t i = b; i < e; i++) {
    make_key(key, w->put_keys[i]);
    if (brook_window_store_put(s, key, KEY_LEN, w->value, VALUE_LEN, w->put_ts[i], errstr, sizeof errstr))
      die("put", errstr);
  }
}

static uint64_t brook_fetches(brook_window_store_t *s, const workload_t *w, size_t b, size_t e) {
  uint64_t found = 0;
  char key[KEY_LEN], errstr[512];
  for (size_t i = b; i < e; i++) {
    make_key(key, w->fetch_keys[i]);
    brook_window_iter_t *it = NULL;
    if (brook_window_store_fetch(s, key, KEY_LEN, MAX(0, w->fetch_to[i] - FETCH_SPAN_MS), w->fetch_to[i], &it,
                                 errstr, sizeof errstr))
      die("fetch", errstr);
    while (brook_window_iter_next(it)) {
      size_t vlen;
      (void)brook_window_iter_value(it, &vlen);
      found++;
    }
    if (brook_window_iter_error(it, errstr, sizeof errstr)) die("fetch iter", errstr);
    brook_window_iter_destroy(it);
  }
  return found;
}

static uint64_t brook_gets(brook_window_store_t *s, const workload_t *w, size_t b, size_t e) {
  uint64_t hits = 0;
  char key[KEY_LEN], errstr[512];
  for (size_t i = b; i < e; i++) {
    make_key(key, w->get_keys[i]);
    void *v = NULL;
    size_t vlen;
    brook_err_t err = brook_window_store_get(s, key, KEY_LEN, w->get_ts[i], &v, &vlen, errstr, sizeof errstr);
    if (err == BROOK_ERR_NONE)
      hits++;
    else if (err != BROOK_ERR__NOENT)
      die("get", errstr);
    free(v);
  }
  return hits;
}

static void brook_restore(brook_window_store_t *s, const changelog_t *c, size_t b, size_t e) {
  char errstr[512];
  brook_restore_progress_t prog = {0};
  for (size_t i = b; i < e; i += RESTORE_BATCH)
    if (brook_window_store_restore(s, c->recs + i, MIN(RESTORE_BATCH, e - i), -1, &prog, errstr,
                                   sizeof errstr))
      die("restore", errstr);
}

/* ---- driver ----
 *
 * Both sides are open at once and every phase alternates between them in
 * chunks (raw first on even chunks, brook first on odd ones), each chunk timed
 * on its own: the machine's load and RocksDB's background work fall on both
 * sides alike. Peak RSS is the whole process's for the phase (both sides share
 * the environment's block cache); --sequential runs the sides one after the
 * other instead (order effects show: the first pays for fresh memtables). */

typedef struct phase_result {
  double secs[2]; /* [0] brook, [1] raw */
  double cpu[2];  /* the calling thread's CPU seconds */
  uint64_t items[2];
  long rss_kib[2];
} phase_result_t;

typedef struct sides {
  raw_t raw, raw_restore;
  brook_window_store_t *brook, *brook_restore;
} sides_t;

static uint64_t run_chunk(sides_t *sd, int side, int op, const workload_t *w, const changelog_t *c, size_t b,
                          size_t e) {
  switch (op) {
    case OP_PUT:
      if (side == 0)
        brook_puts(sd->brook, w, b, e);
      else
        raw_puts(&sd->raw, w, b, e);
      return e - b;
    case OP_FETCH:
      return side == 0 ? brook_fetches(sd->brook, w, b, e) : raw_fetches(&sd->raw, w, b, e);
    case OP_GET:
      return side == 0 ? brook_gets(sd->brook, w, b, e) : raw_gets(&sd->raw, w, b, e);
    default:
      if (side == 0)
        brook_restore(sd->brook_restore, c, b, e);
      else
        raw_restore(&sd->raw_restore, c, b, e);
      return e - b;
  }
}

static size_t op_count(const params_t *p, int op) {
  return op == OP_PUT || op == OP_RESTORE ? p->puts : op == OP_FETCH ? p->fetches : p->gets;
}

static void run_phase(sides_t *sd, int op, int round, const workload_t *w, const changelog_t *c,
                      const params_t *p, bool sequential, phase_result_t *res) {
  size_t n = op_count(p, op);
  size_t chunk = op == OP_RESTORE ? RESTORE_BATCH * 10 : MAX(n / 100, 100);
  memset(res, 0, sizeof *res);
  if (sequential) { /* which side goes first alternates with the round */
    for (int j = 0; j < 2; j++) {
      int side = (j + round) % 2;
      reset_peak_rss();
      double t0 = now(), c0 = cpu_now();
      res->items[side] = run_chunk(sd, side, op, w, c, 0, n);
      res->secs[side] = now() - t0;
      res->cpu[side] = cpu_now() - c0;
      res->rss_kib[side] = peak_rss_kib();
    }
    return;
  }
  reset_peak_rss();
  for (size_t b = 0, k = 0; b < n; b += chunk, k++) {
    size_t e = MIN(n, b + chunk);
    for (int j = 0; j < 2; j++) {
      int side = (int)((k + (size_t)j) % 2);
      double t0 = now(), c0 = cpu_now();
      res->items[side] += run_chunk(sd, side, op, w, c, b, e);
      res->secs[side] += now() - t0;
      res->cpu[side] += cpu_now() - c0;
    }
  }
  res->rss_kib[0] = res->rss_kib[1] = peak_rss_kib();
}

static brook_window_store_t *open_brook(brook_state_env_t *env, brook_task_dir_t *tdir, const char *name) {
  return brook_open(env, tdir, name);
}

static void run_round(brook_state_env_t *env, brook_task_dir_t *tdir, const char *root, int round,
                      const workload_t *w, const changelog_t *c, const params_t *p, bool sequential,
                      phase_result_t out[N_OPS]) {
  char *d_raw = g_strdup_printf("%s/raw-%d", root, round),
       *d_raw2 = g_strdup_printf("%s/raw-restore-%d", root, round);
  char name[32], name2[32];
  snprintf(name, sizeof name, "win-%d", round);
  snprintf(name2, sizeof name2, "win-restore-%d", round);
  sides_t sd;
  raw_open(&sd.raw, env, d_raw);
  raw_open(&sd.raw_restore, env, d_raw2);
  sd.brook = open_brook(env, tdir, name);
  sd.brook_restore = open_brook(env, tdir, name2);
  for (int op = 0; op < N_OPS; op++)
    if (p->only[op]) run_phase(&sd, op, round, w, c, p, sequential, &out[op]);
  raw_close(&sd.raw);
  raw_close(&sd.raw_restore);
  brook_window_store_close(sd.brook);
  brook_window_store_close(sd.brook_restore);
  if (!p->keep) {
    rm_rf(d_raw);
    rm_rf(d_raw2);
    char *d1 = g_build_filename(brook_task_dir_path(tdir), "rocksdb", name, NULL);
    char *d2 = g_build_filename(brook_task_dir_path(tdir), "rocksdb", name2, NULL);
    rm_rf(d1);
    rm_rf(d2);
    g_free(d1);
    g_free(d2);
  }
  g_free(d_raw);
  g_free(d_raw2);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median_secs(phase_result_t (*rs)[N_OPS], int rounds, int op, int side, bool cpu) {
  double v[64];
  for (int i = 0; i < rounds; i++) v[i] = cpu ? rs[i][op].cpu[side] : rs[i][op].secs[side];
  qsort(v, (size_t)rounds, sizeof v[0], cmp_double);
  return v[rounds / 2];
}

static long max_rss(phase_result_t (*rs)[N_OPS], int rounds, int op, int side) {
  long m = 0;
  for (int i = 0; i < rounds; i++) m = MAX(m, rs[i][op].rss_kib[side]);
  return m;
}

int main(int argc, char **argv) {
  params_t p = {.puts = 1000000,
                .fetches = 100000,
                .gets = 200000,
                .keys = 10000,
                .rounds = 3,
                .only = {true, true, true, true}};
  double scale = 1.0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--scale") && i + 1 < argc)
      scale = atof(argv[++i]);
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
      p.rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      p.dir = argv[++i];
    else if (!strcmp(argv[i], "--keep"))
      p.keep = true;
    else if (!strcmp(argv[i], "--sequential"))
      p.sequential = true;
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
      memset(p.only, 0, sizeof p.only);
      char **names = g_strsplit(argv[++i], ",", -1);
      for (char **n = names; *n; n++) {
        int op = 0;
        while (op < N_OPS && strcmp(*n, op_names[op]) != 0) op++;
        if (op == N_OPS) {
          fprintf(stderr, "--only: unknown phase %s (put,fetch,get,restore)\n", *n);
          return 2;
        }
        p.only[op] = true;
      }
      g_strfreev(names);
      if (p.only[OP_FETCH] || p.only[OP_GET]) p.only[OP_PUT] = true; /* they read what put wrote */
    } else {
      fprintf(stderr,
              "usage: %s [--scale F] [--rounds R (1..63)] [--sequential] [--only put,fetch,get,restore] "
              "[--dir PATH] [--keep]\n",
              argv[0]);
      return 2;
    }
  }
  if (scale <= 0 || p.rounds < 1 || p.rounds > 63) {
    fprintf(stderr, "bad --scale or --rounds\n");
    return 2;
  }
  p.puts = (size_t)((double)p.puts * scale);
  p.fetches = (size_t)((double)p.fetches * scale);
  p.gets = (size_t)((double)p.gets * scale);
  if (p.puts < 1000) p.puts = 1000;
  if (p.fetches < 100) p.fetches = 100;
  if (p.gets < 100) p.gets = 100;

  GError *gerr = NULL;
  char *root = p.dir ? g_strdup(p.dir) : g_dir_make_tmp("brook-bench-window-XXXXXX", &gerr);
  if (!root) die("temp dir", gerr->message);
  g_mkdir_with_parents(root, 0755);
  char errstr[512];
  brook_state_env_conf_t conf = {.state_dir = root, .application_id = "bench"};
  brook_state_env_t *env = brook_state_env_new(&conf, errstr, sizeof errstr);
  if (!env) die("env", errstr);
  brook_task_dir_t *tdir = NULL;
  if (brook_task_dir_open(env, "0_0", &tdir, errstr, sizeof errstr)) die("task dir", errstr);

  workload_t w;
  workload_init(&w, &p);
  changelog_t c;
  changelog_init(&c, &w, &p);
  fprintf(stderr, "bench-window-store: %zu puts, %zu fetches, %zu gets, %zu keys, %d round(s), dir %s\n",
          p.puts, p.fetches, p.gets, p.keys, p.rounds, root);

  phase_result_t(*res)[N_OPS] = g_malloc0(sizeof(phase_result_t[N_OPS]) * (size_t)p.rounds);
  for (int round = 0; round < p.rounds; round++) {
    run_round(env, tdir, root, round, &w, &c, &p, p.sequential, res[round]);
    for (int op = 0; op < N_OPS; op++) {
      if (p.only[op] && res[round][op].items[0] != res[round][op].items[1]) {
        fprintf(stderr, "bench-window-store: %s: brook saw %" PRIu64 " items, raw %" PRIu64 "\n",
                op_names[op], res[round][op].items[0], res[round][op].items[1]);
        return 1;
      }
    }
    fprintf(stderr, "  round %d done\n", round + 1);
  }

  printf(
      "| op | count | windows read | brook ops/s | raw RocksDB ops/s | brook/raw | brook CPU us/op | raw CPU "
      "us/op | CPU raw/brook | peak RSS MiB%s |\n",
      p.sequential ? " brook / raw" : " (both sides)");
  printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int op = 0; op < N_OPS; op++) {
    if (!p.only[op]) continue;
    size_t count = op_count(&p, op);
    double bops = (double)count / median_secs(res, p.rounds, op, 0, false);
    double rops = (double)count / median_secs(res, p.rounds, op, 1, false);
    double bcpu = median_secs(res, p.rounds, op, 0, true) * 1e6 / (double)count;
    double rcpu = median_secs(res, p.rounds, op, 1, true) * 1e6 / (double)count;
    char items[32] = "", rss[64];
    if (op == OP_FETCH || op == OP_GET) snprintf(items, sizeof items, "%" PRIu64, res[0][op].items[0]);
    if (p.sequential)
      snprintf(rss, sizeof rss, "%.1f / %.1f", (double)max_rss(res, p.rounds, op, 0) / 1024.0,
               (double)max_rss(res, p.rounds, op, 1) / 1024.0);
    else
      snprintf(rss, sizeof rss, "%.1f", (double)max_rss(res, p.rounds, op, 0) / 1024.0);
    printf("| %s | %zu | %s | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %s |\n", op_names[op], count, items,
           bops, rops, bops / rops, bcpu, rcpu, rcpu / bcpu, rss);
  }
  g_free(res);
  g_free(c.keys);
  g_free(c.recs);
  workload_free(&w);
  brook_task_dir_close(tdir);
  brook_state_env_destroy(env);
  if (!p.keep && !p.dir) rm_rf(root);
  g_free(root);
  return 0;
}
