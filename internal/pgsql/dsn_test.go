package pgsql

import (
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		in        string
		want      string // String() of the result
		where     string
		wantError bool
	}{
		{in: "postgresql://bob:s3cret@db.example:6543/app?sslmode=require",
			want:  "dbname=app host=db.example password=s3cret port=6543 sslmode=require user=bob",
			where: "host db.example port 6543"},
		{in: "postgres://bob@[::1]/app", want: "dbname=app host=::1 user=bob", where: "host ::1 port 5432"},
		{in: "postgresql://%2Frun%2Fpostgresql/app", want: "dbname=app host=/run/postgresql", where: "unix socket /run/postgresql port 5432"},
		{in: "postgresql://", want: "", where: "the libpq default host, port 5432"},
		{in: "postgresql://u:p%40ss@h1:1,h2:2/d", want: "dbname=d host=h1,h2 password=p@ss port=1,2 user=u", where: "host h1,h2 port 1,2"},
		{in: "host=/tmp port=5433 dbname=x", want: "dbname=x host=/tmp port=5433", where: "unix socket /tmp port 5433"},
		{in: "  host = localhost  password='a b\\'c' user=me ", want: `host=localhost password='a b\'c' user=me`, where: "host localhost port 5432"},
		{in: `password=x\ y`, want: `password='x y'`},
		{in: "", wantError: true},
		{in: "host", wantError: true},
		{in: "host=a password='unterminated", wantError: true},
		{in: "=x", wantError: true},
	}
	for _, tt := range tests {
		d, err := ParseDSN(tt.in)
		if tt.wantError {
			if err == nil {
				t.Errorf("ParseDSN(%q) = %v, want an error", tt.in, d)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", tt.in, err)
			continue
		}
		if got := d.String(); got != tt.want {
			t.Errorf("ParseDSN(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		if tt.where != "" && d.Where() != tt.where {
			t.Errorf("ParseDSN(%q).Where() = %q, want %q", tt.in, d.Where(), tt.where)
		}
	}
}

func TestRedaction(t *testing.T) {
	const pw = "hunter2 the/secret"
	d, err := ParseDSN("postgresql://bob:hunter2%20the%2Fsecret@h/db")
	if err != nil {
		t.Fatal(err)
	}
	if d.Password() != pw {
		t.Fatalf("password %q, want %q", d.Password(), pw)
	}
	for _, s := range []string{d.Redacted(), d.Redact("failed: " + d.String()),
		d.Redact("postgresql://bob:hunter2%20the%2Fsecret@h/db"), d.Redact("x hunter2+the%2Fsecret y"), d.Where()} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "secret") {
			t.Errorf("password leaks: %q", s)
		}
	}
	if !strings.Contains(d.Redacted(), "password=***") {
		t.Errorf("Redacted() = %q, want password=***", d.Redacted())
	}
	// Parse errors must not echo the DSN either.
	if _, err := ParseDSN("host=h password='hunter2 never closed"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("parse error %v echoes the password", err)
	}
	if _, err := ParseDSN("postgresql://bob:hunter2@h:notaport/db%zz"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("parse error %v echoes the password", err)
	}
}

// FuzzParseDSN: whatever parses, prints as key=value pairs that parse back
// to the same DSN, and Redacted never holds the password.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"postgresql://u:p@h:1/d?sslmode=disable", "host=/tmp port=5 password='a\\'b'",
		`password=x\ y`, "postgres://[::1]:5/x", "a=b c= d='' e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDSN(s)
		if err != nil {
			return
		}
		again, err := ParseDSN(d.String())
		if len(d.kv) == 0 {
			return // an empty DSN prints as "", which is not a DSN
		}
		if err != nil {
			t.Fatalf("ParseDSN(%q) printed %q, which does not parse: %v", s, d.String(), err)
		}
		if again.String() != d.String() {
			t.Fatalf("round trip of %q: %q then %q", s, d.String(), again.String())
		}
		if p := d.Password(); len(p) >= 4 && strings.Contains(d.Redacted(), p) && !strings.Contains(d.Redacted(), p+"=") {
			// A password that is also a key name or *** itself may appear legitimately.
			if !strings.Contains("***", p) {
				for k := range d.kv {
					if strings.Contains(k, p) || (k != "password" && strings.Contains(d.kv[k], p)) {
						return
					}
				}
				t.Fatalf("Redacted() %q holds the password %q", d.Redacted(), p)
			}
		}
	})
}
