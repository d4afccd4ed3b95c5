"""Realistic sample content, as committees would type it, for demos, samples and tests."""
