/*
 * fetch.c — Fetch v4-13: reads whole batches as file ranges (sent with
 * sendfile), long polls without busy waiting.
 *
 * Design note
 *  - A fetch is answered at once when it has collected min_bytes, when any
 *    partition has an error, or when max_wait_ms is 0. Otherwise it is
 *    parked (handlers.c) and re-tried after appends and at its deadline;
 *    a retry rebuilds the answer in the same response struct (no growth).
 *  - Size limits (KIP-74): per partition partition_max_bytes, per response
 *    max_bytes; the first batch of the response is sent whole even if larger
 *    than either, so a consumer can always make progress.
 *  - Slices hold references on segment files: an answer that is not sent
 *    (parked again) releases them; one that is sent hands them to the output
 *    buffer, which releases them once written.
 *  - Fetch sessions (KIP-227): we answer session_id 0 ("no session"), which
 *    every client handles by sending full fetch requests.
 * @locality broker loop.
 */
#include "blog.h"
#include "broker_int.h"

typedef brook_fetch_response_fetchable_topic_response_t ftopic_t;
typedef brook_fetch_response_partition_data_t fpart_t;

static const uint8_t empty_records[1];

/* Releases the file references an unsent answer holds. */
static void release_slices(brook_fetch_response_t *resp) {
  for (int32_t i = 0; i < resp->responses.count; i++)
    for (int32_t j = 0; j < resp->responses.items[i].partitions.count; j++) {
      brook_records_t *rec = &resp->responses.items[i].partitions.items[j].records;
      if (rec->file && rec->file->release) rec->file->release(rec->file->ctx);
      rec->file = NULL;
    }
}

/* Fills the answer; returns record bytes collected, *error if any partition failed. */
static int64_t build(brook_broker_t *b, brook_req_t *req, brook_fetch_response_t *resp, bool *error) {
  brook_fetch_request_t *r = req->msg;
  brook_arena_t *a = req->arena;
  int16_t v = req->hdr.api_version;
  int64_t total = 0;
  int64_t max_bytes = r->max_bytes > 0 ? r->max_bytes : INT32_MAX;
  *error = false;
  resp->error_code = 0;
  resp->session_id = 0;
  resp->throttle_time_ms = 0;
  if (!resp->responses.items) {
    resp->responses.items = brook_arena_alloc(a, sizeof(ftopic_t) * (size_t)(r->topics.count + 1));
    resp->responses.count = r->topics.count > 0 ? r->topics.count : 0;
  }
  for (int32_t i = 0; i < resp->responses.count; i++) {
    brook_fetch_request_fetch_topic_t *ft = &r->topics.items[i];
    ftopic_t *rt = &resp->responses.items[i];
    topic_t *t;
    brook_err_t terr = BROOK_ERR_NONE;
    if (v >= 13) {
      t = g_hash_table_lookup(b->topic_ids, &ft->topic_id);
      rt->topic_id = ft->topic_id;
      if (!t) terr = BROOK_ERR_UNKNOWN_TOPIC_ID;
    } else {
      t = broker_topic(b, ft->topic.ptr, ft->topic.len);
      rt->topic = ft->topic;
      if (!t) terr = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    int32_t np = ft->partitions.count > 0 ? ft->partitions.count : 0;
    if (!rt->partitions.items) {
      rt->partitions.items = brook_arena_alloc(a, sizeof(fpart_t) * (size_t)(np + 1));
      rt->partitions.count = np;
    }
    for (int32_t j = 0; j < np; j++) {
      brook_fetch_request_fetch_partition_t *fp = &ft->partitions.items[j];
      fpart_t *rp = &rt->partitions.items[j];
      rp->partition_index = fp->partition;
      rp->high_watermark = -1;
      rp->last_stable_offset = -1;
      rp->log_start_offset = -1;
      rp->aborted_transactions.items = NULL;
      rp->aborted_transactions.count = -1;
      rp->preferred_read_replica = -1;
      rp->records = (brook_records_t){empty_records, 0, NULL};
      brook_err_t err = terr;
      partition_t *part = NULL;
      if (!err && !(part = topic_partition(t, fp->partition))) err = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
      if (part) {
        int64_t hwm = partition_hwm(part);
        rp->high_watermark = hwm;
        rp->last_stable_offset = hwm; /* no transactions yet: everything below the HWM is stable */
        rp->log_start_offset = brook_log_start_offset(part->log);
        if (fp->fetch_offset < rp->log_start_offset || fp->fetch_offset > hwm) err = BROOK_ERR_OFFSET_OUT_OF_RANGE;
      }
      rp->error_code = (int16_t)err;
      if (err) {
        *error = true;
        continue;
      }
      int64_t limit = MIN((int64_t)fp->partition_max_bytes, max_bytes - total);
      if (fp->fetch_offset == rp->high_watermark || (limit <= 0 && total > 0)) continue;
      brook_log_slice_t slice;
      err = brook_log_read(part->log, fp->fetch_offset, (int32_t)MAX(limit, 0), rp->high_watermark, total == 0, &slice);
      if (err) {
        rp->error_code = (int16_t)err;
        *error = true;
        continue;
      }
      if (slice.file.len > 0) {
        brook_fileref_t *ref = brook_arena_alloc(a, sizeof *ref);
        *ref = slice.file;
        rp->records = (brook_records_t){NULL, slice.file.len, ref};
        total += slice.file.len;
      }
    }
  }
  return total;
}

bool fetch_ready(brook_broker_t *b, brook_req_t *req, bool deadline_passed) {
  brook_fetch_request_t *r = req->msg;
  brook_fetch_response_t *resp = req->parked_state;
  bool error;
  int64_t got = build(b, req, resp, &error);
  if (!deadline_passed && !error && got < r->min_bytes) {
    release_slices(resp);
    return false;
  }
  return true; /* the answer in req->parked_state holds its slices until sent */
}

handler_ret_t handle_fetch(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_fetch_request_t *r = req->msg;
  brook_fetch_response_t *resp = resp_;
  if (r->replica_id >= 0) {
    /* follower fetches: there are no followers of a single node */
    resp->error_code = BROOK_ERR_NOT_LEADER_OR_FOLLOWER;
    return HANDLER_DONE;
  }
  bool error;
  int64_t got = build(b, req, resp, &error);
  if (error || got >= r->min_bytes || r->max_wait_ms <= 0) return HANDLER_DONE;
  release_slices(resp);
  req->parked_state = resp;
  req->deadline_ms = req->recv_ms + r->max_wait_ms;
  req->parked_ready = fetch_ready;
  return HANDLER_PARKED;
}
