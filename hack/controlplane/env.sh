#!/usr/bin/env bash
# Sets KUBEBUILDER_ASSETS to the cached control-plane bin directory, building
# the binaries envtest runs (etcd, kube-apiserver, kubectl) first if they are
# missing or stale. Everything else build.sh makes lands in the same directory.
#
#   . hack/controlplane/env.sh              # bash: exports KUBEBUILDER_ASSETS
#   eval "$(hack/controlplane/env.sh)"      # any shell: prints the export line
#
# Sourcing leaves the calling shell's options untouched and returns non-zero
# when the build fails.

_roundabout_controlplane() {
	local here assets
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || return
	assets=$("$here/build.sh" etcd kube-apiserver kubectl) || return
	printf '%s' "${assets##*$'\n'}"
}

# Exported only when the build succeeds, so a failure keeps any earlier value.
_roundabout_export_assets() {
	local assets
	assets=$(_roundabout_controlplane) || return
	export KUBEBUILDER_ASSETS="$assets"
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
	_roundabout_export_assets
else
	set -euo pipefail
	assets=$(_roundabout_controlplane)
	printf 'export KUBEBUILDER_ASSETS=%q\n' "$assets"
fi
