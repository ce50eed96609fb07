/*
 * chook: the createContainer and startContainer hooks, run by the C init
 * (cinit.c) in the container's namespaces, as libcontainer/hooks runs the
 * parent's own hooks: the state JSON on stdin (a memfd), stdout and stderr
 * into memfds, a process group of its own (killed whole on timeout), and
 * on failure one line naming the hook, its exit status or signal and the
 * end of what it wrote.
 *
 * What the parent decided (libcontainer/cinit_hooks.go), in the op:
 *   s0 the hook's absolute path (execve'd as is: no shell, no PATH search)
 *   s1 its working directory, or "" to keep the init's
 *   s2 the message when that chdir fails (the errno text is appended)
 *   s3 the state JSON for its stdin
 *   s4 the hook as messages name it: `createContainer hook [0] "/path"`
 *   s5 the message when it times out: "timed out after 5s"
 *   n0 the timeout in seconds, 0 for none
 *   v[0] args (args[0] included), v[1] env (unless B_PROCENV)
 * The child gets only its three stdio descriptors: every other one is made
 * close-on-exec before the execve.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bootstrap.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define CLOSE_RANGE_CLOEXEC_ 4

/* How much of a failed hook's output goes into the error (hooks.go). */
#define TAIL_BYTES 4096
#define TAIL_LINES 3

/* Go's names of the signals (syscall.Signal.String on linux). */
static const char *const signal_names[] = {
	[1] = "hangup",
	[2] = "interrupt",
	[3] = "quit",
	[4] = "illegal instruction",
	[5] = "trace/breakpoint trap",
	[6] = "aborted",
	[7] = "bus error",
	[8] = "floating point exception",
	[9] = "killed",
	[10] = "user defined signal 1",
	[11] = "segmentation fault",
	[12] = "user defined signal 2",
	[13] = "broken pipe",
	[14] = "alarm clock",
	[15] = "terminated",
	[16] = "stack fault",
	[17] = "child exited",
	[18] = "continued",
	[19] = "stopped (signal)",
	[20] = "stopped",
	[21] = "stopped (tty input)",
	[22] = "stopped (tty output)",
	[23] = "urgent I/O condition",
	[24] = "CPU time limit exceeded",
	[25] = "file size limit exceeded",
	[26] = "virtual timer expired",
	[27] = "profiling timer expired",
	[28] = "window changed",
	[29] = "I/O possible",
	[30] = "power failure",
	[31] = "bad system call",
};

const char *berth_signal_name(int sig, char *buf, size_t size)
{
	if (sig > 0 && (size_t)sig < sizeof(signal_names) / sizeof(signal_names[0]) && signal_names[sig] != NULL)
		return signal_names[sig];
	snprintf(buf, size, "signal %d", sig);
	return buf;
}

/* Go's strings.TrimSpace for the spaces a hook prints: ASCII, NEL, NBSP. */
static int space_at(const char *s, size_t len, size_t i, int back)
{
	unsigned char c = (unsigned char)s[i];
	if (c == ' ' || (c >= '\t' && c <= '\r'))
		return 1;
	if (!back && i + 1 < len && c == 0xc2 && ((unsigned char)s[i + 1] == 0x85 || (unsigned char)s[i + 1] == 0xa0))
		return 2;
	if (back && i >= 1 && (unsigned char)s[i - 1] == 0xc2 && (c == 0x85 || c == 0xa0))
		return 2;
	return 0;
}

/*
 * berth_hook_tail is hooks.tail: the last TAIL_LINES non-empty lines of
 * data (the last TAIL_BYTES of an output; cut says the output was longer,
 * so the first line is partial and dropped), each trimmed, joined by "; ".
 */
void berth_hook_tail(const char *data, size_t len, int cut, char *out, size_t size)
{
	size_t start = 0;
	const char *line[TAIL_LINES];
	size_t llen[TAIL_LINES];
	int n = 0;
	out[0] = '\0';
	if (cut) {
		const char *nl = memchr(data, '\n', len);
		if (nl != NULL)
			start = (size_t)(nl - data) + 1;
	}
	while (start <= len) {
		const char *nl = memchr(data + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - data) : len;
		size_t a = start, b = end;
		int k;
		while (a < b && (k = space_at(data, b, a, 0)) > 0)
			a += (size_t)k;
		while (b > a && (k = space_at(data, b, b - 1, 1)) > 0)
			b -= (size_t)k;
		if (b > a) {
			if (n == TAIL_LINES) {
				memmove(line, line + 1, sizeof(line[0]) * (TAIL_LINES - 1));
				memmove(llen, llen + 1, sizeof(llen[0]) * (TAIL_LINES - 1));
				n--;
			}
			line[n] = data + a;
			llen[n] = b - a;
			n++;
		}
		if (nl == NULL)
			break;
		start = end + 1;
	}
	size_t w = 0;
	for (int i = 0; i < n && w + 1 < size; i++) {
		int k = snprintf(out + w, size - w, "%s%.*s", i ? "; " : "", (int)llen[i], line[i]);
		w = k < 0 ? size : w + (size_t)k;
	}
}

