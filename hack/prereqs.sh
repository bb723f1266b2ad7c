#!/usr/bin/env bash
# Checks, before anything is built, that this machine has what a target
# needs. As root it installs what is missing from Debian; otherwise it prints
# the one command to run and fails.
#
# Usage: hack/prereqs.sh TARGET...
#   test   go, a C compiler for the race detector, ip, unshare, nsenter,
#          iptables (network namespaces; kube-proxy's rules)
#   demo   go, ip, unshare, nsenter, iptables
#   ci     test's list, and protoc for proto-check
#
# ip and iptables live in /usr/sbin, which an ordinary user's PATH often
# lacks; the Makefile appends it, and so does this script.
set -euo pipefail

PATH="$PATH:/usr/sbin:/sbin"

# command:Debian package, per target.
readonly namespaces=(ip:iproute2 unshare:util-linux nsenter:util-linux iptables:iptables)
needs() {
	case $1 in
	test) printf '%s\n' gcc:gcc "${namespaces[@]}" ;;
	demo) printf '%s\n' "${namespaces[@]}" ;;
	ci) printf '%s\n' gcc:gcc protoc:protobuf-compiler "${namespaces[@]}" ;;
	*)
		echo "prereqs: unknown target $1 (want test, demo or ci)" >&2
		exit 2
		;;
	esac
}

# The Go toolchain comes from go.dev, not Debian: go.mod's go line says
# which release; a newer one is fetched by the go command itself.
if ! command -v go >/dev/null; then
	echo "prereqs: go not found in PATH: install Go $(sed -n 's/^go //p' "$(dirname "$0")/../go.mod") or later from https://go.dev/dl/" >&2
	exit 1
fi

if (($# == 0)); then
	echo "usage: hack/prereqs.sh TARGET... (test, demo or ci)" >&2
	exit 2
fi
for target in "$@"; do
	needs "$target" >/dev/null
done

missing=()
for target in "$@"; do
	while IFS= read -r need; do
		cmd=${need%%:*} pkg=${need#*:}
		if ! command -v "$cmd" >/dev/null && [[ " ${missing[*]} " != *" $pkg "* ]]; then
			missing+=("$pkg")
		fi
	done < <(needs "$target")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "prereqs: missing Debian packages: ${missing[*]}" >&2
	echo "prereqs: install them with: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "prereqs: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q "${missing[@]}" >&2
