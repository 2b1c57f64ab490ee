// Linux interfaces that Swift's Glibc module does not export: epoll, timerfd, signalfd, eventfd, getrandom,
// accept4, and the TCP socket options heartbeatd sets. Included as-is; the only logic is shim.c's instant of
// loading and tcp_info.c's read of the kernel's own struct tcp_info (for tests).
#ifndef CLINUX_H
#define CLINUX_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <sys/random.h>
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
// mallinfo2: HeartbeatConfigTests shows that parsing a config file keeps no memory.
#include <malloc.h>
#include <stdint.h>

// CLOCK_MONOTONIC nanoseconds when this program's constructors ran (shim.c): after exec and the dynamic
// loader, before Swift's main.
uint64_t clinux_loaded_monotonic_ns(void);

// The segments a TCP socket received (the kernel's tcpi_segs_in, which glibc's struct tcp_info lacks):
// 0, or -1 with errno. Tests count what one send or one teardown put on the wire (tcp_info.c).
int clinux_tcp_segments_in(int fd, uint32_t *segments);

// accept4 needs _GNU_SOURCE in glibc's header; declare it here so no feature macro leaks into Swift.
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
extern int pthread_setname_np(pthread_t thread, const char *name);
// Test support spawns children with every descriptor above stderr closed (glibc 2.34+).
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

// memfd_create needs _GNU_SOURCE in glibc's header; the hand-off state travels in one (linux/memfd.h values).
extern int memfd_create(const char *name, unsigned int flags);
static const unsigned int clinux_MFD_CLOEXEC = 0x0001U;
static const unsigned int clinux_MFD_ALLOW_SEALING = 0x0002U;
static const int clinux_F_ADD_SEALS = 1033;
static const int clinux_F_SEALS_ALL = 0x0001 | 0x0002 | 0x0004 | 0x0008;

// Macro constants Swift cannot import as values.
static const int clinux_SOCK_NONBLOCK = SOCK_NONBLOCK;
static const int clinux_SOCK_CLOEXEC = SOCK_CLOEXEC;
static const unsigned int clinux_EPOLLIN = EPOLLIN;
static const unsigned int clinux_EPOLLOUT = EPOLLOUT;
static const unsigned int clinux_EPOLLRDHUP = EPOLLRDHUP;
static const unsigned int clinux_EPOLLERR = EPOLLERR;
static const unsigned int clinux_EPOLLHUP = EPOLLHUP;
static const unsigned int clinux_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;

#endif
