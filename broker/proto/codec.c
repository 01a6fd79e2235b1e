/*
 * codec.c — Kafka wire codec driven by the generated descriptor tables.
 *
 * Design note
 *  - One walker for every API: a message is a struct descriptor (proto_gen.c)
 *    whose fields carry a kind, the versions they exist in, the versions they
 *    may be null / are tagged in, a default and an offsetof. decode_struct and
 *    encode_struct visit the fields in order; a field absent from the version
 *    keeps its default (decode) or is skipped (encode).
 *  - Classic vs flexible is one bool per message version:
 *        classic   string: int16 len (-1 null)   bytes/records/array: int32 (-1 null)
 *        flexible  string/bytes/records/array: uvarint (len + 1), 0 = null;
 *                  each struct ends with a tagged-field section:
 *                  uvarint count, then per field uvarint tag, uvarint size, data.
 *  - Hostile input: every read goes through brook_rd_t (bounds-checked,
 *    sticky error). Lengths are checked against the bytes left before
 *    anything is taken; an array count is capped by remaining bytes divided
 *    by the fewest bytes one element can take at that version (min_wire from
 *    the generator), so a 4-byte count cannot make us allocate more than a
 *    small multiple of the frame: at most elem_size / min_wire arena bytes
 *    per input byte and nesting level (22 at worst in kafka.schema; the test
 *    /broker/codec/malformed/amplification keeps it <= 32). Allocation is from
 *    the caller's arena only.
 *    Recursion follows the schema's nesting (depth <= 5 in kafka.schema);
 *    tagged fields are decoded from a sub-reader bounded by their size, and
 *    unknown tags are skipped.
 *  - Decoding borrows: strings, bytes and records point into the input.
 *  - Encoding never fails: the message is the server's own data. A null in a
 *    version where the field is not nullable is written as empty, a string
 *    longer than 32767 bytes is cut (Kafka's limit for both string forms).
 *    A records field with .file set is written as its length followed by a
 *    splice of the file range; the fileref's ownership passes to out.
 *  - Tagged fields are written only when they differ from their default
 *    (structs: when any member does). Their size prefix is back-patched by
 *    moving the field's bytes, which is why the generator forbids records
 *    inside tagged fields (a splice must never move).
 *  - No string compares, no lookups by name at runtime: per field the work is
 *    two range checks and a switch.
 * @locality any (no state of its own).
 */
#define BROOK_PROTO_PRIVATE 1
#include "proto.h"

#include <string.h>

typedef brook_proto_field_t field_t;

#define STR_MAX 0x7fff /* Kafka refuses longer strings in both encodings */

static inline bool in_range(int16_t v, int16_t lo, int16_t hi) { return v >= lo && v <= hi; }
static inline bool f_present(const field_t *f, int16_t v) { return in_range(v, f->ver_min, f->ver_max); }
static inline bool f_nullable(const field_t *f, int16_t v) { return in_range(v, f->null_min, f->null_max); }
static inline bool f_tagged(const field_t *f, int16_t v) { return in_range(v, f->tag_min, f->tag_max); }
static inline bool desc_flexible(const brook_msg_desc_t *d, int16_t v) {
  return d->first_flexible >= 0 && v >= d->first_flexible;
}

static inline void *arr_items(const uint8_t *base, const field_t *f) {
  void *items;
  memcpy(&items, base + f->offset, sizeof items);
  return items;
}
static inline int32_t *arr_count(uint8_t *base, const field_t *f) { return (int32_t *)(base + f->count_offset); }

/* ------------------------------------------------------------------ init */

static void init_struct(const brook_msg_desc_t *desc, uint8_t *base);

