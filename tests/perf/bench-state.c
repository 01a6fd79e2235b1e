/*
 * bench-state.c — brook's key-value store API versus the raw RocksDB C API,
 * side by side in one run, with the same RocksDB options (the ones the state
 * environment gives every store: shared block cache, memtable share of the
 * budget, no compression, WAL off as for logged stores).
 *
 * Rows (default N = 1,000,000; 16-byte keys, 100-byte values, keys in a fixed
 * pseudo-random order):
 *   put      N puts.   brook: brook_kv_store_put on a logged, uncached store
 *            (a changelog sink that only counts) — raw: rocksdb_put, WAL off
 *   get      N gets of the same keys in another order, after both stores were
 *            flushed.  brook: brook_kv_store_get — raw:
 *            rocksdb_get_pinned (zero copy, as brook uses)
 *   restore  N changelog records in batches of 1,000 (the restore consumer's
 *            max.poll.records).  brook: brook_kv_store_restore — raw: one
 *            rocksdb_writebatch per batch, rocksdb_write with the WAL off
 *   put+cache (extra, brook only) N puts into a cached store, final flush
 * Each pair runs --repeat times (default 3), raw and brook alternating, each
 * on a fresh store; the table shows the best of each. Not a test: run it with
 * `ninja -C <builddir> bench-state` or directly (see docs/PERFORMANCE.md).
 */
#include <glib.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "brook_kv_store.h"
#include "brook_state.h"
#include "state_int.h"

#define KEY_LEN 16
#define VALUE_LEN 100
#define BATCH 1000

static size_t n_records = 1000000;
static const char *only = "put,get,restore,cached"; /* --only: which rows run */
#define RUN(row) (strstr(only, row) != NULL)
static char *keys; /* n_records x KEY_LEN, write order */
static size_t *read_order;
static char value[VALUE_LEN];
static uint64_t sent;

/* Starts a timed phase from a quiet disk: dirty pages of earlier phases
 * written back now, not under the next measurement. */
static void quiesce(void) { sync(); }

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static brook_err_t count_send(void *opaque, const char *topic, int32_t partition, const void *key,
                              size_t key_len, const void *v, size_t value_len, int64_t timestamp) {
  sent++;
  return BROOK_ERR_NONE;
}

static void die(const char *what, const char *err) {
  fprintf(stderr, "bench-state: %s: %s\n", what, err);
  exit(1);
}

typedef struct ctx {
  char *tmp;
  brook_state_env_t *env;
  brook_task_dir_t *dir;
  int seq;
} ctx_t;

static brook_kv_store_t *brook_open(ctx_t *c, bool cached) {
  char name[32], errstr[512];
  g_snprintf(name, sizeof name, "b%d", c->seq++);
  brook_store_opts_t opts = {.name = name, .logged = true, .cached = cached, .sink = {count_send, NULL}};
  brook_kv_store_t *s = NULL;
  if (brook_kv_store_open(c->env, c->dir, &opts, 0, &s, errstr, sizeof errstr)) die("open", errstr);
  return s;
}

static rocksdb_t *raw_open(ctx_t *c, rocksdb_options_t **optsp) {
  char name[32];
  g_snprintf(name, sizeof name, "r%d", c->seq++);
  char *path = g_build_filename(c->tmp, "raw", name, NULL);
  char *parent = g_path_get_dirname(path);
  g_mkdir_with_parents(parent, 0755);
  *optsp = state_env_rocksdb_options(c->env, name);
  char *err = NULL;
  rocksdb_t *db = rocksdb_open(*optsp, path, &err);
  if (err) die("raw open", err);
  g_free(parent);
  g_free(path);
  return db;
}

/* Both sides flush before their gets (brook_kv_store_flush = rocksdb_flush),
 * so gets read the same mix of SST files and memtable. */
static void raw_flush(rocksdb_t *db) {
  rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
  rocksdb_flushoptions_set_wait(fo, 1);
  char *err = NULL;
  rocksdb_flush(db, fo, &err);
  if (err) die("raw flush", err);
  rocksdb_flushoptions_destroy(fo);
}

typedef struct result {
  double put, get, restore;
} result_t;

