/*
 * client.c — brook_client.h over librdkafka: an admin helper (create a topic,
 * count its partitions), a typed producer, and a typed reader that reads a
 * topic to its end.
 *
 * Design note
 *  - Admin calls open a short-lived librdkafka handle each: they are rare
 *    (topic set-up), and a handle per call keeps them free of shared state.
 *    Metadata asks for all topics, never for one by name, so that looking a
 *    topic up cannot auto-create it.
 *  - The producer is Java's default producer as far as placement goes:
 *    partitioner murmur2_random is Kafka's Utils.murmur2(key) & 0x7fffffff %
 *    partitions for keyed records (null keys go to a random partition).
 *    acks=all and idempotence make a flushed record durable and unduplicated.
 *    Delivery reports run inside flush (on the caller's thread); the first
 *    error is kept, with its topic, until flush returns it.
 *  - The reader uses librdkafka's legacy per-partition consumer
 *    (rd_kafka_consume_start_queue): no group.id, no group membership, no
 *    committed offsets, all partitions from the beginning into one queue. It
 *    consumes continuously; a read takes the high watermarks first, then polls
 *    until each partition's fetch position reaches its watermark (a record at
 *    watermark - 1 or a PARTITION_EOF at or past it), then hands records out
 *    partition by partition. Records fetched past a watermark stay pending for
 *    the next read. Invariant per partition:
 *        delivered offsets < pending offsets < fetched, all increasing.
 *    Memory held between reads is bounded by what librdkafka prefetches
 *    (queued.max.messages.kbytes, set small) plus the records of one read.
 *  - Typed values handed to the read callback live in a scratch arena the
 *    reader enters around each callback (headers need one; scratch.c), and
 *    are freed when the callback returns.
 * Threads: one client object per thread at a time (as brook_client.h says).
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#include "brook_client.h"
#include "task.h"

#define ADMIN_TIMEOUT_MS 30000
#define WATERMARK_TIMEOUT_MS 10000

static brook_err_t err_from_rd(rd_kafka_resp_err_t e) {
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return BROOK_ERR_NONE;
  if (e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ||
      e == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE)
    return BROOK_ERR__TIMED_OUT;
  if (e > 0 || e == RD_KAFKA_RESP_ERR_UNKNOWN) return (brook_err_t)e; /* Kafka wire codes are ours too */
  return BROOK_ERR__FAIL;
}

/* librdkafka's log lines go nowhere: every failure reaches the caller as an
 * error with errstr, and the library never prints by itself. */
static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk, (void)level, (void)fac, (void)buf;
}

/* A handle of `type` on bootstrap with extra name/value pairs (NULL-terminated). */
static rd_kafka_t *client_new(rd_kafka_type_t type, const char *bootstrap, const char *const *kv,
                              void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *), void *opaque,
                              char *errstr, size_t errstr_size) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char why[512];
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, why, sizeof why) != RD_KAFKA_CONF_OK) goto bad;
  for (int i = 0; kv && kv[i]; i += 2)
    if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], why, sizeof why) != RD_KAFKA_CONF_OK) goto bad;
  rd_kafka_conf_set_log_cb(conf, quiet_log);
  if (dr) rd_kafka_conf_set_dr_msg_cb(conf, dr);
  rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_t *rk = rd_kafka_new(type, conf, why, sizeof why);
  if (!rk) {
    snprintf(errstr, errstr_size, "cannot create a Kafka client for %s: %s", bootstrap, why);
    return NULL; /* rd_kafka_new frees conf only on success */
  }
  return rk;
bad:
  snprintf(errstr, errstr_size, "cannot configure a Kafka client for %s: %s", bootstrap, why);
  rd_kafka_conf_destroy(conf);
  return NULL;
}

/* ---- admin ---- */

/* Partition count of topic on an open handle; -1 with errstr. */
static int32_t partition_count(rd_kafka_t *rk, const char *topic, brook_err_t *errp, char *errstr,
                               size_t errstr_size) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, ADMIN_TIMEOUT_MS);
  if (e) {
    snprintf(errstr, errstr_size, "metadata for topic %s: %s", topic, rd_kafka_err2str(e));
    *errp = err_from_rd(e);
    return -1;
  }
  int32_t count = -1;
  for (int i = 0; i < md->topic_cnt; i++)
    if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err) count = md->topics[i].partition_cnt;
  rd_kafka_metadata_destroy(md);
  if (count < 0) {
    snprintf(errstr, errstr_size, "topic %s does not exist", topic);
    *errp = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
  }
  return count;
}

