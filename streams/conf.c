/*
 * conf.c — the stream application's configuration: one property table, and
 * everything derived from it (brook_app_conf_*, streams_conf_resolve, the
 * generated docs/streams-configuration.md).
 *
 * Design note
 *  - Every property brook knows is one row of streams_props[]: Kafka Streams'
 *    name, type, default, range or allowed values, flags and documentation,
 *    plus an optional check for values the type cannot express (serde names,
 *    exception-handler class names, application.id's character set). Setting,
 *    resolving and the reference all walk these rows, so they cannot disagree.
 *    Rows reuse the broker's conf_prop_t (broker/server/conf.h) so numeric and
 *    enum checking is the broker's conf_check().
 *  - A conf holds only the strings the user set (canonical name -> value).
 *    streams_conf_resolve() rebuilds the typed streams_conf_t from them every
 *    time, so a conf never holds a half-applied state.
 *  - Checking happens twice: brook_app_conf_set() rejects a bad value at once
 *    (the error names the property and the value), and resolve re-checks the
 *    whole set and adds what only makes sense for the whole (application.id
 *    required, exactly_once_v2 not supported yet).
 *  - Alias rows (cache.max.bytes.buffering) name their canonical row in
 *    p.synonym; the canonical row wins when both are set, as in Kafka.
 *  - "consumer.", "main.consumer.", "restore.consumer.", "producer." and
 *    "admin." prefixed names are librdkafka properties: checked against
 *    librdkafka's own table when set, handed through with the prefix stripped.
 * @locality any: the table is immutable; a conf belongs to its caller.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "streams_int.h"

#define I32MAX 2147483647LL
#define I64MAX INT64_MAX

/* Row flags beyond conf.h's CONF_IGNORED. */
enum {
  SP_REQUIRED = 0x100, /* no default; resolve fails without it */
  SP_BROOK = 0x200,    /* brook-specific (Kafka Streams has no such property) */
};

typedef struct streams_prop streams_prop_t;
/** Extra check of a value the row's type accepted; fills errstr naming the
 *  property and the value. */
typedef brook_err_t (*prop_check_fn)(const streams_prop_t *prop, const char *value, char *errstr,
                                     size_t errstr_size);

struct streams_prop {
  conf_prop_t p;         /* name, type, default, min/max, allowed, flags, synonym = alias of, doc */
  prop_check_fn check;   /* NULL: the type and range say everything */
  const char *type_name; /* for the reference; NULL = from p.type */
};

static brook_err_t check_application_id(const streams_prop_t *prop, const char *value, char *errstr,
                                        size_t errstr_size);
static brook_err_t check_serde(const streams_prop_t *prop, const char *value, char *errstr,
                               size_t errstr_size);
static brook_err_t check_class(const streams_prop_t *prop, const char *value, char *errstr,
                               size_t errstr_size);
static brook_err_t check_replication_factor(const streams_prop_t *prop, const char *value, char *errstr,
                                            size_t errstr_size);

/* The table is laid out by hand (one property per row group). */
/* clang-format off */
#define ROW(name_, type_, def_, min_, max_, allowed_, flags_, check_, tname_, doc_)                          \
  {                                                                                                          \
    .p = {.name = (name_), .type = (type_), .def = (def_), .min = (min_), .max = (max_), .allowed = (allowed_), \
          .flags = (flags_), .off = SIZE_MAX, .doc = (doc_)},                                                \
    .check = (check_), .type_name = (tname_)                                                                 \
  }
#define ALIAS(name_, type_, def_, min_, max_, of_, doc_)                                                      \
  {                                                                                                          \
    .p = {.name = (name_), .type = (type_), .def = (def_), .min = (min_), .max = (max_), .off = SIZE_MAX,      \
          .synonym = (of_), .doc = (doc_)},                                                                  \
  }

#define ERRORS_PKG "org.apache.kafka.streams.errors."
#define SERDES_CLASS "org.apache.kafka.common.serialization.Serdes$"
#define SERDE_VALUES                                                                                         \
  "string, bytes, i32 (integer), i64 (long), double, void, json, or Kafka's class names " SERDES_CLASS      \
  "StringSerde, ByteArraySerde, BytesSerde, IntegerSerde, LongSerde, DoubleSerde, VoidSerde"
#define DESER_HANDLERS "LogAndFailExceptionHandler,LogAndContinueExceptionHandler"
#define PRODUCTION_HANDLERS "DefaultProductionExceptionHandler,LogAndContinueProductionExceptionHandler"
#define GUARANTEES "at_least_once,exactly_once_v2,exactly_once,exactly_once_beta"

