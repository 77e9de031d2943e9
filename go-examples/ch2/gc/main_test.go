package main

import (
	"io"
	"math"
	"testing"
)

func TestBucketQuantile(t *testing.T) {
	buckets := []float64{0, 1e-6, 2e-6, 4e-6, math.Inf(1)}
	counts := []uint64{0, 98, 1, 1} // 98 次落在 [1µs,2µs)，各 1 次在 [2,4) 与溢出桶
	if got := bucketQuantile(counts, buckets, 0.5); got != 2e-6 {
		t.Fatalf("p50 = %v, want upper bound 2e-6", got)
	}
	if got := bucketQuantile(counts, buckets, 0.99); got != 4e-6 {
		t.Fatalf("p99 = %v, want 4e-6", got)
	}
	if got := bucketQuantile(counts, buckets, 1.0); got != 4e-6 {
		t.Fatalf("max = %v, want the overflow bucket's lower bound 4e-6", got)
	}
	if got := bucketQuantile([]uint64{0, 0, 0, 0}, buckets, 0.5); !math.IsNaN(got) {
		t.Fatalf("empty histogram gave %v", got)
	}
}

func TestNearestRank(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if nearestRank(v, 0.5) != 5 || nearestRank(v, 0.99) != 10 || nearestRank(v, 0) != 1 {
		t.Fatal("nearest-rank quantiles wrong")
	}
}

func TestLRUEvictsOldest(t *testing.T) {
	c := NewLRU(2)
	for k := range 3 {
		c.Put(k, &Request{ID: k})
	}
	if _, ok := c.index[0]; ok || c.order.Len() != 2 {
		t.Fatalf("oldest entry not evicted: len=%d", c.order.Len())
	}
}

func TestRunChildCountsPauses(t *testing.T) {
	w := runChild("default", 20_000, 500, 4, 64<<20)
	if w.ReqP50 <= 0 || w.ReqP50 > w.ReqP99 || w.ReqP99 > w.ReqP999 || w.ReqP999 > w.ReqMax {
		t.Fatalf("request quantiles out of order: %+v", w.childResult)
	}
	if w.GCCycles < 1 || w.PauseCount < 1 || w.PauseP50 == nil || w.PauseMax < *w.PauseP50 {
		t.Fatalf("no GC pause seen: %+v", w.childResult)
	}
	if w.GCPercent != 100 || w.BucketRatio <= 0 {
		t.Fatalf("gogc %d, bucket ratio %v", w.GCPercent, w.BucketRatio)
	}
}

func TestRunRejectsBadArgs(t *testing.T) {
	if err := run(io.Discard, io.Discard, 10, 100, 4, 1, 1<<20, modes); err == nil {
		t.Fatal("requests=10 accepted")
	}
	if err := run(io.Discard, io.Discard, 10_000, 100, 0, 1, 1<<20, modes); err == nil {
		t.Fatal("keep-every=0 accepted")
	}
}
