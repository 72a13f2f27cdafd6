-- Patient queries for wrk: random codes from CODES_FILE.
local codes = {}
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
local counter = 0
function request()
  counter = counter + 1
  return wrk.format("GET", "/v1/codes/" .. codes[(counter * 7919) % #codes + 1])
end
