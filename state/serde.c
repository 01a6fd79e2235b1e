/*
 * serde.c — built-in serdes, custom serdes, the output buffer.
 *
 * Design note
 *  - Compatibility is byte-for-byte with Kafka's Java serializers
 *    (org.apache.kafka.common.serialization.*): integers and doubles are
 *    big-endian fixed width; a deserializer handed the wrong size fails as the
 *    Java one does ("Size of data received by IntegerDeserializer is not 4").
 *    DoubleSerializer writes Double.doubleToLongBits, which collapses every NaN
 *    to 0x7ff8000000000000; we do the same so NaN keys compare equal on the wire.
 *  - One deliberate difference: Java's StringDeserializer replaces invalid UTF-8
 *    with U+FFFD; ours rejects it (BROOK_ERR__MALFORMED, with the byte offset),
 *    because silently changing a key changes which state it reaches. Strings are
 *    C strings, so an embedded NUL byte is rejected too (use the bytes serde).
 *  - Windowed keys (verified against apache/kafka, streams/src/main/java/org/
 *    apache/kafka/streams/state/internals/WindowKeySchema.java toBinary() and
 *    SessionKeySchema.java toBinary(), used by kstream/TimeWindowedSerializer.java
 *    and kstream/SessionWindowedSerializer.java):
 *        time window:     [inner key bytes][start: int64 BE]
 *        session window:  [inner key bytes][end: int64 BE][start: int64 BE]
 *    The time-windowed form carries no end; TimeWindowedDeserializer computes
 *    end = start + windowSize, saturating at Long.MAX_VALUE (timeWindowForSize).
 *  - null ↔ NULL is handled here, above the callbacks, for every serde, so no
 *    callback has to think about it (Kafka: serialize(null) == null).
 *  - A serde is immutable once built; only its reference count changes.
 *
 * Bounds: serialize/deserialize are O(size of the value); JSON parsing is
 * json-glib's (linear, recursion bounded by nesting depth of the input).
 */
#include <glib.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "brook_serde.h"

struct brook_serde {
  gint refcnt;
  char *name;
  brook_serde_funcs_t funcs;
  void *opaque;
};

/* ---- output buffer ---- */

void brook_serde_buf_init(brook_serde_buf_t *buf) { *buf = (brook_serde_buf_t)BROOK_SERDE_BUF_INIT; }

void brook_serde_buf_clear(brook_serde_buf_t *buf) {
  g_free(buf->data);
  brook_serde_buf_init(buf);
}

void brook_serde_buf_reset(brook_serde_buf_t *buf) {
  buf->len = 0;
  buf->is_null = false;
}

uint8_t *brook_serde_buf_grow(brook_serde_buf_t *buf, size_t n) {
  if (buf->cap - buf->len < n) {
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap - buf->len < n) cap *= 2;
    buf->data = g_realloc(buf->data, cap);
    buf->cap = cap;
  }
  uint8_t *p = buf->data + buf->len;
  buf->len += n;
  return p;
}

void brook_serde_buf_append(brook_serde_buf_t *buf, const void *data, size_t n) {
  if (n == 0) return;
  memcpy(brook_serde_buf_grow(buf, n), data, n);
}

/* ---- big-endian helpers ---- */

void brook_serde_put_i32(uint8_t *p, int32_t v) {
  uint32_t u = (uint32_t)v;
  p[0] = (uint8_t)(u >> 24);
  p[1] = (uint8_t)(u >> 16);
  p[2] = (uint8_t)(u >> 8);
  p[3] = (uint8_t)u;
}

void brook_serde_put_i64(uint8_t *p, int64_t v) {
  uint64_t u = (uint64_t)v;
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)u;
    u >>= 8;
  }
}

int32_t brook_serde_get_i32(const uint8_t *p) {
  return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3]);
}

int64_t brook_serde_get_i64(const uint8_t *p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = (u << 8) | p[i];
  return (int64_t)u;
}

/* ---- serde object ---- */

brook_serde_t *brook_serde_new(const char *name, const brook_serde_funcs_t *funcs, void *opaque) {
  g_assert(funcs && funcs->serialize && funcs->deserialize);
  brook_serde_t *serde = g_new0(brook_serde_t, 1);
  serde->refcnt = 1;
  serde->name = g_strdup(name ? name : "custom");
  serde->funcs = *funcs;
  serde->opaque = opaque;
  return serde;
}

brook_serde_t *brook_serde_ref(brook_serde_t *serde) {
  g_atomic_int_inc(&serde->refcnt);
  return serde;
}

