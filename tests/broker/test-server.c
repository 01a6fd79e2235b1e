/*
 * test-server.c — the broker at the protocol level, through raw sockets and
 * brook's own codec: ApiVersions negotiation, pipelining, malformed and
 * hostile input (each closes only its own connection), thousands of idle
 * connections, Produce version/CRC/acks rules, the idempotent producer's
 * sequence rules, LogAppendTime, min.insync.replicas, and the fetch long poll
 * being woken by an append.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rawclient.h"

static void test_api_versions(void) {
  harness_t h = {0};
  harness_start(&h, NULL);
  int fd = connect_to(&h);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_api_versions_request_t req = {BROOK_STR("t"), BROOK_STR("1")};
  send_request(fd, BROOK_API_API_VERSIONS, 3, 1, &req);
  brook_api_versions_response_t *resp = recv_response(fd, BROOK_API_API_VERSIONS, 3, 1, a, &keep);
  g_assert_cmpint(resp->error_code, ==, 0);
  bool produce = false, fetch = false;
  for (int i = 0; i < resp->api_keys.count; i++) {
    if (resp->api_keys.items[i].api_key == BROOK_API_PRODUCE) {
      produce = true;
      g_assert_cmpint(resp->api_keys.items[i].min_version, ==, 0);
      g_assert_cmpint(resp->api_keys.items[i].max_version, ==, 9);
    }
    if (resp->api_keys.items[i].api_key == BROOK_API_FETCH) {
      fetch = true;
      g_assert_cmpint(resp->api_keys.items[i].min_version, ==, 4);
    }
  }
  g_assert_true(produce && fetch);
  g_free(keep);
  /* a version from the future: the v0-format answer with UNSUPPORTED_VERSION and our ranges */
  brook_buf_t out;
  brook_buf_init(&out);
  brook_buf_put_i32(&out, 0);
  brook_buf_put_i16(&out, BROOK_API_API_VERSIONS);
  brook_buf_put_i16(&out, 42);
  brook_buf_put_i32(&out, 2);
  brook_buf_put_i16(&out, -1);
  brook_buf_put_uvarint(&out, 0);
  brook_buf_patch_i32(&out, 0, (int32_t)out.len - 4);
  send_all(fd, out.data, out.len);
  brook_buf_free(&out);
  resp = recv_response(fd, BROOK_API_API_VERSIONS, 0, 2, a, &keep);
  g_assert_cmpint(resp->error_code, ==, BROOK_ERR_UNSUPPORTED_VERSION);
  g_assert_cmpint(resp->api_keys.count, >, 5);
  g_free(keep);
  brook_arena_destroy(a);
  close(fd);
  harness_cleanup(&h);
}

static void test_pipelining(void) {
  harness_t h = {0};
  harness_start(&h, NULL);
  int fd = connect_to(&h);
  brook_buf_t out;
  brook_buf_init(&out);
  brook_metadata_request_t md = {0};
  brook_proto_init(&brook_metadata_request_desc, &md);
  md.topics.count = -1;
  for (int i = 0; i < 50; i++) frame_request(&out, BROOK_API_METADATA, (int16_t)(i % 13), 1000 + i, &md);
  send_all(fd, out.data, out.len); /* fifty requests in one write */
  brook_buf_free(&out);
  brook_arena_t *a = brook_arena_new(0);
  for (int i = 0; i < 50; i++) {
    uint8_t *keep;
    brook_metadata_response_t *resp = recv_response(fd, BROOK_API_METADATA, (int16_t)(i % 13), 1000 + i, a, &keep);
    g_assert_cmpint(resp->brokers.count, ==, 1);
    g_free(keep);
  }
  brook_arena_destroy(a);
  close(fd);
  harness_cleanup(&h);
}

