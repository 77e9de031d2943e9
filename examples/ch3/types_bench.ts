// 第三章 3.3：在 node 里计时 tsc 编出的 JavaScript。
//   --variant annotated | plain：带类型与不带类型的两份源码编出的内核（加法循环、读属性）；
//   --variant shapes：同一段读属性的代码，对象只有 1 种“形状”（隐藏类）与混着 2、4、8 种时各多快；
//   --variant calls：同一个 add、同一个调用点，参数只有小整数、混进小数、混进字符串时各多快。
// 计时按 timeit 的规则：先按试测耗时定下循环次数（兼作 JIT 预热），再测 --rounds 轮取中位数。
// 标准输出只有一个 JSON 对象。
import * as annotated from "./types_annotated";
import * as plain from "./types_plain";

declare const process: {
  argv: string[];
  version: string;
  exitCode: number;
  hrtime: { bigint(): bigint };
  stdout: { write(s: string): boolean };
  stderr: { write(s: string): boolean };
};
declare function require(name: string): any;
declare const __dirname: string;

type Metric = { label: string; unit: string; values: number[] };

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function perCall(fn: () => number, loops: number): number {
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < loops; i++) sink += fn();
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  if (Number.isNaN(sink)) throw new Error("kernel returned NaN");
  return elapsed / loops;
}

// 先跑一次，再按试测耗时放大循环次数，使一次取样不短于 minTime 秒（这个过程也让 JIT 把热函数编译好）
function calibrate(fn: () => number, minTime: number): number {
  fn();
  let n = 1;
  for (;;) {
    const elapsed = perCall(fn, n) * n;
    if (elapsed >= minTime / 4) return Math.max(1, Math.ceil((n * minTime) / elapsed));
    n = Math.max(n * 2, Math.ceil((n * minTime) / 4 / Math.max(elapsed, 1e-9)));
  }
}

function measure(cases: Record<string, () => number>, rounds: number, minTime: number) {
  const names = Object.keys(cases);
  const loops: Record<string, number> = {};
  const samples: Record<string, number[]> = {};
  for (const k of names) {
    loops[k] = calibrate(cases[k], minTime);
    samples[k] = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const k = names[(i + r) % names.length];
      samples[k].push(perCall(cases[k], loops[k]));
    }
  }
  return samples;
}

// --8<-- [start:shapes]
// 形状编号 j > 0 的对象先多一个属性 s<j>，再有 x、y：x、y 的值一样，隐藏类却各不相同
function makePoints(count: number, shapes: number): any[] {
  const points: any[] = [];
  for (let i = 0; i < count; i++) {
    const j = i % shapes;
    const o: any = {};
    if (j > 0) o["s" + j] = 0;
    o.x = i % 10;
    o.y = 1;
    points.push(o);
  }
  return points;
}

// 每种形状数各编一个新函数：V8 的内联缓存记在函数上，互不串味；
// 源码里带上形状数，否则 V8 按源码缓存 new Function，几个函数会共用同一份类型反馈
function freshSumPoints(shapes: number): (points: any[], passes: number) => number {
  return new Function(
    "points",
    "passes",
    `// ${shapes} 种形状
    let s = 0; for (let k = 0; k < passes; k++) { for (const p of points) { s += p.x + p.y; } } return s;`,
  ) as (points: any[], passes: number) => number;
}
// --8<-- [end:shapes]

// --8<-- [start:calls]
// 值是 i % 7；每 10 个里的第 1 个换成小数（+0.5）或字符串，其余 9 个与“只有小整数”时一样
const KINDS: Record<string, string> = {
  int: "只有小整数",
  int_double: "每 10 个有 1 个小数",
  int_string: "每 10 个有 1 个字符串",
};

// Array.from 每次从最窄的元素类型开始：前一种数组里的小数、字符串不会让后一种数组一开始就变宽
function makeValues(count: number, kind: string): unknown[] {
  return Array.from({ length: count }, (_, i) => {
    const v = i % 7;
    if (i % 10 !== 0 || kind === "int") return v;
    return kind === "int_double" ? v + 0.5 : String(v);
  });
}

