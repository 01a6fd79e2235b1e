/*
 * test-stateless.c — the stateless DSL operators on the real runtime (test
 * driver: embedded broker, stream threads, 3 partitions): what each operator
 * writes, with timestamps and headers kept; split, merge, dynamic sinks,
 * repartition, process with a store; and print's output on stdout.
 *
 * Outputs are compared as sorted "key=value@timestamp" lists: records of one
 * key keep their order (one partition), records of different keys may come
 * from different partitions in any order.
 */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "brook_kv_store.h"
#include "dsl_test_util.h"

/* ---- reading outputs ---- */

typedef struct collect {
  int vkind;
  GPtrArray *lines;       /* "key=value@ts" */
  GHashTable *partitions; /* key -> partition (GINT) */
  bool same_partition;    /* every key seen in one partition only */
  GPtrArray *headers;     /* value of header "seen" per record, or "-" */
} collect_t;

static void on_record(const brook_read_record_t *r, void *opaque) {
  collect_t *c = opaque;
  const char *key = r->rec->key ? r->rec->key : "null";
  char *value = value_text(c->vkind, r->rec->value);
  g_ptr_array_add(c->lines, g_strdup_printf("%s=%s@%lld", key, value, (long long)r->rec->timestamp));
  g_free(value);
  gpointer old;
  if (g_hash_table_lookup_extended(c->partitions, key, NULL, &old) && GPOINTER_TO_INT(old) != r->partition)
    c->same_partition = false;
  g_hash_table_insert(c->partitions, g_strdup(key), GINT_TO_POINTER(r->partition));
  const void *hv;
  size_t hlen;
  if (brook_headers_last(r->rec->headers, "seen", &hv, &hlen))
    g_ptr_array_add(c->headers, g_strdup_printf("%s:%.*s", key, (int)hlen, (const char *)hv));
}

/* Reads what is new on `topic`: "k=v@ts ..." sorted; keep (may be NULL) gets
 * same_partition and headers (transfer full). */
static char *read_out_info(brook_test_driver_t *d, const char *topic, int vkind, collect_t *keep) {
  collect_t c = {vkind, g_ptr_array_new_with_free_func(g_free),
                 g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), true,
                 g_ptr_array_new_with_free_func(g_free)};
  int64_t n = read_or_die(d, topic, vkind, on_record, &c);
  g_assert_cmpint(n, ==, (int64_t)c.lines->len);
  char *out = joined_sorted(c.lines);
  g_ptr_array_unref(c.lines);
  if (keep) {
    keep->same_partition = c.same_partition;
    keep->headers = c.headers;
  } else {
    g_ptr_array_unref(c.headers);
  }
  g_hash_table_destroy(c.partitions);
  return out;
}

static char *read_out(brook_test_driver_t *d, const char *topic, int vkind) {
  return read_out_info(d, topic, vkind, NULL);
}

/* ---- callbacks ---- */

static bool starts_with_keep(const brook_record_t *rec, void *opaque) {
  return rec->value && g_str_has_prefix(rec->value, "keep");
}
static bool starts_with_drop(const brook_record_t *rec, void *opaque) {
  return rec->value && g_str_has_prefix(rec->value, "drop");
}

static void swap(const brook_record_t *rec, const void **key, const void **value, void *opaque) {
  *key = rec->value;
  *value = rec->key;
}

static const void *length(const brook_record_t *rec, void *opaque) {
  return rec->value ? brook_scratch_i64((int64_t)strlen(rec->value)) : NULL;
}

static const void *first_word(const brook_record_t *rec, void *opaque) {
  const char *v = rec->value;
  const char *sp = strchr(v, ' ');
  return sp ? brook_scratch_strndup(v, (size_t)(sp - v)) : v;
}

static void words_to_key(const brook_record_t *rec, brook_emitter_t *out, void *opaque) {
  char **words = g_strsplit(rec->value, " ", -1);
  for (char **w = words; *w; w++) brook_emit(out, brook_scratch_strdup(*w), rec->key);
  g_strfreev(words);
}

static void words(const brook_record_t *rec, brook_emitter_t *out, void *opaque) {
  char **ws = g_strsplit(rec->value, " ", -1);
  for (char **w = ws; *w; w++) brook_emit_value(out, brook_scratch_strdup(*w));
  g_strfreev(ws);
}

static gint peeked;
static void count_peek(const brook_record_t *rec, void *opaque) { g_atomic_int_inc(&peeked); }

typedef struct seen_list {
  GMutex lock;
  GPtrArray *values;
} seen_list_t;

