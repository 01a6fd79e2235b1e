/*
 * env.c — the per-application state environment: state directory, application
 * id, and the one memory budget every RocksDB store of the application shares.
 *
 * Design note: bounding RocksDB memory without a WriteBufferManager
 * ------------------------------------------------------------------
 * RocksDB 7.8's C API has no WriteBufferManager, so memtables cannot be charged
 * to the block cache as Kafka Streams' BoundedMemoryRocksDBConfig does. The
 * environment keeps total memory bounded with what the C API does offer:
 *
 *   rocksdb.total.memory.bytes = B
 *     ├── block cache  B/2: ONE LRU cache shared by every store; index and
 *     │                filter blocks live in it too (cache_index_and_filter_
 *     │                blocks), so table readers hold nothing outside it.
 *     └── memtables    B/2: divided among the open stores. Each store gets
 *                      write_buffer_size = W and max_write_buffer_number = 2,
 *                      W = largest power of two <= (B/2) / (2 * open stores),
 *                      clamped to [64 KiB, 64 MiB]. When stores open or close
 *                      and W changes, every open store is re-divided with
 *                      rocksdb_set_options("write_buffer_size").
 *
 * W moves in powers of two so re-division happens O(log n) times while n stores
 * open (about 2n rocksdb_set_options calls in all, not n^2). 64 KiB is
 * RocksDB's own floor for write_buffer_size, so past (B/2)/128 KiB stores
 * (128 stores for the default 64 MiB) memtables may use up to
 * open stores x 128 KiB instead of B/2: state_env_mem_get() reports that bound
 * (rocksdb_bound) and the environment logs a warning the first time the budget
 * is too small for the stores open.
 *
 * The rest of a store's footprint is kept small and per-store constant:
 *   - max_open_files = 32 (table cache) — with index/filter blocks in the block
 *     cache an open table reader costs a few hundred bytes;
 *   - writable_file_max_buffer_size = 32 KiB (WAL/MANIFEST/SST writer buffers,
 *     1 MiB by default);
 *   - info LOG at WARN level, at most 2 files of 1 MiB;
 *   - one rocksdb_env_t (the process default Env) for all stores: background
 *     flush/compaction threads are a process-wide pool (2 low, 1 high priority),
 *     never per store.
 * tests/state/test-memory-budget.c opens 1,000 stores, writes to each and checks
 * peak RSS against a stated bound.
 *
 * The user's rocksdb_config_setter runs last on each store's options, so it can
 * override anything here (a later re-division still sets write_buffer_size).
 *
 * The record-cache budget ("statestore.cache.max.bytes") is one atomic counter:
 * every cache charges its bytes here and evicts from itself while the total is
 * above the budget (cache.c).
 *
 * Invariants: `dbs` holds exactly the open RocksDB instances (opened →
 * state_env_db_opened, state_env_db_closed → rocksdb_close); every one of them
 * has write_buffer_size == env->wbs once the mutex is released.
 *
 * @locality any: the mutex guards dbs/wbs; the cache counter is atomic.
 */
#include <errno.h>
#include <glib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "blog.h"
#include "state_int.h"

#define DEFAULT_TOTAL_MEMORY (64u << 20)
#define MIN_TOTAL_MEMORY (1u << 20)
#define MIN_WBS ((size_t)64 << 10) /* RocksDB clips write_buffer_size to >= 64 KiB */
#define MAX_WBS ((size_t)64 << 20)
#define MAX_WRITE_BUFFERS 2
#define MAX_OPEN_FILES 32
#define FILE_BUFFER_BYTES (32u << 10)

struct brook_state_env {
  char *state_dir;
  char *application_id;
  uint64_t total_memory;
  uint64_t memtable_budget;
  uint64_t cache_max_bytes;
  atomic_uint_least64_t cache_used;
  void (*config_setter)(const char *store_name, void *rocksdb_options, void *opaque);
  void *config_setter_opaque;

  rocksdb_cache_t *block_cache;
  size_t block_cache_capacity;
  rocksdb_env_t *renv;

  GMutex lock;
  GPtrArray *dbs; /* rocksdb_t *, open instances */
  size_t wbs;     /* write_buffer_size in force */
  bool warned_floor;
};

