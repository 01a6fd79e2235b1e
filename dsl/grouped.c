/*
 * grouped.c — group_by / group_by_key and the aggregations count, reduce,
 * aggregate (Kafka's KGroupedStreamImpl + GroupedStreamAggregateBuilder +
 * KStreamAggregate / KStreamReduce).
 *
 * Shape. An aggregation is one KSTREAM-AGGREGATE- (count, aggregate) or
 * KSTREAM-REDUCE- processor connected to a timestamped key-value store. When
 * the key changed upstream, records first go through a repartition topic
 * "<store>-repartition": KSTREAM-FILTER (drops null keys) → KSTREAM-SINK, then
 * an internal KSTREAM-SOURCE in a new sub-topology feeds the aggregate.
 * Counter order (Kafka's): [count_with without a store name burns one store
 * name], the store name when generated, the processor name, then the
 * repartition's sink, filter and source.
 *
 * Per record (process): skip a null key or value; serialize the key; read the
 * current aggregate (bytes → aggregate serde, the value owned by the scratch
 * arena) or start from the initializer (reduce: the value itself); compute;
 * serialize; put with timestamp max(record, stored). Nothing is forwarded
 * here: the store's flush listener forwards (key, new, old) — at once when the
 * store has no cache, at commit or eviction when it has one, so updates of a
 * key between commits collapse as in Kafka.
 */
#include <stdio.h>
#include <string.h>

#include "dsl_int.h"

/* ---- grouping ---- */

brook_grouped_t *brook_stream_group_by_key(brook_stream_t *stream, brook_serde_t *key_serde,
                                           brook_serde_t *value_serde) {
  if (!stream) {
    brook_serde_unref(key_serde);
    brook_serde_unref(value_serde);
    return NULL;
  }
  brook_builder_t *builder = stream->builder;
  key_serde = dsl_take_serde(builder, key_serde);
  value_serde = dsl_take_serde(builder, value_serde);
  return dsl_grouped_new(builder, stream->node, key_serde ? key_serde : stream->key_serde,
                         value_serde ? value_serde : stream->value_serde, stream->repartition_required);
}

brook_grouped_t *brook_stream_group_by(brook_stream_t *stream, brook_key_selector_fn selector, void *opaque,
                                       brook_serde_t *key_serde, brook_serde_t *value_serde) {
  if (!stream) {
    brook_serde_unref(key_serde);
    brook_serde_unref(value_serde);
    return NULL;
  }
  brook_builder_t *builder = stream->builder;
  key_serde = dsl_take_serde(builder, key_serde);
  value_serde = dsl_take_serde(builder, value_serde);
  const char *name = dsl_add_key_select(stream, "group_by", selector, opaque);
  /* The new key's serde is unknown unless given (Kafka: Grouped.with(null, valueSerde)). */
  return dsl_grouped_new(builder, name, key_serde, value_serde ? value_serde : stream->value_serde, true);
}

/* ---- the aggregate processor ---- */

typedef enum agg_kind { AGG_COUNT, AGG_REDUCE, AGG_AGGREGATE } agg_kind_t;

/* The processor's opaque (owned by the topology). */
typedef struct agg_op {
  agg_kind_t kind;
  brook_initializer_fn init;
  brook_aggregator_fn adder;
  brook_reducer_fn reducer;
  void *opaque;
  brook_serde_t *key_serde;   /* a reference, NULL = default.key.serde */
  brook_serde_t *value_serde; /* the aggregate's; a reference, NULL = default.value.serde */
  char *store;
  char *what; /* "count \"store\"" for messages */
} agg_op_t;

static void agg_op_free(void *p) {
  agg_op_t *op = p;
  brook_serde_unref(op->key_serde);
  brook_serde_unref(op->value_serde);
  g_free(op->store);
  g_free(op->what);
  g_free(op);
}

