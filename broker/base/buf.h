/*
 * buf.h — growable output buffers and bounds-checked input readers.
 *
 * Design note
 *  - brook_buf_t is a byte vector that only grows; put_* append in network
 *    byte order (big-endian) as Kafka's wire format wants. Running out of memory
 *    aborts (g_realloc semantics): the bound on every buffer is set by the caller
 *    (socket.request.max.bytes, fetch.max.bytes), not here.
 *  - A buffer can also carry *splices*: ranges of an open file that belong at a
 *    given position of the output (fetch responses send segment bytes with
 *    sendfile instead of copying them). brook_buf_total() counts them; whoever
 *    writes the buffer out interleaves memory bytes and file ranges in order.
 *    A splice holds a reference (release callback) until the buffer is reset.
 *  - brook_rd_t reads from a borrowed byte range. Every get_* checks bounds; on
 *    underflow or a bad varint the reader is marked failed (rd->err) and returns
 *    zero values from then on, so a decoder checks once at the end (or at a
 *    convenient point) instead of after every field.
 */
#ifndef BROOK_BUF_H
#define BROOK_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** A string on the wire. len == -1 is null. ptr is borrowed (see owner). */
typedef struct brook_str {
  const char *ptr;
  int32_t len;
} brook_str_t;

/** Bytes on the wire. len == -1 is null. ptr is borrowed (see owner). */
typedef struct brook_bytes {
  const uint8_t *ptr;
  int32_t len;
} brook_bytes_t;

/** A range of an open file to splice into output. release(ctx) is called once
 *  when the buffer holding it no longer needs the fd. */
typedef struct brook_fileref {
  int fd;
  int64_t pos;
  int32_t len;
  void (*release)(void *ctx);
  void *ctx;
} brook_fileref_t;

/** A "records" field: either memory bytes (ptr/len, len -1 = null) or, when file
 *  is set, a file range that is spliced (len must equal file->len). */
typedef struct brook_records {
  const uint8_t *ptr;
  int32_t len;
  const brook_fileref_t *file;
} brook_records_t;

typedef struct brook_splice {
  size_t at; /* offset in data where the file bytes go */
  brook_fileref_t ref;
} brook_splice_t;

typedef struct brook_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  brook_splice_t *splices;
  size_t nsplices;
  size_t splices_cap;
  size_t splice_bytes; /* sum of splice lengths */
} brook_buf_t;

#define BROOK_STR(s) ((brook_str_t){(s), (int32_t)sizeof(s) - 1})
#define BROOK_STR_NULL ((brook_str_t){NULL, -1})

void brook_buf_init(brook_buf_t *buf);
/** Releases splices and memory. */
void brook_buf_free(brook_buf_t *buf);
/** Empties (releasing splices) but keeps the memory. */
void brook_buf_reset(brook_buf_t *buf);
void brook_buf_reserve(brook_buf_t *buf, size_t extra);
/** Memory bytes plus spliced file bytes. */
static inline size_t brook_buf_total(const brook_buf_t *buf) { return buf->len + buf->splice_bytes; }

void brook_buf_put(brook_buf_t *buf, const void *p, size_t n);
void brook_buf_put_i8(brook_buf_t *buf, int8_t v);
void brook_buf_put_i16(brook_buf_t *buf, int16_t v);
void brook_buf_put_i32(brook_buf_t *buf, int32_t v);
void brook_buf_put_i64(brook_buf_t *buf, int64_t v);
void brook_buf_put_u32(brook_buf_t *buf, uint32_t v);
void brook_buf_put_f64(brook_buf_t *buf, double v);
void brook_buf_put_uvarint(brook_buf_t *buf, uint64_t v);
/** Zig-zag signed varint (record fields). */
void brook_buf_put_varint(brook_buf_t *buf, int64_t v);
/** Reserves n bytes, returns their offset (to patch later, e.g. a length). */
size_t brook_buf_skip(brook_buf_t *buf, size_t n);
void brook_buf_patch_i32(brook_buf_t *buf, size_t at, int32_t v);
/** Appends a file range: takes ownership of ref (its release runs at reset/free). */
void brook_buf_splice(brook_buf_t *buf, const brook_fileref_t *ref);

static inline uint16_t brook_rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t brook_rd32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t brook_rd64(const uint8_t *p) { return ((uint64_t)brook_rd32(p) << 32) | brook_rd32(p + 4); }
static inline void brook_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void brook_wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void brook_wr64(uint8_t *p, uint64_t v) { brook_wr32(p, (uint32_t)(v >> 32)); brook_wr32(p + 4, (uint32_t)v); }

/** Reader over a borrowed range. err is sticky. */
typedef struct brook_rd {
  const uint8_t *p;
  const uint8_t *end;
  bool err;
} brook_rd_t;

static inline void brook_rd_init(brook_rd_t *rd, const void *p, size_t n) {
  rd->p = (const uint8_t *)p;
  rd->end = rd->p + n;
  rd->err = false;
}
static inline size_t brook_rd_remaining(const brook_rd_t *rd) { return (size_t)(rd->end - rd->p); }

int8_t brook_rd_i8(brook_rd_t *rd);
int16_t brook_rd_i16(brook_rd_t *rd);
int32_t brook_rd_i32(brook_rd_t *rd);
int64_t brook_rd_i64(brook_rd_t *rd);
uint32_t brook_rd_u32(brook_rd_t *rd);
double brook_rd_f64(brook_rd_t *rd);
/** At most 10 bytes (64-bit); longer or truncated marks the reader failed. */
uint64_t brook_rd_uvarint(brook_rd_t *rd);
int64_t brook_rd_varint(brook_rd_t *rd);
/** Borrows n bytes (returns NULL and fails the reader if fewer remain). */
const uint8_t *brook_rd_take(brook_rd_t *rd, size_t n);

#endif
