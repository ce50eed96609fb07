#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int readfile(const char *path, char *buf, int len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int n = read(fd, buf, len);
	close(fd);
	return n;
}

static int comm_is_workload(int pid)
{
	char p[64], comm[64];
	snprintf(p, sizeof(p), "/proc/%d/comm", pid);
	int n = readfile(p, comm, sizeof(comm) - 1);
	if (n <= 0)
		return 1; /* gone */
	comm[n] = 0;
	return strcmp(comm, "true\n") == 0;
}

int main(void)
{
	long scans = 0, seen = 0, environ = 0, exe = 0, mem = 0;
	char names[512] = "", leaks[1024] = "";
	int self = getpid();
	while (access("/stop", F_OK) != 0) {
		scans++;
		DIR *d = opendir("/proc");
		if (d == NULL)
			return 2;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			int pid = atoi(e->d_name);
			if (pid <= 1 || pid == self)
				continue;
			char p[64], buf[16384];
			snprintf(p, sizeof(p), "/proc/%d/comm", pid);
			int n = readfile(p, buf, 63);
			if (n <= 0)
				continue;
			buf[n] = 0;
			if (strcmp(buf, "true\n") == 0)
				continue;
			seen++;
			buf[strcspn(buf, "\n")] = 0;
			if (strstr(names, buf) == NULL && strlen(names) + strlen(buf) + 2 < sizeof(names)) {
				strcat(names, buf);
				strcat(names, ",");
			}
			snprintf(p, sizeof(p), "/proc/%d/environ", pid);
			n = readfile(p, buf, sizeof(buf));
			if (n > 0 && memmem(buf, n, "_BERTH_", 7) != NULL)
				environ++;
			snprintf(p, sizeof(p), "/proc/%d/exe", pid);
			n = readlink(p, buf, sizeof(buf) - 1);
			if (n >= 0) {
				buf[n] = 0;
				if (strstr(buf, "busybox") == NULL) {
					exe++;
					if (strlen(leaks) + n + 2 < sizeof(leaks)) {
						strcat(leaks, buf);
						strcat(leaks, ",");
					}
				}
			}
			/* Opening mem passes the same check as PTRACE_ATTACH, without
			 * stopping anything. The helper may have become the dumpable
			 * workload in between: look again a little later. */
			snprintf(p, sizeof(p), "/proc/%d/mem", pid);
			int fd = open(p, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				close(fd);
				usleep(2000);
				if (!comm_is_workload(pid))
					mem++;
			}
		}
		closedir(d);
	}
	printf("scans=%ld seen=%ld environ=%ld exe=%ld mem=%ld names=%s leaks=%s\n",
	       scans, seen, environ, exe, mem, names, leaks);
	return 0;
}