/* The table. Kafka Streams' names and defaults; where brook differs the doc says so. */
static const streams_prop_t streams_props[] = {
    ROW("application.id", CONF_STRING, NULL, 0, 0, "[a-zA-Z0-9._-]+", SP_REQUIRED, check_application_id, NULL,
        "Required. Identifies the application: the consumer group id, the prefix of internal topics "
        "(`<application.id>-<store>-changelog`, `<application.id>-<name>-repartition`), the state "
        "directory `<state.dir>/<application.id>` and the default client id. Only ASCII letters, digits, "
        "'.', '_' and '-', as in Kafka; at most 249 characters."),
    ROW("bootstrap.servers", CONF_STRING, NULL, 0, 0, NULL, 0, NULL, NULL,
        "host:port,... of the Kafka cluster. null (brook's default; Kafka requires it) starts the bundled broker "
        "in-process, its log under `<state.dir>/<application.id>/broker`, listening on a free loopback port."),
    ROW("client.id", CONF_STRING, "", 0, 0, NULL, 0, NULL, NULL,
        "Prefix of the client ids of the application's consumers and producers; empty means the "
        "application.id."),
    ROW("num.stream.threads", CONF_INT, "1", 1, 1024, NULL, 0, NULL, NULL,
        "Number of stream threads, each with its own consumer, producer and tasks."),
    ROW("commit.interval.ms", CONF_LONG, "30000", 0, I64MAX, NULL, 0, NULL, NULL,
        "How often each stream thread commits: flushes state stores and record caches, waits for the producer "
        "and commits the consumed offsets."),
    ROW("state.dir", CONF_STRING, "/tmp/kafka-streams", 0, 0, NULL, 0, NULL, NULL,
        "Directory of the state stores: `<state.dir>/<application.id>/<task id>/`, each task directory locked "
        "while a task owns it, with Kafka Streams' checkpoint files."),
    ROW("processing.guarantee", CONF_ENUM, "at_least_once", 0, 0, GUARANTEES, 0, NULL, NULL,
        "at_least_once is supported. exactly_once_v2 (and Kafka's older exactly_once, exactly_once_beta) are "
        "accepted names but refused when the application is created: transactions are not supported yet."),
    ROW("replication.factor", CONF_INT, "-1", -1, 32767, NULL, 0, check_replication_factor, NULL,
        "Replication factor of the internal topics (changelogs, repartition topics); -1 means the broker's "
        "default.replication.factor."),
    ROW("default.key.serde", CONF_STRING, NULL, 0, 0, SERDE_VALUES, 0, check_serde, "class",
        "Serde of keys wherever a source, sink or operator got none. null: every such place must have its own "
        "(the application refuses to start and names the operator otherwise)."),
    ROW("default.value.serde", CONF_STRING, NULL, 0, 0, SERDE_VALUES, 0, check_serde, "class",
        "Serde of values wherever a source, sink or operator got none; null as for default.key.serde."),
    ROW("statestore.cache.max.bytes", CONF_LONG, "10485760", 0, I64MAX, NULL, 0, NULL, NULL,
        "Bytes of record cache shared by all stores of the application (write-back caches that collapse "
        "updates of a key between commits); 0 disables caching."),
    ALIAS("cache.max.bytes.buffering", CONF_LONG, "10485760", 0, I64MAX, "statestore.cache.max.bytes",
          "Deprecated name of statestore.cache.max.bytes (used when that one is not set)."),
    ROW("poll.ms", CONF_LONG, "100", 0, I64MAX, NULL, 0, NULL, NULL,
        "How long a stream thread waits in one poll for input when it has nothing to do. Wall-clock "
        "punctuators are checked at least this often."),
    ROW("max.poll.records", CONF_INT, "1000", 1, I32MAX, NULL, 0, NULL, NULL,
        "Most records a stream thread processes per poll round before it punctuates, commits if due and polls "
        "again (Kafka Streams sets its consumers' max.poll.records to 1000)."),
    ROW("default.deserialization.exception.handler", CONF_STRING, ERRORS_PKG "LogAndFailExceptionHandler", 0, 0,
        DESER_HANDLERS, 0, check_class, "class",
        "What a record that cannot be deserialized does: LogAndFailExceptionHandler fails the stream thread, "
        "LogAndContinueExceptionHandler logs a warning and skips the record. The short names and the full "
        "class names (" ERRORS_PKG "...) are accepted."),
    ROW("default.production.exception.handler", CONF_STRING, ERRORS_PKG "DefaultProductionExceptionHandler", 0, 0,
        PRODUCTION_HANDLERS, 0, check_class, "class",
        "What a record the producer could not write does: DefaultProductionExceptionHandler fails the stream "
        "thread; LogAndContinueProductionExceptionHandler (brook's; Kafka needs a custom class for this) logs "
        "the error and drops the record."),
    ROW("repartition.purge.interval.ms", CONF_LONG, "30000", 0, I64MAX, NULL, 0, NULL, NULL,
        "How often fully consumed records of repartition topics are deleted (DeleteRecords): at the first "
        "commit at least this long after the last purge."),
    ROW("rocksdb.total.memory.bytes", CONF_LONG, "67108864", 1048576, I64MAX, NULL, SP_BROOK, NULL, NULL,
        "brook-specific (Kafka Streams does this with a rocksdb.config.setter class): one budget for the "
        "block cache and memtables of every RocksDB store of the application together."),
    /* Accepted so that Kafka Streams property files work; no effect in brook. */
    ROW("num.standby.replicas", CONF_INT, "0", 0, I32MAX, NULL, CONF_IGNORED, NULL, NULL,
        "brook keeps no standby replicas: a task moved to another instance restores its stores from the "
        "changelog."),
    ROW("acceptable.recovery.lag", CONF_LONG, "10000", 0, I64MAX, NULL, CONF_IGNORED, NULL, NULL,
        "brook has no warm-up replicas (see num.standby.replicas)."),
    ROW("max.warmup.replicas", CONF_INT, "2", 1, I32MAX, NULL, CONF_IGNORED, NULL, NULL,
        "brook has no warm-up replicas (see num.standby.replicas)."),
    ROW("probing.rebalance.interval.ms", CONF_LONG, "600000", 60000, I64MAX, NULL, CONF_IGNORED, NULL, NULL,
        "brook has no warm-up replicas, so no probing rebalances."),
    ROW("topology.optimization", CONF_ENUM, "none", 0, 0,
        "none,all,reuse.ktable.source.topics,merge.repartition.topics,single.store.self.join", CONF_IGNORED, NULL,
        NULL, "brook builds topologies as Kafka does with none: no optimization is applied."),
    ROW("application.server", CONF_STRING, "", 0, 0, NULL, CONF_IGNORED, NULL, NULL,
        "brook has no interactive-query metadata to share between instances."),
    ROW("task.timeout.ms", CONF_LONG, "300000", 0, I64MAX, NULL, CONF_IGNORED, NULL, NULL,
        "brook has no task-level timeout; librdkafka's own client timeouts apply (set them with consumer. and "
        "producer.)."),
    ROW("buffered.records.per.partition", CONF_INT, "1000", 1, I32MAX, NULL, CONF_IGNORED, NULL, NULL,
        "brook keeps no per-partition record buffer of its own; what librdkafka prefetches is bounded by "
        "consumer.queued.max.messages.kbytes."),
    ROW("metrics.recording.level", CONF_ENUM, "INFO", 0, 0, "INFO,DEBUG,TRACE", CONF_IGNORED, NULL, NULL,
        "brook records the same metrics at every level."),
    {.p = {.name = NULL}},
};
/* clang-format on */

