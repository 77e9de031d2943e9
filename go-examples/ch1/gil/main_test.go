package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

func TestSameResult(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 123457} {
		if s, g := sequential(n), twoGoroutines(n); s != g {
			t.Fatalf("n=%d: sequential %v != goroutines %v", n, s, g)
		}
	}
	if count(3) != (0*31+1)*31+2 {
		t.Fatalf("count(3) = %d", count(3))
	}
}

func TestRunJSON(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, io.Discard, 10_000, 3, 0); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Metrics map[string]struct {
			Label  string    `json:"label"`
			Unit   string    `json:"unit"`
			Values []float64 `json:"values"`
		} `json:"metrics"`
		Info map[string]any `json:"info"`
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Fatal("more than one JSON value on stdout")
	}
	for _, key := range []string{"sequential_s", "goroutines_s", "goroutine_speedup"} {
		m, ok := got.Metrics[key]
		if !ok || m.Label == "" || m.Unit == "" || len(m.Values) != 3 {
			t.Fatalf("metric %q missing or malformed: %+v", key, m)
		}
		for _, v := range m.Values {
			if v <= 0 {
				t.Fatalf("metric %q has non-positive value %v", key, v)
			}
		}
	}
	if len(got.Metrics) != 3 {
		t.Fatalf("unexpected metrics: %v", got.Metrics)
	}
	for _, key := range []string{"gomaxprocs", "num_cpu", "n", "go_version"} {
		if _, ok := got.Info[key]; !ok {
			t.Fatalf("info.%s missing", key)
		}
	}
	if got.Info["n"] != float64(10_000) {
		t.Fatalf("info.n = %v", got.Info["n"])
	}
}

func TestRunRejectsBadArgs(t *testing.T) {
	if err := run(io.Discard, io.Discard, 0, 1, 1); err == nil {
		t.Fatal("n=0 accepted")
	}
	if err := run(io.Discard, io.Discard, 10, 0, 1); err == nil {
		t.Fatal("rounds=0 accepted")
	}
}

func BenchmarkCount(b *testing.B) {
	for b.Loop() {
		sink += count(1_000_000)
	}
}
