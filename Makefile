# Offsite's entry points. `make test` is what CI runs (.ci/run).

PYTHON ?= python3
CARGO  ?= cargo
VENV   := .venv
PORT   ?= 5000
# Extra launcher flags for `make emulator`, e.g. EMULATOR_ARGS="--copy-delay 30 --verbose".
EMULATOR_ARGS ?=

VENV_STAMP := $(VENV)/.installed

.PHONY: venv db-servers emulator demo test ci-soak bench mutants package lint lint-infra fmt clean

# The emulator (moto, pinned) in a project virtualenv; reinstalled when the pins change.
$(VENV_STAMP): tests/emulator/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check --quiet --no-input -r tests/emulator/requirements.txt
	touch $@

venv: $(VENV_STAMP)

# The real database servers the emulator runs behind restored databases for the restore
# tests' data checks (Debian's postgresql-15 and mariadb-server, pinned; apt, as root),
# installed only when missing.
db-servers:
	bash tests/emulator/install-db-servers.sh

# The emulator in the foreground on 127.0.0.1:$(PORT), for manual use. Stop it with Ctrl-C.
emulator: venv
	$(VENV)/bin/python tests/emulator/offsite_emulator.py --host 127.0.0.1 --port $(PORT) $(EMULATOR_ARGS)

# The demo: the whole pipeline on the local emulator, as AWS would run it, with a report.
demo: venv
	$(CARGO) build --workspace --bins --locked
	./target/debug/offsite-demo

# Every unit and integration test; each integration test starts and stops its own emulator.
# The Lambda binaries are built first: the deployed-shape test runs them as Lambda would.
# The reliability runs (chaos, hostile) leave their one-line summaries in target/reliability/.
# The restore tests' data checks run against real PostgreSQL and MariaDB servers (db-servers).
test: venv db-servers
	rm -rf target/reliability
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test --workspace --locked
	@cat target/reliability/*.txt

# CI under load: `.ci/run` on a fresh clone of HEAD while busy loops keep every core busy,
# SOAK_RUNS times (default 3); verdicts and durations in target/soak/results.txt.
# SOAK_SHARED_TARGET=1 keeps the first run's build cache for the next runs.
ci-soak:
	bash tests/ci_soak.sh

# Benchmarks against the emulator, built in the release profile (the one `make package` ships:
# thin LTO, one codegen unit); the binaries and the benchmarks share target/release, so the
# build is paid once (about 45 minutes cold on two cores); the run takes over an hour, most of
# it the naive baselines. Each figure says its profile.
# BENCH_PROFILE=dev measures the debug build instead (quick, not what Lambda runs). Results in
# target/bench/; tune with OFFSITE_BENCH_COPIES, OFFSITE_BENCH_DUE, OFFSITE_BENCH_TABLES,
# OFFSITE_BENCH_NOTICES, OFFSITE_BENCH_LATENCY_MS.
BENCH_PROFILE ?= release
bench: venv
	$(CARGO) build --workspace --bins --locked --profile $(BENCH_PROFILE)
	$(CARGO) bench --locked --profile $(BENCH_PROFILE) -p offsite-tests
	$(VENV)/bin/python tests/bench_report.py

# Mutation testing of the pure decision modules with cargo-mutants (pinned, installed into
# target/tools): each mutant is built and the module's unit tests run; a mutant no test
# catches is "missed". Slow on two cores (about 40 minutes), so not part of CI; results in
# target/mutants/mutants.out (missed.txt, caught.txt, outcomes.json).
MUTANTS_VERSION := 25.3.1
MUTANTS_FILES := importer/src/verify.rs common/src/notice.rs common/src/identifier.rs \
	importer/src/register.rs importer/src/retention.rs scanner/src/decide.rs exporter/src/plan.rs dynamo/src/plan.rs
mutants:
	$(CARGO) install cargo-mutants --version $(MUTANTS_VERSION) --locked --root target/tools
	PATH="$(CURDIR)/target/tools/bin:$$PATH" $(CARGO) mutants --no-shuffle -j 1 --timeout 180 \
		--output target/mutants $(addprefix --file ,$(MUTANTS_FILES)) -- --lib

# Lambda packages: every function binary built for provided.al2023 with cargo-lambda
# (pinned, installed into its own virtualenv), zipped as target/lambda/<binary>/bootstrap.zip,
# then copied to target/package/<binary>.zip: upload those under the stacks' CodePrefix.
# ARCH=arm64 (the templates' default; needs `rustup target add aarch64-unknown-linux-gnu`,
# cargo-lambda cross-links with zig, installed alongside) or ARCH=x86_64 (a native build on an
# x86_64 Linux machine; deploy with Architecture=x86_64).
ARCH ?= arm64
LAMBDA_VENV := .venv-lambda
LAMBDA_BINARIES := offsite-exporter offsite-scanner offsite-dynamo-export offsite-importer offsite-reconciler offsite-retention offsite-rds-export offsite-restore-test

$(LAMBDA_VENV)/.installed:
	$(PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/pip install --disable-pip-version-check --quiet --no-input cargo-lambda==1.9.2 ziglang==0.13.0.post1
	touch $@

package: $(LAMBDA_VENV)/.installed
	PATH="$(CURDIR)/$(LAMBDA_VENV)/bin:$$PATH" $(LAMBDA_VENV)/bin/cargo-lambda lambda build --release --locked \
		$(if $(filter arm64,$(ARCH)),--arm64,--x86-64 --compiler cargo) --output-format zip \
		$(foreach b,$(LAMBDA_BINARIES),--bin $(b))
	mkdir -p target/package
	$(foreach b,$(LAMBDA_BINARIES),cp target/lambda/$(b)/bootstrap.zip target/package/$(b).zip &&) true
	@echo "Upload to s3://<CodeBucket>/<CodePrefix> and deploy with Architecture=$(ARCH):"
	@ls -l target/package/*.zip

# The templates: cfn-lint (pinned in .venv), checkov (pinned with its dependencies in its
# own virtualenv: its pins would fight moto's) and the IAM lint, parliament over every policy
# document of the templates (infra/iam_lint.py, parliament pinned in its own virtualenv). Every
# checkov skip and every IAM finding let through is justified in the resource's Metadata; the
# invariants are `cargo test -p offsite-infra`.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: infra/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --disable-pip-version-check --quiet --no-input -r infra/checkov-requirements.txt
	touch $@

# git-ignored by the '*' .gitignore it carries.
IAMLINT_VENV := .venv-iamlint
$(IAMLINT_VENV)/.installed: infra/iam-lint-requirements.txt
	$(PYTHON) -m venv $(IAMLINT_VENV)
	echo '*' > $(IAMLINT_VENV)/.gitignore
	$(IAMLINT_VENV)/bin/pip install --disable-pip-version-check --quiet --no-input -r infra/iam-lint-requirements.txt
	touch $@

lint-infra: venv $(CHECKOV_VENV)/.installed $(IAMLINT_VENV)/.installed
	$(VENV)/bin/cfn-lint infra/workload.yaml infra/vault.yaml infra/auditor.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		-f infra/workload.yaml -f infra/vault.yaml -f infra/auditor.yaml
	$(IAMLINT_VENV)/bin/python infra/iam_lint.py

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf $(VENV) $(LAMBDA_VENV) $(CHECKOV_VENV) $(IAMLINT_VENV) target
