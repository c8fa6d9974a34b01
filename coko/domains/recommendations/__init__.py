"""Interactions, models and precomputed recommendation lists (Recommendation Service).

Other domains import only `recommendations.api` (functions) and `recommendations.contracts` (frozen data).
"""
