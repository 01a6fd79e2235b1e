/*
 * test_driver.c — brook_test_driver.h: the real application on an embedded
 * broker, plus the synchronisation a test needs.
 *
 * Design note
 *  - The driver is a thin layer over public pieces: brook_app_* (app.c), the
 *    typed clients (client.c), and three app hooks from streams_int.h
 *    (app_set_wall_clock, app_wait_wall_clock, app_wait_running).
 *  - Lifecycle:  new: conf checked, temp state.dir, brook_app_new (embedded
 *    broker starts), topics created, manual clock installed, start, wait for
 *    RUNNING  ──▶  pipe / read / advance_wall_clock  ──▶  destroy: readers and
 *    producer closed, app closed and destroyed (broker stops), temp dir removed.
 *  - Topics the driver creates (sources, fixed sink topics, topics read or
 *    created by hand) get retention.ms=-1: tests pipe timestamps like 1000,
 *    and the broker, as Kafka, deletes records older than retention.ms by
 *    their timestamp — a test's input must not vanish before the app reads it.
 *  - Reading: one reader per topic for the driver's lifetime (so a record is
 *    read once), reading raw bytes; each read types the records with the serdes
 *    of that call, so two reads of a topic may use different serdes. A record
 *    that does not deserialize fails the read (-1); the records after it in
 *    that read are consumed and skipped (a test is failing anyway).
 *  - The wall clock is the driver's own: 0 at start, moved only by
 *    advance_wall_clock; stream threads read it (atomic).
 * Threads: a driver is used from one thread; only the clock is shared.
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "brook_test_driver.h"
#include "streams_int.h"
#include "topology_int.h"

/* conf.c */

#define DEFAULT_APPLICATION_ID "brook-test-driver"
#define IDLE_TIMEOUT_MS 60000
#define RUNNING_TIMEOUT_MS 60000
#define CLIENT_TIMEOUT_MS 30000

static const char *const topic_configs[] = {"retention.ms", "-1", NULL};

struct brook_test_driver {
  brook_app_t *app;
  char *tmp_dir; /* the state.dir the driver made, NULL when the user chose one */
  int32_t partitions;
  atomic_int_least64_t wall_clock; /* ms; read by the stream threads */
  brook_producer_t *producer;      /* created on first pipe */
  GHashTable *readers;             /* topic -> brook_reader_t * (bytes serdes) */
  brook_serde_t *bytes;
};

static int64_t driver_clock(void *opaque) {
  brook_test_driver_t *driver = opaque;
  return atomic_load(&driver->wall_clock);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0; /* keep going: remove as much as possible */
}

static void remove_tree(const char *dir) { nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS); }

