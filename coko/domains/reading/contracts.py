"""Frozen data the reading domain shares: facade results and event payloads.

No Django imports here: contracts must be importable by an extracted service.
"""
