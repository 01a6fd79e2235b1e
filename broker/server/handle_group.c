/*
 * handle_group.c — FindCoordinator, committed offsets (OffsetCommit,
 * OffsetFetch, OffsetDelete) and group administration (DescribeGroups,
 * ListGroups, DeleteGroups). The membership protocol itself (JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup) lives with the state machine in group.c.
 *
 * Design note
 *  - This node coordinates every group, so FindCoordinator answers with
 *    itself (after creating __consumer_offsets on first use, as Kafka does).
 *    Transaction coordinators (key type 1) arrive with transactions: until
 *    then COORDINATOR_NOT_AVAILABLE.
 *  - A commit is checked against the group as Kafka checks it (generation,
 *    member, static fencing; generation -1 commits of standalone consumers
 *    need an empty group), then all its offsets are written as one batch to
 *    the group's __consumer_offsets partition, and only then applied in
 *    memory and acknowledged.
 * @locality broker loop.
 */
#include "blog.h"
#include "group.h"

/* ---- FindCoordinator ---- */

handler_ret_t handle_find_coordinator(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_find_coordinator_request_t *r = req->msg;
  brook_find_coordinator_response_t *resp = resp_;
  brook_err_t err = BROOK_ERR_NONE;
  const char *msg = NULL;
  if (r->key_type == 1) {
    err = BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
    msg = "transactions are not served by this broker yet";
  } else if (r->key_type != 0) {
    err = BROOK_ERR_INVALID_REQUEST;
    msg = "unknown coordinator key type";
  } else if (group_coord_ensure_topic(b)) {
    err = BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
    msg = "the offsets topic could not be created";
  }
  if (req->hdr.api_version < 4) {
    resp->error_code = (int16_t)err;
    resp->error_message = err ? arena_str(req->arena, msg) : BROOK_STR_NULL;
    resp->node_id = err ? -1 : b->node_id;
    resp->host = arena_str(req->arena, err ? "" : b->host);
    resp->port = err ? -1 : b->port;
    return HANDLER_DONE;
  }
  int32_t n = MAX(r->coordinator_keys.count, 0);
  resp->coordinators.items = brook_arena_alloc(req->arena, sizeof *resp->coordinators.items * (size_t)(n + 1));
  resp->coordinators.count = n;
  for (int32_t i = 0; i < n; i++) {
    brook_find_coordinator_response_coordinator_t *c = &resp->coordinators.items[i];
    c->key = r->coordinator_keys.items[i];
    c->error_code = (int16_t)err;
    c->error_message = err ? arena_str(req->arena, msg) : BROOK_STR_NULL;
    c->node_id = err ? -1 : b->node_id;
    c->host = arena_str(req->arena, err ? "" : b->host);
    c->port = err ? -1 : b->port;
  }
  return HANDLER_DONE;
}

/* ---- OffsetCommit ---- */

/* Whether this commit may go in, as Kafka's doCommitOffsets decides. */
static brook_err_t commit_check(brook_broker_t *b, group_t *g, const brook_offset_commit_request_t *r,
                                const char *member_id, const char *instance_id, member_t **mp) {
  *mp = NULL;
  if (g->state == GROUP_DEAD) return BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
  if (instance_id) {
    member_t *s = g_hash_table_lookup(g->static_members, instance_id);
    if (s && strcmp(s->id, member_id)) return BROOK_ERR_FENCED_INSTANCE_ID;
  }
  if (r->generation_id < 0 && g->state == GROUP_EMPTY) return BROOK_ERR_NONE; /* standalone consumer */
  if (g->state == GROUP_COMPLETING_REBALANCE) return BROOK_ERR_REBALANCE_IN_PROGRESS;
  member_t *m = g_hash_table_lookup(g->members, member_id);
  if (!m) return BROOK_ERR_UNKNOWN_MEMBER_ID;
  if (r->generation_id != g->generation) return BROOK_ERR_ILLEGAL_GENERATION;
  *mp = m;
  return BROOK_ERR_NONE;
}

