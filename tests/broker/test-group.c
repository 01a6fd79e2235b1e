/*
 * test-group.c — the group coordinator at the protocol level, through raw
 * sockets and brook's own codec: the MEMBER_ID_REQUIRED flow, generations,
 * leader and protocol choice, parked joins and syncs answered together, the
 * errors clients rely on (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL),
 * session expiry, static members rejoining without a rebalance, committed
 * offsets (checks, fetch in every shape, expiry, delete), persistence across a
 * restart in Kafka's record format, the bounded offsets log, and admin APIs.
 *
 * Brokers run in-process with group.initial.rebalance.delay.ms=0 and a low
 * group.min.session.timeout.ms so short session timeouts are allowed. Waits
 * for the broker's timers are client-style polls (a heartbeat every 20 ms)
 * with a bounded deadline, never a fixed sleep.
 */
#include "rawclient.h"
#include "group.h"

#define GROUP_CONF "group.initial.rebalance.delay.ms", "0", "group.min.session.timeout.ms", "100"

static brook_str_t S(const char *s) { return s ? (brook_str_t){s, (int32_t)strlen(s)} : BROOK_STR_NULL; }

/* ConsumerProtocolSubscription v0 for one topic (what OffsetDelete looks at). */
static const uint8_t subscription[] = {0, 0, 0, 0, 0, 1, 0, 2, 'g', 't', 0xff, 0xff, 0xff, 0xff};

typedef struct gm {
  int fd;
  int32_t corr;
  char id[256];
  int32_t gen;
  char leader[256];
  char proto[64];
  int nmembers;
  char member_ids[8][256]; /* leader only: who joined */
} gm_t;

static void gm_open(gm_t *m, const harness_t *h) {
  memset(m, 0, sizeof *m);
  m->fd = connect_to(h);
  m->gen = -1;
}

static void cpy(char *dst, size_t n, brook_str_t s) {
  size_t l = s.len > 0 ? MIN((size_t)s.len, n - 1) : 0;
  if (l) memcpy(dst, s.ptr, l);
  dst[l] = 0;
}

/* protos: comma-separated protocol names, each with the subscription above. */
static void join_send(gm_t *m, int16_t v, const char *group, const char *instance, int32_t session, int32_t rebalance,
                      const char *ptype, const char *protos) {
  char **names = g_strsplit(protos, ",", -1);
  int n = (int)g_strv_length(names);
  brook_join_group_request_join_group_request_protocol_t *ps = g_new0(brook_join_group_request_join_group_request_protocol_t, n);
  for (int i = 0; i < n; i++) {
    ps[i].name = S(names[i]);
    ps[i].metadata = (brook_bytes_t){subscription, sizeof subscription};
  }
  brook_join_group_request_t r = {0};
  r.group_id = S(group);
  r.session_timeout_ms = session;
  r.rebalance_timeout_ms = rebalance;
  r.member_id = S(m->id);
  r.group_instance_id = S(instance);
  r.protocol_type = S(ptype);
  r.protocols.items = ps;
  r.protocols.count = n;
  r.reason = BROOK_STR_NULL;
  send_request(m->fd, BROOK_API_JOIN_GROUP, v, ++m->corr, &r);
  g_free(ps);
  g_strfreev(names);
}

static int16_t join_recv(gm_t *m, int16_t v) {
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_join_group_response_t *resp = recv_response(m->fd, BROOK_API_JOIN_GROUP, v, m->corr, a, &keep);
  int16_t err = resp->error_code;
  cpy(m->id, sizeof m->id, resp->member_id);
  m->gen = resp->generation_id;
  cpy(m->leader, sizeof m->leader, resp->leader);
  cpy(m->proto, sizeof m->proto, resp->protocol_name);
  m->nmembers = resp->members.count;
  for (int i = 0; i < resp->members.count && i < 8; i++) {
    cpy(m->member_ids[i], sizeof m->member_ids[i], resp->members.items[i].member_id);
    g_assert_cmpint(resp->members.items[i].metadata.len, ==, sizeof subscription);
  }
  g_free(keep);
  brook_arena_destroy(a);
  return err;
}

static int16_t join(gm_t *m, int16_t v, const char *group, const char *instance, int32_t session, const char *protos) {
  join_send(m, v, group, instance, session, session, "consumer", protos);
  return join_recv(m, v);
}

/* Sends SyncGroup; the leader passes "member=assignment" pairs. */
static void sync_send(gm_t *m, int16_t v, const char *group, const char *instance, const char *const *pairs) {
  brook_sync_group_request_t r = {0};
  brook_sync_group_request_sync_group_request_assignment_t as[8];
  int n = 0;
  char *split[8][2] = {{0}};
  for (; pairs && pairs[n]; n++) {
    const char *eq = strchr(pairs[n], '=');
    split[n][0] = g_strndup(pairs[n], (gsize)(eq - pairs[n]));
    split[n][1] = g_strdup(eq + 1);
    as[n].member_id = S(split[n][0]);
    as[n].assignment = (brook_bytes_t){(const uint8_t *)split[n][1], (int32_t)strlen(split[n][1])};
  }
  r.group_id = S(group);
  r.generation_id = m->gen;
  r.member_id = S(m->id);
  r.group_instance_id = S(instance);
  r.protocol_type = BROOK_STR_NULL;
  r.protocol_name = BROOK_STR_NULL;
  r.assignments.items = as;
  r.assignments.count = n;
  send_request(m->fd, BROOK_API_SYNC_GROUP, v, ++m->corr, &r);
  for (int i = 0; i < n; i++) {
    g_free(split[i][0]);
    g_free(split[i][1]);
  }
}

static int16_t sync_recv(gm_t *m, int16_t v, char *assignment, size_t n) {
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_sync_group_response_t *resp = recv_response(m->fd, BROOK_API_SYNC_GROUP, v, m->corr, a, &keep);
  int16_t err = resp->error_code;
  if (assignment) {
    size_t l = resp->assignment.len > 0 ? MIN((size_t)resp->assignment.len, n - 1) : 0;
    memcpy(assignment, resp->assignment.ptr, l);
    assignment[l] = 0;
  }
  g_free(keep);
  brook_arena_destroy(a);
  return err;
}

