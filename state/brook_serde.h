/*
 * brook_serde.h — serializers/deserializers ("serdes") for keys and values.
 *
 * A serde turns an in-memory value into bytes and back. The built-ins write
 * exactly the bytes Kafka's standard Java serializers write, so a brook
 * application and a Java/Kafka Streams application can share topics:
 *
 *   serde             value pointer type          bytes (Kafka class)
 *   bytes             brook_serde_bytes_t *       as is (ByteArraySerializer)
 *   string            char * (NUL-terminated)     UTF-8 (StringSerializer)
 *   i32               int32_t *                   4 bytes big-endian (IntegerSerializer)
 *   i64               int64_t *                   8 bytes big-endian (LongSerializer)
 *   double            double *                    IEEE 754 binary64 big-endian (DoubleSerializer)
 *   void              (ignored)                   always null (VoidSerializer)
 *   json              JsonNode * (json-glib)      compact UTF-8 JSON text
 *   time_windowed     brook_windowed_t *          inner key + 8-byte BE start (TimeWindowedSerializer)
 *   session_windowed  brook_windowed_t *          inner key + 8-byte BE end + 8-byte BE start
 *                                                 (SessionWindowedSerializer)
 *
 * Null: a NULL value serializes to null bytes and null bytes (data == NULL)
 * deserialize to a NULL value, for every serde, without calling the callbacks —
 * as Kafka's serializers map null to null. Empty bytes (data != NULL, len 0)
 * are not null.
 *
 * Ownership: brook_serde_deserialize hands out a value the caller owns and
 * frees with brook_serde_free_value (the serde knows how: g_free, json_node_unref,
 * the windowed free that also frees the inner key). Serialize never takes
 * ownership of the value. Serdes are reference counted (windowed serdes hold a
 * the reference to their inner serde they were given); every constructor
 * returns one reference.
 *
 * Threads: a serde is immutable after construction; serialize, deserialize and
 * free_value may be called from any thread concurrently if the callbacks allow
 * it (all built-ins do). ref/unref are atomic.
 */
#ifndef BROOK_SERDE_H
#define BROOK_SERDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brook_err.h"

typedef struct brook_serde brook_serde_t;

/** Output of a serializer: a growable byte buffer the caller owns and reuses
 *  (initialise with BROOK_SERDE_BUF_INIT or brook_serde_buf_init, release with
 *  brook_serde_buf_clear). `is_null` set means the serialized form is null
 *  (a tombstone as a value); then data/len are meaningless. */
typedef struct brook_serde_buf {
  uint8_t *data; /**< g_malloc'd; owned by the buffer */
  size_t len;
  size_t cap;
  bool is_null;
} brook_serde_buf_t;

#define BROOK_SERDE_BUF_INIT \
  { NULL, 0, 0, false }

/** Value type of the bytes serde: a byte string. Deserialize returns one
 *  allocation holding the struct and the bytes (data points inside it). To
 *  serialize, point data at your own bytes (transfer none). */
typedef struct brook_serde_bytes {
  const uint8_t *data;
  size_t len;
} brook_serde_bytes_t;

/** Value type of the windowed serdes: an inner key and its window [start, end].
 *  In a deserialized value, key is owned by the windowed value (freed with it
 *  by brook_serde_free_value); to serialize, key is borrowed. */
typedef struct brook_windowed {
  void *key;     /**< a value of the inner serde's type; never NULL when serializing */
  int64_t start; /**< window start, ms */
  int64_t end;   /**< window end, ms (time windows: start + window size, saturated) */
} brook_windowed_t;

/** Callbacks of a serde. serialize appends the bytes of `value` (never NULL) to
 *  `out` with brook_serde_buf_append/brook_serde_buf_grow — `out` may already
 *  hold bytes (the windowed serdes call their inner serde that way) — or sets
 *  out->is_null. deserialize parses data[0..len) (data never NULL) into a new
 *  value (transfer full) or returns an error (use BROOK_ERR__MALFORMED) and
 *  fills errstr. free_value frees what deserialize returned (NULL: g_free).
 *  destroy frees `opaque` when the last reference goes (may be NULL). `topic`
 *  is whatever the caller passed (may be NULL); Kafka passes the topic so that
 *  schema-aware serdes can look up subjects. */
