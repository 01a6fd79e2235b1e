/*
 * kv_memory.c — the in-memory key-value backend: same contract as RocksDB's,
 * nothing on disk (a logged in-memory store is always restored from offset 0).
 *
 * Design note
 *   Data: a GTree (balanced, bytewise order) of key → entry; keys and values
 *   are reference-counted blobs (state_blob_t).
 *
 *   Concurrency with views — why a lock and copied snapshots, not RCU:
 *     The owner thread is the only writer. Views read from other threads. A
 *     writer takes b->lock for writing around each write (a whole put_all
 *     batch included), and a view takes it for reading around each lookup, so
 *     a view never sees half of a batch. The owner's own reads need no lock
 *     (nobody else writes). Iterators copy the entries of their range at
 *     creation — blob references, not bytes, O(entries in range) pointer work —
 *     so they see a snapshot (as a RocksDB iterator does), a writer is blocked
 *     only for the copy, never for however long a caller keeps an iterator,
 *     and the tree can change under an open iterator safely.
 *     An RCU / persistent-tree scheme would make view reads lock-free but costs
 *     a path copy per write on the hot path; interactive queries are rare next
 *     to writes, and an uncontended rwlock costs the writer tens of ns.
 *
 *   Lifetimes: get() returns a pointer into the value blob: valid until the next
 *   write of that key, i.e. (as the contract says) until the next call on the
 *   store. Iterator pointers stay valid until next()/destroy().
 *
 * @locality owner thread; get_copy/range(shared) under b->lock for reading.
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "state_int.h"

typedef struct keyref {
  const void *ptr;
  size_t len;
} keyref_t;

typedef struct mentry {
  keyref_t kref; /* into key->data: the tree key */
  state_blob_t *key;
  state_blob_t *value;
} mentry_t;

typedef struct kv_mem {
  state_kv_backend_t base;
  GTree *tree;
} kv_mem_t;

typedef struct mem_iter {
  state_kv_iter_t base;
  state_blob_t **kv; /* key, value pairs */
  size_t n, pos;
} mem_iter_t;

static kv_mem_t *M(state_kv_backend_t *b) { return (kv_mem_t *)b; }

static int keyref_cmp(gconstpointer a, gconstpointer b, gpointer unused) {
  const keyref_t *x = a, *y = b;
  return state_bytes_cmp(x->ptr, x->len, y->ptr, y->len);
}

static void mentry_free(gpointer p) {
  mentry_t *e = p;
  state_blob_unref(e->key);
  state_blob_unref(e->value);
  g_free(e);
}

static mentry_t *lookup(kv_mem_t *b, const void *key, size_t key_len) {
  keyref_t k = {key, key_len};
  return b->tree ? g_tree_lookup(b->tree, &k) : NULL;
}

static brook_err_t kv_get(state_kv_backend_t *b_, const void *key, size_t key_len, const void **valuep,
                          size_t *value_lenp, char *errstr, size_t errstr_size) {
  mentry_t *e = lookup(M(b_), key, key_len);
  if (!e) return BROOK_ERR__NOENT;
  *valuep = e->value->data;
  *value_lenp = e->value->len;
  return BROOK_ERR_NONE;
}

static brook_err_t kv_get_copy(state_kv_backend_t *b_, const void *key, size_t key_len, void **valuep,
                               size_t *value_lenp, char *errstr, size_t errstr_size) {
  mentry_t *e = lookup(M(b_), key, key_len);
  if (!e) return BROOK_ERR__NOENT;
  *valuep = malloc(e->value->len ? e->value->len : 1);
  if (e->value->len) memcpy(*valuep, e->value->data, e->value->len);
  *value_lenp = e->value->len;
  return BROOK_ERR_NONE;
}

/* With the write lock held. */
static void apply(kv_mem_t *b, const void *key, size_t key_len, const void *value, size_t value_len) {
  mentry_t *e = lookup(b, key, key_len);
  if (!value) {
    if (e) g_tree_remove(b->tree, &e->kref); /* frees e */
    return;
  }
  state_blob_t *v = state_blob_new(value, value_len);
  if (e) {
    state_blob_unref(e->value);
    e->value = v;
    return;
  }
  e = g_new(mentry_t, 1);
  e->key = state_blob_new(key, key_len);
  e->kref.ptr = e->key->data;
  e->kref.len = key_len;
  e->value = v;
  g_tree_insert(b->tree, &e->kref, e);
}

static brook_err_t kv_write(state_kv_backend_t *b_, const state_kv_op_t *ops, size_t n, bool restore,
                            char *errstr, size_t errstr_size) {
  kv_mem_t *b = M(b_);
  g_rw_lock_writer_lock(&b->base.lock);
  for (size_t i = 0; i < n; i++) apply(b, ops[i].key, ops[i].key_len, ops[i].value, ops[i].value_len);
  g_rw_lock_writer_unlock(&b->base.lock);
  return BROOK_ERR_NONE;
}

