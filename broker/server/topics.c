/*
 * topics.c — the topic registry and the log directory as a whole.
 *
 * Design note
 *  - Files in <log.dirs> (Kafka's names where Kafka has the file):
 *      meta.properties                    cluster.id, node.id, version=1
 *      .lock                              flock'ed while a broker uses the dir
 *      .kafka_cleanshutdown               present only after a clean stop
 *      recovery-point-offset-checkpoint   per partition: offset below which all is fsynced
 *      log-start-offset-checkpoint        per partition: log start offset
 *      brook-topics                       the registry: name, topic id, partition
 *                                         count, config overrides (KRaft keeps this
 *                                         in __cluster_metadata; one node needs a file)
 *      producer-id-block                  upper bound of producer ids handed out
 *      <topic>-<partition>/               partition logs (see log.h), each with
 *                                         partition.metadata (topic id) as Kafka writes it
 *  - Every metadata file is written to a .tmp, fsynced and renamed, so a crash
 *    leaves the old or the new version, never a mix.
 *  - Order of effects: a topic is added to the registry before its directories
 *    exist and removed from it before they are deleted, so a crash in between
 *    leaves at worst an empty directory or a stray one (logged, ignored).
 *  - Clean shutdown: the marker is removed once storage is open and written
 *    back only after every log was flushed and closed, so a kill -9 at any
 *    moment means the next start recovers (scans after the recovery point).
 * @locality broker loop (and the start/stop thread before/after the loop runs).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blog.h"
#include "broker_int.h"
#include "checkpoint.h"

#define REGISTRY_FILE "brook-topics"
#define CLEAN_MARKER ".kafka_cleanshutdown"
#define PRODUCER_ID_BLOCK 1000

/* Writes contents to path atomically (tmp + fsync + rename + dir fsync). */
static brook_err_t write_atomic(const char *dir, const char *name, const char *contents, char *errstr,
                                size_t errstr_size) {
  char *path = g_build_filename(dir, name, NULL);
  char *tmp = g_strconcat(path, ".tmp", NULL);
  brook_err_t err = BROOK_ERR_NONE;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  size_t len = strlen(contents);
  if (fd < 0 || write(fd, contents, len) != (ssize_t)len || fsync(fd) < 0) {
    snprintf(errstr, errstr_size, "Cannot write %s: %s", tmp, strerror(errno));
    err = BROOK_ERR_KAFKA_STORAGE_ERROR;
    if (fd >= 0) close(fd);
    unlink(tmp);
  } else {
    close(fd);
    if (rename(tmp, path) < 0) {
      snprintf(errstr, errstr_size, "Cannot rename %s: %s", tmp, strerror(errno));
      err = BROOK_ERR_KAFKA_STORAGE_ERROR;
    } else {
      int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
      }
    }
  }
  g_free(tmp);
  g_free(path);
  return err;
}

static void uuid_to_base64(const brook_uuid_t *id, char out[23]) {
  gchar *b64 = g_base64_encode(id->b, 16);
  /* Kafka prints topic ids as URL-safe base64 without padding */
  for (char *p = b64; *p; p++) {
    if (*p == '+') *p = '-';
    else if (*p == '/') *p = '_';
  }
  g_strlcpy(out, b64, 23);
  g_free(b64);
}

static bool uuid_from_base64(const char *s, brook_uuid_t *id) {
  char buf[25];
  if (strlen(s) != 22) return false;
  g_strlcpy(buf, s, sizeof buf);
  for (char *p = buf; *p; p++) {
    if (*p == '-') *p = '+';
    else if (*p == '_') *p = '/';
  }
  strcat(buf, "==");
  gsize n = 0;
  guchar *raw = g_base64_decode(buf, &n);
  bool ok = n == 16;
  if (ok) memcpy(id->b, raw, 16);
  g_free(raw);
  return ok;
}

