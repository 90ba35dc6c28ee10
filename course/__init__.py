"""Instructor tooling for the course: ``python -m course --help``."""
