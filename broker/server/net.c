/*
 * net.c — the broker's event loop: listeners, connections, framing, output.
 *
 * Design note
 *  - One epoll loop (level-triggered) on the broker thread. An eventfd wakes
 *    it for stop requests. epoll_wait's timeout is the nearest of: a parked
 *    fetch's deadline, the next housekeeping pass, the idle-connection sweep.
 *  - Framing: int32 size, then the request. A size < 8 or above
 *    socket.request.max.bytes closes that connection (logged); others go on.
 *  - Connection states:
 *
 *      OPEN --frame complete--> serve (handlers.c) --> OPEN
 *        |  \--request parked--> MUTED (no reads/serving) --conn_resume--> OPEN
 *        |  \--output queue > OUT_HIGH_WATER--> MUTED until drained
 *        +--EOF / error / idle / protocol violation--> CLOSED (freed)
 *
 *  - Output: a FIFO of encoded responses. Memory parts go out with writev,
 *    spliced file ranges (fetch data) with sendfile, so segment bytes never
 *    pass through user space. A response's splice references are released
 *    once it is fully written (or the connection closes).
 *  - Memory: a connection's read buffer starts empty (idle connections cost
 *    only their struct) and grows to the largest frame seen, up to the limit;
 *    it shrinks back when emptied after a large frame.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blog.h"
#include "broker_int.h"

#define READ_CHUNK (64 * 1024)
#define OUT_HIGH_WATER (64 * 1024 * 1024) /* stop reading a peer that does not drain its responses */
#define IDLE_SWEEP_MS 1000
#define MAX_LISTENERS 8

typedef struct out {
  brook_buf_t buf;
  size_t sent; /* bytes of buf_total already written */
} out_t;

struct conn {
  net_t *net;
  int fd;
  uint64_t id;
  char peer[64];
  uint8_t *rbuf;
  size_t rlen, rcap;
  GQueue out;          /* out_t* */
  size_t out_bytes;    /* unsent bytes queued */
  bool parked;         /* a request is parked: serve nothing more */
  bool closing;
  bool in_epoll_out;
  bool reading;        /* EPOLLIN registered */
  bool serving;        /* inside conn_serve: nested calls return at once */
  bool resume_pending; /* in net->resumed */
  int64_t last_active_ms;
  GList *link;         /* in net->conns */
};

struct net {
  brook_broker_t *b;
  int epfd;
  int wakefd;
  int lfds[MAX_LISTENERS];
  int nlisteners;
  int bound_port;
  volatile int stop;
  GList *conns;  /* conn_t* */
  int nconns;
  uint64_t next_conn_id;
  GPtrArray *dead; /* connections to free at the end of the iteration */
  GPtrArray *resumed; /* unparked connections to serve once the current work is done */
  int64_t next_idle_sweep_ms;
};

/* epoll data: listeners and the wake fd are tagged by small pointers. */
#define TAG_WAKE ((void *)1)
#define TAG_LISTEN_BASE 16

static void conn_update_events(conn_t *conn);
static void conn_flush(conn_t *conn);

static int set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Parses "PLAINTEXT://host:port" (host may be empty or [v6]). */
static bool parse_listener(const char *spec, char *host, size_t hostsz, int *port, char *errstr, size_t errstr_size) {
  const char *sep = strstr(spec, "://");
  if (!sep) {
    snprintf(errstr, errstr_size, "Invalid listener '%s': expected NAME://host:port", spec);
    return false;
  }
  if (g_ascii_strncasecmp(spec, "PLAINTEXT", (size_t)(sep - spec)) || sep - spec != 9) {
    snprintf(errstr, errstr_size, "Invalid listener '%s': only PLAINTEXT listeners are supported", spec);
    return false;
  }
  const char *hp = sep + 3;
  const char *colon = strrchr(hp, ':');
  if (!colon) {
    snprintf(errstr, errstr_size, "Invalid listener '%s': missing port", spec);
    return false;
  }
  const char *h = hp;
  size_t hl = (size_t)(colon - hp);
  if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl >= hostsz) hl = hostsz - 1;
  memcpy(host, h, hl);
  host[hl] = 0;
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535 || end == colon + 1) {
    snprintf(errstr, errstr_size, "Invalid listener '%s': bad port", spec);
    return false;
  }
  *port = (int)p;
  return true;
}

