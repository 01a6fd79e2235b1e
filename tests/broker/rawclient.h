/*
 * rawclient.h — a minimal Kafka client for protocol-level tests: frames
 * requests with brook's own codec, reads and decodes responses over a
 * blocking loopback socket (20 s receive timeout, so a missing answer fails
 * the test instead of hanging it).
 */
#ifndef BROOK_TEST_RAWCLIENT_H
#define BROOK_TEST_RAWCLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../integration/harness.h"
#include "batch.h"
#include "proto.h"

static inline int connect_to(const harness_t *h) {
  int port = brook_broker_port(h->broker);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  struct timeval tv = {.tv_sec = 20}; /* a missing answer fails the test instead of hanging it */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static inline void send_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = write(fd, b, n);
    g_assert_cmpint(w, >, 0);
    b += w;
    n -= (size_t)w;
  }
}

/* Appends one framed request to out. */
static inline void frame_request(brook_buf_t *out, int16_t key, int16_t version, int32_t corr, const void *msg) {
  const brook_api_schema_t *api = brook_proto_api(key);
  size_t at = brook_buf_skip(out, 4);
  brook_req_hdr_t hdr = {key, version, corr, BROOK_STR("brook-test")};
  brook_proto_encode_req_hdr(&hdr, brook_proto_is_flexible(api, version), out);
  brook_proto_encode(api->request, version, msg, out);
  brook_buf_patch_i32(out, at, (int32_t)(out->len - at - 4));
}

static inline void send_request(int fd, int16_t key, int16_t version, int32_t corr, const void *msg) {
  brook_buf_t out;
  brook_buf_init(&out);
  frame_request(&out, key, version, corr, msg);
  send_all(fd, out.data, out.len);
  brook_buf_free(&out);
}

/* Reads one response frame; returns 0 on EOF/timeout. *frame is g_malloc'ed. */
static inline size_t read_frame(int fd, uint8_t **frame) {
  uint8_t sz[4];
  size_t got = 0;
  while (got < 4) {
    ssize_t r = read(fd, sz + got, 4 - got);
    if (r <= 0) return 0;
    got += (size_t)r;
  }
  size_t n = brook_rd32(sz);
  *frame = g_malloc(n);
  for (got = 0; got < n;) {
    ssize_t r = read(fd, *frame + got, n - got);
    if (r <= 0) {
      g_free(*frame);
      return 0;
    }
    got += (size_t)r;
  }
  return n;
}

/* Reads and decodes a response; checks the correlation id. */
static inline void *recv_response(int fd, int16_t key, int16_t version, int32_t corr, brook_arena_t *arena, uint8_t **keep) {
  const brook_api_schema_t *api = brook_proto_api(key);
  uint8_t *frame = NULL;
  size_t n = read_frame(fd, &frame);
  g_assert_cmpuint(n, >=, 4);
  brook_rd_t rd;
  brook_rd_init(&rd, frame, n);
  g_assert_cmpint(brook_rd_i32(&rd), ==, corr);
  if (brook_proto_is_flexible(api, version) && key != BROOK_API_API_VERSIONS) brook_rd_uvarint(&rd);
  void *msg = brook_arena_alloc(arena, api->response_size);
  g_assert_cmpint(brook_proto_decode(api->response, version, rd.p, brook_rd_remaining(&rd), arena, msg), ==, 0);
  *keep = frame; /* decoded strings point into it */
  return msg;
}

static inline bool peer_closed(int fd) {
  uint8_t b[256];
  for (;;) {
    ssize_t r = read(fd, b, sizeof b);
    if (r == 0) return true;
    if (r < 0) return errno == ECONNRESET;
  }
}

/* Still serving? An ApiVersions round trip on a fresh connection. */
static inline void assert_serving(const harness_t *h) {
  int fd = connect_to(h);
  brook_api_versions_request_t req = {BROOK_STR("t"), BROOK_STR("1")};
  send_request(fd, BROOK_API_API_VERSIONS, 3, 77, &req);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_api_versions_response_t *resp = recv_response(fd, BROOK_API_API_VERSIONS, 3, 77, a, &keep);
  g_assert_cmpint(resp->error_code, ==, 0);
  g_free(keep);
  brook_arena_destroy(a);
  close(fd);
}

#endif
