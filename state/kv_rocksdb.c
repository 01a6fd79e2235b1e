/*
 * kv_rocksdb.c — the RocksDB key-value backend.
 *
 * Design note
 *   One rocksdb_t per store, at <task dir>/rocksdb/<store name>/, default
 *   column family, bytewise comparator, options from the environment
 *   (state_env_rocksdb_options: shared block cache, memtable share of the
 *   budget, user config setter last).
 *
 *   Durability: like Kafka Streams, logged stores write WITHOUT the WAL. The
 *   changelog is the log; what is on disk is what the last rocksdb_flush wrote,
 *   and the task checkpoint is only written after a flush, so a checkpointed
 *   offset never claims more than the SST files hold. After a crash the records
 *   after the checkpoint come back from the changelog (replaying a record the
 *   SSTs already hold is harmless: the changelog is the same writes in the same
 *   order). Unlogged stores keep the WAL (nothing else could bring them back).
 *   Restore writes never use the WAL.
 *
 *   Atomicity: every multi-key write is one WriteBatch; RocksDB publishes a
 *   batch's sequence number only after the whole batch is in the memtable, so a
 *   Get or an iterator (which reads an implicit snapshot taken when it is
 *   created) sees all of a batch or none of it — what views on other threads
 *   rely on.
 *
 *   Iterators: [from, to) is iterate_lower_bound/iterate_upper_bound, so
 *   SeekToFirst/SeekToLast land inside the range in both directions. Every live
 *   iterator is on the backend's list; close() destroys the RocksDB iterators
 *   still open (RocksDB must not be closed under one) and marks them dead: their
 *   next() returns false with status _STATE.
 *
 *   Lifetimes: get() pins the value in a pinnable slice (no copy) held until the
 *   next get(); iterator key/value pointers are RocksDB's, valid until the
 *   iterator moves.
 *
 * @locality the store's owner thread, except get_copy/range(shared)/iterator
 * calls from views, which run under b->lock held for reading (close takes it for
 * writing).
 */
#include <errno.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "state_int.h"

typedef struct rocks_iter rocks_iter_t;

typedef struct kv_rocks {
  state_kv_backend_t base;
  brook_state_env_t *env;
  char *path;
  char *name;
  rocksdb_t *db;
  rocksdb_options_t *opts;
  rocksdb_writeoptions_t *wo;
  rocksdb_writeoptions_t *wo_restore;
  rocksdb_readoptions_t *ro;
  rocksdb_flushoptions_t *fo;
  rocksdb_writebatch_t *batch;
  rocksdb_pinnableslice_t *pin;
  GMutex iters_lock;
  rocks_iter_t *iters; /* live iterators, doubly linked */
} kv_rocks_t;

struct rocks_iter {
  state_kv_iter_t base;
  kv_rocks_t *b;
  rocksdb_iterator_t *it;
  rocksdb_readoptions_t *ro;
  char *lower, *upper;
  bool reverse;
  bool started;
  bool dead;
  rocks_iter_t *prev, *next;
};

static kv_rocks_t *R(state_kv_backend_t *b) { return (kv_rocks_t *)b; }

/* ---- iterators ---- */

static bool iter_next(state_kv_iter_t *it_, const void **key, size_t *key_len, const void **value,
                      size_t *value_len) {
  rocks_iter_t *it = (rocks_iter_t *)it_;
  if (it->dead) return false;
  if (it->started) {
    if (!rocksdb_iter_valid(it->it)) return false;
    if (it->reverse)
      rocksdb_iter_prev(it->it);
    else
      rocksdb_iter_next(it->it);
  }
  it->started = true;
  if (!rocksdb_iter_valid(it->it)) return false;
  *key = rocksdb_iter_key(it->it, key_len);
  *value = rocksdb_iter_value(it->it, value_len);
  return true;
}

static brook_err_t iter_status(state_kv_iter_t *it_, char *errstr, size_t errstr_size) {
  rocks_iter_t *it = (rocks_iter_t *)it_;
  if (it->dead) {
    g_snprintf(errstr, errstr_size, "store %s was closed while the iterator was open", it->b->name);
    return BROOK_ERR__STATE;
  }
  char *err = NULL;
  rocksdb_iter_get_error(it->it, &err);
  if (err) return state_rocksdb_err(err, "iterating", errstr, errstr_size);
  return BROOK_ERR_NONE;
}

/* With iters_lock held. */
static void iter_kill(rocks_iter_t *it) {
  if (it->dead) return;
  rocksdb_iter_destroy(it->it);
  it->it = NULL;
  it->dead = true;
}

static void iter_destroy(state_kv_iter_t *it_) {
  rocks_iter_t *it = (rocks_iter_t *)it_;
  kv_rocks_t *b = it->b;
  g_mutex_lock(&b->iters_lock);
  if (it->prev)
    it->prev->next = it->next;
  else
    b->iters = it->next;
  if (it->next) it->next->prev = it->prev;
  iter_kill(it);
  g_mutex_unlock(&b->iters_lock);
  rocksdb_readoptions_destroy(it->ro);
  g_free(it->lower);
  g_free(it->upper);
  state_kv_backend_unref(&b->base);
  g_free(it);
}