static void test_hostile_input(void) {
  harness_t h = {0};
  harness_start(&h, (const char *const[]){"socket.request.max.bytes", "1048576", NULL});
  /* absurd frame size */
  int fd = connect_to(&h);
  send_all(fd, "\x7f\xff\xff\xff", 4);
  g_assert_true(peer_closed(fd));
  close(fd);
  /* negative frame size */
  fd = connect_to(&h);
  send_all(fd, "\xff\xff\xff\xf0garbage", 11);
  g_assert_true(peer_closed(fd));
  close(fd);
  /* unknown API key */
  fd = connect_to(&h);
  send_all(fd, "\x00\x00\x00\x0a\x27\x0f\x00\x00\x00\x00\x00\x05\xff\xff", 14);
  g_assert_true(peer_closed(fd));
  close(fd);
  /* a known API with a garbage body */
  fd = connect_to(&h);
  uint8_t bad[] = {0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff};
  send_all(fd, bad, sizeof bad);
  g_assert_true(peer_closed(fd));
  close(fd);
  /* random garbage */
  GRand *rng = g_rand_new_with_seed(7);
  for (int k = 0; k < 50; k++) {
    fd = connect_to(&h);
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)g_rand_int(rng);
    junk[0] = 0; /* a plausible size so the body gets parsed */
    junk[1] = 0;
    junk[2] = 1;
    junk[3] = 0x28;
    send_all(fd, junk, sizeof junk);
    shutdown(fd, SHUT_WR);
    uint8_t buf[4096];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
  }
  g_rand_free(rng);
  /* a truncated request, then the peer goes away */
  fd = connect_to(&h);
  send_all(fd, "\x00\x00\x01\x00\x00\x03", 6);
  close(fd);
  assert_serving(&h);
  harness_cleanup(&h);
}

static void test_idle_connections(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  int n = (int)MIN(2000, (rl.rlim_cur - 100) / 2); /* client + server ends share our fd table */
  if (n < 100) {
    g_test_skip("open-file limit too low");
    return;
  }
  harness_t h = {0};
  harness_start(&h, NULL);
  int *fds = g_new(int, n);
  for (int i = 0; i < n; i++) fds[i] = connect_to(&h);
  assert_serving(&h);
  /* the idle ones still work too */
  brook_arena_t *a = brook_arena_new(0);
  brook_api_versions_request_t req = {BROOK_STR("t"), BROOK_STR("1")};
  for (int i = 0; i < n; i += n / 10) {
    uint8_t *keep;
    send_request(fds[i], BROOK_API_API_VERSIONS, 3, i, &req);
    recv_response(fds[i], BROOK_API_API_VERSIONS, 3, i, a, &keep);
    g_free(keep);
  }
  brook_arena_destroy(a);
  for (int i = 0; i < n; i++) close(fds[i]);
  g_free(fds);
  harness_cleanup(&h);
}

/* ---- produce through the codec ---- */

typedef struct produce_result {
  int16_t error;
  int64_t base_offset;
  int64_t log_append_time;
} produce_result_t;

static produce_result_t produce_raw(int fd, int16_t version, int16_t acks, const char *topic, const uint8_t *records,
                                    size_t len) {
  static int32_t corr = 5000;
  brook_produce_request_partition_produce_data_t pd = {.index = 0, .records = {records, (int32_t)len, NULL}};
  brook_produce_request_topic_produce_data_t td = {.name = {topic, (int32_t)strlen(topic)}};
  td.partition_data.items = &pd;
  td.partition_data.count = 1;
  brook_produce_request_t req = {0};
  brook_proto_init(&brook_produce_request_desc, &req);
  req.acks = acks;
  req.timeout_ms = 5000;
  req.topic_data.items = &td;
  req.topic_data.count = 1;
  send_request(fd, BROOK_API_PRODUCE, version, ++corr, &req);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_produce_response_t *resp = recv_response(fd, BROOK_API_PRODUCE, version, corr, a, &keep);
  g_assert_cmpint(resp->responses.count, ==, 1);
  g_assert_cmpint(resp->responses.items[0].partition_responses.count, ==, 1);
  brook_produce_response_partition_produce_response_t *p = &resp->responses.items[0].partition_responses.items[0];
  produce_result_t r = {p->error_code, p->base_offset, p->log_append_time_ms};
  g_free(keep);
  brook_arena_destroy(a);
  return r;
}

/* A batch of n records (values "v<i>") with producer fields. */
static void make_batch(brook_buf_t *out, int n, int64_t pid, int16_t epoch, int32_t seq) {
  brook_batch_builder_t bb;
  int64_t now = g_get_real_time() / 1000; /* recent: retention.ms must not take them */
  brook_batch_builder_init(&bb, BROOK_CODEC_NONE, now);
  bb.producer_id = pid;
  bb.producer_epoch = epoch;
  bb.base_sequence = seq;
  for (int i = 0; i < n; i++) {
    char v[16];
    snprintf(v, sizeof v, "v%d", i);
    brook_batch_builder_add(&bb, now + i, (brook_bytes_t){NULL, -1}, (brook_bytes_t){(const uint8_t *)v, (int32_t)strlen(v)});
  }
  brook_buf_reset(out);
  g_assert_cmpint(brook_batch_builder_finish(&bb, out), ==, 0);
  brook_batch_builder_free(&bb);
}

