package systemd

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/devices"
)

// Prop is one unit property as systemd's D-Bus API types it (uint64 for
// sizes and weights, []byte for CPU and node masks, []DeviceAllow, ...).
// It stays free of D-Bus types so that it can be computed and tested
// without a bus.
type Prop struct {
	Name  string
	Value any
}

// Infinity is systemd's "no limit" for the uint64 properties.
const Infinity = uint64(math.MaxUint64)

// DeviceAllow is an entry of the DeviceAllow property: a device path
// ("/dev/char/1:3"), or "char-NAME"/"block-NAME" for every device of the
// majors /proc/devices names NAME (a glob), and "rwm" permissions.
type DeviceAllow struct {
	Path  string
	Perms string
}

// IODevice is an entry of IODeviceWeight (Value a weight) and of the
// bandwidth and IOPS limits (Value per second).
type IODevice struct {
	Path  string
	Value uint64
}

// StartProperties are the properties of the unit StartTransientUnit
// makes: where it lives, what it is, and, for a scope, the process it
// starts with and the delegation of its cgroup to the container.
func StartProperties(u Unit, description string, pid int) []Prop {
	props := []Prop{{"Description", description}}
	if u.IsSlice() {
		// A slice's place comes from its name; Wants= keeps the parent
		// active while it is.
		if u.Slice != "-.slice" {
			props = append(props, Prop{"Wants", []string{u.Slice}})
		}
	} else {
		props = append(props,
			Prop{"Slice", u.Slice},
			// The container manages its cgroup's inside (sub-cgroups,
			// controllers), systemd leaves it alone.
			Prop{"Delegate", true},
			Prop{"PIDs", []uint32{uint32(pid)}},
		)
	}
	return append(props,
		// Not ordered against shutdown.target and the like: the
		// container's own lifecycle decides, as for runc's scopes.
		Prop{"DefaultDependencies", false},
		Prop{"MemoryAccounting", true},
		Prop{"CPUAccounting", true},
		Prop{"IOAccounting", true},
		Prop{"TasksAccounting", true},
	)
}

