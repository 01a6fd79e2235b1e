/*
 * commit.c — the stream thread's commit and the repartition-topic purge.
 *
 * Design note
 *
 * Commit (thread_commit), at-least-once:
 *   task_flush every task (record caches forward, sinks and changelogs
 *   produce) → rd_kafka_flush(producer) → a delivery error: handler "fail"
 *   fails the thread naming the topic, "continue" logs and counts → commit the
 *   next offsets of the records processed (sync) → task_commit_done with the
 *   highest acknowledged offset + 1 of each changelog partition (from the
 *   delivery reports) so the stores checkpoint what is really in Kafka (the
 *   task writes the checkpoint file only every 10,000 changelog records). A
 *   failed offset commit (group rebalanced under us) is logged; the
 *   checkpoints are then not advanced and the records are processed again by
 *   whoever owns them next. Every repartition.purge.interval.ms after a
 *   commit, DeleteRecords up to the committed offsets of the repartition
 *   partitions this thread owns keeps repartition topics bounded (results are
 *   read asynchronously from purge_q).
 *
 * The delivery reports that feed "highest acknowledged offset" stay in
 * thread.c with the producer (thread_acked_next_offset reads them).
 *
 * @locality stream thread (everything here).
 */
#include <inttypes.h>

#include "thread_int.h"

#define FLUSH_TIMEOUT_MS 600000   /* producer flush at commit: beyond message.timeout.ms */

void thread_poll_purge_results(stream_thread_t *thread) {
  if (!thread->purge_q) return;
  rd_kafka_event_t *ev;
  while ((ev = rd_kafka_queue_poll(thread->purge_q, 0))) {
    if (rd_kafka_event_error(ev)) {
      streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name, "purging repartition topics: %s",
                  rd_kafka_event_error_string(ev));
    } else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_DELETERECORDS_RESULT) {
      const rd_kafka_topic_partition_list_t *res =
          rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
      for (int i = 0; res && i < res->cnt; i++)
        if (res->elems[i].err)
          streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name, "purging %s [%" PRId32 "]: %s",
                      res->elems[i].topic, res->elems[i].partition, rd_kafka_err2str(res->elems[i].err));
    }
    rd_kafka_event_destroy(ev);
  }
}

static void maybe_purge(stream_thread_t *thread) {
  int64_t interval = thread->env.repartition_purge_interval_ms;
  if (interval < 0 || !thread->env.repartition_topics || g_hash_table_size(thread->env.repartition_topics) == 0) return;
  int64_t now = g_get_monotonic_time();
  if (now - thread->last_purge_us < interval * 1000) return;
  thread->last_purge_us = now;
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, thread->parts);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    part_state_t *part = v;
    if (part->committed <= part->purged || !g_hash_table_contains(thread->env.repartition_topics, part->topic))
      continue;
    rd_kafka_topic_partition_list_add(list, part->topic, part->partition)->offset = part->committed;
    part->purged = part->committed;
  }
  if (list->cnt > 0) {
    rd_kafka_DeleteRecords_t *del = rd_kafka_DeleteRecords_new(list);
    rd_kafka_DeleteRecords(thread->producer, &del, 1, NULL, thread->purge_q);
    rd_kafka_DeleteRecords_destroy(del);
  }
  rd_kafka_topic_partition_list_destroy(list);
}

/* Returns false when the thread failed. *clean: offsets were committed (or
 * there was nothing to commit) and the checkpoints advanced. */
bool thread_commit(stream_thread_t *thread, bool *clean) {
  char errstr[512] = "";
  int64_t t0 = g_get_monotonic_time();
  if (clean) *clean = false;
  for (guint i = 0; i < thread->tasks->len; i++) {
    thread_task_t *ttask = thread->tasks->pdata[i];
    if (!ttask->running) continue;
    if (task_flush(ttask->task, errstr, sizeof errstr)) {
      thread_fail(thread, "task %s: %s", ttask->id, errstr);
      return false;
    }
  }
  rd_kafka_resp_err_t ferr = rd_kafka_flush(thread->producer, FLUSH_TIMEOUT_MS);
  if (ferr) {
    thread_fail(thread, "flushing the producer: %s (%d record(s) not acknowledged)", rd_kafka_err2str(ferr),
                rd_kafka_outq_len(thread->producer));
    return false;
  }
  if (thread->dr_err) {
    if (thread->env.conf->production_handler == STREAMS_PRODUCTION_FAIL) {
      thread_fail(thread, "%s (default.production.exception.handler=fail)", thread->dr_err_msg);
      return false;
    }
    streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name,
                "%" PRIu64 " record(s) could not be produced since the start and were skipped; first: %s",
                thread->dr_err_count, thread->dr_err_msg);
    thread->dr_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, thread->parts);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    part_state_t *part = v;
    if (part->dirty) rd_kafka_topic_partition_list_add(list, part->topic, part->partition)->offset = part->next_offset;
  }
  bool ok = true;
  if (list->cnt > 0) {
    rd_kafka_resp_err_t err = rd_kafka_commit(thread->consumer, list, 0);
    if (err) {
      streams_log(tlog(thread), BROOK_LOG_WARNING, thread->name,
                  "committing offsets failed: %s; the records since the last commit will be processed again",
                  rd_kafka_err2str(err));
      ok = false;
    } else {
      g_mutex_lock(&thread->lock);
      g_hash_table_iter_init(&it, thread->parts);
      while (g_hash_table_iter_next(&it, NULL, &v)) {
        part_state_t *part = v;
        if (part->dirty) {
          part->committed = part->next_offset;
          part->dirty = false;
        }
      }
      g_mutex_unlock(&thread->lock);
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (ok) {
    for (guint i = 0; i < thread->tasks->len; i++) {
      thread_task_t *ttask = thread->tasks->pdata[i];
      if (!ttask->running) continue;
      if (task_commit_done(ttask->task, thread_acked_next_offset, thread, errstr, sizeof errstr)) {
        thread_fail(thread, "task %s: %s", ttask->id, errstr);
        return false;
      }
    }
  }
  thread->commit_needed = false;
  int64_t t1 = g_get_monotonic_time();
  thread->last_commit_us = t1;
  double ms = (double)(t1 - t0) / 1000.0;
  g_mutex_lock(&thread->lock);
  thread->commit_total++;
  thread->commit_latency_sum_ms += ms;
  if (ms > thread->commit_latency_max_ms) thread->commit_latency_max_ms = ms;
  g_mutex_unlock(&thread->lock);
  if (ok) maybe_purge(thread);
  if (clean) *clean = ok;
  return true;
}
