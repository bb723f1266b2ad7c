#!/usr/bin/env bash
# conformance.sh runs the HTTP/2 conformance suite h2spec (cleartext, prior
# knowledge) against bin/roundabout-agent and against a greet-server directly,
# and prints which cases fail against either, side by side:
#
#   greet-server  greet-0 on 127.0.1.12, tested directly
#   agent         127.0.1.11, --strategy round-robin over greet-1 and greet-2
#                 (127.0.1.13 and 127.0.1.14), admin server on 127.0.1.11
#
# All on one port, 50051 by default (the agent's admin server: the next one).
# The two full runs go in parallel. A case that fails against the agent and
# passes against the greet-server is run again on its own against both; it is
# a regression when it does the same again. The comparison is printed by
# hack/conformance/h2compare from h2spec's JUnit reports.
#
# h2spec and all its dependencies are pinned by the tools module in
# hack/conformance/tools; it is built once into
# ${XDG_CACHE_HOME:-$HOME/.cache}/roundabout/bin/.
#
# Exit status: 0 without regressions, 1 with regressions, 2 when the
# comparison could not be made (h2spec not built, a port in use, a process
# that did not start or did not become ready, a run without a report).
#
# Environment:
#   CONFORMANCE_PORT           port of every listener, the admin server's is the next one (default 50051)
#   CONFORMANCE_TIMEOUT        h2spec's -o, seconds each case waits for an answer (default 2)
#   CONFORMANCE_READY_TIMEOUT  seconds the agent gets to answer 200 on /readyz (default 30)
#   CONFORMANCE_BIN_DIR        where greet-server and roundabout-agent are (default bin/)
#   CONFORMANCE_KEEP=1         keep the work directory with the logs and reports
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/procs.sh
. "$ROOT/hack/lib/procs.sh"
HERE=$ROOT/hack/conformance
BIN_DIR=${CONFORMANCE_BIN_DIR:-$ROOT/bin}
CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/roundabout/bin
PORT=${CONFORMANCE_PORT:-50051}
ADMIN_PORT=$((PORT + 1))
H2SPEC_TIMEOUT=${CONFORMANCE_TIMEOUT:-2}
READY_TIMEOUT=${CONFORMANCE_READY_TIMEOUT:-30}
KEEP_WORK=${CONFORMANCE_KEEP:-0}
# Upper bound of one h2spec run, in seconds: a full run takes about a minute,
# most of it cases that wait out the timeout.
RUN_LIMIT=600

AGENT_IP=127.0.1.11
DIRECT_IP=127.0.1.12
ENDPOINT_IPS=(127.0.1.13 127.0.1.14)

WORK=""
PIDS=()
H2SPEC=""
H2SPEC_VERSION=""

log() { printf 'conformance: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 2
}

# ---------------------------------------------------------------- processes

cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[i]}"
	done
	if [[ -n $WORK && $KEEP_WORK != 1 ]]; then
		rm -rf "$WORK"
	elif [[ -n $WORK ]]; then
		log "logs and reports kept in $WORK"
	fi
}

# show_log NAME: the last lines of $WORK/NAME.log, on stderr.
show_log() {
	log "last lines of $WORK/$1.log:"
	tail -n 20 "$WORK/$1.log" >&2 || true
}

# ---------------------------------------------------------------- loopback

require_free_port() {
	if port_open "$1" "$2"; then
		die "$1:$2 is already in use (stop what listens there, or set CONFORMANCE_PORT)"
	fi
}

# wait_port NAME PID HOST PORT: waits up to 10 s for PID to accept on HOST:PORT.
wait_port() {
	local name=$1 pid=$2 host=$3 port=$4 i
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name exited at start"
			show_log "$name"
			return 1
		fi
		port_open "$host" "$port" && return 0
		sleep 0.1
	done
	log "$name did not listen on $host:$port within 10s"
	show_log "$name"
	return 1
}

# http_status HOST PORT PATH: the status code of GET PATH over HTTP/1.0.
http_status() {
	local line
	exec 3<>"/dev/tcp/$1/$2" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&3
	IFS=' ' read -r -t 5 _ line _ <&3 || true
	exec 3<&-
	printf '%s\n' "$line"
}

