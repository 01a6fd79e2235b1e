/*
 * group_log.c — the group coordinator's records in __consumer_offsets, in
 * Kafka's formats, so that the topic reads as it does on a Kafka broker.
 *
 * Design note
 *  - Record kinds (key version decides; values are big-endian, strings int16
 *    length, bytes int32 length, arrays int32 count; a null value is a
 *    tombstone):
 *      offset commit   key v1: group, topic, partition
 *                      value v3: offset, leader epoch, metadata, commit ts
 *                      (v1 with an expire timestamp when a v2-4 commit gave
 *                      a retention); v0-v3 are all read back.
 *      group metadata  key v2: group
 *                      value v3: protocol type, generation, protocol, leader,
 *                      state timestamp, members (id, instance id, client id,
 *                      host, rebalance/session timeouts, subscription,
 *                      assignment); v0-v3 are read back.
 *  - A group's records all go to partition group_partition_for(id), in one
 *    batch per call, appended straight to the partition's log (the same
 *    durability as a produced batch: see docs/broker.md).
 *  - Loading (start-up) replays every partition from its log start offset;
 *    the last record per key wins, a tombstone deletes. Groups come back
 *    Stable with their members (who then have one session timeout to
 *    heartbeat) or Empty.
 *  - Bounded size without a log cleaner, "compaction by rewrite": once a
 *    partition has grown by offsets.topic.segment.bytes since its last
 *    rewrite, the live records of its groups are appended again and the log
 *    start offset moves to the first of them (whole older segments are then
 *    deleted). The log is thus at most about two segments plus the live
 *    state, and replaying it still yields exactly the live state. A crash
 *    between the append and the move only leaves duplicates, which replay
 *    collapses.
 * @locality broker loop.
 */
#include "batch.h"
#include "blog.h"
#include "group.h"

#define REWRITE_BATCH_RECORDS 500

static void put_str(brook_buf_t *buf, const char *s) {
  if (!s) {
    brook_buf_put_i16(buf, -1);
    return;
  }
  size_t n = strlen(s);
  brook_buf_put_i16(buf, (int16_t)n);
  brook_buf_put(buf, s, n);
}

static void put_gbytes(brook_buf_t *buf, GBytes *bytes) {
  gsize n = 0;
  const void *p = bytes ? g_bytes_get_data(bytes, &n) : NULL;
  brook_buf_put_i32(buf, (int32_t)n);
  if (n) brook_buf_put(buf, p, n);
}

static void offset_key(brook_buf_t *buf, const char *group, const char *topic, int32_t partition) {
  brook_buf_put_i16(buf, 1);
  put_str(buf, group);
  put_str(buf, topic);
  brook_buf_put_i32(buf, partition);
}

static void offset_value(brook_buf_t *buf, const group_offset_t *o) {
  if (o->expire_ts >= 0) {
    brook_buf_put_i16(buf, 1);
    brook_buf_put_i64(buf, o->offset);
    put_str(buf, o->metadata ? o->metadata : "");
    brook_buf_put_i64(buf, o->commit_ts);
    brook_buf_put_i64(buf, o->expire_ts);
    return;
  }
  brook_buf_put_i16(buf, 3);
  brook_buf_put_i64(buf, o->offset);
  brook_buf_put_i32(buf, o->leader_epoch);
  put_str(buf, o->metadata ? o->metadata : "");
  brook_buf_put_i64(buf, o->commit_ts);
}

static void group_key(brook_buf_t *buf, const char *group) {
  brook_buf_put_i16(buf, 2);
  put_str(buf, group);
}

static void group_value(brook_buf_t *buf, group_t *g) {
  brook_buf_put_i16(buf, 3);
  put_str(buf, g->protocol_type ? g->protocol_type : "");
  brook_buf_put_i32(buf, g->generation);
  put_str(buf, g->protocol);
  put_str(buf, g->leader);
  brook_buf_put_i64(buf, g->state_ts_ms);
  bool with_members = g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE;
  brook_buf_put_i32(buf, with_members ? (int32_t)g_hash_table_size(g->members) : 0);
  if (!with_members) return;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    member_t *m = v;
    put_str(buf, m->id);
    put_str(buf, m->instance_id);
    put_str(buf, m->client_id);
    put_str(buf, m->client_host);
    brook_buf_put_i32(buf, m->rebalance_timeout_ms);
    brook_buf_put_i32(buf, m->session_timeout_ms);
    GBytes *sub = NULL;
    for (int i = 0; i < m->nprotocols && g->protocol; i++)
      if (!strcmp(m->protocols[i].name, g->protocol)) sub = m->protocols[i].metadata;
    put_gbytes(buf, sub);
    put_gbytes(buf, m->assignment);
  }
}

