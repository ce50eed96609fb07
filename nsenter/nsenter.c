/*
 * nsenter: berth's in-container executor, entered before the Go runtime.
 *
 * Namespaces that affect the whole process (user, mount, pid for children)
 * cannot be entered reliably once the Go runtime has started threads, so this
 * constructor runs before main() whenever the environment variable
 * _BERTH_INIT_FD names a socket inherited from the berth parent. Without it the
 * constructor returns at once and berth is an ordinary CLI. With it, the
 * process never reaches main: after the namespaces it runs the init's plan
 * (cinit.c) or the exec record (cexec.c) to the workload's execve. Go
 * decides (the parent compiled both), C executes.
 *
 * Protocol over the socket (host byte order):
 *
 *   parent -> stub   bootstrap: u32 total length, then records
 *                      u32 type, u32 len, len bytes of payload
 *                    types: BT_CLONE_FLAGS  u32 namespaces to create (CLONE_NEW*)
 *                           BT_DUMPABLE    u32 DUMPABLE_MAPS: the parent
 *                                          writes the id maps without root,
 *                                          the stub is dumpable meanwhile;
 *                                          DUMPABLE_KEEP: and stays so
 *                           BT_NS_PATHS    "type:path\0..." namespaces to join
 *                           BT_TIMENS      text for /proc/self/timens_offsets
 *                           BT_ROOT_FD     u32 fd of the container's root (the
 *                                          init's /proc/<pid>/root, opened by the
 *                                          parent): exec into a container that has
 *                                          no mount namespace chroots there
 *                           BT_CGROUP_JOIN cgroup v1 tasks files to write "0" to
 *                                          first, NUL-terminated
 *                           BT_EXEC        the exec record (cexec.c): `berth exec`
 *                           BT_INIT        empty: the init, whose plan (cinit.c)
 *                                          follows SYNC_PID; one of BT_EXEC and
 *                                          BT_INIT is always there
 *   stub -> parent   u32 tag, u32 value:
 *                      SYNC_USERMAP pid   "write my uid/gid maps"; parent answers
 *                                         with u32 SYNC_USERMAP_ACK
 *                      SYNC_PID     pid   the pid (in the parent's pid namespace)
 *                                         of the process that goes on (init or exec)
 *                      SYNC_ERR     len   followed by len bytes of message; the
 *                                         stub then exits 1
 *                      SYNC_SECCOMP 0     (cinit, cexec) the seccomp listener
 *                                         attached (SCM_RIGHTS) to these 8 bytes,
 *                                         sent right after seccomp(2); the parent
 *                                         hands it to the agent at
 *                                         linux.seccomp.listenerPath and answers
 *                                         u32 SYNC_SECCOMP_ACK (or closes: exit 1)
 *
 * Order of work: join namespaces by path (user first, all paths opened before
 * the first setns so that /proc/<pid>/ns paths resolve in the host's view);
 * chroot into the BT_ROOT_FD directory when given (after the joins: a joined
 * user namespace's root may chroot there as the init did);
 * unshare a new user namespace and wait for the parent to write the maps;
 * unshare the other namespaces; write time namespace offsets; fork once if a
 * pid or time namespace is new or joined, because those only apply to
 * children. The intermediate process reports the child's pid and exits; the
 * child (or the process itself) runs the init's plan (BT_INIT: read after
 * SYNC_PID) or the exec record (BT_EXEC), which end in execve or exit.
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

#include "bootstrap.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

int berth_sync_fd = -1;
#define sync_fd berth_sync_fd
int berth_fifo_fd = -1;
int berth_own_procfs = -1;
int berth_stdio_is_terminal;

int write_all(int fd, const void *buf, size_t len)
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

int read_all(int fd, void *buf, size_t len)
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

/* Lower-case like Go's errno texts, so the executor's errors read like the parent's. */
const char *berth_strerror(int errnum)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "%s", strerror(errnum));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

void berth_report(const char *msg, size_t n)
{
	uint32_t hdr[2] = { SYNC_ERR, (uint32_t)n };
	if (sync_fd >= 0) {
		if (write_all(sync_fd, hdr, sizeof(hdr)) == 0)
			write_all(sync_fd, msg, n);
	} else if (berth_fifo_fd >= 0) {
		/* The init after "ready": `berth start` reads the exec fifo. */
		if (write_all(berth_fifo_fd, "1", 1) == 0)
			write_all(berth_fifo_fd, msg, n);
	} else if (!berth_stdio_is_terminal) {
		/* Never into the container's terminal: its output, not berth's. */
		fprintf(stderr, "berth init: %.*s\n", (int)n, msg);
	}
}

