/*
 * cache.c — the record cache: a write-back cache in front of one store, and the
 * reference-counted byte blobs the caches and the in-memory store share.
 *
 * Design note
 *   Kafka Streams puts a cache in front of each store so repeated updates of a
 *   key between two commits reach the store, the changelog and the downstream
 *   processors once, as the latest value. Here:
 *
 *   entry states:
 *
 *       (absent) ──put──────────▶ DIRTY ──flush / evict (write fn ok)──▶ CLEAN
 *       (absent) ──put_clean────▶ CLEAN ──put──▶ DIRTY
 *       CLEAN ──evict──▶ (absent)          DIRTY delete ──flush──▶ (absent)
 *
 *   - Entries live in a GTree ordered bytewise by key (range snapshots for
 *     merging iterators), on an LRU list (head = least recently used), and the
 *     dirty ones also on a dirty list in the order they first became dirty —
 *     the order they are written through, as Kafka's NamedCache does.
 *   - Budget: every entry costs key + value + ENTRY_OVERHEAD bytes, charged to
 *     the environment's counter shared by all caches of the application
 *     (state_env_cache_charge). After a put, while that total is above
 *     statestore.cache.max.bytes, the cache evicts from ITSELF, least recently
 *     used first (Kafka's ThreadCache evicts from the cache being written too):
 *     the entries to evict are chosen first, the dirty ones among them are
 *     handed to the write fn as one batch, and only if it succeeds are they
 *     dropped. So a write error loses nothing: the entries stay dirty.
 *     Work per put is bounded by the entries evicted to make room for it.
 *   - put_clean (caching a value read from the store) evicts only clean entries,
 *     so it never writes and cannot fail.
 *   - Flush writes the dirty list in one write-fn call, then marks entries clean;
 *     cached deletes are dropped once written.
 *   - Pointers returned by get are into the entry's value blob, which lives
 *     until the entry is overwritten or evicted; snapshots take blob references
 *     so they survive both.
 *   - The write fn must not call back into the same cache (asserted).
 *
 * @locality the owning store's thread; only the budget counter is shared.
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "state_int.h"

/* ---- blobs ---- */

state_blob_t *state_blob_new(const void *data, size_t len) {
  state_blob_t *b = g_malloc(sizeof *b + len);
  atomic_init(&b->ref, 1);
  b->len = len;
  if (len) memcpy(b->data, data, len);
  return b;
}

state_blob_t *state_blob_new_ts(int64_t ts, const void *data, size_t len) {
  state_blob_t *b = g_malloc(sizeof *b + 8 + len);
  atomic_init(&b->ref, 1);
  b->len = 8 + len;
  uint64_t u = (uint64_t)ts;
  for (int i = 0; i < 8; i++) b->data[i] = (unsigned char)(u >> (56 - 8 * i));
  if (len) memcpy(b->data + 8, data, len);
  return b;
}

state_blob_t *state_blob_ref(state_blob_t *blob) {
  if (blob) atomic_fetch_add_explicit(&blob->ref, 1, memory_order_relaxed);
  return blob;
}

void state_blob_unref(state_blob_t *blob) {
  if (blob && atomic_fetch_sub_explicit(&blob->ref, 1, memory_order_acq_rel) == 1) g_free(blob);
}

