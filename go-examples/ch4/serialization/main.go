// 第四章 · 序列化（Go）：encoding/json 编解码 Python 生成的同一份载荷，分别解到 map[string]any 与结构体。
//
// 用 testing.Benchmark 计时（与 go test -bench 相同的循环次数调整），每项重复 --count 次，
// 每次得到一个“每次操作的秒数”。Python 示例每轮调用一次（--count 1，--offset 为轮次），
// 好让 Go 与 Python 的取样按轮配对。标准输出只有一个 JSON 对象。
//
// 单独运行：go run ./ch4/serialization（不给 --file 时用内置的一小段样例载荷）
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// --8<-- [start:types]
type Item struct {
	SKU   string  `json:"sku"`
	Title string  `json:"title"`
	Price float64 `json:"price"`
	Qty   int     `json:"qty"`
	Gift  bool    `json:"gift"`
}

type User struct {
	ID    int64    `json:"id"`
	Name  string   `json:"name"`
	Email string   `json:"email"`
	VIP   bool     `json:"vip"`
	Tags  []string `json:"tags"`
}

type Order struct {
	ID        int64      `json:"id"`
	User      User       `json:"user"`
	Items     []Item     `json:"items"`
	Total     float64    `json:"total"`
	Currency  string     `json:"currency"`
	CreatedAt time.Time  `json:"created_at"` // RFC 3339，与 Python 端的 ISO 8601 写法一致
	PaidAt    *time.Time `json:"paid_at"`    // 可能为 null
	Shipping  struct {
		City    string `json:"city"`
		Address string `json:"address"`
	} `json:"shipping"`
	Note *string `json:"note"`
	// 内部字段没有声明：Unmarshal 到结构体时直接跳过，相当于 pydantic 的 extra="ignore"
}

type OrderList struct {
	GeneratedAt time.Time `json:"generated_at"`
	Count       int       `json:"count"`
	Orders      []Order   `json:"orders"`
}

// --8<-- [end:types]

const sample = `{"generated_at":"2026-02-01T12:00:00+08:00","count":1,"orders":[{"id":1,` +
	`"user":{"id":7,"name":"张伟","email":"user7@example.com","vip":false,"tags":["会员"]},` +
	`"items":[{"sku":"SKU-00001","title":"机械键盘","price":399.0,"qty":1,"gift":false}],` +
	`"total":399.0,"currency":"CNY","created_at":"2026-01-02T08:00:00+08:00","paid_at":null,` +
	`"shipping":{"city":"上海","address":"上海市某区某路 1 号"},"note":null,"internal_score":0.5,` +
	`"trace":{"shard":3,"debug":false}}]}`

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

type metric struct {
	Label  string    `json:"label"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
}

// --8<-- [start:bench]
func cases(raw []byte) map[string]func(b *testing.B) {
	var asMap map[string]any
	var asStruct OrderList
	if err := json.Unmarshal(raw, &asMap); err != nil {
		panic(err)
	}
	if err := json.Unmarshal(raw, &asStruct); err != nil {
		panic(err)
	}
	return map[string]func(b *testing.B){
		"marshal_map": func(b *testing.B) {
			for b.Loop() {
				if _, err := json.Marshal(asMap); err != nil {
					b.Fatal(err)
				}
			}
		},
		"unmarshal_map": func(b *testing.B) {
			for b.Loop() {
				var v map[string]any
				if err := json.Unmarshal(raw, &v); err != nil {
					b.Fatal(err)
				}
			}
		},
		"marshal_struct": func(b *testing.B) {
			for b.Loop() {
				if _, err := json.Marshal(&asStruct); err != nil {
					b.Fatal(err)
				}
			}
		},
		"unmarshal_struct": func(b *testing.B) {
			for b.Loop() {
				var v OrderList
				if err := json.Unmarshal(raw, &v); err != nil {
					b.Fatal(err)
				}
			}
		},
	}
}

// --8<-- [end:bench]

var labels = map[string]string{
	"marshal_map":      "Go Marshal（map[string]any）",
	"unmarshal_map":    "Go Unmarshal（map[string]any）",
	"marshal_struct":   "Go Marshal（结构体）",
	"unmarshal_struct": "Go Unmarshal（结构体）",
}

var order = []string{"marshal_map", "unmarshal_map", "marshal_struct", "unmarshal_struct"}

func main() {
	testing.Init()
	var files fileList
	flag.Var(&files, "file", "name=path，可重复；不给则用内置样例")
	count := flag.Int("count", 5, "每项重复次数")
	offset := flag.Int("offset", 0, "第一轮从第几项开始（轮换起点）")
	benchtime := flag.String("benchtime", "100ms", "每次取样的目标时长")
	flag.Parse()
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if len(files) == 0 {
		files = fileList{"sample="}
	}

	metrics := map[string]metric{}
	sizes := map[string]int{}
	for _, spec := range files {
		name, path, _ := strings.Cut(spec, "=")
		raw := []byte(sample)
		if path != "" {
			data, err := os.ReadFile(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			raw = data
		}
		sizes[name] = len(raw)
		bench := cases(raw)
		for r := 0; r < *count; r++ {
			// 每轮轮换起点，四项交错进行
			for i := range order {
				key := order[(i+r+*offset)%len(order)]
				res := testing.Benchmark(bench[key])
				m := metrics[key+"_"+name+"_s"]
				m.Label = labels[key] + "（" + name + "）"
				m.Unit = "s"
				m.Values = append(m.Values, float64(res.T.Nanoseconds())/float64(res.N)/1e9)
				metrics[key+"_"+name+"_s"] = m
			}
		}
		fmt.Fprintf(os.Stderr, "%s: %d B\n", name, len(raw))
	}
	out := map[string]any{
		"metrics": metrics,
		"info":    map[string]any{"go": runtime.Version(), "bytes": sizes, "benchtime": *benchtime},
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
