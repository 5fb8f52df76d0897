"""Text from a user or a file, made safe where Streamlit renders Markdown."""
from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escaped(text) -> str:
    """Text from a user or a file, made safe for anything Streamlit renders as Markdown
    (labels, captions): shown as typed, never as a link, image or formatting."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