static int16_t heartbeat(gm_t *m, const char *group, const char *instance) {
  brook_heartbeat_request_t r = {S(group), m->gen, S(m->id), S(instance)};
  send_request(m->fd, BROOK_API_HEARTBEAT, 4, ++m->corr, &r);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_heartbeat_response_t *resp = recv_response(m->fd, BROOK_API_HEARTBEAT, 4, m->corr, a, &keep);
  int16_t err = resp->error_code;
  g_free(keep);
  brook_arena_destroy(a);
  return err;
}

/* LeaveGroup for one member: by member id (v0-2), or as one identity (v3+,
 * member id and instance id). Returns the member's error. */
static int16_t leave(gm_t *m, int16_t v, const char *group, const char *member_id, const char *instance) {
  brook_leave_group_request_member_identity_t id = {S(member_id), S(instance), BROOK_STR_NULL};
  brook_leave_group_request_t r = {S(group), v < 3 ? S(member_id) : BROOK_STR_NULL, {v < 3 ? NULL : &id, v < 3 ? 0 : 1}};
  send_request(m->fd, BROOK_API_LEAVE_GROUP, v, ++m->corr, &r);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_leave_group_response_t *resp = recv_response(m->fd, BROOK_API_LEAVE_GROUP, v, m->corr, a, &keep);
  int16_t err = resp->error_code;
  if (v >= 3 && !err) {
    g_assert_cmpint(resp->members.count, ==, 1);
    err = resp->members.items[0].error_code;
  }
  g_free(keep);
  brook_arena_destroy(a);
  return err;
}

/* Heartbeats every 20 ms until the answer is `want` (bounded: 10 s). */
static void heartbeat_until(gm_t *m, const char *group, int16_t want) {
  gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  int16_t err;
  while ((err = heartbeat(m, group, NULL)) != want && g_get_monotonic_time() < until) g_usleep(20000);
  g_assert_cmpint(err, ==, want);
}

/* One member forms a stable group alone: returns its generation. */
static int32_t form_alone(gm_t *m, const char *group, const char *instance, int32_t session) {
  int16_t err = join(m, 5, group, instance, session, "range");
  if (err == BROOK_ERR_MEMBER_ID_REQUIRED) err = join(m, 5, group, instance, session, "range");
  g_assert_cmpint(err, ==, 0);
  g_assert_cmpstr(m->leader, ==, m->id);
  char pair[300];
  snprintf(pair, sizeof pair, "%s=A", m->id);
  const char *pairs[] = {pair, NULL};
  sync_send(m, 3, group, instance, pairs);
  char asg[64];
  g_assert_cmpint(sync_recv(m, 3, asg, sizeof asg), ==, 0);
  g_assert_cmpstr(asg, ==, "A");
  return m->gen;
}

typedef struct describe {
  char state[32];
  char protocol[32];
  int nmembers;
  char assignment[8][64];
} describe_t;

static void describe(const harness_t *h, const char *group, describe_t *out) {
  int fd = connect_to(h);
  brook_str_t groups[] = {S(group)};
  brook_describe_groups_request_t r = {{groups, 1}, false};
  send_request(fd, BROOK_API_DESCRIBE_GROUPS, 5, 1, &r);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_describe_groups_response_t *resp = recv_response(fd, BROOK_API_DESCRIBE_GROUPS, 5, 1, a, &keep);
  g_assert_cmpint(resp->groups.count, ==, 1);
  memset(out, 0, sizeof *out);
  cpy(out->state, sizeof out->state, resp->groups.items[0].group_state);
  cpy(out->protocol, sizeof out->protocol, resp->groups.items[0].protocol_data);
  out->nmembers = resp->groups.items[0].members.count;
  for (int i = 0; i < out->nmembers && i < 8; i++) {
    brook_bytes_t as = resp->groups.items[0].members.items[i].member_assignment;
    cpy(out->assignment[i], sizeof out->assignment[i], (brook_str_t){(const char *)as.ptr, as.len});
  }
  g_free(keep);
  brook_arena_destroy(a);
  close(fd);
}

/* ---- membership ---- */

static void test_member_id_required(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, NULL};
  harness_start(&h, conf);
  gm_t m;
  gm_open(&m, &h);
  /* v4+: an empty member id is answered with MEMBER_ID_REQUIRED and an id */
  g_assert_cmpint(join(&m, 5, "g", NULL, 1000, "range"), ==, BROOK_ERR_MEMBER_ID_REQUIRED);
  g_assert_true(g_str_has_prefix(m.id, "brook-test-"));
  g_assert_cmpint(join(&m, 5, "g", NULL, 1000, "range"), ==, 0);
  g_assert_cmpint(m.gen, ==, 1);
  g_assert_cmpstr(m.leader, ==, m.id);
  g_assert_cmpstr(m.proto, ==, "range");
  g_assert_cmpint(m.nmembers, ==, 1);
  g_assert_cmpstr(m.member_ids[0], ==, m.id);
  char pair[300];
  snprintf(pair, sizeof pair, "%s=mine", m.id);
  const char *pairs[] = {pair, NULL};
  sync_send(&m, 3, "g", NULL, pairs);
  char asg[64];
  g_assert_cmpint(sync_recv(&m, 3, asg, sizeof asg), ==, 0);
  g_assert_cmpstr(asg, ==, "mine");
  g_assert_cmpint(heartbeat(&m, "g", NULL), ==, 0);

  /* the errors a client relies on */
  gm_t bad = m;
  bad.gen = m.gen + 1;
  g_assert_cmpint(heartbeat(&bad, "g", NULL), ==, BROOK_ERR_ILLEGAL_GENERATION);
  m.corr = bad.corr;
  g_strlcpy(bad.id, "nobody", sizeof bad.id);
  bad.gen = m.gen;
  g_assert_cmpint(heartbeat(&bad, "g", NULL), ==, BROOK_ERR_UNKNOWN_MEMBER_ID);
  m.corr = bad.corr;
  g_assert_cmpint(heartbeat(&m, "no-such-group", NULL), ==, BROOK_ERR_UNKNOWN_MEMBER_ID);

  /* a different protocol type or no common protocol is refused */
  gm_t o;
  gm_open(&o, &h);
  join_send(&o, 3, "g", NULL, 1000, 1000, "connect", "range");
  g_assert_cmpint(join_recv(&o, 3), ==, BROOK_ERR_INCONSISTENT_GROUP_PROTOCOL);
  join_send(&o, 3, "g", NULL, 1000, 1000, "consumer", "sticky");
  g_assert_cmpint(join_recv(&o, 3), ==, BROOK_ERR_INCONSISTENT_GROUP_PROTOCOL);
  /* out-of-range session timeouts */
  g_assert_cmpint(join(&o, 3, "g", NULL, 50, "range"), ==, BROOK_ERR_INVALID_SESSION_TIMEOUT);
  g_assert_cmpint(join(&o, 3, "", NULL, 1000, "range"), ==, BROOK_ERR_INVALID_GROUP_ID);
  close(o.fd);
  close(m.fd);
  harness_cleanup(&h);
}

