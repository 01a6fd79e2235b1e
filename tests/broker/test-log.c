/*
 * test-log.c — the partition log on real files: append/read, rolls, index
 * lookups, read bounds, crash recovery, retention, DeleteRecords, time
 * lookups, slices outliving deletion, a real failed write (RLIMIT_FSIZE), and
 * the offset checkpoint file.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "blog.h"
#include "checkpoint.h"
#include "log.h"

/* ---- helpers ---- */

static GMutex logged_mu;
static GPtrArray *logged;

static void capture(int level, const char *fac, const char *msg, void *opaque) {
  (void)opaque;
  g_mutex_lock(&logged_mu);
  g_ptr_array_add(logged, g_strdup_printf("%d %s: %s", level, fac, msg));
  g_mutex_unlock(&logged_mu);
  if (g_test_verbose()) g_printerr("    [%s] %s\n", fac, msg);
}

static bool logged_contains(const char *needle) {
  bool found = false;
  g_mutex_lock(&logged_mu);
  for (guint i = 0; i < logged->len && !found; i++) found = strstr(logged->pdata[i], needle) != NULL;
  g_mutex_unlock(&logged_mu);
  return found;
}

static void logged_clear(void) {
  g_mutex_lock(&logged_mu);
  g_ptr_array_set_size(logged, 0);
  g_mutex_unlock(&logged_mu);
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

typedef struct fixture {
  char *root; /* g_dir_make_tmp */
  char *dir;  /* root/topic-0 */
  brook_log_conf_t conf;
} fixture_t;

static void fx_setup(fixture_t *fx, gconstpointer data) {
  (void)data;
  GError *gerr = NULL;
  fx->root = g_dir_make_tmp("brook-log-XXXXXX", &gerr);
  g_assert_no_error(gerr);
  fx->dir = g_build_filename(fx->root, "topic-0", NULL);
  brook_log_conf_defaults(&fx->conf);
  logged_clear();
}

static void fx_teardown(fixture_t *fx, gconstpointer data) {
  (void)data;
  rm_rf(fx->root);
  g_free(fx->root);
  g_free(fx->dir);
}

static brook_log_t *open_log(fixture_t *fx, int64_t rp, int64_t lso, bool clean) {
  brook_log_t *log = NULL;
  char err[512] = "";
  brook_err_t e = brook_log_open(fx->dir, &fx->conf, rp, lso, clean, &log, err, sizeof err);
  if (e) g_error("open %s: %s (%s)", fx->dir, brook_err_name(e), err);
  return log;
}

static char *seg_file(const fixture_t *fx, int64_t base, const char *ext) {
  return g_strdup_printf("%s/%020" PRId64 ".%s", fx->dir, base, ext);
}

static int64_t file_size(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  return st.st_size;
}

/* Sorted base offsets of the .log files present. */
static GArray *seg_bases(const fixture_t *fx) {
  GArray *a = g_array_new(FALSE, FALSE, sizeof(int64_t));
  GDir *d = g_dir_open(fx->dir, 0, NULL);
  g_assert_nonnull(d);
  const char *name;
  while ((name = g_dir_read_name(d))) {
    if (strlen(name) == 24 && g_str_has_suffix(name, ".log")) {
      int64_t b = g_ascii_strtoll(name, NULL, 10);
      g_array_append_val(a, b);
    }
  }
  g_dir_close(d);
  for (guint i = 1; i < a->len; i++) /* insertion sort: a handful of entries */
    for (guint j = i; j > 0 && g_array_index(a, int64_t, j - 1) > g_array_index(a, int64_t, j); j--) {
      int64_t t = g_array_index(a, int64_t, j);
      g_array_index(a, int64_t, j) = g_array_index(a, int64_t, j - 1);
      g_array_index(a, int64_t, j - 1) = t;
    }
  return a;
}

/* One batch of nrec records, timestamps ts0, ts0+1, ..., values of vlen bytes. */
static void add_batch(brook_buf_t *out, int nrec, int64_t ts0, size_t vlen) {
  brook_batch_builder_t b;
  brook_batch_builder_init(&b, BROOK_CODEC_NONE, ts0);
  uint8_t *val = g_malloc(vlen ? vlen : 1);
  memset(val, 'v', vlen);
  for (int i = 0; i < nrec; i++)
    brook_batch_builder_add(&b, ts0 + i, (brook_bytes_t){(const uint8_t *)"key", 3},
                            (brook_bytes_t){val, (int32_t)vlen});
  g_assert_cmpint(brook_batch_builder_finish(&b, out), ==, BROOK_ERR_NONE);
  brook_batch_builder_free(&b);
  g_free(val);
}

static size_t batch_bytes(int nrec, size_t vlen) {
  brook_buf_t b;
  brook_buf_init(&b);
  add_batch(&b, nrec, 0, vlen);
  size_t n = b.len;
  brook_buf_free(&b);
  return n;
}

static brook_append_info_t append1(brook_log_t *log, int nrec, int64_t ts0, size_t vlen, int64_t now_ms) {
  brook_buf_t b;
  brook_buf_init(&b);
  add_batch(&b, nrec, ts0, vlen);
  brook_append_info_t info;
  g_assert_cmpint(brook_log_append(log, b.data, b.len, now_ms, &info), ==, BROOK_ERR_NONE);
  brook_buf_free(&b);
  return info;
}

/* Reads everything from the log start to the end with read_copy and checks
 * framing, CRCs, contiguous offsets and per-record offsets. Returns the
 * number of records seen. */
static int64_t check_log(brook_log_t *log) {
  int64_t off = brook_log_start_offset(log), end = brook_log_end_offset(log), records = 0, expect = -1;
  while (off < end) {
    brook_buf_t b;
    brook_buf_init(&b);
    g_assert_cmpint(brook_log_read_copy(log, off, 1 << 20, INT64_MAX, &b), ==, BROOK_ERR_NONE);
    g_assert_cmpuint(b.len, >, 0);
    for (size_t p = 0; p < b.len;) {
      g_assert_cmpuint(b.len - p, >=, BROOK_BATCH_HDR_SIZE);
      brook_batch_hdr_t h;
      brook_batch_hdr_parse(b.data + p, &h);
      g_assert_cmpint(h.magic, ==, 2);
      g_assert_cmpint(h.partition_leader_epoch, ==, 0);
      g_assert_cmpuint(p + (size_t)brook_batch_size(&h), <=, b.len);
      g_assert_cmpuint(brook_crc32c(0, b.data + p + 21, (size_t)brook_batch_size(&h) - 21), ==, h.crc);
      if (expect >= 0) g_assert_cmpint(h.base_offset, ==, expect);
      g_assert_cmpint(brook_batch_last_offset(&h), >=, off);
      brook_batch_iter_t it;
      brook_record_t rec;
      g_assert_cmpint(brook_batch_iter_init(&it, b.data + p, (size_t)brook_batch_size(&h)), ==, 0);
      int64_t o = h.base_offset;
      while (brook_batch_iter_next(&it, &rec) == 1) {
        g_assert_cmpint(rec.offset, ==, o++);
        if (rec.offset >= brook_log_start_offset(log)) records++;
      }
      g_assert_cmpint(it.err, ==, 0);
      brook_batch_iter_free(&it);
      expect = brook_batch_last_offset(&h) + 1;
      p += (size_t)brook_batch_size(&h);
    }
    off = expect;
    brook_buf_free(&b);
  }
  g_assert_cmpint(off, ==, end);
  return records;
}

/* For every offset in [lso, leo): a one-byte min_one read returns exactly the
 * batch containing it. */
static void check_every_offset(brook_log_t *log) {
  for (int64_t o = brook_log_start_offset(log); o < brook_log_end_offset(log); o++) {
    brook_log_slice_t s;
    g_assert_cmpint(brook_log_read(log, o, 1, INT64_MAX, true, &s), ==, BROOK_ERR_NONE);
    g_assert_cmpint(s.file.len, >, 0);
    g_assert_cmpint(s.first_offset, <=, o);
    g_assert_cmpint(s.last_offset, >=, o);
    uint8_t hdr[BROOK_BATCH_HDR_SIZE];
    g_assert_cmpint(pread(s.file.fd, hdr, sizeof hdr, s.file.pos), ==, sizeof hdr);
    brook_batch_hdr_t h;
    brook_batch_hdr_parse(hdr, &h);
    g_assert_cmpint(h.base_offset, ==, s.first_offset);
    g_assert_cmpint(brook_batch_size(&h), ==, s.file.len);
    s.file.release(s.file.ctx);
  }
}

static GBytes *slurp(const char *path) {
  char *data = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(path, &data, &len, NULL));
  return g_bytes_new_take(data, len);
}

