// 不写类型的版本：与 types_annotated.ts 只差类型；tsc 去掉类型后，两者输出同一段 JavaScript。
// --8<-- [start:kernels]
export function add(a, b) {
  return a + b;
}

export function sumAdd(n) {
  let total = 0;
  for (let i = 0; i < n; i++) {
    total = add(total, i % 7);
  }
  return total;
}

export function sumPoints(points, passes) {
  let s = 0;
  for (let k = 0; k < passes; k++) {
    for (const p of points) {
      s += p.x + p.y;
    }
  }
  return s;
}
// --8<-- [end:kernels]