/* Pass-through prefixes, most specific first. */
enum { PT_CONSUMER, PT_PRODUCER, PT_ADMIN };
static const struct {
  const char *prefix;
  int client;
} pass_through[] = {
    {"main.consumer.", PT_CONSUMER},
    {"restore.consumer.", PT_CONSUMER},
    {"consumer.", PT_CONSUMER},
    {"producer.", PT_PRODUCER},
    {"admin.", PT_ADMIN},
};

/* librdkafka properties brook sets itself and a user must not override. */
static const struct {
  const char *name;
  const char *why;
} reserved[] = {
    {"bootstrap.servers", "set bootstrap.servers instead"},
    {"group.id", "the group id is the application.id"},
    {"enable.auto.commit", "the stream threads commit offsets themselves"},
    {"enable.auto.offset.store", "the stream threads commit offsets themselves"},
    {"transactional.id", "transactions are not supported yet"},
};

struct brook_app_conf {
  GHashTable *set; /* name -> value, both owned; only what was set */
  streams_log_t log;
};

/* ---- rows ---- */

static const streams_prop_t *prop_find(const char *name) {
  for (const streams_prop_t *p = streams_props; p->p.name; p++)
    if (!strcmp(p->p.name, name)) return p;
  return NULL;
}

static const char *strip_prefix(const char *value, const char *prefix) {
  size_t n = strlen(prefix);
  return strncmp(value, prefix, n) ? value : value + n;
}

/* Index of word in a comma list, -1 if absent. Case-insensitive, as the
 * broker's conf_check() that accepted the value at set time. */
static int list_index(const char *list, const char *word) {
  size_t wlen = strlen(word);
  int i = 0;
  for (const char *p = list; p && *p; i++) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == wlen && !g_ascii_strncasecmp(p, word, n)) return i;
    if (!e) break;
    p = e + 1;
  }
  return -1;
}

