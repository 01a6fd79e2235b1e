/*
 * test-batch.c — RecordBatch v2, CRC-32C and the compression codecs.
 *
 * What is covered
 *  - CRC-32C against published vectors; the SSE4.2 path against the portable
 *    one over many lengths and alignments (lane-size boundaries included).
 *  - builder -> validate -> iterate for every codec; builder defaults.
 *  - Golden batches written by kafka-python (tests/broker/fixtures/, made by
 *    gen_kafka_python_batches.py): validated and iterated record by record.
 *  - Batches we build, read back by kafka-python (skipped if it is missing).
 *  - Each validation error from a precisely corrupted batch.
 *  - In-place rewrites (offset, leader epoch keep the CRC; LogAppendTime
 *    recomputes it); recompression none -> codec -> none is byte-exact.
 *  - Malformed input (truncation, garbage payloads, absurd varints, random
 *    mutations) gives errors, never a crash (run under ASan/UBSan too).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "batch.h"

static const int all_codecs[] = {BROOK_CODEC_NONE, BROOK_CODEC_GZIP, BROOK_CODEC_SNAPPY, BROOK_CODEC_LZ4,
                                 BROOK_CODEC_ZSTD};
#define NCODECS 5

static brook_bytes_t S(const char *s) { return (brook_bytes_t){(const uint8_t *)s, (int32_t)strlen(s)}; }
static const brook_bytes_t NUL = {NULL, -1};

/* ---- expected records ---- */

typedef struct exp_rec {
  int64_t ts;
  brook_bytes_t key, value;
  int nh;
  brook_record_header_t h[4];
} exp_rec_t;

static void assert_bytes_eq(brook_bytes_t got, brook_bytes_t want) {
  g_assert_cmpint(got.len, ==, want.len);
  if (want.len > 0) g_assert_true(memcmp(got.ptr, want.ptr, (size_t)want.len) == 0);
}

/* Iterates the batch at b and checks it holds exactly want[0..n). */
static void check_records(const uint8_t *b, size_t size, const exp_rec_t *want, int n, int64_t base_offset,
                          int64_t append_time) {
  brook_batch_iter_t it;
  g_assert_cmpint(brook_batch_iter_init(&it, b, size), ==, BROOK_ERR_NONE);
  brook_record_t rec;
  int i = 0, rc;
  while ((rc = brook_batch_iter_next(&it, &rec)) == 1) {
    g_assert_cmpint(i, <, n);
    g_assert_cmpint(rec.offset, ==, base_offset + i);
    g_assert_cmpint(rec.timestamp, ==, append_time >= 0 ? append_time : want[i].ts);
    assert_bytes_eq(rec.key, want[i].key);
    assert_bytes_eq(rec.value, want[i].value);
    g_assert_cmpint(rec.header_count, ==, want[i].nh);
    brook_rd_t rd;
    brook_rd_init(&rd, rec.headers, rec.headers_len);
    for (int k = 0; k < want[i].nh; k++) {
      brook_record_header_t h;
      g_assert_true(brook_record_header_next(&rd, &h));
      assert_bytes_eq(h.key, want[i].h[k].key);
      assert_bytes_eq(h.value, want[i].h[k].value);
    }
    g_assert_cmpuint(brook_rd_remaining(&rd), ==, 0);
    i++;
  }
  g_assert_cmpint(rc, ==, 0);
  g_assert_cmpint(it.err, ==, BROOK_ERR_NONE);
  g_assert_cmpint(i, ==, n);
  brook_batch_iter_free(&it);
}

static void add_all(brook_batch_builder_t *b, const exp_rec_t *r, int n) {
  for (int i = 0; i < n; i++)
    brook_batch_builder_add_headers(b, r[i].ts, r[i].key, r[i].value, r[i].h, r[i].nh);
}

/* A record set with the awkward cases: null key, tombstone, empty key and
 * value, headers with null and empty values, a negative timestamp delta and a
 * value large enough to span several codec blocks. */
#define BIG_LEN 200000
static uint8_t big[BIG_LEN];
static exp_rec_t sample[6];
static const int64_t sample_ts = 1700000000000;

static void init_sample(void) {
  GRand *r = g_rand_new_with_seed(7);
  /* Half compressible text, half noise, so every codec really works. */
  for (int i = 0; i < BIG_LEN; i++)
    big[i] = i < BIG_LEN / 2 ? (uint8_t)("brook-stream-"[i % 13]) : (uint8_t)g_rand_int_range(r, 0, 256);
  g_rand_free(r);
  sample[0] = (exp_rec_t){sample_ts, S("k0"), S("v0"), 2, {{S("h1"), S("x")}, {S("empty"), S("")}}};
  sample[1] = (exp_rec_t){.ts = sample_ts + 10, .key = NUL, .value = S("value without key")};
  sample[2] = (exp_rec_t){sample_ts - 99, S("tomb"), NUL, 1, {{S("nullhdr"), NUL}}};
  sample[3] = (exp_rec_t){.ts = sample_ts + 5, .key = S(""), .value = S("")};
  sample[4] = (exp_rec_t){.ts = sample_ts + 7, .key = S("big"), .value = {big, BIG_LEN}};
  sample[5] = (exp_rec_t){.ts = sample_ts + 123456789, .key = S("last"), .value = S("v")};
}

static void build(int codec, const exp_rec_t *r, int n, brook_buf_t *out) {
  brook_batch_builder_t b;
  brook_batch_builder_init(&b, codec, r[0].ts);
  add_all(&b, r, n);
  g_assert_cmpint(brook_batch_builder_finish(&b, out), ==, BROOK_ERR_NONE);
  brook_batch_builder_free(&b);
}

static void fix_crc(uint8_t *b) {
  size_t size = BROOK_BATCH_LOG_OVERHEAD + brook_rd32(b + 8);
  brook_wr32(b + 17, brook_crc32c(0, b + 21, size - 21));
}

static const brook_validate_opts_t strict = {.max_batch_bytes = 0, .check_records = true};

/* ---- CRC-32C ---- */

static void test_crc_vectors(void) {
  g_assert_cmphex(brook_crc32c(0, "123456789", 9), ==, 0xE3069283);
  g_assert_cmphex(brook_crc32c_portable(0, "123456789", 9), ==, 0xE3069283);
  g_assert_cmphex(brook_crc32c(0, "", 0), ==, 0);
  uint8_t buf[32];
  memset(buf, 0, sizeof buf); /* RFC 3720 B.4 */
  g_assert_cmphex(brook_crc32c(0, buf, 32), ==, 0x8A9136AA);
  memset(buf, 0xff, sizeof buf);
  g_assert_cmphex(brook_crc32c(0, buf, 32), ==, 0x62A8AB43);
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)i;
  g_assert_cmphex(brook_crc32c(0, buf, 32), ==, 0x46DD794E);
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)(31 - i);
  g_assert_cmphex(brook_crc32c(0, buf, 32), ==, 0x113FDB5C);
  /* Chaining. */
  g_assert_cmphex(brook_crc32c(brook_crc32c(0, "1234", 4), "56789", 5), ==, 0xE3069283);
  g_test_message("hardware crc32c: %s", brook_crc32c_has_hw() ? "yes" : "no");
}

