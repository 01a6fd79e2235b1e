/*
 * batch.c — RecordBatch v2: produce-path validation, in-place rewrites,
 * record iteration, building and recompression. Layout: see batch.h.
 *
 * Design note
 *  - Validation (brook_records_validate) runs on every produce request, so it
 *    touches each byte exactly once (the CRC) and otherwise reads only the
 *    61-byte headers. With check_records, an uncompressed batch's records are
 *    walked by their varint framing (no copies) to prove that recordCount
 *    records fill the batch exactly. Compressed batches are never inflated
 *    here: that would cost the broker what it saves by storing client bytes.
 *  - Check order per batch mirrors Kafka's broker, so a client sees the error
 *    Kafka would send:  log overhead / batchLength too small or past the end
 *    -> CORRUPT_MESSAGE;  magic < 2 -> UNSUPPORTED_FOR_MESSAGE_FORMAT, > 2 ->
 *    CORRUPT_MESSAGE;  size > max.message.bytes -> MESSAGE_TOO_LARGE;  CRC ->
 *    CORRUPT_MESSAGE;  codec 5..7 -> UNSUPPORTED_COMPRESSION_TYPE;  count and
 *    offset range, sequence without producer id, mixed producer ids, record
 *    framing -> INVALID_RECORD.  An empty records field is INVALID_RECORD
 *    (Kafka: "must have at least one record batch").
 *  - Record framing (Kafka's DefaultRecord): varint length, then within that
 *    many bytes: attributes i8, timestampDelta varlong, offsetDelta varint,
 *    key (varint len, -1 null), value (same), header count varint >= 0, then
 *    per header key (len >= 0) and value (len >= -1). The record must end
 *    exactly at its length. Lengths and offsetDelta must fit int32 as in Kafka.
 *  - The CRC covers [21, end); baseOffset and partitionLeaderEpoch lie before
 *    it, so offset assignment rewrites 12 bytes and never recomputes it.
 * Bounds: validation is O(batch bytes) for the CRC plus O(records) varint
 * reads when check_records; iteration allocates one decompression buffer
 * bounded by brook_decompress_limit.
 */
#include <string.h>

#include "batch.h"

/* Field offsets inside a batch. */
#define OFF_BASE_OFFSET 0
#define OFF_LENGTH 8
#define OFF_LEADER_EPOCH 12
#define OFF_MAGIC 16
#define OFF_CRC 17
#define OFF_ATTRIBUTES 21
#define OFF_LAST_OFFSET_DELTA 23
#define OFF_BASE_TIMESTAMP 27
#define OFF_MAX_TIMESTAMP 35
#define OFF_PRODUCER_ID 43
#define OFF_PRODUCER_EPOCH 51
#define OFF_BASE_SEQUENCE 53
#define OFF_RECORD_COUNT 57

/* Smallest batchLength any message format can have (v0 record overhead);
 * Kafka rejects anything smaller before even looking at the magic. */
#define LEGACY_MIN_LENGTH 14
#define MIN_LENGTH (BROOK_BATCH_HDR_SIZE - BROOK_BATCH_LOG_OVERHEAD)
#define NO_TIMESTAMP (-1)

void brook_batch_hdr_parse(const uint8_t *p, brook_batch_hdr_t *h) {
  h->base_offset = (int64_t)brook_rd64(p + OFF_BASE_OFFSET);
  h->batch_length = (int32_t)brook_rd32(p + OFF_LENGTH);
  h->partition_leader_epoch = (int32_t)brook_rd32(p + OFF_LEADER_EPOCH);
  h->magic = (int8_t)p[OFF_MAGIC];
  h->crc = brook_rd32(p + OFF_CRC);
  h->attributes = (int16_t)brook_rd16(p + OFF_ATTRIBUTES);
  h->last_offset_delta = (int32_t)brook_rd32(p + OFF_LAST_OFFSET_DELTA);
  h->base_timestamp = (int64_t)brook_rd64(p + OFF_BASE_TIMESTAMP);
  h->max_timestamp = (int64_t)brook_rd64(p + OFF_MAX_TIMESTAMP);
  h->producer_id = (int64_t)brook_rd64(p + OFF_PRODUCER_ID);
  h->producer_epoch = (int16_t)brook_rd16(p + OFF_PRODUCER_EPOCH);
  h->base_sequence = (int32_t)brook_rd32(p + OFF_BASE_SEQUENCE);
  h->record_count = (int32_t)brook_rd32(p + OFF_RECORD_COUNT);
}

