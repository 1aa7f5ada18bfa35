-- wrk script for bench/load_serve.sh: counts responses by status across wrk's threads and
-- prints one JSON object of figures when the run is done.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  table.sort(parts)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "requests_per_s": %.2f, "latency_ms": {"p50": %.1f, "p90": %.1f, '
      .. '"p99": %.1f, "max": %.1f}, "statuses": {%s}, "socket_errors": {"connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d}}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000, table.concat(parts, ", "),
    errors.connect, errors.read, errors.write, errors.timeout))
end
