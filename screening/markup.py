"""Markdown-lite: the small text format of questions.yaml's longer texts.

Paragraphs, `- ` lists, `## ` headings, `**bold**` and links `[text](tel:999)` (to
`tel:`, `mailto:` and `https:` addresses only, so a phone number can be tapped);
everything else, HTML included, is shown exactly as typed.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

BOLD = re.compile(r"\*\*(.+?)\*\*")
LINK = re.compile(r"\[([^\]]+)\]\(((?:tel:|mailto:|https://)[^)\s\"<>]+)\)")


def _inline(text: str) -> str:
    """Escape a line, then turn **bold** into <strong> and [text](tel:...) into links."""
    html = BOLD.sub(r"<strong>\1</strong>", str(escape(text)))
    return LINK.sub(r'<a href="\2">\1</a>', html)


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """Split text into ('h2' | 'p' | 'ul', lines) blocks."""
    blocks: list[tuple[str, list[str]]] = []
    for raw in text.strip().splitlines():
        line = raw.strip()
        last = blocks[-1] if blocks else None
        if not line:
            blocks.append(("gap", []))
        elif line.startswith("## "):
            blocks.append(("h2", [line[3:]]))
        elif line.startswith("- "):
            if last and last[0] == "ul":
                last[1].append(line[2:])
            else:
                blocks.append(("ul", [line[2:]]))
        elif last and last[0] == "ul":
            last[1][-1] += " " + line  # a list item wrapped onto the next line
        elif last and last[0] == "p":
            last[1].append(line)
        else:
            blocks.append(("p", [line]))
    return [block for block in blocks if block[0] != "gap"]


def markdown_lite(text: str | None) -> Markup:
    """Render markdown-lite text as safe HTML."""
    html = []
    for kind, lines in _blocks(text or ""):
        if kind == "ul":
            html.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in lines) + "</ul>")
        else:
            html.append(f"<{kind}>{_inline(' '.join(lines))}</{kind}>")
    # Every piece of text above went through escape() first.
    return Markup("\n".join(html))  # noqa: S704
