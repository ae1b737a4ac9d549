-- GET /api/v1/tasks?client_id=<rotating>&status=pending&limit=20&page=<rotating 1..N>
-- Usage: wrk ... -s list.lua http://127.0.0.1:PORT -- <token> <client_id,client_id,...> <pages>
-- Each wrk thread walks the (client, page) grid from its own starting point, so concurrent
-- requests hit different clients and pages (no single hot page in SQLite's cache).

local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

local function split(s)
  local out = {}
  for part in string.gmatch(s, "[^,]+") do table.insert(out, part) end
  return out
end

function init(args)
  token = args[1]
  clients = split(args[2])
  pages = tonumber(args[3] or "50")
  counter = (thread_no or 0) * 7919
  headers = { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json" }
end

function request()
  counter = counter + 1
  local client = clients[(counter % #clients) + 1]
  local page = (math.floor(counter / #clients) % pages) + 1
  local path = "/api/v1/tasks?client_id=" .. client .. "&status=pending&limit=20&page=" .. page
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"non2xx":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.mean, latency.max, e.status,
    e.connect, e.read, e.write, e.timeout))
end