brook_test_driver_t *brook_test_driver_new(brook_topology_t *topology, const brook_app_conf_t *conf,
                                           int32_t partitions, char *errstr, size_t errstr_size) {
  if (partitions < 1) {
    snprintf(errstr, errstr_size, "test driver: partitions must be at least 1, not %" PRId32, partitions);
    return NULL;
  }
  brook_app_conf_t *c = conf ? brook_app_conf_dup(conf) : brook_app_conf_new();
  brook_test_driver_t *driver = g_new0(brook_test_driver_t, 1);
  driver->partitions = partitions;
  driver->readers =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)brook_reader_destroy);
  driver->bytes = brook_serde_bytes_new();
  atomic_store(&driver->wall_clock, 0);
  char why[1024];

  if (brook_app_conf_get(c, "bootstrap.servers")) {
    snprintf(
        errstr, errstr_size,
        "test driver: bootstrap.servers must not be set (the driver runs the application on its own embedded "
        "broker)");
    goto fail;
  }
  if (!brook_app_conf_get(c, "application.id") &&
      brook_app_conf_set(c, "application.id", DEFAULT_APPLICATION_ID, errstr, errstr_size))
    goto fail;
  if (!streams_conf_is_set(c, "state.dir")) {
    GError *gerr = NULL;
    driver->tmp_dir = g_dir_make_tmp("brook-test-driver-XXXXXX", &gerr);
    if (!driver->tmp_dir) {
      snprintf(errstr, errstr_size, "test driver: cannot make a temporary state.dir: %s", gerr->message);
      g_error_free(gerr);
      goto fail;
    }
    if (brook_app_conf_set(c, "state.dir", driver->tmp_dir, errstr, errstr_size)) goto fail;
  }

  driver->app = brook_app_new(topology, c, errstr, errstr_size);
  if (!driver->app) goto fail;

  /* Source topics (not internal, not patterns), and the fixed topics sinks
   * write to: otherwise the app's producer would auto-create those with the
   * broker's num.partitions and retention. */
  for (guint i = 0; i < topology->nodes->len; i++) {
    topo_node_t *node = g_ptr_array_index(topology->nodes, i);
    if (node->internal) continue;
    if (node->kind == TOPO_SOURCE && node->topics) {
      for (char **t = node->topics; *t; t++)
        if (brook_test_driver_create_topic(driver, *t, partitions, errstr, errstr_size)) goto fail;
    } else if (node->kind == TOPO_SINK && node->topic) {
      if (brook_test_driver_create_topic(driver, node->topic, partitions, errstr, errstr_size)) goto fail;
    }
  }

  app_set_wall_clock(driver->app, driver_clock, driver);
  if (brook_app_start(driver->app, why, sizeof why)) {
    snprintf(errstr, errstr_size, "test driver: start: %s", why);
    goto fail;
  }
  if (app_wait_running(driver->app, RUNNING_TIMEOUT_MS, why, sizeof why)) {
    const char *app_err = brook_app_error(driver->app);
    if (app_err && strstr(why, app_err)) app_err = NULL; /* already named */
    snprintf(errstr, errstr_size, "test driver: the application did not reach RUNNING: %s%s%s", why,
             app_err ? ": " : "", app_err ? app_err : "");
    goto fail;
  }
  brook_app_conf_destroy(c);
  return driver;

fail:
  brook_app_conf_destroy(c);
  brook_test_driver_destroy(driver);
  return NULL;
}

brook_err_t brook_test_driver_create_topic(brook_test_driver_t *driver, const char *topic, int32_t partitions,
                                           char *errstr, size_t errstr_size) {
  return brook_admin_create_topic(brook_app_bootstrap_servers(driver->app), topic, partitions, topic_configs,
                                  true, errstr, errstr_size);
}

brook_err_t brook_test_driver_pipe(brook_test_driver_t *driver, const char *topic, brook_serde_t *key_serde,
                                   const void *key, brook_serde_t *value_serde, const void *value,
                                   int64_t timestamp, char *errstr, size_t errstr_size) {
  if (!driver->producer) {
    driver->producer = brook_producer_new(brook_app_bootstrap_servers(driver->app), errstr, errstr_size);
    if (!driver->producer) return BROOK_ERR__FAIL;
  }
  brook_err_t err = brook_producer_send(driver->producer, topic, -1, key_serde, key, value_serde, value,
                                        timestamp, errstr, errstr_size);
  if (err) return err;
  return brook_producer_flush(driver->producer, CLIENT_TIMEOUT_MS, errstr, errstr_size);
}

typedef struct typed_read {
  brook_serde_t *key_serde, *value_serde;
  void (*fn)(const brook_read_record_t *r, void *opaque);
  void *opaque;
  brook_err_t err; /* the first deserialization error; later records are skipped */
  char errstr[1024];
} typed_read_t;

/* Types a raw record with this read's serdes and hands it on. Runs inside the
 * reader's scratch scope, so the record's headers stay usable. */
