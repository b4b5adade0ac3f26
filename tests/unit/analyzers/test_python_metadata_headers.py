"""python_pkg reads METADATA headers itself (importing the email package cost more CPU than the rest of a small
image's analysis): what it reads must be what email.parser.HeaderParser(policy=compat32) reads, malformed input
included."""

from __future__ import annotations

from email.parser import HeaderParser
from email.policy import compat32

from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.analyzers.lang.python_pkg import read_headers

NAMES = ["Name", "name", "NAME", "Version", "License", "License-Expression", "Classifier", "Summary", "Na me", "",
         "From", "X\u00e9", "Requires-Dist"]
LINE_ENDS = ["\n", "\r\n", "\r", ""]


def _line() -> st.SearchStrategy[str]:
    value = st.text(alphabet=st.sampled_from(list("abc :\t-./()\u00e9\u2028\x0b\x0c\x85")), max_size=12)
    header = st.builds(lambda n, sep, v: f"{n}{sep}{v}", st.sampled_from(NAMES), st.sampled_from([":", ": ", ":\t", " :", "::"]), value)
    return st.one_of(
        header,
        st.builds(lambda ws, v: ws + v, st.sampled_from([" ", "\t", "  "]), value),  # continuation
        st.builds(lambda v: "From " + v, value),
        value,  # anything else (often not a header)
        st.just(""),  # blank: ends the headers
    )


def _reference(head: str) -> dict[str, list[str]]:
    msg = HeaderParser(policy=compat32).parsestr(head)
    out: dict[str, list[str]] = {}
    for k in msg:
        out.setdefault(k.lower(), [str(v) for v in msg.get_all(k) or []])
    return out


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(_line(), st.sampled_from(LINE_ENDS)), max_size=8))
def test_same_headers_as_the_email_package(lines: list[tuple[str, str]]) -> None:
    head = "".join(text + end for text, end in lines)
    assert read_headers(head) == _reference(head)


def test_real_metadata() -> None:
    head = ("Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\nLicense: Apache 2.0\n"
            "Classifier: License :: OSI Approved :: Apache Software License\n"
            "Classifier: Programming Language :: Python\nDescription: first\n  second\n\tthird\n")
    assert read_headers(head) == _reference(head)
    assert read_headers(head)["description"] == ["first\n  second\n\tthird"]
