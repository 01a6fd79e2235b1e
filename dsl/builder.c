/*
 * builder.c — the DSL builder: topology, naming counter, errors, sources,
 * user stores, and what the operators share to add nodes: callback
 * processors (dsl_add_op) and the repartition (dsl_repartition).
 *
 * Naming. Kafka Streams names every DSL node "<PREFIX><10-digit index>" from
 * one counter per StreamsBuilder, and generated store names
 * "<prefix>STATE-STORE-<index>" come from the same counter. Which operator
 * takes a number and when is part of Kafka's topology compatibility (names
 * are burned even when a user name is given in some places); dsl_name() and
 * dsl_store_name() are that counter, and each operator calls them in Kafka's
 * order. Example (WordCount): source 0, flatMapValues 1, groupBy's key select
 * 2, count's aggregate 3 (its store is named by the user), then the
 * repartition sink 4, filter 5, source 6, toStream 7, sink 8.
 *
 * Errors never abort: the first one is kept ("<operator> (<node>): why") and
 * brook_builder_build() returns it. A failed operator still returns a handle
 * so that the caller's chain of calls goes on harmlessly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dsl_int.h"

/* ---- builder ---- */

brook_builder_t *brook_builder_new(void) {
  brook_builder_t *builder = g_new0(brook_builder_t, 1);
  builder->topology = brook_topology_new();
  builder->serdes = g_ptr_array_new_with_free_func((GDestroyNotify)brook_serde_unref);
  builder->handles = g_ptr_array_new_with_free_func(g_free);
  builder->strings = g_string_chunk_new(1024);
  builder->stores = g_hash_table_new(g_str_hash, g_str_equal);
  return builder;
}

void brook_builder_destroy(brook_builder_t *builder) {
  if (!builder) return;
  brook_topology_unref(builder->topology);
  g_ptr_array_free(builder->serdes, TRUE);
  g_ptr_array_free(builder->handles, TRUE);
  g_hash_table_destroy(builder->stores);
  g_string_chunk_free(builder->strings);
  g_free(builder->error);
  g_free(builder);
}

brook_topology_t *brook_builder_build(brook_builder_t *builder, char *errstr, size_t errstr_size) {
  const char *err = builder->error ? builder->error : brook_topology_error(builder->topology);
  if (!err && !builder->has_source)
    err = "build: the topology has no source (add one with brook_builder_stream or brook_builder_table)";
  if (err) {
    if (errstr && errstr_size) snprintf(errstr, errstr_size, "%s", err);
    return NULL;
  }
  return brook_topology_ref(builder->topology);
}

void dsl_error(brook_builder_t *builder, const char *fmt, ...) {
  if (builder->error) return;
  va_list ap;
  va_start(ap, fmt);
  builder->error = g_strdup_vprintf(fmt, ap);
  va_end(ap);
}

const char *dsl_name(brook_builder_t *builder, const char *prefix) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s%010d", prefix, builder->index++);
  return g_string_chunk_insert(builder->strings, buf);
}

const char *dsl_store_name(brook_builder_t *builder, const char *prefix) {
  char *s = g_strdup_printf("%sSTATE-STORE-%010d", prefix, builder->index++);
  const char *name = g_string_chunk_insert(builder->strings, s);
  g_free(s);
  return name;
}

const char *dsl_strdup(brook_builder_t *builder, const char *s) {
  return s ? g_string_chunk_insert(builder->strings, s) : NULL;
}

brook_serde_t *dsl_take_serde(brook_builder_t *builder, brook_serde_t *serde) {
  if (serde) g_ptr_array_add(builder->serdes, serde);
  return serde;
}

bool dsl_take_serdes(brook_builder_t *builder, brook_serde_t **key_serde, brook_serde_t **value_serde) {
  if (!builder) {
    brook_serde_unref(*key_serde);
    brook_serde_unref(*value_serde);
    return false;
  }
  dsl_take_serde(builder, *key_serde);
  dsl_take_serde(builder, *value_serde);
  return true;
}

