// 数据页：读者把自己构建出的 results.json 拖进来（或选择文件），在浏览器里与本站发布的结果对比。
// 文件只在本页内读取，不上传到任何地方。判断规则与构建时的参考快照对比相同：
// 两个 95% 区间不重叠记为“变化”，重叠记为“在噪声内”；说法的判定不同记为“翻转”。
(function () {
  "use strict";

  var VERDICTS = { holds: "成立", "does-not-hold": "不成立", depends: "视情况而定" };
  var STEPS = {
    s: [[1, "s"], [1e-3, "ms"], [1e-6, "µs"], [1e-9, "ns"]],
    B: [[1073741824, "GiB"], [1048576, "MiB"], [1024, "KiB"], [1, "B"]],
  };

  function fmt(value, unit, like) {
    var steps = STEPS[unit];
    var scale = [1, unit];
    if (steps) {
      var m = Math.abs(like === undefined ? value : like);
      scale = steps[steps.length - 1];
      for (var i = 0; i < steps.length; i++) {
        if (m >= steps[i][0]) { scale = steps[i]; break; }
      }
    }
    var text = Number((value / scale[0]).toPrecision(3)).toLocaleString("zh-CN");
    return scale[1] === "" || scale[1] === "×" || scale[1] === "%" ? text + scale[1] : text + " " + scale[1];
  }

  function problem(doc) {
    if (!doc || typeof doc !== "object") return "不是一个 JSON 对象";
    if (doc.schema !== "perflab-results") return "schema 是 " + JSON.stringify(doc.schema) + "，应为 perflab-results";
    if (!Array.isArray(doc.experiments)) return "缺少 experiments 列表";
    return null;
  }

  function metrics(doc) {
    var found = {};
    doc.experiments.forEach(function (e) {
      (e.metrics || []).forEach(function (m) {
        if (typeof m.median === "number") found[e.id + " " + m.key] = { exp: e.id, m: m, profile: e.profile };
      });
    });
    return found;
  }

  function cell(row, text, strong) {
    var td = document.createElement("td");
    if (strong) {
      var b = document.createElement("strong");
      b.textContent = text;
      td.appendChild(b);
    } else {
      td.textContent = text;
    }
    row.appendChild(td);
  }

  function table(head, rows) {
    var t = document.createElement("table");
    var tr = document.createElement("tr");
    head.forEach(function (h) {
      var th = document.createElement("th");
      th.textContent = h;
      tr.appendChild(th);
    });
    var thead = document.createElement("thead");
    thead.appendChild(tr);
    t.appendChild(thead);
    var body = document.createElement("tbody");
    rows.forEach(function (r) { body.appendChild(r); });
    t.appendChild(body);
    return t;
  }

  function compare(published, mine, out) {
    out.textContent = "";
    var a = metrics(published);
    var b = metrics(mine);
    var rows = [];
    var changed = 0;
    Object.keys(a).forEach(function (k) {
      if (!b[k] || a[k].m.unit !== b[k].m.unit) return;
      var p = a[k].m;
      var y = b[k].m;
      var overlap = !(p.ci_high < y.ci_low || y.ci_high < p.ci_low);
      if (!overlap) changed++;
      var tr = document.createElement("tr");
      tr.dataset.key = k;
      cell(tr, a[k].exp);
      cell(tr, (p.run_label || p.run) + " · " + p.label);
      cell(tr, fmt(p.median, p.unit));
      cell(tr, fmt(y.median, y.unit));
      cell(tr, p.median ? fmt(y.median / p.median, "×") : "—");
      cell(tr, overlap ? "在噪声内" : "变化", !overlap);
      rows.push(tr);
    });
    var flips = [];
    var mineClaims = {};
    (mine.claims || []).forEach(function (c) { mineClaims[c.id] = c; });
    (published.claims || []).forEach(function (c) {
      var other = mineClaims[c.id];
      if (!other) return;
      var tr = document.createElement("tr");
      tr.dataset.claim = c.id;
      cell(tr, c.quoted);
      cell(tr, VERDICTS[c.verdict] || c.verdict);
      cell(tr, VERDICTS[other.verdict] || other.verdict);
      cell(tr, c.verdict === other.verdict ? "相同" : "翻转", c.verdict !== other.verdict);
      flips.push(tr);
    });
    var env = mine.build_environment || {};
    var p = document.createElement("p");
    p.className = "perflab-compare-summary";
    p.textContent =
      "你的结果：" + (env.cpu_model || "?") + "，" + (env.cpu_count || "?") + " 个 CPU，" +
      (mine.profile || "?") + " 档。两边都有的指标 " + rows.length + " 个，其中 " + changed +
      " 个变化（95% 区间不重叠）；说法 " + flips.length + " 条，判定翻转 " +
      flips.filter(function (r) { return r.lastChild.textContent === "翻转"; }).length + " 条。" +
      (mine.profile !== published.profile ? "注意：两边档位不同，输入规模与重复次数不同，只宜看数量级。" : "");
    out.appendChild(p);
    out.appendChild(table(["说法（引述）", "本站", "你的", "判定"], flips));
    out.appendChild(table(["实验", "指标", "本站中位数", "你的中位数", "你的 / 本站", "判断"], rows));
  }

  function start(box) {
    var input = box.querySelector("input[type=file]");
    var out = box.querySelector(".perflab-compare-out");
    // 本站的结果有一兆多：读者真的放进自己的文件时才下载，打开页面时不取（手机上的首次访问）
    var published = null;
    function loadPublished() {
      if (!published) {
        published = fetch("results.json").then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        });
        published.catch(function () { published = null; });
      }
      return published;
    }

    function read(file) {
      var reader = new FileReader();
      reader.onload = function () {
        var doc;
        try {
          doc = JSON.parse(reader.result);
        } catch (e) {
          out.textContent = file.name + " 不是 JSON：" + e.message;
          return;
        }
        var bad = problem(doc);
        if (bad) {
          out.textContent = file.name + " 不是本书的结果文件：" + bad;
          return;
        }
        out.textContent = "正在读取本站的 results.json……";
        loadPublished()
          .then(function (site) { compare(site, doc, out); })
          .catch(function () { out.textContent = "读不到本站的 results.json，无法对比。"; });
      };
      reader.readAsText(file);
    }

    input.addEventListener("change", function () {
      if (input.files.length) read(input.files[0]);
    });
    box.addEventListener("dragover", function (e) { e.preventDefault(); box.classList.add("perflab-drop-over"); });
    box.addEventListener("dragleave", function () { box.classList.remove("perflab-drop-over"); });
    box.addEventListener("drop", function (e) {
      e.preventDefault();
      box.classList.remove("perflab-drop-over");
      if (e.dataTransfer.files.length) read(e.dataTransfer.files[0]);
    });
  }

  document.querySelectorAll(".perflab-compare").forEach(start);
})();
