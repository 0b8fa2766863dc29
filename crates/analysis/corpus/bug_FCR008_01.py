def parse_port(text: str) -> int:
    return text.strip()  # expect: FCR008