int state_bytes_cmp(const void *a, size_t alen, const void *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c;
  return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* ---- cache ---- */

/* What an entry costs beyond its key and value bytes: the entry, its GTree
 * node and the two blob headers, rounded up. */
#define ENTRY_OVERHEAD 112

typedef struct keyref {
  const void *ptr;
  size_t len;
} keyref_t;

typedef struct centry centry_t;
struct centry {
  keyref_t kref; /* points into key->data; the GTree key */
  state_blob_t *key;
  state_blob_t *value; /* NULL = delete (dirty) or known absent (clean) */
  int64_t ts;
  bool dirty;
  centry_t *lru_prev, *lru_next;
  centry_t *dirty_prev, *dirty_next;
};

struct state_cache {
  brook_state_env_t *env;
  char *name;
  state_cache_write_fn write;
  void *opaque;
  GTree *tree; /* keyref_t * -> centry_t * */
  centry_t *lru_head, *lru_tail;
  centry_t *dirty_head, *dirty_tail;
  size_t n_dirty;
  uint64_t bytes;
  bool in_write; /* the write fn is running: no re-entry */
  uint64_t evictions;
};

static int keyref_cmp(gconstpointer a, gconstpointer b, gpointer unused) {
  const keyref_t *x = a, *y = b;
  return state_bytes_cmp(x->ptr, x->len, y->ptr, y->len);
}

static size_t entry_cost(const centry_t *e) {
  return e->key->len + (e->value ? e->value->len : 0) + ENTRY_OVERHEAD;
}

static void lru_unlink(state_cache_t *c, centry_t *e) {
  if (e->lru_prev)
    e->lru_prev->lru_next = e->lru_next;
  else
    c->lru_head = e->lru_next;
  if (e->lru_next)
    e->lru_next->lru_prev = e->lru_prev;
  else
    c->lru_tail = e->lru_prev;
  e->lru_prev = e->lru_next = NULL;
}

static void lru_append(state_cache_t *c, centry_t *e) {
  e->lru_prev = c->lru_tail;
  e->lru_next = NULL;
  if (c->lru_tail)
    c->lru_tail->lru_next = e;
  else
    c->lru_head = e;
  c->lru_tail = e;
}

static void lru_touch(state_cache_t *c, centry_t *e) {
  if (c->lru_tail == e) return;
  lru_unlink(c, e);
  lru_append(c, e);
}

static void dirty_unlink(state_cache_t *c, centry_t *e) {
  if (e->dirty_prev)
    e->dirty_prev->dirty_next = e->dirty_next;
  else
    c->dirty_head = e->dirty_next;
  if (e->dirty_next)
    e->dirty_next->dirty_prev = e->dirty_prev;
  else
    c->dirty_tail = e->dirty_prev;
  e->dirty_prev = e->dirty_next = NULL;
  e->dirty = false;
  c->n_dirty--;
}

static void dirty_append(state_cache_t *c, centry_t *e) {
  e->dirty = true;
  e->dirty_prev = c->dirty_tail;
  e->dirty_next = NULL;
  if (c->dirty_tail)
    c->dirty_tail->dirty_next = e;
  else
    c->dirty_head = e;
  c->dirty_tail = e;
  c->n_dirty++;
}

static void charge(state_cache_t *c, int64_t delta) {
  c->bytes = (uint64_t)((int64_t)c->bytes + delta);
  state_env_cache_charge(c->env, delta);
}

/* Removes e from every structure and frees it. */
static void entry_remove(state_cache_t *c, centry_t *e) {
  if (e->dirty) dirty_unlink(c, e);
  lru_unlink(c, e);
  g_tree_remove(c->tree, &e->kref);
  charge(c, -(int64_t)entry_cost(e));
  state_blob_unref(e->key);
  state_blob_unref(e->value);
  g_free(e);
}

state_cache_t *state_cache_new(brook_state_env_t *env, const char *name, state_cache_write_fn write,
                               void *opaque) {
  state_cache_t *c = g_new0(state_cache_t, 1);
  c->env = env;
  c->name = g_strdup(name);
  c->write = write;
  c->opaque = opaque;
  c->tree = g_tree_new_full(keyref_cmp, NULL, NULL, NULL);
  return c;
}

void state_cache_clear(state_cache_t *c) {
  g_assert(!c->in_write);
  while (c->lru_head) entry_remove(c, c->lru_head);
}

void state_cache_destroy(state_cache_t *c) {
  if (!c) return;
  if (c->n_dirty)
    brook_log(BROOK_LOG_WARNING, "state", "cache of store %s destroyed with %zu unflushed entries", c->name,
              c->n_dirty);
  state_cache_clear(c);
  g_tree_destroy(c->tree);
  g_free(c->name);
  g_free(c);
}

static centry_t *lookup(state_cache_t *c, const void *key, size_t key_len) {
  keyref_t k = {key, key_len};
  return g_tree_lookup(c->tree, &k);
}

bool state_cache_get(state_cache_t *c, const void *key, size_t key_len, const void **valuep,
                     size_t *value_lenp, int64_t *timestampp) {
  centry_t *e = lookup(c, key, key_len);
  if (!e) return false;
  lru_touch(c, e);
  *valuep = e->value ? e->value->data : NULL;
  if (value_lenp) *value_lenp = e->value ? e->value->len : 0;
  if (timestampp) *timestampp = e->ts;
  return true;
}

/* Sets e's value (taking the blob) and re-charges the difference. */
static void entry_set(state_cache_t *c, centry_t *e, state_blob_t *value, int64_t ts) {
  int64_t before = (int64_t)entry_cost(e);
  state_blob_unref(e->value);
  e->value = value;
  e->ts = ts;
  charge(c, (int64_t)entry_cost(e) - before);
}

static centry_t *entry_insert(state_cache_t *c, const void *key, size_t key_len, state_blob_t *value,
                              int64_t ts) {
  centry_t *e = g_new0(centry_t, 1);
  e->key = state_blob_new(key, key_len);
  e->kref.ptr = e->key->data;
  e->kref.len = key_len;
  e->value = value;
  e->ts = ts;
  g_tree_insert(c->tree, &e->kref, e);
  lru_append(c, e);
  charge(c, (int64_t)entry_cost(e));
  return e;
}

static bool over_budget(state_cache_t *c) {
  return state_env_cache_charge(c->env, 0) > state_env_cache_max_bytes(c->env);
}

/* Evicts LRU entries until the application is within budget or this cache is
 * empty. With clean_only, dirty entries are skipped (never written). */
static brook_err_t evict(state_cache_t *c, bool clean_only, char *errstr, size_t errstr_size) {
  if (!over_budget(c)) return BROOK_ERR_NONE;
  uint64_t max = state_env_cache_max_bytes(c->env);
  uint64_t total = state_env_cache_charge(c->env, 0);
  uint64_t need = total - max; /* bytes to release */
  GPtrArray *victims = g_ptr_array_new();
  GArray *dirty = g_array_new(FALSE, FALSE, sizeof(state_cache_dirty_t));
  uint64_t freed = 0;
  for (centry_t *e = c->lru_head; e && freed < need; e = e->lru_next) {
    if (e->dirty && clean_only) continue;
    g_ptr_array_add(victims, e);
    freed += entry_cost(e);
  }
  /* the dirty victims go to the store in LRU order, as one batch */
  for (guint i = 0; i < victims->len; i++) {
    centry_t *e = victims->pdata[i];
    if (!e->dirty) continue;
    state_cache_dirty_t d = {e->key->data, e->key->len, e->value ? e->value->data : NULL,
                             e->value ? e->value->len : 0, e->ts};
    g_array_append_val(dirty, d);
  }
  brook_err_t err = BROOK_ERR_NONE;
  if (dirty->len) {
    c->in_write = true;
    err = c->write(c->opaque, (state_cache_dirty_t *)(void *)dirty->data, dirty->len, errstr, errstr_size);
    c->in_write = false;
  }
  if (!err) {
    for (guint i = 0; i < victims->len; i++) entry_remove(c, victims->pdata[i]);
    c->evictions += victims->len;
  }
  g_array_free(dirty, TRUE);
  g_ptr_array_free(victims, TRUE);
  return err;
}

brook_err_t state_cache_put(state_cache_t *c, const void *key, size_t key_len, const void *value,
                            size_t value_len, int64_t timestamp, char *errstr, size_t errstr_size) {
  g_assert(!c->in_write);
  state_blob_t *v = value ? state_blob_new(value, value_len) : NULL;
  centry_t *e = lookup(c, key, key_len);
  if (e) {
    entry_set(c, e, v, timestamp);
    lru_touch(c, e);
  } else {
    e = entry_insert(c, key, key_len, v, timestamp);
  }
  if (!e->dirty) dirty_append(c, e);
  return evict(c, false, errstr, errstr_size);
}

void state_cache_put_clean(state_cache_t *c, const void *key, size_t key_len, const void *value,
                           size_t value_len, int64_t timestamp) {
  g_assert(!c->in_write);
  if (lookup(c, key, key_len)) return;
  entry_insert(c, key, key_len, value ? state_blob_new(value, value_len) : NULL, timestamp);
  evict(c, true, NULL, 0);
}

brook_err_t state_cache_flush(state_cache_t *c, char *errstr, size_t errstr_size) {
  g_assert(!c->in_write);
  if (!c->n_dirty) return BROOK_ERR_NONE;
  state_cache_dirty_t *d = g_new(state_cache_dirty_t, c->n_dirty);
  size_t n = 0;
  for (centry_t *e = c->dirty_head; e; e = e->dirty_next)
    d[n++] = (state_cache_dirty_t){e->key->data, e->key->len, e->value ? e->value->data : NULL,
                                   e->value ? e->value->len : 0, e->ts};
  c->in_write = true;
  brook_err_t err = c->write(c->opaque, d, n, errstr, errstr_size);
  c->in_write = false;
  g_free(d);
  if (err) return err;
  while (c->dirty_head) {
    centry_t *e = c->dirty_head;
    dirty_unlink(c, e);
    if (!e->value) entry_remove(c, e); /* a written delete need not stay cached */
  }
  return BROOK_ERR_NONE;
}

size_t state_cache_entries(const state_cache_t *c) { return (size_t)g_tree_nnodes(c->tree); }
size_t state_cache_dirty_count(const state_cache_t *c) { return c->n_dirty; }
uint64_t state_cache_bytes(const state_cache_t *c) { return c->bytes; }

void state_cache_snapshot(state_cache_t *c, const void *from, size_t from_len, const void *to, size_t to_len,
                          state_cache_snap_t *snap) {
  snap->entries = NULL;
  snap->n = 0;
  GTreeNode *node;
  if (from) {
    keyref_t k = {from, from_len};
    node = g_tree_lower_bound(c->tree, &k);
  } else {
    node = g_tree_node_first(c->tree);
  }
  GArray *a = g_array_new(FALSE, FALSE, sizeof(state_cache_snap_entry_t));
  for (; node; node = g_tree_node_next(node)) {
    centry_t *e = g_tree_node_value(node);
    if (to && state_bytes_cmp(e->key->data, e->key->len, to, to_len) >= 0) break;
    /* a clean absent marker says nothing the store does not already say */
    if (!e->dirty && !e->value) continue;
    state_cache_snap_entry_t s = {state_blob_ref(e->key), state_blob_ref(e->value), e->ts};
    g_array_append_val(a, s);
  }
  snap->n = a->len;
  snap->entries = (state_cache_snap_entry_t *)(void *)g_array_free(a, FALSE);
}

void state_cache_snap_clear(state_cache_snap_t *snap) {
  for (size_t i = 0; i < snap->n; i++) {
    state_blob_unref(snap->entries[i].key);
    state_blob_unref(snap->entries[i].value);
  }
  g_free(snap->entries);
  snap->entries = NULL;
  snap->n = 0;
}