static void test_rebalance_two_members(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, NULL};
  harness_start(&h, conf);
  gm_t a, b;
  gm_open(&a, &h);
  gm_open(&b, &h);
  /* v3: no MEMBER_ID_REQUIRED round trip */
  join_send(&a, 3, "g2", NULL, 5000, 5000, "consumer", "range,roundrobin");
  g_assert_cmpint(join_recv(&a, 3), ==, 0);
  char pair[300];
  snprintf(pair, sizeof pair, "%s=A1", a.id);
  const char *p1[] = {pair, NULL};
  sync_send(&a, 3, "g2", NULL, p1);
  g_assert_cmpint(sync_recv(&a, 3, NULL, 0), ==, 0);
  g_assert_cmpint(a.gen, ==, 1);

  /* B's join is parked until A rejoins; meanwhile A's heartbeat says rebalance */
  join_send(&b, 3, "g2", NULL, 5000, 5000, "consumer", "roundrobin");
  heartbeat_until(&a, "g2", BROOK_ERR_REBALANCE_IN_PROGRESS);
  join_send(&a, 3, "g2", NULL, 5000, 5000, "consumer", "range,roundrobin");
  g_assert_cmpint(join_recv(&a, 3), ==, 0);
  g_assert_cmpint(join_recv(&b, 3), ==, 0);
  g_assert_cmpint(a.gen, ==, 2);
  g_assert_cmpint(b.gen, ==, 2);
  g_assert_cmpstr(a.leader, ==, a.id); /* the leader stays */
  g_assert_cmpstr(b.leader, ==, a.id);
  g_assert_cmpstr(a.proto, ==, "roundrobin"); /* the only protocol both support */
  g_assert_cmpint(a.nmembers, ==, 2);
  g_assert_cmpint(b.nmembers, ==, 0);

  /* B's sync waits for the leader's; then each gets its own assignment */
  sync_send(&b, 3, "g2", NULL, NULL);
  describe_t d;
  describe(&h, "g2", &d);
  g_assert_cmpstr(d.state, ==, "CompletingRebalance");
  char pa[300], pb[300];
  snprintf(pa, sizeof pa, "%s=for-a", a.id);
  snprintf(pb, sizeof pb, "%s=for-b", b.id);
  const char *p2[] = {pa, pb, NULL};
  sync_send(&a, 3, "g2", NULL, p2);
  char asg[64];
  g_assert_cmpint(sync_recv(&a, 3, asg, sizeof asg), ==, 0);
  g_assert_cmpstr(asg, ==, "for-a");
  g_assert_cmpint(sync_recv(&b, 3, asg, sizeof asg), ==, 0);
  g_assert_cmpstr(asg, ==, "for-b");
  describe(&h, "g2", &d);
  g_assert_cmpstr(d.state, ==, "Stable");
  g_assert_cmpstr(d.protocol, ==, "roundrobin");
  g_assert_cmpint(d.nmembers, ==, 2);

  /* a sync of an old generation is refused */
  gm_t old = b;
  old.gen = 1;
  sync_send(&old, 3, "g2", NULL, NULL);
  g_assert_cmpint(sync_recv(&old, 3, NULL, 0), ==, BROOK_ERR_ILLEGAL_GENERATION);
  b.corr = old.corr;

  /* B leaves (v3+ batch form, plus an unknown member); A is told to rejoin */
  brook_leave_group_request_member_identity_t ids[] = {{S(b.id), BROOK_STR_NULL, BROOK_STR_NULL},
                                                       {S("ghost"), BROOK_STR_NULL, BROOK_STR_NULL}};
  brook_leave_group_request_t lr = {S("g2"), BROOK_STR_NULL, {ids, 2}};
  send_request(b.fd, BROOK_API_LEAVE_GROUP, 4, ++b.corr, &lr);
  brook_arena_t *ar = brook_arena_new(0);
  uint8_t *keep;
  brook_leave_group_response_t *lresp = recv_response(b.fd, BROOK_API_LEAVE_GROUP, 4, b.corr, ar, &keep);
  g_assert_cmpint(lresp->error_code, ==, 0);
  g_assert_cmpint(lresp->members.count, ==, 2);
  g_assert_cmpint(lresp->members.items[0].error_code, ==, 0);
  g_assert_cmpint(lresp->members.items[1].error_code, ==, BROOK_ERR_UNKNOWN_MEMBER_ID);
  g_free(keep);
  brook_arena_destroy(ar);
  g_assert_cmpint(heartbeat(&a, "g2", NULL), ==, BROOK_ERR_REBALANCE_IN_PROGRESS);
  join_send(&a, 3, "g2", NULL, 5000, 5000, "consumer", "range,roundrobin");
  g_assert_cmpint(join_recv(&a, 3), ==, 0);
  g_assert_cmpint(a.gen, ==, 3);
  g_assert_cmpint(a.nmembers, ==, 1);
  g_assert_cmpstr(a.proto, ==, "range"); /* alone again: its first choice */
  /* the last member leaving (v0-2 form) empties the group before the answer */
  g_assert_cmpint(leave(&a, 1, "g2", a.id, NULL), ==, 0);
  describe(&h, "g2", &d);
  g_assert_cmpstr(d.state, ==, "Empty");
  close(a.fd);
  close(b.fd);
  harness_cleanup(&h);
}

