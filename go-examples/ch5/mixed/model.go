package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// Weights 与 examples/ch5/model.py 写出的 JSON 一一对应：w 是 [输入][输出] 的矩阵。
type Weights struct {
	Seed   int     `json:"seed"`
	Sizes  []int   `json:"sizes"`
	Layers []Layer `json:"layers"`
}

// Layer 是一层的权重与偏置。
type Layer struct {
	W [][]float64 `json:"w"`
	B []float64   `json:"b"`
}

// LoadWeights 读 Python 生成的同一个权重文件，并检查各层的形状首尾相接。
func LoadWeights(path string) (*MLP, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var w Weights
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return NewMLP(w.Layers)
}

// NewMLP 检查形状并把每层摊平成按行存放的一维切片，前向计算时顺序读内存。
func NewMLP(layers []Layer) (*MLP, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("model has no layers")
	}
	m := &MLP{}
	width := len(layers[0].W)
	for i, l := range layers {
		if len(l.W) != width || width == 0 {
			return nil, fmt.Errorf("layer %d: %d input rows, want %d", i, len(l.W), width)
		}
		out := len(l.B)
		flat := make([]float64, 0, width*out)
		for r, row := range l.W {
			if len(row) != out {
				return nil, fmt.Errorf("layer %d row %d: %d columns, want %d", i, r, len(row), out)
			}
			flat = append(flat, row...)
		}
		m.layers = append(m.layers, dense{in: width, out: out, w: flat, b: l.B})
		width = out
	}
	if width != 1 {
		return nil, fmt.Errorf("last layer has %d outputs, want 1", width)
	}
	m.Width = len(layers[0].W)
	return m, nil
}

type dense struct {
	in, out int
	w       []float64 // in × out，按行
	b       []float64
}

// MLP 是 examples/ch5/model.py 里同一个模型的 Go 版。
type MLP struct {
	Width  int
	layers []dense
}

// --8<-- [start:predict]
// Predict 与 numpy 版逐层做同样的运算：h = h·W + b，隐藏层 ReLU，最后 sigmoid。
func (m *MLP) Predict(x []float64) (float64, error) {
	if len(x) != m.Width {
		return 0, fmt.Errorf("expected %d features, got %d", m.Width, len(x))
	}
	h := x
	for i, l := range m.layers {
		next := make([]float64, l.out)
		for r := 0; r < l.in; r++ {
			v := h[r]
			row := l.w[r*l.out : (r+1)*l.out]
			for c := range row {
				next[c] += v * row[c]
			}
		}
		for c := range next {
			next[c] += l.b[c]
			if i < len(m.layers)-1 {
				next[c] = math.Max(next[c], 0)
			}
		}
		h = next
	}
	return 1 / (1 + math.Exp(-h[0])), nil
}

// --8<-- [end:predict]
