/*
 * group.h — the group coordinator's state, shared by the coordinator
 * (group.c), its persistence in __consumer_offsets (group_log.c) and the
 * request handlers (handle_group.c). See group.c for the state machine.
 * @locality broker loop, everything here.
 */
#ifndef BROOK_GROUP_H
#define BROOK_GROUP_H

#include "broker_int.h"

#define GROUP_OFFSETS_TOPIC "__consumer_offsets"

typedef enum group_state {
  GROUP_EMPTY = 0,
  GROUP_PREPARING_REBALANCE,
  GROUP_COMPLETING_REBALANCE,
  GROUP_STABLE,
  GROUP_DEAD,
} group_state_t;

typedef struct group group_t;

/** One protocol a member supports, in its order of preference. */
typedef struct member_protocol {
  char *name;
  GBytes *metadata;
} member_protocol_t;

typedef struct member {
  group_t *group;
  char *id;
  char *instance_id; /* group.instance.id of a static member, NULL if dynamic */
  char *client_id;
  char *client_host;
  int32_t session_timeout_ms;
  int32_t rebalance_timeout_ms;
  char *protocol_type;
  member_protocol_t *protocols;
  int nprotocols;
  GBytes *assignment;      /* from the leader's SyncGroup; NULL until then */
  brook_req_t *join_req;   /* parked JoinGroup, answered when the join phase ends */
  brook_req_t *sync_req;   /* parked SyncGroup, answered when the leader's assignment arrives */
  broker_timer_t session;  /* heartbeat deadline */
  bool is_new;             /* joined in the current rebalance (newer member-join timeout applies) */
} member_t;

/** A committed offset. */
typedef struct group_offset {
  int64_t offset;
  int32_t leader_epoch;
  char *metadata;
  int64_t commit_ts;
  int64_t expire_ts; /* -1: group-level retention (v2-4 RetentionTimeMs sets it) */
} group_offset_t;

/** Key of the offsets table: topic + partition. */
typedef struct group_tp {
  char *topic;
  int32_t partition;
} group_tp_t;

struct group {
  char *id;
  int32_t log_partition;   /* partition of __consumer_offsets holding this group */
  group_state_t state;
  int64_t state_ts_ms;     /* when the current state was entered (Empty: offset retention clock) */
  int32_t generation;
  char *protocol_type;     /* NULL until the first member joins */
  char *protocol;          /* selected protocol, NULL when Empty */
  char *leader;            /* member id of the leader, NULL when none */
  GHashTable *members;     /* member id -> member_t (owned) */
  GHashTable *static_members; /* group.instance.id -> member_t (borrowed) */
  GHashTable *pending;     /* member ids handed out with MEMBER_ID_REQUIRED -> pending_member_t (owned) */
  GHashTable *offsets;     /* group_tp_t* -> group_offset_t* (both owned) */
  broker_timer_t join_timer; /* PreparingRebalance: initial delay / rebalance timeout */
  broker_timer_t sync_timer; /* CompletingRebalance: waiting for the leader's assignment */
  int64_t initial_remaining_ms; /* initial delayed join: time left to extend by */
  bool initial_delay;      /* the join phase is an initial delayed join */
  bool new_member_added;   /* a member joined during the initial delay */
};

/** A member id given out with MEMBER_ID_REQUIRED, waiting for the member to
 *  join with it (expires after the session timeout). */
typedef struct pending_member {
  group_t *group;
  char *id;
  broker_timer_t expiry;
} pending_member_t;

struct group_coord {
  GHashTable *groups;      /* group id -> group_t (owned) */
  topic_t *topic;          /* __consumer_offsets, NULL until first needed */
  broker_timer_t expiry;   /* offsets.retention.check.interval.ms */
  int64_t *rewrite_from;   /* per log partition: log size when the last rewrite ended */
  int32_t nrewrite;
};

/* ---- group.c ---- */
/** A request string as a C string, "" for null. (transfer full: g_free) */
static inline char *group_str(brook_str_t s) { return g_strndup(s.ptr ? s.ptr : "", (gsize)MAX(s.len, 0)); }
/** The same, NULL for null. (transfer full: g_free) */
static inline char *group_str_or_null(brook_str_t s) { return s.len < 0 ? NULL : group_str(s); }
/** A sign of life from a member (commit, heartbeat): its session starts again. */
void group_member_touch(brook_broker_t *b, member_t *m);
const char *group_state_name(group_state_t state);
group_t *group_get(brook_broker_t *b, const char *id);
/** Finds or creates (Empty) a group. */
group_t *group_get_or_create(brook_broker_t *b, const char *id);
/** Removes a group from memory (after its tombstones are written). */
void group_remove(brook_broker_t *b, group_t *g);
/** Frees a member (not in any table any more; its requests already answered). */
void group_member_free(brook_broker_t *b, member_t *m);
/** Arms every member's session timer afresh (groups loaded at start-up). */
void group_sessions_restart(brook_broker_t *b, group_t *g);
/** Creates __consumer_offsets if it does not exist. */
brook_err_t group_coord_ensure_topic(brook_broker_t *b);
/** The __consumer_offsets partition a group id maps to (Kafka:
 *  abs(String.hashCode) % partitions). */
int32_t group_partition_for(const char *group_id, int32_t npartitions);
/** Member lookups for a static-membership-aware request: FENCED_INSTANCE_ID if
 *  instance_id maps to another member, UNKNOWN_MEMBER_ID if the member is
 *  unknown; *out set on success. */
brook_err_t group_member_check(group_t *g, const char *member_id, const char *instance_id, member_t **out);
/** Sets an offset (in memory); takes ownership of metadata. */
void group_offset_set(group_t *g, const char *topic, int32_t partition, int64_t offset, int32_t leader_epoch,
                      char *metadata, int64_t commit_ts, int64_t expire_ts);
bool group_offset_delete(group_t *g, const char *topic, int32_t partition);
/** True if a member of a Stable/rebalancing consumer group subscribes to topic. */
bool group_subscribes_to(group_t *g, const char *topic);

/* ---- group_log.c: the records in __consumer_offsets ---- */
/** Writes committed offsets, one batch: tps holds group_tp_t*, values[i] the
 *  value for tps[i], or values NULL for tombstones. */
brook_err_t group_log_offsets(brook_broker_t *b, group_t *g, GPtrArray *tps, const group_offset_t *values);
/** Writes the group's metadata record (generation, protocol, leader, members). */
brook_err_t group_log_group(brook_broker_t *b, group_t *g);
/** Writes tombstones for every offset of the group and for the group itself. */
brook_err_t group_log_delete_group(brook_broker_t *b, group_t *g);
/** Rebuilds every group from __consumer_offsets. */
brook_err_t group_log_load(brook_broker_t *b, char *errstr, size_t errstr_size);
/** Compaction by rewrite: if a partition of __consumer_offsets has grown by more
 *  than offsets.topic.segment.bytes since its last rewrite, appends the live
 *  state of its groups again and moves the log start past what came before. */
void group_log_maybe_rewrite(brook_broker_t *b, int32_t log_partition);

/* decoders shared with tests (group_log.c) */
typedef struct group_record_key {
  int16_t version; /* 0/1 offset commit, 2 group metadata */
  brook_str_t group;
  brook_str_t topic;
  int32_t partition;
} group_record_key_t;
brook_err_t group_record_key_decode(const uint8_t *p, size_t len, group_record_key_t *key);

#endif
