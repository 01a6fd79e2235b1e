/*
 * handle_admin.c — topic administration: CreateTopics (v0-7), DeleteTopics
 * (v0-6) and CreatePartitions (v0-3).
 *
 * Design note
 *  - Every handler has the same shape: one result per request item, in
 *    request order; a validate cascade per item that stops at the first
 *    failure (error code + a message a person can act on); then the registry
 *    call (broker_topic_create / _delete / _add_partitions in topics.c), which
 *    persists the change before it answers. validate_only runs the whole
 *    cascade, registry validation included, and changes nothing.
 *  - Items that name the same topic twice in one request are all refused with
 *    INVALID_REQUEST and none of them is acted on, as Kafka does: there is no
 *    right order in which to apply them.
 *  - Internal topics (names starting "__") can be deleted like any other, as
 *    in Kafka, whose controller does not refuse it either (its CLI tools warn).
 *  - A single node can only place replicas on itself, so a replication factor
 *    is 1 (or -1 = default.replication.factor, which conf.c bounds to 1) and a
 *    manual assignment must be exactly [node.id] for every partition.
 *  - Messages follow Kafka's wording where a Kafka client or test might match
 *    on them; elsewhere they say what brookd expects instead.
 *  - Ownership: topics.c takes the overrides hash in every case (success,
 *    failure, validate_only), so a handler builds a fresh one per topic and
 *    never touches it after the call. Response strings live in req->arena or
 *    point into the request frame, which outlives the encoding of the answer.
 *  - Bound: work is linear in the request size (hash sets for duplicates), plus
 *    the partition directories created or removed, which is the point.
 * @locality broker loop.
 */
#include <inttypes.h>

#include "blog.h"
#include "broker_int.h"

typedef brook_create_topics_request_t ct_req_t;
typedef brook_create_topics_request_creatable_topic_t ct_topic_t;
typedef brook_create_topics_response_t ct_resp_t;
typedef brook_create_topics_response_creatable_topic_result_t ct_result_t;
typedef brook_create_topics_response_creatable_topic_configs_t ct_config_t;
typedef brook_delete_topics_request_t dt_req_t;
typedef brook_delete_topics_response_t dt_resp_t;
typedef brook_delete_topics_response_deletable_topic_result_t dt_result_t;
typedef brook_create_partitions_request_t cp_req_t;
typedef brook_create_partitions_response_t cp_resp_t;
typedef brook_create_partitions_response_create_partitions_topic_result_t cp_result_t;

#define ERRSTR_SIZE 512

/* Every partition is a directory with open segment and index files, created
 * on the loop thread before the answer goes out. A client asking for 2^31
 * partitions would otherwise make the registry allocate gigabytes and abort
 * the broker; ten thousand per topic is already far past what one node's
 * file-descriptor limit usually allows. */
#define MAX_PARTITIONS_PER_TOPIC 10000

/* Counts how often each non-null name occurs; keys are g_strndup'ed copies.
 * The caller destroys the table. */
static GHashTable *name_counts_new(void) { return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL); }

static void name_count_add(GHashTable *counts, brook_str_t name) {
  if (name.len < 0) return;
  char *key = g_strndup(name.ptr, (gsize)name.len);
  guint n = GPOINTER_TO_UINT(g_hash_table_lookup(counts, key));
  g_hash_table_replace(counts, key, GUINT_TO_POINTER(n + 1));
}

static guint name_count(GHashTable *counts, brook_str_t name) {
  if (name.len < 0) return 0;
  char *key = g_strndup(name.ptr, (gsize)name.len);
  guint n = GPOINTER_TO_UINT(g_hash_table_lookup(counts, key));
  g_free(key);
  return n;
}

/* Kafka refuses a topic whose name differs from an existing one only by '.'
 * versus '_', because both map to the same metric names. */
static topic_t *colliding_topic(brook_broker_t *b, const char *name) {
  if (!strpbrk(name, "._")) return NULL;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, b->topics);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    const char *other = k;
    if (strlen(other) != strlen(name) || !strcmp(other, name)) continue;
    bool same = true;
    for (size_t i = 0; same && name[i]; i++) {
      char x = name[i] == '.' ? '_' : name[i], y = other[i] == '.' ? '_' : other[i];
      same = x == y;
    }
    if (same) return v;
  }
  return NULL;
}

