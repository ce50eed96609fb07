package cli

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// run parses argv with a small app like berth's and returns what the
// action saw.
func run(t *testing.T, argv ...string) (*Context, string, error) {
	t.Helper()
	var got *Context
	var out bytes.Buffer
	app := &App{
		Name: "b", Version: "1.2", Writer: &out,
		Flags: []Flag{
			&StringFlag{Name: "root", Value: "/run/b"},
			&BoolFlag{Name: "debug"},
		},
		Commands: []*Command{{
			Name: "exec", Aliases: []string{"x"}, ArgsUsage: "<id> <cmd>",
			Flags: []Flag{
				&BoolFlag{Name: "detach", Aliases: []string{"d"}},
				&StringFlag{Name: "user", Aliases: []string{"u"}},
				&StringFlag{Name: "image", Required: false},
				&StringSliceFlag{Name: "env", Aliases: []string{"e"}},
				&Int64SliceFlag{Name: "gids", Aliases: []string{"g"}},
				&IntFlag{Name: "preserve-fds"},
				&DurationFlag{Name: "interval", Value: 5 * time.Second},
			},
			Action: func(c *Context) error { got = c; return nil },
		}, {
			Name:   "bundle",
			Flags:  []Flag{&StringFlag{Name: "image", Required: true}},
			Action: func(c *Context) error { got = c; return nil },
		}},
	}
	err := app.Run(append([]string{"b"}, argv...))
	return got, out.String(), err
}

func TestParse(t *testing.T) {
	c, _, err := run(t, "--root=/r", "-debug", "exec", "-d", "--user", "1:2", "-e", "A=x,y", "--env=B", "-g", "5,6", "-g=7",
		"--preserve-fds", "2", "--interval", "1s", "id", "sh", "-c", "--detach")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		got, want any
	}{
		{c.String("root"), "/r"}, {c.Bool("debug"), true}, {c.Bool("detach"), true}, {c.Bool("d"), true},
		{c.String("user"), "1:2"}, {c.StringSlice("env"), []string{"A=x,y", "B"}}, {c.Int64Slice("gids"), []int64{5, 6, 7}},
		{c.Int("preserve-fds"), 2}, {c.Duration("interval"), time.Second}, {c.Args().Slice(), []string{"id", "sh", "-c", "--detach"}},
		{c.Args().First(), "id"}, {c.Args().Tail(), []string{"sh", "-c", "--detach"}}, {c.NArg(), 4},
		{c.IsSet("user"), true}, {c.IsSet("u"), true}, {c.IsSet("image"), false}, {c.IsSet("root"), true},
		{c.String("image"), ""}, {c.String("nosuch"), ""}, {c.Command.Name, "exec"},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("got %#v, want %#v", tc.got, tc.want)
		}
	}

	c, _, err = run(t, "x", "--detach=false", "--", "-d")
	if err != nil || c.Bool("detach") || !c.IsSet("detach") || c.String("root") != "/run/b" || c.Args().First() != "-d" {
		t.Errorf("alias, --x=false, --: %v %v %v %q", err, c.Bool("detach"), c.String("root"), c.Args())
	}
	if err := c.Set("root", "/other"); err != nil || c.String("root") != "/other" || !c.IsSet("root") {
		t.Errorf("Set: %v %q", err, c.String("root"))
	}
	if c.Args().Tail() == nil || c.Args().Get(5) != "" {
		t.Errorf("Args accessors")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"exec", "--bogus"}, "exec: flag provided but not defined: -bogus"},
		{[]string{"--bogus", "exec"}, "flag provided but not defined: -bogus"},
		{[]string{"exec", "--user"}, "flag needs an argument: -user"},
		{[]string{"exec", "--preserve-fds", "x"}, `invalid value "x" for flag -preserve-fds`},
		{[]string{"exec", "--detach=maybe"}, `invalid value "maybe" for flag -detach`},
		{[]string{"exec", "---x"}, "bad flag syntax: ---x"},
		{[]string{"nosuch"}, `no command "nosuch"`},
		{[]string{"bundle", "dir"}, "bundle: required flag --image not given"},
	} {
		_, _, err := run(t, tc.argv...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.argv, err, tc.want)
		}
		// runc's statuses: 3 for an unknown command, the caller's (1)
		// for the rest.
		var ee *ExitError
		if coded := errors.As(err, &ee); coded != (tc.argv[0] == "nosuch") || coded && ee.Code != 3 {
			t.Errorf("%q: exit status carried: %v %v", tc.argv, coded, ee)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{nil, "COMMANDS:"},
		{[]string{"--help"}, "--root value   (default: \"/run/b\")"},
		{[]string{"-v"}, "b version 1.2"},
		{[]string{"help", "exec"}, "b exec [command options] <id> <cmd>"},
		{[]string{"exec", "-h"}, "--detach, -d"},
	} {
		c, out, err := run(t, tc.argv...)
		if err != nil || c != nil || !strings.Contains(out, tc.want) {
			t.Errorf("%q: err %v, action ran %v, output %q lacks %q", tc.argv, err, c != nil, out, tc.want)
		}
	}
}

