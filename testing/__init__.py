"""Test support: API clients, a real Celery worker, generated media, HLS readers, a browser.

Imported by the test suites only; it sits outside the apps and is left out of the production
image (.dockerignore), like the tests themselves."""
