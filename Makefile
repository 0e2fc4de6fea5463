# Offsite's entry points. `make test` is what CI runs (.ci/run).

PYTHON ?= python3
CARGO  ?= cargo
VENV   := .venv
PORT   ?= 5000
# Extra launcher flags for `make emulator`, e.g. EMULATOR_ARGS="--copy-delay 30 --verbose".
EMULATOR_ARGS ?=

VENV_STAMP := $(VENV)/.installed

.PHONY: venv emulator test bench lint fmt clean

# The emulator (moto, pinned) in a project virtualenv; reinstalled when the pins change.
$(VENV_STAMP): tests/emulator/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check --quiet --no-input -r tests/emulator/requirements.txt
	touch $@

venv: $(VENV_STAMP)

# The emulator in the foreground on 127.0.0.1:$(PORT), for manual use. Stop it with Ctrl-C.
emulator: venv
	$(VENV)/bin/python tests/emulator/offsite_emulator.py --host 127.0.0.1 --port $(PORT) $(EMULATOR_ARGS)

# Every unit and integration test; each integration test starts and stops its own emulator.
test: venv
	$(CARGO) test --workspace --locked

# Benchmarks against the emulator (debug build, like the tests); results in target/bench/.
# Tune with OFFSITE_BENCH_COPIES, OFFSITE_BENCH_DUE, OFFSITE_BENCH_LATENCY_MS.
bench: venv
	$(CARGO) bench --locked --profile dev -p offsite-tests

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf $(VENV) target