void brook_serde_unref(brook_serde_t *serde) {
  if (!serde || !g_atomic_int_dec_and_test(&serde->refcnt)) return;
  if (serde->funcs.destroy) serde->funcs.destroy(serde->opaque);
  g_free(serde->name);
  g_free(serde);
}

const char *brook_serde_name(const brook_serde_t *serde) { return serde->name; }

brook_err_t brook_serde_serialize(brook_serde_t *serde, const char *topic, const void *value,
                                  brook_serde_buf_t *out, char *errstr, size_t errstr_size) {
  brook_serde_buf_reset(out);
  if (!value) {
    out->is_null = true;
    return BROOK_ERR_NONE;
  }
  return serde->funcs.serialize(serde->opaque, topic, value, out, errstr, errstr_size);
}

brook_err_t brook_serde_deserialize(brook_serde_t *serde, const char *topic, const void *data, size_t len,
                                    void **valuep, char *errstr, size_t errstr_size) {
  *valuep = NULL;
  if (!data) return BROOK_ERR_NONE;
  return serde->funcs.deserialize(serde->opaque, topic, data, len, valuep, errstr, errstr_size);
}

void brook_serde_free_value(brook_serde_t *serde, void *value) {
  if (!value) return;
  if (serde->funcs.free_value)
    serde->funcs.free_value(serde->opaque, value);
  else
    g_free(value);
}

