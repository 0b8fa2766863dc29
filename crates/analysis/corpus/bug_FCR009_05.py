import sys


def main() -> int:
    sys.exit(0)
    return 1  # expect: FCR009
