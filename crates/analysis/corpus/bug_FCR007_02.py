def shout(name: str) -> str:
    return name().upper()  # expect: FCR007
