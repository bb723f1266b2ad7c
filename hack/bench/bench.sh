#!/usr/bin/env bash
# bench.sh measures unary greet.v1.GreetService/Greet calls against every
# target in one run on this machine, and prints one table:
#
#   direct    ghz straight to one greet-server (the limit)
#   agent     bin/roundabout-agent, round robin over three greet-servers
#   haproxy   Debian's haproxy, mode http, proto h2, balance roundrobin
#   nginx     Debian's nginx, grpc_pass with pooled upstream connections
#
# Three greet-servers listen on 127.0.1.2, 127.0.1.3 and 127.0.1.4 :50051.
# Every proxy is started first; then each run is made against every target
# in turn, with ghz v0.120.0 over one HTTP/2 connection: (proxies only) ghz
# --rps 2000 while the proxy's RSS is sampled, a warm-up at c=50, a measured
# run at c=50 as fast as it goes and a measured run at a fixed 1000 rps;
# then, proxies only, a fixed 500 rps and c=1 as fast as it goes. The paced
# runs and c=1 are made BENCH_ROUNDS times, in alternating order, so that
# drift over the minutes of a run weighs on every row alike. Over every
# measured run of a proxy its CPU time (utime+stime from /proc/PID/stat) is
# recorded, for CPU per call answered. Only ratios within one run mean
# much: the machine is shared.
#
# Needs bin/greet-server (and bin/roundabout-agent for the agent row; that row
# is skipped when it is not built). Installs haproxy and nginx with apt-get
# when they are missing, and builds ghz once into
# ${XDG_CACHE_HOME:-$HOME/.cache}/roundabout/bench/.
#
# Environment:
#   BENCH_DURATION   length of each measured run (default 3s)
#   BENCH_WARMUP     length of the warm-up run (default 1s)
#   BENCH_PORT_BASE  first of the five loopback ports the proxies use (default 18400)
#   BENCH_BIN_DIR    where greet-server and roundabout-agent are (default bin/)
#   BENCH_KEEP=1     keep the work directory with the configs, logs and reports
#   BENCH_TARGETS    the rows to run, in order (default "direct agent haproxy nginx")
#   BENCH_AGENT_ENV  extra environment of the agent only, e.g. "GOMAXPROCS=2"
#   BENCH_ROUNDS     how many times the 2000, 1000 and 500 rps and c=1 runs are made (default 2)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/procs.sh
. "$ROOT/hack/lib/procs.sh"
BENCH_DIR=$ROOT/hack/bench
BIN_DIR=${BENCH_BIN_DIR:-$ROOT/bin}
CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/roundabout/bench
GHZ_VERSION=v0.120.0
GHZ=$CACHE_DIR/ghz-$GHZ_VERSION/ghz
DURATION=${BENCH_DURATION:-3s}
WARMUP=${BENCH_WARMUP:-1s}
CONCURRENCY=50
PACED_RPS=1000
SERVING_RPS=2000
IDLE_RPS=500

SERVER_IPS=(127.0.1.2 127.0.1.3 127.0.1.4)
SERVER_PORT=50051
PORT_BASE=${BENCH_PORT_BASE:-18400}
AGENT_PORT=$((PORT_BASE + 0))
AGENT_ADMIN_PORT=$((PORT_BASE + 1))
HAPROXY_PORT=$((PORT_BASE + 2))
HAPROXY_STATS_PORT=$((PORT_BASE + 3))
NGINX_PORT=$((PORT_BASE + 4))

PROTO=$ROOT/proto/greet/v1/greet.proto
CALL=greet.v1.GreetService/Greet
REQUEST='{"first_name":"Bench","last_name":"Mark"}'
# Flags of every ghz run. "--duration-stop wait" lets the calls in flight when
# the time is up finish, instead of failing them by closing the connection.
# ghz_run adds -c $CONCURRENCY; the c=1 run sets CONCURRENCY=1 for its call.
GHZ_FLAGS=(--insecure --connections 1 --duration-stop wait
	--proto "$PROTO" --call "$CALL" -d "$REQUEST" --format json)