static void run_raw(ctx_t *c, result_t *r) {
  rocksdb_options_t *opts;
  rocksdb_t *db = raw_open(c, &opts);
  rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
  rocksdb_writeoptions_disable_WAL(wo, 1);
  rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
  char *err = NULL;
  quiesce();
  double t0 = now();
  for (size_t i = 0; i < (RUN("put") || RUN("get") ? n_records : 0); i++) {
    rocksdb_put(db, wo, keys + i * KEY_LEN, KEY_LEN, value, VALUE_LEN, &err);
    if (err) die("raw put", err);
  }
  r->put = n_records / (now() - t0);
  raw_flush(db);
  size_t found = 0;
  quiesce();
  t0 = now();
  for (size_t i = 0; i < (RUN("get") ? n_records : 0); i++) {
    rocksdb_pinnableslice_t *p = rocksdb_get_pinned(db, ro, keys + read_order[i] * KEY_LEN, KEY_LEN, &err);
    if (err) die("raw get", err);
    if (p) {
      size_t vl;
      found += rocksdb_pinnableslice_value(p, &vl) != NULL && vl == VALUE_LEN;
      rocksdb_pinnableslice_destroy(p);
    }
  }
  r->get = n_records / (now() - t0);
  if (RUN("get") && found != n_records) die("raw get", "missing keys");
  rocksdb_close(db);
  rocksdb_options_destroy(opts);

  db = raw_open(c, &opts);
  rocksdb_writebatch_t *b = rocksdb_writebatch_create();
  quiesce();
  t0 = now();
  for (size_t i = 0; i < (RUN("restore") ? n_records : 0); i += BATCH) {
    rocksdb_writebatch_clear(b);
    for (size_t j = i; j < i + BATCH && j < n_records; j++)
      rocksdb_writebatch_put(b, keys + j * KEY_LEN, KEY_LEN, value, VALUE_LEN);
    rocksdb_write(db, wo, b, &err);
    if (err) die("raw write", err);
  }
  r->restore = n_records / (now() - t0);
  rocksdb_writebatch_destroy(b);
  rocksdb_close(db);
  rocksdb_options_destroy(opts);
  rocksdb_writeoptions_destroy(wo);
  rocksdb_readoptions_destroy(ro);
}

static void run_brook(ctx_t *c, result_t *r) {
  brook_kv_store_t *s = brook_open(c, false);
  quiesce();
  double t0 = now();
  for (size_t i = 0; i < (RUN("put") || RUN("get") ? n_records : 0); i++)
    if (brook_kv_store_put(s, keys + i * KEY_LEN, KEY_LEN, value, VALUE_LEN, 0))
      die("put", brook_kv_store_errstr(s));
  r->put = n_records / (now() - t0);
  if (brook_kv_store_flush(s)) die("flush", brook_kv_store_errstr(s));
  size_t found = 0;
  quiesce();
  t0 = now();
  for (size_t i = 0; i < (RUN("get") ? n_records : 0); i++) {
    const void *v;
    size_t vl;
    brook_err_t err = brook_kv_store_get(s, keys + read_order[i] * KEY_LEN, KEY_LEN, &v, &vl, NULL);
    if (err == BROOK_ERR_NONE)
      found += vl == VALUE_LEN;
    else if (err != BROOK_ERR__NOENT)
      die("get", brook_kv_store_errstr(s));
  }
  r->get = n_records / (now() - t0);
  if (RUN("get") && found != n_records) die("get", "missing keys");
  brook_kv_store_close(s);

  s = brook_open(c, false);
  brook_changelog_record_t *recs = g_new(brook_changelog_record_t, BATCH);
  quiesce();
  t0 = now();
  for (size_t i = 0; i < (RUN("restore") ? n_records : 0); i += BATCH) {
    size_t n = 0;
    for (size_t j = i; j < i + BATCH && j < n_records; j++, n++)
      recs[n] = (brook_changelog_record_t){keys + j * KEY_LEN, KEY_LEN, value, VALUE_LEN, 0, (int64_t)j};
    if (brook_kv_store_restore(s, recs, n, (int64_t)n_records, NULL))
      die("restore", brook_kv_store_errstr(s));
  }
  r->restore = n_records / (now() - t0);
  g_free(recs);
  brook_kv_store_close(s);
}

static double run_cached(ctx_t *c) {
  if (!RUN("cached")) return 0;
  brook_kv_store_t *s = brook_open(c, true);
  quiesce();
  double t0 = now();
  for (size_t i = 0; i < n_records; i++)
    if (brook_kv_store_put(s, keys + i * KEY_LEN, KEY_LEN, value, VALUE_LEN, 0))
      die("put", brook_kv_store_errstr(s));
  if (brook_kv_store_flush(s)) die("flush", brook_kv_store_errstr(s));
  double rate = n_records / (now() - t0);
  brook_kv_store_close(s);
  return rate;
}

static uint64_t peak_rss(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)ru.ru_maxrss * 1024;
}

