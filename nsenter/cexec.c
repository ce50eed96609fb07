/*
 * cexec: the container's process, set up in C: `berth exec` runs it after
 * the stub's joins, the init (cinit.c) after its plan. No Go runtime
 * starts in the container.
 *
 * For every exec the parent decides everything on the host side (capability masks, the compiled seccomp program and
 * its flags, rlimit numbers, the LSM attributes to write and every message
 * about them, whether berth relays the terminal) and sends it as the BT_EXEC
 * bootstrap record. After the stub has joined the container's namespaces,
 * the process applies the rest here and execs the workload: no Go runtime
 * start-up between setns and execve. The order is runc's, after the terminal of process.terminal (a new
 * session and pty, the master sent to the console socket; ONLCR off when
 * berth relays it): cwd (checked to be inside the root), the fd sweep
 * (every fd not passed on purpose closed), rlimits, executable lookup
 * (after the chdir, so a relative args[0] is the file in process.cwd), HOME,
 * the LSM exec attributes opened (procfs.c), seccomp early when
 * no_new_privs is off, bounding set, user switch with keep-caps, capsets
 * and ambient, umask, no_new_privs, seccomp last when it is on, the LSM
 * attributes written, execve. A filter with a listener (SCMP_ACT_NOTIFY)
 * sends it to the parent at once (SYNC_SECCOMP in bootstrap.h).
 *
 * Nothing here reads a file to make a security decision: the last
 * capability of the kernel comes from the parent, which read the host's
 * /proc (a cap_last_cap in a container's /proc could be anything).
 *
 * Payload (host byte order), parsed with bounds checks by berth_parse_exec:
 *   u32 flags (CX_*; CX_RELAY: berth relays the terminal, ONLCR off;
 *     CX_NOGROUPS: setgroups denied, not called),
 *   u32 uid, u32 gid, u32 umask, u32 preserve_fds,
 *   u32 last_cap (the host kernel's last capability number)
 *   u32 ngroups, ngroups x u32
 *   5 x u64 capability sets: bounding, effective, permitted, inheritable, ambient
 *   u32 nrlimits, nrlimits x (u32 resource, u32 0, u64 soft, u64 hard)
 *   u32 seccomp flags, u32 n filters, n x 8 bytes (struct sock_filter)
 *   u32 len + bytes: cwd, NUL-terminated
 *   u32 len + bytes: PATH value used to find args[0], NUL-terminated
 *   u32 argc, u32 len + bytes: args, each NUL-terminated
 *   u32 envc, u32 len + bytes: env, each NUL-terminated
 *   u32 console socket fd (CX_NO_CONSOLE: no terminal), u32 rows, u32 cols
 *   u32 nlsm (at most CX_MAX_LSM), nlsm x 7 str: dir, value, quoted, test,
 *       testq, missing, field (struct lsm_attr in bootstrap.h)
 *   u32 nattr (at most CX_MAX_ATTR), nattr x (u32 kind, u32 phase, u32 nwords,
 *       nwords x u64, str msg): process attributes (struct proc_attr, cproc.c)
 * Errors go to the parent as SYNC_ERR through bail(); success is the sync
 * socket closing on exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "bootstrap.h"
#include "record.h"

#define PROC_SUPER_MAGIC_ 0x9fa0
#define SECCOMP_FILTER_FLAG_NEW_LISTENER_ 8
#define SYSFS_MAGIC_ 0x62656572
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif


int berth_parse_exec(const char *buf, uint32_t len, struct exec_plan *x)
{
	struct cursor c = { buf, len, 0 };
	memset(x, 0, sizeof(*x));
	x->flags = u32(&c);
	x->uid = u32(&c);
	x->gid = u32(&c);
	x->umask = u32(&c);
	x->preserve_fds = u32(&c);
	x->last_cap = u32(&c);
	if (x->last_cap > 63)
		return -1;
	x->ngroups = u32(&c);
	if (x->ngroups > 65536)
		return -1;
	x->groups = take(&c, x->ngroups * 4);
	for (int i = 0; i < 5; i++)
		x->caps[i] = u64(&c);
	x->nrlimits = u32(&c);
	if (x->nrlimits > 64)
		return -1;
	x->rlimits = take(&c, x->nrlimits * 24);
	x->seccomp_flags = u32(&c);
	x->nfilters = u32(&c);
	if (x->nfilters > 65535)
		return -1;
	x->filters = take(&c, x->nfilters * 8);
	x->cwd = str(&c);
	x->path = str(&c);
	x->argv = strv(&c, 0);
	if (c.bad)
		return -1;
	x->envp = strv(&c, 1); /* room for HOME */
	x->console_fd = u32(&c);
	x->rows = u32(&c);
	x->cols = u32(&c);
	x->nlsm = u32(&c);
	if (x->nlsm > CX_MAX_LSM)
		c.bad = 1;
	for (uint32_t i = 0; i < x->nlsm && !c.bad; i++) {
		struct lsm_attr *a = &x->lsm[i];
		a->dir = str(&c);
		a->value = str(&c);
		a->quoted = str(&c);
		a->test = str(&c);
		a->testq = str(&c);
		a->missing = str(&c);
		a->field = str(&c);
		a->fd = -1;
	}
	x->nattr = u32(&c);
	if (x->nattr > CX_MAX_ATTR)
		c.bad = 1;
	for (uint32_t i = 0; i < x->nattr && !c.bad; i++) {
		struct proc_attr *a = &x->attr[i];
		a->kind = u32(&c);
		a->phase = u32(&c);
		a->nwords = u32(&c);
		if (a->kind == 0 || a->kind >= PA_MAX || a->nwords > CX_MAX_ATTR_WORDS) {
			c.bad = 1;
			break;
		}
		a->words = take(&c, a->nwords * 8);
		a->msg = str(&c);
	}
	if (c.bad || c.left != 0 || x->argv[0] == NULL || x->envp == NULL ||
	    (x->console_fd != CX_NO_CONSOLE && x->console_fd > 1 << 20)) {
		free(x->argv);
		free(x->envp);
		x->argv = x->envp = NULL;
		return -1;
	}
	return 0;
}

