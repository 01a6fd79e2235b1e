/*
 * test-groups.c — consumer groups on the real broker with the real
 * librdkafka: two and three consumers split the partitions and together read
 * each message once; a member killed (SIGKILL, a real process) mid-stream is
 * replaced within its session timeout and nothing it committed is lost;
 * cooperative-sticky moves only what must move; a static member restarts
 * without a rebalance; committed offsets survive a clean and a kill -9 broker
 * restart; list/describe/delete groups and offsets through the admin API.
 *
 * Waits are polls of the consumers (what a real application does) bounded by
 * deadlines; the only timing assertion is the "within the session
 * timeout", with a generous margin.
 */
#include <librdkafka/rdkafka.h>

#include "harness.h"

#define DEADLINE_US (30 * G_USEC_PER_SEC)

static const char *const group_conf[] = {"group.initial.rebalance.delay.ms", "0", "group.min.session.timeout.ms", "500",
                                         NULL};

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *bootstrap, const char *const *kv, const char *const *kv2,
                              rd_kafka_conf_t *conf) {
  char errstr[512];
  if (!conf) conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
  rd_kafka_conf_set(conf, "log_level", g_getenv("BROOK_TEST_LOG") ? "7" : "0", NULL, 0);
  for (int i = 0; kv && kv[i]; i += 2)
    if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) g_error("%s", errstr);
  for (int i = 0; kv2 && kv2[i]; i += 2)
    if (rd_kafka_conf_set(conf, kv2[i], kv2[i + 1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) g_error("%s", errstr);
  rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  if (!rk) g_error("rd_kafka_new: %s", errstr);
  return rk;
}

static void create_topic(const char *bootstrap, const char *topic, int nparts) {
  rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, bootstrap, NULL, NULL, NULL);
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, nparts, 1, NULL, 0);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
  g_assert_nonnull(ev);
  size_t n;
  const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  g_assert_cmpint(rd_kafka_topic_result_error(res[0]), ==, 0);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_destroy(rk);
}

/* Produces n messages round-robin over nparts partitions, value "i". */
static void produce(const char *bootstrap, const char *topic, int nparts, int from, int n) {
  rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, bootstrap, (const char *const[]){"linger.ms", "5", NULL}, NULL, NULL);
  for (int i = from; i < from + n; i++) {
    char v[32];
    int len = snprintf(v, sizeof v, "%d", i);
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % nparts), RD_KAFKA_V_VALUE(v, (size_t)len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 10);
  }
  g_assert_cmpint(rd_kafka_flush(rk, 20000), ==, 0);
  rd_kafka_destroy(rk);
}

/* ---- a consumer with bookkeeping ---- */

typedef struct cons {
  rd_kafka_t *rk;
  int rebalances;   /* assign + revoke callbacks */
  int revoked_max;  /* most partitions revoked in one callback */
  bool assigned[64];
  GHashTable *seen; /* "p/o" -> count */
  int received;
} cons_t;

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque) {
  cons_t *c = opaque;
  bool coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
  c->rebalances++;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; i++) c->assigned[parts->elems[i].partition] = true;
    if (coop) rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
    else rd_kafka_assign(rk, parts);
  } else {
    c->revoked_max = MAX(c->revoked_max, parts->cnt);
    for (int i = 0; i < parts->cnt; i++) c->assigned[parts->elems[i].partition] = false;
    if (coop) rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    else rd_kafka_assign(rk, NULL);
  }
}

static void cons_open(cons_t *c, const char *bootstrap, const char *group, const char *topic, const char *const *extra) {
  memset(c, 0, sizeof *c);
  c->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rd_kafka_conf_set_opaque(conf, c);
  const char *base[] = {"group.id", group, "auto.offset.reset", "earliest", "session.timeout.ms", "6000",
                        "heartbeat.interval.ms", "200", "enable.auto.commit", "false", NULL};
  c->rk = new_client(RD_KAFKA_CONSUMER, bootstrap, base, extra, conf);
  rd_kafka_poll_set_consumer(c->rk);
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
  g_assert_cmpint(rd_kafka_subscribe(c->rk, sub), ==, 0);
  rd_kafka_topic_partition_list_destroy(sub);
}