/* Stores f's default at p (the member's address). */
static void init_field(const field_t *f, uint8_t *base) {
  uint8_t *p = base + f->offset;
  switch (f->kind) {
    case BROOK_PK_BOOL: *(bool *)p = f->def_int != 0; break;
    case BROOK_PK_INT8: *(int8_t *)p = (int8_t)f->def_int; break;
    case BROOK_PK_INT16: *(int16_t *)p = (int16_t)f->def_int; break;
    case BROOK_PK_INT32: *(int32_t *)p = (int32_t)f->def_int; break;
    case BROOK_PK_INT64: *(int64_t *)p = f->def_int; break;
    case BROOK_PK_UINT16: *(uint16_t *)p = (uint16_t)f->def_int; break;
    case BROOK_PK_FLOAT64: *(double *)p = f->def_f64; break;
    case BROOK_PK_UUID: memset(p, 0, sizeof(brook_uuid_t)); break;
    case BROOK_PK_STRING: {
      brook_str_t *s = (brook_str_t *)p;
      if (f->def_null) *s = (brook_str_t){NULL, -1};
      else if (f->def_str) *s = (brook_str_t){f->def_str, (int32_t)strlen(f->def_str)};
      else *s = (brook_str_t){NULL, 0};
      break;
    }
    case BROOK_PK_BYTES: *(brook_bytes_t *)p = (brook_bytes_t){NULL, f->def_null ? -1 : 0}; break;
    case BROOK_PK_RECORDS: *(brook_records_t *)p = (brook_records_t){NULL, f->def_null ? -1 : 0, NULL}; break;
    case BROOK_PK_STRUCT: init_struct(f->sub, p); break;
    case BROOK_PK_ARRAY: {
      void *none = NULL;
      memcpy(p, &none, sizeof none);
      *arr_count(base, f) = f->def_null ? -1 : 0;
      break;
    }
  }
}

static void init_struct(const brook_msg_desc_t *desc, uint8_t *base) {
  for (uint16_t i = 0; i < desc->nfields; i++) init_field(&desc->fields[i], base);
}

void brook_proto_init(const brook_msg_desc_t *desc, void *msg) { init_struct(desc, msg); }

/* ---------------------------------------------------------------- decode */

typedef struct dec {
  brook_arena_t *arena;
  int16_t ver;
  bool flex;
} dec_t;

static int decode_struct(const dec_t *d, const brook_msg_desc_t *desc, brook_rd_t *rd, uint8_t *base);

/* Length prefix of a string/bytes/array. Returns the length, -1 for null, or
 * -2 if malformed (bad varint, negative other than -1, over max). */
static int64_t read_len(const dec_t *d, brook_rd_t *rd, bool short_len, int64_t max) {
  int64_t n;
  if (d->flex) {
    uint64_t u = brook_rd_uvarint(rd);
    if (rd->err) return -2;
    if (u == 0) return -1;
    if (u - 1 > (uint64_t)max) return -2;
    n = (int64_t)(u - 1);
  } else {
    n = short_len ? brook_rd_i16(rd) : brook_rd_i32(rd);
    if (rd->err || n < -1 || n > max) return -2;
  }
  return n;
}

/* Decodes one value of a primitive kind at p. */
static int decode_prim(const dec_t *d, uint8_t kind, bool nullable, brook_rd_t *rd, uint8_t *p) {
  switch (kind) {
    case BROOK_PK_BOOL: *(bool *)p = brook_rd_i8(rd) != 0; break;
    case BROOK_PK_INT8: *(int8_t *)p = brook_rd_i8(rd); break;
    case BROOK_PK_INT16: *(int16_t *)p = brook_rd_i16(rd); break;
    case BROOK_PK_INT32: *(int32_t *)p = brook_rd_i32(rd); break;
    case BROOK_PK_INT64: *(int64_t *)p = brook_rd_i64(rd); break;
    case BROOK_PK_UINT16: *(uint16_t *)p = (uint16_t)brook_rd_i16(rd); break;
    case BROOK_PK_FLOAT64: *(double *)p = brook_rd_f64(rd); break;
    case BROOK_PK_UUID: {
      const uint8_t *src = brook_rd_take(rd, sizeof(brook_uuid_t));
      if (!src) return -1;
      memcpy(p, src, sizeof(brook_uuid_t));
      break;
    }
    case BROOK_PK_STRING: {
      int64_t n = read_len(d, rd, true, STR_MAX);
      if (n == -2 || (n == -1 && !nullable)) return -1;
      brook_str_t *s = (brook_str_t *)p;
      if (n == -1) {
        *s = (brook_str_t){NULL, -1};
        break;
      }
      const uint8_t *src = brook_rd_take(rd, (size_t)n);
      if (!src) return -1;
      *s = (brook_str_t){(const char *)src, (int32_t)n};
      break;
    }
    case BROOK_PK_BYTES:
    case BROOK_PK_RECORDS: {
      int64_t n = read_len(d, rd, false, INT32_MAX - 1);
      if (n == -2 || (n == -1 && !nullable)) return -1;
      const uint8_t *src = NULL;
      if (n >= 0 && !(src = brook_rd_take(rd, (size_t)n))) return -1;
      if (kind == BROOK_PK_BYTES) *(brook_bytes_t *)p = (brook_bytes_t){src, (int32_t)n};
      else *(brook_records_t *)p = (brook_records_t){src, (int32_t)n, NULL};
      break;
    }
    default: return -1; /* structs and arrays are not primitives */
  }
  return rd->err ? -1 : 0;
}

