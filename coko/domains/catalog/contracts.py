"""Frozen data the catalog domain shares: facade results and event payloads.

No Django imports here: contracts must be importable by an extracted service.
"""
