/*
 * streams_int.h — what the parts of the streams runtime share internally:
 * the typed configuration (conf.c), logging, and the app hooks the test
 * driver uses. Not installed; not for users.
 *
 * Files:
 *   conf.c        brook_app_conf_* and the config table (streams_props)
 *   client.c      brook_client.h (admin, producer, reader)
 *   topology.c    brook_topology.h building + describe (topology_int.h)
 *   task.c        one task: processor instances, stores, punctuation (task.h)
 *   scratch.c     per-record scratch arena + headers (task.h)
 *   thread.c      a stream thread: consumer, producer, restore, commit (thread.h)
 *   app.c         brook_streams.h: lifecycle, embedded broker, internal topics
 *   test_driver.c brook_test_driver.h
 */
#ifndef BROOK_STREAMS_INT_H
#define BROOK_STREAMS_INT_H

#include <glib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "brook_serde.h"
#include "brook_streams.h"

/** processing.guarantee */
enum { STREAMS_AT_LEAST_ONCE = 0, STREAMS_EXACTLY_ONCE_V2 = 1 };
/** default.deserialization.exception.handler */
enum { STREAMS_DESER_LOG_AND_FAIL = 0, STREAMS_DESER_LOG_AND_CONTINUE = 1 };
/** default.production.exception.handler */
enum { STREAMS_PRODUCTION_FAIL = 0, STREAMS_PRODUCTION_CONTINUE = 1 };

/** The log callback and its opaque, as set on the conf. */
typedef struct streams_log {
  void (*cb)(int level, const char *ctx, const char *msg, void *opaque);
  void *opaque;
} streams_log_t;

/** Typed configuration, resolved from the set strings and the table. Every
 *  string is owned by the struct (streams_conf_clear frees them). */
typedef struct streams_conf {
  char *application_id;          /* required */
  char *bootstrap_servers;       /* NULL = embedded broker */
  char *client_id;               /* NULL = "<application.id>" */
  int num_stream_threads;        /* 1 */
  int64_t commit_interval_ms;    /* 30000 (at_least_once) */
  char *state_dir;               /* "/tmp/kafka-streams" */
  int processing_guarantee;      /* STREAMS_AT_LEAST_ONCE */
  int replication_factor;        /* -1 = broker default */
  brook_serde_t *default_key_serde;   /* NULL when default.key.serde is null */
  brook_serde_t *default_value_serde;
  int64_t statestore_cache_max_bytes; /* 10485760 */
  int64_t rocksdb_total_memory_bytes; /* brook-specific, 0 = state lib default */
  int64_t poll_ms;               /* 100 */
  int64_t max_poll_records;      /* 1000: records processed per poll round */
  int64_t repartition_purge_interval_ms; /* 30000: DeleteRecords on consumed repartition records */
  int deserialization_handler;   /* STREAMS_DESER_* */
  int production_handler;        /* STREAMS_PRODUCTION_* */
  int64_t session_timeout_ms;    /* consumer.session.timeout.ms default: 45000 */
  /* "consumer.*" / "producer.*" / "restore.consumer.*" / "admin.*" pass-through:
   * librdkafka name -> value (prefix stripped), applied after brook's own. */
  GHashTable *consumer_props;
  GHashTable *producer_props;
  GHashTable *admin_props;
  streams_log_t log;
} streams_conf_t;

/** Resolves conf into *out (zeroed first). Missing application.id, bad values,
 *  unsupported values (exactly_once_v2 until transactions exist) are
 *  BROOK_ERR__BAD_CONFIG naming the property. @locality any */
brook_err_t streams_conf_resolve(const brook_app_conf_t *conf, streams_conf_t *out, char *errstr,
                                 size_t errstr_size);
void streams_conf_clear(streams_conf_t *conf);

/** Writes the configuration reference (Markdown) generated from the table. */
void streams_conf_write_reference(FILE *out);

/** True when `name` was set explicitly (not defaulted). */
bool streams_conf_is_set(const brook_app_conf_t *conf, const char *name);

/** A serde by config name: "string", "bytes", "i32"/"integer", "i64"/"long",
 *  "double", "void", "json", or Kafka's class names
 *  ("org.apache.kafka.common.serialization.Serdes$StringSerde", ...).
 *  NULL with errstr for unknown names. (transfer full) */
brook_serde_t *streams_serde_by_name(const char *name, char *errstr, size_t errstr_size);

/** Logs through conf->log (default: WARNING and worse to stderr as
 *  "brook <LEVEL> [ctx] msg"). @locality any */
void streams_log(const streams_log_t *log, int level, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void streams_logv(const streams_log_t *log, int level, const char *ctx, const char *fmt, va_list ap);

/* ---- app hooks for the test driver (app.c) ---- */

/** Replaces the wall clock used for wall-clock punctuation (not for commit
 *  intervals or timeouts). Set before brook_app_start. @locality any */
void app_set_wall_clock(brook_app_t *app, int64_t (*now_ms)(void *opaque), void *opaque);

/** Waits until every stream thread has run its wall-clock punctuators with a
 *  clock reading >= t (threads check at least every poll.ms).
 *  BROOK_ERR__TIMED_OUT after timeout_ms. */
brook_err_t app_wait_wall_clock(brook_app_t *app, int64_t t, int timeout_ms, char *errstr, size_t errstr_size);

/** Waits for the state to become RUNNING (or ERROR/NOT_RUNNING: _STATE). */
brook_err_t app_wait_running(brook_app_t *app, int timeout_ms, char *errstr, size_t errstr_size);

/** The resolved configuration. (transfer none, valid until destroy) */
const streams_conf_t *app_conf(const brook_app_t *app);

/** Full name of an internal topic: "<application.id>-<name>". (transfer full, g_free) */
char *app_internal_topic(const char *application_id, const char *name);

#endif
