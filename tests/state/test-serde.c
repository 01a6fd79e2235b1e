/*
 * test-serde.c — built-in serdes against golden bytes, round trips, null
 * handling, error cases, custom serdes, and the docs/serdes.md example (which
 * is compiled and run here, and compared with the doc's text so the doc stays
 * honest).
 *
 * Golden bytes: integers/double/strings were cross-checked with
 * confluent-kafka-python 1.7's IntegerSerializer / DoubleSerializer /
 * StringSerializer (same wire format as the Java classes); longs and windowed
 * keys follow the Java source (LongSerializer, WindowKeySchema.toBinary,
 * SessionKeySchema.toBinary in apache/kafka).
 */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "brook_serde.h"

/* ---- helpers ---- */

static void assert_bytes(const brook_serde_buf_t *buf, const char *hex) {
  g_assert_false(buf->is_null);
  GString *got = g_string_new(NULL);
  for (size_t i = 0; i < buf->len; i++) g_string_append_printf(got, "%02x", buf->data[i]);
  g_assert_cmpstr(got->str, ==, hex);
  g_string_free(got, TRUE);
}

static GByteArray *unhex(const char *hex) {
  GByteArray *b = g_byte_array_new();
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
    guint8 v = (guint8)(g_ascii_xdigit_value(hex[i]) * 16 + g_ascii_xdigit_value(hex[i + 1]));
    g_byte_array_append(b, &v, 1);
  }
  return b;
}

/* Serializes `value` and compares with `hex`; then deserializes the bytes and
 * returns the value (transfer full). */
static void *round_trip(brook_serde_t *serde, const void *value, const char *hex) {
  char errstr[256] = "";
  brook_serde_buf_t buf = BROOK_SERDE_BUF_INIT;
  g_assert_cmpint(brook_serde_serialize(serde, "t", value, &buf, errstr, sizeof errstr), ==, BROOK_ERR_NONE);
  assert_bytes(&buf, hex);
  void *back = NULL;
  /* a non-NULL pointer even for zero bytes: empty is not null */
  static const uint8_t empty[1];
  g_assert_cmpint(
      brook_serde_deserialize(serde, "t", buf.len ? buf.data : empty, buf.len, &back, errstr, sizeof errstr),
      ==, BROOK_ERR_NONE);
  g_assert_nonnull(back);
  brook_serde_buf_clear(&buf);
  return back;
}

static void expect_malformed(brook_serde_t *serde, const char *hex, const char *msg_part) {
  GByteArray *b = unhex(hex);
  static const uint8_t empty[1];
  char errstr[256] = "";
  void *v = (void *)0x1;
  brook_err_t err =
      brook_serde_deserialize(serde, "t", b->len ? b->data : empty, b->len, &v, errstr, sizeof errstr);
  if (g_test_verbose()) g_printerr("    %s(%s): %s\n", brook_serde_name(serde), hex, errstr);
  g_assert_cmpint(err, ==, BROOK_ERR__MALFORMED);
  g_assert_null(v);
  g_assert_nonnull(strstr(errstr, msg_part));
  g_byte_array_unref(b);
}

/* ---- integers and doubles ---- */

static void test_i32(void) {
  brook_serde_t *serde = brook_serde_i32_new();
  g_assert_cmpstr(brook_serde_name(serde), ==, "i32");
  static const struct {
    int32_t v;
    const char *hex;
  } cases[] = {{1, "00000001"},         {-1, "ffffffff"},        {0, "00000000"},
               {INT32_MAX, "7fffffff"}, {INT32_MIN, "80000000"}, {256, "00000100"}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    int32_t *back = round_trip(serde, &cases[i].v, cases[i].hex);
    g_assert_cmpint(*back, ==, cases[i].v);
    brook_serde_free_value(serde, back);
  }
  expect_malformed(serde, "", "size of data received is 0, not 4");
  expect_malformed(serde, "000001", "is 3, not 4");
  expect_malformed(serde, "0000000001", "is 5, not 4");
  brook_serde_unref(serde);
}

