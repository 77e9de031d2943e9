// gc 是第二章“垃圾回收与延迟”的 Go 对照：与 Python 版同形的请求循环
// （每个请求一小张对象图，一部分进入有界 LRU 缓存长期存活），
// 用 runtime/metrics 读出 GC 停顿的直方图，同时记录每个请求的耗时。
//
// 两种设置各在一个新的子进程里跑：默认 GOGC=100；关掉 GOGC、只靠 GOMEMLIMIT 触发回收。
package main

import (
	"container/list"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// --8<-- [start:request]
type Request struct {
	ID      int
	Path    string
	Headers map[string]string
	Items   []*Item
}

type Item struct {
	Request *Request // 指回请求：循环引用对追踪式 GC 不是问题
	SKU     int
	Price   float64
	Tags    []string
}

// LRU 是有界缓存：新条目放到表头，超出容量时丢掉表尾最老的。
type LRU struct {
	capacity int
	order    *list.List
	index    map[int]*list.Element
}

type entry struct {
	key int
	req *Request
}

func NewLRU(capacity int) *LRU {
	return &LRU{capacity: capacity, order: list.New(), index: make(map[int]*list.Element)}
}

func (c *LRU) Put(key int, req *Request) {
	if el, ok := c.index[key]; ok {
		el.Value = entry{key, req}
		c.order.MoveToFront(el)
		return
	}
	c.index[key] = c.order.PushFront(entry{key, req})
	if c.order.Len() > c.capacity {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.index, oldest.Value.(entry).key)
	}
}

func handle(rid int, cache *LRU, keepEvery int) int {
	req := &Request{
		ID:      rid,
		Path:    "/orders/" + strconv.Itoa(rid%1000),
		Headers: map[string]string{"user-agent": "bench", "x-request-id": strconv.Itoa(rid)},
	}
	for j := range 8 {
		sku := rid*8 + j
		tags := []string{"t" + strconv.Itoa(sku%7), "c" + strconv.Itoa(sku%13)}
		req.Items = append(req.Items, &Item{Request: req, SKU: sku, Price: 9.5 + float64(j), Tags: tags})
	}
	total := 0.0
	skus := make([]int, 0, len(req.Items))
	for _, it := range req.Items {
		total += it.Price
		skus = append(skus, it.SKU)
	}
	body := map[string]any{"id": rid, "total": total, "skus": skus}
	if rid%keepEvery == 0 {
		cache.Put(rid/keepEvery, req) // 一部分请求的结果进入缓存，长期存活
	}
	return len(body)
}

// --8<-- [end:request]

// --8<-- [start:pauses]
// 停顿直方图与 GC 轮数都是进程启动以来的累计值：计时段前后各读一次，相减。
var sampleNames = []string{
	"/sched/pauses/total/gc:seconds",
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/gc/gogc:percent",
	"/gc/gomemlimit:bytes",
}

func readMetrics() []metrics.Sample {
	samples := make([]metrics.Sample, len(sampleNames))
	for i, name := range sampleNames {
		samples[i].Name = name
	}
	metrics.Read(samples)
	return samples
}

// bucketQuantile 返回直方图里第 q 分位所在桶的上界：只知道落在哪个桶，
// 不知道桶内的确切位置，所以报上界（偏保守），误差不超过一个桶宽。
func bucketQuantile(counts []uint64, buckets []float64, q float64) float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			upper := buckets[i+1]
			if math.IsInf(upper, 1) {
				return buckets[i] // 溢出桶没有上界，只能报下界
			}
			return upper
		}
	}
	return math.NaN()
}

// --8<-- [end:pauses]

// diffCounts 返回两次读数之间新增的停顿计数。
func diffCounts(before, after *metrics.Float64Histogram) []uint64 {
	out := make([]uint64, len(after.Counts))
	for i := range after.Counts {
		out[i] = after.Counts[i] - before.Counts[i]
	}
	return out
}

