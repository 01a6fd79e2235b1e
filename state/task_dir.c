/*
 * task_dir.c — a task's state directory: lock and checkpoint file.
 *
 * Design note
 *   Layout:  <state.dir>/<application.id>/<task id>/
 *              .lock          flock(LOCK_EX) held from open to close
 *              .checkpoint    changelog offsets the local stores reflect
 *              rocksdb/<store name>/   one RocksDB instance per store
 *
 *   Lock: flock() on ".lock", taken non-blocking. flock locks belong to the
 *   open file description, so a second open of the same directory fails with
 *   BROOK_ERR__LOCKED whether it comes from another process or from this one;
 *   the kernel drops the lock when the holder dies (kill -9 included), so there
 *   is no stale-lock cleanup. The file itself is never removed (removing it
 *   while another process waits to lock it would let two holders exist).
 *
 *   Checkpoint: Kafka Streams' OffsetCheckpoint text format, version 0:
 *        0                      <- version
 *        2                      <- number of entries
 *        app-counts-changelog 3 1042
 *        app-totals-changelog 3 77
 *   "topic partition offset" per line, offset = the next changelog offset the
 *   store has NOT applied (the one to restore from). Written atomically:
 *   ".checkpoint.tmp", write, fsync, rename over ".checkpoint", fsync the
 *   directory — a crash leaves the old or the new file, never a torn one. Read
 *   once at open; a file that does not parse is BROOK_ERR__CORRUPT with the line
 *   that failed (the operator removes it, forcing a full restore). Kafka skips
 *   entries with negative offsets, and so do we.
 *
 *   State: open ──checkpoint_set*──▶ dirty ──checkpoint_write──▶ clean … close.
 *   checkpoint_clear removes the file and forgets the offsets.
 *
 * @locality stream thread owning the task.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "blog.h"
#include "state_int.h"

typedef struct ckpt_entry {
  char *topic;
  int32_t partition;
  int64_t offset;
} ckpt_entry_t;

struct brook_task_dir {
  char *path;
  char *task_id;
  int lock_fd;
  GArray *ckpt; /* ckpt_entry_t */
};

static void ckpt_entry_clear(gpointer p) { g_free(((ckpt_entry_t *)p)->topic); }

static brook_err_t errno_err(int e) {
  if (e == ENOSPC || e == EDQUOT) return BROOK_ERR__NOSPC;
  if (e == ENOENT) return BROOK_ERR__NOENT;
  return BROOK_ERR__IO;
}

static bool task_id_ok(const char *id) {
  if (!id || !*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0) return false;
  return strchr(id, '/') == NULL;
}

/* Parses the checkpoint text; fills dir->ckpt. */
static brook_err_t ckpt_parse(brook_task_dir_t *dir, const char *file, const char *text, char *errstr,
                              size_t errstr_size) {
  char **lines = g_strsplit(text, "\n", -1);
  guint nlines = g_strv_length(lines);
  /* a trailing newline leaves one empty last element */
  if (nlines > 0 && lines[nlines - 1][0] == '\0') nlines--;
  brook_err_t err = BROOK_ERR__CORRUPT;
  guint64 count = 0;
  guint line = 0;
  if (nlines < 2) {
    g_snprintf(errstr, errstr_size, "%s: truncated checkpoint (%u lines, need version and count)", file,
               nlines);
    goto out;
  }
  line = 1;
  if (strcmp(g_strchomp(lines[0]), "0") != 0) {
    g_snprintf(errstr, errstr_size, "%s:1: unknown checkpoint version \"%s\" (expected 0)", file, lines[0]);
    goto out;
  }
  line = 2;
  if (!g_ascii_string_to_unsigned(g_strchomp(lines[1]), 10, 0, 1u << 24, &count, NULL)) {
    g_snprintf(errstr, errstr_size, "%s:2: bad entry count \"%s\"", file, lines[1]);
    goto out;
  }
  if (nlines - 2 != count) {
    g_snprintf(errstr, errstr_size, "%s: checkpoint says %" G_GUINT64_FORMAT " entries but has %u", file,
               count, nlines - 2);
    goto out;
  }
  for (guint i = 2; i < nlines; i++) {
    line = i + 1;
    char **f = g_strsplit(g_strchomp(lines[i]), " ", -1);
    gint64 part = 0, off = 0;
    bool ok = g_strv_length(f) == 3 && f[0][0] &&
              g_ascii_string_to_signed(f[1], 10, 0, G_MAXINT32, &part, NULL) &&
              g_ascii_string_to_signed(f[2], 10, G_MININT64, G_MAXINT64, &off, NULL);
    if (ok && off >= 0) {
      ckpt_entry_t e = {g_strdup(f[0]), (int32_t)part, off};
      g_array_append_val(dir->ckpt, e);
    } else if (ok) {
      brook_log(BROOK_LOG_WARNING, "state", "%s:%u: ignoring negative offset %" G_GINT64_FORMAT " for %s-%d",
                file, line, off, f[0], (int)part);
    }
    if (!ok)
      g_snprintf(errstr, errstr_size, "%s:%u: malformed entry \"%s\" (want \"topic partition offset\")", file,
                 line, lines[i]);
    g_strfreev(f);
    if (!ok) goto out;
  }
  err = BROOK_ERR_NONE;
out:
  g_strfreev(lines);
  return err;
}

