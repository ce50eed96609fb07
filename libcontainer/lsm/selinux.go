package lsm

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"berth/internal/mountinfo"
)

// SELinuxEnabled reports whether SELinux is running: selinuxfs is mounted,
// where userspace looks for it (/sys/fs/selinux) or anywhere else.
func SELinuxEnabled() bool {
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		return true
	}
	mounts, err := mountinfo.Read()
	return err == nil && hasSelinuxfs(mounts)
}

// hasSelinuxfs reports whether a mount table has a selinuxfs mount (by
// filesystem type, not by where it is mounted).
func hasSelinuxfs(mounts []mountinfo.Mount) bool {
	for _, m := range mounts {
		if m.FSType == "selinuxfs" {
			return true
		}
	}
	return false
}

// ValidateLabel checks the shape of an SELinux context,
// user:role:type[:level] (the level may itself hold colons and commas,
// "s0:c1,c2"). Whether the policy knows it is for the kernel to say. A
// double quote is refused: the label goes into mount data as context="...".
func ValidateLabel(label string) error {
	if label == "" {
		return errors.New("must not be empty")
	}
	if err := checkAttrValue(label); err != nil {
		return err
	}
	if strings.ContainsAny(label, "\" ") {
		return errors.New("must not contain spaces or double quotes")
	}
	parts := strings.SplitN(label, ":", 4)
	if len(parts) < 3 {
		return fmt.Errorf("want user:role:type[:level], got %d field(s)", len(parts))
	}
	for i, p := range parts {
		if p == "" {
			return fmt.Errorf("want user:role:type[:level], field %d is empty", i+1)
		}
	}
	return nil
}
