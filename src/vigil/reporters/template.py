"""`--format template --template @file.j2`: a user's Jinja2 template (sandboxed) over the report.

Context (documented in the README, "Report formats"):
  report        the Report record (snake_case attributes: report.results[0].vulnerabilities[0].vulnerability_id)
  data          the same report as the JSON output's dicts (PascalCase keys: data.Results[0].Target), for
                templates ported from Trivy's (.Target, .Vulnerabilities ...)
  results       report.results
  artifact_name, artifact_type, created_at, vigil_version
Filters: escape_xml, severity_score (CVSS or the 9.5/8.0/5.5/2.0/0.0 mapping), plus Jinja2's builtins (tojson …).

A template is untrusted input (it may come with a CI configuration): it runs in Jinja2's sandbox, and arithmetic
that would take unbounded time or memory is refused as a template error: powers and products of integers beyond
MAX_INT_BITS bits, strings or lists repeated or concatenated beyond MAX_LENGTH items, and widths, padding and
counts beyond MAX_WIDTH (`'%9999999d' % 1`, `'x'.center(…)`, `|center`, `|indent`, `|slice`, `|tojson(indent=…)`).
Every error raised while rendering is the template's: one line, exit 2.
"""

from __future__ import annotations

import functools
import json
import re
import string
from collections.abc import Callable, Sized
from typing import IO, TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import msgspec

from vigil.findings.records import Report, Vulnerability
from vigil.reporters._common import security_severity

if TYPE_CHECKING:
    from vigil.reporters import RenderOptions


MAX_INT_BITS = 1 << 16  # about 20 000 decimal digits
MAX_LENGTH = 1 << 24  # characters of a string, items of a list
MAX_WIDTH = 1 << 16  # a field width, padding, indent, count of slices
# printf-style conversions: the width and precision of each (`*` takes them from the arguments)
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d*)(?:\.(\*|\d*))?")
# filters whose arguments after the value are sizes
_SIZED_FILTERS = ("center", "indent", "slice", "batch", "tojson", "wordwrap", "truncate")
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class TemplateLimit(Exception):
    """A template asked for more than the sandbox's bounds."""


def _printf_widths(fmt: str) -> None:
    for width, precision in _PRINTF.findall(fmt):
        for n in (width, precision):
            if n == "*" or (n and int(n) > MAX_WIDTH):
                raise TemplateLimit(f"format width {n} is over the limit of {MAX_WIDTH}")


def _format_widths(fmt: str) -> None:
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec and "{" in spec:
            raise TemplateLimit("nested replacement fields in a format spec are not allowed")
        for n in re.findall(r"\d+", spec or ""):
            if int(n) > MAX_WIDTH:
                raise TemplateLimit(f"format width {n} is over the limit of {MAX_WIDTH}")


def _size(n: Any, limit: int, what: str) -> None:
    if isinstance(n, int) and abs(n) > limit:
        raise TemplateLimit(f"{what} {n} is over the limit of {limit}")


def _check_binop(op: str, left: Any, right: Any) -> None:
    ints = isinstance(left, int) and isinstance(right, int)
    if op == "**" and ints and abs(left) > 1 and right > 0:
        if right > MAX_INT_BITS or right * abs(left).bit_length() > MAX_INT_BITS:
            raise TemplateLimit(f"power with more than {MAX_INT_BITS} bits")
    elif op == "*" and ints:
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateLimit(f"product with more than {MAX_INT_BITS} bits")
    elif op == "*":
        seq, n = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(n, int) and isinstance(seq, (str, bytes, list, tuple)) and len(seq) * n > MAX_LENGTH:
            raise TemplateLimit(f"repetition longer than {MAX_LENGTH}")
    elif op == "+" and isinstance(left, (str, bytes, list, tuple)) and isinstance(right, Sized):
        if len(left) + len(right) > MAX_LENGTH:
            raise TemplateLimit(f"concatenation longer than {MAX_LENGTH}")
    elif op == "%" and isinstance(left, str):
        _printf_widths(left)


def _check_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    target = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
    owner = getattr(target, "__self__", None)
    name = getattr(target, "__name__", "")
    if isinstance(owner, str) and name in ("format", "format_map"):
        _format_widths(owner)
    elif isinstance(owner, (str, bytes)) and name in _PADDING_METHODS:
        for a in (*args, *kwargs.values()):
            _size(a, MAX_WIDTH, f"{name}() width")


def _bounded_filter(f: Callable[..., Any], name: str) -> Callable[..., Any]:
    skip = 2 if getattr(f, "jinja_pass_arg", None) is not None else 1  # the environment/context, then the value

    @functools.wraps(f)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        for a in (*args[skip:], *kwargs.values()):
            _size(a, MAX_WIDTH, f"|{name} argument")
        return f(*args, **kwargs)

    return bounded


def _bounded_format(value: Any, *args: Any, **kwargs: Any) -> Any:
    _printf_widths(str(value))
    from jinja2.filters import do_format

    return do_format(value, *args, **kwargs)


def escape_xml(value: object) -> str:
    return escape(str(value), {'"': "&quot;", "'": "&apos;"})


def _severity_score(v: Vulnerability) -> float:
    return security_severity(v)


def context(report: Report) -> dict[str, Any]:
    return {
        "report": report,
        "data": json.loads(msgspec.json.encode(report)),
        "results": report.results,
        "artifact_name": report.artifact_name,
        "artifact_type": report.artifact_type,
        "created_at": report.created_at,
        "vigil_version": report.vigil_version,
    }


def _environment(autoescape: bool) -> Any:  # a jinja2 SandboxedEnvironment (imported lazily)
    import jinja2
    from jinja2.runtime import Context
    from jinja2.sandbox import SandboxedEnvironment

    class BoundedSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"**", "*", "+", "%"})

        def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
            _check_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

        def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # self is __self: a template may pass "self="
            _check_call(__obj, args, kwargs)
            return super().call(__context, __obj, *args, **kwargs)

    env = BoundedSandbox(autoescape=autoescape, keep_trailing_newline=True, trim_blocks=True,
                         lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    for name in _SIZED_FILTERS:
        env.filters[name] = _bounded_filter(env.filters[name], name)
    env.filters["format"] = _bounded_format
    env.filters["escape_xml"] = escape_xml
    env.filters["severity_score"] = _severity_score
    return env


def _template_line(e: BaseException) -> str:
    """ (line N) of the template where rendering failed (Jinja2 maps its frames back to template lines)."""
    line = getattr(e, "lineno", None)
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""


def render_text(report: Report, source: str, autoescape: bool = False) -> str:
    """Render `source` over the report; every error of the template (syntax, undefined names, a refused bound,
    an exception its expressions raise) becomes a ValueError: a user error."""
    import jinja2

    env = _environment(autoescape)
    ctx = context(report)
    try:
        return str(env.from_string(source).render(ctx))
    except jinja2.TemplateError as e:
        raise ValueError(f"template error{_template_line(e)}: {e}") from e
    except (TemplateLimit, ArithmeticError, LookupError, TypeError, ValueError, AttributeError, RecursionError,
            MemoryError) as e:  # raised by the template's own expressions ({{ 1/0 }}, {% include %} without loader)
        what = str(e) if isinstance(e, TemplateLimit) else f"{type(e).__name__}: {e}"
        raise ValueError(f"template error{_template_line(e)}: {what}") from e


def render(report: Report, out: IO[str], opts: RenderOptions | None = None) -> None:
    if opts is None or not opts.template:
        raise ValueError("--format template needs --template (inline Jinja2 text or @path/to/file.j2)")
    out.write(render_text(report, opts.template))
