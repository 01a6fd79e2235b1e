/*
 * example_main.h — the command line every example shares, so that each
 * example's file is about its topology.
 *
 *   <example>                     demo: embedded broker, temporary state,
 *                                 feed sample input, process, print, exit
 *   <example> --run               run until SIGINT/SIGTERM (brook_app_run)
 *   --bootstrap-servers HOST:PORT a Kafka cluster instead of the embedded broker
 *   --state-dir DIR               keep state there (default: a temporary dir,
 *                                 removed at exit)
 *
 * Exit status: 0 on success, 1 when the app or a step fails (the reason on
 * stderr), 2 on a bad command line.
 */
#ifndef BROOK_EXAMPLE_MAIN_H
#define BROOK_EXAMPLE_MAIN_H

#include <ftw.h>
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "brook_client.h"
#include "brook_streams.h"

typedef struct example_topic {
  const char *name;
  int32_t partitions;
} example_topic_t;

typedef struct example {
  const char *name;           /**< program name, application.id, temp dir prefix */
  const char *summary;        /**< one line for --help */
  const char *run_hint;       /**< --run: what to produce where (printf format with %s = servers) */
  bool describe_at_start;     /**< print the topology first (always printed in --run mode) */
  brook_topology_t *(*topology)(char *errstr, size_t errstr_size); /**< (transfer full) */
  example_topic_t topics[4];  /**< created before start when missing; a NULL name ends the list */
  /** demo mode: sample input before start, and the result once the app is idle */
  brook_err_t (*feed)(const char *servers, void *opaque, char *errstr, size_t errstr_size);
  brook_err_t (*show)(const char *servers, void *opaque, char *errstr, size_t errstr_size);
  void *opaque;
} example_t;

static int example_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

static void example_app_error(brook_app_t *app, char *errstr, size_t errstr_size) {
  snprintf(errstr, errstr_size, "%s", brook_app_error(app) ? brook_app_error(app) : "the app failed");
}

static int example_main(const example_t *ex, int argc, char **argv) {
  char *bootstrap = NULL, *state_dir = NULL;
  gboolean run = FALSE;
  GOptionEntry entries[] = {
      {"bootstrap-servers", 'b', 0, G_OPTION_ARG_STRING, &bootstrap, "Kafka cluster (default: embedded broker)",
       "HOST:PORT"},
      {"state-dir", 's', 0, G_OPTION_ARG_FILENAME, &state_dir, "state directory (default: temporary)", "DIR"},
      {"run", 'r', 0, G_OPTION_ARG_NONE, &run, "run until SIGINT/SIGTERM instead of the demo", NULL},
      {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  GOptionContext *opts = g_option_context_new(ex->summary);
  g_option_context_add_main_entries(opts, entries, NULL);
  GError *gerr = NULL;
  if (!g_option_context_parse(opts, &argc, &argv, &gerr)) {
    fprintf(stderr, "%s: %s\n", ex->name, gerr->message);
    g_error_free(gerr);
    g_option_context_free(opts);
    return 2;
  }
  g_option_context_free(opts);

  char errstr[512] = "";
  int rc = 1;
  bool temp_state = !state_dir;
  if (temp_state) {
    char *tmpl = g_strdup_printf("%s-XXXXXX", ex->name);
    state_dir = g_dir_make_tmp(tmpl, &gerr);
    g_free(tmpl);
    if (!state_dir) {
      fprintf(stderr, "%s: %s\n", ex->name, gerr->message);
      g_error_free(gerr);
      return 1;
    }
  }

  brook_app_t *app = NULL;
  brook_topology_t *topology = ex->topology(errstr, sizeof errstr);
  if (!topology)
    goto out;
  if (ex->describe_at_start || run) {
    char *described = brook_topology_describe(topology);
    printf("%s\n", described);
    brook_free(described);
  }
  brook_app_conf_t *conf = brook_app_conf_new();
  if (brook_app_conf_set(conf, "application.id", ex->name, errstr, sizeof errstr) ||
      brook_app_conf_set(conf, "state.dir", state_dir, errstr, sizeof errstr) ||
      (bootstrap && brook_app_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr))) {
    brook_app_conf_destroy(conf);
    goto out;
  }
  app = brook_app_new(topology, conf, errstr, sizeof errstr);
  brook_app_conf_destroy(conf);
  if (!app)
    goto out;
  const char *servers = brook_app_bootstrap_servers(app);
  printf("%s at %s, state in %s\n", bootstrap ? "cluster" : "embedded broker", servers, state_dir);

  /* Source topics must exist before start (the app creates only its internal
   * repartition and changelog topics). */
  for (const example_topic_t *t = ex->topics; t < ex->topics + G_N_ELEMENTS(ex->topics) && t->name; t++)
    if (brook_admin_create_topic(servers, t->name, t->partitions, NULL, true, errstr, sizeof errstr))
      goto out;

  if (run) {
    printf(ex->run_hint, servers);
    printf(", Ctrl-C to stop\n");
    fflush(stdout);
    if ((rc = brook_app_run(app)) != 0)
      example_app_error(app, errstr, sizeof errstr);
    goto out;
  }

  if (ex->feed(servers, ex->opaque, errstr, sizeof errstr) || brook_app_start(app, errstr, sizeof errstr) ||
      brook_app_wait_idle(app, 60000, errstr, sizeof errstr) || ex->show(servers, ex->opaque, errstr, sizeof errstr))
    goto out;
  brook_app_close(app);
  if (brook_app_state(app) == BROOK_APP_ERROR) {
    example_app_error(app, errstr, sizeof errstr);
    goto out;
  }
  rc = 0;

out:
  if (rc && errstr[0])
    fprintf(stderr, "%s: %s\n", ex->name, errstr);
  brook_app_destroy(app);
  brook_topology_unref(topology);
  if (temp_state)
    nftw(state_dir, example_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  g_free(state_dir);
  g_free(bootstrap);
  return rc;
}

#endif
