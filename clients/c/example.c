/* heartbeat-example: reports to heartbeatd with heartbeat.c until SIGINT/SIGTERM or --seconds run out,
 * logging each state change on stderr. Its exit status is hb_run()'s result (0, 3, 77, 78), or 64
 * for a usage error. */
#define _POSIX_C_SOURCE 200809L

#include "heartbeat.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: heartbeat-example --server HOST:PORT --id ID [--interval MS] [--secret-file F | --token-file F] [--challenge]\n"
    "                         [--seconds N] [--on-replaced stop|reconnect] [--connect-timeout MS]\n"
    "                         [--backoff-base MS] [--backoff-cap MS] [--tls [--ca-file F] [--server-name NAME]]\n";

static struct hb_client *running;

static void on_signal(int signal)
{
    (void)signal;
    hb_stop(running);
}

static void on_event(const struct hb_event *event, void *context)
{
    (void)context;
    switch (event->kind) {
    case HB_EVENT_CONNECTING:
        fprintf(stderr, "heartbeat-example: connecting (attempt %u)\n", event->attempt);
        break;
    case HB_EVENT_CONNECTED:
        fprintf(stderr, "heartbeat-example: connected to %s: interval %lld ms, timeout %lld ms\n", event->detail,
                event->interval_ms, event->timeout_ms);
        break;
    case HB_EVENT_DISCONNECTED:
        fprintf(stderr, "heartbeat-example: disconnected: %s\n", event->detail);
        break;
    case HB_EVENT_WAITING:
        fprintf(stderr, "heartbeat-example: reconnecting in %lld ms\n", event->delay_ms);
        break;
    case HB_EVENT_STOPPED:
        fprintf(stderr, "heartbeat-example: stopped: %s\n", event->detail);
        break;
    }
}

/* The file's bytes without one trailing newline, as heartbeatd reads its secret. NULL on failure. */
static unsigned char *read_file(const char *path, size_t *length)
{
    static unsigned char buffer[4096];
    FILE *file = fopen(path, "rb");
    if (!file) {
        perror(path);
        return NULL;
    }
    *length = fread(buffer, 1, sizeof buffer - 1, file);
    fclose(file);
    if (*length > 0 && buffer[*length - 1] == '\n')
        (*length)--;
    buffer[*length] = '\0';
    return buffer;
}

/* HOST:PORT, [IPv6]:PORT: splits in place. */
static int split_server(char *server, char **host, char **port)
{
    char *colon = strrchr(server, ':');
    if (!colon || colon == server || colon[1] == '\0')
        return -1;
    *colon = '\0';
    *port = colon + 1;
    *host = server;
    size_t length = strlen(server);
    if (server[0] == '[' && length > 2 && server[length - 1] == ']') {
        server[length - 1] = '\0';
        *host = server + 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char *server = NULL, *host = NULL, *port = NULL;
    const char *id = NULL, *secret_file = NULL, *token_file = NULL, *answer = NULL;
    long seconds = 0;
    struct hb_config config;
    hb_config_init(&config, NULL, NULL, NULL);
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = strcmp(flag, "--tls") != 0 && strcmp(flag, "--challenge") != 0;
        if (takes_value && !value) {
            fprintf(stderr, "heartbeat-example: %s needs a value\n%s", flag, usage);
            return 64;
        }
        if (strcmp(flag, "--server") == 0)
            server = argv[i + 1];
        else if (strcmp(flag, "--id") == 0)
            id = value;
        else if (strcmp(flag, "--interval") == 0)
            config.interval_ms = atoll(value);
        else if (strcmp(flag, "--secret-file") == 0)
            secret_file = value;
        else if (strcmp(flag, "--token-file") == 0)
            token_file = value;
        else if (strcmp(flag, "--seconds") == 0)
            seconds = atol(value);
        else if (strcmp(flag, "--on-replaced") == 0 && strcmp(value, "stop") == 0)
            config.on_replaced = HB_REPLACED_STOP;
        else if (strcmp(flag, "--on-replaced") == 0 && strcmp(value, "reconnect") == 0)
            config.on_replaced = HB_REPLACED_RECONNECT;
        else if (strcmp(flag, "--connect-timeout") == 0)
            config.connect_timeout_ms = atoll(value);
        else if (strcmp(flag, "--backoff-base") == 0)
            config.backoff_base_ms = atoll(value);
        else if (strcmp(flag, "--backoff-cap") == 0)
            config.backoff_cap_ms = atoll(value);
        else if (strcmp(flag, "--tls") == 0)
            config.tls = 1;
        else if (strcmp(flag, "--challenge") == 0)
            config.challenge = 1;
        else if (strcmp(flag, "--answer") == 0)
            answer = value;
        else if (strcmp(flag, "--ca-file") == 0)
            config.ca_file = value;
        else if (strcmp(flag, "--server-name") == 0)
            config.server_name = value;
        else {
            fprintf(stderr, "heartbeat-example: unknown option or value: %s\n%s", flag, usage);
            return 64;
        }
        i += takes_value;
    }
    if (!server || !id || split_server(server, &host, &port) != 0 || (secret_file && token_file)) {
        fprintf(stderr, "%s", usage);
        return 64;
    }
    config.host = host;
    config.port = port;
    config.id = id;
    size_t length = 0;
    if (secret_file) {
        config.secret = read_file(secret_file, &length);
        config.secret_length = length;
        if (!config.secret)
            return 64;
    } else if (token_file) {
        config.token = (const char *)read_file(token_file, &length);
        if (!config.token)
            return 64;
    }
    config.on_event = on_event;
    if (answer) { /* --answer NONCE: print the AUTH line for this key and nonce, connect nothing (tests) */
        char key[65], proof[65];
        if (!config.token && (!config.secret || hb_token(config.secret, config.secret_length, id, key) != 0))
            return 78;
        if (hb_challenge_response(config.token ? config.token : key, answer, proof) != 0)
            return 78;
        printf("AUTH %s\n", proof);
        return 0;
    }

    char error[256];
    running = hb_client_new(&config, error, sizeof error);
    if (!running) {
        fprintf(stderr, "heartbeat-example: %s\n", error);
        return 78;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGALRM, &action, NULL);
    signal(SIGPIPE, SIG_IGN); /* TLS writes go through write(2), which MSG_NOSIGNAL does not cover */
    if (seconds > 0)
        alarm((unsigned)seconds);
    enum hb_result result = hb_run(running);
    hb_client_free(running);
    return (int)result;
}
