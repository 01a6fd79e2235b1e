/*
 * topology.c — building a topology, cutting it into sub-topologies, and
 * printing it the way Kafka Streams' Topology.describe() does.
 *
 * Design note
 *  - Nodes are added parents-first (a parent must exist when its child is
 *    added), so node index order is a topological order and no cycle can be
 *    built. The processing order of a record is depth-first along children in
 *    the order they were added, as Kafka's ProcessorNode.forward.
 *  - Sub-topologies are the connected parts of the graph, where two
 *    processors sharing a store are connected too (they must run in the same
 *    task). They are found with a union-find over node indexes, and numbered
 *    in the order of each part's smallest source name (Kafka numbers node
 *    groups walking the node names in sorted order; DSL names sort in creation
 *    order).
 *  - Describe order, as Kafka's NODE_COMPARATOR: within a sub-topology and in
 *    the "-->"/"<--" lists, nodes with the larger sub-tree come first
 *    (size = 1 + the children's sizes, counted per path), ties broken by name.
 *  - Building never stops at the first error: the error is returned and the
 *    first one kept, so a DSL can chain calls and report once at the end.
 * @locality a topology is built on one thread; once sealed it is read-only
 * and may be read from every stream thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "streams_int.h"
#include "topology_int.h"

/* ---- errors ---- */

