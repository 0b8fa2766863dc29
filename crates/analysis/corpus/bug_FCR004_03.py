class User:
    def __init__(self, name: str, age: int) -> None:
        self.name = name
        self.age = age


user = User("ada", "36")  # expect: FCR004
print(user.age)
