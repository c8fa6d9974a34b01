"""Plans, subscriptions, transactions, invoices, ledger, entitlements (Payment Service).

Other domains import only `payments.api` (functions) and `payments.contracts` (frozen data).
"""
