-- The hot writes on existing tasks, one per run, chosen by <action>:
--   update    PATCH /api/v1/tasks/{id}           name, priority, description, due_date (an edit form)
--   complete  POST  /api/v1/tasks/{id}/complete  no body (Content-Length: 0)
--   comment   POST  /api/v1/tasks/{id}/comments  {"comment": "..."}
-- Usage: wrk ... -s writes.lua http://127.0.0.1:PORT -- <token> <action> <ids file> <wrk threads>
-- The ids file holds one task UUID per line; <wrk threads> must be wrk's -t (as bench/tools.py's
-- wrk_command computes it). Thread k of T takes the ids k+1, k+1+T, k+1+2T, ... so no two threads
-- share a task. update and comment cycle over their share.
-- complete takes each id once, across wrk runs too: a completed task answers 409, so the warm-up
-- and the measured run (two wrk processes on the same file) must not meet. done() writes where the
-- next run starts to "<ids file>.cursor", which init reads. A thread that runs out of ids stops,
-- and the report says so (BENCH_IDS ... "exhausted"): that run's numbers are then not valid.
-- common.lua sits beside this script.
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local threads = {}
local MARK = "@@TASK_ID@@"
local PRIORITIES = { "Low", "Medium", "High", "Backlog" }

function setup(thread)
  common.setup(thread)
  table.insert(threads, thread)
end

local function read_cursor(path)
  local f = io.open(path .. ".cursor", "r")
  if not f then return 0 end
  local n = tonumber(f:read("*l") or "0") or 0
  f:close()
  return n
end

-- wrk.format once per body, with a marker where the id goes: a request is then two concatenations
-- (formatting each one in Lua would cost wrk CPU taken from the cores the server runs on).
local function template(method, tail, body)
  local headers = { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json",
                    ["Content-Type"] = "application/json" }
  local s = wrk.format(method, "/api/v1/tasks/" .. MARK .. tail, headers, body)
  local i = string.find(s, MARK, 1, true)
  return { s:sub(1, i - 1), s:sub(i + #MARK) }
end

local function templates()
  local out = {}
  if action == "update" then
    for n = 0, 15 do
      local body = '{"name":"Review landing page copy (rev ' .. n .. ')","priority":"' ..
        PRIORITIES[(n % #PRIORITIES) + 1] .. '","due_date":"2030-02-' .. string.format("%02d", n + 1) ..
        '","description":"The client asked for a revised version before the campaign goes live; ' ..
        'check the numbers against last month and notify the account lead (edit ' .. n .. ')."}'
      out[#out + 1] = template("PATCH", "", body)
    end
  elseif action == "complete" then
    out[1] = template("POST", "/complete", "")
  elseif action == "comment" then
    for n = 0, 7 do
      local body = '{"comment":"Checked the figures against last month: the CPL is up ' .. (n + 3) ..
        '%, mostly from the new ad set. Sending the revised copy to the client today."}'
      out[#out + 1] = template("POST", "/comments", body)
    end
  else
    error("writes.lua: unknown action '" .. tostring(action) .. "' (update, complete or comment)")
  end
  return out
end

function init(args)
  token, action, ids_file = args[1], args[2], args[3]
  local nthreads = tonumber(args[4] or "")
  if not (token and action and ids_file and nthreads) then
    error("usage: -- <token> <action> <ids file> <wrk threads>")
  end
  local k = thread_no or 0
  local start = (action == "complete") and read_cursor(ids_file) or 0
  ids = {}
  local i = 0
  for line in io.lines(ids_file) do
    if i >= start and (i - start) % nthreads == k and #line > 0 then ids[#ids + 1] = line end
    i = i + 1
  end
  if #ids == 0 then error("writes.lua: no ids left in " .. ids_file .. " for thread " .. k) end
  forms = templates()
  used, exhausted, counter = 0, 0, k * 7919
  health = wrk.format("GET", "/api/v1/health", { ["Accept"] = "application/json" })
end

function request()
  local id
  if action == "complete" then
    if used >= #ids then
      -- Out of tasks: stop this thread; the request returned meanwhile is a harmless GET.
      exhausted = exhausted + 1
      wrk.thread:stop()
      return health
    end
    used = used + 1
    id = ids[used]
  else
    used = used + 1
    id = ids[((counter + used) % #ids) + 1]
  end
  local form = forms[(used % #forms) + 1]
  return form[1] .. id .. form[2]
end

function done(summary, latency, requests)
  common.done(summary, latency, requests)
  local most, total, short = 0, 0, 0
  for _, t in ipairs(threads) do
    local u = t:get("used") or 0
    total = total + u
    if u > most then most = u end
    short = short + (t:get("exhausted") or 0)
  end
  local action_ = threads[1] and threads[1]:get("action") or "?"
  local ids_file_ = threads[1] and threads[1]:get("ids_file")
  local cursor = 0
  if action_ == "complete" and ids_file_ then
    -- Thread k used its first `used` ids of the interleaving: everything before start + T * most
    -- is spent (a few ids of the threads that used fewer are skipped, never sent twice).
    cursor = read_cursor(ids_file_) + #threads * most
    local f = assert(io.open(ids_file_ .. ".cursor", "w"))
    f:write(cursor .. "\n")
    f:close()
  end
  io.write(string.format('BENCH_IDS {"action":"%s","used":%d,"cursor":%d,"exhausted":%d}\n',
    action_, total, cursor, short))
end
