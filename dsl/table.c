/*
 * table.c — KTable operators: the table source, filter / filter_not,
 * map_values, to_stream, and the materializing processor that the table
 * source shares with the aggregations (grouped.c).
 *
 * Materializing processor (dsl_store_proc_t). Every processor that writes a
 * timestamped KV store has the same init and close around its own process:
 * init finds the store, resolves the serdes (the op's, else the defaults) and
 * installs the store's flush listener (forward_update); close removes it, as
 * the store may flush after the processors closed. process writes through
 * dsl_store_proc_key / _get / _value / _put and forwards nothing itself.
 *
 * A table's records are updates: rec->value is the new value (NULL = delete)
 * and rec->old_value the previous one when known. Materialized tables (the
 * source, aggregations) know both: their store's flush listener hands over
 * the new and the old bytes of every write that reaches the store. With a
 * record cache (statestore.cache.max.bytes > 0 and caching not disabled) that
 * happens at commit or eviction, once per key with the collapsed update, as
 * Kafka's TimestampedCacheFlushListener; without, once per write, inside
 * process().
 *
 * The table source emits on change, as Kafka's: an update that repeats the
 * stored value (at a timestamp not older than the stored one) and a delete of
 * an absent key are dropped before they reach the store.
 *
 * Stateless table operators (Kafka's KTableFilter, KTableMapValues) apply
 * their function to both sides: f(new), f(old). A row that stops passing a
 * filter turns into a delete downstream; an update whose both sides end up
 * null says nothing and is not forwarded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dsl_int.h"

/* ---- processors that materialize a timestamped KV store ---- */

/* Deserializes into scratch memory (*out stays NULL for a null). */
static brook_err_t decode(brook_serde_t *serde, const char *topic, const void *data, size_t len, void **out,
                          char *errstr, size_t errstr_size) {
  brook_err_t err = brook_serde_deserialize(serde, topic, data, len, out, errstr, errstr_size);
  if (!err && *out) brook_scratch_own(serde, *out);
  return err;
}

/* The store's flush listener: one update that reached the store. */
static void forward_update(void *opaque, const void *key, size_t key_len, const void *new_value,
                           size_t new_value_len, const void *old_value, size_t old_value_len,
                           int64_t timestamp) {
  dsl_store_proc_t *sp = opaque;
  char errstr[256];

  if (!new_value && !old_value) return; /* deleting what was not there: nothing changed */

  void *k = NULL, *nv = NULL, *ov = NULL;
  const char *noun = "key";
  brook_err_t err = decode(sp->key_serde, sp->changelog, key, key_len, &k, errstr, sizeof errstr);
  if (!err) noun = "value";
  if (!err && new_value)
    err = decode(sp->value_serde, sp->changelog, new_value, new_value_len, &nv, errstr, sizeof errstr);
  if (!err && old_value)
    err = decode(sp->value_serde, sp->changelog, old_value, old_value_len, &ov, errstr, sizeof errstr);
  if (err) {
    brook_ctx_fail(sp->ctx, err, "%s: deserializing a %s of store \"%s\": %s", brook_ctx_node_name(sp->ctx),
                   noun, brook_kv_store_name(sp->store), errstr);
    return;
  }
  /* Without a cache this runs inside process() for the record being written,
   * whose headers go along. A cache flush (commit, eviction) has no input
   * record, and the cache does not keep headers: the update gets none
   * (brook_ctx_forward gives a record without headers an empty set). */
  brook_headers_t *headers = sp->headers && !brook_kv_store_is_cached(sp->store) ? sp->headers : NULL;
  brook_record_t rec = {
      .key = k,
      .value = nv,
      .old_value = ov,
      .timestamp = timestamp,
      .headers = headers,
  };
  brook_ctx_forward(sp->ctx, &rec);
}