void berth_fail(const char *msg)
{
	berth_report(msg, strlen(msg));
	_exit(1);
}

void bail(int errnum, const char *fmt, ...)
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
		n += snprintf(msg + n, sizeof(msg) - n, ": %s", berth_strerror(errnum));
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	berth_report(msg, (size_t)n);
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

#define ALL_NS_FLAGS \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | \
	 CLONE_NEWTIME)

static int parse_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* parse_ns_paths splits "type:path\0..." into out->join. */
static int parse_ns_paths(char *p, uint32_t len, struct bootstrap *out, char *err, size_t errlen)
{
	char *end = p + len;
	int seen = 0;
	while (p < end) {
		char *nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			return parse_fail(err, errlen, "namespace entry at byte %u is not NUL-terminated",
					  (unsigned)(len - (uint32_t)(end - p)));
		if (nul == p)
			return parse_fail(err, errlen, "empty namespace entry");
		char *colon = memchr(p, ':', (size_t)(nul - p));
		if (colon == NULL)
			return parse_fail(err, errlen, "malformed namespace entry %s (want type:path)", p);
		*colon = '\0';
		int flag = ns_flag(p);
		if (flag == 0)
			return parse_fail(err, errlen, "unknown namespace type %s", p);
		if (colon + 1 == nul)
			return parse_fail(err, errlen, "empty path for %s namespace", p);
		if (seen & flag)
			return parse_fail(err, errlen, "%s namespace joined twice", p);
		if (out->nr_join == MAX_NS)
			return parse_fail(err, errlen, "too many namespaces to join");
		seen |= flag;
		out->join[out->nr_join].flag = flag;
		out->join[out->nr_join].type = p;
		out->join[out->nr_join].path = colon + 1;
		out->nr_join++;
		p = nul + 1;
	}
	return 0;
}

int berth_parse_bootstrap(char *buf, uint32_t len, struct bootstrap *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->root_fd = -1;
	if (errlen > 0)
		err[0] = '\0';
	if (len > MAX_BOOTSTRAP)
		return parse_fail(err, errlen, "bootstrap of %u bytes is too large", len);
	uint32_t seen = 0;
	for (uint32_t off = 0; off < len;) {
		if (len - off < 8)
			return parse_fail(err, errlen, "truncated record header at byte %u", off);
		uint32_t type, rlen;
		memcpy(&type, buf + off, 4);
		memcpy(&rlen, buf + off + 4, 4);
		off += 8;
		if (rlen > len - off)
			return parse_fail(err, errlen, "bootstrap record %u overruns the message", type);
		if (type >= 1 && type <= 31) {
			if (seen & (1u << type))
				return parse_fail(err, errlen, "bootstrap record %u repeated", type);
			seen |= 1u << type;
		}
		char *payload = buf + off;
		switch (type) {
		case BT_CLONE_FLAGS:
			if (rlen != 4)
				return parse_fail(err, errlen, "bad clone flags record of %u bytes", rlen);
			memcpy(&out->clone_flags, payload, 4);
			if (out->clone_flags & ~(uint32_t)ALL_NS_FLAGS)
				return parse_fail(err, errlen, "clone flags 0x%x are not namespaces",
						  out->clone_flags & ~(uint32_t)ALL_NS_FLAGS);
			break;
		case BT_NS_PATHS:
			if (parse_ns_paths(payload, rlen, out, err, errlen) < 0)
				return -1;
			break;
		case BT_TIMENS:
			out->timens = payload;
			out->timens_len = rlen;
			break;
		case BT_EXEC:
			out->exec = payload;
			out->exec_len = rlen;
			break;
		case BT_CGROUP_JOIN:
			if (rlen == 0 || payload[rlen - 1] != '\0' || memchr(payload, '\0', rlen) == payload)
				return parse_fail(err, errlen, "bad cgroup join record");
			for (uint32_t k = 1; k < rlen; k++)
				if (payload[k] == '\0' && payload[k - 1] == '\0')
					return parse_fail(err, errlen, "empty path in cgroup join record");
			out->cgroup_join = payload;
			out->cgroup_join_len = rlen;
			break;
		case BT_ROOT_FD: {
			uint32_t fd;
			if (rlen != 4)
				return parse_fail(err, errlen, "bad root fd record of %u bytes", rlen);
			memcpy(&fd, payload, 4);
			if (fd < 3 || fd > 1 << 20)
				return parse_fail(err, errlen, "bad root fd %u", fd);
			out->root_fd = (int)fd;
			break;
		}
		case BT_INIT:
			if (rlen != 0)
				return parse_fail(err, errlen, "bad init record of %u bytes", rlen);
			out->cinit = 1;
			break;
		case BT_DUMPABLE:
			if (rlen != 4)
				return parse_fail(err, errlen, "bad dumpable record of %u bytes", rlen);
			memcpy(&out->dumpable, payload, 4);
			if (out->dumpable != DUMPABLE_MAPS && out->dumpable != DUMPABLE_KEEP)
				return parse_fail(err, errlen, "bad dumpable mode %u", out->dumpable);
			break;
		default:
			return parse_fail(err, errlen, "unknown bootstrap record %u", type);
		}
		off += rlen;
	}
	if (out->exec != NULL && out->cinit)
		return parse_fail(err, errlen, "exec and init records both given");
	for (int i = 0; i < out->nr_join; i++)
		if (out->clone_flags & (uint32_t)out->join[i].flag)
			return parse_fail(err, errlen, "%s namespace both joined and created", out->join[i].type);
	return 0;
}

