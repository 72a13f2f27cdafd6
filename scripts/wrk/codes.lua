-- Patient queries for wrk: codes from CODES_FILE, each request another line (line n * 7919,
-- mod the list's length, for request number n). The requests of all threads are numbered
-- in one sequence (thread t of DT_THREADS sends numbers t, t + DT_THREADS, ...), so that the
-- threads do not ask for the same codes at once. DT_THREADS must be wrk's -t.
local codes = {}
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
local threads = tonumber(os.getenv("DT_THREADS") or "1")
-- In wrk's main state: numbers the threads (see gate.lua).
local started = 0
function setup(thread)
  if started >= threads then
    error(string.format("wrk started more than DT_THREADS=%d threads", threads))
  end
  thread:set("thread_number", started)
  started = started + 1
end
local sent = 0
function request()
  local n = sent * threads + thread_number
  sent = sent + 1
  return wrk.format("GET", "/v1/codes/" .. codes[(n * 7919) % #codes + 1])
end
