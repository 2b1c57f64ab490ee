/* heartbeat.c — the heartbeatd client of heartbeat.h: one non-blocking socket driven by poll(2), a
 * session as a small state machine (HELLO sent → up → BYE sent), and a retry loop with full-jitter
 * backoff around it. -DHEARTBEAT_WITH_OPENSSL adds the HMAC token and TLS (OpenSSL 1.1.1 or 3). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* glibc: TCP_KEEPIDLE, TCP_USER_TIMEOUT, MSG_NOSIGNAL */

#include "heartbeat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef HEARTBEAT_WITH_OPENSSL
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* elsewhere the program must ignore SIGPIPE itself */
#endif

#define SERVER_LINE 256 /* protocol: a server line is at most 256 bytes with its \n */
#define IO_AGAIN (-2)

/* Where a session is. Challenge auth stays in PHASE_HELLO while it answers (HELLO → CHALLENGE <nonce>
 * → AUTH <proof> → OK): see on_hello_reply(). */
enum phase { PHASE_HELLO, PHASE_UP, PHASE_BYE };

/* How a session ended, or OUT_NONE while it goes on. */
enum outcome { OUT_NONE, OUT_RETRY, OUT_STOPPED, OUT_REPLACED, OUT_AUTH_FAILED, OUT_REJECTED };

enum wake { WAKE_READY, WAKE_TIMEOUT, WAKE_STOP };

struct hb_client {
    struct hb_config config; /* its strings point at the copies below */
    char *host, *port, *id, *token, *ca_file, *server_name;
    int stop_pipe[2];
    uint64_t random_state;
    int fd;
#ifdef HEARTBEAT_WITH_OPENSSL
    SSL_CTX *tls_context;
    SSL *tls;
#endif
    enum phase phase;
    long long interval_ms, timeout_ms; /* the grant */
    long long deadline;                /* PHASE_HELLO: the OK's; PHASE_BYE: the BYE bye's */
    long long last_heard, next_beat, up_since;
    char in[2 * SERVER_LINE];
    size_t in_length;
    char out[2 * SERVER_LINE];
    size_t out_length;
    char address[INET6_ADDRSTRLEN + 8];
    char detail[320]; /* why the current session ended */
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* xorshift64*: the backoff needs spread between devices, not secrecy. Seeded from /dev/urandom. */
static uint64_t next_random(struct hb_client *c)
{
    uint64_t x = c->random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->random_state = x;
    return x * 2685821657736338717ULL;
}

static void seed_random(struct hb_client *c)
{
    uint64_t seed = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &seed, sizeof seed) != (ssize_t)sizeof seed)
            seed = 0;
        close(fd);
    }
    if (seed == 0) /* no urandom (a chroot): time, pid and an address differ enough between devices */
        seed = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
    c->random_state = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

/* Full jitter: random in [0, min(cap, base * 2^attempt)). */
static long long backoff_delay(struct hb_client *c, unsigned attempt)
{
    long long ceiling = c->config.backoff_base_ms;
    for (unsigned i = 0; i < attempt && ceiling < c->config.backoff_cap_ms; i++)
        ceiling *= 2;
    if (ceiling > c->config.backoff_cap_ms)
        ceiling = c->config.backoff_cap_ms;
    return ceiling > 0 ? (long long)(next_random(c) % (uint64_t)ceiling) : 0;
}

static void emit(struct hb_client *c, enum hb_event_kind kind, unsigned attempt, long long delay_ms,
                 const char *detail)
{
    if (!c->config.on_event)
        return;
    struct hb_event event = {kind, attempt, c->interval_ms, c->timeout_ms, delay_ms, detail ? detail : ""};
    c->config.on_event(&event, c->config.context);
}

/* Waits until `fd` is ready for `events`, `deadline` passes or (when `watch_stop`) hb_stop() is called.
 * The stop pipe is never drained: once stopped, every later wait sees it at once. */
