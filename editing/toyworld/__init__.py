"""The embedded default: a small world, its corpus, a tiny GPT-2 trained on it, its probe suites and demo feedback.

Its references (`toyworld`, `toyworld:NAME`) reach the rest of nudge through the reference
table (editing.toyworld.references); the model side never imports it.
"""
