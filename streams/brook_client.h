/*
 * brook_client.h — small typed Kafka clients for feeding and reading topics
 * around a stream application: creating topics, producing typed records,
 * reading a topic to its end. Examples, the test driver and tests use them so
 * that nobody has to touch librdkafka to get data in and out.
 *
 * They speak to any Kafka-compatible cluster: brook_app_bootstrap_servers()
 * of an app on the embedded broker, or a real cluster.
 *
 * Records are keyed and partitioned as Kafka's Java clients do (murmur2 of the
 * serialized key; null keys go to a random partition, as librdkafka's
 * murmur2_random partitioner), so a brook application and a
 * Java producer agree on where a key lives.
 *
 * Threads: one client object per thread at a time.
 */
#ifndef BROOK_CLIENT_H
#define BROOK_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brook_err.h"
#include "brook_serde.h"
#include "brook_topology.h"

typedef struct brook_producer brook_producer_t;
typedef struct brook_reader brook_reader_t;

/** Creates `topic` with `partitions` partitions (replication factor: the
 *  broker's default). configs: NULL or a NULL-terminated list of name, value
 *  pairs. A topic that exists already is BROOK_ERR_TOPIC_ALREADY_EXISTS (36)
 *  and not an error when it has `partitions` partitions and if_not_exists is
 *  true. @locality any */
brook_err_t brook_admin_create_topic(const char *bootstrap_servers, const char *topic, int32_t partitions,
                                     const char *const *configs, bool if_not_exists, char *errstr,
                                     size_t errstr_size);

/** Partition count of `topic`, or -1 with errstr when it does not exist. */
int32_t brook_admin_partition_count(const char *bootstrap_servers, const char *topic, char *errstr,
                                    size_t errstr_size);

/** A producer (acks=all, idempotent). (transfer full) */
brook_producer_t *brook_producer_new(const char *bootstrap_servers, char *errstr, size_t errstr_size);
/** Sends one record. key/value are serialized with the serdes (transfer none;
 *  NULL serde with a NULL value means null). partition -1 = by key. timestamp
 *  -1 = now. Queued: errors of delivery show at flush. */
brook_err_t brook_producer_send(brook_producer_t *producer, const char *topic, int32_t partition,
                                brook_serde_t *key_serde, const void *key, brook_serde_t *value_serde,
                                const void *value, int64_t timestamp, char *errstr, size_t errstr_size);
/** Sends raw bytes (NULL = null). */
brook_err_t brook_producer_send_bytes(brook_producer_t *producer, const char *topic, int32_t partition,
                                      const void *key, size_t key_len, const void *value, size_t value_len,
                                      int64_t timestamp, char *errstr, size_t errstr_size);
/** Waits until everything sent is acknowledged; the first delivery error, if
 *  any, is returned (with the topic named). */
brook_err_t brook_producer_flush(brook_producer_t *producer, int timeout_ms, char *errstr, size_t errstr_size);
/** Flushes (up to 10 s) and frees. NULL is a no-op. */
void brook_producer_destroy(brook_producer_t *producer);

/** A record read back, typed by the reader's serdes. */
typedef struct brook_read_record {
  const brook_record_t *rec; /**< key, value (typed), timestamp, headers */
  const char *topic;
  int32_t partition;
  int64_t offset;
} brook_read_record_t;

/** Reads every partition of `topic` from the beginning, in no consumer group.
 *  Serdes (transfer none; the reader takes references) type the records.
 *  (transfer full) */
brook_reader_t *brook_reader_new(const char *bootstrap_servers, const char *topic, brook_serde_t *key_serde,
                                 brook_serde_t *value_serde, char *errstr, size_t errstr_size);
/** Calls fn for each record from where the last call stopped up to the
 *  partitions' end offsets as of this call (in offset order per partition,
 *  partitions one after the other). Pointers are valid during the call only.
 *  Returns the number of records, or -1 with errstr (timeout_ms elapsed before
 *  the end offsets were reached, or a record could not be deserialized). */
int64_t brook_reader_read(brook_reader_t *reader, void (*fn)(const brook_read_record_t *r, void *opaque),
                          void *opaque, int timeout_ms, char *errstr, size_t errstr_size);
/** NULL is a no-op. */
void brook_reader_destroy(brook_reader_t *reader);

#endif