/* ---- appending ---- */

typedef struct writer {
  brook_batch_builder_t bb;
  brook_buf_t key, value;
  int64_t now;
} writer_t;

static void writer_init(writer_t *w) {
  w->now = broker_now_ms();
  brook_batch_builder_init(&w->bb, 0, w->now);
  brook_buf_init(&w->key);
  brook_buf_init(&w->value);
}

/* Adds the record built in w->key / w->value (value_null: tombstone). */
static void writer_add(writer_t *w, bool value_null) {
  brook_bytes_t k = {w->key.data, (int32_t)w->key.len};
  brook_bytes_t v = value_null ? (brook_bytes_t){NULL, -1} : (brook_bytes_t){w->value.data, (int32_t)w->value.len};
  brook_batch_builder_add(&w->bb, w->now, k, v);
  brook_buf_reset(&w->key);
  brook_buf_reset(&w->value);
}

/* Appends the batch (if it has records) to the group's partition; frees w.
 * *first_offset gets the batch's base offset. */
static brook_err_t writer_flush(brook_broker_t *b, writer_t *w, int32_t log_partition, int64_t *first_offset,
                                bool done) {
  brook_err_t err = BROOK_ERR_NONE;
  if (w->bb.count > 0) {
    partition_t *part = b->groups->topic ? topic_partition(b->groups->topic, log_partition) : NULL;
    brook_buf_t out;
    brook_buf_init(&out);
    err = part ? brook_batch_builder_finish(&w->bb, &out) : BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
    if (!err) {
      brook_append_info_t ai;
      err = brook_log_append(part->log, out.data, out.len, w->now, &ai);
      if (!err) {
        b->data_appended = true;
        if (first_offset && *first_offset < 0) *first_offset = ai.first_offset;
      } else {
        brook_log(BROOK_LOG_ERR, "group", "cannot append to %s-%d: %s", GROUP_OFFSETS_TOPIC, log_partition,
                  brook_err_name(err));
        err = BROOK_ERR_NOT_COORDINATOR; /* as Kafka maps a storage error on the offsets topic */
      }
    }
    brook_buf_free(&out);
    brook_batch_builder_free(&w->bb);
    brook_batch_builder_init(&w->bb, 0, w->now);
  }
  if (done) {
    brook_batch_builder_free(&w->bb);
    brook_buf_free(&w->key);
    brook_buf_free(&w->value);
  }
  return err;
}

brook_err_t group_log_offsets(brook_broker_t *b, group_t *g, GPtrArray *tps, const group_offset_t *values) {
  if (group_coord_ensure_topic(b)) return BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
  writer_t w;
  writer_init(&w);
  for (guint i = 0; i < tps->len; i++) {
    group_tp_t *tp = tps->pdata[i];
    offset_key(&w.key, g->id, tp->topic, tp->partition);
    if (values) offset_value(&w.value, &values[i]);
    writer_add(&w, values == NULL);
  }
  brook_err_t err = writer_flush(b, &w, g->log_partition, NULL, true);
  if (!err) group_log_maybe_rewrite(b, g->log_partition);
  return err;
}

brook_err_t group_log_group(brook_broker_t *b, group_t *g) {
  if (group_coord_ensure_topic(b)) return BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
  writer_t w;
  writer_init(&w);
  group_key(&w.key, g->id);
  group_value(&w.value, g);
  writer_add(&w, false);
  brook_err_t err = writer_flush(b, &w, g->log_partition, NULL, true);
  if (!err) group_log_maybe_rewrite(b, g->log_partition);
  return err;
}

brook_err_t group_log_delete_group(brook_broker_t *b, group_t *g) {
  if (group_coord_ensure_topic(b)) return BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
  writer_t w;
  writer_init(&w);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->offsets);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    group_tp_t *tp = k;
    offset_key(&w.key, g->id, tp->topic, tp->partition);
    writer_add(&w, true);
  }
  group_key(&w.key, g->id);
  writer_add(&w, true);
  return writer_flush(b, &w, g->log_partition, NULL, true);
}

