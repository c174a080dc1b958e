-- benches/load.sh step 4: the stateful cycle on the bundled run API. Each run is created
-- (POST), read back (GET /{runId}) and renamed with a masked update (PATCH {run, updateMask}).
--
-- wrk shares one Lua state between all connections of a thread and does not say which request
-- a response answers, so the cycle is driven by queues: a response carrying a runId never seen
-- before comes from a create and queues a read; issuing the read queues the update; a connection
-- creates only when nothing is queued. In steady state the mix is one create, one read and one
-- update per cycle. Environment: BENCH_WRK_DIR, BENCH_TOKEN, BENCH_RUNS_PATH (/api/v2/runs).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local token = os.getenv("BENCH_TOKEN") or "bench-token"
local base = os.getenv("BENCH_RUNS_PATH") or "/api/v2/runs"
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
local get_headers = { ["Authorization"] = "Bearer " .. token }

local seen, to_read, to_update = {}, {}, {}
local n = 0
creates, reads, updates, created, bad = 0, 0, 0, 0, 0

local function pop(q)
  local v = q[#q]
  q[#q] = nil
  return v
end

function request()
  local id = pop(to_read)
  if id then
    to_update[#to_update + 1] = id
    reads = reads + 1
    return wrk.format("GET", base .. "/" .. id, get_headers)
  end
  id = pop(to_update)
  if id then
    updates = updates + 1
    local body = '{"run":{"runId":"' .. id .. '","name":"renamed-' .. id .. '","description":"updated by wrk"},'
      .. '"updateMask":"name,description"}'
    return wrk.format("PATCH", base, headers, body)
  end
  n = n + 1
  creates = creates + 1
  local body = '{"name":"bench-run-' .. n .. '","description":"created by wrk","tags":["bench"]}'
  return wrk.format("POST", base, headers, body)
end

function response(status, hdrs, body)
  if status >= 300 then
    bad = bad + 1
    return
  end
  local id = body and string.match(body, '"runId"%s*:%s*"([^"]+)"')
  if id and not seen[id] then
    seen[id] = true
    created = created + 1
    to_read[#to_read + 1] = id
  end
end

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function done(summary, latency, requests)
  local c, r, u, ok, b = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("creates"); r = r + t:get("reads"); u = u + t:get("updates")
    ok = ok + t:get("created"); b = b + t:get("bad")
  end
  bench_report(summary, latency,
    string.format(" creates=%d reads=%d updates=%d created_ids=%d bad_status=%d", c, r, u, ok, b))
end
