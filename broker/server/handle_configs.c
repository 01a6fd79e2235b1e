/*
 * handle_configs.c — DescribeConfigs (v0-4), AlterConfigs (v0-2) and
 * IncrementalAlterConfigs (v0-1) for TOPIC and BROKER resources.
 *
 * Design note
 *  - Everything shown or accepted comes from the property tables in conf.c:
 *    a topic lists every row of brook_topic_props, a broker every row of
 *    brook_broker_props, so DescribeConfigs, validation and the generated
 *    configuration reference cannot disagree.
 *  - Where a topic's value comes from (conf_topic_value), and the synonyms
 *    shown with include_synonyms, in Kafka's order:
 *
 *        topic override              DYNAMIC_TOPIC_CONFIG  (1)
 *        server.properties synonym   STATIC_BROKER_CONFIG  (4)  finest alias first
 *        built-in default            DEFAULT_CONFIG        (5)  finest alias first
 *
 *    The first one that exists is the value and its source.
 *  - Broker configuration is static (read at start-up, like Kafka's
 *    server.properties without dynamic overrides): broker rows are read-only,
 *    the cluster-wide dynamic default resource (name "") is empty, and altering
 *    a BROKER resource is refused with a message saying what to do instead.
 *  - Altering a topic builds the complete new override set first — AlterConfigs
 *    replaces the whole set (Kafka's legacy semantics), IncrementalAlterConfigs
 *    edits a copy of the current one — validates every change, and hands the
 *    set to broker_topic_set_configs (topics.c takes ownership in every case),
 *    which applies it to the partition logs and persists the registry. Nothing
 *    changes unless every change of that resource is valid.
 *  - Request checks shared by both alter APIs follow Kafka's broker-side
 *    preprocessing: a resource named twice, a config key named twice in one
 *    resource, or a null value (other than for DELETE) is INVALID_REQUEST.
 *  - Bound: linear in the request size times the table size (about 60 rows).
 * @locality broker loop.
 */
#include <stdlib.h>

#include "blog.h"
#include "broker_int.h"

typedef brook_describe_configs_request_t dc_req_t;
typedef brook_describe_configs_request_describe_configs_resource_t dc_resource_t;
typedef brook_describe_configs_response_t dc_resp_t;
typedef brook_describe_configs_response_describe_configs_result_t dc_result_t;
typedef brook_describe_configs_response_describe_configs_resource_result_t dc_entry_t;
typedef brook_describe_configs_response_describe_configs_synonym_t dc_synonym_t;

enum { RESOURCE_TOPIC = 2, RESOURCE_BROKER = 4, RESOURCE_BROKER_LOGGER = 8 };
enum { SOURCE_TOPIC = 1, SOURCE_STATIC_BROKER = 4, SOURCE_DEFAULT = 5 };
enum { OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3 };

#define ERRSTR_SIZE 512

static bool str_is(brook_str_t s, const char *c) {
  return s.len >= 0 && (size_t)s.len == strlen(c) && !memcmp(s.ptr, c, (size_t)s.len);
}

/* Checks a BROKER resource name: "" (cluster-wide defaults) or this node's id,
 * with Kafka's messages otherwise. */
static brook_err_t check_broker_name(brook_broker_t *b, brook_str_t name, char *errstr, size_t errstr_size) {
  if (name.len <= 0) return BROOK_ERR_NONE;
  char *s = g_strndup(name.ptr, (gsize)name.len);
  char *end = NULL;
  long long id = strtoll(s, &end, 10);
  brook_err_t err = BROOK_ERR_NONE;
  if (!*s || *end || id < INT32_MIN || id > INT32_MAX) {
    snprintf(errstr, errstr_size, "Broker id must be an integer, but it is: %s", s);
    err = BROOK_ERR_INVALID_REQUEST;
  } else if (id != b->node_id) {
    snprintf(errstr, errstr_size, "Unexpected broker id, expected %d or empty string, but received %s", b->node_id, s);
    err = BROOK_ERR_INVALID_REQUEST;
  }
  g_free(s);
  return err;
}

