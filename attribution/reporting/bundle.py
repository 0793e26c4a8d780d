"""The chart libraries inlined in every report, and the optional dependencies they need.

The page draws its charts with Vega-Embed, Vega-Lite and Vega, inlined as one script so
the file opens from disk with no network. The script comes from the ``vl-convert-python``
package, whose :func:`vl_convert.javascript_bundle` returns the three libraries and all
their dependencies as one classic script (about 0.9 MB) that sets ``vegaEmbed``,
``vegaLite`` and ``vega`` on ``window``. Building it takes a second or two and gives the
same script every time for a given vl-convert release, so it is built once per process
and kept on disk between processes (:func:`cache_path`): the file is named by a digest of
the vl-convert version, the Vega-Lite version and :data:`GLOBALS`, ends with the SHA-256
of the script it holds (which catches a truncated or damaged file, not a deliberate
edit), and is rebuilt whenever that check fails; writing it removes the files of other
versions. The cache is only a saving: a folder that cannot be written is skipped, and
the report is the same either way.

What the bundle can fetch: Vega's loader fetches data and images given by URL; the page
gives every dataset inline and no image, and draws with the SVG renderer, so nothing is
loaded. The Vega Editor link of Vega-Embed's action menu is turned off. The page's
Content-Security-Policy forbids every request besides (``default-src 'none'``), so a
mistake here would show as a console error, not as a request.

Licences: Vega, Vega-Lite, Vega-Embed, vega-themes, vega-tooltip and vega-interpreter
are BSD-3-Clause (University of Washington Interactive Data Lab); their bundled
dependencies are ISC, MIT, 0BSD or Unlicense; vl-convert is BSD-3-Clause. All allow
redistribution, the BSD ones with their copyright notice and disclaimer, which
:data:`NOTICE` puts at the top of the inlined script.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from attribution.io.writers import atomic_path

EXTRA = "report"
REPORT_MODULES = {"jinja2": "jinja2", "vl_convert": "vl-convert-python"}


class ReportDependencyError(ImportError):
    """A dependency of the HTML report (the optional ``report`` extra) is not installed."""


def require_report_dependencies() -> None:
    """Raise :class:`ReportDependencyError` naming the extra unless its modules import."""
    missing = []
    for module, distribution in REPORT_MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(distribution)
    if missing:
        raise ReportDependencyError(
            f"the HTML report needs the optional '{EXTRA}' dependencies "
            f"({', '.join(missing)} not installed): "
            f"pip install 'pipeline-attribution[{EXTRA}]'"
        )


NOTICE = """\
Vega {vega}, Vega-Lite {vega_lite} and Vega-Embed {vega_embed}, with vega-themes,
vega-tooltip and vega-interpreter: Copyright (c) 2015-2025, University of Washington
Interactive Data Lab. All rights reserved. BSD-3-Clause.
Bundled with their dependencies by vl-convert (Copyright 2023 Jon Mease, BSD-3-Clause):
d3 modules and topojson-client (ISC, Copyright Mike Bostock), delaunator (ISC, Copyright
Mapbox), robust-predicates (Unlicense), fast-json-patch (MIT, Copyright Joachim Wester),
json-stringify-pretty-compact (MIT, Copyright Simon Lydell), semver (ISC, Copyright
Isaac Z. Schlueter and Contributors), tslib (0BSD, Copyright Microsoft Corporation),
lodash.debounce (MIT, Copyright JS Foundation and other contributors).

Redistribution and use in source and binary forms, with or without modification, are
permitted provided that the following conditions are met:
1. Redistributions of source code must retain the above copyright notice, this list of
   conditions and the following disclaimer.
2. Redistributions in binary form must reproduce the above copyright notice, this list of
   conditions and the following disclaimer in the documentation and/or other materials
   provided with the distribution.
3. Neither the name of the copyright holder nor the names of its contributors may be used
   to endorse or promote products derived from this software without specific prior
   written permission.
THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY
EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,
EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR
TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS
SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE."""


GLOBALS = "window.vegaEmbed = vegaEmbed; window.vegaLite = vegaLite; window.vega = vega;"
"""The bundle's own code: the three libraries as globals, for the page script."""