handler_ret_t handle_offset_commit(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_offset_commit_request_t *r = req->msg;
  brook_offset_commit_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int16_t v = req->hdr.api_version;
  char *gid = group_str(r->group_id);
  char *member_id = group_str(r->member_id);
  char *instance_id = group_str_or_null(r->group_instance_id);
  int64_t now = broker_now_ms();

  brook_err_t gerr = BROOK_ERR_NONE;
  group_t *g = NULL;
  member_t *m = NULL;
  if (!gid[0]) gerr = BROOK_ERR_INVALID_GROUP_ID;
  else if (group_coord_ensure_topic(b)) gerr = BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
  else if (!(g = group_get(b, gid)) && r->generation_id >= 0) gerr = BROOK_ERR_ILLEGAL_GENERATION;
  else {
    if (!g) g = group_get_or_create(b, gid);
    gerr = commit_check(b, g, r, member_id, instance_id, &m);
  }

  int32_t nt = MAX(r->topics.count, 0);
  resp->topics.items = brook_arena_alloc(a, sizeof *resp->topics.items * (size_t)(nt + 1));
  resp->topics.count = nt;
  GPtrArray *tps = g_ptr_array_new_with_free_func(g_free); /* group_tp_t* borrowing topic names */
  GPtrArray *vals = g_ptr_array_new();                     /* the request partition of each */
  for (int32_t i = 0; i < nt; i++) {
    brook_offset_commit_request_offset_commit_request_topic_t *rt = &r->topics.items[i];
    brook_offset_commit_response_offset_commit_response_topic_t *ot = &resp->topics.items[i];
    topic_t *t = broker_topic(b, rt->name.ptr, rt->name.len);
    int32_t np = MAX(rt->partitions.count, 0);
    ot->name = rt->name;
    ot->partitions.items = brook_arena_alloc(a, sizeof *ot->partitions.items * (size_t)(np + 1));
    ot->partitions.count = np;
    char *tname = brook_arena_strndup(a, rt->name.ptr ? rt->name.ptr : "", (size_t)MAX(rt->name.len, 0));
    for (int32_t j = 0; j < np; j++) {
      brook_offset_commit_request_offset_commit_request_partition_t *rp = &rt->partitions.items[j];
      brook_offset_commit_response_offset_commit_response_partition_t *op = &ot->partitions.items[j];
      op->partition_index = rp->partition_index;
      if (gerr) op->error_code = (int16_t)gerr;
      else if (!topic_partition(t, rp->partition_index)) op->error_code = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
      else if (rp->committed_metadata.len > b->bconf.offset_metadata_max_bytes)
        op->error_code = BROOK_ERR_OFFSET_METADATA_TOO_LARGE;
      else {
        group_tp_t *tp = g_new(group_tp_t, 1);
        tp->topic = tname;
        tp->partition = rp->partition_index;
        g_ptr_array_add(tps, tp);
        g_ptr_array_add(vals, rp);
        op->error_code = -32768; /* filled below */
      }
    }
  }

  if (tps->len) {
    /* Write the new values first, apply them after: a failed write changes nothing. */
    group_offset_t *news = g_new0(group_offset_t, tps->len);
    for (guint i = 0; i < tps->len; i++) {
      brook_offset_commit_request_offset_commit_request_partition_t *rp = vals->pdata[i];
      group_offset_t *o = &news[i];
      o->offset = rp->committed_offset;
      o->leader_epoch = rp->committed_leader_epoch;
      o->metadata = group_str_or_null(rp->committed_metadata);
      o->commit_ts = v == 1 && rp->commit_timestamp >= 0 ? rp->commit_timestamp : now;
      o->expire_ts = v >= 2 && v <= 4 && r->retention_time_ms >= 0 ? now + r->retention_time_ms : -1;
    }
    brook_err_t werr = group_log_offsets(b, g, tps, news);
    for (guint i = 0; i < tps->len; i++) {
      group_tp_t *tp = tps->pdata[i];
      if (!werr)
        group_offset_set(g, tp->topic, tp->partition, news[i].offset, news[i].leader_epoch, news[i].metadata,
                         news[i].commit_ts, news[i].expire_ts);
      else
        g_free(news[i].metadata);
    }
    g_free(news);
    for (int32_t i = 0; i < nt; i++)
      for (int32_t j = 0; j < resp->topics.items[i].partitions.count; j++)
        if (resp->topics.items[i].partitions.items[j].error_code == -32768)
          resp->topics.items[i].partitions.items[j].error_code = (int16_t)werr;
    if (m && !werr) group_member_touch(b, m);
  }
  g_ptr_array_free(tps, TRUE);
  g_ptr_array_free(vals, TRUE);
  g_free(gid);
  g_free(member_id);
  g_free(instance_id);
  return HANDLER_DONE;
}

