/*
 * cinit: the container init, in C; the Go runtime never starts in the
 * container.
 *
 * Go decides, C executes. The parent compiles the whole spec into a plan
 * (libcontainer/cinit.go, rootfs/plan.go, libcontainer/cinit_hooks.go,
 * exec_c.go): every decision, validation, option parse, path join and
 * error text is made there, in Go, unit-tested as a pure function (golden
 * tests of spec to plan). This file is a small interpreter of that plan:
 * it performs the syscalls safely and decides nothing. There is one
 * implementation of each in-container step, here and in its companions
 * (cmount.c: overlay rootfs, tmpcopyup; chook.c: hooks; procfs.c: sysctl
 * and LSM writes; cexec.c: the process, shared with `berth exec`); every
 * create and run takes it, whatever the spec (terminal, user namespace,
 * hooks, LSM labels, seccomp listener, no mount namespace, a joined one).
 *
 * After the stub has made the namespaces, the init reads the plan and
 * runs it: the rootfs (resolution inside the root without following
 * anything out of it, checks of /proc destinations and /dev/null, each new
 * mount re-opened by id), the terminal of process.terminal after the pivot
 * (OP_CONSOLE), hostname, sysctl, masked and read-only paths, then the
 * process (cexec.c); then it waits on the exec fifo, runs the
 * startContainer hooks (chook.c; the plan's last ops), writes the LSM exec
 * attributes (process.apparmorProfile, process.selinuxLabel) and execs.
 * linux.sysctl and those attributes are written through a fresh writable
 * procfs (procfs.c); linux.mountLabel is in the data of the fresh mounts
 * (an mqueue's root gets it as an xattr); a seccomp listener goes to the
 * parent as SYNC_SECCOMP. In a mount namespace given by path (joined) the
 * plan is the same as in a new one; the parent read that namespace's
 * mount facts through this init's /proc/<pid>.
 *
 * In a user namespace (the stub made it, or joined it, and the parent wrote
 * the id maps) the plan says what the kernel refuses there and what stands
 * in: device nodes are binds of the host's (B_DEVBIND), sysfs and mqueue
 * fall back to a bind of the host's instance on EPERM (B_HOSTBIND and the
 * OP_HOSTBIND after it), a cgroup2 mount to a bind of the init's own
 * cgroup; remounts keep the flags the mount inherited locked
 * (remount_bind). The init's own procfs is made before any mount, while the
 * host's full /proc is still visible in the new mount namespace, which the
 * kernel requires of a procfs made in a user namespace; that the user
 * namespace may make one at all for the container's pid namespace the
 * parent checked (libcontainer/userns.go).
 *
 * What the init holds of the host is the plan and one O_PATH descriptor of
 * the exec fifo (not of the state directory: a process of the container
 * with CAP_SYS_PTRACE could walk /proc/1/fd/N/.. out of the root while the
 * init waits). With an LSM label it also holds its own exec attribute
 * files (procfs.c), which no other process can write (the kernel refuses a
 * write to another task's attributes). Every magic link the init uses
 * (mount(2) on /proc/self/fd/N) goes through a procfs it made itself
 * (fsopen, subset=pid, read-only) and made its working directory, never
 * through a /proc of the rootfs, which a hostile image or volume could
 * have shaped. Nothing is ever mounted on the container's root: a
 * destination that resolves to it is refused.
 *
 * Plan (host byte order), sent after SYNC_PID as u32 length + payload:
 *   u32 exec fifo fd (O_PATH), u64 lockable mount flags
 *   u32 n, n x str: the files under /proc a mount may cover
 *   u32 nops, nops x op
 *   u32 len + bytes: the exec record (layout in cexec.c)
 * op: u32 code, 6 x u64 n, u32 nprop, nprop x u64 propagation flags,
 *     6 x str s: s[0] destination/path, s[1] fstype, s[2] source, s[3]
 *     data, s[4] spec field for messages, s[5] source as named in messages,
 *     then berth_op_vectors(code) string vectors (u32 count, u32 len,
 *     NUL-terminated strings): a hook's args and env, an overlay's lowers.
 *     Where an op means something else by n or s, the enum below says so.
 * Errors go to the parent through bail() as SYNC_ERR; after SYNC_READY,
 * when the socket is closed, the steps left that can fail (the
 * startContainer hooks, the LSM attributes' write, the final rlimits, the
 * execve itself) report through the exec fifo to `berth start` (bail,
 * berth_fail, berth_report: "1" and the message, after the "0" for the
 * execve), never onto the container's stdio, which may be its terminal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "bootstrap.h"
#include "record.h"

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#define ST_NOSYMFOLLOW_ 0x2000
#define PROC_SUPER_MAGIC_ 0x9fa0
#define STATX_MNT_ID_ 0x1000U
#define STATX_ATTR_MOUNT_ROOT_ 0x2000

/* The state shared by the operations. */
static struct {
	struct plan *p;
	int rootfd; /* O_PATH of the root being built, then of "/" */
	int cgmnt; /* O_PATH of the v1 cgroup tmpfs while its hierarchies go in */
	int nullfd; /* the checked /dev/null, for maskedPaths */
	int proc; /* the init's own procfs (open_proc), its working directory during the ops */
	int wproc; /* a fresh writable procfs for a run of OP_SYSCTLs (procfs.c), or -1 */
	const char *mount_label; /* OP_MOUNTLABEL, for B_MQLABEL mounts */
} ci = { .rootfd = -1, .cgmnt = -1, .nullfd = -1, .proc = -1, .wproc = -1 };

/* --- trace (berth --debug) ------------------------------------------------ */

static struct {
	const char *name;
	uint64_t ns;
} steps[64];
static int nsteps;

static void mark(const char *name)
{
	struct timespec ts;
	if (nsteps == (int)(sizeof(steps) / sizeof(steps[0])))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	steps[nsteps].name = name;
	steps[nsteps].ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	nsteps++;
}

/* send_tag sends tag with the steps so far: u64 ns, u32 len, name, each. */
static void send_tag(uint32_t tag)
{
	size_t size = 0;
	for (int i = 0; i < nsteps; i++)
		size += 12 + strlen(steps[i].name);
	char *buf = malloc(8 + size);
	if (buf == NULL)
		bail(ENOMEM, "init: trace");
	uint32_t hdr[2] = { tag, (uint32_t)size };
	memcpy(buf, hdr, 8);
	char *p = buf + 8;
	for (int i = 0; i < nsteps; i++) {
		uint32_t l = (uint32_t)strlen(steps[i].name);
		memcpy(p, &steps[i].ns, 8);
		memcpy(p + 8, &l, 4);
		memcpy(p + 12, steps[i].name, l);
		p += 12 + l;
	}
	nsteps = 0;
	if (write_all(berth_sync_fd, buf, 8 + size) < 0)
		bail(errno, "init: write to parent");
	free(buf);
}

/* --- the plan ------------------------------------------------------------- */

int berth_parse_plan(const char *buf, uint32_t len, struct plan *p)
{
	struct cursor c = { buf, len, 0 };
	memset(p, 0, sizeof(*p));
	p->fifo_fd = u32(&c);
	p->lockable = u64(&c);
	p->proc_allowed = strv(&c, 0);
	p->nops = u32(&c);
	if (c.bad || p->nops > 65536)
		return -1;
	p->ops = calloc(p->nops + 1, sizeof(struct op));
	if (p->ops == NULL)
		return -1;
	for (uint32_t i = 0; i < p->nops && !c.bad; i++) {
		struct op *o = &p->ops[i];
		o->code = u32(&c);
		for (int k = 0; k < 6; k++)
			o->n[k] = u64(&c);
		o->nprop = u32(&c);
		if (o->nprop > 16)
			return -1;
		o->prop = take(&c, o->nprop * 8);
		for (int k = 0; k < 6; k++)
			o->s[k] = str(&c);
		if (o->code == 0 || o->code >= OP_MAX)
			return -1;
		for (int k = 0; k < berth_op_vectors(o->code) && !c.bad; k++)
			o->v[k] = strv(&c, 0);
		/* The startContainer hooks come last: the init runs them after the wait on the fifo. */
		if (i > 0 && p->ops[i - 1].code == OP_STARTHOOK && o->code != OP_STARTHOOK)
			return -1;
		if ((o->code == OP_HOOK || o->code == OP_STARTHOOK) && !c.bad && o->v[0][0] == NULL)
			return -1;
	}
	/* An OP_HOSTBIND is the fallback of the OP_FRESH right before it, and only that. */
	for (uint32_t i = 0; i < p->nops && !c.bad; i++) {
		const struct op *o = &p->ops[i];
		int asks = o->code == OP_FRESH && (o->n[2] & B_HOSTBIND);
		if (asks != (p->ops[i + 1].code == OP_HOSTBIND))
			return -1;
		if (o->code == OP_HOSTBIND && (i == 0 || !(o[-1].code == OP_FRESH && (o[-1].n[2] & B_HOSTBIND))))
			return -1;
	}
	uint32_t xlen = u32(&c);
	const char *xbuf = take(&c, xlen);
	if (c.bad || c.left != 0 || p->fifo_fd > 1 << 20)
		return -1;
	return berth_parse_exec(xbuf, xlen, &p->x);
}

