/*
 * brookd — the bundled broker as a program, like kafka-server-start.sh:
 *
 *   brookd [server.properties] [--override key=value]...
 *
 * Properties are Kafka's; an unknown or invalid one stops start-up with a
 * message naming it. SIGTERM/SIGINT stop cleanly (flush, checkpoint, clean-
 * shutdown marker). Logs go to stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "brook_broker.h"

#ifndef BROOK_VERSION
#define BROOK_VERSION "0.1.0"
#endif

static void usage(FILE *out) {
  fprintf(out,
          "Usage: brookd [server.properties] [--override key=value]...\n"
          "       brookd --version | --help | --print-config-reference\n\n"
          "Runs brook's Kafka-compatible broker. With no arguments it listens on\n"
          "PLAINTEXT://127.0.0.1:9092 and keeps its data under ./brook-data.\n\n"
          "  --override key=value      set a broker property (repeatable; wins over the file)\n"
          "  --debug contexts          debug logging: protocol,log,broker or all\n"
          "  --print-config-reference  print the configuration reference (Markdown)\n"
          "  --version                 print the version and exit\n");
}

int main(int argc, char **argv) {
  char errstr[512];
  const char *file = NULL;
  brook_log_set_handler(brook_log_stderr_handler, NULL);
  brook_broker_conf_t *conf = brook_broker_conf_new();
  /* the file first, then overrides, whatever their order on the command line */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--version")) {
      printf("brookd %s (Kafka protocol, single node)\n", BROOK_VERSION);
      return 0;
    } else if (!strcmp(argv[i], "--print-config-reference")) {
      brook_broker_print_config_reference();
      return 0;
    } else if (!strcmp(argv[i], "--override") || !strcmp(argv[i], "--debug")) {
      if (++i == argc) {
        fprintf(stderr, "brookd: %s needs an argument\n", argv[i - 1]);
        return 2;
      }
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "brookd: unknown option %s (see --help)\n", argv[i]);
      return 2;
    } else if (file) {
      fprintf(stderr, "brookd: only one properties file may be given (%s, %s)\n", file, argv[i]);
      return 2;
    } else {
      file = argv[i];
    }
  }
  if (file && brook_broker_conf_load(conf, file, errstr, sizeof errstr)) {
    fprintf(stderr, "brookd: %s\n", errstr);
    return 1;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--debug")) {
      brook_log_set_debug(argv[++i]);
    } else if (!strcmp(argv[i], "--override")) {
      const char *kv = argv[++i];
      const char *eq = strchr(kv, '=');
      if (!eq) {
        fprintf(stderr, "brookd: --override expects key=value, got '%s'\n", kv);
        return 2;
      }
      char *key = strndup(kv, (size_t)(eq - kv));
      brook_err_t err = brook_broker_conf_set(conf, key, eq + 1, errstr, sizeof errstr);
      free(key);
      if (err) {
        fprintf(stderr, "brookd: %s\n", errstr);
        return 1;
      }
    }
  }

  /* Signals go to this thread only: block them before the broker thread starts. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  brook_broker_t *broker = brook_broker_start(conf, errstr, sizeof errstr);
  brook_broker_conf_destroy(conf);
  if (!broker) {
    fprintf(stderr, "brookd: %s\n", errstr);
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  brook_log(BROOK_LOG_INFO, "broker", "received %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
  brook_broker_stop(broker);
  return 0;
}
