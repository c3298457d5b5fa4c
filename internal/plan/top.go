package plan

import (
	"cmp"
	"slices"
)

// topCells keeps the n cells (indexes into the runs) with the highest
// median throughput, in their original order: a --budget that cannot
// afford every capacity search spends it where the verdict is decided.
// n ≤ 0 keeps them all.
func topCells(idx []int, median map[int]float64, n int) []int {
	if n <= 0 || n >= len(idx) {
		return idx
	}
	byRPS := slices.Clone(idx)
	slices.SortStableFunc(byRPS, func(a, b int) int { return cmp.Compare(median[b], median[a]) })
	keep := byRPS[:n]
	return slices.DeleteFunc(slices.Clone(idx), func(i int) bool { return !slices.Contains(keep, i) })
}
