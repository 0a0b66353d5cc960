/*
 * hostile.c — hostile (and one well-behaved) HTTP clients for tests/http/test_hostile.sh
 * and tests/bench/hostile_run.sh.  One process, non-blocking sockets and poll(), so that
 * hundreds of slow connections cost next to no CPU.  Always talks to 127.0.0.1:PORT;
 * ADDR arguments are the last byte of a 127.0.0.X source address (Linux routes all of
 * 127/8 to lo), so that many "clients" get past the per-address connection limit.
 *
 *   hostile raw PORT [TIMEOUT_MS]
 *       send stdin as one request (bytes as they are: NULs, bad chunking, anything) and
 *       print the response; reads while sending, so an early answer (413 before the body)
 *       is not lost to a reset.  Stops at EOF, at a complete response (Content-Length, or
 *       the headers of an answer to HEAD; with "Connection: close" in the request, only
 *       at EOF), or after TIMEOUT_MS (default 5000).
 *       Exit 0: a response came; 1: closed or reset with no response; 2: timed out.
 *   hostile lat PORT N [TIMEOUT_MS] [ADDR] [PATH]
 *       N sequential well-behaved requests, each on a new connection: POST /v1/predict with
 *       one iris instance (or GET PATH).  The first request that times out ends the run
 *       (the rest count as failed).  Prints
 *       "n= ok= fail= p50_ms= p90_ms= p99_ms= max_ms=" (ok: status 200).
 *   hostile slow PORT N INTERVAL_MS TRICKLE_MS WAIT_MS ADDR_FIRST ADDR_COUNT
 *       slowloris: N connections (spread over ADDR_FIRST..+ADDR_COUNT-1) each send a
 *       request line and then a header that never ends, one byte every INTERVAL_MS, for
 *       TRICKLE_MS; then they fall silent and wait up to WAIT_MS for the server to close
 *       them.  Prints "connected=N" as soon as the connections are up, then
 *       "connected= held=(open when the trickle ended) closed_trickling= answered=
 *        cut= still_open= cut_min_ms= cut_max_ms=" (cut: closed by the server after the
 *       trickle ended; cut_*_ms: from each one's last byte to its close).
 *   hostile burst PORT N WAIT_MS ADDR_FIRST ADDR_COUNT [ANSWER_MS]
 *       N connections opened as fast as possible, nothing sent; after WAIT_MS counts
 *       those the server closed (or refused) and those still held.  With ANSWER_MS, every
 *       held connection then sends GET /healthz (Connection: close) and the answers are
 *       awaited for up to ANSWER_MS.  Prints "opened= connected= refused= closed= held=
 *       answered_200= answered_other= unanswered=(closed without an answer) hung=(no
 *       answer within ANSWER_MS) answer_max_ms=".
 *   hostile abuse PORT SECONDS NSLOW
 *       for the bench: for SECONDS, at once and from one thread, NSLOW slowloris
 *       connections (reopened when cut) from 127.0.0.2-21, a burst of 200 idle
 *       connections every second from 127.0.0.30-49 (closed 500 ms later), and 4
 *       connections cycling through oversized and malformed requests, at most 100 a
 *       second.  Prints what it did.
 *   hostile utf8
 *       exit 0 when stdin is strictly valid UTF-8 (no overlong forms, no surrogates,
 *       nothing past U+10FFFF), 1 otherwise.
 *
 * Built by the scripts themselves: cc -O2 -o hostile tests/tools/hostile.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static int g_port;

static const char k_iris[] = "{\"instances\": [[5.1, 3.5, 1.4, 0.2]]}";

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void die(const char *what)
{
    perror(what);
    exit(3);
}

/* A non-blocking connection to 127.0.0.1:g_port from 127.0.0.ADDR; -1 on failure (errno). */
static int open_conn(int addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (addr != 1) {
        /* the port is chosen at connect(), per destination: many sockets per address */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)(addr & 0xff));
        if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* ---------------------------------------------------------------------------------- */
