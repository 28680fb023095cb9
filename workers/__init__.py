"""Celery side of faasm-py: the app shared with the APIs, and the worker's tasks."""