static void test_i64(void) {
  brook_serde_t *serde = brook_serde_i64_new();
  static const struct {
    int64_t v;
    const char *hex;
  } cases[] = {{1, "0000000000000001"},
               {-2, "fffffffffffffffe"},
               {INT64_C(1700000000000), "0000018bcfe56800"},
               {INT64_MAX, "7fffffffffffffff"},
               {INT64_MIN, "8000000000000000"}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    int64_t *back = round_trip(serde, &cases[i].v, cases[i].hex);
    g_assert_cmpint(*back, ==, cases[i].v);
    brook_serde_free_value(serde, back);
  }
  expect_malformed(serde, "00000001", "is 4, not 8");
  brook_serde_unref(serde);
}

static void test_double(void) {
  brook_serde_t *serde = brook_serde_double_new();
  static const struct {
    double v;
    const char *hex;
  } cases[] = {{1.5, "3ff8000000000000"},
               {-0.0, "8000000000000000"},
               {0.1, "3fb999999999999a"},
               {INFINITY, "7ff0000000000000"},
               {-2.0, "c000000000000000"}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    double *back = round_trip(serde, &cases[i].v, cases[i].hex);
    g_assert_true(memcmp(back, &cases[i].v, sizeof(double)) == 0); /* bit-exact, -0.0 included */
    brook_serde_free_value(serde, back);
  }
  /* Every NaN goes out as Java's canonical NaN (doubleToLongBits). */
  uint64_t payload_nan_bits = UINT64_C(0x7ff0000000000123);
  double payload_nan;
  memcpy(&payload_nan, &payload_nan_bits, sizeof payload_nan);
  g_assert_true(isnan(payload_nan));
  double *back = round_trip(serde, &payload_nan, "7ff8000000000000");
  g_assert_true(isnan(*back));
  brook_serde_free_value(serde, back);
  expect_malformed(serde, "3ff8", "is 2, not 8");
  brook_serde_unref(serde);
}

/* ---- strings and bytes ---- */

static void test_string(void) {
  brook_serde_t *serde = brook_serde_string_new();
  static const struct {
    const char *v;
    const char *hex;
  } cases[] = {{"h\xc3\xa9llo", "68c3a96c6c6f"},             /* héllo */
               {"\xe6\x97\xa5\xe6\x9c\xac", "e697a5e69cac"}, /* 日本 */
               {"\xf0\x9f\x98\x80", "f09f9880"},             /* 😀 (4-byte) */
               {"", ""}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *back = round_trip(serde, cases[i].v, cases[i].hex);
    g_assert_cmpstr(back, ==, cases[i].v);
    brook_serde_free_value(serde, back);
  }
  expect_malformed(serde, "c328", "invalid UTF-8 at byte 0 of 2");    /* bad continuation */
  expect_malformed(serde, "6180", "invalid UTF-8 at byte 1 of 2");    /* lone continuation */
  expect_malformed(serde, "c0af", "invalid UTF-8");                   /* overlong '/' */
  expect_malformed(serde, "eda080", "invalid UTF-8");                 /* UTF-16 surrogate */
  expect_malformed(serde, "f09f98", "invalid UTF-8");                 /* truncated 4-byte */
  expect_malformed(serde, "610062", "NUL byte; use the bytes serde"); /* embedded NUL */
  brook_serde_unref(serde);
}

static void test_bytes(void) {
  brook_serde_t *serde = brook_serde_bytes_new();
  static const uint8_t raw[] = {0x00, 0xff, 0x10, 0x00};
  brook_serde_bytes_t in = {raw, sizeof raw};
  brook_serde_bytes_t *back = round_trip(serde, &in, "00ff1000");
  g_assert_cmpmem(back->data, back->len, raw, sizeof raw);
  brook_serde_free_value(serde, back);
  brook_serde_bytes_t empty = {NULL, 0};
  back = round_trip(serde, &empty, "");
  g_assert_cmpuint(back->len, ==, 0);
  brook_serde_free_value(serde, back);
  brook_serde_unref(serde);
}

/* ---- null handling ---- */

