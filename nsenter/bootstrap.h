/*
 * The parsed bootstrap message (see the protocol at the top of nsenter.c).
 * Shared by the stub and by parse.go, which exposes the parser to Go tests.
 */
#ifndef BERTH_BOOTSTRAP_H
#define BERTH_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#define BT_CLONE_FLAGS 1
#define BT_NS_PATHS 2
#define BT_TIMENS 3
#define BT_EXEC 4 /* berth exec finished in C (cexec.c) */
#define BT_INIT 5 /* the container init finished in C (cinit.c); empty */
#define BT_CGROUP_JOIN 6 /* "file\0...": cgroup v1 tasks files to write "0" to, first thing */
#define BT_ROOT_FD 7 /* u32: an fd of the root to chroot into once joined (exec, no mount namespace) */
#define BT_DUMPABLE 8 /* u32 DUMPABLE_*: an unprivileged parent writes the id maps (the stub is dumpable meanwhile) */
#define DUMPABLE_MAPS 1 /* dumpable while the maps are written */
#define DUMPABLE_KEEP 2 /* and from then on: nothing is joined (a rootless create, as runc leaves it) */

/* Sync tags, stub -> parent unless noted (u32 tag, u32 value). */
#define SYNC_USERMAP 0x40
#define SYNC_USERMAP_ACK 0x41 /* parent -> stub */
#define SYNC_PID 0x42
#define SYNC_ERR 0x43
#define SYNC_HOOKS 0x44 /* cinit: rootfs ready; value: trace bytes that follow */
#define SYNC_HOOKS_ACK 0x45 /* parent -> cinit: limits set, hooks ran */
#define SYNC_READY 0x46 /* cinit: waiting for start; value: trace bytes that follow */
/*
 * SCMP_ACT_NOTIFY: cinit or cexec -> parent, value 0, the seccomp listener
 * attached (SCM_RIGHTS) to the 8 bytes, sent right after seccomp(2) with
 * nothing in between; the parent hands the fd to the agent at
 * linux.seccomp.listenerPath and answers u32 SYNC_SECCOMP_ACK, or reports
 * the failure itself and kills the process (anything else read: exit 1).
 */
#define SYNC_SECCOMP 0x50
#define SYNC_SECCOMP_ACK 0x51 /* parent -> cinit/cexec: the agent has the listener */

#define MAX_BOOTSTRAP (1 << 20)
#define MAX_NS 16

struct bootstrap_ns {
	int flag; /* CLONE_NEW* */
	const char *type; /* "user", "mount", ... (NUL-terminated, inside the buffer) */
	const char *path; /* NUL-terminated, inside the buffer */
};

struct bootstrap {
	uint32_t clone_flags; /* namespaces to create */
	int nr_join;
	struct bootstrap_ns join[MAX_NS]; /* namespaces to join, in message order */
	const char *timens; /* timens_len bytes inside the buffer, or NULL */
	uint32_t timens_len;
	const char *exec; /* exec_len bytes inside the buffer, or NULL */
	uint32_t exec_len;
	int cinit; /* BT_INIT seen: the init plan follows SYNC_PID */
	const char *cgroup_join; /* cgroup_join_len bytes of NUL-terminated paths, or NULL */
	uint32_t cgroup_join_len;
	int root_fd; /* BT_ROOT_FD, or -1 */
	uint32_t dumpable; /* BT_DUMPABLE, or 0 */
};

/*
 * An LSM exec attribute (process.apparmorProfile, process.selinuxLabel):
 * value is written to this thread's attr/<dir>/exec (attr/exec when dir is
 * "" or the kernel has no attr/<dir>) just before execve. When the file is
 * opened, test (unless "") is written to attr/<dir>/current first
 * (AppArmor's "permprofile <name>": is such a profile loaded). The rest is
 * for messages, made in Go: field names the spec field and its value;
 * quoted and testq are value and test's command as quoted there; missing
 * says what ENOENT from the test means.
 */
