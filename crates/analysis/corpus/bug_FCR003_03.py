def connect(host: str, port: int = 80) -> str:
    return f"{host}:{port}"


print(connect("example.org", prt=8080))  # expect: FCR003
