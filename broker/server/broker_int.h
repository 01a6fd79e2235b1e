/*
 * broker_int.h — the broker's internal state, shared by the event loop
 * (net.c), the topic registry (topics.c), partitions (partition.c) and the
 * request handlers (handle_*.c).
 *
 * Design note
 *  - One thread, the broker loop, owns everything below: topics, partitions,
 *    logs, connections, parked requests. Handlers run on it and never block:
 *    appends are page-cache writes, fetches hand file ranges to sendfile, and
 *    a fetch that must wait is parked, not slept on.
 *  - Request lifecycle (one request in flight per connection, like Kafka's
 *    muted channels, so responses leave in request order):
 *
 *      frame read --decode--> brook_req_t --handler--> DONE ----> encode, queue
 *                                 |                   NO_RESPONSE (acks=0)
 *                                 +--> PARKED (fetch waiting for data)
 *                                          | data arrives / max_wait_ms
 *                                          +--> fetch_complete -> encode, queue
 *
 *    While a request is parked its connection reads no further frames.
 *  - Single node: this node is leader of every partition and the only ISR
 *    member; the high watermark is the log end offset as soon as write()
 *    returned, and the last stable offset equals it (no transactions yet).
 */
#ifndef BROOK_BROKER_INT_H
#define BROOK_BROKER_INT_H

#include <glib.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "brook_broker.h"
#include "brook_err.h"
#include "buf.h"
#include "conf.h"
#include "log.h"
#include "proto.h"

typedef struct conn conn_t;
typedef struct net net_t;
typedef struct topic topic_t;
typedef struct partition partition_t;

/** Idempotent producer state of one producer id on one partition: the last
 *  (up to) five batches, to answer retries with the original offsets. */
#define PRODUCER_BATCH_CACHE 5
typedef struct producer_batch {
  int32_t first_seq;
  int32_t last_seq;
  int64_t first_offset;
  int64_t last_offset;
} producer_batch_t;

typedef struct producer_state {
  int64_t producer_id;
  int16_t epoch;
  int n;                                      /* cached batches, newest last */
  producer_batch_t batches[PRODUCER_BATCH_CACHE];
  int64_t last_ts_ms;                         /* for producer.id.expiration.ms */
} producer_state_t;

struct partition {
  topic_t *topic;
  int32_t index;
  char *dir;
  brook_log_t *log;
  GHashTable *producers; /* int64 pid -> producer_state_t */
};

struct topic {
  char *name;
  brook_uuid_t id;
  int32_t nparts;
  partition_t **parts;
  GHashTable *overrides; /* topic config name -> value (strings, owned) */
  brook_tconf_t tconf;
  bool internal;
};

/** One request being served. Owns its frame copy only when parked. */
typedef struct brook_req {
  brook_broker_t *b;
  conn_t *conn;
  brook_req_hdr_t hdr;
  const brook_api_schema_t *api;
  void *msg;             /* decoded request (arena) */
  brook_arena_t *arena;  /* everything decoded/allocated for this request */
  uint8_t *frame_copy;   /* set when the request outlives its read buffer */
  int64_t recv_ms;
  int64_t deadline_ms;   /* parked and polled: when to answer anyway; -1 none */
  void *parked_state;    /* handler's own data while parked */
  /* A parked request is either polled (fetch: parked_ready is re-asked after
   * appends and at deadline_ms, and answers from parked_state when it says
   * true) or completed by its owner (group joins and syncs: parked_ready is
   * NULL; the owner calls broker_req_complete). parked_drop, if set, tells
   * the owner that the connection went away and the request is being freed. */
  bool (*parked_ready)(brook_broker_t *b, struct brook_req *req, bool deadline_passed);
  void (*parked_drop)(struct brook_req *req);
  void *parked_owner;    /* for parked_drop */
  GList *park_link;      /* in b->parked */
} brook_req_t;

typedef enum handler_ret {
  HANDLER_DONE = 0,        /* resp filled: encode and send */
  HANDLER_NO_RESPONSE = 1, /* e.g. produce with acks=0 */
  HANDLER_PARKED = 2,      /* will complete later via broker_req_complete */
  HANDLER_CLOSE = 3,       /* protocol violation: close the connection */
  HANDLER_TAKEN = 4,       /* the handler parked the request itself (broker_req_park) and its
                              owner completes it, possibly already did: touch it no more */
} handler_ret_t;

/** A one-shot timer on the broker loop, embedded in its owner (timer.c). */
typedef void (*broker_timer_fn)(brook_broker_t *b, void *arg);
typedef struct broker_timer {
  int64_t deadline_ms;
  uint64_t seq;
  broker_timer_fn fire;
  void *arg;
  bool armed;
} broker_timer_t;