/* Responses. */

typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            die("realloc");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* The status of a response in b (0 if none yet); *complete when all of it is there. */
static int resp_status(const buf *b, bool head, bool *complete)
{
    *complete = false;
    if (b->len < 12 || strncmp(b->p, "HTTP/1.", 7) != 0)
        return 0;
    int status = atoi(b->p + 9);
    const char *end = memmem(b->p, b->len, "\r\n\r\n", 4);
    if (!end)
        return status;
    size_t hlen = (size_t)(end - b->p) + 4;
    if (head || status == 204 || status == 304 || (status >= 100 && status < 200)) {
        *complete = true;
        return status;
    }
    /* Content-Length in the header block */
    for (const char *l = b->p; l && l < end; l = memchr(l, '\n', (size_t)(end - l))) {
        if (*l == '\n')
            l++;
        if (strncasecmp(l, "Content-Length:", 15) == 0) {
            size_t cl = strtoull(l + 15, NULL, 10);
            *complete = b->len >= hlen + cl;
            break;
        }
    }
    return status;
}

typedef struct {
    int status;        /* 0: no response */
    bool eof, reset, timeout;
    int send_err;      /* errno of a failed send, 0 if everything went out */
    size_t sent;
    double ms;         /* from connect to the end */
} xresult;

/* One request on a new connection from 127.0.0.ADDR: send req (reading meanwhile), read
 * the response into out until complete, EOF, reset or timeout_ms. */
