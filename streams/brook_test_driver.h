/*
 * brook_test_driver.h — test a topology on the real runtime.
 *
 * Unlike Kafka's TopologyTestDriver this is not a simulation: the driver runs
 * the real application (stream threads, RocksDB stores, changelogs, commits)
 * against an embedded broker in a temporary state directory, with every source
 * topic created with the number of partitions you ask for. What it adds is
 * synchronisation: reading an output first waits until everything piped in
 * has gone all the way through the topology (repartition topics included) and
 * has been committed, so a test can pipe, read and assert without sleeping.
 *
 *   brook_test_driver_t *d = brook_test_driver_new(topology, conf, 4, errstr, sizeof errstr);
 *   brook_test_driver_pipe(d, "text-lines", s, NULL, s, "a b a", 1000, errstr, sizeof errstr);
 *   brook_test_driver_read(d, "word-counts", s, i64, on_record, &counts, errstr, sizeof errstr);
 *   brook_test_driver_destroy(d);
 *
 * Time: stream time follows the piped timestamps. Wall-clock time is the
 * driver's own clock (it starts at 0 and moves only with advance_wall_clock),
 * so wall-clock punctuators fire exactly when a test says.
 *
 * Threads: a driver is used from one thread.
 */
#ifndef BROOK_TEST_DRIVER_H
#define BROOK_TEST_DRIVER_H

#include "brook_client.h"
#include "brook_streams.h"

typedef struct brook_test_driver brook_test_driver_t;

/** Starts the app. conf may be NULL; application.id defaults to
 *  "brook-test-driver", state.dir to a new temporary directory (removed by
 *  destroy), bootstrap.servers must not be set. Every non-internal source
 *  topic of the topology (not patterns) is created with `partitions`
 *  partitions, and so is every fixed sink topic (dynamic sinks' topics: on first
 *  read or with brook_test_driver_create_topic). Topics the driver creates
 *  have retention.ms=-1, so records piped with small timestamps (1000, ...)
 *  are not deleted by time retention. Waits for RUNNING.
 *  (transfer full) */
brook_test_driver_t *brook_test_driver_new(brook_topology_t *topology, const brook_app_conf_t *conf,
                                           int32_t partitions, char *errstr, size_t errstr_size);

/** Creates another topic (e.g. an output the app writes to, before it does). */
brook_err_t brook_test_driver_create_topic(brook_test_driver_t *driver, const char *topic, int32_t partitions,
                                           char *errstr, size_t errstr_size);

/** Produces one record (partitioned by key, as the Java producer) and waits for
 *  its acknowledgement. Serdes (transfer none). */
brook_err_t brook_test_driver_pipe(brook_test_driver_t *driver, const char *topic, brook_serde_t *key_serde,
                                   const void *key, brook_serde_t *value_serde, const void *value,
                                   int64_t timestamp, char *errstr, size_t errstr_size);

/** Waits until the app is idle (brook_app_wait_idle), then calls fn for each
 *  record of `topic` not read before through this driver (per partition in
 *  offset order). Returns the number of records or -1 with errstr. */
int64_t brook_test_driver_read(brook_test_driver_t *driver, const char *topic, brook_serde_t *key_serde,
                               brook_serde_t *value_serde, void (*fn)(const brook_read_record_t *r, void *opaque),
                               void *opaque, char *errstr, size_t errstr_size);

/** Moves the wall clock forward and waits until every wall-clock punctuator
 *  due by then has run. */
brook_err_t brook_test_driver_advance_wall_clock(brook_test_driver_t *driver, int64_t ms, char *errstr,
                                                 size_t errstr_size);

/** The running application (metrics, bootstrap servers). (transfer none) */
brook_app_t *brook_test_driver_app(brook_test_driver_t *driver);

/** Closes the app, stops the broker, removes the temporary state directory.
 *  NULL is a no-op. */
void brook_test_driver_destroy(brook_test_driver_t *driver);

#endif
