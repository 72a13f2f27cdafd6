-- Gate requests for wrk: each request sells a different pack under its own settlement.
-- The code list comes from CODES_FILE, one code per line; requests for packs already sold
-- are blocked, as a resold pack's would be, and recorded as refused attempts.
-- The requests of all threads are numbered in one sequence (thread t of DT_THREADS sends
-- numbers t, t + DT_THREADS, ...), and number n sells line n * 7919 of the list (mod its
-- length) under settlement W<n>: no two requests of a run share a settlement, nor a pack
-- until the list wraps. DT_THREADS must be wrk's -t.
-- DT_FIRST (default 0) is where the numbering starts: a later run given the number of
-- requests sent before it sends settlements no earlier run sent, for packs further along the
-- list, instead of repeating the earlier run's, which the gate would answer as retries
-- without recording anything.
local codes = {}
local key = os.getenv("DT_KEY")
local institution = os.getenv("DT_INSTITUTION")
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
local first = tonumber(os.getenv("DT_FIRST") or "0")
local threads = tonumber(os.getenv("DT_THREADS") or "1")
-- In wrk's main state: numbers the threads. Each thread's own state gets its number as the
-- global `thread_number` (a global: `thread:set` sets globals, which a local would hide).
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
  local n = first + sent * threads + thread_number
  sent = sent + 1
  local code = codes[(n * 7919) % #codes + 1]
  local body = string.format(
    '{"settlement_id":"W%d","institution":"%s","person":"350102199001011234","items":[{"code":"%s","amount":18.5}]}',
    n, institution, code)
  return wrk.format("POST", "/v1/gate/sale",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }, body)
end
