package plan

import (
	"reflect"
	"testing"
)

func TestTopCells(t *testing.T) {
	median := map[int]float64{0: 100, 1: 900, 2: 500, 3: 900, 4: 50}
	idx := []int{0, 1, 2, 3, 4}
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{0, []int{0, 1, 2, 3, 4}},
		{9, []int{0, 1, 2, 3, 4}},
		{1, []int{1}},       // a tie keeps the first
		{3, []int{1, 2, 3}}, // original order
	} {
		if got := topCells(idx, median, tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("top %d = %v, want %v", tc.n, got, tc.want)
		}
	}
	if !reflect.DeepEqual(idx, []int{0, 1, 2, 3, 4}) {
		t.Errorf("topCells changed its input: %v", idx)
	}
}
