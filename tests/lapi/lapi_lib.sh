# SPDX-License-Identifier: MIT
# Helpers shared by the tests/lapi shell tests (source after tests/lib/test_lib.sh).

# free_port BASE: the first loopback port in BASE..BASE+199 that nobody listens on,
# so parallel helpers' test servers on 18xxx do not collide with ours.
free_port() {
	local p
	for p in $(seq "$1" $(($1 + 199))); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "$1"
}

# wait_http URL: up to 5 s for the server to answer
wait_http() {
	local _
	for _ in $(seq 50); do
		curl -skf "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
