/*
 * test-codec.c — the schema-driven Kafka codec (broker/proto).
 *
 * Design note
 *  - Generic tests walk the descriptor tables (white box: BROOK_PROTO_PRIVATE)
 *    so every API x version x direction is covered without per-API code:
 *      fill (non-default values, random shapes) -> encode -> decode -> encode
 *      must give identical bytes; fields absent from the version must decode
 *      to their defaults; every proper prefix of an encoding must be refused;
 *      random and mutated bytes must never crash (run under ASan/UBSan too).
 *  - Hand-built byte vectors pin the wire forms that round trips cannot
 *    (a codec symmetric with itself could still be wrong): tagged fields,
 *    compact lengths, unknown tags, header v1/v2, records splices.
 *  - Golden frames captured from kcat (librdkafka) and kafka-python by
 *    fixtures/codec/capture.py: decoded, checked field by field, re-encoded
 *    byte for byte. (fixtures/codec/crosscheck_kafka_python.py compares the
 *    schema's classic versions with kafka-python's own definitions.)
 */
#define BROOK_PROTO_PRIVATE 1
#include "proto.h"

#include <glib.h>
#include <string.h>

typedef brook_proto_field_t field_t;

static bool present(const field_t *f, int16_t v) { return v >= f->ver_min && v <= f->ver_max; }
static bool nullable(const field_t *f, int16_t v) { return v >= f->null_min && v <= f->null_max; }

/* ------------------------------------------------------------ filling */

typedef struct filler {
  GRand *rng;
  brook_arena_t *arena;
  int16_t ver;
} filler_t;

static void fill_struct(filler_t *fl, const brook_msg_desc_t *d, uint8_t *base);

static char *rand_str(filler_t *fl, int32_t *len) {
  int32_t n = g_rand_int_range(fl->rng, 1, 12);
  char *s = brook_arena_alloc(fl->arena, (size_t)n + 1);
  for (int32_t i = 0; i < n; i++) s[i] = (char)g_rand_int_range(fl->rng, 'a', 'z' + 1);
  *len = n;
  return s;
}

/* A value that differs from the field's default (so tagged fields are sent). */
static int64_t rand_int(filler_t *fl, int64_t def) {
  int64_t v;
  do v = (int64_t)(((uint64_t)g_rand_int(fl->rng) << 32) | g_rand_int(fl->rng));
  while (v == def);
  return v;
}

static void fill_prim(filler_t *fl, uint8_t kind, bool can_null, int64_t def, uint8_t *p) {
  switch (kind) {
    case BROOK_PK_BOOL: *(bool *)p = def == 0; break;
    case BROOK_PK_INT8: {
      int8_t v;
      do v = (int8_t)rand_int(fl, def);
      while (v == (int8_t)def);
      *(int8_t *)p = v;
      break;
    }
    case BROOK_PK_INT16: {
      int16_t v;
      do v = (int16_t)rand_int(fl, def);
      while (v == (int16_t)def);
      *(int16_t *)p = v;
      break;
    }
    case BROOK_PK_INT32: {
      int32_t v;
      do v = (int32_t)rand_int(fl, def);
      while (v == (int32_t)def);
      *(int32_t *)p = v;
      break;
    }
    case BROOK_PK_INT64: *(int64_t *)p = rand_int(fl, def); break;
    case BROOK_PK_UINT16: {
      uint16_t v;
      do v = (uint16_t)rand_int(fl, def);
      while (v == (uint16_t)def);
      *(uint16_t *)p = v;
      break;
    }
    case BROOK_PK_FLOAT64: *(double *)p = g_rand_double_range(fl->rng, -1e9, 1e9); break;
    case BROOK_PK_UUID:
      for (int i = 0; i < 16; i++) p[i] = (uint8_t)g_rand_int(fl->rng);
      p[0] |= 1; /* never the all-zero default */
      break;
    case BROOK_PK_STRING: {
      brook_str_t *s = (brook_str_t *)p;
      if (can_null && g_rand_int_range(fl->rng, 0, 4) == 0) *s = BROOK_STR_NULL;
      else s->ptr = rand_str(fl, &s->len);
      break;
    }
    case BROOK_PK_BYTES:
    case BROOK_PK_RECORDS: {
      int32_t n = g_rand_int_range(fl->rng, 0, 24);
      uint8_t *b = brook_arena_alloc(fl->arena, (size_t)n + 1);
      for (int32_t i = 0; i < n; i++) b[i] = (uint8_t)g_rand_int(fl->rng);
      if (can_null && g_rand_int_range(fl->rng, 0, 4) == 0) n = -1, b = NULL;
      if (kind == BROOK_PK_BYTES) *(brook_bytes_t *)p = (brook_bytes_t){b, n};
      else *(brook_records_t *)p = (brook_records_t){b, n, NULL};
      break;
    }
    default: g_assert_not_reached();
  }
}

static void fill_field(filler_t *fl, const field_t *f, uint8_t *base) {
  uint8_t *p = base + f->offset;
  bool can_null = nullable(f, fl->ver);
  switch (f->kind) {
    case BROOK_PK_STRUCT: fill_struct(fl, f->sub, p); return;
    case BROOK_PK_ARRAY: {
      int32_t n = g_rand_int_range(fl->rng, 1, 4);
      if (can_null && g_rand_int_range(fl->rng, 0, 5) == 0) n = -1;
      uint8_t *items = n > 0 ? brook_arena_alloc(fl->arena, (size_t)n * f->elem_size) : NULL;
      for (int32_t i = 0; i < n; i++) {
        uint8_t *e = items + (size_t)i * f->elem_size;
        if (f->elem == BROOK_PK_STRUCT) {
          brook_proto_init(f->sub, e);
          fill_struct(fl, f->sub, e);
        } else {
          fill_prim(fl, f->elem, false, 0, e);
        }
      }
      memcpy(p, &items, sizeof items);
      *(int32_t *)(base + f->count_offset) = n;
      return;
    }
    default: fill_prim(fl, f->kind, can_null, f->def_int, p); return;
  }
}

/* Every field gets a value, also the ones absent from fl->ver: the encoder must
 * skip those, and the decoder must give them their defaults. */
static void fill_struct(filler_t *fl, const brook_msg_desc_t *d, uint8_t *base) {
  for (uint16_t i = 0; i < d->nfields; i++) fill_field(fl, &d->fields[i], base);
}

/* ------------------------------------------------------------ checking */

static bool str_eq_default(const field_t *f, const brook_str_t *s) {
  if (f->def_null) return s->len == -1;
  const char *want = f->def_str ? f->def_str : "";
  return s->len == (int32_t)strlen(want) && memcmp(s->ptr ? s->ptr : "", want, strlen(want)) == 0;
}

static void check_defaults_struct(const brook_msg_desc_t *d, int16_t v, const uint8_t *base, const char *path);