# haproxy and nginx live in /usr/sbin, which is not on every user's PATH.
PATH=$PATH:/usr/sbin:/sbin

WORK=""
RESULTS=""
KEEP_WORK=${BENCH_KEEP:-0}
read -r -a TARGETS <<<"${BENCH_TARGETS:-direct agent haproxy nginx}"
read -r -a AGENT_ENV <<<"${BENCH_AGENT_ENV:-}"
ROUNDS=${BENCH_ROUNDS:-2}
PIDS=()
POLICY_RC_D=""

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ---------------------------------------------------------------- processes

# forget_pid PID: stops PID and drops it from the list cleanup stops.
forget_pid() {
	local pid=$1 kept=() p
	stop_pid "$pid"
	for p in "${PIDS[@]}"; do
		[[ $p == "$pid" ]] || kept+=("$p")
	done
	PIDS=("${kept[@]}")
}

cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[i]}"
	done
	[[ -z $POLICY_RC_D ]] || rm -f "$POLICY_RC_D"
	if [[ -n $WORK && $KEEP_WORK != 1 ]]; then
		rm -rf "$WORK"
	elif [[ -n $WORK ]]; then
		log "configs, logs and reports kept in $WORK"
	fi
}

# ---------------------------------------------------------------- loopback I/O

require_free_port() {
	if port_open "$1" "$2"; then
		die "$1:$2 is already in use (set BENCH_PORT_BASE, or stop what listens there)"
	fi
}

# wait_port NAME PID HOST PORT: waits up to 10 s for PID to accept on HOST:PORT.
wait_port() {
	local name=$1 pid=$2 host=$3 port=$4 i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || {
			log "$name exited at start; its log is $WORK/$name.log:"
			tail -n 20 "$WORK/$name.log" >&2
			return 1
		}
		port_open "$host" "$port" && return 0
		sleep 0.1
	done
	log "$name did not listen on $host:$port within 10s; see $WORK/$name.log"
	return 1
}

# tcp_request HOST PORT PAYLOAD: sends PAYLOAD and prints the reply until the
# peer closes, waiting at most 5 s for each line.
tcp_request() {
	local host=$1 port=$2 payload=$3 line
	exec 3<>"/dev/tcp/$host/$port" || return 1
	printf '%b' "$payload" >&3
	while IFS= read -r -t 5 line <&3 || [[ -n $line ]]; do
		printf '%s\n' "${line%$'\r'}"
	done
	exec 3<&-
}

# http_get HOST PORT PATH: prints the response, status line first.
http_get() {
	tcp_request "$1" "$2" "GET $3 HTTP/1.0\r\nHost: $1\r\n\r\n"
}

# ---------------------------------------------------------------- tools

