"""The browser layer: headless Chromium driven through chromedriver by Selenium.

- launch: finds the binaries, starts chromedriver (and so Chromium) in a process group of its
  own, ends that group on every way out, sweeps what a killed run left behind;
- session: the Browser one run drives (open a page, settle, logs, screenshots, memory);
- timings: what a page load measured (PageLoad, Network) and the script that reads it;
- screenshots: evidence of a failed step, rotated.

Only checks that run a browser import this package; Selenium is the optional extra
`cxcheck[browser]`.
"""