/*
 * join_namespaces opens every path first, then enters the user namespace
 * (which grants the capabilities needed for the others), then the rest in
 * the order given. It returns the CLONE_NEW* flags of what was joined.
 */
static int join_namespaces(const struct bootstrap *bs)
{
	int fds[MAX_NS];
	int joined = 0;

	for (int i = 0; i < bs->nr_join; i++) {
		fds[i] = open(bs->join[i].path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			bail(errno, "open %s namespace %s", bs->join[i].type, bs->join[i].path);
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < bs->nr_join; i++) {
			const struct bootstrap_ns *ns = &bs->join[i];
			int is_user = ns->flag == CLONE_NEWUSER;
			if ((pass == 0) != is_user)
				continue;
			if (setns(fds[i], ns->flag) < 0)
				bail(errno, "setns %s namespace %s", ns->type, ns->path);
			close(fds[i]);
			joined |= ns->flag;
			if (is_user) {
				/* The ids of the joined namespace decide what we may do next. */
				if (setresgid(0, 0, 0) < 0)
					bail(errno, "setresgid(0) in joined user namespace %s", ns->path);
				if (setresuid(0, 0, 0) < 0)
					bail(errno, "setresuid(0) in joined user namespace %s", ns->path);
			}
		}
	}
	return joined;
}

/*
 * join_cgroups moves this (still single-threaded) process into the
 * container's cgroup v1 hierarchies before it does anything else: a thread
 * moving itself through "tasks" takes no threadgroup lock (cgroup.procs
 * would, and its first writer waits for an RCU grace period), and what it
 * forks later (the pid namespace's first process) inherits the cgroups.
 */
static void join_cgroups(const struct bootstrap *bs)
{
	for (const char *p = bs->cgroup_join; p != NULL && p < bs->cgroup_join + bs->cgroup_join_len; p += strlen(p) + 1) {
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			bail(errno, "join cgroup: open %s (linux.cgroupsPath)", p);
		if (write(fd, "0", 1) != 1)
			bail(errno, "join cgroup: write 0 to %s (linux.cgroupsPath)", p);
		close(fd);
	}
}

/*
 * enter_root chroots into the directory fd names: sharing the host's mount
 * namespace, a process that joined the container's other namespaces is
 * still in the host's root, where the container's init is not (it chrooted
 * into the rootfs). The parent opened the init's /proc/<pid>/root.
 */
static void enter_root(int fd)
{
	if (fchdir(fd) < 0)
		bail(errno, "enter the container's root (no mount namespace): fchdir");
	if (chroot(".") < 0)
		bail(errno, "enter the container's root (no mount namespace): chroot");
	close(fd);
}

