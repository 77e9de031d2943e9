// 第五章 · 混合部署：Node.js 中间层——http 模块收请求，经 @grpc/grpc-js 调用 Python 模型服务。
// .proto 在启动时由 @grpc/proto-loader 读取（不生成代码，也就不会过期）。
//
// node examples/ch5/mixed_front.js --port 8080 --model 127.0.0.1:50051
// node examples/ch5/mixed_front.js --hop 127.0.0.1:50051 --n 2000 --x 0.1,0.2,...   （量一跳的代价）
"use strict";

const http = require("node:http");
const path = require("node:path");
const { performance } = require("node:perf_hooks");
const { parseArgs } = require("node:util");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const PROTO = path.join(__dirname, "model.proto");

function modelClient(address) {
  const def = protoLoader.loadSync(PROTO, { longs: Number, defaults: true });
  const { Model } = grpc.loadPackageDefinition(def).perfbook.model;
  return new Model(address, grpc.credentials.createInsecure());
}

function parseFeatures(text) {
  if (!text) throw new Error("missing query parameter x");
  return text.split(",").map((p, i) => {
    const v = Number(p);
    if (p.trim() === "" || Number.isNaN(v)) throw new Error(`feature ${i}: ${JSON.stringify(p)} is not a number`);
    return v;
  });
}

// --8<-- [start:front]
function serve(port, client) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== "/predict") {
      res.writeHead(404).end();
      return;
    }
    let features;
    try {
      features = parseFeatures(url.searchParams.get("x"));
    } catch (err) {
      res.writeHead(400, { "Content-Type": "text/plain" }).end(err.message);
      return;
    }
    // 每个请求一次 gRPC 调用；客户端断开时取消它
    const call = client.Predict({ features }, (err, reply) => {
      if (err) {
        const code = err.code === grpc.status.INVALID_ARGUMENT ? 400 : 502;
        if (!res.headersSent) res.writeHead(code, { "Content-Type": "text/plain" }).end(err.message);
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ score: reply.score }));
    });
    res.on("close", () => {
      if (!res.writableFinished) call.cancel();
    });
  });
  server.listen(port, "127.0.0.1", () => {
    console.error(`mixed_front: node ${process.version}, listening on 127.0.0.1:${port}`);
  });
}
// --8<-- [end:front]

function timeCalls(n, warmup, call, done) {
  const samples = [];
  let i = 0;
  const next = () => {
    const start = performance.now();
    call((err) => {
      if (err) return done(err);
      if (i >= warmup) samples.push((performance.now() - start) / 1e3);
      i += 1;
      if (i < warmup + n) return next();
      samples.sort((a, b) => a - b);
      const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
      const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
      done(null, { n: samples.length, mean_s: mean, p50_s: at(0.5), p99_s: at(0.99) });
    });
  };
  next();
}

function hop(address, n, warmup, features) {
  const client = modelClient(address);
  const fail = (what) => (err) => {
    console.error(`mixed_front: ${what} ${address}: ${err.message}`);
    process.exit(1);
  };
  timeCalls(n, warmup, (cb) => client.Ping({}, cb), (err, ping) => {
    if (err) return fail("Ping")(err);
    timeCalls(n, warmup, (cb) => client.Predict({ features }, cb), (err2, predict) => {
      if (err2) return fail("Predict")(err2);
      process.stdout.write(JSON.stringify({ ping, predict }) + "\n");
      client.close();
    });
  });
}

function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      model: { type: "string" },
      hop: { type: "string" },
      n: { type: "string", default: "2000" },
      warmup: { type: "string", default: "200" },
      x: { type: "string" },
    },
  });
  if (values.hop) {
    const n = Number(values.n);
    const warmup = Number(values.warmup);
    if (!(n >= 1 && warmup >= 0)) throw new Error("--n must be ≥ 1 and --warmup ≥ 0");
    hop(values.hop, n, warmup, parseFeatures(values.x));
    return;
  }
  if (!values.port || !values.model) throw new Error("give --port and --model (or --hop ADDRESS)");
  serve(Number(values.port), modelClient(values.model));
}

try {
  main();
} catch (err) {
  console.error(`mixed_front: ${err.message}`);
  process.exit(1);
}