/* One poll; records a message if one came. */
static void cons_poll(cons_t *c, int timeout_ms) {
  rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
  if (!m) return;
  if (!m->err) {
    char *k = g_strdup_printf("%d/%" PRId64, m->partition, m->offset);
    g_hash_table_replace(c->seen, k, GINT_TO_POINTER(GPOINTER_TO_INT(g_hash_table_lookup(c->seen, k)) + 1));
    c->received++;
  }
  rd_kafka_message_destroy(m);
}

static int cons_nassigned(const cons_t *c) {
  int n = 0;
  for (int i = 0; i < 64; i++) n += c->assigned[i];
  return n;
}

static void cons_close(cons_t *c) {
  rd_kafka_consumer_close(c->rk);
  rd_kafka_destroy(c->rk);
  g_hash_table_destroy(c->seen);
}

/* Polls all until each partition of nparts is assigned to exactly one of them. */
static void wait_split(cons_t *cs, int n, int nparts) {
  gint64 until = g_get_monotonic_time() + DEADLINE_US;
  for (;;) {
    for (int i = 0; i < n; i++) cons_poll(&cs[i], 50);
    int total = 0;
    bool each = true;
    for (int i = 0; i < n; i++) {
      total += cons_nassigned(&cs[i]);
      each = each && cons_nassigned(&cs[i]) > 0;
    }
    bool disjoint = true;
    for (int p = 0; p < nparts; p++) {
      int owners = 0;
      for (int i = 0; i < n; i++) owners += cs[i].assigned[p];
      disjoint = disjoint && owners == 1;
    }
    if (total == nparts && each && disjoint) return;
    g_assert_cmpint(g_get_monotonic_time(), <, until);
  }
}

/* ---- tests ---- */

static void split_test(int n) {
  harness_t h = {0};
  harness_start(&h, group_conf);
  char topic[32], group[32];
  snprintf(topic, sizeof topic, "split-%d", n);
  snprintf(group, sizeof group, "g-split-%d", n);
  create_topic(h.bootstrap, topic, 6);
  cons_t cs[3];
  for (int i = 0; i < n; i++) cons_open(&cs[i], h.bootstrap, group, topic, NULL);
  wait_split(cs, n, 6);
  produce(h.bootstrap, topic, 6, 0, 600);
  gint64 until = g_get_monotonic_time() + DEADLINE_US;
  int total = 0;
  while (total < 600) {
    total = 0;
    for (int i = 0; i < n; i++) {
      cons_poll(&cs[i], 20);
      total += cs[i].received;
    }
    g_assert_cmpint(g_get_monotonic_time(), <, until);
  }
  /* every (partition, offset) seen exactly once across the group */
  GHashTable *all = g_hash_table_new(g_str_hash, g_str_equal);
  for (int i = 0; i < n; i++) {
    g_assert_cmpint(cs[i].received, >, 0);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, cs[i].seen);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      g_assert_cmpint(GPOINTER_TO_INT(v), ==, 1);
      g_assert_false(g_hash_table_contains(all, k));
      g_hash_table_add(all, k);
    }
  }
  g_assert_cmpint(g_hash_table_size(all), ==, 600);
  g_assert_cmpint(total, ==, 600);
  g_hash_table_destroy(all);
  for (int i = 0; i < n; i++) cons_close(&cs[i]);
  harness_cleanup(&h);
}

static void test_split_two(void) { split_test(2); }
static void test_split_three(void) { split_test(3); }

/* Child mode: a consumer that prints "p o" for each message, then commits it,
 * working at a steady pace, until killed. */