static void collect_foreach(const brook_record_t *rec, void *opaque) {
  seen_list_t *l = opaque;
  g_mutex_lock(&l->lock);
  g_ptr_array_add(l->values, g_strdup_printf("%s=%s@%lld", (const char *)rec->key, (const char *)rec->value,
                                             (long long)rec->timestamp));
  g_mutex_unlock(&l->lock);
}

static const char *dyn_topic(const brook_record_t *rec, void *opaque) {
  const char *k = rec->key;
  return strcmp(k, "a") == 0 || strcmp(k, "c") == 0 ? "out-dyn-ac" : "out-dyn-bd";
}

static const void *add_bang(const brook_record_t *rec, void *opaque) {
  return brook_scratch_printf("%s!", (const char *)rec->value);
}

/* process(): counts records per key in store "seen", forwards
 * "<value>#<count>" with a header "seen" = count. */
static brook_err_t seen_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                             size_t errstr_size) {
  *statep = brook_ctx_kv_store(ctx, "seen");
  return *statep ? BROOK_ERR_NONE : BROOK_ERR__STATE;
}

static void seen_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  brook_kv_store_t *store = state;
  const char *key = rec->key;
  const void *v;
  size_t len;
  int64_t n = 0;
  if (brook_kv_store_get(store, key, strlen(key), &v, &len, NULL) == BROOK_ERR_NONE)
    n = brook_serde_get_i64(v);
  n++;
  uint8_t buf[8];
  brook_serde_put_i64(buf, n);
  brook_kv_store_put(store, key, strlen(key), buf, 8, rec->timestamp);
  char *count = brook_scratch_printf("%lld", (long long)n);
  brook_headers_add(rec->headers, "seen", count, strlen(count));
  brook_record_t out = *rec;
  out.value = brook_scratch_printf("%s#%s", (const char *)rec->value, count);
  brook_ctx_forward(ctx, &out);
}

/* ---- the operators ---- */

