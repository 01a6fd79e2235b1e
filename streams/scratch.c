/*
 * scratch.c — the per-record scratch arena (brook_scratch_*) and record
 * headers (brook_headers_*).
 *
 * Why: a record travels depth-first through a sub-topology; every value made
 * on the way (a deserialized key, a mapped value, a copied header) must live
 * until the input record is done, and no longer. An arena per task gives that
 * with one bump pointer per allocation and one reset per record, instead of a
 * malloc/free pair per value.
 *
 * Invariants:
 *  - `first` always exists and is never freed before scratch_destroy; every
 *    other block lives only until the next reset. So in steady state (records
 *    that fit in the first block) processing does not allocate, and memory
 *    between records is bounded by the first block, which grows to what one
 *    record needed but never beyond SCRATCH_KEEP_MAX.
 *  - `own` is a LIFO list (its nodes live in the arena itself); reset runs it
 *    before freeing any block, so an owned value may point into the arena.
 *  - The current arena is per thread (tls_current). scratch_enter swaps it and
 *    returns the previous one: scopes nest (a punctuator's scope inside
 *    nothing, a cache flush inside a record). Only the owner of a scope resets.
 *  - brook_headers_t is arena memory: entries point at the raw input (no
 *    copies) or at arena copies made by brook_headers_add.
 *
 * @locality everything here: the thread whose scope is current (the stream
 * thread owning the task). No locks.
 */
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "brook_serde.h"
#include "brook_topology.h"
#include "task.h"

/* Under AddressSanitizer, memory not handed out since the last reset is
 * poisoned: a processor keeping a scratch pointer past its record, or reading
 * past the end of the arena's last allocation, is reported. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Standard block size: big enough for a few typical records' worth of keys,
 * values and headers. */
#define SCRATCH_BLOCK ((size_t)16 * 1024)
/* Allocations above this get a block of their own (not made current), so one
 * big value does not waste the rest of a standard block. */
#define SCRATCH_BIG (SCRATCH_BLOCK / 4)
/* The first block grows to what one record needed, up to this bound; records
 * needing more allocate (and free) extra blocks every time. */
#define SCRATCH_KEEP_MAX ((size_t)256 * 1024)

typedef struct block {
  struct block *next; /* extra blocks since the last reset (not `first`) */
  size_t size;        /* bytes in data */
  size_t used;
  uint64_t data[]; /* 8-aligned */
} block_t;

typedef struct own {
  struct own *next;
  void (*free_fn)(void *);
  brook_serde_t *serde; /* a reference, or NULL with free_fn */
  void *p;
} own_t;

struct scratch {
  block_t *first; /* kept across resets */
  block_t *cur;   /* where small allocations go */
  block_t *extra; /* every other block, newest first */
  own_t *own;
  size_t blocks; /* blocks allocated now (first included) */
  size_t bytes;  /* their data bytes */
};


static _Thread_local scratch_t *tls_current;

static block_t *block_new(size_t size) {
  block_t *b = g_malloc(sizeof(block_t) + size);
  b->next = NULL;
  b->size = size;
  b->used = 0;
  POISON(b->data, size);
  return b;
}

static void block_free(block_t *b) {
  UNPOISON(b->data, b->size);
  g_free(b);
}

scratch_t *scratch_new(void) {
  scratch_t *s = g_new0(scratch_t, 1);
  s->first = s->cur = block_new(SCRATCH_BLOCK);
  s->blocks = 1;
  s->bytes = SCRATCH_BLOCK;
  return s;
}

void scratch_destroy(scratch_t *scratch) {
  if (!scratch) return;
  g_assert(tls_current != scratch); /* destroying the arena of an open scope */
  scratch_reset(scratch);
  block_free(scratch->first);
  g_free(scratch);
}

scratch_t *scratch_enter(scratch_t *scratch) {
  scratch_t *prev = tls_current;
  tls_current = scratch;
  return prev;
}

