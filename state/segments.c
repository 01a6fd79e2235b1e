/*
 * segments.c — time-partitioned storage for window and session stores.
 *
 * Design note
 * -----------
 * A segmented store is a list of segments ordered by id. Segment `id` holds
 * every store key whose segment timestamp t (window start / session end) has
 * floor(t / interval) == id. Each segment is its own RocksDB instance in
 *
 *     <task dir>/rocksdb/<store>/<store>.<id * interval>
 *
 * (Kafka Streams' AbstractSegments.segmentName is "<store>.<id * interval>" too;
 * Kafka puts the segment directories in "<task dir>/<store>/", brook keeps all
 * RocksDB data under rocksdb/ as brook_state.h promises.) The in-memory variant
 * uses the same segment list with a GTree per segment instead of RocksDB, so
 * both variants share expiry, range and ordering logic and so the same
 * contract.
 *
 * Stream time and expiry (Kafka Streams' AbstractRocksDBSegmentedBytesStore /
 * AbstractSegments):
 *
 *   stream_time = max segment timestamp ever put or restored (-1 before any)
 *   a put with t <= stream_time - retention      → dropped, counted
 *                                                   ("Skipping record for expired segment.")
 *   segments with id < id(stream_time - retention) → closed and deleted whole
 *   reads see only t >= stream_time - retention + 1 (Kafka's getActualFrom):
 *   a live segment may still hold older keys until it goes as a whole.
 *
 *   put(k, t): stream' = max(stream, t) ─ t <= stream' - R ──> drop, count
 *     │
 *     ├─ cached: stream = stream' ─> cache put ─> drop_expired()
 *     │            (cache flush/evict ─> write_through, below)
 *     │
 *     └─ write_through: segment(id(t)) (open or create) ─> sink(k, v)
 *          ─ error ──> fail, nothing changed
 *          └─> write ─> listener ─> stream = stream' ─> drop_expired()
 *
 * Dropping a segment never deletes keys one by one: the segment leaves the
 * list, and when its last reference goes (iterators hold references) its
 * RocksDB is unregistered from the environment, closed and its directory
 * destroyed. So an iterator that outlives a drop keeps reading a consistent
 * segment.
 *
 * Stream time is saved in "<task dir>/rocksdb/<store>/<store>.stream-time" by
 * flush (temp file + fsync + rename) and read back at open, so that reads after
 * a restart hide exactly what they hid before and segments that expired while
 * the store was closed are dropped at open. (Kafka Streams restarts from -1
 * until the next record; without a restore, expired windows reappear.)
 *
 * Writes use WAL-off write options, as Kafka Streams' RocksDBStore does: the
 * changelog is the durable log; flush() (before each checkpoint) persists the
 * memtables, and an unclean shutdown is repaired by restore.
 *
 * Restore applies a batch of changelog records with one RocksDB write batch
 * per segment, after dropping the records the batch's own final stream time
 * expires (so a segment is never created only to be deleted at the end of the
 * same batch).
 *
 * Iteration visits segments in id order (reverse when backward) and, inside a
 * segment, store keys in bytewise order between inclusive bounds; a filter
 * callback decides which keys in the range are real hits (variable-length keys
 * interleave with other keys' timestamps, see state_seg_range_upper). In-memory
 * iterators keep a copy of the current key and a reference to the current
 * value, and re-seek after a write changed the tree (version counter), so
 * writing while iterating is safe for both variants.
 *
 * Record cache (optional, state_cache_t from cache.c, keyed by store key): a
 * put checks expiry and moves stream time as without the cache, then goes into
 * the cache; the cache's write fn (cache_write) sends evicted or flushed
 * entries through write_through — segment, sink, storage, listener — skipping
 * entries whose segment expired while they were cached. get looks in the cache
 * first (a cached delete answers "absent"). An iterator takes a snapshot of the
 * cache's entries in its key range when created, keeps those its filter
 * accepts, sorts them into the store's visiting order (segment, then bytes) and
 * merges them with the store's cursor: on equal keys the cache wins, a cached
 * delete hides the stored entry.
 *
 * Bounds: put/get O(log n) in the segment; drop_expired O(segments dropped);
 * an iterator holds at most one RocksDB iterator open at a time; segments per
 * store = retention / interval + 2 at most.
 *
 * Views (interactive queries from other threads)
 * ----------------------------------------------
 * A view holds a reference to the store's `shared` part (lock, closed flag,
 * live view iterators), which outlives the store. The rules:
 *
 *   owner thread                         view threads
 *   ────────────                         ────────────
 *   changes the segment list, stream     read the segment list, stream time
 *   time, in-memory trees, and writes    and trees, and take RocksDB
 *   every atomic group (one put with     snapshots, only under
 *   its evictions and drops, a restore   shared->lock held for READING
 *   batch, a cache flush, a session
 *   merge) under shared->lock held for
 *   WRITING (recursive by wdepth)
 *   reads without the lock (it is the only writer)
 *
 * So a view never sees part of a group: a view get runs wholly between two
 * groups; a view iterator, when created, takes under the read lock a RocksDB
 * snapshot of every segment in range (one consistent cut across segments: no
 * group is in progress while the lock is held) or, in memory, copies the
 * entries in range. RocksDB view iterators then read lazily from their
 * snapshots, taking the read lock around each step.
 *
 * Segment lifetime: segments are reference-counted (atomically). A view
 * iterator holds a reference to every segment it will visit, so when the
 * owner drops an expired segment the RocksDB instance stays open (and its
 * snapshot valid) until the last view iterator on it lets go; that release
 * may run on the view thread and then closes and deletes the segment there
 * (the environment's registry is mutex-protected). Close takes the write lock,
 * marks the shared part closed and releases every live view iterator's
 * cursor, snapshots and segment references itself, so all RocksDB instances
 * are closed before close returns (the task directory can be reopened at
 * once); those iterators, and every later view call, report BROOK_ERR__STATE.
 *
 * Bounds: the write lock is held for one group (including the changelog sink
 * call and the flush listener of each write in it); a view holds the read lock
 * for one lookup, one iterator step, or — in memory — for the copy of the
 * iterator's range (O(entries in range)).
 *
 * @locality stream thread (the store's owner) for everything here except the
 * state_seg_view_* functions and view iterators: any thread.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "brook_serde.h"
#include "segments.h"
#include "state_int.h"

#define FAC "state"

/* An in-memory key: the bytes follow the struct for stored keys, or point at
 * caller memory for lookups (a probe). */
typedef struct mkey {
  size_t len;
  const uint8_t *data;
} mkey_t;

typedef struct seg {
  gint ref; /* atomic: view iterators on other threads hold references */
  int64_t id;
  char *dir;     /* RocksDB directory; NULL in memory */
  rocksdb_t *db; /* RocksDB variant */
  GTree *tree;   /* in-memory variant: mkey_t* -> state_blob_t* */
  uint64_t version;
  bool dropped; /* left the store: destroy when the last reference goes */
  brook_state_env_t *env;
} seg_t;

/* What views share with the store; outlives it (see "Views" above). */
typedef struct seg_shared {
  gint ref; /* atomic: the store + its views */
  GRWLock lock;
  bool closed;             /* under lock (written with it held for writing) */
  state_seg_store_t *ss;   /* valid while !closed */
  GMutex iters_lock;       /* guards `iters`, changed by readers */
  state_seg_iter_t *iters; /* live RocksDB view iterators, doubly linked */
} seg_shared_t;

struct state_seg_store {
  brook_state_env_t *env;
  seg_shared_t *sh;
  int wdepth; /* owner's nesting of sh->lock held for writing */
  char *name;
  char *path;
  char *kind;
  char *topic;
  bool in_memory;
  bool logged;
  int32_t partition;
  brook_changelog_sink_t sink;
  int64_t retention;
  int64_t interval;
  size_t suffix_len;
  int64_t stream_time;
  int64_t stream_time_saved; /* what <name>.stream-time holds */
  uint64_t expired_drops;
  GPtrArray *segs; /* seg_t*, ascending id */
  rocksdb_writeoptions_t *wopts;
  rocksdb_readoptions_t *ropts;
  rocksdb_flushoptions_t *fopts;
  /* changelog position (same lifecycle as key-value stores) */
  brook_task_dir_t *dir;
  int64_t restore_start;
  int64_t offset;
  bool wiped;
  gint64 restore_t0;
  brook_restore_progress_t progress;
  /* record cache (NULL = uncached) and the forwarding hook */
  state_cache_t *cache;
  brook_cache_flush_listener_t listener;
};