static brook_err_t check_application_id(const streams_prop_t *prop, const char *value, char *errstr,
                                        size_t errstr_size) {
  size_t n = strlen(value);
  bool ok = n > 0 && n <= 249 && strcmp(value, ".") && strcmp(value, "..");
  for (const char *c = value; ok && *c; c++) ok = g_ascii_isalnum(*c) || *c == '.' || *c == '_' || *c == '-';
  if (ok) return BROOK_ERR_NONE;
  snprintf(
      errstr, errstr_size,
      "Invalid value \"%s\" for configuration %s: only ASCII letters, digits, '.', '_' and '-' are allowed "
      "(1 to 249 characters, not \".\" or \"..\")",
      value, prop->p.name);
  return BROOK_ERR__BAD_CONFIG;
}

static brook_err_t check_serde(const streams_prop_t *prop, const char *value, char *errstr,
                               size_t errstr_size) {
  char why[256];
  brook_serde_t *serde = streams_serde_by_name(value, why, sizeof why);
  if (serde) {
    brook_serde_unref(serde);
    return BROOK_ERR_NONE;
  }
  snprintf(errstr, errstr_size, "Invalid value %s for configuration %s: %s", value, prop->p.name, why);
  return BROOK_ERR__BAD_CONFIG;
}

/* Index of a class-name value in prop's allowed list, accepting the short name
 * or the full Kafka class name; -1 if it is neither. */
static int class_index(const streams_prop_t *prop, const char *value) {
  return list_index(prop->p.allowed, strip_prefix(value, ERRORS_PKG));
}

static brook_err_t check_class(const streams_prop_t *prop, const char *value, char *errstr,
                               size_t errstr_size) {
  if (class_index(prop, value) >= 0) return BROOK_ERR_NONE;
  snprintf(errstr, errstr_size, "Invalid value %s for configuration %s: must be one of %s", value,
           prop->p.name, prop->p.allowed);
  return BROOK_ERR__BAD_CONFIG;
}

static brook_err_t check_replication_factor(const streams_prop_t *prop, const char *value, char *errstr,
                                            size_t errstr_size) {
  if (strtol(value, NULL, 10) != 0) return BROOK_ERR_NONE;
  snprintf(errstr, errstr_size,
           "Invalid value %s for configuration %s: must be -1 (the broker's default) or at least 1", value,
           prop->p.name);
  return BROOK_ERR__BAD_CONFIG;
}

/* Checks a value against a row: type and range (the broker's conf_check), then
 * the row's own check. Every message names the property and the value. */
static brook_err_t prop_check(const streams_prop_t *prop, const char *value, char *errstr,
                              size_t errstr_size) {
  brook_err_t err = conf_check(&prop->p, value, errstr, errstr_size);
  if (err)
    return BROOK_ERR__BAD_CONFIG; /* conf_check says INVALID_CONFIG (a wire code); locally it is this */
  if (prop->check) return prop->check(prop, value, errstr, errstr_size);
  return BROOK_ERR_NONE;
}

/* ---- pass-through (librdkafka) properties ---- */

static int pass_through_of(const char *name, const char **rest) {
  for (size_t i = 0; i < G_N_ELEMENTS(pass_through); i++) {
    size_t n = strlen(pass_through[i].prefix);
    if (!strncmp(name, pass_through[i].prefix, n)) {
      *rest = name + n;
      return (int)i;
    }
  }
  return -1;
}

/* librdkafka's own table decides whether a name exists and a value is valid;
 * a throwaway conf is cheap next to how rarely properties are set. */
static rd_kafka_conf_res_t rdkafka_check(const char *name, const char *value, char *errstr,
                                         size_t errstr_size) {
  rd_kafka_conf_t *rkconf = rd_kafka_conf_new();
  rd_kafka_conf_res_t res;
  if (value) {
    res = rd_kafka_conf_set(rkconf, name, value, errstr, errstr_size);
  } else {
    size_t size = 0;
    res = rd_kafka_conf_get(rkconf, name, NULL, &size);
  }
  rd_kafka_conf_destroy(rkconf);
  return res;
}

static brook_err_t check_pass_through(const char *name, int pt, const char *rest, const char *value,
                                      char *errstr, size_t errstr_size) {
  if (!*rest) {
    snprintf(errstr, errstr_size,
             "Invalid configuration %s: a librdkafka property name must follow the prefix", name);
    return BROOK_ERR__BAD_CONFIG;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(reserved); i++)
    if (!strcmp(rest, reserved[i].name)) {
      snprintf(errstr, errstr_size, "Invalid configuration %s: brook sets %s itself (%s)", name, rest,
               reserved[i].why);
      return BROOK_ERR__BAD_CONFIG;
    }
  char why[512] = "";
  rd_kafka_conf_res_t res = rdkafka_check(rest, value, why, sizeof why);
  if (res == RD_KAFKA_CONF_UNKNOWN) {
    snprintf(errstr, errstr_size, "Unknown configuration %s: librdkafka has no property %s", name, rest);
    return BROOK_ERR__BAD_CONFIG;
  }
  if (res != RD_KAFKA_CONF_OK) {
    snprintf(errstr, errstr_size, "Invalid value %s for configuration %s: %s", value ? value : "null", name,
             why);
    return BROOK_ERR__BAD_CONFIG;
  }
  (void)pt;
  return BROOK_ERR_NONE;
}

