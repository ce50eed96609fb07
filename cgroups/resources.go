package cgroups

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups/internal/cgfs"
)

// How the drivers read the linux.resources fields they share, so that v1
// and v2 (and any later driver) accept and refuse the same values.

// PidsMax formats linux.resources.pids.limit: negative is "max"; 0 is a
// real limit (runtime-spec).
func PidsMax(p *specs.LinuxPids) (string, bool) {
	if p == nil || p.Limit == nil {
		return "", false
	}
	return cgfs.MaxOr(*p.Limit), true
}

// Throttle is one of the four blockIO throttle arrays with its v1 file,
// its v2 io.max key and its spec field name.
type Throttle struct {
	List          []specs.LinuxThrottleDevice
	V1, V2, Field string
}

// Throttles lists b's throttle arrays, in the order they are written.
func Throttles(b *specs.LinuxBlockIO) []Throttle {
	return []Throttle{
		{b.ThrottleReadBpsDevice, "blkio.throttle.read_bps_device", "rbps", "throttleReadBpsDevice"},
		{b.ThrottleWriteBpsDevice, "blkio.throttle.write_bps_device", "wbps", "throttleWriteBpsDevice"},
		{b.ThrottleReadIOPSDevice, "blkio.throttle.read_iops_device", "riops", "throttleReadIOPSDevice"},
		{b.ThrottleWriteIOPSDevice, "blkio.throttle.write_iops_device", "wiops", "throttleWriteIOPSDevice"},
	}
}

// CheckUsage refuses a limit below the current usage in dir/file
// (checkBeforeUpdate).
func CheckUsage(p Prober, dir, file string, limit int64) error {
	s, err := p.Read(dir, file)
	if err != nil {
		return fmt.Errorf("linux.resources.memory.checkBeforeUpdate: %w", err)
	}
	usage, err := cgfs.ParseUint(s, dir+"/"+file)
	if err != nil {
		return err
	}
	if uint64(limit) < usage {
		return fmt.Errorf("linux.resources.memory.limit: %d is below the current usage %d (%s/%s) and checkBeforeUpdate is set", limit, usage, dir, file)
	}
	return nil
}

// validPageSize accepts the kernel's hugetlb size names: digits then KB,
// MB, GB or TB ("2MB", "1GB", "64KB").
func validPageSize(s string) bool {
	if len(s) < 3 {
		return false
	}
	unit := s[len(s)-2:]
	if unit != "KB" && unit != "MB" && unit != "GB" && unit != "TB" {
		return false
	}
	for _, c := range s[:len(s)-2] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// PlanHugetlb writes each page size's limit to hugetlb.<size>.<suffix>
// and, where the kernel has it, to the reservation file
// hugetlb.<size>.rsvd.<suffix>; v1 ("limit_in_bytes") and v2 ("max")
// differ only in the suffix.
func PlanHugetlb(pl *Plan, limits []specs.LinuxHugepageLimit, dir string, p Prober, suffix string) error {
	for i, h := range limits {
		field := fmt.Sprintf("linux.resources.hugepageLimits[%d]", i)
		if !validPageSize(h.Pagesize) {
			return fmt.Errorf("%s.pageSize: %q is not a size such as 2MB or 1GB", field, h.Pagesize)
		}
		file := "hugetlb." + h.Pagesize + "." + suffix
		if !p.Exists(dir, file) {
			return fmt.Errorf("%s.pageSize: %q is not a huge page size of this host (no %s/%s)", field, h.Pagesize, dir, file)
		}
		pl.Add(Write{Dir: dir, File: file, Value: cgfs.Utoa(h.Limit), Field: field + ".limit"})
		if rsvd := "hugetlb." + h.Pagesize + ".rsvd." + suffix; p.Exists(dir, rsvd) {
			pl.Add(Write{Dir: dir, File: rsvd, Value: cgfs.Utoa(h.Limit), Field: field + ".limit"})
		}
	}
	return nil
}

// PlanRdma writes rdma.max in dir, the same file on v1 and v2.
func PlanRdma(pl *Plan, rdma map[string]specs.LinuxRdma, dir string) error {
	for _, dev := range slices.Sorted(maps.Keys(rdma)) {
		l := rdma[dev]
		field := fmt.Sprintf("linux.resources.rdma[%q]", dev)
		if dev == "" || strings.ContainsAny(dev, " \n") {
			return fmt.Errorf("%s: not a device name", field)
		}
		if l.HcaHandles == nil && l.HcaObjects == nil {
			return fmt.Errorf("%s: needs hcaHandles or hcaObjects", field)
		}
		v := dev
		if l.HcaHandles != nil {
			v += " hca_handle=" + strconv.FormatUint(uint64(*l.HcaHandles), 10)
		}
		if l.HcaObjects != nil {
			v += " hca_object=" + strconv.FormatUint(uint64(*l.HcaObjects), 10)
		}
		pl.Add(Write{Dir: dir, File: "rdma.max", Value: v, Field: field})
	}
	return nil
}
