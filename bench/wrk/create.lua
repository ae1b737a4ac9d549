-- POST /api/v1/tasks with a JSON body, rotating over the clients; every task is assigned to the
-- bench user (so the request pays for the assignee membership check and the TaskAssigned event).
-- Usage: wrk ... -s create.lua http://127.0.0.1:PORT -- <token> <client_id,...> <assignee_id>

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
  assignee = args[3]
  counter = (thread_no or 0) * 1000003
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
              ["Accept"] = "application/json" }
end

function request()
  counter = counter + 1
  local client = clients[(counter % #clients) + 1]
  local body = '{"client_id":"' .. client .. '","name":"Bench task ' .. counter .. '",' ..
    '"task_type":"other","priority":"Medium","assignees":["' .. assignee .. '"],' ..
    '"due_date":"2030-01-15","description":"Created by the load benchmark."}'
  return wrk.format("POST", "/api/v1/tasks", headers, body)
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