static const state_kv_iter_ops_t rocks_iter_ops = {iter_next, iter_status, iter_destroy};

static state_kv_iter_t *kv_range(state_kv_backend_t *b_, const void *from, size_t from_len, const void *to,
                                 size_t to_len, bool reverse, bool shared) {
  kv_rocks_t *b = R(b_);
  rocks_iter_t *it = g_new0(rocks_iter_t, 1);
  it->base.ops = &rocks_iter_ops;
  it->b = b;
  atomic_fetch_add(&b->base.ref, 1);
  it->reverse = reverse;
  it->ro = rocksdb_readoptions_create();
  /* a scan should not push the hot working set out of the shared block cache
   * when it walks a whole store */
  if (!from && !to) rocksdb_readoptions_set_fill_cache(it->ro, 0);
  if (from) {
    it->lower = g_malloc(from_len + 1);
    if (from_len) memcpy(it->lower, from, from_len);
    rocksdb_readoptions_set_iterate_lower_bound(it->ro, it->lower, from_len);
  }
  if (to) {
    it->upper = g_malloc(to_len + 1);
    if (to_len) memcpy(it->upper, to, to_len);
    rocksdb_readoptions_set_iterate_upper_bound(it->ro, it->upper, to_len);
  }
  it->it = rocksdb_create_iterator(b->db, it->ro);
  if (reverse)
    rocksdb_iter_seek_to_last(it->it);
  else
    rocksdb_iter_seek_to_first(it->it);
  g_mutex_lock(&b->iters_lock);
  it->next = b->iters;
  if (b->iters) b->iters->prev = it;
  b->iters = it;
  g_mutex_unlock(&b->iters_lock);
  return &it->base;
}

/* ---- point operations ---- */

static brook_err_t kv_get(state_kv_backend_t *b_, const void *key, size_t key_len, const void **valuep,
                          size_t *value_lenp, char *errstr, size_t errstr_size) {
  kv_rocks_t *b = R(b_);
  if (b->pin) {
    rocksdb_pinnableslice_destroy(b->pin);
    b->pin = NULL;
  }
  char *err = NULL;
  b->pin = rocksdb_get_pinned(b->db, b->ro, key, key_len, &err);
  if (err) return state_rocksdb_err(err, "get", errstr, errstr_size);
  if (!b->pin) return BROOK_ERR__NOENT;
  *valuep = rocksdb_pinnableslice_value(b->pin, value_lenp);
  return BROOK_ERR_NONE;
}

static brook_err_t kv_get_copy(state_kv_backend_t *b_, const void *key, size_t key_len, void **valuep,
                               size_t *value_lenp, char *errstr, size_t errstr_size) {
  kv_rocks_t *b = R(b_);
  char *err = NULL;
  size_t len = 0;
  char *v = rocksdb_get(b->db, b->ro, key, key_len, &len, &err);
  if (err) return state_rocksdb_err(err, "get", errstr, errstr_size);
  if (!v) return BROOK_ERR__NOENT;
  *valuep = v;
  *value_lenp = len;
  return BROOK_ERR_NONE;
}

static brook_err_t kv_write(state_kv_backend_t *b_, const state_kv_op_t *ops, size_t n, bool restore,
                            char *errstr, size_t errstr_size) {
  kv_rocks_t *b = R(b_);
  rocksdb_writebatch_clear(b->batch);
  for (size_t i = 0; i < n; i++) {
    if (ops[i].value)
      rocksdb_writebatch_put(b->batch, ops[i].key, ops[i].key_len, ops[i].value, ops[i].value_len);
    else
      rocksdb_writebatch_delete(b->batch, ops[i].key, ops[i].key_len);
  }
  char *err = NULL;
  rocksdb_write(b->db, restore ? b->wo_restore : b->wo, b->batch, &err);
  rocksdb_writebatch_clear(b->batch);
  if (err) return state_rocksdb_err(err, restore ? "restore write" : "write", errstr, errstr_size);
  return BROOK_ERR_NONE;
}

static brook_err_t kv_put(state_kv_backend_t *b_, const void *key, size_t key_len, const void *value,
                          size_t value_len, char *errstr, size_t errstr_size) {
  kv_rocks_t *b = R(b_);
  char *err = NULL;
  if (value)
    rocksdb_put(b->db, b->wo, key, key_len, value, value_len, &err);
  else
    rocksdb_delete(b->db, b->wo, key, key_len, &err);
  if (err) return state_rocksdb_err(err, value ? "put" : "delete", errstr, errstr_size);
  return BROOK_ERR_NONE;
}

static uint64_t kv_approximate_count(state_kv_backend_t *b_) {
  uint64_t n = 0;
  if (rocksdb_property_int(R(b_)->db, "rocksdb.estimate-num-keys", &n) != 0) return 0;
  return n;
}

static brook_err_t kv_flush(state_kv_backend_t *b_, char *errstr, size_t errstr_size) {
  kv_rocks_t *b = R(b_);
  char *err = NULL;
  rocksdb_flush(b->db, b->fo, &err);
  if (err) return state_rocksdb_err(err, "flush", errstr, errstr_size);
  return BROOK_ERR_NONE;
}