static void test_session_expiry(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, NULL};
  harness_start(&h, conf);
  gm_t a, b;
  gm_open(&a, &h);
  gm_open(&b, &h);
  join_send(&a, 3, "g3", NULL, 5000, 5000, "consumer", "range");
  g_assert_cmpint(join_recv(&a, 3), ==, 0);
  join_send(&b, 3, "g3", NULL, 300, 5000, "consumer", "range"); /* B: 300 ms session */
  join_send(&a, 3, "g3", NULL, 5000, 5000, "consumer", "range");
  g_assert_cmpint(join_recv(&a, 3), ==, 0);
  g_assert_cmpint(join_recv(&b, 3), ==, 0);
  char pa[300], pb[300];
  snprintf(pa, sizeof pa, "%s=x", a.id);
  snprintf(pb, sizeof pb, "%s=y", b.id);
  const char *pairs[] = {pa, pb, NULL};
  sync_send(&b, 3, "g3", NULL, NULL);
  sync_send(&a, 3, "g3", NULL, pairs);
  g_assert_cmpint(sync_recv(&a, 3, NULL, 0), ==, 0);
  g_assert_cmpint(sync_recv(&b, 3, NULL, 0), ==, 0);
  /* B goes silent (its connection stays open): its session expires and A is
   * told to rejoin; the next generation has A alone */
  gint64 t0 = g_get_monotonic_time();
  heartbeat_until(&a, "g3", BROOK_ERR_REBALANCE_IN_PROGRESS);
  g_assert_cmpint(g_get_monotonic_time() - t0, >=, 250 * 1000); /* not before B's session could end */
  join_send(&a, 3, "g3", NULL, 5000, 5000, "consumer", "range");
  g_assert_cmpint(join_recv(&a, 3), ==, 0);
  g_assert_cmpint(a.nmembers, ==, 1);
  g_assert_cmpint(heartbeat(&b, "g3", NULL), ==, BROOK_ERR_UNKNOWN_MEMBER_ID);
  close(a.fd);
  close(b.fd);
  harness_cleanup(&h);
}

/* A member whose connection dies while its JoinGroup is parked does not hold
 * the group: the rebalance completes at the rebalance timeout without it. */
static void test_parked_join_peer_gone(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, NULL};
  harness_start(&h, conf);
  gm_t a, b;
  gm_open(&a, &h);
  gm_open(&b, &h);
  join_send(&a, 3, "g4", NULL, 5000, 400, "consumer", "range");
  g_assert_cmpint(join_recv(&a, 3), ==, 0);
  g_assert_cmpint(a.gen, ==, 1);
  join_send(&b, 3, "g4", NULL, 300, 400, "consumer", "range"); /* parked: A must rejoin first */
  heartbeat_until(&a, "g4", BROOK_ERR_REBALANCE_IN_PROGRESS);
  close(b.fd); /* B vanishes with its JoinGroup parked */
  join_send(&a, 3, "g4", NULL, 5000, 400, "consumer", "range");
  g_assert_cmpint(join_recv(&a, 3), ==, 0);
  g_assert_cmpint(a.gen, ==, 2);
  /* Whether B is in generation 2 depends on which event the broker saw
   * first (Kafka would keep it: it does not watch connections); either way
   * B's session ends it and A ends up alone. */
  if (a.nmembers == 2) {
    heartbeat_until(&a, "g4", BROOK_ERR_REBALANCE_IN_PROGRESS);
    join_send(&a, 3, "g4", NULL, 5000, 400, "consumer", "range");
    g_assert_cmpint(join_recv(&a, 3), ==, 0);
    g_assert_cmpint(a.gen, ==, 3);
  }
  g_assert_cmpint(a.nmembers, ==, 1);
  assert_serving(&h);
  close(a.fd);
  harness_cleanup(&h);
}

static void test_static_membership(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, NULL};
  harness_start(&h, conf);
  gm_t a, b;
  gm_open(&a, &h);
  gm_open(&b, &h);
  join_send(&a, 5, "g5", "inst-a", 5000, 5000, "consumer", "range");
  g_assert_cmpint(join_recv(&a, 5), ==, 0); /* static members need no MEMBER_ID_REQUIRED round */
  join_send(&b, 5, "g5", NULL, 5000, 5000, "consumer", "range");
  g_assert_cmpint(join_recv(&b, 5), ==, BROOK_ERR_MEMBER_ID_REQUIRED);
  join_send(&b, 5, "g5", NULL, 5000, 5000, "consumer", "range");
  join_send(&a, 5, "g5", "inst-a", 5000, 5000, "consumer", "range");
  g_assert_cmpint(join_recv(&a, 5), ==, 0);
  g_assert_cmpint(join_recv(&b, 5), ==, 0);
  char pa[300], pb[300];
  snprintf(pa, sizeof pa, "%s=pa", a.id);
  snprintf(pb, sizeof pb, "%s=pb", b.id);
  const char *pairs[] = {pa, pb, NULL};
  const char *leader_inst = !strcmp(a.leader, a.id) ? "inst-a" : NULL;
  gm_t *leader = !strcmp(a.leader, a.id) ? &a : &b, *follower = leader == &a ? &b : &a;
  sync_send(follower, 5, "g5", follower == &a ? "inst-a" : NULL, NULL);
  sync_send(leader, 5, "g5", leader_inst, pairs);
  g_assert_cmpint(sync_recv(&a, 5, NULL, 0), ==, 0);
  g_assert_cmpint(sync_recv(&b, 5, NULL, 0), ==, 0);
  int32_t gen = a.gen;

  /* A restarts: same instance id, no member id -> answered at once, same
   * generation, a new id; the old id is fenced; its old assignment comes back */
  gm_t a2;
  gm_open(&a2, &h);
  join_send(&a2, 5, "g5", "inst-a", 5000, 5000, "consumer", "range");
  g_assert_cmpint(join_recv(&a2, 5), ==, 0);
  g_assert_cmpint(a2.gen, ==, gen);
  g_assert_cmpstr(a2.id, !=, a.id);
  g_assert_true(g_str_has_prefix(a2.id, "inst-a-"));
  g_assert_cmpint(heartbeat(&a, "g5", "inst-a"), ==, BROOK_ERR_FENCED_INSTANCE_ID);
  sync_send(&a2, 5, "g5", "inst-a", NULL);
  char asg[64];
  g_assert_cmpint(sync_recv(&a2, 5, asg, sizeof asg), ==, 0);
  g_assert_cmpstr(asg, ==, "pa");
  g_assert_cmpint(heartbeat(&b, "g5", NULL), ==, 0); /* B saw no rebalance */
  describe_t d;
  describe(&h, "g5", &d);
  g_assert_cmpstr(d.state, ==, "Stable");
  g_assert_cmpint(d.nmembers, ==, 2);

  /* a static member leaves by instance id alone */
  g_assert_cmpint(leave(&a2, 4, "g5", "", "inst-a"), ==, 0);
  g_assert_cmpint(heartbeat(&b, "g5", NULL), ==, BROOK_ERR_REBALANCE_IN_PROGRESS);
  close(a.fd);
  close(a2.fd);
  close(b.fd);
  harness_cleanup(&h);
}

