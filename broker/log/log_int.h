/*
 * log_int.h — internals shared by log.c, segment.c and index.c. Not a public
 * header: nothing outside broker/log/ includes it.
 *
 * Design note
 *  - A segment (brook_log_seg_t) is reference counted. The log's segment list
 *    holds one reference; every read slice handed out holds one more. Deleting
 *    a segment (retention, DeleteRecords, DeleteTopics) unlinks its files and
 *    drops the list's reference; the .log fd is closed only when the last
 *    slice is released, so a fetch response being spliced with sendfile() keeps
 *    reading the unlinked file. A segment never points back at its log, so a
 *    slice may even outlive brook_log_close().
 *  - Indexes (brook_log_index_t) hold their entries big-endian, byte for byte
 *    as in the file, so writing is a plain pwrite of a tail and looking up is
 *    the same code whether the entries live on the heap (the active segment,
 *    which appends) or in a read-only mmap of the file (inactive segments,
 *    mapped lazily on first lookup so a log with many segments costs no heap).
 *  - Only the active segment has its .index/.timeindex fds open; the active
 *    segment's entries reach the file at flush, roll and close (not per
 *    append: recovery rebuilds the index of everything past the recovery point
 *    anyway, and everything below it was flushed, entries included).
 *
 * @locality the thread owning the log; brook_log_seg_unref() from any thread
 *           (the last unref only closes fds and frees memory).
 */
#ifndef BROOK_LOG_INT_H
#define BROOK_LOG_INT_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "log.h"

#define BROOK_LOG_OIDX_ESZ 8  /* relOffset i32 BE, position i32 BE */
#define BROOK_LOG_TIDX_ESZ 12 /* timestamp i64 BE, relOffset i32 BE */

/* ---- index.c ------------------------------------------------------------ */

typedef struct brook_log_index {
  uint8_t *ent;   /* entries, big-endian exactly as in the file */
  size_t n;       /* valid entries */
  size_t cap;     /* heap capacity in entries (0 when mapped or unloaded) */
  size_t written; /* heap mode: entries [0, written) are in the file */
  size_t esz;     /* BROOK_LOG_OIDX_ESZ or BROOK_LOG_TIDX_ESZ */
  bool mapped;    /* ent is a read-only mmap of the file (length n * esz) */
  bool loaded;    /* false: inactive and not mapped yet (map on first use) */
} brook_log_index_t;

void brook_log_index_init(brook_log_index_t *ix, size_t esz);
/** Frees or unmaps; leaves an empty, loaded heap index. */
void brook_log_index_reset(brook_log_index_t *ix);
/** Frees or unmaps; the next lookup maps the file again. */
void brook_log_index_unload(brook_log_index_t *ix);
/** Reads the whole file into the heap (active segment). A missing file is an
 *  empty index with *missing set. Returns 0 or an errno (EINVAL: size not a
 *  multiple of the entry size). */
int brook_log_index_load_heap(brook_log_index_t *ix, const char *path, bool *missing);
/** Maps the file read-only if not loaded yet. Failure leaves an empty index
 *  (lookups then fall back to scanning the segment from position 0). */
void brook_log_index_ensure(brook_log_index_t *ix, const char *path);

void brook_log_oidx_append(brook_log_index_t *ix, uint32_t rel, uint32_t pos);
void brook_log_tidx_append(brook_log_index_t *ix, int64_t ts, uint32_t rel);
static inline uint32_t brook_log_oidx_rel(const brook_log_index_t *ix, size_t i) { return brook_rd32(ix->ent + i * 8); }
static inline uint32_t brook_log_oidx_pos(const brook_log_index_t *ix, size_t i) { return brook_rd32(ix->ent + i * 8 + 4); }
static inline int64_t brook_log_tidx_ts(const brook_log_index_t *ix, size_t i) { return (int64_t)brook_rd64(ix->ent + i * 12); }
static inline uint32_t brook_log_tidx_rel(const brook_log_index_t *ix, size_t i) { return brook_rd32(ix->ent + i * 12 + 8); }
/** Position of the entry with the largest relOffset <= rel (0 if none). */
int64_t brook_log_oidx_lookup(const brook_log_index_t *ix, uint32_t rel);
/** relOffset of the entry with the largest timestamp <= ts, -1 if none. */
int64_t brook_log_tidx_lookup(const brook_log_index_t *ix, int64_t ts);
/** Full check of a loaded offset index: strictly increasing relOffsets and
 *  positions, every position < log_size. */
bool brook_log_oidx_valid(const brook_log_index_t *ix, int64_t log_size);
/** Full check of a loaded time index: timestamps and relOffsets non-decreasing. */
bool brook_log_tidx_valid(const brook_log_index_t *ix);
/** Heap mode: pwrite entries [written, n) at their file position. 0 or errno. */
int brook_log_index_write_tail(brook_log_index_t *ix, int fd);
/** Heap mode: ftruncate to 0 and write all entries. 0 or errno. */
int brook_log_index_write_all(brook_log_index_t *ix, int fd);

/* ---- segment.c ---------------------------------------------------------- */