static brook_err_t store_proc_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                                   size_t errstr_size) {
  const dsl_store_op_t *op = opaque;
  brook_kv_store_t *store = brook_ctx_kv_store(ctx, op->store);
  if (!store) {
    snprintf(errstr, errstr_size, "%s (%s): store \"%s\" is not available", op->what,
             brook_ctx_node_name(ctx), op->store);
    return BROOK_ERR__STATE;
  }
  brook_serde_t *key_serde = op->key_serde ? op->key_serde : brook_ctx_default_key_serde(ctx);
  brook_serde_t *value_serde = op->value_serde ? op->value_serde : brook_ctx_default_value_serde(ctx);
  if (!key_serde || !value_serde) {
    snprintf(errstr, errstr_size, "%s (%s): no %s serde given and default.%s.serde is not set", op->what,
             brook_ctx_node_name(ctx), key_serde ? "value" : "key", key_serde ? "value" : "key");
    return BROOK_ERR__BAD_CONFIG;
  }
  dsl_store_proc_t *sp = g_new0(dsl_store_proc_t, 1);
  sp->op = op;
  sp->ctx = ctx;
  sp->store = store;
  sp->key_serde = key_serde;
  sp->value_serde = value_serde;
  sp->changelog = brook_kv_store_changelog_topic(store);
  brook_serde_buf_init(&sp->key_buf);
  brook_serde_buf_init(&sp->value_buf);
  brook_cache_flush_listener_t listener = {.apply = forward_update, .opaque = sp};
  brook_kv_store_set_flush_listener(store, &listener);
  *statep = sp;
  return BROOK_ERR_NONE;
}

static void store_proc_close(brook_processor_context_t *ctx, void *state) {
  dsl_store_proc_t *sp = state;
  if (!sp) return;
  /* The store may flush after the processors closed: it must not call us then. */
  brook_kv_store_set_flush_listener(sp->store, NULL);
  brook_serde_buf_clear(&sp->key_buf);
  brook_serde_buf_clear(&sp->value_buf);
  g_free(sp);
}

static void store_op_free(void *p) {
  dsl_store_op_t *op = p;
  brook_serde_unref(op->key_serde);
  brook_serde_unref(op->value_serde);
  g_free(op->store);
  g_free(op->what);
  g_free(op);
}

void dsl_add_store_processor(brook_builder_t *builder, const char *what, const char *name, const char *parent,
                             dsl_process_fn process, dsl_store_op_t *op, const char *store,
                             brook_serde_t *key_serde, brook_serde_t *value_serde,
                             const brook_materialized_t *mat) {
  op->key_serde = key_serde ? brook_serde_ref(key_serde) : NULL;
  op->value_serde = value_serde ? brook_serde_ref(value_serde) : NULL;
  op->store = g_strdup(store);
  char *op_what = g_strdup(op->what); /* op is the topology's once added */
  brook_processor_def_t def = {
      .init = store_proc_init,
      .process = process,
      .close = store_proc_close,
      .opaque = op,
      .opaque_free = store_op_free,
  };
  if (!dsl_add_processor(builder, what, name, &def, parent, NULL)) {
    g_free(op_what);
    return;
  }
  if (!key_serde || !value_serde)
    topology_require_default_serdes(builder->topology, name, !key_serde, !value_serde, op_what);
  g_free(op_what);

  brook_store_def_t sdef = {
      .name = store,
      .kind = BROOK_STORE_KV,
      .timestamped = true,
      .in_memory = mat && mat->in_memory,
      .logging_disabled = mat && mat->logging_disabled,
      .caching_disabled = mat && mat->caching_disabled,
  };
  const char *procs[2] = {name, NULL};
  char errstr[512];
  if (brook_topology_add_store(builder->topology, &sdef, procs, errstr, sizeof errstr) != 0)
    dsl_error(builder, "%s (%s): %s", what, name, errstr);
}

