/*
 * brook_topology.h — topologies and the processor API.
 *
 * A topology is a graph of named nodes: sources (read topics), processors
 * (user or DSL code) and sinks (write topics), plus the state stores the
 * processors use. The DSL (dsl/brook_dsl.h) builds topologies out of these same
 * calls; a program may also build one by hand. The runtime (brook_streams.h)
 * cuts the graph into sub-topologies (connected parts; repartition topics
 * connect them through Kafka) and runs one task per sub-topology and input
 * partition.
 *
 * Records. Inside a topology a record is a brook_record_t: typed key and value
 * (whatever the source's serdes deserialized, or what an upstream processor
 * produced), the timestamp, and headers. A record handed to a processor is
 * borrowed (transfer none) for the duration of the call.
 *
 * Scratch memory. Values a processor or DSL callback creates (a new key, a
 * mapped value, a copied header) must outlive the call that made them until the
 * input record has gone all the way through the topology. brook_scratch_*()
 * allocate from the running task's per-record scratch arena, freed in one go
 * when the runtime is done with the input record (or with the punctuation or
 * cache flush that produced the records). They may be called only from inside
 * process(), a punctuator, or a DSL callback; elsewhere they abort.
 *
 * Threads: a topology is built on one thread and is immutable once an
 * application has it (ref-counted; the app holds a reference). Processor
 * callbacks run on the stream thread that owns the task, one task at a time.
 */
#ifndef BROOK_TOPOLOGY_H
#define BROOK_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brook_err.h"
#include "brook_serde.h"

typedef struct brook_topology brook_topology_t;
typedef struct brook_processor_context brook_processor_context_t;
typedef struct brook_headers brook_headers_t;
typedef struct brook_kv_store brook_kv_store_t;
typedef struct brook_window_store brook_window_store_t;
typedef struct brook_session_store brook_session_store_t;

/** A record as it flows through a topology. */
typedef struct brook_record {
  const void *key;       /**< typed as the upstream serde / producer says; NULL = null key */
  const void *value;     /**< NULL = null value (a tombstone for tables) */
  const void *old_value; /**< table updates: the previous value when known, else NULL */
  int64_t timestamp;     /**< ms since the epoch */
  brook_headers_t *headers; /**< never NULL inside a topology (may be empty) */
} brook_record_t;

/* ---- headers ---- */

/** Number of headers. */
size_t brook_headers_count(const brook_headers_t *headers);
/** The idx'th header: name (NUL-terminated) and value (NULL = null value).
 *  (transfer none, valid while the record is being processed) */
bool brook_headers_get(const brook_headers_t *headers, size_t idx, const char **name, const void **value,
                       size_t *value_len);
/** The last header called `name`; false when there is none. */
bool brook_headers_last(const brook_headers_t *headers, const char *name, const void **value, size_t *value_len);
/** Appends a header (name and value are copied into scratch memory). Headers
 *  are shared by the records forwarded from one input record, as in Kafka. */
void brook_headers_add(brook_headers_t *headers, const char *name, const void *value, size_t value_len);
/** Removes every header called `name`. */
void brook_headers_remove(brook_headers_t *headers, const char *name);

/* ---- scratch memory (see the note at the top) ---- */

/** n bytes, 8-aligned, zeroed. (transfer none: freed by the runtime) @locality stream thread */
void *brook_scratch_alloc(size_t n);
/** Copies of a string / bytes / a number in scratch memory. */
char *brook_scratch_strdup(const char *s);
char *brook_scratch_strndup(const char *s, size_t n);
void *brook_scratch_memdup(const void *p, size_t n);
char *brook_scratch_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t *brook_scratch_i64(int64_t v);
int32_t *brook_scratch_i32(int32_t v);
double *brook_scratch_double(double v);
/** Hands a value owned by `serde` (e.g. from brook_serde_deserialize) to the
 *  scratch arena: it is freed with brook_serde_free_value when the arena is. */
void brook_scratch_own(brook_serde_t *serde, void *value);
/** Hands any allocation with its free function to the scratch arena. */
void brook_scratch_own_full(void *p, void (*free_fn)(void *));

/* ---- the processor API ---- */

/** A processor: one instance per task. init creates the instance's state
 *  (*statep, may stay NULL) and may fetch stores and schedule punctuators;
 *  a non-zero return fails the task with errstr. process handles one record;
 *  failures are reported with brook_ctx_fail. close frees the state. `opaque`
 *  is the def's, shared by every instance (read-only while the app runs). */
typedef struct brook_processor_def {
  brook_err_t (*init)(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                      size_t errstr_size);
  void (*process)(brook_processor_context_t *ctx, void *state, const brook_record_t *rec);
  void (*close)(brook_processor_context_t *ctx, void *state);
  void *opaque;
  /** Frees opaque when the topology is destroyed (may be NULL). */
  void (*opaque_free)(void *opaque);
} brook_processor_def_t;