/* Fields absent from version v must hold their defaults after decoding. */
static void check_default_field(const field_t *f, int16_t v, const uint8_t *base, const char *path) {
  const uint8_t *p = base + f->offset;
  bool ok = true;
  switch (f->kind) {
    case BROOK_PK_BOOL: ok = *(const bool *)p == (f->def_int != 0); break;
    case BROOK_PK_INT8: ok = *(const int8_t *)p == (int8_t)f->def_int; break;
    case BROOK_PK_INT16: ok = *(const int16_t *)p == (int16_t)f->def_int; break;
    case BROOK_PK_INT32: ok = *(const int32_t *)p == (int32_t)f->def_int; break;
    case BROOK_PK_INT64: ok = *(const int64_t *)p == f->def_int; break;
    case BROOK_PK_UINT16: ok = *(const uint16_t *)p == (uint16_t)f->def_int; break;
    case BROOK_PK_FLOAT64: ok = *(const double *)p == f->def_f64; break;
    case BROOK_PK_UUID: {
      static const uint8_t zero[16];
      ok = memcmp(p, zero, 16) == 0;
      break;
    }
    case BROOK_PK_STRING: ok = str_eq_default(f, (const brook_str_t *)p); break;
    case BROOK_PK_BYTES: ok = ((const brook_bytes_t *)p)->len == (f->def_null ? -1 : 0); break;
    case BROOK_PK_RECORDS: ok = ((const brook_records_t *)p)->len == (f->def_null ? -1 : 0); break;
    case BROOK_PK_STRUCT: check_defaults_struct(f->sub, -1, p, path); break;
    case BROOK_PK_ARRAY: ok = *(const int32_t *)(base + f->count_offset) == (f->def_null ? -1 : 0); break;
  }
  if (!ok) g_error("%s.%s at v%d: not the default after decoding", path, f->name, v);
}

/* v == -1: the whole struct is absent, every field must be default. */
static void check_defaults_struct(const brook_msg_desc_t *d, int16_t v, const uint8_t *base, const char *path) {
  for (uint16_t i = 0; i < d->nfields; i++) {
    const field_t *f = &d->fields[i];
    if (v < 0 || !present(f, v)) {
      check_default_field(f, v, base, path);
      continue;
    }
    if (f->kind == BROOK_PK_STRUCT) {
      check_defaults_struct(f->sub, v, base + f->offset, path);
    } else if (f->kind == BROOK_PK_ARRAY && f->elem == BROOK_PK_STRUCT) {
      int32_t n = *(const int32_t *)(base + f->count_offset);
      uint8_t *items;
      memcpy(&items, base + f->offset, sizeof items);
      for (int32_t k = 0; k < n; k++) check_defaults_struct(f->sub, v, items + (size_t)k * f->elem_size, path);
    }
  }
}

/* Decodes from an exact-size heap copy, so ASan sees any read past the end.
 * The decoded message borrows from the copy: *keep gets it (free after use),
 * or, with keep NULL, it is freed at once (only the return code is used). */
static int decode_copy(const brook_msg_desc_t *d, int16_t v, const uint8_t *p, size_t len,
                       brook_arena_t *arena, void *out, uint8_t **keep) {
  uint8_t *copy = g_malloc(len ? len : 1);
  if (len) memcpy(copy, p, len);
  int rc = brook_proto_decode(d, v, copy, len, arena, out);
  if (keep) *keep = copy;
  else g_free(copy);
  return rc;
}

/* --------------------------------------------------------- generic tests */

typedef void (*per_msg_fn)(const brook_api_schema_t *api, const brook_msg_desc_t *d, int16_t v);

static void for_each_msg(per_msg_fn fn) {
  for (int i = 0; i < BROOK_PROTO_NUM_APIS; i++) {
    const brook_api_schema_t *api = brook_proto_api(brook_proto_api_keys[i]);
    g_assert_nonnull(api);
    for (int16_t v = api->min_version; v <= api->max_version; v++) {
      fn(api, api->request, v);
      fn(api, api->response, v);
    }
  }
}

static size_t msg_size(const brook_api_schema_t *api, const brook_msg_desc_t *d) {
  return d == api->request ? api->request_size : api->response_size;
}

static unsigned round_trips;

static void round_trip_one(const brook_api_schema_t *api, const brook_msg_desc_t *d, int16_t v) {
  brook_arena_t *arena = brook_arena_new(0);
  for (guint32 seed = 0; seed < 8; seed++) {
    GRand *rng = g_rand_new_with_seed(seed * 7919u + (guint32)api->key * 131u + (guint32)v);
    filler_t fl = {rng, arena, v};
    size_t size = msg_size(api, d);
    uint8_t *m1 = brook_arena_alloc(arena, size);
    brook_proto_init(d, m1);
    fill_struct(&fl, d, m1);

    brook_buf_t b1, b2;
    brook_buf_init(&b1);
    brook_buf_init(&b2);
    brook_proto_encode(d, v, m1, &b1);

    uint8_t *m2 = brook_arena_alloc(arena, size);
    uint8_t *wire = NULL;
    if (decode_copy(d, v, b1.data, b1.len, arena, m2, &wire) != 0)
      g_error("%s v%d seed %u: decoding our own encoding failed", d->name, v, seed);
    check_defaults_struct(d, v, m2, d->name);
    brook_proto_encode(d, v, m2, &b2);
    if (b1.len != b2.len || (b1.len && memcmp(b1.data, b2.data, b1.len) != 0))
      g_error("%s v%d seed %u: re-encoding differs (%zu vs %zu bytes)", d->name, v, seed, b1.len, b2.len);
    g_free(wire);

    /* Every proper prefix is malformed (the decoder needs every byte). */
    if (seed < 2) {
      for (size_t cut = 0; cut < b1.len; cut++) {
        uint8_t *m3 = brook_arena_alloc(arena, size);
        if (decode_copy(d, v, b1.data, cut, arena, m3, NULL) != -1)
          g_error("%s v%d: prefix of %zu/%zu bytes was accepted", d->name, v, cut, b1.len);
      }
    }
    /* Mutations: whatever the result, no crash and no read past the end. */
    for (int k = 0; k < 32 && b1.len; k++) {
      uint8_t *mut = g_memdup2(b1.data, b1.len);
      int flips = g_rand_int_range(rng, 1, 4);
      for (int j = 0; j < flips; j++) mut[g_rand_int_range(rng, 0, (gint32)b1.len)] = (uint8_t)g_rand_int(rng);
      uint8_t *m3 = brook_arena_alloc(arena, size);
      int rc = brook_proto_decode(d, v, mut, b1.len, arena, m3); /* mut is an exact-size heap block */
      g_assert_true(rc == 0 || rc == -1);
      if (rc == 0) { /* still well formed: must re-encode without trouble */
        brook_buf_t b3;
        brook_buf_init(&b3);
        brook_proto_encode(d, v, m3, &b3);
        brook_buf_free(&b3);
      }
      g_free(mut);
    }
    brook_buf_free(&b1);
    brook_buf_free(&b2);
    g_rand_free(rng);
    brook_arena_reset(arena);
    round_trips++;
  }
  brook_arena_destroy(arena);
}