static int executable(const char *p)
{
	struct stat st;
	if (stat(p, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if ((st.st_mode & 0111) == 0)
		return -EACCES;
	return 0;
}

/*
 * lookup finds args[0] as execvp would: a name with a slash as it is (a
 * relative one in process.cwd), any other in each directory of path (the
 * parent's choice: process.env's PATH or the default), the first regular
 * file with an execute bit.
 */
static char *lookup(const char *name, const char *path)
{
	if (strchr(name, '/') != NULL) {
		int e = executable(name);
		if (e < 0)
			bail(-e, "process.args[0] \"%s\"", name);
		return (char *)name;
	}
	const char *p = path;
	for (; *path != '\0';) {
		const char *end = strchr(p, ':');
		size_t dl = end ? (size_t)(end - p) : strlen(p);
		char *cand;
		if (asprintf(&cand, "%.*s/%s", (int)(dl ? dl : 1), dl ? p : ".", name) < 0)
			bail(ENOMEM, "lookup process.args[0]");
		if (executable(cand) == 0)
			return cand;
		free(cand);
		if (end == NULL)
			break;
		p = end + 1;
	}
	bail(0, "process.args[0] \"%s\": executable file not found in $PATH (%s)", name, path);
}

/*
 * open_checked opens the file that the O_PATH descriptor pfd (a regular
 * file, as st says) names, for reading, through its magic link in a procfs
 * berth made or verified: the init's own (berth_own_procfs), else a fresh
 * one (berth_open_procfs), else, where neither can be had, by path again
 * without following a last symlink. Whatever it opened must be the file
 * checked (same device and inode), or it is closed: -1.
 */
static int open_checked(int pfd, const char *path, const struct stat *st)
{
	char link[32], err[256];
	snprintf(link, sizeof(link), "self/fd/%d", pfd);
	int proc = berth_own_procfs, own = proc >= 0;
	if (!own)
		proc = berth_open_procfs(err, sizeof(err));
	int fd = proc >= 0 ? openat(proc, link, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
			   : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
	if (!own && proc >= 0)
		close(proc);
	struct stat got;
	if (fd >= 0 && (fstat(fd, &got) < 0 || got.st_dev != st->st_dev || got.st_ino != st->st_ino)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * read_passwd reads the container's /etc/passwd for HOME, refusing what
 * could hang or flood the init: only a regular file (not a FIFO, a device
 * or a procfs/sysfs file), checked before it is opened for reading (an
 * open of a device node can act on the device), opened non-blocking, at
 * most PASSWD_MAX bytes. NULL when there is none to read.
 */
#define PASSWD_MAX (1 << 20)
static char *read_passwd(void)
{
	int pfd = open("/etc/passwd", O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return NULL;
	struct stat st;
	struct statfs sfs;
	if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode) || fstatfs(pfd, &sfs) < 0 ||
	    sfs.f_type == PROC_SUPER_MAGIC_ || sfs.f_type == SYSFS_MAGIC_) {
		close(pfd);
		return NULL;
	}
	int fd = open_checked(pfd, "/etc/passwd", &st);
	close(pfd);
	if (fd < 0)
		return NULL;
	char *buf = malloc(PASSWD_MAX + 1);
	size_t n = 0;
	while (buf != NULL && n < PASSWD_MAX) {
		ssize_t r = read(fd, buf + n, PASSWD_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf != NULL)
		buf[n] = '\0';
	return buf;
}

/*
 * with_home adds HOME from the container's /etc/passwd when env has none or
 * an empty one (replaced in its place), as runc does: whole lines, the uid field equal to the uid in decimal, a non-empty
 * sixth field; "/" when there is none. The parent gave each variable once.
 */
static void with_home(char **envp, uint32_t uid)
{
	int n = 0, at = -1;
	for (; envp[n] != NULL; n++) {
		if (strncmp(envp[n], "HOME=", 5) == 0) {
			if (envp[n][5] != '\0')
				return;
			at = n;
		}
	}
	char want[16];
	snprintf(want, sizeof(want), "%u", uid);
	const char *home = "/";
	char *text = read_passwd(), *rest = text, *line;
	while (rest != NULL && (line = strsep(&rest, "\n")) != NULL) {
		char *field[7] = { 0 };
		char *f = line;
		int k = 0;
		for (; k < 7 && f != NULL; k++)
			field[k] = strsep(&f, ":");
		if (k >= 6 && field[5][0] != '\0' && strcmp(field[2], want) == 0) {
			home = field[5];
			break;
		}
	}
	char *h;
	if (asprintf(&h, "HOME=%s", home) < 0)
		bail(ENOMEM, "HOME");
	free(text);
	if (at >= 0) {
		envp[at] = h;
		return;
	}
	envp[n] = h;
	envp[n + 1] = NULL;
}

/*
 * send_listener hands the seccomp listener to the parent (SYNC_SECCOMP with
 * the fd), for the agent at linux.seccomp.listenerPath, and waits until the
 * agent has it. Nothing but the sendmsg may come between seccomp(2) and it:
 * a notified syscall would wait for an agent that has no fd yet (the
 * parent's validation refuses NOTIFY for sendmsg and write). The read and
 * the close may be notified: the agent answers by then.
 */
static void send_listener(int fd)
{
	uint32_t hdr[2] = { SYNC_SECCOMP, 0 };
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(hdr) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(berth_sync_fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(hdr))
		bail(n < 0 ? errno : EIO, "linux.seccomp: send the listener fd to the runtime: sendmsg");
	uint32_t ack;
	/* A failure there is the parent's to report; it kills this process. */
	if (read_all(berth_sync_fd, &ack, sizeof(ack)) < 0 || ack != SYNC_SECCOMP_ACK)
		_exit(1);
	close(fd);
}

static void load_seccomp(const struct exec_plan *x)
{
	struct sock_fprog prog = { .len = (unsigned short)x->nfilters, .filter = (struct sock_filter *)x->filters };
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, x->seccomp_flags, &prog);
	if (r < 0)
		bail(errno, "linux.seccomp: seccomp(SECCOMP_SET_MODE_FILTER, flags %#x)", x->seccomp_flags);
	if (x->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER_)
		send_listener((int)r);
}

static void set_user_and_caps(const struct exec_plan *x)
{
	uint64_t bounding = x->caps[0], eff = x->caps[1], perm = x->caps[2], inh = x->caps[3], amb = x->caps[4];
	if (x->flags & CX_CAPS) {
		for (int c = 0; c <= (int)x->last_cap; c++) {
			if (bounding & (1ULL << c))
				continue;
			int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
			if (in < 0)
				bail(errno, "read bounding set (cap %d): prctl(PR_CAPBSET_READ)", c);
			if (in && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
				bail(errno, "drop cap %d from the bounding set: prctl(PR_CAPBSET_DROP)", c);
		}
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			bail(errno, "prctl(PR_SET_KEEPCAPS, 1)");
	}
	if (!(x->flags & CX_NOGROUPS) && setgroups(x->ngroups, (const gid_t *)x->groups) < 0)
		bail(errno, "setgroups (process.user.additionalGids)");
	if (setresgid(x->gid, x->gid, x->gid) < 0)
		bail(errno, "setresgid %u (process.user.gid)", x->gid);
	if (setresuid(x->uid, x->uid, x->uid) < 0)
		bail(errno, "setresuid %u (process.user.uid)", x->uid);
	if (x->flags & CX_CAPS) {
		if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
			bail(errno, "prctl(PR_SET_KEEPCAPS, 0)");
		struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
		struct __user_cap_data_struct data[2] = {
			{ .effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh },
			{ .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32) },
		};
		if (syscall(SYS_capset, &hdr, data) < 0)
			bail(errno, "process.capabilities: capset(effective %#llx, permitted %#llx, inheritable %#llx)",
			     (unsigned long long)eff, (unsigned long long)perm, (unsigned long long)inh);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
			if (!(amb == 0 && errno == EINVAL))
				bail(errno, "clear the ambient set: prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
		}
		for (int c = 0; c < 64; c++)
			if ((amb & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
				bail(errno, "process.capabilities: raise cap %d in the ambient set: prctl(PR_CAP_AMBIENT_RAISE)", c);
	}
	umask((x->flags & CX_UMASK) ? (mode_t)x->umask : 022);
}

/* --- process.terminal (the init's OP_CONSOLE and exec -t) ---------------- */

static void on_hangup(int sig)
{
	(void)sig;
}

/*
 * berth_pty_slave readies the pty of master, a fresh open of the
 * container's ptmx, and returns its slave (close-on-exec). master is
 * blocking, as runc hands it over: O_NONBLOCK belongs to the open file
 * description the receiver gets, and one that reads without polling would
 * see EAGAIN and close it. The slave is opened from the master
 * (TIOCGPTPEER), never by a /dev/pts path the container could have swapped.
 * Then process.consoleSize; the owner (runc's rule: the uid becomes the
 * process's, the gid stays what devpts gave, its gid= option; EINVAL or
 * EPERM, ids a user namespace does not map, leave it as it is); and, when
 * berth itself relays the terminal (relay), ONLCR off as runc's relay
 * does, so the output is the bytes the container wrote. name gets
 * "/dev/pts/N" for messages.
 */
int berth_pty_slave(int master, uint32_t rows, uint32_t cols, uint32_t uid, int relay, char *name, size_t namelen)
{
	int unlock = 0;
	unsigned int n;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		bail(errno, "process.terminal: ioctl TIOCSPTLCK");
	if (ioctl(master, TIOCGPTN, &n) < 0)
		bail(errno, "process.terminal: ioctl TIOCGPTN");
	snprintf(name, namelen, "/dev/pts/%u", n);
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		bail(errno, "process.terminal: ioctl TIOCGPTPEER (opens %s; Linux 4.13 or later)", name);
	if (rows || cols) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			bail(errno, "process.consoleSize: ioctl TIOCSWINSZ %ux%u", rows, cols);
	}
	struct stat st;
	if (fstat(slave, &st) < 0)
		bail(errno, "process.terminal: stat %s", name);
	if (fchown(slave, (uid_t)uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM)
		bail(errno, "process.terminal: chown %s to %u:%u (process.user.uid)", name, uid, (unsigned)st.st_gid);
	if (relay) {
		struct termios tio;
		if (tcgetattr(slave, &tio) < 0)
			bail(errno, "process.terminal: tcgetattr %s", name);
		tio.c_oflag &= ~(tcflag_t)ONLCR;
		if (tcsetattr(slave, TCSANOW, &tio) < 0)
			bail(errno, "process.terminal: tcsetattr %s (ONLCR off)", name);
	}
	return slave;
}

/*
 * berth_pty_handoff makes slave the controlling terminal and stdio, then
 * sends master over sock (runc's console socket protocol: one message, the
 * name "/dev/ptmx" as payload, the fd as SCM_RIGHTS) and closes both. The
 * terminal is taken first: whenever the last master goes (a receiver that
 * closes it at once, or gives up), the kernel hangs the terminal up and
 * sends SIGHUP to the session leader, this process. A handler that does
 * nothing keeps it alive to its execve, which resets the handler; the
 * workload then finds the terminal hung up, as it would later on.
 */
void berth_pty_handoff(int master, int slave, int sock)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hangup;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) < 0)
		bail(errno, "process.terminal: sigaction SIGHUP");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		bail(errno, "process.terminal: ioctl TIOCSCTTY");
	for (int fd = 0; fd < 3; fd++) {
		/* dup2 onto itself would keep close-on-exec: clear it instead. */
		if (fd == slave ? fcntl(fd, F_SETFD, 0) < 0 : dup2(slave, fd) < 0)
			bail(errno, "pty slave onto fd %d", fd);
	}
	if (slave > 2)
		close(slave);
	berth_stdio_is_terminal = 1;
	static const char name[] = "/dev/ptmx";
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec iov = { .iov_base = (void *)name, .iov_len = sizeof(name) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	for (;;) {
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0)
			break;
		if (errno != EINTR)
			bail(errno, "process.terminal: send pty master to console socket");
	}
	close(master);
	close(sock);
}

/* setup_console is the exec half of process.terminal: a new session and a pty from the container's /dev/ptmx. */
static void setup_console(const struct exec_plan *x)
{
	char name[32];
	if (setsid() < 0)
		bail(errno, "setsid");
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		bail(errno, "process.terminal: open \"/dev/ptmx\"");
	int slave = berth_pty_slave(master, x->rows, x->cols, x->uid, (x->flags & CX_RELAY) != 0, name, sizeof(name));
	berth_pty_handoff(master, slave, (int)x->console_fd);
}

static const char *rlimit_name(uint32_t res)
{
	static const char *names[] = {
		[RLIMIT_CPU] = "RLIMIT_CPU",	       [RLIMIT_FSIZE] = "RLIMIT_FSIZE",	    [RLIMIT_DATA] = "RLIMIT_DATA",
		[RLIMIT_STACK] = "RLIMIT_STACK",       [RLIMIT_CORE] = "RLIMIT_CORE",	    [RLIMIT_RSS] = "RLIMIT_RSS",
		[RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",   [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",
		[RLIMIT_AS] = "RLIMIT_AS",	       [RLIMIT_LOCKS] = "RLIMIT_LOCKS",	    [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
		[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",	    [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",
		[RLIMIT_RTTIME] = "RLIMIT_RTTIME",
	};
	return res < sizeof(names) / sizeof(names[0]) && names[res] ? names[res] : "RLIMIT_?";
}

/*
 * RLIMIT_AS and RLIMIT_DATA are applied last, just before execve (as the Go
 * init does): a small one would fail this process's own allocations. A
 * raise of the hard limit needs privilege, so that part is done at once.
 */
static int deferred_limit(uint32_t res)
{
	return res == RLIMIT_AS || res == RLIMIT_DATA;
}

/*
 * close_fds closes every fd >= from but those in keep (which are
 * close-on-exec: the sync socket, the exec fifo). Marking them close-on-exec
 * is not enough: execve resolves its path while they are still open, so
 * args[0] "/proc/self/fd/N/..." could reach a host directory through a
 * leaked fd (CVE-2024-21626).
 */
static void close_fds(uint32_t from, const int *keep, int nkeep)
{
	int k[8], n = 0;
	for (int i = 0; i < nkeep && n < 8; i++) {
		/* An inherited fd (the sync socket) comes without close-on-exec. */
		if (keep[i] >= 0 && fcntl(keep[i], F_SETFD, FD_CLOEXEC) < 0)
			bail(errno, "fcntl(%d, F_SETFD, FD_CLOEXEC)", keep[i]);
		if (keep[i] >= 0 && (uint32_t)keep[i] >= from)
			k[n++] = keep[i];
	}
	for (int i = 1; i < n; i++) /* insertion sort: a handful of fds */
		for (int j = i; j > 0 && k[j - 1] > k[j]; j--) {
			int t = k[j];
			k[j] = k[j - 1];
			k[j - 1] = t;
		}
	unsigned int lo = from;
	for (int i = 0; i <= n; i++) {
		unsigned int hi = i < n ? (unsigned int)k[i] : ~0U;
		if (i == n || hi > lo) {
			unsigned int last = i < n ? hi - 1 : hi;
			if (syscall(SYS_close_range, lo, last, 0) < 0) {
				if (errno != ENOSYS)
					bail(errno, "close_range(%u, %u)", lo, last);
				/* Before Linux 5.9: one by one, up to the fd limit. */
				struct rlimit rl;
				unsigned int max = 1U << 20;
				if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < max)
					max = (unsigned int)rl.rlim_cur;
				for (unsigned int fd = lo; fd <= last && fd < max; fd++)
					close((int)fd);
			}
		}
		if (i < n && hi + 1 > lo)
			lo = hi + 1;
	}
}

/*
 * berth_exec_prepare applies x up to the execve: cwd, the fd sweep (keep:
 * the nkeep fds of berth's own that must live until the execve, each made
 * close-on-exec), rlimits, lookup, HOME, seccomp, user and capabilities, no_new_privs. It
 * returns the executable's path. The container init (cinit.c) calls it
 * before it waits for `berth start`.
 */
char *berth_exec_prepare(struct exec_plan *x, const int *keep, int nkeep)
{
	if (x->console_fd != CX_NO_CONSOLE)
		setup_console(x);
	if (x->cwd[0] != '\0' && chdir(x->cwd) < 0)
		bail(errno, "chdir \"%s\" (process.cwd)", x->cwd);
	/* A cwd reached through a leaked fd lies outside the root (CVE-2024-21626). */
	char wd[4096];
	if (getcwd(wd, sizeof(wd)) == NULL)
		bail(errno, "process.cwd: getcwd (the working directory is outside the container root)");
	if (wd[0] != '/')
		bail(0, "process.cwd: working directory \"%s\" is outside the container root", wd);
	/* Before the lookup, which then cannot find anything through a leaked fd. */
	close_fds(3 + x->preserve_fds, keep, nkeep);
	/* After the sweep: a lowered RLIMIT_NOFILE would hide fds above it
	 * from the sweep's fallback loop on kernels without close_range. */
	for (uint32_t i = 0; i < x->nrlimits; i++) {
		const char *r = x->rlimits + i * 24;
		uint32_t res;
		struct rlimit rl;
		memcpy(&res, r, 4);
		memcpy(&rl.rlim_cur, r + 8, 8);
		memcpy(&rl.rlim_max, r + 16, 8);
		if (deferred_limit(res)) {
			struct rlimit cur;
			if (getrlimit((int)res, &cur) < 0 || rl.rlim_max <= cur.rlim_max)
				continue;
			rl.rlim_cur = cur.rlim_cur;
		}
		if (setrlimit((int)res, &rl) < 0)
			bail(errno, "setrlimit %s (process.rlimits[%u])", rlimit_name(res), i);
	}
	/* Still root and unfiltered: a real-time policy needs CAP_SYS_NICE. */
	berth_proc_attrs(x, PH_PREPARE);
	/* After the chdir: a relative args[0] names a file of process.cwd, as in runc. */
	char *path = lookup(x->argv[0], x->path);
	with_home(x->envp, x->uid);
	/* Opened while still root and unfiltered; written just before execve. */
	char err[1024];
	if (berth_lsm_prepare(x, err, sizeof(err)) < 0)
		bail(0, "%s", err);
	if (x->nfilters > 0 && !(x->flags & CX_NNP))
		load_seccomp(x);
	set_user_and_caps(x);
	if ((x->flags & CX_NNP) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		bail(errno, "prctl(PR_SET_NO_NEW_PRIVS) (process.noNewPrivileges)");
	if (x->nfilters > 0 && (x->flags & CX_NNP))
		load_seccomp(x);
	return path;
}

void berth_exec_final_limits(const struct exec_plan *x)
{
	for (uint32_t i = 0; i < x->nrlimits; i++) {
		const char *r = x->rlimits + i * 24;
		uint32_t res;
		struct rlimit rl;
		memcpy(&res, r, 4);
		if (!deferred_limit(res))
			continue;
		memcpy(&rl.rlim_cur, r + 8, 8);
		memcpy(&rl.rlim_max, r + 16, 8);
		if (setrlimit((int)res, &rl) < 0)
			bail(errno, "setrlimit %s (process.rlimits[%u])", rlimit_name(res), i);
	}
}

void berth_exec_in_c(const char *buf, uint32_t len)
{
	struct exec_plan x;
	if (berth_parse_exec(buf, len, &x) < 0)
		bail(0, "nsenter: malformed exec record");
	/* The sync socket stays (close-on-exec) for an error before the execve. */
	char *path = berth_exec_prepare(&x, &berth_sync_fd, 1);
	char err[512];
	if (berth_lsm_apply(&x, err, sizeof(err)) < 0)
		bail(0, "%s", err);
	berth_exec_final_limits(&x);
	berth_proc_attrs(&x, PH_FINAL);
	execve(path, x.argv, x.envp);
	bail(errno, "exec \"%s\" (process.args[0])", x.argv[0]);
}
