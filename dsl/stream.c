/*
 * stream.c — stateless KStream operators: filter, map, flat_map, select_key,
 * peek, foreach, merge, split, to, repartition, process, with_serdes.
 *
 * Each operator adds one processor (or a sink) named from the builder's
 * counter with Kafka's prefix and returns a stream handle that records the
 * node, the serdes known for it and whether the key changed since the last
 * repartition (map, select_key, flat_map, process: a later group_by_key must
 * repartition). The processors' opaque (the user's callback and opaque) is
 * owned by the topology (opaque_free), so the builder can go before the app.
 *
 * Records keep the input's timestamp and headers: operators forward a copy
 * of the input record with key and/or value replaced. flat_map collects what
 * the callback emits and forwards it once the callback has returned, so a
 * callback never runs re-entrantly inside its own downstream.
 */
#include <string.h>

#include "dsl_int.h"

/* A user callback and its opaque: the opaque of every stateless processor. */
typedef struct stream_op {
  union {
    brook_predicate_fn pred;
    brook_value_mapper_fn value_mapper;
    brook_key_selector_fn key_selector;
    brook_mapper_fn mapper;
    brook_flat_mapper_fn flat_mapper;
    brook_foreach_fn foreach;
  } fn;
  void *opaque;
  bool negate;      /* filter_not */
  bool values_only; /* flat_map_values */
} stream_op_t;

static stream_op_t *op_new(void *opaque) {
  stream_op_t *op = g_new0(stream_op_t, 1);
  op->opaque = opaque;
  return op;
}

/* ---- filter / filter_not ---- */

static void filter_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  stream_op_t *op = state;
  if (op->fn.pred(rec, op->opaque) != op->negate) brook_ctx_forward(ctx, rec);
}

static brook_stream_t *filter(brook_stream_t *stream, const char *what, brook_predicate_fn pred, void *opaque,
                              bool negate) {
  if (!stream) return NULL;
  stream_op_t *op = op_new(opaque);
  op->fn.pred = pred;
  op->negate = negate;
  const char *name =
      dsl_add_op(stream->builder, what, "KSTREAM-FILTER-", stream->node, filter_process, op, pred != NULL);
  return dsl_stream_new(stream->builder, name, stream->key_serde, stream->value_serde,
                        stream->repartition_required);
}

brook_stream_t *brook_stream_filter(brook_stream_t *stream, brook_predicate_fn pred, void *opaque) {
  return filter(stream, "filter", pred, opaque, false);
}

brook_stream_t *brook_stream_filter_not(brook_stream_t *stream, brook_predicate_fn pred, void *opaque) {
  return filter(stream, "filter_not", pred, opaque, true);
}

/* ---- map / map_values / select_key ---- */

static void map_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  stream_op_t *op = state;
  brook_record_t out = *rec;
  out.old_value = NULL;
  op->fn.mapper(rec, &out.key, &out.value, op->opaque);
  brook_ctx_forward(ctx, &out);
}

brook_stream_t *brook_stream_map(brook_stream_t *stream, brook_mapper_fn mapper, void *opaque) {
  if (!stream) return NULL;
  stream_op_t *op = op_new(opaque);
  op->fn.mapper = mapper;
  const char *name =
      dsl_add_op(stream->builder, "map", "KSTREAM-MAP-", stream->node, map_process, op, mapper != NULL);
  return dsl_stream_new(stream->builder, name, NULL, NULL, true);
}

static void map_values_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  stream_op_t *op = state;
  brook_record_t out = *rec;
  out.old_value = NULL;
  out.value = op->fn.value_mapper(rec, op->opaque);
  brook_ctx_forward(ctx, &out);
}

brook_stream_t *brook_stream_map_values(brook_stream_t *stream, brook_value_mapper_fn mapper, void *opaque) {
  if (!stream) return NULL;
  stream_op_t *op = op_new(opaque);
  op->fn.value_mapper = mapper;
  const char *name = dsl_add_op(stream->builder, "map_values", "KSTREAM-MAPVALUES-", stream->node,
                                map_values_process, op, mapper != NULL);
  return dsl_stream_new(stream->builder, name, stream->key_serde, NULL, stream->repartition_required);
}