static void write_timens_offsets(const char *text, uint32_t len, int in_userns)
{
	/*
	 * A non-dumpable process's /proc files belong to the host's root, which
	 * a new user namespace's root is not: open the file while dumpable,
	 * then go back to what BT_DUMPABLE left (DUMPABLE_KEEP stays dumpable).
	 */
	int was = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (was < 0)
		bail(errno, "prctl(PR_GET_DUMPABLE)");
	int toggle = in_userns && was != 1;
	if (toggle && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		bail(errno, "prctl(PR_SET_DUMPABLE)");
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bail(errno, "open /proc/self/timens_offsets (linux.timeOffsets)");
	if (write_all(fd, text, len) < 0)
		bail(errno, "write /proc/self/timens_offsets (linux.timeOffsets)");
	close(fd);
	if (toggle && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
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

	struct bootstrap bs;
	char perr[256];
	if (berth_parse_bootstrap(buf, total, &bs, perr, sizeof(perr)) < 0)
		bail(0, "nsenter: %s", perr);
	uint32_t clone_flags = bs.clone_flags;
	join_cgroups(&bs);
	int joined = join_namespaces(&bs);
	if (bs.root_fd >= 0)
		enter_root(bs.root_fd);

	if (clone_flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			bail(errno, "unshare user namespace");
		/*
		 * An unprivileged parent (or its newuidmap) may open only /proc
		 * files of a process it owns: a non-dumpable one's are root's.
		 */
		if (bs.dumpable && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			bail(errno, "prctl(PR_SET_DUMPABLE)");
		send_sync(SYNC_USERMAP, (uint32_t)getpid());
		uint32_t ack;
		if (read_all(sync_fd, &ack, sizeof(ack)) < 0)
			bail(errno, "nsenter: wait for uid/gid maps");
		if (ack != SYNC_USERMAP_ACK)
			bail(0, "nsenter: parent failed to write uid/gid maps");
		if (bs.dumpable == DUMPABLE_MAPS && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			bail(errno, "prctl(PR_SET_DUMPABLE)");
		if (setresgid(0, 0, 0) < 0)
			bail(errno, "setresgid(0) in new user namespace (linux.gidMappings must map container gid 0)");
		if (setresuid(0, 0, 0) < 0)
			bail(errno, "setresuid(0) in new user namespace (linux.uidMappings must map container uid 0)");
		/* Unshare of the rest needs CAP_SYS_ADMIN in the new namespace, which a non-dumpable process keeps. */
	}

	uint32_t rest = clone_flags & ~(uint32_t)CLONE_NEWUSER;
	if (rest != 0 && unshare((int)rest) < 0)
		bail(errno, "unshare namespaces 0x%x", rest);

	if ((clone_flags & CLONE_NEWTIME) && bs.timens != NULL && bs.timens_len > 0)
		write_timens_offsets(bs.timens, bs.timens_len, (clone_flags | joined) & CLONE_NEWUSER);

	int need_fork = (clone_flags & (CLONE_NEWPID | CLONE_NEWTIME)) || (joined & (CLONE_NEWPID | CLONE_NEWTIME));
	if (need_fork) {
		/*
		 * exec's child may write to the socket at once (SYNC_SECCOMP,
		 * SYNC_ERR) while the parent reads SYNC_PID first: it waits at this
		 * gate until the pid is sent. The init's child reads its plan first,
		 * which the parent sends only after the pid.
		 */
		int gate[2] = { -1, -1 };
		if (bs.exec != NULL && pipe2(gate, O_CLOEXEC) < 0)
			bail(errno, "nsenter: pipe2");
		pid_t child = fork();
		if (child < 0)
			bail(errno, "fork into the new pid/time namespace");
		if (child > 0) {
			send_sync(SYNC_PID, (uint32_t)child);
			/* The child goes on at this byte (or at end of file). */
			if (gate[1] >= 0 && write(gate[1], "", 1) != 1)
				_exit(1);
			_exit(0);
		}
		if (gate[0] >= 0) {
			char c;
			close(gate[1]);
			while (read(gate[0], &c, 1) < 0 && errno == EINTR)
				;
			close(gate[0]);
		}
	} else {
		send_sync(SYNC_PID, (uint32_t)getpid());
	}
	if (bs.exec != NULL)
		berth_exec_in_c(bs.exec, bs.exec_len);
	if (bs.cinit) {
		free(buf);
		berth_init_in_c();
	}
	/* Both end in the workload's execve or exit: the Go runtime never starts here. */
	bail(0, "nsenter: the bootstrap has neither an exec record nor an init plan");
}