struct lsm_attr {
	const char *dir, *value, *quoted, *test, *testq, *missing, *field;
	int fd; /* the opened exec attribute, or -1 */
	char path[64]; /* its path below the procfs root */
};
#define CX_MAX_LSM 2

/*
 * A process attribute (cproc.c): one syscall with numbers the parent
 * worked out, made in a phase of the exec; msg, made in Go, names the spec
 * field and the call for the error.
 */
struct proc_attr {
	uint32_t kind; /* PA_* */
	uint32_t phase; /* PH_* */
	uint32_t nwords;
	const char *words; /* nwords x u64, unaligned */
	const char *msg;
};
#define CX_MAX_ATTR 8
#define CX_MAX_ATTR_WORDS 1024
enum {
	PA_SCHED = 1, /* sched_setattr: policy, flags, nice, priority, runtime, deadline, period */
	PA_IOPRIO, /* ioprio_set(IOPRIO_WHO_PROCESS, 0, w0) */
	PA_AFFINITY, /* sched_setaffinity(0, mask of nwords words) */
	PA_PERSONALITY, /* personality(w0) */
	PA_MEMPOLICY, /* set_mempolicy(w0 mode|flags, nodemask w2.., maxnode w1) */
	PA_MAX
};
enum {
	/* 1 unused: the initial CPU affinity is set by the parent, before the cgroup */
	PH_PREPARE = 2, /* in berth_exec_prepare, before the user switch and seccomp */
	PH_FINAL, /* just before execve */
};

/* The BT_EXEC payload (layout in cexec.c). */
#define CX_NNP 1 /* process.noNewPrivileges */
#define CX_UMASK 2 /* process.user.umask given */
#define CX_CAPS 4 /* process.capabilities given */
#define CX_RELAY 8 /* berth relays the terminal itself (exec -t without --console-socket) */
#define CX_NOGROUPS 16 /* setgroups is denied in the user namespace: the groups stay as they are */

struct exec_plan {
	uint32_t flags, uid, gid, umask, preserve_fds, last_cap, ngroups;
	const void *groups; /* ngroups x u32 */
	uint64_t caps[5]; /* bounding, effective, permitted, inheritable, ambient */
	uint32_t nrlimits;
	const char *rlimits; /* nrlimits x 24 bytes */
	uint32_t seccomp_flags, nfilters;
	const void *filters; /* nfilters x struct sock_filter */
	const char *cwd, *path;
	char **argv, **envp; /* malloc'ed arrays into the buffer; envp has a spare slot */
	uint32_t console_fd; /* the console socket (process.terminal), or CX_NO_CONSOLE */
	uint32_t rows, cols; /* process.consoleSize, 0 0 when not given */
	uint32_t nlsm;
	struct lsm_attr lsm[CX_MAX_LSM]; /* exec attributes written just before execve */
	uint32_t nattr;
	struct proc_attr attr[CX_MAX_ATTR]; /* process attributes (cproc.c) */
};

#define CX_NO_CONSOLE 0xffffffffu

