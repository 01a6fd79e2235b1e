/*
 * state_int.h — what the store implementations share inside state/ (not
 * public). The environment owns the shared RocksDB block cache and the memory
 * budget; every RocksDB-backed store gets its options from it and registers
 * while open so the budget can be re-divided.
 */
#ifndef BROOK_STATE_INT_H
#define BROOK_STATE_INT_H

#include <rocksdb/c.h>

#include "brook_state.h"

/** RocksDB options for a new store named `store_name` under `env`: shared block
 *  cache, a write-buffer size within the budget, create_if_missing, the user's
 *  config setter applied last. (transfer full: rocksdb_options_destroy) */
rocksdb_options_t *state_env_rocksdb_options(brook_state_env_t *env, const char *store_name);

/** Registers an open RocksDB instance with the budget (so memtable sizes can be
 *  re-divided as stores open and close); unregister before rocksdb_close. */
void state_env_db_opened(brook_state_env_t *env, rocksdb_t *db);
void state_env_db_closed(brook_state_env_t *env, rocksdb_t *db);

/** The application id and the changelog topic name for a store,
 *  "<application.id>-<store>-changelog". (transfer full: g_free) */
const char *state_env_application_id(const brook_state_env_t *env);
char *state_changelog_topic(const brook_state_env_t *env, const char *store_name);

/** Maps a RocksDB error string to a brook_err_t (corruption → _CORRUPT,
 *  no space → _NOSPC, lock → _LOCKED, else _IO), copies it into errstr prefixed
 *  with `what`, and frees `rerr`. */
brook_err_t state_rocksdb_err(char *rerr, const char *what, char *errstr, size_t errstr_size);

#endif
