/*
 * table.c — KTable operators: the table source, filter / filter_not,
 * map_values, to_stream, and the store forwarder that aggregations share.
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
#include <stdio.h>
#include <string.h>

#include "dsl_int.h"

/* ---- the store forwarder ---- */

static void forwarder_apply(void *opaque, const void *key, size_t key_len, const void *new_value,
                            size_t new_value_len, const void *old_value, size_t old_value_len,
                            int64_t timestamp) {
  dsl_forwarder_t *fwd = opaque;
  brook_processor_context_t *ctx = fwd->ctx;
  const char *topic = brook_kv_store_changelog_topic(fwd->store);
  char errstr[256];
  brook_err_t err;

  if (!new_value && !old_value) return; /* deleting what was not there: nothing changed */

  void *k = NULL, *nv = NULL, *ov = NULL;
  if ((err = brook_serde_deserialize(fwd->key_serde, topic, key, key_len, &k, errstr, sizeof errstr))) {
    brook_ctx_fail(ctx, err, "%s: deserializing a key of store \"%s\": %s", brook_ctx_node_name(ctx),
                   brook_kv_store_name(fwd->store), errstr);
    return;
  }
  if (k) brook_scratch_own(fwd->key_serde, k);
  if (new_value) {
    if ((err = brook_serde_deserialize(fwd->value_serde, topic, new_value, new_value_len, &nv, errstr,
                                       sizeof errstr))) {
      brook_ctx_fail(ctx, err, "%s: deserializing a value of store \"%s\": %s", brook_ctx_node_name(ctx),
                     brook_kv_store_name(fwd->store), errstr);
      return;
    }
    if (nv) brook_scratch_own(fwd->value_serde, nv);
  }
  if (old_value) {
    if ((err = brook_serde_deserialize(fwd->value_serde, topic, old_value, old_value_len, &ov, errstr,
                                       sizeof errstr))) {
      brook_ctx_fail(ctx, err, "%s: deserializing a value of store \"%s\": %s", brook_ctx_node_name(ctx),
                     brook_kv_store_name(fwd->store), errstr);
      return;
    }
    if (ov) brook_scratch_own(fwd->value_serde, ov);
  }
  /* Without a cache this runs inside process() for the record being written,
   * whose headers go along. A cache flush (commit, eviction) has no input
   * record, and the cache does not keep headers: the update gets none
   * (brook_ctx_forward gives a record without headers an empty set). */
  brook_headers_t *headers = fwd->headers && !brook_kv_store_is_cached(fwd->store) ? fwd->headers : NULL;
  brook_record_t rec = {
      .key = k,
      .value = nv,
      .old_value = ov,
      .timestamp = timestamp,
      .headers = headers,
  };
  brook_ctx_forward(ctx, &rec);
}

void dsl_forwarder_install(dsl_forwarder_t *fwd) {
  brook_cache_flush_listener_t listener = {.apply = forwarder_apply, .opaque = fwd};
  brook_kv_store_set_flush_listener(fwd->store, &listener);
}

/* ---- the table source (KTABLE-SOURCE) ---- */

typedef struct table_source_op {
  brook_serde_t *key_serde; /* references, NULL = the defaults */
  brook_serde_t *value_serde;
  char *store;
  char *what;
} table_source_op_t;

static void table_source_op_free(void *p) {
  table_source_op_t *op = p;
  brook_serde_unref(op->key_serde);
  brook_serde_unref(op->value_serde);
  g_free(op->store);
  g_free(op->what);
  g_free(op);
}

typedef struct table_source_state {
  table_source_op_t *op;
  brook_kv_store_t *store;
  brook_serde_t *key_serde;
  brook_serde_t *value_serde;
  const char *changelog;
  brook_serde_buf_t key_buf;
  brook_serde_buf_t value_buf;
  dsl_forwarder_t fwd;
} table_source_state_t;

