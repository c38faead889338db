# The provisioning portal. `make run` builds and starts it; `make test` runs every test.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Race detection needs cgo; the binaries themselves never do.
TESTFLAGS ?= -race -count=1 -timeout 20m

.PHONY: all build run test lint clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/portal ./cmd/portal

run: build
	./bin/portal serve

test:
	CGO_ENABLED=1 $(GO) test $(TESTFLAGS) ./...

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@2025.1.1 ./...

clean:
	rm -rf bin