// bucketWidthRatio 是桶宽相对下界的最大比例（在 1 µs 以上的区间里），即分位数的分辨率。
func bucketWidthRatio(buckets []float64) float64 {
	worst := 0.0
	for i := 0; i+1 < len(buckets); i++ {
		lo, hi := buckets[i], buckets[i+1]
		if lo >= 1e-6 && !math.IsInf(hi, 1) {
			worst = max(worst, (hi-lo)/lo)
		}
	}
	return worst
}

// nearestRank 是最近秩法分位数（不插值），v 须已排序。
func nearestRank(v []float64, q float64) float64 {
	rank := max(int(math.Ceil(q*float64(len(v)))), 1)
	return v[min(rank, len(v))-1]
}

type childResult struct {
	ReqP50      float64  `json:"req_p50_s"`
	ReqP99      float64  `json:"req_p99_s"`
	ReqP999     float64  `json:"req_p999_s"`
	ReqMax      float64  `json:"req_max_s"`
	PauseP50    *float64 `json:"pause_p50_s,omitempty"` // 计时段里没有停顿时不报
	PauseP99    *float64 `json:"pause_p99_s,omitempty"`
	PauseMax    float64  `json:"pause_max_s"` // 没有停顿时为 0
	PauseCount  float64  `json:"pause_count"`
	GCCycles    float64  `json:"gc_cycles"`
	AssistShare float64  `json:"assist_share_pct"`
	PeakRSS     float64  `json:"peak_rss_B"`
}

// childWire 是父子进程之间传递的格式（含不出现在指标里的字段）。
type childWire struct {
	childResult
	BucketRatio float64 `json:"bucket_ratio"`
	MemoryLimit int64   `json:"memory_limit"`
	GCPercent   int     `json:"gc_percent"`
	ElapsedSec  float64 `json:"elapsed_s"`
}

func peakRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Maxrss) * 1024 // Linux 上单位是 KiB
}

// --8<-- [start:modes]
// applyMode 在预热之后、开始计时之前调用。
func applyMode(mode string, limit int64) {
	if mode == "memlimit" {
		debug.SetGCPercent(-1)      // 关掉按堆增长比例触发的 GC（等同 GOGC=off）
		debug.SetMemoryLimit(limit) // 只在总内存逼近上限时回收（等同 GOMEMLIMIT）
	}
}

// --8<-- [end:modes]

// runChild 在本进程里跑一种设置。
func runChild(mode string, requests, cacheSize, keepEvery int, limit int64) childWire {
	cache := NewLRU(cacheSize)
	sink := 0
	for rid := range cacheSize * keepEvery { // 预热：先把缓存填满
		sink += handle(rid, cache, keepEvery)
	}
	runtime.GC()
	applyMode(mode, limit)

	lat := make([]float64, requests)
	before := readMetrics()
	start := time.Now()
	base := cacheSize * keepEvery
	for n := range requests {
		t0 := time.Now()
		sink += handle(base+n, cache, keepEvery)
		lat[n] = time.Since(t0).Seconds()
	}
	elapsed := time.Since(start).Seconds()
	after := readMetrics()
	runtime.KeepAlive(sink)

	slices.Sort(lat)
	hb, ha := before[0].Value.Float64Histogram(), after[0].Value.Float64Histogram()
	counts := diffCounts(hb, ha)
	var pauses uint64
	for _, c := range counts {
		pauses += c
	}
	cpu := after[3].Value.Float64() - before[3].Value.Float64()
	assist := after[2].Value.Float64() - before[2].Value.Float64()
	w := childWire{
		BucketRatio: bucketWidthRatio(ha.Buckets),
		GCPercent:   int(int64(after[4].Value.Uint64())), // GOGC=off 时读数为 -1 的补码
		MemoryLimit: int64(after[5].Value.Uint64()),
		ElapsedSec:  elapsed,
	}
	w.childResult = childResult{
		ReqP50:     nearestRank(lat, 0.50),
		ReqP99:     nearestRank(lat, 0.99),
		ReqP999:    nearestRank(lat, 0.999),
		ReqMax:     lat[len(lat)-1],
		PauseCount: float64(pauses),
		GCCycles:   float64(after[1].Value.Uint64() - before[1].Value.Uint64()),
		PeakRSS:    peakRSS(),
	}
	if pauses > 0 {
		p50, p99 := bucketQuantile(counts, ha.Buckets, 0.50), bucketQuantile(counts, ha.Buckets, 0.99)
		w.PauseP50, w.PauseP99 = &p50, &p99
		w.PauseMax = bucketQuantile(counts, ha.Buckets, 1.0)
	}
	if cpu > 0 {
		w.AssistShare = 100 * assist / cpu
	}
	return w
}

