/*
 * restore.c — state-store restoration: the stream thread's restore consumer
 * and the loop that brings a new task's stores up to their changelogs' ends.
 *
 * Design note
 *
 * The restore consumer (create_restore_consumer) is created on the first task
 * that has something to restore and lives as long as the thread's other
 * clients (thread.c destroys it). It never joins a group.
 *
 * Per task (thread_restore_task, called by thread.c's on_assign for every
 * new task, in the rebalance callback):
 *   for each changelog partition with a checkpoint (start_offset >= 0): read
 *   the watermarks; start past the high watermark → warn and skip (the
 *   changelog was recreated); start below the low one → start there;
 *   nothing between start and high → nothing to do. Then assign the restore
 *   consumer at the start offsets, consume batches (RESTORE_BATCH), feed
 *   runs of one partition to task_restore until every partition reached the
 *   high watermark as it was when restoration began (a record or a
 *   PARTITION_EOF at or past it), assign(NULL), task_restore_done; the task
 *   is then running. The stop flag is checked between batches.
 *   Restore metrics (restore-total/-remaining per store, restore time for
 *   restore-rate) are snapshot under the thread lock after every batch.
 *
 * Why inside the rebalance callback:
 * Restoring inside the callback is deliberate: simple, and nothing of a
 * partition is fetched before its task is ready. The cost: a long restore
 * counts against max.poll.interval.ms (the consumer's heartbeats go on, but
 * the member is considered stuck past that interval). A later issue makes
 * restoration incremental (poll between restore batches).
 *
 * @locality stream thread (everything here).
 */
#include <inttypes.h>
#include <string.h>

#include "thread_int.h"

#define WATERMARK_TIMEOUT_MS 10000
#define RESTORE_BATCH 1000

/* The restore consumer never joins a group; librdkafka's assign() still wants
 * a group.id, so it gets one it never uses for anything else. */
static brook_err_t create_restore_consumer(stream_thread_t *thread, char *errstr, size_t errstr_size) {
  const streams_conf_t *sc = thread->env.conf;
  char *cid = g_strdup_printf("%s-restore-consumer", thread->client_id);
  char *group = g_strdup_printf("%s-restore", sc->application_id);
  rd_kafka_conf_t *conf = thread_base_conf(thread, cid, errstr, errstr_size);
  bool ok = conf && thread_conf_set_prefetch(conf, "restore consumer", errstr, errstr_size) &&
            thread_conf_set_all(conf, "restore consumer", "consumer.", sc->consumer_props, errstr, errstr_size) &&
            thread_conf_set(conf, "restore consumer", "group.id", group, errstr, errstr_size) &&
            thread_conf_set(conf, "restore consumer", "enable.auto.commit", "false", errstr, errstr_size) &&
            thread_conf_set(conf, "restore consumer", "enable.auto.offset.store", "false", errstr, errstr_size) &&
            thread_conf_set(conf, "restore consumer", "enable.partition.eof", "true", errstr, errstr_size) &&
            thread_conf_set(conf, "restore consumer", "auto.offset.reset", "earliest", errstr, errstr_size);
  g_free(cid);
  g_free(group);
  if (!ok) {
    if (conf) rd_kafka_conf_destroy(conf);
    return BROOK_ERR__BAD_CONFIG;
  }
  char err[512];
  thread->restore = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!thread->restore) {
    rd_kafka_conf_destroy(conf);
    g_snprintf(errstr, errstr_size, "creating the restore consumer of %s: %s", thread->name, err);
    return BROOK_ERR__BAD_CONFIG;
  }
  rd_kafka_poll_set_consumer(thread->restore);
  thread->restore_q = rd_kafka_queue_get_consumer(thread->restore);
  return BROOK_ERR_NONE;
}

static void snap_store_cb(const char *store, uint64_t restored, int64_t remaining, void *opaque) {
  thread_task_t *ttask = opaque;
  for (guint i = 0; i < ttask->stores->len; i++) {
    store_snap_t *s = &g_array_index(ttask->stores, store_snap_t, i);
    if (strcmp(s->store, store) == 0) {
      s->restored = restored;
      s->remaining = remaining;
      return;
    }
  }
  store_snap_t s = {g_strdup(store), restored, remaining};
  g_array_append_val(ttask->stores, s);
}

static void snap_restore(stream_thread_t *thread, thread_task_t *ttask) {
  g_mutex_lock(&thread->lock);
  task_restore_metrics(ttask->task, snap_store_cb, ttask);
  g_mutex_unlock(&thread->lock);
}

typedef struct restore_part {
  const task_changelog_t *cl;
  int64_t end;  /* high watermark when restoration began */
  int64_t pos;  /* next offset to read */
  bool done;
} restore_part_t;

/* Feeds one run of records of one changelog partition to the task. */
static bool restore_apply(stream_thread_t *thread, thread_task_t *ttask, restore_part_t *rp,
                          brook_changelog_record_t *recs, size_t n) {
  if (n == 0) return true;
  char errstr[512];
  brook_err_t err = task_restore(ttask->task, rp->cl->store_index, recs, n, rp->end, errstr, sizeof errstr);
  if (err) {
    thread_fail(thread, "task %s: restoring from %s [%" PRId32 "]: %s", ttask->id, rp->cl->topic, rp->cl->partition,
                errstr);
    return false;
  }
  return true;
}

/* Restores the task's stores from their changelogs, then initialises it.
 * Returns false on failure (thread failed) or when stopping. */