int berth_op_vectors(uint32_t code)
{
	switch (code) {
	case OP_HOOK:
	case OP_STARTHOOK:
		return 2; /* args, env */
	case OP_OVERLAY:
		return 1; /* lowers */
	}
	return 0;
}

void berth_free_plan(struct plan *p)
{
	for (uint32_t i = 0; p->ops != NULL && i < p->nops; i++)
		for (int k = 0; k < 2; k++)
			free(p->ops[i].v[k]);
	free(p->proc_allowed);
	free(p->ops);
	free(p->x.argv);
	free(p->x.envp);
	memset(p, 0, sizeof(*p));
}

/* --- resolution inside the root ------------------------------------------- */

enum { C_NONE, C_DIR, C_FILE };

struct target {
	int fd; /* O_PATH of the object */
	int parent; /* O_PATH of its directory, -1 when it is the root */
	char name[NAME_MAX + 1];
	char path[PATH_MAX]; /* resolved path inside the root, for messages */
};

static void target_close(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->parent >= 0)
		close(t->parent);
	t->fd = t->parent = -1;
}

/*
 * procfd is the magic link of fd for mount(2), relative to the working
 * directory, which is the init's own procfs (open_proc) while the plan runs.
 */
static const char *procfd(int fd, char *buf)
{
	snprintf(buf, 32, "self/fd/%d", fd);
	return buf;
}

#ifndef SYS_fsopen
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
#define FSOPEN_CLOEXEC_ 1
#define FSCONFIG_SET_STRING_ 1
#define FSCONFIG_CMD_CREATE_ 6
#define FSMOUNT_CLOEXEC_ 1
#define MOUNT_ATTR_RDONLY_ 0x1
#define MOUNT_ATTR_NOSUID_ 0x2
#define MOUNT_ATTR_NODEV_ 0x4
#define MOUNT_ATTR_NOEXEC_ 0x8

/*
 * open_proc makes the init's own procfs: a new instance (fsopen), mounted
 * nowhere, read-only, with only the process directories (subset=pid), so
 * neither the rootfs nor a volume can stand in for it and a process that
 * reaches it through /proc/1/fd while the init waits finds nothing there it
 * cannot see in its own /proc. Then it becomes the working directory, where
 * procfd's relative paths resolve.
 */
static void open_proc(void)
{
	int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC_);
	if (fs < 0)
		bail(errno, "init: fsopen(\"proc\") for the init's own procfs");
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING_, "subset", "pid", 0) < 0)
		bail(errno, "init: fsconfig(subset=pid) for the init's own procfs");
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE_, NULL, NULL, 0) < 0)
		bail(errno, "init: fsconfig(FSCONFIG_CMD_CREATE) for the init's own procfs");
	ci.proc = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC_,
			       MOUNT_ATTR_RDONLY_ | MOUNT_ATTR_NOSUID_ | MOUNT_ATTR_NODEV_ | MOUNT_ATTR_NOEXEC_);
	if (ci.proc < 0)
		bail(errno, "init: fsmount for the init's own procfs");
	close(fs);
	if (fchdir(ci.proc) < 0)
		bail(errno, "init: chdir to the init's own procfs");
}

static int open_or_create(int dir, const char *name, int last, int create, mode_t perm, const char **step)
{
	*step = NULL;
	for (int tries = 0;; tries++) {
		int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT || create == C_NONE || tries > 3)
			return fd;
		if (last && create == C_FILE) {
			int nfd = openat(dir, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_RDONLY | O_CLOEXEC, perm);
			if (nfd < 0 && errno != EEXIST) {
				*step = "create";
				return -1;
			}
			if (nfd >= 0)
				close(nfd);
			continue;
		}
		mode_t dp = (perm == 0 || create == C_FILE) ? 0755 : perm;
		if (mkdirat(dir, name, dp) < 0 && errno != EEXIST) {
			*step = "mkdir";
			return -1;
		}
	}
}

#define MAXDEPTH 128

/* where_of writes "/a/b[/comp]" (or "/") for messages, cut to fit. */
static void where_of(char *buf, size_t size, char **names, int depth, const char *comp)
{
	size_t w = 0;
	buf[0] = '\0';
	for (int i = 0; i <= depth && w < size; i++) {
		const char *n = i < depth ? names[i] : comp;
		if (n == NULL)
			break;
		int k = snprintf(buf + w, size - w, "/%s", n);
		w = k < 0 ? size : w + (size_t)k;
	}
	if (buf[0] == '\0')
		snprintf(buf, size, "/");
}
#define MAXLINKS 40

/*
 * resolve walks upath inside rootfd one name at a time with
 * openat(O_PATH|O_NOFOLLOW): symlinks are read and spliced into what is
 * left (absolute ones restart at the root), ".." pops our own stack and
 * stops at the root, missing names are created when asked. On failure it
 * returns -1 with errno set and what failed in err ("/a/b": mkdir).
 */
static int resolve(int rootfd, const char *upath, int create, mode_t perm, struct target *t, char *err, size_t errlen)
{
	int fds[MAXDEPTH];
	char *names[MAXDEPTH];
	int depth = 0, links = 0, ret = -1, saved = 0;
	char where[PATH_MAX];
	char *queue = strdup(upath), *rest;
	t->fd = t->parent = -1;
	t->name[0] = '\0';
	if (queue == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rest = queue;

#define WHERE(comp) where_of(where, sizeof(where), names, depth, (comp))

	for (;;) {
		while (*rest == '/')
			rest++;
		if (*rest == '\0')
			break;
		char *comp = rest;
		char *slash = strchr(rest, '/');
		if (slash != NULL) {
			*slash = '\0';
			rest = slash + 1;
		} else {
			rest = comp + strlen(comp);
		}
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (depth > 0) {
				depth--;
				close(fds[depth]);
				free(names[depth]);
			}
			continue;
		}
		const char *r = rest;
		while (*r == '/')
			r++;
		int last = *r == '\0';
		int dir = depth > 0 ? fds[depth - 1] : rootfd;
		const char *step;
		int fd = open_or_create(dir, comp, last, create, perm, &step);
		if (fd < 0) {
			saved = errno;
			WHERE(comp);
			snprintf(err, errlen, "\"%s\"%s%s", where, step ? ": " : "", step ? step : "");
			goto out;
		}
		struct stat st;
		if (fstat(fd, &st) < 0) {
			saved = errno;
			close(fd);
			WHERE(comp);
			snprintf(err, errlen, "fstat \"%s\"", where);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			char link[PATH_MAX];
			ssize_t n = readlinkat(fd, "", link, sizeof(link) - 1);
			close(fd);
			if (n < 0 || ++links > MAXLINKS) {
				saved = n < 0 ? errno : ELOOP;
				WHERE(comp);
				snprintf(err, errlen, n < 0 ? "readlink \"%s\"" : "\"%s\"", where);
				goto out;
			}
			link[n] = '\0';
			if (link[0] == '/') {
				while (depth > 0) {
					depth--;
					close(fds[depth]);
					free(names[depth]);
				}
			}
			char *nq = malloc((size_t)n + 2 + strlen(rest));
			if (nq == NULL) {
				saved = ENOMEM;
				snprintf(err, errlen, "resolve");
				goto out;
			}
			sprintf(nq, "%s/%s", link, rest);
			free(queue);
			queue = rest = nq;
			continue;
		}
		if (!last && !S_ISDIR(st.st_mode)) {
			close(fd);
			saved = ENOTDIR;
			WHERE(comp);
			snprintf(err, errlen, "\"%s\"", where);
			goto out;
		}
		if (depth == MAXDEPTH || strlen(comp) > NAME_MAX) {
			close(fd);
			saved = ENAMETOOLONG;
			snprintf(err, errlen, "\"%s\"", upath);
			goto out;
		}
		fds[depth] = fd;
		names[depth] = strdup(comp);
		if (names[depth] == NULL) {
			close(fd);
			saved = ENOMEM;
			snprintf(err, errlen, "resolve");
			goto out;
		}
		depth++;
	}
	WHERE((const char *)NULL);
	snprintf(t->path, sizeof(t->path), "%s", where);
	if (depth == 0) {
		t->fd = openat(rootfd, ".", O_PATH | O_CLOEXEC | O_DIRECTORY);
		if (t->fd < 0) {
			saved = errno;
			snprintf(err, errlen, "reopen root");
			goto out;
		}
		ret = 0;
		goto out;
	}
	if (depth == 1) {
		t->parent = openat(rootfd, ".", O_PATH | O_CLOEXEC | O_DIRECTORY);
		if (t->parent < 0) {
			saved = errno;
			snprintf(err, errlen, "reopen root");
			goto out;
		}
	} else {
		t->parent = fds[depth - 2];
	}
	t->fd = fds[depth - 1];
	snprintf(t->name, sizeof(t->name), "%s", names[depth - 1]);
	/* t owns these two now. */
	free(names[depth - 1]);
	depth--;
	if (depth > 0) {
		free(names[depth - 1]);
		depth--;
	}
	ret = 0;
out:
	while (depth > 0) {
		depth--;
		close(fds[depth]);
		free(names[depth]);
	}
	free(queue);
	if (ret < 0)
		errno = saved;
	return ret;
#undef WHERE
}

