package proc

import (
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want procStat
		bad  bool
	}{
		{
			name: "plain",
			in:   "7011 (cat) R 7001 7001 3391 0 -1 4194304 100 0 0 0 12 34 56 78 20 0 1 0 41642 3133440 389 18446744073709551615 0 0",
			want: procStat{pid: 7011, ppid: 7001, pgrp: 7001, state: 'R', comm: "cat", utime: 12, stime: 34, cutime: 56, cstime: 78, rssPages: 389},
		},
		{
			name: "comm with spaces and parens",
			in:   "42 (a (b) c) S 1 42 42 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 1 1 7 0\n",
			want: procStat{pid: 42, ppid: 1, pgrp: 42, state: 'S', comm: "a (b) c", utime: 1, stime: 2, cutime: 3, cstime: 4, rssPages: 7},
		},
		{name: "truncated", in: "42 (x) S 1 42", bad: true},
		{name: "no comm", in: "42 x S 1", bad: true},
		{name: "garbage number", in: "42 (x) S 1 42 42 0 -1 0 0 0 0 0 z 2 3 4 20 0 1 0 1 1 7", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if tt.bad {
				if err == nil {
					t.Errorf("parseStat accepted %q", tt.in)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseStat = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("7011 (cat) R 7001 7001 3391 0 -1 4194304 100 0 0 0 12 34 56 78 20 0 1 0 41642 3133440 389 0"))
	f.Add([]byte("1 ()) Z 0"))
	f.Fuzz(func(t *testing.T, b []byte) { parseStat(b) })
}

func TestDescendantsAndMembers(t *testing.T) {
	procs := map[int]procStat{
		1:  {pid: 1, ppid: 0, pgrp: 1, state: 'S'},
		10: {pid: 10, ppid: 1, pgrp: 10, state: 'S'}, // reaper
		11: {pid: 11, ppid: 10, pgrp: 10, state: 'S'},
		12: {pid: 12, ppid: 11, pgrp: 10, state: 'S'},
		13: {pid: 13, ppid: 11, pgrp: 10, state: 'Z'},
		14: {pid: 14, ppid: 10, pgrp: 14, state: 'S'}, // daemon, own session
		15: {pid: 15, ppid: 1, pgrp: 10, state: 'S'},  // escaped the tree, still in the group
		20: {pid: 20, ppid: 1, pgrp: 20, state: 'S'},
	}
	if got := descendants(procs, 10); len(got) != 4 {
		t.Errorf("descendants = %v, want 11 12 13 14", got)
	}
	got := members(procs, 10, 10, 10)
	want := []int{11, 12, 14, 15}
	if len(got) != len(want) {
		t.Fatalf("members = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("members = %v, want %v", got, want)
		}
	}
}

func TestScanFindsSelf(t *testing.T) {
	procs, err := scanProcs()
	if err != nil {
		t.Fatal(err)
	}
	me, ok := procs[os.Getpid()]
	if !ok || me.ppid != os.Getppid() || me.state == 'Z' {
		t.Errorf("self = %+v, %v", me, ok)
	}
	if _, ok := pssBytes(os.Getpid()); !ok {
		t.Error("no Pss for self")
	}
}

// TestKillTaggedSweepsPastAQuietRound feeds killTagged the sweeps a real
// stop can see: a process inside execve reads an untagged (empty)
// environment, so it is missing from one sweep and back in the next.
func TestKillTaggedSweepsPastAQuietRound(t *testing.T) {
	tests := []struct {
		name       string
		sweeps     [][]int // what each call of the lister returns; empty after the last
		failKill   int     // a pid whose kill fails
		wantKilled int
		wantCalls  int
	}{
		{"nothing tagged", nil, 0, 0, killQuietRounds},
		{"one process", [][]int{{5}}, 0, 1, 1 + killQuietRounds},
		{"missed by one sweep", [][]int{{5}, {}, {7}}, 0, 2, 3 + killQuietRounds},
		{"missed by two sweeps", [][]int{{}, {}, {7}}, 0, 1, 3 + killQuietRounds},
		{"a kill that fails is not counted", [][]int{{5, 6}}, 6, 1, 1 + killQuietRounds},
		{"never goes away", slices.Repeat([][]int{{5}}, 100), 0, 1, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			list := func(tag string) []int {
				if tag != "t" {
					t.Fatalf("lister got tag %q", tag)
				}
				calls++
				if calls <= len(tt.sweeps) {
					return tt.sweeps[calls-1]
				}
				return nil
			}
			kill := func(pid int) error {
				if pid == tt.failKill {
					return unix.ESRCH
				}
				return nil
			}
			if got := killTagged("t", list, kill, 0); got != tt.wantKilled {
				t.Errorf("killed %d, want %d", got, tt.wantKilled)
			}
			if calls != tt.wantCalls {
				t.Errorf("swept %d times, want %d", calls, tt.wantCalls)
			}
		})
	}
}
