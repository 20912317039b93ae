-- GET /v1/practitioners/{code}/standing with a random code of the data set.
dofile(os.getenv("BENCH_DIR") .. "/codes.lua")
local headers

function init(args)
  init_random()
  headers = {["Authorization"] = "Bearer " .. KEY}
end

function request()
  return wrk.format("GET", "/v1/practitioners/" .. random_code() .. "/standing", headers)
end
