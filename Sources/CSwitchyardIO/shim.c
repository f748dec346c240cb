#ifdef __linux__
#define _GNU_SOURCE
#include "CSwitchyardIO.h"

int c_switchyard_accept_nonblocking(int fd) {
    return accept4(fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
#endif
