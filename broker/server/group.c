/*
 * group.c — the group coordinator: Kafka's classic group protocol (JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup) with generations, static membership and
 * timeouts, as Kafka's GroupCoordinator runs it.
 *
 * Design note
 *
 *  State machine of one group (group_t.state), and the function making each
 *  transition:
 *
 *        +------------------ complete_join (no members left) ---------------+
 *        v                                                                  |
 *     EMPTY --join (prepare_rebalance)--> PREPARING_REBALANCE --complete_join-+
 *        ^                                   ^   |  (all members rejoined, or
 *        |                                   |   |   the rebalance timeout)
 *        |    member leaves / expires /      |   v
 *        |    leader or changed member   COMPLETING_REBALANCE
 *        |    rejoins (prepare_rebalance)    |   | leader's SyncGroup
 *        |                                   |   v  (sync_complete)
 *        |                                 STABLE
 *        +-- DeleteGroups / offsets expired of an empty group --> DEAD (removed)
 *
 *  - PREPARING_REBALANCE: every member must send JoinGroup again; their
 *    requests are parked (member.join_req) and all are answered together by
 *    complete_join, which bumps the generation, picks the protocol every
 *    member supports (most first-choice votes), keeps or picks the leader and
 *    sends the leader everyone's metadata. Members that did not rejoin before
 *    the rebalance timeout (the largest any member gave) are removed then.
 *    An EMPTY group's first rebalance waits group.initial.rebalance.delay.ms
 *    (extended for each newcomer, bounded by the rebalance timeout) so that
 *    members starting together share one rebalance.
 *  - COMPLETING_REBALANCE: followers' SyncGroups are parked (member.sync_req)
 *    until the leader's arrives with the assignment; then all are answered,
 *    the group record is written to __consumer_offsets and the group is
 *    STABLE. If the leader does not sync within the rebalance timeout, members
 *    that have not synced are removed and the group rebalances again.
 *  - Sessions: every member has a session timer (member.session), re-armed by
 *    its heartbeats, commits and join/sync answers. When it fires the member
 *    is removed (a rebalance follows), unless it is waiting in a JoinGroup or
 *    SyncGroup, which keeps it alive as in Kafka.
 *  - Member ids are made by the coordinator: JoinGroup v4+ with an empty id
 *    gets MEMBER_ID_REQUIRED and a fresh id (remembered as pending for one
 *    session timeout); older versions join at once with a new id.
 *  - Static members (group.instance.id): a member restarting with the same
 *    instance id and an empty member id replaces its old self (the old id is
 *    fenced with FENCED_INSTANCE_ID) and, in a STABLE group, gets the current
 *    generation and its old assignment back without a rebalance.
 *  - Parked join/sync requests are answered through broker_req_complete; the
 *    connection serves its next frame only after the current handler has
 *    returned (net.c defers it), so answering never re-enters this file. A
 *    connection that closes drops its parked request (request_dropped): the
 *    member stays, and its session decides.
 * @locality broker loop.
 */
#include "blog.h"
#include "group.h"

#define NEW_MEMBER_JOIN_TIMEOUT_MS 300000 /* Kafka's GroupCoordinator.NewMemberJoinTimeoutMs */

static void prepare_rebalance(brook_broker_t *b, group_t *g, const char *reason);
static void expire_offsets(brook_broker_t *b, void *unused);
static void maybe_complete_join(brook_broker_t *b, group_t *g);
static void remove_member(brook_broker_t *b, group_t *g, member_t *m, const char *reason);

const char *group_state_name(group_state_t state) {
  static const char *names[] = {"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"};
  return names[state];
}

/* ---- lookup and lifetime ---- */

/* Java's String.hashCode over the UTF-16 code units of the id. */
int32_t group_partition_for(const char *group_id, int32_t npartitions) {
  uint32_t h = 0;
  glong n = 0;
  gunichar2 *u16 = g_utf8_to_utf16(group_id, -1, NULL, &n, NULL);
  if (u16) {
    for (glong i = 0; i < n; i++) h = 31 * h + u16[i];
    g_free(u16);
  } else { /* not UTF-8: hash the bytes (Java would have replaced them) */
    for (const unsigned char *p = (const unsigned char *)group_id; *p; p++) h = 31 * h + *p;
  }
  return (int32_t)((h & 0x7fffffffu) % (uint32_t)npartitions);
}

static guint tp_hash(gconstpointer p) {
  const group_tp_t *tp = p;
  return g_str_hash(tp->topic) * 31u + (guint)tp->partition;
}

static gboolean tp_equal(gconstpointer a_, gconstpointer b_) {
  const group_tp_t *a = a_, *b = b_;
  return a->partition == b->partition && !strcmp(a->topic, b->topic);
}

static void tp_free(gpointer p) {
  group_tp_t *tp = p;
  g_free(tp->topic);
  g_free(tp);
}

static void offset_free(gpointer p) {
  group_offset_t *o = p;
  g_free(o->metadata);
  g_free(o);
}

group_t *group_get(brook_broker_t *b, const char *id) { return g_hash_table_lookup(b->groups->groups, id); }

group_t *group_get_or_create(brook_broker_t *b, const char *id) {
  group_t *g = group_get(b, id);
  if (g) return g;
  g = g_new0(group_t, 1);
  g->id = g_strdup(id);
  g->log_partition = group_partition_for(
      id, b->groups->topic ? b->groups->topic->nparts : (int32_t)b->bconf.offsets_topic_num_partitions);
  g->state = GROUP_EMPTY;
  g->state_ts_ms = broker_now_ms();
  g->members = g_hash_table_new(g_str_hash, g_str_equal);
  g->static_members = g_hash_table_new(g_str_hash, g_str_equal);
  g->pending = g_hash_table_new(g_str_hash, g_str_equal);
  g->offsets = g_hash_table_new_full(tp_hash, tp_equal, tp_free, offset_free);
  g_hash_table_insert(b->groups->groups, g->id, g);
  return g;
}

static void set_state(group_t *g, group_state_t state) {
  g->state = state;
  g->state_ts_ms = broker_now_ms();
}

