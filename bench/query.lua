-- POST /v1/standings/query with BENCH_CODES (default 1,000) random codes per request.
dofile(os.getenv("BENCH_DIR") .. "/codes.lua")
local headers
local count = tonumber(os.getenv("BENCH_CODES") or "1000")

function init(args)
  init_random()
  headers = {["Authorization"] = "Bearer " .. KEY, ["Content-Type"] = "application/json"}
end

function request()
  local codes = {}
  for i = 1, count do codes[i] = '"' .. random_code() .. '"' end
  return wrk.format("POST", "/v1/standings/query", headers, '{"codes":[' .. table.concat(codes, ",") .. ']}')
end
