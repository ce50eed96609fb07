// Package cli is berth's command-line parser: global flags, one command,
// its flags, its arguments, the way runc's command line reads (Go flag
// syntax: -x or --x, --x=v or --x v, flags end at the first argument or
// "--"; no comma splitting of list flags).
//
// It exists for speed: every container start runs berth several times, and
// the general-purpose parser berth used before spent ~0.5 ms of each run
// in its own set-up (a regular expression per flag name, per lookup).
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// App is the program: global flags and commands.
type App struct {
	Name, Usage, Version string
	Flags                []Flag
	// Before runs after the global flags are parsed, before the command's.
	Before   func(*Context) error
	Commands []*Command
	// Writer receives help and version output (default os.Stdout).
	Writer io.Writer
}

// Command is one subcommand.
type Command struct {
	Name, Usage, ArgsUsage string
	Aliases                []string
	Flags                  []Flag
	// FlagsAfterArgs lets the command's own flags, each with its value,
	// also follow the arguments, up to a "--" (`update ID --memory 1M`):
	// runc 1.1's parser (urfave/cli v1) moved them in front for most
	// commands. Anything else that starts with "-" stays an argument.
	FlagsAfterArgs bool
	Action         func(*Context) error
}

// Context is what an action sees: its command's flags, the global ones
// (looked up when the command has no flag of that name), the arguments.
type Context struct {
	Command *Command
	parent  *Context
	flags   []Flag
	values  map[Flag]any
	isSet   map[Flag]bool
	args    Args
}

// Args are the arguments after the flags.
type Args []string

func (a Args) First() string { return a.Get(0) }

func (a Args) Get(i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

func (a Args) Tail() []string {
	if len(a) < 2 {
		return []string{}
	}
	return a[1:]
}

func (a Args) Len() int        { return len(a) }
func (a Args) Slice() []string { return a }
func (c *Context) Args() Args  { return c.args }
func (c *Context) NArg() int   { return len(c.args) }

// lookup finds the flag called name in this context or the global one.
func (c *Context) lookup(name string) (*Context, Flag) {
	for ctx := c; ctx != nil; ctx = ctx.parent {
		if f := find(ctx.flags, name); f != nil {
			return ctx, f
		}
	}
	return nil, nil
}

func (c *Context) value(name string) (any, bool) {
	ctx, f := c.lookup(name)
	if f == nil {
		return nil, false
	}
	if v, ok := ctx.values[f]; ok {
		return v, true
	}
	return f.defaultValue(), true
}

// String, Bool, ... return the flag's value, its default when not given,
// or the zero value for a name no flag has.
func (c *Context) String(name string) string {
	v, _ := c.value(name)
	s, _ := v.(string)
	return s
}

func (c *Context) Bool(name string) bool {
	v, _ := c.value(name)
	b, _ := v.(bool)
	return b
}

func (c *Context) Int(name string) int {
	v, _ := c.value(name)
	i, _ := v.(int)
	return i
}

func (c *Context) Duration(name string) time.Duration {
	v, _ := c.value(name)
	d, _ := v.(time.Duration)
	return d
}

func (c *Context) StringSlice(name string) []string {
	v, _ := c.value(name)
	s, _ := v.([]string)
	return s
}

func (c *Context) Int64Slice(name string) []int64 {
	v, _ := c.value(name)
	s, _ := v.([]int64)
	return s
}

// IsSet reports whether the flag was given on the command line (or Set).
func (c *Context) IsSet(name string) bool {
	ctx, f := c.lookup(name)
	return f != nil && ctx.isSet[f]
}

// Set gives a flag a value as if it had been on the command line.
func (c *Context) Set(name, value string) error {
	ctx, f := c.lookup(name)
	if f == nil {
		return fmt.Errorf("no such flag -%s", name)
	}
	return ctx.assign(f, name, value)
}

func (c *Context) assign(f Flag, name, value string) error {
	v, err := f.parse(c.values[f], value)
	if err != nil {
		return fmt.Errorf("invalid value %q for flag -%s: %v", value, name, err)
	}
	c.values[f] = v
	c.isSet[f] = true
	return nil
}

var versionFlag = &BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version"}

// ExitError is an error with the exit status it ends the program with. A
// concrete type rather than urfave/cli's ExitCoder interface: a wrapped
// *exec.ExitError (a failed hook's) has an ExitCode method too, and its
// status is not berth's.
type ExitError struct {
	Err  error
	Code int
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit attaches exit status code to err.
func Exit(err error, code int) error { return &ExitError{err, code} }

// exitUnknownCommand is the status for a command that does not exist: 3,
// as urfave/cli's help, and so runc, exits for it.
const exitUnknownCommand = 3

// errHelp: -h/--help was asked for.
var errHelp = errors.New("help requested")

// parse reads flags from args into a new context; it returns the context
// with the arguments that follow them.
func parse(cmd *Command, flags []Flag, parent *Context, args []string) (*Context, error) {
	c := &Context{Command: cmd, parent: parent, flags: flags, values: map[Flag]any{}, isSet: map[Flag]bool{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			c.args = args[i+1:]
			return c, nil
		}
		if len(a) < 2 || a[0] != '-' {
			c.args = args[i:]
			return c, nil
		}
		name := a[1:]
		if name[0] == '-' {
			name = name[1:]
		}
		if name == "" || name[0] == '-' || name[0] == '=' {
			return nil, fmt.Errorf("bad flag syntax: %s", a)
		}
		name, value, hasValue := strings.Cut(name, "=")
		f := find(flags, name)
		if f == nil {
			if name == "help" || name == "h" {
				return c, errHelp
			}
			return nil, fmt.Errorf("flag provided but not defined: -%s", name)
		}
		if !hasValue {
			if f.isBool() {
				value = "true"
			} else {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag needs an argument: -%s", name)
				}
				i++
				value = args[i]
			}
		}
		if err := c.assign(f, name, value); err != nil {
			return nil, err
		}
	}
	c.args = Args{}
	return c, nil
}

// flagsFirst moves the flags of flags found among args, with the value
// a non-bool one takes from the next argument, in front of the rest,
// keeping the order of each part; nothing after a "--" moves.
func flagsFirst(flags []Flag, args []string) []string {
	front := make([]string, 0, len(args))
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		name, _, hasValue := strings.Cut(name, "=")
		f := find(flags, name)
		takesNext := f != nil && !hasValue && !f.isBool()
		if len(a) < 2 || a[0] != '-' || f == nil || takesNext && i+1 == len(args) {
			// A flag missing its value stays too: moved, it would
			// take the first argument as its value.
			rest = append(rest, a)
			continue
		}
		front = append(front, a)
		if takesNext {
			i++
			front = append(front, args[i])
		}
	}
	return append(front, rest...)
}

