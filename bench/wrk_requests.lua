-- wrk script: send the requests of a pre-generated file, one path a line, each at most once.
-- WRK_REQUESTS names the file; WRK_THREADS wrk's thread count (-t). Thread t sends lines t, t+n,
-- t+2n, ... in order; when WRK_WRAP is "1" it starts again at its first line once done (reads),
-- otherwise it keeps sending its last line and the run is marked repeated (the caller then says
-- the file was too short). Each request names a client address in X-Forwarded-For (10 000 of
-- them), like public traffic behind a proxy. done() prints one line: WRKJSON {...}.
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
  wrap = os.getenv("WRK_WRAP") == "1"
end

function request()
  local index = sent + 1
  if index > #lines then
    if wrap then
      index = (sent % #lines) + 1
    else
      index = #lines
      repeated = 1
    end
  end
  sent = sent + 1
  local address = sent % 10000
  local headers = {
    ["X-Forwarded-For"] = "10." .. thread_index .. "." .. math.floor(address / 256) .. "." .. (address % 256)
  }
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
