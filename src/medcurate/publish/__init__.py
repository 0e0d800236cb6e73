"""Publishing: seed-format Markdown for Hugo, medcurate's own static site, feeds and search."""