static xresult exchange(int addr, const char *req, size_t len, int timeout_ms, buf *out,
                        bool until_eof)
{
    xresult r = {0};
    bool head = len >= 5 && memcmp(req, "HEAD ", 5) == 0;
    double t0 = now_ms(), deadline = t0 + timeout_ms;
    int fd = open_conn(addr);
    if (fd < 0) {
        r.reset = true;
        r.send_err = errno;
        r.ms = now_ms() - t0;
        return r;
    }
    char tmp[65536];
    for (;;) {
        double left = deadline - now_ms();
        if (left <= 0) {
            r.timeout = true;
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (r.sent < len && !r.send_err)
            p.events |= POLLOUT;
        int n = poll(&p, 1, (int)left + 1);
        if (n < 0 && errno != EINTR)
            die("poll");
        if (n <= 0)
            continue;
        if (p.revents & POLLOUT) {
            ssize_t k = send(fd, req + r.sent, len - r.sent, MSG_NOSIGNAL);
            if (k > 0)
                r.sent += (size_t)k;
            else if (k < 0 && errno != EAGAIN && errno != EINTR)
                r.send_err = errno;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t k = recv(fd, tmp, sizeof tmp, 0);
            if (k > 0) {
                buf_add(out, tmp, (size_t)k);
                bool complete;
                r.status = resp_status(out, head, &complete);
                if (complete && !until_eof)
                    break;
            } else if (k == 0) {
                r.eof = true;
                break;
            } else if (errno != EAGAIN && errno != EINTR) {
                if (!r.send_err && r.sent < len && errno != ECONNRESET)
                    r.send_err = errno;
                r.reset = true;
                break;
            }
        }
    }
    if (out->len && !r.status) {
        bool c;
        r.status = resp_status(out, head, &c);
    }
    close(fd);
    r.ms = now_ms() - t0;
    return r;
}

static int mode_raw(int argc, char **argv)
{
    int timeout = argc > 3 ? atoi(argv[3]) : 5000;
    buf req = {0}, out = {0};
    char tmp[65536];
    ssize_t k;
    while ((k = read(0, tmp, sizeof tmp)) > 0)
        buf_add(&req, tmp, (size_t)k);
    bool close_asked = req.p && memmem(req.p, req.len, "Connection: close", 17);
    xresult r = exchange(1, req.p ? req.p : "", req.len, timeout, &out, close_asked);
    if (out.len)
        fwrite(out.p, 1, out.len, stdout);
    fprintf(stderr, "hostile raw: sent %zu of %zu bytes%s%s%s%s\n", r.sent, req.len,
            r.send_err ? " (send failed: " : "", r.send_err ? strerror(r.send_err) : "",
            r.send_err ? ")" : "", r.timeout ? "; timed out" : r.reset ? "; reset" : "");
    if (out.len)
        return 0;
    return r.timeout ? 2 : 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double q)
{
    if (n == 0)
        return 0;
    int i = (int)(q * n + 0.999999) - 1;
    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return v[i];
}

static int mode_lat(int argc, char **argv)
{
    if (argc < 4)
        return fprintf(stderr, "usage: hostile lat PORT N [TIMEOUT_MS] [ADDR] [PATH]\n"), 3;
    int n = atoi(argv[3]);
    int timeout = argc > 4 ? atoi(argv[4]) : 10000;
    int addr = argc > 5 ? atoi(argv[5]) : 1;
    const char *path = argc > 6 ? argv[6] : NULL;
    char req[1024];
    int len = path ? snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                               "Connection: close\r\n\r\n", path)
                   : snprintf(req, sizeof req,
                              "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                              "application/json\r\nContent-Length: %zu\r\nConnection: close"
                              "\r\n\r\n%s", strlen(k_iris), k_iris);
    double *v = calloc((size_t)(n > 0 ? n : 1), sizeof *v);
    int ok = 0, fail = 0;
    char why[200] = "";
    for (int i = 0; i < n; i++) {
        buf out = {0};
        xresult r = exchange(addr, req, (size_t)len, timeout, &out, false);
        v[i] = r.ms;
        if (r.timeout) {
            /* a server that does not answer: do not wait n times for it */
            snprintf(why, sizeof why, " aborted=timeout_at_request_%d", i + 1);
            fail += n - i;
            for (int j = i + 1; j < n; j++)
                v[j] = r.ms;
            free(out.p);
            break;
        }
        if (r.status == 200 && (path || (out.p && strstr(out.p, "\"label\""))))
            ok++;
        else {
            fail++;
            if (!why[0])
                snprintf(why, sizeof why, " first_failure=status:%d%s%s%s", r.status,
                         r.timeout ? ",timeout" : "", r.reset ? ",reset" : "",
                         r.eof ? ",eof" : "");
        }
        free(out.p);
    }
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    printf("n=%d ok=%d fail=%d p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f%s\n", n, ok,
           fail, pct(v, n, 0.5), pct(v, n, 0.9), pct(v, n, 0.99), n ? v[n - 1] : 0.0, why);
    free(v);
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* slowloris */

typedef struct {
    int fd;            /* -1: closed */
    bool connected;
    size_t sent;       /* bytes of the request sent */
    double last_send, closed_at;
    bool answered;     /* the server sent something back */
} slow_conn;

static const char k_slow_head[] = "GET /v1/predict?x=5.1,3.5,1.4,0.2 HTTP/1.1\r\n"
                                  "Host: 127.0.0.1\r\nX-Slow: ";

/* Close c; returns true. */
static bool slow_close(slow_conn *c)
{
    close(c->fd);
    c->fd = -1;
    c->closed_at = now_ms();
    return true;
}

/* Poll the connections for at most ms; marks those the server closed or answered. */
static void slow_poll(slow_conn *c, int n, struct pollfd *p, int ms)
{
    int m = 0;
    int *idx = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        if (c[i].fd < 0)
            continue;
        p[m].fd = c[i].fd;
        p[m].events = POLLIN | (c[i].connected ? 0 : POLLOUT);
        p[m].revents = 0;
        idx[m++] = i;
    }
    if (poll(p, (nfds_t)m, ms) > 0) {
        for (int j = 0; j < m; j++) {
            slow_conn *s = &c[idx[j]];
            if (p[j].revents & POLLOUT)
                s->connected = true;
            if (p[j].revents & (POLLIN | POLLHUP | POLLERR)) {
                char tmp[4096];
                ssize_t k = recv(s->fd, tmp, sizeof tmp, 0);
                if (k > 0)
                    s->answered = true;
                if (k >= 0 || (errno != EAGAIN && errno != EINTR))
                    slow_close(s);
            }
        }
    }
    free(idx);
}

