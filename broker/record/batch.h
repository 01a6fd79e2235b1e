/*
 * batch.h — Kafka RecordBatch v2 (magic 2): parse, validate, rewrite, build.
 *
 * Wire layout of one batch (61-byte header, then records):
 *
 *   off  size  field
 *     0     8  baseOffset
 *     8     4  batchLength        bytes after this field (total = 12 + batchLength)
 *    12     4  partitionLeaderEpoch
 *    16     1  magic (2)
 *    17     4  crc                CRC-32C of bytes [21, end)
 *    21     2  attributes         bits 0-2 codec, 3 timestampType(1=LogAppendTime),
 *                                 4 isTransactional, 5 isControl, 6 hasDeleteHorizon
 *    23     4  lastOffsetDelta
 *    27     8  baseTimestamp
 *    35     8  maxTimestamp
 *    43     8  producerId
 *    51     2  producerEpoch
 *    53     4  baseSequence
 *    57     4  recordCount
 *    61        records (compressed as one blob when codec != none)
 *
 * Invariants the broker relies on:
 *  - baseOffset and partitionLeaderEpoch are outside the CRC: assigning offsets
 *    rewrites them in place without touching the CRC or the records.
 *  - Only what the broker must change (LogAppendTime, recompression to the
 *    topic's compression.type) costs a CRC recomputation or decompression.
 * @locality any (pure functions over caller-owned memory).
 */
#ifndef BROOK_BATCH_H
#define BROOK_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brook_err.h"
#include "buf.h"

#define BROOK_BATCH_HDR_SIZE 61
#define BROOK_BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */

enum {
  BROOK_CODEC_NONE = 0,
  BROOK_CODEC_GZIP = 1,
  BROOK_CODEC_SNAPPY = 2,
  BROOK_CODEC_LZ4 = 3,
  BROOK_CODEC_ZSTD = 4,
};

#define BROOK_BATCH_ATTR_CODEC_MASK 0x07
#define BROOK_BATCH_ATTR_LOG_APPEND_TIME 0x08
#define BROOK_BATCH_ATTR_TRANSACTIONAL 0x10
#define BROOK_BATCH_ATTR_CONTROL 0x20
#define BROOK_BATCH_ATTR_DELETE_HORIZON 0x40

#define BROOK_NO_PRODUCER_ID (-1)
#define BROOK_NO_SEQUENCE (-1)

typedef struct brook_batch_hdr {
  int64_t base_offset;
  int32_t batch_length;
  int32_t partition_leader_epoch;
  int8_t magic;
  uint32_t crc;
  int16_t attributes;
  int32_t last_offset_delta;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int32_t record_count;
} brook_batch_hdr_t;

/** Total bytes of the batch whose header is h (12 + batchLength). */
static inline int64_t brook_batch_size(const brook_batch_hdr_t *h) { return BROOK_BATCH_LOG_OVERHEAD + (int64_t)h->batch_length; }
static inline int64_t brook_batch_last_offset(const brook_batch_hdr_t *h) { return h->base_offset + h->last_offset_delta; }

/** Decodes the fixed header. p must hold at least BROOK_BATCH_HDR_SIZE bytes.
 *  Checks nothing but reads the fields. */
void brook_batch_hdr_parse(const uint8_t *p, brook_batch_hdr_t *h);

/** CRC-32C (Castagnoli), hardware-accelerated where the CPU has SSE4.2.
 *  crc starts at 0 for a fresh computation. */
uint32_t brook_crc32c(uint32_t crc, const void *p, size_t n);
/** The portable (slicing-by-8) implementation, whatever the CPU; for tests. */
uint32_t brook_crc32c_portable(uint32_t crc, const void *p, size_t n);
/** True when brook_crc32c uses the SSE4.2 crc32 instruction. */
bool brook_crc32c_has_hw(void);

/** What validating a produce request's records found (one partition's blob). */
typedef struct brook_records_info {
  int32_t batch_count;
  int64_t record_count;     /* sum of recordCount */
  int32_t max_batch_size;   /* largest batch, bytes incl. overhead */
  int64_t first_timestamp;  /* baseTimestamp of the first batch */
  int64_t max_timestamp;    /* max over batches */
  int64_t producer_id;      /* of the first batch; all batches must agree */
  int16_t producer_epoch;
  int32_t first_sequence;   /* baseSequence of the first batch */
  int32_t last_sequence;    /* baseSequence + lastOffsetDelta of the last batch */
  bool transactional;
  bool control;
  int codec;                /* of the first batch */
} brook_records_info_t;

typedef struct brook_validate_opts {
  int32_t max_batch_bytes;      /* max.message.bytes: larger batch -> MESSAGE_TOO_LARGE */
  bool check_records;           /* uncompressed: walk record framing (cheap; no copy) */
} brook_validate_opts_t;

/** Validates the records field of one partition of a ProduceRequest, as Kafka
 *  does before append: whole batches only, magic 2 (older magic ->
 *  UNSUPPORTED_FOR_MESSAGE_FORMAT), batchLength sane, CRC-32C matches
 *  (CORRUPT_MESSAGE), recordCount == lastOffsetDelta+1 and > 0 (INVALID_RECORD),
 *  a batch larger than max_batch_bytes (MESSAGE_TOO_LARGE), unknown codec
 *  (UNSUPPORTED_COMPRESSION_TYPE... Kafka says CORRUPT_MESSAGE for codec 5-7),
 *  mixed producer ids across batches (INVALID_RECORD), a producer id with
 *  baseSequence < 0 (INVALID_RECORD), no bytes at all (INVALID_RECORD); with
 *  check_records, uncompressed record framing (INVALID_RECORD). Compressed
 *  batches are not decompressed. Left to the caller (info has what it needs):
 *  Kafka's one-batch-per-partition rule for Produce v3+ (batch_count) and its
 *  refusal of control batches from clients (control). opts may be NULL (no
 *  size limit, no record walk). Fills info. Returns BROOK_ERR_NONE or the Kafka error. */
