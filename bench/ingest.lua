-- POST /v1/score-cases: BENCH_ENTRIES (1 or 100) light entries of distinct random practitioners,
-- each case a unique case_ref (run prefix, thread, counter), decided today.
dofile(os.getenv("BENCH_DIR") .. "/codes.lua")
local headers
local entries = tonumber(os.getenv("BENCH_ENTRIES") or "1")
local run = os.getenv("BENCH_RUN")
local today = os.getenv("BENCH_TODAY")
local n = 0

function init(args)
  init_random()
  headers = {["Authorization"] = "Bearer " .. KEY, ["Content-Type"] = "application/json"}
end

function request()
  n = n + 1
  local seen, items = {}, {}
  local first
  while #items < entries do
    local code = random_code()
    if not seen[code] then
      seen[code] = true
      first = first or code
      items[#items + 1] = '{"practitioner":"' .. code .. '","violation_type":"RECORDS-MISSING","tier":"general"}'
    end
  end
  local ref = run .. "-" .. thread_id .. "-" .. n
  local body = '{"case_ref":"' .. ref .. '","basis":"agreement_handling","decision_number":"' .. ref ..
    '","decision_date":"' .. today .. '","institution":"H' .. string.sub(first, 2, 7) .. '00001",' ..
    '"entries":[' .. table.concat(items, ",") .. ']}'
  return wrk.format("POST", "/v1/score-cases", headers, body)
end
