import sys


def main() -> int:
    if len(sys.argv) > 5:
        sys.exit(0)
    return 1
