/*
 * compress.c — the four Kafka compression codecs, framed the way Kafka clients
 * write and read them (the "records" blob of a compressed RecordBatch v2).
 *
 * Design note
 *  - gzip:   RFC 1952 stream (zlib windowBits 15+16). Input is inflated with
 *            windowBits 15+32, which also takes a zlib-wrapped stream;
 *            concatenated gzip members are read one after another (as Java's
 *            GZIPInputStream does); bytes after the last member that do not
 *            start another member are ignored, as Java does.
 *  - snappy: output uses the xerial "snappy-java" framing the Java client
 *            writes: "\x82SNAPPY\0", int32 version 1, int32 min-compatible 1,
 *            then [int32 BE compressed length][raw snappy block] per 32 KiB of
 *            input. Input may be that framing or one raw snappy block
 *            (librdkafka, Sarama, kafkajs write raw); every client reads both.
 *  - lz4:    LZ4 frame format. Output: 64 KiB independent blocks, no content
 *            size, no checksums — what the Java client writes, because Java's
 *            reader decodes each block on its own (no linked blocks). Input:
 *            any valid frame(s) (lz4frame handles content size, checksums).
 *  - zstd:   one zstd frame (ZSTD_compress, level 3). Input is decoded with
 *            the streaming API, so frames without a content size (zstd-jni's
 *            streaming writer) and concatenated frames work.
 *
 * Invariants and bounds
 *  - Decompression never trusts a size the input declares: output grows as
 *    bytes are actually produced, and stops with MESSAGE_TOO_LARGE past
 *    max_out (default brook_decompress_limit: 1024x input, >= 64 MiB,
 *    <= 1 GiB). A decompression bomb therefore costs bounded memory.
 *  - Inputs above INT32_MAX are refused (a batch cannot be that large; zlib's
 *    counters are 32-bit).
 *  - On any error out->len is restored: callers never see half an output.
 */
#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "batch.h"

#define LIMIT_FLOOR ((size_t)64 << 20)
#define LIMIT_CEIL ((size_t)1 << 30)
#define LIMIT_RATIO 1024

#define XERIAL_BLOCK (32 * 1024)
#define XERIAL_HDR_SIZE 16
#define SNAPPY_MAX_RATIO 22
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

size_t brook_decompress_limit(size_t len) {
  size_t lim = len > LIMIT_CEIL / LIMIT_RATIO ? LIMIT_CEIL : len * LIMIT_RATIO;
  if (lim < LIMIT_FLOOR) lim = LIMIT_FLOOR;
  return lim;
}

int brook_codec_from_name(const char *name) {
  if (!name) return -1;
  if (!strcmp(name, "none") || !strcmp(name, "uncompressed")) return BROOK_CODEC_NONE;
  if (!strcmp(name, "gzip")) return BROOK_CODEC_GZIP;
  if (!strcmp(name, "snappy")) return BROOK_CODEC_SNAPPY;
  if (!strcmp(name, "lz4")) return BROOK_CODEC_LZ4;
  if (!strcmp(name, "zstd")) return BROOK_CODEC_ZSTD;
  return -1;
}

const char *brook_codec_name(int codec) {
  switch (codec) {
    case BROOK_CODEC_NONE:
      return "none";
    case BROOK_CODEC_GZIP:
      return "gzip";
    case BROOK_CODEC_SNAPPY:
      return "snappy";
    case BROOK_CODEC_LZ4:
      return "lz4";
    case BROOK_CODEC_ZSTD:
      return "zstd";
    default:
      return "unknown";
  }
}

/* ---- output growth shared by the streaming decoders ---- */

/* Makes room for the next decoder step: returns how many bytes the decoder may
 * write at out->data + out->len. One byte more than the bound is offered so that
 * "exactly max_out bytes" is told apart from "more than max_out". */
