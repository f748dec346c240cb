-- wrk script: every connection registers a backend, then deregisters it, over and over, so that
-- each request is one API write (one PostgreSQL transaction with its generation bump and audit row).
-- Run with one connection per thread (-t N -c N). Environment: SY_TOKEN (bearer token), SY_POOL (an
-- existing pool, best without a health check), SY_RUN (a tag that keeps the names of successive runs
-- apart). Backends get loopback addresses: a benchmark never makes a probe go anywhere else.
local token = os.getenv("SY_TOKEN")
local pool = os.getenv("SY_POOL") or "bench"
local run = os.getenv("SY_RUN") or "0"
local ids = 0
local n = 0
-- The backend this connection registered and has not deregistered yet. The state moves on answers,
-- not on requests: wrk also calls request() once per thread before connecting, without sending it.
local registered = nil

-- Runs in the main Lua state; `thread_id` becomes a global of each thread's own state.
function setup(thread)
    ids = ids + 1
    thread:set("thread_id", ids)
end

function request()
    local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
    if registered then
        return wrk.format("DELETE", "/v1/pools/" .. pool .. "/backends/" .. registered, headers)
    end
    local name = "b-" .. run .. "-" .. thread_id .. "-" .. (n + 1)
    local body = '{"name":"' .. name .. '","address":"127.1.' .. (n % 250) .. '.' .. (thread_id % 250) .. '","port":8080}'
    return wrk.format("POST", "/v1/pools/" .. pool .. "/backends", headers, body)
end

local failures = 0
function response(status, headers, body)
    if status == 201 then
        n = n + 1
        registered = "b-" .. run .. "-" .. thread_id .. "-" .. n
    elseif status == 204 then
        registered = nil
    else
        failures = failures + 1
        if failures <= 3 then io.stderr:write("unexpected " .. status .. ": " .. body .. "\n") end
    end
end