/* Send the next byte of c's never-ending request. */
static void slow_send(slow_conn *c)
{
    if (c->fd < 0 || !c->connected)
        return;
    char b = c->sent < sizeof k_slow_head - 1 ? k_slow_head[c->sent] : 'a';
    if (c->sent < sizeof k_slow_head - 1 && c->sent == 0) {
        /* the request line and the start of the headers go at once; then a byte a time */
        ssize_t k = send(c->fd, k_slow_head, sizeof k_slow_head - 1, MSG_NOSIGNAL);
        if (k > 0)
            c->sent += (size_t)k;
        else if (k < 0 && errno != EAGAIN)
            slow_close(c);
    } else {
        ssize_t k = send(c->fd, &b, 1, MSG_NOSIGNAL);
        if (k == 1)
            c->sent++;
        else if (k < 0 && errno != EAGAIN)
            slow_close(c);
    }
    c->last_send = now_ms();
}

static int mode_slow(int argc, char **argv)
{
    if (argc < 9)
        return fprintf(stderr, "usage: hostile slow PORT N INTERVAL_MS TRICKLE_MS WAIT_MS "
                               "ADDR_FIRST ADDR_COUNT\n"), 3;
    int n = atoi(argv[3]), interval = atoi(argv[4]), trickle = atoi(argv[5]);
    int wait = atoi(argv[6]), first = atoi(argv[7]), count = atoi(argv[8]);
    slow_conn *c = calloc((size_t)n, sizeof *c);
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    for (int i = 0; i < n; i++) {
        c[i].fd = open_conn(first + i % count);
        if (c[i].fd < 0)
            fprintf(stderr, "hostile slow: connect: %s\n", strerror(errno));
    }
    /* wait (2 s at most) for the connections to be up */
    double t0 = now_ms();
    for (;;) {
        int up = 0, open = 0;
        for (int i = 0; i < n; i++) {
            open += c[i].fd >= 0;
            up += c[i].fd >= 0 && c[i].connected;
        }
        if (up == open || now_ms() - t0 > 2000)
            break;
        slow_poll(c, n, p, 50);
    }
    int connected = 0;
    for (int i = 0; i < n; i++)
        connected += c[i].fd >= 0 && c[i].connected;
    for (int i = 0; i < n; i++)
        slow_send(&c[i]);
    printf("connected=%d\n", connected);
    fflush(stdout);

    /* trickle: the connections take turns, spread over the interval */
    double start = now_ms(), end = start + trickle;
    double step = n ? (double)interval / n : interval;
    int next = 0;
    double next_at = start + step;
    while (now_ms() < end) {
        double t = now_ms();
        while (t >= next_at && next_at < end) {
            slow_send(&c[next]);
            next = (next + 1) % n;
            next_at += step;
        }
        double wait_ms = next_at - now_ms();
        if (wait_ms > end - now_ms())
            wait_ms = end - now_ms();
        slow_poll(c, n, p, wait_ms > 0 ? (int)wait_ms + 1 : 0);
    }
    int held = 0, closed_trickling = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].fd >= 0)
            held++;
        else if (c[i].connected)
            closed_trickling++;
    }
    /* silence: wait for the server to cut them */
    double silent = now_ms();
    bool *was_open = calloc((size_t)n, sizeof *was_open);
    for (int i = 0; i < n; i++)
        was_open[i] = c[i].fd >= 0;
    while (now_ms() - silent < wait) {
        int open = 0;
        for (int i = 0; i < n; i++)
            open += c[i].fd >= 0;
        if (!open)
            break;
        slow_poll(c, n, p, 100);
    }
    int cut = 0, still = 0, answered = 0;
    double cmin = 0, cmax = 0;
    for (int i = 0; i < n; i++) {
        answered += c[i].answered;
        if (c[i].fd >= 0) {
            still++;
            close(c[i].fd);
        } else if (was_open[i]) {
            double d = c[i].closed_at - c[i].last_send;
            if (!cut || d < cmin)
                cmin = d;
            if (!cut || d > cmax)
                cmax = d;
            cut++;
        }
    }
    printf("connected=%d held=%d closed_trickling=%d answered=%d cut=%d still_open=%d "
           "cut_min_ms=%.0f cut_max_ms=%.0f\n", connected, held, closed_trickling, answered,
           cut, still, cmin, cmax);
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* burst */