// TestFlagsAfterArgs: a command with FlagsAfterArgs takes its flags after
// its arguments too (runc's `update ID --memory 1M`); others stop at the
// first argument.
func TestFlagsAfterArgs(t *testing.T) {
	parseAll := func(after bool, argv ...string) (*Context, error) {
		var got *Context
		app := &App{
			Name: "b", Writer: &bytes.Buffer{},
			Flags: []Flag{&StringFlag{Name: "root"}},
			Commands: []*Command{{
				Name: "update", FlagsAfterArgs: after,
				Flags: []Flag{
					&StringFlag{Name: "memory", Aliases: []string{"m"}},
					&StringFlag{Name: "pids-limit"},
					&BoolFlag{Name: "quiet"},
				},
				Action: func(c *Context) error { got = c; return nil },
			}},
		}
		err := app.Run(append([]string{"b"}, argv...))
		return got, err
	}
	for _, tc := range []struct {
		argv         []string
		memory, pids string
		quiet        bool
		args         []string
	}{
		{[]string{"update", "id", "--memory", "1M"}, "1M", "", false, []string{"id"}},
		{[]string{"update", "--memory", "1M", "id"}, "1M", "", false, []string{"id"}},
		{[]string{"update", "--pids-limit", "5", "id", "-m=2M", "--quiet"}, "2M", "5", true, []string{"id"}},
		{[]string{"update", "id", "--memory", "-1"}, "-1", "", false, []string{"id"}},
		{[]string{"update", "id", "--quiet", "x"}, "", "", true, []string{"id", "x"}},
		// Not ours, or after "--": arguments.
		{[]string{"update", "id", "--bogus", "5"}, "", "", false, []string{"id", "--bogus", "5"}},
		{[]string{"update", "id", "--", "--memory", "5"}, "", "", false, []string{"id", "--", "--memory", "5"}},
		{[]string{"update", "--", "id", "--memory", "5"}, "", "", false, []string{"id", "--memory", "5"}},
		// A flag without its value takes no argument as one.
		{[]string{"update", "id", "-", "--memory"}, "", "", false, []string{"id", "-", "--memory"}},
	} {
		c, err := parseAll(true, tc.argv...)
		if err != nil {
			t.Errorf("%q: %v", tc.argv, err)
			continue
		}
		if c.String("memory") != tc.memory || c.String("pids-limit") != tc.pids || c.Bool("quiet") != tc.quiet || !reflect.DeepEqual(c.Args().Slice(), tc.args) {
			t.Errorf("%q: memory %q pids %q quiet %v args %q; want %q %q %v %q", tc.argv,
				c.String("memory"), c.String("pids-limit"), c.Bool("quiet"), c.Args(), tc.memory, tc.pids, tc.quiet, tc.args)
		}
	}
	// Without it, flags end at the first argument.
	c, err := parseAll(false, "update", "id", "--memory", "1M")
	if err != nil || c.IsSet("memory") || !reflect.DeepEqual(c.Args().Slice(), []string{"id", "--memory", "1M"}) {
		t.Errorf("without FlagsAfterArgs: %v, memory set %v, args %q", err, c.IsSet("memory"), c.Args())
	}
}
