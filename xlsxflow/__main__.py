"""Allow ``python -m xlsxflow``."""

from xlsxflow.cli import main

if __name__ == "__main__":
    main()