void group_member_free(brook_broker_t *b, member_t *m) {
  broker_timer_cancel(b, &m->session);
  for (int i = 0; i < m->nprotocols; i++) {
    g_free(m->protocols[i].name);
    g_bytes_unref(m->protocols[i].metadata);
  }
  g_free(m->protocols);
  if (m->assignment) g_bytes_unref(m->assignment);
  if (m->join_req) m->join_req->parked_owner = NULL;
  if (m->sync_req) m->sync_req->parked_owner = NULL;
  g_free(m->id);
  g_free(m->instance_id);
  g_free(m->client_id);
  g_free(m->client_host);
  g_free(m->protocol_type);
  g_free(m);
}

static void pending_free(brook_broker_t *b, pending_member_t *p) {
  broker_timer_cancel(b, &p->expiry);
  g_free(p->id);
  g_free(p);
}

/* Frees the group; parked requests of its members are answered by the caller first. */
static void group_free(brook_broker_t *b, group_t *g) {
  broker_timer_cancel(b, &g->join_timer);
  broker_timer_cancel(b, &g->sync_timer);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v)) group_member_free(b, v);
  g_hash_table_iter_init(&it, g->pending);
  while (g_hash_table_iter_next(&it, &k, &v)) pending_free(b, v);
  g_hash_table_destroy(g->members);
  g_hash_table_destroy(g->static_members);
  g_hash_table_destroy(g->pending);
  g_hash_table_destroy(g->offsets);
  g_free(g->protocol_type);
  g_free(g->protocol);
  g_free(g->leader);
  g_free(g->id);
  g_free(g);
}

void group_remove(brook_broker_t *b, group_t *g) {
  g_hash_table_steal(b->groups->groups, g->id);
  group_free(b, g);
}

/* ---- offsets (in memory; group_log.c persists) ---- */

void group_offset_set(group_t *g, const char *topic, int32_t partition, int64_t offset, int32_t leader_epoch,
                      char *metadata, int64_t commit_ts, int64_t expire_ts) {
  group_tp_t *tp = g_new(group_tp_t, 1);
  tp->topic = g_strdup(topic);
  tp->partition = partition;
  group_offset_t *o = g_new(group_offset_t, 1);
  o->offset = offset;
  o->leader_epoch = leader_epoch;
  o->metadata = metadata;
  o->commit_ts = commit_ts;
  o->expire_ts = expire_ts;
  g_hash_table_replace(g->offsets, tp, o);
}

bool group_offset_delete(group_t *g, const char *topic, int32_t partition) {
  group_tp_t key = {(char *)topic, partition};
  return g_hash_table_remove(g->offsets, &key);
}

/* ---- coordinator lifetime ---- */

brook_err_t group_coord_ensure_topic(brook_broker_t *b) {
  group_coord_t *gc = b->groups;
  if (gc->topic) return BROOK_ERR_NONE;
  topic_t *t = broker_topic(b, GROUP_OFFSETS_TOPIC, (int32_t)strlen(GROUP_OFFSETS_TOPIC));
  if (!t) {
    char errstr[256];
    GHashTable *ov = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert(ov, g_strdup("cleanup.policy"), g_strdup("compact"));
    g_hash_table_insert(ov, g_strdup("compression.type"), g_strdup("producer"));
    g_hash_table_insert(ov, g_strdup("segment.bytes"),
                        g_strdup_printf("%" PRId64, b->bconf.offsets_topic_segment_bytes));
    brook_err_t err = broker_topic_create(b, GROUP_OFFSETS_TOPIC, (int32_t)b->bconf.offsets_topic_num_partitions, ov,
                                          false, errstr, sizeof errstr, &t); /* takes ov */
    if (err) {
      brook_log(BROOK_LOG_ERR, "group", "cannot create %s: %s", GROUP_OFFSETS_TOPIC, errstr);
      return BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    brook_log(BROOK_LOG_INFO, "group", "created %s with %d partitions", GROUP_OFFSETS_TOPIC, t->nparts);
  }
  gc->topic = t;
  gc->nrewrite = t->nparts;
  gc->rewrite_from = g_new0(int64_t, (size_t)t->nparts);
  for (int32_t i = 0; i < t->nparts; i++) gc->rewrite_from[i] = brook_log_size_bytes(t->parts[i]->log);
  return BROOK_ERR_NONE;
}

brook_err_t group_coord_open(brook_broker_t *b, char *errstr, size_t errstr_size) {
  group_coord_t *gc = g_new0(group_coord_t, 1);
  gc->groups = g_hash_table_new(g_str_hash, g_str_equal);
  b->groups = gc;
  broker_timer_arm(b, &gc->expiry, broker_now_ms() + b->bconf.offsets_retention_check_interval_ms, expire_offsets,
                   NULL);
  if (!broker_topic(b, GROUP_OFFSETS_TOPIC, (int32_t)strlen(GROUP_OFFSETS_TOPIC))) return BROOK_ERR_NONE;
  if (group_coord_ensure_topic(b)) {
    snprintf(errstr, errstr_size, "cannot open %s", GROUP_OFFSETS_TOPIC);
    return BROOK_ERR__IO;
  }
  return group_log_load(b, errstr, errstr_size);
}

void group_coord_close(brook_broker_t *b) {
  group_coord_t *gc = b->groups;
  if (!gc) return;
  broker_timer_cancel(b, &gc->expiry);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, gc->groups);
  while (g_hash_table_iter_next(&it, &k, &v)) group_free(b, v);
  g_hash_table_destroy(gc->groups);
  g_free(gc->rewrite_from);
  g_free(gc);
  b->groups = NULL;
}

/* ---- members ---- */

brook_err_t group_member_check(group_t *g, const char *member_id, const char *instance_id, member_t **out) {
  *out = NULL;
  if (instance_id) {
    member_t *s = g_hash_table_lookup(g->static_members, instance_id);
    if (s && strcmp(s->id, member_id)) return BROOK_ERR_FENCED_INSTANCE_ID;
  }
  member_t *m = g_hash_table_lookup(g->members, member_id);
  if (!m) return BROOK_ERR_UNKNOWN_MEMBER_ID;
  *out = m;
  return BROOK_ERR_NONE;
}

static bool member_supports(const member_t *m, const char *protocol) {
  for (int i = 0; i < m->nprotocols; i++)
    if (!strcmp(m->protocols[i].name, protocol)) return true;
  return false;
}

static GBytes *member_metadata(const member_t *m, const char *protocol) {
  for (int i = 0; i < m->nprotocols; i++)
    if (!strcmp(m->protocols[i].name, protocol)) return m->protocols[i].metadata;
  return NULL;
}