void scratch_reset(scratch_t *scratch) {
  /* owned values first: they may point into blocks */
  while (scratch->own) {
    own_t *o = scratch->own;
    scratch->own = o->next;
    if (o->serde) {
      brook_serde_free_value(o->serde, o->p);
      brook_serde_unref(o->serde);
    } else {
      o->free_fn(o->p);
    }
  }
  size_t used = scratch->first->used;
  while (scratch->extra) {
    block_t *b = scratch->extra;
    scratch->extra = b->next;
    used += b->used;
    block_free(b);
  }
  if (used > scratch->first->size && used <= SCRATCH_KEEP_MAX) {
    /* this record needed more than the first block: grow it (bounded) so the
     * next such record fits without allocating */
    size_t size = scratch->first->size;
    while (size < used) size *= 2;
    if (size > SCRATCH_KEEP_MAX) size = SCRATCH_KEEP_MAX;
    block_free(scratch->first);
    scratch->first = block_new(size);
  }
  POISON(scratch->first->data, scratch->first->used);
  scratch->first->used = 0;
  scratch->cur = scratch->first;
  scratch->blocks = 1;
  scratch->bytes = scratch->first->size;
}

void scratch_debug_stats(const scratch_t *scratch, size_t *blocksp, size_t *bytesp) {
  if (blocksp) *blocksp = scratch->blocks;
  if (bytesp) *bytesp = scratch->bytes;
}

static scratch_t *current(void) {
  if (G_UNLIKELY(!tls_current))
    g_error(
        "brook_scratch_*/brook_headers_add called outside process(), a punctuator or a DSL callback: "
        "this thread has no scratch arena");
  return tls_current;
}

static void *arena_alloc(scratch_t *s, size_t n) {
  n = n ? (n + 7) & ~(size_t)7 : 8;
  if (n > SIZE_MAX / 2) g_error("brook_scratch_alloc: %zu bytes is not a sensible request", n);
  block_t *b = s->cur;
  if (b->size - b->used < n) {
    b = block_new(n > SCRATCH_BIG ? n : SCRATCH_BLOCK);
    b->next = s->extra;
    s->extra = b;
    s->blocks++;
    s->bytes += b->size;
    if (n <= SCRATCH_BIG) s->cur = b;
  }
  void *p = (uint8_t *)b->data + b->used;
  b->used += n;
  UNPOISON(p, n);
  return p;
}

/* ---- brook_scratch_* ---- */

void *brook_scratch_alloc(size_t n) {
  void *p = arena_alloc(current(), n);
  memset(p, 0, n);
  return p;
}

