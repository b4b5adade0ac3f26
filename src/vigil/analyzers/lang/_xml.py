"""A small, hardened XML reader for manifests (pom.xml, packages.config).

Built on expat directly rather than xml.etree so that every element keeps the line range it spans (for package
locations) and so that no entity is ever defined or fetched: a document declaring an entity is rejected outright
(billion laughs, external entities), as defusedxml does with forbid_entities=True, and an external DTD is never
read (expat fetches nothing; external entity references are refused). A DOCTYPE line by itself
(`<!DOCTYPE project>`, a PUBLIC identifier) declares nothing and is accepted: old POMs carry one, and Trivy reads
them. Namespaces are not
resolved: an element's `tag` is its local name ("project" for both `<project>` and `<m:project>`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.parsers import expat

from vigil.analyzers.errors import ParseError

_ENTITY = re.compile(rb"<!ENTITY", re.I)
MAX_DEPTH = 200


@dataclass(slots=True)
class Element:
    tag: str
    attrib: dict[str, str]
    start_line: int
    end_line: int = 0
    children: list[Element] = field(default_factory=list)
    _text: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self._text).strip()

    def find(self, tag: str) -> Element | None:
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def findall(self, tag: str) -> list[Element]:
        return [c for c in self.children if c.tag == tag]

    def findtext(self, path: str) -> str:
        """Text of the first element along a '/'-separated path of child tags, "" when absent."""
        node: Element | None = self
        for part in path.split("/"):
            node = node.find(part) if node is not None else None
        return node.text if node is not None else ""


class _Forbidden(Exception):
    pass


def parse_xml(data: bytes) -> Element:
    """Parse a whole document and return its root element; ParseError on malformed input or any DTD."""
    if _ENTITY.search(data):
        raise ParseError("XML with entity declarations is not accepted")
    if b"\x00" in data[:8192]:  # the encodings manifests use (UTF-8, ISO-8859-1 …) never contain NUL
        raise ParseError("binary data, not an XML manifest")
    parser = expat.ParserCreate()
    # never read a DTD's external subset or parameter entities (the default; stated so it cannot change unnoticed)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Element] = []
    root: list[Element] = []

    def forbid(*_args: object) -> None:
        raise _Forbidden

    def start(name: str, attrs: dict[str, str]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise _Forbidden
        el = Element(tag=name.rsplit(":", 1)[-1], attrib=attrs, start_line=parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(el)
        else:
            root.append(el)
        stack.append(el)

    def end(_name: str) -> None:
        el = stack.pop()
        el.end_line = parser.CurrentLineNumber

    def chars(text: str) -> None:
        if stack:
            stack[-1]._text.append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.EntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid  # type: ignore[assignment]
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise ParseError(f"invalid XML at line {e.lineno}: {expat.ErrorString(e.code)}") from e
    except _Forbidden:
        raise ParseError("XML with entity declarations or nested too deeply is not accepted") from None
    except LookupError:  # the XML declaration names an encoding Python does not know
        raise ParseError("XML declares an unknown encoding") from None
    if not root:
        raise ParseError("XML document has no root element")
    return root[0]
