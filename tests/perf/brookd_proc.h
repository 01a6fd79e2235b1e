/*
 * brookd_proc.h — what the benchmarks share: CPU and peak-RSS measurement of
 * a process, and brookd as a subprocess (its own temp dir and
 * server.properties, output to a log file rather than a pipe, the port
 * learnt from its "listening on" line, stopped by PID with SIGTERM then
 * SIGKILL and reaped with wait4 so its whole rusage is known).
 */
#ifndef BROOK_BENCH_BROOKD_PROC_H
#define BROOK_BENCH_BROOKD_PROC_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BROOKD_START_TIMEOUT 15.0
#define BROOKD_STOP_TIMEOUT 10.0

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
  struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

/* utime+stime in seconds from a /proc stat file; -1 if unreadable. Parsed
 * after the LAST ')' since the command name may contain both. */
static double stat_cpu_s(const char *path) {
  char buf[2048];
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long utime = 0, stime = 0;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double proc_cpu_s(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  return stat_cpu_s(path);
}

static double thread_cpu_s(pid_t tid) {
  char path[64];
  if (tid <= 0) return 0;
  snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
  double v = stat_cpu_s(path);
  return v < 0 ? 0 : v;
}

static double proc_hwm_mib(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  double v = -1;
  while (fgets(line, sizeof(line), f)) {
    unsigned long kb;
    if (sscanf(line, "VmHWM: %lu kB", &kb) == 1) {
      v = (double)kb / 1024.0;
      break;
    }
  }
  fclose(f);
  return v;
}

static void proc_reset_hwm(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
  int fd = open(path, O_WRONLY);
  if (fd < 0) return;
  if (write(fd, "5", 1) < 0) { /* then the peak is cumulative since start */
  }
  close(fd);
}

static void print_log_tail(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, sz > 4000 ? sz - 4000 : 0, SEEK_SET);
  char buf[4096];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  fprintf(stderr, "---- tail of %s ----\n%s\n---- end ----\n", path, buf);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

typedef struct brookd_proc {
  pid_t pid;              /* 0 when not running */
  char tmpdir[PATH_MAX];  /* server.properties, data/, brookd.log */
  char logpath[PATH_MAX + 16];
  char bootstrap[128];    /* 127.0.0.1:PORT once up */
  struct rusage final_ru; /* from wait4() at stop */
  int final_status;
} brookd_proc_t;

/* The brookd a signal handler must stop. */
static volatile sig_atomic_t brookd_proc_signal_pid;

/* For a SIGINT/SIGTERM handler: stops brookd (bounded ~2 s, then SIGKILL) and
 * says where its temp dir is left. Async-signal-safe. */
static void brookd_proc_stop_from_signal(const brookd_proc_t *p) {
  pid_t pid = (pid_t)brookd_proc_signal_pid;
  if (pid > 0) {
    kill(pid, SIGTERM);
    bool reaped = false;
    for (int i = 0; i < 200 && !reaped; i++) {
      reaped = waitpid(pid, NULL, WNOHANG) == pid;
      struct timespec ts = {0, 10 * 1000 * 1000};
      if (!reaped) nanosleep(&ts, NULL);
    }
    if (!reaped) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
  }
  if (p->tmpdir[0]) { /* removing it is not async-signal-safe: say where it is */
    static const char msg[] = "\ninterrupted: brookd stopped; its temp dir is left at ";
    if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, p->tmpdir, strlen(p->tmpdir)) < 0 || write(2, "\n", 1) < 0) {
    }
  }
}

/* Starts `path` with a fresh temp dir (/tmp/<tag>-XXXXXX), listening on
 * 127.0.0.1 port 0, with `--override` for each of overrides[0..n) (later ones
 * win); waits for its listening line. On failure the log tail is printed; the
 * caller calls brookd_proc_stop either way. */
