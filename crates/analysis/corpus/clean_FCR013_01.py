import sys


def args() -> list[str]:
    return sys.argv
