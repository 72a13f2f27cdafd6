-- Gate requests for wrk: each request sells a different pack under its own settlement.
-- The code list comes from CODES_FILE, one code per line; requests for packs already sold
-- are blocked, as a resold pack's would be, and recorded as refused attempts.
-- Requests are numbered across threads (numbering.lua; DT_THREADS must be wrk's -t), and
-- number n sells line n * 7919 of the list (mod its length) under settlement W<n>: no two
-- requests of a run share a settlement, nor a pack until the list wraps.
-- DT_FIRST (default 0) is where the numbering starts: a later run given the number of
-- requests sent before it sends settlements no earlier run sent, for packs further along the
-- list, instead of repeating the earlier run's, which the gate would answer as retries
-- without recording anything.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local next_number = dofile(here .. "numbering.lua")
local codes = {}
local key = os.getenv("DT_KEY")
local institution = os.getenv("DT_INSTITUTION")
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
local first = tonumber(os.getenv("DT_FIRST") or "0")
function request()
  local n = next_number(first)
  local code = codes[(n * 7919) % #codes + 1]
  local body = string.format(
    '{"settlement_id":"W%d","institution":"%s","person":"350102199001011234","items":[{"code":"%s","amount":18.5}]}',
    n, institution, code)
  return wrk.format("POST", "/v1/gate/sale",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }, body)
end
script_loaded = true
