def is_admin(role: str) -> bool:
    return role == "admin"
