-- The numbering the wrk scripts share: the requests of all threads in one sequence, thread t
-- of DT_THREADS sending numbers t, t + DT_THREADS, ... after `first`, so that no two
-- threads send the same request. DT_THREADS must be wrk's -t; wrk stops with an error when
-- it starts more threads than that. Loaded by the scripts with dofile; returns the function
-- that gives the next request's number.
local threads = tonumber(os.getenv("DT_THREADS") or "1")
-- In wrk's main state: numbers the threads. Each thread's own state gets its number as the
-- global `thread_number` (a global: `thread:set` sets globals, which a local would hide).
-- An error here stops wrk; one while a script loads does not (wrk prints it and goes on
-- sending `GET /`), so the checks are made here, and a script that loads sets the global
-- `script_loaded` last.
local started = 0
function setup(thread)
  if not script_loaded then
    error("the script did not load (its error is above)")
  end
  if threads == nil or threads < 1 or threads % 1 ~= 0 then
    error(string.format("DT_THREADS=%s is not a count of threads", os.getenv("DT_THREADS")))
  end
  if started >= threads then
    error(string.format("wrk started more than DT_THREADS=%d threads", threads))
  end
  thread:set("thread_number", started)
  started = started + 1
end
local sent = 0
return function(first)
  local n = first + sent * threads + thread_number
  sent = sent + 1
  return n
end
