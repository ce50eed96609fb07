#!/bin/sh
# /berth-vm/tests.sh of the systemd test VM: run by berth-vm-tests.service
# once the system is up. Checks that the machine is what the tests need
# (systemd as PID 1, the bus answering, pure cgroup v2 or, booted with
# --cgroup hybrid, hybrid), runs the test
# binaries of /berth-vm/plan with the arguments of /berth-vm/args, and
# powers off. Output goes to the serial console, where tests/vm/run.sh
# parses the "@@berth-vm <nonce> ..." lines (see guest-init.sh).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. /berth-vm/config

mark() { echo "@@berth-vm $NONCE $*"; }
off() {
	sleep 1
	# A throw-away VM on a snapshot: no clean shutdown to wait for.
	systemctl poweroff --force --force
}
die() {
	mark SETUP-FAILED "$*"
	off
}

[ "$(cat /proc/1/comm)" = systemd ] || die "PID 1 is $(cat /proc/1/comm), not systemd"
busctl --system status org.freedesktop.systemd1 >/dev/null 2>&1 || die "systemd does not answer on the system bus"
if [ "$CGROUP" = hybrid ]; then
	# systemd.unified_cgroup_hierarchy=0: the v1 hierarchies, systemd's
	# own named one, and the controller-less cgroup2 mount.
	[ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ] || die "/sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup), not the tmpfs of v1 hierarchies (is systemd.unified_cgroup_hierarchy=0 on the kernel command line?)"
	[ "$(stat -fc %T /sys/fs/cgroup/unified)" = cgroup2fs ] || die "no hybrid cgroup2 mount at /sys/fs/cgroup/unified"
	for c in memory pids cpu freezer cpuset devices; do
		grep -q ":$c[:,]\|,$c[:,]" /proc/self/cgroup || die "no cgroup v1 $c hierarchy: $(tr '\n' ' ' </proc/self/cgroup)"
	done
	CTL=$(awk '$3 == "cgroup" { n = split($4, o, ","); s = ""; for (i = 1; i <= n; i++) if (o[i] !~ /^(rw|ro|nosuid|nodev|noexec|relatime)$/) s = s (s ? "," : "") o[i]; printf "%s ", s }' /proc/self/mounts)
else
	case $(cat /proc/self/cgroup) in
	0::/*) ;;
	*) die "/proc/self/cgroup is not pure v2: $(tr '\n' ' ' </proc/self/cgroup)" ;;
	esac
	mkdir -p /run/v1probe
	if mount -t cgroup -o memory cgroup /run/v1probe 2>/dev/null; then
		umount /run/v1probe
		die "a cgroup v1 memory hierarchy can still be mounted (is cgroup_no_v1=all on the kernel command line?)"
	fi
	rmdir /run/v1probe
	CTL=$(cat /sys/fs/cgroup/cgroup.subtree_control)
fi

uptime() { cut -d' ' -f1 /proc/uptime; }
mark READY "$(uptime)" "$CTL"
echo "berth-vm: $(systemctl --version | head -n 1), cgroup $CGROUP, system $(systemctl is-system-running 2>&1), tests in $(grep '^0::' /proc/self/cgroup | cut -d: -f3)"

run() {
	name=$1 pkg=$2 dir=$3
	shift 3
	mark START "$pkg"
	t0=$(uptime)
	(cd "/src/$dir" && exec "/berth-vm/bin/$name" "$@" </dev/null 2>&1)
	rc=$?
	mark END "$pkg" "$rc" "$(awk -v a="$t0" -v b="$(uptime)" 'BEGIN { printf "%.3f", b - a }')"
}

cd /
export HOME=/root TMPDIR=/tmp TERM=dumb BERTH_VM=1 BERTH_VM_GUEST=systemd BERTH_VM_CGROUP=$CGROUP BERTH_BIN=/src/berth BERTH_TEST_CPROGS=/cprogs
while read -r name pkg dir; do
	eval "set -- $(cat /berth-vm/args)"
	run "$name" "$pkg" "$dir" "$@"
done </berth-vm/plan

mark DONE
off
