/*
 * test-librdkafka.c — the real broker driven by the real librdkafka 2.0.2:
 * produce with every codec and acks level, consume back exactly, offsets by
 * time, oversize records, the idempotent producer, auto-creation, and kill -9
 * of a brookd subprocess without losing an acknowledged record.
 */
#include <librdkafka/rdkafka.h>

#include "harness.h"

#define TIMEOUT_MS 20000

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *bootstrap, const char *const *kv) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
  rd_kafka_conf_set(conf, "log_level", g_getenv("BROOK_TEST_LOG") ? "7" : "0", NULL, 0);
  for (int i = 0; kv && kv[i]; i += 2)
    if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) g_error("%s", errstr);
  rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  if (!rk) g_error("rd_kafka_new: %s", errstr);
  return rk;
}

typedef struct dr_state {
  int delivered;
  int failed;
  rd_kafka_resp_err_t last_err;
  int64_t offsets[4096];
} dr_state_t;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  dr_state_t *st = opaque;
  (void)rk;
  if (m->err) {
    st->failed++;
    st->last_err = m->err;
  } else {
    intptr_t idx = (intptr_t)m->_private;
    if (idx >= 0 && idx < 4096) st->offsets[idx] = m->offset;
    st->delivered++;
  }
}

static rd_kafka_t *new_producer(const char *bootstrap, dr_state_t *st, const char *const *kv) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
  rd_kafka_conf_set(conf, "log_level", g_getenv("BROOK_TEST_LOG") ? "7" : "0", NULL, 0);
  rd_kafka_conf_set(conf, "message.timeout.ms", "15000", NULL, 0);
  for (int i = 0; kv && kv[i]; i += 2)
    if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) g_error("%s", errstr);
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_conf_set_opaque(conf, st);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  g_assert_nonnull(rk);
  return rk;
}

/* Produces n records key-i/value-i (with a header and a timestamp base+i) to
 * one partition and waits for all delivery reports. */
static void produce_n(rd_kafka_t *rk, const char *topic, int32_t part, int n, int64_t ts_base, size_t value_size) {
  char *value = g_malloc(value_size + 32);
  for (int i = 0; i < n; i++) {
    char key[32];
    snprintf(key, sizeof key, "key-%d", i);
    int vl = snprintf(value, value_size + 32, "value-%d-", i);
    for (size_t k = (size_t)vl; k < value_size; k++) value[k] = (char)('a' + (i + k) % 26);
    size_t vlen = MAX((size_t)vl, value_size);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
    rd_kafka_header_add(hdrs, "h", 1, key, (ssize_t)strlen(key));
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE(value, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_TIMESTAMP(ts_base + i), RD_KAFKA_V_HEADERS(hdrs),
                          RD_KAFKA_V_OPAQUE((void *)(intptr_t)i), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 100);
      i--;
      rd_kafka_headers_destroy(hdrs);
      continue;
    }
    g_assert_cmpint(err, ==, 0);
    rd_kafka_poll(rk, 0);
  }
  g_assert_cmpint(rd_kafka_flush(rk, TIMEOUT_MS), ==, 0);
  g_free(value);
}

/* Reads n records from offset `from` of topic/part and checks each one. */
static void consume_check(const char *bootstrap, const char *topic, int32_t part, int64_t from, int n, int64_t ts_base,
                          size_t value_size, int first_index) {
  rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, bootstrap, (const char *const[]){"group.id", "brook-test", "enable.auto.commit", "false", NULL});
  rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tp, topic, part)->offset = from;
  g_assert_cmpint(rd_kafka_assign(rk, tp), ==, 0);
  rd_kafka_topic_partition_list_destroy(tp);
  int got = 0;
  gint64 until = g_get_monotonic_time() + TIMEOUT_MS * 1000LL;
  char *expect = g_malloc(value_size + 32);
  while (got < n && g_get_monotonic_time() < until) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      continue;
    }
    g_assert_cmpint(m->err, ==, 0);
    int i = first_index + got;
    char key[32];
    snprintf(key, sizeof key, "key-%d", i);
    g_assert_cmpint(m->offset, ==, from + got);
    g_assert_cmpmem(m->key, m->key_len, key, strlen(key));
    int vl = snprintf(expect, value_size + 32, "value-%d-", i);
    for (size_t k = (size_t)vl; k < value_size; k++) expect[k] = (char)('a' + (i + k) % 26);
    g_assert_cmpmem(m->payload, m->len, expect, MAX((size_t)vl, value_size));
    rd_kafka_timestamp_type_t tstype;
    g_assert_cmpint(rd_kafka_message_timestamp(m, &tstype), ==, ts_base + i);
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv;
    size_t hl;
    g_assert_cmpint(rd_kafka_message_headers(m, &hdrs), ==, 0);
    g_assert_cmpint(rd_kafka_header_get_last(hdrs, "h", &hv, &hl), ==, 0);
    g_assert_cmpmem(hv, hl, key, strlen(key));
    rd_kafka_message_destroy(m);
    got++;
  }
  g_free(expect);
  g_assert_cmpint(got, ==, n);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

