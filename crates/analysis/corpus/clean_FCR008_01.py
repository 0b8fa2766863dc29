def parse_port(text: str) -> int:
    return int(text.strip())