static bool app_id_ok(const char *id) {
  if (!id || !*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0) return false;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-') return false;
  return true;
}

brook_state_env_t *brook_state_env_new(const brook_state_env_conf_t *conf, char *errstr, size_t errstr_size) {
  if (!conf || !app_id_ok(conf->application_id)) {
    g_snprintf(
        errstr, errstr_size,
        "application.id \"%s\" is invalid: it is required and may hold only ASCII letters, digits, '.', '_' "
        "and '-'",
        conf && conf->application_id ? conf->application_id : "");
    return NULL;
  }
  uint64_t total = conf->rocksdb_total_memory_bytes ? conf->rocksdb_total_memory_bytes : DEFAULT_TOTAL_MEMORY;
  if (total < MIN_TOTAL_MEMORY) {
    g_snprintf(errstr, errstr_size,
               "rocksdb.total.memory.bytes %" G_GUINT64_FORMAT " is below the minimum %u", total,
               MIN_TOTAL_MEMORY);
    return NULL;
  }
  if (conf->state_dir && !*conf->state_dir) {
    g_snprintf(errstr, errstr_size, "state.dir is empty");
    return NULL;
  }
  brook_state_env_t *env = g_new0(brook_state_env_t, 1);
  env->state_dir = g_strdup(conf->state_dir ? conf->state_dir : "/tmp/kafka-streams");
  env->application_id = g_strdup(conf->application_id);
  env->total_memory = total;
  env->memtable_budget = total / 2;
  env->block_cache_capacity = (size_t)(total - env->memtable_budget);
  env->cache_max_bytes = conf->cache_max_bytes;
  atomic_init(&env->cache_used, 0);
  env->config_setter = conf->rocksdb_config_setter;
  env->config_setter_opaque = conf->rocksdb_config_setter_opaque;
  /* Not strict: a strict-capacity cache fails reads ("Incomplete") when pinned
   * blocks fill it; the soft limit is exceeded only by blocks pinned by live
   * iterators, a few blocks per open iterator. */
  env->block_cache = rocksdb_cache_create_lru(env->block_cache_capacity);
  env->renv = rocksdb_create_default_env();
  /* The default Env's pools are process-wide: set, not added to, so several
   * environments in one process do not multiply threads. */
  rocksdb_env_set_background_threads(env->renv, 2);
  rocksdb_env_set_high_priority_background_threads(env->renv, 1);
  g_mutex_init(&env->lock);
  env->dbs = g_ptr_array_new();
  env->wbs = MAX_WBS;
  return env;
}

void brook_state_env_destroy(brook_state_env_t *env) {
  if (!env) return;
  if (env->dbs->len)
    brook_log(BROOK_LOG_ERR, "state", "state environment destroyed with %u RocksDB stores still open",
              env->dbs->len);
  g_ptr_array_free(env->dbs, TRUE);
  g_mutex_clear(&env->lock);
  rocksdb_cache_destroy(env->block_cache);
  rocksdb_env_destroy(env->renv);
  g_free(env->state_dir);
  g_free(env->application_id);
  g_free(env);
}

/* The memtable arena block: RocksDB derives it from write_buffer_size (1/8)
 * only when the store opens, so a store opened with a large W would keep 1 MiB
 * arena blocks after being re-divided down (and RocksDB asserts when a new
 * memtable's first block already exceeds W). It is set with W, always. */
static size_t arena_for(size_t w) { return w / 8 < 4096 ? 4096 : w / 8; }

/* W for n open stores (see the design note). */
static size_t wbs_for(const brook_state_env_t *env, size_t n) {
  if (n == 0) n = 1;
  uint64_t share = env->memtable_budget / ((uint64_t)n * MAX_WRITE_BUFFERS);
  size_t w = MAX_WBS;
  while (w > MIN_WBS && w > share) w >>= 1;
  return w;
}

