/*
 * kv_store.c — the key-value store: what every variant shares on top of a
 * backend (kv_rocksdb.c, kv_memory.c): timestamps, changelog, record cache,
 * forwarding, restore, offsets/checkpoints and views.
 *
 * Design note
 *   Write path, uncached:   put ─▶ [old value, if a listener] ─▶ sink.send
 *                                ─▶ backend put/write ─▶ listener(new, old)
 *   Write path, cached:     put ─▶ cache (dirty) …  flush/evict ─▶ write_through
 *                                (the same three steps, one batch per round)
 *   A sink failure stops the write before the backend sees it (the contract in
 *   brook_state.h); for a batch, records already handed to the sink stay
 *   handed (the task fails and restores; at-least-once).
 *
 *   Stored values: plain stores store the value; timestamped stores store
 *   [8-byte BE timestamp][value] in the backend AND in the cache, so one decoder
 *   serves every read path. The changelog gets the plain value and the record
 *   timestamp, so restore re-encodes from the record (as Kafka Streams'
 *   timestamped changelog restore does).
 *
 *   Restore point (decided at open, see brook_kv_store.h):
 *       logged RocksDB store:  checkpoint entry present AND store exists ─▶ X = entry
 *                              otherwise ─▶ wipe local files, X = 0
 *       logged in-memory:      X = 0;   unlogged: X = -1 (never wiped)
 *   restore() applies one WriteBatch per call without the WAL and moves the
 *   offset to last + 1; the owner flushes and checkpoints when done.
 *
 *   Old values: the listener gets the value the backend held before the
 *   write. An aggregation reads a key and then writes it, so the store
 *   remembers its last backend get (key, value or absent: the "memo"); any
 *   other backend call forgets it (memo_forget), so while it is valid it is
 *   still the backend's current value for that key and write_through takes
 *   the old value from it instead of a second get. Views (other threads) only
 *   read and do not invalidate it.
 *
 *   Reads merge: get looks in the cache first (a cached delete hides the store's
 *   value), then the backend (caching what it read as a clean entry). Range
 *   iterators merge the backend iterator with a snapshot of the cache's entries
 *   in the range; on equal keys the cache wins; cached deletes hide keys.
 *
 *   Views (other threads) hold a reference on the backend, not on the store:
 *   each call takes backend->lock for reading and fails with _STATE once the
 *   store has closed (close takes the lock for writing). They read the backend
 *   only, never the owner's cache.
 *
 * @locality store functions: the owner thread; view functions: any thread.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "brook_kv_store.h"
#include "state_int.h"

typedef struct old_ref {
  size_t off, len;
  bool present;
} old_ref_t;

struct brook_kv_store {
  brook_state_env_t *env;
  brook_task_dir_t *dir;
  char *name;
  char *topic;
  int32_t partition;
  bool logged, timestamped, in_memory;
  brook_changelog_sink_t sink;
  state_kv_backend_t *b;
  state_cache_t *cache;
  brook_cache_flush_listener_t listener;
  bool has_listener;
  int64_t restore_start;
  int64_t offset;
  bool wiped;
  brook_restore_progress_t progress;
  gint64 restore_t0;
  GByteArray *vbuf;   /* encoded values of the write in progress */
  GByteArray *oldbuf; /* old values for the listener */
  GByteArray *retbuf; /* values returned by delete */
  GArray *olds;       /* old_ref_t */
  GArray *ops;        /* state_kv_op_t */
  GArray *dirty;      /* state_cache_dirty_t, uncached put_all */
  /* The last backend get (see "Old values" in the design note): valid while
   * no other backend call was made since; memo_val is the backend's borrowed
   * pointer (valid exactly that long). */
  GByteArray *memo_key;
  bool memo_valid, memo_present;
  const void *memo_val;
  size_t memo_len;
  char errstr[512];
};

/* ---- encoding ---- */

static int64_t get_be64(const unsigned char *p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = (u << 8) | p[i];
  return (int64_t)u;
}

static void put_be64(unsigned char *p, int64_t v) {
  uint64_t u = (uint64_t)v;
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(u >> (56 - 8 * i));
}

/* Appends the stored form of value to vbuf; returns its offset. */
static size_t encode_append(brook_kv_store_t *store, const void *value, size_t value_len, int64_t ts) {
  size_t off = store->vbuf->len;
  g_byte_array_set_size(store->vbuf, (guint)(off + 8 + value_len));
  put_be64(store->vbuf->data + off, ts);
  if (value_len) memcpy(store->vbuf->data + off + 8, value, value_len);
  return off;
}

