package report

import (
	"bytes"
	"html"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
)

// renderMarkdown renders summary.md the way GitHub does (CommonMark with
// GFM tables and strikethrough), with raw HTML passed through as the most
// permissive renderers do, so any markup that survived escaping shows.
func renderMarkdown(t *testing.T, md []byte) string {
	t.Helper()
	gm := goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
		goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
	)
	var out bytes.Buffer
	if err := gm.Convert(md, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

var (
	htmlTag   = regexp.MustCompile(`<(/?)([A-Za-z][A-Za-z0-9]*)`)
	tableElem = regexp.MustCompile(`(?s)<table>(.*?)</table>`)
	rowElem   = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	cellElem  = regexp.MustCompile(`<t[hd][ >]`)
)

// TestMarkdownEscapesHostileStrings renders summary.md from a file whose
// every server-supplied string is hostile, and reads the result as a
// browser would: only the elements summary.md itself writes, no link, no
// image, no script, every table row as wide as its header, and the
// hostile text shown as the text it was.
func TestMarkdownEscapesHostileStrings(t *testing.T) {
	f := hostileFile(t)
	var b bytes.Buffer
	if err := Markdown(&b, f); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if strings.ContainsAny(md, "\x1b\x00\a") {
		t.Error("summary.md passes control characters through to the terminal")
	}
	page := renderMarkdown(t, b.Bytes())

	// The elements summary.md writes itself; anything else was injected.
	own := []string{"h1", "h2", "p", "strong", "em", "code", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td"}
	for _, m := range htmlTag.FindAllStringSubmatch(page, -1) {
		if !slices.Contains(own, strings.ToLower(m[2])) {
			t.Errorf("rendered summary.md has a <%s%s> element", m[1], m[2])
		}
	}
	for _, bad := range []string{"<!--", "<?"} {
		if i := strings.Index(page, bad); i >= 0 {
			t.Errorf("rendered summary.md contains %q: …%s…", bad, page[max(0, i-60):min(len(page), i+60)])
		}
	}
	// No row of any table is split or widened by a server's words.
	tables := tableElem.FindAllStringSubmatch(page, -1)
	if len(tables) < 4 {
		t.Fatalf("%d tables rendered, want the ranking, a workload and the suites", len(tables))
	}
	for ti, tb := range tables {
		rows := rowElem.FindAllStringSubmatch(tb[1], -1)
		want := len(cellElem.FindAllString(rows[0][1], -1))
		for ri, r := range rows[1:] {
			if got := len(cellElem.FindAllString(r[1], -1)); got != want {
				t.Errorf("table %d row %d has %d cells, its header %d: %.200s", ti, ri+1, got, want, r[1])
			}
		}
	}
	// Every line of summary.md is one of its own: the headings are the
	// ones it writes, and no server string started a quote or a list.
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "# wsgibench results") && !strings.HasPrefix(line, "## "):
			t.Errorf("a stray heading line: %q", line)
		case strings.HasPrefix(line, ">"):
			t.Errorf("a stray quote line: %q", line)
		}
	}
	// The hostile strings are shown as the text they were.
	plain := html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, ""))
	for _, s := range []string{
		"<script>alert(1)</script>",
		"`code` ``more`` *bold* _em_ __strong__ ~~gone~~ \\| \\",
		"[x](javascript:alert(6)) ![i](x.png) <https://example.com> <!-- c --> <?php ?>",
		"&lt;script&gt; &amp; &#60;b&#62; &copy; R&D",
		"1. not a list",
		"a | b | c | d | e |  # heading > quote - item",
	} {
		if !strings.Contains(plain, s) {
			t.Errorf("rendered summary.md does not show %q as text", s)
		}
	}
}

func TestMDText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"gunicorn 23.0.0", "gunicorn 23.0.0"},
		{"wsgibench_app:application", "wsgibench_app:application"},
		{"p < 0.05, x <= 3, 5 > 4", "p < 0.05, x <= 3, 5 > 4"},
		{"<script>", "&lt;script>"},
		{"a|b", `a\|b`},
		{"[x](javascript:y)", `\[x\](javascript:y)`},
		{"*b* _e_ `c` ~s~", "\\*b\\* \\_e\\_ \\`c\\` \\~s\\~"},
		{"&amp; & R&D &#60;", "&amp;amp; & R&D &amp;#60;"},
		{"one\ntwo\r\nthree", "one two  three"},
		{"# h", `\# h`},
		{"#1 fan", "#1 fan"},
		{"> q", `\> q`},
		{"- item", `\- item`},
		{"-5 ms", "-5 ms"},
		{"---", `\---`},
		{"1. item", `1\. item`},
		{"3.0.2", "3.0.2"},
		{"    code", "code"},
		{"\x1b[31m", "\uFFFD\\[31m"},
	} {
		if got := mdText(c.in); got != c.want {
			t.Errorf("mdText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"crud", "`crud`"},
		{"a`b", "``a`b``"},
		{"`x", "`` `x ``"},
		{"l1\nl2", "`l1 l2`"},
	} {
		if got := mdCode(c.in); got != c.want {
			t.Errorf("mdCode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTerminalTablesArePlain: what wsgibench prints on stdout from a
// hostile file carries no control character that would drive the
// terminal (escape sequences, carriage returns).
func TestTerminalTablesArePlain(t *testing.T) {
	f := hostileFile(t)
	var b bytes.Buffer
	Table(&b, f)
	ConformanceTable(&b, f)
	RobustnessTable(&b, f)
	if err := Compare(&b, "old", f, "new", loadFixture(t), 0); err != nil {
		t.Fatal(err)
	}
	for i, r := range b.String() {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			t.Fatalf("control character %U at byte %d: %q", r, i, b.String()[max(0, i-40):min(b.Len(), i+40)])
		}
	}
}
