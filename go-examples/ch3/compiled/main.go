// compiled 是第三章 3.2 的 Go 部分：三个 CPU 密集内核（朴素循环、n 体模拟、词频统计），
// 用 testing.Benchmark 计时（循环次数的调整与 go test -bench 相同），每个内核取 -count 次。
// 三个内核在每一轮里轮流测一次（每轮换个起点），与 Python、C 版的做法相同。
// -once 只把一个内核跑一遍并打印校验值：驱动程序据此量整个进程的峰值常驻内存。
//
// 单独运行：go run ./ch3/compiled -count 3
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

type metric struct {
	Label  string    `json:"label"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
}

type sizes struct {
	loopN, nbodySteps, wordsN, vocab int
}

var kernelLabels = map[string]string{
	"loop":  "朴素循环",
	"nbody": "n 体模拟",
	"words": "词频统计",
}

// sink 接住每次调用的结果，编译器不能把内核当成无用代码删掉。
var sink any

// kernels 返回每个内核的一次调用与它的校验值；只准备 needed 里的内核的输入，
// 量峰值内存时进程里没有别的内核的数据。
func kernels(sz sizes, needed []string) (map[string]func(), map[string]any) {
	calls, checks := map[string]func(){}, map[string]any{}
	for _, name := range needed {
		switch name {
		case "loop":
			calls[name] = func() { sink = sumLoop(sz.loopN) }
			checks[name] = sumLoop(sz.loopN)
		case "nbody":
			calls[name] = func() { sink = nbody(sz.nbodySteps) }
			checks[name] = fmt.Sprintf("%.12f", nbody(sz.nbodySteps))
		case "words":
			text := makeText(sz.wordsN, sz.vocab)
			calls[name] = func() { d, t := wordCount(text); sink = d + t }
			distinct, top := wordCount(text)
			checks[name] = []int{distinct, top}
		}
	}
	return calls, checks
}

// --8<-- [start:bench]
// bench 让每个内核各测 count 次，每次一个“每次调用的秒数”。
func bench(calls map[string]func(), names []string, count int) map[string][]float64 {
	out := make(map[string][]float64)
	for r := 0; r < count; r++ {
		for i := range names {
			name := names[(i+r)%len(names)]
			call := calls[name]
			res := testing.Benchmark(func(b *testing.B) {
				for b.Loop() {
					call()
				}
			})
			out[name] = append(out[name], res.T.Seconds()/float64(res.N))
		}
	}
	return out
}

// --8<-- [end:bench]

func peakRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) * 1024 // Linux 上 ru_maxrss 以 KiB 计
}

func run(sz sizes, names []string, count int, once string) (map[string]any, error) {
	for _, n := range append(names, once) {
		if _, ok := kernelLabels[n]; n != "" && !ok {
			return nil, fmt.Errorf("unknown kernel %q (loop, nbody, words)", n)
		}
	}
	needed := names
	if once != "" {
		needed = []string{once}
	}
	calls, checks := kernels(sz, needed)
	info := map[string]any{
		"go":          runtime.Version(),
		"loop_n":      sz.loopN,
		"nbody_steps": sz.nbodySteps,
		"words_n":     sz.wordsN,
		"vocab":       sz.vocab,
		"checksums":   checks,
	}
	if once != "" {
		info["kernel"] = once
		info["peak_rss_B"] = peakRSS()
		return map[string]any{"metrics": map[string]metric{
			"peak_rss_B": {"峰值常驻内存（" + kernelLabels[once] + "跑一遍）", "B", []float64{peakRSS()}},
		}, "info": info}, nil
	}
	metrics := map[string]metric{}
	for name, values := range bench(calls, names, count) {
		metrics[name+"_s"] = metric{"Go：" + kernelLabels[name] + "，每次调用", "s", values}
	}
	info["benchtime"] = flag.Lookup("test.benchtime").Value.String()
	info["peak_rss_B"] = peakRSS()
	return map[string]any{"metrics": metrics, "info": info}, nil
}

func main() {
	testing.Init()
	var sz sizes
	flag.IntVar(&sz.loopN, "loop-n", 200000, "朴素循环的迭代次数")
	flag.IntVar(&sz.nbodySteps, "nbody-steps", 2000, "n 体模拟的步数")
	flag.IntVar(&sz.wordsN, "words-n", 50000, "词频统计的文本词数")
	flag.IntVar(&sz.vocab, "vocab", 5000, "词表大小")
	list := flag.String("kernels", "loop,nbody,words", "要测的内核，逗号分隔")
	count := flag.Int("count", 3, "每个内核测几次")
	benchtime := flag.String("benchtime", "20ms", "每次取样的目标时长")
	once := flag.String("once", "", "只把这个内核跑一遍（量峰值内存用）")
	flag.Parse()
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var names []string
	if *once == "" {
		names = strings.Split(*list, ",")
	}
	out, err := run(sz, names, *count, *once)
	if err == nil {
		err = json.NewEncoder(os.Stdout).Encode(out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// flagSetBenchtime 供测试设定每次取样的时长。
func flagSetBenchtime(d string) error { return flag.Set("test.benchtime", d) }
