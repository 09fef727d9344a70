"""Benchmark helpers for feedsvc: synthetic corpora and the scripts that time builds on them."""