static void select_key_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  stream_op_t *op = state;
  brook_record_t out = *rec;
  out.old_value = NULL;
  out.key = op->fn.key_selector(rec, op->opaque);
  brook_ctx_forward(ctx, &out);
}

const char *dsl_add_key_select(brook_stream_t *stream, const char *what, brook_key_selector_fn selector,
                               void *opaque) {
  stream_op_t *op = op_new(opaque);
  op->fn.key_selector = selector;
  return dsl_add_op(stream->builder, what, "KSTREAM-KEY-SELECT-", stream->node, select_key_process, op,
                    selector != NULL);
}

brook_stream_t *brook_stream_select_key(brook_stream_t *stream, brook_key_selector_fn selector,
                                        void *opaque) {
  if (!stream) return NULL;
  const char *name = dsl_add_key_select(stream, "select_key", selector, opaque);
  return dsl_stream_new(stream->builder, name, NULL, stream->value_serde, true);
}

/* ---- flat_map / flat_map_values ---- */

typedef struct emitted {
  const void *key;
  const void *value;
} emitted_t;

struct brook_emitter {
  GArray *items;      /* emitted_t */
  const void *in_key; /* the input record's key */
  bool values_only;   /* flat_map_values: the key stays the input's */
};

void brook_emit(brook_emitter_t *out, const void *key, const void *value) {
  emitted_t item = {out->values_only ? out->in_key : key, value};
  g_array_append_val(out->items, item);
}

void brook_emit_value(brook_emitter_t *out, const void *value) {
  emitted_t item = {out->in_key, value};
  g_array_append_val(out->items, item);
}

typedef struct flat_map_state {
  stream_op_t *op;
  GArray *items; /* reused from record to record */
} flat_map_state_t;

static brook_err_t flat_map_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                                 size_t errstr_size) {
  flat_map_state_t *st = g_new0(flat_map_state_t, 1);
  st->op = opaque;
  st->items = g_array_new(FALSE, FALSE, sizeof(emitted_t));
  *statep = st;
  return BROOK_ERR_NONE;
}

static void flat_map_close(brook_processor_context_t *ctx, void *state) {
  flat_map_state_t *st = state;
  if (!st) return;
  g_array_free(st->items, TRUE);
  g_free(st);
}

static void flat_map_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  flat_map_state_t *st = state;
  g_array_set_size(st->items, 0);
  brook_emitter_t out = {st->items, rec->key, st->op->values_only};
  st->op->fn.flat_mapper(rec, &out, st->op->opaque);
  /* Forwarding runs the whole downstream; it cannot re-enter this instance
   * (a topology has no cycles), so iterating st->items is safe. */
  for (guint i = 0; i < st->items->len; i++) {
    emitted_t *item = &g_array_index(st->items, emitted_t, i);
    brook_record_t fwd = *rec;
    fwd.key = item->key;
    fwd.value = item->value;
    fwd.old_value = NULL;
    brook_ctx_forward(ctx, &fwd);
  }
}

static const char *add_flat_map(brook_stream_t *stream, const char *what, const char *prefix,
                                brook_flat_mapper_fn mapper, void *opaque, bool values_only) {
  brook_builder_t *builder = stream->builder;
  const char *name = dsl_name(builder, prefix);
  if (!mapper) {
    dsl_error(builder, "%s (%s): the callback is NULL", what, name);
    return name;
  }
  stream_op_t *op = op_new(opaque);
  op->fn.flat_mapper = mapper;
  op->values_only = values_only;
  brook_processor_def_t def = {
      .init = flat_map_init,
      .process = flat_map_process,
      .close = flat_map_close,
      .opaque = op,
      .opaque_free = g_free,
  };
  dsl_add_processor(builder, what, name, &def, stream->node, NULL);
  return name;
}

