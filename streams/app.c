/*
 * app.c — brook_streams.h: the application's lifecycle, the embedded broker,
 * internal topics, and the hooks the test driver uses (streams_int.h).
 *
 * Design note
 *
 * State machine (Kafka Streams' KafkaStreams.State), transitions in set_state;
 * each transition runs the listener, serialised by transition_lock:
 *
 *   CREATED ──brook_app_start──▶ REBALANCING ◀──recompute──▶ RUNNING
 *      │                              │                         │
 *      │                              └──── brook_app_close ────┴──▶ PENDING_SHUTDOWN
 *      │                                                                  │ threads joined
 *      └──brook_app_close──▶ NOT_RUNNING ◀────────────────────────────────┘
 *   REBALANCING / RUNNING / PENDING_SHUTDOWN ──a thread failed (on_thread)──▶ ERROR
 *   CREATED ──a stream thread could not start (brook_app_start)──▶ ERROR
 *
 *  - recompute (after any thread reports): RUNNING iff every stream thread is
 *    RUNNING (has its assignment and restored its tasks), else REBALANCING.
 *    It only moves between those two; close and failure own the rest.
 *  - ERROR and NOT_RUNNING are final. A failed thread records the reason
 *    (brook_app_error, logged at ERR) and the other threads are asked to stop;
 *    brook_app_close joins them; the state stays ERROR.
 *
 * Start: source topics must exist (pattern sources take what matches);
 * internal topics get their partition counts from the topology — a repartition
 * topic from its sink's `partitions` or the largest source of the
 * sub-topology writing it (a fixed point, as those sources may be repartition
 * topics), a changelog from its store's sub-topology — and are created with
 * CreateTopics; an existing one with another count is an error.
 * Changelogs are compacted (windowed stores': compact,delete with the store's
 * retention + 1 day); repartition topics are delete with infinite retention
 * (the threads purge them with DeleteRecords after committing).
 *
 * Idle (brook_app_wait_idle), in rounds: RUNNING; read the high watermark
 * of every assigned input partition; wait until the threads' processed
 * positions reach them (the threads publish positions after each batch and
 * call env.progress, which wakes waiters: an event, not a poll); then ONE
 * commit from every thread (generation counters); idle iff every committed
 * offset is now at its high watermark (or its log start) with no rebalance
 * in between. Output a commit writes to a repartition topic moves that
 * topic's high watermark, so the next round follows records through the
 * sub-topologies. A busy application thus commits once per round, not once
 * per check.
 *
 * brook_app_run blocks SIGINT/SIGTERM before start (every thread created
 * from then on inherits the mask; the embedded broker and the stream threads
 * block them themselves) and sleeps in sigtimedwait; entering ERROR wakes it
 * with a thread-directed SIGTERM, drained before the mask is restored.
 *
 * Locks: transition_lock (recursive) → lock → a thread's lock. A stream
 * thread calls on_thread holding none of its own. The state listener runs
 * under transition_lock only, so it may read the state.
 *
 * @locality public functions: any thread but the stream threads (they are
 * joined by close); on_thread: stream threads.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "brook_broker.h"
#include "streams_int.h"
#include "thread.h"
#include "topology_int.h"
#include "brook_state.h"

#define METADATA_TIMEOUT_MS 10000
#define CREATE_TIMEOUT_MS 30000
#define WATERMARK_TIMEOUT_MS 5000

struct brook_app {
  streams_conf_t conf;
  brook_topology_t *topology;
  brook_state_env_t *state_env;
  brook_broker_t *broker; /* embedded, or NULL */
  char *bootstrap;
  int64_t purge_interval_ms;

  GRecMutex transition_lock;
  GMutex lock;
  GCond cond; /* broadcast on any state or thread progress change */
  brook_app_state_t state;
  void (*listener)(brook_app_state_t new_state, brook_app_state_t old_state, void *opaque);
  void *listener_opaque;
  char *error;
  bool starting, closing, closed;
  bool run_waiting; /* brook_app_run sits in sigtimedwait on run_thread */
  int idle_waiters; /* wait_idle calls waiting for processing progress (lock) */
  pthread_t run_thread;
  GPtrArray *threads; /* stream_thread_t * (owned) */
  int64_t (*wall_clock)(void *opaque);
  void *wall_clock_opaque;

  rd_kafka_t *admin; /* metadata, CreateTopics, watermarks (from start) */
  char **subscription;
  GHashTable *repartition_topics; /* full names */
};

/* ------------------------------------------------------------ small helpers */

const char *brook_app_state_name(brook_app_state_t state) {
  switch (state) {
    case BROOK_APP_CREATED: return "CREATED";
    case BROOK_APP_REBALANCING: return "REBALANCING";
    case BROOK_APP_RUNNING: return "RUNNING";
    case BROOK_APP_PENDING_SHUTDOWN: return "PENDING_SHUTDOWN";
    case BROOK_APP_NOT_RUNNING: return "NOT_RUNNING";
    case BROOK_APP_ERROR: return "ERROR";
  }
  return "UNKNOWN";
}

char *app_internal_topic(const char *application_id, const char *name) {
  return g_strdup_printf("%s-%s", application_id, name);
}

static int64_t real_clock_ms(void *opaque) {
  (void)opaque;
  return g_get_real_time() / 1000;
}

static const streams_log_t *alog(const brook_app_t *app) { return &app->conf.log; }

static bool valid_transition(brook_app_state_t from, brook_app_state_t to) {
  switch (from) {
    case BROOK_APP_CREATED: return to == BROOK_APP_REBALANCING || to == BROOK_APP_NOT_RUNNING || to == BROOK_APP_ERROR;
    case BROOK_APP_REBALANCING: return to == BROOK_APP_RUNNING || to == BROOK_APP_PENDING_SHUTDOWN || to == BROOK_APP_ERROR;
    case BROOK_APP_RUNNING: return to == BROOK_APP_REBALANCING || to == BROOK_APP_PENDING_SHUTDOWN || to == BROOK_APP_ERROR;
    case BROOK_APP_PENDING_SHUTDOWN: return to == BROOK_APP_NOT_RUNNING || to == BROOK_APP_ERROR;
    case BROOK_APP_NOT_RUNNING:
    case BROOK_APP_ERROR: return false;
  }
  return false;
}

static bool set_state(brook_app_t *app, brook_app_state_t to) {
  g_rec_mutex_lock(&app->transition_lock);
  g_mutex_lock(&app->lock);
  brook_app_state_t from = app->state;
  bool ok = valid_transition(from, to);
  if (ok) {
    app->state = to;
    g_cond_broadcast(&app->cond);
    /* wake brook_app_run: its sigtimedwait gets a signal it blocks */
    if (to == BROOK_APP_ERROR && app->run_waiting) pthread_kill(app->run_thread, SIGTERM);
  }
  void (*listener)(brook_app_state_t, brook_app_state_t, void *) = app->listener;
  void *opaque = app->listener_opaque;
  g_mutex_unlock(&app->lock);
  if (ok) {
    streams_log(alog(app), to == BROOK_APP_ERROR ? BROOK_LOG_ERR : BROOK_LOG_INFO, "app", "state %s -> %s",
                brook_app_state_name(from), brook_app_state_name(to));
    if (listener) listener(to, from, opaque);
  }
  g_rec_mutex_unlock(&app->transition_lock);
  return ok;
}

