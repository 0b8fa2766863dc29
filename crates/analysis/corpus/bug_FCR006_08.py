import os


def home() -> str:
    return os.getenv("HOME").lower()  # expect: FCR006
