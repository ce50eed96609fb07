package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"berth/image"
	"berth/spec"
)

var bundleCommand = &cli.Command{
	Name:      "bundle",
	Usage:     "unpack an OCI image into a bundle (rootfs + config.json)",
	ArgsUsage: "<bundle-dir> [command [arg...]]",
	Description: "--image is an OCI image layout or a `docker save` archive, as a directory\n" +
		"or a tarball, optionally with :TAG (the org.opencontainers.image.ref.name\n" +
		"annotation, or a docker repo tag) or @sha256:DIGEST. A command after the\n" +
		"bundle directory replaces the image's Cmd; --args replaces the whole\n" +
		"process.args.",
	Flags: []cli.Flag{
		// Required, but checked by the action: urfave/cli would print the
		// whole help with the error.
		&cli.StringFlag{Name: "image", Usage: "image: DIR, DIR:TAG, DIR@DIGEST (DIR may be a tarball); required"},
		&cli.StringSliceFlag{Name: "uid-map", Usage: "shift file owners and map container uids: CONTAINER:HOST:SIZE (repeatable)"},
		&cli.StringSliceFlag{Name: "gid-map", Usage: "shift file groups and map container gids: CONTAINER:HOST:SIZE (repeatable)"},
		&cli.StringFlag{Name: "args", Usage: `process.args: a JSON array, or words split at spaces`},
		&cli.StringSliceFlag{Name: "env", Usage: "set NAME=VALUE in process.env (repeatable)"},
		&cli.StringFlag{Name: "platform", Usage: "os/arch[/variant] to pick from a multi-platform image (default: this host's)"},
		&cli.BoolFlag{Name: "overlay", Usage: "share the layers, unpacked once into the layer store, as overlayfs lowers instead of copying them into rootfs/"},
		&cli.StringFlag{Name: "layers", Value: image.DefaultLayerStore, Usage: "the layer store of --overlay"},
	},
	Action: func(c *cli.Context) error {
		if !c.IsSet("image") {
			return errors.New("bundle: required flag --image not given")
		}
		if c.NArg() < 1 {
			return fmt.Errorf("bundle: expects a bundle directory: <bundle-dir> [command [arg...]]")
		}
		dir := c.Args().First()
		opts := image.Options{Platform: c.String("platform"), Overlay: c.Bool("overlay"), Layers: c.String("layers")}
		if rest := c.Args().Tail(); len(rest) > 0 {
			opts.Cmd = rest
		}
		if c.IsSet("args") {
			args, err := parseArgsFlag(c.String("args"))
			if err != nil {
				return err
			}
			opts.Args = args
		}
		opts.Env = c.StringSlice("env")
		var err error
		if opts.UIDMap, err = parseIDMaps(c.StringSlice("uid-map"), "--uid-map"); err != nil {
			return err
		}
		if opts.GIDMap, err = parseIDMaps(c.StringSlice("gid-map"), "--gid-map"); err != nil {
			return err
		}
		// Refuse before unpacking what could be a large image.
		if _, err := os.Lstat(filepath.Join(dir, spec.ConfigName)); err == nil {
			return fmt.Errorf("bundle %q: %s already exists; remove it first", dir, spec.ConfigName)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("bundle %q: %w", dir, err)
		}
		s, err := image.Unpack(c.String("image"), dir, opts)
		if err != nil {
			return err
		}
		return spec.Write(dir, s)
	},
}

func parseArgsFlag(v string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(v), "[") {
		var args []string
		if err := json.Unmarshal([]byte(v), &args); err != nil {
			return nil, fmt.Errorf("--args %q: not a JSON array of strings: %w", v, err)
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("--args: empty")
		}
		return args, nil
	}
	args := strings.Fields(v)
	if len(args) == 0 {
		return nil, fmt.Errorf("--args: empty")
	}
	return args, nil
}

func parseIDMaps(values []string, flag string) ([]image.IDMap, error) {
	var maps []image.IDMap
	for _, v := range values {
		m, err := image.ParseIDMap(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		maps = append(maps, m)
	}
	return maps, nil
}