/* The operations of the init plan (layout at the top of cinit.c). */
enum {
	OP_PREPARE = 1, /* n0 propagation of /; s0 rootfs; s4 linux.rootfsPropagation value */
	OP_FRESH, /* n0 flags; n2 bits; n3-5 mount_attr; s0-3; a new filesystem */
	OP_BIND, /* n0 flags, n1 cleared, n2 bits; s0 dest, s2 host source */
	OP_REMOUNT, /* n0 flags, n1 cleared, n2 bits (B_REMOUNT: a bind remount, locked flags kept); s0-3 */
	OP_CGROUP1, /* n0 flags, n1 cleared, s3 data; a tmpfs for the v1 hierarchies */
	OP_CGHIER, /* n0 flags, n1 cleared, n2 bits; s1 hierarchy name, s2 host dir, s3 controllers */
	OP_CGDONE, /* n0 flags, n1 cleared, n2 bits, n3-5 mount_attr */
	OP_CGROUP2, /* n0 flags, n1 cleared, n2 bits; s1 host dir of the init's cgroup */
	OP_DEVICE, /* n0 mode, n1 major, n2 minor, n3 uid, n4 gid, n5 bits (B_DEVBIND); s0 path */
	OP_DEVLINKS, /* n2 bits (B_DEVPTS, B_KCORE) */
	OP_HOOKS, /* the parent sets limits and runs prestart/createRuntime */
	OP_PIVOT, /* n2 bits (B_NOPIVOT: after the OP_DETACHs); s0 rootfs */
	OP_ROOTPROP, /* n0 propagation; s4 its name */
	OP_LOOPBACK,
	OP_HOSTNAME, /* s0 */
	OP_DOMAINNAME, /* s0 */
	OP_MASK, /* s0 path, s3 data of the tmpfs over a directory */
	OP_READONLY, /* s0 path */
	OP_ROOT_RO,
	OP_KEYRING, /* s0 keyring name */
	OP_MARK, /* s0 step name (berth --debug) */
	OP_SETSID,
	OP_DETACH, /* n0 mount id, n1 its parent's (0: none), n2 bits (B_COVER, B_COVER_EINVAL); s0 mount point, s1 fstype,
		      s2 its parent's mount point or "": a host proc/sysfs mount --no-pivot takes away */
	OP_HOOK, /* a createContainer hook, run now (chook.c has the fields); v[0] args, v[1] env */
	OP_STARTHOOK, /* a startContainer hook: the plan's last ops, run once the exec fifo is opened, before the LSM attributes are written */
	OP_CHROOT, /* s0 rootfs: no mount namespace, the init only chroots */
	OP_PRIVATE, /* s0 mount point made private (the rootfs's parent), s1 rootfs; after OP_PREPARE with B_NOBIND */
	OP_OVERLAY, /* s0 rootfs, s1 upperdir, s2 workdir, s3 mount(2) data or "" (mount API), s4 field; n0 lowers; v[0] lowers */
	OP_ROOTBIND, /* s0 rootfs: the bind on itself an OP_PREPARE with B_NOBIND left for later */
	OP_HOSTBIND, /* s0 host path: the fallback of the OP_FRESH before it (B_HOSTBIND), done by that op alone */
	OP_SYSCTL, /* s0 path below a procfs root ("sys/net/ipv4/ip_forward"), s1 value, s2 it quoted, s4 field */
	OP_MOUNTLABEL, /* s0 linux.mountLabel, for the B_MQLABEL mounts that follow */
	OP_CONSOLE, /* n0 console socket fd, n1 rows, n2 bits (B_RELAY), n3 cols, n4 uid of the slave; s0 ptmx, s1 console ("": no bind) */
	OP_IDMAPFD, /* n0 fd of a detached idmapped mount (made by the parent), for the OP_BIND with B_IDMAP that follows */
	OP_MAX
};

/* One operation of the plan; the pointers point into the plan's buffer. */
struct op {
	uint32_t code;
	uint64_t n[6];
	uint32_t nprop;
	const char *prop; /* nprop x u64, unaligned */
	const char *s[6];
	char **v[2]; /* string vectors of the ops that have them (berth_op_vectors) */
};

/* berth_op_vectors is how many string vectors follow an op's strings. */
int berth_op_vectors(uint32_t code);

struct plan {
	uint32_t fifo_fd; /* O_PATH of the exec fifo, nothing else of the host */
	uint64_t lockable;
	char **proc_allowed;
	uint32_t nops;
	struct op *ops;
	struct exec_plan x;
};

/* berth_parse_plan reads a plan (layout in cinit.c); 0, or -1 when malformed. */
int berth_parse_plan(const char *buf, uint32_t len, struct plan *p);
/* berth_free_plan frees what berth_parse_plan allocated. */
void berth_free_plan(struct plan *p);