static void uuid_random(brook_uuid_t *id) {
  do {
    for (int i = 0; i < 16; i += 4) {
      guint32 r = g_random_int();
      memcpy(id->b + i, &r, 4);
    }
  } while (!memcmp(id->b, (uint8_t[16]){0}, 16));
}

/* Hashes exactly the 16 id bytes (ids are random, so folding words is enough). */
static guint uuid_hash(gconstpointer p) {
  guint h = 0, w;
  for (int i = 0; i < 16; i += 4) {
    memcpy(&w, (const uint8_t *)p + i, sizeof w);
    h = h * 31 + w;
  }
  return h;
}
static gboolean uuid_equal(gconstpointer a, gconstpointer b) { return !memcmp(a, b, 16); }

/* ---- meta.properties ---- */

static brook_err_t load_meta(brook_broker_t *b, char *errstr, size_t errstr_size) {
  char *path = g_build_filename(b->log_dir, "meta.properties", NULL);
  GHashTable *props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  brook_err_t err = BROOK_ERR_NONE;
  if (g_file_test(path, G_FILE_TEST_EXISTS)) {
    err = conf_load_properties(path, props, errstr, errstr_size);
    const char *cid = g_hash_table_lookup(props, "cluster.id");
    const char *nid = g_hash_table_lookup(props, "node.id");
    if (!nid) nid = g_hash_table_lookup(props, "broker.id");
    if (!err && (!cid || !*cid)) {
      snprintf(errstr, errstr_size, "%s has no cluster.id", path);
      err = BROOK_ERR__BAD_CONFIG;
    } else if (!err && nid && atoi(nid) != b->node_id) {
      snprintf(errstr, errstr_size, "%s belongs to node.id %s but this broker is node.id %d", path, nid, b->node_id);
      err = BROOK_ERR__BAD_CONFIG;
    } else if (!err) {
      g_strlcpy(b->cluster_id, cid, sizeof b->cluster_id);
    }
  } else {
    brook_uuid_t id;
    uuid_random(&id);
    uuid_to_base64(&id, b->cluster_id);
    char *text = g_strdup_printf("#\n#Written by brookd\ncluster.id=%s\nnode.id=%d\nversion=1\n", b->cluster_id,
                                 b->node_id);
    err = write_atomic(b->log_dir, "meta.properties", text, errstr, errstr_size);
    g_free(text);
    if (!err) brook_log(BROOK_LOG_INFO, "broker", "formatted %s with cluster id %s", b->log_dir, b->cluster_id);
  }
  g_hash_table_destroy(props);
  g_free(path);
  return err;
}

/* ---- producer ids: handed out from blocks whose end is persisted first ---- */

static brook_err_t load_producer_ids(brook_broker_t *b) {
  char *path = g_build_filename(b->log_dir, "producer-id-block", NULL);
  gchar *text = NULL;
  b->next_producer_id = 0;
  if (g_file_get_contents(path, &text, NULL, NULL)) b->next_producer_id = g_ascii_strtoll(text, NULL, 10);
  b->producer_id_block_end = b->next_producer_id; /* next allocation persists a new block */
  g_free(text);
  g_free(path);
  return BROOK_ERR_NONE;
}

brook_err_t broker_alloc_producer_id(brook_broker_t *b, int64_t *pid) {
  if (b->next_producer_id >= b->producer_id_block_end) {
    char errstr[256], text[32];
    int64_t end = b->next_producer_id + PRODUCER_ID_BLOCK;
    snprintf(text, sizeof text, "%" PRId64 "\n", end);
    if (write_atomic(b->log_dir, "producer-id-block", text, errstr, sizeof errstr)) {
      brook_log(BROOK_LOG_ERR, "broker", "%s", errstr);
      return BROOK_ERR_KAFKA_STORAGE_ERROR;
    }
    b->producer_id_block_end = end;
  }
  *pid = b->next_producer_id++;
  return BROOK_ERR_NONE;
}

/* ---- the registry ---- */