/* ---- OffsetFetch ---- */

typedef brook_offset_fetch_response_offset_fetch_response_partitions_t fetch_part_t; /* v8 shape */

static void fetch_one(brook_arena_t *a, group_t *g, const char *topic, int32_t partition, fetch_part_t *out) {
  group_tp_t key = {(char *)topic, partition};
  group_offset_t *o = g ? g_hash_table_lookup(g->offsets, &key) : NULL;
  out->partition_index = partition;
  out->committed_offset = o ? o->offset : -1;
  out->committed_leader_epoch = o ? o->leader_epoch : -1;
  out->metadata = arena_str(a, o && o->metadata ? o->metadata : "");
  out->error_code = 0;
}

typedef struct fetch_topic_out {
  brook_str_t name;
  fetch_part_t *parts;
  int32_t nparts;
} fetch_topic_out_t;

/* Answers one group (topics == NULL: every committed offset). Fills *out / *nout. */
static void fetch_group(brook_broker_t *b, brook_arena_t *a, const char *gid, const brook_str_t *names,
                        const int32_t *const *parts, const int32_t *nparts, int32_t ntopics, bool all,
                        fetch_topic_out_t **out, int32_t *nout) {
  group_t *g = group_get(b, gid);
  if (all) {
    /* group the offsets by topic */
    GHashTable *by_topic = g_hash_table_new(g_str_hash, g_str_equal);
    GPtrArray *order = g_ptr_array_new();
    if (g) {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init(&it, g->offsets);
      while (g_hash_table_iter_next(&it, &k, &v)) {
        group_tp_t *tp = k;
        GArray *ps = g_hash_table_lookup(by_topic, tp->topic);
        if (!ps) {
          ps = g_array_new(FALSE, FALSE, sizeof(int32_t));
          g_hash_table_insert(by_topic, tp->topic, ps);
          g_ptr_array_add(order, tp->topic);
        }
        g_array_append_val(ps, tp->partition);
      }
    }
    *nout = (int32_t)order->len;
    *out = brook_arena_alloc(a, sizeof **out * (order->len + 1));
    for (guint i = 0; i < order->len; i++) {
      GArray *ps = g_hash_table_lookup(by_topic, order->pdata[i]);
      (*out)[i].name = arena_str(a, order->pdata[i]);
      (*out)[i].nparts = (int32_t)ps->len;
      (*out)[i].parts = brook_arena_alloc(a, sizeof(fetch_part_t) * (ps->len + 1));
      for (guint j = 0; j < ps->len; j++)
        fetch_one(a, g, order->pdata[i], g_array_index(ps, int32_t, j), &(*out)[i].parts[j]);
      g_array_free(ps, TRUE);
    }
    g_ptr_array_free(order, TRUE);
    g_hash_table_destroy(by_topic);
    return;
  }
  *nout = ntopics;
  *out = brook_arena_alloc(a, sizeof **out * (size_t)(ntopics + 1));
  for (int32_t i = 0; i < ntopics; i++) {
    char *tname = group_str(names[i]);
    (*out)[i].name = names[i];
    (*out)[i].nparts = MAX(nparts[i], 0);
    (*out)[i].parts = brook_arena_alloc(a, sizeof(fetch_part_t) * (size_t)((*out)[i].nparts + 1));
    for (int32_t j = 0; j < (*out)[i].nparts; j++) fetch_one(a, g, tname, parts[i][j], &(*out)[i].parts[j]);
    g_free(tname);
  }
}