/* --- mounts (rootfs/plan.go compiles them) -------------------------------- */

static int mount_id(int fd, uint64_t *id, int *is_root)
{
	/* struct statx by hand: the libc's may predate stx_mnt_id. */
	unsigned char stx[256];
	memset(stx, 0, sizeof(stx));
	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_, stx) < 0)
		return -1;
	uint32_t mask;
	uint64_t attrs, amask;
	memcpy(&mask, stx + 0, 4);
	memcpy(&attrs, stx + 8, 8);
	memcpy(&amask, stx + 0x38, 8);
	if (!(mask & STATX_MNT_ID_)) {
		errno = ENOSYS;
		return -1;
	}
	memcpy(id, stx + 0x90, 8);
	*is_root = (amask & STATX_ATTR_MOUNT_ROOT_) && (attrs & STATX_ATTR_MOUNT_ROOT_);
	return 0;
}

/*
 * reopen_mount returns an O_PATH descriptor of the mount just made on t,
 * looked up again by name in the pinned parent; it must be a mount root on
 * another mount than before. t is never the root (refused before).
 */
static int reopen_mount(struct target *t, char *err, size_t errlen)
{
	uint64_t old, id;
	int is_root, fd;
	if (t->parent < 0) {
		snprintf(err, errlen, "reopen: \"%s\" is the container's root", t->path);
		errno = 0;
		return -1;
	}
	if (mount_id(t->fd, &old, &is_root) < 0) {
		snprintf(err, errlen, "reopen");
		return -1;
	}
	fd = openat(t->parent, t->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || mount_id(fd, &id, &is_root) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		snprintf(err, errlen, "reopen");
		return -1;
	}
	if (id == old || !is_root) {
		close(fd);
		snprintf(err, errlen, "reopen: \"%s\" is not the new mount (changed under us?)", t->path);
		errno = 0;
		return -1;
	}
	return fd;
}

static unsigned long st_to_ms(unsigned long f)
{
	static const struct {
		unsigned long st, ms;
	} pairs[] = {
		{ ST_RDONLY, MS_RDONLY },     { ST_NOSUID, MS_NOSUID },	      { ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC },     { ST_NOATIME, MS_NOATIME },     { ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME }, { ST_NOSYMFOLLOW_, MS_NOSYMFOLLOW },
	};
	unsigned long m = 0;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (f & pairs[i].st)
			m |= pairs[i].ms;
	return m;
}

/* remount_bind is rootfs.remountBind: flags on the mount fd is the root of. */
static int remount_bind(int fd, unsigned long flags, unsigned long cleared)
{
	char b[32];
	flags = (flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT)) | MS_BIND | MS_REMOUNT;
	if (mount("", procfd(fd, b), NULL, flags, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	struct statfs st;
	if (fstatfs(fd, &st) < 0) {
		errno = EPERM;
		return -1;
	}
	unsigned long cur = st_to_ms((unsigned long)st.f_flags);
	if (cur & cleared) {
		errno = EPERM;
		return -1;
	}
	if (flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME))
		cur &= ~(unsigned long)(MS_NOATIME | MS_RELATIME | MS_STRICTATIME);
	if ((flags | cur) == flags) {
		errno = EPERM;
		return -1;
	}
	return mount("", procfd(fd, b), NULL, flags | cur, NULL);
}

#define FIELD(o) ((o)->s[4])
#define DEST(o) ((o)->s[0])

static void mount_fail(const struct op *o, const char *step, int e) __attribute__((noreturn));
static void mount_fail(const struct op *o, const char *step, int e)
{
	if (step != NULL && step[0] != '\0')
		bail(e, "rootfs: mount \"%s\" on \"%s\" (%s): %s", o->s[5], DEST(o), FIELD(o), step);
	bail(e, "rootfs: mount \"%s\" on \"%s\" (%s)", o->s[5], DEST(o), FIELD(o));
}

static void mkdir_fail(const struct op *o, const char *err) __attribute__((noreturn));
static void mkdir_fail(const struct op *o, const char *err)
{
	bail(errno, "rootfs: mkdir \"%s\" in rootfs (%s.destination): %s", DEST(o), FIELD(o), err);
}

