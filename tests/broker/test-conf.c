/*
 * test-conf.c — the configuration tables: docs/configuration.md is exactly
 * what the tables generate, Kafka's defaults and alias rules, clear errors
 * for unknown/invalid properties, and server.properties parsing.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include "brook_broker.h"
#include "conf.h"

static void test_reference_matches_docs(void) {
  const char *path = g_getenv("BROOK_CONFIG_DOC");
  g_assert_nonnull(path);
  char *generated = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&generated, &len);
  conf_write_reference(f);
  fclose(f);
  gchar *committed = NULL;
  g_assert_true(g_file_get_contents(path, &committed, NULL, NULL));
  if (strcmp(generated, committed))
    g_error("%s differs from the config tables: regenerate it with "
            "`build/broker/brookd --print-config-reference > docs/configuration.md`", path);
  g_free(committed);
  free(generated);
}

static GHashTable *set_new(void) { return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free); }

static void test_defaults(void) {
  GHashTable *set = set_new();
  brook_bconf_t bc = {0};
  char errstr[256];
  g_assert_cmpint(conf_resolve_broker(set, &bc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpstr(bc.listeners, ==, "PLAINTEXT://127.0.0.1:9092");
  g_assert_cmpstr(bc.log_dirs, ==, "./brook-data");
  g_assert_cmpint(bc.num_partitions, ==, 1);
  g_assert_true(bc.auto_create_topics_enable);
  g_assert_cmpint(bc.topic.segment_bytes, ==, 1073741824);
  g_assert_cmpint(bc.topic.retention_ms, ==, 168 * 3600000LL);
  g_assert_cmpint(bc.topic.retention_bytes, ==, -1);
  g_assert_cmpint(bc.topic.max_message_bytes, ==, 1048588);
  g_assert_cmpint(bc.topic.index_interval_bytes, ==, 4096);
  g_assert_cmpint(bc.topic.flush_ms, ==, INT64_MAX);
  g_assert_cmpint(bc.topic.cleanup_policy, ==, BROOK_CLEANUP_DELETE);
  g_assert_cmpint(bc.topic.compression_type, ==, BROOK_COMPRESSION_PRODUCER);
  g_assert_cmpint(bc.socket_request_max_bytes, ==, 104857600);
  conf_bconf_free(&bc);
  g_hash_table_destroy(set);
}

static void test_aliases(void) {
  GHashTable *set = set_new();
  brook_bconf_t bc = {0};
  char errstr[256];
  /* hours < minutes < ms: the finest one set wins, whatever the order */
  g_hash_table_replace(set, g_strdup("log.retention.ms"), g_strdup("1234"));
  g_hash_table_replace(set, g_strdup("log.retention.hours"), g_strdup("1"));
  g_assert_cmpint(conf_resolve_broker(set, &bc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(bc.topic.retention_ms, ==, 1234);
  g_hash_table_remove(set, "log.retention.ms");
  g_hash_table_replace(set, g_strdup("log.retention.minutes"), g_strdup("2"));
  g_assert_cmpint(conf_resolve_broker(set, &bc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(bc.topic.retention_ms, ==, 120000);
  g_hash_table_replace(set, g_strdup("broker.id"), g_strdup("7"));
  g_assert_cmpint(conf_resolve_broker(set, &bc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(bc.node_id, ==, 7);
  g_hash_table_replace(set, g_strdup("node.id"), g_strdup("9"));
  g_assert_cmpint(conf_resolve_broker(set, &bc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(bc.node_id, ==, 9);
  /* a topic's value comes from its override, else the broker synonym */
  brook_tconf_t tc;
  GHashTable *ov = set_new();
  g_assert_cmpint(conf_resolve_topic(&bc, ov, &tc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(tc.retention_ms, ==, 120000);
  int source;
  char *v = conf_topic_value(conf_find(brook_topic_props, "retention.ms"), set, ov, &source);
  g_assert_cmpstr(v, ==, "120000");
  g_assert_cmpint(source, ==, 4);
  g_free(v);
  g_hash_table_replace(ov, g_strdup("retention.ms"), g_strdup("5"));
  g_hash_table_replace(ov, g_strdup("cleanup.policy"), g_strdup("compact,delete"));
  g_assert_cmpint(conf_resolve_topic(&bc, ov, &tc, errstr, sizeof errstr), ==, 0);
  g_assert_cmpint(tc.retention_ms, ==, 5);
  g_assert_cmpint(tc.cleanup_policy, ==, BROOK_CLEANUP_DELETE | BROOK_CLEANUP_COMPACT);
  v = conf_topic_value(conf_find(brook_topic_props, "retention.ms"), set, ov, &source);
  g_assert_cmpint(source, ==, 1);
  g_free(v);
  v = conf_topic_value(conf_find(brook_topic_props, "segment.bytes"), set, ov, &source);
  g_assert_cmpstr(v, ==, "1073741824");
  g_assert_cmpint(source, ==, 5);
  g_free(v);
  g_hash_table_destroy(ov);
  conf_bconf_free(&bc);
  g_hash_table_destroy(set);
}

static void test_errors(void) {
  char errstr[256];
  brook_broker_conf_t *conf = brook_broker_conf_new();
  g_assert_cmpint(brook_broker_conf_set(conf, "log.retention.hourz", "1", errstr, sizeof errstr), ==,
                  BROOK_ERR_INVALID_CONFIG);
  g_assert_nonnull(strstr(errstr, "log.retention.hourz"));
  g_assert_cmpint(brook_broker_conf_set(conf, "num.partitions", "zero", errstr, sizeof errstr), ==,
                  BROOK_ERR_INVALID_CONFIG);
  g_assert_nonnull(strstr(errstr, "num.partitions"));
  g_assert_cmpint(brook_broker_conf_set(conf, "num.partitions", "0", errstr, sizeof errstr), ==,
                  BROOK_ERR_INVALID_CONFIG);
  g_assert_cmpint(brook_broker_conf_set(conf, "auto.create.topics.enable", "yes", errstr, sizeof errstr), ==,
                  BROOK_ERR_INVALID_CONFIG);
  g_assert_cmpint(brook_broker_conf_set(conf, "log.cleanup.policy", "compact,shred", errstr, sizeof errstr), ==,
                  BROOK_ERR_INVALID_CONFIG);
  g_assert_nonnull(strstr(errstr, "delete,compact"));
  g_assert_cmpint(brook_broker_conf_set(conf, "num.network.threads", "3", errstr, sizeof errstr), ==, 0);
  /* topic-level names are not broker properties */
  g_assert_cmpint(brook_broker_conf_set(conf, "retention.ms", "1", errstr, sizeof errstr), ==,
                  BROOK_ERR_INVALID_CONFIG);
  /* start-up refuses a bad listener with a message naming it */
  g_assert_cmpint(brook_broker_conf_set(conf, "listeners", "SSL://127.0.0.1:0", errstr, sizeof errstr), ==, 0);
  char *dir = g_dir_make_tmp("brook-conf-XXXXXX", NULL);
  g_assert_cmpint(brook_broker_conf_set(conf, "log.dirs", dir, errstr, sizeof errstr), ==, 0);
  errstr[0] = 0;
  g_assert_null(brook_broker_start(conf, errstr, sizeof errstr));
  g_assert_nonnull(strstr(errstr, "PLAINTEXT"));
  brook_broker_conf_destroy(conf);
  g_rmdir(dir);
  g_free(dir);
}

static void test_properties_file(void) {
  char *dir = g_dir_make_tmp("brook-conf-XXXXXX", NULL);
  char *path = g_build_filename(dir, "server.properties", NULL);
  const char *text =
      "# a stock-looking server.properties\n"
      "! also a comment\n"
      "num.partitions = 3\n"
      "log.retention.hours:48\n"
      "listeners PLAINTEXT://127.0.0.1:0\n"
      "log.dirs=/tmp/with\\\n"
      "   continuation\n"
      "   \n"
      "socket.send.buffer.bytes=102400\n";
  g_assert_true(g_file_set_contents(path, text, -1, NULL));
  GHashTable *set = set_new();
  char errstr[256];
  g_assert_cmpint(conf_load_properties(path, set, errstr, sizeof errstr), ==, 0);
  g_assert_cmpstr(g_hash_table_lookup(set, "num.partitions"), ==, "3");
  g_assert_cmpstr(g_hash_table_lookup(set, "log.retention.hours"), ==, "48");
  g_assert_cmpstr(g_hash_table_lookup(set, "listeners"), ==, "PLAINTEXT://127.0.0.1:0");
  g_assert_cmpstr(g_hash_table_lookup(set, "log.dirs"), ==, "/tmp/withcontinuation");
  g_assert_cmpuint(g_hash_table_size(set), ==, 5);
  /* an unknown property in a file names the file and the property */
  g_assert_true(g_file_set_contents(path, "num.partitions=2\nlog.segmnt.bytes=1000\n", -1, NULL));
  brook_broker_conf_t *conf = brook_broker_conf_new();
  g_assert_cmpint(brook_broker_conf_load(conf, path, errstr, sizeof errstr), ==, BROOK_ERR_INVALID_CONFIG);
  g_assert_nonnull(strstr(errstr, "log.segmnt.bytes"));
  g_assert_nonnull(strstr(errstr, "server.properties"));
  brook_broker_conf_destroy(conf);
  g_hash_table_destroy(set);
  g_unlink(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/broker/conf/reference-matches-docs", test_reference_matches_docs);
  g_test_add_func("/broker/conf/defaults", test_defaults);
  g_test_add_func("/broker/conf/aliases", test_aliases);
  g_test_add_func("/broker/conf/errors", test_errors);
  g_test_add_func("/broker/conf/properties-file", test_properties_file);
  return g_test_run();
}