/* ---- record framing ---- */

typedef struct raw_record {
  int64_t timestamp_delta;
  int32_t offset_delta;
  brook_bytes_t key, value;
  int32_t header_count;
  const uint8_t *headers;
  size_t headers_len;
} raw_record_t;

/* A length-prefixed byte field: -1 is null; below that is malformed. */
static bool read_bytes_field(brook_rd_t *rd, brook_bytes_t *out, bool nullable) {
  int64_t n = brook_rd_varint(rd);
  if (rd->err || n < (nullable ? -1 : 0) || n > INT32_MAX) return false;
  out->len = (int32_t)n;
  out->ptr = NULL;
  if (n < 0) return true;
  out->ptr = brook_rd_take(rd, (size_t)n);
  return out->ptr != NULL;
}

bool brook_record_header_next(brook_rd_t *rd, brook_record_header_t *hdr) {
  return read_bytes_field(rd, &hdr->key, false) && read_bytes_field(rd, &hdr->value, true);
}

/* Reads one record from rd (which advances past it). False if malformed. */
static bool read_record(brook_rd_t *rd, raw_record_t *r) {
  int64_t len = brook_rd_varint(rd);
  if (rd->err || len < 1 || (uint64_t)len > brook_rd_remaining(rd)) return false;
  brook_rd_t body;
  brook_rd_init(&body, brook_rd_take(rd, (size_t)len), (size_t)len);
  (void)brook_rd_i8(&body); /* record attributes: unused by v2 */
  r->timestamp_delta = brook_rd_varint(&body);
  int64_t od = brook_rd_varint(&body);
  if (body.err || od < INT32_MIN || od > INT32_MAX) return false;
  r->offset_delta = (int32_t)od;
  if (!read_bytes_field(&body, &r->key, true) || !read_bytes_field(&body, &r->value, true)) return false;
  int64_t hc = brook_rd_varint(&body);
  /* Each header takes at least 2 bytes: a larger count cannot fit, and
   * refusing it early keeps the loop bounded by the record's own size. */
  if (body.err || hc < 0 || (uint64_t)hc > brook_rd_remaining(&body) / 2) return false;
  r->header_count = (int32_t)hc;
  r->headers = body.p;
  for (int64_t i = 0; i < hc; i++) {
    brook_record_header_t h;
    if (!brook_record_header_next(&body, &h)) return false;
  }
  r->headers_len = (size_t)(body.p - r->headers);
  return !body.err && body.p == body.end;
}

/* Walks count records over [p, p+n): they must fill it exactly. */
static bool walk_records(const uint8_t *p, size_t n, int32_t count) {
  brook_rd_t rd;
  brook_rd_init(&rd, p, n);
  raw_record_t r;
  for (int32_t i = 0; i < count; i++)
    if (!read_record(&rd, &r)) return false;
  return brook_rd_remaining(&rd) == 0;
}

/* ---- validation ---- */

static int32_t add_sequence(int32_t base, int32_t delta) {
  if (base < 0) return base;
  /* Kafka's sequences wrap from INT32_MAX to 0. */
  int64_t s = (int64_t)base + delta;
  return (int32_t)(s > INT32_MAX ? s - INT32_MAX - 1 : s);
}

