-- GET /api/v1/tasks?client_id=<rotating>&status=pending&limit=20&page=<rotating 1..N>
-- Usage: wrk ... -s list.lua http://127.0.0.1:PORT -- <token> <client_id,client_id,...> <pages>
-- Each wrk thread walks the (client, page) grid from its own starting point, so concurrent
-- requests hit different clients and pages (no single hot page in SQLite's cache).
-- common.lua sits beside this script.
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local counter = 0
setup = common.setup

function init(args)
  token = args[1]
  clients = common.split(args[2])
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

done = common.done
