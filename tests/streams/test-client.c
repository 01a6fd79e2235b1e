/*
 * test-client.c — the typed clients (streams/client.c) against the real broker
 * in-process: creating topics (and the exists cases), typed produce and read
 * back with partitions, offsets, timestamps and headers, keyed records landing
 * where Java's producer puts them (murmur2 computed here independently and
 * checked against Kafka's own test vectors), incremental reads, errors.
 */
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <librdkafka/rdkafka.h>
#include <string.h>

#include "brook_broker.h"
#include "brook_client.h"

#define TIMEOUT_MS 30000

static brook_broker_t *broker;
static const char *bootstrap;

/* ---- Kafka's Utils.murmur2, written from the Java source ---- */

static int32_t murmur2(const void *key, size_t length) {
  const uint8_t *data = key;
  const uint32_t seed = 0x9747b28c, m = 0x5bd1e995;
  const int r = 24;
  uint32_t h = seed ^ (uint32_t)length;
  size_t length4 = length / 4;
  for (size_t i = 0; i < length4; i++) {
    size_t i4 = i * 4;
    uint32_t k = (uint32_t)data[i4] | (uint32_t)data[i4 + 1] << 8 | (uint32_t)data[i4 + 2] << 16 |
                 (uint32_t)data[i4 + 3] << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  size_t tail = length & ~(size_t)3;
  switch (length % 4) {
    case 3:
      h ^= (uint32_t)data[tail + 2] << 16; /* fall through */
    case 2:
      h ^= (uint32_t)data[tail + 1] << 8; /* fall through */
    case 1:
      h ^= data[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return (int32_t)h;
}

/* Java's DefaultPartitioner for a keyed record. */
static int32_t java_partition(const void *key, size_t len, int32_t partitions) {
  return (int32_t)(((uint32_t)murmur2(key, len) & 0x7fffffff) % (uint32_t)partitions);
}

static void test_murmur2_vectors(void) {
  /* Kafka's UtilsTest.testMurmur2 */
  g_assert_cmpint(murmur2("21", 2), ==, -973932308);
  g_assert_cmpint(murmur2("foobar", 6), ==, -790332482);
  g_assert_cmpint(murmur2("a-little-bit-long-string", 24), ==, -985981536);
  g_assert_cmpint(murmur2("a-little-bit-longer-string", 26), ==, -1486304829);
  g_assert_cmpint(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 48), ==, -58897971);
  g_assert_cmpint(murmur2("abc", 3), ==, 479470107);
}

/* ---- collecting what a reader hands out ---- */

typedef struct got {
  char *key;
  bool value_null;
  int64_t value;
  int32_t partition;
  int64_t offset;
  int64_t timestamp;
  char *headers; /* "name=value;..." ("name" alone for a null value) */
} got_t;

static void got_free(gpointer p) {
  got_t *g = p;
  g_free(g->key);
  g_free(g->headers);
  g_free(g);
}

static char *headers_text(const brook_headers_t *h) {
  GString *s = g_string_new(NULL);
  for (size_t i = 0; i < brook_headers_count(h); i++) {
    const char *name;
    const void *v;
    size_t len;
    g_assert_true(brook_headers_get(h, i, &name, &v, &len));
    g_string_append_printf(s, "%s%s", i ? ";" : "", name);
    if (v) {
      g_string_append_c(s, '=');
      g_string_append_len(s, v, (gssize)len);
    }
  }
  return g_string_free(s, FALSE);
}

/* string keys, i64 values */
static void collect_string_i64(const brook_read_record_t *r, void *opaque) {
  GPtrArray *out = opaque;
  got_t *g = g_new0(got_t, 1);
  g->key = g_strdup(r->rec->key);
  g->value_null = r->rec->value == NULL;
  if (r->rec->value) g->value = *(const int64_t *)r->rec->value;
  g->partition = r->partition;
  g->offset = r->offset;
  g->timestamp = r->rec->timestamp;
  g_assert_nonnull(r->rec->headers);
  g->headers = headers_text(r->rec->headers);
  g_assert_cmpstr(r->topic, !=, NULL);
  g_ptr_array_add(out, g);
}

/* Checks that per partition offsets increase and partitions come in order. */
static void assert_read_order(GPtrArray *got) {
  for (guint i = 1; i < got->len; i++) {
    got_t *a = got->pdata[i - 1], *b = got->pdata[i];
    g_assert_true(a->partition < b->partition || (a->partition == b->partition && a->offset < b->offset));
  }
}

/* Record timestamps must be recent: the broker deletes records older than
 * retention.ms (7 days) by their timestamp, as Kafka does. */
static int64_t now_ms(void) { return g_get_real_time() / 1000; }

static char *unique_topic(const char *base) {
  static int n;
  return g_strdup_printf("%s-%d", base, ++n);
}

/* ---- tests ---- */

static void test_create_topic(void) {
  char errstr[512] = "";
  char *topic = unique_topic("create");
  g_assert_cmpint(brook_admin_create_topic(bootstrap, topic, 3, NULL, false, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(brook_admin_partition_count(bootstrap, topic, errstr, sizeof errstr), ==, 3);

  /* Exists, without if_not_exists: TOPIC_ALREADY_EXISTS naming the topic. */
  g_assert_cmpint(brook_admin_create_topic(bootstrap, topic, 3, NULL, false, errstr, sizeof errstr), ==,
                  BROOK_ERR_TOPIC_ALREADY_EXISTS);
  g_assert_nonnull(strstr(errstr, topic));
  /* With if_not_exists and the same count: fine. */
  g_assert_cmpint(brook_admin_create_topic(bootstrap, topic, 3, NULL, true, errstr, sizeof errstr), ==, 0);
  /* A different count is an error naming both counts. */
  g_assert_cmpint(brook_admin_create_topic(bootstrap, topic, 5, NULL, true, errstr, sizeof errstr), ==,
                  BROOK_ERR_TOPIC_ALREADY_EXISTS);
  g_assert_nonnull(strstr(errstr, topic));
  g_assert_nonnull(strstr(errstr, "3 partitions"));
  g_assert_nonnull(strstr(errstr, "not 5"));
  g_assert_cmpint(brook_admin_partition_count(bootstrap, topic, errstr, sizeof errstr), ==, 3);

  /* Asking for a missing topic does not create it. */
  char *missing = unique_topic("missing");
  g_assert_cmpint(brook_admin_partition_count(bootstrap, missing, errstr, sizeof errstr), ==, -1);
  g_assert_nonnull(strstr(errstr, missing));
  g_assert_cmpint(brook_admin_create_topic(bootstrap, missing, 2, NULL, false, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(brook_admin_partition_count(bootstrap, missing, errstr, sizeof errstr), ==, 2);

  /* Configs go to the broker, which checks them. */
  char *compacted = unique_topic("compacted");
  const char *const good[] = {"cleanup.policy", "compact", "segment.ms", "60000", NULL};
  g_assert_cmpint(brook_admin_create_topic(bootstrap, compacted, 1, good, false, errstr, sizeof errstr), ==,
                  0);
  char *bad = unique_topic("badconf");
  const char *const bogus[] = {"cleanup.policy", "sometimes", NULL};
  brook_err_t err = brook_admin_create_topic(bootstrap, bad, 1, bogus, false, errstr, sizeof errstr);
  g_assert_cmpint(err, ==, BROOK_ERR_INVALID_CONFIG);
  g_assert_nonnull(strstr(errstr, bad));
  g_assert_cmpint(brook_admin_partition_count(bootstrap, bad, errstr, sizeof errstr), ==, -1);
  g_free(topic);
  g_free(missing);
  g_free(compacted);
  g_free(bad);
}

static void test_produce_read_typed(void) {
  char errstr[512] = "";
  char *topic = unique_topic("typed");
  const int32_t parts = 4;
  g_assert_cmpint(brook_admin_create_topic(bootstrap, topic, parts, NULL, false, errstr, sizeof errstr), ==,
                  0);
  brook_serde_t *s = brook_serde_string_new(), *i64 = brook_serde_i64_new();
  brook_producer_t *producer = brook_producer_new(bootstrap, errstr, sizeof errstr);
  g_assert_nonnull(producer);
  enum { N = 40 };
  const int64_t base = now_ms() - 60000;
  for (int64_t i = 0; i < N; i++) {
    char key[32];
    snprintf(key, sizeof key, "key-%" G_GINT64_FORMAT, i % 13);
    int64_t value = i * 1000;
    g_assert_cmpint(
        brook_producer_send(producer, topic, -1, s, key, i64, &value, base + i, errstr, sizeof errstr), ==,
        0);
  }
  /* explicit partition, null key; a tombstone */
  int64_t v = -7;
  g_assert_cmpint(
      brook_producer_send(producer, topic, 2, NULL, NULL, i64, &v, base - 5, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(
      brook_producer_send(producer, topic, -1, s, "key-0", NULL, NULL, base - 6, errstr, sizeof errstr), ==,
      0);
  g_assert_cmpint(brook_producer_flush(producer, TIMEOUT_MS, errstr, sizeof errstr), ==, 0);

  brook_reader_t *reader = brook_reader_new(bootstrap, topic, s, i64, errstr, sizeof errstr);
  g_assert_nonnull(reader);
  GPtrArray *got = g_ptr_array_new_with_free_func(got_free);
  g_assert_cmpint(brook_reader_read(reader, collect_string_i64, got, TIMEOUT_MS, errstr, sizeof errstr), ==,
                  N + 2);
  assert_read_order(got);
  /* Every keyed record sits where Java's producer would have put it; within a
   * key, values come in the order sent (per-partition order is kept). */
  GHashTable *last_value = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  int keyed = 0, tombstones = 0, nullkeys = 0;
  for (guint i = 0; i < got->len; i++) {
    got_t *g = got->pdata[i];
    g_assert_cmpstr(g->headers, ==, "");
    if (!g->key) {
      nullkeys++;
      g_assert_cmpint(g->partition, ==, 2);
      g_assert_cmpint(g->value, ==, -7);
      g_assert_cmpint(g->timestamp, ==, base - 5);
      continue;
    }
    g_assert_cmpint(g->partition, ==, java_partition(g->key, strlen(g->key), parts));
    if (g->value_null) {
      tombstones++;
      g_assert_cmpstr(g->key, ==, "key-0");
      g_assert_cmpint(g->timestamp, ==, base - 6);
      continue;
    }
    keyed++;
    g_assert_cmpint(g->timestamp, ==, base + g->value / 1000);
    g_assert_cmpint(g->value / 1000 % 13, ==, atoi(g->key + 4));
    int64_t *prev = g_hash_table_lookup(last_value, g->key);
    if (prev) g_assert_cmpint(*prev, <, g->value);
    g_hash_table_replace(last_value, g_strdup(g->key), g_memdup2(&g->value, sizeof g->value));
  }
  g_assert_cmpint(keyed, ==, N);
  g_assert_cmpint(tombstones, ==, 1);
  g_assert_cmpint(nullkeys, ==, 1);
  /* The 13 keys spread over more than one partition (else the check above proves little). */
  GHashTable *used = g_hash_table_new(NULL, NULL);
  for (guint i = 0; i < got->len; i++)
    g_hash_table_add(used, GINT_TO_POINTER(((got_t *)got->pdata[i])->partition));
  g_assert_cmpuint(g_hash_table_size(used), >=, 3);
  /* offsets per partition are 0, 1, 2, ... */
  int64_t next[4] = {0};
  for (guint i = 0; i < got->len; i++) {
    got_t *g = got->pdata[i];
    g_assert_cmpint(g->offset, ==, next[g->partition]++);
  }
  g_hash_table_destroy(used);
  g_hash_table_destroy(last_value);
  g_ptr_array_free(got, TRUE);
  brook_reader_destroy(reader);
  brook_producer_destroy(producer);
  brook_serde_unref(s);
  brook_serde_unref(i64);
  g_free(topic);
}

/* i32 keys: the partition is murmur2 of the serialized (big-endian) key. */
static void collect_i32_string(const brook_read_record_t *r, void *opaque) {
  GPtrArray *out = opaque;
  got_t *g = g_new0(got_t, 1);
  g->value = *(const int32_t *)r->rec->key;
  g->key = r->rec->value ? g_strdup(r->rec->value) : NULL;
  g->partition = r->partition;
  g->offset = r->offset;
  g->timestamp = r->rec->timestamp;
  g->headers = headers_text(r->rec->headers);
  g_ptr_array_add(out, g);
}

static void test_i32_keys_and_empty_values(void) {
  char errstr[512] = "";
  char *topic = unique_topic("i32keys");
  const int32_t parts = 5;
  g_assert_cmpint(brook_admin_create_topic(bootstrap, topic, parts, NULL, false, errstr, sizeof errstr), ==,
                  0);
  brook_serde_t *s = brook_serde_string_new(), *i32 = brook_serde_i32_new();
  brook_producer_t *producer = brook_producer_new(bootstrap, errstr, sizeof errstr);
  for (int32_t k = -3; k < 20; k++)
    g_assert_cmpint(
        brook_producer_send(producer, topic, -1, i32, &k, s, k == 0 ? "" : "v", -1, errstr, sizeof errstr),
        ==, 0);
  g_assert_cmpint(brook_producer_flush(producer, TIMEOUT_MS, errstr, sizeof errstr), ==, 0);
  brook_reader_t *reader = brook_reader_new(bootstrap, topic, i32, s, errstr, sizeof errstr);
  GPtrArray *got = g_ptr_array_new_with_free_func(got_free);
  g_assert_cmpint(brook_reader_read(reader, collect_i32_string, got, TIMEOUT_MS, errstr, sizeof errstr), ==,
                  23);
  int64_t now = g_get_real_time() / 1000;
  for (guint i = 0; i < got->len; i++) {
    got_t *g = got->pdata[i];
    uint8_t be[4];
    brook_serde_put_i32(be, (int32_t)g->value);
    g_assert_cmpint(g->partition, ==, java_partition(be, 4, parts));
    g_assert_cmpstr(g->key, ==, g->value == 0 ? "" : "v"); /* empty is not null */
    /* timestamp -1 = now */
    g_assert_cmpint(g->timestamp, <=, now);
    g_assert_cmpint(g->timestamp, >, now - 60000);
  }
  g_ptr_array_free(got, TRUE);
  brook_reader_destroy(reader);
  brook_producer_destroy(producer);
  brook_serde_unref(s);
  brook_serde_unref(i32);
  g_free(topic);
}

/* Headers written by a plain librdkafka producer come through the reader. */
static void test_read_headers(void) {
  char errstr[512] = "";
  char *topic = unique_topic("headers");
  g_assert_cmpint(brook_admin_create_topic(bootstrap, topic, 1, NULL, false, errstr, sizeof errstr), ==, 0);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
  rd_kafka_conf_set(conf, "log_level", "0", NULL, 0);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  g_assert_nonnull(rk);
  const int64_t base = now_ms() - 60000;
  for (int i = 0; i < 3; i++) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(3);
    rd_kafka_header_add(h, "trace", -1, "abc", -1);
    if (i == 1) rd_kafka_header_add(h, "empty", -1, NULL, 0);
    if (i == 2) rd_kafka_header_add(h, "trace", -1, "def", -1);
    int64_t value = i;
    uint8_t be[8];
    brook_serde_put_i64(be, value);
    g_assert_cmpint(
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_KEY("k", 1),
                          RD_KAFKA_V_VALUE(be, 8), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_TIMESTAMP(base + i), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END),
        ==, 0);
  }
  g_assert_cmpint(rd_kafka_flush(rk, TIMEOUT_MS), ==, 0);
  rd_kafka_destroy(rk);

  brook_serde_t *s = brook_serde_string_new(), *i64 = brook_serde_i64_new();
  brook_reader_t *reader = brook_reader_new(bootstrap, topic, s, i64, errstr, sizeof errstr);
  GPtrArray *got = g_ptr_array_new_with_free_func(got_free);
  g_assert_cmpint(brook_reader_read(reader, collect_string_i64, got, TIMEOUT_MS, errstr, sizeof errstr), ==,
                  3);
  g_assert_cmpstr(((got_t *)got->pdata[0])->headers, ==, "trace=abc");
  g_assert_cmpstr(((got_t *)got->pdata[1])->headers, ==, "trace=abc;empty");
  g_assert_cmpstr(((got_t *)got->pdata[2])->headers, ==, "trace=abc;trace=def");
  for (int i = 0; i < 3; i++) {
    got_t *g = got->pdata[i];
    g_assert_cmpint(g->offset, ==, i);
    g_assert_cmpint(g->timestamp, ==, base + i);
    g_assert_cmpint(g->value, ==, i);
    g_assert_cmpstr(g->key, ==, "k");
  }
  g_ptr_array_free(got, TRUE);
  brook_reader_destroy(reader);
  brook_serde_unref(s);
  brook_serde_unref(i64);
  g_free(topic);
}

static void test_read_incrementally(void) {
  char errstr[512] = "";
  char *topic = unique_topic("incremental");
  g_assert_cmpint(brook_admin_create_topic(bootstrap, topic, 3, NULL, false, errstr, sizeof errstr), ==, 0);
  brook_serde_t *s = brook_serde_string_new(), *i64 = brook_serde_i64_new();
  brook_reader_t *reader = brook_reader_new(bootstrap, topic, s, i64, errstr, sizeof errstr);
  g_assert_nonnull(reader);
  GPtrArray *got = g_ptr_array_new_with_free_func(got_free);
  /* empty topic */
  g_assert_cmpint(brook_reader_read(reader, collect_string_i64, got, TIMEOUT_MS, errstr, sizeof errstr), ==,
                  0);

  brook_producer_t *producer = brook_producer_new(bootstrap, errstr, sizeof errstr);
  const int64_t base = now_ms() - 60000;
  int64_t total = 0;
  for (int round = 0; round < 4; round++) {
    int n = 5 + round * 7;
    for (int i = 0; i < n; i++) {
      char key[16];
      snprintf(key, sizeof key, "k%d", i);
      int64_t value = total + i;
      g_assert_cmpint(
          brook_producer_send(producer, topic, -1, s, key, i64, &value, base + value, errstr, sizeof errstr),
          ==, 0);
    }
    g_assert_cmpint(brook_producer_flush(producer, TIMEOUT_MS, errstr, sizeof errstr), ==, 0);
    g_ptr_array_set_size(got, 0);
    g_assert_cmpint(brook_reader_read(reader, collect_string_i64, got, TIMEOUT_MS, errstr, sizeof errstr), ==,
                    n);
    /* Exactly the new records: values total .. total+n-1, each once. */
    GHashTable *seen = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (guint i = 0; i < got->len; i++) {
      got_t *g = got->pdata[i];
      g_assert_cmpint(g->value, >=, total);
      g_assert_cmpint(g->value, <, total + n);
      g_assert_cmpint(g->timestamp, ==, base + g->value);
      g_assert_true(g_hash_table_add(seen, &g->value));
    }
    g_hash_table_destroy(seen);
    assert_read_order(got);
    total += n;
    /* Nothing new: nothing read. */
    g_ptr_array_set_size(got, 0);
    g_assert_cmpint(brook_reader_read(reader, collect_string_i64, got, TIMEOUT_MS, errstr, sizeof errstr), ==,
                    0);
  }
  /* A second reader reads everything from the beginning. */
  brook_reader_t *again = brook_reader_new(bootstrap, topic, s, i64, errstr, sizeof errstr);
  g_ptr_array_set_size(got, 0);
  g_assert_cmpint(brook_reader_read(again, collect_string_i64, got, TIMEOUT_MS, errstr, sizeof errstr), ==,
                  total);
  brook_reader_destroy(again);
  g_ptr_array_free(got, TRUE);
  brook_reader_destroy(reader);
  brook_producer_destroy(producer);
  brook_serde_unref(s);
  brook_serde_unref(i64);
  g_free(topic);
}

static void count_cb(const brook_read_record_t *r, void *opaque) { (*(int *)opaque)++; }

static void test_errors(void) {
  char errstr[512] = "";
  /* A reader on a missing topic. */
  char *missing = unique_topic("nosuch");
  g_assert_null(brook_reader_new(bootstrap, missing, NULL, NULL, errstr, sizeof errstr));
  g_assert_nonnull(strstr(errstr, missing));

  /* Bytes that do not deserialize: -1 naming the serde; the record stays. */
  char *topic = unique_topic("malformed");
  g_assert_cmpint(brook_admin_create_topic(bootstrap, topic, 1, NULL, false, errstr, sizeof errstr), ==, 0);
  brook_producer_t *producer = brook_producer_new(bootstrap, errstr, sizeof errstr);
  g_assert_cmpint(brook_producer_send_bytes(producer, topic, 0, NULL, 0, "abc", 3, -1, errstr, sizeof errstr),
                  ==, 0);
  g_assert_cmpint(brook_producer_flush(producer, TIMEOUT_MS, errstr, sizeof errstr), ==, 0);
  brook_serde_t *i32 = brook_serde_i32_new();
  brook_reader_t *reader = brook_reader_new(bootstrap, topic, NULL, i32, errstr, sizeof errstr);
  int count = 0;
  g_assert_cmpint(brook_reader_read(reader, count_cb, &count, TIMEOUT_MS, errstr, sizeof errstr), ==, -1);
  g_assert_nonnull(strstr(errstr, "i32"));
  g_assert_nonnull(strstr(errstr, topic));
  g_assert_cmpint(brook_reader_read(reader, count_cb, &count, TIMEOUT_MS, errstr, sizeof errstr), ==, -1);
  g_assert_cmpint(count, ==, 0);
  brook_reader_destroy(reader);

  /* A delivery error shows at flush, naming the topic. */
  char *small = unique_topic("small");
  const char *const cfg[] = {"max.message.bytes", "1000", NULL};
  g_assert_cmpint(brook_admin_create_topic(bootstrap, small, 1, cfg, false, errstr, sizeof errstr), ==, 0);
  char *big = g_malloc0(20000);
  for (int i = 0; i < 19999; i++)
    big[i] = (char)('a' + i % 26); /* incompressible enough, and not compressed */
  g_assert_cmpint(
      brook_producer_send_bytes(producer, small, 0, NULL, 0, big, 20000, -1, errstr, sizeof errstr), ==, 0);
  brook_err_t err = brook_producer_flush(producer, TIMEOUT_MS, errstr, sizeof errstr);
  g_assert_cmpint(err, !=, 0);
  g_test_message("flush: %s", errstr);
  g_assert_nonnull(strstr(errstr, small));
  /* The error is reported once. */
  g_assert_cmpint(brook_producer_flush(producer, TIMEOUT_MS, errstr, sizeof errstr), ==, 0);
  g_free(big);

  brook_producer_destroy(producer);
  brook_serde_unref(i32);
  g_free(missing);
  g_free(topic);
  g_free(small);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  char *dir = g_dir_make_tmp("brook-test-client-XXXXXX", NULL);
  g_assert_nonnull(dir);
  char errstr[512];
  brook_broker_conf_t *bconf = brook_broker_conf_new();
  g_assert_cmpint(brook_broker_conf_set(bconf, "listeners", "PLAINTEXT://127.0.0.1:0", errstr, sizeof errstr),
                  ==, 0);
  g_assert_cmpint(brook_broker_conf_set(bconf, "log.dirs", dir, errstr, sizeof errstr), ==, 0);
  broker = brook_broker_start(bconf, errstr, sizeof errstr);
  if (!broker) g_error("broker: %s", errstr);
  brook_broker_conf_destroy(bconf);
  bootstrap = brook_broker_bootstrap(broker);

  g_test_add_func("/streams/client/murmur2-vectors", test_murmur2_vectors);
  g_test_add_func("/streams/client/create-topic", test_create_topic);
  g_test_add_func("/streams/client/produce-read-typed", test_produce_read_typed);
  g_test_add_func("/streams/client/i32-keys-empty-values", test_i32_keys_and_empty_values);
  g_test_add_func("/streams/client/read-headers", test_read_headers);
  g_test_add_func("/streams/client/read-incrementally", test_read_incrementally);
  g_test_add_func("/streams/client/errors", test_errors);
  int rc = g_test_run();

  brook_broker_stop(broker);
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  g_free(dir);
  return rc;
}