static int listen_on(const char *host, int port, int *bound, char *errstr, size_t errstr_size) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
  struct addrinfo *res = NULL;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  int rc = getaddrinfo(*host ? host : NULL, ps, &hints, &res);
  if (rc) {
    snprintf(errstr, errstr_size, "Cannot resolve listener host '%s': %s", host, gai_strerror(rc));
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0 || set_nonblock(fd) < 0) {
    snprintf(errstr, errstr_size, "Cannot listen on %s:%d: %s", host, port, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return -1;
  }
  freeaddrinfo(res);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

net_t *net_new(brook_broker_t *b, char *errstr, size_t errstr_size) {
  net_t *net = g_new0(net_t, 1);
  net->b = b;
  net->dead = g_ptr_array_new();
  net->resumed = g_ptr_array_new();
  net->epfd = epoll_create1(EPOLL_CLOEXEC);
  net->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = TAG_WAKE};
  epoll_ctl(net->epfd, EPOLL_CTL_ADD, net->wakefd, &ev);

  gchar **specs = g_strsplit(b->bconf.listeners, ",", MAX_LISTENERS);
  for (int i = 0; specs[i]; i++) {
    char *spec = g_strstrip(specs[i]);
    if (!*spec) continue;
    char host[256];
    int port, bound;
    if (!parse_listener(spec, host, sizeof host, &port, errstr, errstr_size)) goto fail;
    int fd = listen_on(host, port, &bound, errstr, errstr_size);
    if (fd < 0) goto fail;
    net->lfds[net->nlisteners] = fd;
    ev.events = EPOLLIN;
    ev.data.ptr = (void *)(uintptr_t)(TAG_LISTEN_BASE + net->nlisteners);
    epoll_ctl(net->epfd, EPOLL_CTL_ADD, fd, &ev);
    if (!net->nlisteners) {
      net->bound_port = bound;
      /* The first listener is what Metadata advertises unless advertised.listeners says otherwise. */
      g_strlcpy(b->host, *host ? host : "127.0.0.1", sizeof b->host);
      if (!strcmp(b->host, "0.0.0.0") || !strcmp(b->host, "::")) g_strlcpy(b->host, "127.0.0.1", sizeof b->host);
      b->port = bound;
    }
    net->nlisteners++;
    brook_log(BROOK_LOG_INFO, "broker", "listening on PLAINTEXT://%s:%d", *host ? host : "0.0.0.0", bound);
  }
  g_strfreev(specs);
  if (!net->nlisteners) {
    snprintf(errstr, errstr_size, "Invalid value for configuration listeners: no listener given");
    net_destroy(net);
    return NULL;
  }
  return net;
fail:
  g_strfreev(specs);
  net_destroy(net);
  return NULL;
}

int net_bound_port(net_t *net) { return net->bound_port; }

static void out_free(out_t *o) {
  brook_buf_free(&o->buf);
  g_free(o);
}

static void conn_free(conn_t *conn) {
  out_t *o;
  while ((o = g_queue_pop_head(&conn->out))) out_free(o);
  g_free(conn->rbuf);
  g_free(conn);
}

/* Closes now (unregisters, drops parked work); the struct is freed after the
 * loop iteration so that callers up the stack never see a dangling pointer. */
static void conn_close(conn_t *conn, const char *why) {
  if (conn->fd < 0) return;
  net_t *net = conn->net;
  brook_log(BROOK_LOG_DEBUG, "broker", "closing connection %" G_GUINT64_FORMAT " from %s: %s", conn->id, conn->peer, why);
  broker_conn_closed(net->b, conn);
  epoll_ctl(net->epfd, EPOLL_CTL_DEL, conn->fd, NULL);
  close(conn->fd);
  conn->fd = -1;
  net->conns = g_list_delete_link(net->conns, conn->link);
  conn->link = NULL;
  net->nconns--;
  g_ptr_array_add(net->dead, conn);
}

void conn_close_later(conn_t *conn, const char *why) {
  if (!conn->closing) brook_log(BROOK_LOG_INFO, "broker", "closing connection from %s: %s", conn->peer, why);
  conn->closing = true;
}

const char *conn_peer(const conn_t *conn) { return conn->peer; }

