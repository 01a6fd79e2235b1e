/*
 * dsl_test_util.h — shared by the DSL tests that run topologies on the test
 * driver (test-stateless, test-aggregate) and build them (test-describe):
 * building or dying, a driver with string default serdes, piping string
 * records, reading an output topic, and rendering what was read.
 *
 * A test that uses assert_out() defines `char *read_out(brook_test_driver_t *d,
 * const char *topic, int vkind)` (transfer full): what is new on `topic`, in
 * that test's format.
 */
#ifndef BROOK_TEST_DSL_TEST_UTIL_H
#define BROOK_TEST_DSL_TEST_UTIL_H

#include <glib.h>
#include <stdarg.h>
#include <string.h>

#include "brook_dsl.h"
#include "brook_test_driver.h"

/* How output values are typed (keys are strings). */
enum { V_STRING, V_I64 };

#define assert_out(d, topic, vkind, expected)     \
  do {                                            \
    char *got_ = read_out((d), (topic), (vkind)); \
    g_assert_cmpstr(got_, ==, (expected));        \
    g_free(got_);                                 \
  } while (0)

/* Builds the topology and destroys the builder. (transfer full) */
static inline brook_topology_t *build_or_die(brook_builder_t *b) {
  char errstr[512] = "";
  brook_topology_t *t = brook_builder_build(b, errstr, sizeof errstr);
  if (!t) g_error("build: %s", errstr);
  brook_builder_destroy(b);
  return t;
}

/* A driver for b's topology (builds it and destroys b) with `partitions` per
 * topic, string default serdes and the NULL-terminated name, value pairs of
 * configuration that follow. (transfer full) */
static inline brook_test_driver_t *driver_with(brook_builder_t *b, int32_t partitions, ...) {
  char errstr[512];
  brook_topology_t *t = build_or_die(b);
  brook_app_conf_t *conf = brook_app_conf_new();
  if (brook_app_conf_set(conf, "default.key.serde", "string", errstr, sizeof errstr) ||
      brook_app_conf_set(conf, "default.value.serde", "string", errstr, sizeof errstr))
    g_error("conf: %s", errstr);
  va_list ap;
  va_start(ap, partitions);
  for (const char *name; (name = va_arg(ap, const char *));) {
    const char *value = va_arg(ap, const char *);
    if (brook_app_conf_set(conf, name, value, errstr, sizeof errstr)) g_error("conf %s: %s", name, errstr);
  }
  va_end(ap);
  brook_test_driver_t *d = brook_test_driver_new(t, conf, partitions, errstr, sizeof errstr);
  if (!d) g_error("driver: %s", errstr);
  brook_app_conf_destroy(conf);
  brook_topology_unref(t);
  return d;
}

/* Produces a string record (key and value may be NULL) to `topic`. */
static inline void pipe_str(brook_test_driver_t *d, const char *topic, const char *key, const char *value,
                            int64_t ts) {
  char errstr[512];
  brook_serde_t *s = brook_serde_string_new();
  if (brook_test_driver_pipe(d, topic, s, key, s, value, ts, errstr, sizeof errstr))
    g_error("pipe %s: %s", topic, errstr);
  brook_serde_unref(s);
}

/* Reads what is new on `topic` (string keys, values typed by vkind) into
 * on_record. Returns the number of records. */
static inline int64_t read_or_die(brook_test_driver_t *d, const char *topic, int vkind,
                                  void (*on_record)(const brook_read_record_t *r, void *opaque),
                                  void *opaque) {
  char errstr[512];
  brook_serde_t *ks = brook_serde_string_new();
  brook_serde_t *vs = vkind == V_I64 ? brook_serde_i64_new() : brook_serde_string_new();
  int64_t n = brook_test_driver_read(d, topic, ks, vs, on_record, opaque, errstr, sizeof errstr);
  brook_serde_unref(ks);
  brook_serde_unref(vs);
  if (n < 0) g_error("read %s: %s", topic, errstr);
  return n;
}

/* A value read as text: "null", the number, or the string. (transfer full) */
static inline char *value_text(int vkind, const void *value) {
  if (!value) return g_strdup("null");
  if (vkind == V_I64) return g_strdup_printf("%lld", (long long)*(const int64_t *)value);
  return g_strdup(value);
}

static inline int cmp_str(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts `lines` (char *) in place and joins them with spaces. (transfer full) */
static inline char *joined_sorted(GPtrArray *lines) {
  g_ptr_array_sort(lines, cmp_str);
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf(s, "%s%s", i ? " " : "", (char *)lines->pdata[i]);
  return g_string_free(s, FALSE);
}

#endif
