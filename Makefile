# authflight: `make demo` runs the demo, `make test` runs every test. Both install what is missing first.
SHELL := /bin/bash

.PHONY: setup pkg test demo bench size doc

setup:        ## install the toolchain, browsers and venv (idempotent)
	@scripts/setup.sh

pkg: setup    ## build the release npm package into pkg/ and print its size
	@scripts/build-pkg.sh

test:         ## every test: lint, native core, browser (wasm-pack), end-to-end (playwright)
	@scripts/test.sh

demo:         ## build the package and the React demo, serve it with Django on 127.0.0.1:8000
	@scripts/demo.sh

bench:        ## benchmarks against raw fetch, the Axios recipe and axios-auth-refresh
	@scripts/bench.sh

size: pkg     ## print the shipped size of pkg/

doc:          ## the Rust API reference (target/doc)
	cargo doc --no-deps --target wasm32-unknown-unknown
