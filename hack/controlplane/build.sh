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

# Tools modules are built on their own, with a read-only module graph and
# without cgo, the way upstream builds its release binaries.
gocmd() {
	local dir=$1
	shift
	(cd "$tools/$dir" && GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly" CGO_ENABLED=0 "$@")
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
	printf 'go %s\n' "$(go env GOVERSION GOOS GOARCH | tr '\n' ' ')"
	printf 'go.sum %s\n' "$(sha256sum "$tools/$dir/go.sum" | cut -d' ' -f1)"
}

up_to_date() {
	local bin=$1 stamp=$2 want=$3
	[[ -x $bin && -f $stamp ]] && [[ $(<"$stamp") == "$want" ]]
}

# build_one NAME DIR PKG builds one binary unless its stamp is current.
build_one() {
	local name=$1 dir=$2 pkg=$3 want start tmp
	local bin="$bin_dir/$name" stamp_file="$bin_dir/.$name.stamp"
	want=$(stamp "$name" "$dir" "$pkg")
	if up_to_date "$bin" "$stamp_file" "$want"; then
		log "$name: up to date"
		return
	fi
	log "$name: building $pkg"
	start=$(date +%s)
	tmp="$bin_dir/.$name.tmp.$$"
	trap 'rm -f "$tmp"' EXIT
	gocmd "$dir" nice -n 19 go build -trimpath -ldflags "$(ldflags_for "$dir")" -o "$tmp" "$pkg" ||
		die "$name: go build $pkg failed"
	mv -f "$tmp" "$bin"
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

main() {
	local print_dir=false names=() t dir pkg
	for arg in "$@"; do
		case $arg in
		--print-dir) print_dir=true ;;
		-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
		-*) die "unknown flag \"$arg\"; see --help" ;;
		*) names+=("$arg") ;;
		esac
	done
	command -v go >/dev/null || die "go is not on PATH"
	load_versions
	if $print_dir; then
		printf '%s\n' "$bin_dir"
		return
	fi
	((${#names[@]})) || names=("${targets[@]%%|*}")
	for name in "${names[@]}"; do target_for "$name" >/dev/null; done
	mkdir -p "$bin_dir"
	lock
	local total_start
	total_start=$(date +%s)
	for name in "${names[@]}"; do
		t=$(target_for "$name")
		dir=${t#*|}
		pkg=${dir#*|}
		build_one "$name" "${dir%%|*}" "$pkg"
	done
	log "done in $(($(date +%s) - total_start))s"
	printf '%s\n' "$bin_dir"
}

main "$@"
exit
