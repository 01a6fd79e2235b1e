/*
 * arena.h — per-request bump allocator (nginx pool style).
 *
 * Everything a decoded request points to (arrays, copies) lives in one arena
 * that is reset or destroyed when the request is done, so decoders never free
 * piecemeal. Allocation is 16-byte aligned. Memory grows by chunks; the bound
 * is the request size limit, which the caller enforces before decoding.
 * @locality whichever thread owns the arena.
 */
#ifndef BROOK_ARENA_H
#define BROOK_ARENA_H

#include <stddef.h>

typedef struct brook_arena brook_arena_t;

brook_arena_t *brook_arena_new(size_t chunk_size);
/** Frees all memory. NULL is a no-op. */
void brook_arena_destroy(brook_arena_t *arena);
/** Forgets all allocations, keeps the first chunk for reuse. */
void brook_arena_reset(brook_arena_t *arena);
/** Zeroed memory valid until reset/destroy. (transfer none) */
void *brook_arena_alloc(brook_arena_t *arena, size_t n);
/** Copy of p[0..n) plus a NUL terminator. (transfer none) */
char *brook_arena_strndup(brook_arena_t *arena, const char *p, size_t n);

#endif
