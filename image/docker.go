package image

// Docker's image formats, which image-spec's Go types do not name.
//
// A Docker schema 2 manifest list, manifest and image config are the OCI
// index, manifest and config under other media types (image-spec's
// media-types.md lists the compatible ones), so berth decodes them into
// image-spec's v1 types; only the names are Docker's.
const (
	mediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"

	mediaTypeDockerLayer            = "application/vnd.docker.image.rootfs.diff.tar"
	mediaTypeDockerLayerGzip        = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	mediaTypeDockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

	// annotationContainerdRef is where containerd's `ctr image export`
	// puts an image's name in index.json, beside or instead of
	// org.opencontainers.image.ref.name.
	annotationContainerdRef = "io.containerd.image.name"
)

// dockerSaveEntry is one image of a `docker save` manifest.json, a format
// of Docker's own that no OCI document describes.
type dockerSaveEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}
