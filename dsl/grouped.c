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
 * here: the store's flush listener (table.c's materializing processor)
 * forwards (key, new, old) — at once when the store has no cache, at commit or
 * eviction when it has one, so updates of a key between commits collapse as in
 * Kafka.
 *
 * Building. count, reduce and aggregate (and their _with forms) differ only
 * by kind (agg_kinds: message name, name prefix), callbacks and serdes; they
 * all go through aggregation().
 */
#include <stdio.h>
#include <string.h>

#include "dsl_int.h"

/* ---- grouping ---- */

brook_grouped_t *brook_stream_group_by_key(brook_stream_t *stream, brook_serde_t *key_serde,
                                           brook_serde_t *value_serde) {
  if (!dsl_take_serdes(stream ? stream->builder : NULL, &key_serde, &value_serde)) return NULL;
  return dsl_grouped_new(stream->builder, stream->node, key_serde ? key_serde : stream->key_serde,
                         value_serde ? value_serde : stream->value_serde, stream->repartition_required);
}

brook_grouped_t *brook_stream_group_by(brook_stream_t *stream, brook_key_selector_fn selector, void *opaque,
                                       brook_serde_t *key_serde, brook_serde_t *value_serde) {
  if (!dsl_take_serdes(stream ? stream->builder : NULL, &key_serde, &value_serde)) return NULL;
  const char *name = dsl_add_key_select(stream, "group_by", selector, opaque);
  /* The new key's serde is unknown unless given (Kafka: Grouped.with(null, valueSerde)). */
  return dsl_grouped_new(stream->builder, name, key_serde, value_serde ? value_serde : stream->value_serde,
                         true);
}

/* ---- the aggregate processor ---- */

typedef enum agg_kind { AGG_COUNT, AGG_REDUCE, AGG_AGGREGATE } agg_kind_t;

/* What tells the kinds apart when building. */
static const struct agg_kind_info {
  const char *what;   /* operator name in messages */
  const char *prefix; /* processor and generated store names */
} agg_kinds[] = {
    [AGG_COUNT] = {"count", "KSTREAM-AGGREGATE-"},
    [AGG_REDUCE] = {"reduce", "KSTREAM-REDUCE-"},
    [AGG_AGGREGATE] = {"aggregate", "KSTREAM-AGGREGATE-"},
};

/* The user's callbacks (those the kind uses). */
typedef struct agg_fns {
  brook_initializer_fn init;
  brook_aggregator_fn adder;
  brook_reducer_fn reducer;
  void *opaque;
} agg_fns_t;

/* The processor's opaque (owned by the topology; base first, see dsl_store_op_t). */
typedef struct agg_op {
  dsl_store_op_t base; /* value_serde: the aggregate's */
  agg_kind_t kind;
  agg_fns_t fns;
} agg_op_t;

static void agg_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  dsl_store_proc_t *sp = state;
  const agg_op_t *op = (const agg_op_t *)sp->op;

  if (!rec->key || !rec->value) return; /* as Kafka: records with a null key or value are skipped */
  if (!dsl_store_proc_key(sp, rec->key)) return;

  const void *stored;
  size_t stored_len;
  int64_t stored_ts = -1;
  void *agg = NULL;
  brook_err_t err = dsl_store_proc_get(sp, &stored, &stored_len, &stored_ts);
  bool found = err == BROOK_ERR_NONE;
  if (found) {
    if (!dsl_store_proc_decode(sp, stored, stored_len, &agg, "the aggregate")) return;
  } else if (err != BROOK_ERR__NOENT) {
    return;
  }

  const void *result;
  switch (op->kind) {
    case AGG_COUNT:
      result = brook_scratch_i64((agg ? *(const int64_t *)agg : 0) + 1);
      break;
    case AGG_REDUCE:
      result = agg ? op->fns.reducer(agg, rec, op->fns.opaque) : rec->value;
      break;
    default:
      result = op->fns.adder(agg ? agg : op->fns.init(op->fns.opaque), rec, op->fns.opaque);
      break;
  }

  if (!dsl_store_proc_value(sp, result, "the aggregate")) return;
  int64_t ts = found && stored_ts > rec->timestamp ? stored_ts : rec->timestamp;
  dsl_store_proc_put(sp, rec, sp->value_buf.is_null, ts);
}

/* ---- building an aggregation ---- */

/* Every count / reduce / aggregate entry point. Serdes (transfer full): the
 * aggregate's agg_serde, mat's (which win). store: the user's, or mat's, NULL
 * = generated. */
