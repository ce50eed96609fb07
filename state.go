package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"berth/libcontainer"
	"berth/network"
)

// containerJSON is the state as runc prints it: the OCI fields plus rootfs,
// created and owner, which engines and people read.
type containerJSON struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Network is berth's extension: the container's veth, address and bridge.
	Network *network.Result `json:"network,omitempty"`
}

func describe(ct *libcontainer.Container) containerJSON {
	s := ct.OCIState()
	return containerJSON{
		OCIVersion:  s.Version,
		ID:          s.ID,
		Pid:         s.Pid,
		Status:      string(s.Status),
		Bundle:      s.Bundle,
		Rootfs:      ct.Rootfs(),
		Created:     ct.Created(),
		Owner:       ct.Owner(),
		Annotations: s.Annotations,
		Network:     ct.Network(),
	}
}

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print the container's OCI state as JSON",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, "<container-id>"); err != nil {
			return err
		}
		ct, err := libcontainer.Load(c.String("root"), c.Args().First())
		if err != nil {
			return err
		}
		out, err := json.MarshalIndent(describe(ct), "", "  ")
		if err != nil {
			return err
		}
		os.Stdout.Write(append(out, '\n'))
		return nil
	},
}