/* Whether a member offering these protocols may join: an empty group takes any
 * non-empty set; otherwise the protocol type must match and one of the offered
 * protocols must be supported by every current member. */
static bool group_supports(group_t *g, const char *ptype, const brook_join_group_request_t *r) {
  if (!ptype[0] || r->protocols.count <= 0) return false;
  if (g_hash_table_size(g->members) == 0) return true;
  if (!g->protocol_type || strcmp(g->protocol_type, ptype)) return false;
  for (int32_t i = 0; i < r->protocols.count; i++) {
    char *name = group_str(r->protocols.items[i].name);
    bool all = true;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, g->members);
    while (all && g_hash_table_iter_next(&it, &k, &v)) all = member_supports(v, name);
    g_free(name);
    if (all) return true;
  }
  return false;
}

/* What a JoinGroup says about its member: protocols and timeouts (v0 has no
 * rebalance timeout: the session timeout stands in, as in Kafka). */
static void member_update(member_t *m, const brook_join_group_request_t *r) {
  m->session_timeout_ms = r->session_timeout_ms;
  m->rebalance_timeout_ms = r->rebalance_timeout_ms >= 0 ? r->rebalance_timeout_ms : r->session_timeout_ms;
  for (int i = 0; i < m->nprotocols; i++) {
    g_free(m->protocols[i].name);
    g_bytes_unref(m->protocols[i].metadata);
  }
  g_free(m->protocols);
  m->nprotocols = r->protocols.count > 0 ? r->protocols.count : 0;
  m->protocols = g_new0(member_protocol_t, (size_t)m->nprotocols + 1);
  for (int i = 0; i < m->nprotocols; i++) {
    const brook_join_group_request_join_group_request_protocol_t *p = &r->protocols.items[i];
    m->protocols[i].name = group_str(p->name);
    m->protocols[i].metadata = g_bytes_new(p->metadata.ptr, (gsize)MAX(p->metadata.len, 0));
  }
}

static bool member_matches(const member_t *m, const brook_join_group_request_t *r) {
  if (m->nprotocols != r->protocols.count) return false;
  for (int i = 0; i < m->nprotocols; i++) {
    const brook_join_group_request_join_group_request_protocol_t *p = &r->protocols.items[i];
    gsize n;
    const void *d = g_bytes_get_data(m->protocols[i].metadata, &n);
    if ((size_t)MAX(p->name.len, 0) != strlen(m->protocols[i].name) ||
        memcmp(m->protocols[i].name, p->name.ptr, strlen(m->protocols[i].name)) ||
        (int32_t)n != MAX(p->metadata.len, 0) || (n && memcmp(d, p->metadata.ptr, n)))
      return false;
  }
  return true;
}

static void session_expired(brook_broker_t *b, void *arg);

static void session_arm(brook_broker_t *b, member_t *m, int64_t timeout_ms) {
  broker_timer_arm(b, &m->session, broker_now_ms() + timeout_ms, session_expired, m);
}

void group_member_touch(brook_broker_t *b, member_t *m) { session_arm(b, m, m->session_timeout_ms); }

void group_sessions_restart(brook_broker_t *b, group_t *g) {
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v)) group_member_touch(b, v);
}

/* A member waiting in JoinGroup or SyncGroup is kept alive (Kafka's
 * shouldKeepAlive), except a new member past the new-member join timeout. */
static void session_expired(brook_broker_t *b, void *arg) {
  member_t *m = arg;
  group_t *g = m->group;
  if ((m->join_req && !m->is_new) || m->sync_req) {
    group_member_touch(b, m);
    return;
  }
  brook_log(BROOK_LOG_INFO, "group", "member %s in group %s has failed (session timeout %d ms expired)", m->id, g->id,
            m->is_new ? NEW_MEMBER_JOIN_TIMEOUT_MS : m->session_timeout_ms);
  remove_member(b, g, m, "session timeout");
}

/* The parked request's connection went away: forget the request, keep the
 * member (its session timer decides). */
static void request_dropped(brook_req_t *req) {
  member_t *m = req->parked_owner;
  if (!m) return;
  if (m->join_req == req) m->join_req = NULL;
  if (m->sync_req == req) m->sync_req = NULL;
}

/* ---- answering parked and immediate requests ---- */

static void fill_join(brook_req_t *req, brook_join_group_response_t *resp, group_t *g, const char *member_id,
                      brook_err_t err, bool with_members) {
  brook_arena_t *a = req->arena;
  int16_t v = req->hdr.api_version;
  resp->error_code = (int16_t)err;
  resp->member_id = arena_str(a, member_id ? member_id : "");
  if (err) {
    resp->generation_id = -1;
    resp->protocol_type = BROOK_STR_NULL;
    resp->protocol_name = v >= 7 ? BROOK_STR_NULL : BROOK_STR("");
    resp->leader = BROOK_STR("");
    resp->members.items = NULL;
    resp->members.count = 0;
    return;
  }
  resp->generation_id = g->generation;
  resp->protocol_type = arena_str(a, g->protocol_type);
  resp->protocol_name = g->protocol ? arena_str(a, g->protocol) : (v >= 7 ? BROOK_STR_NULL : BROOK_STR(""));
  resp->leader = arena_str(a, g->leader ? g->leader : "");
  resp->members.count = 0;
  if (!with_members || !g->protocol) return;
  int32_t n = (int32_t)g_hash_table_size(g->members);
  resp->members.items = brook_arena_alloc(a, sizeof *resp->members.items * (size_t)(n + 1));
  GHashTableIter it;
  gpointer k, val;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &val)) {
    member_t *m = val;
    brook_join_group_response_join_group_response_member_t *out = &resp->members.items[resp->members.count++];
    out->member_id = arena_str(a, m->id);
    out->group_instance_id = arena_str(a, m->instance_id);
    gsize len = 0;
    GBytes *md = member_metadata(m, g->protocol);
    const uint8_t *d = md ? g_bytes_get_data(md, &len) : NULL;
    uint8_t *copy = brook_arena_alloc(a, len + 1);
    if (len) memcpy(copy, d, len);
    out->metadata = (brook_bytes_t){copy, (int32_t)len};
  }
}

/* Answers a member's parked JoinGroup (if its connection is still there). */
static void join_answer(brook_broker_t *b, member_t *m, brook_err_t err) {
  brook_req_t *req = m->join_req;
  if (!req) return;
  m->join_req = NULL;
  req->parked_owner = NULL;
  group_t *g = m->group;
  fill_join(req, req->parked_state, g, m->id, err, !err && g->leader && !strcmp(g->leader, m->id));
  broker_req_complete(b, req, req->parked_state);
}

