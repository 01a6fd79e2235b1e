/*
 * print.c — KStream.print (Kafka's Printed.toSysOut): one line per record,
 * "[label]: key, value", on stdout.
 *
 * Keys and values are typed by the serde known for the stream, or else the
 * application's default serdes; print renders by serde: strings as text,
 * i32/i64/double as numbers (doubles as Java prints them: "1.0"), json as its
 * compact text, bytes as text when printable else hex, windowed keys as Kafka's
 * Windowed.toString "[key@start/end]", a custom serde's value through its
 * serialized bytes (like bytes), null as "null". With no serde at all a
 * non-null value prints as "?" (its type is unknown).
 *
 * Stream threads print concurrently: a process-wide mutex keeps lines whole,
 * and each line is flushed so that output interleaves sensibly with other
 * writers of stdout.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl_int.h"

static GMutex print_lock;

/* ---- rendering ---- */

static const char *render_bytes(const uint8_t *data, size_t len) {
  bool printable = true;
  for (size_t i = 0; i < len && printable; i++)
    printable = data[i] >= 0x20 ? data[i] != 0x7f : (data[i] == '\t' || data[i] == '\n' || data[i] == '\r');
  if (printable && g_utf8_validate((const char *)data, (gssize)len, NULL))
    return brook_scratch_strndup((const char *)data, len);
  char *hex = brook_scratch_alloc(len * 2 + 1);
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    hex[2 * i] = digits[data[i] >> 4];
    hex[2 * i + 1] = digits[data[i] & 0xf];
  }
  return hex;
}

/* Java's Double.toString for the common cases: shortest text that reads
 * back to the same double, and ".0" on integral values. */
static const char *render_double(double d) {
  if (isnan(d)) return "NaN";
  if (isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  if (!strpbrk(buf, ".e")) return brook_scratch_printf("%s.0", buf);
  return brook_scratch_strdup(buf);
}

/* Renders by the serde's name; `serde` (may be NULL) serializes what the name
 * does not say how to show. */
static const char *render_named(const char *name, brook_serde_t *serde, const void *value, size_t strip);

static const char *render_serialized(brook_serde_t *serde, const void *value, size_t strip) {
  if (!serde) return "?";
  brook_serde_buf_t buf = BROOK_SERDE_BUF_INIT;
  char errstr[128];
  const char *out;
  if (brook_serde_serialize(serde, NULL, value, &buf, errstr, sizeof errstr) != 0)
    out = brook_scratch_printf("<%s>", errstr);
  else if (buf.is_null)
    out = "null";
  else
    out = render_bytes(buf.data, buf.len >= strip ? buf.len - strip : 0);
  brook_serde_buf_clear(&buf);
  return out;
}

static const char *render_windowed(const char *inner, brook_serde_t *serde, const brook_windowed_t *w,
                                   size_t suffix) {
  /* The inner serde is not reachable from the windowed one: render the inner
   * key by the inner name, else through the windowed bytes minus the window. */
  const char *key;
  if (strcmp(inner, "string") == 0 || strcmp(inner, "i32") == 0 || strcmp(inner, "i64") == 0 ||
      strcmp(inner, "double") == 0 || strcmp(inner, "bytes") == 0)
    key = render_named(inner, NULL, w->key, 0);
  else
    key = render_serialized(serde, w, suffix);
  return brook_scratch_printf("[%s@%lld/%lld]", key, (long long)w->start, (long long)w->end);
}

static const char *render_named(const char *name, brook_serde_t *serde, const void *value, size_t strip) {
  if (!value) return "null";
  if (strcmp(name, "string") == 0) return value;
  if (strcmp(name, "i32") == 0) return brook_scratch_printf("%d", (int)*(const int32_t *)value);
  if (strcmp(name, "i64") == 0) return brook_scratch_printf("%lld", (long long)*(const int64_t *)value);
  if (strcmp(name, "double") == 0) return render_double(*(const double *)value);
  if (strcmp(name, "void") == 0) return "null";
  if (strcmp(name, "bytes") == 0) {
    const brook_serde_bytes_t *b = value;
    return render_bytes(b->data, b->len);
  }
  if (strcmp(name, "json") == 0) return render_serialized(serde, value, 0);
  size_t len = strlen(name);
  if (g_str_has_prefix(name, "time_windowed<") && name[len - 1] == '>') {
    char *inner = brook_scratch_strndup(name + 14, len - 15);
    return render_windowed(inner, serde, value, 8);
  }
  if (g_str_has_prefix(name, "session_windowed<") && name[len - 1] == '>') {
    char *inner = brook_scratch_strndup(name + 17, len - 18);
    return render_windowed(inner, serde, value, 16);
  }
  return render_serialized(serde, value, strip);
}

const char *dsl_render(brook_serde_t *serde, const void *value) {
  if (!value) return "null";
  if (!serde) return "?";
  return render_named(brook_serde_name(serde), serde, value, 0);
}

/* ---- the printer processor ---- */

typedef struct print_op {
  char *label;
  brook_print_fn fn;
  void *opaque;
  brook_serde_t *key_serde; /* references, NULL = the default */
  brook_serde_t *value_serde;
} print_op_t;

static void print_op_free(void *p) {
  print_op_t *op = p;
  g_free(op->label);
  brook_serde_unref(op->key_serde);
  brook_serde_unref(op->value_serde);
  g_free(op);
}

typedef struct print_state {
  print_op_t *op;
  brook_serde_t *key_serde; /* resolved, may be NULL (borrowed until close) */
  brook_serde_t *value_serde;
} print_state_t;

static brook_err_t print_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                              size_t errstr_size) {
  print_op_t *op = opaque;
  print_state_t *st = g_new0(print_state_t, 1);
  st->op = op;
  st->key_serde = op->key_serde ? op->key_serde : brook_ctx_default_key_serde(ctx);
  st->value_serde = op->value_serde ? op->value_serde : brook_ctx_default_value_serde(ctx);
  *statep = st;
  return BROOK_ERR_NONE;
}

static void print_close(brook_processor_context_t *ctx, void *state) { g_free(state); }

static void print_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  print_state_t *st = state;
  const char *line;
  if (st->op->fn) {
    line = st->op->fn(rec, st->op->opaque);
    if (!line) line = "null";
  } else {
    line = brook_scratch_printf("%s, %s", dsl_render(st->key_serde, rec->key),
                                dsl_render(st->value_serde, rec->value));
  }
  g_mutex_lock(&print_lock);
  fprintf(stdout, "[%s]: %s\n", st->op->label, line);
  fflush(stdout);
  g_mutex_unlock(&print_lock);
}

void brook_stream_print(brook_stream_t *stream, const char *label, brook_print_fn fn, void *opaque) {
  if (!stream) return;
  brook_builder_t *builder = stream->builder;
  const char *name = dsl_name(builder, "KSTREAM-PRINTER-");
  print_op_t *op = g_new0(print_op_t, 1);
  /* Kafka labels with the printed stream's node name, not the printer's. */
  op->label = g_strdup(label ? label : stream->node);
  op->fn = fn;
  op->opaque = opaque;
  op->key_serde = stream->key_serde ? brook_serde_ref(stream->key_serde) : NULL;
  op->value_serde = stream->value_serde ? brook_serde_ref(stream->value_serde) : NULL;
  brook_processor_def_t def = {
      .init = print_init,
      .process = print_process,
      .close = print_close,
      .opaque = op,
      .opaque_free = print_op_free,
  };
  dsl_add_processor(builder, "print", name, &def, stream->node, NULL);
}
