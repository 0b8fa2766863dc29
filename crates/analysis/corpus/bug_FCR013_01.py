import os  # expect: FCR013
import sys


def args() -> list[str]:
    return sys.argv
