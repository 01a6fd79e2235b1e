/* arena.c — see arena.h. A chunk list; big requests get a chunk of their own. */
#include "arena.h"

#include <glib.h>
#include <string.h>

typedef struct chunk {
  struct chunk *next;
  size_t size;
  size_t used;
  _Alignas(16) unsigned char data[];
} chunk_t;

struct brook_arena {
  chunk_t *head;
  size_t chunk_size;
};

static chunk_t *chunk_new(size_t size) {
  chunk_t *c = g_malloc(sizeof(chunk_t) + size);
  c->next = NULL;
  c->size = size;
  c->used = 0;
  return c;
}

brook_arena_t *brook_arena_new(size_t chunk_size) {
  brook_arena_t *a = g_new0(brook_arena_t, 1);
  a->chunk_size = chunk_size ? chunk_size : 8192;
  return a;
}

void brook_arena_destroy(brook_arena_t *arena) {
  if (!arena) return;
  brook_arena_reset(arena);
  g_free(arena->head);
  g_free(arena);
}

void brook_arena_reset(brook_arena_t *arena) {
  chunk_t *keep = NULL;
  for (chunk_t *c = arena->head, *next; c; c = next) {
    next = c->next;
    if (!next && c->size == arena->chunk_size) keep = c; /* the first, standard chunk */
    else g_free(c);
  }
  arena->head = keep;
  if (keep) {
    keep->used = 0;
    keep->next = NULL;
  }
}

void *brook_arena_alloc(brook_arena_t *arena, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (!n) n = 16;
  chunk_t *c = arena->head;
  if (!c || c->size - c->used < n) {
    size_t size = n > arena->chunk_size / 4 ? n : arena->chunk_size;
    chunk_t *fresh = chunk_new(size);
    if (c && size != arena->chunk_size) {
      /* oversized: link behind the head so the head keeps filling */
      fresh->next = c->next;
      c->next = fresh;
      fresh->used = n;
      memset(fresh->data, 0, n);
      return fresh->data;
    }
    fresh->next = c;
    arena->head = c = fresh;
  }
  void *p = c->data + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

char *brook_arena_strndup(brook_arena_t *arena, const char *p, size_t n) {
  char *s = brook_arena_alloc(arena, n + 1);
  memcpy(s, p, n);
  s[n] = 0;
  return s;
}
