"""Messages, deliveries, preferences, device tokens (Notification Service).

Other domains import only `notifications.api` (functions) and `notifications.contracts` (frozen data).
"""
