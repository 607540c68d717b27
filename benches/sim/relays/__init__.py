"""Virtual relay boards: `board.py` serves one on its port, `parsers.py` reads its bytes."""
