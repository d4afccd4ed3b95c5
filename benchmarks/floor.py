"""The reference floor: open each file's zip and read every sheet's cell values with
python-calamine, and nothing else. Run as a whole process by ``bench.py``."""

from __future__ import annotations

import sys
from pathlib import Path

from python_calamine import CalamineWorkbook


def main() -> None:
    cells = 0
    for path in sorted(Path(sys.argv[1]).rglob("*.xlsx")):
        wb = CalamineWorkbook.from_path(str(path))
        for name in wb.sheet_names:
            for row in wb.get_sheet_by_name(name).to_python():
                cells += len(row)
        wb.close()
    print(cells)


if __name__ == "__main__":
    main()