/* ---- offsets ---- */

static void create_topic(const harness_t *h, const char *name, int32_t nparts) {
  int fd = connect_to(h);
  brook_create_topics_request_creatable_topic_t t = {0};
  t.name = S(name);
  t.num_partitions = nparts;
  t.replication_factor = 1;
  t.assignments.count = 0;
  t.configs.count = 0;
  brook_create_topics_request_t r = {0};
  r.topics.items = &t;
  r.topics.count = 1;
  r.timeout_ms = 1000;
  send_request(fd, BROOK_API_CREATE_TOPICS, 5, 1, &r);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_create_topics_response_t *resp = recv_response(fd, BROOK_API_CREATE_TOPICS, 5, 1, a, &keep);
  g_assert_cmpint(resp->topics.items[0].error_code, ==, 0);
  g_free(keep);
  brook_arena_destroy(a);
  close(fd);
}

/* Commits one offset; returns the partition's error. */
static int16_t commit(int fd, int16_t v, const char *group, int32_t gen, const char *member, const char *topic,
                      int32_t part, int64_t offset, const char *metadata, int64_t retention_ms) {
  brook_offset_commit_request_offset_commit_request_partition_t p = {part, offset, 7, -1, S(metadata)};
  brook_offset_commit_request_offset_commit_request_topic_t t = {S(topic), {&p, 1}};
  brook_offset_commit_request_t r = {S(group), gen, S(member), BROOK_STR_NULL, retention_ms, {&t, 1}};
  send_request(fd, BROOK_API_OFFSET_COMMIT, v, 9, &r);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_offset_commit_response_t *resp = recv_response(fd, BROOK_API_OFFSET_COMMIT, v, 9, a, &keep);
  g_assert_cmpint(resp->topics.count, ==, 1);
  int16_t err = resp->topics.items[0].partitions.items[0].error_code;
  g_free(keep);
  brook_arena_destroy(a);
  return err;
}

/* Fetches one committed offset with OffsetFetch version v (metadata copied out). */
static int64_t fetch_committed(int fd, int16_t v, const char *group, const char *topic, int32_t part, char *md,
                               size_t mdn) {
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  int64_t off;
  brook_str_t m;
  if (v < 8) {
    brook_offset_fetch_request_offset_fetch_request_topic_t t = {S(topic), {&part, 1}};
    brook_offset_fetch_request_t r = {0};
    r.group_id = S(group);
    r.topics.items = &t;
    r.topics.count = 1;
    send_request(fd, BROOK_API_OFFSET_FETCH, v, 5, &r);
    brook_offset_fetch_response_t *resp = recv_response(fd, BROOK_API_OFFSET_FETCH, v, 5, a, &keep);
    g_assert_cmpint(resp->error_code, ==, 0);
    g_assert_cmpint(resp->topics.items[0].partitions.items[0].error_code, ==, 0);
    off = resp->topics.items[0].partitions.items[0].committed_offset;
    m = resp->topics.items[0].partitions.items[0].metadata;
  } else {
    brook_offset_fetch_request_offset_fetch_request_topics_t t = {S(topic), {&part, 1}};
    brook_offset_fetch_request_offset_fetch_request_group_t g = {S(group), {&t, 1}};
    brook_offset_fetch_request_t r = {0};
    r.groups.items = &g;
    r.groups.count = 1;
    r.require_stable = true;
    send_request(fd, BROOK_API_OFFSET_FETCH, v, 5, &r);
    brook_offset_fetch_response_t *resp = recv_response(fd, BROOK_API_OFFSET_FETCH, v, 5, a, &keep);
    g_assert_cmpint(resp->groups.count, ==, 1);
    g_assert_cmpint(resp->groups.items[0].error_code, ==, 0);
    off = resp->groups.items[0].topics.items[0].partitions.items[0].committed_offset;
    m = resp->groups.items[0].topics.items[0].partitions.items[0].metadata;
  }
  if (md) cpy(md, mdn, m);
  g_free(keep);
  brook_arena_destroy(a);
  return off;
}

