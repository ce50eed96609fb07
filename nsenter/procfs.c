/*
 * procfs: the executor's writes to procfs files it must not be fooled
 * into writing elsewhere: linux.sysctl (cinit.c OP_SYSCTL) and the LSM
 * exec attributes of process.apparmorProfile and process.selinuxLabel
 * (cexec.c, create and exec). The package doc of libcontainer/lsm says why
 * (CVE-2025-52881).
 *
 * The procfs is a fresh instance (fsopen, no subset, writable), mounted
 * nowhere, so no mount of the container can cover one of its files; the
 * init's own procfs (cinit.c open_proc) will not do, being read-only and
 * pid-only. Where the kernel refuses a new instance (a user namespace whose
 * /proc is partly covered is "too revealing" for one) it is /proc, checked
 * to be the root of a procfs. Below it every file is opened with openat2
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV
 * (neither a symlink nor a bind mount over the file is followed: EXDEV)
 * and checked to be on procfs again before the write. A thread's
 * attributes are named <pid>/task/<tid>/attr/..., never thread-self, a
 * symlink.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bootstrap.h"

#ifndef SYS_fsopen
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define FSOPEN_CLOEXEC_ 1
#define FSCONFIG_CMD_CREATE_ 6
#define FSMOUNT_CLOEXEC_ 1
#define MOUNT_ATTR_NOSUID_ 0x2
#define MOUNT_ATTR_NODEV_ 0x4
#define MOUNT_ATTR_NOEXEC_ 0x8
#define RESOLVE_NO_XDEV_ 0x01
#define RESOLVE_NO_MAGICLINKS_ 0x02
#define RESOLVE_NO_SYMLINKS_ 0x04
#define RESOLVE_BENEATH_ 0x08
#define PROC_SUPER_MAGIC_ 0x9fa0
#define PROC_ROOT_INO_ 1

/* fresh_procfs: a new procfs instance, detached. */
static int fresh_procfs(char *err, size_t errlen)
{
	int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC_);
	if (fs < 0) {
		snprintf(err, errlen, "fsopen proc: %s", berth_strerror(errno));
		return -1;
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE_, NULL, NULL, 0) < 0) {
		snprintf(err, errlen, "fsconfig create proc: %s", berth_strerror(errno));
		close(fs);
		return -1;
	}
	int fd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC_, MOUNT_ATTR_NOSUID_ | MOUNT_ATTR_NODEV_ | MOUNT_ATTR_NOEXEC_);
	if (fd < 0)
		snprintf(err, errlen, "fsmount proc: %s", berth_strerror(errno));
	close(fs);
	return fd;
}

/* not_procfs says why fd is not on procfs, or returns 0. */
static int not_procfs(int fd, char *err, size_t errlen)
{
	struct statfs fs;
	if (fstatfs(fd, &fs) < 0) {
		snprintf(err, errlen, "fstatfs: %s", berth_strerror(errno));
		return -1;
	}
	if (fs.f_type != PROC_SUPER_MAGIC_) {
		snprintf(err, errlen, "not on procfs (filesystem type %#lx): refusing to write", (unsigned long)fs.f_type);
		return -1;
	}
	return 0;
}

int berth_open_procfs(char *err, size_t errlen)
{
	char ferr[256];
	int fd = fresh_procfs(ferr, sizeof(ferr));
	if (fd >= 0)
		return fd;
	fd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "open /proc: %s (and a private procfs failed: %s)", berth_strerror(errno), ferr);
		return -1;
	}
	char why[128];
	struct stat st;
	if (not_procfs(fd, why, sizeof(why)) == 0) {
		if (fstat(fd, &st) < 0)
			snprintf(why, sizeof(why), "fstat: %s", berth_strerror(errno));
		else if (st.st_ino != PROC_ROOT_INO_)
			snprintf(why, sizeof(why), "not the root of a procfs (inode %llu): refusing to use it",
				 (unsigned long long)st.st_ino);
		else
			return fd;
	}
	close(fd);
	snprintf(err, errlen, "/proc: %s (and a private procfs failed: %s)", why, ferr);
	return -1;
}

int berth_procfs_open(int proc, const char *rel, int flags, char *err, size_t errlen)
{
	struct {
		uint64_t flags, mode, resolve;
	} how = { (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW), 0,
		  RESOLVE_BENEATH_ | RESOLVE_NO_SYMLINKS_ | RESOLVE_NO_MAGICLINKS_ | RESOLVE_NO_XDEV_ };
	int fd = (int)syscall(SYS_openat2, proc, rel, &how, sizeof(how));
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "openat2 /proc/%s: %s%s", rel, berth_strerror(e),
			 e == EXDEV ? " (something is mounted over it)" : "");
		errno = e;
		return -1;
	}
	char why[128];
	if (not_procfs(fd, why, sizeof(why)) < 0) {
		close(fd);
		snprintf(err, errlen, "/proc/%s: %s", rel, why);
		errno = 0;
		return -1;
	}
	return fd;
}

