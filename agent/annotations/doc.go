// Package annotations follows the pod's annotations while the agent runs.
//
// The kubelet writes the pod's annotations to a downward-API file; WatchLive
// watches that file and reports the settings a running pod may change, the
// strategy, the hash header and the subset size, whenever they change. The annotation names,
// their allowed values and their defaults are the contract in
// github.com/roundabout-dev/roundabout/api/annotations, shared with the
// webhook; this package defines none of them.
package annotations
