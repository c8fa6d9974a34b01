"""Metrics, moderation queue, staff views (the brief's Admin Service).

Other domains import only `analytics.api` (functions) and `analytics.contracts` (frozen data).
"""