/* ---- tests ---- */

static void test_append_read(fixture_t *fx, gconstpointer data) {
  (void)data;
  brook_log_t *log = open_log(fx, 0, -1, true);
  g_assert_cmpint(brook_log_end_offset(log), ==, 0);
  g_assert_cmpint(brook_log_start_offset(log), ==, 0);
  g_assert_cmpint(brook_log_segment_count(log), ==, 1);

  brook_buf_t all;
  brook_buf_init(&all);
  for (int i = 0; i < 10; i++) {
    brook_buf_t b;
    brook_buf_init(&b);
    add_batch(&b, 3, 1000 + i * 10, 20);
    brook_append_info_t info;
    g_assert_cmpint(brook_log_append(log, b.data, b.len, 1000, &info), ==, BROOK_ERR_NONE);
    g_assert_cmpint(info.first_offset, ==, i * 3);
    g_assert_cmpint(info.last_offset, ==, i * 3 + 2);
    g_assert_false(info.rolled);
    /* Offsets and epoch were assigned in the caller's buffer. */
    brook_batch_hdr_t h;
    brook_batch_hdr_parse(b.data, &h);
    g_assert_cmpint(h.base_offset, ==, i * 3);
    g_assert_cmpint(h.partition_leader_epoch, ==, 0);
    brook_buf_put(&all, b.data, b.len);
    brook_buf_free(&b);
  }
  /* Several batches in one append. */
  brook_buf_t multi;
  brook_buf_init(&multi);
  add_batch(&multi, 2, 2000, 5);
  add_batch(&multi, 4, 2001, 5);
  add_batch(&multi, 1, 2002, 5);
  brook_append_info_t info;
  g_assert_cmpint(brook_log_append(log, multi.data, multi.len, 1000, &info), ==, BROOK_ERR_NONE);
  g_assert_cmpint(info.first_offset, ==, 30);
  g_assert_cmpint(info.last_offset, ==, 36);
  brook_buf_put(&all, multi.data, multi.len);
  brook_buf_free(&multi);
  g_assert_cmpint(brook_log_end_offset(log), ==, 37);
  g_assert_cmpint(brook_log_size_bytes(log), ==, (int64_t)all.len);

  /* The file holds the batches exactly as appended. */
  brook_buf_t copy;
  brook_buf_init(&copy);
  g_assert_cmpint(brook_log_read_copy(log, 0, INT32_MAX, INT64_MAX, &copy), ==, BROOK_ERR_NONE);
  g_assert_cmpmem(copy.data, copy.len, all.data, all.len);
  brook_buf_free(&copy);
  g_assert_cmpint(check_log(log), ==, 37);
  check_every_offset(log);

  brook_log_slice_t s;
  g_assert_cmpint(brook_log_read(log, 37, 1000, INT64_MAX, true, &s), ==, BROOK_ERR_NONE);
  g_assert_cmpint(s.file.len, ==, 0);
  g_assert_cmpint(brook_log_read(log, 38, 1000, INT64_MAX, true, &s), ==, BROOK_ERR_OFFSET_OUT_OF_RANGE);
  g_assert_cmpint(brook_log_read(log, -1, 1000, INT64_MAX, true, &s), ==, BROOK_ERR_OFFSET_OUT_OF_RANGE);

  /* Garbage in is refused without touching the log. */
  uint8_t junk[100];
  memset(junk, 0xee, sizeof junk);
  g_assert_cmpint(brook_log_append(log, junk, sizeof junk, 1000, NULL), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(brook_log_end_offset(log), ==, 37);

  /* Clean close + reopen keeps everything. */
  brook_log_close(log);
  log = open_log(fx, 37, 0, true);
  g_assert_cmpint(brook_log_end_offset(log), ==, 37);
  g_assert_cmpint(brook_log_recovery_point(log), ==, 37);
  brook_buf_init(&copy);
  g_assert_cmpint(brook_log_read_copy(log, 0, INT32_MAX, INT64_MAX, &copy), ==, BROOK_ERR_NONE);
  g_assert_cmpmem(copy.data, copy.len, all.data, all.len);
  brook_buf_free(&copy);
  info = append1(log, 1, 3000, 1, 1000);
  g_assert_cmpint(info.first_offset, ==, 37);
  check_every_offset(log);
  brook_log_close(log);
  brook_buf_free(&all);
}

static void test_roll_size(fixture_t *fx, gconstpointer data) {
  (void)data;
  size_t bsz = batch_bytes(2, 100);
  fx->conf.segment_bytes = (int64_t)(bsz * 4 + bsz / 2); /* 4 batches per segment */
  fx->conf.index_interval_bytes = (int32_t)bsz + 1;      /* an index entry every other batch */
  brook_log_t *log = open_log(fx, 0, -1, true);
  int rolls = 0;
  for (int i = 0; i < 30; i++) {
    brook_append_info_t info = append1(log, 2, 1000 + i, 100, 1000);
    rolls += info.rolled;
    g_assert_cmpint(info.rolled, ==, i > 0 && i % 4 == 0);
  }
  g_assert_cmpint(rolls, ==, 7);
  g_assert_cmpint(brook_log_segment_count(log), ==, 8);
  g_assert_cmpint(brook_log_end_offset(log), ==, 60);
  GArray *bases = seg_bases(fx);
  g_assert_cmpuint(bases->len, ==, 8);
  for (guint i = 0; i < bases->len; i++) {
    g_assert_cmpint(g_array_index(bases, int64_t, i), ==, (int64_t)i * 8);
    char *p = seg_file(fx, g_array_index(bases, int64_t, i), "log");
    g_assert_cmpint(file_size(p), <=, fx->conf.segment_bytes);
    g_free(p);
  }
  g_array_free(bases, TRUE);
  check_every_offset(log);
  g_assert_cmpint(check_log(log), ==, 60);
  brook_log_flush(log);
  g_assert_cmpint(brook_log_recovery_point(log), ==, 60);

  /* Exact index files after close; a rolled segment has offset index entries. */
  brook_log_close(log);
  char *idx0 = seg_file(fx, 0, "index"), *tidx0 = seg_file(fx, 0, "timeindex");
  g_assert_cmpint(file_size(idx0), >, 0);
  g_assert_cmpint(file_size(idx0) % 8, ==, 0);
  g_assert_cmpint(file_size(tidx0) % 12, ==, 0);
  g_assert_cmpint(file_size(tidx0), >, 0);
  g_free(idx0);
  g_free(tidx0);

  /* Indexes deleted -> rebuilt from the logs, byte-identical to the originals. */
  GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
  GPtrArray *orig = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  for (int64_t b = 0; b < 60; b += 8) {
    for (int k = 0; k < 2; k++) {
      char *p = seg_file(fx, b, k ? "timeindex" : "index");
      g_ptr_array_add(orig, slurp(p));
      g_assert_cmpint(g_unlink(p), ==, 0);
      g_ptr_array_add(paths, p);
    }
  }
  log = open_log(fx, 60, 0, true);
  g_assert_true(logged_contains("rebuilding the indexes"));
  g_assert_cmpint(brook_log_end_offset(log), ==, 60);
  check_every_offset(log);
  brook_log_close(log);
  for (guint i = 0; i < paths->len; i++) {
    GBytes *now = slurp(paths->pdata[i]);
    g_assert_true(g_bytes_equal(now, orig->pdata[i]));
    g_bytes_unref(now);
  }
  g_ptr_array_free(paths, TRUE);
  g_ptr_array_free(orig, TRUE);

  /* The offset index is really used: with the first batch header of
   * segment 0 destroyed (not noticed by a clean open, which scans nothing of
   * an inactive segment), offsets past the first index entry still read, the
   * first batch does not. */
  char *log0 = seg_file(fx, 0, "log");
  GBytes *saved0 = slurp(log0);
  int fd0 = open(log0, O_RDWR);
  uint8_t zero[12] = {0};
  g_assert_cmpint(pwrite(fd0, zero, sizeof zero, 0), ==, sizeof zero);
  close(fd0);
  log = open_log(fx, 60, 0, true);
  brook_log_slice_t s;
  g_assert_cmpint(brook_log_read(log, 7, 1, INT64_MAX, true, &s), ==, BROOK_ERR_NONE);
  g_assert_cmpint(s.first_offset, ==, 6);
  g_assert_cmpint(s.file.pos, ==, 3 * (int64_t)bsz);
  s.file.release(s.file.ctx);
  g_assert_cmpint(brook_log_read(log, 0, 1, INT64_MAX, true, &s), ==, BROOK_ERR_KAFKA_STORAGE_ERROR);
  g_assert_true(logged_contains("corrupt batch header at position 0"));
  brook_log_close(log);
  g_assert_true(g_file_set_contents(log0, g_bytes_get_data(saved0, NULL), (gssize)g_bytes_get_size(saved0), NULL));
  g_bytes_unref(saved0);
  g_free(log0);

  /* A corrupt (odd-sized) index on a clean open is rebuilt too. */
  char *idx1 = seg_file(fx, 8, "index");
  g_assert_true(g_file_set_contents(idx1, "12345", 5, NULL));
  logged_clear();
  log = open_log(fx, 60, 0, true);
  g_assert_true(logged_contains("rebuilding the indexes"));
  check_every_offset(log);
  brook_log_close(log);
  g_assert_cmpint(file_size(idx1) % 8, ==, 0);
  g_free(idx1);
}

static void test_roll_age(fixture_t *fx, gconstpointer data) {
  (void)data;
  fx->conf.segment_ms = 1000;
  brook_log_t *log = open_log(fx, 0, -1, true);
  /* By record time: the first batch's timestamp vs. the append's max. */
  g_assert_false(append1(log, 1, 10000, 10, 10000).rolled);
  g_assert_false(append1(log, 1, 10900, 10, 10900).rolled);
  g_assert_false(append1(log, 1, 11000, 10, 11000).rolled); /* exactly segment.ms: not older */
  g_assert_true(append1(log, 1, 11001, 10, 11001).rolled);
  g_assert_cmpint(brook_log_segment_count(log), ==, 2);
  /* By the broker clock (housekeeping): age counted from the segment's first
   * append (now_ms 11001 here). */
  g_assert_false(append1(log, 1, 11002, 10, 11100).rolled);
  g_assert_cmpint(brook_log_housekeep(log, 12001), ==, 0);
  g_assert_cmpint(brook_log_segment_count(log), ==, 2);
  g_assert_cmpint(brook_log_housekeep(log, 12002), ==, 0);
  g_assert_cmpint(brook_log_segment_count(log), ==, 3);
  g_assert_true(logged_contains("segment.ms"));
  /* An empty active segment never rolls. */
  g_assert_cmpint(brook_log_housekeep(log, 99999), ==, 0);
  g_assert_cmpint(brook_log_segment_count(log), ==, 3);
  check_every_offset(log);
  brook_log_close(log);
}

static void test_roll_index_full(fixture_t *fx, gconstpointer data) {
  (void)data;
  fx->conf.index_interval_bytes = 0; /* an entry for every batch but a segment's first */
  fx->conf.segment_index_bytes = 48; /* 6 offset entries, 4 time entries */
  brook_log_t *log = open_log(fx, 0, -1, true);
  for (int i = 0; i < 20; i++) append1(log, 1, 1000 + i, 10, 1000);
  g_assert_cmpint(brook_log_segment_count(log), >, 1);
  brook_log_close(log);
  GArray *bases = seg_bases(fx);
  for (guint i = 0; i < bases->len; i++) {
    char *p = seg_file(fx, g_array_index(bases, int64_t, i), "index");
    g_assert_cmpint(file_size(p), <=, 48);
    g_free(p);
    p = seg_file(fx, g_array_index(bases, int64_t, i), "timeindex");
    g_assert_cmpint(file_size(p), <=, 48);
    g_free(p);
  }
  g_array_free(bases, TRUE);
  log = open_log(fx, 20, 0, true);
  check_every_offset(log);
  brook_log_close(log);
}

static void test_read_bounds(fixture_t *fx, gconstpointer data) {
  (void)data;
  int64_t S = (int64_t)batch_bytes(5, 50);
  fx->conf.segment_bytes = S * 10; /* 10 batches of 5 records per segment */
  brook_log_t *log = open_log(fx, 0, -1, true);
  for (int i = 0; i < 15; i++) append1(log, 5, 1000 + i * 5, 50, 1000);
  g_assert_cmpint(brook_log_segment_count(log), ==, 2);

  brook_log_slice_t s;
  /* max_bytes: whole batches only. */
  g_assert_cmpint(brook_log_read(log, 0, (int32_t)(S * 5 / 2), INT64_MAX, false, &s), ==, 0);
  g_assert_cmpint(s.file.len, ==, 2 * S);
  g_assert_cmpint(s.first_offset, ==, 0);
  g_assert_cmpint(s.last_offset, ==, 9);
  s.file.release(s.file.ctx);
  /* Offset in the middle of a batch: starts with that batch. */
  g_assert_cmpint(brook_log_read(log, 7, (int32_t)S, INT64_MAX, false, &s), ==, 0);
  g_assert_cmpint(s.file.pos, ==, S);
  g_assert_cmpint(s.first_offset, ==, 5);
  g_assert_cmpint(s.last_offset, ==, 9);
  s.file.release(s.file.ctx);
  /* A read never crosses a segment. */
  g_assert_cmpint(brook_log_read(log, 40, INT32_MAX, INT64_MAX, false, &s), ==, 0);
  g_assert_cmpint(s.first_offset, ==, 40);
  g_assert_cmpint(s.last_offset, ==, 49);
  g_assert_cmpint(s.file.len, ==, 2 * S);
  s.file.release(s.file.ctx);
  /* max_offset (exclusive) on base offsets: batch 15..19 starts below 17. */
  g_assert_cmpint(brook_log_read(log, 0, INT32_MAX, 17, false, &s), ==, 0);
  g_assert_cmpint(s.last_offset, ==, 19);
  g_assert_cmpint(s.file.len, ==, 4 * S);
  s.file.release(s.file.ctx);
  g_assert_cmpint(brook_log_read(log, 0, INT32_MAX, 15, false, &s), ==, 0);
  g_assert_cmpint(s.last_offset, ==, 14);
  s.file.release(s.file.ctx);
  g_assert_cmpint(brook_log_read(log, 15, INT32_MAX, 15, false, &s), ==, 0);
  g_assert_cmpint(s.file.len, ==, 0);
  /* Active segment, high watermark below the end. */
  g_assert_cmpint(brook_log_read(log, 50, INT32_MAX, 60, false, &s), ==, 0);
  g_assert_cmpint(s.first_offset, ==, 50);
  g_assert_cmpint(s.last_offset, ==, 59);
  g_assert_cmpint(s.file.len, ==, 2 * S);
  s.file.release(s.file.ctx);
  g_assert_cmpint(brook_log_read(log, 50, INT32_MAX, INT64_MAX, false, &s), ==, 0);
  g_assert_cmpint(s.last_offset, ==, 74);
  g_assert_cmpint(s.file.len, ==, 5 * S);
  s.file.release(s.file.ctx);
  /* min_one (KIP-74). */
  g_assert_cmpint(brook_log_read(log, 12, (int32_t)(S / 2), INT64_MAX, false, &s), ==, 0);
  g_assert_cmpint(s.file.len, ==, 0);
  g_assert_cmpint(brook_log_read(log, 12, (int32_t)(S / 2), INT64_MAX, true, &s), ==, 0);
  g_assert_cmpint(s.file.len, ==, S);
  g_assert_cmpint(s.first_offset, ==, 10);
  g_assert_cmpint(s.last_offset, ==, 14);
  s.file.release(s.file.ctx);
  g_assert_cmpint(brook_log_read(log, 60, 0, INT64_MAX, true, &s), ==, 0);
  g_assert_cmpint(s.file.len, ==, S);
  s.file.release(s.file.ctx);
  g_assert_cmpint(brook_log_read(log, 60, 0, INT64_MAX, false, &s), ==, 0);
  g_assert_cmpint(s.file.len, ==, 0);

  /* read_copy appends; scan_headers walks every batch across segments. */
  brook_buf_t b;
  brook_buf_init(&b);
  brook_buf_put(&b, "xy", 2);
  g_assert_cmpint(brook_log_read_copy(log, 70, INT32_MAX, INT64_MAX, &b), ==, 0);
  g_assert_cmpuint(b.len, ==, 2 + (size_t)S);
  brook_buf_free(&b);
  brook_log_close(log);
}

typedef struct hdr_count {
  int n;
  int stop_after;
  int64_t first_base;
} hdr_count_t;

static bool count_hdr(const uint8_t hdr[61], int64_t file_pos, void *ctx) {
  hdr_count_t *c = ctx;
  (void)file_pos;
  if (c->n == 0) c->first_base = (int64_t)brook_rd64(hdr);
  c->n++;
  return c->n != c->stop_after;
}

static void test_scan_headers(fixture_t *fx, gconstpointer data) {
  (void)data;
  fx->conf.segment_bytes = (int64_t)batch_bytes(2, 10) * 3;
  brook_log_t *log = open_log(fx, 0, -1, true);
  for (int i = 0; i < 10; i++) append1(log, 2, 1000, 10, 1000);
  g_assert_cmpint(brook_log_segment_count(log), ==, 4);
  hdr_count_t c = {0, -1, -1};
  g_assert_cmpint(brook_log_scan_headers(log, 0, count_hdr, &c), ==, 0);
  g_assert_cmpint(c.n, ==, 10);
  c = (hdr_count_t){0, -1, -1};
  g_assert_cmpint(brook_log_scan_headers(log, 7, count_hdr, &c), ==, 0);
  g_assert_cmpint(c.n, ==, 7);
  g_assert_cmpint(c.first_base, ==, 6);
  c = (hdr_count_t){0, 2, -1};
  g_assert_cmpint(brook_log_scan_headers(log, 0, count_hdr, &c), ==, 0);
  g_assert_cmpint(c.n, ==, 2);
  brook_log_close(log);
}

/* Appends n batches of 2 records; abandons the log like a crash would. */
static void write_and_crash(fixture_t *fx, int n, int64_t *sizes) {
  brook_log_t *log = open_log(fx, 0, -1, true);
  for (int i = 0; i < n; i++) {
    append1(log, 2, 1000 + i, 30, 1000);
    if (sizes) sizes[i] = brook_log_size_bytes(log);
  }
  brook_log_abandon(log);
}

static void test_recovery_torn_tail(fixture_t *fx, gconstpointer data) {
  (void)data;
  fx->conf.index_interval_bytes = 64;
  int64_t sizes[20];
  write_and_crash(fx, 20, sizes);
  char *path = seg_file(fx, 0, "log");
  g_assert_cmpint(file_size(path), ==, sizes[19]);

  /* Torn last batch: cut 10 bytes. */
  g_assert_cmpint(truncate(path, sizes[19] - 10), ==, 0);
  brook_log_t *log = open_log(fx, 0, -1, false);
  g_assert_true(logged_contains("truncated"));
  g_assert_cmpint(brook_log_end_offset(log), ==, 38);
  g_assert_cmpint(file_size(path), ==, sizes[18]);
  g_assert_cmpint(brook_log_size_bytes(log), ==, sizes[18]);
  g_assert_cmpint(brook_log_recovery_point(log), ==, 38);
  check_every_offset(log);
  g_assert_cmpint(check_log(log), ==, 38);
  /* The index was rebuilt: its file holds only entries inside the log. */
  char *idx = seg_file(fx, 0, "index");
  g_assert_cmpint(file_size(idx), >, 0);
  g_assert_cmpint(file_size(idx) % 8, ==, 0);
  GBytes *ib = slurp(idx);
  gsize ilen;
  const uint8_t *ip = g_bytes_get_data(ib, &ilen);
  for (gsize i = 0; i < ilen; i += 8) g_assert_cmpint(brook_rd32(ip + i + 4), <, sizes[18]);
  g_bytes_unref(ib);
  g_free(idx);
  /* Appends continue at the right offset. */
  g_assert_cmpint(append1(log, 2, 5000, 30, 1000).first_offset, ==, 38);
  brook_log_abandon(log);

  /* Garbage after the last batch: cut back exactly to it. */
  int64_t before = file_size(path);
  int fd = open(path, O_WRONLY | O_APPEND);
  uint8_t junk[300];
  memset(junk, 0xab, sizeof junk);
  g_assert_cmpint(write(fd, junk, sizeof junk), ==, sizeof junk);
  close(fd);
  logged_clear();
  log = open_log(fx, 0, -1, false);
  g_assert_true(logged_contains("truncated"));
  g_assert_cmpint(file_size(path), ==, before);
  g_assert_cmpint(brook_log_end_offset(log), ==, 40);
  check_every_offset(log);
  brook_log_abandon(log);

  /* Zeros (a preallocated / never-written tail) are invalid too. */
  fd = open(path, O_WRONLY | O_APPEND);
  memset(junk, 0, sizeof junk);
  g_assert_cmpint(write(fd, junk, sizeof junk), ==, sizeof junk);
  close(fd);
  log = open_log(fx, 0, -1, false);
  g_assert_cmpint(file_size(path), ==, before);
  g_assert_cmpint(brook_log_end_offset(log), ==, 40);
  brook_log_close(log);
  g_free(path);
}

static void test_recovery_crc(fixture_t *fx, gconstpointer data) {
  (void)data;
  int64_t sizes[10];
  write_and_crash(fx, 10, sizes);
  char *path = seg_file(fx, 0, "log");
  /* Flip a byte in the middle of the last batch's records. */
  int fd = open(path, O_RDWR);
  off_t at = (off_t)(sizes[8] + (sizes[9] - sizes[8]) / 2 + 10);
  uint8_t c;
  g_assert_cmpint(pread(fd, &c, 1, at), ==, 1);
  c ^= 0x40;
  g_assert_cmpint(pwrite(fd, &c, 1, at), ==, 1);
  close(fd);
  brook_log_t *log = open_log(fx, 0, -1, false);
  g_assert_true(logged_contains("CRC mismatch"));
  g_assert_cmpint(brook_log_end_offset(log), ==, 18);
  g_assert_cmpint(file_size(path), ==, sizes[8]);
  check_every_offset(log);
  brook_log_close(log);
  g_free(path);
}

static void test_recovery_segments(fixture_t *fx, gconstpointer data) {
  (void)data;
  size_t bsz = batch_bytes(2, 30);
  fx->conf.segment_bytes = (int64_t)bsz * 3;
  write_and_crash(fx, 12, NULL); /* 4 segments: 0, 6, 12, 18 */
  GArray *bases = seg_bases(fx);
  g_assert_cmpuint(bases->len, ==, 4);
  g_array_free(bases, TRUE);

  /* Corrupt the first batch of segment 12, recovery point in segment 0:
   * segment 12 is truncated to nothing, segment 18 is deleted. */
  char *p12 = seg_file(fx, 12, "log");
  int fd = open(p12, O_RDWR);
  uint8_t c = 0x00;
  g_assert_cmpint(pwrite(fd, &c, 1, 70), ==, 1);
  close(fd);
  brook_log_t *log = open_log(fx, 2, -1, false);
  g_assert_cmpint(brook_log_end_offset(log), ==, 12);
  g_assert_cmpint(brook_log_segment_count(log), ==, 3);
  g_assert_true(logged_contains("deleted segment"));
  char *p18 = seg_file(fx, 18, "log");
  g_assert_false(g_file_test(p18, G_FILE_TEST_EXISTS));
  g_free(p18);
  check_every_offset(log);
  /* The emptied segment is the active one again: appends continue there. */
  g_assert_cmpint(append1(log, 2, 9000, 30, 1000).first_offset, ==, 12);
  g_assert_cmpint(file_size(p12), ==, (int64_t)bsz);
  brook_log_close(log);
  g_free(p12);

  /* Below the recovery point nothing is scanned: a corrupt byte inside the
   * records of segment 0 (CRC now wrong) stays, since that data was fsynced. */
  char *p0 = seg_file(fx, 0, "log");
  int64_t s0 = file_size(p0);
  fd = open(p0, O_RDWR);
  c = 0x5a;
  g_assert_cmpint(pwrite(fd, &c, 1, 80), ==, 1);
  close(fd);
  logged_clear();
  log = open_log(fx, 12, -1, false);
  g_assert_cmpint(file_size(p0), ==, s0);
  g_assert_cmpint(brook_log_end_offset(log), ==, 14);
  brook_log_close(log);
  g_free(p0);
}

static void test_recovery_large_batch(fixture_t *fx, gconstpointer data) {
  (void)data;
  /* Bigger than the 1 MiB recovery window: the CRC is chained over windows. */
  brook_log_t *log = open_log(fx, 0, -1, true);
  append1(log, 1, 1000, 10, 1000);
  append1(log, 3, 1001, 600 * 1024, 1000);
  append1(log, 1, 1002, 10, 1000);
  brook_log_abandon(log);
  log = open_log(fx, 0, -1, false);
  g_assert_false(logged_contains("truncated"));
  g_assert_cmpint(brook_log_end_offset(log), ==, 5);
  g_assert_cmpint(check_log(log), ==, 5);
  brook_log_close(log);
}

static void test_stray_files(fixture_t *fx, gconstpointer data) {
  (void)data;
  brook_log_t *log = open_log(fx, 0, -1, true);
  append1(log, 1, 1000, 10, 1000);
  brook_log_close(log);
  const char *names[] = {"00000000000000000000.log.tmp", "00000000000000000005.log.deleted",
                         "00000000000000000005.index.cleaned", "00000000000000000099.index",
                         "00000000000000000099.timeindex"};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    char *p = g_build_filename(fx->dir, names[i], NULL);
    g_assert_true(g_file_set_contents(p, "x", 1, NULL));
    g_free(p);
  }
  char *keep = g_build_filename(fx->dir, "leader-epoch-checkpoint", NULL);
  g_assert_true(g_file_set_contents(keep, "0\n0\n", -1, NULL));
  log = open_log(fx, 1, 0, true);
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    char *p = g_build_filename(fx->dir, names[i], NULL);
    g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
    g_free(p);
  }
  g_assert_true(g_file_test(keep, G_FILE_TEST_EXISTS));
  g_assert_cmpint(brook_log_end_offset(log), ==, 1);
  brook_log_close(log);
  g_free(keep);
}