typedef struct agg_state {
  agg_op_t *op;
  brook_processor_context_t *ctx;
  brook_kv_store_t *store;
  brook_serde_t *key_serde; /* resolved: the op's or the default (borrowed until close) */
  brook_serde_t *value_serde;
  const char *changelog; /* topic passed to the serdes */
  brook_serde_buf_t key_buf;
  brook_serde_buf_t value_buf;
  dsl_forwarder_t fwd;
} agg_state_t;

static brook_err_t agg_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                            size_t errstr_size) {
  agg_op_t *op = opaque;
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
  agg_state_t *st = g_new0(agg_state_t, 1);
  st->op = op;
  st->ctx = ctx;
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

static void agg_close(brook_processor_context_t *ctx, void *state) {
  agg_state_t *st = state;
  if (!st) return;
  /* The store may flush after the processors closed: it must not call us then. */
  brook_kv_store_set_flush_listener(st->store, NULL);
  brook_serde_buf_clear(&st->key_buf);
  brook_serde_buf_clear(&st->value_buf);
  g_free(st);
}

static void agg_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  agg_state_t *st = state;
  agg_op_t *op = st->op;
  char errstr[256];
  brook_err_t err;

  if (!rec->key || !rec->value) return; /* as Kafka: records with a null key or value are skipped */

  if ((err = brook_serde_serialize(st->key_serde, st->changelog, rec->key, &st->key_buf, errstr,
                                   sizeof errstr))) {
    brook_ctx_fail(ctx, err, "%s (%s): serializing the key: %s", op->what, brook_ctx_node_name(ctx), errstr);
    return;
  }
  if (st->key_buf.is_null) return;

  const void *stored;
  size_t stored_len;
  int64_t stored_ts = -1;
  void *agg = NULL;
  bool found = false;
  err = brook_kv_store_get(st->store, st->key_buf.data, st->key_buf.len, &stored, &stored_len, &stored_ts);
  if (err == BROOK_ERR_NONE) {
    found = true;
    if ((err = brook_serde_deserialize(st->value_serde, st->changelog, stored, stored_len, &agg, errstr,
                                       sizeof errstr))) {
      brook_ctx_fail(ctx, err, "%s (%s): deserializing the aggregate: %s", op->what, brook_ctx_node_name(ctx),
                     errstr);
      return;
    }
    if (agg) brook_scratch_own(st->value_serde, agg);
  } else if (err != BROOK_ERR__NOENT) {
    brook_ctx_fail(ctx, err, "%s (%s): reading store \"%s\": %s", op->what, brook_ctx_node_name(ctx),
                   op->store, brook_kv_store_errstr(st->store));
    return;
  }

  const void *result;
  switch (op->kind) {
    case AGG_COUNT:
      result = brook_scratch_i64((agg ? *(const int64_t *)agg : 0) + 1);
      break;
    case AGG_REDUCE:
      result = agg ? op->reducer(agg, rec, op->opaque) : rec->value;
      break;
    default:
      result = op->adder(agg ? agg : op->init(op->opaque), rec, op->opaque);
      break;
  }

  if ((err = brook_serde_serialize(st->value_serde, st->changelog, result, &st->value_buf, errstr,
                                   sizeof errstr))) {
    brook_ctx_fail(ctx, err, "%s (%s): serializing the aggregate: %s", op->what, brook_ctx_node_name(ctx),
                   errstr);
    return;
  }
  int64_t ts = found && stored_ts > rec->timestamp ? stored_ts : rec->timestamp;
  st->fwd.headers = rec->headers;
  if (st->value_buf.is_null)
    err = brook_kv_store_put(st->store, st->key_buf.data, st->key_buf.len, NULL, 0, ts);
  else
    err = brook_kv_store_put(st->store, st->key_buf.data, st->key_buf.len, st->value_buf.data,
                             st->value_buf.len, ts);
  st->fwd.headers = NULL;
  if (err)
    brook_ctx_fail(ctx, err, "%s (%s): writing store \"%s\": %s", op->what, brook_ctx_node_name(ctx),
                   op->store, brook_kv_store_errstr(st->store));
}

