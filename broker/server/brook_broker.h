/*
 * brook_broker.h — the bundled Kafka-compatible broker, as a library.
 *
 * Tests, examples and stream applications start it in-process; brookd is a
 * thin executable over the same calls. The broker runs on its own thread
 * (one event loop) until brook_broker_stop().
 *
 *   brook_broker_conf_t *conf = brook_broker_conf_new();
 *   brook_broker_conf_set(conf, "listeners", "PLAINTEXT://127.0.0.1:0", errstr, sizeof errstr);
 *   brook_broker_conf_set(conf, "log.dirs", "/tmp/data", errstr, sizeof errstr);
 *   brook_broker_t *broker = brook_broker_start(conf, errstr, sizeof errstr);
 *   ... brook_broker_bootstrap(broker) -> "127.0.0.1:40123" ...
 *   brook_broker_stop(broker);
 *   brook_broker_conf_destroy(conf);
 *
 * Ownership: start copies what it needs from conf; conf may be destroyed
 * right after. No GLib, RocksDB or librdkafka type appears here.
 */
#ifndef BROOK_BROKER_H
#define BROOK_BROKER_H

#include <stddef.h>

#include "brook_err.h"

typedef struct brook_broker brook_broker_t;
typedef struct brook_broker_conf brook_broker_conf_t;

/** (transfer full) An empty configuration: every property at its default. @locality any */
brook_broker_conf_t *brook_broker_conf_new(void);
/** NULL is a no-op. */
void brook_broker_conf_destroy(brook_broker_conf_t *conf);
/** Sets a property by Kafka name. Unknown names and invalid values are
 *  BROOK_ERR_INVALID_CONFIG with a message naming the property. */
brook_err_t brook_broker_conf_set(brook_broker_conf_t *conf, const char *name, const char *value, char *errstr,
                                  size_t errstr_size);
/** Loads a server.properties file (later sets override earlier ones). */
brook_err_t brook_broker_conf_load(brook_broker_conf_t *conf, const char *path, char *errstr, size_t errstr_size);

/** Opens the log directory (recovering it after an unclean stop), binds the
 *  listeners and starts serving on a new thread. Returns NULL with errstr set
 *  on failure (bad config, directory unusable, port in use). (transfer full) */
brook_broker_t *brook_broker_start(const brook_broker_conf_t *conf, char *errstr, size_t errstr_size);

/** "host:port" of the first listener as bound (port 0 resolved).
 *  (transfer none) valid until stop. */
const char *brook_broker_bootstrap(const brook_broker_t *broker);
int brook_broker_port(const brook_broker_t *broker);

/** Stops serving, flushes and checkpoints every log, marks a clean shutdown,
 *  joins the thread and frees the broker. NULL is a no-op. @locality any thread
 *  but the broker's. */
void brook_broker_stop(brook_broker_t *broker);

/** Writes the configuration reference (Markdown) to stdout. */
void brook_broker_print_config_reference(void);

#endif
