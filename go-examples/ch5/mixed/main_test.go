package main

import (
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"

	"perfbook/goexamples/ch5/mixed/modelpb"
)

// 2 个输入 → 2 个 ReLU 隐藏单元 → 1 个输出，手算得出答案。
func tinyLayers() []Layer {
	return []Layer{
		{W: [][]float64{{1, -1}, {2, 0.5}}, B: []float64{0.5, -3}},
		{W: [][]float64{{0.25}, {-4}}, B: []float64{-1}},
	}
}

func tinyModel(t *testing.T) *MLP {
	t.Helper()
	m, err := NewMLP(tinyLayers())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPredictMatchesHandComputation(t *testing.T) {
	m := tinyModel(t)
	// 隐藏层：[1·1 + 2·2 + 0.5, 1·(-1) + 2·0.5 - 3] = [5.5, -3] → ReLU → [5.5, 0]
	// 输出：5.5·0.25 + 0·(-4) - 1 = 0.375
	got, err := m.Predict([]float64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	want := 1 / (1 + math.Exp(-0.375))
	if math.Abs(got-want) > 1e-15 {
		t.Fatalf("Predict = %v, want %v", got, want)
	}
	if _, err := m.Predict([]float64{1}); err == nil {
		t.Fatal("one feature accepted by a two-feature model")
	}
}

func TestBadShapesAreRejected(t *testing.T) {
	layers := tinyLayers()
	layers[1].W = [][]float64{{0.25}}
	if _, err := NewMLP(layers); err == nil {
		t.Fatal("second layer with one input row accepted after a two-unit layer")
	}
	if _, err := NewMLP(nil); err == nil {
		t.Fatal("empty model accepted")
	}
}

func TestLoadWeightsReadsThePythonFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.json")
	data, _ := json.Marshal(Weights{Seed: 1, Sizes: []int{2, 2, 1}, Layers: tinyLayers()})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadWeights(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Width != 2 {
		t.Fatalf("width %d, want 2", m.Width)
	}
	if _, err := LoadWeights(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("a missing weights file loaded")
	}
}

func TestParseFeatures(t *testing.T) {
	x, err := parseFeatures("0.5,-1,2e-3")
	if err != nil || len(x) != 3 || x[2] != 0.002 {
		t.Fatalf("parseFeatures = %v, %v", x, err)
	}
	for _, bad := range []string{"", "1,,2", "a"} {
		if _, err := parseFeatures(bad); err == nil {
			t.Fatalf("parseFeatures(%q) accepted", bad)
		}
	}
}

func getScore(t *testing.T, url string) (float64, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Reply
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
	}
	return r.Score, resp.StatusCode
}

func TestAllGoAnswersTheModelsScore(t *testing.T) {
	m := tinyModel(t)
	srv := httptest.NewServer(allGoHandler(m))
	defer srv.Close()
	want, _ := m.Predict([]float64{1, 2})
	if got, code := getScore(t, srv.URL+"/predict?x=1,2"); code != 200 || got != want {
		t.Fatalf("got %v (status %d), want %v", got, code, want)
	}
	if _, code := getScore(t, srv.URL+"/predict?x=1"); code != http.StatusBadRequest {
		t.Fatalf("wrong feature count answered %d, want 400", code)
	}
}

// 前置经真的 gRPC（回环上的 Go 模型服务）拿到的分数，与进程内算的相同；空调用也通。
func TestFrontCallsTheModelOverGRPC(t *testing.T) {
	m := tinyModel(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	modelpb.RegisterModelServer(s, &modelServer{m: m})
	go s.Serve(ln)
	defer s.Stop()
	conn, err := dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := modelpb.NewModelClient(conn)
	srv := httptest.NewServer(frontHandler(client))
	defer srv.Close()
	want, _ := m.Predict([]float64{1, 2})
	if got, code := getScore(t, srv.URL+"/predict?x=1,2"); code != 200 || got != want {
		t.Fatalf("got %v (status %d), want %v", got, code, want)
	}
	if _, code := getScore(t, srv.URL+"/predict?x=1,2,3"); code != http.StatusBadRequest {
		t.Fatalf("the model's INVALID_ARGUMENT became %d, want 400", code)
	}
	lat, err := timeCalls(20, 2, func() error {
		_, err := client.Ping(t.Context(), &modelpb.Empty{})
		return err
	})
	if err != nil || lat.N != 20 || !(lat.P50 > 0 && lat.P50 <= lat.P99) {
		t.Fatalf("timeCalls = %+v, %v", lat, err)
	}
}

func TestSummarizeOrdersSamples(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	lat := summarize(s)
	if lat.P50 != 0.051 || lat.P99 != 0.1 || math.Abs(lat.Mean-0.0505) > 1e-12 {
		t.Fatalf("summarize = %+v", lat)
	}
}