static void fill_sync(brook_req_t *req, brook_sync_group_response_t *resp, group_t *g, brook_err_t err,
                      GBytes *assignment) {
  brook_arena_t *a = req->arena;
  resp->error_code = (int16_t)err;
  resp->protocol_type = err ? BROOK_STR_NULL : arena_str(a, g->protocol_type);
  resp->protocol_name = err ? BROOK_STR_NULL : arena_str(a, g->protocol);
  gsize len = 0;
  const uint8_t *d = assignment && !err ? g_bytes_get_data(assignment, &len) : NULL;
  uint8_t *copy = brook_arena_alloc(a, len + 1);
  if (len) memcpy(copy, d, len);
  resp->assignment = (brook_bytes_t){copy, (int32_t)len};
}

static void sync_answer(brook_broker_t *b, member_t *m, brook_err_t err) {
  brook_req_t *req = m->sync_req;
  if (!req) return;
  m->sync_req = NULL;
  req->parked_owner = NULL;
  fill_sync(req, req->parked_state, m->group, err, m->assignment);
  broker_req_complete(b, req, req->parked_state);
}

static void park(brook_broker_t *b, brook_req_t *req, void *resp, member_t *m) {
  req->parked_state = resp;
  req->parked_owner = m;
  req->parked_drop = request_dropped;
  req->parked_ready = NULL;
  broker_req_park(b, req); /* before anything can answer it */
}

/* ---- the rebalance ---- */

static int32_t group_rebalance_timeout(group_t *g) {
  int32_t t = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v)) t = MAX(t, ((member_t *)v)->rebalance_timeout_ms);
  return t;
}

static bool all_members_joined(group_t *g) {
  if (g_hash_table_size(g->pending)) return false;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v))
    if (!((member_t *)v)->join_req) return false;
  return true;
}

/* Candidates: protocols every member supports, in the first member's order;
 * each member votes for its most preferred candidate; most votes wins (ties:
 * earlier candidate). */
static char *select_protocol(group_t *g) {
  GHashTableIter it;
  gpointer k, v;
  member_t *first = NULL;
  g_hash_table_iter_init(&it, g->members);
  if (g_hash_table_iter_next(&it, &k, &v)) first = v;
  if (!first) return NULL;
  int best = -1, best_votes = -1;
  for (int i = 0; i < first->nprotocols; i++) {
    const char *cand = first->protocols[i].name;
    bool all = true;
    int votes = 0;
    g_hash_table_iter_init(&it, g->members);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      member_t *m = v;
      if (!member_supports(m, cand)) {
        all = false;
        break;
      }
      /* m's vote: its first protocol that every member supports */
      for (int j = 0; j < m->nprotocols; j++) {
        const char *p = m->protocols[j].name;
        bool everyone = true;
        GHashTableIter it2;
        gpointer k2, v2;
        g_hash_table_iter_init(&it2, g->members);
        while (everyone && g_hash_table_iter_next(&it2, &k2, &v2)) everyone = member_supports(v2, p);
        if (everyone) {
          if (!strcmp(p, cand)) votes++;
          break;
        }
      }
    }
    if (all && votes > best_votes) {
      best = i;
      best_votes = votes;
    }
  }
  return best >= 0 ? g_strdup(first->protocols[best].name) : NULL;
}

static void sync_timeout(brook_broker_t *b, void *arg);

/* End of the join phase: drop members that did not rejoin, start the next
 * generation and answer every parked JoinGroup. */
static void complete_join(brook_broker_t *b, group_t *g) {
  broker_timer_cancel(b, &g->join_timer);
  g->initial_delay = false;
  GPtrArray *gone = g_ptr_array_new();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v))
    if (!((member_t *)v)->join_req) g_ptr_array_add(gone, v);
  for (guint i = 0; i < gone->len; i++) {
    member_t *m = gone->pdata[i];
    brook_log(BROOK_LOG_INFO, "group", "group %s: member %s did not rejoin in time and is removed", g->id, m->id);
    g_hash_table_remove(g->members, m->id);
    if (m->instance_id) g_hash_table_remove(g->static_members, m->instance_id);
    if (m->sync_req) sync_answer(b, m, BROOK_ERR_REBALANCE_IN_PROGRESS);
    group_member_free(b, m);
  }
  g_ptr_array_free(gone, TRUE);

  g->generation++;
  g_free(g->protocol);
  g->protocol = NULL;
  if (g_hash_table_size(g->members) == 0) {
    g_free(g->leader);
    g->leader = NULL;
    set_state(g, GROUP_EMPTY);
    brook_log(BROOK_LOG_INFO, "group", "group %s with generation %d is now empty", g->id, g->generation);
    group_log_group(b, g);
    return;
  }
  g->protocol = select_protocol(g);
  if (!g->leader || !g_hash_table_lookup(g->members, g->leader)) {
    g_hash_table_iter_init(&it, g->members);
    g_hash_table_iter_next(&it, &k, &v);
    g_free(g->leader);
    g->leader = g_strdup(((member_t *)v)->id);
  }
  set_state(g, GROUP_COMPLETING_REBALANCE);
  brook_log(BROOK_LOG_INFO, "group", "group %s: generation %d with %u member(s), protocol %s, leader %s", g->id,
            g->generation, g_hash_table_size(g->members), g->protocol ? g->protocol : "(none)", g->leader);
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    member_t *m = v;
    if (m->assignment) g_bytes_unref(m->assignment);
    m->assignment = NULL;
    m->is_new = false;
    join_answer(b, m, BROOK_ERR_NONE);
    group_member_touch(b, m);
  }
  broker_timer_arm(b, &g->sync_timer, broker_now_ms() + group_rebalance_timeout(g), sync_timeout, g);
}

static void join_timer_fired(brook_broker_t *b, void *arg) {
  group_t *g = arg;
  if (g->state != GROUP_PREPARING_REBALANCE) return;
  if (g->initial_delay && g->new_member_added && g->initial_remaining_ms > 0) {
    int64_t delay = MIN(b->bconf.group_initial_rebalance_delay_ms, g->initial_remaining_ms);
    g->initial_remaining_ms = MAX(g->initial_remaining_ms - b->bconf.group_initial_rebalance_delay_ms, 0);
    g->new_member_added = false;
    broker_timer_arm(b, &g->join_timer, broker_now_ms() + delay, join_timer_fired, g);
    return;
  }
  complete_join(b, g);
}

