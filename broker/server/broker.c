/*
 * broker.c — brook_broker_start/stop and the public configuration object.
 *
 * Start-up order: resolve config (unknown/invalid -> error naming it) ->
 * open storage (meta.properties, topic registry, recovery) -> bind listeners
 * -> start the loop thread. Stop reverses it: the loop exits at the next
 * wake-up, then logs are flushed and checkpointed and the clean-shutdown
 * marker is written (broker_storage_close).
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "blog.h"
#include "broker_int.h"

struct brook_broker_conf {
  GHashTable *set;
};

int64_t broker_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

brook_broker_conf_t *brook_broker_conf_new(void) {
  brook_broker_conf_t *conf = g_new0(brook_broker_conf_t, 1);
  conf->set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return conf;
}

void brook_broker_conf_destroy(brook_broker_conf_t *conf) {
  if (!conf) return;
  g_hash_table_destroy(conf->set);
  g_free(conf);
}

brook_err_t brook_broker_conf_set(brook_broker_conf_t *conf, const char *name, const char *value, char *errstr,
                                  size_t errstr_size) {
  const conf_prop_t *prop = conf_find(brook_broker_props, name);
  if (!prop) {
    snprintf(errstr, errstr_size, "Unknown configuration '%s' (see docs/configuration.md for what brookd accepts)",
             name);
    return BROOK_ERR_INVALID_CONFIG;
  }
  brook_err_t err = conf_check(prop, value, errstr, errstr_size);
  if (err) return err;
  g_hash_table_replace(conf->set, g_strdup(name), g_strdup(value));
  return BROOK_ERR_NONE;
}

brook_err_t brook_broker_conf_load(brook_broker_conf_t *conf, const char *path, char *errstr, size_t errstr_size) {
  GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  brook_err_t err = conf_load_properties(path, set, errstr, errstr_size);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, set);
  while (!err && g_hash_table_iter_next(&it, &k, &v)) {
    err = brook_broker_conf_set(conf, k, v, errstr, errstr_size);
    if (err) {
      char inner[512];
      g_strlcpy(inner, errstr, sizeof inner);
      snprintf(errstr, errstr_size, "%s: %s", path, inner);
    }
  }
  g_hash_table_destroy(set);
  return err;
}

static gpointer broker_thread(gpointer arg) {
  brook_broker_t *b = arg;
  /* Writes to a closed socket must fail with EPIPE, not kill the host
   * process: block SIGPIPE on this thread (a thread-directed signal that is
   * blocked stays pending and harmless). Termination signals belong to the
   * application's threads. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  net_run(b->net);
  return NULL;
}

static void broker_free(brook_broker_t *b) {
  net_destroy(b->net); /* first: closing connections drops parked requests, which groups reference */
  group_coord_close(b);
  broker_timers_destroy(b);
  brook_arena_destroy(b->spare_arena);
  broker_storage_close(b);
  if (b->topics) g_hash_table_destroy(b->topics);
  if (b->topic_ids) g_hash_table_destroy(b->topic_ids);
  conf_bconf_free(&b->bconf);
  g_hash_table_destroy(b->set);
  g_free(b->log_dir);
  g_free(b);
}

brook_broker_t *brook_broker_start(const brook_broker_conf_t *conf, char *errstr, size_t errstr_size) {
  brook_broker_t *b = g_new0(brook_broker_t, 1);
  b->set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  if (conf) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, conf->set);
    while (g_hash_table_iter_next(&it, &k, &v)) g_hash_table_replace(b->set, g_strdup(k), g_strdup(v));
  }
  g_queue_init(&b->parked);
  b->lock_fd = -1;
  if (conf_resolve_broker(b->set, &b->bconf, errstr, errstr_size)) goto fail;
  b->node_id = (int32_t)b->bconf.node_id;
  b->log_dir = g_strdup(b->bconf.log_dirs);

  b->net = net_new(b, errstr, errstr_size);
  if (!b->net) goto fail;
  if (broker_storage_open(b, errstr, errstr_size)) goto fail;
  if (group_coord_open(b, errstr, errstr_size)) goto fail;

  if (b->bconf.advertised_listeners) {
    /* PLAINTEXT://host:port of the first advertised listener */
    const char *hp = strstr(b->bconf.advertised_listeners, "://");
    const char *colon = hp ? strrchr(hp + 3, ':') : NULL;
    if (!hp || !colon) {
      snprintf(errstr, errstr_size, "Invalid value %s for configuration advertised.listeners",
               b->bconf.advertised_listeners);
      goto fail;
    }
    size_t hl = MIN((size_t)(colon - hp - 3), sizeof b->host - 1);
    memcpy(b->host, hp + 3, hl);
    b->host[hl] = 0;
    b->port = atoi(colon + 1);
  }
  snprintf(b->bootstrap, sizeof b->bootstrap, "%s:%d", b->host, net_bound_port(b->net));
  /* As Kafka's LogManager: the first retention check 30 s after start (or
   * sooner when the check interval is shorter), so a fresh broker does not
   * delete old-timestamped records the moment they arrive. */
  b->next_housekeep_ms = broker_now_ms() + MIN(30000, b->bconf.log_retention_check_interval_ms);
  brook_log(BROOK_LOG_INFO, "broker", "node %d of cluster %s started, log dir %s, %u topic(s)", b->node_id,
            b->cluster_id, b->log_dir, g_hash_table_size(b->topics));
  b->thread = g_thread_new("brook-broker", broker_thread, b);
  return b;
fail:
  brook_log(BROOK_LOG_ERR, "broker", "start-up failed: %s", errstr);
  broker_free(b);
  return NULL;
}

const char *brook_broker_bootstrap(const brook_broker_t *broker) { return broker->bootstrap; }
int brook_broker_port(const brook_broker_t *broker) { return net_bound_port(broker->net); }

void brook_broker_stop(brook_broker_t *b) {
  if (!b) return;
  brook_log(BROOK_LOG_INFO, "broker", "shutting down");
  net_stop(b->net);
  g_thread_join(b->thread);
  b->thread = NULL;
  /* answer nobody: connections are closed by net_destroy, which drops parked requests */
  broker_free(b);
  brook_log(BROOK_LOG_INFO, "broker", "shut down cleanly");
}

void brook_broker_print_config_reference(void) { conf_write_reference(stdout); }