static void test_operators(void) {
  seen_list_t foreach_seen = {.values = g_ptr_array_new_with_free_func(g_free)};
  g_mutex_init(&foreach_seen.lock);
  g_atomic_int_set(&peeked, 0);

  brook_builder_t *b = brook_builder_new();
  brook_stream_t *in = brook_builder_stream(b, "in", brook_serde_string_new(), brook_serde_string_new());
  brook_stream_t *in2 = brook_builder_stream(b, "in2", brook_serde_string_new(), brook_serde_string_new());
  brook_stream_t *in3 = brook_builder_stream(b, "in3", brook_serde_string_new(), brook_serde_string_new());

  brook_stream_to(brook_stream_filter(in, starts_with_keep, NULL), "out-filter", NULL, NULL);
  brook_stream_to(brook_stream_filter_not(in, starts_with_keep, NULL), "out-filter-not", NULL, NULL);
  /* map forgets the serdes: the defaults (string) write it */
  brook_stream_to(brook_stream_map(in, swap, NULL), "out-map", NULL, NULL);
  brook_stream_to(brook_stream_map_values(in, length, NULL), "out-map-values", NULL, brook_serde_i64_new());
  brook_stream_to(brook_stream_flat_map(in, words_to_key, NULL), "out-flat-map", NULL, NULL);
  brook_stream_to(brook_stream_flat_map_values(in, words, NULL), "out-flat-map-values", NULL, NULL);
  brook_stream_t *by_word = brook_stream_select_key(in, first_word, NULL);
  brook_stream_to(by_word, "out-select-key", NULL, NULL);
  brook_stream_to(brook_stream_peek(in, count_peek, NULL), "out-peek", NULL, NULL);
  brook_stream_foreach(in, collect_foreach, &foreach_seen);
  brook_stream_to(brook_stream_merge(in, in2), "out-merge", NULL, NULL);
  brook_branches_t *br = brook_stream_split(in, "split-");
  brook_stream_to(brook_branches_branch(br, starts_with_keep, NULL, "keep"), "out-branch-keep", NULL, NULL);
  brook_stream_to(brook_branches_branch(br, starts_with_drop, NULL, "drop"), "out-branch-drop", NULL, NULL);
  brook_stream_to(brook_branches_default(br, "other"), "out-branch-other", NULL, NULL);
  brook_stream_to_dynamic(in, dyn_topic, NULL, NULL, NULL);
  brook_stream_to(brook_stream_repartition(by_word, NULL, NULL, NULL, 0), "out-repartition", NULL, NULL);

  brook_store_def_t seen = {.name = "seen", .kind = BROOK_STORE_KV};
  brook_builder_add_store(b, &seen);
  brook_processor_def_t def = {.init = seen_init, .process = seen_process};
  const char *stores[] = {"seen", NULL};
  brook_stream_t *processed = brook_stream_process(in3, &def, stores);
  brook_stream_to(brook_stream_map_values(processed, add_bang, NULL), "out-process", NULL, NULL);

  brook_test_driver_t *d = driver_with(b, 3, "commit.interval.ms", "200", NULL);
  char errstr[512];
  if (brook_test_driver_create_topic(d, "out-dyn-ac", 3, errstr, sizeof errstr) ||
      brook_test_driver_create_topic(d, "out-dyn-bd", 3, errstr, sizeof errstr))
    g_error("create: %s", errstr);

  pipe_str(d, "in", "a", "keep one", 1000);
  pipe_str(d, "in", "b", "drop two", 2000);
  pipe_str(d, "in", "c", "keep three four", 3000);
  pipe_str(d, "in", "d", "x", 4000);
  pipe_str(d, "in2", "e", "other", 5000);
  pipe_str(d, "in3", "k", "v1", 7000);
  pipe_str(d, "in3", "k", "v2", 8000);
  pipe_str(d, "in3", "j", "v3", 9000);

  assert_out(d, "out-filter", V_STRING, "a=keep one@1000 c=keep three four@3000");
  assert_out(d, "out-filter-not", V_STRING, "b=drop two@2000 d=x@4000");
  assert_out(d, "out-map", V_STRING, "drop two=b@2000 keep one=a@1000 keep three four=c@3000 x=d@4000");
  assert_out(d, "out-map-values", V_I64, "a=8@1000 b=8@2000 c=15@3000 d=1@4000");
  assert_out(d, "out-flat-map", V_STRING,
             "drop=b@2000 four=c@3000 keep=a@1000 keep=c@3000 one=a@1000 three=c@3000 two=b@2000 x=d@4000");
  assert_out(d, "out-flat-map-values", V_STRING,
             "a=keep@1000 a=one@1000 b=drop@2000 b=two@2000 c=four@3000 c=keep@3000 c=three@3000 d=x@4000");
  assert_out(d, "out-select-key", V_STRING,
             "drop=drop two@2000 keep=keep one@1000 keep=keep three four@3000 x=x@4000");
  assert_out(d, "out-peek", V_STRING, "a=keep one@1000 b=drop two@2000 c=keep three four@3000 d=x@4000");
  g_assert_cmpint(g_atomic_int_get(&peeked), ==, 4);
  g_mutex_lock(&foreach_seen.lock);
  char *fe = joined_sorted(foreach_seen.values);
  g_mutex_unlock(&foreach_seen.lock);
  g_assert_cmpstr(fe, ==, "a=keep one@1000 b=drop two@2000 c=keep three four@3000 d=x@4000");
  g_free(fe);
  assert_out(d, "out-merge", V_STRING,
             "a=keep one@1000 b=drop two@2000 c=keep three four@3000 d=x@4000 e=other@5000");
  assert_out(d, "out-branch-keep", V_STRING, "a=keep one@1000 c=keep three four@3000");
  assert_out(d, "out-branch-drop", V_STRING, "b=drop two@2000");
  assert_out(d, "out-branch-other", V_STRING, "d=x@4000");
  assert_out(d, "out-dyn-ac", V_STRING, "a=keep one@1000 c=keep three four@3000");
  assert_out(d, "out-dyn-bd", V_STRING, "b=drop two@2000 d=x@4000");

  /* repartitioned by the new key: both "keep" records in one partition */
  collect_t info = {0};
  char *rep = read_out_info(d, "out-repartition", V_STRING, &info);
  g_assert_cmpstr(rep, ==, "drop=drop two@2000 keep=keep one@1000 keep=keep three four@3000 x=x@4000");
  g_assert_true(info.same_partition);
  g_ptr_array_unref(info.headers);
  g_free(rep);

  /* process with a store; the header it adds and the timestamp survive map_values */
  collect_t pinfo = {0};
  char *proc = read_out_info(d, "out-process", V_STRING, &pinfo);
  g_assert_cmpstr(proc, ==, "j=v3#1!@9000 k=v1#1!@7000 k=v2#2!@8000");
  char *hdrs = joined_sorted(pinfo.headers);
  g_assert_cmpstr(hdrs, ==, "j:1 k:1 k:2");
  g_free(hdrs);
  g_ptr_array_unref(pinfo.headers);
  g_free(proc);

  /* nothing is read twice; a later record flows the same way */
  pipe_str(d, "in", "a", "keep again", 10000);
  assert_out(d, "out-filter", V_STRING, "a=keep again@10000");
  assert_out(d, "out-filter-not", V_STRING, "");

  brook_test_driver_destroy(d);
  g_ptr_array_unref(foreach_seen.values);
  g_mutex_clear(&foreach_seen.lock);
}

