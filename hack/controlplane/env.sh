#!/usr/bin/env bash
# Sets KUBEBUILDER_ASSETS to the cached control-plane bin directory, building
# every control-plane binary first if it is missing or stale: envtest runs
# etcd, kube-apiserver and kubectl from it, and the end-to-end scenario
# (test/e2e) the rest as well.
#
#   . hack/controlplane/env.sh              # bash: exports KUBEBUILDER_ASSETS
#   eval "$(hack/controlplane/env.sh)"      # any shell: prints the export line
#
# Sourcing leaves the calling shell's options untouched and returns non-zero
# when the build fails.

_roundabout_controlplane() {
	local here assets
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || return
	assets=$("$here/build.sh") || return
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
