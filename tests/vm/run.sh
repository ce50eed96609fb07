#!/usr/bin/env bash
# tests/vm/run.sh - run berth's Go tests, or its benchmark, in a throw-away
# QEMU VM whose /sys/fs/cgroup is a pure cgroup v2 hierarchy.
#
#   tests/vm/run.sh [options] [-- go-test-args...]
#   tests/vm/run.sh --bench [options] [-- bench-args...]
#   tests/vm/run.sh --guest systemd [--cgroup hybrid] [options] [-- go-test-args...]
#
# The host may run hybrid (v1) cgroups. The guest boots the kernel of
# Debian's linux-image-amd64 with cgroup_no_v1=all from a busybox initramfs
# that holds the berth binary and the compiled test binaries, runs them as
# root one after another, and powers off. This script prints their output,
# then one go-test-like line per package (ok / FAIL / ?).
#
# With --guest systemd the guest is Debian 12 with systemd as PID 1 and
# D-Bus instead (the disk image tests/vm/systemd-image.sh builds once and
# caches under /var/cache/berth-vm, booted with snapshot=on), for the tests
# of the systemd cgroup driver and NOTIFY_SOCKET: the busybox initramfs
# mounts the image, copies this run's files in and hands over to systemd
# (tests/vm/systemd-init.sh), whose unit berth-vm-tests.service runs them
# (tests/vm/systemd-tests.sh) and powers off. Without a -run of their own
# only the tests named TestSystemd* and TestRootless* (rootless on cgroup
# v2, under a user's own systemd manager) run there. With --cgroup hybrid
# the same image boots with systemd.unified_cgroup_hierarchy=0 (and
# without cgroup_no_v1=all): systemd mounts the v1 hierarchies and the
# hybrid cgroup2 one, for the systemd driver on cgroup v1; without a -run
# of their own only TestSystemd* run there, and without a -skip of their
# own the engines' tests (TestSystemdEngine*) are left out.
#
# With --bench the guest runs bench/bench.sh instead: berth against runc and
# crun, interleaved, where berth starts its init with clone3
# CLONE_INTO_CGROUP. TCG slows every step down 20 to 40 times, and not
# evenly: absolute times mean nothing, and the ratios of medians are those
# of an emulated CPU. The output is bench.sh's report.
# bench-args are bench.sh options, given after the defaults -n 20 -m
# run,create,exec so that they override them: some 5 minutes under TCG;
# -m run,create,exec,rss adds 2 more. The runtimes are always /src/berth
# (BERTH_BIN), /usr/sbin/runc and /usr/bin/crun; -o is refused, as its
# samples would stay in the guest.
#
# Options:
#   --bench        run the benchmark instead of the tests
#   --guest G      busybox (default: the busybox initramfs) or systemd
#   --cgroup M     the systemd guest's cgroup mode: v2 (default) or hybrid
#   --timeout S    kill the VM after S seconds, boot included (default 1800)
#   -v, --verbose  run the tests with -test.v
#   --console      also print the guest kernel's boot messages
#   --keep         keep the work directory (initramfs, kernel, console log)
#   -h, --help
# go-test-args go to every test binary; go test's own spellings are
# accepted (-run X, -count 2, -timeout 5m become -test.run X ...).
#
# Environment:
#   BERTH_BIN          the berth binary to test (default ./berth; build it first)
#   BERTH_VM_PKGS      packages whose tests run in the VM
#                      (default "./tests ./cgroups/...")
#   BERTH_VM_MODULES   kernel modules loaded at boot, dependencies included
#                      (default "overlay veth bridge dummy tun")
#   BERTH_VM_TOOLS     host programs the tests run that busybox lacks or
#                      does only in part, copied in with their libraries at
#                      the same path (default "ip apparmor_parser": iproute2,
#                      for ip netns; the profile compiler, for the AppArmor
#                      test, installing apparmor when missing);
#                      --bench adds bash, jq, /usr/bin/time (GNU),
#                      /usr/sbin/runc and /usr/bin/crun, installing their
#                      packages when missing
#   BERTH_VM_SKIP      -test.skip regexp unless the arguments give one
#                      (default "^TestEngine": no podman/containerd in the VM;
#                      the host run covers them); empty skips nothing
#   BERTH_VM_GUEST     the guest when --guest is not given (busybox)
#   BERTH_VM_KVER      guest kernel version (default: the one linux-image-amd64
#                      depends on); uses /boot/vmlinuz-V and /lib/modules/V
#   BERTH_VM_ACCEL     tcg (default; KVM is unusable on the CI machines) or kvm
#   BERTH_VM_MEM, BERTH_VM_CPUS   guest size (default 2G and 2)
#   GO                 go command (default go, with /usr/local/go/bin on PATH)
#
# In the guest each test binary runs as root from /src/<package dir> (its
# testdata copied along), with stdin /dev/null and BERTH_BIN=/src/berth,
# BERTH_VM=1, TMPDIR=/tmp (a tmpfs) in its environment.
#
# With --bench, bench.sh runs from / with the same environment and its
# stdin from /dev/null.
#
# Exit status: 0 when every package passed (bench.sh succeeded); 1 when one
# failed or did not build (bench.sh failed), or the VM timed out or died; 2
# on a usage or setup error.
set -euo pipefail
export LC_ALL=C

