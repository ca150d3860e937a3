.PHONY: run test lint fmt asyncapi bench bench-year
run:  ## the whole service on SQLite + a local broker, behind http://127.0.0.1:8000
	scripts/run.sh
test: ## every test: unit, integration (tansu, SQLite, PostgreSQL), end-to-end, ruff, mypy
	scripts/test.sh
lint:
	scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy
fmt:
	scripts/bootstrap.sh && .venv/bin/ruff format . && .venv/bin/ruff check --fix .
asyncapi: ## regenerate docs/asyncapi.yaml from the event models
	scripts/bootstrap.sh && .venv/bin/python -m devstack.asyncapi docs/asyncapi.yaml
bench: ## intake vs a bare FastAPI endpoint: req/s, p50/p99, stored rows (~2.5 min; not a test)
	scripts/bootstrap.sh && .venv/bin/python -m bench.intake
bench-year: ## a national year (210,000 synthetic episodes) through every process, vs same-run ceilings (not a test; hours on 2 cores)
	scripts/bootstrap.sh && .venv/bin/python -m bench.national_year $(YEAR_ARGS)