static void maybe_complete_join(brook_broker_t *b, group_t *g) {
  if (g->state == GROUP_PREPARING_REBALANCE && !g->initial_delay && all_members_joined(g)) complete_join(b, g);
}

static void prepare_rebalance(brook_broker_t *b, group_t *g, const char *reason) {
  if (g->state == GROUP_PREPARING_REBALANCE) return;
  if (g->state == GROUP_COMPLETING_REBALANCE) { /* the assignment being made is void: tell whoever waits */
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, g->members);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      member_t *m = v;
      if (m->assignment) g_bytes_unref(m->assignment);
      m->assignment = NULL;
      sync_answer(b, m, BROOK_ERR_REBALANCE_IN_PROGRESS);
    }
  }
  broker_timer_cancel(b, &g->sync_timer);
  int64_t now = broker_now_ms();
  int32_t timeout = group_rebalance_timeout(g);
  if (g->state == GROUP_EMPTY) {
    int64_t delay = b->bconf.group_initial_rebalance_delay_ms;
    g->initial_delay = true;
    g->new_member_added = false;
    g->initial_remaining_ms = MAX(timeout - delay, 0);
    broker_timer_arm(b, &g->join_timer, now + MIN(delay, (int64_t)timeout), join_timer_fired, g);
  } else {
    g->initial_delay = false;
    broker_timer_arm(b, &g->join_timer, now + timeout, join_timer_fired, g);
  }
  brook_log(BROOK_LOG_INFO, "group", "preparing to rebalance group %s in state %s with old generation %d (%s)", g->id,
            group_state_name(g->state), g->generation, reason);
  set_state(g, GROUP_PREPARING_REBALANCE);
}

/* Takes a member out and moves the group on: answers its parked requests
 * with UNKNOWN_MEMBER_ID, moves leadership, rebalances. */
static void remove_member(brook_broker_t *b, group_t *g, member_t *m, const char *reason) {
  join_answer(b, m, BROOK_ERR_UNKNOWN_MEMBER_ID);
  sync_answer(b, m, BROOK_ERR_UNKNOWN_MEMBER_ID);
  g_hash_table_remove(g->members, m->id);
  if (m->instance_id) g_hash_table_remove(g->static_members, m->instance_id);
  if (g->leader && !strcmp(g->leader, m->id)) {
    g_free(g->leader);
    g->leader = NULL;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, g->members);
    if (g_hash_table_iter_next(&it, &k, &v)) g->leader = g_strdup(((member_t *)v)->id);
  }
  group_member_free(b, m);
  switch (g->state) {
    case GROUP_STABLE:
    case GROUP_COMPLETING_REBALANCE:
      prepare_rebalance(b, g, reason);
      maybe_complete_join(b, g); /* the last member gone: Empty before the leave is answered, as in Kafka */
      break;
    case GROUP_PREPARING_REBALANCE:
      maybe_complete_join(b, g);
      break;
    default:
      break;
  }
}

/* The leader did not send its assignment within the rebalance timeout:
 * members that never synced are dropped and the group rebalances. */
static void sync_timeout(brook_broker_t *b, void *arg) {
  group_t *g = arg;
  if (g->state != GROUP_COMPLETING_REBALANCE) return;
  GPtrArray *gone = g_ptr_array_new();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v))
    if (!((member_t *)v)->sync_req) g_ptr_array_add(gone, v);
  brook_log(BROOK_LOG_INFO, "group", "group %s: no assignment from leader %s within the rebalance timeout", g->id,
            g->leader ? g->leader : "(none)");
  for (guint i = 0; i < gone->len && g_hash_table_size(g->members); i++)
    remove_member(b, g, gone->pdata[i], "members did not sync in time");
  g_ptr_array_free(gone, TRUE);
  if (g->state == GROUP_COMPLETING_REBALANCE) prepare_rebalance(b, g, "leader did not sync in time");
}

static void pending_expired(brook_broker_t *b, void *arg) {
  pending_member_t *p = arg;
  group_t *g = p->group;
  g_hash_table_remove(g->pending, p->id);
  pending_free(b, p);
  maybe_complete_join(b, g);
}

static char *new_member_id(const char *client_id, const char *instance_id) {
  char *uuid = g_uuid_string_random();
  char *id = g_strdup_printf("%s-%s", instance_id ? instance_id : client_id, uuid);
  g_free(uuid);
  return id;
}

static member_t *member_add(brook_broker_t *b, group_t *g, char *member_id, const char *instance_id,
                            brook_req_t *req, const brook_join_group_request_t *r) {
  member_t *m = g_new0(member_t, 1);
  m->group = g;
  m->id = member_id;
  m->instance_id = g_strdup(instance_id);
  m->client_id = group_str(req->hdr.client_id);
  m->client_host = g_strdup_printf("/%s", conn_peer(req->conn));
  char *colon = strrchr(m->client_host, ':');
  if (colon) *colon = 0;
  m->protocol_type = group_str(r->protocol_type);
  member_update(m, r);
  m->is_new = true;
  g_hash_table_insert(g->members, m->id, m);
  if (m->instance_id) g_hash_table_insert(g->static_members, m->instance_id, m);
  if (g_hash_table_size(g->members) == 1) { /* the first member decides the protocol type */
    g_free(g->protocol_type);
    g->protocol_type = g_strdup(m->protocol_type);
  }
  if (!g->leader) g->leader = g_strdup(m->id);
  if (g->state == GROUP_PREPARING_REBALANCE && g->initial_delay) g->new_member_added = true;
  session_arm(b, m, NEW_MEMBER_JOIN_TIMEOUT_MS);
  return m;
}

/* ---- JoinGroup ---- */

static handler_ret_t add_member_and_rebalance(brook_broker_t *b, group_t *g, brook_req_t *req, void *resp,
                                              char *member_id, const char *instance_id) {
  brook_join_group_request_t *r = req->msg;
  member_t *m = member_add(b, g, member_id, instance_id, req, r);
  m->join_req = req;
  park(b, req, resp, m);
  if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE || g->state == GROUP_EMPTY)
    prepare_rebalance(b, g, "new member joined");
  else
    maybe_complete_join(b, g);
  return HANDLER_TAKEN;
}