/* Checks one batch at b with rem bytes available; *size gets its total size. */
static brook_err_t validate_batch(const uint8_t *b, size_t rem, const brook_validate_opts_t *opts,
                                  brook_batch_hdr_t *h, size_t *size) {
  if (rem < BROOK_BATCH_LOG_OVERHEAD) return BROOK_ERR_CORRUPT_MESSAGE;
  int32_t blen = (int32_t)brook_rd32(b + OFF_LENGTH);
  if (blen < LEGACY_MIN_LENGTH || rem <= OFF_MAGIC) return BROOK_ERR_CORRUPT_MESSAGE;
  int8_t magic = (int8_t)b[OFF_MAGIC];
  if (magic < 2) return BROOK_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
  if (magic > 2) return BROOK_ERR_CORRUPT_MESSAGE;
  if (blen < MIN_LENGTH || (size_t)blen > rem - BROOK_BATCH_LOG_OVERHEAD) return BROOK_ERR_CORRUPT_MESSAGE;
  *size = BROOK_BATCH_LOG_OVERHEAD + (size_t)blen;
  if (opts && opts->max_batch_bytes > 0 && *size > (size_t)opts->max_batch_bytes)
    return BROOK_ERR_MESSAGE_TOO_LARGE;
  brook_batch_hdr_parse(b, h);
  if (brook_crc32c(0, b + OFF_ATTRIBUTES, *size - OFF_ATTRIBUTES) != h->crc) return BROOK_ERR_CORRUPT_MESSAGE;
  int codec = h->attributes & BROOK_BATCH_ATTR_CODEC_MASK;
  if (codec > BROOK_CODEC_ZSTD) return BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE;
  if (h->last_offset_delta < 0 || h->record_count <= 0 ||
      (int64_t)h->last_offset_delta + 1 != h->record_count)
    return BROOK_ERR_INVALID_RECORD;
  if (h->producer_id >= 0 && h->base_sequence < 0) return BROOK_ERR_INVALID_RECORD;
  if (opts && opts->check_records && codec == BROOK_CODEC_NONE &&
      !walk_records(b + BROOK_BATCH_HDR_SIZE, *size - BROOK_BATCH_HDR_SIZE, h->record_count))
    return BROOK_ERR_INVALID_RECORD;
  return BROOK_ERR_NONE;
}

brook_err_t brook_records_validate(const uint8_t *p, size_t len, const brook_validate_opts_t *opts,
                                   brook_records_info_t *info) {
  memset(info, 0, sizeof *info);
  info->producer_id = BROOK_NO_PRODUCER_ID;
  info->producer_epoch = -1;
  info->first_sequence = info->last_sequence = BROOK_NO_SEQUENCE;
  info->first_timestamp = info->max_timestamp = NO_TIMESTAMP;
  if (len == 0) return BROOK_ERR_INVALID_RECORD;
  size_t off = 0;
  while (off < len) {
    brook_batch_hdr_t h;
    size_t size = 0;
    brook_err_t err = validate_batch(p + off, len - off, opts, &h, &size);
    if (err) return err;
    if (info->batch_count == 0) {
      info->first_timestamp = h.base_timestamp;
      info->max_timestamp = h.max_timestamp;
      info->producer_id = h.producer_id;
      info->producer_epoch = h.producer_epoch;
      info->first_sequence = h.base_sequence;
      info->codec = h.attributes & BROOK_BATCH_ATTR_CODEC_MASK;
    } else {
      if (h.producer_id != info->producer_id) return BROOK_ERR_INVALID_RECORD;
      if (h.max_timestamp > info->max_timestamp) info->max_timestamp = h.max_timestamp;
    }
    info->last_sequence = add_sequence(h.base_sequence, h.last_offset_delta);
    info->transactional |= (h.attributes & BROOK_BATCH_ATTR_TRANSACTIONAL) != 0;
    info->control |= (h.attributes & BROOK_BATCH_ATTR_CONTROL) != 0;
    info->batch_count++;
    info->record_count += h.record_count;
    if (size > (size_t)info->max_batch_size)
      info->max_batch_size = size > INT32_MAX ? INT32_MAX : (int32_t)size;
    off += size;
  }
  return BROOK_ERR_NONE;
}

