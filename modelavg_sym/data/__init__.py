"""Reading data: per-node summaries from files and in-memory tables (numpy and the
standard library only)."""
