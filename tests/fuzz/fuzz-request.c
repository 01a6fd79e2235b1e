/*
 * fuzz-request.c — libFuzzer target for the request decoder (broker/proto).
 *
 * Design note
 *  - Input: one request frame without its 4-byte size, as the broker sees it
 *    after framing. The golden captures (every .bin file in
 *    tests/broker/fixtures/codec) are a ready seed corpus.
 *  - Per input: decode the header; if the API/version is known, decode the
 *    body, and when that succeeds check the codec's idempotence:
 *    encode(decode(x)) must decode again and re-encode to the same bytes.
 *    Then decode the bytes after the header as the request *and* response of
 *    every API x version, so every descriptor gets hostile input whatever
 *    the header says.
 *  - One arena for the process, reset after every input (what the broker
 *    does per request). Sanitizers (address, undefined) find the bugs;
 *    idempotence violations abort().
 *  - Without libFuzzer (gcc builds) BROOK_FUZZ_REPLAY adds a main() that runs
 *    the target over files given on the command line, to replay a corpus or a
 *    crash as a regression test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static brook_arena_t *arena;

static void check_idempotent(const brook_api_schema_t *api, bool request, int16_t ver, const void *msg) {
  const brook_msg_desc_t *desc = request ? api->request : api->response;
  size_t msg_size = request ? api->request_size : api->response_size;
  const char *what = request ? "request" : "response";
  brook_buf_t a, b;
  brook_buf_init(&a);
  brook_buf_init(&b);
  brook_proto_encode(desc, ver, msg, &a);
  void *again = brook_arena_alloc(arena, msg_size);
  if (brook_proto_decode(desc, ver, a.data, a.len, arena, again) != 0) {
    fprintf(stderr, "%s %s v%d: re-decoding our own encoding failed\n", api->name, what, ver);
    abort();
  }
  brook_proto_encode(desc, ver, again, &b);
  if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)) {
    fprintf(stderr, "%s %s v%d: encoding is not idempotent (%zu vs %zu bytes)\n", api->name, what, ver, a.len,
            b.len);
    abort();
  }
  brook_buf_free(&a);
  brook_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!arena) arena = brook_arena_new(0);
  brook_req_hdr_t hdr;
  size_t hdr_len = 0;
  const uint8_t *body = data;
  size_t body_len = size;
  if (brook_proto_decode_req_hdr(data, size, &hdr, &hdr_len) == 0) {
    body = data + hdr_len;
    body_len = size - hdr_len;
    const brook_api_schema_t *api = brook_proto_api(hdr.api_key);
    if (api && hdr.api_version >= api->min_version && hdr.api_version <= api->max_version) {
      void *req = brook_arena_alloc(arena, api->request_size);
      if (brook_proto_decode(api->request, hdr.api_version, body, body_len, arena, req) == 0)
        check_idempotent(api, true, hdr.api_version, req);
    }
    brook_arena_reset(arena);
  }
  for (int i = 0; i < BROOK_PROTO_NUM_APIS; i++) {
    const brook_api_schema_t *api = brook_proto_api(brook_proto_api_keys[i]);
    for (int16_t v = api->min_version; v <= api->max_version; v++) {
      void *req = brook_arena_alloc(arena, api->request_size);
      if (brook_proto_decode(api->request, v, body, body_len, arena, req) == 0)
        check_idempotent(api, true, v, req);
      void *resp = brook_arena_alloc(arena, api->response_size);
      if (brook_proto_decode(api->response, v, body, body_len, arena, resp) == 0)
        check_idempotent(api, false, v, resp);
      brook_arena_reset(arena);
    }
  }
  return 0;
}

#ifdef BROOK_FUZZ_REPLAY
#include <dirent.h>
#include <sys/stat.h>

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  static uint8_t buf[1 << 20];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  /* An exact-size copy so a sanitizer build sees reads past the end. */
  uint8_t *copy = malloc(len ? len : 1);
  if (len) memcpy(copy, buf, len);
  LLVMFuzzerTestOneInput(copy, len);
  free(copy);
  return 0;
}

/* Replays files, or every file in given directories, without libFuzzer. */
int main(int argc, char **argv) {
  int n = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (replay_file(argv[i]) != 0) return 1;
      n++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) {
      perror(argv[i]);
      return 1;
    }
    for (struct dirent *e; (e = readdir(d));) {
      if (e->d_name[0] == '.') continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (replay_file(path) != 0) return 1;
      n++;
    }
    closedir(d);
  }
  printf("replayed %d inputs\n", n);
  brook_arena_destroy(arena);
  return 0;
}
#endif
