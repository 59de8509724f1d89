"""Developer tools of the repository (not part of the installed package): ``tools/screenshots.py``."""