static size_t grow(brook_buf_t *out, size_t start, size_t max_out, size_t hint) {
  size_t produced = out->len - start;
  size_t allowed = max_out - produced + 1; /* produced <= max_out here */
  size_t want = out->cap - out->len;
  if (want < 16384) {
    want = hint > 16384 ? hint : 16384;
    if (produced > want) want = produced; /* doubling */
    if (want > allowed) want = allowed;
    brook_buf_reserve(out, want);
  }
  size_t room = out->cap - out->len;
  return room < allowed ? room : allowed;
}

/* ---- gzip ---- */

static brook_err_t gzip_compress(const uint8_t *p, size_t len, brook_buf_t *out) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return BROOK_ERR__FAIL;
  size_t bound = deflateBound(&zs, (uLong)len);
  brook_buf_reserve(out, bound);
  zs.next_in = (Bytef *)(uintptr_t)p;
  zs.avail_in = (uInt)len;
  zs.next_out = out->data + out->len;
  zs.avail_out = (uInt)bound;
  int rc = deflate(&zs, Z_FINISH);
  size_t n = bound - zs.avail_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return BROOK_ERR__FAIL; /* cannot happen with deflateBound */
  out->len += n;
  return BROOK_ERR_NONE;
}

static brook_err_t gzip_decompress(const uint8_t *p, size_t len, size_t max_out, brook_buf_t *out) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return BROOK_ERR__FAIL;
  size_t start = out->len;
  brook_err_t err = BROOK_ERR_NONE;
  zs.next_in = (Bytef *)(uintptr_t)p;
  zs.avail_in = (uInt)len;
  for (;;) {
    size_t room = grow(out, start, max_out, len * 4);
    if (room > UINT_MAX) room = UINT_MAX;
    zs.next_out = out->data + out->len;
    zs.avail_out = (uInt)room;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out->len += room - zs.avail_out;
    if (out->len - start > max_out) {
      err = BROOK_ERR_MESSAGE_TOO_LARGE;
      break;
    }
    if (rc == Z_STREAM_END) {
      /* Another gzip member follows? (1f 8b) Otherwise stop, like Java. */
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        if (inflateReset(&zs) != Z_OK) {
          err = BROOK_ERR__FAIL;
          break;
        }
        continue;
      }
      break;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue; /* wanted more room */
    err = BROOK_ERR_CORRUPT_MESSAGE;                      /* data error, truncated input, need dict */
    break;
  }
  inflateEnd(&zs);
  if (err) out->len = start;
  return err;
}

/* ---- snappy ---- */

static brook_err_t snappy_compress_xerial(const uint8_t *p, size_t len, brook_buf_t *out) {
  brook_buf_put(out, xerial_magic, sizeof xerial_magic);
  brook_buf_put_i32(out, 1); /* format version */
  brook_buf_put_i32(out, 1); /* minimum compatible version */
  for (size_t off = 0; off < len; off += XERIAL_BLOCK) {
    size_t n = len - off < XERIAL_BLOCK ? len - off : XERIAL_BLOCK;
    size_t cap = snappy_max_compressed_length(n);
    brook_buf_reserve(out, 4 + cap);
    size_t at = out->len;
    size_t clen = cap;
    if (snappy_compress((const char *)p + off, n, (char *)out->data + at + 4, &clen) != SNAPPY_OK)
      return BROOK_ERR__FAIL;
    brook_wr32(out->data + at, (uint32_t)clen);
    out->len = at + 4 + clen;
  }
  return BROOK_ERR_NONE;
}

/* One raw snappy block: the declared length is checked against the bound
 * before anything is allocated. */
