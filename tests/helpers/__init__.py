"""What the tests share besides fixtures: fixture files, file and library makers, a PostgreSQL
server, the main window's test steps. Fixtures themselves live in tests/conftest.py."""
