"""What the tests share besides fixtures: where the fixture files are, makers of image files and
libraries, exiftool and exiv2 as outside readers, a PostgreSQL server, the main window's test steps.
The fixtures themselves live in tests/conftest.py."""