/* ---- building an aggregation ---- */

typedef struct agg_args {
  const char *what;   /* "count", "reduce", "aggregate" */
  const char *prefix; /* "KSTREAM-AGGREGATE-" / "KSTREAM-REDUCE-" */
  agg_kind_t kind;
  brook_initializer_fn init;
  brook_aggregator_fn adder;
  brook_reducer_fn reducer;
  void *opaque;
  bool have_fn;
  const char *store;          /* user's, NULL = generated */
  bool burn_store_name;       /* count_with without a store name (Kafka compatibility) */
  brook_serde_t *key_serde;   /* borrowed from the builder, NULL = grouped's */
  brook_serde_t *value_serde; /* the aggregate's, borrowed, NULL = by kind */
  const brook_materialized_t *mat;
} agg_args_t;

static brook_table_t *aggregation(brook_grouped_t *grouped, const agg_args_t *a) {
  brook_builder_t *builder = grouped->builder;
  const brook_materialized_t *mat = a->mat;

  if (a->burn_store_name) (void)dsl_store_name(builder, a->prefix);
  const char *store = a->store ? dsl_strdup(builder, a->store) : dsl_store_name(builder, a->prefix);
  const char *name = dsl_name(builder, a->prefix);

  brook_serde_t *key_serde = a->key_serde ? a->key_serde : grouped->key_serde;
  brook_serde_t *value_serde = a->value_serde;
  if (!value_serde && a->kind == AGG_REDUCE) value_serde = grouped->value_serde;
  brook_table_t *table = dsl_table_new(builder, name, key_serde, value_serde, store);

  const char *parent = grouped->node;
  if (grouped->repartition_required) {
    char *topic = g_strconcat(store, "-repartition", NULL);
    parent =
        dsl_repartition(builder, a->what, grouped->node, topic, grouped->key_serde, grouped->value_serde, 0);
    g_free(topic);
  }
  if (!a->have_fn) {
    dsl_error(builder, "%s (%s): the callback is NULL", a->what, name);
    return table;
  }
  char *claim_what = g_strdup_printf("%s (%s)", a->what, name);
  bool claimed = dsl_claim_store(builder, store, claim_what);
  g_free(claim_what);
  if (!claimed) return table;

  agg_op_t *op = g_new0(agg_op_t, 1);
  op->kind = a->kind;
  op->init = a->init;
  op->adder = a->adder;
  op->reducer = a->reducer;
  op->opaque = a->opaque;
  op->key_serde = key_serde ? brook_serde_ref(key_serde) : NULL;
  op->value_serde = value_serde ? brook_serde_ref(value_serde) : NULL;
  op->store = g_strdup(store);
  op->what = g_strdup_printf("%s \"%s\"", a->what, store);
  char *what = g_strdup(op->what);
  brook_processor_def_t def = {
      .init = agg_init,
      .process = agg_process,
      .close = agg_close,
      .opaque = op,
      .opaque_free = agg_op_free,
  };
  if (!dsl_add_processor(builder, a->what, name, &def, parent, NULL)) {
    g_free(what);
    return table;
  }
  if (!key_serde || !value_serde)
    topology_require_default_serdes(builder->topology, name, !key_serde, !value_serde, what);
  g_free(what);

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
    dsl_error(builder, "%s (%s): %s", a->what, name, errstr);
  return table;
}

/* Serdes of a brook_materialized_t are (transfer full) like every other. */
static void take_mat(brook_builder_t *builder, const brook_materialized_t *mat, agg_args_t *a) {
  a->mat = mat;
  if (!mat) return;
  a->store = mat->store;
  a->key_serde = dsl_take_serde(builder, mat->key_serde);
  brook_serde_t *value_serde = dsl_take_serde(builder, mat->value_serde);
  if (value_serde) a->value_serde = value_serde;
}