static void test_round_trip_all(void) {
  round_trips = 0;
  for_each_msg(round_trip_one);
  g_test_message("%u round trips", round_trips);
  g_assert_cmpuint(round_trips, >, 0);
}

static void random_bytes_one(const brook_api_schema_t *api, const brook_msg_desc_t *d, int16_t v) {
  brook_arena_t *arena = brook_arena_new(0);
  GRand *rng = g_rand_new_with_seed((guint32)api->key * 1000u + (guint32)v);
  uint8_t buf[96];
  for (int k = 0; k < 200; k++) {
    size_t len = (size_t)g_rand_int_range(rng, 0, sizeof buf + 1);
    for (size_t i = 0; i < len; i++) {
      /* Bias towards small numbers so lengths and counts are often plausible. */
      uint32_t r = g_rand_int(rng);
      buf[i] = (r & 3) ? (uint8_t)(r >> 8) & 0x07 : (uint8_t)(r >> 8);
    }
    uint8_t *m = brook_arena_alloc(arena, msg_size(api, d));
    int rc = decode_copy(d, v, buf, len, arena, m, NULL);
    g_assert_true(rc == 0 || rc == -1);
    brook_arena_reset(arena);
  }
  g_rand_free(rng);
  brook_arena_destroy(arena);
}

static void test_random_bytes(void) { for_each_msg(random_bytes_one); }

/* Memory bound of decoding: an array's count is capped by remaining bytes /
 * the element's minimum wire size, so what the arena gives out is at most
 * (elem_size / min_wire) times the input per nesting level. Keep that ratio
 * small for every array of every version. */
static double worst_ratio;
static const char *worst_name;

static size_t prim_min(uint8_t kind, bool flex) {
  switch (kind) {
    case BROOK_PK_BOOL:
    case BROOK_PK_INT8: return 1;
    case BROOK_PK_INT16:
    case BROOK_PK_UINT16: return 2;
    case BROOK_PK_INT32: return 4;
    case BROOK_PK_INT64:
    case BROOK_PK_FLOAT64: return 8;
    case BROOK_PK_UUID: return 16;
    case BROOK_PK_STRING: return flex ? 1 : 2;
    default: return flex ? 1 : 4;
  }
}

static void ratio_struct(const brook_msg_desc_t *d, int16_t v, bool flex) {
  for (uint16_t i = 0; i < d->nfields; i++) {
    const field_t *f = &d->fields[i];
    if (!present(f, v)) continue;
    if (f->kind == BROOK_PK_STRUCT) ratio_struct(f->sub, v, flex);
    if (f->kind != BROOK_PK_ARRAY) continue;
    size_t min = f->elem == BROOK_PK_STRUCT ? f->sub->min_wire[v] : prim_min(f->elem, flex);
    if (min == 0) min = 1;
    double r = (double)f->elem_size / (double)min;
    if (r > worst_ratio) {
      worst_ratio = r;
      worst_name = f->name;
    }
    if (f->elem == BROOK_PK_STRUCT) ratio_struct(f->sub, v, flex);
  }
}

static void ratio_one(const brook_api_schema_t *api, const brook_msg_desc_t *d, int16_t v) {
  ratio_struct(d, v, brook_proto_is_flexible(api, v));
}

static void test_amplification(void) {
  worst_ratio = 0;
  for_each_msg(ratio_one);
  g_test_message("worst arena bytes per input byte: %.1f (%s)", worst_ratio, worst_name);
  g_assert_cmpfloat(worst_ratio, <=, 32.0);

  /* And in practice: a 64 KiB frame of nested one-byte elements. */
  brook_arena_t *arena = brook_arena_new(0);
  size_t n = 65536;
  uint8_t *buf = g_malloc0(n);
  buf[0] = 0xff; /* compact array count 0x7f... (uvarint), capped and refused */
  buf[1] = 0xff;
  buf[2] = 0x03;
  brook_describe_groups_response_t r = {0};
  g_assert_cmpint(brook_proto_decode(&brook_describe_groups_response_desc, 5, buf + 0, n, arena, &r), ==, -1);
  g_free(buf);
  brook_arena_destroy(arena);
}

/* ------------------------------------------------------ hand-made vectors */

static void assert_bytes(const brook_buf_t *b, const uint8_t *want, size_t n) {
  if (b->len != n || memcmp(b->data, want, n) != 0) {
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < b->len; i++) g_string_append_printf(s, "%02x ", b->data[i]);
    g_error("bytes differ: got (%zu) %s, want %zu bytes", b->len, s->str, n);
  }
}

static void test_classic_produce(void) {
  /* ProduceRequest v3: nullable int16 string, int32 arrays, int32 bytes. */
  brook_produce_request_t req = {0};
  brook_proto_init(&brook_produce_request_desc, &req);
  g_assert_cmpint(req.transactional_id.len, ==, -1); /* default=null */
  req.acks = -1;
  req.timeout_ms = 30000;
  static const uint8_t rec[] = {1, 2, 3};
  brook_produce_request_partition_produce_data_t part = {.index = 2, .records = {rec, 3, NULL}};
  brook_produce_request_topic_produce_data_t topic = {.name = BROOK_STR("t")};
  topic.partition_data.items = &part;
  topic.partition_data.count = 1;
  req.topic_data.items = &topic;
  req.topic_data.count = 1;
  brook_buf_t b;
  brook_buf_init(&b);
  brook_proto_encode(&brook_produce_request_desc, 3, &req, &b);
  static const uint8_t want[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0x75, 0x30, 0, 0, 0, 1, 0, 1, 't',
                                 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3};
  assert_bytes(&b, want, sizeof want);
  /* v2 has no transactional id. */
  brook_buf_reset(&b);
  brook_proto_encode(&brook_produce_request_desc, 2, &req, &b);
  assert_bytes(&b, want + 2, sizeof want - 2);
  brook_buf_free(&b);
}

