/*
 * log.c — one partition's log: segment list, append, read, recovery,
 * retention, flush. See log.h for the contract and the on-disk layout.
 *
 * Design note
 *  State: segs[0..nsegs) ordered by base offset, never empty; segs[nsegs-1]
 *  is the active segment. lso <= leo; lso >= segs[0]->base; leo =
 *  active->next_offset. total_bytes = sum of segment sizes.
 *
 *  Open (brook_log_open):
 *
 *    list dir ── remove *.tmp/.deleted/.cleaned/.swap, orphan indexes
 *      │
 *      ├─ no segment ─────────────> create one at max(log start, 0)
 *      │
 *      └─ for each segment i (scan_from = clean ? none : floor(recovery point)):
 *           i >= scan_from ──> brook_log_seg_recover (validate, rebuild indexes);
 *                              torn/invalid -> truncate, delete later segments
 *           inactive, below ──> brook_log_seg_check_indexes; bad -> rebuild
 *           active, below  ──> load_active: load+check indexes, validate the
 *                              tail from the last index entry; bad -> rebuild
 *      after an unclean open everything scanned is fsynced, so the recovery
 *      point restarts at the log end offset.
 *
 *  Append (brook_log_append): header walk (framing, offsets, sizes) ->
 *  maybe roll -> rewrite baseOffset/partitionLeaderEpoch in place -> one
 *  pwrite -> header walk again to update indexes. A failed/short write is cut
 *  back with ftruncate and leaves every in-memory field untouched.
 *
 *  Durability / recovery point (rp): the active segment is fsynced by
 *  flush_active (flush.messages, flush.ms, brook_log_flush, close). A rolled
 *  segment is fsynced on a shared GThreadPool worker with dup()ed fds; its job
 *  sits in a FIFO (roll order) and rp may pass a job's end offset only once
 *  that job and every earlier one succeeded:
 *      rp = max(rp_base, end of each leading done job, and — when no job is
 *           left — the LEO at the last active fsync), capped by rp_cap
 *  A failed fsync (here or on a worker) lowers rp_cap for the life of the
 *  process: after fsyncgate a later "successful" fsync proves nothing, so the
 *  next open must scan from there.
 *
 *  Reads hand out a segment reference (see log_int.h), so retention may
 *  delete a segment a fetch is still sending.
 *
 * Bounds: append O(batches) header reads of caller memory, one pwrite;
 * read: index lookup O(log n) + header scan of at most index.interval.bytes
 * plus one batch to find the start, then headers up to max_bytes (8 KiB
 * windows); housekeep: at most HOUSEKEEP_MAX_DELETES segment deletions (3
 * unlinks each) and one flush per call.
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

#define HOUSEKEEP_MAX_DELETES 64
#define READ_WINDOW 8192
#define MIN_BATCH_LENGTH (BROOK_BATCH_HDR_SIZE - BROOK_BATCH_LOG_OVERHEAD)

enum { JOB_PENDING, JOB_OK, JOB_FAILED };

/* fsync of a rolled segment on a worker. Fields other than state and next are
 * written before the push and read-only afterwards; state is guarded by
 * jobs_mu. Only the owning log thread links, unlinks and frees jobs. */
typedef struct fsync_job {
  struct fsync_job *next;
  int fds[4]; /* dup(.log), .index, .timeindex, dup(dir); owned by the job */
  int nfds;
  char *name; /* the segment's .log path, for messages */
  int64_t base, end;
  int state;
} fsync_job_t;

/* One process-wide lock for all job states: jobs are rare (one per roll), and
 * static storage can never be freed under a worker still unlocking it. */
static GMutex jobs_mu;
static GCond jobs_cond;

struct brook_log {
  char *dir;
  brook_log_conf_t conf;
  brook_log_seg_t **segs;
  int nsegs, segs_cap;
  int dir_fd;
  int64_t lso, leo, total_bytes;
  int64_t unflushed_msgs;
  int64_t unflushed_since_ms; /* now_ms of the first append since the last flush, -1 */
  bool dir_dirty;             /* a file was created since the directory was fsynced */
  fsync_job_t *jobs_head, *jobs_tail;
  int64_t rp;            /* recovery point before the jobs in the FIFO */
  int64_t active_synced; /* LEO at the last fsync of the active segment */
  int64_t rp_cap;        /* INT64_MAX, or where a failed fsync pinned it */
};

static void seterr(char *errstr, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *errstr, size_t size, const char *fmt, ...) {
  if (!errstr || !size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errstr, size, fmt, ap);
  va_end(ap);
}

static inline brook_log_seg_t *active_seg(const brook_log_t *log) { return log->segs[log->nsegs - 1]; }
static size_t max_oidx(const brook_log_t *log) { return (size_t)log->conf.segment_index_bytes / BROOK_LOG_OIDX_ESZ; }
static size_t max_tidx(const brook_log_t *log) { return (size_t)log->conf.segment_index_bytes / BROOK_LOG_TIDX_ESZ; }

