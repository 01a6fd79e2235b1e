/*
 * brook_dsl.h — the streams DSL: KStream / KTable style operators in C.
 *
 *   brook_builder_t *b = brook_builder_new();
 *   brook_stream_t *lines = brook_builder_stream(b, "text-lines", brook_serde_string_new(), brook_serde_string_new());
 *   brook_stream_t *words = brook_stream_flat_map_values(lines, split_words, NULL);
 *   brook_table_t *counts = brook_grouped_count(brook_stream_group_by(words, word_as_key, NULL, brook_serde_string_new(), brook_serde_string_new()), "counts");
 *   brook_stream_to(brook_table_to_stream(counts), "word-counts", brook_serde_string_new(), brook_serde_i64_new());
 *   brook_topology_t *topology = brook_builder_build(b, errstr, sizeof errstr);
 *
 * Every operator adds processors to the builder's topology (brook_topology.h)
 * named as Kafka Streams names them ("KSTREAM-FILTER-0000000003"), so
 * brook_topology_describe() reads like Topology.describe().
 *
 * Values. Keys and values are `const void *` typed by the serdes in force:
 * a source's serdes, then whatever the callbacks return. Operators that
 * need bytes (to, group_by's repartition, aggregations, repartition) take
 * serdes; NULL means "the serde known for this stream", which is the source's
 * until an operator changes the key (map, select_key, flat_map, group_by) or
 * value (map, map_values, flat_map*), and after that the application's
 * default.key.serde / default.value.serde. A serde that is needed and missing
 * everywhere fails brook_app_new with a message naming the operator.
 *
 * Memory. Callbacks get the record borrowed for the call. What they return
 * (keys, values) must live until the input record is done: point into the
 * input record, return a constant, or allocate with brook_scratch_*()
 * (brook_topology.h); the runtime frees scratch memory after each record.
 *
 * Ownership. Serde arguments are (transfer full): the DSL takes over the
 * caller's reference, so brook_builder_stream(b, "t", brook_serde_string_new(), ...)
 * leaks nothing; pass brook_serde_ref(s) to keep using `s`. Stream, table and
 * grouped handles belong to the builder (freed with it) and may be used any
 * number of times (a stream used twice fans out). Callback `opaque` pointers
 * are (transfer none) and must outlive the application.
 *
 * Errors. Operators never fail on the spot: a misuse (a NULL callback, a
 * store name used twice, an empty topic name) is recorded with the operator's
 * name; brook_builder_build returns NULL with the first such message.
 *
 * Threads: build on one thread. Callbacks run on stream threads, possibly on
 * several at once (one per task), so shared opaque data needs its own locking.
 */
#ifndef BROOK_DSL_H
#define BROOK_DSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brook_serde.h"
#include "brook_topology.h"

typedef struct brook_builder brook_builder_t;
typedef struct brook_stream brook_stream_t;
typedef struct brook_table brook_table_t;
typedef struct brook_grouped brook_grouped_t;
typedef struct brook_branches brook_branches_t;

/* ---- callbacks ---- */

/** filter / filter_not / split branches. */
typedef bool (*brook_predicate_fn)(const brook_record_t *rec, void *opaque);
/** map_values, table map_values: the new value (NULL = null). */
typedef const void *(*brook_value_mapper_fn)(const brook_record_t *rec, void *opaque);
/** select_key, group_by: the new key (NULL = null). */
typedef const void *(*brook_key_selector_fn)(const brook_record_t *rec, void *opaque);
/** map: set *key and *value. */
typedef void (*brook_mapper_fn)(const brook_record_t *rec, const void **key, const void **value, void *opaque);

/** flat_map / flat_map_values output: call brook_emit / brook_emit_value any
 *  number of times inside the callback. In flat_map_values the input key is
 *  kept: brook_emit's key argument is ignored there. */
typedef struct brook_emitter brook_emitter_t;
void brook_emit(brook_emitter_t *out, const void *key, const void *value);
void brook_emit_value(brook_emitter_t *out, const void *value);
typedef void (*brook_flat_mapper_fn)(const brook_record_t *rec, brook_emitter_t *out, void *opaque);

/** peek / foreach. */
typedef void (*brook_foreach_fn)(const brook_record_t *rec, void *opaque);

/** reduce: the new aggregate from the current one and the record's value. */
typedef const void *(*brook_reducer_fn)(const void *aggregate, const brook_record_t *rec, void *opaque);
/** aggregate: the initial aggregate for a new key. */
typedef const void *(*brook_initializer_fn)(void *opaque);
/** aggregate: the new aggregate from the current one and the record. */
typedef const void *(*brook_aggregator_fn)(const void *aggregate, const brook_record_t *rec, void *opaque);

