"""Manuscripts, publication workflow, contracts, royalties (Publication Service).

Other domains import only `publishing.api` (functions) and `publishing.contracts` (frozen data).
"""
