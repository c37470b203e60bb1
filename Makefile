# The two commands a new machine needs: `make demo` (main job) and `make test` (the tests).
# Both set up what they use: machine packages (as root, from the distribution) and the venv.

VENV      := .venv
PY        := $(VENV)/bin/python
PYINFRA   := $(VENV)/bin/pyinfra
INVENTORY ?= inventory/sandbox.py

# Machine-side tools: nspawn hosts, their apt proxy, the image builder and registry, a local
# ZooKeeper for the stand-in contract tests, haproxy for `haproxy -c` in unit tests, ruby for
# `ruby -c Vagrantfile`, nft for the firewall's rules (checked and loaded in a namespace).
MACHINE_PACKAGES := systemd-container debootstrap tinyproxy-bin docker.io docker-registry \
                    zookeeper haproxy ruby gnupg apt-utils curl iproute2 nftables util-linux

.PHONY: all setup machine-tools venv lint unit standins e2e test demo down status check sources \
        bench

all: test

setup: machine-tools venv

machine-tools:
	@dpkg -s $(MACHINE_PACKAGES) >/dev/null 2>&1 || { \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(MACHINE_PACKAGES); }

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# Which Mesos/Marathon sources the sandbox serves (PYINFRA_MESOS_SOURCES: standins|upstream).
sources: venv
	$(PY) -m sandbox sources

lint: venv
	$(VENV)/bin/ruff check .

check: venv
	$(PY) -m pyinfra_mesos check $(INVENTORY)

unit: setup
	$(PY) -m pytest -q tests/unit

standins: setup
	$(PY) -m pytest -q tests/standins

e2e: setup
	$(PY) -m pytest -q -s tests/e2e

# The README's test command: lint, unit tests, stand-in contract tests, then the e2e tier.
test: setup sources lint unit standins e2e

# A benchmark, not a test (not part of `make test`): on fresh sandbox hosts, the deploy against
# what it must at least do (issue 13). Table on the terminal, JSON in build/bench.json; e.g.
# `make bench BENCH_ARGS="--hosts 5 --compare old.json"`. See `python -m sandbox.bench --help`.
BENCH_ARGS ?=
bench: setup
	$(PY) -m sandbox.bench $(BENCH_ARGS)

demo: setup
	$(PY) -m sandbox up $(INVENTORY)
	$(PY) -m pyinfra_mesos check $(INVENTORY)
	$(PYINFRA) -y $(INVENTORY) deploy.py
	$(PY) -m pytest -q tests/cluster --inventory $(INVENTORY)
	$(PY) -m sandbox status $(INVENTORY)

status: venv
	$(PY) -m sandbox status $(INVENTORY)

down: venv
	$(PY) -m sandbox down $(INVENTORY)
