package load

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by everything that records latencies, so
// histograms from different connections, trials and packages merge exactly:
// microseconds from 1 µs to one hour, 3 significant figures.
const (
	histLowest  = 1
	histHighest = 3_600_000_000
	histDigits  = 3
)

// NewHistogram returns an empty latency histogram (microseconds) with the
// geometry Run uses, so results from separate runs can be merged.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// newPacked returns the sparse form used per connection: a dense histogram
// with this geometry is about 190 KB, too much for ten thousand connections.
func newPacked() *hdrhistogram.PackedHistogram {
	return hdrhistogram.NewPacked(histLowest, histHighest, histDigits)
}

// micros converts a latency to the histogram's unit, clamped to its range.
func micros(ns int64) int64 {
	us := ns / int64(time.Microsecond)
	if us < histLowest {
		return histLowest
	}
	if us > histHighest {
		return histHighest
	}
	return us
}