static void test_offsets(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, "offset.metadata.max.bytes", "16", NULL};
  harness_start(&h, conf);
  create_topic(&h, "gt", 3);
  int fd = connect_to(&h);
  /* standalone consumers commit with generation -1 and no member */
  g_assert_cmpint(commit(fd, 2, "solo", -1, "", "gt", 1, 42, "meta", -1), ==, 0);
  g_assert_cmpint(commit(fd, 8, "solo", -1, "", "gt", 2, 43, NULL, -1), ==, 0);
  char md[64];
  for (int16_t v = 1; v <= 8; v++) {
    g_assert_cmpint(fetch_committed(fd, v, "solo", "gt", 1, md, sizeof md), ==, 42);
    g_assert_cmpstr(md, ==, "meta");
    g_assert_cmpint(fetch_committed(fd, v, "solo", "gt", 0, NULL, 0), ==, -1); /* never committed */
  }
  g_assert_cmpint(fetch_committed(fd, 8, "no-group", "gt", 0, NULL, 0), ==, -1);
  g_assert_cmpint(commit(fd, 2, "solo", -1, "", "gt", 9, 1, NULL, -1), ==, BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
  g_assert_cmpint(commit(fd, 2, "solo", -1, "", "no-topic", 0, 1, NULL, -1), ==, BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
  g_assert_cmpint(commit(fd, 2, "solo", -1, "", "gt", 0, 1, "a metadata string over 16 bytes", -1), ==,
                  BROOK_ERR_OFFSET_METADATA_TOO_LARGE);
  g_assert_cmpint(commit(fd, 2, "nogroup", 3, "m", "gt", 0, 1, NULL, -1), ==, BROOK_ERR_ILLEGAL_GENERATION);

  /* OffsetFetch with topics = null: every committed offset of the group */
  brook_offset_fetch_request_t all = {0};
  all.group_id = S("solo");
  all.topics.count = -1;
  send_request(fd, BROOK_API_OFFSET_FETCH, 6, 6, &all);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_offset_fetch_response_t *resp = recv_response(fd, BROOK_API_OFFSET_FETCH, 6, 6, a, &keep);
  g_assert_cmpint(resp->topics.count, ==, 1);
  g_assert_cmpint(resp->topics.items[0].partitions.count, ==, 2);
  g_free(keep);
  brook_arena_destroy(a);

  /* members of an active group must commit with their generation */
  gm_t m;
  gm_open(&m, &h);
  int32_t gen = form_alone(&m, "active", NULL, 5000);
  g_assert_cmpint(commit(fd, 7, "active", gen, m.id, "gt", 0, 5, NULL, -1), ==, 0);
  g_assert_cmpint(commit(fd, 7, "active", gen + 1, m.id, "gt", 0, 6, NULL, -1), ==, BROOK_ERR_ILLEGAL_GENERATION);
  g_assert_cmpint(commit(fd, 7, "active", gen, "stranger", "gt", 0, 6, NULL, -1), ==, BROOK_ERR_UNKNOWN_MEMBER_ID);
  g_assert_cmpint(commit(fd, 7, "active", -1, "", "gt", 0, 6, NULL, -1), ==, BROOK_ERR_UNKNOWN_MEMBER_ID);
  g_assert_cmpint(fetch_committed(fd, 3, "active", "gt", 0, NULL, 0), ==, 5);

  /* OffsetDelete: refused for a topic the group subscribes to */
  brook_offset_delete_request_offset_delete_request_partition_t dp = {0};
  brook_offset_delete_request_offset_delete_request_topic_t dt = {S("gt"), {&dp, 1}};
  brook_offset_delete_request_t dr = {S("active"), {&dt, 1}};
  send_request(fd, BROOK_API_OFFSET_DELETE, 0, 7, &dr);
  a = brook_arena_new(0);
  brook_offset_delete_response_t *dresp = recv_response(fd, BROOK_API_OFFSET_DELETE, 0, 7, a, &keep);
  g_assert_cmpint(dresp->error_code, ==, 0);
  g_assert_cmpint(dresp->topics.items[0].partitions.items[0].error_code, ==, BROOK_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
  g_free(keep);
  brook_arena_destroy(a);
  /* ... and done for a group that does not */
  dr.group_id = S("solo");
  dp.partition_index = 1;
  send_request(fd, BROOK_API_OFFSET_DELETE, 0, 8, &dr);
  a = brook_arena_new(0);
  dresp = recv_response(fd, BROOK_API_OFFSET_DELETE, 0, 8, a, &keep);
  g_assert_cmpint(dresp->error_code, ==, 0);
  g_assert_cmpint(dresp->topics.items[0].partitions.items[0].error_code, ==, 0);
  g_free(keep);
  brook_arena_destroy(a);
  g_assert_cmpint(fetch_committed(fd, 5, "solo", "gt", 1, NULL, 0), ==, -1);
  g_assert_cmpint(fetch_committed(fd, 5, "solo", "gt", 2, NULL, 0), ==, 43);
  close(m.fd);
  close(fd);
  harness_cleanup(&h);
}

/* A v2-4 commit with a retention time expires on its own. */
static void test_offset_expiry(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, "offsets.retention.check.interval.ms", "20", NULL};
  harness_start(&h, conf);
  create_topic(&h, "gt", 1);
  int fd = connect_to(&h);
  g_assert_cmpint(commit(fd, 2, "short", -1, "", "gt", 0, 10, NULL, 100), ==, 0);
  g_assert_cmpint(commit(fd, 2, "long", -1, "", "gt", 0, 11, NULL, -1), ==, 0);
  gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (fetch_committed(fd, 2, "short", "gt", 0, NULL, 0) != -1 && g_get_monotonic_time() < until) g_usleep(20000);
  g_assert_cmpint(fetch_committed(fd, 2, "short", "gt", 0, NULL, 0), ==, -1);
  g_assert_cmpint(fetch_committed(fd, 2, "long", "gt", 0, NULL, 0), ==, 11);
  close(fd);
  harness_cleanup(&h);
}

/* KIP-211: an empty group's offsets expire offsets.retention.minutes after it
 * became empty (standalone commits: after the commit); a group with members
 * keeps them. One minute is the smallest retention Kafka allows. */
static void test_empty_group_retention(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, "offsets.retention.minutes", "1", "offsets.retention.check.interval.ms", "100", NULL};
  harness_start(&h, conf);
  create_topic(&h, "gt", 1);
  int fd = connect_to(&h);
  gm_t live, gone;
  gm_open(&live, &h);
  gm_open(&gone, &h);
  int32_t lg = form_alone(&live, "live", NULL, 30000);
  int32_t gg = form_alone(&gone, "left", NULL, 30000);
  g_assert_cmpint(commit(fd, 7, "live", lg, live.id, "gt", 0, 1, NULL, -1), ==, 0);
  g_assert_cmpint(commit(fd, 7, "left", gg, gone.id, "gt", 0, 2, NULL, -1), ==, 0);
  g_assert_cmpint(commit(fd, 7, "solo", -1, "", "gt", 0, 3, NULL, -1), ==, 0);
  g_assert_cmpint(leave(&gone, 1, "left", gone.id, NULL), ==, 0);
  gint64 t0 = g_get_monotonic_time(), until = t0 + 120 * G_USEC_PER_SEC;
  while (fetch_committed(fd, 7, "left", "gt", 0, NULL, 0) != -1 || fetch_committed(fd, 7, "solo", "gt", 0, NULL, 0) != -1) {
    g_assert_cmpint(heartbeat(&live, "live", NULL), ==, 0); /* the live member stays in its group */
    g_assert_cmpint(g_get_monotonic_time(), <, until);
    g_usleep(200000);
  }
  g_assert_cmpint(g_get_monotonic_time() - t0, >=, 55 * G_USEC_PER_SEC); /* not before the retention */
  g_assert_cmpint(fetch_committed(fd, 7, "live", "gt", 0, NULL, 0), ==, 1);
  describe_t d;
  describe(&h, "left", &d); /* empty with no offsets: removed */
  g_assert_cmpstr(d.state, ==, "Dead");
  close(live.fd);
  close(gone.fd);
  close(fd);
  harness_cleanup(&h);
}

