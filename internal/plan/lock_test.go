package plan

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestLockOut(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockOut(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A second holder, as a second process would be (flock locks belong
	// to the open file, so a second open in this process conflicts too).
	_, err = lockOut(dir)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("another wsgibench (pid %d) is writing", os.Getpid())) {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	again, err := lockOut(dir)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again()
}