static void rm_tree(const char *path) {
  char *cmd = g_strdup_printf("rm -rf '%s'", path);
  if (system(cmd) != 0) fprintf(stderr, "bench-state: could not remove %s\n", path);
  g_free(cmd);
}

int main(int argc, char **argv) {
  int repeat = 3;
  const char *base = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--count") && i + 1 < argc)
      n_records = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      base = argv[++i];
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--count N] [--repeat R] [--dir DIR] [--only put,get,restore,cached]\n",
              argv[0]);
      return 2;
    }
  }
  if (n_records < BATCH || repeat < 1) die("usage", "--count >= 1000, --repeat >= 1");
  /* keys: 16 bytes, a fixed permutation of 0..N-1 (multiplicative hash) */
  keys = g_malloc(n_records * KEY_LEN);
  read_order = g_new(size_t, n_records);
  for (size_t i = 0; i < n_records; i++) {
    char k[KEY_LEN + 1];
    g_snprintf(k, sizeof k, "k%015zu", (size_t)((i * 2654435761u) % n_records));
    memcpy(keys + i * KEY_LEN, k, KEY_LEN);
    read_order[i] = (i * 40503u + 7) % n_records;
  }
  for (int i = 0; i < VALUE_LEN; i++) value[i] = (char)('a' + i % 26);

  ctx_t c = {0};
  GError *gerr = NULL;
  c.tmp = base ? g_build_filename(base, "bench-state-XXXXXX", NULL) : NULL;
  c.tmp = c.tmp ? g_mkdtemp(c.tmp) : g_dir_make_tmp("bench-state-XXXXXX", &gerr);
  if (!c.tmp) die("temp dir", gerr ? gerr->message : "mkdtemp failed");
  char errstr[512];
  brook_state_env_conf_t conf = {.state_dir = c.tmp, .application_id = "bench", .cache_max_bytes = 10u << 20};
  c.env = brook_state_env_new(&conf, errstr, sizeof errstr);
  if (!c.env) die("env", errstr);
  if (brook_task_dir_open(c.env, "0_0", &c.dir, errstr, sizeof errstr)) die("task dir", errstr);

  result_t best_raw = {0}, best_brook = {0};
  double best_cached = 0;
  for (int r = 0; r < repeat; r++) {
    result_t raw, bk;
    if (r % 2 == 0) {
      run_raw(&c, &raw);
      run_brook(&c, &bk);
    } else {
      run_brook(&c, &bk);
      run_raw(&c, &raw);
    }
    double cached = run_cached(&c);
    fprintf(stderr,
            "round %d: put raw %.0f brook %.0f | get raw %.0f brook %.0f | restore raw %.0f brook %.0f | "
            "cached put %.0f\n",
            r + 1, raw.put, bk.put, raw.get, bk.get, raw.restore, bk.restore, cached);
    best_raw.put = MAX(best_raw.put, raw.put);
    best_raw.get = MAX(best_raw.get, raw.get);
    best_raw.restore = MAX(best_raw.restore, raw.restore);
    best_brook.put = MAX(best_brook.put, bk.put);
    best_brook.get = MAX(best_brook.get, bk.get);
    best_brook.restore = MAX(best_brook.restore, bk.restore);
    best_cached = MAX(best_cached, cached);
  }
  printf(
      "| %zu records, 16 B keys, 100 B values, best of %d | raw RocksDB (msgs/s) | brook KV store (msgs/s) | "
      "brook / raw |\n",
      n_records, repeat);
  printf("|---|---:|---:|---:|\n");
  if (RUN("put"))
    printf("| put | %.0f | %.0f | %.3f |\n", best_raw.put, best_brook.put, best_brook.put / best_raw.put);
  if (RUN("get"))
    printf("| get | %.0f | %.0f | %.3f |\n", best_raw.get, best_brook.get, best_brook.get / best_raw.get);
  if (RUN("restore"))
    printf("| restore (batches of %d) | %.0f | %.0f | %.3f |\n", BATCH, best_raw.restore, best_brook.restore,
           best_brook.restore / best_raw.restore);
  if (RUN("cached"))
    printf("| put, cached store (10 MiB), incl. final flush | — | %.0f | — |\n", best_cached);
  printf("\npeak RSS %.1f MiB; changelog records handed to the sink: %" G_GUINT64_FORMAT "\n",
         peak_rss() / 1048576.0, sent);
  brook_task_dir_close(c.dir);
  brook_state_env_destroy(c.env);
  rm_tree(c.tmp);
  g_free(c.tmp);
  g_free(keys);
  g_free(read_order);
  return 0;
}