/* Finds the topic a TOPIC resource names, or the reason it cannot. */
static topic_t *resource_topic(brook_broker_t *b, brook_str_t name, brook_err_t *err, char *errstr,
                               size_t errstr_size) {
  if (name.len <= 0) {
    snprintf(errstr, errstr_size, "Default topic resources are not allowed.");
    *err = BROOK_ERR_INVALID_REQUEST;
    return NULL;
  }
  *err = broker_topic_name_valid(name.ptr, name.len, errstr, errstr_size);
  if (*err) return NULL;
  topic_t *t = broker_topic(b, name.ptr, name.len);
  if (!t) {
    snprintf(errstr, errstr_size, "The topic '%.*s' does not exist.", name.len, name.ptr);
    *err = BROOK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
  }
  return t;
}

static void unsupported_type(int8_t type, char *errstr, size_t errstr_size) {
  if (type == RESOURCE_BROKER_LOGGER)
    snprintf(errstr, errstr_size,
             "Unsupported resource type 8 (BROKER_LOGGER): brookd's log levels are set at start-up (debug=...)");
  else
    snprintf(errstr, errstr_size, "Unknown resource type %d: brookd has TOPIC (2) and BROKER (4) configs", type);
}

/* -------------------------------------------------------- DescribeConfigs */

static bool key_wanted(const dc_resource_t *res, const char *name) {
  if (res->configuration_keys.count < 0) return true;
  for (int32_t i = 0; i < res->configuration_keys.count; i++)
    if (str_is(res->configuration_keys.items[i], name)) return true;
  return false;
}

/* The broker rows that share a topic row's synonym field (alias group, e.g.
 * log.retention.hours/minutes/ms), coarse to fine as in the table. */
static void alias_group(const conf_prop_t *trow, const conf_prop_t **first, const conf_prop_t **last) {
  *first = *last = trow->synonym ? conf_find(brook_broker_props, trow->synonym) : NULL;
  if (!*first || (*first)->off == SIZE_MAX) return;
  while (*first > brook_broker_props && (*first)[-1].off == (*last)->off) (*first)--;
  while ((*last)[1].name && (*last)[1].off == (*first)->off) (*last)++;
}

static void add_synonym(brook_arena_t *a, dc_entry_t *e, const char *name, const char *value, int source) {
  dc_synonym_t *s = &e->synonyms.items[e->synonyms.count++];
  s->name = arena_str(a, name);
  s->value = arena_str(a, value);
  s->source = (int8_t)source;
}

static void entry_common(brook_arena_t *a, const dc_req_t *r, int16_t v, const conf_prop_t *prop, const char *value,
                         int source, bool read_only, dc_entry_t *e) {
  e->name = arena_str(a, prop->name);
  e->value = arena_str(a, value);
  e->read_only = read_only;
  e->is_default = source == SOURCE_DEFAULT;
  e->config_source = (int8_t)source;
  e->is_sensitive = false;
  e->config_type = (int8_t)conf_kafka_type(prop);
  e->documentation = v >= 3 && r->include_documentation ? arena_str(a, prop->doc) : BROOK_STR_NULL;
  e->synonyms.items = NULL;
  e->synonyms.count = 0;
}

static void describe_topic(brook_broker_t *b, brook_arena_t *a, const dc_req_t *r, int16_t v, const dc_resource_t *res,
                           const topic_t *t, dc_result_t *out) {
  bool synonyms = v >= 1 && r->include_synonyms;
  int32_t nrows = 0;
  while (brook_topic_props[nrows].name) nrows++;
  out->configs.items = brook_arena_alloc(a, sizeof(dc_entry_t) * (size_t)nrows);
  out->configs.count = 0;
  for (const conf_prop_t *prop = brook_topic_props; prop->name; prop++) {
    if (!key_wanted(res, prop->name)) continue;
    dc_entry_t *e = &out->configs.items[out->configs.count++];
    int source = SOURCE_DEFAULT;
    char *value = conf_topic_value(prop, b->set, t->overrides, &source);
    entry_common(a, r, v, prop, value, source, false, e);
    g_free(value);
    if (!synonyms) continue;
    const conf_prop_t *first, *last;
    alias_group(prop, &first, &last);
    size_t group = first ? (size_t)(last - first + 1) : 0;
    e->synonyms.items = brook_arena_alloc(a, sizeof(dc_synonym_t) * (1 + 2 * group));
    const char *ov = g_hash_table_lookup(t->overrides, prop->name);
    if (ov) add_synonym(a, e, prop->name, ov, SOURCE_TOPIC);
    for (const conf_prop_t *q = last; first && q >= first; q--) {
      const char *set = b->set ? g_hash_table_lookup(b->set, q->name) : NULL;
      if (set) add_synonym(a, e, q->name, set, SOURCE_STATIC_BROKER);
    }
    for (const conf_prop_t *q = last; first && q >= first; q--)
      if (q->def) add_synonym(a, e, q->name, q->def, SOURCE_DEFAULT);
  }
}

