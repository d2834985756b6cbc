"""A real Python Celery application used as october's peer in the integration tests.

`python3 -m celery -A celery_peer.app worker ...` (with tests/integration on PYTHONPATH) runs
the same task names october-worker registers, with plain Python bodies.
"""
