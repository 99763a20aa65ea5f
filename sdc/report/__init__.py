"""Terminal, JSON and self-contained HTML renderings of reports."""
