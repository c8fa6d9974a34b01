"""Reading progress, annotations, bookmarks, sessions, offline sync state (Reading Service).

Other domains import only `reading.api` (functions) and `reading.contracts` (frozen data).
"""
