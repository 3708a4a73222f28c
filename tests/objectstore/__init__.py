"""Blobs in an S3-compatible object store: a real SeaweedFS (tests/seaweed.py)."""