static brook_err_t fail(brook_topology_t *topology, char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static brook_err_t fail(brook_topology_t *topology, char *errstr, size_t errstr_size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (errstr && errstr_size)
    g_strlcpy(errstr, msg, errstr_size);
  if (!topology->error)
    topology->error = msg;
  else
    g_free(msg);
  return BROOK_ERR__BAD_CONFIG;
}

/* ---- lifetime ---- */

static void node_free(topo_node_t *node) {
  if (!node)
    return;
  g_free(node->name);
  g_ptr_array_unref(node->parents);
  g_ptr_array_unref(node->children);
  g_ptr_array_unref(node->stores);
  g_strfreev(node->topics);
  g_free(node->pattern);
  if (node->regex)
    g_regex_unref(node->regex);
  brook_serde_unref(node->key_serde);
  brook_serde_unref(node->value_serde);
  if (node->def.opaque_free)
    node->def.opaque_free(node->def.opaque);
  g_free(node->topic);
  g_free(node->needs_what);
  g_free(node);
}

static void store_free(topo_store_t *store) {
  if (!store)
    return;
  g_free(store->name);
  g_ptr_array_unref(store->processors);
  g_free(store);
}

static void subtopology_free(topo_subtopology_t *sub) {
  g_ptr_array_unref(sub->nodes);
  g_ptr_array_unref(sub->sources);
  g_ptr_array_unref(sub->sinks);
  g_ptr_array_unref(sub->stores);
  g_free(sub);
}

brook_topology_t *brook_topology_new(void) {
  brook_topology_t *topology = g_new0(brook_topology_t, 1);
  topology->refcount = 1;
  topology->nodes = g_ptr_array_new_with_free_func((GDestroyNotify)node_free);
  topology->nodes_by_name = g_hash_table_new(g_str_hash, g_str_equal);
  topology->stores = g_ptr_array_new_with_free_func((GDestroyNotify)store_free);
  topology->stores_by_name = g_hash_table_new(g_str_hash, g_str_equal);
  topology->subtopologies = g_ptr_array_new_with_free_func((GDestroyNotify)subtopology_free);
  return topology;
}

brook_topology_t *brook_topology_ref(brook_topology_t *topology) {
  g_atomic_int_inc(&topology->refcount);
  return topology;
}

void brook_topology_unref(brook_topology_t *topology) {
  if (!topology || !g_atomic_int_dec_and_test(&topology->refcount))
    return;
  g_hash_table_destroy(topology->nodes_by_name);
  g_hash_table_destroy(topology->stores_by_name);
  g_ptr_array_unref(topology->subtopologies);
  g_ptr_array_unref(topology->nodes);
  g_ptr_array_unref(topology->stores);
  g_free(topology->error);
  g_free(topology);
}

const char *brook_topology_error(const brook_topology_t *topology) {
  return topology->error;
}

void brook_free(void *p) {
  g_free(p);
}

/* ---- adding nodes ---- */

/* Common checks and the new node (not yet linked), or NULL after fail(). */
static topo_node_t *node_new(brook_topology_t *topology, const char *name, topo_node_kind_t kind,
                             const char *what, char *errstr, size_t errstr_size) {
  if (topology->sealed) {
    fail(topology, errstr, errstr_size, "%s \"%s\": the topology is in use by an application and cannot change",
         what, name ? name : "(null)");
    return NULL;
  }
  if (!name || !*name) {
    fail(topology, errstr, errstr_size, "%s: a node needs a non-empty name", what);
    return NULL;
  }
  if (g_hash_table_contains(topology->nodes_by_name, name)) {
    fail(topology, errstr, errstr_size, "%s \"%s\": a node with this name exists already", what, name);
    return NULL;
  }
  topo_node_t *node = g_new0(topo_node_t, 1);
  node->name = g_strdup(name);
  node->kind = kind;
  node->index = -1;
  node->subtopology = -1;
  node->parents = g_ptr_array_new();
  node->children = g_ptr_array_new();
  node->stores = g_ptr_array_new();
  return node;
}

/* Resolves the parent list; every parent must exist and not be a sink. */
static bool link_parents(brook_topology_t *topology, topo_node_t *node, const char *const *parents,
                         const char *what, char *errstr, size_t errstr_size) {
  if (!parents || !parents[0]) {
    fail(topology, errstr, errstr_size, "%s \"%s\": needs at least one parent", what, node->name);
    return false;
  }
  for (size_t i = 0; parents[i]; i++) {
    topo_node_t *parent = g_hash_table_lookup(topology->nodes_by_name, parents[i]);
    if (!parent) {
      fail(topology, errstr, errstr_size, "%s \"%s\": parent \"%s\" is not in the topology (add parents first)",
           what, node->name, parents[i]);
      return false;
    }
    if (parent->kind == TOPO_SINK) {
      fail(topology, errstr, errstr_size, "%s \"%s\": parent \"%s\" is a sink, which has no children", what,
           node->name, parents[i]);
      return false;
    }
    for (guint j = 0; j < node->parents->len; j++)
      if (node->parents->pdata[j] == parent) {
        fail(topology, errstr, errstr_size, "%s \"%s\": parent \"%s\" is listed twice", what, node->name,
             parents[i]);
        return false;
      }
    g_ptr_array_add(node->parents, parent);
  }
  return true;
}

static void node_insert(brook_topology_t *topology, topo_node_t *node) {
  node->index = (int)topology->nodes->len;
  g_ptr_array_add(topology->nodes, node);
  g_hash_table_insert(topology->nodes_by_name, node->name, node);
  for (guint i = 0; i < node->parents->len; i++)
    g_ptr_array_add(((topo_node_t *)node->parents->pdata[i])->children, node);
}

static bool topic_name_ok(const char *topic) {
  if (!topic || !*topic || strlen(topic) > 249)
    return false;
  for (const char *p = topic; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
      return false;
  return true;
}

brook_err_t brook_topology_add_source(brook_topology_t *topology, const char *name, const brook_source_opts_t *opts,
                                      char *errstr, size_t errstr_size) {
  topo_node_t *node = node_new(topology, name, TOPO_SOURCE, "source", errstr, errstr_size);
  if (!node)
    return BROOK_ERR__BAD_CONFIG;
  bool has_topics = opts->topics && opts->topics[0];
  if (has_topics == (opts->pattern != NULL)) {
    node_free(node);
    return fail(topology, errstr, errstr_size, "source \"%s\": give either topics or a pattern", name);
  }
  if (has_topics) {
    for (size_t i = 0; opts->topics[i]; i++) {
      if (!topic_name_ok(opts->topics[i])) {
        node_free(node);
        return fail(topology, errstr, errstr_size,
                    "source \"%s\": \"%s\" is not a valid topic name (1-249 of [a-zA-Z0-9._-])", name,
                    opts->topics[i]);
      }
      for (guint n = 0; n < topology->nodes->len; n++) {
        topo_node_t *other = topology->nodes->pdata[n];
        if (other->kind == TOPO_SOURCE && other->topics && other->internal == opts->internal &&
            g_strv_contains((const char *const *)other->topics, opts->topics[i])) {
          node_free(node);
          return fail(topology, errstr, errstr_size, "source \"%s\": topic \"%s\" is already read by source \"%s\"",
                      name, opts->topics[i], other->name);
        }
      }
    }
    node->topics = g_strdupv((char **)opts->topics);
  } else {
    GError *gerr = NULL;
    char *anchored = g_strdup_printf("^(?:%s)$", opts->pattern);
    node->regex = g_regex_new(anchored, G_REGEX_OPTIMIZE, 0, &gerr);
    g_free(anchored);
    if (!node->regex) {
      brook_err_t err = fail(topology, errstr, errstr_size, "source \"%s\": bad pattern \"%s\": %s", name,
                             opts->pattern, gerr->message);
      g_error_free(gerr);
      node_free(node);
      return err;
    }
    node->pattern = g_strdup(opts->pattern);
  }
  node->internal = opts->internal;
  node->key_serde = opts->key_serde ? brook_serde_ref(opts->key_serde) : NULL;
  node->value_serde = opts->value_serde ? brook_serde_ref(opts->value_serde) : NULL;
  node->needs_default_key_serde = !opts->key_serde;
  node->needs_default_value_serde = !opts->value_serde;
  node->timestamp_extractor = opts->timestamp_extractor;
  node->timestamp_extractor_opaque = opts->timestamp_extractor_opaque;
  node_insert(topology, node);
  return BROOK_ERR_NONE;
}

brook_err_t brook_topology_add_processor(brook_topology_t *topology, const char *name,
                                         const brook_processor_def_t *def, const char *const *parents,
                                         char *errstr, size_t errstr_size) {
  topo_node_t *node = node_new(topology, name, TOPO_PROCESSOR, "processor", errstr, errstr_size);
  if (!node) {
    if (def && def->opaque_free)
      def->opaque_free(def->opaque);
    return BROOK_ERR__BAD_CONFIG;
  }
  if (def)
    node->def = *def; /* from here the node owns def->opaque */
  if (!def || !def->process) {
    node_free(node);
    return fail(topology, errstr, errstr_size, "processor \"%s\": needs a process function", name);
  }
  if (!link_parents(topology, node, parents, "processor", errstr, errstr_size)) {
    node_free(node);
    return BROOK_ERR__BAD_CONFIG;
  }
  node_insert(topology, node);
  return BROOK_ERR_NONE;
}

brook_err_t brook_topology_add_sink(brook_topology_t *topology, const char *name, const brook_sink_opts_t *opts,
                                    const char *const *parents, char *errstr, size_t errstr_size) {
  topo_node_t *node = node_new(topology, name, TOPO_SINK, "sink", errstr, errstr_size);
  if (!node)
    return BROOK_ERR__BAD_CONFIG;
  if ((opts->topic != NULL) == (opts->topic_extractor != NULL)) {
    node_free(node);
    return fail(topology, errstr, errstr_size, "sink \"%s\": give either a topic or a topic extractor", name);
  }
  if (opts->topic && !topic_name_ok(opts->topic)) {
    node_free(node);
    return fail(topology, errstr, errstr_size,
                "sink \"%s\": \"%s\" is not a valid topic name (1-249 of [a-zA-Z0-9._-])", name, opts->topic);
  }
  if (opts->partitions < 0 || (opts->partitions > 0 && !opts->internal)) {
    node_free(node);
    return fail(topology, errstr, errstr_size,
                "sink \"%s\": a partition count is for internal topics only, and not negative", name);
  }
  if (!link_parents(topology, node, parents, "sink", errstr, errstr_size)) {
    node_free(node);
    return BROOK_ERR__BAD_CONFIG;
  }
  node->topic = g_strdup(opts->topic);
  node->topic_extractor = opts->topic_extractor;
  node->topic_extractor_opaque = opts->topic_extractor_opaque;
  node->internal = opts->internal;
  node->partitions = opts->partitions;
  node->key_serde = opts->key_serde ? brook_serde_ref(opts->key_serde) : NULL;
  node->value_serde = opts->value_serde ? brook_serde_ref(opts->value_serde) : NULL;
  node->needs_default_key_serde = !opts->key_serde;
  node->needs_default_value_serde = !opts->value_serde;
  node_insert(topology, node);
  return BROOK_ERR_NONE;
}

brook_err_t brook_topology_connect_store(brook_topology_t *topology, const char *store_name, const char *processor,
                                         char *errstr, size_t errstr_size) {
  if (topology->sealed)
    return fail(topology, errstr, errstr_size, "store \"%s\": the topology is in use and cannot change",
                store_name ? store_name : "(null)");
  topo_store_t *store = store_name ? g_hash_table_lookup(topology->stores_by_name, store_name) : NULL;
  if (!store)
    return fail(topology, errstr, errstr_size, "processor \"%s\": unknown store \"%s\" (add the store first)",
                processor ? processor : "(null)", store_name ? store_name : "(null)");
  topo_node_t *node = processor ? g_hash_table_lookup(topology->nodes_by_name, processor) : NULL;
  if (!node || node->kind != TOPO_PROCESSOR)
    return fail(topology, errstr, errstr_size, "store \"%s\": \"%s\" is not a processor of the topology",
                store_name, processor ? processor : "(null)");
  for (guint i = 0; i < node->stores->len; i++)
    if (node->stores->pdata[i] == store)
      return BROOK_ERR_NONE;
  g_ptr_array_add(node->stores, store);
  g_ptr_array_add(store->processors, node);
  return BROOK_ERR_NONE;
}

brook_err_t brook_topology_add_store(brook_topology_t *topology, const brook_store_def_t *def,
                                     const char *const *processors, char *errstr, size_t errstr_size) {
  if (topology->sealed)
    return fail(topology, errstr, errstr_size, "store \"%s\": the topology is in use and cannot change",
                def->name ? def->name : "(null)");
  if (!topic_name_ok(def->name))
    return fail(topology, errstr, errstr_size,
                "store \"%s\": a store name must be 1-249 of [a-zA-Z0-9._-] (it names the changelog topic)",
                def->name ? def->name : "(null)");
  if (g_hash_table_contains(topology->stores_by_name, def->name))
    return fail(topology, errstr, errstr_size, "store \"%s\": a store with this name exists already", def->name);
  if (def->kind != BROOK_STORE_KV && (def->retention_ms <= 0 || def->window_size_ms < 0))
    return fail(topology, errstr, errstr_size, "store \"%s\": window and session stores need a retention > 0",
                def->name);
  topo_store_t *store = g_new0(topo_store_t, 1);
  store->def = *def;
  store->name = g_strdup(def->name);
  store->def.name = store->name;
  store->subtopology = -1;
  store->processors = g_ptr_array_new();
  g_ptr_array_add(topology->stores, store);
  g_hash_table_insert(topology->stores_by_name, store->name, store);
  for (size_t i = 0; processors && processors[i]; i++) {
    brook_err_t err = brook_topology_connect_store(topology, store->name, processors[i], errstr, errstr_size);
    if (err)
      return err;
  }
  return BROOK_ERR_NONE;
}

void topology_require_default_serdes(brook_topology_t *topology, const char *name, bool key, bool value,
                                     const char *what) {
  topo_node_t *node = g_hash_table_lookup(topology->nodes_by_name, name);
  g_return_if_fail(node != NULL);
  node->needs_default_key_serde |= key;
  node->needs_default_value_serde |= value;
  if (what) {
    g_free(node->needs_what);
    node->needs_what = g_strdup(what);
  }
}

/* ---- lookups ---- */

topo_node_t *topology_node(const brook_topology_t *topology, const char *name) {
  return g_hash_table_lookup(topology->nodes_by_name, name);
}

topo_store_t *topology_store(const brook_topology_t *topology, const char *name) {
  return g_hash_table_lookup(topology->stores_by_name, name);
}

/* Does source `node` read full topic name `topic`? */
static bool source_reads(const topo_node_t *node, const char *application_id, const char *topic) {
  if (node->regex)
    return g_regex_match(node->regex, topic, 0, NULL);
  size_t prefix = 0;
  if (node->internal) {
    size_t idlen = strlen(application_id);
    if (strncmp(topic, application_id, idlen) != 0 || topic[idlen] != '-')
      return false;
    prefix = idlen + 1;
  }
  return g_strv_contains((const char *const *)node->topics, topic + prefix);
}

topo_node_t *topology_source_of_topic(const brook_topology_t *topology, int sub, const char *application_id,
                                      const char *topic) {
  /* Explicit topics win over patterns, as Kafka resolves them. */
  topo_node_t *by_pattern = NULL;
  for (guint i = 0; i < topology->nodes->len; i++) {
    topo_node_t *node = topology->nodes->pdata[i];
    if (node->kind != TOPO_SOURCE || (sub >= 0 && node->subtopology != sub))
      continue;
    if (!source_reads(node, application_id, topic))
      continue;
    if (!node->regex)
      return node;
    if (!by_pattern)
      by_pattern = node;
  }
  return by_pattern;
}

int topology_subtopology_of_topic(const brook_topology_t *topology, const char *application_id, const char *topic) {
  topo_node_t *node = topology_source_of_topic(topology, -1, application_id, topic);
  return node ? node->subtopology : -1;
}

/* ---- sealing: sub-topologies ---- */

static int uf_find(int *parent, int i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

static void uf_union(int *parent, int a, int b) {
  a = uf_find(parent, a);
  b = uf_find(parent, b);
  if (a != b)
    parent[a < b ? b : a] = a < b ? a : b;
}

/* Kafka's sub-tree size: 1 + the children's sizes (per path). */
static int64_t node_size(const topo_node_t *node, int64_t *memo) {
  if (memo[node->index])
    return memo[node->index];
  int64_t size = 1;
  for (guint i = 0; i < node->children->len; i++)
    size += node_size(node->children->pdata[i], memo);
  memo[node->index] = size;
  return size;
}

typedef struct order_ctx {
  const int64_t *sizes;
} order_ctx_t;

static gint node_cmp(gconstpointer a, gconstpointer b, gpointer data) {
  const topo_node_t *x = *(topo_node_t *const *)a;
  const topo_node_t *y = *(topo_node_t *const *)b;
  const order_ctx_t *ctx = data;
  int64_t sx = ctx->sizes[x->index], sy = ctx->sizes[y->index];
  if (sx != sy)
    return sx > sy ? -1 : 1;
  return strcmp(x->name, y->name);
}

static gint sub_cmp(gconstpointer a, gconstpointer b) {
  const topo_subtopology_t *x = *(topo_subtopology_t *const *)a;
  const topo_subtopology_t *y = *(topo_subtopology_t *const *)b;
  /* by the smallest source name of each */
  const char *nx = NULL, *ny = NULL;
  for (guint i = 0; i < x->sources->len; i++) {
    const char *n = ((topo_node_t *)x->sources->pdata[i])->name;
    if (!nx || strcmp(n, nx) < 0)
      nx = n;
  }
  for (guint i = 0; i < y->sources->len; i++) {
    const char *n = ((topo_node_t *)y->sources->pdata[i])->name;
    if (!ny || strcmp(n, ny) < 0)
      ny = n;
  }
  return strcmp(nx ? nx : "", ny ? ny : "");
}

static int64_t *node_sizes(const brook_topology_t *topology) {
  int64_t *sizes = g_new0(int64_t, topology->nodes->len + 1);
  for (guint i = 0; i < topology->nodes->len; i++)
    node_size(topology->nodes->pdata[i], sizes);
  return sizes;
}

brook_err_t topology_seal(brook_topology_t *topology, char *errstr, size_t errstr_size) {
  if (topology->error) {
    if (errstr && errstr_size)
      g_strlcpy(errstr, topology->error, errstr_size);
    return BROOK_ERR__BAD_CONFIG;
  }
  if (topology->sealed)
    return BROOK_ERR_NONE;
  guint n = topology->nodes->len;
  bool has_source = false;
  for (guint i = 0; i < n; i++)
    has_source |= ((topo_node_t *)topology->nodes->pdata[i])->kind == TOPO_SOURCE;
  if (!has_source)
    return fail(topology, errstr, errstr_size, "the topology has no source: add a stream or a table first");
  for (guint i = 0; i < topology->stores->len; i++) {
    topo_store_t *store = topology->stores->pdata[i];
    if (store->processors->len == 0)
      return fail(topology, errstr, errstr_size, "store \"%s\" is connected to no processor", store->name);
  }

  /* Connected parts: edges parent-child, and processors sharing a store. */
  int *uf = g_new(int, n);
  for (guint i = 0; i < n; i++)
    uf[i] = (int)i;
  for (guint i = 0; i < n; i++) {
    topo_node_t *node = topology->nodes->pdata[i];
    for (guint j = 0; j < node->parents->len; j++)
      uf_union(uf, node->index, ((topo_node_t *)node->parents->pdata[j])->index);
  }
  for (guint i = 0; i < topology->stores->len; i++) {
    topo_store_t *store = topology->stores->pdata[i];
    for (guint j = 1; j < store->processors->len; j++)
      uf_union(uf, ((topo_node_t *)store->processors->pdata[0])->index,
               ((topo_node_t *)store->processors->pdata[j])->index);
  }

  GHashTable *by_root = g_hash_table_new(g_direct_hash, g_direct_equal);
  GPtrArray *subs = g_ptr_array_new();
  for (guint i = 0; i < n; i++) {
    topo_node_t *node = topology->nodes->pdata[i];
    int root = uf_find(uf, (int)i);
    topo_subtopology_t *sub = g_hash_table_lookup(by_root, GINT_TO_POINTER(root + 1));
    if (!sub) {
      sub = g_new0(topo_subtopology_t, 1);
      sub->nodes = g_ptr_array_new();
      sub->sources = g_ptr_array_new();
      sub->sinks = g_ptr_array_new();
      sub->stores = g_ptr_array_new();
      g_hash_table_insert(by_root, GINT_TO_POINTER(root + 1), sub);
      g_ptr_array_add(subs, sub);
    }
    g_ptr_array_add(sub->nodes, node);
    if (node->kind == TOPO_SOURCE)
      g_ptr_array_add(sub->sources, node);
    else if (node->kind == TOPO_SINK)
      g_ptr_array_add(sub->sinks, node);
  }
  g_hash_table_destroy(by_root);
  g_free(uf);

  g_ptr_array_sort(subs, sub_cmp);
  int64_t *sizes = node_sizes(topology);
  order_ctx_t octx = {sizes};
  for (guint s = 0; s < subs->len; s++) {
    topo_subtopology_t *sub = subs->pdata[s];
    sub->id = (int)s;
    for (guint i = 0; i < sub->nodes->len; i++)
      ((topo_node_t *)sub->nodes->pdata[i])->subtopology = (int)s;
    g_ptr_array_sort_with_data(sub->nodes, node_cmp, &octx);
    g_ptr_array_add(topology->subtopologies, sub);
  }
  g_ptr_array_free(subs, TRUE);
  g_free(sizes);

  for (guint i = 0; i < topology->stores->len; i++) {
    topo_store_t *store = topology->stores->pdata[i];
    store->subtopology = ((topo_node_t *)store->processors->pdata[0])->subtopology;
    g_ptr_array_add(((topo_subtopology_t *)topology->subtopologies->pdata[store->subtopology])->stores, store);
  }
  /* depth: longest path from a source; parents come first in index order */
  for (guint i = 0; i < n; i++) {
    topo_node_t *node = topology->nodes->pdata[i];
    node->depth = 0;
    for (guint j = 0; j < node->parents->len; j++) {
      int d = ((topo_node_t *)node->parents->pdata[j])->depth + 1;
      if (d > node->depth)
        node->depth = d;
    }
  }
  topology->sealed = true;
  return BROOK_ERR_NONE;
}

/* ---- describe ---- */

static void append_node_list(GString *out, GPtrArray *list, const int64_t *sizes) {
  if (list->len == 0) {
    g_string_append(out, "none");
    return;
  }
  GPtrArray *sorted = g_ptr_array_copy(list, NULL, NULL);
  order_ctx_t octx = {sizes};
  g_ptr_array_sort_with_data(sorted, node_cmp, &octx);
  for (guint i = 0; i < sorted->len; i++)
    g_string_append_printf(out, "%s%s", i ? ", " : "", ((topo_node_t *)sorted->pdata[i])->name);
  g_ptr_array_unref(sorted);
}

static void describe_node(GString *out, const topo_node_t *node, const int64_t *sizes) {
  switch (node->kind) {
  case TOPO_SOURCE:
    if (node->topics) {
      g_string_append_printf(out, "    Source: %s (topics: [", node->name);
      for (size_t i = 0; node->topics[i]; i++)
        g_string_append_printf(out, "%s%s", i ? ", " : "", node->topics[i]);
      g_string_append(out, "])\n");
    } else {
      g_string_append_printf(out, "    Source: %s (topic pattern: %s)\n", node->name, node->pattern);
    }
    g_string_append(out, "      --> ");
    append_node_list(out, node->children, sizes);
    g_string_append(out, "\n");
    break;
  case TOPO_PROCESSOR:
    g_string_append_printf(out, "    Processor: %s (stores: [", node->name);
    for (guint i = 0; i < node->stores->len; i++)
      g_string_append_printf(out, "%s%s", i ? ", " : "", ((topo_store_t *)node->stores->pdata[i])->name);
    g_string_append(out, "])\n      --> ");
    append_node_list(out, node->children, sizes);
    g_string_append(out, "\n      <-- ");
    append_node_list(out, node->parents, sizes);
    g_string_append(out, "\n");
    break;
  case TOPO_SINK:
    if (node->topic)
      g_string_append_printf(out, "    Sink: %s (topic: %s)\n", node->name, node->topic);
    else
      g_string_append_printf(out, "    Sink: %s (extractor class: topic extractor %p)\n", node->name,
                             (void *)node->topic_extractor);
    g_string_append(out, "      <-- ");
    append_node_list(out, node->parents, sizes);
    g_string_append(out, "\n");
    break;
  }
}

/* Undoes topology_seal on a topology no application holds (describe of a
 * topology still being built). */
static void unseal(brook_topology_t *topology) {
  g_ptr_array_set_size(topology->subtopologies, 0);
  for (guint i = 0; i < topology->nodes->len; i++)
    ((topo_node_t *)topology->nodes->pdata[i])->subtopology = -1;
  for (guint i = 0; i < topology->stores->len; i++)
    ((topo_store_t *)topology->stores->pdata[i])->subtopology = -1;
  topology->sealed = false;
}

char *brook_topology_describe(const brook_topology_t *topology) {
  /* A topology still being built is sealed for the description and unsealed
   * again, so building can go on; sealing changes nothing that was built. */
  brook_topology_t *t = (brook_topology_t *)topology;
  GString *out = g_string_new("Topologies:\n");
  bool was_sealed = t->sealed;
  char *saved_error = t->error ? g_strdup(t->error) : NULL;
  if (!was_sealed && topology_seal(t, NULL, 0) != BROOK_ERR_NONE) {
    g_string_append_printf(out, "   (invalid topology: %s)\n", t->error ? t->error : "unknown error");
    /* a seal failure is not a building error: keep the error state as it was */
    if (!saved_error) {
      g_free(t->error);
      t->error = NULL;
    }
    g_free(saved_error);
    return g_string_free(out, FALSE);
  }
  g_free(saved_error);
  int64_t *sizes = node_sizes(t);
  for (guint s = 0; s < t->subtopologies->len; s++) {
    topo_subtopology_t *sub = t->subtopologies->pdata[s];
    g_string_append_printf(out, "%sSub-topology: %d\n", s == 0 ? "   " : "  ", sub->id);
    for (guint i = 0; i < sub->nodes->len; i++)
      describe_node(out, sub->nodes->pdata[i], sizes);
    g_string_append(out, "\n");
  }
  g_free(sizes);
  if (!was_sealed)
    unseal(t);
  return g_string_free(out, FALSE);
}
