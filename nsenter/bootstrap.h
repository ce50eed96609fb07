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

/* Sync tags, stub -> parent unless noted (u32 tag, u32 value). */
#define SYNC_USERMAP 0x40
#define SYNC_USERMAP_ACK 0x41 /* parent -> stub */
#define SYNC_PID 0x42
#define SYNC_ERR 0x43
#define SYNC_HOOKS 0x44 /* cinit: rootfs ready; value: trace bytes that follow */
#define SYNC_HOOKS_ACK 0x45 /* parent -> cinit: limits set, hooks ran */
#define SYNC_READY 0x46 /* cinit: waiting for start; value: trace bytes that follow */

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
};

/* The BT_EXEC payload (layout in cexec.c). */
#define CX_NNP 1 /* process.noNewPrivileges */
#define CX_UMASK 2 /* process.user.umask given */
#define CX_CAPS 4 /* process.capabilities given */
#define CX_RELAY 8 /* berth relays the terminal itself (exec -t without --console-socket) */

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
};

#define CX_NO_CONSOLE 0xffffffffu

/* The operations of the init plan (layout at the top of cinit.c). */
enum {
	OP_PREPARE = 1, /* n0 propagation of /; s0 rootfs; s4 linux.rootfsPropagation value */
	OP_FRESH, /* n0 flags; n2 bits; n3-5 mount_attr; s0-3; a new filesystem */
	OP_BIND, /* n0 flags, n1 cleared, n2 bits; s0 dest, s2 host source */
	OP_REMOUNT, /* n0 flags; s0-3 */
	OP_CGROUP1, /* n0 flags, n1 cleared; a tmpfs for the v1 hierarchies */
	OP_CGHIER, /* n0 flags, n1 cleared, n2 bits; s1 hierarchy name, s2 host dir, s3 controllers */
	OP_CGDONE, /* n0 flags, n1 cleared, n2 bits, n3-5 mount_attr */
	OP_CGROUP2, /* n0 flags, n1 cleared, n2 bits; s1 host dir of the init's cgroup */
	OP_DEVICE, /* n0 mode, n1 major, n2 minor, n3 uid, n4 gid; s0 path */
	OP_DEVLINKS, /* n2 bits (B_DEVPTS, B_KCORE) */
	OP_HOOKS, /* the parent sets limits and runs prestart/createRuntime */
	OP_PIVOT, /* n2 bits (B_NOPIVOT: after the OP_DETACHs); s0 rootfs */
	OP_ROOTPROP, /* n0 propagation; s4 its name */
	OP_LOOPBACK,
	OP_HOSTNAME, /* s0 */
	OP_DOMAINNAME, /* s0 */
	OP_MASK, /* s0 path */
	OP_READONLY, /* s0 path */
	OP_ROOT_RO,
	OP_KEYRING, /* s0 keyring name */
	OP_MARK, /* s0 step name (berth --debug) */
	OP_SETSID,
	OP_DETACH, /* s0 mount point, s1 fstype, s2 its parent's mount point or "": a host proc/sysfs mount --no-pivot takes away */
	OP_CONSOLE, /* n0 console socket fd, n1 rows, n2 bits (B_RELAY), n3 cols, n4 uid of the slave; s0 ptmx, s1 console */
	OP_MAX
};

/* One operation of the plan; the pointers point into the plan's buffer. */
struct op {
	uint32_t code;
	uint64_t n[6];
	uint32_t nprop;
	const char *prop; /* nprop x u64, unaligned */
	const char *s[6];
};

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
#define B_REMOUNT 2 /* a bind needs MS_REMOUNT for its flags */
#define B_ATTR 4 /* n3-5 hold recursive mount_attr */
#define B_CGNS 8 /* a cgroup namespace: fresh cgroup mounts first */
#define B_DEVPTS 16 /* /dev/pts is a devpts: /dev/ptmx -> pts/ptmx */
#define B_NOPIVOT 32 /* MS_MOVE and chroot instead of pivot_root */
#define B_CG2 64 /* a v1 host's cgroup2 hierarchy ("unified") */
#define B_KCORE 128 /* the host has /proc/kcore: /dev/core -> /proc/kcore */
#define B_RELAY 256 /* OP_CONSOLE: berth relays the terminal itself (run -t without --console-socket) */


/* berth_parse_exec reads an exec record; 0, or -1 when malformed. */
int berth_parse_exec(const char *buf, uint32_t len, struct exec_plan *x);
/* berth_exec_prepare applies an exec record up to execve; returns the path. */
char *berth_exec_prepare(struct exec_plan *x, const int *keep, int nkeep);
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
/* Set once stdio is the container's terminal: bail then never writes there. */
extern int berth_stdio_is_terminal;
/* The exec fifo, once open for writing: bail reports there after the sync socket closed. */
extern int berth_fifo_fd;
/* berth_exec_in_c applies an exec record and execs; it never returns. */
void berth_exec_in_c(const char *buf, uint32_t len) __attribute__((noreturn));

/* write_all/read_all move len bytes over fd, retrying EINTR; -1 with errno (EPIPE at end of file). */
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len);

/* The socket to the parent, -1 once closed (bail then writes to stderr). */
extern int berth_sync_fd;
void bail(int errnum, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
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
