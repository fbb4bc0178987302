-- wrk script: GET one random seeded customer per request, with the service's headers.
-- BENCH_IDS names a file of customer ids (one a line); BENCH_TOKEN holds the bearer token.
-- Both apps get the same requests; the bare baseline ignores the headers.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_number)
  ids = {}
  for line in io.lines(os.getenv("BENCH_IDS")) do
    ids[#ids + 1] = line
  end
  headers = {
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
    ["X-Purpose"] = "service",
  }
end

function request()
  return wrk.format("GET", "/v1/customers/" .. ids[math.random(#ids)], headers)
end
