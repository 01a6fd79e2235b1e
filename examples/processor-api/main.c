/*
 * processor-api — a topology built by hand with the processor API.
 *
 *   Readings (source: sensor-readings, key sensor name, value double °C)
 *     → LatestReading (processor, store "latest-readings"):
 *         keeps the newest reading per sensor in the store; a reading older
 *         than the stored one is late: forwarded to LateReadings only;
 *         every minute of stream time, a punctuator forwards a summary of
 *         the store to Summaries
 *     → Summaries    (sink: reading-summaries, task id → text)
 *     → LateReadings (sink: late-readings, sensor → text)
 *
 * It shows brook_ctx_forward_to, a key-value store, the record context
 * (topic, partition, offset, timestamp), a stream-time punctuator and
 * brook_topology_describe. The same processor would run under the DSL with
 * brook_stream_process.
 *
 * Usage:
 *   processor-api                          demo on the embedded broker
 *   processor-api --run                    runs until Ctrl-C / SIGTERM
 *   processor-api --bootstrap-servers H:P  a real cluster
 *   processor-api --state-dir DIR          keep state (default: a temporary
 *                                          directory, removed at exit)
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brook_client.h"
#include "brook_kv_store.h"
#include "brook_streams.h"
#include "example_main.h"
#include "brook_topology.h"

#define INPUT_TOPIC "sensor-readings"
#define SUMMARY_TOPIC "reading-summaries"
#define LATE_TOPIC "late-readings"
#define STORE "latest-readings"
#define SUMMARY_INTERVAL_MS 60000 /* of stream time */

/* ---- the processor ---- */

typedef struct latest {
  brook_kv_store_t *store; /* (transfer none) the task's "latest-readings" */
} latest_t;

/* Store values: the reading as the 8 bytes of a big-endian IEEE double (as
 * Kafka's DoubleSerializer); the store is timestamped, so it keeps the
 * reading's timestamp next to it. */
static void put_double(uint8_t *p, double v) {
  int64_t bits;
  memcpy(&bits, &v, sizeof bits);
  brook_serde_put_i64(p, bits);
}