void group_log_maybe_rewrite(brook_broker_t *b, int32_t log_partition) {
  group_coord_t *gc = b->groups;
  partition_t *part = gc->topic ? topic_partition(gc->topic, log_partition) : NULL;
  if (!part || log_partition >= gc->nrewrite) return;
  int64_t size = brook_log_size_bytes(part->log);
  if (size - gc->rewrite_from[log_partition] <= b->bconf.offsets_topic_segment_bytes) return;
  writer_t w;
  writer_init(&w);
  int64_t first = -1;
  brook_err_t err = BROOK_ERR_NONE;
  uint64_t nrec = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, gc->groups);
  while (!err && g_hash_table_iter_next(&it, &k, &v)) {
    group_t *g = v;
    if (g->log_partition != log_partition) continue;
    if (g->protocol_type) {
      group_key(&w.key, g->id);
      group_value(&w.value, g);
      writer_add(&w, false);
      nrec++;
    }
    GHashTableIter oit;
    gpointer ok, ov;
    g_hash_table_iter_init(&oit, g->offsets);
    while (!err && g_hash_table_iter_next(&oit, &ok, &ov)) {
      group_tp_t *tp = ok;
      offset_key(&w.key, g->id, tp->topic, tp->partition);
      offset_value(&w.value, ov);
      writer_add(&w, false);
      if (++nrec % REWRITE_BATCH_RECORDS == 0) err = writer_flush(b, &w, log_partition, &first, false);
    }
  }
  if (!err) err = writer_flush(b, &w, log_partition, &first, true);
  else writer_flush(b, &w, log_partition, NULL, true);
  if (err) return; /* try again after the next append */
  int64_t start = first >= 0 ? first : brook_log_end_offset(part->log);
  if (brook_log_delete_records_before(part->log, start) == BROOK_ERR_NONE) {
    gc->rewrite_from[log_partition] = brook_log_size_bytes(part->log);
    brook_log(BROOK_LOG_INFO, "group",
              "%s-%d: rewrote %" G_GUINT64_FORMAT " live record(s); log start offset now %" PRId64 ", %" PRId64
              " bytes on disk",
              GROUP_OFFSETS_TOPIC, log_partition, nrec, start, gc->rewrite_from[log_partition]);
  }
}

/* ---- reading back ---- */

static bool rd_str(brook_rd_t *rd, brook_str_t *s) {
  int16_t n = brook_rd_i16(rd);
  if (n < 0) {
    *s = BROOK_STR_NULL;
    return !rd->err;
  }
  s->ptr = (const char *)brook_rd_take(rd, (size_t)n);
  s->len = n;
  return !rd->err;
}

brook_err_t group_record_key_decode(const uint8_t *p, size_t len, group_record_key_t *key) {
  brook_rd_t rd;
  brook_rd_init(&rd, p, len);
  memset(key, 0, sizeof *key);
  key->version = brook_rd_i16(&rd);
  if (key->version == 0 || key->version == 1) {
    rd_str(&rd, &key->group);
    rd_str(&rd, &key->topic);
    key->partition = brook_rd_i32(&rd);
  } else if (key->version == 2) {
    rd_str(&rd, &key->group);
  } else {
    return BROOK_ERR__MALFORMED;
  }
  return rd.err || key->group.len < 0 ? BROOK_ERR__MALFORMED : BROOK_ERR_NONE;
}

static brook_err_t load_offset(group_t *g, const group_record_key_t *key, const uint8_t *p, size_t len) {
  char *topic = group_str_or_null(key->topic);
  if (!topic) return BROOK_ERR__MALFORMED;
  if (!p) {
    group_offset_delete(g, topic, key->partition);
    g_free(topic);
    return BROOK_ERR_NONE;
  }
  brook_rd_t rd;
  brook_rd_init(&rd, p, len);
  int16_t v = brook_rd_i16(&rd);
  int64_t offset = brook_rd_i64(&rd);
  int32_t epoch = v >= 3 ? brook_rd_i32(&rd) : -1;
  brook_str_t md;
  rd_str(&rd, &md);
  int64_t commit_ts = brook_rd_i64(&rd);
  int64_t expire_ts = v == 1 ? brook_rd_i64(&rd) : -1;
  if (rd.err || v < 0 || v > 3) {
    g_free(topic);
    return BROOK_ERR__MALFORMED;
  }
  group_offset_set(g, topic, key->partition, offset, epoch, group_str_or_null(md), commit_ts, expire_ts);
  g_free(topic);
  return BROOK_ERR_NONE;
}