static void typed_cb(const brook_read_record_t *r, void *opaque) {
  typed_read_t *tr = opaque;
  if (tr->err) return;
  const brook_serde_bytes_t *kb = r->rec->key, *vb = r->rec->value;
  void *key = NULL, *value = NULL;
  char why[512];
  tr->err = brook_serde_deserialize(tr->key_serde, r->topic, kb ? (const void *)kb->data : NULL,
                                    kb ? kb->len : 0, &key, why, sizeof why);
  if (tr->err) {
    snprintf(tr->errstr, sizeof tr->errstr, "topic %s partition %" PRId32 " offset %" PRId64 ": key: %s",
             r->topic, r->partition, r->offset, why);
    return;
  }
  tr->err = brook_serde_deserialize(tr->value_serde, r->topic, vb ? (const void *)vb->data : NULL,
                                    vb ? vb->len : 0, &value, why, sizeof why);
  if (tr->err) {
    brook_serde_free_value(tr->key_serde, key);
    snprintf(tr->errstr, sizeof tr->errstr, "topic %s partition %" PRId32 " offset %" PRId64 ": value: %s",
             r->topic, r->partition, r->offset, why);
    return;
  }
  brook_record_t rec = *r->rec;
  rec.key = key;
  rec.value = value;
  brook_read_record_t typed = *r;
  typed.rec = &rec;
  tr->fn(&typed, tr->opaque);
  brook_serde_free_value(tr->key_serde, key);
  brook_serde_free_value(tr->value_serde, value);
}

int64_t brook_test_driver_read(brook_test_driver_t *driver, const char *topic, brook_serde_t *key_serde,
                               brook_serde_t *value_serde,
                               void (*fn)(const brook_read_record_t *r, void *opaque), void *opaque,
                               char *errstr, size_t errstr_size) {
  char why[1024];
  if (brook_app_wait_idle(driver->app, IDLE_TIMEOUT_MS, why, sizeof why)) {
    /* wait_idle's message names the application's error when it failed;
     * add it only when it does not (a timeout while the app failed) */
    const char *app_err = brook_app_error(driver->app);
    if (app_err && strstr(why, app_err)) app_err = NULL;
    snprintf(errstr, errstr_size, "test driver: waiting for the application to be idle: %s%s%s", why,
             app_err ? ": " : "", app_err ? app_err : "");
    return -1;
  }
  brook_reader_t *reader = g_hash_table_lookup(driver->readers, topic);
  if (!reader) {
    const char *bootstrap = brook_app_bootstrap_servers(driver->app);
    if (brook_admin_partition_count(bootstrap, topic, why, sizeof why) < 0 &&
        brook_test_driver_create_topic(driver, topic, driver->partitions, errstr, errstr_size))
      return -1;
    reader = brook_reader_new(bootstrap, topic, driver->bytes, driver->bytes, errstr, errstr_size);
    if (!reader) return -1;
    g_hash_table_insert(driver->readers, g_strdup(topic), reader);
  }
  typed_read_t tr = {
      .key_serde = key_serde ? key_serde : driver->bytes,
      .value_serde = value_serde ? value_serde : driver->bytes,
      .fn = fn,
      .opaque = opaque,
  };
  int64_t n = brook_reader_read(reader, typed_cb, &tr, CLIENT_TIMEOUT_MS, errstr, errstr_size);
  if (n >= 0 && tr.err) {
    snprintf(errstr, errstr_size, "%s", tr.errstr);
    return -1;
  }
  return n;
}

brook_err_t brook_test_driver_advance_wall_clock(brook_test_driver_t *driver, int64_t ms, char *errstr,
                                                 size_t errstr_size) {
  int64_t now = atomic_fetch_add(&driver->wall_clock, ms) + ms;
  return app_wait_wall_clock(driver->app, now, IDLE_TIMEOUT_MS, errstr, errstr_size);
}

brook_app_t *brook_test_driver_app(brook_test_driver_t *driver) { return driver->app; }

void brook_test_driver_destroy(brook_test_driver_t *driver) {
  if (!driver) return;
  g_hash_table_destroy(driver->readers);
  brook_producer_destroy(driver->producer);
  if (driver->app) {
    brook_app_close(driver->app);
    brook_app_destroy(driver->app);
  }
  if (driver->tmp_dir) remove_tree(driver->tmp_dir);
  g_free(driver->tmp_dir);
  brook_serde_unref(driver->bytes);
  g_free(driver);
}
