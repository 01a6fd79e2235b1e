/*
 * conf.h — broker and topic configuration: one table per scope.
 *
 * Design note
 *  - Every property brook knows is one row of a table (conf.c): Kafka's name,
 *    type, default, range or allowed values, documentation, and where its typed
 *    value lives (offsetof into brook_bconf_t / brook_tconf_t). Parsing,
 *    validation, DescribeConfigs and docs/configuration.md are all derived from
 *    the rows, so they cannot disagree.
 *  - Values are kept twice: as the strings the user set (what DescribeConfigs
 *    reports and what is persisted) and as the typed struct the hot path reads.
 *    The struct is always recomputed from strings by conf_resolve().
 *  - Alias groups (log.retention.hours/minutes/ms, log.roll.hours/ms,
 *    broker.id/node.id) share one typed field; rows are ordered coarse to fine,
 *    and the finest explicitly set row wins, as in Kafka.
 *  - A topic's effective value: topic override, else the broker's synonym
 *    (server.properties), else the default.
 * @locality any; tables are immutable, settings structs are owned by callers.
 */
#ifndef BROOK_CONF_H
#define BROOK_CONF_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "brook_err.h"

typedef enum conf_type {
  CONF_BOOL,
  CONF_INT,    /* int32 */
  CONF_LONG,   /* int64 */
  CONF_DOUBLE,
  CONF_STRING, /* char* (owned by the settings struct) */
  CONF_ENUM,   /* int: index into the allowed values */
  CONF_FLAGS,  /* int: bitmask of the allowed values, comma-separated list */
} conf_type_t;

enum {
  CONF_BROKER = 1,   /* a broker property (server.properties) */
  CONF_TOPIC = 2,    /* a topic property (CreateTopics configs, AlterConfigs) */
  CONF_IGNORED = 4,  /* accepted for compatibility with stock Kafka files; no effect */
  CONF_READONLY = 8, /* cannot be changed at runtime */
};

typedef struct conf_prop {
  const char *name;
  conf_type_t type;
  const char *def;     /* default as text, NULL = null */
  int64_t min, max;    /* numeric bounds (inclusive) */
  const char *allowed; /* "delete,compact" for ENUM/FLAGS */
  int flags;
  size_t off;          /* offsetof into the settings struct; SIZE_MAX = no field */
  int64_t scale;       /* multiplier into the field (hours -> ms); 0 = 1 */
  const char *synonym; /* topic row: the broker property providing its default */
  const char *doc;
} conf_prop_t;

/** Cleanup policy bits (cleanup.policy is a FLAGS list). */
enum { BROOK_CLEANUP_DELETE = 1, BROOK_CLEANUP_COMPACT = 2 };
/** compression.type values (ENUM index order of the row). */
enum { BROOK_COMPRESSION_UNCOMPRESSED = 0, BROOK_COMPRESSION_ZSTD, BROOK_COMPRESSION_LZ4,
       BROOK_COMPRESSION_SNAPPY, BROOK_COMPRESSION_GZIP, BROOK_COMPRESSION_PRODUCER };
enum { BROOK_TS_CREATE_TIME = 0, BROOK_TS_LOG_APPEND_TIME = 1 };

/** Typed per-topic settings. */
typedef struct brook_tconf {
  int cleanup_policy;
  int compression_type;
  int64_t segment_bytes;
  int64_t segment_ms;
  int64_t retention_ms;
  int64_t retention_bytes;
  int64_t max_message_bytes;
  int64_t min_insync_replicas;
  int64_t index_interval_bytes;
  int64_t segment_index_bytes;
  int64_t flush_messages;
  int64_t flush_ms;
  int message_timestamp_type;
  int64_t message_timestamp_difference_max_ms;
  int64_t delete_retention_ms;
  int64_t min_compaction_lag_ms;
  int64_t max_compaction_lag_ms;
  double min_cleanable_dirty_ratio;
  int64_t file_delete_delay_ms;
} brook_tconf_t;

/** Typed broker settings. */
typedef struct brook_bconf {
  char *listeners;
  char *advertised_listeners;
  int64_t node_id;
  char *log_dirs;
  int64_t num_partitions;
  int64_t default_replication_factor;
  bool auto_create_topics_enable;
  bool delete_topic_enable;
  int64_t log_retention_check_interval_ms;
  int64_t socket_request_max_bytes;
  int64_t connections_max_idle_ms;
  int64_t max_connections;
  int64_t num_io_threads;
  int64_t offsets_topic_num_partitions;
  int64_t offsets_topic_segment_bytes;
  int64_t offsets_retention_ms;
  int64_t offsets_retention_check_interval_ms;
  int64_t offset_metadata_max_bytes;
  int64_t group_initial_rebalance_delay_ms;
  int64_t group_min_session_timeout_ms;
  int64_t group_max_session_timeout_ms;
  int64_t group_max_size;
  int64_t producer_id_expiration_ms;
  /* defaults of topic settings (log.* synonyms) */
  brook_tconf_t topic;
} brook_bconf_t;

extern const conf_prop_t brook_broker_props[];
extern const conf_prop_t brook_topic_props[];

/** Finds a row by name in a table (NULL-terminated). */
const conf_prop_t *conf_find(const conf_prop_t *table, const char *name);

/** Checks one value against its row; fills errstr naming the property. */
brook_err_t conf_check(const conf_prop_t *prop, const char *value, char *errstr, size_t errstr_size);

/** Rebuilds the broker struct from the explicitly set strings (name -> value).
 *  Unknown names or bad values are errors naming them. Frees old strings in bconf. */
brook_err_t conf_resolve_broker(GHashTable *set, brook_bconf_t *bconf, char *errstr, size_t errstr_size);
void conf_bconf_free(brook_bconf_t *bconf);

/** Topic struct from broker defaults + topic overrides (name -> value). */
brook_err_t conf_resolve_topic(const brook_bconf_t *bconf, GHashTable *overrides, brook_tconf_t *tconf,
                               char *errstr, size_t errstr_size);

/** The value a topic property has and where it came from (DescribeConfigs).
 *  source: 1 = DYNAMIC_TOPIC_CONFIG, 4 = STATIC_BROKER_CONFIG, 5 = DEFAULT_CONFIG.
 *  Returns a string owned by the caller (g_free); NULL for a null value. */
char *conf_topic_value(const conf_prop_t *prop, GHashTable *broker_set, GHashTable *overrides, int *source);

/** Kafka's DescribeConfigs ConfigType for a row (1 BOOLEAN, 2 STRING, 3 INT, 5 LONG, 6 DOUBLE, 7 LIST). */
int conf_kafka_type(const conf_prop_t *prop);

/** Reads a Java .properties file into set (name -> value); errors name file and line. */
brook_err_t conf_load_properties(const char *path, GHashTable *set, char *errstr, size_t errstr_size);

/** Writes the configuration reference (Markdown) generated from both tables. */
void conf_write_reference(FILE *out);

#endif