static double get_double(const void *p) {
  int64_t bits = brook_serde_get_i64(p);
  double v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

static char *clock_text(int64_t ms) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  return brook_scratch_printf("%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void summarize(brook_processor_context_t *ctx, void *state, int64_t timestamp);

static brook_err_t latest_init(brook_processor_context_t *ctx, void *opaque, void **statep, char *errstr,
                               size_t errstr_size) {
  const int64_t *interval_ms = opaque;
  latest_t *latest = g_new0(latest_t, 1);
  latest->store = brook_ctx_kv_store(ctx, STORE);
  if (!latest->store) {
    snprintf(errstr, errstr_size, "store \"%s\" is not connected to %s", STORE, brook_ctx_node_name(ctx));
    g_free(latest);
    return BROOK_ERR__BAD_CONFIG;
  }
  brook_ctx_schedule(ctx, *interval_ms, BROOK_PUNCTUATE_STREAM_TIME, summarize, latest);
  *statep = latest;
  return BROOK_ERR_NONE;
}

static void latest_process(brook_processor_context_t *ctx, void *state, const brook_record_t *rec) {
  latest_t *latest = state;
  const char *sensor = rec->key;
  const double *celsius = rec->value;
  if (!sensor || !celsius)
    return;

  const void *old;
  size_t old_len;
  int64_t old_ts;
  brook_err_t err = brook_kv_store_get(latest->store, sensor, strlen(sensor), &old, &old_len, &old_ts);
  if (err && err != BROOK_ERR__NOENT) {
    brook_ctx_fail(ctx, err, "%s: %s", STORE, brook_kv_store_errstr(latest->store));
    return;
  }
  if (!err && old_ts > rec->timestamp) {
    /* Late: say where it came from (the record context) and keep the newer one. */
    brook_record_t out = *rec;
    out.value = brook_scratch_printf("%.1f °C at %s (%s[%d]@%" G_GINT64_FORMAT
                                     ") came after the reading of %s (%.1f °C)",
                                     *celsius, clock_text(brook_ctx_timestamp(ctx)), brook_ctx_topic(ctx),
                                     (int)brook_ctx_partition(ctx), brook_ctx_offset(ctx), clock_text(old_ts),
                                     get_double(old));
    brook_ctx_forward_to(ctx, "LateReadings", &out);
    return;
  }
  uint8_t value[8];
  put_double(value, *celsius);
  err = brook_kv_store_put(latest->store, sensor, strlen(sensor), value, sizeof value, rec->timestamp);
  if (err)
    brook_ctx_fail(ctx, err, "%s: %s", STORE, brook_kv_store_errstr(latest->store));
}

/* Every SUMMARY_INTERVAL_MS of stream time: one record summing up the store. */
static void summarize(brook_processor_context_t *ctx, void *state, int64_t timestamp) {
  latest_t *latest = state;
  brook_kv_iter_t *iter = brook_kv_store_all(latest->store, false);
  const void *key, *value;
  size_t key_len, value_len;
  int n = 0;
  double sum = 0, min = 0, max = 0;
  const char *coldest = "", *warmest = "";
  while (brook_kv_iter_next(iter, &key, &key_len, &value, &value_len, NULL)) {
    double v = get_double(value);
    if (n == 0 || v < min) {
      min = v;
      coldest = brook_scratch_strndup(key, key_len);
    }
    if (n == 0 || v > max) {
      max = v;
      warmest = brook_scratch_strndup(key, key_len);
    }
    sum += v;
    n++;
  }
  char errstr[256];
  brook_err_t err = brook_kv_iter_err(iter, errstr, sizeof errstr);
  brook_kv_iter_destroy(iter);
  if (err) {
    brook_ctx_fail(ctx, err, "%s: %s", STORE, errstr);
    return;
  }
  if (n == 0)
    return;
  brook_record_t out = {
      .key = brook_ctx_task_id(ctx),
      .value = brook_scratch_printf("%s  %d sensor%s  min %5.1f °C (%s)  max %5.1f °C (%s)  mean %5.1f °C",
                                    clock_text(timestamp), n, n == 1 ? " " : "s", min, coldest, max, warmest,
                                    sum / n),
      .timestamp = timestamp,
  };
  brook_ctx_forward_to(ctx, "Summaries", &out);
}

static void latest_close(brook_processor_context_t *ctx, void *state) {
  (void)ctx;
  g_free(state);
}

static const int64_t summary_interval_ms = SUMMARY_INTERVAL_MS;

/* ---- the topology ---- */

static brook_topology_t *sensors_topology(char *errstr, size_t errstr_size) {
  brook_serde_t *string = brook_serde_string_new(), *celsius = brook_serde_double_new();
  brook_topology_t *topology = brook_topology_new();

  brook_source_opts_t readings = {
      .topics = (const char *const[]){INPUT_TOPIC, NULL}, .key_serde = string, .value_serde = celsius};
  brook_topology_add_source(topology, "Readings", &readings, errstr, errstr_size);

  brook_processor_def_t latest = {
      .init = latest_init, .process = latest_process, .close = latest_close, .opaque = (void *)&summary_interval_ms};
  brook_topology_add_processor(topology, "LatestReading", &latest, (const char *const[]){"Readings", NULL}, errstr,
                               errstr_size);
  brook_store_def_t store = {.name = STORE, .kind = BROOK_STORE_KV, .timestamped = true};
  brook_topology_add_store(topology, &store, (const char *const[]){"LatestReading", NULL}, errstr, errstr_size);

  brook_sink_opts_t summaries = {.topic = SUMMARY_TOPIC, .key_serde = string, .value_serde = string};
  brook_topology_add_sink(topology, "Summaries", &summaries, (const char *const[]){"LatestReading", NULL}, errstr,
                          errstr_size);
  brook_sink_opts_t late = {.topic = LATE_TOPIC, .key_serde = string, .value_serde = string};
  brook_topology_add_sink(topology, "LateReadings", &late, (const char *const[]){"LatestReading", NULL}, errstr,
                          errstr_size);

  brook_serde_unref(string); /* the topology holds its own references */
  brook_serde_unref(celsius);
  if (brook_topology_error(topology)) { /* the first error of the calls above */
    snprintf(errstr, errstr_size, "%s", brook_topology_error(topology));
    brook_topology_unref(topology);
    return NULL;
  }
  return topology;
}

/* ---- the demo ---- */

/* The demo's readings start 10 minutes ago, at a multiple of the summary
 * interval. (Recent timestamps: a broker deletes records older than the
 * topic's retention.ms, 7 days by default, by their timestamp.) */
static int64_t demo_start_ms(void) {
  int64_t t = g_get_real_time() / 1000 - 10 * 60000;
  return t - t % SUMMARY_INTERVAL_MS;
}

static const char *const sensors[] = {"attic", "basement", "garage", "kitchen", "office", "porch"};
#define NSENSORS (sizeof sensors / sizeof sensors[0])

static brook_err_t produce_readings(const char *bootstrap, char *errstr, size_t errstr_size) {
  brook_producer_t *producer = brook_producer_new(bootstrap, errstr, errstr_size);
  if (!producer)
    return BROOK_ERR__FAIL;
  brook_serde_t *string = brook_serde_string_new(), *dbl = brook_serde_double_new();
  brook_err_t err = BROOK_ERR_NONE;
  int n = 0;
  const int64_t start = demo_start_ms();
  /* Every sensor every 15 s for 3.5 minutes, in time order... */
  for (int64_t t = 0; t <= 210000 && !err; t += 15000) {
    for (size_t s = 0; s < NSENSORS && !err; s++, n++) {
      double celsius = 8.0 + 3.5 * (double)s + (double)((t / 15000 + (int64_t)s * 3) % 7) * 0.4;
      err = brook_producer_send(producer, INPUT_TOPIC, -1, string, sensors[s], dbl, &celsius, start + t,
                                errstr, errstr_size);
    }
  }
  /* ...then three stragglers from a minute ago. */
  for (size_t s = 1; s < NSENSORS && !err; s += 2, n++) {
    double celsius = 30.0 + (double)s;
    err = brook_producer_send(producer, INPUT_TOPIC, -1, string, sensors[s], dbl, &celsius, start + 150000,
                              errstr, errstr_size);
  }
  if (!err)
    err = brook_producer_flush(producer, 30000, errstr, errstr_size);
  brook_producer_destroy(producer);
  brook_serde_unref(string);
  brook_serde_unref(dbl);
  if (!err)
    printf("produced %d readings of %zu sensors to \"%s\"\n", n, NSENSORS, INPUT_TOPIC);
  return err;
}

typedef struct line {
  int64_t timestamp;
  char *text;
} line_t;

static void on_line(const brook_read_record_t *r, void *opaque) {
  line_t line = {r->rec->timestamp, g_strdup_printf("%-9s %s", (const char *)r->rec->key,
                                                    r->rec->value ? (const char *)r->rec->value : "(null)")};
  g_array_append_val((GArray *)opaque, line);
}

static gint by_time(gconstpointer a, gconstpointer b) {
  const line_t *x = a, *y = b;
  return x->timestamp != y->timestamp ? (x->timestamp < y->timestamp ? -1 : 1) : strcmp(x->text, y->text);
}

static void clear_line(gpointer p) {
  g_free(((line_t *)p)->text);
}

static brook_err_t print_topic(const char *bootstrap, const char *topic, const char *title, char *errstr,
                               size_t errstr_size) {
  brook_serde_t *string = brook_serde_string_new();
  brook_reader_t *reader = brook_reader_new(bootstrap, topic, string, string, errstr, errstr_size);
  brook_serde_unref(string);
  if (!reader)
    return BROOK_ERR__FAIL;
  GArray *lines = g_array_new(FALSE, FALSE, sizeof(line_t));
  g_array_set_clear_func(lines, clear_line);
  int64_t n = brook_reader_read(reader, on_line, lines, 30000, errstr, errstr_size);
  brook_reader_destroy(reader);
  if (n >= 0) {
    g_array_sort(lines, by_time);
    printf("\n%s (\"%s\", %" G_GINT64_FORMAT " records):\n", title, topic, n);
    for (guint i = 0; i < lines->len; i++)
      printf("  %s\n", g_array_index(lines, line_t, i).text);
  }
  g_array_unref(lines);
  return n >= 0 ? BROOK_ERR_NONE : BROOK_ERR__FAIL;
}

/* ---- main: the shared command line (example_main.h) ---- */

static brook_err_t feed(const char *servers, void *opaque, char *errstr, size_t errstr_size) {
  return produce_readings(servers, errstr, errstr_size);
}

static brook_err_t show(const char *servers, void *opaque, char *errstr, size_t errstr_size) {
  if (print_topic(servers, SUMMARY_TOPIC, "summaries, one per task and minute of stream time", errstr,
                  errstr_size))
    return BROOK_ERR__FAIL;
  return print_topic(servers, LATE_TOPIC, "late readings", errstr, errstr_size);
}

int main(int argc, char **argv) {
  const example_t ex = {
      .name = "processor-api",
      .summary = "- latest reading per sensor, with summaries every minute",
      .run_hint = "running; produce readings (key: sensor, value: 8-byte double) to \"" INPUT_TOPIC "\" at %s",
      .describe_at_start = true,
      .topology = sensors_topology,
      .topics = {{INPUT_TOPIC, 2}, {SUMMARY_TOPIC, 1}, {LATE_TOPIC, 1}},
      .feed = feed,
      .show = show,
  };
  return example_main(&ex, argc, argv);
}
