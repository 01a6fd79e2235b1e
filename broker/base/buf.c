/* buf.c — see buf.h. Growth doubles; varints are Kafka's (protobuf) encoding. */
#include "buf.h"

#include <glib.h>
#include <string.h>

void brook_buf_init(brook_buf_t *buf) { memset(buf, 0, sizeof *buf); }

static void release_splices(brook_buf_t *buf) {
  for (size_t i = 0; i < buf->nsplices; i++)
    if (buf->splices[i].ref.release) buf->splices[i].ref.release(buf->splices[i].ref.ctx);
  buf->nsplices = 0;
  buf->splice_bytes = 0;
}

void brook_buf_free(brook_buf_t *buf) {
  release_splices(buf);
  g_free(buf->data);
  g_free(buf->splices);
  memset(buf, 0, sizeof *buf);
}

void brook_buf_reset(brook_buf_t *buf) {
  release_splices(buf);
  buf->len = 0;
}

void brook_buf_reserve(brook_buf_t *buf, size_t extra) {
  if (buf->cap - buf->len >= extra) return;
  size_t cap = buf->cap ? buf->cap : 256;
  while (cap - buf->len < extra) cap *= 2;
  buf->data = g_realloc(buf->data, cap);
  buf->cap = cap;
}

void brook_buf_put(brook_buf_t *buf, const void *p, size_t n) {
  if (!n) return;
  brook_buf_reserve(buf, n);
  memcpy(buf->data + buf->len, p, n);
  buf->len += n;
}

void brook_buf_put_i8(brook_buf_t *buf, int8_t v) {
  brook_buf_reserve(buf, 1);
  buf->data[buf->len++] = (uint8_t)v;
}
void brook_buf_put_i16(brook_buf_t *buf, int16_t v) {
  brook_buf_reserve(buf, 2);
  brook_wr16(buf->data + buf->len, (uint16_t)v);
  buf->len += 2;
}
void brook_buf_put_i32(brook_buf_t *buf, int32_t v) {
  brook_buf_reserve(buf, 4);
  brook_wr32(buf->data + buf->len, (uint32_t)v);
  buf->len += 4;
}
void brook_buf_put_u32(brook_buf_t *buf, uint32_t v) { brook_buf_put_i32(buf, (int32_t)v); }
void brook_buf_put_i64(brook_buf_t *buf, int64_t v) {
  brook_buf_reserve(buf, 8);
  brook_wr64(buf->data + buf->len, (uint64_t)v);
  buf->len += 8;
}
void brook_buf_put_f64(brook_buf_t *buf, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  brook_buf_put_i64(buf, (int64_t)u);
}
void brook_buf_put_uvarint(brook_buf_t *buf, uint64_t v) {
  brook_buf_reserve(buf, 10);
  while (v >= 0x80) {
    buf->data[buf->len++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  buf->data[buf->len++] = (uint8_t)v;
}
void brook_buf_put_varint(brook_buf_t *buf, int64_t v) {
  brook_buf_put_uvarint(buf, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
size_t brook_buf_skip(brook_buf_t *buf, size_t n) {
  brook_buf_reserve(buf, n);
  size_t at = buf->len;
  memset(buf->data + at, 0, n);
  buf->len += n;
  return at;
}
void brook_buf_patch_i32(brook_buf_t *buf, size_t at, int32_t v) {
  g_assert(at + 4 <= buf->len);
  brook_wr32(buf->data + at, (uint32_t)v);
}
void brook_buf_splice(brook_buf_t *buf, const brook_fileref_t *ref) {
  if (buf->nsplices == buf->splices_cap) {
    buf->splices_cap = buf->splices_cap ? buf->splices_cap * 2 : 8;
    buf->splices = g_realloc_n(buf->splices, buf->splices_cap, sizeof *buf->splices);
  }
  buf->splices[buf->nsplices].at = buf->len;
  buf->splices[buf->nsplices].ref = *ref;
  buf->nsplices++;
  buf->splice_bytes += (size_t)ref->len;
}

static inline bool need(brook_rd_t *rd, size_t n) {
  if (rd->err || (size_t)(rd->end - rd->p) < n) {
    rd->err = true;
    rd->p = rd->end;
    return false;
  }
  return true;
}
int8_t brook_rd_i8(brook_rd_t *rd) { return need(rd, 1) ? (int8_t)*rd->p++ : 0; }
int16_t brook_rd_i16(brook_rd_t *rd) {
  if (!need(rd, 2)) return 0;
  int16_t v = (int16_t)brook_rd16(rd->p);
  rd->p += 2;
  return v;
}
int32_t brook_rd_i32(brook_rd_t *rd) {
  if (!need(rd, 4)) return 0;
  int32_t v = (int32_t)brook_rd32(rd->p);
  rd->p += 4;
  return v;
}
uint32_t brook_rd_u32(brook_rd_t *rd) { return (uint32_t)brook_rd_i32(rd); }
int64_t brook_rd_i64(brook_rd_t *rd) {
  if (!need(rd, 8)) return 0;
  int64_t v = (int64_t)brook_rd64(rd->p);
  rd->p += 8;
  return v;
}
double brook_rd_f64(brook_rd_t *rd) {
  uint64_t u = (uint64_t)brook_rd_i64(rd);
  double v;
  memcpy(&v, &u, 8);
  return v;
}
uint64_t brook_rd_uvarint(brook_rd_t *rd) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (!need(rd, 1)) return 0;
    uint8_t b = *rd->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  rd->err = true;
  rd->p = rd->end;
  return 0;
}
int64_t brook_rd_varint(brook_rd_t *rd) {
  uint64_t u = brook_rd_uvarint(rd);
  return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}
const uint8_t *brook_rd_take(brook_rd_t *rd, size_t n) {
  if (!need(rd, n)) return NULL;
  const uint8_t *p = rd->p;
  rd->p += n;
  return p;
}
