// 第五章 · 混合部署：一个二进制，五种角色。
//
//	-role all      全 Go：net/http 在进程内调用 Go 版模型
//	-role front    Go 前置：net/http 收请求，经 gRPC 调用 Python 模型服务（-model 地址）
//	-role model    Go 版的 gRPC 模型服务（量一跳的代价时，与 Python 服务对照）
//	-role hop      客户端：对 -target 逐个发空调用与推理调用，打印延迟（JSON）
//	-role predict  对 -inputs 里的每行特征给出概率（与 numpy 版核对）
//
// 生成的 modelpb 由 perflab/protogen.py 从 examples/ch5/model.proto 生成，不提交。
// 单独运行：go run ./ch5/mixed -role all -port 8080 -weights /tmp/w.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"perfbook/goexamples/ch5/mixed/modelpb"
)

// Reply 是 /predict 的响应体，三种前置都回同样的 JSON。
type Reply struct {
	Score float64 `json:"score"`
}

// parseFeatures 把查询参数 x=0.1,-0.2,... 解析成特征向量。
func parseFeatures(text string) ([]float64, error) {
	if text == "" {
		return nil, errors.New("missing query parameter x")
	}
	parts := strings.Split(text, ",")
	out := make([]float64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("feature %d: %q is not a number", i, p)
		}
		out[i] = v
	}
	return out, nil
}

func writeScore(w http.ResponseWriter, score float64) {
	body, err := json.Marshal(Reply{Score: score})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// --8<-- [start:handlers]
// allGoHandler：模型就在本进程里，没有跨进程的一跳。
func allGoHandler(m *MLP) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /predict", func(w http.ResponseWriter, r *http.Request) {
		x, err := parseFeatures(r.URL.Query().Get("x"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		score, err := m.Predict(x)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeScore(w, score)
	})
	return mux
}

// frontHandler：Go 只做前置，每个请求经 gRPC 调用一次 Python 模型服务。
// 一个 ClientConn 在所有请求间共用（HTTP/2 多路复用）；客户端断开时 r.Context() 取消这次调用。
func frontHandler(client modelpb.ModelClient) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /predict", func(w http.ResponseWriter, r *http.Request) {
		x, err := parseFeatures(r.URL.Query().Get("x"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply, err := client.Predict(r.Context(), &modelpb.PredictRequest{Features: x})
		if err != nil {
			code := http.StatusBadGateway
			if status.Code(err) == codes.InvalidArgument {
				code = http.StatusBadRequest
			}
			http.Error(w, err.Error(), code)
			return
		}
		writeScore(w, reply.GetScore())
	})
	return mux
}

// --8<-- [end:handlers]

// modelServer 是 Go 版的 gRPC 模型服务。
type modelServer struct {
	modelpb.UnimplementedModelServer
	m *MLP
}

func (s *modelServer) Predict(_ context.Context, req *modelpb.PredictRequest) (*modelpb.PredictReply, error) {
	score, err := s.m.Predict(req.GetFeatures())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &modelpb.PredictReply{Score: score}, nil
}

func (s *modelServer) Ping(context.Context, *modelpb.Empty) (*modelpb.Empty, error) {
	return &modelpb.Empty{}, nil
}

func dial(target string) (*grpc.ClientConn, error) {
	return grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// Latency 是 n 次顺序调用的延迟概况（秒）。
type Latency struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean_s"`
	P50  float64 `json:"p50_s"`
	P99  float64 `json:"p99_s"`
}

func summarize(samples []time.Duration) Latency {
	s := slices.Clone(samples)
	slices.Sort(s)
	var total time.Duration
	for _, d := range s {
		total += d
	}
	at := func(q float64) float64 { return s[min(len(s)-1, int(q*float64(len(s))))].Seconds() }
	return Latency{N: len(s), Mean: total.Seconds() / float64(len(s)), P50: at(0.50), P99: at(0.99)}
}

// --8<-- [start:hop]
// timeCalls 逐个调用 n 次（前一个回来才发下一个），每次单独计时：这是一跳在没有排队时的代价。
func timeCalls(n, warmup int, call func() error) (Latency, error) {
	samples := make([]time.Duration, 0, n)
	for i := 0; i < warmup+n; i++ {
		start := time.Now()
		if err := call(); err != nil {
			return Latency{}, err
		}
		if i >= warmup {
			samples = append(samples, time.Since(start))
		}
	}
	return summarize(samples), nil
}

