"""Scheduled and operator-run work: the retention job (`retention.py`) and the rebuild's command line
(`rebuild.py`)."""
