"""第五章 · 混合部署：被部署的模型——一个小的多层感知机（MLP），numpy 实现。

权重在构建时按固定种子生成（同一个种子、同一组层宽，每次都得到同样的权重），写成 JSON；
Go 版（go-examples/ch5/mixed/model.go）读同一个文件，测试证明两边对同样的输入给出同样的概率。

单独运行：python examples/ch5/model.py --out /tmp/weights.json
         python examples/ch5/model.py --weights /tmp/weights.json --inputs /tmp/x.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

SEED = 20240501
# 输入 16 个特征，两层 32 个 ReLU 隐藏单元，输出一个 sigmoid 概率
SIZES = (16, 32, 32, 1)


def make_weights(seed: int = SEED, sizes: tuple[int, ...] = SIZES) -> dict:
    """按种子生成权重（He 初始化）；返回可写成 JSON 的字典。"""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        w = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        b = rng.normal(0.0, 0.1, size=n_out)
        layers.append({"w": w.tolist(), "b": b.tolist()})
    return {"seed": seed, "sizes": list(sizes), "layers": layers}


def example_features(n: int, seed: int = SEED + 1, width: int = SIZES[0]) -> list[list[float]]:
    """测试与压测用的输入：同样按种子生成。"""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(n, width)).round(6).tolist()


# --8<-- [start:mlp]
class MLP:
    """前向计算：每层 h = h·W + b，隐藏层取 ReLU，最后一层过 sigmoid。"""

    def __init__(self, weights: dict) -> None:
        self.layers = [(np.asarray(x["w"]), np.asarray(x["b"])) for x in weights["layers"]]
        self.width = self.layers[0][0].shape[0]

    def predict(self, features) -> float:
        h = np.asarray(features, dtype=np.float64)
        if h.shape != (self.width,):
            raise ValueError(f"expected {self.width} features, got shape {h.shape}")
        *hidden, (w_out, b_out) = self.layers
        for w, b in hidden:
            h = np.maximum(h @ w + b, 0.0)
        z = float((h @ w_out + b_out)[0])
        return 1.0 / (1.0 + np.exp(-z))


# --8<-- [end:mlp]


def load(path: str | Path) -> MLP:
    return MLP(json.loads(Path(path).read_text()))


def parse_features(text: str) -> list[float]:
    """查询参数 x=0.1,-0.2,... → 浮点数列表（前置服务与模型服务都用它）。"""
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"features must be comma-separated numbers: {text[:40]!r}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", help="把权重写到这个文件")
    parser.add_argument("--weights", help="读这个权重文件，对 --inputs 里的每一行给出概率")
    parser.add_argument("--inputs", help="JSON：特征向量的列表")
    args = parser.parse_args()
    if args.out:
        Path(args.out).write_text(json.dumps(make_weights()))
        return
    if not (args.weights and args.inputs):
        raise SystemExit("model: give --out, or --weights with --inputs")
    model = load(args.weights)
    rows = json.loads(Path(args.inputs).read_text())
    print(json.dumps({"scores": [model.predict(x) for x in rows]}))


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as exc:
        print(f"model: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