/* Checks a name and value as set() would. */
static brook_err_t check_one(const char *name, const char *value, char *errstr, size_t errstr_size) {
  const streams_prop_t *prop = prop_find(name);
  if (prop) return prop_check(prop, value, errstr, errstr_size);
  const char *rest;
  int pt = pass_through_of(name, &rest);
  if (pt >= 0) return check_pass_through(name, pt, rest, value, errstr, errstr_size);
  if (rdkafka_check(name, NULL, NULL, 0) != RD_KAFKA_CONF_UNKNOWN)
    snprintf(
        errstr, errstr_size,
        "unknown property %s: it is a Kafka client (librdkafka) property; use consumer.%s or producer.%s "
        "(or admin.%s) for the client it is meant for",
        name, name, name, name);
  else
    snprintf(errstr, errstr_size, "unknown property %s", name);
  return BROOK_ERR__BAD_CONFIG;
}

/* ---- brook_app_conf ---- */

brook_app_conf_t *brook_app_conf_new(void) {
  brook_app_conf_t *conf = g_new0(brook_app_conf_t, 1);
  conf->set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return conf;
}

brook_app_conf_t *brook_app_conf_dup(const brook_app_conf_t *conf) {
  brook_app_conf_t *dup = brook_app_conf_new();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, conf->set);
  while (g_hash_table_iter_next(&it, &k, &v)) g_hash_table_insert(dup->set, g_strdup(k), g_strdup(v));
  dup->log = conf->log;
  return dup;
}

void brook_app_conf_destroy(brook_app_conf_t *conf) {
  if (!conf) return;
  g_hash_table_destroy(conf->set);
  g_free(conf);
}

/* value NULL: back to the default. */
brook_err_t brook_app_conf_set(brook_app_conf_t *conf, const char *name, const char *value, char *errstr,
                               size_t errstr_size) {
  if (!name || !*name) {
    snprintf(errstr, errstr_size, "unknown property \"\": a property name is required");
    return BROOK_ERR__BAD_CONFIG;
  }
  if (!value) {
    if (!prop_find(name) && check_one(name, NULL, errstr, errstr_size)) return BROOK_ERR__BAD_CONFIG;
    g_hash_table_remove(conf->set, name);
    return BROOK_ERR_NONE;
  }
  brook_err_t err = check_one(name, value, errstr, errstr_size);
  if (err) return err;
  g_hash_table_replace(conf->set, g_strdup(name), g_strdup(value));
  return BROOK_ERR_NONE;
}

const char *brook_app_conf_get(const brook_app_conf_t *conf, const char *name) {
  const char *v = g_hash_table_lookup(conf->set, name);
  if (v) return v;
  const streams_prop_t *prop = prop_find(name);
  return prop ? prop->p.def : NULL;
}

/** True when `name` was set (not defaulted). For the test driver, which
 *  picks its own state.dir unless the user chose one. @locality any */
bool streams_conf_is_set(const brook_app_conf_t *conf, const char *name) {
  return g_hash_table_contains(conf->set, name);
}

brook_err_t brook_app_conf_load(brook_app_conf_t *conf, const char *path, char *errstr, size_t errstr_size) {
  GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  brook_err_t err = conf_load_properties(path, set, errstr, errstr_size);
  if (err) {
    g_hash_table_destroy(set);
    return BROOK_ERR__BAD_CONFIG;
  }
  /* All or nothing: check every line before applying any, in name order so
   * the first error reported does not depend on hashing. */
  GList *names = g_list_sort(g_hash_table_get_keys(set), (GCompareFunc)strcmp);
  char why[1024];
  for (GList *l = names; l && !err; l = l->next) {
    err = check_one(l->data, g_hash_table_lookup(set, l->data), why, sizeof why);
    if (err) snprintf(errstr, errstr_size, "%s: %s", path, why);
  }
  for (GList *l = names; l && !err; l = l->next)
    g_hash_table_replace(conf->set, g_strdup(l->data), g_strdup(g_hash_table_lookup(set, l->data)));
  g_list_free(names);
  g_hash_table_destroy(set);
  return err;
}

