/*
 * conf.c — the broker and topic property tables and everything derived from
 * them (see conf.h). Names and defaults are Kafka's; where brook differs the
 * doc text says so.
 */
#include "conf.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define B(f) offsetof(brook_bconf_t, f)
#define BT(f) (offsetof(brook_bconf_t, topic) + offsetof(brook_tconf_t, f))
#define T(f) offsetof(brook_tconf_t, f)
#define NOFIELD SIZE_MAX
#define I32MAX 2147483647LL
#define I64MAX INT64_MAX
#define HOUR_MS 3600000LL
#define MIN_MS 60000LL

/* Broker rows. Alias groups are adjacent and ordered coarse -> fine. */
const conf_prop_t brook_broker_props[] = {
    {"listeners", CONF_STRING, "PLAINTEXT://127.0.0.1:9092", 0, 0, NULL, CONF_BROKER | CONF_READONLY, B(listeners), 0, NULL,
     "Comma-separated listeners, NAME://host:port. Only PLAINTEXT is served. Port 0 picks a free port (logged at start-up)."},
    {"advertised.listeners", CONF_STRING, NULL, 0, 0, NULL, CONF_BROKER | CONF_READONLY, B(advertised_listeners), 0, NULL,
     "Listeners published to clients in Metadata; null means the same as listeners (with the bound port)."},
    {"broker.id", CONF_INT, NULL, -1, I32MAX, NULL, CONF_BROKER | CONF_READONLY, B(node_id), 0, NULL,
     "Alias of node.id (ZooKeeper-era name). If both are set, node.id wins."},
    {"node.id", CONF_INT, "1", 0, I32MAX, NULL, CONF_BROKER | CONF_READONLY, B(node_id), 0, NULL,
     "The id of this node. brookd is a single-node cluster: it is also the controller and every partition's leader."},
    {"log.dir", CONF_STRING, NULL, 0, 0, NULL, CONF_BROKER | CONF_READONLY, B(log_dirs), 0, NULL,
     "Alias of log.dirs for a single directory. log.dirs wins if both are set."},
    {"log.dirs", CONF_STRING, "./brook-data", 0, 0, NULL, CONF_BROKER | CONF_READONLY, B(log_dirs), 0, NULL,
     "Directory holding the partition logs (Kafka's layout). brook uses one directory; a list is rejected."},
    {"num.partitions", CONF_INT, "1", 1, I32MAX, NULL, CONF_BROKER, B(num_partitions), 0, NULL,
     "Default number of partitions of auto-created topics and of CreateTopics with num_partitions -1."},
    {"default.replication.factor", CONF_INT, "1", 1, 1, NULL, CONF_BROKER, B(default_replication_factor), 0, NULL,
     "Default replication factor. A single-node broker keeps one replica, so only 1 is valid."},
    {"auto.create.topics.enable", CONF_BOOL, "true", 0, 0, NULL, CONF_BROKER, B(auto_create_topics_enable), 0, NULL,
     "Create a topic when a client produces to it or asks Metadata for it (with allow_auto_topic_creation)."},
    {"delete.topic.enable", CONF_BOOL, "true", 0, 0, NULL, CONF_BROKER, B(delete_topic_enable), 0, NULL,
     "Allow DeleteTopics; when false it answers TOPIC_DELETION_DISABLED."},
    {"log.segment.bytes", CONF_INT, "1073741824", 14, I32MAX, NULL, CONF_BROKER, BT(segment_bytes), 0, NULL,
     "Maximum size of one log segment file before a new one is rolled."},
    {"log.roll.hours", CONF_INT, "168", 1, I32MAX, NULL, CONF_BROKER, BT(segment_ms), HOUR_MS, NULL,
     "Maximum age of a segment before a new one is rolled, in hours (log.roll.ms wins)."},
    {"log.roll.ms", CONF_LONG, NULL, 1, I64MAX, NULL, CONF_BROKER, BT(segment_ms), 0, NULL,
     "Maximum age of a segment before a new one is rolled, in ms."},
    {"log.retention.hours", CONF_INT, "168", -1, I32MAX, NULL, CONF_BROKER, BT(retention_ms), HOUR_MS, NULL,
     "Hours to keep a segment before deleting it (lowest priority of the three)."},
    {"log.retention.minutes", CONF_INT, NULL, -1, I32MAX, NULL, CONF_BROKER, BT(retention_ms), MIN_MS, NULL,
     "Minutes to keep a segment before deleting it (log.retention.ms wins)."},
    {"log.retention.ms", CONF_LONG, NULL, -1, I64MAX, NULL, CONF_BROKER, BT(retention_ms), 0, NULL,
     "Milliseconds to keep a segment before deleting it; -1 keeps forever."},
    {"log.retention.bytes", CONF_LONG, "-1", -1, I64MAX, NULL, CONF_BROKER, BT(retention_bytes), 0, NULL,
     "Maximum size of a partition's log before old segments are deleted; -1 is unlimited."},
    {"log.retention.check.interval.ms", CONF_LONG, "300000", 1, I64MAX, NULL, CONF_BROKER,
     B(log_retention_check_interval_ms), 0, NULL, "How often the broker looks for segments to delete or roll by age."},
    {"log.index.interval.bytes", CONF_INT, "4096", 0, I32MAX, NULL, CONF_BROKER, BT(index_interval_bytes), 0, NULL,
     "Bytes of log between two offset-index entries."},
    {"log.index.size.max.bytes", CONF_INT, "10485760", 4, I32MAX, NULL, CONF_BROKER, BT(segment_index_bytes), 0, NULL,
     "Maximum size of an offset index; a full index rolls the segment."},
    {"log.flush.interval.messages", CONF_LONG, "9223372036854775807", 1, I64MAX, NULL, CONF_BROKER, BT(flush_messages), 0,
     NULL, "fsync a partition after this many messages. The default never forces one (data is safe from process "
     "crashes once written; see docs/broker.md for the durability model)."},
    {"log.flush.interval.ms", CONF_LONG, NULL, 0, I64MAX, NULL, CONF_BROKER, BT(flush_ms), 0, NULL,
     "fsync a partition when its oldest unflushed data is this old; null never forces one."},
    {"log.cleanup.policy", CONF_FLAGS, "delete", 0, 0, "delete,compact", CONF_BROKER, BT(cleanup_policy), 0, NULL,
     "Default cleanup policy of topics: delete (retention) and/or compact."},
    {"compression.type", CONF_ENUM, "producer", 0, 0, "uncompressed,zstd,lz4,snappy,gzip,producer", CONF_BROKER,
     BT(compression_type), 0, NULL,
     "Codec batches are stored with: producer keeps what the producer sent; any other value recompresses."},
    {"message.max.bytes", CONF_INT, "1048588", 0, I32MAX, NULL, CONF_BROKER, BT(max_message_bytes), 0, NULL,
     "Largest record batch the broker accepts (MESSAGE_TOO_LARGE above it)."},
    {"min.insync.replicas", CONF_INT, "1", 1, I32MAX, NULL, CONF_BROKER, BT(min_insync_replicas), 0, NULL,
     "Replicas that must acknowledge an acks=all write. One node holds one replica: above 1, acks=all gets NOT_ENOUGH_REPLICAS."},
    {"log.message.timestamp.type", CONF_ENUM, "CreateTime", 0, 0, "CreateTime,LogAppendTime", CONF_BROKER,
     BT(message_timestamp_type), 0, NULL, "Whether a record keeps the producer's timestamp or gets the broker's append time."},
    {"log.message.timestamp.difference.max.ms", CONF_LONG, "9223372036854775807", 0, I64MAX, NULL, CONF_BROKER,
     BT(message_timestamp_difference_max_ms), 0, NULL,
     "Largest allowed difference between a CreateTime timestamp and the broker's clock (INVALID_TIMESTAMP beyond)."},
    {"log.cleaner.delete.retention.ms", CONF_LONG, "86400000", 0, I64MAX, NULL, CONF_BROKER, BT(delete_retention_ms), 0,
     NULL, "How long tombstones are kept in compacted topics."},
    {"log.cleaner.min.compaction.lag.ms", CONF_LONG, "0", 0, I64MAX, NULL, CONF_BROKER, BT(min_compaction_lag_ms), 0,
     NULL, "Minimum age of a record before compaction may remove it."},
    {"log.cleaner.max.compaction.lag.ms", CONF_LONG, "9223372036854775807", 1, I64MAX, NULL, CONF_BROKER,
     BT(max_compaction_lag_ms), 0, NULL, "Maximum time a record stays ineligible for compaction."},
    {"log.cleaner.min.cleanable.ratio", CONF_DOUBLE, "0.5", 0, 1, NULL, CONF_BROKER, BT(min_cleanable_dirty_ratio), 0,
     NULL, "Dirty ratio above which a compacted log is cleaned."},
    {"log.segment.delete.delay.ms", CONF_LONG, "60000", 0, I64MAX, NULL, CONF_BROKER, BT(file_delete_delay_ms), 0, NULL,
     "Kafka's delay before deleting a segment file. brook deletes at once and keeps open readers valid instead."},
    {"socket.request.max.bytes", CONF_INT, "104857600", 1, I32MAX, NULL, CONF_BROKER, B(socket_request_max_bytes), 0,
     NULL, "Largest request frame accepted; a larger size prefix closes the connection."},
    {"connections.max.idle.ms", CONF_LONG, "600000", 1, I64MAX, NULL, CONF_BROKER, B(connections_max_idle_ms), 0, NULL,
     "Idle connections are closed after this long."},
    {"max.connections", CONF_INT, "2147483647", 0, I32MAX, NULL, CONF_BROKER, B(max_connections), 0, NULL,
     "Maximum open client connections; new ones beyond it are closed at once."},
    {"num.io.threads", CONF_INT, "8", 1, I32MAX, NULL, CONF_BROKER | CONF_IGNORED, B(num_io_threads), 0, NULL,
     "Accepted for compatibility. brookd serves all requests on one event-loop thread (appends are page-cache writes; "
     "fetches use sendfile), so there is no request-handler pool to size."},
    {"offsets.topic.num.partitions", CONF_INT, "50", 1, I32MAX, NULL, CONF_BROKER | CONF_READONLY,
     B(offsets_topic_num_partitions), 0, NULL,
     "Partitions of __consumer_offsets, where the group coordinator keeps committed offsets and group metadata. A "
     "group lives on partition abs(javaHashCode(group.id)) % this, as in Kafka; fixed once the topic exists."},
    {"offsets.topic.segment.bytes", CONF_INT, "104857600", 1024, I32MAX, NULL, CONF_BROKER | CONF_READONLY,
     B(offsets_topic_segment_bytes), 0, NULL,
     "Segment size of __consumer_offsets. When a partition of it grows past this, the coordinator rewrites the live "
     "offsets and group records at its end and drops what lies before (compaction by rewrite), so it stays bounded."},
    {"offsets.retention.minutes", CONF_INT, "10080", 1, I32MAX, NULL, CONF_BROKER, B(offsets_retention_ms), 60000, NULL,
     "Committed offsets of a group that has been empty this long are deleted (standalone consumers: this long after "
     "the commit)."},
    {"offsets.retention.check.interval.ms", CONF_LONG, "600000", 1, I64MAX, NULL, CONF_BROKER,
     B(offsets_retention_check_interval_ms), 0, NULL, "How often expired offsets are looked for."},
    {"offset.metadata.max.bytes", CONF_INT, "4096", 0, I32MAX, NULL, CONF_BROKER, B(offset_metadata_max_bytes), 0,
     NULL, "Longest metadata string accepted with a committed offset (OFFSET_METADATA_TOO_LARGE above it)."},
    {"group.initial.rebalance.delay.ms", CONF_INT, "3000", 0, I32MAX, NULL, CONF_BROKER,
     B(group_initial_rebalance_delay_ms), 0, NULL,
     "When an empty group gets its first member, the coordinator waits this long (extended by the same again for "
     "each newcomer, up to the rebalance timeout) so that members starting together share one rebalance."},
    {"group.min.session.timeout.ms", CONF_INT, "6000", 0, I32MAX, NULL, CONF_BROKER, B(group_min_session_timeout_ms),
     0, NULL, "Smallest session.timeout.ms a member may ask for (INVALID_SESSION_TIMEOUT below it)."},
    {"group.max.session.timeout.ms", CONF_INT, "1800000", 0, I32MAX, NULL, CONF_BROKER,
     B(group_max_session_timeout_ms), 0, NULL,
     "Largest session.timeout.ms a member may ask for (INVALID_SESSION_TIMEOUT above it)."},
    {"group.max.size", CONF_INT, "2147483647", 1, I32MAX, NULL, CONF_BROKER, B(group_max_size), 0, NULL,
     "Most members one group may have (GROUP_MAX_SIZE_REACHED beyond it)."},
    {"offsets.commit.timeout.ms", CONF_INT, "5000", 1, I32MAX, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; a commit is written to the local log before it is answered, nothing waits on "
     "replicas."},
    {"offsets.load.buffer.size", CONF_INT, "5242880", 1, I32MAX, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; groups are loaded at start-up in whole batches."},
    {"producer.id.expiration.ms", CONF_INT, "86400000", 1, I32MAX, NULL, CONF_BROKER, B(producer_id_expiration_ms), 0,
     NULL, "How long an idle idempotent producer's sequence state is kept."},
    /* Stock server.properties settings that have no meaning for one node. */
    {"num.network.threads", CONF_INT, "3", 1, I32MAX, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; brookd has one network thread."},
    {"num.recovery.threads.per.data.dir", CONF_INT, "1", 1, I32MAX, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; recovery runs on the start-up thread."},
    {"socket.send.buffer.bytes", CONF_INT, "102400", -1, I32MAX, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; the kernel's defaults are used."},
    {"socket.receive.buffer.bytes", CONF_INT, "102400", -1, I32MAX, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; the kernel's defaults are used."},
    {"offsets.topic.replication.factor", CONF_INT, "1", 1, I32MAX, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; one node keeps one replica."},
    {"transaction.state.log.replication.factor", CONF_INT, "1", 1, I32MAX, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0,
     NULL, "Accepted for compatibility; one node keeps one replica."},
    {"transaction.state.log.min.isr", CONF_INT, "1", 1, I32MAX, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; one node keeps one replica."},
    {"process.roles", CONF_STRING, "broker,controller", 0, 0, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; brookd is always both broker and controller."},
    {"controller.quorum.voters", CONF_STRING, NULL, 0, 0, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; there is no quorum."},
    {"controller.listener.names", CONF_STRING, NULL, 0, 0, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; there is no controller listener."},
    {"inter.broker.listener.name", CONF_STRING, NULL, 0, 0, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; there are no other brokers."},
    {"listener.security.protocol.map", CONF_STRING, NULL, 0, 0, NULL, CONF_BROKER | CONF_IGNORED, NOFIELD, 0, NULL,
     "Accepted for compatibility; only PLAINTEXT is served."},
    {NULL},
};

/* Topic rows; synonym names the broker row giving the default. */
const conf_prop_t brook_topic_props[] = {
    {"cleanup.policy", CONF_FLAGS, "delete", 0, 0, "delete,compact", CONF_TOPIC, T(cleanup_policy), 0,
     "log.cleanup.policy", "delete (time/size retention) and/or compact (keep the latest value per key)."},
    {"compression.type", CONF_ENUM, "producer", 0, 0, "uncompressed,zstd,lz4,snappy,gzip,producer", CONF_TOPIC,
     T(compression_type), 0, "compression.type", "Codec batches are stored with; producer keeps the producer's."},
    {"delete.retention.ms", CONF_LONG, "86400000", 0, I64MAX, NULL, CONF_TOPIC, T(delete_retention_ms), 0,
     "log.cleaner.delete.retention.ms", "How long tombstones are kept in a compacted topic."},
    {"file.delete.delay.ms", CONF_LONG, "60000", 0, I64MAX, NULL, CONF_TOPIC, T(file_delete_delay_ms), 0,
     "log.segment.delete.delay.ms", "Accepted; brook deletes at once and keeps open readers valid instead."},
    {"flush.messages", CONF_LONG, "9223372036854775807", 1, I64MAX, NULL, CONF_TOPIC, T(flush_messages), 0,
     "log.flush.interval.messages", "fsync the partition after this many messages."},
    {"flush.ms", CONF_LONG, "9223372036854775807", 0, I64MAX, NULL, CONF_TOPIC, T(flush_ms), 0,
     "log.flush.interval.ms", "fsync the partition when its oldest unflushed data is this old."},
    {"index.interval.bytes", CONF_INT, "4096", 0, I32MAX, NULL, CONF_TOPIC, T(index_interval_bytes), 0,
     "log.index.interval.bytes", "Bytes of log between two offset-index entries."},
    {"max.compaction.lag.ms", CONF_LONG, "9223372036854775807", 1, I64MAX, NULL, CONF_TOPIC, T(max_compaction_lag_ms),
     0, "log.cleaner.max.compaction.lag.ms", "Maximum time a record stays ineligible for compaction."},
    {"max.message.bytes", CONF_INT, "1048588", 0, I32MAX, NULL, CONF_TOPIC, T(max_message_bytes), 0,
     "message.max.bytes", "Largest record batch accepted for this topic."},
    {"message.timestamp.difference.max.ms", CONF_LONG, "9223372036854775807", 0, I64MAX, NULL, CONF_TOPIC,
     T(message_timestamp_difference_max_ms), 0, "log.message.timestamp.difference.max.ms",
     "Largest allowed difference between a CreateTime timestamp and the broker's clock."},
    {"message.timestamp.type", CONF_ENUM, "CreateTime", 0, 0, "CreateTime,LogAppendTime", CONF_TOPIC,
     T(message_timestamp_type), 0, "log.message.timestamp.type", "CreateTime or LogAppendTime."},
    {"min.cleanable.dirty.ratio", CONF_DOUBLE, "0.5", 0, 1, NULL, CONF_TOPIC, T(min_cleanable_dirty_ratio), 0,
     "log.cleaner.min.cleanable.ratio", "Dirty ratio above which a compacted log is cleaned."},
    {"min.compaction.lag.ms", CONF_LONG, "0", 0, I64MAX, NULL, CONF_TOPIC, T(min_compaction_lag_ms), 0,
     "log.cleaner.min.compaction.lag.ms", "Minimum age of a record before compaction may remove it."},
    {"min.insync.replicas", CONF_INT, "1", 1, I32MAX, NULL, CONF_TOPIC, T(min_insync_replicas), 0, "min.insync.replicas",
     "Replicas that must acknowledge an acks=all write; above 1, acks=all gets NOT_ENOUGH_REPLICAS on one node."},
    {"retention.bytes", CONF_LONG, "-1", -1, I64MAX, NULL, CONF_TOPIC, T(retention_bytes), 0, "log.retention.bytes",
     "Maximum size of a partition before old segments are deleted; -1 unlimited."},
    {"retention.ms", CONF_LONG, "604800000", -1, I64MAX, NULL, CONF_TOPIC, T(retention_ms), 0, "log.retention.ms",
     "How long segments are kept; -1 forever."},
    {"segment.bytes", CONF_INT, "1073741824", 14, I32MAX, NULL, CONF_TOPIC, T(segment_bytes), 0, "log.segment.bytes",
     "Maximum size of one segment file."},
    {"segment.index.bytes", CONF_INT, "10485760", 4, I32MAX, NULL, CONF_TOPIC, T(segment_index_bytes), 0,
     "log.index.size.max.bytes", "Maximum size of a segment's offset index."},
    {"segment.ms", CONF_LONG, "604800000", 1, I64MAX, NULL, CONF_TOPIC, T(segment_ms), 0, "log.roll.ms",
     "Maximum age of a segment before a new one is rolled."},
    {NULL},
};

const conf_prop_t *conf_find(const conf_prop_t *table, const char *name) {
  for (const conf_prop_t *p = table; p->name; p++)
    if (!strcmp(p->name, name)) return p;
  return NULL;
}

/* Index of word in a comma list, -1 if absent. Case-insensitive like Kafka's enums. */
static int list_index(const char *list, const char *word, size_t wlen) {
  int i = 0;
  for (const char *p = list; *p; i++) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == wlen && !g_ascii_strncasecmp(p, word, n)) return i;
    if (!e) break;
    p = e + 1;
  }
  return -1;
}

/* Parses value into *out (typed, scaled) without storing; returns NONE or INVALID_CONFIG. */
typedef union conf_val {
  bool b;
  int64_t l;
  double d;
  int i;
} conf_val_t;

static brook_err_t parse_value(const conf_prop_t *prop, const char *value, conf_val_t *out, char *errstr,
                               size_t errstr_size) {
  char *end;
  switch (prop->type) {
    case CONF_BOOL:
      if (!g_ascii_strcasecmp(value, "true")) out->b = true;
      else if (!g_ascii_strcasecmp(value, "false")) out->b = false;
      else goto bad;
      return BROOK_ERR_NONE;
    case CONF_INT:
    case CONF_LONG: {
      errno = 0;
      long long v = strtoll(value, &end, 10);
      if (errno || end == value || *end) goto bad;
      if (v < prop->min || v > prop->max) {
        snprintf(errstr, errstr_size, "Invalid value %s for configuration %s: must be in [%" PRId64 ", %" PRId64 "]",
                 value, prop->name, prop->min, prop->max);
        return BROOK_ERR_INVALID_CONFIG;
      }
      int64_t scale = prop->scale ? prop->scale : 1;
      out->l = (v > 0 && v > INT64_MAX / scale) ? INT64_MAX : (int64_t)v * (v < 0 ? 1 : scale);
      return BROOK_ERR_NONE;
    }
    case CONF_DOUBLE: {
      errno = 0;
      double v = g_ascii_strtod(value, &end);
      if (errno || end == value || *end) goto bad;
      if (v < (double)prop->min || v > (double)prop->max) {
        snprintf(errstr, errstr_size, "Invalid value %s for configuration %s: must be in [%" PRId64 ", %" PRId64 "]",
                 value, prop->name, prop->min, prop->max);
        return BROOK_ERR_INVALID_CONFIG;
      }
      out->d = v;
      return BROOK_ERR_NONE;
    }
    case CONF_STRING:
      return BROOK_ERR_NONE;
    case CONF_ENUM:
      out->i = list_index(prop->allowed, value, strlen(value));
      if (out->i < 0) goto bad_enum;
      return BROOK_ERR_NONE;
    case CONF_FLAGS: {
      out->i = 0;
      for (const char *p = value; *p;) {
        while (*p == ' ') p++;
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && p[n - 1] == ' ') n--;
        int idx = list_index(prop->allowed, p, n);
        if (idx < 0) goto bad_enum;
        out->i |= 1 << idx;
        if (!e) break;
        p = e + 1;
      }
      if (!out->i) goto bad_enum;
      return BROOK_ERR_NONE;
    }
  }
bad:
  snprintf(errstr, errstr_size, "Invalid value %s for configuration %s: expected %s", value, prop->name,
           prop->type == CONF_BOOL ? "true or false" : prop->type == CONF_DOUBLE ? "a number" : "an integer");
  return BROOK_ERR_INVALID_CONFIG;
bad_enum:
  snprintf(errstr, errstr_size, "Invalid value %s for configuration %s: must be one of %s", value, prop->name,
           prop->allowed);
  return BROOK_ERR_INVALID_CONFIG;
}

brook_err_t conf_check(const conf_prop_t *prop, const char *value, char *errstr, size_t errstr_size) {
  conf_val_t v;
  if (!value) return BROOK_ERR_NONE;
  return parse_value(prop, value, &v, errstr, errstr_size);
}

static void store(const conf_prop_t *prop, const char *value, const conf_val_t *v, void *base) {
  void *field = (char *)base + prop->off;
  switch (prop->type) {
    case CONF_BOOL: *(bool *)field = v->b; break;
    case CONF_INT:
    case CONF_LONG: *(int64_t *)field = v->l; break;
    case CONF_DOUBLE: *(double *)field = v->d; break;
    case CONF_STRING:
      g_free(*(char **)field);
      *(char **)field = g_strdup(value);
      break;
    case CONF_ENUM:
    case CONF_FLAGS: *(int *)field = v->i; break;
  }
}

/* Applies a table: for each field, the finest explicitly set row of its alias
 * group wins; if none is set, the first row with a non-null default. Null
 * numeric defaults with no value leave "never" (INT64_MAX) in long fields. */
static brook_err_t resolve(const conf_prop_t *table, GHashTable *set, GHashTable *fallback_set, void *base,
                           bool use_synonyms, char *errstr, size_t errstr_size) {
  for (const conf_prop_t *p = table; p->name; p++) {
    if (p->off == NOFIELD) continue;
    /* group = consecutive rows with the same field; handle once at the first */
    if (p != table && p[-1].off == p->off) continue;
    const conf_prop_t *chosen = NULL, *deflt = NULL;
    const char *value = NULL;
    for (const conf_prop_t *q = p; q->name && q->off == p->off; q++) {
      const char *v = set ? g_hash_table_lookup(set, q->name) : NULL;
      if (!v && use_synonyms && fallback_set && q->synonym) v = g_hash_table_lookup(fallback_set, q->synonym);
      if (v) {
        chosen = q;
        value = v;
      }
      if (!deflt && q->def) deflt = q;
    }
    if (!chosen && deflt) {
      chosen = deflt;
      value = deflt->def;
    }
    if (!chosen) {
      if (p->type == CONF_LONG || p->type == CONF_INT) *(int64_t *)((char *)base + p->off) = INT64_MAX;
      else if (p->type == CONF_STRING) store(p, NULL, NULL, base);
      continue;
    }
    conf_val_t v;
    brook_err_t err = parse_value(chosen, value, &v, errstr, errstr_size);
    if (err) return err;
    store(chosen, value, &v, base);
  }
  return BROOK_ERR_NONE;
}

brook_err_t conf_resolve_broker(GHashTable *set, brook_bconf_t *bconf, char *errstr, size_t errstr_size) {
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, set);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    const conf_prop_t *prop = conf_find(brook_broker_props, k);
    if (!prop) {
      snprintf(errstr, errstr_size, "Unknown configuration '%s' (see docs/configuration.md for what brookd accepts)",
               (const char *)k);
      return BROOK_ERR_INVALID_CONFIG;
    }
    brook_err_t err = conf_check(prop, v, errstr, errstr_size);
    if (err) return err;
  }
  brook_err_t err = resolve(brook_broker_props, set, NULL, bconf, false, errstr, errstr_size);
  if (err) return err;
  /* node.id wins over broker.id: rows are ordered broker.id, node.id, so resolve() did that. */
  if (bconf->log_dirs && strchr(bconf->log_dirs, ',')) {
    snprintf(errstr, errstr_size, "Invalid value %s for configuration log.dirs: brookd uses one directory",
             bconf->log_dirs);
    return BROOK_ERR_INVALID_CONFIG;
  }
  return BROOK_ERR_NONE;
}

void conf_bconf_free(brook_bconf_t *bconf) {
  for (const conf_prop_t *p = brook_broker_props; p->name; p++)
    if (p->type == CONF_STRING && p->off != NOFIELD) {
      g_free(*(char **)((char *)bconf + p->off));
      *(char **)((char *)bconf + p->off) = NULL;
    }
}

brook_err_t conf_resolve_topic(const brook_bconf_t *bconf, GHashTable *overrides, brook_tconf_t *tconf, char *errstr,
                               size_t errstr_size) {
  *tconf = bconf->topic;
  if (!overrides) return BROOK_ERR_NONE;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, overrides);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    const conf_prop_t *prop = conf_find(brook_topic_props, k);
    if (!prop) {
      snprintf(errstr, errstr_size, "Unknown topic config name: %s", (const char *)k);
      return BROOK_ERR_INVALID_CONFIG;
    }
    conf_val_t val;
    brook_err_t err = parse_value(prop, v, &val, errstr, errstr_size);
    if (err) return err;
    store(prop, v, &val, tconf);
  }
  return BROOK_ERR_NONE;
}

/* The broker-level text behind a topic row: the finest set row of the synonym's
 * alias group in server.properties (so log.retention.hours shows up as
 * retention.ms), converted to the topic row's unit. */
static char *broker_value_for(const conf_prop_t *trow, GHashTable *broker_set) {
  const conf_prop_t *syn = conf_find(brook_broker_props, trow->synonym);
  if (!syn || !broker_set) return NULL;
  const conf_prop_t *first = syn;
  while (first > brook_broker_props && first[-1].off == syn->off) first--;
  char *best = NULL;
  for (const conf_prop_t *q = first; q->name && q->off == syn->off; q++) {
    const char *v = g_hash_table_lookup(broker_set, q->name);
    if (!v) continue;
    g_free(best);
    if (q->scale > 1) best = g_strdup_printf("%" PRId64, g_ascii_strtoll(v, NULL, 10) * q->scale);
    else best = g_strdup(v);
  }
  return best;
}

char *conf_topic_value(const conf_prop_t *prop, GHashTable *broker_set, GHashTable *overrides, int *source) {
  const char *v = overrides ? g_hash_table_lookup(overrides, prop->name) : NULL;
  if (v) {
    *source = 1;
    return g_strdup(v);
  }
  char *b = broker_value_for(prop, broker_set);
  if (b) {
    *source = 4;
    return b;
  }
  *source = 5;
  return g_strdup(prop->def);
}

int conf_kafka_type(const conf_prop_t *prop) {
  switch (prop->type) {
    case CONF_BOOL: return 1;
    case CONF_INT: return 3;
    case CONF_LONG: return 5;
    case CONF_DOUBLE: return 6;
    case CONF_FLAGS: return 7;
    default: return 2;
  }
}

/* Java .properties: '#'/'!' comments, key and value split at the first
 * unescaped '=', ':' or whitespace, backslash continuation and escapes. */
brook_err_t conf_load_properties(const char *path, GHashTable *set, char *errstr, size_t errstr_size) {
  gchar *text = NULL;
  GError *gerr = NULL;
  if (!g_file_get_contents(path, &text, NULL, &gerr)) {
    snprintf(errstr, errstr_size, "Cannot read %s: %s", path, gerr->message);
    g_error_free(gerr);
    return BROOK_ERR__BAD_CONFIG;
  }
  gchar **lines = g_strsplit(text, "\n", -1);
  GString *logical = g_string_new(NULL);
  brook_err_t err = BROOK_ERR_NONE;
  int first_line = 0;
  for (int i = 0; lines[i] && !err; i++) {
    char *line = lines[i];
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r') line[--n] = 0;
    char *s = line;
    while (*s == ' ' || *s == '\t' || *s == '\f') s++;
    if (!logical->len) {
      first_line = i + 1;
      if (!*s || *s == '#' || *s == '!') continue;
    }
    /* continuation: odd number of trailing backslashes */
    size_t bs = 0;
    while (bs < strlen(s) && s[strlen(s) - 1 - bs] == '\\') bs++;
    if (bs % 2 == 1) {
      g_string_append_len(logical, s, (gssize)(strlen(s) - 1));
      if (lines[i + 1]) continue;
    } else {
      g_string_append(logical, s);
    }
    /* split key/value with escapes */
    GString *key = g_string_new(NULL), *val = g_string_new(NULL);
    GString *cur = key;
    bool in_sep = false;
    for (const char *p = logical->str; *p; p++) {
      char c = *p;
      if (cur == key && !in_sep && (c == '=' || c == ':' || c == ' ' || c == '\t')) {
        in_sep = true;
        /* swallow whitespace, then at most one '=' or ':', then whitespace */
        while (p[1] == ' ' || p[1] == '\t') p++;
        if ((c == ' ' || c == '\t') && (p[1] == '=' || p[1] == ':')) {
          p++;
          while (p[1] == ' ' || p[1] == '\t') p++;
        }
        cur = val;
        continue;
      }
      if (c == '\\' && p[1]) {
        p++;
        switch (*p) {
          case 't': c = '\t'; break;
          case 'n': c = '\n'; break;
          case 'r': c = '\r'; break;
          case 'f': c = '\f'; break;
          case 'u': {
            char hex[5] = {0};
            for (int k = 0; k < 4 && p[1]; k++) hex[k] = *++p;
            gunichar u = (gunichar)strtoul(hex, NULL, 16);
            char utf8[8];
            int len = g_unichar_to_utf8(u, utf8);
            g_string_append_len(cur, utf8, len);
            continue;
          }
          default: c = *p;
        }
      }
      g_string_append_c(cur, c);
    }
    if (!key->len) {
      snprintf(errstr, errstr_size, "%s:%d: malformed line (no property name)", path, first_line);
      err = BROOK_ERR__BAD_CONFIG;
    } else {
      g_hash_table_replace(set, g_strdup(key->str), g_strdup(val->str));
    }
    g_string_free(key, TRUE);
    g_string_free(val, TRUE);
    g_string_truncate(logical, 0);
  }
  g_string_free(logical, TRUE);
  g_strfreev(lines);
  g_free(text);
  return err;
}

static const char *type_name(const conf_prop_t *p) {
  switch (p->type) {
    case CONF_BOOL: return "boolean";
    case CONF_INT: return "int";
    case CONF_LONG: return "long";
    case CONF_DOUBLE: return "double";
    case CONF_STRING: return "string";
    case CONF_ENUM: return "string";
    case CONF_FLAGS: return "list";
  }
  return "?";
}

static void write_range(FILE *out, const conf_prop_t *p) {
  if (p->type == CONF_INT || p->type == CONF_LONG || p->type == CONF_DOUBLE) {
    if (p->max == INT64_MAX) fprintf(out, "[%" PRId64 ", …]", p->min);
    else fprintf(out, "[%" PRId64 ", %" PRId64 "]", p->min, p->max);
  } else if (p->allowed) {
    fprintf(out, "%s", p->allowed);
  }
}

static void write_table(FILE *out, const conf_prop_t *table, bool topic) {
  fprintf(out, "| name | type | default | valid values | %sdescription |\n", topic ? "server default property | " : "");
  fprintf(out, "|---|---|---|---|%s---|\n", topic ? "---|" : "");
  for (const conf_prop_t *p = table; p->name; p++) {
    fprintf(out, "| `%s` | %s | %s | ", p->name, type_name(p), p->def ? p->def : "null");
    write_range(out, p);
    fprintf(out, " | ");
    if (topic) fprintf(out, "`%s` | ", p->synonym);
    if (p->flags & CONF_IGNORED) fprintf(out, "*(no effect)* ");
    if (p->flags & CONF_READONLY) fprintf(out, "*(read-only)* ");
    fprintf(out, "%s |\n", p->doc);
  }
}

void conf_write_reference(FILE *out) {
  fprintf(out,
          "<!-- Generated by `brookd --print-config-reference` from the tables in broker/server/conf.c.\n"
          "     Do not edit by hand: tests/broker/test-conf.c fails when this file and the tables differ. -->\n"
          "# Configuration reference\n\n"
          "## Broker properties (`server.properties`, `--override key=value`)\n\n"
          "An unknown property, or a value outside its valid values, stops brookd at start-up with an error naming "
          "it. Properties marked *no effect* are accepted so that a stock Kafka `server.properties` works.\n\n");
  write_table(out, brook_broker_props, false);
  fprintf(out,
          "\n## Topic properties (CreateTopics configs, AlterConfigs, IncrementalAlterConfigs)\n\n"
          "A topic's value is its own override if set, else the server property named in the third column, else "
          "the default shown. DescribeConfigs reports which (DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, "
          "DEFAULT_CONFIG).\n\n");
  write_table(out, brook_topic_props, true);
}
