-- Gate requests for wrk: each request sells a different pack under its own settlement.
-- The code list comes from CODES_FILE, one code per line; requests for packs already sold
-- are blocked, as a resold pack's would be, and recorded as refused attempts.
-- DT_FIRST (default 0) is where each thread's count starts: a later run given the number of
-- requests sent before it sends settlements no earlier run sent, for packs further along the
-- list, instead of repeating the earlier run's, which the gate would answer as retries
-- without recording anything.
local codes = {}
local key = os.getenv("DT_KEY")
local institution = os.getenv("DT_INSTITUTION")
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
local first = tonumber(os.getenv("DT_FIRST") or "0")
local counter = first
local thread_id = 0
function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end
function request()
  counter = counter + 1
  local code = codes[(counter * 7919 + thread_id * 104729) % #codes + 1]
  local body = string.format(
    '{"settlement_id":"W%d-%d","institution":"%s","person":"350102199001011234","items":[{"code":"%s","amount":18.5}]}',
    thread_id, counter, institution, code)
  return wrk.format("POST", "/v1/gate/sale",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }, body)
end
