"""Read models: what the operations view and tools show, queried straight from the stores.

The query side of the package (cosmicpython's `views`): answers are shaped for a screen, read
without loading the domain's aggregates, and change nothing. Commands go through `services`.
"""
