-- POST /api/v1/auth/login, rotating over the given users (all with the same password), without
-- pause: every connection sends its next login as soon as the last one is answered.
-- Usage: wrk ... -s login.lua http://127.0.0.1:PORT -- <email,email,...> <password>
-- common.lua sits beside this script.
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local counter = 0
local requests = {}
setup = common.setup

function init(args)
  local emails = common.split(args[1])
  local password = args[2]
  local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
  for n, email in ipairs(emails) do
    local body = '{"email":"' .. email .. '","password":"' .. password .. '"}'
    requests[n] = wrk.format("POST", "/api/v1/auth/login", headers, body)
  end
  counter = thread_no or 0
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end

done = common.done
