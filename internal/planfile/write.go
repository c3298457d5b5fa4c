package planfile

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Section is a titled group of keys in a written plan.
type Section struct {
	Title string
	Keys  []string
}

// Doc is how Example documents the keys.
type Doc struct {
	Header   string            // comment lines at the top
	Sections []Section         // keys in no section follow under "other"
	Notes    map[string]string // by key: replaces the flag's usage text
	// Samples are shown commented out for keys whose default is empty
	// ("# app: myapp:application"), so the example still parses to the
	// defaults but shows what a value looks like.
	Samples map[string]string
}

// Example writes a documented plan: every key with its flag's default, its
// usage as a comment. It parses back to the defaults (see the tests).
func (s Schema) Example(w io.Writer, d Doc) error {
	bw := bufio.NewWriter(w)
	comment(bw, d.Header, "")
	for _, sec := range s.sections(d.Sections) {
		fmt.Fprintf(bw, "\n# --- %s ---\n", sec.Title)
		for _, key := range sec.Keys {
			f, _ := s.flagOf(key)
			if f == nil {
				return fmt.Errorf("example: %q is not a key", key)
			}
			usage := d.Notes[key]
			if usage == "" {
				usage = f.Usage
				if key != f.Name {
					usage = "false: " + usage
				}
			}
			fmt.Fprintln(bw)
			comment(bw, usage, "")
			val := s.render(f, s.typed(f, f.DefValue))
			if sample, ok := d.Samples[key]; ok && isEmpty(s.typed(f, f.DefValue)) {
				fmt.Fprintf(bw, "# %s: %s\n", key, sample)
				continue
			}
			fmt.Fprintf(bw, "%s: %s\n", key, val)
		}
	}
	return bw.Flush()
}

// Format writes settings (as Settings returns them, or as read back from
// results.json) as a plan file, in the sections' order.
func (s Schema) Format(w io.Writer, header string, settings map[string]any, secs []Section) error {
	bw := bufio.NewWriter(w)
	comment(bw, header, "")
	for _, sec := range s.sections(secs) {
		var lines []string
		for _, key := range sec.Keys {
			v, ok := settings[key]
			if !ok || isEmpty(v) {
				continue // empty is the default: every server, the bundled app
			}
			f, _ := s.flagOf(key)
			if f == nil {
				continue
			}
			lines = append(lines, fmt.Sprintf("%s: %s", key, s.render(f, v)))
		}
		if len(lines) > 0 {
			fmt.Fprintf(bw, "\n# --- %s ---\n%s\n", sec.Title, strings.Join(lines, "\n"))
		}
	}
	return bw.Flush()
}

// sections adds an "other" section for keys no section names, so a new
// flag is never missing from a written plan.
func (s Schema) sections(secs []Section) []Section {
	named := map[string]bool{}
	out := make([]Section, 0, len(secs)+1)
	for _, sec := range secs {
		var keys []string
		for _, k := range sec.Keys {
			if f, _ := s.flagOf(k); f != nil {
				keys = append(keys, k)
				named[k] = true
			}
		}
		if len(keys) > 0 {
			out = append(out, Section{sec.Title, keys})
		}
	}
	var rest []string
	for _, k := range s.Keys() {
		if !named[k] {
			rest = append(rest, k)
		}
	}
	if len(rest) > 0 {
		out = append(out, Section{"other", rest})
	}
	return out
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case string:
		return t == ""
	case []string:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

// render writes one value in YAML: lists in flow style, strings plain
// when YAML would read them back as the same string.
func (s Schema) render(f *flag.Flag, v any) string {
	switch t := v.(type) {
	case []string:
		items := make([]string, len(t))
		for i, it := range t {
			items[i] = quote(it, true)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case []any: // read back from JSON
		items := make([]string, len(t))
		for i, it := range t {
			items[i] = quote(fmt.Sprint(it), true)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case string:
		return quote(t, false)
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return quote(fmt.Sprint(v), false)
}

var plain = regexp.MustCompile(`^[A-Za-z0-9_/.][A-Za-z0-9_./:=+@-]*$`)

// quote leaves a string plain when YAML reads it back as that string,
// else double-quotes it (YAML's double quotes are a superset of Go's).
func quote(v string, inList bool) string {
	reserved := []string{"true", "false", "yes", "no", "on", "off", "null", "y", "n", ".inf", "-.inf", "+.inf", ".nan"}
	if _, err := strconv.ParseFloat(v, 64); err == nil || strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0o") {
		return strconv.Quote(v) // YAML would read a number
	}
	if plain.MatchString(v) && !slices.Contains(reserved, strings.ToLower(v)) &&
		!strings.Contains(v, ": ") && !strings.HasSuffix(v, ":") && (inList || !strings.Contains(v, "#")) {
		return v
	}
	if !inList && plain.MatchString(strings.ReplaceAll(v, ",", "")) && !slices.Contains(reserved, strings.ToLower(v)) {
		return v // a block scalar may hold commas (capacity=3,p99=1)
	}
	return strconv.Quote(v)
}

// comment writes text as # lines wrapped at 78 columns.
func comment(w io.Writer, text, indent string) {
	for _, para := range strings.Split(text, "\n") {
		line := indent + "#"
		for _, word := range strings.Fields(para) {
			if len(line)+1+len(word) > 78 && line != indent+"#" {
				fmt.Fprintln(w, line)
				line = indent + "#"
			}
			line += " " + word
		}
		fmt.Fprintln(w, line)
	}
}
