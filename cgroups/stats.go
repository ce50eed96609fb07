package cgroups

// Stats is a snapshot of a container's cgroup counters. The JSON names are
// those of `runc events --stats` ("cpu", "memory", "pids", "blkio",
// "hugetlb" and their members), so `berth events` can print it as is.
// Times are nanoseconds, sizes bytes; a limit of "max" reads as
// 18446744073709551615. Counters of a controller the cgroup does not have
// are zero.
type Stats struct {
	CPU     CPUStats                `json:"cpu"`
	Memory  MemoryStats             `json:"memory"`
	Pids    PidsStats               `json:"pids"`
	Blkio   BlkioStats              `json:"blkio"`
	Hugetlb map[string]HugetlbStats `json:"hugetlb,omitempty"`
}

// CPUStats is CPU time used and throttling.
type CPUStats struct {
	Usage      CPUUsage      `json:"usage"`
	Throttling CPUThrottling `json:"throttling"`
}

// CPUUsage is CPU time in nanoseconds.
type CPUUsage struct {
	Total  uint64   `json:"total"`
	PerCPU []uint64 `json:"percpu,omitempty"` // v1 only
	Kernel uint64   `json:"kernel"`
	User   uint64   `json:"user"`
}

// CPUThrottling counts CFS bandwidth periods.
type CPUThrottling struct {
	Periods          uint64 `json:"periods"`
	ThrottledPeriods uint64 `json:"throttled_periods"`
	ThrottledTime    uint64 `json:"throttled_time"`
}

// MemoryEntry is one memory counter with its limit.
type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage"`
	Max     uint64 `json:"max"` // peak usage (v2: memory.peak, Linux 5.19+)
	Failcnt uint64 `json:"failcnt"`
}

// MemoryStats is memory use. Swap is memory+swap on v1
// (memory.memsw.*) and swap alone on v2 (memory.swap.*), as each kernel
// counts it. OOMEvents counts the times the cgroup hit its limit and the
// OOM killer ran (v2 memory.events "oom"), OOMKills the processes it
// killed ("oom_kill"; v1 memory.oom_control has only this count, which
// then fills both).
type MemoryStats struct {
	Cache     uint64            `json:"cache"`
	Usage     MemoryEntry       `json:"usage"`
	Swap      MemoryEntry       `json:"swap"`
	OOMEvents uint64            `json:"oom_events"`
	OOMKills  uint64            `json:"oom_kills"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
}

// PidsStats is the number of tasks and its limit.
type PidsStats struct {
	Current uint64 `json:"current"`
	Limit   uint64 `json:"limit"`
}

// BlkioEntry is one per-device counter.
type BlkioEntry struct {
	Major uint64 `json:"major"`
	Minor uint64 `json:"minor"`
	Op    string `json:"op"` // "Read", "Write", ...
	Value uint64 `json:"value"`
}

// BlkioStats is block I/O done, per device: bytes and operations.
type BlkioStats struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
}

// HugetlbStats is huge page use of one page size.
type HugetlbStats struct {
	Usage   uint64 `json:"usage"`
	Max     uint64 `json:"max"` // v1 peak usage
	Failcnt uint64 `json:"failcnt"`
}
