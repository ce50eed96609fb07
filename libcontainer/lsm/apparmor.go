package lsm

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// appArmorEnabledPath reads Y when AppArmor is the (or a) running LSM.
const appArmorEnabledPath = "/sys/module/apparmor/parameters/enabled"

// AppArmorEnabled reports whether the running kernel enforces AppArmor.
func AppArmorEnabled() bool {
	b, err := os.ReadFile(appArmorEnabledPath)
	return err == nil && parseAppArmorEnabled(string(b))
}

func parseAppArmorEnabled(s string) bool { return strings.TrimSpace(s) == "Y" }

// maxAttrValue keeps a value within the single page procfs accepts in one
// write, with room for the command word ("exec ", "permprofile ").
const maxAttrValue = 4000

// ValidateProfile checks an AppArmor profile name can be written to the
// kernel as it is: the kernel reads "exec <name>" up to the end of the
// write, so a newline or NUL would be taken into the name or cut it short.
func ValidateProfile(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	if strings.TrimSpace(name) != name {
		return errors.New("must not begin or end with white space")
	}
	return checkAttrValue(name)
}

func checkAttrValue(v string) error {
	if len(v) > maxAttrValue {
		return fmt.Errorf("longer than %d bytes", maxAttrValue)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("contains the control character %q", r)
		}
	}
	return nil
}
