"""Code that runs while the docs build, shown with what it printed.

    :::{ddpm-run}
    import ddpm_theory
    print(ddpm_theory.check("alpha_t = 1 - beta_t").verdict)
    :::

    :::{ddpm-run}
    :write: my_derivations.py
    (Python source, written to that file in the page's working folder, then run)
    :::

    :::{ddpm-run}
    :command:
    :returncode: 1
    ddpm-theory verify --module my_derivations.py
    :::

The blocks of one page share one namespace and one working folder (inside the build
directory). A block that raises, or a command whose exit status is not ``:returncode:``
(default 0), fails the build: a tutorial that is shown is a tutorial that ran.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import sys
import traceback
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

from ._derivation import report_failure
from ._domain import DdpmDomain

__all__ = ["RunDirective"]

class RunDirective(SphinxDirective):
    """``ddpm-run``: run the content (Python, or a ``ddpm-theory`` command) and show it."""

    has_content = True
    option_spec = {"write": directives.unchanged, "command": directives.flag,
                   "returncode": int, "hide-output": directives.flag}

    def run(self) -> list[nodes.Node]:
        domain = self.env.get_domain("ddpm")
        assert isinstance(domain, DdpmDomain)
        domain.data.setdefault("live", {})[self.env.docname] = True  # run on every build
        code = "\n".join(self.content)
        folder = Path(self.env.doctreedir) / "ddpm_run" / self.env.docname.replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        # env.temp_data lives while one page is read: the page's blocks share it
        ns: dict[str, Any] = self.env.temp_data.setdefault(  # type: ignore[assignment]
            "ddpm_run_namespace", {"__name__": "__ddpm_run__"})
        out, error = (self._command(code, folder) if "command" in self.options
                      else self._python(code, folder, ns))
        shown = [nodes.literal_block(code, code, language="bash" if "command" in self.options
                                     else "python", classes=["ddpm-run-code"])]
        if error:
            report_failure(domain, self.env.docname, self.lineno,
                           f"ddpm-run: the example failed:\n{error}")
            shown.append(nodes.paragraph(text=error, classes=["ddpm-failure"]))
        elif out.strip() and "hide-output" not in self.options:
            shown.append(nodes.literal_block(out, out, language="text",
                                             classes=["ddpm-run-output"]))
        return shown

    def _python(self, code: str, folder: Path, ns: dict[str, Any]) -> tuple[str, str]:
        if "write" in self.options:
            (folder / self.options["write"]).write_text(code + "\n", encoding="utf-8")
        buf = io.StringIO()
        cwd = os.getcwd()
        sys.path.insert(0, str(folder))  # the page's modules import as a user's would
        try:
            os.chdir(folder)
            with contextlib.redirect_stdout(buf):
                exec(compile(code, f"<{self.env.docname}:{self.lineno}>", "exec"), ns)
        except BaseException:  # noqa: B036 - any failure of an example fails the build
            return buf.getvalue(), traceback.format_exc(limit=4)
        finally:
            os.chdir(cwd)
            sys.path.remove(str(folder))
        return buf.getvalue(), ""

    def _command(self, code: str, folder: Path) -> tuple[str, str]:
        from ..cli import main

        argv = shlex.split(code)
        if not argv or argv[0] != "ddpm-theory":
            return "", f"a :command: block runs `ddpm-theory ...`, got {code!r}"
        buf = io.StringIO()
        cwd = os.getcwd()
        try:
            os.chdir(folder)
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                rc = main(argv[1:])
        except BaseException:  # noqa: B036
            return buf.getvalue(), traceback.format_exc(limit=4)
        finally:
            os.chdir(cwd)
        want = self.options.get("returncode", 0)
        if rc != want:
            return buf.getvalue(), (f"`{code}` exited with {rc}, expected {want}:\n"
                                    f"{buf.getvalue()}")
        return buf.getvalue(), ""