static brook_err_t table_source_init(brook_processor_context_t *ctx, void *opaque, void **statep,
                                     char *errstr, size_t errstr_size) {
  table_source_op_t *op = opaque;
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
  table_source_state_t *st = g_new0(table_source_state_t, 1);
  st->op = op;
  st->store = store;
  st->key_serde = key_serde;
  st->value_serde = value_serde;
  st->changelog = brook_kv_store_changelog_topic(store);
  brook_serde_buf_init(&st->key_buf);
  brook_serde_buf_init(&st->value_buf);
  st->fwd = (dsl_forwarder_t){ctx, store, key_serde, value_serde, NULL};
  dsl_forwarder_install(&st->fwd);
  *statep = st;
  return BROOK_ERR_NONE;
}

static void table_source_close(brook_processor_context_t *ctx, void *state) {
  table_source_state_t *st = state;
  if (!st) return;
  brook_kv_store_set_flush_listener(st->store, NULL);
  brook_serde_buf_clear(&st->key_buf);
  brook_serde_buf_clear(&st->value_buf);
  g_free(st);
}

static void table_source_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  table_source_state_t *st = state;
  char errstr[256];
  brook_err_t err;

  if (!rec->key) return; /* as Kafka's KTableSource: a null key cannot be a row */
  if ((err = brook_serde_serialize(st->key_serde, st->changelog, rec->key, &st->key_buf, errstr,
                                   sizeof errstr))) {
    brook_ctx_fail(ctx, err, "%s (%s): serializing the key: %s", st->op->what, brook_ctx_node_name(ctx),
                   errstr);
    return;
  }
  if (st->key_buf.is_null) return;
  bool is_delete = rec->value == NULL;
  if (!is_delete) {
    if ((err = brook_serde_serialize(st->value_serde, st->changelog, rec->value, &st->value_buf, errstr,
                                     sizeof errstr))) {
      brook_ctx_fail(ctx, err, "%s (%s): serializing the value: %s", st->op->what, brook_ctx_node_name(ctx),
                     errstr);
      return;
    }
    is_delete = st->value_buf.is_null;
  }

  /* Emit on change, as Kafka's KTableSource (putIfDifferentValues): the same
   * value again at a time not older than the stored one changes nothing and
   * is neither written nor forwarded; deleting an absent key neither. */
  const void *stored;
  size_t stored_len;
  int64_t stored_ts = -1;
  err = brook_kv_store_get(st->store, st->key_buf.data, st->key_buf.len, &stored, &stored_len, &stored_ts);
  if (err == BROOK_ERR__NOENT) {
    if (is_delete) return;
  } else if (err != BROOK_ERR_NONE) {
    brook_ctx_fail(ctx, err, "%s (%s): reading store \"%s\": %s", st->op->what, brook_ctx_node_name(ctx),
                   st->op->store, brook_kv_store_errstr(st->store));
    return;
  } else if (!is_delete && stored_len == st->value_buf.len && rec->timestamp >= stored_ts &&
             (stored_len == 0 || memcmp(stored, st->value_buf.data, stored_len) == 0)) {
    return;
  }

  st->fwd.headers = rec->headers;
  if (is_delete)
    err = brook_kv_store_put(st->store, st->key_buf.data, st->key_buf.len, NULL, 0, rec->timestamp);
  else
    err = brook_kv_store_put(st->store, st->key_buf.data, st->key_buf.len, st->value_buf.data,
                             st->value_buf.len, rec->timestamp);
  st->fwd.headers = NULL;
  if (err)
    brook_ctx_fail(ctx, err, "%s (%s): writing store \"%s\": %s", st->op->what, brook_ctx_node_name(ctx),
                   st->op->store, brook_kv_store_errstr(st->store));
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
  char *claim_what = g_strdup_printf("table (%s)", name);
  bool claimed = dsl_claim_store(builder, store, claim_what);
  g_free(claim_what);
  if (!claimed) return table;

  const char *topics[2] = {topic, NULL};
  brook_source_opts_t opts = {.topics = topics, .key_serde = key_serde, .value_serde = value_serde};
  char errstr[512];
  if (brook_topology_add_source(builder->topology, source, &opts, errstr, sizeof errstr) != 0) {
    dsl_error(builder, "table (%s): %s", source, errstr);
    return table;
  }
  builder->has_source = true;

  table_source_op_t *op = g_new0(table_source_op_t, 1);
  op->key_serde = key_serde ? brook_serde_ref(key_serde) : NULL;
  op->value_serde = value_serde ? brook_serde_ref(value_serde) : NULL;
  op->store = g_strdup(store);
  op->what = g_strdup_printf("table \"%s\"", topic);
  char *what = g_strdup(op->what);
  brook_processor_def_t def = {
      .init = table_source_init,
      .process = table_source_process,
      .close = table_source_close,
      .opaque = op,
      .opaque_free = table_source_op_free,
  };
  if (!dsl_add_processor(builder, "table", name, &def, source, NULL)) {
    g_free(what);
    return table;
  }
  if (!key_serde || !value_serde)
    topology_require_default_serdes(builder->topology, name, !key_serde, !value_serde, what);
  g_free(what);

  brook_store_def_t sdef = {.name = store, .kind = BROOK_STORE_KV, .timestamped = true};
  const char *procs[2] = {name, NULL};
  if (brook_topology_add_store(builder->topology, &sdef, procs, errstr, sizeof errstr) != 0)
    dsl_error(builder, "table (%s): %s", name, errstr);
  return table;
}

