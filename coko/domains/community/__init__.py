"""Forums, topics, posts, clubs, reviews, events, follows (Community Service).

Other domains import only `community.api` (functions) and `community.contracts` (frozen data).
"""
