/*
 * proto.h — Kafka wire protocol: request/response headers and the generic,
 * schema-driven codec.
 *
 * Design note
 *  - Every API's messages are described once, in kafka.schema (a compact text
 *    format of this project). gen_proto.py turns it into proto_gen.h/.c: a C
 *    struct per message and nested struct, and a descriptor table per struct
 *    (field kind, version range, nullable/tagged versions, default, offsetof).
 *    brook_proto_decode/encode walk those descriptors; flexible (compact,
 *    tagged) and classic encodings come from the same description.
 *  - Naming: message "ProduceRequest" -> brook_produce_request_t; a nested
 *    struct "TopicProduceData" of it -> brook_produce_request_topic_produce_data_t;
 *    field "TopicData" -> topic_data (snake_case of Kafka's JSON names).
 *    Arrays are anonymous structs { T *items; int32_t count; } (count -1 = null);
 *    strings brook_str_t, bytes brook_bytes_t, records brook_records_t,
 *    uuid brook_uuid_t; ints as int8_t..int64_t, uint16_t, bool, double.
 *  - Decoding never copies bytes: strings/bytes/records point into the input
 *    buffer; arrays are allocated from the caller's arena. Both must outlive
 *    the decoded struct.
 *  - The codec has no I/O and no knowledge of sockets.
 * @locality any.
 */
#ifndef BROOK_PROTO_H
#define BROOK_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"

typedef struct brook_uuid {
  uint8_t b[16];
} brook_uuid_t;

typedef struct brook_msg_desc brook_msg_desc_t; /* generated, opaque here */

#include "proto_gen.h" /* structs, BROOK_API_* keys, brook_<msg>_desc descriptors */

/** Schema facts about one API key: its full version range in our schema, the
 *  first flexible version (-1: none), descriptors and struct sizes. */
typedef struct brook_api_schema {
  int16_t key;
  const char *name; /* "Produce" */
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible;
  const brook_msg_desc_t *request;
  const brook_msg_desc_t *response;
  size_t request_size;
  size_t response_size;
} brook_api_schema_t;

/** NULL if the key is not in the schema. (transfer none) static. */
const brook_api_schema_t *brook_proto_api(int16_t api_key);

static inline bool brook_proto_is_flexible(const brook_api_schema_t *api, int16_t version) {
  return api->first_flexible >= 0 && version >= api->first_flexible;
}

/** Request header v1/v2 (v2 = flexible: adds tagged fields after client_id). */
typedef struct brook_req_hdr {
  int16_t api_key;
  int16_t api_version;
  int32_t correlation_id;
  brook_str_t client_id; /* borrowed from the frame */
} brook_req_hdr_t;

/** Decodes the request header at the start of a frame (without the 4-byte
 *  size). Needs the API schema to know whether the header is v2 (flexible); an
 *  unknown key or version is decoded as v1 (Kafka does the same to be able to
 *  answer with an error). *hdr_len gets the header length. Returns 0 or -1
 *  if the frame is too short / malformed. */
int brook_proto_decode_req_hdr(const uint8_t *p, size_t len, brook_req_hdr_t *hdr, size_t *hdr_len);

/** Appends a request header (clients, tests, the fuzzer's corpus). */
void brook_proto_encode_req_hdr(const brook_req_hdr_t *hdr, bool flexible, brook_buf_t *out);

/** Appends a response header: the correlation id, then (header v1, flexible)
 *  an empty tagged-field section. */
void brook_proto_encode_resp_hdr(int32_t correlation_id, bool flexible, brook_buf_t *out);
/** Whether the response to api_key at version uses header v1. ApiVersions
 *  always answers with header v0 so that a client that does not know the
 *  broker's versions yet can parse it. */
bool brook_proto_resp_hdr_flexible(int16_t api_key, int16_t version);

/** Decodes a message body at version into out (zeroed, size from the schema).
 *  Returns 0, or -1 if malformed (short, bad varint, negative length other
 *  than -1 for nullable, count larger than the remaining bytes could hold,
 *  null where not nullable, trailing garbage is *allowed* as Kafka allows). */
int brook_proto_decode(const brook_msg_desc_t *desc, int16_t version, const uint8_t *p, size_t len,
                       brook_arena_t *arena, void *out);

/** Encodes msg at version, appending to out. Fields absent in that version are
 *  skipped; tagged fields are written only when they differ from their default.
 *  A records field with .file set is spliced (brook_buf_splice). */
void brook_proto_encode(const brook_msg_desc_t *desc, int16_t version, const void *msg, brook_buf_t *out);

/** Fills msg (zeroed by the caller) with the schema defaults (e.g. -1 fields). */
void brook_proto_init(const brook_msg_desc_t *desc, void *msg);

#endif