static void accept_all(net_t *net, int lfd) {
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE)
        brook_log(BROOK_LOG_WARNING, "broker", "accept: %s (raise the open-file limit)", strerror(errno));
      return;
    }
    if (net->nconns >= net->b->bconf.max_connections) {
      brook_log(BROOK_LOG_WARNING, "broker", "max.connections (%" PRId64 ") reached: refusing a connection",
                net->b->bconf.max_connections);
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_t *conn = g_new0(conn_t, 1);
    conn->net = net;
    conn->fd = fd;
    conn->id = ++net->next_conn_id;
    g_queue_init(&conn->out);
    char addr[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss.ss_family == AF_INET) {
      inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr);
      port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof addr);
      port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    snprintf(conn->peer, sizeof conn->peer, "%s:%d", addr, port);
    conn->last_active_ms = broker_now_ms();
    net->conns = g_list_prepend(net->conns, conn);
    conn->link = net->conns;
    net->nconns++;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = conn};
    conn->reading = true;
    epoll_ctl(net->epfd, EPOLL_CTL_ADD, fd, &ev);
  }
}

/* Serves complete frames from the read buffer while the connection may. */
static void conn_serve(conn_t *conn) {
  net_t *net = conn->net;
  size_t off = 0;
  if (conn->serving) return; /* the outer call's loop re-checks its conditions */
  conn->serving = true;
  int64_t max = net->b->bconf.socket_request_max_bytes;
  while (!conn->parked && !conn->closing && conn->fd >= 0 && conn->out_bytes < OUT_HIGH_WATER &&
         conn->rlen - off >= 4) {
    int32_t size = (int32_t)brook_rd32(conn->rbuf + off);
    if (size < 8 || size > max) {
      brook_log(BROOK_LOG_WARNING, "broker",
                "connection from %s sent a frame of %d bytes (allowed 8..%" PRId64 " by socket.request.max.bytes): closing",
                conn->peer, size, max);
      conn->closing = true;
      break;
    }
    if (conn->rlen - off < 4 + (size_t)size) {
      /* make room for the whole frame now, so a large produce reads in few syscalls */
      size_t need = 4 + (size_t)size;
      if (off == 0 && conn->rcap < need) {
        conn->rbuf = g_realloc(conn->rbuf, need);
        conn->rcap = need;
      }
      break;
    }
    broker_serve_frame(net->b, conn, conn->rbuf + off + 4, (size_t)size);
    off += 4 + (size_t)size;
  }
  if (off) {
    memmove(conn->rbuf, conn->rbuf + off, conn->rlen - off);
    conn->rlen -= off;
  }
  conn->serving = false;
  if (conn->rlen == 0 && conn->rcap > 4 * READ_CHUNK) {
    g_free(conn->rbuf);
    conn->rbuf = NULL;
    conn->rcap = 0;
  }
  if (conn->closing && conn->fd >= 0 && !conn->out_bytes) conn_close(conn, "closing");
  else if (conn->fd >= 0) conn_update_events(conn);
}

static void conn_read(conn_t *conn) {
  for (int rounds = 0; rounds < 16 && conn->fd >= 0; rounds++) {
    if (conn->rcap - conn->rlen < READ_CHUNK / 4) {
      size_t cap = conn->rcap ? conn->rcap * 2 : READ_CHUNK;
      if (cap < conn->rlen + READ_CHUNK) cap = conn->rlen + READ_CHUNK;
      conn->rbuf = g_realloc(conn->rbuf, cap);
      conn->rcap = cap;
    }
    ssize_t n = read(conn->fd, conn->rbuf + conn->rlen, conn->rcap - conn->rlen);
    if (n == 0) {
      conn_close(conn, "peer closed");
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      conn_close(conn, strerror(errno));
      return;
    }
    conn->rlen += (size_t)n;
    conn->last_active_ms = broker_now_ms();
    conn_serve(conn);
    if (conn->fd < 0 || conn->parked || !conn->reading) return;
  }
}

void conn_queue_response(conn_t *conn, brook_buf_t *buf) {
  if (conn->fd < 0) {
    brook_buf_free(buf);
    return;
  }
  out_t *o = g_new0(out_t, 1);
  o->buf = *buf;
  memset(buf, 0, sizeof *buf);
  conn->out_bytes += brook_buf_total(&o->buf);
  g_queue_push_tail(&conn->out, o);
  conn_flush(conn);
}

