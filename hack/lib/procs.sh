# Process helpers shared by hack/bench/bench.sh and
# hack/conformance/conformance.sh, sourced by both. The caller defines WORK
# (a directory for logs), PIDS (an array of the process groups started),
# BIN_DIR, and the functions log and die.

# start_bg NAME CMD...: runs CMD in the background with its output in
# $WORK/NAME.log, in a process group of its own so that stop_pid ends its
# children too, and leaves its pid (also the group id) in STARTED_PID.
start_bg() {
	local name=$1
	shift
	setsid "$@" >"$WORK/$name.log" 2>&1 &
	STARTED_PID=$!
	PIDS+=("$STARTED_PID")
}

# stop_pid PID: SIGTERM to the process group PID leads, then SIGKILL to what
# is left of it after 5 seconds or once PID has exited.
stop_pid() {
	local pid=$1 i
	kill -TERM -- "-$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# port_open HOST PORT: succeeds when something accepts on HOST:PORT.
port_open() {
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# require_binary NAME: dies unless $BIN_DIR/NAME is built.
require_binary() {
	[[ -x $BIN_DIR/$1 ]] || die "$BIN_DIR/$1 is not built (run make build)"
}
