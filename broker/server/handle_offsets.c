/*
 * handle_offsets.c — ListOffsets v1-7 and DeleteRecords v0-2.
 *   ListOffsets timestamps: -2 earliest (log start offset), -1 latest (high
 *   watermark, or last stable offset for read_committed), -3 max timestamp
 *   (v7, KIP-734), otherwise the first offset whose timestamp is >= the one
 *   asked (offset -1 / timestamp -1 when there is none).
 *   DeleteRecords moves a partition's log start offset (offset -1 = high
 *   watermark); beyond the high watermark is OFFSET_OUT_OF_RANGE.
 * @locality broker loop.
 */
#include "blog.h"
#include "broker_int.h"

typedef brook_list_offsets_response_list_offsets_topic_response_t lotopic_t;
typedef brook_list_offsets_response_list_offsets_partition_response_t lopart_t;

static brook_err_t list_offset(partition_t *part, int64_t ts, int64_t *offset, int64_t *found_ts) {
  *found_ts = -1;
  switch (ts) {
    case -2: *offset = brook_log_start_offset(part->log); return BROOK_ERR_NONE;
    case -1: *offset = partition_hwm(part); return BROOK_ERR_NONE;
    case -3: return brook_log_max_timestamp(part->log, offset, found_ts);
    default:
      if (ts < 0) return BROOK_ERR_INVALID_REQUEST;
      return brook_log_offset_for_time(part->log, ts, offset, found_ts);
  }
}

handler_ret_t handle_list_offsets(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_list_offsets_request_t *r = req->msg;
  brook_list_offsets_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int32_t nt = r->topics.count > 0 ? r->topics.count : 0;
  resp->topics.count = nt;
  resp->topics.items = brook_arena_alloc(a, sizeof(lotopic_t) * (size_t)(nt + 1));
  for (int32_t i = 0; i < nt; i++) {
    brook_list_offsets_request_list_offsets_topic_t *rt = &r->topics.items[i];
    lotopic_t *ot = &resp->topics.items[i];
    ot->name = rt->name;
    topic_t *t = broker_topic(b, rt->name.ptr, rt->name.len);
    int32_t np = rt->partitions.count > 0 ? rt->partitions.count : 0;
    ot->partitions.count = np;
    ot->partitions.items = brook_arena_alloc(a, sizeof(lopart_t) * (size_t)(np + 1));
    for (int32_t j = 0; j < np; j++) {
      brook_list_offsets_request_list_offsets_partition_t *rp = &rt->partitions.items[j];
      lopart_t *op = &ot->partitions.items[j];
      op->partition_index = rp->partition_index;
      op->timestamp = -1;
      op->offset = -1;
      op->leader_epoch = -1;
      partition_t *part = topic_partition(t, rp->partition_index);
      if (!part) {
        op->error_code = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      op->error_code = (int16_t)list_offset(part, rp->timestamp, &op->offset, &op->timestamp);
      if (!op->error_code) op->leader_epoch = 0;
      if (!op->error_code && op->offset >= 0) { /* v0 answers a list of offsets */
        op->old_style_offsets.items = brook_arena_alloc(a, sizeof(int64_t));
        op->old_style_offsets.items[0] = op->offset;
        op->old_style_offsets.count = 1;
      }
    }
  }
  return HANDLER_DONE;
}

typedef brook_delete_records_response_delete_records_topic_result_t drtopic_t;
typedef brook_delete_records_response_delete_records_partition_result_t drpart_t;

handler_ret_t handle_delete_records(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_delete_records_request_t *r = req->msg;
  brook_delete_records_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int32_t nt = r->topics.count > 0 ? r->topics.count : 0;
  resp->topics.count = nt;
  resp->topics.items = brook_arena_alloc(a, sizeof(drtopic_t) * (size_t)(nt + 1));
  for (int32_t i = 0; i < nt; i++) {
    brook_delete_records_request_delete_records_topic_t *rt = &r->topics.items[i];
    drtopic_t *ot = &resp->topics.items[i];
    ot->name = rt->name;
    topic_t *t = broker_topic(b, rt->name.ptr, rt->name.len);
    int32_t np = rt->partitions.count > 0 ? rt->partitions.count : 0;
    ot->partitions.count = np;
    ot->partitions.items = brook_arena_alloc(a, sizeof(drpart_t) * (size_t)(np + 1));
    for (int32_t j = 0; j < np; j++) {
      brook_delete_records_request_delete_records_partition_t *rp = &rt->partitions.items[j];
      drpart_t *op = &ot->partitions.items[j];
      op->partition_index = rp->partition_index;
      op->low_watermark = -1;
      partition_t *part = topic_partition(t, rp->partition_index);
      if (!part) {
        op->error_code = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      int64_t hwm = partition_hwm(part);
      int64_t to = rp->offset == -1 ? hwm : rp->offset;
      if (to < 0 || to > hwm) {
        op->error_code = BROOK_ERR_OFFSET_OUT_OF_RANGE;
        continue;
      }
      if (to > brook_log_start_offset(part->log)) {
        op->error_code = (int16_t)brook_log_delete_records_before(part->log, to);
        if (!op->error_code)
          brook_log(BROOK_LOG_INFO, "log", "%s-%d: log start offset moved to %" PRId64 " by DeleteRecords", t->name,
                    rp->partition_index, to);
      }
      op->low_watermark = brook_log_start_offset(part->log);
    }
  }
  return HANDLER_DONE;
}