bool dsl_claim_store(brook_builder_t *builder, const char *name, const char *what, const char *node) {
  bool empty = !name || !*name;
  if (empty || g_hash_table_contains(builder->stores, name)) {
    char *who = node ? g_strdup_printf("%s (%s)", what, node) : g_strdup(what);
    if (empty)
      dsl_error(builder, "%s: empty store name", who);
    else
      dsl_error(builder, "%s: store \"%s\" is already used", who, name);
    g_free(who);
    return false;
  }
  const char *copy = dsl_strdup(builder, name);
  g_hash_table_add(builder->stores, (gpointer)copy);
  return true;
}

void *dsl_alloc(brook_builder_t *builder, size_t size) {
  void *p = g_malloc0(size);
  g_ptr_array_add(builder->handles, p);
  return p;
}

brook_stream_t *dsl_stream_new(brook_builder_t *builder, const char *node, brook_serde_t *key_serde,
                               brook_serde_t *value_serde, bool repartition_required) {
  brook_stream_t *stream = dsl_alloc(builder, sizeof *stream);
  stream->builder = builder;
  stream->node = dsl_strdup(builder, node);
  stream->key_serde = key_serde;
  stream->value_serde = value_serde;
  stream->repartition_required = repartition_required;
  return stream;
}

brook_table_t *dsl_table_new(brook_builder_t *builder, const char *node, brook_serde_t *key_serde,
                             brook_serde_t *value_serde, const char *store) {
  brook_table_t *table = dsl_alloc(builder, sizeof *table);
  table->builder = builder;
  table->node = dsl_strdup(builder, node);
  table->key_serde = key_serde;
  table->value_serde = value_serde;
  table->store = dsl_strdup(builder, store);
  return table;
}

brook_grouped_t *dsl_grouped_new(brook_builder_t *builder, const char *node, brook_serde_t *key_serde,
                                 brook_serde_t *value_serde, bool repartition_required) {
  brook_grouped_t *grouped = dsl_alloc(builder, sizeof *grouped);
  grouped->builder = builder;
  grouped->node = dsl_strdup(builder, node);
  grouped->key_serde = key_serde;
  grouped->value_serde = value_serde;
  grouped->repartition_required = repartition_required;
  return grouped;
}

bool dsl_add_processor(brook_builder_t *builder, const char *what, const char *name,
                       const brook_processor_def_t *def, const char *parent, const char *parent2) {
  const char *parents[3] = {parent, parent2, NULL};
  char errstr[512];
  if (brook_topology_add_processor(builder->topology, name, def, parents, errstr, sizeof errstr) != 0) {
    dsl_error(builder, "%s (%s): %s", what, name, errstr);
    return false;
  }
  return true;
}

brook_err_t dsl_init_opaque(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                            size_t errstr_size) {
  *statep = opaque;
  return BROOK_ERR_NONE;
}

const char *dsl_add_op(brook_builder_t *builder, const char *what, const char *prefix, const char *parent,
                       dsl_process_fn process, void *op, bool have_fn) {
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
  dsl_add_processor(builder, what, name, &def, parent, NULL);
  return name;
}

/* ---- sources ---- */

static brook_stream_t *source_new(brook_builder_t *builder, const char *what, const char *const *topics,
                                  const char *pattern, const brook_consumed_t *consumed) {
  brook_serde_t *key_serde = consumed ? dsl_take_serde(builder, consumed->key_serde) : NULL;
  brook_serde_t *value_serde = consumed ? dsl_take_serde(builder, consumed->value_serde) : NULL;
  const char *name = consumed && consumed->name ? consumed->name : dsl_name(builder, "KSTREAM-SOURCE-");
  brook_stream_t *stream = dsl_stream_new(builder, name, key_serde, value_serde, false);

  if (pattern) {
    if (!*pattern) {
      dsl_error(builder, "%s (%s): empty pattern", what, name);
      return stream;
    }
  } else {
    if (!topics || !topics[0]) {
      dsl_error(builder, "%s (%s): no topic", what, name);
      return stream;
    }
    for (size_t i = 0; topics[i]; i++) {
      if (!*topics[i]) {
        dsl_error(builder, "%s (%s): empty topic name", what, name);
        return stream;
      }
    }
  }
  brook_source_opts_t opts = {
      .topics = pattern ? NULL : topics,
      .pattern = pattern,
      .key_serde = key_serde,
      .value_serde = value_serde,
      .timestamp_extractor = consumed ? consumed->timestamp_extractor : NULL,
      .timestamp_extractor_opaque = consumed ? consumed->timestamp_extractor_opaque : NULL,
  };
  char errstr[512];
  if (brook_topology_add_source(builder->topology, name, &opts, errstr, sizeof errstr) != 0) {
    dsl_error(builder, "%s (%s): %s", what, name, errstr);
    return stream;
  }
  builder->has_source = true;
  return stream;
}

