package fs1

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// blkioCtl: weights (CFQ's or BFQ's files) and throttles; I/O counters.
type blkioCtl struct{}

func (blkioCtl) name() string { return "blkio" }

func (blkioCtl) plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, p cgroups.Prober) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	if dir == "" {
		return notMounted("linux.resources.blockIO", "blkio")
	}
	// CFQ (gone since Linux 5.0) had blkio.weight; BFQ has its own files.
	weightFile, deviceFile := "blkio.weight", "blkio.weight_device"
	if !p.Exists(dir, weightFile) && p.Exists(dir, "blkio.bfq.weight") {
		weightFile, deviceFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	if v := cgfs.Deref(b.Weight); v != 0 {
		if !p.Exists(dir, weightFile) {
			return fmt.Errorf("linux.resources.blockIO.weight: this kernel has no weight-based I/O control (no blkio.weight or blkio.bfq.weight: neither the cfq nor the bfq scheduler)")
		}
		pl.Add(cgroups.Write{Dir: dir, File: weightFile, Value: strconv.Itoa(int(v)), Field: "linux.resources.blockIO.weight"})
	}
	if v := cgfs.Deref(b.LeafWeight); v != 0 {
		if p.Exists(dir, "blkio.leaf_weight") {
			pl.Add(cgroups.Write{Dir: dir, File: "blkio.leaf_weight", Value: strconv.Itoa(int(v)), Field: "linux.resources.blockIO.leafWeight"})
		} else {
			pl.Warn("linux.resources.blockIO.leafWeight: ignored, this kernel has no blkio.leaf_weight (cfq only)")
		}
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("linux.resources.blockIO.weightDevice[%d]", i)
		if wd.Weight != nil {
			if !p.Exists(dir, deviceFile) {
				return fmt.Errorf("%s.weight: this kernel has no %s", field, deviceFile)
			}
			pl.Add(cgroups.Write{Dir: dir, File: deviceFile, Value: cgfs.Devnum(wd.Major, wd.Minor) + " " + strconv.Itoa(int(*wd.Weight)), Field: field + ".weight"})
		}
		if wd.LeafWeight != nil {
			if p.Exists(dir, "blkio.leaf_weight_device") {
				pl.Add(cgroups.Write{Dir: dir, File: "blkio.leaf_weight_device", Value: cgfs.Devnum(wd.Major, wd.Minor) + " " + strconv.Itoa(int(*wd.LeafWeight)), Field: field + ".leafWeight"})
			} else {
				pl.Warn("%s.leafWeight: ignored, this kernel has no blkio.leaf_weight_device (cfq only)", field)
			}
		}
	}
	for _, t := range cgroups.Throttles(b) {
		for i, d := range t.List {
			pl.Add(cgroups.Write{Dir: dir, File: t.V1, Value: cgfs.Devnum(d.Major, d.Minor) + " " + cgfs.Utoa(d.Rate),
				Field: fmt.Sprintf("linux.resources.blockIO.%s[%d]", t.Field, i)})
		}
	}
	return nil
}

// stats reads the throttle counters, which count every I/O whatever the
// scheduler; the CFQ/BFQ files are the fallback.
func (blkioCtl) stats(dir string, s *cgroups.Stats) error {
	read := func(names ...string) ([]cgroups.BlkioEntry, error) {
		for _, n := range names {
			e, err := readBlkio(dir, n)
			if err != nil {
				if cgfs.Optional(err) != nil {
					return nil, err
				}
				continue
			}
			if len(e) > 0 {
				return e, nil
			}
		}
		return nil, nil
	}
	var err error
	if s.Blkio.IoServiceBytesRecursive, err = read("blkio.throttle.io_service_bytes_recursive",
		"blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive"); err != nil {
		return err
	}
	s.Blkio.IoServicedRecursive, err = read("blkio.throttle.io_serviced_recursive",
		"blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive")
	return err
}

// readBlkio parses blkio.*_recursive files: "8:0 Read 4096" lines and a
// "Total" line.
func readBlkio(dir, file string) ([]cgroups.BlkioEntry, error) {
	f, err := os.Open(dir + "/" + file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cgroups.BlkioEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) != 3 {
			continue
		}
		maj, min, ok := cgfs.ParseDevnum(fl[0])
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(fl[2], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, cgroups.BlkioEntry{Major: maj, Minor: min, Op: fl[1], Value: v})
	}
	return out, sc.Err()
}
