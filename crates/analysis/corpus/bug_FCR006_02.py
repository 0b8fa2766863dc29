def shout(text: str) -> str:
    return text.uppper()  # expect: FCR006