/** Forwards a record to every child of the current node (depth first: the
 *  children have processed it when this returns). The record is copied; its
 *  pointers must stay valid until the input record is done (scratch memory or
 *  the input's own). @locality stream thread, inside process/punctuate */
void brook_ctx_forward(brook_processor_context_t *ctx, const brook_record_t *rec);
/** Forwards to the child called `child` only; fails the task if there is no
 *  such child. */
void brook_ctx_forward_to(brook_processor_context_t *ctx, const char *child, const brook_record_t *rec);

/** The stores this processor was connected to, by name. NULL (and the task
 *  fails with a message naming the processor) if the store is not connected
 *  to this processor or is of another kind. (transfer none, valid until close) */
brook_kv_store_t *brook_ctx_kv_store(brook_processor_context_t *ctx, const char *store);
brook_window_store_t *brook_ctx_window_store(brook_processor_context_t *ctx, const char *store);
brook_session_store_t *brook_ctx_session_store(brook_processor_context_t *ctx, const char *store);

typedef enum brook_punctuation_type {
  BROOK_PUNCTUATE_STREAM_TIME, /**< fires as the task's stream time passes each multiple of the interval */
  BROOK_PUNCTUATE_WALL_CLOCK,  /**< fires every interval of wall-clock time (checked between polls) */
} brook_punctuation_type_t;

/** A punctuator: `timestamp` is the stream time or the wall-clock time at which
 *  it fires. It may forward (records get `timestamp` unless set otherwise). */
typedef void (*brook_punctuator_fn)(brook_processor_context_t *ctx, void *state, int64_t timestamp);

/** Schedules a punctuator every interval_ms (>= 1). Stream time: aligned to 0,
 *  first fires with the first record, then each time stream time reaches the
 *  next multiple; missed multiples fire once. Wall clock: first fires interval_ms
 *  after scheduling. Returns an id for brook_ctx_cancel (> 0). Call from init
 *  or process. */
int64_t brook_ctx_schedule(brook_processor_context_t *ctx, int64_t interval_ms, brook_punctuation_type_t type,
                           brook_punctuator_fn fn, void *state);
void brook_ctx_cancel(brook_processor_context_t *ctx, int64_t id);

/** Context of the input record being processed. In a punctuator or a cache
 *  flush: topic NULL, partition -1, offset -1, timestamp = the punctuation
 *  time. (transfer none) */
const char *brook_ctx_topic(const brook_processor_context_t *ctx);
int32_t brook_ctx_partition(const brook_processor_context_t *ctx);
int64_t brook_ctx_offset(const brook_processor_context_t *ctx);
int64_t brook_ctx_timestamp(const brook_processor_context_t *ctx);

/** "<sub-topology>_<partition>", e.g. "0_3". (transfer none, valid until close) */
const char *brook_ctx_task_id(const brook_processor_context_t *ctx);
/** The application.id. */
const char *brook_ctx_application_id(const brook_processor_context_t *ctx);
/** The current node's name. */
const char *brook_ctx_node_name(const brook_processor_context_t *ctx);
/** Largest record timestamp the task has processed, -1 before the first. */
int64_t brook_ctx_stream_time(const brook_processor_context_t *ctx);
/** The runtime's wall clock, ms (a test driver may move it by hand). */
int64_t brook_ctx_wall_clock(const brook_processor_context_t *ctx);
/** The application's default.key.serde / default.value.serde, NULL when not
 *  set. (transfer none, valid until close) */
brook_serde_t *brook_ctx_default_key_serde(const brook_processor_context_t *ctx);
brook_serde_t *brook_ctx_default_value_serde(const brook_processor_context_t *ctx);
/** Asks for a commit as soon as the current record is done. */
void brook_ctx_commit(brook_processor_context_t *ctx);
/** Fails the task: the stream thread stops processing, reports the error
 *  (state ERROR, the message through the log and brook_app_error) and shuts
 *  down without committing what was not committed. */