static G_NORETURN void child_consumer(const char *bootstrap, const char *group, const char *topic) {
  cons_t c;
  cons_open(&c, bootstrap, group, topic, (const char *const[]){"session.timeout.ms", "1500", NULL});
  for (;;) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c.rk, 100);
    if (!m) {
      printf("idle %d\n", cons_nassigned(&c));
      fflush(stdout);
      continue;
    }
    if (!m->err) {
      printf("msg %d %" PRId64 "\n", m->partition, m->offset);
      fflush(stdout);
      rd_kafka_commit_message(c.rk, m, 0);
      g_usleep(10000); /* the work this member does per message */
    }
    rd_kafka_message_destroy(m);
  }
}

static const char *self_path;

static void test_member_killed(void) {
  harness_t h = {0};
  harness_start(&h, group_conf);
  create_topic(h.bootstrap, "killed", 4);
  produce(h.bootstrap, "killed", 4, 0, 800);
  /* the member to be killed runs in its own process */
  const char *argv[] = {self_path, "--child-consumer", h.bootstrap, "g-killed", "killed", NULL};
  GPid pid;
  int out_fd;
  GError *gerr = NULL;
  g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL,
                                         &out_fd, NULL, &gerr));
  FILE *child = fdopen(out_fd, "r");
  /* wait until the child consumes, then add the survivor and let them split */
  char line[128];
  g_assert_nonnull(fgets(line, sizeof line, child));
  cons_t s;
  cons_open(&s, h.bootstrap, "g-killed", "killed", (const char *const[]){"session.timeout.ms", "1500", NULL});
  GHashTable *child_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  int child_msgs_after_split = 0;
  gint64 until = g_get_monotonic_time() + DEADLINE_US;
  while (child_msgs_after_split < 20) { /* until the child is mid-stream on its share */
    cons_poll(&s, 10);
    g_assert_nonnull(fgets(line, sizeof line, child)); /* it prints at least every 100 ms */
    int p;
    int64_t o;
    if (sscanf(line, "msg %d %" SCNd64, &p, &o) == 2) {
      g_hash_table_add(child_seen, g_strdup_printf("%d/%" PRId64, p, o));
      bool split = cons_nassigned(&s) > 0 && cons_nassigned(&s) < 4;
      if (split && !s.assigned[p]) child_msgs_after_split++;
    }
    g_assert_cmpint(g_get_monotonic_time(), <, until);
  }
  gint64 killed_at = g_get_monotonic_time();
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  g_spawn_close_pid(pid);
  /* anything the child printed before dying counts as consumed by it */
  while (fgets(line, sizeof line, child)) {
    int p;
    int64_t o;
    if (sscanf(line, "msg %d %" SCNd64, &p, &o) == 2) g_hash_table_add(child_seen, g_strdup_printf("%d/%" PRId64, p, o));
  }
  fclose(child);
  /* the survivor takes over within the session timeout (1.5 s; generous margin) */
  while (cons_nassigned(&s) < 4) {
    cons_poll(&s, 20);
    g_assert_cmpint(g_get_monotonic_time() - killed_at, <, 15 * G_USEC_PER_SEC);
  }
  g_test_message("takeover %.2f s after SIGKILL (session.timeout.ms 1500)",
                 (double)(g_get_monotonic_time() - killed_at) / G_USEC_PER_SEC);
  /* ... and reads the dead member's partitions from its committed offsets:
   * together they have read everything */
  until = g_get_monotonic_time() + DEADLINE_US;
  for (;;) {
    int missing = 0;
    for (int i = 0; i < 800; i++) {
      int p = i % 4;
      char *k = g_strdup_printf("%d/%d", p, i / 4);
      if (!g_hash_table_contains(s.seen, k) && !g_hash_table_contains(child_seen, k)) missing++;
      g_free(k);
    }
    if (!missing) break;
    cons_poll(&s, 20);
    g_assert_cmpint(g_get_monotonic_time(), <, until);
  }
  g_hash_table_destroy(child_seen);
  cons_close(&s);
  harness_cleanup(&h);
}

