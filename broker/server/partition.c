/*
 * partition.c — one partition: its log plus idempotent-producer state, and
 * the produce path (validate -> sequence check -> [recompress] -> append).
 *
 * Design note: idempotent producers
 *  - Per producer id we keep the epoch and the last five appended batches
 *    (first/last sequence, first/last offset), as Kafka does; a producer
 *    keeps at most five requests in flight per partition, so a retry always
 *    finds its batch here.
 *  - For a batch (pid, epoch, first..last seq):
 *      epoch <  known epoch                     -> INVALID_PRODUCER_EPOCH
 *      epoch >  known epoch, first seq != 0     -> OUT_OF_ORDER_SEQUENCE_NUMBER
 *      same epoch, matches a cached batch       -> success, original offsets (no append)
 *      same epoch, first == last cached + 1     -> append
 *      same epoch, at or below the cached range -> DUPLICATE_SEQUENCE_NUMBER
 *                                                  (an old duplicate we can no longer
 *                                                  give offsets for; clients treat it
 *                                                  as success)
 *      same epoch, any other gap                -> OUT_OF_ORDER_SEQUENCE_NUMBER
 *      unknown pid, first seq == 0              -> append, start tracking
 *      unknown pid, first seq != 0              -> UNKNOWN_PRODUCER_ID
 *    Sequences wrap from INT32_MAX to 0.
 *  - Persistence: a snapshot file <20-digit offset>.snapshot (this project's
 *    text format) is written at clean shutdown. At open, state is the newest
 *    snapshot plus a header-only scan of the batches after it (or of the whole
 *    log when there is none), so an unclean stop loses no sequence state.
 * @locality broker loop.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "batch.h"
#include "blog.h"
#include "broker_int.h"

#define SNAPSHOT_MAGIC "brook-producer-snapshot 1"

static int32_t seq_add(int32_t seq, int32_t n) {
  int64_t v = (int64_t)seq + n;
  return (int32_t)(v > INT32_MAX ? v - INT32_MAX - 1 : v);
}

/* a precedes b in the 31-bit wrapping sequence space */
static bool seq_before(int32_t a, int32_t b) {
  int64_t d = (int64_t)a - b;
  if (d < -(1LL << 30)) d += (1LL << 31);
  else if (d > (1LL << 30)) d -= (1LL << 31);
  return d < 0;
}

static producer_state_t *producer_get(partition_t *part, int64_t pid, bool create) {
  producer_state_t *ps = g_hash_table_lookup(part->producers, &pid);
  if (!ps && create) {
    ps = g_new0(producer_state_t, 1);
    ps->producer_id = pid;
    ps->epoch = -1;
    g_hash_table_insert(part->producers, &ps->producer_id, ps);
  }
  return ps;
}

static void producer_record(producer_state_t *ps, int16_t epoch, int32_t first_seq, int32_t last_seq,
                            int64_t first_off, int64_t last_off, int64_t now_ms) {
  if (epoch != ps->epoch) ps->n = 0;
  ps->epoch = epoch;
  if (ps->n == PRODUCER_BATCH_CACHE) {
    memmove(ps->batches, ps->batches + 1, sizeof ps->batches[0] * (PRODUCER_BATCH_CACHE - 1));
    ps->n--;
  }
  ps->batches[ps->n++] = (producer_batch_t){first_seq, last_seq, first_off, last_off};
  ps->last_ts_ms = now_ms;
}

/* Header scan callback: replays idempotent batches into producer state. */
static bool replay_header(const uint8_t hdr[61], int64_t file_pos, void *ctx) {
  partition_t *part = ctx;
  brook_batch_hdr_t h;
  (void)file_pos;
  brook_batch_hdr_parse(hdr, &h);
  if (h.producer_id < 0 || (h.attributes & BROOK_BATCH_ATTR_CONTROL)) return true;
  producer_state_t *ps = producer_get(part, h.producer_id, true);
  producer_record(ps, h.producer_epoch, h.base_sequence, seq_add(h.base_sequence, h.last_offset_delta),
                  h.base_offset, brook_batch_last_offset(&h), broker_now_ms());
  return true;
}

