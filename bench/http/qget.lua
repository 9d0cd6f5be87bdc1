-- wrk script: HTTP GET /k<N>?consistency=quorum, a quorum read of keys spread uniformly
-- over k0..k<KEYS-1> (prefilled first). Arguments after `--`: KEYS VALUE_CHARS SEED.
-- Usage: wrk -t1 -c50 -d4 --latency -s bench/http/qget.lua http://127.0.0.1:PORT -- 10000 90 1
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install(function(i, keys, value)
  return "GET", "/k" .. (i - 1) .. "?consistency=quorum", nil
end)