// ResourceProperties turns linux.resources into the unit properties
// systemd has for them (cgroup v2): MemoryMax, MemoryLow, MemoryHigh
// (from unified "memory.high"), MemorySwapMax, CPUWeight, CPUQuotaPerSecUSec
// with CPUQuotaPeriodUSec, AllowedCPUs, AllowedMemoryNodes, TasksMax,
// IOWeight, IODeviceWeight, the IO bandwidth and IOPS maxima, DevicePolicy
// and DeviceAllow. majorName names a device major as /proc/devices does
// (for "char-NAME" rules). The same conversions as the fs driver's are
// used, so unit and cgroup files agree.
func ResourceProperties(r *specs.LinuxResources, majorName func(t devices.Type, major int64) (string, bool)) ([]Prop, error) {
	var props []Prop
	add := func(name string, v any) { props = append(props, Prop{name, v}) }
	if r == nil {
		r = &specs.LinuxResources{}
	}
	if m := r.Memory; m != nil {
		if m.Limit != nil {
			add("MemoryMax", limit(*m.Limit))
		}
		if m.Reservation != nil {
			add("MemoryLow", limit(*m.Reservation))
		}
		if m.Swap != nil {
			var l int64
			if m.Limit != nil {
				l = *m.Limit
			}
			s, err := cgroups.SwapToV2(l, *m.Swap)
			if err != nil {
				return nil, err
			}
			if s == "max" {
				add("MemorySwapMax", Infinity)
			} else {
				n, _ := strconv.ParseUint(s, 10, 64)
				add("MemorySwapMax", n)
			}
		}
	}
	if v, ok := r.Unified["memory.high"]; ok {
		if v == "max" {
			add("MemoryHigh", Infinity)
		} else {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("linux.resources.unified[\"memory.high\"] %q: neither \"max\" nor a number of bytes", v)
			}
			add("MemoryHigh", n)
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			add("CPUWeight", cgroups.SharesToWeight(*c.Shares))
		}
		cpuQuota(c, add)
		if c.Cpus != "" {
			mask, err := ListToMask(c.Cpus)
			if err != nil {
				return nil, fmt.Errorf("linux.resources.cpu.cpus %q: %w", c.Cpus, err)
			}
			add("AllowedCPUs", mask)
		}
		if c.Mems != "" {
			mask, err := ListToMask(c.Mems)
			if err != nil {
				return nil, fmt.Errorf("linux.resources.cpu.mems %q: %w", c.Mems, err)
			}
			add("AllowedMemoryNodes", mask)
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		add("TasksMax", limit(*p.Limit))
	}
	if b := r.BlockIO; b != nil {
		if b.Weight != nil && *b.Weight != 0 {
			add("IOWeight", cgroups.BlkioWeightToIOWeight(uint64(*b.Weight)))
		}
		var w []IODevice
		for _, d := range b.WeightDevice {
			if d.Weight != nil && *d.Weight != 0 {
				w = append(w, IODevice{blockPath(d.Major, d.Minor), cgroups.BlkioWeightToIOWeight(uint64(*d.Weight))})
			}
		}
		if len(w) > 0 {
			add("IODeviceWeight", w)
		}
		for _, t := range []struct {
			name string
			devs []specs.LinuxThrottleDevice
		}{
			{"IOReadBandwidthMax", b.ThrottleReadBpsDevice},
			{"IOWriteBandwidthMax", b.ThrottleWriteBpsDevice},
			{"IOReadIOPSMax", b.ThrottleReadIOPSDevice},
			{"IOWriteIOPSMax", b.ThrottleWriteIOPSDevice},
		} {
			var l []IODevice
			for _, d := range t.devs {
				l = append(l, IODevice{blockPath(d.Major, d.Minor), d.Rate})
			}
			if len(l) > 0 {
				add(t.name, l)
			}
		}
	}
	rules, err := devices.Effective(r.Devices)
	if err != nil {
		return nil, err
	}
	policy, allow := DeviceProperties(rules, majorName)
	add("DevicePolicy", policy)
	add("DeviceAllow", allow)
	return props, nil
}

// limit is a memory size, negative meaning no limit.
func limit(v int64) uint64 {
	if v < 0 {
		return Infinity
	}
	return uint64(v)
}

func blockPath(major, minor int64) string {
	return "/dev/block/" + strconv.FormatInt(major, 10) + ":" + strconv.FormatInt(minor, 10)
}

// QuotaPerSec converts a CFS quota and period (microseconds) to systemd's
// CPUQuotaPerSecUSec, the CPU time per second of wall time. systemd keeps
// the quota as a whole percentage of a CPU, so the value is rounded up to
// 10 ms (1%): rounding down would leave the cgroup less than it asked for.
// A negative quota is no limit.
func QuotaPerSec(quota int64, period uint64) uint64 {
	if quota < 0 || period == 0 {
		return Infinity
	}
	v := uint64(quota) * 1000000 / period
	if r := v % 10000; r != 0 {
		v += 10000 - r
	}
	return v
}

// ListToMask turns a CPU or memory-node list ("0-3,8") into the bitmask
// systemd's AllowedCPUs and AllowedMemoryNodes take: bit n%8 of byte n/8
// for each n.
func ListToMask(list string) ([]byte, error) {
	var mask []byte
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("empty element")
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number or range", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a number or range", part)
			}
		}
		for n := a; n <= b; n++ {
			for uint64(len(mask)) <= n/8 {
				mask = append(mask, 0)
			}
			mask[n/8] |= 1 << (n % 8)
		}
	}
	return mask, nil
}