static brook_err_t snappy_block(const uint8_t *p, size_t len, size_t start, size_t max_out,
                                brook_buf_t *out) {
  size_t n;
  if (snappy_uncompressed_length((const char *)p, len, &n) != SNAPPY_OK) return BROOK_ERR_CORRUPT_MESSAGE;
  /* No snappy element expands more than 64 bytes from 3 input bytes, so a
   * larger declared length is a lie: refuse it before allocating. */
  if (n > SNAPPY_MAX_RATIO * len + 64) return BROOK_ERR_CORRUPT_MESSAGE;
  if (n > max_out - (out->len - start)) return BROOK_ERR_MESSAGE_TOO_LARGE;
  brook_buf_reserve(out, n);
  size_t got = n;
  if (snappy_uncompress((const char *)p, len, (char *)out->data + out->len, &got) != SNAPPY_OK || got != n)
    return BROOK_ERR_CORRUPT_MESSAGE;
  out->len += n;
  return BROOK_ERR_NONE;
}

static brook_err_t snappy_decompress(const uint8_t *p, size_t len, size_t max_out, brook_buf_t *out) {
  size_t start = out->len;
  brook_err_t err = BROOK_ERR_NONE;
  if (len >= XERIAL_HDR_SIZE && !memcmp(p, xerial_magic, sizeof xerial_magic)) {
    /* The version fields are not checked: every writer in the wild uses 1/1
     * and readers (librdkafka, kafka-python) ignore them too. */
    size_t off = XERIAL_HDR_SIZE;
    while (off < len) {
      if (len - off < 4) {
        err = BROOK_ERR_CORRUPT_MESSAGE;
        break;
      }
      uint32_t blen = brook_rd32(p + off);
      off += 4;
      if (blen > len - off) {
        err = BROOK_ERR_CORRUPT_MESSAGE;
        break;
      }
      if ((err = snappy_block(p + off, blen, start, max_out, out))) break;
      off += blen;
    }
  } else {
    err = snappy_block(p, len, start, max_out, out);
  }
  if (err) out->len = start;
  return err;
}

/* ---- lz4 ---- */

static brook_err_t lz4_compress(const uint8_t *p, size_t len, brook_buf_t *out) {
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.frameType = LZ4F_frame;
  prefs.frameInfo.contentSize = 0;
  prefs.compressionLevel = 0; /* fast */
  size_t bound = LZ4F_compressFrameBound(len, &prefs);
  brook_buf_reserve(out, bound);
  size_t n = LZ4F_compressFrame(out->data + out->len, bound, p, len, &prefs);
  if (LZ4F_isError(n)) return BROOK_ERR__FAIL;
  out->len += n;
  return BROOK_ERR_NONE;
}

static brook_err_t lz4_decompress(const uint8_t *p, size_t len, size_t max_out, brook_buf_t *out) {
  LZ4F_dctx *dctx;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) return BROOK_ERR__FAIL;
  size_t start = out->len;
  brook_err_t err = BROOK_ERR_NONE;
  size_t off = 0;
  for (;;) {
    size_t room = grow(out, start, max_out, len * 4);
    size_t src = len - off, dst = room;
    /* hint 0: the frame is complete (the context then takes a next frame). */
    size_t hint = LZ4F_decompress(dctx, out->data + out->len, &dst, p + off, &src, NULL);
    if (LZ4F_isError(hint)) {
      err = BROOK_ERR_CORRUPT_MESSAGE;
      break;
    }
    off += src;
    out->len += dst;
    if (out->len - start > max_out) {
      err = BROOK_ERR_MESSAGE_TOO_LARGE;
      break;
    }
    if (hint == 0 && off == len) break;
    if (src == 0 && dst == 0) {
      /* No progress although there was room: input ends inside a frame. */
      err = BROOK_ERR_CORRUPT_MESSAGE;
      break;
    }
  }
  LZ4F_freeDecompressionContext(dctx);
  if (err) out->len = start;
  return err;
}

/* ---- zstd ---- */

#define ZSTD_LEVEL 3

