-- GET /api/v1/tasks?client_id=<rotating>&status=pending&limit=20&page=<rotating 1..N>
-- Usage: wrk ... -s list.lua http://127.0.0.1:PORT -- <token> <client_id,client_id,...> <pages>
-- Each wrk thread walks the (client, page) grid from its own starting point, so concurrent
-- requests hit different clients and pages (no single hot page in SQLite's cache).
-- common.lua sits beside this script.
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local counter = 0
local requests = {}
setup = common.setup

-- Every request of the (client, page) grid is formatted once, here: formatting it per request in
-- Lua cost wrk ~35 µs of CPU a request, taken from the same two cores the server runs on.
function init(args)
  local token = args[1]
  local clients = common.split(args[2])
  local pages = tonumber(args[3] or "50")
  local headers = { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json" }
  for n = 0, #clients * pages - 1 do
    local client = clients[(n % #clients) + 1]
    local page = (math.floor(n / #clients) % pages) + 1
    local path = "/api/v1/tasks?client_id=" .. client .. "&status=pending&limit=20&page=" .. page
    requests[n + 1] = wrk.format("GET", path, headers)
  end
  counter = (thread_no or 0) * 7919
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end

done = common.done