/* RUNNING iff every thread is; only between REBALANCING and RUNNING. */
static void recompute(brook_app_t *app) {
  g_rec_mutex_lock(&app->transition_lock);
  g_mutex_lock(&app->lock);
  brook_app_state_t cur = app->state;
  bool all = app->threads && app->threads->len > 0;
  for (guint i = 0; all && i < app->threads->len; i++)
    if (stream_thread_state(app->threads->pdata[i]) != THREAD_RUNNING) all = false;
  g_mutex_unlock(&app->lock);
  if (cur == BROOK_APP_REBALANCING || cur == BROOK_APP_RUNNING) {
    brook_app_state_t want = all ? BROOK_APP_RUNNING : BROOK_APP_REBALANCING;
    if (want != cur) set_state(app, want);
  }
  g_rec_mutex_unlock(&app->transition_lock);
}

/* stream_thread_env_t.notify, on a stream thread. */
static void on_thread(brook_app_t *app, stream_thread_t *thread) {
  char *msg = NULL;
  if (stream_thread_failed(thread, &msg)) {
    g_mutex_lock(&app->lock);
    bool first = app->error == NULL;
    if (first) app->error = msg;
    else g_free(msg);
    g_mutex_unlock(&app->lock);
    if (first) {
      streams_log(alog(app), BROOK_LOG_ERR, "app", "%s; shutting the application down", app->error);
      set_state(app, BROOK_APP_ERROR);
      g_mutex_lock(&app->lock);
      for (guint i = 0; i < app->threads->len; i++) stream_thread_request_stop(app->threads->pdata[i]);
      g_mutex_unlock(&app->lock);
    }
  } else {
    recompute(app);
  }
  g_mutex_lock(&app->lock);
  g_cond_broadcast(&app->cond);
  g_mutex_unlock(&app->lock);
}

/* stream_thread_env_t.progress, on a stream thread after each busy batch:
 * wakes wait_idle's step 3. */
static void on_progress(brook_app_t *app, stream_thread_t *thread) {
  (void)thread;
  g_mutex_lock(&app->lock);
  if (app->idle_waiters > 0) g_cond_broadcast(&app->cond);
  g_mutex_unlock(&app->lock);
}

/* ------------------------------------------------------------ new / destroy */

static void rk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  brook_app_t *app = rd_kafka_opaque(rk);
  if (app)
    streams_log(alog(app), level < BROOK_LOG_ERR ? BROOK_LOG_ERR : level, "rdkafka", "%s: %s: %s", rd_kafka_name(rk),
                fac, buf);
}

static brook_err_t check_default_serdes(brook_app_t *app, char *errstr, size_t errstr_size) {
  brook_topology_t *topo = app->topology;
  for (guint i = 0; i < topo->nodes->len; i++) {
    topo_node_t *node = topo->nodes->pdata[i];
    bool need_key = node->needs_default_key_serde, need_value = node->needs_default_value_serde;
    const char *kind = node->kind == TOPO_SOURCE ? "source" : node->kind == TOPO_SINK ? "sink" : "processor";
    if (node->kind == TOPO_SOURCE || node->kind == TOPO_SINK) {
      need_key |= node->key_serde == NULL;
      need_value |= node->value_serde == NULL;
    }
    const char *missing = need_key && !app->conf.default_key_serde         ? "key"
                          : need_value && !app->conf.default_value_serde ? "value"
                                                                         : NULL;
    if (!missing) continue;
    char *what = node->needs_what ? g_strdup_printf("%s (node \"%s\")", node->needs_what, node->name)
                                  : g_strdup_printf("%s \"%s\"", kind, node->name);
    g_snprintf(errstr, errstr_size,
               "%s needs a %s serde but none was given and default.%s.serde is not set; give it a %s serde or set "
               "default.%s.serde",
               what, missing, missing, missing, missing);
    g_free(what);
    return BROOK_ERR__BAD_CONFIG;
  }
  return BROOK_ERR_NONE;
}

static brook_err_t start_embedded_broker(brook_app_t *app, char *errstr, size_t errstr_size) {
  char *dir = g_build_filename(app->conf.state_dir, app->conf.application_id, "broker", NULL);
  if (g_mkdir_with_parents(dir, 0755) != 0) {
    int e = errno;
    g_snprintf(errstr, errstr_size, "creating the embedded broker's directory %s: %s", dir, g_strerror(e));
    g_free(dir);
    return BROOK_ERR__IO;
  }
  brook_broker_conf_t *bc = brook_broker_conf_new();
  const char *props[][2] = {
      {"listeners", "PLAINTEXT://127.0.0.1:0"},
      {"log.dirs", dir},
      {"group.initial.rebalance.delay.ms", "0"},
      {"offsets.topic.num.partitions", "1"},
  };
  brook_err_t err = BROOK_ERR_NONE;
  char berr[512];
  for (size_t i = 0; i < G_N_ELEMENTS(props) && !err; i++)
    if ((err = brook_broker_conf_set(bc, props[i][0], props[i][1], berr, sizeof berr)))
      g_snprintf(errstr, errstr_size, "embedded broker: %s", berr);
  if (!err) {
    /* The broker thread must not take SIGINT/SIGTERM meant for the app. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    app->broker = brook_broker_start(bc, berr, sizeof berr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!app->broker) {
      g_snprintf(errstr, errstr_size, "starting the embedded broker (log.dirs %s): %s", dir, berr);
      err = BROOK_ERR__FAIL;
    } else {
      app->bootstrap = g_strdup(brook_broker_bootstrap(app->broker));
      streams_log(alog(app), BROOK_LOG_INFO, "app", "embedded broker on %s (log.dirs %s)", app->bootstrap, dir);
    }
  }
  brook_broker_conf_destroy(bc);
  g_free(dir);
  return err;
}

brook_app_t *brook_app_new(brook_topology_t *topology, const brook_app_conf_t *conf, char *errstr,
                           size_t errstr_size) {
  g_assert(topology && conf);
  brook_app_t *app = g_new0(brook_app_t, 1);
  g_rec_mutex_init(&app->transition_lock);
  g_mutex_init(&app->lock);
  g_cond_init(&app->cond);
  app->state = BROOK_APP_CREATED;
  app->threads = g_ptr_array_new();
  app->wall_clock = real_clock_ms;
  if (streams_conf_resolve(conf, &app->conf, errstr, errstr_size)) goto fail;
  app->purge_interval_ms = app->conf.repartition_purge_interval_ms;
  if (topology_seal(topology, errstr, errstr_size)) goto fail;
  app->topology = brook_topology_ref(topology);
  if (check_default_serdes(app, errstr, errstr_size)) goto fail;
  brook_state_env_conf_t sconf = {
      .state_dir = app->conf.state_dir,
      .application_id = app->conf.application_id,
      .rocksdb_total_memory_bytes =
          app->conf.rocksdb_total_memory_bytes > 0 ? (uint64_t)app->conf.rocksdb_total_memory_bytes : 0,
      .cache_max_bytes =
          app->conf.statestore_cache_max_bytes > 0 ? (uint64_t)app->conf.statestore_cache_max_bytes : 0,
  };
  if (!(app->state_env = brook_state_env_new(&sconf, errstr, errstr_size))) goto fail;
  if (app->conf.bootstrap_servers) app->bootstrap = g_strdup(app->conf.bootstrap_servers);
  else if (start_embedded_broker(app, errstr, errstr_size)) goto fail;
  return app;
fail:
  streams_log(alog(app), BROOK_LOG_ERR, "app", "%s", errstr);
  brook_app_destroy(app);
  return NULL;
}

void brook_app_set_state_listener(brook_app_t *app,
                                  void (*listener)(brook_app_state_t new_state, brook_app_state_t old_state,
                                                   void *opaque),
                                  void *opaque) {
  g_mutex_lock(&app->lock);
  app->listener = listener;
  app->listener_opaque = opaque;
  g_mutex_unlock(&app->lock);
}

void brook_app_close(brook_app_t *app) {
  for (guint i = 0; i < app->threads->len; i++)
    if (stream_thread_is_current(app->threads->pdata[i])) {
      /* from a listener or processor on a stream thread: joining would wait
       * for ourselves; ask every thread to stop and return */
      streams_log(alog(app), BROOK_LOG_WARNING, "app",
                  "brook_app_close called on stream thread %s: stopping the threads without waiting for them",
                  stream_thread_name(app->threads->pdata[i]));
      set_state(app, BROOK_APP_PENDING_SHUTDOWN);
      for (guint j = 0; j < app->threads->len; j++) stream_thread_request_stop(app->threads->pdata[j]);
      return;
    }
  g_mutex_lock(&app->lock);
  if (app->closed) {
    g_mutex_unlock(&app->lock);
    return;
  }
  if (app->closing) {
    while (!app->closed) g_cond_wait(&app->cond, &app->lock);
    g_mutex_unlock(&app->lock);
    return;
  }
  app->closing = true;
  brook_app_state_t state = app->state;
  g_mutex_unlock(&app->lock);
  if (state == BROOK_APP_CREATED) {
    set_state(app, BROOK_APP_NOT_RUNNING);
  } else {
    set_state(app, BROOK_APP_PENDING_SHUTDOWN); /* refused from ERROR: it stays */
    streams_log(alog(app), BROOK_LOG_INFO, "app", "shutting down %u stream thread(s)", app->threads->len);
    for (guint i = 0; i < app->threads->len; i++) stream_thread_request_stop(app->threads->pdata[i]);
    for (guint i = 0; i < app->threads->len; i++) stream_thread_join(app->threads->pdata[i]);
    set_state(app, BROOK_APP_NOT_RUNNING); /* refused after ERROR */
  }
  g_mutex_lock(&app->lock);
  app->closed = true;
  g_cond_broadcast(&app->cond);
  g_mutex_unlock(&app->lock);
}