static void topic_free(topic_t *t) {
  for (int32_t i = 0; i < t->nparts; i++)
    if (t->parts[i]) partition_close(t->parts[i], false);
  g_free(t->parts);
  if (t->overrides) g_hash_table_destroy(t->overrides);
  g_free(t->name);
  g_free(t);
}

brook_err_t broker_topics_save(brook_broker_t *b) {
  GString *s = g_string_new("# brook topic registry v1: name topic-id partitions [config=uri-escaped-value]...\n");
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, b->topics);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    topic_t *t = v;
    char id[23];
    uuid_to_base64(&t->id, id);
    g_string_append_printf(s, "%s %s %d", t->name, id, t->nparts);
    GHashTableIter ci;
    gpointer ck, cv;
    g_hash_table_iter_init(&ci, t->overrides);
    while (g_hash_table_iter_next(&ci, &ck, &cv)) {
      char *esc = g_uri_escape_string(cv, NULL, FALSE);
      g_string_append_printf(s, " %s=%s", (char *)ck, esc);
      g_free(esc);
    }
    g_string_append_c(s, '\n');
  }
  char errstr[512];
  brook_err_t err = write_atomic(b->log_dir, REGISTRY_FILE, s->str, errstr, sizeof errstr);
  if (err) brook_log(BROOK_LOG_ERR, "broker", "%s", errstr);
  g_string_free(s, TRUE);
  return err;
}

static char *part_key(const char *topic, int32_t part) { return g_strdup_printf("%s\t%d", topic, part); }

typedef struct ckpt_maps {
  GHashTable *recovery; /* "topic\tpart" -> int64* */
  GHashTable *start;
} ckpt_maps_t;

static brook_err_t read_ckpt(const char *dir, const char *name, GHashTable *map, char *errstr, size_t errstr_size) {
  char *path = g_build_filename(dir, name, NULL);
  brook_checkpoint_entry_t *entries = NULL;
  size_t n = 0;
  brook_err_t err = brook_checkpoint_read(path, &entries, &n, errstr, errstr_size);
  for (size_t i = 0; !err && i < n; i++) {
    int64_t *off = g_new(int64_t, 1);
    *off = entries[i].offset;
    g_hash_table_replace(map, part_key(entries[i].topic, entries[i].partition), off);
  }
  brook_checkpoint_entries_free(entries, n);
  g_free(path);
  return err;
}

static int64_t ckpt_lookup(GHashTable *map, const char *topic, int32_t part, int64_t dflt) {
  char *key = part_key(topic, part);
  int64_t *v = g_hash_table_lookup(map, key);
  g_free(key);
  return v ? *v : dflt;
}

void broker_checkpoint(brook_broker_t *b) {
  guint total = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, b->topics);
  while (g_hash_table_iter_next(&it, &k, &v)) total += (guint)((topic_t *)v)->nparts;
  brook_checkpoint_entry_t *rec = g_new0(brook_checkpoint_entry_t, total ? total : 1);
  brook_checkpoint_entry_t *start = g_new0(brook_checkpoint_entry_t, total ? total : 1);
  size_t n = 0;
  g_hash_table_iter_init(&it, b->topics);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    topic_t *t = v;
    for (int32_t i = 0; i < t->nparts; i++) {
      if (!t->parts[i]) continue;
      rec[n].topic = start[n].topic = t->name;
      rec[n].partition = start[n].partition = i;
      rec[n].offset = brook_log_recovery_point(t->parts[i]->log);
      start[n].offset = brook_log_start_offset(t->parts[i]->log);
      n++;
    }
  }
  char errstr[512];
  char *p1 = g_build_filename(b->log_dir, "recovery-point-offset-checkpoint", NULL);
  char *p2 = g_build_filename(b->log_dir, "log-start-offset-checkpoint", NULL);
  if (brook_checkpoint_write(p1, rec, n, errstr, sizeof errstr) ||
      brook_checkpoint_write(p2, start, n, errstr, sizeof errstr))
    brook_log(BROOK_LOG_ERR, "broker", "checkpoint: %s", errstr);
  g_free(p1);
  g_free(p2);
  g_free(rec);
  g_free(start);
}