typedef struct brook_log_seg {
  gint refcnt;
  int64_t base;        /* base offset (file name) */
  char *log_path, *idx_path, *tidx_path;
  int fd;              /* .log, O_RDWR; closed at the last unref */
  int idx_fd, tidx_fd; /* active segment only, else -1 */
  int64_t size;        /* valid bytes of .log; nothing past it is ever read */
  int64_t next_offset; /* last offset + 1 (base when empty); for inactive
                          segments not scanned at open: the next base */
  brook_log_index_t oidx, tidx;
  int64_t bytes_since_index; /* log bytes since the last offset index entry */
  int64_t max_ts;            /* largest batch maxTimestamp, -1 if none */
  int64_t max_ts_offset;     /* last offset of the first batch holding it, -1 */
  int64_t roll_ts;           /* maxTimestamp of the first batch, -1 unknown */
  int64_t age_base_ms;       /* broker clock at first append / first look, -1 */
  bool deleted;              /* files unlinked; only slices keep it alive */
} brook_log_seg_t;

/** (transfer full) a segment object with refcnt 1 and no open files. */
brook_log_seg_t *brook_log_seg_new(const char *dir, int64_t base);
void brook_log_seg_ref(brook_log_seg_t *seg);
/** Drops a reference; the last one closes fds, unmaps and frees. @locality any */
void brook_log_seg_unref(brook_log_seg_t *seg);
/** brook_fileref_t.release for slices: ctx is the segment. @locality any */
void brook_log_seg_release_cb(void *ctx);

/** Creates the three files of a new, empty active segment (.log must not exist). */
brook_err_t brook_log_seg_create(brook_log_seg_t *seg, char *errstr, size_t errstr_size);
/** Opens an existing .log (size from fstat). */
brook_err_t brook_log_seg_open_log(brook_log_seg_t *seg, char *errstr, size_t errstr_size);
/** Opens (creating if missing) the index files of the active segment. */
brook_err_t brook_log_seg_open_index_fds(brook_log_seg_t *seg, char *errstr, size_t errstr_size);

/** Accounts one batch appended/found at pos: offset index entry every
 *  interval bytes (Kafka's per-batch rule, entry = batch last offset ->
 *  batch position), time index entry alongside when the max timestamp grew,
 *  max timestamp, first-batch timestamp, next offset. Entries beyond
 *  max_oidx / max_tidx are skipped (the index is then sparser, still right). */
void brook_log_seg_track(brook_log_seg_t *seg, const uint8_t *hdr, int64_t pos, int32_t interval, size_t max_oidx,
                         size_t max_tidx);
/** Kafka's final time index entry (largest timestamp so far), written when a
 *  segment stops being active and after recovery. Ignores the size limit. */
void brook_log_seg_tidx_final(brook_log_seg_t *seg);

/** Validates batches from pos `from` to the end of the file (length bounds,
 *  magic 2, offsets increasing, CRC-32C of [21, end)), tracking each valid one.
 *  At the first torn or invalid batch the file is truncated there (logged).
 *  *truncated = bytes cut. Reads at most the bytes scanned, in 1 MiB windows. */
brook_err_t brook_log_seg_scan(brook_log_seg_t *seg, int64_t from, const brook_log_conf_t *conf, int64_t *truncated,
                               char *errstr, size_t errstr_size);
/** Resets indexes and state, then scans the whole segment (rebuild). */
brook_err_t brook_log_seg_recover(brook_log_seg_t *seg, const brook_log_conf_t *conf, int64_t *truncated,
                                  char *errstr, size_t errstr_size);
/** Rewrites both index files from the heap entries and fsyncs them (after a
 *  rebuild). Uses the open fds of an active segment, else opens by path. */
brook_err_t brook_log_seg_write_index_files(brook_log_seg_t *seg, char *errstr, size_t errstr_size);
/** Cheap sanity check of the index files of an inactive segment at open
 *  (Kafka's: size a multiple of the entry size, last entry in range); on
 *  success loads max_ts/max_ts_offset from the last time index entry. */
bool brook_log_seg_check_indexes(brook_log_seg_t *seg, int64_t next_base, const char **why);
/** Unlinks .log, then the index files (an orphan index is removed at the next
 *  open). Marks the segment deleted. Errors are logged. */
void brook_log_seg_unlink(brook_log_seg_t *seg);
/** Reads the 61-byte header at pos into hdr. 0, or an errno (EIO for a short read). */
int brook_log_seg_read_hdr(const brook_log_seg_t *seg, int64_t pos, uint8_t hdr[BROOK_BATCH_HDR_SIZE]);

/* A read window over a segment file: header walks touch the disk once per
 * window instead of once per batch. */
typedef struct brook_log_rwin {
  int fd;
  int64_t end; /* never read at or past this position */
  uint8_t *buf;
  size_t cap;
  int64_t at; /* file position of buf[0] */
  size_t len; /* valid bytes in buf */
} brook_log_rwin_t;

void brook_log_rwin_init(brook_log_rwin_t *w, int fd, int64_t end, size_t cap);
void brook_log_rwin_free(brook_log_rwin_t *w);
/** Returns a pointer to n bytes at pos (pos + n <= end, n <= cap), reading a
 *  window of up to cap bytes when they are not buffered. NULL on error with
 *  *err = errno (EIO: file shorter than expected). */
const uint8_t *brook_log_rwin_get(brook_log_rwin_t *w, int64_t pos, size_t n, int *err);

#endif