void brook_app_destroy(brook_app_t *app) {
  if (!app) return;
  if (app->state != BROOK_APP_CREATED || app->threads->len) brook_app_close(app);
  for (guint i = 0; i < app->threads->len; i++) stream_thread_destroy(app->threads->pdata[i]);
  g_ptr_array_free(app->threads, TRUE);
  if (app->admin) rd_kafka_destroy(app->admin);
  brook_state_env_destroy(app->state_env);
  brook_broker_stop(app->broker);
  brook_topology_unref(app->topology);
  g_strfreev(app->subscription);
  if (app->repartition_topics) g_hash_table_destroy(app->repartition_topics);
  streams_conf_clear(&app->conf);
  g_free(app->bootstrap);
  g_free(app->error);
  g_rec_mutex_clear(&app->transition_lock);
  g_mutex_clear(&app->lock);
  g_cond_clear(&app->cond);
  g_free(app);
}

brook_app_state_t brook_app_state(const brook_app_t *app) {
  brook_app_t *a = (brook_app_t *)app;
  g_mutex_lock(&a->lock);
  brook_app_state_t s = a->state;
  g_mutex_unlock(&a->lock);
  return s;
}

const char *brook_app_error(const brook_app_t *app) {
  brook_app_t *a = (brook_app_t *)app;
  g_mutex_lock(&a->lock);
  const char *e = a->error; /* set once, freed by destroy */
  g_mutex_unlock(&a->lock);
  return e;
}

const char *brook_app_bootstrap_servers(const brook_app_t *app) { return app->bootstrap; }

const streams_conf_t *app_conf(const brook_app_t *app) { return &app->conf; }

void app_set_wall_clock(brook_app_t *app, int64_t (*now_ms)(void *opaque), void *opaque) {
  g_mutex_lock(&app->lock);
  app->wall_clock = now_ms ? now_ms : real_clock_ms;
  app->wall_clock_opaque = now_ms ? opaque : NULL;
  g_mutex_unlock(&app->lock);
}

/* ------------------------------------------------------------ internal topics */

typedef struct itopic {
  char *name;         /* full name */
  int32_t partitions; /* -1 = not known yet */
  bool changelog;
  int64_t retention_ms; /* windowed changelogs: compact,delete with this retention; 0 = compact only */
  GPtrArray *writers; /* repartition: sink nodes writing it (not owned) */
  int32_t explicit_partitions;
} itopic_t;

static void itopic_free(gpointer p) {
  itopic_t *it = p;
  g_free(it->name);
  if (it->writers) g_ptr_array_free(it->writers, TRUE);
  g_free(it);
}

typedef struct topic_plan {
  GHashTable *existing;    /* name -> GINT_TO_POINTER(partition count) */
  GHashTable *repartition; /* full name -> itopic_t (owned) */
  GPtrArray *changelogs;   /* itopic_t (owned) */
  int32_t *sub_parts;      /* per sub-topology, -1 unknown */
} topic_plan_t;

static void plan_clear(topic_plan_t *plan) {
  if (plan->existing) g_hash_table_destroy(plan->existing);
  if (plan->repartition) g_hash_table_destroy(plan->repartition);
  if (plan->changelogs) g_ptr_array_free(plan->changelogs, TRUE);
  g_free(plan->sub_parts);
}

static brook_err_t admin_new(brook_app_t *app, char *errstr, size_t errstr_size) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char err[512];
  const char *cid = app->conf.client_id ? app->conf.client_id : app->conf.application_id;
  char *client_id = g_strdup_printf("%s-admin", cid);
  bool ok = rd_kafka_conf_set(conf, "bootstrap.servers", app->bootstrap, err, sizeof err) == RD_KAFKA_CONF_OK &&
            rd_kafka_conf_set(conf, "client.id", client_id, err, sizeof err) == RD_KAFKA_CONF_OK;
  g_free(client_id);
  if (ok && app->conf.admin_props) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, app->conf.admin_props);
    while (ok && g_hash_table_iter_next(&it, &k, &v)) {
      char e2[256];
      if (rd_kafka_conf_set(conf, k, v, e2, sizeof e2) != RD_KAFKA_CONF_OK) {
        g_snprintf(err, sizeof err, "admin.%s=%s: %s", (const char *)k, (const char *)v, e2);
        ok = false;
      }
    }
  }
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    g_snprintf(errstr, errstr_size, "admin client: %s", err);
    return BROOK_ERR__BAD_CONFIG;
  }
  rd_kafka_conf_set_opaque(conf, app);
  rd_kafka_conf_set_log_cb(conf, rk_log_cb);
  app->admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!app->admin) {
    rd_kafka_conf_destroy(conf);
    g_snprintf(errstr, errstr_size, "admin client: %s", err);
    return BROOK_ERR__BAD_CONFIG;
  }
  return BROOK_ERR_NONE;
}

