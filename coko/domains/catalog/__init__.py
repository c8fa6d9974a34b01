"""The book catalogue: books, authors, categories, publishers, editions, formats (Catalog Service).

Other domains import only `catalog.api` (functions) and `catalog.contracts` (frozen data).
"""