static void test_null(void) {
  brook_serde_t *all[] = {brook_serde_bytes_new(),
                          brook_serde_string_new(),
                          brook_serde_i32_new(),
                          brook_serde_i64_new(),
                          brook_serde_double_new(),
                          brook_serde_void_new(),
                          brook_serde_json_new(),
                          NULL,
                          NULL};
  all[7] = brook_serde_time_windowed_new(brook_serde_ref(all[1]), 10);
  all[8] = brook_serde_session_windowed_new(brook_serde_ref(all[2]));
  char errstr[128];
  brook_serde_buf_t buf = BROOK_SERDE_BUF_INIT;
  for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
    brook_serde_buf_append(&buf, "junk", 4); /* serialize resets */
    g_assert_cmpint(brook_serde_serialize(all[i], "t", NULL, &buf, errstr, sizeof errstr), ==,
                    BROOK_ERR_NONE);
    g_assert_true(buf.is_null);
    g_assert_cmpuint(buf.len, ==, 0);
    void *v = (void *)0x1;
    g_assert_cmpint(brook_serde_deserialize(all[i], "t", NULL, 0, &v, errstr, sizeof errstr), ==,
                    BROOK_ERR_NONE);
    g_assert_null(v);
    brook_serde_free_value(all[i], NULL); /* no-op */
  }
  /* void: whatever the value, null goes out; non-null bytes are an error. */
  int32_t x = 7;
  g_assert_cmpint(brook_serde_serialize(all[5], "t", &x, &buf, errstr, sizeof errstr), ==, BROOK_ERR_NONE);
  g_assert_true(buf.is_null);
  expect_malformed(all[5], "", "void: data should be null, got 0 bytes");
  expect_malformed(all[5], "01", "got 1 bytes");
  brook_serde_buf_clear(&buf);
  for (size_t i = 0; i < G_N_ELEMENTS(all); i++) brook_serde_unref(all[i]);
}

/* ---- JSON ---- */

static void test_json(void) {
  brook_serde_t *serde = brook_serde_json_new();
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "a");
  json_builder_add_int_value(b, 1);
  json_builder_set_member_name(b, "b");
  json_builder_begin_array(b);
  json_builder_add_boolean_value(b, TRUE);
  json_builder_add_null_value(b);
  json_builder_add_string_value(b, "\xc3\xa9\"");
  json_builder_end_array(b);
  json_builder_end_object(b);
  JsonNode *node = json_builder_get_root(b);
  g_object_unref(b);
  /* {"a":1,"b":[true,null,"é\""]} compact, UTF-8 kept as is */
  JsonNode *back = round_trip(serde, node, "7b2261223a312c2262223a5b747275652c6e756c6c2c22c3a95c22225d7d");
  g_assert_true(json_node_equal(node, back));
  g_assert_cmpint(json_object_get_int_member(json_node_get_object(back), "a"), ==, 1);
  brook_serde_free_value(serde, back);
  json_node_unref(node);

  /* Scalars are documents too. */
  JsonNode *num = json_node_init_double(json_node_alloc(), 1.5);
  back = round_trip(serde, num, "312e35");
  g_assert_cmpfloat(json_node_get_double(back), ==, 1.5);
  brook_serde_free_value(serde, back);
  json_node_unref(num);

  expect_malformed(serde, "7b", "json:");           /* "{" */
  expect_malformed(serde, "7b2261223a7d", "json:"); /* {"a":} */
  expect_malformed(serde, "", "json: empty document");
  expect_malformed(serde, "22c32822", "invalid UTF-8"); /* "\xc3(" */
  brook_serde_unref(serde);
}

/* ---- windowed keys ---- */

