"""Instructor tooling for the course: ``python -m course --help``.
Imports the standard library only.
"""