MODE=tests
GUEST=${BERTH_VM_GUEST:-busybox}
CGROUP=v2
TIMEOUT=
VERBOSE=0
CONSOLE=0
KEEP=0
PKGS=${BERTH_VM_PKGS:-./tests ./cgroups/...}
MODULES=${BERTH_VM_MODULES:-overlay veth bridge dummy tun}
TOOLS=${BERTH_VM_TOOLS-ip apparmor_parser}
SKIP=${BERTH_VM_SKIP-^TestEngine}
CONTROLLERS="cpu io memory pids cpuset hugetlb rdma misc"
ACCEL=${BERTH_VM_ACCEL:-tcg}
MEM=${BERTH_VM_MEM:-2G}
CPUS=${BERTH_VM_CPUS:-2}
GO=${GO:-go}
export PATH=/usr/local/go/bin:$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
T_START=${EPOCHREALTIME/./}

say() { echo "berth-vm: $*" >&2; }
die() { say "$*"; exit 2; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
# seconds MICROSECONDS: go test's "%.3fs" without the s.
seconds() { printf '%d.%03d' $(($1 / 1000000)) $(($1 % 1000000 / 1000)); }
# quote WORD: WORD as one single-quoted word for the guest's sh.
quote() { printf "'%s' " "${1//\'/\'\\\'\'}"; }

while (($#)); do
	case $1 in
	--bench) MODE=bench; shift ;;
	--guest) GUEST=${2:-}; shift 2 || die "--guest wants busybox or systemd" ;;
	--guest=*) GUEST=${1#*=}; shift ;;
	--cgroup) CGROUP=${2:-}; shift 2 || die "--cgroup wants v2 or hybrid" ;;
	--cgroup=*) CGROUP=${1#*=}; shift ;;
	--timeout) TIMEOUT=${2:-}; shift 2 || die "--timeout wants seconds" ;;
	--timeout=*) TIMEOUT=${1#*=}; shift ;;
	-v | --verbose) VERBOSE=1; shift ;;
	--console) CONSOLE=1; shift ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; die "unknown option: $1" ;;
	esac
done
case $GUEST in
busybox) TIMEOUT=${TIMEOUT:-1800} ;;
systemd)
	[[ $MODE == tests ]] || die "--guest systemd runs the tests only, not --bench"
	TIMEOUT=${TIMEOUT:-900}
	# The image's disk and filesystem, overlayfs for the engines, tun
	# for rootless podman's slirp4netns; no AppArmor test there.
	MODULES=${BERTH_VM_MODULES:-virtio_pci virtio_blk crc32c_generic ext4 overlay tun}
	TOOLS=${BERTH_VM_TOOLS-}
	PKGS=${BERTH_VM_PKGS:-./tests}
	;;