static void test_crc_hw_vs_portable(void) {
  enum { N = 200000 };
  uint8_t *data = g_malloc(N + 8);
  GRand *r = g_rand_new_with_seed(1);
  for (int i = 0; i < N + 8; i++) data[i] = (uint8_t)g_rand_int(r);
  /* Every short length at every alignment, then the lane boundaries
   * (3 x 128, 3 x 1024, 3 x 8192) and their neighbours. */
  for (size_t len = 0; len <= 700; len++)
    for (size_t a = 0; a < 8; a++)
      g_assert_cmphex(brook_crc32c(0, data + a, len), ==, brook_crc32c_portable(0, data + a, len));
  static const size_t lens[] = {383,   384,   385,   3071,  3072,  3073,  3456,   24575, 24576,
                                24577, 27648, 27649, 50000, 65549, 99999, 123457, N};
  for (size_t i = 0; i < G_N_ELEMENTS(lens); i++)
    for (size_t a = 0; a < 8; a++) {
      size_t len = lens[i];
      g_assert_cmphex(brook_crc32c(0, data + a, len), ==, brook_crc32c_portable(0, data + a, len));
      /* Split anywhere: chaining must agree with one pass. */
      size_t cut = g_rand_int_range(r, 0, (gint32)len + 1);
      uint32_t c = brook_crc32c(brook_crc32c(0, data + a, cut), data + a + cut, len - cut);
      g_assert_cmphex(c, ==, brook_crc32c(0, data + a, len));
    }
  for (int i = 0; i < 300; i++) {
    size_t a = g_rand_int_range(r, 0, 64), len = g_rand_int_range(r, 0, N - 64);
    uint32_t seed = g_rand_int(r);
    g_assert_cmphex(brook_crc32c(seed, data + a, len), ==, brook_crc32c_portable(seed, data + a, len));
  }
  g_rand_free(r);
  g_free(data);
}

/* ---- builder / validate / iterate ---- */

static void test_roundtrip(gconstpointer data) {
  int codec = GPOINTER_TO_INT(data);
  brook_buf_t out;
  brook_buf_init(&out);
  build(codec, sample, 6, &out);
  brook_records_info_t info;
  brook_validate_opts_t opts = {.max_batch_bytes = 1 << 20, .check_records = true};
  g_assert_cmpint(brook_records_validate(out.data, out.len, &opts, &info), ==, BROOK_ERR_NONE);
  g_assert_cmpint(info.batch_count, ==, 1);
  g_assert_cmpint(info.record_count, ==, 6);
  g_assert_cmpint(info.codec, ==, codec);
  g_assert_cmpint(info.max_batch_size, ==, (int32_t)out.len);
  g_assert_cmpint(info.first_timestamp, ==, sample_ts);
  g_assert_cmpint(info.max_timestamp, ==, sample_ts + 123456789);
  g_assert_cmpint(info.producer_id, ==, -1);
  g_assert_cmpint(info.producer_epoch, ==, -1);
  g_assert_cmpint(info.first_sequence, ==, -1);
  g_assert_cmpint(info.last_sequence, ==, -1);
  g_assert_false(info.transactional);
  g_assert_false(info.control);
  if (codec != BROOK_CODEC_NONE) g_assert_cmpuint(out.len, <, BIG_LEN); /* it did compress */
  brook_batch_hdr_t h;
  brook_batch_hdr_parse(out.data, &h);
  g_assert_cmpint(h.base_offset, ==, 0);
  g_assert_cmpint(brook_batch_size(&h), ==, (int64_t)out.len);
  g_assert_cmpint(h.partition_leader_epoch, ==, -1);
  g_assert_cmpint(h.magic, ==, 2);
  g_assert_cmpint(h.attributes, ==, codec);
  g_assert_cmpint(h.last_offset_delta, ==, 5);
  g_assert_cmpint(h.record_count, ==, 6);
  g_assert_cmpint(h.base_timestamp, ==, sample_ts);
  g_assert_cmpint(h.producer_id, ==, -1);
  g_assert_cmpint(h.producer_epoch, ==, -1);
  g_assert_cmpint(h.base_sequence, ==, -1);
  check_records(out.data, out.len, sample, 6, 0, -1);
  /* Too large for a small max.message.bytes. */
  opts.max_batch_bytes = (int32_t)out.len - 1;
  g_assert_cmpint(brook_records_validate(out.data, out.len, &opts, &info), ==, BROOK_ERR_MESSAGE_TOO_LARGE);
  brook_buf_free(&out);
}

static void test_builder_fields(void) {
  brook_batch_builder_t b;
  brook_buf_t out;
  brook_buf_init(&out);
  brook_batch_builder_init(&b, BROOK_CODEC_LZ4, 1000);
  g_assert_cmpint(brook_batch_builder_finish(&b, &out), ==, BROOK_ERR__STATE); /* empty */
  g_assert_cmpuint(out.len, ==, 0);
  b.producer_id = 77;
  b.producer_epoch = 4;
  b.base_sequence = INT32_MAX - 1; /* wraps: last = 0 */
  b.extra_attributes = BROOK_BATCH_ATTR_TRANSACTIONAL;
  for (int i = 0; i < 3; i++) brook_batch_builder_add(&b, 1000 + i, S("k"), S("v"));
  g_assert_cmpint(brook_batch_builder_finish(&b, &out), ==, BROOK_ERR_NONE);
  size_t first = out.len;
  /* The builder is reusable: a second batch, same producer. */
  b.base_sequence = 1;
  brook_batch_builder_add(&b, 2000, NUL, S("w"));
  g_assert_cmpint(brook_batch_builder_finish(&b, &out), ==, BROOK_ERR_NONE);
  brook_batch_builder_free(&b);
  brook_records_info_t info;
  g_assert_cmpint(brook_records_validate(out.data, out.len, &strict, &info), ==, BROOK_ERR_NONE);
  g_assert_cmpint(info.batch_count, ==, 2);
  g_assert_cmpint(info.record_count, ==, 4);
  g_assert_cmpint(info.max_batch_size, >=, (int32_t)first);
  g_assert_cmpint(info.producer_id, ==, 77);
  g_assert_cmpint(info.producer_epoch, ==, 4);
  g_assert_cmpint(info.first_sequence, ==, INT32_MAX - 1);
  g_assert_cmpint(info.last_sequence, ==, 1);
  g_assert_cmpint(info.max_timestamp, ==, 2000);
  g_assert_true(info.transactional);
  brook_batch_hdr_t h;
  brook_batch_hdr_parse(out.data, &h);
  g_assert_cmpint(h.attributes, ==, BROOK_CODEC_LZ4 | BROOK_BATCH_ATTR_TRANSACTIONAL);
  g_assert_cmpint(h.max_timestamp, ==, 1002);
  g_assert_cmpint(h.base_sequence, ==, INT32_MAX - 1);
  /* Same batch with a single-batch view: last sequence wraps to 0. */
  g_assert_cmpint(brook_records_validate(out.data, first, &strict, &info), ==, BROOK_ERR_NONE);
  g_assert_cmpint(info.last_sequence, ==, 0);
  brook_buf_free(&out);

  /* A control batch iterates like any other. */
  brook_buf_init(&out);
  brook_batch_builder_init(&b, BROOK_CODEC_NONE, 5);
  b.producer_id = 1;
  b.producer_epoch = 0;
  b.base_sequence = 0;
  b.extra_attributes = BROOK_BATCH_ATTR_CONTROL | BROOK_BATCH_ATTR_TRANSACTIONAL;
  static const uint8_t marker_key[4] = {0, 0, 0, 1}, marker_val[6] = {0, 0, 0, 0, 0, 9};
  brook_batch_builder_add(&b, 5, (brook_bytes_t){marker_key, 4}, (brook_bytes_t){marker_val, 6});
  g_assert_cmpint(brook_batch_builder_finish(&b, &out), ==, BROOK_ERR_NONE);
  brook_batch_builder_free(&b);
  g_assert_cmpint(brook_records_validate(out.data, out.len, &strict, &info), ==, BROOK_ERR_NONE);
  g_assert_true(info.control);
  exp_rec_t m = {.ts = 5, .key = {marker_key, 4}, .value = {marker_val, 6}};
  check_records(out.data, out.len, &m, 1, 0, -1);
  brook_buf_free(&out);
}

