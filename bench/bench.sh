#!/usr/bin/env bash
# bench.sh - start-up cost of berth next to other runc-compatible runtimes.
#
# Usage: bench/bench.sh [-n N] [-w WARMUP] [-r ROUNDS] [-m LIST] [-o DIR] [-C] BERTH_BIN [RUNTIME...]
#   a RUNTIME (or BERTH_BIN) written VAR=VALUE@PATH runs with VAR=VALUE set
#   -n N       measured iterations per runtime and metric (default 50)
#   -w WARMUP  iterations run first and not recorded (default 3)
#   -r ROUNDS  repeat every metric ROUNDS times; samples are pooled (default 1)
#   -m LIST    the metrics to measure, comma-separated, from run, create
#              (create, start and delete), exec, rss, tput (default all)
#   -T SECS    how long each throughput sample runs (default 10)
#   -o DIR     keep the raw samples in DIR (new or empty): one file per
#              metric and runtime, one sample a line (microseconds; KiB for
#              rss), plus summary.txt
#   -C         on a hybrid cgroup host, do not mask the cgroup2 controllers
#   -h         this help
# RUNTIME defaults to /usr/sbin/runc and /usr/bin/crun, those installed
# (apt-get install runc crun). Run as root. Not a test: `make test` never
# runs it.
#
# Every runtime gets its own --root state dir and the same bundle: a
# read-only busybox rootfs (static busybox, $BUSYBOX or /bin/busybox from
# busybox-static, with its applet links) and config.json from `runc spec`
# (or the first runtime whose `spec` works) with args /bin/true, terminal
# false, no cgroup namespace and linux.cgroupsPath "/bench-<pid>-<n>",
# unique per container (the runtime creates and removes it).
#
# Metrics; iteration i runs every runtime once, the order rotated by i:
#   run     `RT run ID` of /bin/true, stdio /dev/null (a container the
#           runtime keeps afterwards is deleted, untimed)
#   create  `RT create --pid-file F ID`
#   start   `RT start ID`; then, untimed, wait until the pid is a zombie or gone
#   delete  `RT delete ID` of that stopped container
#   exec    `RT exec ID /bin/true` into a running `sleep 1000` container
#   tput    throughput: 2 launchers side by side, each running `RT run` of
#           /bin/true (own id and cgroup each time) back to back for -T
#           seconds; the sample is completed runs per second of both. One
#           sample per runtime per round (-r), runtimes one after another.
#   rss     peak RSS (KiB) of `RT run` of /bin/true from /usr/bin/time %M:
#           ru_maxrss of the largest single process among the runtime and
#           the descendants it waited for, not a sum
# Times are wall clock from bash's EPOCHREALTIME around fork+exec+wait of
# the command, so every runtime carries the same harness cost. A runtime
# that fails a metric once gets "n/a (failed: <first stderr line>)" there
# and is skipped for the rest of that metric.
#
# Hybrid hosts (cgroup v1 controllers plus cgroup2 with controllers at
# /sys/fs/cgroup/unified): crun refuses them, so the script re-runs itself
# in a private mount namespace and bind-mounts an empty file over
# /sys/fs/cgroup/unified/cgroup.controllers there. The host's mounts do not
# change; every runtime sees the same view. A pure cgroup v2 (or v1) host
# is used as it is; the report's "cgroups:" line names the mode.
#
# Containers get ids bb<pid>-<n>; all of them, their cgroups and the temp
# dir are removed on exit, also on error or Ctrl-C. Besides bash, jq and GNU
# time the script needs only what busybox has too, so it also runs in the
# busybox VM of tests/vm/run.sh --bench.

set -u -o pipefail
export LC_ALL=C

SCRIPT=$(readlink -f -- "${BASH_SOURCE[0]}")
ARGS=("$@")

die() {
	printf 'bench: %s\n' "$*" >&2
	exit 2
}
progress() { printf '# %s\n' "$*" >&2; }
usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$SCRIPT"; }

N=50 WARMUP=3 ROUNDS=1 RAWOUT="" MASK=1 METRICS=run,create,exec,rss,tput TPUT_SECS=10
while getopts n:w:r:m:o:T:Ch opt; do
	case $opt in
	n) N=$OPTARG ;;
	w) WARMUP=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	m) METRICS=$OPTARG ;;
	o) RAWOUT=$OPTARG ;;
	T) TPUT_SECS=$OPTARG ;;
	C) MASK=0 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { usage >&2; exit 2; }
