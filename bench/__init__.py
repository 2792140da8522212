"""End-to-end benchmark of the order saga: `python -m bench` (or `make bench`)."""