char *brook_scratch_strndup(const char *s, size_t n) {
  if (!s) return NULL;
  size_t len = strnlen(s, n);
  char *p = arena_alloc(current(), len + 1);
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

char *brook_scratch_strdup(const char *s) { return s ? brook_scratch_strndup(s, strlen(s)) : NULL; }

void *brook_scratch_memdup(const void *p, size_t n) {
  if (!p) return NULL;
  void *q = arena_alloc(current(), n);
  if (n) memcpy(q, p, n);
  return q;
}

char *brook_scratch_printf(const char *fmt, ...) {
  scratch_t *s = current();
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (len < 0) g_error("brook_scratch_printf: bad format \"%s\"", fmt);
  char *p = arena_alloc(s, (size_t)len + 1);
  vsnprintf(p, (size_t)len + 1, fmt, ap2);
  va_end(ap2);
  return p;
}

int64_t *brook_scratch_i64(int64_t v) {
  int64_t *p = arena_alloc(current(), sizeof v);
  *p = v;
  return p;
}

int32_t *brook_scratch_i32(int32_t v) {
  int32_t *p = arena_alloc(current(), sizeof v);
  *p = v;
  return p;
}

double *brook_scratch_double(double v) {
  double *p = arena_alloc(current(), sizeof v);
  *p = v;
  return p;
}

void brook_scratch_own(brook_serde_t *serde, void *value) {
  scratch_t *s = current();
  if (!value) return;
  if (!serde) {
    brook_scratch_own_full(value, g_free);
    return;
  }
  own_t *o = arena_alloc(s, sizeof *o);
  o->free_fn = NULL;
  o->serde = brook_serde_ref(serde);
  o->p = value;
  o->next = s->own;
  s->own = o;
}

void brook_scratch_own_full(void *p, void (*free_fn)(void *)) {
  scratch_t *s = current();
  if (!p) return;
  own_t *o = arena_alloc(s, sizeof *o);
  o->free_fn = free_fn ? free_fn : g_free;
  o->serde = NULL;
  o->p = p;
  o->next = s->own;
  s->own = o;
}

/* ---- headers ---- */

struct brook_headers {
  task_header_t *v; /* arena memory */
  size_t n;
  size_t cap;
};

brook_headers_t *scratch_headers_new(const task_header_t *headers, size_t count) {
  scratch_t *s = current();
  brook_headers_t *h = arena_alloc(s, sizeof *h);
  h->n = h->cap = count;
  h->v = NULL;
  if (count) {
    h->v = arena_alloc(s, count * sizeof *h->v);
    memcpy(h->v, headers, count * sizeof *h->v);
  }
  return h;
}

const task_header_t *scratch_headers_raw(const brook_headers_t *headers, size_t *countp) {
  *countp = headers ? headers->n : 0;
  return headers ? headers->v : NULL;
}

size_t brook_headers_count(const brook_headers_t *headers) { return headers ? headers->n : 0; }

bool brook_headers_get(const brook_headers_t *headers, size_t idx, const char **name, const void **value,
                       size_t *value_len) {
  if (!headers || idx >= headers->n) return false;
  const task_header_t *e = &headers->v[idx];
  if (name) *name = e->name;
  if (value) *value = e->value;
  if (value_len) *value_len = e->value ? e->value_len : 0;
  return true;
}

bool brook_headers_last(const brook_headers_t *headers, const char *name, const void **value,
                        size_t *value_len) {
  if (!headers) return false;
  for (size_t i = headers->n; i-- > 0;) {
    const task_header_t *e = &headers->v[i];
    if (strcmp(e->name, name) == 0) {
      if (value) *value = e->value;
      if (value_len) *value_len = e->value ? e->value_len : 0;
      return true;
    }
  }
  return false;
}

void brook_headers_add(brook_headers_t *headers, const char *name, const void *value, size_t value_len) {
  g_return_if_fail(headers != NULL && name != NULL);
  scratch_t *s = current();
  if (headers->n == headers->cap) {
    /* the old array stays in the arena until reset: growth is geometric, so
     * the waste is bounded by the final size */
    size_t cap = headers->cap ? headers->cap * 2 : 4;
    task_header_t *v = arena_alloc(s, cap * sizeof *v);
    if (headers->n) memcpy(v, headers->v, headers->n * sizeof *v);
    headers->v = v;
    headers->cap = cap;
  }
  task_header_t *e = &headers->v[headers->n++];
  size_t name_len = strlen(name);
  char *n = arena_alloc(s, name_len + 1);
  memcpy(n, name, name_len + 1);
  e->name = n;
  if (value) {
    void *v = arena_alloc(s, value_len);
    if (value_len) memcpy(v, value, value_len);
    e->value = v;
    e->value_len = value_len;
  } else {
    e->value = NULL;
    e->value_len = 0;
  }
}

void brook_headers_remove(brook_headers_t *headers, const char *name) {
  if (!headers) return;
  size_t j = 0;
  for (size_t i = 0; i < headers->n; i++)
    if (strcmp(headers->v[i].name, name) != 0) headers->v[j++] = headers->v[i];
  headers->n = j;
}