/* Serving the connection's next buffered frame is deferred to the end of the
 * loop iteration: a request is often completed from inside another request's
 * handler (the last member joining answers every member's JoinGroup), and
 * serving now would re-enter that handler's state. */
void conn_resume(conn_t *conn) {
  conn->parked = false;
  if (conn->fd < 0 || conn->resume_pending) return;
  conn->resume_pending = true;
  g_ptr_array_add(conn->net->resumed, conn);
}

static void serve_resumed(net_t *net) {
  for (guint i = 0; i < net->resumed->len; i++) { /* serving may resume more: len is re-read */
    conn_t *conn = net->resumed->pdata[i];
    conn->resume_pending = false;
    if (conn->fd >= 0 && !conn->parked) {
      conn_serve(conn);
      if (conn->fd >= 0) conn_update_events(conn);
    }
  }
  g_ptr_array_set_size(net->resumed, 0);
}

/* Collects what to write next, in stream order: up to 64 memory pieces (from
 * one or more queued responses) stopping before the first unsent splice, or —
 * when the very next unsent bytes are a splice — that splice alone. */
typedef struct next_write {
  struct iovec iov[64];
  int niov;
  const brook_fileref_t *splice; /* set only when niov == 0 */
  size_t splice_skip;
} next_write_t;

static void gather(conn_t *conn, next_write_t *w) {
  w->niov = 0;
  w->splice = NULL;
  for (GList *l = conn->out.head; l; l = l->next) {
    out_t *o = l->data;
    size_t pos = 0, mem_at = 0;
    for (size_t k = 0; k <= o->buf.nsplices; k++) {
      size_t mem_end = k < o->buf.nsplices ? o->buf.splices[k].at : o->buf.len;
      size_t mem_len = mem_end - mem_at;
      if (mem_len && o->sent < pos + mem_len) {
        if (w->niov == 64) return;
        size_t skip = o->sent > pos ? o->sent - pos : 0;
        w->iov[w->niov].iov_base = o->buf.data + mem_at + skip;
        w->iov[w->niov].iov_len = mem_len - skip;
        w->niov++;
      }
      pos += mem_len;
      mem_at = mem_end;
      if (k == o->buf.nsplices) break;
      size_t slen = (size_t)o->buf.splices[k].ref.len;
      if (slen && o->sent < pos + slen) {
        if (w->niov) return; /* memory first; the splice goes out next round */
        w->splice = &o->buf.splices[k].ref;
        w->splice_skip = o->sent > pos ? o->sent - pos : 0;
        return;
      }
      pos += slen;
    }
  }
}

/* Writes as much queued output as the socket takes. */
static void conn_flush(conn_t *conn) {
  next_write_t w;
  while (conn->fd >= 0 && !g_queue_is_empty(&conn->out)) {
    gather(conn, &w);
    ssize_t n;
    if (w.niov) {
      n = writev(conn->fd, w.iov, w.niov);
    } else if (w.splice) {
      off_t pos = (off_t)(w.splice->pos + (int64_t)w.splice_skip);
      n = sendfile(conn->fd, w.splice->fd, &pos, (size_t)w.splice->len - w.splice_skip);
      if (n == 0) {
        /* the file is shorter than promised: this response cannot be completed */
        conn_close(conn, "segment file shorter than the fetch response");
        return;
      }
    } else {
      break;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      conn_close(conn, strerror(errno));
      return;
    }
    size_t left = (size_t)n;
    conn->out_bytes -= left;
    while (left) {
      out_t *o = g_queue_peek_head(&conn->out);
      size_t rem = brook_buf_total(&o->buf) - o->sent;
      size_t take = left < rem ? left : rem;
      o->sent += take;
      left -= take;
      if (o->sent == brook_buf_total(&o->buf)) out_free(g_queue_pop_head(&conn->out));
    }
    conn->last_active_ms = broker_now_ms();
  }
  if (conn->fd >= 0) {
    if (conn->closing && !conn->out_bytes) conn_close(conn, "closing");
    else conn_update_events(conn);
  }
}