static void test_retention_time(fixture_t *fx, gconstpointer data) {
  (void)data;
  fx->conf.segment_bytes = (int64_t)batch_bytes(1, 10) * 2; /* 2 batches per segment */
  fx->conf.retention_ms = 10000;
  brook_log_t *log = open_log(fx, 0, -1, true);
  /* Timestamps 1000, 2000, ..., 10000: segment i holds 2i+1..2i+2 thousands. */
  for (int i = 0; i < 10; i++) append1(log, 1, 1000 * (i + 1), 10, 1000 * (i + 1));
  g_assert_cmpint(brook_log_segment_count(log), ==, 5);
  /* Expired when now - max ts > retention.ms: the first segment (max 2000) after 12000. */
  g_assert_cmpint(brook_log_housekeep(log, 12000), ==, 0);
  g_assert_cmpint(brook_log_housekeep(log, 12001), ==, 1);
  g_assert_cmpint(brook_log_segment_count(log), ==, 4);
  g_assert_cmpint(brook_log_start_offset(log), ==, 2);
  char *p0 = seg_file(fx, 0, "log");
  g_assert_false(g_file_test(p0, G_FILE_TEST_EXISTS));
  g_free(p0);
  brook_log_slice_t s;
  g_assert_cmpint(brook_log_read(log, 1, 100, INT64_MAX, true, &s), ==, BROOK_ERR_OFFSET_OUT_OF_RANGE);
  g_assert_cmpint(check_log(log), ==, 8);
  /* now 16001: max ts <= 6000 expire -> two more. */
  g_assert_cmpint(brook_log_housekeep(log, 16001), ==, 2);
  g_assert_cmpint(brook_log_start_offset(log), ==, 6);
  /* Everything expired: the active segment is rolled first, then deleted. */
  g_assert_cmpint(brook_log_housekeep(log, 100000), ==, 2);
  g_assert_cmpint(brook_log_segment_count(log), ==, 1);
  g_assert_cmpint(brook_log_start_offset(log), ==, 10);
  g_assert_cmpint(brook_log_end_offset(log), ==, 10);
  g_assert_cmpint(brook_log_size_bytes(log), ==, 0);
  g_assert_cmpint(brook_log_read(log, 10, 100, INT64_MAX, true, &s), ==, 0);
  g_assert_cmpint(s.file.len, ==, 0);
  g_assert_cmpint(append1(log, 1, 200000, 10, 200000).first_offset, ==, 10);
  brook_log_close(log);
  log = open_log(fx, 11, 10, true);
  g_assert_cmpint(brook_log_start_offset(log), ==, 10);
  g_assert_cmpint(brook_log_end_offset(log), ==, 11);
  brook_log_close(log);
}

