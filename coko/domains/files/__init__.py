"""Uploads, stored objects, covers and their derivatives (File Service).

Other domains import only `files.api` (functions) and `files.contracts` (frozen data).
"""