static void test_flexible_tagged(void) {
  /* ApiVersionsResponse v3: compact array, tagged fields only when not default. */
  brook_api_versions_response_t resp = {0};
  brook_proto_init(&brook_api_versions_response_desc, &resp);
  g_assert_cmpint(resp.finalized_features_epoch, ==, -1);
  brook_api_versions_response_api_version_t keys[1] = {{.api_key = 18, .min_version = 0, .max_version = 3}};
  resp.api_keys.items = keys;
  resp.api_keys.count = 1;
  brook_buf_t b;
  brook_buf_init(&b);
  brook_proto_encode(&brook_api_versions_response_desc, 3, &resp, &b);
  static const uint8_t plain[] = {0, 0, 2, 0, 18, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0};
  assert_bytes(&b, plain, sizeof plain);

  resp.finalized_features_epoch = 5; /* tag 1, int64 */
  resp.zk_migration_ready = true;    /* tag 3, bool */
  brook_buf_reset(&b);
  brook_proto_encode(&brook_api_versions_response_desc, 3, &resp, &b);
  static const uint8_t tagged[] = {0, 0, 2, 0, 18, 0, 0, 0, 3, 0, 0, 0, 0, 0,
                                   2, 1, 8, 0, 0, 0, 0, 0, 0, 0, 5, 3, 1, 1};
  assert_bytes(&b, tagged, sizeof tagged);

  brook_arena_t *arena = brook_arena_new(0);
  brook_api_versions_response_t back = {0};
  g_assert_cmpint(brook_proto_decode(&brook_api_versions_response_desc, 3, b.data, b.len, arena, &back), ==, 0);
  g_assert_cmpint(back.finalized_features_epoch, ==, 5);
  g_assert_true(back.zk_migration_ready);
  g_assert_cmpint(back.supported_features.count, ==, 0);

  /* Absent tags keep defaults; v2 (classic) never carries them. */
  brook_buf_reset(&b);
  brook_proto_encode(&brook_api_versions_response_desc, 2, &resp, &b);
  static const uint8_t v2[] = {0, 0, 0, 0, 0, 1, 0, 18, 0, 0, 0, 3, 0, 0, 0, 0};
  assert_bytes(&b, v2, sizeof v2);
  brook_api_versions_response_t back2 = {0};
  g_assert_cmpint(brook_proto_decode(&brook_api_versions_response_desc, 2, b.data, b.len, arena, &back2), ==, 0);
  g_assert_cmpint(back2.finalized_features_epoch, ==, -1);
  g_assert_false(back2.zk_migration_ready);
  brook_buf_free(&b);
  brook_arena_destroy(arena);
}

static void test_tagged_struct(void) {
  /* FetchResponse v12 partition: CurrentLeader (tag 1) is a struct, written
   * only when one of its members is not the default. */
  brook_fetch_response_t resp = {0};
  brook_proto_init(&brook_fetch_response_desc, &resp);
  brook_fetch_response_partition_data_t part = {0};
  brook_proto_init(&brook_fetch_response_partition_data_desc, &part);
  g_assert_cmpint(part.current_leader.leader_id, ==, -1);
  g_assert_cmpint(part.diverging_epoch.end_offset, ==, -1);
  g_assert_cmpint(part.snapshot_id.epoch, ==, -1);
  brook_fetch_response_fetchable_topic_response_t topic = {.topic = BROOK_STR("t")};
  topic.partitions.items = &part;
  topic.partitions.count = 1;
  resp.responses.items = &topic;
  resp.responses.count = 1;
  part.records = (brook_records_t){NULL, -1, NULL};

  brook_buf_t b;
  brook_buf_init(&b);
  brook_proto_encode(&brook_fetch_response_desc, 12, &resp, &b);
  size_t plain_len = b.len;
  g_assert_cmpuint(b.data[b.len - 4], ==, 0); /* records null (compact 0) */
  g_assert_cmpuint(b.data[b.len - 3], ==, 0); /* partition: no tags */

  part.current_leader.leader_id = 7;
  brook_buf_reset(&b);
  brook_proto_encode(&brook_fetch_response_desc, 12, &resp, &b);
  /* +1 tag, +1 size, +8 struct (two int32), +1 struct's own empty tag section */
  g_assert_cmpuint(b.len, ==, plain_len + 11);
  static const uint8_t tail[] = {0, /* records null */ 1, 1, 9, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0,
                                 0, /* topic tags */ 0 /* message tags */};
  g_assert_cmpmem(b.data + b.len - sizeof tail, sizeof tail, tail, sizeof tail);

  brook_arena_t *arena = brook_arena_new(0);
  brook_fetch_response_t back = {0};
  g_assert_cmpint(brook_proto_decode(&brook_fetch_response_desc, 12, b.data, b.len, arena, &back), ==, 0);
  g_assert_cmpint(back.responses.items[0].partitions.items[0].current_leader.leader_id, ==, 7);
  g_assert_cmpint(back.responses.items[0].partitions.items[0].current_leader.leader_epoch, ==, -1);
  g_assert_cmpint(back.responses.items[0].partitions.items[0].snapshot_id.end_offset, ==, -1);
  g_assert_cmpint(back.responses.items[0].partitions.items[0].records.len, ==, -1);
  brook_buf_free(&b);
  brook_arena_destroy(arena);
}

static void test_unknown_tags_skipped(void) {
  /* ApiVersionsRequest v3 defines no tags; unknown ones are skipped, known
   * ones in between still decode (ApiVersionsResponse tag 1). */
  static const uint8_t req[] = {3, 'a', 'b', 2, '1',
                                2, /* two tags */ 9, 2, 'x', 'y', 40, 0};
  brook_arena_t *arena = brook_arena_new(0);
  brook_api_versions_request_t r = {0};
  g_assert_cmpint(brook_proto_decode(&brook_api_versions_request_desc, 3, req, sizeof req, arena, &r), ==, 0);
  g_assert_cmpmem(r.client_software_name.ptr, r.client_software_name.len, "ab", 2);
  g_assert_cmpmem(r.client_software_version.ptr, r.client_software_version.len, "1", 1);

  static const uint8_t resp[] = {0, 0, 1, 0, 0, 0, 0, /* error, empty keys, throttle */
                                 3, 7, 1, 0xaa, 1, 8, 0, 0, 0, 0, 0, 0, 1, 0, 100, 3, 'z', 'z', 'z'};
  brook_api_versions_response_t a = {0};
  g_assert_cmpint(brook_proto_decode(&brook_api_versions_response_desc, 3, resp, sizeof resp, arena, &a), ==, 0);
  g_assert_cmpint(a.finalized_features_epoch, ==, 256);
  /* A known tag whose payload is shorter than its type: malformed. */
  static const uint8_t bad[] = {0, 0, 1, 0, 0, 0, 0, 1, 1, 4, 0, 0, 0, 0};
  g_assert_cmpint(brook_proto_decode(&brook_api_versions_response_desc, 3, bad, sizeof bad, arena, &a), ==, -1);
  /* Tag size running past the end. */
  static const uint8_t past[] = {0, 0, 1, 0, 0, 0, 0, 1, 9, 5, 0};
  g_assert_cmpint(brook_proto_decode(&brook_api_versions_response_desc, 3, past, sizeof past, arena, &a), ==, -1);
  brook_arena_destroy(arena);
}

