-- wrk script for rum-gateway's benchmark: alternates realistic Grafana Faro payloads
-- (POST /collect, four web-vitals measurements) and web-vitals beacons (POST /beacon, an
-- array of four Metric objects), each for one of 100,000 distinct page URLs and with
-- unique metric ids. Every request carries exactly 4 vitals.
-- Env: RUM_LIMIT (responses per thread, then the thread stops; 0 = run for the duration),
--      RUM_RUN (a tag in every metric id, so ids stay unique across runs).

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("seed", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

n = 0
ok = 0
other = 0
local limit = tonumber(os.getenv("RUM_LIMIT") or "0")
local run = os.getenv("RUM_RUN") or "0"
local ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

-- Page names without digits, so the gateway's :id fallback cannot fold them: this is the
-- worst case for the page cap.
local function page_name(i)
  local s = ""
  repeat
    s = s .. string.char(97 + i % 26)
    i = math.floor(i / 26)
  until i == 0
  return s
end

local function faro(i, id, url)
  return string.format([[{"meta":{"sdk":{"name":"@grafana/faro-web-sdk","version":"2.12.1"},"app":{"name":"shop","version":"1.4.2","environment":"production"},"session":{"id":"s%s","attributes":{"isSampled":"true"}},"page":{"id":"p%s","url":"%s"},"browser":{"name":"Chrome","version":"131.0.0.0","os":"Linux","mobile":false,"userAgent":"%s","language":"en-US","brands":[{"brand":"Chromium","version":"131"}],"viewportWidth":"1280","viewportHeight":"720"},"view":{"name":"default"}},"measurements":[{"type":"web-vitals","values":{"lcp":%d.5,"delta":%d.5},"timestamp":"2026-12-03T12:00:00.000Z","context":{"id":"v5-%s-1","rating":"good","navigation_type":"navigate"}},{"type":"web-vitals","values":{"fcp":%d,"delta":%d},"timestamp":"2026-12-03T12:00:00.000Z","context":{"id":"v5-%s-2","rating":"good","navigation_type":"navigate"}},{"type":"web-vitals","values":{"ttfb":%d,"delta":%d},"timestamp":"2026-12-03T12:00:00.000Z","context":{"id":"v5-%s-3","rating":"good","navigation_type":"navigate"}},{"type":"web-vitals","values":{"cls":0.0%d,"delta":0.0%d},"timestamp":"2026-12-03T12:00:00.000Z","context":{"id":"v5-%s-4","rating":"good","navigation_type":"navigate"}}],"events":[],"exceptions":[],"logs":[]}]],
    id, id, url, ua, 1200 + i % 3000, 1200 + i % 3000, id, 600 + i % 2000, 600 + i % 2000, id,
    80 + i % 900, 80 + i % 900, id, i % 9, i % 9, id)
end

local function beacon(i, id, url)
  return string.format([=[[{"name":"LCP","value":%d.5,"rating":"good","delta":%d.5,"id":"v5-%s-1","navigationType":"navigate","app":"shop","url":"%s"},{"name":"FCP","value":%d,"rating":"good","delta":%d,"id":"v5-%s-2","navigationType":"navigate","app":"shop","url":"%s"},{"name":"TTFB","value":%d,"rating":"good","delta":%d,"id":"v5-%s-3","navigationType":"navigate","app":"shop","url":"%s"},{"name":"CLS","value":0.0%d,"rating":"good","delta":0.0%d,"id":"v5-%s-4","navigationType":"navigate","app":"shop","url":"%s"}]]=],
    1500 + i % 3000, 1500 + i % 3000, id, url, 700 + i % 2000, 700 + i % 2000, id, url,
    90 + i % 900, 90 + i % 900, id, url, i % 9, i % 9, id, url)
end

function request()
  n = n + 1
  local s = seed or 0
  local i = s * 100000000 + n
  local id = run .. "-" .. s .. "-" .. n
  local url = "https://shop.example/catalog/" .. page_name(i % 100000) .. "?ref=bench&n=" .. n
  if n % 2 == 0 then
    return wrk.format("POST", "/collect", {
      ["Content-Type"] = "application/json", ["User-Agent"] = ua,
      ["x-faro-session-id"] = "s" .. id }, faro(i, id, url))
  end
  return wrk.format("POST", "/beacon", {
    ["Content-Type"] = "text/plain;charset=UTF-8", ["User-Agent"] = ua }, beacon(i, id, url))
end

function response(status, headers, body)
  if status == 202 or status == 204 then ok = ok + 1 else other = other + 1 end
  if limit > 0 and ok + other >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_other = total_other + t:get("other")
  end
  io.write(string.format("RESULT ok=%d other=%d p99_us=%d rps=%.1f\n", total_ok, total_other,
    latency:percentile(99), summary.requests / (summary.duration / 1e6)))
end