# wait_ready PID: waits up to READY_TIMEOUT seconds for the agent's /readyz
# to answer 200, which it does once an endpoint is connected.
wait_ready() {
	local pid=$1 deadline=$((SECONDS + READY_TIMEOUT)) status=""
	while ((SECONDS < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "the agent exited before it was ready"
			show_log agent
			return 1
		fi
		status=$(http_status "$AGENT_IP" "$ADMIN_PORT" /readyz 2>/dev/null || true)
		[[ $status == 200 ]] && return 0
		sleep 0.2
	done
	log "the agent's /readyz on $AGENT_IP:$ADMIN_PORT did not answer 200 within ${READY_TIMEOUT}s (last: ${status:-no answer})"
	show_log agent
	return 1
}

# ---------------------------------------------------------------- tools

# ensure_h2spec builds the h2spec the tools module pins, once per version and
# go.sum, and sets H2SPEC and H2SPEC_VERSION.
ensure_h2spec() {
	local tools=$HERE/tools sum dir
	H2SPEC_VERSION=$(awk '$1 == "github.com/summerwind/h2spec" { print $2 }' "$tools/go.mod")
	[[ -n $H2SPEC_VERSION ]] || die "$tools/go.mod requires no github.com/summerwind/h2spec"
	sum=$(sha256sum "$tools/go.sum" | cut -c1-12)
	dir=$CACHE_DIR/h2spec-${H2SPEC_VERSION%+incompatible}-$sum
	H2SPEC=$dir/h2spec
	if [[ ! -x $H2SPEC ]]; then
		log "building h2spec $H2SPEC_VERSION into $dir (once)"
		mkdir -p "$dir"
		if ! (cd "$tools" && GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0 \
			nice -n 10 go build -trimpath -o "$H2SPEC.tmp" github.com/summerwind/h2spec/cmd/h2spec); then
			rm -f "$H2SPEC.tmp"
			die "could not build h2spec $H2SPEC_VERSION from hack/conformance/tools (is the Go module proxy reachable?)"
		fi
		mv "$H2SPEC.tmp" "$H2SPEC"
	fi
	"$H2SPEC" --version >/dev/null 2>&1 || die "$H2SPEC does not run"
}

# ---------------------------------------------------------------- runs

endpoints() {
	local ip list=()
	for ip in "${ENDPOINT_IPS[@]}"; do
		list+=("$ip:$PORT")
	done
	local IFS=,
	echo "${list[*]}"
}

start_greet_server() {
	local name=$1 ip=$2
	require_free_port "$ip" "$PORT"
	start_bg "$name" env POD_NAME="$name" POD_IP="$ip" GRPC_PORT="$PORT" "$BIN_DIR/greet-server"
	wait_port "$name" "$STARTED_PID" "$ip" "$PORT" || die "$name did not start"
}

start_agent() {
	require_free_port "$AGENT_IP" "$PORT"
	require_free_port "$AGENT_IP" "$ADMIN_PORT"
	start_bg agent "$BIN_DIR/roundabout-agent" --upstream greet --listen "$AGENT_IP:$PORT" \
		--endpoints "$(endpoints)" --strategy round-robin \
		--admin-addr "$AGENT_IP:$ADMIN_PORT" --log-level warn
	AGENT_PID=$STARTED_PID
	wait_port agent "$AGENT_PID" "$AGENT_IP" "$PORT" || die "the agent did not start"
	wait_ready "$AGENT_PID" || die "the agent did not become ready"
}

# h2spec_bg NAME HOST REPORT [CASE...]: starts one h2spec run in the
# background, its output in $WORK/NAME.log, its JUnit report in REPORT.
h2spec_bg() {
	local name=$1 host=$2 report=$3
	shift 3
	start_bg "$name" timeout -k 10 "$RUN_LIMIT" \
		"$H2SPEC" -h "$host" -p "$PORT" -o "$H2SPEC_TIMEOUT" -j "$report" "$@"
}

# finish_run PID NAME REPORT: waits for an h2spec run; h2spec exits 1 when a
# case fails, so only a missing report means it could not run.
finish_run() {
	local pid=$1 name=$2 report=$3
	wait "$pid" || true
	if [[ ! -s $report ]]; then
		log "h2spec ($name) wrote no report"
		show_log "$name"
		return 1
	fi
}

# require_alive PID NAME: fails when a process stopped during the runs.
require_alive() {
	if ! kill -0 "$1" 2>/dev/null; then
		log "$2 exited during the h2spec runs"
		show_log "$2"
		exit 2
	fi
}

full_runs() {
	local agent_pid server_pid ok=1
	log "h2spec $H2SPEC_VERSION against the agent ($AGENT_IP:$PORT) and greet-0 ($DIRECT_IP:$PORT), in parallel (about a minute)"
	h2spec_bg h2spec-agent "$AGENT_IP" "$WORK/agent.xml"
	agent_pid=$STARTED_PID
	h2spec_bg h2spec-server "$DIRECT_IP" "$WORK/server.xml"
	server_pid=$STARTED_PID
	finish_run "$agent_pid" h2spec-agent "$WORK/agent.xml" || ok=0
	finish_run "$server_pid" h2spec-server "$WORK/server.xml" || ok=0
	((ok)) || die "h2spec could not run against both targets"
}

# rerun_candidates: every case that failed against the agent and passed
# against the greet-server, run again on its own against both.
rerun_candidates() {
	local ids id file agent_pid server_pid
	ids=$("$WORK/h2compare" -agent "$WORK/agent.xml" -server "$WORK/server.xml" -candidates) ||
		die "h2compare could not read the reports"
	mkdir -p "$WORK/reruns"
	[[ -n $ids ]] || return 0
	log "running $(wc -l <<<"$ids") case(s) again on their own: $(tr '\n' ' ' <<<"$ids")"
	for id in $ids; do
		file=${id//\//_}
		h2spec_bg "rerun-$file-agent" "$AGENT_IP" "$WORK/reruns/$file.agent.xml" "$id"
		agent_pid=$STARTED_PID
		h2spec_bg "rerun-$file-server" "$DIRECT_IP" "$WORK/reruns/$file.server.xml" "$id"
		server_pid=$STARTED_PID
		# A rerun without a report counts as not passed; h2compare says so.
		finish_run "$agent_pid" "rerun-$file-agent" "$WORK/reruns/$file.agent.xml" || true
		finish_run "$server_pid" "rerun-$file-server" "$WORK/reruns/$file.server.xml" || true
	done
}

print_header() {
	printf 'HTTP/2 conformance: h2spec %s, cleartext (h2c with prior knowledge), -o %s\n' \
		"$H2SPEC_VERSION" "$H2SPEC_TIMEOUT"
	printf 'agent:        %s:%s  roundabout-agent --strategy round-robin --endpoints %s\n' \
		"$AGENT_IP" "$PORT" "$(endpoints)"
	printf 'greet-server: %s:%s  greet-server, directly\n' "$DIRECT_IP" "$PORT"
	printf 'date: %s   load average: %s\n\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	command -v go >/dev/null || die "go is not on PATH"
	command -v setsid >/dev/null || die "setsid is not on PATH (Debian: util-linux)"
	command -v timeout >/dev/null || die "timeout is not on PATH (Debian: coreutils)"
	[[ $PORT =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65535)) || die "CONFORMANCE_PORT=$PORT is not a port below 65535"
	[[ $H2SPEC_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "CONFORMANCE_TIMEOUT=$H2SPEC_TIMEOUT is not a whole number of seconds"
	[[ $READY_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "CONFORMANCE_READY_TIMEOUT=$READY_TIMEOUT is not a whole number of seconds"
	require_binary greet-server
	require_binary roundabout-agent
	ensure_h2spec
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/roundabout-conformance.XXXXXX")
	# Built before anything starts, so that compiling does not compete with the runs.
	(cd "$ROOT" && go build -o "$WORK/h2compare" ./hack/conformance/h2compare) || die "could not build h2compare"

	local ip pid n=0 servers=()
	start_greet_server greet-0 "$DIRECT_IP"
	servers+=("$STARTED_PID")
	for ip in "${ENDPOINT_IPS[@]}"; do
		n=$((n + 1))
		start_greet_server "greet-$n" "$ip"
		servers+=("$STARTED_PID")
	done
	start_agent

	full_runs
	rerun_candidates
	require_alive "$AGENT_PID" agent
	n=0
	for pid in "${servers[@]}"; do
		require_alive "$pid" "greet-$n"
		n=$((n + 1))
	done

	print_header
	local status=0
	"$WORK/h2compare" -agent "$WORK/agent.xml" -server "$WORK/server.xml" -reruns "$WORK/reruns" || status=$?
	case $status in
	0 | 1) exit "$status" ;;
	*) die "h2compare could not compare the reports (CONFORMANCE_KEEP=1 keeps them)" ;;
	esac
}

main "$@"
