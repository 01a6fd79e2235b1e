/*
 * brook_streams.h — running a topology: the stream-processing application.
 *
 *   brook_app_conf_t *conf = brook_app_conf_new();
 *   brook_app_conf_set(conf, "application.id", "wordcount", errstr, sizeof errstr);
 *   brook_app_t *app = brook_app_new(topology, conf, errstr, sizeof errstr);
 *   brook_app_conf_destroy(conf);
 *   return brook_app_run(app);   // until SIGINT/SIGTERM, then a clean shutdown
 *
 * Configuration uses Kafka Streams' property names and defaults (the table is
 * in streams/conf.c; docs/streams-configuration.md is generated from it).
 * "consumer.*" and "producer.*" properties pass through to librdkafka; a bare
 * librdkafka property name is an error (say which client it is for).
 *
 * Embedded broker: with no bootstrap.servers the application starts the bundled
 * broker in-process (log under "<state.dir>/<application.id>/broker") when it is
 * created, so brook_app_bootstrap_servers() can be used to feed it before
 * brook_app_start(). With bootstrap.servers it uses that cluster.
 *
 * States (as Kafka Streams' KafkaStreams.State):
 *
 *   CREATED ──start──▶ REBALANCING ◀──▶ RUNNING
 *      │                   │               │
 *      │                   └──── close ────┴──▶ PENDING_SHUTDOWN ──▶ NOT_RUNNING
 *      └──close──▶ NOT_RUNNING
 *   any stream thread failing ──▶ ERROR (the other threads shut down too)
 *
 * Threads: the app's functions may be called from any thread except the stream
 * threads, unless noted. The state listener runs on whichever thread makes the
 * transition (a stream thread or the caller of start/close).
 */
#ifndef BROOK_STREAMS_H
#define BROOK_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blog.h" /* BROOK_LOG_* levels, shared with the broker */
#include "brook_err.h"
#include "brook_topology.h"

typedef struct brook_app brook_app_t;
typedef struct brook_app_conf brook_app_conf_t;

/* ---- configuration ---- */

/** (transfer full) Every property at its default. @locality any */
brook_app_conf_t *brook_app_conf_new(void);
/** A deep copy. (transfer full) */
brook_app_conf_t *brook_app_conf_dup(const brook_app_conf_t *conf);
/** NULL is a no-op. */
void brook_app_conf_destroy(brook_app_conf_t *conf);
/** Sets a property. Unknown names and bad values give BROOK_ERR__BAD_CONFIG
 *  with a message naming the property. */
brook_err_t brook_app_conf_set(brook_app_conf_t *conf, const char *name, const char *value, char *errstr,
                               size_t errstr_size);
/** The value as set or defaulted, NULL for unknown names or a null default.
 *  (transfer none, valid until the property is set again or conf destroyed) */
const char *brook_app_conf_get(const brook_app_conf_t *conf, const char *name);
/** Loads a Java .properties file. */
brook_err_t brook_app_conf_load(brook_app_conf_t *conf, const char *path, char *errstr, size_t errstr_size);

/* Log levels: BROOK_LOG_ERR .. BROOK_LOG_DEBUG (syslog's), from blog.h. */
/** Where the library's log lines go. The default writes WARNING and worse to
 *  stderr. The callback may run on any of the app's threads. */
void brook_app_conf_set_log_cb(brook_app_conf_t *conf,
                               void (*log_cb)(int level, const char *ctx, const char *msg, void *opaque),
                               void *opaque);

/** Writes the configuration reference (Markdown) to stdout. */
void brook_app_print_config_reference(void);

/* ---- the application ---- */

typedef enum brook_app_state {
  BROOK_APP_CREATED,
  BROOK_APP_REBALANCING,
  BROOK_APP_RUNNING,
  BROOK_APP_PENDING_SHUTDOWN,
  BROOK_APP_NOT_RUNNING,
  BROOK_APP_ERROR,
} brook_app_state_t;

/** "CREATED", "REBALANCING", ... (transfer none, static) */
const char *brook_app_state_name(brook_app_state_t state);

/** Checks the configuration and the topology (missing serdes, bad names) and,
 *  without bootstrap.servers, starts the embedded broker. Returns NULL with a
 *  message naming the property or the operator on error. The app takes its
 *  own reference to `topology`; conf is copied. (transfer full) */
brook_app_t *brook_app_new(brook_topology_t *topology, const brook_app_conf_t *conf, char *errstr,
                           size_t errstr_size);

/** Called on every state change, (transfer none) opaque. Set before start. */
void brook_app_set_state_listener(brook_app_t *app,
                                  void (*listener)(brook_app_state_t new_state, brook_app_state_t old_state,
                                                   void *opaque),
                                  void *opaque);

/** Creates internal topics (repartition, changelog) — a mismatch with existing
 *  ones is an error naming the topic — checks that source topics exist, and
 *  starts num.stream.threads stream threads. Returns at once. */
brook_err_t brook_app_start(brook_app_t *app, char *errstr, size_t errstr_size);

/** start, then wait for SIGINT or SIGTERM (or a failed thread), then close.
 *  Returns 0 after a clean shutdown, 1 when the app failed (the reason went to
 *  the log). */
int brook_app_run(brook_app_t *app);

/** Graceful shutdown: each thread finishes its current record, commits, closes
 *  its stores (writing checkpoints) and leaves the group. Waits for them.
 *  Idempotent. */
void brook_app_close(brook_app_t *app);

/** Closes if needed, stops the embedded broker, frees. NULL is a no-op. */
void brook_app_destroy(brook_app_t *app);

brook_app_state_t brook_app_state(const brook_app_t *app);
/** Why the app is in ERROR, or NULL. (transfer none, valid until destroy) */
const char *brook_app_error(const brook_app_t *app);

/** bootstrap.servers, or the embedded broker's "127.0.0.1:port".
 *  (transfer none, valid until destroy) */
const char *brook_app_bootstrap_servers(const brook_app_t *app);

/** Waits until every partition assigned to this instance has been processed
 *  to its end and committed, following records through repartition topics.
 *  Forces commits (flushing record caches) while it waits. BROOK_ERR__TIMED_OUT
 *  after timeout_ms; BROOK_ERR__STATE if the app is not running or fails. */
brook_err_t brook_app_wait_idle(brook_app_t *app, int timeout_ms, char *errstr, size_t errstr_size);

/** Metrics, reported one by one: group ("stream-thread-metrics",
 *  "stream-task-metrics", "stream-state-metrics"), name ("process-rate",
 *  "process-total", "process-latency-avg", "process-latency-max",
 *  "produce-total", "produce-rate", "commit-total", "commit-latency-avg",
 *  "commit-latency-max", "records-lag", "restore-total", "restore-remaining",
 *  "restore-rate"), tags ("thread-id=…", "task-id=…", "store=…"), value. Rates
 *  are per second over the last 30 s. */
typedef void (*brook_metric_fn)(const char *group, const char *name, const char *tags, double value, void *opaque);
void brook_app_metrics(brook_app_t *app, brook_metric_fn fn, void *opaque);

#endif
