-- 压测结束时把 wrk 的统计以一行 JSON 打印出来（时间单位：微秒）。
-- 每个线程按状态码数响应；超时的请求不在 wrk 的延迟直方图里，这里把它们按超时值补进分位数与平均值。
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local function quantiles(latency, recorded, timeouts, timeout_us, qs)
  -- latency:percentile() 只覆盖直方图里的请求（比超时快的）；超时的请求按超时值排在最后：
  -- 合起来的 q 分位落在直方图里时，换算成直方图自己的分位，否则就是超时值
  local total = recorded + timeouts
  local out = {}
  for j, q in ipairs(qs) do
    local rank = q / 100 * total
    if recorded > 0 and rank <= recorded then
      out[j] = latency:percentile(math.min(100, 100 * rank / recorded))
    else
      out[j] = timeout_us
    end
  end
  return out
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses") or {}
    for code, n in pairs(s) do counts[code] = (counts[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%d":%d', code, n)) end
  local e = summary.errors
  local qs = {50, 90, 99, 99.9}
  local timeout_us = tonumber(os.getenv("PERFLAB_WRK_TIMEOUT_US") or "0")
  -- 每个完成的响应记一次延迟，超时的那些除外（wrk 不记它们的延迟，只数 errors.timeout）
  local recorded = math.max(0, summary.requests - e.timeout)
  local sum = recorded > 0 and latency.mean * recorded or 0
  local q = quantiles(latency, recorded, e.timeout, timeout_us, qs)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"timeout_us":%d,"statuses":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"recorded":%d,"recorded_sum_us":%.0f,"min_us":%d,"max_us":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, timeout_us, table.concat(parts, ","),
    e.connect, e.read, e.write, e.status, e.timeout,
    recorded, sum, latency.min, latency.max, q[1], q[2], q[3], q[4]))
end