/* One partition's manual replica list: on a single node it must be [node.id].
 * Wording as Kafka's controller (validateManualPartitionAssignment). */
static brook_err_t check_replicas(brook_broker_t *b, const int32_t *ids, int32_t n, char *errstr, size_t errstr_size) {
  if (n <= 0) {
    snprintf(errstr, errstr_size, "The manual partition assignment includes an empty replica list.");
    return BROOK_ERR_INVALID_REPLICA_ASSIGNMENT;
  }
  for (int32_t i = 0; i < n; i++) {
    if (ids[i] != b->node_id) {
      snprintf(errstr, errstr_size,
               "The manual partition assignment includes broker %d, but no such broker is registered "
               "(brookd is a single node with node.id %d).",
               ids[i], b->node_id);
      return BROOK_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    if (i > 0) {
      snprintf(errstr, errstr_size, "The manual partition assignment includes the broker %d more than once.", ids[i]);
      return BROOK_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
  }
  return BROOK_ERR_NONE;
}

static brook_err_t check_partition_limit(int64_t nparts, char *errstr, size_t errstr_size) {
  if (nparts <= MAX_PARTITIONS_PER_TOPIC) return BROOK_ERR_NONE;
  snprintf(errstr, errstr_size, "Number of partitions %" PRId64 " is above brookd's limit of %d per topic.", nparts,
           MAX_PARTITIONS_PER_TOPIC);
  return BROOK_ERR_INVALID_PARTITIONS;
}

/* ------------------------------------------------------------ CreateTopics */

/* Partition count a CreateTopics entry asks for, checking the replication
 * factor and any manual assignment on the way. */
static brook_err_t create_partition_count(brook_broker_t *b, const ct_topic_t *rt, int32_t *nparts, char *errstr,
                                          size_t errstr_size) {
  int32_t nassign = rt->assignments.count > 0 ? rt->assignments.count : 0;
  if (nassign > 0) {
    if (rt->num_partitions != -1 || rt->replication_factor != -1) {
      snprintf(errstr, errstr_size,
               "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at "
               "the same time.");
      return BROOK_ERR_INVALID_REQUEST;
    }
    *nparts = nassign;
    brook_err_t err = check_partition_limit(nassign, errstr, errstr_size);
    if (err) return err;
    /* the indexes must be exactly 0..n-1, each once */
    bool *seen = g_new0(bool, (gsize)nassign);
    for (int32_t i = 0; i < nassign && !err; i++) {
      const brook_create_topics_request_creatable_replica_assignment_t *as = &rt->assignments.items[i];
      int32_t p = as->partition_index;
      if (p < 0 || p >= nassign) {
        snprintf(errstr, errstr_size,
                 "Partitions should be a consecutive 0-based integer sequence, but the assignment names partition %d "
                 "among %d.",
                 p, nassign);
        err = BROOK_ERR_INVALID_REPLICA_ASSIGNMENT;
      } else if (seen[p]) {
        snprintf(errstr, errstr_size, "Found multiple manual partition assignments for partition %d", p);
        err = BROOK_ERR_INVALID_REPLICA_ASSIGNMENT;
      } else {
        seen[p] = true;
        err = check_replicas(b, as->broker_ids.items, as->broker_ids.count, errstr, errstr_size);
      }
    }
    g_free(seen);
    return err;
  }
  if (rt->replication_factor == 0 || rt->replication_factor < -1) {
    snprintf(errstr, errstr_size, "Replication factor must be larger than 0, or -1 to use the default value.");
    return BROOK_ERR_INVALID_REPLICATION_FACTOR;
  }
  int64_t rf = rt->replication_factor == -1 ? b->bconf.default_replication_factor : rt->replication_factor;
  if (rf > 1) {
    snprintf(errstr, errstr_size, "Replication factor: %" PRId64 " larger than available brokers: 1.", rf);
    return BROOK_ERR_INVALID_REPLICATION_FACTOR;
  }
  if (rt->num_partitions == 0 || rt->num_partitions < -1) {
    snprintf(errstr, errstr_size, "Number of partitions must be larger than 0, or -1 to use the default value.");
    return BROOK_ERR_INVALID_PARTITIONS;
  }
  *nparts = rt->num_partitions == -1 ? (int32_t)MIN(b->bconf.num_partitions, INT32_MAX) : rt->num_partitions;
  return check_partition_limit(*nparts, errstr, errstr_size);
}

/* The requested configs as an overrides hash (transfer full), or NULL with
 * an error when a value is null (Kafka refuses those in CreateTopics). A name
 * given twice keeps the last value, as Kafka's map does. */
static GHashTable *create_overrides(const ct_topic_t *rt, brook_err_t *err, char *errstr, size_t errstr_size) {
  GHashTable *ov = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  GString *nulls = NULL;
  for (int32_t i = 0; i < rt->configs.count; i++) {
    const brook_create_topics_request_creatable_topic_config_t *c = &rt->configs.items[i];
    if (c->name.len < 0) continue;
    if (c->value.len < 0) {
      if (!nulls) nulls = g_string_new(NULL);
      else g_string_append_c(nulls, ',');
      g_string_append_len(nulls, c->name.ptr, c->name.len);
      continue;
    }
    g_hash_table_replace(ov, g_strndup(c->name.ptr, (gsize)c->name.len),
                         g_strndup(c->value.ptr, (gsize)c->value.len));
  }
  *err = BROOK_ERR_NONE;
  if (nulls) {
    snprintf(errstr, errstr_size, "Null value not supported for topic configs: %s", nulls->str);
    g_string_free(nulls, TRUE);
    g_hash_table_destroy(ov);
    *err = BROOK_ERR_INVALID_CONFIG;
    return NULL;
  }
  return ov;
}

/* v5+: the topic's effective configuration, one entry per topic property. */
static void fill_created_configs(brook_broker_t *b, brook_arena_t *a, GHashTable *overrides, ct_result_t *out) {
  int32_t n = 0;
  while (brook_topic_props[n].name) n++;
  out->configs.items = brook_arena_alloc(a, sizeof(ct_config_t) * (size_t)n);
  out->configs.count = n;
  for (int32_t i = 0; i < n; i++) {
    const conf_prop_t *prop = &brook_topic_props[i];
    ct_config_t *c = &out->configs.items[i];
    int source = 5;
    char *value = conf_topic_value(prop, b->set, overrides, &source);
    c->name = arena_str(a, prop->name);
    c->value = arena_str(a, value);
    c->read_only = false;
    c->config_source = (int8_t)source;
    c->is_sensitive = false;
    g_free(value);
  }
}

handler_ret_t handle_create_topics(brook_broker_t *b, brook_req_t *req, void *resp_) {
  ct_req_t *r = req->msg;
  ct_resp_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int16_t v = req->hdr.api_version;
  bool validate_only = v >= 1 && r->validate_only;
  int32_t n = r->topics.count > 0 ? r->topics.count : 0;

  resp->throttle_time_ms = 0;
  resp->topics.count = n;
  resp->topics.items = brook_arena_alloc(a, sizeof(ct_result_t) * (size_t)(n ? n : 1));

  GHashTable *counts = name_counts_new();
  for (int32_t i = 0; i < n; i++) name_count_add(counts, r->topics.items[i].name);

  for (int32_t i = 0; i < n; i++) {
    const ct_topic_t *rt = &r->topics.items[i];
    ct_result_t *out = &resp->topics.items[i];
    char errstr[ERRSTR_SIZE] = "";
    brook_err_t err = BROOK_ERR_NONE;
    char *name = rt->name.len >= 0 ? g_strndup(rt->name.ptr, (gsize)rt->name.len) : g_strdup("");
    int32_t nparts = 0;
    topic_t *t = NULL;

    out->name = rt->name;
    memset(&out->topic_id, 0, sizeof out->topic_id);
    out->error_message = BROOK_STR_NULL;
    out->topic_config_error_code = 0;
    out->num_partitions = -1;
    out->replication_factor = -1;
    out->configs.items = NULL;
    out->configs.count = 0;

    if (name_count(counts, rt->name) > 1) {
      snprintf(errstr, sizeof errstr,
               "Create topics request from client `%.*s` contains multiple entries for the following topics: %s",
               req->hdr.client_id.len > 0 ? req->hdr.client_id.len : 0,
               req->hdr.client_id.ptr ? req->hdr.client_id.ptr : "", name);
      err = BROOK_ERR_INVALID_REQUEST;
    }
    if (!err) err = broker_topic_name_valid(rt->name.ptr, rt->name.len, errstr, sizeof errstr);
    if (!err && g_hash_table_contains(b->topics, name)) {
      snprintf(errstr, sizeof errstr, "Topic '%s' already exists.", name);
      err = BROOK_ERR_TOPIC_ALREADY_EXISTS;
    }
    if (!err) {
      topic_t *other = colliding_topic(b, name);
      if (other) {
        snprintf(errstr, sizeof errstr,
                 "Topic '%s' collides with existing topic: %s ('.' and '_' are interchangeable in metric names)", name,
                 other->name);
        err = BROOK_ERR_INVALID_TOPIC_EXCEPTION;
      }
    }
    if (!err) err = create_partition_count(b, rt, &nparts, errstr, sizeof errstr);
    GHashTable *overrides = err ? NULL : create_overrides(rt, &err, errstr, sizeof errstr);
    if (!err) {
      /* the reply's configs are computed now: broker_topic_create takes the hash */
      if (v >= 5) fill_created_configs(b, a, overrides, out);
      err = broker_topic_create(b, name, nparts, overrides, validate_only, errstr, sizeof errstr, &t);
    }

    out->error_code = (int16_t)err;
    if (err) {
      out->error_message = arena_str(a, errstr[0] ? errstr : brook_err_str(err));
      /* empty, not null: what Kafka sends, and what every client parses */
      out->configs.items = NULL;
      out->configs.count = 0;
      brook_dbg("admin", "CreateTopics %s refused: %s", name, errstr);
    } else {
      out->num_partitions = nparts;
      out->replication_factor = 1;
      if (t) memcpy(out->topic_id.b, t->id.b, sizeof t->id.b);
    }
    g_free(name);
  }
  g_hash_table_destroy(counts);
  return HANDLER_DONE;
}

/* ------------------------------------------------------------ DeleteTopics */

static bool uuid_is_zero(const brook_uuid_t *id) {
  static const uint8_t zero[16];
  return !memcmp(id->b, zero, 16);
}

/* An id as a key for the duplicate counter, which holds names too: '#' and
 * hex, since '#' is never in a valid topic name and g_strndup stops at NUL. */
static brook_str_t uuid_key(const brook_uuid_t *id, char key[34]) {
  key[0] = '#';
  for (int i = 0; i < 16; i++) snprintf(key + 1 + 2 * i, 3, "%02x", id->b[i]);
  return (brook_str_t){key, 33};
}

/* One DeleteTopics item after resolution. */
typedef struct del_item {
  brook_str_t name;   /* as requested (may be null in v6) */
  brook_uuid_t id;    /* as requested (zero when by name) */
  bool by_id;
  topic_t *topic;     /* resolved; NULL on error */
  brook_err_t err;
  const char *msg;    /* static text or NULL */
  char *owned_msg;    /* g_free'd */
} del_item_t;

handler_ret_t handle_delete_topics(brook_broker_t *b, brook_req_t *req, void *resp_) {
  dt_req_t *r = req->msg;
  dt_resp_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int16_t v = req->hdr.api_version;
  int32_t n = v >= 6 ? (r->topics.count > 0 ? r->topics.count : 0) : (r->topic_names.count > 0 ? r->topic_names.count : 0);

  resp->throttle_time_ms = 0;
  resp->responses.count = n;
  resp->responses.items = brook_arena_alloc(a, sizeof(dt_result_t) * (size_t)(n ? n : 1));
  del_item_t *items = g_new0(del_item_t, (gsize)(n ? n : 1));

  /* 1. what each item names */
  for (int32_t i = 0; i < n; i++) {
    del_item_t *it = &items[i];
    if (v >= 6) {
      it->name = r->topics.items[i].name;
      it->id = r->topics.items[i].topic_id;
      it->by_id = it->name.len < 0;
      if (it->by_id && uuid_is_zero(&it->id)) {
        it->err = BROOK_ERR_INVALID_REQUEST;
        it->msg = "Neither topic name nor id were specified.";
      } else if (!it->by_id && !uuid_is_zero(&it->id)) {
        it->err = BROOK_ERR_INVALID_REQUEST;
        it->msg = "You may not specify both topic name and topic id.";
      }
    } else {
      it->name = r->topic_names.items[i];
    }
  }
  if (!b->bconf.delete_topic_enable) {
    /* Kafka answers pre-v3 clients with INVALID_REQUEST: they do not know the code */
    for (int32_t i = 0; i < n; i++) {
      items[i].err = v < 3 ? BROOK_ERR_INVALID_REQUEST : BROOK_ERR_TOPIC_DELETION_DISABLED;
      items[i].msg = "Topic deletion is disabled (delete.topic.enable=false on this broker).";
    }
  }

  /* 2. duplicates: the same name twice, or the same id twice */
  GHashTable *counts = name_counts_new();
  char hex[34];
  for (int32_t i = 0; i < n; i++) {
    del_item_t *it = &items[i];
    if (it->err) continue;
    name_count_add(counts, it->by_id ? uuid_key(&it->id, hex) : it->name);
  }
  for (int32_t i = 0; i < n; i++) {
    del_item_t *it = &items[i];
    if (it->err || name_count(counts, it->by_id ? uuid_key(&it->id, hex) : it->name) < 2) continue;
    it->err = BROOK_ERR_INVALID_REQUEST;
    it->msg = it->by_id ? "Duplicate topic id." : "Duplicate topic name.";
  }
  g_hash_table_destroy(counts);

  /* 3. resolve */
  for (int32_t i = 0; i < n; i++) {
    del_item_t *it = &items[i];
    if (it->err) continue;
    if (it->by_id) {
      it->topic = g_hash_table_lookup(b->topic_ids, &it->id);
      if (!it->topic) {
        it->err = BROOK_ERR_UNKNOWN_TOPIC_ID;
        it->msg = "This server does not host this topic ID.";
      }
    } else {
      it->topic = broker_topic(b, it->name.ptr, it->name.len);
      if (!it->topic) {
        it->err = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        it->owned_msg = g_strdup_printf("The topic '%.*s' does not exist.", it->name.len > 0 ? it->name.len : 0,
                                        it->name.ptr ? it->name.ptr : "");
      }
    }
    if (it->topic && it->topic->internal) { /* the coordinators' own topics stay */
      it->err = BROOK_ERR_INVALID_REQUEST;
      it->owned_msg = g_strdup_printf("Internal topic %s cannot be deleted.", it->topic->name);
      it->topic = NULL;
    }
  }
  /* a name and an id that reach the same topic: refuse both, delete nothing */
  GHashTable *first = g_hash_table_new(g_direct_hash, g_direct_equal); /* topic -> index + 1 */
  for (int32_t i = 0; i < n; i++) {
    if (!items[i].topic) continue;
    gpointer prev = g_hash_table_lookup(first, items[i].topic);
    if (!prev) {
      g_hash_table_insert(first, items[i].topic, GINT_TO_POINTER(i + 1));
      continue;
    }
    del_item_t *other = &items[GPOINTER_TO_INT(prev) - 1];
    items[i].err = other->err = BROOK_ERR_INVALID_REQUEST;
    items[i].msg = other->msg = "The provided topic name maps to an ID that was already supplied.";
  }
  g_hash_table_destroy(first);
  for (int32_t i = 0; i < n; i++)
    if (items[i].err) items[i].topic = NULL;

  /* 4. delete and answer; copy name and id out before the topic is freed */
  for (int32_t i = 0; i < n; i++) {
    del_item_t *it = &items[i];
    dt_result_t *out = &resp->responses.items[i];
    out->name = it->name;
    out->topic_id = it->id;
    out->error_message = BROOK_STR_NULL;
    if (it->topic) {
      out->name = arena_str(a, it->topic->name);
      out->topic_id = it->topic->id;
      brook_err_t err = broker_topic_delete(b, it->topic);
      it->topic = NULL;
      if (err) {
        /* the topic is gone from memory; only persisting the registry failed */
        it->err = BROOK_ERR_KAFKA_STORAGE_ERROR;
        it->msg = "The topic was deleted but the topic registry could not be written; see the broker log.";
      }
    }
    out->error_code = (int16_t)it->err;
    if (it->err) {
      out->error_message = arena_str(a, it->owned_msg ? it->owned_msg : it->msg ? it->msg : brook_err_str(it->err));
      brook_dbg("admin", "DeleteTopics %.*s refused: %s", out->name.len > 0 ? out->name.len : 0,
                out->name.ptr ? out->name.ptr : "", out->error_message.ptr);
    }
    g_free(it->owned_msg);
  }
  g_free(items);
  return HANDLER_DONE;
}

/* -------------------------------------------------------- CreatePartitions */

handler_ret_t handle_create_partitions(brook_broker_t *b, brook_req_t *req, void *resp_) {
  cp_req_t *r = req->msg;
  cp_resp_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int32_t n = r->topics.count > 0 ? r->topics.count : 0;

  resp->throttle_time_ms = 0;
  resp->results.count = n;
  resp->results.items = brook_arena_alloc(a, sizeof(cp_result_t) * (size_t)(n ? n : 1));

  GHashTable *counts = name_counts_new();
  for (int32_t i = 0; i < n; i++) name_count_add(counts, r->topics.items[i].name);

  for (int32_t i = 0; i < n; i++) {
    const brook_create_partitions_request_create_partitions_topic_t *rt = &r->topics.items[i];
    cp_result_t *out = &resp->results.items[i];
    char errstr[ERRSTR_SIZE] = "";
    brook_err_t err = BROOK_ERR_NONE;
    topic_t *t = NULL;
    out->name = rt->name;
    out->error_message = BROOK_STR_NULL;

    if (name_count(counts, rt->name) > 1) {
      snprintf(errstr, sizeof errstr, "Duplicate topic in request.");
      err = BROOK_ERR_INVALID_REQUEST;
    } else if (!(t = broker_topic(b, rt->name.ptr, rt->name.len))) {
      snprintf(errstr, sizeof errstr, "The topic '%.*s' does not exist.", rt->name.len > 0 ? rt->name.len : 0,
               rt->name.ptr ? rt->name.ptr : "");
      err = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    } else if (rt->count == t->nparts) {
      snprintf(errstr, sizeof errstr, "Topic already has %d partition(s).", t->nparts);
      err = BROOK_ERR_INVALID_PARTITIONS;
    } else if (rt->count < t->nparts) {
      snprintf(errstr, sizeof errstr, "The topic %s currently has %d partition(s); %d would not be an increase.",
               t->name, t->nparts, rt->count);
      err = BROOK_ERR_INVALID_PARTITIONS;
    } else if ((err = check_partition_limit(rt->count, errstr, sizeof errstr))) {
      /* errstr set */
    } else if (rt->assignments.count >= 0) {
      int32_t additional = rt->count - t->nparts;
      if (rt->assignments.count != additional) {
        snprintf(errstr, sizeof errstr,
                 "Attempted to add %d additional partition(s), but only %d assignment(s) were specified.", additional,
                 rt->assignments.count);
        err = BROOK_ERR_INVALID_REPLICA_ASSIGNMENT;
      }
      for (int32_t j = 0; !err && j < rt->assignments.count; j++)
        err = check_replicas(b, rt->assignments.items[j].broker_ids.items, rt->assignments.items[j].broker_ids.count,
                             errstr, sizeof errstr);
    }
    if (!err && t->internal) {
      snprintf(errstr, sizeof errstr, "Partitions cannot be added to internal topic %s: groups map to its partitions.",
               t->name);
      err = BROOK_ERR_INVALID_REQUEST;
    }
    if (!err) err = broker_topic_add_partitions(b, t, rt->count, r->validate_only, errstr, sizeof errstr);

    out->error_code = (int16_t)err;
    if (err) {
      out->error_message = arena_str(a, errstr[0] ? errstr : brook_err_str(err));
      brook_dbg("admin", "CreatePartitions %.*s refused: %s", rt->name.len > 0 ? rt->name.len : 0,
                rt->name.ptr ? rt->name.ptr : "", errstr);
    }
  }
  g_hash_table_destroy(counts);
  return HANDLER_DONE;
}