/* Fewest wire bytes of one array element, to cap counts. */
static size_t elem_min_wire(const dec_t *d, const field_t *f) {
  switch (f->elem) {
    case BROOK_PK_BOOL:
    case BROOK_PK_INT8: return 1;
    case BROOK_PK_INT16:
    case BROOK_PK_UINT16: return 2;
    case BROOK_PK_INT32: return 4;
    case BROOK_PK_INT64:
    case BROOK_PK_FLOAT64: return 8;
    case BROOK_PK_UUID: return 16;
    case BROOK_PK_STRING: return d->flex ? 1 : 2;
    case BROOK_PK_BYTES:
    case BROOK_PK_RECORDS: return d->flex ? 1 : 4;
    case BROOK_PK_STRUCT: {
      uint16_t m = f->sub->min_wire[d->ver];
      return m ? m : 1; /* every element needs >= 1 byte, whatever the schema */
    }
    default: return 1;
  }
}

static int decode_array(const dec_t *d, const field_t *f, brook_rd_t *rd, uint8_t *base) {
  int64_t n = read_len(d, rd, false, INT32_MAX - 1);
  if (n == -2 || (n == -1 && !f_nullable(f, d->ver))) return -1;
  int32_t *count = arr_count(base, f);
  void *items = NULL;
  if (n > 0) {
    if ((uint64_t)n > brook_rd_remaining(rd) / elem_min_wire(d, f)) return -1;
    items = brook_arena_alloc(d->arena, (size_t)n * f->elem_size);
    for (int64_t i = 0; i < n; i++) {
      uint8_t *e = (uint8_t *)items + (size_t)i * f->elem_size;
      if (f->elem == BROOK_PK_STRUCT) {
        if (f->sub->has_defaults) init_struct(f->sub, e);
        if (decode_struct(d, f->sub, rd, e) < 0) return -1;
      } else if (decode_prim(d, f->elem, false, rd, e) < 0) {
        return -1;
      }
    }
  }
  memcpy(base + f->offset, &items, sizeof items);
  *count = (int32_t)n;
  return 0;
}

static int decode_field(const dec_t *d, const field_t *f, brook_rd_t *rd, uint8_t *base) {
  switch (f->kind) {
    case BROOK_PK_STRUCT: return decode_struct(d, f->sub, rd, base + f->offset);
    case BROOK_PK_ARRAY: return decode_array(d, f, rd, base);
    default: return decode_prim(d, f->kind, f_nullable(f, d->ver), rd, base + f->offset);
  }
}

/* The tagged-field section at the end of a flexible struct. */
static int decode_tagged(const dec_t *d, const brook_msg_desc_t *desc, brook_rd_t *rd, uint8_t *base) {
  uint64_t n = brook_rd_uvarint(rd);
  if (rd->err || n > brook_rd_remaining(rd) / 2) return -1; /* each tag takes >= 2 bytes */
  for (uint64_t i = 0; i < n; i++) {
    uint64_t tag = brook_rd_uvarint(rd);
    uint64_t size = brook_rd_uvarint(rd);
    if (rd->err || size > brook_rd_remaining(rd)) return -1;
    const uint8_t *data = brook_rd_take(rd, (size_t)size);
    const field_t *f = NULL;
    for (uint16_t k = 0; k < desc->ntagged; k++) {
      const field_t *c = &desc->fields[desc->tagged[k]];
      if (c->tag == tag && f_tagged(c, d->ver)) {
        f = c;
        break;
      }
    }
    if (!f) continue; /* unknown (or not in this version): skip, as Kafka does */
    brook_rd_t sub;
    brook_rd_init(&sub, data, (size_t)size);
    if (decode_field(d, f, &sub, base) < 0 || sub.err) return -1;
  }
  return rd->err ? -1 : 0;
}

