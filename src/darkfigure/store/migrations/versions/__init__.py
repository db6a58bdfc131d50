"""Migration scripts (one file per revision; never edit a released one)."""