static void test_malformed(void) {
  brook_arena_t *arena = brook_arena_new(0);
  brook_metadata_request_t m;
  /* v0: topics array may not be null. */
  static const uint8_t null_v0[] = {0xff, 0xff, 0xff, 0xff};
  memset(&m, 0, sizeof m);
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, 0, null_v0, 4, arena, &m), ==, -1);
  memset(&m, 0, sizeof m);
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, 1, null_v0, 4, arena, &m), ==, 0);
  g_assert_cmpint(m.topics.count, ==, -1);
  g_assert_true(m.allow_auto_topic_creation); /* absent in v1: default true */
  /* Huge count with no bytes behind it: refused before allocating. */
  static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 1, 'a'};
  memset(&m, 0, sizeof m);
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, 1, huge, sizeof huge, arena, &m), ==, -1);
  /* Negative lengths other than -1. */
  static const uint8_t neg_count[] = {0xff, 0xff, 0xff, 0xfe};
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, 1, neg_count, 4, arena, &m), ==, -1);
  static const uint8_t neg_str[] = {0, 0, 0, 1, 0xff, 0xfe};
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, 1, neg_str, 6, arena, &m), ==, -1);
  /* Null topic name where not nullable (v1), allowed from v10 (compact 0). */
  static const uint8_t null_name[] = {0, 0, 0, 1, 0xff, 0xff};
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, 1, null_name, 6, arena, &m), ==, -1);
  /* Overlong varint (11 continuation bytes). */
  static const uint8_t overlong[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1};
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, 9, overlong, sizeof overlong, arena, &m), ==, -1);
  /* Compact string longer than Kafka's 32767 limit. */
  static const uint8_t long_str[] = {2, 0x81, 0x80, 0x02, 'a'};
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, 9, long_str, sizeof long_str, arena, &m), ==, -1);
  /* Versions outside the schema. */
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, 13, null_v0, 4, arena, &m), ==, -1);
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, -1, null_v0, 4, arena, &m), ==, -1);
  /* Trailing bytes are allowed. */
  static const uint8_t trailing[] = {0, 0, 0, 0, 0xde, 0xad};
  memset(&m, 0, sizeof m);
  g_assert_cmpint(brook_proto_decode(&brook_metadata_request_desc, 1, trailing, sizeof trailing, arena, &m), ==, 0);
  g_assert_cmpint(m.topics.count, ==, 0);
  brook_arena_destroy(arena);
}

static void test_defaults(void) {
  /* Decoding an old version fills the newer fields with their defaults. */
  static const uint8_t fetch_v0[] = {0, 0, 0, 1, 0, 0, 0, 100, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 't',
                                     0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 16, 0};
  brook_arena_t *arena = brook_arena_new(0);
  brook_fetch_request_t f = {0};
  g_assert_cmpint(brook_proto_decode(&brook_fetch_request_desc, 0, fetch_v0, sizeof fetch_v0, arena, &f), ==, 0);
  g_assert_cmpint(f.replica_id, ==, 1);
  g_assert_cmpint(f.max_bytes, ==, 0x7fffffff);
  g_assert_cmpint(f.session_epoch, ==, -1);
  g_assert_cmpint(f.isolation_level, ==, 0);
  g_assert_cmpint(f.rack_id.len, ==, 0);
  g_assert_cmpint(f.cluster_id.len, ==, -1);
  g_assert_cmpint(f.topics.count, ==, 1);
  g_assert_cmpmem(f.topics.items[0].topic.ptr, f.topics.items[0].topic.len, "t", 1);
  g_assert_cmpint(f.topics.items[0].partitions.items[0].fetch_offset, ==, 42);
  g_assert_cmpint(f.topics.items[0].partitions.items[0].current_leader_epoch, ==, -1);
  g_assert_cmpint(f.topics.items[0].partitions.items[0].log_start_offset, ==, -1);
  g_assert_cmpint(f.topics.items[0].partitions.items[0].last_fetched_epoch, ==, -1);
  g_assert_cmpint(f.topics.items[0].partitions.items[0].partition_max_bytes, ==, 4096);
  g_assert_cmpint(f.forgotten_topics_data.count, ==, 0);

  brook_list_offsets_request_t lo = {0};
  brook_proto_init(&brook_list_offsets_request_desc, &lo);
  brook_list_offsets_request_list_offsets_partition_t lp = {0};
  brook_proto_init(&brook_list_offsets_request_list_offsets_partition_desc, &lp);
  g_assert_cmpint(lp.max_num_offsets, ==, 1);
  g_assert_cmpint(lp.current_leader_epoch, ==, -1);
  brook_metadata_response_t md = {0};
  brook_proto_init(&brook_metadata_response_desc, &md);
  g_assert_cmpint(md.cluster_authorized_operations, ==, INT32_MIN);
  g_assert_cmpint(md.controller_id, ==, -1);
  g_assert_cmpint(md.cluster_id.len, ==, -1);
  brook_arena_destroy(arena);
}

static int released;
static void release_cb(void *ctx) { released += GPOINTER_TO_INT(ctx); }

static void test_records_splice(void) {
  /* A records field backed by a file range: length, then a splice. */
  brook_fetch_response_t resp = {0};
  brook_proto_init(&brook_fetch_response_desc, &resp);
  brook_fetch_response_partition_data_t part = {0};
  brook_proto_init(&brook_fetch_response_partition_data_desc, &part);
  brook_fileref_t ref = {.fd = 99, .pos = 4096, .len = 1000, .release = release_cb, .ctx = GINT_TO_POINTER(1)};
  part.records = (brook_records_t){NULL, 1000, &ref};
  brook_fetch_response_fetchable_topic_response_t topic = {.topic = BROOK_STR("t")};
  topic.partitions.items = &part;
  topic.partitions.count = 1;
  resp.responses.items = &topic;
  resp.responses.count = 1;
  for (int16_t v = 4; v <= 12; v += 8) {
    brook_buf_t b;
    brook_buf_init(&b);
    released = 0;
    brook_proto_encode(&brook_fetch_response_desc, v, &resp, &b);
    g_assert_cmpuint(b.nsplices, ==, 1);
    g_assert_cmpuint(brook_buf_total(&b), ==, b.len + 1000);
    size_t at = b.splices[0].at;
    if (v < 12) {
      g_assert_cmpuint(brook_rd32(b.data + at - 4), ==, 1000);
      g_assert_cmpuint(b.len - at, ==, 0); /* records are the last field */
    } else {
      g_assert_cmpuint(b.data[at - 2], ==, 0x80 | (1001 & 0x7f)); /* compact: uvarint 1001 */
      g_assert_cmpuint(b.data[at - 1], ==, 1001 >> 7);
      g_assert_cmpuint(b.len - at, ==, 3); /* partition, topic, message tag sections */
    }
    brook_buf_free(&b);
    g_assert_cmpint(released, ==, 1);
  }
}