int berth_write_value(int fd, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * thread_attr opens this thread's attribute name for writing, in the LSM's
 * own directory (attr/<dir>/) when dir is set and the kernel has it, else
 * the shared one (attr/); the path goes to path for messages.
 */
static int thread_attr(int proc, const char *dir, const char *name, char *path, size_t pathlen, char *err,
		       size_t errlen)
{
	int pid = (int)getpid(), tid = (int)syscall(SYS_gettid);
	if (dir[0] != '\0') {
		snprintf(path, pathlen, "%d/task/%d/attr/%s/%s", pid, tid, dir, name);
		int fd = berth_procfs_open(proc, path, O_WRONLY, err, errlen);
		if (fd >= 0 || errno != ENOENT)
			return fd;
	}
	snprintf(path, pathlen, "%d/task/%d/attr/%s", pid, tid, name);
	return berth_procfs_open(proc, path, O_WRONLY, err, errlen);
}

/*
 * berth_lsm_prepare opens the exec attribute files of
 * x's LSM fields, while the process is still root and unfiltered, so that
 * the write just before execve needs only write(2) and close(2); an
 * attribute with a test (AppArmor's "permprofile <name>" on attr/current)
 * is tested first, so that a profile that is not loaded fails here and not
 * at start. 0, or -1 with the message in err (what is open stays open for
 * berth_lsm_close).
 */
int berth_lsm_prepare(struct exec_plan *x, char *err, size_t errlen)
{
	char why[512], path[64];
	if (x->nlsm == 0)
		return 0;
	int proc = berth_open_procfs(why, sizeof(why));
	if (proc < 0) {
		snprintf(err, errlen, "%s: %s", x->lsm[0].field, why);
		return -1;
	}
	int ret = -1;
	for (uint32_t i = 0; i < x->nlsm; i++) {
		struct lsm_attr *a = &x->lsm[i];
		if (a->test[0] != '\0') {
			int fd = thread_attr(proc, a->dir, "current", path, sizeof(path), why, sizeof(why));
			if (fd < 0) {
				snprintf(err, errlen, "%s: %s", a->field, why);
				goto out;
			}
			int r = berth_write_value(fd, a->test), e = errno;
			close(fd);
			if (r < 0 && e == ENOENT) {
				snprintf(err, errlen, "%s: %s (write %s to /proc/%s: %s)", a->field, a->missing, a->testq, path,
					 berth_strerror(e));
				goto out;
			}
			if (r < 0) {
				snprintf(err, errlen, "%s: write %s to /proc/%s: %s", a->field, a->testq, path, berth_strerror(e));
				goto out;
			}
		}
		a->fd = thread_attr(proc, a->dir, "exec", a->path, sizeof(a->path), why, sizeof(why));
		if (a->fd < 0) {
			snprintf(err, errlen, "%s: %s", a->field, why);
			goto out;
		}
	}
	ret = 0;
out:
	close(proc);
	return ret;
}

void berth_lsm_close(struct exec_plan *x)
{
	for (uint32_t i = 0; i < x->nlsm; i++) {
		if (x->lsm[i].fd >= 0)
			close(x->lsm[i].fd);
		x->lsm[i].fd = -1;
	}
}

int berth_sysctl_write(int *proc, const char *rel, const char *value, const char *quoted, char *err, size_t errlen)
{
	if (*proc < 0 && (*proc = berth_open_procfs(err, errlen)) < 0)
		return -1;
	int fd = berth_procfs_open(*proc, rel, O_WRONLY, err, errlen);
	if (fd < 0)
		return -1;
	int r = berth_write_value(fd, value), e = errno;
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, "write %s to /proc/%s: %s", quoted, rel, berth_strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

int berth_lsm_apply(struct exec_plan *x, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < x->nlsm; i++) {
		struct lsm_attr *a = &x->lsm[i];
		int r = berth_write_value(a->fd, a->value);
		int e = errno;
		close(a->fd);
		a->fd = -1;
		if (r < 0) {
			snprintf(err, errlen, "%s: write %s to /proc/%s: %s", a->field, a->quoted, a->path, berth_strerror(e));
			return -1;
		}
	}
	return 0;
}
