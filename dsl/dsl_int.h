/*
 * dsl_int.h — what the DSL's files share: the builder, the handles, naming,
 * error recording, adding callback processors, and the materializing
 * processor (store + forwarding of its updates) the stateful operators use.
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
 * callbacks (stream threads) and dsl_store_proc_* (the task's stream thread).
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
/** The entry of an operator taking a key and a value serde (transfer full):
 *  takes both over for `builder`; with builder NULL (the operator got a NULL
 *  handle) drops both instead and returns false. */
bool dsl_take_serdes(brook_builder_t *builder, brook_serde_t **key_serde, brook_serde_t **value_serde);

/** Marks `name` as a used store name; false (and an error "<what> (<node>): …",
 *  or "<what>: …" when node is NULL) when it is used already or empty. */
bool dsl_claim_store(brook_builder_t *builder, const char *name, const char *what, const char *node);

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

typedef void (*dsl_process_fn)(brook_processor_context_t *ctx, void *state, const brook_record_t *rec);

/** The processor of a callback operator: named from `prefix`, a child of
 *  `parent`, running `process` with `op` as its state (op: (transfer full),
 *  g_free'd with the topology). have_fn false (the user's callback is NULL)
 *  records "<what> (<name>): the callback is NULL" and frees op instead.
 *  Returns the name either way. */
const char *dsl_add_op(brook_builder_t *builder, const char *what, const char *prefix, const char *parent,
                       dsl_process_fn process, void *op, bool have_fn);

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

/* ---- table.c: processors that materialize a timestamped KV store ---- */

/** What such a processor (aggregations, the table source) keeps in its def's
 *  opaque: the first member of the operator's own opaque, which
 *  dsl_add_store_processor fills and frees (with g_free: the rest of the
 *  operator's opaque must own nothing). */
typedef struct dsl_store_op {
  brook_serde_t *key_serde;   /* references, NULL = default.key.serde */
  brook_serde_t *value_serde; /* the stored values'; NULL = default.value.serde */
  char *store;
  char *what; /* for messages: "count \"<store>\"", "table \"<topic>\"" (set by the caller) */
} dsl_store_op_t;

/** The instance state of such a processor, which `process` receives. The
 *  store's flush listener deserializes each update that reaches the store
 *  (scratch memory) and forwards (key, new, old, timestamp) through ctx: at
 *  once without a record cache, at commit or eviction with one. */
typedef struct dsl_store_proc {
  const dsl_store_op_t *op; /* the operator's opaque (cast back to its own type) */
  brook_processor_context_t *ctx;
  brook_kv_store_t *store;
  brook_serde_t *key_serde; /* resolved: the op's or the default (borrowed until close) */
  brook_serde_t *value_serde;
  const char *changelog; /* topic passed to the serdes */
  brook_serde_buf_t key_buf;
  brook_serde_buf_t value_buf;
  brook_headers_t *headers; /* the input record's, set around writes (uncached stores) */
} dsl_store_proc_t;

/** Adds processor `name` (child of `parent`, running `process` over a
 *  dsl_store_proc_t) and its timestamped KV store `store`, which the caller
 *  has claimed; mat (may be NULL) says in_memory / logging / caching. op
 *  (transfer full: owned by the topology from here) has `what` set and the
 *  rest of the operator's fields; this sets the store and takes references on
 *  the serdes (borrowed, NULL = default). Errors are recorded as "<what>
 *  (<name>): …". */
void dsl_add_store_processor(brook_builder_t *builder, const char *what, const char *name, const char *parent,
                             dsl_process_fn process, dsl_store_op_t *op, const char *store,
                             brook_serde_t *key_serde, brook_serde_t *value_serde,
                             const brook_materialized_t *mat);

/* In `process`, for one record. Failures go to brook_ctx_fail as
 * "<op what> (<node>): …"; a function returning false has reported why (or,
 * for the key, met a key that serializes to null) and the record stops. */

/** Serializes `key` into sp->key_buf. */
bool dsl_store_proc_key(dsl_store_proc_t *sp, const void *key);
/** Serializes `value` into sp->value_buf; `noun` names it in messages ("the value"). */
bool dsl_store_proc_value(dsl_store_proc_t *sp, const void *value, const char *noun);
/** Reads sp->key_buf's stored bytes and timestamp (borrowed until the next
 *  store call). BROOK_ERR_NONE, BROOK_ERR__NOENT, or another error, reported. */
brook_err_t dsl_store_proc_get(dsl_store_proc_t *sp, const void **value, size_t *value_len,
                               int64_t *timestamp);
/** Deserializes stored bytes into *out (scratch memory, NULL for a null). */
bool dsl_store_proc_decode(dsl_store_proc_t *sp, const void *data, size_t len, void **out, const char *noun);
/** Writes sp->key_buf → sp->value_buf (a delete when is_delete) at `timestamp`;
 *  rec's headers go with the update the listener forwards at once (no cache). */
void dsl_store_proc_put(dsl_store_proc_t *sp, const brook_record_t *rec, bool is_delete, int64_t timestamp);

/* ---- print.c ---- */

/** Renders a value typed by `serde` (NULL: unknown) for print:
 *  (transfer none: scratch memory or a constant) @locality stream thread */
const char *dsl_render(brook_serde_t *serde, const void *value);

#endif
