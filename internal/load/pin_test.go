package load

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCPUList(t *testing.T) {
	cases := []struct {
		in   string
		want []int
		err  bool
	}{
		{"1", []int{1}, false},
		{"0,2", []int{0, 2}, false},
		{"3-5,1,4", []int{1, 3, 4, 5}, false},
		{" 0 , 1 ", []int{0, 1}, false},
		{"", nil, true},
		{"1,", nil, true},
		{"a", nil, true},
		{"3-1", nil, true},
		{"-1", nil, true},
		{"0-99999", nil, true},
	}
	for _, tc := range cases {
		got, err := ParseCPUList(tc.in)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestPinSelf pins a child copy of the test binary (pinning this process
// would skew the other tests) and checks every one of its threads.
func TestPinSelf(t *testing.T) {
	if os.Getenv("LOAD_PIN_CHILD") == "1" {
		// Start some threads first, so there is more than one to pin.
		for range 4 {
			go func() { runtime.LockOSThread(); time.Sleep(time.Second) }()
		}
		time.Sleep(50 * time.Millisecond)
		if err := PinSelf([]int{0}); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		ents, _ := os.ReadDir("/proc/self/task")
		for _, e := range ents {
			b, _ := os.ReadFile("/proc/self/task/" + e.Name() + "/status")
			for line := range strings.SplitSeq(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
					fmt.Printf("thread %s: %s\n", e.Name(), strings.TrimSpace(v))
				}
			}
		}
		fmt.Printf("gomaxprocs %d\n", runtime.GOMAXPROCS(0))
		os.Exit(0)
	}
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPinSelf$")
	cmd.Env = append(os.Environ(), "LOAD_PIN_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	threads := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, "thread ") {
			threads++
			if !strings.HasSuffix(line, ": 0") {
				t.Errorf("not pinned: %s", line)
			}
		}
	}
	if threads < 2 || !strings.Contains(string(out), "gomaxprocs 1") {
		t.Errorf("child reported %d threads:\n%s", threads, out)
	}
	if err := PinSelf([]int{-1}); err == nil {
		t.Error("PinSelf accepted CPU -1")
	}
}

func TestFileLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	if err := ensureFiles(100); err != nil {
		t.Errorf("100 files: %v", err)
	}
	err := ensureFiles(1 << 40)
	if err == nil {
		t.Skip("no hard limit on open files")
	}
	if !strings.Contains(err.Error(), "hard limit (RLIMIT_NOFILE)") {
		t.Errorf("error %q does not name the limit", err)
	}
}