brook_stream_t *brook_stream_flat_map(brook_stream_t *stream, brook_flat_mapper_fn mapper, void *opaque) {
  if (!stream) return NULL;
  const char *name = add_flat_map(stream, "flat_map", "KSTREAM-FLATMAP-", mapper, opaque, false);
  return dsl_stream_new(stream->builder, name, NULL, NULL, true);
}

brook_stream_t *brook_stream_flat_map_values(brook_stream_t *stream, brook_flat_mapper_fn mapper,
                                             void *opaque) {
  if (!stream) return NULL;
  const char *name = add_flat_map(stream, "flat_map_values", "KSTREAM-FLATMAPVALUES-", mapper, opaque, true);
  return dsl_stream_new(stream->builder, name, stream->key_serde, NULL, stream->repartition_required);
}

/* ---- peek / foreach ---- */

static void peek_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  stream_op_t *op = state;
  op->fn.foreach (rec, op->opaque);
  brook_ctx_forward(ctx, rec);
}

static void foreach_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  stream_op_t *op = state;
  op->fn.foreach (rec, op->opaque);
}

brook_stream_t *brook_stream_peek(brook_stream_t *stream, brook_foreach_fn fn, void *opaque) {
  if (!stream) return NULL;
  stream_op_t *op = op_new(opaque);
  op->fn.foreach = fn;
  const char *name =
      dsl_add_op(stream->builder, "peek", "KSTREAM-PEEK-", stream->node, peek_process, op, fn != NULL);
  return dsl_stream_new(stream->builder, name, stream->key_serde, stream->value_serde,
                        stream->repartition_required);
}

void brook_stream_foreach(brook_stream_t *stream, brook_foreach_fn fn, void *opaque) {
  if (!stream) return;
  stream_op_t *op = op_new(opaque);
  op->fn.foreach = fn;
  dsl_add_op(stream->builder, "foreach", "KSTREAM-FOREACH-", stream->node, foreach_process, op, fn != NULL);
}

/* ---- merge ---- */

static void pass_through_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  brook_ctx_forward(ctx, rec);
}

brook_stream_t *brook_stream_merge(brook_stream_t *stream, brook_stream_t *other) {
  if (!stream) return NULL;
  brook_builder_t *builder = stream->builder;
  const char *name = dsl_name(builder, "KSTREAM-MERGE-");
  if (!other) {
    dsl_error(builder, "merge (%s): the other stream is NULL", name);
    return dsl_stream_new(builder, name, NULL, NULL, stream->repartition_required);
  }
  if (other->builder != builder) {
    dsl_error(builder, "merge (%s): the other stream belongs to another builder", name);
    return dsl_stream_new(builder, name, NULL, NULL, stream->repartition_required);
  }
  brook_processor_def_t def = {.process = pass_through_process};
  if (strcmp(stream->node, other->node) == 0)
    dsl_add_processor(builder, "merge", name, &def, stream->node, NULL);
  else
    dsl_add_processor(builder, "merge", name, &def, stream->node, other->node);
  /* Kafka drops both serdes (either may be wrong for the other side); we keep
   * one only when both sides know the very same serde. */
  return dsl_stream_new(builder, name, stream->key_serde == other->key_serde ? stream->key_serde : NULL,
                        stream->value_serde == other->value_serde ? stream->value_serde : NULL,
                        stream->repartition_required || other->repartition_required);
}

/* ---- with_serdes ---- */

brook_stream_t *brook_stream_with_serdes(brook_stream_t *stream, brook_serde_t *key_serde,
                                         brook_serde_t *value_serde) {
  if (!dsl_take_serdes(stream ? stream->builder : NULL, &key_serde, &value_serde)) return NULL;
  if (key_serde) stream->key_serde = key_serde;
  if (value_serde) stream->value_serde = value_serde;
  return stream;
}

/* ---- split ---- */

typedef struct split_branch {
  brook_predicate_fn pred;
  void *opaque;
  char *child;
} split_branch_t;

/* The splitter's opaque (owned by the topology). Branches are appended after
 * the processor was added, as Kafka's BranchedKStreamImpl does with the lists
 * it handed to KStreamBranch; the topology is immutable only once sealed. */