enum { B_PENDING, B_UP, B_CLOSED, B_REFUSED, B_ASKED, B_DONE };

static int mode_burst(int argc, char **argv)
{
    if (argc < 7)
        return fprintf(stderr, "usage: hostile burst PORT N WAIT_MS ADDR_FIRST ADDR_COUNT "
                               "[ANSWER_MS]\n"), 3;
    int n = atoi(argv[3]), wait = atoi(argv[4]), first = atoi(argv[5]), count = atoi(argv[6]);
    int answer = argc > 7 ? atoi(argv[7]) : -1;
    int *fd = malloc(sizeof(int) * (size_t)n), *st = calloc((size_t)n, sizeof(int));
    buf *resp = calloc((size_t)n, sizeof *resp);
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    int *idx = calloc((size_t)n, sizeof(int));
    int refused = 0;
    for (int i = 0; i < n; i++) {
        fd[i] = open_conn(first + i % count);
        if (fd[i] < 0) {
            st[i] = B_REFUSED;
            refused++;
        }
    }
    int connected = 0;
    double t0 = now_ms();
    /* phase 1: nothing sent; who is connected, who gets closed */
    while (now_ms() - t0 < wait) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (st[i] != B_PENDING && st[i] != B_UP)
                continue;
            p[m] = (struct pollfd){.fd = fd[i], .events = POLLIN | (st[i] == B_PENDING ? POLLOUT : 0)};
            idx[m++] = i;
        }
        int left = (int)(wait - (now_ms() - t0));
        if (!m || left <= 0)
            break;
        if (poll(p, (nfds_t)m, left) <= 0)
            continue;
        for (int j = 0; j < m; j++) {
            int i = idx[j];
            if ((p[j].revents & POLLOUT) && st[i] == B_PENDING) {
                int e = 0;
                socklen_t el = sizeof e;
                getsockopt(fd[i], SOL_SOCKET, SO_ERROR, &e, &el);
                if (e) {
                    st[i] = B_REFUSED;
                    refused++;
                    close(fd[i]);
                    continue;
                }
                st[i] = B_UP;
                connected++;
            }
            if (p[j].revents & (POLLIN | POLLHUP | POLLERR)) {
                char tmp[512];
                ssize_t k = recv(fd[i], tmp, sizeof tmp, 0);
                if (k >= 0 || (errno != EAGAIN && errno != EINTR)) {
                    if (st[i] == B_PENDING) {
                        st[i] = B_REFUSED;
                        refused++;
                    } else {
                        st[i] = B_CLOSED;
                    }
                    close(fd[i]);
                }
            }
        }
    }
    int closed = 0, held = 0;
    for (int i = 0; i < n; i++) {
        closed += st[i] == B_CLOSED;
        held += st[i] == B_UP;
    }
    int a200 = 0, aother = 0, unanswered = 0, hung = 0;
    double amax = 0;
    if (answer >= 0) {
        static const char q[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Connection: close\r\n\r\n";
        for (int i = 0; i < n; i++) {
            if (st[i] != B_UP)
                continue;
            if (send(fd[i], q, sizeof q - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof q - 1))
                st[i] = B_ASKED;
            else {
                st[i] = B_DONE;
                unanswered++;
                close(fd[i]);
            }
        }
        double t1 = now_ms();
        for (;;) {
            int m = 0;
            for (int i = 0; i < n; i++) {
                if (st[i] != B_ASKED)
                    continue;
                p[m] = (struct pollfd){.fd = fd[i], .events = POLLIN};
                idx[m++] = i;
            }
            int left = (int)(answer - (now_ms() - t1));
            if (!m || left <= 0)
                break;
            if (poll(p, (nfds_t)m, left) <= 0)
                continue;
            for (int j = 0; j < m; j++) {
                int i = idx[j];
                if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                char tmp[4096];
                ssize_t k = recv(fd[i], tmp, sizeof tmp, 0);
                if (k > 0) {
                    buf_add(&resp[i], tmp, (size_t)k);
                    bool complete;
                    int s = resp_status(&resp[i], false, &complete);
                    if (!complete)
                        continue;
                    if (s == 200)
                        a200++;
                    else
                        aother++;
                    double d = now_ms() - t1;
                    if (d > amax)
                        amax = d;
                } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
                    continue;
                } else {
                    unanswered++;
                }
                st[i] = B_DONE;
                close(fd[i]);
            }
        }
        for (int i = 0; i < n; i++)
            if (st[i] == B_ASKED) {
                hung++;
                close(fd[i]);
                st[i] = B_DONE;
            }
    }
    for (int i = 0; i < n; i++)
        if (st[i] == B_UP)
            close(fd[i]);
    printf("opened=%d connected=%d refused=%d closed=%d held=%d answered_200=%d "
           "answered_other=%d unanswered=%d hung=%d answer_max_ms=%.0f\n", n, connected,
           refused, closed, held, a200, aother, unanswered, hung, amax);
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* abuse: everything at once, for the bench */

