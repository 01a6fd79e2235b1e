/*
 * test-example.c — keeps docs/state.md honest: compiles and runs the guide's
 * example (tests/state/example-kv.c, included here with main renamed), checks
 * what it printed, and checks the guide quotes the file verbatim.
 */
#include <glib.h>
#include <stdio.h>
#include <unistd.h>

#define main example_main
#include "example-kv.c"
#undef main

#include "state_test_util.h"

/* The source tree: meson compiles from the build root with __FILE__ relative
 * to it ("../tests/state/test-example.c"), and the binary is
 * <build root>/tests/state/test-state-example. */
static char *source_file(const char *rel) {
  if (g_path_is_absolute(__FILE__)) {
    char *dir = g_path_get_dirname(__FILE__);
    char *p = g_build_filename(dir, "..", "..", rel, NULL);
    g_free(dir);
    return p;
  }
  char *exe = g_file_read_link("/proc/self/exe", NULL);
  char *d1 = g_path_get_dirname(exe), *d2 = g_path_get_dirname(d1), *root = g_path_get_dirname(d2);
  char *fdir = g_path_get_dirname(__FILE__);
  char *p = g_build_filename(root, fdir, "..", "..", rel, NULL);
  g_free(exe);
  g_free(d1);
  g_free(d2);
  g_free(root);
  g_free(fdir);
  return p;
}

static void t_runs(void) {
  char *tmp = tu_tmpdir();
  char *argv[] = {"example", tmp, NULL};
  /* capture stdout in a file */
  char *out = g_build_filename(tmp, "out.txt", NULL);
  fflush(stdout);
  int saved = dup(1);
  FILE *f = fopen(out, "w");
  dup2(fileno(f), 1);
  int rc = example_main(2, argv);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  fclose(f);
  g_assert_cmpint(rc, ==, 0);
  char *text = NULL;
  g_assert_true(g_file_get_contents(out, &text, NULL, NULL));
  g_test_message("%s", text);
  g_assert_nonnull(strstr(text, "restore wordcount-counts-changelog from offset 0"));
  g_assert_nonnull(strstr(text, "be = 2 (ts 1005)"));
  g_assert_nonnull(strstr(text, "not = 1 (ts 1003)"));
  g_assert_nonnull(strstr(text, "forward to: new -> 2"));
  g_assert_null(strstr(text, "to = ")); /* outside [a, p) */
  g_free(text);
  /* a second run resumes from the checkpoint */
  f = fopen(out, "w");
  fflush(stdout);
  saved = dup(1);
  dup2(fileno(f), 1);
  rc = example_main(2, argv);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  fclose(f);
  g_assert_cmpint(rc, ==, 0);
  g_assert_true(g_file_get_contents(out, &text, NULL, NULL));
  g_assert_nonnull(strstr(text, "from offset 4"));
  g_assert_nonnull(strstr(text, "be = 4 (ts 1005)"));
  g_free(text);
  g_free(out);
  tu_rmdir(tmp);
}

static void t_doc_quotes_example(void) {
  char *src = source_file("tests/state/example-kv.c");
  char *doc = source_file("docs/state.md");
  char *code = NULL, *text = NULL;
  if (!g_file_get_contents(src, &code, NULL, NULL) || !g_file_get_contents(doc, &text, NULL, NULL)) {
    g_test_skip("source tree not found next to the build directory");
  } else {
    g_assert_nonnull(strstr(text, code));
  }
  g_free(code);
  g_free(text);
  g_free(src);
  g_free(doc);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/state/example/runs", t_runs);
  g_test_add_func("/state/example/doc-quotes-example", t_doc_quotes_example);
  return g_test_run();
}
