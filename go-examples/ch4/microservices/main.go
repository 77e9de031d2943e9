// 第四章 · 微服务的代价：同一个小服务（GET /json 调用下一个服务，把自己的名字加在调用链前面）的 Go 版本，
// 以及测量它用的客户端。一个二进制，四种角色：
//
//	-role serve   服务：-next 为空时是链尾（叶子），否则调用下一个服务；可开 TLS 与双向 TLS
//	-role probe   客户端：顺序发请求、核对每个响应的调用链，输出延迟分位数（JSON）
//	-role refuse  客户端：发一个请求，期望被双向 TLS 拒绝；没被拒绝就以状态 1 退出
//	-role hog     内存负载：保持 -live-mib 的存活数据并不停换血，看 GOMEMLIMIT 在内存上限下做什么
//
// 单独运行：go run ./ch4/microservices -role serve -name leaf -port 8081，
// 再 go run ./ch4/microservices -role serve -name a -port 8080 -next http://127.0.0.1:8081，
// 然后 curl http://127.0.0.1:8080/json 得到 {"chain":["a","leaf"],"resumed":0}。
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reply 是每个服务的回答：调用链上各服务的名字（自己在前），以及链上恢复了 TLS 会话的调用数。
type Reply struct {
	Chain   []string `json:"chain"`
	Resumed int      `json:"resumed"`
}

// TLSFiles 是一端用到的证书文件；全空表示明文 HTTP。
type TLSFiles struct {
	Cert, Key string // 自己的证书与私钥（服务端证书，或双向 TLS 里客户端出示的证书）
	CA        string // 信任的 CA：客户端用它验证服务端；服务端设了它就要求并验证客户端证书
}

func (f TLSFiles) enabled() bool { return f.Cert != "" || f.CA != "" }

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate in it", path)
	}
	return pool, nil
}

// --8<-- [start:clients]
// 三种调用下游的方式（mode）：
//
//	reuse   keep-alive：连接（与其上的 TLS 会话）一直复用，握手只在第一次
//	new     每次调用新建 TCP 连接；有 TLS 时每次完整握手
//	resume  每次新建连接，但带着上次的会话票据恢复 TLS 会话（省掉证书的签名与验证）
func newClient(mode string, files TLSFiles, serverName string) (*http.Client, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: 256, DisableKeepAlives: mode != "reuse"}
	if files.enabled() {
		cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
		if files.CA != "" {
			pool, err := loadPool(files.CA)
			if err != nil {
				return nil, err
			}
			cfg.RootCAs = pool
		}
		if files.Cert != "" {
			pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
			if err != nil {
				return nil, err
			}
			// 不管服务端要的是哪个 CA 签发的，都出示这张证书（否则持别的 CA 证书的客户端
			// 干脆什么都不发，测不到“证书来自别的 CA 被拒绝”）
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return &pair, nil
			}
		}
		if mode == "resume" {
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(64)
		}
		transport.TLSClientConfig = cfg
	}
	return &http.Client{Transport: transport, Timeout: 10 * time.Second}, nil
}

// --8<-- [end:clients]

var modes = []string{"reuse", "new", "resume"}

func clientsFor(files TLSFiles, serverName string) (map[string]*http.Client, error) {
	out := map[string]*http.Client{}
	for _, m := range modes {
		c, err := newClient(m, files, serverName)
		if err != nil {
			return nil, err
		}
		out[m] = c
	}
	return out, nil
}

// fetch 取一次 url 的回答并解码；didResume 报告这次连接是否恢复了 TLS 会话。
func fetch(c *http.Client, url string) (Reply, bool, error) {
	var r Reply
	resp, err := c.Get(url)
	if err != nil {
		return r, false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return r, false, err
	}
	if resp.StatusCode != http.StatusOK {
		return r, false, fmt.Errorf("GET %s: status %d: %.80s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, false, fmt.Errorf("GET %s: body is not a reply: %.80s", url, body)
	}
	return r, resp.TLS != nil && resp.TLS.DidResume, nil
}

// --8<-- [start:handler]
func handler(name, next string, clients map[string]*http.Client) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		reply := Reply{Chain: []string{name}}
		if next != "" {
			// 调用下一个服务，调用方式（mode）沿链传下去
			mode := r.URL.Query().Get("mode")
			c, ok := clients[mode]
			if !ok {
				mode, c = "reuse", clients["reuse"]
			}
			down, resumed, err := fetch(c, next+"/json?mode="+mode)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			reply.Chain = append(reply.Chain, down.Chain...)
			reply.Resumed = down.Resumed
			if resumed {
				reply.Resumed++
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(reply)
	})
	// --8<-- [end:handler]
	// 运行时看到的 CPU 与内存上限（资源限制一节读它）
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"gomaxprocs": runtime.GOMAXPROCS(0),
			"numcpu":     runtime.NumCPU(),
			"memlimit":   debug.SetMemoryLimit(-1),
			"heap_inuse": ms.HeapInuse,
			"heap_sys":   ms.HeapSys,
		})
	})
	return mux
}