static void unref_mat(const brook_materialized_t *mat) {
  if (mat) {
    brook_serde_unref(mat->key_serde);
    brook_serde_unref(mat->value_serde);
  }
}

brook_table_t *brook_grouped_count(brook_grouped_t *grouped, const char *store) {
  if (!grouped) return NULL;
  agg_args_t a = {
      .what = "count",
      .prefix = "KSTREAM-AGGREGATE-",
      .kind = AGG_COUNT,
      .have_fn = true,
      .store = store,
      .value_serde = dsl_take_serde(grouped->builder, brook_serde_i64_new()),
  };
  return aggregation(grouped, &a);
}

brook_table_t *brook_grouped_count_with(brook_grouped_t *grouped, const brook_materialized_t *mat) {
  if (!grouped) {
    unref_mat(mat);
    return NULL;
  }
  agg_args_t a = {
      .what = "count",
      .prefix = "KSTREAM-AGGREGATE-",
      .kind = AGG_COUNT,
      .have_fn = true,
  };
  take_mat(grouped->builder, mat, &a);
  /* Kafka's count(Materialized) burns a store name when none is given. */
  a.burn_store_name = mat && !mat->store;
  if (!a.value_serde) a.value_serde = dsl_take_serde(grouped->builder, brook_serde_i64_new());
  return aggregation(grouped, &a);
}

brook_table_t *brook_grouped_reduce(brook_grouped_t *grouped, brook_reducer_fn reducer, void *opaque,
                                    const char *store) {
  if (!grouped) return NULL;
  agg_args_t a = {
      .what = "reduce",
      .prefix = "KSTREAM-REDUCE-",
      .kind = AGG_REDUCE,
      .reducer = reducer,
      .opaque = opaque,
      .have_fn = reducer != NULL,
      .store = store,
  };
  return aggregation(grouped, &a);
}

brook_table_t *brook_grouped_reduce_with(brook_grouped_t *grouped, brook_reducer_fn reducer, void *opaque,
                                         const brook_materialized_t *mat) {
  if (!grouped) {
    unref_mat(mat);
    return NULL;
  }
  agg_args_t a = {
      .what = "reduce",
      .prefix = "KSTREAM-REDUCE-",
      .kind = AGG_REDUCE,
      .reducer = reducer,
      .opaque = opaque,
      .have_fn = reducer != NULL,
  };
  take_mat(grouped->builder, mat, &a);
  return aggregation(grouped, &a);
}

brook_table_t *brook_grouped_aggregate(brook_grouped_t *grouped, brook_initializer_fn init,
                                       brook_aggregator_fn adder, void *opaque, brook_serde_t *agg_serde,
                                       const char *store) {
  if (!grouped) {
    brook_serde_unref(agg_serde);
    return NULL;
  }
  agg_args_t a = {
      .what = "aggregate",
      .prefix = "KSTREAM-AGGREGATE-",
      .kind = AGG_AGGREGATE,
      .init = init,
      .adder = adder,
      .opaque = opaque,
      .have_fn = init && adder,
      .store = store,
      .value_serde = dsl_take_serde(grouped->builder, agg_serde),
  };
  return aggregation(grouped, &a);
}

brook_table_t *brook_grouped_aggregate_with(brook_grouped_t *grouped, brook_initializer_fn init,
                                            brook_aggregator_fn adder, void *opaque,
                                            const brook_materialized_t *mat) {
  if (!grouped) {
    unref_mat(mat);
    return NULL;
  }
  agg_args_t a = {
      .what = "aggregate",
      .prefix = "KSTREAM-AGGREGATE-",
      .kind = AGG_AGGREGATE,
      .init = init,
      .adder = adder,
      .opaque = opaque,
      .have_fn = init && adder,
  };
  take_mat(grouped->builder, mat, &a);
  return aggregation(grouped, &a);
}