static int64_t init_pid(int fd, int16_t *epoch) {
  brook_init_producer_id_request_t req = {0};
  brook_proto_init(&brook_init_producer_id_request_desc, &req);
  req.transactional_id = BROOK_STR_NULL;
  req.transaction_timeout_ms = 60000;
  send_request(fd, BROOK_API_INIT_PRODUCER_ID, 4, 9, &req);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_init_producer_id_response_t *resp = recv_response(fd, BROOK_API_INIT_PRODUCER_ID, 4, 9, a, &keep);
  g_assert_cmpint(resp->error_code, ==, 0);
  int64_t pid = resp->producer_id;
  *epoch = resp->producer_epoch;
  g_free(keep);
  brook_arena_destroy(a);
  return pid;
}

static void test_produce_rules(void) {
  harness_t h = {0};
  harness_start(&h, NULL);
  int fd = connect_to(&h);
  brook_buf_t batch;
  brook_buf_init(&batch);
  make_batch(&batch, 3, -1, -1, -1);
  /* v0-2 are advertised but answered with UNSUPPORTED_VERSION */
  g_assert_cmpint(produce_raw(fd, 2, 1, "rules", batch.data, batch.len).error, ==, BROOK_ERR_UNSUPPORTED_VERSION);
  g_assert_cmpint(produce_raw(fd, 9, 1, "rules", batch.data, batch.len).base_offset, ==, 0);
  g_assert_cmpint(produce_raw(fd, 3, 1, "rules", batch.data, batch.len).base_offset, ==, 3);
  g_assert_cmpint(produce_raw(fd, 9, 5, "rules", batch.data, batch.len).error, ==, BROOK_ERR_INVALID_REQUIRED_ACKS);
  /* a flipped byte inside the CRC-covered part */
  batch.data[batch.len - 1] ^= 0x55;
  g_assert_cmpint(produce_raw(fd, 9, 1, "rules", batch.data, batch.len).error, ==, BROOK_ERR_CORRUPT_MESSAGE);
  /* a bad topic name */
  make_batch(&batch, 1, -1, -1, -1);
  g_assert_cmpint(produce_raw(fd, 9, 1, "no/slash", batch.data, batch.len).error, ==, BROOK_ERR_INVALID_TOPIC_EXCEPTION);
  /* the log holds exactly the two good batches */
  g_assert_cmpint(produce_raw(fd, 9, 1, "rules", batch.data, batch.len).base_offset, ==, 6);
  brook_buf_free(&batch);
  close(fd);
  harness_cleanup(&h);
}

