"""Showdown pipeline: trustworthy, segmentable LLM leaderboards from blind side-by-side votes."""

__version__ = "0.1.0"