static brook_err_t zstd_compress(const uint8_t *p, size_t len, brook_buf_t *out) {
  size_t bound = ZSTD_compressBound(len);
  brook_buf_reserve(out, bound);
  size_t n = ZSTD_compress(out->data + out->len, bound, p, len, ZSTD_LEVEL);
  if (ZSTD_isError(n)) return BROOK_ERR__FAIL;
  out->len += n;
  return BROOK_ERR_NONE;
}

static brook_err_t zstd_decompress(const uint8_t *p, size_t len, size_t max_out, brook_buf_t *out) {
  ZSTD_DCtx *dctx = ZSTD_createDCtx();
  if (!dctx) return BROOK_ERR__NOMEM;
  size_t start = out->len;
  brook_err_t err = BROOK_ERR_NONE;
  ZSTD_inBuffer in = {p, len, 0};
  size_t ret = 1; /* 0 = a frame just ended */
  for (;;) {
    size_t room = grow(out, start, max_out, len * 4);
    ZSTD_outBuffer ob = {out->data + out->len, room, 0};
    size_t before = in.pos;
    ret = ZSTD_decompressStream(dctx, &ob, &in);
    if (ZSTD_isError(ret)) {
      err = BROOK_ERR_CORRUPT_MESSAGE;
      break;
    }
    out->len += ob.pos;
    if (out->len - start > max_out) {
      err = BROOK_ERR_MESSAGE_TOO_LARGE;
      break;
    }
    if (in.pos == in.size && ret == 0) break; /* all frames complete */
    if (ob.pos < ob.size && (in.pos == in.size || (ob.pos == 0 && in.pos == before))) {
      /* Room left but no input (or no progress), yet the frame is incomplete. */
      err = BROOK_ERR_CORRUPT_MESSAGE;
      break;
    }
  }
  ZSTD_freeDCtx(dctx);
  if (err) out->len = start;
  return err;
}

/* ---- dispatch ---- */

brook_err_t brook_compress(int codec, const uint8_t *p, size_t len, brook_buf_t *out) {
  if (len > INT32_MAX) return BROOK_ERR_MESSAGE_TOO_LARGE;
  size_t start = out->len;
  brook_err_t err;
  switch (codec) {
    case BROOK_CODEC_NONE:
      brook_buf_put(out, p, len);
      return BROOK_ERR_NONE;
    case BROOK_CODEC_GZIP:
      err = gzip_compress(p, len, out);
      break;
    case BROOK_CODEC_SNAPPY:
      err = snappy_compress_xerial(p, len, out);
      break;
    case BROOK_CODEC_LZ4:
      err = lz4_compress(p, len, out);
      break;
    case BROOK_CODEC_ZSTD:
      err = zstd_compress(p, len, out);
      break;
    default:
      return BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE;
  }
  if (err) out->len = start;
  return err;
}

brook_err_t brook_decompress_bounded(int codec, const uint8_t *p, size_t len, size_t max_out,
                                     brook_buf_t *out) {
  if (len > INT32_MAX) return BROOK_ERR_MESSAGE_TOO_LARGE;
  if (max_out > SIZE_MAX / 2) max_out = SIZE_MAX / 2; /* grow() adds one */
  switch (codec) {
    case BROOK_CODEC_NONE:
      if (len > max_out) return BROOK_ERR_MESSAGE_TOO_LARGE;
      brook_buf_put(out, p, len);
      return BROOK_ERR_NONE;
    case BROOK_CODEC_GZIP:
      return gzip_decompress(p, len, max_out, out);
    case BROOK_CODEC_SNAPPY:
      return snappy_decompress(p, len, max_out, out);
    case BROOK_CODEC_LZ4:
      return lz4_decompress(p, len, max_out, out);
    case BROOK_CODEC_ZSTD:
      return zstd_decompress(p, len, max_out, out);
    default:
      return BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE;
  }
}

brook_err_t brook_decompress(int codec, const uint8_t *p, size_t len, brook_buf_t *out) {
  return brook_decompress_bounded(codec, p, len, brook_decompress_limit(len), out);
}