static brook_err_t malformed(char *errstr, size_t errstr_size, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static brook_err_t malformed(char *errstr, size_t errstr_size, const char *fmt, ...) {
  if (errstr && errstr_size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
  }
  return BROOK_ERR__MALFORMED;
}

/* Built-ins share one immutable instance each; "new" hands out a reference so
 * callers treat them like any other serde. */
static brook_serde_t *builtin(brook_serde_t **slot, const char *name, const brook_serde_funcs_t *funcs) {
  if (g_once_init_enter(slot)) {
    brook_serde_t *serde = brook_serde_new(name, funcs, NULL);
    g_once_init_leave(slot, serde);
  }
  return brook_serde_ref(*slot);
}

/* ---- bytes ---- */

static brook_err_t bytes_ser(void *opaque, const char *topic, const void *value, brook_serde_buf_t *out,
                             char *errstr, size_t errstr_size) {
  const brook_serde_bytes_t *b = value;
  brook_serde_buf_append(out, b->data, b->len);
  return BROOK_ERR_NONE;
}

static brook_err_t bytes_de(void *opaque, const char *topic, const void *data, size_t len, void **valuep,
                            char *errstr, size_t errstr_size) {
  brook_serde_bytes_t *b = g_malloc(sizeof(*b) + len);
  uint8_t *copy = (uint8_t *)(b + 1);
  if (len) memcpy(copy, data, len);
  b->data = copy;
  b->len = len;
  *valuep = b;
  return BROOK_ERR_NONE;
}

brook_serde_t *brook_serde_bytes_new(void) {
  static brook_serde_t *slot;
  static const brook_serde_funcs_t funcs = {bytes_ser, bytes_de, NULL, NULL};
  return builtin(&slot, "bytes", &funcs);
}

/* ---- string ---- */

static brook_err_t string_ser(void *opaque, const char *topic, const void *value, brook_serde_buf_t *out,
                              char *errstr, size_t errstr_size) {
  const char *s = value;
  brook_serde_buf_append(out, s, strlen(s));
  return BROOK_ERR_NONE;
}

/* Validates UTF-8 (no NUL bytes) and returns a NUL-terminated copy. */
static brook_err_t utf8_copy(const char *who, const void *data, size_t len, char **outp, char *errstr,
                             size_t errstr_size) {
  const char *end = NULL;
  if (len > G_MAXSSIZE || !g_utf8_validate_len(data, len, &end))
    return malformed(errstr, errstr_size, "%s: invalid UTF-8 at byte %zu of %zu%s", who,
                     end ? (size_t)(end - (const char *)data) : (size_t)0, len,
                     end && *end == '\0' ? " (NUL byte; use the bytes serde)" : "");
  char *s = g_malloc(len + 1);
  if (len) memcpy(s, data, len);
  s[len] = '\0';
  *outp = s;
  return BROOK_ERR_NONE;
}

static brook_err_t string_de(void *opaque, const char *topic, const void *data, size_t len, void **valuep,
                             char *errstr, size_t errstr_size) {
  return utf8_copy("string", data, len, (char **)valuep, errstr, errstr_size);
}

brook_serde_t *brook_serde_string_new(void) {
  static brook_serde_t *slot;
  static const brook_serde_funcs_t funcs = {string_ser, string_de, NULL, NULL};
  return builtin(&slot, "string", &funcs);
}

/* ---- i32 / i64 / double ---- */

static brook_err_t i32_ser(void *opaque, const char *topic, const void *value, brook_serde_buf_t *out,
                           char *errstr, size_t errstr_size) {
  brook_serde_put_i32(brook_serde_buf_grow(out, 4), *(const int32_t *)value);
  return BROOK_ERR_NONE;
}

static brook_err_t i32_de(void *opaque, const char *topic, const void *data, size_t len, void **valuep,
                          char *errstr, size_t errstr_size) {
  if (len != 4) return malformed(errstr, errstr_size, "i32: size of data received is %zu, not 4", len);
  int32_t *v = g_new(int32_t, 1);
  *v = brook_serde_get_i32(data);
  *valuep = v;
  return BROOK_ERR_NONE;
}

brook_serde_t *brook_serde_i32_new(void) {
  static brook_serde_t *slot;
  static const brook_serde_funcs_t funcs = {i32_ser, i32_de, NULL, NULL};
  return builtin(&slot, "i32", &funcs);
}

static brook_err_t i64_ser(void *opaque, const char *topic, const void *value, brook_serde_buf_t *out,
                           char *errstr, size_t errstr_size) {
  brook_serde_put_i64(brook_serde_buf_grow(out, 8), *(const int64_t *)value);
  return BROOK_ERR_NONE;
}

static brook_err_t i64_de(void *opaque, const char *topic, const void *data, size_t len, void **valuep,
                          char *errstr, size_t errstr_size) {
  if (len != 8) return malformed(errstr, errstr_size, "i64: size of data received is %zu, not 8", len);
  int64_t *v = g_new(int64_t, 1);
  *v = brook_serde_get_i64(data);
  *valuep = v;
  return BROOK_ERR_NONE;
}

brook_serde_t *brook_serde_i64_new(void) {
  static brook_serde_t *slot;
  static const brook_serde_funcs_t funcs = {i64_ser, i64_de, NULL, NULL};
  return builtin(&slot, "i64", &funcs);
}

static brook_err_t double_ser(void *opaque, const char *topic, const void *value, brook_serde_buf_t *out,
                              char *errstr, size_t errstr_size) {
  double d = *(const double *)value;
  int64_t bits;
  if (isnan(d))
    bits = INT64_C(0x7ff8000000000000); /* Double.doubleToLongBits' canonical NaN */
  else
    memcpy(&bits, &d, sizeof bits);
  brook_serde_put_i64(brook_serde_buf_grow(out, 8), bits);
  return BROOK_ERR_NONE;
}

static brook_err_t double_de(void *opaque, const char *topic, const void *data, size_t len, void **valuep,
                             char *errstr, size_t errstr_size) {
  if (len != 8) return malformed(errstr, errstr_size, "double: size of data received is %zu, not 8", len);
  int64_t bits = brook_serde_get_i64(data);
  double *v = g_new(double, 1);
  memcpy(v, &bits, sizeof *v);
  *valuep = v;
  return BROOK_ERR_NONE;
}

brook_serde_t *brook_serde_double_new(void) {
  static brook_serde_t *slot;
  static const brook_serde_funcs_t funcs = {double_ser, double_de, NULL, NULL};
  return builtin(&slot, "double", &funcs);
}

/* ---- void ---- */

static brook_err_t void_ser(void *opaque, const char *topic, const void *value, brook_serde_buf_t *out,
                            char *errstr, size_t errstr_size) {
  out->is_null = true;
  return BROOK_ERR_NONE;
}

static brook_err_t void_de(void *opaque, const char *topic, const void *data, size_t len, void **valuep,
                           char *errstr, size_t errstr_size) {
  return malformed(errstr, errstr_size, "void: data should be null, got %zu bytes", len);
}

brook_serde_t *brook_serde_void_new(void) {
  static brook_serde_t *slot;
  static const brook_serde_funcs_t funcs = {void_ser, void_de, NULL, NULL};
  return builtin(&slot, "void", &funcs);
}

/* ---- JSON (json-glib) ---- */

static brook_err_t json_ser(void *opaque, const char *topic, const void *value, brook_serde_buf_t *out,
                            char *errstr, size_t errstr_size) {
  /* json_to_string: compact (pretty = FALSE), UTF-8, non-ASCII kept as is. */
  char *text = json_to_string((JsonNode *)value, FALSE);
  if (!text) return malformed(errstr, errstr_size, "json: cannot serialize this node");
  brook_serde_buf_append(out, text, strlen(text));
  g_free(text);
  return BROOK_ERR_NONE;
}

static brook_err_t json_de(void *opaque, const char *topic, const void *data, size_t len, void **valuep,
                           char *errstr, size_t errstr_size) {
  char *text = NULL;
  brook_err_t err = utf8_copy("json", data, len, &text, errstr, errstr_size);
  if (err) return err;
  GError *gerr = NULL;
  JsonNode *node = json_from_string(text, &gerr);
  g_free(text);
  if (!node) {
    err = malformed(errstr, errstr_size, "json: %s", gerr ? gerr->message : "empty document");
    g_clear_error(&gerr);
    return err;
  }
  *valuep = node;
  return BROOK_ERR_NONE;
}

static void json_free(void *opaque, void *value) { json_node_unref(value); }

brook_serde_t *brook_serde_json_new(void) {
  static brook_serde_t *slot;
  static const brook_serde_funcs_t funcs = {json_ser, json_de, json_free, NULL};
  return builtin(&slot, "json", &funcs);
}

/* ---- windowed keys ---- */

typedef struct windowed {
  brook_serde_t *inner;
  int64_t window_size; /* time windows only */
  bool session;
} windowed_t;

static brook_err_t windowed_ser(void *opaque, const char *topic, const void *value, brook_serde_buf_t *out,
                                char *errstr, size_t errstr_size) {
  const windowed_t *w = opaque;
  const brook_windowed_t *wk = value;
  if (!wk->key)
    return malformed(errstr, errstr_size, "%s: windowed key has a NULL inner key",
                     w->session ? "session_windowed" : "time_windowed");
  brook_err_t err = w->inner->funcs.serialize(w->inner->opaque, topic, wk->key, out, errstr, errstr_size);
  if (err) return err;
  if (out->is_null)
    return malformed(errstr, errstr_size, "windowed: inner serde %s produced null for a key", w->inner->name);
  if (w->session) {
    uint8_t *p = brook_serde_buf_grow(out, 16);
    brook_serde_put_i64(p, wk->end);
    brook_serde_put_i64(p + 8, wk->start);
  } else {
    brook_serde_put_i64(brook_serde_buf_grow(out, 8), wk->start);
  }
  return BROOK_ERR_NONE;
}

static brook_err_t windowed_de(void *opaque, const char *topic, const void *data, size_t len, void **valuep,
                               char *errstr, size_t errstr_size) {
  const windowed_t *w = opaque;
  size_t suffix = w->session ? 16 : 8;
  if (len < suffix)
    return malformed(errstr, errstr_size, "%s: %zu bytes is shorter than the %zu-byte window suffix",
                     w->session ? "session_windowed" : "time_windowed", len, suffix);
  const uint8_t *p = data;
  size_t klen = len - suffix;
  brook_windowed_t *wk = g_new0(brook_windowed_t, 1);
  brook_err_t err =
      w->inner->funcs.deserialize(w->inner->opaque, topic, p, klen, &wk->key, errstr, errstr_size);
  if (err) {
    g_free(wk);
    return err;
  }
  if (w->session) {
    wk->end = brook_serde_get_i64(p + klen);
    wk->start = brook_serde_get_i64(p + klen + 8);
  } else {
    wk->start = brook_serde_get_i64(p + klen);
    /* timeWindowForSize: end = start + size, Long.MAX_VALUE on overflow. */
    int64_t end;
    wk->end = __builtin_add_overflow(wk->start, w->window_size, &end) ? INT64_MAX : end;
  }
  *valuep = wk;
  return BROOK_ERR_NONE;
}

static void windowed_free(void *opaque, void *value) {
  const windowed_t *w = opaque;
  brook_windowed_t *wk = value;
  brook_serde_free_value(w->inner, wk->key);
  g_free(wk);
}

static void windowed_destroy(void *opaque) {
  windowed_t *w = opaque;
  brook_serde_unref(w->inner);
  g_free(w);
}

static brook_serde_t *windowed_new(brook_serde_t *inner, bool session, int64_t window_size) {
  g_assert(inner);
  static const brook_serde_funcs_t funcs = {windowed_ser, windowed_de, windowed_free, windowed_destroy};
  windowed_t *w = g_new0(windowed_t, 1);
  w->inner = inner; /* transfer full */
  w->session = session;
  w->window_size = window_size;
  char *name = g_strdup_printf("%s<%s>", session ? "session_windowed" : "time_windowed", inner->name);
  brook_serde_t *serde = brook_serde_new(name, &funcs, w);
  g_free(name);
  return serde;
}

brook_serde_t *brook_serde_time_windowed_new(brook_serde_t *inner, int64_t window_size_ms) {
  return windowed_new(inner, false, window_size_ms);
}

brook_serde_t *brook_serde_session_windowed_new(brook_serde_t *inner) { return windowed_new(inner, true, 0); }