int32_t brook_admin_partition_count(const char *bootstrap_servers, const char *topic, char *errstr,
                                    size_t errstr_size) {
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, bootstrap_servers, NULL, NULL, NULL, errstr, errstr_size);
  if (!rk) return -1;
  brook_err_t err;
  int32_t n = partition_count(rk, topic, &err, errstr, errstr_size);
  rd_kafka_destroy(rk);
  return n;
}

brook_err_t brook_admin_create_topic(const char *bootstrap_servers, const char *topic, int32_t partitions,
                                     const char *const *configs, bool if_not_exists, char *errstr,
                                     size_t errstr_size) {
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, bootstrap_servers, NULL, NULL, NULL, errstr, errstr_size);
  if (!rk) return BROOK_ERR__FAIL;
  char why[512];
  brook_err_t err = BROOK_ERR_NONE;
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, why, sizeof why);
  if (!nt) {
    snprintf(errstr, errstr_size, "cannot create topic %s: %s", topic, why);
    rd_kafka_destroy(rk);
    return BROOK_ERR__BAD_CONFIG;
  }
  for (int i = 0; configs && configs[i]; i += 2) {
    rd_kafka_resp_err_t e = rd_kafka_NewTopic_set_config(nt, configs[i], configs[i + 1]);
    if (e) {
      snprintf(errstr, errstr_size, "cannot create topic %s: config %s=%s: %s", topic, configs[i],
               configs[i + 1] ? configs[i + 1] : "null", rd_kafka_err2str(e));
      rd_kafka_NewTopic_destroy(nt);
      rd_kafka_destroy(rk);
      return BROOK_ERR__BAD_CONFIG;
    }
  }
  rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_TIMEOUT_MS, why, sizeof why);
  rd_kafka_AdminOptions_set_operation_timeout(opts, ADMIN_TIMEOUT_MS, why, sizeof why);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 5000);
  if (!ev) {
    snprintf(errstr, errstr_size, "cannot create topic %s: no answer within %d ms", topic,
             ADMIN_TIMEOUT_MS + 5000);
    err = BROOK_ERR__TIMED_OUT;
  } else if (rd_kafka_event_error(ev)) {
    snprintf(errstr, errstr_size, "cannot create topic %s: %s", topic, rd_kafka_event_error_string(ev));
    err = err_from_rd(rd_kafka_event_error(ev));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rd_kafka_resp_err_t e = n == 1 ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__FAIL;
    if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      int32_t have = partition_count(rk, topic, &err, errstr, errstr_size);
      if (have < 0) {
        /* deleted in between: report it as it is */
      } else if (if_not_exists && have == partitions) {
        err = BROOK_ERR_NONE;
      } else if (have != partitions) {
        snprintf(errstr, errstr_size, "topic %s exists already with %" PRId32 " partitions, not %" PRId32,
                 topic, have, partitions);
        err = BROOK_ERR_TOPIC_ALREADY_EXISTS;
      } else {
        snprintf(errstr, errstr_size, "topic %s exists already (with %" PRId32 " partitions)", topic, have);
        err = BROOK_ERR_TOPIC_ALREADY_EXISTS;
      }
    } else if (e) {
      const char *msg = n == 1 ? rd_kafka_topic_result_error_string(res[0]) : NULL;
      snprintf(errstr, errstr_size, "cannot create topic %s: %s", topic,
               msg && *msg ? msg : rd_kafka_err2str(e));
      err = err_from_rd(e);
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_destroy(rk);
  return err;
}

/* ---- producer ---- */

struct brook_producer {
  rd_kafka_t *rk;
  brook_serde_buf_t kbuf, vbuf; /* reused by send */
  /* The first delivery error since the last flush. */
  rd_kafka_resp_err_t dr_err;
  char *dr_topic;
  int32_t dr_partition;
};

/* @locality the thread calling flush/send (librdkafka serves reports there) */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  brook_producer_t *producer = opaque;
  (void)rk;
  if (!m->err || producer->dr_err) return;
  producer->dr_err = m->err;
  producer->dr_topic = g_strdup(rd_kafka_topic_name(m->rkt));
  producer->dr_partition = m->partition;
}

brook_producer_t *brook_producer_new(const char *bootstrap_servers, char *errstr, size_t errstr_size) {
  brook_producer_t *producer = g_new0(brook_producer_t, 1);
  /* clang-format off */
  static const char *const kv[] = {
      "acks", "all",
      "enable.idempotence", "true",
      "partitioner", "murmur2_random", /* Java's placement of keyed records */
      "linger.ms", "5",
      NULL,
  };
  /* clang-format on */
  producer->rk =
      client_new(RD_KAFKA_PRODUCER, bootstrap_servers, kv, on_delivery, producer, errstr, errstr_size);
  if (!producer->rk) {
    g_free(producer);
    return NULL;
  }
  brook_serde_buf_init(&producer->kbuf);
  brook_serde_buf_init(&producer->vbuf);
  return producer;
}

