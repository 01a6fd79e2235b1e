/*
 * index.c — the offset index (.index) and time index (.timeindex) of a segment.
 *
 * Design note
 *  - Entries are kept big-endian exactly as in the file (see log_int.h), so
 *    the heap copy of the active segment and the mmap of an inactive one are
 *    read by the same lookup code, and writing is a pwrite of the tail.
 *  - Offset index entry: (relative offset, position) where relative offset is
 *    the *last* offset of the batch starting at position (Kafka's choice).
 *    lookup(target) returns the position of the largest entry whose relative
 *    offset <= target; the batch holding target starts at or after it, so a
 *    forward header scan from there finds it. Entries strictly increase in
 *    both fields (asserted by brook_log_oidx_valid, enforced by the appender).
 *  - Time index entry: (max timestamp so far, relative last offset of the
 *    batch that set it). Timestamps strictly increase as appended; a file
 *    written by Kafka may repeat one, so validation accepts non-decreasing.
 *  - Bounds: a lookup is a binary search, O(log n) 4/8-byte reads. Heap growth
 *    doubles; the appender stops at segment.index.bytes worth of entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "log_int.h"

void brook_log_index_init(brook_log_index_t *ix, size_t esz) {
  memset(ix, 0, sizeof *ix);
  ix->esz = esz;
  ix->loaded = true;
}

static void release_mem(brook_log_index_t *ix) {
  if (ix->mapped) {
    if (ix->n) munmap(ix->ent, ix->n * ix->esz);
  } else {
    g_free(ix->ent);
  }
  ix->ent = NULL;
  ix->n = ix->cap = ix->written = 0;
  ix->mapped = false;
}

void brook_log_index_reset(brook_log_index_t *ix) {
  release_mem(ix);
  ix->loaded = true;
}

void brook_log_index_unload(brook_log_index_t *ix) {
  release_mem(ix);
  ix->loaded = false;
}

int brook_log_index_load_heap(brook_log_index_t *ix, const char *path, bool *missing) {
  brook_log_index_reset(ix);
  *missing = false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      *missing = true;
      return 0;
    }
    return errno;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return e;
  }
  if (st.st_size % (off_t)ix->esz != 0) {
    close(fd);
    return EINVAL;
  }
  size_t bytes = (size_t)st.st_size;
  ix->ent = g_malloc(bytes ? bytes : 1);
  size_t done = 0;
  while (done < bytes) {
    ssize_t r = pread(fd, ix->ent + done, bytes - done, (off_t)done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : EIO;
      close(fd);
      brook_log_index_reset(ix);
      return e;
    }
    done += (size_t)r;
  }
  close(fd);
  ix->n = ix->cap = ix->written = bytes / ix->esz;
  return 0;
}

void brook_log_index_ensure(brook_log_index_t *ix, const char *path) {
  if (ix->loaded) return;
  ix->loaded = true; /* whatever happens below, do not retry on every lookup */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    brook_log(BROOK_LOG_WARNING, "log", "cannot open index %s: %s (reads of this segment scan from its start)", path,
              g_strerror(errno));
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    brook_log(BROOK_LOG_WARNING, "log", "cannot stat index %s: %s", path, g_strerror(errno));
    close(fd);
    return;
  }
  size_t n = (size_t)st.st_size / ix->esz; /* a partial trailing entry is ignored */
  if (n) {
    void *m = mmap(NULL, n * ix->esz, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
      brook_log(BROOK_LOG_WARNING, "log", "cannot mmap index %s: %s", path, g_strerror(errno));
    } else {
      ix->ent = m;
      ix->n = n;
      ix->mapped = true;
    }
  }
  close(fd); /* the mapping stays valid without the fd */
}

static uint8_t *grow(brook_log_index_t *ix) {
  g_assert(!ix->mapped);
  if (ix->n == ix->cap) {
    ix->cap = ix->cap ? ix->cap * 2 : 64;
    ix->ent = g_realloc(ix->ent, ix->cap * ix->esz);
  }
  return ix->ent + ix->n * ix->esz;
}

void brook_log_oidx_append(brook_log_index_t *ix, uint32_t rel, uint32_t pos) {
  uint8_t *e = grow(ix);
  brook_wr32(e, rel);
  brook_wr32(e + 4, pos);
  ix->n++;
}

void brook_log_tidx_append(brook_log_index_t *ix, int64_t ts, uint32_t rel) {
  uint8_t *e = grow(ix);
  brook_wr64(e, (uint64_t)ts);
  brook_wr32(e + 8, rel);
  ix->n++;
}

int64_t brook_log_oidx_lookup(const brook_log_index_t *ix, uint32_t rel) {
  /* Invariant: entries [0, lo) have rel <= target, [hi, n) have rel > target. */
  size_t lo = 0, hi = ix->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (brook_log_oidx_rel(ix, mid) <= rel)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo ? (int64_t)brook_log_oidx_pos(ix, lo - 1) : 0;
}

int64_t brook_log_tidx_lookup(const brook_log_index_t *ix, int64_t ts) {
  size_t lo = 0, hi = ix->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (brook_log_tidx_ts(ix, mid) <= ts)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo ? (int64_t)brook_log_tidx_rel(ix, lo - 1) : -1;
}

bool brook_log_oidx_valid(const brook_log_index_t *ix, int64_t log_size) {
  for (size_t i = 0; i < ix->n; i++) {
    uint32_t rel = brook_log_oidx_rel(ix, i), pos = brook_log_oidx_pos(ix, i);
    if (rel > INT32_MAX || (int64_t)pos >= log_size) return false;
    if (i && (rel <= brook_log_oidx_rel(ix, i - 1) || pos <= brook_log_oidx_pos(ix, i - 1))) return false;
  }
  return true;
}

bool brook_log_tidx_valid(const brook_log_index_t *ix) {
  for (size_t i = 0; i < ix->n; i++) {
    if (brook_log_tidx_rel(ix, i) > INT32_MAX) return false;
    if (i && (brook_log_tidx_ts(ix, i) < brook_log_tidx_ts(ix, i - 1) ||
              brook_log_tidx_rel(ix, i) < brook_log_tidx_rel(ix, i - 1)))
      return false;
  }
  return true;
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, off_t off) {
  while (len) {
    ssize_t w = pwrite(fd, p, len, off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    if (w == 0) return EIO;
    p += w;
    len -= (size_t)w;
    off += w;
  }
  return 0;
}

int brook_log_index_write_tail(brook_log_index_t *ix, int fd) {
  g_assert(!ix->mapped);
  if (ix->written >= ix->n) return 0;
  int e = pwrite_all(fd, ix->ent + ix->written * ix->esz, (ix->n - ix->written) * ix->esz,
                     (off_t)(ix->written * ix->esz));
  if (!e) ix->written = ix->n;
  return e;
}

int brook_log_index_write_all(brook_log_index_t *ix, int fd) {
  g_assert(!ix->mapped);
  if (ftruncate(fd, 0) != 0) return errno;
  ix->written = 0;
  return brook_log_index_write_tail(ix, fd);
}
