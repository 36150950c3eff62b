-- wrk script of bench/http.sh: which uid each request asks for, and the summary line it parses.
--   WRK_UIDS     file of stored uids, one per line
--   WRK_PATTERN  random (default): any stored uid each time;
--                scan: every uid in turn, each wrk thread starting at its own share of the list
--   WRK_API_KEY  sent as `Authorization: Bearer <key>` when set
--   WRK_THREADS  wrk's -t, for the scan's starting points
local uids = {}
for line in io.lines(os.getenv("WRK_UIDS")) do uids[#uids + 1] = line end
local scan = os.getenv("WRK_PATTERN") == "scan"
local key = os.getenv("WRK_API_KEY")
local headers = {}
if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end

local next_thread = 0
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local position = 0
function init(_)
  local threads = tonumber(os.getenv("WRK_THREADS") or "1")
  position = math.floor((thread_index or 0) * #uids / threads)
  math.randomseed(os.time() + (thread_index or 0) * 7919)
end

function request()
  local uid
  if scan then
    position = position % #uids + 1
    uid = uids[position]
  else
    uid = uids[math.random(#uids)]
  end
  return wrk.format("GET", "/order/" .. uid, headers)
end

function done(summary, latency, _)
  local seconds = summary.duration / 1e6
  io.write(string.format("WRK rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d errors=%d non2xx=%d\n",
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.errors.status))
end