/* after_mount applies recursive attributes and propagation changes. */
static void after_mount(const struct op *o, int mnt)
{
	char b[32];
	if (o->n[2] & B_ATTR) {
		struct {
			uint64_t set, clr, prop, userns;
		} attr = { o->n[3], o->n[4], o->n[5], 0 };
		if (syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			mount_fail(o, "mount_setattr (recursive options)", errno);
	}
	for (uint32_t i = 0; i < o->nprop; i++) {
		uint64_t p;
		memcpy(&p, o->prop + i * 8, 8);
		if (mount("", procfd(mnt, b), NULL, (unsigned long)p, NULL) < 0)
			mount_fail(o, "set propagation", errno);
	}
}

/* check_proc_dest is rootfs.checkProcDest on the resolved path. */
static void check_proc_dest(const struct op *o, const char *dest, const char *typ, int srcfd)
{
	if (strcmp(dest, "/proc") == 0) {
		if (strcmp(typ, "proc") == 0)
			return;
		if (strcmp(typ, "bind") == 0 && srcfd >= 0) {
			struct statfs sfs;
			struct stat st;
			if (fstatfs(srcfd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC_ && fstat(srcfd, &st) == 0 &&
			    st.st_ino == 1)
				return;
		}
		bail(0, "rootfs: %s.destination: \"%s\" cannot be mounted on /proc: only a procfs (or a bind of a procfs root) can",
		     FIELD(o), typ);
	}
	if (strncmp(dest, "/proc/", 6) == 0) {
		for (char **a = ci.p->proc_allowed; *a != NULL; a++)
			if (strcmp(*a, dest) == 0)
				return;
		bail(0, "rootfs: %s.destination: \"%s\" is inside /proc and cannot be a mount destination", FIELD(o), dest);
	}
}

static int reopen_or_fail(const struct op *o, struct target *t)
{
	char err[PATH_MAX + 64];
	int fd = reopen_mount(t, err, sizeof(err));
	if (fd < 0)
		bail(errno, "rootfs: mount \"%s\" on \"%s\" (%s): %s", o->s[5], DEST(o), FIELD(o), err);
	return fd;
}

static void resolve_dest(const struct op *o, int create, mode_t perm, struct target *t)
{
	char err[PATH_MAX + 64];
	if (resolve(ci.rootfd, DEST(o), create, perm, t, err, sizeof(err)) < 0)
		mkdir_fail(o, err);
	if (t->parent < 0)
		bail(0, "rootfs: %s.destination \"%s\" resolves to the container's root: a mount there would cover the root filesystem",
		     FIELD(o), DEST(o));
}

static void op_rootbind(const struct op *o)
{
	const char *rootfs = o->s[0];
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		bail(errno, "rootfs: bind mount rootfs \"%s\" on itself", rootfs);
	ci.rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ci.rootfd < 0)
		bail(errno, "rootfs: open %s", rootfs);
}

/*
 * op_prepare sets the propagation of / first: with the default rslave
 * nothing mounted later can propagate back to the host. With B_NOBIND the
 * rootfs's parent is made private (OP_PRIVATE) and the overlay mounted
 * (OP_OVERLAY) before OP_ROOTBIND binds the rootfs on itself.
 */
static void op_prepare(const struct op *o)
{
	if (mount("", "/", NULL, (unsigned long)o->n[0], NULL) < 0)
		bail(errno, "rootfs: set propagation of / (linux.rootfsPropagation \"%s\")", o->s[4]);
	if (!(o->n[2] & B_NOBIND))
		op_rootbind(o);
}

static void op_private(const struct op *o)
{
	if (mount("", o->s[0], NULL, MS_PRIVATE, NULL) < 0)
		bail(errno, "rootfs: prepare rootfs \"%s\": make \"%s\" private", o->s[1], o->s[0]);
}

/*
 * at_new_root follows a change of root (pivot_root, MS_MOVE+chroot, a plain
 * chroot): the later steps resolve in the new "/", and the working
 * directory goes back to the init's own procfs, where procfd's paths
 * resolve.
 */
static void at_new_root(void)
{
	if (chdir("/") < 0)
		bail(errno, "rootfs: chdir / in the new root");
	ci.rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ci.rootfd < 0)
		bail(errno, "rootfs: open / in the new root");
	if (fchdir(ci.proc) < 0)
		bail(errno, "init: chdir to the init's own procfs");
}

/* op_chroot is the root of a container without a mount namespace: a chroot, nothing mounted. */
static void op_chroot(const struct op *o)
{
	if (chroot(o->s[0]) < 0)
		bail(errno, "chroot \"%s\" (root.path, no mount namespace)", o->s[0]);
	/* The root the steps after it resolve in (OP_CONSOLE's ptmx). */
	at_new_root();
}

/*
 * split_path splits an absolute, cleaned path into its directory (in dir)
 * and its last name; -1 when the path does not fit, so a name can never
 * keep a slash.
 */
static int split_path(const char *path, char *dir, size_t size, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash == NULL ? 0 : (size_t)(slash - path);
	if (slash == NULL || strlen(path) >= size)
		return -1;
	if (dlen == 0)
		dlen = 1; /* "/" */
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	*name = slash + 1;
	return 0;
}

static void check_plain_dir(const struct op *o)
{
	const char *dest = DEST(o);
	if (strcmp(dest, "/") == 0)
		return;
	char dir[PATH_MAX], err[PATH_MAX + 64];
	const char *base;
	if (split_path(dest, dir, sizeof(dir), &base) < 0) {
		errno = ENAMETOOLONG;
		mkdir_fail(o, "destination");
	}
	struct target parent;
	if (resolve(ci.rootfd, dir, C_DIR, 0755, &parent, err, sizeof(err)) < 0)
		mkdir_fail(o, err);
	struct stat st;
	int r = fstatat(parent.fd, base, &st, AT_SYMLINK_NOFOLLOW);
	int e = errno;
	target_close(&parent);
	if (r < 0 && e == ENOENT)
		return;
	if (r < 0)
		mount_fail(o, "stat destination", e);
	if (!S_ISDIR(st.st_mode))
		bail(0, "rootfs: %s: filesystem \"%s\" must be mounted on an ordinary directory, but \"%s\" is %s", FIELD(o),
		     o->s[1], dest, S_ISLNK(st.st_mode) ? "a symlink" : "not a directory");
}

/*
 * mqueue_label gives the root of a fresh mqueue mount the mount label as
 * an xattr (mqueue takes no context= option), before after_mount could
 * make it read-only.
 */
static void mqueue_label(const struct op *o, int mnt)
{
	char b[32];
	const char *l = ci.mount_label;
	if (l == NULL)
		bail(0, "init: an mqueue to label before OP_MOUNTLABEL");
	if (setxattr(procfd(mnt, b), "security.selinux", l, strlen(l), 0) < 0)
		bail(errno, "rootfs: mount \"%s\" on \"%s\" (%s): label: setxattr security.selinux \"%s\" (linux.mountLabel)",
		     o->s[5], DEST(o), FIELD(o), l);
}

/*
 * bind_host is rootfs.bindHost, the fallback a plan names for a filesystem
 * the kernel refuses to mount here (EPERM in a user namespace: sysfs without
 * its own network namespace, mqueue without its own IPC namespace, cgroup2
 * without its own cgroup namespace): the host's instance at host (chosen by
 * the parent) bound recursively onto t with the mount's flags, read-only for
 * the whole tree where asked (CVE-2023-25809: the host's /sys comes with its
 * cgroup submounts). It bails, saying what first failed (first) and then
 * what the fallback met.
 */
static void bind_host(const struct op *o, struct target *t, const char *host, const char *whose, int first)
{
	char b1[32], b2[32], err[PATH_MAX + 64] = "";
	int mnt = -1, r = -1;
	int src = open(host, O_PATH | O_CLOEXEC | O_DIRECTORY);
	if (src >= 0) {
		r = mount(procfd(src, b1), procfd(t->fd, b2), NULL, MS_BIND | MS_REC, NULL);
		int e = errno;
		close(src);
		errno = e;
	}
	if (r == 0 && (mnt = reopen_mount(t, err, sizeof(err))) < 0)
		r = -1;
	if (r == 0)
		r = remount_bind(mnt, (unsigned long)o->n[0], (unsigned long)o->n[1]);
	if (r == 0 && (o->n[0] & MS_RDONLY)) {
		struct {
			uint64_t set, clr, prop, userns;
		} attr = { MOUNT_ATTR_RDONLY_, 0, 0, 0 };
		r = (int)syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr));
		if (r < 0)
			snprintf(err, sizeof(err), "mount_setattr (recursive read-only)");
	}
	if (r < 0) {
		int e = errno;
		char first_s[128], what[PATH_MAX + 192];
		snprintf(first_s, sizeof(first_s), "%s", berth_strerror(first));
		if (err[0] != '\0' && e != 0)
			snprintf(what, sizeof(what), "%s: %s", err, berth_strerror(e));
		else
			snprintf(what, sizeof(what), "%s", err[0] != '\0' ? err : berth_strerror(e));
		bail(0, "rootfs: mount \"%s\" on \"%s\" (%s): %s (falling back to a bind of %s%s: %s)", o->s[5], DEST(o),
		     FIELD(o), first_s, whose, host, what);
	}
	after_mount(o, mnt);
	close(mnt);
}

/*
 * copy_up is tmpcopyup: what the new tmpfs (mnt) covers (t.fd still names
 * it) copied in, nothing followed; then read-only if asked (the parent
 * left MS_RDONLY out of the mount for the copy).
 */
static void copy_up(const struct op *o, int under, int mnt)
{
	char err[PATH_MAX], step[PATH_MAX + 16];
	if (berth_copy_up(under, mnt, err, sizeof(err)) < 0) {
		snprintf(step, sizeof(step), "tmpcopyup%s%s", err[0] ? ": " : "", err);
		mount_fail(o, step, errno);
	}
	if ((o->n[2] & B_COPYUP_RO) &&
	    remount_bind(mnt, (unsigned long)o->n[0] | MS_RDONLY, (unsigned long)o->n[1]) < 0)
		mount_fail(o, "remount read-only", errno);
}