static brook_err_t load_group(brook_broker_t *b, group_t *g, const uint8_t *p, size_t len) {
  /* drop what an earlier record of this group said */
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v)) group_member_free(b, v);
  g_hash_table_remove_all(g->members);
  g_hash_table_remove_all(g->static_members);
  g_clear_pointer(&g->protocol_type, g_free);
  g_clear_pointer(&g->protocol, g_free);
  g_clear_pointer(&g->leader, g_free);
  g->state = GROUP_EMPTY;
  if (!p) return BROOK_ERR_NONE; /* tombstone */

  brook_rd_t rd;
  brook_rd_init(&rd, p, len);
  int16_t ver = brook_rd_i16(&rd);
  brook_str_t ptype, proto, leader;
  rd_str(&rd, &ptype);
  int32_t generation = brook_rd_i32(&rd);
  rd_str(&rd, &proto);
  rd_str(&rd, &leader);
  int64_t state_ts = ver >= 2 ? brook_rd_i64(&rd) : -1;
  int32_t n = brook_rd_i32(&rd);
  if (rd.err || ver < 0 || ver > 3 || n < 0) return BROOK_ERR__MALFORMED;
  g->protocol_type = ptype.len > 0 ? group_str_or_null(ptype) : NULL;
  g->generation = generation;
  g->protocol = group_str_or_null(proto);
  g->leader = group_str_or_null(leader);
  g->state_ts_ms = state_ts >= 0 ? state_ts : broker_now_ms();
  for (int32_t i = 0; i < n && !rd.err; i++) {
    brook_str_t id, inst, client, host;
    rd_str(&rd, &id);
    if (ver >= 3) rd_str(&rd, &inst);
    else inst = BROOK_STR_NULL;
    rd_str(&rd, &client);
    rd_str(&rd, &host);
    int32_t rebalance_timeout = ver >= 1 ? brook_rd_i32(&rd) : -1;
    int32_t session_timeout = brook_rd_i32(&rd);
    int32_t sublen = brook_rd_i32(&rd);
    const uint8_t *sub = sublen > 0 ? brook_rd_take(&rd, (size_t)sublen) : NULL;
    int32_t alen = brook_rd_i32(&rd);
    const uint8_t *asg = alen > 0 ? brook_rd_take(&rd, (size_t)alen) : NULL;
    if (rd.err || id.len <= 0) return BROOK_ERR__MALFORMED;
    member_t *m = g_new0(member_t, 1);
    m->group = g;
    m->id = group_str_or_null(id);
    m->instance_id = group_str_or_null(inst);
    m->client_id = group_str_or_null(client);
    m->client_host = group_str_or_null(host);
    m->session_timeout_ms = session_timeout;
    m->rebalance_timeout_ms = rebalance_timeout >= 0 ? rebalance_timeout : session_timeout;
    m->protocol_type = g_strdup(g->protocol_type ? g->protocol_type : "");
    m->nprotocols = g->protocol ? 1 : 0;
    m->protocols = g_new0(member_protocol_t, 2);
    if (g->protocol) {
      m->protocols[0].name = g_strdup(g->protocol);
      m->protocols[0].metadata = g_bytes_new(sub, (gsize)MAX(sublen, 0));
    }
    m->assignment = g_bytes_new(asg, (gsize)MAX(alen, 0));
    g_hash_table_insert(g->members, m->id, m);
    if (m->instance_id) g_hash_table_insert(g->static_members, m->instance_id, m);
  }
  if (rd.err) return BROOK_ERR__MALFORMED;
  g->state = g_hash_table_size(g->members) ? GROUP_STABLE : GROUP_EMPTY;
  return BROOK_ERR_NONE;
}

