"""Install the book's web assets from npm and copy the few files it serves into book/_vendor/.

    python book/vendor/fetch.py          # once, before `jupyter-book build .`

The built pages must work offline, so they load MathJax 3 (math) and the ipywidgets embed
script (chapter 7's widget snapshot) from the book itself instead of from CDNs. Those files
are downloads, not our code, so they are not kept in git: package.json pins their versions,
package-lock.json pins every byte (npm checks the integrity hashes), and this script copies
what the pages need. _config.yml serves book/_vendor/ as static files (not a folder named
_static/: Jupyter Book would add every .js in it to every page).

| served as | from (npm) | licence |
|---|---|---|
| mathjax/tex-chtml-full.js, mathjax/output/chtml/fonts/woff-v2/*.woff | mathjax 3.2.2 (es5/) | Apache-2.0 |
| widgets/require.js | requirejs 2.3.8 | MIT |
| widgets/embed-amd.js, widgets/*.woff2 | @jupyter-widgets/html-manager 1.0.15 (dist/; 1.x matches ipywidgets 8; the woff2 files are Font Awesome 5 icons) | BSD-3-Clause; fonts SIL OFL 1.1 |

Licence texts the packages do not ship as files are kept beside this script
(LICENSE-widgets.txt, LICENSE-fontawesome.txt) and copied with the assets.

Only the .woff2 icon fonts are copied: every current browser takes WOFF2, so the package's
.eot/.woff/.ttf/.svg fallbacks are never requested.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = HERE / "node_modules"
TARGET = HERE.parent / "_vendor"

# (source relative to node_modules, destination relative to book/_vendor)
FILES = [
    ("mathjax/es5/tex-chtml-full.js", "mathjax/tex-chtml-full.js"),
    ("mathjax/LICENSE", "mathjax/LICENSE"),
    ("requirejs/require.js", "widgets/require.js"),
    ("@jupyter-widgets/html-manager/dist/embed-amd.js", "widgets/embed-amd.js"),
]
GLOBS = [
    ("mathjax/es5/output/chtml/fonts/woff-v2", "*.woff", "mathjax/output/chtml/fonts/woff-v2"),
    ("@jupyter-widgets/html-manager/dist", "*.woff2", "widgets"),
]


def main() -> int:
    if shutil.which("npm") is None:
        sys.exit("npm not found: install Node.js (it brings npm), then run this again")
    # `npm ci` installs exactly package-lock.json, checking each package's integrity hash.
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=HERE, check=True)
    if TARGET.exists():
        shutil.rmtree(TARGET)
    for source, dest in FILES:
        (TARGET / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(MODULES / source, TARGET / dest)
    for folder, pattern, dest in GLOBS:
        matches = sorted((MODULES / folder).glob(pattern))
        if not matches:
            sys.exit(f"no {pattern} in node_modules/{folder}: has the package layout changed?")
        (TARGET / dest).mkdir(parents=True, exist_ok=True)
        for path in matches:
            shutil.copy2(path, TARGET / dest / path.name)
    for licence in ("LICENSE-widgets.txt", "LICENSE-fontawesome.txt"):   # texts kept in git
        shutil.copy2(HERE / licence, TARGET / "widgets" / licence)
    count = sum(1 for p in TARGET.rglob("*") if p.is_file())
    print(f"book/_vendor: {count} files from npm, ready for `jupyter-book build .`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