/* brook_ctx_fail with the "<op what> (<node>): " prefix. */
static void store_proc_fail(dsl_store_proc_t *sp, brook_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void store_proc_fail(dsl_store_proc_t *sp, brook_err_t err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  brook_ctx_fail(sp->ctx, err, "%s (%s): %s", sp->op->what, brook_ctx_node_name(sp->ctx), msg);
  g_free(msg);
}

bool dsl_store_proc_key(dsl_store_proc_t *sp, const void *key) {
  char errstr[256];
  brook_err_t err =
      brook_serde_serialize(sp->key_serde, sp->changelog, key, &sp->key_buf, errstr, sizeof errstr);
  if (err) {
    store_proc_fail(sp, err, "serializing the key: %s", errstr);
    return false;
  }
  return !sp->key_buf.is_null;
}

bool dsl_store_proc_value(dsl_store_proc_t *sp, const void *value, const char *noun) {
  char errstr[256];
  brook_err_t err =
      brook_serde_serialize(sp->value_serde, sp->changelog, value, &sp->value_buf, errstr, sizeof errstr);
  if (err) store_proc_fail(sp, err, "serializing %s: %s", noun, errstr);
  return !err;
}

brook_err_t dsl_store_proc_get(dsl_store_proc_t *sp, const void **value, size_t *value_len,
                               int64_t *timestamp) {
  brook_err_t err =
      brook_kv_store_get(sp->store, sp->key_buf.data, sp->key_buf.len, value, value_len, timestamp);
  if (err != BROOK_ERR_NONE && err != BROOK_ERR__NOENT)
    store_proc_fail(sp, err, "reading store \"%s\": %s", sp->op->store, brook_kv_store_errstr(sp->store));
  return err;
}

bool dsl_store_proc_decode(dsl_store_proc_t *sp, const void *data, size_t len, void **out, const char *noun) {
  char errstr[256];
  brook_err_t err = decode(sp->value_serde, sp->changelog, data, len, out, errstr, sizeof errstr);
  if (err) store_proc_fail(sp, err, "deserializing %s: %s", noun, errstr);
  return !err;
}

void dsl_store_proc_put(dsl_store_proc_t *sp, const brook_record_t *rec, bool is_delete, int64_t timestamp) {
  brook_err_t err;
  sp->headers = rec->headers;
  if (is_delete)
    err = brook_kv_store_put(sp->store, sp->key_buf.data, sp->key_buf.len, NULL, 0, timestamp);
  else
    err = brook_kv_store_put(sp->store, sp->key_buf.data, sp->key_buf.len, sp->value_buf.data,
                             sp->value_buf.len, timestamp);
  sp->headers = NULL;
  if (err)
    store_proc_fail(sp, err, "writing store \"%s\": %s", sp->op->store, brook_kv_store_errstr(sp->store));
}

/* ---- the table source (KTABLE-SOURCE) ---- */

static void table_source_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  dsl_store_proc_t *sp = state;

  if (!rec->key) return; /* as Kafka's KTableSource: a null key cannot be a row */
  if (!dsl_store_proc_key(sp, rec->key)) return;
  bool is_delete = rec->value == NULL;
  if (!is_delete) {
    if (!dsl_store_proc_value(sp, rec->value, "the value")) return;
    is_delete = sp->value_buf.is_null;
  }

  /* Emit on change, as Kafka's KTableSource (putIfDifferentValues): the same
   * value again at a time not older than the stored one changes nothing and
   * is neither written nor forwarded; deleting an absent key neither. */
  const void *stored;
  size_t stored_len;
  int64_t stored_ts = -1;
  brook_err_t err = dsl_store_proc_get(sp, &stored, &stored_len, &stored_ts);
  if (err == BROOK_ERR__NOENT) {
    if (is_delete) return;
  } else if (err != BROOK_ERR_NONE) {
    return;
  } else if (!is_delete && stored_len == sp->value_buf.len && rec->timestamp >= stored_ts &&
             (stored_len == 0 || memcmp(stored, sp->value_buf.data, stored_len) == 0)) {
    return;
  }
  dsl_store_proc_put(sp, rec, is_delete, rec->timestamp);
}

brook_table_t *brook_builder_table(brook_builder_t *builder, const char *topic, brook_serde_t *key_serde,
                                   brook_serde_t *value_serde, const char *store) {
  key_serde = dsl_take_serde(builder, key_serde);
  value_serde = dsl_take_serde(builder, value_serde);
  /* Kafka's StreamsBuilder.table names the store first ("<topic>-STATE-STORE-n"),
   * then the source, then the table source. */
  if (!store) {
    char *prefix = g_strconcat(topic ? topic : "", "-", NULL);
    store = dsl_store_name(builder, prefix);
    g_free(prefix);
  } else {
    store = dsl_strdup(builder, store);
  }
  const char *source = dsl_name(builder, "KSTREAM-SOURCE-");
  const char *name = dsl_name(builder, "KTABLE-SOURCE-");
  brook_table_t *table = dsl_table_new(builder, name, key_serde, value_serde, store);

  if (!topic || !*topic) {
    dsl_error(builder, "table (%s): empty topic name", source);
    return table;
  }
  if (!dsl_claim_store(builder, store, "table", name)) return table;

  const char *topics[2] = {topic, NULL};
  brook_source_opts_t opts = {.topics = topics, .key_serde = key_serde, .value_serde = value_serde};
  char errstr[512];
  if (brook_topology_add_source(builder->topology, source, &opts, errstr, sizeof errstr) != 0) {
    dsl_error(builder, "table (%s): %s", source, errstr);
    return table;
  }
  builder->has_source = true;

  dsl_store_op_t *op = g_new0(dsl_store_op_t, 1);
  op->what = g_strdup_printf("table \"%s\"", topic);
  dsl_add_store_processor(builder, "table", name, source, table_source_process, op, store, key_serde,
                          value_serde, NULL);
  return table;
}