/* Index of the segment with the largest base <= offset, -1 if none. */
static int seg_find(const brook_log_t *log, int64_t offset) {
  int lo = 0, hi = log->nsegs;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (log->segs[mid]->base <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo - 1;
}

static void segs_push(brook_log_t *log, brook_log_seg_t *seg) {
  if (log->nsegs == log->segs_cap) {
    log->segs_cap = log->segs_cap ? log->segs_cap * 2 : 8;
    log->segs = g_renew(brook_log_seg_t *, log->segs, log->segs_cap);
  }
  log->segs[log->nsegs++] = seg;
}

/* ---- configuration ---- */

void brook_log_conf_defaults(brook_log_conf_t *conf) {
  conf->segment_bytes = 1073741824;
  conf->segment_ms = 604800000;
  conf->retention_ms = 604800000;
  conf->retention_bytes = -1;
  conf->index_interval_bytes = 4096;
  conf->segment_index_bytes = 10485760;
  conf->flush_messages = INT64_MAX;
  conf->flush_ms = INT64_MAX;
}

static void conf_sanitize(brook_log_conf_t *c) {
  /* Kafka's lower bounds; positions are i32 so a segment cannot pass 2 GiB. */
  c->segment_bytes = CLAMP(c->segment_bytes, 14, (int64_t)INT32_MAX);
  c->segment_ms = MAX(c->segment_ms, 1);
  c->index_interval_bytes = MAX(c->index_interval_bytes, 0);
  c->segment_index_bytes = MAX(c->segment_index_bytes, 4);
  c->flush_messages = MAX(c->flush_messages, 1);
  c->flush_ms = MAX(c->flush_ms, 0);
}

void brook_log_set_conf(brook_log_t *log, const brook_log_conf_t *conf) {
  log->conf = *conf;
  conf_sanitize(&log->conf);
}

/* ---- background fsync of rolled segments ---- */

static const char *const job_fd_kind[4] = {"log", "offset index", "time index", "directory"};

static void fsync_job_run(gpointer data, gpointer user_data) {
  (void)user_data;
  fsync_job_t *job = data;
  int err = 0, which = -1;
  for (int i = 0; i < job->nfds; i++) {
    if (job->fds[i] < 0) continue;
    int r;
    do r = fsync(job->fds[i]);
    while (r != 0 && errno == EINTR);
    if (r != 0 && !err) {
      err = errno;
      which = i;
    }
    close(job->fds[i]);
    job->fds[i] = -1;
  }
  if (err)
    brook_log(BROOK_LOG_ERR, "log", "fsync of rolled segment %s (%s) failed: %s; recovery point stays below %" PRId64,
              job->name, job_fd_kind[which], g_strerror(err), job->base);
  g_mutex_lock(&jobs_mu);
  job->state = err ? JOB_FAILED : JOB_OK;
  g_cond_broadcast(&jobs_cond);
  g_mutex_unlock(&jobs_mu);
}

static GThreadPool *fsync_pool(void) {
  static gsize once;
  static GThreadPool *pool;
  if (g_once_init_enter(&once)) {
    /* Two threads: rolls are rare, and more parallel fsyncs only fight over
     * the same disk. Shared by every log so partitions cost no threads. */
    pool = g_thread_pool_new(fsync_job_run, NULL, 2, FALSE, NULL);
    g_once_init_leave(&once, 1);
  }
  return pool;
}

static void job_free(fsync_job_t *job) {
  g_free(job->name);
  g_free(job);
}

/* Pops finished jobs from the front and advances rp. @locality log thread */
static void jobs_poll(brook_log_t *log) {
  g_mutex_lock(&jobs_mu);
  while (log->jobs_head && log->jobs_head->state != JOB_PENDING) {
    fsync_job_t *job = log->jobs_head;
    log->jobs_head = job->next;
    if (!log->jobs_head) log->jobs_tail = NULL;
    if (job->state == JOB_OK)
      log->rp = MAX(log->rp, job->end);
    else
      log->rp_cap = MIN(log->rp_cap, job->base);
    job_free(job);
  }
  if (!log->jobs_head) log->rp = MAX(log->rp, log->active_synced);
  g_mutex_unlock(&jobs_mu);
}

/* Blocks until every queued job of this log finished. */
static void jobs_wait(brook_log_t *log) {
  g_mutex_lock(&jobs_mu);
  for (;;) {
    const fsync_job_t *job = log->jobs_head;
    while (job && job->state != JOB_PENDING) job = job->next;
    if (!job) break;
    g_cond_wait(&jobs_cond, &jobs_mu);
  }
  g_mutex_unlock(&jobs_mu);
  jobs_poll(log);
}

/* Queues the fsync of a segment that just stopped being active. Takes over
 * its index fds. Falls back to fsyncing inline if dup() or the pool fails. */
static void submit_fsync(brook_log_t *log, brook_log_seg_t *seg, int64_t end) {
  fsync_job_t *job = g_new0(fsync_job_t, 1);
  job->name = g_strdup(seg->log_path);
  job->base = seg->base;
  job->end = end;
  job->state = JOB_PENDING;
  job->nfds = 4;
  job->fds[0] = dup(seg->fd);
  job->fds[1] = seg->idx_fd;
  job->fds[2] = seg->tidx_fd;
  job->fds[3] = dup(log->dir_fd);
  seg->idx_fd = seg->tidx_fd = -1;
  g_mutex_lock(&jobs_mu);
  if (log->jobs_tail)
    log->jobs_tail->next = job;
  else
    log->jobs_head = job;
  log->jobs_tail = job;
  g_mutex_unlock(&jobs_mu);
  if (job->fds[0] < 0 || job->fds[3] < 0) {
    brook_log(BROOK_LOG_WARNING, "log", "dup() for the fsync of %s failed (%s): fsyncing inline", seg->log_path,
              g_strerror(errno));
    int err = 0;
    if (fdatasync(seg->fd) != 0) err = errno;
    if (fsync(log->dir_fd) != 0 && !err) err = errno;
    for (int i = 0; i < 4; i += 3)
      if (job->fds[i] >= 0) {
        close(job->fds[i]);
        job->fds[i] = -1;
      }
    fsync_job_run(job, NULL); /* the index fds */
    if (err) {
      brook_log(BROOK_LOG_ERR, "log", "fsync of %s failed: %s", seg->log_path, g_strerror(err));
      g_mutex_lock(&jobs_mu);
      job->state = JOB_FAILED;
      g_mutex_unlock(&jobs_mu);
    }
    return;
  }
  GError *gerr = NULL;
  if (!g_thread_pool_push(fsync_pool(), job, &gerr)) {
    brook_log(BROOK_LOG_WARNING, "log", "cannot queue fsync of %s (%s): fsyncing inline", seg->log_path,
              gerr ? gerr->message : "?");
    g_clear_error(&gerr);
    fsync_job_run(job, NULL);
  }
}

/* ---- flush ---- */

static brook_err_t flush_active(brook_log_t *log) {
  brook_log_seg_t *seg = active_seg(log);
  int e = 0;
  const char *what = NULL;
  if ((e = brook_log_index_write_tail(&seg->oidx, seg->idx_fd)))
    what = seg->idx_path;
  else if ((e = brook_log_index_write_tail(&seg->tidx, seg->tidx_fd)))
    what = seg->tidx_path;
  else if (fdatasync(seg->fd) != 0)
    e = errno, what = seg->log_path;
  else if (fdatasync(seg->idx_fd) != 0)
    e = errno, what = seg->idx_path;
  else if (fdatasync(seg->tidx_fd) != 0)
    e = errno, what = seg->tidx_path;
  else if (log->dir_dirty && fsync(log->dir_fd) != 0)
    e = errno, what = log->dir;
  if (e) {
    g_mutex_lock(&jobs_mu);
    log->rp_cap = MIN(log->rp_cap, log->rp);
    g_mutex_unlock(&jobs_mu);
    brook_log(BROOK_LOG_ERR, "log", "flush of %s failed: %s; recovery point pinned at %" PRId64, what, g_strerror(e),
              log->rp);
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  log->dir_dirty = false;
  log->active_synced = log->leo;
  log->unflushed_msgs = 0;
  log->unflushed_since_ms = -1;
  jobs_poll(log);
  return BROOK_ERR_NONE;
}

brook_err_t brook_log_flush(brook_log_t *log) {
  brook_err_t err = flush_active(log);
  jobs_wait(log);
  return err;
}

/* ---- roll and delete ---- */

static brook_err_t roll(brook_log_t *log, const char *why) {
  brook_log_seg_t *old = active_seg(log);
  brook_log_seg_t *seg = brook_log_seg_new(log->dir, log->leo);
  char err[512];
  if (brook_log_seg_create(seg, err, sizeof err)) {
    brook_log(BROOK_LOG_ERR, "log", "cannot roll %s: %s", log->dir, err);
    brook_log_seg_unref(seg);
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  /* The old active segment gets its final time index entry and the rest of
   * its index entries on disk before its fsync is queued. */
  brook_log_seg_tidx_final(old);
  int e = brook_log_index_write_tail(&old->oidx, old->idx_fd);
  if (!e) e = brook_log_index_write_tail(&old->tidx, old->tidx_fd);
  if (e) {
    brook_log(BROOK_LOG_WARNING, "log", "cannot write the indexes of %s (%s): removing them, they are rebuilt at the next open",
              old->log_path, g_strerror(e));
    unlink(old->idx_path);
    unlink(old->tidx_path);
  }
  brook_log_index_unload(&old->oidx); /* mapped again on the first lookup */
  brook_log_index_unload(&old->tidx);
  segs_push(log, seg);
  brook_log(BROOK_LOG_INFO, "log", "rolled new segment %s (%s); previous segment %020" PRId64 " holds offsets %" PRId64
            "..%" PRId64 " in %" PRId64 " bytes",
            seg->log_path, why, old->base, old->base, old->next_offset - 1, old->size);
  submit_fsync(log, old, seg->base);
  return BROOK_ERR_NONE;
}

static void delete_front(brook_log_t *log, const char *why) {
  g_assert(log->nsegs > 1);
  brook_log_seg_t *seg = log->segs[0];
  memmove(log->segs, log->segs + 1, (size_t)(log->nsegs - 1) * sizeof *log->segs);
  log->nsegs--;
  log->total_bytes -= seg->size;
  brook_log_seg_unlink(seg);
  brook_log(BROOK_LOG_INFO, "log", "deleted segment %s (offsets %" PRId64 "..%" PRId64 ", %" PRId64 " bytes): %s",
            seg->log_path, seg->base, log->segs[0]->base - 1, seg->size, why);
  log->lso = MAX(log->lso, log->segs[0]->base);
  brook_log_seg_unref(seg); /* fds stay open while slices hold references */
}

/* ---- open ---- */

static bool parse_seg_name(const char *name, const char *suffix, int64_t *base) {
  size_t n = strlen(name), sl = strlen(suffix);
  if (n != 20 + sl || strcmp(name + 20, suffix) != 0) return false;
  uint64_t v = 0;
  for (int i = 0; i < 20; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
    if (v > (uint64_t)INT64_MAX / 10) return false;
    v = v * 10 + (uint64_t)(name[i] - '0');
  }
  if (v > (uint64_t)INT64_MAX) return false;
  *base = (int64_t)v;
  return true;
}

static gint cmp_i64(gconstpointer a, gconstpointer b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void log_free(brook_log_t *log) {
  jobs_wait(log);
  for (int i = 0; i < log->nsegs; i++) brook_log_seg_unref(log->segs[i]);
  g_free(log->segs);
  if (log->dir_fd >= 0) close(log->dir_fd);
  g_free(log->dir);
  g_free(log);
}

/* Loads the active segment when it lies below the recovery point (or after a
 * clean shutdown): indexes into the heap, checked in full; then the batches
 * after the last offset index entry are validated (at most
 * index.interval.bytes + one batch) to find the log end. Anything odd ->
 * full rebuild. */
static brook_err_t load_active(brook_log_t *log, brook_log_seg_t *seg, bool *rebuilt, char *errstr,
                               size_t errstr_size) {
  bool m1 = false, m2 = false;
  int e1 = brook_log_index_load_heap(&seg->oidx, seg->idx_path, &m1);
  int e2 = brook_log_index_load_heap(&seg->tidx, seg->tidx_path, &m2);
  const char *why = NULL;
  int64_t cut = 0;
  brook_err_t err;
  if (e1 == EINVAL || e2 == EINVAL)
    why = "index size not a multiple of the entry size";
  else if (e1 || e2)
    why = "index unreadable";
  else if ((m1 || m2) && seg->size > 0)
    why = "index missing";
  else if (!brook_log_oidx_valid(&seg->oidx, seg->size) || !brook_log_tidx_valid(&seg->tidx))
    why = "index entries out of order or out of range";
  else if (seg->size > 0 && seg->tidx.n == 0)
    why = "time index empty";
  if (!why) {
    brook_log_index_t *o = &seg->oidx, *t = &seg->tidx;
    int64_t from = o->n ? (int64_t)brook_log_oidx_pos(o, o->n - 1) : 0;
    seg->bytes_since_index = 0;
    seg->max_ts = t->n ? brook_log_tidx_ts(t, t->n - 1) : -1;
    seg->max_ts_offset = t->n ? seg->base + brook_log_tidx_rel(t, t->n - 1) : -1;
    seg->next_offset = seg->base;
    err = brook_log_seg_scan(seg, from, &log->conf, &cut, errstr, errstr_size);
    if (err) return err;
    if (cut)
      why = "invalid batches after the last index entry";
    else if (t->n && seg->max_ts_offset >= seg->next_offset)
      why = "time index points past the log end";
    else if (seg->size > 0 && from > 0) {
      uint8_t hdr[BROOK_BATCH_HDR_SIZE];
      int e = brook_log_seg_read_hdr(seg, 0, hdr);
      if (e) {
        seterr(errstr, errstr_size, "cannot read %s: %s", seg->log_path, g_strerror(e));
        return BROOK_ERR_KAFKA_STORAGE_ERROR;
      }
      seg->roll_ts = (int64_t)brook_rd64(hdr + 35);
    }
  }
  if (why) {
    brook_log(BROOK_LOG_INFO, "log", "rebuilding the indexes of %s: %s", seg->log_path, why);
    err = brook_log_seg_recover(seg, &log->conf, &cut, errstr, errstr_size);
    if (err) return err;
    *rebuilt = true;
  }
  return BROOK_ERR_NONE;
}

static brook_err_t load_segments(brook_log_t *log, int64_t recovery_point, bool clean, char *errstr,
                                 size_t errstr_size) {
  int scan_from = log->nsegs;
  if (!clean) {
    scan_from = MAX(seg_find(log, recovery_point), 0);
    brook_log(BROOK_LOG_INFO, "log", "recovering %s after an unclean shutdown: scanning from segment %020" PRId64
              " (recovery point %" PRId64 ")",
              log->dir, log->segs[scan_from]->base, recovery_point);
  }
  bool active_rebuilt = false, scanned_any = false;
  brook_err_t err;
  for (int i = 0; i < log->nsegs; i++) {
    brook_log_seg_t *seg = log->segs[i];
    bool last = i == log->nsegs - 1;
    int64_t cut = 0;
    if (i >= scan_from) {
      scanned_any = true;
      if ((err = brook_log_seg_recover(seg, &log->conf, &cut, errstr, errstr_size))) return err;
      if (cut && !last) {
        /* Everything after a torn batch is suspect: later segments can only
         * hold data written after it, which was never acknowledged as flushed. */
        while (log->nsegs > i + 1) {
          brook_log_seg_t *gone = log->segs[--log->nsegs];
          brook_log_seg_unlink(gone);
          brook_log(BROOK_LOG_WARNING, "log", "recovery: deleted segment %s (%" PRId64 " bytes) after the truncation of %s",
                    gone->log_path, gone->size, seg->log_path);
          brook_log_seg_unref(gone);
        }
        last = true;
        log->dir_dirty = true;
      }
      if (fdatasync(seg->fd) != 0) {
        seterr(errstr, errstr_size, "cannot fsync %s: %s", seg->log_path, g_strerror(errno));
        return BROOK_ERR_KAFKA_STORAGE_ERROR;
      }
      if (last) {
        active_rebuilt = true;
      } else {
        if ((err = brook_log_seg_write_index_files(seg, errstr, errstr_size))) return err;
        brook_log_index_unload(&seg->oidx);
        brook_log_index_unload(&seg->tidx);
      }
    } else if (!last) {
      const char *why = NULL;
      int64_t next_base = log->segs[i + 1]->base;
      if (brook_log_seg_check_indexes(seg, next_base, &why)) {
        seg->next_offset = next_base;
      } else {
        brook_log(BROOK_LOG_INFO, "log", "rebuilding the indexes of %s: %s", seg->log_path, why);
        if ((err = brook_log_seg_recover(seg, &log->conf, &cut, errstr, errstr_size))) return err;
        if ((err = brook_log_seg_write_index_files(seg, errstr, errstr_size))) return err;
        brook_log_index_unload(&seg->oidx);
        brook_log_index_unload(&seg->tidx);
      }
    } else {
      if ((err = load_active(log, seg, &active_rebuilt, errstr, errstr_size))) return err;
    }
  }
  brook_log_seg_t *act = active_seg(log);
  if ((err = brook_log_seg_open_index_fds(act, errstr, errstr_size))) return err;
  if (active_rebuilt && (err = brook_log_seg_write_index_files(act, errstr, errstr_size))) return err;
  if (scanned_any || log->dir_dirty) {
    if (fsync(log->dir_fd) != 0) {
      seterr(errstr, errstr_size, "cannot fsync directory %s: %s", log->dir, g_strerror(errno));
      return BROOK_ERR_KAFKA_STORAGE_ERROR;
    }
    log->dir_dirty = false;
  }
  for (int i = 0; i < log->nsegs; i++) log->total_bytes += log->segs[i]->size;
  return BROOK_ERR_NONE;
}

brook_err_t brook_log_open(const char *dir, const brook_log_conf_t *conf, int64_t recovery_point,
                           int64_t log_start_offset, bool clean, brook_log_t **logp, char *errstr,
                           size_t errstr_size) {
  *logp = NULL;
  if (g_mkdir_with_parents(dir, 0755) != 0) {
    seterr(errstr, errstr_size, "cannot create log directory %s: %s", dir, g_strerror(errno));
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  brook_log_t *log = g_new0(brook_log_t, 1);
  log->dir = g_strdup(dir);
  if (conf)
    log->conf = *conf;
  else
    brook_log_conf_defaults(&log->conf);
  conf_sanitize(&log->conf);
  log->unflushed_since_ms = -1;
  log->rp_cap = INT64_MAX;
  log->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (log->dir_fd < 0) {
    seterr(errstr, errstr_size, "cannot open log directory %s: %s", dir, g_strerror(errno));
    log_free(log);
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }

  GError *gerr = NULL;
  GDir *d = g_dir_open(dir, 0, &gerr);
  if (!d) {
    seterr(errstr, errstr_size, "cannot list log directory %s: %s", dir, gerr->message);
    g_clear_error(&gerr);
    log_free(log);
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  GArray *bases = g_array_new(FALSE, FALSE, sizeof(int64_t));
  GArray *idx_bases = g_array_new(FALSE, FALSE, sizeof(int64_t));
  GPtrArray *idx_names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(d))) {
    int64_t base;
    if (g_str_has_suffix(name, ".tmp") || g_str_has_suffix(name, ".deleted") || g_str_has_suffix(name, ".cleaned") ||
        g_str_has_suffix(name, ".swap")) {
      char *path = g_build_filename(dir, name, NULL);
      if (unlink(path) != 0)
        brook_log(BROOK_LOG_WARNING, "log", "cannot remove stray file %s: %s", path, g_strerror(errno));
      else
        brook_log(BROOK_LOG_INFO, "log", "removed stray file %s", path);
      g_free(path);
    } else if (parse_seg_name(name, ".log", &base)) {
      g_array_append_val(bases, base);
    } else if (parse_seg_name(name, ".index", &base) || parse_seg_name(name, ".timeindex", &base)) {
      g_array_append_val(idx_bases, base);
      g_ptr_array_add(idx_names, g_strdup(name));
    }
  }
  g_dir_close(d);
  g_array_sort(bases, cmp_i64);

  /* An index without its .log: left by a crash between the unlinks of a
   * deleted segment. */
  for (guint i = 0; i < idx_bases->len; i++) {
    int64_t b = g_array_index(idx_bases, int64_t, i);
    bool found = false;
    for (guint lo = 0, hi = bases->len; lo < hi && !found;) {
      guint mid = lo + (hi - lo) / 2;
      int64_t v = g_array_index(bases, int64_t, mid);
      if (v == b)
        found = true;
      else if (v < b)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (found) continue;
    char *path = g_build_filename(dir, (const char *)g_ptr_array_index(idx_names, i), NULL);
    if (unlink(path) == 0)
      brook_log(BROOK_LOG_INFO, "log", "removed orphan index %s", path);
    else
      brook_log(BROOK_LOG_WARNING, "log", "cannot remove orphan index %s: %s", path, g_strerror(errno));
    g_free(path);
  }
  g_array_free(idx_bases, TRUE);
  g_ptr_array_free(idx_names, TRUE);

  brook_err_t err = BROOK_ERR_NONE;
  if (bases->len == 0) {
    brook_log_seg_t *seg = brook_log_seg_new(dir, MAX(log_start_offset, 0));
    segs_push(log, seg);
    err = brook_log_seg_create(seg, errstr, errstr_size);
    log->dir_dirty = true; /* the segment's names: fsynced with the first flush */
    /* The partition directory's own name lives in the parent. */
    char *parent = g_path_get_dirname(dir);
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0 || fsync(pfd) != 0)
      brook_log(BROOK_LOG_WARNING, "log", "cannot fsync directory %s: %s", parent, g_strerror(errno));
    if (pfd >= 0) close(pfd);
    g_free(parent);
  } else {
    for (guint i = 0; i < bases->len && !err; i++) {
      brook_log_seg_t *seg = brook_log_seg_new(dir, g_array_index(bases, int64_t, i));
      segs_push(log, seg);
      err = brook_log_seg_open_log(seg, errstr, errstr_size);
    }
    if (!err) err = load_segments(log, recovery_point, clean, errstr, errstr_size);
  }
  g_array_free(bases, TRUE);
  if (err) {
    log_free(log);
    return err;
  }

  log->leo = active_seg(log)->next_offset;
  log->lso = log_start_offset < 0 ? log->segs[0]->base : MAX(log_start_offset, log->segs[0]->base);
  if (log->lso > log->leo) {
    brook_log(BROOK_LOG_WARNING, "log", "%s: log start offset %" PRId64 " is past the log end offset %" PRId64
              "; using the log end offset", dir, log->lso, log->leo);
    log->lso = log->leo;
  }
  /* Clean: close fsynced everything. Unclean: everything scanned was fsynced
   * above and everything before it was below the old recovery point. */
  log->rp = log->active_synced = log->leo;
  brook_log(BROOK_LOG_INFO, "log",
            "opened %s: %d segment(s), log start offset %" PRId64 ", log end offset %" PRId64 ", %" PRId64 " bytes",
            dir, log->nsegs, log->lso, log->leo, log->total_bytes);
  *logp = log;
  return BROOK_ERR_NONE;
}

void brook_log_close(brook_log_t *log) {
  if (!log) return;
  jobs_wait(log);
  brook_log_seg_tidx_final(active_seg(log)); /* Kafka's close(): the segment ends with its max timestamp */
  flush_active(log);                          /* logged on failure; nothing else to do at close */
  log_free(log);
}

void brook_log_abandon(brook_log_t *log) {
  if (!log) return;
  log_free(log); /* waits for queued fsyncs: they hold nothing of the log, but its FIFO */
}

brook_err_t brook_log_delete(brook_log_t *log) {
  if (!log) return BROOK_ERR_NONE;
  jobs_wait(log);
  brook_err_t err = BROOK_ERR_NONE;
  for (int i = 0; i < log->nsegs; i++) brook_log_seg_unlink(log->segs[i]);
  GDir *d = g_dir_open(log->dir, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name(d))) {
      char *path = g_build_filename(log->dir, name, NULL);
      if (unlink(path) != 0) {
        brook_log(BROOK_LOG_ERR, "log", "cannot delete %s: %s", path, g_strerror(errno));
        err = BROOK_ERR_KAFKA_STORAGE_ERROR;
      }
      g_free(path);
    }
    g_dir_close(d);
  }
  if (rmdir(log->dir) != 0) {
    brook_log(BROOK_LOG_ERR, "log", "cannot remove log directory %s: %s", log->dir, g_strerror(errno));
    err = BROOK_ERR_KAFKA_STORAGE_ERROR;
  } else {
    brook_log(BROOK_LOG_INFO, "log", "deleted log %s", log->dir);
  }
  log_free(log);
  return err;
}

int64_t brook_log_start_offset(const brook_log_t *log) { return log->lso; }
int64_t brook_log_end_offset(const brook_log_t *log) { return log->leo; }
int64_t brook_log_size_bytes(const brook_log_t *log) { return log->total_bytes; }
int brook_log_segment_count(const brook_log_t *log) { return log->nsegs; }

int64_t brook_log_recovery_point(const brook_log_t *log) {
  g_mutex_lock(&jobs_mu);
  int64_t rp = log->rp;
  const fsync_job_t *job = log->jobs_head;
  for (; job && job->state == JOB_OK; job = job->next) rp = MAX(rp, job->end);
  if (!job) rp = MAX(rp, log->active_synced);
  rp = MIN(rp, log->rp_cap);
  g_mutex_unlock(&jobs_mu);
  return rp;
}

/* ---- append ---- */

/* Why the active segment must roll before an append of len bytes (batches in
 * p) whose last offset is last_offset, or NULL. Kafka's shouldRoll(). */
static const char *roll_reason(const brook_log_t *log, const brook_log_seg_t *seg, const uint8_t *p, size_t len,
                               int64_t last_offset, int64_t append_max_ts, int64_t now_ms) {
  if (seg->size == 0) return NULL;
  if (seg->size + (int64_t)len > log->conf.segment_bytes) return "segment.bytes";
  /* Kafka measures a segment's age in record time when it has timestamps
   * (first batch's vs. this append's max), so replaying old data does not roll
   * on every append; without timestamps, by the broker clock. */
  int64_t age = seg->roll_ts >= 0 && append_max_ts >= 0 ? append_max_ts - seg->roll_ts : now_ms - seg->age_base_ms;
  if (age > log->conf.segment_ms) return "segment.ms";
  if (last_offset - seg->base > INT32_MAX) return "relative offset overflow";
  size_t adds = 0;
  int64_t since = seg->bytes_since_index;
  for (size_t off = 0; off < len;) {
    int64_t size = BROOK_BATCH_LOG_OVERHEAD + (int64_t)brook_rd32(p + off + 8);
    if (since >= log->conf.index_interval_bytes) {
      adds++;
      since = 0;
    }
    since += size;
    off += (size_t)size;
  }
  /* +1: the final time index entry written when the segment rolls. */
  if (seg->oidx.n + adds > max_oidx(log) || seg->tidx.n + adds + 1 > max_tidx(log)) return "segment.index.bytes";
  return NULL;
}

brook_err_t brook_log_append(brook_log_t *log, uint8_t *p, size_t len, int64_t now_ms, brook_append_info_t *info) {
  brook_append_info_t dummy;
  if (!info) info = &dummy;
  memset(info, 0, sizeof *info);
  info->first_offset = info->last_offset = -1;
  info->log_start_offset = log->lso;
  if (log->jobs_head) jobs_poll(log); /* head is only ever changed by this thread */

  /* Pass 1: framing and totals; the caller validated, this only guards the
   * arithmetic below against a caller that did not. */
  int64_t noffsets = 0, append_max_ts = -1;
  for (size_t off = 0; off < len;) {
    if (len - off < BROOK_BATCH_HDR_SIZE) return BROOK_ERR_CORRUPT_MESSAGE;
    int32_t batch_len = (int32_t)brook_rd32(p + off + 8);
    if (batch_len < MIN_BATCH_LENGTH || (size_t)batch_len > len - off - BROOK_BATCH_LOG_OVERHEAD)
      return BROOK_ERR_CORRUPT_MESSAGE;
    if (p[off + 16] != 2) return BROOK_ERR_CORRUPT_MESSAGE;
    int32_t lod = (int32_t)brook_rd32(p + off + 23);
    if (lod < 0) return BROOK_ERR_INVALID_RECORD;
    int64_t size = BROOK_BATCH_LOG_OVERHEAD + (int64_t)batch_len;
    if (size > log->conf.segment_bytes) return BROOK_ERR_RECORD_LIST_TOO_LARGE;
    noffsets += (int64_t)lod + 1;
    append_max_ts = MAX(append_max_ts, (int64_t)brook_rd64(p + off + 35));
    off += (size_t)size;
  }
  if (len == 0) return BROOK_ERR_NONE;
  if (len > INT32_MAX || noffsets - 1 > INT32_MAX) return BROOK_ERR_RECORD_LIST_TOO_LARGE;

  brook_log_seg_t *seg = active_seg(log);
  if (seg->age_base_ms < 0) seg->age_base_ms = now_ms;
  const char *why = roll_reason(log, seg, p, len, log->leo + noffsets - 1, append_max_ts, now_ms);
  if (why) {
    if (roll(log, why)) return BROOK_ERR_KAFKA_STORAGE_ERROR;
    seg = active_seg(log);
    seg->age_base_ms = now_ms;
    info->rolled = true;
  }

  /* Pass 2: assign offsets in place (outside the CRC). */
  int64_t next = log->leo;
  for (size_t off = 0; off < len;) {
    brook_batch_set_base_offset(p + off, next);
    brook_batch_set_leader_epoch(p + off, 0);
    next += (int64_t)(int32_t)brook_rd32(p + off + 23) + 1;
    off += BROOK_BATCH_LOG_OVERHEAD + brook_rd32(p + off + 8);
  }

  /* One pwrite; the loop only runs again after a short write, to learn the
   * errno (EFBIG, ENOSPC) that explains it. */
  size_t done = 0;
  int e = 0;
  while (done < len) {
    ssize_t w = pwrite(seg->fd, p + done, len - done, (off_t)(seg->size + (int64_t)done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      e = w < 0 ? errno : EIO;
      break;
    }
    done += (size_t)w;
  }
  if (e) {
    brook_log(BROOK_LOG_ERR, "log", "append of %zu bytes to %s at position %" PRId64 " failed after %zu bytes: %s", len,
              seg->log_path, seg->size, done, g_strerror(e));
    if (ftruncate(seg->fd, (off_t)seg->size) != 0)
      brook_log(BROOK_LOG_CRIT, "log",
                "cannot truncate %s back to %" PRId64 " bytes: %s (the bytes past it are ignored and overwritten by "
                "the next append, and cut by recovery)",
                seg->log_path, seg->size, g_strerror(errno));
    return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }

  /* Pass 3: indexes and timestamps from the headers. */
  size_t mo = max_oidx(log), mt = max_tidx(log);
  for (size_t off = 0; off < len;) {
    brook_log_seg_track(seg, p + off, seg->size + (int64_t)off, log->conf.index_interval_bytes, mo, mt);
    off += BROOK_BATCH_LOG_OVERHEAD + brook_rd32(p + off + 8);
  }
  seg->size += (int64_t)len;
  log->total_bytes += (int64_t)len;
  info->first_offset = log->leo;
  info->last_offset = next - 1;
  info->log_start_offset = log->lso;
  log->leo = next;
  log->unflushed_msgs += noffsets;
  if (log->unflushed_since_ms < 0) log->unflushed_since_ms = now_ms;
  if (log->unflushed_msgs >= log->conf.flush_messages) flush_active(log); /* failure logged; data is appended */
  return BROOK_ERR_NONE;
}

/* ---- reads ---- */

/* The header at pos, checked to describe a batch inside [pos, seg->size).
 * NULL after logging on I/O error or a corrupt header. */
static const uint8_t *hdr_at(const brook_log_seg_t *seg, brook_log_rwin_t *w, int64_t pos, int64_t *size) {
  int e = 0;
  if (seg->size - pos < BROOK_BATCH_HDR_SIZE) {
    brook_log(BROOK_LOG_ERR, "log", "%s: partial batch header at position %" PRId64 " (size %" PRId64 ")",
              seg->log_path, pos, seg->size);
    return NULL;
  }
  const uint8_t *h = brook_log_rwin_get(w, pos, BROOK_BATCH_HDR_SIZE, &e);
  if (!h) {
    brook_log(BROOK_LOG_ERR, "log", "cannot read %s at position %" PRId64 ": %s", seg->log_path, pos, g_strerror(e));
    return NULL;
  }
  int32_t batch_len = (int32_t)brook_rd32(h + 8);
  if (batch_len < MIN_BATCH_LENGTH || pos + BROOK_BATCH_LOG_OVERHEAD + batch_len > seg->size) {
    brook_log(BROOK_LOG_ERR, "log", "%s: corrupt batch header at position %" PRId64 " (batchLength %" PRId32 ")",
              seg->log_path, pos, batch_len);
    return NULL;
  }
  *size = BROOK_BATCH_LOG_OVERHEAD + (int64_t)batch_len;
  return h;
}

static inline int64_t hdr_last_offset(const uint8_t *h) {
  return (int64_t)brook_rd64(h) + (int32_t)brook_rd32(h + 23);
}

/* Finds the first batch of seg whose last offset >= offset: the offset index
 * gives a start <= it, then a forward header walk. 1 found (*posp, hdr
 * copied), 0 none in this segment, -1 I/O error or corruption (logged). */
static int seg_locate(brook_log_seg_t *seg, int64_t offset, brook_log_rwin_t *w, int64_t *posp,
                      uint8_t hdr[BROOK_BATCH_HDR_SIZE]) {
  int64_t pos = 0;
  if (offset > seg->base) {
    brook_log_index_ensure(&seg->oidx, seg->idx_path);
    pos = brook_log_oidx_lookup(&seg->oidx, (uint32_t)MIN(offset - seg->base, (int64_t)INT32_MAX));
    if (pos >= seg->size) pos = 0; /* an index we did not write; never trust it past the end */
  }
  while (pos < seg->size) {
    int64_t size;
    const uint8_t *h = hdr_at(seg, w, pos, &size);
    if (!h) return -1;
    if (hdr_last_offset(h) >= offset) {
      memcpy(hdr, h, BROOK_BATCH_HDR_SIZE);
      *posp = pos;
      return 1;
    }
    pos += size;
  }
  return 0;
}

brook_err_t brook_log_read(brook_log_t *log, int64_t offset, int32_t max_bytes, int64_t max_offset, bool min_one,
                           brook_log_slice_t *slice) {
  memset(slice, 0, sizeof *slice);
  slice->file.fd = -1;
  slice->first_offset = slice->last_offset = -1;
  if (offset < log->lso || offset > log->leo) return BROOK_ERR_OFFSET_OUT_OF_RANGE;
  if (offset >= log->leo || offset >= max_offset) return BROOK_ERR_NONE;
  int64_t limit = MAX(max_bytes, 0);

  for (int i = MAX(seg_find(log, offset), 0); i < log->nsegs; i++) {
    brook_log_seg_t *seg = log->segs[i];
    brook_log_rwin_t w;
    brook_log_rwin_init(&w, seg->fd, seg->size, READ_WINDOW);
    uint8_t hdr[BROOK_BATCH_HDR_SIZE];
    int64_t p0 = 0;
    int r = seg_locate(seg, offset, &w, &p0, hdr);
    if (r <= 0) {
      brook_log_rwin_free(&w);
      if (r < 0) return BROOK_ERR_KAFKA_STORAGE_ERROR;
      continue; /* offset is past this segment's last batch */
    }
    int64_t first = (int64_t)brook_rd64(hdr), size0 = BROOK_BATCH_LOG_OVERHEAD + (int32_t)brook_rd32(hdr + 8);
    int64_t end, last;
    if (first >= max_offset) {
      brook_log_rwin_free(&w);
      return BROOK_ERR_NONE;
    }
    if (seg == active_seg(log) && log->leo <= max_offset && seg->size - p0 <= limit) {
      /* Tail reader, everything fits: no need to walk the headers. */
      end = seg->size;
      last = log->leo - 1;
    } else if (size0 > limit) {
      if (!min_one) {
        brook_log_rwin_free(&w);
        return BROOK_ERR_NONE;
      }
      end = p0 + size0;
      last = hdr_last_offset(hdr);
    } else {
      end = p0 + size0;
      last = hdr_last_offset(hdr);
      while (end < seg->size) {
        int64_t size;
        const uint8_t *h = hdr_at(seg, &w, end, &size);
        if (!h) {
          brook_log_rwin_free(&w);
          return BROOK_ERR_KAFKA_STORAGE_ERROR;
        }
        if ((int64_t)brook_rd64(h) >= max_offset || end + size - p0 > limit) break;
        last = hdr_last_offset(h);
        end += size;
      }
    }
    brook_log_rwin_free(&w);
    brook_log_seg_ref(seg);
    slice->file.fd = seg->fd;
    slice->file.pos = p0;
    slice->file.len = (int32_t)(end - p0);
    slice->file.release = brook_log_seg_release_cb;
    slice->file.ctx = seg;
    slice->first_offset = first;
    slice->last_offset = last;
    return BROOK_ERR_NONE;
  }
  return BROOK_ERR_NONE;
}

static int pread_all(int fd, uint8_t *p, size_t len, int64_t pos) {
  size_t done = 0;
  while (done < len) {
    ssize_t r = pread(fd, p + done, len - done, (off_t)(pos + (int64_t)done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return EIO;
    done += (size_t)r;
  }
  return 0;
}

brook_err_t brook_log_read_copy(brook_log_t *log, int64_t offset, int32_t max_bytes, int64_t max_offset,
                                brook_buf_t *out) {
  brook_log_slice_t slice;
  brook_err_t err = brook_log_read(log, offset, max_bytes, max_offset, true, &slice);
  if (err || slice.file.len == 0) return err;
  brook_buf_reserve(out, (size_t)slice.file.len);
  int e = pread_all(slice.file.fd, out->data + out->len, (size_t)slice.file.len, slice.file.pos);
  if (e) {
    brook_log(BROOK_LOG_ERR, "log", "cannot read %" PRId32 " bytes at position %" PRId64 " of %s: %s", slice.file.len,
              slice.file.pos, ((brook_log_seg_t *)slice.file.ctx)->log_path, g_strerror(e));
    err = BROOK_ERR_KAFKA_STORAGE_ERROR;
  } else {
    out->len += (size_t)slice.file.len;
  }
  slice.file.release(slice.file.ctx);
  return err;
}

brook_err_t brook_log_scan_headers(brook_log_t *log, int64_t from_offset, brook_log_hdr_cb cb, void *ctx) {
  int i = seg_find(log, from_offset);
  bool locate = i >= 0;
  for (i = MAX(i, 0); i < log->nsegs; i++) {
    brook_log_seg_t *seg = log->segs[i];
    brook_log_rwin_t w;
    brook_log_rwin_init(&w, seg->fd, seg->size, READ_WINDOW);
    int64_t pos = 0;
    if (locate) {
      uint8_t hdr[BROOK_BATCH_HDR_SIZE];
      int r = seg_locate(seg, from_offset, &w, &pos, hdr);
      if (r < 0) {
        brook_log_rwin_free(&w);
        return BROOK_ERR_KAFKA_STORAGE_ERROR;
      }
      if (r == 0) pos = seg->size;
      locate = false; /* later segments start at their first batch */
    }
    while (pos < seg->size) {
      int64_t size;
      const uint8_t *h = hdr_at(seg, &w, pos, &size);
      if (!h) {
        brook_log_rwin_free(&w);
        return BROOK_ERR_KAFKA_STORAGE_ERROR;
      }
      uint8_t hdr[BROOK_BATCH_HDR_SIZE];
      memcpy(hdr, h, sizeof hdr); /* cb must not see the window move under it */
      if (!cb(hdr, pos, ctx)) {
        brook_log_rwin_free(&w);
        return BROOK_ERR_NONE;
      }
      pos += size;
    }
    brook_log_rwin_free(&w);
  }
  return BROOK_ERR_NONE;
}

/* Within the batch at pos (header hdr), the first record with offset >= floor
 * whose timestamp is >= ts (exact = false) or == ts (exact = true). Reads the
 * whole batch (bounded by its size) and decompresses it unless every record
 * carries the batch's LogAppendTime. 1 found, 0 not in this batch, <0 error. */
static int find_record(const brook_log_seg_t *seg, int64_t pos, const uint8_t *hdr, int64_t ts, bool exact,
                       int64_t floor, int64_t *offset, int64_t *found_ts) {
  int64_t base_offset = (int64_t)brook_rd64(hdr), max_ts = (int64_t)brook_rd64(hdr + 35);
  if (brook_rd16(hdr + 21) & BROOK_BATCH_ATTR_LOG_APPEND_TIME) {
    if (exact ? max_ts != ts : max_ts < ts) return 0;
    if (hdr_last_offset(hdr) < floor) return 0;
    *offset = MAX(base_offset, floor);
    *found_ts = max_ts;
    return 1;
  }
  size_t size = BROOK_BATCH_LOG_OVERHEAD + (size_t)brook_rd32(hdr + 8);
  uint8_t *buf = g_malloc(size);
  int e = pread_all(seg->fd, buf, size, pos);
  if (e) {
    brook_log(BROOK_LOG_ERR, "log", "cannot read %s at position %" PRId64 ": %s", seg->log_path, pos, g_strerror(e));
    g_free(buf);
    return -1;
  }
  brook_batch_iter_t it;
  brook_record_t rec;
  int found = 0, r = -1;
  if (brook_batch_iter_init(&it, buf, size) == BROOK_ERR_NONE) {
    while ((r = brook_batch_iter_next(&it, &rec)) == 1) {
      if (rec.offset >= floor && (exact ? rec.timestamp == ts : rec.timestamp >= ts)) {
        *offset = rec.offset;
        *found_ts = rec.timestamp;
        found = 1;
        break;
      }
    }
  }
  if (!found && r < 0) {
    brook_log(BROOK_LOG_ERR, "log", "%s: cannot decode the batch at position %" PRId64 ": %s", seg->log_path, pos,
              brook_err_name(it.err));
    found = -1;
  }
  brook_batch_iter_free(&it);
  g_free(buf);
  return found;
}

brook_err_t brook_log_offset_for_time(brook_log_t *log, int64_t ts, int64_t *offset, int64_t *found_ts) {
  *offset = *found_ts = -1;
  for (int i = 0; i < log->nsegs; i++) {
    brook_log_seg_t *seg = log->segs[i];
    if (seg->max_ts < ts) continue; /* also skips segments without timestamps */
    if (i + 1 < log->nsegs && log->segs[i + 1]->base <= log->lso) continue; /* wholly deleted */
    /* Time index: the largest entry <= ts names the first batch that reached
     * that timestamp; nothing before it can be >= ts (see index.c). */
    brook_log_index_ensure(&seg->tidx, seg->tidx_path);
    int64_t rel = brook_log_tidx_lookup(&seg->tidx, ts);
    int64_t start = MAX(rel >= 0 ? seg->base + rel : seg->base, log->lso);
    brook_log_rwin_t w;
    brook_log_rwin_init(&w, seg->fd, seg->size, READ_WINDOW);
    uint8_t hdr[BROOK_BATCH_HDR_SIZE];
    int64_t pos = 0;
    int r = seg_locate(seg, start, &w, &pos, hdr);
    while (r > 0 && pos < seg->size) {
      int64_t size;
      const uint8_t *h = hdr_at(seg, &w, pos, &size);
      if (!h) {
        r = -1;
        break;
      }
      if ((int64_t)brook_rd64(h + 35) >= ts && hdr_last_offset(h) >= log->lso) {
        memcpy(hdr, h, sizeof hdr);
        int f = find_record(seg, pos, hdr, ts, false, log->lso, offset, found_ts);
        if (f != 0) {
          brook_log_rwin_free(&w);
          return f > 0 ? BROOK_ERR_NONE : BROOK_ERR_KAFKA_STORAGE_ERROR;
        }
      }
      pos += size;
    }
    brook_log_rwin_free(&w);
    if (r < 0) return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  return BROOK_ERR_NONE;
}

brook_err_t brook_log_max_timestamp(brook_log_t *log, int64_t *offset, int64_t *ts) {
  *offset = *ts = -1;
  brook_log_seg_t *best = NULL;
  for (int i = 0; i < log->nsegs; i++)
    if (log->segs[i]->size > 0 && log->segs[i]->max_ts > (best ? best->max_ts : -1)) best = log->segs[i];
  if (!best || best->max_ts_offset < 0) return BROOK_ERR_NONE;
  /* max_ts_offset is the last offset of the first batch that reached the
   * maximum (Kafka's shallow offset); the record itself is found inside it. */
  brook_log_rwin_t w;
  brook_log_rwin_init(&w, best->fd, best->size, READ_WINDOW);
  uint8_t hdr[BROOK_BATCH_HDR_SIZE];
  int64_t pos = 0;
  int r = seg_locate(best, best->max_ts_offset, &w, &pos, hdr);
  brook_log_rwin_free(&w);
  if (r < 0) return BROOK_ERR_KAFKA_STORAGE_ERROR;
  if (r > 0) {
    int f = find_record(best, pos, hdr, best->max_ts, true, INT64_MIN, offset, ts);
    if (f < 0) return BROOK_ERR_KAFKA_STORAGE_ERROR;
    if (f > 0) return BROOK_ERR_NONE;
  }
  *offset = best->max_ts_offset; /* index and data disagree: fall back to the batch */
  *ts = best->max_ts;
  return BROOK_ERR_NONE;
}

/* ---- retention ---- */

brook_err_t brook_log_delete_records_before(brook_log_t *log, int64_t offset) {
  if (offset > log->leo || offset < 0) return BROOK_ERR_OFFSET_OUT_OF_RANGE;
  if (offset <= log->lso) return BROOK_ERR_NONE;
  brook_log(BROOK_LOG_INFO, "log", "%s: log start offset %" PRId64 " -> %" PRId64 " (DeleteRecords)", log->dir,
            log->lso, offset);
  log->lso = offset;
  while (log->nsegs > 1 && log->segs[1]->base <= log->lso) delete_front(log, "below the log start offset");
  return BROOK_ERR_NONE;
}

/* Kafka's LogSegment.largestTimestamp: the max record timestamp, or the file's
 * mtime when the segment has none. */
static int64_t seg_largest_ts(const brook_log_seg_t *seg) {
  if (seg->max_ts >= 0) return seg->max_ts;
  struct stat st;
  if (fstat(seg->fd, &st) != 0) {
    brook_log(BROOK_LOG_ERR, "log", "cannot stat %s: %s (not expired by time)", seg->log_path, g_strerror(errno));
    return INT64_MAX;
  }
  return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

int brook_log_housekeep(brook_log_t *log, int64_t now_ms) {
  int deleted = 0;
  jobs_poll(log);
  brook_log_seg_t *act = active_seg(log);
  if (act->age_base_ms < 0) act->age_base_ms = now_ms;
  if (act->size > 0 && now_ms - act->age_base_ms > log->conf.segment_ms) roll(log, "segment.ms");

  if (log->conf.retention_ms >= 0) {
    while (deleted < HOUSEKEEP_MAX_DELETES) {
      brook_log_seg_t *seg = log->segs[0];
      if (now_ms - seg_largest_ts(seg) <= log->conf.retention_ms) break;
      if (log->nsegs == 1) {
        /* The active segment itself expired: Kafka rolls it so it can go. */
        if (seg->size == 0 || roll(log, "retention.ms")) break;
        continue;
      }
      delete_front(log, "retention.ms");
      deleted++;
    }
  }
  if (log->conf.retention_bytes >= 0) {
    while (deleted < HOUSEKEEP_MAX_DELETES && log->nsegs > 1 &&
           log->total_bytes - log->segs[0]->size >= log->conf.retention_bytes) {
      delete_front(log, "retention.bytes");
      deleted++;
    }
  }
  while (deleted < HOUSEKEEP_MAX_DELETES && log->nsegs > 1 && log->segs[1]->base <= log->lso) {
    delete_front(log, "below the log start offset");
    deleted++;
  }
  if (log->unflushed_since_ms >= 0 && now_ms - log->unflushed_since_ms >= log->conf.flush_ms) flush_active(log);
  return deleted;
}
