#!/usr/bin/env python3
"""Replaces the command reference block of MANUAL.md with scripts/command-reference.sh output."""
import subprocess, sys
binary = sys.argv[1]
begin, end = "<!-- BEGIN COMMAND REFERENCE (make manual) -->", "<!-- END COMMAND REFERENCE -->"
reference = subprocess.run(["bash", "scripts/command-reference.sh", binary], check=True, capture_output=True, text=True).stdout
text = open("MANUAL.md").read()
start, stop = text.index(begin) + len(begin), text.index(end)
open("MANUAL.md", "w").write(text[:start] + "\n\n" + reference + text[stop:])
