def connect(host: str, port: int = 80) -> str:
    return f"{host}:{port}"


print(connect("example.org", port=8080))
