package report

import (
	"regexp"
	"strings"
)

// summary.md is read raw in a terminal and rendered on GitHub, in CI
// summaries and by other Markdown renderers, some of which pass raw HTML
// through. Anything a server, an app or a results file supplied (names,
// versions, warnings, stderr lines, probe details) goes through mdText or
// mdCode, so it renders as the text it was: no live HTML, no link, no
// emphasis, no broken table. The escaping is the least that is sound, so
// the raw file stays readable: "p < 0.05" and "wsgibench_app" are left
// alone, "<script>" becomes "&lt;script>".

// entityRef matches what a renderer would decode as an HTML entity.
var entityRef = regexp.MustCompile(`^&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});`)

// orderedMarker matches a line start a renderer would read as an ordered
// list item ("1." or "1)").
var orderedMarker = regexp.MustCompile(`^[0-9]{1,9}[.)]( |$)`)

// blockMarker matches a line start a renderer would read as a heading, a
// quote, a bullet, a rule or a setext underline ("3.0.2" and "-5 ms" are
// none of these).
var blockMarker = regexp.MustCompile(`^(>|#+( |$)|([-+=])( |$|[-+=]))`)

// mdText makes s safe as inline text in a Markdown paragraph, list item or
// table cell: one line, with every character that could start markup
// escaped.
func mdText(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		var next rune
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ') // a table row or list item is one line
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteRune('\uFFFD') // terminal escapes and the like
		case strings.ContainsRune("\\`*[]|~", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '_' && !(i > 0 && alnum(rs[i-1]) && alnum(next)):
			// Intraword underscores never emphasise; others may.
			b.WriteString(`\_`)
		case r == '<' && next != 0 && next != ' ' && next != '=' && !(next >= '0' && next <= '9'):
			// A tag, a comment or an autolink starts with < and a letter,
			// "/", "!" or "?"; "p < 0.05" and "<=" cannot.
			b.WriteString("&lt;")
		case r == '&' && entityRef.MatchString(string(rs[i:min(len(rs), i+40)])):
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	out := strings.TrimLeft(b.String(), " ") // four spaces would start code
	// What starts a block (a heading, a quote, a list, a rule) at the
	// start of a list item's text.
	if blockMarker.MatchString(out) {
		out = `\` + out
	} else if m := orderedMarker.FindString(out); m != "" {
		out = m[:len(m)-2] + `\` + out[len(m)-2:]
	}
	return out
}

func alnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// plain keeps a server's words from driving the terminal: control
// characters (escape sequences, carriage returns, a bell) become U+FFFD
// and line breaks a space, for the tables printed on stdout.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return '\uFFFD'
		}
		return r
	}, s)
}

// mdCode writes s as a Markdown code span, whose content renders
// literally: the fence is one backtick longer than any run of backticks
// in s, and s is one line.
func mdCode(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return '\uFFFD'
		}
		return r
	}, s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || s == "" {
		s = " " + s + " "
	}
	return fence + s + fence
}