static brook_table_t *aggregation(brook_grouped_t *grouped, agg_kind_t kind, agg_fns_t fns, const char *store,
                                  brook_serde_t *agg_serde, const brook_materialized_t *mat) {
  brook_serde_t *key_serde = mat ? mat->key_serde : NULL;
  brook_serde_t *mat_value_serde = mat ? mat->value_serde : NULL;
  if (!grouped) {
    brook_serde_unref(agg_serde);
    brook_serde_unref(key_serde);
    brook_serde_unref(mat_value_serde);
    return NULL;
  }
  brook_builder_t *builder = grouped->builder;
  const char *what = agg_kinds[kind].what;
  const char *prefix = agg_kinds[kind].prefix;

  brook_serde_t *value_serde = dsl_take_serde(builder, agg_serde);
  if (mat) {
    store = mat->store;
    key_serde = dsl_take_serde(builder, key_serde);
    if (dsl_take_serde(builder, mat_value_serde)) value_serde = mat_value_serde;
  }
  if (!key_serde) key_serde = grouped->key_serde;
  if (!value_serde && kind == AGG_COUNT) value_serde = dsl_take_serde(builder, brook_serde_i64_new());
  if (!value_serde && kind == AGG_REDUCE) value_serde = grouped->value_serde;

  /* Kafka's count(Materialized) burns a store name when none is given. */
  if (kind == AGG_COUNT && mat && !mat->store) (void)dsl_store_name(builder, prefix);
  store = store ? dsl_strdup(builder, store) : dsl_store_name(builder, prefix);
  const char *name = dsl_name(builder, prefix);
  brook_table_t *table = dsl_table_new(builder, name, key_serde, value_serde, store);

  const char *parent = grouped->node;
  if (grouped->repartition_required) {
    char *topic = g_strconcat(store, "-repartition", NULL);
    parent =
        dsl_repartition(builder, what, grouped->node, topic, grouped->key_serde, grouped->value_serde, 0);
    g_free(topic);
  }
  bool have_fn = kind == AGG_COUNT || (kind == AGG_REDUCE ? fns.reducer != NULL : fns.init && fns.adder);
  if (!have_fn) {
    dsl_error(builder, "%s (%s): the callback is NULL", what, name);
    return table;
  }
  if (!dsl_claim_store(builder, store, what, name)) return table;

  agg_op_t *op = g_new0(agg_op_t, 1);
  op->kind = kind;
  op->fns = fns;
  op->base.what = g_strdup_printf("%s \"%s\"", what, store);
  dsl_add_store_processor(builder, what, name, parent, agg_process, &op->base, store, key_serde, value_serde,
                          mat);
  return table;
}

brook_table_t *brook_grouped_count(brook_grouped_t *grouped, const char *store) {
  return aggregation(grouped, AGG_COUNT, (agg_fns_t){0}, store, NULL, NULL);
}

brook_table_t *brook_grouped_count_with(brook_grouped_t *grouped, const brook_materialized_t *mat) {
  return aggregation(grouped, AGG_COUNT, (agg_fns_t){0}, NULL, NULL, mat);
}

brook_table_t *brook_grouped_reduce(brook_grouped_t *grouped, brook_reducer_fn reducer, void *opaque,
                                    const char *store) {
  return aggregation(grouped, AGG_REDUCE, (agg_fns_t){.reducer = reducer, .opaque = opaque}, store, NULL,
                     NULL);
}

brook_table_t *brook_grouped_reduce_with(brook_grouped_t *grouped, brook_reducer_fn reducer, void *opaque,
                                         const brook_materialized_t *mat) {
  return aggregation(grouped, AGG_REDUCE, (agg_fns_t){.reducer = reducer, .opaque = opaque}, NULL, NULL, mat);
}

brook_table_t *brook_grouped_aggregate(brook_grouped_t *grouped, brook_initializer_fn init,
                                       brook_aggregator_fn adder, void *opaque, brook_serde_t *agg_serde,
                                       const char *store) {
  return aggregation(grouped, AGG_AGGREGATE, (agg_fns_t){.init = init, .adder = adder, .opaque = opaque},
                     store, agg_serde, NULL);
}

brook_table_t *brook_grouped_aggregate_with(brook_grouped_t *grouped, brook_initializer_fn init,
                                            brook_aggregator_fn adder, void *opaque,
                                            const brook_materialized_t *mat) {
  return aggregation(grouped, AGG_AGGREGATE, (agg_fns_t){.init = init, .adder = adder, .opaque = opaque},
                     NULL, NULL, mat);
}
