-- wrk script for bench/service.ts. BENCH_MODE: get | put | mix (90 % GET, 10 % PUT).
-- GETs and PUTs address random ids among BENCH_DOCS seeded documents "doc-0" … "doc-N-1".
local mode = os.getenv("BENCH_MODE") or "get"
local token = os.getenv("BENCH_TOKEN") or ""
local docs = tonumber(os.getenv("BENCH_DOCS") or "1000")
-- about 200 bytes of JSON
local body = '{"name":"benchmark document","count":12345,"tags":["alpha","beta","gamma"],' ..
  '"payload":"' .. string.rep("x", 110) .. '"}'
local put_headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

function init(args)
  math.randomseed(os.time())
end

function request()
  local path = "/json/doc-" .. math.random(0, docs - 1)
  if mode == "put" or (mode == "mix" and math.random() < 0.1) then
    return wrk.format("PUT", path, put_headers, body)
  end
  return wrk.format("GET", path)
end