handler_ret_t handle_offset_fetch(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_offset_fetch_request_t *r = req->msg;
  brook_offset_fetch_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  if (req->hdr.api_version < 8) {
    char *gid = group_str(r->group_id);
    int32_t nt = r->topics.count;
    brook_str_t *names = brook_arena_alloc(a, sizeof *names * (size_t)(MAX(nt, 0) + 1));
    const int32_t **parts = brook_arena_alloc(a, sizeof *parts * (size_t)(MAX(nt, 0) + 1));
    int32_t *nparts = brook_arena_alloc(a, sizeof *nparts * (size_t)(MAX(nt, 0) + 1));
    for (int32_t i = 0; i < nt; i++) {
      names[i] = r->topics.items[i].name;
      parts[i] = r->topics.items[i].partition_indexes.items;
      nparts[i] = r->topics.items[i].partition_indexes.count;
    }
    fetch_topic_out_t *out;
    int32_t nout;
    fetch_group(b, a, gid, names, parts, nparts, MAX(nt, 0), nt < 0, &out, &nout);
    resp->topics.items = brook_arena_alloc(a, sizeof *resp->topics.items * (size_t)(nout + 1));
    resp->topics.count = nout;
    for (int32_t i = 0; i < nout; i++) {
      resp->topics.items[i].name = out[i].name;
      resp->topics.items[i].partitions.count = out[i].nparts;
      resp->topics.items[i].partitions.items =
          brook_arena_alloc(a, sizeof *resp->topics.items[i].partitions.items * (size_t)(out[i].nparts + 1));
      for (int32_t j = 0; j < out[i].nparts; j++) {
        brook_offset_fetch_response_offset_fetch_response_partition_t *p = &resp->topics.items[i].partitions.items[j];
        p->partition_index = out[i].parts[j].partition_index;
        p->committed_offset = out[i].parts[j].committed_offset;
        p->committed_leader_epoch = out[i].parts[j].committed_leader_epoch;
        p->metadata = out[i].parts[j].metadata;
        p->error_code = out[i].parts[j].error_code;
      }
    }
    resp->error_code = gid[0] ? 0 : BROOK_ERR_INVALID_GROUP_ID;
    g_free(gid);
    return HANDLER_DONE;
  }
  int32_t ng = MAX(r->groups.count, 0);
  resp->groups.items = brook_arena_alloc(a, sizeof *resp->groups.items * (size_t)(ng + 1));
  resp->groups.count = ng;
  for (int32_t gi = 0; gi < ng; gi++) {
    brook_offset_fetch_request_offset_fetch_request_group_t *rg = &r->groups.items[gi];
    brook_offset_fetch_response_offset_fetch_response_group_t *og = &resp->groups.items[gi];
    char *gid = group_str(rg->group_id);
    int32_t nt = rg->topics.count;
    brook_str_t *names = brook_arena_alloc(a, sizeof *names * (size_t)(MAX(nt, 0) + 1));
    const int32_t **parts = brook_arena_alloc(a, sizeof *parts * (size_t)(MAX(nt, 0) + 1));
    int32_t *nparts = brook_arena_alloc(a, sizeof *nparts * (size_t)(MAX(nt, 0) + 1));
    for (int32_t i = 0; i < nt; i++) {
      names[i] = rg->topics.items[i].name;
      parts[i] = rg->topics.items[i].partition_indexes.items;
      nparts[i] = rg->topics.items[i].partition_indexes.count;
    }
    fetch_topic_out_t *out;
    int32_t nout;
    fetch_group(b, a, gid, names, parts, nparts, MAX(nt, 0), nt < 0, &out, &nout);
    og->group_id = rg->group_id;
    og->error_code = gid[0] ? 0 : BROOK_ERR_INVALID_GROUP_ID;
    og->topics.items = brook_arena_alloc(a, sizeof *og->topics.items * (size_t)(nout + 1));
    og->topics.count = nout;
    for (int32_t i = 0; i < nout; i++) {
      og->topics.items[i].name = out[i].name;
      og->topics.items[i].partitions.items = out[i].parts;
      og->topics.items[i].partitions.count = out[i].nparts;
    }
    g_free(gid);
  }
  return HANDLER_DONE;
}