// 每种参数各编一对新函数，源码里带上名字（同上：不共用类型反馈）；
// 循环里只有一个调用点 add(values[i], 1)，结果全部累加，不会被优化掉
function freshCallSite(kind: string): (values: unknown[], passes: number) => number {
  const add = new Function("a", "b", `return a + b; // ${kind}`);
  const loop = new Function(
    "add",
    "values",
    "passes",
    `// ${kind}
    let s = 0;
    for (let k = 0; k < passes; k++) {
      for (let i = 0; i < values.length; i++) {
        const r = add(values[i], 1);
        s += typeof r === "number" ? r : r.length;
      }
    }
    return s;`,
  );
  return (values, passes) => loop(add, values, passes);
}
// --8<-- [end:calls]

function main(): void {
  const variant = option("variant", "annotated");
  const n = Number(option("n", "1000000"));
  const count = Number(option("points", "1000"));
  const passes = Number(option("passes", "1000"));
  const rounds = Number(option("rounds", "5"));
  const minTime = Number(option("min-time", "0.05"));
  const metrics: Record<string, Metric> = {};
  const info: Record<string, unknown> = { node: process.version, variant, n, points: count, passes, rounds };
  if (variant === "annotated" || variant === "plain") {
    const kernels = variant === "annotated" ? annotated : plain;
    const points = makePoints(count, 1);
    const samples = measure(
      { add: () => kernels.sumAdd(n), props: () => kernels.sumPoints(points, passes) },
      rounds,
      minTime,
    );
    const name = variant === "annotated" ? "带类型" : "不带类型";
    metrics.add_s = { label: `${name}：加法调用 ${n} 次`, unit: "s", values: samples.add };
    metrics.props_s = { label: `${name}：读 ${count * passes} 个对象的 x、y`, unit: "s", values: samples.props };
    // 本次运行的内核模块就是这份 JavaScript：页面展示它，测试比较两份是否一字不差
    const fs = require("fs");
    const emitted = fs.readFileSync(`${__dirname}/types_${variant}.js`, "utf8");
    info.emitted = emitted;
    info.emitted_sha256 = require("crypto").createHash("sha256").update(emitted).digest("hex");
    info.checksums = { add: kernels.sumAdd(n), props: kernels.sumPoints(points, passes) };
  } else if (variant === "shapes") {
    const counts = option("shapes", "1,2,4,8").split(",").map(Number);
    const cases: Record<string, () => number> = {};
    const checks: Record<string, number> = {};
    for (const k of counts) {
      const points = makePoints(count, k);
      const sum = freshSumPoints(k);
      cases[String(k)] = () => sum(points, passes);
      checks[String(k)] = sum(points, passes);
    }
    const samples = measure(cases, rounds, minTime);
    for (const k of counts) {
      metrics[`props_${k}_shapes_s`] = {
        label: `读 ${count * passes} 个对象的 x、y：${k} 种形状`,
        unit: "s",
        values: samples[String(k)],
      };
    }
    info.checksums = checks;
  } else if (variant === "calls") {
    const kinds = option("kinds", Object.keys(KINDS).join(",")).split(",");
    const bad = kinds.filter((k) => !(k in KINDS));
    if (bad.length > 0) {
      process.stderr.write(`unknown kind ${bad.join(",")} (${Object.keys(KINDS).join(", ")})\n`);
      process.exitCode = 2;
      return;
    }
    const cases: Record<string, () => number> = {};
    const checks: Record<string, number> = {};
    for (const k of kinds) {
      const values = makeValues(count, k);
      const run = freshCallSite(k);
      cases[k] = () => run(values, passes);
      checks[k] = run(values, passes);
    }
    const samples = measure(cases, rounds, minTime);
    for (const k of kinds) {
      metrics[`add_${k}_s`] = {
        label: `调用 add ${count * passes} 次：${KINDS[k]}`,
        unit: "s",
        values: samples[k],
      };
    }
    info.checksums = checks;
  } else {
    process.stderr.write(`unknown variant ${variant} (annotated, plain, shapes, calls)\n`);
    process.exitCode = 2;
    return;
  }
  process.stdout.write(JSON.stringify({ metrics, info }) + "\n");
}

main();