static void test_retention_bytes(fixture_t *fx, gconstpointer data) {
  (void)data;
  int64_t S = (int64_t)batch_bytes(1, 100);
  fx->conf.segment_bytes = S * 3;
  fx->conf.retention_bytes = S * 7;
  brook_log_t *log = open_log(fx, 0, -1, true);
  for (int i = 0; i < 14; i++) append1(log, 1, 1000, 100, 1000); /* segments 0,3,6,9,12(2 batches) */
  g_assert_cmpint(brook_log_segment_count(log), ==, 5);
  g_assert_cmpint(brook_log_size_bytes(log), ==, 14 * S);
  /* Drop the oldest while total - its size >= 7 S: 14->11->8 (stop: 8-3 < 7). */
  g_assert_cmpint(brook_log_housekeep(log, 1000), ==, 2);
  g_assert_cmpint(brook_log_size_bytes(log), ==, 8 * S);
  g_assert_cmpint(brook_log_start_offset(log), ==, 6);
  g_assert_true(logged_contains("retention.bytes"));
  /* Never the active segment, however small the limit. */
  fx->conf.retention_bytes = 0;
  brook_log_set_conf(log, &fx->conf);
  g_assert_cmpint(brook_log_housekeep(log, 1000), ==, 2);
  g_assert_cmpint(brook_log_segment_count(log), ==, 1);
  g_assert_cmpint(brook_log_size_bytes(log), ==, 2 * S);
  g_assert_cmpint(brook_log_start_offset(log), ==, 12);
  g_assert_cmpint(check_log(log), ==, 2);
  brook_log_close(log);
}