func find(flags []Flag, name string) Flag {
	for _, f := range flags {
		if slices.Contains(f.names(), name) {
			return f
		}
	}
	return nil
}

// Run parses args (os.Args) and runs the command's action.
func (a *App) Run(args []string) error {
	out := a.Writer
	if out == nil {
		out = os.Stdout
	}
	if len(args) > 0 {
		args = args[1:]
	}
	flags := append(a.Flags[:len(a.Flags):len(a.Flags)], versionFlag)
	global, err := parse(nil, flags, nil, args)
	if errors.Is(err, errHelp) {
		a.help(out)
		return nil
	}
	if err != nil {
		return err
	}
	if global.isSet[versionFlag] {
		fmt.Fprintf(out, "%s version %s\n", a.Name, a.Version)
		return nil
	}
	if a.Before != nil {
		if err := a.Before(global); err != nil {
			return err
		}
	}
	rest := global.args
	if len(rest) == 0 {
		a.help(out)
		return nil
	}
	if rest[0] == "help" {
		if len(rest) > 1 {
			if cmd := a.command(rest[1]); cmd != nil {
				a.commandHelp(out, cmd)
				return nil
			}
			return Exit(fmt.Errorf("no command %q (%s --help lists them)", rest[1], a.Name), exitUnknownCommand)
		}
		a.help(out)
		return nil
	}
	cmd := a.command(rest[0])
	if cmd == nil {
		return Exit(fmt.Errorf("no command %q (%s --help lists them)", rest[0], a.Name), exitUnknownCommand)
	}
	cmdArgs := rest[1:]
	if cmd.FlagsAfterArgs {
		cmdArgs = flagsFirst(cmd.Flags, cmdArgs)
	}
	c, err := parse(cmd, cmd.Flags, global, cmdArgs)
	if errors.Is(err, errHelp) {
		a.commandHelp(out, cmd)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", cmd.Name, err)
	}
	for _, f := range cmd.Flags {
		if f.isRequired() && !c.isSet[f] {
			return fmt.Errorf("%s: required flag --%s not given", cmd.Name, f.names()[0])
		}
	}
	if cmd.Action == nil {
		return nil
	}
	return cmd.Action(c)
}

