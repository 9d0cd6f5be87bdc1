-- Shared by put.lua and get.lua (loaded with dofile; wrk runs each script in every thread's
-- own Lua state). Script arguments after `--`: KEYS VALUE_CHARS SEED.
-- Requests are built once in init() and replayed from a table, so the per-request Lua cost
-- is one table lookup: wrk's single client thread should not be what limits the run.
-- done() prints one machine-readable line for bench/compare.py:
--   WRK_JSON {"requests":..,"status_2xx":..,"non_2xx":..,"errors":{..},"duration_us":..,
--             "p50_us":..,"p99_us":..}
-- response() counts 2xx and non-2xx exactly (wrk's own "Non-2xx or 3xx" counter only counts
-- statuses >= 400), so only 2xx responses count as successes.

local M = {}

local threads = {}
local thread_counter = 0

function M.setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
  table.insert(threads, thread)
end

-- Builds `n_requests` request strings from a key generator make(i, rng) -> method, path, body.
function M.build(args, make)
  local keys = tonumber(args[1] or "10000")
  local value_chars = tonumber(args[2] or "90")
  local seed = tonumber(args[3] or "1")
  math.randomseed(seed * 7919 + (thread_id or 1))
  local value = string.rep("x", value_chars)
  local reqs = {}
  for i = 1, keys do
    local method, path, body = make(i, keys, value)
    local headers = nil
    if body then headers = { ["Content-Type"] = "application/json" } end
    reqs[i] = wrk.format(method, path, headers, body)
  end
  -- Fisher-Yates shuffle: every key once per pass, in a random order per thread.
  for i = #reqs, 2, -1 do
    local j = math.random(i)
    reqs[i], reqs[j] = reqs[j], reqs[i]
  end
  return reqs
end

function M.install(make)
  local reqs, n, i = nil, 0, 0
  ok2xx, non2xx = 0, 0

  setup = M.setup

  init = function(args)
    reqs = M.build(args, make)
    n = #reqs
    i = math.random(n) - 1
  end

  request = function()
    i = i + 1
    if i > n then i = 1 end
    return reqs[i]
  end

  response = function(status, headers, body)
    if status >= 200 and status < 300 then
      ok2xx = ok2xx + 1
    else
      non2xx = non2xx + 1
    end
  end

  done = function(summary, latency, requests)
    local ok, bad = 0, 0
    for _, t in ipairs(threads) do
      ok = ok + (t:get("ok2xx") or 0)
      bad = bad + (t:get("non2xx") or 0)
    end
    local e = summary.errors
    io.write(string.format(
      'WRK_JSON {"requests":%d,"status_2xx":%d,"non_2xx":%d,"errors":{"connect":%d,' ..
      '"read":%d,"write":%d,"status":%d,"timeout":%d},"duration_us":%d,"p50_us":%.1f,' ..
      '"p99_us":%.1f,"max_us":%.1f}\n',
      summary.requests, ok, bad, e.connect, e.read, e.write, e.status, e.timeout,
      summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
  end
end

return M