static void describe_broker(brook_broker_t *b, brook_arena_t *a, const dc_req_t *r, int16_t v,
                            const dc_resource_t *res, dc_result_t *out) {
  bool synonyms = v >= 1 && r->include_synonyms;
  out->configs.items = NULL;
  out->configs.count = 0;
  /* "" is the cluster-wide dynamic default resource: brookd has no dynamic configs */
  if (res->resource_name.len <= 0) return;
  int32_t nrows = 0;
  while (brook_broker_props[nrows].name) nrows++;
  out->configs.items = brook_arena_alloc(a, sizeof(dc_entry_t) * (size_t)nrows);
  for (const conf_prop_t *prop = brook_broker_props; prop->name; prop++) {
    if (!key_wanted(res, prop->name)) continue;
    dc_entry_t *e = &out->configs.items[out->configs.count++];
    const char *set = b->set ? g_hash_table_lookup(b->set, prop->name) : NULL;
    entry_common(a, r, v, prop, set ? set : prop->def, set ? SOURCE_STATIC_BROKER : SOURCE_DEFAULT, true, e);
    if (!synonyms) continue;
    e->synonyms.items = brook_arena_alloc(a, sizeof(dc_synonym_t) * 2);
    if (set) add_synonym(a, e, prop->name, set, SOURCE_STATIC_BROKER);
    if (prop->def) add_synonym(a, e, prop->name, prop->def, SOURCE_DEFAULT);
  }
}

handler_ret_t handle_describe_configs(brook_broker_t *b, brook_req_t *req, void *resp_) {
  dc_req_t *r = req->msg;
  dc_resp_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int16_t v = req->hdr.api_version;
  int32_t n = r->resources.count > 0 ? r->resources.count : 0;

  resp->throttle_time_ms = 0;
  resp->results.count = n;
  resp->results.items = brook_arena_alloc(a, sizeof(dc_result_t) * (size_t)(n ? n : 1));
  for (int32_t i = 0; i < n; i++) {
    const dc_resource_t *res = &r->resources.items[i];
    dc_result_t *out = &resp->results.items[i];
    char errstr[ERRSTR_SIZE] = "";
    brook_err_t err = BROOK_ERR_NONE;
    out->resource_type = res->resource_type;
    out->resource_name = res->resource_name;
    out->error_message = BROOK_STR_NULL;
    out->configs.items = NULL;
    out->configs.count = 0;
    if (res->resource_type == RESOURCE_TOPIC) {
      topic_t *t = resource_topic(b, res->resource_name, &err, errstr, sizeof errstr);
      if (t) describe_topic(b, a, r, v, res, t, out);
    } else if (res->resource_type == RESOURCE_BROKER) {
      err = check_broker_name(b, res->resource_name, errstr, sizeof errstr);
      if (!err) describe_broker(b, a, r, v, res, out);
    } else {
      unsupported_type(res->resource_type, errstr, sizeof errstr);
      err = BROOK_ERR_INVALID_REQUEST;
    }
    out->error_code = (int16_t)err;
    if (err) {
      out->error_message = arena_str(a, errstr);
      brook_dbg("admin", "DescribeConfigs %d/%.*s: %s", res->resource_type,
                res->resource_name.len > 0 ? res->resource_name.len : 0,
                res->resource_name.ptr ? res->resource_name.ptr : "", errstr);
    }
  }
  return HANDLER_DONE;
}

/* ------------------------------------------------- AlterConfigs (both kinds) */

/* One requested change in API-neutral form (AlterConfigs is all SETs). */
typedef struct change {
  brook_str_t name;
  int op;
  brook_str_t value;
} change_t;

/* A resource of either alter API in neutral form. */
typedef struct alter_res {
  int8_t type;
  brook_str_t name;
  change_t *changes;
  int32_t nchanges;
} alter_res_t;