/* ---- persistence ---- */

/* Java's String.hashCode decides the partition, over UTF-16 code units. */
static void test_partition_for(void) {
  g_assert_cmpint(group_partition_for("test", 50), ==, 3556498 % 50);
  g_assert_cmpint(group_partition_for("\xc3\xa9", 50), ==, 0xe9 % 50);          /* é: one unit */
  g_assert_cmpint(group_partition_for("\xf0\x9f\x98\x80", 50), ==, (0xd83d * 31 + 0xde00) % 50); /* 😀: a surrogate pair */
  /* a negative hash: abs via the sign bit, as Kafka's Utils.abs */
  uint32_t hh = 0;
  for (const char *p = "this group id hashes negative"; *p; p++) hh = 31 * hh + (unsigned char)*p;
  g_assert_cmpint(group_partition_for("this group id hashes negative", 50), ==, (int)((hh & 0x7fffffff) % 50));
}

static int64_t dir_bytes(const char *dir) {
  int64_t total = 0;
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  const char *n;
  while ((n = g_dir_read_name(d)))
    if (g_str_has_suffix(n, ".log")) {
      char *p = g_build_filename(dir, n, NULL);
      GStatBuf st;
      g_assert_cmpint(g_stat(p, &st), ==, 0);
      total += st.st_size;
      g_free(p);
    }
  g_dir_close(d);
  return total;
}

static void test_persistence(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, "offsets.topic.num.partitions", "3", NULL};
  harness_start(&h, conf);
  create_topic(&h, "gt", 2);
  gm_t m;
  gm_open(&m, &h);
  int32_t gen = form_alone(&m, "kept", NULL, 60000);
  int fd = connect_to(&h);
  g_assert_cmpint(commit(fd, 8, "kept", gen, m.id, "gt", 0, 100, "m0", -1), ==, 0);
  g_assert_cmpint(commit(fd, 8, "kept", gen, m.id, "gt", 1, 200, "m1", -1), ==, 0);
  g_assert_cmpint(commit(fd, 8, "kept", gen, m.id, "gt", 1, 201, "m1b", -1), ==, 0); /* the later one wins */
  g_assert_cmpint(commit(fd, 2, "gone", -1, "", "gt", 0, 1, NULL, -1), ==, 0);
  close(fd);
  /* delete "gone": its tombstones must hide the commit after the restart */
  fd = connect_to(&h);
  brook_str_t names[] = {S("gone")};
  brook_delete_groups_request_t dg = {{names, 1}};
  send_request(fd, BROOK_API_DELETE_GROUPS, 2, 3, &dg);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_delete_groups_response_t *dresp = recv_response(fd, BROOK_API_DELETE_GROUPS, 2, 3, a, &keep);
  g_assert_cmpint(dresp->results.items[0].error_code, ==, 0);
  g_free(keep);
  brook_arena_destroy(a);
  close(fd);
  close(m.fd);
  harness_stop(&h);

  /* the records are where Kafka puts them, in Kafka's key format */
  int32_t p = group_partition_for("kept", 3);
  char *pdir = g_strdup_printf("%s/logs/__consumer_offsets-%d", h.dir, p);
  g_assert_cmpint(dir_bytes(pdir), >, 0);
  g_free(pdir);

  harness_start(&h, conf);
  fd = connect_to(&h);
  char md[32];
  g_assert_cmpint(fetch_committed(fd, 8, "kept", "gt", 0, md, sizeof md), ==, 100);
  g_assert_cmpstr(md, ==, "m0");
  g_assert_cmpint(fetch_committed(fd, 8, "kept", "gt", 1, md, sizeof md), ==, 201);
  g_assert_cmpstr(md, ==, "m1b");
  g_assert_cmpint(fetch_committed(fd, 8, "gone", "gt", 0, NULL, 0), ==, -1);
  /* the group came back Stable with its member, who carries on without a rebalance */
  describe_t d;
  describe(&h, "kept", &d);
  g_assert_cmpstr(d.state, ==, "Stable");
  g_assert_cmpint(d.nmembers, ==, 1);
  g_assert_cmpstr(d.assignment[0], ==, "A");
  gm_t back = m;
  back.fd = connect_to(&h);
  back.corr = 100;
  g_assert_cmpint(heartbeat(&back, "kept", NULL), ==, 0);
  close(back.fd);
  close(fd);
  harness_cleanup(&h);
}

/* Many commits keep __consumer_offsets bounded (compaction by rewrite) and
 * the last value survives a restart. */
