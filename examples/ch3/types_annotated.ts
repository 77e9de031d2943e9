// 带类型标注的版本：与 types_plain.ts 只差类型；tsc 去掉类型后，两者输出同一段 JavaScript。
// --8<-- [start:kernels]
export interface Point {
  x: number;
  y: number;
}

export function add(a: number, b: number): number {
  return a + b;
}

export function sumAdd(n: number): number {
  let total: number = 0;
  for (let i: number = 0; i < n; i++) {
    total = add(total, i % 7);
  }
  return total;
}

export function sumPoints(points: Point[], passes: number): number {
  let s: number = 0;
  for (let k: number = 0; k < passes; k++) {
    for (const p of points) {
      s += p.x + p.y;
    }
  }
  return s;
}
// --8<-- [end:kernels]
