/*
 * handlers.c — request dispatch: the one table of served APIs, request
 * decoding, response framing, parked requests; plus the two smallest
 * handlers (ApiVersions, InitProducerId).
 *
 * Design note
 *  - brook_api_handlers[] is the single source of truth for what brookd
 *    serves: dispatch looks a request up in it and ApiVersions is built from
 *    it, so the two cannot drift. Flexible versions come from the schema.
 *  - A request whose API key we do not serve, or whose version is outside the
 *    advertised range, cannot be answered in a form the client will parse;
 *    like Kafka we log it and close that connection. ApiVersions is the
 *    exception: a too-new version gets the v0-format answer with
 *    UNSUPPORTED_VERSION and our ranges, so the client can downgrade.
 *  - Response framing: int32 size, correlation id, then (flexible versions,
 *    except ApiVersions, which always uses header v0) an empty tagged-field
 *    section, then the body.
 *  - Arenas: each request gets an arena from a one-slot cache; a parked
 *    request keeps its own until it completes.
 * @locality broker loop.
 */
#include "blog.h"
#include "broker_int.h"

/* What brookd serves. min_version is what we advertise; a handler may answer
 * versions below what it really serves with an error (Produce v0-2). */
const api_handler_t brook_api_handlers[] = {
    {BROOK_API_PRODUCE, 0, 9, handle_produce},
    {BROOK_API_FETCH, 4, 13, handle_fetch},
    {BROOK_API_LIST_OFFSETS, 1, 7, handle_list_offsets},
    {BROOK_API_METADATA, 0, 12, handle_metadata},
    {BROOK_API_API_VERSIONS, 0, 3, handle_api_versions},
    {BROOK_API_CREATE_TOPICS, 2, 7, handle_create_topics},
    {BROOK_API_DELETE_TOPICS, 1, 6, handle_delete_topics},
    {BROOK_API_DELETE_RECORDS, 0, 2, handle_delete_records},
    {BROOK_API_INIT_PRODUCER_ID, 0, 4, handle_init_producer_id},
    {BROOK_API_DESCRIBE_CONFIGS, 1, 4, handle_describe_configs},
    {BROOK_API_ALTER_CONFIGS, 0, 2, handle_alter_configs},
    {BROOK_API_CREATE_PARTITIONS, 0, 3, handle_create_partitions},
    {BROOK_API_INCREMENTAL_ALTER_CONFIGS, 0, 1, handle_incremental_alter_configs},
    {BROOK_API_OFFSET_COMMIT, 2, 8, handle_offset_commit},
    {BROOK_API_OFFSET_FETCH, 1, 8, handle_offset_fetch},
    {BROOK_API_FIND_COORDINATOR, 0, 4, handle_find_coordinator},
    {BROOK_API_JOIN_GROUP, 0, 9, handle_join_group},
    {BROOK_API_HEARTBEAT, 0, 4, handle_heartbeat},
    {BROOK_API_LEAVE_GROUP, 0, 5, handle_leave_group},
    {BROOK_API_SYNC_GROUP, 0, 5, handle_sync_group},
    {BROOK_API_DESCRIBE_GROUPS, 0, 5, handle_describe_groups},
    {BROOK_API_LIST_GROUPS, 0, 4, handle_list_groups},
    {BROOK_API_DELETE_GROUPS, 0, 2, handle_delete_groups},
    {BROOK_API_OFFSET_DELETE, 0, 0, handle_offset_delete},
    {-1, 0, 0, NULL},
};

const api_handler_t *broker_api_handler(int16_t key) {
  for (const api_handler_t *h = brook_api_handlers; h->handler; h++)
    if (h->key == key) return h;
  return NULL;
}

static brook_arena_t *arena_get(brook_broker_t *b) {
  brook_arena_t *a = b->spare_arena;
  b->spare_arena = NULL;
  return a ? a : brook_arena_new(16384);
}

void broker_req_free(brook_req_t *req) {
  if (!req) return;
  g_free(req->frame_copy);
  if (req->b->spare_arena) {
    brook_arena_destroy(req->arena);
  } else {
    brook_arena_reset(req->arena);
    req->b->spare_arena = req->arena;
  }
  g_free(req);
}