brook_stream_t *brook_builder_stream(brook_builder_t *builder, const char *topic, brook_serde_t *key_serde,
                                     brook_serde_t *value_serde) {
  const char *topics[2] = {topic, NULL};
  brook_consumed_t consumed = {.key_serde = key_serde, .value_serde = value_serde};
  if (!topic) {
    /* an empty list would read as "no topic"; say what was wrong */
    topics[0] = "";
  }
  return source_new(builder, "stream", topics, NULL, &consumed);
}

brook_stream_t *brook_builder_stream_topics(brook_builder_t *builder, const char *const *topics,
                                            const brook_consumed_t *consumed) {
  return source_new(builder, "stream", topics, NULL, consumed);
}

brook_stream_t *brook_builder_stream_pattern(brook_builder_t *builder, const char *pattern,
                                             const brook_consumed_t *consumed) {
  return source_new(builder, "stream_pattern", NULL, pattern ? pattern : "", consumed);
}

/* ---- user stores ---- */

void brook_builder_add_store(brook_builder_t *builder, const brook_store_def_t *def) {
  if (!def) {
    dsl_error(builder, "add_store: NULL store definition");
    return;
  }
  if (!dsl_claim_store(builder, def->name, "add_store", NULL)) return;
  const char *none[1] = {NULL};
  char errstr[512];
  if (brook_topology_add_store(builder->topology, def, none, errstr, sizeof errstr) != 0)
    dsl_error(builder, "add_store (%s): %s", def->name, errstr);
}

/* ---- repartition ---- */

/* Drops records with a null key before a repartition topic (they could not be
 * partitioned by key; Kafka's repartition filter did the same). */
static void null_key_filter_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  if (rec->key) brook_ctx_forward(ctx, rec);
}

const char *dsl_repartition(brook_builder_t *builder, const char *what, const char *parent, const char *topic,
                            brook_serde_t *key_serde, brook_serde_t *value_serde, int32_t partitions) {
  /* Kafka's createRepartitionedSource takes the three numbers in this order. */
  const char *sink = dsl_name(builder, "KSTREAM-SINK-");
  const char *filter = dsl_name(builder, "KSTREAM-FILTER-");
  const char *source = dsl_name(builder, "KSTREAM-SOURCE-");

  brook_processor_def_t def = {.process = null_key_filter_process};
  if (!dsl_add_processor(builder, what, filter, &def, parent, NULL)) return source;

  char errstr[512];
  brook_sink_opts_t sink_opts = {
      .topic = topic,
      .key_serde = key_serde,
      .value_serde = value_serde,
      .internal = true,
      .partitions = partitions,
  };
  const char *sink_parents[2] = {filter, NULL};
  if (brook_topology_add_sink(builder->topology, sink, &sink_opts, sink_parents, errstr, sizeof errstr) !=
      0) {
    dsl_error(builder, "%s (%s): %s", what, sink, errstr);
    return source;
  }

  const char *topics[2] = {topic, NULL};
  brook_source_opts_t source_opts = {
      .topics = topics,
      .key_serde = key_serde,
      .value_serde = value_serde,
      .internal = true,
  };
  if (brook_topology_add_source(builder->topology, source, &source_opts, errstr, sizeof errstr) != 0)
    dsl_error(builder, "%s (%s): %s", what, source, errstr);
  return source;
}