rocksdb_options_t *state_env_rocksdb_options(brook_state_env_t *env, const char *store_name) {
  rocksdb_options_t *opts = rocksdb_options_create();
  rocksdb_options_set_create_if_missing(opts, 1);
  rocksdb_options_set_env(opts, env->renv);

  rocksdb_block_based_table_options_t *bbto = rocksdb_block_based_options_create();
  rocksdb_block_based_options_set_block_cache(bbto, env->block_cache);
  rocksdb_block_based_options_set_block_size(bbto, 4096);
  rocksdb_block_based_options_set_cache_index_and_filter_blocks(bbto, 1);
  rocksdb_block_based_options_set_cache_index_and_filter_blocks_with_high_priority(bbto, 1);
  rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(bbto, 1);
  rocksdb_block_based_options_set_filter_policy(bbto, rocksdb_filterpolicy_create_bloom_full(10));
  /* Partitioned index and filters (as Kafka Streams' bounded-memory recipe):
   * a full filter or index of a large SST is one block of ~1 MB, bigger than
   * a block-cache shard (capacity / 64), so it would be read from the file on
   * every Get; partitions are metadata_block_size (4 KiB) pieces behind a small
   * top-level index that stays pinned. */
  rocksdb_block_based_options_set_index_type(bbto,
                                             rocksdb_block_based_table_index_type_two_level_index_search);
  rocksdb_block_based_options_set_partition_filters(bbto, 1);
  rocksdb_block_based_options_set_metadata_block_size(bbto, 4096);
  rocksdb_block_based_options_set_pin_top_level_index_and_filter(bbto, 1);
  rocksdb_options_set_block_based_table_factory(opts, bbto);
  rocksdb_block_based_options_destroy(bbto); /* the factory keeps its own copy */

  g_mutex_lock(&env->lock);
  /* the store about to open counts: size it for n+1 so it starts within budget */
  size_t w = wbs_for(env, env->dbs->len + 1);
  if (w > env->wbs) w = env->wbs;
  g_mutex_unlock(&env->lock);
  rocksdb_options_set_write_buffer_size(opts, w);
  rocksdb_options_set_arena_block_size(opts, arena_for(w));
  rocksdb_options_set_max_write_buffer_number(opts, MAX_WRITE_BUFFERS);
  rocksdb_options_set_min_write_buffer_number_to_merge(opts, 1);

  rocksdb_options_set_compression(opts, rocksdb_no_compression); /* as Kafka Streams */
  rocksdb_options_set_max_open_files(opts, MAX_OPEN_FILES);
  rocksdb_options_set_table_cache_numshardbits(opts, 0); /* 64 shards by default: ~30 KiB per store */
  rocksdb_options_set_writable_file_max_buffer_size(opts, FILE_BUFFER_BYTES);
  rocksdb_options_set_info_log_level(opts, 2 /* WARN */);
  rocksdb_options_set_keep_log_file_num(opts, 2);
  rocksdb_options_set_max_log_file_size(opts, 1u << 20);
  rocksdb_options_set_max_background_jobs(opts, 2);
  rocksdb_options_set_stats_dump_period_sec(opts, 0);
  rocksdb_options_set_stats_persist_period_sec(opts, 0);
  rocksdb_options_set_max_manifest_file_size(opts, 4u << 20);
  rocksdb_options_set_manifest_preallocation_size(opts, 64u << 10);

  if (env->config_setter) env->config_setter(store_name, opts, env->config_setter_opaque);
  return opts;
}

/* Called with env->lock held: applies W to every open store. */
static void redivide_locked(brook_state_env_t *env) {
  size_t w = wbs_for(env, env->dbs->len);
  if (w == env->wbs) return;
  char val[32], arena[32];
  g_snprintf(val, sizeof val, "%zu", w);
  g_snprintf(arena, sizeof arena, "%zu", arena_for(w));
  const char *keys[] = {"write_buffer_size", "arena_block_size"};
  const char *vals[] = {val, arena};
  for (guint i = 0; i < env->dbs->len; i++) {
    char *err = NULL;
    rocksdb_set_options(env->dbs->pdata[i], 2, keys, vals, &err);
    if (err) {
      brook_log(BROOK_LOG_WARNING, "state", "re-dividing the memtable budget: %s", err);
      rocksdb_free(err);
    }
  }
  brook_dbg("state",
            "memtable budget %" G_GUINT64_FORMAT " bytes over %u stores: write_buffer_size %zu -> %zu",
            env->memtable_budget, env->dbs->len, env->wbs, w);
  env->wbs = w;
  if (w == MIN_WBS && (uint64_t)env->dbs->len * MIN_WBS * MAX_WRITE_BUFFERS > env->memtable_budget &&
      !env->warned_floor) {
    env->warned_floor = true;
    brook_log(BROOK_LOG_WARNING, "state",
              "%u RocksDB stores open: memtables may use up to %u x 128 KiB, above half of "
              "rocksdb.total.memory.bytes (%" G_GUINT64_FORMAT "); raise it to keep within the budget",
              env->dbs->len, env->dbs->len, env->total_memory);
  }
}