static void test_delete_records(fixture_t *fx, gconstpointer data) {
  (void)data;
  fx->conf.segment_bytes = (int64_t)batch_bytes(5, 10) * 2;
  brook_log_t *log = open_log(fx, 0, -1, true);
  for (int i = 0; i < 8; i++) append1(log, 5, 1000, 10, 1000); /* segments 0, 10, 20, 30 */
  g_assert_cmpint(brook_log_segment_count(log), ==, 4);
  g_assert_cmpint(brook_log_delete_records_before(log, 41), ==, BROOK_ERR_OFFSET_OUT_OF_RANGE);
  g_assert_cmpint(brook_log_delete_records_before(log, 7), ==, 0);
  g_assert_cmpint(brook_log_start_offset(log), ==, 7);
  g_assert_cmpint(brook_log_segment_count(log), ==, 4);
  g_assert_cmpint(brook_log_delete_records_before(log, 23), ==, 0);
  g_assert_cmpint(brook_log_start_offset(log), ==, 23);
  g_assert_cmpint(brook_log_segment_count(log), ==, 2);
  brook_log_slice_t s;
  g_assert_cmpint(brook_log_read(log, 22, 100, INT64_MAX, true, &s), ==, BROOK_ERR_OFFSET_OUT_OF_RANGE);
  g_assert_cmpint(brook_log_read(log, 23, 100, INT64_MAX, true, &s), ==, 0);
  g_assert_cmpint(s.first_offset, ==, 20); /* the batch holding it */
  s.file.release(s.file.ctx);
  g_assert_cmpint(brook_log_delete_records_before(log, 10), ==, 0); /* never backwards */
  g_assert_cmpint(brook_log_start_offset(log), ==, 23);
  /* Up to the end: the active segment stays (empty reads). */
  g_assert_cmpint(brook_log_delete_records_before(log, 40), ==, 0);
  g_assert_cmpint(brook_log_segment_count(log), ==, 1);
  g_assert_cmpint(brook_log_start_offset(log), ==, 40);
  g_assert_cmpint(brook_log_read(log, 40, 100, INT64_MAX, true, &s), ==, 0);
  g_assert_cmpint(s.file.len, ==, 0);
  brook_log_close(log);
}

