package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestList(t *testing.T) {
	r := newRuntime(t)

	if out := r.mustRun("list", "-q").stdout; strings.TrimSpace(out) != "" {
		t.Fatalf("list -q on an empty root: %q", out)
	}
	if out := strings.TrimSpace(r.mustRun("list", "--format", "json").stdout); out != "[]" && out != "null" {
		t.Fatalf("list --format json on an empty root: %q, want an empty array", out)
	}

	created := r.create(newShBundle(t, "true"))
	rb := newShBundle(t, waitForGo)
	running := r.create(rb)
	running.start()
	defer release(t, rb)
	want := map[string]specs.ContainerState{created.id: specs.StateCreated, running.id: specs.StateRunning}

	t.Run("quiet", func(t *testing.T) {
		got := lines(r.mustRun("list", "--quiet").stdout)
		sort.Strings(got)
		exp := []string{created.id, running.id}
		sort.Strings(exp)
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Fatalf("list -q: %q, want %q", got, exp)
		}
	})

	t.Run("table", func(t *testing.T) {
		out := lines(r.mustRun("list").stdout)
		if len(out) != 3 {
			t.Fatalf("list: want a header and 2 rows, got %q", out)
		}
		header := strings.Fields(out[0])
		if indexOf(header, "ID") != 0 || indexOf(header, "STATUS") < 0 || indexOf(header, "PID") < 0 || indexOf(header, "BUNDLE") < 0 {
			t.Fatalf("list header %q, want ID ... PID STATUS BUNDLE", out[0])
		}
		for _, row := range out[1:] {
			f := strings.Fields(row)
			if len(f) < len(header)-1 {
				t.Errorf("short row %q", row)
				continue
			}
			id := f[0]
			if st, ok := want[id]; !ok || f[indexOf(header, "STATUS")] != string(st) {
				t.Errorf("row %q: want %s", row, st)
			}
			if got := f[indexOf(header, "BUNDLE")]; !strings.HasPrefix(got, "/") {
				t.Errorf("row %q: bundle column %q", row, got)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		var entries []map[string]any
		out := r.mustRun("list", "--format", "json").stdout
		if err := json.Unmarshal([]byte(out), &entries); err != nil {
			t.Fatalf("list --format json: %v: %q", err, out)
		}
		if len(entries) != 2 {
			t.Fatalf("list --format json: %d entries, want 2: %q", len(entries), out)
		}
		for _, e := range entries {
			id, _ := e["id"].(string)
			if st, ok := want[id]; !ok || e["status"] != string(st) {
				t.Errorf("entry %v: want status %s", e, st)
			}
			if pid, _ := e["pid"].(float64); pid <= 0 {
				t.Errorf("entry %v: no pid", e)
			}
			if bundle, _ := e["bundle"].(string); !strings.HasPrefix(bundle, "/") {
				t.Errorf("entry %v: no bundle", e)
			}
		}
	})
}

func TestSpec(t *testing.T) {
	r := newRuntime(t)
	dir := testDir(t, "spec")
	r.mustRun("spec", "--bundle", dir)
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatalf("spec wrote no config.json: %v", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("spec output is not a valid spec: %v", err)
	}
	if s.Version == "" || s.Process == nil || s.Root == nil || s.Linux == nil {
		t.Fatalf("spec lacks ociVersion/process/root/linux: %s", data)
	}
	if strings.Join(s.Process.Args, " ") != "sh" || !s.Process.Terminal {
		t.Errorf("spec process: args %q terminal %v, want [sh] and true", s.Process.Args, s.Process.Terminal)
	}
	if s.Root.Path != "rootfs" || !s.Root.Readonly {
		t.Errorf("spec root %+v, want rootfs read-only", *s.Root)
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace} {
		found := false
		for _, n := range s.Linux.Namespaces {
			found = found || n.Type == ns
		}
		if !found {
			t.Errorf("default spec lacks a %s namespace", ns)
		}
	}
	cgroupNS := false
	for _, n := range s.Linux.Namespaces {
		cgroupNS = cgroupNS || n.Type == specs.CgroupNamespace
	}
	if cgroupNS != isUnified() {
		t.Errorf("default spec has a cgroup namespace: %v; want one only on a cgroup v2 host (this one: %v), as runc's", cgroupNS, isUnified())
	}

	t.Run("runs", func(t *testing.T) {
		// The generated config, changed only where a test run must differ
		// (no terminal, a command that ends), runs as is.
		b := newBundle(t, "true")
		b.spec = &s
		b.spec.Process.Terminal = false
		b.spec.Process.Args = []string{"sh", "-c", "echo spec-ok; id -u; echo $$"}
		out := lines(r.mustRunContainer(b))
		if strings.Join(out, " ") != "spec-ok 0 1" {
			t.Fatalf("running the default spec: %q, want spec-ok 0 1", out)
		}
	})

	t.Run("rootless", func(t *testing.T) {
		dir := testDir(t, "spec-rootless")
		r.mustRun("spec", "--rootless", "--bundle", dir)
		data, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var s specs.Spec
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		user := false
		for _, n := range s.Linux.Namespaces {
			user = user || n.Type == specs.UserNamespace
		}
		if !user || len(s.Linux.UIDMappings) == 0 || len(s.Linux.GIDMappings) == 0 {
			t.Errorf("rootless spec needs a user namespace with uid/gid mappings: %s", data)
		}
	})
}

func TestFeatures(t *testing.T) {
	r := newRuntime(t)
	res := r.mustRun("features")
	var f struct {
		OCIVersionMax string   `json:"ociVersionMax"`
		Hooks         []string `json:"hooks"`
		Linux         struct {
			Namespaces []string `json:"namespaces"`
			Seccomp    struct {
				Enabled bool     `json:"enabled"`
				Actions []string `json:"actions"`
			} `json:"seccomp"`
		} `json:"linux"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &f); err != nil {
		t.Fatalf("features output is not JSON: %v\n%s", err, res.stdout)
	}
	if f.OCIVersionMax == "" || len(f.Hooks) != 6 || len(f.Linux.Namespaces) != 8 || !f.Linux.Seccomp.Enabled {
		t.Errorf("features: %+v", f)
	}
}

// TestCLI: the command line itself, through the binary. List flags take
// each value whole (exec -e A=x,y is one variable, as in runc) while -g
// also takes a comma-separated list; help and --version print and exit 0;
// a container id that is the name of the help command is still an id;
// a usage error is one line on stderr, without the help on stdout.
func TestCLI(t *testing.T) {
	r := newRuntime(t)

	t.Run("help and version", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--version"}, "version"},
			{[]string{"-v"}, "version"},
			{[]string{"--help"}, "COMMANDS:"},
			{[]string{"-h"}, "COMMANDS:"},
			{nil, "COMMANDS:"},
			{[]string{"help"}, "COMMANDS:"},
			{[]string{"help", "exec"}, "--env value, -e value"},
			{[]string{"exec", "--help"}, "--env value, -e value"},
			{[]string{"update", "-h"}, "--memory value"},
		} {
			res := r.run(tc.args...)
			if res.code != 0 || !strings.Contains(res.stdout, tc.want) {
				t.Errorf("want exit 0 and %q on stdout: %s", tc.want, res)
			}
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"--bogus", "list"}, 1, "-bogus"},
			{[]string{"list", "--bogus"}, 1, "list: flag provided but not defined: -bogus"},
			{[]string{"exec", "--bogus", "id", "true"}, 1, "exec: flag provided but not defined: -bogus"},
			{[]string{"exec", "--preserve-fds", "x", "id", "true"}, 1, "preserve-fds"},
			{[]string{"exec", "-g", "5,x", "id", "true"}, 1, `"5,x"`},
			{[]string{"list", "--format"}, 1, "flag needs an argument"},
			{[]string{"bundle", "dir"}, 1, "--image"},
			{[]string{"state"}, 1, "expects 1 argument"},
			{[]string{"nosuchcommand"}, 3, `no command "nosuchcommand"`},
			{[]string{"help", "nosuchcommand"}, 3, "nosuchcommand"},
		} {
			res := r.run(tc.args...)
			msg := strings.TrimRight(res.stderr, "\n")
			if res.code != tc.code || res.stdout != "" || strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
				t.Errorf("want exit %d, nothing on stdout and one line on stderr with %q: %s", tc.code, tc.want, res)
			}
		}
	})

	t.Run("ids named help", func(t *testing.T) {
		for _, id := range []string{"h", "help"} {
			res := r.run("state", id)
			if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, `container does not exist: "`+id+`"`) {
				t.Errorf("state %s: want the container looked up, not help: %s", id, res)
			}
		}
	})

	t.Run("list flags", func(t *testing.T) {
		c := runningSleeper(t, r)
		res := r.mustRun("exec", "-e", "A=x,y", "-e=B=1, 2", "-g", "5,6", "-g", "7", c.id,
			"sh", "-c", `echo "A=$A"; echo "B=$B"; id -G`)
		if got, want := lines(res.stdout), []string{"A=x,y", "B=1, 2", "0 5 6 7"}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("exec -e A=x,y -e=B=1, 2 -g 5,6 -g 7: got %q, want %q", got, want)
		}
		res = r.mustRun("exec", "--env", "C=a,b", c.id, "sh", "-c", `echo "C=$C"`)
		if got := strings.TrimSpace(res.stdout); got != "C=a,b" {
			t.Errorf("exec --env C=a,b: got %q", got)
		}
	})
}
