// concurrency 是第三章 3.1 的 Go 部分：启动 N 个阻塞在通道上的 goroutine，
// 量启动耗时与每个 goroutine 占的内存；再让两个 goroutine 经无缓冲通道乒乓，量一次切换的代价。
// 每个 N 在一个新的子进程里测（本程序重新执行自己），基线不受上一个 N 留下的内存影响。
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

type metric struct {
	Label  string    `json:"label"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
}

type report struct {
	Metrics map[string]metric `json:"metrics"`
	Info    map[string]any    `json:"info"`
}

// parked 是一个子进程对一个 N 的测量结果。
type parked struct {
	N            int     `json:"n"`
	StartS       float64 `json:"start_s"`
	RSSDelta     float64 `json:"rss_delta_b"`
	StackDelta   float64 `json:"stack_delta_b"`
	Leftover     int     `json:"leftover"`
	BaselineRSS  float64 `json:"baseline_rss_b"`
	BaselineGors int     `json:"baseline_goroutines"`
}

// vmRSS 读 /proc/self/status 里的 VmRSS（常驻内存），单位字节。
func vmRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}

func stackInuse() float64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.StackInuse)
}

// --8<-- [start:park]
// park 启动 n 个 goroutine，每个都阻塞在同一个通道上；全部停稳后读内存，再放行并等它们退出。
func park(n int) parked {
	runtime.GC()
	baseRSS, baseStack, baseG := vmRSS(), stackInuse(), runtime.NumGoroutine()
	gate := make(chan struct{})
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	t0 := time.Now()
	for range n {
		go func() {
			defer done.Done()
			started.Done()
			<-gate // 在这里挂起，不占 CPU
		}()
	}
	started.Wait()
	elapsed := time.Since(t0).Seconds()
	time.Sleep(5 * time.Millisecond) // 让最后几个 goroutine 也走到 <-gate
	rss, stack := vmRSS(), stackInuse()
	close(gate) // 一次唤醒全部
	done.Wait()
	// Done() 在 goroutine 真正退出之前执行：再等片刻，让它们全部从运行时里消失
	for deadline := time.Now().Add(time.Second); runtime.NumGoroutine() > baseG && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	return parked{
		N: n, StartS: elapsed,
		RSSDelta: rss - baseRSS, StackDelta: stack - baseStack,
		Leftover: runtime.NumGoroutine() - baseG, BaselineRSS: baseRSS, BaselineGors: baseG,
	}
}

// --8<-- [end:park]

// --8<-- [start:pingpong]
// pingPong 让两个 goroutine 经两个无缓冲通道来回传递 m 次；每次往返包含两次切换。
func pingPong(m int) float64 {
	ping, pong := make(chan struct{}), make(chan struct{})
	go func() {
		for range m {
			<-ping
			pong <- struct{}{}
		}
	}()
	t0 := time.Now()
	for range m {
		ping <- struct{}{}
		<-pong
	}
	return time.Since(t0).Seconds() / float64(2*m)
}

// --8<-- [end:pingpong]

// child 在子进程里对一个 N 做测量，把结果以 JSON 写给父进程。
func child(w io.Writer, n int) error {
	return json.NewEncoder(w).Encode(park(n))
}

func measureInChild(n int) (parked, error) {
	exe, err := os.Executable()
	if err != nil {
		return parked{}, err
	}
	cmd := exec.Command(exe, "-child", strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return parked{}, fmt.Errorf("child n=%d: %w", n, err)
	}
	var p parked
	err = json.Unmarshal(out, &p)
	return p, err
}

func run(w, logw io.Writer, sizes []int, m, rounds int) error {
	rep := report{Metrics: map[string]metric{}, Info: map[string]any{}}
	add := func(key, label, unit string, v float64) {
		mt, ok := rep.Metrics[key]
		if !ok {
			mt = metric{Label: label, Unit: unit}
		}
		mt.Values = append(mt.Values, v)
		rep.Metrics[key] = mt
	}
	var children []parked
	for range rounds {
		for _, n := range sizes {
			p, err := measureInChild(n)
			if err != nil {
				return err
			}
			fmt.Fprintf(logw, "n=%d start=%.4fs rss/unit=%.0fB stack/unit=%.0fB\n",
				n, p.StartS, p.RSSDelta/float64(n), p.StackDelta/float64(n))
			add(fmt.Sprintf("start_%d_s", n), fmt.Sprintf("启动 %d 个 goroutine", n), "s", p.StartS)
			add(fmt.Sprintf("rss_per_unit_%d_B", n), fmt.Sprintf("每个 goroutine 的 RSS 增量（N=%d）", n), "B", p.RSSDelta/float64(n))
			add(fmt.Sprintf("stack_per_unit_%d_B", n), fmt.Sprintf("每个 goroutine 的 StackInuse 增量（N=%d）", n), "B", p.StackDelta/float64(n))
			children = append(children, p)
		}
		add("switch_s", "一次切换（乒乓往返 ÷ 2）", "s", pingPong(m))
	}
	leftover := 0
	for _, p := range children {
		leftover = max(leftover, p.Leftover)
	}
	rep.Info["leftover_units"] = leftover
	rep.Info["children"] = children
	rep.Info["round_trips"] = m
	rep.Info["gomaxprocs"] = runtime.GOMAXPROCS(0)
	rep.Info["go_version"] = runtime.Version()
	return json.NewEncoder(w).Encode(rep)
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad size %q", part)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	sizes := flag.String("n", "1000,10000", "要启动的 goroutine 数，逗号分隔")
	m := flag.Int("m", 100000, "乒乓往返次数")
	rounds := flag.Int("rounds", 1, "整组测量重复几轮")
	childN := flag.Int("child", 0, "内部使用：在子进程里测这个 N")
	flag.Parse()
	var err error
	if *childN > 0 {
		err = child(os.Stdout, *childN)
	} else {
		var ns []int
		if ns, err = parseSizes(*sizes); err == nil {
			err = run(os.Stdout, os.Stderr, ns, *m, *rounds)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