void brook_app_conf_set_log_cb(brook_app_conf_t *conf,
                               void (*log_cb)(int level, const char *ctx, const char *msg, void *opaque),
                               void *opaque) {
  conf->log.cb = log_cb;
  conf->log.opaque = opaque;
}

/* ---- resolve ---- */

/* The effective text of a row: set, else a set alias, else the default. */
static const char *effective(const brook_app_conf_t *conf, const streams_prop_t *prop) {
  const char *v = g_hash_table_lookup(conf->set, prop->p.name);
  if (v) return v;
  for (const streams_prop_t *a = streams_props; a->p.name; a++)
    if (a->p.synonym && !strcmp(a->p.synonym, prop->p.name) &&
        (v = g_hash_table_lookup(conf->set, a->p.name)))
      return v;
  return prop->p.def;
}

static int64_t get_long(const brook_app_conf_t *conf, const char *name) {
  const streams_prop_t *prop = prop_find(name);
  g_assert(prop && (prop->p.type == CONF_INT || prop->p.type == CONF_LONG));
  return g_ascii_strtoll(effective(conf, prop), NULL, 10);
}

static const char *get_str(const brook_app_conf_t *conf, const char *name) {
  const streams_prop_t *prop = prop_find(name);
  g_assert(prop);
  return effective(conf, prop);
}

static brook_serde_t *get_serde(const brook_app_conf_t *conf, const char *name) {
  const char *v = get_str(conf, name);
  return v ? streams_serde_by_name(v, NULL, 0) : NULL; /* checked already */
}

static GHashTable *props_new(void) { return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free); }

brook_err_t streams_conf_resolve(const brook_app_conf_t *conf, streams_conf_t *out, char *errstr,
                                 size_t errstr_size) {
  memset(out, 0, sizeof *out);
  /* Everything set is checked again: a conf may have been loaded piecemeal. */
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, conf->set);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    brook_err_t err = check_one(k, v, errstr, errstr_size);
    if (err) return err;
  }
  for (const streams_prop_t *p = streams_props; p->p.name; p++)
    if ((p->p.flags & SP_REQUIRED) && !effective(conf, p)) {
      snprintf(errstr, errstr_size, "Missing required configuration %s: it has no default", p->p.name);
      return BROOK_ERR__BAD_CONFIG;
    }
  const char *guarantee = get_str(conf, "processing.guarantee");
  if (list_index(prop_find("processing.guarantee")->p.allowed, guarantee) != STREAMS_AT_LEAST_ONCE) {
    snprintf(errstr, errstr_size,
             "Invalid value %s for configuration processing.guarantee: not supported yet: transactions are a "
             "later "
             "issue; use at_least_once",
             guarantee);
    return BROOK_ERR__BAD_CONFIG;
  }

  out->application_id = g_strdup(get_str(conf, "application.id"));
  out->bootstrap_servers = g_strdup(get_str(conf, "bootstrap.servers"));
  const char *client_id = get_str(conf, "client.id");
  out->client_id = client_id && *client_id ? g_strdup(client_id) : NULL;
  out->num_stream_threads = (int)get_long(conf, "num.stream.threads");
  out->commit_interval_ms = get_long(conf, "commit.interval.ms");
  out->state_dir = g_strdup(get_str(conf, "state.dir"));
  out->processing_guarantee = STREAMS_AT_LEAST_ONCE;
  out->replication_factor = (int)get_long(conf, "replication.factor");
  out->default_key_serde = get_serde(conf, "default.key.serde");
  out->default_value_serde = get_serde(conf, "default.value.serde");
  out->statestore_cache_max_bytes = get_long(conf, "statestore.cache.max.bytes");
  out->rocksdb_total_memory_bytes = get_long(conf, "rocksdb.total.memory.bytes");
  out->poll_ms = get_long(conf, "poll.ms");
  out->max_poll_records = get_long(conf, "max.poll.records");
  out->repartition_purge_interval_ms = get_long(conf, "repartition.purge.interval.ms");
  const streams_prop_t *deser = prop_find("default.deserialization.exception.handler");
  out->deserialization_handler = class_index(deser, effective(conf, deser)) == 1
                                     ? STREAMS_DESER_LOG_AND_CONTINUE
                                     : STREAMS_DESER_LOG_AND_FAIL;
  const streams_prop_t *prod = prop_find("default.production.exception.handler");
  out->production_handler =
      class_index(prod, effective(conf, prod)) == 1 ? STREAMS_PRODUCTION_CONTINUE : STREAMS_PRODUCTION_FAIL;

  /* Pass-through, in precedence order: for the consumer, main.consumer.X over
   * consumer.X over restore.consumer.X (brook restores with the same consumer
   * settings, so restore.consumer.X applies only where consumer.X is unset). */
  out->consumer_props = props_new();
  out->producer_props = props_new();
  out->admin_props = props_new();
  static const char *const order[] = {"restore.consumer.", "consumer.", "main.consumer.", "producer.",
                                      "admin."};
  for (size_t o = 0; o < G_N_ELEMENTS(order); o++) {
    g_hash_table_iter_init(&it, conf->set);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      const char *rest;
      int pt = pass_through_of(k, &rest);
      if (pt < 0 || strcmp(pass_through[pt].prefix, order[o])) continue;
      GHashTable *dst = pass_through[pt].client == PT_CONSUMER   ? out->consumer_props
                        : pass_through[pt].client == PT_PRODUCER ? out->producer_props
                                                                 : out->admin_props;
      g_hash_table_replace(dst, g_strdup(rest), g_strdup(v));
    }
  }
  const char *st = g_hash_table_lookup(out->consumer_props, "session.timeout.ms");
  out->session_timeout_ms = st ? g_ascii_strtoll(st, NULL, 10) : 45000;
  out->log = conf->log;

  for (const streams_prop_t *p = streams_props; p->p.name; p++)
    if ((p->p.flags & CONF_IGNORED) && g_hash_table_contains(conf->set, p->p.name))
      streams_log(&out->log, BROOK_LOG_NOTICE, "conf", "%s=%s has no effect in brook: %s", p->p.name,
                  (const char *)g_hash_table_lookup(conf->set, p->p.name), p->p.doc);
  return BROOK_ERR_NONE;
}

