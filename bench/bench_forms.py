"""The HTML parser for forms on hostile pages: the standard library's html.parser against lxml.

    python bench/bench_forms.py [--sizes 50000,100000,200000] [--lxml-size 4000000]

A valid login form followed by a run of one unclosed construct (`<a `, `<a`, `<div class="`,
`<!--`, `<?`, `</a`, `<div>`). Each parse runs in a fresh process (its peak RSS is its own);
html.parser at growing sizes (it is quadratic on these: a 4 MB page would take hours), lxml at
the largest page the body cap lets through. Prints seconds and peak RSS; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

FORM = ('<form id="f" method="post" action="/x"><input name="a" value="1"><input type="password" name="p">'
        '<button>Go</button></form>')
GARBAGE = ["<a ", "<a", '<div class="', "<!--", "<?", "</a", "<div>"]

CHILD = r"""
import resource, sys, time
kind, garbage, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
page = FORM + garbage * ((size - len(FORM)) // len(garbage))
started = time.perf_counter()
if kind == "html.parser":
    from html.parser import HTMLParser
    class Forms(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.starts = 0
        def handle_starttag(self, tag, attrs):
            self.starts += 1
    parser = Forms()
    parser.feed(page)
    parser.close()
else:
    from lxml import etree
    class Forms:
        starts = 0
        def start(self, tag, attrs):
            self.starts += 1
        def end(self, tag): pass
        def data(self, data): pass
        def close(self): return self.starts
    parser = etree.HTMLParser(target=Forms(), encoding="utf-8", recover=True, no_network=True)
    parser.feed(page.encode())
    parser.close()
print(f"{time.perf_counter() - started:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}")
"""


def measure(kind: str, garbage: str, size: int, timeout: float) -> str:
    code = f"FORM = {FORM!r}\n" + CHILD
    try:
        proc = subprocess.run([sys.executable, "-c", code, kind, garbage, str(size)], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"> {timeout:g} s"
    if proc.returncode:
        return "error: " + proc.stderr.strip().splitlines()[-1]
    seconds, megabytes = proc.stdout.split()
    return f"{float(seconds):.2f} s, {megabytes} MB"


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--sizes", default="50000,100000,200000", help="html.parser page sizes (bytes)")
    options.add_argument("--lxml-size", type=int, default=4_000_000, help="lxml page size (bytes)")
    options.add_argument("--timeout", type=float, default=120, help="seconds per parse")
    args = options.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    header = ["garbage"] + [f"html.parser {s // 1000} KB" for s in sizes] + [f"lxml {args.lxml_size // 1000} KB"]
    print(" | ".join(header))
    for garbage in GARBAGE:
        row = [repr(garbage)] + [measure("html.parser", garbage, s, args.timeout) for s in sizes]
        row.append(measure("lxml", garbage, args.lxml_size, args.timeout))
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()