/* read_tail is hooks.tail on a memfd the hook wrote. */
static void read_tail(int fd, char *out, size_t size)
{
	char buf[TAIL_BYTES];
	out[0] = '\0';
	off_t end = lseek(fd, 0, SEEK_END);
	if (end <= 0)
		return;
	off_t off = end > TAIL_BYTES ? end - TAIL_BYTES : 0;
	ssize_t n = pread(fd, buf, (size_t)(end - off), off);
	if (n <= 0)
		return;
	berth_hook_tail(buf, (size_t)n, off > 0, out, size);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child's report of what failed before its execve: {stage, errno}. */
enum { STAGE_CHDIR = 1, STAGE_EXEC };

static void child(const struct op *o, char **envp, const int stdio[3], int report) __attribute__((noreturn));
static void child(const struct op *o, char **envp, const int stdio[3], int report)
{
	int rep[2] = { STAGE_EXEC, 0 };
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	/* Above 2 first, so that no dup2 below overwrites a source. */
	int high[3];
	for (int k = 0; k < 3; k++) {
		high[k] = fcntl(stdio[k], F_DUPFD_CLOEXEC, 3);
		if (high[k] < 0)
			goto fail;
	}
	for (int k = 0; k < 3; k++)
		if (dup2(high[k], k) < 0)
			goto fail;
	if (o->s[1][0] != '\0' && chdir(o->s[1]) < 0) {
		rep[0] = STAGE_CHDIR;
		goto fail;
	}
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC_) < 0)
		goto fail;
	execve(o->s[0], o->v[0], envp);
fail:
	rep[1] = errno;
	if (write(report, rep, sizeof(rep)) < 0)
		_exit(127);
	_exit(127);
}

/* wait_hook waits for pid, killing its group at the deadline (0: none); 1 when it timed out. */
static int wait_hook(pid_t pid, int64_t deadline, int *status)
{
	int timed_out = 0;
	if (deadline != 0) {
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		for (;;) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				timed_out = 1;
				break;
			}
			if (pfd >= 0) {
				struct pollfd p = { .fd = pfd, .events = POLLIN };
				int r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
				if (r > 0)
					break;
				if (r < 0 && errno != EINTR) {
					close(pfd);
					pfd = -1;
				}
				continue;
			}
			/* No pidfd (a seccomp profile may refuse pidfd_open): poll the status. */
			pid_t w = waitpid(pid, status, WNOHANG);
			if (w == pid)
				return 0;
			struct timespec ts = { 0, (left > 10 ? 10 : left) * 1000000L };
			nanosleep(&ts, NULL);
		}
		if (pfd >= 0)
			close(pfd);
		if (timed_out) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
	}
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			*status = -1;
			break;
		}
	}
	return timed_out;
}

int berth_run_hook(const struct op *o, char **envp, char *msg, size_t size)
{
	const char *name = o->s[4];
	int64_t deadline = o->n[0] ? now_ms() + (int64_t)o->n[0] * 1000 : 0;
	int stdio[3] = { -1, -1, -1 }, pipefd[2] = { -1, -1 }, ret = -1;
	static const char *const memname[3] = { "hook-stdin", "hook-stdout", "hook-stderr" };
	for (int k = 0; k < 3; k++) {
		stdio[k] = memfd_create(memname[k], MFD_CLOEXEC);
		if (stdio[k] < 0) {
			snprintf(msg, size, "%s: memfd_create \"%s\": %s", name, memname[k], berth_strerror(errno));
			goto out;
		}
	}
	size_t slen = strlen(o->s[3]);
	if (write_all(stdio[0], o->s[3], slen) < 0) {
		snprintf(msg, size, "%s: write state to memfd: %s", name, berth_strerror(errno));
		goto out;
	}
	if (lseek(stdio[0], 0, SEEK_SET) < 0) {
		snprintf(msg, size, "%s: rewind state memfd: %s", name, berth_strerror(errno));
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(msg, size, "%s: fork/exec %s: %s", name, o->s[0], berth_strerror(errno));
		goto out;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg, size, "%s: fork/exec %s: %s", name, o->s[0], berth_strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(o, envp, stdio, pipefd[1]);
	close(pipefd[1]);
	pipefd[1] = -1;
	setpgid(pid, pid); /* as the child does: a kill at the deadline must find the group */
	int rep[2], status;
	ssize_t n;
	do
		n = read(pipefd[0], rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(rep)) {
		wait_hook(pid, 0, &status);
		if (rep[0] == STAGE_CHDIR)
			snprintf(msg, size, "%s: %s", o->s[2], berth_strerror(rep[1]));
		else
			snprintf(msg, size, "%s: fork/exec %s: %s", name, o->s[0], berth_strerror(rep[1]));
		goto out;
	}
	int timed_out = wait_hook(pid, deadline, &status);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		ret = 0;
		goto out;
	}
	if (timed_out) {
		snprintf(msg, size, "%s: %s", name, o->s[5]);
		goto out;
	}
	char detail[96], sigbuf[32];
	if (status == -1)
		snprintf(detail, sizeof(detail), "wait: %s", berth_strerror(errno));
	else if (WIFEXITED(status))
		snprintf(detail, sizeof(detail), "exit status %d", WEXITSTATUS(status));
	else
		snprintf(detail, sizeof(detail), "signal: %s%s", berth_signal_name(WTERMSIG(status), sigbuf, sizeof(sigbuf)),
			 WCOREDUMP(status) ? " (core dumped)" : "");
	char tail[TAIL_BYTES + 8];
	read_tail(stdio[2], tail, sizeof(tail));
	if (tail[0] == '\0')
		read_tail(stdio[1], tail, sizeof(tail));
	if (tail[0] != '\0')
		snprintf(msg, size, "%s: %s: %s", name, detail, tail);
	else
		snprintf(msg, size, "%s: %s", name, detail);
out:
	for (int k = 0; k < 3; k++)
		if (stdio[k] >= 0)
			close(stdio[k]);
	for (int k = 0; k < 2; k++)
		if (pipefd[k] >= 0)
			close(pipefd[k]);
	return ret;
}