static void test_time_windowed(void) {
  brook_serde_t *serde = brook_serde_time_windowed_new(brook_serde_string_new(), 100);
  g_assert_cmpstr(brook_serde_name(serde), ==, "time_windowed<string>");
  brook_windowed_t wk = {.key = "ab", .start = 1, .end = 101};
  brook_windowed_t *back = round_trip(serde, &wk, "61620000000000000001");
  g_assert_cmpstr(back->key, ==, "ab");
  g_assert_cmpint(back->start, ==, 1);
  g_assert_cmpint(back->end, ==, 101); /* start + window size */
  brook_serde_free_value(serde, back);
  /* Window size unknown → Long.MAX_VALUE, end saturates. */
  brook_serde_t *unbounded = brook_serde_time_windowed_new(brook_serde_string_new(), INT64_MAX);
  wk = (brook_windowed_t){.key = "", .start = 1700000000000, .end = 0};
  back = round_trip(unbounded, &wk, "0000018bcfe56800");
  g_assert_cmpstr(back->key, ==, "");
  g_assert_cmpint(back->end, ==, INT64_MAX);
  brook_serde_free_value(unbounded, back);
  brook_serde_unref(unbounded);

  expect_malformed(serde, "61000000", "shorter than the 8-byte window suffix");
  expect_malformed(serde, "c3280000000000000001", "invalid UTF-8"); /* inner error comes through */
  wk.key = NULL;
  char errstr[128] = "";
  brook_serde_buf_t buf = BROOK_SERDE_BUF_INIT;
  g_assert_cmpint(brook_serde_serialize(serde, "t", &wk, &buf, errstr, sizeof errstr), ==,
                  BROOK_ERR__MALFORMED);
  g_assert_nonnull(strstr(errstr, "NULL inner key"));
  brook_serde_buf_clear(&buf);
  brook_serde_unref(serde);
}

static void test_session_windowed(void) {
  brook_serde_t *serde = brook_serde_session_windowed_new(brook_serde_i32_new());
  int32_t key = 7;
  brook_windowed_t wk = {.key = &key, .start = 5, .end = 10};
  /* key | end | start */
  brook_windowed_t *back = round_trip(serde, &wk,
                                      "00000007"
                                      "000000000000000a"
                                      "0000000000000005");
  g_assert_cmpint(*(int32_t *)back->key, ==, 7);
  g_assert_cmpint(back->start, ==, 5);
  g_assert_cmpint(back->end, ==, 10);
  brook_serde_free_value(serde, back);
  expect_malformed(serde, "000000000000000a00000000000005", "shorter than the 16-byte window suffix");
  expect_malformed(serde,
                   "0007"
                   "000000000000000a"
                   "0000000000000005",
                   "i32: size of data received is 2");
  /* A void inner serde yields null for a key: an error, not a half key. */
  brook_serde_t *bad = brook_serde_session_windowed_new(brook_serde_void_new());
  char errstr[128] = "";
  brook_serde_buf_t buf = BROOK_SERDE_BUF_INIT;
  g_assert_cmpint(brook_serde_serialize(bad, "t", &wk, &buf, errstr, sizeof errstr), ==,
                  BROOK_ERR__MALFORMED);
  g_assert_nonnull(strstr(errstr, "produced null"));
  brook_serde_buf_clear(&buf);
  brook_serde_unref(bad);
  brook_serde_unref(serde);
}

/* ---- custom serdes ---- */

typedef struct point {
  int16_t x, y;
} point_t;

typedef struct custom_state {
  int destroyed;
  int freed;
} custom_state_t;

static brook_err_t point_ser(void *opaque, const char *topic, const void *value, brook_serde_buf_t *out,
                             char *errstr, size_t errstr_size) {
  const point_t *p = value;
  uint8_t *w = brook_serde_buf_grow(out, 4);
  w[0] = (uint8_t)((uint16_t)p->x >> 8);
  w[1] = (uint8_t)p->x;
  w[2] = (uint8_t)((uint16_t)p->y >> 8);
  w[3] = (uint8_t)p->y;
  return BROOK_ERR_NONE;
}

static brook_err_t point_de(void *opaque, const char *topic, const void *data, size_t len, void **valuep,
                            char *errstr, size_t errstr_size) {
  if (len != 4) {
    g_snprintf(errstr, errstr_size, "point: need 4 bytes for topic %s", topic);
    return BROOK_ERR__MALFORMED;
  }
  const uint8_t *r = data;
  point_t *p = g_new(point_t, 1);
  p->x = (int16_t)((r[0] << 8) | r[1]);
  p->y = (int16_t)((r[2] << 8) | r[3]);
  *valuep = p;
  return BROOK_ERR_NONE;
}

static void point_free(void *opaque, void *value) {
  ((custom_state_t *)opaque)->freed++;
  g_free(value);
}

static void point_destroy(void *opaque) { ((custom_state_t *)opaque)->destroyed++; }

