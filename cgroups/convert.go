package cgroups

import (
	"fmt"
	"strconv"
)

// The cpu.shares range of cgroup v1 and the cpu.weight range of v2.
const (
	MinShares = 2
	MaxShares = 262144
	minWeight = 1
	maxWeight = 10000
)

// The blkio.weight range of cgroup v1.
const (
	MinBlkioWeight = 10
	MaxBlkioWeight = 1000
)

// SharesToWeight converts cpu.shares (2..262144) to cpu.weight
// (1..10000) linearly: 1 + ((shares-2)*9999)/262142. 0 (unset) stays 0.
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	return 1 + ((shares-MinShares)*(maxWeight-minWeight))/(MaxShares-MinShares)
}

// BlkioWeightToIOWeight converts a blkio weight (10..1000) to io.weight
// (1..10000): 1 + (w-10)*9999/990. 0 (unset) stays 0.
func BlkioWeightToIOWeight(w uint64) uint64 {
	if w == 0 {
		return 0
	}
	return 1 + (w-MinBlkioWeight)*(maxWeight-minWeight)/(MaxBlkioWeight-MinBlkioWeight)
}

// SwapToV2 converts the spec's memory.swap (memory+swap, v1's
// memory.memsw.limit_in_bytes) to cgroup v2's memory.swap.max (swap
// alone): swap - limit; -1 is "max". limit and swap are the spec values
// with 0 meaning unset.
func SwapToV2(limit, swap int64) (string, error) {
	switch {
	case swap == -1:
		return "max", nil
	case swap < -1:
		return "", fmt.Errorf("linux.resources.memory.swap: %d is neither -1 nor a size", swap)
	case limit == 0:
		return "", fmt.Errorf("linux.resources.memory.swap: %d needs memory.limit on cgroup v2 (memory.swap.max is swap alone: swap - limit)", swap)
	case limit == -1:
		return "", fmt.Errorf("linux.resources.memory.swap: %d with an unlimited memory.limit cannot be split into memory and swap; use -1 for both", swap)
	case swap < limit:
		return "", fmt.Errorf("linux.resources.memory.swap: %d is below memory.limit %d (swap is memory+swap)", swap, limit)
	}
	return strconv.FormatInt(swap-limit, 10), nil
}
