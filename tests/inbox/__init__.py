"""Tests of the staff inbox (README.md, "Staff inbox")."""