static void test_offsets_log_bounded(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, "offsets.topic.num.partitions", "1", "offsets.topic.segment.bytes", "8192", NULL};
  harness_start(&h, conf);
  create_topic(&h, "gt", 4);
  int fd = connect_to(&h);
  for (int i = 0; i < 3000; i++)
    g_assert_cmpint(commit(fd, 8, "busy", -1, "", "gt", i % 4, i, "some metadata", -1), ==, 0);
  close(fd);
  char *pdir = g_strdup_printf("%s/logs/__consumer_offsets-0", h.dir);
  int64_t bytes = dir_bytes(pdir);
  g_assert_cmpint(bytes, <, 4 * 8192); /* 3000 commits took ~300 KB written */
  harness_stop(&h);
  harness_start(&h, conf);
  fd = connect_to(&h);
  for (int p = 0; p < 4; p++) g_assert_cmpint(fetch_committed(fd, 8, "busy", "gt", p, NULL, 0), ==, 2996 + p);
  close(fd);
  g_free(pdir);
  harness_cleanup(&h);
}

/* ---- admin ---- */

static void test_admin(void) {
  harness_t h = {0};
  const char *conf[] = {GROUP_CONF, NULL};
  harness_start(&h, conf);
  create_topic(&h, "gt", 1);
  gm_t m;
  gm_open(&m, &h);
  int32_t gen = form_alone(&m, "live", NULL, 5000);
  int fd = connect_to(&h);
  g_assert_cmpint(commit(fd, 2, "idle", -1, "", "gt", 0, 1, NULL, -1), ==, 0);
  g_assert_cmpint(commit(fd, 7, "live", gen, m.id, "gt", 0, 1, NULL, -1), ==, 0);

  /* ListGroups, with and without a state filter */
  brook_list_groups_request_t lr = {{NULL, 0}};
  send_request(fd, BROOK_API_LIST_GROUPS, 4, 1, &lr);
  brook_arena_t *a = brook_arena_new(0);
  uint8_t *keep;
  brook_list_groups_response_t *lresp = recv_response(fd, BROOK_API_LIST_GROUPS, 4, 1, a, &keep);
  g_assert_cmpint(lresp->groups.count, ==, 2);
  g_free(keep);
  brook_arena_destroy(a);
  brook_str_t states[] = {S("stable")};
  lr.states_filter.items = states;
  lr.states_filter.count = 1;
  send_request(fd, BROOK_API_LIST_GROUPS, 4, 2, &lr);
  a = brook_arena_new(0);
  lresp = recv_response(fd, BROOK_API_LIST_GROUPS, 4, 2, a, &keep);
  g_assert_cmpint(lresp->groups.count, ==, 1);
  g_assert_cmpint(lresp->groups.items[0].group_id.len, ==, 4);
  g_assert_true(!memcmp(lresp->groups.items[0].group_id.ptr, "live", 4));
  g_free(keep);
  brook_arena_destroy(a);

  /* DeleteGroups: a live group is refused, an unknown one is not found */
  brook_str_t names[] = {S("live"), S("idle"), S("never")};
  brook_delete_groups_request_t dg = {{names, 3}};
  send_request(fd, BROOK_API_DELETE_GROUPS, 1, 3, &dg);
  a = brook_arena_new(0);
  brook_delete_groups_response_t *dresp = recv_response(fd, BROOK_API_DELETE_GROUPS, 1, 3, a, &keep);
  g_assert_cmpint(dresp->results.items[0].error_code, ==, BROOK_ERR_NON_EMPTY_GROUP);
  g_assert_cmpint(dresp->results.items[1].error_code, ==, 0);
  g_assert_cmpint(dresp->results.items[2].error_code, ==, BROOK_ERR_GROUP_ID_NOT_FOUND);
  g_free(keep);
  brook_arena_destroy(a);
  g_assert_cmpint(fetch_committed(fd, 5, "idle", "gt", 0, NULL, 0), ==, -1);
  describe_t d;
  describe(&h, "idle", &d);
  g_assert_cmpstr(d.state, ==, "Dead");

  /* the coordinators' topic is not for clients to write or delete */
  brook_buf_t batch;
  brook_buf_init(&batch);
  brook_batch_builder_t bb;
  brook_batch_builder_init(&bb, 0, 1);
  brook_batch_builder_add(&bb, 1, (brook_bytes_t){(const uint8_t *)"k", 1}, (brook_bytes_t){(const uint8_t *)"v", 1});
  brook_batch_builder_finish(&bb, &batch);
  brook_batch_builder_free(&bb);
  brook_produce_request_partition_produce_data_t pd = {0, {batch.data, (int32_t)batch.len, NULL}};
  brook_produce_request_topic_produce_data_t td = {S(GROUP_OFFSETS_TOPIC), {&pd, 1}};
  brook_produce_request_t pr = {BROOK_STR_NULL, 1, 1000, {&td, 1}};
  send_request(fd, BROOK_API_PRODUCE, 7, 4, &pr);
  a = brook_arena_new(0);
  brook_produce_response_t *presp = recv_response(fd, BROOK_API_PRODUCE, 7, 4, a, &keep);
  g_assert_cmpint(presp->responses.items[0].partition_responses.items[0].error_code, ==,
                  BROOK_ERR_INVALID_TOPIC_EXCEPTION);
  g_free(keep);
  brook_arena_destroy(a);
  brook_buf_free(&batch);
  close(fd);
  close(m.fd);
  harness_cleanup(&h);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  harness_quiet_logs();
  g_test_add_func("/broker/group/partition-for", test_partition_for);
  g_test_add_func("/broker/group/member-id-required", test_member_id_required);
  g_test_add_func("/broker/group/rebalance-two-members", test_rebalance_two_members);
  g_test_add_func("/broker/group/session-expiry", test_session_expiry);
  g_test_add_func("/broker/group/parked-join-peer-gone", test_parked_join_peer_gone);
  g_test_add_func("/broker/group/static-membership", test_static_membership);
  g_test_add_func("/broker/group/offsets", test_offsets);
  g_test_add_func("/broker/group/offset-expiry", test_offset_expiry);
  g_test_add_func("/broker/group/empty-group-retention", test_empty_group_retention);
  g_test_add_func("/broker/group/persistence", test_persistence);
  g_test_add_func("/broker/group/offsets-log-bounded", test_offsets_log_bounded);
  g_test_add_func("/broker/group/admin", test_admin);
  return g_test_run();
}