static topic_t *topic_new(const char *name, int32_t nparts, GHashTable *overrides) {
  topic_t *t = g_new0(topic_t, 1);
  t->name = g_strdup(name);
  t->nparts = nparts;
  t->parts = g_new0(partition_t *, nparts);
  t->overrides = overrides ? overrides : g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  t->internal = !strcmp(name, "__consumer_offsets") || !strcmp(name, "__transaction_state");
  return t;
}

static brook_err_t load_registry(brook_broker_t *b, bool clean, char *errstr, size_t errstr_size) {
  ckpt_maps_t maps = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
                      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free)};
  brook_err_t err = read_ckpt(b->log_dir, "recovery-point-offset-checkpoint", maps.recovery, errstr, errstr_size);
  if (!err) err = read_ckpt(b->log_dir, "log-start-offset-checkpoint", maps.start, errstr, errstr_size);
  char *path = g_build_filename(b->log_dir, REGISTRY_FILE, NULL);
  gchar *text = NULL;
  GError *gerr = NULL;
  if (!err && !g_file_get_contents(path, &text, NULL, &gerr)) {
    if (!g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
      snprintf(errstr, errstr_size, "Cannot read %s: %s", path, gerr->message);
      err = BROOK_ERR__IO;
    }
    g_clear_error(&gerr);
  }
  gchar **lines = text ? g_strsplit(text, "\n", -1) : NULL;
  for (int ln = 0; !err && lines && lines[ln]; ln++) {
    if (!lines[ln][0] || lines[ln][0] == '#') continue;
    gchar **f = g_strsplit(lines[ln], " ", -1);
    guint nf = g_strv_length(f);
    brook_uuid_t id;
    char *end = NULL;
    long nparts = nf >= 3 ? strtol(f[2], &end, 10) : 0;
    if (nf < 3 || !uuid_from_base64(f[1], &id) || *end || nparts < 1) {
      snprintf(errstr, errstr_size, "%s:%d: malformed line", path, ln + 1);
      err = BROOK_ERR__MALFORMED;
      g_strfreev(f);
      break;
    }
    GHashTable *overrides = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 3; i < nf; i++) {
      char *eq = strchr(f[i], '=');
      if (!eq) continue;
      *eq = 0;
      g_hash_table_replace(overrides, g_strdup(f[i]), g_uri_unescape_string(eq + 1, NULL));
    }
    topic_t *t = topic_new(f[0], (int32_t)nparts, overrides);
    t->id = id;
    g_strfreev(f);
    err = conf_resolve_topic(&b->bconf, t->overrides, &t->tconf, errstr, errstr_size);
    g_hash_table_replace(b->topics, t->name, t);
    g_hash_table_replace(b->topic_ids, &t->id, t);
    for (int32_t i = 0; !err && i < t->nparts; i++) {
      t->parts[i] = partition_open(b, t, i, ckpt_lookup(maps.recovery, t->name, i, 0),
                                   ckpt_lookup(maps.start, t->name, i, -1), clean, errstr, errstr_size);
      if (!t->parts[i]) err = BROOK_ERR_KAFKA_STORAGE_ERROR;
    }
  }
  g_strfreev(lines);
  g_free(text);
  g_free(path);
  g_hash_table_destroy(maps.recovery);
  g_hash_table_destroy(maps.start);
  return err;
}

