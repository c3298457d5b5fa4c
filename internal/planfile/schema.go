package planfile

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Schema is what a plan file may say: the flags of the command it plans,
// and the rules that flag parsing alone does not know.
type Schema struct {
	Flags *flag.FlagSet
	// Lists are the flags that take a comma-separated list; in a file
	// they take a YAML list.
	Lists map[string]bool
	// Omit are flags that are not plan keys (--plan itself).
	Omit map[string]bool
	// Groups are flags that stand for one choice: one given on the command
	// line drops the file's others (--workers replaces the file's shapes).
	Groups [][]string
	// Check holds a flag's value to the rules beyond its type (a count of
	// at least 1, a known server); nil accepts. The message names no flag:
	// the caller says where the value came from.
	Check func(flagName, value string) error
}

// negPrefix marks a boolean flag that turns something off; its plan key is
// the positive name.
const negPrefix = "no-"

// Key is the plan key of a flag: the positive name of a --no-X boolean.
func (s Schema) Key(flagName string) string {
	if k, ok := strings.CutPrefix(flagName, negPrefix); ok && isBool(s.Flags.Lookup(flagName)) && s.Flags.Lookup(k) == nil {
		return k
	}
	return flagName
}

// flagOf maps a plan key to its flag, and whether the truth is inverted.
func (s Schema) flagOf(key string) (f *flag.Flag, inverted bool) {
	if s.Omit[key] {
		return nil, false
	}
	if f := s.Flags.Lookup(key); f != nil && s.Key(key) == key {
		return f, false
	}
	if f := s.Flags.Lookup(negPrefix + key); f != nil && isBool(f) {
		return f, true
	}
	return nil, false
}

// Keys lists every plan key, in the flag set's (sorted) order.
func (s Schema) Keys() []string {
	var keys []string
	s.Flags.VisitAll(func(f *flag.Flag) {
		if !s.Omit[f.Name] {
			keys = append(keys, s.Key(f.Name))
		}
	})
	return keys
}

// Apply sets the file's values on the flag set, except those of flags the
// command line gave (given, by flag name: see Given), which win. It stops
// at the first problem, reported at its place in the file.
func (s Schema) Apply(f *File, given map[string]bool) error {
	skip := map[string]bool{}
	for name := range given {
		skip[name] = true
		for _, g := range s.Groups {
			if slices.Contains(g, name) {
				for _, other := range g {
					skip[other] = true
				}
			}
		}
	}
	for _, e := range f.Entries {
		fl, inv := s.flagOf(e.Key)
		if fl == nil {
			return &Error{File: f.Name, Line: e.KeyLine, Col: e.KeyCol, Msg: s.unknown(e.Key)}
		}
		if skip[fl.Name] {
			continue
		}
		value, line, col, err := s.flagValue(fl, inv, e)
		if err == nil && s.Check != nil {
			// A list is checked item by item first, to point at the bad one.
			for _, it := range e.List {
				if ierr := s.Check(fl.Name, it.Value); ierr != nil {
					return &Error{File: f.Name, Line: it.Line, Col: it.Col, Msg: e.Key + ": " + ierr.Error()}
				}
			}
		}
		if err == nil {
			if err = fl.Value.Set(value); err != nil {
				err = typeError(fl, value, e.Kind)
			}
		}
		if err == nil && s.Check != nil {
			err = s.Check(fl.Name, fl.Value.String())
		}
		if err != nil {
			return &Error{File: f.Name, Line: line, Col: col, Msg: e.Key + ": " + err.Error()}
		}
	}
	return nil
}

// Given is the set of flags the command line set (flag.Visit): only those
// override a plan file, not every flag's default.
func Given(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

func (s Schema) unknown(key string) string {
	if k, ok := strings.CutPrefix(key, negPrefix); ok && s.Key(key) != key {
		return fmt.Sprintf("%s: write \"%s: false\" (a plan says what it measures)", key, k)
	}
	if s.Omit[key] {
		return fmt.Sprintf("%s: only on the command line, not in a plan file", key)
	}
	msg := fmt.Sprintf("unknown key %q", key)
	if near := s.nearest(key); near != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", near)
	}
	return msg + "; 'wsgibench plan --example' lists every key"
}