/* ---- OffsetDelete ---- */

handler_ret_t handle_offset_delete(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_offset_delete_request_t *r = req->msg;
  brook_offset_delete_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  char *gid = group_str(r->group_id);
  group_t *g = gid[0] ? group_get(b, gid) : NULL;
  g_free(gid);
  if (!g || g->state == GROUP_DEAD) {
    resp->error_code = BROOK_ERR_GROUP_ID_NOT_FOUND;
    return HANDLER_DONE;
  }
  if (g->protocol_type && strcmp(g->protocol_type, "consumer") && g->state != GROUP_EMPTY) {
    resp->error_code = BROOK_ERR_NON_EMPTY_GROUP; /* Kafka: only consumer groups or empty groups */
    return HANDLER_DONE;
  }
  int32_t nt = MAX(r->topics.count, 0);
  resp->topics.items = brook_arena_alloc(a, sizeof *resp->topics.items * (size_t)(nt + 1));
  resp->topics.count = nt;
  GPtrArray *tps = g_ptr_array_new_with_free_func(g_free);
  for (int32_t i = 0; i < nt; i++) {
    brook_offset_delete_request_offset_delete_request_topic_t *rt = &r->topics.items[i];
    brook_offset_delete_response_offset_delete_response_topic_t *ot = &resp->topics.items[i];
    char *tname = brook_arena_strndup(a, rt->name.ptr ? rt->name.ptr : "", (size_t)MAX(rt->name.len, 0));
    bool subscribed = group_subscribes_to(g, tname);
    int32_t np = MAX(rt->partitions.count, 0);
    ot->name = rt->name;
    ot->partitions.items = brook_arena_alloc(a, sizeof *ot->partitions.items * (size_t)(np + 1));
    ot->partitions.count = np;
    for (int32_t j = 0; j < np; j++) {
      int32_t p = rt->partitions.items[j].partition_index;
      ot->partitions.items[j].partition_index = p;
      if (subscribed) {
        ot->partitions.items[j].error_code = BROOK_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
        continue;
      }
      group_tp_t key = {tname, p};
      if (!g_hash_table_contains(g->offsets, &key)) continue; /* nothing to delete is success */
      group_tp_t *tp = g_new(group_tp_t, 1);
      *tp = key;
      g_ptr_array_add(tps, tp);
    }
  }
  if (tps->len) {
    brook_err_t err = group_log_offsets(b, g, tps, NULL);
    if (err) resp->error_code = (int16_t)err;
    else
      for (guint i = 0; i < tps->len; i++) {
        group_tp_t *tp = tps->pdata[i];
        group_offset_delete(g, tp->topic, tp->partition);
      }
  }
  g_ptr_array_free(tps, TRUE);
  return HANDLER_DONE;
}

/* ---- DescribeGroups / ListGroups / DeleteGroups ---- */

static brook_bytes_t arena_gbytes(brook_arena_t *a, GBytes *bytes) {
  gsize n = 0;
  const void *p = bytes ? g_bytes_get_data(bytes, &n) : NULL;
  uint8_t *copy = brook_arena_alloc(a, n + 1);
  if (n) memcpy(copy, p, n);
  return (brook_bytes_t){copy, (int32_t)n};
}