static void test_custom(void) {
  custom_state_t st = {0};
  brook_serde_funcs_t funcs = {point_ser, point_de, point_free, point_destroy};
  brook_serde_t *serde = brook_serde_new("point", &funcs, &st);
  g_assert_cmpstr(brook_serde_name(serde), ==, "point");
  point_t p = {-2, 300};
  point_t *back = round_trip(serde, &p, "fffe012c");
  g_assert_cmpint(back->x, ==, -2);
  g_assert_cmpint(back->y, ==, 300);
  brook_serde_free_value(serde, back);
  g_assert_cmpint(st.freed, ==, 1);
  char errstr[128] = "";
  void *v = NULL;
  g_assert_cmpint(brook_serde_deserialize(serde, "pts", "abc", 3, &v, errstr, sizeof errstr), ==,
                  BROOK_ERR__MALFORMED);
  g_assert_cmpstr(errstr, ==, "point: need 4 bytes for topic pts");

  /* As the inner serde of a session-windowed key: its free runs for the key. */
  brook_serde_t *win = brook_serde_session_windowed_new(brook_serde_ref(serde));
  brook_windowed_t wk = {.key = &p, .start = 0, .end = 1};
  brook_windowed_t *wback = round_trip(win, &wk,
                                       "fffe012c"
                                       "0000000000000001"
                                       "0000000000000000");
  g_assert_cmpint(((point_t *)wback->key)->y, ==, 300);
  brook_serde_free_value(win, wback);
  g_assert_cmpint(st.freed, ==, 2);

  brook_serde_unref(serde);
  g_assert_cmpint(st.destroyed, ==, 0); /* win still holds a reference */
  brook_serde_unref(win);
  g_assert_cmpint(st.destroyed, ==, 1);
  brook_serde_unref(NULL);
}

/* ---- output buffer ---- */

static void test_buf(void) {
  brook_serde_buf_t buf;
  brook_serde_buf_init(&buf);
  for (int i = 0; i < 1000; i++) brook_serde_buf_append(&buf, "xy", 2);
  g_assert_cmpuint(buf.len, ==, 2000);
  g_assert_cmpuint(buf.cap, >=, 2000);
  g_assert_cmpmem(buf.data + 1998, 2, "xy", 2);
  uint8_t *p = brook_serde_buf_grow(&buf, 3);
  g_assert_true(p == buf.data + 2000);
  brook_serde_buf_reset(&buf);
  g_assert_cmpuint(buf.len, ==, 0);
  g_assert_nonnull(buf.data);
  brook_serde_buf_clear(&buf);
  g_assert_null(buf.data);
  g_assert_cmpuint(buf.cap, ==, 0);
}

/* ---- the docs/serdes.md example ---- */

/* BEGIN serdes.md example */
#include <stdio.h>
#include <string.h>

#include "brook_serde.h"

/* A per-minute count as Kafka Streams writes it to a topic: the key is a
 * TimeWindowed<String>, the value a Long. Serialize both, read them back. */
static int serde_example(void) {
  char errstr[256];
  int rc = 1;
  /* The windowed serde takes over the reference returned by string_new. */
  brook_serde_t *key_serde = brook_serde_time_windowed_new(brook_serde_string_new(), 60000);
  brook_serde_t *value_serde = brook_serde_i64_new();
  brook_serde_buf_t kbuf = BROOK_SERDE_BUF_INIT, vbuf = BROOK_SERDE_BUF_INIT;
  void *kval = NULL, *vval = NULL;

  brook_windowed_t key = {.key = "page-7", .start = 1700000040000};
  int64_t count = 42;
  if (brook_serde_serialize(key_serde, "counts", &key, &kbuf, errstr, sizeof errstr) ||
      brook_serde_serialize(value_serde, "counts", &count, &vbuf, errstr, sizeof errstr)) {
    fprintf(stderr, "serialize: %s\n", errstr);
    goto out;
  }
  /* kbuf: 70 61 67 65 2d 37 | 00 00 01 8b cf e6 04 40   ("page-7", start)
   * vbuf: 00 00 00 00 00 00 00 2a                       (42)            */

  if (brook_serde_deserialize(key_serde, "counts", kbuf.data, kbuf.len, &kval, errstr, sizeof errstr) ||
      brook_serde_deserialize(value_serde, "counts", vbuf.data, vbuf.len, &vval, errstr, sizeof errstr)) {
    fprintf(stderr, "deserialize: %s\n", errstr);
    goto out;
  }
  const brook_windowed_t *k = kval;
  const int64_t *v = vval;
  /* end = start + the window size the deserializer was built with */
  if (strcmp(k->key, "page-7") == 0 && k->start == 1700000040000 && k->end == 1700000100000 && *v == 42)
    rc = 0;

out:
  brook_serde_free_value(key_serde, kval); /* frees the inner string too */
  brook_serde_free_value(value_serde, vval);
  brook_serde_buf_clear(&kbuf);
  brook_serde_buf_clear(&vbuf);
  brook_serde_unref(key_serde);
  brook_serde_unref(value_serde);
  return rc;
}
/* END serdes.md example */