static void test_cooperative_sticky(void) {
  harness_t h = {0};
  harness_start(&h, group_conf);
  create_topic(h.bootstrap, "coop", 6);
  const char *coop[] = {"partition.assignment.strategy", "cooperative-sticky", NULL};
  cons_t cs[2];
  cons_open(&cs[0], h.bootstrap, "g-coop", "coop", coop);
  gint64 until = g_get_monotonic_time() + DEADLINE_US;
  while (cons_nassigned(&cs[0]) < 6) {
    cons_poll(&cs[0], 20);
    g_assert_cmpint(g_get_monotonic_time(), <, until);
  }
  g_assert_cmpstr(rd_kafka_rebalance_protocol(cs[0].rk), ==, "COOPERATIVE");
  cons_open(&cs[1], h.bootstrap, "g-coop", "coop", coop);
  wait_split(cs, 2, 6);
  /* incremental: the first member gave up only what moved, never all six */
  g_assert_cmpint(cs[0].revoked_max, ==, 3);
  g_assert_cmpint(cons_nassigned(&cs[0]), ==, 3);
  g_assert_cmpint(cons_nassigned(&cs[1]), ==, 3);
  produce(h.bootstrap, "coop", 6, 0, 120);
  until = g_get_monotonic_time() + DEADLINE_US;
  while (cs[0].received + cs[1].received < 120) {
    cons_poll(&cs[0], 10);
    cons_poll(&cs[1], 10);
    g_assert_cmpint(g_get_monotonic_time(), <, until);
  }
  g_assert_cmpint(cs[0].received + cs[1].received, ==, 120);
  cons_close(&cs[0]);
  cons_close(&cs[1]);
  harness_cleanup(&h);
}

static void test_static_restart(void) {
  harness_t h = {0};
  harness_start(&h, group_conf);
  create_topic(h.bootstrap, "static", 4);
  const char *st[] = {"group.instance.id", "instance-1", "session.timeout.ms", "20000", NULL};
  cons_t cs[2];
  cons_open(&cs[0], h.bootstrap, "g-static", "static", st);
  cons_open(&cs[1], h.bootstrap, "g-static", "static", (const char *const[]){"session.timeout.ms", "20000", NULL});
  wait_split(cs, 2, 4);
  bool before[64];
  memcpy(before, cs[0].assigned, sizeof before);
  int other_rebalances = cs[1].rebalances;
  /* a static member closing does not leave the group; its successor takes its place */
  cons_close(&cs[0]);
  cons_t again;
  cons_open(&again, h.bootstrap, "g-static", "static", st);
  gint64 until = g_get_monotonic_time() + DEADLINE_US;
  while (cons_nassigned(&again) == 0) {
    cons_poll(&again, 20);
    cons_poll(&cs[1], 20);
    g_assert_cmpint(g_get_monotonic_time(), <, until);
  }
  g_assert_true(!memcmp(again.assigned, before, sizeof before)); /* the same partitions back */
  for (int i = 0; i < 10; i++) cons_poll(&cs[1], 50); /* the other member keeps heartbeating */
  g_assert_cmpint(cs[1].rebalances, ==, other_rebalances);  /* and saw no rebalance */
  cons_close(&again);
  cons_close(&cs[1]);
  harness_cleanup(&h);
}

/* Commits through one consumer, restarts brookd (clean or kill -9), then a
 * new consumer of the group starts exactly at the committed offsets. */
