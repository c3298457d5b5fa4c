package deploy

import (
	"strconv"
	"strings"
)

// shQuote quotes s for a POSIX shell (and for systemd's ExecStart, which
// accepts the same single quotes), leaving plain words bare so the
// generated files read naturally.
func shQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@[]") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shQuote(a)
	}
	return strings.Join(q, " ")
}

// pyStr is a Python string literal. Go's quoting escapes (\n, \t, \\, \",
// \xNN, \uNNNN, \UNNNNNNNN) are all valid Python escapes with the same
// meaning.
func pyStr(s string) string { return strconv.Quote(s) }
