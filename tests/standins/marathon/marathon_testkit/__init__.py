"""Test helpers for the Marathon stand-in (not copied into the image)."""