/* Splits a list value into trimmed, non-empty items (g_strfreev). */
static char **list_split(const char *value) {
  char **parts = g_strsplit(value ? value : "", ",", -1);
  int n = 0;
  for (int i = 0; parts[i]; i++) {
    g_strstrip(parts[i]);
    if (parts[i][0]) parts[n++] = parts[i];
    else g_free(parts[i]);
  }
  parts[n] = NULL;
  return parts;
}

static bool list_has(char **list, const char *item) {
  for (int i = 0; list[i]; i++)
    if (!strcmp(list[i], item)) return true;
  return false;
}

/* APPEND / SUBTRACT on a list value, starting from the topic's effective one:
 * items are added once, in order, or removed wherever they occur. */
static char *list_edit(const char *current, const char *operand, bool append) {
  char **cur = list_split(current), **ops = list_split(operand);
  GString *out = g_string_new(NULL);
  for (int i = 0; cur[i]; i++) {
    if (!append && list_has(ops, cur[i])) continue;
    if (out->len) g_string_append_c(out, ',');
    g_string_append(out, cur[i]);
  }
  for (int i = 0; append && ops[i]; i++) {
    if (list_has(cur, ops[i])) continue;
    bool dup = false;
    for (int j = 0; j < i && !dup; j++) dup = !strcmp(ops[j], ops[i]);
    if (dup) continue;
    if (out->len) g_string_append_c(out, ',');
    g_string_append(out, ops[i]);
  }
  g_strfreev(cur);
  g_strfreev(ops);
  return g_string_free(out, FALSE);
}

static const char *op_name(int op) {
  switch (op) {
    case OP_SET: return "SET";
    case OP_DELETE: return "DELETE";
    case OP_APPEND: return "APPEND";
    case OP_SUBTRACT: return "SUBTRACT";
  }
  return "?";
}

/* Request-shape checks of one resource, before looking at what it names. */
static brook_err_t check_changes(const alter_res_t *res, char *errstr, size_t errstr_size) {
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GString *nulls = NULL;
  brook_err_t err = BROOK_ERR_NONE;
  for (int32_t i = 0; i < res->nchanges && !err; i++) {
    const change_t *c = &res->changes[i];
    char *name = g_strndup(c->name.ptr ? c->name.ptr : "", (gsize)(c->name.len > 0 ? c->name.len : 0));
    if (!g_hash_table_add(seen, name)) {
      snprintf(errstr, errstr_size, "Error due to duplicate config keys");
      err = BROOK_ERR_INVALID_REQUEST;
    } else if (c->op < OP_SET || c->op > OP_SUBTRACT) {
      snprintf(errstr, errstr_size, "Unknown operations type %d (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT)", c->op);
      err = BROOK_ERR_INVALID_REQUEST;
    } else if (c->op != OP_DELETE && c->value.len < 0) {
      if (!nulls) nulls = g_string_new(NULL);
      else g_string_append(nulls, ", ");
      g_string_append(nulls, name);
    }
  }
  if (!err && nulls) {
    snprintf(errstr, errstr_size, "Null value not supported for : %s", nulls->str);
    err = BROOK_ERR_INVALID_REQUEST;
  }
  if (nulls) g_string_free(nulls, TRUE);
  g_hash_table_destroy(seen);
  return err;
}

/* Applies one change to the new override set. */
static brook_err_t apply_change(brook_broker_t *b, GHashTable *ov, const change_t *c, char *errstr,
                                size_t errstr_size) {
  char *name = g_strndup(c->name.ptr ? c->name.ptr : "", (gsize)(c->name.len > 0 ? c->name.len : 0));
  char *value = c->value.len >= 0 ? g_strndup(c->value.ptr, (gsize)c->value.len) : NULL;
  const conf_prop_t *prop = conf_find(brook_topic_props, name);
  brook_err_t err = BROOK_ERR_NONE;
  if (!prop) {
    snprintf(errstr, errstr_size, "Unknown topic config name: %s", name);
    err = BROOK_ERR_INVALID_CONFIG;
  } else if (prop->flags & CONF_READONLY) {
    snprintf(errstr, errstr_size, "Topic config %s is read-only", name);
    err = BROOK_ERR_INVALID_CONFIG;
  } else if (c->op == OP_DELETE) {
    g_hash_table_remove(ov, name);
  } else if (c->op == OP_SET) {
    err = conf_check(prop, value, errstr, errstr_size);
    if (!err) {
      g_hash_table_replace(ov, name, value);
      name = value = NULL;
    }
  } else if (prop->type != CONF_FLAGS) {
    snprintf(errstr, errstr_size, "Can't %s to key %s because its type is not LIST.", op_name(c->op), name);
    err = BROOK_ERR_INVALID_CONFIG;
  } else {
    int source;
    char *current = conf_topic_value(prop, b->set, ov, &source);
    char *edited = list_edit(current, value, c->op == OP_APPEND);
    g_free(current);
    err = conf_check(prop, edited, errstr, errstr_size);
    if (!err) {
      g_hash_table_replace(ov, name, edited);
      name = NULL;
    } else {
      g_free(edited);
    }
  }
  g_free(name);
  g_free(value);
  return err;
}

