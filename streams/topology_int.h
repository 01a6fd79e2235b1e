/*
 * topology_int.h — the topology as the runtime reads it (topology.c builds it).
 *
 * Invariants once sealed (topology_seal; brook_app_new seals):
 *  - nodes[] is in creation order; node->index is its position there.
 *  - A parent always has a smaller index than its children (parents must exist
 *    when a node is added), so processing order and cycle-freedom are given.
 *  - Sub-topologies are the connected parts of the graph, where processors that
 *    share a store count as connected. Numbered 0.. in the order of their
 *    lowest node index. Every node and store knows its sub-topology.
 *  - Each sub-topology lists its nodes in describe order (sources first, then by
 *    depth from the sources, then by name), its source and sink nodes, its stores.
 *  - Internal topic names (repartition) are kept WITHOUT the application.id
 *    prefix; app_internal_topic() adds it.
 * After sealing nothing changes; the runtime reads it from every thread.
 */
#ifndef BROOK_TOPOLOGY_INT_H
#define BROOK_TOPOLOGY_INT_H

#include <glib.h>

#include "brook_topology.h"

typedef enum topo_node_kind {
  TOPO_SOURCE,
  TOPO_PROCESSOR,
  TOPO_SINK,
} topo_node_kind_t;

typedef struct topo_store topo_store_t;

typedef struct topo_node {
  char *name;
  topo_node_kind_t kind;
  int index;       /* position in topology->nodes */
  int subtopology; /* after seal */
  int depth;       /* longest path from a source (sources 0), after seal */
  GPtrArray *parents;  /* topo_node_t * (not owned) */
  GPtrArray *children; /* topo_node_t * in the order they were added (not owned) */
  GPtrArray *stores;   /* topo_store_t * connected to this processor (not owned) */

  /* TOPO_SOURCE */
  char **topics;  /* NULL-terminated (g_strfreev), or NULL with pattern */
  char *pattern;
  GRegex *regex;  /* compiled pattern */
  bool internal;
  brook_serde_t *key_serde; /* a reference each, or NULL = app default */
  brook_serde_t *value_serde;
  brook_timestamp_extractor_fn timestamp_extractor;
  void *timestamp_extractor_opaque;

  /* TOPO_PROCESSOR */
  brook_processor_def_t def;

  /* TOPO_SINK (key_serde / value_serde / internal above are shared with sources) */
  char *topic; /* NULL with topic_extractor */
  brook_topic_extractor_fn topic_extractor;
  void *topic_extractor_opaque;
  int32_t partitions; /* internal sinks: 0 = from upstream */

  /* Serdes this node needs from default.key.serde / default.value.serde
   * (sources and sinks with a NULL serde always do; DSL processors declare it
   * with topology_require_default_serdes). brook_app_new fails naming the node
   * and `what` when such a default is null. */
  bool needs_default_key_serde;
  bool needs_default_value_serde;
  char *needs_what; /* e.g. "count \"counts\"", for the message; may be NULL */
} topo_node_t;

struct topo_store {
  brook_store_def_t def; /* def.name owned (points at name) */
  char *name;
  int subtopology;       /* after seal; -1 if connected to no processor */
  GPtrArray *processors; /* topo_node_t * (not owned) */
};

typedef struct topo_subtopology {
  int id;
  GPtrArray *nodes;   /* topo_node_t *, describe order */
  GPtrArray *sources; /* source nodes, creation order */
  GPtrArray *sinks;   /* sink nodes, creation order */
  GPtrArray *stores;  /* topo_store_t * */
} topo_subtopology_t;

struct brook_topology {
  gint refcount;
  GPtrArray *nodes; /* topo_node_t * (owned), creation order */
  GHashTable *nodes_by_name;
  GPtrArray *stores; /* topo_store_t * (owned), creation order */
  GHashTable *stores_by_name;
  char *error; /* first building error */
  bool sealed;
  GPtrArray *subtopologies; /* topo_subtopology_t * (owned), after seal */
};

/** Computes sub-topologies, depths and describe order (idempotent). Fails if a
 *  building error was recorded (errstr = that error), if the topology has no
 *  source, or if a store is connected to no processor. @locality building thread */
brook_err_t topology_seal(brook_topology_t *topology, char *errstr, size_t errstr_size);

/** Declares that processor `name` uses the default key and/or value serde
 *  (the DSL calls this when an operator got no serde and none is known).
 *  `what` names the operator in the error message. @locality building thread */
void topology_require_default_serdes(brook_topology_t *topology, const char *name, bool key, bool value,
                                     const char *what);

/** Lookups (NULL when absent). (transfer none) */
topo_node_t *topology_node(const brook_topology_t *topology, const char *name);
topo_store_t *topology_store(const brook_topology_t *topology, const char *name);

/** The sub-topology reading `topic` (a full topic name; internal source topics
 *  match "<application_id>-<name>"), or -1. Patterns are matched too.
 *  @locality any (sealed) */
int topology_subtopology_of_topic(const brook_topology_t *topology, const char *application_id, const char *topic);

/** The source node of sub-topology `sub` reading `topic` (full name), or NULL. */
topo_node_t *topology_source_of_topic(const brook_topology_t *topology, int sub, const char *application_id,
                                      const char *topic);

#endif
