-- Random practitioner codes over the whole generated data set, computed like
-- bench/generate.py code_of(i): no list of a million codes in each wrk thread.
local N = tonumber(os.getenv("BENCH_SIZE"))
local REGIONS = {}
for r in string.gmatch(os.getenv("BENCH_REGIONS"), "[^,]+") do REGIONS[#REGIONS + 1] = r end
local LETTERS = {"D", "N", "Y"}
KEY = os.getenv("BENCH_KEY")

function code_of(i)
  local serial = math.floor(i / #REGIONS)
  return LETTERS[(serial % #LETTERS) + 1] .. REGIONS[(i % #REGIONS) + 1] .. string.format("%06d", serial)
end

function random_code()
  return code_of(math.random(0, N - 1))
end

function init_random()
  -- distinct streams per thread (wrk threads start in the same second)
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919 + math.floor(os.clock() * 1e6))
end

-- Each thread gets a number, for unique case references and seeds.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end
