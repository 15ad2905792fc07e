from patients.visibility import role_of


def role(request) -> dict:
    return {"role": role_of(request.user)} if hasattr(request, "user") else {}
