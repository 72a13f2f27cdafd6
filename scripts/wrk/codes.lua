-- Patient queries for wrk: codes from CODES_FILE, request number n asking for line
-- n * 7919 (mod the list's length). Requests are numbered across threads (numbering.lua;
-- DT_THREADS must be wrk's -t), so that the threads do not ask for the same codes at once.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local next_number = dofile(here .. "numbering.lua")
local codes = {}
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
function request()
  return wrk.format("GET", "/v1/codes/" .. codes[(next_number(0) * 7919) % #codes + 1])
end
script_loaded = true
