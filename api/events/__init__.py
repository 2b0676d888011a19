"""The public event feed: every lifecycle step, numbered in commit order (see migration 0013)."""
