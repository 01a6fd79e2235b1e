/*
 * timer.c — one-shot timers on the broker loop (group sessions, rebalance
 * deadlines, offset expiry).
 *
 * Design note
 *  - Timers are embedded in the structs they belong to (no allocation) and
 *    kept in one balanced tree ordered by (deadline, arm sequence), so arming,
 *    cancelling and finding the nearest deadline are O(log n) whatever the
 *    number of members.
 *  - broker_timers_run fires every timer whose deadline has passed, one at a
 *    time, taking each out of the tree before calling it: a callback may arm
 *    or cancel any timer, including itself, and may free the struct holding
 *    a fired timer.
 * @locality broker loop.
 */
#include "broker_int.h"

static gint timer_cmp(gconstpointer a_, gconstpointer b_, gpointer unused) {
  const broker_timer_t *a = a_, *b = b_;
  if (a->deadline_ms != b->deadline_ms) return a->deadline_ms < b->deadline_ms ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static GTree *timers(brook_broker_t *b) {
  if (!b->timers) b->timers = g_tree_new_full(timer_cmp, NULL, NULL, NULL);
  return b->timers;
}

void broker_timer_arm(brook_broker_t *b, broker_timer_t *t, int64_t deadline_ms, broker_timer_fn fire, void *arg) {
  broker_timer_cancel(b, t);
  t->deadline_ms = deadline_ms;
  t->seq = ++b->timer_seq;
  t->fire = fire;
  t->arg = arg;
  t->armed = true;
  g_tree_insert(timers(b), t, t);
}

void broker_timer_cancel(brook_broker_t *b, broker_timer_t *t) {
  if (!t->armed) return;
  g_tree_remove(timers(b), t);
  t->armed = false;
}

static gboolean first_timer(gpointer key, gpointer value, gpointer data) {
  *(broker_timer_t **)data = value;
  return TRUE;
}

int64_t broker_timers_next(brook_broker_t *b) {
  broker_timer_t *t = NULL;
  if (b->timers) g_tree_foreach(b->timers, first_timer, &t);
  return t ? t->deadline_ms : -1;
}

void broker_timers_run(brook_broker_t *b, int64_t now_ms) {
  for (;;) {
    broker_timer_t *t = NULL;
    if (b->timers) g_tree_foreach(b->timers, first_timer, &t);
    if (!t || t->deadline_ms > now_ms) return;
    g_tree_remove(b->timers, t);
    t->armed = false;
    t->fire(b, t->arg);
  }
}

void broker_timers_destroy(brook_broker_t *b) {
  if (b->timers) g_tree_destroy(b->timers);
  b->timers = NULL;
}
