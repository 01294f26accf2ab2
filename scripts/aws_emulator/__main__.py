"""`python -m aws_emulator --port PUBLIC --upstream 127.0.0.1:MOTO ...` (with scripts/ on
PYTHONPATH): see server.py."""

from .server import main

main()