static brook_err_t kv_put(state_kv_backend_t *b_, const void *key, size_t key_len, const void *value,
                          size_t value_len, char *errstr, size_t errstr_size) {
  kv_mem_t *b = M(b_);
  g_rw_lock_writer_lock(&b->base.lock);
  apply(b, key, key_len, value, value_len);
  g_rw_lock_writer_unlock(&b->base.lock);
  return BROOK_ERR_NONE;
}

static bool iter_next(state_kv_iter_t *it_, const void **key, size_t *key_len, const void **value,
                      size_t *value_len) {
  mem_iter_t *it = (mem_iter_t *)it_;
  if (it->pos >= it->n) return false;
  state_blob_t *k = it->kv[2 * it->pos], *v = it->kv[2 * it->pos + 1];
  it->pos++;
  *key = k->data;
  *key_len = k->len;
  *value = v->data;
  *value_len = v->len;
  return true;
}

static brook_err_t iter_status(state_kv_iter_t *it_, char *errstr, size_t errstr_size) {
  return BROOK_ERR_NONE;
}

static void iter_destroy(state_kv_iter_t *it_) {
  mem_iter_t *it = (mem_iter_t *)it_;
  for (size_t i = 0; i < 2 * it->n; i++) state_blob_unref(it->kv[i]);
  g_free(it->kv);
  g_free(it);
}

static const state_kv_iter_ops_t mem_iter_ops = {iter_next, iter_status, iter_destroy};

static state_kv_iter_t *kv_range(state_kv_backend_t *b_, const void *from, size_t from_len, const void *to,
                                 size_t to_len, bool reverse, bool shared) {
  kv_mem_t *b = M(b_);
  mem_iter_t *it = g_new0(mem_iter_t, 1);
  it->base.ops = &mem_iter_ops;
  if (!b->tree) return &it->base;
  GPtrArray *a = g_ptr_array_new();
  if (!reverse) {
    keyref_t k = {from, from_len};
    GTreeNode *node = from ? g_tree_lower_bound(b->tree, &k) : g_tree_node_first(b->tree);
    for (; node; node = g_tree_node_next(node)) {
      mentry_t *e = g_tree_node_value(node);
      if (to && state_bytes_cmp(e->key->data, e->key->len, to, to_len) >= 0) break;
      g_ptr_array_add(a, state_blob_ref(e->key));
      g_ptr_array_add(a, state_blob_ref(e->value));
    }
  } else {
    keyref_t k = {to, to_len};
    GTreeNode *node;
    if (to) {
      node = g_tree_lower_bound(b->tree, &k); /* first >= to: step back once */
      node = node ? g_tree_node_previous(node) : g_tree_node_last(b->tree);
    } else {
      node = g_tree_node_last(b->tree);
    }
    for (; node; node = g_tree_node_previous(node)) {
      mentry_t *e = g_tree_node_value(node);
      if (from && state_bytes_cmp(e->key->data, e->key->len, from, from_len) < 0) break;
      g_ptr_array_add(a, state_blob_ref(e->key));
      g_ptr_array_add(a, state_blob_ref(e->value));
    }
  }
  it->n = a->len / 2;
  it->kv = (state_blob_t **)g_ptr_array_free(a, FALSE);
  return &it->base;
}

static uint64_t kv_approximate_count(state_kv_backend_t *b_) {
  kv_mem_t *b = M(b_);
  return b->tree ? (uint64_t)g_tree_nnodes(b->tree) : 0;
}

static brook_err_t kv_flush(state_kv_backend_t *b_, char *errstr, size_t errstr_size) {
  return BROOK_ERR_NONE;
}

static void kv_close(state_kv_backend_t *b_) {
  kv_mem_t *b = M(b_);
  if (b->tree) g_tree_destroy(b->tree);
  b->tree = NULL;
}

static void kv_free(state_kv_backend_t *b_) {
  kv_mem_t *b = M(b_);
  kv_close(b_);
  g_rw_lock_clear(&b->base.lock);
  g_free(b);
}

static const state_kv_backend_ops_t mem_ops = {
    kv_get, kv_get_copy, kv_write, kv_put, kv_range, kv_approximate_count, kv_flush, kv_close, kv_free,
};

state_kv_backend_t *state_kv_memory_new(void) {
  kv_mem_t *b = g_new0(kv_mem_t, 1);
  b->base.ops = &mem_ops;
  atomic_init(&b->base.ref, 1);
  g_rw_lock_init(&b->base.lock);
  b->tree = g_tree_new_full(keyref_cmp, NULL, NULL, mentry_free);
  return &b->base;
}
