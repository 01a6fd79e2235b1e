/*
 * log.h — one partition's durable log, in Kafka's on-disk layout.
 *
 *   <dir> = <log.dirs>/<topic>-<partition>/
 *     00000000000000000000.log        record batches exactly as on the wire
 *     00000000000000000000.index      8-byte entries: relOffset(i32) position(i32)
 *     00000000000000000000.timeindex  12-byte entries: timestamp(i64) relOffset(i32)
 *   Files are named by the 20-digit, zero-padded base offset of the segment.
 *
 * Design note
 *  - A log is a list of segments ordered by base offset; only the last (active)
 *    segment is appended to. A segment rolls when the next append would make it
 *    exceed segment.bytes, when its first batch is older than segment.ms, or when
 *    an index would overflow. Index entries are added every index.interval.bytes
 *    of log data; time index entries whenever a batch's max timestamp exceeds the
 *    segment's largest so far (Kafka's rule). Indexes are kept in memory for
 *    lookups and appended to their files as they grow.
 *  - Appends: the caller hands validated batches (see record/batch.h); the log
 *    assigns offsets by rewriting each batch's baseOffset in place, then writes
 *    them with one write(). A failed or short write (ENOSPC, EIO, EFBIG) is
 *    undone with ftruncate to the previous size, so the log is exactly as
 *    before; the caller gets KAFKA_STORAGE_ERROR.
 *  - Durability: an append returns once write() has handed the bytes to the
 *    kernel (they survive the process being killed). fsync happens on
 *    flush.messages / flush.ms, on roll (the rolled segment), and at close;
 *    the recovery point is the offset below which everything was fsynced.
 *  - Recovery (brook_log_open with clean=false): segments holding offsets at or
 *    after the recovery point are scanned batch by batch (length, magic, CRC);
 *    at the first invalid or torn batch the segment is truncated there and later
 *    segments are deleted; indexes of scanned segments are rebuilt. With
 *    clean=true nothing is scanned (indexes are trusted, but an index whose
 *    size is not a multiple of its entry size is rebuilt anyway).
 *  - Retention deletes whole segments from the front (never the active one):
 *    by time (segment's largest timestamp older than retention.ms) and by size
 *    (total bytes over retention.bytes); DeleteRecords moves the log start
 *    offset explicitly and deletes segments that lie wholly below it.
 *  - Reads hand out file ranges (brook_log_slice_t) holding a reference on the
 *    segment file, so a segment deleted by retention stays readable until
 *    every in-flight fetch response that splices it has been sent.
 *
 * @locality one thread owns a log (the broker loop); nothing here locks.
 *           fsync of rolled segments may run on a worker thread internally.
 */
#ifndef BROOK_LOG_H
#define BROOK_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "brook_err.h"
#include "buf.h"

typedef struct brook_log brook_log_t;

typedef struct brook_log_conf {
  int64_t segment_bytes;        /* segment.bytes (default 1 GiB) */
  int64_t segment_ms;           /* segment.ms (default 7 days) */
  int64_t retention_ms;         /* retention.ms, -1 = unlimited */
  int64_t retention_bytes;      /* retention.bytes, -1 = unlimited */
  int32_t index_interval_bytes; /* index.interval.bytes (4096) */
  int32_t segment_index_bytes;  /* segment.index.bytes (10 MiB): max index file size */
  int64_t flush_messages;       /* flush.messages: fsync after this many messages (INT64_MAX = never) */
  int64_t flush_ms;             /* flush.ms: fsync when oldest unflushed data is older (INT64_MAX = never) */
} brook_log_conf_t;

/** Kafka's defaults for every field. */
void brook_log_conf_defaults(brook_log_conf_t *conf);

/** Opens (creating the directory if missing) the log in dir.
 *  recovery_point: from the recovery-point checkpoint (0 if unknown).
 *  log_start_offset: from the log-start-offset checkpoint (-1 if unknown: then
 *  the first segment's base offset).
 *  clean: the broker shut down cleanly (skip the recovery scan).
 *  On error returns non-zero and writes a message naming the file to errstr. */
brook_err_t brook_log_open(const char *dir, const brook_log_conf_t *conf, int64_t recovery_point,
                           int64_t log_start_offset, bool clean, brook_log_t **logp, char *errstr,
                           size_t errstr_size);

/** Flushes (fsync), writes exact index sizes, closes files. NULL is a no-op. */
void brook_log_close(brook_log_t *log);

/** Tests only: frees the log the way a crash leaves it — no fsync, pending
 *  index entries and the final time index entry are not written (queued
 *  background fsyncs are waited for, they are harmless). NULL is a no-op. */
void brook_log_abandon(brook_log_t *log);

/** Closes and removes the directory with all its files (DeleteTopics). */
brook_err_t brook_log_delete(brook_log_t *log);

