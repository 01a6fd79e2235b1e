/*
 * handle_produce.c — Produce: served for v3-9 (record batch v2). v0-2 are
 * advertised (librdkafka only enables compression when the advertised range
 * starts at 0) but answered with UNSUPPORTED_VERSION per partition.
 * Each partition's records are validated and appended independently
 * (partition_produce); acks=0 sends no response at all, as Kafka does.
 * The records bytes live in the connection's read buffer, which we own, so
 * offsets are assigned in place without a copy.
 * @locality broker loop.
 */
#include "blog.h"
#include "broker_int.h"

typedef brook_produce_response_topic_produce_response_t rtopic_t;
typedef brook_produce_response_partition_produce_response_t rpart_t;

handler_ret_t handle_produce(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_produce_request_t *r = req->msg;
  brook_produce_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int16_t v = req->hdr.api_version;
  brook_err_t all_err = BROOK_ERR_NONE;
  if (v < 3) all_err = BROOK_ERR_UNSUPPORTED_VERSION;
  else if (r->acks != 0 && r->acks != 1 && r->acks != -1) all_err = BROOK_ERR_INVALID_REQUIRED_ACKS;

  resp->responses.count = r->topic_data.count > 0 ? r->topic_data.count : 0;
  resp->responses.items = brook_arena_alloc(a, sizeof(rtopic_t) * (size_t)(resp->responses.count + 1));
  for (int32_t i = 0; i < resp->responses.count; i++) {
    brook_produce_request_topic_produce_data_t *td = &r->topic_data.items[i];
    rtopic_t *rt = &resp->responses.items[i];
    rt->name = td->name;
    int32_t np = td->partition_data.count > 0 ? td->partition_data.count : 0;
    rt->partition_responses.count = np;
    rt->partition_responses.items = brook_arena_alloc(a, sizeof(rpart_t) * (size_t)(np + 1));
    topic_t *t = NULL;
    brook_err_t topic_err = all_err;
    if (!topic_err) {
      t = broker_topic(b, td->name.ptr, td->name.len);
      if (!t) t = broker_topic_autocreate(b, td->name.ptr, td->name.len, &topic_err);
    }
    for (int32_t j = 0; j < np; j++) {
      brook_produce_request_partition_produce_data_t *pd = &td->partition_data.items[j];
      rpart_t *rp = &rt->partition_responses.items[j];
      rp->index = pd->index;
      rp->base_offset = -1;
      rp->log_append_time_ms = -1;
      rp->log_start_offset = -1;
      rp->error_message = BROOK_STR_NULL;
      brook_err_t err = topic_err;
      partition_t *part = NULL;
      if (!err && !(part = topic_partition(t, pd->index))) err = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
      if (!err && t->internal) err = BROOK_ERR_INVALID_TOPIC_EXCEPTION; /* only the coordinators write there */
      if (!err && pd->records.len <= 0) err = BROOK_ERR_CORRUPT_MESSAGE;
      if (!err) {
        char msg[256] = "";
        err = partition_produce(b, part, (uint8_t *)pd->records.ptr, (size_t)pd->records.len, r->acks,
                                &rp->base_offset, &rp->log_append_time_ms, &rp->log_start_offset, msg, sizeof msg);
        if (err) {
          rp->error_message = arena_str(a, msg);
          brook_dbg("protocol", "produce to %s-%d from %s: %s", t->name, pd->index, conn_peer(req->conn), msg);
        }
      }
      rp->error_code = (int16_t)err;
    }
  }
  return r->acks == 0 ? HANDLER_NO_RESPONSE : HANDLER_DONE;
}
