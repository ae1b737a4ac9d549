-- What every phase script shares: thread numbering, argument splitting and the report that
-- bench/run.py parses (one BENCH_JSON line).
local common = {}
local threads = {}

function common.setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function common.split(s)
  local out = {}
  for part in string.gmatch(s, "[^,]+") do table.insert(out, part) end
  return out
end

function common.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"non2xx":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.mean, latency.max, e.status,
    e.connect, e.read, e.write, e.timeout))
end

return common
