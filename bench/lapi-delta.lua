-- lapi-delta.lua: wrk script for bench_lapi.sh: GET /v1/decisions/stream? (a delta pull,
-- as the Go bouncers send it), round-robin over the API keys in the file $KEYS (one a line);
-- each wrk thread starts at its own offset. Same request as the peers' lapi-stream-delta.lua.
local keys = {}
for l in io.lines(os.getenv("KEYS")) do keys[#keys + 1] = l end
local i = 0
local nthreads = 0
function setup(thread) nthreads = nthreads + 1; thread:set("tid", nthreads) end
function init(args) i = tid * 50 end
function request()
	i = i + 1
	local k = keys[(i % #keys) + 1]
	return wrk.format("GET", "/v1/decisions/stream?", { ["X-Api-Key"] = k, ["User-Agent"] = "crowdsec-firewall-bouncer/v0.0.25" })
end