typedef struct brook_serde_funcs {
  brook_err_t (*serialize)(void *opaque, const char *topic, const void *value, brook_serde_buf_t *out,
                           char *errstr, size_t errstr_size);
  brook_err_t (*deserialize)(void *opaque, const char *topic, const void *data, size_t len, void **valuep,
                             char *errstr, size_t errstr_size);
  void (*free_value)(void *opaque, void *value);
  void (*destroy)(void *opaque);
} brook_serde_funcs_t;

/* ---- construction ---- */

/** A custom serde from user callbacks. `name` is copied (for messages).
 *  serialize and deserialize are required. (transfer full) @locality any */
brook_serde_t *brook_serde_new(const char *name, const brook_serde_funcs_t *funcs, void *opaque);

/** Built-ins. Each returns a new reference. (transfer full) @locality any */
brook_serde_t *brook_serde_bytes_new(void);
brook_serde_t *brook_serde_string_new(void);
brook_serde_t *brook_serde_i32_new(void);
brook_serde_t *brook_serde_i64_new(void);
brook_serde_t *brook_serde_double_new(void);
brook_serde_t *brook_serde_void_new(void);
brook_serde_t *brook_serde_json_new(void);

/** Kafka Streams' TimeWindowedSerializer/Deserializer: inner key bytes, then the
 *  window start as 8 bytes big-endian. The serialized form has no end; the
 *  deserializer sets end = start + window_size_ms (saturating at INT64_MAX, as
 *  Kafka's timeWindowForSize; pass INT64_MAX when unknown, Kafka's default).
 *  Takes over the caller's reference to `inner` (transfer full), so
 *  brook_serde_time_windowed_new(brook_serde_string_new(), 60000) leaks nothing. */
brook_serde_t *brook_serde_time_windowed_new(brook_serde_t *inner, int64_t window_size_ms);

/** Kafka Streams' SessionWindowedSerializer/Deserializer: inner key bytes, then
 *  the session end and the session start, each 8 bytes big-endian. Takes over
 *  the caller's reference to `inner` (transfer full). */
brook_serde_t *brook_serde_session_windowed_new(brook_serde_t *inner);

/** Reference counting. ref returns its argument; unref(NULL) is a no-op. */
brook_serde_t *brook_serde_ref(brook_serde_t *serde);
void brook_serde_unref(brook_serde_t *serde);

/** The serde's name ("i32", "string", "time_windowed<string>", or the custom
 *  name). (transfer none, valid while the serde lives) */
const char *brook_serde_name(const brook_serde_t *serde);

/* ---- use ---- */

/** Serializes `value` (transfer none; NULL = null) into `out`, which is reset
 *  first. On error `out` holds nothing useful and errstr says why. */
brook_err_t brook_serde_serialize(brook_serde_t *serde, const char *topic, const void *value,
                                  brook_serde_buf_t *out, char *errstr, size_t errstr_size);

/** Deserializes data[0..len) (data == NULL: null → *valuep = NULL). On success
 *  *valuep is a new value (transfer full: brook_serde_free_value with this same
 *  serde). Malformed input gives BROOK_ERR__MALFORMED and a message naming the
 *  serde, e.g. "i32: size of data received is 3, not 4". */
brook_err_t brook_serde_deserialize(brook_serde_t *serde, const char *topic, const void *data, size_t len,
                                    void **valuep, char *errstr, size_t errstr_size);

/** Frees a value returned by brook_serde_deserialize. NULL is a no-op. */
void brook_serde_free_value(brook_serde_t *serde, void *value);

/* ---- output buffer ---- */

void brook_serde_buf_init(brook_serde_buf_t *buf);
/** Frees the buffer's memory and re-initialises it. */
void brook_serde_buf_clear(brook_serde_buf_t *buf);
/** len = 0, is_null = false; keeps the memory for reuse. */
void brook_serde_buf_reset(brook_serde_buf_t *buf);
/** Appends n bytes. */
void brook_serde_buf_append(brook_serde_buf_t *buf, const void *data, size_t n);
/** Makes room for n more bytes, advances len by n and returns where they go
 *  (transfer none, valid until the next grow/append). */
uint8_t *brook_serde_buf_grow(brook_serde_buf_t *buf, size_t n);

/* ---- small helpers for callers that want typed values without a serde ---- */

/** Big-endian encoders/decoders used by the built-ins (and handy in custom
 *  serdes). `p` must have room for 4/8 bytes. @locality any */
void brook_serde_put_i32(uint8_t *p, int32_t v);
void brook_serde_put_i64(uint8_t *p, int64_t v);
int32_t brook_serde_get_i32(const uint8_t *p);
int64_t brook_serde_get_i64(const uint8_t *p);

#endif