/* ---- in-place rewrites ---- */

void brook_batch_set_base_offset(uint8_t *batch, int64_t base_offset) {
  brook_wr64(batch + OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void brook_batch_set_leader_epoch(uint8_t *batch, int32_t epoch) {
  brook_wr32(batch + OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void brook_batch_set_log_append_time(uint8_t *batch, int64_t ts) {
  size_t size = BROOK_BATCH_LOG_OVERHEAD + (size_t)brook_rd32(batch + OFF_LENGTH);
  uint16_t attrs = brook_rd16(batch + OFF_ATTRIBUTES);
  brook_wr16(batch + OFF_ATTRIBUTES, (uint16_t)(attrs | BROOK_BATCH_ATTR_LOG_APPEND_TIME));
  brook_wr64(batch + OFF_BASE_TIMESTAMP, (uint64_t)ts);
  brook_wr64(batch + OFF_MAX_TIMESTAMP, (uint64_t)ts);
  brook_wr32(batch + OFF_CRC, brook_crc32c(0, batch + OFF_ATTRIBUTES, size - OFF_ATTRIBUTES));
}

/* ---- iteration ---- */

/* Header checks shared by the iterator and recompression (which take batches
 * that were validated once, but must not crash if they were not). */
static brook_err_t check_frame(const uint8_t *b, size_t size, brook_batch_hdr_t *h) {
  if (size < BROOK_BATCH_HDR_SIZE) return BROOK_ERR_CORRUPT_MESSAGE;
  brook_batch_hdr_parse(b, h);
  if (h->magic < 2) return BROOK_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
  if (h->magic > 2) return BROOK_ERR_CORRUPT_MESSAGE;
  if (h->batch_length < MIN_LENGTH || (size_t)h->batch_length > size - BROOK_BATCH_LOG_OVERHEAD)
    return BROOK_ERR_CORRUPT_MESSAGE;
  if ((h->attributes & BROOK_BATCH_ATTR_CODEC_MASK) > BROOK_CODEC_ZSTD)
    return BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE;
  return BROOK_ERR_NONE;
}

brook_err_t brook_batch_iter_init(brook_batch_iter_t *it, const uint8_t *batch, size_t size) {
  memset(it, 0, sizeof *it);
  brook_buf_init(&it->plain);
  brook_rd_init(&it->rd, batch, 0);
  brook_err_t err = check_frame(batch, size, &it->hdr);
  if (!err && it->hdr.record_count < 0) err = BROOK_ERR_INVALID_RECORD;
  if (err) return it->err = err;
  const uint8_t *recs = batch + BROOK_BATCH_HDR_SIZE;
  size_t n = (size_t)brook_batch_size(&it->hdr) - BROOK_BATCH_HDR_SIZE;
  int codec = it->hdr.attributes & BROOK_BATCH_ATTR_CODEC_MASK;
  if (codec == BROOK_CODEC_NONE) {
    brook_rd_init(&it->rd, recs, n);
    return BROOK_ERR_NONE;
  }
  err = brook_decompress(codec, recs, n, &it->plain);
  if (err) return it->err = err;
  brook_rd_init(&it->rd, it->plain.data, it->plain.len);
  return BROOK_ERR_NONE;
}

int brook_batch_iter_next(brook_batch_iter_t *it, brook_record_t *rec) {
  if (it->err) return -1;
  if (it->index >= it->hdr.record_count) {
    if (brook_rd_remaining(&it->rd) != 0) {
      it->err = BROOK_ERR_INVALID_RECORD; /* bytes left after recordCount records */
      return -1;
    }
    return 0;
  }
  raw_record_t r;
  if (!read_record(&it->rd, &r)) {
    it->err = BROOK_ERR_INVALID_RECORD;
    return -1;
  }
  rec->offset = it->hdr.base_offset + r.offset_delta;
  /* LogAppendTime: every record carries the broker's time, kept in maxTimestamp. */
  rec->timestamp = (it->hdr.attributes & BROOK_BATCH_ATTR_LOG_APPEND_TIME)
                       ? it->hdr.max_timestamp
                       : (int64_t)((uint64_t)it->hdr.base_timestamp + (uint64_t)r.timestamp_delta);
  rec->key = r.key;
  rec->value = r.value;
  rec->header_count = r.header_count;
  rec->headers = r.headers;
  rec->headers_len = r.headers_len;
  it->index++;
  return 1;
}

void brook_batch_iter_free(brook_batch_iter_t *it) { brook_buf_free(&it->plain); }

/* ---- building ---- */

void brook_batch_builder_init(brook_batch_builder_t *b, int codec, int64_t base_timestamp) {
  memset(b, 0, sizeof *b);
  b->codec = codec;
  b->base_timestamp = base_timestamp;
  b->max_timestamp = NO_TIMESTAMP;
  b->producer_id = BROOK_NO_PRODUCER_ID;
  b->producer_epoch = -1;
  b->base_sequence = BROOK_NO_SEQUENCE;
  brook_buf_init(&b->records);
}

static size_t varint_size(int64_t v) {
  uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    n++;
  }
  return n;
}

static size_t field_size(brook_bytes_t f) { return f.len < 0 ? 1 : varint_size(f.len) + (size_t)f.len; }

static void put_field(brook_buf_t *buf, brook_bytes_t f) {
  if (f.len < 0) {
    brook_buf_put_varint(buf, -1);
    return;
  }
  brook_buf_put_varint(buf, f.len);
  brook_buf_put(buf, f.ptr, (size_t)f.len);
}

void brook_batch_builder_add_headers(brook_batch_builder_t *b, int64_t timestamp, brook_bytes_t key,
                                     brook_bytes_t value, const brook_record_header_t *headers, int32_t n) {
  int64_t ts_delta = (int64_t)((uint64_t)timestamp - (uint64_t)b->base_timestamp);
  size_t body = 1 + varint_size(ts_delta) + varint_size(b->count) + field_size(key) + field_size(value) +
                varint_size(n);
  for (int32_t i = 0; i < n; i++) body += field_size(headers[i].key) + field_size(headers[i].value);
  brook_buf_reserve(&b->records, body + 10);
  brook_buf_put_varint(&b->records, (int64_t)body);
  brook_buf_put_i8(&b->records, 0);
  brook_buf_put_varint(&b->records, ts_delta);
  brook_buf_put_varint(&b->records, b->count);
  put_field(&b->records, key);
  put_field(&b->records, value);
  brook_buf_put_varint(&b->records, n);
  for (int32_t i = 0; i < n; i++) {
    put_field(&b->records, headers[i].key);
    put_field(&b->records, headers[i].value);
  }
  if (timestamp > b->max_timestamp) b->max_timestamp = timestamp;
  b->count++;
}

void brook_batch_builder_add(brook_batch_builder_t *b, int64_t timestamp, brook_bytes_t key,
                             brook_bytes_t value) {
  brook_batch_builder_add_headers(b, timestamp, key, value, NULL, 0);
}

brook_err_t brook_batch_builder_finish(brook_batch_builder_t *b, brook_buf_t *out) {
  if (b->count == 0) return BROOK_ERR__STATE; /* Kafka has no use for an empty batch */
  size_t start = out->len;
  brook_buf_put_i64(out, 0);  /* baseOffset: the broker assigns it */
  brook_buf_put_i32(out, 0);  /* batchLength, patched below */
  brook_buf_put_i32(out, -1); /* partitionLeaderEpoch: unknown, as clients send */
  brook_buf_put_i8(out, 2);
  brook_buf_put_u32(out, 0); /* crc, patched below */
  brook_buf_put_i16(out, (int16_t)((b->codec & BROOK_BATCH_ATTR_CODEC_MASK) |
                                   (b->extra_attributes & ~BROOK_BATCH_ATTR_CODEC_MASK)));
  brook_buf_put_i32(out, b->count - 1);
  brook_buf_put_i64(out, b->base_timestamp);
  brook_buf_put_i64(out, b->max_timestamp);
  brook_buf_put_i64(out, b->producer_id);
  brook_buf_put_i16(out, b->producer_epoch);
  brook_buf_put_i32(out, b->base_sequence);
  brook_buf_put_i32(out, b->count);
  brook_err_t err = brook_compress(b->codec, b->records.data, b->records.len, out);
  if (!err && out->len - start > (size_t)INT32_MAX) err = BROOK_ERR_MESSAGE_TOO_LARGE;
  if (err) {
    out->len = start;
    return err;
  }
  uint8_t *batch = out->data + start;
  size_t size = out->len - start;
  brook_wr32(batch + OFF_LENGTH, (uint32_t)(size - BROOK_BATCH_LOG_OVERHEAD));
  brook_wr32(batch + OFF_CRC, brook_crc32c(0, batch + OFF_ATTRIBUTES, size - OFF_ATTRIBUTES));
  /* Ready for the next batch with the same settings. */
  brook_buf_reset(&b->records);
  b->count = 0;
  b->max_timestamp = NO_TIMESTAMP;
  return BROOK_ERR_NONE;
}

void brook_batch_builder_free(brook_batch_builder_t *b) { brook_buf_free(&b->records); }

/* ---- recompression ---- */

brook_err_t brook_records_recompress(const uint8_t *p, size_t len, int codec, brook_buf_t *out) {
  if (codec < BROOK_CODEC_NONE || codec > BROOK_CODEC_ZSTD) return BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE;
  size_t start = out->len;
  brook_buf_t plain;
  brook_buf_init(&plain);
  brook_err_t err = BROOK_ERR_NONE;
  size_t off = 0;
  while (off < len) {
    brook_batch_hdr_t h;
    if ((err = check_frame(p + off, len - off, &h))) break;
    const uint8_t *b = p + off;
    size_t size = (size_t)brook_batch_size(&h);
    off += size;
    int src = h.attributes & BROOK_BATCH_ATTR_CODEC_MASK;
    /* Same codec: the bytes are already what we want. Uncompressed control
     * batches stay uncompressed, as Kafka leaves them. */
    if (src == codec || (src == BROOK_CODEC_NONE && (h.attributes & BROOK_BATCH_ATTR_CONTROL))) {
      brook_buf_put(out, b, size);
      continue;
    }
    const uint8_t *recs = b + BROOK_BATCH_HDR_SIZE;
    size_t n = size - BROOK_BATCH_HDR_SIZE;
    if (src != BROOK_CODEC_NONE) {
      brook_buf_reset(&plain);
      if ((err = brook_decompress(src, recs, n, &plain))) break;
      recs = plain.data;
      n = plain.len;
    }
    size_t at = out->len;
    brook_buf_put(out, b, BROOK_BATCH_HDR_SIZE);
    brook_wr16(out->data + at + OFF_ATTRIBUTES,
               (uint16_t)(((uint16_t)h.attributes & ~BROOK_BATCH_ATTR_CODEC_MASK) | (uint16_t)codec));
    if ((err = brook_compress(codec, recs, n, out))) break;
    size_t nsize = out->len - at;
    if (nsize > (size_t)INT32_MAX) {
      err = BROOK_ERR_MESSAGE_TOO_LARGE;
      break;
    }
    brook_wr32(out->data + at + OFF_LENGTH, (uint32_t)(nsize - BROOK_BATCH_LOG_OVERHEAD));
    brook_wr32(out->data + at + OFF_CRC,
               brook_crc32c(0, out->data + at + OFF_ATTRIBUTES, nsize - OFF_ATTRIBUTES));
  }
  brook_buf_free(&plain);
  if (err) out->len = start;
  return err;
}