/* Every existing topic with its partition count. (transfer full) */
static GHashTable *list_topics(brook_app_t *app, char *errstr, size_t errstr_size) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(app->admin, 1, NULL, &md, METADATA_TIMEOUT_MS);
  if (err) {
    g_snprintf(errstr, errstr_size, "reading the cluster's topics from %s: %s", app->bootstrap, rd_kafka_err2str(err));
    return NULL;
  }
  GHashTable *topics = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < md->topic_cnt; i++)
    if (!md->topics[i].err)
      g_hash_table_insert(topics, g_strdup(md->topics[i].topic), GINT_TO_POINTER(md->topics[i].partition_cnt));
  rd_kafka_metadata_destroy(md);
  return topics;
}

/* Calls fn for every topic the sub-topology reads, with its partition count:
 * named topics, the existing topics a pattern source matches, and repartition
 * topics (-1 while one is not sized yet). */
typedef void(source_topic_fn)(const char *topic, int32_t partitions, void *data);

static void each_source_topic(brook_app_t *app, topic_plan_t *plan, int sub, source_topic_fn *fn, void *data) {
  topo_subtopology_t *st = app->topology->subtopologies->pdata[sub];
  for (guint i = 0; i < st->sources->len; i++) {
    topo_node_t *src = st->sources->pdata[i];
    if (src->pattern) {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init(&it, plan->existing);
      while (g_hash_table_iter_next(&it, &k, &v))
        if (topology_source_of_topic(app->topology, sub, app->conf.application_id, k) == src)
          fn(k, GPOINTER_TO_INT(v), data);
      continue;
    }
    for (char **t = src->topics; t && *t; t++) {
      if (src->internal) {
        char *full = app_internal_topic(app->conf.application_id, *t);
        itopic_t *it = g_hash_table_lookup(plan->repartition, full);
        fn(full, it ? it->partitions : -1, data);
        g_free(full);
      } else {
        fn(*t, GPOINTER_TO_INT(g_hash_table_lookup(plan->existing, *t)), data);
      }
    }
  }
}

static void max_partitions(const char *topic, int32_t partitions, void *data) {
  (void)topic;
  int32_t *max = data;
  if (*max >= 0) *max = partitions < 0 ? -1 : MAX(*max, partitions);
}

/* The largest partition count of the sub-topology's source topics: -1 while a
 * repartition topic it reads is not known yet, 0 if it has none (a pattern
 * that matches nothing). */
static int32_t sub_partitions(brook_app_t *app, topic_plan_t *plan, int sub) {
  int32_t max = 0;
  each_source_topic(app, plan, sub, max_partitions, &max);
  return max;
}

typedef struct copartition {
  GString *topics; /* "name (count), ..." */
  int32_t lo, hi;
} copartition_t;

static void note_copartition(const char *topic, int32_t partitions, void *data) {
  copartition_t *c = data;
  if (partitions <= 0) return;
  c->lo = MIN(c->lo, partitions);
  c->hi = MAX(c->hi, partitions);
  g_string_append_printf(c->topics, "%s%s (%" PRId32 ")", c->topics->len ? ", " : "", topic, partitions);
}

/* Task <sub>_<p> reads partition p of every topic of its sub-topology, and the
 * group's range assignment keeps those partitions on one consumer only when
 * the topics have the same partition count: with 4 and 2 partitions and two
 * consumers, A-1 and B-1 land on different ones (Kafka Streams' own assignor
 * keeps a task whole; librdkafka offers no pluggable assignor). Then
 *   - two threads of this process both open task <sub>_1, and the second
 *     waits for the first one's task directory lock until it fails;
 *   - two instances would each run task <sub>_1 with half its input and its
 *     own copy of the task's stores, both logging to the same changelog
 *     partition: wrong results, silently.
 * So a sub-topology with stores, or any sub-topology when the app runs more
 * than one stream thread, must read co-partitioned topics (as Kafka Streams
 * requires for joins). A stateless one on a single thread may mix counts
 * (a pattern over topics of different sizes): its partitions are processed
 * once each wherever they land. */
static brook_err_t check_copartitioned(brook_app_t *app, topic_plan_t *plan, char *errstr, size_t errstr_size) {
  for (guint s = 0; s < app->topology->subtopologies->len; s++) {
    topo_subtopology_t *st = app->topology->subtopologies->pdata[s];
    bool stateful = st->stores->len > 0;
    if (!stateful && app->conf.num_stream_threads <= 1) continue;
    copartition_t c = {g_string_new(NULL), INT32_MAX, 0};
    each_source_topic(app, plan, (int)s, note_copartition, &c);
    bool mixed = c.hi > c.lo;
    if (mixed)
      g_snprintf(errstr, errstr_size,
                 "sub-topology %u reads topics with different partition counts: %s. A %s must read topics with "
                 "the same number of partitions (co-partitioned), so that each task's partitions stay on one "
                 "stream thread; repartition one to the other's count (brook_stream_repartition) or recreate it",
                 s, c.topics->str,
                 stateful ? "sub-topology with state stores" : "sub-topology run by several stream threads");
    g_string_free(c.topics, TRUE);
    if (mixed) return BROOK_ERR_INVALID_PARTITIONS;
  }
  return BROOK_ERR_NONE;
}

static void append_name(GString *s, const char *name) {
  if (s->len) g_string_append(s, ", ");
  g_string_append(s, name);
}

