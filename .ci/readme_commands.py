"""Print the README's set-up commands, one per line: every line of the fenced ``bash``
blocks in its "## Set up" section (used by .ci/run, and by the README's own test)."""

from __future__ import annotations

import re
import sys
from pathlib import Path


def setup_commands(readme: str) -> list[str]:
    """The commands of the fenced bash blocks between "## Set up" and the next "## "."""
    m = re.search(r"^## Set up\n(.*?)(?=^## )", readme, re.S | re.M)
    if m is None:
        raise SystemExit("error: README.md has no '## Set up' section")
    blocks = re.findall(r"^```bash\n(.*?)^```", m.group(1), re.S | re.M)
    return [line for b in blocks for line in b.splitlines() if line.strip()]


if __name__ == "__main__":
    for cmd in setup_commands(Path(sys.argv[1]).read_text(encoding="utf-8")):
        print(cmd)