void brook_ctx_fail(brook_processor_context_t *ctx, brook_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- building a topology by hand ---- */

/** A timestamp extractor: returns the record's event time. `rec` holds the
 *  deserialized key/value and the record's own timestamp; partition_time is the
 *  largest timestamp seen on that partition so far (-1 at first). A negative
 *  result drops the record with a warning (Kafka's LogAndSkipOnInvalidTimestamp). */
typedef int64_t (*brook_timestamp_extractor_fn)(const brook_record_t *rec, int64_t partition_time,
                                                void *opaque);

/** Chooses the output topic of a record for a dynamic sink. (transfer none:
 *  a constant or scratch memory) */
typedef const char *(*brook_topic_extractor_fn)(const brook_record_t *rec, void *opaque);

typedef struct brook_source_opts {
  const char *const *topics; /**< NULL-terminated list of topics, or NULL with pattern */
  const char *pattern;       /**< a regular expression (PCRE as librdkafka's "^" subscriptions) */
  /** (transfer none: the topology takes its own references). NULL = the
   *  application's default.key.serde / default.value.serde. */
  brook_serde_t *key_serde;
  brook_serde_t *value_serde;
  brook_timestamp_extractor_fn timestamp_extractor; /**< NULL = the record's timestamp */
  void *timestamp_extractor_opaque;
  /** Topics are internal (repartition): the runtime prefixes them with
   *  "<application.id>-" and creates them. */
  bool internal;
} brook_source_opts_t;

typedef struct brook_sink_opts {
  const char *topic; /**< fixed topic, or NULL with topic_extractor */
  brook_topic_extractor_fn topic_extractor;
  void *topic_extractor_opaque;
  brook_serde_t *key_serde; /**< (transfer none); NULL = the default serde */
  brook_serde_t *value_serde;
  bool internal; /**< an internal (repartition) topic, prefixed like sources */
  /** Internal topics: partition count, 0 = as many as the upstream
   *  sub-topology's source topics (the largest). */
  int32_t partitions;
} brook_sink_opts_t;

typedef enum brook_store_kind {
  BROOK_STORE_KV,
  BROOK_STORE_WINDOW,
  BROOK_STORE_SESSION,
} brook_store_kind_t;

typedef struct brook_store_def {
  const char *name; /**< unique in the topology; changelog "<application.id>-<name>-changelog" */
  brook_store_kind_t kind;
  bool timestamped; /**< KV: values carry their timestamp (DSL aggregates use this) */
  bool in_memory;
  bool logging_disabled; /**< no changelog (state is lost with the machine) */
  bool caching_disabled; /**< no record cache even with statestore.cache.max.bytes > 0 */
  /* window and session stores */
  int64_t retention_ms;
  int64_t window_size_ms;
  int64_t segment_interval_ms;
  bool retain_duplicates;
} brook_store_def_t;

/** A new, empty topology (one reference). (transfer full) @locality any */
brook_topology_t *brook_topology_new(void);
brook_topology_t *brook_topology_ref(brook_topology_t *topology);
/** NULL is a no-op. */
void brook_topology_unref(brook_topology_t *topology);

/** Adds nodes. Names are unique across the topology; parents must exist
 *  already (so a topology cannot contain a cycle). Errors (duplicate or unknown
 *  name, no topics, bad pattern, a sink with both or neither of topic and
 *  extractor, unknown store) return BROOK_ERR__BAD_CONFIG with a message naming
 *  the node; the first error is also kept by the topology and reported again by
 *  brook_topology_error() and brook_app_new(). Serdes are (transfer none).
 *  @locality the building thread */
brook_err_t brook_topology_add_source(brook_topology_t *topology, const char *name, const brook_source_opts_t *opts,
                                      char *errstr, size_t errstr_size);
/** parents: NULL-terminated. def is copied; def->opaque is owned by the topology
 *  from here on when def->opaque_free is set. */
brook_err_t brook_topology_add_processor(brook_topology_t *topology, const char *name,
                                         const brook_processor_def_t *def, const char *const *parents,
                                         char *errstr, size_t errstr_size);
brook_err_t brook_topology_add_sink(brook_topology_t *topology, const char *name, const brook_sink_opts_t *opts,
                                    const char *const *parents, char *errstr, size_t errstr_size);
/** Adds a store and connects it to `processors` (NULL-terminated, may be empty;
 *  more with brook_topology_connect_store). def is copied. */
brook_err_t brook_topology_add_store(brook_topology_t *topology, const brook_store_def_t *def,
                                     const char *const *processors, char *errstr, size_t errstr_size);
brook_err_t brook_topology_connect_store(brook_topology_t *topology, const char *store, const char *processor,
                                         char *errstr, size_t errstr_size);

/** The first error met while building, or NULL. (transfer none) */
const char *brook_topology_error(const brook_topology_t *topology);

/** The topology as Kafka Streams' Topology.describe().toString() prints it:
 *
 *   Topologies:
 *      Sub-topology: 0
 *       Source: KSTREAM-SOURCE-0000000000 (topics: [text-lines])
 *         --> KSTREAM-FLATMAPVALUES-0000000001
 *       Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])
 *         --> KSTREAM-KEY-SELECT-0000000002
 *         <-- KSTREAM-SOURCE-0000000000
 *       ...
 *       Sink: KSTREAM-SINK-0000000004 (topic: counts-repartition)
 *         <-- KSTREAM-FILTER-0000000005
 *
 *     Sub-topology: 1
 *       ...
 *
 *  Internal topics appear without the application.id prefix, as in Kafka.
 *  (transfer full: free with brook_free) */
char *brook_topology_describe(const brook_topology_t *topology);

/** Frees memory the library handed out as (transfer full) without a specific
 *  free function. NULL is a no-op. */
void brook_free(void *p);

#endif
