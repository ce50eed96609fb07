#!/bin/sh
# /init of the systemd test VM that tests/vm/run.sh --guest systemd boots
# (busybox ash, from the initramfs). It loads the modules the disk needs,
# mounts the cached Debian image (tests/vm/systemd-image.sh; qemu's
# snapshot=on keeps every write of this run out of it), copies this run's
# berth, test binaries and programs in, installs the unit that runs them
# (berth-vm-tests.service, running /berth-vm/tests.sh) and hands the
# machine to systemd as PID 1. The unit reports on the serial console in
# the lines run.sh parses and powers the VM off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. /berth-vm/config

mark() { echo "@@berth-vm $NONCE $*"; }
die() {
	mark SETUP-FAILED "$*"
	sleep 1
	poweroff -f
}

mount -t proc -o nosuid,nodev,noexec proc /proc || die "mount proc on /proc failed"
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || die "mount sysfs on /sys failed"
mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev || die "mount devtmpfs on /dev failed"
for m in $MODULES; do
	out=$(insmod "/lib/modules/$KVER/$m" 2>&1) || case $out in
		*"File exists"*) ;;
		*) echo "berth-vm: insmod $m: $out" >&2 ;;
	esac
done
# The mode udev's rules give /dev/net/tun (the image has no udev), for
# rootless podman's slirp4netns.
[ ! -c /dev/net/tun ] || chmod 0666 /dev/net/tun
i=0
while [ ! -b /dev/vda ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || die "no /dev/vda after 30s (virtio_blk loaded?)"
	sleep 0.1
done
mkdir -p /newroot
mount -t ext4 /dev/vda /newroot || die "mount the image /dev/vda on /newroot failed"
[ -x /newroot/lib/systemd/systemd ] || die "the image has no /lib/systemd/systemd"
cp -a /berth-vm /src /cprogs /newroot/ || die "copy the test files into the image failed"
# The modules this run loaded, for the guest's modprobe.
mkdir -p "/newroot/lib/modules/$KVER"
cp -a "/lib/modules/$KVER/." "/newroot/lib/modules/$KVER/"

cat >/newroot/etc/systemd/system/berth-vm-tests.service <<UNIT
[Unit]
Description=berth tests (tests/vm/run.sh --guest systemd)
Wants=dbus.service
After=dbus.service basic.target

[Service]
Type=exec
ExecStart=/bin/sh /berth-vm/tests.sh
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no
TimeoutStartSec=infinity
UNIT
mkdir -p /newroot/etc/systemd/system/multi-user.target.wants
ln -sf ../berth-vm-tests.service /newroot/etc/systemd/system/multi-user.target.wants/berth-vm-tests.service

umount /proc /sys /dev
exec switch_root /newroot /lib/systemd/systemd
die "switch_root to systemd failed"