/** Applies new per-topic settings (AlterConfigs); takes effect on the next append/retention pass. */
void brook_log_set_conf(brook_log_t *log, const brook_log_conf_t *conf);

typedef struct brook_append_info {
  int64_t first_offset;     /* offset assigned to the first record */
  int64_t last_offset;      /* offset of the last record */
  int64_t log_start_offset; /* after the append */
  bool rolled;              /* a new segment was started */
} brook_append_info_t;

/** Appends validated batches (p[0..len) holds whole batches). Rewrites their
 *  baseOffset in place (p is modified). Rolls first if needed. On I/O failure
 *  the log is left exactly as before and BROOK_ERR_KAFKA_STORAGE_ERROR is
 *  returned (errno-based detail is logged). now_ms drives segment.ms. */
brook_err_t brook_log_append(brook_log_t *log, uint8_t *p, size_t len, int64_t now_ms, brook_append_info_t *info);

int64_t brook_log_start_offset(const brook_log_t *log);
/** Log end offset: the next offset to be assigned. */
int64_t brook_log_end_offset(const brook_log_t *log);
int64_t brook_log_recovery_point(const brook_log_t *log);
/** Total bytes of all segments. */
int64_t brook_log_size_bytes(const brook_log_t *log);
int brook_log_segment_count(const brook_log_t *log);

/** A read result: a range of whole batches of one segment file. */
typedef struct brook_log_slice {
  brook_fileref_t file; /* fd/pos/len + a segment reference; release via file.release(file.ctx) */
  int64_t first_offset; /* base offset of the first batch in the slice */
  int64_t last_offset;  /* last offset of the last batch in the slice */
} brook_log_slice_t;

/** Reads whole batches starting with the batch that contains offset, from one
 *  segment, up to max_bytes; batches whose base offset is >= max_offset
 *  (exclusive: the high watermark or last stable offset) are not included.
 *  If the first batch alone is larger than max_bytes it is returned whole when
 *  min_one is true (KIP-74), otherwise nothing is returned.
 *  Returns NONE with slice->file.len == 0 when there is nothing to read at or
 *  after offset (below max_offset); OFFSET_OUT_OF_RANGE if offset < log start
 *  offset or > log end offset. The slice holds a reference: the caller must
 *  call slice->file.release(slice->file.ctx) (or hand it to a brook_buf_t
 *  splice, which does) when len > 0. The slice stays valid after the segment
 *  is deleted and even after brook_log_close().
 *  Bounds: O(log segments + log index entries) lookups, then batch headers
 *  are read (8 KiB pread windows) over at most index.interval.bytes plus one
 *  batch to find the start, and over at most max_bytes to extend it; a tail
 *  read that fits whole reads no headers beyond the first. */
brook_err_t brook_log_read(brook_log_t *log, int64_t offset, int32_t max_bytes, int64_t max_offset, bool min_one,
                           brook_log_slice_t *slice);

/** Copies the same range into memory instead (tests, internal readers);
 *  behaves as min_one = true. Appends to out. */
brook_err_t brook_log_read_copy(brook_log_t *log, int64_t offset, int32_t max_bytes, int64_t max_offset,
                                brook_buf_t *out);

/** ListOffsets by timestamp: the first offset whose record timestamp is >= ts
 *  (uses the time index to find the segment and position, then scans batches).
 *  *offset = -1 if none. *found_ts gets that batch's timestamp. */
brook_err_t brook_log_offset_for_time(brook_log_t *log, int64_t ts, int64_t *offset, int64_t *found_ts);

/** ListOffsets MAX_TIMESTAMP (-3): offset and timestamp of the record with the
 *  largest timestamp (first such). -1/-1 if the log is empty. */
brook_err_t brook_log_max_timestamp(brook_log_t *log, int64_t *offset, int64_t *ts);

/** Calls cb for every batch header from the batch containing from_offset to the
 *  end (producer-state rebuild, transactions). Reads only headers. cb returns
 *  false to stop. file_pos is the batch's position within its segment file.
 *  cb must not modify the log. */
typedef bool (*brook_log_hdr_cb)(const uint8_t hdr[61], int64_t file_pos, void *ctx);
brook_err_t brook_log_scan_headers(brook_log_t *log, int64_t from_offset, brook_log_hdr_cb cb, void *ctx);

/** DeleteRecords: moves the log start offset up to offset (<= high watermark,
 *  checked by the caller), deleting segments that lie wholly below it. */
brook_err_t brook_log_delete_records_before(brook_log_t *log, int64_t offset);

/** Housekeeping pass: roll by segment.ms, retention by time and size, flush by
 *  flush.ms. Returns how many segments were deleted. Bounded work: a few
 *  unlink()s and at most one fsync per call. */
int brook_log_housekeep(brook_log_t *log, int64_t now_ms);

/** fsync everything appended so far; advances the recovery point. */
brook_err_t brook_log_flush(brook_log_t *log);

#endif