static void conn_update_events(conn_t *conn) {
  bool want_out = conn->out_bytes > 0;
  bool want_in = !conn->parked && !conn->closing && conn->out_bytes < OUT_HIGH_WATER;
  if (want_out == conn->in_epoll_out && want_in == conn->reading) return;
  struct epoll_event ev = {.events = (want_in ? EPOLLIN : 0) | (want_out ? EPOLLOUT : 0), .data.ptr = conn};
  epoll_ctl(conn->net->epfd, EPOLL_CTL_MOD, conn->fd, &ev);
  conn->in_epoll_out = want_out;
  bool was_reading = conn->reading;
  conn->reading = want_in;
  /* unmuted: frames may already be buffered */
  if (want_in && !was_reading && conn->rlen >= 4) conn_serve(conn);
}

/* Parked requests of a connection block it; everything else is independent. */
void conn_set_parked(conn_t *conn, bool parked) {
  conn->parked = parked;
  if (conn->fd >= 0) conn_update_events(conn);
}

static void idle_sweep(net_t *net, int64_t now) {
  int64_t idle = net->b->bconf.connections_max_idle_ms;
  for (GList *l = net->conns, *next; l; l = next) {
    next = l->next;
    conn_t *conn = l->data;
    if (!conn->parked && !conn->out_bytes && now - conn->last_active_ms > idle)
      conn_close(conn, "idle longer than connections.max.idle.ms");
  }
}

void net_run(net_t *net) {
  brook_broker_t *b = net->b;
  struct epoll_event evs[256];
  while (!net->stop) {
    int64_t now = broker_now_ms();
    int64_t next = MIN(b->next_housekeep_ms, net->next_idle_sweep_ms);
    int64_t dl = broker_next_deadline(b);
    if (dl >= 0) next = MIN(next, dl);
    int timeout = next <= now ? 0 : (int)MIN(next - now, 1000);
    int n = epoll_wait(net->epfd, evs, 256, timeout);
    if (n < 0 && errno != EINTR) {
      brook_log(BROOK_LOG_ERR, "broker", "epoll_wait: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < n; i++) {
      void *tag = evs[i].data.ptr;
      if (tag == TAG_WAKE) {
        uint64_t v;
        if (read(net->wakefd, &v, sizeof v) < 0) { /* nothing to do: the flag says why we woke */
        }
        continue;
      }
      if ((uintptr_t)tag >= TAG_LISTEN_BASE && (uintptr_t)tag < TAG_LISTEN_BASE + MAX_LISTENERS) {
        accept_all(net, net->lfds[(uintptr_t)tag - TAG_LISTEN_BASE]);
        continue;
      }
      conn_t *conn = tag;
      if (conn->fd < 0) continue;
      if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
        conn_close(conn, "connection error");
        continue;
      }
      if (evs[i].events & EPOLLOUT) conn_flush(conn);
      if (conn->fd >= 0 && (evs[i].events & EPOLLIN) && conn->reading) conn_read(conn);
    }
    now = broker_now_ms();
    if (dl >= 0 && dl <= now) broker_timers_run(b, now);
    if (b->data_appended || (dl >= 0 && dl <= now)) broker_parked_poll(b, now);
    if (now >= b->next_housekeep_ms) broker_housekeep(b, now);
    if (now >= net->next_idle_sweep_ms) {
      idle_sweep(net, now);
      net->next_idle_sweep_ms = now + IDLE_SWEEP_MS;
    }
    serve_resumed(net);
    for (guint i = 0; i < net->dead->len; i++) conn_free(net->dead->pdata[i]);
    g_ptr_array_set_size(net->dead, 0);
  }
}

void net_stop(net_t *net) {
  net->stop = 1;
  uint64_t one = 1;
  if (write(net->wakefd, &one, sizeof one) < 0) { /* the loop also polls the flag every second */
  }
}

void net_destroy(net_t *net) {
  if (!net) return;
  while (net->conns) conn_close(net->conns->data, "broker shutting down");
  for (guint i = 0; i < net->dead->len; i++) conn_free(net->dead->pdata[i]);
  g_ptr_array_free(net->dead, TRUE);
  g_ptr_array_free(net->resumed, TRUE);
  for (int i = 0; i < net->nlisteners; i++) close(net->lfds[i]);
  if (net->wakefd >= 0) close(net->wakefd);
  if (net->epfd >= 0) close(net->epfd);
  g_free(net);
}