static void check_times(brook_log_t *log) {
  int64_t off, ts;
  /* Batch k holds offsets 5k..5k+4 with timestamps 1000k .. 1000k+4, except
   * k = 3 (offsets 15..19) which holds 9000..9004, the maximum. Segments:
   * [b0 b1] [b2 b3] [b4 b5]. */
  g_assert_cmpint(brook_log_offset_for_time(log, 0, &off, &ts), ==, 0);
  g_assert_cmpint(off, ==, 0);
  g_assert_cmpint(ts, ==, 0);
  g_assert_cmpint(brook_log_offset_for_time(log, 1002, &off, &ts), ==, 0);
  g_assert_cmpint(off, ==, 7);
  g_assert_cmpint(ts, ==, 1002);
  g_assert_cmpint(brook_log_offset_for_time(log, 1005, &off, &ts), ==, 0);
  g_assert_cmpint(off, ==, 10);
  g_assert_cmpint(ts, ==, 2000);
  g_assert_cmpint(brook_log_offset_for_time(log, 2500, &off, &ts), ==, 0);
  g_assert_cmpint(off, ==, 15); /* the first record >= 2500 in offset order */
  g_assert_cmpint(ts, ==, 9000);
  g_assert_cmpint(brook_log_offset_for_time(log, 4003, &off, &ts), ==, 0);
  g_assert_cmpint(off, ==, 15);
  g_assert_cmpint(brook_log_offset_for_time(log, 9003, &off, &ts), ==, 0);
  g_assert_cmpint(off, ==, 18);
  g_assert_cmpint(ts, ==, 9003);
  g_assert_cmpint(brook_log_offset_for_time(log, 9005, &off, &ts), ==, 0);
  g_assert_cmpint(off, ==, -1);
  g_assert_cmpint(ts, ==, -1);
  g_assert_cmpint(brook_log_max_timestamp(log, &off, &ts), ==, 0);
  g_assert_cmpint(off, ==, 19);
  g_assert_cmpint(ts, ==, 9004);
}

