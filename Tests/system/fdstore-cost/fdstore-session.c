#define _GNU_SOURCE
/* fdstore-session: the measurement behind docs/design.md's "crash survival" decision, not part of the
 * daemon. A minimal heartbeat server (HELLO -> OK, PING -> PONG, one epoll loop) that, with STORE=1 in
 * its environment, hands each session's socket to systemd's fd store when it says HELLO
 * (FDSTORE=1 + FDNAME=s<n>) and takes it out when it ends (FDSTOREREMOVE=1 + FDNAME=s<n>), as crash
 * survival would have to. heartbeat-bench churn against it, STORE=0 against STORE=1, shows the cost.
 *
 *   fdstore-session PORT        (under systemd: Type=notify, FileDescriptorStoreMax= above the sessions)
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define MAX_FD 65536
static char pending[MAX_FD][128];
static int pending_len[MAX_FD];
static unsigned long serial[MAX_FD]; /* the FDNAME of the session on this fd; 0: not identified */
static unsigned long next_serial = 1;
static int store;

static void end_session(int epoll, int fd) {
    if (serial[fd] && store) {
        char message[64];
        snprintf(message, sizeof message, "FDSTOREREMOVE=1\nFDNAME=s%lu", serial[fd]);
        sd_notify(0, message);
    }
    serial[fd] = 0;
    pending_len[fd] = 0;
    epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
}

/* One line from fd: HELLO <id> ... gets OK (and the store), PING [tag] gets PONG [tag], BYE gets
 * BYE bye and the end of the session. False once the session is over. */
static int answer(int epoll, int fd, char *line) {
    char reply[160];
    int length = 0;
    if (strncmp(line, "HELLO ", 6) == 0 && !serial[fd]) {
        char *id = line + 6, *space = strchr(id, ' ');
        if (space) *space = 0;
        serial[fd] = next_serial++;
        if (store) {
            char message[64];
            snprintf(message, sizeof message, "FDSTORE=1\nFDNAME=s%lu\nFDPOLL=0", serial[fd]);
            sd_pid_notify_with_fds(0, 0, message, &fd, 1);
        }
        length = snprintf(reply, sizeof reply, "OK %.64s interval=10000 timeout=30000\n", id);
    } else if (strncmp(line, "PING", 4) == 0) {
        length = snprintf(reply, sizeof reply, "PONG%.100s\n", line + 4);
    } else if (strcmp(line, "BYE") == 0) {
        (void)!write(fd, "BYE bye\n", 8);
        end_session(epoll, fd);
        return 0;
    }
    if (length > 0) (void)!write(fd, reply, (size_t)length);
    return 1;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 22100;
    const char *store_env = getenv("STORE");
    store = store_env && strcmp(store_env, "1") == 0;
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    sd_notifyf(0, "READY=1\nSTATUS=store %s", store ? "on" : "off");
    struct epoll_event events[256];
    for (;;) {
        int count = epoll_wait(epoll, events, 256, -1);
        for (int i = 0; i < count; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                int client;
                while ((client = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (client >= MAX_FD) { close(client); continue; }
                    struct epoll_event in = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = client};
                    epoll_ctl(epoll, EPOLL_CTL_ADD, client, &in);
                }
                continue;
            }
            char buffer[4096];
            ssize_t got = read(fd, buffer, sizeof buffer);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) continue;
                end_session(epoll, fd);
                continue;
            }
            for (ssize_t k = 0; k < got; k++) {
                if (buffer[k] == '\n') {
                    pending[fd][pending_len[fd]] = 0;
                    pending_len[fd] = 0;
                    if (!answer(epoll, fd, pending[fd])) break;
                } else if (pending_len[fd] < 127) {
                    pending[fd][pending_len[fd]++] = buffer[k];
                }
            }
        }
    }
}