/* Checks sources and works out every internal topic's partition count. */
static brook_err_t plan_topics(brook_app_t *app, topic_plan_t *plan, char *errstr, size_t errstr_size) {
  const char *app_id = app->conf.application_id;
  brook_topology_t *topo = app->topology;
  if (!(plan->existing = list_topics(app, errstr, errstr_size))) return BROOK_ERR__FAIL;
  plan->repartition = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, itopic_free);
  plan->changelogs = g_ptr_array_new_with_free_func(itopic_free);
  guint nsub = topo->subtopologies->len;
  plan->sub_parts = g_new(int32_t, nsub ? nsub : 1);

  /* (1) user source topics must exist */
  GString *missing = g_string_new(NULL);
  for (guint i = 0; i < topo->nodes->len; i++) {
    topo_node_t *node = topo->nodes->pdata[i];
    if (node->kind != TOPO_SOURCE || node->internal) continue;
    if (node->pattern) {
      bool any = false;
      GHashTableIter it;
      gpointer k;
      g_hash_table_iter_init(&it, plan->existing);
      while (!any && g_hash_table_iter_next(&it, &k, NULL))
        any = topology_source_of_topic(topo, node->subtopology, app_id, k) == node;
      if (!any)
        streams_log(alog(app), BROOK_LOG_WARNING, "app", "source \"%s\": pattern %s matches no topic yet", node->name,
                    node->pattern);
      continue;
    }
    for (char **t = node->topics; t && *t; t++)
      if (!g_hash_table_contains(plan->existing, *t)) append_name(missing, *t);
  }
  if (missing->len) {
    g_snprintf(errstr, errstr_size, "source topic(s) %s not found; create them first", missing->str);
    g_string_free(missing, TRUE);
    return BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
  }

  /* (2) repartition topics: writers and readers */
  for (guint i = 0; i < topo->nodes->len; i++) {
    topo_node_t *node = topo->nodes->pdata[i];
    if (!node->internal) continue;
    char **names = NULL;
    char *one[2] = {node->topic, NULL};
    if (node->kind == TOPO_SINK) names = one;
    else if (node->kind == TOPO_SOURCE) names = node->topics;
    for (char **t = names; t && *t; t++) {
      char *full = app_internal_topic(app_id, *t);
      itopic_t *it = g_hash_table_lookup(plan->repartition, full);
      if (!it) {
        it = g_new0(itopic_t, 1);
        it->name = full;
        it->partitions = -1;
        it->writers = g_ptr_array_new();
        g_hash_table_insert(plan->repartition, it->name, it);
      } else {
        g_free(full);
      }
      if (node->kind == TOPO_SINK) {
        g_ptr_array_add(it->writers, node);
        if (node->partitions > 0) it->explicit_partitions = MAX(it->explicit_partitions, node->partitions);
      }
    }
  }
  /* fixed point: a repartition topic's count may depend on other ones */
  for (bool changed = true; changed;) {
    changed = false;
    GHashTableIter hi;
    gpointer v;
    g_hash_table_iter_init(&hi, plan->repartition);
    while (g_hash_table_iter_next(&hi, NULL, &v)) {
      itopic_t *it = v;
      if (it->partitions >= 0) continue;
      int32_t n = -1;
      if (it->explicit_partitions > 0) {
        n = it->explicit_partitions;
      } else if (it->writers->len == 0) {
        gpointer cnt;
        if (g_hash_table_lookup_extended(plan->existing, it->name, NULL, &cnt)) n = GPOINTER_TO_INT(cnt);
      } else {
        n = 0;
        for (guint w = 0; w < it->writers->len && n >= 0; w++) {
          topo_node_t *sink = it->writers->pdata[w];
          int32_t sp = sub_partitions(app, plan, sink->subtopology);
          n = sp < 0 ? -1 : MAX(n, sp);
        }
        if (n == 0) n = -1; /* upstream has no partitions (yet): cannot size it */
      }
      if (n > 0) {
        it->partitions = n;
        changed = true;
      }
    }
  }
  GString *unknown = g_string_new(NULL);
  GHashTableIter hi;
  gpointer v;
  g_hash_table_iter_init(&hi, plan->repartition);
  while (g_hash_table_iter_next(&hi, NULL, &v))
    if (((itopic_t *)v)->partitions < 0) append_name(unknown, ((itopic_t *)v)->name);
  if (unknown->len) {
    g_snprintf(errstr, errstr_size,
               "cannot work out the partition count of repartition topic(s) %s: no sink writes them, or the "
               "sub-topology writing them has no source partitions",
               unknown->str);
    g_string_free(unknown, TRUE);
    g_string_free(missing, TRUE);
    return BROOK_ERR__BAD_CONFIG;
  }
  g_string_free(unknown, TRUE);
  g_string_free(missing, TRUE);
  for (guint s = 0; s < nsub; s++) plan->sub_parts[s] = sub_partitions(app, plan, (int)s);
  brook_err_t cerr = check_copartitioned(app, plan, errstr, errstr_size);
  if (cerr) return cerr;

  /* (3) changelogs */
  for (guint i = 0; i < topo->stores->len; i++) {
    topo_store_t *store = topo->stores->pdata[i];
    if (store->def.logging_disabled || store->subtopology < 0) continue;
    int32_t n = plan->sub_parts[store->subtopology];
    char *suffix = g_strdup_printf("%s-changelog", store->name);
    itopic_t *it = g_new0(itopic_t, 1);
    it->name = app_internal_topic(app_id, suffix);
    it->changelog = true;
    it->partitions = n;
    /* Windowed stores' changelogs also expire, like Kafka's: the store's
     * retention plus windowstore.changelog.additional.retention.ms (1 day). */
    if (store->def.kind != BROOK_STORE_KV)
      it->retention_ms = (store->def.retention_ms > 0 ? store->def.retention_ms : 86400000) + 86400000;
    g_free(suffix);
    g_ptr_array_add(plan->changelogs, it);
    if (n <= 0) {
      g_snprintf(errstr, errstr_size,
                 "cannot size changelog %s of store \"%s\": its sub-topology's sources have no partitions (does the "
                 "pattern match any topic?)",
                 it->name, store->name);
      return BROOK_ERR__BAD_CONFIG;
    }
  }
  return BROOK_ERR_NONE;
}

/* An existing internal topic must have the planned count. */
static brook_err_t check_existing(GHashTable *existing, itopic_t *it, bool *exists, char *errstr,
                                  size_t errstr_size) {
  gpointer cnt;
  *exists = g_hash_table_lookup_extended(existing, it->name, NULL, &cnt);
  if (*exists && GPOINTER_TO_INT(cnt) != it->partitions) {
    g_snprintf(errstr, errstr_size,
               "internal topic %s has %d partition(s) but the topology needs %" PRId32
               "; delete it (reset the application) first",
               it->name, GPOINTER_TO_INT(cnt), it->partitions);
    return BROOK_ERR_INVALID_PARTITIONS;
  }
  return BROOK_ERR_NONE;
}