static void test_offset_for_time(fixture_t *fx, gconstpointer data) {
  (void)data;
  fx->conf.segment_bytes = (int64_t)batch_bytes(5, 10) * 2;
  fx->conf.index_interval_bytes = 1;
  brook_log_t *log = open_log(fx, 0, -1, true);
  int64_t off, ts;
  g_assert_cmpint(brook_log_max_timestamp(log, &off, &ts), ==, 0);
  g_assert_cmpint(off, ==, -1);
  g_assert_cmpint(ts, ==, -1);
  for (int k = 0; k < 6; k++) append1(log, 5, k == 3 ? 9000 : 1000 * k, 10, 1000);
  g_assert_cmpint(brook_log_segment_count(log), ==, 3);
  check_times(log);
  brook_log_close(log);
  /* Clean reopen: the inactive segments' maxima come from their time indexes. */
  log = open_log(fx, 30, 0, true);
  check_times(log);
  /* DeleteRecords hides earlier records from the lookup. */
  g_assert_cmpint(brook_log_delete_records_before(log, 13), ==, 0);
  g_assert_cmpint(brook_log_offset_for_time(log, 0, &off, &ts), ==, 0);
  g_assert_cmpint(off, ==, 13);
  g_assert_cmpint(ts, ==, 2003);
  brook_log_close(log);
}

static void test_slice_after_delete(fixture_t *fx, gconstpointer data) {
  (void)data;
  fx->conf.segment_bytes = (int64_t)batch_bytes(1, 100) * 2;
  fx->conf.retention_ms = 1000;
  brook_log_t *log = open_log(fx, 0, -1, true);
  for (int i = 0; i < 6; i++) append1(log, 1, 1000, 100, 1000);
  brook_log_slice_t s;
  g_assert_cmpint(brook_log_read(log, 0, INT32_MAX, INT64_MAX, false, &s), ==, 0);
  g_assert_cmpint(s.last_offset, ==, 1);
  uint8_t *before = g_malloc((size_t)s.file.len);
  g_assert_cmpint(pread(s.file.fd, before, (size_t)s.file.len, s.file.pos), ==, s.file.len);
  /* Hand it to an output buffer, as a fetch response would. */
  brook_buf_t out;
  brook_buf_init(&out);
  brook_buf_splice(&out, &s.file);
  g_assert_cmpint(brook_log_housekeep(log, 5000), ==, 3);
  char *p0 = seg_file(fx, 0, "log");
  g_assert_false(g_file_test(p0, G_FILE_TEST_EXISTS));
  g_free(p0);
  /* The unlinked file is still readable through the slice. */
  uint8_t *after = g_malloc((size_t)s.file.len);
  g_assert_cmpint(pread(out.splices[0].ref.fd, after, (size_t)s.file.len, s.file.pos), ==, s.file.len);
  g_assert_cmpmem(before, (size_t)s.file.len, after, (size_t)s.file.len);
  /* Even after the log is closed. */
  brook_log_close(log);
  g_assert_cmpint(pread(out.splices[0].ref.fd, after, (size_t)s.file.len, s.file.pos), ==, s.file.len);
  g_assert_cmpmem(before, (size_t)s.file.len, after, (size_t)s.file.len);
  brook_buf_free(&out); /* releases the last reference: fd closed */
  g_free(before);
  g_free(after);
}

static void test_write_failure(fixture_t *fx, gconstpointer data) {
  (void)data;
  brook_log_t *log = open_log(fx, 0, -1, true);
  for (int i = 0; i < 5; i++) append1(log, 3, 1000 + i, 50, 1000);
  brook_buf_t good;
  brook_buf_init(&good);
  g_assert_cmpint(brook_log_read_copy(log, 0, INT32_MAX, INT64_MAX, &good), ==, 0);
  char *path = seg_file(fx, 0, "log");
  int64_t size = file_size(path);
  g_assert_cmpint(size, ==, brook_log_size_bytes(log));

  /* A real failed write: the file may not grow past size + 100 bytes. */
  struct rlimit old, lim;
  g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  lim = old;
  lim.rlim_cur = (rlim_t)size + 100;
  g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
  brook_buf_t b;
  brook_buf_init(&b);
  add_batch(&b, 4, 5000, 200);
  brook_append_info_t info;
  brook_err_t err = brook_log_append(log, b.data, b.len, 1000, &info);
  int64_t size_after = file_size(path);
  g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
  signal(SIGXFSZ, old_handler);
  g_assert_cmpint(err, ==, BROOK_ERR_KAFKA_STORAGE_ERROR);
  g_assert_true(logged_contains("File too large"));
  g_assert_cmpint(size_after, ==, size); /* cut back */
  g_assert_cmpint(brook_log_end_offset(log), ==, 15);
  g_assert_cmpint(brook_log_size_bytes(log), ==, size);
  /* The same records go through once the limit is lifted. */
  g_assert_cmpint(brook_log_append(log, b.data, b.len, 1000, &info), ==, 0);
  g_assert_cmpint(info.first_offset, ==, 15);
  g_assert_cmpint(info.last_offset, ==, 18);
  brook_buf_free(&b);
  brook_buf_t now;
  brook_buf_init(&now);
  g_assert_cmpint(brook_log_read_copy(log, 0, (int32_t)good.len, INT64_MAX, &now), ==, 0);
  g_assert_cmpmem(now.data, now.len, good.data, good.len);
  brook_buf_free(&now);
  g_assert_cmpint(check_log(log), ==, 19);
  check_every_offset(log);
  brook_log_close(log);
  /* And after a crash-style reopen as well. */
  log = open_log(fx, 0, -1, false);
  g_assert_cmpint(brook_log_end_offset(log), ==, 19);
  g_assert_cmpint(check_log(log), ==, 19);
  brook_log_close(log);
  brook_buf_free(&good);
  g_free(path);
}

static void test_flush_recovery_point(fixture_t *fx, gconstpointer data) {
  (void)data;
  fx->conf.segment_bytes = (int64_t)batch_bytes(1, 10) * 2;
  brook_log_t *log = open_log(fx, 0, -1, true);
  g_assert_cmpint(brook_log_recovery_point(log), ==, 0);
  for (int i = 0; i < 5; i++) append1(log, 1, 1000, 10, 1000);
  g_assert_cmpint(brook_log_recovery_point(log), <=, 4); /* the active segment is not fsynced yet */
  g_assert_cmpint(brook_log_flush(log), ==, 0);
  g_assert_cmpint(brook_log_recovery_point(log), ==, 5);
  brook_log_close(log);

  /* flush.messages: every 3 messages. */
  fx->conf.flush_messages = 3;
  log = open_log(fx, 5, 0, true);
  append1(log, 1, 1000, 10, 1000);
  append1(log, 1, 1000, 10, 1000);
  g_assert_cmpint(brook_log_recovery_point(log), ==, 5);
  append1(log, 1, 1000, 10, 1000);
  brook_log_flush(log); /* only to wait for the background fsync of a rolled segment */
  g_assert_cmpint(brook_log_recovery_point(log), ==, 8);
  brook_log_close(log);

  /* flush.ms through housekeeping. */
  fx->conf.flush_messages = INT64_MAX;
  fx->conf.flush_ms = 500;
  fx->conf.segment_bytes = 1 << 20;
  log = open_log(fx, 8, 0, true);
  append1(log, 1, 1000, 10, 10000);
  brook_log_housekeep(log, 10400);
  g_assert_cmpint(brook_log_recovery_point(log), ==, 8);
  brook_log_housekeep(log, 10500);
  g_assert_cmpint(brook_log_recovery_point(log), ==, 9);
  brook_log_close(log);
}