static handler_ret_t update_member_and_rebalance(brook_broker_t *b, group_t *g, member_t *m, brook_req_t *req,
                                                 void *resp, const char *reason) {
  member_update(m, req->msg);
  if (m->join_req) join_answer(b, m, BROOK_ERR_REBALANCE_IN_PROGRESS); /* a duplicate join replaces the old one */
  m->join_req = req;
  park(b, req, resp, m);
  if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE) prepare_rebalance(b, g, reason);
  maybe_complete_join(b, g);
  return HANDLER_TAKEN;
}

/* A static member restarting: its new id replaces the old one, which is fenced. */
static handler_ret_t static_member_rejoin(brook_broker_t *b, group_t *g, member_t *m, brook_req_t *req, void *resp,
                                          char *new_id) {
  brook_log(BROOK_LOG_INFO, "group", "group %s: static member %s rejoins with new member id %s (old %s is fenced)", g->id,
            m->instance_id, new_id, m->id);
  join_answer(b, m, BROOK_ERR_FENCED_INSTANCE_ID);
  sync_answer(b, m, BROOK_ERR_FENCED_INSTANCE_ID);
  char *old_leader = g->leader ? g_strdup(g->leader) : NULL;
  bool was_leader = g->leader && !strcmp(g->leader, m->id);
  g_hash_table_remove(g->members, m->id);
  g_free(m->id);
  m->id = new_id;
  g_hash_table_insert(g->members, m->id, m);
  if (was_leader) {
    g_free(g->leader);
    g->leader = g_strdup(m->id);
  }
  brook_join_group_request_t *r = req->msg;
  bool same_protocols = member_matches(m, r);
  member_update(m, r);
  group_member_touch(b, m);
  handler_ret_t ret;
  if ((g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE) &&
      (same_protocols || (g->protocol && member_supports(m, g->protocol)))) {
    /* No rebalance: current generation, old leader id (so that a restarted
     * leader does not compute an assignment a stable group would not take). */
    brook_join_group_response_t *jr = resp;
    fill_join(req, jr, g, m->id, BROOK_ERR_NONE, false);
    jr->leader = arena_str(req->arena, old_leader ? old_leader : "");
    if (g->state == GROUP_STABLE) group_log_group(b, g);
    ret = HANDLER_DONE;
  } else if (g->state == GROUP_PREPARING_REBALANCE) {
    m->join_req = req;
    park(b, req, resp, m);
    maybe_complete_join(b, g);
    ret = HANDLER_TAKEN;
  } else {
    m->join_req = req;
    park(b, req, resp, m);
    prepare_rebalance(b, g, "static member changed its protocols");
    ret = HANDLER_TAKEN;
  }
  g_free(old_leader);
  return ret;
}

handler_ret_t handle_join_group(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_join_group_request_t *r = req->msg;
  brook_join_group_response_t *resp = resp_;
  int16_t v = req->hdr.api_version;
  char *gid = group_str(r->group_id);
  char *member_id = group_str(r->member_id);
  char *instance_id = group_str_or_null(r->group_instance_id);
  char *ptype = group_str(r->protocol_type);
  brook_err_t err = BROOK_ERR_NONE;
  handler_ret_t ret = HANDLER_DONE;
  group_t *g = NULL;

  if (!gid[0]) err = BROOK_ERR_INVALID_GROUP_ID;
  else if (r->session_timeout_ms < b->bconf.group_min_session_timeout_ms ||
           r->session_timeout_ms > b->bconf.group_max_session_timeout_ms)
    err = BROOK_ERR_INVALID_SESSION_TIMEOUT;
  else if (group_coord_ensure_topic(b))
    err = BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
  if (!err) {
    g = group_get(b, gid);
    if (!g && member_id[0]) err = BROOK_ERR_UNKNOWN_MEMBER_ID; /* a known member of a group we do not know */
    else if (!g) g = group_get_or_create(b, gid);
  }
  if (!err && g->state == GROUP_DEAD) err = BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
  if (!err && !group_supports(g, ptype, r)) err = BROOK_ERR_INCONSISTENT_GROUP_PROTOCOL;
  if (!err && !member_id[0] && g_hash_table_size(g->members) >= (guint)b->bconf.group_max_size &&
      !(instance_id && g_hash_table_lookup(g->static_members, instance_id)))
    err = BROOK_ERR_GROUP_MAX_SIZE_REACHED;
  if (err) {
    fill_join(req, resp, g, member_id, err, false);
    goto done;
  }

  if (!member_id[0]) { /* a member without an id */
    member_t *old = instance_id ? g_hash_table_lookup(g->static_members, instance_id) : NULL;
    char *client_id = group_str(req->hdr.client_id);
    char *new_id = new_member_id(client_id, instance_id);
    g_free(client_id);
    if (old) {
      ret = static_member_rejoin(b, g, old, req, resp, new_id);
    } else if (v >= 4 && !instance_id) { /* KIP-394: hand out an id, the member comes back with it */
      pending_member_t *p = g_new0(pending_member_t, 1);
      p->group = g;
      p->id = new_id;
      g_hash_table_insert(g->pending, p->id, p);
      broker_timer_arm(b, &p->expiry, broker_now_ms() + r->session_timeout_ms, pending_expired, p);
      fill_join(req, resp, g, new_id, BROOK_ERR_MEMBER_ID_REQUIRED, false);
    } else {
      ret = add_member_and_rebalance(b, g, req, resp, new_id, instance_id);
    }
    goto done;
  }

  pending_member_t *p = g_hash_table_lookup(g->pending, member_id);
  if (p) { /* back with the id it was given */
    g_hash_table_remove(g->pending, member_id);
    pending_free(b, p);
    ret = add_member_and_rebalance(b, g, req, resp, g_strdup(member_id), instance_id);
    goto done;
  }
  member_t *m;
  err = group_member_check(g, member_id, instance_id, &m);
  if (!err && instance_id && !g_hash_table_lookup(g->static_members, instance_id)) err = BROOK_ERR_UNKNOWN_MEMBER_ID;
  if (err) {
    fill_join(req, resp, g, member_id, err, false);
    goto done;
  }
  switch (g->state) {
    case GROUP_PREPARING_REBALANCE:
      ret = update_member_and_rebalance(b, g, m, req, resp, "member rejoined");
      break;
    case GROUP_COMPLETING_REBALANCE:
      if (member_matches(m, r)) { /* it missed our answer: same generation again */
        fill_join(req, resp, g, m->id, BROOK_ERR_NONE, !strcmp(g->leader, m->id));
        group_member_touch(b, m);
      } else {
        ret = update_member_and_rebalance(b, g, m, req, resp, "member changed its protocols");
      }
      break;
    case GROUP_STABLE:
      if (!strcmp(g->leader, m->id) || !member_matches(m, r)) {
        ret = update_member_and_rebalance(b, g, m, req, resp,
                                          !strcmp(g->leader, m->id) ? "leader rejoined" : "member changed its protocols");
      } else {
        fill_join(req, resp, g, m->id, BROOK_ERR_NONE, false);
        group_member_touch(b, m);
      }
      break;
    default:
      fill_join(req, resp, g, member_id, BROOK_ERR_UNKNOWN_MEMBER_ID, false);
      break;
  }
done:
  g_free(gid);
  g_free(member_id);
  g_free(instance_id);
  g_free(ptype);
  return ret;
}