/* Newest snapshot in dir: returns its offset (or -1) and path. */
static int64_t newest_snapshot(const char *dir, char **path_out) {
  GDir *d = g_dir_open(dir, 0, NULL);
  int64_t best = -1;
  if (!d) return -1;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    if (strlen(name) != 29 || !g_str_has_suffix(name, ".snapshot")) continue;
    int64_t off = g_ascii_strtoll(name, NULL, 10);
    if (off > best) {
      best = off;
      g_free(*path_out);
      *path_out = g_build_filename(dir, name, NULL);
    }
  }
  g_dir_close(d);
  return best;
}

static void remove_snapshots(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) return;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    if (!g_str_has_suffix(name, ".snapshot")) continue;
    char *p = g_build_filename(dir, name, NULL);
    unlink(p);
    g_free(p);
  }
  g_dir_close(d);
}

static bool load_snapshot(partition_t *part, const char *path) {
  gchar *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL)) return false;
  gchar **lines = g_strsplit(text, "\n", -1);
  bool ok = lines[0] && !strcmp(lines[0], SNAPSHOT_MAGIC);
  for (int i = 1; ok && lines[i]; i++) {
    if (!lines[i][0]) continue;
    long long pid, first_off, last_off;
    int epoch, first_seq, last_seq;
    if (sscanf(lines[i], "%lld %d %d %d %lld %lld", &pid, &epoch, &first_seq, &last_seq, &first_off, &last_off) != 6) {
      ok = false;
      break;
    }
    producer_record(producer_get(part, pid, true), (int16_t)epoch, first_seq, last_seq, first_off, last_off,
                    broker_now_ms());
  }
  g_strfreev(lines);
  g_free(text);
  if (!ok) g_hash_table_remove_all(part->producers);
  return ok;
}

void partition_snapshot_producers(partition_t *part) {
  remove_snapshots(part->dir);
  GString *s = g_string_new(SNAPSHOT_MAGIC "\n");
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, part->producers);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    producer_state_t *ps = v;
    for (int i = 0; i < ps->n; i++)
      g_string_append_printf(s, "%" PRId64 " %d %d %d %" PRId64 " %" PRId64 "\n", ps->producer_id, ps->epoch,
                             ps->batches[i].first_seq, ps->batches[i].last_seq, ps->batches[i].first_offset,
                             ps->batches[i].last_offset);
  }
  char name[40];
  snprintf(name, sizeof name, "%020" PRId64 ".snapshot", brook_log_end_offset(part->log));
  char *path = g_build_filename(part->dir, name, NULL);
  GError *gerr = NULL;
  if (!g_file_set_contents(path, s->str, (gssize)s->len, &gerr)) {
    brook_log(BROOK_LOG_ERR, "log", "cannot write producer snapshot %s: %s", path, gerr->message);
    g_error_free(gerr);
  }
  g_free(path);
  g_string_free(s, TRUE);
}

static void write_partition_metadata(partition_t *part) {
  char *path = g_build_filename(part->dir, "partition.metadata", NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    gchar *b64 = g_base64_encode(part->topic->id.b, 16);
    for (char *p = b64; *p; p++) *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    char *eq = strchr(b64, '=');
    if (eq) *eq = 0;
    char *text = g_strdup_printf("version: 0\ntopic_id: %s\n", b64);
    g_file_set_contents(path, text, -1, NULL);
    g_free(text);
    g_free(b64);
  }
  g_free(path);
}

