/*
 * dsl_int.h — what the DSL's files share: the builder, the handles, naming,
 * error recording, and the store-forwarding helper the stateful operators use.
 *
 * Invariants:
 *  - Every handle (stream, table, grouped, branches) is allocated by the
 *    builder, listed in builder->handles and freed with it. Handles are flat:
 *    their strings live in builder->strings.
 *  - A handle's serdes are borrowed from builder->serdes (the builder holds one
 *    reference for every serde an operator took over). Processor opaques that
 *    need a serde at run time take their own reference, because the topology
 *    (and the app running it) outlives the builder.
 *  - Names come from one builder-wide counter in the order Kafka Streams
 *    consumes its counter (InternalStreamsBuilder.newProcessorName /
 *    newStoreName), so brook_topology_describe() matches Topology.describe().
 *  - The first error wins; after it operators keep returning usable handles so
 *    that the caller's chain does not crash, and build returns the error.
 * @locality everything here: the building thread, except the processor
 * callbacks (stream threads) and dsl_forwarder_* (the task's stream thread).
 */
#ifndef BROOK_DSL_INT_H
#define BROOK_DSL_INT_H

#include <glib.h>

#include "brook_dsl.h"
#include "brook_kv_store.h"
#include "topology_int.h"

struct brook_builder {
  brook_topology_t *topology; /* one reference */
  int index;                  /* Kafka's InternalStreamsBuilder.index */
  char *error;                /* first recorded error */
  GPtrArray *serdes;          /* brook_serde_t * references taken over (unref'd on destroy) */
  GPtrArray *handles;         /* every handle (g_free) */
  GStringChunk *strings;      /* names held by handles */
  GHashTable *stores;         /* store names in use (keys in strings) */
  bool has_source;
};

struct brook_stream {
  brook_builder_t *builder;
  const char *node;         /* the node whose output this stream is */
  brook_serde_t *key_serde; /* known serdes (borrowed), NULL = unknown/default */
  brook_serde_t *value_serde;
  bool repartition_required; /* the key changed since the last repartition */
};

struct brook_table {
  brook_builder_t *builder;
  const char *node;
  brook_serde_t *key_serde;
  brook_serde_t *value_serde;
  const char *store; /* the materializing store, NULL when not materialized */
};

struct brook_grouped {
  brook_builder_t *builder;
  const char *node;
  brook_serde_t *key_serde;
  brook_serde_t *value_serde;
  bool repartition_required;
};

/* ---- builder.c ---- */

/** Records `fmt` as the builder's error unless one is recorded already. */
void dsl_error(brook_builder_t *builder, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The next generated name "<prefix>%010d" (Kafka's newProcessorName).
 *  (transfer none, lives in builder->strings) */
const char *dsl_name(brook_builder_t *builder, const char *prefix);
/** Kafka's newStoreName: "<prefix>STATE-STORE-%010d". */
const char *dsl_store_name(brook_builder_t *builder, const char *prefix);
/** A copy of s in builder->strings (NULL stays NULL). */
const char *dsl_strdup(brook_builder_t *builder, const char *s);

/** Takes over the caller's reference to `serde` (NULL is fine) and returns it,
 *  borrowed from the builder from now on. */
brook_serde_t *dsl_take_serde(brook_builder_t *builder, brook_serde_t *serde);

/** Marks `name` as a used store name; false (and an error naming `what`)
 *  when it is used already or empty. */
bool dsl_claim_store(brook_builder_t *builder, const char *name, const char *what);

/** New handles owned by the builder. */
brook_stream_t *dsl_stream_new(brook_builder_t *builder, const char *node, brook_serde_t *key_serde,
                               brook_serde_t *value_serde, bool repartition_required);
brook_table_t *dsl_table_new(brook_builder_t *builder, const char *node, brook_serde_t *key_serde,
                             brook_serde_t *value_serde, const char *store);
brook_grouped_t *dsl_grouped_new(brook_builder_t *builder, const char *node, brook_serde_t *key_serde,
                                 brook_serde_t *value_serde, bool repartition_required);
/** Any other allocation freed with the builder (g_free). */
void *dsl_alloc(brook_builder_t *builder, size_t size);

/** Adds a processor with one parent (or two: parent2 may be NULL). def->opaque
 *  is owned by the topology from here on (freed with def->opaque_free even when
 *  adding fails). Errors are recorded as "<what> (<name>): <message>".
 *  Returns true on success. */
bool dsl_add_processor(brook_builder_t *builder, const char *what, const char *name,
                       const brook_processor_def_t *def, const char *parent, const char *parent2);

/** Processor init that makes the def's opaque the instance state. */
brook_err_t dsl_init_opaque(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                            size_t errstr_size);

/** A repartition through internal topic `topic` (no application.id prefix):
 *  KSTREAM-FILTER (drops null keys) → KSTREAM-SINK → KSTREAM-SOURCE, named
 *  with the counter in Kafka's order (sink, filter, source). Serdes (borrowed,
 *  NULL = default) are those of the topic. Returns the source's name. */
const char *dsl_repartition(brook_builder_t *builder, const char *what, const char *parent, const char *topic,
                            brook_serde_t *key_serde, brook_serde_t *value_serde, int32_t partitions);

/* ---- stream.c ---- */

/** Adds a KSTREAM-KEY-SELECT processor under stream's node (select_key and
 *  group_by). Returns its name. */
const char *dsl_add_key_select(brook_stream_t *stream, const char *what, brook_key_selector_fn selector,
                               void *opaque);

/* ---- table.c: forwarding the changes of a timestamped KV store ---- */

/** Store forwarding for the aggregate and table-source processors: installed
 *  as the store's flush listener, it deserializes key / new / old (scratch
 *  memory) and forwards (key, new, old, timestamp) through ctx. */
typedef struct dsl_forwarder {
  brook_processor_context_t *ctx;
  brook_kv_store_t *store;
  brook_serde_t *key_serde; /* borrowed from the processor state */
  brook_serde_t *value_serde;
  brook_headers_t *headers; /* the current input record's, set around writes (uncached stores) */
} dsl_forwarder_t;

/** Installs fwd as the store's flush listener. */
void dsl_forwarder_install(dsl_forwarder_t *fwd);

/* ---- print.c ---- */

/** Renders a value typed by `serde` (NULL: unknown) for print:
 *  (transfer none: scratch memory or a constant) @locality stream thread */
const char *dsl_render(brook_serde_t *serde, const void *value);

#endif