static void test_req_header(void) {
  brook_req_hdr_t h = {.api_key = BROOK_API_METADATA, .api_version = 9, .correlation_id = 77,
                       .client_id = BROOK_STR("cli")};
  brook_buf_t b;
  brook_buf_init(&b);
  brook_proto_encode_req_hdr(&h, true, &b);
  static const uint8_t want[] = {0, 3, 0, 9, 0, 0, 0, 77, 0, 3, 'c', 'l', 'i', 0};
  assert_bytes(&b, want, sizeof want);
  brook_req_hdr_t d;
  size_t hl = 0;
  g_assert_cmpint(brook_proto_decode_req_hdr(b.data, b.len, &d, &hl), ==, 0);
  g_assert_cmpuint(hl, ==, sizeof want);
  g_assert_cmpint(d.correlation_id, ==, 77);
  g_assert_cmpmem(d.client_id.ptr, d.client_id.len, "cli", 3);
  /* Header tags (unknown) are skipped. */
  static const uint8_t tags[] = {0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 1, 5, 2, 'h', 'i', 0xee};
  g_assert_cmpint(brook_proto_decode_req_hdr(tags, sizeof tags, &d, &hl), ==, 0);
  g_assert_cmpuint(hl, ==, sizeof tags - 1);
  g_assert_cmpint(d.client_id.len, ==, -1);
  /* Metadata v8 is classic: header v1, no tag section. */
  g_assert_cmpint(brook_proto_decode_req_hdr((const uint8_t *)"\0\3\0\10\0\0\0\1\0\0\xee", 11, &d, &hl), ==, 0);
  g_assert_cmpuint(hl, ==, 10);
  /* Unknown key / version: header v1. */
  g_assert_cmpint(brook_proto_decode_req_hdr((const uint8_t *)"\x7f\0\0\1\0\0\0\1\0\0", 10, &d, &hl), ==, 0);
  g_assert_cmpuint(hl, ==, 10);
  g_assert_cmpint(brook_proto_decode_req_hdr((const uint8_t *)"\0\3\0\x63\0\0\0\1\0\0", 10, &d, &hl), ==, 0);
  g_assert_cmpuint(hl, ==, 10);
  /* Truncated headers. */
  for (size_t cut = 0; cut < sizeof want; cut++)
    g_assert_cmpint(brook_proto_decode_req_hdr(want, cut, &d, &hl), ==, -1);
  /* client_id length past the end, negative. */
  g_assert_cmpint(brook_proto_decode_req_hdr((const uint8_t *)"\0\3\0\1\0\0\0\1\0\5ab", 12, &d, &hl), ==, -1);
  g_assert_cmpint(brook_proto_decode_req_hdr((const uint8_t *)"\0\3\0\1\0\0\0\1\xff\xfe", 10, &d, &hl), ==, -1);

  brook_buf_reset(&b);
  brook_proto_encode_resp_hdr(5, true, &b);
  static const uint8_t r1[] = {0, 0, 0, 5, 0};
  assert_bytes(&b, r1, sizeof r1);
  g_assert_false(brook_proto_resp_hdr_flexible(BROOK_API_API_VERSIONS, 3));
  g_assert_true(brook_proto_resp_hdr_flexible(BROOK_API_METADATA, 9));
  g_assert_false(brook_proto_resp_hdr_flexible(BROOK_API_METADATA, 8));
  brook_buf_free(&b);
}

static void test_api_table(void) {
  const brook_api_schema_t *p = brook_proto_api(BROOK_API_PRODUCE);
  g_assert_nonnull(p);
  g_assert_cmpstr(p->name, ==, "Produce");
  g_assert_cmpint(p->max_version, ==, 9);
  g_assert_cmpint(p->first_flexible, ==, 9);
  g_assert_true(p->request == &brook_produce_request_desc);
  g_assert_cmpuint(p->request_size, ==, sizeof(brook_produce_request_t));
  g_assert_null(brook_proto_api(-1));
  g_assert_null(brook_proto_api(BROOK_PROTO_MAX_API_KEY + 1));
  g_assert_null(brook_proto_api(4)); /* LeaderAndIsr: not ours */
  int16_t prev = -1;
  for (int i = 0; i < BROOK_PROTO_NUM_APIS; i++) {
    g_assert_cmpint(brook_proto_api_keys[i], >, prev);
    prev = brook_proto_api_keys[i];
    const brook_api_schema_t *a = brook_proto_api(prev);
    g_assert_nonnull(a);
    g_assert_cmpint(a->key, ==, prev);
    g_assert_cmpint(a->min_version, ==, 0);
  }
  static const struct {
    int16_t key, max, flex;
  } want[] = {
      {BROOK_API_API_VERSIONS, 3, 3}, {BROOK_API_METADATA, 12, 9},      {BROOK_API_PRODUCE, 9, 9},
      {BROOK_API_FETCH, 13, 12},      {BROOK_API_LIST_OFFSETS, 7, 6},   {BROOK_API_INIT_PRODUCER_ID, 4, 2},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
    const brook_api_schema_t *a = brook_proto_api(want[i].key);
    g_assert_nonnull(a);
    g_assert_cmpint(a->max_version, ==, want[i].max);
    g_assert_cmpint(a->first_flexible, ==, want[i].flex);
  }
}

/* ------------------------------------------------------------ golden */

static char *fixture_dir(void) {
  const char *env = g_getenv("BROOK_CODEC_FIXTURES");
  if (env) return g_strdup(env);
  /* __FILE__ is relative to the build directory root (where ninja runs the
   * compiler); meson test runs from the build directory root too, but look
   * around a bit in case of another working directory. */
  char *dir = g_path_get_dirname(__FILE__);
  char *p = g_build_filename(dir, "fixtures", "codec", NULL);
  g_free(dir);
  if (g_file_test(p, G_FILE_TEST_IS_DIR)) return p;
  const char *alts[] = {"../tests/broker/fixtures/codec", "../../tests/broker/fixtures/codec",
                        "../../../tests/broker/fixtures/codec", "tests/broker/fixtures/codec"};
  for (size_t i = 0; i < G_N_ELEMENTS(alts); i++) {
    if (g_file_test(alts[i], G_FILE_TEST_IS_DIR)) {
      g_free(p);
      return g_strdup(alts[i]);
    }
  }
  return p;
}

typedef struct golden {
  brook_arena_t *arena;
  brook_req_hdr_t hdr;
  const brook_api_schema_t *api;
  void *body;
  gchar *data;
  gsize len;
} golden_t;

/* Loads a captured frame, decodes header and body, and checks that encoding
 * them again reproduces the frame exactly. */
