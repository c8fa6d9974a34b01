"""Development tools: the dev runner, embedded servers, benchmarks, test helpers and provider
simulators. Nothing here runs in production; no domain imports it (importlinter.ini).
"""
