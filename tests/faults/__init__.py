"""Fault-injection helpers: private servers that can be stopped, real Celery processes."""