handler_ret_t handle_describe_groups(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_describe_groups_request_t *r = req->msg;
  brook_describe_groups_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int32_t n = MAX(r->groups.count, 0);
  resp->groups.items = brook_arena_alloc(a, sizeof *resp->groups.items * (size_t)(n + 1));
  resp->groups.count = n;
  for (int32_t i = 0; i < n; i++) {
    brook_describe_groups_response_described_group_t *out = &resp->groups.items[i];
    char *gid = group_str(r->groups.items[i]);
    group_t *g = group_get(b, gid);
    g_free(gid);
    out->group_id = r->groups.items[i];
    out->authorized_operations = INT32_MIN;
    if (!r->groups.items[i].len) out->error_code = BROOK_ERR_INVALID_GROUP_ID;
    if (!g) { /* Kafka describes an unknown group as Dead, without an error */
      out->group_state = BROOK_STR("Dead");
      out->protocol_type = BROOK_STR("");
      out->protocol_data = BROOK_STR("");
      continue;
    }
    out->group_state = arena_str(a, group_state_name(g->state));
    out->protocol_type = arena_str(a, g->protocol_type ? g->protocol_type : "");
    bool stable = g->state == GROUP_STABLE;
    out->protocol_data = arena_str(a, stable && g->protocol ? g->protocol : "");
    int32_t nm = (int32_t)g_hash_table_size(g->members);
    out->members.items = brook_arena_alloc(a, sizeof *out->members.items * (size_t)(nm + 1));
    out->members.count = 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, g->members);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      member_t *m = v;
      brook_describe_groups_response_described_group_member_t *om = &out->members.items[out->members.count++];
      om->member_id = arena_str(a, m->id);
      om->group_instance_id = arena_str(a, m->instance_id);
      om->client_id = arena_str(a, m->client_id);
      om->client_host = arena_str(a, m->client_host);
      GBytes *md = NULL;
      for (int j = 0; stable && g->protocol && j < m->nprotocols; j++)
        if (!strcmp(m->protocols[j].name, g->protocol)) md = m->protocols[j].metadata;
      om->member_metadata = arena_gbytes(a, md);
      om->member_assignment = arena_gbytes(a, stable ? m->assignment : NULL);
    }
  }
  return HANDLER_DONE;
}

handler_ret_t handle_list_groups(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_list_groups_request_t *r = req->msg;
  brook_list_groups_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  guint n = g_hash_table_size(b->groups->groups);
  resp->groups.items = brook_arena_alloc(a, sizeof *resp->groups.items * (n + 1));
  resp->groups.count = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, b->groups->groups);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    group_t *g = v;
    const char *state = group_state_name(g->state);
    bool match = r->states_filter.count <= 0;
    for (int32_t i = 0; !match && i < r->states_filter.count; i++) {
      brook_str_t f = r->states_filter.items[i];
      match = f.len >= 0 && (size_t)f.len == strlen(state) && !g_ascii_strncasecmp(f.ptr, state, (gsize)f.len);
    }
    if (!match) continue;
    brook_list_groups_response_listed_group_t *out = &resp->groups.items[resp->groups.count++];
    out->group_id = arena_str(a, g->id);
    out->protocol_type = arena_str(a, g->protocol_type ? g->protocol_type : "");
    out->group_state = arena_str(a, state);
  }
  return HANDLER_DONE;
}

handler_ret_t handle_delete_groups(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_delete_groups_request_t *r = req->msg;
  brook_delete_groups_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int32_t n = MAX(r->groups_names.count, 0);
  resp->results.items = brook_arena_alloc(a, sizeof *resp->results.items * (size_t)(n + 1));
  resp->results.count = n;
  for (int32_t i = 0; i < n; i++) {
    char *gid = group_str(r->groups_names.items[i]);
    group_t *g = gid[0] ? group_get(b, gid) : NULL;
    brook_err_t err;
    if (!gid[0]) err = BROOK_ERR_INVALID_GROUP_ID;
    else if (!g || g->state == GROUP_DEAD) err = BROOK_ERR_GROUP_ID_NOT_FOUND;
    else if (g->state != GROUP_EMPTY) err = BROOK_ERR_NON_EMPTY_GROUP;
    else if (!(err = group_log_delete_group(b, g))) {
      brook_log(BROOK_LOG_INFO, "group", "group %s deleted (%u committed offset(s))", g->id,
                g_hash_table_size(g->offsets));
      group_remove(b, g);
    }
    resp->results.items[i].group_id = r->groups_names.items[i];
    resp->results.items[i].error_code = (int16_t)err;
    g_free(gid);
  }
  return HANDLER_DONE;
}