partition_t *partition_open(brook_broker_t *b, topic_t *t, int32_t index, int64_t recovery_point, int64_t log_start,
                            bool clean, char *errstr, size_t errstr_size) {
  partition_t *part = g_new0(partition_t, 1);
  part->topic = t;
  part->index = index;
  char name[300];
  snprintf(name, sizeof name, "%s-%d", t->name, index);
  part->dir = g_build_filename(b->log_dir, name, NULL);
  part->producers = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
  brook_log_conf_t lc;
  broker_log_conf(t, &lc);
  if (brook_log_open(part->dir, &lc, recovery_point, log_start, clean, &part->log, errstr, errstr_size)) {
    g_hash_table_destroy(part->producers);
    g_free(part->dir);
    g_free(part);
    return NULL;
  }
  write_partition_metadata(part);
  char *snap = NULL;
  int64_t snap_off = newest_snapshot(part->dir, &snap);
  int64_t scan_from = brook_log_start_offset(part->log);
  if (snap_off >= 0 && snap_off <= brook_log_end_offset(part->log) && load_snapshot(part, snap)) scan_from = snap_off;
  if (scan_from < brook_log_end_offset(part->log))
    brook_log_scan_headers(part->log, scan_from, replay_header, part);
  g_free(snap);
  return part;
}

void partition_close(partition_t *part, bool remove_files) {
  if (!part) return;
  if (remove_files) {
    remove_snapshots(part->dir);
    char *meta = g_build_filename(part->dir, "partition.metadata", NULL);
    unlink(meta);
    g_free(meta);
    brook_log_delete(part->log);
  } else {
    brook_log_close(part->log);
  }
  g_hash_table_destroy(part->producers);
  g_free(part->dir);
  g_free(part);
}

void partition_expire_producers(partition_t *part, int64_t now_ms, int64_t expiration_ms) {
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, part->producers);
  while (g_hash_table_iter_next(&it, &k, &v))
    if (now_ms - ((producer_state_t *)v)->last_ts_ms > expiration_ms) g_hash_table_iter_remove(&it);
}

/* Sequence check (see the design note). Returns NONE to append, or an error;
 * *dup set when the batch was already appended (offsets in *dup_first). */
static brook_err_t check_sequence(partition_t *part, const brook_records_info_t *info, bool *dup, int64_t *dup_first) {
  producer_state_t *ps = producer_get(part, info->producer_id, false);
  *dup = false;
  if (!ps || ps->n == 0) {
    if (ps && info->producer_epoch < ps->epoch) return BROOK_ERR_INVALID_PRODUCER_EPOCH;
    return info->first_sequence == 0 ? BROOK_ERR_NONE : BROOK_ERR_UNKNOWN_PRODUCER_ID;
  }
  if (info->producer_epoch < ps->epoch) return BROOK_ERR_INVALID_PRODUCER_EPOCH;
  if (info->producer_epoch > ps->epoch)
    return info->first_sequence == 0 ? BROOK_ERR_NONE : BROOK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
  for (int i = 0; i < ps->n; i++)
    if (ps->batches[i].first_seq == info->first_sequence && ps->batches[i].last_seq == info->last_sequence) {
      *dup = true;
      *dup_first = ps->batches[i].first_offset;
      return BROOK_ERR_NONE;
    }
  int32_t last = ps->batches[ps->n - 1].last_seq;
  if (info->first_sequence == seq_add(last, 1)) return BROOK_ERR_NONE;
  /* older than everything cached: a duplicate whose offsets we no longer have */
  if (seq_before(info->first_sequence, ps->batches[0].first_seq)) return BROOK_ERR_DUPLICATE_SEQUENCE_NUMBER;
  return BROOK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
}

static int codec_for(int compression_type) {
  switch (compression_type) {
    case BROOK_COMPRESSION_UNCOMPRESSED: return BROOK_CODEC_NONE;
    case BROOK_COMPRESSION_ZSTD: return BROOK_CODEC_ZSTD;
    case BROOK_COMPRESSION_LZ4: return BROOK_CODEC_LZ4;
    case BROOK_COMPRESSION_SNAPPY: return BROOK_CODEC_SNAPPY;
    case BROOK_COMPRESSION_GZIP: return BROOK_CODEC_GZIP;
    default: return -1; /* producer */
  }
}