const char *brook_table_store_name(const brook_table_t *table) { return table ? table->store : NULL; }

/* ---- filter / filter_not / map_values ---- */

/* filter (pred, negate) or map_values (mapper). */
typedef struct table_op {
  brook_predicate_fn pred;
  brook_value_mapper_fn mapper;
  void *opaque;
  bool negate;
} table_op_t;

/* f(one side of the update): the side is seen as a record with that value and
 * no old value. A null side stays null. */
static const void *apply_side(const table_op_t *op, const brook_record_t *rec, const void *value) {
  if (!value) return NULL;
  brook_record_t r = *rec;
  r.value = value;
  r.old_value = NULL;
  if (op->mapper) return op->mapper(&r, op->opaque);
  return op->pred(&r, op->opaque) != op->negate ? value : NULL;
}

static void table_op_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  table_op_t *op = state;
  brook_record_t out = *rec;
  out.value = apply_side(op, rec, rec->value);
  out.old_value = apply_side(op, rec, rec->old_value);
  if (!out.value && !out.old_value) return;
  brook_ctx_forward(ctx, &out);
}

static brook_table_t *table_filter(brook_table_t *table, const char *what, brook_predicate_fn pred,
                                   void *opaque, bool negate) {
  if (!table) return NULL;
  table_op_t *op = g_new0(table_op_t, 1);
  op->pred = pred;
  op->opaque = opaque;
  op->negate = negate;
  const char *name =
      dsl_add_op(table->builder, what, "KTABLE-FILTER-", table->node, table_op_process, op, pred != NULL);
  return dsl_table_new(table->builder, name, table->key_serde, table->value_serde, NULL);
}

brook_table_t *brook_table_filter(brook_table_t *table, brook_predicate_fn pred, void *opaque) {
  return table_filter(table, "table_filter", pred, opaque, false);
}

brook_table_t *brook_table_filter_not(brook_table_t *table, brook_predicate_fn pred, void *opaque) {
  return table_filter(table, "table_filter_not", pred, opaque, true);
}

brook_table_t *brook_table_map_values(brook_table_t *table, brook_value_mapper_fn mapper, void *opaque,
                                      brook_serde_t *value_serde) {
  if (!table) {
    brook_serde_unref(value_serde);
    return NULL;
  }
  value_serde = dsl_take_serde(table->builder, value_serde);
  table_op_t *op = g_new0(table_op_t, 1);
  op->mapper = mapper;
  op->opaque = opaque;
  const char *name = dsl_add_op(table->builder, "table_map_values", "KTABLE-MAPVALUES-", table->node,
                                table_op_process, op, mapper != NULL);
  return dsl_table_new(table->builder, name, table->key_serde, value_serde, NULL);
}

/* ---- to_stream ---- */

static void to_stream_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  brook_record_t out = *rec;
  out.old_value = NULL;
  brook_ctx_forward(ctx, &out);
}

brook_stream_t *brook_table_to_stream(brook_table_t *table) {
  if (!table) return NULL;
  brook_builder_t *builder = table->builder;
  const char *name = dsl_name(builder, "KTABLE-TOSTREAM-");
  brook_processor_def_t def = {.process = to_stream_process};
  dsl_add_processor(builder, "to_stream", name, &def, table->node, NULL);
  return dsl_stream_new(builder, name, table->key_serde, table->value_serde, false);
}
