# Roundabout build, test and check targets. `make test` is the one test
# command; .ci/run runs `make lint proto-check build`, then `make test` and
# `make conformance`.

GO ?= go
BIN := bin

# ip and iptables live in /usr/sbin, which an ordinary user's PATH often lacks.
export PATH := $(PATH):/usr/sbin:/sbin

.PHONY: build test demo proto proto-check lint bench conformance images controlplane fleet

# Binaries are built as the images build them: static, without cgo.
BUILD := CGO_ENABLED=0 $(GO) build -trimpath

## build: every binary into bin/
build:
	$(BUILD) -o $(BIN)/ ./greet/cmd/...
	$(BUILD) -o $(BIN)/roundabout-agent ./agent
	$(BUILD) -o $(BIN)/roundabout-webhook ./webhook

## demo: the whole story on a local Kubernetes control plane, in a private
## namespace: the problem, the fix, scale-up, rolling restart, live strategy
## swap (see README). DEMO_ARGS=--keep leaves it running until Ctrl-C.
## Prerequisites are checked (and, as root, installed) before anything is built.
demo:
	hack/prereqs.sh demo
	$(MAKE) build controlplane
	$(GO) run ./cmd/roundabout-demo --bin=$(abspath $(BIN)) --assets="$$(hack/controlplane/build.sh --print-dir)" $(DEMO_ARGS)

## test: every test of the module, with the race detector, against a real
## etcd and kube-apiserver (built once from the Go module proxy, then cached);
## prerequisites are checked (and, as root, installed) first
test:
	hack/prereqs.sh test
	eval "$$(hack/controlplane/env.sh)" && $(GO) test -race -count=1 -timeout 30m ./...

## proto: regenerate the Go code under proto/
proto:
	hack/proto.sh

## proto-check: fail when the generated code under proto/ is not what the .proto files produce
proto-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	mkdir -p "$$tmp/hack" && cp go.mod go.sum "$$tmp/" && cp hack/proto.sh "$$tmp/hack/" && cp -R proto "$$tmp/" && \
	"$$tmp/hack/proto.sh" && \
	if ! diff -r proto "$$tmp/proto"; then \
		echo "proto-check: proto/ differs from the code the .proto files generate; run 'make proto' and commit the result" >&2; \
		exit 1; \
	fi && echo "proto-check: proto/ is up to date"

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt must have nothing to change, and go vet and staticcheck nothing to report
lint:
	@unformatted=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')) && \
	if [ -n "$$unformatted" ]; then echo "lint: gofmt would change:" >&2; echo "$$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: one table of rps, p50, p99 and RSS: direct, the agent, haproxy and nginx (see hack/bench/README.md)
bench: build
	BENCH_BIN_DIR=$(abspath $(BIN)) hack/bench/bench.sh

## conformance: h2spec against the agent and a greet-server; fails on a case
## that fails against the agent only (see hack/conformance/README.md)
conformance: build
	CONFORMANCE_BIN_DIR=$(abspath $(BIN)) hack/conformance/conformance.sh

## controlplane: etcd, kube-apiserver, kube-controller-manager, kube-proxy, kubectl and coredns into the cache (see hack/controlplane/README.md)
controlplane:
	hack/controlplane/build.sh

IMAGE_REPO ?= ghcr.io/roundabout-dev
IMAGE_TAG ?= dev

## images: the agent, webhook and greet images, built only where a Docker engine answers
images:
	@if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then \
		echo "images: no Docker engine is reachable here (docker info failed); nothing built" >&2; \
	else \
		docker build -f Dockerfile.agent -t $(IMAGE_REPO)/roundabout-agent:$(IMAGE_TAG) . && \
		docker build -f Dockerfile.webhook -t $(IMAGE_REPO)/roundabout-webhook:$(IMAGE_TAG) . && \
		docker build -f greet/Dockerfile --build-arg CMD=greet-server -t $(IMAGE_REPO)/greet-server:$(IMAGE_TAG) . && \
		docker build -f greet/Dockerfile --build-arg CMD=greet-gateway -t $(IMAGE_REPO)/greet-gateway:$(IMAGE_TAG) . ; \
	fi

## fleet: what big Services cost one agent, with greet-servers on loopback
## 127.0.2.0 and up: 1,000 live endpoints (RSS, goroutines), ten agents
## with --subset-id over 100 servers (connections from the sockets), 1,000
## refusing endpoints (idle CPU); FLEET_ARGS passes flags to hack/fleet
fleet: build
	$(GO) run ./hack/fleet --bin=$(abspath $(BIN)) $(FLEET_ARGS)

## fanout: N agents' EndpointSlice discovery against one local kube-apiserver, at N=100 and N=1000:
## propagation p50/p99 of an endpoint added, the API server's RSS and CPU per watcher (hack/fanout)
.PHONY: fanout
fanout: controlplane
	eval "$$(hack/controlplane/env.sh)" && $(GO) run ./hack/fanout -n 100 && $(GO) run ./hack/fanout -n 1000
