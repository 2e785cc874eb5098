"""capacity: plan the compute of a large-language-model training run.

The public API is re-exported here lazily, so that `import capacity` stays cheap.
"""

__version__ = "0.1.0"
