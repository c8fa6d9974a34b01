"""The accounts facade: the only functions other domains may call.

Arguments and results are plain values or the frozen types of ``accounts.contracts``;
models and querysets never cross this boundary.
"""