static void op_fresh(const struct op *o)
{
	char b[32];
	if (o->n[2] & B_PLAINDIR)
		check_plain_dir(o);
	struct target t;
	resolve_dest(o, C_DIR, 0755, &t);
	/* A symlink swapped in after check_plain_dir would be followed here. */
	if ((o->n[2] & B_PLAINDIR) && strcmp(t.path, DEST(o)) != 0)
		bail(0, "rootfs: %s: filesystem \"%s\" must be mounted on an ordinary directory, but \"%s\" led to \"%s\"",
		     FIELD(o), o->s[1], DEST(o), t.path);
	check_proc_dest(o, t.path, o->s[1], -1);
	if (mount(o->s[2], procfd(t.fd, b), o->s[1], (unsigned long)o->n[0], o->s[3][0] ? o->s[3] : NULL) < 0) {
		int e = errno;
		/* The parser checked that the fallback follows. */
		if (e != EPERM || !(o->n[2] & B_HOSTBIND))
			mount_fail(o, NULL, e);
		bind_host(o, &t, o[1].s[0], "the host's ", e);
		target_close(&t);
		return;
	}
	int mnt = reopen_or_fail(o, &t);
	if (o->n[2] & B_MQLABEL)
		mqueue_label(o, mnt);
	if (o->n[2] & B_COPYUP)
		copy_up(o, t.fd, mnt);
	after_mount(o, mnt);
	close(mnt);
	target_close(&t);
}

static void op_bind(const struct op *o)
{
	char b1[32], b2[32];
	const char *src = o->s[2];
	int srcfd = (o->n[2] & B_IDMAP) ? berth_idmap_source() : open(src, O_PATH | O_CLOEXEC);
	if (srcfd < 0)
		bail(errno, "rootfs: open bind source \"%s\" (%s.source)", src, FIELD(o));
	struct stat st;
	if (fstat(srcfd, &st) < 0)
		bail(errno, "rootfs: stat bind source \"%s\" (%s.source)", src, FIELD(o));
	struct target t;
	if (S_ISDIR(st.st_mode))
		resolve_dest(o, C_DIR, 0755, &t);
	else
		resolve_dest(o, C_FILE, 0644, &t);
	check_proc_dest(o, t.path, "bind", srcfd);
	if ((o->n[2] & B_IDMAP) ? berth_idmap_move(srcfd, t.fd) < 0 :
				   mount(procfd(srcfd, b1), procfd(t.fd, b2), NULL, MS_BIND | (o->n[0] & MS_REC), NULL) < 0)
		mount_fail(o, (o->n[2] & B_IDMAP) ? "move_mount (idmapped)" : NULL, errno);
	close(srcfd);
	int mnt = reopen_or_fail(o, &t);
	if ((o->n[2] & B_REMOUNT) && remount_bind(mnt, (unsigned long)o->n[0], (unsigned long)o->n[1]) < 0)
		mount_fail(o, "remount", errno);
	after_mount(o, mnt);
	close(mnt);
	target_close(&t);
}

static void op_remount(const struct op *o)
{
	char b[32], err[PATH_MAX + 64];
	struct target t;
	if (resolve(ci.rootfd, DEST(o), C_NONE, 0, &t, err, sizeof(err)) < 0)
		bail(errno, "rootfs: mount \"%s\" on \"%s\" (%s): resolve destination: %s", o->s[5], DEST(o), FIELD(o), err);
	if (o->n[2] & B_REMOUNT) {
		/* A bind remount: the flags a user namespace inherited locked are kept. */
		if (remount_bind(t.fd, (unsigned long)o->n[0], (unsigned long)o->n[1]) < 0)
			mount_fail(o, NULL, errno);
	} else if (mount(o->s[2], procfd(t.fd, b), o->s[1], (unsigned long)o->n[0], o->s[3][0] ? o->s[3] : NULL) < 0) {
		mount_fail(o, NULL, errno);
	}
	after_mount(o, t.fd);
	target_close(&t);
}

static void op_cgroup1(const struct op *o)
{
	char b[32];
	struct target t;
	resolve_dest(o, C_DIR, 0755, &t);
	check_proc_dest(o, t.path, "cgroup", -1);
	/* s3: the tmpfs's data, the mount label's context= in it. */
	if (mount("tmpfs", procfd(t.fd, b), "tmpfs", (unsigned long)o->n[0] & ~(unsigned long)MS_RDONLY, o->s[3]) < 0)
		mount_fail(o, NULL, errno);
	ci.cgmnt = reopen_or_fail(o, &t);
	target_close(&t);
}

