PYTHON ?= python3

.PHONY: install test bench wordcount clean

install:
	$(PYTHON) -m pip install -q -e '.[test]'

test: install
	$(PYTHON) -m pytest -q tests

wordcount: install
	$(PYTHON) examples/wordcount.py

bench: install
	$(PYTHON) benchmarks/report.py

clean:
	rm -rf build *.egg-info disco/*.so src/*.c .pytest_cache .benchmarks
