#!/usr/bin/env bash
# tests/vm/systemd-image.sh - the disk image of the systemd test guest:
# Debian 12 (bookworm) with systemd as PID 1 and D-Bus, made by mmdebstrap
# from Debian's packages into an ext4 image. Prints the image's path.
#
# The image is cached under $BERTH_VM_CACHE (default /var/cache/berth-vm),
# named by a hash of this script (which holds the package list and every
# setting), so a changed script builds a new image and an unchanged one
# is reused. The VM boots it with snapshot=on: no run writes to it.
# Building needs root and the network (Debian's mirror); on a fresh
# machine it takes a minute or two, the download most of it.
set -euo pipefail
export LC_ALL=C

SUITE=bookworm
# systemd-sysv: systemd as /sbin/init; dbus: the system bus the systemd
# driver talks over; busybox-static: the tests' container rootfs; podman,
# containerd and docker.io: engines driving berth in systemd mode (the test
# starts a dockerd of its own: the system's stays masked, off the boot).
# passwd (useradd), util-linux (setpriv), uidmap (setuid newuidmap and
# newgidmap), dbus-user-session (the bus of a user's own systemd manager)
# and slirp4netns (rootless podman's network): the rootless tests, run by
# a user the test makes.
PACKAGES=systemd-sysv,dbus,busybox-static,podman,containerd,docker.io
PACKAGES+=,passwd,util-linux,uidmap,dbus-user-session,slirp4netns
SIZE=2G

CACHE=${BERTH_VM_CACHE:-/var/cache/berth-vm}
say() { echo "berth-vm: $*" >&2; }
die() { say "$*"; exit 2; }

KEY=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
IMG=$CACHE/systemd-$SUITE-$KEY.img
if [[ -f $IMG ]]; then
	echo "$IMG"
	exit 0
fi
((EUID == 0)) || die "building the systemd guest image needs root"
for t in mmdebstrap:mmdebstrap mkfs.ext4:e2fsprogs; do
	command -v "${t%%:*}" >/dev/null || {
		say "installing ${t#*:}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${t#*:}" >/dev/null ||
			die "apt-get install ${t#*:} failed"
	}
done
mkdir -p "$CACHE"
W=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$W"' EXIT
T0=${EPOCHREALTIME/./}
say "building the systemd guest image $IMG (mmdebstrap $SUITE: $PACKAGES)"
# Documentation, manuals and locales are no use to the guest: leaving
# them out halves the image.
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
	--customize-hook='chroot "$1" systemctl mask serial-getty@.service getty@.service systemd-logind.service
		chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer 2>/dev/null || true
		chroot "$1" systemctl mask docker.service docker.socket
		chroot "$1" systemctl set-default multi-user.target
		echo berth-vm >"$1/etc/hostname"
		printf "127.0.0.1 localhost berth-vm\n::1 localhost\n" >"$1/etc/hosts"
		: >"$1/etc/fstab"
		rm -f "$1/etc/machine-id"; : >"$1/etc/machine-id"
		rm -rf "$1/var/cache/apt"/*.bin "$1/var/lib/apt/lists"/*' \
	"$SUITE" "$W/root" >&2 || die "mmdebstrap failed"
mkfs.ext4 -q -F -L berth-vm -d "$W/root" "$W/img" "$SIZE" >&2 || die "mkfs.ext4 -d failed"
mv "$W/img" "$IMG"
# Images of earlier versions of this script are no use any more.
for old in "$CACHE"/systemd-"$SUITE"-*.img; do [[ $old == "$IMG" ]] || rm -f "$old"; done
T1=${EPOCHREALTIME/./}
say "systemd guest image built in $(((T1 - T0) / 1000000))s ($(du -h "$IMG" | cut -f1) used)"
echo "$IMG"
