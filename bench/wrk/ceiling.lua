-- The ceiling phase: plain GETs of one path; only reports.
-- Usage: wrk --latency -t2 -c32 -d12s -s ceiling.lua http://127.0.0.1:PORT/
-- common.lua sits beside this script.
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
local common = require("common")

done = common.done