/* ---- golden batches from kafka-python ---- */

/* The fixtures sit beside this file. __FILE__ is what meson passed the
 * compiler: absolute, or relative to the build root, which is two levels
 * above this executable (build/tests/broker/test-batch) and usually the cwd
 * of `meson test`. BROOK_TEST_FIXTURES overrides all. */
static char *find_fixture(const char *name) {
  const char *env = g_getenv("BROOK_TEST_FIXTURES");
  char *srcdir = g_path_get_dirname(__FILE__);
  char *exe = g_file_read_link("/proc/self/exe", NULL);
  char *exedir = exe ? g_path_get_dirname(exe) : g_strdup(".");
  char *d1 = g_build_filename(srcdir, "fixtures", NULL);
  char *d2 =
      g_path_is_absolute(srcdir) ? NULL : g_build_filename(exedir, "..", "..", srcdir, "fixtures", NULL);
  const char *dirs[] = {env, d1, d2, "tests/broker/fixtures"};
  char *found = NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(dirs) && !found; i++) {
    if (!dirs[i]) continue;
    char *p = g_build_filename(dirs[i], name, NULL);
    if (g_file_test(p, G_FILE_TEST_EXISTS))
      found = p;
    else
      g_free(p);
  }
  g_free(d1);
  g_free(d2);
  g_free(exe);
  g_free(exedir);
  g_free(srcdir);
  return found;
}

static uint8_t *load_fixture(const char *name, size_t *len) {
  char *path = find_fixture(name);
  if (!path) g_error("fixture %s not found (set BROOK_TEST_FIXTURES to tests/broker/fixtures)", name);
  gchar *data;
  gsize n;
  GError *e = NULL;
  if (!g_file_get_contents(path, &data, &n, &e)) g_error("%s: %s", path, e->message);
  g_free(path);
  *len = n;
  return (uint8_t *)data;
}

#define KP_BIG 70000
static uint8_t kp_big[KP_BIG];
static exp_rec_t kp[5];
static const int64_t kp_ts = 1700000000000;

/* The records gen_kafka_python_batches.py writes (RECORDS there). */
static void init_kp(void) {
  static const char pat[] = "0123456789abcdefghijklmnopqrstuvwxyz-";
  for (int i = 0; i < KP_BIG; i++) kp_big[i] = (uint8_t)pat[i % (sizeof pat - 1)];
  static char v0[12 * 8 + 1], v1[20 * 4 + 1];
  v0[0] = v1[0] = 0;
  for (int i = 0; i < 8; i++) strcat(v0, "hello brook ");
  for (int i = 0; i < 4; i++) strcat(v1, "value with null key ");
  kp[0] = (exp_rec_t){kp_ts, S("key-0"), S(v0), 2, {{S("trace-id"), S("abc123")}, {S("empty"), S("")}}};
  kp[1] = (exp_rec_t){.ts = kp_ts + 5, .key = NUL, .value = S(v1)};
  kp[2] = (exp_rec_t){kp_ts - 3, S("tomb"), NUL, 1, {{S("null-valued"), NUL}}};
  kp[3] = (exp_rec_t){.ts = kp_ts + 1000, .key = S(""), .value = S("")};
  kp[4] = (exp_rec_t){kp_ts + 70000,
                      S("big"),
                      {kp_big, KP_BIG},
                      1,
                      {{S("utf8-\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87"),
                        S("\xd0\xb7\xd0\xbd\xd0\xb0\xd1\x87\xd0\xb5\xd0\xbd\xd0\xb8\xd0\xb5")}}};
}

static const struct {
  const char *file;
  int codec;
} golden[] = {
    {"kafka_python_none.bin", BROOK_CODEC_NONE},     {"kafka_python_gzip.bin", BROOK_CODEC_GZIP},
    {"kafka_python_snappy.bin", BROOK_CODEC_SNAPPY}, {"kafka_python_snappy_raw.bin", BROOK_CODEC_SNAPPY},
    {"kafka_python_lz4.bin", BROOK_CODEC_LZ4},       {"kafka_python_lz4_checksums.bin", BROOK_CODEC_LZ4},
    {"kafka_python_zstd.bin", BROOK_CODEC_ZSTD},     {"kafka_python_zstd_nosize.bin", BROOK_CODEC_ZSTD},
};

static void test_golden(gconstpointer data) {
  int idx = GPOINTER_TO_INT(data);
  size_t len;
  uint8_t *b = load_fixture(golden[idx].file, &len);
  brook_records_info_t info;
  brook_validate_opts_t opts = {.max_batch_bytes = 1 << 20, .check_records = true};
  g_assert_cmpint(brook_records_validate(b, len, &opts, &info), ==, BROOK_ERR_NONE);
  g_assert_cmpint(info.batch_count, ==, 1);
  g_assert_cmpint(info.record_count, ==, 5);
  g_assert_cmpint(info.codec, ==, golden[idx].codec);
  g_assert_cmpint(info.producer_id, ==, 4242);
  g_assert_cmpint(info.producer_epoch, ==, 3);
  g_assert_cmpint(info.first_sequence, ==, 17);
  g_assert_cmpint(info.last_sequence, ==, 21);
  g_assert_cmpint(info.first_timestamp, ==, kp_ts);
  g_assert_cmpint(info.max_timestamp, ==, kp_ts + 70000);
  check_records(b, len, kp, 5, 0, -1);

  /* Offsets assigned by the broker. */
  brook_batch_set_base_offset(b, 500);
  g_assert_cmpint(brook_records_validate(b, len, &opts, &info), ==, BROOK_ERR_NONE);
  check_records(b, len, kp, 5, 500, -1);

  /* Re-encoded with every codec and back: contents unchanged. */
  for (int c = 0; c < NCODECS; c++) {
    brook_buf_t re, back;
    brook_buf_init(&re);
    brook_buf_init(&back);
    g_assert_cmpint(brook_records_recompress(b, len, all_codecs[c], &re), ==, BROOK_ERR_NONE);
    g_assert_cmpint(brook_records_validate(re.data, re.len, &opts, &info), ==, BROOK_ERR_NONE);
    g_assert_cmpint(info.codec, ==, all_codecs[c]);
    g_assert_cmpint(info.producer_id, ==, 4242);
    check_records(re.data, re.len, kp, 5, 500, -1);
    g_assert_cmpint(brook_records_recompress(re.data, re.len, BROOK_CODEC_NONE, &back), ==, BROOK_ERR_NONE);
    check_records(back.data, back.len, kp, 5, 500, -1);
    brook_buf_free(&re);
    brook_buf_free(&back);
  }
  g_free(b);
}

