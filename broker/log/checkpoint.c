/*
 * checkpoint.c — Kafka's offset checkpoint file (see checkpoint.h).
 *
 * Design note
 *  - Write protocol (crash safety): write path.tmp completely, fsync it,
 *    rename(path.tmp, path), fsync the directory. Until the rename the old
 *    file is intact; after the directory fsync the new one is durable. A
 *    leftover path.tmp from a crash is simply overwritten next time (and log
 *    dirs remove stray *.tmp at open).
 *  - Reading is strict: the version must be 0, the count must match the
 *    number of entry lines, every line has exactly three fields and integers
 *    parse completely. A broken checkpoint must not silently become "offset 0".
 *  Bounds: the whole file is read into memory (a few dozen bytes per partition).
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void seterr(char *errstr, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *errstr, size_t size, const char *fmt, ...) {
  if (!errstr || !size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errstr, size, fmt, ap);
  va_end(ap);
}

static bool topic_ok(const char *t) {
  if (!t || !*t) return false;
  for (; *t; t++)
    if (g_ascii_isspace(*t)) return false;
  return true;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

brook_err_t brook_checkpoint_write(const char *path, const brook_checkpoint_entry_t *entries, size_t n,
                                   char *errstr, size_t errstr_size) {
  GString *s = g_string_new("0\n");
  g_string_append_printf(s, "%zu\n", n);
  for (size_t i = 0; i < n; i++) {
    if (!topic_ok(entries[i].topic)) {
      seterr(errstr, errstr_size, "%s: cannot write topic name \"%s\" (empty or contains whitespace)", path,
             entries[i].topic ? entries[i].topic : "(null)");
      g_string_free(s, TRUE);
      return BROOK_ERR__BAD_CONFIG;
    }
    g_string_append_printf(s, "%s %" PRId32 " %" PRId64 "\n", entries[i].topic, entries[i].partition,
                           entries[i].offset);
  }

  char *tmp = g_strconcat(path, ".tmp", NULL);
  char *dir = g_path_get_dirname(path);
  const char *what = tmp, *op = "create";
  int e = 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    e = errno;
  } else {
    op = "write";
    e = write_all(fd, s->str, s->len);
    if (!e && fsync(fd) != 0) e = errno, op = "fsync";
    if (close(fd) != 0 && !e) e = errno, op = "close";
    if (!e && rename(tmp, path) != 0) e = errno, op = "rename to its final name";
    if (e) {
      unlink(tmp);
    } else {
      /* The rename is durable only once the directory entry is. */
      what = dir;
      op = "fsync";
      int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        e = errno, op = "open";
      else {
        if (fsync(dfd) != 0) e = errno;
        close(dfd);
      }
    }
  }
  if (e) seterr(errstr, errstr_size, "cannot %s %s: %s", op, what, g_strerror(e));
  g_free(tmp);
  g_free(dir);
  g_string_free(s, TRUE);
  return e ? BROOK_ERR_KAFKA_STORAGE_ERROR : BROOK_ERR_NONE;
}

void brook_checkpoint_entries_free(brook_checkpoint_entry_t *entries, size_t n) {
  if (!entries) return;
  for (size_t i = 0; i < n; i++) g_free(entries[i].topic);
  g_free(entries);
}

brook_err_t brook_checkpoint_read(const char *path, brook_checkpoint_entry_t **entriesp, size_t *np, char *errstr,
                                  size_t errstr_size) {
  *entriesp = NULL;
  *np = 0;
  char *text = NULL;
  gsize len = 0;
  GError *gerr = NULL;
  if (!g_file_get_contents(path, &text, &len, &gerr)) {
    bool missing = g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    if (!missing) seterr(errstr, errstr_size, "cannot read %s: %s", path, gerr->message);
    g_clear_error(&gerr);
    return missing ? BROOK_ERR_NONE : BROOK_ERR_KAFKA_STORAGE_ERROR;
  }
  brook_err_t err = BROOK_ERR__MALFORMED;
  brook_checkpoint_entry_t *entries = NULL;
  size_t count = 0, filled = 0;
  char **lines = NULL;
  if (memchr(text, 0, len)) {
    seterr(errstr, errstr_size, "%s: malformed checkpoint: NUL byte", path);
    goto out;
  }
  lines = g_strsplit(text, "\n", -1);
  guint nlines = g_strv_length(lines);
  /* A final newline leaves one empty string at the end; nothing else may be empty. */
  if (nlines && !lines[nlines - 1][0]) nlines--;
  guint64 v;
  if (nlines < 2) {
    seterr(errstr, errstr_size, "%s: malformed checkpoint: %s", path, nlines ? "no entry count" : "empty file");
    goto out;
  }
  if (!g_ascii_string_to_unsigned(lines[0], 10, 0, G_MAXINT32, &v, NULL) || v != 0) {
    seterr(errstr, errstr_size, "%s: line 1: unsupported checkpoint version \"%s\" (expected 0)", path, lines[0]);
    goto out;
  }
  if (!g_ascii_string_to_unsigned(lines[1], 10, 0, G_MAXINT32, &v, NULL)) {
    seterr(errstr, errstr_size, "%s: line 2: bad entry count \"%s\"", path, lines[1]);
    goto out;
  }
  count = (size_t)v;
  if (nlines - 2 != count) {
    seterr(errstr, errstr_size, "%s: malformed checkpoint: %zu entries announced, %u lines present", path, count,
           nlines - 2);
    goto out;
  }
  entries = g_new0(brook_checkpoint_entry_t, count ? count : 1);
  for (size_t i = 0; i < count; i++, filled++) {
    const char *line = lines[i + 2];
    char **f = g_strsplit(line, " ", -1);
    gint64 part, off;
    bool ok = g_strv_length(f) == 3 && topic_ok(f[0]) &&
              g_ascii_string_to_signed(f[1], 10, 0, G_MAXINT32, &part, NULL) &&
              g_ascii_string_to_signed(f[2], 10, G_MININT64, G_MAXINT64, &off, NULL);
    if (ok) {
      entries[i].topic = g_strdup(f[0]);
      entries[i].partition = (int32_t)part;
      entries[i].offset = off;
    }
    g_strfreev(f);
    if (!ok) {
      seterr(errstr, errstr_size, "%s: line %zu: expected \"topic partition offset\", got \"%s\"", path, i + 3, line);
      goto out;
    }
  }
  *entriesp = entries;
  *np = count;
  entries = NULL;
  err = BROOK_ERR_NONE;
out:
  brook_checkpoint_entries_free(entries, filled);
  g_strfreev(lines);
  g_free(text);
  return err;
}
