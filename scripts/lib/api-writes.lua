-- wrk script: every connection registers a backend, then deregisters it, over and over, so that
-- each request is one API write (one PostgreSQL transaction with its generation bump and audit row).
-- Environment: SY_TOKEN (bearer token), SY_POOL (an existing pool).
local token = os.getenv("SY_TOKEN")
local pool = os.getenv("SY_POOL") or "bench"
local counter = 0
local ids = 0

-- Runs in the main Lua state; `thread_id` becomes a global of each thread's own state.
function setup(thread)
    ids = ids + 1
    thread:set("thread_id", ids)
end

function request()
    counter = counter + 1
    -- Odd requests register b-<thread>-<n>, even ones deregister the one registered just before.
    local n = math.floor((counter + 1) / 2)
    local name = "b-" .. thread_id .. "-" .. n
    local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
    if counter % 2 == 1 then
        local body = '{"name":"' .. name .. '","address":"10.1.' .. (n % 250) .. '.' .. (thread_id % 250) .. '","port":8080}'
        return wrk.format("POST", "/v1/pools/" .. pool .. "/backends", headers, body)
    end
    return wrk.format("DELETE", "/v1/pools/" .. pool .. "/backends/" .. name, headers)
end

local failures = 0
function response(status, headers, body)
    if status ~= 201 and status ~= 204 then
        failures = failures + 1
        if failures <= 3 then io.stderr:write("unexpected " .. status .. ": " .. body .. "\n") end
    end
end
