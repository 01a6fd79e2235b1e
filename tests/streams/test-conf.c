/*
 * test-conf.c — the stream application's configuration (streams/conf.c):
 * Kafka Streams' defaults, errors that name the property and the value,
 * unknown and librdkafka properties, pass-through to the clients,
 * exactly_once_v2 refused, serdes and exception handlers by Kafka class name,
 * .properties files, logging, and docs/streams-configuration.md being exactly
 * what the table generates.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "brook_streams.h"
#include "streams_int.h"

/* conf.c: the generator behind brook_app_print_config_reference. */

static brook_app_conf_t *conf_with_id(void) {
  brook_app_conf_t *conf = brook_app_conf_new();
  char errstr[512];
  g_assert_cmpint(brook_app_conf_set(conf, "application.id", "my-app_1.x", errstr, sizeof errstr), ==, 0);
  return conf;
}

static void set_ok(brook_app_conf_t *conf, const char *name, const char *value) {
  char errstr[512] = "";
  brook_err_t err = brook_app_conf_set(conf, name, value, errstr, sizeof errstr);
  if (err) g_error("set %s=%s: %s", name, value, errstr);
}

static void test_reference_matches_docs(void) {
  char *generated = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&generated, &len);
  streams_conf_write_reference(f);
  fclose(f);
  char *path = g_build_filename(SOURCE_ROOT, "docs", "streams-configuration.md", NULL);
  gchar *committed = NULL;
  if (!g_file_get_contents(path, &committed, NULL, NULL)) g_error("cannot read %s", path);
  if (strcmp(generated, committed))
    g_error(
        "%s differs from the table in streams/conf.c: regenerate it with "
        "`build/streams/brook-streams-config > docs/streams-configuration.md`",
        path);
  /* Every row is in it. */
  g_assert_nonnull(strstr(generated, "| `application.id` |"));
  g_assert_nonnull(strstr(generated, "| `statestore.cache.max.bytes` | long | 10485760 |"));
  g_free(committed);
  g_free(path);
  free(generated);
}

static void test_defaults(void) {
  brook_app_conf_t *conf = conf_with_id();
  streams_conf_t sc;
  char errstr[512] = "";
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpstr(sc.application_id, ==, "my-app_1.x");
  g_assert_null(sc.bootstrap_servers);
  g_assert_null(sc.client_id);
  g_assert_cmpint(sc.num_stream_threads, ==, 1);
  g_assert_cmpint(sc.commit_interval_ms, ==, 30000);
  g_assert_cmpstr(sc.state_dir, ==, "/tmp/kafka-streams");
  g_assert_cmpint(sc.processing_guarantee, ==, STREAMS_AT_LEAST_ONCE);
  g_assert_cmpint(sc.replication_factor, ==, -1);
  g_assert_null(sc.default_key_serde);
  g_assert_null(sc.default_value_serde);
  g_assert_cmpint(sc.statestore_cache_max_bytes, ==, 10485760);
  g_assert_cmpint(sc.rocksdb_total_memory_bytes, ==, 64 << 20);
  g_assert_cmpint(sc.poll_ms, ==, 100);
  g_assert_cmpint(sc.max_poll_records, ==, 1000);
  g_assert_cmpint(sc.deserialization_handler, ==, STREAMS_DESER_LOG_AND_FAIL);
  g_assert_cmpint(sc.production_handler, ==, STREAMS_PRODUCTION_FAIL);
  g_assert_cmpint(sc.session_timeout_ms, ==, 45000);
  g_assert_nonnull(sc.consumer_props);
  g_assert_nonnull(sc.producer_props);
  g_assert_nonnull(sc.admin_props);
  g_assert_cmpuint(g_hash_table_size(sc.consumer_props), ==, 0);
  g_assert_null(sc.log.cb);
  streams_conf_clear(&sc);
  streams_conf_clear(&sc); /* cleared twice is harmless */

  /* get: what was set, else the default text; NULL for null and unknown. */
  g_assert_cmpstr(brook_app_conf_get(conf, "application.id"), ==, "my-app_1.x");
  g_assert_cmpstr(brook_app_conf_get(conf, "commit.interval.ms"), ==, "30000");
  g_assert_cmpstr(brook_app_conf_get(conf, "processing.guarantee"), ==, "at_least_once");
  g_assert_cmpstr(brook_app_conf_get(conf, "default.deserialization.exception.handler"), ==,
                  "org.apache.kafka.streams.errors.LogAndFailExceptionHandler");
  g_assert_null(brook_app_conf_get(conf, "bootstrap.servers"));
  g_assert_null(brook_app_conf_get(conf, "default.key.serde"));
  g_assert_null(brook_app_conf_get(conf, "no.such.property"));
  g_assert_null(brook_app_conf_get(conf, "consumer.fetch.wait.max.ms"));
  brook_app_conf_destroy(conf);
  brook_app_conf_destroy(NULL);
}