/* bits in n2 */
#define B_PLAINDIR 1 /* proc, sysfs: only on an ordinary directory */
#define B_REMOUNT 2 /* a bind needs MS_REMOUNT for its flags; OP_REMOUNT: through remount_bind */
#define B_ATTR 4 /* n3-5 hold recursive mount_attr */
#define B_CGNS 8 /* a cgroup namespace: fresh cgroup mounts first */
#define B_DEVPTS 16 /* /dev/pts is a devpts: /dev/ptmx -> pts/ptmx */
#define B_NOPIVOT 32 /* MS_MOVE and chroot instead of pivot_root */
#define B_CG2 64 /* a v1 host's cgroup2 hierarchy ("unified") */
#define B_KCORE 128 /* the host has /proc/kcore: /dev/core -> /proc/kcore */
#define B_PROCENV 256 /* OP_STARTHOOK: the hook's env is the process's (HOME filled in), not v[1] */
#define B_NOBIND 512 /* OP_PREPARE: only the propagation of /; OP_ROOTBIND binds the rootfs later */
#define B_COPYUP 1024 /* OP_FRESH: tmpcopyup, the directory underneath copied into the new tmpfs */
#define B_COPYUP_RO 2048 /* OP_FRESH with B_COPYUP: remount read-only (n0|MS_RDONLY) after the copy */
#define B_HOSTBIND 4096 /* OP_FRESH: on EPERM bind the host's instance the next op (OP_HOSTBIND) names */
#define B_DEVBIND 8192 /* OP_DEVICE (in n5): bind the host's node, no mknod (user namespace) */
#define B_MQLABEL 16384 /* OP_FRESH of an mqueue: its root gets the OP_MOUNTLABEL label as security.selinux */
#define B_RELAY 32768 /* OP_CONSOLE: berth relays the terminal itself (run -t without --console-socket) */
#define B_IDMAP 65536 /* OP_BIND: move the OP_IDMAPFD's detached mount into place instead of binding s2 */
#define B_COVER 131072 /* OP_DETACH: the mount is locked: cover it with a tmpfs, no unmount */
#define B_COVER_EINVAL 262144 /* OP_DETACH: unmount; on EINVAL (locked) cover it with a tmpfs */


/* berth_parse_exec reads an exec record; 0, or -1 when malformed. */
int berth_parse_exec(const char *buf, uint32_t len, struct exec_plan *x);
/* berth_exec_prepare applies an exec record up to execve; returns the path. */
char *berth_exec_prepare(struct exec_plan *x, const int *keep, int nkeep);
/*
 * berth_lsm_apply writes the exec attributes berth_exec_prepare opened;
 * 0, or -1 with the message in err.
 */
int berth_lsm_apply(struct exec_plan *x, char *err, size_t errlen);
/* berth_lsm_prepare opens them; 0, or -1 with err. */
int berth_lsm_prepare(struct exec_plan *x, char *err, size_t errlen);
/* berth_lsm_close closes what berth_lsm_prepare opened and apply did not. */
void berth_lsm_close(struct exec_plan *x);
/*
 * berth_sysctl_write writes value (quoted: as messages show it) to rel
 * below *proc, a fresh procfs it opens when *proc is -1 (the caller closes
 * it); 0, or -1 with the message in err.
 */
int berth_sysctl_write(int *proc, const char *rel, const char *value, const char *quoted, char *err, size_t errlen);
/*
 * procfs.c: a procfs berth made or checked, and files below it opened
 * without following a symlink or crossing a mount. berth_open_procfs
 * returns a fresh writable instance (fsopen, all of it), or /proc checked
 * to be a procfs root when the kernel refuses a new one; -1 with err.
 */
int berth_open_procfs(char *err, size_t errlen);
/* berth_procfs_open opens rel below proc (openat2, checked to be on procfs); -1 with errno and err. */
int berth_procfs_open(int proc, const char *rel, int flags, char *err, size_t errlen);
/* berth_write_value writes value in one write(2), as procfs wants; -1 with errno. */
int berth_write_value(int fd, const char *value);
/* berth_proc_attrs makes the process attributes of x for phase (cproc.c); bails naming the field. */
void berth_proc_attrs(const struct exec_plan *x, uint32_t phase);
/* berth_exec_final_limits sets RLIMIT_AS and RLIMIT_DATA, last before execve. */
void berth_exec_final_limits(const struct exec_plan *x);
/* berth_strerror is strerror in Go's spelling (lower-case first letter). */
const char *berth_strerror(int errnum);
/*
 * process.terminal (cexec.c): berth_pty_slave unlocks a fresh ptmx open and
 * returns its slave, ready; berth_pty_handoff makes it the controlling
 * terminal and stdio and sends the master over the console socket.
 */
