/*
 * segment.c — one segment: its three files, reference count, batch accounting
 * and the recovery scan.
 *
 * Design note
 *  - State of a segment over its life:
 *
 *      brook_log_seg_new ──create──> ACTIVE (appends; idx fds open, heap indexes)
 *            │                          │ roll: final time entry, write index
 *            └──open_log──> INACTIVE <──┘   tails, hand fds to the fsync worker
 *                              │ (indexes mapped lazily on first lookup)
 *                              └──unlink──> DELETED (files gone; fd lives
 *                                          until the last slice is released)
 *
 *  - Invariant: seg->size is the number of valid bytes of .log; every byte in
 *    [0, size) belongs to a whole batch that passed validation (on append by
 *    the caller, on open by brook_log_seg_scan or an earlier clean shutdown).
 *    Nothing past size is ever read or handed out.
 *  - brook_log_seg_track is the single place that turns "a batch sits at pos"
 *    into index entries, so an index rebuilt by recovery is byte-identical to
 *    the one appends built.
 *  - The recovery scan validates everything it reads (batchLength bounds,
 *    magic, increasing offsets, relative offset fits i32, CRC-32C over
 *    [21, end)) and truncates at the first failure. Bounds: one pass over the
 *    scanned bytes in 1 MiB windows; memory 1 MiB regardless of batch size
 *    (the CRC is chained over windows).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "log_int.h"

#define SCAN_WINDOW (1u << 20)

static void seterr(char *errstr, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *errstr, size_t size, const char *fmt, ...) {
  if (!errstr || !size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errstr, size, fmt, ap);
  va_end(ap);
}

brook_log_seg_t *brook_log_seg_new(const char *dir, int64_t base) {
  brook_log_seg_t *seg = g_new0(brook_log_seg_t, 1);
  seg->refcnt = 1;
  seg->base = base;
  seg->log_path = g_strdup_printf("%s/%020" PRId64 ".log", dir, base);
  seg->idx_path = g_strdup_printf("%s/%020" PRId64 ".index", dir, base);
  seg->tidx_path = g_strdup_printf("%s/%020" PRId64 ".timeindex", dir, base);
  seg->fd = seg->idx_fd = seg->tidx_fd = -1;
  seg->next_offset = base;
  brook_log_index_init(&seg->oidx, BROOK_LOG_OIDX_ESZ);
  brook_log_index_init(&seg->tidx, BROOK_LOG_TIDX_ESZ);
  seg->max_ts = seg->max_ts_offset = seg->roll_ts = seg->age_base_ms = -1;
  return seg;
}

void brook_log_seg_ref(brook_log_seg_t *seg) { g_atomic_int_inc(&seg->refcnt); }

void brook_log_seg_unref(brook_log_seg_t *seg) {
  if (!seg || !g_atomic_int_dec_and_test(&seg->refcnt)) return;
  if (seg->fd >= 0) close(seg->fd);
  if (seg->idx_fd >= 0) close(seg->idx_fd);
  if (seg->tidx_fd >= 0) close(seg->tidx_fd);
  brook_log_index_reset(&seg->oidx);
  brook_log_index_reset(&seg->tidx);
  g_free(seg->log_path);
  g_free(seg->idx_path);
  g_free(seg->tidx_path);
  g_free(seg);
}

void brook_log_seg_release_cb(void *ctx) { brook_log_seg_unref(ctx); }

brook_err_t brook_log_seg_create(brook_log_seg_t *seg, char *errstr, size_t errstr_size) {
  /* O_EXCL: a new segment's base is the log end offset, which no existing
   * file can carry; if one does, something is badly wrong — refuse. */
  seg->fd = open(seg->log_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (seg->fd < 0) {
    seterr(errstr, errstr_size, "cannot create %s: %s", seg->log_path, g_strerror(errno));
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  const char *bad = NULL;
  int e = 0;
  seg->idx_fd = open(seg->idx_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (seg->idx_fd < 0) {
    e = errno;
    bad = seg->idx_path;
  } else {
    seg->tidx_fd = open(seg->tidx_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (seg->tidx_fd < 0) {
      e = errno;
      bad = seg->tidx_path;
    }
  }
  if (bad) {
    seterr(errstr, errstr_size, "cannot create %s: %s", bad, g_strerror(e));
    close(seg->fd);
    unlink(seg->log_path);
    if (seg->idx_fd >= 0) {
      close(seg->idx_fd);
      unlink(seg->idx_path);
    }
    seg->fd = seg->idx_fd = seg->tidx_fd = -1;
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  seg->size = 0;
  seg->next_offset = seg->base;
  brook_log_index_reset(&seg->oidx);
  brook_log_index_reset(&seg->tidx);
  return BROOK_ERR_NONE;
}

brook_err_t brook_log_seg_open_log(brook_log_seg_t *seg, char *errstr, size_t errstr_size) {
  seg->fd = open(seg->log_path, O_RDWR | O_CLOEXEC);
  if (seg->fd < 0) {
    seterr(errstr, errstr_size, "cannot open %s: %s", seg->log_path, g_strerror(errno));
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  struct stat st;
  if (fstat(seg->fd, &st) != 0) {
    seterr(errstr, errstr_size, "cannot stat %s: %s", seg->log_path, g_strerror(errno));
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  seg->size = st.st_size;
  brook_log_index_unload(&seg->oidx);
  brook_log_index_unload(&seg->tidx);
  return BROOK_ERR_NONE;
}

brook_err_t brook_log_seg_open_index_fds(brook_log_seg_t *seg, char *errstr, size_t errstr_size) {
  if (seg->idx_fd < 0) seg->idx_fd = open(seg->idx_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (seg->idx_fd < 0) {
    seterr(errstr, errstr_size, "cannot open %s: %s", seg->idx_path, g_strerror(errno));
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  if (seg->tidx_fd < 0) seg->tidx_fd = open(seg->tidx_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (seg->tidx_fd < 0) {
    seterr(errstr, errstr_size, "cannot open %s: %s", seg->tidx_path, g_strerror(errno));
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  return BROOK_ERR_NONE;
}

static void tidx_maybe_append(brook_log_seg_t *seg) {
  /* Kafka's TimeIndex.maybeAppend: only a larger timestamp makes an entry;
   * an empty index behaves as if its last timestamp were -1. */
  brook_log_index_t *t = &seg->tidx;
  int64_t last_ts = t->n ? brook_log_tidx_ts(t, t->n - 1) : -1;
  if (seg->max_ts > last_ts && seg->max_ts_offset >= seg->base)
    brook_log_tidx_append(t, seg->max_ts, (uint32_t)(seg->max_ts_offset - seg->base));
}

void brook_log_seg_track(brook_log_seg_t *seg, const uint8_t *hdr, int64_t pos, int32_t interval, size_t max_oidx,
                         size_t max_tidx) {
  int64_t base_offset = (int64_t)brook_rd64(hdr);
  int64_t last = base_offset + (int32_t)brook_rd32(hdr + 23);
  int64_t max_ts = (int64_t)brook_rd64(hdr + 35);
  int64_t size = BROOK_BATCH_LOG_OVERHEAD + (int64_t)(int32_t)brook_rd32(hdr + 8);

  if (pos == 0) seg->roll_ts = max_ts;
  if (max_ts > seg->max_ts) {
    seg->max_ts = max_ts;
    seg->max_ts_offset = last;
  }
  if (pos > 0 && seg->bytes_since_index >= interval) {
    brook_log_index_t *o = &seg->oidx;
    uint32_t rel = (uint32_t)(last - seg->base);
    bool increasing = !o->n || (rel > brook_log_oidx_rel(o, o->n - 1) && (uint32_t)pos > brook_log_oidx_pos(o, o->n - 1));
    if (o->n < max_oidx && increasing) {
      brook_log_oidx_append(o, rel, (uint32_t)pos);
      if (seg->tidx.n < max_tidx) tidx_maybe_append(seg);
      seg->bytes_since_index = 0;
    }
  }
  seg->bytes_since_index += size;
  seg->next_offset = last + 1;
}

void brook_log_seg_tidx_final(brook_log_seg_t *seg) {
  if (seg->tidx.loaded && !seg->tidx.mapped) tidx_maybe_append(seg);
}

void brook_log_rwin_init(brook_log_rwin_t *w, int fd, int64_t end, size_t cap) {
  w->fd = fd;
  w->end = end;
  w->cap = cap;
  w->buf = g_malloc(cap);
  w->at = 0;
  w->len = 0;
}

void brook_log_rwin_free(brook_log_rwin_t *w) {
  g_free(w->buf);
  w->buf = NULL;
}

const uint8_t *brook_log_rwin_get(brook_log_rwin_t *w, int64_t pos, size_t n, int *err) {
  if (pos >= w->at && pos + (int64_t)n <= w->at + (int64_t)w->len) return w->buf + (pos - w->at);
  g_assert(n <= w->cap && pos >= 0 && pos + (int64_t)n <= w->end);
  size_t want = (size_t)MIN((int64_t)w->cap, w->end - pos), done = 0;
  w->len = 0;
  while (done < want) {
    ssize_t r = pread(w->fd, w->buf + done, want - done, (off_t)(pos + (int64_t)done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      *err = errno;
      return NULL;
    }
    if (r == 0) break;
    done += (size_t)r;
  }
  if (done < n) {
    *err = EIO; /* the file is shorter than our bookkeeping says */
    return NULL;
  }
  w->at = pos;
  w->len = done;
  return w->buf;
}

int brook_log_seg_read_hdr(const brook_log_seg_t *seg, int64_t pos, uint8_t hdr[BROOK_BATCH_HDR_SIZE]) {
  size_t done = 0;
  while (done < BROOK_BATCH_HDR_SIZE) {
    ssize_t r = pread(seg->fd, hdr + done, BROOK_BATCH_HDR_SIZE - done, (off_t)(pos + (int64_t)done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return EIO;
    done += (size_t)r;
  }
  return 0;
}

brook_err_t brook_log_seg_scan(brook_log_seg_t *seg, int64_t from, const brook_log_conf_t *conf, int64_t *truncated,
                               char *errstr, size_t errstr_size) {
  *truncated = 0;
  struct stat st;
  if (fstat(seg->fd, &st) != 0) {
    seterr(errstr, errstr_size, "cannot stat %s: %s", seg->log_path, g_strerror(errno));
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  int64_t file_end = st.st_size;
  size_t max_oidx = (size_t)MAX(conf->segment_index_bytes, 0) / BROOK_LOG_OIDX_ESZ;
  size_t max_tidx = (size_t)MAX(conf->segment_index_bytes, 0) / BROOK_LOG_TIDX_ESZ;
  brook_log_rwin_t w;
  brook_log_rwin_init(&w, seg->fd, file_end, SCAN_WINDOW);
  int64_t pos = from, expect = seg->base;
  char why[160] = "";
  int e = 0;

  while (pos < file_end) {
    int64_t avail = file_end - pos;
    if (avail < BROOK_BATCH_HDR_SIZE) {
      snprintf(why, sizeof why, "torn batch header (%" PRId64 " bytes)", avail);
      break;
    }
    const uint8_t *p = brook_log_rwin_get(&w, pos, BROOK_BATCH_HDR_SIZE, &e);
    if (!p) goto io_err;
    uint8_t hdr[BROOK_BATCH_HDR_SIZE]; /* copied: the window moves during the CRC */
    memcpy(hdr, p, sizeof hdr);
    int32_t batch_len = (int32_t)brook_rd32(hdr + 8);
    int64_t base_offset = (int64_t)brook_rd64(hdr);
    int32_t lod = (int32_t)brook_rd32(hdr + 23);
    if (batch_len < BROOK_BATCH_HDR_SIZE - BROOK_BATCH_LOG_OVERHEAD) {
      snprintf(why, sizeof why, "invalid batchLength %" PRId32, batch_len);
      break;
    }
    int64_t size = BROOK_BATCH_LOG_OVERHEAD + (int64_t)batch_len;
    if (size > avail) {
      snprintf(why, sizeof why, "torn batch (needs %" PRId64 " bytes, %" PRId64 " left)", size, avail);
      break;
    }
    if (hdr[16] != 2) {
      snprintf(why, sizeof why, "magic %d", hdr[16]);
      break;
    }
    if (lod < 0 || base_offset < expect || base_offset + lod - seg->base > INT32_MAX) {
      snprintf(why, sizeof why, "offsets %" PRId64 "..%" PRId64 " out of order (expected >= %" PRId64 ")",
               base_offset, base_offset + lod, expect);
      break;
    }
    uint32_t crc = 0;
    for (int64_t q = pos + 21, end = pos + size; q < end;) {
      size_t n = (size_t)MIN((int64_t)w.cap, end - q);
      const uint8_t *c = brook_log_rwin_get(&w, q, n, &e);
      if (!c) goto io_err;
      crc = brook_crc32c(crc, c, n);
      q += (int64_t)n;
    }
    if (crc != brook_rd32(hdr + 17)) {
      snprintf(why, sizeof why, "CRC mismatch in batch at offset %" PRId64, base_offset);
      break;
    }
    brook_log_seg_track(seg, hdr, pos, conf->index_interval_bytes, max_oidx, max_tidx);
    expect = base_offset + lod + 1;
    pos += size;
  }
  brook_log_rwin_free(&w);

  if (pos < file_end) {
    if (ftruncate(seg->fd, (off_t)pos) != 0) {
      seterr(errstr, errstr_size, "cannot truncate %s to %" PRId64 " bytes: %s", seg->log_path, pos,
             g_strerror(errno));
      return BROOK_ERR_KAFKA_STORAGE_ERROR;
    }
    brook_log(BROOK_LOG_WARNING, "log",
              "recovery: truncated %s from %" PRId64 " to %" PRId64 " bytes (%" PRId64 " bytes dropped): %s; "
              "last valid offset %" PRId64,
              seg->log_path, file_end, pos, file_end - pos, why, seg->next_offset - 1);
    *truncated = file_end - pos;
  }
  seg->size = pos;
  return BROOK_ERR_NONE;

io_err:
  brook_log_rwin_free(&w);
  seterr(errstr, errstr_size, "cannot read %s at position %" PRId64 ": %s", seg->log_path, pos, g_strerror(e));
  return BROOK_ERR_KAFKA_STORAGE_ERROR;
}

brook_err_t brook_log_seg_recover(brook_log_seg_t *seg, const brook_log_conf_t *conf, int64_t *truncated,
                                  char *errstr, size_t errstr_size) {
  brook_log_index_reset(&seg->oidx);
  brook_log_index_reset(&seg->tidx);
  seg->bytes_since_index = 0;
  seg->max_ts = seg->max_ts_offset = seg->roll_ts = -1;
  seg->next_offset = seg->base;
  brook_err_t err = brook_log_seg_scan(seg, 0, conf, truncated, errstr, errstr_size);
  if (err) return err;
  /* As Kafka's recover(): a closed segment always ends with its largest timestamp. */
  brook_log_seg_tidx_final(seg);
  return BROOK_ERR_NONE;
}

static brook_err_t write_index_file(brook_log_index_t *ix, int fd, const char *path, char *errstr,
                                    size_t errstr_size) {
  bool own = fd < 0;
  if (own) fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int e = fd < 0 ? errno : brook_log_index_write_all(ix, fd);
  if (!e && fdatasync(fd) != 0) e = errno;
  if (own && fd >= 0) close(fd);
  if (e) {
    seterr(errstr, errstr_size, "cannot write index %s: %s", path, g_strerror(e));
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  return BROOK_ERR_NONE;
}

brook_err_t brook_log_seg_write_index_files(brook_log_seg_t *seg, char *errstr, size_t errstr_size) {
  brook_err_t err = write_index_file(&seg->oidx, seg->idx_fd, seg->idx_path, errstr, errstr_size);
  if (!err) err = write_index_file(&seg->tidx, seg->tidx_fd, seg->tidx_path, errstr, errstr_size);
  return err;
}

/* Reads the last entry of an index file; false with *why on any problem.
 * why[0..2]: the texts for missing, unreadable, bad size. */
static bool last_entry(const char *path, size_t esz, uint8_t *e, size_t *n, const char *const why_text[3],
                       const char **why) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = why_text[errno == ENOENT ? 0 : 1];
    return false;
  }
  struct stat st;
  bool ok = fstat(fd, &st) == 0;
  if (!ok) *why = why_text[1];
  if (ok && st.st_size % (off_t)esz) {
    *why = why_text[2];
    ok = false;
  }
  if (ok) *n = (size_t)st.st_size / esz;
  if (ok && *n && pread(fd, e, esz, st.st_size - (off_t)esz) != (ssize_t)esz) {
    *why = why_text[1];
    ok = false;
  }
  close(fd);
  return ok;
}

static const char *const oidx_why[3] = {"offset index missing", "offset index unreadable",
                                        "offset index size not a multiple of 8"};
static const char *const tidx_why[3] = {"time index missing", "time index unreadable",
                                        "time index size not a multiple of 12"};

bool brook_log_seg_check_indexes(brook_log_seg_t *seg, int64_t next_base, const char **why) {
  uint8_t e[BROOK_LOG_TIDX_ESZ];
  size_t n = 0;
  if (!last_entry(seg->idx_path, BROOK_LOG_OIDX_ESZ, e, &n, oidx_why, why)) return false;
  if (n) {
    uint32_t rel = brook_rd32(e), pos = brook_rd32(e + 4);
    if (rel > INT32_MAX || (int64_t)pos >= seg->size || seg->base + (int64_t)rel >= next_base) {
      *why = "last offset index entry out of range";
      return false;
    }
  }
  if (!last_entry(seg->tidx_path, BROOK_LOG_TIDX_ESZ, e, &n, tidx_why, why)) return false;
  if (!n) {
    /* Every segment we close ends with its largest timestamp; a non-empty one
     * without any is suspect (or has no timestamps at all: rebuilding is
     * cheap and keeps offset_for_time/retention exact). */
    if (seg->size > 0) {
      *why = "time index empty";
      return false;
    }
    seg->max_ts = seg->max_ts_offset = -1;
    return true;
  }
  uint32_t rel = brook_rd32(e + 8);
  if (rel > INT32_MAX || seg->base + (int64_t)rel >= next_base) {
    *why = "last time index entry out of range";
    return false;
  }
  seg->max_ts = (int64_t)brook_rd64(e);
  seg->max_ts_offset = seg->base + rel;
  return true;
}

void brook_log_seg_unlink(brook_log_seg_t *seg) {
  /* .log first: once it is gone the segment does not exist for the next open,
   * and index files left behind by a crash here are removed as orphans. */
  const char *paths[3] = {seg->log_path, seg->idx_path, seg->tidx_path};
  for (int i = 0; i < 3; i++)
    if (unlink(paths[i]) != 0 && errno != ENOENT)
      brook_log(BROOK_LOG_ERR, "log", "cannot delete %s: %s", paths[i], g_strerror(errno));
  seg->deleted = true;
}