/* ---- small helpers ---- */

static int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_sub_overflow(a, b, &r) ? INT64_MIN : r;
}

int64_t state_seg_id_of(int64_t ts, int64_t interval) {
  int64_t q = ts / interval;
  if (ts % interval != 0 && ts < 0) q--; /* floor */
  return q;
}

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...) {
  if (!errstr || !errstr_size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errstr, errstr_size, fmt, ap);
  va_end(ap);
}

static int64_t seg_ts_raw(const uint8_t *skey, size_t sklen, size_t suffix_len) {
  return brook_serde_get_i64(skey + sklen - suffix_len);
}

static int64_t seg_ts(const state_seg_store_t *ss, const uint8_t *skey, size_t sklen) {
  return seg_ts_raw(skey, sklen, ss->suffix_len);
}

static void rm_rf(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name(d))) {
      char *p = g_build_filename(path, name, NULL);
      if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
        rm_rf(p);
      else
        g_unlink(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  g_rmdir(path);
}

static int mkey_cmp(gconstpointer a, gconstpointer b, gpointer unused) {
  const mkey_t *x = a, *y = b;
  return state_bytes_cmp(x->data, x->len, y->data, y->len);
}

static mkey_t *mkey_new(const void *data, size_t len) {
  mkey_t *k = g_malloc(sizeof(*k) + len);
  uint8_t *copy = (uint8_t *)(k + 1);
  if (len) memcpy(copy, data, len);
  k->len = len;
  k->data = copy;
  return k;
}

static void blob_unref(gpointer p) { state_blob_unref(p); }

/* ---- segments ---- */

static void seg_unref(seg_t *seg) {
  if (!seg || !g_atomic_int_dec_and_test(&seg->ref)) return;
  if (seg->db) {
    state_env_db_closed(seg->env, seg->db);
    rocksdb_close(seg->db);
  }
  if (seg->tree) g_tree_destroy(seg->tree);
  if (seg->dropped && seg->dir) {
    rocksdb_options_t *o = rocksdb_options_create();
    char *rerr = NULL;
    rocksdb_destroy_db(o, seg->dir, &rerr);
    if (rerr) {
      brook_log(BROOK_LOG_WARNING, FAC, "destroying segment %s: %s", seg->dir, rerr);
      rocksdb_free(rerr);
    }
    rocksdb_options_destroy(o);
    rm_rf(seg->dir); /* whatever destroy_db left (LOG files, the directory) */
  }
  g_free(seg->dir);
  g_free(seg);
}

static seg_t *seg_ref(seg_t *seg) {
  g_atomic_int_inc(&seg->ref);
  return seg;
}

/* ---- the views' lock ---- */

void state_seg_store_lock_writes(state_seg_store_t *ss) {
  if (ss->wdepth++ == 0) g_rw_lock_writer_lock(&ss->sh->lock);
}

void state_seg_store_unlock_writes(state_seg_store_t *ss) {
  g_assert(ss->wdepth > 0);
  if (--ss->wdepth == 0) g_rw_lock_writer_unlock(&ss->sh->lock);
}

static void shared_unref(seg_shared_t *sh) {
  if (!g_atomic_int_dec_and_test(&sh->ref)) return;
  g_rw_lock_clear(&sh->lock);
  g_mutex_clear(&sh->iters_lock);
  g_free(sh);
}

static char *seg_dir(const state_seg_store_t *ss, int64_t id) {
  char *base = g_strdup_printf("%s.%" PRId64, ss->name, id * ss->interval);
  char *dir = g_build_filename(ss->path, base, NULL);
  g_free(base);
  return dir;
}

static brook_err_t seg_open(state_seg_store_t *ss, int64_t id, seg_t **segp, char *errstr,
                            size_t errstr_size) {
  seg_t *seg = g_new0(seg_t, 1);
  seg->ref = 1;
  seg->id = id;
  seg->env = ss->env;
  if (ss->in_memory) {
    seg->tree = g_tree_new_full(mkey_cmp, NULL, g_free, blob_unref);
  } else {
    seg->dir = seg_dir(ss, id);
    char *rerr = NULL;
    /* Fresh options for every open: the environment sizes write_buffer_size for
     * the stores open right now, and a reused options object would carry a
     * stale (larger) size that no later re-division corrects. */
    rocksdb_options_t *opts = state_env_rocksdb_options(ss->env, ss->name);
    seg->db = rocksdb_open(opts, seg->dir, &rerr);
    rocksdb_options_destroy(opts);
    if (rerr) {
      char what[512];
      snprintf(what, sizeof what, "%s store %s: opening segment %s", ss->kind, ss->name, seg->dir);
      brook_err_t err = state_rocksdb_err(rerr, what, errstr, errstr_size);
      g_free(seg->dir);
      g_free(seg);
      return err;
    }
    state_env_db_opened(ss->env, seg->db);
  }
  *segp = seg;
  return BROOK_ERR_NONE;
}

/* Index of the first segment with id >= `id`. */
static guint seg_lower(const state_seg_store_t *ss, int64_t id) {
  guint lo = 0, hi = ss->segs->len;
  while (lo < hi) {
    guint mid = lo + (hi - lo) / 2;
    if (((seg_t *)ss->segs->pdata[mid])->id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static seg_t *seg_find(const state_seg_store_t *ss, int64_t id) {
  guint i = seg_lower(ss, id);
  if (i < ss->segs->len && ((seg_t *)ss->segs->pdata[i])->id == id) return ss->segs->pdata[i];
  return NULL;
}

static brook_err_t seg_get_or_create(state_seg_store_t *ss, int64_t id, seg_t **segp, char *errstr,
                                     size_t errstr_size) {
  guint i = seg_lower(ss, id);
  if (i < ss->segs->len && ((seg_t *)ss->segs->pdata[i])->id == id) {
    *segp = ss->segs->pdata[i];
    return BROOK_ERR_NONE;
  }
  if (!ss->in_memory && g_mkdir_with_parents(ss->path, 0755) != 0) {
    int e = errno;
    set_err(errstr, errstr_size, "%s store %s: creating %s: %s", ss->kind, ss->name, ss->path, g_strerror(e));
    return e == ENOSPC ? BROOK_ERR__NOSPC : BROOK_ERR__IO;
  }
  seg_t *seg = NULL;
  brook_err_t err = seg_open(ss, id, &seg, errstr, errstr_size);
  if (err) return err;
  g_ptr_array_insert(ss->segs, (gint)i, seg);
  *segp = seg;
  return BROOK_ERR_NONE;
}

/* Drops every segment older than the oldest live one: closed and deleted whole. */
static void drop_expired(state_seg_store_t *ss) {
  if (ss->stream_time < 0) return;
  int64_t min_live = state_seg_id_of(sat_sub(ss->stream_time, ss->retention), ss->interval);
  while (ss->segs->len > 0) {
    seg_t *seg = ss->segs->pdata[0];
    if (seg->id >= min_live) break;
    g_ptr_array_remove_index(ss->segs, 0);
    brook_dbg(FAC, "%s store %s: dropping segment %" PRId64 " (stream time %" PRId64 ")", ss->kind, ss->name,
              seg->id * ss->interval, ss->stream_time);
    seg->dropped = true;
    seg_unref(seg);
  }
}

/* ---- open / close ---- */

/* Stream time survives a restart in "<path>/<name>.stream-time", written by
 * flush (so it matches what the flushed segments hold). Without it reads after a
 * reopen would show windows that had already expired, until the next put moved
 * stream time again (Kafka Streams restarts from -1). */
static char *stream_time_file(const state_seg_store_t *ss) {
  char *base = g_strdup_printf("%s.stream-time", ss->name);
  char *p = g_build_filename(ss->path, base, NULL);
  g_free(base);
  return p;
}

static void stream_time_load(state_seg_store_t *ss) {
  char *p = stream_time_file(ss), *text = NULL;
  if (g_file_get_contents(p, &text, NULL, NULL)) {
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (end != text && (*end == '\n' || *end == '\0') && v >= -1)
      ss->stream_time = ss->stream_time_saved = v;
    else
      brook_log(BROOK_LOG_WARNING, FAC, "%s store %s: ignoring malformed %s", ss->kind, ss->name, p);
  }
  g_free(text);
  g_free(p);
}

static brook_err_t stream_time_save(state_seg_store_t *ss, char *errstr, size_t errstr_size) {
  if (ss->in_memory || ss->stream_time == ss->stream_time_saved) return BROOK_ERR_NONE;
  if (g_mkdir_with_parents(ss->path, 0755) != 0) {
    int e = errno;
    set_err(errstr, errstr_size, "%s store %s: creating %s: %s", ss->kind, ss->name, ss->path, g_strerror(e));
    return e == ENOSPC ? BROOK_ERR__NOSPC : BROOK_ERR__IO;
  }
  char *p = stream_time_file(ss);
  char text[32];
  int n = snprintf(text, sizeof text, "%" PRId64 "\n", ss->stream_time);
  GError *gerr = NULL;
  /* CONSISTENT: temp file, fsync, rename */
  gboolean ok = g_file_set_contents_full(p, text, n, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &gerr);
  brook_err_t err = BROOK_ERR_NONE;
  if (!ok) {
    set_err(errstr, errstr_size, "%s store %s: writing %s: %s", ss->kind, ss->name, p, gerr->message);
    err = g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOSPC) ? BROOK_ERR__NOSPC : BROOK_ERR__IO;
    g_error_free(gerr);
  } else {
    ss->stream_time_saved = ss->stream_time;
  }
  g_free(p);
  return err;
}

static brook_err_t cache_write(void *opaque, const state_cache_dirty_t *entries, size_t n, char *errstr,
                               size_t errstr_size);
static void view_iter_release(state_seg_iter_t *it);

static bool parse_seg_name(const state_seg_store_t *ss, const char *entry, int64_t *startp) {
  size_t n = strlen(ss->name);
  if (strncmp(entry, ss->name, n) != 0 || entry[n] != '.' || !entry[n + 1]) return false;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(entry + n + 1, &end, 10);
  if (errno || *end || v < 0) return false;
  *startp = v;
  return true;
}

static gint seg_cmp_id(gconstpointer a, gconstpointer b) {
  const seg_t *x = *(seg_t *const *)a, *y = *(seg_t *const *)b;
  return x->id < y->id ? -1 : x->id > y->id;
}

brook_err_t state_seg_store_open(brook_state_env_t *env, const state_seg_conf_t *conf,
                                 state_seg_store_t **ssp, char *errstr, size_t errstr_size) {
  *ssp = NULL;
  state_seg_store_t *ss = g_new0(state_seg_store_t, 1);
  ss->env = env;
  ss->sh = g_new0(seg_shared_t, 1);
  ss->sh->ref = 1;
  g_rw_lock_init(&ss->sh->lock);
  g_mutex_init(&ss->sh->iters_lock);
  ss->sh->ss = ss;
  ss->name = g_strdup(conf->name);
  ss->path = conf->in_memory ? NULL : g_strdup(conf->path);
  ss->kind = g_strdup(conf->kind);
  ss->topic = state_changelog_topic(env, conf->name);
  ss->in_memory = conf->in_memory;
  ss->logged = conf->store->logged;
  ss->partition = conf->store->partition;
  ss->sink = conf->store->sink;
  ss->retention = conf->retention_ms;
  ss->interval = conf->interval_ms;
  ss->suffix_len = conf->suffix_len;
  ss->stream_time = ss->stream_time_saved = -1;
  ss->segs = g_ptr_array_new();
  ss->dir = conf->dir;
  ss->restore_start = ss->offset = -1;
  if (ss->logged && ss->in_memory) ss->restore_start = ss->offset = 0;
  if (ss->logged && !ss->in_memory) {
    /* No checkpoint entry: the files may be behind the changelog or torn
     * (writes skip the WAL), so start over from offset 0. */
    int64_t ck = brook_task_dir_checkpoint_get(conf->dir, ss->topic, ss->partition);
    bool exists = g_file_test(ss->path, G_FILE_TEST_IS_DIR);
    if (ck >= 0 && exists) {
      ss->restore_start = ck;
    } else {
      ss->restore_start = 0;
      if (exists) {
        brook_log(BROOK_LOG_INFO, FAC,
                  "%s store %s: no checkpoint for %s [%d] (unclean shutdown): wiping %s for a full restore",
                  ss->kind, ss->name, ss->topic, (int)ss->partition, ss->path);
        rm_rf(ss->path);
        ss->wiped = true;
        if (g_file_test(ss->path, G_FILE_TEST_EXISTS)) {
          set_err(errstr, errstr_size, "%s store %s: could not wipe %s", ss->kind, ss->name, ss->path);
          state_seg_store_close(ss);
          return BROOK_ERR__IO;
        }
      }
      if (ck >= 0) brook_task_dir_checkpoint_set(conf->dir, ss->topic, ss->partition, -1);
    }
    ss->offset = ss->restore_start;
  }
  if (!ss->in_memory) {
    ss->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(ss->wopts, 1);
    ss->ropts = rocksdb_readoptions_create();
    ss->fopts = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(ss->fopts, 1);

    /* Open what a previous run left, in id order (AbstractSegments.openExisting). */
    GDir *d = g_dir_open(ss->path, 0, NULL);
    if (d) {
      const char *entry;
      while ((entry = g_dir_read_name(d))) {
        int64_t start;
        if (g_str_has_prefix(entry, ss->name) && strcmp(entry + strlen(ss->name), ".stream-time") == 0)
          continue;
        if (!parse_seg_name(ss, entry, &start)) {
          brook_log(BROOK_LOG_WARNING, FAC, "%s store %s: ignoring unexpected entry %s in %s", ss->kind,
                    ss->name, entry, ss->path);
          continue;
        }
        int64_t id = start / ss->interval;
        if (start % ss->interval != 0 || seg_find(ss, id)) {
          set_err(errstr, errstr_size,
                  "%s store %s: segment %s does not fit segment interval %" PRId64
                  " ms (was the interval changed? wipe the store and restore it)",
                  ss->kind, ss->name, entry, ss->interval);
          g_dir_close(d);
          state_seg_store_close(ss);
          return BROOK_ERR__BAD_CONFIG;
        }
        seg_t *seg = NULL;
        brook_err_t err = seg_open(ss, id, &seg, errstr, errstr_size);
        if (err) {
          g_dir_close(d);
          state_seg_store_close(ss);
          return err;
        }
        g_ptr_array_add(ss->segs, seg);
        g_ptr_array_sort(ss->segs, seg_cmp_id);
      }
      g_dir_close(d);
    }
    stream_time_load(ss);
    /* segments a previous run should have dropped (it crashed, or stopped
     * before the drop) go now */
    drop_expired(ss);
  }
  if (conf->cached && state_env_cache_max_bytes(env) > 0)
    ss->cache = state_cache_new(env, conf->name, cache_write, ss);
  *ssp = ss;
  return BROOK_ERR_NONE;
}

void state_seg_store_close(state_seg_store_t *ss) {
  if (!ss) return;
  char errstr[512];
  if (state_seg_store_flush(ss, errstr, sizeof errstr))
    brook_log(BROOK_LOG_WARNING, FAC, "%s store %s: flush on close: %s", ss->kind, ss->name, errstr);
  state_cache_destroy(ss->cache);
  /* Views: closed from now on; live view iterators let go of their cursors,
   * snapshots and segments here, so every RocksDB instance closes below. */
  state_seg_store_lock_writes(ss);
  ss->sh->closed = true;
  ss->sh->ss = NULL;
  g_mutex_lock(&ss->sh->iters_lock);
  while (ss->sh->iters) view_iter_release(ss->sh->iters);
  g_mutex_unlock(&ss->sh->iters_lock);
  for (guint i = 0; i < ss->segs->len; i++) seg_unref(ss->segs->pdata[i]);
  g_ptr_array_free(ss->segs, TRUE);
  state_seg_store_unlock_writes(ss);
  shared_unref(ss->sh);
  if (ss->wopts) rocksdb_writeoptions_destroy(ss->wopts);
  if (ss->ropts) rocksdb_readoptions_destroy(ss->ropts);
  if (ss->fopts) rocksdb_flushoptions_destroy(ss->fopts);
  g_free(ss->name);
  g_free(ss->path);
  g_free(ss->kind);
  g_free(ss->topic);
  g_free(ss);
}

/* ---- writes ---- */

static brook_err_t seg_write(state_seg_store_t *ss, seg_t *seg, const void *skey, size_t sklen,
                             const void *value, size_t vlen, char *errstr, size_t errstr_size) {
  if (seg->tree) {
    mkey_t probe = {sklen, skey};
    if (value)
      g_tree_replace(seg->tree, mkey_new(skey, sklen), state_blob_new(value, vlen));
    else
      g_tree_remove(seg->tree, &probe);
    seg->version++;
    return BROOK_ERR_NONE;
  }
  char *rerr = NULL;
  if (value)
    rocksdb_put(seg->db, ss->wopts, skey, sklen, value, vlen, &rerr);
  else
    rocksdb_delete(seg->db, ss->wopts, skey, sklen, &rerr);
  if (rerr) {
    char what[256];
    snprintf(what, sizeof what, "%s store %s: write", ss->kind, ss->name);
    return state_rocksdb_err(rerr, what, errstr, errstr_size);
  }
  return BROOK_ERR_NONE;
}

/* The value under skey in the store itself (not the cache): malloc'd copy or
 * NULL. Used for the listener's old value. */
static brook_err_t store_lookup(state_seg_store_t *ss, seg_t *seg, const void *skey, size_t sklen,
                                void **valuep, size_t *vlenp, char *errstr, size_t errstr_size) {
  *valuep = NULL;
  *vlenp = 0;
  if (!seg) return BROOK_ERR_NONE;
  if (seg->tree) {
    mkey_t probe = {sklen, skey};
    state_blob_t *b = g_tree_lookup(seg->tree, &probe);
    if (!b) return BROOK_ERR_NONE;
    void *copy = malloc(b->len ? b->len : 1);
    if (!copy) return BROOK_ERR__NOMEM;
    memcpy(copy, b->data, b->len);
    *valuep = copy;
    *vlenp = b->len;
    return BROOK_ERR_NONE;
  }
  char *rerr = NULL;
  *valuep = rocksdb_get(seg->db, ss->ropts, skey, sklen, vlenp, &rerr);
  if (rerr) {
    char what[256];
    snprintf(what, sizeof what, "%s store %s: get", ss->kind, ss->name);
    return state_rocksdb_err(rerr, what, errstr, errstr_size);
  }
  return BROOK_ERR_NONE;
}

/* One write reaching the store: segment, changelog sink, storage, listener. The
 * caller checked expiry. */
static brook_err_t write_through(state_seg_store_t *ss, const void *skey, size_t sklen, const void *value,
                                 size_t vlen, int64_t timestamp, char *errstr, size_t errstr_size) {
  int64_t id = state_seg_id_of(seg_ts(ss, skey, sklen), ss->interval);
  seg_t *seg = NULL;
  brook_err_t err;
  if (value) {
    err = seg_get_or_create(ss, id, &seg, errstr, errstr_size);
    if (err) return err;
  } else {
    seg = seg_find(ss, id); /* nothing to delete without a segment, but still log */
  }
  void *old = NULL;
  size_t old_len = 0;
  if (ss->listener.apply) {
    err = store_lookup(ss, seg, skey, sklen, &old, &old_len, errstr, errstr_size);
    if (err) return err;
  }
  if (ss->logged && ss->sink.send) {
    err = ss->sink.send(ss->sink.opaque, ss->topic, ss->partition, skey, sklen, value, value ? vlen : 0,
                        timestamp);
    if (err) {
      set_err(errstr, errstr_size, "%s store %s: changelog sink failed: %s", ss->kind, ss->name,
              brook_err_str(err));
      free(old);
      return err;
    }
  }
  if (seg) err = seg_write(ss, seg, skey, sklen, value, vlen, errstr, errstr_size);
  if (!err && ss->listener.apply)
    ss->listener.apply(ss->listener.opaque, skey, sklen, value, value ? vlen : 0, old, old_len, timestamp);
  free(old);
  return err;
}

/* The cache's write fn: dirty entries, in the order they became dirty. An
 * entry whose segment expired while it sat in the cache is dropped quietly
 * (it was counted as live when put). */
static brook_err_t cache_write(void *opaque, const state_cache_dirty_t *entries, size_t n, char *errstr,
                               size_t errstr_size) {
  state_seg_store_t *ss = opaque;
  int64_t expired_at = sat_sub(ss->stream_time, ss->retention);
  brook_err_t err = BROOK_ERR_NONE;
  state_seg_store_lock_writes(ss); /* one flush or eviction: one group for views */
  for (size_t i = 0; i < n && !err; i++) {
    const state_cache_dirty_t *e = &entries[i];
    if (seg_ts(ss, e->key, e->key_len) <= expired_at) continue;
    err = write_through(ss, e->key, e->key_len, e->value, e->value_len, e->timestamp, errstr, errstr_size);
  }
  state_seg_store_unlock_writes(ss);
  return err;
}

brook_err_t state_seg_store_put(state_seg_store_t *ss, const void *skey, size_t sklen, const void *value,
                                size_t vlen, int64_t timestamp, bool *droppedp, char *errstr,
                                size_t errstr_size) {
  g_assert(sklen >= ss->suffix_len);
  if (droppedp) *droppedp = false;
  int64_t ts = seg_ts(ss, skey, sklen);
  if (ts < 0) {
    set_err(errstr, errstr_size, "%s store %s: negative timestamp %" PRId64, ss->kind, ss->name, ts);
    return BROOK_ERR_INVALID_TIMESTAMP;
  }
  int64_t stream = ss->stream_time > ts ? ss->stream_time : ts;
  if (ts <= sat_sub(stream, ss->retention)) {
    ss->expired_drops++;
    brook_dbg(FAC,
              "%s store %s: Skipping record for expired segment (timestamp %" PRId64 ", stream time %" PRId64
              ", retention %" PRId64 " ms).",
              ss->kind, ss->name, ts, stream, ss->retention);
    if (droppedp) *droppedp = true;
    return BROOK_ERR_NONE;
  }
  brook_err_t err;
  state_seg_store_lock_writes(ss);
  if (ss->cache) {
    /* Stream time moves now (reads and expiry are the same with or without the
     * cache); the write reaches the sink and the store when the cache flushes or
     * evicts it. An error here comes from writing evicted entries through: this
     * put is cached all the same. */
    ss->stream_time = stream;
    err = state_cache_put(ss->cache, skey, sklen, value, value ? vlen : 0, timestamp, errstr, errstr_size);
    drop_expired(ss);
    state_seg_store_unlock_writes(ss);
    return err;
  }
  err = write_through(ss, skey, sklen, value, vlen, timestamp, errstr, errstr_size);
  if (!err) {
    ss->stream_time = stream;
    drop_expired(ss);
  }
  state_seg_store_unlock_writes(ss);
  return err;
}

brook_err_t state_seg_store_get(state_seg_store_t *ss, const void *skey, size_t sklen, void **valuep,
                                size_t *vlenp, char *errstr, size_t errstr_size) {
  *valuep = NULL;
  *vlenp = 0;
  int64_t ts = seg_ts(ss, skey, sklen);
  if (ts < state_seg_store_min_visible(ss)) return BROOK_ERR__NOENT;
  if (ss->cache) {
    const void *cv;
    size_t cvlen;
    int64_t cts;
    if (state_cache_get(ss->cache, skey, sklen, &cv, &cvlen, &cts)) {
      if (!cv) return BROOK_ERR__NOENT; /* a cached delete */
      void *copy = malloc(cvlen ? cvlen : 1);
      if (!copy) return BROOK_ERR__NOMEM;
      memcpy(copy, cv, cvlen);
      *valuep = copy;
      *vlenp = cvlen;
      return BROOK_ERR_NONE;
    }
  }
  brook_err_t err = store_lookup(ss, seg_find(ss, state_seg_id_of(ts, ss->interval)), skey, sklen, valuep,
                                 vlenp, errstr, errstr_size);
  if (err) return err;
  return *valuep ? BROOK_ERR_NONE : BROOK_ERR__NOENT;
}

void state_seg_store_set_listener(state_seg_store_t *ss, const brook_cache_flush_listener_t *listener) {
  if (listener)
    ss->listener = *listener;
  else
    memset(&ss->listener, 0, sizeof ss->listener);
}

bool state_seg_store_is_cached(const state_seg_store_t *ss) { return ss->cache != NULL; }

/* ---- restore ---- */

static brook_err_t restore_batch(state_seg_store_t *ss, const brook_changelog_record_t *records, size_t n,
                                 char *errstr, size_t errstr_size);

typedef struct pending {
  seg_t *seg;
  rocksdb_writebatch_t *batch;
} pending_t;

brook_err_t state_seg_store_restore(state_seg_store_t *ss, const brook_changelog_record_t *records, size_t n,
                                    int64_t end_offset, brook_restore_progress_t *progress, char *errstr,
                                    size_t errstr_size) {
  if (ss->restore_t0 == 0) ss->restore_t0 = g_get_monotonic_time();
  if (ss->cache) {
    /* restoring under unflushed writes would reorder them: a programming error */
    g_assert(state_cache_dirty_count(ss->cache) == 0);
    state_cache_clear(ss->cache);
  }
  state_seg_store_lock_writes(ss); /* a batch is one group for views, across segments */
  brook_err_t err = restore_batch(ss, records, n, errstr, errstr_size);
  state_seg_store_unlock_writes(ss);
  if (!err && n > 0) {
    ss->offset = records[n - 1].offset + 1;
    ss->progress.records_restored += n;
  }
  gint64 us = g_get_monotonic_time() - ss->restore_t0;
  ss->progress.remaining = end_offset >= 0 ? MAX(0, end_offset - ss->offset) : -1;
  ss->progress.records_per_sec = us > 0 ? (double)ss->progress.records_restored * 1e6 / (double)us : 0;
  if (progress) *progress = ss->progress;
  return err;
}

void state_seg_store_restore_progress(const state_seg_store_t *ss, brook_restore_progress_t *progress) {
  *progress = ss->progress;
}

int64_t state_seg_store_restore_start(const state_seg_store_t *ss) { return ss->restore_start; }
bool state_seg_store_was_wiped(const state_seg_store_t *ss) { return ss->wiped; }

void state_seg_store_set_offset(state_seg_store_t *ss, int64_t next_offset) {
  ss->offset = next_offset;
  if (ss->logged && ss->dir) brook_task_dir_checkpoint_set(ss->dir, ss->topic, ss->partition, next_offset);
}

static brook_err_t restore_batch(state_seg_store_t *ss, const brook_changelog_record_t *records, size_t n,
                                 char *errstr, size_t errstr_size) {
  /* Validate first: a malformed record must not leave a half-applied batch. */
  int64_t batch_max = -1;
  for (size_t i = 0; i < n; i++) {
    const brook_changelog_record_t *r = &records[i];
    if (!r->key || r->key_len < ss->suffix_len) {
      set_err(errstr, errstr_size,
              "%s store %s: changelog record at offset %" PRId64
              " has a %zu-byte key, shorter than the %zu-byte "
              "%s key suffix",
              ss->kind, ss->name, r->offset, r->key ? r->key_len : 0, ss->suffix_len, ss->kind);
      return BROOK_ERR__MALFORMED;
    }
    int64_t ts = seg_ts(ss, r->key, r->key_len);
    if (ts < 0) {
      set_err(errstr, errstr_size,
              "%s store %s: changelog record at offset %" PRId64 " has negative timestamp %" PRId64, ss->kind,
              ss->name, r->offset, ts);
      return BROOK_ERR__MALFORMED;
    }
    if (ts > batch_max) batch_max = ts;
  }
  int64_t stream = ss->stream_time > batch_max ? ss->stream_time : batch_max;
  int64_t expired_at = sat_sub(stream, ss->retention);

  GArray *pend = g_array_new(FALSE, TRUE, sizeof(pending_t));
  brook_err_t err = BROOK_ERR_NONE;
  for (size_t i = 0; i < n && !err; i++) {
    const brook_changelog_record_t *r = &records[i];
    int64_t ts = seg_ts(ss, r->key, r->key_len);
    if (ts <= expired_at) continue;
    int64_t id = state_seg_id_of(ts, ss->interval);
    seg_t *seg = NULL;
    if (r->value) {
      err = seg_get_or_create(ss, id, &seg, errstr, errstr_size);
      if (err) break;
    } else if (!(seg = seg_find(ss, id))) {
      continue;
    }
    if (seg->tree) {
      err = seg_write(ss, seg, r->key, r->key_len, r->value, r->value_len, errstr, errstr_size);
      continue;
    }
    pending_t *p = NULL;
    for (guint j = pend->len; j-- > 0;) /* few segments; recent ones last */
      if (g_array_index(pend, pending_t, j).seg == seg) {
        p = &g_array_index(pend, pending_t, j);
        break;
      }
    if (!p) {
      pending_t np = {seg, rocksdb_writebatch_create()};
      g_array_append_val(pend, np);
      p = &g_array_index(pend, pending_t, pend->len - 1);
    }
    if (r->value)
      rocksdb_writebatch_put(p->batch, r->key, r->key_len, r->value, r->value_len);
    else
      rocksdb_writebatch_delete(p->batch, r->key, r->key_len);
  }
  for (guint j = 0; j < pend->len; j++) {
    pending_t *p = &g_array_index(pend, pending_t, j);
    if (!err) {
      char *rerr = NULL;
      rocksdb_write(p->seg->db, ss->wopts, p->batch, &rerr);
      if (rerr) {
        char what[256];
        snprintf(what, sizeof what, "%s store %s: restore write", ss->kind, ss->name);
        err = state_rocksdb_err(rerr, what, errstr, errstr_size);
      }
    }
    rocksdb_writebatch_destroy(p->batch);
  }
  g_array_free(pend, TRUE);
  if (err) return err;
  ss->stream_time = stream;
  drop_expired(ss);
  return BROOK_ERR_NONE;
}

brook_err_t state_seg_store_flush(state_seg_store_t *ss, char *errstr, size_t errstr_size) {
  if (ss->cache) {
    brook_err_t err = state_cache_flush(ss->cache, errstr, errstr_size);
    if (err) return err;
  }
  for (guint i = 0; i < ss->segs->len; i++) {
    seg_t *seg = ss->segs->pdata[i];
    if (!seg->db) continue;
    char *rerr = NULL;
    rocksdb_flush(seg->db, ss->fopts, &rerr);
    if (rerr) {
      char what[512];
      snprintf(what, sizeof what, "%s store %s: flushing %s", ss->kind, ss->name, seg->dir);
      return state_rocksdb_err(rerr, what, errstr, errstr_size);
    }
  }
  return stream_time_save(ss, errstr, errstr_size);
}

int64_t state_seg_store_stream_time(const state_seg_store_t *ss) { return ss->stream_time; }

int64_t state_seg_store_min_visible(const state_seg_store_t *ss) {
  int64_t v = sat_sub(ss->stream_time, ss->retention);
  return v < 0 ? 0 : v + 1;
}

size_t state_seg_store_segments(const state_seg_store_t *ss) { return ss->segs->len; }
uint64_t state_seg_store_expired_drops(const state_seg_store_t *ss) { return ss->expired_drops; }
const char *state_seg_store_topic(const state_seg_store_t *ss) { return ss->topic; }

/* ---- iteration ---- */

struct state_seg_iter {
  seg_t **segs; /* references, in visiting order */
  guint nsegs;
  guint pos;
  bool backward;
  bool positioned;        /* the cursor of segs[pos] is open */
  uint8_t *lower, *upper; /* upper has one more byte: upper + 0x00 is RocksDB's
                           * exclusive iterate_upper_bound */
  size_t lower_len, upper_len;
  state_seg_filter_fn filter;
  void *ctx;
  void (*ctx_free)(void *);
  /* RocksDB */
  rocksdb_readoptions_t *ropts;
  rocksdb_iterator_t *rit;
  /* in memory */
  GTreeNode *node;
  uint64_t version;
  GByteArray *cur_key; /* key under the in-memory cursor (allocated on first use) */
  /* the store's next accepted entry, not returned yet (merge with the cache) */
  bool has_head;
  const uint8_t *hk, *hv;
  size_t hklen, hvlen;
  int64_t hseg;
  state_blob_t *head_val; /* in memory: a reference to the head's value */
  state_blob_t *ret_val;  /* in memory: the returned entry's value, until the next call */
  /* the cache's entries in range, filtered, in visiting order */
  state_cache_snap_t snap;
  struct cent *cents;
  size_t ncents, ci;
  int64_t interval;
  size_t suffix_len;
  /* current entry */
  const uint8_t *k, *v;
  size_t klen, vlen;
  brook_err_t err;
  char *errmsg;
  /* views only (sh != NULL); see "Views" in the design note */
  seg_shared_t *sh;                 /* referenced */
  int64_t min_ts;                   /* segment timestamps below it are expired */
  const rocksdb_snapshot_t **snaps; /* RocksDB: one per segs[i] */
  bool released;                    /* cursor, snapshots and segments given back */
  state_seg_iter_t *vprev, *vnext;  /* sh->iters, under sh->iters_lock */
  GByteArray *vkey, *vval;          /* RocksDB: copies of the current entry */
  GByteArray *copy;                 /* in memory: entries copied at creation ... */
  GArray *copy_idx;                 /* ... as copy_ent_t */
  guint copy_pos;
};

typedef struct copy_ent {
  size_t koff, klen, voff, vlen;
} copy_ent_t;

typedef struct cent {
  int64_t seg;
  const state_cache_snap_entry_t *e;
} cent_t;

/* Visiting order of the merge: segment, then key bytes. */
static int order_cmp(int64_t seg_a, const uint8_t *a, size_t alen, int64_t seg_b, const uint8_t *b,
                     size_t blen) {
  if (seg_a != seg_b) return seg_a < seg_b ? -1 : 1;
  return state_bytes_cmp(a, alen, b, blen);
}

static int cent_cmp(const void *x, const void *y) {
  const cent_t *a = x, *b = y;
  return order_cmp(a->seg, a->e->key->data, a->e->key->len, b->seg, b->e->key->data, b->e->key->len);
}

/* `with_cache`: merge the record cache in (the owner's iterators; views read
 * the segments only). */
static state_seg_iter_t *iter_new(state_seg_store_t *ss, bool with_cache, int64_t ts_from, int64_t ts_to,
                                  uint8_t *lower, size_t lower_len, uint8_t *upper, size_t upper_len,
                                  bool backward, state_seg_filter_fn filter, void *filter_ctx,
                                  void (*ctx_free)(void *)) {
  state_seg_iter_t *it = g_new0(state_seg_iter_t, 1);
  it->min_ts = INT64_MIN;
  it->backward = backward;
  it->filter = filter;
  it->ctx = filter_ctx;
  it->ctx_free = ctx_free;
  it->lower = lower;
  it->lower_len = lower_len;
  it->upper = upper;
  it->upper_len = upper_len;
  if (upper) upper[upper_len] = 0;
  guint first = 0, n = 0;
  if (ts_from <= ts_to) {
    int64_t from_id = state_seg_id_of(ts_from, ss->interval), to_id = state_seg_id_of(ts_to, ss->interval);
    first = seg_lower(ss, from_id);
    while (first + n < ss->segs->len && ((seg_t *)ss->segs->pdata[first + n])->id <= to_id) n++;
  }
  it->segs = g_new(seg_t *, n ? n : 1);
  it->nsegs = n;
  for (guint i = 0; i < n; i++) /* reversed when backward */
    it->segs[backward ? n - 1 - i : i] = seg_ref(ss->segs->pdata[first + i]);
  it->interval = ss->interval;
  it->suffix_len = ss->suffix_len;
  if (with_cache && ss->cache && ts_from <= ts_to) {
    /* The cache's entries in [lower, upper] as of now (later writes do not
     * show), those the query accepts, sorted into the store's visiting order:
     * segment, then bytes. upper + 0x00 is the snapshot's exclusive bound. */
    int64_t from_id = state_seg_id_of(ts_from, ss->interval), to_id = state_seg_id_of(ts_to, ss->interval);
    state_cache_snapshot(ss->cache, lower, lower_len, upper, upper ? upper_len + 1 : 0, &it->snap);
    it->cents = g_new(cent_t, it->snap.n ? it->snap.n : 1);
    for (size_t i = 0; i < it->snap.n; i++) {
      const state_cache_snap_entry_t *e = &it->snap.entries[i];
      if (e->key->len < ss->suffix_len) continue;
      int64_t id = state_seg_id_of(seg_ts(ss, e->key->data, e->key->len), ss->interval);
      if (id < from_id || id > to_id) continue;
      if (filter && !filter(filter_ctx, e->key->data, e->key->len)) continue;
      it->cents[it->ncents++] = (cent_t){id, e};
    }
    qsort(it->cents, it->ncents, sizeof(cent_t), cent_cmp);
    if (backward)
      for (size_t i = 0, j = it->ncents; i + 1 < j; i++, j--) {
        cent_t t = it->cents[i];
        it->cents[i] = it->cents[j - 1];
        it->cents[j - 1] = t;
      }
  }
  if (!ss->in_memory) {
    it->ropts = rocksdb_readoptions_create();
    if (upper) rocksdb_readoptions_set_iterate_upper_bound(it->ropts, (const char *)upper, upper_len + 1);
    if (lower) rocksdb_readoptions_set_iterate_lower_bound(it->ropts, (const char *)lower, lower_len);
  }
  return it;
}

state_seg_iter_t *state_seg_iter_new(state_seg_store_t *ss, int64_t ts_from, int64_t ts_to, uint8_t *lower,
                                     size_t lower_len, uint8_t *upper, size_t upper_len, bool backward,
                                     state_seg_filter_fn filter, void *filter_ctx, void (*ctx_free)(void *)) {
  return iter_new(ss, true, ts_from, ts_to, lower, lower_len, upper, upper_len, backward, filter, filter_ctx,
                  ctx_free);
}

static bool below_lower(const state_seg_iter_t *it, const uint8_t *k, size_t klen) {
  return it->lower && state_bytes_cmp(k, klen, it->lower, it->lower_len) < 0;
}

static bool above_upper(const state_seg_iter_t *it, const uint8_t *k, size_t klen) {
  return it->upper && state_bytes_cmp(k, klen, it->upper, it->upper_len) > 0;
}

static void close_cursor(state_seg_iter_t *it) {
  if (it->rit) {
    rocksdb_iter_destroy(it->rit);
    it->rit = NULL;
  }
  it->node = NULL;
  it->positioned = false;
}

/* Moves the current segment's cursor (opening it on first use) and returns the
 * entry under it, or false when the segment has no more entries in range. */
static bool cursor_step(state_seg_iter_t *it, seg_t *seg, const uint8_t **kp, size_t *klenp,
                        const uint8_t **vp, size_t *vlenp, state_blob_t **blobp) {
  if (seg->tree) {
    if (!it->positioned) {
      if (!it->backward) {
        mkey_t probe = {it->lower_len, it->lower};
        it->node = it->lower ? g_tree_lower_bound(seg->tree, &probe) : g_tree_node_first(seg->tree);
      } else {
        mkey_t probe = {it->upper_len, it->upper};
        GTreeNode *n = it->upper ? g_tree_upper_bound(seg->tree, &probe) : NULL;
        it->node = n ? g_tree_node_previous(n) : g_tree_node_last(seg->tree);
      }
      it->positioned = true;
    } else if (it->version != seg->version) { /* the tree changed: re-seek past the current key */
      mkey_t probe = {it->cur_key->len, it->cur_key->data}; /* set when an entry was returned */
      if (!it->backward) {
        it->node = g_tree_upper_bound(seg->tree, &probe);
      } else {
        GTreeNode *n = g_tree_lower_bound(seg->tree, &probe);
        it->node = n ? g_tree_node_previous(n) : g_tree_node_last(seg->tree);
      }
    } else if (it->node) {
      it->node = it->backward ? g_tree_node_previous(it->node) : g_tree_node_next(it->node);
    }
    it->version = seg->version;
    if (!it->node) return false;
    const mkey_t *k = g_tree_node_key(it->node);
    state_blob_t *b = g_tree_node_value(it->node);
    *kp = k->data;
    *klenp = k->len;
    *vp = b->data;
    *vlenp = b->len;
    *blobp = b;
    return true;
  }
  if (!it->positioned) {
    if (it->snaps) rocksdb_readoptions_set_snapshot(it->ropts, it->snaps[it->pos]);
    it->rit = rocksdb_create_iterator(seg->db, it->ropts);
    if (!it->backward) {
      if (it->lower)
        rocksdb_iter_seek(it->rit, (const char *)it->lower, it->lower_len);
      else
        rocksdb_iter_seek_to_first(it->rit);
    } else {
      if (it->upper)
        rocksdb_iter_seek_for_prev(it->rit, (const char *)it->upper, it->upper_len);
      else
        rocksdb_iter_seek_to_last(it->rit);
    }
    it->positioned = true;
  } else if (rocksdb_iter_valid(it->rit)) {
    if (it->backward)
      rocksdb_iter_prev(it->rit);
    else
      rocksdb_iter_next(it->rit);
  }
  if (!rocksdb_iter_valid(it->rit)) {
    char *rerr = NULL;
    rocksdb_iter_get_error(it->rit, &rerr);
    if (rerr) {
      char msg[512];
      it->err = state_rocksdb_err(rerr, "iterating a segment", msg, sizeof msg);
      it->errmsg = g_strdup(msg);
    }
    return false;
  }
  *kp = (const uint8_t *)rocksdb_iter_key(it->rit, klenp);
  *vp = (const uint8_t *)rocksdb_iter_value(it->rit, vlenp);
  *blobp = NULL;
  return true;
}

/* Finds the store's next accepted entry (the head) if there is none yet. */
static void store_peek(state_seg_iter_t *it) {
  while (!it->has_head && !it->err && it->pos < it->nsegs) {
    seg_t *seg = it->segs[it->pos];
    const uint8_t *k, *v;
    size_t klen, vlen;
    state_blob_t *blob;
    /* RocksDB cursors stop at the bounds themselves (iterate_lower/upper_bound);
     * GTree cursors are checked here. */
    if (!cursor_step(it, seg, &k, &klen, &v, &vlen, &blob) ||
        (seg->tree && (it->backward ? below_lower(it, k, klen) : above_upper(it, k, klen)))) {
      close_cursor(it);
      it->pos++;
      continue;
    }
    if (it->sh && (klen < it->suffix_len || seg_ts_raw(k, klen, it->suffix_len) < it->min_ts)) continue;
    if (it->filter && !it->filter(it->ctx, k, klen)) continue;
    if (blob) { /* in memory: own a copy of the key and a reference to the value */
      if (!it->cur_key) it->cur_key = g_byte_array_new();
      g_byte_array_set_size(it->cur_key, 0);
      g_byte_array_append(it->cur_key, k, (guint)klen);
      it->head_val = state_blob_ref(blob);
      k = it->cur_key->data;
    }
    it->has_head = true;
    it->hk = k;
    it->hklen = klen;
    it->hv = v;
    it->hvlen = vlen;
    it->hseg = seg->id;
  }
}

/* Merges the store's entries with the cache snapshot's: on equal keys the
 * cache wins, and a cached delete hides the store's entry. */
static bool view_iter_next(state_seg_iter_t *it);

bool state_seg_iter_next(state_seg_iter_t *it) {
  if (it->sh) return view_iter_next(it);
  if (it->ret_val) {
    state_blob_unref(it->ret_val);
    it->ret_val = NULL;
  }
  for (;;) {
    store_peek(it);
    if (it->err) break;
    const cent_t *c = it->ci < it->ncents ? &it->cents[it->ci] : NULL;
    if (!it->has_head && !c) break;
    int cmp = !c ? -1
              : !it->has_head
                  ? 1
                  : order_cmp(it->hseg, it->hk, it->hklen, c->seg, c->e->key->data, c->e->key->len);
    if (it->backward && c && it->has_head) cmp = -cmp;
    if (cmp < 0) { /* the store's entry comes first */
      it->k = it->hk;
      it->klen = it->hklen;
      it->v = it->hv;
      it->vlen = it->hvlen;
      it->ret_val = it->head_val;
      it->head_val = NULL;
      it->has_head = false;
      return true;
    }
    if (cmp == 0) { /* the cache's version replaces the store's */
      if (it->head_val) state_blob_unref(it->head_val);
      it->head_val = NULL;
      it->has_head = false;
    }
    it->ci++;
    if (!c->e->value) continue; /* a cached delete */
    it->k = c->e->key->data;
    it->klen = c->e->key->len;
    it->v = c->e->value->data;
    it->vlen = c->e->value->len;
    return true;
  }
  it->k = it->v = NULL;
  it->klen = it->vlen = 0;
  return false;
}

const uint8_t *state_seg_iter_key(const state_seg_iter_t *it, size_t *lenp) {
  *lenp = it->klen;
  return it->k;
}

const uint8_t *state_seg_iter_value(const state_seg_iter_t *it, size_t *lenp) {
  *lenp = it->vlen;
  return it->v;
}

brook_err_t state_seg_iter_error(const state_seg_iter_t *it, char *errstr, size_t errstr_size) {
  if (it->err) set_err(errstr, errstr_size, "%s", it->errmsg ? it->errmsg : brook_err_str(it->err));
  return it->err;
}

void state_seg_iter_destroy(state_seg_iter_t *it) {
  if (!it) return;
  if (it->sh) {
    g_rw_lock_reader_lock(&it->sh->lock);
    g_mutex_lock(&it->sh->iters_lock);
    if (!it->released) view_iter_release(it);
    g_mutex_unlock(&it->sh->iters_lock);
    g_rw_lock_reader_unlock(&it->sh->lock);
    shared_unref(it->sh);
    if (it->vkey) g_byte_array_unref(it->vkey);
    if (it->vval) g_byte_array_unref(it->vval);
    if (it->copy) g_byte_array_unref(it->copy);
    if (it->copy_idx) g_array_free(it->copy_idx, TRUE);
  }
  close_cursor(it);
  if (it->head_val) state_blob_unref(it->head_val);
  if (it->ret_val) state_blob_unref(it->ret_val);
  state_cache_snap_clear(&it->snap);
  g_free(it->cents);
  for (guint i = 0; i < it->nsegs; i++) seg_unref(it->segs[i]);
  g_free(it->segs);
  if (it->ropts) rocksdb_readoptions_destroy(it->ropts);
  if (it->ctx_free) it->ctx_free(it->ctx);
  if (it->cur_key) g_byte_array_unref(it->cur_key);
  g_free(it->lower);
  g_free(it->upper);
  g_free(it->errmsg);
  g_free(it);
}

/* ---- views ---- */

struct state_seg_view {
  seg_shared_t *sh; /* referenced */
};

state_seg_view_t *state_seg_store_view(state_seg_store_t *ss) {
  state_seg_view_t *view = g_new0(state_seg_view_t, 1);
  g_atomic_int_inc(&ss->sh->ref);
  view->sh = ss->sh;
  return view;
}

void state_seg_view_destroy(state_seg_view_t *view) {
  if (!view) return;
  shared_unref(view->sh);
  g_free(view);
}

brook_err_t state_seg_view_get(state_seg_view_t *view, const void *skey, size_t sklen, void **valuep,
                               size_t *vlenp, char *errstr, size_t errstr_size) {
  *valuep = NULL;
  *vlenp = 0;
  seg_shared_t *sh = view->sh;
  brook_err_t err = BROOK_ERR__NOENT;
  g_rw_lock_reader_lock(&sh->lock);
  state_seg_store_t *ss = sh->ss;
  if (sh->closed) {
    set_err(errstr, errstr_size, "the store is closed");
    err = BROOK_ERR__STATE;
  } else if (sklen >= ss->suffix_len && seg_ts(ss, skey, sklen) >= state_seg_store_min_visible(ss)) {
    seg_t *seg = seg_find(ss, state_seg_id_of(seg_ts(ss, skey, sklen), ss->interval));
    if (seg && seg->tree) {
      mkey_t probe = {sklen, skey};
      state_blob_t *b = g_tree_lookup(seg->tree, &probe);
      if (b) {
        void *copy = malloc(b->len ? b->len : 1);
        if (!copy) {
          err = BROOK_ERR__NOMEM;
        } else {
          memcpy(copy, b->data, b->len);
          *valuep = copy;
          *vlenp = b->len;
          err = BROOK_ERR_NONE;
        }
      }
    } else if (seg) {
      /* a ReadOptions per call: the store's belongs to the owner thread */
      rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
      char *rerr = NULL;
      *valuep = rocksdb_get(seg->db, ro, skey, sklen, vlenp, &rerr);
      rocksdb_readoptions_destroy(ro);
      if (rerr) {
        char what[256];
        snprintf(what, sizeof what, "%s store %s: view get", ss->kind, ss->name);
        err = state_rocksdb_err(rerr, what, errstr, errstr_size);
      } else if (*valuep) {
        err = BROOK_ERR_NONE;
      }
    }
  }
  g_rw_lock_reader_unlock(&sh->lock);
  return err;
}

/* Copies the accepted entries of one in-memory segment in range, in visiting
 * order. The caller holds sh->lock for reading. */
static void view_copy_tree(state_seg_iter_t *it, seg_t *seg) {
  GTreeNode *node;
  if (!it->backward) {
    mkey_t probe = {it->lower_len, it->lower};
    node = it->lower ? g_tree_lower_bound(seg->tree, &probe) : g_tree_node_first(seg->tree);
  } else {
    mkey_t probe = {it->upper_len, it->upper};
    GTreeNode *n = it->upper ? g_tree_upper_bound(seg->tree, &probe) : NULL;
    node = n ? g_tree_node_previous(n) : g_tree_node_last(seg->tree);
  }
  for (; node; node = it->backward ? g_tree_node_previous(node) : g_tree_node_next(node)) {
    const mkey_t *k = g_tree_node_key(node);
    const state_blob_t *b = g_tree_node_value(node);
    if (it->backward ? below_lower(it, k->data, k->len) : above_upper(it, k->data, k->len)) break;
    if (k->len < it->suffix_len || seg_ts_raw(k->data, k->len, it->suffix_len) < it->min_ts) continue;
    if (it->filter && !it->filter(it->ctx, k->data, k->len)) continue;
    copy_ent_t e = {it->copy->len, k->len, it->copy->len + k->len, b->len};
    g_byte_array_append(it->copy, k->data, (guint)k->len);
    g_byte_array_append(it->copy, b->data, (guint)b->len);
    g_array_append_val(it->copy_idx, e);
  }
}

state_seg_iter_t *state_seg_view_iter_new(state_seg_view_t *view, int64_t ts_from, int64_t ts_to,
                                          uint8_t *lower, size_t lower_len, uint8_t *upper, size_t upper_len,
                                          bool backward, state_seg_filter_fn filter, void *filter_ctx,
                                          void (*ctx_free)(void *)) {
  seg_shared_t *sh = view->sh;
  g_rw_lock_reader_lock(&sh->lock);
  state_seg_store_t *ss = sh->ss;
  state_seg_iter_t *it;
  if (sh->closed) {
    /* an iterator over nothing that reports the closed store */
    it = g_new0(state_seg_iter_t, 1);
    it->segs = g_new(seg_t *, 1);
    it->filter = filter;
    it->ctx = filter_ctx;
    it->ctx_free = ctx_free;
    it->lower = lower;
    it->upper = upper;
    it->released = true;
    it->err = BROOK_ERR__STATE;
    it->errmsg = g_strdup("the store is closed");
  } else {
    int64_t min_ts = state_seg_store_min_visible(ss);
    if (ts_from < min_ts) ts_from = min_ts;
    /* iter_new only reads the segment list and takes (atomic) references */
    it = iter_new(ss, false, ts_from, ts_to, lower, lower_len, upper, upper_len, backward, filter, filter_ctx,
                  ctx_free);
    it->min_ts = min_ts;
    if (ss->in_memory) {
      it->copy = g_byte_array_new();
      it->copy_idx = g_array_new(FALSE, FALSE, sizeof(copy_ent_t));
      for (guint i = 0; i < it->nsegs; i++) {
        view_copy_tree(it, it->segs[i]);
        seg_unref(it->segs[i]);
      }
      it->nsegs = 0;
      it->released = true;
    } else {
      it->snaps = g_new0(const rocksdb_snapshot_t *, it->nsegs ? it->nsegs : 1);
      for (guint i = 0; i < it->nsegs; i++) it->snaps[i] = rocksdb_create_snapshot(it->segs[i]->db);
      it->vkey = g_byte_array_new();
      it->vval = g_byte_array_new();
    }
  }
  g_atomic_int_inc(&sh->ref);
  it->sh = sh;
  if (!it->released) {
    g_mutex_lock(&sh->iters_lock);
    it->vnext = sh->iters;
    if (sh->iters) sh->iters->vprev = it;
    sh->iters = it;
    g_mutex_unlock(&sh->iters_lock);
  }
  g_rw_lock_reader_unlock(&sh->lock);
  return it;
}

/* Gives back a RocksDB view iterator's cursor, snapshots and segments, and
 * unlinks it. The caller holds sh->lock (either way) and sh->iters_lock. */
static void view_iter_release(state_seg_iter_t *it) {
  close_cursor(it);
  for (guint i = 0; i < it->nsegs; i++) {
    if (it->snaps && it->snaps[i]) rocksdb_release_snapshot(it->segs[i]->db, it->snaps[i]);
    seg_unref(it->segs[i]);
  }
  it->nsegs = 0;
  g_free(it->snaps);
  it->snaps = NULL;
  it->has_head = false;
  if (it->vprev)
    it->vprev->vnext = it->vnext;
  else
    it->sh->iters = it->vnext;
  if (it->vnext) it->vnext->vprev = it->vprev;
  it->vprev = it->vnext = NULL;
  it->released = true;
}

static bool view_iter_next(state_seg_iter_t *it) {
  bool ok = false;
  g_rw_lock_reader_lock(&it->sh->lock);
  if (it->err) {
    /* ended */
  } else if (it->sh->closed) {
    it->err = BROOK_ERR__STATE;
    it->errmsg = g_strdup("the store was closed while the iterator was open");
  } else if (it->copy) {
    if (it->copy_pos < it->copy_idx->len) {
      const copy_ent_t *e = &g_array_index(it->copy_idx, copy_ent_t, it->copy_pos++);
      it->k = it->copy->data + e->koff;
      it->klen = e->klen;
      it->v = it->copy->data + e->voff;
      it->vlen = e->vlen;
      ok = true;
    }
  } else {
    store_peek(it);
    if (it->has_head) {
      /* own copies: the cursor may be released by close on the owner thread */
      g_byte_array_set_size(it->vkey, 0);
      g_byte_array_append(it->vkey, it->hk, (guint)it->hklen);
      g_byte_array_set_size(it->vval, 0);
      g_byte_array_append(it->vval, it->hv, (guint)it->hvlen);
      it->has_head = false;
      it->k = it->vkey->data;
      it->klen = it->hklen;
      it->v = it->vval->data;
      it->vlen = it->hvlen;
      ok = true;
    }
  }
  g_rw_lock_reader_unlock(&it->sh->lock);
  if (!ok) {
    it->k = it->v = NULL;
    it->klen = it->vlen = 0;
  }
  return ok;
}

/* ---- key schema helpers ---- */

uint8_t *state_seg_range_upper(const void *key_from, size_t from_len, const void *key_to, size_t to_len,
                               const uint8_t *max_suffix, size_t suffix_len, size_t *lenp) {
  const uint8_t *kt = key_to;
  uint8_t *best = NULL;
  size_t best_len = 0;
  uint8_t *cand = g_malloc(to_len + suffix_len);
  for (size_t m = 0; m <= to_len; m++) {
    /* Only keys >= key_from can be hits, so only such prefixes matter. */
    if (key_from && state_bytes_cmp(kt, m, key_from, from_len) < 0) continue;
    memcpy(cand, kt, m);
    memcpy(cand + m, max_suffix, suffix_len);
    if (!best || state_bytes_cmp(cand, m + suffix_len, best, best_len) > 0) {
      g_free(best);
      best = g_malloc(m + suffix_len + 1); /* +1: see state_seg_iter_new */
      memcpy(best, cand, m + suffix_len);
      best_len = m + suffix_len;
    }
  }
  g_free(cand);
  *lenp = best_len;
  return best;
}
