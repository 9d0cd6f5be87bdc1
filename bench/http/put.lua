-- wrk script: HTTP PUT /k<N> with body {"value":"xxx..."} over keys k0..k<KEYS-1>, a
-- different key on every request. Arguments after `--`: KEYS VALUE_CHARS SEED.
-- Usage: wrk -t1 -c50 -d4 --latency -s bench/http/put.lua http://127.0.0.1:PORT -- 10000 90 1
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install(function(i, keys, value)
  return "PUT", "/k" .. (i - 1), '{"value":"' .. value .. '"}'
end)
