-- 压测结束时把 wrk 的统计以一行 JSON 打印出来（时间单位：微秒）。
-- 每个线程按状态码数响应；超时的请求不在 wrk 的延迟直方图里，这里把它们按超时值补进分位数。
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

local function quantiles(latency, timeouts, timeout_us, qs)
  -- latency(i) 是第 i 个不同的耗时值及其次数，#latency 是不同耗时值的个数；
  -- 超时的请求不在直方图里，按超时值排在最后
  local recorded, sum = 0, 0
  for i = 1, #latency do
    local v, n = latency(i)
    recorded = recorded + n
    sum = sum + v * n
  end
  local total = recorded + timeouts
  local ranks, out = {}, {}
  for j, q in ipairs(qs) do ranks[j] = math.max(1, math.ceil(q / 100 * total)) end
  local seen, k = 0, 1
  for i = 1, #latency do
    local v, n = latency(i)
    seen = seen + n
    while k <= #qs and ranks[k] <= seen do
      out[k] = v
      k = k + 1
    end
  end
  for j = k, #qs do out[j] = timeout_us end
  return recorded, sum, out
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
  local recorded, sum, q = quantiles(latency, e.timeout, timeout_us, qs)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"timeout_us":%d,"statuses":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"recorded":%d,"recorded_sum_us":%.0f,"min_us":%d,"max_us":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, timeout_us, table.concat(parts, ","),
    e.connect, e.read, e.write, e.status, e.timeout,
    recorded, sum, latency.min, latency.max, q[1], q[2], q[3], q[4]))
end
