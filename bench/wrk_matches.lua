-- wrk script for authenticated reads: each line of WRK_REQUESTS (a path) is sent at most once, with
-- `Authorization: Bearer $WRK_TOKEN` and `X-Organisation-ID: $WRK_ORGANISATION`. Thread t of
-- WRK_THREADS sends lines t, t+n, ...; past its last line it repeats that line and the run is marked
-- repeated (the caller then says the file was too short). done() prints one line: WRKJSON {...}.
local threads = {}
local lines = {}
local sent = 0
local repeated = 0

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("WRK_THREADS") or "1")
  local i = 0
  for line in io.lines(os.getenv("WRK_REQUESTS")) do
    if i % n == thread_index then
      lines[#lines + 1] = line
    end
    i = i + 1
  end
  headers = {
    ["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN"),
    ["X-Organisation-ID"] = os.getenv("WRK_ORGANISATION"),
  }
end

function request()
  local index = sent + 1
  if index > #lines then
    index = #lines
    repeated = 1
  end
  sent = sent + 1
  return wrk.format("GET", lines[index], headers)
end

function done(summary, latency, requests)
  local total_sent, total_repeated = 0, 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + (thread:get("sent") or 0)
    total_repeated = math.max(total_repeated, thread:get("repeated") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"status_errors": %d, "socket_errors": %d, "sent": %d, "repeated": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout, total_sent, total_repeated))
end