static int decode_struct(const dec_t *d, const brook_msg_desc_t *desc, brook_rd_t *rd, uint8_t *base) {
  for (uint16_t i = 0; i < desc->nfields; i++) {
    const field_t *f = &desc->fields[i];
    if (!f_present(f, d->ver) || (d->flex && f_tagged(f, d->ver))) continue;
    if (decode_field(d, f, rd, base) < 0) return -1;
  }
  if (d->flex && decode_tagged(d, desc, rd, base) < 0) return -1;
  return rd->err ? -1 : 0;
}

int brook_proto_decode(const brook_msg_desc_t *desc, int16_t version, const uint8_t *p, size_t len,
                       brook_arena_t *arena, void *out) {
  if (version < 0 || version > desc->max_version) return -1;
  dec_t d = {.arena = arena, .ver = version, .flex = desc_flexible(desc, version)};
  brook_rd_t rd;
  static const uint8_t empty[1];
  brook_rd_init(&rd, p ? p : empty, p ? len : 0); /* an empty buffer may come as NULL */
  if (desc->has_defaults) init_struct(desc, out);
  return decode_struct(&d, desc, &rd, out);
}

/* ---------------------------------------------------------------- encode */

typedef struct enc {
  brook_buf_t *out;
  int16_t ver;
  bool flex;
} enc_t;

static void encode_struct(const enc_t *e, const brook_msg_desc_t *desc, const uint8_t *base);

static void put_len(const enc_t *e, int64_t n, bool short_len) {
  if (e->flex) brook_buf_put_uvarint(e->out, (uint64_t)(n + 1));
  else if (short_len) brook_buf_put_i16(e->out, (int16_t)n);
  else brook_buf_put_i32(e->out, (int32_t)n);
}

static void encode_prim(const enc_t *e, uint8_t kind, bool nullable, const uint8_t *p) {
  brook_buf_t *out = e->out;
  switch (kind) {
    case BROOK_PK_BOOL: brook_buf_put_i8(out, *(const bool *)p ? 1 : 0); break;
    case BROOK_PK_INT8: brook_buf_put_i8(out, *(const int8_t *)p); break;
    case BROOK_PK_INT16: brook_buf_put_i16(out, *(const int16_t *)p); break;
    case BROOK_PK_INT32: brook_buf_put_i32(out, *(const int32_t *)p); break;
    case BROOK_PK_INT64: brook_buf_put_i64(out, *(const int64_t *)p); break;
    case BROOK_PK_UINT16: brook_buf_put_i16(out, (int16_t) * (const uint16_t *)p); break;
    case BROOK_PK_FLOAT64: brook_buf_put_f64(out, *(const double *)p); break;
    case BROOK_PK_UUID: brook_buf_put(out, p, sizeof(brook_uuid_t)); break;
    case BROOK_PK_STRING: {
      const brook_str_t *s = (const brook_str_t *)p;
      if (s->len < 0 && nullable) {
        put_len(e, -1, true);
        break;
      }
      int32_t n = s->len < 0 ? 0 : s->len > STR_MAX ? STR_MAX : s->len;
      put_len(e, n, true);
      brook_buf_put(out, s->ptr, (size_t)n);
      break;
    }
    case BROOK_PK_BYTES: {
      const brook_bytes_t *b = (const brook_bytes_t *)p;
      if (b->len < 0 && nullable) {
        put_len(e, -1, false);
        break;
      }
      int32_t n = b->len < 0 ? 0 : b->len;
      put_len(e, n, false);
      brook_buf_put(out, b->ptr, (size_t)n);
      break;
    }
    case BROOK_PK_RECORDS: {
      const brook_records_t *r = (const brook_records_t *)p;
      if (r->file) {
        put_len(e, r->file->len, false);
        brook_buf_splice(out, r->file);
        break;
      }
      if (r->len < 0 && nullable) {
        put_len(e, -1, false);
        break;
      }
      int32_t n = r->len < 0 ? 0 : r->len;
      put_len(e, n, false);
      brook_buf_put(out, r->ptr, (size_t)n);
      break;
    }
    default: break;
  }
}

