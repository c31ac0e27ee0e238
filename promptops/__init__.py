"""promptops: eval and release tool for LLM prompts."""

__version__ = "0.1.0"