func serve(name string, port int, next string, server, down TLSFiles) error {
	clients, err := clientsFor(down, "localhost")
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(name, next, clients), ReadHeaderTimeout: 10 * time.Second}
	if !server.enabled() {
		return srv.Serve(ln)
	}
	cfg, err := serverTLS(server)
	if err != nil {
		return err
	}
	srv.TLSConfig = cfg
	return srv.ServeTLS(ln, "", "")
}

// --8<-- [start:server_tls]
// serverTLS：有 CA 时要求客户端出示由它签发的证书（双向 TLS），否则只出示自己的证书。
func serverTLS(files TLSFiles) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if files.CA != "" {
		pool, err := loadPool(files.CA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// --8<-- [end:server_tls]

// Stats 是 probe 的输出：成功请求数与延迟（秒），以及恢复了 TLS 会话的比例。
type Stats struct {
	N           int      `json:"n"`
	Mean        float64  `json:"mean_s"`
	P50         float64  `json:"p50_s"`
	P90         float64  `json:"p90_s"`
	P99         float64  `json:"p99_s"`
	Max         float64  `json:"max_s"`
	ResumeShare float64  `json:"resume_share"`
	Resumed     int      `json:"chain_resumed"`
	Chain       []string `json:"chain"`
	RPS         float64  `json:"rps"`
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func summarize(lat []float64, resumed int) Stats {
	s := slices.Clone(lat)
	slices.Sort(s)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	st := Stats{N: len(s), P50: quantile(s, 0.5), P90: quantile(s, 0.9), P99: quantile(s, 0.99)}
	if len(s) > 0 {
		st.Mean, st.Max = sum/float64(len(s)), s[len(s)-1]
		st.ResumeShare = float64(resumed) / float64(len(s))
	}
	return st
}

// --8<-- [start:probe]
// probe 以 conns 个并发的“连接”发请求，每个都是发完一个等回答再发下一个（closed loop；
// conns = 1 时同一时刻只有一个请求在路上）。先 warmup 个不计时，再计时 duration；
// 每个回答都核对调用链，答错一次就失败。
func probe(url, mode string, files TLSFiles, expect []string, warmup int, duration time.Duration, conns int) (Stats, error) {
	c, err := newClient(mode, files, "localhost")
	if err != nil {
		return Stats{}, err
	}
	target := url + "/json?mode=" + mode
	check := func() (time.Duration, Reply, bool, error) {
		t0 := time.Now()
		r, resumed, err := fetch(c, target)
		took := time.Since(t0)
		if err == nil && !slices.Equal(r.Chain, expect) {
			err = fmt.Errorf("GET %s answered chain %v, expected %v", target, r.Chain, expect)
		}
		return took, r, resumed, err
	}
	for range warmup {
		if _, _, _, err := check(); err != nil {
			return Stats{}, err
		}
	}
	type result struct {
		lat              []float64
		resumed, inChain int
		last             Reply
		err              error
	}
	results := make(chan result, conns)
	start := time.Now()
	end := start.Add(duration)
	for range max(conns, 1) {
		go func() {
			var out result
			for time.Now().Before(end) {
				took, r, resumed, err := check()
				if err != nil {
					out.err = err
					break
				}
				out.lat = append(out.lat, took.Seconds())
				if resumed {
					out.resumed++
				}
				out.inChain += r.Resumed
				out.last = r
			}
			results <- out
		}()
	}
	var lat []float64
	resumedN, chainResumed := 0, 0
	var last Reply
	for range max(conns, 1) {
		out := <-results
		if out.err != nil && err == nil {
			err = out.err
		}
		lat = append(lat, out.lat...)
		resumedN += out.resumed
		chainResumed += out.inChain
		if out.last.Chain != nil {
			last = out.last
		}
	}
	if err != nil {
		return Stats{}, err
	}
	st := summarize(lat, resumedN)
	st.Resumed, st.Chain = chainResumed, last.Chain
	st.RPS = float64(len(lat)) / time.Since(start).Seconds()
	return st, nil
}

// --8<-- [end:probe]

// refuse 期望服务端在握手时拒绝这个客户端（没有证书，或证书来自别的 CA）。
func refuse(url string, files TLSFiles) (string, error) {
	c, err := newClient("new", files, "localhost")
	if err != nil {
		return "", err
	}
	_, _, err = fetch(c, url+"/json")
	if err == nil {
		return "", errors.New("the server answered a client it should have refused")
	}
	return err.Error(), nil
}

// --8<-- [start:hog]
// hog 保持 liveMiB 的存活数据，并不停用新块替换旧块（旧块成了垃圾）。
// GOGC=100 时堆涨到存活数据的约两倍才回收；GOMEMLIMIT 让运行时在接近上限时提前回收。
func hog(liveMiB int, duration time.Duration) map[string]any {
	const chunk = 1 << 20
	live := make([][]byte, liveMiB)
	for i := range live {
		live[i] = make([]byte, chunk)
		live[i][0] = 1
	}
	replaced := 0
	for end := time.Now().Add(duration); time.Now().Before(end); replaced++ {
		b := make([]byte, chunk)
		for j := 0; j < chunk; j += 4096 {
			b[j] = byte(j) // 每页都写一下：让它真的占用物理内存
		}
		live[replaced%liveMiB] = b
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return map[string]any{
		"live_mib":   liveMiB,
		"replaced":   replaced,
		"num_gc":     ms.NumGC,
		"heap_sys":   ms.HeapSys,
		"memlimit":   debug.SetMemoryLimit(-1),
		"gomaxprocs": runtime.GOMAXPROCS(0),
	}
}

// --8<-- [end:hog]

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func main() {
	role := flag.String("role", "serve", "serve | probe | refuse | hog")
	name := flag.String("name", "go", "serve：这个服务的名字")
	port := flag.Int("port", 8080, "serve：监听 127.0.0.1 的端口")
	next := flag.String("next", "", "serve：下一个服务的地址（如 https://127.0.0.1:8081）；空 = 链尾")
	cert := flag.String("cert", "", "serve：服务端证书；probe/refuse：客户端证书")
	key := flag.String("key", "", "与 -cert 配对的私钥")
	ca := flag.String("ca", "", "serve：要求并验证客户端证书的 CA；probe/refuse：验证服务端的 CA")
	downCert := flag.String("down-cert", "", "serve：调用下游时出示的客户端证书")
	downKey := flag.String("down-key", "", "与 -down-cert 配对的私钥")
	downCA := flag.String("down-ca", "", "serve：验证下游服务端的 CA")
	url := flag.String("url", "", "probe/refuse：第一个服务的地址")
	mode := flag.String("mode", "reuse", "probe：reuse | new | resume")
	expect := flag.String("expect", "", "probe：期望的调用链，逗号分隔")
	warmup := flag.Int("warmup", 20, "probe：不计时的请求数")
	duration := flag.Duration("duration", 300*time.Millisecond, "probe：计时多久；hog：跑多久")
	conns := flag.Int("conns", 1, "probe：同时在路上的请求数")
	liveMiB := flag.Int("live-mib", 64, "hog：存活数据（MiB）")
	flag.Parse()
	log.SetFlags(0)

	switch *role {
	case "serve":
		server := TLSFiles{Cert: *cert, Key: *key, CA: *ca}
		down := TLSFiles{Cert: *downCert, Key: *downKey, CA: *downCA}
		log.Fatal(serve(*name, *port, *next, server, down))
	case "probe":
		if !slices.Contains(modes, *mode) {
			log.Fatalf("microservices: unknown -mode %q (reuse, new or resume)", *mode)
		}
		files := TLSFiles{Cert: *cert, Key: *key, CA: *ca}
		st, err := probe(*url, *mode, files, splitList(*expect), *warmup, *duration, *conns)
		if err != nil {
			log.Fatalf("microservices: probe: %v", err)
		}
		json.NewEncoder(os.Stdout).Encode(st)
	case "refuse":
		why, err := refuse(*url, TLSFiles{Cert: *cert, Key: *key, CA: *ca})
		if err != nil {
			log.Fatalf("microservices: refuse: %v", err)
		}
		json.NewEncoder(os.Stdout).Encode(map[string]any{"refused": true, "error": why})
	case "hog":
		json.NewEncoder(os.Stdout).Encode(hog(*liveMiB, *duration))
	default:
		log.Fatalf("microservices: unknown -role %q", *role)
	}
}