static brook_err_t create_topics(brook_app_t *app, GPtrArray *missing, char *errstr, size_t errstr_size) {
  if (missing->len == 0) return BROOK_ERR_NONE;
  rd_kafka_NewTopic_t **nts = g_new0(rd_kafka_NewTopic_t *, missing->len);
  brook_err_t ret = BROOK_ERR_NONE;
  char err[512];
  for (guint i = 0; i < missing->len; i++) {
    itopic_t *it = missing->pdata[i];
    nts[i] = rd_kafka_NewTopic_new(it->name, it->partitions, app->conf.replication_factor, err, sizeof err);
    if (!nts[i]) {
      g_snprintf(errstr, errstr_size, "creating internal topic %s: %s", it->name, err);
      ret = BROOK_ERR__BAD_CONFIG;
      goto out;
    }
    if (it->changelog && it->retention_ms > 0) {
      char retention[32];
      g_snprintf(retention, sizeof retention, "%" PRId64, it->retention_ms);
      rd_kafka_NewTopic_set_config(nts[i], "cleanup.policy", "compact,delete");
      rd_kafka_NewTopic_set_config(nts[i], "retention.ms", retention);
    } else if (it->changelog) {
      rd_kafka_NewTopic_set_config(nts[i], "cleanup.policy", "compact");
    } else {
      rd_kafka_NewTopic_set_config(nts[i], "cleanup.policy", "delete");
      rd_kafka_NewTopic_set_config(nts[i], "retention.ms", "-1");
      rd_kafka_NewTopic_set_config(nts[i], "segment.bytes", "52428800");
    }
    streams_log(alog(app), BROOK_LOG_INFO, "app", "creating internal topic %s (%" PRId32 " partitions)", it->name,
                it->partitions);
  }
  rd_kafka_queue_t *q = rd_kafka_queue_new(app->admin);
  rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(app->admin, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, CREATE_TIMEOUT_MS, err, sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(opts, CREATE_TIMEOUT_MS, err, sizeof err);
  rd_kafka_CreateTopics(app->admin, nts, missing->len, opts, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, CREATE_TIMEOUT_MS + 5000);
  if (!ev) {
    g_snprintf(errstr, errstr_size, "creating internal topics: no answer from %s", app->bootstrap);
    ret = BROOK_ERR__TIMED_OUT;
  } else if (rd_kafka_event_error(ev)) {
    g_snprintf(errstr, errstr_size, "creating internal topics: %s", rd_kafka_event_error_string(ev));
    ret = BROOK_ERR__FAIL;
  } else {
    size_t cnt = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt && !ret; i++) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char *msg = rd_kafka_topic_result_error_string(res[i]);
        g_snprintf(errstr, errstr_size, "creating internal topic %s: %s", rd_kafka_topic_result_name(res[i]),
                   msg ? msg : rd_kafka_err2str(e));
        ret = (brook_err_t)e;
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
out:
  for (guint i = 0; i < missing->len; i++)
    if (nts[i]) rd_kafka_NewTopic_destroy(nts[i]);
  g_free(nts);
  return ret;
}

static brook_err_t prepare_topics(brook_app_t *app, char *errstr, size_t errstr_size) {
  topic_plan_t plan = {0};
  brook_err_t err = plan_topics(app, &plan, errstr, errstr_size);
  GPtrArray *all = g_ptr_array_new();
  GPtrArray *missing = g_ptr_array_new();
  if (err) goto out;
  GHashTableIter hi;
  gpointer v;
  g_hash_table_iter_init(&hi, plan.repartition);
  while (g_hash_table_iter_next(&hi, NULL, &v)) g_ptr_array_add(all, v);
  for (guint i = 0; i < plan.changelogs->len; i++) g_ptr_array_add(all, plan.changelogs->pdata[i]);
  for (guint i = 0; i < all->len && !err; i++) {
    bool exists;
    err = check_existing(plan.existing, all->pdata[i], &exists, errstr, errstr_size);
    if (!err && !exists) g_ptr_array_add(missing, all->pdata[i]);
  }
  if (!err) err = create_topics(app, missing, errstr, errstr_size);
  if (!err && missing->len) {
    /* verify (another instance may have created one concurrently) */
    GHashTable *now = list_topics(app, errstr, errstr_size);
    if (!now) err = BROOK_ERR__FAIL;
    for (guint i = 0; now && i < missing->len && !err; i++) {
      bool exists;
      err = check_existing(now, missing->pdata[i], &exists, errstr, errstr_size);
      if (!err && !exists) {
        g_snprintf(errstr, errstr_size, "internal topic %s was created but does not show in the metadata",
                   ((itopic_t *)missing->pdata[i])->name);
        err = BROOK_ERR__FAIL;
      }
    }
    if (now) g_hash_table_destroy(now);
  }
  if (!err) {
    /* subscription: user topics, full internal names, patterns */
    GPtrArray *sub = g_ptr_array_new();
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    brook_topology_t *topo = app->topology;
    for (guint i = 0; i < topo->nodes->len; i++) {
      topo_node_t *node = topo->nodes->pdata[i];
      if (node->kind != TOPO_SOURCE) continue;
      if (node->pattern) {
        g_ptr_array_add(sub, g_strdup_printf("^(%s)$", node->pattern));
        continue;
      }
      for (char **t = node->topics; t && *t; t++) {
        char *name = node->internal ? app_internal_topic(app->conf.application_id, *t) : g_strdup(*t);
        if (g_hash_table_contains(seen, name)) {
          g_free(name);
          continue;
        }
        g_hash_table_add(seen, name);
        g_ptr_array_add(sub, name);
      }
    }
    g_hash_table_destroy(seen);
    g_ptr_array_add(sub, NULL);
    app->subscription = (char **)g_ptr_array_free(sub, FALSE);
    app->repartition_topics = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_iter_init(&hi, plan.repartition);
    while (g_hash_table_iter_next(&hi, NULL, &v)) g_hash_table_add(app->repartition_topics, g_strdup(((itopic_t *)v)->name));
  }
out:
  g_ptr_array_free(all, TRUE);
  g_ptr_array_free(missing, TRUE);
  plan_clear(&plan);
  return err;
}

/* ------------------------------------------------------------ start / run */

static int64_t app_wall_clock(void *opaque) {
  brook_app_t *app = opaque;
  return app->wall_clock(app->wall_clock_opaque); /* fixed before start */
}

brook_err_t brook_app_start(brook_app_t *app, char *errstr, size_t errstr_size) {
  g_mutex_lock(&app->lock);
  if (app->state != BROOK_APP_CREATED || app->starting || app->closing) {
    g_snprintf(errstr, errstr_size, "brook_app_start: the application is %s (start needs CREATED, once)",
               app->closing ? "closing" : brook_app_state_name(app->state));
    g_mutex_unlock(&app->lock);
    return BROOK_ERR__STATE;
  }
  app->starting = true;
  g_mutex_unlock(&app->lock);

  brook_err_t err = BROOK_ERR_NONE;
  if (!app->admin) err = admin_new(app, errstr, errstr_size);
  if (!err) err = prepare_topics(app, errstr, errstr_size);
  if (err) {
    streams_log(alog(app), BROOK_LOG_ERR, "app", "start: %s", errstr);
    g_mutex_lock(&app->lock);
    app->starting = false;
    g_mutex_unlock(&app->lock);
    return err;
  }
  int n = app->conf.num_stream_threads > 0 ? app->conf.num_stream_threads : 1;
  stream_thread_env_t env = {
      .app = app,
      .topology = app->topology,
      .conf = &app->conf,
      .state_env = app->state_env,
      .bootstrap_servers = app->bootstrap,
      .subscription = app->subscription,
      .repartition_topics = app->repartition_topics,
      .repartition_purge_interval_ms = app->purge_interval_ms,
      .wall_clock = app_wall_clock,
      .wall_clock_opaque = app,
      .notify = on_thread,
      .progress = on_progress,
  };
  g_mutex_lock(&app->lock);
  for (int i = 0; i < n; i++) g_ptr_array_add(app->threads, stream_thread_new(&env, i + 1));
  g_mutex_unlock(&app->lock);
  set_state(app, BROOK_APP_REBALANCING);
  for (guint i = 0; i < app->threads->len && !err; i++) err = stream_thread_start(app->threads->pdata[i], errstr, errstr_size);
  if (err) {
    g_mutex_lock(&app->lock);
    if (!app->error) app->error = g_strdup(errstr);
    g_mutex_unlock(&app->lock);
    streams_log(alog(app), BROOK_LOG_ERR, "app", "start: %s", errstr);
    set_state(app, BROOK_APP_ERROR);
    for (guint i = 0; i < app->threads->len; i++) stream_thread_request_stop(app->threads->pdata[i]);
    for (guint i = 0; i < app->threads->len; i++) stream_thread_join(app->threads->pdata[i]);
    return err;
  }
  streams_log(alog(app), BROOK_LOG_INFO, "app", "started %d stream thread(s) on %s", n, app->bootstrap);
  recompute(app);
  return BROOK_ERR_NONE;
}

int brook_app_run(brook_app_t *app) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  /* before start, so that every thread started from here inherits it */
  pthread_sigmask(SIG_BLOCK, &set, &old);
  char errstr[512];
  if (brook_app_start(app, errstr, sizeof errstr)) { /* logged at ERR by start */
    brook_app_close(app);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 1;
  }
  g_mutex_lock(&app->lock);
  app->run_thread = pthread_self();
  app->run_waiting = true;
  g_mutex_unlock(&app->lock);
  for (;;) {
    brook_app_state_t s = brook_app_state(app);
    if (s == BROOK_APP_ERROR || s == BROOK_APP_NOT_RUNNING || s == BROOK_APP_PENDING_SHUTDOWN) break;
    /* woken by SIGINT/SIGTERM, or by set_state's SIGTERM on ERROR; the
     * timeout only bounds a missed wake-up */
    struct timespec ts = {1, 0};
    int sig = sigtimedwait(&set, NULL, &ts);
    if (sig > 0 && brook_app_state(app) != BROOK_APP_ERROR) {
      streams_log(alog(app), BROOK_LOG_NOTICE, "app", "%s received; shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
  }
  g_mutex_lock(&app->lock);
  app->run_waiting = false;
  g_mutex_unlock(&app->lock);
  brook_app_close(app);
  /* drop signals that arrived meanwhile (ours included) before unblocking */
  struct timespec zero = {0, 0};
  while (sigtimedwait(&set, NULL, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  /* a failure was logged at ERR when it happened */
  return brook_app_state(app) == BROOK_APP_ERROR ? 1 : 0;
}

/* ------------------------------------------------------------ waiting */

brook_err_t app_wait_running(brook_app_t *app, int timeout_ms, char *errstr, size_t errstr_size) {
  int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
  brook_err_t err = BROOK_ERR_NONE;
  g_mutex_lock(&app->lock);
  for (;;) {
    if (app->state == BROOK_APP_RUNNING) break;
    if (app->state != BROOK_APP_REBALANCING && app->state != BROOK_APP_CREATED) {
      g_snprintf(errstr, errstr_size, "the application is %s%s%s", brook_app_state_name(app->state),
                 app->error ? ": " : "", app->error ? app->error : "");
      err = BROOK_ERR__STATE;
      break;
    }
    if (!g_cond_wait_until(&app->cond, &app->lock, deadline)) {
      g_snprintf(errstr, errstr_size, "the application did not reach RUNNING within %d ms (state %s)", timeout_ms,
                 brook_app_state_name(app->state));
      err = BROOK_ERR__TIMED_OUT;
      break;
    }
  }
  g_mutex_unlock(&app->lock);
  return err;
}

brook_err_t app_wait_wall_clock(brook_app_t *app, int64_t t, int timeout_ms, char *errstr, size_t errstr_size) {
  int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
  brook_err_t err = BROOK_ERR_NONE;
  g_mutex_lock(&app->lock);
  for (;;) {
    if (app->state != BROOK_APP_RUNNING && app->state != BROOK_APP_REBALANCING) {
      g_snprintf(errstr, errstr_size, "the application is %s%s%s", brook_app_state_name(app->state),
                 app->error ? ": " : "", app->error ? app->error : "");
      err = BROOK_ERR__STATE;
      break;
    }
    bool all = app->threads->len > 0;
    for (guint i = 0; all && i < app->threads->len; i++)
      if (stream_thread_punctuated_through(app->threads->pdata[i]) < t) all = false;
    if (all) break;
    if (!g_cond_wait_until(&app->cond, &app->lock, deadline)) {
      g_snprintf(errstr, errstr_size, "stream threads did not punctuate through wall-clock time %" PRId64 " within %d ms",
                 t, timeout_ms);
      err = BROOK_ERR__TIMED_OUT;
      break;
    }
  }
  g_mutex_unlock(&app->lock);
  return err;
}

typedef struct idle_part {
  char *topic;
  int32_t partition;
  int64_t committed;
  int64_t position;
  int64_t lo, hi; /* watermarks when this round began */
} idle_part_t;

static void collect_part(const char *topic, int32_t partition, int64_t committed, int64_t position, void *opaque) {
  GArray *parts = opaque;
  idle_part_t p = {g_strdup(topic), partition, committed, position, -1, -1};
  g_array_append_val(parts, p);
}

static void idle_parts_free(GArray *parts) {
  for (guint i = 0; i < parts->len; i++) g_free(g_array_index(parts, idle_part_t, i).topic);
  g_array_free(parts, TRUE);
}

/* The round's targets, looked up by "topic|partition" while positions move. */
typedef struct idle_check {
  GHashTable *targets; /* "topic|p" -> idle_part_t * (in the round's array) */
  bool reached;
  char *lagging;
  size_t lagging_size;
} idle_check_t;

static char *idle_key(const char *topic, int32_t partition) {
  return g_strdup_printf("%s|%" PRId32, topic, partition);
}

static void check_position(const char *topic, int32_t partition, int64_t committed, int64_t position, void *opaque) {
  (void)committed;
  idle_check_t *c = opaque;
  if (!c->reached) return;
  char *key = idle_key(topic, partition);
  idle_part_t *p = g_hash_table_lookup(c->targets, key);
  g_free(key);
  if (p && MAX(position, p->lo) < p->hi) {
    c->reached = false;
    g_snprintf(c->lagging, c->lagging_size, "%s [%" PRId32 "] processed up to %" PRId64 " of %" PRId64, topic,
               partition, position, p->hi);
  }
}

static bool epochs_changed(brook_app_t *app, const uint64_t *epochs, guint n) {
  for (guint i = 0; i < n; i++)
    if (stream_thread_assign_epoch(app->threads->pdata[i]) != epochs[i]) return true;
  return false;
}

static brook_err_t state_error(brook_app_t *app, char *errstr, size_t errstr_size) {
  g_mutex_lock(&app->lock);
  g_snprintf(errstr, errstr_size, "the application is %s%s%s", brook_app_state_name(app->state),
             app->error ? ": " : "", app->error ? app->error : "");
  g_mutex_unlock(&app->lock);
  return BROOK_ERR__STATE;
}

/* One round per pass of the loop:
 *  (1) RUNNING (waiting through REBALANCING);
 *  (2) the high watermark of every assigned input partition;
 *  (3) wait, on the threads' progress events, until every processed position
 *      reaches its high watermark (no commits meanwhile: a commit every few
 *      ms would slow a busy application down);
 *  (4) one commit from every thread (flushes caches and the producer);
 *  (5) idle iff every committed offset is at the (fresh) high watermark and
 *      no rebalance happened. Records the commit's flush wrote to a
 *      repartition topic move its high watermark: the next round follows them.
 * A rebalance or a state change during a round starts the next one. */
brook_err_t brook_app_wait_idle(brook_app_t *app, int timeout_ms, char *errstr, size_t errstr_size) {
  int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
  char lagging[512] = "";
  for (;;) {
    /* (1) */
    g_mutex_lock(&app->lock);
    while (app->state == BROOK_APP_REBALANCING && g_cond_wait_until(&app->cond, &app->lock, deadline)) {
    }
    brook_app_state_t s = app->state;
    if (s != BROOK_APP_RUNNING) {
      g_mutex_unlock(&app->lock);
      if (s == BROOK_APP_REBALANCING) {
        g_snprintf(errstr, errstr_size, "not idle within %d ms: still rebalancing", timeout_ms);
        return BROOK_ERR__TIMED_OUT;
      }
      return state_error(app, errstr, errstr_size);
    }
    guint n = app->threads->len;
    uint64_t *epochs = g_new(uint64_t, n);
    for (guint i = 0; i < n; i++) epochs[i] = stream_thread_assign_epoch(app->threads->pdata[i]);
    g_mutex_unlock(&app->lock);

    /* (2) */
    GArray *parts = g_array_new(FALSE, FALSE, sizeof(idle_part_t));
    for (guint i = 0; i < n; i++) stream_thread_assignment(app->threads->pdata[i], collect_part, parts);
    bool ok = true;
    for (guint i = 0; ok && i < parts->len; i++) {
      idle_part_t *p = &g_array_index(parts, idle_part_t, i);
      rd_kafka_resp_err_t e =
          rd_kafka_query_watermark_offsets(app->admin, p->topic, p->partition, &p->lo, &p->hi, WATERMARK_TIMEOUT_MS);
      if (e) {
        g_snprintf(lagging, sizeof lagging, "%s [%" PRId32 "]: %s", p->topic, p->partition, rd_kafka_err2str(e));
        ok = false;
      }
    }

    /* (3) */
    GHashTable *targets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < parts->len; i++) {
      idle_part_t *p = &g_array_index(parts, idle_part_t, i);
      g_hash_table_insert(targets, idle_key(p->topic, p->partition), p);
    }
    bool timed_out = false, restart = !ok;
    g_mutex_lock(&app->lock);
    app->idle_waiters++;
    while (ok) {
      if (app->state != BROOK_APP_RUNNING || epochs_changed(app, epochs, n)) {
        restart = true;
        break;
      }
      idle_check_t c = {targets, true, lagging, sizeof lagging};
      for (guint i = 0; i < n && c.reached; i++) stream_thread_assignment(app->threads->pdata[i], check_position, &c);
      if (c.reached) break;
      if (!g_cond_wait_until(&app->cond, &app->lock, deadline)) {
        timed_out = true;
        break;
      }
    }
    app->idle_waiters--;
    if (!ok) { /* a watermark query failed: retry shortly */
      g_cond_wait_until(&app->cond, &app->lock, MIN(deadline, g_get_monotonic_time() + 100000));
      timed_out = g_get_monotonic_time() >= deadline;
    }
    g_mutex_unlock(&app->lock);
    g_hash_table_destroy(targets);
    if (timed_out) {
      idle_parts_free(parts);
      g_free(epochs);
      g_snprintf(errstr, errstr_size, "not idle within %d ms (%s)", timeout_ms, lagging[0] ? lagging : "rebalancing");
      return BROOK_ERR__TIMED_OUT;
    }
    if (restart) {
      idle_parts_free(parts);
      g_free(epochs);
      continue;
    }

    /* (4) */
    uint64_t *gens = g_new(uint64_t, n);
    g_mutex_lock(&app->lock);
    for (guint i = 0; i < n; i++) gens[i] = stream_thread_request_commit(app->threads->pdata[i]);
    for (;;) {
      if (app->state != BROOK_APP_RUNNING && app->state != BROOK_APP_REBALANCING) break;
      bool done = true;
      for (guint i = 0; done && i < n; i++)
        if (stream_thread_commit_gen(app->threads->pdata[i]) < gens[i]) done = false;
      if (done) break;
      if (!g_cond_wait_until(&app->cond, &app->lock, deadline)) {
        timed_out = true;
        break;
      }
    }
    s = app->state;
    g_mutex_unlock(&app->lock);
    g_free(gens);
    if (s != BROOK_APP_RUNNING && s != BROOK_APP_REBALANCING) {
      idle_parts_free(parts);
      g_free(epochs);
      return state_error(app, errstr, errstr_size);
    }
    if (timed_out) {
      idle_parts_free(parts);
      g_free(epochs);
      g_snprintf(errstr, errstr_size, "not idle within %d ms: a stream thread did not commit", timeout_ms);
      return BROOK_ERR__TIMED_OUT;
    }

    /* (5) */
    idle_parts_free(parts);
    parts = g_array_new(FALSE, FALSE, sizeof(idle_part_t));
    bool idle = s == BROOK_APP_RUNNING;
    bool only_uncommitted = true; /* every lagging partition was processed, just not committed */
    for (guint i = 0; i < n; i++) stream_thread_assignment(app->threads->pdata[i], collect_part, parts);
    for (guint i = 0; i < parts->len; i++) {
      idle_part_t *p = &g_array_index(parts, idle_part_t, i);
      rd_kafka_resp_err_t e =
          rd_kafka_query_watermark_offsets(app->admin, p->topic, p->partition, &p->lo, &p->hi, WATERMARK_TIMEOUT_MS);
      if (e) {
        g_snprintf(lagging, sizeof lagging, "%s [%" PRId32 "]: %s", p->topic, p->partition, rd_kafka_err2str(e));
        idle = false;
        only_uncommitted = false;
        break;
      }
      if (p->hi > MAX(p->committed, p->lo)) {
        g_snprintf(lagging, sizeof lagging, "%s [%" PRId32 "] committed %" PRId64 " of %" PRId64, p->topic,
                   p->partition, p->committed, p->hi);
        idle = false;
        if (p->hi > MAX(p->position, p->lo)) only_uncommitted = false;
      }
    }
    idle_parts_free(parts);
    g_mutex_lock(&app->lock);
    if (epochs_changed(app, epochs, n) || app->state != BROOK_APP_RUNNING) idle = false;
    g_free(epochs);
    if (idle) {
      g_mutex_unlock(&app->lock);
      return BROOK_ERR_NONE;
    }
    /* Everything was processed but a commit did not cover it (a failed offset
     * commit, logged by the thread): nothing to wait for but time, so pace the
     * retries. Otherwise records are on their way and step (3) waits for them. */
    if (only_uncommitted) g_cond_wait_until(&app->cond, &app->lock, MIN(deadline, g_get_monotonic_time() + 10000));
    g_mutex_unlock(&app->lock);
    if (g_get_monotonic_time() >= deadline) {
      g_snprintf(errstr, errstr_size, "not idle within %d ms (%s)", timeout_ms, lagging[0] ? lagging : "rebalancing");
      return BROOK_ERR__TIMED_OUT;
    }
  }
}

/* ------------------------------------------------------------ metrics */

/* The thread array only changes in start (before anyone can ask) and destroy. */
void brook_app_metrics(brook_app_t *app, brook_metric_fn fn, void *opaque) {
  for (guint i = 0; i < app->threads->len; i++) stream_thread_metrics(app->threads->pdata[i], fn, opaque);
}