/* Encodes header + body and queues it on the connection. */
static void respond(brook_req_t *req, const brook_msg_desc_t *desc, int16_t version, const void *resp, bool flexible_hdr) {
  brook_buf_t out;
  brook_buf_init(&out);
  brook_buf_skip(&out, 4);
  brook_proto_encode_resp_hdr(req->hdr.correlation_id, flexible_hdr, &out);
  brook_proto_encode(desc, version, resp, &out);
  brook_buf_patch_i32(&out, 0, (int32_t)(brook_buf_total(&out) - 4));
  conn_queue_response(req->conn, &out);
}

static void respond_api(brook_req_t *req, const void *resp) {
  respond(req, req->api->response, req->hdr.api_version, resp,
          brook_proto_resp_hdr_flexible(req->hdr.api_key, req->hdr.api_version));
}

static void fill_api_versions(brook_req_t *req, brook_api_versions_response_t *resp) {
  int n = 0;
  while (brook_api_handlers[n].handler) n++;
  resp->api_keys.items = brook_arena_alloc(req->arena, sizeof *resp->api_keys.items * (size_t)n);
  resp->api_keys.count = n;
  for (int i = 0; i < n; i++) {
    resp->api_keys.items[i].api_key = brook_api_handlers[i].key;
    resp->api_keys.items[i].min_version = brook_api_handlers[i].min_version;
    resp->api_keys.items[i].max_version = brook_api_handlers[i].max_version;
  }
}

void broker_serve_frame(brook_broker_t *b, conn_t *conn, const uint8_t *frame, size_t len) {
  brook_req_hdr_t hdr;
  size_t hdr_len;
  if (brook_proto_decode_req_hdr(frame, len, &hdr, &hdr_len) < 0) {
    conn_close_later(conn, "malformed request header");
    return;
  }
  const api_handler_t *h = broker_api_handler(hdr.api_key);
  const brook_api_schema_t *api = brook_proto_api(hdr.api_key);
  brook_req_t *req = g_new0(brook_req_t, 1);
  req->b = b;
  req->conn = conn;
  req->hdr = hdr;
  req->api = api;
  req->arena = arena_get(b);
  req->recv_ms = broker_now_ms();

  if (hdr.api_key == BROOK_API_API_VERSIONS && h && hdr.api_version > h->max_version) {
    /* KIP-511: answer in v0 so any client can read our ranges and downgrade */
    brook_api_versions_response_t *resp = brook_arena_alloc(req->arena, api->response_size);
    brook_proto_init(api->response, resp);
    resp->error_code = BROOK_ERR_UNSUPPORTED_VERSION;
    fill_api_versions(req, resp);
    respond(req, api->response, 0, resp, false);
    broker_req_free(req);
    return;
  }
  if (!h || !api || hdr.api_version < h->min_version || hdr.api_version > h->max_version) {
    brook_log(BROOK_LOG_WARNING, "broker",
              "client %.*s at %s sent %s (key %d) v%d, which brookd does not serve: closing the connection",
              hdr.client_id.len > 0 ? hdr.client_id.len : 0, hdr.client_id.ptr ? hdr.client_id.ptr : "", conn_peer(conn),
              api ? api->name : "an unknown API", hdr.api_key, hdr.api_version);
    conn_close_later(conn, "unsupported API or version");
    broker_req_free(req);
    return;
  }
  /* A fetch may park: give it its own copy of the frame so that the decoded
   * request (which points into the frame) survives the read buffer moving. */
  if (hdr.api_key == BROOK_API_FETCH) {
    req->frame_copy = g_memdup2(frame, len);
    frame = req->frame_copy;
    if (brook_proto_decode_req_hdr(frame, len, &req->hdr, &hdr_len) < 0) g_assert_not_reached();
  }
  req->msg = brook_arena_alloc(req->arena, api->request_size);
  if (brook_proto_decode(api->request, hdr.api_version, frame + hdr_len, len - hdr_len, req->arena, req->msg) < 0) {
    brook_log(BROOK_LOG_WARNING, "protocol", "malformed %s v%d request from %s: closing the connection", api->name,
              hdr.api_version, conn_peer(conn));
    conn_close_later(conn, "malformed request");
    broker_req_free(req);
    return;
  }
  brook_dbg("protocol", "%s v%d from %s corr %d", api->name, hdr.api_version, conn_peer(conn), hdr.correlation_id);
  void *resp = brook_arena_alloc(req->arena, api->response_size);
  brook_proto_init(api->response, resp);
  switch (h->handler(b, req, resp)) {
    case HANDLER_DONE:
      respond_api(req, resp);
      broker_req_free(req);
      break;
    case HANDLER_NO_RESPONSE:
      broker_req_free(req);
      break;
    case HANDLER_PARKED:
      broker_req_park(b, req);
      break;
    case HANDLER_TAKEN:
      break;
    case HANDLER_CLOSE:
      conn_close_later(conn, "protocol violation");
      broker_req_free(req);
      break;
  }
}