typedef struct split_op {
  GArray *branches; /* split_branch_t */
  char *default_child;
} split_op_t;

static void split_op_free(void *p) {
  split_op_t *op = p;
  for (guint i = 0; i < op->branches->len; i++) g_free(g_array_index(op->branches, split_branch_t, i).child);
  g_array_free(op->branches, TRUE);
  g_free(op->default_child);
  g_free(op);
}

static void split_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  split_op_t *op = state;
  for (guint i = 0; i < op->branches->len; i++) {
    split_branch_t *b = &g_array_index(op->branches, split_branch_t, i);
    if (b->pred(rec, b->opaque)) {
      brook_ctx_forward_to(ctx, b->child, rec);
      return;
    }
  }
  if (op->default_child) brook_ctx_forward_to(ctx, op->default_child, rec);
}

struct brook_branches {
  brook_stream_t *stream; /* the split stream */
  const char *name;       /* the splitter's name, prefix of the branches' */
  split_op_t *op;         /* NULL when adding the splitter failed */
  int count;              /* predicates so far */
  bool ended;             /* default branch added */
};

brook_branches_t *brook_stream_split(brook_stream_t *stream, const char *name) {
  if (!stream) return NULL;
  brook_builder_t *builder = stream->builder;
  brook_branches_t *branches = dsl_alloc(builder, sizeof *branches);
  branches->stream = stream;
  branches->name = name ? dsl_strdup(builder, name) : dsl_name(builder, "KSTREAM-BRANCH-");
  split_op_t *op = g_new0(split_op_t, 1);
  op->branches = g_array_new(FALSE, FALSE, sizeof(split_branch_t));
  brook_processor_def_t def = {
      .init = dsl_init_opaque,
      .process = split_process,
      .opaque = op,
      .opaque_free = split_op_free,
  };
  if (dsl_add_processor(builder, "split", branches->name, &def, stream->node, NULL)) branches->op = op;
  return branches;
}

/* Kafka's BranchedKStreamImpl.createBranch: the child is a pass-through named
 * "<split name><branch name>" or "<split name><index>" (default branch: 0);
 * the name is run through newProcessorName, which burns a number. */
static brook_stream_t *add_branch(brook_branches_t *branches, const char *what, brook_predicate_fn pred,
                                  void *opaque, const char *name, int index, bool is_default) {
  brook_stream_t *stream = branches->stream;
  brook_builder_t *builder = stream->builder;
  char *child =
      name ? g_strconcat(branches->name, name, NULL) : g_strdup_printf("%s%d", branches->name, index);
  const char *child_name = dsl_strdup(builder, child);
  g_free(child);
  (void)dsl_name(builder, child_name);
  brook_stream_t *out = dsl_stream_new(builder, child_name, stream->key_serde, stream->value_serde,
                                       stream->repartition_required);

  if (!is_default && !pred) {
    dsl_error(builder, "%s (%s): the predicate is NULL", what, child_name);
    return out;
  }
  if (branches->ended) {
    dsl_error(builder, "%s (%s): the split already has its default branch", what, child_name);
    return out;
  }
  brook_processor_def_t def = {.process = pass_through_process};
  if (!dsl_add_processor(builder, what, child_name, &def, branches->name, NULL) || !branches->op) return out;
  if (is_default) {
    branches->op->default_child = g_strdup(child_name);
    branches->ended = true;
  } else {
    split_branch_t b = {pred, opaque, g_strdup(child_name)};
    g_array_append_val(branches->op->branches, b);
  }
  return out;
}

brook_stream_t *brook_branches_branch(brook_branches_t *branches, brook_predicate_fn pred, void *opaque,
                                      const char *name) {
  if (!branches) return NULL;
  branches->count++;
  return add_branch(branches, "branch", pred, opaque, name, branches->count, false);
}

brook_stream_t *brook_branches_default(brook_branches_t *branches, const char *name) {
  if (!branches) return NULL;
  return add_branch(branches, "default_branch", NULL, NULL, name, 0, true);
}

/* ---- to / to_dynamic ---- */

