#ifndef C_SWITCHYARD_IO_H
#define C_SWITCHYARD_IO_H

// What Glibc's Swift module map leaves out: epoll, eventfd and accept4 (Linux only).
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC (a macro-free call for Swift).
int c_switchyard_accept_nonblocking(int fd);
#endif

#endif