void broker_req_park(brook_broker_t *b, brook_req_t *req) {
  if (!req->parked_ready) req->deadline_ms = -1;
  g_queue_push_tail(&b->parked, req);
  req->park_link = b->parked.tail;
  conn_set_parked(req->conn, true);
}

void broker_req_unpark(brook_broker_t *b, brook_req_t *req) {
  if (!req->park_link) return;
  g_queue_delete_link(&b->parked, req->park_link);
  req->park_link = NULL;
}

void broker_req_complete(brook_broker_t *b, brook_req_t *req, void *resp) {
  broker_req_unpark(b, req);
  conn_t *conn = req->conn;
  respond_api(req, resp);
  broker_req_free(req);
  conn_resume(conn);
}

/* Ready requests leave the parked queue before any is answered: answering
 * can close a connection, and closing drops that connection's parked
 * requests (broker_conn_closed), which must not include one being answered. */
void broker_parked_poll(brook_broker_t *b, int64_t now_ms) {
  GQueue ready = G_QUEUE_INIT;
  b->data_appended = false;
  for (GList *l = b->parked.head, *next; l; l = next) {
    next = l->next;
    brook_req_t *req = l->data;
    if (req->parked_ready && req->parked_ready(b, req, now_ms >= req->deadline_ms)) {
      g_queue_delete_link(&b->parked, l);
      req->park_link = NULL;
      g_queue_push_tail(&ready, req);
    }
  }
  brook_req_t *req;
  while ((req = g_queue_pop_head(&ready))) broker_req_complete(b, req, req->parked_state);
}

int64_t broker_next_deadline(brook_broker_t *b) {
  int64_t dl = -1;
  for (GList *l = b->parked.head; l; l = l->next) {
    brook_req_t *req = l->data;
    if (req->deadline_ms >= 0 && (dl < 0 || req->deadline_ms < dl)) dl = req->deadline_ms;
  }
  int64_t t = broker_timers_next(b);
  if (t >= 0 && (dl < 0 || t < dl)) dl = t;
  return dl;
}

void broker_conn_closed(brook_broker_t *b, conn_t *conn) {
  for (GList *l = b->parked.head, *next; l; l = next) {
    next = l->next;
    brook_req_t *req = l->data;
    if (req->conn == conn) {
      g_queue_delete_link(&b->parked, l);
      req->park_link = NULL;
      if (req->parked_drop) req->parked_drop(req);
      broker_req_free(req);
    }
  }
}

handler_ret_t handle_api_versions(brook_broker_t *b, brook_req_t *req, void *resp) {
  (void)b;
  fill_api_versions(req, resp);
  return HANDLER_DONE;
}

/* Non-transactional producers get a fresh id (epoch 0); a producer that
 * presents its id and epoch (v3+, KIP-360) gets the epoch bumped so it can
 * reset its sequences. Transactional ids need the transaction coordinator,
 * which this broker does not have yet. */
handler_ret_t handle_init_producer_id(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_init_producer_id_request_t *r = req->msg;
  brook_init_producer_id_response_t *resp = resp_;
  if (r->transactional_id.len >= 0) {
    brook_log(BROOK_LOG_WARNING, "broker", "InitProducerId with transactional.id from %s: transactions are not served yet",
              conn_peer(req->conn));
    resp->error_code = BROOK_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    resp->producer_id = -1;
    resp->producer_epoch = -1;
    return HANDLER_DONE;
  }
  if (r->producer_id >= 0 && r->producer_epoch >= 0 && r->producer_epoch < INT16_MAX - 1) {
    resp->producer_id = r->producer_id;
    resp->producer_epoch = (int16_t)(r->producer_epoch + 1);
    return HANDLER_DONE;
  }
  int64_t pid;
  resp->error_code = (int16_t)broker_alloc_producer_id(b, &pid);
  resp->producer_id = resp->error_code ? -1 : pid;
  resp->producer_epoch = resp->error_code ? -1 : 0;
  return HANDLER_DONE;
}