static enum wake wait_for(struct hb_client *c, int fd, short events, long long deadline, int watch_stop,
                          short *revents)
{
    for (;;) {
        struct pollfd polled[2] = {{fd, events, 0}, {c->stop_pipe[0], POLLIN, 0}};
        long long left = deadline - now_ms();
        int timeout = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
        int n = poll(fd >= 0 ? polled : polled + 1, (nfds_t)((fd >= 0) + (watch_stop != 0)), timeout);
        if (n < 0 && errno != EINTR)
            return WAKE_TIMEOUT; /* ENOMEM: let the caller's deadline logic decide */
        if (n > 0 && watch_stop && polled[1].revents)
            return WAKE_STOP;
        if (n > 0 && fd >= 0 && polled[0].revents) {
            *revents = polled[0].revents;
            return WAKE_READY;
        }
        if (now_ms() >= deadline)
            return WAKE_TIMEOUT;
    }
}

static int clamp_seconds(long long ms)
{
    long long s = ms / 1000;
    return s < 1 ? 1 : s > 32767 ? 32767 : (int)s;
}

/* Kernel-side liveness, scaled to the session's timing: keepalive probes start after `timeout_ms`
 * of silence, and data unacknowledged for `timeout_ms` drops the connection. Best effort: a kernel
 * without an option still has the heartbeat's own silence check. */
static void set_liveness(int fd, long long interval_ms, long long timeout_ms)
{
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
#if defined(TCP_KEEPIDLE) && defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
    int idle = clamp_seconds(timeout_ms), gap = clamp_seconds(interval_ms), count = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &gap, sizeof gap);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
#endif
#ifdef TCP_USER_TIMEOUT
    unsigned int user_timeout = timeout_ms > UINT_MAX ? UINT_MAX : (unsigned int)timeout_ms;
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
#endif
}

static void format_address(const struct addrinfo *ai, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN], port[8];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, size, "?");
    else
        snprintf(out, size, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* One address: a non-blocking connect that gives up at `deadline`. Returns the fd, -1, or -2 when stopped. */
static int connect_one(struct hb_client *c, const struct addrinfo *ai, long long deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
        snprintf(c->detail, sizeof c->detail, "socket: %s", strerror(errno));
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    set_liveness(fd, c->config.connect_timeout_ms / 3, c->config.connect_timeout_ms);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    int error = errno;
    if (error == EINPROGRESS || error == EINTR) {
        short revents = 0;
        enum wake w = wait_for(c, fd, POLLOUT, deadline, 1, &revents);
        if (w == WAKE_STOP) {
            close(fd);
            return -2;
        }
        socklen_t length = sizeof error;
        if (w == WAKE_TIMEOUT)
            error = ETIMEDOUT;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
            error = errno;
        if (error == 0)
            return fd;
    }
    snprintf(c->detail, sizeof c->detail, "connect to %s: %s", c->address, strerror(error));
    close(fd);
    return -1;
}

/* Resolves the host (getaddrinfo blocks: POSIX has no asynchronous resolver) and tries every address
 * in the resolver's order, each with an equal share of the time left, so one black-holed address
 * cannot use up the time of the ones after it. Returns the fd, -1 (c->detail says why) or -2 when stopped. */
static int dial(struct hb_client *c, long long deadline)
{
    struct addrinfo hints, *list = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    int rc = getaddrinfo(c->host, c->port, &hints, &list);
    if (rc != 0) {
        snprintf(c->detail, sizeof c->detail, "resolve %s: %s", c->host, gai_strerror(rc));
        return -1;
    }
    int count = 0, fd = -1;
    for (struct addrinfo *ai = list; ai; ai = ai->ai_next)
        count++;
    for (struct addrinfo *ai = list; ai && fd == -1; ai = ai->ai_next, count--) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            snprintf(c->detail, sizeof c->detail, "connect to %s: timed out", c->host);
            break;
        }
        format_address(ai, c->address, sizeof c->address);
        fd = connect_one(c, ai, now_ms() + left / count);
    }
    freeaddrinfo(list);
    return fd;
}

