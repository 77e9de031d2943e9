// types 是第三章 3.3 的 Go 部分：同一段计算，静态类型让编译器直接选出机器指令；
// 换成 any（运行时才知道类型）之后，每一步都要装箱、做类型判断——这正是解释器时时刻刻在做的事。
//
//   - 加法循环：add(a, b int) int 对比 addAny(a, b any) any（类型开关里做整数加法）；
//   - 读属性：结构体字段 p.X 对比 map[string]any 里按名字查 "x" 再断言成 int。
//
// 用 testing.Benchmark 计时，每项取 -count 次，每轮四项轮流各测一次（每轮换个起点）。
// 单独运行：go run ./ch3/types -count 3
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"
)

type metric struct {
	Label  string    `json:"label"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
}

// --8<-- [start:typed]
func add(a, b int) int {
	return a + b
}

func sumLoop(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		total = add(total, i%7)
	}
	return total
}

type point struct{ X, Y int }

func sumPoints(points []point, passes int) int {
	s := 0
	for k := 0; k < passes; k++ {
		for i := range points {
			s += points[i].X + points[i].Y
		}
	}
	return s
}

// --8<-- [end:typed]

// --8<-- [start:dynamic]
// addAny 像解释器那样工作：先看两个操作数在运行时是什么类型，再决定怎么加。
func addAny(a, b any) any {
	switch x := a.(type) {
	case int:
		if y, ok := b.(int); ok {
			return x + y
		}
	case float64:
		if y, ok := b.(float64); ok {
			return x + y
		}
	case string:
		if y, ok := b.(string); ok {
			return x + y
		}
	}
	panic(fmt.Sprintf("unsupported operands %T + %T", a, b))
}

func sumLoopAny(n int) any {
	var total any = 0
	for i := 0; i < n; i++ {
		total = addAny(total, i%7)
	}
	return total
}

// sumPointsMap 读的“对象”是 map[string]any：按名字查字段，再断言成 int。
func sumPointsMap(points []map[string]any, passes int) int {
	s := 0
	for k := 0; k < passes; k++ {
		for _, p := range points {
			s += p["x"].(int) + p["y"].(int)
		}
	}
	return s
}

// --8<-- [end:dynamic]

var sink any

type sizes struct{ n, points, passes int }

func cases(sz sizes) (map[string]func(), map[string]any) {
	structs := make([]point, sz.points)
	maps := make([]map[string]any, sz.points)
	for i := range structs {
		structs[i] = point{X: i % 10, Y: 1}
		maps[i] = map[string]any{"x": i % 10, "y": 1}
	}
	calls := map[string]func(){
		"typed_add":    func() { sink = sumLoop(sz.n) },
		"any_add":      func() { sink = sumLoopAny(sz.n) },
		"struct_props": func() { sink = sumPoints(structs, sz.passes) },
		"map_props":    func() { sink = sumPointsMap(maps, sz.passes) },
	}
	checks := map[string]any{
		"typed_add":    sumLoop(sz.n),
		"any_add":      sumLoopAny(sz.n),
		"struct_props": sumPoints(structs, sz.passes),
		"map_props":    sumPointsMap(maps, sz.passes),
	}
	return calls, checks
}

var order = []string{"typed_add", "any_add", "struct_props", "map_props"}

var labels = map[string]string{
	"typed_add":    "Go：加法循环，int",
	"any_add":      "Go：加法循环，any（运行时判断类型）",
	"struct_props": "Go：读属性，结构体字段",
	"map_props":    "Go：读属性，map[string]any",
}

func run(sz sizes, count int) map[string]any {
	calls, checks := cases(sz)
	out := map[string][]float64{}
	for r := 0; r < count; r++ {
		for i := range order {
			name := order[(i+r)%len(order)]
			call := calls[name]
			res := testing.Benchmark(func(b *testing.B) {
				for b.Loop() {
					call()
				}
			})
			out[name] = append(out[name], res.T.Seconds()/float64(res.N))
		}
	}
	metrics := map[string]metric{}
	for _, name := range order {
		metrics[name+"_s"] = metric{labels[name], "s", out[name]}
	}
	// 同一轮里两次计时相除
	ratio := func(a, b string) []float64 {
		v := make([]float64, count)
		for r := range v {
			v[r] = out[a][r] / out[b][r]
		}
		return v
	}
	metrics["any_vs_typed_add"] = metric{"Go 加法循环：any ÷ int", "×", ratio("any_add", "typed_add")}
	metrics["map_vs_struct_props"] = metric{"Go 读属性：map ÷ 结构体", "×", ratio("map_props", "struct_props")}
	info := map[string]any{"go": runtime.Version(), "n": sz.n, "points": sz.points, "passes": sz.passes, "checksums": checks}
	return map[string]any{"metrics": metrics, "info": info}
}

func main() {
	testing.Init()
	var sz sizes
	flag.IntVar(&sz.n, "n", 200000, "加法循环的迭代次数")
	flag.IntVar(&sz.points, "points", 1000, "对象个数")
	flag.IntVar(&sz.passes, "passes", 100, "读几遍")
	count := flag.Int("count", 3, "每项测几次")
	benchtime := flag.String("benchtime", "20ms", "每次取样的目标时长")
	flag.Parse()
	if err := flag.Set("test.benchtime", *benchtime); err != nil || sz.n < 1 || sz.points < 1 || sz.passes < 1 || *count < 1 {
		fmt.Fprintln(os.Stderr, "bad arguments: sizes and -count must be positive, -benchtime a duration")
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(run(sz, *count)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
