// Package planfile reads plan files: a `wsgibench run` written down, so that
// a comparison can be repeated, reviewed and diffed.
//
// A plan file is a YAML mapping whose keys are the run command's flag names
// (trials, duration, servers, ...): one vocabulary to learn, and a flag added
// to run is a plan key at once. Two spellings differ from the command line,
// both because a plan states what it measures:
//
//   - a flag --no-X is the key X with the opposite truth (probe: false is
//     --no-probe), and the negative spelling is refused in files;
//   - a flag that takes a comma-separated list takes a YAML list (a single
//     value is a one-item list).
//
// The file is applied through the flag set itself, so a value from a file
// and one from the command line are parsed by the same code and checked by
// the same rules; the file only adds where the value stood, and every
// problem is reported as file:line:col: what is wrong.
package planfile

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Error is a problem at a place in a plan file.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Entry is one key of a plan file with its value as written.
type Entry struct {
	Key             string
	Scalar          string // the value, unless it is a list
	List            []Item // the value when it is a YAML list
	IsList          bool   // (an empty list is still a list: servers: [])
	Kind            string // the scalar's YAML type: string, int, float, bool or null
	Line, Col       int    // where the value starts
	KeyLine, KeyCol int    // where the key starts
}

// Item is one element of a list value.
type Item struct {
	Value     string
	Line, Col int
}

// File is a parsed plan file: its entries in the order written.
type File struct {
	Name    string
	Entries []Entry
}

// Load reads and parses a plan file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plan file: %w", err)
	}
	return Parse(path, data)
}

// Parse parses a plan file's text. It checks only the form (a mapping of
// keys to scalars or lists of scalars, each key once); what the keys mean
// is Schema.Apply's business.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Name: name}
	doc, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey()) // duplicates: said below, in our words
	if err != nil {
		return nil, f.syntaxError(err)
	}
	var body ast.Node
	for _, d := range doc.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if body != nil {
			return nil, f.errAt(d.Body, "a plan file holds one document; this is a second (after ---)")
		}
		body = d.Body
	}
	if body == nil {
		return f, nil // an empty plan: every default
	}
	body = unwrap(body)
	var pairs []*ast.MappingValueNode
	switch b := body.(type) {
	case *ast.MappingNode:
		pairs = b.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{b}
	default:
		return nil, f.errAt(body, "a plan is a mapping of keys to values, such as \"trials: 5\", not a %s", kindName(body))
	}
	seen := map[string]Entry{}
	for _, p := range pairs {
		kn := unwrap(p.Key)
		key, ok := scalarText(kn)
		if !ok || key == "" {
			return nil, f.errAt(kn, "a key must be a name such as trials, not a %s", kindName(kn))
		}
		if prev, dup := seen[key]; dup {
			return nil, f.errAt(kn, "%s: given twice (first on line %d)", key, prev.KeyLine)
		}
		e := Entry{Key: key}
		e.KeyLine, e.KeyCol = posOf(kn)
		v := p.Value
		if v == nil {
			v = &ast.NullNode{}
		}
		v = unwrap(v)
		if e.Line, e.Col = posOf(v); e.Line == 0 {
			e.Line, e.Col = e.KeyLine, e.KeyCol
		}
		switch vn := v.(type) {
		case *ast.SequenceNode:
			e.IsList = true
			e.List = []Item{}
			for _, it := range vn.Values {
				it = unwrap(it)
				s, ok := scalarText(it)
				if !ok || isNull(it) {
					return nil, f.errAt(it, "%s: a list item must be a single value, not a %s", key, kindName(it))
				}
				line, col := posOf(it)
				e.List = append(e.List, Item{Value: s, Line: line, Col: col})
			}
		case *ast.MappingNode, *ast.MappingValueNode:
			return nil, f.errAt(v, "%s: want a value or a list, not a mapping (is the line below it indented by mistake?)", key)
		case *ast.AliasNode:
			return nil, f.errAt(v, "%s: aliases (*name) are not supported in plan files; write the value", key)
		default:
			s, ok := scalarText(vn)
			if !ok {
				return nil, f.errAt(v, "%s: want a value or a list, not a %s", key, kindName(v))
			}
			e.Scalar, e.Kind = s, scalarKind(vn)
			if isNull(vn) {
				e.Line, e.Col = e.KeyLine, e.KeyCol
			}
		}
		seen[key] = e
		f.Entries = append(f.Entries, e)
	}
	return f, nil
}

// unwrap sees through anchors (&name) and tags (!!str) to the value.
func unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		default:
			return n
		}
		if n == nil {
			return &ast.NullNode{}
		}
	}
}

func scalarText(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.LiteralNode:
		if t.Value == nil {
			return "", true
		}
		return t.Value.Value, true
	case *ast.NullNode:
		return "", true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	}
	return "", false
}

func isNull(n ast.Node) bool { _, ok := n.(*ast.NullNode); return ok }

func scalarKind(n ast.Node) string {
	switch n.(type) {
	case *ast.IntegerNode:
		return "int"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "float"
	case *ast.BoolNode:
		return "bool"
	case *ast.NullNode:
		return "null"
	}
	return "string"
}

func kindName(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "mapping"
	case *ast.SequenceNode:
		return "list"
	case *ast.NullNode:
		return "empty value"
	}
	return strings.ToLower(n.Type().String())
}

func (f *File) errAt(n ast.Node, format string, args ...any) *Error {
	e := &Error{File: f.Name, Msg: fmt.Sprintf(format, args...)}
	e.Line, e.Col = posOf(n)
	return e
}

// posOf is where a node starts as a reader sees it: a mapping starts at
// its first key, not at its first colon.
func posOf(n ast.Node) (line, col int) {
	switch t := n.(type) {
	case nil:
		return 0, 0
	case *ast.MappingNode:
		if len(t.Values) > 0 {
			return posOf(t.Values[0])
		}
	case *ast.MappingValueNode:
		return posOf(t.Key)
	}
	if t := n.GetToken(); t != nil && t.Position != nil {
		return t.Position.Line, t.Position.Column
	}
	return 0, 0
}

// positioned is what go-yaml's errors offer besides their multi-line text.
type positioned interface {
	GetMessage() string
	GetToken() *token.Token
}

// syntaxError turns go-yaml's multi-line, source-quoting error into one
// line with the place it found.
func (f *File) syntaxError(err error) error {
	e := &Error{File: f.Name, Msg: "not valid YAML: " + firstLine(err.Error())}
	var p positioned
	if errors.As(err, &p) {
		e.Msg = "not valid YAML: " + p.GetMessage()
		if t := p.GetToken(); t != nil && t.Position != nil {
			e.Line, e.Col = t.Position.Line, t.Position.Column
		}
	}
	return e
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