/* cg_hier puts one v1 hierarchy into the cgroup tmpfs; -1 with err set. */
static int cg_hier(const struct op *o, char *err, size_t errlen)
{
	char b1[32], b2[32];
	struct target sub;
	const char *name = o->s[1], *fstype = (o->n[2] & B_CG2) ? "cgroup2" : "cgroup", *host = o->s[2];
	unsigned long flags = (unsigned long)o->n[0] & ~(unsigned long)(MS_REMOUNT | MS_BIND | MS_REC);
	if (resolve(ci.cgmnt, name, C_DIR, 0755, &sub, err, errlen) < 0)
		return -1;
	err[0] = '\0';
	int r = 0;
	if (o->n[2] & B_CGNS) {
		r = mount("cgroup", procfd(sub.fd, b1), fstype, flags, strcmp(fstype, "cgroup2") == 0 ? NULL : o->s[3]);
		if (r == 0 || host[0] == '\0')
			goto out;
	}
	if (host[0] == '\0') {
		snprintf(err, errlen, "the init's cgroup is not visible in the host's %s mount", name);
		errno = 0;
		r = -1;
		goto out;
	}
	int src = open(host, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (src < 0) {
		r = -1;
		goto out;
	}
	r = mount(procfd(src, b1), procfd(sub.fd, b2), NULL, MS_BIND | MS_REC, NULL);
	int e = errno;
	close(src);
	errno = e;
	if (r < 0)
		goto out;
	int bound = reopen_mount(&sub, err, errlen);
	if (bound < 0) {
		r = -1;
		goto out;
	}
	r = remount_bind(bound, flags, (unsigned long)o->n[1]);
	e = errno;
	close(bound);
	errno = e;
out:
	e = errno;
	target_close(&sub);
	errno = e;
	return r;
}

static void op_cghier(const struct op *o)
{
	char err[PATH_MAX + 128];
	const char *name = o->s[1];
	if (cg_hier(o, err, sizeof(err)) < 0) {
		if (err[0])
			bail(errno, "rootfs: mount \"%s\" on \"%s\" (%s): cgroup hierarchy \"%s\": %s", o->s[5], DEST(o),
			     FIELD(o), name, err);
		bail(errno, "rootfs: mount \"%s\" on \"%s\" (%s): cgroup hierarchy \"%s\"", o->s[5], DEST(o), FIELD(o), name);
	}
	/* "cpu,cpuacct" also answers to "cpu" and "cpuacct", as on the host. */
	if (strchr(name, ',') != NULL) {
		char *copy = strdup(name), *s = copy, *alias;
		if (copy == NULL)
			bail(ENOMEM, "rootfs: cgroup hierarchy aliases");
		while ((alias = strsep(&s, ",")) != NULL) {
			if (symlinkat(name, ci.cgmnt, alias) < 0 && errno != EEXIST)
				bail(errno, "rootfs: mount \"%s\" on \"%s\" (%s): symlink \"%s\"", o->s[5], DEST(o), FIELD(o),
				     alias);
		}
		free(copy);
	}
}

static void op_cgdone(const struct op *o)
{
	if ((o->n[0] & MS_RDONLY) && remount_bind(ci.cgmnt, (unsigned long)o->n[0], (unsigned long)o->n[1]) < 0)
		mount_fail(o, "remount read-only", errno);
	after_mount(o, ci.cgmnt);
	close(ci.cgmnt);
	ci.cgmnt = -1;
}

static void op_cgroup2(const struct op *o)
{
	char b1[32];
	struct target t;
	resolve_dest(o, C_DIR, 0755, &t);
	check_proc_dest(o, t.path, "cgroup", -1);
	const char *src = o->s[2][0] ? o->s[2] : "cgroup2";
	if (mount(src, procfd(t.fd, b1), "cgroup2", (unsigned long)o->n[0], o->s[3][0] ? o->s[3] : NULL) < 0) {
		int e = errno;
		if (e != EPERM && e != EBUSY)
			mount_fail(o, NULL, e);
		/* The kernel refuses a fresh cgroup2 here: bind the init's own cgroup. */
		bind_host(o, &t, o->s[1], "", e);
		target_close(&t);
		return;
	}
	int mnt = reopen_or_fail(o, &t);
	after_mount(o, mnt);
	close(mnt);
	target_close(&t);
}

/* --- /dev (rootfs/devices.go decides the nodes) --------------------------- */

/* bind_device is rootfs.bindDevice: the host's node at the same path, bound onto an empty file. */
static void bind_device(const struct op *o, int dir, const char *name)
{
	char b1[32], b2[32];
	const char *path = o->s[0];
	int f = openat(dir, name, O_CREAT | O_NOFOLLOW | O_RDONLY | O_CLOEXEC, 0);
	if (f < 0)
		bail(errno, "rootfs: create \"%s\" for a bind of the host device (%s)", path, FIELD(o));
	close(f);
	int dst = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		bail(errno, "rootfs: open \"%s\" (%s)", path, FIELD(o));
	int src = open(path, O_PATH | O_CLOEXEC);
	if (src < 0)
		bail(errno, "rootfs: open host device \"%s\" (%s)", path, FIELD(o));
	if (mount(procfd(src, b1), procfd(dst, b2), NULL, MS_BIND, NULL) < 0)
		bail(errno, "rootfs: bind mount host device \"%s\" (%s)", path, FIELD(o));
	close(src);
	close(dst);
}

/*
 * op_device is rootfs.createDevice: an existing entry is left as it is, else
 * mknod, else (EPERM) a bind of the host's node. With B_DEVBIND (a user
 * namespace, where mknod of a device is never allowed) the bind comes
 * without trying, and also over a regular file that stands at the path.
 */
static void op_device(const struct op *o)
{
	char dir[PATH_MAX], err[PATH_MAX + 64];
	const char *path = o->s[0], *name;
	int bind_only = (o->n[5] & B_DEVBIND) != 0;
	if (split_path(path, dir, sizeof(dir), &name) < 0)
		bail(ENAMETOOLONG, "rootfs: %s: path", FIELD(o));
	struct target parent;
	if (resolve(ci.rootfd, dir, C_DIR, 0755, &parent, err, sizeof(err)) < 0)
		bail(errno, "rootfs: mkdir \"%s\" in rootfs (%s): %s", dir, FIELD(o), err);
	struct stat st;
	if (fstatat(parent.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!(bind_only && S_ISREG(st.st_mode))) {
			target_close(&parent);
			return;
		}
	} else if (errno != ENOENT) {
		bail(errno, "rootfs: stat \"%s\" (%s)", path, FIELD(o));
	}
	if (bind_only) {
		bind_device(o, parent.fd, name);
		target_close(&parent);
		return;
	}
	int r = mknodat(parent.fd, name, (mode_t)o->n[0], makedev((unsigned)o->n[1], (unsigned)o->n[2]));
	int e = errno;
	if (r == 0) {
		if (fchownat(parent.fd, name, (uid_t)o->n[3], (gid_t)o->n[4], AT_SYMLINK_NOFOLLOW) < 0)
			bail(errno, "rootfs: chown \"%s\" (%s)", path, FIELD(o));
	} else if (e == EPERM) {
		bind_device(o, parent.fd, name);
	} else if (e != EEXIST) {
		bail(e, "rootfs: mknod \"%s\" (%s)", path, FIELD(o));
	}
	target_close(&parent);
}

static void op_devlinks(const struct op *o)
{
	char err[PATH_MAX + 64];
	struct target dev;
	if (resolve(ci.rootfd, "/dev", C_DIR, 0755, &dev, err, sizeof(err)) < 0)
		bail(errno, "rootfs: mkdir \"/dev\" in rootfs: %s", err);
	static const char *links[][2] = {
		{ "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" },
		{ "/proc/kcore", "core" },
	};
	int n = (o->n[2] & B_KCORE) ? 5 : 4;
	for (int i = 0; i < n; i++)
		if (symlinkat(links[i][0], dev.fd, links[i][1]) < 0 && errno != EEXIST)
			bail(errno, "rootfs: symlink /dev/%s -> %s", links[i][1], links[i][0]);
	if (o->n[2] & B_DEVPTS) {
		if (unlinkat(dev.fd, "ptmx", 0) < 0 && errno != ENOENT)
			bail(errno, "rootfs: remove /dev/ptmx");
		if (symlinkat("pts/ptmx", dev.fd, "ptmx") < 0)
			bail(errno, "rootfs: symlink /dev/ptmx -> pts/ptmx");
	}
	target_close(&dev);
}

/* --- the switch of root --------------------------------------------------- */

/*
 * open_mount opens path (a mount point of the init's mount table) as an
 * O_PATH descriptor and checks it is the root of the mount the plan named
 * (id): a path that now leads elsewhere is an error, never a mount
 * changed in its place.
 */
static int open_mount(const char *path, uint64_t id, const char *what, const struct op *o)
{
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		bail(errno, "rootfs: open %s \"%s\" (--no-pivot, host %s mount \"%s\")", what, path, o->s[1], o->s[0]);
	uint64_t got;
	int is_root;
	if (mount_id(fd, &got, &is_root) < 0)
		bail(errno, "rootfs: statx %s \"%s\" (--no-pivot)", what, path);
	if (got != id || !is_root)
		bail(0, "rootfs: %s \"%s\" is no longer mount %llu of the host's mount table (--no-pivot, host %s mount \"%s\")",
		     what, path, (unsigned long long)id, o->s[1], o->s[0]);
	return fd;
}

/*
 * op_detach takes one host proc or sysfs mount away before --no-pivot's
 * move (rootfs/nopivot.go says why, lists them deepest first and says how
 * for each): its parent (n1, at s2) made a slave (alone) and the mount (n0,
 * at s0) rslave, so that nothing can propagate to the host, each checked
 * to be the mount the plan named and reached through its descriptor; then
 * the mount detached, or covered by a read-only tmpfs where it is locked
 * (B_COVER; B_COVER_EINVAL: where the unmount says EINVAL).
 */
static void op_detach(const struct op *o)
{
	const char *p = o->s[0], *fs = o->s[1], *parent = o->s[2];
	char b[32];
	if (o->n[1] != 0) {
		int pfd = open_mount(parent, o->n[1], "its parent mount", o);
		if (mount("", procfd(pfd, b), NULL, MS_SLAVE, NULL) < 0)
			bail(errno, "rootfs: make \"%s\", under host %s mount \"%s\", a slave (--no-pivot)", parent, fs, p);
		close(pfd);
	}
	int fd = open_mount(p, o->n[0], "mount point", o);
	if (mount("", procfd(fd, b), NULL, MS_SLAVE | MS_REC, NULL) < 0)
		bail(errno, "rootfs: make host %s mount \"%s\" rslave (--no-pivot)", fs, p);
	if (!(o->n[2] & B_COVER)) {
		if (umount2(procfd(fd, b), MNT_DETACH) == 0) {
			close(fd);
			return;
		}
		if (!(o->n[2] & B_COVER_EINVAL) || errno != EINVAL)
			bail(errno, "rootfs: detach host %s mount \"%s\" (--no-pivot)", fs, p);
	}
	if (mount("tmpfs", procfd(fd, b), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		bail(errno, "rootfs: cover host %s mount \"%s\" with a tmpfs (--no-pivot)", fs, p);
	close(fd);
}

static void op_pivot(const struct op *o)
{
	const char *rootfs = o->s[0];
	close(ci.rootfd);
	if (o->n[2] & B_NOPIVOT) {
		if (chdir(rootfs) < 0)
			bail(errno, "rootfs: chdir \"%s\"", rootfs);
		if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
			bail(errno, "rootfs: move mount \"%s\" to /", rootfs);
		if (chroot(".") < 0)
			bail(errno, "rootfs: chroot \"%s\"", rootfs);
	} else {
		int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (oldroot < 0)
			bail(errno, "rootfs: open old root");
		int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (newroot < 0)
			bail(errno, "rootfs: open new root \"%s\"", rootfs);
		if (fchdir(newroot) < 0)
			bail(errno, "rootfs: chdir \"%s\"", rootfs);
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			bail(errno, "rootfs: pivot_root \"%s\"", rootfs);
		if (fchdir(oldroot) < 0)
			bail(errno, "rootfs: chdir to old root");
		if (mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			bail(errno, "rootfs: make old root rslave");
		if (umount2(".", MNT_DETACH) < 0)
			bail(errno, "rootfs: unmount old root");
		close(oldroot);
		close(newroot);
	}
	at_new_root();
}

/* --- process.terminal (libcontainer/cinit.go consoleOp) ------------------- */

/*
 * mount_console binds the slave over
 * /dev/console, which is made as an empty file when missing and refused
 * when it is anything but a file or a device node: a symlink the rootfs or
 * a hook planted must not redirect the bind (CVE-2025-52565). The slave is
 * the fd from the master, never looked up again by its /dev/pts path.
 */
static void mount_console(const struct op *o, int slave, const char *name)
{
	char err[PATH_MAX + 64], b1[32], b2[32];
	const char *path = o->s[1];
	struct target dev;
	if (resolve(ci.rootfd, "/dev", C_DIR, 0755, &dev, err, sizeof(err)) < 0)
		bail(errno, "process.terminal: mkdir \"/dev\": %s", err);
	int f = openat(dev.fd, "console", O_CREAT | O_EXCL | O_NOFOLLOW | O_RDONLY | O_CLOEXEC, 0666);
	if (f >= 0)
		close(f);
	else if (errno != EEXIST)
		bail(errno, "process.terminal: create %s", path);
	int console = openat(dev.fd, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (console < 0)
		bail(errno, "process.terminal: open %s", path);
	struct stat st;
	if (fstat(console, &st) < 0)
		bail(errno, "process.terminal: stat %s", path);
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		bail(0, "process.terminal: %s is neither a file nor a device node (a symlink?), refusing to mount over it", path);
	if (mount(procfd(slave, b1), procfd(console, b2), NULL, MS_BIND, NULL) < 0)
		bail(errno, "process.terminal: bind mount \"%s\" on %s", name, path);
	close(console);
	target_close(&dev);
}

/*
 * op_console makes the container's terminal where runc does, right
 * after the pivot (the container's /dev/pts is mounted), before the
 * finalize steps: a new pty from the container's ptmx (s0, resolved inside
 * the root like any path here and opened through the init's own procfs),
 * the slave readied (cexec.c berth_pty_slave), bound over /dev/console
 * (s1; "" without a mount namespace, where nothing is bound), then made the controlling terminal and stdio and the master
 * sent to the console socket (berth_pty_handoff).
 */
static void op_console(const struct op *o)
{
	char err[PATH_MAX + 64], b[32], name[32];
	struct target t;
	if (resolve(ci.rootfd, o->s[0], C_NONE, 0, &t, err, sizeof(err)) < 0)
		bail(errno, "process.terminal: open \"%s\": %s", o->s[0], err);
	int master = openat(ci.proc, procfd(t.fd, b), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		bail(errno, "process.terminal: open \"%s\"", o->s[0]);
	target_close(&t);
	int slave = berth_pty_slave(master, (uint32_t)o->n[1], (uint32_t)o->n[3], (uint32_t)o->n[4], (o->n[2] & B_RELAY) != 0,
				    name, sizeof(name));
	if (o->s[1][0] != '\0')
		mount_console(o, slave, name);
	berth_pty_handoff(master, slave, (int)o->n[0]);
}

/* --- after the pivot (libcontainer/cinit.go, rootfs PlanFinalize) --------- */

static void op_loopback(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		bail(errno, "loopback: socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		bail(errno, "loopback: SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		bail(errno, "loopback: SIOCSIFFLAGS lo up");
	close(fd);
}

static int open_dev_null(char *err, size_t errlen)
{
	struct target t;
	if (resolve(ci.rootfd, "/dev/null", C_NONE, 0, &t, err, errlen) < 0) {
		/* "open /dev/null: " goes in front of what resolve said. */
		size_t l = strnlen(err, errlen - 1);
		static const char pre[] = "open /dev/null: ";
		if (l + sizeof(pre) > errlen)
			l = errlen - sizeof(pre);
		memmove(err + sizeof(pre) - 1, err, l);
		memcpy(err, pre, sizeof(pre) - 1);
		err[l + sizeof(pre) - 1] = '\0';
		return -1;
	}
	int fd = t.fd;
	t.fd = -1;
	target_close(&t);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		snprintf(err, errlen, "fstat /dev/null");
		return -1;
	}
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
		close(fd);
		snprintf(err, errlen, "/dev/null in the container is not the null device (char 1:3), refusing to mask with it");
		errno = 0;
		return -1;
	}
	return fd;
}

static void op_mask(const struct op *o)
{
	char err[PATH_MAX + 128], b1[32], b2[32];
	const char *p = o->s[0];
	struct target t;
	if (resolve(ci.rootfd, p, C_NONE, 0, &t, err, sizeof(err)) < 0) {
		if (errno == ENOENT)
			return;
		bail(errno, "rootfs: mask \"%s\" (%s): %s", p, FIELD(o), err);
	}
	if (t.parent < 0)
		bail(0, "rootfs: mask \"%s\" (%s): resolves to the container's root, which cannot be covered", p, FIELD(o));
	struct stat st;
	if (fstat(t.fd, &st) < 0)
		bail(errno, "rootfs: mask \"%s\" (%s): fstat", p, FIELD(o));
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", procfd(t.fd, b1), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  o->s[3][0] ? o->s[3] : NULL) < 0)
			bail(errno, "rootfs: mask \"%s\" (%s): mount tmpfs", p, FIELD(o));
	} else {
		if (ci.nullfd < 0 && (ci.nullfd = open_dev_null(err, sizeof(err))) < 0)
			bail(errno, "rootfs: mask \"%s\" (%s): %s", p, FIELD(o), err);
		if (mount(procfd(ci.nullfd, b1), procfd(t.fd, b2), NULL, MS_BIND, NULL) < 0)
			bail(errno, "rootfs: mask \"%s\" (%s): bind mount /dev/null", p, FIELD(o));
	}
	target_close(&t);
}

static void op_readonly(const struct op *o)
{
	char err[PATH_MAX + 128], b[32];
	const char *p = o->s[0];
	struct target t;
	if (resolve(ci.rootfd, p, C_NONE, 0, &t, err, sizeof(err)) < 0) {
		if (errno == ENOENT)
			return;
		bail(errno, "rootfs: make \"%s\" read-only (%s): %s", p, FIELD(o), err);
	}
	if (t.parent < 0)
		bail(0, "rootfs: make \"%s\" read-only (%s): resolves to the container's root (use root.readonly)", p, FIELD(o));
	if (mount(procfd(t.fd, b), procfd(t.fd, b), NULL, MS_BIND | MS_REC, NULL) < 0)
		bail(errno, "rootfs: make \"%s\" read-only (%s): bind mount", p, FIELD(o));
	int mnt = reopen_mount(&t, err, sizeof(err));
	if (mnt < 0)
		bail(errno, "rootfs: make \"%s\" read-only (%s): %s", p, FIELD(o), err);
	struct statfs st;
	if (fstatfs(mnt, &st) < 0)
		bail(errno, "rootfs: make \"%s\" read-only (%s): statfs", p, FIELD(o));
	unsigned long flags = (st_to_ms((unsigned long)st.f_flags) & ci.p->lockable) | MS_RDONLY;
	if (remount_bind(mnt, flags, 0) < 0)
		bail(errno, "rootfs: make \"%s\" read-only (%s): remount read-only", p, FIELD(o));
	close(mnt);
	target_close(&t);
}

static void op_root_ro(void)
{
	struct statfs st;
	if (statfs("/", &st) < 0)
		bail(errno, "rootfs: remount / read-only (root.readonly): statfs");
	unsigned long flags = (st_to_ms((unsigned long)st.f_flags) & ci.p->lockable) | MS_RDONLY;
	if (mount("", "/", NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
		bail(errno, "rootfs: remount / read-only (root.readonly)");
}

/*
 * op_sysctl writes one linux.sysctl through a fresh writable procfs
 * (procfs.c), opened for the first of a run of them and closed after the
 * last (berth_init_in_c): neither the rootfs's /proc nor a mount over one
 * of its files can take the write elsewhere.
 */
static void op_sysctl(const struct op *o)
{
	char err[PATH_MAX + 256];
	int fresh = ci.wproc < 0;
	if (berth_sysctl_write(&ci.wproc, o->s[0], o->s[1], o->s[2], err, sizeof(err)) < 0) {
		/* No procfs at all: a failure of no one key. */
		if (fresh && ci.wproc < 0)
			bail(0, "linux.sysctl: %s", err);
		bail(0, "%s: %s", FIELD(o), err);
	}
}

/*
 * start_hooks runs the startContainer hooks (ops from..nops, all
 * OP_STARTHOOK: the parser checked) once `berth start` opened the fifo; a
 * failure goes to start through the fifo (berth_fail).
 */
static void start_hooks(const struct plan *p, uint32_t from)
{
	static char msg[16384];
	for (uint32_t i = from; i < p->nops; i++) {
		const struct op *o = &p->ops[i];
		if (berth_run_hook(o, (o->n[2] & B_PROCENV) ? p->x.envp : o->v[1], msg, sizeof(msg)) < 0)
			berth_fail(msg);
	}
}

static void run_op(const struct op *o)
{
	switch (o->code) {
	case OP_SETSID:
		/* A session leader: a terminal could become its controlling tty. */
		if (setsid() < 0)
			bail(errno, "setsid");
		break;
	case OP_PREPARE:
		op_prepare(o);
		break;
	case OP_FRESH:
		op_fresh(o);
		break;
	case OP_BIND:
		op_bind(o);
		break;
	case OP_REMOUNT:
		op_remount(o);
		break;
	case OP_CGROUP1:
		op_cgroup1(o);
		break;
	case OP_CGHIER:
		if (ci.cgmnt < 0)
			bail(0, "init: cgroup hierarchy before its tmpfs");
		op_cghier(o);
		break;
	case OP_CGDONE:
		if (ci.cgmnt < 0)
			bail(0, "init: cgroup hierarchies closed before their tmpfs");
		op_cgdone(o);
		break;
	case OP_CGROUP2:
		op_cgroup2(o);
		break;
	case OP_DEVICE:
	case OP_DEVLINKS: {
		/* Modes come out exactly as asked, directories included, as in setupDev. */
		mode_t old = umask(0);
		if (o->code == OP_DEVICE)
			op_device(o);
		else
			op_devlinks(o);
		umask(old);
		break;
	}
	case OP_HOOKS: {
		send_tag(SYNC_HOOKS);
		uint32_t ack;
		/* A failure there is the parent's to report; it kills this process. */
		if (read_all(berth_sync_fd, &ack, 4) < 0 || ack != SYNC_HOOKS_ACK)
			_exit(1);
		break;
	}
	case OP_DETACH:
		op_detach(o);
		break;
	case OP_HOSTBIND:
		/* Done, if at all, by the OP_FRESH before it. */
		break;
	case OP_PIVOT:
		op_pivot(o);
		break;
	case OP_ROOTPROP:
		if (mount("", "/", NULL, (unsigned long)o->n[0], NULL) < 0)
			bail(errno, "rootfs: set propagation of the container's / (linux.rootfsPropagation \"%s\")", o->s[4]);
		break;
	case OP_LOOPBACK:
		op_loopback();
		break;
	case OP_HOSTNAME:
		if (sethostname(o->s[0], strlen(o->s[0])) < 0)
			bail(errno, "sethostname \"%s\" (spec hostname)", o->s[0]);
		break;
	case OP_DOMAINNAME:
		if (setdomainname(o->s[0], strlen(o->s[0])) < 0)
			bail(errno, "setdomainname \"%s\" (spec domainname)", o->s[0]);
		break;
	case OP_MASK:
		op_mask(o);
		break;
	case OP_READONLY:
		op_readonly(o);
		break;
	case OP_ROOT_RO:
		op_root_ro();
		break;
	case OP_KEYRING:
		/* A keyring of its own keeps the container out of the caller's session keyring. */
		if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, o->s[0]) < 0 && errno != ENOSYS)
			bail(errno, "join session keyring");
		break;
	case OP_MARK:
		mark(o->s[0]);
		break;
	case OP_SYSCTL:
		op_sysctl(o);
		break;
	case OP_MOUNTLABEL:
		ci.mount_label = o->s[0];
		break;
	case OP_HOOK: {
		/* createContainer: in the container's namespaces, before pivot_root (B_PROCENV is for start hooks). */
		static char msg[16384];
		if (berth_run_hook(o, o->v[1], msg, sizeof(msg)) < 0)
			berth_fail(msg);
		break;
	}
	case OP_CHROOT:
		op_chroot(o);
		break;
	case OP_PRIVATE:
		op_private(o);
		break;
	case OP_OVERLAY:
		berth_op_overlay(o);
		break;
	case OP_ROOTBIND:
		op_rootbind(o);
		break;
	case OP_CONSOLE:
		op_console(o);
		break;
	case OP_IDMAPFD:
		berth_idmap_take(o);
		break;
	default:
		bail(0, "init: unknown plan operation %u", o->code);
	}
}

void berth_init_in_c(void)
{
	uint32_t len;
	if (read_all(berth_sync_fd, &len, 4) < 0)
		bail(errno, "init: read plan length");
	if (len > 16 << 20)
		bail(0, "init: plan of %u bytes is too large", len);
	char *buf = malloc(len ? len : 1);
	if (buf == NULL)
		bail(ENOMEM, "init: plan buffer");
	if (read_all(berth_sync_fd, buf, len) < 0)
		bail(errno, "init: read plan");
	static struct plan p;
	if (berth_parse_plan(buf, len, &p) < 0)
		bail(0, "init: malformed plan");
	ci.p = &p;
	mark("plan received");
	open_proc();
	uint32_t i = 0;
	for (; i < p.nops && p.ops[i].code != OP_STARTHOOK; i++) {
		if (ci.wproc >= 0 && p.ops[i].code != OP_SYSCTL) {
			close(ci.wproc);
			ci.wproc = -1;
		}
		run_op(&p.ops[i]);
	}
	if (ci.wproc >= 0)
		close(ci.wproc);
	if (ci.nullfd >= 0)
		close(ci.nullfd);
	if (ci.rootfd >= 0)
		close(ci.rootfd);
	/* Out of the procfs: process.cwd is taken from the root. */
	if (chdir("/") < 0)
		bail(errno, "init: chdir /");
	int keep[] = { berth_sync_fd, (int)p.fifo_fd, ci.proc };
	berth_own_procfs = ci.proc;
	char *path = berth_exec_prepare(&p.x, keep, 3);
	berth_own_procfs = -1;
	mark("process prepared");
	send_tag(SYNC_READY);
	close(berth_sync_fd);
	berth_sync_fd = -1;

	/* Blocks until `berth start` opens the fifo for reading. */
	char b[32];
	int fifo = openat(ci.proc, procfd((int)p.fifo_fd, b), O_WRONLY | O_CLOEXEC);
	if (fifo < 0)
		bail(errno, "open exec fifo");
	/* From here on a failure is start's to report (bail writes it there). */
	berth_fifo_fd = fifo;
	close((int)p.fifo_fd);
	close(ci.proc);
	/* As the process (its user, capabilities, seccomp), before RLIMIT_AS and RLIMIT_DATA. */
	start_hooks(&p, i);
	/*
	 * After everything berth itself runs in the container, the
	 * startContainer hooks included (they must not run under the
	 * container's label): the label is the workload's.
	 */
	char err[512];
	if (berth_lsm_apply(&p.x, err, sizeof(err)) < 0)
		berth_fail(err);
	berth_exec_final_limits(&p.x);
	berth_proc_attrs(&p.x, PH_FINAL);
	if (write_all(fifo, "0", 1) < 0)
		bail(errno, "write exec fifo");
	/* The fifo stays open: close-on-exec tells start that the exec happened. */
	execve(path, p.x.argv, p.x.envp);
	/* After the "0": start reads "01" and the message. */
	int e = errno;
	char msg[PATH_MAX + 128];
	int n = snprintf(msg, sizeof(msg), "exec \"%s\" (process.args[0]): %s", p.x.argv[0], berth_strerror(e));
	berth_report(msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	_exit(127);
}