brook_err_t brook_producer_send_bytes(brook_producer_t *producer, const char *topic, int32_t partition,
                                      const void *key, size_t key_len, const void *value, size_t value_len,
                                      int64_t timestamp, char *errstr, size_t errstr_size) {
  /* A full queue drains as the broker acknowledges; wait for it, not forever. */
  gint64 deadline = g_get_monotonic_time() + (gint64)ADMIN_TIMEOUT_MS * 1000;
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        producer->rk, RD_KAFKA_V_TOPIC(topic),
        RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_KEY(key, key ? key_len : 0), RD_KAFKA_V_VALUE((void *)value, value ? value_len : 0),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestamp < 0 ? 0 : timestamp),
        RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && g_get_monotonic_time() < deadline) {
      rd_kafka_poll(producer->rk, 10);
      continue;
    }
    rd_kafka_poll(producer->rk, 0);
    if (!e) return BROOK_ERR_NONE;
    snprintf(errstr, errstr_size, "cannot send to topic %s partition %" PRId32 ": %s", topic, partition,
             rd_kafka_err2str(e));
    return err_from_rd(e);
  }
}

brook_err_t brook_producer_send(brook_producer_t *producer, const char *topic, int32_t partition,
                                brook_serde_t *key_serde, const void *key, brook_serde_t *value_serde,
                                const void *value, int64_t timestamp, char *errstr, size_t errstr_size) {
  struct {
    brook_serde_t *serde;
    const void *v;
    brook_serde_buf_t *buf;
    const char *what;
  } parts[2] = {{key_serde, key, &producer->kbuf, "key"}, {value_serde, value, &producer->vbuf, "value"}};
  const void *data[2] = {NULL, NULL};
  size_t len[2] = {0, 0};
  for (int i = 0; i < 2; i++) {
    if (!parts[i].v) continue; /* null */
    if (!parts[i].serde) {
      snprintf(errstr, errstr_size, "cannot send to topic %s: a %s without a serde", topic, parts[i].what);
      return BROOK_ERR__FAIL;
    }
    char why[512];
    brook_err_t err = brook_serde_serialize(parts[i].serde, topic, parts[i].v, parts[i].buf, why, sizeof why);
    if (err) {
      snprintf(errstr, errstr_size, "cannot send to topic %s: %s: %s", topic, parts[i].what, why);
      return err;
    }
    if (parts[i].buf->is_null) continue;
    /* Empty is not null: hand librdkafka a non-NULL pointer. */
    data[i] = parts[i].buf->data ? (const void *)parts[i].buf->data : (const void *)"";
    len[i] = parts[i].buf->len;
  }
  return brook_producer_send_bytes(producer, topic, partition, data[0], len[0], data[1], len[1], timestamp,
                                   errstr, errstr_size);
}

brook_err_t brook_producer_flush(brook_producer_t *producer, int timeout_ms, char *errstr,
                                 size_t errstr_size) {
  rd_kafka_resp_err_t e = rd_kafka_flush(producer->rk, timeout_ms);
  brook_err_t err = BROOK_ERR_NONE;
  if (producer->dr_err) {
    snprintf(errstr, errstr_size, "a record to topic %s partition %" PRId32 " was not written: %s",
             producer->dr_topic, producer->dr_partition, rd_kafka_err2str(producer->dr_err));
    err = err_from_rd(producer->dr_err);
    if (!err) err = BROOK_ERR__FAIL;
    producer->dr_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    g_free(producer->dr_topic);
    producer->dr_topic = NULL;
  } else if (e) {
    snprintf(errstr, errstr_size, "flush: %d records not acknowledged after %d ms",
             rd_kafka_outq_len(producer->rk), timeout_ms);
    err = BROOK_ERR__TIMED_OUT;
  }
  return err;
}

void brook_producer_destroy(brook_producer_t *producer) {
  if (!producer) return;
  rd_kafka_flush(producer->rk, 10000);
  rd_kafka_destroy(producer->rk);
  brook_serde_buf_clear(&producer->kbuf);
  brook_serde_buf_clear(&producer->vbuf);
  g_free(producer->dr_topic);
  g_free(producer);
}

/* ---- reader ---- */

