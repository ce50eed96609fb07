#!/bin/sh
# /init of the cgroup-v2 test VM that tests/vm/run.sh boots (busybox ash).
#
# Stage 1 runs on the kernel's initial rootfs, which pivot_root(2) refuses
# to leave (EINVAL), while the runtime under test pivot_roots into every
# container: so it moves the whole initramfs onto a real tmpfs and
# switch_roots there. Stage 2 sets the machine up, checks that
# /sys/fs/cgroup is a pure cgroup v2 hierarchy, runs the test binaries
# listed in /berth-vm/plan (MODE=tests) or bench/bench.sh (MODE=bench)
# and powers off.
#
# Everything the host parses is a line "@@berth-vm <nonce> <WORD> ...": the
# nonce keeps a test that prints such a line from faking a result.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. /berth-vm/config

mark() { echo "@@berth-vm $NONCE $*"; }

# A setup failure still has to end the VM, or the host waits for its timeout.
die() {
	mark SETUP-FAILED "$*"
	sleep 1
	poweroff -f
}

if [ "$1" != --stage2 ]; then
	mkdir /newroot
	mount -t tmpfs -o mode=0755 tmpfs /newroot || die "mount tmpfs on /newroot failed"
	for f in /* /.[!.]*; do
		case $f in /newroot | /proc | /sys | /dev | '/.[!.]*') continue ;; esac
		cp -a "$f" /newroot/ || die "copy $f to the tmpfs root failed"
	done
	mkdir -p /newroot/proc /newroot/sys /newroot/dev
	exec switch_root /newroot /init --stage2
	die "switch_root failed"
fi

mount -t proc -o nosuid,nodev,noexec proc /proc || die "mount proc on /proc failed"
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || die "mount sysfs on /sys failed"
mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev || die "mount devtmpfs on /dev failed"
# Debian's kernel runs AppArmor: its securityfs is where apparmor_parser
# loads the profiles TestAppArmorProfile uses.
if [ -d /sys/kernel/security ]; then
	mount -t securityfs -o nosuid,nodev,noexec securityfs /sys/kernel/security ||
		echo "berth-vm: mount securityfs on /sys/kernel/security failed" >&2
fi
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o nosuid,noexec,gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts || die "mount devpts on /dev/pts failed"
mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm || die "mount tmpfs on /dev/shm failed"
mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue || die "mount mqueue on /dev/mqueue failed"
# Not nosuid: the tests build bundles here and check setuid and file
# capabilities in them.
mount -t tmpfs -o mode=1777,nodev tmpfs /tmp || die "mount tmpfs on /tmp failed"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || die "mount tmpfs on /run failed"
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr

# The mount options systemd uses, so the runtime sees what it meets on a
# real v2 host; plain cgroup2 if this kernel lacks one of them.
mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup ||
	mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup ||
	die "mount cgroup2 on /sys/fs/cgroup failed"

# Pure v2 means no v1 controller can be mounted anywhere: a v1 memory
# hierarchy that mounts proves cgroup_no_v1=all did not take.
[ "$(cat /proc/self/cgroup)" = "0::/" ] || die "/proc/self/cgroup is not just 0::/: $(tr '\n' ' ' </proc/self/cgroup)"
mkdir -p /run/v1probe
if mount -t cgroup -o memory cgroup /run/v1probe 2>/dev/null; then
	umount /run/v1probe
	die "a cgroup v1 memory hierarchy can still be mounted (is cgroup_no_v1=all on the kernel command line?)"
fi
rmdir /run/v1probe

enabled=
for c in $CONTROLLERS; do
	grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || continue
	if echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control; then
		enabled="$enabled $c"
	else
		echo "berth-vm: cannot enable cgroup controller $c" >&2
	fi
done

# Modules arrive in dependency order; one that is already in (or built in)
# is not an error.
for m in $MODULES; do
	out=$(insmod "/lib/modules/$KVER/$m" 2>&1) || case $out in
		*"File exists"*) ;;
		*) echo "berth-vm: insmod $m: $out" >&2 ;;
	esac
done

hostname berth-vm
ip link set lo up || die "ip link set lo up failed"

mark READY "$(cut -d' ' -f1 /proc/uptime)" "$(cat /sys/fs/cgroup/cgroup.subtree_control)"

uptime() { cut -d' ' -f1 /proc/uptime; }

# run NAME IMPORTPATH DIR: one test binary, from its package directory as
# `go test` would run it, stdin from /dev/null as under `go test`.
run() {
	name=$1 pkg=$2 dir=$3
	shift 3
	mark START "$pkg"
	t0=$(uptime)
	(cd "/src/$dir" && exec "/berth-vm/bin/$name" "$@" </dev/null 2>&1)
	rc=$?
	mark END "$pkg" "$rc" "$(awk -v a="$t0" -v b="$(uptime)" 'BEGIN { printf "%.3f", b - a }')"
}

# bench ARGS...: bench.sh with its options and runtimes, after what berth
# doctor says of the cgroup setup it will be measured on.
bench() {
	/src/berth doctor 2>&1 | awk '
		$2 == "cgroup" || $2 == "CLONE_INTO_CGROUP" { hint = 1; print; next }
		hint && /^ / { print; next }
		{ hint = 0 }'
	mark START bench
	t0=$(uptime)
	(cd / && exec bash /src/bench/bench.sh "$@" </dev/null 2>&1)
	rc=$?
	mark END bench "$rc" "$(awk -v a="$t0" -v b="$(uptime)" 'BEGIN { printf "%.3f", b - a }')"
}

cd /
export HOME=/root TMPDIR=/tmp TERM=dumb BERTH_VM=1 BERTH_BIN=/src/berth BERTH_TEST_CPROGS=/cprogs
if [ "$MODE" = bench ]; then
	# /berth-vm/args holds bench.sh's arguments as single-quoted shell words.
	eval "set -- $(cat /berth-vm/args)"
	bench "$@"
else
	while read -r name pkg dir; do
		# /berth-vm/args holds the test flags as single-quoted shell words.
		eval "set -- $(cat /berth-vm/args)"
		run "$name" "$pkg" "$dir" "$@"
	done </berth-vm/plan
fi

mark DONE
# Let the serial line drain before the power goes.
sleep 1
poweroff -f
