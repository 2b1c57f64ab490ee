/* heartbeat.h — a small heartbeatd client (protocol v1, docs/protocol.md) for POSIX devices: one
 * connection, beats on the granted interval, notices a silent server, reconnects with full-jitter
 * backoff. Build heartbeat.c with -DHEARTBEAT_WITH_OPENSSL (and -lssl -lcrypto) for tokens and TLS. */
#ifndef HEARTBEAT_H
#define HEARTBEAT_H

#include <stddef.h>

/* What hb_run() returns; the values are heartbeat-agent's exit statuses, so a program may exit with them. */
enum hb_result {
    HB_STOPPED = 0,       /* hb_stop() was called (BYE sent if a session was up) */
    HB_REPLACED = 3,      /* BYE replaced while on_replaced is HB_REPLACED_STOP */
    HB_SYSTEM = 71,       /* the library could not set itself up (pipe, memory) */
    HB_AUTH_FAILED = 77,  /* ERR auth-failed: the token is wrong; retrying cannot help */
    HB_REJECTED = 78      /* ERR bad-hello, or a configuration this build cannot serve (TLS without OpenSSL) */
};

/* What to do after BYE replaced, which means another instance runs with the same id. */
enum hb_on_replaced { HB_REPLACED_STOP, HB_REPLACED_RECONNECT };

enum hb_event_kind {
    HB_EVENT_CONNECTING,    /* attempt: how many attempts failed in a row before this one */
    HB_EVENT_CONNECTED,     /* interval_ms, timeout_ms: the server's grant; detail: the address */
    HB_EVENT_DISCONNECTED,  /* detail: why ("server silent for 3004 ms", "BYE timeout", …) */
    HB_EVENT_WAITING,       /* delay_ms until the next attempt; attempt */
    HB_EVENT_STOPPED        /* detail: why; hb_run() returns right after */
};

struct hb_event {
    enum hb_event_kind kind;
    unsigned attempt;
    long long interval_ms, timeout_ms, delay_ms;
    const char *detail;     /* valid during the callback only; "" when there is nothing to say */
};

struct hb_config {
    const char *host;               /* a name, an IPv4 or an IPv6 address (no brackets) */
    const char *port;               /* "7700" */
    const char *id;                 /* 1-64 bytes of A-Z a-z 0-9 . _ : @ - */
    long long interval_ms;          /* proposal; 0 = let the server choose. The OK's value is used. */
    const char *token;              /* token=<hex> for [auth] mode = "hmac", or NULL */
    const unsigned char *secret;    /* with OpenSSL and no token: the token is computed from this */
    size_t secret_length;
    int challenge;                  /* OpenSSL builds only: [auth] mode = "challenge" — HELLO without the key,
                                       then AUTH <HMAC-SHA256(key, nonce)> for the server's CHALLENGE */
    long long connect_timeout_ms;   /* resolve + TCP connect (+ TLS) + OK; default 10000 */
    long long backoff_base_ms;      /* full jitter: a retry waits random [0, min(cap, base * 2^n)) */
    long long backoff_cap_ms;       /* defaults 1000 and 60000 */
    long long reset_backoff_after_ms; /* a session that lasted this long resets n to 0; default 60000 */
    long long bye_timeout_ms;       /* how long a clean stop waits for BYE bye; default 2000 */
    enum hb_on_replaced on_replaced; /* default HB_REPLACED_STOP */
    int expects_pongs;              /* 0 only against a server with pong = false; default 1 */
    int tls;                        /* OpenSSL builds only: TLS with server verification */
    const char *ca_file;            /* PEM bundle, or NULL for the system's default paths */
    const char *server_name;        /* SNI and the name checked in the certificate; default: host */
    void (*on_event)(const struct hb_event *event, void *context);
    void *context;
};

struct hb_client;

/* Fills `config` with the defaults above. The strings are not copied until hb_client_new(). */
void hb_config_init(struct hb_config *config, const char *host, const char *port, const char *id);

/* Checks and copies the configuration; connects nothing yet. NULL with a message in `error` when
 * the configuration is invalid (bad id or token, TLS without OpenSSL, …) or memory ran out. */
struct hb_client *hb_client_new(const struct hb_config *config, char *error, size_t error_size);

/* Runs until hb_stop() or a stop that reconnecting cannot fix; see enum hb_result. Call it once,
 * from one thread. It blocks: every wait is a poll(2) that also watches for hb_stop(). */
enum hb_result hb_run(struct hb_client *client);

/* Asks hb_run() to send BYE, wait up to bye_timeout_ms for BYE bye and return HB_STOPPED.
 * Async-signal-safe (one write(2) to a pipe), so a SIGTERM handler may call it; any thread may. */
void hb_stop(struct hb_client *client);

void hb_client_free(struct hb_client *client);

/* Writes the lowercase hex HMAC-SHA256(secret, id) and a NUL to `out` (65 bytes): the token of
 * [auth] mode = "hmac". Returns 0, or -1 in a build without OpenSSL. */
int hb_token(const unsigned char *secret, size_t secret_length, const char *id, char out[65]);

/* Writes the lowercase hex HMAC-SHA256(key = the device key's hex text, message = the nonce's hex text)
 * and a NUL to `out` (65 bytes): what AUTH carries for CHALLENGE <nonce> in [auth] mode = "challenge"
 * (docs/protocol.md, test vector). Returns 0, or -1 in a build without OpenSSL. */
int hb_challenge_response(const char *device_key, const char *nonce, char out[65]);

#endif