void streams_conf_clear(streams_conf_t *conf) {
  if (!conf) return;
  g_free(conf->application_id);
  g_free(conf->bootstrap_servers);
  g_free(conf->client_id);
  g_free(conf->state_dir);
  brook_serde_unref(conf->default_key_serde);
  brook_serde_unref(conf->default_value_serde);
  if (conf->consumer_props) g_hash_table_destroy(conf->consumer_props);
  if (conf->producer_props) g_hash_table_destroy(conf->producer_props);
  if (conf->admin_props) g_hash_table_destroy(conf->admin_props);
  memset(conf, 0, sizeof *conf);
}

/* ---- serdes by name ---- */

brook_serde_t *streams_serde_by_name(const char *name, char *errstr, size_t errstr_size) {
  static const struct {
    const char *name;
    brook_serde_t *(*ctor)(void);
  } serdes[] = {
      {"string", brook_serde_string_new},
      {"bytes", brook_serde_bytes_new},
      {"i32", brook_serde_i32_new},
      {"integer", brook_serde_i32_new},
      {"i64", brook_serde_i64_new},
      {"long", brook_serde_i64_new},
      {"double", brook_serde_double_new},
      {"void", brook_serde_void_new},
      {"json", brook_serde_json_new},
      {SERDES_CLASS "StringSerde", brook_serde_string_new},
      {SERDES_CLASS "ByteArraySerde", brook_serde_bytes_new},
      {SERDES_CLASS "BytesSerde", brook_serde_bytes_new},
      {SERDES_CLASS "IntegerSerde", brook_serde_i32_new},
      {SERDES_CLASS "LongSerde", brook_serde_i64_new},
      {SERDES_CLASS "DoubleSerde", brook_serde_double_new},
      {SERDES_CLASS "VoidSerde", brook_serde_void_new},
  };
  for (size_t i = 0; name && i < G_N_ELEMENTS(serdes); i++)
    if (!strcmp(name, serdes[i].name)) return serdes[i].ctor();
  if (errstr)
    snprintf(errstr, errstr_size, "unknown serde \"%s\": brook has %s", name ? name : "(null)", SERDE_VALUES);
  return NULL;
}

/* ---- logging ---- */

static const char *level_name(int level) {
  switch (level) {
    case BROOK_LOG_ERR:
      return "ERROR";
    case BROOK_LOG_WARNING:
      return "WARNING";
    case BROOK_LOG_NOTICE:
      return "NOTICE";
    case BROOK_LOG_INFO:
      return "INFO";
    case BROOK_LOG_DEBUG:
      return "DEBUG";
  }
  return level < BROOK_LOG_ERR ? "CRITICAL" : "DEBUG";
}

void streams_logv(const streams_log_t *log, int level, const char *ctx, const char *fmt, va_list ap) {
  if ((!log || !log->cb) && level > BROOK_LOG_WARNING) return; /* the default prints nothing below WARNING */
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  if (log && log->cb)
    log->cb(level, ctx ? ctx : "", buf, log->opaque);
  else
    fprintf(stderr, "brook %s [%s] %s\n", level_name(level), ctx ? ctx : "", buf);
}

void streams_log(const streams_log_t *log, int level, const char *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  streams_logv(log, level, ctx, fmt, ap);
  va_end(ap);
}