typedef struct reader_part {
  GQueue pending;  /* rd_kafka_message_t *, fetched and not delivered, offset order */
  int64_t fetched; /* the fetch position: offset after the last record or EOF seen */
  int64_t target;  /* this read's end offset (high watermark when the read began) */
} reader_part_t;

struct brook_reader {
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  rd_kafka_queue_t *queue;
  char *topic;
  brook_serde_t *key_serde, *value_serde;
  int32_t partitions;
  reader_part_t *parts;
  scratch_t *scratch;
};

brook_reader_t *brook_reader_new(const char *bootstrap_servers, const char *topic, brook_serde_t *key_serde,
                                 brook_serde_t *value_serde, char *errstr, size_t errstr_size) {
  /* clang-format off */
  static const char *const kv[] = {
      "enable.partition.eof", "true",
      "auto.offset.reset", "earliest",
      "queued.max.messages.kbytes", "1024", /* bounds what is prefetched between reads */
      "fetch.wait.max.ms", "50",
      "enable.auto.commit", "false",        /* no group: nothing to commit to */
      "enable.auto.offset.store", "false",
      NULL,
  };
  /* clang-format on */
  rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, bootstrap_servers, kv, NULL, NULL, errstr, errstr_size);
  if (!rk) return NULL;
  brook_err_t err;
  int32_t n = partition_count(rk, topic, &err, errstr, errstr_size);
  if (n < 0) {
    rd_kafka_destroy(rk);
    return NULL;
  }
  brook_reader_t *reader = g_new0(brook_reader_t, 1);
  reader->rk = rk;
  reader->topic = g_strdup(topic);
  reader->rkt = rd_kafka_topic_new(rk, topic, NULL);
  reader->queue = rd_kafka_queue_new(rk);
  reader->key_serde = key_serde ? brook_serde_ref(key_serde) : brook_serde_bytes_new();
  reader->value_serde = value_serde ? brook_serde_ref(value_serde) : brook_serde_bytes_new();
  reader->partitions = n;
  reader->parts = g_new0(reader_part_t, n);
  reader->scratch = scratch_new();
  for (int32_t p = 0; p < n; p++) {
    g_queue_init(&reader->parts[p].pending);
    if (rd_kafka_consume_start_queue(reader->rkt, p, RD_KAFKA_OFFSET_BEGINNING, reader->queue) == -1) {
      snprintf(errstr, errstr_size, "cannot read topic %s partition %" PRId32 ": %s", topic, p,
               rd_kafka_err2str(rd_kafka_last_error()));
      reader->partitions = p; /* only those started are stopped */
      brook_reader_destroy(reader);
      return NULL;
    }
  }
  return reader;
}

/* Takes one message off the queue into its partition's pending list.
 * Returns false on a consumer error (errstr set). */
static bool reader_take(brook_reader_t *reader, rd_kafka_message_t *m, char *errstr, size_t errstr_size) {
  if (m->partition < 0 || m->partition >= reader->partitions) {
    rd_kafka_message_destroy(m);
    return true;
  }
  reader_part_t *part = &reader->parts[m->partition];
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    part->fetched = MAX(part->fetched, m->offset);
    rd_kafka_message_destroy(m);
    return true;
  }
  if (m->err) {
    snprintf(errstr, errstr_size, "reading topic %s partition %" PRId32 ": %s", reader->topic, m->partition,
             rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
    return false;
  }
  part->fetched = MAX(part->fetched, m->offset + 1);
  g_queue_push_tail(&part->pending, m);
  return true;
}