static bool brookd_proc_start(brookd_proc_t *p, const char *path, const char *tag, const char *const *overrides,
                              int n) {
  snprintf(p->tmpdir, sizeof(p->tmpdir), "/tmp/%s-XXXXXX", tag);
  if (!mkdtemp(p->tmpdir)) {
    fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
    p->tmpdir[0] = '\0';
    return false;
  }
  char props[PATH_MAX + 32], datadir[PATH_MAX + 16];
  snprintf(props, sizeof(props), "%s/server.properties", p->tmpdir);
  snprintf(datadir, sizeof(datadir), "%s/data", p->tmpdir);
  snprintf(p->logpath, sizeof(p->logpath), "%s/brookd.log", p->tmpdir);
  FILE *f = fopen(props, "w");
  if (!f) return false;
  fprintf(f,
          "# written by %s\n"
          "listeners=PLAINTEXT://127.0.0.1:0\n"
          "log.dirs=%s\n"
          "num.partitions=1\n"
          "auto.create.topics.enable=true\n",
          tag, datadir);
  fclose(f);

  const char **argv = calloc((size_t)(3 + 2 * n), sizeof *argv);
  int ac = 0;
  argv[ac++] = path;
  argv[ac++] = props;
  for (int i = 0; i < n; i++) {
    argv[ac++] = "--override";
    argv[ac++] = overrides[i];
  }
  argv[ac] = NULL;
  pid_t pid = fork();
  if (pid < 0) {
    free(argv);
    return false;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(p->logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int nul = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (nul >= 0) dup2(nul, 0);
    execv(path, (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
    _exit(127);
  }
  free(argv);
  p->pid = pid;
  brookd_proc_signal_pid = pid;

  const char *needle = "listening on PLAINTEXT://127.0.0.1:";
  double deadline = now_s() + BROOKD_START_TIMEOUT;
  while (now_s() < deadline) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      fprintf(stderr, "brookd exited during startup (status 0x%x)\n", st);
      print_log_tail(p->logpath);
      p->pid = 0;
      brookd_proc_signal_pid = 0;
      return false;
    }
    FILE *lf = fopen(p->logpath, "r");
    if (lf) {
      char line[1024];
      while (fgets(line, sizeof(line), lf)) {
        char *s = strstr(line, needle);
        int port;
        if (s && sscanf(s + strlen(needle), "%d", &port) == 1 && port > 0) {
          fclose(lf);
          snprintf(p->bootstrap, sizeof(p->bootstrap), "127.0.0.1:%d", port);
          return true;
        }
      }
      fclose(lf);
    }
    sleep_s(0.02);
  }
  fprintf(stderr, "brookd did not log '%s<port>' within %.0f s\n", needle, BROOKD_START_TIMEOUT);
  print_log_tail(p->logpath);
  return false;
}

/* SIGTERM, SIGKILL after BROOKD_STOP_TIMEOUT; reaped with wait4() (fills
 * final_ru and final_status). Removes the temp dir unless keep. */
static void brookd_proc_stop(brookd_proc_t *p, bool keep) {
  if (p->pid > 0) {
    kill(p->pid, SIGTERM);
    double deadline = now_s() + BROOKD_STOP_TIMEOUT;
    int st = 0;
    bool reaped = false;
    while (now_s() < deadline) {
      if (wait4(p->pid, &st, WNOHANG, &p->final_ru) == p->pid) {
        reaped = true;
        break;
      }
      sleep_s(0.02);
    }
    if (!reaped) {
      fprintf(stderr, "brookd pid %d ignored SIGTERM for %.0f s: SIGKILL\n", (int)p->pid, BROOKD_STOP_TIMEOUT);
      kill(p->pid, SIGKILL);
      wait4(p->pid, &st, 0, &p->final_ru);
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "note: brookd exited with status 0x%x after SIGTERM (expected clean exit 0)\n", st);
      print_log_tail(p->logpath);
    }
    p->final_status = st;
    p->pid = 0;
    brookd_proc_signal_pid = 0;
  }
  if (p->tmpdir[0]) {
    if (keep)
      fprintf(stderr, "kept %s\n", p->tmpdir);
    else
      nftw(p->tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    p->tmpdir[0] = '\0';
  }
}

#endif