int berth_pty_slave(int master, uint32_t rows, uint32_t cols, uint32_t uid, int relay, char *name, size_t namelen);
void berth_pty_handoff(int master, int slave, int sock);
/* Set once stdio is the container's terminal: a failure is then never written there. */
extern int berth_stdio_is_terminal;
/* The exec fifo, once open for writing: failures go there after the sync socket closed. */
extern int berth_fifo_fd;
/*
 * berth_own_procfs is the init's own procfs (cinit.c open_proc) while it
 * prepares the process, else -1: a file is re-opened through its magic
 * links there (cexec.c read_passwd).
 */
extern int berth_own_procfs;
/* berth_exec_in_c applies an exec record and execs; it never returns. */
void berth_exec_in_c(const char *buf, uint32_t len) __attribute__((noreturn));

/* write_all/read_all move len bytes over fd, retrying EINTR; -1 with errno (EPIPE at end of file). */
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len);

/* The socket to the parent, -1 once closed (failures then go to the exec fifo). */
extern int berth_sync_fd;
/*
 * berth_report sends a failure's n-byte message where it belongs: over the
 * sync socket (SYNC_ERR); once the init closed it, into the exec fifo for
 * `berth start` (libcontainer's fifoFailed "1" and the message, after the
 * "0" when that went first); in between (the init's fifo not yet open), on
 * stderr, unless stderr is the container's terminal. berth_fail reports msg and exits 1; bail formats
 * the message (errno text appended when errnum != 0) and fails with it.
 */
void berth_report(const char *msg, size_t n);
void berth_fail(const char *msg) __attribute__((noreturn));
void bail(int errnum, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/*
 * berth_run_hook runs the hook of an OP_HOOK or OP_STARTHOOK with envp as
 * its environment; 0 when it exited 0, else -1 with the one-line error in
 * msg (chook.c).
 */
int berth_run_hook(const struct op *o, char **envp, char *msg, size_t size);
/* berth_signal_name is Go's name of a signal ("killed"), or "signal N" in buf. */
const char *berth_signal_name(int sig, char *buf, size_t size);
/* berth_hook_tail is the end of a failed hook's output as libcontainer/hooks quotes it (chook.c). */
void berth_hook_tail(const char *data, size_t len, int cut, char *out, size_t size);
/*
 * cmount.c: berth_idmap_take keeps an OP_IDMAPFD's fd for the OP_BIND after
 * it; berth_idmap_source returns it (and forgets it), or -1;
 * berth_idmap_move moves that detached mount onto target (an O_PATH fd).
 */
void berth_idmap_take(const struct op *o);
int berth_idmap_source(void);
int berth_idmap_move(int mnt, int target);
/* berth_op_overlay mounts an OP_OVERLAY (cmount.c). */
void berth_op_overlay(const struct op *o);
/* berth_copy_up copies directory src into dst (O_PATH fds), tmpcopyup; -1 with errno and the names in err. */
int berth_copy_up(int src, int dst, char *err, size_t errlen);

/* berth_init_in_c reads the init plan and runs the container init; never returns. */
void berth_init_in_c(void) __attribute__((noreturn));

/*
 * berth_parse_bootstrap parses the len bytes of records that follow the
 * message's length word. It rewrites buf in place (the ':' of each
 * namespace entry becomes a NUL) and out points into it; it never reads or
 * writes outside buf[0..len). It returns 0, or -1 with a message in err.
 */
int berth_parse_bootstrap(char *buf, uint32_t len, struct bootstrap *out, char *err, size_t errlen);

#endif
