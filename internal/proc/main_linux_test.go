package proc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary a parent that starts a tree and then waits
// to be killed (see TestParentKilled).
const helperEnv = "WSGIBENCH_PROC_TEST_HELPER"

type helperConfig struct {
	Tag         string
	Script      string
	Procs       int // wait until the tree has this many processes
	Grace       time.Duration
	NoPdeathsig bool // leave only the reaper's getppid poll as a guard
}

func TestMain(m *testing.M) {
	Main()
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(runHelper(v))
	}
	os.Exit(m.Run())
}

func runHelper(cfgJSON string) int {
	var c helperConfig
	if err := json.Unmarshal([]byte(cfgJSON), &c); err != nil {
		fmt.Println("error", err)
		return 2
	}
	if c.NoPdeathsig {
		reaperPdeathsig = 0
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, helperEnv+"=") })
	g, err := Start(context.Background(), Spec{Argv: sh(c.Script), Env: env, Tag: c.Tag, Grace: c.Grace})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	for deadline := time.Now().Add(10 * time.Second); len(g.Pids()) < c.Procs; {
		if time.Now().After(deadline) {
			fmt.Println("error tree never reached", c.Procs, "processes:", g.Pids())
			return 1
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("ready %d\n", g.rpid)
	time.Sleep(time.Hour) // until the test kills us
	return 0
}