[[ $N =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number, not '$N'"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "-w wants a number, not '$WARMUP'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "-r wants a positive number, not '$ROUNDS'"
[[ $TPUT_SECS =~ ^[1-9][0-9]*$ ]] || die "-T wants a positive number, not '$TPUT_SECS'"
declare -A WANT=()
IFS=, read -r -a mlist <<<"$METRICS"
for m in "${mlist[@]}"; do
	case $m in
	run | create | exec | rss | tput) WANT[$m]=1 ;;
	*) die "-m: unknown metric '$m' (run, create, exec, rss, tput)" ;;
	esac
done
[ ${#WANT[@]} -gt 0 ] || die "-m wants at least one metric"
[ "${BASH_VERSINFO[0]}" -ge 5 ] || die "needs bash 5 or later (EPOCHREALTIME)"
[ "$(id -u)" = 0 ] || die "must run as root"
for tool in jq awk sort unshare mount stat; do
	command -v "$tool" >/dev/null || die "$tool not found on PATH"
done

# ---- cgroup view: on a hybrid host, re-run in a private mount namespace

CG2_CONTROLLERS=/sys/fs/cgroup/unified/cgroup.controllers
# The filesystem magic, not its name: busybox stat calls cgroup2 UNKNOWN.
CGROUP2_MAGIC=63677270
fsmagic() { stat -f -c %t "$1" 2>/dev/null; }
cgroup_mode() {
	if [ "$(fsmagic /sys/fs/cgroup)" = "$CGROUP2_MAGIC" ]; then
		echo "v2 (unified)"
	elif [ "$(fsmagic /sys/fs/cgroup/unified)" = "$CGROUP2_MAGIC" ]; then
		echo "hybrid (v1 controllers + cgroup2 at /sys/fs/cgroup/unified)"
	else
		echo "v1 (legacy)"
	fi
}
if [ -z "${BERTH_BENCH_NS:-}" ] && [ "$MASK" = 1 ] &&
	[[ $(cgroup_mode) == hybrid* ]] && [ -n "$(cat "$CG2_CONTROLLERS" 2>/dev/null)" ]; then
	BERTH_BENCH_NS=$$ exec unshare --mount --propagation private -- "$BASH" "$SCRIPT" "${ARGS[@]}"
	die "unshare --mount failed"
fi
# Only the re-run process masks, and only when it really is the unshared
# process the parent meant (same pid: unshare without --fork execs in place).
MASKED=0
[ "${BERTH_BENCH_NS:-}" = "$$" ] && MASKED=1
unset BERTH_BENCH_NS

# ---- runtimes

RT_PATH=() RT_NAME=() RT_ENV=()
# add_runtime [VAR=VALUE@]PATH: the runtime at PATH, run with VAR=VALUE in
# its environment when given (e.g. BERTH_SELF_EXE=plain@./berth to time
# berth without its CVE-2019-5736 protection next to the real thing)
add_runtime() {
	local path name k env=""
	if [[ $1 == *=*@* ]]; then
		env=${1%%@*}
		set -- "${1#*@}"
	fi
	path=$(command -v -- "$1") || die "runtime not found: $1"
	[[ $path == /* ]] || path=$PWD/$path
	[ -f "$path" ] && [ -x "$path" ] || die "not an executable file: $path"
	name=${path##*/}
	[ -z "$env" ] || name="$name[${env#*=}]"
	for k in "${RT_NAME[@]}"; do
		[ "$k" = "$name" ] && name="$name#$((${#RT_NAME[@]} + 1))"
	done
	RT_PATH+=("$path") RT_NAME+=("$name") RT_ENV+=("$env")
}
MISSING=()
add_runtime "$1"
shift
if [ $# -gt 0 ]; then
	for r in "$@"; do add_runtime "$r"; done
else
	for r in /usr/sbin/runc /usr/bin/crun; do
		if [ -x "$r" ]; then add_runtime "$r"; else MISSING+=("$r"); fi
	done
fi
NRT=${#RT_PATH[@]}

# ---- work dir and cleanup

if [ -n "$RAWOUT" ]; then
	mkdir -p -- "$RAWOUT" || die "cannot create $RAWOUT"
	[ -z "$(ls -A -- "$RAWOUT")" ] || die "-o $RAWOUT: directory is not empty"
	RAWOUT=$(readlink -f -- "$RAWOUT")
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX") || die "mktemp failed"
RAW=${RAWOUT:-$WORK/raw}
BUNDLE=$WORK/bundle
ERRF=$WORK/stderr
mkdir -p "$RAW" "$BUNDLE" || die "cannot populate $WORK"
for ((i = 0; i < NRT; i++)); do mkdir -p "$WORK/state/$i"; done

declare -A LIVE=() # container id -> runtime index, for every container that may still exist
CLEANED=0
cleanup() {
	[ "$CLEANED" = 1 ] && return
	CLEANED=1
	trap '' INT TERM
	local id i d left=()
	for id in "${!LIVE[@]}"; do
		rt "${LIVE[$id]}" delete -f "$id" </dev/null >/dev/null 2>&1 ||
			printf 'bench: could not delete container %s (%s)\n' "$id" "${RT_NAME[${LIVE[$id]}]}" >&2
	done
	# A runtime whose list works may know of containers the script lost track of.
	for ((i = 0; i < NRT; i++)); do
		for id in $(rt "$i" list -q 2>/dev/null </dev/null); do
			[[ $id == "bb$$-"* ]] && rt "$i" delete -f "$id" </dev/null >/dev/null 2>&1
		done
	done
	for d in /sys/fs/cgroup/bench-"$$"-* /sys/fs/cgroup/*/bench-"$$"-*; do
		[ -d "$d" ] || continue
		rmdir "$d" 2>/dev/null || left+=("$d")
	done
	[ ${#left[@]} -eq 0 ] || printf 'bench: cgroups left behind (not empty): %s\n' "${left[*]}" >&2
	if [ "$MASKED" = 1 ]; then umount "$CG2_CONTROLLERS" 2>/dev/null; fi
	remove_work
}
# remove_work: rm -rf $WORK without crossing into a mount a runtime may have
# left there; busybox rm lacks --one-file-system, so without it the tree is
# only removed when mountinfo shows nothing mounted inside.
remove_work() {
	rm -rf --one-file-system -- "$WORK" 2>/dev/null && return
	[ -e "$WORK" ] || return 0
	if awk -v w="$WORK" '$5 == w || index($5, w "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		printf 'bench: %s left behind: something is mounted inside it\n' "$WORK" >&2
	else
		rm -rf -- "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$MASKED" = 1 ]; then
	: >"$WORK/empty"
	mount --bind -o ro "$WORK/empty" "$CG2_CONTROLLERS" || die "cannot mask $CG2_CONTROLLERS"
fi

# ---- bundle

BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || die "no $BUSYBOX (apt-get install busybox-static, or set BUSYBOX)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked; a static one is needed (busybox-static)"
fi
ROOTFS=$BUNDLE/rootfs
mkdir -p "$ROOTFS"/{bin,dev,proc,sys,tmp,etc,root}
cp -- "$BUSYBOX" "$ROOTFS/bin/busybox"
for applet in $("$ROOTFS/bin/busybox" --list); do
	[ -e "$ROOTFS/bin/$applet" ] || ln -s busybox "$ROOTFS/bin/$applet"
done
[ -e "$ROOTFS/bin/true" ] && [ -e "$ROOTFS/bin/sleep" ] || die "$BUSYBOX lacks the true or sleep applet"
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOTFS/etc/passwd"
echo 'root:x:0:' >"$ROOTFS/etc/group"

# The base config comes from runc when it is here, so that berth is measured
# on the config it must be compatible with.
SPEC_FROM=""
for r in /usr/sbin/runc "${RT_PATH[@]}"; do
	[ -x "$r" ] || continue
	rm -f "$BUNDLE/config.json"
	if (cd "$BUNDLE" && "$r" spec) </dev/null >/dev/null 2>&1 && [ -s "$BUNDLE/config.json" ]; then
		SPEC_FROM="${r##*/} spec"
		break
	fi
done
[ -n "$SPEC_FROM" ] || die "no runtime could write a config.json with 'spec'"
BASE=$(jq '
	.process.terminal = false
	| .root = {path: "rootfs", readonly: true}
	| .linux.namespaces |= map(select(.type != "cgroup"))
	| .linux.cgroupsPath = "@CGROUP@"' "$BUNDLE/config.json") || die "jq could not edit config.json"
CFG_TRUE=$(jq '.process.args = ["/bin/true"]' <<<"$BASE")
CFG_SLEEP=$(jq '.process.args = ["/bin/sleep", "1000"]' <<<"$BASE")
CFG_TPUT=$(jq --arg root "$BUNDLE/rootfs" '.root.path = $root' <<<"$CFG_TRUE")

# ---- helpers

# rt I ARGS...: the runtime I with its own state dir
rt() {
	# local -x exports to this call only, without an extra exec of env(1).
	[ -z "${RT_ENV[$1]}" ] || local -x "${RT_ENV[$1]}"
	"${RT_PATH[$1]}" --root "$WORK/state/$1" "${@:2}"
}

SEQ=0 ID=""
# new_container CONFIG I: next id, its config.json in the bundle, marked live for I
new_container() {
	SEQ=$((SEQ + 1))
	ID="bb$$-$SEQ"
	printf '%s\n' "${1//@CGROUP@//bench-$$-$SEQ}" >"$BUNDLE/config.json"
	LIVE[$ID]=$2
}

# discard I: remove container $ID if runtime I still keeps it (untimed)
discard() {
	if rt "$1" state "$ID" </dev/null >/dev/null 2>&1; then
		rt "$1" delete -f "$ID" </dev/null >/dev/null 2>&1 || return
	fi
	unset 'LIVE[$ID]'
}

# tm CMD...: run CMD with stdio detached, stderr in $ERRF; DT = wall time (µs), RC = status
DT=0 RC=0
tm() {
	local t0 t1
	RC=0
	t0=${EPOCHREALTIME/./}
	"$@" </dev/null >/dev/null 2>"$ERRF" || RC=$?
	t1=${EPOCHREALTIME/./}
	DT=$((t1 - t0))
	return $RC
}

declare -A FAIL=() # metric.I -> why it is n/a
# fail I WHAT METRIC...: mark METRICs n/a for runtime I, quoting the failed command's stderr
fail() {
	local i=$1 what=$2 line="" m
	shift 2
	[ -r "$ERRF" ] && line=$(grep -m1 . "$ERRF")
	[ -n "$line" ] || line="exit status $RC, no stderr"
	for m in "$@"; do FAIL[$m.$i]="$what: $line"; done
}

KEEP=0 # 1 once warm-up is over
rawfile() { echo "$RAW/$1.${RT_NAME[$2]//[^A-Za-z0-9._-]/_}"; }
rec() { [ "$KEEP" = 1 ] && echo "$3" >>"$(rawfile "$1" "$2")"; } # rec METRIC I VALUE

# wait_gone PID: until the process is a zombie or gone (10 s at most)
wait_gone() {
	local st limit=$((EPOCHSECONDS + 10))
	while { read -r st <"/proc/$1/stat"; } 2>/dev/null; do
		st=${st##*) }
		[[ ${st%% *} == [ZX] ]] && return 0
		[ "$EPOCHSECONDS" -lt "$limit" ] || return 1
	done
	return 0
}

# interleave KEY FUNC: WARMUP+N iterations, each running FUNC I for every
# runtime I not yet failed at KEY, in an order rotated by the iteration
interleave() {
	local key=$1 fn=$2 it k i
	for ((it = 0; it < WARMUP + N; it++)); do
		KEEP=0
		[ "$it" -ge "$WARMUP" ] && KEEP=1
		for ((k = 0; k < NRT; k++)); do
			i=$(((k + it) % NRT))
			[ -n "${FAIL[$key.$i]:-}" ] || "$fn" "$i"
		done
	done
	KEEP=0
}

# ---- metrics

one_run() {
	local i=$1
	new_container "$CFG_TRUE" "$i"
	if tm rt "$i" run --bundle "$BUNDLE" "$ID"; then
		rec run "$i" "$DT"
	else
		fail "$i" run run
	fi
	discard "$i"
}

one_phases() {
	local i=$1 pid="" tc ts
	new_container "$CFG_TRUE" "$i"
	rm -f "$WORK/pid"
	if ! tm rt "$i" create --bundle "$BUNDLE" --pid-file "$WORK/pid" "$ID"; then
		fail "$i" create create start delete
		discard "$i"
		return
	fi
	tc=$DT
	read -r pid <"$WORK/pid" 2>/dev/null
	if ! [[ $pid =~ ^[0-9]+$ ]]; then
		: >"$ERRF"
		RC=0
		fail "$i" "create wrote no pid to --pid-file" create start delete
		discard "$i"
		return
	fi
	if ! tm rt "$i" start "$ID"; then
		fail "$i" start start delete
		discard "$i"
		return
	fi
	ts=$DT
	if ! wait_gone "$pid"; then
		echo "container process $pid of /bin/true still running after 10 s" >"$ERRF"
		fail "$i" "start" start delete
		discard "$i"
		return
	fi
	if ! tm rt "$i" delete "$ID"; then
		fail "$i" delete delete
		discard "$i"
		return
	fi
	unset 'LIVE[$ID]'
	rec create "$i" "$tc"
	rec start "$i" "$ts"
	rec delete "$i" "$DT"
}

EXEC_ID=()
one_exec() {
	local i=$1
	if tm rt "$i" exec "${EXEC_ID[$i]}" /bin/true; then
		rec exec "$i" "$DT"
	else
		fail "$i" exec exec
	fi
}
measure_exec() {
	local i
	for ((i = 0; i < NRT; i++)); do
		EXEC_ID[i]=""
		[ -n "${FAIL[exec.$i]:-}" ] && continue
		new_container "$CFG_SLEEP" "$i"
		if tm rt "$i" run -d --bundle "$BUNDLE" "$ID"; then
			EXEC_ID[i]=$ID
		else
			fail "$i" "run -d of sleep 1000" exec
			discard "$i"
		fi
	done
	interleave exec one_exec
	for ((i = 0; i < NRT; i++)); do
		[ -n "${EXEC_ID[i]}" ] || continue
		rt "$i" delete -f "${EXEC_ID[i]}" </dev/null >/dev/null 2>&1 && unset 'LIVE[${EXEC_ID[i]}]'
	done
}

# launcher I L END: runs of /bin/true by runtime I until END (EPOCHREALTIME
# microseconds), in bundle dir L of its own; prints how many completed
launcher() {
	local i=$1 dir=$WORK/tput/$2 end=$3 n=0 k=0 id
	mkdir -p "$dir"
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		k=$((k + 1))
		id="bb$$-t$2-$k"
		printf '%s\n' "${CFG_TPUT//@CGROUP@//bench-$$-t$2-$k}" >"$dir/config.json"
		if rt "$i" run --bundle "$dir" "$id" </dev/null >/dev/null 2>"$dir/err"; then
			n=$((n + 1))
		else
			rt "$i" delete -f "$id" </dev/null >/dev/null 2>&1
			[ "$n" -gt 0 ] || break # fails from the start: the count says 0
		fi
	done
	echo "$n"
}
measure_tput() {
	local k i end a b
	for ((k = 0; k < NRT; k++)); do
		i=$(((k + round) % NRT))
		[ -z "${FAIL[tput.$i]:-}" ] || continue
		end=$((${EPOCHREALTIME/./} + TPUT_SECS * 1000000))
		launcher "$i" 0 "$end" >"$WORK/tput.0" &
		launcher "$i" 1 "$end" >"$WORK/tput.1" &
		wait
		read -r a <"$WORK/tput.0"
		read -r b <"$WORK/tput.1"
		if [ "$((a + b))" -eq 0 ]; then
			FAIL[tput.$i]=$(head -n 1 "$WORK/tput/0/err" 2>/dev/null)
			continue
		fi
		KEEP=1 rec tput "$i" "$(((a + b) * 100 / TPUT_SECS))"
	done
}

TIME_BIN=/usr/bin/time
one_rss() {
	local i=$1 lines
	new_container "$CFG_TRUE" "$i"
	rm -f "$WORK/rss"
	if tm "$TIME_BIN" -f %M -o "$WORK/rss" "${RT_PATH[$i]}" --root "$WORK/state/$i" run --bundle "$BUNDLE" "$ID"; then
		mapfile -t lines <"$WORK/rss"
		rec rss "$i" "${lines[-1]}"
	else
		fail "$i" run rss
	fi
	discard "$i"
}
measure_rss() {
	local i
	if [ ! -x "$TIME_BIN" ]; then
		for ((i = 0; i < NRT; i++)); do
			FAIL[rss.$i]="$TIME_BIN not installed (apt-get install time)"
		done
		return
	fi
	interleave rss one_rss
}

# ---- report

# stats FILE DIV DECIMALS -> "median p10 p90 n" (nearest-rank percentiles)
stats() {
	sort -n "$1" | awk -v d="$2" -v dp="$3" '
		{ a[NR] = $1 }
		function rank(p,  r) { r = int(p * NR); if (r < p * NR) r++; return a[r < 1 ? 1 : r] }
		END {
			m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			f = "%." dp "f"
			printf f " " f " " f " %d\n", m / d, rank(0.1) / d, rank(0.9) / d, NR
		}'
}

report_metric() { # METRIC TITLE UNIT DIV DECIMALS
	local m=$1 title=$2 unit=$3 div=$4 dp=$5 i f med p10 p90 n ratios=""
	local -a medians=()
	printf '\n%s (%s)\n' "$title" "$unit"
	printf '  %-12s %10s %10s %10s %5s\n' runtime median p10 p90 n
	for ((i = 0; i < NRT; i++)); do
		f=$(rawfile "$m" "$i")
		if [ -n "${FAIL[$m.$i]:-}" ]; then
			printf '  %-12s n/a (failed: %s)\n' "${RT_NAME[i]}" "${FAIL[$m.$i]}"
		elif [ -s "$f" ]; then
			read -r med p10 p90 n <<<"$(stats "$f" "$div" "$dp")"
			printf '  %-12s %10s %10s %10s %5s\n' "${RT_NAME[i]}" "$med" "$p10" "$p90" "$n"
			medians[i]=$(stats "$f" 1 3 | cut -d' ' -f1)
		else
			printf '  %-12s n/a (no samples)\n' "${RT_NAME[i]}"
		fi
	done
	for ((i = 1; i < NRT; i++)); do
		if [ -n "${medians[0]:-}" ] && [ -n "${medians[i]:-}" ]; then
			ratios+=$(awk -v a="${medians[0]}" -v b="${medians[i]}" -v l="${RT_NAME[0]}/${RT_NAME[i]}" \
				'BEGIN { if (b > 0) printf "  %s %.2f", l, a / b; else printf "  %s n/a", l }')
		else
			ratios+="  ${RT_NAME[0]}/${RT_NAME[i]} n/a"
		fi
	done
	[ -z "$ratios" ] || printf '  ratio of medians:%s\n' "$ratios"
}

report() {
	local i m skipped=()
	echo "berth bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host: kernel $(uname -r), nproc $(nproc), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), cpu $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "cgroups: $(cgroup_mode)$([ "$MASKED" = 1 ] && echo "; cgroup2 controllers masked in a private mount namespace")"
	echo "bundle: busybox rootfs (read-only), config from '$SPEC_FROM', args /bin/true, cgroupsPath /bench-$$-<n>"
	echo "iterations: $N measured + $WARMUP warm-up per round, $ROUNDS round(s), interleaved"
	for ((i = 0; i < NRT; i++)); do
		printf 'runtime %s: %s (%s)\n' "${RT_NAME[i]}" "${RT_PATH[i]}" \
			"$(rt "$i" --version </dev/null 2>&1 | head -n 1)"
	done
	for r in "${MISSING[@]}"; do echo "runtime $r: not installed, skipped"; done
	[ -z "${WANT[run]:-}" ] || report_metric run "run /bin/true" ms 1000 2
	if [ -n "${WANT[create]:-}" ]; then
		report_metric create "create" ms 1000 2
		report_metric start "start" ms 1000 2
		report_metric delete "delete (stopped container)" ms 1000 2
	fi
	[ -z "${WANT[exec]:-}" ] || report_metric exec "exec /bin/true into a running container" ms 1000 2
	[ -z "${WANT[rss]:-}" ] || report_metric rss "peak RSS of run /bin/true" KiB 1 0
	[ -z "${WANT[tput]:-}" ] || report_metric tput "throughput, 2 launchers of run /bin/true for ${TPUT_SECS} s" "runs/s" 100 1
	for m in run create exec rss tput; do [ -n "${WANT[$m]:-}" ] || skipped+=("$m"); done
	[ ${#skipped[@]} -eq 0 ] || printf '\nnot measured (-m %s): %s\n' "$METRICS" "${skipped[*]}"
}

for ((round = 1; round <= ROUNDS; round++)); do
	if [ -n "${WANT[run]:-}" ]; then
		progress "round $round/$ROUNDS: run"
		interleave run one_run
	fi
	if [ -n "${WANT[create]:-}" ]; then
		progress "round $round/$ROUNDS: create/start/delete"
		# every failed step marks delete n/a, so that key stops the whole sequence
		interleave delete one_phases
	fi
	if [ -n "${WANT[exec]:-}" ]; then
		progress "round $round/$ROUNDS: exec"
		measure_exec
	fi
	if [ -n "${WANT[rss]:-}" ]; then
		progress "round $round/$ROUNDS: rss"
		measure_rss
	fi
	if [ -n "${WANT[tput]:-}" ]; then
		progress "round $round/$ROUNDS: throughput"
		measure_tput
	fi
done

if [ -n "$RAWOUT" ]; then
	report | tee "$RAWOUT/summary.txt"
else
	report
fi