/* The common part of AlterConfigs and IncrementalAlterConfigs for one resource
 * that passed the request-shape checks. */
static brook_err_t alter_resource(brook_broker_t *b, const alter_res_t *res, bool incremental, bool validate_only,
                                  char *errstr, size_t errstr_size) {
  brook_err_t err = BROOK_ERR_NONE;
  if (res->type == RESOURCE_BROKER) {
    err = check_broker_name(b, res->name, errstr, errstr_size);
    if (err || res->nchanges == 0) return err;
    GString *names = g_string_new(NULL);
    for (int32_t i = 0; i < res->nchanges; i++)
      g_string_append_printf(names, "%s%.*s", i ? ", " : "", res->changes[i].name.len > 0 ? res->changes[i].name.len : 0,
                             res->changes[i].name.ptr ? res->changes[i].name.ptr : "");
    snprintf(errstr, errstr_size,
             "Cannot update these configs dynamically: %s. brookd's broker configuration is static: set it in "
             "server.properties (or with --override) and restart brookd",
             names->str);
    g_string_free(names, TRUE);
    return BROOK_ERR_INVALID_REQUEST;
  }
  if (res->type != RESOURCE_TOPIC) {
    unsupported_type(res->type, errstr, errstr_size);
    return BROOK_ERR_INVALID_REQUEST;
  }
  topic_t *t = resource_topic(b, res->name, &err, errstr, errstr_size);
  if (!t) return err;
  GHashTable *ov = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  if (incremental) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, t->overrides);
    while (g_hash_table_iter_next(&it, &k, &v)) g_hash_table_replace(ov, g_strdup(k), g_strdup(v));
  }
  for (int32_t i = 0; i < res->nchanges && !err; i++) err = apply_change(b, ov, &res->changes[i], errstr, errstr_size);
  if (err) {
    g_hash_table_destroy(ov);
    return err;
  }
  return broker_topic_set_configs(b, t, ov, validate_only, errstr, errstr_size);
}

/* Runs both alter APIs over neutral resources; fills errors[i] / msgs[i]. */
static void alter_all(brook_broker_t *b, brook_arena_t *a, const alter_res_t *res, int32_t n, bool incremental,
                      bool validate_only, int16_t *errors, brook_str_t *msgs) {
  /* a resource named twice: refuse every occurrence (Kafka does the same) */
  GHashTable *counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  char **keys = g_new0(char *, (gsize)(n ? n : 1));
  for (int32_t i = 0; i < n; i++) {
    keys[i] = g_strdup_printf("%d\t%.*s", res[i].type, res[i].name.len > 0 ? res[i].name.len : 0,
                              res[i].name.ptr ? res[i].name.ptr : "");
    guint c = GPOINTER_TO_UINT(g_hash_table_lookup(counts, keys[i]));
    g_hash_table_replace(counts, g_strdup(keys[i]), GUINT_TO_POINTER(c + 1));
  }
  for (int32_t i = 0; i < n; i++) {
    char errstr[ERRSTR_SIZE] = "";
    brook_err_t err = BROOK_ERR_NONE;
    if (GPOINTER_TO_UINT(g_hash_table_lookup(counts, keys[i])) > 1) {
      snprintf(errstr, sizeof errstr, "Each resource must appear at most once.");
      err = BROOK_ERR_INVALID_REQUEST;
    }
    if (!err) err = check_changes(&res[i], errstr, sizeof errstr);
    if (!err) err = alter_resource(b, &res[i], incremental, validate_only, errstr, sizeof errstr);
    errors[i] = (int16_t)err;
    msgs[i] = err ? arena_str(a, errstr[0] ? errstr : brook_err_str(err)) : BROOK_STR_NULL;
    if (err)
      brook_dbg("admin", "%sAlterConfigs %d/%.*s refused: %s", incremental ? "Incremental" : "", res[i].type,
                res[i].name.len > 0 ? res[i].name.len : 0, res[i].name.ptr ? res[i].name.ptr : "", msgs[i].ptr);
    g_free(keys[i]);
  }
  g_free(keys);
  g_hash_table_destroy(counts);
}