static void test_values(void) {
  brook_app_conf_t *conf = conf_with_id();
  set_ok(conf, "bootstrap.servers", "127.0.0.1:9092");
  set_ok(conf, "client.id", "cid");
  set_ok(conf, "num.stream.threads", "4");
  set_ok(conf, "commit.interval.ms", "250");
  set_ok(conf, "state.dir", "/var/lib/app");
  set_ok(conf, "replication.factor", "3");
  set_ok(conf, "statestore.cache.max.bytes", "0");
  set_ok(conf, "rocksdb.total.memory.bytes", "16777216");
  set_ok(conf, "poll.ms", "5");
  set_ok(conf, "max.poll.records", "10");
  set_ok(conf, "default.deserialization.exception.handler", "LogAndContinueExceptionHandler");
  set_ok(conf, "default.production.exception.handler", "LogAndContinueProductionExceptionHandler");
  set_ok(conf, "repartition.purge.interval.ms", "1000");
  g_assert_cmpstr(brook_app_conf_get(conf, "commit.interval.ms"), ==, "250");

  /* A deep copy resolves the same; the original can go first. */
  brook_app_conf_t *dup = brook_app_conf_dup(conf);
  brook_app_conf_destroy(conf);
  streams_conf_t sc;
  char errstr[512] = "";
  g_assert_cmpint(streams_conf_resolve(dup, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpstr(sc.bootstrap_servers, ==, "127.0.0.1:9092");
  g_assert_cmpstr(sc.client_id, ==, "cid");
  g_assert_cmpint(sc.num_stream_threads, ==, 4);
  g_assert_cmpint(sc.commit_interval_ms, ==, 250);
  g_assert_cmpstr(sc.state_dir, ==, "/var/lib/app");
  g_assert_cmpint(sc.replication_factor, ==, 3);
  g_assert_cmpint(sc.statestore_cache_max_bytes, ==, 0);
  g_assert_cmpint(sc.rocksdb_total_memory_bytes, ==, 16777216);
  g_assert_cmpint(sc.poll_ms, ==, 5);
  g_assert_cmpint(sc.max_poll_records, ==, 10);
  g_assert_cmpint(sc.deserialization_handler, ==, STREAMS_DESER_LOG_AND_CONTINUE);
  g_assert_cmpint(sc.production_handler, ==, STREAMS_PRODUCTION_CONTINUE);
  streams_conf_clear(&sc);

  /* NULL sets back to the default. */
  set_ok(dup, "commit.interval.ms", NULL);
  g_assert_cmpstr(brook_app_conf_get(dup, "commit.interval.ms"), ==, "30000");
  brook_app_conf_destroy(dup);
}

/* Every bad value is BROOK_ERR__BAD_CONFIG with a message naming the property
 * and the value, and leaves the previous value in place. */
static void test_errors_name_property(void) {
  static const char *const bad[][2] = {
      {"application.id", "has space"},
      {"application.id", "slash/in/it"},
      {"application.id", ".."},
      {"num.stream.threads", "0"},
      {"num.stream.threads", "two"},
      {"commit.interval.ms", "-5"},
      {"commit.interval.ms", "1.5"},
      {"replication.factor", "0"},
      {"replication.factor", "-2"},
      {"processing.guarantee", "exactly_twice"},
      {"default.key.serde", "org.apache.kafka.common.serialization.Serdes$FloatSerde"},
      {"default.value.serde", "nosuch"},
      {"statestore.cache.max.bytes", "-1"},
      {"cache.max.bytes.buffering", "lots"},
      {"poll.ms", "x"},
      {"max.poll.records", "0"},
      {"default.deserialization.exception.handler", "org.apache.kafka.streams.errors.Whatever"},
      {"default.production.exception.handler", "LogAndContinueExceptionHandler"},
      {"rocksdb.total.memory.bytes", "1000"},
      {"repartition.purge.interval.ms", "soon"},
      {"num.standby.replicas", "-1"},
      {"topology.optimization", "some"},
      {"consumer.session.timeout.ms", "abc"},
      {"producer.acks", "most"},
  };
  brook_app_conf_t *conf = conf_with_id();
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    char errstr[512] = "";
    const char *before = brook_app_conf_get(conf, bad[i][0]);
    char *before_copy = g_strdup(before);
    brook_err_t err = brook_app_conf_set(conf, bad[i][0], bad[i][1], errstr, sizeof errstr);
    g_test_message("%s=%s: %s", bad[i][0], bad[i][1], errstr);
    g_assert_cmpint(err, ==, BROOK_ERR__BAD_CONFIG);
    g_assert_nonnull(strstr(errstr, bad[i][0]));
    g_assert_nonnull(strstr(errstr, bad[i][1]));
    g_assert_cmpstr(brook_app_conf_get(conf, bad[i][0]), ==, before_copy);
    g_free(before_copy);
  }
  /* The messages say what is valid. */
  char errstr[512];
  brook_app_conf_set(conf, "num.stream.threads", "0", errstr, sizeof errstr);
  g_assert_nonnull(strstr(errstr, "[1, 1024]"));
  brook_app_conf_set(conf, "default.production.exception.handler", "x", errstr, sizeof errstr);
  g_assert_nonnull(strstr(errstr, "DefaultProductionExceptionHandler"));
  brook_app_conf_set(conf, "default.key.serde", "nosuch", errstr, sizeof errstr);
  g_assert_nonnull(strstr(errstr, "StringSerde"));
  brook_app_conf_destroy(conf);
}

static void test_application_id_required(void) {
  brook_app_conf_t *conf = brook_app_conf_new();
  streams_conf_t sc;
  char errstr[512] = "";
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(errstr, "application.id"));
  /* Nothing to clear after a failure, but clearing is safe. */
  streams_conf_clear(&sc);
  g_assert_null(brook_app_conf_get(conf, "application.id"));
  brook_app_conf_destroy(conf);
}

