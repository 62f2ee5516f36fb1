"""Upload function: analyses intake, reads, expert validation and validity."""