/* ---- SyncGroup ---- */

static void sync_complete(brook_broker_t *b, group_t *g, const brook_sync_group_request_t *r) {
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    member_t *m = v;
    if (m->assignment) g_bytes_unref(m->assignment);
    m->assignment = NULL;
  }
  for (int32_t i = 0; i < r->assignments.count; i++) {
    const brook_sync_group_request_sync_group_request_assignment_t *a = &r->assignments.items[i];
    char *mid = group_str(a->member_id);
    member_t *m = g_hash_table_lookup(g->members, mid);
    g_free(mid);
    if (!m) continue;
    if (m->assignment) g_bytes_unref(m->assignment);
    m->assignment = g_bytes_new(a->assignment.ptr, (gsize)MAX(a->assignment.len, 0));
  }
  g_hash_table_iter_init(&it, g->members); /* members the leader left out get an empty assignment */
  while (g_hash_table_iter_next(&it, &k, &v))
    if (!((member_t *)v)->assignment) ((member_t *)v)->assignment = g_bytes_new(NULL, 0);
  brook_err_t err = group_log_group(b, g);
  if (err) {
    brook_log(BROOK_LOG_ERR, "group", "group %s: cannot store the assignment (%s): rebalancing", g->id,
              brook_err_name(err));
    g_hash_table_iter_init(&it, g->members);
    while (g_hash_table_iter_next(&it, &k, &v)) sync_answer(b, v, BROOK_ERR_COORDINATOR_NOT_AVAILABLE);
    prepare_rebalance(b, g, "storing the assignment failed");
    return;
  }
  broker_timer_cancel(b, &g->sync_timer);
  set_state(g, GROUP_STABLE);
  brook_log(BROOK_LOG_INFO, "group", "group %s: generation %d is stable", g->id, g->generation);
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v)) sync_answer(b, v, BROOK_ERR_NONE);
}

static bool str_is(brook_str_t s, const char *c) {
  return s.len < 0 || (c && (size_t)s.len == strlen(c) && !memcmp(s.ptr, c, (size_t)s.len));
}

handler_ret_t handle_sync_group(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_sync_group_request_t *r = req->msg;
  brook_sync_group_response_t *resp = resp_;
  char *gid = group_str(r->group_id);
  char *member_id = group_str(r->member_id);
  char *instance_id = group_str_or_null(r->group_instance_id);
  group_t *g = gid[0] ? group_get(b, gid) : NULL;
  member_t *m = NULL;
  brook_err_t err = BROOK_ERR_NONE;
  handler_ret_t ret = HANDLER_DONE;
  if (!gid[0]) err = BROOK_ERR_INVALID_GROUP_ID;
  else if (!g) err = BROOK_ERR_UNKNOWN_MEMBER_ID;
  else if (g->state == GROUP_DEAD) err = BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
  else if ((err = group_member_check(g, member_id, instance_id, &m))) {
  } else if (r->generation_id != g->generation) err = BROOK_ERR_ILLEGAL_GENERATION;
  else if (!str_is(r->protocol_type, g->protocol_type) || !str_is(r->protocol_name, g->protocol))
    err = BROOK_ERR_INCONSISTENT_GROUP_PROTOCOL;
  else if (g->state == GROUP_EMPTY) err = BROOK_ERR_UNKNOWN_MEMBER_ID;
  else if (g->state == GROUP_PREPARING_REBALANCE) err = BROOK_ERR_REBALANCE_IN_PROGRESS;
  if (err) {
    fill_sync(req, resp, g, err, NULL);
  } else if (g->state == GROUP_STABLE) {
    fill_sync(req, resp, g, BROOK_ERR_NONE, m->assignment);
    group_member_touch(b, m);
  } else { /* COMPLETING_REBALANCE: wait for the leader's assignment */
    if (m->sync_req) sync_answer(b, m, BROOK_ERR_REBALANCE_IN_PROGRESS);
    m->sync_req = req;
    park(b, req, resp, m);
    ret = HANDLER_TAKEN;
    if (!strcmp(g->leader, m->id)) sync_complete(b, g, r);
  }
  g_free(gid);
  g_free(member_id);
  g_free(instance_id);
  return ret;
}

/* ---- Heartbeat ---- */

handler_ret_t handle_heartbeat(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_heartbeat_request_t *r = req->msg;
  brook_heartbeat_response_t *resp = resp_;
  char *gid = group_str(r->group_id);
  char *member_id = group_str(r->member_id);
  char *instance_id = group_str_or_null(r->group_instance_id);
  group_t *g = gid[0] ? group_get(b, gid) : NULL;
  member_t *m = NULL;
  brook_err_t err;
  if (!gid[0]) err = BROOK_ERR_INVALID_GROUP_ID;
  else if (!g) err = BROOK_ERR_UNKNOWN_MEMBER_ID;
  else if (g->state == GROUP_DEAD) err = BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
  else if ((err = group_member_check(g, member_id, instance_id, &m))) {
  } else if (r->generation_id != g->generation) err = BROOK_ERR_ILLEGAL_GENERATION;
  else if (g->state == GROUP_EMPTY) err = BROOK_ERR_UNKNOWN_MEMBER_ID;
  else {
    group_member_touch(b, m);
    err = g->state == GROUP_PREPARING_REBALANCE ? BROOK_ERR_REBALANCE_IN_PROGRESS : BROOK_ERR_NONE;
  }
  resp->error_code = (int16_t)err;
  g_free(gid);
  g_free(member_id);
  g_free(instance_id);
  return HANDLER_DONE;
}