static char *read_block(const char *path, const char *begin, const char *end) {
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL)) return NULL;
  char *b = strstr(text, begin);
  char *e = b ? strstr(b, end) : NULL;
  char *out = NULL;
  if (b && e) {
    b += strlen(begin);
    while (*b == '\n') b++;
    out = g_strndup(b, (gsize)(e - b));
  }
  g_free(text);
  return out;
}

static void test_doc_example(void) {
  g_assert_cmpint(serde_example(), ==, 0);
  /* the byte comment in the example is right */
  brook_serde_t *ks = brook_serde_time_windowed_new(brook_serde_string_new(), 60000);
  brook_windowed_t wk = {.key = "page-7", .start = 1700000040000};
  void *back = round_trip(ks, &wk,
                          "706167652d37"
                          "0000018bcfe60440");
  brook_serde_free_value(ks, back);
  brook_serde_unref(ks);

  /* The doc's code block must be this file's example block, byte for byte. */
  /* __FILE__ is relative to the build root (meson runs the compiler there);
   * the build root is two levels above this executable (tests/state/). */
  char *src_dir = g_path_get_dirname(__FILE__);
  if (!g_path_is_absolute(src_dir) && !g_file_test(src_dir, G_FILE_TEST_IS_DIR)) {
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    char *exe_dir = exe ? g_path_get_dirname(exe) : g_strdup(".");
    char *rooted = g_build_filename(exe_dir, "..", "..", src_dir, NULL);
    g_free(exe);
    g_free(exe_dir);
    g_free(src_dir);
    src_dir = rooted;
  }
  char *self = g_build_filename(src_dir, "test-serde.c", NULL);
  char *doc = g_build_filename(src_dir, "..", "..", "docs", "serdes.md", NULL);
  g_free(src_dir);
  if (!g_file_test(self, G_FILE_TEST_EXISTS)) {
    g_test_skip("source tree not reachable from the test's working directory");
  } else {
    char *mine = read_block(self, "/* BEGIN serdes.md example */", "/* END serdes.md example */");
    char *theirs = read_block(doc, "<!-- BEGIN example: tests/state/test-serde.c -->\n```c",
                              "```\n<!-- END example -->");
    g_assert_nonnull(mine);
    g_assert_nonnull(theirs);
    g_assert_cmpstr(theirs, ==, mine);
    g_free(mine);
    g_free(theirs);
  }
  g_free(self);
  g_free(doc);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/state/serde/i32", test_i32);
  g_test_add_func("/state/serde/i64", test_i64);
  g_test_add_func("/state/serde/double", test_double);
  g_test_add_func("/state/serde/string", test_string);
  g_test_add_func("/state/serde/bytes", test_bytes);
  g_test_add_func("/state/serde/null", test_null);
  g_test_add_func("/state/serde/json", test_json);
  g_test_add_func("/state/serde/time-windowed", test_time_windowed);
  g_test_add_func("/state/serde/session-windowed", test_session_windowed);
  g_test_add_func("/state/serde/custom", test_custom);
  g_test_add_func("/state/serde/buf", test_buf);
  g_test_add_func("/state/serde/doc-example", test_doc_example);
  return g_test_run();
}