/* ---- the reference (docs/streams-configuration.md) ---- */

static const char *type_name(const streams_prop_t *p) {
  if (p->type_name) return p->type_name;
  switch (p->p.type) {
    case CONF_BOOL:
      return "boolean";
    case CONF_INT:
      return "int";
    case CONF_LONG:
      return "long";
    case CONF_DOUBLE:
      return "double";
    case CONF_STRING:
    case CONF_ENUM:
      return "string";
    case CONF_FLAGS:
      return "list";
  }
  return "?";
}

/* Markdown table cells must not contain '|'. */
static void write_cell(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '|') fputc('\\', out);
    fputc(*s, out);
  }
}

static void write_valid(FILE *out, const streams_prop_t *p) {
  if (p->p.type == CONF_INT || p->p.type == CONF_LONG) {
    if (p->p.max == I64MAX || p->p.max == I32MAX)
      fprintf(out, "[%" PRId64 ", …]", p->p.min);
    else
      fprintf(out, "[%" PRId64 ", %" PRId64 "]", p->p.min, p->p.max);
  } else if (p->p.allowed) {
    char **parts = g_strsplit(p->p.allowed, ",", -1);
    char *joined = g_strjoinv(", ", parts);
    write_cell(out, p->check == check_serde ? p->p.allowed : joined);
    g_free(joined);
    g_strfreev(parts);
  }
}

/** Writes the Markdown reference to `out`. (Declared here; the test uses it to
 *  compare with docs/streams-configuration.md.) @locality any */
void streams_conf_write_reference(FILE *out) {
  fprintf(
      out,
      "<!-- Generated by `build/streams/brook-streams-config` from the table in streams/conf.c.\n"
      "     Do not edit by hand: tests/streams/test-conf.c fails when this file and the table differ. -->\n"
      "# Stream application configuration reference\n\n"
      "A stream application is configured with Kafka Streams' property names and defaults "
      "(`brook_app_conf_set`, or a Java `.properties` file with `brook_app_conf_load`). An unknown "
      "property, or a value outside its valid values, is an error naming the property and the value.\n\n"
      "| name | type | default | valid values | description |\n"
      "|---|---|---|---|---|\n");
  for (const streams_prop_t *p = streams_props; p->p.name; p++) {
    fprintf(out, "| `%s` | %s | ", p->p.name, type_name(p));
    if (p->p.flags & SP_REQUIRED)
      fprintf(out, "*(required)*");
    else if (!p->p.def)
      fprintf(out, "null");
    else if (!*p->p.def)
      fprintf(out, "\"\"");
    else
      write_cell(out, p->p.def);
    fprintf(out, " | ");
    write_valid(out, p);
    fprintf(out, " | ");
    if (p->p.flags & CONF_IGNORED) fprintf(out, "*(no effect)* ");
    if (p->p.flags & SP_BROOK) fprintf(out, "*(brook)* ");
    if (p->p.synonym) fprintf(out, "*(alias of `%s`)* ", p->p.synonym);
    write_cell(out, p->p.doc);
    fprintf(out, " |\n");
  }
  fprintf(
      out,
      "\nProperties marked *no effect* are accepted so that Kafka Streams property files work; brook logs a "
      "notice when one is set. *brook* marks properties Kafka Streams does not have.\n\n"
      "## Client properties\n\n"
      "The application's Kafka clients are librdkafka clients. Their properties are set with a prefix "
      "naming the client, and handed to librdkafka with the prefix stripped, after brook's own settings:\n\n"
      "| prefix | client |\n"
      "|---|---|\n"
      "| `consumer.` | the stream threads' consumers (also used to restore state stores) |\n"
      "| `main.consumer.` | the same consumers; wins over `consumer.` |\n"
      "| `restore.consumer.` | brook restores with the stream threads' consumer settings: applied to them "
      "where the same `consumer.` property is not set |\n"
      "| `producer.` | the stream threads' producers |\n"
      "| `admin.` | the admin client (internal topics) |\n\n"
      "Names and values are checked against librdkafka's own configuration when they are set "
      "(see librdkafka's CONFIGURATION.md). A client property without a prefix (`session.timeout.ms`) is "
      "an error that says which prefixes to use: unlike Kafka Streams, brook does not hand unprefixed "
      "properties to every client. `consumer.session.timeout.ms` defaults to 45000 as in Kafka. brook "
      "sets these itself and refuses them with any prefix: `bootstrap.servers`, `group.id`, "
      "`enable.auto.commit`, `enable.auto.offset.store`, `transactional.id`.\n");
}

void brook_app_print_config_reference(void) {
  streams_conf_write_reference(stdout);
  fflush(stdout);
}
