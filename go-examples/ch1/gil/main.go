// gil 是第一章 GIL 实验的 Go 对照：同一个 CPU 密集循环，
// 先在一个 goroutine 里顺序跑两次，再用两个 goroutine 同时跑。
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"
)

// sink 保存计算结果，让编译器无法把循环当作无用代码删掉。
var sink uint64

// --8<-- [start:count]
// count 是纯 CPU 计算：每一步都依赖上一步的 acc，编译器既不能删掉也不能折叠它。
func count(n int) uint64 {
	var acc uint64
	for i := 0; i < n; i++ {
		acc = acc*31 + uint64(i)
	}
	return acc
}

// --8<-- [end:count]

// sequential 在当前 goroutine 里连续跑两次，作为基准。
func sequential(n int) [2]uint64 {
	return [2]uint64{count(n), count(n)}
}

// --8<-- [start:goroutines]
// twoGoroutines 让两个 goroutine 同时计数；Go 没有 GIL，
// 有两个 CPU 时它们真正并行，耗时接近一次 count。
func twoGoroutines(n int) [2]uint64 {
	var res [2]uint64
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[w] = count(n) // 各写各的下标，无需加锁
		}()
	}
	wg.Wait()
	return res
}

// --8<-- [end:goroutines]

type metric struct {
	Label  string    `json:"label"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
}

type report struct {
	Metrics struct {
		Sequential metric `json:"sequential_s"`
		Goroutines metric `json:"goroutines_s"`
		Speedup    metric `json:"goroutine_speedup"`
	} `json:"metrics"`
	Info struct {
		GOMAXPROCS int    `json:"gomaxprocs"`
		NumCPU     int    `json:"num_cpu"`
		N          int    `json:"n"`
		GoVersion  string `json:"go_version"`
	} `json:"info"`
}

// timed 返回 f 的耗时（秒），并把结果留在 sink 里。
func timed(f func(int) [2]uint64, n int) float64 {
	start := time.Now()
	r := f(n)
	elapsed := time.Since(start).Seconds()
	sink ^= r[0] ^ r[1]
	return elapsed
}

// run 做预热和测量，把唯一的 JSON 结果写到 out，进度写到 logw。
func run(out, logw io.Writer, n, rounds, warmup int) error {
	if n <= 0 || rounds < 1 || warmup < 0 {
		return fmt.Errorf("invalid arguments: n=%d rounds=%d warmup=%d", n, rounds, warmup)
	}
	var rep report
	rep.Metrics.Sequential = metric{Label: "两次顺序执行", Unit: "s", Values: []float64{}}
	rep.Metrics.Goroutines = metric{Label: "两个 goroutine 并发", Unit: "s", Values: []float64{}}
	rep.Metrics.Speedup = metric{Label: "goroutine 加速比（顺序/并发）", Unit: "×", Values: []float64{}}

	// 预热：让 CPU 频率和调度器进入稳定状态，不计入结果。
	for range warmup {
		timed(sequential, n)
		timed(twoGoroutines, n)
	}
	for i := range rounds {
		seq := timed(sequential, n)
		par := timed(twoGoroutines, n)
		rep.Metrics.Sequential.Values = append(rep.Metrics.Sequential.Values, seq)
		rep.Metrics.Goroutines.Values = append(rep.Metrics.Goroutines.Values, par)
		rep.Metrics.Speedup.Values = append(rep.Metrics.Speedup.Values, seq/par)
		fmt.Fprintf(logw, "round %d: sequential %.4fs, goroutines %.4fs\n", i+1, seq, par)
	}

	rep.Info.GOMAXPROCS = runtime.GOMAXPROCS(0)
	rep.Info.NumCPU = runtime.NumCPU()
	rep.Info.N = n
	rep.Info.GoVersion = runtime.Version()
	return json.NewEncoder(out).Encode(rep)
}

func main() {
	n := flag.Int("n", 50_000_000, "iterations per worker")
	rounds := flag.Int("rounds", 1, "measured rounds")
	warmup := flag.Int("warmup", 1, "warm-up rounds")
	flag.Parse()
	if err := run(os.Stdout, os.Stderr, *n, *rounds, *warmup); err != nil {
		fmt.Fprintln(os.Stderr, "gil:", err)
		os.Exit(1)
	}
}
