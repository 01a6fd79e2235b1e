/*
 * checkpoint.h — Kafka's offset checkpoint files, as found in every log dir:
 * recovery-point-offset-checkpoint, log-start-offset-checkpoint (and
 * replication-offset-checkpoint). Text, one item per line:
 *
 *   0                      version
 *   2                      number of entries
 *   orders 0 1234          topic partition offset
 *   orders 1 99
 *
 * Writes are atomic: path.tmp is written and fsynced, renamed over path, and
 * the directory is fsynced, so a crash leaves either the old or the new file.
 * @locality any (no shared state); callers serialise writes to one path.
 */
#ifndef BROOK_CHECKPOINT_H
#define BROOK_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "brook_err.h"

typedef struct brook_checkpoint_entry {
  char *topic; /* write: (transfer none); read: owned by the array, see _free */
  int32_t partition;
  int64_t offset;
} brook_checkpoint_entry_t;

/** Writes n entries to path atomically (see above). Topic names must be
 *  non-empty and free of whitespace (Kafka's legal characters are
 *  [a-zA-Z0-9._-]). Returns BROOK_ERR_NONE, BROOK_ERR__BAD_CONFIG for an
 *  unwritable topic name, or BROOK_ERR_KAFKA_STORAGE_ERROR with a message
 *  naming the file in errstr. */
brook_err_t brook_checkpoint_write(const char *path, const brook_checkpoint_entry_t *entries, size_t n,
                                   char *errstr, size_t errstr_size);

/** Reads path. A missing file is an empty checkpoint (*entriesp = NULL,
 *  *np = 0). A malformed one returns BROOK_ERR__MALFORMED with the file and
 *  line in errstr; an unreadable one BROOK_ERR_KAFKA_STORAGE_ERROR.
 *  *entriesp: (transfer full), free with brook_checkpoint_entries_free. */
brook_err_t brook_checkpoint_read(const char *path, brook_checkpoint_entry_t **entriesp, size_t *np, char *errstr,
                                  size_t errstr_size);

/** Frees what brook_checkpoint_read returned. NULL is a no-op. */
void brook_checkpoint_entries_free(brook_checkpoint_entry_t *entries, size_t n);

#endif