static void golden_load(golden_t *g, const char *name) {
  char *dir = fixture_dir();
  char *path = g_build_filename(dir, name, NULL);
  GError *err = NULL;
  if (!g_file_get_contents(path, &g->data, &g->len, &err)) g_error("%s: %s", path, err->message);
  g->arena = brook_arena_new(0);
  size_t hl = 0;
  g_assert_cmpint(brook_proto_decode_req_hdr((const uint8_t *)g->data, g->len, &g->hdr, &hl), ==, 0);
  g->api = brook_proto_api(g->hdr.api_key);
  g_assert_nonnull(g->api);
  g->body = brook_arena_alloc(g->arena, g->api->request_size);
  g_assert_cmpint(brook_proto_decode(g->api->request, g->hdr.api_version, (const uint8_t *)g->data + hl,
                                     g->len - hl, g->arena, g->body),
                  ==, 0);
  brook_buf_t b;
  brook_buf_init(&b);
  brook_proto_encode_req_hdr(&g->hdr, brook_proto_is_flexible(g->api, g->hdr.api_version), &b);
  g_assert_cmpuint(b.len, ==, hl);
  brook_proto_encode(g->api->request, g->hdr.api_version, g->body, &b);
  g_assert_cmpmem(b.data, b.len, g->data, g->len);
  brook_buf_free(&b);
  g_free(path);
  g_free(dir);
}

static void golden_free(golden_t *g) {
  brook_arena_destroy(g->arena);
  g_free(g->data);
}

#define ASSERT_STR(s, lit) g_assert_cmpmem((s).ptr, (s).len, lit, sizeof(lit) - 1)

static void assert_client(const golden_t *g, int16_t key, int16_t ver, const char *client) {
  g_assert_cmpint(g->hdr.api_key, ==, key);
  g_assert_cmpint(g->hdr.api_version, ==, ver);
  g_assert_cmpmem(g->hdr.client_id.ptr, g->hdr.client_id.len, client, strlen(client));
}

static void test_golden_all_files(void) {
  /* Every fixture in the directory decodes and re-encodes identically. */
  char *dir = fixture_dir();
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  unsigned n = 0;
  for (const char *name; (name = g_dir_read_name(d));) {
    if (!g_str_has_suffix(name, ".bin")) continue;
    golden_t g = {0};
    golden_load(&g, name);
    golden_free(&g);
    n++;
  }
  g_dir_close(d);
  g_free(dir);
  g_test_message("%u golden frames", n);
  g_assert_cmpuint(n, >=, 22);
}

static void test_golden_kcat(void) {
  golden_t g = {0};
  golden_load(&g, "kcat-ApiVersions-v3.bin");
  assert_client(&g, BROOK_API_API_VERSIONS, 3, "kcat-golden");
  brook_api_versions_request_t *av = g.body;
  ASSERT_STR(av->client_software_name, "librdkafka");
  ASSERT_STR(av->client_software_version, "2.0.2");
  golden_free(&g);

  golden_load(&g, "kcat-Metadata-v4.bin");
  assert_client(&g, BROOK_API_METADATA, 4, "kcat-golden");
  brook_metadata_request_t *md = g.body;
  g_assert_cmpint(md->topics.count, ==, 1);
  ASSERT_STR(md->topics.items[0].name, "brook-golden");
  g_assert_true(md->allow_auto_topic_creation);
  golden_free(&g);

  golden_load(&g, "kcat-Produce-v7.bin");
  assert_client(&g, BROOK_API_PRODUCE, 7, "kcat-golden");
  brook_produce_request_t *pr = g.body;
  g_assert_cmpint(pr->transactional_id.len, ==, -1);
  g_assert_cmpint(pr->acks, ==, -1);
  g_assert_cmpint(pr->topic_data.count, ==, 1);
  ASSERT_STR(pr->topic_data.items[0].name, "brook-golden");
  g_assert_cmpint(pr->topic_data.items[0].partition_data.count, ==, 1);
  brook_produce_request_partition_produce_data_t *pp = &pr->topic_data.items[0].partition_data.items[0];
  g_assert_cmpint(pp->index, ==, 0);
  g_assert_cmpint(pp->records.len, >, 61);
  g_assert_cmpint(pp->records.ptr[16], ==, 2); /* RecordBatch magic v2 */
  g_assert_null(pp->records.file);
  golden_free(&g);

  golden_load(&g, "kcat-InitProducerId-v4.bin");
  assert_client(&g, BROOK_API_INIT_PRODUCER_ID, 4, "kcat-golden");
  brook_init_producer_id_request_t *ip = g.body;
  g_assert_cmpint(ip->transactional_id.len, ==, -1);
  g_assert_cmpint(ip->producer_id, ==, -1);
  g_assert_cmpint(ip->producer_epoch, ==, -1);
  golden_free(&g);

  golden_load(&g, "kcat-Fetch-v11.bin");
  assert_client(&g, BROOK_API_FETCH, 11, "kcat-golden");
  brook_fetch_request_t *fr = g.body;
  g_assert_cmpint(fr->replica_id, ==, -1);
  g_assert_cmpint(fr->max_wait_ms, ==, 500);
  g_assert_cmpint(fr->isolation_level, ==, 1);
  g_assert_cmpint(fr->session_epoch, ==, -1);
  g_assert_cmpint(fr->topics.count, ==, 1);
  ASSERT_STR(fr->topics.items[0].topic, "brook-golden");
  g_assert_cmpint(fr->topics.items[0].partitions.items[0].partition, ==, 0);
  g_assert_cmpint(fr->topics.items[0].partitions.items[0].fetch_offset, ==, 0);
  g_assert_cmpint(fr->topics.items[0].partitions.items[0].partition_max_bytes, ==, 1048576);
  g_assert_cmpint(fr->forgotten_topics_data.count, ==, 0);
  g_assert_cmpint(fr->rack_id.len, ==, 0);
  golden_free(&g);

  golden_load(&g, "kcat-ListOffsets-v2.bin");
  assert_client(&g, BROOK_API_LIST_OFFSETS, 2, "kcat-golden");
  brook_list_offsets_request_t *lo = g.body;
  g_assert_cmpint(lo->replica_id, ==, -1);
  ASSERT_STR(lo->topics.items[0].name, "brook-golden");
  g_assert_cmpint(lo->topics.items[0].partitions.items[0].timestamp, ==, -1); /* latest */
  g_assert_cmpint(lo->topics.items[0].partitions.items[0].max_num_offsets, ==, 1); /* default, absent in v2 */
  golden_free(&g);
}