#ifdef HEARTBEAT_WITH_OPENSSL
static void tls_detail(struct hb_client *c, const char *what)
{
    long verify = c->tls ? SSL_get_verify_result(c->tls) : X509_V_OK;
    unsigned long error = ERR_get_error();
    ERR_clear_error();
    if (verify != X509_V_OK)
        snprintf(c->detail, sizeof c->detail, "%s with %s: certificate: %s", what, c->address,
                 X509_verify_cert_error_string(verify));
    else
        snprintf(c->detail, sizeof c->detail, "%s with %s: %s", what, c->address,
                 error ? ERR_reason_error_string(error) : "connection closed");
}

/* The TLS handshake on the connected socket: the server's chain is verified against the CA file or
 * the system's store, the name (or IP address) against its certificate; SNI is sent for names. */
static enum outcome tls_handshake(struct hb_client *c, long long deadline)
{
    const char *name = c->server_name ? c->server_name : c->host;
    unsigned char literal[sizeof(struct in6_addr)];
    int is_address = inet_pton(AF_INET, name, literal) == 1 || inet_pton(AF_INET6, name, literal) == 1;
    c->tls = SSL_new(c->tls_context);
    if (!c->tls || SSL_set_fd(c->tls, c->fd) != 1) {
        tls_detail(c, "TLS setup");
        return OUT_RETRY;
    }
    SSL_set_mode(c->tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (is_address) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->tls), name);
    } else {
        SSL_set_tlsext_host_name(c->tls, name);
        SSL_set1_host(c->tls, name);
    }
    for (;;) {
        int rc = SSL_connect(c->tls);
        if (rc == 1)
            return OUT_NONE;
        int error = SSL_get_error(c->tls, rc);
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
            tls_detail(c, "TLS handshake");
            return OUT_RETRY;
        }
        short revents = 0;
        enum wake w = wait_for(c, c->fd, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, 1, &revents);
        if (w == WAKE_STOP)
            return OUT_STOPPED;
        if (w == WAKE_TIMEOUT) {
            snprintf(c->detail, sizeof c->detail, "TLS handshake with %s: timed out", c->address);
            return OUT_RETRY;
        }
    }
}
#endif

/* > 0 bytes, 0 at the end of the stream, IO_AGAIN, or -1 (c->detail says why). */
static ssize_t conn_receive(struct hb_client *c, char *buffer, size_t size)
{
#ifdef HEARTBEAT_WITH_OPENSSL
    if (c->tls) {
        int n = SSL_read(c->tls, buffer, size > INT_MAX ? INT_MAX : (int)size);
        if (n > 0)
            return n;
        int error = SSL_get_error(c->tls, n);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
            return IO_AGAIN;
        if (error == SSL_ERROR_ZERO_RETURN)
            return 0;
        tls_detail(c, "TLS read");
        return -1;
    }
#endif
    for (;;) {
        ssize_t n = recv(c->fd, buffer, size, 0);
        if (n >= 0)
            return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return IO_AGAIN;
        if (errno != EINTR) {
            snprintf(c->detail, sizeof c->detail, "read: %s", strerror(errno));
            return -1;
        }
    }
}

