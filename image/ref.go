package image

import (
	"fmt"
	"os"
	"strings"

	digest "github.com/opencontainers/go-digest"
)

// reference is a parsed --image value: a path with an optional tag or
// digest.
type reference struct {
	path   string
	tag    string
	digest digest.Digest
}

func (r reference) String() string {
	switch {
	case r.digest != "":
		return r.path + "@" + r.digest.String()
	case r.tag != "":
		return r.path + ":" + r.tag
	}
	return r.path
}

// parseRef splits "path", "path:tag" or "path@sha256:…". A path that
// exists as written wins, so a directory whose name holds a colon still
// works; otherwise the first colon whose prefix exists ends the path, which
// lets a docker-save tag carry its own colon ("img.tar:busybox:1.36").
func parseRef(ref string) (reference, error) {
	if ref == "" {
		return reference{}, fmt.Errorf("no image given")
	}
	if exists(ref) {
		return reference{path: ref}, nil
	}
	if i := strings.LastIndex(ref, "@"); i > 0 {
		p, d := ref[:i], ref[i+1:]
		dg, err := parseDigest(d)
		if err != nil {
			return reference{}, fmt.Errorf("image %q: %w", ref, err)
		}
		if !exists(p) {
			return reference{}, fmt.Errorf("image %q: %q does not exist", ref, p)
		}
		return reference{path: p, digest: dg}, nil
	}
	for i := 0; i < len(ref); i++ {
		if ref[i] == ':' && i > 0 && exists(ref[:i]) {
			if i+1 == len(ref) {
				return reference{}, fmt.Errorf("image %q: empty tag after ':'", ref)
			}
			return reference{path: ref[:i], tag: ref[i+1:]}, nil
		}
	}
	return reference{}, fmt.Errorf("image %q: no such directory or file", ref)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
