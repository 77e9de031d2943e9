package main

import (
	"flag"
	"testing"
)

// 带类型与不带类型的写法算出同样的结果。
func TestTypedAndDynamicAgree(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{{"zero", 0}, {"one", 1}, {"seven", 7}, {"thousand", 1000}}
	for _, tc := range tests {
		if got, want := sumLoopAny(tc.n), sumLoop(tc.n); got != any(want) {
			t.Errorf("%s: any %v, int %v", tc.name, got, want)
		}
	}
	structs := []point{{1, 2}, {3, 4}}
	maps := []map[string]any{{"x": 1, "y": 2}, {"x": 3, "y": 4}}
	if a, b := sumPoints(structs, 3), sumPointsMap(maps, 3); a != 30 || b != 30 {
		t.Errorf("points: struct %d, map %d, want 30", a, b)
	}
}

func TestAddAny(t *testing.T) {
	tests := []struct {
		a, b, want any
	}{{2, 3, 5}, {1.5, 2.0, 3.5}, {"a", "b", "ab"}}
	for _, tc := range tests {
		if got := addAny(tc.a, tc.b); got != tc.want {
			t.Errorf("addAny(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("addAny(1, \"x\") should panic")
		}
	}()
	addAny(1, "x")
}

func TestRunShape(t *testing.T) {
	if err := flag.Set("test.benchtime", "1ms"); err != nil {
		t.Fatal(err)
	}
	out := run(sizes{n: 1000, points: 10, passes: 2}, 2)
	metrics := out["metrics"].(map[string]metric)
	for _, k := range []string{"typed_add_s", "any_add_s", "struct_props_s", "map_props_s", "any_vs_typed_add", "map_vs_struct_props"} {
		if m, ok := metrics[k]; !ok || len(m.Values) != 2 || m.Values[0] <= 0 {
			t.Errorf("metric %s: %+v", k, m)
		}
	}
}