/* Stored form → plain value (+ timestamp). False when a timestamped value is
 * too short to hold its timestamp. */
static bool decode(bool timestamped, const void *sv, size_t svlen, const void **v, size_t *vlen,
                   int64_t *ts) {
  if (!timestamped) {
    *v = sv;
    *vlen = svlen;
    if (ts) *ts = -1;
    return true;
  }
  if (svlen < 8) return false;
  *v = (const unsigned char *)sv + 8;
  *vlen = svlen - 8;
  if (ts) *ts = get_be64(sv);
  return true;
}

static brook_err_t set_err(brook_kv_store_t *store, brook_err_t err, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static brook_err_t set_err(brook_kv_store_t *store, brook_err_t err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  g_vsnprintf(store->errstr, sizeof store->errstr, fmt, ap);
  va_end(ap);
  return err;
}

static brook_err_t corrupt_value(brook_kv_store_t *store) {
  return set_err(store, BROOK_ERR__CORRUPT, "store %s: timestamped value shorter than its 8-byte timestamp",
                 store->name);
}

/* ---- the last-get memo ---- */

static void memo_forget(brook_kv_store_t *store) { store->memo_valid = false; }

static void memo_set(brook_kv_store_t *store, const void *key, size_t key_len, brook_err_t err, const void *sv,
                     size_t svlen) {
  if (err != BROOK_ERR_NONE && err != BROOK_ERR__NOENT) {
    memo_forget(store);
    return;
  }
  g_byte_array_set_size(store->memo_key, 0);
  g_byte_array_append(store->memo_key, key, (guint)key_len);
  store->memo_valid = true;
  store->memo_present = err == BROOK_ERR_NONE;
  store->memo_val = store->memo_present ? sv : NULL;
  store->memo_len = store->memo_present ? svlen : 0;
}

static bool memo_hit(const brook_kv_store_t *store, const void *key, size_t key_len) {
  return store->memo_valid && store->memo_key->len == key_len &&
         (key_len == 0 || memcmp(store->memo_key->data, key, key_len) == 0);
}

/* ---- write through: sink, backend, listener ---- */

static brook_err_t sink_send(brook_kv_store_t *store, const void *key, size_t key_len, const void *sv,
                             size_t svlen, int64_t ts, char *errstr, size_t errstr_size) {
  if (!store->logged) return BROOK_ERR_NONE;
  const void *v = NULL;
  size_t vlen = 0;
  if (sv && !decode(store->timestamped, sv, svlen, &v, &vlen, NULL)) {
    g_snprintf(errstr, errstr_size, "store %s: malformed timestamped value", store->name);
    return BROOK_ERR__CORRUPT;
  }
  brook_err_t err =
      store->sink.send(store->sink.opaque, store->topic, store->partition, key, key_len, v, vlen, ts);
  if (err)
    g_snprintf(errstr, errstr_size, "changelog sink refused a record for %s [%d]: %s", store->topic,
               (int)store->partition, brook_err_str(err));
  return err;
}

/* Writes entries (stored form) to sink and backend as one atomic write, then
 * calls the listener with old and new values. */
static brook_err_t write_through(brook_kv_store_t *store, const state_cache_dirty_t *e, size_t n,
                                 char *errstr, size_t errstr_size) {
  state_kv_backend_t *b = store->b;
  brook_err_t err;
  if (store->has_listener) {
    g_byte_array_set_size(store->oldbuf, 0);
    g_array_set_size(store->olds, 0);
    for (size_t i = 0; i < n; i++) {
      const void *ov = NULL;
      size_t olen = 0;
      old_ref_t r = {store->oldbuf->len, 0, false};
      if (memo_hit(store, e[i].key, e[i].key_len)) {
        err = store->memo_present ? BROOK_ERR_NONE : BROOK_ERR__NOENT;
        ov = store->memo_val;
        olen = store->memo_len;
      } else {
        memo_forget(store);
        err = b->ops->get(b, e[i].key, e[i].key_len, &ov, &olen, errstr, errstr_size);
      }
      if (err == BROOK_ERR_NONE) {
        r.present = true;
        r.len = olen;
        g_byte_array_append(store->oldbuf, ov, (guint)olen);
      } else if (err != BROOK_ERR__NOENT) {
        return err;
      }
      g_array_append_val(store->olds, r);
    }
  }
  for (size_t i = 0; i < n; i++)
    if ((err = sink_send(store, e[i].key, e[i].key_len, e[i].value, e[i].value_len, e[i].timestamp, errstr,
                         errstr_size)))
      return err;
  memo_forget(store);
  if (n == 1) {
    err = b->ops->put(b, e[0].key, e[0].key_len, e[0].value, e[0].value_len, errstr, errstr_size);
  } else {
    g_array_set_size(store->ops, (guint)n);
    state_kv_op_t *ops = (state_kv_op_t *)(void *)store->ops->data;
    for (size_t i = 0; i < n; i++)
      ops[i] = (state_kv_op_t){e[i].key, e[i].key_len, e[i].value, e[i].value_len};
    err = b->ops->write(b, ops, n, false, errstr, errstr_size);
  }
  if (err) return err;
  if (store->has_listener) {
    for (size_t i = 0; i < n; i++) {
      old_ref_t *r = &g_array_index(store->olds, old_ref_t, i);
      const void *nv = NULL, *ov = NULL;
      size_t nlen = 0, olen = 0;
      int64_t ots;
      if (e[i].value) decode(store->timestamped, e[i].value, e[i].value_len, &nv, &nlen, NULL);
      if (r->present && !decode(store->timestamped, store->oldbuf->data + r->off, r->len, &ov, &olen, &ots)) {
        ov = store->oldbuf->data + r->off; /* malformed old value: hand it over raw */
        olen = r->len;
      }
      store->listener.apply(store->listener.opaque, e[i].key, e[i].key_len, nv, nlen, ov, olen,
                            e[i].timestamp);
    }
  }
  return BROOK_ERR_NONE;
}

static brook_err_t cache_write(void *opaque, const state_cache_dirty_t *entries, size_t n, char *errstr,
                               size_t errstr_size) {
  return write_through(opaque, entries, n, errstr, errstr_size);
}

/* ---- open / close ---- */

static bool name_ok(const char *name) {
  if (!name || !*name || strlen(name) > 200 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return false;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-') return false;
  return true;
}

brook_err_t brook_kv_store_open(brook_state_env_t *env, brook_task_dir_t *dir, const brook_store_opts_t *opts,
                                unsigned flags, brook_kv_store_t **storep, char *errstr, size_t errstr_size) {
  *storep = NULL;
  if (!name_ok(opts->name)) {
    g_snprintf(
        errstr, errstr_size,
        "store name \"%s\" is invalid: it becomes part of a topic name, so use only ASCII letters, digits, "
        "'.', '_' and '-' (at most 200)",
        opts->name ? opts->name : "");
    return BROOK_ERR__BAD_CONFIG;
  }
  if (!opts->in_memory && !dir) {
    g_snprintf(errstr, errstr_size, "store %s: a RocksDB store needs a task directory", opts->name);
    return BROOK_ERR__BAD_CONFIG;
  }
  if (opts->logged && !opts->sink.send) {
    g_snprintf(errstr, errstr_size, "store %s: logged but no changelog sink", opts->name);
    return BROOK_ERR__BAD_CONFIG;
  }
  brook_kv_store_t *store = g_new0(brook_kv_store_t, 1);
  store->env = env;
  store->dir = dir;
  store->name = g_strdup(opts->name);
  store->topic = state_changelog_topic(env, opts->name);
  store->partition = opts->partition;
  store->logged = opts->logged;
  store->timestamped = (flags & BROOK_KV_TIMESTAMPED) != 0;
  store->in_memory = opts->in_memory;
  store->sink = opts->sink;
  store->restore_start = -1;
  store->offset = -1;
  store->vbuf = g_byte_array_new();
  store->oldbuf = g_byte_array_new();
  store->retbuf = g_byte_array_new();
  store->olds = g_array_new(FALSE, FALSE, sizeof(old_ref_t));
  store->ops = g_array_new(FALSE, FALSE, sizeof(state_kv_op_t));
  store->dirty = g_array_new(FALSE, FALSE, sizeof(state_cache_dirty_t));
  store->memo_key = g_byte_array_new();

  brook_err_t err = BROOK_ERR_NONE;
  if (opts->in_memory) {
    store->b = state_kv_memory_new();
    if (store->logged) store->restore_start = 0;
  } else {
    char *path = state_task_dir_store_path(dir, opts->name);
    if (store->logged) {
      int64_t ck = brook_task_dir_checkpoint_get(dir, store->topic, store->partition);
      bool exists = state_kv_rocksdb_exists(path);
      if (ck >= 0 && exists) {
        store->restore_start = ck;
      } else {
        store->restore_start = 0;
        if (g_file_test(path, G_FILE_TEST_EXISTS)) {
          brook_log(BROOK_LOG_INFO, "state",
                    "store %s: no checkpoint for %s [%d] (unclean shutdown): wiping %s for a full restore",
                    opts->name, store->topic, (int)store->partition, path);
          err = state_kv_rocksdb_wipe(env, path, opts->name, errstr, errstr_size);
          store->wiped = true;
        }
        /* a stale entry (store files gone) must not survive into the next checkpoint */
        if (ck >= 0) brook_task_dir_checkpoint_set(dir, store->topic, store->partition, -1);
      }
      store->offset = store->restore_start;
    }
    if (!err)
      err = state_kv_rocksdb_open(env, path, opts->name, !store->logged, &store->b, errstr, errstr_size);
    g_free(path);
  }
  if (err) {
    store->b = NULL;
    brook_kv_store_close(store);
    return err;
  }
  if (opts->cached && state_env_cache_max_bytes(env) > 0)
    store->cache = state_cache_new(env, opts->name, cache_write, store);
  *storep = store;
  return BROOK_ERR_NONE;
}

void brook_kv_store_close(brook_kv_store_t *store) {
  if (!store) return;
  if (store->cache) {
    char e[512];
    if (state_cache_flush(store->cache, e, sizeof e))
      brook_log(BROOK_LOG_ERR, "state",
                "store %s: flushing the cache at close: %s (unflushed writes dropped)", store->name, e);
    state_cache_destroy(store->cache);
  }
  if (store->b) {
    g_rw_lock_writer_lock(&store->b->lock);
    store->b->closed = true;
    memo_forget(store);
    store->b->ops->close(store->b);
    g_rw_lock_writer_unlock(&store->b->lock);
    state_kv_backend_unref(store->b);
  }
  g_byte_array_free(store->vbuf, TRUE);
  g_byte_array_free(store->oldbuf, TRUE);
  g_byte_array_free(store->retbuf, TRUE);
  g_array_free(store->olds, TRUE);
  g_array_free(store->ops, TRUE);
  g_array_free(store->dirty, TRUE);
  g_byte_array_free(store->memo_key, TRUE);
  g_free(store->name);
  g_free(store->topic);
  g_free(store);
}

const char *brook_kv_store_name(const brook_kv_store_t *store) { return store->name; }
const char *brook_kv_store_changelog_topic(const brook_kv_store_t *store) { return store->topic; }
const char *brook_kv_store_errstr(const brook_kv_store_t *store) { return store->errstr; }
bool brook_kv_store_is_cached(const brook_kv_store_t *store) { return store->cache != NULL; }

/* ---- reads ---- */

/* The stored form of key's value: cache, then backend. */
static brook_err_t read_stored(brook_kv_store_t *store, const void *key, size_t key_len, const void **sv,
                               size_t *svlen, int64_t *cts) {
  if (store->cache) {
    if (state_cache_get(store->cache, key, key_len, sv, svlen, cts))
      return *sv ? BROOK_ERR_NONE : BROOK_ERR__NOENT;
  }
  brook_err_t err =
      store->b->ops->get(store->b, key, key_len, sv, svlen, store->errstr, sizeof store->errstr);
  memo_set(store, key, key_len, err, err ? NULL : *sv, err ? 0 : *svlen);
  if (store->cache && (err == BROOK_ERR_NONE || err == BROOK_ERR__NOENT)) {
    int64_t ts = -1;
    if (err == BROOK_ERR_NONE && store->timestamped && *svlen >= 8) ts = get_be64(*sv);
    state_cache_put_clean(store->cache, key, key_len, err ? NULL : *sv, err ? 0 : *svlen, ts);
  }
  return err;
}

brook_err_t brook_kv_store_get(brook_kv_store_t *store, const void *key, size_t key_len, const void **valuep,
                               size_t *value_lenp, int64_t *timestampp) {
  const void *sv;
  size_t svlen;
  brook_err_t err = read_stored(store, key, key_len, &sv, &svlen, NULL);
  if (err) return err;
  if (!decode(store->timestamped, sv, svlen, valuep, value_lenp, timestampp)) return corrupt_value(store);
  return BROOK_ERR_NONE;
}

/* ---- writes ---- */

/* One write in stored form: into the cache, or through. */
static brook_err_t write_one(brook_kv_store_t *store, const void *key, size_t key_len, const void *sv,
                             size_t svlen, int64_t ts) {
  if (store->cache)
    return state_cache_put(store->cache, key, key_len, sv, svlen, ts, store->errstr, sizeof store->errstr);
  state_cache_dirty_t e = {key, key_len, sv, svlen, ts};
  return write_through(store, &e, 1, store->errstr, sizeof store->errstr);
}

brook_err_t brook_kv_store_put(brook_kv_store_t *store, const void *key, size_t key_len, const void *value,
                               size_t value_len, int64_t timestamp) {
  if (value && store->timestamped) {
    g_byte_array_set_size(store->vbuf, 0);
    size_t off = encode_append(store, value, value_len, timestamp);
    return write_one(store, key, key_len, store->vbuf->data + off, value_len + 8, timestamp);
  }
  return write_one(store, key, key_len, value, value_len, timestamp);
}

brook_err_t brook_kv_store_put_if_absent(brook_kv_store_t *store, const void *key, size_t key_len,
                                         const void *value, size_t value_len, int64_t timestamp,
                                         const void **existingp, size_t *existing_lenp) {
  const void *sv;
  size_t svlen;
  brook_err_t err = read_stored(store, key, key_len, &sv, &svlen, NULL);
  if (err == BROOK_ERR_NONE) {
    const void *v;
    size_t vlen;
    if (!decode(store->timestamped, sv, svlen, &v, &vlen, NULL)) return corrupt_value(store);
    if (existingp) *existingp = v;
    if (existing_lenp) *existing_lenp = vlen;
    return BROOK_ERR_NONE;
  }
  if (err != BROOK_ERR__NOENT) return err;
  if (existingp) *existingp = NULL;
  if (existing_lenp) *existing_lenp = 0;
  return brook_kv_store_put(store, key, key_len, value, value_len, timestamp);
}

brook_err_t brook_kv_store_delete(brook_kv_store_t *store, const void *key, size_t key_len, int64_t timestamp,
                                  const void **oldp, size_t *old_lenp) {
  const void *sv;
  size_t svlen;
  bool had = false;
  brook_err_t err = read_stored(store, key, key_len, &sv, &svlen, NULL);
  if (err == BROOK_ERR_NONE) {
    had = true;
    /* copy: the write below may free what sv points into */
    g_byte_array_set_size(store->retbuf, 0);
    g_byte_array_append(store->retbuf, sv, (guint)svlen);
  } else if (err != BROOK_ERR__NOENT) {
    return err;
  }
  err = write_one(store, key, key_len, NULL, 0, timestamp);
  if (err) return err;
  const void *v = NULL;
  size_t vlen = 0;
  if (had && !decode(store->timestamped, store->retbuf->data, store->retbuf->len, &v, &vlen, NULL))
    return corrupt_value(store);
  if (oldp) *oldp = v;
  if (old_lenp) *old_lenp = vlen;
  return BROOK_ERR_NONE;
}

brook_err_t brook_kv_store_put_all(brook_kv_store_t *store, const brook_kv_entry_t *entries, size_t n) {
  if (n == 0) return BROOK_ERR_NONE;
  if (store->cache) {
    for (size_t i = 0; i < n; i++) {
      brook_err_t err = brook_kv_store_put(store, entries[i].key, entries[i].key_len, entries[i].value,
                                           entries[i].value_len, entries[i].timestamp);
      if (err) return err;
    }
    return BROOK_ERR_NONE;
  }
  /* encode every value first (vbuf may move while it grows), then point */
  g_byte_array_set_size(store->vbuf, 0);
  g_array_set_size(store->dirty, (guint)n);
  state_cache_dirty_t *d = (state_cache_dirty_t *)(void *)store->dirty->data;
  size_t *offs = store->timestamped ? g_new(size_t, n) : NULL;
  for (size_t i = 0; i < n; i++) {
    d[i] = (state_cache_dirty_t){entries[i].key, entries[i].key_len, entries[i].value, entries[i].value_len,
                                 entries[i].timestamp};
    if (offs && entries[i].value)
      offs[i] = encode_append(store, entries[i].value, entries[i].value_len, entries[i].timestamp);
  }
  if (offs) {
    for (size_t i = 0; i < n; i++)
      if (entries[i].value) {
        d[i].value = store->vbuf->data + offs[i];
        d[i].value_len = entries[i].value_len + 8;
      }
    g_free(offs);
  }
  return write_through(store, d, n, store->errstr, sizeof store->errstr);
}

uint64_t brook_kv_store_approximate_count(brook_kv_store_t *store) {
  memo_forget(store);
  return store->b->ops->approximate_count(store->b);
}

void brook_kv_store_set_flush_listener(brook_kv_store_t *store,
                                       const brook_cache_flush_listener_t *listener) {
  store->has_listener = listener && listener->apply;
  if (store->has_listener) store->listener = *listener;
}

/* ---- iterators ---- */

struct brook_kv_iter {
  state_kv_backend_t *b; /* referenced */
  state_kv_iter_t *bit;
  bool view, timestamped, reverse;
  state_cache_snap_t snap;
  size_t spos;
  bool have_b, b_done;
  const void *bk, *bv;
  size_t bkl, bvl;
  brook_err_t err;
  char errstr[256];
};

static brook_kv_iter_t *iter_new(state_kv_backend_t *b, state_cache_t *cache, bool view, bool timestamped,
                                 const void *from, size_t from_len, const void *to, size_t to_len,
                                 bool reverse) {
  brook_kv_iter_t *it = g_new0(brook_kv_iter_t, 1);
  atomic_fetch_add(&b->ref, 1);
  it->b = b;
  it->view = view;
  it->timestamped = timestamped;
  it->reverse = reverse;
  if (view) {
    g_rw_lock_reader_lock(&b->lock);
    if (b->closed) {
      it->err = BROOK_ERR__STATE;
      g_snprintf(it->errstr, sizeof it->errstr, "the store is closed");
    } else {
      it->bit = b->ops->range(b, from, from_len, to, to_len, reverse, true);
    }
    g_rw_lock_reader_unlock(&b->lock);
  } else {
    it->bit = b->ops->range(b, from, from_len, to, to_len, reverse, false);
    if (cache) {
      state_cache_snapshot(cache, from, from_len, to, to_len, &it->snap);
      for (size_t i = 0; reverse && i < it->snap.n / 2; i++) { /* merge walks both in the same direction */
        state_cache_snap_entry_t t = it->snap.entries[i];
        it->snap.entries[i] = it->snap.entries[it->snap.n - 1 - i];
        it->snap.entries[it->snap.n - 1 - i] = t;
      }
    }
  }
  return it;
}

brook_kv_iter_t *brook_kv_store_range(brook_kv_store_t *store, const void *from, size_t from_len,
                                      const void *to, size_t to_len, bool reverse) {
  memo_forget(store);
  return iter_new(store->b, store->cache, false, store->timestamped, from, from_len, to, to_len, reverse);
}

/* The smallest key greater than every key starting with prefix: prefix with
 * trailing 0xff bytes dropped and the last byte incremented; NULL (unbounded)
 * when the prefix is all 0xff. (transfer full: g_free) */
static unsigned char *prefix_end(const void *prefix, size_t len, size_t *end_len) {
  const unsigned char *p = prefix;
  while (len > 0 && p[len - 1] == 0xff) len--;
  if (len == 0) return NULL;
  unsigned char *e = g_memdup2(p, len);
  e[len - 1]++;
  *end_len = len;
  return e;
}

brook_kv_iter_t *brook_kv_store_prefix(brook_kv_store_t *store, const void *prefix, size_t prefix_len) {
  size_t end_len = 0;
  unsigned char *end = prefix_end(prefix, prefix_len, &end_len);
  brook_kv_iter_t *it =
      brook_kv_store_range(store, prefix_len ? prefix : NULL, prefix_len, end, end_len, false);
  g_free(end);
  return it;
}

brook_kv_iter_t *brook_kv_store_all(brook_kv_store_t *store, bool reverse) {
  return brook_kv_store_range(store, NULL, 0, NULL, 0, reverse);
}

/* Next entry of the merge, stored form. */
static bool merge_next(brook_kv_iter_t *it, const void **k, size_t *kl, const void **sv, size_t *svl) {
  for (;;) {
    if (!it->have_b && !it->b_done) {
      if (it->bit && it->bit->ops->next(it->bit, &it->bk, &it->bkl, &it->bv, &it->bvl)) {
        it->have_b = true;
      } else {
        it->b_done = true;
        if (it->bit) it->err = it->bit->ops->status(it->bit, it->errstr, sizeof it->errstr);
        if (it->err) return false;
      }
    }
    state_cache_snap_entry_t *s = it->spos < it->snap.n ? &it->snap.entries[it->spos] : NULL;
    if (!it->have_b && !s) return false;
    int c = 0;
    if (s && it->have_b) {
      c = state_bytes_cmp(s->key->data, s->key->len, it->bk, it->bkl);
      if (it->reverse) c = -c;
    }
    if (s && (!it->have_b || c <= 0)) {
      if (c == 0 && it->have_b) it->have_b = false; /* the cache's entry replaces the store's */
      it->spos++;
      if (!s->value) continue; /* deleted in the cache */
      *k = s->key->data;
      *kl = s->key->len;
      *sv = s->value->data;
      *svl = s->value->len;
      return true;
    }
    /* hand out the backend entry; advance past it on the next call, so the
     * pointers stay valid until then */
    it->have_b = false;
    *k = it->bk;
    *kl = it->bkl;
    *sv = it->bv;
    *svl = it->bvl;
    return true;
  }
}

bool brook_kv_iter_next(brook_kv_iter_t *it, const void **key, size_t *key_len, const void **value,
                        size_t *value_len, int64_t *timestampp) {
  if (it->err) return false;
  if (it->view) {
    g_rw_lock_reader_lock(&it->b->lock);
    if (it->b->closed) {
      it->err = BROOK_ERR__STATE;
      g_snprintf(it->errstr, sizeof it->errstr, "the store was closed while the iterator was open");
      g_rw_lock_reader_unlock(&it->b->lock);
      return false;
    }
  }
  const void *sv;
  size_t svl, vl;
  bool ok = merge_next(it, key, key_len, &sv, &svl);
  if (ok && !decode(it->timestamped, sv, svl, value, &vl, timestampp)) {
    it->err = BROOK_ERR__CORRUPT;
    g_snprintf(it->errstr, sizeof it->errstr, "timestamped value shorter than its 8-byte timestamp");
    ok = false;
  }
  if (ok && value_len) *value_len = vl;
  if (it->view) g_rw_lock_reader_unlock(&it->b->lock);
  return ok;
}

brook_err_t brook_kv_iter_err(brook_kv_iter_t *it, char *errstr, size_t errstr_size) {
  if (it->err) g_snprintf(errstr, errstr_size, "%s", it->errstr);
  return it->err;
}

void brook_kv_iter_destroy(brook_kv_iter_t *it) {
  if (!it) return;
  if (it->bit) {
    if (it->view) g_rw_lock_reader_lock(&it->b->lock);
    it->bit->ops->destroy(it->bit);
    if (it->view) g_rw_lock_reader_unlock(&it->b->lock);
  }
  state_cache_snap_clear(&it->snap);
  state_kv_backend_unref(it->b);
  g_free(it);
}

/* ---- flush, offsets, checkpoints ---- */

static void checkpoint_entry(brook_kv_store_t *store) {
  if (store->dir && store->logged && !store->in_memory && store->offset >= 0)
    brook_task_dir_checkpoint_set(store->dir, store->topic, store->partition, store->offset);
}

brook_err_t brook_kv_store_flush(brook_kv_store_t *store) {
  brook_err_t err;
  if (store->cache && (err = state_cache_flush(store->cache, store->errstr, sizeof store->errstr)))
    return err;
  memo_forget(store);
  if ((err = store->b->ops->flush(store->b, store->errstr, sizeof store->errstr))) return err;
  checkpoint_entry(store);
  return BROOK_ERR_NONE;
}

int64_t brook_kv_store_offset(const brook_kv_store_t *store) { return store->logged ? store->offset : -1; }

void brook_kv_store_set_offset(brook_kv_store_t *store, int64_t next_offset) {
  if (!store->logged) return;
  store->offset = next_offset;
  checkpoint_entry(store);
}

/* ---- restore ---- */

int64_t brook_kv_store_restore_start(const brook_kv_store_t *store) { return store->restore_start; }
bool brook_kv_store_was_wiped(const brook_kv_store_t *store) { return store->wiped; }

brook_err_t brook_kv_store_restore(brook_kv_store_t *store, const brook_changelog_record_t *records, size_t n,
                                   int64_t end_offset, brook_restore_progress_t *progress) {
  if (store->restore_t0 == 0) store->restore_t0 = g_get_monotonic_time();
  if (store->cache) {
    /* restoring under unflushed writes would reorder them; a programming error */
    g_assert(state_cache_dirty_count(store->cache) == 0);
    state_cache_clear(store->cache); /* clean entries may be stale now */
  }
  brook_err_t err = BROOK_ERR_NONE;
  if (n > 0) {
    g_array_set_size(store->ops, (guint)n);
    state_kv_op_t *ops = (state_kv_op_t *)(void *)store->ops->data;
    if (store->timestamped) {
      g_byte_array_set_size(store->vbuf, 0);
      for (size_t i = 0; i < n; i++)
        ops[i].value_len = records[i].value ? encode_append(store, records[i].value, records[i].value_len,
                                                            records[i].timestamp)
                                            : 0; /* offset for now */
      for (size_t i = 0; i < n; i++) {
        ops[i].key = records[i].key;
        ops[i].key_len = records[i].key_len;
        if (records[i].value) {
          ops[i].value = store->vbuf->data + ops[i].value_len;
          ops[i].value_len = records[i].value_len + 8;
        } else {
          ops[i].value = NULL;
        }
      }
    } else {
      for (size_t i = 0; i < n; i++)
        ops[i] = (state_kv_op_t){records[i].key, records[i].key_len, records[i].value, records[i].value_len};
    }
    memo_forget(store);
    err = store->b->ops->write(store->b, ops, n, true, store->errstr, sizeof store->errstr);
    if (!err) {
      store->offset = records[n - 1].offset + 1;
      store->progress.records_restored += n;
    }
  }
  gint64 us = g_get_monotonic_time() - store->restore_t0;
  store->progress.remaining = end_offset >= 0 ? MAX(0, end_offset - store->offset) : -1;
  store->progress.records_per_sec = us > 0 ? (double)store->progress.records_restored * 1e6 / (double)us : 0;
  if (progress) *progress = store->progress;
  return err;
}

void brook_kv_store_restore_progress(const brook_kv_store_t *store, brook_restore_progress_t *progress) {
  *progress = store->progress;
}

/* ---- views ---- */

struct brook_kv_view {
  state_kv_backend_t *b;
  bool timestamped;
};

brook_kv_view_t *brook_kv_store_view(brook_kv_store_t *store) {
  brook_kv_view_t *view = g_new0(brook_kv_view_t, 1);
  atomic_fetch_add(&store->b->ref, 1);
  view->b = store->b;
  view->timestamped = store->timestamped;
  return view;
}

void brook_kv_view_destroy(brook_kv_view_t *view) {
  if (!view) return;
  state_kv_backend_unref(view->b);
  g_free(view);
}

brook_err_t brook_kv_view_get(brook_kv_view_t *view, const void *key, size_t key_len, void **valuep,
                              size_t *value_lenp, int64_t *timestampp) {
  state_kv_backend_t *b = view->b;
  char e[256];
  void *v = NULL;
  size_t len = 0;
  g_rw_lock_reader_lock(&b->lock);
  brook_err_t err = b->closed ? BROOK_ERR__STATE : b->ops->get_copy(b, key, key_len, &v, &len, e, sizeof e);
  g_rw_lock_reader_unlock(&b->lock);
  if (timestampp) *timestampp = -1;
  if (err) return err;
  if (view->timestamped) {
    if (len < 8) {
      free(v);
      return BROOK_ERR__CORRUPT;
    }
    if (timestampp) *timestampp = get_be64(v);
    memmove(v, (char *)v + 8, len - 8);
    len -= 8;
  }
  *valuep = v;
  *value_lenp = len;
  return BROOK_ERR_NONE;
}

brook_kv_iter_t *brook_kv_view_range(brook_kv_view_t *view, const void *from, size_t from_len, const void *to,
                                     size_t to_len, bool reverse) {
  return iter_new(view->b, NULL, true, view->timestamped, from, from_len, to, to_len, reverse);
}

brook_kv_iter_t *brook_kv_view_prefix(brook_kv_view_t *view, const void *prefix, size_t prefix_len) {
  size_t end_len = 0;
  unsigned char *end = prefix_end(prefix, prefix_len, &end_len);
  brook_kv_iter_t *it =
      brook_kv_view_range(view, prefix_len ? prefix : NULL, prefix_len, end, end_len, false);
  g_free(end);
  return it;
}

brook_kv_iter_t *brook_kv_view_all(brook_kv_view_t *view, bool reverse) {
  return brook_kv_view_range(view, NULL, 0, NULL, 0, reverse);
}

uint64_t brook_kv_view_approximate_count(brook_kv_view_t *view) {
  state_kv_backend_t *b = view->b;
  g_rw_lock_reader_lock(&b->lock);
  uint64_t n = b->closed ? 0 : b->ops->approximate_count(b);
  g_rw_lock_reader_unlock(&b->lock);
  return n;
}

void brook_kv_free(void *value) { free(value); }