static void encode_field(const enc_t *e, const field_t *f, const uint8_t *base) {
  const uint8_t *p = base + f->offset;
  switch (f->kind) {
    case BROOK_PK_STRUCT: encode_struct(e, f->sub, p); return;
    case BROOK_PK_ARRAY: {
      int32_t n = *(const int32_t *)(base + f->count_offset);
      if (n < 0) {
        put_len(e, f_nullable(f, e->ver) ? -1 : 0, false);
        return;
      }
      put_len(e, n, false);
      const uint8_t *items = arr_items(base, f);
      for (int32_t i = 0; i < n; i++) {
        const uint8_t *el = items + (size_t)i * f->elem_size;
        if (f->elem == BROOK_PK_STRUCT) encode_struct(e, f->sub, el);
        else encode_prim(e, f->elem, false, el);
      }
      return;
    }
    default: encode_prim(e, f->kind, f_nullable(f, e->ver), p); return;
  }
}

static bool struct_is_default(const brook_msg_desc_t *desc, const uint8_t *base);

/* Whether the member equals its schema default (decides if a tagged field is
 * written). */
static bool field_is_default(const field_t *f, const uint8_t *base) {
  const uint8_t *p = base + f->offset;
  switch (f->kind) {
    case BROOK_PK_BOOL: return *(const bool *)p == (f->def_int != 0);
    case BROOK_PK_INT8: return *(const int8_t *)p == (int8_t)f->def_int;
    case BROOK_PK_INT16: return *(const int16_t *)p == (int16_t)f->def_int;
    case BROOK_PK_INT32: return *(const int32_t *)p == (int32_t)f->def_int;
    case BROOK_PK_INT64: return *(const int64_t *)p == f->def_int;
    case BROOK_PK_UINT16: return *(const uint16_t *)p == (uint16_t)f->def_int;
    case BROOK_PK_FLOAT64: return memcmp(p, &f->def_f64, sizeof(double)) == 0;
    case BROOK_PK_UUID: {
      static const brook_uuid_t zero;
      return memcmp(p, &zero, sizeof zero) == 0;
    }
    case BROOK_PK_STRING: {
      const brook_str_t *s = (const brook_str_t *)p;
      if (f->def_null) return s->len < 0;
      size_t dl = f->def_str ? strlen(f->def_str) : 0;
      return s->len >= 0 && (size_t)s->len == dl && (dl == 0 || memcmp(s->ptr, f->def_str, dl) == 0);
    }
    case BROOK_PK_BYTES: {
      const brook_bytes_t *b = (const brook_bytes_t *)p;
      return f->def_null ? b->len < 0 : b->len == 0;
    }
    case BROOK_PK_RECORDS: {
      const brook_records_t *r = (const brook_records_t *)p;
      return !r->file && (f->def_null ? r->len < 0 : r->len == 0);
    }
    case BROOK_PK_STRUCT: return struct_is_default(f->sub, p);
    case BROOK_PK_ARRAY: {
      int32_t n = *(const int32_t *)(base + f->count_offset);
      return f->def_null ? n < 0 : n == 0;
    }
  }
  return true;
}

static bool struct_is_default(const brook_msg_desc_t *desc, const uint8_t *base) {
  for (uint16_t i = 0; i < desc->nfields; i++)
    if (!field_is_default(&desc->fields[i], base)) return false;
  return true;
}

