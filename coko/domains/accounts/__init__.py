"""Identity: users, profiles, roles, permissions, social accounts, tokens, audit log (the brief's Auth Service).

Other domains import only `accounts.api` (functions) and `accounts.contracts` (frozen data).
"""
