"""Badges, achievements, challenges, points, leaderboards (Gamification Service).

Other domains import only `gamification.api` (functions) and `gamification.contracts` (frozen data).
"""
