-- bench/queue.lua: wrk script for bench/queue.sh.
--
--   wrk -s bench/queue.lua URL -- json TOKEN
--   wrk -s bench/queue.lua URL -- kannel USERNAME PASSWORD
--
-- json:   POST /v1/messages with a JSON body and the bearer token.
-- kannel: GET /cgi-bin/sendsms?username=..&password=..&to=..&text=..&from=..
-- Every request has its own recipient and text (thread number and a counter).
-- Responses are counted by status: 202 is an accepted message. At the end one
-- line "WRK key=value ..." sums all threads, for the shell script to read.

local threads = {}
local next_tid = 0

function setup(thread)
    next_tid = next_tid + 1
    thread:set("tid", next_tid)
    table.insert(threads, thread)
end

function init(args)
    mode = args[1] or "json"
    a1, a2 = args[2] or "", args[3] or ""
    n = 0
    accepted = 0
    refused = 0
    json_headers = { ["Content-Type"] = "application/json",
                     ["Authorization"] = "Bearer " .. a1 }
end

function request()
    n = n + 1
    -- +35387 T NNNNNN: an Irish mobile number, distinct per thread and request
    local to = string.format("35387%d%06d", tid % 10, n % 1000000)
    if mode == "json" then
        local body = string.format('{"to":"+%s","text":"bench t%d n%d"}', to, tid, n)
        return wrk.format("POST", "/v1/messages", json_headers, body)
    end
    local path = string.format(
        "/cgi-bin/sendsms?username=%s&password=%s&to=%%2B%s&text=bench+t%d+n%d&from=Homing",
        a1, a2, to, tid, n)
    return wrk.format("GET", path)
end

function response(status, headers, body)
    if status == 202 then
        accepted = accepted + 1
    else
        refused = refused + 1
        if refused <= 3 then
            io.stderr:write(string.format("queue.lua: status %d: %s\n", status, body))
        end
    end
end

function done(summary, latency, requests)
    local acc, ref = 0, 0
    for _, t in ipairs(threads) do
        acc = acc + t:get("accepted")
        ref = ref + t:get("refused")
    end
    local e = summary.errors
    io.write(string.format(
        "WRK requests=%d accepted=%d refused=%d duration_us=%d connect_err=%d read_err=%d " ..
        "write_err=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
        summary.requests, acc, ref, summary.duration, e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(99), latency.max))
end