void state_env_db_opened(brook_state_env_t *env, rocksdb_t *db) {
  g_mutex_lock(&env->lock);
  g_ptr_array_add(env->dbs, db);
  redivide_locked(env);
  g_mutex_unlock(&env->lock);
}

void state_env_db_closed(brook_state_env_t *env, rocksdb_t *db) {
  g_mutex_lock(&env->lock);
  if (!g_ptr_array_remove_fast(env->dbs, db))
    brook_log(BROOK_LOG_ERR, "state", "closing a RocksDB instance that was never registered");
  /* Growing W back only when the count halves keeps a close/open churn at the
   * boundary from re-dividing every time. */
  if (wbs_for(env, env->dbs->len) >= env->wbs * 2 || env->dbs->len == 0) redivide_locked(env);
  g_mutex_unlock(&env->lock);
}

const char *state_env_application_id(const brook_state_env_t *env) { return env->application_id; }

const char *state_env_state_dir(const brook_state_env_t *env) { return env->state_dir; }

uint64_t state_env_cache_max_bytes(const brook_state_env_t *env) { return env->cache_max_bytes; }

uint64_t state_env_cache_charge(brook_state_env_t *env, int64_t delta) {
  if (delta >= 0) return atomic_fetch_add(&env->cache_used, (uint64_t)delta) + (uint64_t)delta;
  return atomic_fetch_sub(&env->cache_used, (uint64_t)-delta) - (uint64_t)-delta;
}

char *state_changelog_topic(const brook_state_env_t *env, const char *store_name) {
  return g_strdup_printf("%s-%s-changelog", env->application_id, store_name);
}

void state_env_mem_get(brook_state_env_t *env, state_env_mem_t *mem) {
  g_mutex_lock(&env->lock);
  mem->write_buffer_size = env->wbs;
  mem->max_write_buffer_number = MAX_WRITE_BUFFERS;
  mem->open_dbs = env->dbs->len;
  g_mutex_unlock(&env->lock);
  mem->block_cache_capacity = env->block_cache_capacity;
  mem->block_cache_usage = rocksdb_cache_get_usage(env->block_cache);
  mem->memtable_budget = env->memtable_budget;
  uint64_t memtables = (uint64_t)mem->open_dbs * mem->write_buffer_size * MAX_WRITE_BUFFERS;
  if (memtables < env->memtable_budget) memtables = env->memtable_budget;
  mem->rocksdb_bound = env->block_cache_capacity + memtables;
}

brook_err_t state_rocksdb_err(char *rerr, const char *what, char *errstr, size_t errstr_size) {
  const char *msg = rerr ? rerr : "unknown RocksDB error";
  brook_err_t err = BROOK_ERR__IO;
  /* RocksDB's Status::ToString() prefixes: "Corruption: ", "IO error: No space
   * left on device", "IO error: While lock file: ... Resource temporarily
   * unavailable" (LOCK held by another process or DB instance). */
  if (g_str_has_prefix(msg, "Corruption") || strstr(msg, "corrupt") || strstr(msg, "Corrupt"))
    err = BROOK_ERR__CORRUPT;
  else if (strstr(msg, "No space left") || strstr(msg, "NoSpace") || strstr(msg, "ENOSPC"))
    err = BROOK_ERR__NOSPC;
  else if (strstr(msg, "lock file") || strstr(msg, "LOCK") || strstr(msg, "lock hold"))
    err = BROOK_ERR__LOCKED;
  else if (g_str_has_prefix(msg, "Invalid argument") && strstr(msg, "does not exist"))
    err = BROOK_ERR__NOENT;
  g_snprintf(errstr, errstr_size, "%s: %s", what, msg);
  brook_dbg("state", "%s: %s", what, msg);
  if (rerr) rocksdb_free(rerr);
  return err;
}
