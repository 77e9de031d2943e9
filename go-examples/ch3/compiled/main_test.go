package main

import (
	"math"
	"testing"
)

func TestAddAndLoop(t *testing.T) {
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"add", add(2, 3), 5},
		{"add negative", add(-4, 1), -3},
		{"loop 0", sumLoop(0), 0},
		{"loop 7", sumLoop(7), 21},       // 0+1+…+6
		{"loop 10", sumLoop(10), 21 + 3}, // 再加 0、1、2
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// 能量守恒：模拟 1000 步，总能量的相对变化很小；0 步时是公认的初始能量。
func TestNbodyEnergy(t *testing.T) {
	e0, e1 := nbody(0), nbody(1000)
	if math.Abs(e0-(-0.169075164)) > 1e-9 {
		t.Fatalf("initial energy %.9f", e0)
	}
	if math.Abs((e1-e0)/e0) > 1e-4 {
		t.Fatalf("energy drifted: %.9f -> %.9f", e0, e1)
	}
}

func TestWordCount(t *testing.T) {
	tests := []struct {
		text          string
		distinct, top int
	}{
		{"", 0, 0},
		{"a b a c a", 3, 3},
		{"  x   x  ", 1, 2},
	}
	for _, tc := range tests {
		d, top := wordCount(tc.text)
		if d != tc.distinct || top != tc.top {
			t.Errorf("%q: got (%d, %d), want (%d, %d)", tc.text, d, top, tc.distinct, tc.top)
		}
	}
	if d, _ := wordCount(makeText(2000, 50)); d != 50 {
		t.Errorf("2000 words over a vocabulary of 50 should use all 50, got %d", d)
	}
}

func TestRunShape(t *testing.T) {
	if err := flagSetBenchtime("1ms"); err != nil {
		t.Fatal(err)
	}
	sz := sizes{loopN: 1000, nbodySteps: 10, wordsN: 500, vocab: 20}
	out, err := run(sz, []string{"loop", "nbody", "words"}, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	metrics := out["metrics"].(map[string]metric)
	for _, k := range []string{"loop_s", "nbody_s", "words_s"} {
		if m, ok := metrics[k]; !ok || len(m.Values) != 2 || m.Values[0] <= 0 {
			t.Errorf("metric %s: %+v", k, m)
		}
	}
	if _, err := run(sz, []string{"nope"}, 1, ""); err == nil {
		t.Error("want an error for an unknown kernel")
	}
	once, err := run(sz, nil, 1, "nbody")
	if err != nil || once["info"].(map[string]any)["peak_rss_B"].(float64) <= 0 {
		t.Errorf("once: %v %v", once, err)
	}
}