var modes = []string{"default", "memlimit"}

// modeLabel 是页面上显示的设置名，内存上限写进名字里。
func modeLabel(mode string, limit int64) string {
	if mode == "memlimit" {
		return fmt.Sprintf("GOGC=off + GOMEMLIMIT=%dMiB", limit>>20)
	}
	return "默认 GOGC=100"
}

var metricLabels = []struct{ key, label, unit string }{
	{"req_p50_s", "请求耗时 p50", "s"},
	{"req_p99_s", "请求耗时 p99", "s"},
	{"req_p999_s", "请求耗时 p99.9", "s"},
	{"req_max_s", "请求耗时最大值", "s"},
	{"pause_p50_s", "GC 停顿 p50（桶上界）", "s"},
	{"pause_p99_s", "GC 停顿 p99（桶上界）", "s"},
	{"pause_max_s", "GC 停顿最大值（桶上界）", "s"},
	{"pause_count", "GC 停顿次数", ""},
	{"gc_cycles", "GC 轮数", ""},
	{"assist_share_pct", "辅助标记占 CPU 时间比例", "%"},
	{"peak_rss_B", "进程峰值内存（RSS）", "B"},
}

type metric struct {
	Label  string    `json:"label"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
}

type modeInfo struct {
	GCPercent     int     `json:"gc_percent"`
	MemoryLimitB  int64   `json:"memory_limit_B"`
	ElapsedSec    float64 `json:"elapsed_s"`
	BucketRatio   float64 `json:"pause_bucket_width_ratio"`
	PauseCountSum float64 `json:"pause_count_last_round"`
}

type report struct {
	Metrics map[string]*metric `json:"metrics"`
	Info    struct {
		GoVersion  string              `json:"go_version"`
		GOMAXPROCS int                 `json:"gomaxprocs"`
		Requests   int                 `json:"requests"`
		Cache      int                 `json:"cache"`
		KeepEvery  int                 `json:"keep_every"`
		Rounds     int                 `json:"rounds"`
		Modes      map[string]modeInfo `json:"modes"`
		Note       string              `json:"pause_quantile_note"`
	} `json:"info"`
}

// spawn 用 -child 重新启动自己，只跑一种设置：每种设置都从空堆开始。
func spawn(mode string, requests, cacheSize, keepEvery int, limit int64, logw io.Writer) (childWire, error) {
	self, err := os.Executable()
	if err != nil {
		return childWire{}, err
	}
	cmd := exec.Command(self, "-child", mode,
		"-requests", strconv.Itoa(requests), "-cache", strconv.Itoa(cacheSize),
		"-keep-every", strconv.Itoa(keepEvery), "-memlimit", strconv.FormatInt(limit, 10))
	cmd.Stderr = logw
	out, err := cmd.Output()
	if err != nil {
		return childWire{}, fmt.Errorf("mode %s: %w", mode, err)
	}
	var w childWire
	if err := json.Unmarshal(out, &w); err != nil {
		return childWire{}, fmt.Errorf("mode %s: bad child output: %w", mode, err)
	}
	return w, nil
}

// childValues 把子进程结果按指标名展开。
func childValues(w childWire) map[string]float64 {
	raw, _ := json.Marshal(w.childResult)
	var m map[string]float64
	_ = json.Unmarshal(raw, &m)
	return m
}

// run 依次（各轮轮换顺序）启动子进程，汇总为唯一的 JSON 结果。
func run(out, logw io.Writer, requests, cacheSize, keepEvery, rounds int, limit int64, modeList []string) error {
	if requests < 1000 || cacheSize < 1 || keepEvery < 1 || rounds < 1 || limit <= 0 {
		return fmt.Errorf("invalid arguments: requests=%d cache=%d keep-every=%d rounds=%d memlimit=%d",
			requests, cacheSize, keepEvery, rounds, limit)
	}
	var rep report
	rep.Metrics = map[string]*metric{}
	rep.Info.Modes = map[string]modeInfo{}
	for r := range rounds {
		order := append(slices.Clone(modeList[r%len(modeList):]), modeList[:r%len(modeList)]...)
		for _, mode := range order {
			w, err := spawn(mode, requests, cacheSize, keepEvery, limit, logw)
			if err != nil {
				return err
			}
			fmt.Fprintf(logw, "%s: p99 %.1f µs, max %.1f µs, %d GC cycles\n",
				mode, w.ReqP99*1e6, w.ReqMax*1e6, int(w.GCCycles))
			values := childValues(w)
			for _, ml := range metricLabels {
				v, ok := values[ml.key]
				if !ok || math.IsNaN(v) {
					continue // 没有停顿时分位数无从谈起，不报
				}
				key := mode + "_" + ml.key
				m := rep.Metrics[key]
				if m == nil {
					m = &metric{Label: modeLabel(mode, limit) + " · " + ml.label, Unit: ml.unit, Values: []float64{}}
					rep.Metrics[key] = m
				}
				m.Values = append(m.Values, v)
			}
			rep.Info.Modes[mode] = modeInfo{
				GCPercent: w.GCPercent, MemoryLimitB: w.MemoryLimit, ElapsedSec: w.ElapsedSec,
				BucketRatio: w.BucketRatio, PauseCountSum: w.PauseCount,
			}
		}
	}
	rep.Info.GoVersion = runtime.Version()
	rep.Info.GOMAXPROCS = runtime.GOMAXPROCS(0)
	rep.Info.Requests = requests
	rep.Info.Cache = cacheSize
	rep.Info.KeepEvery = keepEvery
	rep.Info.Rounds = rounds
	rep.Info.Note = "pause quantiles are upper bounds of runtime/metrics histogram buckets"
	return json.NewEncoder(out).Encode(rep)
}

func main() {
	requests := flag.Int("requests", 400_000, "timed requests per mode")
	cacheSize := flag.Int("cache", 20_000, "LRU capacity (entries)")
	keepEvery := flag.Int("keep-every", 4, "keep every n-th request in the cache")
	rounds := flag.Int("rounds", 1, "child processes per mode")
	limit := flag.Int64("memlimit", 64<<20, "GOMEMLIMIT in bytes for the memlimit mode")
	modeFlag := flag.String("modes", strings.Join(modes, ","), "comma-separated: default,memlimit")
	child := flag.String("child", "", "internal: run one mode in this process")
	flag.Parse()

	if *child != "" {
		if !slices.Contains(modes, *child) {
			fmt.Fprintln(os.Stderr, "gc: invalid mode", *child)
			os.Exit(2)
		}
		w := runChild(*child, *requests, *cacheSize, *keepEvery, *limit)
		if err := json.NewEncoder(os.Stdout).Encode(w); err != nil {
			fmt.Fprintln(os.Stderr, "gc:", err)
			os.Exit(1)
		}
		return
	}
	modeList := strings.Split(*modeFlag, ",")
	for _, m := range modeList {
		if !slices.Contains(modes, m) {
			fmt.Fprintln(os.Stderr, "gc: invalid mode", m)
			os.Exit(2)
		}
	}
	if err := run(os.Stdout, os.Stderr, *requests, *cacheSize, *keepEvery, *rounds, *limit, modeList); err != nil {
		fmt.Fprintln(os.Stderr, "gc:", err)
		os.Exit(1)
	}
}