static void test_codecs_and_acks(void) {
  harness_t h = {0};
  harness_start(&h, NULL);
  const char *codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  const char *acks[] = {"1", "all"};
  int64_t ts = 1700000000000;
  for (size_t c = 0; c < G_N_ELEMENTS(codecs); c++)
    for (size_t a = 0; a < G_N_ELEMENTS(acks); a++) {
      char topic[64];
      snprintf(topic, sizeof topic, "codec-%s-acks-%s", codecs[c], acks[a]);
      dr_state_t st = {0};
      rd_kafka_t *p = new_producer(h.bootstrap, &st,
                                   (const char *const[]){"compression.codec", codecs[c], "acks", acks[a], "linger.ms", "5", NULL});
      produce_n(p, topic, 0, 500, ts, 200);
      g_assert_cmpint(st.failed, ==, 0);
      g_assert_cmpint(st.delivered, ==, 500);
      for (int i = 0; i < 500; i++) g_assert_cmpint(st.offsets[i], ==, i);
      rd_kafka_destroy(p);
      consume_check(h.bootstrap, topic, 0, 0, 500, ts, 200, 0);
      consume_check(h.bootstrap, topic, 0, 123, 10, ts, 200, 123); /* from inside a batch */
    }
  harness_cleanup(&h);
}

static void test_acks0(void) {
  harness_t h = {0};
  harness_start(&h, NULL);
  dr_state_t st = {0};
  rd_kafka_t *p = new_producer(h.bootstrap, &st, (const char *const[]){"acks", "0", NULL});
  produce_n(p, "acks0", 0, 100, 1000, 10);
  g_assert_cmpint(st.delivered, ==, 100);
  rd_kafka_destroy(p);
  consume_check(h.bootstrap, "acks0", 0, 0, 100, 1000, 10, 0);
  harness_cleanup(&h);
}

static void test_offsets_for_times(void) {
  harness_t h = {0};
  harness_start(&h, NULL);
  dr_state_t st = {0};
  rd_kafka_t *p = new_producer(h.bootstrap, &st, (const char *const[]){"linger.ms", "0", NULL});
  produce_n(p, "times", 0, 300, 5000, 20);
  rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(3);
  rd_kafka_topic_partition_list_add(tp, "times", 0)->offset = 5000 + 150; /* timestamps are 5000 + i */
  g_assert_cmpint(rd_kafka_offsets_for_times(p, tp, TIMEOUT_MS), ==, 0);
  g_assert_cmpint(tp->elems[0].err, ==, 0);
  g_assert_cmpint(tp->elems[0].offset, ==, 150);
  tp->elems[0].offset = 999999; /* after every record: no offset (-1, as Kafka answers) */
  g_assert_cmpint(rd_kafka_offsets_for_times(p, tp, TIMEOUT_MS), ==, 0);
  g_assert_cmpint(tp->elems[0].offset, ==, -1);
  rd_kafka_topic_partition_list_destroy(tp);
  int64_t lo = -5, hi = -5;
  g_assert_cmpint(rd_kafka_query_watermark_offsets(p, "times", 0, &lo, &hi, TIMEOUT_MS), ==, 0);
  g_assert_cmpint(lo, ==, 0);
  g_assert_cmpint(hi, ==, 300);
  rd_kafka_destroy(p);
  harness_cleanup(&h);
}

