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
};

/* The BT_EXEC payload (layout in cexec.c). */
#define CX_NNP 1 /* process.noNewPrivileges */
#define CX_UMASK 2 /* process.user.umask given */
#define CX_CAPS 4 /* process.capabilities given */

struct exec_plan {
	uint32_t flags, uid, gid, umask, preserve_fds, ngroups;
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

/* berth_parse_exec reads an exec record; 0, or -1 when malformed. */
int berth_parse_exec(const char *buf, uint32_t len, struct exec_plan *x);
/* berth_exec_in_c applies an exec record and execs; it never returns. */
void berth_exec_in_c(const char *buf, uint32_t len) __attribute__((noreturn));

/*
 * berth_parse_bootstrap parses the len bytes of records that follow the
 * message's length word. It rewrites buf in place (the ':' of each
 * namespace entry becomes a NUL) and out points into it; it never reads or
 * writes outside buf[0..len). It returns 0, or -1 with a message in err.
 */
int berth_parse_bootstrap(char *buf, uint32_t len, struct bootstrap *out, char *err, size_t errlen);

#endif