static void test_unknown_property(void) {
  brook_app_conf_t *conf = conf_with_id();
  char errstr[512] = "";
  g_assert_cmpint(brook_app_conf_set(conf, "no.such.thing", "1", errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  g_assert_cmpstr(errstr, ==, "unknown property no.such.thing");

  /* session.timeout.ms is a client property, not a streams one. */
  g_assert_cmpint(brook_app_conf_set(conf, "session.timeout.ms", "10000", errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(errstr, "unknown property session.timeout.ms"));
  g_assert_nonnull(strstr(errstr, "use consumer.session.timeout.ms or producer.session.timeout.ms"));
  g_assert_cmpint(brook_app_conf_set(conf, "linger.ms", "5", errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(errstr, "producer.linger.ms"));

  /* Unknown after a prefix: librdkafka does not know it either. */
  g_assert_cmpint(brook_app_conf_set(conf, "consumer.no.such.thing", "1", errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(errstr, "consumer.no.such.thing"));
  g_assert_cmpint(brook_app_conf_set(conf, "consumer.", "1", errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(errstr, "consumer."));

  /* What brook sets itself cannot be overridden. */
  g_assert_cmpint(brook_app_conf_set(conf, "consumer.group.id", "other", errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(errstr, "consumer.group.id"));
  g_assert_nonnull(strstr(errstr, "application.id"));
  g_assert_cmpint(brook_app_conf_set(conf, "producer.bootstrap.servers", "x:1", errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  g_assert_cmpint(brook_app_conf_set(conf, "consumer.enable.auto.commit", "true", errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  /* Unknown names cannot be reset either. */
  g_assert_cmpint(brook_app_conf_set(conf, "no.such.thing", NULL, errstr, sizeof errstr), ==,
                  BROOK_ERR__BAD_CONFIG);
  brook_app_conf_destroy(conf);
}

static void test_pass_through(void) {
  brook_app_conf_t *conf = conf_with_id();
  set_ok(conf, "consumer.session.timeout.ms", "10000");
  set_ok(conf, "consumer.fetch.wait.max.ms", "20");
  set_ok(conf, "restore.consumer.fetch.wait.max.ms", "30");    /* consumer. wins */
  set_ok(conf, "restore.consumer.fetch.min.bytes", "7");       /* applies: consumer. unset */
  set_ok(conf, "main.consumer.heartbeat.interval.ms", "1000"); /* main.consumer. wins over consumer. */
  set_ok(conf, "consumer.heartbeat.interval.ms", "2000");
  set_ok(conf, "producer.linger.ms", "1");
  set_ok(conf, "producer.compression.type", "zstd");
  set_ok(conf, "admin.request.timeout.ms", "5000");
  g_assert_cmpstr(brook_app_conf_get(conf, "producer.linger.ms"), ==, "1");

  streams_conf_t sc;
  char errstr[512] = "";
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(sc.session_timeout_ms, ==, 10000);
  g_assert_cmpuint(g_hash_table_size(sc.consumer_props), ==, 4);
  g_assert_cmpstr(g_hash_table_lookup(sc.consumer_props, "session.timeout.ms"), ==, "10000");
  g_assert_cmpstr(g_hash_table_lookup(sc.consumer_props, "fetch.wait.max.ms"), ==, "20");
  g_assert_cmpstr(g_hash_table_lookup(sc.consumer_props, "fetch.min.bytes"), ==, "7");
  g_assert_cmpstr(g_hash_table_lookup(sc.consumer_props, "heartbeat.interval.ms"), ==, "1000");
  g_assert_cmpuint(g_hash_table_size(sc.producer_props), ==, 2);
  g_assert_cmpstr(g_hash_table_lookup(sc.producer_props, "linger.ms"), ==, "1");
  g_assert_cmpstr(g_hash_table_lookup(sc.producer_props, "compression.type"), ==, "zstd");
  g_assert_cmpuint(g_hash_table_size(sc.admin_props), ==, 1);
  g_assert_cmpstr(g_hash_table_lookup(sc.admin_props, "request.timeout.ms"), ==, "5000");
  streams_conf_clear(&sc);
  brook_app_conf_destroy(conf);
}

static void test_exactly_once_rejected(void) {
  static const char *const names[] = {"exactly_once_v2", "exactly_once", "exactly_once_beta"};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    brook_app_conf_t *conf = conf_with_id();
    set_ok(conf, "processing.guarantee", names[i]); /* a valid Kafka value ... */
    streams_conf_t sc;
    char errstr[512] = "";
    /* ... that brook refuses when the application is configured */
    g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, BROOK_ERR__BAD_CONFIG);
    g_assert_nonnull(strstr(errstr, "processing.guarantee"));
    g_assert_nonnull(strstr(errstr, names[i]));
    g_assert_nonnull(strstr(errstr, "not supported yet: transactions are a later issue"));
    brook_app_conf_destroy(conf);
  }
  brook_app_conf_t *conf = conf_with_id();
  set_ok(conf, "processing.guarantee",
         "AT_LEAST_ONCE"); /* enum values are case-insensitive, as the broker's */
  streams_conf_t sc;
  char errstr[512] = "";
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(sc.processing_guarantee, ==, STREAMS_AT_LEAST_ONCE);
  streams_conf_clear(&sc);
  brook_app_conf_destroy(conf);
}

static void test_serde_names(void) {
  static const char *const names[][2] = {
      {"string", "string"},
      {"bytes", "bytes"},
      {"i32", "i32"},
      {"integer", "i32"},
      {"i64", "i64"},
      {"long", "i64"},
      {"double", "double"},
      {"void", "void"},
      {"json", "json"},
      {"org.apache.kafka.common.serialization.Serdes$StringSerde", "string"},
      {"org.apache.kafka.common.serialization.Serdes$ByteArraySerde", "bytes"},
      {"org.apache.kafka.common.serialization.Serdes$IntegerSerde", "i32"},
      {"org.apache.kafka.common.serialization.Serdes$LongSerde", "i64"},
      {"org.apache.kafka.common.serialization.Serdes$DoubleSerde", "double"},
      {"org.apache.kafka.common.serialization.Serdes$VoidSerde", "void"},
  };
  char errstr[512] = "";
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    brook_serde_t *serde = streams_serde_by_name(names[i][0], errstr, sizeof errstr);
    g_assert_nonnull(serde);
    g_assert_cmpstr(brook_serde_name(serde), ==, names[i][1]);
    brook_serde_unref(serde);
  }
  g_assert_null(streams_serde_by_name("float", errstr, sizeof errstr));
  g_assert_nonnull(strstr(errstr, "float"));
  g_assert_null(streams_serde_by_name("String", NULL, 0)); /* no errstr is fine */

  /* As defaults: the typed conf holds working serdes. */
  brook_app_conf_t *conf = conf_with_id();
  set_ok(conf, "default.key.serde", "org.apache.kafka.common.serialization.Serdes$StringSerde");
  set_ok(conf, "default.value.serde", "long");
  streams_conf_t sc;
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpstr(brook_serde_name(sc.default_key_serde), ==, "string");
  g_assert_cmpstr(brook_serde_name(sc.default_value_serde), ==, "i64");
  brook_serde_buf_t buf = BROOK_SERDE_BUF_INIT;
  int64_t v = 258;
  g_assert_cmpint(brook_serde_serialize(sc.default_value_serde, "t", &v, &buf, errstr, sizeof errstr), ==, 0);
  g_assert_cmpmem(buf.data, buf.len, "\0\0\0\0\0\0\1\2", 8);
  brook_serde_buf_clear(&buf);
  streams_conf_clear(&sc);
  brook_app_conf_destroy(conf);
}

static void test_handler_class_names(void) {
  brook_app_conf_t *conf = conf_with_id();
  streams_conf_t sc;
  char errstr[512] = "";
  set_ok(conf, "default.deserialization.exception.handler",
         "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler");
  set_ok(conf, "default.production.exception.handler",
         "org.apache.kafka.streams.errors.DefaultProductionExceptionHandler");
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(sc.deserialization_handler, ==, STREAMS_DESER_LOG_AND_CONTINUE);
  g_assert_cmpint(sc.production_handler, ==, STREAMS_PRODUCTION_FAIL);
  streams_conf_clear(&sc);
  set_ok(conf, "default.deserialization.exception.handler", "LogAndFailExceptionHandler");
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(sc.deserialization_handler, ==, STREAMS_DESER_LOG_AND_FAIL);
  streams_conf_clear(&sc);
  brook_app_conf_destroy(conf);
}

static void test_cache_alias(void) {
  brook_app_conf_t *conf = conf_with_id();
  streams_conf_t sc;
  char errstr[512] = "";
  set_ok(conf, "cache.max.bytes.buffering", "1234");
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(sc.statestore_cache_max_bytes, ==, 1234);
  streams_conf_clear(&sc);
  set_ok(conf, "statestore.cache.max.bytes", "99"); /* the current name wins */
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(sc.statestore_cache_max_bytes, ==, 99);
  streams_conf_clear(&sc);
  brook_app_conf_destroy(conf);
}

static char *write_file(const char *dir, const char *name, const char *text) {
  char *path = g_build_filename(dir, name, NULL);
  g_assert_true(g_file_set_contents(path, text, -1, NULL));
  return path;
}

static void test_properties_file(void) {
  char *dir = g_dir_make_tmp("brook-test-conf-XXXXXX", NULL);
  g_assert_nonnull(dir);
  char *good = write_file(dir, "app.properties",
                          "# a Kafka Streams application\n"
                          "application.id=wordcount\n"
                          "bootstrap.servers = localhost:9092\n"
                          "num.stream.threads: 2\n"
                          "default.key.serde=org.apache.kafka.common.serialization.Serdes$StringSerde\n"
                          "state.dir=/data/\\\n"
                          "   streams\n"
                          "consumer.session.timeout.ms=6000\n"
                          "num.standby.replicas=1\n");
  brook_app_conf_t *conf = brook_app_conf_new();
  char errstr[512] = "";
  g_assert_cmpint(brook_app_conf_load(conf, good, errstr, sizeof errstr), ==, 0);
  g_assert_cmpstr(brook_app_conf_get(conf, "state.dir"), ==, "/data/streams");
  streams_conf_t sc;
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpstr(sc.application_id, ==, "wordcount");
  g_assert_cmpstr(sc.bootstrap_servers, ==, "localhost:9092");
  g_assert_cmpint(sc.num_stream_threads, ==, 2);
  g_assert_cmpstr(brook_serde_name(sc.default_key_serde), ==, "string");
  g_assert_cmpint(sc.session_timeout_ms, ==, 6000);
  streams_conf_clear(&sc);

  /* A bad line: the error names the file and the property; nothing from the
   * file is applied. */
  char *bad = write_file(dir, "bad.properties",
                         "application.id=other\n"
                         "commit.interval.ms=soon\n");
  g_assert_cmpint(brook_app_conf_load(conf, bad, errstr, sizeof errstr), ==, BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(errstr, bad));
  g_assert_nonnull(strstr(errstr, "commit.interval.ms"));
  g_assert_nonnull(strstr(errstr, "soon"));
  g_assert_cmpstr(brook_app_conf_get(conf, "application.id"), ==, "wordcount");

  char *unknown = write_file(dir, "unknown.properties", "session.timeout.ms=1000\n");
  g_assert_cmpint(brook_app_conf_load(conf, unknown, errstr, sizeof errstr), ==, BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(errstr, "consumer.session.timeout.ms"));

  char *missing = g_build_filename(dir, "missing.properties", NULL);
  g_assert_cmpint(brook_app_conf_load(conf, missing, errstr, sizeof errstr), ==, BROOK_ERR__BAD_CONFIG);
  g_assert_nonnull(strstr(errstr, missing));

  brook_app_conf_destroy(conf);
  g_unlink(good);
  g_unlink(bad);
  g_unlink(unknown);
  g_rmdir(dir);
  g_free(good);
  g_free(bad);
  g_free(unknown);
  g_free(missing);
  g_free(dir);
}

typedef struct log_capture {
  int count;
  int level;
  char *ctx;
  char *msg;
} log_capture_t;

static void capture_cb(int level, const char *ctx, const char *msg, void *opaque) {
  log_capture_t *cap = opaque;
  cap->count++;
  cap->level = level;
  g_free(cap->ctx);
  g_free(cap->msg);
  cap->ctx = g_strdup(ctx);
  cap->msg = g_strdup(msg);
}

static void test_log_callback(void) {
  log_capture_t cap = {0};
  brook_app_conf_t *conf = conf_with_id();
  brook_app_conf_set_log_cb(conf, capture_cb, &cap);
  set_ok(conf, "num.standby.replicas", "1");
  streams_conf_t sc;
  char errstr[512] = "";
  g_assert_cmpint(streams_conf_resolve(conf, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_true(sc.log.cb == capture_cb);
  g_assert_true(sc.log.opaque == &cap);
  /* An ignored property set is reported (below WARNING: quiet by default). */
  g_assert_cmpint(cap.count, ==, 1);
  g_assert_cmpint(cap.level, ==, BROOK_LOG_NOTICE);
  g_assert_nonnull(strstr(cap.msg, "num.standby.replicas=1 has no effect"));
  /* Every level reaches the callback. */
  streams_log(&sc.log, BROOK_LOG_DEBUG, "thread-1", "polled %d records", 7);
  g_assert_cmpint(cap.count, ==, 2);
  g_assert_cmpint(cap.level, ==, BROOK_LOG_DEBUG);
  g_assert_cmpstr(cap.ctx, ==, "thread-1");
  g_assert_cmpstr(cap.msg, ==, "polled 7 records");
  streams_conf_clear(&sc);
  /* dup keeps the callback */
  brook_app_conf_t *dup = brook_app_conf_dup(conf);
  g_assert_cmpint(streams_conf_resolve(dup, &sc, errstr, sizeof errstr), ==, 0);
  g_assert_true(sc.log.cb == capture_cb);
  streams_conf_clear(&sc);
  brook_app_conf_destroy(dup);
  brook_app_conf_destroy(conf);
  g_free(cap.ctx);
  g_free(cap.msg);
}

/* The default: WARNING and worse to stderr, nothing below. */
static void test_log_default(void) {
  if (g_test_subprocess()) {
    streams_log_t none = {0};
    streams_log(&none, BROOK_LOG_INFO, "conf", "quiet %s", "info");
    streams_log(&none, BROOK_LOG_WARNING, "thread-1", "a %s", "warning");
    streams_log(NULL, BROOK_LOG_ERR, "app", "an error");
    streams_log(NULL, BROOK_LOG_DEBUG, "app", "quiet debug");
    return;
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed();
  g_test_trap_assert_stderr("brook WARNING [thread-1] a warning\nbrook ERROR [app] an error\n");
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/streams/conf/reference-matches-docs", test_reference_matches_docs);
  g_test_add_func("/streams/conf/defaults", test_defaults);
  g_test_add_func("/streams/conf/values", test_values);
  g_test_add_func("/streams/conf/errors-name-property", test_errors_name_property);
  g_test_add_func("/streams/conf/application-id-required", test_application_id_required);
  g_test_add_func("/streams/conf/unknown-property", test_unknown_property);
  g_test_add_func("/streams/conf/pass-through", test_pass_through);
  g_test_add_func("/streams/conf/exactly-once-rejected", test_exactly_once_rejected);
  g_test_add_func("/streams/conf/serde-names", test_serde_names);
  g_test_add_func("/streams/conf/handler-class-names", test_handler_class_names);
  g_test_add_func("/streams/conf/cache-alias", test_cache_alias);
  g_test_add_func("/streams/conf/properties-file", test_properties_file);
  g_test_add_func("/streams/conf/log-callback", test_log_callback);
  g_test_add_func("/streams/conf/log-default", test_log_default);
  return g_test_run();
}
