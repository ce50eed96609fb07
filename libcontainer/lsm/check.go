package lsm

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CheckHost refuses LSM settings this host cannot apply, before anything is
// created (see the package doc for how this compares with runc). It also
// checks their syntax, for processes that did not come through spec
// validation (exec --process). Nothing is read from the host when no LSM
// field is set.
func CheckHost(proc *specs.Process, mountLabel string) error {
	var profile, label string
	if proc != nil {
		profile, label = proc.ApparmorProfile, proc.SelinuxLabel
	}
	if profile == "" && label == "" && mountLabel == "" {
		return nil
	}
	return checkHost(profile, label, mountLabel, AppArmorEnabled, SELinuxEnabled)
}

func checkHost(profile, label, mountLabel string, appArmor, seLinux func() bool) error {
	if profile != "" {
		if err := ValidateProfile(profile); err != nil {
			return fmt.Errorf("process.apparmorProfile %q: %w", profile, err)
		}
		if !appArmor() {
			return fmt.Errorf("process.apparmorProfile %q: AppArmor is not enabled on this host (%s is not Y); remove the field or run on a kernel with AppArmor enabled", profile, appArmorEnabledPath)
		}
	}
	for _, l := range []struct{ field, value string }{
		{"process.selinuxLabel", label},
		{"linux.mountLabel", mountLabel},
	} {
		if l.value == "" {
			continue
		}
		if err := ValidateLabel(l.value); err != nil {
			return fmt.Errorf("%s %q: %w", l.field, l.value, err)
		}
		if !seLinux() {
			return fmt.Errorf("%s %q: SELinux is not enabled on this host (no selinuxfs mounted); remove the field or run on a kernel with SELinux enabled", l.field, l.value)
		}
	}
	return nil
}
