"""Helpers every test package shares: waiting, ports, the SMTP sink, the Celery worker, threads
and the browser. Import them from here, never from another app's tests."""