static void kv_close(state_kv_backend_t *b_) {
  kv_rocks_t *b = R(b_);
  if (!b->db) return;
  g_mutex_lock(&b->iters_lock);
  for (rocks_iter_t *it = b->iters; it; it = it->next) iter_kill(it);
  g_mutex_unlock(&b->iters_lock);
  if (b->pin) rocksdb_pinnableslice_destroy(b->pin);
  b->pin = NULL;
  state_env_db_closed(b->env, b->db);
  rocksdb_close(b->db); /* flushes memtables written without the WAL */
  b->db = NULL;
  brook_dbg("state", "store %s closed (%s)", b->name, b->path);
}

static void kv_free(state_kv_backend_t *b_) {
  kv_rocks_t *b = R(b_);
  g_assert(!b->db);
  rocksdb_writebatch_destroy(b->batch);
  rocksdb_writeoptions_destroy(b->wo);
  rocksdb_writeoptions_destroy(b->wo_restore);
  rocksdb_readoptions_destroy(b->ro);
  rocksdb_flushoptions_destroy(b->fo);
  rocksdb_options_destroy(b->opts);
  g_mutex_clear(&b->iters_lock);
  g_rw_lock_clear(&b->base.lock);
  g_free(b->path);
  g_free(b->name);
  g_free(b);
}

static const state_kv_backend_ops_t rocks_ops = {
    kv_get, kv_get_copy, kv_write, kv_put, kv_range, kv_approximate_count, kv_flush, kv_close, kv_free,
};

brook_err_t state_kv_rocksdb_open(brook_state_env_t *env, const char *path, const char *store_name, bool wal,
                                  state_kv_backend_t **bp, char *errstr, size_t errstr_size) {
  *bp = NULL;
  char *parent = g_path_get_dirname(path);
  if (g_mkdir_with_parents(parent, 0755) != 0) {
    int e = errno;
    g_snprintf(errstr, errstr_size, "creating %s: %s", parent, g_strerror(e));
    g_free(parent);
    return e == ENOSPC ? BROOK_ERR__NOSPC : BROOK_ERR__IO;
  }
  g_free(parent);
  rocksdb_options_t *opts = state_env_rocksdb_options(env, store_name);
  char *err = NULL;
  rocksdb_t *db = rocksdb_open(opts, path, &err);
  if (err) {
    rocksdb_options_destroy(opts);
    char what[512];
    g_snprintf(what, sizeof what, "opening store %s at %s", store_name, path);
    return state_rocksdb_err(err, what, errstr, errstr_size);
  }
  kv_rocks_t *b = g_new0(kv_rocks_t, 1);
  b->base.ops = &rocks_ops;
  atomic_init(&b->base.ref, 1);
  g_rw_lock_init(&b->base.lock);
  b->env = env;
  b->path = g_strdup(path);
  b->name = g_strdup(store_name);
  b->db = db;
  b->opts = opts;
  b->wo = rocksdb_writeoptions_create();
  rocksdb_writeoptions_disable_WAL(b->wo, wal ? 0 : 1);
  b->wo_restore = rocksdb_writeoptions_create();
  rocksdb_writeoptions_disable_WAL(b->wo_restore, 1);
  b->ro = rocksdb_readoptions_create();
  b->fo = rocksdb_flushoptions_create();
  rocksdb_flushoptions_set_wait(b->fo, 1);
  b->batch = rocksdb_writebatch_create();
  g_mutex_init(&b->iters_lock);
  state_env_db_opened(env, db);
  brook_dbg("state", "store %s open at %s (WAL %s)", store_name, path, wal ? "on" : "off");
  *bp = &b->base;
  return BROOK_ERR_NONE;
}

bool state_kv_rocksdb_exists(const char *path) {
  char *current = g_build_filename(path, "CURRENT", NULL);
  bool ok = g_file_test(current, G_FILE_TEST_EXISTS);
  g_free(current);
  return ok;
}

static int rm_one(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf) {
  (void)sb;
  (void)ftwbuf;
  int rc = typeflag == FTW_DP ? rmdir(fpath) : unlink(fpath);
  return rc != 0 && errno != ENOENT ? errno : 0;
}

brook_err_t state_kv_rocksdb_wipe(brook_state_env_t *env, const char *path, const char *store_name,
                                  char *errstr, size_t errstr_size) {
  (void)env;
  /* Not rocksdb_destroy_db: it must read the store, and a store being wiped is
   * often one that does not open (corrupt, or half-written by a crash). */
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) return BROOK_ERR_NONE;
  int e = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  if (e != 0) {
    if (e < 0) e = errno;
    g_snprintf(errstr, errstr_size, "wiping store %s at %s: %s", store_name, path, g_strerror(e));
    return BROOK_ERR__IO;
  }
  return BROOK_ERR_NONE;
}

void state_kv_backend_unref(state_kv_backend_t *b) {
  if (b && atomic_fetch_sub(&b->ref, 1) == 1) b->ops->free(b);
}
