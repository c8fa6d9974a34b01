"""Development tools: the dev runner, embedded servers, benchmarks, test helpers and provider
simulators. Nothing here runs in production and the image leaves it out (.dockerignore); no
production module imports it (importlinter.ini), only the domains' test factories
(``coko/domains/<d>/testing.py``), which are test code and also left out of the image.
"""
