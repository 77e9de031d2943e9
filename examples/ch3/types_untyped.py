"""不带类型标注的内核：与 types_typed.py 只差标注。"""


# --8<-- [start:kernels]
class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


def add(a, b):
    return a + b


def sum_loop(n):
    total = 0
    for i in range(n):
        total = add(total, i % 7)
    return total


def sum_points(points, passes):
    s = 0
    for _ in range(passes):
        for p in points:
            s += p.x + p.y
    return s


# --8<-- [end:kernels]


def make_points(count):
    return [Point(i % 10, 1) for i in range(count)]