/* Hands one message to fn, typed. BROOK_ERR_NONE or a deserialization error. */
static brook_err_t reader_deliver(brook_reader_t *reader, rd_kafka_message_t *m,
                                  void (*fn)(const brook_read_record_t *r, void *opaque), void *opaque,
                                  char *errstr, size_t errstr_size) {
  void *key = NULL, *value = NULL;
  char why[512];
  brook_err_t err =
      brook_serde_deserialize(reader->key_serde, reader->topic, m->key, m->key_len, &key, why, sizeof why);
  if (err) {
    snprintf(errstr, errstr_size, "topic %s partition %" PRId32 " offset %" PRId64 ": key: %s", reader->topic,
             m->partition, m->offset, why);
    return err;
  }
  err = brook_serde_deserialize(reader->value_serde, reader->topic, m->payload, m->len, &value, why,
                                sizeof why);
  if (err) {
    brook_serde_free_value(reader->key_serde, key);
    snprintf(errstr, errstr_size, "topic %s partition %" PRId32 " offset %" PRId64 ": value: %s",
             reader->topic, m->partition, m->offset, why);
    return err;
  }
  /* Headers point into the message, which outlives the callback. */
  rd_kafka_headers_t *hdrs = NULL;
  size_t count = 0;
  if (!rd_kafka_message_headers(m, &hdrs)) count = rd_kafka_header_cnt(hdrs);
  task_header_t *raw = count ? g_new(task_header_t, count) : NULL;
  for (size_t i = 0; i < count; i++) {
    const void *v;
    size_t vlen;
    rd_kafka_header_get_all(hdrs, i, &raw[i].name, &v, &vlen);
    raw[i].value = v;
    raw[i].value_len = vlen;
  }
  scratch_t *prev = scratch_enter(reader->scratch);
  brook_record_t rec = {
      .key = key,
      .value = value,
      .timestamp = rd_kafka_message_timestamp(m, NULL),
      .headers = scratch_headers_new(raw, count),
  };
  brook_read_record_t r = {
      .rec = &rec, .topic = reader->topic, .partition = m->partition, .offset = m->offset};
  fn(&r, opaque);
  scratch_reset(reader->scratch);
  scratch_enter(prev);
  g_free(raw);
  brook_serde_free_value(reader->key_serde, key);
  brook_serde_free_value(reader->value_serde, value);
  return BROOK_ERR_NONE;
}

int64_t brook_reader_read(brook_reader_t *reader, void (*fn)(const brook_read_record_t *r, void *opaque),
                          void *opaque, int timeout_ms, char *errstr, size_t errstr_size) {
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  /* 1. Where the partitions end now. */
  for (int32_t p = 0; p < reader->partitions; p++) {
    int64_t low = 0, high = 0;
    gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(reader->rk, reader->topic, p, &low, &high,
                                                             (int)CLAMP(left_ms, 1, WATERMARK_TIMEOUT_MS));
    if (e) {
      snprintf(errstr, errstr_size, "end offset of topic %s partition %" PRId32 ": %s", reader->topic, p,
               rd_kafka_err2str(e));
      return -1;
    }
    /* Deleted records (low > 0) need no care: the fetch starts at the log
     * start, and a PARTITION_EOF at `high` ends an empty log. */
    reader->parts[p].target = high;
  }
  /* 2. Fetch until every partition has reached its end offset. */
  for (;;) {
    int32_t behind = -1;
    for (int32_t p = 0; p < reader->partitions && behind < 0; p++)
      if (reader->parts[p].fetched < reader->parts[p].target) behind = p;
    if (behind < 0) break;
    gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
    if (left_ms <= 0) {
      reader_part_t *part = &reader->parts[behind];
      snprintf(errstr, errstr_size,
               "reading topic %s timed out after %d ms: partition %" PRId32 " at offset %" PRId64
               " of %" PRId64,
               reader->topic, timeout_ms, behind, part->fetched, part->target);
      return -1;
    }
    rd_kafka_message_t *m = rd_kafka_consume_queue(reader->queue, (int)MIN(left_ms, 100));
    if (m && !reader_take(reader, m, errstr, errstr_size)) return -1;
  }
  /* 3. Deliver, partition by partition, up to the end offsets. */
  int64_t n = 0;
  for (int32_t p = 0; p < reader->partitions; p++) {
    reader_part_t *part = &reader->parts[p];
    rd_kafka_message_t *m;
    while ((m = g_queue_peek_head(&part->pending)) && m->offset < part->target) {
      if (reader_deliver(reader, m, fn, opaque, errstr, errstr_size)) return -1; /* stays pending */
      g_queue_pop_head(&part->pending);
      rd_kafka_message_destroy(m);
      n++;
    }
  }
  return n;
}

void brook_reader_destroy(brook_reader_t *reader) {
  if (!reader) return;
  for (int32_t p = 0; p < reader->partitions; p++) rd_kafka_consume_stop(reader->rkt, p);
  rd_kafka_message_t *m;
  for (int32_t p = 0; p < reader->partitions; p++)
    while ((m = g_queue_pop_head(&reader->parts[p].pending))) rd_kafka_message_destroy(m);
  /* Messages still queued hold references to the handle: drain them. */
  while ((m = rd_kafka_consume_queue(reader->queue, 0))) rd_kafka_message_destroy(m);
  rd_kafka_queue_destroy(reader->queue);
  rd_kafka_topic_destroy(reader->rkt);
  rd_kafka_destroy(reader->rk);
  brook_serde_unref(reader->key_serde);
  brook_serde_unref(reader->value_serde);
  scratch_destroy(reader->scratch);
  g_free(reader->parts);
  g_free(reader->topic);
  g_free(reader);
}