static ssize_t conn_send(struct hb_client *c, const char *buffer, size_t size)
{
#ifdef HEARTBEAT_WITH_OPENSSL
    if (c->tls) {
        int n = SSL_write(c->tls, buffer, (int)size);
        if (n > 0)
            return n;
        int error = SSL_get_error(c->tls, n);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
            return IO_AGAIN;
        tls_detail(c, "TLS write");
        return -1;
    }
#endif
    for (;;) {
        ssize_t n = send(c->fd, buffer, size, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return IO_AGAIN;
        if (errno != EINTR) {
            snprintf(c->detail, sizeof c->detail, "write: %s", strerror(errno));
            return -1;
        }
    }
}

/* Writes what is queued, as far as the socket takes it; the rest waits for POLLOUT. 0 or -1. */
static int flush(struct hb_client *c)
{
    while (c->out_length > 0) {
        ssize_t n = conn_send(c, c->out, c->out_length);
        if (n == IO_AGAIN)
            return 0;
        if (n < 0)
            return -1;
        memmove(c->out, c->out + n, c->out_length - (size_t)n);
        c->out_length -= (size_t)n;
    }
    return 0;
}

/* Queues one line and starts writing it. A full queue means the server has not taken a line for
 * a whole beat or more: the connection is as good as dead. */
static int send_line(struct hb_client *c, const char *line)
{
    size_t length = strlen(line);
    if (c->out_length + length > sizeof c->out) {
        snprintf(c->detail, sizeof c->detail, "the server is not reading (send queue full)");
        return -1;
    }
    memcpy(c->out + c->out_length, line, length);
    c->out_length += length;
    return flush(c);
}

static int split_words(char *line, char **words, int most)
{
    int count = 0;
    for (char *save = NULL, *word = strtok_r(line, " ", &save); word && count < most;
         word = strtok_r(NULL, " ", &save))
        words[count++] = word;
    return count;
}

/* A positive decimal of at most 10 digits after `prefix`, or -1. */
static long long option_value(const char *word, const char *prefix)
{
    size_t length = strlen(prefix);
    if (strncmp(word, prefix, length) != 0)
        return -1;
    const char *digits = word + length;
    size_t count = strspn(digits, "0123456789");
    if (count == 0 || count > 10 || digits[count] != '\0')
        return -1;
    long long value = strtoll(digits, NULL, 10);
    return value > 0 ? value : -1;
}

static enum outcome on_error(char **words, int count)
{
    const char *code = count > 1 ? words[1] : "";
    if (strcmp(code, "unknown-command") == 0)
        return OUT_NONE; /* the session stays open: a newer client tried a newer verb */
    if (strcmp(code, "auth-failed") == 0)
        return OUT_AUTH_FAILED;
    if (strcmp(code, "bad-hello") == 0)
        return OUT_REJECTED; /* the same HELLO would be refused again: a person must fix the id */
    return OUT_RETRY;        /* server-full, hello-timeout, …: worth another try after a backoff */
}

/* The answer to HELLO: OK with the grant, or a refusal. */
static enum outcome on_hello_reply(struct hb_client *c, char **words, int count)
{
    if (strcmp(words[0], "OK") == 0 && count >= 4 && strcmp(words[1], c->id) == 0) {
        long long interval = -1, timeout = -1;
        for (int i = 2; i < count; i++) { /* in any order; words a newer server adds are skipped */
            if (interval < 0)
                interval = option_value(words[i], "interval=");
            if (timeout < 0)
                timeout = option_value(words[i], "timeout=");
        }
        if (interval > 0 && timeout > 0) {
            c->interval_ms = interval;
            c->timeout_ms = timeout;
            set_liveness(c->fd, interval, timeout);
            c->phase = PHASE_UP;
            c->up_since = now_ms();
            c->next_beat = c->up_since + interval;
            emit(c, HB_EVENT_CONNECTED, 0, 0, c->address);
            return OUT_NONE;
        }
    }
    /* Challenge auth: answer once, then wait for OK in this same phase (and under its deadline). */
    if (strcmp(words[0], "CHALLENGE") == 0 && count == 2 && c->config.challenge && c->token) {
        char proof[65], line[80];
        if (hb_challenge_response(c->token, words[1], proof) != 0) {
            snprintf(c->detail, sizeof c->detail, "cannot compute the AUTH answer");
            return OUT_RETRY;
        }
        snprintf(line, sizeof line, "AUTH %s\n", proof);
        return send_line(c, line) == 0 ? OUT_NONE : OUT_RETRY;
    }
    if (strcmp(words[0], "ERR") == 0)
        return on_error(words, count);
    if (strcmp(words[0], "BYE") == 0)
        return OUT_RETRY;
    snprintf(c->detail, sizeof c->detail, "unexpected answer to HELLO: %.200s", words[0]);
    return OUT_RETRY;
}

static enum outcome on_session_line(struct hb_client *c, char **words, int count)
{
    if (strcmp(words[0], "ERR") == 0)
        return on_error(words, count);
    if (strcmp(words[0], "BYE") == 0) {
        int replaced = count > 1 && strcmp(words[1], "replaced") == 0;
        if (replaced && c->config.on_replaced == HB_REPLACED_STOP)
            return OUT_REPLACED;
        return OUT_RETRY;
    }
    return OUT_NONE; /* PONG, or a line a newer server sends: any line proves the server alive */
}

static enum outcome on_line(struct hb_client *c, char *line)
{
    char *words[8];
    size_t length = strlen(line);
    if (length > 0 && line[length - 1] == '\r')
        line[length - 1] = '\0';
    c->last_heard = now_ms();
    snprintf(c->detail, sizeof c->detail, "%.250s", line); /* the reason, should this line end the session */
    int count = split_words(line, words, 8);
    if (count == 0)
        return OUT_NONE;
    switch (c->phase) {
    case PHASE_HELLO:
        return on_hello_reply(c, words, count);
    case PHASE_UP:
        return on_session_line(c, words, count);
    case PHASE_BYE:
        return strcmp(words[0], "BYE") == 0 ? OUT_STOPPED : OUT_NONE;
    }
    return OUT_NONE;
}

/* Reads everything the socket has and handles each complete line. */
static enum outcome read_lines(struct hb_client *c)
{
    for (;;) {
        ssize_t n = conn_receive(c, c->in + c->in_length, sizeof c->in - c->in_length);
        if (n == IO_AGAIN)
            return OUT_NONE;
        if (n == 0)
            snprintf(c->detail, sizeof c->detail, "closed by the server");
        if (n <= 0)
            return c->phase == PHASE_BYE ? OUT_STOPPED : OUT_RETRY;
        c->in_length += (size_t)n;
        char *start = c->in, *end = c->in + c->in_length, *newline;
        while ((newline = memchr(start, '\n', (size_t)(end - start))) != NULL) {
            *newline = '\0';
            enum outcome outcome = on_line(c, start);
            if (outcome != OUT_NONE)
                return outcome;
            start = newline + 1;
        }
        c->in_length = (size_t)(end - start);
        memmove(c->in, start, c->in_length);
        if (c->in_length == sizeof c->in) {
            snprintf(c->detail, sizeof c->detail, "a server line over %d bytes", SERVER_LINE);
            return OUT_RETRY;
        }
    }
}

/* hb_stop() during a session: BYE when one is up (then wait for BYE bye), else just close. */
static enum outcome begin_bye(struct hb_client *c)
{
    if (c->phase != PHASE_UP || send_line(c, "BYE\n") != 0)
        return OUT_STOPPED;
    c->phase = PHASE_BYE;
    c->deadline = now_ms() + c->config.bye_timeout_ms;
    return OUT_NONE;
}

static enum outcome on_timers(struct hb_client *c)
{
    long long now = now_ms();
    switch (c->phase) {
    case PHASE_HELLO:
        if (now < c->deadline)
            return OUT_NONE;
        snprintf(c->detail, sizeof c->detail, "no OK from %s within %lld ms", c->address,
                 c->config.connect_timeout_ms);
        return OUT_RETRY;
    case PHASE_UP:
        if (c->config.expects_pongs && now - c->last_heard >= c->timeout_ms) {
            snprintf(c->detail, sizeof c->detail, "server silent for %lld ms", now - c->last_heard);
            return OUT_RETRY;
        }
        if (now < c->next_beat)
            return OUT_NONE;
        /* On the grant's rhythm, not "interval after the last send": no drift. After a long stall
         * (a suspended device) beat at once and start the rhythm again from now. */
        c->next_beat += c->interval_ms;
        if (c->next_beat <= now)
            c->next_beat = now + c->interval_ms;
        return send_line(c, "PING\n") == 0 ? OUT_NONE : OUT_RETRY;
    case PHASE_BYE:
        return now >= c->deadline ? OUT_STOPPED : OUT_NONE;
    }
    return OUT_NONE;
}

static long long next_wake(const struct hb_client *c)
{
    if (c->phase != PHASE_UP)
        return c->deadline;
    long long silent_at = c->last_heard + c->timeout_ms;
    return c->config.expects_pongs && silent_at < c->next_beat ? silent_at : c->next_beat;
}

/* One wait and what follows from it. */
static enum outcome turn(struct hb_client *c)
{
    short revents = 0;
    short events = (short)(POLLIN | (c->out_length ? POLLOUT : 0));
    enum wake w = wait_for(c, c->fd, events, next_wake(c), c->phase != PHASE_BYE, &revents);
    if (w == WAKE_STOP)
        return begin_bye(c);
    if (w == WAKE_READY) {
        if ((revents & POLLOUT) && flush(c) != 0)
            return c->phase == PHASE_BYE ? OUT_STOPPED : OUT_RETRY;
        if (revents & (POLLIN | POLLHUP | POLLERR)) {
            enum outcome outcome = read_lines(c);
            if (outcome != OUT_NONE)
                return outcome;
        }
    }
    return on_timers(c);
}

static void close_connection(struct hb_client *c)
{
#ifdef HEARTBEAT_WITH_OPENSSL
    if (c->tls) {
        SSL_free(c->tls); /* no close_notify: the protocol's BYE already said goodbye */
        c->tls = NULL;
    }
#endif
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* One connection from resolving to its end. `lasted_ms` is how long it was up (0 if never). */
static enum outcome run_session(struct hb_client *c, long long *lasted_ms)
{
    long long deadline = now_ms() + c->config.connect_timeout_ms;
    char hello[SERVER_LINE];
    c->in_length = c->out_length = 0;
    c->interval_ms = c->timeout_ms = 0;
    c->up_since = 0;
    c->address[0] = c->detail[0] = '\0';
    c->phase = PHASE_HELLO;
    c->deadline = deadline;
    c->fd = dial(c, deadline);
    if (c->fd == -2)
        return OUT_STOPPED;
    if (c->fd < 0)
        return OUT_RETRY;
    enum outcome outcome = OUT_NONE;
#ifdef HEARTBEAT_WITH_OPENSSL
    if (c->config.tls)
        outcome = tls_handshake(c, deadline);
#endif
    if (outcome == OUT_NONE) {
        int n = snprintf(hello, sizeof hello, "HELLO %s", c->id);
        if (c->config.interval_ms > 0)
            n += snprintf(hello + n, sizeof hello - (size_t)n, " interval=%lld", c->config.interval_ms);
        if (c->token && !c->config.challenge) /* in challenge auth the key never crosses the wire */
            n += snprintf(hello + n, sizeof hello - (size_t)n, " token=%s", c->token);
        snprintf(hello + n, sizeof hello - (size_t)n, "\n");
        c->last_heard = now_ms();
        if (send_line(c, hello) != 0)
            outcome = OUT_RETRY;
    }
    while (outcome == OUT_NONE)
        outcome = turn(c);
    *lasted_ms = c->up_since ? now_ms() - c->up_since : 0;
    close_connection(c);
    return outcome;
}

static enum hb_result finish(struct hb_client *c, enum hb_result result, const char *detail)
{
    emit(c, HB_EVENT_STOPPED, 0, 0, detail);
    return result;
}

enum hb_result hb_run(struct hb_client *c)
{
    unsigned attempt = 0;
    for (;;) {
        emit(c, HB_EVENT_CONNECTING, attempt, 0, NULL);
        long long lasted = 0;
        switch (run_session(c, &lasted)) {
        case OUT_STOPPED:
            return finish(c, HB_STOPPED, "on request");
        case OUT_REPLACED:
            return finish(c, HB_REPLACED, c->detail);
        case OUT_AUTH_FAILED:
            return finish(c, HB_AUTH_FAILED, c->detail);
        case OUT_REJECTED:
            return finish(c, HB_REJECTED, c->detail);
        case OUT_NONE:
        case OUT_RETRY:
            break;
        }
        emit(c, HB_EVENT_DISCONNECTED, attempt, 0, c->detail);
        if (lasted >= c->config.reset_backoff_after_ms)
            attempt = 0; /* it stayed up: this is a new outage, not a server that drops us at once */
        long long delay = backoff_delay(c, attempt);
        emit(c, HB_EVENT_WAITING, attempt, delay, NULL);
        if (attempt < 64)
            attempt++;
        short revents = 0;
        if (wait_for(c, -1, 0, now_ms() + delay, 1, &revents) == WAKE_STOP)
            return finish(c, HB_STOPPED, "on request");
    }
}

void hb_stop(struct hb_client *c)
{
    ssize_t n = write(c->stop_pipe[1], "s", 1);
    if (n < 0) {
        /* EAGAIN: the pipe is full of earlier stops, which is as stopped as it gets */
    }
}

void hb_config_init(struct hb_config *config, const char *host, const char *port, const char *id)
{
    memset(config, 0, sizeof *config);
    config->host = host;
    config->port = port;
    config->id = id;
    config->connect_timeout_ms = 10000;
    config->backoff_base_ms = 1000;
    config->backoff_cap_ms = 60000;
    config->reset_backoff_after_ms = 60000;
    config->bye_timeout_ms = 2000;
    config->on_replaced = HB_REPLACED_STOP;
    config->expects_pongs = 1;
}

int hb_token(const unsigned char *secret, size_t secret_length, const char *id, char out[65])
{
#ifdef HEARTBEAT_WITH_OPENSSL
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (secret_length > INT_MAX ||
        !HMAC(EVP_sha256(), secret, (int)secret_length, (const unsigned char *)id, strlen(id), digest, &length) ||
        length != 32)
        return -1;
    for (unsigned int i = 0; i < length; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
    return 0;
#else
    (void)secret;
    (void)secret_length;
    (void)id;
    out[0] = '\0';
    return -1;
#endif
}

/* NULL when `s` is NULL; sets *failed when memory ran out. */
static char *copy(const char *s, int *failed)
{
    char *result = s ? strdup(s) : NULL;
    if (s && !result)
        *failed = 1;
    return result;
}

int hb_challenge_response(const char *device_key, const char *nonce, char out[65])
{
    size_t nonce_length = strlen(nonce);
    if (nonce_length != 32 || strspn(nonce, "0123456789abcdefABCDEF") != nonce_length)
        return -1;
    return hb_token((const unsigned char *)device_key, strlen(device_key), nonce, out);
}

static const char *check(const struct hb_config *config)
{
    size_t id_length = config->id ? strlen(config->id) : 0;
    if (!config->host || !*config->host || !config->port || !*config->port)
        return "a server host and port are required";
    if (id_length < 1 || id_length > 64 ||
        strspn(config->id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@-") != id_length)
        return "the id must be 1 to 64 bytes of A-Z a-z 0-9 . _ : @ -";
    if (config->token && (strlen(config->token) < 1 || strlen(config->token) > 128 ||
                          strspn(config->token, "0123456789abcdefABCDEF") != strlen(config->token)))
        return "the token must be 1 to 128 hex digits";
    if (config->interval_ms < 0 || config->interval_ms > 9999999999LL)
        return "the interval must be 0 (none) to 9999999999 ms";
    if (config->connect_timeout_ms <= 0 || config->bye_timeout_ms < 0 || config->backoff_base_ms < 0 ||
        config->backoff_cap_ms < config->backoff_base_ms || config->reset_backoff_after_ms < 0)
        return "timeouts must be positive and the backoff cap at least its base";
#ifndef HEARTBEAT_WITH_OPENSSL
    if (config->tls)
        return "TLS needs a build with -DHEARTBEAT_WITH_OPENSSL";
    if (!config->token && config->secret)
        return "computing the token from a secret needs a build with -DHEARTBEAT_WITH_OPENSSL; pass the token";
    if (config->challenge)
        return "challenge auth needs a build with -DHEARTBEAT_WITH_OPENSSL (HMAC-SHA256)";
#endif
    if (config->challenge && !config->token && !config->secret)
        return "challenge auth needs the device key (a token) or the secret";
    return NULL;
}

struct hb_client *hb_client_new(const struct hb_config *config, char *error, size_t error_size)
{
    const char *problem = check(config);
    if (problem) {
        snprintf(error, error_size, "%s", problem);
        return NULL;
    }
    struct hb_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    c->fd = -1;
    c->stop_pipe[0] = c->stop_pipe[1] = -1;
    c->config = *config;
    int failed = 0;
    c->host = copy(config->host, &failed);
    c->port = copy(config->port, &failed);
    c->id = copy(config->id, &failed);
    c->token = copy(config->token, &failed);
    c->ca_file = copy(config->ca_file, &failed);
    c->server_name = copy(config->server_name, &failed);
    c->config.secret = NULL; /* used once, here; not kept */
    char token[65];
    if (!failed && !c->token && config->secret) {
        if (hb_token(config->secret, config->secret_length, c->id, token) != 0) {
            snprintf(error, error_size, "could not compute the token (HMAC-SHA256)");
            hb_client_free(c);
            return NULL;
        }
        c->token = copy(token, &failed);
    }
    if (failed || pipe(c->stop_pipe) != 0) {
        snprintf(error, error_size, "%s", failed ? "out of memory" : strerror(errno));
        hb_client_free(c);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(c->stop_pipe[i], F_SETFD, FD_CLOEXEC);
        fcntl(c->stop_pipe[i], F_SETFL, fcntl(c->stop_pipe[i], F_GETFL) | O_NONBLOCK);
    }
#ifdef HEARTBEAT_WITH_OPENSSL
    if (config->tls) {
        c->tls_context = SSL_CTX_new(TLS_client_method());
        int loaded = c->tls_context && SSL_CTX_set_min_proto_version(c->tls_context, TLS1_2_VERSION) == 1 &&
                     (c->ca_file ? SSL_CTX_load_verify_locations(c->tls_context, c->ca_file, NULL)
                                 : SSL_CTX_set_default_verify_paths(c->tls_context)) == 1;
        if (!loaded) {
            snprintf(error, error_size, "TLS setup: %s", ERR_reason_error_string(ERR_get_error()));
            hb_client_free(c);
            return NULL;
        }
        SSL_CTX_set_verify(c->tls_context, SSL_VERIFY_PEER, NULL);
    }
#endif
    c->config.host = c->host;
    c->config.port = c->port;
    c->config.id = c->id;
    c->config.token = c->token;
    c->config.ca_file = c->ca_file;
    c->config.server_name = c->server_name;
    seed_random(c);
    return c;
}

void hb_client_free(struct hb_client *c)
{
    if (!c)
        return;
    close_connection(c);
    for (int i = 0; i < 2; i++)
        if (c->stop_pipe[i] >= 0)
            close(c->stop_pipe[i]);
#ifdef HEARTBEAT_WITH_OPENSSL
    SSL_CTX_free(c->tls_context);
#endif
    free(c->host);
    free(c->port);
    free(c->id);
    free(c->token);
    free(c->ca_file);
    free(c->server_name);
    free(c);
}
