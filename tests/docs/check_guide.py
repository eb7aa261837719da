"""Checks that every code block of docs/GUIDE.md is compiled or run in CI.

Every ```cpp, ```cmake and ```toml block must be preceded by a line
`<!-- file: PATH -->` naming a file of the repository (the out-of-tree example, which
integration.counter_app builds, tests and runs) and must equal that file, or, with
`<!-- file: PATH lines A-B -->`, lines A..B of it. Usage: check_guide.py GUIDE.md SOURCE_DIR
"""
import pathlib
import re
import sys

CHECKED = {"cpp", "c++", "cmake", "toml"}


def main():
    guide = pathlib.Path(sys.argv[1])
    src = pathlib.Path(sys.argv[2])
    lines = guide.read_text().splitlines()
    failures = 0
    blocks = 0
    marker = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"<!-- file: (\S+)(?: lines (\d+)-(\d+))? -->$", line.strip())
        if m:
            marker = (m.group(1), m.group(2), m.group(3), i + 1)
            i += 1
            continue
        fence = re.match(r"```(\S*)$", line)
        if not fence:
            if line.strip():
                marker = None
            i += 1
            continue
        lang = fence.group(1)
        j = i + 1
        while j < len(lines) and lines[j] != "```":
            j += 1
        body = lines[i + 1:j]
        if lang in CHECKED:
            blocks += 1
            where = f"{guide}:{i + 1}"
            if not marker:
                print(f"FAIL {where}: a ```{lang} block without a <!-- file: PATH --> marker")
                failures += 1
            else:
                path, first, last, _ = marker
                f = src / path
                if not f.is_file():
                    print(f"FAIL {where}: {path} does not exist")
                    failures += 1
                else:
                    want = f.read_text().splitlines()
                    if first:
                        want = want[int(first) - 1:int(last)]
                    if body != want:
                        failures += 1
                        print(f"FAIL {where}: block differs from {path}"
                              + (f" lines {first}-{last}" if first else ""))
                        for k, (a, b) in enumerate(zip(body + [""] * len(want), want + [""] * len(body))):
                            if a != b:
                                print(f"  first difference at block line {k + 1}:\n  guide: {a!r}\n  file:  {b!r}")
                                break
                    else:
                        print(f"ok   {where}: {path}" + (f" lines {first}-{last}" if first else ""))
        marker = None
        i = j + 1
    print(f"{blocks} checked blocks, {failures} failures")
    if blocks == 0:
        print("FAIL: no checked code block found")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
