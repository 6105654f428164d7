// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/fdio.h"

enum fdio_op { FDIO_WRITE, FDIO_READ, FDIO_PREAD };

/* One loop for the three: what differs is the call, and what a call that moves nothing means. */
static int fdio_all(enum fdio_op op, int fd, char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t moved = op == FDIO_WRITE ? write(fd, p, n) :
				op == FDIO_READ	 ? read(fd, p, n) :
						   pread(fd, p, n, (off_t)off);

		if (moved < 0 && errno == EINTR)
			continue;
		if (moved < 0)
			return -errno;
		if (moved == 0)
			return op == FDIO_WRITE ? -EIO : -ENODATA;
		p += moved;
		n -= (size_t)moved;
		off += (uint64_t)moved;
	}
	return 0;
}

int cs_write_all(int fd, const void *buf, size_t n)
{
	return fdio_all(FDIO_WRITE, fd, (char *)buf, n, 0);
}

int cs_read_all(int fd, void *buf, size_t n)
{
	return fdio_all(FDIO_READ, fd, buf, n, 0);
}

int cs_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	return fdio_all(FDIO_PREAD, fd, buf, n, off);
}