static void restart_test(int sig) {
  harness_t h = {0};
  harness_spawn_with(&h, group_conf);
  create_topic(h.bootstrap, "persist", 2);
  produce(h.bootstrap, "persist", 2, 0, 100);
  cons_t c;
  cons_open(&c, h.bootstrap, "g-persist", "persist", NULL);
  gint64 until = g_get_monotonic_time() + DEADLINE_US;
  while (c.received < 60) {
    cons_poll(&c, 20);
    g_assert_cmpint(g_get_monotonic_time(), <, until);
  }
  g_assert_cmpint(rd_kafka_commit(c.rk, NULL, 0), ==, 0); /* synchronous */
  rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(2);
  rd_kafka_topic_partition_list_add(pos, "persist", 0);
  rd_kafka_topic_partition_list_add(pos, "persist", 1);
  g_assert_cmpint(rd_kafka_committed(c.rk, pos, 10000), ==, 0);
  int64_t committed[2] = {pos->elems[0].offset, pos->elems[1].offset};
  g_assert_cmpint(committed[0] + committed[1], ==, c.received);
  rd_kafka_topic_partition_list_destroy(pos);
  rd_kafka_destroy(c.rk); /* no close: the broker goes away under it */
  g_hash_table_destroy(c.seen);

  int status = harness_kill(&h, sig);
  if (sig == SIGKILL) g_assert_true(WIFSIGNALED(status));
  harness_spawn_with(&h, group_conf);
  produce(h.bootstrap, "persist", 2, 100, 10);
  cons_t d;
  cons_open(&d, h.bootstrap, "g-persist", "persist", NULL);
  until = g_get_monotonic_time() + DEADLINE_US;
  while (d.received < 110 - (int)(committed[0] + committed[1])) {
    cons_poll(&d, 20);
    g_assert_cmpint(g_get_monotonic_time(), <, until);
  }
  /* nothing below the committed offsets was read again */
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, d.seen);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    int p;
    int64_t o;
    g_assert_cmpint(sscanf(k, "%d/%" SCNd64, &p, &o), ==, 2);
    g_assert_cmpint(o, >=, committed[p]);
  }
  g_assert_cmpint(d.received, ==, 110 - (int)(committed[0] + committed[1]));
  cons_close(&d);
  harness_kill(&h, SIGTERM);
  harness_cleanup(&h);
}

static void test_restart_clean(void) { restart_test(SIGTERM); }
static void test_restart_kill9(void) { restart_test(SIGKILL); }

static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q) {
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
  g_assert_nonnull(ev);
  g_assert_cmpint(rd_kafka_event_error(ev), ==, 0);
  return ev;
}