/* ---- LeaveGroup ---- */

static brook_err_t leave_one(brook_broker_t *b, group_t *g, const char *member_id, const char *instance_id) {
  if (!member_id[0] && instance_id) { /* static member leaving by instance id (v3+) */
    member_t *s = g_hash_table_lookup(g->static_members, instance_id);
    if (!s) return BROOK_ERR_UNKNOWN_MEMBER_ID;
    member_id = s->id;
  }
  pending_member_t *p = g_hash_table_lookup(g->pending, member_id);
  if (p) {
    g_hash_table_remove(g->pending, member_id);
    pending_free(b, p);
    maybe_complete_join(b, g);
    return BROOK_ERR_NONE;
  }
  member_t *m;
  brook_err_t err = group_member_check(g, member_id, instance_id, &m);
  if (err) return err;
  brook_log(BROOK_LOG_INFO, "group", "member %s leaves group %s", m->id, g->id);
  remove_member(b, g, m, "member left the group");
  return BROOK_ERR_NONE;
}

handler_ret_t handle_leave_group(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_leave_group_request_t *r = req->msg;
  brook_leave_group_response_t *resp = resp_;
  char *gid = group_str(r->group_id);
  group_t *g = gid[0] ? group_get(b, gid) : NULL;
  if (!gid[0]) resp->error_code = BROOK_ERR_INVALID_GROUP_ID;
  else if (g && g->state == GROUP_DEAD) resp->error_code = BROOK_ERR_COORDINATOR_NOT_AVAILABLE;
  if (resp->error_code) goto done;
  if (req->hdr.api_version < 3) {
    char *member_id = group_str(r->member_id);
    resp->error_code = (int16_t)(g ? leave_one(b, g, member_id, NULL) : BROOK_ERR_UNKNOWN_MEMBER_ID);
    g_free(member_id);
    goto done;
  }
  resp->members.items = brook_arena_alloc(req->arena, sizeof *resp->members.items * (size_t)(r->members.count + 1));
  resp->members.count = MAX(r->members.count, 0);
  for (int32_t i = 0; i < resp->members.count; i++) {
    const brook_leave_group_request_member_identity_t *mi = &r->members.items[i];
    brook_leave_group_response_member_response_t *out = &resp->members.items[i];
    char *member_id = group_str(mi->member_id);
    char *instance_id = group_str_or_null(mi->group_instance_id);
    out->member_id = mi->member_id;
    out->group_instance_id = mi->group_instance_id;
    out->error_code = (int16_t)(g ? leave_one(b, g, member_id, instance_id) : BROOK_ERR_UNKNOWN_MEMBER_ID);
    g_free(member_id);
    g_free(instance_id);
  }
done:
  g_free(gid);
  return HANDLER_DONE;
}

/* ---- subscriptions (OffsetDelete) ---- */

/* ConsumerProtocolSubscription: int16 version, [string topics], bytes user data, ... */
bool group_subscribes_to(group_t *g, const char *topic) {
  if (!g->protocol_type || strcmp(g->protocol_type, "consumer") || !g->protocol) return false;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, g->members);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    GBytes *md = member_metadata(v, g->protocol);
    if (!md) continue;
    gsize n;
    const uint8_t *p = g_bytes_get_data(md, &n);
    brook_rd_t rd;
    brook_rd_init(&rd, p, n);
    brook_rd_i16(&rd);
    int32_t count = brook_rd_i32(&rd);
    for (int32_t i = 0; i < count && !rd.err; i++) {
      int16_t len = brook_rd_i16(&rd);
      const uint8_t *s = len > 0 ? brook_rd_take(&rd, (size_t)len) : NULL;
      if (s && (size_t)len == strlen(topic) && !memcmp(s, topic, (size_t)len)) return true;
    }
  }
  return false;
}

/* ---- offset expiry ---- */

/* KIP-211: the offsets of a consumer group expire once the group has been
 * empty for offsets.retention.minutes; a group without a protocol type
 * (standalone consumers committing with generation -1) has each offset
 * expire that long after its commit. An explicit v2-4 retention wins. */
static void expire_offsets(brook_broker_t *b, void *unused) {
  group_coord_t *gc = b->groups;
  int64_t now_ms = broker_now_ms();
  broker_timer_arm(b, &gc->expiry, now_ms + b->bconf.offsets_retention_check_interval_ms, expire_offsets, NULL);
  int64_t retention = b->bconf.offsets_retention_ms;
  GPtrArray *dead = g_ptr_array_new();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, gc->groups);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    group_t *g = v;
    bool empty = g->state == GROUP_EMPTY;
    GPtrArray *expired = g_ptr_array_new();
    GHashTableIter oit;
    gpointer ok, ov;
    g_hash_table_iter_init(&oit, g->offsets);
    while (g_hash_table_iter_next(&oit, &ok, &ov)) {
      group_offset_t *o = ov;
      bool gone;
      if (o->expire_ts >= 0) gone = now_ms >= o->expire_ts;
      else if (!g->protocol_type) gone = now_ms >= o->commit_ts + retention;
      else gone = empty && now_ms >= g->state_ts_ms + retention;
      if (gone) g_ptr_array_add(expired, ok);
    }
    if (expired->len) {
      brook_log(BROOK_LOG_INFO, "group", "group %s: %u committed offset(s) expired", g->id, expired->len);
      if (!group_log_offsets(b, g, expired, NULL)) {
        for (guint i = 0; i < expired->len; i++) {
          group_tp_t *tp = expired->pdata[i];
          g_hash_table_remove(g->offsets, tp);
        }
      }
    }
    g_ptr_array_free(expired, TRUE);
    if (empty && g_hash_table_size(g->offsets) == 0 && g_hash_table_size(g->members) == 0 &&
        g_hash_table_size(g->pending) == 0) /* not if a member is on its way in with its new id */
      g_ptr_array_add(dead, g);
  }
  for (guint i = 0; i < dead->len; i++) {
    group_t *g = dead->pdata[i];
    if (group_log_delete_group(b, g)) continue;
    brook_log(BROOK_LOG_INFO, "group", "group %s is empty and has no offsets left: removed", g->id);
    group_remove(b, g);
  }
  g_ptr_array_free(dead, TRUE);
}