brook_err_t brook_task_dir_open(brook_state_env_t *env, const char *task_id, brook_task_dir_t **dirp,
                                char *errstr, size_t errstr_size) {
  *dirp = NULL;
  if (!task_id_ok(task_id)) {
    g_snprintf(errstr, errstr_size, "invalid task id \"%s\"", task_id ? task_id : "");
    return BROOK_ERR__BAD_CONFIG;
  }
  char *path = g_build_filename(state_env_state_dir(env), state_env_application_id(env), task_id, NULL);
  if (g_mkdir_with_parents(path, 0755) != 0) {
    int e = errno;
    g_snprintf(errstr, errstr_size, "creating task directory %s: %s", path, g_strerror(e));
    g_free(path);
    return errno_err(e);
  }
  char *lock_path = g_build_filename(path, ".lock", NULL);
  int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    g_snprintf(errstr, errstr_size, "opening %s: %s", lock_path, g_strerror(e));
    g_free(lock_path);
    g_free(path);
    return errno_err(e);
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
      g_snprintf(errstr, errstr_size, "task directory %s is locked by another process or instance (%s)", path,
                 lock_path);
    else
      g_snprintf(errstr, errstr_size, "locking %s: %s", lock_path, g_strerror(e));
    g_free(lock_path);
    g_free(path);
    return e == EWOULDBLOCK ? BROOK_ERR__LOCKED : BROOK_ERR__IO;
  }
  g_free(lock_path);

  brook_task_dir_t *dir = g_new0(brook_task_dir_t, 1);
  dir->path = path;
  dir->task_id = g_strdup(task_id);
  dir->lock_fd = fd;
  dir->ckpt = g_array_new(FALSE, FALSE, sizeof(ckpt_entry_t));
  g_array_set_clear_func(dir->ckpt, ckpt_entry_clear);

  char *file = g_build_filename(path, ".checkpoint", NULL);
  char *text = NULL;
  gsize len = 0;
  GError *gerr = NULL;
  brook_err_t err = BROOK_ERR_NONE;
  if (g_file_get_contents(file, &text, &len, &gerr)) {
    if (strlen(text) != len) {
      g_snprintf(errstr, errstr_size, "%s: checkpoint holds NUL bytes", file);
      err = BROOK_ERR__CORRUPT;
    } else {
      err = ckpt_parse(dir, file, text, errstr, errstr_size);
    }
    g_free(text);
  } else if (!g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
    g_snprintf(errstr, errstr_size, "reading %s: %s", file, gerr->message);
    err = BROOK_ERR__IO;
  }
  g_clear_error(&gerr);
  g_free(file);
  if (err) {
    brook_task_dir_close(dir);
    return err;
  }
  brook_dbg("state", "task directory %s open, %u checkpoint entries", path, dir->ckpt->len);
  *dirp = dir;
  return BROOK_ERR_NONE;
}