static void test_golden_kafka_python(void) {
  golden_t g = {0};
  golden_load(&g, "kafka-python-ApiVersions-v0.bin");
  assert_client(&g, BROOK_API_API_VERSIONS, 0, "kafka-python-golden");
  golden_free(&g);

  golden_load(&g, "kafka-python-Metadata-v0.bin");
  assert_client(&g, BROOK_API_METADATA, 0, "kafka-python-golden");
  g_assert_cmpint(((brook_metadata_request_t *)g.body)->topics.count, ==, 0); /* v0: all topics */
  golden_free(&g);

  golden_load(&g, "kafka-python-Metadata-v1.bin");
  g_assert_cmpint(((brook_metadata_request_t *)g.body)->topics.count, ==, -1); /* v1+: null = all */
  golden_free(&g);

  golden_load(&g, "kafka-python-Produce-v7.bin");
  assert_client(&g, BROOK_API_PRODUCE, 7, "kafka-python-golden");
  brook_produce_request_t *pr = g.body;
  g_assert_cmpint(pr->acks, ==, 1);
  ASSERT_STR(pr->topic_data.items[0].name, "brook-golden");
  g_assert_cmpint(pr->topic_data.items[0].partition_data.items[0].records.ptr[16], ==, 2);
  golden_free(&g);

  golden_load(&g, "kafka-python-Fetch-v4.bin");
  assert_client(&g, BROOK_API_FETCH, 4, "kafka-python-golden");
  brook_fetch_request_t *fr = g.body;
  g_assert_cmpint(fr->isolation_level, ==, 0);
  g_assert_cmpint(fr->session_id, ==, 0);
  ASSERT_STR(fr->topics.items[0].topic, "brook-golden");
  g_assert_cmpint(fr->topics.items[0].partitions.items[0].log_start_offset, ==, -1); /* absent in v4 */
  golden_free(&g);

  golden_load(&g, "kafka-python-ListOffsets-v1.bin");
  brook_list_offsets_request_t *lo = g.body;
  g_assert_cmpint(lo->topics.items[0].partitions.items[0].timestamp, ==, -1);
  golden_free(&g);

  golden_load(&g, "kafka-python-Metadata-v5.bin");
  g_assert_cmpint(((brook_metadata_request_t *)g.body)->topics.count, ==, -1); /* null: all topics */
  golden_free(&g);
}

static void test_golden_groups_admin(void) {
  golden_t g = {0};
  golden_load(&g, "kcat-FindCoordinator-v2.bin");
  assert_client(&g, BROOK_API_FIND_COORDINATOR, 2, "kcat-golden");
  brook_find_coordinator_request_t *fc = g.body;
  ASSERT_STR(fc->key, "golden-group");
  g_assert_cmpint(fc->key_type, ==, 0);
  golden_free(&g);

  golden_load(&g, "kafka-python-FindCoordinator-v0.bin");
  ASSERT_STR(((brook_find_coordinator_request_t *)g.body)->key, "golden-group");
  golden_free(&g);

  golden_load(&g, "kcat-JoinGroup-v5.bin");
  assert_client(&g, BROOK_API_JOIN_GROUP, 5, "kcat-golden");
  brook_join_group_request_t *jg = g.body;
  ASSERT_STR(jg->group_id, "golden-group");
  g_assert_cmpint(jg->member_id.len, ==, 0);
  g_assert_cmpint(jg->group_instance_id.len, ==, -1);
  ASSERT_STR(jg->protocol_type, "consumer");
  g_assert_cmpint(jg->protocols.count, ==, 2);
  ASSERT_STR(jg->protocols.items[0].name, "range");
  ASSERT_STR(jg->protocols.items[1].name, "roundrobin");
  g_assert_cmpint(jg->reason.len, ==, -1); /* absent in v5: default null */
  golden_free(&g);

  golden_load(&g, "kafka-python-JoinGroup-v2.bin");
  jg = g.body;
  ASSERT_STR(jg->group_id, "golden-group");
  g_assert_cmpint(jg->session_timeout_ms, ==, 10000);
  g_assert_cmpint(jg->rebalance_timeout_ms, >, 0);
  g_assert_cmpint(jg->protocols.count, >=, 1);
  golden_free(&g);

  golden_load(&g, "kafka-python-CreateTopics-v3.bin");
  assert_client(&g, BROOK_API_CREATE_TOPICS, 3, "kafka-python-golden");
  brook_create_topics_request_t *ct = g.body;
  g_assert_cmpint(ct->topics.count, ==, 1);
  ASSERT_STR(ct->topics.items[0].name, "brook-new");
  g_assert_cmpint(ct->topics.items[0].num_partitions, ==, 3);
  g_assert_cmpint(ct->topics.items[0].replication_factor, ==, 1);
  g_assert_cmpint(ct->topics.items[0].configs.count, ==, 1);
  ASSERT_STR(ct->topics.items[0].configs.items[0].name, "retention.ms");
  ASSERT_STR(ct->topics.items[0].configs.items[0].value, "60000");
  g_assert_cmpint(ct->timeout_ms, ==, 5000);
  g_assert_false(ct->validate_only);
  golden_free(&g);

  golden_load(&g, "kafka-python-DeleteTopics-v3.bin");
  brook_delete_topics_request_t *dt = g.body;
  g_assert_cmpint(dt->topic_names.count, ==, 1);
  ASSERT_STR(dt->topic_names.items[0], "brook-old");
  g_assert_cmpint(dt->topics.count, ==, 0); /* v6+ only */
  golden_free(&g);

  golden_load(&g, "kafka-python-DescribeConfigs-v2.bin");
  brook_describe_configs_request_t *dc = g.body;
  g_assert_cmpint(dc->resources.count, ==, 1);
  g_assert_cmpint(dc->resources.items[0].resource_type, ==, 2); /* TOPIC */
  ASSERT_STR(dc->resources.items[0].resource_name, "brook-golden");
  g_assert_cmpint(dc->resources.items[0].configuration_keys.count, ==, -1); /* all keys */
  golden_free(&g);

  golden_load(&g, "kafka-python-ListGroups-v1.bin");
  assert_client(&g, BROOK_API_LIST_GROUPS, 1, "kafka-python-golden");
  golden_free(&g);

  golden_load(&g, "kafka-python-DescribeGroups-v3.bin");
  brook_describe_groups_request_t *dg = g.body;
  g_assert_cmpint(dg->groups.count, ==, 1);
  ASSERT_STR(dg->groups.items[0], "golden-group");
  golden_free(&g);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/broker/codec/api-table", test_api_table);
  g_test_add_func("/broker/codec/round-trip/all", test_round_trip_all);
  g_test_add_func("/broker/codec/malformed/random", test_random_bytes);
  g_test_add_func("/broker/codec/malformed/cases", test_malformed);
  g_test_add_func("/broker/codec/malformed/amplification", test_amplification);
  g_test_add_func("/broker/codec/classic/produce", test_classic_produce);
  g_test_add_func("/broker/codec/flexible/tagged", test_flexible_tagged);
  g_test_add_func("/broker/codec/flexible/tagged-struct", test_tagged_struct);
  g_test_add_func("/broker/codec/flexible/unknown-tags", test_unknown_tags_skipped);
  g_test_add_func("/broker/codec/defaults", test_defaults);
  g_test_add_func("/broker/codec/records/splice", test_records_splice);
  g_test_add_func("/broker/codec/header", test_req_header);
  g_test_add_func("/broker/codec/golden/all", test_golden_all_files);
  g_test_add_func("/broker/codec/golden/kcat", test_golden_kcat);
  g_test_add_func("/broker/codec/golden/kafka-python", test_golden_kafka_python);
  g_test_add_func("/broker/codec/golden/groups-admin", test_golden_groups_admin);
  return g_test_run();
}