/* The golden uncompressed batch is byte-identical to what our builder writes
 * for the same records and header fields (kafka-python sets leader epoch 0). */
static void test_golden_builder_bytes(void) {
  size_t len;
  uint8_t *want = load_fixture("kafka_python_none.bin", &len);
  brook_batch_builder_t b;
  brook_buf_t out;
  brook_buf_init(&out);
  brook_batch_builder_init(&b, BROOK_CODEC_NONE, kp_ts);
  b.producer_id = 4242;
  b.producer_epoch = 3;
  b.base_sequence = 17;
  add_all(&b, kp, 5);
  g_assert_cmpint(brook_batch_builder_finish(&b, &out), ==, BROOK_ERR_NONE);
  brook_batch_builder_free(&b);
  brook_batch_set_leader_epoch(out.data, 0);
  g_assert_cmpuint(out.len, ==, len);
  g_assert_true(memcmp(out.data, want, len) == 0);
  brook_buf_free(&out);
  g_free(want);
}

/* Our batches, read by kafka-python. */
static void hex_or_dash(GString *s, brook_bytes_t b) {
  if (b.len < 0) {
    g_string_append_c(s, '-');
    return;
  }
  if (b.len == 0) g_string_append(s, "''");
  for (int32_t i = 0; i < b.len; i++) g_string_append_printf(s, "%02x", b.ptr[i]);
}

static void test_kafka_python_reads_ours(void) {
  char *script = find_fixture("read_kafka_python_batches.py");
  g_assert_nonnull(script);
  if (!g_file_test("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)) {
    g_free(script);
    g_test_skip("no /usr/bin/python3");
    return;
  }
  char *argv0[] = {"/usr/bin/python3", script, NULL};
  char *outp = NULL;
  int status = 0;
  g_assert_true(
      g_spawn_sync(NULL, argv0, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &outp, NULL, &status, NULL));
  if (!g_spawn_check_wait_status(status, NULL) || !g_str_has_prefix(outp, "codecs: ")) {
    g_free(outp);
    g_free(script);
    g_test_skip("kafka-python (python3-kafka) not installed");
    return;
  }
  char **have = g_strsplit(g_strstrip(outp + 8), " ", -1);
  g_free(outp);
  char *dir = g_dir_make_tmp("brook-batch-XXXXXX", NULL);
  char *file = g_build_filename(dir, "batches.bin", NULL);
  for (int c = 0; c < NCODECS; c++) {
    if (!g_strv_contains((const char *const *)have, brook_codec_name(all_codecs[c]))) {
      g_test_message("kafka-python cannot decode %s here; not checked", brook_codec_name(all_codecs[c]));
      continue;
    }
    /* Two batches; the second with assigned offsets and LogAppendTime. */
    brook_buf_t out;
    brook_buf_init(&out);
    build(all_codecs[c], sample, 6, &out);
    size_t second = out.len;
    build(all_codecs[c], sample, 3, &out);
    brook_batch_set_base_offset(out.data + second, 6);
    brook_batch_set_log_append_time(out.data + second, 1800000000000);
    g_assert_true(g_file_set_contents(file, (const char *)out.data, (gssize)out.len, NULL));
    GString *want = g_string_new(NULL);
    for (int i = 0; i < 9; i++) {
      const exp_rec_t *r = &sample[i < 6 ? i : i - 6];
      g_string_append_printf(want, "%d %" G_GINT64_FORMAT " ", i, i < 6 ? r->ts : (gint64)1800000000000);
      hex_or_dash(want, r->key);
      g_string_append_c(want, ' ');
      hex_or_dash(want, r->value);
      for (int k = 0; k < r->nh; k++) {
        g_string_append_c(want, ' ');
        hex_or_dash(want, r->h[k].key);
        g_string_append_c(want, '=');
        hex_or_dash(want, r->h[k].value);
      }
      g_string_append_c(want, '\n');
    }
    char *argv[] = {"/usr/bin/python3", script, file, NULL};
    char *got = NULL;
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &got, NULL, &status, NULL));
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    const char *body = strchr(got, '\n');
    g_assert_nonnull(body);
    g_assert_cmpstr(body + 1, ==, want->str);
    g_free(got);
    g_string_free(want, TRUE);
    brook_buf_free(&out);
  }
  g_unlink(file);
  g_rmdir(dir);
  g_free(file);
  g_free(dir);
  g_strfreev(have);
  g_free(script);
}

/* ---- validation errors ---- */

static brook_err_t validate_copy(const brook_buf_t *good, size_t len, void (*mutate)(uint8_t *), bool crc,
                                 const brook_validate_opts_t *opts) {
  uint8_t *b = g_memdup2(good->data, good->len);
  if (mutate) mutate(b);
  if (crc) fix_crc(b);
  brook_records_info_t info;
  brook_err_t err = brook_records_validate(b, len, opts, &info);
  g_free(b);
  return err;
}

static void m_flip_record_byte(uint8_t *b) { b[BROOK_BATCH_HDR_SIZE + 3] ^= 0x01; }
static void m_flip_crc(uint8_t *b) { b[17] ^= 0x80; }
static void m_len_10(uint8_t *b) { brook_wr32(b + 8, 10); }
static void m_len_40(uint8_t *b) { brook_wr32(b + 8, 40); }
static void m_len_neg(uint8_t *b) { brook_wr32(b + 8, 0x80000000u); }
static void m_len_plus1(uint8_t *b) { brook_wr32(b + 8, brook_rd32(b + 8) + 1); }
static void m_magic0(uint8_t *b) { b[16] = 0; }
static void m_magic1(uint8_t *b) { b[16] = 1; }
static void m_magic3(uint8_t *b) { b[16] = 3; }
static void m_codec5(uint8_t *b) { b[22] = (uint8_t)((b[22] & ~7) | 5); }
static void m_codec7(uint8_t *b) { b[22] |= 7; }
static void m_count0(uint8_t *b) {
  brook_wr32(b + 57, 0);
  brook_wr32(b + 23, (uint32_t)-1);
}
static void m_count_mismatch(uint8_t *b) { brook_wr32(b + 57, 2); }
static void m_count_more(uint8_t *b) { /* consistent header, but 4 records claimed for 3 */
  brook_wr32(b + 57, 4);
  brook_wr32(b + 23, 3);
}
static void m_count_fewer(uint8_t *b) {
  brook_wr32(b + 57, 2);
  brook_wr32(b + 23, 1);
}
static void m_pid_no_seq(uint8_t *b) {
  brook_wr64(b + 43, 5);
  brook_wr32(b + 53, (uint32_t)-1);
}
static void m_record_len(uint8_t *b) { b[BROOK_BATCH_HDR_SIZE] = 0x7e; } /* first record length 63 */
static void m_record_absurd_varint(uint8_t *b) {
  /* First record's key length: 0xff 0xff ... never terminated within 10 bytes. */
  memset(b + BROOK_BATCH_HDR_SIZE + 4, 0xff, 11);
}