// --8<-- [end:hop]

func runHop(target string, n, warmup int, x []float64) error {
	conn, err := dial(target)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := modelpb.NewModelClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ping, err := timeCalls(n, warmup, func() error {
		_, err := client.Ping(ctx, &modelpb.Empty{})
		return err
	})
	if err != nil {
		return fmt.Errorf("Ping %s: %w", target, err)
	}
	predict, err := timeCalls(n, warmup, func() error {
		_, err := client.Predict(ctx, &modelpb.PredictRequest{Features: x})
		return err
	})
	if err != nil {
		return fmt.Errorf("Predict %s: %w", target, err)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"ping": ping, "predict": predict})
}

// runCompute 只量进程内一次前向计算（不经任何网络）。
func runCompute(m *MLP, n, warmup int, x []float64) error {
	lat, err := timeCalls(n, warmup, func() error {
		_, err := m.Predict(x)
		return err
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"compute": lat})
}

func runPredict(m *MLP, inputs string) error {
	data, err := os.ReadFile(inputs)
	if err != nil {
		return err
	}
	var rows [][]float64
	if err := json.Unmarshal(data, &rows); err != nil {
		return fmt.Errorf("%s: %w", inputs, err)
	}
	scores := make([]float64, len(rows))
	for i, x := range rows {
		if scores[i], err = m.Predict(x); err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"scores": scores})
}

func listen(port int) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

func serveHTTP(port int, h http.Handler) error {
	ln, err := listen(port)
	if err != nil {
		return err
	}
	log.Printf("mixed: GOMAXPROCS=%d, listening on %s", runtime.GOMAXPROCS(0), ln.Addr())
	return http.Serve(ln, h)
}

func run() error {
	role := flag.String("role", "", "all, front, model, hop, compute or predict")
	port := flag.Int("port", 0, "port on 127.0.0.1 (all, front, model)")
	weights := flag.String("weights", "", "weights JSON written by examples/ch5/model.py")
	model := flag.String("model", "", "gRPC model service address for -role front")
	target := flag.String("target", "", "gRPC address for -role hop")
	n := flag.Int("n", 2000, "calls to time (hop, compute)")
	warmup := flag.Int("warmup", 200, "calls before timing (hop, compute)")
	features := flag.String("x", "", "features for hop and compute, comma-separated")
	inputs := flag.String("inputs", "", "JSON list of feature rows for -role predict")
	flag.Parse()
	needModel := func() (*MLP, error) {
		if *weights == "" {
			return nil, errors.New("-weights is required for -role " + *role)
		}
		return LoadWeights(*weights)
	}
	switch *role {
	case "all", "model", "compute", "predict":
		m, err := needModel()
		if err != nil {
			return err
		}
		switch *role {
		case "all":
			return serveHTTP(*port, allGoHandler(m))
		case "model":
			ln, err := listen(*port)
			if err != nil {
				return err
			}
			s := grpc.NewServer()
			modelpb.RegisterModelServer(s, &modelServer{m: m})
			return s.Serve(ln)
		case "compute":
			x, err := parseFeatures(*features)
			if err != nil {
				return err
			}
			return runCompute(m, *n, *warmup, x)
		}
		return runPredict(m, *inputs)
	case "front":
		if *model == "" {
			return errors.New("-model is required for -role front")
		}
		conn, err := dial(*model)
		if err != nil {
			return err
		}
		defer conn.Close()
		return serveHTTP(*port, frontHandler(modelpb.NewModelClient(conn)))
	case "hop":
		x, err := parseFeatures(*features)
		if err != nil {
			return err
		}
		if *target == "" || *n < 1 || *warmup < 0 {
			return errors.New("-role hop needs -target, -n ≥ 1 and -warmup ≥ 0")
		}
		return runHop(*target, *n, *warmup, x)
	}
	return fmt.Errorf("invalid -role %q (want all, front, model, hop, compute or predict)", *role)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mixed:", err)
		os.Exit(1)
	}
}
