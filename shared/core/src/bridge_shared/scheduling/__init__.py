"""Time and periodic work: an injectable clock, and jobs that run on one instance at a time."""