brook_err_t partition_produce(brook_broker_t *b, partition_t *part, uint8_t *records, size_t len, int16_t acks,
                              int64_t *base_offset, int64_t *append_time, int64_t *log_start, char *errmsg,
                              size_t errmsg_size) {
  const brook_tconf_t *tc = &part->topic->tconf;
  int64_t now = broker_now_ms();
  *append_time = -1;
  if (acks == -1 && tc->min_insync_replicas > 1) {
    snprintf(errmsg, errmsg_size, "min.insync.replicas is %" PRId64 " but this single node has 1 in-sync replica",
             tc->min_insync_replicas);
    return BROOK_ERR_NOT_ENOUGH_REPLICAS;
  }
  brook_validate_opts_t opts = {.max_batch_bytes = (int32_t)MIN(tc->max_message_bytes, INT32_MAX),
                                .check_records = true};
  brook_records_info_t info;
  brook_err_t err = brook_records_validate(records, len, &opts, &info);
  if (err) {
    snprintf(errmsg, errmsg_size, "%s", brook_err_str(err));
    return err;
  }
  if (info.max_batch_size > tc->segment_bytes) {
    snprintf(errmsg, errmsg_size, "batch of %d bytes is larger than segment.bytes", info.max_batch_size);
    return BROOK_ERR_RECORD_LIST_TOO_LARGE;
  }
  if (info.transactional || info.control) {
    snprintf(errmsg, errmsg_size, "transactional produce is not served by this broker yet");
    return BROOK_ERR_INVALID_TXN_STATE;
  }
  if (tc->message_timestamp_type == BROOK_TS_CREATE_TIME && tc->message_timestamp_difference_max_ms != INT64_MAX) {
    int64_t d = tc->message_timestamp_difference_max_ms;
    if (llabs(info.first_timestamp - now) > d || llabs(info.max_timestamp - now) > d) {
      snprintf(errmsg, errmsg_size, "timestamp outside message.timestamp.difference.max.ms of the broker's clock");
      return BROOK_ERR_INVALID_TIMESTAMP;
    }
  }
  bool dup = false;
  if (info.producer_id >= 0) {
    int64_t dup_first = -1;
    err = check_sequence(part, &info, &dup, &dup_first);
    if (err) {
      snprintf(errmsg, errmsg_size, "%s", brook_err_str(err));
      return err;
    }
    if (dup) {
      brook_dbg("protocol", "%s-%d: duplicate batch of producer %" PRId64 " seq %d..%d at offset %" PRId64,
                part->topic->name, part->index, info.producer_id, info.first_sequence, info.last_sequence, dup_first);
      *base_offset = dup_first;
      *log_start = brook_log_start_offset(part->log);
      return BROOK_ERR_NONE;
    }
  }
  brook_buf_t re;
  brook_buf_init(&re);
  int codec = codec_for(tc->compression_type);
  if (codec >= 0 && codec != info.codec) {
    err = brook_records_recompress(records, len, codec, &re);
    if (err) {
      brook_buf_free(&re);
      snprintf(errmsg, errmsg_size, "recompression to the topic's compression.type failed");
      return err;
    }
    records = re.data;
    len = re.len;
  }
  if (tc->message_timestamp_type == BROOK_TS_LOG_APPEND_TIME) {
    for (size_t off = 0; off + BROOK_BATCH_HDR_SIZE <= len;) {
      brook_batch_hdr_t h;
      brook_batch_hdr_parse(records + off, &h);
      brook_batch_set_log_append_time(records + off, now);
      off += (size_t)brook_batch_size(&h);
    }
    *append_time = now;
  }
  brook_append_info_t ai;
  err = brook_log_append(part->log, records, len, now, &ai);
  brook_buf_free(&re);
  if (err) {
    snprintf(errmsg, errmsg_size, "the broker could not write to its log (see the broker log)");
    return err;
  }
  if (info.producer_id >= 0)
    producer_record(producer_get(part, info.producer_id, true), info.producer_epoch, info.first_sequence,
                    info.last_sequence, ai.first_offset, ai.last_offset, now);
  *base_offset = ai.first_offset;
  *log_start = ai.log_start_offset;
  b->data_appended = true;
  return BROOK_ERR_NONE;
}
