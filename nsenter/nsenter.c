/*
 * nsenter: berth's pre-Go-runtime namespace stub.
 *
 * Namespaces that affect the whole process (user, mount, pid for children)
 * cannot be entered reliably once the Go runtime has started threads, so this
 * constructor runs before main() whenever the environment variable
 * _BERTH_INIT_FD names a socket inherited from the berth parent. Without it the
 * constructor returns at once and berth is an ordinary CLI.
 *
 * Protocol over the socket (host byte order):
 *
 *   parent -> stub   bootstrap: u32 total length, then records
 *                      u32 type, u32 len, len bytes of payload
 *                    types: BT_CLONE_FLAGS  u32 namespaces to create (CLONE_NEW*)
 *                           BT_NS_PATHS    "type:path\0..." namespaces to join
 *                           BT_TIMENS      text for /proc/self/timens_offsets
 *   stub -> parent   u32 tag, u32 value:
 *                      SYNC_USERMAP pid   "write my uid/gid maps"; parent answers
 *                                         with u32 SYNC_USERMAP_ACK
 *                      SYNC_PID     pid   the pid (in the parent's pid namespace)
 *                                         of the process that goes on into Go
 *                      SYNC_ERR     len   followed by len bytes of message; the
 *                                         stub then exits 1
 *
 * Order of work: join namespaces by path (user first, all paths opened before
 * the first setns so that /proc/<pid>/ns paths resolve in the host's view);
 * unshare a new user namespace and wait for the parent to write the maps;
 * unshare the other namespaces; write time namespace offsets; fork once if a
 * pid or time namespace is new or joined, because those only apply to
 * children. The intermediate process reports the child's pid and exits; the
 * child returns from the constructor and the Go runtime starts inside every
 * namespace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define BT_CLONE_FLAGS 1
#define BT_NS_PATHS 2
#define BT_TIMENS 3

#define SYNC_USERMAP 0x40
#define SYNC_USERMAP_ACK 0x41
#define SYNC_PID 0x42
#define SYNC_ERR 0x43

#define MAX_BOOTSTRAP (1 << 20)
#define MAX_NS 16

static int sync_fd = -1;

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* bail reports the error (with errno text when errnum != 0) and exits. */
static void bail(int errnum, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (errnum != 0)
		n += snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	uint32_t hdr[2] = { SYNC_ERR, (uint32_t)n };
	if (sync_fd >= 0) {
		write_all(sync_fd, hdr, sizeof(hdr));
		write_all(sync_fd, msg, (size_t)n);
	} else {
		fprintf(stderr, "berth nsenter: %s\n", msg);
	}
	_exit(1);
}

static void send_sync(uint32_t tag, uint32_t value)
{
	uint32_t msg[2] = { tag, value };
	if (write_all(sync_fd, msg, sizeof(msg)) < 0)
		bail(errno, "nsenter: write to parent");
}

static int ns_flag(const char *type)
{
	static const struct {
		const char *name;
		int flag;
	} table[] = {
		{ "user", CLONE_NEWUSER }, { "mount", CLONE_NEWNS },   { "pid", CLONE_NEWPID },
		{ "network", CLONE_NEWNET }, { "ipc", CLONE_NEWIPC },  { "uts", CLONE_NEWUTS },
		{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(type, table[i].name) == 0)
			return table[i].flag;
	return 0;
}

struct ns_join {
	char *type;
	char *path;
	int flag;
	int fd;
};

/*
 * join_namespaces opens every path first, then enters the user namespace
 * (which grants the capabilities needed for the others), then the rest in
 * the order given. It returns the CLONE_NEW* flags of what was joined.
 */
static int join_namespaces(char *paths, uint32_t len)
{
	struct ns_join ns[MAX_NS];
	int count = 0, joined = 0;
	char *p = paths, *end = paths + len;

	while (p < end && *p != '\0') {
		char *entry = p;
		p += strlen(entry) + 1;
		char *colon = strchr(entry, ':');
		if (colon == NULL)
			bail(0, "nsenter: malformed namespace entry %s", entry);
		if (count == MAX_NS)
			bail(0, "nsenter: too many namespaces to join");
		*colon = '\0';
		ns[count].type = entry;
		ns[count].path = colon + 1;
		ns[count].flag = ns_flag(entry);
		if (ns[count].flag == 0)
			bail(0, "nsenter: unknown namespace type %s", entry);
		ns[count].fd = open(ns[count].path, O_RDONLY | O_CLOEXEC);
		if (ns[count].fd < 0)
			bail(errno, "open %s namespace %s", entry, ns[count].path);
		count++;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < count; i++) {
			int is_user = ns[i].flag == CLONE_NEWUSER;
			if ((pass == 0) != is_user)
				continue;
			if (setns(ns[i].fd, ns[i].flag) < 0)
				bail(errno, "setns %s namespace %s", ns[i].type, ns[i].path);
			close(ns[i].fd);
			joined |= ns[i].flag;
			if (is_user) {
				/* The ids of the joined namespace decide what we may do next. */
				if (setresgid(0, 0, 0) < 0)
					bail(errno, "setresgid(0) in joined user namespace %s", ns[i].path);
				if (setresuid(0, 0, 0) < 0)
					bail(errno, "setresuid(0) in joined user namespace %s", ns[i].path);
			}
		}
	}
	return joined;
}

