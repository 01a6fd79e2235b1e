/*
 * conf_reference.c — brook-streams-config: prints the stream application's
 * configuration reference (Markdown) generated from the table in conf.c.
 *
 *   build/streams/brook-streams-config > docs/streams-configuration.md
 */
#include "brook_streams.h"

int main(void) {
  brook_app_print_config_reference();
  return 0;
}
