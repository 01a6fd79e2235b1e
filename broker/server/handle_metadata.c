/*
 * handle_metadata.c — Metadata v0-12: this node as the only broker and the
 * controller, every partition led by it with itself as the sole replica/ISR.
 * Requested topics that do not exist are auto-created when both the request
 * (v4+ allow_auto_topic_creation) and auto.create.topics.enable allow it.
 * @locality broker loop.
 */
#include "blog.h"
#include "broker_int.h"

typedef brook_metadata_response_metadata_response_topic_t mtopic_t;
typedef brook_metadata_response_metadata_response_partition_t mpart_t;

static void fill_topic(brook_broker_t *b, brook_arena_t *a, const topic_t *t, mtopic_t *out) {
  out->error_code = 0;
  out->name = arena_str(a, t->name);
  memcpy(out->topic_id.b, t->id.b, 16);
  out->is_internal = t->internal;
  out->partitions.count = t->nparts;
  out->partitions.items = brook_arena_alloc(a, sizeof(mpart_t) * (size_t)t->nparts);
  int32_t *node = brook_arena_alloc(a, sizeof *node);
  *node = b->node_id;
  for (int32_t i = 0; i < t->nparts; i++) {
    mpart_t *p = &out->partitions.items[i];
    p->error_code = 0;
    p->partition_index = i;
    p->leader_id = b->node_id;
    p->leader_epoch = 0;
    p->replica_nodes.items = node;
    p->replica_nodes.count = 1;
    p->isr_nodes.items = node;
    p->isr_nodes.count = 1;
    p->offline_replicas.count = 0;
  }
  out->topic_authorized_operations = INT32_MIN;
}

handler_ret_t handle_metadata(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_metadata_request_t *r = req->msg;
  brook_metadata_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int16_t v = req->hdr.api_version;

  resp->brokers.count = 1;
  resp->brokers.items = brook_arena_alloc(a, sizeof *resp->brokers.items);
  resp->brokers.items[0].node_id = b->node_id;
  resp->brokers.items[0].host = arena_str(a, b->host);
  resp->brokers.items[0].port = b->port;
  resp->brokers.items[0].rack = BROOK_STR_NULL;
  resp->cluster_id = arena_str(a, b->cluster_id);
  resp->controller_id = b->node_id;
  resp->cluster_authorized_operations = INT32_MIN;

  /* v0: an empty list means all topics; v1+: null means all, empty means none */
  bool all = r->topics.count < 0 || (v == 0 && r->topics.count == 0);
  if (all) {
    guint n = g_hash_table_size(b->topics);
    resp->topics.items = brook_arena_alloc(a, sizeof(mtopic_t) * (n ? n : 1));
    resp->topics.count = 0;
    GHashTableIter it;
    gpointer k, val;
    g_hash_table_iter_init(&it, b->topics);
    while (g_hash_table_iter_next(&it, &k, &val)) fill_topic(b, a, val, &resp->topics.items[resp->topics.count++]);
    return HANDLER_DONE;
  }
  bool allow_auto = v < 4 || r->allow_auto_topic_creation;
  resp->topics.count = r->topics.count;
  resp->topics.items = brook_arena_alloc(a, sizeof(mtopic_t) * (size_t)(r->topics.count ? r->topics.count : 1));
  for (int32_t i = 0; i < r->topics.count; i++) {
    brook_metadata_request_metadata_request_topic_t *rt = &r->topics.items[i];
    mtopic_t *out = &resp->topics.items[i];
    out->topic_authorized_operations = INT32_MIN;
    topic_t *t = NULL;
    if (rt->name.len < 0) { /* v10+: by topic id */
      t = g_hash_table_lookup(b->topic_ids, &rt->topic_id);
      if (!t) {
        out->error_code = BROOK_ERR_UNKNOWN_TOPIC_ID;
        out->name = BROOK_STR_NULL;
        out->topic_id = rt->topic_id;
        continue;
      }
    } else {
      t = broker_topic(b, rt->name.ptr, rt->name.len);
      out->name = rt->name;
    }
    if (!t) {
      char errstr[256];
      brook_err_t err = broker_topic_name_valid(rt->name.ptr, rt->name.len, errstr, sizeof errstr);
      if (!err && allow_auto) t = broker_topic_autocreate(b, rt->name.ptr, rt->name.len, &err);
      else if (!err) err = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
      if (!t) {
        out->error_code = (int16_t)err;
        continue;
      }
    }
    fill_topic(b, a, t, out);
  }
  return HANDLER_DONE;
}