bool thread_restore_task(stream_thread_t *thread, thread_task_t *ttask) {
  char errstr[512];
  size_t n = 0;
  const task_changelog_t *cls = task_changelogs(ttask->task, &n);
  restore_part_t *rps = g_new0(restore_part_t, n ? n : 1);
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)(n ? n : 1));
  size_t remaining = 0;
  int64_t t0 = g_get_monotonic_time();
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    rps[i].cl = &cls[i];
    rps[i].done = true;
    if (cls[i].start_offset < 0) continue;
    if (!thread->restore && create_restore_consumer(thread, errstr, sizeof errstr)) {
      thread_fail(thread, "%s", errstr);
      ok = false;
      goto out;
    }
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(thread->restore, cls[i].topic, cls[i].partition, &lo,
                                                               &hi, WATERMARK_TIMEOUT_MS);
    if (err) {
      thread_fail(thread, "task %s: reading the end offset of changelog %s [%" PRId32 "]: %s", ttask->id,
                  cls[i].topic, cls[i].partition, rd_kafka_err2str(err));
      ok = false;
      goto out;
    }
    int64_t start = cls[i].start_offset;
    if (start > hi) {
      /* The changelog is shorter than the checkpoint says: it was deleted and
       * recreated. The store holds data the changelog does not; it cannot be
       * restored from here. */
      streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name,
                  "task %s: checkpoint %" PRId64 " of %s [%" PRId32 "] is past the changelog's end %" PRId64
                  "; not restoring it (wipe the task directory to rebuild the store)",
                  ttask->id, start, cls[i].topic, cls[i].partition, hi);
      continue;
    }
    if (start < lo) start = lo;
    if (start >= hi) continue;
    rps[i].end = hi;
    rps[i].pos = start;
    rps[i].done = false;
    rd_kafka_topic_partition_list_add(list, cls[i].topic, cls[i].partition)->offset = start;
    remaining++;
  }
  if (remaining > 0) {
    streams_log(tlog(thread), BROOK_LOG_INFO, thread->name, "task %s: restoring %zu changelog partition(s)", ttask->id,
                remaining);
    rd_kafka_resp_err_t err = rd_kafka_assign(thread->restore, list);
    if (err) {
      thread_fail(thread, "task %s: assigning the restore consumer: %s", ttask->id, rd_kafka_err2str(err));
      ok = false;
      goto out;
    }
    rd_kafka_message_t **msgs = g_new(rd_kafka_message_t *, RESTORE_BATCH);
    brook_changelog_record_t *recs = g_new(brook_changelog_record_t, RESTORE_BATCH);
    while (ok && remaining > 0) {
      if (stopping(thread)) {
        ok = false;
        break;
      }
      ssize_t got = rd_kafka_consume_batch_queue(thread->restore_q, 100, msgs, RESTORE_BATCH);
      if (got < 0) got = 0;
      restore_part_t *run = NULL;
      size_t nrec = 0;
      for (ssize_t i = 0; i < got && ok; i++) {
        rd_kafka_message_t *m = msgs[i];
        restore_part_t *rp = NULL;
        if (m->rkt) {
          const char *topic = rd_kafka_topic_name(m->rkt);
          for (size_t j = 0; j < n; j++)
            if (!rps[j].done && rps[j].cl->partition == m->partition && strcmp(rps[j].cl->topic, topic) == 0) {
              rp = &rps[j];
              break;
            }
        }
        if (m->err) {
          if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (rp && m->offset >= rp->end) {
              if (!(ok = restore_apply(thread, ttask, run, recs, nrec))) break;
              run = NULL;
              nrec = 0;
              rp->pos = m->offset;
              rp->done = true;
              remaining--;
            }
            continue;
          }
          thread_fail(thread, "task %s: restore consumer: %s", ttask->id, rd_kafka_message_errstr(m));
          ok = false;
          break;
        }
        if (!rp || m->offset < rp->pos) continue; /* stale or duplicate */
        if (run != rp || nrec == RESTORE_BATCH) {
          if (!(ok = restore_apply(thread, ttask, run, recs, nrec))) break;
          run = rp;
          nrec = 0;
        }
        rd_kafka_timestamp_type_t tstype;
        recs[nrec++] = (brook_changelog_record_t){
            .key = m->key,
            .key_len = m->key_len,
            .value = m->payload,
            .value_len = m->len,
            .timestamp = rd_kafka_message_timestamp(m, &tstype),
            .offset = m->offset,
        };
        rp->pos = m->offset + 1;
        if (rp->pos >= rp->end) {
          if (!(ok = restore_apply(thread, ttask, run, recs, nrec))) break;
          run = NULL;
          nrec = 0;
          rp->done = true;
          remaining--;
        }
      }
      if (ok) ok = restore_apply(thread, ttask, run, recs, nrec);
      for (ssize_t i = 0; i < got; i++) rd_kafka_message_destroy(msgs[i]);
      if (rd_kafka_fatal_error(thread->restore, NULL, 0)) {
        thread_fail(thread, "task %s: restore consumer failed fatally", ttask->id);
        ok = false;
      }
      ttask->restore_secs = (double)(g_get_monotonic_time() - t0) / 1e6;
      snap_restore(thread, ttask);
    }
    g_free(msgs);
    g_free(recs);
    rd_kafka_assign(thread->restore, NULL);
  }
  if (ok) {
    brook_err_t err = task_restore_done(ttask->task, errstr, sizeof errstr);
    if (err) {
      thread_fail(thread, "task %s: %s", ttask->id, errstr);
      ok = false;
    } else {
      ttask->running = true;
      ttask->restore_secs = (double)(g_get_monotonic_time() - t0) / 1e6;
      snap_restore(thread, ttask);
    }
  }
out:
  rd_kafka_topic_partition_list_destroy(list);
  g_free(rps);
  return ok;
}