static void encode_tagged(const enc_t *e, const brook_msg_desc_t *desc, const uint8_t *base) {
  brook_buf_t *out = e->out;
  uint32_t n = 0;
  for (uint16_t k = 0; k < desc->ntagged; k++) {
    const field_t *f = &desc->fields[desc->tagged[k]];
    if (f_tagged(f, e->ver) && !field_is_default(f, base)) n++;
  }
  brook_buf_put_uvarint(out, n);
  if (!n) return;
  for (uint16_t k = 0; k < desc->ntagged; k++) {
    const field_t *f = &desc->fields[desc->tagged[k]];
    if (!f_tagged(f, e->ver) || field_is_default(f, base)) continue;
    brook_buf_put_uvarint(out, f->tag);
    size_t at = out->len;
    encode_field(e, f, base);
    /* Insert the size in front of the field's bytes (no splices here: the
     * generator keeps records out of tagged fields). */
    size_t size = out->len - at;
    uint8_t tmp[10];
    size_t k2 = 0;
    for (uint64_t v = size; ; v >>= 7) {
      tmp[k2++] = (uint8_t)(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
      if (v < 0x80) break;
    }
    brook_buf_reserve(out, k2);
    memmove(out->data + at + k2, out->data + at, size);
    memcpy(out->data + at, tmp, k2);
    out->len += k2;
  }
}

static void encode_struct(const enc_t *e, const brook_msg_desc_t *desc, const uint8_t *base) {
  for (uint16_t i = 0; i < desc->nfields; i++) {
    const field_t *f = &desc->fields[i];
    if (!f_present(f, e->ver) || (e->flex && f_tagged(f, e->ver))) continue;
    encode_field(e, f, base);
  }
  if (e->flex) encode_tagged(e, desc, base);
}

void brook_proto_encode(const brook_msg_desc_t *desc, int16_t version, const void *msg, brook_buf_t *out) {
  enc_t e = {.out = out, .ver = version, .flex = desc_flexible(desc, version)};
  encode_struct(&e, desc, msg);
}

/* --------------------------------------------------------------- headers */

int brook_proto_decode_req_hdr(const uint8_t *p, size_t len, brook_req_hdr_t *hdr, size_t *hdr_len) {
  if (!p || len < 10) return -1; /* api key, version, correlation id, client id length */
  brook_rd_t rd;
  brook_rd_init(&rd, p, len);
  hdr->api_key = brook_rd_i16(&rd);
  hdr->api_version = brook_rd_i16(&rd);
  hdr->correlation_id = brook_rd_i32(&rd);
  /* client_id is a classic nullable string in header v1 and v2 alike. */
  int16_t n = brook_rd_i16(&rd);
  if (rd.err || n < -1) return -1;
  if (n == -1) {
    hdr->client_id = (brook_str_t){NULL, -1};
  } else {
    const uint8_t *s = brook_rd_take(&rd, (size_t)n);
    if (!s) return -1;
    hdr->client_id = (brook_str_t){(const char *)s, n};
  }
  const brook_api_schema_t *api = brook_proto_api(hdr->api_key);
  if (api && in_range(hdr->api_version, api->min_version, api->max_version) &&
      brook_proto_is_flexible(api, hdr->api_version)) {
    /* Header v2: a tagged-field section; the header defines no tags yet. */
    uint64_t ntags = brook_rd_uvarint(&rd);
    if (rd.err || ntags > brook_rd_remaining(&rd) / 2) return -1;
    for (uint64_t i = 0; i < ntags; i++) {
      brook_rd_uvarint(&rd); /* tag */
      uint64_t size = brook_rd_uvarint(&rd);
      if (rd.err || size > brook_rd_remaining(&rd)) return -1;
      brook_rd_take(&rd, (size_t)size);
    }
  }
  if (rd.err) return -1;
  *hdr_len = (size_t)(rd.p - p);
  return 0;
}

void brook_proto_encode_req_hdr(const brook_req_hdr_t *hdr, bool flexible, brook_buf_t *out) {
  brook_buf_put_i16(out, hdr->api_key);
  brook_buf_put_i16(out, hdr->api_version);
  brook_buf_put_i32(out, hdr->correlation_id);
  if (hdr->client_id.len < 0) {
    brook_buf_put_i16(out, -1);
  } else {
    int32_t n = hdr->client_id.len > STR_MAX ? STR_MAX : hdr->client_id.len;
    brook_buf_put_i16(out, (int16_t)n);
    brook_buf_put(out, hdr->client_id.ptr, (size_t)n);
  }
  if (flexible) brook_buf_put_uvarint(out, 0);
}

void brook_proto_encode_resp_hdr(int32_t correlation_id, bool flexible, brook_buf_t *out) {
  brook_buf_put_i32(out, correlation_id);
  if (flexible) brook_buf_put_uvarint(out, 0);
}

bool brook_proto_resp_hdr_flexible(int16_t api_key, int16_t version) {
  if (api_key == BROOK_API_API_VERSIONS) return false;
  const brook_api_schema_t *api = brook_proto_api(api_key);
  return api && brook_proto_is_flexible(api, version);
}