const char *brook_table_store_name(const brook_table_t *table) { return table ? table->store : NULL; }

/* ---- filter / filter_not / map_values ---- */

typedef struct table_op {
  brook_predicate_fn pred;
  brook_value_mapper_fn mapper;
  void *opaque;
  bool negate;
} table_op_t;

/* The update seen from one side: value = that side, no old value. */
static brook_record_t side(const brook_record_t *rec, const void *value) {
  brook_record_t r = *rec;
  r.value = value;
  r.old_value = NULL;
  return r;
}

static const void *filter_side(const table_op_t *op, const brook_record_t *rec, const void *value) {
  if (!value) return NULL;
  brook_record_t r = side(rec, value);
  return op->pred(&r, op->opaque) != op->negate ? value : NULL;
}

static void table_filter_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  table_op_t *op = state;
  brook_record_t out = *rec;
  out.value = filter_side(op, rec, rec->value);
  out.old_value = filter_side(op, rec, rec->old_value);
  if (!out.value && !out.old_value) return;
  brook_ctx_forward(ctx, &out);
}

static const void *map_side(const table_op_t *op, const brook_record_t *rec, const void *value) {
  if (!value) return NULL;
  brook_record_t r = side(rec, value);
  return op->mapper(&r, op->opaque);
}

static void table_map_values_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  table_op_t *op = state;
  brook_record_t out = *rec;
  out.value = map_side(op, rec, rec->value);
  out.old_value = map_side(op, rec, rec->old_value);
  if (!out.value && !out.old_value) return;
  brook_ctx_forward(ctx, &out);
}

static const char *add_table_op(brook_table_t *table, const char *what, const char *prefix,
                                void (*process)(brook_processor_context_t *, void *, const brook_record_t *),
                                table_op_t *op, bool have_fn) {
  brook_builder_t *builder = table->builder;
  const char *name = dsl_name(builder, prefix);
  if (!have_fn) {
    dsl_error(builder, "%s (%s): the callback is NULL", what, name);
    g_free(op);
    return name;
  }
  brook_processor_def_t def = {
      .init = dsl_init_opaque,
      .process = process,
      .opaque = op,
      .opaque_free = g_free,
  };
  dsl_add_processor(builder, what, name, &def, table->node, NULL);
  return name;
}

static brook_table_t *table_filter(brook_table_t *table, const char *what, brook_predicate_fn pred,
                                   void *opaque, bool negate) {
  if (!table) return NULL;
  table_op_t *op = g_new0(table_op_t, 1);
  op->pred = pred;
  op->opaque = opaque;
  op->negate = negate;
  const char *name = add_table_op(table, what, "KTABLE-FILTER-", table_filter_process, op, pred != NULL);
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
  const char *name = add_table_op(table, "table_map_values", "KTABLE-MAPVALUES-", table_map_values_process,
                                  op, mapper != NULL);
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
