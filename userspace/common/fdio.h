/* SPDX-License-Identifier: MIT */
/*
 * Whole transfers on a file descriptor: a write(2) or read(2) may move fewer
 * bytes than asked, or be interrupted by a signal before moving any; these go
 * on until all N bytes moved. For files whose record must be whole (the alert
 * journal, the agent's spool, the stream index's snapshot).
 */
#ifndef CS_FDIO_H
#define CS_FDIO_H

#include <stddef.h>
#include <stdint.h>

/* 0, -errno, or -EIO when the file takes no more bytes. */
int cs_write_all(int fd, const void *buf, size_t n);
/* At the file position: 0, -errno, or -ENODATA when the file ends first. */
int cs_read_all(int fd, void *buf, size_t n);
/* At OFF, the file position unchanged: 0, -errno, or -ENODATA when the file ends first. */
int cs_pread_all(int fd, void *buf, size_t n, uint64_t off);

#endif /* CS_FDIO_H */