static void test_delete(fixture_t *fx, gconstpointer data) {
  (void)data;
  brook_log_t *log = open_log(fx, 0, -1, true);
  append1(log, 1, 1000, 10, 1000);
  g_assert_true(g_file_test(fx->dir, G_FILE_TEST_IS_DIR));
  g_assert_cmpint(brook_log_delete(log), ==, 0);
  g_assert_false(g_file_test(fx->dir, G_FILE_TEST_EXISTS));
  brook_log_close(NULL);
  brook_log_abandon(NULL);
}

static void test_open_errors(fixture_t *fx, gconstpointer data) {
  (void)data;
  /* The log directory path is a regular file. */
  g_assert_true(g_file_set_contents(fx->dir, "x", 1, NULL));
  brook_log_t *log = NULL;
  char err[512] = "";
  g_assert_cmpint(brook_log_open(fx->dir, &fx->conf, 0, -1, true, &log, err, sizeof err), !=, 0);
  g_assert_null(log);
  g_assert_nonnull(strstr(err, fx->dir));
  g_unlink(fx->dir);
  /* A fresh log with a checkpointed start offset begins there. */
  log = open_log(fx, 0, 500, true);
  g_assert_cmpint(brook_log_start_offset(log), ==, 500);
  g_assert_cmpint(brook_log_end_offset(log), ==, 500);
  char *p = seg_file(fx, 500, "log");
  g_assert_true(g_file_test(p, G_FILE_TEST_EXISTS));
  g_free(p);
  g_assert_cmpint(append1(log, 2, 1, 1, 1).first_offset, ==, 500);
  brook_log_close(log);
}

static void test_checkpoint(fixture_t *fx, gconstpointer data) {
  (void)data;
  g_mkdir_with_parents(fx->dir, 0755);
  char *path = g_build_filename(fx->root, "recovery-point-offset-checkpoint", NULL);
  char err[512] = "";
  brook_checkpoint_entry_t *got = NULL;
  size_t n = 99;
  /* Missing = empty. */
  g_assert_cmpint(brook_checkpoint_read(path, &got, &n, err, sizeof err), ==, 0);
  g_assert_cmpuint(n, ==, 0);
  g_assert_null(got);

  brook_checkpoint_entry_t in[3] = {{"orders", 0, 1234}, {"orders", 1, 0}, {"__consumer_offsets", 49, INT64_MAX}};
  g_assert_cmpint(brook_checkpoint_write(path, in, 3, err, sizeof err), ==, 0);
  char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  g_assert_cmpstr(text, ==, "0\n3\norders 0 1234\norders 1 0\n__consumer_offsets 49 9223372036854775807\n");
  g_free(text);
  char *tmp = g_strconcat(path, ".tmp", NULL);
  g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
  g_free(tmp);
  g_assert_cmpint(brook_checkpoint_read(path, &got, &n, err, sizeof err), ==, 0);
  g_assert_cmpuint(n, ==, 3);
  for (size_t i = 0; i < 3; i++) {
    g_assert_cmpstr(got[i].topic, ==, in[i].topic);
    g_assert_cmpint(got[i].partition, ==, in[i].partition);
    g_assert_cmpint(got[i].offset, ==, in[i].offset);
  }
  brook_checkpoint_entries_free(got, n);

  /* Overwrite with nothing. */
  g_assert_cmpint(brook_checkpoint_write(path, NULL, 0, err, sizeof err), ==, 0);
  g_assert_cmpint(brook_checkpoint_read(path, &got, &n, err, sizeof err), ==, 0);
  g_assert_cmpuint(n, ==, 0);
  brook_checkpoint_entries_free(got, n);

  /* Malformed files: clear errors naming the file. */
  const char *bad[] = {"", "1\n0\n", "0\n", "0\n2\nt 0 1\n", "0\n1\nt 0\n", "0\n1\nt x 1\n", "0\n1\nt 0 1z\n",
                       "0\n1\nt 0 1\nextra 0 1\n", "0\n1\nt  0 1\n", "zero\n0\n"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_assert_true(g_file_set_contents(path, bad[i], -1, NULL));
    err[0] = 0;
    got = (void *)1;
    g_assert_cmpint(brook_checkpoint_read(path, &got, &n, err, sizeof err), ==, BROOK_ERR__MALFORMED);
    g_assert_null(got);
    g_assert_nonnull(strstr(err, path));
    if (g_test_verbose()) g_printerr("    %s\n", err);
  }
  /* Unwritable topic names are refused; the old file is untouched. */
  brook_checkpoint_entry_t badname = {"has space", 0, 1};
  g_assert_cmpint(brook_checkpoint_write(path, &badname, 1, err, sizeof err), ==, BROOK_ERR__BAD_CONFIG);
  /* Unwritable directory. */
  char *nodir = g_build_filename(fx->root, "no-such-dir", "cp", NULL);
  g_assert_cmpint(brook_checkpoint_write(nodir, in, 1, err, sizeof err), ==, BROOK_ERR_KAFKA_STORAGE_ERROR);
  g_assert_nonnull(strstr(err, "no-such-dir"));
  g_free(nodir);
  g_free(path);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  logged = g_ptr_array_new_with_free_func(g_free);
  brook_log_set_handler(capture, NULL);
  brook_log_set_level(BROOK_LOG_DEBUG);
#define ADD(path, fn) g_test_add("/broker/log/" path, fixture_t, NULL, fx_setup, fn, fx_teardown)
  ADD("append-read", test_append_read);
  ADD("roll", test_roll_size);
  ADD("roll-age", test_roll_age);
  ADD("roll-index-full", test_roll_index_full);
  ADD("read-bounds", test_read_bounds);
  ADD("scan-headers", test_scan_headers);
  ADD("recovery/torn-tail", test_recovery_torn_tail);
  ADD("recovery/crc", test_recovery_crc);
  ADD("recovery/segments", test_recovery_segments);
  ADD("recovery/large-batch", test_recovery_large_batch);
  ADD("recovery/stray-files", test_stray_files);
  ADD("retention/time", test_retention_time);
  ADD("retention/bytes", test_retention_bytes);
  ADD("delete-records", test_delete_records);
  ADD("offset-for-time", test_offset_for_time);
  ADD("slice-after-delete", test_slice_after_delete);
  ADD("write-failure", test_write_failure);
  ADD("flush", test_flush_recovery_point);
  ADD("delete", test_delete);
  ADD("open", test_open_errors);
  ADD("checkpoint", test_checkpoint);
  int rc = g_test_run();
  brook_log_set_handler(NULL, NULL);
  g_ptr_array_free(logged, TRUE);
  return rc;
}
