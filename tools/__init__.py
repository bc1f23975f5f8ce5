"""Developer tools behind scripts/: transcribe, check_repository, screenshots, brand."""
