package fs2

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// planIO: io.weight (or BFQ's io.bfq.weight) and io.max.
func planIO(pl *cgroups.Plan, b *specs.LinuxBlockIO, dir string, p cgroups.Prober) error {
	if b == nil {
		return nil
	}
	// With BFQ as the scheduler, its io.bfq.weight takes blkio's 1..1000
	// scale as is; otherwise io.weight (iocost) is 1..10000.
	bfq := p.Exists(dir, "io.bfq.weight")
	weight := func(w uint16, field string) (string, string, error) {
		if bfq {
			return "io.bfq.weight", strconv.Itoa(int(w)), nil
		}
		if w < cgroups.MinBlkioWeight || w > cgroups.MaxBlkioWeight {
			return "", "", fmt.Errorf("%s: %d is outside %d..%d", field, w, cgroups.MinBlkioWeight, cgroups.MaxBlkioWeight)
		}
		if !p.Exists(dir, "io.weight") {
			return "", "", fmt.Errorf("%s: this kernel has neither io.weight nor io.bfq.weight", field)
		}
		return "io.weight", cgfs.Utoa(cgroups.BlkioWeightToIOWeight(uint64(w))), nil
	}
	if v := cgfs.Deref(b.Weight); v != 0 {
		file, val, err := weight(v, "linux.resources.blockIO.weight")
		if err != nil {
			return err
		}
		pl.Add(cgroups.Write{Dir: dir, File: file, Value: val, Field: "linux.resources.blockIO.weight"})
	}
	if cgfs.Deref(b.LeafWeight) != 0 {
		pl.Warn("linux.resources.blockIO.leafWeight: ignored, cgroup v2 has no leaf weight")
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("linux.resources.blockIO.weightDevice[%d]", i)
		if wd.Weight != nil {
			file, val, err := weight(*wd.Weight, field+".weight")
			if err != nil {
				return err
			}
			pl.Add(cgroups.Write{Dir: dir, File: file, Value: cgfs.Devnum(wd.Major, wd.Minor) + " " + val, Field: field + ".weight"})
		}
		if wd.LeafWeight != nil {
			pl.Warn("%s.leafWeight: ignored, cgroup v2 has no leaf weight", field)
		}
	}
	for _, t := range cgroups.Throttles(b) {
		for i, d := range t.List {
			pl.Add(cgroups.Write{Dir: dir, File: "io.max", Value: cgfs.Devnum(d.Major, d.Minor) + " " + t.V2 + "=" + throttleV2(d.Rate),
				Field: fmt.Sprintf("linux.resources.blockIO.%s[%d]", t.Field, i)})
		}
	}
	return nil
}

// throttleV2 formats an io.max rate: 0, which removes a v1 throttle, is
// "max" on v2.
func throttleV2(rate uint64) string {
	if rate == 0 {
		return "max"
	}
	return strconv.FormatUint(rate, 10)
}
