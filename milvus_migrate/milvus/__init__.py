"""Talking to Milvus: connecting, reading state, executing plans, copying rows, history and the lock."""
