#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-proxy, kubectl, coredns) from the Go module
# proxy and caches them under
#   ${ROUNDABOUT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/roundabout}/controlplane/<versions>/bin
#
# The versions and every dependency are pinned by the tools modules in
# hack/controlplane/tools/{kubernetes,etcd,coredns} (go.mod and go.sum).
# A binary whose stamp file matches the current build inputs is not rebuilt.
# Progress goes to stderr; the bin directory is the last line on stdout:
#
#   assets=$(hack/controlplane/build.sh | tail -1)
#
# Usage: build.sh [--print-dir] [BINARY...]
#   --print-dir  print the bin directory and exit without building
#   BINARY       build only these binaries (default: all of them)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools="$here/tools"

# name | tools module directory | main package
readonly targets=(
	"etcd|etcd|go.etcd.io/etcd/server/v3"
	"kube-apiserver|kubernetes|k8s.io/kubernetes/cmd/kube-apiserver"
	"kube-controller-manager|kubernetes|k8s.io/kubernetes/cmd/kube-controller-manager"
	"kube-proxy|kubernetes|k8s.io/kubernetes/cmd/kube-proxy"
	"kubectl|kubernetes|k8s.io/kubernetes/cmd/kubectl"
	"coredns|coredns|github.com/coredns/coredns"
)

log() { printf 'controlplane: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# gocmd DIR CMD... replaces the calling process with CMD, run in the tools
# module DIR, so call it in a subshell: $(gocmd ...) or gocmd ... &.
# Tools modules are built on their own, with a read-only module graph and
# without cgo, the way upstream builds its release binaries. The build lock
# (fd 9) stays with this script.
gocmd() {
	cd "$tools/$1"
	shift
	export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly" CGO_ENABLED=0
	exec 9>&-
	exec "$@"
}

# module_version DIR MODULE prints the version DIR's tools module selects.
module_version() {
	gocmd "$1" go list -m -f '{{.Version}}' "$2"
}

# Without these the server reports v0.0.0-master, which breaks clients
# that gate features on the server version.
k8s_ldflags() {
	local v=$1 minor
	minor=${v#v*.}
	minor=${minor%%.*}
	printf -- '-X k8s.io/component-base/version.gitVersion=%s' "$v"
	printf -- ' -X k8s.io/component-base/version.gitMajor=%s' "$(cut -d. -f1 <<<"${v#v}")"
	printf -- ' -X k8s.io/component-base/version.gitMinor=%s' "$minor"
}

cache_root() {
	printf '%s' "${ROUNDABOUT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/roundabout}/controlplane"
}

load_versions() {
	k8s_version=$(module_version kubernetes k8s.io/kubernetes)
	etcd_version=$(module_version etcd go.etcd.io/etcd/server/v3)
	coredns_version=$(module_version coredns github.com/coredns/coredns)
	bin_dir="$(cache_root)/kubernetes-${k8s_version}_etcd-${etcd_version}_coredns-${coredns_version}/bin"
}

ldflags_for() {
	case $1 in
	kubernetes) k8s_ldflags "$k8s_version" ;;
	*) printf '' ;;
	esac
}

# stamp NAME DIR PKG prints every input that decides the content of a binary.
stamp() {
	local name=$1 dir=$2 pkg=$3
	printf 'binary %s\npackage %s\n' "$name" "$pkg"
	printf 'versions kubernetes=%s etcd=%s coredns=%s\n' "$k8s_version" "$etcd_version" "$coredns_version"
	printf 'ldflags %s\n' "$(ldflags_for "$dir")"
	printf 'flags -trimpath CGO_ENABLED=0\n'
	printf 'go %s\n' "$go_platform"
	printf 'go.sum %s\n' "$(sha256sum "$tools/$dir/go.sum" | cut -d' ' -f1)"
}

up_to_date() {
	local bin=$1 stamp=$2 want=$3
	[[ -x $bin && -f $stamp ]] && [[ $(<"$stamp") == "$want" ]]
}

# build_one NAME DIR PKG builds one binary unless its stamp is current.
build_one() {
	local name=$1 dir=$2 pkg=$3 want start
	local bin="$bin_dir/$name" stamp_file="$bin_dir/.$name.stamp"
	want=$(stamp "$name" "$dir" "$pkg")
	if up_to_date "$bin" "$stamp_file" "$want"; then
		log "$name: up to date"
		return
	fi
	log "$name: building $pkg"
	start=$(date +%s)
	tmp_file="$bin_dir/.$name.tmp.$$"
	gocmd "$dir" nice -n 19 go build -trimpath -ldflags "$(ldflags_for "$dir")" -o "$tmp_file" "$pkg" &
	build_pid=$!
	wait "$build_pid" || die "$name: go build $pkg failed"
	build_pid=
	mv -f "$tmp_file" "$bin"
	tmp_file=
	printf '%s\n' "$want" >"$stamp_file"
	log "$name: built in $(($(date +%s) - start))s ($(du -h "$bin" | cut -f1))"
}

# lock serialises builds into the same cache directory.
lock() {
	exec 9>"$bin_dir/.lock"
	if ! flock -n 9; then
		log "waiting for another build into $bin_dir"
		flock 9
	fi
}

target_for() {
	local t
	for t in "${targets[@]}"; do
		if [[ ${t%%|*} == "$1" ]]; then
			printf '%s' "$t"
			return
		fi
	done
	die "unknown binary \"$1\"; known: ${targets[*]%%|*}"
}

# parse_args sets print_dir and names from the command line.
parse_args() {
	print_dir=false
	names=()
	local arg
	for arg in "$@"; do
		case $arg in
		--print-dir) print_dir=true ;;
		-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
		-*) die "unknown flag \"$arg\"; see --help" ;;
		*)
			target_for "$arg" >/dev/null
			names+=("$arg")
			;;
		esac
	done
	((${#names[@]})) || names=("${targets[@]%%|*}")
}

# each_target FN NAME... calls FN NAME DIR PKG for every named binary.
each_target() {
	local fn=$1 name t rest
	shift
	for name in "$@"; do
		t=$(target_for "$name")
		rest=${t#*|}
		"$fn" "$name" "${rest%%|*}" "${rest#*|}" || return
	done
}

# is_current NAME DIR PKG succeeds when the cached binary matches its inputs.
is_current() {
	up_to_date "$bin_dir/$1" "$bin_dir/.$1.stamp" "$(stamp "$@")"
}

# tmp_file is the binary being written, removed if the run stops early;
# build_pid is the go build writing it, stopped along with this script.
tmp_file=
build_pid=
stop() {
	if [[ -n $build_pid ]]; then
		kill "$build_pid" 2>/dev/null || true
		wait "$build_pid" 2>/dev/null || true
	fi
	exit "$1"
}
trap 'rm -f "${tmp_file:-}"' EXIT
trap 'stop 130' INT
trap 'stop 143' TERM

main() {
	parse_args "$@"
	command -v go >/dev/null || die "go is not on PATH"
	load_versions
	if $print_dir; then
		printf '%s\n' "$bin_dir"
		return
	fi
	go_platform=$(go env GOVERSION GOOS GOARCH | tr '\n' ' ')
	# Binaries that are already current need no lock, so a reader never
	# waits for another run that builds something else.
	if ! each_target is_current "${names[@]}"; then
		mkdir -p "$bin_dir"
		lock
		local start
		start=$(date +%s)
		each_target build_one "${names[@]}"
		log "done in $(($(date +%s) - start))s"
	else
		log "up to date: ${names[*]}"
	fi
	printf '%s\n' "$bin_dir"
}

main "$@"
exit
