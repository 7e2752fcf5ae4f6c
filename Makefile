# One command for the checks CI also runs.
.PHONY: check lint types test
check: lint types test
lint:
	ruff check src schemas flows tests bench
types:
	mypy
test:
	python -m pytest -q