static void write_timens_offsets(const char *text, uint32_t len, int in_userns)
{
	/*
	 * A non-dumpable process's /proc files belong to the host's root, which
	 * a new user namespace's root is not: open the file while dumpable.
	 */
	if (in_userns && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		bail(errno, "prctl(PR_SET_DUMPABLE)");
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bail(errno, "open /proc/self/timens_offsets (linux.timeOffsets)");
	if (write_all(fd, text, len) < 0)
		bail(errno, "write /proc/self/timens_offsets (linux.timeOffsets)");
	close(fd);
	if (in_userns && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		bail(errno, "prctl(PR_SET_DUMPABLE)");
}

__attribute__((constructor)) static void berth_nsenter(void)
{
	const char *env = getenv("_BERTH_INIT_FD");
	if (env == NULL || *env == '\0')
		return;
	char *endp;
	long fd = strtol(env, &endp, 10);
	if (*endp != '\0' || fd < 3 || fd > 1 << 20) {
		fprintf(stderr, "berth nsenter: bad _BERTH_INIT_FD %s\n", env);
		_exit(1);
	}
	sync_fd = (int)fd;

	/*
	 * Until the workload's execve, /proc/<pid>/exe of this process is the
	 * host's berth binary: keep other processes from ptrace or /proc access.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		bail(errno, "prctl(PR_SET_DUMPABLE)");

	uint32_t total;
	if (read_all(sync_fd, &total, sizeof(total)) < 0)
		bail(errno, "nsenter: read bootstrap length");
	if (total > MAX_BOOTSTRAP)
		bail(0, "nsenter: bootstrap of %u bytes is too large", total);
	char *buf = malloc(total + 1);
	if (buf == NULL)
		bail(ENOMEM, "nsenter: bootstrap buffer");
	if (read_all(sync_fd, buf, total) < 0)
		bail(errno, "nsenter: read bootstrap");
	buf[total] = '\0';

	uint32_t clone_flags = 0;
	char *ns_paths = NULL, *timens = NULL;
	uint32_t ns_paths_len = 0, timens_len = 0;
	for (uint32_t off = 0; off + 8 <= total;) {
		uint32_t type, len;
		memcpy(&type, buf + off, 4);
		memcpy(&len, buf + off + 4, 4);
		off += 8;
		if (len > total - off)
			bail(0, "nsenter: bootstrap record %u overruns the message", type);
		char *payload = buf + off;
		switch (type) {
		case BT_CLONE_FLAGS:
			if (len != 4)
				bail(0, "nsenter: bad clone flags record");
			memcpy(&clone_flags, payload, 4);
			break;
		case BT_NS_PATHS:
			ns_paths = payload;
			ns_paths_len = len;
			break;
		case BT_TIMENS:
			timens = payload;
			timens_len = len;
			break;
		default:
			bail(0, "nsenter: unknown bootstrap record %u", type);
		}
		off += len;
	}

	int joined = 0;
	if (ns_paths != NULL && ns_paths_len > 0) {
		/* Entries are NUL-terminated; make sure the last one is too. */
		char *copy = malloc(ns_paths_len + 1);
		if (copy == NULL)
			bail(ENOMEM, "nsenter: namespace paths");
		memcpy(copy, ns_paths, ns_paths_len);
		copy[ns_paths_len] = '\0';
		joined = join_namespaces(copy, ns_paths_len);
	}

	if (clone_flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			bail(errno, "unshare user namespace");
		send_sync(SYNC_USERMAP, (uint32_t)getpid());
		uint32_t ack;
		if (read_all(sync_fd, &ack, sizeof(ack)) < 0)
			bail(errno, "nsenter: wait for uid/gid maps");
		if (ack != SYNC_USERMAP_ACK)
			bail(0, "nsenter: parent failed to write uid/gid maps");
		if (setresgid(0, 0, 0) < 0)
			bail(errno, "setresgid(0) in new user namespace (linux.gidMappings must map container gid 0)");
		if (setresuid(0, 0, 0) < 0)
			bail(errno, "setresuid(0) in new user namespace (linux.uidMappings must map container uid 0)");
		/* Unshare of the rest needs CAP_SYS_ADMIN in the new namespace, which a non-dumpable process keeps. */
	}

	uint32_t rest = clone_flags & ~(uint32_t)CLONE_NEWUSER;
	if (rest != 0 && unshare((int)rest) < 0)
		bail(errno, "unshare namespaces 0x%x", rest);

	if ((clone_flags & CLONE_NEWTIME) && timens != NULL && timens_len > 0)
		write_timens_offsets(timens, timens_len, (clone_flags | joined) & CLONE_NEWUSER);

	int need_fork = (clone_flags & (CLONE_NEWPID | CLONE_NEWTIME)) || (joined & (CLONE_NEWPID | CLONE_NEWTIME));
	if (need_fork) {
		pid_t child = fork();
		if (child < 0)
			bail(errno, "fork into the new pid/time namespace");
		if (child > 0) {
			send_sync(SYNC_PID, (uint32_t)child);
			_exit(0);
		}
	} else {
		send_sync(SYNC_PID, (uint32_t)getpid());
	}
	free(buf);
	/* The Go runtime starts now, inside every namespace. */
}
