/*
 * task.c — one task: a sub-topology instantiated for one input partition,
 * with its processor instances, its stores, its stream time and punctuators;
 * and the processor context API (brook_ctx_*) processors call while it runs.
 *
 * Design note
 *
 * State machine (all transitions on the owning stream thread):
 *
 *            task_new
 *               │  task dir locked, stores open, contexts made, processors NOT initialised
 *               ▼
 *          RESTORING ── task_restore(store, batch)* ──┐
 *               │ ◀──────────────────────────────────┘
 *               │ task_restore_done: flush stores, write checkpoint, def.init in index order
 *               ▼
 *           RUNNING ── task_process (+ due stream-time punctuators)
 *               │      task_punctuate_wall_clock
 *               │      task_flush ─(thread flushes its producer)─▶ task_commit_done
 *               │        (store offsets := acknowledged changelog offsets; the
 *               │        checkpoint FILE only when they moved > 10,000 records
 *               │        past the last one written, as Kafka Streams)
 *               │
 *               │ brook_ctx_fail / internal failure (any state)
 *               ├───────────────────────────────▶ FAILED: every entry point but
 *               │                                  task_close returns the first error
 *               ▼                                         │
 *           task_close(clean) ◀───────────────────────────┘
 *             clean:  def.close in reverse index order, flush stores, write
 *                     checkpoint, close stores, unlock dir
 *             !clean (or FAILED): def.close, clear the checkpoint file (the next
 *                     owner wipes and restores: local state may hold writes the
 *                     changelog never got), close stores, unlock dir
 *
 * Invariants:
 *  - Every processor callback, punctuator, store flush (cache flush listeners
 *    forward downstream) and init/close runs inside a scratch scope of the
 *    task's arena; the outermost scope resets it (scope_begin/scope_end), so
 *    scratch memory lives exactly until the input record, punctuation or flush
 *    that made it is done. Nested scopes on the same arena (a cache flush
 *    while a record is processed) do not reset.
 *  - A record is processed depth-first: brook_ctx_forward calls each child in
 *    the order the children were added and returns when they are done; the
 *    recursion depth is the topology's depth.
 *  - The record context (topic, partition, offset, timestamp) is task-wide:
 *    the input record's while it is processed; topic NULL, partition -1,
 *    offset -1 and the punctuation time (or stream time, for a flush) otherwise.
 *  - The first failure wins: fail_msg is set once, and nothing runs after it
 *    except task_close. Forwarding stops as soon as the task has failed.
 *  - Punctuators are removed only when no punctuation pass is running
 *    (cancel marks them), so a punctuator may cancel itself or others.
 *  - A task never touches librdkafka: sink records and changelog records go
 *    through env->produce.
 *  - The checkpoint file never claims more than the stores hold: it is
 *    written after the stores flushed, with offsets the producer acknowledged.
 *    It may claim less (while running, a commit rewrites it only once the
 *    stores moved more than 10,000 changelog records past it; it is always
 *    written after restoring and at a clean close): a restore then
 *    replays records the store already has, which puts the same values again.
 *
 * Bounds: per record, one strcmp for the source (a hash lookup when the input
 * topic differs from the last record's), O(nodes reached) calls,
 * O(punctuators) checks; scratch memory per record is freed with the record.
 *
 * @locality everything here: the owning stream thread (no locks).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "brook_session_store.h"
#include "brook_window_store.h"
#include "task.h"

typedef enum task_state {
  TASK_RESTORING,
  TASK_RUNNING,
} task_state_t;

typedef struct task_store {
  stream_task_t *task;
  topo_store_t *topo;
  int index;
  bool logged;
  int64_t ckpt_written; /* this changelog's offset in the last checkpoint file written, -1 = none */
  brook_kv_store_t *kv;
  brook_window_store_t *window;
  brook_session_store_t *session;
} task_store_t;

struct brook_processor_context {
  stream_task_t *task;
  topo_node_t *node;
  void *state; /* the processor instance's, from def.init */
  bool inited; /* def.init succeeded: def.close is due */
  /* sources and sinks: the serdes in force (transfer none: node's or conf's) */
  brook_serde_t *key_serde;
  brook_serde_t *value_serde;
  char *sink_topic; /* fixed sinks: the full topic name (owned) */
};

typedef struct punctuator {
  int64_t id;
  brook_processor_context_t *ctx;
  brook_punctuation_type_t type;
  int64_t interval;
  int64_t next; /* fires when the clock (stream time or wall clock) reaches it */
  brook_punctuator_fn fn;
  void *state;
  bool cancelled;
} punctuator_t;

typedef struct partition_time {
  char *topic;
  int32_t partition;
  int64_t time; /* largest extracted timestamp, -1 before any */
} partition_time_t;

struct stream_task {
  task_env_t env;
  const streams_conf_t *conf;
  topo_subtopology_t *sub;
  int sub_id;
  int32_t partition;
  char *id;
  char *log_ctx;
  task_state_t state;
  brook_task_dir_t *dir;

  task_store_t *stores;
  size_t n_stores;
  task_changelog_t *changelogs;
  size_t n_changelogs;

  brook_processor_context_t **ctx_by_index; /* topology->nodes->len entries; NULL outside the sub */
  GPtrArray *ctxs;                          /* this sub's contexts, node index order (owned) */
  GHashTable *source_by_topic;              /* full topic name (owned) -> source context */
  const char *last_src_topic;               /* a key of source_by_topic, or NULL */
  brook_processor_context_t *last_src;      /* its value */
  GArray *partition_times;                  /* partition_time_t, few entries */