func (a *App) command(name string) *Command {
	for _, c := range a.Commands {
		if c.Name == name || slices.Contains(c.Aliases, name) {
			return c
		}
	}
	return nil
}

func (a *App) help(w io.Writer) {
	fmt.Fprintf(w, "NAME:\n   %s - %s\n\nUSAGE:\n   %s [global options] command [command options] [arguments...]\n\n", a.Name, a.Usage, a.Name)
	if a.Version != "" {
		fmt.Fprintf(w, "VERSION:\n   %s\n\n", a.Version)
	}
	fmt.Fprintf(w, "COMMANDS:\n")
	width := 0
	for _, c := range a.Commands {
		width = max(width, len(c.Name))
	}
	for _, c := range a.Commands {
		fmt.Fprintf(w, "   %-*s  %s\n", width, c.Name, c.Usage)
	}
	fmt.Fprintf(w, "\nGLOBAL OPTIONS:\n")
	printFlags(w, append(a.Flags[:len(a.Flags):len(a.Flags)], &BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help"}, versionFlag))
}

func (a *App) commandHelp(w io.Writer, c *Command) {
	fmt.Fprintf(w, "NAME:\n   %s %s - %s\n\nUSAGE:\n   %s %s [command options] %s\n", a.Name, c.Name, c.Usage, a.Name, c.Name, c.ArgsUsage)
	if len(c.Flags) > 0 {
		fmt.Fprintf(w, "\nOPTIONS:\n")
		printFlags(w, c.Flags)
	}
}

func printFlags(w io.Writer, flags []Flag) {
	var lines [][2]string
	width := 0
	for _, f := range flags {
		if f.isHidden() {
			continue
		}
		var names []string
		for _, n := range f.names() {
			dash := "--"
			if len(n) == 1 {
				dash = "-"
			}
			if f.isBool() {
				names = append(names, dash+n)
			} else {
				names = append(names, dash+n+" value")
			}
		}
		left := strings.Join(names, ", ")
		right := f.usageText()
		if d := f.defaultText(); d != "" {
			right = strings.TrimSpace(right + " (default: " + d + ")")
		}
		lines = append(lines, [2]string{left, right})
		width = max(width, len(left))
	}
	for _, l := range lines {
		fmt.Fprintf(w, "   %-*s  %s\n", width, l[0], l[1])
	}
}

// Flag is one command-line flag.
type Flag interface {
	names() []string
	isBool() bool
	isHidden() bool
	isRequired() bool
	usageText() string
	defaultText() string
	defaultValue() any
	// parse returns the flag's value after value is given (old is the
	// value so far, for the repeatable flags).
	parse(old any, value string) (any, error)
}

// StringFlag takes a string.
type StringFlag struct {
	Name     string
	Aliases  []string
	Value    string
	Usage    string
	Hidden   bool
	Required bool
}

func (f *StringFlag) names() []string                    { return append([]string{f.Name}, f.Aliases...) }
func (f *StringFlag) isBool() bool                       { return false }
func (f *StringFlag) isHidden() bool                     { return f.Hidden }
func (f *StringFlag) isRequired() bool                   { return f.Required }
func (f *StringFlag) usageText() string                  { return f.Usage }
func (f *StringFlag) defaultValue() any                  { return f.Value }
func (f *StringFlag) parse(_ any, v string) (any, error) { return v, nil }
func (f *StringFlag) defaultText() string {
	if f.Value == "" {
		return ""
	}
	return strconv.Quote(f.Value)
}

// BoolFlag is on when given (--x, --x=true; --x=false turns it off).
type BoolFlag struct {
	Name    string
	Aliases []string
	Value   bool
	Usage   string
	Hidden  bool
}

func (f *BoolFlag) names() []string     { return append([]string{f.Name}, f.Aliases...) }
func (f *BoolFlag) isBool() bool        { return true }
func (f *BoolFlag) isHidden() bool      { return f.Hidden }
func (f *BoolFlag) isRequired() bool    { return false }
func (f *BoolFlag) usageText() string   { return f.Usage }
func (f *BoolFlag) defaultValue() any   { return f.Value }
func (f *BoolFlag) defaultText() string { return "" }
func (f *BoolFlag) parse(_ any, v string) (any, error) {
	return strconv.ParseBool(v)
}

// IntFlag takes an integer.
type IntFlag struct {
	Name    string
	Aliases []string
	Value   int
	Usage   string
	Hidden  bool
}

func (f *IntFlag) names() []string   { return append([]string{f.Name}, f.Aliases...) }
func (f *IntFlag) isBool() bool      { return false }
func (f *IntFlag) isHidden() bool    { return f.Hidden }
func (f *IntFlag) isRequired() bool  { return false }
func (f *IntFlag) usageText() string { return f.Usage }
func (f *IntFlag) defaultValue() any { return f.Value }
func (f *IntFlag) defaultText() string {
	if f.Value == 0 {
		return ""
	}
	return strconv.Itoa(f.Value)
}
func (f *IntFlag) parse(_ any, v string) (any, error) {
	n, err := strconv.ParseInt(v, 0, strconv.IntSize)
	return int(n), err
}

// DurationFlag takes a time.ParseDuration value.
type DurationFlag struct {
	Name    string
	Aliases []string
	Value   time.Duration
	Usage   string
	Hidden  bool
}

func (f *DurationFlag) names() []string   { return append([]string{f.Name}, f.Aliases...) }
func (f *DurationFlag) isBool() bool      { return false }
func (f *DurationFlag) isHidden() bool    { return f.Hidden }
func (f *DurationFlag) isRequired() bool  { return false }
func (f *DurationFlag) usageText() string { return f.Usage }
func (f *DurationFlag) defaultValue() any { return f.Value }
func (f *DurationFlag) defaultText() string {
	if f.Value == 0 {
		return ""
	}
	return f.Value.String()
}
func (f *DurationFlag) parse(_ any, v string) (any, error) { return time.ParseDuration(v) }

// StringSliceFlag collects every value given (no splitting at commas: an
// environment value may hold one).
type StringSliceFlag struct {
	Name    string
	Aliases []string
	Usage   string
	Hidden  bool
}

func (f *StringSliceFlag) names() []string     { return append([]string{f.Name}, f.Aliases...) }
func (f *StringSliceFlag) isBool() bool        { return false }
func (f *StringSliceFlag) isHidden() bool      { return f.Hidden }
func (f *StringSliceFlag) isRequired() bool    { return false }
func (f *StringSliceFlag) usageText() string   { return f.Usage }
func (f *StringSliceFlag) defaultValue() any   { return []string(nil) }
func (f *StringSliceFlag) defaultText() string { return "" }
func (f *StringSliceFlag) parse(old any, v string) (any, error) {
	s, _ := old.([]string)
	return append(s, v), nil
}

// Int64SliceFlag collects integers; a value may list several, comma-separated.
type Int64SliceFlag struct {
	Name    string
	Aliases []string
	Usage   string
	Hidden  bool
}

func (f *Int64SliceFlag) names() []string     { return append([]string{f.Name}, f.Aliases...) }
func (f *Int64SliceFlag) isBool() bool        { return false }
func (f *Int64SliceFlag) isHidden() bool      { return f.Hidden }
func (f *Int64SliceFlag) isRequired() bool    { return false }
func (f *Int64SliceFlag) usageText() string   { return f.Usage }
func (f *Int64SliceFlag) defaultValue() any   { return []int64(nil) }
func (f *Int64SliceFlag) defaultText() string { return "" }
func (f *Int64SliceFlag) parse(old any, v string) (any, error) {
	s, _ := old.([]int64)
	for _, part := range strings.Split(v, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(part), 0, 64)
		if err != nil {
			return nil, err
		}
		s = append(s, n)
	}
	return s, nil
}