brook_err_t broker_storage_open(brook_broker_t *b, char *errstr, size_t errstr_size) {
  b->topics = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)topic_free);
  b->topic_ids = g_hash_table_new(uuid_hash, uuid_equal);
  if (g_mkdir_with_parents(b->log_dir, 0755) < 0) {
    snprintf(errstr, errstr_size, "Cannot create log.dirs %s: %s", b->log_dir, strerror(errno));
    return BROOK_ERR__IO;
  }
  char *lock = g_build_filename(b->log_dir, ".lock", NULL);
  int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  g_free(lock);
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
    snprintf(errstr, errstr_size, "Cannot lock %s/.lock: %s (another broker uses this log dir?)", b->log_dir,
             strerror(errno));
    if (fd >= 0) close(fd);
    return BROOK_ERR__STATE;
  }
  b->lock_fd = fd;
  brook_err_t err = load_meta(b, errstr, errstr_size);
  if (err) return err;
  load_producer_ids(b);
  char *marker = g_build_filename(b->log_dir, CLEAN_MARKER, NULL);
  char *registry = g_build_filename(b->log_dir, REGISTRY_FILE, NULL);
  bool clean = g_file_test(marker, G_FILE_TEST_EXISTS);
  if (!clean && g_file_test(registry, G_FILE_TEST_EXISTS)) brook_log(BROOK_LOG_INFO, "log", "no clean-shutdown marker in %s: recovering logs after their recovery points",
                        b->log_dir);
  g_free(registry);
  err = load_registry(b, clean, errstr, errstr_size);
  if (!err) {
    unlink(marker);
    b->storage_ready = true;
  }
  g_free(marker);
  return err;
}

void broker_storage_close(brook_broker_t *b) {
  if (!b->topics || b->lock_fd < 0) return;
  if (!b->storage_ready) {
    /* start-up failed half way: close what opened, claim nothing about the rest */
    g_hash_table_remove_all(b->topic_ids);
    g_hash_table_remove_all(b->topics);
    close(b->lock_fd);
    b->lock_fd = -1;
    return;
  }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, b->topics);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    topic_t *t = v;
    for (int32_t i = 0; i < t->nparts; i++)
      if (t->parts[i]) {
        partition_snapshot_producers(t->parts[i]);
        brook_log_flush(t->parts[i]->log);
      }
  }
  broker_checkpoint(b);
  /* closing the logs (in topic_free) fsyncs and trims their indexes */
  g_hash_table_remove_all(b->topic_ids);
  g_hash_table_remove_all(b->topics);
  char errstr[256];
  if (write_atomic(b->log_dir, CLEAN_MARKER, "", errstr, sizeof errstr))
    brook_log(BROOK_LOG_ERR, "broker", "%s", errstr);
  close(b->lock_fd);
  b->lock_fd = -1;
}

/* ---- lookups and administration ---- */

topic_t *broker_topic(brook_broker_t *b, const char *name, int32_t len) {
  char buf[256];
  if (len < 0 || len >= (int32_t)sizeof buf) return NULL;
  memcpy(buf, name, (size_t)len);
  buf[len] = 0;
  return g_hash_table_lookup(b->topics, buf);
}

brook_err_t broker_topic_name_valid(const char *name, int32_t len, char *errstr, size_t errstr_size) {
  if (len <= 0) {
    snprintf(errstr, errstr_size, "Topic name is illegal, it can't be empty");
    return BROOK_ERR_INVALID_TOPIC_EXCEPTION;
  }
  if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) {
    snprintf(errstr, errstr_size, "Topic name cannot be \".\" or \"..\"");
    return BROOK_ERR_INVALID_TOPIC_EXCEPTION;
  }
  if (len > 249) {
    snprintf(errstr, errstr_size, "Topic name is illegal, it can't be longer than 249 characters");
    return BROOK_ERR_INVALID_TOPIC_EXCEPTION;
  }
  for (int32_t i = 0; i < len; i++) {
    char c = name[i];
    if (!(g_ascii_isalnum(c) || c == '.' || c == '_' || c == '-')) {
      snprintf(errstr, errstr_size,
               "Topic name \"%.*s\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'",
               len, name);
      return BROOK_ERR_INVALID_TOPIC_EXCEPTION;
    }
  }
  return BROOK_ERR_NONE;
}

