/*
 * brook_err.h — the one error type of brook.
 *
 * 0 is success. Positive values (and -1, UNKNOWN_SERVER_ERROR) are Kafka's wire
 * error codes verbatim, so a handler can put an error straight into a response.
 * Values at or below -200 are local conditions that never go on the wire.
 * Names and texts come from one list (BROOK_ERR_LIST) so they cannot drift.
 */
#ifndef BROOK_ERR_H
#define BROOK_ERR_H

#include <stdint.h>

#define BROOK_ERR_LIST(X)                                                                     \
  X(_TIMED_OUT, -210, "local operation timed out")                                             \
  X(_NOSPC, -209, "no space left on device")                                                  \
  X(_CORRUPT, -208, "stored data is corrupt")                                                 \
  X(_LOCKED, -207, "locked by another process")                                               \
  X(_BAD_CONFIG, -206, "invalid configuration")                                               \
  X(_IO, -205, "local I/O error")                                                             \
  X(_NOMEM, -204, "out of memory")                                                            \
  X(_STATE, -203, "operation not valid in the current state")                                 \
  X(_NOENT, -202, "not found")                                                                \
  X(_MALFORMED, -201, "malformed data")                                                       \
  X(_FAIL, -200, "local failure")                                                             \
  X(UNKNOWN_SERVER_ERROR, -1, "The server experienced an unexpected error")                   \
  X(NONE, 0, "Success")                                                                       \
  X(OFFSET_OUT_OF_RANGE, 1, "The requested offset is not within the range of offsets")        \
  X(CORRUPT_MESSAGE, 2, "The message contents does not match its CRC")                        \
  X(UNKNOWN_TOPIC_OR_PARTITION, 3, "This server does not host this topic-partition")          \
  X(INVALID_FETCH_SIZE, 4, "The requested fetch size is invalid")                             \
  X(LEADER_NOT_AVAILABLE, 5, "There is no leader for this topic-partition")                   \
  X(NOT_LEADER_OR_FOLLOWER, 6, "This server is not the leader or follower")                   \
  X(REQUEST_TIMED_OUT, 7, "The request timed out")                                            \
  X(BROKER_NOT_AVAILABLE, 8, "The broker is not available")                                   \
  X(REPLICA_NOT_AVAILABLE, 9, "The replica is not available")                                 \
  X(MESSAGE_TOO_LARGE, 10, "The request included a message larger than the max message size") \
  X(STALE_CONTROLLER_EPOCH, 11, "The controller moved to another broker")                     \
  X(OFFSET_METADATA_TOO_LARGE, 12, "The metadata field of the offset request was too large")  \
  X(NETWORK_EXCEPTION, 13, "The server disconnected before a response was received")          \
  X(COORDINATOR_LOAD_IN_PROGRESS, 14, "The coordinator is loading")                           \
  X(COORDINATOR_NOT_AVAILABLE, 15, "The coordinator is not available")                        \
  X(NOT_COORDINATOR, 16, "This is not the correct coordinator")                               \
  X(INVALID_TOPIC_EXCEPTION, 17, "The request attempted to use an invalid topic")             \
  X(RECORD_LIST_TOO_LARGE, 18, "The request included a batch larger than the segment size")   \
  X(NOT_ENOUGH_REPLICAS, 19, "Messages are rejected since there are fewer in-sync replicas")  \
  X(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20, "Messages are written with fewer in-sync replicas") \
  X(INVALID_REQUIRED_ACKS, 21, "Produce request specified an invalid value for required acks") \
  X(ILLEGAL_GENERATION, 22, "Specified group generation id is not valid")                     \
  X(INCONSISTENT_GROUP_PROTOCOL, 23, "The group member's protocol type or protocols differ")  \
  X(INVALID_GROUP_ID, 24, "The configured groupId is invalid")                                \
  X(UNKNOWN_MEMBER_ID, 25, "The coordinator is not aware of this member")                     \
  X(INVALID_SESSION_TIMEOUT, 26, "The session timeout is not within the allowed range")       \
  X(REBALANCE_IN_PROGRESS, 27, "The group is rebalancing, so a rejoin is needed")             \
  X(INVALID_COMMIT_OFFSET_SIZE, 28, "The committing offset data size is not valid")           \
  X(TOPIC_AUTHORIZATION_FAILED, 29, "Topic authorization failed")                             \
  X(GROUP_AUTHORIZATION_FAILED, 30, "Group authorization failed")                             \
  X(CLUSTER_AUTHORIZATION_FAILED, 31, "Cluster authorization failed")                         \
  X(INVALID_TIMESTAMP, 32, "The timestamp of the message is out of acceptable range")         \
  X(UNSUPPORTED_SASL_MECHANISM, 33, "The broker does not support the requested SASL mechanism") \
  X(ILLEGAL_SASL_STATE, 34, "Request is not valid given the current SASL state")              \
  X(UNSUPPORTED_VERSION, 35, "The version of API is not supported")                           \
  X(TOPIC_ALREADY_EXISTS, 36, "Topic with this name already exists")                          \
  X(INVALID_PARTITIONS, 37, "Number of partitions is below 1")                                 \
  X(INVALID_REPLICATION_FACTOR, 38, "Replication factor is below 1 or larger than the brokers") \
  X(INVALID_REPLICA_ASSIGNMENT, 39, "Replica assignment is invalid")                          \
  X(INVALID_CONFIG, 40, "Configuration is invalid")                                           \
  X(NOT_CONTROLLER, 41, "This is not the correct controller for this cluster")                \
  X(INVALID_REQUEST, 42, "This most likely occurs because of a request being malformed")      \
  X(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43, "The message format version does not support it")     \
  X(POLICY_VIOLATION, 44, "Request parameters do not satisfy the configured policy")          \
  X(OUT_OF_ORDER_SEQUENCE_NUMBER, 45, "The broker received an out of order sequence number")  \
  X(DUPLICATE_SEQUENCE_NUMBER, 46, "The broker received a duplicate sequence number")         \
  X(INVALID_PRODUCER_EPOCH, 47, "Producer attempted to produce with an old epoch")            \
  X(INVALID_TXN_STATE, 48, "The producer attempted a transactional operation in an invalid state") \
  X(INVALID_PRODUCER_ID_MAPPING, 49, "The producer id is not mapped to the transactional id") \
  X(INVALID_TRANSACTION_TIMEOUT, 50, "The transaction timeout is larger than allowed")        \
  X(CONCURRENT_TRANSACTIONS, 51, "The producer attempted to update a transaction while another is ongoing") \
  X(TRANSACTION_COORDINATOR_FENCED, 52, "The transaction coordinator is fenced")              \
  X(TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53, "Transactional Id authorization failed")       \
  X(SECURITY_DISABLED, 54, "Security features are disabled")                                  \
  X(OPERATION_NOT_ATTEMPTED, 55, "The broker did not attempt to execute this operation")      \
  X(KAFKA_STORAGE_ERROR, 56, "Disk error when trying to access log file on the disk")         \
  X(LOG_DIR_NOT_FOUND, 57, "The user-specified log directory is not found")                   \
  X(SASL_AUTHENTICATION_FAILED, 58, "SASL Authentication failed")                             \
  X(UNKNOWN_PRODUCER_ID, 59, "The broker could not locate the producer metadata")             \
  X(REASSIGNMENT_IN_PROGRESS, 60, "A partition reassignment is in progress")                  \
  X(DELEGATION_TOKEN_AUTH_DISABLED, 61, "Delegation Token feature is not enabled")            \
  X(DELEGATION_TOKEN_NOT_FOUND, 62, "Delegation Token is not found on server")                \
  X(DELEGATION_TOKEN_OWNER_MISMATCH, 63, "Specified Principal is not valid Owner/Renewer")    \
  X(DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, 64, "Delegation Token requests are not allowed")    \
  X(DELEGATION_TOKEN_AUTHORIZATION_FAILED, 65, "Delegation Token authorization failed")       \
  X(DELEGATION_TOKEN_EXPIRED, 66, "Delegation Token is expired")                              \
  X(INVALID_PRINCIPAL_TYPE, 67, "Supplied principalType is not supported")                    \
  X(NON_EMPTY_GROUP, 68, "The group is not empty")                                            \
  X(GROUP_ID_NOT_FOUND, 69, "The group id does not exist")                                    \
  X(FETCH_SESSION_ID_NOT_FOUND, 70, "The fetch session ID was not found")                     \
  X(INVALID_FETCH_SESSION_EPOCH, 71, "The fetch session epoch is invalid")                    \
  X(LISTENER_NOT_FOUND, 72, "There is no listener on the leader broker")                      \
  X(TOPIC_DELETION_DISABLED, 73, "Topic deletion is disabled")                                \
  X(FENCED_LEADER_EPOCH, 74, "The leader epoch in the request is older than the broker's")    \
  X(UNKNOWN_LEADER_EPOCH, 75, "The leader epoch in the request is newer than the broker's")   \
  X(UNSUPPORTED_COMPRESSION_TYPE, 76, "The requesting client does not support the compression type") \
  X(STALE_BROKER_EPOCH, 77, "Broker epoch has changed")                                       \
  X(OFFSET_NOT_AVAILABLE, 78, "The leader high watermark has not caught up")                  \
  X(MEMBER_ID_REQUIRED, 79, "The group member needs to have a valid member id")               \
  X(PREFERRED_LEADER_NOT_AVAILABLE, 80, "The preferred leader was not available")             \
  X(GROUP_MAX_SIZE_REACHED, 81, "The consumer group has reached its max size")                \
  X(FENCED_INSTANCE_ID, 82, "The broker rejected this static consumer: another has the same group.instance.id") \
  X(ELIGIBLE_LEADERS_NOT_AVAILABLE, 83, "Eligible topic partition leaders are not available") \
  X(ELECTION_NOT_NEEDED, 84, "Leader election not needed for topic partition")                \
  X(NO_REASSIGNMENT_IN_PROGRESS, 85, "No partition reassignment is in progress")              \
  X(GROUP_SUBSCRIBED_TO_TOPIC, 86, "Deleting offsets of a topic is forbidden while the group subscribes to it") \
  X(INVALID_RECORD, 87, "This record has failed the validation on broker")                    \
  X(UNSTABLE_OFFSET_COMMIT, 88, "There are unstable offsets that need to be cleared")         \
  X(THROTTLING_QUOTA_EXCEEDED, 89, "The throttling quota has been exceeded")                  \
  X(PRODUCER_FENCED, 90, "There is a newer producer with the same transactionalId")           \
  X(RESOURCE_NOT_FOUND, 91, "A request illegally referred to a resource that does not exist") \
  X(DUPLICATE_RESOURCE, 92, "A request illegally referred to the same resource twice")        \
  X(UNACCEPTABLE_CREDENTIAL, 93, "Requested credential would not meet criteria for acceptability") \
  X(INCONSISTENT_VOTER_SET, 94, "Either the sender or recipient of a voter-only request is not a voter") \
  X(INVALID_UPDATE_VERSION, 95, "The given update version was invalid")                       \
  X(FEATURE_UPDATE_FAILED, 96, "Unable to update finalized features")                         \
  X(PRINCIPAL_DESERIALIZATION_FAILURE, 97, "Request principal deserialization failed")        \
  X(SNAPSHOT_NOT_FOUND, 98, "Requested snapshot was not found")                               \
  X(POSITION_OUT_OF_RANGE, 99, "Requested position is not greater than or equal to zero")     \
  X(UNKNOWN_TOPIC_ID, 100, "This server does not host this topic ID")                         \
  X(DUPLICATE_BROKER_REGISTRATION, 101, "This broker ID is already in use")                   \
  X(BROKER_ID_NOT_REGISTERED, 102, "The given broker ID was not registered")                  \
  X(INCONSISTENT_TOPIC_ID, 103, "The log's topic ID did not match the topic ID in the request") \
  X(INCONSISTENT_CLUSTER_ID, 104, "The clusterId in the request does not match the cluster")  \
  X(TRANSACTIONAL_ID_NOT_FOUND, 105, "The transactionalId could not be found")                \
  X(FETCH_SESSION_TOPIC_ID_ERROR, 106, "The fetch session encountered inconsistent topic ID usage")

typedef enum brook_err {
#define BROOK_ERR_ENUM_(name, code, text) BROOK_ERR_##name = code,
  BROOK_ERR_LIST(BROOK_ERR_ENUM_)
#undef BROOK_ERR_ENUM_
} brook_err_t;

/** Kafka's upper-case name ("MESSAGE_TOO_LARGE"); "_IO" style for local ones.
 *  (transfer none) static string. @locality any */
const char *brook_err_name(brook_err_t err);

/** Human-readable text. (transfer none) static string. @locality any */
const char *brook_err_str(brook_err_t err);

#endif