ensure_ghz() {
	[[ -x $GHZ ]] && return 0
	log "building ghz $GHZ_VERSION into $(dirname "$GHZ") (once; takes a few minutes)"
	mkdir -p "$(dirname "$GHZ")"
	# Built from the cache directory, so that it never enters the project's go.mod.
	(cd "$CACHE_DIR" && GOFLAGS=-buildvcs=false GOBIN=$(dirname "$GHZ") \
		nice -n 10 go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION") ||
		die "building ghz $GHZ_VERSION failed"
}

# ensure_packages: installs haproxy and nginx from Debian's packages when
# missing, without letting the packages start their system services.
ensure_packages() {
	local missing=() cmd
	for cmd in haproxy nginx; do
		command -v "$cmd" >/dev/null || missing+=("$cmd")
	done
	((${#missing[@]} == 0)) && return 0
	[[ $(id -u) == 0 ]] || die "${missing[*]} missing; installing needs root (apt-get install ${missing[*]})"
	command -v apt-get >/dev/null || die "${missing[*]} missing and there is no apt-get to install them"
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		POLICY_RC_D=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC_D"
		chmod 755 "$POLICY_RC_D"
	fi
	log "installing ${missing[*]} with apt-get"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	[[ -z $POLICY_RC_D ]] || rm -f "$POLICY_RC_D"
	POLICY_RC_D=""
}

# ---------------------------------------------------------------- measuring

# ghz_run REPORT ADDRESS GHZ-FLAGS...: one ghz run, its JSON report in REPORT.
# CONCURRENCY in the environment of the call overrides -c.
ghz_run() {
	local report=$1 address=$2
	shift 2
	"$GHZ" "${GHZ_FLAGS[@]}" -c "$CONCURRENCY" -o "$report" "$@" "$address" 2>>"$WORK/ghz.log" || {
		log "ghz against $address failed; see $WORK/ghz.log"
		return 1
	}
}

# tree_kib PID FIELD: FIELD (VmRSS, VmHWM) of PID plus its children, in KiB.
# nginx serves from worker processes; the others are one process.
tree_kib() {
	local pid=$1 field=$2 p total=0 kib
	for p in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		kib=$(awk -v f="$field:" '$1 == f { print $2 }' /proc/"$p"/status 2>/dev/null || true)
		total=$((total + ${kib:-0}))
	done
	echo "$total"
}

# cpu_ticks PID: utime+stime of PID plus its children, in clock ticks, from
# /proc/PID/stat (fields 14 and 15, counted after the parenthesised name).
cpu_ticks() {
	local pid=$1 p total=0 ticks
	for p in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		ticks=$(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null | awk '{ print $12 + $13 }' || true)
		total=$((total + ${ticks:-0}))
	done
	echo "$total"
}

# cpu_run DIR REPORT PID ADDRESS GHZ-FLAGS...: one ghz run into DIR/REPORT.json,
# recording in DIR/cpu the clock ticks PID (and its children) used meanwhile,
# under the name of the run: REPORT without its round, "rps500" for
# "rps500.2". benchtable adds up the rounds of a run.
cpu_run() {
	local dir=$1 report=$2 pid=$3 address=$4 before
	shift 4
	before=$(cpu_ticks "$pid")
	ghz_run "$dir/$report.json" "$address" "$@" || return 1
	printf '%s=%s\n' "${report%%.*}" "$(($(cpu_ticks "$pid") - before))" >>"$dir/cpu"
}

# measure_serving_rss DIR ADDRESS PID REPORT: ghz at a fixed 2000 rps into
# DIR/REPORT.json while PID's VmRSS is sampled; records the highest sample,
# the VmHWM at the end and the CPU time PID used. benchtable keeps the
# largest of each memory figure over the rounds.
measure_serving_rss() {
	local dir=$1 address=$2 pid=$3 report=$4 ghz_pid rss max=0 before
	before=$(cpu_ticks "$pid")
	setsid "$GHZ" "${GHZ_FLAGS[@]}" -c "$CONCURRENCY" -o "$dir/$report.json" --rps "$SERVING_RPS" \
		--duration "$DURATION" "$address" 2>>"$WORK/ghz.log" &
	ghz_pid=$!
	PIDS+=("$ghz_pid")
	# The first half second is connection set-up, not serving.
	sleep 0.5
	while kill -0 "$ghz_pid" 2>/dev/null; do
		rss=$(tree_kib "$pid" VmRSS)
		((rss > max)) && max=$rss
		sleep 0.25
	done
	wait "$ghz_pid" || {
		log "ghz at $SERVING_RPS rps against $address failed; see $WORK/ghz.log"
		return 1
	}
	forget_pid "$ghz_pid"
	printf 'rps%s=%s\n' "$SERVING_RPS" "$(($(cpu_ticks "$pid") - before))" >>"$dir/cpu"
	printf 'serving_rss_kib=%s\nserving_hwm_kib=%s\n' "$max" "$(tree_kib "$pid" VmHWM)" >>"$dir/memory"
}

# Targets being measured, in BENCH_TARGETS order, and what each one is:
# its result directory, address, process (empty for direct) and the logs a
# failure points to.
LIVE=()
declare -A DIR_OF=() ADDR_OF=() PID_OF=() LOGS_OF=()

# add_target ID DIR ADDRESS PID LOGS: ID started and is measured from now on.
add_target() {
	LIVE+=("$1")
	DIR_OF[$1]=$2
	ADDR_OF[$1]=$3
	PID_OF[$1]=$4
	LOGS_OF[$1]=$5
}

# drop_target ID: a run of ID failed; its row says so, its process stops
# and it is not measured again.
drop_target() {
	local id=$1 kept=() t
	skip_target "${DIR_OF[$id]}" "failed; see ${LOGS_OF[$id]}"
	[[ -z ${PID_OF[$id]} ]] || forget_pid "${PID_OF[$id]}"
	for t in "${LIVE[@]}"; do
		[[ $t == "$id" ]] || kept+=("$t")
	done
	LIVE=("${kept[@]}")
}

# measure_run ID REPORT GHZ-FLAGS...: one ghz run against ID into
# REPORT.json in its directory; for a proxy, with the CPU time it used.
measure_run() {
	local id=$1 report=$2
	shift 2
	if [[ -n ${PID_OF[$id]} ]]; then
		cpu_run "${DIR_OF[$id]}" "$report" "${PID_OF[$id]}" "${ADDR_OF[$id]}" "$@" && still_running "$id"
	else
		ghz_run "${DIR_OF[$id]}/$report.json" "${ADDR_OF[$id]}" "$@"
	fi
}

# still_running ID: fails, with a note, when the proxy of ID has exited.
# ghz exits 0 even when every call failed, so a proxy that died during a
# run shows only here.
still_running() {
	kill -0 "${PID_OF[$1]}" 2>/dev/null && return 0
	log "$1 exited during a run"
	return 1
}

# The runs, one function each, called as run_NAME ID ROUND.
run_serving() {
	measure_serving_rss "${DIR_OF[$1]}" "${ADDR_OF[$1]}" "${PID_OF[$1]}" "rps$SERVING_RPS.$2" && still_running "$1"
}
run_warmup() { ghz_run "${DIR_OF[$1]}/warmup.json" "${ADDR_OF[$1]}" --duration "$WARMUP"; }
run_saturated() { measure_run "$1" "c$CONCURRENCY" --duration "$DURATION"; }
run_paced() { measure_run "$1" "rps$PACED_RPS.$2" --duration "$DURATION" --rps "$PACED_RPS"; }
run_idle() { measure_run "$1" "rps$IDLE_RPS.$2" --duration "$DURATION" --rps "$IDLE_RPS"; }
run_seq() { CONCURRENCY=1 measure_run "$1" "c1.$2" --duration "$DURATION"; }

# in_turn RUN ROUNDS all|proxies: RUN against every target still measured
# (or every proxy), ROUNDS times. Odd rounds go in BENCH_TARGETS order and
# even rounds in reverse, so that no target is always measured first or
# last: figures that drift over a minute, or that depend on what ran just
# before, then weigh on every row alike. A target whose run fails is dropped.
in_turn() {
	local run=$1 rounds=$2 which=$3 r i id order
	for ((r = 1; r <= rounds; r++)); do
		order=()
		for ((i = 0; i < ${#LIVE[@]}; i++)); do
			if ((r % 2 == 1)); then
				order+=("${LIVE[i]}")
			else
				order=("${LIVE[i]}" "${order[@]}")
			fi
		done
		for id in "${order[@]}"; do
			[[ $which == all || -n ${PID_OF[$id]} ]] || continue
			"run_$run" "$id" "$r" || drop_target "$id"
		done
	done
}

# measure_all: the runs every target gets, each run in turn across the
# targets. Proxies only: 2000 rps with their memory sampled, first, so that
# their VmHWM after it is that of serving; 500 rps and c=1 for CPU per call;
# their peak VmHWM at the end. Every target: a warm-up, c=50 as fast as it
# goes, and 1000 rps. The runs whose figures are checked against each other
# (2000, 1000 and 500 rps) and c=1 are made BENCH_ROUNDS times.
measure_all() {
	local id
	for id in "${LIVE[@]}"; do
		[[ -z ${PID_OF[$id]} ]] || printf 'clk_tck=%s\n' "$(getconf CLK_TCK)" >"${DIR_OF[$id]}/cpu"
	done
	in_turn serving "$ROUNDS" proxies
	in_turn warmup 1 all
	in_turn saturated 1 all
	in_turn paced "$ROUNDS" all
	in_turn idle "$ROUNDS" proxies
	in_turn seq "$ROUNDS" proxies
	for id in "${LIVE[@]}"; do
		[[ -z ${PID_OF[$id]} ]] ||
			printf 'peak_hwm_kib=%s\n' "$(tree_kib "${PID_OF[$id]}" VmHWM)" >>"${DIR_OF[$id]}/memory"
	done
}

# new_target N ID LABEL: makes the result directory of one row and prints it.
new_target() {
	local dir=$RESULTS/$1-$2
	mkdir -p "$dir"
	printf '%s\n' "$3" >"$dir/label"
	echo "$dir"
}

skip_target() {
	printf '%s\n' "$2" >"$1/skip"
	log "skipping $(cat "$1/label"): $2"
}

endpoints() {
	local ip list=()
	for ip in "${SERVER_IPS[@]}"; do
		list+=("$ip:$SERVER_PORT")
	done
	local IFS=,
	echo "${list[*]}"
}

start_greet_servers() {
	local ip n=0
	for ip in "${SERVER_IPS[@]}"; do
		n=$((n + 1))
		require_free_port "$ip" "$SERVER_PORT"
		start_bg "greet-server-$n" env POD_NAME="greet-$n" POD_IP="$ip" GRPC_PORT="$SERVER_PORT" \
			"$BIN_DIR/greet-server"
		wait_port "greet-server-$n" "$STARTED_PID" "$ip" "$SERVER_PORT" || die "greet-server-$n did not start"
	done
}

# ---------------------------------------------------------------- targets

start_direct() {
	local dir
	dir=$(new_target 1 direct "direct (${SERVER_IPS[0]}:$SERVER_PORT)")
	log "direct: ${SERVER_IPS[0]}:$SERVER_PORT"
	add_target direct "$dir" "${SERVER_IPS[0]}:$SERVER_PORT" "" "$WORK/ghz.log"
}

start_agent() {
	local dir pid
	dir=$(new_target 2 agent "roundabout-agent (round-robin)")
	if [[ ! -x $BIN_DIR/roundabout-agent ]]; then
		skip_target "$dir" "not built (no ${BIN_DIR#"$ROOT"/}/roundabout-agent)"
		return 0
	fi
	log "agent: 127.0.0.1:$AGENT_PORT"
	require_free_port 127.0.0.1 "$AGENT_PORT"
	require_free_port 127.0.0.1 "$AGENT_ADMIN_PORT"
	start_bg agent env "${AGENT_ENV[@]}" "$BIN_DIR/roundabout-agent" --upstream greet --listen "127.0.0.1:$AGENT_PORT" \
		--endpoints "$(endpoints)" --strategy round-robin \
		--admin-addr "127.0.0.1:$AGENT_ADMIN_PORT" --log-level warn
	pid=$STARTED_PID
	if ! wait_port agent "$pid" 127.0.0.1 "$AGENT_PORT" || ! wait_agent_ready "$pid"; then
		skip_target "$dir" "did not start; see $WORK/agent.log"
		forget_pid "$pid"
		return 0
	fi
	add_target agent "$dir" "127.0.0.1:$AGENT_PORT" "$pid" "$WORK/ghz.log and $WORK/agent.log"
}

# wait_agent_ready PID: waits up to 10 s for the admin /readyz to answer 200.
wait_agent_ready() {
	local pid=$1 i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		http_get 127.0.0.1 "$AGENT_ADMIN_PORT" /readyz 2>/dev/null | head -n 1 | grep -q ' 200' && return 0
		sleep 0.1
	done
	log "agent: /readyz did not answer 200 within 10s"
	return 1
}

# agent_split: requests per endpoint, summed over status codes, from /metrics.
agent_split() {
	http_get 127.0.0.1 "$AGENT_ADMIN_PORT" /metrics |
		awk '/^roundabout_agent_requests_total\{/ {
			if (match($0, /endpoint="[^"]*"/)) {
				ep = substr($0, RSTART + 10, RLENGTH - 11)
				if (ep != "none") n[ep] += $NF
			}
		}
		END { for (ep in n) printf "%s %d\n", ep, n[ep] }'
}

start_haproxy() {
	local dir pid version
	version=$(haproxy -v | awk 'NR == 1 { sub(/-.*/, "", $3); print $3 }')
	dir=$(new_target 3 haproxy "haproxy $version (h2, roundrobin)")
	log "haproxy $version: 127.0.0.1:$HAPROXY_PORT"
	require_free_port 127.0.0.1 "$HAPROXY_PORT"
	require_free_port 127.0.0.1 "$HAPROXY_STATS_PORT"
	render_template haproxy.cfg.in "$WORK/haproxy.cfg" "$HAPROXY_PORT" \
		"$(server_lines '    server %s %s proto h2')"
	haproxy -c -q -f "$WORK/haproxy.cfg" || die "haproxy rejected $WORK/haproxy.cfg"
	start_bg haproxy haproxy -db -f "$WORK/haproxy.cfg"
	pid=$STARTED_PID
	if ! wait_port haproxy "$pid" 127.0.0.1 "$HAPROXY_PORT"; then
		skip_target "$dir" "did not start; see $WORK/haproxy.log"
		forget_pid "$pid"
		return 0
	fi
	add_target haproxy "$dir" "127.0.0.1:$HAPROXY_PORT" "$pid" "$WORK/ghz.log and $WORK/haproxy.log"
}

# haproxy_split: cumulative streams per server (stot) from the stats socket.
haproxy_split() {
	tcp_request 127.0.0.1 "$HAPROXY_STATS_PORT" 'show stat\n' |
		awk -F, '
			/^# / { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
			$1 == "greet" && $2 != "BACKEND" && $2 != "FRONTEND" { printf "%s %d\n", $2, $col["stot"] }'
}

start_nginx() {
	local dir pid version
	version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([^ ]*\).*|\1|p')
	dir=$(new_target 4 nginx "nginx $version (grpc_pass, keepalive)")
	log "nginx $version: 127.0.0.1:$NGINX_PORT"
	require_free_port 127.0.0.1 "$NGINX_PORT"
	mkdir -p "$WORK/nginx-tmp"
	render_template nginx.conf.in "$WORK/nginx.conf" "$NGINX_PORT" "$(server_lines '        server %s;')"
	nginx -q -t -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" ||
		die "nginx rejected $WORK/nginx.conf"
	start_bg nginx nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
	pid=$STARTED_PID
	if ! wait_port nginx "$pid" 127.0.0.1 "$NGINX_PORT"; then
		skip_target "$dir" "did not start; see $WORK/nginx-error.log"
		forget_pid "$pid"
		return 0
	fi
	add_target nginx "$dir" "127.0.0.1:$NGINX_PORT" "$pid" "$WORK/ghz.log and $WORK/nginx-error.log"
}

# collect_splits: the requests per server of every proxy measured to the
# end, read from the proxy itself.
collect_splits() {
	local id dir
	for id in "${LIVE[@]}"; do
		dir=${DIR_OF[$id]}
		case $id in
		agent) agent_split >"$dir/split" || log "agent: no per-server counts from /metrics" ;;
		haproxy) haproxy_split >"$dir/split" || log "haproxy: no per-server counts from the stats socket" ;;
		nginx)
			# Stopping nginx flushes its buffered access log.
			forget_pid "${PID_OF[$id]}"
			nginx_split >"$dir/split" || log "nginx: no per-server counts from the access log"
			;;
		esac
	done
}

# nginx_split: requests per server from the access log of upstream addresses.
nginx_split() {
	awk '{ n[$1]++ } END { for (ep in n) printf "%s %d\n", ep, n[ep] }' "$WORK/nginx-upstream.log"
}

# server_lines FORMAT: one FORMAT line per greet-server, given its address twice.
server_lines() {
	local ip
	for ip in "${SERVER_IPS[@]}"; do
		# shellcheck disable=SC2059 # the format is the argument
		printf "$1\n" "$ip:$SERVER_PORT" "$ip:$SERVER_PORT"
	done
}

# render_template TEMPLATE OUTPUT LISTEN_PORT SERVERS: fills in the @NAME@
# placeholders of a config template from hack/bench.
render_template() {
	local text
	text=$(<"$BENCH_DIR/$1")
	text=${text//@LISTEN_PORT@/$3}
	text=${text//@SERVERS@/$4}
	text=${text//@WORKDIR@/$WORK}
	text=${text//@STATS_PORT@/$HAPROXY_STATS_PORT}
	printf '%s\n' "$text" >"$2"
}

# ---------------------------------------------------------------- report

print_header() {
	printf 'Proxy benchmark: unary %s, ghz %s, --connections 1 -c %d, %s per run after a %s warm-up\n' \
		"$CALL" "$GHZ_VERSION" "$CONCURRENCY" "$DURATION" "$WARMUP"
	printf 'each run is made against every target in turn; rounds of the 2000, 1000 and 500 rps and c=1 runs (BENCH_ROUNDS): %d\n' \
		"$ROUNDS"
	printf 'date: %s   cores: %s   load average at start: %s\n' \
		"$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf 'servers: %s (%s)\n' "$(endpoints)" "$BIN_DIR/greet-server"
	awk -v cores="$(nproc)" '$1 > cores {
		printf "warning: load average %s on %d cores: other work competes with the runs; only ratios within this run mean anything, and little\n", $1, cores
	}' /proc/loadavg
	echo
}

print_table() {
	"$WORK/benchtable" -results "$RESULTS"
	printf '\nload average at end: %s. Peak RSS is VmHWM after all runs (nginx: master and workers summed).\n' \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	command -v go >/dev/null || die "go is not on PATH"
	local t
	for t in "${TARGETS[@]}"; do
		case $t in
		direct | agent | haproxy | nginx) ;;
		*) die "BENCH_TARGETS: unknown target \"$t\" (want direct, agent, haproxy or nginx)" ;;
		esac
	done
	[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS: \"$ROUNDS\" is not a whole number of at least 1"
	ensure_packages
	ensure_ghz
	require_binary greet-server
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/roundabout-bench.XXXXXX")
	# nginx's workers run as an unprivileged user and create temp dirs here.
	chmod 755 "$WORK"
	RESULTS=$WORK/results
	mkdir -p "$RESULTS"
	# Build the table printer before the runs, so that compiling does not
	# compete with them.
	(cd "$ROOT" && go build -o "$WORK/benchtable" ./hack/bench/benchtable)

	start_greet_servers
	local header
	header=$(print_header)
	for t in "${TARGETS[@]}"; do
		"start_$t"
	done
	measure_all
	collect_splits
	printf '%s\n' "$header"
	print_table
}

main "$@"