/** print: writes one line for a record into `out` (brook_scratch memory or a
 *  constant); NULL = the default "key, value" made with the serdes. */
typedef const char *(*brook_print_fn)(const brook_record_t *rec, void *opaque);

/* ---- builder ---- */

/** (transfer full) @locality any */
brook_builder_t *brook_builder_new(void);
/** Frees the builder and every handle it gave out (not the topology it built). NULL is a no-op. */
void brook_builder_destroy(brook_builder_t *builder);

/** The topology, or NULL with the first recorded error. A new reference
 *  (transfer full: brook_topology_unref). The builder can be destroyed after. */
brook_topology_t *brook_builder_build(brook_builder_t *builder, char *errstr, size_t errstr_size);

/** Options of a source. */
typedef struct brook_consumed {
  brook_serde_t *key_serde; /**< (transfer full), NULL = default */
  brook_serde_t *value_serde;
  brook_timestamp_extractor_fn timestamp_extractor; /**< NULL = record timestamp */
  void *timestamp_extractor_opaque;
  const char *name; /**< processor name, NULL = generated */
} brook_consumed_t;

/** A stream of one topic / several topics (NULL-terminated) / every topic
 *  matching a regular expression. */
brook_stream_t *brook_builder_stream(brook_builder_t *builder, const char *topic, brook_serde_t *key_serde,
                                     brook_serde_t *value_serde);
brook_stream_t *brook_builder_stream_topics(brook_builder_t *builder, const char *const *topics,
                                            const brook_consumed_t *consumed);
brook_stream_t *brook_builder_stream_pattern(brook_builder_t *builder, const char *pattern,
                                             const brook_consumed_t *consumed);

/** A table of a topic, materialized into key-value store `store` (NULL =
 *  generated name), its changelog "<application.id>-<store>-changelog". */
brook_table_t *brook_builder_table(brook_builder_t *builder, const char *topic, brook_serde_t *key_serde,
                                   brook_serde_t *value_serde, const char *store);

/** Adds a store for processors (brook_stream_process). def is copied. */
void brook_builder_add_store(brook_builder_t *builder, const brook_store_def_t *def);

/* ---- stateless stream operators: each returns a new stream ---- */

brook_stream_t *brook_stream_filter(brook_stream_t *stream, brook_predicate_fn pred, void *opaque);
brook_stream_t *brook_stream_filter_not(brook_stream_t *stream, brook_predicate_fn pred, void *opaque);
brook_stream_t *brook_stream_map(brook_stream_t *stream, brook_mapper_fn mapper, void *opaque);
brook_stream_t *brook_stream_map_values(brook_stream_t *stream, brook_value_mapper_fn mapper, void *opaque);
brook_stream_t *brook_stream_flat_map(brook_stream_t *stream, brook_flat_mapper_fn mapper, void *opaque);
brook_stream_t *brook_stream_flat_map_values(brook_stream_t *stream, brook_flat_mapper_fn mapper, void *opaque);
brook_stream_t *brook_stream_select_key(brook_stream_t *stream, brook_key_selector_fn selector, void *opaque);
/** Calls fn for each record and passes it on unchanged. */
brook_stream_t *brook_stream_peek(brook_stream_t *stream, brook_foreach_fn fn, void *opaque);
/** Terminal: calls fn for each record. */
void brook_stream_foreach(brook_stream_t *stream, brook_foreach_fn fn, void *opaque);
/** Records of both streams. */
brook_stream_t *brook_stream_merge(brook_stream_t *stream, brook_stream_t *other);
/** Terminal: prints "[label]: key, value" lines to stdout (label NULL = the
 *  node name), as Kafka's Printed.toSysOut. fn may be NULL. */
void brook_stream_print(brook_stream_t *stream, const char *label, brook_print_fn fn, void *opaque);

/** Sets the serdes known for this stream from here on (transfer full; NULL
 *  leaves one unchanged). Adds no processor. Returns the same stream. */
brook_stream_t *brook_stream_with_serdes(brook_stream_t *stream, brook_serde_t *key_serde,
                                         brook_serde_t *value_serde);

/** split / branch: each record goes to the first branch whose predicate
 *  holds, else to the default branch (if any), else nowhere. Branch names are
 *  "<split name><branch name>" as Kafka's Branched. */
brook_branches_t *brook_stream_split(brook_stream_t *stream, const char *name);
brook_stream_t *brook_branches_branch(brook_branches_t *branches, brook_predicate_fn pred, void *opaque,
                                      const char *name);
brook_stream_t *brook_branches_default(brook_branches_t *branches, const char *name);

