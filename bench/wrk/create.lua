-- POST /api/v1/tasks with a JSON body, rotating over the clients; every task is assigned to the
-- bench user (so the request pays for the assignee membership check and the TaskAssigned event).
-- Usage: wrk ... -s create.lua http://127.0.0.1:PORT -- <token> <client_id,...> <assignee_id>
-- common.lua sits beside this script.
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local counter = 0
setup = common.setup

function init(args)
  token = args[1]
  clients = common.split(args[2])
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

done = common.done
