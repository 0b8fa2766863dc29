def greet(name: str) -> str:
    return f"Hello {nme}"  # expect: FCR001
