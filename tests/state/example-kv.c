/* example-kv.c — count words in a RocksDB-backed, logged, cached store.
 * Build: cc example-kv.c -Istate -Ibroker/base $(pkg-config --cflags glib-2.0)
 *        build/state/libbrook-state.a build/broker/base/libbrook-base.a
 *        -lrocksdb $(pkg-config --libs glib-2.0) -lpthread
 * Run:   ./a.out /tmp/my-state */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "brook_kv_store.h"

/* The runtime would produce these records to the changelog topic; here we
 * just count them. */
static brook_err_t sink_send(void *opaque, const char *topic, int32_t partition, const void *key,
                             size_t key_len, const void *value, size_t value_len, int64_t timestamp) {
  (*(int64_t *)opaque)++;
  return BROOK_ERR_NONE;
}

/* Called for each record the cache writes through: send it downstream. */
static void forward(void *opaque, const void *key, size_t key_len, const void *new_value, size_t new_len,
                    const void *old_value, size_t old_len, int64_t timestamp) {
  printf("forward %.*s: %s -> %.*s\n", (int)key_len, (const char *)key, old_value ? "updated" : "new",
         (int)new_len, (const char *)new_value);
}

static int atoi_len(const void *p, size_t len) {
  int n = 0;
  for (size_t i = 0; i < len; i++) n = n * 10 + (((const char *)p)[i] - '0');
  return n;
}

int main(int argc, char **argv) {
  char errstr[512];
  brook_state_env_conf_t conf = {
      .state_dir = argc > 1 ? argv[1] : "/tmp/kafka-streams",
      .application_id = "wordcount",
      .rocksdb_total_memory_bytes = 64 << 20, /* all RocksDB stores together */
      .cache_max_bytes = 10 << 20,            /* all record caches together */
  };
  brook_state_env_t *env = brook_state_env_new(&conf, errstr, sizeof errstr);
  if (!env) return fprintf(stderr, "%s\n", errstr), 1;

  brook_task_dir_t *dir = NULL; /* <state.dir>/wordcount/0_0/, locked */
  if (brook_task_dir_open(env, "0_0", &dir, errstr, sizeof errstr)) return fprintf(stderr, "%s\n", errstr), 1;

  int64_t produced = 0; /* the changelog's next offset, as the producer would report it */
  brook_store_opts_t opts = {
      .name = "counts", .logged = true, .cached = true, .partition = 0, .sink = {sink_send, &produced}};
  brook_kv_store_t *store = NULL;
  if (brook_kv_store_open(env, dir, &opts, BROOK_KV_TIMESTAMPED, &store, errstr, sizeof errstr))
    return fprintf(stderr, "%s\n", errstr), 1;
  brook_cache_flush_listener_t listener = {forward, NULL};
  brook_kv_store_set_flush_listener(store, &listener);

  /* restoration would go here: feed the changelog from
   * brook_kv_store_restore_start(store) through brook_kv_store_restore() */
  printf("restore %s from offset %" PRId64 "\n", brook_kv_store_changelog_topic(store),
         brook_kv_store_restore_start(store));
  produced = brook_kv_store_offset(store);

  const char *words[] = {"to", "be", "or", "not", "to", "be"};
  for (int i = 0; i < 6; i++) {
    const void *v;
    size_t len;
    char count[24] = "1";
    if (brook_kv_store_get(store, words[i], strlen(words[i]), &v, &len, NULL) == BROOK_ERR_NONE)
      snprintf(count, sizeof count, "%d", atoi_len(v, len) + 1);
    if (brook_kv_store_put(store, words[i], strlen(words[i]), count, strlen(count), 1000 + i))
      return fprintf(stderr, "%s\n", brook_kv_store_errstr(store)), 1;
  }

  /* commit: cache → store + changelog + forward; RocksDB flush; checkpoint */
  if (brook_kv_store_flush(store)) return fprintf(stderr, "%s\n", brook_kv_store_errstr(store)), 1;
  brook_kv_store_set_offset(store, produced); /* the producer acked them all */
  if (brook_task_dir_checkpoint_write(dir, errstr, sizeof errstr)) return fprintf(stderr, "%s\n", errstr), 1;

  /* an interactive query, as another thread would run it */
  brook_kv_view_t *view = brook_kv_store_view(store);
  brook_kv_iter_t *it = brook_kv_view_range(view, "a", 1, "p", 1, false); /* keys in [a, p) */
  const void *key, *value;
  size_t key_len, value_len;
  int64_t ts;
  while (brook_kv_iter_next(it, &key, &key_len, &value, &value_len, &ts))
    printf("%.*s = %.*s (ts %" PRId64 ")\n", (int)key_len, (const char *)key, (int)value_len,
           (const char *)value, ts);
  brook_kv_iter_destroy(it);
  brook_kv_view_destroy(view);

  brook_kv_store_close(store);
  brook_task_dir_close(dir);
  brook_state_env_destroy(env);
  return 0;
}