typedef struct {
    int fd;
    int kind;            /* 0 slow, 1 burst, 2 bad */
    double t;            /* slow: last byte; burst: opened; bad: started */
    size_t sent;
    int which;           /* bad: the request */
    buf in;
} aconn;

static buf g_bad[8];
static int g_nbad;

static void bad_add(const char *head, const char *fill, size_t fill_n, const char *tail)
{
    buf *b = &g_bad[g_nbad++];
    buf_add(b, head, strlen(head));
    for (size_t i = 0; i < fill_n; i++)
        buf_add(b, fill, strlen(fill));
    buf_add(b, tail, strlen(tail));
}

static void bad_requests(void)
{
    char h[256];
    /* a 64 KiB header */
    bad_add("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ", "a", 65536, "\r\n\r\n");
    /* 2,000 headers */
    bad_add("GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-M: 1\r\n", 2000, "\r\n");
    /* a 2 MB declared body (refused before it is read) */
    bad_add("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 2000000\r\n\r\n", " ", 4096, "");
    /* 100,000 nested arrays */
    snprintf(h, sizeof h, "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
             "Connection: close\r\n\r\n", 200000);
    bad_add(h, "[", 100000, "");
    {   /* ... closed */
        buf *b = &g_bad[g_nbad - 1];
        for (int i = 0; i < 100000; i++)
            buf_add(b, "]", 1);
    }
    /* a truncated JSON */
    bad_add("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\nConnection: close"
            "\r\n\r\n{\"instances\": [[1, 2", "", 0, "");
    /* bad chunking */
    bad_add("POST /v1/predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", "", 0, "");
    /* an oversized chunked body: 2 MB in 64 KiB chunks */
    bad_add("POST /v1/predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n", "", 0, "");
    {
        buf *b = &g_bad[g_nbad - 1];
        static char chunk[65536];
        memset(chunk, ' ', sizeof chunk);
        for (int i = 0; i < 32; i++) {
            buf_add(b, "10000\r\n", 7);
            buf_add(b, chunk, sizeof chunk);
            buf_add(b, "\r\n", 2);
        }
        buf_add(b, "0\r\n\r\n", 5);
    }
    /* a wrong method with a path trick */
    bad_add("TRACE /v1/../v1/predict/%2e%2e/%00 HTTP/1.1\r\nHost: x\r\nConnection: close"
            "\r\n\r\n", "", 0, "");
}

