# pgarchive — see README.md. `make test` and `make demo` run as root for set-up only;
# PostgreSQL, pgarchive and the tests run as the postgres user.
PREFIX ?= /usr/local
SWIFT ?= /opt/swift/usr/bin/swift

.PHONY: all build test test-deb deb demo bench install manual clean

all: build

build:
	$(SWIFT) build

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

# pgarchive_<version>_<arch>.deb in the checkout (release build, man pages, lintian clean).
deb:
	bash scripts/deb.sh

# Builds, installs, exercises and purges the package (also the last step of `make test`).
test-deb:
	bash scripts/test-deb.sh

bench:
	bash bench/run.sh

install:
	$(SWIFT) build -c release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 "$$($(SWIFT) build -c release --show-bin-path)/pgarchive" $(DESTDIR)$(PREFIX)/bin/pgarchive

# Regenerates MANUAL.md's command reference from the binary's --help.
manual: build
	python3 scripts/update-manual.py .build/debug/pgarchive

clean:
	rm -rf .build pgarchive_*.deb
