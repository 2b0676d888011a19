"""Summarise py-spy's collapsed stacks (`--format raw`): where the server's CPU goes.

    uv run python bench/pyspy_summary.py var/bench/profiles/symbiose-anonymous.txt

Prints the functions with the most samples on top of the stack (self) and the frames from the
application and its libraries with the most samples anywhere in the stack (inclusive).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::\d+)?\)$")
_SITE = re.compile(r".*/(site-packages|lib/python3\.\d+)/")


def _name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    file = _SITE.sub("", match["file"])
    file = re.sub(r".*/wt-[^/]+/", "", file)
    return f"{match['func']} ({file})"


def summarise(path: Path, top: int = 18) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_name(f) for f in stack.split(";") if f.strip()]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if total == 0:
        return "  (no samples)"
    lines = [f"  {total} samples while running", "  self (top of stack):"]
    lines += [f"    {n / total * 100:5.1f} %  {name}" for name, n in own.most_common(top)]
    lines.append("  inclusive (anywhere in the stack), below 97 %:")
    shown = [(name, n) for name, n in inclusive.most_common() if n / total < 0.97]
    lines += [f"    {n / total * 100:5.1f} %  {name}" for name, n in shown[: top * 2]]
    return "\n".join(lines)


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(argument)
        print(summarise(Path(argument)))