// DeviceProperties expresses the effective device list (deny all, then
// allows; see package devices) as DevicePolicy and DeviceAllow. systemd's
// list holds allows alone, so a list with a deny after the first, or a
// rule it has no spelling for (a wildcard major with a given minor, a
// major /proc/devices does not name), is left to berth's own device
// filter: the unit gets DevicePolicy=auto and an empty DeviceAllow, which
// installs no filter of systemd's (berth's eBPF program stays attached
// beside systemd's, which are attached with BPF_F_ALLOW_MULTI too). A list
// that allows everything is the same "auto" with nothing listed.
func DeviceProperties(rules []devices.Rule, majorName func(t devices.Type, major int64) (string, bool)) (string, []DeviceAllow) {
	none := []DeviceAllow{}
	if devices.AllowsAll(rules) || len(rules) == 0 || rules[0].Allow {
		return "auto", none
	}
	var allow []DeviceAllow
	for _, r := range rules[1:] {
		if !r.Allow {
			return "auto", none
		}
		perms := r.Access.String()
		var kinds []devices.Type
		switch r.Type {
		case devices.All:
			kinds = []devices.Type{devices.Char, devices.Block}
		default:
			kinds = []devices.Type{r.Type}
		}
		for _, k := range kinds {
			word := "char"
			if k == devices.Block {
				word = "block"
			}
			switch {
			case r.Major == devices.Wildcard && r.Minor == devices.Wildcard:
				allow = append(allow, DeviceAllow{word + "-*", perms})
			case r.Major == devices.Wildcard:
				return "auto", none
			case r.Minor == devices.Wildcard:
				name, ok := majorName(k, r.Major)
				if !ok {
					return "auto", none
				}
				allow = append(allow, DeviceAllow{word + "-" + name, perms})
			default:
				allow = append(allow, DeviceAllow{"/dev/" + word + "/" + strconv.FormatInt(r.Major, 10) + ":" + strconv.FormatInt(r.Minor, 10), perms})
			}
		}
	}
	if allow == nil {
		allow = none
	}
	return "strict", allow
}

// ParseProcDevices reads /proc/devices into a lookup of major names for
// DeviceProperties. A major may be listed under several names (4: tty,
// ttyS, /dev/vc/0); the first that names it alone serves, since
// "char-NAME" is a glob over every listed name.
func ParseProcDevices(data string) func(devices.Type, int64) (string, bool) {
	type entry struct {
		major int64
		name  string
	}
	lists := map[devices.Type][]entry{}
	var cur devices.Type
	for _, line := range strings.Split(data, "\n") {
		switch strings.TrimSpace(line) {
		case "Character devices:":
			cur = devices.Char
			continue
		case "Block devices:":
			cur = devices.Block
			continue
		}
		f := strings.Fields(line)
		if cur == 0 || len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			lists[cur] = append(lists[cur], entry{n, f[1]})
		}
	}
	return func(t devices.Type, major int64) (string, bool) {
	next:
		for _, e := range lists[t] {
			if e.major != major || strings.ContainsAny(e.name, "/*?[]\\") {
				continue
			}
			for _, o := range lists[t] {
				if o.name == e.name && o.major != major {
					continue next
				}
			}
			return e.name, true
		}
		return "", false
	}
}

// cpuQuota adds the CPU quota's properties, the same on v1 and v2:
// CPUQuotaPeriodUSec when a period is given, CPUQuotaPerSecUSec (the quota
// over the period, default 100 ms). A quota of 0 is unset, as for the fs
// driver (dockerd's update sends 0 for what it does not change): systemd
// refuses a CPUQuotaPerSecUSec of 0.
func cpuQuota(c *specs.LinuxCPU, add func(name string, v any)) {
	if c.Quota == nil && c.Period == nil {
		return
	}
	period := uint64(100000)
	if c.Period != nil && *c.Period != 0 {
		period = *c.Period
		add("CPUQuotaPeriodUSec", period)
	}
	if c.Quota != nil && *c.Quota != 0 {
		add("CPUQuotaPerSecUSec", QuotaPerSec(*c.Quota, period))
	}
}