static brook_err_t load_record(brook_broker_t *b, GHashTable *with_metadata, const brook_record_t *rec) {
  group_record_key_t key;
  if (rec->key.len < 0 || group_record_key_decode(rec->key.ptr, (size_t)rec->key.len, &key))
    return BROOK_ERR__MALFORMED;
  char *gid = group_str_or_null(key.group);
  group_t *g = group_get_or_create(b, gid);
  g_free(gid);
  const uint8_t *val = rec->value.len >= 0 ? rec->value.ptr : NULL;
  size_t vlen = rec->value.len >= 0 ? (size_t)rec->value.len : 0;
  if (key.version == 2) {
    if (val) g_hash_table_add(with_metadata, g->id);
    else g_hash_table_remove(with_metadata, g->id);
    return load_group(b, g, val, vlen);
  }
  return load_offset(g, &key, val, vlen);
}

static brook_err_t load_partition(brook_broker_t *b, partition_t *part, GHashTable *with_metadata, uint64_t *nrec,
                                  char *errstr, size_t errstr_size) {
  int64_t start = brook_log_start_offset(part->log), end = brook_log_end_offset(part->log);
  int64_t next = start;
  brook_buf_t buf;
  brook_buf_init(&buf);
  brook_err_t err = BROOK_ERR_NONE;
  while (next < end && !err) {
    brook_buf_reset(&buf);
    err = brook_log_read_copy(part->log, next, 1 << 20, end, &buf);
    if (err || buf.len == 0) break;
    size_t off = 0;
    while (off + BROOK_BATCH_HDR_SIZE <= buf.len && !err) {
      brook_batch_hdr_t h;
      brook_batch_hdr_parse(buf.data + off, &h);
      size_t size = (size_t)brook_batch_size(&h);
      if (off + size > buf.len) break;
      next = brook_batch_last_offset(&h) + 1;
      if (!(h.attributes & BROOK_BATCH_ATTR_CONTROL)) {
        brook_batch_iter_t it;
        brook_record_t rec;
        err = brook_batch_iter_init(&it, buf.data + off, size);
        int r = 0;
        while (!err && (r = brook_batch_iter_next(&it, &rec)) == 1) {
          if (rec.offset < start) continue;
          brook_err_t rerr = load_record(b, with_metadata, &rec);
          if (rerr)
            brook_log(BROOK_LOG_WARNING, "group", "%s-%d offset %" PRId64 ": unreadable record skipped",
                      GROUP_OFFSETS_TOPIC, part->index, rec.offset);
          (*nrec)++;
        }
        if (!err && r < 0) err = it.err ? it.err : BROOK_ERR_CORRUPT_MESSAGE;
        brook_batch_iter_free(&it);
      }
      off += size;
    }
  }
  brook_buf_free(&buf);
  if (err) snprintf(errstr, errstr_size, "cannot load %s-%d: %s", GROUP_OFFSETS_TOPIC, part->index, brook_err_str(err));
  return err;
}

brook_err_t group_log_load(brook_broker_t *b, char *errstr, size_t errstr_size) {
  group_coord_t *gc = b->groups;
  GHashTable *with_metadata = g_hash_table_new(g_str_hash, g_str_equal);
  uint64_t nrec = 0;
  brook_err_t err = BROOK_ERR_NONE;
  for (int32_t i = 0; i < gc->topic->nparts && !err; i++)
    err = load_partition(b, gc->topic->parts[i], with_metadata, &nrec, errstr, errstr_size);
  /* groups left with neither metadata nor offsets are gone */
  GPtrArray *gone = g_ptr_array_new();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, gc->groups);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    group_t *g = v;
    if (!g_hash_table_contains(with_metadata, g->id) && g_hash_table_size(g->offsets) == 0) g_ptr_array_add(gone, g);
    else group_sessions_restart(b, g); /* loaded members get one session timeout to show up */
  }
  for (guint i = 0; i < gone->len; i++) group_remove(b, gone->pdata[i]);
  g_ptr_array_free(gone, TRUE);
  g_hash_table_destroy(with_metadata);
  if (!err)
    brook_log(BROOK_LOG_INFO, "group", "loaded %u group(s) from %" G_GUINT64_FORMAT " record(s) of %s",
              g_hash_table_size(gc->groups), nrec, GROUP_OFFSETS_TOPIC);
  return err;
}