static int mode_abuse(int argc, char **argv)
{
    if (argc < 5)
        return fprintf(stderr, "usage: hostile abuse PORT SECONDS NSLOW\n"), 3;
    double secs = atof(argv[3]);
    int nslow = atoi(argv[4]);
    enum { NBURST = 200, NBAD = 4, BAD_RATE = 100 };
    int cap = nslow + NBURST + NBAD;
    aconn *c = calloc((size_t)cap, sizeof *c);
    struct pollfd *p = calloc((size_t)cap, sizeof *p);
    int *idx = calloc((size_t)cap, sizeof(int));
    bad_requests();
    for (int i = 0; i < cap; i++) {
        c[i].fd = -1;
        c[i].kind = i < nslow ? 0 : i < nslow + NBURST ? 1 : 2;
    }
    long slow_opened = 0, slow_cut = 0, bursts = 0, burst_conns = 0, burst_closed = 0;
    long bad_sent = 0, bad_status[6] = {0}, bad_closed = 0, bad_timeout = 0;
    double t0 = now_ms(), end = t0 + secs * 1000, next_burst = t0, next_bad = t0;
    double slow_step = nslow ? 1000.0 / nslow : 1000;
    double next_slow = t0;
    int slow_i = 0, bad_i = 0;
    while (now_ms() < end) {
        double t = now_ms();
        /* slowloris: keep nslow open; one byte per connection per second */
        for (int i = 0; i < nslow; i++)
            if (c[i].fd < 0) {
                c[i].fd = open_conn(2 + i % 20);
                c[i].sent = 0;
                c[i].t = t;
                slow_opened++;
                if (c[i].fd >= 0) {
                    ssize_t k = send(c[i].fd, k_slow_head, sizeof k_slow_head - 1, MSG_NOSIGNAL);
                    c[i].sent = k > 0 ? (size_t)k : 0;
                }
            }
        while (nslow && t >= next_slow) {
            aconn *s = &c[slow_i];
            if (s->fd >= 0 && send(s->fd, "a", 1, MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
                close(s->fd);
                s->fd = -1;
                slow_cut++;
            }
            slow_i = (slow_i + 1) % nslow;
            next_slow += slow_step;
        }
        /* a burst every second, closed after 500 ms */
        if (t >= next_burst) {
            bursts++;
            for (int i = nslow; i < nslow + NBURST; i++) {
                if (c[i].fd >= 0)
                    close(c[i].fd);
                c[i].fd = open_conn(30 + i % 20);
                c[i].t = t;
                burst_conns += c[i].fd >= 0;
            }
            next_burst += 1000;
        }
        for (int i = nslow; i < nslow + NBURST; i++)
            if (c[i].fd >= 0 && t - c[i].t > 500) {
                close(c[i].fd);
                c[i].fd = -1;
            }
        /* bad requests, at most BAD_RATE a second over NBAD connections */
        for (int i = nslow + NBURST; i < cap; i++) {
            aconn *b = &c[i];
            if (b->fd < 0 && t >= next_bad) {
                b->fd = open_conn(60 + i % 4);
                b->which = bad_i++ % g_nbad;
                b->sent = 0;
                b->t = t;
                b->in.len = 0;
                bad_sent++;
                next_bad += 1000.0 / BAD_RATE;
            } else if (b->fd >= 0 && t - b->t > 5000) {
                close(b->fd);
                b->fd = -1;
                bad_timeout++;
            }
        }
        if (next_bad < t - 1000)
            next_bad = t;   /* do not catch up after a stall */
        int m = 0;
        for (int i = 0; i < cap; i++) {
            if (c[i].fd < 0)
                continue;
            p[m] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
            if (c[i].kind == 2 && c[i].sent < g_bad[c[i].which].len)
                p[m].events |= POLLOUT;
            idx[m++] = i;
        }
        double nxt = next_slow < next_burst ? next_slow : next_burst;
        if (next_bad < nxt)
            nxt = next_bad;
        int wait = (int)(nxt - now_ms());
        if (wait < 0)
            wait = 0;
        if (wait > 100)
            wait = 100;
        if (poll(p, (nfds_t)m, wait) <= 0)
            continue;
        for (int j = 0; j < m; j++) {
            aconn *a = &c[idx[j]];
            if ((p[j].revents & POLLOUT) && a->kind == 2) {
                buf *q = &g_bad[a->which];
                ssize_t k = send(a->fd, q->p + a->sent, q->len - a->sent, MSG_NOSIGNAL);
                if (k > 0)
                    a->sent += (size_t)k;
            }
            if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char tmp[16384];
            ssize_t k = recv(a->fd, tmp, sizeof tmp, 0);
            if (k < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (k > 0 && a->kind == 2) {
                buf_add(&a->in, tmp, (size_t)k);
                bool complete;
                int s = resp_status(&a->in, false, &complete);
                if (!complete)
                    continue;
                bad_status[s >= 200 && s < 600 ? s / 100 : 0]++;
            } else if (a->kind == 2) {
                if (a->in.len) {
                    bool complete;
                    int s = resp_status(&a->in, false, &complete);
                    bad_status[s >= 200 && s < 600 ? s / 100 : 0]++;
                } else {
                    bad_closed++;
                }
            } else if (a->kind == 0) {
                slow_cut++;
            } else if (k <= 0) {
                burst_closed++;
            }
            close(a->fd);
            a->fd = -1;
        }
    }
    printf("slowloris: %d held, %ld opened, %ld cut by the server\n", nslow, slow_opened, slow_cut);
    printf("bursts: %ld of %d connections (%ld opened, %ld closed by the server)\n", bursts,
           NBURST, burst_conns, burst_closed);
    printf("bad requests: %ld sent; answered 2xx %ld, 4xx %ld, 5xx %ld; closed unanswered %ld; "
           "no answer in 5 s %ld\n", bad_sent, bad_status[2], bad_status[4], bad_status[5], bad_closed, bad_timeout);
    return 0;
}

/* ---------------------------------------------------------------------------------- */

static int mode_utf8(void)
{
    buf b = {0};
    char tmp[65536];
    ssize_t k;
    while ((k = read(0, tmp, sizeof tmp)) > 0)
        buf_add(&b, tmp, (size_t)k);
    const unsigned char *s = (const unsigned char *)b.p;
    size_t i = 0, n = b.len;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return 1;
        }
        if (i + len > n)
            return 1;
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 1;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 1;
        i += len;
    }
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (argc >= 2 && strcmp(argv[1], "utf8") == 0)
        return mode_utf8();
    if (argc < 3) {
        fprintf(stderr, "usage: hostile raw|lat|slow|burst|abuse PORT ... | hostile utf8\n");
        return 3;
    }
    g_port = atoi(argv[2]);
    if (strcmp(argv[1], "raw") == 0)
        return mode_raw(argc, argv);
    if (strcmp(argv[1], "lat") == 0)
        return mode_lat(argc, argv);
    if (strcmp(argv[1], "slow") == 0)
        return mode_slow(argc, argv);
    if (strcmp(argv[1], "burst") == 0)
        return mode_burst(argc, argv);
    if (strcmp(argv[1], "abuse") == 0)
        return mode_abuse(argc, argv);
    fprintf(stderr, "hostile: unknown mode '%s'\n", argv[1]);
    return 3;
}
