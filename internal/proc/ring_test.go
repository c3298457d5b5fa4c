package proc

import (
	"slices"
	"strings"
	"testing"
)

func TestRingLastLines(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		writes []string
		n      int
		want   []string
	}{
		{"empty", 16, nil, 0, nil},
		{"one line", 16, []string{"hello\n"}, 0, []string{"hello"}},
		{"unterminated", 16, []string{"a\nb"}, 0, []string{"a", "b"}},
		{"crlf", 16, []string{"a\r\nb\r\n"}, 0, []string{"a", "b"}},
		{"last n", 32, []string{"1\n2\n3\n4\n"}, 2, []string{"3", "4"}},
		{"split writes", 32, []string{"ab", "c\nd", "e\n"}, 0, []string{"abc", "de"}},
		{"wrap drops partial line", 8, []string{"first\n", "second\n", "x\n"}, 0, []string{"x"}},
		{"wrap exact", 6, []string{"abc\n", "de\nf\n"}, 0, []string{"de", "f"}},
		{"write larger than ring", 4, []string{"aaaa\nbb\n"}, 0, []string{"bb"}},
		{"fills exactly", 4, []string{"ab\n", "c"}, 0, []string{"ab", "c"}},
		{"blank lines kept", 16, []string{"a\n\nb\n"}, 0, []string{"a", "", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(tt.size)
			for _, w := range tt.writes {
				if n, err := r.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := r.lastLines(tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("lastLines(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

// The ring keeps exactly the last size bytes, whatever the write pattern.
func TestRingKeepsTail(t *testing.T) {
	var all strings.Builder
	r := newRing(100)
	for i := range 300 {
		w := strings.Repeat(string(rune('a'+i%26)), i%37)
		r.Write([]byte(w))
		all.WriteString(w)
		got, _ := r.bytes()
		want := all.String()
		if len(want) > 100 {
			want = want[len(want)-100:]
		}
		if string(got) != want {
			t.Fatalf("after %d writes: %q, want %q", i+1, got, want)
		}
	}
}
