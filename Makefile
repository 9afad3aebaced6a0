# Thin wrapper around tasks.py (which needs only Python 3.11+).
.PHONY: check test
check:
	python3 tasks.py check
test:
	python3 tasks.py test
