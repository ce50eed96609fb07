package image

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/spec"
)

// convert builds the runtime spec from the image config (conversion.md),
// on top of berth's default spec.
func convert(img *resolved, rootFd int, opts Options) (*specs.Spec, error) {
	c := img.config.Config
	s := spec.Default(false)
	s.Root.Readonly = false
	s.Process.Terminal = false

	cmd := c.Cmd
	if opts.Cmd != nil {
		cmd = opts.Cmd
	}
	args := append(append([]string{}, c.Entrypoint...), cmd...)
	if opts.Args != nil {
		args = opts.Args
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("the image has neither Entrypoint nor Cmd: name the command to run")
	}
	s.Process.Args = args

	env := c.Env
	if !hasEnv(env, "PATH") {
		// conversion.md lets a converter add variables the image does
		// not set; without PATH most images could not find a binary.
		env = append([]string{s.Process.Env[0]}, env...)
	}
	env, err := mergeEnv(env, opts.Env)
	if err != nil {
		return nil, err
	}
	s.Process.Env = env

	s.Process.Cwd = "/"
	if c.WorkingDir != "" {
		s.Process.Cwd = path.Join("/", c.WorkingDir)
	}
	if s.Process.User, err = resolveUser(rootFd, c.User); err != nil {
		return nil, fmt.Errorf("config User: %w", err)
	}

	s.Annotations = annotations(img)

	if len(opts.UIDMap) > 0 || len(opts.GIDMap) > 0 {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = idMappings(opts.UIDMap)
		s.Linux.GIDMappings = idMappings(opts.GIDMap)
	}
	return s, nil
}

func idMappings(maps []IDMap) []specs.LinuxIDMapping {
	var out []specs.LinuxIDMapping
	for _, m := range maps {
		out = append(out, specs.LinuxIDMapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	return out
}

func hasEnv(env []string, name string) bool {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == name {
			return true
		}
	}
	return false
}

// mergeEnv sets each NAME=VALUE of extra in env, replacing an earlier value.
func mergeEnv(env, extra []string) ([]string, error) {
	out := append([]string{}, env...)
	for _, e := range extra {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("env %q: want NAME=VALUE", e)
		}
		replaced := false
		for i, o := range out {
			if name, _, _ := strings.Cut(o, "="); name == k {
				out[i], replaced = e, true
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return out, nil
}

// annotations are the implicit ones of conversion.md, the exposed ports
// and volumes, the manifest digest, and the labels, which win.
func annotations(img *resolved) map[string]string {
	cfg := img.config
	a := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	const p = "org.opencontainers.image."
	set(p+"os", cfg.OS)
	set(p+"architecture", cfg.Architecture)
	set(p+"variant", cfg.Variant)
	set(p+"os.version", cfg.OSVersion)
	set(p+"os.features", strings.Join(cfg.OSFeatures, ","))
	set(p+"author", cfg.Author)
	if cfg.Created != nil {
		set(p+"created", cfg.Created.Format(time.RFC3339Nano))
	}
	set(p+"stopSignal", cfg.Config.StopSignal)
	set(p+"exposedPorts", sortedKeys(cfg.Config.ExposedPorts))
	set("berth.image.volumes", sortedKeys(cfg.Config.Volumes))
	set("berth.image.manifest", img.manifest.String())
	for k, v := range cfg.Config.Labels {
		a[k] = v
	}
	if len(a) == 0 {
		return nil
	}
	return a
}

func sortedKeys(m map[string]struct{}) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}