static brook_err_t open_partitions(brook_broker_t *b, topic_t *t, int32_t from, char *errstr, size_t errstr_size) {
  for (int32_t i = from; i < t->nparts; i++) {
    t->parts[i] = partition_open(b, t, i, 0, -1, true, errstr, errstr_size);
    if (!t->parts[i]) return BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  return BROOK_ERR_NONE;
}

brook_err_t broker_topic_create(brook_broker_t *b, const char *name, int32_t nparts, GHashTable *overrides,
                                bool validate_only, char *errstr, size_t errstr_size, topic_t **out) {
  size_t len = strlen(name);
  brook_err_t err = broker_topic_name_valid(name, (int32_t)len, errstr, errstr_size);
  if (err) goto fail;
  if (g_hash_table_contains(b->topics, name)) {
    snprintf(errstr, errstr_size, "Topic '%s' already exists.", name);
    err = BROOK_ERR_TOPIC_ALREADY_EXISTS;
    goto fail;
  }
  if (nparts < 1) {
    snprintf(errstr, errstr_size, "Number of partitions must be larger than 0.");
    err = BROOK_ERR_INVALID_PARTITIONS;
    goto fail;
  }
  brook_tconf_t tconf;
  err = conf_resolve_topic(&b->bconf, overrides, &tconf, errstr, errstr_size);
  if (err) goto fail;
  if (validate_only) {
    if (overrides) g_hash_table_destroy(overrides);
    return BROOK_ERR_NONE;
  }
  topic_t *t = topic_new(name, nparts, overrides);
  t->tconf = tconf;
  do uuid_random(&t->id);
  while (g_hash_table_contains(b->topic_ids, &t->id));
  g_hash_table_replace(b->topics, t->name, t);
  g_hash_table_replace(b->topic_ids, &t->id, t);
  err = broker_topics_save(b);
  if (!err) err = open_partitions(b, t, 0, errstr, errstr_size);
  if (err) {
    if (!errstr[0]) snprintf(errstr, errstr_size, "Cannot create topic %s: storage error", name);
    g_hash_table_remove(b->topic_ids, &t->id);
    g_hash_table_remove(b->topics, name);
    broker_topics_save(b);
    return err;
  }
  brook_log(BROOK_LOG_INFO, "broker", "created topic %s with %d partition(s)", name, nparts);
  if (out) *out = t;
  return BROOK_ERR_NONE;
fail:
  if (overrides) g_hash_table_destroy(overrides);
  return err;
}

topic_t *broker_topic_autocreate(brook_broker_t *b, const char *name, int32_t len, brook_err_t *err) {
  char errstr[512] = "";
  *err = broker_topic_name_valid(name, len, errstr, sizeof errstr);
  if (*err) return NULL;
  if (!b->bconf.auto_create_topics_enable) {
    *err = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    return NULL;
  }
  char *n = g_strndup(name, (gsize)len);
  topic_t *t = NULL;
  *err = broker_topic_create(b, n, (int32_t)b->bconf.num_partitions, NULL, false, errstr, sizeof errstr, &t);
  if (*err) brook_log(BROOK_LOG_WARNING, "broker", "auto-creating topic %s failed: %s", n, errstr);
  g_free(n);
  return t;
}

brook_err_t broker_topic_delete(brook_broker_t *b, topic_t *t) {
  char *name = g_strdup(t->name);
  /* remove from the registry first: a crash now leaves only stray directories */
  g_hash_table_steal(b->topics, t->name);
  g_hash_table_remove(b->topic_ids, &t->id);
  brook_err_t err = broker_topics_save(b);
  for (int32_t i = 0; i < t->nparts; i++)
    if (t->parts[i]) {
      partition_close(t->parts[i], true);
      t->parts[i] = NULL;
    }
  topic_free(t);
  broker_checkpoint(b);
  brook_log(BROOK_LOG_INFO, "broker", "deleted topic %s", name);
  g_free(name);
  return err;
}

brook_err_t broker_topic_add_partitions(brook_broker_t *b, topic_t *t, int32_t total, bool validate_only,
                                        char *errstr, size_t errstr_size) {
  if (total <= t->nparts) {
    snprintf(errstr, errstr_size, "Topic currently has %d partitions, which is higher than or equal to the requested %d.",
             t->nparts, total);
    return BROOK_ERR_INVALID_PARTITIONS;
  }
  if (validate_only) return BROOK_ERR_NONE;
  int32_t old = t->nparts;
  t->parts = g_renew(partition_t *, t->parts, total);
  for (int32_t i = old; i < total; i++) t->parts[i] = NULL;
  t->nparts = total;
  brook_err_t err = broker_topics_save(b);
  if (!err) err = open_partitions(b, t, old, errstr, errstr_size);
  if (err) {
    for (int32_t i = old; i < total; i++)
      if (t->parts[i]) partition_close(t->parts[i], true);
    t->nparts = old;
    broker_topics_save(b);
    return err;
  }
  brook_log(BROOK_LOG_INFO, "broker", "topic %s now has %d partitions", t->name, total);
  return BROOK_ERR_NONE;
}

static void log_conf_from_topic(const brook_tconf_t *tc, brook_log_conf_t *lc) {
  brook_log_conf_defaults(lc);
  lc->segment_bytes = tc->segment_bytes;
  lc->segment_ms = tc->segment_ms;
  lc->retention_ms = (tc->cleanup_policy & BROOK_CLEANUP_DELETE) ? tc->retention_ms : -1;
  lc->retention_bytes = (tc->cleanup_policy & BROOK_CLEANUP_DELETE) ? tc->retention_bytes : -1;
  lc->index_interval_bytes = (int32_t)tc->index_interval_bytes;
  lc->segment_index_bytes = (int32_t)tc->segment_index_bytes;
  lc->flush_messages = tc->flush_messages;
  lc->flush_ms = tc->flush_ms;
}

void broker_log_conf(const topic_t *t, brook_log_conf_t *lc) { log_conf_from_topic(&t->tconf, lc); }

brook_err_t broker_topic_set_configs(brook_broker_t *b, topic_t *t, GHashTable *overrides, bool validate_only,
                                     char *errstr, size_t errstr_size) {
  brook_tconf_t tconf;
  brook_err_t err = conf_resolve_topic(&b->bconf, overrides, &tconf, errstr, errstr_size);
  if (err || validate_only) {
    g_hash_table_destroy(overrides);
    return err;
  }
  g_hash_table_destroy(t->overrides);
  t->overrides = overrides;
  t->tconf = tconf;
  brook_log_conf_t lc;
  log_conf_from_topic(&t->tconf, &lc);
  for (int32_t i = 0; i < t->nparts; i++)
    if (t->parts[i]) brook_log_set_conf(t->parts[i]->log, &lc);
  brook_log(BROOK_LOG_INFO, "broker", "updated configs of topic %s", t->name);
  return broker_topics_save(b);
}

void broker_housekeep(brook_broker_t *b, int64_t now_ms) {
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, b->topics);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    topic_t *t = v;
    for (int32_t i = 0; i < t->nparts; i++) {
      if (!t->parts[i]) continue;
      int deleted = brook_log_housekeep(t->parts[i]->log, now_ms);
      if (deleted)
        brook_log(BROOK_LOG_INFO, "log", "%s-%d: retention deleted %d segment(s), log start offset now %" PRId64,
                  t->name, i, deleted, brook_log_start_offset(t->parts[i]->log));
      partition_expire_producers(t->parts[i], now_ms, b->bconf.producer_id_expiration_ms);
    }
  }
  if (now_ms - b->last_checkpoint_ms >= 60000) { /* Kafka's log.flush.offset.checkpoint.interval.ms */
    broker_checkpoint(b);
    b->last_checkpoint_ms = now_ms;
  }
  b->next_housekeep_ms = now_ms + b->bconf.log_retention_check_interval_ms;
}
