// Package tests drives the built berth binary (or any runc-compatible
// runtime named by $BERTH_BIN) through real containers on busybox bundles.
//
// The tests need root and Debian's busybox-static (/bin/busybox). Run them
// with `make test`, or against runc for comparison:
//
//	BERTH_BIN=/usr/sbin/runc go test ./tests/...
package tests