static void test_validate_errors(void) {
  brook_buf_t good;
  brook_buf_init(&good);
  exp_rec_t r[3] = {{.ts = 100, .key = S("a"), .value = S("alpha-value")},
                    {.ts = 101, .key = S("b"), .value = S("beta-value")},
                    {.ts = 102, .key = S("c"), .value = S("gamma-value")}};
  build(BROOK_CODEC_NONE, r, 3, &good);
  size_t n = good.len;
  const brook_validate_opts_t lax = {0, false};
  brook_validate_opts_t maxed = {.max_batch_bytes = (int32_t)n, .check_records = true};

  g_assert_cmpint(validate_copy(&good, n, NULL, false, &strict), ==, BROOK_ERR_NONE);
  g_assert_cmpint(validate_copy(&good, n, NULL, false, NULL), ==, BROOK_ERR_NONE);
  g_assert_cmpint(validate_copy(&good, n, NULL, false, &maxed), ==, BROOK_ERR_NONE);
  maxed.max_batch_bytes--;
  g_assert_cmpint(validate_copy(&good, n, NULL, false, &maxed), ==, BROOK_ERR_MESSAGE_TOO_LARGE);

  /* Framing. */
  g_assert_cmpint(validate_copy(&good, 0, NULL, false, &strict), ==, BROOK_ERR_INVALID_RECORD);
  g_assert_cmpint(validate_copy(&good, 11, NULL, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(validate_copy(&good, 16, NULL, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(validate_copy(&good, 60, NULL, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(validate_copy(&good, n - 1, NULL, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(validate_copy(&good, n, m_len_10, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(validate_copy(&good, n, m_len_40, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(validate_copy(&good, n, m_len_neg, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(validate_copy(&good, n, m_len_plus1, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  /* Magic. */
  g_assert_cmpint(validate_copy(&good, n, m_magic0, false, &strict), ==,
                  BROOK_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
  g_assert_cmpint(validate_copy(&good, n, m_magic1, false, &strict), ==,
                  BROOK_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
  g_assert_cmpint(validate_copy(&good, n, m_magic3, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  /* CRC. */
  g_assert_cmpint(validate_copy(&good, n, m_flip_record_byte, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(validate_copy(&good, n, m_flip_crc, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(validate_copy(&good, n, m_count0, false, &strict), ==, BROOK_ERR_CORRUPT_MESSAGE);
  /* Codec. */
  g_assert_cmpint(validate_copy(&good, n, m_codec5, true, &strict), ==,
                  BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE);
  g_assert_cmpint(validate_copy(&good, n, m_codec7, true, &strict), ==,
                  BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE);
  /* Counts. */
  g_assert_cmpint(validate_copy(&good, n, m_count0, true, &strict), ==, BROOK_ERR_INVALID_RECORD);
  g_assert_cmpint(validate_copy(&good, n, m_count_mismatch, true, &strict), ==, BROOK_ERR_INVALID_RECORD);
  g_assert_cmpint(validate_copy(&good, n, m_count_more, true, &strict), ==, BROOK_ERR_INVALID_RECORD);
  g_assert_cmpint(validate_copy(&good, n, m_count_fewer, true, &strict), ==, BROOK_ERR_INVALID_RECORD);
  /* ... which only the record walk can see. */
  g_assert_cmpint(validate_copy(&good, n, m_count_more, true, &lax), ==, BROOK_ERR_NONE);
  g_assert_cmpint(validate_copy(&good, n, m_count_fewer, true, &lax), ==, BROOK_ERR_NONE);
  /* Sequence. */
  g_assert_cmpint(validate_copy(&good, n, m_pid_no_seq, true, &strict), ==, BROOK_ERR_INVALID_RECORD);
  /* Record framing. */
  g_assert_cmpint(validate_copy(&good, n, m_record_len, true, &strict), ==, BROOK_ERR_INVALID_RECORD);
  g_assert_cmpint(validate_copy(&good, n, m_record_absurd_varint, true, &strict), ==,
                  BROOK_ERR_INVALID_RECORD);
  g_assert_cmpint(validate_copy(&good, n, m_record_len, true, &lax), ==, BROOK_ERR_NONE);

  /* Several batches: trailing garbage, a truncated second batch, mixed producers. */
  brook_buf_t two;
  brook_buf_init(&two);
  brook_buf_put(&two, good.data, n);
  brook_buf_put(&two, good.data, n);
  brook_records_info_t info;
  g_assert_cmpint(brook_records_validate(two.data, two.len, &strict, &info), ==, BROOK_ERR_NONE);
  g_assert_cmpint(info.batch_count, ==, 2);
  g_assert_cmpint(info.record_count, ==, 6);
  g_assert_cmpint(brook_records_validate(two.data, n + 5, &strict, &info), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(brook_records_validate(two.data, 2 * n - 1, &strict, &info), ==, BROOK_ERR_CORRUPT_MESSAGE);
  brook_wr64(two.data + n + 43, 9);
  brook_wr32(two.data + n + 53, 0);
  fix_crc(two.data + n);
  g_assert_cmpint(brook_records_validate(two.data, two.len, &strict, &info), ==, BROOK_ERR_INVALID_RECORD);
  brook_buf_free(&two);

  /* A compressed batch is not inflated by validation: garbage inside passes
   * the produce check (as its CRC is right) and fails at iteration. */
  brook_buf_t z;
  brook_buf_init(&z);
  build(BROOK_CODEC_ZSTD, r, 3, &z);
  memset(z.data + BROOK_BATCH_HDR_SIZE, 0x5a, z.len - BROOK_BATCH_HDR_SIZE);
  fix_crc(z.data);
  g_assert_cmpint(brook_records_validate(z.data, z.len, &strict, &info), ==, BROOK_ERR_NONE);
  brook_batch_iter_t it;
  g_assert_cmpint(brook_batch_iter_init(&it, z.data, z.len), ==, BROOK_ERR_CORRUPT_MESSAGE);
  brook_record_t rec;
  g_assert_cmpint(brook_batch_iter_next(&it, &rec), ==, -1);
  brook_batch_iter_free(&it);
  brook_buf_free(&z);
  brook_buf_free(&good);
}

/* ---- rewrites ---- */

static void test_rewrite_offsets(void) {
  for (int c = 0; c < NCODECS; c++) {
    brook_buf_t out;
    brook_buf_init(&out);
    build(all_codecs[c], sample, 6, &out);
    uint32_t crc = brook_rd32(out.data + 17);
    brook_batch_set_base_offset(out.data, 1234567890123);
    brook_batch_set_leader_epoch(out.data, 42);
    g_assert_cmphex(brook_rd32(out.data + 17), ==, crc);
    brook_records_info_t info;
    g_assert_cmpint(brook_records_validate(out.data, out.len, &strict, &info), ==, BROOK_ERR_NONE);
    brook_batch_hdr_t h;
    brook_batch_hdr_parse(out.data, &h);
    g_assert_cmpint(h.base_offset, ==, 1234567890123);
    g_assert_cmpint(h.partition_leader_epoch, ==, 42);
    g_assert_cmpint(brook_batch_last_offset(&h), ==, 1234567890123 + 5);
    check_records(out.data, out.len, sample, 6, 1234567890123, -1);
    brook_buf_free(&out);
  }
}

static void test_rewrite_log_append_time(void) {
  for (int c = 0; c < NCODECS; c++) {
    brook_buf_t out;
    brook_buf_init(&out);
    build(all_codecs[c], sample, 6, &out);
    const int64_t now = 1800000000123;
    brook_batch_set_log_append_time(out.data, now);
    brook_records_info_t info;
    g_assert_cmpint(brook_records_validate(out.data, out.len, &strict, &info), ==, BROOK_ERR_NONE);
    g_assert_cmpint(info.max_timestamp, ==, now);
    brook_batch_hdr_t h;
    brook_batch_hdr_parse(out.data, &h);
    g_assert_cmpint(h.attributes, ==, all_codecs[c] | BROOK_BATCH_ATTR_LOG_APPEND_TIME);
    g_assert_cmpint(h.max_timestamp, ==, now);
    g_assert_cmpint(h.base_timestamp, ==, now);
    check_records(out.data, out.len, sample, 6, 0, now);
    brook_buf_free(&out);
  }
}

/* ---- recompression ---- */

static void test_recompress(void) {
  /* Three batches: two data batches and an uncompressed control batch. */
  brook_buf_t orig;
  brook_buf_init(&orig);
  build(BROOK_CODEC_NONE, sample, 6, &orig);
  size_t b2 = orig.len;
  build(BROOK_CODEC_NONE, sample + 1, 3, &orig);
  brook_batch_set_base_offset(orig.data + b2, 6);
  size_t b3 = orig.len;
  brook_batch_builder_t cb;
  brook_batch_builder_init(&cb, BROOK_CODEC_NONE, 1);
  cb.extra_attributes = BROOK_BATCH_ATTR_CONTROL;
  brook_batch_builder_add(&cb, 1, S("ctl"), S("marker"));
  g_assert_cmpint(brook_batch_builder_finish(&cb, &orig), ==, BROOK_ERR_NONE);
  brook_batch_builder_free(&cb);
  brook_batch_set_base_offset(orig.data + b3, 9);

  for (int c = 0; c < NCODECS; c++) {
    brook_buf_t re, back;
    brook_buf_init(&re);
    brook_buf_init(&back);
    g_assert_cmpint(brook_records_recompress(orig.data, orig.len, all_codecs[c], &re), ==, BROOK_ERR_NONE);
    brook_records_info_t info;
    g_assert_cmpint(brook_records_validate(re.data, re.len, &strict, &info), ==, BROOK_ERR_NONE);
    g_assert_cmpint(info.batch_count, ==, 3);
    g_assert_cmpint(info.record_count, ==, 10);
    g_assert_cmpint(info.codec, ==, all_codecs[c]);
    brook_batch_hdr_t h;
    brook_batch_hdr_parse(re.data, &h);
    check_records(re.data, (size_t)brook_batch_size(&h), sample, 6, 0, -1);
    size_t at = (size_t)brook_batch_size(&h);
    brook_batch_hdr_parse(re.data + at, &h);
    g_assert_cmpint(h.base_offset, ==, 6);
    check_records(re.data + at, (size_t)brook_batch_size(&h), sample + 1, 3, 6, -1);
    at += (size_t)brook_batch_size(&h);
    brook_batch_hdr_parse(re.data + at, &h);
    g_assert_cmpint(h.attributes, ==, BROOK_BATCH_ATTR_CONTROL); /* control batch left uncompressed */
    /* And back: byte for byte the original. */
    g_assert_cmpint(brook_records_recompress(re.data, re.len, BROOK_CODEC_NONE, &back), ==, BROOK_ERR_NONE);
    g_assert_cmpuint(back.len, ==, orig.len);
    g_assert_true(memcmp(back.data, orig.data, orig.len) == 0);
    brook_buf_free(&re);
    brook_buf_free(&back);
  }
  brook_buf_t out;
  brook_buf_init(&out);
  brook_buf_put(&out, "keep", 4);
  g_assert_cmpint(brook_records_recompress(orig.data, orig.len, 6, &out), ==,
                  BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE);
  g_assert_cmpint(brook_records_recompress(orig.data, orig.len - 1, BROOK_CODEC_GZIP, &out), ==,
                  BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpuint(out.len, ==, 4); /* nothing half-written */
  brook_buf_free(&out);
  brook_buf_free(&orig);
}

/* ---- codecs on bad input ---- */

static void test_codec_names(void) {
  for (int c = 0; c < NCODECS; c++)
    g_assert_cmpint(brook_codec_from_name(brook_codec_name(all_codecs[c])), ==, all_codecs[c]);
  g_assert_cmpint(brook_codec_from_name("uncompressed"), ==, BROOK_CODEC_NONE);
  g_assert_cmpint(brook_codec_from_name("producer"), ==, -1);
  g_assert_cmpint(brook_codec_from_name("brotli"), ==, -1);
  g_assert_cmpint(brook_codec_from_name(NULL), ==, -1);
  g_assert_cmpstr(brook_codec_name(7), ==, "unknown");
}

static void test_codec_malformed(void) {
  GRand *r = g_rand_new_with_seed(3);
  enum { PLAIN = 300000 };
  uint8_t *plain = g_malloc(PLAIN);
  for (int i = 0; i < PLAIN; i++) plain[i] = i % 1000 < 600 ? (uint8_t)(i % 7) : (uint8_t)g_rand_int(r);
  brook_buf_t out;
  brook_buf_init(&out);
  for (int c = 1; c < NCODECS; c++) {
    int codec = all_codecs[c];
    brook_buf_t z;
    brook_buf_init(&z);
    g_assert_cmpint(brook_compress(codec, plain, PLAIN, &z), ==, BROOK_ERR_NONE);
    brook_buf_reset(&out);
    g_assert_cmpint(brook_decompress(codec, z.data, z.len, &out), ==, BROOK_ERR_NONE);
    g_assert_cmpuint(out.len, ==, PLAIN);
    g_assert_true(memcmp(out.data, plain, PLAIN) == 0);
    /* The bound: exactly enough is fine, one byte less is refused. */
    brook_buf_reset(&out);
    g_assert_cmpint(brook_decompress_bounded(codec, z.data, z.len, PLAIN, &out), ==, BROOK_ERR_NONE);
    brook_buf_reset(&out);
    g_assert_cmpint(brook_decompress_bounded(codec, z.data, z.len, PLAIN - 1, &out), ==,
                    BROOK_ERR_MESSAGE_TOO_LARGE);
    g_assert_cmpuint(out.len, ==, 0);
    /* Empty, truncated at many points, and garbage: errors, out untouched. */
    brook_buf_reset(&out);
    brook_buf_put(&out, "xy", 2);
    g_assert_cmpint(brook_decompress(codec, z.data, 0, &out), !=, BROOK_ERR_NONE);
    for (size_t cut = 0; cut < z.len; cut += 1 + cut / 8) {
      brook_err_t err = brook_decompress(codec, z.data, cut, &out);
      /* xerial framing has no end mark: a cut between blocks is a valid prefix. */
      if (codec != BROOK_CODEC_SNAPPY) g_assert_cmpint(err, !=, BROOK_ERR_NONE);
      if (err) g_assert_cmpuint(out.len, ==, 2);
      out.len = 2;
    }
    for (int i = 0; i < 200; i++) {
      size_t n = g_rand_int_range(r, 1, 4096);
      uint8_t *g = g_malloc(n);
      for (size_t k = 0; k < n; k++) g[k] = (uint8_t)g_rand_int(r);
      /* Keep a valid-looking start now and then, to get past magic checks. */
      if (i % 2) memcpy(g, z.data, MIN(n, (size_t)g_rand_int_range(r, 0, 32)));
      brook_err_t err = brook_decompress(codec, g, n, &out);
      if (err) g_assert_cmpuint(out.len, ==, 2);
      out.len = 2;
      g_free(g);
    }
    /* Bit flips in a valid stream: an error or some output, never a crash. */
    for (int i = 0; i < 300; i++) {
      uint8_t *m = g_memdup2(z.data, z.len);
      m[g_rand_int_range(r, 0, (gint32)z.len)] ^= (uint8_t)(1u << g_rand_int_range(r, 0, 8));
      (void)brook_decompress(codec, m, z.len, &out);
      out.len = 2;
      g_free(m);
    }
    brook_buf_free(&z);
  }
  /* Unknown codec. */
  g_assert_cmpint(brook_compress(5, plain, 10, &out), ==, BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE);
  g_assert_cmpint(brook_decompress(7, plain, 10, &out), ==, BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE);

  /* Snappy specifics: a raw block declaring 4 GiB in 6 bytes (no snappy
   * stream expands that much); a raw block over the bound; xerial block running past the end. */
  static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  brook_buf_reset(&out);
  g_assert_cmpint(brook_decompress(BROOK_CODEC_SNAPPY, huge, sizeof huge, &out), ==,
                  BROOK_ERR_CORRUPT_MESSAGE);
  size_t rawlen;
  uint8_t *raw = load_fixture("kafka_python_snappy_raw.bin", &rawlen);
  g_assert_cmpint(brook_decompress_bounded(BROOK_CODEC_SNAPPY, raw + BROOK_BATCH_HDR_SIZE,
                                           rawlen - BROOK_BATCH_HDR_SIZE, 1000, &out),
                  ==, BROOK_ERR_MESSAGE_TOO_LARGE);
  g_assert_cmpuint(out.len, ==, 0);
  g_free(raw);
  uint8_t x[24] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3, 4};
  g_assert_cmpint(brook_decompress(BROOK_CODEC_SNAPPY, x, sizeof x, &out), ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(brook_decompress(BROOK_CODEC_SNAPPY, x, 18, &out), ==, BROOK_ERR_CORRUPT_MESSAGE);
  /* Header only: an empty xerial stream is valid and empty. */
  g_assert_cmpint(brook_decompress(BROOK_CODEC_SNAPPY, x, 16, &out), ==, BROOK_ERR_NONE);
  g_assert_cmpuint(out.len, ==, 0);

  /* A decompression bomb: 16 MiB of zeros compresses to almost nothing; the
   * default bound for that input lets it through, a tight one does not. */
  for (int c = 1; c < NCODECS; c++) {
    size_t n = (size_t)16 << 20;
    uint8_t *zeros = g_malloc0(n);
    brook_buf_t z;
    brook_buf_init(&z);
    g_assert_cmpint(brook_compress(all_codecs[c], zeros, n, &z), ==, BROOK_ERR_NONE);
    brook_buf_reset(&out);
    g_assert_cmpint(brook_decompress_bounded(all_codecs[c], z.data, z.len, 1 << 20, &out), ==,
                    BROOK_ERR_MESSAGE_TOO_LARGE);
    g_assert_cmpuint(out.len, ==, 0);
    g_assert_cmpint(brook_decompress(all_codecs[c], z.data, z.len, &out), ==, BROOK_ERR_NONE);
    g_assert_cmpuint(out.len, ==, n);
    brook_buf_free(&z);
    g_free(zeros);
  }
  g_assert_cmpuint(brook_decompress_limit(1), ==, (size_t)64 << 20);
  g_assert_cmpuint(brook_decompress_limit(1 << 20), ==, (size_t)1 << 30);
  g_assert_cmpuint(brook_decompress_limit((size_t)1 << 31), ==, (size_t)1 << 30);
  brook_buf_free(&out);
  g_free(plain);
  g_rand_free(r);
}

/* ---- iterating malformed batches ---- */

/* Wraps a records blob in a batch header (codec none) with a correct CRC. */
static void make_batch(brook_buf_t *out, const uint8_t *recs, size_t n, int32_t count) {
  brook_buf_reset(out);
  brook_buf_put_i64(out, 0);
  brook_buf_put_i32(out, (int32_t)(BROOK_BATCH_HDR_SIZE - BROOK_BATCH_LOG_OVERHEAD + n));
  brook_buf_put_i32(out, 0);
  brook_buf_put_i8(out, 2);
  brook_buf_put_u32(out, 0);
  brook_buf_put_i16(out, 0);
  brook_buf_put_i32(out, count - 1);
  brook_buf_put_i64(out, 0);
  brook_buf_put_i64(out, 0);
  brook_buf_put_i64(out, -1);
  brook_buf_put_i16(out, -1);
  brook_buf_put_i32(out, -1);
  brook_buf_put_i32(out, count);
  brook_buf_put(out, recs, n);
  fix_crc(out->data);
}

static int iterate_all(const uint8_t *b, size_t n, brook_err_t *err) {
  brook_batch_iter_t it;
  brook_record_t rec;
  int rc, count = 0;
  brook_batch_iter_init(&it, b, n);
  while ((rc = brook_batch_iter_next(&it, &rec)) == 1) {
    /* Touch every byte handed out, so ASan sees any overrun. */
    volatile uint8_t sink = 0;
    for (int32_t i = 0; i < rec.key.len; i++) sink ^= rec.key.ptr[i];
    for (int32_t i = 0; i < rec.value.len; i++) sink ^= rec.value.ptr[i];
    for (size_t i = 0; i < rec.headers_len; i++) sink ^= rec.headers[i];
    (void)sink;
    count++;
  }
  *err = it.err;
  brook_batch_iter_free(&it);
  return rc < 0 ? -1 : count;
}

static void test_iter_malformed(void) {
  brook_buf_t b;
  brook_buf_init(&b);
  brook_err_t err;
  /* A good record for reference: len 7: attrs 0, ts 0, off 0, key -1, value -1, headers 0. */
  static const uint8_t ok[] = {0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00};
  make_batch(&b, ok, sizeof ok, 1);
  g_assert_cmpint(iterate_all(b.data, b.len, &err), ==, 1);
  g_assert_cmpint(err, ==, BROOK_ERR_NONE);

  static const struct {
    const char *what;
    uint8_t rec[16];
    size_t n;
    int32_t count;
  } bad[] = {
      {"length varint never ends", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 11, 1},
      {"negative length", {0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00}, 7, 1},
      {"length past the end", {0x20, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00}, 7, 1},
      {"key length -3", {0x0c, 0x00, 0x00, 0x00, 0x05, 0x01, 0x00}, 7, 1},
      {"key longer than record", {0x0c, 0x00, 0x00, 0x00, 0x7e, 0x01, 0x00}, 7, 1},
      {"header count 2^31", {0x14, 0x00, 0x00, 0x00, 0x01, 0x01, 0xfe, 0xff, 0xff, 0xff, 0x0f}, 11, 1},
      {"header count negative", {0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x03}, 7, 1},
      {"header null key", {0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x01}, 9, 1},
      {"record shorter than its length", {0x0e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00}, 8, 1},
      {"offset delta beyond int32",
       {0x14, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, 0x1f, 0x01, 0x01, 0x00},
       11,
       1},
      {"more records claimed", {0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00}, 7, 2},
      {"bytes after the records", {0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00}, 8, 1},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    make_batch(&b, bad[i].rec, bad[i].n, bad[i].count);
    g_test_message("case: %s", bad[i].what);
    g_assert_cmpint(iterate_all(b.data, b.len, &err), ==, -1);
    g_assert_cmpint(err, ==, BROOK_ERR_INVALID_RECORD);
    brook_records_info_t info;
    g_assert_cmpint(brook_records_validate(b.data, b.len, &strict, &info), ==, BROOK_ERR_INVALID_RECORD);
  }
  /* Header-level problems. */
  make_batch(&b, ok, sizeof ok, 1);
  g_assert_cmpint(iterate_all(b.data, 60, &err), ==, -1);
  g_assert_cmpint(err, ==, BROOK_ERR_CORRUPT_MESSAGE);
  g_assert_cmpint(iterate_all(b.data, b.len - 1, &err), ==, -1);
  g_assert_cmpint(err, ==, BROOK_ERR_CORRUPT_MESSAGE);
  b.data[16] = 1;
  g_assert_cmpint(iterate_all(b.data, b.len, &err), ==, -1);
  g_assert_cmpint(err, ==, BROOK_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
  b.data[16] = 2;
  b.data[22] |= 6;
  g_assert_cmpint(iterate_all(b.data, b.len, &err), ==, -1);
  g_assert_cmpint(err, ==, BROOK_ERR_UNSUPPORTED_COMPRESSION_TYPE);

  /* Random mutation of real batches of every codec (CRC fixed so validation
   * passes the bytes on): iteration must end cleanly, whatever it finds. */
  GRand *r = g_rand_new_with_seed(11);
  exp_rec_t small[4] = {{1, S("a"), S("one"), 1, {{S("h"), S("v")}}},
                        {.ts = 2, .key = NUL, .value = S("two two two two")},
                        {.ts = 3, .key = S("c"), .value = NUL},
                        {4, S("dd"), S("four"), 2, {{S("x"), NUL}, {S("y"), S("")}}}};
  for (int c = 0; c < NCODECS; c++) {
    brook_buf_t good;
    brook_buf_init(&good);
    build(all_codecs[c], small, 4, &good);
    for (int i = 0; i < 1500; i++) {
      uint8_t *m = g_memdup2(good.data, good.len);
      int flips = g_rand_int_range(r, 1, 4);
      for (int k = 0; k < flips; k++) {
        size_t at = g_rand_int_range(r, BROOK_BATCH_HDR_SIZE, (gint32)good.len);
        m[at] = (i % 3 == 0) ? (uint8_t)g_rand_int(r) : (uint8_t)(m[at] ^ (1u << g_rand_int_range(r, 0, 8)));
      }
      if (i % 5 == 0) brook_wr32(m + 57, (uint32_t)g_rand_int_range(r, -2, 10));
      fix_crc(m);
      size_t n = (i % 7 == 0) ? (size_t)g_rand_int_range(r, 0, (gint32)good.len + 1) : good.len;
      brook_records_info_t info;
      (void)brook_records_validate(m, n, &strict, &info);
      (void)iterate_all(m, n, &err);
      brook_buf_t re;
      brook_buf_init(&re);
      (void)brook_records_recompress(m, n, all_codecs[(c + 1) % NCODECS], &re);
      brook_buf_free(&re);
      g_free(m);
    }
    brook_buf_free(&good);
  }
  g_rand_free(r);
  brook_buf_free(&b);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  init_sample();
  init_kp();
  g_test_add_func("/broker/batch/crc32c/vectors", test_crc_vectors);
  g_test_add_func("/broker/batch/crc32c/hw-vs-portable", test_crc_hw_vs_portable);
  for (int c = 0; c < NCODECS; c++) {
    char *path = g_strdup_printf("/broker/batch/roundtrip/%s", brook_codec_name(all_codecs[c]));
    g_test_add_data_func(path, GINT_TO_POINTER(all_codecs[c]), test_roundtrip);
    g_free(path);
  }
  g_test_add_func("/broker/batch/builder/fields", test_builder_fields);
  for (size_t i = 0; i < G_N_ELEMENTS(golden); i++) {
    char *name = g_strndup(golden[i].file + strlen("kafka_python_"),
                           strlen(golden[i].file) - strlen("kafka_python_") - strlen(".bin"));
    char *path = g_strdup_printf("/broker/batch/golden/kafka-python/%s", name);
    g_test_add_data_func(path, GINT_TO_POINTER((int)i), test_golden);
    g_free(path);
    g_free(name);
  }
  g_test_add_func("/broker/batch/golden/kafka-python/builder-bytes", test_golden_builder_bytes);
  g_test_add_func("/broker/batch/golden/kafka-python/reads-ours", test_kafka_python_reads_ours);
  g_test_add_func("/broker/batch/validate/errors", test_validate_errors);
  g_test_add_func("/broker/batch/rewrite/offsets", test_rewrite_offsets);
  g_test_add_func("/broker/batch/rewrite/log-append-time", test_rewrite_log_append_time);
  g_test_add_func("/broker/batch/recompress", test_recompress);
  g_test_add_func("/broker/batch/codec/names", test_codec_names);
  g_test_add_func("/broker/batch/codec/malformed", test_codec_malformed);
  g_test_add_func("/broker/batch/iter/malformed", test_iter_malformed);
  return g_test_run();
}
