// Package image turns an OCI image into a runtime bundle: it reads an OCI
// image layout (a directory, or a tarball holding one) or a `docker save`
// tarball, picks the manifest for the host platform, unpacks the layers
// into <bundle>/rootfs and converts the image configuration into a spec.
//
// Every blob is checked against its descriptor while it is read: size and
// digest, and for layers also the uncompressed digest against the config's
// rootfs.diff_ids. A mismatch fails the whole unpack and the error names the
// blob. Layers are applied with the OCI whiteout rules (".wh.<name>" deletes
// a lower entry, ".wh..wh..opq" empties a directory of lower entries) and
// every path is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT), so
// neither "../" names nor symlinks planted by an earlier entry can lead a
// write outside it. A name that climbs above the root is rejected outright:
// no honest layer contains one.
//
// The documents are image-spec's Go types (specs-go/v1) and digests are
// go-digest's, validated and computed by it; berth takes the algorithms
// image-spec registers, sha256 and sha512. Docker's schema 2 manifest list,
// manifest and config are the same documents under other media types and
// decode into the same types (docker.go keeps Docker's names and the
// `docker save` manifest.json, which no OCI document describes).
//
// The generated spec starts from berth's default (spec.Default) and follows
// the image-spec conversion rules (conversion.md). Where berth chooses:
//
//   - root.readonly is false and process.terminal is false: an image's
//     entrypoint expects a writable root and is usually not interactive,
//     which is also what engines do with images.
//   - process.user comes from Config.User resolved against the unpacked
//     /etc/passwd and /etc/group (see ResolveUser).
//   - with uid/gid maps the unpacked files are owned by the shifted host ids
//     and the spec gets a user namespace with those mappings, so the
//     container sees the image's own ids.
//
// Annotations written into the spec:
//
//	org.opencontainers.image.os, .architecture, .variant, .os.version,
//	.os.features, .author, .created, .stopSignal
//	                         from the config, as conversion.md says
//	                         (.created as RFC 3339 with nanoseconds: the
//	                         config's created is decoded as a time)
//	<every Config.Labels key> verbatim, winning over the above
//	org.opencontainers.image.exposedPorts
//	                         Config.ExposedPorts keys, sorted, comma-separated
//	berth.image.volumes      Config.Volumes keys, sorted, comma-separated
//	                         (no mounts are made for them)
//	berth.image.manifest     digest of the manifest that was unpacked
//	berth.rootfs.overlay     with Options.Overlay: the layer directories,
//	                         a JSON array, top first (overlay.go)
//
// Layers are unpacked by one goroutine reading the stream (decompression
// and digests a readahead goroutine ahead, readahead.go) while small files
// are written by a pool (parallel.go); nothing is fsynced except the
// layer store's directories of an overlay bundle.
package image
