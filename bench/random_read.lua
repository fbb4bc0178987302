-- wrk script: GET one random path per request, with the service's headers.
-- BENCH_PATHS names a file of request paths, one a line, each optionally followed by a tab and
-- its own bearer token (the access-log scenario: each customer reads with its own token);
-- otherwise BENCH_TOKEN is used. BENCH_PURPOSE is the X-Purpose header.
-- Every app gets the same requests; the bare and raw anchors ignore the headers.
-- BENCH_PORTS (e.g. "8101,8111") spreads the threads over replicas of the app, one port each.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
  local ports = os.getenv("BENCH_PORTS")
  if ports then
    local list = {}
    for port in ports:gmatch("%d+") do list[#list + 1] = port end
    thread.addr = wrk.lookup(wrk.host, list[(threads - 1) % #list + 1])[1]
  end
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_number)
  paths, tokens = {}, {}
  local default = os.getenv("BENCH_TOKEN")
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    local path, token = line:match("^([^\t]+)\t(.+)$")
    paths[#paths + 1] = path or line
    tokens[#tokens + 1] = token or default
  end
  purpose = os.getenv("BENCH_PURPOSE")
end

function request()
  local i = math.random(#paths)
  return wrk.format("GET", paths[i], {
    ["Authorization"] = "Bearer " .. tokens[i],
    ["X-Purpose"] = purpose,
  })
end