@dataclass(frozen=True)
class Bundle:
    """The inlined chart script and the library versions it holds."""

    script: str
    vega: str
    vega_lite: str
    vega_embed: str


CACHE_FOLDER = "pipeline-attribution"
CACHE_FORMAT = 1
"""Part of every cache key: raised when the way the script is built changes, so a file
built the old way is never read."""
DIGEST_MARK = b"\n//sha256:"
"""What separates a cached script from the SHA-256 of its bytes, at the end of the file."""
PATTERN = "chart-bundle-*.js"


def cache_path(converter_version: str, vega_lite: str) -> Path | None:
    """Where the script of this vl-convert release and Vega-Lite version is kept:
    ``$XDG_CACHE_HOME`` (or ``~/.cache``) ``/pipeline-attribution/chart-bundle-<key>.js``,
    the key a digest of :data:`CACHE_FORMAT`, both versions and :data:`GLOBALS`. None (no
    cache) when neither gives an absolute folder: a relative ``XDG_CACHE_HOME`` is
    ignored, as the XDG specification says, and no file is ever put in the current
    folder."""
    root = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(root):
        root = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(root):
        return None
    text = f"{CACHE_FORMAT}\n{converter_version}\n{vega_lite}\n{GLOBALS}"
    key = hashlib.sha256(text.encode()).hexdigest()
    return Path(root) / CACHE_FOLDER / f"chart-bundle-{key[:16]}.js"


def _digest(code: bytes) -> bytes:
    return hashlib.sha256(code).hexdigest().encode()


def _read_cached(path: Path) -> str | None:
    """The script kept at ``path``, or None when it is missing, unreadable or fails its
    digest (a truncated or damaged file; the digest is in the same file, so it is no
    guard against a deliberate edit by whoever can write the user's cache folder)."""
    try:
        code, mark, digest = path.read_bytes().rpartition(DIGEST_MARK)
        return code.decode("utf-8") if mark and digest == _digest(code) else None
    except (OSError, UnicodeDecodeError):
        return None


def _write_cached(path: Path, code: str) -> None:
    """Keep ``code`` at ``path`` (:func:`~attribution.io.writers.atomic_path`: a temporary
    file in the same folder, renamed over it, removed however the write ends), and remove
    the folder's scripts of other versions; skipped when the folder cannot be written."""
    data = code.encode("utf-8")
    with contextlib.suppress(OSError):
        with atomic_path(path) as temporary:
            temporary.write_bytes(data + DIGEST_MARK + _digest(data))
        for old in path.parent.glob(PATTERN):
            if old != path:
                old.unlink(missing_ok=True)


def _javascript(vega_lite: str) -> str:
    """The libraries as one script: from the disk cache, or built and then cached (not
    cached when vl-convert's installed version cannot be read)."""
    import vl_convert

    try:
        version = importlib.metadata.version(REPORT_MODULES["vl_convert"])
    except importlib.metadata.PackageNotFoundError:
        path = None
    else:
        path = cache_path(version, vega_lite)
    code = _read_cached(path) if path is not None else None
    if code is None:
        code = vl_convert.javascript_bundle(GLOBALS, vl_version=vega_lite)
        if path is not None:
            _write_cached(path, code)
    return code


@cache
def chart_bundle() -> Bundle:
    """The Vega-Embed + Vega-Lite + Vega script (latest Vega-Lite of vl-convert), with
    :data:`NOTICE` in front; built once per process, read from the disk cache when a
    previous process built it."""
    require_report_dependencies()
    import vl_convert

    vega_lite = vl_convert.get_vegalite_versions()[-1]
    versions = {
        "vega": vl_convert.get_vega_version(),
        "vega_lite": vega_lite,
        "vega_embed": vl_convert.get_vega_embed_version(),
    }
    code = _javascript(vega_lite)
    if "</script" in code.lower() or "<!--" in code:
        raise RuntimeError("the chart bundle contains '</script' or '<!--' and cannot be inlined")
    script = f"/*! {NOTICE.format(**versions)}\n*/\n{code}"
    return Bundle(script=script, **versions)
