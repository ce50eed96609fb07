/*
 * cmount: the init's overlay rootfs (OP_OVERLAY; rootfs/overlay.go decides
 * it) and tmpcopyup (OP_FRESH with B_COPYUP). The parent checked the annotation, the bundle's
 * upper and work directories and chose between the mount API (Linux 6.8's
 * "lowerdir+") and mount(2)'s option string, which it also wrote.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bootstrap.h"

#ifndef SYS_fsopen
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_copy_file_range
#define SYS_copy_file_range 326
#endif
#define FSOPEN_CLOEXEC_ 1
#define FSCONFIG_SET_STRING_ 1
#define FSCONFIG_CMD_CREATE_ 6
#define FSMOUNT_CLOEXEC_ 1
#define MOVE_MOUNT_F_EMPTY_PATH_ 4

#define MOVE_MOUNT_T_EMPTY_PATH_ 0x40

/* --- idmapped bind mounts (OP_IDMAPFD, OP_BIND with B_IDMAP) --------------- */

static int idmap_fd = -1;

void berth_idmap_take(const struct op *o)
{
	idmap_fd = (int)o->n[0];
}

int berth_idmap_source(void)
{
	int fd = idmap_fd;
	idmap_fd = -1;
	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return fd;
}

int berth_idmap_move(int mnt, int target)
{
	return (int)syscall(SYS_move_mount, mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH_ | MOVE_MOUNT_T_EMPTY_PATH_);
}

/* --- overlay rootfs -------------------------------------------------------- */

/*
 * fs_log is what the filesystem said about a failed fsconfig (rootfs.fsLog):
 * " (msg; msg)", or "" when it said nothing.
 */
static void fs_log(int fsfd, char *out, size_t size)
{
	size_t w = 0;
	char buf[1024];
	out[0] = '\0';
	for (int i = 0; i < 8; i++) {
		ssize_t n = read(fsfd, buf, sizeof(buf));
		if (n <= 0)
			break;
		size_t a = 0, b = (size_t)n;
		while (a < b && (buf[a] == ' ' || (buf[a] >= '\t' && buf[a] <= '\r')))
			a++;
		while (b > a && (buf[b - 1] == ' ' || (buf[b - 1] >= '\t' && buf[b - 1] <= '\r')))
			b--;
		int k = snprintf(out + w, size - w, "%s%.*s", w ? "; " : " (", (int)(b - a), buf + a);
		w = k < 0 || (size_t)k >= size - w ? size - 1 : w + (size_t)k;
	}
	if (w > 0 && w + 2 <= size) {
		out[w] = ')';
		out[w + 1] = '\0';
	}
}

#define FIELD(o) ((o)->s[4])

void berth_op_overlay(const struct op *o)
{
	const char *target = o->s[0];
	if (o->s[3][0] != '\0') {
		/* Before Linux 6.8: one option string, made by the parent. */
		if (mount("overlay", target, "overlay", 0, o->s[3]) < 0)
			bail(errno, "rootfs: %s: mount overlay on \"%s\" (%llu lower dirs)", FIELD(o), target,
			     (unsigned long long)o->n[0]);
		return;
	}
	char log[2048];
	int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC_);
	if (fs < 0)
		bail(errno, "rootfs: %s: fsopen overlay", FIELD(o));
	for (char **l = o->v[0]; *l != NULL; l++) {
		if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING_, "lowerdir+", *l, 0) < 0) {
			int e = errno;
			fs_log(fs, log, sizeof(log));
			bail(0, "rootfs: %s: overlay lowerdir+ \"%s\": %s%s", FIELD(o), *l, berth_strerror(e), log);
		}
	}
	const char *keys[2] = { "upperdir", "workdir" }, *vals[2] = { o->s[1], o->s[2] };
	for (int i = 0; i < 2; i++) {
		if (vals[i][0] == '\0')
			continue;
		if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING_, keys[i], vals[i], 0) < 0) {
			int e = errno;
			fs_log(fs, log, sizeof(log));
			bail(0, "rootfs: %s: overlay %s \"%s\": %s%s", FIELD(o), keys[i], vals[i], berth_strerror(e), log);
		}
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE_, NULL, NULL, 0) < 0) {
		int e = errno;
		fs_log(fs, log, sizeof(log));
		bail(0, "rootfs: %s: create overlay of %llu lower dirs: %s%s", FIELD(o), (unsigned long long)o->n[0],
		     berth_strerror(e), log);
	}
	int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC_, 0);
	if (mnt < 0)
		bail(errno, "rootfs: %s: fsmount overlay", FIELD(o));
	close(fs);
	if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH_) < 0)
		bail(errno, "rootfs: %s: move_mount overlay onto \"%s\"", FIELD(o), target);
	close(mnt);
}

/* --- tmpcopyup ------------------------------------------------------------- */

/*
 * Deep enough for any image, and within the stack: each level holds two
 * descriptors and one small frame.
 */
#define MAXCOPYDEPTH 1024 /* ~4.3 KB of stack a level: well inside 8 MB */

/* copy_attrs gives fd the owner, then the mode of st (chown clears set-id bits). */
static int copy_attrs(int fd, const struct stat *st)
{
	char b[32];
	/* fchown/fchmod refuse O_PATH descriptors; the init's own procfs (the working directory) reaches the inode. */
	snprintf(b, sizeof(b), "self/fd/%d", fd);
	if (chown(b, st->st_uid, st->st_gid) < 0)
		return -1;
	return chmod(b, st->st_mode & 07777);
}