/* ---- print ---- */

static const void *upper_scratch(const brook_record_t *rec, void *opaque) {
  if (!rec->value) return NULL;
  char *u = brook_scratch_strdup(rec->value);
  for (char *c = u; *c; c++) *c = g_ascii_toupper(*c);
  return u;
}

static const void *half_length(const brook_record_t *rec, void *opaque) {
  return rec->value ? brook_scratch_double(strlen(rec->value) / 2.0) : NULL;
}

static const void *raw_bytes(const brook_record_t *rec, void *opaque) {
  brook_serde_bytes_t *b = brook_scratch_alloc(sizeof *b);
  static const uint8_t data[] = {0x01, 0xab};
  b->data = data;
  b->len = sizeof data;
  return b;
}

static const char *custom_line(const brook_record_t *rec, void *opaque) {
  return brook_scratch_printf("K=%s (%s)", (const char *)rec->key, (const char *)opaque);
}

static void ignore_record(const brook_read_record_t *r, void *opaque) {}

static void test_print(void) {
  brook_builder_t *b = brook_builder_new();
  brook_stream_t *in = brook_builder_stream(b, "p", brook_serde_string_new(), brook_serde_string_new());
  brook_stream_print(in, NULL, NULL, NULL); /* label: the source's name */
  brook_stream_print(
      brook_stream_with_serdes(brook_stream_map_values(in, length, NULL), NULL, brook_serde_i64_new()), "len",
      NULL, NULL);
  brook_stream_print(brook_stream_with_serdes(brook_stream_map_values(in, half_length, NULL), NULL,
                                              brook_serde_double_new()),
                     "half", NULL, NULL);
  brook_stream_print(
      brook_stream_with_serdes(brook_stream_map_values(in, raw_bytes, NULL), NULL, brook_serde_bytes_new()),
      "raw", NULL, NULL);
  /* no serde known after map_values: default.value.serde (string) renders it */
  brook_stream_print(brook_stream_map_values(in, upper_scratch, NULL), "upper", NULL, NULL);
  brook_stream_print(in, "custom", custom_line, "opaque");
  brook_test_driver_t *d = driver_with(b, 1, "commit.interval.ms", "200", NULL);
  char errstr[512];

  char *dir = g_dir_make_tmp("brook-dsl-print-XXXXXX", NULL);
  char *path = g_build_filename(dir, "stdout", NULL);
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_cmpint(fd, >=, 0);
  dup2(fd, STDOUT_FILENO);
  close(fd);

  pipe_str(d, "p", "k1", "ab", 1000);
  pipe_str(d, "p", "k2", NULL, 2000);
  /* the read returns once everything piped went through the topology */
  if (brook_test_driver_create_topic(d, "unused", 1, errstr, sizeof errstr)) g_error("create: %s", errstr);
  read_or_die(d, "unused", V_STRING, ignore_record, NULL);

  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);

  char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
  char **split = g_strsplit(text, "\n", -1);
  for (char **l = split; *l; l++)
    if (**l) g_ptr_array_add(lines, g_strdup(*l));
  g_strfreev(split);
  char *got = joined_sorted(lines);
  g_ptr_array_unref(lines);
  g_assert_cmpstr(got, ==,
                  "[KSTREAM-SOURCE-0000000000]: k1, ab "
                  "[KSTREAM-SOURCE-0000000000]: k2, null "
                  "[custom]: K=k1 (opaque) "
                  "[custom]: K=k2 (opaque) "
                  "[half]: k1, 1.0 "
                  "[half]: k2, null "
                  "[len]: k1, 2 "
                  "[len]: k2, null "
                  "[raw]: k1, 01ab "
                  "[raw]: k2, 01ab "
                  "[upper]: k1, AB "
                  "[upper]: k2, null");
  g_free(got);
  g_free(text);
  g_unlink(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
  brook_test_driver_destroy(d);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dsl/stateless/operators", test_operators);
  g_test_add_func("/dsl/stateless/print", test_print);
  return g_test_run();
}