brook_err_t brook_records_validate(const uint8_t *p, size_t len, const brook_validate_opts_t *opts,
                                   brook_records_info_t *info);

/** Rewrites baseOffset of the batch at p. */
void brook_batch_set_base_offset(uint8_t *batch, int64_t base_offset);
/** Rewrites partitionLeaderEpoch of the batch at p (outside the CRC). */
void brook_batch_set_leader_epoch(uint8_t *batch, int32_t epoch);
/** Sets the LogAppendTime attribute and maxTimestamp = ts, recomputes the CRC.
 *  (Kafka also sets baseTimestamp to ts for LogAppendTime.) */
void brook_batch_set_log_append_time(uint8_t *batch, int64_t ts);

/** One record, decoded; pointers borrow from the (decompressed) batch data. */
typedef struct brook_record {
  int64_t offset;
  int64_t timestamp;
  brook_bytes_t key;   /* len -1: null */
  brook_bytes_t value; /* len -1: null (tombstone) */
  int32_t header_count;
  const uint8_t *headers; /* raw header bytes (count headers, varint-framed) */
  size_t headers_len;
} brook_record_t;

/** Iterates the records of one batch (decompressing into a private buffer).
 *  Usage: brook_batch_iter_t it; brook_batch_iter_init(&it, batch, size);
 *         while (brook_batch_iter_next(&it, &rec) == 1) ...;  brook_batch_iter_free(&it);
 *  next returns 1 (record), 0 (end), -1 (malformed: it.err says why). */
typedef struct brook_batch_iter {
  brook_batch_hdr_t hdr;
  brook_buf_t plain; /* decompressed records (empty when codec none) */
  brook_rd_t rd;
  int32_t index;
  brook_err_t err;
} brook_batch_iter_t;

brook_err_t brook_batch_iter_init(brook_batch_iter_t *it, const uint8_t *batch, size_t size);
int brook_batch_iter_next(brook_batch_iter_t *it, brook_record_t *rec);
void brook_batch_iter_free(brook_batch_iter_t *it);

/** One record header; key and value borrow like brook_record_t's fields. */
typedef struct brook_record_header {
  brook_bytes_t key;   /* never null (len >= 0) */
  brook_bytes_t value; /* len -1: null */
} brook_record_header_t;

/** Reads the next header from rec->headers: brook_rd_init(&rd, rec.headers,
 *  rec.headers_len), then call header_count times. Returns false on malformed
 *  input (never for a record the iterator returned: it checked the framing). */
bool brook_record_header_next(brook_rd_t *rd, brook_record_header_t *hdr);

/** Builds a batch (tests, benchmarks, the broker's own internal topics).
 *  brook_batch_builder_t b; brook_batch_builder_init(&b, codec, base_ts);
 *  brook_batch_builder_add(&b, ts, key, value, headers...) ...;
 *  brook_batch_builder_finish(&b, &out) appends one complete batch to out. */
typedef struct brook_batch_builder {
  int codec;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int16_t extra_attributes; /* transactional/control bits */
  int32_t count;
  brook_buf_t records;
} brook_batch_builder_t;

void brook_batch_builder_init(brook_batch_builder_t *b, int codec, int64_t base_timestamp);
void brook_batch_builder_add(brook_batch_builder_t *b, int64_t timestamp, brook_bytes_t key, brook_bytes_t value);
/** As brook_batch_builder_add, with n headers (header keys must not be null). */
void brook_batch_builder_add_headers(brook_batch_builder_t *b, int64_t timestamp, brook_bytes_t key,
                                     brook_bytes_t value, const brook_record_header_t *headers, int32_t n);
brook_err_t brook_batch_builder_finish(brook_batch_builder_t *b, brook_buf_t *out);
void brook_batch_builder_free(brook_batch_builder_t *b);

/** Re-encodes every batch of p[0..len) with codec (decompress + compress), for
 *  a topic whose compression.type is not "producer". Appends to out, offsets
 *  and producer fields kept, CRC recomputed. */
brook_err_t brook_records_recompress(const uint8_t *p, size_t len, int codec, brook_buf_t *out);

/** compress.c: Kafka's framing of each codec (gzip; snappy raw or xerial-framed
 *  on input, xerial-framed on output like the Java client; LZ4 frame with
 *  independent blocks; zstd frame). Appends to out; on error out is unchanged.
 *  Errors: UNSUPPORTED_COMPRESSION_TYPE (codec), CORRUPT_MESSAGE (bad input),
 *  MESSAGE_TOO_LARGE (output over the bound). */
brook_err_t brook_compress(int codec, const uint8_t *p, size_t len, brook_buf_t *out);
/** Decompresses with the default bound brook_decompress_limit(len). */
brook_err_t brook_decompress(int codec, const uint8_t *p, size_t len, brook_buf_t *out);
/** Decompresses, refusing (MESSAGE_TOO_LARGE) output larger than max_out bytes. */
brook_err_t brook_decompress_bounded(int codec, const uint8_t *p, size_t len, size_t max_out, brook_buf_t *out);
/** Default output bound for len compressed bytes: 1024 x len, at least 64 MiB,
 *  at most 1 GiB (a decompression bomb costs bounded memory, real data fits). */
size_t brook_decompress_limit(size_t len);
/** "none", "gzip", "snappy", "lz4", "zstd" -> codec; -1 if unknown. */
int brook_codec_from_name(const char *name);
const char *brook_codec_name(int codec);

#endif