*) die "--guest must be busybox or systemd, not '$GUEST'" ;;
esac
case $CGROUP in
v2) ;;
hybrid) [[ $GUEST == systemd ]] || die "--cgroup hybrid is for --guest systemd (the busybox guest is cgroup v2)" ;;
*) die "--cgroup must be v2 or hybrid, not '$CGROUP'" ;;
esac
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a number of seconds, not '$TIMEOUT'"
case $ACCEL in tcg | kvm) ;; *) die "BERTH_VM_ACCEL must be tcg or kvm, not '$ACCEL'" ;; esac

# The guest's runtimes for --bench; bench.sh takes the first as the one the
# others are compared with.
BENCH_RUNTIMES=(/src/berth /usr/sbin/runc /usr/bin/crun)
BENCH_ARGS=(-n 20 -m run,create,exec)
for a in "$@"; do
	# A later -n or -m overrides the default; -o (alone or among bundled
	# flags such as -Co) would write the samples inside the guest.
	[[ $MODE != bench || $a != -[!-]*o* ]] || die "--bench: bench.sh -o is not supported (the samples would stay in the VM)"
	BENCH_ARGS+=("$a")
done

# Test binaries only know -test.X; translate go test's spellings so the
# arguments read like a go test command line.
GO_TEST_FLAGS=" bench benchmem benchtime blockprofile blockprofilerate count coverprofile cpu cpuprofile failfast fullpath list memprofile memprofilerate mutexprofile mutexprofilefraction outputdir parallel run short shuffle skip timeout trace v "
TEST_ARGS=()
((VERBOSE)) && TEST_ARGS+=(-test.v=true)
has_timeout=0
has_skip=0
has_run=0
for a in "$@"; do
	if [[ $a == -* ]]; then
		n=${a#-}; n=${n#-}; n=${n%%=*}
		[[ $GO_TEST_FLAGS == *" $n "* ]] && a=-test.${a#"${a%%[!-]*}"}
		[[ $a == -test.timeout* ]] && has_timeout=1
		[[ $a == -test.skip* ]] && has_skip=1
		[[ $a == -test.run* ]] && has_run=1
		[[ $a == -test.v || $a == -test.v=true ]] && VERBOSE=1
	fi
	TEST_ARGS+=("$a")
done
# A hung test should die with go's goroutine dump, before the VM is killed
# without one.
if ((!has_timeout && TIMEOUT > 120)); then TEST_ARGS+=(-test.timeout=$((TIMEOUT - 60))s); fi
if ((!has_skip)) && [[ -n $SKIP ]]; then TEST_ARGS+=(-test.skip="$SKIP"); fi
if ((!has_run)) && [[ $GUEST == systemd ]]; then
	# Rootless runs under a user's own manager, which gets no v1 delegation.
	if [[ $CGROUP == hybrid ]]; then TEST_ARGS+=(-test.run='^TestSystemd')
	else TEST_ARGS+=(-test.run='^(TestSystemd|TestRootless)')
	fi
fi
if ((!has_skip)) && [[ $CGROUP == hybrid ]]; then TEST_ARGS+=(-test.skip='^TestSystemdEngine'); fi

BIN=${BERTH_BIN:-./berth}
[[ -f $BIN && -x $BIN ]] || die "no executable berth at $BIN: build it first (make build) or set BERTH_BIN"
BIN=$(realpath "$BIN")

# ------------------------------------------------------------- host tools
installed() { [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]; }
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
installed busybox-static || need+=(busybox-static)
[[ " $TOOLS " != *" apparmor_parser "* ]] || command -v apparmor_parser >/dev/null || need+=(apparmor)
[[ -n ${BERTH_VM_KVER:-} ]] || installed linux-image-amd64 || need+=(linux-image-amd64)
if [[ $MODE == bench ]]; then
	for p in jq time runc crun; do installed "$p" || need+=("$p"); done
fi
if ((${#need[@]})); then
	((EUID == 0)) || die "missing ${need[*]}: run as root or apt-get install ${need[*]}"
	say "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Only a machine with stale package lists needs the (slow) update.
	if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
		apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
			die "apt-get install ${need[*]} failed"
	fi
fi

# --------------------------------------------------------------- kernel
KVER=${BERTH_VM_KVER:-}
if [[ -z $KVER ]]; then
	# linux-image-amd64 is a meta package: the kernel is the one it depends on.
	KVER=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null | grep -o 'linux-image-[^ ,]*' | head -n 1 || true)
	KVER=${KVER#linux-image-}
fi
[[ -z ${BERTH_VM_KVER:-} || -e /boot/vmlinuz-$KVER ]] || die "BERTH_VM_KVER=$KVER: no /boot/vmlinuz-$KVER"
if [[ -z $KVER || ! -e /boot/vmlinuz-$KVER ]]; then
	KVER=
	for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
		[[ -f /lib/modules/${k#/boot/vmlinuz-}/modules.dep ]] && { KVER=${k#/boot/vmlinuz-}; break; }
	done
	[[ -n $KVER ]] || die "no /boot/vmlinuz-* with modules in /lib/modules (apt-get install linux-image-amd64)"
fi
KERNEL=/boot/vmlinuz-$KVER
MODDIR=/lib/modules/$KVER
[[ -r $KERNEL ]] || die "cannot read $KERNEL (Debian makes it mode 0600: run as root)"
[[ -f $MODDIR/modules.dep ]] || die "no $MODDIR/modules.dep: the modules of kernel $KVER are not installed"

BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	# ldd fails on a static binary; the guest has no libraries for a dynamic one.
	if [[ -x $b ]] && ! ldd "$b" >/dev/null 2>&1; then BUSYBOX=$b; break; fi
done
[[ -n $BUSYBOX ]] || die "no static busybox (apt-get install busybox-static)"

# ------------------------------------------------------------ work dir
W=$(mktemp -d "${TMPDIR:-/tmp}/berth-vm.XXXXXX")
QPID=
cleanup() {
	if [[ -n $QPID ]] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null || true
		wait "$QPID" 2>/dev/null || true
	fi
	if ((KEEP)); then say "work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ROOT=$W/root
mkdir -p "$ROOT"

# extract_vmlinux BZIMAGE OUT: qemu boots an uncompressed ELF kernel through
# its PVH entry point, which skips the real-mode setup and the in-guest
# decompression: seconds under TCG. The bzImage header (boot protocol 2.08+)
# says where the compressed kernel is: payload_offset and payload_length at
# 0x248, counted from the protected-mode code after the (setup_sects + 1)
# 512-byte setup sectors; its last 4 bytes are the uncompressed size.
extract_vmlinux() {
	local k=$1 out=$2 ver ss off len start size magic dec
	grep -q '^CONFIG_PVH=y' "/boot/config-$KVER" 2>/dev/null || return 1
	[[ $(od -An -c -j $((0x202)) -N4 "$k" | tr -d ' ') == HdrS ]] || return 1
	ver=$(od -An -tu2 -j $((0x206)) -N2 "$k" | tr -d ' ')
	((ver >= 0x208)) || return 1
	ss=$(od -An -tu1 -j $((0x1f1)) -N1 "$k" | tr -d ' ')
	((ss)) || ss=4
	read -r off len < <(od -An -tu4 -j $((0x248)) -N8 "$k")
	start=$(((ss + 1) * 512 + off))
	size=$(od -An -tu4 -j $((start + len - 4)) -N4 "$k" | tr -d ' ')
	magic=$(od -An -tx1 -j "$start" -N6 "$k" | tr -d ' \n')
	case $magic in
	fd377a585a00) dec="xz -dc" ;;
	28b52ffd*) dec="zstd -dcq" ;;
	1f8b*) dec="gzip -dc" ;;
	425a68*) dec="bzip2 -dc" ;;
	5d00*) dec="xz -dc --format=lzma" ;;
	*) return 1 ;;
	esac
	command -v "${dec%% *}" >/dev/null || return 1
	dd if="$k" iflag=skip_bytes,count_bytes skip="$start" count=$((len - 4)) status=none | $dec >"$out" 2>/dev/null || return 1
	[[ $(stat -c %s "$out") == "$size" && $(od -An -c -N4 "$out" | tr -d ' ') == 177ELF ]]
}
BOOT_KERNEL=$KERNEL
if extract_vmlinux "$KERNEL" "$W/vmlinux"; then BOOT_KERNEL=$W/vmlinux; else rm -f "$W/vmlinux"; fi

# ------------------------------------------------------------ test binaries
cd "$REPO"
declare -A RESULT=() ELAPSED=()
ORDER=()
PLAN=()
mkdir -p "$ROOT/berth-vm/bin" "$ROOT/src"
if [[ $MODE == bench ]]; then
	mkdir -p "$ROOT/src/bench"
	cp bench/bench.sh "$ROOT/src/bench/bench.sh"
else
	listing=$("$GO" list -f '{{.ImportPath}} {{.Dir}} {{len .TestGoFiles}} {{len .XTestGoFiles}}' $PKGS) ||
		die "go list $PKGS failed"
	while read -r imp dir nt nxt; do
		[[ -n $imp ]] || continue
		ORDER+=("$imp")
		if ((nt + nxt == 0)); then RESULT[$imp]=notests; continue; fi
		rel=${dir#"$REPO"}; rel=${rel#/}; rel=${rel:-.}
		name=${rel//\//_}.test
		[[ $name != ..test ]] || name=root.test
		# The Makefile's CLI_TAGS: urfave/cli without its docs output.
		if ! "$GO" test -c -tags urfave_cli_no_docs -o "$ROOT/berth-vm/bin/$name" "$imp"; then RESULT[$imp]=build; continue; fi
		mkdir -p "$ROOT/src/$rel"
		[[ -d $dir/testdata ]] && cp -a "$dir/testdata" "$ROOT/src/$rel/"
		PLAN+=("$name $imp $rel")
	done <<<"$listing"
	((${#ORDER[@]})) || die "no packages in BERTH_VM_PKGS=$PKGS"
fi
cp "$BIN" "$ROOT/src/berth"

# ------------------------------------------------------------ initramfs
# The guest mirrors the host's merged-/usr symlinks, so a library lands at
# the path ldd printed for it here; only relative links are safe to mirror
# into the staging tree.
mkdir -p "$ROOT"/{usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,var}
ln -s ../run "$ROOT/var/run"
for d in bin sbin lib lib32 lib64 libx32; do
	t=$(readlink "/$d" 2>/dev/null || true)
	if [[ -n $t && $t != /* && $t != *..* ]]; then
		mkdir -p "$ROOT/$t"
		ln -s "$t" "$ROOT/$d"
	fi
done
mkdir -p "$ROOT"/{bin,sbin}
chmod 1777 "$ROOT/tmp"
chmod 0700 "$ROOT/root"
cp "$BUSYBOX" "$ROOT/bin/busybox"
# The guest has no compiler: the tests' static C programs are built here
# (tests/security_test.go's compileStatic reads them from BERTH_TEST_CPROGS).
mkdir -p "$ROOT/cprogs"
for c in "$REPO"/tests/testdata/cprog/*.c; do
	[ -e "$c" ] || continue
	gcc -static -O2 -o "$ROOT/cprogs/$(basename "$c" .c)" "$c" || die "gcc -static $c failed (apt-get install gcc libc6-dev)"
done
while read -r a; do
	[[ $a == */* && $a != bin/busybox ]] || continue
	mkdir -p "$ROOT/${a%/*}"
	[[ -e $ROOT/$a || -L $ROOT/$a ]] || ln -s /bin/busybox "$ROOT/$a"
done < <("$BUSYBOX" --list-full)

declare -A LIBS_DONE=()
add_libs() { # ELF: copy the shared libraries it needs, as ldd finds them here
	local lib
	ldd "$1" >/dev/null 2>&1 || return 0
	while read -r lib; do
		[[ -z ${LIBS_DONE[$lib]:-} ]] || continue
		LIBS_DONE[$lib]=1
		mkdir -p "$ROOT${lib%/*}"
		cp -L "$lib" "$ROOT$lib"
	done < <(ldd "$1" | grep -oE '/[^ ]+')
}
add_libs "$ROOT/src/berth"
for f in "$ROOT"/berth-vm/bin/*; do [[ -e $f ]] && add_libs "$f"; done
# GNU time replaces busybox's, which lacks -f and -o.
[[ $MODE != bench ]] || TOOLS+=" bash jq /usr/bin/time /usr/sbin/runc /usr/bin/crun"
for tool in $TOOLS; do
	p=$(command -v "$tool") || die "no $tool on this host (BERTH_VM_TOOLS or --bench)"
	# Replaces busybox's applet link of the same name.
	rm -f "$ROOT$p"
	mkdir -p "$ROOT${p%/*}"
	cp -L "$p" "$ROOT$p"
	add_libs "$p"
done

printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'daemon:x:1:1:daemon:/usr/sbin:/bin/false' \
	'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$ROOT/etc/passwd"
printf '%s\n' 'root:x:0:' 'daemon:x:1:' 'tty:x:5:' 'nogroup:x:65534:' >"$ROOT/etc/group"
printf '%s\n' '127.0.0.1 localhost berth-vm' '::1 localhost' >"$ROOT/etc/hosts"
ln -s /proc/self/mounts "$ROOT/etc/mtab"

# Kernel modules with their dependencies, in load order (modules.dep names
# every dependency of a module), uncompressed for busybox insmod.
declare -A DEPS=() BYNAME=() BUILTIN=() SEEN=()
while IFS=: read -r rel deps; do
	DEPS[$rel]=$deps
	n=${rel##*/}; n=${n%%.ko*}; BYNAME[${n//-/_}]=$rel
done <"$MODDIR/modules.dep"
while read -r rel; do
	n=${rel##*/}; n=${n%%.ko*}; BUILTIN[${n//-/_}]=1
done < <(cat "$MODDIR/modules.builtin" 2>/dev/null || true)
LOAD=()
visit() {
	local d
	[[ -z ${SEEN[$1]:-} ]] || return 0
	SEEN[$1]=1
	for d in ${DEPS[$1]}; do visit "$d"; done
	LOAD+=("$1")
}
for m in $MODULES; do
	m=${m//-/_}
	if [[ -n ${BYNAME[$m]:-} ]]; then visit "${BYNAME[$m]}"
	elif [[ -z ${BUILTIN[$m]:-} ]]; then say "kernel $KVER has no module $m, not loaded"
	fi
done
GUEST_MODULES=
for rel in "${LOAD[@]}"; do
	plain=${rel%.xz}; plain=${plain%.zst}; plain=${plain%.gz}
	mkdir -p "$ROOT/lib/modules/$KVER/${plain%/*}"
	case $rel in
	*.xz) xz -dc "$MODDIR/$rel" ;;
	*.zst) zstd -dcq "$MODDIR/$rel" ;;
	*.gz) gzip -dc "$MODDIR/$rel" ;;
	*) cat "$MODDIR/$rel" ;;
	esac >"$ROOT/lib/modules/$KVER/$plain" || die "cannot unpack module $MODDIR/$rel"
	GUEST_MODULES+=" $plain"
done

NONCE=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
{
	echo "NONCE=$NONCE"
	echo "MODE=$MODE"
	echo "KVER='$KVER'"
	echo "MODULES='$GUEST_MODULES'"
	echo "CONTROLLERS='$CONTROLLERS'"
	echo "CGROUP=$CGROUP"
} >"$ROOT/berth-vm/config"
printf '%s\n' "${PLAN[@]}" >"$ROOT/berth-vm/plan"
if [[ $MODE == bench ]]; then
	for a in "${BENCH_ARGS[@]}" "${BENCH_RUNTIMES[@]}"; do quote "$a"; done
else
	for a in "${TEST_ARGS[@]}"; do quote "$a"; done
fi >"$ROOT/berth-vm/args"
if [[ $GUEST == systemd ]]; then
	cp "$HERE/systemd-init.sh" "$ROOT/init"
	cp "$HERE/systemd-tests.sh" "$ROOT/berth-vm/tests.sh"
else
	cp "$HERE/guest-init.sh" "$ROOT/init"
fi
chmod 0755 "$ROOT/init"
# Uncompressed: unpacking gzip costs the TCG guest more than the copy.
(cd "$ROOT" && find . | sort | cpio -o -H newc -R 0:0 --quiet) >"$W/initramfs.cpio"

# ------------------------------------------------------------------ run
if [[ $MODE == tests ]] && ((${#PLAN[@]} == 0)); then
	say "nothing to run in the VM"
	STATE=skipped
else
	if [[ $CGROUP == hybrid ]]; then APPEND="console=ttyS0 systemd.unified_cgroup_hierarchy=0 panic=-1 mitigations=off"
	else APPEND="console=ttyS0 cgroup_no_v1=all panic=-1 mitigations=off"
	fi
	((CONSOLE)) || APPEND+=" quiet"
	DRIVE=()
	if [[ $GUEST == systemd ]]; then
		IMG=$("$HERE/systemd-image.sh") || die "no systemd guest image"
		DRIVE=(-drive "file=$IMG,if=virtio,format=raw,snapshot=on")
		((CONSOLE)) || APPEND+=" systemd.show_status=0"
	fi
	if [[ $ACCEL == kvm ]]; then ACCEL_ARGS=(-accel kvm -cpu host); else ACCEL_ARGS=(-accel tcg,thread=multi -cpu max); fi
	FIFO=$W/serial
	mkfifo "$FIFO"
	if [[ $MODE == bench ]]; then WHAT="bench.sh ${BENCH_ARGS[*]} ${BENCH_RUNTIMES[*]}"
	else WHAT="${#PLAN[@]} test binaries"
	fi
	say "booting $KVER ($GUEST guest, cgroup $CGROUP, $ACCEL, $CPUS CPUs, $MEM) with $WHAT; timeout ${TIMEOUT}s"
	T_VM=${EPOCHREALTIME/./}
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -machine pc "${ACCEL_ARGS[@]}" \
		-m "$MEM" -smp "$CPUS" -display none -serial stdio -no-reboot \
		-kernel "$BOOT_KERNEL" -initrd "$W/initramfs.cpio" -append "$APPEND" "${DRIVE[@]}" \
		</dev/null >"$FIFO" 2>"$W/qemu.err" &
	QPID=$!

	TAG="@@berth-vm $NONCE "
	STATE=boot # boot, then run after READY, done after DONE
	CURRENT=
	SETUP_ERR=
	BOOT_US=
	CGROUP_CTL=
	HELD=0
	BENCH_RC=
	exec 3<"$FIFO"
	while :; do
		# After DONE the guest only has to power off; do not wait long for it.
		if [[ $STATE == done ]]; then IFS= read -r -t 15 line <&3 || break
		else IFS= read -r line <&3 || { [[ -n $line ]] || break; }
		fi
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$W/console.log"
		# go test drops a passing binary's closing PASS unless -v: hold it
		# until the next line says how the binary ended.
		if ((HELD)); then
			HELD=0
			[[ $line == *"${TAG}END "*" 0 "* ]] || printf 'PASS\n'
		fi
		if [[ $line != *"$TAG"* ]]; then
			if [[ $MODE == tests && $STATE == run && $line == PASS ]] && ((!VERBOSE)); then HELD=1
			elif [[ $STATE == run ]] || ((CONSOLE)); then printf '%s\n' "$line"
			fi
			continue
		fi
		pre=${line%%"$TAG"*}
		[[ -z $pre ]] || printf '%s\n' "$pre"
		read -r -a f <<<"${line#*"$TAG"}"
		case ${f[0]} in
		READY)
			BOOT_US=$((${EPOCHREALTIME/./} - T_VM))
			CGROUP_CTL=${f[*]:2}
			if [[ $CGROUP == hybrid ]]; then say "VM up in $(seconds "$BOOT_US")s (guest uptime ${f[1]}s); hybrid cgroups, v1 hierarchies: $CGROUP_CTL"
			else say "VM up in $(seconds "$BOOT_US")s (guest uptime ${f[1]}s); pure cgroup v2, subtree_control: $CGROUP_CTL"
			fi
			STATE=run
			;;
		START) CURRENT=${f[1]} ;;
		END)
			if [[ $MODE == bench ]]; then
				BENCH_RC=${f[2]}
				ELAPSED[bench]=${f[3]}
				CURRENT=
				continue
			fi
			RESULT[${f[1]}]=${f[2]}
			ELAPSED[${f[1]}]=${f[3]}
			if [[ ${f[2]} == 0 ]]; then printf 'ok  \t%s\t%ss\n' "${f[1]}" "${f[3]}"
			else printf 'exit status %s\nFAIL\t%s\t%ss\n' "${f[2]}" "${f[1]}" "${f[3]}"
			fi
			CURRENT=
			;;
		SETUP-FAILED) SETUP_ERR=${f[*]:1} ;;
		DONE) STATE=done ;;
		esac
	done
	exec 3<&-
	kill "$QPID" 2>/dev/null || true
	QRC=0
	wait "$QPID" || QRC=$?
	QPID=
	VM_US=$((${EPOCHREALTIME/./} - T_VM))
	if [[ $STATE != done ]]; then
		if [[ -n $SETUP_ERR ]]; then WHY="VM setup failed: $SETUP_ERR"
		elif ((QRC == 124 || QRC == 137)); then WHY="VM timed out after ${TIMEOUT}s"
		else WHY="VM died (qemu exit status $QRC)"
		fi
		say "$WHY"
		if [[ $STATE == boot ]]; then
			say "guest console:"
			cat "$W/console.log" >&2 || true
		fi
		[[ -s $W/qemu.err ]] && { say "qemu:"; cat "$W/qemu.err" >&2; }
	fi
fi

# -------------------------------------------------------------- summary
echo
line="berth-vm: $GUEST guest, cgroup $CGROUP, kernel $KVER, $ACCEL"
[[ -z ${BOOT_US:-} ]] || line+=", boot $(seconds "$BOOT_US")s"
[[ -z ${VM_US:-} ]] || line+=", VM $(seconds "$VM_US")s"
line+=", total $(seconds $((${EPOCHREALTIME/./} - T_START)))s"
echo "$line"
if [[ $MODE == bench ]]; then
	case ${BENCH_RC:-} in
	0) printf 'ok  \tbench.sh\t%ss\n' "${ELAPSED[bench]}"; exit 0 ;;
	'') printf 'FAIL\tbench.sh\t[%s]\n' "${WHY:-VM did not run}" ;;
	*) printf 'FAIL\tbench.sh\texit status %s after %ss\n' "$BENCH_RC" "${ELAPSED[bench]}" ;;
	esac
	exit 1
fi
failed=0
for imp in "${ORDER[@]}"; do
	r=${RESULT[$imp]:-}
	case $r in
	notests) printf '?   \t%s\t[no test files]\n' "$imp" ;;
	build) printf 'FAIL\t%s [build failed]\n' "$imp"; failed=1 ;;
	0) printf 'ok  \t%s\t%ss\n' "$imp" "${ELAPSED[$imp]}" ;;
	'')
		if [[ $imp == "${CURRENT:-}" ]]; then printf 'FAIL\t%s\t[%s while it ran]\n' "$imp" "${WHY:-}"
		else printf 'FAIL\t%s\t[not run: %s]\n' "$imp" "${WHY:-VM did not run}"
		fi
		failed=1
		;;
	*) printf 'FAIL\t%s\t%ss\n' "$imp" "${ELAPSED[$imp]}"; failed=1 ;;
	esac
done
if ((failed)); then echo FAIL; exit 1; fi