static void test_idempotent_sequences(void) {
  harness_t h = {0};
  harness_start(&h, NULL);
  int fd = connect_to(&h);
  int16_t epoch;
  int64_t pid = init_pid(fd, &epoch);
  g_assert_cmpint(pid, >=, 0);
  g_assert_cmpint(epoch, ==, 0);
  int16_t e2;
  g_assert_cmpint(init_pid(fd, &e2), !=, pid); /* every producer gets its own id */
  brook_buf_t b;
  brook_buf_init(&b);
  make_batch(&b, 10, pid, 0, 0);
  g_assert_cmpint(produce_raw(fd, 9, -1, "idem", b.data, b.len).base_offset, ==, 0);
  make_batch(&b, 10, pid, 0, 0); /* a retry of the same batch: same offsets, nothing appended */
  produce_result_t r = produce_raw(fd, 9, -1, "idem", b.data, b.len);
  g_assert_cmpint(r.error, ==, 0);
  g_assert_cmpint(r.base_offset, ==, 0);
  make_batch(&b, 5, pid, 0, 20); /* a gap */
  g_assert_cmpint(produce_raw(fd, 9, -1, "idem", b.data, b.len).error, ==, BROOK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  for (int i = 0; i < 6; i++) { /* seq 10.. in batches of 5: pushes the first batch out of the cache */
    make_batch(&b, 5, pid, 0, 10 + 5 * i);
    g_assert_cmpint(produce_raw(fd, 9, -1, "idem", b.data, b.len).base_offset, ==, 10 + 5 * i);
  }
  make_batch(&b, 10, pid, 0, 0); /* too old to answer with offsets */
  g_assert_cmpint(produce_raw(fd, 9, -1, "idem", b.data, b.len).error, ==, BROOK_ERR_DUPLICATE_SEQUENCE_NUMBER);
  make_batch(&b, 1, pid, 1, 0); /* a bumped epoch restarts at 0 */
  g_assert_cmpint(produce_raw(fd, 9, -1, "idem", b.data, b.len).base_offset, ==, 40);
  make_batch(&b, 1, pid, 0, 40); /* the old epoch is fenced */
  g_assert_cmpint(produce_raw(fd, 9, -1, "idem", b.data, b.len).error, ==, BROOK_ERR_INVALID_PRODUCER_EPOCH);
  make_batch(&b, 1, pid + 100, 0, 7); /* an unknown producer mid-stream */
  g_assert_cmpint(produce_raw(fd, 9, -1, "idem", b.data, b.len).error, ==, BROOK_ERR_UNKNOWN_PRODUCER_ID);
  close(fd);
  /* the sequence state survives a restart (snapshot at clean shutdown) */
  harness_stop(&h);
  harness_start(&h, NULL);
  fd = connect_to(&h);
  make_batch(&b, 1, pid, 1, 0);
  r = produce_raw(fd, 9, -1, "idem", b.data, b.len);
  g_assert_cmpint(r.error, ==, 0);
  g_assert_cmpint(r.base_offset, ==, 40);
  make_batch(&b, 1, pid, 1, 1);
  g_assert_cmpint(produce_raw(fd, 9, -1, "idem", b.data, b.len).base_offset, ==, 41);
  brook_buf_free(&b);
  close(fd);
  harness_cleanup(&h);
}

static void test_topic_settings(void) {
  harness_t h = {0};
  harness_start(&h, (const char *const[]){"log.message.timestamp.type", "LogAppendTime", "min.insync.replicas", "2", NULL});
  int fd = connect_to(&h);
  brook_buf_t b;
  brook_buf_init(&b);
  make_batch(&b, 2, -1, -1, -1);
  int64_t before = g_get_real_time() / 1000;
  produce_result_t r = produce_raw(fd, 9, 1, "lat", b.data, b.len);
  g_assert_cmpint(r.error, ==, 0);
  g_assert_cmpint(r.log_append_time, >=, before);
  g_assert_cmpint(r.log_append_time, <=, g_get_real_time() / 1000);
  /* acks=all needs 2 in-sync replicas; one node has 1 */
  g_assert_cmpint(produce_raw(fd, 9, -1, "lat", b.data, b.len).error, ==, BROOK_ERR_NOT_ENOUGH_REPLICAS);
  brook_buf_free(&b);
  close(fd);
  harness_cleanup(&h);
}

/* One-partition fetch request (partition 0 of topic); the caller keeps the
 * three structs alive while it is sent. */
typedef struct fetch_req {
  brook_fetch_request_fetch_partition_t part;
  brook_fetch_request_fetch_topic_t topic;
  brook_fetch_request_t req;
} fetch_req_t;

static void fetch_req_init(fetch_req_t *f, const char *topic, int64_t offset, int32_t max_wait_ms) {
  memset(f, 0, sizeof *f);
  brook_proto_init(&brook_fetch_request_fetch_partition_desc, &f->part);
  f->part.fetch_offset = offset;
  f->part.partition_max_bytes = 1 << 20;
  f->topic.topic = (brook_str_t){topic, (int32_t)strlen(topic)};
  f->topic.partitions.items = &f->part;
  f->topic.partitions.count = 1;
  brook_proto_init(&brook_fetch_request_desc, &f->req);
  f->req.replica_id = -1;
  f->req.max_wait_ms = max_wait_ms;
  f->req.min_bytes = 1;
  f->req.max_bytes = 1 << 20;
  f->req.topics.items = &f->topic;
  f->req.topics.count = 1;
}

/* A fetch waiting for data (max_wait 60 s) is answered by an append, not by
 * its deadline: the socket's 20 s receive timeout would fail the test. */
static void test_fetch_long_poll(void) {
  harness_t h = {0};
  harness_start(&h, NULL);
  int pfd = connect_to(&h), ffd = connect_to(&h);
  brook_buf_t b;
  brook_buf_init(&b);
  make_batch(&b, 1, -1, -1, -1);
  g_assert_cmpint(produce_raw(pfd, 9, 1, "poll", b.data, b.len).base_offset, ==, 0);
  fetch_req_t f;
  fetch_req_init(&f, "poll", 1, 60000);
  send_request(ffd, BROOK_API_FETCH, 11, 31, &f.req);
  /* pipelined behind the parked fetch: must come after it, in order */
  brook_api_versions_request_t av = {BROOK_STR("t"), BROOK_STR("1")};
  send_request(ffd, BROOK_API_API_VERSIONS, 3, 32, &av);
  make_batch(&b, 4, -1, -1, -1);
  g_assert_cmpint(produce_raw(pfd, 9, 1, "poll", b.data, b.len).base_offset, ==, 1);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep, *keep2;
  brook_fetch_response_t *resp = recv_response(ffd, BROOK_API_FETCH, 11, 31, a, &keep);
  g_assert_cmpint(resp->responses.count, ==, 1);
  brook_fetch_response_partition_data_t *pd = &resp->responses.items[0].partitions.items[0];
  g_assert_cmpint(pd->error_code, ==, 0);
  g_assert_cmpint(pd->high_watermark, ==, 5);
  g_assert_cmpint(pd->records.len, ==, (int32_t)b.len);
  brook_batch_hdr_t hdr;
  brook_batch_hdr_parse(pd->records.ptr, &hdr);
  g_assert_cmpint(hdr.base_offset, ==, 1);
  g_assert_cmpint(hdr.record_count, ==, 4);
  recv_response(ffd, BROOK_API_API_VERSIONS, 3, 32, a, &keep2);
  g_free(keep);
  g_free(keep2);
  /* out of range */
  fetch_req_init(&f, "poll", 99, 0);
  send_request(ffd, BROOK_API_FETCH, 11, 33, &f.req);
  resp = recv_response(ffd, BROOK_API_FETCH, 11, 33, a, &keep);
  g_assert_cmpint(resp->responses.items[0].partitions.items[0].error_code, ==, BROOK_ERR_OFFSET_OUT_OF_RANGE);
  g_free(keep);
  brook_arena_destroy(a);
  brook_buf_free(&b);
  close(pfd);
  close(ffd);
  harness_cleanup(&h);
}

/* Clients that go away while their fetch is parked: the append that wakes
 * those fetches answers into closed sockets, which closes those connections
 * while the parked queue is being walked (a use-after-free here once). */
static void test_parked_fetch_peer_gone(void) {
  harness_t h = {0};
  harness_start(&h, NULL);
  int pfd = connect_to(&h);
  brook_buf_t b;
  brook_buf_init(&b);
  make_batch(&b, 1, -1, -1, -1);
  g_assert_cmpint(produce_raw(pfd, 9, 1, "gone", b.data, b.len).base_offset, ==, 0);
  fetch_req_t f;
  fetch_req_init(&f, "gone", 1, 60000);
  for (int round = 0; round < 20; round++) {
    int fds[8];
    for (int i = 0; i < 8; i++) {
      fds[i] = connect_to(&h);
      send_request(fds[i], BROOK_API_FETCH, 11, 1, &f.req);
    }
    /* a round trip on the producer connection orders us after the parked fetches */
    assert_serving(&h);
    for (int i = 0; i < 8; i++) {
      struct linger lg = {1, 0}; /* close with RST: the broker's writes fail at once */
      setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close(fds[i]);
    }
    g_assert_cmpint(produce_raw(pfd, 9, 1, "gone", b.data, b.len).base_offset, ==, 1 + round);
    f.part.fetch_offset = 2 + round;
  }
  assert_serving(&h);
  brook_buf_free(&b);
  close(pfd);
  harness_cleanup(&h);
}

/* Fetches offset `from` of topic/partition 0 once (no wait); returns the first
 * batch's base offset and record count through the out parameters. */
static int16_t fetch_once(int fd, const char *topic, int64_t from, int64_t *base, int32_t *count, int64_t *log_start) {
  fetch_req_t f;
  fetch_req_init(&f, topic, from, 0);
  send_request(fd, BROOK_API_FETCH, 12, 71, &f.req);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_fetch_response_t *resp = recv_response(fd, BROOK_API_FETCH, 12, 71, a, &keep);
  brook_fetch_response_partition_data_t *pd = &resp->responses.items[0].partitions.items[0];
  int16_t err = pd->error_code;
  *log_start = pd->log_start_offset;
  if (!err && pd->records.len >= BROOK_BATCH_HDR_SIZE) {
    brook_batch_hdr_t hdr;
    brook_batch_hdr_parse(pd->records.ptr, &hdr);
    *base = hdr.base_offset;
    *count = hdr.record_count;
  } else {
    *base = -1;
    *count = 0;
  }
  g_free(keep);
  brook_arena_destroy(a);
  return err;
}

/* A real write failure (the file-size limit, as a full disk would): the
 * producer gets KAFKA_STORAGE_ERROR, what was written is intact and readable,
 * and appends work again once the limit is lifted. */
static void test_disk_full(void) {
  harness_t h = {0};
  harness_start(&h, NULL);
  int fd = connect_to(&h);
  brook_buf_t b;
  brook_buf_init(&b);
  make_batch(&b, 20, -1, -1, -1);
  g_assert_cmpint(produce_raw(fd, 9, -1, "full", b.data, b.len).base_offset, ==, 0);
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = b.len + b.len / 2; /* the next append of the same size crosses it */
  signal(SIGXFSZ, SIG_IGN);
  g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
  g_assert_cmpint(produce_raw(fd, 9, -1, "full", b.data, b.len).error, ==, BROOK_ERR_KAFKA_STORAGE_ERROR);
  int64_t base, ls;
  int32_t count;
  g_assert_cmpint(fetch_once(fd, "full", 0, &base, &count, &ls), ==, 0);
  g_assert_cmpint(base, ==, 0);
  g_assert_cmpint(count, ==, 20);
  g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
  g_assert_cmpint(produce_raw(fd, 9, -1, "full", b.data, b.len).base_offset, ==, 20);
  g_assert_cmpint(fetch_once(fd, "full", 20, &base, &count, &ls), ==, 0);
  g_assert_cmpint(base, ==, 20);
  brook_buf_free(&b);
  close(fd);
  /* and the log reopens cleanly with both batches */
  harness_stop(&h);
  harness_start(&h, NULL);
  fd = connect_to(&h);
  g_assert_cmpint(fetch_once(fd, "full", 20, &base, &count, &ls), ==, 0);
  g_assert_cmpint(count, ==, 20);
  close(fd);
  harness_cleanup(&h);
}

/* Retention by size through the broker's settings: old segments go, the log
 * start offset moves, fetching below it is OFFSET_OUT_OF_RANGE. Retention runs
 * on its timer (log.retention.check.interval.ms); the loop below waits for it
 * with a bound instead of sleeping a fixed time. */
static void test_retention(void) {
  harness_t h = {0};
  harness_start(&h, (const char *const[]){"log.segment.bytes", "1024", "log.retention.bytes", "2048",
                                          "log.retention.check.interval.ms", "50", NULL});
  int fd = connect_to(&h);
  brook_buf_t b;
  brook_buf_init(&b);
  make_batch(&b, 30, -1, -1, -1); /* ~400 bytes: a few batches per segment */
  for (int i = 0; i < 20; i++) g_assert_cmpint(produce_raw(fd, 9, 1, "ret", b.data, b.len).base_offset, ==, 30 * i);
  int64_t base = -1, ls = 0;
  int32_t count;
  gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time() < until) {
    int16_t err = fetch_once(fd, "ret", 599, &base, &count, &ls);
    g_assert_cmpint(err, ==, 0);
    if (ls > 0) break;
    g_usleep(20000);
  }
  g_assert_cmpint(ls, >, 0);
  g_assert_cmpint(ls % 30, ==, 0); /* whole segments of whole batches */
  g_assert_cmpint(ls, >=, 600 - 2048 / (int64_t)b.len * 30 - 60);
  g_assert_cmpint(fetch_once(fd, "ret", 0, &base, &count, &ls), ==, BROOK_ERR_OFFSET_OUT_OF_RANGE);
  brook_buf_free(&b);
  close(fd);
  harness_cleanup(&h);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  harness_quiet_logs();
  g_test_add_func("/broker/server/api-versions", test_api_versions);
  g_test_add_func("/broker/server/pipelining", test_pipelining);
  g_test_add_func("/broker/server/hostile-input", test_hostile_input);
  g_test_add_func("/broker/server/idle-connections", test_idle_connections);
  g_test_add_func("/broker/server/produce-rules", test_produce_rules);
  g_test_add_func("/broker/server/idempotent-sequences", test_idempotent_sequences);
  g_test_add_func("/broker/server/topic-settings", test_topic_settings);
  g_test_add_func("/broker/server/fetch-long-poll", test_fetch_long_poll);
  g_test_add_func("/broker/server/parked-fetch-peer-gone", test_parked_fetch_peer_gone);
  g_test_add_func("/broker/server/disk-full", test_disk_full);
  g_test_add_func("/broker/server/retention", test_retention);
  return g_test_run();
}
