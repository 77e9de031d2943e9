"""带类型标注的内核：与 types_untyped.py 只差标注。CPython 执行时不看标注；mypyc 编译时用它们。"""

from __future__ import annotations


# --8<-- [start:kernels]
class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y


def add(a: int, b: int) -> int:
    return a + b


def sum_loop(n: int) -> int:
    total = 0
    for i in range(n):
        total = add(total, i % 7)
    return total


def sum_points(points: list[Point], passes: int) -> int:
    s = 0
    for _ in range(passes):
        for p in points:
            s += p.x + p.y
    return s


# --8<-- [end:kernels]


def make_points(count: int) -> list[Point]:
    return [Point(i % 10, 1) for i in range(count)]