/** Terminal: writes to a topic. Serdes (transfer full) NULL = known/default. */
void brook_stream_to(brook_stream_t *stream, const char *topic, brook_serde_t *key_serde,
                     brook_serde_t *value_serde);
/** Terminal: writes each record to the topic extractor's choice. */
void brook_stream_to_dynamic(brook_stream_t *stream, brook_topic_extractor_fn extractor, void *opaque,
                             brook_serde_t *key_serde, brook_serde_t *value_serde);

/** Through an internal topic "<application.id>-<name>-repartition" (name NULL
 *  = generated), re-partitioned by the current key. partitions 0 = as the
 *  upstream sources. Serdes (transfer full) NULL = known/default. */
brook_stream_t *brook_stream_repartition(brook_stream_t *stream, const char *name, brook_serde_t *key_serde,
                                         brook_serde_t *value_serde, int32_t partitions);

/** Runs a processor (brook_topology.h) on each record; what it forwards is the
 *  new stream. stores: NULL-terminated names added with brook_builder_add_store.
 *  def is copied. */
brook_stream_t *brook_stream_process(brook_stream_t *stream, const brook_processor_def_t *def,
                                     const char *const *stores);

/* ---- grouping and aggregation ---- */

/** Groups by the current key. Serdes (transfer full) NULL = known/default. If
 *  the key was changed upstream (map, select_key, flat_map), records go
 *  through a repartition topic first, as group_by. */
brook_grouped_t *brook_stream_group_by_key(brook_stream_t *stream, brook_serde_t *key_serde,
                                           brook_serde_t *value_serde);
/** Groups by a new key: always through a repartition topic named after the
 *  aggregation's store: "<application.id>-<store>-repartition". Records whose
 *  new key is null are dropped (Kafka does the same). */
brook_grouped_t *brook_stream_group_by(brook_stream_t *stream, brook_key_selector_fn selector, void *opaque,
                                       brook_serde_t *key_serde, brook_serde_t *value_serde);

/** Store options of an aggregation. */
typedef struct brook_materialized {
  const char *store;        /**< store name; NULL = generated */
  brook_serde_t *key_serde; /**< (transfer full) NULL = grouped's */
  brook_serde_t *value_serde; /**< aggregate serde: required for aggregate unless default.value.serde fits */
  bool in_memory;
  bool logging_disabled;
  bool caching_disabled;
} brook_materialized_t;

/** Counts records per key into a table of int64_t values (serde i64). Records
 *  with a null key or value are skipped, as Kafka. */
brook_table_t *brook_grouped_count(brook_grouped_t *grouped, const char *store);
brook_table_t *brook_grouped_count_with(brook_grouped_t *grouped, const brook_materialized_t *mat);
/** Combines values of a key; the first value is the initial aggregate. */
brook_table_t *brook_grouped_reduce(brook_grouped_t *grouped, brook_reducer_fn reducer, void *opaque,
                                    const char *store);
brook_table_t *brook_grouped_reduce_with(brook_grouped_t *grouped, brook_reducer_fn reducer, void *opaque,
                                         const brook_materialized_t *mat);
/** Folds records into an aggregate of another type, serialized with
 *  agg_serde (transfer full). */
brook_table_t *brook_grouped_aggregate(brook_grouped_t *grouped, brook_initializer_fn init,
                                       brook_aggregator_fn adder, void *opaque, brook_serde_t *agg_serde,
                                       const char *store);
brook_table_t *brook_grouped_aggregate_with(brook_grouped_t *grouped, brook_initializer_fn init,
                                            brook_aggregator_fn adder, void *opaque,
                                            const brook_materialized_t *mat);

/* ---- tables ---- */

/** Keeps rows whose value passes; a row that stops passing is deleted
 *  downstream (a null value is forwarded), as KTable.filter. */
brook_table_t *brook_table_filter(brook_table_t *table, brook_predicate_fn pred, void *opaque);
brook_table_t *brook_table_filter_not(brook_table_t *table, brook_predicate_fn pred, void *opaque);
/** Maps row values (the mapper sees rec->value; old values are mapped too
 *  when known). value_serde (transfer full) for the new values, NULL = default. */
brook_table_t *brook_table_map_values(brook_table_t *table, brook_value_mapper_fn mapper, void *opaque,
                                      brook_serde_t *value_serde);
/** The table's update stream: one record per update, value NULL for deletes.
 *  Updates forwarded by a record-cache flush carry no headers (the cache keeps
 *  values, not headers); without a cache they keep the input record's. */
brook_stream_t *brook_table_to_stream(brook_table_t *table);
/** The store backing the table (NULL if the table is not materialized). (transfer none) */
const char *brook_table_store_name(const brook_table_t *table);

#endif
