#!/usr/bin/env bash
# unpack.sh - how fast `berth bundle --image` unpacks an image, next to
# `umoci unpack` of the same OCI layout.
#
# Usage: bench/unpack.sh [-n N] [-s MB] [-d DIR] [-k] BERTH_BIN
#   -n N    measured runs of each tool (default 3); the median is reported
#   -s MB   about how many MB of files the layers hold (default 200)
#   -d DIR  work directory on the filesystem to measure (default: a new
#           directory under /var/tmp); the image is built there once
#   -k      keep the work directory (and the image, reused by a later -d)
#   -h      this help
# Run as root (both tools restore file owners). Needs umoci (apt-get
# install umoci) and gzip; not a test: `make test` never runs it.
#
# The image, built with umoci from local directories (no registry), has
# four gzip layers:
#   1. incompressible: a few large files of random bytes (40% of -s)
#   2. compressible: large text files of numbers (30%)
#   3. many small files: thousands of 1-8 KiB files in nested directories,
#      half random, half text (20%)
#   4. changes: rewritten and new files (10%), whiteouts of files of
#      layers 1 and 3, an opaque directory
# Both tools are run once untimed to warm the page cache (the cache is
# never dropped), then N times each, interleaved and alternating which one
# goes first. Every run unpacks into a new directory, and `sync` runs
# between runs, untimed, so that neither tool pays for the other's
# writeback. The unpacked trees are removed only at the end: ext4 without
# a journal skips inodes freed in the last minutes when it allocates
# (recently_deleted), so a run right after removing 10000 files spends
# most of its time scanning inode tables; for the same reason, a second
# invocation within minutes of the first measures slower. Times are wall
# clock around the command.
# umoci unpack also writes an mtree manifest of the rootfs (hashing every
# file); berth checks both the compressed and the uncompressed digest of
# every layer while it unpacks.

set -eu
export LC_ALL=C

N=3
SIZE=200
DIR=
KEEP=0
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
while getopts n:s:d:kh opt; do
	case $opt in
	n) N=$OPTARG ;;
	s) SIZE=$OPTARG ;;
	d) DIR=$OPTARG ;;
	k) KEEP=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { usage >&2; exit 2; }
BERTH=$(readlink -f -- "$1")
[ -x "$BERTH" ] || { echo "unpack: $1 is not executable" >&2; exit 2; }
command -v umoci >/dev/null || { echo "unpack: umoci not found: apt-get install umoci" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "unpack: run as root" >&2; exit 2; }

if [ -z "$DIR" ]; then
	DIR=$(mktemp -d /var/tmp/berth-unpack-XXXXXX)
fi
mkdir -p "$DIR"
cleanup() {
	rm -rf "$DIR/out"
	[ "$KEEP" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT

# mkfiles DIR COUNT SIZE_KIB KIND: COUNT files of SIZE_KIB in DIR, of
# random bytes (rand) or text (text).
mkfiles() {
	local d=$1 count=$2 kib=$3 kind=$4 i
	mkdir -p "$d"
	for ((i = 0; i < count; i++)); do
		if [ "$kind" = rand ]; then
			head -c $((kib * 1024)) /dev/urandom >"$d/f$i"
		else
			seq -f "line %.0f of a compressible file $i" 1 1000000 | head -c $((kib * 1024)) >"$d/f$i"
		fi
	done
}

build_image() {
	local src=$DIR/src mb=$SIZE i
	rm -rf "$src" "$DIR/layout"
	echo "building a ${SIZE} MB image in $DIR/layout ..." >&2
	# 1: incompressible, four large files.
	mkfiles "$src/1/data/rand" 4 $((mb * 1024 * 40 / 100 / 4)) rand
	# 2: compressible, six large text files.
	mkfiles "$src/2/data/text" 6 $((mb * 1024 * 30 / 100 / 6)) text
	# 3: many small files (1-8 KiB), half random, half text.
	local small=$((mb * 1024 * 20 / 100 / 4)) # 4 KiB on average
	for ((i = 0; i < small; i++)); do
		local d=$src/3/small/d$((i % 50))/e$((i % 7))
		[ -d "$d" ] || mkdir -p "$d"
		if ((i % 2)); then
			head -c $(((i % 8 + 1) * 1024)) /dev/urandom >"$d/f$i"
		else
			seq -f "small file $i line %.0f" 1 400 | head -c $(((i % 8 + 1) * 1024)) >"$d/f$i"
		fi
	done
	# 4: changes: rewritten large files and new small ones.
	mkfiles "$src/4/data/rand" 1 $((mb * 1024 * 5 / 100)) rand
	mkfiles "$src/4/data/new" 200 $((mb * 1024 * 5 / 100 / 200)) text
	mkdir -p "$src/opq" && echo only >"$src/opq/only"

	local img=$DIR/layout:t
	umoci init --layout "$DIR/layout"
	umoci new --image "$img"
	for i in 1 2 3 4; do
		umoci insert --image "$img" "$src/$i" /
	done
	umoci insert --image "$img" --whiteout /data/rand/f1
	umoci insert --image "$img" --whiteout /small/d3
	umoci insert --image "$img" --opaque "$src/opq" /small/d4
	umoci config --image "$img" --config.cmd /bin/true
	rm -rf "$src"
	touch "$DIR/layout/.complete-$SIZE"
}

[ -e "$DIR/layout/.complete-$SIZE" ] || build_image
img=$DIR/layout:t

now() { echo "${EPOCHREALTIME/./}"; }
rm -rf "$DIR/out"
mkdir -p "$DIR/out"
# run_one TOOL N: unpacks into out/TOOL-N and prints how many
# milliseconds it took.
run_one() {
	local t0 t1 out=$DIR/out/$1-$2
	sync
	case $1 in
	berth)
		t0=$(now)
		"$BERTH" bundle --image "$img" "$out" >/dev/null
		t1=$(now)
		;;
	umoci)
		t0=$(now)
		umoci unpack --image "$img" "$out" >/dev/null
		t1=$(now)
		;;
	esac
	echo $(((t1 - t0) / 1000))
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

run_one berth warm >/dev/null
run_one umoci warm >/dev/null
du=$(du -sm "$DIR/out/umoci-warm/rootfs" | cut -f1)
files=$(find "$DIR/out/umoci-warm/rootfs" | wc -l)
blobs=$(du -smc "$DIR"/layout/blobs/sha256/* | tail -1 | cut -f1)

b=() u=()
for ((i = 0; i < N; i++)); do
	if ((i % 2)); then
		u+=("$(run_one umoci $i)")
		b+=("$(run_one berth $i)")
	else
		b+=("$(run_one berth $i)")
		u+=("$(run_one umoci $i)")
	fi
done
mb=$(median "${b[@]}")
mu=$(median "${u[@]}")
layers=0
for f in "$DIR"/layout/blobs/sha256/*; do
	[ "$(od -An -tx1 -N2 "$f" | tr -d ' ')" = 1f8b ] && layers=$((layers + 1))
done
printf 'image: %s gzip layers, %s MB of blobs; unpacked %s MB, %s entries\n' "$layers" "$blobs" "$du" "$files"
printf '%-14s median %6d ms  runs: %s\n' "berth bundle" "$mb" "${b[*]}"
printf '%-14s median %6d ms  runs: %s\n' "umoci unpack" "$mu" "${u[*]}"
awk -v b="$mb" -v u="$mu" 'BEGIN { printf "berth/umoci    %.2f\n", b / u }'
