package image

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// resolved is an image picked out of a store: its config and where each
// layer's bytes are.
type resolved struct {
	manifest digest.Digest // "" for a legacy docker-save image
	config   v1.Image
	layers   []layer
}

type layer struct {
	name      string        // file in the store
	what      string        // "layer 2 of 3 (sha256:…)" for messages
	digest    digest.Digest // of the stored bytes; "" when nothing names it
	size      int64         // -1 when unknown
	mediaType string        // "" when the compression is to be sniffed
	diffID    digest.Digest // of the uncompressed tar
}

// resolve finds the image ref names in s for the platform want.
func resolve(s store, ref reference, want v1.Platform) (*resolved, error) {
	switch {
	case s.exists(v1.ImageIndexFile):
		return resolveOCI(s, ref, want)
	case s.exists("manifest.json"):
		return resolveDockerSave(s, ref, want)
	}
	return nil, fmt.Errorf("image %q: not an OCI image layout (no index.json) nor a docker-save archive (no manifest.json)", ref.path)
}

func resolveOCI(s store, ref reference, want v1.Platform) (*resolved, error) {
	data, err := readFile(s, v1.ImageLayoutFile)
	if err != nil {
		return nil, fmt.Errorf("image %q: not an OCI image layout: oci-layout: %w", ref.path, err)
	}
	var lf v1.ImageLayout
	if err := json.Unmarshal(data, &lf); err != nil {
		return nil, fmt.Errorf("image %q: oci-layout: %w", ref.path, err)
	}
	if lf.Version != v1.ImageLayoutVersion {
		return nil, fmt.Errorf("image %q: oci-layout: imageLayoutVersion %q, berth reads %q", ref.path, lf.Version, v1.ImageLayoutVersion)
	}
	data, err = readFile(s, v1.ImageIndexFile)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref.path, err)
	}
	var idx v1.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("image %q: index.json: %w", ref.path, err)
	}

	var d v1.Descriptor
	switch {
	case ref.digest != "":
		d, err = findDigest(s, idx, ref.digest, 0)
	case ref.tag != "":
		var tagged []v1.Descriptor
		for _, m := range idx.Manifests {
			if m.Annotations[v1.AnnotationRefName] == ref.tag || m.Annotations[annotationContainerdRef] == ref.tag {
				tagged = append(tagged, m)
			}
		}
		if len(tagged) == 0 {
			return nil, fmt.Errorf("image %q: no manifest in index.json has the tag %q (%s)", ref.path, ref.tag, tagList(idx.Manifests))
		}
		d, err = pickPlatform(tagged, want, "index.json")
	default:
		if len(idx.Manifests) == 0 {
			return nil, fmt.Errorf("image %q: index.json lists no manifests", ref.path)
		}
		d, err = pickPlatform(idx.Manifests, want, "index.json")
		if err != nil {
			err = fmt.Errorf("%w; name one as %s:TAG or %s@DIGEST (%s)", err, ref.path, ref.path, tagList(idx.Manifests))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	img, err := descend(s, d, want, "index.json", 0)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	return img, nil
}

func tagList(ds []v1.Descriptor) string {
	var tags []string
	for _, d := range ds {
		if t := d.Annotations[v1.AnnotationRefName]; t != "" {
			tags = append(tags, t)
		}
	}
	if len(tags) == 0 {
		return "it names no tags"
	}
	return "tags: " + strings.Join(tags, ", ")
}

// maxDepth bounds index-in-index nesting.
const maxDepth = 4

// findDigest looks for a manifest or index by digest in the index and the
// indexes it lists, and finally among the blobs themselves.
func findDigest(s store, idx v1.Index, want digest.Digest, depth int) (v1.Descriptor, error) {
	for _, m := range idx.Manifests {
		if m.Digest == want {
			return m, nil
		}
	}
	if depth < maxDepth {
		for _, m := range idx.Manifests {
			if !isIndex(m.MediaType) {
				continue
			}
			data, err := readBlob(s, m, "index")
			if err != nil {
				return v1.Descriptor{}, err
			}
			var sub v1.Index
			if err := json.Unmarshal(data, &sub); err != nil {
				return v1.Descriptor{}, fmt.Errorf("index %s: %w", m.Digest, err)
			}
			if d, err := findDigest(s, sub, want, depth+1); err == nil {
				return d, nil
			}
		}
	}
	if depth == 0 {
		if rc, size, err := s.open(blobPath(want)); err == nil {
			rc.Close()
			return v1.Descriptor{Digest: want, Size: size}, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("no manifest or index with digest %s", want)
}

func isIndex(mt string) bool { return mt == v1.MediaTypeImageIndex || mt == mediaTypeDockerList }

func isManifest(mt string) bool {
	return mt == v1.MediaTypeImageManifest || mt == mediaTypeDockerManifest
}

// platformMatches tells whether a descriptor's platform (nil when it names
// none) runs on want; a variant only one of them names does not matter.
func platformMatches(p *v1.Platform, want v1.Platform) bool {
	if p == nil || p.OS != want.OS || p.Architecture != want.Architecture {
		return false
	}
	return p.Variant == "" || want.Variant == "" || p.Variant == want.Variant
}

// platformString names a platform as --platform takes it, os/arch[/variant].
func platformString(p *v1.Platform) string {
	if p == nil {
		return "(no platform)"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// pickPlatform chooses among descriptors: the only one, else the only one
// for the wanted platform.
func pickPlatform(ds []v1.Descriptor, want v1.Platform, where string) (v1.Descriptor, error) {
	if len(ds) == 1 {
		return ds[0], nil
	}
	var match []v1.Descriptor
	for _, d := range ds {
		if platformMatches(d.Platform, want) {
			match = append(match, d)
		}
	}
	if len(match) == 1 {
		return match[0], nil
	}
	var have []string
	for _, d := range ds {
		have = append(have, platformString(d.Platform))
	}
	if len(match) == 0 {
		return v1.Descriptor{}, fmt.Errorf("%s: no manifest for %s (it has %s)", where, platformString(&want), strings.Join(have, ", "))
	}
	return v1.Descriptor{}, fmt.Errorf("%s: %d manifests for %s, cannot choose", where, len(match), platformString(&want))
}

// descend follows indexes down to an image manifest and reads it.
func descend(s store, d v1.Descriptor, want v1.Platform, from string, depth int) (*resolved, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("indexes nested deeper than %d", maxDepth)
	}
	data, err := readBlob(s, d, "manifest listed in "+from)
	if err != nil {
		return nil, err
	}
	mt := d.MediaType
	if mt == "" {
		mt = sniff(data)
	}
	switch {
	case isIndex(mt):
		var sub v1.Index
		if err := json.Unmarshal(data, &sub); err != nil {
			return nil, fmt.Errorf("index %s: %w", d.Digest, err)
		}
		// Only the host's platform is wanted here: an index of one
		// manifest for another architecture is no match either.
		var match []v1.Descriptor
		for _, m := range sub.Manifests {
			if platformMatches(m.Platform, want) {
				match = append(match, m)
			}
		}
		if len(match) == 0 {
			if len(sub.Manifests) != 1 || sub.Manifests[0].Platform != nil {
				var have []string
				for _, m := range sub.Manifests {
					have = append(have, platformString(m.Platform))
				}
				return nil, fmt.Errorf("index %s: no manifest for %s (it has %s)", d.Digest, platformString(&want), strings.Join(have, ", "))
			}
			match = sub.Manifests
		}
		return descend(s, match[0], want, "index "+d.Digest.String(), depth+1)
	case isManifest(mt):
		var m v1.Manifest
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		return readManifest(s, d.Digest, m, want)
	}
	return nil, fmt.Errorf("%s %s: media type %q is neither an image index nor an image manifest", from, d.Digest, mt)
}

// sniff tells an index from a manifest when a descriptor carries no media
// type (Docker's older tools leave it out).
func sniff(data []byte) string {
	var probe struct {
		MediaType string            `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
		Layers    []json.RawMessage `json:"layers"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return ""
	}
	switch {
	case probe.MediaType != "":
		return probe.MediaType
	case probe.Manifests != nil:
		return v1.MediaTypeImageIndex
	case probe.Layers != nil:
		return v1.MediaTypeImageManifest
	}
	return ""
}

func readManifest(s store, mdigest digest.Digest, m v1.Manifest, want v1.Platform) (*resolved, error) {
	where := "manifest " + mdigest.String()
	switch m.Config.MediaType {
	case v1.MediaTypeImageConfig, mediaTypeDockerConfig:
	default:
		return nil, fmt.Errorf("%s: config media type %q is not a container image config (an artifact?)", where, m.Config.MediaType)
	}
	data, err := readBlob(s, m.Config, "config of "+where)
	if err != nil {
		return nil, err
	}
	img := &resolved{manifest: mdigest}
	if err := json.Unmarshal(data, &img.config); err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	if err := checkConfig(&img.config, "config "+m.Config.Digest.String(), len(m.Layers), want); err != nil {
		return nil, err
	}
	for i, l := range m.Layers {
		dg, err := parseDigest(string(l.Digest))
		if err != nil {
			return nil, fmt.Errorf("%s: layers[%d]: %w", where, i, err)
		}
		if _, err := compression(l.MediaType); err != nil {
			return nil, fmt.Errorf("%s: layers[%d] %s: %w", where, i, l.Digest, err)
		}
		if l.Size < 0 {
			return nil, fmt.Errorf("%s: layers[%d] %s: negative size %d", where, i, l.Digest, l.Size)
		}
		img.layers = append(img.layers, layer{
			name:      blobPath(dg),
			what:      fmt.Sprintf("blob %s (layer %d of %d)", dg, i+1, len(m.Layers)),
			digest:    dg,
			size:      l.Size,
			mediaType: l.MediaType,
			diffID:    img.config.RootFS.DiffIDs[i],
		})
	}
	return img, nil
}

// checkConfig holds the config to the manifest and the host: one diff_id
// per layer, and the host's os and architecture (a foreign binary would only
// fail later, at exec, with a less helpful error).
func checkConfig(c *v1.Image, where string, layers int, want v1.Platform) error {
	if len(c.RootFS.DiffIDs) != layers {
		return fmt.Errorf("%s: rootfs.diff_ids has %d entries for %d layers", where, len(c.RootFS.DiffIDs), layers)
	}
	for i, d := range c.RootFS.DiffIDs {
		if _, err := parseDigest(string(d)); err != nil {
			return fmt.Errorf("%s: rootfs.diff_ids[%d]: %w", where, i, err)
		}
	}
	if (c.OS != "" && c.OS != want.OS) || (c.Architecture != "" && c.Architecture != want.Architecture) {
		return fmt.Errorf("%s: image is for %s/%s, this host runs %s", where, c.OS, c.Architecture, platformString(&want))
	}
	return nil
}

// nameDigest recovers the digest a docker-save file name carries: a blob
// of the layout inside the archive, or an older `docker save`'s
// "<sha256 hex>.json" config. It is "" for any other name.
func nameDigest(name string) digest.Digest {
	name = path.Clean(name)
	if rest, ok := strings.CutPrefix(name, v1.ImageBlobsDir+"/"); ok {
		if alg, hex, ok := strings.Cut(rest, "/"); ok {
			if d, err := parseDigest(alg + ":" + hex); err == nil {
				return d
			}
		}
	}
	if hex, ok := strings.CutSuffix(name, ".json"); ok {
		if d, err := parseDigest(string(digest.SHA256) + ":" + hex); err == nil {
			return d
		}
	}
	return ""
}

func resolveDockerSave(s store, ref reference, want v1.Platform) (*resolved, error) {
	data, err := readFile(s, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref.path, err)
	}
	var entries []dockerSaveEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("image %q: manifest.json: %w", ref.path, err)
	}
	var tags []string
	for _, e := range entries {
		tags = append(tags, e.RepoTags...)
	}
	sort.Strings(tags)
	var pick []dockerSaveEntry
	for _, e := range entries {
		switch {
		case ref.digest != "":
			if nameDigest(e.Config) == ref.digest {
				pick = append(pick, e)
			}
		case ref.tag != "":
			if slices.ContainsFunc(e.RepoTags, func(t string) bool { return tagMatches(t, ref.tag) }) {
				pick = append(pick, e)
			}
		default:
			pick = append(pick, e)
		}
	}
	if len(pick) != 1 {
		what := "images"
		if ref.digest != "" || ref.tag != "" {
			what = "images match"
		}
		return nil, fmt.Errorf("image %q: manifest.json has %d %s, want one (repo tags: %s)", ref, len(pick), what, strings.Join(tags, ", "))
	}
	e := pick[0]

	where := fmt.Sprintf("image %q: config %s", ref, e.Config)
	rc, size, err := s.open(e.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer rc.Close()
	if size > maxJSON {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", where, size, maxJSON)
	}
	var r io.Reader = rc
	if d := nameDigest(e.Config); d != "" {
		r = newVerifier(rc, d, size, "blob "+d.String()+" (config)")
	}
	data, err = io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	img := &resolved{}
	if err := json.Unmarshal(data, &img.config); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := checkConfig(&img.config, where, len(e.Layers), want); err != nil {
		return nil, err
	}
	for i, name := range e.Layers {
		l := layer{
			name:   name,
			what:   fmt.Sprintf("%s (layer %d of %d)", name, i+1, len(e.Layers)),
			digest: nameDigest(name),
			size:   -1,
			diffID: img.config.RootFS.DiffIDs[i],
		}
		img.layers = append(img.layers, l)
	}
	return img, nil
}

// tagMatches compares a docker RepoTag with what the user typed: the whole
// tag, the name alone (meaning :latest), or the tag after the last colon.
func tagMatches(repoTag, want string) bool {
	repoTag, want = shortRepo(repoTag), shortRepo(want)
	if repoTag == want || repoTag == want+":latest" {
		return true
	}
	i := strings.LastIndex(repoTag, ":")
	return i >= 0 && !strings.Contains(repoTag[i:], "/") && repoTag[i+1:] == want
}

// shortRepo drops Docker Hub's implied prefixes, which skopeo and
// `docker save` write out in full ("docker.io/library/busybox:1" is
// "busybox:1" on a command line).
func shortRepo(r string) string {
	for _, p := range []string{"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"} {
		if rest, ok := strings.CutPrefix(r, p); ok {
			return rest
		}
	}
	return r
}
