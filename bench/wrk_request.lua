-- One wrk script for every cell of the benchmark, driven by environment variables:
--   BENCH_METHOD      GET or POST (default POST)
--   BENCH_BODY_FILE   file whose bytes are the request body (JSON)
--   BENCH_PATHS_FILE  file of paths, one a line, requested in turn (default: the URL's path)
--   BENCH_PREFER      value of a Prefer header, if any
-- done() prints one line "BENCH_JSON {...}" with the figures run.py reads.

local method = os.getenv("BENCH_METHOD") or "POST"
local body = nil
local paths = {}
local counter = 0

local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*a")
  f:close()
end

local paths_file = os.getenv("BENCH_PATHS_FILE")
if paths_file and paths_file ~= "" then
  for line in io.lines(paths_file) do
    if line ~= "" then paths[#paths + 1] = line end
  end
end

local headers = {}
if body then headers["Content-Type"] = "application/json" end
local prefer = os.getenv("BENCH_PREFER")
if prefer and prefer ~= "" then headers["Prefer"] = prefer end

-- Each wrk thread has its own Lua state; threads start at different offsets of the path list.
function setup(thread)
  thread:set("offset", counter * 100003)
  counter = counter + 1
end

local fixed = nil
function request()
  if #paths == 0 then
    if not fixed then fixed = wrk.format(method, nil, headers, body) end
    return fixed
  end
  offset = (offset or 0) + 1
  return wrk.format(method, paths[(offset % #paths) + 1], headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