  GPtrArray *puncts; /* punctuator_t * (owned), schedule order */
  int64_t next_punct_id;
  int punct_depth;

  scratch_t *scratch;
  /* record context */
  const char *rc_topic;
  int32_t rc_partition;
  int64_t rc_offset;
  int64_t rc_timestamp;

  int64_t stream_time;
  uint64_t processed;
  uint64_t dropped;
  bool commit_requested;
  bool closing_unclean;

  bool failed;
  brook_err_t fail_err;
  char *fail_msg;

  brook_serde_buf_t kbuf, vbuf; /* sink serialization, reused */
};


/* ---- failure ---- */

static void task_fail(stream_task_t *task, brook_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void task_failv(stream_task_t *task, brook_err_t err, const char *fmt, va_list ap) {
  if (task->failed) return;
  task->failed = true;
  task->fail_err = err ? err : BROOK_ERR__FAIL;
  task->fail_msg = g_strdup_vprintf(fmt, ap);
}

static void task_fail(stream_task_t *task, brook_err_t err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  task_failv(task, err, fmt, ap);
  va_end(ap);
}

static brook_err_t failed_return(const stream_task_t *task, char *errstr, size_t errstr_size) {
  if (errstr && errstr_size) g_strlcpy(errstr, task->fail_msg, errstr_size);
  return task->fail_err;
}

#define LOG(task, level, ...) streams_log(&(task)->conf->log, (level), (task)->log_ctx, __VA_ARGS__)

/* ---- scratch scopes and record context ---- */

static scratch_t *scope_begin(stream_task_t *task) { return scratch_enter(task->scratch); }

static void scope_end(stream_task_t *task, scratch_t *prev) {
  if (prev != task->scratch) scratch_reset(task->scratch); /* outermost scope of this arena */
  scratch_enter(prev);
}

static void rc_set_none(stream_task_t *task, int64_t timestamp) {
  task->rc_topic = NULL;
  task->rc_partition = -1;
  task->rc_offset = -1;
  task->rc_timestamp = timestamp;
}

/* ---- stores ---- */

/* The changelog sink of every logged store: a producer send, no headers. */
static brook_err_t store_sink_send(void *opaque, const char *topic, int32_t partition, const void *key,
                                   size_t key_len, const void *value, size_t value_len, int64_t timestamp) {
  task_store_t *ts = opaque;
  stream_task_t *task = ts->task;
  /* closing dirty: the checkpoint is gone, the next owner restores from the
   * changelog; writes the caches still hold go nowhere */
  if (task->closing_unclean) return BROOK_ERR_NONE;
  char e[512] = "";
  brook_err_t err = task->env.produce(task->env.produce_opaque, topic, partition, key, key_len, value,
                                      value_len, timestamp, NULL, 0, e, sizeof e);
  if (err)
    task_fail(task, err, "store %s: writing to changelog %s [%d]: %s", ts->topo->name, topic, (int)partition,
              e);
  return err;
}

static brook_err_t store_open(stream_task_t *task, task_store_t *ts, char *errstr, size_t errstr_size) {
  const brook_store_def_t *def = &ts->topo->def;
  brook_store_opts_t opts = {
      .name = ts->topo->name,
      .in_memory = def->in_memory,
      .logged = !def->logging_disabled,
      .cached = !def->caching_disabled,
      .partition = task->partition,
      .sink = {store_sink_send, ts},
  };
  ts->logged = opts.logged;
  switch (def->kind) {
    case BROOK_STORE_KV:
      return brook_kv_store_open(task->env.state_env, task->dir, &opts,
                                 def->timestamped ? BROOK_KV_TIMESTAMPED : 0, &ts->kv, errstr, errstr_size);
    case BROOK_STORE_WINDOW: {
      brook_window_store_opts_t wopts = {
          .store = opts,
          .retention_ms = def->retention_ms,
          .segment_interval_ms = def->segment_interval_ms,
          .window_size_ms = def->window_size_ms,
          .retain_duplicates = def->retain_duplicates,
      };
      return brook_window_store_open(task->env.state_env, task->dir, &wopts, &ts->window, errstr,
                                     errstr_size);
    }
    case BROOK_STORE_SESSION: {
      brook_session_store_opts_t sopts = {
          .store = opts,
          .retention_ms = def->retention_ms,
          .segment_interval_ms = def->segment_interval_ms,
      };
      return brook_session_store_open(task->env.state_env, task->dir, &sopts, &ts->session, errstr,
                                      errstr_size);
    }
  }
  g_snprintf(errstr, errstr_size, "store %s: unknown kind %d", ts->topo->name, (int)def->kind);
  return BROOK_ERR__BAD_CONFIG;
}

static const char *store_changelog_topic(const task_store_t *ts) {
  if (ts->kv) return brook_kv_store_changelog_topic(ts->kv);
  if (ts->window) return brook_window_store_changelog_topic(ts->window);
  return brook_session_store_changelog_topic(ts->session);
}

static int64_t store_restore_start(const task_store_t *ts) {
  if (ts->kv) return brook_kv_store_restore_start(ts->kv);
  if (ts->window) return brook_window_store_restore_start(ts->window);
  return brook_session_store_restore_start(ts->session);
}

static brook_err_t store_flush(task_store_t *ts, char *errstr, size_t errstr_size) {
  brook_err_t err;
  if (ts->kv) {
    if ((err = brook_kv_store_flush(ts->kv))) g_strlcpy(errstr, brook_kv_store_errstr(ts->kv), errstr_size);
    return err;
  }
  if (ts->window) return brook_window_store_flush(ts->window, errstr, errstr_size);
  return brook_session_store_flush(ts->session, errstr, errstr_size);
}

static void store_set_offset(task_store_t *ts, int64_t next_offset) {
  if (ts->kv)
    brook_kv_store_set_offset(ts->kv, next_offset);
  else if (ts->window)
    brook_window_store_set_offset(ts->window, next_offset);
  else
    brook_session_store_set_offset(ts->session, next_offset);
}

static void store_remove_listener(task_store_t *ts) {
  if (ts->kv)
    brook_kv_store_set_flush_listener(ts->kv, NULL);
  else if (ts->window)
    brook_window_store_set_flush_listener(ts->window, NULL);
  else if (ts->session)
    brook_session_store_set_flush_listener(ts->session, NULL);
}

static void store_close(task_store_t *ts) {
  brook_kv_store_close(ts->kv);
  brook_window_store_close(ts->window);
  brook_session_store_close(ts->session);
  ts->kv = NULL;
  ts->window = NULL;
  ts->session = NULL;
}

static task_store_t *task_store_of(stream_task_t *task, const topo_store_t *topo) {
  for (size_t i = 0; i < task->n_stores; i++)
    if (task->stores[i].topo == topo) return &task->stores[i];
  return NULL;
}

/* ---- checkpoints ---- */

/* Kafka Streams' StateManagerUtil.OFFSET_DELTA_THRESHOLD_FOR_CHECKPOINT */
#define CHECKPOINT_DELTA 10000

/* Writes the checkpoint file and remembers what it says. */
static brook_err_t checkpoint_write(stream_task_t *task, char *errstr, size_t errstr_size) {
  brook_err_t err = brook_task_dir_checkpoint_write(task->dir, errstr, errstr_size);
  if (err) return err;
  for (size_t i = 0; i < task->n_stores; i++) {
    task_store_t *ts = &task->stores[i];
    if (ts->logged)
      ts->ckpt_written = brook_task_dir_checkpoint_get(task->dir, store_changelog_topic(ts), task->partition);
  }
  return BROOK_ERR_NONE;
}

/* Changelog records the stores reflect beyond the last checkpoint file. */
static int64_t checkpoint_delta(const stream_task_t *task) {
  int64_t delta = 0;
  for (size_t i = 0; i < task->n_stores; i++) {
    const task_store_t *ts = &task->stores[i];
    if (!ts->logged) continue;
    int64_t now = brook_task_dir_checkpoint_get(task->dir, store_changelog_topic(ts), task->partition);
    if (now > ts->ckpt_written) delta += now - MAX(ts->ckpt_written, 0);
  }
  return delta;
}

/* ---- lifecycle ---- */

static void ctx_free(brook_processor_context_t *ctx) {
  g_free(ctx->sink_topic);
  g_free(ctx);
}

static void punctuator_free(punctuator_t *p) { g_free(p); }

static gint ctx_index_cmp(gconstpointer a, gconstpointer b) {
  const brook_processor_context_t *x = *(brook_processor_context_t *const *)a;
  const brook_processor_context_t *y = *(brook_processor_context_t *const *)b;
  return (x->node->index > y->node->index) - (x->node->index < y->node->index);
}

static void task_free(stream_task_t *task) {
  for (size_t i = 0; i < task->n_stores; i++) store_close(&task->stores[i]);
  brook_task_dir_close(task->dir);
  g_free(task->stores);
  g_free(task->changelogs);
  g_free(task->ctx_by_index);
  if (task->ctxs) g_ptr_array_unref(task->ctxs);
  if (task->source_by_topic) g_hash_table_destroy(task->source_by_topic);
  if (task->partition_times) {
    for (guint i = 0; i < task->partition_times->len; i++)
      g_free(g_array_index(task->partition_times, partition_time_t, i).topic);
    g_array_free(task->partition_times, TRUE);
  }
  if (task->puncts) g_ptr_array_unref(task->puncts);
  scratch_destroy(task->scratch);
  brook_serde_buf_clear(&task->kbuf);
  brook_serde_buf_clear(&task->vbuf);
  g_free(task->fail_msg);
  g_free(task->log_ctx);
  g_free(task->id);
  g_free(task);
}

brook_err_t task_new(const task_env_t *env, int subtopology, int32_t partition, stream_task_t **taskp,
                     char *errstr, size_t errstr_size) {
  *taskp = NULL;
  brook_topology_t *topology = env->topology;
  g_assert(topology->sealed);
  g_assert(subtopology >= 0 && (guint)subtopology < topology->subtopologies->len);

  stream_task_t *task = g_new0(stream_task_t, 1);
  task->env = *env;
  task->conf = env->conf;
  task->sub = topology->subtopologies->pdata[subtopology];
  task->sub_id = subtopology;
  task->partition = partition;
  task->id = g_strdup_printf("%d_%d", subtopology, (int)partition);
  task->log_ctx = env->thread_name ? g_strdup_printf("%s task %s", env->thread_name, task->id)
                                   : g_strdup_printf("task %s", task->id);
  task->state = TASK_RESTORING;
  task->stream_time = -1;
  task->next_punct_id = 1;
  task->scratch = scratch_new();
  task->puncts = g_ptr_array_new_with_free_func((GDestroyNotify)punctuator_free);
  task->partition_times = g_array_new(FALSE, FALSE, sizeof(partition_time_t));
  task->source_by_topic = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  brook_serde_buf_init(&task->kbuf);
  brook_serde_buf_init(&task->vbuf);
  rc_set_none(task, -1);

  /* contexts: one per node of the sub-topology */
  task->ctx_by_index = g_new0(brook_processor_context_t *, topology->nodes->len);
  task->ctxs = g_ptr_array_new_with_free_func((GDestroyNotify)ctx_free);
  for (guint i = 0; i < task->sub->nodes->len; i++) {
    topo_node_t *node = task->sub->nodes->pdata[i];
    brook_processor_context_t *ctx = g_new0(brook_processor_context_t, 1);
    ctx->task = task;
    ctx->node = node;
    if (node->kind != TOPO_PROCESSOR) {
      ctx->key_serde = node->key_serde ? node->key_serde : env->conf->default_key_serde;
      ctx->value_serde = node->value_serde ? node->value_serde : env->conf->default_value_serde;
    }
    if (node->kind == TOPO_SINK && node->topic)
      ctx->sink_topic =
          node->internal ? app_internal_topic(env->conf->application_id, node->topic) : g_strdup(node->topic);
    task->ctx_by_index[node->index] = ctx;
    g_ptr_array_add(task->ctxs, ctx);
  }
  g_ptr_array_sort(task->ctxs, ctx_index_cmp);

  char e[512] = "";
  brook_err_t err = brook_task_dir_open(env->state_env, task->id, &task->dir, e, sizeof e);
  if (err) {
    g_snprintf(errstr, errstr_size, "%s", e);
    task_free(task);
    return err;
  }

  task->n_stores = task->sub->stores->len;
  task->stores = g_new0(task_store_t, task->n_stores ? task->n_stores : 1);
  task->changelogs = g_new0(task_changelog_t, task->n_stores ? task->n_stores : 1);
  for (size_t i = 0; i < task->n_stores; i++) {
    task_store_t *ts = &task->stores[i];
    ts->task = task;
    ts->topo = task->sub->stores->pdata[i];
    ts->index = (int)i;
    ts->ckpt_written = -1;
    if ((err = store_open(task, ts, e, sizeof e))) {
      g_snprintf(errstr, errstr_size, "opening store %s: %s", ts->topo->name, e);
      task_free(task);
      return err;
    }
    if (ts->logged) {
      task_changelog_t *cl = &task->changelogs[task->n_changelogs++];
      cl->topic = store_changelog_topic(ts);
      cl->partition = partition;
      cl->start_offset = store_restore_start(ts);
      cl->store_index = (int)i;
    }
  }
  *taskp = task;
  return BROOK_ERR_NONE;
}

const char *task_id(const stream_task_t *task) { return task->id; }
int task_subtopology(const stream_task_t *task) { return task->sub_id; }
int32_t task_partition(const stream_task_t *task) { return task->partition; }

const task_changelog_t *task_changelogs(stream_task_t *task, size_t *countp) {
  *countp = task->n_changelogs;
  return task->changelogs;
}

brook_err_t task_restore(stream_task_t *task, int store_index, const brook_changelog_record_t *records,
                         size_t n, int64_t end_offset, char *errstr, size_t errstr_size) {
  g_assert(store_index >= 0 && (size_t)store_index < task->n_stores);
  if (task->failed) return failed_return(task, errstr, errstr_size);
  task_store_t *ts = &task->stores[store_index];
  char e[512] = "";
  brook_err_t err;
  if (ts->kv) {
    if ((err = brook_kv_store_restore(ts->kv, records, n, end_offset, NULL)))
      g_strlcpy(e, brook_kv_store_errstr(ts->kv), sizeof e);
  } else if (ts->window) {
    err = brook_window_store_restore(ts->window, records, n, end_offset, NULL, e, sizeof e);
  } else {
    err = brook_session_store_restore(ts->session, records, n, end_offset, NULL, e, sizeof e);
  }
  if (err) g_snprintf(errstr, errstr_size, "restoring store %s: %s", ts->topo->name, e);
  return err;
}

void task_restore_metrics(stream_task_t *task,
                          void (*fn)(const char *store, uint64_t restored, int64_t remaining, void *opaque),
                          void *opaque) {
  for (size_t i = 0; i < task->n_stores; i++) {
    task_store_t *ts = &task->stores[i];
    if (!ts->logged) continue;
    brook_restore_progress_t p = {0};
    if (ts->kv)
      brook_kv_store_restore_progress(ts->kv, &p);
    else if (ts->window)
      brook_window_store_restore_progress(ts->window, &p);
    else
      brook_session_store_restore_progress(ts->session, &p);
    fn(ts->topo->name, p.records_restored, p.remaining, opaque);
  }
}

brook_err_t task_restore_done(stream_task_t *task, char *errstr, size_t errstr_size) {
  if (task->failed) return failed_return(task, errstr, errstr_size);
  g_assert(task->state == TASK_RESTORING);
  char e[512] = "";
  brook_err_t err;
  for (size_t i = 0; i < task->n_stores; i++) {
    if ((err = store_flush(&task->stores[i], e, sizeof e))) {
      g_snprintf(errstr, errstr_size, "flushing store %s after restoring: %s", task->stores[i].topo->name, e);
      return err;
    }
  }
  if ((err = checkpoint_write(task, e, sizeof e))) {
    g_snprintf(errstr, errstr_size, "writing the checkpoint: %s", e);
    return err;
  }

  /* processors, in node index order (parents before children) */
  for (guint i = 0; i < task->ctxs->len && !task->failed; i++) {
    brook_processor_context_t *ctx = task->ctxs->pdata[i];
    if (ctx->node->kind != TOPO_PROCESSOR) continue;
    const brook_processor_def_t *def = &ctx->node->def;
    scratch_t *prev = scope_begin(task);
    rc_set_none(task, task->stream_time);
    err = BROOK_ERR_NONE;
    e[0] = '\0';
    if (def->init) err = def->init(ctx, def->opaque, &ctx->state, e, sizeof e);
    scope_end(task, prev);
    if (err) {
      task_fail(task, err, "processor %s: init failed: %s", ctx->node->name, e[0] ? e : brook_err_str(err));
      break;
    }
    ctx->inited = true;
  }
  if (task->failed) return failed_return(task, errstr, errstr_size);
  task->state = TASK_RUNNING;
  return BROOK_ERR_NONE;
}

void task_close(stream_task_t *task, bool clean) {
  if (!task) return;
  if (task->failed) clean = false;
  task->closing_unclean = !clean;

  /* processors, children before parents */
  for (guint i = task->ctxs->len; i-- > 0;) {
    brook_processor_context_t *ctx = task->ctxs->pdata[i];
    if (!ctx->inited) continue;
    ctx->inited = false;
    if (ctx->node->def.close) {
      scratch_t *prev = scope_begin(task);
      rc_set_none(task, task->stream_time);
      ctx->node->def.close(ctx, ctx->state);
      scope_end(task, prev);
    }
    ctx->state = NULL;
  }
  g_ptr_array_set_size(task->puncts, 0);
  /* the listeners belong to the processors just closed */
  for (size_t i = 0; i < task->n_stores; i++) store_remove_listener(&task->stores[i]);

  char e[512] = "";
  if (clean) {
    bool ok = true;
    for (size_t i = 0; i < task->n_stores; i++) {
      if (store_flush(&task->stores[i], e, sizeof e)) {
        LOG(task, BROOK_LOG_WARNING, "flushing store %s at close: %s", task->stores[i].topo->name, e);
        ok = false;
      }
    }
    if (ok && checkpoint_write(task, e, sizeof e))
      LOG(task, BROOK_LOG_WARNING, "writing the checkpoint at close: %s", e);
  } else if (task->dir) {
    brook_task_dir_checkpoint_clear(task->dir);
  }
  task_free(task);
}

/* ---- processing ---- */

static void node_process(brook_processor_context_t *ctx, const brook_record_t *rec);

static brook_processor_context_t *source_of(stream_task_t *task, const char *topic) {
  /* records come in runs of one topic: compare with the last one first */
  if (task->last_src_topic && strcmp(task->last_src_topic, topic) == 0) return task->last_src;
  gpointer key, value;
  if (g_hash_table_lookup_extended(task->source_by_topic, topic, &key, &value)) {
    task->last_src_topic = key; /* keys stay until the task is freed */
    task->last_src = value;
    return value;
  }
  brook_processor_context_t *ctx;
  topo_node_t *node =
      topology_source_of_topic(task->env.topology, task->sub_id, task->conf->application_id, topic);
  if (!node) return NULL;
  ctx = task->ctx_by_index[node->index];
  g_hash_table_insert(task->source_by_topic, g_strdup(topic), ctx);
  return ctx;
}

static partition_time_t *partition_time_of(stream_task_t *task, const char *topic, int32_t partition) {
  for (guint i = 0; i < task->partition_times->len; i++) {
    partition_time_t *pt = &g_array_index(task->partition_times, partition_time_t, i);
    if (pt->partition == partition && strcmp(pt->topic, topic) == 0) return pt;
  }
  partition_time_t pt = {g_strdup(topic), partition, -1};
  g_array_append_val(task->partition_times, pt);
  return &g_array_index(task->partition_times, partition_time_t, task->partition_times->len - 1);
}

/* Deserializes one side of an input record into scratch-owned memory.
 * false: a deserialization error, handled (task failed or record to skip). */
static bool deserialize(stream_task_t *task, brook_processor_context_t *src, bool is_key, const char *topic,
                        int32_t partition, int64_t offset, const void *data, size_t len, void **out) {
  *out = NULL;
  if (!data) return true;
  brook_serde_t *serde = is_key ? src->key_serde : src->value_serde;
  const char *what = is_key ? "key" : "value";
  if (!serde) {
    task_fail(task, BROOK_ERR__BAD_CONFIG,
              "source %s has no %s serde and default.%s.serde is not set (topic %s partition %d "
              "offset %" G_GINT64_FORMAT ")",
              src->node->name, what, what, topic, (int)partition, offset);
    return false;
  }
  char e[512] = "";
  brook_err_t err = brook_serde_deserialize(serde, topic, data, len, out, e, sizeof e);
  if (!err) {
    brook_scratch_own(serde, *out);
    return true;
  }
  *out = NULL;
  if (task->conf->deserialization_handler == STREAMS_DESER_LOG_AND_CONTINUE) {
    LOG(task, BROOK_LOG_WARNING,
        "skipping record: deserialization error (%s) in topic %s partition %d offset %" G_GINT64_FORMAT
        ": %s",
        what, topic, (int)partition, offset, e);
    task->dropped++;
  } else {
    task_fail(task, err,
              "deserialization error (%s) in topic %s partition %d offset %" G_GINT64_FORMAT
              " (default.deserialization.exception.handler is LogAndFail): %s",
              what, topic, (int)partition, offset, e);
  }
  return false;
}

static void punctuate_due(stream_task_t *task, brook_punctuation_type_t type, int64_t now);

brook_err_t task_process(stream_task_t *task, const char *topic, int32_t partition, int64_t offset,
                         int64_t timestamp, const void *key, size_t key_len, const void *value,
                         size_t value_len, const task_header_t *headers, size_t header_count, char *errstr,
                         size_t errstr_size) {
  if (task->failed) return failed_return(task, errstr, errstr_size);
  g_assert(task->state == TASK_RUNNING);

  brook_processor_context_t *src = source_of(task, topic);
  if (!src) {
    task_fail(task, BROOK_ERR__STATE, "no source of sub-topology %d reads topic %s", task->sub_id, topic);
    return failed_return(task, errstr, errstr_size);
  }

  scratch_t *prev = scope_begin(task);
  void *k = NULL, *v = NULL;
  if (!deserialize(task, src, true, topic, partition, offset, key, key_len, &k) ||
      !deserialize(task, src, false, topic, partition, offset, value, value_len, &v)) {
    scope_end(task, prev);
    return task->failed ? failed_return(task, errstr, errstr_size) : BROOK_ERR_NONE;
  }
  brook_record_t rec = {
      .key = k,
      .value = v,
      .old_value = NULL,
      .timestamp = timestamp,
      .headers = scratch_headers_new(headers, header_count),
  };
  /* the context is the record's while the extractor runs, too */
  task->rc_topic = topic;
  task->rc_partition = partition;
  task->rc_offset = offset;
  task->rc_timestamp = timestamp;
  if (src->node->timestamp_extractor) {
    partition_time_t *pt = partition_time_of(task, topic, partition);
    rec.timestamp = src->node->timestamp_extractor(&rec, pt->time, src->node->timestamp_extractor_opaque);
    if (rec.timestamp > pt->time) pt->time = rec.timestamp;
  }
  if (rec.timestamp < 0) {
    LOG(task, BROOK_LOG_WARNING,
        "skipping record: invalid timestamp %" G_GINT64_FORMAT
        " in topic %s partition %d offset %" G_GINT64_FORMAT
        " (a timestamp extractor or the producer gave a negative one)",
        rec.timestamp, topic, (int)partition, offset);
    task->dropped++;
    scope_end(task, prev);
    rc_set_none(task, task->stream_time);
    return BROOK_ERR_NONE;
  }
  task->rc_timestamp = rec.timestamp;
  if (rec.timestamp > task->stream_time) task->stream_time = rec.timestamp;
  task->processed++;

  brook_ctx_forward(src, &rec);

  scope_end(task, prev);
  rc_set_none(task, task->stream_time);
  if (!task->failed) punctuate_due(task, BROOK_PUNCTUATE_STREAM_TIME, task->stream_time);
  return task->failed ? failed_return(task, errstr, errstr_size) : BROOK_ERR_NONE;
}

static void sink_process(brook_processor_context_t *ctx, const brook_record_t *rec) {
  stream_task_t *task = ctx->task;
  topo_node_t *node = ctx->node;
  char *owned_topic = NULL;
  const char *topic = ctx->sink_topic;
  if (!topic) {
    const char *t = node->topic_extractor(rec, node->topic_extractor_opaque);
    if (!t || !*t) {
      task_fail(task, BROOK_ERR__FAIL, "sink %s: the topic extractor returned no topic", node->name);
      return;
    }
    topic = t;
    if (node->internal) topic = owned_topic = app_internal_topic(task->conf->application_id, t);
  }

  const void *kp = NULL, *vp = NULL;
  size_t klen = 0, vlen = 0;
  char e[512] = "";
  for (int side = 0; side < 2; side++) {
    const void *obj = side == 0 ? rec->key : rec->value;
    brook_serde_t *serde = side == 0 ? ctx->key_serde : ctx->value_serde;
    brook_serde_buf_t *buf = side == 0 ? &task->kbuf : &task->vbuf;
    const char *what = side == 0 ? "key" : "value";
    if (!obj) continue; /* null -> null bytes */
    if (!serde) {
      task_fail(task, BROOK_ERR__BAD_CONFIG,
                "sink %s has no %s serde and default.%s.serde is not set (topic %s)", node->name, what, what,
                topic);
      goto out;
    }
    brook_err_t err = brook_serde_serialize(serde, topic, obj, buf, e, sizeof e);
    if (err) {
      task_fail(task, err, "sink %s: serializing the %s for topic %s: %s", node->name, what, topic, e);
      goto out;
    }
    if (buf->is_null) continue;
    const void *p = buf->len ? (const void *)buf->data : (const void *)""; /* empty, not null */
    if (side == 0) {
      kp = p;
      klen = buf->len;
    } else {
      vp = p;
      vlen = buf->len;
    }
  }

  size_t hcount = 0;
  const task_header_t *hdrs = scratch_headers_raw(rec->headers, &hcount);
  brook_err_t err = task->env.produce(task->env.produce_opaque, topic, -1, kp, klen, vp, vlen, rec->timestamp,
                                      hdrs, hcount, e, sizeof e);
  if (err) task_fail(task, err, "sink %s: producing to %s: %s", node->name, topic, e);
out:
  g_free(owned_topic);
}

static void node_process(brook_processor_context_t *ctx, const brook_record_t *rec) {
  switch (ctx->node->kind) {
    case TOPO_PROCESSOR:
      if (ctx->node->def.process) ctx->node->def.process(ctx, ctx->state, rec);
      break;
    case TOPO_SINK:
      sink_process(ctx, rec);
      break;
    case TOPO_SOURCE:
      g_assert_not_reached(); /* a source has no parents */
  }
}

/* ---- punctuation ---- */

/* Fires every punctuator of `type` due at `now` once, then moves it to its
 * next slot after `now` on the same phase (missed slots fire once, as Kafka's
 * PunctuationSchedule.next). Punctuators scheduled during the pass wait for
 * the next one. */
static void punctuate_due(stream_task_t *task, brook_punctuation_type_t type, int64_t now) {
  if (now < 0) return;
  task->punct_depth++;
  guint n = task->puncts->len;
  for (guint i = 0; i < n && !task->failed; i++) {
    punctuator_t *p = task->puncts->pdata[i];
    if (p->cancelled || p->type != type || p->next > now) continue;
    int64_t next = p->next + p->interval;
    if (now >= next) next = now - ((now - p->next) % p->interval) + p->interval;
    p->next = next;
    scratch_t *prev = scope_begin(task);
    rc_set_none(task, now);
    p->fn(p->ctx, p->state, now);
    scope_end(task, prev);
  }
  rc_set_none(task, task->stream_time);
  if (--task->punct_depth == 0) {
    for (guint i = task->puncts->len; i-- > 0;)
      if (((punctuator_t *)task->puncts->pdata[i])->cancelled) g_ptr_array_remove_index(task->puncts, i);
  }
}

brook_err_t task_punctuate_wall_clock(stream_task_t *task, int64_t now, char *errstr, size_t errstr_size) {
  if (task->failed) return failed_return(task, errstr, errstr_size);
  if (task->state != TASK_RUNNING) return BROOK_ERR_NONE;
  punctuate_due(task, BROOK_PUNCTUATE_WALL_CLOCK, now);
  return task->failed ? failed_return(task, errstr, errstr_size) : BROOK_ERR_NONE;
}

/* ---- commit ---- */

brook_err_t task_flush(stream_task_t *task, char *errstr, size_t errstr_size) {
  if (task->failed) return failed_return(task, errstr, errstr_size);
  scratch_t *prev = scope_begin(task);
  rc_set_none(task, task->stream_time);
  char e[512] = "";
  for (size_t i = 0; i < task->n_stores && !task->failed; i++) {
    brook_err_t err = store_flush(&task->stores[i], e, sizeof e);
    if (err) task_fail(task, err, "flushing store %s: %s", task->stores[i].topo->name, e);
  }
  scope_end(task, prev);
  rc_set_none(task, task->stream_time);
  return task->failed ? failed_return(task, errstr, errstr_size) : BROOK_ERR_NONE;
}

brook_err_t task_commit_done(stream_task_t *task,
                             int64_t (*next_offset)(void *opaque, const char *topic, int32_t partition),
                             void *opaque, char *errstr, size_t errstr_size) {
  if (task->failed) return failed_return(task, errstr, errstr_size);
  for (size_t i = 0; i < task->n_stores; i++) {
    task_store_t *ts = &task->stores[i];
    if (!ts->logged) continue;
    int64_t n = next_offset(opaque, store_changelog_topic(ts), task->partition);
    if (n >= 0) store_set_offset(ts, n);
  }
  /* As Kafka Streams under at-least-once: the file only when the stores moved
   * more than CHECKPOINT_DELTA changelog records past it (an older checkpoint
   * only makes a restore replay more; it is always written after restoring
   * and at a clean close). */
  if (checkpoint_delta(task) > CHECKPOINT_DELTA) {
    char e[512] = "";
    brook_err_t err = checkpoint_write(task, e, sizeof e);
    if (err) {
      g_snprintf(errstr, errstr_size, "writing the checkpoint: %s", e);
      return err;
    }
  }
  task->commit_requested = false;
  return BROOK_ERR_NONE;
}

bool task_commit_requested(const stream_task_t *task) { return task->commit_requested; }
bool task_failed(const stream_task_t *task) { return task->failed; }
int64_t task_stream_time(const stream_task_t *task) { return task->stream_time; }
uint64_t task_processed(const stream_task_t *task) { return task->processed; }
uint64_t task_dropped(const stream_task_t *task) { return task->dropped; }

void task_debug_scratch_stats(const stream_task_t *task, size_t *blocksp, size_t *bytesp) {
  scratch_debug_stats(task->scratch, blocksp, bytesp);
}

/* ---- the processor context ---- */

void brook_ctx_forward(brook_processor_context_t *ctx, const brook_record_t *rec) {
  stream_task_t *task = ctx->task;
  if (task->failed) return;
  brook_record_t local = *rec;
  if (!local.headers) local.headers = scratch_headers_new(NULL, 0);
  GPtrArray *children = ctx->node->children;
  for (guint i = 0; i < children->len && !task->failed; i++) {
    topo_node_t *child = children->pdata[i];
    node_process(task->ctx_by_index[child->index], &local);
  }
}

void brook_ctx_forward_to(brook_processor_context_t *ctx, const char *child, const brook_record_t *rec) {
  stream_task_t *task = ctx->task;
  if (task->failed) return;
  GPtrArray *children = ctx->node->children;
  for (guint i = 0; i < children->len; i++) {
    topo_node_t *node = children->pdata[i];
    if (strcmp(node->name, child) != 0) continue;
    brook_record_t local = *rec;
    if (!local.headers) local.headers = scratch_headers_new(NULL, 0);
    node_process(task->ctx_by_index[node->index], &local);
    return;
  }
  task_fail(task, BROOK_ERR__FAIL, "processor %s forwarded to %s, which is not one of its children",
            ctx->node->name, child);
}

static const char *kind_name(brook_store_kind_t kind) {
  switch (kind) {
    case BROOK_STORE_KV:
      return "a key-value store";
    case BROOK_STORE_WINDOW:
      return "a window store";
    case BROOK_STORE_SESSION:
      return "a session store";
  }
  return "a store of unknown kind";
}

static task_store_t *ctx_store(brook_processor_context_t *ctx, const char *name, brook_store_kind_t kind) {
  stream_task_t *task = ctx->task;
  GPtrArray *stores = ctx->node->stores;
  topo_store_t *topo = NULL;
  for (guint i = 0; stores && i < stores->len && !topo; i++)
    if (strcmp(((topo_store_t *)stores->pdata[i])->name, name) == 0) topo = stores->pdata[i];
  if (!topo) {
    task_fail(task, BROOK_ERR__BAD_CONFIG, "processor %s is not connected to store %s", ctx->node->name,
              name);
    return NULL;
  }
  if (topo->def.kind != kind) {
    task_fail(task, BROOK_ERR__BAD_CONFIG, "processor %s asked for store %s as %s, but it is %s",
              ctx->node->name, name, kind_name(kind), kind_name(topo->def.kind));
    return NULL;
  }
  task_store_t *ts = task_store_of(task, topo);
  g_assert(ts); /* a store connected to a node of this sub-topology belongs to it */
  return ts;
}

brook_kv_store_t *brook_ctx_kv_store(brook_processor_context_t *ctx, const char *store) {
  task_store_t *ts = ctx_store(ctx, store, BROOK_STORE_KV);
  return ts ? ts->kv : NULL;
}

brook_window_store_t *brook_ctx_window_store(brook_processor_context_t *ctx, const char *store) {
  task_store_t *ts = ctx_store(ctx, store, BROOK_STORE_WINDOW);
  return ts ? ts->window : NULL;
}

brook_session_store_t *brook_ctx_session_store(brook_processor_context_t *ctx, const char *store) {
  task_store_t *ts = ctx_store(ctx, store, BROOK_STORE_SESSION);
  return ts ? ts->session : NULL;
}

static int64_t wall_clock(const stream_task_t *task) {
  if (task->env.wall_clock) return task->env.wall_clock(task->env.wall_clock_opaque);
  return g_get_real_time() / 1000;
}

int64_t brook_ctx_schedule(brook_processor_context_t *ctx, int64_t interval_ms, brook_punctuation_type_t type,
                           brook_punctuator_fn fn, void *state) {
  stream_task_t *task = ctx->task;
  if (interval_ms < 1 || !fn) {
    task_fail(task, BROOK_ERR__BAD_CONFIG,
              "processor %s scheduled a punctuator with interval %" G_GINT64_FORMAT
              " ms%s (the interval must be at least 1 ms)",
              ctx->node->name, interval_ms, fn ? "" : " and no function");
    return 0;
  }
  punctuator_t *p = g_new0(punctuator_t, 1);
  p->id = task->next_punct_id++;
  p->ctx = ctx;
  p->type = type;
  p->interval = interval_ms;
  /* stream time: slot 0, so the first record (any stream time >= 0) fires it */
  p->next = type == BROOK_PUNCTUATE_WALL_CLOCK ? wall_clock(task) + interval_ms : 0;
  p->fn = fn;
  p->state = state;
  g_ptr_array_add(task->puncts, p);
  return p->id;
}

void brook_ctx_cancel(brook_processor_context_t *ctx, int64_t id) {
  stream_task_t *task = ctx->task;
  for (guint i = 0; i < task->puncts->len; i++) {
    punctuator_t *p = task->puncts->pdata[i];
    if (p->id != id) continue;
    if (task->punct_depth > 0)
      p->cancelled = true; /* removed when the pass ends */
    else
      g_ptr_array_remove_index(task->puncts, i);
    return;
  }
}

const char *brook_ctx_topic(const brook_processor_context_t *ctx) { return ctx->task->rc_topic; }
int32_t brook_ctx_partition(const brook_processor_context_t *ctx) { return ctx->task->rc_partition; }
int64_t brook_ctx_offset(const brook_processor_context_t *ctx) { return ctx->task->rc_offset; }
int64_t brook_ctx_timestamp(const brook_processor_context_t *ctx) { return ctx->task->rc_timestamp; }
const char *brook_ctx_task_id(const brook_processor_context_t *ctx) { return ctx->task->id; }
const char *brook_ctx_application_id(const brook_processor_context_t *ctx) {
  return ctx->task->conf->application_id;
}
const char *brook_ctx_node_name(const brook_processor_context_t *ctx) { return ctx->node->name; }
int64_t brook_ctx_stream_time(const brook_processor_context_t *ctx) { return ctx->task->stream_time; }
int64_t brook_ctx_wall_clock(const brook_processor_context_t *ctx) { return wall_clock(ctx->task); }
brook_serde_t *brook_ctx_default_key_serde(const brook_processor_context_t *ctx) {
  return ctx->task->conf->default_key_serde;
}
brook_serde_t *brook_ctx_default_value_serde(const brook_processor_context_t *ctx) {
  return ctx->task->conf->default_value_serde;
}
void brook_ctx_commit(brook_processor_context_t *ctx) { ctx->task->commit_requested = true; }

void brook_ctx_fail(brook_processor_context_t *ctx, brook_err_t err, const char *fmt, ...) {
  stream_task_t *task = ctx->task;
  if (task->failed) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  task_fail(task, err, "processor %s: %s", ctx->node->name, msg);
  g_free(msg);
}
