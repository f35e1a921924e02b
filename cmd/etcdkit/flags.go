package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// flagSet parses arguments the way etcdctl's cobra/pflag does: flags and positional
// arguments may be interleaved, flags take "--name=value" or "--name value", booleans take
// "--name" or "--name=false", a one-letter alias takes "-w json" or "-wjson", and "--" ends
// the flags.
type flagSet struct {
	defs  map[string]*flagDef
	short map[string]string // one-letter alias → name
}

type flagDef struct {
	name, usage, def string
	kind             string // the value's type as pflag names it: bool, string, int, duration, strings
	isBool           bool
	changed          bool
	set              func(string) error
}

func newFlagSet() *flagSet {
	return &flagSet{defs: map[string]*flagDef{}, short: map[string]string{}}
}

func (fs *flagSet) add(name, kind, def, usage string, set func(string) error) *flagDef {
	d := &flagDef{name: name, kind: kind, usage: usage, def: def, isBool: kind == "bool", set: set}
	fs.defs[name] = d
	return d
}

func (fs *flagSet) boolVar(p *bool, name, usage string) {
	fs.add(name, "bool", strconv.FormatBool(*p), usage, func(s string) error {
		v, err := strconv.ParseBool(s)
		*p = v
		return err
	})
}

func (fs *flagSet) stringVar(p *string, name, def, usage string) {
	*p = def
	fs.add(name, "string", def, usage, func(s string) error { *p = s; return nil })
}

func (fs *flagSet) int64Var(p *int64, name string, def int64, usage string) {
	*p = def
	fs.add(name, "int", strconv.FormatInt(def, 10), usage, func(s string) error {
		v, err := strconv.ParseInt(s, 0, 64)
		*p = v
		return err // pflag's wording: strconv.ParseInt: parsing "x": invalid syntax
	})
}

func (fs *flagSet) durationVar(p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.add(name, "duration", def.String(), usage, func(s string) error {
		v, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("invalid duration")
		}
		*p = v
		return nil
	})
}

// sliceVar is a comma-separated list; given twice, the values add up (pflag's StringSlice).
func (fs *flagSet) sliceVar(p *[]string, name string, def []string, usage string) {
	*p = def
	var d *flagDef
	d = fs.add(name, "strings", "["+strings.Join(def, ",")+"]", usage, func(s string) error {
		vals := strings.Split(s, ",")
		if d.changed {
			*p = append(*p, vals...)
		} else {
			*p = vals
		}
		return nil
	})
}

func (fs *flagSet) alias(letter, name string) { fs.short[letter] = name }

func (fs *flagSet) changed(name string) bool {
	d := fs.defs[name]
	return d != nil && d.changed
}

// setValue sets a flag by name, as given on the command line.
func (fs *flagSet) setValue(d *flagDef, v string) error {
	err := d.set(v)
	d.changed = true
	if err != nil {
		return fmt.Errorf("invalid argument %q for \"--%s\" flag: %v", v, d.name, err)
	}
	return nil
}

// parse returns the positional arguments and how many came before "--" (-1 without "--").
// After stopAfter positional arguments (0: never) the rest are positional too, so that a
// command to run keeps its own flags.
func (fs *flagSet) parse(args []string, stopAfter int) (pos []string, dash int, err error) {
	dash = -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case stopAfter > 0 && len(pos) >= stopAfter:
			pos = append(pos, args[i:]...)
			return pos, dash, nil
		case a == "--":
			dash = len(pos)
			pos = append(pos, args[i+1:]...)
			return pos, dash, nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			d := fs.defs[name]
			if d == nil {
				return nil, 0, fmt.Errorf("unknown flag: --%s", name)
			}
			if !hasVal {
				if d.isBool {
					val = "true"
				} else if i+1 < len(args) {
					i++
					val = args[i]
				} else {
					return nil, 0, fmt.Errorf("flag needs an argument: --%s", name)
				}
			}
			if err := fs.setValue(d, val); err != nil {
				return nil, 0, err
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			letter, rest := a[1:2], a[2:]
			name, ok := fs.short[letter]
			if !ok {
				return nil, 0, fmt.Errorf("unknown shorthand flag: '%s' in %s", letter, a)
			}
			d := fs.defs[name]
			val := strings.TrimPrefix(rest, "=")
			switch {
			case d.isBool && rest == "":
				val = "true"
			case rest != "":
			case i+1 < len(args):
				i++
				val = args[i]
			default:
				return nil, 0, fmt.Errorf("flag needs an argument: '%s' in -%s", letter, letter)
			}
			if err := fs.setValue(d, val); err != nil {
				return nil, 0, err
			}
		default:
			pos = append(pos, a)
		}
	}
	return pos, dash, nil
}

// takesNext reports whether, while the command's name is looked for, the flag arg takes the
// next argument as its value. This is cobra's rule: only a flag known as a boolean, or one
// written with "=" or joined to its value ("-wjson"), stands alone; an unknown one takes a
// value.
func (fs *flagSet) takesNext(arg string) bool {
	var d *flagDef
	switch {
	case strings.Contains(arg, "="):
		return false
	case strings.HasPrefix(arg, "--"):
		d = fs.defs[arg[2:]]
	case len(arg) == 2:
		d = fs.defs[fs.short[arg[1:]]]
	default:
		return false
	}
	return d == nil || !d.isBool
}

// printDefaults lists the flags, sorted, one a line, as pflag's FlagUsages does (and so
// etcdctl's usage): the one-letter alias, the name, the value's type, then the usage, aligned,
// with the default unless it is the type's zero value.
func (fs *flagSet) printDefaults(w io.Writer, only map[string]bool) {
	names := make([]string, 0, len(fs.defs))
	for n := range fs.defs {
		if only == nil || only[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	letters := map[string]string{}
	for l, n := range fs.short {
		letters[n] = l
	}
	lefts, width := make([]string, len(names)), 0
	for i, n := range names {
		lefts[i] = "      --" + n
		if l, ok := letters[n]; ok {
			lefts[i] = "  -" + l + ", --" + n
		}
		if k := fs.defs[n].kind; k != "bool" {
			lefts[i] += " " + k
		}
		width = max(width, len(lefts[i]))
	}
	for i, n := range names {
		d := fs.defs[n]
		usage := d.usage
		switch d.def {
		case "", "0", "0s", "false", "[]":
		default:
			if d.kind == "string" {
				usage += fmt.Sprintf(" (default %q)", d.def)
			} else {
				usage += " (default " + d.def + ")"
			}
		}
		fmt.Fprintf(w, "%-*s   %s\n", width, lefts[i], usage)
	}
}