void brook_task_dir_close(brook_task_dir_t *dir) {
  if (!dir) return;
  if (dir->lock_fd >= 0) {
    flock(dir->lock_fd, LOCK_UN);
    close(dir->lock_fd);
  }
  g_array_free(dir->ckpt, TRUE);
  g_free(dir->task_id);
  g_free(dir->path);
  g_free(dir);
}

static ckpt_entry_t *ckpt_find(const brook_task_dir_t *dir, const char *topic, int32_t partition) {
  for (guint i = 0; i < dir->ckpt->len; i++) {
    ckpt_entry_t *e = &g_array_index(dir->ckpt, ckpt_entry_t, i);
    if (e->partition == partition && strcmp(e->topic, topic) == 0) return e;
  }
  return NULL;
}

int64_t brook_task_dir_checkpoint_get(const brook_task_dir_t *dir, const char *topic, int32_t partition) {
  ckpt_entry_t *e = ckpt_find(dir, topic, partition);
  return e ? e->offset : -1;
}

void brook_task_dir_checkpoint_set(brook_task_dir_t *dir, const char *topic, int32_t partition,
                                   int64_t offset) {
  g_assert(topic && !strchr(topic, ' ') && !strchr(topic, '\n'));
  ckpt_entry_t *e = ckpt_find(dir, topic, partition);
  if (offset < 0) { /* forget it */
    if (e) g_array_remove_index(dir->ckpt, (guint)(e - (ckpt_entry_t *)(void *)dir->ckpt->data));
    return;
  }
  if (e) {
    e->offset = offset;
    return;
  }
  ckpt_entry_t n = {g_strdup(topic), partition, offset};
  g_array_append_val(dir->ckpt, n);
}

static bool write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static int fsync_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

brook_err_t brook_task_dir_checkpoint_write(brook_task_dir_t *dir, char *errstr, size_t errstr_size) {
  GString *s = g_string_new("0\n");
  g_string_append_printf(s, "%u\n", dir->ckpt->len);
  for (guint i = 0; i < dir->ckpt->len; i++) {
    ckpt_entry_t *e = &g_array_index(dir->ckpt, ckpt_entry_t, i);
    g_string_append_printf(s, "%s %d %" G_GINT64_FORMAT "\n", e->topic, (int)e->partition, e->offset);
  }
  char *tmp = g_build_filename(dir->path, ".checkpoint.tmp", NULL);
  char *file = g_build_filename(dir->path, ".checkpoint", NULL);
  brook_err_t err = BROOK_ERR_NONE;
  const char *step = "creating";
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) goto fail;
  step = "writing";
  if (!write_all(fd, s->str, s->len)) goto fail_fd;
  step = "syncing";
  if (fsync(fd) != 0) goto fail_fd;
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  step = "renaming";
  if (rename(tmp, file) != 0) goto fail;
  step = "syncing the directory of";
  if (fsync_dir(dir->path) != 0) goto fail;
  goto out;
fail_fd : {
  int e = errno;
  close(fd);
  errno = e;
}
fail : {
  int e = errno;
  g_snprintf(errstr, errstr_size, "%s checkpoint %s: %s", step, tmp, g_strerror(e));
  err = errno_err(e);
  g_unlink(tmp);
}
out:
  g_free(tmp);
  g_free(file);
  g_string_free(s, TRUE);
  return err;
}

brook_err_t brook_task_dir_checkpoint_clear(brook_task_dir_t *dir) {
  g_array_set_size(dir->ckpt, 0);
  char *file = g_build_filename(dir->path, ".checkpoint", NULL);
  brook_err_t err = BROOK_ERR_NONE;
  if (g_unlink(file) != 0 && errno != ENOENT)
    err = errno_err(errno);
  else if (fsync_dir(dir->path) != 0)
    err = errno_err(errno);
  g_free(file);
  return err;
}

const char *brook_task_dir_path(const brook_task_dir_t *dir) { return dir->path; }

char *state_task_dir_store_path(const brook_task_dir_t *dir, const char *store_name) {
  return g_build_filename(dir->path, "rocksdb", store_name, NULL);
}