/* prepend makes err "name: err" ("name" when err is empty), cut to fit. */
static void prepend(char *err, size_t errlen, const char *name)
{
	size_t el = strnlen(err, errlen - 1), nl = strlen(name) + (el ? 2 : 0);
	if (nl >= errlen)
		return;
	if (el + nl >= errlen)
		el = errlen - 1 - nl;
	memmove(err + nl, err, el);
	memcpy(err, name, strlen(name));
	if (el)
		memcpy(err + nl - 2, ": ", 2);
	err[nl + el] = '\0';
}

static int copy_dir(int src, int dst, int depth, char *err, size_t errlen);

static int copy_file(int src, int dst, const char *name, const struct stat *st)
{
	/* Non-blocking, and checked to be the file stat saw: another container
	 * on the volume may swap in a FIFO (a hang) or a device meanwhile. */
	int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (in < 0)
		return -1;
	struct stat ist;
	if (fstat(in, &ist) < 0 || !S_ISREG(ist.st_mode) || ist.st_dev != st->st_dev || ist.st_ino != st->st_ino) {
		close(in);
		errno = ESTALE;
		return -1;
	}
	int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		int e = errno;
		close(in);
		errno = e;
		return -1;
	}
	int r = 0, fallback = 0;
	for (;;) {
		ssize_t n = fallback ? 0 : syscall(SYS_copy_file_range, in, NULL, out, NULL, (size_t)1 << 30, 0);
		if (!fallback && n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
			fallback = 1;
			continue;
		}
		if (fallback) {
			char buf[65536];
			n = read(in, buf, sizeof(buf));
			if (n > 0 && write_all(out, buf, (size_t)n) < 0)
				n = -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -1 : 0;
			break;
		}
	}
	if (r == 0 && fchown(out, st->st_uid, st->st_gid) < 0)
		r = -1;
	if (r == 0 && fchmod(out, st->st_mode & 07777) < 0)
		r = -1;
	int e = errno;
	close(in);
	close(out);
	errno = e;
	return r;
}

/*
 * copy_entry makes one name of src again in dst, nothing followed:
 * directories, regular files, symlinks, FIFOs and sockets; a device node
 * fails the copy.
 */
static int copy_entry(int src, int dst, const char *name, int depth, char *err, size_t errlen)
{
	struct stat st;
	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR: {
		if (mkdirat(dst, name, 0700) < 0 && errno != EEXIST)
			return -1;
		int s = openat(src, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		if (s < 0)
			return -1;
		int d = openat(dst, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		if (d < 0) {
			int e = errno;
			close(s);
			errno = e;
			return -1;
		}
		int r = copy_dir(s, d, depth + 1, err, errlen);
		if (r == 0 && copy_attrs(d, &st) < 0)
			r = -1;
		int e = errno;
		close(s);
		close(d);
		errno = e;
		return r;
	}
	case S_IFREG:
		return copy_file(src, dst, name, &st);
	case S_IFLNK: {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
		if (n < 0)
			return -1;
		target[n] = '\0';
		if (symlinkat(target, dst, name) < 0)
			return -1;
		return fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
	}
	case S_IFCHR:
	case S_IFBLK:
		/*
		 * Never made again: the covered directory may be on a nodev
		 * mount (a volume), where the node opens nothing, and the tmpfs
		 * is not; devices come from linux.devices alone.
		 */
		snprintf(err, errlen, "a device node (%u:%u), which tmpcopyup does not copy: devices come from linux.devices",
			 major(st.st_rdev), minor(st.st_rdev));
		errno = EPERM;
		return -1;
	default: /* FIFOs and sockets */
		if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0)
			return -1;
		return fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
	}
}

/* copy_dir copies a directory's contents: the names are read first, then copied one by one. */
static int copy_dir(int src, int dst, int depth, char *err, size_t errlen)
{
	if (depth > MAXCOPYDEPTH) {
		errno = ELOOP;
		return -1;
	}
	int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	char *names = NULL;
	size_t used = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		size_t l = strlen(de->d_name) + 1;
		if (used + l > cap) {
			cap = (cap + l) * 2;
			char *nn = realloc(names, cap);
			if (nn == NULL) {
				free(names);
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			names = nn;
		}
		memcpy(names + used, de->d_name, l);
		used += l;
		errno = 0;
	}
	int e = errno;
	closedir(d);
	if (e != 0) {
		free(names);
		errno = e;
		return -1;
	}
	for (size_t off = 0; off < used; off += strlen(names + off) + 1) {
		const char *name = names + off;
		err[0] = '\0';
		if (copy_entry(src, dst, name, depth, err, errlen) < 0) {
			e = errno;
			prepend(err, errlen, name);
			free(names);
			errno = e;
			return -1;
		}
	}
	free(names);
	return 0;
}

int berth_copy_up(int src, int dst, char *err, size_t errlen)
{
	struct stat st;
	err[0] = '\0';
	if (fstat(src, &st) < 0 || copy_attrs(dst, &st) < 0)
		return -1;
	return copy_dir(src, dst, 0, err, errlen);
}
