package main

import (
	"runtime"
	"testing"
)

// 放行之后所有 goroutine 都退出，不留残余。
func TestParkCleansUp(t *testing.T) {
	p := park(100)
	if p.Leftover != 0 {
		t.Fatalf("leftover goroutines: %d", p.Leftover)
	}
	if p.StackDelta <= 0 {
		t.Fatalf("stack delta %v, want > 0", p.StackDelta)
	}
	if n := runtime.NumGoroutine(); n > p.BaselineGors {
		t.Fatalf("goroutines after park: %d > baseline %d", n, p.BaselineGors)
	}
}

func TestPingPong(t *testing.T) {
	if s := pingPong(1000); s <= 0 {
		t.Fatalf("switch time %v", s)
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("1000, 10000")
	if err != nil || len(got) != 2 || got[1] != 10000 {
		t.Fatalf("parseSizes: %v %v", got, err)
	}
	if _, err := parseSizes("0"); err == nil {
		t.Fatal("want error for 0")
	}
}