static void test_oversize(void) {
  harness_t h = {0};
  harness_start(&h, (const char *const[]){"message.max.bytes", "10000", NULL});
  dr_state_t st = {0};
  /* the client would accept it: only the broker's limit applies */
  rd_kafka_t *p = new_producer(h.bootstrap, &st, (const char *const[]){"message.max.bytes", "1000000", "linger.ms", "0", NULL});
  produce_n(p, "big", 0, 1, 1000, 50000);
  g_assert_cmpint(st.failed, ==, 1);
  g_assert_cmpint(st.last_err, ==, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  st.failed = 0;
  produce_n(p, "big", 0, 3, 1000, 100); /* the partition still works */
  g_assert_cmpint(st.failed, ==, 0);
  g_assert_cmpint(st.offsets[0], ==, 0);
  rd_kafka_destroy(p);
  consume_check(h.bootstrap, "big", 0, 0, 3, 1000, 100, 0);
  harness_cleanup(&h);
}

static void test_idempotent(void) {
  harness_t h = {0};
  harness_start(&h, (const char *const[]){"num.partitions", "3", NULL});
  dr_state_t st = {0};
  rd_kafka_t *p = new_producer(h.bootstrap, &st,
                               (const char *const[]){"enable.idempotence", "true", "linger.ms", "1", "batch.num.messages", "50", NULL});
  produce_n(p, "idem", 2, 2000, 1000, 30);
  g_assert_cmpint(st.failed, ==, 0);
  for (int i = 0; i < 2000; i++) g_assert_cmpint(st.offsets[i], ==, i);
  rd_kafka_destroy(p);
  consume_check(h.bootstrap, "idem", 2, 0, 2000, 1000, 30, 0);
  harness_cleanup(&h);
}

static void test_autocreate_metadata(void) {
  harness_t h = {0};
  harness_start(&h, (const char *const[]){"num.partitions", "4", NULL});
  rd_kafka_t *p = new_client(RD_KAFKA_PRODUCER, h.bootstrap, NULL);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(p, "auto-made", NULL);
  const struct rd_kafka_metadata *md = NULL;
  /* asking for one topic creates it (auto.create.topics.enable defaults to true) */
  g_assert_cmpint(rd_kafka_metadata(p, 0, rkt, &md, TIMEOUT_MS), ==, 0);
  g_assert_cmpint(md->topic_cnt, ==, 1);
  g_assert_cmpint(md->topics[0].err, ==, 0);
  g_assert_cmpint(md->topics[0].partition_cnt, ==, 4);
  g_assert_cmpint(md->broker_cnt, ==, 1);
  g_assert_cmpint(md->topics[0].partitions[3].leader, ==, md->brokers[0].id);
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(p);
  harness_stop(&h);
  /* disabled: unknown topics stay unknown */
  harness_start(&h, (const char *const[]){"auto.create.topics.enable", "false", NULL});
  p = new_client(RD_KAFKA_PRODUCER, h.bootstrap, NULL);
  rkt = rd_kafka_topic_new(p, "not-made", NULL);
  g_assert_cmpint(rd_kafka_metadata(p, 0, rkt, &md, TIMEOUT_MS), ==, 0);
  g_assert_cmpint(md->topics[0].err, ==, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  rd_kafka_metadata_destroy(md);
  /* but the one created before the restart is still there */
  rd_kafka_topic_destroy(rkt);
  rkt = rd_kafka_topic_new(p, "auto-made", NULL);
  g_assert_cmpint(rd_kafka_metadata(p, 0, rkt, &md, TIMEOUT_MS), ==, 0);
  g_assert_cmpint(md->topics[0].err, ==, 0);
  g_assert_cmpint(md->topics[0].partition_cnt, ==, 4);
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(p);
  harness_cleanup(&h);
}

/* Acknowledged (acks=all) records survive kill -9 of brookd. */
static void test_kill9_restart(void) {
  harness_t h = {0};
  harness_spawn(&h);
  dr_state_t st = {0};
  rd_kafka_t *p = new_producer(h.bootstrap, &st, (const char *const[]){"acks", "all", "linger.ms", "2", "compression.codec", "lz4", NULL});
  produce_n(p, "durable", 0, 3000, 42, 100);
  g_assert_cmpint(st.delivered, ==, 3000);
  rd_kafka_destroy(p);
  int status = harness_kill(&h, SIGKILL);
  g_assert_true(WIFSIGNALED(status));
  harness_spawn(&h); /* same log dir, unclean: recovery runs */
  consume_check(h.bootstrap, "durable", 0, 0, 3000, 42, 100, 0);
  /* and appends continue at the right offset */
  memset(&st, 0, sizeof st);
  p = new_producer(h.bootstrap, &st, NULL);
  produce_n(p, "durable", 0, 1, 42, 100);
  g_assert_cmpint(st.offsets[0], ==, 3000);
  rd_kafka_destroy(p);
  status = harness_kill(&h, SIGTERM);
  g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  harness_cleanup(&h);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  harness_quiet_logs();
  g_test_add_func("/integration/librdkafka/codecs-and-acks", test_codecs_and_acks);
  g_test_add_func("/integration/librdkafka/acks0", test_acks0);
  g_test_add_func("/integration/librdkafka/offsets-for-times", test_offsets_for_times);
  g_test_add_func("/integration/librdkafka/oversize", test_oversize);
  g_test_add_func("/integration/librdkafka/idempotent", test_idempotent);
  g_test_add_func("/integration/librdkafka/autocreate-metadata", test_autocreate_metadata);
  g_test_add_func("/integration/librdkafka/kill9-restart", test_kill9_restart);
  return g_test_run();
}