typedef struct group_coord group_coord_t;

typedef handler_ret_t (*handler_fn)(brook_broker_t *b, brook_req_t *req, void *resp);

/** Dispatch row: what we advertise in ApiVersions and who serves it. */
typedef struct api_handler {
  int16_t key;
  int16_t min_version; /* advertised */
  int16_t max_version;
  handler_fn handler;
} api_handler_t;

extern const api_handler_t brook_api_handlers[];
const api_handler_t *broker_api_handler(int16_t key);

struct brook_broker {
  GHashTable *set;       /* explicitly set properties (name -> value) */
  brook_bconf_t bconf;
  char *log_dir;
  char cluster_id[32];
  int32_t node_id;
  char host[256];        /* advertised host */
  int port;              /* advertised port (bound port if not advertised) */
  char bootstrap[300];

  GHashTable *topics;    /* name -> topic_t */
  GHashTable *topic_ids; /* brook_uuid_t* -> topic_t (borrowed) */

  net_t *net;
  GThread *thread;
  int64_t next_housekeep_ms;

  int64_t next_producer_id;
  int64_t producer_id_block_end; /* persisted upper bound of handed-out ids */

  GQueue parked;         /* brook_req_t* parked requests (fetches, group joins/syncs) */
  GTree *timers;         /* broker_timer_t*, nearest deadline first (timer.c) */
  uint64_t timer_seq;
  group_coord_t *groups; /* the group coordinator (group.c) */
  bool data_appended;    /* since parked fetches were last checked */
  int lock_fd;             /* flock'ed <log.dirs>/.lock, -1 when not held */
  int64_t last_checkpoint_ms;
  brook_arena_t *spare_arena; /* one-slot cache of request arenas */
  bool storage_ready;      /* every log opened: checkpoints and the clean marker may be written */
};

/* ---- time ---- */
int64_t broker_now_ms(void);

/* ---- timers (timer.c) ---- */
/** Arms (or re-arms) t to call fire(b, arg) at deadline_ms. */
void broker_timer_arm(brook_broker_t *b, broker_timer_t *t, int64_t deadline_ms, broker_timer_fn fire, void *arg);
/** Disarms t; harmless if not armed. Must be called before freeing an armed timer's owner. */
void broker_timer_cancel(brook_broker_t *b, broker_timer_t *t);
/** Nearest deadline, -1 if none. */
int64_t broker_timers_next(brook_broker_t *b);
/** Fires every timer due at now_ms. */
void broker_timers_run(brook_broker_t *b, int64_t now_ms);
void broker_timers_destroy(brook_broker_t *b);

/* ---- group coordinator (group.c, group_log.c) ---- */
/** Creates the coordinator and loads every group from __consumer_offsets (if
 *  the topic exists). Called after broker_storage_open. */
brook_err_t group_coord_open(brook_broker_t *b, char *errstr, size_t errstr_size);
/** Frees all group state (after the network is gone: no parked requests remain). */
void group_coord_close(brook_broker_t *b);

/* ---- topics.c ---- */
/** Loads meta.properties (creating cluster id), the topic registry, and opens
 *  every partition log, recovering unless the last shutdown was clean. */
brook_err_t broker_storage_open(brook_broker_t *b, char *errstr, size_t errstr_size);
/** Flushes and closes every log, writes checkpoints, marks clean shutdown. */
void broker_storage_close(brook_broker_t *b);
/** Writes recovery-point and log-start-offset checkpoints. */
void broker_checkpoint(brook_broker_t *b);
topic_t *broker_topic(brook_broker_t *b, const char *name, int32_t len);
/** The partition of t at index, NULL if t is NULL or index is out of range. */
static inline partition_t *topic_partition(const topic_t *t, int32_t index) {
  return t && index >= 0 && index < t->nparts ? t->parts[index] : NULL;
}
/** Validates a topic name as Kafka does (legal chars, length ≤ 249, not "." / ".."). */
brook_err_t broker_topic_name_valid(const char *name, int32_t len, char *errstr, size_t errstr_size);
/** Creates a topic; overrides (may be NULL, transfer full) are validated first. */
brook_err_t broker_topic_create(brook_broker_t *b, const char *name, int32_t nparts, GHashTable *overrides,
                                bool validate_only, char *errstr, size_t errstr_size, topic_t **out);
brook_err_t broker_topic_delete(brook_broker_t *b, topic_t *t);
brook_err_t broker_topic_add_partitions(brook_broker_t *b, topic_t *t, int32_t total, bool validate_only,
                                        char *errstr, size_t errstr_size);
/** Replaces a topic's overrides (validated first) and applies them to its logs. */
brook_err_t broker_topic_set_configs(brook_broker_t *b, topic_t *t, GHashTable *overrides, bool validate_only,
                                     char *errstr, size_t errstr_size);
