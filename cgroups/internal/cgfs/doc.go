// Package cgfs reads and writes cgroup files and makes and removes cgroup
// directories: what every cgroupfs driver (fs1, fs2) does the same way.
// It knows nothing of the spec or of drivers.
package cgfs
