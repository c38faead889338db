# The provisioning portal. `make run` builds and starts it; `make test` runs every test.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Race detection needs cgo; the binaries themselves never do.
TESTFLAGS ?= -race -count=1 -timeout 20m

PLATFORMS := linux-amd64 linux-arm64 windows-amd64 windows-arm64 darwin-amd64 darwin-arm64 android-arm64
HOST      := $(shell $(GO) env GOOS)-$(shell $(GO) env GOARCH)$(shell $(GO) env GOEXE)

.PHONY: all build bootloaders run test lint clean

all: build bootloaders

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/portal ./cmd/portal
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/bootloader ./cmd/bootloader
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/relay ./cmd/relay
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/provctl ./cmd/provctl
	@# This machine's bootloader as the portal serves it, so downloads and
	@# migration packages for it are current after every build.
	@mkdir -p bin/bootloaders
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '-s -w -buildid= -X main.version=$(VERSION)' \
		-o bin/bootloaders/bootloader-$(HOST) ./cmd/bootloader

# Static, stripped and reproducible: no cgo, no build paths, no build ID.
bootloaders:
	@mkdir -p bin/bootloaders
	@for p in $(PLATFORMS); do \
		os=$${p%-*}; arch=$${p#*-}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "bootloader $$p"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=false \
			-ldflags '-s -w -buildid= -X main.version=$(VERSION)' \
			-o bin/bootloaders/bootloader-$$p$$ext ./cmd/bootloader || exit 1; \
	done
	@# Android gets an APK around its bootloader, left unsigned: the portal signs it.
	@if command -v smali >/dev/null && command -v aapt >/dev/null && command -v zipalign >/dev/null && \
		[ -f /usr/share/android-framework-res/framework-res.apk ]; then \
		echo "bootloader android-arm64 APK"; \
		bootloader/android/build.sh bin/bootloaders/bootloader-android-arm64 \
			bin/bootloaders/bootloader-android-arm64.apk $(VERSION) || exit 1; \
	else \
		echo "bootloader android-arm64 APK: skipped, no Android tools (apt-get install aapt zipalign libsmali-java android-framework-res)"; \
	fi
	@rm -f bin/bootloaders/bootloader-android-arm64

run: build bootloaders
	./bin/portal serve

test:
	CGO_ENABLED=1 $(GO) test $(TESTFLAGS) ./...

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -rf bin