static void test_admin(void) {
  harness_t h = {0};
  harness_start(&h, group_conf);
  create_topic(h.bootstrap, "adm", 2);
  produce(h.bootstrap, "adm", 2, 0, 20);
  cons_t c;
  cons_open(&c, h.bootstrap, "g-admin", "adm", NULL);
  gint64 until = g_get_monotonic_time() + DEADLINE_US;
  while (c.received < 20) {
    cons_poll(&c, 20);
    g_assert_cmpint(g_get_monotonic_time(), <, until);
  }
  g_assert_cmpint(rd_kafka_commit(c.rk, NULL, 0), ==, 0);

  rd_kafka_t *adm = new_client(RD_KAFKA_PRODUCER, h.bootstrap, NULL, NULL, NULL);
  rd_kafka_queue_t *q = rd_kafka_queue_new(adm);
  /* list: the group is there, Stable */
  rd_kafka_ListConsumerGroups(adm, NULL, q);
  rd_kafka_event_t *ev = admin_wait(q);
  size_t n;
  const rd_kafka_ConsumerGroupListing_t **listed =
      rd_kafka_ListConsumerGroups_result_valid(rd_kafka_event_ListConsumerGroups_result(ev), &n);
  bool found = false;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(rd_kafka_ConsumerGroupListing_group_id(listed[i]), "g-admin")) {
      found = true;
      g_assert_cmpint(rd_kafka_ConsumerGroupListing_state(listed[i]), ==, RD_KAFKA_CONSUMER_GROUP_STATE_STABLE);
    }
  g_assert_true(found);
  rd_kafka_event_destroy(ev);
  /* describe: one member holding both partitions */
  const char *groups[] = {"g-admin"};
  rd_kafka_DescribeConsumerGroups(adm, groups, 1, NULL, q);
  ev = admin_wait(q);
  const rd_kafka_ConsumerGroupDescription_t **desc =
      rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
  g_assert_cmpint(n, ==, 1);
  g_assert_null(rd_kafka_ConsumerGroupDescription_error(desc[0]));
  g_assert_cmpint(rd_kafka_ConsumerGroupDescription_state(desc[0]), ==, RD_KAFKA_CONSUMER_GROUP_STATE_STABLE);
  g_assert_cmpstr(rd_kafka_ConsumerGroupDescription_partition_assignor(desc[0]), ==, "range");
  g_assert_cmpint(rd_kafka_ConsumerGroupDescription_member_count(desc[0]), ==, 1);
  const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(desc[0], 0);
  const rd_kafka_topic_partition_list_t *asg =
      rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
  g_assert_cmpint(asg->cnt, ==, 2);
  rd_kafka_event_destroy(ev);
  /* offsets of the group */
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(2);
  rd_kafka_topic_partition_list_add(parts, "adm", 0);
  rd_kafka_topic_partition_list_add(parts, "adm", 1);
  rd_kafka_ListConsumerGroupOffsets_t *lo = rd_kafka_ListConsumerGroupOffsets_new("g-admin", parts);
  rd_kafka_ListConsumerGroupOffsets(adm, &lo, 1, NULL, q);
  ev = admin_wait(q);
  const rd_kafka_group_result_t **gr =
      rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
  const rd_kafka_topic_partition_list_t *offs = rd_kafka_group_result_partitions(gr[0]);
  g_assert_cmpint(offs->elems[0].offset + offs->elems[1].offset, ==, 20);
  rd_kafka_event_destroy(ev);
  rd_kafka_ListConsumerGroupOffsets_destroy(lo);
  /* deleting a live group fails; once its member left it succeeds */
  rd_kafka_DeleteGroup_t *dg = rd_kafka_DeleteGroup_new("g-admin");
  rd_kafka_DeleteGroups(adm, &dg, 1, NULL, q);
  ev = admin_wait(q);
  gr = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
  g_assert_cmpint(rd_kafka_error_code(rd_kafka_group_result_error(gr[0])), ==, RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP);
  rd_kafka_event_destroy(ev);
  cons_close(&c);
  rd_kafka_DeleteGroups(adm, &dg, 1, NULL, q);
  ev = admin_wait(q);
  gr = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
  g_assert_null(rd_kafka_group_result_error(gr[0]));
  rd_kafka_event_destroy(ev);
  rd_kafka_DeleteGroup_destroy(dg);
  /* its offsets are gone */
  lo = rd_kafka_ListConsumerGroupOffsets_new("g-admin", parts);
  rd_kafka_ListConsumerGroupOffsets(adm, &lo, 1, NULL, q);
  ev = admin_wait(q);
  gr = rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
  offs = rd_kafka_group_result_partitions(gr[0]);
  g_assert_cmpint(offs->elems[0].offset, ==, RD_KAFKA_OFFSET_INVALID);
  rd_kafka_event_destroy(ev);
  rd_kafka_ListConsumerGroupOffsets_destroy(lo);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(adm);
  harness_cleanup(&h);
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "--child-consumer")) child_consumer(argv[2], argv[3], argv[4]);
  self_path = argv[0];
  g_test_init(&argc, &argv, NULL);
  harness_quiet_logs();
  g_test_add_func("/integration/groups/split-two", test_split_two);
  g_test_add_func("/integration/groups/split-three", test_split_three);
  g_test_add_func("/integration/groups/member-killed", test_member_killed);
  g_test_add_func("/integration/groups/cooperative-sticky", test_cooperative_sticky);
  g_test_add_func("/integration/groups/static-restart", test_static_restart);
  g_test_add_func("/integration/groups/restart-clean", test_restart_clean);
  g_test_add_func("/integration/groups/restart-kill9", test_restart_kill9);
  g_test_add_func("/integration/groups/admin", test_admin);
  return g_test_run();
}
