def greet(name: str, greeting: str) -> str:
    return f"{greeting}, {name}"


print(greet("Ada", "Hello"))
