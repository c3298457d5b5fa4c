package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// maxCaptureBody bounds the body kept for captures: an id sits near the
// start of a created item, and a benchmark must not buffer a huge response.
const maxCaptureBody = 256 << 10

// capturer takes one value out of a response body.
type capturer struct {
	slot int    // where the flow instance keeps the value
	name string // the variable
	rule string // as written, for messages: {json: id}
	path []string
	re   *regexp.Regexp
}

func newCapturer(cp Capture) (capturer, error) {
	if !VarNameOK(cp.Var) {
		return capturer{}, fmt.Errorf("bad name %q: want letters, digits and _", cp.Var)
	}
	k := capturer{name: cp.Var}
	switch {
	case cp.JSON != "" && cp.Regex != "":
		return k, fmt.Errorf("give json or regex, not both")
	case cp.JSON != "":
		k.rule = "{json: " + cp.JSON + "}"
		k.path = strings.Split(cp.JSON, ".")
		for _, p := range k.path {
			if p == "" {
				return k, fmt.Errorf("json path %q has an empty field", cp.JSON)
			}
		}
	case cp.Regex != "":
		k.rule = "{regex: " + strconv.Quote(cp.Regex) + "}"
		re, err := regexp.Compile(cp.Regex)
		if err != nil {
			return k, fmt.Errorf("regex: %w", err)
		}
		if re.NumSubexp() < 1 {
			return k, fmt.Errorf("regex %q has no group: the first group is the value", cp.Regex)
		}
		k.re = re
	default:
		return k, fmt.Errorf("give json or regex")
	}
	return k, nil
}

// find returns the value in body, or why there is none.
func (k *capturer) find(body []byte) ([]byte, string) {
	var val []byte
	if k.re != nil {
		m := k.re.FindSubmatchIndex(body)
		if m == nil || m[2] < 0 {
			return nil, "no match"
		}
		val = body[m[2]:m[3]]
	} else {
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, "not JSON"
		}
		for _, f := range k.path {
			switch x := v.(type) {
			case map[string]any:
				var ok bool
				if v, ok = x[f]; !ok {
					return nil, "no field " + strings.Join(k.path, ".")
				}
			case []any:
				i, err := strconv.Atoi(f)
				if err != nil || i < 0 || i >= len(x) {
					return nil, "no field " + strings.Join(k.path, ".")
				}
				v = x[i]
			default:
				return nil, "no field " + strings.Join(k.path, ".")
			}
		}
		switch x := v.(type) {
		case string:
			val = []byte(x)
		case json.Number:
			val = []byte(x)
		case bool:
			val = strconv.AppendBool(nil, x)
		default:
			return nil, strings.Join(k.path, ".") + " is not a string, number or boolean"
		}
	}
	if len(val) == 0 {
		return nil, "an empty value"
	}
	if hasCTL(string(val)) {
		return nil, "a value with control characters"
	}
	return val, ""
}
