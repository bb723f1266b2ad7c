#!/usr/bin/env bash
# Regenerates the Go code under proto/ with Debian's protoc and the plugin
# versions pinned by the tool directives in go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
tools=bin/tools
mkdir -p "$tools"
go build -o "$tools/" google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc
module=$(go list -m)
find proto -name '*.proto' -print0 | while IFS= read -r -d '' f; do
  protoc -I proto \
    --plugin=protoc-gen-go="$tools/protoc-gen-go" --plugin=protoc-gen-go-grpc="$tools/protoc-gen-go-grpc" \
    --go_out=. --go_opt=module="$module" \
    --go-grpc_out=. --go-grpc_opt=module="$module" \
    "$f"
done
