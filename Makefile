PYTHON ?= python3

# `pip install -e` runs once per interpreter, and again when the build inputs change: its stamp
# build/installed-<id of the interpreter's prefix> is removed when the package is not installed.
PREFIX_ID := $(shell $(PYTHON) -c 'import sys, zlib; print("%08x" % zlib.crc32(sys.prefix.encode()))')
STAMP := build/installed-$(PREFIX_ID)
ifneq ($(shell $(PYTHON) -I -c 'import importlib.metadata as m; m.version("disco")' 2>/dev/null && echo yes),yes)
$(shell rm -f $(STAMP))
endif

.PHONY: install test bench wordcount clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard src/*.pyx src/*.pxd)
	$(PYTHON) -m pip install -q -e '.[test]'
	@mkdir -p build && touch $@

test: install
	$(PYTHON) -m pytest -q tests

wordcount: install
	$(PYTHON) examples/wordcount.py

bench: install
	$(PYTHON) benchmarks/report.py

clean:
	rm -rf build *.egg-info disco/*.so src/*.c .pytest_cache .benchmarks