handler_ret_t handle_alter_configs(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_alter_configs_request_t *r = req->msg;
  brook_alter_configs_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int32_t n = r->resources.count > 0 ? r->resources.count : 0;

  alter_res_t *res = brook_arena_alloc(a, sizeof *res * (size_t)(n ? n : 1));
  for (int32_t i = 0; i < n; i++) {
    const brook_alter_configs_request_alter_configs_resource_t *in = &r->resources.items[i];
    int32_t nc = in->configs.count > 0 ? in->configs.count : 0;
    res[i] = (alter_res_t){in->resource_type, in->resource_name, brook_arena_alloc(a, sizeof(change_t) * (size_t)(nc ? nc : 1)), nc};
    for (int32_t j = 0; j < nc; j++)
      res[i].changes[j] = (change_t){in->configs.items[j].name, OP_SET, in->configs.items[j].value};
  }
  int16_t *errors = brook_arena_alloc(a, sizeof *errors * (size_t)(n ? n : 1));
  brook_str_t *msgs = brook_arena_alloc(a, sizeof *msgs * (size_t)(n ? n : 1));
  alter_all(b, a, res, n, false, r->validate_only, errors, msgs);

  resp->throttle_time_ms = 0;
  resp->responses.count = n;
  resp->responses.items = brook_arena_alloc(a, sizeof *resp->responses.items * (size_t)(n ? n : 1));
  for (int32_t i = 0; i < n; i++) {
    resp->responses.items[i].error_code = errors[i];
    resp->responses.items[i].error_message = msgs[i];
    resp->responses.items[i].resource_type = res[i].type;
    resp->responses.items[i].resource_name = res[i].name;
  }
  return HANDLER_DONE;
}

handler_ret_t handle_incremental_alter_configs(brook_broker_t *b, brook_req_t *req, void *resp_) {
  brook_incremental_alter_configs_request_t *r = req->msg;
  brook_incremental_alter_configs_response_t *resp = resp_;
  brook_arena_t *a = req->arena;
  int32_t n = r->resources.count > 0 ? r->resources.count : 0;

  alter_res_t *res = brook_arena_alloc(a, sizeof *res * (size_t)(n ? n : 1));
  for (int32_t i = 0; i < n; i++) {
    const brook_incremental_alter_configs_request_alter_configs_resource_t *in = &r->resources.items[i];
    int32_t nc = in->configs.count > 0 ? in->configs.count : 0;
    res[i] = (alter_res_t){in->resource_type, in->resource_name, brook_arena_alloc(a, sizeof(change_t) * (size_t)(nc ? nc : 1)), nc};
    for (int32_t j = 0; j < nc; j++)
      res[i].changes[j] =
          (change_t){in->configs.items[j].name, in->configs.items[j].config_operation, in->configs.items[j].value};
  }
  int16_t *errors = brook_arena_alloc(a, sizeof *errors * (size_t)(n ? n : 1));
  brook_str_t *msgs = brook_arena_alloc(a, sizeof *msgs * (size_t)(n ? n : 1));
  alter_all(b, a, res, n, true, r->validate_only, errors, msgs);

  resp->throttle_time_ms = 0;
  resp->responses.count = n;
  resp->responses.items = brook_arena_alloc(a, sizeof *resp->responses.items * (size_t)(n ? n : 1));
  for (int32_t i = 0; i < n; i++) {
    resp->responses.items[i].error_code = errors[i];
    resp->responses.items[i].error_message = msgs[i];
    resp->responses.items[i].resource_type = res[i].type;
    resp->responses.items[i].resource_name = res[i].name;
  }
  return HANDLER_DONE;
}