// nearest is the key one typo away, if there is one.
func (s Schema) nearest(key string) string {
	best, bestD := "", 3
	for _, k := range s.Keys() {
		if d := distance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance, for suggestions.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev = cur
	}
	return prev[len(b)]
}

// flagValue is the entry's value in the flag's own syntax, and where to
// point at when it is wrong.
func (s Schema) flagValue(fl *flag.Flag, inv bool, e Entry) (string, int, int, error) {
	if e.IsList {
		if !s.Lists[fl.Name] {
			return "", e.Line, e.Col, fmt.Errorf("want one value, not a list")
		}
		vals := make([]string, 0, len(e.List))
		for _, it := range e.List {
			if strings.Contains(it.Value, ",") {
				return "", it.Line, it.Col, fmt.Errorf("%q: an item cannot hold a comma; make it two items", it.Value)
			}
			if strings.TrimSpace(it.Value) == "" {
				return "", it.Line, it.Col, fmt.Errorf("an empty list item")
			}
			vals = append(vals, it.Value)
		}
		return strings.Join(vals, ","), e.Line, e.Col, nil
	}
	if e.Kind == "null" {
		return "", e.Line, e.Col, fmt.Errorf("no value (leave the key out for the default)")
	}
	v := e.Scalar
	switch get(fl).(type) {
	case bool:
		b, err := strconv.ParseBool(v)
		if err != nil || (e.Kind != "bool" && v != "true" && v != "false") {
			return "", e.Line, e.Col, fmt.Errorf("want true or false, not %q", v)
		}
		if inv {
			b = !b
		}
		return strconv.FormatBool(b), e.Line, e.Col, nil
	case time.Duration:
		if e.Kind == "int" || e.Kind == "float" {
			return "", e.Line, e.Col, fmt.Errorf("%s has no unit: write %ss or %sms", v, v, v)
		}
	}
	return v, e.Line, e.Col, nil
}

// typeError says what a flag's type wanted, in words rather than strconv's.
func typeError(fl *flag.Flag, v, kind string) error {
	switch get(fl).(type) {
	case time.Duration:
		return fmt.Errorf("%q is not a duration such as 3s, 500ms or 1m30s", v)
	case int, int64, uint, uint64:
		return fmt.Errorf("%q is not a whole number", v)
	case float64:
		return fmt.Errorf("%q is not a number", v)
	case bool:
		return fmt.Errorf("want true or false, not %q", v)
	}
	return fmt.Errorf("%q is not a valid value", v)
}

func get(fl *flag.Flag) any {
	if g, ok := fl.Value.(flag.Getter); ok {
		return g.Get()
	}
	return nil
}

func isBool(fl *flag.Flag) bool {
	if fl == nil {
		return false
	}
	_, ok := get(fl).(bool)
	return ok
}

// Settings is the effective plan: every key with the flag set's current
// value, typed for JSON (durations as "3s", lists as lists). Recorded in
// results.json as the plan as run, and written back by Format.
func (s Schema) Settings() map[string]any {
	out := map[string]any{}
	s.Flags.VisitAll(func(f *flag.Flag) {
		if s.Omit[f.Name] {
			return
		}
		out[s.Key(f.Name)] = s.typed(f, f.Value.String())
	})
	return out
}

// typed converts a flag value in flag syntax to the plan's type.
func (s Schema) typed(f *flag.Flag, v string) any {
	if s.Lists[f.Name] {
		list := []string{}
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		return list
	}
	switch get(f).(type) {
	case bool:
		b, _ := strconv.ParseBool(v)
		return b != (s.Key(f.Name) != f.Name)
	case int, int64:
		n, _ := strconv.ParseInt(v, 0, 64)
		return n
	case float64:
		x, _ := strconv.ParseFloat(v, 64)
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return v
		}
		return x
	}
	return v
}
