// The kernel's own struct tcp_info (linux/tcp.h), which has fields glibc's copy in netinet/tcp.h lacks.
// The two headers cannot both be included, so this file includes only the kernel's.
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

int clinux_tcp_segments_in(int fd, uint32_t *segments) {
    struct tcp_info info;
    socklen_t length = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    if (length < offsetof(struct tcp_info, tcpi_segs_in) + sizeof info.tcpi_segs_in) {
        errno = ENOPROTOOPT;
        return -1;
    }
    *segments = info.tcpi_segs_in;
    return 0;
}
