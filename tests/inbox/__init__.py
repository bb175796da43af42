"""Tests of the staff inbox (issue 5)."""