/* to: topic set (maybe empty); to_dynamic: topic NULL, the extractor's
 * choice. Serdes taken over already, NULL = the stream's. */
static void add_sink(brook_stream_t *stream, const char *what, const char *topic,
                     brook_topic_extractor_fn extractor, void *opaque, brook_serde_t *key_serde,
                     brook_serde_t *value_serde) {
  brook_builder_t *builder = stream->builder;
  const char *name = dsl_name(builder, "KSTREAM-SINK-");
  if (!extractor && (!topic || !*topic)) {
    dsl_error(builder, "%s (%s): %s", what, name, topic ? "empty topic name" : "the topic extractor is NULL");
    return;
  }
  brook_sink_opts_t opts = {
      .topic = topic,
      .topic_extractor = extractor,
      .topic_extractor_opaque = opaque,
      .key_serde = key_serde ? key_serde : stream->key_serde,
      .value_serde = value_serde ? value_serde : stream->value_serde,
  };
  const char *parents[2] = {stream->node, NULL};
  char errstr[512];
  if (brook_topology_add_sink(builder->topology, name, &opts, parents, errstr, sizeof errstr) != 0)
    dsl_error(builder, "%s (%s): %s", what, name, errstr);
}

void brook_stream_to(brook_stream_t *stream, const char *topic, brook_serde_t *key_serde,
                     brook_serde_t *value_serde) {
  if (!dsl_take_serdes(stream ? stream->builder : NULL, &key_serde, &value_serde)) return;
  add_sink(stream, "to", topic ? topic : "", NULL, NULL, key_serde, value_serde);
}

void brook_stream_to_dynamic(brook_stream_t *stream, brook_topic_extractor_fn extractor, void *opaque,
                             brook_serde_t *key_serde, brook_serde_t *value_serde) {
  if (!dsl_take_serdes(stream ? stream->builder : NULL, &key_serde, &value_serde)) return;
  add_sink(stream, "to_dynamic", NULL, extractor, opaque, key_serde, value_serde);
}

/* ---- repartition ---- */

brook_stream_t *brook_stream_repartition(brook_stream_t *stream, const char *name, brook_serde_t *key_serde,
                                         brook_serde_t *value_serde, int32_t partitions) {
  if (!dsl_take_serdes(stream ? stream->builder : NULL, &key_serde, &value_serde)) return NULL;
  brook_builder_t *builder = stream->builder;
  if (!key_serde) key_serde = stream->key_serde;
  if (!value_serde) value_serde = stream->value_serde;
  const char *base = name ? name : dsl_name(builder, "KSTREAM-REPARTITION-");
  char *topic = g_strconcat(base, "-repartition", NULL);
  if (name && !*name) dsl_error(builder, "repartition: empty name");
  if (partitions < 0) dsl_error(builder, "repartition (%s): partitions %d < 0", topic, (int)partitions);
  const char *source =
      dsl_repartition(builder, "repartition", stream->node, topic, key_serde, value_serde, partitions);
  g_free(topic);
  return dsl_stream_new(builder, source, key_serde, value_serde, false);
}

/* ---- process ---- */

brook_stream_t *brook_stream_process(brook_stream_t *stream, const brook_processor_def_t *def,
                                     const char *const *stores) {
  if (!stream) return NULL;
  brook_builder_t *builder = stream->builder;
  const char *name = dsl_name(builder, "KSTREAM-PROCESSOR-");
  brook_stream_t *out = dsl_stream_new(builder, name, NULL, NULL, true);
  if (!def || !def->process) {
    dsl_error(builder, "process (%s): %s", name,
              def ? "the process callback is NULL" : "the definition is NULL");
    return out;
  }
  if (!dsl_add_processor(builder, "process", name, def, stream->node, NULL)) return out;
  for (size_t i = 0; stores && stores[i]; i++) {
    char errstr[512];
    if (brook_topology_connect_store(builder->topology, stores[i], name, errstr, sizeof errstr) != 0) {
      dsl_error(builder, "process (%s): %s", name, errstr);
      break;
    }
  }
  return out;
}
