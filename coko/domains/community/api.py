"""The community facade: the only functions other domains may call.

Arguments and results are plain values or the frozen types of ``community.contracts``;
models and querysets never cross this boundary.
"""
