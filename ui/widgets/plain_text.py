"""A document's text exactly as the file held it.

``QTextDocument.setPlainText``/``toPlainText`` change text silently: the
no-break space U+00A0 comes back as a space, the line and paragraph
separators U+2028/U+2029 as newlines. :func:`set_text` and :func:`text_of`
keep every character: blocks are read back raw (U+00A0 and U+2028 stay in a
block's text), and since a U+2029 would end a block (Python does not end a
line there, so the editor's line numbers would drift from the tracebacks'),
it is held as a private-use stand-in that does not occur in the text and is
turned back on the way out.
"""
from __future__ import annotations

_PARAGRAPH = "\u2029"
_PRIVATE_USE = range(0xE000, 0xF900)


def _stand_in(text: str) -> str:
    for code in _PRIVATE_USE:
        if chr(code) not in text:
            return chr(code)
    raise ValueError("the text uses every private-use character")     # 6,400 distinct ones


def set_text(document, text: str) -> str | None:
    """Put ``text`` in ``document``; returns the stand-in :func:`text_of` needs
    (None when the text has no U+2029)."""
    if _PARAGRAPH not in text:
        document.setPlainText(text)
        return None
    stand_in = _stand_in(text)
    document.setPlainText(text.replace(_PARAGRAPH, stand_in))
    return stand_in


def text_of(document, stand_in: str | None = None) -> str:
    """The document's text with every character as stored (blocks joined by "\\n")."""
    raw = document.toRawText().replace(_PARAGRAPH, "\n")
    return raw.replace(stand_in, _PARAGRAPH) if stand_in and stand_in in raw else raw