/** Auto-creation on produce/metadata when auto.create.topics.enable. */
topic_t *broker_topic_autocreate(brook_broker_t *b, const char *name, int32_t len, brook_err_t *err);
/** Persists the topic registry (names, ids, partition counts, overrides). */
brook_err_t broker_topics_save(brook_broker_t *b);
void broker_housekeep(brook_broker_t *b, int64_t now_ms);
/** The log settings a topic's configuration implies. */
void broker_log_conf(const topic_t *t, brook_log_conf_t *lc);

/* ---- partition.c ---- */
partition_t *partition_open(brook_broker_t *b, topic_t *t, int32_t index, int64_t recovery_point,
                            int64_t log_start, bool clean, char *errstr, size_t errstr_size);
void partition_close(partition_t *part, bool remove_files);
static inline int64_t partition_hwm(const partition_t *part) { return brook_log_end_offset(part->log); }
/** Validates and appends one partition's produce records (modified in place).
 *  Returns the Kafka error; *base_offset / *append_time / *log_start filled on success. */
brook_err_t partition_produce(brook_broker_t *b, partition_t *part, uint8_t *records, size_t len, int16_t acks,
                              int64_t *base_offset, int64_t *append_time, int64_t *log_start, char *errmsg,
                              size_t errmsg_size);
void partition_expire_producers(partition_t *part, int64_t now_ms, int64_t expiration_ms);
/** Writes the producer-state snapshot (clean shutdown). */
void partition_snapshot_producers(partition_t *part);

/* ---- producer ids ---- */
brook_err_t broker_alloc_producer_id(brook_broker_t *b, int64_t *pid);

/* ---- net.c ---- */
net_t *net_new(brook_broker_t *b, char *errstr, size_t errstr_size);
void net_destroy(net_t *net);
/** Runs the loop until net_stop. */
void net_run(net_t *net);
/** Thread-safe: wakes the loop and makes net_run return. */
void net_stop(net_t *net);
int net_bound_port(net_t *net);

/* ---- dispatch (handlers.c) ---- */
/** Serves one frame (without its size prefix). frame stays valid only during the call. */
void broker_serve_frame(brook_broker_t *b, conn_t *conn, const uint8_t *frame, size_t len);
/** Finishes a parked request: encodes resp and queues it, then resumes the connection. */
void broker_req_complete(brook_broker_t *b, brook_req_t *req, void *resp);
void broker_req_free(brook_req_t *req);
/** Parks req until its owner completes it (parked_ready NULL) or until
 *  parked_ready says so (polled after appends and at deadline_ms). */
void broker_req_park(brook_broker_t *b, brook_req_t *req);
/** Takes a parked request out of the parked queue (its owner is about to
 *  complete it). */
void broker_req_unpark(brook_broker_t *b, brook_req_t *req);
/** Re-examines polled parked requests (after appends, and when deadlines pass). */
void broker_parked_poll(brook_broker_t *b, int64_t now_ms);
/** Drops a closing connection's parked request. */
void broker_conn_closed(brook_broker_t *b, conn_t *conn);
int64_t broker_next_deadline(brook_broker_t *b);

/* net.c services for the dispatcher */
void conn_queue_response(conn_t *conn, brook_buf_t *buf); /* takes buf's contents */
void conn_resume(conn_t *conn);
void conn_set_parked(conn_t *conn, bool parked);
void conn_close_later(conn_t *conn, const char *why);
const char *conn_peer(const conn_t *conn);

/* ---- handlers ---- */
handler_ret_t handle_api_versions(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_metadata(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_produce(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_fetch(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_list_offsets(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_delete_records(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_create_topics(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_delete_topics(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_create_partitions(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_describe_configs(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_alter_configs(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_incremental_alter_configs(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_init_producer_id(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_find_coordinator(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_join_group(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_sync_group(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_heartbeat(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_leave_group(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_offset_commit(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_offset_fetch(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_describe_groups(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_list_groups(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_delete_groups(brook_broker_t *b, brook_req_t *req, void *resp);
handler_ret_t handle_offset_delete(brook_broker_t *b, brook_req_t *req, void *resp);

/* fetch.c internals used by the dispatcher: rebuilds a parked fetch's answer in
 * req->parked_state; true when it should be sent now (then it holds slices). */
bool fetch_ready(brook_broker_t *b, brook_req_t *req, bool deadline_passed);

/** Arena string helper for responses. */
static inline brook_str_t arena_str(brook_arena_t *a, const char *s) {
  if (!s) return BROOK_STR_NULL;
  size_t n = strlen(s);
  return (brook_str_t){brook_arena_strndup(a, s, n), (int32_t)n};
}

#endif
